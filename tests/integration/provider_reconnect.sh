#!/usr/bin/env bash
# Integration test: a long-running OpenSSL server keeps working across an SE
# outage. `openssl s_server -key se05x:0xF0000000` (JRCP to a se05x-sim
# daemon with --dir state) serves a TLS 1.3 handshake; the daemon is killed:
# handshakes fail cleanly and the server stays up; the daemon is restarted
# on the same port and directory: the next handshakes succeed in the same
# server process (hostlib re-opens the link, SELECTs and re-opens the
# session before the next command). Run without authentication and with a
# UserID session (the session is re-established too). Env: BUILD_DIR, SRC_DIR.
set -u
# shellcheck source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup provider_reconnect
SRVPID=
it_on_exit() { # the s_server of the current round, before the daemon
    [ -n "$SRVPID" ] && kill -TERM "$SRVPID" 2>/dev/null && wait "$SRVPID" 2>/dev/null
}

command -v openssl >/dev/null || { echo "SKIP - no openssl CLI"; exit 0; }
it_need "$MOD/se05x.so" "$SIM" "$CLI"
P=(-provider-path "$MOD" -provider default -provider se05x)

sim_start "$T/card"
J=$SE05X_PORT
cd "$T" || exit 1
expect_rc 0 "server certificate for the SE key" openssl req "${P[@]}" -x509 -new -key se05x:0xF0000000 \
    -subj /CN=localhost -days 1 -out srv.pem
# a UserID auth object for the second round (written raw, as the CLI tests do)
expect_rc 0 "sim: UserID auth object 0x7DA00001" "$CLI" --port "$J" apdu 804107000D 41047DA00001 4205C001020304
echo C001020304 >userid.hex
printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'providers = provider_sect' \
    '[provider_sect]' 'default = default_sect' 'se05x = se05x_sect' '[default_sect]' 'activate = 1' \
    '[se05x_sect]' "module = $MOD/se05x.so" 'activate = 1' "se05x_port = $J" \
    'auth = userid' 'auth_id = 0x7DA00001' "auth_secret_file = $T/userid.hex" >userid.cnf
# a key only a 0x7DA00001 session may use: signing after the restart proves
# that the UserID session itself was re-established, not just the link
expect_rc 0 "UserID-only key 0x30000200" env OPENSSL_CONF="$T/userid.cnf" openssl genpkey -propquery provider=se05x \
    -algorithm EC -pkeyopt se05x-id:0x30000200 -pkeyopt "se05x-policy:0x7DA00001:sign,read" -out uref.pem
expect_rc 0 "its server certificate" env OPENSSL_CONF="$T/userid.cnf" openssl req -x509 -new -key se05x:0x30000200 \
    -subj /CN=localhost -days 1 -out usrv.pem

handshake() { # handshake PORT: one TLS 1.3 handshake verified against $CERT
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -tls1_3 -CAfile "$CERT" \
        -verify_return_error >cli.log 2>&1 && grep -q 'Verify return code: 0' cli.log
}

# one round: NAME KEY CERT and the s_server command (provider arguments or
# environment)
round() {
    local name=$1 key=$2; CERT=$3; shift 3
    local port; port=$(free_port)
    rm -f srv.log prov.log
    env SE05X_PROVIDER_LOG="$T/prov.log" "$@" -accept "127.0.0.1:$port" -key "$key" \
        -cert "$CERT" -www >srv.log 2>&1 < <(sleep 120 2>/dev/null) &
    SRVPID=$!
    for _ in $(seq 1 100); do grep -q '^ACCEPT' srv.log 2>/dev/null && break; sleep 0.1; done
    if handshake "$port"; then ok "$name: handshake with the SE up"; else bad "$name: first handshake"; sed 's/^/     /' srv.log | tail -5; fi

    sim_stop KILL # an outage, not a shutdown
    if handshake "$port"; then bad "$name: handshake succeeded with the SE killed"; else ok "$name: handshake fails with the SE killed"; fi
    if handshake "$port"; then bad "$name: handshake succeeded with the SE down"; else ok "$name: handshake fails while the SE is down"; fi
    if kill -0 "$SRVPID" 2>/dev/null; then ok "$name: server still running"; else bad "$name: server died"; fi
    has srv.log "link to the SE failed" "$name: server logged the link failure"
    has srv.log "reconnecting failed" "$name: server logged the failed reconnect while the SE is down"

    sim_restart # same port and directory
    if handshake "$port"; then ok "$name: handshake after the SE came back, same server process"
    else bad "$name: no handshake after the SE came back"; sed 's/^/     /' srv.log | tail -5; fi
    if handshake "$port"; then ok "$name: and the next one"; else bad "$name: second handshake after restart"; fi
    if kill -0 "$SRVPID" 2>/dev/null; then ok "$name: same server process throughout"; else bad "$name: server gone"; fi
    has prov.log "session open" "$name: provider log shows the session"
    [ "$(grep -c 'session open' prov.log)" -eq 1 ] && ok "$name: the sss session was opened once (relinked, not re-created)" \
        || bad "$name: session opened $(grep -c 'session open' prov.log) times"
    kill -TERM "$SRVPID" 2>/dev/null; wait "$SRVPID" 2>/dev/null; SRVPID=
}

round "no auth" se05x:0xF0000000 srv.pem openssl s_server "${P[@]}"
round "UserID session" se05x:0x30000200 usrv.pem env OPENSSL_CONF="$T/userid.cnf" openssl s_server

echo "$fails failure(s)"
[ $fails -eq 0 ]
