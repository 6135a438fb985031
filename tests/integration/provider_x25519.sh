#!/usr/bin/env bash
# X25519 keys held in the SE through the se05x OpenSSL provider, with the
# system's openssl 3 CLI against its own se05x-sim daemon over JRCP:
# generation in the SE at an id (overwrite rules, no id = refused), public
# key and text output read by the default provider alone, the key reference,
# store listing, pkeyutl -derive both ways (SE key + host public key, host
# key + SE public key: equal secrets) in both provider orders, host X25519
# keys not captured, errors (EC peer, signing, EC key with X25519 peer), and one TLS 1.3
# handshake (default listed first, EC SE server key) to show that TLS is
# unaffected. Env: BUILD_DIR, SRC_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup provider_x25519

command -v openssl >/dev/null || { echo "SKIP - no openssl CLI"; exit 0; }
it_need "$MOD/se05x.so"
P=(-provider-path "$MOD" -provider se05x -provider default)
PD=(-provider-path "$MOD" -provider default -provider se05x) # default first
G=("${P[@]}" -propquery provider=se05x)
# The default provider alone: no se05x, no openssl.cnf.
V() { env -u OPENSSL_CONF -u OPENSSL_MODULES openssl "$@"; }

sim_start "$T/card"
cd "$T" || exit 1

# ---- generation in the SE ------------------------------------------------------------
expect_rc 0 "genpkey X25519 in the SE at 0x30000010" openssl genpkey "${G[@]}" -algorithm X25519 -pkeyopt se05x-id:0x30000010 -out ref.pem
has ref.pem "BEGIN SE05X KEY REFERENCE" "genpkey writes a key reference, not a key"
expect_fail "generating over the existing object is refused" openssl genpkey "${G[@]}" -algorithm X25519 -pkeyopt se05x-id:0x30000010 -out ref2.pem
has "$T/err" "already exists; set se05x-overwrite:1" "existing object: error says how to replace it"
expect_fail "generation without se05x-id is refused (no host key)" openssl genpkey "${G[@]}" -algorithm X25519 -out ref3.pem
has "$T/err" "set se05x-id" "no id: error names se05x-id"
expect_rc 0 "se05x-overwrite:1 makes a new key at 0x30000011" openssl genpkey "${G[@]}" -algorithm X25519 -pkeyopt se05x-id:0x30000011 -out ref4.pem
openssl pkey "${P[@]}" -in se05x:0x30000011 -pubout -out old11.pem 2>/dev/null
expect_rc 0 "se05x-overwrite:1 replaces it" openssl genpkey "${G[@]}" -algorithm X25519 -pkeyopt se05x-id:0x30000011 -pkeyopt se05x-overwrite:1 -out ref4.pem
openssl pkey "${P[@]}" -in se05x:0x30000011 -pubout -out new11.pem 2>/dev/null
if [ -s old11.pem ] && [ -s new11.pem ] && ! cmp -s old11.pem new11.pem; then ok "the replaced key is a new key"
else bad "the replaced key is a new key"; fi

# ---- public key, text, reference, listing --------------------------------------------
expect_rc 0 "pkey -pubout of the SE key" openssl pkey "${P[@]}" -in se05x:0x30000010 -pubout -out sepub.pem
expect_rc 0 "the default provider alone parses it" V pkey -pubin -in sepub.pem -text -noout
has "$T/out" "X25519 Public-Key" "it is an X25519 public key"
expect_rc 0 "DER SubjectPublicKeyInfo" openssl pkey "${P[@]}" -in se05x:0x30000010 -pubout -outform DER -out sepub.der
expect_rc 0 "DER and PEM are the same key" V pkey -pubin -inform DER -in sepub.der -pubout -out sepub2.pem
same sepub.pem sepub2.pem "DER equals PEM"
expect_rc 0 "text of the SE key" openssl pkey "${P[@]}" -in se05x:0x30000010 -text -noout
has "$T/out" "SE05x X25519 key, private key held in the SE at se05x:0x30000010" "text names the SE object"
has "$T/out" "X25519 Public-Key" "text shows the public key"
expect_rc 0 "pkey -in se05x:0x... writes a key reference" openssl pkey "${P[@]}" -in se05x:0x30000010 -out ref5.pem
has ref5.pem "BEGIN SE05X KEY REFERENCE" "reference, not a key"
same ref.pem ref5.pem "same reference as genpkey wrote"
expect_rc 0 "storeutl se05x: lists objects" openssl storeutl "${P[@]}" se05x:
has "$T/out" "Name: se05x:0x30000010" "listing shows the X25519 key"
grep -A1 "Name: se05x:0x30000010" "$T/out" >entry
has entry "EC key pair, X25519" "listing describes it as X25519"
expect_rc 0 "storeutl -keys on the X25519 key" openssl storeutl "${P[@]}" -keys se05x:0x30000010
has "$T/out" "1 objects|Pkey" "the store hands the key to keymgmt"

# ---- key exchange both ways ----------------------------------------------------------
V genpkey -algorithm X25519 -out host.pem 2>/dev/null
V pkey -in host.pem -pubout -out hostpub.pem
expect_rc 0 "derive with the SE key and a host public key" openssl pkeyutl "${P[@]}" -derive -inkey se05x:0x30000010 -peerkey hostpub.pem -out s_se.bin
expect_rc 0 "derive on the host side (default provider alone)" V pkeyutl -derive -inkey host.pem -peerkey sepub.pem -out s_host.bin
if [ "$(stat -c %s s_se.bin 2>/dev/null)" = 32 ]; then ok "secret is 32 bytes"; else bad "secret is 32 bytes"; fi
same s_se.bin s_host.bin "both sides derive the same secret"
expect_rc 0 "derive with default listed first" openssl pkeyutl "${PD[@]}" -derive -inkey se05x:0x30000010 -peerkey hostpub.pem -out s_se2.bin
same s_se2.bin s_host.bin "same secret in the other provider order"
expect_rc 0 "two SE keys: 0x30000010 with 0x30000011 as peer" openssl pkeyutl "${P[@]}" -derive -inkey se05x:0x30000010 -peerkey se05x:0x30000011 -out s_10_11.bin
expect_rc 0 "two SE keys: 0x30000011 with 0x30000010 as peer" openssl pkeyutl "${P[@]}" -derive -inkey se05x:0x30000011 -peerkey se05x:0x30000010 -out s_11_10.bin
same s_10_11.bin s_11_10.bin "two SE keys agree"
expect_rc 0 "host key with the SE public key by URI as peer" openssl pkeyutl "${P[@]}" -derive -inkey host.pem -peerkey se05x:0x30000010 -out s_host2.bin
same s_host2.bin s_host.bin "same secret with the peer read from the SE"

# host keys stay with the default provider (se05x listed first)
V genpkey -algorithm X25519 -out host2.pem 2>/dev/null
V pkey -in host2.pem -pubout -out host2pub.pem
V pkeyutl -derive -inkey host2.pem -peerkey hostpub.pem -out s_hh.bin
expect_rc 0 "host X25519 derive with se05x loaded first" env SE05X_PROVIDER_LOG="$T/log" openssl pkeyutl "${P[@]}" -derive -inkey host.pem -peerkey host2pub.pem -out s_hh2.bin
same s_hh2.bin s_hh.bin "host X25519 unaffected (not captured)"
has "$T/log" "unloaded after 0 APDUs" "no SE operation for a host key"
expect_rc 0 "host X25519 generation with default listed first" openssl genpkey "${PD[@]}" -algorithm X25519 -out host3.pem
has host3.pem "BEGIN PRIVATE KEY" "it is a host key"

# ---- errors ---------------------------------------------------------------------------
V genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
V pkey -in ec.pem -pubout -out ecpub.pem
expect_fail "derive with an EC peer key is refused" openssl pkeyutl "${P[@]}" -derive -inkey se05x:0x30000010 -peerkey ecpub.pem -out bad.bin
has "$T/err" "peer key|not supported for this keytype" "EC peer: error says the peer key does not fit"
if [ -s bad.bin ]; then bad "EC peer: no secret written"; else ok "EC peer: no secret written"; fi
expect_fail "ECDH with the SE EC key and an X25519 peer is refused" openssl pkeyutl "${P[@]}" -derive -inkey se05x:0xF0000000 -peerkey hostpub.pem -out bad2.bin
expect_fail "signing with an X25519 key is refused" openssl pkeyutl "${P[@]}" -sign -inkey se05x:0x30000010 -in s_host.bin -out bad.sig
has "$T/err" "not supported for this keytype" "signing: error says the key type cannot sign"

# ---- TLS unaffected (default listed first, EC SE server key, TLS 1.3 over X25519) -----
expect_rc 0 "self-signed EC server certificate" openssl req "${PD[@]}" -x509 -new -key se05x:0xF0000000 -subj /CN=localhost -days 1 -out ecsrv.pem
port=$(free_port)
timeout 8 openssl s_server "${PD[@]}" -accept "127.0.0.1:$port" -naccept 1 -key se05x:0xF0000000 -cert ecsrv.pem \
    >srv.log 2>&1 < <(sleep 8 2>/dev/null) &
spid=$!
for _ in $(seq 1 50); do grep -q '^ACCEPT' srv.log 2>/dev/null && break; sleep 0.1; done
(echo hello; sleep 0.5) | timeout 6 openssl s_client "${PD[@]}" -connect "127.0.0.1:$port" -tls1_3 -groups X25519 \
    -CAfile ecsrv.pem -verify_return_error >cli.log 2>&1
wait "$spid" 2>/dev/null
if grep -q '^hello' srv.log && grep -q 'Verify return code: 0' cli.log; then ok "TLS 1.3 over X25519 with an EC SE server key (default first)"
else bad "TLS 1.3 over X25519 with an EC SE server key (default first)"; sed 's/^/     /' srv.log cli.log | grep -iE 'error|alert' | head -8; fi
has cli.log "Server Temp Key: X25519" "the handshake used X25519"

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
