#!/usr/bin/env bash
# The steps of examples/mqtt/README.md, end to end, in a temporary copy of
# this folder: Mosquitto on 127.0.0.1:8883 (TLS), ingestd on
# 127.0.0.1:8443 forwarding to it, a consumer that receives a device's
# telemetry, and hardgate's audit of the broker. Each expected outcome is
# checked; the script exits non-zero at the first one that differs.
# examples/examples_test.go runs it.
#
#   examples/mqtt/run.sh
#
# Needs hardgate and ingestd on PATH (else it builds them from this checkout
# with go), mosquitto and mosquitto_passwd (Debian package mosquitto),
# mosquitto_sub (mosquitto-clients), openssl and curl. Nothing may listen on
# 127.0.0.1:1883: the audit reports a plaintext broker there.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/examples/lib.sh"
setup_work mqtt hardgate ingestd mosquitto mosquitto_passwd mosquitto_sub openssl curl
cp "$here/acl" "$here/ingestd.yaml" "$here/mosquitto.conf" "$here/target.yaml" .

step "1. certificates: a throwaway self-signed CA for 127.0.0.1, valid for a year"
mkdir -p certs data && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout certs/server-key.pem -out certs/server.pem && cp certs/server.pem certs/ca.pem

step "2. broker users, with generated passwords"
MQTT_FORWARD_PASSWORD=$(openssl rand -hex 16)
MQTT_CONSUMER_PASSWORD=$(openssl rand -hex 16)
MQTT_AUDIT_PASSWORD=$(openssl rand -hex 16)
export MQTT_FORWARD_PASSWORD MQTT_AUDIT_PASSWORD
secret "$MQTT_FORWARD_PASSWORD"
secret "$MQTT_CONSUMER_PASSWORD"
secret "$MQTT_AUDIT_PASSWORD"
mosquitto_passwd -c -b passwd ingestd "$MQTT_FORWARD_PASSWORD"
mosquitto_passwd -b passwd consumer "$MQTT_CONSUMER_PASSWORD"
mosquitto_passwd -b passwd sensor-1 "$MQTT_AUDIT_PASSWORD"

step "3. broker (as root, it runs as the user mosquitto: give it its files)"
cp certs/server-key.pem certs/broker-key.pem   # the broker gets its own copy of the key
if [ "$(id -u)" = 0 ]; then chmod go+x . certs && chmod go+r certs/ca.pem certs/server.pem && chown mosquitto: certs/broker-key.pem passwd acl data; fi
mosquitto -c mosquitto.conf >mosquitto.log 2>&1 &
MOSQUITTO_PID=$!
track "$MOSQUITTO_PID"
wait_port 8883

step "4. device token, 5. ingestd forwarding to the broker"
TOKEN=$(ingestd token add --config ingestd.yaml --device sensor-1)
secret "$TOKEN"
ingestd check-config --config ingestd.yaml
ingestd run --config ingestd.yaml 2>ingestd.log &
INGESTD_PID=$!
track "$INGESTD_PID"
wait_http https://127.0.0.1:8443/healthz --cacert certs/ca.pem

step "6. watch telemetry/# as consumer, 7. post a device's telemetry"
stdbuf -oL mosquitto_sub -h 127.0.0.1 -p 8883 --cafile certs/ca.pem -u consumer -P "$MQTT_CONSUMER_PASSWORD" -V mqttv5 -t 'telemetry/#' -F '%t %P %p' -C 1 -W 10 -d >received.txt &
SUB_PID=$!
track "$SUB_PID"
wait_file received.txt 'received SUBACK'
expect_out 202 curl -sS -o /dev/null -w '%{http_code}\n' --cacert certs/ca.pem -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data '{"temperature_c":21.5}' https://127.0.0.1:8443/v1/ingest
reap "$SUB_PID"
expect_file received.txt 'telemetry/sensor-1 ' 'device:sensor-1' 'records:1' '{"temperature_c":21.5}'

step "8. audit the broker and its config as the device user sensor-1, then the config alone"
expect_exit 0 hardgate audit --target target.yaml
expect_in "Status: PASS" "Findings: 0 (0 critical, 0 high, 0 medium, 0 low, 0 info)"
expect_exit 0 hardgate audit --gateway-config mosquitto.conf --gateway-kind mosquitto
expect_in "Status: PASS"

kill "$INGESTD_PID" && reap "$INGESTD_PID"
kill "$MOSQUITTO_PID" && reap "$MOSQUITTO_PID"
done_ok
