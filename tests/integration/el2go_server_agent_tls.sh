#!/usr/bin/env bash
# el2go-server with the real agent over mutual TLS (`el2go-agent connect`,
# the client key 0xF0000000 and factory certificate 0xF0000001 inside the
# simulated SE through the provider; the server trusts the simulator's
# factory CA and takes the UID from the certificate's CN): provisioning with
# the CRL gate on, a reconnect from the connection datastore the server
# wrote (host, port, device-link root) with nothing to change, a device
# not allowlisted (exit 53 = ERR_DEVICE_NOT_WHITELISTED), and the server
# certificate revoked in the CRL making the agent abort (exit 6) with
# nothing written. Env: BUILD_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
SRV="$BUILD_DIR/server/el2go/el2go-server"
AG="$(cd "$BUILD_DIR" && pwd)/agent/el2go-agent"
CLI="$BUILD_DIR/cli/se05x"
export EL2GO_PROVIDER_DIR="$(cd "$BUILD_DIR" && pwd)/provider"
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/el2gs_tls.XXXXXX")
SPID=""
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR EL2GO_SERVER_DIR
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
D="$T/srv"; SE="$T/se"; SE2="$T/se2"; ST="$T/st"; ST2="$T/st2"
mkdir -p "$ST" "$ST2"
S() { "$SRV" --dir "$D" "$@"; }
U=$("$CLI" -p "sim:$SE" uid 2>/dev/null | tr -d '\r\n')
"$CLI" -p "sim:$SE2" uid >/dev/null 2>&1
PORT=$((20000 + RANDOM % 20000))
S init --port "$PORT" --factory-ca "$SE/factory-ca.pem:$SE2/factory-ca.pem" >/dev/null &&
  S groups add g && S objects add g --id 0x83000101 --type ec-p256 &&
  S services add g --id 101 --type aws --host localhost --port 8883 --key-id 0x83000101 \
    --cert-id 0x83000102 && S devices add "0x$U" --group g || { echo "FAIL - setup"; exit 1; }

# serve_one LOG: a listener for one connection, ready when it logs "listening".
serve_one() {
  S serve --listen "127.0.0.1:$PORT" --count 1 -v >"$1" 2>&1 &
  SPID=$!
  for _ in $(seq 100); do grep -q listening "$1" && return; sleep 0.1; done
}
# run WHAT WANT_RC PATTERN CMD...: the agent's exit code and output.
run() {
  local what=$1 want=$2 pat=$3; shift 3
  local out rc
  out=$(timeout 90 "$@" 2>&1); rc=$?
  wait "$SPID"; SPID=""
  if [ "$rc" -eq "$want" ] && grep -qE -- "$pat" <<<"$out"; then ok "$what"
  else bad "$what (rc=$rc, want $want): $out"; fi
}

serve_one "$T/s1.log"
run "connect: provisioned over mutual TLS with the CRL gate" 0 "remote trust provisioning: 0x0001: SUCCESS" \
  "$AG" --dir "$ST" --se "sim:$SE" connect --host localhost --port "$PORT" --ca "$D/link-root.pem"
grep -q "CRL requested" "$T/s1.log" && ok "agent asked for the CRL" || bad "no CRL request: $(cat "$T/s1.log")"
"$AG" --dir "$ST" services --json 2>/dev/null | grep -q '"identifier": 101' && ok "service written" || bad "service"

serve_one "$T/s2.log"
run "reconnect from the server-written connection datastore: NO_CHANGE" 0 \
  "remote trust provisioning: 0x0002: SUCCESS_NO_CHANGE" "$AG" --dir "$ST" --se "sim:$SE" connect
S devices show "0x$U" | grep -q "connections=2" && ok "two sessions recorded" || bad "sessions not recorded"

serve_one "$T/s3.log"
run "device not allowlisted: exit 53" 53 "ERR_DEVICE_NOT_WHITELISTED" \
  "$AG" --dir "$ST2" --se "sim:$SE2" connect --host localhost --port "$PORT" --ca "$D/link-root.pem"
if ls "$ST2"/datastore.bin.* >/dev/null 2>&1 && [ -s "$(ls "$ST2"/datastore.bin.* | head -1)" ]; then
  bad "datastore written for a refused device"
else
  ok "nothing written for the refused device"
fi

openssl x509 -in "$D/server.pem" -noout -serial | sed 's/^serial=//' >"$D/revoked.txt"
sum_before=$(cat "$ST"/datastore.bin.* "$ST"/edgelock2go_datastore.bin.* | sha256sum)
serve_one "$T/s4.log"
run "server certificate revoked in the CRL: agent aborts (exit 6)" 6 "CRL" \
  "$AG" --dir "$ST" --se "sim:$SE" connect
sum_after=$(cat "$ST"/datastore.bin.* "$ST"/edgelock2go_datastore.bin.* | sha256sum)
[ "$sum_before" = "$sum_after" ] && ok "nothing written after the CRL failure" || bad "datastores changed"
grep -q "goodbye" "$T/s4.log" && bad "server sent a goodbye: $(cat "$T/s4.log")" || ok "no goodbye after the abort"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; cat "$T"/s*.log; exit 1; fi
echo "all el2go-server agent TLS checks passed"
