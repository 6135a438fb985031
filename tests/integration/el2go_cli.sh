#!/usr/bin/env bash
# Integration test of the el2go-agent CLI (milestone subset) and of
# el2go-claimcode-inject: usage and exit codes (0 ok, 1 failure, 2 usage,
# 13 not configured, 3 nothing stored, 4 last report not SUCCESS), `status`
# on stored reports, `services [--json]` on a datastore written here in the
# spec §4 format (python3 computes the SHA-256 header), `settings`
# precedence and the corrupted-datastore warning, claim code inject/delete
# against the in-process simulator (sim:DIR). Env: BUILD_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
AG="$BUILD_DIR/agent/el2go-agent"
CC="$BUILD_DIR/agent/el2go-claimcode-inject"
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/el2go_cli.XXXXXX")
fails=0
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/lib/assert.sh"
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR
S="$T/state"; mkdir -p "$S"

expect_rc 0 "--help" "$AG" --help
has "$T/out" "claimcode inject FILE" "usage lists claimcode"
expect_rc 2 "no command" "$AG"
expect_rc 2 "unknown command" "$AG" frobnicate
expect_rc 13 "connect with no host configured" "$AG" --dir "$S" connect
has "$T/err" "no EdgeLock 2GO host name configured" "connect says why"
expect_rc 2 "connect with a bad option" "$AG" --dir "$S" connect --frobnicate
expect_rc 3 "status without a report" "$AG" --dir "$S" status
expect_rc 3 "services without a datastore" "$AG" --dir "$S" services

# Datastores and reports in the documented formats.
python3 - "$S" <<'PY'
import hashlib, struct, sys
d = sys.argv[1]
def v(n):
    o = b''
    while True:
        b = n & 0x7f; n >>= 7
        if n: o += bytes([b | 0x80])
        else: return o + bytes([b])
def ld(f, data): return v(f << 3 | 2) + v(len(data)) + data
def vi(f, n): return v(f << 3) + v(n)
def fx64(f, n): return v(f << 3 | 1) + struct.pack('<Q', n)
def ref(ep, obj): return vi(1, 11) + vi(2, ep) + vi(3, obj)
def store(sds):
    body = b''.join(v(len(s)) + s for s in sds)
    tail = struct.pack('<III', 44 + len(body), 0, len(sds)) + body
    return hashlib.sha256(tail).digest() + tail
aws = fx64(1, 101) + vi(2, 0) + ld(10, b'a1.iot.example') + vi(11, 8883) + vi(13, 2) \
    + ld(14, b'thing-"1"') + ld(52, ref(0x70000010, 0x83000101)) + ld(50, ref(0x70000010, 0x83000102))
azure = fx64(1, 102) + vi(2, 2) + ld(100, b'0ne004510C6')
open(d + '/datastore.bin.0', 'wb').write(store([aws, azure]))
conn = fx64(1, 0) + ld(10, b'ds.device-link.example') + vi(11, 7443) \
    + ld(52, ref(0x70000010, 0xF0000000)) + ld(50, ref(0x70000010, 0xF0000001))
open(d + '/edgelock2go_datastore.bin.1', 'wb').write(store([conn]))
corr = b'123e4567-e89b-12d3-a456-426614174000'
rtp = ld(3, vi(1, 1) + ld(2, vi(1, 1) + vi(2, 0x70000010) + vi(3, 0x4100)))
open(d + '/el2go-last-report.pb', 'wb').write(vi(1, 1) + rtp + ld(5, corr))
open(d + '/report-err.pb', 'wb').write(vi(1, 0x35))
PY

expect_rc 0 "services" "$AG" --dir "$S" services
has "$T/out" "service 101: type aws, protocol MQTTS, host a1.iot.example:8883, key 0x83000101, cert 0x83000102" "services lists aws"
has "$T/out" "service 102: type azure, protocol empty" "services lists azure"
expect_rc 0 "services --json" "$AG" --dir "$S" services --json
if python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j[0]["identifier"]==101 and j[0]["client_id"]=="thing-\"1\"" and j[1]["azure_id_scope"]=="0ne004510C6"' "$T/out"; then
    ok "services --json is valid JSON with the fields"; else bad "services --json"; cat "$T/out"; fi
EL2GO_STATE_DIR="$S" expect_rc 0 "EL2GO_STATE_DIR" "$AG" services

expect_rc 0 "status SUCCESS" "$AG" --dir "$S" status
has "$T/out" "Overall status: 0x0001: SUCCESS" "status prints the overall status"
has "$T/out" "On endpoint 0x70000010, for object 0x00004100, status: 0x0001: SUCCESS" "status prints RTP details"
has "$T/out" "Correlation ID: 123e4567" "status prints the correlation id"
mv "$S/report-err.pb" "$S/el2go-last-report.pb"
expect_rc 4 "status with an error report" "$AG" --dir "$S" status
has "$T/out" "ERR_DEVICE_NOT_WHITELISTED" "error status named"

expect_rc 0 "settings from the datastore" "$AG" --dir "$S" settings
has "$T/out" "hostname: ds.device-link.example" "datastore hostname"
has "$T/out" "source: datastore" "datastore source"
EDGELOCK2GO_HOSTNAME=env.example EDGELOCK2GO_PORT=8443 expect_rc 0 "settings from env" "$AG" --dir "$S" settings
has "$T/out" "source: environment" "env wins over the datastore"
EDGELOCK2GO_HOSTNAME=env.example expect_rc 0 "settings with command line" "$AG" --dir "$S" settings --host cli.example --port 9443
has "$T/out" "port: 9443" "command line wins"
expect_rc 2 "settings bad port" "$AG" --dir "$S" settings --host h --port 70000
printf 'X' | dd of="$S/edgelock2go_datastore.bin.1" bs=1 seek=60 conv=notrunc 2>/dev/null
expect_rc 0 "settings with a corrupted datastore" "$AG" --dir "$S" settings
has "$T/out" "source: compiled defaults" "corrupted datastore falls back"
has "$T/err" "warning: connection datastore ignored \(checksum mismatch\)" "corrupted datastore warns"

# Claim codes on the in-process simulator.
SE="sim:$T/se"; mkdir -p "$T/se"
printf ' CLAIM-1234\r\n' >"$T/code.txt"
expect_rc 0 "claimcode inject" "$AG" --se "$SE" claimcode inject "$T/code.txt"
has "$T/out" "Injecting new claim code successful!" "inject message"
expect_rc 0 "el2go-claimcode-inject FILE CONN" "$CC" "$T/code.txt" "$SE"
expect_rc 0 "el2go-claimcode-inject --delete CONN" "$CC" --delete "$SE"
has "$T/out" "Deleting claim code successful!" "delete message"
expect_rc 3 "delete when absent" "$AG" --se "$SE" claimcode delete
: >"$T/empty.txt"
expect_rc 1 "inject an empty file" "$AG" --se "$SE" claimcode inject "$T/empty.txt"
expect_rc 1 "inject a missing file" "$CC" "$T/nope.txt" "$SE"
expect_rc 2 "claimcode usage" "$AG" claimcode inject
expect_rc 2 "el2go-claimcode-inject usage" "$CC"
expect_rc 1 "unreachable SE" "$AG" --se "127.0.0.1:1" claimcode delete

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "all el2go CLI checks passed"
