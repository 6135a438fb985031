/* TEMPORARY STAND-IN (simcrypto branch only; deleted at merge): an
 * in-memory object store behind the sesim_store_* interface so that the
 * crypto handlers and the factory can be tested before store.c lands. */
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

typedef struct zz_node {
    sesim_obj o;
    struct zz_node *next;
} zz_node;

static void zz_copy(sesim_obj *dst, const sesim_obj *src)
{
    *dst = *src;
    for (int i = 0; i < SESIM_C_COUNT; i++) {
        dst->comp[i].v = NULL;
        dst->comp[i].len = 0;
        if (src->comp[i].v)
            sesim_obj_set_comp(dst, i, src->comp[i].v, src->comp[i].len);
    }
}

static zz_node *zz_find(sesim *s, uint32_t id)
{
    for (zz_node *n = s->store; n; n = n->next)
        if (n->o.id == id)
            return n;
    return NULL;
}

se05x_status sesim_store_load(sesim *s, uint32_t id, sesim_obj *out)
{
    zz_node *n = zz_find(s, id);
    if (!n)
        return SE05X_ERR_NOT_FOUND;
    zz_copy(out, &n->o);
    return SE05X_OK;
}

bool sesim_store_exists(sesim *s, uint32_t id) { return zz_find(s, id) != NULL; }

se05x_status sesim_store_save(sesim *s, const sesim_obj *o)
{
    zz_node *n = zz_find(s, o->id);
    if (n) {
        sesim_obj_free(&n->o);
    } else {
        n = calloc(1, sizeof(*n));
        if (!n)
            return SE05X_ERR_NOMEM;
        n->next = s->store;
        s->store = n;
    }
    zz_copy(&n->o, o);
    return SE05X_OK;
}

se05x_status sesim_store_delete(sesim *s, uint32_t id)
{
    for (zz_node **pp = (zz_node **)&s->store; *pp; pp = &(*pp)->next) {
        if ((*pp)->o.id == id) {
            zz_node *n = *pp;
            *pp = n->next;
            sesim_obj_free(&n->o);
            free(n);
            return SE05X_OK;
        }
    }
    return SE05X_ERR_NOT_FOUND;
}

se05x_status sesim_store_list(sesim *s, uint32_t **ids, size_t *n)
{
    size_t c = 0;
    for (zz_node *p = s->store; p; p = p->next)
        c++;
    *ids = calloc(c ? c : 1, sizeof(uint32_t));
    if (!*ids)
        return SE05X_ERR_NOMEM;
    size_t i = 0;
    for (zz_node *p = s->store; p; p = p->next)
        (*ids)[i++] = p->o.id;
    *n = c;
    return SE05X_OK;
}

size_t sesim_store_used(sesim *s)
{
    size_t u = 0;
    for (zz_node *p = s->store; p; p = p->next)
        u += sesim_obj_footprint(&p->o);
    return u;
}

void sesim_store_drop_transient(sesim *s) { (void)s; }

/* Used by the stand-in sesim_close. */
void zz_stub_store_free(sesim *s);
void zz_stub_store_free(sesim *s)
{
    while (s->store) {
        zz_node *n = s->store;
        s->store = n->next;
        sesim_obj_free(&n->o);
        free(n);
    }
}
