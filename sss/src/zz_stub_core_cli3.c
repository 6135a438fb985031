/* TEMPORARY (branch cli3): stand-ins for the sss core so that the CLI links
 * before sss.c lands; compiled only while sss/src/sss.c does not exist, and
 * deleted when main with the core is merged. Every call fails cleanly. */
#include "sss_internal.h"

typedef int sss_zz_stub_core_cli3_unused;

#if !__has_include("sss.c")
#include <stdio.h>
#include <string.h>

#define NOTYET SSS_ERR_UNSUPPORTED

const char *sss_strerror(sss_status st) { return st == SSS_OK ? "ok" : "sss core not built yet"; }
sss_status sss_session_open(const sss_session_cfg *cfg, sss_session **out, char *err, size_t errlen)
{
    (void)cfg;
    *out = NULL;
    if (err && errlen)
        snprintf(err, errlen, "sss core not built yet");
    return SSS_ERR_CONNECT;
}
void sss_session_close(sss_session *s) { (void)s; }
const char *sss_session_errmsg(const sss_session *s) { (void)s; return ""; }
sss_backend sss_session_backend(const sss_session *s) { (void)s; return SSS_BACKEND_SE05X; }
bool sss_id_reserved(uint32_t id) { return (id & 0xFFFF0000u) == 0x7FFF0000u; }
sss_status sss_object_exists(sss_session *s, uint32_t id, bool *e) { (void)s; (void)id; (void)e; return NOTYET; }
sss_status sss_object_info_get(sss_session *s, uint32_t id, sss_object_info *i) { (void)s; (void)id; (void)i; return NOTYET; }
sss_status sss_object_list(sss_session *s, sss_object_info **l, size_t *n) { (void)s; (void)l; (void)n; return NOTYET; }
sss_status sss_object_delete(sss_session *s, uint32_t id) { (void)s; (void)id; return NOTYET; }
sss_status sss_key_generate(sss_session *s, uint32_t id, const sss_keygen *g, const sss_write_opts *o) { (void)s; (void)id; (void)g; (void)o; return NOTYET; }
sss_status sss_key_import(sss_session *s, uint32_t id, sss_import_kind k, const uint8_t *d, size_t l, const sss_write_opts *o) { (void)s; (void)id; (void)k; (void)d; (void)l; (void)o; return NOTYET; }
sss_status sss_cert_read_der(sss_session *s, uint32_t id, uint8_t *o, size_t *l) { (void)s; (void)id; (void)o; (void)l; return NOTYET; }
sss_status sss_key_open(sss_session *s, uint32_t id, sss_key **o) { (void)s; (void)id; *o = NULL; return NOTYET; }
void sss_key_close(sss_key *k) { (void)k; }
const sss_object_info *sss_key_info(const sss_key *k) { return &k->info; }
sss_status sss_key_public_der(sss_key *k, uint8_t *o, size_t *l) { (void)k; (void)o; (void)l; return NOTYET; }
sss_status sss_sign(sss_key *k, const sss_sig_params *p, const uint8_t *i, size_t il, uint8_t *s, size_t *sl) { (void)k; (void)p; (void)i; (void)il; (void)s; (void)sl; return NOTYET; }
sss_status sss_verify(sss_key *k, const sss_sig_params *p, const uint8_t *i, size_t il, const uint8_t *s, size_t sl) { (void)k; (void)p; (void)i; (void)il; (void)s; (void)sl; return NOTYET; }
sss_status sss_derive_ecdh(sss_key *k, const uint8_t *p, size_t pl, uint8_t *s, size_t *sl) { (void)k; (void)p; (void)pl; (void)s; (void)sl; return NOTYET; }
sss_status sss_rsa_encrypt(sss_key *k, sss_rsa_pad p, const uint8_t *i, size_t il, uint8_t *o, size_t *ol) { (void)k; (void)p; (void)i; (void)il; (void)o; (void)ol; return NOTYET; }
sss_status sss_rsa_decrypt(sss_key *k, sss_rsa_pad p, const uint8_t *i, size_t il, uint8_t *o, size_t *ol) { (void)k; (void)p; (void)i; (void)il; (void)o; (void)ol; return NOTYET; }
sss_status sss_rng(sss_session *s, uint8_t *o, size_t l) { (void)s; (void)o; (void)l; return NOTYET; }
size_t sss_hash_len(sss_hash h)
{
    switch (h) {
    case SSS_HASH_SHA1: return 20;
    case SSS_HASH_SHA224: return 28;
    case SSS_HASH_SHA256: return 32;
    case SSS_HASH_SHA384: return 48;
    case SSS_HASH_SHA512: return 64;
    default: return 0;
    }
}
sss_status sss_hash_from_name(const char *n, sss_hash *h)
{
    static const char *names[] = {"", "sha1", "sha224", "sha256", "sha384", "sha512"};
    for (int i = 1; i < 6; i++)
        if (strcmp(n, names[i]) == 0) {
            *h = (sss_hash)i;
            return SSS_OK;
        }
    return SSS_ERR_ARG;
}
#endif
