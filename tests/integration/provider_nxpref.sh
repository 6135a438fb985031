#!/usr/bin/env bash
# NXP's magic-number reference PEMs (migration from NXP's middleware) through
# the se05x OpenSSL provider, against se05x-sim over JRCP: files written by
# `se05x refpem --nxp` for the factory EC key 0xF0000000, the RSA key
# 0xF0000004 and a generated P-384 key load as the SE keys with either
# provider order, through Python's ssl (OPENSSL_CONF, SSL_CTX_use_PrivateKey_file)
# and through the openssl CLI (file: store). Every signature is verified by
# the default provider alone with the SE key's public key. A magic file
# naming a missing object fails cleanly; a host key PEM is unaffected.
# Env: BUILD_DIR, SRC_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup provider_nxpref

command -v openssl >/dev/null || { echo "SKIP - no openssl CLI"; exit 0; }
it_need "$MOD/se05x.so"
V() { env -u OPENSSL_CONF -u OPENSSL_MODULES openssl "$@"; } # default provider only
P=(-provider-path "$MOD" -provider default -provider se05x)

sim_start "$T/card"
export OPENSSL_MODULES="$MOD"
cd "$T"
printf 'message signed through an NXP reference key\n' >msg

# two configurations: default first (the example) and se05x first
cp "$SRC_DIR/examples/openssl/openssl.cnf" def_first.cnf
sed -e '/^default = default_sect$/d' -e 's/^se05x = se05x_sect$/se05x = se05x_sect\ndefault = default_sect/' \
    def_first.cnf >se_first.cnf
grep -A2 '^\[provider_sect\]' se_first.cnf | grep -q '^se05x' || bad "se_first.cnf lists se05x first"

expect_rc 0 "generate a P-384 key in the SE" "$CLI" gen ec 0x30000384 --curve P-384
for k in ec:0xF0000000 rsa:0xF0000004 p384:0x30000384; do
    n=${k%%:*} id=${k#*:}
    expect_rc 0 "refpem --nxp $n" "$CLI" refpem "$id" "$n.pem" --nxp
    expect_rc 0 "public key of $id" openssl pkey "${P[@]}" -in "se05x:$id" -pubout -out "$n.pub"
    expect_rc 0 "certificate for $id" openssl req "${P[@]}" -new -x509 -key "se05x:$id" \
        -subj "/CN=$n" -days 2 -out "$n.crt"
done
has ec.pem "BEGIN EC PRIVATE KEY" "NXP EC file is an EC PRIVATE KEY"
has rsa.pem "BEGIN RSA PRIVATE KEY" "NXP RSA file is an RSA PRIVATE KEY"
V pkey -in ec.pem -text -noout >ectext 2>&1
has ectext "a5:a6:b5:b6" "the EC file carries NXP's magic"

# a reference to an object that is gone; a plain host key
expect_rc 0 "generate a key to delete" "$CLI" gen ec 0x30000010
expect_rc 0 "refpem --nxp of it" "$CLI" refpem 0x30000010 gone.pem --nxp
expect_rc 0 "certificate for it" openssl req "${P[@]}" -new -x509 -key se05x:0x30000010 \
    -subj /CN=gone -days 2 -out gone.crt
expect_rc 0 "delete it" "$CLI" erase 0x30000010
# a reference whose id now holds another key (deleted, generated again)
expect_rc 0 "generate a key to replace" "$CLI" gen ec 0x30000011
expect_rc 0 "refpem --nxp of it" "$CLI" refpem 0x30000011 reused.pem --nxp
expect_rc 0 "certificate for it" openssl req "${P[@]}" -new -x509 -key se05x:0x30000011 \
    -subj /CN=reused -days 2 -out reused.crt
expect_rc 0 "delete it" "$CLI" erase 0x30000011
expect_rc 0 "another key at the same id" "$CLI" gen ec 0x30000011
# a public key stored in the SE: NXP's public-key class (0x20)
expect_rc 0 "store a public key in the SE" "$CLI" set pub 0x30000020 ec.pub
expect_rc 0 "refpem --nxp of a public key" "$CLI" refpem 0x30000020 pubonly.pem --nxp
V genpkey -algorithm EC -pkeyopt group:P-256 -out host.pem
V pkey -in host.pem -pubout -out host.pub
V req -new -x509 -key host.pem -subj /CN=host -days 2 -out host.crt

for cnf in def_first se_first; do
    export OPENSSL_CONF="$T/$cnf.cnf"
    for n in ec rsa p384; do
        # openssl CLI: the file: store
        expect_rc 0 "$cnf: pkey -in $n.pem -pubout" openssl pkey -in "$n.pem" -pubout -out "$n.cli.pub"
        if cmp -s "$n.cli.pub" "$n.pub"; then ok "$cnf: $n: the CLI sees the SE key's public key"
        else bad "$cnf: $n: the CLI sees another public key"; fi
        openssl pkey -in "$n.pem" -text -noout >"$n.text" 2>&1
        has "$n.text" "held in the SE" "$cnf: $n: pkey -text shows an SE key"
        rm -f sig
        expect_rc 0 "$cnf: dgst -sign with $n.pem" openssl dgst -sha256 -sign "$n.pem" -out sig msg
        expect_rc 0 "$cnf: $n signature verifies (default provider, SE public key)" \
            V dgst -sha256 -verify "$n.pub" -signature sig msg
        V dgst -sha256 -binary msg >dgst
        rm -f sig
        expect_rc 0 "$cnf: pkeyutl -sign -inkey $n.pem" \
            openssl pkeyutl -sign -inkey "$n.pem" -in dgst -out sig -pkeyopt digest:sha256
        expect_rc 0 "$cnf: $n pkeyutl signature verifies" \
            V pkeyutl -verify -pubin -inkey "$n.pub" -in dgst -sigfile sig -pkeyopt digest:sha256
        # Python's ssl: SSL_CTX_use_PrivateKey_file, a TLS handshake signed by the SE
        if command -v python3 >/dev/null; then
            expect_rc 0 "$cnf: Python ssl serves TLS with $n.pem" \
                python3 "$SRC_DIR/tests/integration/provider/py_ssl_refkey.py" "$n.crt" "$n.pem"
            has "$T/out" "echo: hello TLSv1" "$cnf: $n: TLS echo through the SE key"
        fi
    done

    # migration: the CLI rewrites an NXP file as our reference, which it reads too
    expect_rc 0 "$cnf: pkey -in ec.pem -out (conversion)" openssl pkey -in ec.pem -out ec.ours.pem
    has ec.ours.pem "BEGIN SE05X KEY REFERENCE" "$cnf: NXP file converted to an SE05X KEY REFERENCE"
    expect_rc 0 "$cnf: dgst -sign with the converted reference" openssl dgst -sha256 -sign ec.ours.pem -out sig msg
    expect_rc 0 "$cnf: converted reference signature verifies" V dgst -sha256 -verify ec.pub -signature sig msg

    # NXP reference as PKCS#8 "PRIVATE KEY"
    V pkcs8 -topk8 -nocrypt -in ec.pem -out ec.p8.pem
    rm -f sig
    expect_rc 0 "$cnf: dgst -sign with a PKCS#8 NXP reference" openssl dgst -sha256 -sign ec.p8.pem -out sig msg
    expect_rc 0 "$cnf: PKCS#8 NXP reference signature verifies" V dgst -sha256 -verify ec.pub -signature sig msg
    expect_rc 0 "$cnf: Python ssl with a PKCS#8 NXP reference" \
        python3 "$SRC_DIR/tests/integration/provider/py_ssl_refkey.py" ec.crt ec.p8.pem

    # one file holding certificate and key (either order) for both arguments
    cat ec.crt ec.pem >ec.both1.pem
    cat ec.pem ec.crt >ec.both2.pem
    for f in ec.both1.pem ec.both2.pem; do
        expect_rc 0 "$cnf: Python ssl with certificate and NXP key in one file ($f)" \
            python3 "$SRC_DIR/tests/integration/provider/py_ssl_refkey.py" "$f" "$f"
    done

    # a magic file naming a missing object: clear error, never a signature
    expect_fail "$cnf: CLI refuses a reference to a missing object" \
        openssl dgst -sha256 -sign gone.pem -out sig msg
    has "$T/err" "no such object" "$cnf: missing object: clear error"
    expect_fail "$cnf: Python ssl refuses a reference to a missing object" \
        python3 "$SRC_DIR/tests/integration/provider/py_ssl_refkey.py" gone.crt gone.pem
    expect_fail "$cnf: CLI refuses a reference whose id holds another key" \
        openssl dgst -sha256 -sign reused.pem -out sig msg
    has "$T/err" "is not that key's" "$cnf: reused id: clear error"
    expect_fail "$cnf: Python ssl refuses a reference whose id holds another key" \
        python3 "$SRC_DIR/tests/integration/provider/py_ssl_refkey.py" reused.crt reused.pem
    expect_fail "$cnf: CLI cannot sign with a reference to a public key" \
        openssl dgst -sha256 -sign pubonly.pem -out sig msg
    has "$T/err" "0x30000020, a public key" "$cnf: public-key reference: clear error"
    expect_fail "$cnf: Python ssl cannot serve with a reference to a public key" \
        python3 "$SRC_DIR/tests/integration/provider/py_ssl_refkey.py" ec.crt pubonly.pem
    # a host key is still a host key
    expect_rc 0 "$cnf: host key signs" openssl dgst -sha256 -sign host.pem -out sig msg
    expect_rc 0 "$cnf: host key signature verifies" V dgst -sha256 -verify host.pub -signature sig msg
    openssl pkey -in host.pem -text -noout >host.text 2>&1
    if grep -q "held in the SE" host.text; then bad "$cnf: host key captured"; else ok "$cnf: host key not captured"; fi
    expect_rc 0 "$cnf: Python ssl with a host key" \
        python3 "$SRC_DIR/tests/integration/provider/py_ssl_refkey.py" host.crt host.pem
    unset OPENSSL_CONF
done
# no TLS server ran with a fake key: every handshake above verified the
# certificate, whose key is the SE key
[ "$fails" -eq 0 ] && echo "all provider_nxpref checks passed"
[ "$fails" -eq 0 ]
