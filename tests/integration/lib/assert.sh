# Assertion helpers shared by the integration scripts (sourced, not run by
# ctest: only tests/integration/*.sh are tests). The caller sets $T (a temp
# directory) and fails=0 before using them, and ends with [ $fails -eq 0 ].
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
expect_rc() { # expect_rc WANT DESCRIPTION COMMAND...  (output kept in $T/out, $T/err)
    local want=$1 d=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$d (exit $rc)"; else
        bad "$d: exit $rc, expected $want"; sed 's/^/     /' "$T/out" "$T/err"; fi
}
has() { # has FILE PATTERN DESCRIPTION
    if grep -qE -- "$2" "$1"; then ok "$3"; else bad "$3 (no /$2/ in $(basename "$1"))"; sed 's/^/     /' "$1"; fi
}
