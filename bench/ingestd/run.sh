#!/usr/bin/env bash
# Side-by-side benchmark on loopback: ingestd (bearer token, HTTPS, 202 only
# after the batch is fsynced to its queue) against Debian's nginx answering a
# static 202 over TLS behind the same bearer check. Both are loaded, one
# after the other, with the same wrk command and the same ~300-byte JSON POST.
# Prints both req/s, both p99, the ratio and ingestd's RSS.
#
#   bench/ingestd/run.sh            # wrk -t2 -c50 -d20s
#   SCENARIO=batch bench/ingestd/run.sh        # (or bench/ingestd/batch.sh) NDJSON bodies of
#                                               # 100 records (~30 KB) per request; records/s
#                                               # and MB/s, nginx reading each whole body first
#   DURATION=5s bench/ingestd/run.sh
#   STORE_DIR=/dev/shm/q bench/ingestd/run.sh   # diagnosis only: queue on tmpfs,
#                                               # shows the cost of fsync on this disk
#   PERF=/tmp/ingestd.perf bench/ingestd/run.sh # also record a CPU profile of
#                                               # ingestd under load (perf record -g)
#   PPROF=/tmp/pp bench/ingestd/run.sh          # build with -tags hardgate_pprof and write
#                                               # cpu.pprof, allocs.pprof, heap.pprof of
#                                               # ingestd's run into that directory
#   SKIP_NGINX=1 bench/ingestd/run.sh           # ingestd only (no ratio)
#   INGESTD_BIN=/tmp/ingestd-old bench/ingestd/run.sh  # load that binary instead of
#                                               # building one (A/B comparisons)
#   FLOOR=0 bench/ingestd/run.sh                # skip the Go floor server
#   FASTHTTP=1 bench/ingestd/run.sh             # also load bench/ingestd/fastfront twice:
#                                               # a static 202 on valyala/fasthttp, then
#                                               # ingestd's own validation and durable queue
#                                               # behind fasthttp (what net/http costs)
#
# Besides nginx and ingestd it loads bench/ingestd/floor, the cheapest Go
# HTTPS server answering the same static 202 behind the same bearer check:
# the ceiling of Go's TLS and HTTP stacks on this machine, so that the
# report separates their cost from ingestd's own work.
#
# Needs: go, nginx, wrk, openssl. Sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-20s}
SCENARIO=${SCENARIO:-single}
case "$SCENARIO" in
  single) RECORDS=1; MAX_STORE=1073741824 ;;
  batch) RECORDS=100; MAX_STORE=$((32 << 30)) ;; # nothing drains the queue during the run
  *) echo "bench: SCENARIO is single or batch" >&2; exit 2 ;;
esac
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}

# free_port prints a loopback port nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "bench: no free port found" >&2; exit 1
}
INGESTD_PORT=${INGESTD_PORT:-$(free_port)}
NGINX_PORT=${NGINX_PORT:-$(free_port)}

for p in go nginx wrk openssl; do
  command -v "$p" >/dev/null || { echo "bench: $p is required (apt-get install ${p/go/golang})" >&2; exit 2; }
done

work=$(mktemp -d /tmp/ingestd-bench.XXXXXX)
ingestd_pid=""
cleanup() {
  [ -n "$ingestd_pid" ] && kill "$ingestd_pid" 2>/dev/null && wait "$ingestd_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== build ingestd"
tags=()
[ -n "${PPROF:-}" ] && tags=(-tags hardgate_pprof) && mkdir -p "$PPROF"
if [ -n "${INGESTD_BIN:-}" ]; then
  cp "$INGESTD_BIN" "$work/ingestd"
else
  CGO_ENABLED=0 go build -trimpath "${tags[@]}" -o "$work/ingestd" ./cmd/ingestd
fi
CGO_ENABLED=0 go build -trimpath -o "$work/floor" ./bench/ingestd/floor
FASTHTTP=${FASTHTTP:-0}
[ "$FASTHTTP" = 1 ] && CGO_ENABLED=0 go build -C bench/ingestd/fastfront -trimpath -o "$work/fastfront" .

echo "== generate a throwaway certificate (P-256) for 127.0.0.1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 600 "$work/key.pem"

cat >"$work/ingestd.yaml" <<YAML
listen:
  https: 127.0.0.1:${INGESTD_PORT}
tls:
  cert_file: $work/cert.pem
  key_file: $work/key.pem
auth:
  mode: bearer
  tokens_file: $work/tokens
store:
  dir: ${STORE_DIR:-$work/store}
  max_bytes: ${MAX_STORE}
limits:
  rate_per_device: 0   # one device sends everything here
log:
  level: warn
YAML
TOKEN=$("$work/ingestd" token add --config "$work/ingestd.yaml" --device bench-1)

user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
mkdir -p "$work/nginx/www/v1"
# nginx_location prints the ingest location. single: a static 202 behind
# the bearer check (nginx discards the body). batch: nginx reads each whole
# body into memory before it answers (the mirror module's
# mirror_request_body reads it before the content phase; a POST to the
# static file is then turned into the static 202), as ingestd must.
nginx_location() {
  if [ "$SCENARIO" = single ]; then
    cat <<LOC
    location = /v1/ingest {
      if (\$http_authorization != "Bearer ${TOKEN}") { return 401; }
      default_type application/json;
      return 202 '{"batch_id":"static","records":1}\n';
    }
LOC
    return
  fi
  cat <<LOC
    client_max_body_size 1m;
    client_body_buffer_size 1m;
    location = /v1/ingest {
      if (\$http_authorization != "Bearer ${TOKEN}") { return 401; }
      root $work/nginx/www;
      mirror /read-body;
      mirror_request_body on;
      error_page 405 =202 @accepted;
    }
    location = /read-body { internal; return 204; }
    location @accepted {
      default_type application/json;
      return 202 '{"batch_id":"static","records":${RECORDS}}\n';
    }
LOC
}
: >"$work/nginx/www/v1/ingest"
cat >"$work/nginx.conf" <<NGINX
$user_line
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:${NGINX_PORT} ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
$(nginx_location)
  }
}
NGINX

# The same body for every server: the ~300-byte JSON document of the wrk
# script, or (batch) 100 such records as NDJSON, each with its own seq.
body_file=$work/body
content_type=application/json
if [ "$SCENARIO" = single ]; then
  script=bench/ingestd/post.lua
  sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$script" | tr -d '\n' >"$body_file"
else
  script=bench/ingestd/batch.lua
  content_type=application/x-ndjson
  record=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/ingestd/post.lua)
  for i in $(seq 1 "$RECORDS"); do printf '%s\n' "${record/123456/$((100000 + i))}"; done >"$body_file"
fi
body_bytes=$(stat -c %s "$body_file")
export BENCH_TOKEN=$TOKEN BENCH_BODY_FILE=$body_file BENCH_CONTENT_TYPE=$content_type
echo "payload: $body_bytes bytes, $RECORDS record(s), $content_type"

wait_port() { # port
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: nothing listens on 127.0.0.1:$1" >&2; exit 1
}

check_status() { # url: the token gets 202, a wrong token 401
  local code
  code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H "Content-Type: $content_type" --data-binary "@$body_file" "$1")
  [ "$code" = 202 ] || { echo "bench: $1 answered $code with the token, want 202" >&2; exit 1; }
  code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" \
    -H "Content-Type: $content_type" --data-binary "@$body_file" "$1")
  [ "$code" = 401 ] || { echo "bench: $1 answered $code to a wrong token, want 401" >&2; exit 1; }
}

# proc_ticks pid... prints the CPU clock ticks (user + system) the processes used.
proc_ticks() {
  local t=0 p
  for p in "$@"; do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
# machine_ticks prints busy and total CPU clock ticks of the whole machine.
machine_ticks() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }

run_wrk() { # url name server-pid... -> wrk output in $work/$name.wrk, CPU use in $work/$name.cpu
  local url=$1 name=$2; shift 2
  local s0 m0 s1 m1
  s0=$(proc_ticks "$@"); m0=$(machine_ticks)
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$script" "$url" >"$work/$name.wrk"
  s1=$(proc_ticks "$@"); m1=$(machine_ticks)
  # server CPU seconds, machine busy fraction
  echo "$s0 $s1 $m0 $m1" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f %.0f\n", ($2-$1)/hz, 100*($5-$3)/($6-$4) }' >"$work/$name.cpu"
  cat "$work/$name.wrk"
}
cpu_line() { # name -> "N.N s CPU, M us/request; machine P% busy"
  local rq; rq=$(awk '/requests in/ {print $1}' "$work/$1.wrk")
  awk -v rq="$rq" '{ printf "%.1f s of server CPU, %.1f us per request; machine %d%% busy (all processes)", $1, (rq > 0 ? 1e6*$1/rq : 0), $2 }' "$work/$1.cpu"
}

rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99_ms() {
  awk '$1=="99%" { v=$2; u=v; sub(/[0-9.]+/,"",u); sub(/[a-z]+$/,"",v);
        if (u=="us") v=v/1000; else if (u=="s") v=v*1000; printf "%.2f\n", v }' "$1"
}
non2xx() { awk '/Non-2xx/ {print $5}' "$1" | grep . || echo 0; }

echo "== nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'): static 202 over TLS with the bearer check"
if [ -z "${SKIP_NGINX:-}" ]; then
  nginx -p "$work" -c "$work/nginx.conf" -e "$work/nginx/error.log"
  wait_port "$NGINX_PORT"
  check_status "https://127.0.0.1:${NGINX_PORT}/v1/ingest"
  run_wrk "https://127.0.0.1:${NGINX_PORT}/v1/ingest" nginx $(cat "$work/nginx.pid") $(pgrep -P "$(cat "$work/nginx.pid")")
  kill "$(cat "$work/nginx.pid")"; sleep 0.5
else
  printf 'Requests/sec: 1\n' >"$work/nginx.wrk"
  echo "0 0" >"$work/nginx.cpu"
fi

FLOOR=${FLOOR:-1}
if [ "$FLOOR" = 1 ]; then
  echo "== floor: Go crypto/tls + net/http, static 202 with the bearer check"
  FLOOR_PORT=$(free_port)
  "$work/floor" -listen "127.0.0.1:$FLOOR_PORT" -cert "$work/cert.pem" -key "$work/key.pem" -token "$TOKEN" >/dev/null 2>"$work/floor.log" &
  floor_pid=$!
  wait_port "$FLOOR_PORT"
  check_status "https://127.0.0.1:${FLOOR_PORT}/v1/ingest"
  run_wrk "https://127.0.0.1:${FLOOR_PORT}/v1/ingest" floor "$floor_pid"
  kill "$floor_pid"; wait "$floor_pid" 2>/dev/null || true
fi

if [ "$FASTHTTP" = 1 ]; then
  # fast_run NAME TITLE [ARGS...]: load fastfront started with ARGS.
  fast_run() {
    local name=$1 title=$2 port pid; shift 2
    echo "== $name: $title"
    port=$(free_port)
    "$work/fastfront" -listen "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" -token "$TOKEN" "$@" >/dev/null 2>"$work/$name.log" &
    pid=$!
    wait_port "$port"
    check_status "https://127.0.0.1:${port}/v1/ingest"
    run_wrk "https://127.0.0.1:${port}/v1/ingest" "$name" "$pid"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    # what it stored must not be written back during the next server's run
    rm -rf "$work/fast-store"; sync
  }
  fast_run fast-floor "valyala/fasthttp on crypto/tls, static 202 with the bearer check"
  fast_run fast-queue "ingestd's validation and durable queue behind fasthttp" -store "$work/fast-store"
fi

echo "== ingestd: durable 202 (fsync, group commit) over TLS with the bearer check"
sync # start on a disk with nothing left to write back
INGESTD_PPROF_DIR=${PPROF:-} "$work/ingestd" run --config "$work/ingestd.yaml" 2>"$work/ingestd.log" &
ingestd_pid=$!
wait_port "$INGESTD_PORT"
check_status "https://127.0.0.1:${INGESTD_PORT}/v1/ingest"
rss_max=0
( while kill -0 "$ingestd_pid" 2>/dev/null; do
    awk '/^VmRSS:/ {r=$2} /^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} END {print r, a, f}' "/proc/$ingestd_pid/status" 2>/dev/null
    sleep 0.5
  done ) >"$work/rss.samples" &
sampler=$!
perf_pid=""
if [ -n "${PERF:-}" ]; then
  perf record -F 499 -g -o "$PERF" -p "$ingestd_pid" 2>/dev/null &
  perf_pid=$!
fi
run_wrk "https://127.0.0.1:${INGESTD_PORT}/v1/ingest" ingestd "$ingestd_pid"
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
rss_end=$(awk '/^VmRSS:/ {print $2}' "/proc/$ingestd_pid/status")
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$ingestd_pid/status")
curl -sk "https://127.0.0.1:${INGESTD_PORT}/metrics" >"$work/metrics.txt"
queued=$(awk '/^ingestd_queue_batches / {print $2}' "$work/metrics.txt")
append_ms=$(awk '/^ingestd_queue_append_duration_seconds_sum / {s=$2} /^ingestd_queue_append_duration_seconds_count / {c=$2}
  END { if (c > 0) printf "%.2f", 1000*s/c; else print "n/a" }' "$work/metrics.txt")
# mean_ms NAME: the mean of histogram NAME, in milliseconds.
mean_ms() {
  awk -v n="$1" '$1 == n"_sum" {s=$2} $1 == n"_count" {c=$2} END { if (c > 0) printf "%.3f", 1000*s/c; else print "n/a" }' "$work/metrics.txt"
}
commit_line="$(awk '/^ingestd_queue_commits_total / {print $2}' "$work/metrics.txt") group commits, $(awk '$1 == "ingestd_queue_commit_operations_sum" {s=$2} $1 == "ingestd_queue_commit_operations_count" {c=$2} END { if (c > 0) printf "%.1f", s/c; else print "n/a" }' "$work/metrics.txt") operations each; mean transaction $(mean_ms ingestd_queue_commit_transaction_seconds) ms, WAL sync $(mean_ms ingestd_queue_commit_sync_seconds) ms, commit to durable $(mean_ms ingestd_queue_commit_durable_wait_seconds) ms"
kill "$ingestd_pid"; wait "$ingestd_pid" 2>/dev/null || true; ingestd_pid=""
kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
rss_max=$(sort -n -k1 "$work/rss.samples" | tail -1 | awk '{print $1}')
anon_max=$(sort -n -k2 "$work/rss.samples" | tail -1 | awk '{print $2}')
file_max=$(sort -n -k3 "$work/rss.samples" | tail -1 | awk '{print $3}')

n_rps=$(rps "$work/nginx.wrk"); i_rps=$(rps "$work/ingestd.wrk")
n_p99=$(p99_ms "$work/nginx.wrk"); i_p99=$(p99_ms "$work/ingestd.wrk")
ratio=$(awk -v a="$i_rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a/b }')

echo
echo "== result (wrk -t$THREADS -c$CONNS -d$DURATION, $body_bytes-byte POST of $RECORDS record(s), $(nproc) CPUs)"
echo "load average (1, 5, 15 min) before the run: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %12s %10s %10s\n' server req/s p99_ms non_2xx
printf '%-10s %12s %10s %10s\n' nginx "$n_rps" "$n_p99" "$(non2xx "$work/nginx.wrk")"
[ "$FLOOR" = 1 ] && printf '%-10s %12s %10s %10s\n' go-floor "$(rps "$work/floor.wrk")" "$(p99_ms "$work/floor.wrk")" "$(non2xx "$work/floor.wrk")"
if [ "$FASTHTTP" = 1 ]; then
  for n in fast-floor fast-queue; do
    printf '%-10s %12s %10s %10s\n' "$n" "$(rps "$work/$n.wrk")" "$(p99_ms "$work/$n.wrk")" "$(non2xx "$work/$n.wrk")"
  done
fi
printf '%-10s %12s %10s %10s\n' ingestd "$i_rps" "$i_p99" "$(non2xx "$work/ingestd.wrk")"
echo "nginx CPU: $(cpu_line nginx)"
[ "$FLOOR" = 1 ] && echo "go-floor CPU: $(cpu_line floor)"
if [ "$FASTHTTP" = 1 ]; then
  for n in fast-floor fast-queue; do echo "$n CPU: $(cpu_line "$n")"; done
fi
echo "ingestd CPU: $(cpu_line ingestd)"
[ "$FLOOR" = 1 ] && echo "ratio go-floor/nginx req/s: $(awk -v a="$(rps "$work/floor.wrk")" -v b="$n_rps" 'BEGIN { printf "%.2f", a/b }') (what Go's TLS + HTTP/1.1 stacks reach with no work at all)"
if [ "$FASTHTTP" = 1 ]; then
  echo "ratio fast-floor/nginx req/s: $(awk -v a="$(rps "$work/fast-floor.wrk")" -v b="$n_rps" 'BEGIN { printf "%.2f", a/b }') (the same crypto/tls without net/http)"
  echo "ratio fast-queue/nginx req/s: $(awk -v a="$(rps "$work/fast-queue.wrk")" -v b="$n_rps" 'BEGIN { printf "%.2f", a/b }') (ingestd's validation and durable queue without net/http)"
fi
echo "ratio ingestd/nginx req/s: $ratio (target >= 0.60)"
if [ "$SCENARIO" = batch ]; then
  throughput() { # name req/s
    awk -v n="$1" -v r="$2" -v k="$RECORDS" -v b="$body_bytes" 'BEGIN { printf "%-10s %10.0f records/s %8.1f MB/s\n", n, r*k, r*b/1e6 }'
  }
  echo "batch throughput ($RECORDS records, $body_bytes bytes of NDJSON per request):"
  throughput nginx "$n_rps"
  [ "$FLOOR" = 1 ] && throughput go-floor "$(rps "$work/floor.wrk")"
  if [ "$FASTHTTP" = 1 ]; then
    for n in fast-floor fast-queue; do throughput "$n" "$(rps "$work/$n.wrk")"; done
  fi
  throughput ingestd "$i_rps"
  echo "ratio ingestd/nginx records/s (and MB/s): $ratio"
fi
echo "ingestd p99: ${i_p99} ms (target <= 10)"
echo "ingestd RSS: max sampled $((rss_max / 1024)) MiB, at end $((rss_end / 1024)) MiB, peak (VmHWM) $((hwm / 1024)) MiB (target <= 64)"
echo "  of which max anonymous (heap, stacks) $((anon_max / 1024)) MiB, max file-backed (queue mmap, binary) $((file_max / 1024)) MiB"
echo "ingestd batches durably queued: $queued; mean durable append (group commit + fsync) seen by a request: ${append_ms} ms"
echo "ingestd queue: $commit_line"
