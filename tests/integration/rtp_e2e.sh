#!/usr/bin/env bash
# Integration test of offline remote trust provisioning (issue 8) with the
# real programs: rtp-make builds the JSON from openssl-made material for the
# UID of a se05x-sim daemon, rtp-server pushes it through rtp-client into
# the simulator. Checks: EC key + certificate + binary + RSA key
# provisioned, the EC key signs (se05x sign) and openssl verifies against
# the certificate, RSA signature verifies with openssl; a second run deletes
# and rewrites; PROVISIONING_COMPLETED / GENERATION_FAILED items skipped; a
# device with no provisionings and an unknown device get DONE and nothing;
# a malformed JSON file and a bad-base64 file are reported and skipped; a
# client that disconnects midway is logged and the next client is served;
# oversized frames are refused; option and exit-code handling of the three
# programs. Ed25519 / X25519 key pairs, public-only objects (Ed25519,
# P-256, RSA) and object policies: the Ed25519 key signs (openssl
# verifies), the X25519 key derives openssl's secret, public keys read back
# equal, a policy without "sign" makes signing fail with SW 6986; wrong PEM
# types and bad policy texts are refused with clear errors. Env: BUILD_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
SIM="$BUILD_DIR/sim/se05x-sim"
CLI="$BUILD_DIR/cli/se05x"
MAKE="$BUILD_DIR/rtp/rtp-make"
SRV="$BUILD_DIR/server/rtp/rtp-server"
CLT="$BUILD_DIR/agent/rtp-client"
mkdir -p "${SE05X_TEST_TMP:-/tmp}"
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/rtp_e2e.XXXXXX")
PIDS=()
fails=0
cleanup() {
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
source "$(dirname "$0")/lib/sim.sh" # assertions, sim_scp03_keys
hasnot() {
    if grep -qE -- "$2" "$1"; then bad "$3 (/$2/ in $(basename "$1"))"; sed 's/^/     /' "$1"; else ok "$3"; fi
}
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
for b in "$SIM" "$CLI" "$MAKE" "$SRV" "$CLT"; do [ -x "$b" ] || { echo "FAIL - $b not built"; exit 1; }; done

# ---- simulator ----------------------------------------------------------------
"$SIM" --dir "$T/state" --port 0 --port-file "$T/simport" 2>"$T/sim.log" &
PIDS+=($!)
wait_file "$T/simport" || { echo "FAIL - simulator did not start"; exit 1; }
export SE05X_PORT="127.0.0.1:$(cat "$T/simport")"
UIDHEX=$("$CLI" uid) || { echo "FAIL - cannot read the UID"; exit 1; }
ok "simulator UID $UIDHEX"

# server: start SERVER_NAME DIR [options] -> sets SPORT
start_server() {
    local name=$1 dir=$2; shift 2
    rm -f "$T/$name.port"
    "$SRV" -d "$dir" -p 0 --port-file "$T/$name.port" "$@" 2>"$T/$name.log" &
    PIDS+=($!)
    wait_file "$T/$name.port" || { bad "rtp-server $name did not start"; cat "$T/$name.log"; exit 1; }
    SPORT=$(cat "$T/$name.port")
}

# ---- material -----------------------------------------------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem" 2>/dev/null
openssl req -x509 -new -key "$T/ec.pem" -subj /CN=rtp-device -days 2 -out "$T/cert.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/ec384.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl pkey -in "$T/rsa.pem" -pubout -out "$T/rsa_pub.pem"
head -c 100 /dev/urandom >"$T/bin1"
head -c 100 /dev/urandom >"$T/bin2"
echo "message to sign" >"$T/msg"
mkdir -p "$T/files" "$T/empty" "$T/unknown" "$T/bad"

# ---- rtp-make -----------------------------------------------------------------
expect_rc 0 "rtp-make --help" "$MAKE" --help
has "$T/out" "--ec-key" "rtp-make help lists --ec-key"
expect_rc 2 "rtp-make without -o" "$MAKE" --uid "$UIDHEX"
expect_rc 2 "rtp-make with a bad UID" "$MAKE" -o "$T/x.json" --uid 0102
has "$T/err" "18 hex bytes" "bad UID explained"
expect_rc 2 "rtp-make item before device" "$MAKE" -o "$T/x.json" --binary "$T/bin1:83000003"
expect_rc 1 "rtp-make with a non-key PEM" "$MAKE" -o "$T/x.json" --uid "$UIDHEX" --ec-key "$T/cert.pem:1"
has "$T/err" "PEM 'CERTIFICATE' is not usable; expected a private key" "non-key PEM explained"
expect_rc 1 "rtp-make EC file as RSA key" "$MAKE" -o "$T/x.json" --uid "$UIDHEX" --rsa-key "$T/ec.pem:1"
expect_rc 2 "rtp-make bad object id" "$MAKE" -o "$T/x.json" --uid "$UIDHEX" --binary "$T/bin1:zz"
expect_rc 0 "rtp-make builds the device file" "$MAKE" -o "$T/files/device.json" --uid "$UIDHEX" \
    --ec-key "$T/ec.pem:83000001" --cert "$T/cert.pem:83000002" --binary "$T/bin1:83000003" \
    --rsa-key "$T/rsa.pem:83000004" --ec-key "$T/ec384.pem:83000007" \
    --state PROVISIONING_COMPLETED --binary "$T/bin1:83000005" \
    --state GENERATION_FAILED --binary "$T/bin1:83000006"
has "$T/files/device.json" '"createApdu"' "JSON has createApdu"
has "$T/files/device.json" '"algorithm":"NIST_P384"' "JSON names the curve"

# ---- provisioning -----------------------------------------------------------------
start_server main "$T/files"
expect_rc 0 "rtp-client provisions everything" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"
has "$T/out" "^provisioned: 0x83000001, 0x83000002, 0x83000003, 0x83000004, 0x83000007$" "provisioned list printed"
has "$T/out" "^failed: -$" "failed list empty"
sleep 0.2
has "$T/main.log" "provisioned 5 .*failed 0 .*skipped 2; DONE" "server logs one result line"
has "$T/main.log" "GENERATION_FAILED: skipped" "GENERATION_FAILED warned"
hasnot "$T/main.log" "state PROVISIONING_COMPLETED" "PROVISIONING_COMPLETED skipped silently"
"$CLI" list >"$T/list"
has "$T/list" "0x83000001 +EC key pair \(NIST_P256\)" "EC key on the SE"
has "$T/list" "0x83000004 +RSA key pair" "RSA key on the SE"
has "$T/list" "0x83000007 +EC key pair \(NIST_P384\)" "P-384 key on the SE (curve installed)"
hasnot "$T/list" "0x83000005|0x83000006" "skipped objects absent"
expect_rc 0 "EC key signs" "$CLI" sign 83000001 "$T/msg" "$T/sig" --hash sha256
expect_rc 0 "certificate read back" "$CLI" get cert 83000002 "$T/cert_back.pem"
openssl x509 -in "$T/cert_back.pem" -pubkey -noout >"$T/cert_pub.pem"
expect_rc 0 "openssl verifies the signature against the certificate" \
    openssl dgst -sha256 -verify "$T/cert_pub.pem" -signature "$T/sig" "$T/msg"
expect_rc 0 "RSA key signs" "$CLI" sign 83000004 "$T/msg" "$T/rsig" --hash sha256
expect_rc 0 "openssl verifies the RSA signature" \
    openssl dgst -sha256 -verify "$T/rsa_pub.pem" -signature "$T/rsig" "$T/msg"
expect_rc 0 "P-384 key signs" "$CLI" sign 83000007 "$T/msg" "$T/sig384" --hash sha384
openssl pkey -in "$T/ec384.pem" -pubout -out "$T/ec384_pub.pem"
expect_rc 0 "openssl verifies the P-384 signature" \
    openssl dgst -sha384 -verify "$T/ec384_pub.pem" -signature "$T/sig384" "$T/msg"
readbin() { "$CLI" apdu "80020000000006410483000003 0000" | head -1 | tr 'A-F' 'a-f'; }
[ "$(readbin)" = "4164$(xxd -p "$T/bin1" | tr -d '\n')" ] && ok "binary object content" || bad "binary object content"

# ---- second run: present objects deleted and rewritten; bad files skipped -----
expect_rc 0 "rtp-make new binary content" "$MAKE" -o "$T/files/device.json" --uid "$UIDHEX" \
    --ec-key "$T/ec.pem:83000001" --binary "$T/bin2:83000003"
printf '[{"deviceId": "%s", ' "x" >"$T/files/a-malformed.json"
sed 's/"apdu":"[^"]*"/"apdu":"gA*="/' "$T/files/device.json" >"$T/files/b-badb64.json"
kill "${PIDS[-1]}" 2>/dev/null
start_server main2 "$T/files"
expect_rc 0 "second provisioning" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"
has "$T/out" "^provisioned: 0x83000001, 0x83000003$" "rewritten objects provisioned"
[ "$(readbin)" = "4164$(xxd -p "$T/bin2" | tr -d '\n')" ] && ok "binary object rewritten" || bad "binary object rewritten"
sleep 0.2
has "$T/main2.log" "a-malformed.json: malformed JSON" "malformed JSON reported with the file name"
has "$T/main2.log" "b-badb64.json: .*not valid base64" "bad base64 reported with the file name"

# ---- disconnecting / oversized clients; the server goes on -------------------------
rm -f "$T/files/a-malformed.json" "$T/files/b-badb64.json"
exec 3<>"/dev/tcp/127.0.0.1/$SPORT" && head -c 4 <&3 >/dev/null; exec 3>&- 3<&-
sleep 0.3
has "$T/main2.log" "ABORTED \(after START: peer closed" "client closing midway logged"
exec 3<>"/dev/tcp/127.0.0.1/$SPORT" && head -c 4 <&3 >/dev/null
printf '\x00\x00\x00\x00' >&3 && head -c 19 <&3 >/dev/null && printf '\x81\x00\xff\xff' >&3
exec 3>&- 3<&-
sleep 0.3
has "$T/main2.log" "more than the 8192-byte buffer" "oversized response frame refused"
expect_rc 0 "next client served normally" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"

# ---- a failed object: exit 1 (the reserved UID object cannot be deleted) ----------
"$MAKE" -o "$T/bad/f.json" --uid "$UIDHEX" --binary "$T/bin1:7FFF0206" --binary "$T/bin1:83000008" \
    >/dev/null 2>&1
start_server failed "$T/bad"
expect_rc 1 "rtp-client exits 1 when an object failed" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"
has "$T/out" "^failed: 0x7FFF0206$" "failed list printed"
has "$T/out" "^provisioned: 0x83000008$" "others still provisioned"

# ---- empty and unknown devices, -o ----------------------------------------------------
"$MAKE" -o "$T/empty/dev.json" --uid "$UIDHEX" >/dev/null
start_server empty "$T/empty"
expect_rc 0 "device with no provisionings" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"
has "$T/out" "done: 4 APDU" "only the 4 reads, then DONE"
"$MAKE" -o "$T/unknown/other.json" --device-id 42 --binary "$T/bin1:83000009" >/dev/null
start_server unknown "$T/unknown"
expect_rc 0 "unknown device" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"
has "$T/out" "^provisioned: -$" "nothing provisioned for an unknown device"
sleep 0.2
has "$T/unknown.log" "unknown device" "unknown device logged"
"$MAKE" -o "$T/unknown/x.json" --uid "$UIDHEX" --binary "$T/bin1:8300000A" >/dev/null
start_server opt "$T/unknown" -o
expect_rc 0 "-o skips files without the device id in the name" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"
has "$T/out" "^provisioned: -$" "-o: x.json ignored"

# ---- Ed25519 / X25519, public-only objects, policies ------------------------------
openssl genpkey -algorithm ED25519 -out "$T/ed.pem" 2>/dev/null
openssl pkey -in "$T/ed.pem" -pubout -out "$T/ed_pub.pem"
openssl genpkey -algorithm X25519 -out "$T/x.pem" 2>/dev/null
openssl pkey -in "$T/x.pem" -pubout -out "$T/x_pub.pem"
openssl genpkey -algorithm X25519 -out "$T/peer.pem" 2>/dev/null
openssl pkey -in "$T/peer.pem" -pubout -out "$T/peer_pub.pem"
openssl genpkey -algorithm ED25519 -out "$T/ed2.pem" 2>/dev/null
openssl pkey -in "$T/ed2.pem" -pubout -out "$T/ed2_pub.pem"
openssl pkey -in "$T/ec.pem" -pubout -out "$T/ec_pub.pem"
openssl genpkey -algorithm ED448 -out "$T/ed448.pem" 2>/dev/null
mkdir -p "$T/k25519"
# refused RC PATTERN WHAT ITEM...: rtp-make exits RC and stderr explains (PATTERN)
refused() {
    local rc=$1 pat=$2 what=$3; shift 3
    expect_rc "$rc" "rtp-make refuses $what" "$MAKE" -o "$T/x.json" --uid "$UIDHEX" "$@"
    has "$T/err" "$pat" "$what explained"
}
refused 1 "holds a private key; expected a public key" "a private key for --ec-pub" --ec-pub "$T/ed.pem:1"
refused 1 "holds a public key; expected a private key" "a public key for --ec-key" --ec-key "$T/ed_pub.pem:1"
refused 1 "PEM 'CERTIFICATE' is not usable; expected a public key" "a certificate for --rsa-pub" \
    --rsa-pub "$T/cert.pem:1"
refused 1 "not an EC .* key" "an RSA key for --ec-pub" --ec-pub "$T/rsa_pub.pem:1"
refused 1 "not an RSA key" "an Ed25519 key for --rsa-key" --rsa-key "$T/ed.pem:1"
refused 1 "key type ED448 not supported" "an Ed448 key" --ec-key "$T/ed448.pem:1"
refused 2 "--policy 'sign,fly': .*fly" "an unknown policy rule" --policy sign,fly --ec-key "$T/ed.pem:1"
refused 2 "invalid auth object id 'zz'" "a bad policy auth id" --policy "zz:sign" --ec-key "$T/ed.pem:1"
refused 2 "no access rules given" "an empty policy" --policy "" --ec-key "$T/ed.pem:1"
[ ! -e "$T/x.json" ] && ok "no output file after errors" || bad "no output file after errors"
expect_rc 0 "rtp-make: 25519 keys, public keys, policies" "$MAKE" -o "$T/k25519/dev.json" --uid "$UIDHEX" \
    --ec-key "$T/ed.pem:83000011" --ec-key "$T/x.pem:83000012" \
    --ec-pub "$T/ed2_pub.pem:83000013" --ec-pub "$T/ec_pub.pem:83000014" \
    --rsa-pub "$T/rsa_pub.pem:83000015" \
    --policy "verify,read;0x7DA00001:sign" --ec-key "$T/ed2.pem:83000016" \
    --policy read --binary "$T/bin1:83000017" --policy default --ec-key "$T/ec.pem:83000018"
has "$T/k25519/dev.json" '"algorithm":"ED_25519"' "JSON: Ed25519 algorithm"
has "$T/k25519/dev.json" '"algorithm":"MONT_DH_25519"' "JSON: X25519 algorithm"
has "$T/k25519/dev.json" '"type":"STATIC_PUBLIC_KEY"' "JSON: public-key object type"
start_server k25519 "$T/k25519"
expect_rc 0 "rtp-client provisions 25519 / public / policy objects" "$CLT" --se "$SE05X_PORT" 127.0.0.1 "$SPORT"
has "$T/out" "^provisioned: 0x83000011, 0x83000012, 0x83000013, 0x83000014, 0x83000015, 0x83000016, 0x83000017, 0x83000018$" "all eight provisioned"
"$CLI" list >"$T/list"
has "$T/list" "0x83000011 +EC key pair \(ED_25519\)" "Ed25519 key pair on the SE"
has "$T/list" "0x83000012 +EC key pair \(MONT_DH_25519\)" "X25519 key pair on the SE (curve installed)"
has "$T/list" "0x83000013 +EC public key \(ED_25519\)" "Ed25519 public key object"
has "$T/list" "0x83000014 +EC public key \(NIST_P256\)" "P-256 public key object"
has "$T/list" "0x83000015 +RSA public key" "RSA public key object"
expect_rc 0 "Ed25519 key signs" "$CLI" sign 83000011 "$T/msg" "$T/edsig"
expect_rc 0 "openssl verifies the Ed25519 signature" \
    openssl pkeyutl -verify -pubin -inkey "$T/ed_pub.pem" -rawin -in "$T/msg" -sigfile "$T/edsig"
expect_rc 0 "X25519 key derives" "$CLI" derive 83000012 "$T/peer_pub.pem" "$T/secret_se"
openssl pkeyutl -derive -inkey "$T/peer.pem" -peerkey "$T/x_pub.pem" -out "$T/secret_ossl"
same "$T/secret_se" "$T/secret_ossl" "X25519 secret equals openssl's"
for p in 83000013:ed2_pub 83000014:ec_pub 83000015:rsa_pub 83000011:ed_pub 83000012:x_pub; do
    "$CLI" get pub "${p%%:*}" "$T/back.pem" 2>"$T/err"
    same "$T/back.pem" "$T/${p#*:}.pem" "public key ${p%%:*} reads back equal"
done
openssl pkeyutl -sign -inkey "$T/ed2.pem" -rawin -in "$T/msg" -out "$T/ed2sig"
expect_rc 0 "Ed25519 public-only object verifies" "$CLI" verify 83000013 "$T/msg" "$T/ed2sig"
expect_rc 1 "policy without sign: signing refused" "$CLI" sign 83000016 "$T/msg" "$T/nosig"
has "$T/err" "denied by the object's policy.*6986" "policy denial (SW 6986) reported"
expect_rc 0 "policy with read: public key readable" "$CLI" get pub 83000016 "$T/back.pem"
same "$T/back.pem" "$T/ed2_pub.pem" "policy-protected key reads back equal"
[ "$("$CLI" apdu "80020000000006410483000017 0000" | head -1 | tr 'A-F' 'a-f')" = \
  "4164$(xxd -p "$T/bin1" | tr -d '\n')" ] && ok "binary with read policy readable" || bad "binary with read policy readable"
expect_rc 0 "--policy default: key signs again" "$CLI" sign 83000018 "$T/msg" "$T/sig18" --hash sha256
expect_rc 0 "openssl verifies it" openssl dgst -sha256 -verify "$T/ec_pub.pem" -signature "$T/sig18" "$T/msg"
kill "${PIDS[-1]}" 2>/dev/null

# ---- options and exit codes ---------------------------------------------------------
# ---- an SE that requires platform SCP03 ---------------------------------------------
KEYS="$T/scp03-keys.txt"
sim_scp03_keys "$KEYS"
"$SIM" --dir "$T/state_scp" --port 0 --port-file "$T/simport_scp" --require-scp --scp03-keys "$KEYS" 2>"$T/sim_scp.log" &
PIDS+=($!)
wait_file "$T/simport_scp" || { echo "FAIL - SCP03 simulator did not start"; exit 1; }
SE_SCP="127.0.0.1:$(cat "$T/simport_scp")"
UID_SCP=$("$CLI" -p "$SE_SCP" --scp03 "$KEYS" uid | tr -d '\r\n' | sed 's/^0x//')
mkdir -p "$T/files_scp"
expect_rc 0 "rtp-make for the SCP03 device" "$MAKE" -o "$T/files_scp/device.json" --uid "$UID_SCP" \
    --ec-key "$T/ec.pem:83000011" --binary "$T/bin2:83000012"
start_server scp "$T/files_scp"
expect_rc 3 "rtp-client without --scp03: the SE refuses the plain commands" "$CLT" --se "$SE_SCP" 127.0.0.1 "$SPORT"
has "$T/out" "^provisioned: -$" "nothing provisioned without SCP03"
has "$T/err" "require platform SCP03; give --scp03" "the error suggests --scp03"
expect_rc 3 "rtp-client with a missing key file" "$CLT" --se "$SE_SCP" --scp03 "$T/nosuch" 127.0.0.1 "$SPORT"
has "$T/err" "platform SCP03" "missing key file: clear error"
start_server scp2 "$T/files_scp"
expect_rc 0 "rtp-client --scp03 provisions inside platform SCP03" "$CLT" --se "$SE_SCP" --scp03 "$KEYS" 127.0.0.1 "$SPORT"
has "$T/out" "^provisioned: 0x83000011, 0x83000012$" "both objects provisioned over SCP03"
expect_rc 0 "the objects are listed over SCP03" "$CLI" -p "$SE_SCP" --scp03 "$KEYS" list
has "$T/out" "0x83000011" "EC key present"
has "$T/out" "0x83000012" "binary present"

expect_rc 0 "rtp-server -h" "$SRV" -h
has "$T/out" "force-curve-install" "server help"
expect_rc 0 "rtp-server -V" "$SRV" -V
has "$T/out" "rtp-server" "server version"
expect_rc 2 "rtp-server bad port" "$SRV" -p 70000
expect_rc 1 "rtp-server missing dir" "$SRV" -d "$T/nope"
expect_rc 0 "rtp-client -h" "$CLT" -h
expect_rc 0 "rtp-client -help" "$CLT" -help
expect_rc 2 "rtp-client too many arguments" "$CLT" a 1 2
expect_rc 2 "rtp-client bad port" "$CLT" 127.0.0.1 0
expect_rc 3 "rtp-client without server" "$CLT" --se "$SE05X_PORT" 127.0.0.1 1
expect_rc 3 "rtp-client without SE" "$CLT" --se 127.0.0.1:1 127.0.0.1 "$SPORT"
has "$T/err" "cannot open the SE" "SE failure explained"

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
