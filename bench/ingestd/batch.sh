#!/usr/bin/env bash
# The batch scenario: edge devices and buffers send NDJSON batches, here 100
# records (~30 KB) per request. Same machinery as run.sh (nginx, the Go
# floor and ingestd loaded one after the other with the same wrk command);
# it also prints records/s and MB/s for each, and the ratio. nginx reads
# each whole body into memory before answering its static 202.
#
#   bench/ingestd/batch.sh                  # wrk -t2 -c50 -d20s
#   DURATION=10s bench/ingestd/batch.sh
exec env SCENARIO=batch "$(dirname "$0")/run.sh" "$@"
