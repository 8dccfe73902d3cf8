/*
 * strmap.c - string-keyed hash map (open addressing, linear probing) and interner.
 *
 * Used wherever a million ids must be looked up quickly: the CRM id of every deal during
 * ingest, duplicate detection within a file, and interning of stage and owner names for
 * the as-of engine's columns. Keys are copied into large chunks that are freed together,
 * so a map of a million keys makes a few dozen allocations, not a million. The table
 * doubles at 75 % load; a stored hash of 0 marks an empty slot (real hashes are forced
 * non-zero).
 */
#include "strmap.h"

#include <string.h>

#define CHUNK_MIN (64 * 1024)

void ri_strmap_init(struct ri_strmap *m)
{
    memset(m, 0, sizeof(*m));
}

void ri_strmap_release(struct ri_strmap *m)
{
    for (size_t i = 0; i < m->n_chunks; i++)
        ri_free(m->chunks[i]);
    ri_free(m->chunks);
    ri_free(m->slots);
    ri_strmap_init(m);
}

uint64_t ri_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    /* FNV-1a, 64 bit, 8 bytes at a time folded with a multiply for speed */
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL ^ seed;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w;
        h *= 1099511628211ULL;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    while (len--) {
        h ^= *p++;
        h *= 1099511628211ULL;
    }
    h ^= h >> 32;
    return h ? h : 1;
}

static const char *store_key(struct ri_strmap *m, const char *key, size_t len)
{
    char *dst;
    if (!m->n_chunks || m->chunk_used + len + 1 > m->chunk_size) {
        size_t sz = len + 1 > CHUNK_MIN ? len + 1 : CHUNK_MIN;
        if (m->n_chunks && sz < m->chunk_size * 2 && m->chunk_size < (1u << 24))
            sz = m->chunk_size * 2 > sz ? m->chunk_size * 2 : sz;
        RI_GROW(m->chunks, m->cap_chunks, m->n_chunks + 1);
        m->chunks[m->n_chunks++] = ri_malloc(sz);
        m->chunk_size = sz;
        m->chunk_used = 0;
    }
    dst = m->chunks[m->n_chunks - 1] + m->chunk_used;
    memcpy(dst, key, len);
    dst[len] = '\0';
    m->chunk_used += len + 1;
    return dst;
}

static void rehash(struct ri_strmap *m, size_t cap)
{
    struct ri_strmap_slot *old = m->slots;
    size_t oldcap = m->cap;
    m->slots = ri_calloc(cap, sizeof(*m->slots));
    m->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        size_t j;
        if (!old[i].hash)
            continue;
        j = old[i].hash & (cap - 1);
        while (m->slots[j].hash)
            j = (j + 1) & (cap - 1);
        m->slots[j] = old[i];
    }
    ri_free(old);
}

void ri_strmap_reserve(struct ri_strmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 64;
    while (cap / 4 * 3 < n + 1) /* up to 75 % full, so that filling it never rehashes */
        cap *= 2;
    if (cap > m->cap)
        rehash(m, cap);
}

int64_t *ri_strmap_get(const struct ri_strmap *m, const char *key, size_t len)
{
    uint64_t h;
    size_t j;
    if (!m->cap)
        return NULL;
    h = ri_hash_bytes(key, len, 0);
    j = h & (m->cap - 1);
    while (m->slots[j].hash) {
        const struct ri_strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return &m->slots[j].value;
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

struct ri_strmap_slot *ri_strmap_put(struct ri_strmap *m, const char *key, size_t len, int64_t init,
                                     int *added)
{
    uint64_t h;
    size_t j;
    if (added)
        *added = 0;
    if ((m->n + 1) > m->cap / 4 * 3)
        rehash(m, m->cap ? m->cap * 2 : 64);
    h = ri_hash_bytes(key, len, 0);
    j = h & (m->cap - 1);
    while (m->slots[j].hash) {
        struct ri_strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
            return s;
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].hash = h;
    m->slots[j].key = store_key(m, key, len);
    m->slots[j].len = (uint32_t)len;
    m->slots[j].value = init;
    m->n++;
    if (added)
        *added = 1;
    return &m->slots[j];
}

void ri_intern_init(struct ri_intern *in)
{
    ri_strmap_init(&in->map);
    in->strs = NULL;
    in->n = in->cap = 0;
}

void ri_intern_release(struct ri_intern *in)
{
    ri_strmap_release(&in->map);
    ri_free(in->strs);
    ri_intern_init(in);
}

int32_t ri_intern_id(struct ri_intern *in, const char *s, size_t len)
{
    int added;
    struct ri_strmap_slot *slot = ri_strmap_put(&in->map, s, len, (int64_t)in->n, &added);
    if (added) {
        RI_GROW(in->strs, in->cap, in->n + 1);
        in->strs[in->n++] = slot->key;
    }
    return (int32_t)slot->value;
}

int32_t ri_intern_find(const struct ri_intern *in, const char *s, size_t len)
{
    const int64_t *v = ri_strmap_get(&in->map, s, len);
    return v ? (int32_t)*v : -1;
}

const char *ri_intern_str(const struct ri_intern *in, int32_t id)
{
    if (id < 0 || (size_t)id >= in->n)
        return NULL;
    return in->strs[id];
}
