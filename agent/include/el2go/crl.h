/* CRL check of the server chain (spec §2.5): the DER CRL the server sends
 * must come from the CA that issued the server's leaf certificate, be
 * valid in time, and not list the leaf; the chain must verify up to one of
 * the trusted roots (concatenated DER certificates, as in a service
 * descriptor's server_certificate). Used as the dispatcher's el2go_crl_fn;
 * the TLS layer fills the peer chain after its handshake. */
#ifndef EL2GO_CRL_H
#define EL2GO_CRL_H

#include <time.h>

#include <openssl/x509.h>

#include "el2go/common.h"

typedef struct {
    STACK_OF(X509) * peer_chain; /* leaf first, as the TLS peer sent it */
    const uint8_t *roots;        /* concatenated DER certificates */
    size_t roots_len;
    time_t at; /* verification time; 0 = now */
} el2go_crl_check;

/* Verify; err receives the reason on failure (EL2GO_ERR_CRL for a chain or
 * CRL rejection, EL2GO_ERR_DECODE for undecodable input). */
el2go_status el2go_crl_verify(const el2go_crl_check *chk, const uint8_t *crl, size_t len, char *err,
                              size_t errlen);
/* el2go_crl_fn adapter: ctx is an el2go_crl_check. */
el2go_status el2go_crl_verify_cb(void *ctx, const uint8_t *crl, size_t len, char *err,
                                 size_t errlen);

/* Parse concatenated DER certificates into a new stack (NULL on error or
 * when empty). */
STACK_OF(X509) * el2go_der_certs(const uint8_t *der, size_t len);

#endif
