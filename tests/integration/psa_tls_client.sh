#!/usr/bin/env bash
# Integration test of examples/mbedtls/se05x-mbedtls-client: mbedTLS TLS 1.2
# (ECDHE-ECDSA, ECDHE-RSA) and TLS 1.3 (ECDSA, RSA-PSS) client authentication
# with the factory keys 0xF0000000 / 0xF0000004 of the se05x-sim daemon
# (over JRCP) and their certificates 0xF0000001 / 0xF0000005, against
# `openssl s_server -Verify 1 -CAfile factory-ca.pem`; asserts the server
# verified the SE's certificate and the reply came back. Negative: unknown
# key id, unreachable SE, wrong CA. Skipped when mbedTLS was not built.
# Env: BUILD_DIR.
set -u
BUILD_DIR=$(cd "${BUILD_DIR:-build}" && pwd)
SIM="$BUILD_DIR/sim/se05x-sim"
CLIENT="$BUILD_DIR/examples/mbedtls/se05x-mbedtls-client"
if [ ! -x "$CLIENT" ]; then
    echo "skip - se05x-mbedtls-client not built (mbedTLS 3.6 missing: scripts/mbedtls.sh)"
    exit 0
fi
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/psa_tls.XXXXXX")
SIMPID= SRVPID=
fails=0
cleanup() {
    [ -n "$SRVPID" ] && kill -KILL "$SRVPID" 2>/dev/null
    [ -n "$SIMPID" ] && { kill -KILL "$SIMPID"; wait "$SIMPID"; } 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
has() { # has FILE PATTERN DESCRIPTION
    if grep -qE -- "$2" "$1"; then ok "$3"; else bad "$3 (no /$2/ in $(basename "$1"))"; sed 's/^/     /' "$1"; fi
}
cd "$T" || exit 1   # PSA ITS files go to the current directory

"$SIM" --dir "$T/card" --port 0 --port-file "$T/port" --quiet &
SIMPID=$!
for _ in $(seq 1 300); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { echo "FAIL - se05x-sim did not start"; exit 1; }
J="127.0.0.1:$(cat "$T/port")"
CA="$T/card/factory-ca.pem"

# server certificate for localhost under the simulator's factory CA
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
    -subj /CN=localhost -out srv.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >ext
openssl x509 -req -in srv.csr -CA "$CA" -CAkey "$T/card/factory-ca-key.pem" -CAcreateserial \
    -days 1 -extfile ext -out srv.pem 2>/dev/null || { echo "FAIL - server certificate"; exit 1; }

start_server() { # start_server -> SRVPORT
    rm -f srv.out
    openssl s_server -accept 0 -cert srv.pem -key srv.key -Verify 1 -CAfile "$CA" \
        -verify_return_error -naccept 1 -rev >srv.out 2>&1 &
    SRVPID=$!
    SRVPORT=
    for _ in $(seq 1 100); do
        SRVPORT=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\)$/\1/p' srv.out)
        [ -n "$SRVPORT" ] && break
        sleep 0.1
    done
}
stop_server() {
    for _ in $(seq 1 50); do kill -0 "$SRVPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SRVPID" 2>/dev/null
    wait "$SRVPID" 2>/dev/null
    SRVPID=
}

handshake() { # handshake NAME KEY CERT VERSIONFLAG WANTVERSION
    local name=$1 key=$2 cert=$3 flag=$4 want=$5
    start_server
    [ -n "$SRVPORT" ] || { bad "$name: s_server did not start"; cat srv.out; return; }
    timeout 60 "$CLIENT" --port "$J" --key-id "$key" --cert-id "$cert" --ca "$CA" \
        --connect "localhost:$SRVPORT" "$flag" --send "ping $name" >cli.out 2>cli.err
    local rc=$?
    stop_server
    if [ "$rc" -eq 0 ]; then ok "$name: client exit 0"; else
        bad "$name: client exit $rc"; sed 's/^/     /' cli.out cli.err srv.out; return; fi
    has cli.out "^version: $want\$" "$name: negotiated $want"
    has cli.out "^ciphersuite: " "$name: prints the ciphersuite"
    has cli.out "^reply: $(echo "ping $name" | rev)\$" "$name: reply received"
    has srv.out "^Peer certificate: O = se05x-sim EdgeLock 2GO client" "$name: server saw the SE certificate"
    has srv.out "^Verification: OK" "$name: server verified it"
}

handshake ec-tls12 0xF0000000 0xF0000001 --tls1_2 TLSv1.2
has cli.out "ECDHE-ECDSA" "ec-tls12: ECDHE-ECDSA suite"
has srv.out "^Signature type: ECDSA" "ec-tls12: ECDSA client signature"
handshake ec-tls13 0xF0000000 0xF0000001 --tls1_3 TLSv1.3
handshake rsa-tls12 0xF0000004 0xF0000005 --tls1_2 TLSv1.2
has srv.out "^Signature type: RSA\$" "rsa-tls12: RSA PKCS#1 v1.5 signature"
handshake rsa-tls13 0xF0000004 0xF0000005 --tls1_3 TLSv1.3
has srv.out "Signature type: RSA-PSS" "rsa-tls13: RSA-PSS signature"
# second run reuses the PSA registration of the same SE key
handshake ec-again 0xF0000000 0xF0000001 --tls1_3 TLSv1.3

# ---- negative ----------------------------------------------------------
"$CLIENT" --port "$J" --key-id 0x21EEEEEE --cert-id 0xF0000001 --ca "$CA" \
    --connect localhost:1 >cli.out 2>cli.err
rc=$?
[ "$rc" -eq 1 ] && ok "unknown key id: exit 1" || bad "unknown key id: exit $rc"
has cli.err "key 0x21EEEEEE" "unknown key id: message names the key"
"$CLIENT" --port 127.0.0.1:1 --key-id 0xF0000000 --cert-id 0xF0000001 --ca "$CA" \
    --connect localhost:1 >cli.out 2>cli.err
rc=$?
[ "$rc" -eq 1 ] && ok "unreachable SE: exit 1" || bad "unreachable SE: exit $rc"
has cli.err "se05x-mbedtls-client: .*127.0.0.1:1|connect" "unreachable SE: clear message"
"$CLIENT" --port "$J" --key-id 0xF0000000 >cli.out 2>cli.err
rc=$?
[ "$rc" -eq 2 ] && ok "usage error: exit 2" || bad "usage error: exit $rc"
start_server
timeout 60 "$CLIENT" --port "$J" --key-id 0xF0000000 --cert-id 0xF0000001 --ca srv.pem \
    --connect "localhost:$SRVPORT" >cli.out 2>cli.err
rc=$?
stop_server
[ "$rc" -eq 1 ] && ok "untrusted server: exit 1" || bad "untrusted server: exit $rc"
has cli.err "handshake" "untrusted server: handshake error reported"

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
[ "$fails" -eq 0 ]
