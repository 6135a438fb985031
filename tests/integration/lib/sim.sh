# shellcheck shell=bash
# Scaffolding shared by the integration scripts that drive a se05x-sim
# daemon (sourced, not run by ctest): it_setup makes the variables, the temp
# directory and the exit trap and sources assert.sh; sim_start / sim_stop /
# sim_restart run the daemon on a loopback port; free_port picks a free
# TCP port. Usage:
#   . "$(dirname "$0")/lib/sim.sh"; it_setup NAME
#   sim_start "$T/card" [--t1-socket ...]   # SIMPID, SIM_PORT, SIM_ADDR, SE05X_PORT
#   sim_launch 0 "$T/card" [ARGS...]        # the same without SE05X_PORT
# A script with more to clean up defines it_on_exit (run first at exit).
# shellcheck source-path=SCRIPTDIR source=assert.sh
. "$(dirname "${BASH_SOURCE[0]}")/assert.sh"

# shellcheck disable=SC2034 # the variables are for the scripts
it_setup() { # it_setup NAME: BUILD_DIR SRC_DIR SIM CLI MOD, T (temp dir), fails=0, trap
    BUILD_DIR=$(cd "${BUILD_DIR:-build}" && pwd) || exit 1
    SRC_DIR=${SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
    SIM="$BUILD_DIR/sim/se05x-sim"
    CLI="$BUILD_DIR/cli/se05x"
    MOD="$BUILD_DIR/provider"
    T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/$1.XXXXXX") || exit 1
    SIMPID='' SIM_PORT='' SIM_ADDR='' SIM_ARGS=()
    fails=0
    trap it_cleanup EXIT
}
it_cleanup() { # the EXIT trap: the script's it_on_exit, the daemon, the temp dir
    if declare -F it_on_exit >/dev/null; then it_on_exit; fi
    sim_stop KILL
    rm -rf "$T"
}
it_need() { # it_need FILE...: each must exist (built), else FAIL and exit 1
    local f
    for f in "$@"; do [ -e "$f" ] || { echo "FAIL - $f not built"; exit 1; }; done
}

sim_launch() { # sim_launch PORT DIR [ARGS...]: start the daemon, wait for its port
    # (SIMPID, SIM_PORT, SIM_ADDR); SE05X_PORT is left alone
    local port=$1 dir=$2; shift 2
    rm -f "$T/port"
    "$SIM" --dir "$dir" --port "$port" --port-file "$T/port" "$@" --quiet &
    SIMPID=$!
    for _ in $(seq 1 300); do [ -s "$T/port" ] && break; sleep 0.1; done
    [ -s "$T/port" ] || { echo "FAIL - se05x-sim did not start (port $port)"; exit 1; }
    SIM_PORT=$(cat "$T/port")
    SIM_ADDR="127.0.0.1:$SIM_PORT"
}
sim_start() { # sim_start DIR [ARGS...]: daemon on a free port; exports SE05X_PORT
    SIM_ARGS=("$@")
    sim_launch 0 "$@"
    export SE05X_PORT=$SIM_ADDR
}
sim_stop() { # sim_stop [SIGNAL]: stop the daemon (default KILL); returns its exit status
    local rc=0
    [ -n "$SIMPID" ] || return 0
    kill -"${1:-KILL}" "$SIMPID" 2>/dev/null
    wait "$SIMPID" 2>/dev/null; rc=$?
    SIMPID=
    return "$rc"
}
sim_restart() { # sim_restart (after sim_start): stop if running, start again on the same port, dir and args
    sim_stop KILL
    sim_launch "$SIM_PORT" "${SIM_ARGS[@]}"
}
sim_scp03_keys() { # sim_scp03_keys FILE: write the simulator's platform SCP03 test keys
    printf '# platform SCP03 test keys of the simulator\nENC 35C256458958A34F6136155F8209D6CD\nMAC AF177D5DBDF7C0D5C10A05B9F1607F78\nDEK A1BC8438BF77935B361A4425FE79FA29\n' >"$1"
}
free_port() { # free_port: print a TCP port free on 127.0.0.1 right now
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
