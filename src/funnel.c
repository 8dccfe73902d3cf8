/*
 * funnel.c - the stage funnel, zombie deals and sales-cycle survival (DESIGN.md section 3).
 *
 * Everything here is read off the as-of engine: one ri_asof replay gives each deal's
 * status, close date, current stage and skip/regression counts at a date, and
 * ri_history_path gives its stage visits under the same replay rules. Each function is a
 * single pass over the deals into flat arrays (no allocation per deal; the one path
 * buffer grows only for a deal with an unusually long path), then quantiles, Wilson
 * intervals and Kaplan-Meier fits over the collected arrays (stats.h). With a million
 * deals the arrays hold millions of values, so nothing is sorted that need not be:
 * medians and P90s by selection (ri_fast_quantile), the cycle times by one radix sort,
 * after which the Kaplan-Meier quantiles take one pass (ri_km_sorted_quantiles, the very
 * arithmetic of ri_km_fit); the arrays are sized once, on huge pages (ri_cc_alloc).
 *
 * Invariants and choices:
 * - Times are seconds in the history and days (double) in every result.
 * - The funnel's stages are the open stages in the history's order (at most
 *   RI_FUNNEL_MAX_STAGES; visits to open stages past that cap are left out of the
 *   per-stage counts, with a warning).
 * - A visit with no known entry time (a deal without a created date) adds no dwell; a
 *   visit that ends before it starts (a row closed before its last event) adds 0 days.
 * - The deal-level selection (include, seg) belongs to the caller; this module never
 *   looks at the deals table.
 */
#include "funnel.h"
#include "colcache.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* z for two-sided 95 % intervals */
#define Z95 1.959963984540054

/* Minimum exits for a stage to enter the loss-concentration test, and won deals for a
 * segment's own P90 dwell to be trusted. */
#define MIN_REACHED 5
#define MIN_SEG_WON 30

static double days(ri_time dt)
{
    return (double)dt / (double)RI_DAY;
}

/* ------------------------------------------------------------------ small containers */

/* A growable array of times with event flags (flags unused for plain samples). Its
 * memory comes from ri_cc_alloc (huge pages): a series is filled once, often with a
 * million values, and it is sized at once when a bound is known (series_reserve). */
struct series {
    double *x;
    uint8_t *ev;
    size_t n, cap;
};

/* Grows s to hold at least cap values (keeping its contents). */
static ri_err series_reserve(struct series *s, size_t cap)
{
    double *nx;
    uint8_t *ne;
    if (cap <= s->cap)
        return RI_OK;
    nx = ri_cc_alloc(cap * sizeof(*nx));
    ne = ri_cc_alloc(cap * sizeof(*ne));
    if (!nx || !ne) {
        ri_cc_free(nx);
        ri_cc_free(ne);
        return RI_ERR_NOMEM;
    }
    if (s->n) {
        memcpy(nx, s->x, s->n * sizeof(*nx));
        memcpy(ne, s->ev, s->n * sizeof(*ne));
    }
    ri_cc_free(s->x);
    ri_cc_free(s->ev);
    s->x = nx;
    s->ev = ne;
    s->cap = cap;
    return RI_OK;
}

static ri_err series_push(struct series *s, double x, uint8_t ev)
{
    if (s->n == s->cap) {
        ri_err rc = series_reserve(s, s->cap ? s->cap * 2 : 256);
        if (rc)
            return rc;
    }
    s->x[s->n] = x;
    s->ev[s->n] = ev;
    s->n++;
    return RI_OK;
}

static void series_release(struct series *s)
{
    ri_cc_free(s->x);
    ri_cc_free(s->ev);
    memset(s, 0, sizeof(*s));
}

/*
 * Funnel slots: the open stages in order, at most RI_FUNNEL_MAX_STAGES. slot_of[stage]
 * is the slot of a history stage (-1 for won/lost stages and past the cap), stage_of[k]
 * the stage of slot k. Open stages come first in the history's order, so in practice a
 * slot is its stage's index; the map keeps that an observation rather than an assumption.
 */
struct slots {
    size_t n;
    int32_t stage_of[RI_FUNNEL_MAX_STAGES];
    int32_t *slot_of; /* n_stages entries */
    size_t n_hist;
    bool over_cap;
};

static ri_err slots_init(struct ri_ctx *ctx, struct slots *s, const struct ri_history *h)
{
    size_t ns = ri_history_n_stages(h);
    memset(s, 0, sizeof(*s));
    s->n_hist = ns;
    s->slot_of = ri_try_alloc((ns + 1) * sizeof(*s->slot_of));
    if (!s->slot_of)
        return ri_fail(ctx, RI_ERR_NOMEM, "out of memory for %zu stages", ns);
    for (size_t k = 0; k < ns; k++) {
        s->slot_of[k] = -1;
        if (ri_history_stage_role(h, (int32_t)k) != RI_STATUS_OPEN)
            continue;
        if (s->n == RI_FUNNEL_MAX_STAGES) {
            s->over_cap = true;
            continue;
        }
        s->slot_of[k] = (int32_t)s->n;
        s->stage_of[s->n++] = (int32_t)k;
    }
    if (s->over_cap)
        ri_log(RI_LOG_WARN, "more than %d open stages: the later ones are left out",
               RI_FUNNEL_MAX_STAGES);
    return RI_OK;
}

static int32_t slot(const struct slots *s, int32_t stage)
{
    return stage >= 0 && (size_t)stage < s->n_hist ? s->slot_of[stage] : -1;
}

static bool is_open(const struct ri_history *h, int32_t stage)
{
    return stage >= 0 && ri_history_stage_role(h, stage) == RI_STATUS_OPEN;
}

/*
 * Days a deal spent in each slot, all visits summed, from its path. A visit still
 * running (left NONE) ends at `end` (the close date, or as_of for zombies). unknown[k]
 * marks a slot one of whose visits has no entry time. Returns the slot of the last open
 * visit (-1 none, or -2 if that stage is past the cap) and sets *max_slot.
 */
static int32_t path_dwell(const struct ri_history *h, const struct slots *sl,
                          const struct ri_path_buf *p, ri_time end, double *dwell, uint8_t *seen,
                          uint8_t *unknown, int32_t *max_slot)
{
    int32_t last = -1;
    *max_slot = -1;
    for (size_t k = 0; k < sl->n; k++) {
        dwell[k] = 0;
        seen[k] = unknown[k] = 0;
    }
    for (size_t j = 0; j < p->n; j++) {
        const struct ri_stage_visit *v = &p->v[j];
        int32_t s = slot(sl, v->stage);
        ri_time to = v->left != RI_TIME_NONE ? v->left : end;
        if (!is_open(h, v->stage))
            continue;
        if (s < 0) {
            last = -2;
            continue;
        }
        last = s;
        seen[s] = 1;
        if (s > *max_slot)
            *max_slot = s;
        if (v->entered == RI_TIME_NONE || to == RI_TIME_NONE)
            unknown[s] = 1;
        else if (to > v->entered)
            dwell[s] += days(to - v->entered);
    }
    return last;
}

/* The as-of state at `at`: the caller's when it is for that date, else replayed into
 * *own (released by the caller). */
static ri_err state_at(struct ri_ctx *ctx, const struct ri_history *h, ri_time at,
                       const struct ri_asof_state *given, struct ri_asof_state *own,
                       const struct ri_asof_state **out)
{
    ri_err rc;
    if (given && given->at == at && given->n == ri_history_n_deals(h)) {
        *out = given;
        return RI_OK;
    }
    rc = ri_asof_state_init(own, h);
    if (rc)
        return ri_fail(ctx, rc, "out of memory replaying %zu deals", ri_history_n_deals(h));
    rc = ri_asof(h, at, own);
    *out = own;
    return rc;
}

/* ------------------------------------------------------------------ funnel */

/* True if a's loss rate is above b's, or equal on more deals reaching it (compared
 * exactly, as cross products of counts). */
static bool higher_loss(const struct ri_funnel_stage *a, const struct ri_funnel_stage *b)
{
    uint64_t x = a->lost_exits * b->reached, y = b->lost_exits * a->reached;
    return x > y || (x == y && a->reached > b->reached);
}

/*
 * Where are deals lost? A stage's loss rate is the share of the deals that reached it
 * which were lost there (their last open stage; the stage's hazard). Chi-square test of
 * homogeneity of that rate across the stages reached by at least MIN_REACHED deals
 * (a 2 x k table, df = k - 1; a deal counts once in each stage it reached, the usual
 * life-table approximation), the stage with the highest rate, and whether it stands
 * out: p < 0.05 and its Wilson lower bound above the pooled rate of the other stages.
 * (The loss rate among a stage's exits would not do: won deals exit only from the last
 * stage, so every earlier stage would lose all its exits.)
 */
static void loss_concentration(struct ri_funnel *f)
{
    uint64_t n = 0, lost = 0;
    size_t k = 0;
    double stat = 0;
    f->loss_chisq = f->loss_p = RI_NAN;
    f->loss_stage = -1;
    f->losses_concentrated = 0;
    for (size_t j = 0; j < f->n_stages; j++) {
        const struct ri_funnel_stage *s = &f->stages[j];
        if (s->reached < MIN_REACHED)
            continue;
        k++;
        n += s->reached;
        lost += s->lost_exits;
        if (f->loss_stage < 0 || higher_loss(s, &f->stages[f->loss_stage]))
            f->loss_stage = (int32_t)j;
    }
    if (k < 2 || !n)
        return;
    for (size_t j = 0; j < f->n_stages; j++) {
        const struct ri_funnel_stage *s = &f->stages[j];
        double e_lost, e_kept;
        if (s->reached < MIN_REACHED)
            continue;
        e_lost = (double)s->reached * (double)lost / (double)n;
        e_kept = (double)s->reached - e_lost;
        if (e_lost > 0)
            stat += ((double)s->lost_exits - e_lost) * ((double)s->lost_exits - e_lost) / e_lost;
        if (e_kept > 0) {
            double kept = (double)(s->reached - s->lost_exits);
            stat += (kept - e_kept) * (kept - e_kept) / e_kept;
        }
    }
    f->loss_chisq = stat;
    f->loss_p = ri_chisq_p(stat, (double)(k - 1));
    {
        const struct ri_funnel_stage *s = &f->stages[f->loss_stage];
        uint64_t other_lost = lost - s->lost_exits, other_n = n - s->reached;
        f->losses_concentrated = f->loss_p < 0.05 && other_n > 0 &&
                                 s->loss_rate.lo > (double)other_lost / (double)other_n;
    }
}

ri_err ri_funnel_compute(struct ri_ctx *ctx, const struct ri_history *h, ri_time from, ri_time to,
                         const uint8_t *include, const struct ri_asof_state *given,
                         struct ri_funnel *out)
{
    struct ri_asof_state st;
    const struct ri_asof_state *sp = &st;
    struct slots sl;
    struct ri_path_buf p = RI_PATH_BUF_INIT;
    struct series dw[RI_FUNNEL_MAX_STAGES][2]; /* dwell by slot, [0] won, [1] lost */
    double dwell[RI_FUNNEL_MAX_STAGES];
    uint8_t seen[RI_FUNNEL_MAX_STAGES], unknown[RI_FUNNEL_MAX_STAGES];
    size_t n = ri_history_n_deals(h);
    ri_err rc;

    memset(out, 0, sizeof(*out));
    memset(dw, 0, sizeof(dw));
    memset(&st, 0, sizeof(st));
    memset(&sl, 0, sizeof(sl));
    if (from == RI_TIME_NONE || to == RI_TIME_NONE || to <= from)
        return ri_fail(ctx, RI_ERR_INVALID, "funnel: empty period");
    rc = slots_init(ctx, &sl, h);
    if (rc)
        goto out;
    rc = state_at(ctx, h, to, given, &st, &sp);
    if (rc)
        goto out;

    out->from = from;
    out->to = to;
    out->n_stages = sl.n;
    /* at most one dwell per deal in each series */
    for (size_t j = 0; !rc && j < sl.n; j++) {
        rc = series_reserve(&dw[j][0], n + 1);
        if (!rc)
            rc = series_reserve(&dw[j][1], n + 1);
    }
    if (rc)
        goto nomem;
    for (size_t j = 0; j < sl.n; j++) {
        out->stages[j].stage = sl.stage_of[j];
        snprintf(out->stages[j].name, sizeof(out->stages[j].name), "%s",
                 ri_history_stage_name(h, sl.stage_of[j]));
    }

    for (size_t i = 0; i < n; i++) {
        int won = sp->status[i] == RI_STATUS_WON;
        int32_t last, max_slot;
        if ((include && !include[i]) || !sp->exists[i] ||
            (sp->status[i] != RI_STATUS_WON && sp->status[i] != RI_STATUS_LOST) ||
            sp->close_date[i] == RI_TIME_NONE || sp->close_date[i] < from ||
            sp->close_date[i] >= to)
            continue;
        out->cohort++;
        if (won)
            out->won++;
        else
            out->lost++;
        rc = ri_history_path_get(h, i, to, &p);
        if (rc)
            goto nomem;
        last = path_dwell(h, &sl, &p, sp->close_date[i], dwell, seen, unknown, &max_slot);
        if (last == -1) {
            out->no_history++;
            continue;
        }
        for (size_t j = 0; j < sl.n; j++) {
            struct ri_funnel_stage *s = &out->stages[j];
            if (!seen[j])
                continue;
            s->reached++;
            if (won || max_slot > (int32_t)j)
                s->advanced++;
            if (won)
                s->won++;
            if (!unknown[j]) {
                rc = series_push(&dw[j][won ? 0 : 1], dwell[j], 0);
                if (rc)
                    goto nomem;
            }
        }
        if (last >= 0) {
            out->stages[last].exits++;
            if (!won)
                out->stages[last].lost_exits++;
        }
        /* path shape, from the replay's own counts */
        if (sp->n_skips[i] > 0) {
            out->skip_n++;
            out->skip_won += (uint64_t)won;
        }
        if (sp->n_regressions[i] > 0) {
            out->regress_n++;
            out->regress_won += (uint64_t)won;
        }
        if (sp->n_skips[i] == 0 && sp->n_regressions[i] == 0) {
            out->clean_n++;
            out->clean_won += (uint64_t)won;
        }
    }

    for (size_t j = 0; j < sl.n; j++) {
        struct ri_funnel_stage *s = &out->stages[j];
        struct series *w = &dw[j][0], *l = &dw[j][1];
        s->conversion = ri_wilson(s->advanced, s->reached, Z95);
        s->win_rate = ri_wilson(s->won, s->reached, Z95);
        s->loss_rate = ri_wilson(s->lost_exits, s->reached, Z95);
        s->lost_share = out->lost ? (double)s->lost_exits / (double)out->lost : (double)NAN;
        s->n_dwell_won = w->n;
        s->n_dwell_lost = l->n;
        s->dwell_won_median = ri_fast_quantile(w->x, w->n, 0.5);
        s->dwell_won_p90 = ri_fast_quantile(w->x, w->n, 0.9);
        s->dwell_lost_median = ri_fast_quantile(l->x, l->n, 0.5);
        s->dwell_lost_p90 = ri_fast_quantile(l->x, l->n, 0.9);
    }
    out->skip_wr = ri_wilson(out->skip_won, out->skip_n, Z95);
    out->regress_wr = ri_wilson(out->regress_won, out->regress_n, Z95);
    out->clean_wr = ri_wilson(out->clean_won, out->clean_n, Z95);
    loss_concentration(out);
    goto out;

nomem:
    rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory computing the funnel of %zu deals", n);
out:
    for (size_t j = 0; j < RI_FUNNEL_MAX_STAGES; j++) {
        series_release(&dw[j][0]);
        series_release(&dw[j][1]);
    }
    ri_path_buf_release(&p);
    ri_asof_state_release(&st);
    ri_free(sl.slot_of);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ------------------------------------------------------------------ zombies */

/* One won deal's dwell in one stage, for the P90 thresholds. */
struct dwell_rec {
    int32_t slot, seg;
    double days;
};

struct dwell_recs {
    struct dwell_rec *r;
    size_t n, cap;
};

static ri_err recs_push(struct dwell_recs *d, int32_t s, int32_t seg, double v)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 65536;
        struct dwell_rec *nr = ri_cc_alloc(cap * sizeof(*nr)); /* see struct series */
        if (!nr)
            return RI_ERR_NOMEM;
        if (d->n)
            memcpy(nr, d->r, d->n * sizeof(*nr));
        ri_cc_free(d->r);
        d->r = nr;
        d->cap = cap;
    }
    d->r[d->n].slot = s;
    d->r[d->n].seg = seg;
    d->r[d->n].days = v;
    d->n++;
    return RI_OK;
}

/*
 * P90 thresholds from the won deals' dwell records: stage-wide into stage_p90 (by slot)
 * and per (slot, segment) into seg_p90[slot * n_seg + seg] where the group holds at least
 * MIN_SEG_WON records (NAN elsewhere). Records are bucketed by (slot, seg + 1) with a
 * counting sort, so that a stage's records are one contiguous range whose segment
 * groups are sub-ranges.
 */
static ri_err p90_thresholds(const struct dwell_recs *d, size_t n_slots, size_t n_seg,
                             double *stage_p90, double *seg_p90)
{
    size_t width = n_seg + 1, nkeys = n_slots * width;
    size_t *start = ri_try_alloc((nkeys + 1) * sizeof(*start));
    double *v = ri_cc_alloc((d->n + 1) * sizeof(*v));
    ri_err rc = RI_OK;
    if (!start || !v) {
        rc = RI_ERR_NOMEM;
        goto out;
    }
    memset(start, 0, (nkeys + 1) * sizeof(*start));
    for (size_t j = 0; j < d->n; j++)
        start[(size_t)d->r[j].slot * width + (size_t)(d->r[j].seg + 1) + 1]++;
    for (size_t k = 0; k < nkeys; k++)
        start[k + 1] += start[k];
    for (size_t j = 0; j < d->n; j++)
        v[start[(size_t)d->r[j].slot * width + (size_t)(d->r[j].seg + 1)]++] = d->r[j].days;
    /* start[k] now ends bucket k: shift back so that start[k] begins it */
    for (size_t k = nkeys; k > 0; k--)
        start[k] = start[k - 1];
    start[0] = 0;
    for (size_t s = 0; s < n_slots; s++) {
        size_t b = start[s * width], e = start[(s + 1) * width];
        for (size_t g = 0; g < n_seg; g++) {
            size_t gb = start[s * width + g + 1], ge = start[s * width + g + 2];
            seg_p90[s * n_seg + g] =
                ge - gb >= MIN_SEG_WON ? ri_fast_quantile(v + gb, ge - gb, 0.9) : (double)NAN;
        }
        stage_p90[s] = ri_fast_quantile(v + b, e - b, 0.9);
    }
out:
    ri_free(start);
    ri_cc_free(v);
    return rc;
}

/* Keeps the largest zombies by amount (ties: earlier deal first), at most 50. */
static void zombie_list_add(struct ri_zombie_report *r, const struct ri_zombie *z)
{
    const size_t cap = RI_ARRAY_SIZE(r->list);
    double a = isnan(z->amount) ? 0 : z->amount;
    size_t at = r->n_list;
    while (at > 0) {
        double b = isnan(r->list[at - 1].amount) ? 0 : r->list[at - 1].amount;
        if (b >= a)
            break;
        at--;
    }
    if (at >= cap)
        return;
    if (r->n_list < cap)
        r->n_list++;
    memmove(&r->list[at + 1], &r->list[at], (r->n_list - 1 - at) * sizeof(r->list[0]));
    r->list[at] = *z;
}

/* The date twelve calendar months before t (29 February falls back to the 28th). */
static ri_time year_before(ri_time t)
{
    int64_t y;
    unsigned m, d;
    int64_t dn = t / RI_DAY - (t % RI_DAY < 0);
    ri_civil_from_days(dn, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    return ri_days_from_civil(y - 1, m, d) * RI_DAY;
}

ri_err ri_zombies_compute(struct ri_ctx *ctx, const struct ri_history *h, ri_time as_of,
                          const uint8_t *include, const int32_t *seg,
                          const struct ri_asof_state *given, struct ri_zombie_report *out)
{
    struct ri_asof_state st;
    const struct ri_asof_state *sp = &st;
    struct slots sl;
    struct ri_path_buf p = RI_PATH_BUF_INIT;
    struct dwell_recs recs = {NULL, 0, 0};
    double dwell[RI_FUNNEL_MAX_STAGES], slot_p90[RI_FUNNEL_MAX_STAGES];
    uint8_t seen[RI_FUNNEL_MAX_STAGES], unknown[RI_FUNNEL_MAX_STAGES];
    double *seg_p90 = NULL;
    size_t n = ri_history_n_deals(h), n_seg = 0;
    ri_time window = year_before(as_of);
    uint64_t w_won = 0, w_lost = 0, w_zombies = 0;
    ri_err rc;

    memset(out, 0, sizeof(*out));
    memset(&st, 0, sizeof(st));
    memset(&sl, 0, sizeof(sl));
    if (as_of == RI_TIME_NONE)
        return ri_fail(ctx, RI_ERR_INVALID, "zombies: no as-of date");
    rc = slots_init(ctx, &sl, h);
    if (rc)
        goto out;
    rc = state_at(ctx, h, as_of, given, &st, &sp);
    if (rc)
        goto out;
    out->as_of = as_of;

    /* pass 1: dwell of the won deals, per stage and segment */
    for (size_t i = 0; i < n; i++) {
        int32_t max_slot, g = seg && seg[i] >= 0 ? seg[i] : -1;
        if ((include && !include[i]) || !sp->exists[i] || sp->status[i] != RI_STATUS_WON)
            continue;
        if (g >= 0 && (size_t)g + 1 > n_seg)
            n_seg = (size_t)g + 1;
        rc = ri_history_path_get(h, i, as_of, &p);
        if (rc)
            goto nomem;
        if (path_dwell(h, &sl, &p, sp->close_date[i], dwell, seen, unknown, &max_slot) == -1)
            continue;
        for (size_t j = 0; j < sl.n; j++) {
            if (!seen[j] || unknown[j])
                continue;
            rc = recs_push(&recs, (int32_t)j, g, dwell[j]);
            if (rc)
                goto nomem;
        }
    }
    if (sl.n > 0 && n_seg > SIZE_MAX / sizeof(double) / sl.n) {
        rc = ri_fail(ctx, RI_ERR_TOOBIG, "zombies: %zu segment values", n_seg);
        goto out;
    }
    seg_p90 = ri_try_alloc((sl.n * n_seg + 1) * sizeof(*seg_p90));
    if (!seg_p90)
        goto nomem;
    rc = p90_thresholds(&recs, sl.n, n_seg, slot_p90, seg_p90);
    if (rc)
        goto nomem;
    for (size_t k = 0; k < RI_FUNNEL_MAX_STAGES; k++) {
        int32_t s = slot(&sl, (int32_t)k);
        out->stage_p90[k] = s >= 0 ? slot_p90[s] : (double)NAN;
    }

    /* pass 2: the open deals against their thresholds; the win rate of the last year */
    for (size_t i = 0; i < n; i++) {
        struct ri_zombie z;
        int32_t s, g;
        ri_time created = ri_history_created(h, i);
        bool recent = created != RI_TIME_NONE && created >= window && created <= as_of;
        if ((include && !include[i]) || !sp->exists[i])
            continue;
        if (sp->status[i] == RI_STATUS_WON || sp->status[i] == RI_STATUS_LOST) {
            if (recent && sp->status[i] == RI_STATUS_WON)
                w_won++;
            else if (recent)
                w_lost++;
            continue;
        }
        out->open++;
        if (!isnan(sp->amount[i]))
            out->open_amount += sp->amount[i];
        memset(&z, 0, sizeof(z));
        z.deal = i;
        z.stage = sp->stage[i];
        z.amount = sp->amount[i];
        z.days_in_stage = z.stage_p90 = (double)NAN;
        if (sp->close_date[i] != RI_TIME_NONE && sp->close_date[i] < as_of) {
            z.overdue = 1;
            z.days_overdue = days(as_of - sp->close_date[i]);
        }
        s = slot(&sl, z.stage);
        g = seg && seg[i] >= 0 ? seg[i] : -1;
        if (s >= 0 && sp->stage_since[i] != RI_TIME_NONE) {
            z.days_in_stage = days(as_of - sp->stage_since[i]);
            z.stage_p90 = g >= 0 && (size_t)g < n_seg && !isnan(seg_p90[(size_t)s * n_seg + g])
                              ? seg_p90[(size_t)s * n_seg + g]
                              : slot_p90[s];
            z.stalled = z.days_in_stage > z.stage_p90; /* false when the P90 is NAN */
        }
        if (!z.overdue && !z.stalled)
            continue;
        out->overdue += (uint64_t)z.overdue;
        out->stalled += (uint64_t)z.stalled;
        out->zombies++;
        if (!isnan(z.amount))
            out->zombie_amount += z.amount;
        w_zombies += recent;
        zombie_list_add(out, &z);
    }
    out->live_amount = out->open_amount - out->zombie_amount;
    out->win_rate_closed = ri_wilson(w_won, w_won + w_lost, Z95);
    out->win_rate_with_zombies = ri_wilson(w_won, w_won + w_lost + w_zombies, Z95);
    goto out;

nomem:
    rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory looking for zombies among %zu deals", n);
out:
    ri_free(seg_p90);
    ri_cc_free(recs.r);
    ri_path_buf_release(&p);
    ri_asof_state_release(&st);
    ri_free(sl.slot_of);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ------------------------------------------------------------------ sales cycle */

/*
 * Sorting a million cycle lengths with qsort costs more than everything else here, so
 * times are sorted once with an LSD radix sort and the statistics then run on sorted
 * input (ri_km_fit's own sort is several times faster on it, and the closed-only
 * quantiles need no sort at all). A time t >= 0 and its event flag pack into one key,
 * (bits of t) << 1 | event: the bits of a non-negative double order as its value, and
 * the sign bit they leave free makes room for the flag.
 */
struct radix {
    uint64_t *key, *tkey;
    int32_t *pay, *tpay; /* a payload carried along (the segment); tpay NULL: none */
    size_t *cnt;         /* 65536 counters */
};

static uint64_t pack_time(double t, uint8_t ev)
{
    uint64_t b;
    memcpy(&b, &t, sizeof(b));
    return b << 1 | (ev & 1u);
}

static double unpack_time(uint64_t k)
{
    uint64_t b = k >> 1;
    double t;
    memcpy(&t, &b, sizeof(t));
    return t;
}

/* Sorts r->key[0..n) ascending with r->pay (if used), 16 bits a pass; a pass whose digit
 * is the same for every key is skipped (the low bits of whole days are all zero). */
static void radix_sort(struct radix *r, size_t n, bool with_pay)
{
    uint64_t *k = r->key, *tk = r->tkey;
    int32_t *p = r->pay, *tp = r->tpay;
    for (unsigned shift = 0; shift < 64; shift += 16) {
        size_t sum = 0;
        bool trivial = false;
        memset(r->cnt, 0, 65536 * sizeof(*r->cnt));
        for (size_t j = 0; j < n; j++)
            r->cnt[(k[j] >> shift) & 0xffff]++;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = r->cnt[d];
            trivial = trivial || c == n;
            r->cnt[d] = sum;
            sum += c;
        }
        if (trivial)
            continue;
        for (size_t j = 0; j < n; j++) {
            size_t at = r->cnt[(k[j] >> shift) & 0xffff]++;
            tk[at] = k[j];
            if (with_pay)
                tp[at] = p[j];
        }
        k = tk;
        tk = k == r->key ? r->tkey : r->key;
        if (with_pay) {
            p = tp;
            tp = p == r->pay ? r->tpay : r->pay;
        }
    }
    if (k != r->key) {
        memcpy(r->key, k, n * sizeof(*k));
        if (with_pay)
            memcpy(r->pay, p, n * sizeof(*p));
    }
}

/* Sorts the times and flags of s (and seg, when not NULL) by time. */
static void sort_series(struct radix *r, struct series *s, int32_t *seg)
{
    for (size_t j = 0; j < s->n; j++) {
        r->key[j] = pack_time(s->x[j], s->ev[j]);
        if (seg)
            r->pay[j] = seg[j];
    }
    radix_sort(r, s->n, seg != NULL);
    for (size_t j = 0; j < s->n; j++) {
        s->x[j] = unpack_time(r->key[j]);
        s->ev[j] = (uint8_t)(r->key[j] & 1u);
        if (seg)
            seg[j] = r->pay[j];
    }
}

/* ri_km_sorted_quantiles (funnel.h) follows ri_km_fit step by step: the same products,
 * Greenwood sums and log(-log) band, in the same order, so that its results are the
 * very same doubles. */
struct km_target {
    double below;         /* 1 - p, plus the relative slack of ri_km_quantile */
    struct ri_interval q; /* the first event time each curve falls to `below` */
};

static void km_band(double s, double gw, double *lo, double *hi)
{
    const double z = 1.959963984540054;
    if (!(s > 0)) {
        *lo = 0;
        *hi = RI_NAN;
        return;
    }
    if (!(s < 1)) {
        *lo = 1;
        *hi = 1;
        return;
    }
    double ls = log(s), se = sqrt(gw);
    *lo = pow(s, exp(-z * se / ls));
    *hi = pow(s, exp(z * se / ls));
}

ri_err ri_km_sorted_quantiles(const double *x, const uint8_t *ev, size_t n,
                              struct ri_interval *median, struct ri_interval *p90)
{
    struct km_target tg[2];
    double s = 1, gw = 0;
    const double p[2] = {0.5, 0.9};
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || x[i] < 0 || ev[i] > 1 || (i && x[i] < x[i - 1])) {
            struct ri_km km;
            ri_err rc = ri_km_fit(x, ev, n, &km);
            if (rc)
                return rc;
            *median = ri_km_quantile(&km, 0.5);
            *p90 = ri_km_quantile(&km, 0.9);
            ri_km_release(&km);
            return RI_OK;
        }
    for (int k = 0; k < 2; k++) {
        double target = 1 - p[k];
        tg[k].below = target + 1e-12 * fmax(target, DBL_MIN);
        tg[k].q.est = tg[k].q.lo = tg[k].q.hi = RI_NAN;
    }
    for (size_t i = 0, j; i < n; i = j) {
        uint64_t d = 0;
        for (j = i; j < n && !(x[j] > x[i]); j++)
            d += ev[j];
        if (!d)
            continue;
        {
            uint64_t r = (uint64_t)(n - i);
            double lo, hi;
            s *= 1 - (double)d / (double)r;
            if (d < r)
                gw += (double)d / ((double)r * (double)(r - d));
            else
                gw = HUGE_VAL;
            km_band(s, gw, &lo, &hi);
            for (int k = 0; k < 2; k++) {
                struct ri_interval *q = &tg[k].q;
                if (isnan(q->est) && s <= tg[k].below)
                    q->est = x[i];
                if (isnan(q->lo) && lo <= tg[k].below)
                    q->lo = x[i];
                if (isnan(q->hi) && hi <= tg[k].below)
                    q->hi = x[i];
            }
        }
    }
    *median = tg[0].q;
    *p90 = tg[1].q;
    return RI_OK;
}

/* Fills one row from times x[0..n), sorted ascending, with event flags ev: KM median and
 * P90 with their intervals, and the plain statistics of the closed ones (scratch: n
 * doubles). */
static ri_err cycle_row(int32_t key, const double *x, const uint8_t *ev, size_t n, double *scratch,
                        struct ri_cycle_row *row)
{
    size_t m = 0;
    const struct ri_interval none = {(double)NAN, (double)NAN, (double)NAN};
    row->key = key;
    row->n = n;
    for (size_t j = 0; j < n; j++)
        if (ev[j])
            scratch[m++] = x[j];
    row->closed = m;
    row->closed_mean = ri_mean(scratch, m);
    row->closed_median = ri_quantile_sorted(scratch, m, 0.5);
    row->closed_p90 = ri_quantile_sorted(scratch, m, 0.9);
    row->median = row->p90 = none;
    if (n == 0)
        return RI_OK;
    return ri_km_sorted_quantiles(x, ev, n, &row->median, &row->p90);
}

void ri_cycle_report_release(struct ri_cycle_report *r)
{
    if (!r)
        return;
    ri_free(r->by_seg);
    ri_free(r->by_stage);
    memset(r, 0, sizeof(*r));
}

ri_err ri_cycle_compute(struct ri_ctx *ctx, const struct ri_history *h, ri_time as_of,
                        const uint8_t *include, const int32_t *seg, size_t n_seg,
                        const struct ri_asof_state *given, struct ri_cycle_report *out)
{
    struct ri_asof_state st;
    const struct ri_asof_state *sp = &st;
    struct slots sl;
    struct ri_path_buf p = RI_PATH_BUF_INIT;
    struct series all = {NULL, NULL, 0, 0};
    struct series by_stage[RI_FUNNEL_MAX_STAGES];
    struct radix rx = {NULL, NULL, NULL, NULL, NULL};
    int32_t *dseg = NULL;
    size_t *start = NULL;
    double *gx = NULL, *scratch = NULL;
    uint8_t *gev = NULL;
    size_t n = ri_history_n_deals(h), most;
    ri_err rc;

    memset(out, 0, sizeof(*out));
    memset(by_stage, 0, sizeof(by_stage));
    memset(&st, 0, sizeof(st));
    memset(&sl, 0, sizeof(sl));
    if (as_of == RI_TIME_NONE)
        return ri_fail(ctx, RI_ERR_INVALID, "cycle: no as-of date");
    if (!seg)
        n_seg = 0;
    rc = slots_init(ctx, &sl, h);
    if (rc)
        goto out;
    rc = state_at(ctx, h, as_of, given, &st, &sp);
    if (rc)
        goto out;
    dseg = ri_cc_alloc((n + 1) * sizeof(*dseg));
    start = ri_try_alloc((n_seg + 2) * sizeof(*start));
    out->by_seg = n_seg ? ri_try_alloc(n_seg * sizeof(*out->by_seg)) : NULL;
    out->by_stage = ri_try_alloc((sl.n + 1) * sizeof(*out->by_stage));
    if (!dseg || !start || (n_seg && !out->by_seg) || !out->by_stage)
        goto nomem;
    out->as_of = as_of;
    out->n_seg = n_seg;
    out->n_stage = sl.n;
    /* at most one time per deal in each series: sized once (only what is filled is
     * ever touched) */
    rc = series_reserve(&all, n + 1);
    for (size_t k = 0; !rc && k < sl.n; k++)
        rc = series_reserve(&by_stage[k], n + 1);
    if (rc)
        goto nomem;

    /* one pass: a time per deal, and a time per stage it entered */
    for (size_t i = 0; i < n; i++) {
        ri_time created = ri_history_created(h, i), end;
        uint8_t closed;
        bool first[RI_FUNNEL_MAX_STAGES] = {false};
        if ((include && !include[i]) || !sp->exists[i] || created == RI_TIME_NONE ||
            created > as_of)
            continue;
        closed = sp->status[i] == RI_STATUS_WON || sp->status[i] == RI_STATUS_LOST;
        end = closed ? sp->close_date[i] : as_of;
        if (end == RI_TIME_NONE || end < created)
            continue; /* no close date, or one before creation: no usable time */
        rc = series_push(&all, days(end - created), closed);
        if (rc)
            goto nomem;
        dseg[all.n - 1] = seg && seg[i] >= 0 && (size_t)seg[i] < n_seg ? seg[i] : -1;
        rc = ri_history_path_get(h, i, as_of, &p);
        if (rc)
            goto nomem;
        for (size_t j = 0; j < p.n; j++) {
            int32_t s = slot(&sl, p.v[j].stage);
            ri_time in = p.v[j].entered;
            if (s < 0 || first[s])
                continue;
            first[s] = true; /* the first entry counts */
            if (in == RI_TIME_NONE || in > end)
                continue;
            rc = series_push(&by_stage[s], days(end - in), closed);
            if (rc)
                goto nomem;
        }
    }

    most = all.n;
    for (size_t s = 0; s < sl.n; s++)
        most = by_stage[s].n > most ? by_stage[s].n : most;
    scratch = ri_cc_alloc((most + 1) * sizeof(*scratch));
    gx = ri_cc_alloc((all.n + 1) * sizeof(*gx));
    gev = ri_cc_alloc((all.n + 1) * sizeof(*gev));
    rx.key = ri_cc_alloc((most + 1) * sizeof(*rx.key));
    rx.tkey = ri_cc_alloc((most + 1) * sizeof(*rx.tkey));
    rx.pay = ri_cc_alloc((all.n + 1) * sizeof(*rx.pay));
    rx.tpay = ri_cc_alloc((all.n + 1) * sizeof(*rx.tpay));
    rx.cnt = ri_try_alloc(65536 * sizeof(*rx.cnt));
    if (!scratch || !gx || !gev || !rx.key || !rx.tkey || !rx.pay || !rx.tpay || !rx.cnt)
        goto nomem;
    sort_series(&rx, &all, dseg);
    rc = cycle_row(-1, all.x, all.ev, all.n, scratch, &out->all);
    for (size_t s = 0; !rc && s < sl.n; s++) {
        sort_series(&rx, &by_stage[s], NULL);
        rc = cycle_row(sl.stage_of[s], by_stage[s].x, by_stage[s].ev, by_stage[s].n, scratch,
                       &out->by_stage[s]);
    }
    if (rc)
        goto kmfail;

    /* segments: a stable counting sort by segment value keeps each group sorted by time */
    memset(start, 0, (n_seg + 2) * sizeof(*start));
    for (size_t j = 0; j < all.n; j++)
        if (dseg[j] >= 0)
            start[(size_t)dseg[j] + 1]++;
    for (size_t g = 0; g < n_seg; g++)
        start[g + 1] += start[g];
    for (size_t j = 0; j < all.n; j++) {
        if (dseg[j] < 0)
            continue;
        gx[start[dseg[j]]] = all.x[j];
        gev[start[dseg[j]]++] = all.ev[j];
    }
    for (size_t g = n_seg; g > 0; g--)
        start[g] = start[g - 1];
    start[0] = 0;
    for (size_t g = 0; !rc && g < n_seg; g++)
        rc = cycle_row((int32_t)g, gx + start[g], gev + start[g], start[g + 1] - start[g], scratch,
                       &out->by_seg[g]);
    if (rc)
        goto kmfail;
    goto out;

kmfail:
    rc = ri_fail(ctx, rc, "cycle: survival fit failed: %s", ri_strerror(rc));
    goto out;
nomem:
    rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory computing sales cycles of %zu deals", n);
out:
    for (size_t s = 0; s < RI_FUNNEL_MAX_STAGES; s++)
        series_release(&by_stage[s]);
    series_release(&all);
    ri_cc_free(rx.key);
    ri_cc_free(rx.tkey);
    ri_cc_free(rx.pay);
    ri_cc_free(rx.tpay);
    ri_free(rx.cnt);
    ri_cc_free(dseg);
    ri_free(start);
    ri_cc_free(gx);
    ri_cc_free(gev);
    ri_cc_free(scratch);
    ri_path_buf_release(&p);
    ri_asof_state_release(&st);
    ri_free(sl.slot_of);
    if (rc)
        ri_cycle_report_release(out);
    return rc;
}
