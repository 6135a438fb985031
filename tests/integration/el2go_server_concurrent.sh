#!/usr/bin/env bash
# el2go-server acceptance (issue 7): N (default 20) simulated devices, each
# its own in-process simulator and agent state, provision concurrently
# against one TLS listener (`serve --count N`, one child per connection,
# one SQLite database). Each device connects with mutual TLS through
# `openssl s_client` tunnelled to `el2go-agent session --stdio` (a client
# certificate with the device's UID as CN from a test factory CA), and must
# end PROVISIONED with a key in its SE that signs and verifies against the
# certificate issued for it. Env: BUILD_DIR, EL2GS_DEVICES.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup el2gs_conc
N=${EL2GS_DEVICES:-20}
SRV="$BUILD_DIR/server/el2go/el2go-server"
AG="$BUILD_DIR/agent/el2go-agent"
SPID=""
it_on_exit() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; }
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR EL2GO_SERVER_DIR
D="$T/srv"
S() { "$SRV" --dir "$D" "$@"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=test factory CA" \
  -keyout "$T/ca.key" -out "$T/ca.pem" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1
S init --factory-ca "$T/ca.pem" >/dev/null || { echo "FAIL - init"; exit 1; }
S groups add fleet && S objects add fleet --id 0x83000101 --type ec-p256 &&
  S services add fleet --id 101 --type aws --host localhost --port 8883 --key-id 0x83000101 \
    --cert-id 0x83000102 || { echo "FAIL - fleet setup"; exit 1; }

declare -a UIDS
for i in $(seq "$N"); do
  mkdir -p "$T/d$i/st"
  u=$("$CLI" -p "sim:$T/d$i/se" uid 2>/dev/null | tr -d '\r\n')
  UIDS[$i]=$u
  S devices add "0x$u" --group fleet || bad "allowlist device $i"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$u" \
    -keyout "$T/d$i/tls.key" -out "$T/d$i/tls.csr" >/dev/null 2>&1
  openssl x509 -req -in "$T/d$i/tls.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
    -days 2 -out "$T/d$i/tls.pem" >/dev/null 2>&1
  mkfifo "$T/d$i/fifo"
done

PORT=$((20000 + RANDOM % 20000))
S serve --listen "127.0.0.1:$PORT" --count "$N" -v >"$T/serve.log" 2>&1 &
SPID=$!
for _ in $(seq 100); do
  grep -q listening "$T/serve.log" && break
  sleep 0.1
done
start=$(date +%s.%N)
declare -a PIDS
for i in $(seq "$N"); do
  (
    timeout 120 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$D/link-root.pem" \
      -verify_return_error -cert "$T/d$i/tls.pem" -key "$T/d$i/tls.key" <"$T/d$i/fifo" 2>/dev/null |
      timeout 120 "$AG" --dir "$T/d$i/st" --se "sim:$T/d$i/se" session --stdio >"$T/d$i/fifo" \
        2>"$T/d$i/agent.err"
  ) &
  PIDS[$i]=$!
done
for i in $(seq "$N"); do
  if wait "${PIDS[$i]}"; then :; else bad "device $i session (see agent.err)"; cat "$T/d$i/agent.err"; fi
done
end=$(date +%s.%N)
wait "$SPID"
SPID=""
echo "# $N devices provisioned concurrently in $(echo "$end - $start" | bc 2>/dev/null || echo '?') s"

echo "signed by the SE" >"$T/data.bin"
for i in $(seq "$N"); do
  u=${UIDS[$i]}
  out=$(S devices show "0x$u")
  grep -q "state=PROVISIONED .*status=SUCCESS  connections=1" <<<"$out" || bad "device $i state: $out"
  grep -q "PROVISIONING_COMPLETED" <<<"$out" || bad "device $i object state: $out"
  "$CLI" -p "sim:$T/d$i/se" get cert 83000102 "$T/d$i/cert.pem" >/dev/null 2>&1
  openssl x509 -in "$T/d$i/cert.pem" -noout -subject 2>/dev/null | grep -q "CN = $u" ||
    bad "device $i certificate CN"
  openssl x509 -in "$T/d$i/cert.pem" -pubkey -noout >"$T/d$i/pub.pem" 2>/dev/null
  "$CLI" -p "sim:$T/d$i/se" sign 83000101 "$T/data.bin" "$T/d$i/sig" >/dev/null 2>&1
  openssl dgst -sha256 -verify "$T/d$i/pub.pem" -signature "$T/d$i/sig" "$T/data.bin" >/dev/null 2>&1 ||
    bad "device $i signature"
  openssl verify -CAfile "$D/device-root.pem" -untrusted "$D/intermediate.pem" "$T/d$i/cert.pem" \
    >/dev/null 2>&1 || bad "device $i chain"
  "$AG" --dir "$T/d$i/st" services --json 2>/dev/null | grep -q "\"client_id\": \"$u\"" ||
    bad "device $i services datastore"
done
[ "$fails" -eq 0 ] && ok "$N devices: PROVISIONED, key signs, certificate chains, services written"
if [ "$fails" -ne 0 ]; then
  echo "$fails check(s) failed"; tail -50 "$T/serve.log"; exit 1
fi
echo "all el2go-server concurrency checks passed"
