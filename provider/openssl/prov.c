/* Entry point and context of the se05x OpenSSL 3 provider: reads the
 * configuration (provider params from openssl.cnf, then environment; the
 * authentication is checked by sss's shared parser, sss/spec.h), creates a
 * private OSSL_LIB_CTX for our own libcrypto use, opens the sss
 * session lazily on first use under a mutex (loading never touches the SE),
 * re-initialises that mutex in a forked child, raises errors under our
 * provider's name, logs only to stderr or the file named by
 * SE05X_PROVIDER_LOG, and hands OpenSSL the algorithm tables. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include "prov.h"

#define SE05X_PROV_VERSION "0.1.0"

/* ---- errors and logging ----------------------------------------------- */

static const OSSL_ITEM reason_strings[] = {
    {SE05X_R_CONNECT, "cannot open a session with the SE05x"},
    {SE05X_R_NOT_FOUND, "no such object in the SE05x"},
    {SE05X_R_BAD_URI, "malformed se05x URI"},
    {SE05X_R_SSS, "SE05x operation failed"},
    {SE05X_R_KEY_TYPE, "SE05x object type not usable here"},
    {SE05X_R_NO_PRIVATE, "operation needs a private key held in the SE05x"},
    {SE05X_R_UNSUPPORTED, "not supported by the se05x provider"},
    {SE05X_R_BAD_PARAM, "invalid parameter"},
    {SE05X_R_CONFIG, "invalid se05x provider configuration"},
    {SE05X_R_INTERNAL, "internal error in the se05x provider"},
    {SE05X_R_NO_PUBLIC, "public part of the SE05x key unknown"},
    {0, NULL},
};

void se05x_err(const se05x_prov *pc, int reason, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (pc != NULL && pc->c_new_error != NULL && pc->c_vset_error != NULL) {
        pc->c_new_error(pc->handle);
        if (pc->c_set_error_debug != NULL)
            pc->c_set_error_debug(pc->handle, file, line, "");
        pc->c_vset_error(pc->handle, (uint32_t)reason, fmt, ap);
    } else {
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        ERR_new();
        ERR_set_debug(file, line, "");
        ERR_set_error(ERR_LIB_PROV, ERR_R_INTERNAL_ERROR, "se05x: %s", msg);
    }
    va_end(ap);
    /* the detail line also goes to the log */
    va_start(ap, fmt);
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    se05x_log("error: %s", msg);
}

void se05x_log(const char *fmt, ...)
{
    const char *dest = getenv("SE05X_PROVIDER_LOG");
    if (dest == NULL || *dest == '\0')
        return;
    FILE *f = NULL;
    bool close_it = false;
    if (strcmp(dest, "stderr") == 0 || strcmp(dest, "-") == 0) {
        f = stderr;
    } else {
        f = fopen(dest, "a");
        close_it = true;
    }
    if (f == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(f, "se05x-provider[%ld]: ", (long)getpid());
    vfprintf(f, fmt, ap);
    fputc('\n', f);
    va_end(ap);
    if (close_it)
        fclose(f);
    else
        fflush(f);
}

/* ---- session ------------------------------------------------------------ */

static void lock_for_this_process(se05x_prov *pc)
{
    /* A child forked while another thread held the lock would deadlock:
     * the first use in a new process starts from a fresh mutex. sss
     * re-opens its link in the child by itself. */
    pid_t me = getpid();
    if (pc->lock_pid != me) {
        pthread_mutex_init(&pc->lock, NULL);
        pc->lock_pid = me;
    }
    pthread_mutex_lock(&pc->lock);
}

/* A session authentication the SE refused (wrong UserID, AES key, host EC
 * key or SCP03 keys) is not tried again by this provider instance: each
 * failed attempt counts against the auth object's limit, and a
 * long-running server would block it. It becomes a configuration error
 * (lock held). */
static void remember_auth_failure(se05x_prov *pc, sss_status st, const char *err)
{
    if (st != SSS_ERR_AUTH || pc->authspec.auth == SSS_AUTH_NONE)
        return;
    snprintf(pc->config_err, sizeof(pc->config_err),
             "%s (not retried: failed attempts count against the auth object's limit; fix the "
             "configuration and restart)", err[0] ? err : sss_strerror(st));
}

int se05x_session_acquire(se05x_prov *pc, sss_session **s)
{
    lock_for_this_process(pc);
    if (pc->config_err[0] != '\0') {
        SE05X_ERR(pc, SE05X_R_CONFIG, "%s", pc->config_err);
        pthread_mutex_unlock(&pc->lock);
        return 0;
    }
    if (pc->sess == NULL) {
        sss_session_cfg cfg = {
            .backend = SSS_BACKEND_SE05X,
            .connstr = pc->connstr,
            .libctx = pc->libctx, /* sss's host-side crypto stays in our context */
        };
        sss_auth_spec_apply(&pc->authspec, &cfg);
        char err[256] = "";
        sss_status st = sss_session_open(&cfg, &pc->sess, err, sizeof(err));
        if (st != SSS_OK) {
            pc->sess = NULL;
            const char *where = pc->connstr != NULL ? pc->connstr : getenv("SE05X_PORT");
            SE05X_ERR(pc, SE05X_R_CONNECT, "%s (%s%s%s)", err[0] ? err : sss_strerror(st),
                      where != NULL ? "port " : "default port",
                      where != NULL ? where : "", where != NULL ? "" : " 127.0.0.1:8050");
            remember_auth_failure(pc, st, err);
            pthread_mutex_unlock(&pc->lock);
            return 0;
        }
        se05x_log("session open (%s)", pc->connstr != NULL ? pc->connstr : "default port");
    }
    *s = pc->sess;
    return 1;
}

void se05x_session_release(se05x_prov *pc)
{
    pthread_mutex_unlock(&pc->lock);
}

void se05x_err_sss(se05x_prov *pc, sss_status st, const char *file, int line, const char *what)
{
    const char *m = pc->sess != NULL ? sss_session_errmsg(pc->sess) : NULL;
    int reason = st == SSS_ERR_NOT_FOUND ? SE05X_R_NOT_FOUND
                 : st == SSS_ERR_CONNECT ? SE05X_R_CONNECT
                                         : SE05X_R_SSS;
    se05x_err(pc, reason, file, line, "%s: %s", what, m != NULL && *m ? m : sss_strerror(st));
}

/* ---- configuration ------------------------------------------------------ */

static const char *first_set(const char *a, const char *b)
{
    return a != NULL && *a != '\0' ? a : (b != NULL && *b != '\0' ? b : NULL);
}

/* One line for the log: the method and where its parts come from, never a
 * secret's value. */
static void log_config(const se05x_prov *pc, const char *port)
{
    const sss_auth_spec *a = &pc->authspec;
    char id[32] = "";
    if (a->auth >= SSS_AUTH_USERID)
        snprintf(id, sizeof(id), " (auth object 0x%08X)", (unsigned)a->auth_id);
    /* auth_eckey may hold PEM text instead of a path: never log that */
    const char *eckey = a->eckey == NULL                       ? ""
                        : strstr(a->eckey, "-----BEGIN") != NULL ? "(PEM text)"
                                                                 : a->eckey;
    se05x_log("loaded: port %s, auth %s%s%s%s%s%s", port != NULL ? port : "(default)",
              pc->config_err[0] ? "invalid" : sss_auth_name(a->auth), id,
              a->scp03_keyfile != NULL ? ", platform SCP03 keys " : "",
              a->scp03_keyfile != NULL ? a->scp03_keyfile : "", a->eckey != NULL ? ", host key " : "",
              eckey);
}

static int read_config(se05x_prov *pc, OSSL_FUNC_core_get_params_fn *get_params)
{
    char *port = NULL, *port2 = NULL, *auth = NULL, *keyfile = NULL, *auth_id = NULL,
         *secret_file = NULL, *eckey = NULL;
    if (get_params != NULL) {
        OSSL_PARAM req[] = {
            OSSL_PARAM_utf8_ptr("se05x_port", &port, 0),
            OSSL_PARAM_utf8_ptr("port", &port2, 0),
            OSSL_PARAM_utf8_ptr("auth", &auth, 0),
            OSSL_PARAM_utf8_ptr("scp03_keyfile", &keyfile, 0),
            OSSL_PARAM_utf8_ptr("auth_id", &auth_id, 0),
            OSSL_PARAM_utf8_ptr("auth_secret_file", &secret_file, 0),
            OSSL_PARAM_utf8_ptr("auth_eckey", &eckey, 0),
            OSSL_PARAM_END,
        };
        if (!get_params(pc->handle, req))
            return 0;
    }
    /* openssl.cnf first; the environment fills what the file leaves out
     * (SE05X_PORT itself is applied by hostlib when connstr is NULL). The
     * checks are sss's (sss/spec.h), the same as the se05x CLI's --auth. */
    const char *p = first_set(port, port2);
    sss_auth_text t = {
        .method = first_set(auth, getenv("SE05X_AUTH")),
        .auth_id = first_set(auth_id, getenv("SE05X_AUTH_ID")),
        .secret_file = first_set(secret_file, getenv("SE05X_AUTH_SECRET_FILE")),
        .eckey = first_set(eckey, getenv("SE05X_AUTH_ECKEY")),
        .scp03_keyfile = first_set(keyfile, getenv("SE05X_SCP03_KEYFILE")),
        .names = NULL, /* the openssl.cnf names */
    };
    /* A bad value does not fail loading (that would break every
     * application using this openssl.cnf): it fails each use instead. */
    sss_status st = sss_auth_spec_parse(&t, &pc->authspec, pc->config_err, sizeof(pc->config_err));
    if (st == SSS_ERR_NOMEM)
        return 0;
    if ((p != NULL && (pc->connstr = strdup(p)) == NULL))
        return 0;
    log_config(pc, p);
    return 1;
}

/* ---- provider ------------------------------------------------------------ */

static void prov_free(se05x_prov *pc)
{
    if (pc == NULL)
        return;
    if (pc->sess != NULL)
        sss_session_close(pc->sess);
    OSSL_LIB_CTX_free(pc->libctx);
    free(pc->connstr);
    sss_auth_spec_clear(&pc->authspec); /* wipes the secret */
    pthread_mutex_destroy(&pc->lock);
    free(pc);
}

static void prov_teardown(void *provctx)
{
    se05x_prov *pc = provctx;
    sss_counters n = {0};
    if (pc->sess != NULL)
        sss_session_counters(pc->sess, &n);
    se05x_log("unloaded after %llu APDUs", (unsigned long long)n.apdus);
    prov_free(pc);
}

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
    static const OSSL_PARAM t[] = {
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
        OSSL_PARAM_DEFN(SE05X_PROV_PARAM_APDUS, OSSL_PARAM_UNSIGNED_INTEGER, NULL, 0),
        OSSL_PARAM_END,
    };
    return t;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
    se05x_prov *pc = provctx;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, SE05X_PROV_PARAM_APDUS)) != NULL) {
        /* APDUs exchanged so far by this provider instance (0 before the
         * first use: the session is opened lazily) */
        sss_counters n = {0};
        lock_for_this_process(pc);
        if (pc->sess != NULL)
            sss_session_counters(pc->sess, &n);
        pthread_mutex_unlock(&pc->lock);
        if (!OSSL_PARAM_set_uint64(p, n.apdus))
            return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, "se05x-stack SE05x provider"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, SE05X_PROV_VERSION))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL &&
        !OSSL_PARAM_set_utf8_ptr(p, "se05x-stack " SE05X_PROV_VERSION))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL &&
        !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ALGORITHM keymgmt_algs[] = {
    {"EC:id-ecPublicKey:1.2.840.10045.2.1", SE05X_PROV_PROPS, se05x_ec_keymgmt_functions,
     "SE05x EC keys"},
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", SE05X_PROV_PROPS, se05x_rsa_keymgmt_functions,
     "SE05x RSA keys"},
    {"ED25519:1.3.101.112", SE05X_PROV_PROPS, se05x_ed25519_keymgmt_functions,
     "SE05x Ed25519 keys"},
    {"X25519:1.3.101.110", SE05X_PROV_PROPS, se05x_x25519_keymgmt_functions, "SE05x X25519 keys"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM signature_algs[] = {
    {"ECDSA", SE05X_PROV_PROPS, se05x_ecdsa_signature_functions, "ECDSA in the SE05x"},
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", SE05X_PROV_PROPS, se05x_rsa_signature_functions,
     "RSA PKCS#1 v1.5 / PSS in the SE05x"},
    {"ED25519:1.3.101.112", SE05X_PROV_PROPS, se05x_ed25519_signature_functions,
     "Ed25519 in the SE05x"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM keyexch_algs[] = {
    {"ECDH", SE05X_PROV_PROPS, se05x_ecdh_keyexch_functions, "ECDH in the SE05x"},
    {"X25519:1.3.101.110", SE05X_PROV_PROPS, se05x_x25519_keyexch_functions, "X25519 in the SE05x"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM asym_cipher_algs[] = {
    {"RSA:rsaEncryption:1.2.840.113549.1.1.1", SE05X_PROV_PROPS, se05x_rsa_asym_cipher_functions,
     "RSA PKCS#1 v1.5 / OAEP decryption in the SE05x"},
    {NULL, NULL, NULL, NULL},
};

/* opt-in: used only when openssl.cnf names it ([random] seed / random) */
static const OSSL_ALGORITHM rand_algs[] = {
    {"SE05X-TRNG", SE05X_PROV_PROPS, se05x_trng_functions, "SE05x true random generator"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM store_algs[] = {
    /* one entry per scheme: OpenSSL 3.0 cannot fetch a store loader by
     * an alias ("se05x:nxp" is listed but "nxp" and "se05x" fail) */
    {"se05x", SE05X_PROV_PROPS, se05x_store_functions, "se05x:0xID object URIs"},
    {"nxp", SE05X_PROV_PROPS, se05x_store_functions, "nxp:0xID object URIs (NXP's syntax)"},
    {NULL, NULL, NULL, NULL},
};

#define REF_PROPS(out) SE05X_PROV_PROPS ",output=" out ",structure=PrivateKeyInfo"
#define SPKI_PROPS(out) SE05X_PROV_PROPS ",output=" out ",structure=SubjectPublicKeyInfo"
static const OSSL_ALGORITHM encoder_algs[] = {
    {"EC", SPKI_PROPS("der"), se05x_ec_spki_der_encoder_functions, "EC SPKI DER"},
    {"EC", SPKI_PROPS("pem"), se05x_ec_spki_pem_encoder_functions, "EC SPKI PEM"},
    {"EC", SE05X_PROV_PROPS ",output=text", se05x_ec_text_encoder_functions, "EC text"},
    {"RSA", SPKI_PROPS("der"), se05x_rsa_spki_der_encoder_functions, "RSA SPKI DER"},
    {"RSA", SPKI_PROPS("pem"), se05x_rsa_spki_pem_encoder_functions, "RSA SPKI PEM"},
    {"RSA", SE05X_PROV_PROPS ",output=text", se05x_rsa_text_encoder_functions, "RSA text"},
    {"ED25519", SPKI_PROPS("der"), se05x_ed25519_spki_der_encoder_functions, "Ed25519 SPKI DER"},
    {"ED25519", SPKI_PROPS("pem"), se05x_ed25519_spki_pem_encoder_functions, "Ed25519 SPKI PEM"},
    {"ED25519", SE05X_PROV_PROPS ",output=text", se05x_ed25519_text_encoder_functions,
     "Ed25519 text"},
    {"ED25519", REF_PROPS("pem"), se05x_ref_pem_encoder_functions, "Ed25519 key reference PEM"},
    {"ED25519", REF_PROPS("der"), se05x_ref_der_encoder_functions, "Ed25519 key reference DER"},
    /* the "private key" of an SE key: a reference naming it (refkey.c) */
    {"EC", REF_PROPS("pem"), se05x_ref_pem_encoder_functions, "EC SE key reference PEM"},
    {"EC", REF_PROPS("der"), se05x_ref_der_encoder_functions, "EC SE key reference DER"},
    {"RSA", REF_PROPS("pem"), se05x_ref_pem_encoder_functions, "RSA SE key reference PEM"},
    {"RSA", REF_PROPS("der"), se05x_ref_der_encoder_functions, "RSA SE key reference DER"},
    {"X25519", SPKI_PROPS("der"), se05x_x25519_spki_der_encoder_functions, "X25519 SPKI DER"},
    {"X25519", SPKI_PROPS("pem"), se05x_x25519_spki_pem_encoder_functions, "X25519 SPKI PEM"},
    {"X25519", SE05X_PROV_PROPS ",output=text", se05x_x25519_text_encoder_functions, "X25519 text"},
    {"X25519", REF_PROPS("pem"), se05x_ref_pem_encoder_functions, "X25519 key reference PEM"},
    {"X25519", REF_PROPS("der"), se05x_ref_der_encoder_functions, "X25519 key reference DER"},
    {NULL, NULL, NULL, NULL},
};

/* PEM and DER: OpenSSL's PEM decoder drops PEM labels it does not know */
static const OSSL_ALGORITHM decoder_algs[] = {
    {"EC", SE05X_PROV_PROPS ",input=pem", se05x_ec_ref_decoder_functions,
     "SE05X KEY REFERENCE (EC, PEM)"},
    {"EC", SE05X_PROV_PROPS ",input=der", se05x_ec_ref_decoder_functions,
     "SE05X KEY REFERENCE (EC, DER)"},
    {"ED25519", SE05X_PROV_PROPS ",input=pem", se05x_ed25519_ref_decoder_functions,
     "SE05X KEY REFERENCE (Ed25519, PEM)"},
    {"ED25519", SE05X_PROV_PROPS ",input=der", se05x_ed25519_ref_decoder_functions,
     "SE05X KEY REFERENCE (Ed25519, DER)"},
    {"RSA", SE05X_PROV_PROPS ",input=pem", se05x_rsa_ref_decoder_functions,
     "SE05X KEY REFERENCE (RSA, PEM)"},
    {"RSA", SE05X_PROV_PROPS ",input=der", se05x_rsa_ref_decoder_functions,
     "SE05X KEY REFERENCE (RSA, DER)"},
    {"X25519", SE05X_PROV_PROPS ",input=pem", se05x_x25519_ref_decoder_functions,
     "SE05X KEY REFERENCE (X25519, PEM)"},
    {"X25519", SE05X_PROV_PROPS ",input=der", se05x_x25519_ref_decoder_functions,
     "SE05X KEY REFERENCE (X25519, DER)"},
    /* Reference-key PEM files (NXP's magic-number keys and ours), read
     * one window after OpenSSL's PEM-to-DER so that this runs first in any
     * provider order and in the file: store (nxpref.c explains) */
    {"DER", SE05X_PROV_PROPS ",input=se05x-nxpref-b", se05x_nxpref_pass_decoder_functions,
     "reference key DER (pass-through)"},
    {"SE05X-NXPREF-B", SE05X_PROV_PROPS ",input=pem", se05x_nxpref_pem_decoder_functions,
     "NXP magic-number EC/RSA and SE05X KEY REFERENCE PEM files"},
    {NULL, NULL, NULL, NULL},
};

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache)
{
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT: return keymgmt_algs;
    case OSSL_OP_SIGNATURE: return signature_algs;
    case OSSL_OP_KEYEXCH: return keyexch_algs;
    case OSSL_OP_ASYM_CIPHER: return asym_cipher_algs;
    case OSSL_OP_RAND: return rand_algs;
    case OSSL_OP_STORE: return store_algs;
    case OSSL_OP_ENCODER: return encoder_algs;
    case OSSL_OP_DECODER: return decoder_algs;
    default: return NULL;
    }
}

static const OSSL_ITEM *prov_reason_strings(void *provctx)
{
    return reason_strings;
}

static const OSSL_DISPATCH prov_functions[] = {
    {OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown},
    {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params},
    {OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params},
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query},
    {OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))prov_reason_strings},
    {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))se05x_get_capabilities},
    {0, NULL},
};

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out,
                                                              void **provctx);

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                       const OSSL_DISPATCH **out, void **provctx)
{
    se05x_prov *pc = calloc(1, sizeof(*pc));
    if (pc == NULL)
        return 0;
    pc->handle = handle;
    pthread_mutex_init(&pc->lock, NULL);
    pc->lock_pid = getpid();
    OSSL_FUNC_core_get_params_fn *get_params = NULL;
    for (const OSSL_DISPATCH *d = in; d->function_id != 0; d++) {
        switch (d->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS: get_params = OSSL_FUNC_core_get_params(d); break;
        case OSSL_FUNC_CORE_NEW_ERROR: pc->c_new_error = OSSL_FUNC_core_new_error(d); break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            pc->c_set_error_debug = OSSL_FUNC_core_set_error_debug(d);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR: pc->c_vset_error = OSSL_FUNC_core_vset_error(d); break;
        default: break;
        }
    }
    /* Private library context: created from the core's dispatch table so
     * that BIO_new_from_core_bio works in it; it has no provider of ours,
     * libcrypto loads the default provider in it on first use. */
    pc->libctx = OSSL_LIB_CTX_new_from_dispatch(handle, in);
    if (pc->libctx == NULL || !read_config(pc, get_params)) {
        prov_free(pc);
        return 0;
    }
    *out = prov_functions;
    *provctx = pc;
    return 1;
}
