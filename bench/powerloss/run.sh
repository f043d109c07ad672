#!/usr/bin/env bash
# The long power-loss run: ingestd (the real binary, HTTPS on loopback, 8
# concurrent clients) with its store on a lazyfs mount (internal/lazyfs),
# cut CUTS times (default 100) at random points, half of them in the middle
# of a WAL checkpoint, remounted and restarted after each cut; then every
# batch that got a 202 must be in the sink or still queued, with its
# content. It is TestPowerCutLosesNoAcknowledgedBatch of cmd/ingestd with
# more cuts (go test runs 10).
#
#   bench/powerloss/run.sh              # 100 cuts
#   CUTS=20 bench/powerloss/run.sh
#   SEED=123 bench/powerloss/run.sh     # replay the cut points of a run
#
# Prints exactly one line on stdout:
#   power cuts: N, acknowledged: A, lost: L
# and the seed and details on stderr. Exits non-zero when a batch was lost.
# Needs root and /dev/fuse (a FUSE mount); sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

CUTS=${CUTS:-100}
[ "$(id -u)" = 0 ] || { echo "powerloss: run as root (the test mounts a FUSE filesystem)" >&2; exit 2; }
[ -e /dev/fuse ] || { echo "powerloss: /dev/fuse is missing (modprobe fuse; apt-get install fuse3)" >&2; exit 2; }

log=$(mktemp /tmp/powerloss.XXXXXX)
trap 'rm -f "$log"' EXIT
status=0
HARDGATE_REQUIRE_INTEROP=1 go test -count=1 -timeout 60m -v \
  -run '^TestPowerCutLosesNoAcknowledgedBatch$' ./cmd/ingestd \
  -args -powerloss.cuts="$CUTS" ${SEED:+-powerloss.seed="$SEED"} >"$log" 2>&1 || status=$?

line=$(grep -oE 'power cuts: [0-9]+, acknowledged: [0-9]+, lost: [0-9]+' "$log" | tail -1 || true)
if [ -z "$line" ]; then
  cat "$log" >&2
  exit 1
fi
grep -oE '(seed [0-9]+|details: .*)' "$log" | sort -u | sed 's/^/# /' >&2 || true
[ "$status" = 0 ] || grep -E -- '--- FAIL|lost|altered' "$log" | head -20 >&2 || true
echo "$line"
exit "$status"
