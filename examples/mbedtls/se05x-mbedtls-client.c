/* se05x-mbedtls-client: mbedTLS 3.6 TLS client that authenticates with a key
 * inside an SE05x through the PSA driver (provider/psa): the SE object
 * --key-id is registered as a PSA key and wrapped with
 * mbedtls_pk_setup_opaque, the client certificate is read from the SE at
 * --cert-id. Prints the negotiated version and ciphersuite, sends one line
 * (--send, default "hello from se05x-mbedtls-client") and prints the reply.
 *
 *   se05x-mbedtls-client --port CONN --key-id ID --cert-id ID --ca FILE
 *                        --connect HOST:PORT [--tls1_2|--tls1_3] [--send LINE]
 *
 * PSA's key metadata (ITS files) goes to the current directory. The SE key
 * is registered under PSA id 0x3E000000 | (ID & 0xFFFFFF) and reused by
 * later runs; the SE object itself is never deleted by this program.
 * SE05X_TLS_DEBUG=1..4 prints mbedTLS's debug output on stderr.
 * Exit: 0 ok, 1 TLS/SE failure, 2 usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/debug.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "se05x_psa.h"

typedef struct {
    const char *port, *ca, *connect, *send;
    uint32_t key_id, cert_id;
    int version; /* 0 = negotiate, 12, 13 */
} opts;

typedef struct {
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca, own;
    mbedtls_pk_context pk;
} tls;

static int usage(void)
{
    fprintf(stderr, "usage: se05x-mbedtls-client --port CONN --key-id ID --cert-id ID --ca FILE "
                    "--connect HOST:PORT [--tls1_2|--tls1_3] [--send LINE]\n");
    return 2;
}

static int parse_id(const char *s, uint32_t *id)
{
    char *end;
    unsigned long v = strtoul(s, &end, 0);
    if (!*s || *end || v == 0 || v > 0xFFFFFFFFul)
        return -1;
    *id = (uint32_t)v;
    return 0;
}

static int parse(int argc, char **argv, opts *o)
{
    static const struct option lo[] = {
        {"port", required_argument, 0, 'p'},    {"key-id", required_argument, 0, 'k'},
        {"cert-id", required_argument, 0, 'c'}, {"ca", required_argument, 0, 'a'},
        {"connect", required_argument, 0, 'C'}, {"send", required_argument, 0, 's'},
        {"tls1_2", no_argument, 0, '2'},        {"tls1_3", no_argument, 0, '3'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    memset(o, 0, sizeof(*o));
    o->send = "hello from se05x-mbedtls-client";
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': o->port = optarg; break;
        case 'a': o->ca = optarg; break;
        case 'C': o->connect = optarg; break;
        case 's': o->send = optarg; break;
        case '2': o->version = 12; break;
        case '3': o->version = 13; break;
        case 'k':
        case 'c':
            if (parse_id(optarg, ch == 'k' ? &o->key_id : &o->cert_id) != 0) {
                fprintf(stderr, "se05x-mbedtls-client: bad object id '%s'\n", optarg);
                return -1;
            }
            break;
        default: return -1;
        }
    }
    if (optind != argc || !o->port || !o->ca || !o->connect || !o->key_id || !o->cert_id)
        return -1;
    return 0;
}

static int tls_err(const char *what, int ret)
{
    char buf[160];
    mbedtls_strerror(ret, buf, sizeof(buf));
    fprintf(stderr, "se05x-mbedtls-client: %s: -0x%04X %s\n", what, (unsigned)-ret, buf);
    return 1;
}

/* Register the SE key (or reuse an earlier registration of the same
 * object) as a PSA key usable for TLS 1.2 and 1.3 signatures. */
static int register_key(uint32_t se_id, psa_key_id_t *out)
{
    psa_key_id_t id = 0x3E000000u | (se_id & 0xFFFFFFu);
    psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
    psa_key_slot_number_t slot;
    if (psa_get_key_attributes(id, &a) == PSA_SUCCESS) {
        int same = psa_get_key_slot_number(&a, &slot) == PSA_SUCCESS && slot == se_id;
        psa_reset_key_attributes(&a);
        if (!same) {
            fprintf(stderr, "se05x-mbedtls-client: PSA key id 0x%08X is taken by another key\n",
                    (unsigned)id);
            return 1;
        }
        *out = id;
        return 0;
    }
    psa_key_type_t type;
    size_t bits;
    psa_status_t ps = se05x_psa_core_key_type(se05x_psa_driver_core(), se_id, &type, &bits);
    if (ps == PSA_SUCCESS && PSA_KEY_TYPE_IS_RSA(type))
        ps = se05x_psa_register_object(id, se_id, PSA_KEY_USAGE_SIGN_HASH,
                                       PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_ANY_HASH),
                                       PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
    else if (ps == PSA_SUCCESS)
        ps = se05x_psa_register_object(id, se_id, PSA_KEY_USAGE_SIGN_HASH,
                                       PSA_ALG_ECDSA(PSA_ALG_ANY_HASH), 0);
    if (ps != PSA_SUCCESS) {
        fprintf(stderr, "se05x-mbedtls-client: key 0x%08X: PSA error %d: %s\n", (unsigned)se_id,
                (int)ps, se05x_psa_core_errmsg(se05x_psa_driver_core()));
        return 1;
    }
    *out = id;
    return 0;
}

static int read_cert(sss_session *s, uint32_t id, mbedtls_x509_crt *crt)
{
    uint8_t der[4096];
    size_t len = sizeof(der);
    sss_status st = sss_cert_read_der(s, id, der, &len);
    if (st != SSS_OK) {
        fprintf(stderr, "se05x-mbedtls-client: certificate 0x%08X: %s\n", (unsigned)id,
                sss_session_errmsg(s));
        return 1;
    }
    int ret = mbedtls_x509_crt_parse_der(crt, der, len);
    return ret ? tls_err("client certificate", ret) : 0;
}

static int split_hostport(const char *hp, char *host, size_t cap, const char **port)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || colon == hp || !colon[1] || (size_t)(colon - hp) >= cap)
        return -1;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    *port = colon + 1;
    return 0;
}

static void debug_cb(void *ctx, int level, const char *file, int line, const char *msg)
{
    fprintf(stderr, "mbedtls %d %s:%d: %s", level, file, line, msg);
}

static int configure(tls *t, const opts *o, const char *host)
{
    int ret = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
                                          MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret)
        return tls_err("ssl config", ret);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    const char *dbg = getenv("SE05X_TLS_DEBUG"); /* mbedTLS debug level 1..4 on stderr */
    if (dbg && atoi(dbg) > 0) {
        mbedtls_debug_set_threshold(atoi(dbg));
        mbedtls_ssl_conf_dbg(&t->conf, debug_cb, NULL);
    }
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    if (o->version) {
        mbedtls_ssl_protocol_version v =
            o->version == 12 ? MBEDTLS_SSL_VERSION_TLS1_2 : MBEDTLS_SSL_VERSION_TLS1_3;
        mbedtls_ssl_conf_min_tls_version(&t->conf, v);
        mbedtls_ssl_conf_max_tls_version(&t->conf, v);
    }
    ret = mbedtls_ssl_conf_own_cert(&t->conf, &t->own, &t->pk);
    if (ret)
        return tls_err("own certificate", ret);
    if ((ret = mbedtls_ssl_setup(&t->ssl, &t->conf)) != 0 ||
        (ret = mbedtls_ssl_set_hostname(&t->ssl, host)) != 0)
        return tls_err("ssl setup", ret);
    mbedtls_ssl_set_bio(&t->ssl, &t->net, mbedtls_net_send, mbedtls_net_recv, NULL);
    return 0;
}

static int converse(tls *t, const opts *o)
{
    int ret;
    while ((ret = mbedtls_ssl_handshake(&t->ssl)) != 0) {
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
            if (flags && flags != (uint32_t)-1) {
                char vb[512];
                mbedtls_x509_crt_verify_info(vb, sizeof(vb), "  ", flags);
                fprintf(stderr, "se05x-mbedtls-client: server certificate:\n%s", vb);
            }
            return tls_err("handshake", ret);
        }
    }
    printf("version: %s\nciphersuite: %s\n", mbedtls_ssl_get_version(&t->ssl),
           mbedtls_ssl_get_ciphersuite(&t->ssl));
    char line[1024];
    int n = snprintf(line, sizeof(line), "%s\n", o->send);
    if (n < 0 || (size_t)n >= sizeof(line))
        return 1;
    for (int off = 0; off < n;) {
        ret = mbedtls_ssl_write(&t->ssl, (const unsigned char *)line + off, (size_t)(n - off));
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (ret < 0)
            return tls_err("write", ret);
        off += ret;
    }
    unsigned char buf[1024];
    size_t got = 0;
    while (got < sizeof(buf) - 1 && (got == 0 || buf[got - 1] != '\n')) {
        ret = mbedtls_ssl_read(&t->ssl, buf + got, sizeof(buf) - 1 - got);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE ||
            ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue;
        if (ret <= 0)
            break;
        got += (size_t)ret;
    }
    buf[got] = 0;
    printf("reply: %s%s", (char *)buf, got && buf[got - 1] == '\n' ? "" : "\n");
    mbedtls_ssl_close_notify(&t->ssl);
    return got ? 0 : tls_err("read", ret);
}

static int run(const opts *o, sss_session *s)
{
    char host[256];
    const char *port;
    if (split_hostport(o->connect, host, sizeof(host), &port) != 0) {
        fprintf(stderr, "se05x-mbedtls-client: --connect wants HOST:PORT\n");
        return 2;
    }
    tls t;
    mbedtls_net_init(&t.net);
    mbedtls_ssl_init(&t.ssl);
    mbedtls_ssl_config_init(&t.conf);
    mbedtls_x509_crt_init(&t.ca);
    mbedtls_x509_crt_init(&t.own);
    mbedtls_pk_init(&t.pk);
    psa_key_id_t kid = 0;
    int rc = register_key(o->key_id, &kid);
    if (!rc)
        rc = read_cert(s, o->cert_id, &t.own);
    if (!rc) {
        int ret = mbedtls_pk_setup_opaque(&t.pk, kid);
        rc = ret ? tls_err("opaque key", ret) : 0;
    }
    if (!rc) {
        int ret = mbedtls_x509_crt_parse_file(&t.ca, o->ca);
        rc = ret ? tls_err(o->ca, ret) : 0;
    }
    if (!rc)
        rc = configure(&t, o, host);
    if (!rc) {
        int ret = mbedtls_net_connect(&t.net, host, port, MBEDTLS_NET_PROTO_TCP);
        rc = ret ? tls_err(o->connect, ret) : converse(&t, o);
    }
    mbedtls_net_free(&t.net);
    mbedtls_ssl_free(&t.ssl);
    mbedtls_ssl_config_free(&t.conf);
    mbedtls_x509_crt_free(&t.ca);
    mbedtls_x509_crt_free(&t.own);
    mbedtls_pk_free(&t.pk);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(argc, argv, &o) != 0)
        return usage();
    sss_session_cfg cfg = {.backend = SSS_BACKEND_SE05X, .connstr = o.port};
    sss_session *s = NULL;
    char err[256];
    if (sss_session_open(&cfg, &s, err, sizeof(err)) != SSS_OK) {
        fprintf(stderr, "se05x-mbedtls-client: %s\n", err);
        return 1;
    }
    se05x_psa_core *core = NULL;
    int rc = 1;
    if (se05x_psa_core_new_session(s, &core) != PSA_SUCCESS ||
        se05x_psa_register(core) != PSA_SUCCESS) {
        se05x_psa_core_free(core);
        fprintf(stderr, "se05x-mbedtls-client: cannot register the SE05x PSA driver\n");
    } else if (psa_crypto_init() != PSA_SUCCESS) {
        fprintf(stderr, "se05x-mbedtls-client: psa_crypto_init failed\n");
    } else {
        rc = run(&o, s);
    }
    mbedtls_psa_crypto_free();
    se05x_psa_unregister();
    sss_session_close(s);
    return rc;
}
