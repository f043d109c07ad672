# Helpers of the example scripts (examples/*/run.sh); sourced, not run.
# Each script works in a temporary folder, talks only to 127.0.0.1, checks
# every outcome its README states and stops the daemons it started.
# shellcheck shell=bash

# root is the repository the script belongs to; set by the caller.
: "${root:?set root before sourcing examples/lib.sh}"

work=""
pids=()
secrets=()
last_out=""

# setup_work NAME TOOL...: make the temporary folder, cd into it, and check
# that every TOOL is on PATH (hardgate, ingestd and natsstream are built
# from this checkout with go when they are not).
setup_work() {
	local name=$1
	shift
	umask 077
	PATH="$PATH:/usr/sbin:/sbin"
	work=$(mktemp -d "${TMPDIR:-/tmp}/hardgate-$name.XXXXXX")
	PATH="$work/bin:$PATH"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	last_out="$work/.last-output"
	local tool
	for tool in "$@"; do
		need "$tool"
	done
	cd "$work"
}

# need TOOL: TOOL is on PATH, or is built, or the script stops naming the
# Debian package that provides it.
need() {
	command -v "$1" >/dev/null && return 0
	case $1 in
	hardgate | ingestd)
		echo "building $1 from $root (not on PATH)"
		(cd "$root" && go build -o "$work/bin/$1" "./cmd/$1")
		;;
	natsstream)
		echo "building $1 from $root (not on PATH)"
		(cd "$root" && go build -o "$work/bin/$1" ./examples/nats/natsstream)
		;;
	*)
		local pkg=$1
		case $1 in
		mosquitto_sub | mosquitto_pub) pkg=mosquitto-clients ;;
		mosquitto_passwd) pkg=mosquitto ;;
		esac
		fail "$1 is not installed: apt-get install $pkg"
		;;
	esac
}

# cleanup stops every daemon still tracked, shows the daemons' logs when
# the script failed, and removes the folder.
cleanup() {
	local rc=$?
	local p f
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "$rc" != 0 ] && [ -n "$work" ]; then
		for f in "$work"/*.log; do
			[ -f "$f" ] || continue
			echo "--- ${f##*/} (last 40 lines)"
			redact "$(tail -n 40 "$f")"
			echo
		done
	fi
	if [ -n "$work" ] && [ -z "${KEEP:-}" ]; then
		cd /
		rm -rf "$work"
	fi
	exit "$rc"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

step() { printf '\n== %s\n' "$*"; }

# secret VALUE: never print VALUE (tokens, passwords).
secret() { secrets+=("$1"); }

redact() {
	local s=$* v
	for v in "${secrets[@]}"; do
		[ -n "$v" ] && s=${s//"$v"/REDACTED}
	done
	printf '%s' "$s"
}

ok() { echo "ok   $(redact "$*")"; }

# track PID: stop it at exit. reap PID [STATUS]: wait for the daemon PID,
# stopped by the caller, to exit with STATUS (default 0).
track() { pids+=("$1"); }

reap() {
	local rc=0 keep=() p
	wait "$1" || rc=$?
	[ "$rc" = "${2:-0}" ] || fail "pid $1 exited with status $rc after SIGTERM, want ${2:-0}"
	for p in "${pids[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	pids=("${keep[@]}")
}

# alive: every tracked daemon still runs.
alive() {
	local p
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || fail "a daemon (pid $p) exited early; its log is above"
	done
}

# wait_port PORT: wait until 127.0.0.1:PORT accepts connections (10 s).
wait_port() {
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		alive
		sleep 0.1
	done
	fail "nothing listens on 127.0.0.1:$1 after 10 s"
}

# wait_http URL [CURL ARGS]: wait until URL answers 2xx (10 s).
wait_http() {
	local url=$1 i
	shift
	for i in $(seq 100); do
		curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0
		alive
		sleep 0.1
	done
	fail "$url did not answer 2xx within 10 s"
}

# wait_http_body URL REGEX [CURL ARGS]: wait until URL's body has a line
# matching REGEX (10 s).
wait_http_body() {
	local url=$1 re=$2 i
	shift 2
	for i in $(seq 100); do
		curl -fsS "$@" "$url" 2>/dev/null | grep -Eq "$re" && { ok "$url has a line matching $re"; return 0; }
		alive
		sleep 0.1
	done
	fail "$url has no line matching $re after 10 s"
}

# wait_file FILE TEXT: wait until FILE holds TEXT (10 s).
wait_file() {
	local i
	for i in $(seq 100); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		alive
		sleep 0.1
	done
	fail "$1 lacks \"$2\" after 10 s"
}

# expect_exit CODE CMD...: run CMD (its output shown and kept for
# expect_in) and check its exit code.
expect_exit() {
	local want=$1 rc=0
	shift
	"$@" >"$last_out" 2>&1 || rc=$?
	redact "$(cat "$last_out")"
	echo
	[ "$rc" = "$want" ] || fail "exit $rc, want $want: $(redact "$*")"
	ok "exit $want: $(redact "$*")"
}

# expect_out WANT CMD...: CMD succeeds and prints exactly WANT.
expect_out() {
	local want=$1 got
	shift
	got=$("$@") || fail "$(redact "$*") failed"
	[ "$got" = "$want" ] || fail "got \"$(redact "$got")\", want \"$want\": $(redact "$*")"
	ok "$want: $(redact "$*")"
}

# expect_in TEXT...: the output of the last expect_exit holds every TEXT.
expect_in() {
	local t
	for t in "$@"; do
		grep -qF -- "$t" "$last_out" || fail "the output above lacks \"$t\""
		ok "output has \"$t\""
	done
}

# expect_file FILE TEXT...: FILE holds every TEXT.
expect_file() {
	local f=$1 t
	shift
	for t in "$@"; do
		grep -qF -- "$t" "$f" || fail "$f lacks \"$t\""
		ok "$f has \"$t\""
	done
}

done_ok() { printf '\nPASS: every step gave the outcome its README states\n'; }
