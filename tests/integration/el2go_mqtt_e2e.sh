#!/usr/bin/env bash
# Issue 7 end to end: scripts/el2go_mqtt.sh (se05x-sim, el2go-server,
# `el2go-agent connect` provisioning EC key 0x83000042 + certificate
# 0x83000043 + an MQTTS service, a mosquitto broker requiring client
# certificates from the el2go-server CA, then mosquitto_pub and
# se05x-paho-pub with the key reference PEM and `openssl s_client -key
# se05x:0x83000042`), checked here: the subscriber received all three
# messages, the broker logged each client under the certificate CN = the
# device UID, the key file is a reference (no private key on disk), and no
# process is left behind. Env: BUILD_DIR, SRC_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
SRC_DIR=${SRC_DIR:-.}
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/el2go_mqtt.XXXXXX")
trap 'rm -rf "$T"' EXIT
out=$(timeout 300 bash "$SRC_DIR/scripts/el2go_mqtt.sh" "$BUILD_DIR" "$T/w" 2>&1); rc=$?
fails=0
check() { if grep -qE -- "$1" <<<"$out"; then echo "ok   - $2"; else echo "FAIL - $2"; fails=$((fails+1)); fi; }
[ $rc -eq 0 ] && echo "ok   - story exits 0" || { echo "FAIL - story exit $rc"; fails=$((fails+1)); }
U=$(sed -nE 's/^device UID 0x([0-9A-F]{36}),.*/\1/p' <<<"$out")
[ -n "$U" ] && echo "ok   - device UID read" || { echo "FAIL - no UID"; fails=$((fails+1)); }
check "remote trust provisioning: 0x0001: SUCCESS" "agent connect provisioned the device"
check "^0x83000042 +EC key pair" "key pair generated in the SE"
check "^0x83000043 +binary" "certificate written into the SE"
check "service-42-cert.pem: OK" "certificate chains to the el2go-server device CA"
check "subject=.*CN = $U" "certificate CN is the device UID"
for c in mosquitto_pub paho openssl-s_client; do
  check "New client connected .* as $c .*u'$U'" "broker authenticated $c with the SE certificate"
done
check "New client connected .* as subscriber .*u'mqtt-subscriber'" "subscriber with its software certificate"
for m in "mosquitto_pub" "Paho MQTT C" "openssl s_client"; do
  check "^    se05x/demo hello from $m$" "subscriber received the message from $m"
done
if grep -q "PRIVATE KEY" "$T/w/export/service-42-key.pem" 2>/dev/null ||
   ! grep -q "SE05X KEY REFERENCE" "$T/w/export/service-42-key.pem" 2>/dev/null; then
  echo "FAIL - key file is not a reference"; fails=$((fails+1))
else echo "ok   - key file is an SE05X KEY REFERENCE (no private key on disk)"; fi
left=$(pgrep -f "$T/w" || true)
[ -z "$left" ] && echo "ok   - no process left" || { echo "FAIL - processes left: $left"; fails=$((fails+1)); kill $left 2>/dev/null; }
[ $fails -eq 0 ] || { echo "$out" | tail -60; exit 1; }
echo "all el2go MQTT end-to-end checks passed"
