#!/usr/bin/env bash
# bench/agents/run.sh: audit N loopback TLS gateways (one Debian nginx)
# locally with `hardgate audit --fleet` and through NATS JetStream with 2
# `hardgate agent` processes (Debian's nats-server), and print both wall
# times, their ratio (goal <= 1.2x) and the load average.
#
# Usage: bench/agents/run.sh [N] [extra agentsbench flags, e.g. -parallel 32]
# Needs: go, nginx, nats-server. Traffic goes to 127.0.0.1 only.
set -euo pipefail
shopt -s inherit_errexit
n=${1:-1000}
shift || true
cd "$(dirname "$0")/../.."
for p in go nginx nats-server; do
  command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || { echo "bench: $p is missing (apt-get install $p)" >&2; exit 2; }
done
want=$((n * 4 + 4096))
if [ "$(ulimit -n)" -lt "$want" ]; then
  ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
work=$(mktemp -d /tmp/hardgate-bench-agents.XXXXXX)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$work/hardgate" ./cmd/hardgate
go build -o "$work/agentsbench" ./bench/agents/agentsbench
PATH=$PATH:/usr/sbin "$work/agentsbench" -hardgate "$work/hardgate" -n "$n" "$@"
