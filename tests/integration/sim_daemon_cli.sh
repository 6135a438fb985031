#!/usr/bin/env bash
# Integration test of the se05x-sim daemon (and, later, the se05x CLI
# against it): --help/--version, option errors (exit 2), start on an
# ephemeral port with --port-file, JRCP exchanges over bash's /dev/tcp,
# log lines, port already in use and bad --dir (exit 1), clean stop on
# SIGTERM and SIGINT (exit 0, port file removed) even with clients
# connected. Env: BUILD_DIR (build tree), SRC_DIR (source tree).
set -u
BUILD_DIR=${BUILD_DIR:-build}
SIM="$BUILD_DIR/sim/se05x-sim"
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/sim_daemon_cli.XXXXXX")
PIDS=()
fails=0

cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
    local d=$1; shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}

[ -x "$SIM" ] || { echo "FAIL - $SIM not built"; exit 1; }

# ---- options -----------------------------------------------------------
out=$("$SIM" --help); rc=$?
check "--help exits 0" [ $rc -eq 0 ]
check "--help lists --port-file" grep -q -- "--port-file" <<<"$out"
out=$("$SIM" --version); rc=$?
check "--version exits 0 and names the program" [ $rc -eq 0 -a "${out#se05x-sim }" != "$out" ]
for args in "--port 70000" "--port abc" "--applet 5" "--bogus" "extra-arg" "--memory 12Q" \
            "--t1-faults crc=1" "--t1-socket $T/s --t1-faults foo=1" "--port"; do
    # shellcheck disable=SC2086
    "$SIM" $args >/dev/null 2>"$T/err"; rc=$?
    check "bad option '$args' exits 2 with a message" [ $rc -eq 2 -a -s "$T/err" ]
done

# ---- helpers -----------------------------------------------------------
wait_file() { # wait_file FILE: up to 20 s
    for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.1; done
    return 1
}
start_sim() { # start_sim NAME ARGS... -> sets SIM_PID, logs to $T/NAME.log
    local name=$1; shift
    "$SIM" "$@" 2>"$T/$name.log" &
    SIM_PID=$!
    PIDS+=("$SIM_PID")
}
wait_grep() { # wait_grep PATTERN FILE: up to 10 s
    for _ in $(seq 1 100); do grep -q -- "$1" "$2" && return 0; sleep 0.1; done
    return 1
}
wait_exit() { # wait_exit PID: exit status, or 124 if still running after 10 s
    for _ in $(seq 1 100); do
        kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
        sleep 0.1
    done
    return 124
}
# jrcp PORT HEXBYTES: send one frame, print the reply header as hex "mty nad lh ll"
jrcp() {
    local port=$1 hex=$2 esc="" b
    for b in $hex; do esc+="\\x$b"; done
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf "$esc" >&3
    timeout 5 head -c 4 <&3 | od -An -tx1 | tr -s ' ' | sed 's/^ //; s/ $//'
    exec 3<&- 3>&-
}

# ---- start, port file, JRCP, logs, SIGTERM ------------------------------
start_sim a --dir "$T/state" --port 0 --port-file "$T/port"
check "port file written" wait_file "$T/port"
PORT=$(cat "$T/port")
check "port file holds a port number" [ "$PORT" -gt 0 ] 2>/dev/null
check "log says listening on 127.0.0.1:$PORT" wait_grep "se05x-sim: listening on 127.0.0.1:$PORT dir=$T/state" "$T/a.log"
r=$(jrcp "$PORT" "04 00 00 00")
check "TERMINAL_INFO answered with a text ($r)" [ "${r%% *}" = "04" -a "$r" != "04 00 00 00" ]
r=$(jrcp "$PORT" "00 00 00 04 00 00 01 00")
check "WAIT_FOR_CARD answered ($r)" [ "${r%% *}" = "00" ]
r=$(jrcp "$PORT" "01 00 00 05 80 04 00 20 00")
check "APDU_DATA answered with an R-APDU ($r)" [ "${r%% *}" = "01" -a "$r" != "01 00 00 00" -a "$r" != "01 00 00 01" ]
r=$(jrcp "$PORT" "30 00 00 00")
check "LOCK answered with a bare header ($r)" [ "$r" = "30 00 00 00" ]
r=$(jrcp "$PORT" "03 00 00 00")
check "CLOSE answered with a bare header ($r)" [ "$r" = "03 00 00 00" ]
r=$(jrcp "$PORT" "42 00 00 00")
check "unknown type answered with ERROR_MSG ($r)" [ "${r%% *}" = "03" ]
check "log has client connect lines" wait_grep "client #1 connected from 127.0.0.1:" "$T/a.log"
check "log has client disconnect lines" wait_grep "client #1 disconnected" "$T/a.log"

# a second daemon on the same port: startup failure, exit 1
"$SIM" --dir "$T/state2" --port "$PORT" 2>"$T/b.log"; rc=$?
check "port in use exits 1" [ $rc -eq 1 ]
check "port in use is explained" grep -q "in use" "$T/b.log"

# SIGTERM with a client connected (idle, mid-conversation)
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
printf '\x01\x00\x00\x20\x00' >&4
sleep 0.2
kill -TERM "$SIM_PID"
wait_exit "$SIM_PID"; rc=$?
check "SIGTERM stops with exit 0 (got $rc)" [ $rc -eq 0 ]
exec 4<&- 4>&-
check "port file removed on stop" [ ! -e "$T/port" ]
check "stop is logged" wait_grep "SIGTERM received, stopping" "$T/a.log"

# ---- SIGINT, --quiet, default options -----------------------------------
start_sim c --dir "$T/state" --port 0 --port-file "$T/port3" --quiet --applet 7 --memory 64K
check "quiet daemon starts" wait_file "$T/port3"
r=$(jrcp "$(cat "$T/port3")" "04 00 00 00")
check "quiet daemon serves" [ "${r%% *}" = "04" ]
kill -INT "$SIM_PID"
wait_exit "$SIM_PID"; rc=$?
check "SIGINT stops with exit 0 (got $rc)" [ $rc -eq 0 ]
check "--quiet logs nothing" [ ! -s "$T/c.log" ]

# ---- bad state directory: exit 1 -------------------------------------------
: >"$T/afile"
"$SIM" --dir "$T/afile" --port 0 2>"$T/d.log"; rc=$?
check "--dir on a regular file exits 1" [ $rc -eq 1 ]
check "--dir error is explained" grep -q "not a directory" "$T/d.log"
"$SIM" --dir "$T/afile/sub" --port 0 2>"$T/d.log"; rc=$?
check "--dir below a regular file exits 1" [ $rc -eq 1 ]

# ---- IPv6 loopback (when available) -----------------------------------------
start_sim e --dir "$T/state" --listen ::1 --port 0 --port-file "$T/port6"
if wait_file "$T/port6" 2>/dev/null; then
    check "IPv6 listen is logged" wait_grep "listening on \[::1\]:" "$T/e.log"
    kill -TERM "$SIM_PID"; wait_exit "$SIM_PID"
    check "IPv6 daemon stops with exit 0" [ $? -eq 0 ]
else
    wait_exit "$SIM_PID" >/dev/null
    echo "skip - no IPv6 loopback"
fi

if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"
    for f in "$T"/*.log; do echo "== $f"; cat "$f"; done
    exit 1
fi
echo "all checks passed"
