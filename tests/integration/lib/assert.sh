# shellcheck shell=bash
# Assertion helpers shared by the integration scripts (sourced, not run by
# ctest: only tests/integration/*.sh are tests). The caller sets $T (a temp
# directory) and fails=0 before using them (lib/sim.sh's it_setup does), and
# ends with [ $fails -eq 0 ].
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
expect_rc() { # expect_rc WANT DESCRIPTION COMMAND...  (output kept in $T/out, $T/err)
    local want=$1 d=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$d (exit $rc)"; else
        bad "$d: exit $rc, expected $want"; sed 's/^/     /' "$T/out" "$T/err"; fi
}
expect_fail() { # expect_fail DESCRIPTION COMMAND...: a clean failure (output kept in $T/out, $T/err)
    # Clean = non-zero exit below 124: not timeout(1)'s 124, not "cannot
    # run" (126/127), not killed by a signal (128+N).
    local d=$1; shift
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -lt 124 ]; then ok "$d (exit $rc)"; return 0; fi
    if [ "$rc" -eq 0 ]; then bad "$d: succeeded, expected a clean failure"
    elif [ "$rc" -ge 128 ]; then bad "$d: killed by a signal (exit $rc), expected a clean failure"
    else bad "$d: exit $rc (timed out or could not run), expected a clean failure"; fi
    sed 's/^/     /' "$T/out" "$T/err" | head -20
}
has() { # has FILE PATTERN DESCRIPTION
    if grep -qE -- "$2" "$1"; then ok "$3"; else bad "$3 (no /$2/ in $(basename "$1"))"; sed 's/^/     /' "$1"; fi
}
hasnt() { # hasnt FILE PATTERN DESCRIPTION
    if grep -qE -- "$2" "$1"; then bad "$3 (/$2/ found in $(basename "$1"))"; else ok "$3"; fi
}
same() { # same FILE1 FILE2 DESCRIPTION: byte-identical files
    if cmp -s "$1" "$2"; then ok "$3"; else bad "$3 ($(basename "$1") != $(basename "$2"))"; fi
}
