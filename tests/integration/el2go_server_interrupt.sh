#!/usr/bin/env bash
# el2go-server acceptance (issue 7): the server dying mid-provisioning. The
# link from the server to the agent is cut after K bytes (`dd bs=1 count=K` in
# front of `el2go-agent session --stdio`, what the agent sees when the server
# is killed) at growing K across hello, key generation, certificate write
# and datastore transactions. After every cut the session has failed
# without a goodbye, the agent's datastores are still valid (old or new
# contents, never half), and the server's state says what is done; the
# final uncut run completes: SUCCESS, the key in the SE signs and verifies
# with the certificate next to it. Env: BUILD_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
SRV="$BUILD_DIR/server/el2go/el2go-server"
AG="$(cd "$BUILD_DIR" && pwd)/agent/el2go-agent"
CLI="$BUILD_DIR/cli/se05x"
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/el2gs_cut.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR EL2GO_SERVER_DIR
fails=0
ok() { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
D="$T/srv"; SE="$T/se"; ST="$T/st"
mkdir -p "$ST"
S() { "$SRV" --dir "$D" "$@"; }
U=$("$CLI" -p "sim:$SE" uid 2>/dev/null | tr -d '\r\n')
S init >/dev/null && S groups add g && S objects add g --id 0x83000101 --type ec-p256 &&
  S services add g --id 101 --type custom --host broker.local --port 8883 --key-id 0x83000101 \
    --cert-id 0x83000102 --metadata '{"padding":"'"$(printf 'x%.0s' $(seq 600))"'"}' &&
  S devices add "0x$U" --group g || { echo "FAIL - setup"; exit 1; }

# datastore_ok: `services` finds valid contents (0) or none (3), never an error.
datastore_ok() {
  "$AG" --dir "$ST" services >/dev/null 2>&1
  local rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]
}

for K in $(seq 30 70 2500); do
  out=$(timeout 60 "$SRV" --dir "$D" session -- sh -c "dd bs=1 count=$K 2>/dev/null | '$AG' --dir '$ST' --se 'sim:$SE' session --stdio" 2>&1)
  rc=$?
  if [ "$rc" -eq 5 ] && grep -q "session failed" <<<"$out"; then
    ok "cut after $K bytes: session failed without goodbye"
  elif [ "$rc" -eq 0 ]; then
    ok "cut after $K bytes: session had already completed"
    break
  else
    bad "cut after $K bytes: rc=$rc: $out"
  fi
  if datastore_ok; then ok "cut after $K bytes: agent datastores valid"; else bad "cut after $K: datastore corrupt"; fi
done
out=$(S devices show "0x$U")
echo "# state after the cuts: $(tr '\n' ' ' <<<"$out")"

out=$(S session -- "$AG" --dir "$ST" --se "sim:$SE" session --stdio 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && grep -q "SUCCESS" <<<"$out"; then ok "uncut run completes"; else bad "uncut run: rc=$rc: $out"; fi
S devices show "0x$U" | grep -q PROVISIONING_COMPLETED && ok "object PROVISIONING_COMPLETED" || bad "object state"
"$AG" --dir "$ST" services --json 2>/dev/null | grep -q '"identifier": 101' && ok "service descriptor present" ||
  bad "service descriptor"
echo "data" >"$T/data.bin"
"$CLI" -p "sim:$SE" get cert 83000102 "$T/cert.pem" >/dev/null 2>&1
openssl x509 -in "$T/cert.pem" -pubkey -noout >"$T/pub.pem" 2>/dev/null
"$CLI" -p "sim:$SE" sign 83000101 "$T/data.bin" "$T/sig" >/dev/null 2>&1
if openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig" "$T/data.bin" >/dev/null 2>&1; then
  ok "key and certificate belong together"
else
  bad "key and certificate do not match"
fi
out=$(S session -- "$AG" --dir "$ST" --se "sim:$SE" session --stdio 2>&1)
grep -q "rtp 0x02, csp 0x02" <<<"$out" && ok "next run: nothing to change" || bad "next run: $out"
if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all el2go-server interruption checks passed"
