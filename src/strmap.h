/*
 * strmap.h - a string-keyed hash map with int64 values, and a string interner on it.
 */
#ifndef RI_STRMAP_H
#define RI_STRMAP_H

#include "ri_internal.h"

struct ri_strmap_slot {
    uint64_t hash; /* 0: empty */
    const char *key;
    uint32_t len;
    int64_t value;
};

struct ri_strmap {
    struct ri_strmap_slot *slots;
    size_t cap, n; /* cap is a power of two */
    char **chunks; /* key storage, freed together */
    size_t n_chunks, cap_chunks, chunk_used, chunk_size;
};

void ri_strmap_init(struct ri_strmap *m);
void ri_strmap_release(struct ri_strmap *m);
uint64_t ri_hash_bytes(const void *data, size_t len, uint64_t seed);
/* Sizes the table for n keys up front, so that filling it never rehashes. */
void ri_strmap_reserve(struct ri_strmap *m, size_t n);
/* Pointer to the value of key, or NULL if absent. Valid until the next put. */
int64_t *ri_strmap_get(const struct ri_strmap *m, const char *key, size_t len);
/* Inserts key (copied) with value init if absent; returns its slot (key and value) and
 * sets *added (may be NULL). Valid until the next put. */
struct ri_strmap_slot *ri_strmap_put(struct ri_strmap *m, const char *key, size_t len, int64_t init,
                                     int *added);

/* Interner: each distinct string gets a dense id 0, 1, 2, ... */
struct ri_intern {
    struct ri_strmap map;
    const char **strs;
    size_t n, cap;
};
void ri_intern_init(struct ri_intern *in);
void ri_intern_release(struct ri_intern *in);
int32_t ri_intern_id(struct ri_intern *in, const char *s, size_t len);
/* -1 if absent */
int32_t ri_intern_find(const struct ri_intern *in, const char *s, size_t len);
const char *ri_intern_str(const struct ri_intern *in, int32_t id);

#endif /* RI_STRMAP_H */
