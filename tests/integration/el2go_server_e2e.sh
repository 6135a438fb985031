#!/usr/bin/env bash
# End-to-end test of el2go-server (issue 7) against the real el2go-agent
# binary (`session --stdio`) on the in-process simulator (sim:DIR): CLI
# errors and exit codes, a device not allowlisted refused with nothing
# written, provisioning of an EC P-256 and an RSA-2048 key pair generated in
# the SE plus certificates from the intermediate CA (the SE key signs, openssl
# verifies with the issued chain), service descriptors in the customer
# datastore and the connection datastore, state persisted across server
# runs, a second session with nothing to change (SUCCESS_NO_CHANGE, nothing
# written), a malformed Responses from a fake agent, and the TLS listener
# (mutual TLS, UID from the client certificate) driven through
# `openssl s_client` tunnelled to the agent. Env: BUILD_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup el2gs_e2e
SRV="$BUILD_DIR/server/el2go/el2go-server"
AG="$BUILD_DIR/agent/el2go-agent"
SPID=""
it_on_exit() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; }
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR EL2GO_SERVER_DIR
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
# expect_rc WHAT RC OUT_PATTERN CMD...: exit code and a pattern in stdout+stderr
expect_rc() {
  local what=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then ok "$what"
  else bad "$what (rc=$rc, want $want, pattern '$pat'): $out"; fi
}

D="$T/srv"; SE="$T/se"; ST="$T/state"
mkdir -p "$ST"
S() { "$SRV" --dir "$D" "$@"; }
session() { S session "$@" -- "$AG" --dir "$ST" --se "sim:$SE" session --stdio; }

# ---- CLI basics and errors ----
expect_rc "--help" 0 "usage: el2go-server" "$SRV" --help
expect_rc "no config -> clear error" 1 "run .el2go-server --dir" S devices list
expect_rc "unknown command" 2 "unknown command 'frobnicate'" "$SRV" --dir "$D" frobnicate
# The simulator directory is created by the first open (uid).
UIDHEX=$("$CLI" -p "sim:$SE" uid 2>/dev/null | tr -d '\r\n' | sed 's/^0x//' | tr a-f A-F)
check "simulator UID read (${UIDHEX})" '[ ${#UIDHEX} -eq 36 ]'
expect_rc "init" 0 "initialized" S init --factory-ca "$T/testca.pem:$SE/factory-ca.pem" --port 8443 \
  --auth-key "$SE/el2go-auth-key.pem"
expect_rc "init twice refused" 1 "already holds a CA" S init
expect_rc "bad UID (35 hex)" 2 "invalid UID" S devices add 0x0123456789ABCDEF0123456789ABCDEF012
expect_rc "bad UID (not hex)" 2 "invalid UID" S devices add 0xZZ23456789ABCDEF0123456789ABCDEF0123
expect_rc "bad UID (41 digits)" 2 "invalid UID" S devices add 12345678901234567890123456789012345678901
expect_rc "bad UID (43 digits)" 2 "invalid UID" S devices add 1234567890123456789012345678901234567890123
expect_rc "bad UID (42 chars, not digits)" 2 "invalid UID" S devices add 12345678901234567890123456789012345678901x
expect_rc "unknown group" 3 "no group named 'nosuch'" S devices add "0x$UIDHEX" --group nosuch
expect_rc "bad key type" 2 "--type must be" S objects add g --id 0x83000101 --type ec-p999
expect_rc "bad port" 2 "--port must be" S services add g --id 1 --host h --port 70000
expect_rc "claim code for unknown group" 3 "no group named" S claimcodes create nosuch
expect_rc "groups add" 0 "" S groups add demo
expect_rc "objects add ec" 0 "" S objects add demo --id 0x83000101 --type ec-p256 --name aws-key
expect_rc "objects add rsa" 0 "" S objects add demo --id 0x83000201 --type rsa2048 --name rsa-key
expect_rc "objects add duplicate" 1 "already exists" S objects add demo --id 0x83000101 --type ec-p256
expect_rc "services add aws" 0 "" S services add demo --id 101 --type aws --host localhost --port 8883 \
  --key-id 0x83000101 --cert-id 0x83000102
expect_rc "services add azure" 0 "" S services add demo --id 102 --type azure --host dps.local \
  --port 8883 --key-id 0x83000201 --cert-id 0x83000202 --azure-scope 0ne000TEST
expect_rc "services list" 0 "service 102  azure" S services list
RCODE=$(S claimcodes create demo --limit 2 --length 40)
check "claim code created (40 chars)" '[ ${#RCODE} -eq 40 ]'
expect_rc "claim code revoke" 0 "" S claimcodes revoke "$RCODE"
expect_rc "claim code listed revoked" 0 "used=0/2  REVOKED" S claimcodes list
CODE=$(S claimcodes create demo --limit 1)
expect_rc "bad claim code length" 2 "--length must be 16..255" S claimcodes create demo --length 8
expect_rc "revoke unknown claim code" 3 "no such claim code" S claimcodes revoke nosuchcode

# ---- not allowlisted: refused, nothing written ----
expect_rc "not allowlisted -> ERR_DEVICE_NOT_WHITELISTED" 4 "ERR_DEVICE_NOT_WHITELISTED" session
expect_rc "agent saw the refusal" 4 "ERR_DEVICE_NOT_WHITELISTED" "$AG" --dir "$ST" status
check "no datastore written" '! ls "$ST"/datastore.bin.* "$ST"/edgelock2go_datastore.bin.* 2>/dev/null | xargs -r cat | grep -q .'
expect_rc "no key generated" 1 "" "$CLI" -p "sim:$SE" get pub 83000101 -

# ---- claim codes: revoked, then a valid one (read and deleted through an
# ECKey session with 0xF0000020, the agent relaying ciphertext) ----
echo "$RCODE" >"$T/rcode.txt"; echo "$CODE" >"$T/code.txt"
expect_rc "inject revoked claim code" 0 "successful" "$AG" --se "sim:$SE" claimcode inject "$T/rcode.txt"
expect_rc "revoked claim code -> refused" 4 "ERR_DEVICE_NOT_WHITELISTED .*claim 0x13" session
expect_rc "agent saw ERR_CLAIM_CODE_REVOKED" 4 "ERR_CLAIM_CODE_REVOKED" "$AG" --dir "$ST" status
expect_rc "inject claim code" 0 "successful" "$AG" --se "sim:$SE" claimcode inject "$T/code.txt"
SE05X_APDU_TRACE="$T/claim.trace" session -v >"$T/claim.out" 2>&1
rc=$?
check "claim code session provisions (rc=$rc)" '[ $rc -eq 0 ] && grep -q "claim code accepted: device joined group demo" "$T/claim.out"'
check "claim code never on the link in clear" '! grep -qi "$(printf %s "$CODE" | od -An -tx1 | tr -d " \n" | sed "s/../& /g; s/ $//")" "$T/claim.trace"'
expect_rc "claim code deleted from the SE" 3 "" "$AG" --se "sim:$SE" claimcode delete
expect_rc "activation counted" 0 "used=1/1" S claimcodes list
expect_rc "device joined the group" 0 "group=demo" S devices show "0x$(tr A-F a-f <<<"$UIDHEX")"
expect_rc "decimal UID form" 0 "" S devices add 000000000000000000000000000000000000001234
expect_rc "decimal UID normalized to hex" 0 "0x0000000000000000000000000000000004D2  group=-" S devices list
expect_rc "devices remove" 0 "" S devices remove 0x0000000000000000000000000000000004D2
expect_rc "devices remove unknown" 3 "not allowlisted" S devices remove 0x0000000000000000000000000000000004D2
expect_rc "devices show" 0 "group=demo  state=PROVISIONED" S devices show "0x$UIDHEX"
check "first session provisioned" 'grep -q "SUCCESS (rtp 0x01, csp 0x01, claim 0x01; 2 object(s), 2 service(s), connection datastore" "$T/claim.out"'
expect_rc "agent report SUCCESS with details" 0 "object 0x83000202, status: 0x0001: SUCCESS" "$AG" --dir "$ST" status
echo "signed by the SE" > "$T/data.bin"
for k in 83000101 83000201; do
  c=$(printf '%08X' $((0x$k + 1)))
  "$CLI" -p "sim:$SE" get cert "$c" "$T/$k.pem" >/dev/null 2>&1
  expect_rc "cert $c chains to the device root" 0 "OK" openssl verify -CAfile "$D/device-root.pem" \
    -untrusted "$D/intermediate.pem" "$T/$k.pem"
  expect_rc "cert $c CN is the UID" 0 "CN = $UIDHEX" openssl x509 -in "$T/$k.pem" -noout -subject
  openssl x509 -in "$T/$k.pem" -pubkey -noout >"$T/$k.pub"
  "$CLI" -p "sim:$SE" sign "$k" "$T/data.bin" "$T/$k.sig" >/dev/null 2>&1
  expect_rc "key $k signs, verified with the issued certificate" 0 "Verified OK" \
    openssl dgst -sha256 -verify "$T/$k.pub" -signature "$T/$k.sig" "$T/data.bin"
done
expect_rc "services in the customer datastore" 0 '"identifier": 102, "type": "azure"' "$AG" --dir "$ST" services --json
expect_rc "connection datastore points at the server" 0 "localhost" "$AG" --dir "$ST" settings
expect_rc "state persisted (PROVISIONED, objects)" 0 "PROVISIONING_COMPLETED" S devices show "0x$UIDHEX"
expect_rc "devices list" 0 "state=PROVISIONED .*status=SUCCESS  connections=1" S devices list

# ---- second session: nothing to change, nothing written ----
sum_before=$(cat "$ST"/datastore.bin.* "$ST"/edgelock2go_datastore.bin.* "$T/83000101.pem" | sha256sum)
"$CLI" -p "sim:$SE" get cert 83000102 "$T/before.pem" >/dev/null 2>&1
expect_rc "second session: SUCCESS_NO_CHANGE" 0 "SUCCESS \(rtp 0x02, csp 0x02, claim 0x01; 0 object\(s\), 0 service\(s\)," session
expect_rc "agent report NO_CHANGE" 0 "remote trust provisioning: 0x0002: SUCCESS_NO_CHANGE" "$AG" --dir "$ST" status
"$CLI" -p "sim:$SE" get cert 83000102 "$T/after.pem" >/dev/null 2>&1
sum_after=$(cat "$ST"/datastore.bin.* "$ST"/edgelock2go_datastore.bin.* "$T/83000101.pem" | sha256sum)
check "datastores unchanged" '[ "$sum_before" = "$sum_after" ]'
check "certificate unchanged" 'cmp -s "$T/before.pem" "$T/after.pem"'
expect_rc "connections counted" 0 "connections=2" S devices show "0x$UIDHEX"

# ---- malformed protobuf from the agent side ----
FAKE="$T/fake_agent.py"
cat >"$FAKE" <<'PY'
import os, sys
os.read(0, 4096)                      # the server's hello
os.write(1, b'\x06\x0a\x04\xff\xff\xff\xff')   # Responses with a broken entry
os.read(0, 1)
PY
expect_rc "malformed Responses -> clear error" 5 "malformed Responses message from the agent" \
  S session -- python3 "$FAKE"
expect_rc "agent exits at once -> clear error" 5 "(cannot write to|no response from) the agent" S session -- true

# ---- TLS listener: mutual TLS, UID from the client certificate ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test factory CA" \
  -keyout "$T/testca.key" -out "$T/testca.pem" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=test device/CN=$UIDHEX" \
  -keyout "$T/dev.key" -out "$T/dev.csr" >/dev/null 2>&1
openssl x509 -req -in "$T/dev.csr" -CA "$T/testca.pem" -CAkey "$T/testca.key" -CAcreateserial -days 2 \
  -out "$T/dev.pem" >/dev/null 2>&1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$UIDHEX" \
  -keyout "$T/rogue.key" -out "$T/rogue.pem" >/dev/null 2>&1
PORT=$((20000 + RANDOM % 20000))
S serve --listen "127.0.0.1:$PORT" --count 1 -v >"$T/serve.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do
  grep -q listening "$T/serve.log" && break
  sleep 0.1
done
mkfifo "$T/fifo"
timeout 60 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$D/link-root.pem" \
  -verify_return_error -cert "$T/rogue.pem" -key "$T/rogue.key" <"$T/fifo" 2>"$T/rogue.err" |
  timeout 60 "$AG" --dir "$ST" --se "sim:$SE" session --stdio >"$T/fifo" 2>/dev/null
check "untrusted client certificate: no session" '[ "$(S devices show 0x$UIDHEX | grep -c connections=2)" -eq 1 ]'
wait "$SPID"
S serve --listen "127.0.0.1:$PORT" --count 1 -v >"$T/serve2.log" 2>&1 &
SPID=$!
for _ in $(seq 50); do
  grep -q listening "$T/serve2.log" && break
  sleep 0.1
done
timeout 60 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$D/link-root.pem" \
  -verify_return_error -cert "$T/dev.pem" -key "$T/dev.key" <"$T/fifo" 2>"$T/sc.err" |
  timeout 60 "$AG" --dir "$ST" --se "sim:$SE" session --stdio >"$T/fifo" 2>"$T/agent.err"
rc=$?
check "session over TLS ends with goodbye SUCCESS (agent rc=$rc)" '[ $rc -eq 0 ]'
wait "$SPID"
SPID=""
check "server logged the TLS session" 'grep -q "session with 0x$UIDHEX: SUCCESS" "$T/serve2.log"'
expect_rc "TLS session counted" 0 "connections=3" S devices show "0x$UIDHEX"

# ---- claim code past its activation limit ----
expect_rc "device removed" 0 "" S devices remove "0x$UIDHEX"
expect_rc "inject the used claim code again" 0 "successful" "$AG" --se "sim:$SE" claimcode inject "$T/code.txt"
expect_rc "limit reached -> ERR_CLAIM_CODE_LIMIT_REACHED" 4 "claim 0x14" session
expect_rc "agent saw ERR_CLAIM_CODE_LIMIT_REACHED" 4 "ERR_CLAIM_CODE_LIMIT_REACHED" "$AG" --dir "$ST" status

if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"; cat "$T"/serve*.log 2>/dev/null; exit 1
fi
echo "all el2go-server checks passed"
