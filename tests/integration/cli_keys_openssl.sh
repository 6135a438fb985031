#!/usr/bin/env bash
# Integration test of the se05x CLI key and crypto commands against the plain
# openssl CLI, on the se05x-sim daemon (JRCP) and on --host-store (software
# keys): ECDSA P-256/384/521 and Ed25519 and RSA PKCS#1/PSS signatures verify
# with openssl, ECDH equals `openssl pkeyutl -derive`, PKCS#1 and OAEP
# decrypt `openssl pkeyutl -encrypt` output, set/get of keys and certs round
# trip (DER compared), refpem files parse with openssl; bad input (missing
# objects, wrong key types, policy denials, malformed PEM, bad ids, oversized
# data, existing objects without --force) gives a clear message, a non-zero
# exit code and leaves the store unchanged; UserID, AESKey and ECKey sessions
# reach objects whose policy names their auth object. Env: BUILD_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup cli_keys
# case-insensitive here, unlike the shared has()
has() { # has FILE PATTERN DESCRIPTION
    if grep -qiE -- "$2" "$1"; then ok "$3"; else bad "$3 (no /$2/ in $(basename "$1"))"; sed 's/^/     /' "$1"; fi
}
check() { # check DESCRIPTION COMMAND... (exit 0 wanted; output kept in $T/chk)
    local d=$1; shift
    if "$@" >"$T/chk" 2>&1; then ok "$d"; else bad "$d"; sed 's/^/     /' "$T/chk"; fi
}

# ---- host-side material made by openssl ------------------------------------
head -c 3000 /dev/urandom >"$T/msg"
head -c 200 /dev/urandom >"$T/msg2"
head -c 100 /dev/urandom >"$T/plain"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ext_p256.pem" 2>/dev/null
openssl pkey -in "$T/ext_p256.pem" -pubout -out "$T/ext_p256_pub.pem"
openssl pkey -in "$T/ext_p256.pem" -pubout -outform DER -out "$T/ext_p256_pub.der"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$T/peer_p384.pem" 2>/dev/null
openssl pkey -in "$T/peer_p384.pem" -pubout -out "$T/peer_p384_pub.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/ext_rsa.pem" 2>/dev/null
openssl pkey -in "$T/ext_rsa.pem" -pubout -outform DER -out "$T/ext_rsa_pub.der"
openssl req -x509 -new -key "$T/ext_p256.pem" -subj /CN=se05x-test -days 2 -out "$T/cert.pem" 2>/dev/null
openssl x509 -in "$T/cert.pem" -outform DER -out "$T/cert.der"
printf -- '-----BEGIN PRIVATE KEY-----\nnot base64 at all!!\n-----END PRIVATE KEY-----\n' >"$T/bad.pem"
head -c 600 "$T/ext_rsa.pem" >"$T/trunc.pem"
head -c 200000 /dev/urandom >"$T/big"

# ---- signatures, ECDH, RSA decryption against openssl ---------------------
crypto_suite() { # crypto_suite TAG CLI-ARGS...
    local tag=$1; shift
    local C=("$CLI" "$@") id curve hash
    while read -r id curve hash; do
        expect_rc 0 "$tag: gen ec $curve" "${C[@]}" gen ec "$id" --curve "$curve"
        has "$T/out" "BEGIN PUBLIC KEY" "$tag: gen prints the public key"
        expect_rc 0 "$tag: get pub $curve" "${C[@]}" get pub "$id" "$T/pub_$id.pem"
        expect_rc 0 "$tag: sign $curve $hash" "${C[@]}" sign "$id" "$T/msg" "$T/sig_$id" --hash "$hash"
        check "$tag: openssl verifies ECDSA $curve/$hash" \
            openssl dgst "-$hash" -verify "$T/pub_$id.pem" -signature "$T/sig_$id" "$T/msg"
        expect_rc 0 "$tag: CLI verifies its $curve signature" "${C[@]}" verify "$id" "$T/msg" "$T/sig_$id" --hash "$hash"
        expect_rc 1 "$tag: $curve signature of another message" "${C[@]}" verify "$id" "$T/msg2" "$T/sig_$id" --hash "$hash"
        has "$T/err" "invalid" "$tag: invalid signature reported"
    done <<EOF
EF000101 P-256 sha256
EF000102 P-384 sha384
EF000103 P-521 sha512
EOF
    # JSON output of gen
    expect_rc 0 "$tag: gen ec --json" "${C[@]}" gen ec EF000109 --json
    if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["id"]=="0xEF000109" and "BEGIN PUBLIC KEY" in d["public_key"]' "$T/out"; then
        ok "$tag: gen --json is JSON with id and public key"; else bad "$tag: gen --json"; cat "$T/out"; fi

    # Ed25519 signs the message itself
    expect_rc 0 "$tag: gen ed25519" "${C[@]}" gen ed25519 EF000104
    expect_rc 0 "$tag: get pub ed25519" "${C[@]}" get pub EF000104 "$T/pub_ed.pem"
    expect_rc 0 "$tag: sign ed25519" "${C[@]}" sign EF000104 "$T/msg2" "$T/sig_ed"
    check "$tag: openssl verifies Ed25519" openssl pkeyutl -verify -pubin -inkey "$T/pub_ed.pem" \
        -rawin -in "$T/msg2" -sigfile "$T/sig_ed"
    expect_rc 0 "$tag: CLI verifies Ed25519" "${C[@]}" verify EF000104 "$T/msg2" "$T/sig_ed"

    # RSA PKCS#1 v1.5 and PSS
    expect_rc 0 "$tag: gen rsa 2048" "${C[@]}" gen rsa EF000105 --bits 2048
    expect_rc 0 "$tag: get pub rsa" "${C[@]}" get pub EF000105 "$T/pub_rsa.pem"
    expect_rc 0 "$tag: sign rsa pkcs1" "${C[@]}" sign EF000105 "$T/msg" "$T/sig_rsa"
    check "$tag: openssl verifies RSA PKCS#1" openssl dgst -sha256 -verify "$T/pub_rsa.pem" \
        -signature "$T/sig_rsa" "$T/msg"
    expect_rc 0 "$tag: sign rsa pss sha384" "${C[@]}" sign EF000105 "$T/msg" "$T/sig_pss" --pss --hash sha384
    check "$tag: openssl verifies RSA PSS (salt = hash length)" openssl dgst -sha384 \
        -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 -verify "$T/pub_rsa.pem" \
        -signature "$T/sig_pss" "$T/msg"
    expect_rc 0 "$tag: sign rsa pss --salt 20" "${C[@]}" sign EF000105 "$T/msg" "$T/sig_pss20" --pss --salt 20
    check "$tag: openssl verifies RSA PSS salt 20" openssl dgst -sha256 \
        -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 -verify "$T/pub_rsa.pem" \
        -signature "$T/sig_pss20" "$T/msg"
    expect_rc 0 "$tag: CLI verifies PSS" "${C[@]}" verify EF000105 "$T/msg" "$T/sig_pss" --pss --hash sha384
    expect_rc 1 "$tag: PKCS#1 signature checked as PSS" "${C[@]}" verify EF000105 "$T/msg" "$T/sig_rsa" --pss

    # RSA decryption of openssl output
    openssl pkeyutl -encrypt -pubin -inkey "$T/pub_rsa.pem" -in "$T/plain" -out "$T/ct1"
    expect_rc 0 "$tag: decrypt PKCS#1" "${C[@]}" decrypt EF000105 "$T/ct1" "$T/dec1"
    same "$T/dec1" "$T/plain" "$tag: PKCS#1 decrypt round trip"
    openssl pkeyutl -encrypt -pubin -inkey "$T/pub_rsa.pem" -pkeyopt rsa_padding_mode:oaep \
        -in "$T/plain" -out "$T/ct2"
    expect_rc 0 "$tag: decrypt OAEP" "${C[@]}" decrypt EF000105 "$T/ct2" "$T/dec2" --oaep
    same "$T/dec2" "$T/plain" "$tag: OAEP decrypt round trip"
    expect_rc 0 "$tag: encrypt OAEP" "${C[@]}" encrypt EF000105 "$T/plain" "$T/ct3" --oaep
    expect_rc 0 "$tag: decrypt own OAEP" "${C[@]}" decrypt EF000105 "$T/ct3" "$T/dec3" --oaep
    same "$T/dec3" "$T/plain" "$tag: CLI encrypt/decrypt round trip"

    # ECDH equals openssl pkeyutl -derive
    expect_rc 0 "$tag: derive P-384" "${C[@]}" derive EF000102 "$T/peer_p384_pub.pem" "$T/secret"
    openssl pkeyutl -derive -inkey "$T/peer_p384.pem" -peerkey "$T/pub_EF000102.pem" -out "$T/secret_exp"
    same "$T/secret" "$T/secret_exp" "$tag: ECDH secret equals openssl's"

    # imported keys: openssl signs, CLI verifies, and the other way round
    expect_rc 0 "$tag: set key P-256 (PEM)" "${C[@]}" set key EF000110 "$T/ext_p256.pem"
    expect_rc 0 "$tag: get pub of imported key (DER)" "${C[@]}" get pub EF000110 "$T/imp.der" --der
    same "$T/imp.der" "$T/ext_p256_pub.der" "$tag: imported key's public key round trips"
    openssl dgst -sha256 -sign "$T/ext_p256.pem" -out "$T/sig_ext" "$T/msg"
    expect_rc 0 "$tag: CLI verifies an openssl signature" "${C[@]}" verify EF000110 "$T/msg" "$T/sig_ext"
    expect_rc 0 "$tag: set key RSA" "${C[@]}" set key EF000111 "$T/ext_rsa.pem"
    expect_rc 0 "$tag: encrypt PKCS#1 with the imported RSA key" "${C[@]}" encrypt EF000111 "$T/plain" "$T/ct4"
    openssl pkeyutl -decrypt -inkey "$T/ext_rsa.pem" -in "$T/ct4" -out "$T/dec4"
    same "$T/dec4" "$T/plain" "$tag: openssl decrypts the CLI's PKCS#1 output"
    expect_rc 0 "$tag: set pub (DER)" "${C[@]}" set pub EF000112 "$T/ext_rsa_pub.der"
    expect_rc 0 "$tag: get pub --der" "${C[@]}" get pub EF000112 "$T/rsa_pub_back.der" --der
    same "$T/rsa_pub_back.der" "$T/ext_rsa_pub.der" "$tag: public key set/get round trip"
    expect_rc 0 "$tag: set cert (PEM)" "${C[@]}" set cert EF000113 "$T/cert.pem"
    expect_rc 0 "$tag: get cert --der" "${C[@]}" get cert EF000113 "$T/cert_back.der" --der
    same "$T/cert_back.der" "$T/cert.der" "$tag: certificate set/get round trip"
    expect_rc 0 "$tag: get cert (PEM)" "${C[@]}" get cert EF000113 "$T/cert_back.pem"
    check "$tag: openssl reads the PEM certificate" openssl x509 -in "$T/cert_back.pem" -noout -subject
    has "$T/chk" "se05x-test" "$tag: certificate subject intact"
    expect_rc 0 "$tag: set cert (DER)" "${C[@]}" set cert EF000114 "$T/cert.der"

    # reference keys
    expect_rc 0 "$tag: refpem" "${C[@]}" refpem EF000101 "$T/ref.pem"
    has "$T/ref.pem" "BEGIN SE05X KEY REFERENCE" "$tag: refpem label"
    check "$tag: openssl asn1parse reads refpem" openssl asn1parse -in "$T/ref.pem"
    has "$T/chk" "se05x:0xEF000101" "$tag: refpem holds the key URI"
    expect_rc 0 "$tag: refpem --nxp (EC)" "${C[@]}" refpem EF000101 "$T/ref_nxp.pem" --nxp
    check "$tag: openssl pkey reads the NXP EC reference" openssl pkey -in "$T/ref_nxp.pem" -pubout -out "$T/ref_nxp_pub.pem"
    same "$T/ref_nxp_pub.pem" "$T/pub_EF000101.pem" "$tag: NXP EC reference holds the real public key"
    check "$tag: NXP EC reference private value" openssl pkey -in "$T/ref_nxp.pem" -noout -text
    tr -d ' \n:' <"$T/chk" >"$T/chk_flat"
    has "$T/chk_flat" "priv10(00)+ef000101a5a6b5b6a5a6b5b61000pub" "$tag: magic number and key id in the private value"
    expect_rc 0 "$tag: refpem --nxp (RSA)" "${C[@]}" refpem EF000105 "$T/ref_rsa.pem" --nxp
    check "$tag: openssl pkey reads the NXP RSA reference" openssl pkey -in "$T/ref_rsa.pem" -pubout -out "$T/ref_rsa_pub.pem"
    same "$T/ref_rsa_pub.pem" "$T/pub_rsa.pem" "$tag: NXP RSA reference holds the real modulus"
    expect_rc 0 "$tag: rand 32" "${C[@]}" rand 32
    [[ "$(cat "$T/out")" =~ ^[0-9A-F]{64}$ ]] && ok "$tag: rand prints 32 bytes of hex" || bad "$tag: rand output '$(cat "$T/out")'"
    expect_rc 0 "$tag: rand --out" "${C[@]}" rand 600 --out "$T/rnd"
    [ "$(stat -c %s "$T/rnd")" = 600 ] && ok "$tag: rand --out writes 600 bytes" || bad "$tag: rand --out size"
}

# ---- bad input: clear message, non-zero exit, store unchanged --------------
bad_input_suite() { # bad_input_suite TAG CLI-ARGS...
    local tag=$1; shift
    local C=("$CLI" "$@")
    expect_rc 0 "$tag: list before" "${C[@]}" list
    cp "$T/out" "$T/list_before"
    cp "$T/pub_EF000101.pem" "$T/pub_keep.pem"

    expect_rc 1 "$tag: sign with a missing object" "${C[@]}" sign EF0001FF "$T/msg" "$T/x"
    has "$T/err" "0xEF0001FF" "$tag: missing object named"
    expect_rc 1 "$tag: get pub of a missing object" "${C[@]}" get pub EF0001FF "$T/x"
    expect_rc 1 "$tag: get cert of a missing object" "${C[@]}" get cert EF0001FE "$T/x"
    expect_rc 0 "$tag: gen aes" "${C[@]}" gen aes EF000130 --bits 128
    expect_rc 1 "$tag: sign with an AES key" "${C[@]}" sign EF000130 "$T/msg" "$T/x"
    has "$T/err" "wrong key type" "$tag: wrong key type explained (sign)"
    expect_rc 1 "$tag: decrypt with an EC key" "${C[@]}" decrypt EF000101 "$T/ct1" "$T/x"
    has "$T/err" "wrong key type" "$tag: wrong key type explained (decrypt)"
    expect_rc 1 "$tag: derive with an RSA key" "${C[@]}" derive EF000105 "$T/peer_p384_pub.pem" "$T/x"
    expect_rc 1 "$tag: --pss with an EC key" "${C[@]}" sign EF000101 "$T/msg" "$T/x" --pss
    expect_rc 1 "$tag: derive with a malformed peer key" "${C[@]}" derive EF000101 "$T/bad.pem" "$T/x"
    expect_rc 1 "$tag: set key from malformed PEM" "${C[@]}" set key EF000131 "$T/bad.pem"
    has "$T/err" "not a valid" "$tag: malformed PEM explained"
    expect_rc 1 "$tag: set key from truncated PEM" "${C[@]}" set key EF000131 "$T/trunc.pem"
    expect_rc 1 "$tag: set cert from a key file" "${C[@]}" set cert EF000131 "$T/msg2"
    expect_rc 1 "$tag: set pub from a missing file" "${C[@]}" set pub EF000131 "$T/nosuch.pem"
    expect_rc 2 "$tag: id not hex" "${C[@]}" gen ec EF00XX01
    has "$T/err" "invalid object id" "$tag: bad id explained"
    expect_rc 2 "$tag: id over 32 bits" "${C[@]}" gen ec 0x1EF000101
    expect_rc 2 "$tag: reserved id" "${C[@]}" gen ec 0x7FFF0201
    has "$T/err" "reserved" "$tag: reserved id explained"
    expect_rc 2 "$tag: erase of a reserved id" "${C[@]}" erase 0x7FFF0206
    expect_rc 2 "$tag: set at a reserved id" "${C[@]}" set cert 7FFF0210 "$T/cert.pem"
    expect_rc 1 "$tag: oversized certificate file" "${C[@]}" set cert EF000131 "$T/big"
    has "$T/err" "too large" "$tag: oversized file explained"
    expect_rc 1 "$tag: oversized RSA plaintext" "${C[@]}" encrypt EF000105 "$T/msg" "$T/x"
    expect_rc 1 "$tag: oversized Ed25519 message" "${C[@]}" sign EF000104 "$T/big" "$T/x"
    expect_rc 2 "$tag: rand too many bytes" "${C[@]}" rand 1000000
    expect_rc 1 "$tag: gen over an existing key" "${C[@]}" gen ec EF000101
    has "$T/err" "exists.*--force" "$tag: existing object explained"
    expect_rc 1 "$tag: set over an existing key" "${C[@]}" set key EF000101 "$T/ext_p256.pem"
    expect_rc 0 "$tag: the key is unchanged" "${C[@]}" get pub EF000101 "$T/pub_after.pem"
    same "$T/pub_after.pem" "$T/pub_keep.pem" "$tag: existing key kept without --force"
    expect_rc 0 "$tag: list after bad input" "${C[@]}" list
    # only the AES key generated above is new
    grep -v "^0xEF000130 " "$T/out" >"$T/list_after"
    same "$T/list_after" "$T/list_before" "$tag: store unchanged by the refused commands"

    expect_rc 0 "$tag: gen --force replaces" "${C[@]}" gen ec EF000101 --force
    expect_rc 0 "$tag: get the new key" "${C[@]}" get pub EF000101 "$T/pub_new.pem"
    if cmp -s "$T/pub_new.pem" "$T/pub_keep.pem"; then bad "$tag: --force kept the old key"; else ok "$tag: --force replaced the key"; fi
    expect_rc 0 "$tag: erase" "${C[@]}" erase EF000130
    expect_rc 1 "$tag: erase again" "${C[@]}" erase EF000130
}

policy_suite() { # policy_suite TAG CLI-ARGS... (SE only)
    local tag=$1; shift
    local C=("$CLI" "$@")
    expect_rc 0 "$tag: gen with --policy verify" "${C[@]}" gen ec EF000140 --policy verify
    expect_rc 1 "$tag: sign denied by policy" "${C[@]}" sign EF000140 "$T/msg" "$T/x"
    has "$T/err" "denied" "$tag: policy denial explained"
    [ -e "$T/x" ] && [ -s "$T/x" ] && bad "$tag: denied sign wrote a signature" || ok "$tag: no signature written"
    expect_rc 0 "$tag: gen with --policy sign,verify,read" "${C[@]}" gen ec EF000141 --policy "sign,verify,read"
    expect_rc 0 "$tag: sign allowed by policy" "${C[@]}" sign EF000141 "$T/msg" "$T/x"
    expect_rc 0 "$tag: gen with per-auth-id policy" "${C[@]}" gen ec EF000142 --policy "0x7DA00001:sign;0:read,verify"
    expect_rc 1 "$tag: sign without that session denied" "${C[@]}" sign EF000142 "$T/msg" "$T/x"
    has "$T/err" "denied" "$tag: per-auth-id denial explained"
    expect_rc 2 "$tag: unknown access rule" "${C[@]}" gen ec EF000143 --policy "sign,fly"
    has "$T/err" "fly" "$tag: bad access rule named"
    expect_rc 0 "$tag: list" "${C[@]}" list
    grep -q "^0xEF000143 " "$T/out" && bad "$tag: refused gen created an object" || ok "$tag: refused gen created nothing"
}

# ---- the simulator over JRCP ----------------------------------------------
rm -f "$T/x"
sim_launch 0 "$T/card" # SE05X_PORT stays as it was: every command names --port
J=$SIM_ADDR

expect_rc 0 "sim: info --json" "$CLI" --port "$J" info --json
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["applet_version"].count(".")==2 and len(d["uid"])==36' "$T/out"; then
    ok "sim: info --json is JSON with version and UID"; else bad "sim: info --json"; cat "$T/out"; fi
crypto_suite sim --port "$J"
bad_input_suite sim --port "$J"
rm -f "$T/x"
policy_suite sim --port "$J"
# sessions: UserID and AESKey auth objects made with raw WriteUserID / WriteSymmKey
expect_rc 0 "sim: raw WriteUserID 0x7DA00001" "$CLI" --port "$J" apdu 804107000D 41047DA00001 4205C001020304
expect_rc 0 "sim: raw WriteSymmKey AESKey 0x7DA00002" "$CLI" --port "$J" \
    apdu 8041030018 41047DA00002 4310000102030405060708090A0B0C0D0E0F
echo "C001020304" >"$T/userid.hex"
U=(--auth userid --auth-id 0x7DA00001 --auth-secret "@$T/userid.hex")
A=(--auth aeskey --auth-id 7DA00002 --auth-secret 000102030405060708090A0B0C0D0E0F)
expect_rc 0 "sim: gen for UserID 0x7DA00001 only" "$CLI" --port "$J" gen ec EF000150 --policy "0x7DA00001:sign,read"
expect_rc 1 "sim: sign without the session denied" "$CLI" --port "$J" sign EF000150 "$T/msg" "$T/x"
has "$T/err" "denied" "sim: sessionless sign denied"
expect_rc 0 "sim: sign in a UserID session" "$CLI" --port "$J" "${U[@]}" sign EF000150 "$T/msg" "$T/sig_u"
expect_rc 0 "sim: get pub in a UserID session" "$CLI" --port "$J" "${U[@]}" get pub EF000150 "$T/pub_u.pem"
check "sim: openssl verifies the UserID-session signature" openssl dgst -sha256 -verify "$T/pub_u.pem" \
    -signature "$T/sig_u" "$T/msg"
expect_rc 0 "sim: list in an AESKey session" "$CLI" --port "$J" "${A[@]}" list
has "$T/out" "^0xEF000150 " "sim: AESKey session lists objects"
expect_rc 3 "sim: wrong UserID" "$CLI" --port "$J" --auth userid --auth-id 0x7DA00001 --auth-secret C0010203FF list
expect_rc 3 "sim: wrong AES key" "$CLI" --port "$J" --auth aeskey --auth-id 0x7DA00002 --auth-secret 000102030405060708090A0B0C0D0EFF list
expect_rc 2 "sim: AES key of the wrong length" "$CLI" --port "$J" --auth aeskey --auth-id 0x7DA00002 --auth-secret 0001 list
# ECKey session with the simulator's EdgeLock 2GO auth object 0xF0000020
# (its private half is DIR/el2go-auth-key.pem)
E=(--auth eckey --auth-id 0xF0000020 --auth-key "$T/card/el2go-auth-key.pem")
expect_rc 0 "sim: gen for ECKey 0xF0000020 only" "$CLI" --port "$J" "${E[@]}" gen ec EF000151 --policy "0xF0000020:sign,read"
expect_rc 0 "sim: sign in an ECKey session" "$CLI" --port "$J" "${E[@]}" sign EF000151 "$T/msg" "$T/sig_e"
expect_rc 1 "sim: the ECKey-only key outside the session" "$CLI" --port "$J" sign EF000151 "$T/msg" "$T/x"
expect_rc 3 "sim: ECKey with the wrong host key" "$CLI" --port "$J" --auth eckey --auth-id 0xF0000020 --auth-key "$T/ext_p256.pem" list
has "$T/err" "0xF0000020" "sim: failed ECKey session names the auth object"
expect_rc 2 "sim: --auth eckey without --auth-key" "$CLI" --port "$J" --auth eckey --auth-id 0xF0000020 list
expect_rc 2 "sim: --auth userid without --auth-id" "$CLI" --port "$J" --auth userid list
expect_rc 2 "sim: unknown --auth" "$CLI" --port "$J" --auth magic list
expect_rc 2 "sim: --host-store with --port" "$CLI" --port "$J" --host-store "$T/hs" list

sim_stop TERM

# ---- the same on software keys (--host-store) ----------------------------
rm -f "$T"/pub_* "$T"/sig_* "$T/x"
crypto_suite host --host-store "$T/hs"
bad_input_suite host --host-store "$T/hs"
expect_rc 2 "host: --auth needs an SE" "$CLI" --host-store "$T/hs" --auth userid --auth-id 1 --auth-secret 01 list
expect_rc 1 "host: uid needs a chip" "$CLI" --host-store "$T/hs" uid

echo "$fails failure(s)"
[ $fails -eq 0 ]
