#!/usr/bin/env bash
# Integration test of the se05x OpenSSL provider's session authentication
# and key policies, with the system openssl 3 CLI against the se05x-sim
# daemon over JRCP: UserID, AESKey and ECKey sessions (and UserID inside
# platform SCP03) configured in openssl.cnf or the environment sign with a
# key whose policy admits only those auth objects (signatures verified by
# the default provider alone); wrong secrets and invalid configuration
# values fail with clear errors while the provider still loads; secrets
# never reach the log; genpkey's se05x-policy makes keys whose policy the SE
# enforces, and bad policy text creates nothing. Env: BUILD_DIR, SRC_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup provider_auth

command -v openssl >/dev/null || { echo "SKIP - no openssl CLI"; exit 0; }
it_need "$MOD/se05x.so" "$SIM" "$CLI"
P=(-provider-path "$MOD" -provider default -provider se05x)
G=("${P[@]}" -propquery provider=se05x)
V() { env -u OPENSSL_CONF -u OPENSSL_MODULES openssl "$@"; }

sim_start "$T/card"
J=$SE05X_PORT
cd "$T" || exit 1
printf 'signed in an authenticated SE05x session\n' >msg
V dgst -sha256 -binary msg >dgst

# ---- auth objects in the simulator (raw WriteUserID / WriteSymmKey, as the
# CLI tests do) and the simulator's ECKey auth object 0xF0000020 ---------------
expect_rc 0 "sim: UserID auth object 0x7DA00001" "$CLI" --port "$J" apdu 804107000D 41047DA00001 4205C001020304
expect_rc 0 "sim: AESKey auth object 0x7DA00002" "$CLI" --port "$J" \
    apdu 8041030018 41047DA00002 4310000102030405060708090A0B0C0D0E0F
echo "C0 01 02 03 04" >userid.hex
printf '\xC0\x01\x02\x03\x04' >userid.bin
echo "000102030405060708090A0B0C0D0E0F" >aes.hex
echo "C0010203FF" >wrong.hex
echo "000102030405060708090A0B0C0D0EFF" >wrongaes.hex
cp "$T/card/el2go-auth-key.pem" host-auth.pem
V genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other-host.pem 2>/dev/null
# platform SCP03 with the simulator's default (SE050E development) keys
printf 'ENC D2DB63E7A0A5AED72A6460C4DFDCAF64\nMAC 738D5B798ED241B0B24768514BFBA95B\nDEK 6702DAC30942B2C85E7F47B42CED4E7F\n' >scp03.keys

# mkcnf FILE LINES...: openssl.cnf loading the module with these se05x lines
mkcnf() {
    local f=$1; shift
    { printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'providers = provider_sect' \
        '[provider_sect]' 'default = default_sect' 'se05x = se05x_sect' '[default_sect]' 'activate = 1' \
        '[se05x_sect]' "module = $MOD/se05x.so" 'activate = 1' "se05x_port = $J"
      printf '%s\n' "$@"; } >"$f"
}
mkcnf userid.cnf "auth = userid" "auth_id = 0x7DA00001" "auth_secret_file = $T/userid.hex"
mkcnf aeskey.cnf "auth = aeskey" "auth_id = 7DA00002" "auth_secret_file = $T/aes.hex"
mkcnf eckey.cnf "auth = eckey" "auth_id = 0xF0000020" "auth_eckey = $T/host-auth.pem"
mkcnf scp_userid.cnf "auth = userid" "auth_id = 0x7DA00001" "auth_secret_file = $T/userid.hex" \
    "scp03_keyfile = $T/scp03.keys"
C() { local cnf=$1; shift; OPENSSL_CONF="$T/$cnf" "$@"; }

# ---- a key for those sessions only, generated with se05x-policy inside a
# UserID session (the policy names no sessionless rule) ------------------------
POL="0x7DA00001:sign,read;0x7DA00002:sign,read;0xF0000020:sign,read"
expect_rc 0 "genpkey in a UserID session with se05x-policy for three auth objects" \
    C userid.cnf openssl genpkey -propquery provider=se05x -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt se05x-id:0x30000100 -pkeyopt "se05x-policy:$POL" -out sess-ref.pem
expect_rc 0 "public key read in a UserID session" C userid.cnf openssl pkey -in se05x:0x30000100 -pubout -out sess-pub.pem
expect_fail "without a session the key is out of reach" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000100 -in dgst -out x.sig
has "$T/err" "0x30000100.*(denied by the object's policy|not readable)" "sessionless use: refusal explained"

signs() { # signs NAME CNF|- [ENV=VAL...]: sign the digest, verify with the default provider alone
    local name=$1 cnf=$2; shift 2
    rm -f s.sig
    if [ "$cnf" = - ]; then
        expect_rc 0 "sign in $name" env "$@" timeout 20 openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000100 -in dgst -out s.sig
    else
        expect_rc 0 "sign in $name" env OPENSSL_CONF="$T/$cnf" "$@" timeout 20 openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out s.sig
    fi
    expect_rc 0 "default provider verifies the $name signature" V pkeyutl -verify -pubin -inkey sess-pub.pem -in dgst -sigfile s.sig
}
signs "a UserID session (openssl.cnf, hex secret file)" userid.cnf
signs "a UserID session (environment, raw secret file)" - SE05X_AUTH=userid SE05X_AUTH_ID=0x7DA00001 SE05X_AUTH_SECRET_FILE="$T/userid.bin"
signs "an AESKey session (openssl.cnf)" aeskey.cnf
signs "an AESKey session (environment)" - SE05X_AUTH=aeskey SE05X_AUTH_ID=7DA00002 SE05X_AUTH_SECRET_FILE="$T/aes.hex"
signs "an ECKey session (openssl.cnf)" eckey.cnf
signs "an ECKey session (environment)" - SE05X_AUTH=eckey SE05X_AUTH_ID=0xF0000020 SE05X_AUTH_ECKEY="$T/host-auth.pem"
signs "a UserID session inside platform SCP03" scp_userid.cnf
sed 's/^ENC D2/ENC 00/' scp03.keys >wrongscp.keys
mkcnf wrongscp.cnf "auth = userid" "auth_id = 0x7DA00001" "auth_secret_file = $T/userid.hex" \
    "scp03_keyfile = $T/wrongscp.keys"
expect_fail "UserID inside platform SCP03 with a wrong SCP03 key" C wrongscp.cnf openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out x.sig
has "$T/err" "cannot open a session with the SE05x" "wrong SCP03 key: the platform channel is really used"
expect_rc 0 "openssl.cnf wins over the environment" env SE05X_AUTH=aeskey SE05X_AUTH_ID=1 SE05X_AUTH_SECRET_FILE="$T/wrongaes.hex" \
    OPENSSL_CONF="$T/userid.cnf" openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out s.sig
expect_rc 0 "TLS-style digest-sign in an ECKey session" C eckey.cnf openssl dgst -sha256 -sign se05x:0x30000100 -out d.sig msg
expect_rc 0 "default provider verifies it" V dgst -sha256 -verify sess-pub.pem -signature d.sig msg

# ---- wrong secrets: clear error, non-zero exit -----------------------------------
expect_fail "wrong UserID value" env SE05X_AUTH=userid SE05X_AUTH_ID=0x7DA00001 SE05X_AUTH_SECRET_FILE="$T/wrong.hex" \
    openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000100 -in dgst -out x.sig
has "$T/err" "cannot open a session with the SE05x" "wrong UserID: session error"
has "$T/err" "UserID session with auth object 0x7DA00001 failed" "wrong UserID: names the method and auth object"
mkcnf wrongaes.cnf "auth = aeskey" "auth_id = 0x7DA00002" "auth_secret_file = $T/wrongaes.hex"
expect_fail "wrong AES key" C wrongaes.cnf openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out x.sig
has "$T/err" "AESKey session with auth object 0x7DA00002 failed" "wrong AES key explained"
mkcnf wrongec.cnf "auth = eckey" "auth_id = 0xF0000020" "auth_eckey = $T/other-host.pem"
expect_fail "wrong host EC key" C wrongec.cnf openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out x.sig
has "$T/err" "ECKey session with auth object 0xF0000020 failed" "wrong host EC key explained"
# a refused secret is not tried again by the same process (each failed
# attempt counts against the auth object's limit): Python loads the key
# reference three times, the SE sees one attempt
command -v python3 >/dev/null && {
V req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj /CN=x -days 1 -out any.pem 2>/dev/null
rm -f retry.log
env OPENSSL_CONF="$T/wrongaes.cnf" SE05X_PROVIDER_LOG="$T/retry.log" python3 -c '
import ssl
for _ in range(3):
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain("any.pem", "sess-ref.pem")
    except (ssl.SSLError, OSError):
        pass' 2>/dev/null
n_all=$(grep -c "AESKey session with auth object 0x7DA00002 failed" retry.log)
n_first=$(grep "AESKey session with auth object 0x7DA00002 failed" retry.log | grep -vc "not retried")
[ "$n_all" -eq 3 ] && [ "$n_first" -eq 1 ] && ok "wrong AES key: one attempt on the SE, later uses fail without retrying" \
    || { bad "wrong AES key retried ($n_all failures, $n_first attempts)"; sed 's/^/     /' retry.log; }
}

# ---- invalid configuration values: the provider loads, each use fails ---------
badcnf() { # badcnf NAME PATTERN LINES...
    local name=$1 pat=$2; shift 2
    mkcnf bad.cnf "$@"
    expect_rc 0 "$name: provider still loads" C bad.cnf openssl list -providers
    has "$T/out" "se05x" "$name: provider listed"
    expect_fail "$name: signing fails" C bad.cnf openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out x.sig
    has "$T/err" "invalid se05x provider configuration" "$name: configuration error"
    has "$T/err" "$pat" "$name: reason given"
}
badcnf "unknown auth" "auth 'kerberos' is not one of" "auth = kerberos"
badcnf "userid without auth_id" "auth userid needs auth_id" "auth = userid" "auth_secret_file = $T/userid.hex"
badcnf "malformed auth_id" "auth_id '0x7DA0000Z' is not an object id" "auth = userid" "auth_id = 0x7DA0000Z" "auth_secret_file = $T/userid.hex"
badcnf "userid without a secret" "auth userid needs auth_secret_file" "auth = userid" "auth_id = 0x7DA00001"
badcnf "missing secret file" "auth_secret_file: cannot read $T/nosuch" "auth = userid" "auth_id = 0x7DA00001" "auth_secret_file = $T/nosuch"
badcnf "short AES key" "AES key must be 16 bytes, not 5" "auth = aeskey" "auth_id = 0x7DA00002" "auth_secret_file = $T/userid.hex"
badcnf "eckey without a key" "auth eckey needs auth_eckey" "auth = eckey" "auth_id = 0xF0000020"
badcnf "secret for auth none" "auth_secret_file is set but auth is none" "auth_secret_file = $T/userid.hex"
expect_fail "invalid environment value" env SE05X_AUTH=userid SE05X_AUTH_ID=nothex SE05X_AUTH_SECRET_FILE="$T/userid.hex" \
    openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000100 -in dgst -out x.sig
has "$T/err" "auth_id 'nothex' is not an object id" "invalid environment value explained"

# ---- secrets never logged --------------------------------------------------------
rm -f prov.log
env SE05X_PROVIDER_LOG="$T/prov.log" OPENSSL_CONF="$T/userid.cnf" openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out x.sig 2>/dev/null
env SE05X_PROVIDER_LOG="$T/prov.log" OPENSSL_CONF="$T/wrongaes.cnf" openssl pkeyutl -sign -inkey se05x:0x30000100 -in dgst -out x.sig 2>"$T/err2"
env SE05X_PROVIDER_LOG="$T/prov.log" SE05X_AUTH=eckey SE05X_AUTH_ID=0xF0000020 SE05X_AUTH_ECKEY="$(cat host-auth.pem)" \
    openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000100 -in dgst -out x.sig 2>/dev/null
has prov.log "auth userid \(auth object 0x7DA00001\)" "log names the method and auth object"
has prov.log "host key \(PEM text\)" "ECKey host key given as PEM text in the environment: not logged"
hasnt prov.log "BEGIN|PRIVATE" "no private key in the log"
hasnt prov.log "C0 ?01 ?02 ?03 ?04|c0 ?01 ?02|000102030405060708090A0B0C0D0E|0D0EFF" "no secret in the log"
hasnt "$T/err2" "000102030405060708090A0B0C0D0E|0D0EFF" "no secret in the error output"

# ---- policies at generation (se05x-policy) -----------------------------------------
expect_rc 0 "genpkey EC with se05x-policy:verify,read" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt se05x-id:0x30000101 -pkeyopt se05x-policy:verify,read -out nosign-ref.pem
expect_fail "signing with a key whose policy forbids it" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000101 -in dgst -out x.sig
has "$T/err" "signing with 0x30000101.*denied by the object's policy" "policy denial explained"
expect_rc 0 "its public key is readable (read allowed)" openssl pkey "${P[@]}" -in se05x:0x30000101 -pubout -out nosign-pub.pem
expect_rc 0 "genpkey EC with se05x-policy:sign,read" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:P-256 \
    -pkeyopt se05x-id:0x30000102 -pkeyopt "se05x-policy:sign, read" -out sign-ref.pem
expect_rc 0 "that key signs" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000102 -in dgst -out p.sig
openssl pkey "${P[@]}" -in se05x:0x30000102 -pubout -out sign-pub.pem 2>/dev/null
expect_rc 0 "default provider verifies it" V pkeyutl -verify -pubin -inkey sign-pub.pem -in dgst -sigfile p.sig
expect_rc 0 "genpkey Ed25519 with se05x-policy:verify,read" openssl genpkey "${G[@]}" -algorithm ED25519 \
    -pkeyopt se05x-id:0x30000103 -pkeyopt se05x-policy:verify,read -out ed-ref.pem
expect_fail "Ed25519 signing forbidden by the policy" openssl pkeyutl "${P[@]}" -sign -rawin -inkey se05x:0x30000103 -in msg -out x.sig
has "$T/err" "denied by the object's policy" "Ed25519 policy denial explained"
expect_fail "se05x-policy without read: the key is made, its reference cannot be written" \
    openssl genpkey "${G[@]}" -algorithm EC -pkeyopt se05x-id:0x30000104 -pkeyopt se05x-policy:sign -out x.pem
has "$T/err" "public part of 0x30000104 is not readable" "a key without read: explained"
for bp in "sign,fly|unknown access rule 'fly'" "zz:sign|invalid auth object id 'zz'" ";|no access rules given"; do
    expect_fail "bad policy '${bp%%|*}'" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt se05x-id:0x30000105 \
        -pkeyopt "se05x-policy:${bp%%|*}" -out x.pem
    has "$T/err" "se05x-policy '.*': ${bp#*|}" "bad policy '${bp%%|*}' explained"
done
expect_fail "bad policy: nothing was created" openssl pkey "${P[@]}" -in se05x:0x30000105 -pubout
has "$T/err" "no such object" "bad policy: no object at 0x30000105"
expect_rc 0 "CLI lists the policy-made keys" "$CLI" --port "$J" list
has "$T/out" "0x30000101" "CLI sees 0x30000101"

echo "$fails failure(s)"
[ $fails -eq 0 ]
