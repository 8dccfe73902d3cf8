/*
 * frame.c - the deals of the store as columns, with a coded column per segment.
 *
 * Diagnostics group deals by segment again and again; doing that on strings would be
 * slow, so each segment dimension is interned once into dense codes. The frame holds
 * every deal of the store in id order, the same order as the as-of engine, so that a
 * deal's index is the same in both (ri_frame_load checks it). Dimensions: the canonical
 * ones present in the data (region, industry, product, lead_source, type, owner, and the
 * owner's manager from the reps table; a deal without an industry takes its account's), a
 * deal-size band (quartiles of the amounts), and each custom attribute that takes
 * between 2 and 50 distinct values (an identifier or a number is not a segment).
 *
 * The frame of an unchanged store is read back from the column cache (colcache.h) as
 * the blob 'frame': every column and dimension as the SQL load built it. A change to
 * what this file derives from the rows must raise RI_CC_VERSION.
 */
#include "frame.h"
#include "colcache.h"
#include "mapping.h"
#include "store.h"

#include <math.h>
#include <string.h>

#define MAX_CUSTOM_VALUES 50

/* False when out of memory (the dimension is then empty, with no codes). */
static bool dim_init(struct ri_dim *d, const char *name, size_t n, int custom)
{
    snprintf(d->name, sizeof(d->name), "%s", name);
    ri_intern_init(&d->values);
    d->code = ri_cc_alloc((n ? n : 1) * sizeof(*d->code));
    d->custom = custom;
    if (!d->code)
        return false;
    for (size_t i = 0; i < n; i++)
        d->code[i] = -1;
    return true;
}

static void dim_release(struct ri_dim *d)
{
    ri_intern_release(&d->values);
    ri_cc_free(d->code);
    memset(d, 0, sizeof(*d));
}

void ri_frame_release(struct ri_frame *f)
{
    ri_cc_free(f->created);
    ri_cc_free(f->close);
    ri_cc_free(f->status);
    ri_cc_free(f->deleted);
    ri_cc_free(f->amount);
    ri_cc_free(f->start);
    ri_cc_free(f->account);
    ri_intern_release(&f->accounts);
    for (size_t d = 0; d < f->n_dims; d++)
        dim_release(&f->dims[d]);
    memset(f, 0, sizeof(*f));
}

int ri_frame_dim(const struct ri_frame *f, const char *name)
{
    for (size_t d = 0; d < f->n_dims; d++)
        if (!strcmp(f->dims[d].name, name))
            return (int)d;
    return -1;
}

/* custom attributes, collected while loading */
struct custom {
    struct ri_frame *f;
    size_t row;
    struct ri_intern keys;
    struct ri_dim *dims; /* one per key, grown */
    size_t cap;
    int nomem; /* a dimension could not be allocated */
};

/* An attribute that holds the day implementation started (go-live, kickoff, onboarding). */
static int is_start_key(const char *key)
{
    char n[64];
    ri_header_norm(key, strlen(key), n, sizeof(n));
    return strstr(n, "start_date") || strstr(n, "go_live") || strstr(n, "golive") ||
           strstr(n, "implementation") || strstr(n, "kickoff") || strstr(n, "onboard");
}

static void on_attr(void *ud, const char *key, const char *val, size_t vlen)
{
    struct custom *c = ud;
    if (is_start_key(key)) {
        ri_time t;
        if (ri_parse_date(val, vlen, RI_DATE_AUTO, &t) == RI_OK)
            c->f->start[c->row] = t;
        return; /* a date is not a segment */
    }
    int32_t k = ri_intern_id(&c->keys, key, strlen(key));
    struct ri_dim *d;
    if ((size_t)k >= c->cap) {
        size_t old = c->cap;
        RI_GROW(c->dims, c->cap, (size_t)k + 1);
        memset(c->dims + old, 0, (c->cap - old) * sizeof(*c->dims));
    }
    d = &c->dims[k];
    if (!d->code && !dim_init(d, key, c->f->n, 1)) {
        c->nomem = 1;
        return;
    }
    if (d->values.n > MAX_CUSTOM_VALUES)
        return; /* already too many values to be a segment */
    while (vlen && (val[vlen - 1] == ' '))
        vlen--;
    if (vlen)
        d->code[c->row] = ri_intern_id(&d->values, val, vlen);
}

/* Deal-size bands: the quartiles of the known amounts, labelled with their ranges. */
static void size_bands(struct ri_frame *f)
{
    struct ri_dim *d;
    double *a = ri_malloc((f->n ? f->n : 1) * sizeof(*a)), q[3];
    size_t m = 0;
    int32_t codes[4];
    char lab[64];
    for (size_t i = 0; i < f->n; i++)
        if (!isnan(f->amount[i]) && f->amount[i] > 0 && !f->deleted[i])
            a[m++] = f->amount[i];
    if (m < 8 || f->n_dims >= RI_DIAG_MAX_DIMS) {
        ri_free(a);
        return;
    }
    for (int k = 0; k < 3; k++)
        q[k] = ri_quantile(a, m, 0.25 * (k + 1));
    ri_free(a);
    if (!(q[0] < q[1] && q[1] < q[2]))
        return;
    d = &f->dims[f->n_dims];
    if (!dim_init(d, "size_band", f->n, 0)) {
        dim_release(d);
        return; /* out of memory: no size band, as with too few amounts */
    }
    f->n_dims++;
    snprintf(lab, sizeof(lab), "1: < %.0f", q[0]);
    codes[0] = ri_intern_id(&d->values, lab, strlen(lab));
    snprintf(lab, sizeof(lab), "2: %.0f-%.0f", q[0], q[1]);
    codes[1] = ri_intern_id(&d->values, lab, strlen(lab));
    snprintf(lab, sizeof(lab), "3: %.0f-%.0f", q[1], q[2]);
    codes[2] = ri_intern_id(&d->values, lab, strlen(lab));
    snprintf(lab, sizeof(lab), "4: >= %.0f", q[2]);
    codes[3] = ri_intern_id(&d->values, lab, strlen(lab));
    for (size_t i = 0; i < f->n; i++) {
        double x = f->amount[i];
        if (isnan(x) || x <= 0)
            continue;
        d->code[i] = codes[x < q[0] ? 0 : x < q[1] ? 1 : x < q[2] ? 2 : 3];
    }
}

/* A dimension is kept when at least two of its values occur. */
static int dim_useful(const struct ri_dim *d)
{
    return d->values.n >= 2 && (!d->custom || d->values.n <= MAX_CUSTOM_VALUES);
}

static ri_err load_sql(struct ri_ctx *ctx, struct ri_store *st, struct ri_frame *f)
{
    static const char *const canon[] = {"region", "industry", "product", "lead_source",
                                        "type",   "owner",    "manager"};
    struct ri_stmt *s = NULL;
    struct custom cu;
    int64_t n = 0;
    size_t i = 0;
    ri_err rc;

    memset(f, 0, sizeof(*f));
    memset(&cu, 0, sizeof(cu));
    ri_intern_init(&cu.keys);
    ri_intern_init(&f->accounts);
    rc = ri_store_query_i64(ctx, st, "SELECT count(*) FROM deals", &n);
    if (rc)
        return rc;
    f->n = (size_t)n;
    f->created = ri_cc_alloc((f->n + 1) * sizeof(*f->created));
    f->close = ri_cc_alloc((f->n + 1) * sizeof(*f->close));
    f->status = ri_cc_calloc((f->n + 1) * sizeof(*f->status));
    f->deleted = ri_cc_calloc((f->n + 1) * sizeof(*f->deleted));
    f->amount = ri_cc_alloc((f->n + 1) * sizeof(*f->amount));
    f->start = ri_cc_alloc((f->n + 1) * sizeof(*f->start));
    f->account = ri_cc_alloc((f->n + 1) * sizeof(*f->account));
    f->n_dims = RI_ARRAY_SIZE(canon);
    for (size_t k = 0; k < RI_ARRAY_SIZE(canon); k++)
        cu.nomem |= !dim_init(&f->dims[k], canon[k], f->n, 0);
    if (cu.nomem || !f->created || !f->close || !f->status || !f->deleted || !f->amount ||
        !f->start || !f->account) {
        ri_intern_release(&cu.keys);
        ri_frame_release(f);
        return ri_fail(ctx, RI_ERR_NOMEM, "out of memory loading %lld deals", (long long)n);
    }
    for (size_t k = 0; k <= f->n; k++)
        f->start[k] = RI_TIME_NONE;
    cu.f = f;
    rc = ri_stmt_prepare(ctx, st,
                         "SELECT d.created_at, d.close_date, d.status, d.amount, d.account, "
                         "d.region, coalesce(d.industry, a.industry), d.product, d.lead_source, "
                         "d.type, d.owner, d.attrs, d.deleted_at, r.manager FROM deals d "
                         "LEFT JOIN accounts a ON a.name = d.account "
                         "LEFT JOIN reps r ON r.name = d.owner ORDER BY d.id",
                         &s);
    while (!rc && i < f->n && (rc = ri_stmt_step(ctx, s)) == RI_OK) {
        size_t len;
        const char *t = ri_stmt_text(s, 2, NULL);
        f->created[i] = ri_stmt_time(s, 0);
        f->close[i] = ri_stmt_time(s, 1);
        f->status[i] = t && t[0] == 'w'   ? RI_STATUS_WON
                       : t && t[0] == 'l' ? RI_STATUS_LOST
                                          : RI_STATUS_OPEN;
        f->amount[i] = ri_stmt_f64(s, 3);
        t = ri_stmt_text(s, 4, &len);
        f->account[i] = t ? ri_intern_id(&f->accounts, t, len) : -1;
        for (int k = 0; k < 6; k++) {
            t = ri_stmt_text(s, 5 + k, &len);
            if (t && len)
                f->dims[k].code[i] = ri_intern_id(&f->dims[k].values, t, len);
        }
        t = ri_stmt_text(s, 11, &len);
        if (t && len) {
            cu.row = i;
            ri_json_object_strings(t, len, on_attr, &cu);
        }
        f->deleted[i] = !ri_stmt_is_null(s, 12);
        t = ri_stmt_text(s, 13, &len);
        if (t && len)
            f->dims[6].code[i] = ri_intern_id(&f->dims[6].values, t, len);
        i++;
    }
    ri_stmt_free(s);
    if (rc == RI_ERR_NOTFOUND)
        rc = RI_OK;
    if (!rc && cu.nomem)
        rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory loading the attributes of %zu deals", i);
    f->n = i;
    /* keep the useful dimensions, in order: canonical, size band, custom by name */
    {
        size_t k = 0;
        for (size_t d = 0; d < f->n_dims; d++) {
            if (dim_useful(&f->dims[d]))
                f->dims[k++] = f->dims[d];
            else
                dim_release(&f->dims[d]);
        }
        f->n_dims = k;
    }
    if (!rc)
        size_bands(f);
    for (size_t k = 0; k < cu.keys.n; k++) {
        if (!rc && f->n_dims < RI_DIAG_MAX_DIMS && dim_useful(&cu.dims[k]))
            f->dims[f->n_dims++] = cu.dims[k];
        else
            dim_release(&cu.dims[k]);
    }
    ri_free(cu.dims);
    ri_intern_release(&cu.keys);
    if (rc)
        ri_frame_release(f);
    return rc;
}

/* ------------------------------------------------------------------ column cache */

static void frame_encode(const struct ri_frame *f, struct ri_cc_enc *e)
{
    ri_cc_put_u64(e, f->n);
    ri_cc_put_u64(e, f->n_dims);
    ri_cc_put_i64s(e, f->created, f->n);
    ri_cc_put_i64s(e, f->close, f->n);
    ri_cc_put_u8s(e, f->status, f->n);
    ri_cc_put_u8s(e, f->deleted, f->n);
    ri_cc_put_f64s(e, f->amount, f->n);
    ri_cc_put_i64s(e, f->start, f->n);
    ri_cc_put_i32s(e, f->account, f->n);
    ri_cc_put_intern(e, &f->accounts);
    for (size_t k = 0; k < f->n_dims; k++) {
        const struct ri_dim *d = &f->dims[k];
        ri_cc_put_u8s(e, (const uint8_t *)d->name, sizeof(d->name));
        ri_cc_put_u64(e, (uint64_t)d->custom);
        ri_cc_put_intern(e, &d->values);
        ri_cc_put_i32s(e, d->code, f->n);
    }
}

/* Decodes a blob into the zeroed frame f; false (f partly filled, to be released) if it
 * does not hold a consistent frame. */
static bool frame_decode(void *ud, struct ri_cc_dec *d)
{
    struct ri_frame *f = ud;
    uint64_t n = ri_cc_get_u64(d), nd = ri_cc_get_u64(d);
    size_t m;
    if (d->bad || n > UINT32_MAX || nd > RI_DIAG_MAX_DIMS)
        return false;
    m = (size_t)n + 1;
    f->created = ri_cc_alloc(m * sizeof(*f->created));
    f->close = ri_cc_alloc(m * sizeof(*f->close));
    f->status = ri_cc_alloc(m * sizeof(*f->status));
    f->deleted = ri_cc_alloc(m * sizeof(*f->deleted));
    f->amount = ri_cc_alloc(m * sizeof(*f->amount));
    f->start = ri_cc_alloc(m * sizeof(*f->start));
    f->account = ri_cc_alloc(m * sizeof(*f->account));
    if (!f->created || !f->close || !f->status || !f->deleted || !f->amount || !f->start ||
        !f->account)
        return false;
    f->n = (size_t)n;
    f->status[n] = f->deleted[n] = 0;
    f->start[n] = RI_TIME_NONE;
    ri_cc_get_i64s(d, f->created, f->n);
    ri_cc_get_i64s(d, f->close, f->n);
    ri_cc_get_u8s(d, f->status, f->n);
    ri_cc_get_u8s(d, f->deleted, f->n);
    ri_cc_get_f64s(d, f->amount, f->n);
    ri_cc_get_i64s(d, f->start, f->n);
    ri_cc_get_i32s(d, f->account, f->n);
    ri_cc_get_intern(d, &f->accounts);
    ri_cc_check_range(d, f->account, f->n, -1, (int64_t)f->accounts.n);
    for (size_t k = 0; k < nd && !d->bad; k++) {
        struct ri_dim *dm = &f->dims[k];
        dm->code = ri_cc_alloc(m * sizeof(*dm->code));
        ri_intern_init(&dm->values);
        f->n_dims = k + 1;
        if (!dm->code)
            return false;
        ri_cc_get_u8s(d, (uint8_t *)dm->name, sizeof(dm->name));
        if (dm->name[sizeof(dm->name) - 1])
            return false;
        dm->custom = ri_cc_get_u64(d) != 0;
        ri_cc_get_intern(d, &dm->values);
        ri_cc_get_i32s(d, dm->code, f->n);
        ri_cc_check_range(d, dm->code, f->n, -1, (int64_t)dm->values.n);
    }
    return ri_cc_dec_ok(d);
}

ri_err ri_frame_load_mode(struct ri_ctx *ctx, enum ri_cc_mode mode, struct ri_frame *f,
                          int64_t *gen_out, bool *cached)
{
    struct ri_store *st = ri_ctx_store(ctx);
    int64_t gen = 0;
    ri_err rc;
    memset(f, 0, sizeof(*f));
    if (gen_out)
        *gen_out = 0;
    if (cached)
        *cached = false;
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    rc = ri_colcache_generation(ctx, st, &gen);
    if (rc)
        return rc;
    if (gen_out)
        *gen_out = gen;
    if (mode != RI_CC_OFF) {
        ri_intern_init(&f->accounts);
        rc = ri_colcache_read(ctx, st, "frame", RI_CC_FRAME, gen, frame_decode, f);
        if (rc == RI_OK) {
            if (cached)
                *cached = true;
            return RI_OK;
        }
        ri_frame_release(f);
        if (rc != RI_ERR_NOTFOUND)
            return rc;
    }
    rc = load_sql(ctx, st, f);
    if (!rc && mode == RI_CC_USE)
        ri_frame_cache_save(st, f, gen);
    return rc;
}

ri_err ri_frame_load(struct ri_ctx *ctx, struct ri_frame *f)
{
    return ri_frame_load_mode(ctx, RI_CC_USE, f, NULL, NULL);
}

static void frame_encode_any(const void *f, struct ri_cc_enc *e)
{
    frame_encode(f, e);
}

void ri_frame_cache_save(struct ri_store *st, const struct ri_frame *f, int64_t gen)
{
    ri_colcache_save(st, "frame", RI_CC_FRAME, gen, frame_encode_any, f);
}

static bool intern_same(const struct ri_intern *a, const struct ri_intern *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->strs[i], b->strs[i]) ||
            ri_intern_find(b, a->strs[i], strlen(a->strs[i])) != (int32_t)i)
            return false;
    return true;
}

const char *ri_frame_diff(const struct ri_frame *a, const struct ri_frame *b)
{
    size_t n = a->n;
    if (a->n != b->n)
        return "n";
    if (a->n_dims != b->n_dims)
        return "n_dims";
    if (n && memcmp(a->created, b->created, n * sizeof(*a->created)))
        return "created";
    if (n && memcmp(a->close, b->close, n * sizeof(*a->close)))
        return "close";
    if (n && memcmp(a->status, b->status, n * sizeof(*a->status)))
        return "status";
    if (n && memcmp(a->deleted, b->deleted, n * sizeof(*a->deleted)))
        return "deleted";
    if (n && memcmp(a->amount, b->amount, n * sizeof(*a->amount)))
        return "amount";
    if (n && memcmp(a->start, b->start, n * sizeof(*a->start)))
        return "start";
    if (n && memcmp(a->account, b->account, n * sizeof(*a->account)))
        return "account";
    if (!intern_same(&a->accounts, &b->accounts))
        return "accounts";
    for (size_t k = 0; k < a->n_dims; k++) {
        const struct ri_dim *x = &a->dims[k], *y = &b->dims[k];
        if (memcmp(x->name, y->name, sizeof(x->name)) || x->custom != y->custom ||
            !intern_same(&x->values, &y->values) ||
            (n && memcmp(x->code, y->code, n * sizeof(*x->code))))
            return x->name;
    }
    return NULL;
}
