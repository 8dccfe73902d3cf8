/*
 * test_colcache.c - the column cache: exact round trips of every column codec, refusal
 * of damaged or stale blobs, and loads of the as-of engine and the deal frame from the
 * cache that equal, byte for byte, the same loads from the tables; ingests invalidate
 * it, and a read-only store is never written.
 */
#include "harness.h"
#include "fixture.h"
#include "colcache.h"
#include "frame.h"
#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N 1000

static bool bits_equal(const void *a, const void *b, size_t n)
{
    return memcmp(a, b, n) == 0;
}

/* ------------------------------------------------------------------ codecs */

struct cols {
    int64_t days[N], wild[N], konst[N], none_only[N];
    int32_t codes[N], big32[N];
    size_t offs[N];
    double amounts[N], probs[N], fracs[N], odd[N], huge[N];
    uint8_t flags[N];
};

static void fill(struct cols *c)
{
    double negnan = -RI_NAN;
    for (size_t i = 0; i < N; i++) {
        /* whole days from 2023-07-01, a tenth of them missing */
        c->days[i] = i % 10 == 3 ? INT64_MIN : 1688169600 + (int64_t)(i % 700) * 86400;
        /* the whole int64 range, extremes included */
        c->wild[i] = i % 3 == 0 ? INT64_MAX : i % 3 == 1 ? INT64_MIN + 1 : (int64_t)i * 7919;
        c->konst[i] = 42;
        c->none_only[i] = INT64_MIN;
        c->codes[i] = (int32_t)(i % 13) - 1; /* -1 .. 11 */
        c->big32[i] = i % 2 ? INT32_MAX : INT32_MIN;
        c->offs[i] = i * 5 + (i % 4);
        c->amounts[i] = i % 17 == 0 ? RI_NAN : 220.0 + (double)((i * 104729) % 1775081);
        c->probs[i] = (double)(i % 9) / 10.0; /* 0.1 is not a whole number: dictionary */
        c->fracs[i] = (double)i / 3.0;        /* many distinct fractions: raw */
        c->flags[i] = (uint8_t)(i % 3);
    }
    /* -0, infinities, a NAN other than RI_NAN, and whole numbers past 2^53 */
    for (size_t i = 0; i < N; i++)
        c->odd[i] = (double)i;
    c->odd[5] = -0.0;
    c->odd[6] = HUGE_VAL;
    c->odd[7] = -HUGE_VAL;
    c->odd[8] = negnan;
    for (size_t i = 0; i < N; i++)
        c->huge[i] = 9007199254740992.0 * (double)(i + 1);
}

static void encode(const struct cols *c, struct ri_cc_enc *e, int64_t gen)
{
    ri_cc_enc_init(e, RI_CC_HISTORY, gen);
    ri_cc_put_u64(e, 12345);
    ri_cc_put_i64s(e, c->days, N);
    ri_cc_put_i64s(e, c->wild, N);
    ri_cc_put_i64s(e, c->konst, N);
    ri_cc_put_i64s(e, c->none_only, N);
    ri_cc_put_i64s(e, c->days, 0);
    ri_cc_put_i32s(e, c->codes, N);
    ri_cc_put_i32s(e, c->big32, N);
    ri_cc_put_sizes(e, c->offs, N);
    ri_cc_put_f64s(e, c->amounts, N);
    ri_cc_put_f64s(e, c->probs, N);
    ri_cc_put_f64s(e, c->fracs, N);
    ri_cc_put_f64s(e, c->odd, N);
    ri_cc_put_f64s(e, c->huge, N);
    ri_cc_put_u8s(e, c->flags, N);
}

TEST(codecs_round_trip_exactly)
{
    static struct cols in, out;
    struct ri_cc_enc e;
    struct ri_cc_dec d;
    int64_t empty[1] = {7};
    fill(&in);
    memset(&out, 0xa5, sizeof(out));
    encode(&in, &e, 9);
    REQUIRE(ri_cc_enc_finish(&e) == RI_OK);
    REQUIRE(ri_cc_dec_init(&d, e.p, e.len, RI_CC_HISTORY, 9));
    CHECK_EQ_INT(ri_cc_get_u64(&d), 12345);
    ri_cc_get_i64s(&d, out.days, N);
    ri_cc_get_i64s(&d, out.wild, N);
    ri_cc_get_i64s(&d, out.konst, N);
    ri_cc_get_i64s(&d, out.none_only, N);
    ri_cc_get_i64s(&d, empty, 0);
    ri_cc_get_i32s(&d, out.codes, N);
    ri_cc_get_i32s(&d, out.big32, N);
    ri_cc_get_sizes(&d, out.offs, N);
    ri_cc_get_f64s(&d, out.amounts, N);
    ri_cc_get_f64s(&d, out.probs, N);
    ri_cc_get_f64s(&d, out.fracs, N);
    ri_cc_get_f64s(&d, out.odd, N);
    ri_cc_get_f64s(&d, out.huge, N);
    ri_cc_get_u8s(&d, out.flags, N);
    CHECK(ri_cc_dec_ok(&d));
    CHECK(bits_equal(in.days, out.days, sizeof(in.days)));
    CHECK(bits_equal(in.wild, out.wild, sizeof(in.wild)));
    CHECK(bits_equal(in.konst, out.konst, sizeof(in.konst)));
    CHECK(bits_equal(in.none_only, out.none_only, sizeof(in.none_only)));
    CHECK_EQ_INT(empty[0], 7);
    CHECK(bits_equal(in.codes, out.codes, sizeof(in.codes)));
    CHECK(bits_equal(in.big32, out.big32, sizeof(in.big32)));
    CHECK(bits_equal(in.offs, out.offs, sizeof(in.offs)));
    CHECK(bits_equal(in.amounts, out.amounts, sizeof(in.amounts)));
    CHECK(bits_equal(in.probs, out.probs, sizeof(in.probs)));
    CHECK(bits_equal(in.fracs, out.fracs, sizeof(in.fracs)));
    CHECK(bits_equal(in.odd, out.odd, sizeof(in.odd)));
    CHECK(bits_equal(in.huge, out.huge, sizeof(in.huge)));
    CHECK(bits_equal(in.flags, out.flags, sizeof(in.flags)));
    CHECK(signbit(out.odd[5]) && !(out.odd[5] < 0) && !(out.odd[5] > 0)); /* -0 */
    ri_cc_enc_release(&e);
}

/* Size of one encoded column of the header-free blob, by difference. */
static size_t col_bytes(void (*put)(struct ri_cc_enc *, const void *), const void *v)
{
    struct ri_cc_enc e;
    size_t base, n;
    ri_cc_enc_init(&e, RI_CC_FRAME, 0);
    base = e.len;
    put(&e, v);
    n = e.len - base;
    ri_cc_enc_release(&e);
    return n;
}

static void put_days(struct ri_cc_enc *e, const void *v)
{
    ri_cc_put_i64s(e, v, N);
}

static void put_probs(struct ri_cc_enc *e, const void *v)
{
    ri_cc_put_f64s(e, v, N);
}

static void put_codes(struct ri_cc_enc *e, const void *v)
{
    ri_cc_put_i32s(e, v, N);
}

TEST(codecs_are_compact)
{
    static struct cols c;
    fill(&c);
    /* 700 distinct days and a 'none': codes 0..700 in 2 bytes, plus a 32-byte head */
    CHECK_EQ_INT(col_bytes(put_days, c.days), 32 + 2 * N);
    /* a constant column has no codes at all */
    CHECK_EQ_INT(col_bytes(put_days, c.konst), 32);
    /* 9 distinct probabilities: a 9-entry dictionary and a byte each */
    CHECK_EQ_INT(col_bytes(put_probs, c.probs), 16 + 8 + 9 * 8 + N);
    /* codes -1 .. 11: a byte each */
    CHECK_EQ_INT(col_bytes(put_codes, c.codes), 32 + N);
    /* amounts are whole numbers below 2^32 - 1 from the smallest: 4 bytes each */
    CHECK_EQ_INT(col_bytes(put_probs, c.amounts), 32 + 4 * N);
    /* the extremes of int64 leave nothing to save: raw */
    CHECK_EQ_INT(col_bytes(put_days, c.wild), 16 + 8 * N);
}

TEST(damaged_or_foreign_blobs_are_refused)
{
    static struct cols c;
    struct ri_cc_enc e;
    struct ri_cc_dec d;
    uint8_t *copy;
    fill(&c);
    encode(&c, &e, 3);
    REQUIRE(ri_cc_enc_finish(&e) == RI_OK);
    copy = malloc(e.len);
    REQUIRE(copy != NULL);
    CHECK(ri_cc_dec_init(&d, e.p, e.len, RI_CC_HISTORY, 3));
    CHECK(!ri_cc_dec_init(&d, e.p, e.len, RI_CC_HISTORY, 4)); /* another generation */
    CHECK(!ri_cc_dec_init(&d, e.p, e.len, RI_CC_FRAME, 3));   /* another kind */
    CHECK(!ri_cc_dec_init(&d, e.p, e.len - 1, RI_CC_HISTORY, 3));
    CHECK(!ri_cc_dec_init(&d, e.p, 20, RI_CC_HISTORY, 3));
    CHECK(!ri_cc_dec_init(&d, NULL, 0, RI_CC_HISTORY, 3));
    memcpy(copy, e.p, e.len);
    copy[4]++; /* the format version */
    CHECK(!ri_cc_dec_init(&d, copy, e.len, RI_CC_HISTORY, 3));
    for (size_t at = 40; at < e.len; at += e.len / 7) {
        memcpy(copy, e.p, e.len);
        copy[at] ^= 0x10; /* one bit of the payload: the checksum catches it */
        CHECK(!ri_cc_dec_init(&d, copy, e.len, RI_CC_HISTORY, 3));
    }
    free(copy);
    ri_cc_enc_release(&e);
}

TEST(decoder_rejects_other_shapes)
{
    static struct cols c;
    int64_t v64[N + 1];
    int32_t v32[N];
    struct ri_cc_enc e;
    struct ri_cc_dec d;
    fill(&c);
    ri_cc_enc_init(&e, RI_CC_FRAME, 0);
    ri_cc_put_i64s(&e, c.days, N);
    ri_cc_put_i32s(&e, c.codes, N);
    REQUIRE(ri_cc_enc_finish(&e) == RI_OK);
    /* a column read with another length */
    REQUIRE(ri_cc_dec_init(&d, e.p, e.len, RI_CC_FRAME, 0));
    ri_cc_get_i64s(&d, v64, N + 1);
    CHECK(d.bad);
    CHECK(!ri_cc_dec_ok(&d));
    /* a column read as another type */
    REQUIRE(ri_cc_dec_init(&d, e.p, e.len, RI_CC_FRAME, 0));
    ri_cc_get_i32s(&d, v32, N);
    CHECK(d.bad);
    /* codes out of the range of their table */
    REQUIRE(ri_cc_dec_init(&d, e.p, e.len, RI_CC_FRAME, 0));
    ri_cc_get_i64s(&d, v64, N);
    ri_cc_get_i32s(&d, v32, N);
    CHECK(!d.bad);
    ri_cc_check_range(&d, v32, N, -1, 12); /* -1 .. 11 fit */
    CHECK(!d.bad);
    ri_cc_check_range(&d, v32, N, -1, 11); /* 11 does not */
    CHECK(d.bad);
    /* a blob with a record left over is not whole */
    REQUIRE(ri_cc_dec_init(&d, e.p, e.len, RI_CC_FRAME, 0));
    ri_cc_get_i64s(&d, v64, N);
    CHECK(!d.bad);
    CHECK(!ri_cc_dec_ok(&d));
    ri_cc_enc_release(&e);
}

TEST(interners_keep_their_ids)
{
    struct ri_intern a, b;
    struct ri_cc_enc e;
    struct ri_cc_dec d;
    const char with_nul[] = {'x', '\0', 'y'};
    ri_intern_init(&a);
    ri_intern_init(&b);
    CHECK_EQ_INT(ri_intern_id(&a, "Healthcare", 10), 0);
    CHECK_EQ_INT(ri_intern_id(&a, "", 0), 1);
    CHECK_EQ_INT(ri_intern_id(&a, with_nul, 3), 2);
    CHECK_EQ_INT(ri_intern_id(&a, "x", 1), 3);
    ri_cc_enc_init(&e, RI_CC_FRAME, 1);
    ri_cc_put_intern(&e, &a);
    REQUIRE(ri_cc_enc_finish(&e) == RI_OK);
    REQUIRE(ri_cc_dec_init(&d, e.p, e.len, RI_CC_FRAME, 1));
    ri_cc_get_intern(&d, &b);
    CHECK(ri_cc_dec_ok(&d));
    CHECK_EQ_INT(b.n, 4);
    CHECK_EQ_INT(ri_intern_find(&b, "Healthcare", 10), 0);
    CHECK_EQ_INT(ri_intern_find(&b, "", 0), 1);
    CHECK_EQ_INT(ri_intern_find(&b, with_nul, 3), 2);
    CHECK_EQ_INT(ri_intern_find(&b, "x", 1), 3);
    ri_cc_enc_release(&e);
    ri_intern_release(&a);
    ri_intern_release(&b);
}

/* Blocks of every size class: small (malloc), just under and over the mapping threshold,
 * several huge pages; each is writable end to end, calloc'd ones read zero. */
TEST(column_blocks_hold_what_they_promise)
{
    const size_t sizes[] = {0, 1, 4096, (1u << 20) - 1, 1u << 20, (2u << 20) + 3, 5u << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        size_t n = sizes[k];
        uint8_t *a = ri_cc_alloc(n), *z = ri_cc_calloc(n);
        size_t nonzero = 0;
        REQUIRE(a != NULL && z != NULL);
        CHECK(((uintptr_t)a & 15) == 0); /* aligned as malloc's */
        for (size_t i = 0; i < n; i++)
            nonzero += z[i] != 0;
        CHECK_EQ_INT(nonzero, 0);
        if (n) {
            memset(a, 0x5a, n);
            CHECK(a[0] == 0x5a && a[n - 1] == 0x5a);
        }
        ri_cc_free(a);
        ri_cc_free(z);
    }
    ri_cc_free(NULL);
}

/* ------------------------------------------------------------------ the store's cache */

static char db[128];

static void ingest(struct ri_ctx *ctx, enum ri_ingest_kind kind, const char *name)
{
    struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", fx_dir, name);
    o.kind = kind;
    o.path = p;
    if (ri_ingest(ctx, &o, &rep) != RI_OK) {
        fprintf(stderr, "ingest %s: %s\n", name, ri_errmsg(ctx));
        abort();
    }
}

static int64_t q(struct ri_ctx *ctx, const char *sql)
{
    int64_t v = -1;
    if (ri_store_query_i64(ctx, ri_ctx_store(ctx), sql, &v) != RI_OK)
        return -1;
    return v;
}

static int64_t generation(struct ri_ctx *ctx)
{
    int64_t g = -1;
    if (ri_colcache_generation(ctx, ri_ctx_store(ctx), &g) != RI_OK)
        return -1;
    return g;
}

/* Loads both ways and compares every column; true if all equal. */
static bool same_as_sql(struct ri_ctx *ctx, enum ri_cc_mode mode, bool *frame_cached)
{
    struct ri_history *a = NULL, *b = NULL;
    struct ri_frame fa, fb;
    const char *dh = "load", *df = "load";
    if (ri_history_load_mode(ctx, RI_CC_OFF, &a) == RI_OK &&
        ri_history_load_mode(ctx, mode, &b) == RI_OK)
        dh = ri_history_diff(a, b);
    if (ri_frame_load_mode(ctx, RI_CC_OFF, &fa, NULL, NULL) == RI_OK &&
        ri_frame_load_mode(ctx, mode, &fb, NULL, frame_cached) == RI_OK)
        df = ri_frame_diff(&fa, &fb);
    if (dh || df)
        fprintf(stderr, "history differs in %s, frame in %s\n", dh ? dh : "-", df ? df : "-");
    ri_history_free(a);
    ri_history_free(b);
    ri_frame_release(&fa);
    ri_frame_release(&fb);
    return !dh && !df;
}

static void setup(void)
{
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    struct ri_ctx *ctx = ri_ctx_new();
    fx_fresh_dir("colcache");
    so.outdir = fx_dir;
    so.deals = 1500;
    so.seed = 5;
    if (ri_simulate(ctx, &so, &sr) != RI_OK)
        abort();
    /* custom attributes (a segment, a go-live date), an account, a deal without much */
    fx_write("extra.csv", "id,created_date,stage,amount,close_date,owner,account,tier,"
                          "go_live_date,industry\n"
                          "X1,2025-01-02,Closed Won,1200,2025-03-01,ann,Acme,gold,2025-04-01,\n"
                          "X2,2025-01-05,Closed Lost,900,2025-02-11,bob,Acme,silver,,Retail\n"
                          "X3,2025-02-01,Prospecting,,,,,gold,,\n");
    fx_write("accounts.csv", "name,industry\nAcme,Healthcare\n");
    ri_ctx_free(ctx);
    snprintf(db, sizeof(db), "%s/t.db", fx_dir);
}

TEST(cache_loads_equal_table_loads)
{
    struct ri_ctx *ctx = ri_ctx_new();
    bool cached = true;
    REQUIRE(ri_store_open(ctx, db, RI_OPEN_CREATE) == RI_OK);
    CHECK_EQ_INT(generation(ctx), 0); /* no ingest yet: no key, generation 0 */
    ingest(ctx, RI_KIND_OPPORTUNITIES, "opportunities.csv");
    ingest(ctx, RI_KIND_HISTORY, "stage_history.csv");
    ingest(ctx, RI_KIND_ACCOUNTS, "accounts.csv");
    CHECK_EQ_INT(generation(ctx), 3); /* one bump per ingest */
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache"), 0);
    /* the first cached load finds nothing, loads from the tables and writes the cache */
    CHECK(same_as_sql(ctx, RI_CC_USE, &cached));
    CHECK(!cached);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 3 AND "
                        "name IN ('history', 'frame')"),
                 2);
    /* the next one reads it */
    CHECK(same_as_sql(ctx, RI_CC_READ, &cached));
    CHECK(cached);
    ri_ctx_free(ctx);
}

TEST(an_ingest_invalidates_the_cache)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_history *h = NULL;
    bool cached = true;
    REQUIRE(ri_store_open(ctx, db, 0) == RI_OK);
    REQUIRE(generation(ctx) == 3);
    ingest(ctx, RI_KIND_OPPORTUNITIES, "extra.csv");
    CHECK_EQ_INT(generation(ctx), 4);
    /* the blobs of generation 3 are left alone, and not used */
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 3"), 2);
    CHECK(same_as_sql(ctx, RI_CC_READ, &cached));
    CHECK(!cached);
    REQUIRE(ri_history_load(ctx, &h) == RI_OK);
    CHECK(ri_history_find(h, "X3") >= 0); /* the new deal is there */
    ri_history_free(h);
    /* the cached loads rewrote them at generation 4, with the custom dimension */
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 4"), 1);
    CHECK(same_as_sql(ctx, RI_CC_USE, &cached));
    CHECK(!cached);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 4"), 2);
    {
        struct ri_frame f;
        REQUIRE(ri_frame_load_mode(ctx, RI_CC_READ, &f, NULL, &cached) == RI_OK);
        CHECK(cached);
        CHECK(ri_frame_dim(&f, "tier") >= 0);
        ri_frame_release(&f);
    }
    /* the very same export again changes nothing: no bump */
    {
        struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
        struct ri_ingest_report rep;
        char p[256];
        snprintf(p, sizeof(p), "%s/extra.csv", fx_dir);
        o.path = p;
        REQUIRE(ri_ingest(ctx, &o, &rep) == RI_OK);
        CHECK(rep.duplicate_of != 0);
        CHECK_EQ_INT(generation(ctx), 4);
    }
    ri_ctx_free(ctx);
}

TEST(a_read_only_store_is_read_never_written)
{
    struct ri_ctx *ctx = ri_ctx_new();
    bool cached = false;
    REQUIRE(ri_store_open(ctx, db, 0) == RI_OK);
    /* make the cache stale: an ingest of the accounts again (another file, same rows) */
    fx_write("accounts2.csv", "name,industry\nAcme,Healthcare\nBeta,Retail\n");
    ingest(ctx, RI_KIND_ACCOUNTS, "accounts2.csv");
    REQUIRE(generation(ctx) == 5);
    REQUIRE(ri_store_open(ctx, db, RI_OPEN_READONLY) == RI_OK);
    CHECK(!ri_store_writable(ri_ctx_store(ctx)));
    CHECK(same_as_sql(ctx, RI_CC_USE, &cached));
    CHECK(!cached);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 5"), 0);
    /* written through a writable connection, then read through the read-only one */
    {
        struct ri_ctx *w = ri_ctx_new();
        struct ri_history *h = NULL;
        struct ri_frame f;
        REQUIRE(ri_store_open(w, db, 0) == RI_OK);
        REQUIRE(ri_history_load(w, &h) == RI_OK);
        REQUIRE(ri_frame_load(w, &f) == RI_OK);
        ri_history_free(h);
        ri_frame_release(&f);
        ri_ctx_free(w);
    }
    CHECK(same_as_sql(ctx, RI_CC_USE, &cached));
    CHECK(cached);
    ri_ctx_free(ctx);
}

TEST(a_damaged_cache_falls_back_to_the_tables)
{
    struct ri_ctx *ctx = ri_ctx_new();
    bool cached = true;
    REQUIRE(ri_store_open(ctx, db, 0) == RI_OK);
    REQUIRE(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 5") == 2);
    /* cut the history short and flip a byte in the middle of the frame */
    REQUIRE(ri_store_exec(ctx, ri_ctx_store(ctx),
                          "UPDATE col_cache SET data = substr(data, 1, 1000) "
                          "WHERE name = 'history'; "
                          "UPDATE col_cache SET data = substr(data, 1, length(data) / 2) || "
                          "x'ff' || substr(data, length(data) / 2 + 2) WHERE name = 'frame'") ==
            RI_OK);
    CHECK(same_as_sql(ctx, RI_CC_READ, &cached));
    CHECK(!cached);
    /* a cached load repairs it */
    CHECK(same_as_sql(ctx, RI_CC_USE, &cached));
    CHECK(same_as_sql(ctx, RI_CC_READ, &cached));
    CHECK(cached);
    CHECK(q(ctx, "SELECT length(data) FROM col_cache WHERE name = 'history'") > 1000);
    ri_ctx_free(ctx);
}

/* A diagnosis from the tables equals, in every number of its JSON, the diagnosis from
 * the column cache those loads wrote back (on their own thread, beside the diagnosis). */
TEST(a_diagnosis_from_the_cache_equals_one_from_the_tables)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_diagnose_opts o = RI_DIAGNOSE_OPTS_INIT;
    struct ri_diagnosis *d1 = NULL, *d2 = NULL;
    char *j1 = NULL, *j2 = NULL;
    REQUIRE(ri_store_open(ctx, db, 0) == RI_OK);
    /* stale: the generation moves on, the blobs stay behind */
    REQUIRE(ri_colcache_bump(ctx, ri_ctx_store(ctx)) == RI_OK);
    REQUIRE(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 6") == 0);
    REQUIRE(ri_diagnose(ctx, &o, &d1) == RI_OK);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 6"), 2);
    REQUIRE(ri_diagnose(ctx, &o, &d2) == RI_OK);
    j1 = ri_diagnosis_json(d1);
    j2 = ri_diagnosis_json(d2);
    REQUIRE(j1 != NULL && j2 != NULL);
    CHECK(strlen(j1) > 1000);
    CHECK_STR(j1, j2);
    ri_string_free(j1);
    ri_string_free(j2);
    ri_diagnosis_free(d1);
    ri_diagnosis_free(d2);
    ri_ctx_free(ctx);
}

/* A load that finds the cache stale while another connection writes does not wait for
 * it to finish (a cache is not worth it): the load succeeds, nothing is written. */
TEST(a_busy_store_is_not_waited_for)
{
    struct ri_ctx *ctx = ri_ctx_new(), *w = ri_ctx_new();
    struct ri_history *h = NULL;
    struct timespec t0, t1;
    double secs;
    REQUIRE(ri_store_open(ctx, db, 0) == RI_OK);
    REQUIRE(ri_store_open(w, db, 0) == RI_OK);
    REQUIRE(ri_colcache_bump(ctx, ri_ctx_store(ctx)) == RI_OK);
    REQUIRE(ri_store_begin(w, ri_ctx_store(w)) == RI_OK); /* holds the write lock */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    REQUIRE(ri_history_load(ctx, &h) == RI_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs < 5); /* the store's own busy timeout is 10 s */
    ri_store_rollback(ri_ctx_store(w));
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM col_cache WHERE generation = 7"), 0);
    ri_history_free(h);
    ri_ctx_free(w);
    ri_ctx_free(ctx);
}

int main(void)
{
    BEGIN("test_colcache");
    ri_set_log_level(RI_LOG_ERROR);
    RUN(codecs_round_trip_exactly);
    RUN(codecs_are_compact);
    RUN(damaged_or_foreign_blobs_are_refused);
    RUN(decoder_rejects_other_shapes);
    RUN(interners_keep_their_ids);
    RUN(column_blocks_hold_what_they_promise);
    setup();
    RUN(cache_loads_equal_table_loads);
    RUN(an_ingest_invalidates_the_cache);
    RUN(a_read_only_store_is_read_never_written);
    RUN(a_damaged_cache_falls_back_to_the_tables);
    RUN(a_diagnosis_from_the_cache_equals_one_from_the_tables);
    RUN(a_busy_store_is_not_waited_for);
    return DONE();
}
