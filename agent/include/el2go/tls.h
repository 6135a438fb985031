/* TLS client of the EdgeLock 2GO device link (spec §3): OpenSSL 3 with the
 * `se05x` provider (plus the default provider) loaded into a dedicated
 * OSSL_LIB_CTX, the client key and certificate taken from the SE through
 * OSSL_STORE (`se05x:0xF0000000` + `se05x:0xF0000001`, falling back to the
 * RSA pair 0xF0000004/05; the private key never leaves the SE), trusted
 * roots given as concatenated DER, TLS 1.2..1.3 with the suites of spec §3,
 * SNI and hostname check against the configured host, connect and I/O
 * timeouts. One connection at a time per el2go_tls; el2go_tls_stream gives
 * the dispatcher an el2go_stream over it, el2go_tls_peer_chain feeds the
 * CRL check. */
#ifndef EL2GO_TLS_H
#define EL2GO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "el2go/common.h"
#include "el2go/frame.h"

/* Why a TLS call failed (for messages and exit codes). */
typedef enum {
    EL2GO_TLS_OK = 0,
    EL2GO_TLS_CONFIG,      /* bad configuration: no roots, unreadable file, no provider module */
    EL2GO_TLS_SE,          /* the SE cannot be reached */
    EL2GO_TLS_NO_KEY,      /* no client key / certificate in the SE */
    EL2GO_TLS_CONNECT,     /* DNS, TCP connect failure or timeout */
    EL2GO_TLS_UNTRUSTED,   /* server certificate chain not trusted */
    EL2GO_TLS_HOSTNAME,    /* server certificate does not match the host */
    EL2GO_TLS_HANDSHAKE,   /* other handshake failure (alert from the server, ...) */
    EL2GO_TLS_IO,          /* I/O error or timeout after the handshake */
} el2go_tls_failure;

const char *el2go_tls_failure_name(el2go_tls_failure f);

typedef struct {
    /* SE connection string handed to the provider (its `se05x_port`);
     * NULL: the provider's default (SE05X_PORT, else 127.0.0.1:8050). */
    const char *se;
    /* Platform SCP03 key file handed to the provider (its `scp03_keyfile`);
     * NULL: the provider's default (SE05X_SCP03_KEYFILE / SE05X_AUTH). */
    const char *scp03_keyfile;
    /* Directory holding se05x.so; NULL: env EL2GO_PROVIDER_DIR, env
     * OPENSSL_MODULES, then the build-time EL2GO_PROVIDER_DEFAULT_DIR. */
    const char *provider_dir;
    /* Client key / certificate object ids; 0/0: the EC pair 0xF0000000/01,
     * falling back to the RSA pair 0xF0000004/05 when the EC key is absent. */
    uint32_t key_id, cert_id;
    const uint8_t *roots; /* trusted roots, concatenated DER (required) */
    size_t roots_len;
    unsigned connect_timeout_ms; /* 0: 10 s */
    unsigned io_timeout_ms;      /* 0: 60 s (each read / write) */
} el2go_tls_cfg;

typedef struct el2go_tls el2go_tls;

/* Load the providers, the client key and certificate from the SE (the key
 * must match the certificate) and build the SSL_CTX. On failure *why and
 * err say what went wrong. */
el2go_status el2go_tls_new(const el2go_tls_cfg *cfg, el2go_tls **out, el2go_tls_failure *why,
                           char *err, size_t errlen);
void el2go_tls_free(el2go_tls *t);

/* The object ids actually used (after the RSA fallback). */
void el2go_tls_client_ids(const el2go_tls *t, uint32_t *key_id, uint32_t *cert_id);
/* The client certificate read from the SE (borrowed). */
X509 *el2go_tls_client_cert(const el2go_tls *t);

/* TCP connect (timeout), handshake with SNI = host and hostname check. */
el2go_status el2go_tls_connect(el2go_tls *t, const char *host, uint16_t port,
                               el2go_tls_failure *why, char *err, size_t errlen);
/* Stream over the current connection (valid until el2go_tls_close). */
void el2go_tls_stream(el2go_tls *t, el2go_stream *s);
/* Server chain as sent, leaf first (a copy taken after the handshake,
 * borrowed until el2go_tls_close; NULL when not connected). */
STACK_OF(X509) * el2go_tls_peer_chain(el2go_tls *t);
/* Negotiated protocol / cipher names ("" when not connected). */
const char *el2go_tls_version(el2go_tls *t);
const char *el2go_tls_cipher(el2go_tls *t);
/* After the last read/write error: what failed (EL2GO_TLS_IO or _OK). */
el2go_tls_failure el2go_tls_io_failure(const el2go_tls *t, char *err, size_t errlen);
/* End the connection: close_notify when graceful, then wait briefly for
 * the server's close_notify or EOF; closes the socket. Safe to call twice. */
void el2go_tls_close(el2go_tls *t, bool graceful);

/* Read a PEM file of certificates into concatenated DER (malloc'ed). */
el2go_status el2go_pem_file_to_der(const char *path, uint8_t **der, size_t *len, char *err,
                                   size_t errlen);

#endif
