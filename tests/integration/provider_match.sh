#!/usr/bin/env bash
# Integration test of the se05x provider with SE keys whose object policy
# forbids reading the public part (no READ: ReadObject answers 6986), with
# the system's openssl 3 CLI against se05x-sim over JRCP
# (provider/openssl/keycert.c, docs/provider.md "Keys with an unreadable
# public part"): the public part comes from the SE's certificate at id+1
# (EdgeLock 2GO's convention) or from another certificate found by
# enumeration, proven by an SE signature; pkey -pubout, req, TLS 1.3 and 1.2
# servers (s_server matches key and certificate through keymgmt match),
# a wrong certificate refused, a key with no certificate in the SE loads
# but its public part fails with a clear error, and a certificate file
# proves it by an SE signature. Keys are made on the host and imported with
# the policy sign,verify (the certificate needs the public key); one is
# generated in the SE. Signatures are checked by the default provider alone.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup provider_match

command -v openssl >/dev/null || { echo "SKIP - no openssl CLI"; exit 0; }
it_need "$MOD/se05x.so" "$SIM" "$CLI"
P=(-provider-path "$MOD" -provider default -provider se05x)
DF="-provider-path $MOD -provider default -provider se05x"
SF="-provider-path $MOD -provider se05x -provider default"
V() { env -u OPENSSL_CONF -u OPENSSL_MODULES openssl "$@"; } # default provider alone

sim_start "$T/card"
cd "$T" || exit 1

# ---- provisioning: keys without READ in their policy, certificates ---------
cert() { V req -x509 -new -key "$1" -subj "/CN=localhost" -days 1 -out "$2" 2>/dev/null; }
V genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out kA.pem 2>/dev/null
V genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out kB.pem 2>/dev/null
V genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out kC.pem 2>/dev/null
V genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out kD.pem 2>/dev/null
V genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out kR.pem 2>/dev/null
for k in A B C D R; do cert "k$k.pem" "c$k.pem"; V x509 -in "c$k.pem" -pubkey -noout >"pub$k.pem"; done
A=0x30100000 C=0x30100010 D=0x30100020 DCERT=0x30100030 G=0x30100040 R=0x30100050
expect_rc 0 "EC key A imported with policy sign,verify (no read)" "$CLI" set key $A kA.pem --policy sign,verify
expect_rc 0 "certificate of A at id+1" "$CLI" set cert 0x30100001 cA.pem
expect_rc 1 "the SE refuses to read A's public key" "$CLI" get pub $A -
has "$T/err" "denied by the object's policy" "A: read refused by the policy"
expect_rc 0 "EC key C imported without read, no certificate in the SE" "$CLI" set key $C kC.pem --policy sign,verify
expect_rc 0 "EC key D imported without read" "$CLI" set key $D kD.pem --policy sign,verify
expect_rc 0 "a decoy certificate (another key's) at D's id+1" "$CLI" set cert 0x30100021 cB.pem
expect_rc 0 "D's certificate elsewhere" "$CLI" set cert $DCERT cD.pem
expect_rc 0 "EC key G generated in the SE without read" "$CLI" gen ec $G --policy sign,verify
has "$T/err" "not readable under its policy" "G: public key not readable"
# the SE's RSA signature path is a raw RSA decryption: decrypt is needed too
expect_rc 0 "RSA key R imported without read" "$CLI" set key $R kR.pem --policy sign,verify,decrypt
expect_rc 0 "certificate of R at id+1" "$CLI" set cert 0x30100051 cR.pem

# ---- public part from the SE's certificate -----------------------------------
expect_rc 0 "pkey -pubout of A" openssl pkey "${P[@]}" -in se05x:$A -pubout -out A.pub
cmp -s A.pub pubA.pem && ok "A's public key is its certificate's" || bad "A's public key differs from its certificate's"
expect_rc 0 "pkey -pubout of D (certificate found by enumeration past a decoy)" openssl pkey "${P[@]}" -in se05x:$D -pubout -out D.pub
cmp -s D.pub pubD.pem && ok "D's public key is its own certificate's, not the decoy's" || bad "D's public key is not its certificate's"
expect_rc 0 "pkey -pubout of RSA key R" openssl pkey "${P[@]}" -in se05x:$R -pubout -out R.pub
cmp -s R.pub pubR.pem && ok "R's public key is its certificate's" || bad "R's public key differs"
expect_rc 0 "req -new with A" openssl req "${P[@]}" -new -key se05x:$A -subj /CN=device -out A.csr
expect_rc 0 "default provider verifies A's CSR" V req -in A.csr -verify -noout
V req -in A.csr -pubkey -noout >csr.pub 2>/dev/null
cmp -s csr.pub pubA.pem && ok "A's CSR carries the certificate's key" || bad "A's CSR key differs"
printf 'signed by an SE key whose public part is unreadable\n' >msg
expect_rc 0 "dgst -sign with A" openssl dgst "${P[@]}" -sha256 -sign se05x:$A -out msg.sig msg
expect_rc 0 "default provider verifies A's signature" V dgst -sha256 -verify pubA.pem -signature msg.sig msg

# APDUs: loading A costs 3 more than a readable key (the refused read is in
# place of the public read; ReadSize + ReadObject of the certificate; one
# proof signature); the provider logs its count when unloaded.
apdus_of() { rm -f apdu.log; SE05X_PROVIDER_LOG=$T/apdu.log openssl pkey "${P[@]}" -in "$1" -pubout >/dev/null 2>&1
    sed -n 's/.*unloaded after \([0-9]*\) APDUs.*/\1/p' apdu.log; }
n_normal=$(apdus_of se05x:0xF0000000); n_a=$(apdus_of se05x:$A)
if [ -n "$n_normal" ] && [ -n "$n_a" ] && [ $((n_a - n_normal)) -eq 3 ]; then
    ok "unreadable key with its certificate at id+1: 3 extra APDUs ($n_a vs $n_normal)"
else bad "APDUs: readable key '$n_normal', unreadable key '$n_a' (want +3)"; fi

# ---- TLS: s_server matches the key and the certificate (keymgmt match) ----
tls() { # tls NAME "PROVIDER ARGS" "S_SERVER ARGS" "S_CLIENT ARGS" ["S_CLIENT PROVIDER ARGS"]
    local name=$1 prov=$2 sargs=$3 cargs=$4 cprov=${5:-} port; port=$(free_port)
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
tls "A with its certificate, TLS 1.3" "$DF" "-key se05x:$A -cert cA.pem" "-tls1_3 -CAfile cA.pem -verify_return_error"
tls "A, TLS 1.3, se05x listed first" "$SF" "-key se05x:$A -cert cA.pem" "-tls1_3 -CAfile cA.pem -verify_return_error"
tls "A with the certificate read from the SE, TLS 1.2" "$DF" "-key se05x:$A -cert se05x:0x30100001" "-tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -CAfile cA.pem -verify_return_error"
tls "RSA key R, TLS 1.3 (RSA-PSS)" "$DF" "-key se05x:$R -cert cR.pem" "-tls1_3 -CAfile cR.pem -verify_return_error"
tls "C (no certificate in the SE) with its certificate file: proven by an SE signature" "$DF" "-key se05x:$C -cert cC.pem" "-tls1_3 -CAfile cC.pem -verify_return_error"
tls "mutual TLS 1.3, client A with its certificate from the SE" "$DF" "-key se05x:$R -cert cR.pem -Verify 1 -verify_return_error -CAfile cA.pem" "-tls1_3 -CAfile cR.pem -key se05x:$A -cert se05x:0x30100001" "$DF"
has "$T/srv.log" "Client certificate|subject=CN = localhost" "server saw A's client certificate"

expect_fail "s_server with A and another key's certificate" timeout 8 openssl s_server "${P[@]}" -accept 127.0.0.1:"$(free_port)" -naccept 1 -key se05x:$A -cert cB.pem
has "$T/err" "key values mismatch" "wrong certificate: key/cert mismatch reported"
expect_fail "s_server with C and another key's certificate (proof fails)" timeout 8 openssl s_server "${P[@]}" -accept 127.0.0.1:"$(free_port)" -naccept 1 -key se05x:$C -cert cB.pem
has "$T/err" "key values mismatch" "wrong certificate for C: mismatch reported"
expect_fail "s_server with G (made in the SE, no certificate) and A's certificate" timeout 8 openssl s_server "${P[@]}" -accept 127.0.0.1:"$(free_port)" -naccept 1 -key se05x:$G -cert cA.pem
has "$T/err" "key values mismatch" "G: mismatch reported"

# ---- no certificate in the SE: loads, public part fails clearly -------------
for k in C G; do
    id=$([ $k = C ] && echo $C || echo $G)
    expect_rc 0 "$k loads (pkey -noout)" openssl pkey "${P[@]}" -in se05x:$id -noout
    expect_fail "pkey -pubout of $k" openssl pkey "${P[@]}" -in se05x:$id -pubout
    has "$T/err" "public part of $id is not readable and no certificate in the SE matches it" "$k: clear error"
    [ -s "$T/out" ] && bad "$k: nothing written on failure" || ok "$k: nothing written on failure"
done
expect_fail "req -new with G" openssl req "${P[@]}" -new -key se05x:$G -subj /CN=x -out G.csr
has "$T/err" "is not readable and no certificate in the SE matches it" "req with G: clear error"
expect_fail "dgst -sign with G" openssl dgst "${P[@]}" -sha256 -sign se05x:$G -out g.sig msg
has "$T/err" "is not readable and no certificate in the SE matches it" "signing with G: clear error"

[ "$fails" -eq 0 ] && echo "all provider_match checks passed" || echo "$fails provider_match checks FAILED"
[ "$fails" -eq 0 ]
