/*
 * history.c - the as-of engine: the state of every deal at any past date.
 *
 * ri_history_load reads the deals and their events from the store once, into columns
 * (struct of arrays): events are sorted by deal, time and insertion, and each deal
 * knows the slice of events that is its own. ri_asof then replays, for each deal, the
 * events up to a date T into an ri_asof_state, also in columns, so that diagnostics,
 * point-in-time features and backtests can ask "what did the pipeline look like on T"
 * many times without going back to SQL.
 *
 * Replay rules. An event sets the fields it carries (NULL fields leave the value as it
 * was). Before a deal's first event, each field holds the value of the first event that
 * carries it (a deal is assumed to have been in its first recorded stage since it was
 * created). A deal with no events at all is replayed from its row: open deals sit in
 * their current stage from creation; closed deals are open in an unknown stage until
 * their close date, then in their terminal stage. Whatever the events say, a deal whose
 * row is closed with a close date on or before T is closed at T (an export that shows a
 * deal won on 2 May tells us when it closed, even if the export was taken on 9 May). A
 * 'deleted' event hides the deal from then on; 'restored' brings it back. Stage changes
 * count only when the stage really differs; a regression is a move to an earlier open
 * stage, a skip a move forward past at least one open stage. ri_history_path lists a
 * deal's stage visits by walking the same steps as the replay (struct stage_walk).
 *
 * The columns of an unchanged store are read back from the column cache (colcache.h) as
 * the blob 'history' instead of by SQL; a change to what the load derives from the rows
 * (the stage order, the event kinds) must raise RI_CC_VERSION.
 */
#include "colcache.h"
#include "store.h"
#include "strmap.h"

#include <math.h>
#include <string.h>

enum ev_kind { EV_OTHER = 0, EV_DELETED, EV_RESTORED };

struct ri_history {
    size_t n; /* deals */
    int64_t *rowid;
    size_t *id_off; /* deal i's CRM id is id_text + id_off[i] */
    char *id_text;  /* the ids, each NUL-terminated (ri_cc_alloc) */
    size_t id_len;
    int ids_built;        /* ids is built on the first ri_history_find */
    struct ri_strmap ids; /* crm id -> deal index */
    ri_time *created, *cur_close, *deleted_at;
    int32_t *cur_stage, *cur_owner;
    uint8_t *cur_status;
    double *cur_amount, *cur_prob;
    size_t *ev_start; /* n + 1 offsets into the event columns */
    size_t n_ev;
    ri_time *ev_at, *ev_close;
    double *ev_amount, *ev_prob;
    int32_t *ev_stage, *ev_owner;
    uint8_t *ev_kind;
    struct ri_intern stages, owners;
    int32_t *stage_rank; /* stage intern id -> order (0..) */
    uint8_t *stage_role, *stage_late;
    int32_t *by_rank; /* order -> stage intern id */
    int order_inferred;
};

/* Allocates the deal columns (n + 1 entries, the last one zero); on failure records it
 * on ctx (which may be NULL). */
static ri_err hist_alloc_deals(struct ri_ctx *ctx, struct ri_history *h, size_t n)
{
    h->n = n;
    h->rowid = ri_cc_alloc((n + 1) * sizeof(*h->rowid));
    h->id_off = ri_cc_alloc((n + 1) * sizeof(*h->id_off));
    h->created = ri_cc_alloc((n + 1) * sizeof(*h->created));
    h->cur_close = ri_cc_alloc((n + 1) * sizeof(*h->cur_close));
    h->deleted_at = ri_cc_alloc((n + 1) * sizeof(*h->deleted_at));
    h->cur_stage = ri_cc_alloc((n + 1) * sizeof(*h->cur_stage));
    h->cur_owner = ri_cc_alloc((n + 1) * sizeof(*h->cur_owner));
    h->cur_status = ri_cc_alloc((n + 1) * sizeof(*h->cur_status));
    h->cur_amount = ri_cc_alloc((n + 1) * sizeof(*h->cur_amount));
    h->cur_prob = ri_cc_alloc((n + 1) * sizeof(*h->cur_prob));
    h->ev_start = ri_cc_alloc((n + 2) * sizeof(*h->ev_start));
    if (!h->rowid || !h->id_off || !h->created || !h->cur_close || !h->deleted_at ||
        !h->cur_stage || !h->cur_owner || !h->cur_status || !h->cur_amount || !h->cur_prob ||
        !h->ev_start) {
        h->n = 0;
        return ri_fail(ctx, RI_ERR_NOMEM, "out of memory loading %zu deals", n);
    }
    /* the entry past the end is zero, as it always was; the others are all written */
    h->rowid[n] = h->created[n] = h->cur_close[n] = h->deleted_at[n] = 0;
    h->id_off[n] = 0;
    h->cur_stage[n] = h->cur_owner[n] = 0;
    h->cur_status[n] = 0;
    h->cur_amount[n] = h->cur_prob[n] = 0;
    h->ev_start[0] = h->ev_start[n + 1] = 0;
    return RI_OK;
}

static ri_err hist_alloc_events(struct ri_ctx *ctx, struct ri_history *h, size_t n)
{
    h->n_ev = n;
    h->ev_at = ri_cc_alloc((n + 1) * sizeof(*h->ev_at));
    h->ev_close = ri_cc_alloc((n + 1) * sizeof(*h->ev_close));
    h->ev_amount = ri_cc_alloc((n + 1) * sizeof(*h->ev_amount));
    h->ev_prob = ri_cc_alloc((n + 1) * sizeof(*h->ev_prob));
    h->ev_stage = ri_cc_alloc((n + 1) * sizeof(*h->ev_stage));
    h->ev_owner = ri_cc_alloc((n + 1) * sizeof(*h->ev_owner));
    h->ev_kind = ri_cc_alloc((n + 1) * sizeof(*h->ev_kind));
    if (!h->ev_at || !h->ev_close || !h->ev_amount || !h->ev_prob || !h->ev_stage || !h->ev_owner ||
        !h->ev_kind) {
        h->n_ev = 0;
        return ri_fail(ctx, RI_ERR_NOMEM, "out of memory loading %zu deal events", n);
    }
    return RI_OK;
}

void ri_history_free(struct ri_history *h)
{
    if (!h)
        return;
    ri_cc_free(h->rowid);
    ri_cc_free(h->id_off);
    ri_cc_free(h->id_text);
    ri_strmap_release(&h->ids);
    ri_cc_free(h->created);
    ri_cc_free(h->cur_close);
    ri_cc_free(h->deleted_at);
    ri_cc_free(h->cur_stage);
    ri_cc_free(h->cur_owner);
    ri_cc_free(h->cur_status);
    ri_cc_free(h->cur_amount);
    ri_cc_free(h->cur_prob);
    ri_cc_free(h->ev_start);
    ri_cc_free(h->ev_at);
    ri_cc_free(h->ev_close);
    ri_cc_free(h->ev_amount);
    ri_cc_free(h->ev_prob);
    ri_cc_free(h->ev_stage);
    ri_cc_free(h->ev_owner);
    ri_cc_free(h->ev_kind);
    ri_intern_release(&h->stages);
    ri_intern_release(&h->owners);
    ri_free(h->stage_rank);
    ri_free(h->stage_role);
    ri_free(h->stage_late);
    ri_free(h->by_rank);
    ri_free(h);
}

static int32_t intern_opt(struct ri_intern *in, const char *s, size_t len)
{
    return s ? ri_intern_id(in, s, len) : -1;
}

static uint8_t role_of(const char *r)
{
    if (r && !strcmp(r, "won"))
        return RI_STATUS_WON;
    if (r && !strcmp(r, "lost"))
        return RI_STATUS_LOST;
    return RI_STATUS_OPEN;
}

struct stage_cfg {
    int64_t *ord;
    uint8_t *role, *late;
    size_t cap;
};

static void cfg_set(struct stage_cfg *c, int32_t id, int64_t ord, uint8_t role, uint8_t late)
{
    if ((size_t)id >= c->cap) {
        size_t old = c->cap, cap = old;
        RI_GROW(c->ord, cap, (size_t)id + 1);
        cap = old;
        RI_GROW(c->role, cap, (size_t)id + 1);
        cap = old;
        RI_GROW(c->late, cap, (size_t)id + 1);
        c->cap = cap;
        for (size_t i = old; i < cap; i++) {
            c->ord[i] = -1;
            c->role[i] = 0;
            c->late[i] = 0;
        }
    }
    c->ord[id] = ord;
    c->role[id] = role;
    c->late[id] = late;
}

static ri_err load_stage_cfg(struct ri_ctx *ctx, struct ri_store *st, struct ri_history *h,
                             struct stage_cfg *c)
{
    struct ri_stmt *s = NULL;
    ri_err rc =
        ri_stmt_prepare(ctx, st, "SELECT name, ord, role, late FROM stages ORDER BY ord", &s);
    while (!rc && (rc = ri_stmt_step(ctx, s)) == RI_OK) {
        size_t len;
        const char *nm = ri_stmt_text(s, 0, &len);
        int32_t id = ri_intern_id(&h->stages, nm, len);
        cfg_set(c, id, ri_stmt_i64(s, 1), role_of(ri_stmt_text(s, 2, NULL)),
                (uint8_t)ri_stmt_i64(s, 3));
    }
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

static ri_err load_deals(struct ri_ctx *ctx, struct ri_store *st, struct ri_history *h)
{
    struct ri_stmt *s = NULL;
    struct ri_buf ids = RI_BUF_INIT;
    int64_t n = 0;
    size_t i = 0;
    ri_err rc = ri_store_query_i64(ctx, st, "SELECT count(*) FROM deals", &n);
    if (!rc)
        rc = hist_alloc_deals(ctx, h, (size_t)n);
    if (rc)
        return rc;
    rc = ri_stmt_prepare(ctx, st,
                         "SELECT id, crm_id, created_at, stage, status, amount, close_date, owner, "
                         "probability, deleted_at FROM deals ORDER BY id",
                         &s);
    while (!rc && i < h->n && (rc = ri_stmt_step(ctx, s)) == RI_OK) {
        size_t len, sl, ol;
        const char *id = ri_stmt_text(s, 1, &len);
        const char *stg = ri_stmt_text(s, 3, &sl), *own = ri_stmt_text(s, 7, &ol);
        const char *status = ri_stmt_text(s, 4, NULL);
        h->id_off[i] = ids.len;
        if (ri_buf_addn(&ids, id, len) || ri_buf_addc(&ids, '\0')) {
            rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory loading %zu deal ids", h->n);
            break;
        }
        h->rowid[i] = ri_stmt_i64(s, 0);
        h->created[i] = ri_stmt_time(s, 2);
        h->cur_stage[i] = intern_opt(&h->stages, stg, sl);
        h->cur_status[i] = status ? role_of(status) : RI_STATUS_OPEN;
        h->cur_amount[i] = ri_stmt_f64(s, 5);
        h->cur_close[i] = ri_stmt_time(s, 6);
        h->cur_owner[i] = intern_opt(&h->owners, own, ol);
        h->cur_prob[i] = ri_stmt_f64(s, 8);
        h->deleted_at[i] = ri_stmt_time(s, 9);
        i++;
    }
    ri_stmt_free(s);
    if (rc == RI_OK || rc == RI_ERR_NOTFOUND)
        rc = RI_OK;
    h->n = i;
    /* the ids in a block of their own, as the cache gives them */
    h->id_text = rc ? NULL : ri_cc_alloc(ids.len + 1);
    if (!rc && !h->id_text)
        rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory loading %zu deal ids", h->n);
    if (h->id_text) {
        memcpy(h->id_text, ids.buf, ids.len + 1);
        h->id_len = ids.len;
    }
    ri_buf_release(&ids);
    return rc;
}

static size_t find_rowid(const struct ri_history *h, int64_t rowid, size_t hint)
{
    size_t lo = 0, hi = h->n;
    if (hint < h->n && h->rowid[hint] == rowid)
        return hint;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->rowid[mid] < rowid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < h->n && h->rowid[lo] == rowid ? lo : SIZE_MAX;
}

/* The labels table, as texts indexed by id. */
struct labels {
    char **text;
    size_t n;
    int32_t *as_stage, *as_owner; /* label id -> intern id, -2 not yet resolved */
};

static void labels_release(struct labels *l)
{
    for (size_t i = 0; i < l->n; i++)
        ri_free(l->text[i]);
    ri_free(l->text);
    ri_free(l->as_stage);
    ri_free(l->as_owner);
}

static ri_err load_labels(struct ri_ctx *ctx, struct ri_store *st, struct labels *l)
{
    struct ri_stmt *s = NULL;
    int64_t max = 0;
    ri_err rc = ri_store_query_i64(ctx, st, "SELECT coalesce(max(id), 0) FROM labels", &max);
    if (rc)
        return rc;
    l->n = (size_t)max + 1;
    l->text = ri_calloc(l->n, sizeof(*l->text));
    l->as_stage = ri_malloc(l->n * sizeof(*l->as_stage));
    l->as_owner = ri_malloc(l->n * sizeof(*l->as_owner));
    for (size_t i = 0; i < l->n; i++)
        l->as_stage[i] = l->as_owner[i] = -2;
    rc = ri_stmt_prepare(ctx, st, "SELECT id, text FROM labels", &s);
    while (!rc && (rc = ri_stmt_step(ctx, s)) == RI_OK) {
        int64_t id = ri_stmt_i64(s, 0);
        size_t len;
        const char *t = ri_stmt_text(s, 1, &len);
        if (id > 0 && (size_t)id < l->n && t)
            l->text[id] = ri_strndup(t, len);
    }
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

/* Interned id of the label in column col (NULL: -1), through the cache. */
static int32_t label_intern(struct ri_stmt *s, int col, const struct labels *l, int32_t *cache,
                            struct ri_intern *in)
{
    int64_t id = ri_stmt_i64(s, col); /* NULL reads as 0, which no label has */
    if (id <= 0 || (size_t)id >= l->n || !l->text[id])
        return -1;
    if (cache[id] == -2)
        cache[id] = ri_intern_id(in, l->text[id], strlen(l->text[id]));
    return cache[id];
}

/* The events query reads NULL numbers as -1e308 (one call per column instead of two on a
 * five-million-row loop); no amount or probability is ever that. */
static double or_nan(double v)
{
    return v <= -1e307 ? RI_NAN : v;
}

static ri_err load_events(struct ri_ctx *ctx, struct ri_store *st, struct ri_history *h)
{
    struct ri_stmt *s = NULL;
    struct labels l = {NULL, 0, NULL, NULL};
    int64_t n = 0;
    size_t k = 0, deal = 0;
    ri_err rc = ri_store_query_i64(ctx, st, "SELECT count(*) FROM deal_events", &n);
    if (!rc)
        rc = load_labels(ctx, st, &l);
    if (!rc)
        rc = hist_alloc_events(ctx, h, (size_t)n);
    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "SELECT deal_id, at, kind, stage, ifnull(amount, -1e308), "
                             "ifnull(close_date, -9223372036854775807 - 1), owner, "
                             "ifnull(probability, -1e308) FROM deal_events "
                             "ORDER BY deal_id, at, seq",
                             &s);
    while (!rc && k < h->n_ev && (rc = ri_stmt_step(ctx, s)) == RI_OK) {
        int64_t kind = ri_stmt_i64(s, 2);
        const char *kt = kind > 0 && (size_t)kind < l.n ? l.text[kind] : NULL;
        size_t d = find_rowid(h, ri_stmt_i64(s, 0), deal);
        if (d == SIZE_MAX)
            continue; /* foreign keys make this impossible; skip rather than trust it */
        while (deal < d)
            h->ev_start[++deal] = k;
        h->ev_at[k] = ri_stmt_i64(s, 1);
        h->ev_kind[k] = kt && !strcmp(kt, "deleted")    ? EV_DELETED
                        : kt && !strcmp(kt, "restored") ? EV_RESTORED
                                                        : EV_OTHER;
        h->ev_stage[k] = label_intern(s, 3, &l, l.as_stage, &h->stages);
        h->ev_amount[k] = or_nan(ri_stmt_double(s, 4));
        h->ev_close[k] = ri_stmt_i64(s, 5); /* INT64_MIN is RI_TIME_NONE */
        h->ev_owner[k] = label_intern(s, 6, &l, l.as_owner, &h->owners);
        h->ev_prob[k] = or_nan(ri_stmt_double(s, 7));
        k++;
    }
    ri_stmt_free(s);
    labels_release(&l);
    if (rc == RI_ERR_NOTFOUND)
        rc = RI_OK;
    while (deal < h->n)
        h->ev_start[++deal] = k;
    h->n_ev = k;
    return rc;
}

static int cmp_rank(const void *a, const void *b, const double *key)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (key[x] < key[y])
        return -1;
    if (key[x] > key[y])
        return 1;
    return x < y ? -1 : x > y;
}

/* Orders stages: configured ones by their ord; unconfigured open stages by their mean
 * relative position in the deals' paths; then won, then lost. */
static void order_stages(struct ri_history *h, struct stage_cfg *c)
{
    size_t ns = h->stages.n;
    double *key = ri_calloc(ns + 1, sizeof(*key));
    double *sum = ri_calloc(ns + 1, sizeof(*sum));
    double *cnt = ri_calloc(ns + 1, sizeof(*cnt));
    int32_t *path = ri_calloc(ns + 1, sizeof(*path));
    uint8_t *on = ri_calloc(ns + 1, sizeof(*on));
    bool any_unconfigured = false;

    for (int32_t id = 0; (size_t)id < ns; id++) {
        if ((size_t)id >= c->cap || c->ord[id] < 0) {
            const char *nm = ri_intern_str(&h->stages, id);
            char low[64];
            size_t i;
            for (i = 0; nm[i] && i + 1 < sizeof(low); i++)
                low[i] = (char)((nm[i] >= 'A' && nm[i] <= 'Z') ? nm[i] + 32 : nm[i]);
            low[i] = '\0';
            cfg_set(c, id, 1000 + id,
                    strstr(low, "won")    ? RI_STATUS_WON
                    : strstr(low, "lost") ? RI_STATUS_LOST
                                          : RI_STATUS_OPEN,
                    0);
        }
        if (c->ord[id] >= 1000 && c->role[id] == RI_STATUS_OPEN)
            any_unconfigured = true;
    }
    if (any_unconfigured) {
        for (size_t d = 0; d < h->n; d++) {
            size_t len = 0;
            for (size_t k = h->ev_start[d]; k < h->ev_start[d + 1]; k++) {
                int32_t s = h->ev_stage[k];
                if (s < 0 || c->role[s] != RI_STATUS_OPEN || on[s])
                    continue;
                on[s] = 1;
                path[len++] = s;
            }
            for (size_t i = 0; i < len; i++) {
                on[path[i]] = 0;
                sum[path[i]] += len > 1 ? (double)i / (double)(len - 1) : 0.0;
                cnt[path[i]] += 1.0;
            }
        }
        h->order_inferred = 1;
    }
    for (int32_t id = 0; (size_t)id < ns; id++) {
        double base = c->role[id] == RI_STATUS_WON ? 2e6 : c->role[id] == RI_STATUS_LOST ? 3e6 : 0;
        if (c->ord[id] < 1000)
            key[id] = base + (double)c->ord[id];
        else
            key[id] = base + 1000.0 + (cnt[id] > 0 ? sum[id] / cnt[id] * 1000.0 : 999.0);
    }
    h->by_rank = ri_calloc(ns + 1, sizeof(*h->by_rank));
    h->stage_rank = ri_calloc(ns + 1, sizeof(*h->stage_rank));
    h->stage_role = ri_calloc(ns + 1, sizeof(*h->stage_role));
    h->stage_late = ri_calloc(ns + 1, sizeof(*h->stage_late));
    for (int32_t id = 0; (size_t)id < ns; id++)
        h->by_rank[id] = id;
    /* insertion sort: there are a handful of stages */
    for (size_t i = 1; i < ns; i++)
        for (size_t j = i; j > 0 && cmp_rank(&h->by_rank[j - 1], &h->by_rank[j], key) > 0; j--) {
            int32_t t = h->by_rank[j];
            h->by_rank[j] = h->by_rank[j - 1];
            h->by_rank[j - 1] = t;
        }
    for (size_t r = 0; r < ns; r++) {
        int32_t id = h->by_rank[r];
        h->stage_rank[id] = (int32_t)r;
        h->stage_role[id] = c->role[id] ? c->role[id] : RI_STATUS_OPEN;
        h->stage_late[id] = c->late[id];
    }
    ri_free(key);
    ri_free(sum);
    ri_free(cnt);
    ri_free(path);
    ri_free(on);
}

/* Re-indexes stage ids so that the public index is the order (0 = first stage). */
static void renumber_stages(struct ri_history *h)
{
    struct ri_intern ordered;
    size_t ns = h->stages.n;
    int32_t *remap = ri_calloc(ns + 1, sizeof(*remap));
    uint8_t *role = ri_calloc(ns + 1, sizeof(*role)), *late = ri_calloc(ns + 1, sizeof(*late));
    ri_intern_init(&ordered);
    for (size_t r = 0; r < ns; r++) {
        int32_t id = h->by_rank[r];
        const char *nm = ri_intern_str(&h->stages, id);
        remap[id] = ri_intern_id(&ordered, nm, strlen(nm));
        role[r] = h->stage_role[id];
        late[r] = h->stage_late[id];
    }
    for (size_t d = 0; d < h->n; d++)
        if (h->cur_stage[d] >= 0)
            h->cur_stage[d] = remap[h->cur_stage[d]];
    for (size_t k = 0; k < h->n_ev; k++)
        if (h->ev_stage[k] >= 0)
            h->ev_stage[k] = remap[h->ev_stage[k]];
    ri_intern_release(&h->stages);
    h->stages = ordered;
    ri_free(h->stage_role);
    ri_free(h->stage_late);
    h->stage_role = role;
    h->stage_late = late;
    for (size_t r = 0; r < ns; r++) {
        h->stage_rank[r] = (int32_t)r;
        h->by_rank[r] = (int32_t)r;
    }
    ri_free(remap);
}

/* ------------------------------------------------------------------ column cache */

/* The history as a column-cache blob: sizes first, then every column (not the id map,
 * which is built on demand). */
static void hist_encode(const struct ri_history *h, struct ri_cc_enc *e)
{
    size_t ns = h->stages.n;
    size_t *ev_n = ri_try_alloc((h->n + 1) * sizeof(*ev_n));
    if (!ev_n) {
        e->rc = RI_ERR_NOMEM;
        return;
    }
    /* no column codes larger than its values, plus heads and the string tables */
    ri_cc_enc_reserve(e, 4096 + h->n * 90 + h->n_ev * 41 + h->id_len +
                             (h->stages.n + h->owners.n) * 64);
    ri_cc_put_u64(e, h->n);
    ri_cc_put_u64(e, h->n_ev);
    ri_cc_put_u64(e, ns);
    ri_cc_put_u64(e, (uint64_t)h->order_inferred);
    ri_cc_put_u64(e, h->id_len);
    ri_cc_put_intern(e, &h->stages);
    ri_cc_put_intern(e, &h->owners);
    ri_cc_put_i32s(e, h->stage_rank, ns);
    ri_cc_put_i32s(e, h->by_rank, ns);
    ri_cc_put_u8s(e, h->stage_role, ns);
    ri_cc_put_u8s(e, h->stage_late, ns);
    ri_cc_put_i64s(e, h->rowid, h->n);
    ri_cc_put_sizes(e, h->id_off, h->n);
    ri_cc_put_u8s(e, (const uint8_t *)h->id_text, h->id_len);
    ri_cc_put_i64s(e, h->created, h->n);
    ri_cc_put_i64s(e, h->cur_close, h->n);
    ri_cc_put_i64s(e, h->deleted_at, h->n);
    ri_cc_put_i32s(e, h->cur_stage, h->n);
    ri_cc_put_i32s(e, h->cur_owner, h->n);
    ri_cc_put_u8s(e, h->cur_status, h->n);
    ri_cc_put_f64s(e, h->cur_amount, h->n);
    ri_cc_put_f64s(e, h->cur_prob, h->n);
    /* events per deal, which code smaller than their offsets */
    for (size_t i = 0; i < h->n; i++)
        ev_n[i] = h->ev_start[i + 1] - h->ev_start[i];
    ri_cc_put_sizes(e, ev_n, h->n);
    ri_free(ev_n);
    ri_cc_put_i64s(e, h->ev_at, h->n_ev);
    ri_cc_put_i64s(e, h->ev_close, h->n_ev);
    ri_cc_put_f64s(e, h->ev_amount, h->n_ev);
    ri_cc_put_f64s(e, h->ev_prob, h->n_ev);
    ri_cc_put_i32s(e, h->ev_stage, h->n_ev);
    ri_cc_put_i32s(e, h->ev_owner, h->n_ev);
    ri_cc_put_u8s(e, h->ev_kind, h->n_ev);
}

/* Decodes a blob into the empty history h; false (h partly filled, to be freed) if the
 * blob does not hold a consistent history. */
static bool hist_decode(void *ud, struct ri_cc_dec *d)
{
    struct ri_history *h = ud;
    uint64_t n = ri_cc_get_u64(d), n_ev = ri_cc_get_u64(d), ns = ri_cc_get_u64(d);
    uint64_t inferred = ri_cc_get_u64(d), id_len = ri_cc_get_u64(d);
    size_t *ev_n;
    if (d->bad || n > UINT32_MAX || n_ev > (uint64_t)SIZE_MAX / 16 || ns > INT32_MAX ||
        id_len > d->len)
        return false;
    ri_cc_get_intern(d, &h->stages);
    ri_cc_get_intern(d, &h->owners);
    if (d->bad || h->stages.n != ns)
        return false;
    h->order_inferred = (int)inferred;
    h->stage_rank = ri_calloc(ns + 1, sizeof(*h->stage_rank));
    h->by_rank = ri_calloc(ns + 1, sizeof(*h->by_rank));
    h->stage_role = ri_calloc(ns + 1, sizeof(*h->stage_role));
    h->stage_late = ri_calloc(ns + 1, sizeof(*h->stage_late));
    ri_cc_get_i32s(d, h->stage_rank, ns);
    ri_cc_get_i32s(d, h->by_rank, ns);
    ri_cc_get_u8s(d, h->stage_role, ns);
    ri_cc_get_u8s(d, h->stage_late, ns);
    ri_cc_check_range(d, h->by_rank, ns, 0, (int64_t)ns);
    if (d->bad || hist_alloc_deals(NULL, h, (size_t)n) || hist_alloc_events(NULL, h, (size_t)n_ev))
        return false;
    ri_cc_get_i64s(d, h->rowid, h->n);
    ri_cc_get_sizes(d, h->id_off, h->n);
    {
        /* the ids' text in one piece, written once (no growing buffer) */
        const uint8_t *ids = ri_cc_get_bytes(d, (size_t)id_len);
        char *buf = ids ? ri_cc_alloc((size_t)id_len + 1) : NULL;
        if (!buf)
            return false;
        memcpy(buf, ids, (size_t)id_len);
        buf[id_len] = '\0';
        h->id_text = buf;
        h->id_len = (size_t)id_len;
    }
    for (size_t i = 0; i < h->n && !d->bad; i++)
        if (h->id_off[i] >= h->id_len)
            d->bad = 1;
    ri_cc_get_i64s(d, h->created, h->n);
    ri_cc_get_i64s(d, h->cur_close, h->n);
    ri_cc_get_i64s(d, h->deleted_at, h->n);
    ri_cc_get_i32s(d, h->cur_stage, h->n);
    ri_cc_get_i32s(d, h->cur_owner, h->n);
    ri_cc_get_u8s(d, h->cur_status, h->n);
    ri_cc_get_f64s(d, h->cur_amount, h->n);
    ri_cc_get_f64s(d, h->cur_prob, h->n);
    ri_cc_check_range(d, h->cur_stage, h->n, -1, (int64_t)ns);
    ri_cc_check_range(d, h->cur_owner, h->n, -1, (int64_t)h->owners.n);
    ev_n = ri_cc_alloc((h->n + 1) * sizeof(*ev_n));
    if (!ev_n)
        return false;
    ri_cc_get_sizes(d, ev_n, h->n);
    h->ev_start[0] = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (ev_n[i] > h->n_ev - h->ev_start[i]) {
            d->bad = 1;
            break;
        }
        h->ev_start[i + 1] = h->ev_start[i] + ev_n[i];
    }
    ri_cc_free(ev_n);
    if (d->bad || h->ev_start[h->n] != h->n_ev)
        return false;
    ri_cc_get_i64s(d, h->ev_at, h->n_ev);
    ri_cc_get_i64s(d, h->ev_close, h->n_ev);
    ri_cc_get_f64s(d, h->ev_amount, h->n_ev);
    ri_cc_get_f64s(d, h->ev_prob, h->n_ev);
    ri_cc_get_i32s(d, h->ev_stage, h->n_ev);
    ri_cc_get_i32s(d, h->ev_owner, h->n_ev);
    ri_cc_get_u8s(d, h->ev_kind, h->n_ev);
    ri_cc_check_range(d, h->ev_stage, h->n_ev, -1, (int64_t)ns);
    ri_cc_check_range(d, h->ev_owner, h->n_ev, -1, (int64_t)h->owners.n);
    for (size_t k = 0; k < h->n_ev && !d->bad; k++)
        if (h->ev_kind[k] > EV_RESTORED)
            d->bad = 1;
    return ri_cc_dec_ok(d);
}

static struct ri_history *hist_new(void)
{
    struct ri_history *h = ri_calloc(1, sizeof(*h));
    ri_strmap_init(&h->ids);
    ri_intern_init(&h->stages);
    ri_intern_init(&h->owners);
    return h;
}

static ri_err load_sql(struct ri_ctx *ctx, struct ri_store *st, struct ri_history *h)
{
    struct stage_cfg cfg = {NULL, NULL, NULL, 0};
    ri_err rc = load_stage_cfg(ctx, st, h, &cfg);
    if (!rc)
        rc = load_deals(ctx, st, h);
    if (!rc)
        rc = load_events(ctx, st, h);
    if (!rc) {
        order_stages(h, &cfg);
        renumber_stages(h);
    }
    ri_free(cfg.ord);
    ri_free(cfg.role);
    ri_free(cfg.late);
    return rc;
}

ri_err ri_history_load_cached(struct ri_ctx *ctx, enum ri_cc_mode mode, struct ri_history **out,
                              int64_t *gen_out, bool *cached)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_history *h;
    int64_t gen = 0;
    ri_err rc;
    *out = NULL;
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
    h = hist_new();
    if (mode != RI_CC_OFF) {
        rc = ri_colcache_read(ctx, st, "history", RI_CC_HISTORY, gen, hist_decode, h);
        if (rc == RI_OK) {
            if (cached)
                *cached = true;
            *out = h;
            return RI_OK;
        }
        ri_history_free(h);
        if (rc != RI_ERR_NOTFOUND)
            return rc;
        h = hist_new();
    }
    rc = load_sql(ctx, st, h);
    if (rc) {
        ri_history_free(h);
        return rc;
    }
    if (mode == RI_CC_USE)
        ri_history_cache_save(st, h, gen);
    *out = h;
    return RI_OK;
}

ri_err ri_history_load_mode(struct ri_ctx *ctx, enum ri_cc_mode mode, struct ri_history **out)
{
    return ri_history_load_cached(ctx, mode, out, NULL, NULL);
}

static void hist_encode_any(const void *h, struct ri_cc_enc *e)
{
    hist_encode(h, e);
}

void ri_history_cache_save(struct ri_store *st, const struct ri_history *h, int64_t gen)
{
    ri_colcache_save(st, "history", RI_CC_HISTORY, gen, hist_encode_any, h);
}

ri_err ri_history_load(struct ri_ctx *ctx, struct ri_history **out)
{
    return ri_history_load_mode(ctx, RI_CC_USE, out);
}

#define DIFF(field, count)                                                                         \
 do {                                                                                              \
  if ((count) && memcmp(a->field, b->field, (count) * sizeof(*a->field)))                          \
   return #field;                                                                                  \
 } while (0)

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

const char *ri_history_diff(const struct ri_history *a, const struct ri_history *b)
{
    if (a->n != b->n)
        return "n";
    if (a->n_ev != b->n_ev)
        return "n_ev";
    if (a->stages.n != b->stages.n || !intern_same(&a->stages, &b->stages))
        return "stages";
    if (!intern_same(&a->owners, &b->owners))
        return "owners";
    if (a->order_inferred != b->order_inferred)
        return "order_inferred";
    if (a->id_len != b->id_len)
        return "id_text";
    DIFF(id_text, a->id_len);
    DIFF(rowid, a->n);
    DIFF(id_off, a->n);
    DIFF(created, a->n);
    DIFF(cur_close, a->n);
    DIFF(deleted_at, a->n);
    DIFF(cur_stage, a->n);
    DIFF(cur_owner, a->n);
    DIFF(cur_status, a->n);
    DIFF(cur_amount, a->n);
    DIFF(cur_prob, a->n);
    DIFF(ev_start, a->n + 1);
    DIFF(ev_at, a->n_ev);
    DIFF(ev_close, a->n_ev);
    DIFF(ev_amount, a->n_ev);
    DIFF(ev_prob, a->n_ev);
    DIFF(ev_stage, a->n_ev);
    DIFF(ev_owner, a->n_ev);
    DIFF(ev_kind, a->n_ev);
    DIFF(stage_rank, a->stages.n);
    DIFF(by_rank, a->stages.n);
    DIFF(stage_role, a->stages.n);
    DIFF(stage_late, a->stages.n);
    return NULL;
}

size_t ri_history_n_deals(const struct ri_history *h)
{
    return h->n;
}

size_t ri_history_n_events(const struct ri_history *h)
{
    return h->n_ev;
}

const char *ri_history_deal_id(const struct ri_history *h, size_t i)
{
    return i < h->n ? h->id_text + h->id_off[i] : NULL;
}

ri_time ri_history_created(const struct ri_history *h, size_t i)
{
    return i < h->n ? h->created[i] : RI_TIME_NONE;
}

size_t ri_history_n_stages(const struct ri_history *h)
{
    return h->stages.n;
}

const char *ri_history_stage_name(const struct ri_history *h, int32_t stage)
{
    return ri_intern_str(&h->stages, stage);
}

const char *ri_history_owner_name(const struct ri_history *h, int32_t owner)
{
    return ri_intern_str(&h->owners, owner);
}

ptrdiff_t ri_history_find(const struct ri_history *h, const char *deal_id)
{
    const int64_t *v;
    if (!h->ids_built) {
        /* built on first use: most callers never look a deal up by its id; the map is a
         * cache, so filling it through a const handle does not change the history */
        struct ri_history *m = (struct ri_history *)(uintptr_t)h;
        ri_strmap_reserve(&m->ids, h->n);
        for (size_t i = 0; i < h->n; i++) {
            const char *id = h->id_text + h->id_off[i];
            ri_strmap_put(&m->ids, id, strlen(id), (int64_t)i, NULL);
        }
        m->ids_built = 1;
    }
    v = ri_strmap_get(&h->ids, deal_id, strlen(deal_id));
    return v ? (ptrdiff_t)*v : -1;
}

enum ri_status ri_history_stage_role(const struct ri_history *h, int32_t stage)
{
    if (stage < 0 || (size_t)stage >= h->stages.n)
        return RI_STATUS_OPEN;
    return (enum ri_status)h->stage_role[stage];
}

int ri_history_stage_is_late(const struct ri_history *h, int32_t stage)
{
    if (stage < 0 || (size_t)stage >= h->stages.n)
        return 0;
    return h->stage_late[stage];
}

int ri_history_order_inferred(const struct ri_history *h)
{
    return h->order_inferred;
}

ri_err ri_asof_state_init(struct ri_asof_state *st, const struct ri_history *h)
{
    size_t n = h->n + 1;
    memset(st, 0, sizeof(*st));
    st->n = h->n;
    st->exists = ri_cc_alloc(n * sizeof(*st->exists));
    st->status = ri_cc_alloc(n * sizeof(*st->status));
    st->stage = ri_cc_alloc(n * sizeof(*st->stage));
    st->stage_since = ri_cc_alloc(n * sizeof(*st->stage_since));
    st->amount = ri_cc_alloc(n * sizeof(*st->amount));
    st->first_amount = ri_cc_alloc(n * sizeof(*st->first_amount));
    st->close_date = ri_cc_alloc(n * sizeof(*st->close_date));
    st->first_close_date = ri_cc_alloc(n * sizeof(*st->first_close_date));
    st->probability = ri_cc_alloc(n * sizeof(*st->probability));
    st->owner = ri_cc_alloc(n * sizeof(*st->owner));
    st->n_stage_changes = ri_cc_alloc(n * sizeof(*st->n_stage_changes));
    st->n_regressions = ri_cc_alloc(n * sizeof(*st->n_regressions));
    st->n_skips = ri_cc_alloc(n * sizeof(*st->n_skips));
    st->n_close_pushes = ri_cc_alloc(n * sizeof(*st->n_close_pushes));
    st->n_amount_changes = ri_cc_alloc(n * sizeof(*st->n_amount_changes));
    st->reached_late = ri_cc_alloc(n * sizeof(*st->reached_late));
    if (!st->exists || !st->status || !st->stage || !st->stage_since || !st->amount ||
        !st->first_amount || !st->close_date || !st->first_close_date || !st->probability ||
        !st->owner || !st->n_stage_changes || !st->n_regressions || !st->n_skips ||
        !st->n_close_pushes || !st->n_amount_changes || !st->reached_late) {
        ri_asof_state_release(st);
        return RI_ERR_NOMEM;
    }
    return RI_OK;
}

void ri_asof_state_release(struct ri_asof_state *st)
{
    ri_cc_free(st->exists);
    ri_cc_free(st->status);
    ri_cc_free(st->stage);
    ri_cc_free(st->stage_since);
    ri_cc_free(st->amount);
    ri_cc_free(st->first_amount);
    ri_cc_free(st->close_date);
    ri_cc_free(st->first_close_date);
    ri_cc_free(st->probability);
    ri_cc_free(st->owner);
    ri_cc_free(st->n_stage_changes);
    ri_cc_free(st->n_regressions);
    ri_cc_free(st->n_skips);
    ri_cc_free(st->n_close_pushes);
    ri_cc_free(st->n_amount_changes);
    ri_cc_free(st->reached_late);
    memset(st, 0, sizeof(*st));
}

static uint16_t inc16(uint16_t v)
{
    return v < UINT16_MAX ? (uint16_t)(v + 1) : v;
}

/* Moves deal i of st into stage s at time at, counting the change. */
static void enter_stage(const struct ri_history *h, struct ri_asof_state *st, size_t i, int32_t s,
                        ri_time at)
{
    int32_t old = st->stage[i];
    if (s == old)
        return;
    if (old >= 0) {
        st->n_stage_changes[i] = inc16(st->n_stage_changes[i]);
        if (h->stage_role[old] == RI_STATUS_OPEN && h->stage_role[s] == RI_STATUS_OPEN) {
            if (s < old)
                st->n_regressions[i] = inc16(st->n_regressions[i]);
            else if (s > old + 1)
                st->n_skips[i] = inc16(st->n_skips[i]);
        }
    }
    st->stage[i] = s;
    st->stage_since[i] = at;
    if (h->stage_late[s])
        st->reached_late[i] = 1;
}

/*
 * The stage path of one deal, step by step: the stage it holds from creation (rule 3,
 * or rule 4 for a deal without events), each real change among its events up to T
 * (rules 2 and 7), then the close its row records (rule 5). replay_deal and
 * ri_history_path both walk it, so an as-of state and a path cannot disagree.
 */
struct stage_step {
    int32_t stage;  /* the stage entered; -1: unknown (a row closed without a stage) */
    ri_time t;      /* when */
    ri_time seen;   /* initial step: when the history first shows the stage (NONE: the row) */
    bool initial;   /* held since creation, not entered by a change */
    bool row_close; /* rule 5: the row closes the deal; stage may equal the current one */
};

struct stage_walk {
    const struct ri_history *h;
    size_t i, k, k1;
    ri_time at;
    int32_t cur;
    int phase; /* 0: the stage from creation, 1: the events, 2: the row's close, 3: done */
};

static void walk_start(struct stage_walk *w, const struct ri_history *h, size_t i, ri_time at)
{
    w->h = h;
    w->i = i;
    w->k = h->ev_start[i];
    w->k1 = h->ev_start[i + 1];
    w->at = at;
    w->cur = -1;
    w->phase = 0;
}

/* Next step into *s; false when the path up to T is complete. */
static bool walk_next(struct stage_walk *w, struct stage_step *s)
{
    const struct ri_history *h = w->h;
    size_t i = w->i;
    s->seen = RI_TIME_NONE;
    s->initial = s->row_close = false;
    if (w->phase == 0) {
        int32_t first = -1;
        w->phase = 1;
        /* the first open stage any event names, whenever it comes */
        for (size_t k = w->k; k < w->k1; k++)
            if (h->ev_stage[k] >= 0 && h->stage_role[h->ev_stage[k]] == RI_STATUS_OPEN) {
                first = h->ev_stage[k];
                s->seen = h->ev_at[k];
                break;
            }
        if (w->k == w->k1 && h->cur_status[i] == RI_STATUS_OPEN)
            first = h->cur_stage[i];
        if (first >= 0) {
            w->cur = s->stage = first;
            s->t = h->created[i];
            s->initial = true;
            return true;
        }
    }
    if (w->phase == 1) {
        for (; w->k < w->k1 && h->ev_at[w->k] <= w->at; w->k++) {
            int32_t st = h->ev_stage[w->k];
            if (h->ev_kind[w->k] != EV_OTHER || st < 0 || st == w->cur)
                continue;
            w->cur = s->stage = st;
            s->t = h->ev_at[w->k++];
            return true;
        }
        w->phase = 2;
    }
    if (w->phase == 2) {
        w->phase = 3;
        /* a closed deal is closed from its close date on */
        if (h->cur_status[i] != RI_STATUS_OPEN && h->cur_close[i] != RI_TIME_NONE &&
            h->cur_close[i] <= w->at && (w->cur < 0 || h->stage_role[w->cur] == RI_STATUS_OPEN)) {
            w->cur = s->stage = h->cur_stage[i];
            s->t = h->cur_close[i];
            s->row_close = true;
            return true;
        }
    }
    return false;
}

static void replay_deal(const struct ri_history *h, size_t i, ri_time at, struct ri_asof_state *st)
{
    size_t k0 = h->ev_start[i], k1 = h->ev_start[i + 1], k;
    ri_time created = h->created[i];
    bool alive = true, row_closed = false;
    struct stage_walk w;
    struct stage_step s;

    st->stage[i] = -1;
    st->stage_since[i] = created;
    st->amount[i] = st->first_amount[i] = RI_NAN;
    st->close_date[i] = st->first_close_date[i] = RI_TIME_NONE;
    st->probability[i] = RI_NAN;
    st->owner[i] = -1;
    st->n_stage_changes[i] = st->n_regressions[i] = st->n_skips[i] = 0;
    st->n_close_pushes[i] = st->n_amount_changes[i] = 0;
    st->reached_late[i] = 0;

    /* values before the first event: the first value each field is given */
    for (k = k0; k < k1; k++) {
        if (isnan(st->amount[i]) && !isnan(h->ev_amount[k]))
            st->amount[i] = st->first_amount[i] = h->ev_amount[k];
        if (st->close_date[i] == RI_TIME_NONE && h->ev_close[k] != RI_TIME_NONE)
            st->close_date[i] = st->first_close_date[i] = h->ev_close[k];
        if (isnan(st->probability[i]) && !isnan(h->ev_prob[k]))
            st->probability[i] = h->ev_prob[k];
        if (st->owner[i] < 0 && h->ev_owner[k] >= 0)
            st->owner[i] = h->ev_owner[k];
    }
    if (k0 == k1) {
        /* no events: the deal's row */
        st->amount[i] = st->first_amount[i] = h->cur_amount[i];
        st->close_date[i] = st->first_close_date[i] = h->cur_close[i];
        st->probability[i] = h->cur_prob[i];
        st->owner[i] = h->cur_owner[i];
    }
    if (isnan(st->amount[i]))
        st->amount[i] = st->first_amount[i] = h->cur_amount[i];
    if (st->owner[i] < 0)
        st->owner[i] = h->cur_owner[i];
    /* an open deal whose events never carry a close date or probability has the row's:
     * its expected close date as of the last export (a closed deal's row holds the actual
     * close date, which earlier states must not know) */
    if (h->cur_status[i] == RI_STATUS_OPEN) {
        if (st->close_date[i] == RI_TIME_NONE)
            st->close_date[i] = st->first_close_date[i] = h->cur_close[i];
        if (isnan(st->probability[i]))
            st->probability[i] = h->cur_prob[i];
    }

    /* every field but the stage; the stage path is walked below */
    for (k = k0; k < k1 && h->ev_at[k] <= at; k++) {
        if (h->ev_kind[k] == EV_DELETED) {
            alive = false;
            continue;
        }
        if (h->ev_kind[k] == EV_RESTORED) {
            alive = true;
            continue;
        }
        if (!isnan(h->ev_amount[k])) {
            if (!isnan(st->amount[i]) &&
                fabs(h->ev_amount[k] - st->amount[i]) > 1e-9 * (fabs(st->amount[i]) + 1))
                st->n_amount_changes[i] = inc16(st->n_amount_changes[i]);
            st->amount[i] = h->ev_amount[k];
        }
        if (h->ev_close[k] != RI_TIME_NONE) {
            if (st->close_date[i] != RI_TIME_NONE && h->ev_close[k] > st->close_date[i])
                st->n_close_pushes[i] = inc16(st->n_close_pushes[i]);
            st->close_date[i] = h->ev_close[k];
        }
        if (!isnan(h->ev_prob[k]))
            st->probability[i] = h->ev_prob[k];
        if (h->ev_owner[k] >= 0)
            st->owner[i] = h->ev_owner[k];
    }

    walk_start(&w, h, i, at);
    while (walk_next(&w, &s)) {
        if (s.initial) {
            st->stage[i] = s.stage;
            if (h->stage_late[s.stage] && s.seen <= at)
                st->reached_late[i] = 1;
        } else if (s.stage >= 0) {
            enter_stage(h, st, i, s.stage, s.t);
        } else {
            st->stage[i] = -1;
            st->stage_since[i] = s.t;
        }
        if (s.row_close) {
            st->close_date[i] = h->cur_close[i];
            st->status[i] = h->cur_status[i];
            row_closed = true;
        }
    }
    if (!row_closed)
        st->status[i] = st->stage[i] >= 0 ? h->stage_role[st->stage[i]] : RI_STATUS_OPEN;
    if (st->stage[i] >= 0 && st->status[i] != RI_STATUS_OPEN && st->close_date[i] == RI_TIME_NONE)
        st->close_date[i] = st->stage_since[i];
    if (h->deleted_at[i] != RI_TIME_NONE && h->deleted_at[i] <= at && k0 == k1)
        alive = false;
    st->exists[i] = alive;
}

size_t ri_history_path(const struct ri_history *h, size_t i, ri_time until,
                       struct ri_stage_visit *out, size_t max)
{
    struct stage_walk w;
    struct stage_step s;
    int32_t cur = -1;
    size_t n = 0;
    if (i >= h->n || (h->created[i] != RI_TIME_NONE && h->created[i] > until))
        return 0;
    walk_start(&w, h, i, until);
    while (walk_next(&w, &s)) {
        if (s.stage == cur)
            continue; /* a row close that leaves the stage as it was */
        if (cur >= 0 && n - 1 < max)
            out[n - 1].left = s.t;
        cur = s.stage;
        if (cur < 0)
            continue;
        if (n < max) {
            out[n].stage = cur;
            out[n].entered = s.t;
            out[n].left = RI_TIME_NONE;
        }
        n++;
    }
    return n;
}

ri_err ri_history_path_get(const struct ri_history *h, size_t i, ri_time until,
                           struct ri_path_buf *p)
{
    size_t n = ri_history_path(h, i, until, p->v, p->cap);
    if (n > p->cap) {
        size_t cap = n + 16;
        struct ri_stage_visit *nv = ri_try_realloc(p->v, cap * sizeof(*nv));
        if (!nv)
            return RI_ERR_NOMEM;
        p->v = nv;
        p->cap = cap;
        n = ri_history_path(h, i, until, p->v, p->cap);
    }
    p->n = n;
    return RI_OK;
}

void ri_path_buf_release(struct ri_path_buf *p)
{
    ri_free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

ri_err ri_asof(const struct ri_history *h, ri_time at, struct ri_asof_state *st)
{
    if (st->n != h->n)
        return RI_ERR_INVALID;
    st->at = at;
    for (size_t i = 0; i < h->n; i++) {
        ri_time c = h->created[i];
        if (c != RI_TIME_NONE && c > at) {
            st->exists[i] = 0;
            st->status[i] = RI_STATUS_NONE;
            st->stage[i] = -1;
            continue;
        }
        replay_deal(h, i, at, st);
    }
    return RI_OK;
}

ri_err ri_asof_deal(const struct ri_history *h, size_t i, ri_time at, struct ri_asof_state *st)
{
    ri_time c;
    if (st->n != h->n || i >= h->n)
        return RI_ERR_INVALID;
    c = h->created[i];
    if (c != RI_TIME_NONE && c > at) {
        st->exists[i] = 0;
        st->status[i] = RI_STATUS_NONE;
        st->stage[i] = -1;
        return RI_OK;
    }
    replay_deal(h, i, at, st);
    return RI_OK;
}

void ri_asof_summarize(const struct ri_asof_state *st, struct ri_asof_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->at = st->at;
    for (size_t i = 0; i < st->n; i++) {
        if (!st->exists[i])
            continue;
        out->existing++;
        switch (st->status[i]) {
        case RI_STATUS_WON:
            out->won++;
            if (!isnan(st->amount[i]))
                out->won_amount += st->amount[i];
            break;
        case RI_STATUS_LOST:
            out->lost++;
            break;
        default:
            out->open++;
            if (!isnan(st->amount[i]))
                out->open_amount += st->amount[i];
            if (st->reached_late[i])
                out->open_late++;
            break;
        }
    }
}
