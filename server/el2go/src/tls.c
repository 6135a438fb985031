/* el2go-server TLS listener: TLS 1.2/1.3 with the server chain from `init`,
 * mutual TLS trusting the configured factory CA(s), the device UID taken
 * from the client certificate's subject CN (36 hex digits, as the
 * simulator's factory certificates carry it). One forked child per
 * connection runs the engine over an el2go_stream on the SSL object, with
 * its own database handle. */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "el2go_server/server.h"

static ssize_t ssl_rd(void *ctx, uint8_t *buf, size_t len)
{
    size_t n = 0;
    int rc = SSL_read_ex(ctx, buf, len, &n);
    if (rc == 1)
        return (ssize_t)n;
    int e = SSL_get_error(ctx, rc);
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

static ssize_t ssl_wr(void *ctx, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    return SSL_write_ex(ctx, buf, len, &n) == 1 ? (ssize_t)n : -1;
}

static SSL_CTX *make_ctx(const el2gs_serve_cfg *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    char path[1100];
    if (!ctx)
        goto ssl_fail;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    snprintf(path, sizeof(path), "%s/server.pem", cfg->dir);
    if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1)
        goto ssl_fail;
    snprintf(path, sizeof(path), "%s/server-key.pem", cfg->dir);
    if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1)
        goto ssl_fail;
    char *trust = strdup(cfg->trust), *save = NULL;
    int n = 0;
    for (char *t = trust ? strtok_r(trust, ":", &save) : NULL; t; t = strtok_r(NULL, ":", &save)) {
        if (SSL_CTX_load_verify_locations(ctx, t, NULL) != 1) {
            snprintf(err, errlen, "cannot load the factory CA %s", t);
            free(trust);
            SSL_CTX_free(ctx);
            return NULL;
        }
        n++;
    }
    free(trust);
    if (!n) {
        snprintf(err, errlen, "no factory CA configured");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
ssl_fail:
    snprintf(err, errlen, "TLS setup (%s): %s", path, ERR_reason_error_string(ERR_get_error()));
    SSL_CTX_free(ctx);
    return NULL;
}

static int listen_on(const char *addr, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
        snprintf(err, errlen, "listen address '%s' is not HOST:PORT", addr);
        return -1;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "listen address '%s': %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The UID from the client certificate's CN, or "" if it is not one. */
static void peer_uid(SSL *ssl, char uid[EL2GS_UID_HEX + 1])
{
    uid[0] = 0;
    X509 *x = SSL_get0_peer_certificate(ssl);
    char cn[128] = "", tmp[140];
    if (x && X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0) {
        snprintf(tmp, sizeof(tmp), "0x%s", cn);
        if (!el2gs_uid_normalize(tmp, uid) && !el2gs_uid_normalize(cn, uid))
            uid[0] = 0;
    }
}

static int serve_one(const el2gs_serve_cfg *cfg, SSL_CTX *ctx, int fd)
{
    char err[512], uid[EL2GS_UID_HEX + 1];
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
        if (cfg->log)
            fprintf(cfg->log, "el2go-server: TLS handshake failed: %s\n",
                    ERR_reason_error_string(ERR_get_error()));
        SSL_free(ssl);
        return 5;
    }
    peer_uid(ssl, uid);
    if (!uid[0]) {
        if (cfg->log)
            fprintf(cfg->log, "el2go-server: client certificate CN is not a device UID\n");
        SSL_shutdown(ssl);
        SSL_free(ssl);
        return 4;
    }
    el2gs_ca ca;
    el2gs_store *store = NULL;
    if (el2gs_ca_load(cfg->dir, &ca, err, sizeof(err)) != EL2GO_OK) {
        if (cfg->log)
            fprintf(cfg->log, "el2go-server: %s\n", err);
        SSL_free(ssl);
        return 1;
    }
    char db[1100];
    snprintf(db, sizeof(db), "%s/el2go.db", cfg->dir);
    if (el2gs_store_open(db, &store, err, sizeof(err)) != EL2GO_OK) {
        if (cfg->log)
            fprintf(cfg->log, "el2go-server: %s\n", err);
        el2gs_ca_free(&ca);
        SSL_free(ssl);
        return 1;
    }
    EVP_PKEY *ak = NULL;
    FILE *f = cfg->auth_key && cfg->auth_key[0] ? fopen(cfg->auth_key, "r") : NULL;
    if (f) {
        ak = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    }
    el2gs_engine_cfg ec = {.store = store, .ca = &ca, .dir = cfg->dir, .uid_hint = uid,
                           .hostname = cfg->hostname, .port = cfg->port, .auth_key = ak,
                           .log = cfg->log};
    el2go_stream s = {.ctx = ssl, .read = ssl_rd, .write = ssl_wr};
    el2gs_session_result r;
    el2go_status st = el2gs_session_run(&ec, &s, &r);
    if (cfg->log)
        fprintf(cfg->log, "el2go-server: session with 0x%s: %s\n", uid,
                st == EL2GO_OK ? el2gs_update_status_name(r.update_status) : r.err);
    SSL_shutdown(ssl);
    SSL_free(ssl);
    EVP_PKEY_free(ak);
    el2gs_store_close(store);
    el2gs_ca_free(&ca);
    return st == EL2GO_OK && r.update_status == 1 ? 0 : 4;
}

el2go_status el2gs_serve(const el2gs_serve_cfg *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = make_ctx(cfg, err, errlen);
    if (!ctx)
        return EL2GO_ERR_CRYPTO;
    int lfd = listen_on(cfg->listen, err, errlen);
    if (lfd < 0) {
        SSL_CTX_free(ctx);
        return EL2GO_ERR_IO;
    }
    signal(SIGPIPE, SIG_IGN);
    if (cfg->log)
        fprintf(cfg->log, "el2go-server: listening on %s\n", cfg->listen);
    fflush(NULL);
    int served = 0, running = 0;
    while (!cfg->max_sessions || served < cfg->max_sessions) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "accept: %s", strerror(errno));
            break;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(lfd);
            int rc = serve_one(cfg, ctx, fd);
            close(fd);
            SSL_CTX_free(ctx);
            _exit(rc);
        }
        close(fd);
        if (pid > 0) {
            served++;
            running++;
        }
        while (running > 0 && waitpid(-1, NULL, WNOHANG) > 0)
            running--;
    }
    while (running > 0 && waitpid(-1, NULL, 0) > 0)
        running--;
    close(lfd);
    SSL_CTX_free(ctx);
    return EL2GO_OK;
}
