/* CRL verification of the server chain with libcrypto (spec §2.5): an
 * X509_STORE with the trusted roots and the CRL, X509_V_FLAG_CRL_CHECK
 * (leaf-only: the CRL must be the leaf issuer's), depth 10. */
#include <stdbool.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "el2go/crl.h"

STACK_OF(X509) * el2go_der_certs(const uint8_t *der, size_t len)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    const unsigned char *p = der, *end = der + len;
    while (sk && p && p < end) {
        X509 *x = d2i_X509(NULL, &p, (long)(end - p));
        if (!x || !sk_X509_push(sk, x)) {
            X509_free(x);
            sk_X509_pop_free(sk, X509_free);
            return NULL;
        }
    }
    if (sk && sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        return NULL;
    }
    return sk;
}

static el2go_status fail(char *err, size_t errlen, el2go_status st, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    ERR_clear_error();
    return st;
}

static X509_STORE *make_store(const el2go_crl_check *chk, X509_CRL *crl)
{
    STACK_OF(X509) *roots = el2go_der_certs(chk->roots, chk->roots_len);
    X509_STORE *store = roots ? X509_STORE_new() : NULL;
    bool ok = store != NULL;
    for (int i = 0; ok && i < sk_X509_num(roots); i++)
        ok = X509_STORE_add_cert(store, sk_X509_value(roots, i)) == 1;
    ok = ok && X509_STORE_add_crl(store, crl) == 1;
    ok = ok && X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) == 1;
    sk_X509_pop_free(roots, X509_free);
    if (!ok) {
        X509_STORE_free(store);
        return NULL;
    }
    X509_STORE_set_depth(store, 10);
    return store;
}

el2go_status el2go_crl_verify(const el2go_crl_check *chk, const uint8_t *der, size_t len, char *err,
                              size_t errlen)
{
    if (!chk || !chk->peer_chain || sk_X509_num(chk->peer_chain) < 1)
        return fail(err, errlen, EL2GO_ERR_ARG, "no server certificate chain");
    const unsigned char *p = der;
    X509_CRL *crl = der ? d2i_X509_CRL(NULL, &p, (long)len) : NULL;
    if (!crl || p != der + len) {
        X509_CRL_free(crl);
        return fail(err, errlen, EL2GO_ERR_DECODE, "CRL is not one DER X.509 CRL");
    }
    X509_STORE *store = make_store(chk, crl);
    X509_CRL_free(crl);
    if (!store)
        return fail(err, errlen, EL2GO_ERR_CRL, "no usable trusted root certificate");
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509 *leaf = sk_X509_value(chk->peer_chain, 0);
    el2go_status st = EL2GO_ERR_CRYPTO;
    if (ctx && X509_STORE_CTX_init(ctx, store, leaf, chk->peer_chain) == 1) {
        if (chk->at)
            X509_STORE_CTX_set_time(ctx, 0, chk->at);
        if (X509_verify_cert(ctx) == 1) {
            st = fail(err, errlen, EL2GO_OK, "");
        } else {
            int e = X509_STORE_CTX_get_error(ctx);
            char msg[200];
            snprintf(msg, sizeof(msg), "server chain rejected: %s",
                     X509_verify_cert_error_string(e));
            st = fail(err, errlen, EL2GO_ERR_CRL, msg);
        }
    } else {
        st = fail(err, errlen, EL2GO_ERR_CRYPTO, "X509_STORE_CTX setup failed");
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return st;
}

el2go_status el2go_crl_verify_cb(void *ctx, const uint8_t *crl, size_t len, char *err,
                                 size_t errlen)
{
    return el2go_crl_verify(ctx, crl, len, err, errlen);
}
