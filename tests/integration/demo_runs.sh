#!/usr/bin/env bash
# `make demo` is the README's main command: run its script against this
# build and check that each step did what it claims (UIDs agree across
# transports, signatures verify with plain openssl, the TLS server verified
# the SE's client certificate, el2go-server provisioned the device and the
# MQTT subscriber received the messages of mosquitto_pub, the Paho example
# and openssl s_client, all authenticated with the SE key). Env: BUILD_DIR, SRC_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
SRC_DIR=${SRC_DIR:-.}
out=$(cd "$SRC_DIR" && bash scripts/demo.sh "$BUILD_DIR" 2>&1); rc=$?
fails=0
check() { if grep -qE -- "$1" <<<"$out"; then echo "ok   - $2"; else echo "FAIL - $2"; fails=$((fails+1)); fi; }
[ $rc -eq 0 ] && echo "ok   - demo exits 0" || { echo "FAIL - demo exit $rc"; fails=$((fails+1)); }
check "Applet version: +7\.2\.0" "info over JRCP"
check "^0xF0000000 +EC key pair" "factory key listed"
uids=$(grep -E '^[0-9A-F]{36}$' <<<"$out" | sort -u | wc -l)
[ "$uids" -eq 1 ] && echo "ok   - one UID over JRCP, T=1 and in-process" || { echo "FAIL - $uids distinct UIDs"; fails=$((fails+1)); }
[ "$(grep -c '^Verified OK' <<<"$out")" -eq 2 ] && echo "ok   - both signatures verified by openssl" || { echo "FAIL - signatures"; fails=$((fails+1)); }
check "^New, TLSv1\.[23]" "TLS session established"
check "server verified the client certificate" "server saw the SE's certificate"
check "remote trust provisioning: 0x0001: SUCCESS" "el2go-agent connect provisioned the device"
for m in "mosquitto_pub" "Paho MQTT C" "openssl s_client"; do
  check "^    se05x/demo hello from $m$" "MQTT subscriber received the message from $m"
done
[ "$(grep -cE "New client connected .* as (mosquitto_pub|paho|openssl-s_client) .*u'[0-9A-F]{36}'" <<<"$out")" -eq 3 ] &&
  echo "ok   - broker authenticated the three SE clients by certificate" || { echo "FAIL - broker log"; fails=$((fails+1)); }
check "MQTT story complete" "MQTT story complete"
[ $fails -eq 0 ] || { echo "$out" | tail -40; exit 1; }
