#!/usr/bin/env bash
# Integration test of the se05x CLI's --json output (built with json-c):
# every document parses, strings with quotes, backslashes and control
# characters come back unchanged (the connection string of `info`), the
# output is one line, and `list --json` on sss (--host-store) gives the SE05x
# type_code of each object instead of null. Uses the in-process simulator
# (sim:DIR) and a host store only. Env: BUILD_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
CLI="$BUILD_DIR/cli/se05x"
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/cli_json.XXXXXX")
fails=0
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/lib/assert.sh"

# one JSON document on exactly one line; python asserts on it as d
json_ok() { # json_ok DESCRIPTION PYTHON-ASSERTION
    if [ "$(wc -l <"$T/out")" -eq 1 ] &&
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$T/out" 2>"$T/py"; then
        ok "$1"
    else
        bad "$1"; sed 's/^/     /' "$T/out" "$T/py"
    fi
}

# ---- info: the connection string is user text -------------------------
CARD="$T/ca\"rd\\x"$'\t'"tab"$'\n'"nl"$'\x01'"soh"
expect_rc 0 "info --json on sim:DIR with quote, backslash, tab, newline, 0x01" "$CLI" --port "sim:$CARD" info --json
SIMSTR="sim:$CARD" json_ok "info --json keeps the connection string byte for byte" \
    'import os; assert d["connection"]==os.environ["SIMSTR"] and len(d["uid"])==36 and isinstance(d["free_persistent"], int)'

# ---- gen / list on the host store --------------------------------------
H="$T/hs"
mkdir -p "$H"
expect_rc 0 "gen ec --json" "$CLI" --host-store "$H" gen ec EF000010 --json
json_ok "gen ec --json: id, curve, PEM with its newlines" \
    'assert d["id"]=="0xEF000010" and d["curve"]=="P-256" and d["bits"]==256 and d["public_key"].startswith("-----BEGIN PUBLIC KEY-----\n") and d["public_key"].endswith("-----END PUBLIC KEY-----\n")'
expect_rc 0 "gen aes --json" "$CLI" --host-store "$H" gen aes EF000011 --bits 128 --json
json_ok "gen aes --json: no public key" 'assert d["public_key"] is None and "curve" not in d'
expect_rc 0 "list --json on the host store" "$CLI" --host-store "$H" list --json
json_ok "list --json on sss: type_code is the SE05x type" \
    'm={o["id"]:o for o in d}; assert m["0xEF000010"]["type_code"]==1 and m["0xEF000011"]["type_code"]==9 and m["0xEF000011"]["size"]==16 and m["0xEF000010"]["type"]=="EC key pair (P-256)"'
rm -f "$H"/*.obj
expect_rc 0 "list --json on an empty store" "$CLI" --host-store "$H" list --json
json_ok "list --json on an empty store is []" 'assert d==[]'

# ---- list on the SE ------------------------------------------------------
expect_rc 0 "list --json on sim:DIR" "$CLI" --port "sim:$T/card2" list --json
json_ok "list --json on the SE: factory objects with codes, UserID without size" \
    'm={o["id"]:o for o in d}; assert m["0xF0000000"]["type_code"]==0x29 and m["0x7FFF0205"]["size"] is None and m["0x7FFF0205"]["type"]=="UserID"'

echo "$fails failure(s)"
[ $fails -eq 0 ]
