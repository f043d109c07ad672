#!/usr/bin/env bash
# bench/tls/run.sh: scan ONE nginx endpoint on loopback with
#   1. hardgate's TLS scan alone        (go run ./bench/tls/tlsscan, prebuilt)
#   2. the full `hardgate audit`         (HTTP + full TLS + gateway config families:
#                                         the target names an ingestd config, written
#                                         here, that describes the same listener)
#   3. sslscan
#   4. nmap --script ssl-enum-ciphers
#   5. testssl.sh, default run
# and print each wall time and the ratios. Traffic goes to 127.0.0.1 only.
# A run whose exit code says the tool did not do its job fails the bench
# (a tool that gives up at once would otherwise be timed as fast): tlsscan
# must exit 0 (complete scan), the audit 0 or 1 (decided: pass or findings;
# 3, inconclusive, fails), sslscan and nmap 0, testssl.sh below 242 (its
# exit code counts findings; 242-255 are its own errors).
#
# Usage: bench/tls/run.sh [weak|strong] [runs]
#   weak   (default) TLS 1.0-1.2, ALL:COMPLEMENTOFALL:@SECLEVEL=0 with the
#          legacy provider, 1024-bit DH, self-signed RSA-1024 SHA-1 cert
#   strong TLS 1.2+1.3, ECDHE AEAD suites, CA-signed ECDSA P-256 cert with SAN
#   runs   repetitions of the fast tools; the median is reported (default 5).
#          testssl.sh runs once (it takes about a minute).
# Needs: go, nginx, openssl, sslscan, nmap, testssl (Debian: testssl.sh).
set -euo pipefail
shopt -s inherit_errexit
profile=${1:-weak}
runs=${2:-5}
cd "$(dirname "$0")/../.."
for p in nginx openssl sslscan nmap testssl; do
  command -v "$p" >/dev/null || { echo "bench: $p is missing (apt-get install ${p/testssl/testssl.sh})" >&2; exit 2; }
done

work=$(mktemp -d /tmp/hardgate-bench-tls.XXXXXX)
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ]; then kill "$nginx_pid" 2>/dev/null || true; wait "$nginx_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/tmp"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
addr="127.0.0.1:$port"

# --- certificates and nginx config, generated for this run only ---
if [ "$profile" = weak ]; then
  openssl req -x509 -newkey rsa:1024 -sha1 -nodes -keyout "$work/server.key" -out "$work/server.crt" \
    -days 5 -subj /CN=weak.gateway.test 2>/dev/null
  openssl dhparam -out "$work/dh1024.pem" 1024 2>/dev/null
  cp "$work/server.crt" "$work/ca.pem"
  cat >"$work/openssl.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
EOF
  tls="ssl_protocols TLSv1 TLSv1.1 TLSv1.2; ssl_ciphers ALL:COMPLEMENTOFALL:@SECLEVEL=0; ssl_dhparam $work/dh1024.pem;"
  export OPENSSL_CONF="$work/openssl.cnf"
else
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ca.key" -out "$work/ca.pem" \
    -days 30 -subj "/CN=hardgate bench CA" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/server.key" -out "$work/server.csr" \
    -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$work/ext.cnf"
  openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 90 -sha256 -extfile "$work/ext.cnf" -out "$work/server.crt" 2>/dev/null
  tls="ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20; ssl_prefer_server_ciphers on;"
fi
cat >"$work/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log stderr warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $work/tmp; proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  server {
    listen $addr ssl;
    ssl_certificate $work/server.crt;
    ssl_certificate_key $work/server.key;
    $tls
    location / { return 200 "ok\n"; }
  }
}
EOF
nginx -e stderr -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.log" &
nginx_pid=$!
unset OPENSSL_CONF
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done

# --- binaries ---
go build -o "$work/tlsscan" ./bench/tls/tlsscan
have_audit=0
if [ -d cmd/hardgate ] && go build -o "$work/hardgate" ./cmd/hardgate 2>"$work/build.log"; then have_audit=1; fi
# An ingestd config describing the benchmarked listener, so that the full
# audit also runs the gateway_config_guardrails family.
min_version=1.2 allow_unsafe="[]"
if [ "$profile" = weak ]; then min_version=1.0 allow_unsafe="[tls_below_1_2]"; fi
install -m 600 /dev/null "$work/tokens"
cat >"$work/ingestd.yaml" <<EOF
listen:
  https: $addr
tls:
  cert_file: $work/server.crt
  key_file: $work/server.key
  min_version: "$min_version"
auth:
  mode: bearer
  tokens_file: $work/tokens
store:
  dir: $work/data
guardrails:
  allow_unsafe: $allow_unsafe
EOF
cat >"$work/target.yaml" <<EOF
name: bench-$profile
ingest:
  urls: [https://$addr/v1/ingest]
  ca_file: $work/ca.pem
gateway:
  config_file: $work/ingestd.yaml
  kind: ingestd
EOF

# seconds of wall time of "$@"; ok is a regular expression of the exit
# codes that mean the tool did its job: any other code fails the bench.
walltime() { # ok cmd...
  local ok=$1 t0 t1 rc=0; shift
  t0=$(date +%s.%N)
  "$@" >"$work/last.out" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  if ! [[ $rc =~ ^($ok)$ ]]; then
    echo "bench: '$*' exited $rc (want $ok): its time would mean nothing; output:" >&2
    tail -20 "$work/last.out" >&2
    return 1
  fi
  echo "$t1 - $t0" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # ok runs cmd...
  local ok=$1 n=$2 s; shift 2
  local samples=()
  for _ in $(seq "$n"); do s=$(walltime "$ok" "$@") || exit 1; samples+=("$s"); done
  printf '%s\n' "${samples[@]}" | median
}

echo "bench: $profile nginx endpoint at $addr ($(nginx -v 2>&1 | sed 's/.*: //'), $(nproc) CPUs)"
"$work/tlsscan" -addr "$addr" -ca "$work/ca.pem" | head -1 || true
t_scan=$(timed 0 "$runs" "$work/tlsscan" -addr "$addr" -ca "$work/ca.pem")
t_audit=""
if [ "$have_audit" = 1 ]; then
  t_audit=$(timed '0|1' "$runs" "$work/hardgate" audit --target "$work/target.yaml" --format json)
  "$work/hardgate" audit --target "$work/target.yaml" --format json >"$work/audit.json" || true
  python3 - "$work/audit.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
c = s["controls"]
fams = sorted({x["id"].split(".")[0] for x in d["controls"] if x["status"] != "not_applicable"})
print(f"audit: {s['status']}, {c['total']} controls ({c['pass']} pass, {c['fail']} fail, {c['error']} error); families run: {', '.join(fams)}")
PY
fi
t_sslscan=$(timed 0 "$runs" sslscan --no-colour "$addr")
t_nmap=$(timed 0 "$runs" nmap -Pn -n --script ssl-enum-ciphers -p "$port" 127.0.0.1)
t_testssl=$(walltime '[0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-3][0-9]|24[01]' testssl --quiet --warnings off --color 0 "$addr")

row() { printf '%-34s %9.3f s\n' "$1" "$2"; }
echo
echo "wall time (median of $runs runs; testssl.sh 1 run)"
row "hardgate TLS scan (tlsscan)" "$t_scan"
if [ -n "$t_audit" ]; then row "hardgate audit (full)" "$t_audit"; else echo "hardgate audit (full)              not built: $(head -3 "$work/build.log" | tr '\n' ' ')"; fi
row "sslscan" "$t_sslscan"
row "nmap ssl-enum-ciphers" "$t_nmap"
row "testssl.sh (default run)" "$t_testssl"
echo
echo "ratios (>1 means hardgate is faster)"
ratio() { printf '%-34s %9.1fx\n' "$1" "$(echo "$2 / $3" | bc -l)"; }
ratio "sslscan / tlsscan" "$t_sslscan" "$t_scan"
ratio "nmap / tlsscan" "$t_nmap" "$t_scan"
ratio "testssl / tlsscan" "$t_testssl" "$t_scan"
if [ -n "$t_audit" ]; then
  ratio "sslscan / full audit" "$t_sslscan" "$t_audit"
  ratio "nmap / full audit" "$t_nmap" "$t_audit"
  ratio "testssl / full audit" "$t_testssl" "$t_audit"
fi
