#!/usr/bin/env bash
# bench/fleet/run.sh: audit a fleet of 1,000 TLS gateways on loopback with
# `hardgate audit --fleet` and print wall time, targets/s, p50/p99 per
# target, hardgate's peak RSS and sslscan's time for 20 of the same targets
# scaled to 1,000, beside the load average (the machine may be shared).
#
# One Debian nginx listens on N TLS ports of 127.0.0.1 with an ingest-like
# location (401 without "Authorization: Bearer <token>", 202 with it) and
# /healthz; fleetbench serves the hostile ports itself (accept and never
# answer; answer TLS garbage). The bench fails when a strong target is not
# PASS or a hostile one is not inconclusive within its deadline.
#
# Usage: bench/fleet/run.sh [N] [extra fleetbench flags, e.g. -parallel 64 -keep]
# Needs: go, nginx, sslscan. Traffic goes to 127.0.0.1 only.
set -euo pipefail
shopt -s inherit_errexit
n=${1:-1000}
shift || true
cd "$(dirname "$0")/../.."
for p in go nginx sslscan; do
  command -v "$p" >/dev/null || { echo "bench: $p is missing (apt-get install $p)" >&2; exit 2; }
done
# nginx holds N listening sockets plus the audits' connections; hardgate
# holds --parallel audits of several connections each.
want=$((n * 4 + 4096))
if [ "$(ulimit -n)" -lt "$want" ]; then
  ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
echo "bench: open files limit $(ulimit -n)"
work=$(mktemp -d /tmp/hardgate-bench-fleet.XXXXXX)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$work/hardgate" ./cmd/hardgate
go build -o "$work/fleetbench" ./bench/fleet/fleetbench
"$work/fleetbench" -hardgate "$work/hardgate" -n "$n" "$@"
