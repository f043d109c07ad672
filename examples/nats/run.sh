#!/usr/bin/env bash
# The steps of examples/nats/README.md, end to end, in a temporary copy of
# this folder: nats-server on 127.0.0.1:4222 (TLS, token, JetStream), a
# stream for telemetry.>, ingestd on 127.0.0.1:8443 forwarding to it, a
# device's telemetry and the stream's copy of it. Each expected outcome is
# checked; the script exits non-zero at the first one that differs.
# examples/examples_test.go runs it.
#
#   examples/nats/run.sh
#
# Needs hardgate, ingestd and natsstream on PATH (else it builds them from
# this checkout with go), nats-server (Debian package nats-server), openssl
# and curl. No nats CLI.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/examples/lib.sh"
setup_work nats ingestd natsstream nats-server openssl curl
cp "$here/ingestd.yaml" "$here/nats-server.conf" .

step "1. certificate for 127.0.0.1 (its own CA), a server token"
mkdir -p certs && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout certs/server-key.pem -out certs/server.pem && cp certs/server.pem certs/ca.pem
NATS_TOKEN=nats_$(openssl rand -hex 16)
export NATS_TOKEN
secret "$NATS_TOKEN"

step "2. server, 3. the stream that captures telemetry.>"
nats-server -c nats-server.conf >nats-server.log 2>&1 &
NATS_PID=$!
track "$NATS_PID"
wait_port 4222
natsstream add --server tls://127.0.0.1:4222 --ca certs/ca.pem --token-env NATS_TOKEN --stream TELEMETRY --subjects 'telemetry.>'

step "4. device token, 5. ingestd forwarding to the stream"
TOKEN=$(ingestd token add --config ingestd.yaml --device sensor-1)
secret "$TOKEN"
ingestd check-config --config ingestd.yaml
ingestd run --config ingestd.yaml 2>ingestd.log &
INGESTD_PID=$!
track "$INGESTD_PID"
wait_http https://127.0.0.1:8443/healthz --cacert certs/ca.pem

step "6. post a device's telemetry, 7. read it back from the stream"
expect_out 202 curl -sS -o /dev/null -w '%{http_code}\n' --cacert certs/ca.pem -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data '{"temperature_c":21.5}' https://127.0.0.1:8443/v1/ingest
expect_exit 0 natsstream last --server tls://127.0.0.1:4222 --ca certs/ca.pem --token-env NATS_TOKEN --stream TELEMETRY --subject 'telemetry.>' --wait 10s
expect_in 'telemetry.sensor-1 ' 'Ingestd-Device:sensor-1' 'Ingestd-Records:1' '{"temperature_c":21.5}'

kill "$INGESTD_PID" && reap "$INGESTD_PID"
kill "$NATS_PID" && reap "$NATS_PID" 1   # nats-server exits 1 on SIGTERM
done_ok
