#!/usr/bin/env bash
# The end-to-end EdgeLock 2GO + MQTT story (issue 7), shared by `make demo`
# (scripts/demo.sh) and tests/integration/el2go_mqtt_e2e.sh:
# a new simulated SE (se05x-sim over JRCP) connects with `el2go-agent
# connect` (mutual TLS, factory key 0xF0000000) to a local el2go-server that
# has it generate an EC key pair at 0x83000042 inside the SE and writes a
# certificate from its intermediate CA at 0x83000043 plus an MQTTS service
# descriptor; `el2go-agent export` writes the key reference PEM and the
# certificate. A mosquitto broker (loopback, free port, require_certificate,
# trusting the el2go-server device CA chain) then gets one message each from
# mosquitto_pub and examples/paho (se05x-paho-pub) using that key through
# the se05x provider (OPENSSL_CONF), and one MQTT CONNECT+PUBLISH written
# through `openssl s_client -key se05x:0x83000042`; a subscriber with a
# software certificate from the same CA must receive all three. Prints a
# summary; exit 0 only if every step worked. Cleans up its processes.
# Usage: el2go_mqtt.sh BUILD_DIR WORK_DIR (WORK_DIR is emptied first).
set -uo pipefail
BUILD=$(cd "${1:?usage: el2go_mqtt.sh BUILD_DIR WORK_DIR}" && pwd)
W=${2:?usage: el2go_mqtt.sh BUILD_DIR WORK_DIR}
SRC=$(cd "$(dirname "$0")/.." && pwd)
SIM="$BUILD/sim/se05x-sim"; CLI="$BUILD/cli/se05x"
SRV="$BUILD/server/el2go/el2go-server"; AG="$BUILD/agent/el2go-agent"
PAHO="$BUILD/examples/paho/se05x-paho-pub"
KEY_ID=0x83000042; CERT_ID=0x83000043; SVC=42; TOPIC=se05x/demo
rm -rf "$W"; mkdir -p "$W"; W=$(cd "$W" && pwd)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  return 0
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { echo "el2go_mqtt: $*" >&2; for f in "$W"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() { for _ in $(seq 1 150); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
for b in "$SIM" "$CLI" "$SRV" "$AG" "$PAHO" "$BUILD/provider/se05x.so"; do
  [ -e "$b" ] || die "missing $b (build it first)"
done
for t in mosquitto mosquitto_pub mosquitto_sub openssl; do
  command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || die "missing $t (scripts/deps.sh installs it)"
done
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)

say "se05x-sim: a new device leaves the factory"
"$SIM" --dir "$W/card" --port 0 --port-file "$W/sim.port" >"$W/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do [ -s "$W/sim.port" ] && break; sleep 0.1; done
[ -s "$W/sim.port" ] || die "se05x-sim did not start"
JRCP="127.0.0.1:$(cat "$W/sim.port")"
UID_HEX=$("$CLI" -p "$JRCP" uid | tr -d '\r\n')
[ -n "$UID_HEX" ] || die "cannot read the UID"
echo "device UID 0x$UID_HEX, SE on $JRCP"

say "el2go-server: group 'mqtt', EC key $KEY_ID + certificate $CERT_ID, MQTTS service $SVC"
D="$W/el2go-server"; S() { "$SRV" --dir "$D" "$@"; }
EPORT=$(freeport); MPORT=$(freeport)
S init --port "$EPORT" --factory-ca "$W/card/factory-ca.pem" >/dev/null &&
  S groups add mqtt >/dev/null && S objects add mqtt --id "$KEY_ID" --type ec-p256 >/dev/null &&
  S services add mqtt --id "$SVC" --type aws --host localhost --port "$MPORT" \
    --key-id "$KEY_ID" --cert-id "$CERT_ID" >/dev/null &&
  S devices add "0x$UID_HEX" --group mqtt >/dev/null || die "el2go-server setup failed"
S serve --listen "127.0.0.1:$EPORT" --count 1 -v >"$W/el2go-server.log" 2>&1 &
PIDS+=($!)
waitfor "$W/el2go-server.log" listening || die "el2go-server did not start"

say "el2go-agent connect (mutual TLS with the SE's factory key, provisioning by APDU)"
export EL2GO_PROVIDER_DIR="$BUILD/provider"
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR EL2GO_SERVER_DIR
mkdir -p "$W/agent"
timeout 90 "$AG" --dir "$W/agent" --se "$JRCP" connect --host localhost --port "$EPORT" \
  --ca "$D/link-root.pem" >"$W/agent.log" 2>&1 || { cat "$W/agent.log" >&2; die "el2go-agent connect failed"; }
grep -E "remote trust provisioning" "$W/agent.log"
"$AG" --dir "$W/agent" --se "$JRCP" export "$W/export" >/dev/null 2>"$W/export.log" || die "el2go-agent export failed"
KEYPEM="$W/export/service-$SVC-key.pem"; CERTPEM="$W/export/service-$SVC-cert.pem"
CAPEM="$W/export/service-$SVC-ca.pem"
[ -s "$KEYPEM" ] && [ -s "$CERTPEM" ] && [ -s "$CAPEM" ] || die "export did not write the service files"
grep -q "BEGIN SE05X KEY REFERENCE" "$KEYPEM" || die "$KEYPEM is not a key reference"
openssl verify -CAfile "$D/device-chain.pem" "$CERTPEM" || die "device certificate does not chain"
echo "SE objects now:"; "$CLI" -p "$JRCP" list | grep -iE "^($KEY_ID|$CERT_ID)\b" || true

say "mosquitto broker on 127.0.0.1:$MPORT (require_certificate, trusts the el2go-server device CA)"
# broker identity from the same intermediate CA, so devices trust it with the
# provisioned server_certificate (the device root)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$W/broker-key.pem" -out "$W/broker.csr" 2>/dev/null &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$W/broker.ext" &&
  openssl x509 -req -in "$W/broker.csr" -CA "$D/intermediate.pem" -CAkey "$D/intermediate-key.pem" \
    -CAcreateserial -days 1 -extfile "$W/broker.ext" -out "$W/broker-leaf.pem" 2>/dev/null &&
  cat "$W/broker-leaf.pem" "$D/intermediate.pem" >"$W/broker.pem" || die "broker certificate"
# the subscriber: an ordinary software client certificate from the same CA
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mqtt-subscriber \
  -keyout "$W/sub-key.pem" -out "$W/sub.csr" 2>/dev/null &&
  openssl x509 -req -in "$W/sub.csr" -CA "$D/intermediate.pem" -CAkey "$D/intermediate-key.pem" \
    -CAcreateserial -days 1 -out "$W/sub.pem" 2>/dev/null || die "subscriber certificate"
cat >"$W/mosquitto.conf" <<CONF
# generated by scripts/el2go_mqtt.sh
user $(id -un)
persistence false
log_dest file $W/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
log_type subscribe
connection_messages true
listener $MPORT 127.0.0.1
cafile $D/device-chain.pem
certfile $W/broker.pem
keyfile $W/broker-key.pem
require_certificate true
use_identity_as_username true
CONF
"$MOSQ" -c "$W/mosquitto.conf" >"$W/mosquitto.out" 2>&1 &
PIDS+=($!)
waitfor "$W/mosquitto.log" "Opening ipv4 listen socket on port $MPORT" || die "mosquitto did not start"
mosquitto_sub -h localhost -p "$MPORT" --cafile "$CAPEM" --cert "$W/sub.pem" --key "$W/sub-key.pem" \
  -i subscriber -t "$TOPIC" -q 1 -v -C 3 -W 60 >"$W/sub.log" 2>&1 &
SUBPID=$!; PIDS+=($SUBPID)
waitfor "$W/mosquitto.log" "subscriber 1 $TOPIC" || die "subscriber did not subscribe"

# every client below uses the key inside the SE through the se05x provider
export OPENSSL_CONF="$SRC/examples/openssl/openssl.cnf" OPENSSL_MODULES="$BUILD/provider"
export SE05X_PORT="$JRCP"
say "mosquitto_pub --key $(basename "$KEYPEM") (SE05X KEY REFERENCE for $KEY_ID) --cert $(basename "$CERTPEM")"
mosquitto_pub -h localhost -p "$MPORT" --cafile "$CAPEM" --cert "$CERTPEM" --key "$KEYPEM" \
  -i mosquitto_pub -t "$TOPIC" -q 1 -m "hello from mosquitto_pub" || die "mosquitto_pub failed"
say "se05x-paho-pub (Eclipse Paho MQTT C, same key reference)"
"$PAHO" --host localhost --port "$MPORT" --cafile "$CAPEM" --cert "$CERTPEM" --key "$KEYPEM" \
  --client-id paho --topic "$TOPIC" --message "hello from Paho MQTT C" || die "se05x-paho-pub failed"
say "openssl s_client -key se05x:$KEY_ID (MQTT CONNECT + PUBLISH written over the TLS session)"
# MQTT 3.1.1: CONNECT (client id "openssl-s_client", clean session, keep-alive 60),
# PUBLISH QoS 0 to se05x/demo, DISCONNECT
{ printf '\x10\x1c\x00\x04MQTT\x04\x02\x00\x3c\x00\x10openssl-s_client'
  printf '\x30\x27\x00\x0ase05x/demohello from openssl s_client'
  sleep 1; printf '\xe0\x00'; sleep 0.5; } |
  openssl s_client -key "se05x:$KEY_ID" -cert "$CERTPEM" -CAfile "$CAPEM" -verify_return_error \
    -connect "127.0.0.1:$MPORT" -servername localhost -quiet >"$W/s_client.out" 2>"$W/s_client.err" ||
  { cat "$W/s_client.err" >&2; die "openssl s_client failed"; }
unset OPENSSL_CONF OPENSSL_MODULES SE05X_PORT

for _ in $(seq 1 100); do kill -0 "$SUBPID" 2>/dev/null || break; sleep 0.1; done
wait "$SUBPID"; src=$?
say "summary"
echo "device 0x$UID_HEX provisioned by el2go-server: key $KEY_ID generated in the SE, certificate $CERT_ID:"
openssl x509 -in "$CERTPEM" -noout -subject -issuer | sed 's/^/    /'
echo "broker authenticated these clients by certificate (mosquitto log):"
grep -E "New client connected" "$W/mosquitto.log" | sed -E 's/^[0-9]+: /    /'
echo "subscriber received:"
grep -E "^$TOPIC " "$W/sub.log" | sed 's/^/    /'
n=$(grep -cE "^$TOPIC hello from (mosquitto_pub|Paho MQTT C|openssl s_client)$" "$W/sub.log")
c=$(grep -cE "New client connected .* as (mosquitto_pub|paho|openssl-s_client) .*u'$UID_HEX'" "$W/mosquitto.log")
[ "$src" -eq 0 ] && [ "$n" -eq 3 ] && [ "$c" -eq 3 ] ||
  die "expected 3 messages and 3 SE-authenticated clients, got $n messages, $c clients (subscriber rc $src)"
echo "MQTT story complete: 3 messages over mutual TLS with the key inside the SE"
