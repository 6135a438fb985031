/* TLS client of the device link (spec §3) on OpenSSL 3: a dedicated
 * OSSL_LIB_CTX with the default provider and our `se05x` provider (loaded
 * through an in-memory configuration so that the SE connection string
 * reaches the provider as its `se05x_port` and `scp03_keyfile` parameters),
 * client key and certificate loaded from the SE with OSSL_STORE, trusted
 * roots from DER, TLS 1.2..1.3 with the spec's suites, SNI + hostname
 * check, timeouts, and an el2go_stream over the SSL object. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>
#include <openssl/store.h>
#include <openssl/x509v3.h>

#include "el2go/crl.h"
#include "el2go/tls.h"

#ifndef EL2GO_PROVIDER_DEFAULT_DIR
#define EL2GO_PROVIDER_DEFAULT_DIR "/usr/lib/ossl-modules"
#endif

#define TLS12_SUITES                                                                               \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384"
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
/* How long a graceful close waits for the server's close_notify / EOF. */
#define CLOSE_WAIT_MS 2000u

struct el2go_tls {
    OSSL_LIB_CTX *lib;
    SSL_CTX *ctx;
    EVP_PKEY *key;
    X509 *cert;
    uint32_t key_id, cert_id;
    unsigned connect_ms, io_ms;
    SSL *ssl;
    STACK_OF(X509) * chain; /* copy: TLS 1.3 tickets replace the session's */
    int fd;
    char ioerr[200];
};

const char *el2go_tls_failure_name(el2go_tls_failure f)
{
    switch (f) {
    case EL2GO_TLS_OK: return "ok";
    case EL2GO_TLS_CONFIG: return "configuration error";
    case EL2GO_TLS_SE: return "SE unreachable";
    case EL2GO_TLS_NO_KEY: return "no client key in the SE";
    case EL2GO_TLS_CONNECT: return "cannot connect";
    case EL2GO_TLS_UNTRUSTED: return "untrusted server";
    case EL2GO_TLS_HOSTNAME: return "hostname mismatch";
    case EL2GO_TLS_HANDSHAKE: return "TLS handshake failed";
    case EL2GO_TLS_IO: return "TLS I/O error";
    }
    return "unknown";
}

static el2go_status failf(el2go_tls_failure *why, el2go_tls_failure f, char *err, size_t errlen,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static el2go_status failf(el2go_tls_failure *why, el2go_tls_failure f, char *err, size_t errlen,
                          const char *fmt, ...)
{
    if (why)
        *why = f;
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
    return f == EL2GO_TLS_SE ? EL2GO_ERR_SE
           : f == EL2GO_TLS_NO_KEY ? EL2GO_ERR_NOT_FOUND
           : f == EL2GO_TLS_CONFIG ? EL2GO_ERR_ARG
           : f == EL2GO_TLS_UNTRUSTED || f == EL2GO_TLS_HOSTNAME || f == EL2GO_TLS_HANDSHAKE
               ? EL2GO_ERR_CRYPTO
               : EL2GO_ERR_IO;
}

/* The most specific libcrypto error text queued (the last one). */
static const char *last_ossl_error(char *buf, size_t len)
{
    unsigned long e, last = 0;
    const char *data = NULL, *d;
    int flags;
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &d, &flags)) != 0) {
        last = e;
        data = (flags & ERR_TXT_STRING) && d && *d ? d : NULL;
    }
    if (!last) {
        snprintf(buf, len, "unknown error");
        return buf;
    }
    const char *r = ERR_reason_error_string(last);
    snprintf(buf, len, "%s%s%s", r ? r : "error", data ? ": " : "", data ? data : "");
    return buf;
}

/* ---- providers ---------------------------------------------------------- */

static bool conf_value_ok(const char *v)
{
    return v && *v && !strpbrk(v, "\"'\\$#\n\r;=");
}

static el2go_status load_providers(el2go_tls *t, const el2go_tls_cfg *cfg, el2go_tls_failure *why,
                                   char *err, size_t errlen)
{
    const char *dir = cfg->provider_dir;
    if (!dir || !*dir)
        dir = getenv("EL2GO_PROVIDER_DIR");
    if (!dir || !*dir)
        dir = getenv("OPENSSL_MODULES");
    if (!dir || !*dir)
        dir = EL2GO_PROVIDER_DEFAULT_DIR;
    char module[PATH_MAX + 16], absdir[PATH_MAX];
    /* the configuration module resolves relative paths elsewhere */
    snprintf(module, sizeof(module), "%s/se05x.so", realpath(dir, absdir) ? absdir : dir);
    if (access(module, R_OK) != 0)
        return failf(why, EL2GO_TLS_CONFIG, err, errlen,
                     "OpenSSL provider module %s not found (set --provider-dir or "
                     "EL2GO_PROVIDER_DIR)",
                     module);
    if (!conf_value_ok(module) || (cfg->se && !conf_value_ok(cfg->se)))
        return failf(why, EL2GO_TLS_CONFIG, err, errlen,
                     "provider path or SE connection string contains unsupported characters");
    /* the provider opens the key file from its own working directory */
    char keyfile[PATH_MAX];
    const char *kf = cfg->scp03_keyfile;
    if (kf && *kf && realpath(kf, keyfile))
        kf = keyfile;
    if (kf && !conf_value_ok(kf))
        return failf(why, EL2GO_TLS_CONFIG, err, errlen,
                     "SCP03 key file path contains unsupported characters");
    char text[3072];
    int tn = snprintf(text, sizeof(text),
             "openssl_conf = el2go_init\n[el2go_init]\nproviders = el2go_providers\n"
             "[el2go_providers]\ndefault = el2go_default\nse05x = el2go_se05x\n"
             "[el2go_default]\nactivate = 1\n"
             "[el2go_se05x]\nmodule = %s\nactivate = 1\n%s%s%s%s%s%s",
             module, cfg->se ? "se05x_port = " : "", cfg->se ? cfg->se : "", cfg->se ? "\n" : "",
             kf ? "scp03_keyfile = " : "", kf ? kf : "", kf ? "\n" : "");
    if (tn < 0 || (size_t)tn >= sizeof(text))
        return failf(why, EL2GO_TLS_CONFIG, err, errlen,
                     "provider path, SE connection string or SCP03 key file path too long");
    OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL); /* registers the config modules */
    CONF *conf = NCONF_new_ex(t->lib, NULL);
    BIO *b = BIO_new_mem_buf(text, -1);
    long line = 0;
    bool ok = conf && b && NCONF_load_bio(conf, b, &line) > 0 &&
              CONF_modules_load(conf, NULL, 0) > 0 &&
              OSSL_PROVIDER_available(t->lib, "se05x") &&
              OSSL_PROVIDER_available(t->lib, "default");
    BIO_free(b);
    NCONF_free(conf);
    if (!ok) {
        char e[200];
        return failf(why, EL2GO_TLS_CONFIG, err, errlen, "cannot load the se05x provider %s: %s",
                     module, last_ossl_error(e, sizeof(e)));
    }
    return EL2GO_OK;
}

/* ---- key and certificate from the SE ----------------------------------- */

/* Classify a provider failure by its reason (prov.c reason strings). */
static el2go_tls_failure se_failure(char *msg, size_t len)
{
    el2go_tls_failure f = EL2GO_TLS_NO_KEY;
    unsigned long e;
    const char *d;
    int flags;
    char last[200] = "";
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &d, &flags)) != 0) {
        const char *r = ERR_reason_error_string(e);
        if (r && strstr(r, "cannot open a session"))
            f = EL2GO_TLS_SE;
        snprintf(last, sizeof(last), "%s%s%s", r ? r : "error",
                 (flags & ERR_TXT_STRING) && d && *d ? ": " : "",
                 (flags & ERR_TXT_STRING) && d ? d : "");
    }
    snprintf(msg, len, "%s", last[0] ? last : "object not found");
    return f;
}

/* Load the first object of the wanted type at se05x:0xID. */
static void *store_load(el2go_tls *t, uint32_t id, int type)
{
    char uri[32];
    snprintf(uri, sizeof(uri), "se05x:0x%08X", id);
    OSSL_STORE_CTX *sc = OSSL_STORE_open_ex(uri, t->lib, NULL, NULL, NULL, NULL, NULL, NULL);
    void *obj = NULL;
    if (!sc)
        return NULL;
    OSSL_STORE_expect(sc, type);
    while (!obj && !OSSL_STORE_eof(sc)) {
        OSSL_STORE_INFO *info = OSSL_STORE_load(sc);
        if (!info) {
            if (OSSL_STORE_error(sc))
                break;
            continue;
        }
        if (OSSL_STORE_INFO_get_type(info) == type)
            obj = type == OSSL_STORE_INFO_PKEY ? (void *)OSSL_STORE_INFO_get1_PKEY(info)
                                               : (void *)OSSL_STORE_INFO_get1_CERT(info);
        OSSL_STORE_INFO_free(info);
    }
    OSSL_STORE_close(sc);
    return obj;
}

static el2go_status load_pair(el2go_tls *t, uint32_t key_id, uint32_t cert_id,
                              el2go_tls_failure *why, char *err, size_t errlen)
{
    char msg[200];
    ERR_clear_error();
    t->key = store_load(t, key_id, OSSL_STORE_INFO_PKEY);
    if (!t->key) {
        el2go_tls_failure f = se_failure(msg, sizeof(msg));
        return failf(why, f, err, errlen, "%s key 0x%08X: %s",
                     f == EL2GO_TLS_SE ? "SE unreachable while loading the client"
                                       : "no client key in the SE:",
                     key_id, msg);
    }
    t->cert = store_load(t, cert_id, OSSL_STORE_INFO_CERT);
    if (!t->cert) {
        el2go_tls_failure f = se_failure(msg, sizeof(msg));
        return failf(why, f, err, errlen, "%s certificate 0x%08X: %s",
                     f == EL2GO_TLS_SE ? "SE unreachable while loading the client"
                                       : "no client certificate in the SE:",
                     cert_id, msg);
    }
    if (X509_check_private_key(t->cert, t->key) != 1)
        return failf(why, EL2GO_TLS_NO_KEY, err, errlen,
                     "client certificate 0x%08X does not match the key 0x%08X", cert_id, key_id);
    t->key_id = key_id;
    t->cert_id = cert_id;
    return EL2GO_OK;
}

static void drop_pair(el2go_tls *t)
{
    EVP_PKEY_free(t->key);
    X509_free(t->cert);
    t->key = NULL;
    t->cert = NULL;
}

static el2go_status load_client(el2go_tls *t, const el2go_tls_cfg *cfg, el2go_tls_failure *why,
                                char *err, size_t errlen)
{
    if (cfg->key_id || cfg->cert_id)
        return load_pair(t, cfg->key_id, cfg->cert_id, why, err, errlen);
    el2go_tls_failure f = EL2GO_TLS_OK;
    char e1[256];
    el2go_status st = load_pair(t, EL2GO_KEY_ECC, EL2GO_CERT_ECC, &f, e1, sizeof(e1));
    if (st == EL2GO_OK || f == EL2GO_TLS_SE)
        return st == EL2GO_OK ? st : failf(why, f, err, errlen, "%s", e1);
    drop_pair(t);
    char e2[256];
    st = load_pair(t, EL2GO_KEY_RSA, EL2GO_CERT_RSA, &f, e2, sizeof(e2));
    if (st != EL2GO_OK)
        return failf(why, f, err, errlen, "%s; RSA fallback: %s", e1, e2);
    return EL2GO_OK;
}

/* ---- SSL_CTX ------------------------------------------------------------- */

static el2go_status make_ctx(el2go_tls *t, const el2go_tls_cfg *cfg, el2go_tls_failure *why,
                             char *err, size_t errlen)
{
    STACK_OF(X509) *roots = el2go_der_certs(cfg->roots, cfg->roots_len);
    if (!roots)
        return failf(why, EL2GO_TLS_CONFIG, err, errlen,
                     "no trusted root certificate configured (datastore or --ca FILE)");
    t->ctx = SSL_CTX_new_ex(t->lib, NULL, TLS_client_method());
    X509_STORE *store = t->ctx ? SSL_CTX_get_cert_store(t->ctx) : NULL;
    bool ok = store != NULL;
    for (int i = 0; ok && i < sk_X509_num(roots); i++)
        ok = X509_STORE_add_cert(store, sk_X509_value(roots, i)) == 1;
    sk_X509_pop_free(roots, X509_free);
    ok = ok && SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_set_max_proto_version(t->ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_set_cipher_list(t->ctx, TLS12_SUITES) == 1 &&
         SSL_CTX_set_ciphersuites(t->ctx, TLS13_SUITES) == 1;
    if (!ok) {
        char e[200];
        return failf(why, EL2GO_TLS_CONFIG, err, errlen, "TLS context setup failed: %s",
                     last_ossl_error(e, sizeof(e)));
    }
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_verify_depth(t->ctx, 10);
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_AUTO_RETRY);
    if (SSL_CTX_use_certificate(t->ctx, t->cert) != 1 ||
        SSL_CTX_use_PrivateKey(t->ctx, t->key) != 1 || SSL_CTX_check_private_key(t->ctx) != 1) {
        char e[200];
        return failf(why, EL2GO_TLS_NO_KEY, err, errlen,
                     "the SE key/certificate cannot be used for TLS: %s",
                     last_ossl_error(e, sizeof(e)));
    }
    return EL2GO_OK;
}

el2go_status el2go_tls_new(const el2go_tls_cfg *cfg, el2go_tls **out, el2go_tls_failure *why,
                           char *err, size_t errlen)
{
    el2go_tls_failure dummy;
    if (!why)
        why = &dummy;
    *why = EL2GO_TLS_OK;
    if (!cfg || !out)
        return failf(why, EL2GO_TLS_CONFIG, err, errlen, "invalid argument");
    *out = NULL;
    if (!cfg->roots || !cfg->roots_len)
        return failf(why, EL2GO_TLS_CONFIG, err, errlen,
                     "no trusted root certificate configured (datastore or --ca FILE)");
    el2go_tls *t = calloc(1, sizeof(*t));
    if (!t)
        return failf(why, EL2GO_TLS_CONFIG, err, errlen, "out of memory");
    t->fd = -1;
    t->connect_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 10000u;
    t->io_ms = cfg->io_timeout_ms ? cfg->io_timeout_ms : 60000u;
    t->lib = OSSL_LIB_CTX_new();
    el2go_status st = t->lib ? EL2GO_OK : failf(why, EL2GO_TLS_CONFIG, err, errlen, "no memory");
    if (st == EL2GO_OK)
        st = load_providers(t, cfg, why, err, errlen);
    if (st == EL2GO_OK)
        st = load_client(t, cfg, why, err, errlen);
    if (st == EL2GO_OK)
        st = make_ctx(t, cfg, why, err, errlen);
    if (st != EL2GO_OK) {
        el2go_tls_free(t);
        return st;
    }
    *out = t;
    return EL2GO_OK;
}

void el2go_tls_free(el2go_tls *t)
{
    if (!t)
        return;
    el2go_tls_close(t, false);
    SSL_CTX_free(t->ctx);
    drop_pair(t);
    OSSL_LIB_CTX_free(t->lib); /* unloads the providers */
    free(t);
}

void el2go_tls_client_ids(const el2go_tls *t, uint32_t *key_id, uint32_t *cert_id)
{
    if (key_id)
        *key_id = t->key_id;
    if (cert_id)
        *cert_id = t->cert_id;
}

X509 *el2go_tls_client_cert(const el2go_tls *t)
{
    return t->cert;
}

/* ---- TCP ------------------------------------------------------------------ */

static void set_timeouts(int fd, unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000u, .tv_usec = (ms % 1000u) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Non-blocking connect bounded by ms; returns the fd or -1 (errno set). */
static int connect_one(const struct addrinfo *ai, unsigned ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n;
        do
            n = poll(&p, 1, (int)ms);
        while (n < 0 && errno == EINTR);
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (n == 0)
            soerr = ETIMEDOUT;
        else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = soerr ? soerr : errno;
        rc = soerr ? -1 : 0;
        errno = soerr;
    }
    if (rc != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    fcntl(fd, F_SETFL, fl);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static el2go_status tcp_connect(el2go_tls *t, const char *host, uint16_t port,
                                el2go_tls_failure *why, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", port);
    int g = getaddrinfo(host, ps, &hints, &res);
    if (g != 0)
        return failf(why, EL2GO_TLS_CONNECT, err, errlen, "cannot resolve %s: %s", host,
                     gai_strerror(g));
    int e = 0;
    for (struct addrinfo *ai = res; ai && t->fd < 0; ai = ai->ai_next) {
        t->fd = connect_one(ai, t->connect_ms);
        if (t->fd < 0)
            e = errno;
    }
    freeaddrinfo(res);
    if (t->fd < 0)
        return failf(why, EL2GO_TLS_CONNECT, err, errlen, "cannot connect to %s:%u: %s", host,
                     port, e == ETIMEDOUT ? "timed out" : strerror(e));
    set_timeouts(t->fd, t->io_ms);
    return EL2GO_OK;
}

/* ---- handshake -------------------------------------------------------------- */

static el2go_status handshake_failed(el2go_tls *t, const char *host, el2go_tls_failure *why,
                                     char *err, size_t errlen, int sslerr, int sys)
{
    long vr = SSL_get_verify_result(t->ssl);
    char e[200];
    if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
        return failf(why, EL2GO_TLS_HOSTNAME, err, errlen,
                     "server certificate does not match the host name %s", host);
    if (vr != X509_V_OK)
        return failf(why, EL2GO_TLS_UNTRUSTED, err, errlen,
                     "untrusted server certificate: %s (check the trusted roots)",
                     X509_verify_cert_error_string(vr));
    if (sslerr == SSL_ERROR_WANT_READ || sslerr == SSL_ERROR_WANT_WRITE)
        return failf(why, EL2GO_TLS_HANDSHAKE, err, errlen, "TLS handshake with %s: timed out",
                     host); /* SO_RCVTIMEO / SO_SNDTIMEO expired */
    if (sslerr == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        return failf(why, EL2GO_TLS_HANDSHAKE, err, errlen, "TLS handshake with %s: %s", host,
                     sys == EAGAIN || sys == EWOULDBLOCK ? "timed out"
                     : sys                               ? strerror(sys)
                                                         : "connection closed by the server");
    return failf(why, EL2GO_TLS_HANDSHAKE, err, errlen, "TLS handshake with %s failed: %s", host,
                 last_ossl_error(e, sizeof(e)));
}

el2go_status el2go_tls_connect(el2go_tls *t, const char *host, uint16_t port,
                               el2go_tls_failure *why, char *err, size_t errlen)
{
    el2go_tls_failure dummy;
    if (!why)
        why = &dummy;
    *why = EL2GO_TLS_OK;
    if (!t || !host || !*host || !port)
        return failf(why, EL2GO_TLS_CONFIG, err, errlen, "no server host name configured");
    el2go_tls_close(t, false);
    t->ioerr[0] = '\0';
    el2go_status st = tcp_connect(t, host, port, why, err, errlen);
    if (st != EL2GO_OK)
        return st;
    t->ssl = SSL_new(t->ctx);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    bool ok = t->ssl && SSL_set_fd(t->ssl, t->fd) == 1;
    if (ok && is_ip)
        ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) == 1;
    else if (ok)
        ok = SSL_set_tlsext_host_name(t->ssl, host) == 1 && SSL_set1_host(t->ssl, host) == 1;
    if (!ok) {
        char e[200];
        st = failf(why, EL2GO_TLS_CONFIG, err, errlen, "TLS setup for %s: %s", host,
                   last_ossl_error(e, sizeof(e)));
        el2go_tls_close(t, false);
        return st;
    }
    ERR_clear_error();
    errno = 0;
    int rc = SSL_connect(t->ssl);
    if (rc != 1) {
        int sys = errno;
        st = handshake_failed(t, host, why, err, errlen, SSL_get_error(t->ssl, rc), sys);
        el2go_tls_close(t, false);
        return st;
    }
    t->chain = X509_chain_up_ref(SSL_get_peer_cert_chain(t->ssl));
    return EL2GO_OK;
}

/* ---- stream ---------------------------------------------------------------- */

static void note_io(el2go_tls *t, const char *what, int rc)
{
    int sys = errno;
    int e = SSL_get_error(t->ssl, rc);
    char m[200];
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        snprintf(t->ioerr, sizeof(t->ioerr), "TLS %s: timed out", what);
    else if (ERR_peek_error() == 0)
        snprintf(t->ioerr, sizeof(t->ioerr), "TLS %s: %s", what,
                 sys == EAGAIN || sys == EWOULDBLOCK ? "timed out"
                 : sys                               ? strerror(sys)
                                                     : "connection lost");
    else
        snprintf(t->ioerr, sizeof(t->ioerr), "TLS %s: %s", what, last_ossl_error(m, sizeof(m)));
    ERR_clear_error();
}

static ssize_t tls_read(void *ctx, uint8_t *buf, size_t len)
{
    el2go_tls *t = ctx;
    if (!t->ssl)
        return -1;
    size_t got = 0;
    ERR_clear_error();
    errno = 0;
    int rc = SSL_read_ex(t->ssl, buf, len, &got);
    if (rc == 1)
        return (ssize_t)got;
    if (SSL_get_error(t->ssl, rc) == SSL_ERROR_ZERO_RETURN)
        return 0;
    note_io(t, "read", rc);
    return -1;
}

static ssize_t tls_write(void *ctx, const uint8_t *buf, size_t len)
{
    el2go_tls *t = ctx;
    if (!t->ssl)
        return -1;
    size_t put = 0;
    ERR_clear_error();
    errno = 0;
    int rc = SSL_write_ex(t->ssl, buf, len, &put);
    if (rc == 1)
        return (ssize_t)put;
    note_io(t, "write", rc);
    return -1;
}

void el2go_tls_stream(el2go_tls *t, el2go_stream *s)
{
    s->ctx = t;
    s->read = tls_read;
    s->write = tls_write;
}

STACK_OF(X509) * el2go_tls_peer_chain(el2go_tls *t)
{
    return t ? t->chain : NULL;
}

const char *el2go_tls_version(el2go_tls *t)
{
    return t && t->ssl ? SSL_get_version(t->ssl) : "";
}

const char *el2go_tls_cipher(el2go_tls *t)
{
    return t && t->ssl ? SSL_get_cipher_name(t->ssl) : "";
}

el2go_tls_failure el2go_tls_io_failure(const el2go_tls *t, char *err, size_t errlen)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", t->ioerr);
    return t->ioerr[0] ? EL2GO_TLS_IO : EL2GO_TLS_OK;
}

void el2go_tls_close(el2go_tls *t, bool graceful)
{
    if (!t)
        return;
    if (t->ssl && graceful) {
        set_timeouts(t->fd, CLOSE_WAIT_MS);
        if (SSL_shutdown(t->ssl) == 0) {
            /* wait for the server's close_notify or EOF */
            uint8_t junk[256];
            size_t got;
            for (int i = 0; i < 64 && SSL_read_ex(t->ssl, junk, sizeof(junk), &got) == 1; i++)
                ;
        }
    }
    ERR_clear_error();
    SSL_free(t->ssl);
    t->ssl = NULL;
    sk_X509_pop_free(t->chain, X509_free);
    t->chain = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* ---- PEM roots ---------------------------------------------------------------- */

el2go_status el2go_pem_file_to_der(const char *path, uint8_t **der, size_t *len, char *err,
                                   size_t errlen)
{
    *der = NULL;
    *len = 0;
    BIO *b = BIO_new_file(path, "r");
    if (!b) {
        ERR_clear_error();
        if (err && errlen)
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return EL2GO_ERR_IO;
    }
    BIO *mem = BIO_new(BIO_s_mem());
    X509 *x;
    int n = 0;
    bool ok = mem != NULL;
    while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        ok = i2d_X509_bio(mem, x) == 1;
        X509_free(x);
        n++;
    }
    ERR_clear_error();
    BIO_free(b);
    char *p = NULL;
    long l = ok && mem ? BIO_get_mem_data(mem, &p) : 0;
    if (!ok || n == 0 || l <= 0 || !(*der = malloc((size_t)l))) {
        BIO_free(mem);
        if (err && errlen)
            snprintf(err, errlen, "%s holds no PEM certificate", path);
        return EL2GO_ERR_INVALID;
    }
    memcpy(*der, p, (size_t)l);
    *len = (size_t)l;
    BIO_free(mem);
    return EL2GO_OK;
}
