#!/usr/bin/env bash
# el2go-server with the real el2go-agent against an SE that requires
# platform SCP03 (`se05x-sim --require-scp --scp03-keys KEYS` over JRCP):
# without --scp03 the agent stops with a clear error and a non-zero exit
# (connect and session --stdio) and nothing is provisioned; with --scp03
# KEYS, `connect` (TLS client key through the provider with scp03_keyfile,
# keystore APDUs forwarded inside the agent's platform SCP03 channel)
# provisions: key pair generated in the SE, certificate written and
# chaining to the server's device root, services datastore written; a
# second connection with SE05X_SCP03_KEYFILE instead of the option
# finds nothing to change. Env: BUILD_DIR.
set -u
# shellcheck source-path=SCRIPTDIR source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup el2go_scp03
SRV="$BUILD_DIR/server/el2go/el2go-server"
AG="$BUILD_DIR/agent/el2go-agent"
it_need "$SRV" "$AG" "$SIM" "$CLI" "$MOD/se05x.so"
export EL2GO_PROVIDER_DIR="$MOD"
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR EL2GO_SERVER_DIR SE05X_SCP03_KEYFILE SE05X_AUTH
SPID=""
it_on_exit() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; }

KEYS="$T/scp03-keys.txt"
sim_scp03_keys "$KEYS"
sim_launch 0 "$T/card" --require-scp --scp03-keys "$KEYS"
SE=$SIM_ADDR
D="$T/srv"; ST="$T/state"
mkdir -p "$ST"
S() { "$SRV" --dir "$D" "$@"; }

expect_fail "plain CLI command refused by the SE" "$CLI" -p "$SE" uid
U=$("$CLI" -p "$SE" --scp03 "$KEYS" uid 2>/dev/null | tr -d '\r\n' | sed 's/^0x//')
if [ ${#U} -eq 36 ]; then ok "UID read over platform SCP03"; else bad "UID over SCP03: '$U'"; fi
PORT=$(free_port)
if ! { S init --port "$PORT" --factory-ca "$T/card/factory-ca.pem" >/dev/null &&
  S groups add g >/dev/null && S objects add g --id 0x83000101 --type ec-p256 >/dev/null &&
  S services add g --id 101 --type aws --host localhost --port 8883 --key-id 0x83000101 \
    --cert-id 0x83000102 >/dev/null && S devices add "0x$U" --group g >/dev/null; }; then
  bad "server setup"; exit 1
fi

serve_one() { # serve_one LOG: a listener for one connection, ready when it logs "listening"
  S serve --listen "127.0.0.1:$PORT" --count 1 -v >"$1" 2>&1 &
  SPID=$!
  for _ in $(seq 100); do grep -q listening "$1" && return; sleep 0.1; done
}
serve_stop() { [ -n "$SPID" ] && { kill "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=""; }; }

# ---- without --scp03: clear error, non-zero exit, nothing provisioned ----
expect_rc 11 "connect without --scp03: SE unreachable" \
  timeout 60 "$AG" --dir "$ST" --se "$SE" connect --host localhost --port "$PORT" --ca "$D/link-root.pem"
has "$T/err" "requires platform SCP03; give --scp03 KEYFILE" "connect: the error names --scp03"
expect_rc 1 "session --stdio without --scp03 fails" \
  timeout 60 "$AG" --dir "$ST" --se "$SE" session --stdio </dev/null
has "$T/err" "refuses plain commands .*requires platform SCP03" "session: the error names platform SCP03"
expect_rc 1 "wrong key file: cannot open the SE" \
  timeout 60 "$AG" --dir "$ST" --se "$SE" --scp03 "$T/nosuch.txt" session --stdio </dev/null
has "$T/err" "cannot open the SE with platform SCP03" "wrong key file: clear error"
expect_fail "no key generated yet" "$CLI" -p "$SE" --scp03 "$KEYS" get pub 83000101 -

# ---- with --scp03: provisioned over mutual TLS ----
serve_one "$T/s1.log"
expect_rc 0 "connect --scp03: provisioned" \
  timeout 90 "$AG" --dir "$ST" --se "$SE" connect --scp03 "$KEYS" --host localhost --port "$PORT" \
  --ca "$D/link-root.pem"
serve_stop
cat "$T/out" "$T/err" >"$T/all"
has "$T/all" "remote trust provisioning: 0x0001: SUCCESS" "report SUCCESS"
expect_rc 0 "key pair generated in the SE" "$CLI" -p "$SE" --scp03 "$KEYS" get pub 83000101 "$T/pub.pem"
expect_rc 0 "certificate written to the SE" "$CLI" -p "$SE" --scp03 "$KEYS" get cert 83000102 "$T/cert.pem"
expect_rc 0 "certificate chains to the server's device root" \
  openssl verify -CAfile "$D/device-root.pem" -untrusted "$D/intermediate.pem" "$T/cert.pem"
openssl x509 -in "$T/cert.pem" -pubkey -noout >"$T/certpub.pem" 2>/dev/null
openssl pkey -pubin -in "$T/pub.pem" -outform DER -out "$T/pub.der" 2>/dev/null
openssl pkey -pubin -in "$T/certpub.pem" -outform DER -out "$T/certpub.der" 2>/dev/null
if [ -s "$T/pub.der" ] && cmp -s "$T/pub.der" "$T/certpub.der"; then
  ok "certificate holds the SE-generated public key"
else bad "certificate and SE key differ"; fi
expect_rc 0 "service in the customer datastore" "$AG" --dir "$ST" services --json
has "$T/out" '"identifier": 101' "service 101 listed"

# ---- SE05X_SCP03_KEYFILE instead of the option: nothing to change ----
serve_one "$T/s2.log"
expect_rc 0 "connect with SE05X_SCP03_KEYFILE: SUCCESS_NO_CHANGE" \
  env SE05X_SCP03_KEYFILE="$KEYS" timeout 90 "$AG" --dir "$ST" --se "$SE" connect
serve_stop
cat "$T/out" "$T/err" >"$T/all"
has "$T/all" "0x0002: SUCCESS_NO_CHANGE" "report SUCCESS_NO_CHANGE"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; cat "$T"/s*.log; exit 1; fi
echo "all el2go agent platform SCP03 checks passed"
