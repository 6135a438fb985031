#!/usr/bin/env bash
# Integration test of the se05x CLI against the se05x-sim daemon over its
# real transports: JRCP (HOST:PORT), T=1 on the virtual I2C (t1:PATH) and the
# in-process simulator on the same directory (sim:DIR). Checks output,
# exit codes (0 ok, 1 SE error, 2 usage, 3 cannot connect), environment
# defaults, APDU tracing and error messages. Env: BUILD_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup cli_sim

# SE05X_PORT stays unset: the CLI's defaults are under test
sim_launch 0 "$T/card" --t1-socket "$T/i2c.sock"
J=$SIM_ADDR

# ---- help and usage errors ---------------------------------------------
expect_rc 0 "--help" "$CLI" --help
has "$T/out" "list \[--json\]" "--help lists the commands"
expect_rc 0 "--version" "$CLI" --version
expect_rc 2 "unknown command" "$CLI" --port "$J" frobnicate
has "$T/err" "unknown command" "unknown command is named"
expect_rc 2 "no command" "$CLI" --port "$J"
expect_rc 2 "bad object id" "$CLI" --port "$J" erase 0xZZ
has "$T/err" "invalid object id" "bad id explained"
expect_rc 2 "object id too long" "$CLI" --port "$J" erase 0x123456789
expect_rc 2 "malformed connection string" "$CLI" --port "nohostport" uid
has "$T/err" "not a connection string" "malformed connection string explained"
expect_rc 2 "odd-length APDU hex" "$CLI" --port "$J" apdu 800
expect_rc 2 "non-hex APDU" "$CLI" --port "$J" apdu 80zz0000
expect_rc 3 "connection refused" "$CLI" --port 127.0.0.1:1 uid
has "$T/err" "refused" "refused connection explained"
expect_rc 3 "missing virtual I2C socket" "$CLI" --port "t1:$T/nosuch.sock" uid

# ---- the same chip over every transport --------------------------------
expect_rc 0 "uid over JRCP" "$CLI" --port "$J" uid
uid_j=$(cat "$T/out")
[[ "$uid_j" =~ ^[0-9A-F]{36}$ ]] && ok "UID is 18 bytes of hex" || bad "UID format: '$uid_j'"
expect_rc 0 "uid over T=1 (virtual I2C)" "$CLI" --port "t1:$T/i2c.sock" uid
[ "$(cat "$T/out")" = "$uid_j" ] && ok "T=1 sees the same UID" || bad "T=1 UID differs"
expect_rc 0 "uid in-process next to the daemon" "$CLI" --port "sim:$T/card" uid
[ "$(cat "$T/out")" = "$uid_j" ] && ok "in-process sees the same UID" || bad "in-process UID differs"
SE05X_PORT="$J" expect_rc 0 "SE05X_PORT default" "$CLI" uid
EX_SSS_BOOT_SSS_PORT="t1:$T/i2c.sock" expect_rc 0 "EX_SSS_BOOT_SSS_PORT default" "$CLI" uid

# ---- info, list, apdu, erase --------------------------------------------
expect_rc 0 "info" "$CLI" --port "$J" info
has "$T/out" "Applet version: +7\.2\.0" "info shows applet 7.2.0"
has "$T/out" "Free persistent: +[0-9]+" "info shows free memory"
has "$T/out" "$uid_j" "info shows the UID"
expect_rc 0 "list" "$CLI" --port "$J" list
for id in 0xF0000000 0xF0000001 0xF0000004 0xF0000005 0xF0000012 0xF0000020 0x7FFF0206; do
    has "$T/out" "^$id " "list shows factory object $id"
done
expect_rc 0 "list --json" "$CLI" --port "$J" list --json
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(o["id"]=="0xF0000000" for o in d)' "$T/out"; then
    ok "list --json is JSON with the factory key"; else bad "list --json"; fi
expect_rc 0 "raw GetVersion" "$CLI" --port "$J" apdu 8004002000
has "$T/out" "SW 9000" "raw APDU prints the status word"
has "$T/out" "^410707020" "raw APDU prints the response data"
expect_rc 1 "raw APDU with an unknown INS" "$CLI" --port "$J" apdu 801F000000
has "$T/out" "SW 6D00" "unknown INS answered 6D00"
# create a binary object 0xEF000001 with a raw WriteBinary, then erase it
expect_rc 0 "raw WriteBinary" "$CLI" --port "$J" apdu 80010600104104EF00000143020004440401020304
expect_rc 0 "list after write" "$CLI" --port "$J" list
has "$T/out" "^0xEF000001 " "new object listed"
expect_rc 0 "erase" "$CLI" --port "$J" erase EF000001
expect_rc 0 "list after erase" "$CLI" --port "$J" list
if grep -q "^0xEF000001 " "$T/out"; then bad "erased object still listed"; else ok "erased object gone"; fi
expect_rc 1 "erase of a missing object" "$CLI" --port "$J" erase 0xEF000001
has "$T/err" "69[0-9A-F]{2}" "refusal shows the status word"
expect_rc 1 "erase of a factory object" "$CLI" --port "$J" erase 0xF0000000

# ---- tracing ---------------------------------------------------------------
SE05X_APDU_TRACE="$T/trace.log" expect_rc 0 "uid with a trace file" "$CLI" --port "$J" uid
has "$T/trace.log" ">> 80 02 00 00 00 00 0A 41 04 7F FF 02 06 43 02 00 12 00 00" "trace has the exact UID read"
has "$T/trace.log" "<< 41 12 .* 90 00" "trace has the UID answer"
expect_rc 0 "uid with --trace" "$CLI" --port "$J" --trace uid
has "$T/err" ">> 00 A4 04 00 10 A0 00 00 03 96" "--trace prints the SELECT on stderr"

sim_stop TERM; rc=$?
[ $rc -eq 0 ] && ok "daemon stops cleanly" || bad "daemon exit $rc"
echo "$fails failure(s)"
[ $fails -eq 0 ]
