/*
 * colcache.c - the column cache's blob format and its table (see colcache.h).
 *
 * Encoding is exact: a decoded column has the very bytes of the one encoded. Integers
 * (and doubles that are integers of at most 2^53 whose bits survive the round trip, so
 * never -0) are stored as codes c with value = base + (c - has_none) * step in unsigned
 * arithmetic, step being the greatest common divisor of the distances to the minimum
 * (whole days in a column of seconds give step 86400), and the code width the smallest
 * of 0, 1, 2, 4 or 8 bytes that holds the largest code. The 'none' value (INT64_MIN in
 * an int64 column, the bits of RI_NAN in a double column) takes code 0; any other NAN
 * makes a double column raw or dictionary coded. Everything is in the machine's byte
 * order; a blob from another order fails the magic and reads as stale.
 *
 * The payload checksum (four 64-bit multiply-xor lanes over 8-byte words) costs a few
 * milliseconds on a hundred megabytes and catches a truncated or damaged blob before
 * any of it is decoded.
 */
#include "colcache.h"
#include "store.h"

#include <math.h>
#include <string.h>
#include <sys/mman.h>

#define CC_MAGIC  0x43434952u /* "RICC" */
#define CC_HEADER 40

enum cc_codec { CC_RAW = 1, CC_FOR = 2, CC_DICT = 3, CC_STRS = 4, CC_U64 = 5 };
enum cc_type { T_I64, T_I32, T_SIZE, T_F64 };

/* ------------------------------------------------------------------ allocation */

/*
 * Every block starts with a header of CC_ALLOC_HDR bytes (which keeps the data aligned as
 * malloc's, or on 64 bytes in a mapping) telling how it was made: by malloc, or as a mapping of its
 * own, aligned on 2 MiB and marked for huge pages, whose length the header keeps for munmap. Under
 * AddressSanitizer every block comes from malloc, so that its bounds stay checked.
 */
#define CC_ALLOC_HDR   64
#define CC_ALLOC_MAGIC 0x636f6c756d6e73u
#define CC_HUGE        ((size_t)2 << 20)
#define CC_MAP_MIN     ((size_t)1 << 20) /* smaller blocks come from malloc */

#if defined(__SANITIZE_ADDRESS__)
# define CC_NO_MAP 1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define CC_NO_MAP 1
# endif
#endif

struct cc_block {
    uint64_t magic;
    size_t map_len; /* 0: from malloc */
};

/* A mapping is a whole number of huge pages: the last one, partly used, still takes
 * one fault instead of hundreds (at most 2 MiB of address space more per column, and
 * less than that in memory). */
static size_t cc_map_len(size_t n)
{
    return (n + CC_ALLOC_HDR + CC_HUGE - 1) & ~(CC_HUGE - 1);
}

static void *cc_map(size_t n)
{
#if defined(MADV_HUGEPAGE) && !defined(CC_NO_MAP)
    size_t len = cc_map_len(n);
    uint8_t *raw, *base;
    uintptr_t head;
    raw = mmap(NULL, len + CC_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    /* keep the 2 MiB-aligned part of the mapping: huge pages need that alignment */
    head = (CC_HUGE - ((uintptr_t)raw & (CC_HUGE - 1))) & (CC_HUGE - 1);
    base = raw + head;
    if (head)
        munmap(raw, head);
    munmap(base + len, CC_HUGE - head);
    madvise(base, len, MADV_HUGEPAGE); /* a hint: failing it only costs speed */
    return base;
#else
    (void)n;
    return NULL;
#endif
}

void *ri_cc_alloc(size_t n)
{
    struct cc_block b = {CC_ALLOC_MAGIC, 0};
    uint8_t *p = NULL;
    if (n >= CC_MAP_MIN && n < SIZE_MAX - CC_HUGE - CC_ALLOC_HDR) {
        p = cc_map(n);
        if (p)
            b.map_len = cc_map_len(n);
    }
    if (!p) {
        if (n > SIZE_MAX - CC_ALLOC_HDR)
            return NULL;
        p = ri_try_alloc(n + CC_ALLOC_HDR);
        if (!p)
            return NULL;
    }
    memcpy(p, &b, sizeof(b));
    return p + CC_ALLOC_HDR;
}

void *ri_cc_xalloc(size_t n)
{
    void *p = ri_cc_alloc(n);
    if (!p) {
        /* as ri_malloc: a size the program chose, not one from input */
        fprintf(stderr, "revintel: fatal: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *ri_cc_calloc(size_t n)
{
    uint8_t *p = ri_cc_alloc(n);
    struct cc_block b;
    if (!p)
        return NULL;
    memcpy(&b, p - CC_ALLOC_HDR, sizeof(b));
    if (!b.map_len) /* a fresh mapping is zero already */
        memset(p, 0, n);
    return p;
}

void ri_cc_free(void *p)
{
    struct cc_block b;
    uint8_t *base;
    if (!p)
        return;
    base = (uint8_t *)p - CC_ALLOC_HDR;
    memcpy(&b, base, sizeof(b));
    if (b.magic != CC_ALLOC_MAGIC)
        RI_BUG("ri_cc_free of a block ri_cc_alloc did not make");
    if (b.map_len)
        munmap(base, b.map_len);
    else
        ri_free(base);
}

/* ------------------------------------------------------------------ checksum */

static uint64_t checksum(const uint8_t *p, size_t n)
{
    const uint64_t m = 0x9e3779b97f4a7c15u;
    uint64_t h[4] = {1, 2, 3, 4}, w;
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            memcpy(&w, p + i + 8 * l, 8);
            h[l] = (h[l] ^ w) * m;
        }
    for (; i < n; i++)
        h[0] = (h[0] ^ p[i]) * m;
    return h[0] ^ (h[1] >> 7) ^ (h[2] << 3) ^ (h[3] >> 17) ^ (uint64_t)n;
}

/* ------------------------------------------------------------------ encoding */

/* Grows the blob to hold more bytes (a block of its own: see ri_cc_alloc). */
static void reserve(struct ri_cc_enc *e, size_t more)
{
    size_t cap;
    uint8_t *np;
    if (e->rc || e->len + more <= e->cap)
        return;
    cap = e->cap ? e->cap : 4096;
    while (cap < e->len + more)
        cap *= 2;
    np = ri_cc_alloc(cap);
    if (!np) {
        e->rc = RI_ERR_NOMEM;
        return;
    }
    if (e->len)
        memcpy(np, e->p, e->len);
    ri_cc_free(e->p);
    e->p = np;
    e->cap = cap;
}

void ri_cc_enc_reserve(struct ri_cc_enc *e, size_t bytes)
{
    if (bytes > e->len)
        reserve(e, bytes - e->len);
}

static void put(struct ri_cc_enc *e, const void *v, size_t n)
{
    reserve(e, n);
    if (e->rc)
        return;
    if (n)
        memcpy(e->p + e->len, v, n);
    e->len += n;
}

static void put8(struct ri_cc_enc *e, uint64_t v)
{
    put(e, &v, 8);
}

void ri_cc_enc_init(struct ri_cc_enc *e, enum ri_cc_what what, int64_t generation)
{
    uint32_t h[4] = {CC_MAGIC, RI_CC_VERSION, (uint32_t)what, 0};
    memset(e, 0, sizeof(*e));
    put(e, h, sizeof(h));
    put8(e, (uint64_t)generation);
    put8(e, 0); /* payload length */
    put8(e, 0); /* checksum */
}

void ri_cc_enc_release(struct ri_cc_enc *e)
{
    ri_cc_free(e->p);
    memset(e, 0, sizeof(*e));
}

ri_err ri_cc_enc_finish(struct ri_cc_enc *e)
{
    uint64_t n, sum;
    if (e->rc)
        return e->rc;
    n = e->len - CC_HEADER;
    sum = checksum(e->p + CC_HEADER, n);
    memcpy(e->p + 24, &n, 8);
    memcpy(e->p + 32, &sum, 8);
    return RI_OK;
}

/* A record opens with its codec, a type byte, two parameter bytes, and its count. */
static void put_head(struct ri_cc_enc *e, enum cc_codec codec, unsigned a, unsigned b,
                     uint64_t count)
{
    uint8_t h[8] = {(uint8_t)codec, (uint8_t)a, (uint8_t)b, 0, 0, 0, 0, 0};
    put(e, h, 8);
    put8(e, count);
}

void ri_cc_put_u64(struct ri_cc_enc *e, uint64_t v)
{
    put_head(e, CC_U64, 0, 0, 1);
    put8(e, v);
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static const double *nan_ref(void)
{
    static const double v = RI_NAN;
    return &v;
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* The value i of a column as an integer; false when it is the column's 'none'. For a
 * double, *ok turns false when the value has no exact integer form. */
static bool value_at(const void *v, enum cc_type t, size_t i, int64_t *out, bool *ok)
{
    switch (t) {
    case T_I64:
        *out = ((const int64_t *)v)[i];
        return *out != INT64_MIN;
    case T_I32:
        *out = ((const int32_t *)v)[i];
        return true;
    case T_SIZE:
        *out = (int64_t)((const size_t *)v)[i];
        return true;
    case T_F64: {
        double x = ((const double *)v)[i];
        *out = 0;
        if (isnan(x)) {
            *ok = *ok && same_bits(x, *nan_ref());
            return false;
        }
        if (!(x >= -9007199254740992.0 && x <= 9007199254740992.0)) {
            *ok = false;
            return false;
        }
        *out = (int64_t)x;
        *ok = *ok && same_bits((double)*out, x);
        return true;
    }
    }
    return false;
}

static unsigned width_for(uint64_t max_code)
{
    return max_code == 0             ? 0
           : max_code <= 0xff        ? 1
           : max_code <= 0xffff      ? 2
           : max_code <= 0xffffffffu ? 4
                                     : 8;
}

static size_t elem_size(enum cc_type t)
{
    return t == T_I32 ? 4 : 8;
}

/* Frame-of-reference statistics of a column: false if a double has no integer form. */
struct for_stats {
    bool has_none, any;
    int64_t min, max;
    uint64_t step;
};

static bool for_scan(const void *v, enum cc_type t, size_t n, struct for_stats *s)
{
    bool ok = true;
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < n && ok; i++) {
        int64_t x;
        if (!value_at(v, t, i, &x, &ok)) {
            s->has_none = true;
            continue;
        }
        if (!s->any || x < s->min)
            s->min = x;
        if (!s->any || x > s->max)
            s->max = x;
        s->any = true;
    }
    if (!ok)
        return false;
    for (size_t i = 0; i < n && s->step != 1; i++) {
        int64_t x;
        uint64_t d;
        if (!value_at(v, t, i, &x, &ok))
            continue;
        d = (uint64_t)x - (uint64_t)s->min;
        if (d && (!s->step || d % s->step))
            s->step = gcd64(s->step, d);
    }
    if (!s->step)
        s->step = 1;
    return true;
}

static uint64_t for_max_code(const struct for_stats *s)
{
    uint64_t range = s->any ? ((uint64_t)s->max - (uint64_t)s->min) / s->step : 0;
    return range + (s->has_none ? 1 : 0);
}

static void put_for(struct ri_cc_enc *e, const void *v, enum cc_type t, size_t n,
                    const struct for_stats *s)
{
    unsigned w = width_for(for_max_code(s));
    uint64_t none = s->has_none ? 1 : 0;
    bool ok = true;
    put_head(e, CC_FOR, (unsigned)t, w | (s->has_none ? 0x80u : 0), n);
    put8(e, (uint64_t)s->min);
    put8(e, s->step);
    reserve(e, n * w);
    if (e->rc || !w)
        return;
    for (size_t i = 0; i < n; i++) {
        int64_t x;
        uint64_t c =
            value_at(v, t, i, &x, &ok) ? ((uint64_t)x - (uint64_t)s->min) / s->step + none : 0;
        uint8_t *o = e->p + e->len + i * w;
        if (w == 1) {
            o[0] = (uint8_t)c;
        } else if (w == 2) {
            uint16_t c16 = (uint16_t)c;
            memcpy(o, &c16, 2);
        } else if (w == 4) {
            uint32_t c32 = (uint32_t)c;
            memcpy(o, &c32, 4);
        } else {
            memcpy(o, &c, 8);
        }
    }
    e->len += n * w;
}

static void put_raw(struct ri_cc_enc *e, const void *v, enum cc_type t, size_t n)
{
    put_head(e, CC_RAW, (unsigned)t, 0, n);
    put(e, v, n * elem_size(t));
}

static void put_ints(struct ri_cc_enc *e, const void *v, enum cc_type t, size_t n)
{
    struct for_stats s;
    if (for_scan(v, t, n, &s) && width_for(for_max_code(&s)) < elem_size(t))
        put_for(e, v, t, n, &s);
    else
        put_raw(e, v, t, n);
}

void ri_cc_put_i64s(struct ri_cc_enc *e, const int64_t *v, size_t n)
{
    put_ints(e, v, T_I64, n);
}

void ri_cc_put_i32s(struct ri_cc_enc *e, const int32_t *v, size_t n)
{
    put_ints(e, v, T_I32, n);
}

void ri_cc_put_sizes(struct ri_cc_enc *e, const size_t *v, size_t n)
{
    put_ints(e, v, T_SIZE, n);
}

/* Up to 256 distinct bit patterns: a dictionary and one byte per value. */
static bool put_dict(struct ri_cc_enc *e, const double *v, size_t n)
{
    enum { SLOTS = 1024 };
    uint64_t keys[SLOTS], dict[256];
    int16_t code[SLOTS];
    size_t nd = 0;
    uint8_t *codes = ri_try_alloc(n + 1);
    if (!codes)
        return false;
    for (size_t k = 0; k < SLOTS; k++)
        code[k] = -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t b;
        size_t h;
        memcpy(&b, &v[i], 8);
        h = (size_t)((b * 0x9e3779b97f4a7c15u) >> 54);
        while (code[h] >= 0 && keys[h] != b)
            h = (h + 1) & (SLOTS - 1);
        if (code[h] < 0) {
            if (nd == 256) {
                ri_free(codes);
                return false;
            }
            keys[h] = b;
            code[h] = (int16_t)nd;
            dict[nd++] = b;
        }
        codes[i] = (uint8_t)code[h];
    }
    put_head(e, CC_DICT, T_F64, 0, n);
    put8(e, nd);
    put(e, dict, nd * 8);
    put(e, codes, n);
    ri_free(codes);
    return true;
}

void ri_cc_put_f64s(struct ri_cc_enc *e, const double *v, size_t n)
{
    struct for_stats s;
    bool integral = for_scan(v, T_F64, n, &s);
    unsigned w = integral ? width_for(for_max_code(&s)) : 8;
    if (w <= 1 || !(n > 64 && put_dict(e, v, n))) {
        if (w < 8)
            put_for(e, v, T_F64, n, &s);
        else
            put_raw(e, v, T_F64, n);
    }
}

void ri_cc_put_u8s(struct ri_cc_enc *e, const uint8_t *v, size_t n)
{
    put_head(e, CC_RAW, 9, 0, n);
    put(e, v, n);
}

void ri_cc_put_intern(struct ri_cc_enc *e, const struct ri_intern *in)
{
    /* the exact lengths live in the map's slots (a string may hold a NUL) */
    uint32_t *len = ri_try_alloc((in->n + 1) * sizeof(*len));
    if (!len) {
        e->rc = RI_ERR_NOMEM;
        return;
    }
    for (size_t k = 0; k < in->map.cap; k++) {
        const struct ri_strmap_slot *sl = &in->map.slots[k];
        if (sl->hash && sl->value >= 0 && (size_t)sl->value < in->n)
            len[sl->value] = sl->len;
    }
    put_head(e, CC_STRS, 0, 0, in->n);
    for (size_t i = 0; i < in->n; i++) {
        put(e, &len[i], 4);
        put(e, in->strs[i], len[i]);
    }
    ri_free(len);
}

/* ------------------------------------------------------------------ decoding */

static void fail(struct ri_cc_dec *d)
{
    d->bad = 1;
}

static const uint8_t *take(struct ri_cc_dec *d, size_t n)
{
    const uint8_t *p;
    if (d->bad || n > d->len - d->off) {
        fail(d);
        return NULL;
    }
    p = d->p + d->off;
    d->off += n;
    return p;
}

static uint64_t get8(struct ri_cc_dec *d)
{
    const uint8_t *p = take(d, 8);
    uint64_t v = 0;
    if (p)
        memcpy(&v, p, 8);
    return v;
}

bool ri_cc_dec_init(struct ri_cc_dec *d, const void *data, size_t len, enum ri_cc_what what,
                    int64_t generation)
{
    uint32_t h[4];
    uint64_t gen, n, sum;
    memset(d, 0, sizeof(*d));
    d->p = data;
    d->len = len;
    if (!data || len < CC_HEADER)
        return false;
    memcpy(h, data, sizeof(h));
    memcpy(&gen, d->p + 16, 8);
    memcpy(&n, d->p + 24, 8);
    memcpy(&sum, d->p + 32, 8);
    if (h[0] != CC_MAGIC || h[1] != RI_CC_VERSION || h[2] != (uint32_t)what ||
        gen != (uint64_t)generation || n != len - CC_HEADER)
        return false;
    if (checksum(d->p + CC_HEADER, (size_t)n) != sum)
        return false;
    d->off = CC_HEADER;
    return true;
}

bool ri_cc_dec_ok(const struct ri_cc_dec *d)
{
    return !d->bad && d->off == d->len;
}

/* Reads a record head; false (and bad) unless it is one of codec's with count n. */
static bool get_head(struct ri_cc_dec *d, uint8_t h[8], uint64_t n)
{
    const uint8_t *p = take(d, 8);
    if (!p)
        return false;
    memcpy(h, p, 8);
    if (get8(d) != n)
        fail(d);
    return !d->bad;
}

uint64_t ri_cc_get_u64(struct ri_cc_dec *d)
{
    uint8_t h[8];
    if (!get_head(d, h, 1) || h[0] != CC_U64) {
        fail(d);
        return 0;
    }
    return get8(d);
}

/* Loops of frame-of-reference decoding, one per code width (u: the code type), so that
 * each is a plain loop the compiler vectorises; EXPR maps code c to the value. */
#define FOR_LOOP(u, EXPR)                                                                          \
 for (size_t i = 0; i < n; i++) {                                                                  \
  u c;                                                                                             \
  memcpy(&c, p + i * sizeof(u), sizeof(u));                                                        \
  o[i] = EXPR;                                                                                     \
 }
#define FOR_WIDTHS(EXPR)                                                                           \
 switch (w) {                                                                                      \
 case 0: {                                                                                         \
  const uint64_t c = 0;                                                                            \
  for (size_t i = 0; i < n; i++)                                                                   \
   o[i] = EXPR;                                                                                    \
  break;                                                                                           \
 }                                                                                                 \
 case 1:                                                                                           \
  FOR_LOOP(uint8_t, EXPR)                                                                          \
  break;                                                                                           \
 case 2:                                                                                           \
  FOR_LOOP(uint16_t, EXPR)                                                                         \
  break;                                                                                           \
 case 4:                                                                                           \
  FOR_LOOP(uint32_t, EXPR)                                                                         \
  break;                                                                                           \
 default:                                                                                          \
  FOR_LOOP(uint64_t, EXPR)                                                                         \
  break;                                                                                           \
 }

#define MAX_LOOP(u)                                                                                \
 for (size_t i = 0; i < n; i++) {                                                                  \
  u c;                                                                                             \
  memcpy(&c, p + i * sizeof(u), sizeof(u));                                                        \
  m = c > m ? c : m;                                                                               \
 }

/* The largest of n codes of width w at p. */
static uint64_t max_code(const uint8_t *p, unsigned w, size_t n)
{
    uint64_t m = 0;
    switch (w) {
    case 1:
        MAX_LOOP(uint8_t)
        break;
    case 2:
        MAX_LOOP(uint16_t)
        break;
    case 4:
        MAX_LOOP(uint32_t)
        break;
    case 8:
        MAX_LOOP(uint64_t)
        break;
    default:
        break;
    }
    return m;
}

/* Frame-of-reference decoding of n codes p of width w into dst of type t. False if a
 * value does not fit its type. */
static bool for_decode(const uint8_t *p, unsigned w, enum cc_type t, bool none, uint64_t base,
                       uint64_t step, void *dst, size_t n)
{
    switch (t) {
    case T_I64: {
        int64_t *o = dst;
        if (none) {
            base -= step; /* code 0 is none: value = base + (c - 1) * step */
            FOR_WIDTHS(c ? (int64_t)(base + (uint64_t)c * step) : INT64_MIN)
        } else {
            FOR_WIDTHS((int64_t)(base + (uint64_t)c * step))
        }
        return true;
    }
    case T_I32: {
        /* values from base up to base + max code * step must all be int32 */
        int32_t *o = dst;
        uint64_t maxc = max_code(p, w, n);
        int64_t b = (int64_t)base;
        if (b < INT32_MIN || b > INT32_MAX || (maxc && step > (uint64_t)(INT32_MAX - b) / maxc))
            return false;
        FOR_WIDTHS((int32_t)(b + (int64_t)((uint64_t)c * step)))
        return true;
    }
    case T_SIZE: {
        size_t *o = dst;
        FOR_WIDTHS((size_t)(base + (uint64_t)c * step))
        return true;
    }
    case T_F64: {
        double *o = dst;
        if (none) {
            base -= step;
            FOR_WIDTHS(c ? (double)(int64_t)(base + (uint64_t)c * step) : RI_NAN)
        } else {
            FOR_WIDTHS((double)(int64_t)(base + (uint64_t)c * step))
        }
        return true;
    }
    }
    return false;
}

/* Decodes the next column, of type t and n values, into dst. */
static void get_col(struct ri_cc_dec *d, enum cc_type t, void *dst, size_t n)
{
    uint8_t h[8];
    if (!get_head(d, h, n) || h[1] != (uint8_t)t) {
        fail(d);
        goto zero;
    }
    if (h[0] == CC_RAW) {
        const uint8_t *p = take(d, n * elem_size(t));
        if (!p)
            goto zero;
        memcpy(dst, p, n * elem_size(t));
        return;
    }
    if (h[0] == CC_FOR) {
        unsigned w = h[2] & 0x7fu;
        uint64_t none = (h[2] & 0x80u) ? 1 : 0, base = get8(d), step = get8(d);
        const uint8_t *p = take(d, n * w);
        if (d->bad || (w != 0 && w != 1 && w != 2 && w != 4 && w != 8) ||
            (none && t != T_I64 && t != T_F64))
            goto bad;
        if (!for_decode(p, w, t, none, base, step, dst, n))
            goto bad;
        return;
    }
    if (h[0] == CC_DICT && t == T_F64) {
        uint64_t nd = get8(d);
        const uint8_t *dict, *codes;
        double *o = dst;
        if (nd > 256)
            goto bad;
        dict = take(d, nd * 8);
        codes = take(d, n);
        if (d->bad)
            goto zero;
        for (size_t i = 0; i < n; i++) {
            if (codes[i] >= nd)
                goto bad;
            memcpy(&o[i], dict + 8 * codes[i], 8);
        }
        return;
    }
bad:
    fail(d);
zero:
    memset(dst, 0, n * elem_size(t));
}

void ri_cc_get_i64s(struct ri_cc_dec *d, int64_t *dst, size_t n)
{
    get_col(d, T_I64, dst, n);
}

void ri_cc_get_i32s(struct ri_cc_dec *d, int32_t *dst, size_t n)
{
    get_col(d, T_I32, dst, n);
}

void ri_cc_get_sizes(struct ri_cc_dec *d, size_t *dst, size_t n)
{
    get_col(d, T_SIZE, dst, n);
}

void ri_cc_get_f64s(struct ri_cc_dec *d, double *dst, size_t n)
{
    get_col(d, T_F64, dst, n);
}

const uint8_t *ri_cc_get_bytes(struct ri_cc_dec *d, size_t n)
{
    uint8_t h[8];
    if (get_head(d, h, n) && h[0] == CC_RAW && h[1] == 9)
        return take(d, n);
    fail(d);
    return NULL;
}

void ri_cc_get_u8s(struct ri_cc_dec *d, uint8_t *dst, size_t n)
{
    const uint8_t *p = ri_cc_get_bytes(d, n);
    if (p && n)
        memcpy(dst, p, n);
    else if (n)
        memset(dst, 0, n);
}

void ri_cc_get_intern(struct ri_cc_dec *d, struct ri_intern *in)
{
    const uint8_t *p = take(d, 16);
    uint64_t n;
    if (!p || p[0] != CC_STRS) {
        fail(d);
        return;
    }
    memcpy(&n, p + 8, 8);
    if (n > (d->len - d->off) / 4 || n > INT32_MAX) {
        fail(d);
        return;
    }
    ri_strmap_reserve(&in->map, (size_t)n);
    for (uint64_t i = 0; i < n && !d->bad; i++) {
        uint32_t len;
        const uint8_t *s = take(d, 4);
        if (!s)
            break;
        memcpy(&len, s, 4);
        s = take(d, len);
        if (!s)
            break;
        /* a repeated string would shift the ids: the table is not one an interner wrote */
        if (ri_intern_id(in, (const char *)s, len) != (int32_t)i)
            fail(d);
    }
}

void ri_cc_check_range(struct ri_cc_dec *d, const int32_t *v, size_t n, int64_t lo, int64_t hi)
{
    int32_t mn = INT32_MAX, mx = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        mn = v[i] < mn ? v[i] : mn;
        mx = v[i] > mx ? v[i] : mx;
    }
    if (n && (mn < lo || mx >= hi))
        fail(d);
}

/* ------------------------------------------------------------------ the store's cache */

ri_err ri_colcache_generation(struct ri_ctx *ctx, struct ri_store *st, int64_t *out)
{
    return ri_store_query_i64(ctx, st,
                              "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta "
                              "WHERE key = 'data_generation'), 0)",
                              out);
}

ri_err ri_colcache_bump(struct ri_ctx *ctx, struct ri_store *st)
{
    return ri_store_exec(ctx, st,
                         "INSERT INTO meta(key, value) VALUES ('data_generation', 1) "
                         "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1");
}

ri_err ri_colcache_read(struct ri_ctx *ctx, struct ri_store *st, const char *name,
                        enum ri_cc_what what, int64_t gen,
                        bool (*decode)(void *ud, struct ri_cc_dec *d), void *ud)
{
    struct ri_stmt *s = NULL;
    struct ri_blob *b = NULL;
    struct ri_cc_dec d;
    uint8_t *data = NULL;
    size_t len = 0;
    int64_t rowid = 0;
    ri_err rc = ri_stmt_prepare(
        ctx, st, "SELECT rowid FROM col_cache WHERE name = ?1 AND generation = ?2", &s);
    if (rc)
        return rc;
    ri_stmt_bind_text(s, 1, name, strlen(name));
    ri_stmt_bind_i64(s, 2, gen);
    rc = ri_stmt_step(ctx, s);
    if (rc == RI_OK)
        rowid = ri_stmt_i64(s, 0);
    ri_stmt_free(s);
    if (rc)
        return rc;
    /* read into memory of our own (huge pages, no copy held by SQLite), then decode */
    rc = ri_store_blob_open(ctx, st, "col_cache", "data", rowid, false, &b, &len);
    if (!rc) {
        data = ri_cc_alloc(len + 1);
        if (!data)
            rc = RI_ERR_NOTFOUND;
    }
    if (!rc)
        rc = ri_store_blob_read(ctx, b, data, len, 0);
    ri_store_blob_close(b);
    if (rc) {
        /* the row went away (a concurrent rewrite), or no memory: load from the tables */
        ri_log(RI_LOG_DEBUG, "column cache '%s' not read: %s", name, ri_errmsg(ctx));
        ri_cc_free(data);
        return RI_ERR_NOTFOUND;
    }
    if (!ri_cc_dec_init(&d, data, len, what, gen) || !decode(ud, &d)) {
        ri_log(RI_LOG_DEBUG, "column cache '%s' is not usable: loading from the tables", name);
        rc = RI_ERR_NOTFOUND;
    }
    ri_cc_free(data);
    return rc;
}

void ri_colcache_write(struct ri_store *st, const char *name, int64_t gen,
                       const struct ri_cc_enc *e)
{
    struct ri_ctx *ctx;
    struct ri_stmt *s = NULL;
    struct ri_blob *b = NULL;
    size_t size = 0;
    struct timespec t0, t1;
    int64_t now = -1;
    ri_err rc;
    if (e->rc || !ri_store_writable(st))
        return;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ctx = ri_ctx_new();
    /* a cache is not worth waiting for: another writer (an ingest) holds the lock for
     * long, and makes the blob stale anyway */
    ri_store_busy_timeout(st, 250);
    rc = ri_store_begin(ctx, st);
    ri_store_busy_timeout(st, 10000);
    if (rc)
        goto out;
    /* an ingest between the load and now would make the blob lie about its generation */
    rc = ri_colcache_generation(ctx, st, &now);
    if (!rc && now == gen) {
        /* the row with room for the blob, then the blob written into it in place (a bound
         * blob would be copied whole into a record first) */
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT OR REPLACE INTO col_cache(name, generation, data) "
                             "VALUES (?1, ?2, zeroblob(?3))",
                             &s);
        if (!rc) {
            ri_stmt_bind_text(s, 1, name, strlen(name));
            ri_stmt_bind_i64(s, 2, gen);
            ri_stmt_bind_i64(s, 3, (int64_t)e->len);
            rc = ri_stmt_run(ctx, s);
        }
        ri_stmt_free(s);
        if (!rc)
            rc = ri_store_blob_open(ctx, st, "col_cache", "data", ri_store_last_rowid(st), true, &b,
                                    &size);
        if (!rc && size != e->len)
            rc = ri_fail(ctx, RI_ERR_STORE, "blob of %zu bytes for %zu", size, e->len);
        if (!rc)
            rc = ri_store_blob_write(ctx, b, e->p, e->len, 0);
        ri_store_blob_close(b);
    }
    if (!rc)
        rc = ri_store_commit(ctx, st);
    if (rc)
        ri_store_rollback(st);
out:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc)
        ri_log(RI_LOG_DEBUG, "column cache '%s' not written: %s", name, ri_errmsg(ctx));
    else if (now == gen)
        ri_log(RI_LOG_DEBUG, "column cache '%s' written: %zu bytes in %.3f s", name, e->len,
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    ri_ctx_free(ctx);
}

void ri_colcache_save(struct ri_store *st, const char *name, enum ri_cc_what what, int64_t gen,
                      void (*encode)(const void *obj, struct ri_cc_enc *e), const void *obj)
{
    struct ri_cc_enc e;
    if (!ri_store_writable(st))
        return;
    ri_cc_enc_init(&e, what, gen);
    encode(obj, &e);
    if (!ri_cc_enc_finish(&e))
        ri_colcache_write(st, name, gen, &e);
    ri_cc_enc_release(&e);
}
