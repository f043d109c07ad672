#!/usr/bin/env bash
# Reconnect storm on loopback: a fresh ingestd start, then N devices (each its
# own token and its own TLS connection) send their first POST within one
# second. Prints first-request p50/p90/p99/max and the time until every
# device got its 202, for 1,000 and 10,000 devices (sha256 tokens), and for
# 200 devices holding argon2id tokens as older versions stored them.
#
#   bench/ingestd/storm.sh                 # 1000 and 10000 sha256, 200 argon2id
#   DEVICES="10000" LEGACY=0 bench/ingestd/storm.sh
#   PQ=1 bench/ingestd/storm.sh            # devices offer X25519MLKEM768 (Go's default)
#   INGESTD_ENV="GOGC=400" bench/ingestd/storm.sh   # environment for ingestd only
#   PPROF=/tmp/pp bench/ingestd/storm.sh   # ingestd built with -tags hardgate_pprof writes
#                                          # cpu.pprof, allocs.pprof, heap.pprof of each run there
#
# Needs: go. Sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
DEVICES=${DEVICES:-"1000 10000"}
LEGACY=${LEGACY:-200}
extra=()
[ "${PQ:-0}" = 1 ] && extra+=(-pq)
[ -n "${INGESTD_ENV:-}" ] && extra+=(-env "$INGESTD_ENV")
work=$(mktemp -d /tmp/ingestd-storm-bin.XXXXXX)
trap 'rm -rf "$work"' EXIT
tags=()
[ -n "${PPROF:-}" ] && tags=(-tags hardgate_pprof) && mkdir -p "$PPROF" && export INGESTD_PPROF_DIR=$PPROF
CGO_ENABLED=0 go build -trimpath "${tags[@]}" -o "$work/ingestd" ./cmd/ingestd
go build -o "$work/storm" ./bench/ingestd/storm
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; open files limit $(ulimit -n)"
for n in $DEVICES; do
  echo "== $n devices, sha256 tokens"
  "$work/storm" -ingestd "$work/ingestd" -devices "$n" "${extra[@]}" 2>/dev/null || true
done
if [ "$LEGACY" != 0 ]; then
  echo "== $LEGACY devices, argon2id tokens (as stored by older versions; the first use of each pays the slow hash)"
  "$work/storm" -ingestd "$work/ingestd" -devices "$LEGACY" -hash argon2id "${extra[@]}" 2>/dev/null || true
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
