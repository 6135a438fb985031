/* Typed wrappers for management and secure-object commands: versions,
 * free memory, random, object metadata (exists, size, type, id list,
 * delete), reads (plain, chunked binary, UID) and the non-key writes
 * (binary files in 500-byte chunks, UserID, counters, symmetric keys). */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cmd_internal.h"

/* Start a payload writer on a stack buffer. */
#define PAYLOAD(w, buf) \
    uint8_t buf[SE05X_CMD_BUF]; \
    se05x_tlvw w; \
    se05x_tlvw_init(&w, buf, sizeof(buf))

/* Run a command whose payload is in writer w. */
static se05x_status run(se05x_conn *c, se05x_cmd_req *r, se05x_tlvw *w, se05x_tlv_item *out)
{
    if (w) {
        if (w->err != SE05X_OK) {
            se05x_cmd_fail(c, r->cmd, r->has_id, r->id, w->err);
            return w->err;
        }
        r->data = w->buf;
        r->len = w->len;
    }
    return se05x_cmd_xchg(c, r, out);
}

static se05x_status result_byte(se05x_conn *c, se05x_cmd_req *r, const se05x_tlv_item *it,
                                bool *yes)
{
    if (it->val[0] == 0x01) {
        *yes = true;
    } else if (it->val[0] == 0x02) {
        *yes = false;
    } else {
        se05x_cmd_fail(c, r->cmd, r->has_id, r->id, SE05X_ERR_RESPONSE);
        return SE05X_ERR_RESPONSE;
    }
    return SE05X_OK;
}

/* ---- management ------------------------------------------------------ */

se05x_status se05x_get_version(se05x_conn *c, se05x_version *v, uint8_t raw[SE05X_VERSION_LEN])
{
    uint8_t rsp[64];
    se05x_tlv_item it[1];
    se05x_cmd_req r = {.cmd = CMD_GET_VERSION, .rsp = rsp, .rsp_cap = sizeof(rsp)};
    se05x_status st = run(c, &r, NULL, it);
    if (st != SE05X_OK)
        return st;
    if (v)
        se05x_version_decode(it[0].val, v);
    if (raw)
        memcpy(raw, it[0].val, SE05X_VERSION_LEN);
    return SE05X_OK;
}

se05x_status se05x_get_ext_version(se05x_conn *c, uint8_t out[SE05X_EXT_VERSION_LEN])
{
    uint8_t rsp[64];
    se05x_tlv_item it[1];
    se05x_cmd_req r = {.cmd = CMD_GET_EXT_VERSION, .rsp = rsp, .rsp_cap = sizeof(rsp)};
    se05x_status st = run(c, &r, NULL, it);
    if (st == SE05X_OK)
        memcpy(out, it[0].val, SE05X_EXT_VERSION_LEN);
    return st;
}

se05x_status se05x_get_timestamp(se05x_conn *c, uint8_t ts[12])
{
    uint8_t rsp[64];
    se05x_tlv_item it[1];
    se05x_cmd_req r = {.cmd = CMD_GET_TIMESTAMP, .rsp = rsp, .rsp_cap = sizeof(rsp)};
    se05x_status st = run(c, &r, NULL, it);
    if (st == SE05X_OK)
        memcpy(ts, it[0].val, 12);
    return st;
}

se05x_status se05x_get_free_memory(se05x_conn *c, uint8_t memtype, uint32_t *free_bytes)
{
    PAYLOAD(w, buf);
    uint8_t rsp[64];
    se05x_tlv_item it[1];
    se05x_cmd_req r = {.cmd = CMD_GET_FREE_MEMORY, .rsp = rsp, .rsp_cap = sizeof(rsp)};
    if (!free_bytes || memtype < 1 || memtype > 3)
        return SE05X_ERR_ARG;
    se05x_tlvw_u8(&w, SE05X_TAG_1, memtype);
    se05x_status st = run(c, &r, &w, it);
    if (st != SE05X_OK)
        return st;
    uint32_t v = 0;
    for (size_t i = 0; i < it[0].len; i++)
        v = (v << 8) | it[0].val[i];
    if (it[0].len == 3) { /* only 2 or 4 are meaningful */
        se05x_cmd_fail(c, r.cmd, false, 0, SE05X_ERR_TLV_LENGTH);
        return SE05X_ERR_TLV_LENGTH;
    }
    *free_bytes = v;
    return SE05X_OK;
}

#define RANDOM_CHUNK 512

se05x_status se05x_get_random(se05x_conn *c, uint8_t *out, size_t len)
{
    if (!out && len)
        return SE05X_ERR_ARG;
    uint8_t rsp[RANDOM_CHUNK + 16];
    size_t done = 0;
    se05x_conn_lock(c);
    se05x_status st = SE05X_OK;
    while (st == SE05X_OK && done < len) {
        size_t n = len - done > RANDOM_CHUNK ? RANDOM_CHUNK : len - done;
        PAYLOAD(w, buf);
        se05x_tlv_item it[1];
        se05x_cmd_req r = {.cmd = CMD_GET_RANDOM, .rsp = rsp, .rsp_cap = sizeof(rsp)};
        se05x_tlvw_u16(&w, SE05X_TAG_1, (uint16_t)n);
        st = run(c, &r, &w, it);
        if (st == SE05X_OK && it[0].len != n) {
            st = SE05X_ERR_TLV_LENGTH;
            se05x_cmd_fail(c, r.cmd, false, 0, st);
        }
        if (st == SE05X_OK) {
            memcpy(out + done, it[0].val, n);
            done += n;
        }
    }
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_delete_all(se05x_conn *c)
{
    se05x_cmd_req r = {.cmd = CMD_DELETE_ALL};
    return run(c, &r, NULL, NULL);
}

/* ---- metadata -------------------------------------------------------- */

se05x_status se05x_object_exists(se05x_conn *c, uint32_t id, bool *exists)
{
    PAYLOAD(w, buf);
    uint8_t rsp[64];
    se05x_tlv_item it[1];
    se05x_cmd_req r = {.cmd = CMD_CHECK_OBJECT_EXISTS, .has_id = true, .id = id, .rsp = rsp,
                       .rsp_cap = sizeof(rsp)};
    if (!exists)
        return SE05X_ERR_ARG;
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_status st = run(c, &r, &w, it);
    return st == SE05X_OK ? result_byte(c, &r, &it[0], exists) : st;
}

se05x_status se05x_delete_object(se05x_conn *c, uint32_t id)
{
    PAYLOAD(w, buf);
    se05x_cmd_req r = {.cmd = CMD_DELETE_OBJECT, .has_id = true, .id = id};
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    return run(c, &r, &w, NULL);
}

se05x_status se05x_read_size(se05x_conn *c, uint32_t id, uint16_t *size)
{
    PAYLOAD(w, buf);
    uint8_t rsp[64];
    se05x_tlv_item it[1];
    se05x_cmd_req r = {.cmd = CMD_READ_SIZE, .has_id = true, .id = id, .rsp = rsp,
                       .rsp_cap = sizeof(rsp)};
    if (!size)
        return SE05X_ERR_ARG;
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_status st = run(c, &r, &w, it);
    if (st == SE05X_OK)
        *size = se05x_get_u16(it[0].val);
    return st;
}

se05x_status se05x_read_type(se05x_conn *c, uint32_t id, uint8_t *type, uint8_t *transient)
{
    PAYLOAD(w, buf);
    uint8_t rsp[64];
    se05x_tlv_item it[2];
    se05x_cmd_req r = {.cmd = CMD_READ_TYPE, .has_id = true, .id = id, .rsp = rsp,
                       .rsp_cap = sizeof(rsp)};
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_status st = run(c, &r, &w, it);
    if (st != SE05X_OK)
        return st;
    if (type)
        *type = it[0].val[0];
    if (transient)
        *transient = it[1].val[0];
    return SE05X_OK;
}

se05x_status se05x_read_id_list_page(se05x_conn *c, uint16_t offset, uint8_t filter,
                                     uint32_t *ids, size_t cap, size_t *n, bool *more)
{
    PAYLOAD(w, buf);
    uint8_t rsp[SE05X_APDU_MAX];
    se05x_tlv_item it[2];
    se05x_cmd_req r = {.cmd = CMD_READ_ID_LIST, .rsp = rsp, .rsp_cap = sizeof(rsp)};
    if (!n || !more || (cap && !ids))
        return SE05X_ERR_ARG;
    /* offset is mandatory here (the MW sends 41 02 00 00 on the first page) */
    se05x_tlvw_u16(&w, SE05X_TAG_1, offset);
    se05x_tlvw_u8(&w, SE05X_TAG_2, filter);
    se05x_status st = run(c, &r, &w, it);
    if (st != SE05X_OK)
        return st;
    if (it[1].len % 4 != 0) {
        se05x_cmd_fail(c, r.cmd, false, 0, SE05X_ERR_TLV_LENGTH);
        return SE05X_ERR_TLV_LENGTH;
    }
    st = result_byte(c, &r, &it[0], more);
    if (st != SE05X_OK)
        return st;
    *more = !*more; /* 01 = no more, 02 = more */
    size_t cnt = it[1].len / 4;
    if (cnt > cap) {
        se05x_cmd_fail(c, r.cmd, false, 0, SE05X_ERR_BUFFER);
        return SE05X_ERR_BUFFER;
    }
    for (size_t i = 0; i < cnt; i++)
        ids[i] = se05x_get_u32(it[1].val + 4 * i);
    *n = cnt;
    return SE05X_OK;
}

se05x_status se05x_read_id_list(se05x_conn *c, uint8_t filter, uint32_t **ids, size_t *n)
{
    if (!ids || !n)
        return SE05X_ERR_ARG;
    size_t cap = 0, cnt = 0;
    uint32_t *all = NULL;
    bool more = true;
    se05x_status st = SE05X_OK;
    se05x_conn_lock(c);
    while (more) {
        uint32_t page[SE05X_APDU_MAX / 4];
        size_t got = 0;
        if (cnt > 0xFFFF) {
            st = SE05X_ERR_BUFFER;
            break;
        }
        st = se05x_read_id_list_page(c, (uint16_t)cnt, filter, page, SE05X_APDU_MAX / 4, &got,
                                     &more);
        if (st != SE05X_OK)
            break;
        if (more && got == 0) { /* no progress: the SE would loop forever */
            st = SE05X_ERR_RESPONSE;
            se05x_cmd_fail(c, CMD_READ_ID_LIST, false, 0, st);
            break;
        }
        if (cnt + got > cap) {
            size_t ncap = (cnt + got) * 2 + 16;
            uint32_t *na = realloc(all, ncap * sizeof(*na));
            if (!na) {
                st = SE05X_ERR_NOMEM;
                break;
            }
            all = na;
            cap = ncap;
        }
        if (got)
            memcpy(all + cnt, page, got * sizeof(*page));
        cnt += got;
    }
    se05x_conn_unlock(c);
    if (st != SE05X_OK) {
        free(all);
        return st;
    }
    *ids = all;
    *n = cnt;
    return SE05X_OK;
}

/* ---- reads ----------------------------------------------------------- */

static se05x_status read_obj(se05x_conn *c, uint32_t id, uint16_t offset, uint16_t length,
                             int comp, uint8_t *out, size_t *len)
{
    PAYLOAD(w, buf);
    uint8_t rsp[SE05X_APDU_MAX];
    se05x_tlv_item it[1];
    se05x_cmd_req r = {.cmd = CMD_READ_OBJECT, .has_id = true, .id = id, .rsp = rsp,
                       .rsp_cap = sizeof(rsp)};
    if (!len)
        return SE05X_ERR_ARG;
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_u16_opt(&w, SE05X_TAG_2, offset);
    se05x_tlvw_u16_opt(&w, SE05X_TAG_3, length);
    if (comp >= 0)
        se05x_tlvw_u8(&w, SE05X_TAG_4, (uint8_t)comp);
    se05x_status st = run(c, &r, &w, it);
    if (st != SE05X_OK)
        return st;
    if (length && it[0].len != length) {
        se05x_cmd_fail(c, r.cmd, true, id, SE05X_ERR_TLV_LENGTH);
        return SE05X_ERR_TLV_LENGTH;
    }
    st = se05x_cmd_copy_out(&it[0], out, len);
    if (st != SE05X_OK)
        se05x_cmd_fail(c, r.cmd, true, id, st);
    return st;
}

se05x_status se05x_read_object(se05x_conn *c, uint32_t id, uint16_t offset, uint16_t length,
                               uint8_t *out, size_t *len)
{
    return read_obj(c, id, offset, length, -1, out, len);
}

se05x_status se05x_read_rsa_component(se05x_conn *c, uint32_t id, uint8_t comp, uint8_t *out,
                                      size_t *len)
{
    return read_obj(c, id, 0, 0, comp, out, len);
}

se05x_status se05x_read_binary(se05x_conn *c, uint32_t id, uint8_t *out, size_t *len)
{
    uint16_t size = 0;
    if (!len)
        return SE05X_ERR_ARG;
    se05x_conn_lock(c);
    se05x_status st = se05x_read_size(c, id, &size);
    if (st == SE05X_OK && size > *len) {
        *len = size;
        st = SE05X_ERR_BUFFER;
        se05x_cmd_fail(c, CMD_READ_OBJECT, true, id, st);
    }
    for (size_t off = 0; st == SE05X_OK && off < size; off += SE05X_BINARY_CHUNK) {
        size_t n = size - off > SE05X_BINARY_CHUNK ? SE05X_BINARY_CHUNK : size - off;
        size_t got = n;
        st = read_obj(c, id, (uint16_t)off, (uint16_t)n, -1, out + off, &got);
    }
    se05x_conn_unlock(c);
    if (st == SE05X_OK)
        *len = size;
    return st;
}

se05x_status se05x_read_uid(se05x_conn *c, uint8_t uid[SE05X_UID_LEN])
{
    size_t len = SE05X_UID_LEN;
    return read_obj(c, SE05X_OBJID_UID, 0, SE05X_UID_LEN, -1, uid, &len);
}

/* ---- writes ---------------------------------------------------------- */

se05x_status se05x_write_binary(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                const uint8_t *data, size_t len, bool exists)
{
    if ((!data && len) || len == 0 || len > 0x7FFF)
        return SE05X_ERR_ARG;
    bool v7 = se05x_applet_is_7x(c);
    uint32_t version = o ? o->version : 0;
    se05x_status st = SE05X_OK;
    se05x_conn_lock(c);
    for (size_t off = 0; st == SE05X_OK && off < len; off += SE05X_BINARY_CHUNK) {
        size_t n = len - off > SE05X_BINARY_CHUNK ? SE05X_BINARY_CHUNK : len - off;
        bool first = off == 0 && !exists;
        PAYLOAD(w, buf);
        se05x_cmd_req r = {.cmd = CMD_WRITE_BINARY, .has_id = true, .id = id,
                           .ins_or = se05x_cmd_ins_flags(o)};
        if (first)
            se05x_cmd_put_policy(&w, SE05X_TAG_POLICY, o);
        else if (v7)
            se05x_cmd_put_policy(&w, SE05X_TAG_POLICY_CHECK, o);
        se05x_tlvw_u32(&w, SE05X_TAG_1, id);
        se05x_tlvw_u16_opt(&w, SE05X_TAG_2, (uint16_t)off);
        if (first)
            se05x_tlvw_u16(&w, SE05X_TAG_3, (uint16_t)len);
        se05x_tlvw_bytes(&w, SE05X_TAG_4, data + off, n);
        if (v7)
            se05x_tlvw_u32(&w, SE05X_TAG_11, version);
        st = run(c, &r, &w, NULL);
    }
    se05x_conn_unlock(c);
    return st;
}

se05x_status se05x_write_userid(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                const uint8_t *value, size_t len)
{
    PAYLOAD(w, buf);
    se05x_cmd_req r = {.cmd = CMD_WRITE_USERID, .has_id = true, .id = id,
                       .ins_or = se05x_cmd_ins_flags(o)};
    if (!value || len < 1 || len > 16)
        return SE05X_ERR_ARG;
    se05x_cmd_put_policy(&w, SE05X_TAG_POLICY, o);
    if (o)
        se05x_tlvw_u16_opt(&w, SE05X_TAG_MAX_ATTEMPTS, o->max_attempts);
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_bytes(&w, SE05X_TAG_2, value, len);
    se05x_status st = run(c, &r, &w, NULL);
    OPENSSL_cleanse(buf, sizeof(buf));
    return st;
}

se05x_status se05x_write_symm_key(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                  uint8_t type, uint32_t kek_id, const uint8_t *key, size_t len)
{
    PAYLOAD(w, buf);
    se05x_cmd_req r = {.cmd = CMD_WRITE_SYMM_KEY, .has_id = true, .id = id,
                       .ins_or = se05x_cmd_ins_flags(o), .p1_or = type};
    if (!key || !len || (type != SE05X_P1_AES && type != SE05X_P1_DES && type != SE05X_P1_HMAC))
        return SE05X_ERR_ARG;
    se05x_cmd_put_policy(&w, SE05X_TAG_POLICY, o);
    if (o)
        se05x_tlvw_u16_opt(&w, SE05X_TAG_MAX_ATTEMPTS, o->max_attempts);
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_u32_opt(&w, SE05X_TAG_2, kek_id);
    se05x_tlvw_bytes(&w, SE05X_TAG_3, key, len);
    if (se05x_applet_is_7x(c))
        se05x_tlvw_u32(&w, SE05X_TAG_11, o ? o->version : 0);
    se05x_status st = run(c, &r, &w, NULL);
    OPENSSL_cleanse(buf, sizeof(buf));
    return st;
}

se05x_status se05x_counter_create(se05x_conn *c, const se05x_obj_opts *o, uint32_t id,
                                  uint16_t size)
{
    PAYLOAD(w, buf);
    se05x_cmd_req r = {.cmd = CMD_WRITE_COUNTER, .has_id = true, .id = id,
                       .ins_or = se05x_cmd_ins_flags(o)};
    if (size < 1 || size > 8)
        return SE05X_ERR_ARG;
    se05x_cmd_put_policy(&w, SE05X_TAG_POLICY, o);
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_tlvw_u16(&w, SE05X_TAG_2, size);
    return run(c, &r, &w, NULL);
}

se05x_status se05x_counter_set(se05x_conn *c, uint32_t id, uint64_t value, uint16_t size)
{
    PAYLOAD(w, buf);
    se05x_cmd_req r = {.cmd = CMD_WRITE_COUNTER, .has_id = true, .id = id};
    if (size < 1 || size > 8 || (size < 8 && value >> (8 * size)))
        return SE05X_ERR_ARG;
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    if (value) { /* value 0 is omitted, as the middleware does */
        uint8_t v[8];
        for (int i = 0; i < size; i++)
            v[size - 1 - i] = (uint8_t)(value >> (8 * i));
        se05x_tlvw_bytes(&w, SE05X_TAG_3, v, size);
    }
    return run(c, &r, &w, NULL);
}

se05x_status se05x_counter_increment(se05x_conn *c, uint32_t id)
{
    PAYLOAD(w, buf);
    se05x_cmd_req r = {.cmd = CMD_WRITE_COUNTER, .has_id = true, .id = id};
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    return run(c, &r, &w, NULL);
}

/* ---- object attributes ------------------------------------------------ */

se05x_status se05x_attrs_parse(const uint8_t *buf, size_t len, bool v7, se05x_obj_attrs *a)
{
    size_t vlen = v7 ? 4 : 1;
    if (!buf || !a)
        return SE05X_ERR_ARG;
    if (len < 14 + 1 + vlen)
        return SE05X_ERR_TLV_LENGTH;
    memset(a, 0, sizeof(*a));
    a->id = se05x_get_u32(buf);
    a->type = buf[4];
    a->auth = buf[5] == 0x02;
    a->attempts = se05x_get_u16(buf + 6);
    a->owner = se05x_get_u32(buf + 8);
    a->max_attempts = se05x_get_u16(buf + 12);
    size_t plen = len - 14 - 1 - vlen;
    se05x_policy_init(&a->policy);
    if (plen) {
        se05x_status st = se05x_policy_parse(buf + 14, plen, &a->policy);
        if (st != SE05X_OK)
            return st;
    }
    a->origin = buf[14 + plen];
    a->version = v7 ? se05x_get_u32(buf + 15 + plen) : buf[15 + plen];
    return SE05X_OK;
}

se05x_status se05x_read_attributes(se05x_conn *c, uint32_t id, se05x_obj_attrs *a)
{
    PAYLOAD(w, buf);
    uint8_t rsp[512];
    se05x_tlv_item it[1];
    bool v7 = se05x_applet_is_7x(c);
    se05x_cmd_req r = {.cmd = v7 ? CMD_READ_ATTRIBUTES_7X : CMD_READ_ATTRIBUTES_3X,
                       .has_id = true, .id = id, .rsp = rsp, .rsp_cap = sizeof(rsp)};
    if (!a)
        return SE05X_ERR_ARG;
    se05x_tlvw_u32(&w, SE05X_TAG_1, id);
    se05x_status st = run(c, &r, &w, it);
    if (st != SE05X_OK)
        return st;
    st = se05x_attrs_parse(it[0].val, it[0].len, v7, a);
    if (st != SE05X_OK)
        se05x_cmd_fail(c, r.cmd, true, id, st);
    return st;
}
