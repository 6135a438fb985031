#!/usr/bin/env bash
# `make demo`: starts the se05x-sim daemon (JRCP v1 on an ephemeral loopback
# port, T=1 over its virtual I2C socket), then shows round trips with the
# `se05x` CLI over each transport: applet info, the chip UID, the factory
# objects, a raw APDU, signatures and mutual TLS with SE keys; then the
# EdgeLock 2GO + MQTT story (scripts/el2go_mqtt.sh): el2go-server provisions a
# new SE through `el2go-agent connect`, and mosquitto_pub, the Paho example
# and openssl s_client publish to a mosquitto broker with the provisioned key
# inside the SE. Cleans up its processes on exit.
set -euo pipefail
BUILD=${1:-build}
SIM="$BUILD/sim/se05x-sim"
CLI="$BUILD/cli/se05x"
STATE="$BUILD/demo-state"
rm -rf "$STATE"   # a new chip leaves the factory for every demo
mkdir -p "$STATE"
PORTFILE="$STATE/port"
SOCK="$STATE/i2c.sock"
rm -f "$PORTFILE"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

"$SIM" --dir "$STATE/card" --port 0 --port-file "$PORTFILE" --t1-socket "$SOCK" &
SIMPID=$!
trap 'kill $SIMPID 2>/dev/null; wait $SIMPID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do [ -s "$PORTFILE" ] && break; sleep 0.1; done
[ -s "$PORTFILE" ] || { echo "demo: se05x-sim did not start" >&2; exit 1; }
PORT=$(cat "$PORTFILE")
JRCP="127.0.0.1:$PORT"

say "se05x-sim is running (state in $STATE/card, JRCP on $JRCP, virtual I2C on $SOCK)"
say "se05x --port $JRCP info"
"$CLI" --port "$JRCP" info
say "se05x --port $JRCP uid"
"$CLI" --port "$JRCP" uid
say "se05x --port $JRCP list    (factory-provisioned objects)"
"$CLI" --port "$JRCP" list
say "se05x --port t1:$SOCK uid    (same card over T=1 on the virtual I2C)"
"$CLI" --port "t1:$SOCK" uid
say "se05x --port $JRCP apdu 8004002000    (raw GetVersion)"
"$CLI" --port "$JRCP" apdu 8004002000
say "APDU trace of one command (SE05X_APDU_TRACE=1)"
SE05X_APDU_TRACE=1 "$CLI" --port "$JRCP" uid
say "a P-256 key generated inside the SE signs a file; plain openssl verifies it"
WORK="$STATE/work"; mkdir -p "$WORK"
echo "hello from se05x-stack" > "$WORK/msg.txt"
"$CLI" --port "$JRCP" gen ec 0xEF000100 --curve P-256 --force
"$CLI" --port "$JRCP" get pub 0xEF000100 "$WORK/pub.pem"
"$CLI" --port "$JRCP" sign 0xEF000100 "$WORK/msg.txt" "$WORK/msg.sig" --hash sha256
openssl dgst -sha256 -verify "$WORK/pub.pem" -signature "$WORK/msg.sig" "$WORK/msg.txt"
say "the factory RSA key 0xF0000004 signs with PSS; its certificate 0xF0000005 chains to the factory CA"
"$CLI" --port "$JRCP" get cert 0xF0000005 "$WORK/rsa-cert.pem"
openssl verify -CAfile "$STATE/card/factory-ca.pem" "$WORK/rsa-cert.pem"
"$CLI" --port "$JRCP" sign 0xF0000004 "$WORK/msg.txt" "$WORK/rsa.sig" --hash sha256 --pss
openssl x509 -in "$WORK/rsa-cert.pem" -pubkey -noout > "$WORK/rsa-pub.pem"
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 -verify "$WORK/rsa-pub.pem" \
    -signature "$WORK/rsa.sig" "$WORK/msg.txt"
say "mutual TLS: openssl s_client authenticates with the SE key 0xF0000000 and the certificate read from the SE (0xF0000001)"
# a throw-away server identity; the server trusts the simulator's factory CA for clients
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$WORK/server-key.pem" -out "$WORK/server.pem" 2>/dev/null
TLSPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$TLSPORT" -key "$WORK/server-key.pem" -cert "$WORK/server.pem" \
    -Verify 1 -CAfile "$STATE/card/factory-ca.pem" -verify_return_error -naccept 1 -www \
    >"$WORK/s_server.log" 2>&1 &
SRVPID=$!
for _ in $(seq 1 50); do grep -q ACCEPT "$WORK/s_server.log" 2>/dev/null && break; sleep 0.1; done
P="-provider-path $BUILD/provider -provider default -provider se05x"
printf 'GET / HTTP/1.0\r\n\r\n' | SE05X_PORT="$JRCP" openssl s_client $P -key se05x:0xF0000000 \
    -cert se05x:0xF0000001 -CAfile "$WORK/server.pem" -connect "127.0.0.1:$TLSPORT" -quiet \
    -verify_return_error >"$WORK/tls-reply.txt" 2>"$WORK/s_client.err" || true
kill $SRVPID 2>/dev/null || true; wait $SRVPID 2>/dev/null || true
# s_server -www answers with its view of the session, including the client's certificate
if grep -q "^Client certificate" "$WORK/tls-reply.txt"; then
    grep -E "^New, " "$WORK/tls-reply.txt"
    echo "server verified the client certificate:"
    grep -E "^ +(Issuer|Subject):" "$WORK/tls-reply.txt" | sed 's/^ */    /'
else
    echo "demo: mutual TLS failed:" >&2; cat "$WORK/s_client.err" "$WORK/s_server.log" >&2; exit 1
fi
say "se05x --port sim:$STATE/card uid    (in-process simulator on the same directory; the lock on it serialises both)"
"$CLI" --port "sim:$STATE/card" uid
say "EdgeLock 2GO provisioning, then MQTT over mutual TLS with the provisioned key (scripts/el2go_mqtt.sh)"
bash "$(dirname "$0")/el2go_mqtt.sh" "$BUILD" "$STATE/mqtt"
say "demo done"
