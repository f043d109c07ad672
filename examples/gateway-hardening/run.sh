#!/usr/bin/env bash
# The worked example by hand, end to end: the steps of README.md (this
# folder's and the repository's) run in a temporary copy of examples/, on
# 127.0.0.1:8080 (before) and 127.0.0.1:8443 (after), the ports the configs
# name. Each expected outcome is checked; the script exits non-zero at the
# first one that differs. examples/examples_test.go runs it.
#
#   examples/gateway-hardening/run.sh
#
# Needs hardgate and ingestd on PATH (else it builds them from this checkout
# with go), openssl and curl. Everything it writes stays in a temporary
# folder, removed at the end with the daemons it started.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/examples/lib.sh"
setup_work gateway-hardening hardgate ingestd openssl curl
mkdir -p examples
cp -R "$root/examples/gateway-hardening" "$root/examples/targets" examples/

step "before: the legacy gateway (plaintext, no auth, unsafe settings silenced)"
ingestd check-config --config examples/gateway-hardening/before/ingestd.yaml
ingestd run --config examples/gateway-hardening/before/ingestd.yaml 2>>ingestd.log &
INGESTD_PID=$!
track "$INGESTD_PID"
wait_http http://127.0.0.1:8080/healthz
expect_out 202 curl -sS -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' --data '{"t":21.5}' http://127.0.0.1:8080/v1/ingest
expect_out 415 curl -sS -o /dev/null -w '%{http_code}\n' --data '{"t":21.5}' http://127.0.0.1:8080/v1/ingest
expect_exit 1 hardgate audit --target examples/targets/before.yaml --out before.json
expect_in "Status: FAIL   Posture: red   Risk score: 70" "Findings: 4 (0 critical, 3 high, 1 medium, 0 low, 0 info)"
kill "$INGESTD_PID" && reap "$INGESTD_PID"

step "after: the hardened gateway (HTTPS, bearer tokens, guardrails on)"
mkdir -p pki && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout pki/server-key.pem -out pki/server.pem && chmod 600 pki/server-key.pem
TOKEN=$(ingestd token add --config examples/gateway-hardening/after/ingestd.yaml --device sensor-1)
secret "$TOKEN"
ingestd check-config --config examples/gateway-hardening/after/ingestd.yaml
ingestd run --config examples/gateway-hardening/after/ingestd.yaml 2>>ingestd.log &
INGESTD_PID=$!
track "$INGESTD_PID"
wait_http https://127.0.0.1:8443/healthz --cacert pki/server.pem
expect_out 401 curl -sS -o /dev/null -w '%{http_code}\n' --cacert pki/server.pem -H 'Content-Type: application/json' --data '{"t":21.5}' https://127.0.0.1:8443/v1/ingest
expect_out 202 curl -sS -o /dev/null -w '%{http_code}\n' --cacert pki/server.pem -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data '{"t":21.5}' https://127.0.0.1:8443/v1/ingest

step "after: a token added while ingestd runs works once ingestd gets SIGHUP"
HARDGATE_TOKEN=$(ingestd token add --config examples/gateway-hardening/after/ingestd.yaml --device plant-7-sensor-01)
export HARDGATE_TOKEN
secret "$HARDGATE_TOKEN"
expect_out 401 curl -sS -o /dev/null -w '%{http_code}\n' --cacert pki/server.pem -H "Authorization: Bearer $HARDGATE_TOKEN" -H 'Content-Type: application/json' --data '{"t":21.5}' https://127.0.0.1:8443/v1/ingest
kill -HUP "$INGESTD_PID"
wait_http_body https://127.0.0.1:8443/metrics '^ingestd_tokens 2$' --cacert pki/server.pem
expect_exit 0 hardgate audit --target examples/targets/after.yaml --out after.json
expect_in "Status: PASS   Posture: green   Risk score: 0" "Findings: 0 (0 critical, 0 high, 0 medium, 0 low, 0 info)"

step "after: the same audit with the quick flags of the repository's README"
expect_exit 0 hardgate audit --url https://127.0.0.1:8443/v1/ingest --ca pki/server.pem --token-env HARDGATE_TOKEN \
    --gateway-config examples/gateway-hardening/after/ingestd.yaml --gateway-kind ingestd --out after-flags.json
expect_in "Status: PASS   Posture: green   Risk score: 0"

step "prove it and keep it: report, diff, baseline gate, history"
expect_exit 0 hardgate report before.json --format html --out before.html
expect_exit 0 hardgate diff before.json after.json --format md --out delta.md
expect_file delta.md "Regressions: 0"
expect_exit 0 hardgate audit --target examples/targets/after.yaml --baseline after.json
expect_exit 0 hardgate history add before.json after.json
expect_exit 0 hardgate history list
expect_in "FAIL    red      70    4" "PASS    green    0     0"
kill "$INGESTD_PID" && reap "$INGESTD_PID"

done_ok
