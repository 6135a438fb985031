/* rtp-make: builds RTP provisioning JSON files (spec el2go-protocol.md §8)
 * from local material, so tests and demos need no EdgeLock 2GO access:
 * EC (incl. Ed25519 / X25519 / X448) and RSA key pairs or public keys
 * (PEM), certificates (PEM/DER), binary objects, each optionally with an
 * object policy (sss's policy text parser, hostlib's policy encoding). The
 * create / write APDUs come from hostlib's own encoders (WriteECKey,
 * WriteRSAKey sequences, WriteBinary chunks) run on a recording connection
 * (se05x/record.h); the key part is rtp_make_key (rtp/common). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rtp.h"
#include "se05x/commands.h"
#include "se05x/record.h"
#include "sss/spec.h"

#define MAX_OBJ_FILE (64 * 1024)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rtp-make -o OUT.json [--applet 3|7] DEVICE [ITEM...] [DEVICE [ITEM...]]...\n"
            "Writes an EdgeLock 2GO style RTP provisioning file (a JSON array of devices).\n"
            "DEVICE (starts a device; the ITEMs after it are its provisionings):\n"
            "  --uid HEX             18-byte SE UID in hex (device id = its signed decimal value)\n"
            "  --device-id DEC       decimal device id as printed by rtp-server\n"
            "ITEM (ID = target object id in hex, e.g. 83000001):\n"
            "  --ec-key PEM:ID       EC key pair from a PEM private key: NIST, Brainpool, Koblitz\n"
            "                        curves, Ed25519, X25519, X448 (type KEYPAIR)\n"
            "  --rsa-key PEM:ID      RSA key pair, CRT import (type KEYPAIR)\n"
            "  --ec-pub PEM:ID       EC public key only, PEM PUBLIC KEY (type STATIC_PUBLIC_KEY)\n"
            "  --rsa-pub PEM:ID      RSA public key only, PEM PUBLIC KEY (type STATIC_PUBLIC_KEY)\n"
            "  --cert FILE:ID        certificate, PEM or DER, stored as DER (type CERTIFICATE)\n"
            "  --binary FILE:ID      binary object (type BINARY_FILE)\n"
            "  --state STATE         state of the following items (default GENERATION_COMPLETED;\n"
            "                        e.g. PROVISIONING_COMPLETED, GENERATION_FAILED)\n"
            "  --policy RULES        object policy of the following items, as the se05x CLI's\n"
            "                        --policy: ';'-separated [AUTHID:]rules, e.g. 'sign,read' or\n"
            "                        '0x7DA00001:sign;0:read'; 'default' = the SE's default policy\n"
            "Options:\n"
            "  -o, --output FILE     output file ('-' = stdout)\n"
            "      --applet 3|7      applet generation whose encodings to use (default 7)\n"
            "  -h, --help            this help\n"
            "Curves are not part of the file: rtp-server installs them when needed.\n"
            "Exit status: 0 written; 1 an input file is unusable (unreadable, wrong PEM type,\n"
            "unsupported key) or the output cannot be written; 2 usage error (options, ids,\n"
            "UID, policy text).\n");
}

typedef struct {
    uint8_t major, minor;
    long long next_prov;
    const char *state;
    se05x_policy policy; /* of the following items; empty = the SE's default */
    json_object *root, *dev_provs;
} mk;

/* Exit status 1 (bad input file, encoding or output failure); usage
 * errors in the command line's text return 2 (see usage()). */
static int die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "rtp-make: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 1;
}

/* "PATH:ID" -> path (in buf) and id; 2 (usage error) if malformed. */
static int split_item(const char *arg, char *path, size_t cap, uint32_t *id)
{
    const char *c = strrchr(arg, ':');
    if (!c || (size_t)(c - arg) >= cap || c == arg)
        return die("'%s': expected FILE:ID%s", arg, ""), 2;
    memcpy(path, arg, (size_t)(c - arg));
    path[c - arg] = 0;
    if (rtp_parse_objid(c + 1, id) != SE05X_OK)
        return die("'%s': '%s' is not a hex object id", arg, c + 1), 2;
    return 0;
}

static int add_device(mk *m, const char *id)
{
    json_object *d = json_object_new_object();
    m->dev_provs = json_object_new_array();
    json_object_object_add(d, "deviceId", json_object_new_string(id));
    json_object_object_add(d, "rtpProvisionings", m->dev_provs);
    json_object_array_add(m->root, d);
    return 0;
}

static json_object *apdu_obj(const uint8_t *a, size_t len)
{
    char *b = rtp_b64_encode(a, len);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "apdu", json_object_new_string(b ? b : ""));
    if (b)
        OPENSSL_clear_free(b, strlen(b));
    return o;
}

/* Turn the recorded APDUs into one provisioning. */
static int add_prov(mk *m, se05x_recorder *rec, const char *type, const char *algo,
                    uint32_t id, size_t length, const char *name)
{
    size_t n = se05x_recorder_count(rec);
    if (!n)
        return die("%s: no APDU recorded%s", name, "");
    json_object *p = json_object_new_object(), *so = json_object_new_object(),
                *ap = json_object_new_object(), *wr = json_object_new_array();
    char hex[16];
    snprintf(hex, sizeof(hex), "%08X", id);
    long long pid = m->next_prov++;
    json_object_object_add(p, "provisioningId", json_object_new_int64(pid));
    json_object_object_add(p, "state", json_object_new_string(m->state));
    json_object_object_add(so, "type", json_object_new_string(type));
    json_object_object_add(so, "id", json_object_new_int64(pid));
    json_object_object_add(so, "name", json_object_new_string(name));
    json_object_object_add(so, "objectId", json_object_new_string(hex));
    if (algo)
        json_object_object_add(so, "algorithm", json_object_new_string(algo));
    json_object_object_add(so, "length", json_object_new_int64((int64_t)length));
    json_object_object_add(p, "secureObject", so);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const uint8_t *a = se05x_recorder_get(rec, i, &len);
        if (len > RTP_CLIENT_MAX) {
            json_object_put(p);
            json_object_put(ap);
            json_object_put(wr);
            return die("%s: APDU longer than the client's %s-byte buffer", name, "892");
        }
        if (i == 0)
            json_object_object_add(ap, "createApdu", apdu_obj(a, len));
        else
            json_object_array_add(wr, apdu_obj(a, len));
    }
    json_object_object_add(ap, "writeApdus", wr);
    json_object_object_add(p, "apdus", ap);
    json_object_array_add(m->dev_provs, p);
    return 0;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        die("%s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *b = malloc(MAX_OBJ_FILE + 1);
    size_t n = b ? fread(b, 1, MAX_OBJ_FILE + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!b || bad || n > MAX_OBJ_FILE || n == 0) {
        die("%s: cannot read (empty, unreadable or larger than 64 KiB)%s", path, "");
        free(b);
        return NULL;
    }
    *len = n;
    return b;
}

/* Certificate file (PEM or DER) -> DER in *der. */
static int cert_der(const char *path, uint8_t **der, size_t *len)
{
    size_t n = 0;
    uint8_t *b = read_all(path, &n);
    if (!b)
        return 1;
    X509 *x = NULL;
    if (n > 10 && !memcmp(b, "-----BEGIN", 10)) {
        BIO *bio = BIO_new_mem_buf(b, (int)n);
        x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
    } else {
        const unsigned char *p = b;
        x = d2i_X509(NULL, &p, (long)n);
        if (x && p != b + n) {
            X509_free(x);
            x = NULL;
        }
    }
    free(b);
    unsigned char *out = NULL;
    int dl = x ? i2d_X509(x, &out) : -1;
    X509_free(x);
    if (dl <= 0)
        return die("%s: not a PEM or DER certificate%s", path, "");
    *der = out;
    *len = (size_t)dl;
    return 0;
}

static int do_item(mk *m, int opt, const char *arg)
{
    char path[4096], algo[48] = "", name[64];
    uint32_t id = 0;
    int urc = split_item(arg, path, sizeof(path), &id);
    if (urc)
        return urc;
    if (!m->dev_provs)
        return die("%s: an item needs a device first (--uid or --device-id)%s", arg, ""), 2;
    se05x_conn *c = NULL;
    se05x_recorder *rec = NULL;
    if (se05x_recorder_open(m->major, m->minor, &c, &rec) != SE05X_OK)
        return die("cannot open a recording connection%s%s", "", "");
    se05x_status st = SE05X_ERR_ARG;
    const char *type = "KEYPAIR";
    size_t length = 0;
    se05x_obj_opts oo = {.policy = &m->policy};
    if (opt == 'e' || opt == 'r' || opt == 'E' || opt == 'R') {
        bool pair = opt == 'e' || opt == 'r', rsa = opt == 'r' || opt == 'R';
        char err[512];
        EVP_PKEY *k = rtp_load_key(path, pair, err, sizeof(err));
        rtp_key_desc d = {0};
        if (!k)
            die("%s%s", err, "");
        else if (rsa != (EVP_PKEY_is_a(k, "RSA") != 0))
            die("%s: not an %s key", path,
                rsa ? "RSA" : "EC (NIST/Brainpool/Koblitz curve, Ed25519, X25519, X448)");
        else if ((st = rtp_make_key(c, &oo, k, id, pair, &d, err, sizeof(err))) != SE05X_OK)
            die("%s: %s", path, err);
        EVP_PKEY_free(k);
        if (st == SE05X_OK) {
            type = d.type;
            snprintf(algo, sizeof(algo), "%s", d.algorithm);
            length = d.bits;
        }
        snprintf(name, sizeof(name), "%s_%s_%08X", rsa ? "rsa" : "ec",
                 pair ? "keypair" : "public_key", id);
        /* errors are reported above */
        if (st != SE05X_OK)
            st = SE05X_ERR_ARG;
    } else {
        uint8_t *data = NULL;
        size_t len = 0;
        if (opt == 'c') {
            type = "CERTIFICATE";
            if (cert_der(path, &data, &len) == 0) {
                st = se05x_write_binary(c, &oo, id, data, len, false);
                OPENSSL_free(data);
            }
        } else {
            type = "BINARY_FILE";
            if ((data = read_all(path, &len))) {
                st = se05x_write_binary(c, &oo, id, data, len, false);
                free(data);
            }
        }
        length = len;
        snprintf(name, sizeof(name), "%s_%08X", opt == 'c' ? "certificate" : "binary", id);
    }
    int rc = 1;
    if (st == SE05X_OK)
        rc = add_prov(m, rec, type, algo[0] ? algo : NULL, id, length, name);
    else if (st != SE05X_ERR_ARG && st != SE05X_ERR_UNSUPPORTED)
        die("%s: cannot encode: %s", arg, se05x_conn_errmsg(c)[0] ? se05x_conn_errmsg(c)
                                                                    : se05x_strerror(st));
    se05x_conn_close(c);
    return rc;
}

/* --policy RULES: the policy of the following items ("default": none);
 * 2 (usage error) if the text does not parse. */
static int do_policy(mk *m, const char *arg)
{
    if (!strcasecmp(arg, "default")) {
        se05x_policy_init(&m->policy);
        return 0;
    }
    char err[256];
    if (sss_policy_parse_text(arg, &m->policy, err, sizeof(err)) != SSS_OK)
        return die("--policy '%s': %s", arg, err), 2;
    uint8_t buf[SE05X_POLICY_MAX_BYTES];
    size_t n = 0;
    if (se05x_policy_serialize(&m->policy, buf, sizeof(buf), &n) != SE05X_OK)
        return die("--policy '%s': longer than %s bytes once encoded", arg, "256"), 2;
    return 0;
}

static int do_device(mk *m, int opt, const char *arg)
{
    if (opt == 'd') {
        const char *s = arg[0] == '-' ? arg + 1 : arg;
        if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(arg) >= 64)
            return die("--device-id '%s': not a decimal number%s", arg, ""), 2;
        return add_device(m, arg);
    }
    uint8_t uid[SE05X_UID_LEN];
    size_t n = 0;
    char dec[64];
    if (rtp_hex_decode(arg, uid, sizeof(uid), &n) != SE05X_OK || n != SE05X_UID_LEN)
        return die("--uid '%s': expected %s hex bytes", arg, "18"), 2;
    if (rtp_device_id(uid, n, dec, sizeof(dec)) != SE05X_OK)
        return die("--uid '%s': cannot convert%s", arg, ""), 2;
    return add_device(m, dec);
}

int main(int argc, char **argv)
{
    enum { O_UID = 'u', O_DEV = 'd', O_EC = 'e', O_RSA = 'r', O_ECPUB = 'E', O_RSAPUB = 'R',
           O_CERT = 'c', O_BIN = 'b', O_STATE = 's', O_POLICY = 'P', O_APPLET = 'a' };
    static const struct option lo[] = {
        {"output", required_argument, NULL, 'o'}, {"uid", required_argument, NULL, O_UID},
        {"device-id", required_argument, NULL, O_DEV}, {"ec-key", required_argument, NULL, O_EC},
        {"rsa-key", required_argument, NULL, O_RSA}, {"ec-pub", required_argument, NULL, O_ECPUB},
        {"rsa-pub", required_argument, NULL, O_RSAPUB}, {"policy", required_argument, NULL, O_POLICY},
        {"cert", required_argument, NULL, O_CERT},
        {"binary", required_argument, NULL, O_BIN}, {"state", required_argument, NULL, O_STATE},
        {"applet", required_argument, NULL, O_APPLET}, {"help", no_argument, NULL, 'h'}, {0}};
    mk m = {.major = 7, .minor = 2, .next_prov = 1, .state = "GENERATION_COMPLETED"};
    se05x_policy_init(&m.policy);
    const char *outp = NULL;
    int c, rc = 0;
    /* first pass: options that apply to everything */
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 0;
        } else if (c == 'o') {
            outp = optarg;
        } else if (c == O_APPLET) {
            if (strcmp(optarg, "3") && strcmp(optarg, "7"))
                return die("--applet '%s': expected 3 or 7%s", optarg, ""), 2;
            m.major = optarg[0] == '3' ? 3 : 7;
            m.minor = optarg[0] == '3' ? 6 : 2;
        } else if (c == '?') {
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        return die("unexpected argument '%s'%s", argv[optind], ""), 2;
    if (!outp)
        return die("-o OUT.json is required%s%s", "", ""), 2;
    m.root = json_object_new_array();
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (c == O_UID || c == O_DEV)
            rc = do_device(&m, c, optarg);
        else if (c == O_STATE)
            m.state = optarg;
        else if (c == O_POLICY)
            rc = do_policy(&m, optarg);
        else if (c == O_EC || c == O_RSA || c == O_ECPUB || c == O_RSAPUB || c == O_CERT ||
                 c == O_BIN)
            rc = do_item(&m, c, optarg);
    }
    if (rc == 0 && json_object_array_length(m.root) == 0)
        rc = (die("no device given (--uid or --device-id)%s%s", "", ""), 2);
    if (rc == 0) {
        const char *txt = json_object_to_json_string_ext(m.root, JSON_C_TO_STRING_PRETTY |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
        FILE *f = strcmp(outp, "-") ? fopen(outp, "w") : stdout;
        if (!f || fprintf(f, "%s\n", txt) < 0 || (f != stdout && fclose(f) != 0))
            rc = die("%s: cannot write: %s", outp, strerror(errno));
    }
    json_object_put(m.root);
    return rc;
}
