#!/usr/bin/env bash
# Integration test of the se05x OpenSSL provider (build/provider/se05x.so)
# with the system's openssl 3 CLI against the se05x-sim daemon over JRCP:
# store (keys, certificates, enumeration, nxp: alias, expect), public key
# export, ECDSA and RSA PKCS#1/PSS signatures made in the SE and verified by
# the default provider ALONE, CSR and self-signed certificate, both provider
# orders, configuration from openssl.cnf, logging, lazy connect and the
# error cases (missing object, malformed URI, SE absent). Env: BUILD_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup provider_openssl

command -v openssl >/dev/null || { echo "SKIP - no openssl CLI"; exit 0; }
it_need "$MOD/se05x.so" "$SIM"
P=(-provider-path "$MOD" -provider se05x -provider default)
PD=(-provider-path "$MOD" -provider default -provider se05x) # default first
# Verification always uses the plain CLI: default provider only, no se05x.
V() { env -u OPENSSL_CONF -u OPENSSL_MODULES openssl "$@"; }

# ---- loading never needs the SE ------------------------------------------
export SE05X_PORT=127.0.0.1:1
expect_rc 0 "provider loads with no SE running" openssl list -providers "${P[@]}"
has "$T/out" "se05x" "provider listed"
has "$T/out" "status: active" "provider active"
expect_fail "using a key with no SE running fails" openssl pkey "${P[@]}" -in se05x:0xF0000000 -pubout
has "$T/err" "cannot open a session with the SE05x" "SE absent: clear error"
has "$T/err" "127.0.0.1:1" "SE absent: error names the port"
[ -s "$T/out" ] && bad "SE absent: nothing on stdout" || ok "SE absent: nothing on stdout"

# ---- simulator ------------------------------------------------------------
sim_start "$T/card"
cd "$T"
printf 'message signed by the SE05x provider test\n' >msg
V dgst -sha256 -binary msg >dgst256
V dgst -sha384 -binary msg >dgst384

# ---- store: enumeration, certificates, alias --------------------------------
expect_rc 0 "storeutl se05x: lists objects" openssl storeutl "${P[@]}" se05x:
for id in 0xF0000000 0xF0000001 0xF0000004 0xF0000005; do
    has "$T/out" "Name: se05x:$id" "listing shows se05x:$id"
done
has "$T/out" "EC key pair, 256 bits" "listing describes the EC key"
has "$T/out" "RSA key pair, 2048 bits" "listing describes the RSA key"
cp "$T/out" list1
expect_rc 0 "storeutl nxp: (alias)" openssl storeutl "${P[@]}" nxp:
same "$T/out" list1 "nxp: lists the same objects"
expect_rc 0 "storeutl -certs se05x: (enumerate certificates)" openssl storeutl "${P[@]}" -certs se05x:
has "$T/out" "^1: Certificate" "enumeration with -certs returns at least two certificates"

expect_rc 0 "storeutl -certs se05x:0xF0000001" openssl storeutl "${P[@]}" -certs se05x:0xF0000001
has "$T/out" "BEGIN CERTIFICATE" "certificate returned as PEM"
has "$T/out" "Total found: 1" "exactly one certificate"
sed -n '/BEGIN CERT/,/END CERT/p' "$T/out" >cert.pem
expect_rc 0 "default provider parses the certificate" V x509 -in cert.pem -pubkey -noout
cp "$T/out" certpub.pem
expect_rc 0 "storeutl -certs on a key gives no object" openssl storeutl "${P[@]}" -certs se05x:0xF0000000
has "$T/out" "Total found: 0" "expect CERT honoured on a key"
expect_rc 0 "storeutl -keys on a certificate gives no object" openssl storeutl "${P[@]}" -keys se05x:0xF0000001
has "$T/out" "Total found: 0" "expect PKEY honoured on a certificate"

# ---- public keys ------------------------------------------------------------
expect_rc 0 "pkey -pubout (EC)" openssl pkey "${P[@]}" -in se05x:0xF0000000 -pubout -out ecpub.pem
same ecpub.pem certpub.pem "SE key public part equals the certificate's public key"
[ -s "$T/out" ] && bad "no log noise on stdout" || ok "no log noise on stdout"
expect_rc 0 "pkey -pubout via nxp: alias" openssl pkey "${P[@]}" -in nxp:0xF0000000 -pubout -out ecpub2.pem
same ecpub.pem ecpub2.pem "nxp: alias names the same key"
expect_rc 0 "pkey -pubout -outform DER" openssl pkey "${P[@]}" -in se05x:0xF0000000 -pubout -outform DER -out ecpub.der
expect_rc 0 "DER public key parses in the default provider" V pkey -pubin -inform DER -in ecpub.der -out ecpub3.pem
same ecpub.pem ecpub3.pem "DER and PEM encoders agree"
expect_rc 0 "pkey -text" openssl pkey "${P[@]}" -in se05x:0xF0000000 -text -noout
has "$T/out" "se05x:0xF0000000" "text names the SE object"
has "$T/out" "NIST CURVE: P-256" "text shows the curve"
expect_rc 0 "pkey without -pubout writes a key reference, not a key" openssl pkey "${P[@]}" -in se05x:0xF0000000
has "$T/out" "^-----BEGIN SE05X KEY REFERENCE-----$" "reference PEM label"
if sed -n 2p "$T/out" | base64 -d 2>/dev/null | grep -aq 'se05x:0xF0000000'; then ok "reference holds the URI"; else bad "reference holds the URI"; fi
expect_rc 0 "public-only SE key with -pubin" openssl pkey "${P[@]}" -pubin -in se05x:0xF0000020 -pubout
has "$T/out" "BEGIN PUBLIC KEY" "public-only SE key exported"
expect_rc 0 "pkey -pubout (RSA)" openssl pkey "${P[@]}" -in se05x:0xF0000004 -pubout -out rsapub.pem
expect_rc 0 "RSA public key is 2048 bits" V pkey -pubin -in rsapub.pem -text -noout
has "$T/out" "Public-Key: \(2048 bit\)" "RSA key size"

# ---- ECDSA ------------------------------------------------------------------
expect_rc 0 "pkeyutl -sign (pre-hashed SHA-256)" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0xF0000000 -in dgst256 -out ec.sig
expect_rc 0 "default provider verifies the ECDSA signature" V pkeyutl -verify -pubin -inkey ecpub.pem -in dgst256 -sigfile ec.sig
expect_rc 0 "pkeyutl -sign (pre-hashed SHA-384)" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0xF0000000 -in dgst384 -out ec384.sig
expect_rc 0 "default provider verifies it" V pkeyutl -verify -pubin -inkey ecpub.pem -in dgst384 -sigfile ec384.sig
for d in sha256 sha384 sha512; do
    expect_rc 0 "pkeyutl -rawin -digest $d" openssl pkeyutl "${P[@]}" -sign -rawin -digest $d -inkey se05x:0xF0000000 -in msg -out raw_$d.sig
    expect_rc 0 "default provider verifies -rawin $d" V pkeyutl -verify -rawin -digest $d -pubin -inkey ecpub.pem -in msg -sigfile raw_$d.sig
done
expect_rc 0 "dgst -sha256 -sign (EC)" openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000000 -out ecdgst.sig msg
expect_rc 0 "default provider verifies dgst -sign (EC)" V dgst -sha256 -verify ecpub.pem -signature ecdgst.sig msg
expect_rc 0 "dgst -sign with default listed first" openssl dgst "${PD[@]}" -sha256 -sign se05x:0xF0000000 -out ecfirst.sig msg
expect_rc 0 "default-first signature verifies" V dgst -sha256 -verify ecpub.pem -signature ecfirst.sig msg
expect_rc 0 "provider verifies with the SE key's public part" openssl dgst "${P[@]}" -sha256 -verify se05x:0xF0000000 -signature ecdgst.sig msg
printf 'tampered\n' >msg2
expect_rc 1 "provider rejects a signature over other data" openssl dgst "${P[@]}" -sha256 -verify se05x:0xF0000000 -signature ecdgst.sig msg2
expect_fail "pre-hashed input of a wrong length is refused" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0xF0000000 -in msg -out bad.sig
has "$T/err" "is not a SHA-1/224/256/384/512 digest" "wrong digest length explained"

# ---- RSA ----------------------------------------------------------------------
expect_rc 0 "dgst -sha256 -sign (RSA PKCS#1)" openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000004 -out rsa1.sig msg
expect_rc 0 "default provider verifies PKCS#1" V dgst -sha256 -verify rsapub.pem -signature rsa1.sig msg
expect_rc 0 "pkeyutl -sign RSA PKCS#1 with digest" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0xF0000004 -pkeyopt digest:sha256 -in dgst256 -out rsa2.sig
expect_rc 0 "default provider verifies it" V pkeyutl -verify -pubin -inkey rsapub.pem -pkeyopt digest:sha256 -in dgst256 -sigfile rsa2.sig
for s in digest max auto 20; do
    vs=$s; [ "$s" = auto ] && vs=auto
    expect_rc 0 "dgst -sign RSA-PSS saltlen $s" openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000004 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$s -out pss_$s.sig msg
    expect_rc 0 "default provider verifies PSS saltlen $s" V dgst -sha256 -verify rsapub.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$vs -signature pss_$s.sig msg
done
expect_rc 0 "default verifies auto-salt PSS as digest-length salt" V dgst -sha256 -verify rsapub.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -signature pss_auto.sig msg
expect_rc 0 "RSA-PSS with SHA-384" openssl dgst "${P[@]}" -sha384 -sign se05x:0xF0000004 -sigopt rsa_padding_mode:pss -out pss384.sig msg
expect_rc 0 "default provider verifies PSS SHA-384" V dgst -sha384 -verify rsapub.pem -sigopt rsa_padding_mode:pss -signature pss384.sig msg
expect_fail "PSS salt too large is refused" openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000004 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:300 -out bad.sig msg
has "$T/err" "does not fit" "oversized salt explained"

# ---- ECDH and RSA decryption --------------------------------------------------------
V genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.pem 2>/dev/null
V pkey -in peer.pem -pubout -out peerpub.pem
expect_rc 0 "ECDH derive with the SE key" openssl pkeyutl "${P[@]}" -derive -inkey se05x:0xF0000000 -peerkey peerpub.pem -out ecdh_se.bin
expect_rc 0 "ECDH derive on the peer side (default provider)" V pkeyutl -derive -inkey peer.pem -peerkey ecpub.pem -out ecdh_host.bin
same ecdh_se.bin ecdh_host.bin "both sides derive the same secret"
expect_rc 0 "ECDH with default listed first" openssl pkeyutl "${PD[@]}" -derive -inkey se05x:0xF0000000 -peerkey peerpub.pem -out ecdh_se2.bin
same ecdh_se2.bin ecdh_host.bin "same secret in the other provider order"
expect_rc 0 "host-key ECDH with our provider loaded is not captured" openssl pkeyutl "${P[@]}" -derive -inkey peer.pem -peerkey ecpub.pem -out ecdh_host2.bin
same ecdh_host2.bin ecdh_host.bin "host ECDH unaffected"
expect_fail "ECDH with a public-only SE key is refused" openssl pkeyutl "${P[@]}" -derive -inkey se05x:0xF0000020 -peerkey peerpub.pem -out bad.bin
printf 'secret for the SE\n' >pt
for pad in pkcs1 oaep; do
    V pkeyutl -encrypt -pubin -inkey rsapub.pem -pkeyopt rsa_padding_mode:$pad -in pt -out ct_$pad
    expect_rc 0 "RSA $pad decrypt in the SE" openssl pkeyutl "${P[@]}" -decrypt -inkey se05x:0xF0000004 -pkeyopt rsa_padding_mode:$pad -in ct_$pad -out dec_$pad
    same pt dec_$pad "RSA $pad plaintext recovered"
done
expect_fail "OAEP with SHA-256 is refused (the SE does SHA-1)" openssl pkeyutl "${P[@]}" -decrypt -inkey se05x:0xF0000004 -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -in ct_oaep -out bad.bin
has "$T/err" "SHA-1 only" "OAEP digest limit explained"
V genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out hostrsa.pem 2>/dev/null
V pkeyutl -encrypt -inkey hostrsa.pem -in pt -out hostct
expect_rc 0 "host RSA key decrypt with our provider loaded first is not captured" openssl pkeyutl "${P[@]}" -decrypt -inkey hostrsa.pem -in hostct -out hostdec
same pt hostdec "host RSA decrypt unaffected"

# ---- key generation in the SE ------------------------------------------------------------
G=(-provider-path "$MOD" -provider default -provider se05x -propquery provider=se05x)
expect_rc 0 "genpkey EC P-384 in the SE at 0x30000001" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:P-384 -pkeyopt se05x-id:0x30000001 -out gen1.pem
has gen1.pem "BEGIN SE05X KEY REFERENCE" "genpkey writes a key reference"
expect_rc 0 "generated key's public part" openssl pkey "${P[@]}" -in se05x:0x30000001 -pubout -out gen1pub.pem
expect_rc 0 "generated key is P-384" V pkey -pubin -in gen1pub.pem -text -noout
has "$T/out" "NIST CURVE: P-384" "curve of the generated key"
expect_rc 0 "sign with the generated key" openssl dgst "${P[@]}" -sha384 -sign se05x:0x30000001 -out gen1.sig msg
expect_rc 0 "default provider verifies it" V dgst -sha384 -verify gen1pub.pem -signature gen1.sig msg
expect_fail "generating over an existing object is refused" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:P-256 -pkeyopt se05x-id:0x30000001 -out gen2.pem
has "$T/err" "already exists; set se05x-overwrite:1" "existing object explained"
expect_rc 0 "the refused generation left the key alone" openssl pkey "${P[@]}" -in se05x:0x30000001 -pubout -out gen1pub2.pem
same gen1pub.pem gen1pub2.pem "key unchanged"
expect_rc 0 "se05x-overwrite:1 replaces it" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:P-256 -pkeyopt se05x-id:0x30000001 -pkeyopt se05x-overwrite:1 -out gen2.pem
expect_rc 0 "replaced key is P-256" openssl pkey "${P[@]}" -in se05x:0x30000001 -text -noout
has "$T/out" "NIST CURVE: P-256" "curve of the replacement"
expect_fail "generation without se05x-id is refused (no host key)" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:P-256 -out gen3.pem
has "$T/err" "long-term keys only in the SE" "missing id explained"
[ -s gen3.pem ] && bad "no key file written without an id" || ok "no key file written without an id"
expect_fail "unsupported curve is refused" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:secp256k1 -pkeyopt se05x-id:0x30000003 -out gen4.pem
expect_rc 0 "genpkey Ed25519 in the SE" openssl genpkey "${G[@]}" -algorithm ED25519 -pkeyopt se05x-id:0x30000004 -out gened.pem
expect_rc 0 "Ed25519 public part" openssl pkey "${P[@]}" -in se05x:0x30000004 -pubout -out edpub.pem
expect_rc 0 "Ed25519 public key parses in the default provider" V pkey -pubin -in edpub.pem -text -noout
has "$T/out" "ED25519 Public-Key" "key type Ed25519"
expect_rc 0 "Ed25519 sign (-rawin)" openssl pkeyutl "${P[@]}" -sign -rawin -inkey se05x:0x30000004 -in msg -out ed.sig
expect_rc 0 "default provider verifies the Ed25519 signature" V pkeyutl -verify -rawin -pubin -inkey edpub.pem -in msg -sigfile ed.sig
expect_rc 0 "self-signed Ed25519 certificate" openssl req "${P[@]}" -x509 -new -key se05x:0x30000004 -subj /CN=ed25519 -days 1 -out edcert.pem
expect_rc 0 "default provider verifies it" V verify -CAfile edcert.pem edcert.pem
expect_rc 0 "genpkey RSA 2048 in the SE" openssl genpkey "${G[@]}" -algorithm RSA -pkeyopt bits:2048 -pkeyopt se05x-id:0x30000002 -out gen5.pem
expect_rc 0 "generated RSA key signs (PSS)" openssl dgst "${P[@]}" -sha256 -sign se05x:0x30000002 -sigopt rsa_padding_mode:pss -out gen5.sig msg
openssl pkey "${P[@]}" -in se05x:0x30000002 -pubout -out gen5pub.pem 2>/dev/null
expect_rc 0 "default provider verifies it" V dgst -sha256 -verify gen5pub.pem -sigopt rsa_padding_mode:pss -signature gen5.sig msg

# ---- certificates and requests -------------------------------------------------
expect_rc 0 "req -new with the SE key" openssl req "${P[@]}" -new -key se05x:0xF0000000 -subj /CN=se05x-test -out req.pem
expect_rc 0 "default provider verifies the CSR" V req -in req.pem -verify -noout
expect_rc 0 "req -x509 with the SE key" openssl req "${P[@]}" -x509 -new -key se05x:0xF0000004 -subj /CN=se05x-rsa -days 1 -out self.pem
expect_rc 0 "default provider verifies the self-signed certificate" V verify -CAfile self.pem self.pem
expect_rc 0 "x509 -signkey with the SE key" openssl x509 "${P[@]}" -req -in req.pem -signkey se05x:0xF0000000 -days 1 -out signkey.pem
expect_rc 0 "default provider verifies the x509 -signkey certificate" V verify -CAfile signkey.pem signkey.pem
# a small CA whose key is in the SE (0xF0000004) issues a certificate for the CSR
mkdir -p ca/newcerts && : >ca/index.txt && echo 01 >ca/serial
printf '%s\n' '[ca]' 'default_ca = ca_sect' '[ca_sect]' 'dir = ca' 'database = ca/index.txt' \
    'new_certs_dir = ca/newcerts' 'serial = ca/serial' 'default_md = sha256' 'policy = policy_sect' \
    'default_days = 1' '[policy_sect]' 'commonName = supplied' >ca.cnf
expect_rc 0 "openssl ca -keyfile se05x:0xF0000004" openssl ca "${P[@]}" -batch -config ca.cnf -keyfile se05x:0xF0000004 -cert self.pem -in req.pem -out issued.pem
expect_rc 0 "default provider verifies the issued certificate" V verify -CAfile self.pem issued.pem

# ---- TLS with SE keys (s_server / s_client) ---------------------------------------
# tls NAME "PROVIDER ARGS" "S_SERVER ARGS" "S_CLIENT ARGS": one handshake; the
# server echoes what the client sends, so "hello" in its output means done.
tls() {
    local name=$1 prov=$2 sargs=$3 cargs=$4 cprov=${5-$2} port; port=$(free_port)
    rm -f "$T/srv.log"
    # shellcheck disable=SC2086
    timeout 8 openssl s_server $prov -accept 127.0.0.1:$port -naccept 1 $sargs \
        >"$T/srv.log" 2>&1 < <(sleep 8 2>/dev/null) &
    local spid=$!
    for _ in $(seq 1 50); do grep -q '^ACCEPT' "$T/srv.log" 2>/dev/null && break; sleep 0.1; done
    # shellcheck disable=SC2086
    (echo hello; sleep 0.5) | timeout 6 openssl s_client $cprov -connect 127.0.0.1:$port $cargs >"$T/cli.log" 2>&1
    wait "$spid" 2>/dev/null
    if grep -q '^hello' "$T/srv.log" && grep -q 'Verify return code: 0' "$T/cli.log"; then ok "TLS: $name"
    else bad "TLS: $name"; sed 's/^/     /' "$T/srv.log" "$T/cli.log" | grep -iE 'error|alert|Protocol|subject' | head -8; fi
}
DF="-provider-path $MOD -provider default -provider se05x"
SF="-provider-path $MOD -provider se05x -provider default"
expect_rc 0 "self-signed EC server certificate" openssl req "${P[@]}" -x509 -new -key se05x:0xF0000000 -subj /CN=localhost -days 1 -out ecsrv.pem
cp cert.pem devcert.pem
# The matrix runs with our provider listed after and before `default`
# (before: TLS key exchange uses the provider's ephemeral groups, see
# provider/openssl/ephemeral.c); the client uses the same order.
for order in DF SF; do
    O=${!order}; on=$([ $order = DF ] && echo "default first" || echo "se05x first")
    for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384; do
        tls "EC server key, TLS 1.2 $c, $on" "$O" "-key se05x:0xF0000000 -cert ecsrv.pem" "-tls1_2 -cipher $c -CAfile ecsrv.pem -verify_return_error"
    done
    for c in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384; do
        tls "RSA server key, TLS 1.2 $c, $on" "$O" "-key se05x:0xF0000004 -cert self.pem" "-tls1_2 -cipher $c -CAfile self.pem -verify_return_error"
    done
    for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384; do
        tls "EC server key, TLS 1.3 $c, $on" "$O" "-key se05x:0xF0000000 -cert ecsrv.pem" "-tls1_3 -ciphersuites $c -CAfile ecsrv.pem -verify_return_error"
        tls "RSA server key, TLS 1.3 $c (RSA-PSS), $on" "$O" "-key se05x:0xF0000004 -cert self.pem" "-tls1_3 -ciphersuites $c -CAfile self.pem -verify_return_error"
    done
    has "$T/cli.log" "Server Temp Key: X25519" "TLS 1.3 key share is X25519 by default ($on)"
    for g in P-256 P-384:P-256 P-521:P-256; do # (TLS 1.2: the P-256 certificate needs P-256)
        tls "ECDHE group $g in TLS 1.2, $on" "$O" "-key se05x:0xF0000000 -cert ecsrv.pem" "-tls1_2 -groups $g -CAfile ecsrv.pem -verify_return_error"
        has "$T/cli.log" "Server Temp Key: ECDH, $(echo "${g%%:*}" | sed 's/P-256/prime256v1/;s/P-384/secp384r1/;s/P-521/secp521r1/')" "${g%%:*}: the ephemeral is on that curve ($on)"
        tls "key share $g in TLS 1.3, $on" "$O" "-key se05x:0xF0000000 -cert ecsrv.pem" "-tls1_3 -groups ${g%%:*} -CAfile ecsrv.pem -verify_return_error"
    done
    tls "Ed25519 server key, TLS 1.3, $on" "$O" "-key se05x:0x30000004 -cert edcert.pem" "-tls1_3 -CAfile edcert.pem -verify_return_error"
    has "$T/cli.log" "Peer signature type: ed25519" "Ed25519 signed the handshake ($on)"
done
# genpkey cannot reach the ephemeral path by accident, nor write such a key
expect_rc 1 "genpkey EC without se05x-id is refused with se05x first" openssl genpkey "${P[@]}" -algorithm EC -pkeyopt group:P-256 -out nohost.pem
has "$T/err" "se05x-id" "no-id refusal names se05x-id"
expect_rc 1 "a TLS ephemeral is never written out" openssl genpkey "${P[@]}" -algorithm EC -pkeyopt group:se05x-eph-prime256v1 -out eph.pem
[ -s eph.pem ] && bad "ephemeral key written" || ok "nothing written for an ephemeral"
# a P-384 key made in the SE signs its TLS 1.3 CertificateVerify with SHA-384
expect_rc 0 "genpkey EC P-384 in the SE at 0x30000005" openssl genpkey "${G[@]}" -algorithm EC -pkeyopt group:P-384 -pkeyopt se05x-id:0x30000005 -out gen384.pem
expect_rc 0 "req -x509 with the P-384 SE key" openssl req "${P[@]}" -x509 -new -key se05x:0x30000005 -subj /CN=localhost -days 1 -out p384.pem
tls "P-384 server key, TLS 1.3" "$DF" "-key se05x:0x30000005 -cert p384.pem" "-tls1_3 -CAfile p384.pem -verify_return_error"
has "$T/cli.log" "Peer signing digest: SHA384" "P-384 key signs with SHA-384 in TLS 1.3"
# APDUs per handshake: the provider logs its APDU count when unloaded; the
# difference between a server doing 1 and 4 handshakes is 3 handshakes' worth.
hs_apdus() { # hs_apdus N -> APDUs of an s_server that served N TLS 1.3 handshakes
    local n=$1 port; port=$(free_port); rm -f "$T/hs.log" "$T/srv.log"
    SE05X_PROVIDER_LOG=$T/hs.log timeout 15 openssl s_server $DF -accept 127.0.0.1:$port -naccept $n \
        -key se05x:0xF0000000 -cert ecsrv.pem -www >"$T/srv.log" 2>&1 < <(sleep 15 2>/dev/null) &
    local spid=$!
    for _ in $(seq 1 50); do grep -q '^ACCEPT' "$T/srv.log" 2>/dev/null && break; sleep 0.1; done
    for _ in $(seq 1 "$n"); do
        echo | timeout 5 openssl s_client -connect 127.0.0.1:$port -tls1_3 >/dev/null 2>&1
    done
    wait "$spid" 2>/dev/null
    sed -n 's/.*unloaded after \([0-9]*\) APDUs.*/\1/p' "$T/hs.log"
}
a1=$(hs_apdus 1); a4=$(hs_apdus 4)
if [ -n "$a1" ] && [ -n "$a4" ] && [ $((a4 - a1)) -eq 3 ]; then
    ok "one APDU per TLS 1.3 handshake once the key is loaded ($a1 APDUs for 1, $a4 for 4)"
else bad "APDUs per handshake: '$a1' for 1 handshake, '$a4' for 4"; fi
MT="-Verify 1 -verify_return_error -partial_chain -CAfile devcert.pem"
tls "mutual TLS 1.3, client key and certificate from the SE" "$DF" "-key se05x:0xF0000004 -cert self.pem $MT" "-tls1_3 -CAfile self.pem -key se05x:0xF0000000 -cert se05x:0xF0000001"
has "$T/srv.log" "subject=O = se05x-sim EdgeLock 2GO client" "server saw the SE's client certificate"
tls "mutual TLS 1.2, client key and certificate from the SE" "$DF" "-key se05x:0xF0000004 -cert self.pem $MT" "-tls1_2 -CAfile self.pem -key se05x:0xF0000000 -cert se05x:0xF0000001"
tls "mutual TLS 1.3, se05x listed first" "$SF" "-key se05x:0xF0000004 -cert self.pem $MT" "-tls1_3 -CAfile self.pem -key se05x:0xF0000000 -cert se05x:0xF0000001"
tls "mutual TLS 1.2, se05x listed first" "$SF" "-key se05x:0xF0000004 -cert self.pem $MT" "-tls1_2 -CAfile self.pem -key se05x:0xF0000000 -cert se05x:0xF0000001"
# mixed pairs: a peer without se05x against each order
V req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ecsrv_host.key -subj /CN=localhost -days 1 -out ecsrv_host.pem 2>/dev/null
tls "server se05x first, client default only, TLS 1.2" "$SF" "-key se05x:0xF0000000 -cert ecsrv.pem" "-tls1_2 -CAfile ecsrv.pem -verify_return_error" ""
tls "server default only, client se05x first, TLS 1.2 mutual" "" "-key ecsrv_host.key -cert ecsrv_host.pem $MT" "-tls1_2 -CAfile ecsrv_host.pem -key se05x:0xF0000000 -cert se05x:0xF0000001" "$SF"

# ---- key reference files: unmodified Python ssl through OPENSSL_CONF ---------------------
sed -e "s|^module = se05x.so|module = $MOD/se05x.so|" "$SRC_DIR/examples/openssl/openssl.cnf" >app.cnf
expect_rc 0 "write a reference to the EC key" openssl pkey "${P[@]}" -in se05x:0xF0000000 -out ecref.pem
expect_rc 0 "write a reference to the RSA key" openssl pkey "${P[@]}" -in se05x:0xF0000004 -out rsaref.pem
V req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout hostkey.pem -subj /CN=host -days 1 -out hostcert.pem 2>/dev/null
if command -v python3 >/dev/null; then
    PY="$SRC_DIR/tests/integration/provider/py_ssl_refkey.py"
    OPENSSL_CONF=$T/app.cnf expect_rc 0 "Python ssl server with an EC key reference file" python3 "$PY" ecsrv.pem ecref.pem
    has "$T/out" "^echo: hello TLSv1" "Python TLS handshake with the SE EC key"
    OPENSSL_CONF=$T/app.cnf expect_rc 0 "Python ssl server with an RSA key reference file" python3 "$PY" self.pem rsaref.pem
    has "$T/out" "^echo: hello TLSv1" "Python TLS handshake with the SE RSA key"
    OPENSSL_CONF=$T/app.cnf expect_rc 0 "Python ssl with a host key file and the provider loaded" python3 "$PY" hostcert.pem hostkey.pem
    OPENSSL_CONF=$T/app.cnf expect_fail "Python ssl: reference whose key does not match the certificate" python3 "$PY" self.pem ecref.pem
else
    echo "ok   - SKIP Python ssl checks: no python3"
fi
if command -v curl >/dev/null; then
    port=$(free_port); rm -f "$T/srv.log"
    timeout 8 openssl s_server "${PD[@]}" -accept 127.0.0.1:$port -naccept 1 -www \
        -key se05x:0xF0000004 -cert self.pem -Verify 1 -verify_return_error -partial_chain \
        -CAfile devcert.pem >"$T/srv.log" 2>&1 < <(sleep 8 2>/dev/null) &
    spid=$!
    for _ in $(seq 1 50); do grep -q '^ACCEPT' "$T/srv.log" 2>/dev/null && break; sleep 0.1; done
    OPENSSL_CONF=$T/app.cnf expect_rc 0 "curl client certificate with a key reference file (mutual TLS)" \
        curl -sS -k --max-time 6 --cert devcert.pem --key ecref.pem -o curl.html "https://127.0.0.1:$port/"
    has curl.html "s_server" "curl got the page from the server that required its certificate"
    wait "$spid" 2>/dev/null
else
    echo "ok   - SKIP curl check: no curl"
fi
# the openssl CLI reads reference files through its file: store (nxpref.c)
for order in P PD; do
    eval "O=(\"\${$order[@]}\")"
    expect_rc 0 "openssl CLI -in ref.pem (file: store) gives the SE key ($order)" openssl pkey "${O[@]}" -in ecref.pem -pubout -out ecref_pub.pem
    same ecref_pub.pem ecpub.pem "reference file names the SE key's public part ($order)"
    expect_rc 0 "dgst -sign with the reference file ($order)" openssl dgst "${O[@]}" -sha256 -sign ecref.pem -out ecref.sig msg
    expect_rc 0 "default provider verifies the signature made through the reference file" V dgst -sha256 -verify ecpub.pem -signature ecref.sig msg
done

# ---- configuration through openssl.cnf -------------------------------------------
sed -e "s|^module = se05x.so|module = $MOD/se05x.so|" \
    -e "s|^#se05x_port = .*|se05x_port = $SIM_ADDR|" \
    "$SRC_DIR/examples/openssl/openssl.cnf" >openssl.cnf
OPENSSL_CONF=$T/openssl.cnf SE05X_PORT=127.0.0.1:1 expect_rc 0 "OPENSSL_CONF with se05x_port (env points elsewhere)" openssl pkey -in se05x:0xF0000000 -pubout -out ecpub4.pem
same ecpub.pem ecpub4.pem "configured provider reads the same key"
sed -e "s|^se05x_port = .*|auth = kerberos|" openssl.cnf >badauth.cnf
OPENSSL_CONF=$T/badauth.cnf expect_fail "invalid auth in openssl.cnf" openssl pkey -in se05x:0xF0000000 -pubout
has "$T/err" "auth 'kerberos'" "invalid auth explained"

# ---- RAND from the SE TRNG (opt-in through openssl.cnf) -------------------------------
cat >rand.cnf <<EOF
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
random = random_sect
[provider_sect]
default = default_sect
se05x = se05x_sect
[default_sect]
activate = 1
[se05x_sect]
module = $MOD/se05x.so
activate = 1
[random_sect]
seed = SE05X-TRNG
seed_properties = provider=se05x
EOF
OPENSSL_CONF=$T/rand.cnf SE05X_PROVIDER_LOG=$T/rand.log expect_rc 0 "openssl rand seeded by the SE TRNG" openssl rand -hex 32
has "$T/out" "^[0-9a-f]{64}$" "64 hex digits"
has "$T/rand.log" "random bytes from the SE TRNG" "the DRBG seed came from the SE"
sed -e 's/^seed = .*/random = SE05X-TRNG/' -e 's/^seed_properties/properties/' rand.cnf >rand2.cnf
OPENSSL_CONF=$T/rand2.cnf expect_rc 0 "openssl rand straight from the SE TRNG" openssl rand -hex 32
has "$T/out" "^[0-9a-f]{64}$" "64 hex digits"
cp "$T/out" rand_a
OPENSSL_CONF=$T/rand2.cnf expect_rc 0 "second draw" openssl rand -hex 32
cmp -s "$T/out" rand_a && bad "two draws differ" || ok "two draws differ"
SE05X_PROVIDER_LOG=$T/rand3.log expect_rc 0 "without the opt-in the SE is not used for RAND" openssl rand "${P[@]}" -hex 8
grep -qs "TRNG" "$T/rand3.log" && bad "RAND stays off by default" || ok "RAND stays off by default"
OPENSSL_CONF=$T/rand.cnf SE05X_PORT=127.0.0.1:1 expect_fail "TRNG seeding with no SE fails" openssl rand -hex 8
has "$T/err" "cannot open a session with the SE05x" "TRNG without SE: clear error"

# ---- logging ------------------------------------------------------------------
SE05X_PROVIDER_LOG=$T/prov.log expect_rc 0 "sign with SE05X_PROVIDER_LOG" openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000000 -out logged.sig msg
has "$T/prov.log" "key 0xF0000000 opened" "log file records the key"
SE05X_PROVIDER_LOG=stderr expect_rc 0 "log to stderr" openssl pkey "${P[@]}" -in se05x:0xF0000000 -pubout
has "$T/err" "se05x-provider\[" "log lines on stderr"
has "$T/out" "^-----BEGIN PUBLIC KEY-----$" "stdout holds only the key"
[ "$(grep -c . "$T/out")" -eq 4 ] && ok "stdout has exactly the PEM lines" || bad "stdout polluted"

# ---- concurrency: processes signing at once ------------------------------------------
pids=()
for i in 1 2 3 4; do
    openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000000 -out par$i.sig msg 2>par$i.err &
    pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3 4; do
    expect_rc 0 "parallel signer $i verifies" V dgst -sha256 -verify ecpub.pem -signature par$i.sig msg
done

# ---- errors -----------------------------------------------------------------------
expect_fail "missing object" openssl pkey "${P[@]}" -in se05x:0xF0001234 -pubout
has "$T/err" "no such object in the SE05x" "missing object: clear error"
has "$T/err" "0xF0001234" "missing object: id named"
expect_fail "malformed URI" openssl pkey "${P[@]}" -in se05x:0xZZ -pubout
has "$T/err" "malformed se05x URI" "malformed URI: clear error"
expect_fail "URI with too many digits" openssl pkey "${P[@]}" -in se05x:0x123456789 -pubout
has "$T/err" "malformed se05x URI" "long id refused"
expect_fail "object that is neither key nor certificate" openssl pkey "${P[@]}" -in se05x:0x7FFF0205 -pubout
has "$T/err" "not usable here" "wrong object type explained"
expect_fail "sign with a public-only SE key" openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000020 -out bad.sig msg
for order in P PD; do # key/certificate mismatch: the server refuses to start, in both orders
    eval "O=(\"\${$order[@]}\")"
    expect_fail "s_server: SE EC key with an RSA certificate ($order)" timeout 8 openssl s_server "${O[@]}" -accept 127.0.0.1:0 -naccept 1 -key se05x:0xF0000000 -cert self.pem
    has "$T/err" "key values mismatch|does not match" "key/certificate mismatch explained ($order)"
    expect_fail "s_server: SE key with another EC key's certificate ($order)" timeout 8 openssl s_server "${O[@]}" -accept 127.0.0.1:0 -naccept 1 -key se05x:0xF0000000 -cert ecsrv_host.pem
    has "$T/err" "key values mismatch" "EC key/certificate mismatch explained ($order)"
done
expect_fail "s_client: SE key with a certificate that is not its own" timeout 8 openssl s_client "${P[@]}" -connect 127.0.0.1:1 -key se05x:0xF0000000 -cert self.pem
has "$T/err" "key values mismatch|does not match" "client-side mismatch explained"

sim_stop TERM
expect_fail "SE stops: signing fails cleanly" openssl dgst "${P[@]}" -sha256 -sign se05x:0xF0000000 -out bad.sig msg
has "$T/err" "cannot open a session with the SE05x" "SE gone: clear error"

echo "provider_openssl: $fails failure(s)"
[ "$fails" -eq 0 ]
