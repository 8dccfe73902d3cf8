/*
 * featurize.c - point-in-time features, training snapshots and the leakage guard (see
 * features.h for the contract).
 *
 * The rep's and the account's record at T come from their closed deals sorted by close
 * date with prefix sums of wins: a binary search gives "closed before T" and "won before
 * T" in O(log n), so a snapshot costs the replay of one deal and a few searches. A deal
 * is never counted in its own record: it is open at every moment it is featurised.
 */
#include "featurize.h"
#include "learn.h"
#include "mapping.h"
#include "store.h"
#include <math.h>
#include <string.h>

#define DAY         86400
#define SMOOTH_K    10.0 /* pseudo-deals of the prior in a rep's or account's rate */
#define MAX_MOMENTS 64   /* snapshots of one deal at most (long deals: evenly thinned) */
#define GUARD_AUC   0.90

static const struct {
    enum ri_feat_src src;
    const char *name;
} builtin[] = {
    {RI_FS_STAGE, "stage"},
    {RI_FS_DAYS_IN_STAGE, "days_in_stage"},
    {RI_FS_AGE, "age_days"},
    {RI_FS_LOG_AMOUNT, "log_amount"},
    {RI_FS_AMOUNT_RATIO, "amount_vs_first"},
    {RI_FS_AMOUNT_CHANGES, "amount_changes"},
    {RI_FS_CLOSE_PUSHES, "close_date_pushes"},
    {RI_FS_DAYS_TO_CLOSE, "days_to_close_date"},
    {RI_FS_CLOSE_SLIP, "close_date_slip_days"},
    {RI_FS_REGRESSIONS, "stage_regressions"},
    {RI_FS_SKIPS, "stage_skips"},
    {RI_FS_STAGE_CHANGES, "stage_changes"},
    {RI_FS_REP_RATE, "rep_win_rate"},
    {RI_FS_REP_CLOSED, "rep_closed_deals"},
    {RI_FS_ACCOUNT_RATE, "account_win_rate"},
    {RI_FS_ACCOUNT_WON, "account_won_deals"},
    {RI_FS_P_STAGE, "stage_model_p"},
    {RI_FS_P_REP, "rep_probability"},
};

/* ------------------------------------------------------------------ records */

struct rec {
    ri_time t;
    uint8_t won;
};

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* CSR index of closed deals by group code (owner or account), sorted by close date. */
static void build_records(const struct ri_frame *f, const int32_t *code, size_t n_groups,
                          size_t **start_out, ri_time **t_out, uint32_t **won_out)
{
    size_t *start = ri_calloc(n_groups + 2, sizeof(*start));
    size_t m = 0, *fill;
    struct rec *r;
    ri_time *t;
    uint32_t *won;

    for (size_t i = 0; i < f->n; i++)
        if (code[i] >= 0 && (size_t)code[i] < n_groups && f->close[i] != RI_TIME_NONE &&
            (f->status[i] == RI_STATUS_WON || f->status[i] == RI_STATUS_LOST) && !f->deleted[i])
            start[code[i] + 1]++, m++;
    for (size_t g = 0; g < n_groups; g++)
        start[g + 1] += start[g];
    r = ri_malloc((m + 1) * sizeof(*r));
    fill = ri_malloc((n_groups + 1) * sizeof(*fill));
    memcpy(fill, start, (n_groups + 1) * sizeof(*fill));
    for (size_t i = 0; i < f->n; i++)
        if (code[i] >= 0 && (size_t)code[i] < n_groups && f->close[i] != RI_TIME_NONE &&
            (f->status[i] == RI_STATUS_WON || f->status[i] == RI_STATUS_LOST) && !f->deleted[i])
            r[fill[code[i]]++] = (struct rec){f->close[i], f->status[i] == RI_STATUS_WON};
    ri_free(fill);
    t = ri_malloc((m + 1) * sizeof(*t));
    won = ri_malloc((m + 1) * sizeof(*won));
    for (size_t g = 0; g < n_groups; g++) {
        uint32_t acc = 0;
        qsort(r + start[g], start[g + 1] - start[g], sizeof(*r), cmp_rec);
        for (size_t k = start[g]; k < start[g + 1]; k++) {
            acc += r[k].won;
            t[k] = r[k].t;
            won[k] = acc;
        }
    }
    ri_free(r);
    *start_out = start;
    *t_out = t;
    *won_out = won;
}

/* Deals of group g closed strictly before at, and how many of them were won. */
static void record_at(const size_t *start, const ri_time *t, const uint32_t *won, size_t g,
                      ri_time at, double *closed, double *wins)
{
    size_t lo = start[g], hi = start[g + 1], a = lo;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] < at)
            lo = mid + 1;
        else
            hi = mid;
    }
    *closed = (double)(lo - a);
    *wins = lo > a ? (double)won[lo - 1] : 0;
}

void ri_featctx_init(struct ri_featctx *fc, const struct ri_history *h, const struct ri_frame *f,
                     const struct ri_attrs *attrs, const struct ri_stage_model *sm)
{
    memset(fc, 0, sizeof(*fc));
    fc->hist = h;
    fc->frame = f;
    fc->attrs = attrs;
    fc->sm = sm;
    fc->owner_dim = ri_frame_dim(f, "owner");
    if (fc->owner_dim >= 0) {
        fc->n_owner = f->dims[fc->owner_dim].values.n;
        build_records(f, f->dims[fc->owner_dim].code, fc->n_owner, &fc->owner_start, &fc->owner_t,
                      &fc->owner_won);
    }
    fc->n_account = f->accounts.n;
    build_records(f, f->account, fc->n_account, &fc->account_start, &fc->account_t,
                  &fc->account_won);
}

void ri_featctx_release(struct ri_featctx *fc)
{
    ri_free(fc->owner_start);
    ri_free(fc->owner_t);
    ri_free(fc->owner_won);
    ri_free(fc->account_start);
    ri_free(fc->account_t);
    ri_free(fc->account_won);
    memset(fc, 0, sizeof(*fc));
}

/* ------------------------------------------------------------------ attributes */

struct attr_load {
    struct ri_attrs *a;
    struct ri_intern keys;
    size_t row;
    size_t cap_keys;
    char ***cols; /* per key: per deal value */
};

static void on_attr(void *ud, const char *key, const char *val, size_t vlen)
{
    struct attr_load *l = ud;
    int32_t k = ri_intern_id(&l->keys, key, strlen(key));
    if ((size_t)k >= l->cap_keys) {
        size_t old = l->cap_keys;
        RI_GROW(l->cols, l->cap_keys, (size_t)k + 1);
        memset(l->cols + old, 0, (l->cap_keys - old) * sizeof(*l->cols));
    }
    if (!l->cols[k])
        l->cols[k] = ri_calloc(l->a->n_deals + 1, sizeof(char *));
    while (vlen && val[vlen - 1] == ' ')
        vlen--;
    if (vlen && !l->cols[k][l->row])
        l->cols[k][l->row] = ri_strndup(val, vlen);
}

ri_err ri_attrs_load(struct ri_ctx *ctx, size_t n_deals, struct ri_attrs *out)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    struct attr_load l;
    ri_err rc;

    memset(out, 0, sizeof(*out));
    memset(&l, 0, sizeof(l));
    out->n_deals = n_deals;
    l.a = out;
    ri_intern_init(&l.keys);
    rc = ri_stmt_prepare(ctx, st, "SELECT attrs FROM deals ORDER BY id", &s);
    while (!rc && l.row < n_deals && (rc = ri_stmt_step(ctx, s)) == RI_OK) {
        size_t len;
        const char *t = ri_stmt_text(s, 0, &len);
        if (t && len)
            ri_json_object_strings(t, len, on_attr, &l);
        l.row++;
    }
    ri_stmt_free(s);
    if (rc == RI_ERR_NOTFOUND)
        rc = RI_OK;
    out->n_keys = l.keys.n;
    out->keys = ri_calloc(out->n_keys + 1, sizeof(*out->keys));
    out->val = ri_calloc(out->n_keys * n_deals + 1, sizeof(char *));
    for (size_t k = 0; k < out->n_keys; k++) {
        snprintf(out->keys[k], sizeof(out->keys[k]), "%s", ri_intern_str(&l.keys, (int32_t)k));
        for (size_t i = 0; i < n_deals && l.cols[k]; i++)
            out->val[i * out->n_keys + k] = l.cols[k][i];
        ri_free(l.cols[k]);
    }
    ri_free(l.cols);
    ri_intern_release(&l.keys);
    if (rc)
        ri_attrs_release(out);
    return rc;
}

void ri_attrs_release(struct ri_attrs *a)
{
    if (a->val)
        for (size_t k = 0; k < a->n_keys * a->n_deals; k++)
            ri_free(a->val[k]);
    ri_free(a->val);
    ri_free(a->keys);
    memset(a, 0, sizeof(*a));
}

/* ------------------------------------------------------------------ mode */

int ri_features_have_history(const struct ri_history *h, const struct ri_frame *f)
{
    struct ri_stage_visit v[4];
    size_t closed = 0, with = 0, step;
    if (!h || ri_history_n_deals(h) != f->n)
        return 0;
    step = f->n > 20000 ? f->n / 20000 : 1; /* a sample is enough */
    for (size_t i = 0; i < f->n; i += step) {
        size_t n;
        if (f->status[i] != RI_STATUS_WON && f->status[i] != RI_STATUS_LOST)
            continue;
        closed++;
        n = ri_history_path(h, i, f->close[i] != RI_TIME_NONE ? f->close[i] : INT64_MAX, v, 4);
        for (size_t k = 0; k < n && k < 4; k++)
            if (v[k].stage >= 0 && ri_history_stage_role(h, v[k].stage) == RI_STATUS_OPEN) {
                with++;
                break;
            }
    }
    return closed > 0 && with * 20 >= closed;
}

/* ------------------------------------------------------------------ leakage guard */

/* Names of columns whose value is known only once a deal has closed. */
static const char *post_outcome_name(const char *name)
{
    static const struct {
        const char *pat, *why;
    } rules[] = {
        {"close", "a close date or closing detail is known only once the deal has closed"},
        {"closed", "a close date or closing detail is known only once the deal has closed"},
        {"won", "says the outcome"},
        {"lost", "says the outcome"},
        {"outcome", "says the outcome"},
        {"result", "says the outcome"},
        {"status", "says the outcome"},
        {"loss_reason", "says the outcome"},
        {"cycle", "a cycle length is known only once the deal has closed"},
        {"duration", "a duration is measured up to the deal's end"},
        {"days_until", "counted up to the deal's last change"},
        {"modified", "the last modification is usually the closing"},
        {"stage_change", "the last stage change is the closing"},
        {"final", "a final value is known only at the end"},
    };
    char n[64], split[128];
    size_t m = 0;
    /* camelCase words apart first: "LastModifiedDate" reads last_modified_date */
    for (size_t k = 0; name[k] && m + 2 < sizeof(split); k++) {
        char ch = name[k];
        if (k && ch >= 'A' && ch <= 'Z' &&
            ((name[k - 1] >= 'a' && name[k - 1] <= 'z') ||
             (name[k - 1] >= '0' && name[k - 1] <= '9')))
            split[m++] = '_';
        split[m++] = ch;
    }
    split[m] = 0;
    ri_header_norm(split, m, n, sizeof(n));
    for (size_t k = 0; k < RI_ARRAY_SIZE(rules); k++) {
        const char *p = strstr(n, rules[k].pat);
        size_t L = strlen(rules[k].pat);
        /* whole words of the normalised name only: "won" in "wonder" does not count */
        while (p) {
            int left = p == n || p[-1] == '_';
            int right = p[L] == 0 || p[L] == '_';
            if (left && right)
                return rules[k].why;
            p = strstr(p + 1, rules[k].pat);
        }
    }
    return NULL;
}

static void guard_add(struct ri_featset *fs, const char *col, const char *why, double auc)
{
    struct ri_guard_entry *g;
    if (fs->n_guard >= RI_FEAT_MAX)
        return;
    g = &fs->guard[fs->n_guard++];
    snprintf(g->column, sizeof(g->column), "%s", col);
    snprintf(g->reason, sizeof(g->reason), "%s", why);
    g->auc = auc;
}

/* AUC of a column alone against the outcome of the training deals: the column itself
 * when numeric (either direction), its values' win rates when categorical. */
static double column_auc(const double *x, const uint8_t *y, size_t n, int categorical,
                         const int32_t *code, size_t n_codes)
{
    double a;
    if (categorical) {
        double *won = ri_calloc(n_codes + 1, sizeof(double));
        double *cnt = ri_calloc(n_codes + 1, sizeof(double));
        double *s = ri_malloc((n + 1) * sizeof(double));
        for (size_t i = 0; i < n; i++)
            if (code[i] >= 0) {
                won[code[i]] += y[i];
                cnt[code[i]] += 1;
            }
        for (size_t i = 0; i < n; i++)
            s[i] = code[i] >= 0 ? won[code[i]] / cnt[code[i]] : -1;
        a = ri_auc(s, y, NULL, n);
        ri_free(won);
        ri_free(cnt);
        ri_free(s);
        return a;
    }
    a = ri_auc(x, y, NULL, n);
    return isnan(a) ? a : fmax(a, 1 - a);
}

/* ------------------------------------------------------------------ choosing */

static struct ri_feature *feat_add(struct ri_featset *fs, const char *name, enum ri_feat_src src,
                                   int categorical, int dim)
{
    struct ri_feature *f;
    if (fs->p >= RI_FEAT_MAX)
        return NULL;
    f = &fs->f[fs->p++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->src = src;
    f->categorical = categorical;
    f->dim = dim;
    ri_intern_init(&f->vocab);
    return f;
}

static int parse_num(const char *s, double *v)
{
    return s && ri_parse_f64(s, strlen(s), v) == RI_OK && isfinite(*v);
}

/* Guards and adds the custom attributes of the training deals (static mode). */
static void choose_attrs(const struct ri_featctx *fc, const uint8_t *train, struct ri_featset *fs)
{
    const struct ri_attrs *a = fc->attrs;
    const struct ri_frame *fr = fc->frame;
    size_t n = 0, *rows = ri_malloc((fr->n + 1) * sizeof(*rows));
    uint8_t *y = ri_malloc(fr->n + 1);
    double *x = ri_malloc((fr->n + 1) * sizeof(*x));
    int32_t *code = ri_malloc((fr->n + 1) * sizeof(*code));

    for (size_t i = 0; i < fr->n; i++)
        if (train[i]) {
            rows[n] = i;
            y[n++] = fr->status[i] == RI_STATUS_WON;
        }
    for (size_t k = 0; a && k < a->n_keys; k++) {
        const char *why = post_outcome_name(a->keys[k]);
        size_t present = 0, numeric = 0;
        struct ri_intern vals;
        double auc;
        int categorical;
        char msg[160];

        if (why) {
            guard_add(fs, a->keys[k], why, RI_NAN);
            continue;
        }
        ri_intern_init(&vals);
        for (size_t r = 0; r < n; r++) {
            const char *v = a->val[rows[r] * a->n_keys + k];
            double d;
            code[r] = -1;
            x[r] = RI_NAN;
            if (!v)
                continue;
            present++;
            if (parse_num(v, &d)) {
                numeric++;
                x[r] = d;
            }
            code[r] = ri_intern_id(&vals, v, strlen(v));
        }
        categorical = numeric * 10 < present * 9; /* mostly numbers: a number */
        if (present * 2 < n) {
            guard_add(fs, a->keys[k], "missing for most deals", RI_NAN);
            ri_intern_release(&vals);
            continue;
        }
        if (categorical && vals.n > RI_FEAT_VOCAB) {
            guard_add(fs, a->keys[k], "too many distinct values to learn from (an identifier?)",
                      RI_NAN);
            ri_intern_release(&vals);
            continue;
        }
        if (vals.n < 2) {
            ri_intern_release(&vals);
            continue;
        }
        if (!categorical)
            for (size_t r = 0; r < n; r++)
                if (isnan(x[r]))
                    x[r] = -1e300; /* missing sorts first */
        auc = column_auc(x, y, n, categorical, code, vals.n);
        if (!isnan(auc) && auc >= GUARD_AUC) {
            snprintf(msg, sizeof(msg),
                     "separates won from lost almost perfectly on its own (AUC %.2f): known "
                     "only after the outcome?",
                     auc);
            guard_add(fs, a->keys[k], msg, auc);
            ri_intern_release(&vals);
            continue;
        }
        {
            struct ri_feature *f = feat_add(
                fs, a->keys[k], categorical ? RI_FS_ATTR_CAT : RI_FS_ATTR_NUM, categorical, (int)k);
            if (f && categorical) {
                ri_intern_release(&f->vocab);
                f->vocab = vals;
            } else {
                ri_intern_release(&vals);
            }
        }
    }
    ri_free(rows);
    ri_free(y);
    ri_free(x);
    ri_free(code);
}

ri_err ri_featset_choose(struct ri_ctx *ctx, const struct ri_featctx *fc, const uint8_t *train,
                         int static_mode, int with_p_rep, struct ri_featset *fs)
{
    const struct ri_frame *fr = fc->frame;
    size_t won = 0, closed = 0, with_prob = 0;

    memset(fs, 0, sizeof(*fs));
    fs->static_mode = static_mode;
    for (size_t i = 0; i < fr->n; i++)
        if (train[i] && (fr->status[i] == RI_STATUS_WON || fr->status[i] == RI_STATUS_LOST)) {
            closed++;
            won += fr->status[i] == RI_STATUS_WON;
        }
    if (closed < 20)
        return ri_fail(ctx, RI_ERR_MODEL,
                       "only %zu closed deals to learn from: at least 20 are needed", closed);
    if (won == 0 || won == closed)
        return ri_fail(ctx, RI_ERR_MODEL,
                       "the %zu closed deals to learn from are all %s: nothing to learn", closed,
                       won ? "won" : "lost");
    fs->prior = (double)won / (double)closed;

    if (!static_mode) {
        for (size_t k = 0; k < RI_ARRAY_SIZE(builtin); k++) {
            if (builtin[k].src == RI_FS_P_STAGE && !fc->sm)
                continue;
            if (builtin[k].src == RI_FS_P_REP) {
                /* the rep-entered probability, where most open deals carry one */
                (void)with_prob;
                if (!with_p_rep)
                    continue;
            }
            if ((builtin[k].src == RI_FS_REP_RATE || builtin[k].src == RI_FS_REP_CLOSED) &&
                fc->owner_dim < 0)
                continue;
            feat_add(fs, builtin[k].name, builtin[k].src, 0, -1);
        }
    } else {
        /* no rep record here: a rate over the rep's other deals would leak the deal's
         * own outcome (the rep's won and lost deals would see different rates); the rep
         * is a category instead */
        feat_add(fs, "log_amount", RI_FS_LOG_AMOUNT, 0, -1);
    }
    for (size_t d = 0; d < fr->n_dims; d++) {
        const struct ri_dim *dim = &fr->dims[d];
        const char *why;
        struct ri_feature *f;
        if ((!static_mode && !strcmp(dim->name, "owner")) || !strcmp(dim->name, "size_band"))
            continue; /* the rep's record and the amount say it better */
        if (static_mode && dim->custom)
            continue; /* taken from the attributes, behind the guard */
        why = dim->custom ? post_outcome_name(dim->name) : NULL;
        if (why) {
            guard_add(fs, dim->name, why, RI_NAN);
            continue;
        }
        if (dim->values.n > RI_FEAT_VOCAB)
            continue;
        f = feat_add(fs, dim->name, RI_FS_DIM, 1, (int)d);
        if (!f)
            break;
        for (size_t v = 0; v < dim->values.n; v++) {
            const char *s = ri_intern_str(&dim->values, (int32_t)v);
            ri_intern_id(&f->vocab, s, strlen(s));
        }
    }
    if (static_mode)
        choose_attrs(fc, train, fs);
    return RI_OK;
}

void ri_featset_release(struct ri_featset *fs)
{
    for (size_t j = 0; j < fs->p; j++)
        ri_intern_release(&fs->f[j].vocab);
    memset(fs, 0, sizeof(*fs));
}

/* ------------------------------------------------------------------ text form */

static void put_clean(struct ri_buf *b, const char *s)
{
    for (; *s; s++)
        ri_buf_addc(b, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
}

ri_err ri_featset_save(const struct ri_featset *fs, struct ri_buf *out)
{
    ri_buf_addf(out, "features 1\t%d\t%.17g\t%zu\n", fs->static_mode, fs->prior, fs->p);
    for (size_t j = 0; j < fs->p; j++) {
        const struct ri_feature *f = &fs->f[j];
        ri_buf_addf(out, "%d\t%d\t", (int)f->src, f->categorical);
        put_clean(out, f->name);
        for (size_t v = 0; v < f->vocab.n; v++) {
            ri_buf_addc(out, '\t');
            put_clean(out, ri_intern_str(&f->vocab, (int32_t)v));
        }
        ri_buf_addc(out, '\n');
    }
    return RI_OK;
}

/* Next tab- or newline-terminated field of *p (up to end); NUL-terminates in place. */
static char *next_field(char **p, char *end, int *eol)
{
    char *s = *p, *q = s;
    while (q < end && *q != '\t' && *q != '\n')
        q++;
    *eol = q >= end || *q == '\n';
    if (q < end)
        *q++ = 0;
    *p = q;
    return s;
}

ri_err ri_featset_load(struct ri_ctx *ctx, const struct ri_frame *fr, const struct ri_attrs *a,
                       const char *text, size_t len, struct ri_featset *fs)
{
    char *copy = ri_strndup(text, len), *p = copy, *end = copy + len;
    ri_err rc = RI_OK;
    int eol, mode;
    size_t p_n;

    memset(fs, 0, sizeof(*fs));
    if (sscanf(copy, "features 1\t%d\t%lf\t%zu", &mode, &fs->prior, &p_n) != 3 ||
        p_n > RI_FEAT_MAX) {
        rc = ri_fail(ctx, RI_ERR_MODEL, "model registry: malformed feature list");
        goto out;
    }
    fs->static_mode = mode;
    while (p < end && *p != '\n')
        p++;
    p++;
    for (size_t j = 0; j < p_n && p < end; j++) {
        struct ri_feature *f;
        const char *name;
        int cat, src;
        src = (int)strtol(next_field(&p, end, &eol), NULL, 10);
        cat = eol ? 0 : (int)strtol(next_field(&p, end, &eol), NULL, 10);
        name = eol ? "" : next_field(&p, end, &eol);
        f = feat_add(fs, name, (enum ri_feat_src)src, cat, -1);
        if (!f)
            break;
        while (!eol) {
            const char *v = next_field(&p, end, &eol);
            ri_intern_id(&f->vocab, v, strlen(v));
        }
        /* bind to this store's columns by name */
        if (f->src == RI_FS_DIM)
            f->dim = ri_frame_dim(fr, f->name);
        if ((f->src == RI_FS_ATTR_NUM || f->src == RI_FS_ATTR_CAT) && a)
            for (size_t k = 0; k < a->n_keys; k++)
                if (!strcmp(a->keys[k], f->name))
                    f->dim = (int)k;
    }
    if (fs->p != p_n)
        rc = ri_fail(ctx, RI_ERR_MODEL, "model registry: feature list cut short");
out:
    ri_free(copy);
    if (rc)
        ri_featset_release(fs);
    return rc;
}

/* ------------------------------------------------------------------ rows */

void ri_rows_init(struct ri_rows *r, size_t p)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
}

void ri_rows_release(struct ri_rows *r)
{
    ri_free(r->X);
    ri_free(r->y);
    ri_free(r->w);
    ri_free(r->deal);
    ri_free(r->at);
    ri_free(r->p_rep);
    ri_free(r->p_stage);
    memset(r, 0, sizeof(*r));
}

static ri_err rows_reserve(struct ri_ctx *ctx, struct ri_rows *r, size_t need)
{
    size_t cap;
    if (need <= r->cap)
        return RI_OK;
    cap = r->cap ? r->cap : 1024;
    while (cap < need)
        cap *= 2;
    if (cap > SIZE_MAX / sizeof(float) / (r->p + 1))
        return ri_fail(ctx, RI_ERR_TOOBIG, "too many training rows");
    {
        void *X = ri_try_realloc(r->X, cap * r->p * sizeof(float) + 1);
        if (!X)
            return ri_fail(ctx, RI_ERR_NOMEM, "out of memory for %zu training rows", cap);
        r->X = X;
    }
    r->y = ri_realloc(r->y, cap);
    r->w = ri_realloc(r->w, cap * sizeof(*r->w));
    r->deal = ri_realloc(r->deal, cap * sizeof(*r->deal));
    r->at = ri_realloc(r->at, cap * sizeof(*r->at));
    r->p_rep = ri_realloc(r->p_rep, cap * sizeof(*r->p_rep));
    r->p_stage = ri_realloc(r->p_stage, cap * sizeof(*r->p_stage));
    r->cap = cap;
    return RI_OK;
}

static float code_of(const struct ri_feature *f, const struct ri_intern *vals, int32_t c)
{
    const char *s;
    int32_t k;
    if (c < 0)
        return (float)NAN;
    s = ri_intern_str(vals, c);
    k = ri_intern_find(&f->vocab, s, strlen(s));
    return k < 0 ? (float)NAN : (float)k;
}

void ri_features_row(const struct ri_featctx *fc, const struct ri_featset *fs,
                     const struct ri_asof_state *st, size_t i, ri_time at, float *x, double *p_rep,
                     double *p_stage)
{
    const struct ri_frame *fr = fc->frame;
    double amount = st ? st->amount[i] : fr->amount[i];
    double ps = RI_NAN, pr = st ? st->probability[i] : RI_NAN;
    int32_t stage = st ? st->stage[i] : -1;
    double dis =
        st && st->stage_since[i] != RI_TIME_NONE ? (double)(at - st->stage_since[i]) / DAY : RI_NAN;

    if (isnan(amount))
        amount = fr->amount[i];
    if (!isnan(pr))
        pr = pr > 1.0 ? pr / 100.0 : pr;
    if (fc->sm && stage >= 0)
        ps = ri_stage_model_p_win(fc->sm, stage, isnan(dis) ? 0 : dis);
    for (size_t j = 0; j < fs->p; j++) {
        const struct ri_feature *f = &fs->f[j];
        double v = RI_NAN, closed, wins;
        switch (f->src) {
        case RI_FS_STAGE:
            v = stage >= 0 ? stage : RI_NAN;
            break;
        case RI_FS_DAYS_IN_STAGE:
            v = dis;
            break;
        case RI_FS_AGE: {
            ri_time c = ri_history_created(fc->hist, i);
            v = c != RI_TIME_NONE ? (double)(at - c) / DAY : RI_NAN;
            break;
        }
        case RI_FS_LOG_AMOUNT:
            v = !isnan(amount) && amount >= 0 ? log1p(amount) : RI_NAN;
            break;
        case RI_FS_AMOUNT_RATIO:
            v = st && st->first_amount[i] > 0 ? st->amount[i] / st->first_amount[i] : RI_NAN;
            break;
        case RI_FS_AMOUNT_CHANGES:
            v = st ? st->n_amount_changes[i] : RI_NAN;
            break;
        case RI_FS_CLOSE_PUSHES:
            v = st ? st->n_close_pushes[i] : RI_NAN;
            break;
        case RI_FS_DAYS_TO_CLOSE:
            v = st && st->close_date[i] != RI_TIME_NONE ? (double)(st->close_date[i] - at) / DAY
                                                        : RI_NAN;
            break;
        case RI_FS_CLOSE_SLIP:
            v = st && st->close_date[i] != RI_TIME_NONE && st->first_close_date[i] != RI_TIME_NONE
                    ? (double)(st->close_date[i] - st->first_close_date[i]) / DAY
                    : RI_NAN;
            break;
        case RI_FS_REGRESSIONS:
            v = st ? st->n_regressions[i] : RI_NAN;
            break;
        case RI_FS_SKIPS:
            v = st ? st->n_skips[i] : RI_NAN;
            break;
        case RI_FS_STAGE_CHANGES:
            v = st ? st->n_stage_changes[i] : RI_NAN;
            break;
        case RI_FS_REP_RATE:
        case RI_FS_REP_CLOSED: {
            int32_t o = fc->owner_dim >= 0 ? fr->dims[fc->owner_dim].code[i] : -1;
            if (o < 0 || (size_t)o >= fc->n_owner)
                break;
            record_at(fc->owner_start, fc->owner_t, fc->owner_won, (size_t)o, at, &closed, &wins);
            v = f->src == RI_FS_REP_CLOSED ? closed
                                           : (wins + SMOOTH_K * fs->prior) / (closed + SMOOTH_K);
            break;
        }
        case RI_FS_ACCOUNT_RATE:
        case RI_FS_ACCOUNT_WON: {
            int32_t acc = fr->account[i];
            if (acc < 0 || (size_t)acc >= fc->n_account)
                break;
            record_at(fc->account_start, fc->account_t, fc->account_won, (size_t)acc, at, &closed,
                      &wins);
            v = f->src == RI_FS_ACCOUNT_WON ? wins
                                            : (wins + SMOOTH_K * fs->prior) / (closed + SMOOTH_K);
            break;
        }
        case RI_FS_P_STAGE:
            v = ps;
            break;
        case RI_FS_P_REP:
            v = pr;
            break;
        case RI_FS_DIM:
            if (f->dim >= 0)
                x[j] = code_of(f, &fr->dims[f->dim].values, fr->dims[f->dim].code[i]);
            else
                x[j] = (float)NAN;
            continue;
        case RI_FS_ATTR_NUM:
        case RI_FS_ATTR_CAT: {
            const char *s = f->dim >= 0 && fc->attrs
                                ? fc->attrs->val[i * fc->attrs->n_keys + (size_t)f->dim]
                                : NULL;
            double d;
            if (!s)
                break;
            if (f->src == RI_FS_ATTR_NUM) {
                if (parse_num(s, &d))
                    v = d;
            } else {
                int32_t k = ri_intern_find(&f->vocab, s, strlen(s));
                v = k < 0 ? RI_NAN : k;
            }
            break;
        }
        }
        x[j] = (float)v;
    }
    *p_rep = pr;
    *p_stage = ps;
}

static ri_err rows_push(struct ri_ctx *ctx, struct ri_rows *r, const struct ri_featctx *fc,
                        const struct ri_featset *fs, const struct ri_asof_state *st, size_t i,
                        ri_time at, uint8_t y, float w)
{
    ri_err rc = rows_reserve(ctx, r, r->n + 1);
    size_t k = r->n;
    if (rc)
        return rc;
    ri_features_row(fc, fs, st, i, at, r->X + k * r->p, &r->p_rep[k], &r->p_stage[k]);
    r->y[k] = y;
    r->w[k] = w;
    r->deal[k] = (uint32_t)i;
    r->at[k] = at;
    r->n++;
    return RI_OK;
}

/* ------------------------------------------------------------------ snapshots */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static int cmp_time(const void *a, const void *b)
{
    ri_time x = *(const ri_time *)a, y = *(const ri_time *)b;
    return x < y ? -1 : x > y;
}

/* Moments of deal i's open life before its close: weekly from creation and at each stage
 * change; sorted, unique, thinned to MAX_MOMENTS. Returns how many. */
static size_t moments(const struct ri_history *h, size_t i, ri_time created, ri_time close,
                      ri_time *out)
{
    struct ri_stage_visit v[MAX_MOMENTS];
    ri_time tmp[2 * MAX_MOMENTS + 8];
    size_t n = 0, nv, m = 0;
    double span = (double)(close - created);
    size_t weeks = (size_t)(span / (7.0 * DAY)) + 1;
    size_t stride = weeks > MAX_MOMENTS ? (weeks + MAX_MOMENTS - 1) / MAX_MOMENTS : 1;

    for (size_t k = 0; k < weeks && n < MAX_MOMENTS + 2; k += stride)
        tmp[n++] = created + (ri_time)k * 7 * DAY;
    nv = ri_history_path(h, i, close - 1, v, MAX_MOMENTS);
    for (size_t k = 0; k < nv && k < MAX_MOMENTS; k++)
        if (v[k].entered != RI_TIME_NONE && v[k].entered > created && v[k].entered < close &&
            n < RI_ARRAY_SIZE(tmp))
            tmp[n++] = v[k].entered;
    qsort(tmp, n, sizeof(*tmp), cmp_time);
    for (size_t k = 0; k < n; k++)
        if (tmp[k] < close && (m == 0 || tmp[k] != out[m - 1]) && m < 2 * MAX_MOMENTS)
            out[m++] = tmp[k];
    return m;
}

/* End of the life to take snapshots of: the close date of a deal closed before `before`,
 * `before` itself for a deal counted lost while still open (dead), else NONE. */
static ri_time snap_end(const struct ri_frame *fr, const uint8_t *dead, size_t i, ri_time before)
{
    if (dead && dead[i])
        return before;
    if ((fr->status[i] == RI_STATUS_WON || fr->status[i] == RI_STATUS_LOST) &&
        fr->close[i] != RI_TIME_NONE && fr->close[i] < before)
        return fr->close[i];
    return RI_TIME_NONE;
}

ri_err ri_rows_snapshots(struct ri_ctx *ctx, const struct ri_featctx *fc,
                         const struct ri_featset *fs, ri_time before, const uint8_t *sel,
                         const uint8_t *dead, size_t max_rows, uint64_t seed, struct ri_rows *out)
{
    const struct ri_history *h = fc->hist;
    const struct ri_frame *fr = fc->frame;
    struct ri_asof_state st;
    ri_time mom[2 * MAX_MOMENTS];
    size_t est = 0, cand = 0, deals = 0;
    double total_life = 0;
    uint64_t keep_below = UINT64_MAX;
    ri_err rc;

    ri_rows_init(out, fs->p);
    rc = ri_asof_state_init(&st, h);
    if (rc)
        return ri_fail(ctx, rc, "out of memory for the as-of state");
    /* estimate the rows to sample deals when there would be too many */
    for (size_t i = 0; i < fr->n; i++) {
        ri_time c0 = ri_history_created(h, i), c1 = snap_end(fr, dead, i, before);
        if ((sel && !sel[i]) || fr->deleted[i] || c0 == RI_TIME_NONE || c1 == RI_TIME_NONE ||
            c1 <= c0)
            continue;
        cand++;
        est += 2 + (size_t)((c1 - c0) / (7 * DAY));
    }
    if (max_rows && est > max_rows)
        keep_below = (uint64_t)((double)UINT64_MAX * ((double)max_rows / (double)est));
    for (size_t i = 0; !rc && i < fr->n; i++) {
        ri_time c0 = ri_history_created(h, i), c1 = snap_end(fr, dead, i, before);
        size_t m;
        float w;
        double life = 0;
        if ((sel && !sel[i]) || fr->deleted[i] || c0 == RI_TIME_NONE || c1 == RI_TIME_NONE ||
            c1 <= c0)
            continue;
        if (keep_below != UINT64_MAX && mix64(i ^ (seed * 0x9e3779b97f4a7c15ULL)) > keep_below)
            continue;
        if (ri_interrupted)
            rc = RI_ERR_INTERRUPTED;
        m = moments(h, i, c0, c1, mom);
        if (!m)
            continue;
        for (size_t k = 0; !rc && k < m; k++) {
            ri_asof_deal(h, i, mom[k], &st);
            if (!st.exists[i] || st.status[i] != RI_STATUS_OPEN)
                continue;
            /* the time this moment stands for, until the next one or the end */
            w = (float)((double)((k + 1 < m ? mom[k + 1] : c1) - mom[k]) / (7.0 * DAY));
            life += (double)w;
            rc = rows_push(ctx, out, fc, fs, &st, i, mom[k],
                           !(dead && dead[i]) && fr->status[i] == RI_STATUS_WON, w);
        }
        deals += life > 0;
        total_life += life;
        if ((i & 0xffff) == 0)
            ri_progress(ctx, "training snapshots", i, fr->n);
    }
    ri_progress(ctx, "training snapshots", fr->n, fr->n);
    /* scaled so that the weights sum to the number of deals, as the trees' regularisation
     * (min_child_weight) expects */
    for (size_t k = 0; total_life > 0 && k < out->n; k++)
        out->w[k] = (float)((double)out->w[k] * (double)deals / total_life);
    (void)cand;
    ri_asof_state_release(&st);
    if (rc)
        ri_rows_release(out);
    return rc;
}

ri_err ri_rows_open_at(struct ri_ctx *ctx, const struct ri_featctx *fc, const struct ri_featset *fs,
                       const struct ri_asof_state *st, const uint8_t *label, struct ri_rows *out)
{
    ri_err rc = RI_OK;
    ri_rows_init(out, fs->p);
    for (size_t i = 0; !rc && i < st->n; i++) {
        if (!st->exists[i] || st->status[i] != RI_STATUS_OPEN || fc->frame->deleted[i])
            continue;
        rc = rows_push(ctx, out, fc, fs, st, i, st->at, label ? label[i] : 2, 1.0f);
    }
    if (rc)
        ri_rows_release(out);
    return rc;
}

ri_err ri_rows_static(struct ri_ctx *ctx, const struct ri_featctx *fc, const struct ri_featset *fs,
                      const uint8_t *sel, struct ri_rows *out)
{
    const struct ri_frame *fr = fc->frame;
    ri_err rc = RI_OK;
    ri_rows_init(out, fs->p);
    for (size_t i = 0; !rc && i < fr->n; i++) {
        if ((sel && !sel[i]) || fr->deleted[i] ||
            (fr->status[i] != RI_STATUS_WON && fr->status[i] != RI_STATUS_LOST))
            continue;
        rc = rows_push(ctx, out, fc, fs, NULL, i, fr->close[i], fr->status[i] == RI_STATUS_WON,
                       1.0f);
    }
    if (rc)
        ri_rows_release(out);
    return rc;
}

/* ------------------------------------------------------------------ words */

void ri_feature_describe(const struct ri_featset *fs, const struct ri_history *h, size_t j,
                         float value, char *out, size_t size)
{
    const struct ri_feature *f = &fs->f[j];
    double v = (double)value;
    if (isnan(v)) {
        snprintf(out, size, "%s unknown", f->name);
        return;
    }
    switch (f->src) {
    case RI_FS_STAGE:
        if (h && v >= 0 && v < (double)ri_history_n_stages(h))
            snprintf(out, size, "in stage %s", ri_history_stage_name(h, (int32_t)v));
        else
            snprintf(out, size, "stage");
        return;
    case RI_FS_DAYS_IN_STAGE:
        snprintf(out, size, "%.0f days in the current stage", v);
        return;
    case RI_FS_AGE:
        snprintf(out, size, "deal open for %.0f days", v);
        return;
    case RI_FS_LOG_AMOUNT:
        snprintf(out, size, "amount %.0f", expm1(v));
        return;
    case RI_FS_AMOUNT_RATIO:
        snprintf(out, size, "amount at %.0f %% of its first value", 100 * v);
        return;
    case RI_FS_AMOUNT_CHANGES:
        snprintf(out, size, "amount changed %.0f times", v);
        return;
    case RI_FS_CLOSE_PUSHES:
        snprintf(out, size, "close date pushed %.0f times", v);
        return;
    case RI_FS_DAYS_TO_CLOSE:
        if (v < 0)
            snprintf(out, size, "close date passed %.0f days ago", -v);
        else
            snprintf(out, size, "close date in %.0f days", v);
        return;
    case RI_FS_CLOSE_SLIP:
        snprintf(out, size, "close date moved %.0f days from the first one", v);
        return;
    case RI_FS_REGRESSIONS:
        snprintf(out, size, "moved back a stage %.0f times", v);
        return;
    case RI_FS_SKIPS:
        snprintf(out, size, "skipped stages %.0f times", v);
        return;
    case RI_FS_STAGE_CHANGES:
        snprintf(out, size, "%.0f stage changes", v);
        return;
    case RI_FS_REP_RATE:
        snprintf(out, size, "rep's win rate %.0f %%", 100 * v);
        return;
    case RI_FS_REP_CLOSED:
        snprintf(out, size, "rep has closed %.0f deals", v);
        return;
    case RI_FS_ACCOUNT_RATE:
        snprintf(out, size, "account's win rate %.0f %%", 100 * v);
        return;
    case RI_FS_ACCOUNT_WON:
        snprintf(out, size, "account has %.0f won deals before", v);
        return;
    case RI_FS_P_STAGE:
        snprintf(out, size, "stage history says %.0f %%", 100 * v);
        return;
    case RI_FS_P_REP:
        snprintf(out, size, "rep's probability %.0f %%", 100 * v);
        return;
    case RI_FS_DIM:
    case RI_FS_ATTR_CAT:
        if (v >= 0 && v < (double)f->vocab.n)
            snprintf(out, size, "%s %s", f->name, ri_intern_str(&f->vocab, (int32_t)v));
        else
            snprintf(out, size, "%s", f->name);
        return;
    case RI_FS_ATTR_NUM:
        snprintf(out, size, "%s %g", f->name, v);
        return;
    }
    snprintf(out, size, "%s", f->name);
}
