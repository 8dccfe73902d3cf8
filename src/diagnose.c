/*
 * diagnose.c - why the win rate moves (DESIGN §3), computed over the deal frame.
 *
 * The cohort of a period is the deals closed in it (by close date); win rate = won /
 * (won + lost) with a 95 % Wilson interval. Everything is computed from lists of deal
 * indices: a period's deals, a segment's deals, sorted once by code so that each cell is
 * a contiguous slice, which keeps a million deals within a second.
 *
 * The change of the win rate between two periods P0 and P1 is split exactly, per
 * dimension, as sum over segments s of mix (m1 - m0) r0 + rate m0 (r1 - r0) +
 * interaction (m1 - m0)(r1 - r0), where m is the segment's share of closed deals and r
 * its win rate; the three add up to r(P1) - r(P0) to rounding. A segment absent from a
 * period takes the other period's rate there (its whole contribution is then mix), which
 * keeps the identity exact without inventing a rate. Each segment's rate change is
 * tested (two proportions) and the p-values of all segments of all dimensions are
 * adjusted together (Benjamini-Hochberg); a segment with fewer than min_n closed deals
 * in either period is shown but never ranked nor called significant.
 *
 * Speed (a million deals in under a second on two cores): the loads come from the
 * column cache and run in parallel; the funnel, zombies and cycles, and the concentration
 * run on threads of their own; cell quantiles are read off runs sorted once (struct
 * orders), and periods of dates off a table of days. docs/internals/diagnose.md.
 */
#include "diagnose.h"
#include "frame.h"
#include "store.h"

#include <pthread.h>

#include <math.h>
#include <string.h>
#include <time.h>

#define Z95 1.959963984540054

/* ------------------------------------------------------------------ periods */

static void civil(ri_time t, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t days = t >= 0 ? t / RI_DAY : -((-t + RI_DAY - 1) / RI_DAY);
    ri_civil_from_days(days, y, m, d);
}

int32_t ri_period_key(ri_time t, int quarterly)
{
    int64_t y;
    unsigned m, d;
    civil(t, &y, &m, &d);
    return quarterly ? (int32_t)(y * 4 + (m - 1) / 3) : (int32_t)(y * 12 + (m - 1));
}

void ri_period_bounds(int32_t key, int quarterly, ri_time *start, ri_time *end, char *label,
                      size_t size)
{
    int64_t y = quarterly ? key / 4 : key / 12;
    unsigned m = quarterly ? (unsigned)(key % 4) * 3 + 1 : (unsigned)(key % 12) + 1;
    unsigned mn = quarterly ? m + 3 : m + 1;
    int64_t yn = y;
    if (mn > 12) {
        mn -= 12;
        yn++;
    }
    *start = ri_days_from_civil(y, m, 1) * RI_DAY;
    *end = ri_days_from_civil(yn, mn, 1) * RI_DAY;
    if (quarterly)
        snprintf(label, size, "%lld-Q%u", (long long)y, (m - 1) / 3 + 1);
    else
        snprintf(label, size, "%lld-%02u", (long long)y, m);
}

/* ------------------------------------------------------------------ cells */

struct scratch {
    double *a, *b;
};

static double days_between(ri_time a, ri_time b)
{
    return (double)(b - a) / (double)RI_DAY;
}

/* The k-th smallest of x[0..n) (0-based), moving x around: quickselect with a median-of-
 * three pivot, linear on average where a full sort per cell cost most of a diagnosis. */
static double select_kth(double *x, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
        double a = x[lo], b = x[mid], c = x[hi];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        while (i <= j) {
            while (x[i] < pivot)
                i++;
            while (x[j] > pivot)
                j--;
            if (i <= j) {
                double t = x[i];
                x[i] = x[j];
                x[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return x[k];
    }
    return x[k];
}

/* Quantile q of x[0..n) as ri_quantile (linear interpolation between order statistics,
 * R's type 7), by selection instead of sorting; moves x around. */
double ri_fast_quantile(double *x, size_t n, double q)
{
    double h, lo_v, hi_v = 0;
    size_t lo;
    if (!n)
        return RI_NAN;
    h = (double)(n - 1) * q;
    lo = (size_t)h;
    lo_v = select_kth(x, n, lo);
    if (lo + 1 >= n || h - (double)lo <= 0)
        return lo_v;
    /* the next order statistic is the smallest of what lies above position lo */
    hi_v = x[lo + 1];
    for (size_t i = lo + 2; i < n; i++)
        if (x[i] < hi_v)
            hi_v = x[i];
    return lo_v + (h - (double)lo) * (hi_v - lo_v);
}

/* Counts and sums of the win-rate cell of the closed deals idx[0..n), in idx order (the
 * order fixes the rounding of the sums); the quantiles are left to the caller. With sc,
 * the won amounts go to sc->a and the cycle lengths to sc->b. */
static void cell_sums(const struct ri_diagnosis *d, const uint32_t *idx, size_t n,
                      struct scratch *sc, struct ri_wr_cell *c, size_t *na_out, size_t *nc_out)
{
    const struct ri_frame *f = &d->frame;
    size_t na = 0, nc = 0;
    double cyc_sum = 0;
    memset(c, 0, sizeof(*c));
    for (size_t k = 0; k < n; k++) {
        uint32_t i = idx[k];
        int won = f->status[i] == RI_STATUS_WON;
        if (won) {
            c->won++;
            if (!isnan(f->amount[i])) {
                c->won_amount += f->amount[i];
                if (sc)
                    sc->a[na] = f->amount[i];
                na++;
            }
        } else {
            c->lost++;
        }
        if (f->created[i] != RI_TIME_NONE && f->close[i] != RI_TIME_NONE) {
            double cd = days_between(f->created[i], f->close[i]);
            if (sc)
                sc->b[nc] = cd;
            nc++;
            cyc_sum += cd;
        }
        if (d->reached_late && d->reached_late[i]) {
            c->late_closed++;
            c->late_won += (uint64_t)won;
        }
    }
    c->rate = ri_wilson(c->won, c->won + c->lost, Z95);
    c->quality = ri_wilson(c->late_won, c->late_closed, Z95);
    c->acv_mean = na ? c->won_amount / (double)na : RI_NAN;
    c->cycle_mean = nc ? cyc_sum / (double)nc : RI_NAN;
    c->efficiency = cyc_sum > 0 ? c->won_amount / cyc_sum : RI_NAN;
    c->small = c->won + c->lost < d->min_n;
    *na_out = na;
    *nc_out = nc;
}

/* Sorts idx[0..n) by the deals' codes code[i] in 0..nv-1 (stable counting sort); start[v]
 * .. start[v + 1] is the slice of value v. Deals without a value (code -1) go last (not in
 * a slice). start must hold nv + 2 entries; tmp n entries. */
static void group_codes(const int32_t *code, size_t nv, uint32_t *idx, size_t n, uint32_t *tmp,
                        size_t *start)
{
    memset(start, 0, (nv + 2) * sizeof(*start));
    for (size_t k = 0; k < n; k++) {
        int32_t c = code[idx[k]];
        start[(c >= 0 ? (size_t)c : nv) + 1]++;
    }
    for (size_t v = 0; v < nv + 1; v++)
        start[v + 1] += start[v];
    {
        size_t *pos = ri_malloc((nv + 1) * sizeof(*pos));
        memcpy(pos, start, (nv + 1) * sizeof(*pos));
        for (size_t k = 0; k < n; k++) {
            int32_t c = code[idx[k]];
            tmp[pos[c >= 0 ? (size_t)c : nv]++] = idx[k];
        }
        ri_free(pos);
    }
    memcpy(idx, tmp, n * sizeof(*idx));
}

/* ------------------------------------------------------------------ cells by segment */

/*
 * A cell's medians and P90 come from sorted runs instead of a selection per cell: the
 * closed deals are sorted once by won amount and once by cycle length (radix sort), and
 * a stable counting sort by segment keeps each segment's run sorted, so that a cell's
 * quantile is read at two positions. It is the same order statistics as the selection
 * of cell_stats, by the same formula: the very same doubles.
 */
struct orders {
    uint32_t *amt; /* won deals with an amount, by amount */
    uint32_t *cyc; /* deals with both dates, by cycle length */
    size_t n_amt, n_cyc;
};

/* An unsigned key in the order of the double (never NAN here). */
static uint64_t order_key(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof(b));
    return b >> 63 ? ~b : b | (UINT64_C(1) << 63);
}

/* Sorts pay[0..n) by key, stably (LSD radix, 16 bits a pass; a pass whose digit is the
 * same for every key is skipped). tkey, tpay: n entries of scratch. */
static void radix_pairs(uint64_t *key, uint32_t *pay, size_t n, uint64_t *tkey, uint32_t *tpay)
{
    size_t *cnt = ri_malloc(65536 * sizeof(*cnt));
    uint64_t *k = key, *tk = tkey;
    uint32_t *p = pay, *tp = tpay;
    for (unsigned shift = 0; shift < 64; shift += 16) {
        size_t sum = 0;
        bool trivial = false;
        memset(cnt, 0, 65536 * sizeof(*cnt));
        for (size_t j = 0; j < n; j++)
            cnt[(k[j] >> shift) & 0xffff]++;
        for (size_t v = 0; v < 65536; v++) {
            size_t c = cnt[v];
            trivial = trivial || c == n;
            cnt[v] = sum;
            sum += c;
        }
        if (trivial)
            continue;
        for (size_t j = 0; j < n; j++) {
            size_t at = cnt[(k[j] >> shift) & 0xffff]++;
            tk[at] = k[j];
            tp[at] = p[j];
        }
        k = tk;
        tk = k == key ? tkey : key;
        p = tp;
        tp = p == pay ? tpay : pay;
    }
    if (p != pay)
        memcpy(pay, p, n * sizeof(*p));
    ri_free(cnt);
}

static bool has_amount(const struct ri_frame *f, uint32_t i)
{
    return f->status[i] == RI_STATUS_WON && !isnan(f->amount[i]);
}

static bool has_cycle(const struct ri_frame *f, uint32_t i)
{
    return f->created[i] != RI_TIME_NONE && f->close[i] != RI_TIME_NONE;
}

static double cycle_of(const struct ri_frame *f, uint32_t i)
{
    return days_between(f->created[i], f->close[i]);
}

/* The orders of the closed deals list[0..n). */
static void orders_build(const struct ri_frame *f, const uint32_t *list, size_t n, struct orders *o)
{
    uint64_t *key = ri_cc_xalloc((n + 1) * sizeof(*key));
    uint64_t *tkey = ri_cc_xalloc((n + 1) * sizeof(*tkey));
    uint32_t *tpay = ri_cc_xalloc((n + 1) * sizeof(*tpay));
    o->amt = ri_cc_xalloc((n + 1) * sizeof(*o->amt));
    o->cyc = ri_cc_xalloc((n + 1) * sizeof(*o->cyc));
    o->n_amt = o->n_cyc = 0;
    for (size_t k = 0; k < n; k++)
        if (has_amount(f, list[k])) {
            key[o->n_amt] = order_key(f->amount[list[k]]);
            o->amt[o->n_amt++] = list[k];
        }
    radix_pairs(key, o->amt, o->n_amt, tkey, tpay);
    for (size_t k = 0; k < n; k++)
        if (has_cycle(f, list[k])) {
            key[o->n_cyc] = order_key(cycle_of(f, list[k]));
            o->cyc[o->n_cyc++] = list[k];
        }
    radix_pairs(key, o->cyc, o->n_cyc, tkey, tpay);
    ri_cc_free(key);
    ri_cc_free(tkey);
    ri_cc_free(tpay);
}

static void orders_release(struct orders *o)
{
    ri_cc_free(o->amt);
    ri_cc_free(o->cyc);
    memset(o, 0, sizeof(*o));
}

/* Quantile q of the n values of the sorted run ord (amounts, or cycle lengths when
 * cycle): ri_fast_quantile's formula on the same order statistics. */
static double run_quantile(const struct ri_frame *f, const uint32_t *ord, size_t n, double q,
                           bool cycle)
{
    double h, lo_v, hi_v;
    size_t lo;
    if (!n)
        return RI_NAN;
    h = (double)(n - 1) * q;
    lo = (size_t)h;
    lo_v = cycle ? cycle_of(f, ord[lo]) : f->amount[ord[lo]];
    if (lo + 1 >= n || h - (double)lo <= 0)
        return lo_v;
    hi_v = cycle ? cycle_of(f, ord[lo + 1]) : f->amount[ord[lo + 1]];
    return lo_v + (h - (double)lo) * (hi_v - lo_v);
}

/* Scratch for cells_by, for lists of up to n deals. */
struct cells_ws {
    uint32_t *idx, *amt, *cyc, *tmp;
};

static void cells_ws_init(struct cells_ws *w, size_t n)
{
    w->idx = ri_cc_xalloc((n + 1) * sizeof(*w->idx));
    w->amt = ri_cc_xalloc((n + 1) * sizeof(*w->amt));
    w->cyc = ri_cc_xalloc((n + 1) * sizeof(*w->cyc));
    w->tmp = ri_cc_xalloc((n + 1) * sizeof(*w->tmp));
}

static void cells_ws_release(struct cells_ws *w)
{
    ri_cc_free(w->idx);
    ri_cc_free(w->amt);
    ri_cc_free(w->cyc);
    ri_cc_free(w->tmp);
}

/* The cell of the closed deals idx[0..n) whose won amounts, sorted, are the deals
 * amt[0..na) and whose cycle lengths, sorted, those of cyc[0..nc). */
static void cell_ordered(const struct ri_diagnosis *d, const uint32_t *idx, size_t n,
                         const uint32_t *amt, size_t na, const uint32_t *cyc, size_t nc,
                         struct ri_wr_cell *c)
{
    size_t ka, kc;
    cell_sums(d, idx, n, NULL, c, &ka, &kc);
    if (ka != na || kc != nc)
        RI_BUG("cell of %zu deals: %zu amounts and %zu cycles, runs of %zu and %zu", n, ka, kc, na,
               nc);
    c->acv_median = run_quantile(&d->frame, amt, na, 0.5, false);
    c->cycle_median = run_quantile(&d->frame, cyc, nc, 0.5, true);
    c->cycle_p90 = run_quantile(&d->frame, cyc, nc, 0.9, true);
}

/* The cells of the closed deals list[0..n) (ascending, with its orders o) by their codes
 * code[i] in 0..nv-1: cells[v] for each value v, as cell_stats would give them. */
static void cells_by(const struct ri_diagnosis *d, const int32_t *code, size_t nv,
                     const uint32_t *list, size_t n, const struct orders *o, struct cells_ws *w,
                     struct ri_wr_cell *cells)
{
    size_t *s = ri_malloc((nv + 2) * sizeof(*s)), *sa = ri_malloc((nv + 2) * sizeof(*sa));
    size_t *sc = ri_malloc((nv + 2) * sizeof(*sc));
    memcpy(w->idx, list, n * sizeof(*list));
    memcpy(w->amt, o->amt, o->n_amt * sizeof(*o->amt));
    memcpy(w->cyc, o->cyc, o->n_cyc * sizeof(*o->cyc));
    group_codes(code, nv, w->idx, n, w->tmp, s);
    group_codes(code, nv, w->amt, o->n_amt, w->tmp, sa);
    group_codes(code, nv, w->cyc, o->n_cyc, w->tmp, sc);
    for (size_t v = 0; v < nv; v++)
        cell_ordered(d, w->idx + s[v], s[v + 1] - s[v], w->amt + sa[v], sa[v + 1] - sa[v],
                     w->cyc + sc[v], sc[v + 1] - sc[v], &cells[v]);
    ri_free(s);
    ri_free(sa);
    ri_free(sc);
}

/* ------------------------------------------------------------------ decomposition */

void ri_decompose(struct ri_decomp_row *rows, size_t n, double *mix, double *rate, double *inter)
{
    uint64_t n0 = 0, n1 = 0;
    *mix = *rate = *inter = 0;
    for (size_t k = 0; k < n; k++) {
        n0 += rows[k].n0;
        n1 += rows[k].n1;
    }
    for (size_t k = 0; k < n; k++) {
        struct ri_decomp_row *r = &rows[k];
        r->m0 = n0 ? (double)r->n0 / (double)n0 : 0;
        r->m1 = n1 ? (double)r->n1 / (double)n1 : 0;
        r->r0 = r->n0 ? (double)r->w0 / (double)r->n0 : RI_NAN;
        r->r1 = r->n1 ? (double)r->w1 / (double)r->n1 : RI_NAN;
        {
            /* an absent side takes the other side's rate: its part is pure mix */
            double r0 = isnan(r->r0) ? (isnan(r->r1) ? 0 : r->r1) : r->r0;
            double r1 = isnan(r->r1) ? r0 : r->r1;
            r->mix = (r->m1 - r->m0) * r0;
            r->rate = r->m0 * (r1 - r0);
            r->interaction = (r->m1 - r->m0) * (r1 - r0);
        }
        r->total = r->mix + r->rate + r->interaction;
        *mix += r->mix;
        *rate += r->rate;
        *inter += r->interaction;
    }
}

static int cmp_rows(const void *a, const void *b)
{
    const struct ri_decomp_row *x = a, *y = b;
    if (x->small != y->small)
        return x->small - y->small;
    if (x->total < y->total)
        return -1;
    if (x->total > y->total)
        return 1;
    return strcmp(x->label, y->label);
}

/* Decomposition of dimension a (and b >= 0: the pair a x b) between periods p0 and p1. */
static void decompose_dim(struct ri_diagnosis *d, int a, int b, struct ri_decomp_dim *out)
{
    const struct ri_frame *f = &d->frame;
    const struct ri_dim *da = &f->dims[a], *db = b >= 0 ? &f->dims[b] : NULL;
    size_t nb = db ? db->values.n : 1, nv = da->values.n * nb;
    const struct ri_period_row *P0 = &d->periods[d->p0], *P1 = &d->periods[d->p1];
    struct ri_decomp_row *rows = ri_calloc(nv + 1, sizeof(*rows));
    size_t m = 0;

    memset(out, 0, sizeof(*out));
    out->dim = a;
    out->dim_b = b;
    if (db)
        snprintf(out->name, sizeof(out->name), "%s x %s", da->name, db->name);
    else
        snprintf(out->name, sizeof(out->name), "%s", da->name);
    for (size_t i = 0; i < f->n; i++) {
        int in0, in1, won;
        int32_t ca, cb = 0;
        size_t v;
        if (!d->include[i] || f->status[i] == RI_STATUS_OPEN || f->close[i] == RI_TIME_NONE)
            continue;
        in0 = f->close[i] >= P0->start && f->close[i] < P0->end;
        in1 = f->close[i] >= P1->start && f->close[i] < P1->end;
        if (!in0 && !in1)
            continue;
        ca = da->code[i];
        if (db)
            cb = db->code[i];
        v = ca < 0 || cb < 0 ? nv : (size_t)ca * nb + (size_t)cb; /* no value: its own row */
        won = f->status[i] == RI_STATUS_WON;
        if (in0) {
            rows[v].n0++;
            rows[v].w0 += (uint64_t)won;
        } else {
            rows[v].n1++;
            rows[v].w1 += (uint64_t)won;
        }
    }
    /* keep occupied rows, label them */
    for (size_t v = 0; v <= nv; v++) {
        struct ri_decomp_row *r = &rows[v];
        if (!r->n0 && !r->n1)
            continue;
        r->dim = a;
        r->value = v == nv ? -1 : (int32_t)v;
        if (v == nv)
            snprintf(r->label, sizeof(r->label), "%s=(none)", out->name);
        else if (db)
            snprintf(r->label, sizeof(r->label), "%s=%s & %s=%s", da->name,
                     ri_intern_str(&da->values, (int32_t)(v / nb)), db->name,
                     ri_intern_str(&db->values, (int32_t)(v % nb)));
        else
            snprintf(r->label, sizeof(r->label), "%s=%s", da->name,
                     ri_intern_str(&da->values, (int32_t)v));
        r->small = r->n0 < d->min_n || r->n1 < d->min_n;
        r->p = ri_two_prop_test(r->w0, r->n0, r->w1, r->n1, NULL);
        rows[m++] = *r;
    }
    ri_decompose(rows, m, &out->mix, &out->rate, &out->interaction);
    out->total = out->mix + out->rate + out->interaction;
    out->n_rows = m;
    out->rows = rows;
}

/* Benjamini-Hochberg over the rows (not small) of decomp[first .. last). */
static void adjust_family(struct ri_diagnosis *d, size_t first, size_t last)
{
    size_t n = 0, k = 0;
    double *p, *q;
    for (size_t j = first; j < last; j++)
        for (size_t r = 0; r < d->decomp[j].n_rows; r++)
            n += !d->decomp[j].rows[r].small;
    p = ri_malloc((n + 1) * sizeof(*p));
    q = ri_malloc((n + 1) * sizeof(*q));
    for (size_t j = first; j < last; j++)
        for (size_t r = 0; r < d->decomp[j].n_rows; r++)
            if (!d->decomp[j].rows[r].small)
                p[k++] = d->decomp[j].rows[r].p;
    ri_bh_adjust(p, n, q);
    k = 0;
    for (size_t j = first; j < last; j++) {
        for (size_t r = 0; r < d->decomp[j].n_rows; r++) {
            struct ri_decomp_row *row = &d->decomp[j].rows[r];
            row->q = row->small ? RI_NAN : q[k++];
            row->significant = !row->small && row->q < 0.05;
        }
        qsort(d->decomp[j].rows, d->decomp[j].n_rows, sizeof(*d->decomp[j].rows), cmp_rows);
    }
    ri_free(p);
    ri_free(q);
}

/* The strongest significant rate change of a dimension (most negative when the total
 * fell, most positive when it rose); 0 if none. */
static double strongest(const struct ri_decomp_dim *dd, double dir)
{
    double best = 0;
    for (size_t r = 0; r < dd->n_rows; r++) {
        const struct ri_decomp_row *row = &dd->rows[r];
        if (row->significant && row->rate * dir > best * dir)
            best = row->rate;
    }
    return best;
}

#define MAX_DRILL 3 /* dimensions drilled down in pairs: at most 3 pairs */

static void run_decomposition(struct ri_diagnosis *d, const int *dims, size_t n_dims)
{
    double dir;
    int top[MAX_DRILL];
    double topv[MAX_DRILL];
    size_t singles, ntop = 0;
    if (d->p0 < 0 || d->p1 < 0)
        return;
    dir = d->periods[d->p1].cell.rate.est < d->periods[d->p0].cell.rate.est ? -1.0 : 1.0;
    for (size_t k = 0; k < n_dims && d->n_decomp < RI_DIAG_MAX_DIMS; k++)
        decompose_dim(d, dims[k], -1, &d->decomp[d->n_decomp++]);
    singles = d->n_decomp;
    adjust_family(d, 0, singles);
    /* the dimensions with a significant driver, strongest first, are drilled down in
     * pairs: an interaction such as industry x lead source shows only there */
    for (size_t j = 0; j < singles; j++) {
        double v = strongest(&d->decomp[j], dir) * dir;
        size_t at;
        if (v <= 0)
            continue;
        for (at = ntop; at > 0 && topv[at - 1] < v; at--)
            if (at < MAX_DRILL) {
                top[at] = top[at - 1];
                topv[at] = topv[at - 1];
            }
        if (at < MAX_DRILL) {
            top[at] = (int)j;
            topv[at] = v;
            if (ntop < MAX_DRILL)
                ntop++;
        }
    }
    d->headline_dim = ntop ? top[0] : -1;
    for (size_t a = 0; a < ntop; a++)
        for (size_t b = a + 1; b < ntop && d->n_decomp < RI_DIAG_MAX_DIMS + RI_DIAG_MAX_PAIRS; b++)
            decompose_dim(d, d->decomp[top[a]].dim, d->decomp[top[b]].dim,
                          &d->decomp[d->n_decomp++]);
    if (d->n_decomp > singles)
        adjust_family(d, singles, d->n_decomp);
}

/* ------------------------------------------------------------------ reps */

/*
 * Expected wins of each rep, exp_sum[o] and their variance var_sum[o]: each closed deal's
 * expected win rate is that of the other reps' deals in the same segment cell (the
 * non-owner dimensions levels[0..nl), coarsened from the right until a cell holds 20
 * such deals). Counts per cell at each coarsening level (level l uses the first nl - l
 * dimensions) are packed as won << 32 | n, overall and per (cell, owner). They live in
 * flat arrays indexed by the codes when the cells are few (as they are with a handful of
 * values per dimension), else in hash maps keyed by the codes: the same counts.
 */
#define MAX_DENSE_CELLS ((size_t)1 << 22)

static void reps_expected_map(const struct ri_diagnosis *d, const uint32_t *closed, size_t nclosed,
                              const int *levels, int nl, double *exp_sum, double *var_sum)
{
    const struct ri_frame *f = &d->frame;
    const struct ri_dim *od = &f->dims[ri_frame_dim(f, "owner")];
    struct ri_strmap cells[4], own[4];
    for (int l = 0; l < 4; l++) {
        ri_strmap_init(&cells[l]);
        ri_strmap_init(&own[l]);
    }
    for (size_t k = 0; k < nclosed; k++) {
        uint32_t i = closed[k];
        int64_t won = f->status[i] == RI_STATUS_WON;
        for (int l = 0; l <= nl; l++) {
            int32_t key[5];
            int m = 0;
            for (int j = 0; j < nl - l; j++)
                key[m++] = f->dims[levels[j]].code[i];
            ri_strmap_put(&cells[l], (const char *)key, (size_t)m * 4, 0, NULL)->value +=
                (won << 32) | 1;
            key[m++] = od->code[i];
            ri_strmap_put(&own[l], (const char *)key, (size_t)m * 4, 0, NULL)->value +=
                (won << 32) | 1;
        }
    }
    for (size_t k = 0; k < nclosed; k++) {
        uint32_t i = closed[k];
        int32_t o = od->code[i];
        double p = RI_NAN;
        if (o < 0)
            continue;
        for (int l = 0; l <= nl && isnan(p); l++) {
            int32_t key[5];
            int m = 0;
            int64_t all, mine, n;
            for (int j = 0; j < nl - l; j++)
                key[m++] = f->dims[levels[j]].code[i];
            all = *ri_strmap_get(&cells[l], (const char *)key, (size_t)m * 4);
            key[m++] = o;
            mine = *ri_strmap_get(&own[l], (const char *)key, (size_t)m * 4);
            n = (all & 0xffffffff) - (mine & 0xffffffff);
            if (n >= 20 || l == nl)
                p = n > 0 ? (double)((all >> 32) - (mine >> 32)) / (double)n : RI_NAN;
        }
        if (!isnan(p)) {
            exp_sum[o] += p;
            var_sum[o] += p * (1 - p);
        }
    }
    for (int l = 0; l < 4; l++) {
        ri_strmap_release(&cells[l]);
        ri_strmap_release(&own[l]);
    }
}

/* The cell of deal i at each level l (the first nl - l dimensions) in the flat arrays:
 * the sum of (code_j + 1) * mult_j. */
static void dense_cells(const struct ri_frame *f, uint32_t i, const int *levels, int nl,
                        const size_t *mult, size_t *at)
{
    size_t acc = 0;
    at[nl] = 0;
    for (int j = 0; j < nl; j++) {
        acc += (size_t)(f->dims[levels[j]].code[i] + 1) * mult[j];
        at[nl - j - 1] = acc;
    }
}

/* The same with flat arrays; false (nothing done) when the cells would be too many. */
static bool reps_expected_dense(const struct ri_diagnosis *d, const uint32_t *closed,
                                size_t nclosed, const int *levels, int nl, double *exp_sum,
                                double *var_sum)
{
    const struct ri_frame *f = &d->frame;
    const struct ri_dim *od = &f->dims[ri_frame_dim(f, "owner")];
    size_t mult[4], size[4], no = od->values.n + 1;
    int64_t *cells[4] = {NULL, NULL, NULL, NULL}, *own[4] = {NULL, NULL, NULL, NULL};
    mult[0] = 1;
    for (int j = 0; j < nl; j++) {
        size_t r = f->dims[levels[j]].values.n + 1;
        if (mult[j] > MAX_DENSE_CELLS / r / no)
            return false;
        mult[j + 1] = mult[j] * r;
    }
    for (int l = 0; l <= nl; l++) {
        size[l] = mult[nl - l];
        cells[l] = ri_calloc(size[l], sizeof(int64_t));
        own[l] = ri_calloc(size[l] * no, sizeof(int64_t));
    }
    for (size_t k = 0; k < nclosed; k++) {
        uint32_t i = closed[k];
        int64_t add = (int64_t)(f->status[i] == RI_STATUS_WON) << 32 | 1;
        size_t at[4], o = (size_t)(od->code[i] + 1);
        dense_cells(f, i, levels, nl, mult, at);
        for (int l = 0; l <= nl; l++) {
            cells[l][at[l]] += add;
            own[l][at[l] * no + o] += add;
        }
    }
    for (size_t k = 0; k < nclosed; k++) {
        uint32_t i = closed[k];
        int32_t o = od->code[i];
        size_t at[4];
        double p = RI_NAN;
        if (o < 0)
            continue;
        dense_cells(f, i, levels, nl, mult, at);
        for (int l = 0; l <= nl && isnan(p); l++) {
            int64_t all = cells[l][at[l]], mine = own[l][at[l] * no + (size_t)(o + 1)];
            int64_t n = (all & 0xffffffff) - (mine & 0xffffffff);
            if (n >= 20 || l == nl)
                p = n > 0 ? (double)((all >> 32) - (mine >> 32)) / (double)n : RI_NAN;
        }
        if (!isnan(p)) {
            exp_sum[o] += p;
            var_sum[o] += p * (1 - p);
        }
    }
    for (int l = 0; l <= nl; l++) {
        ri_free(cells[l]);
        ri_free(own[l]);
    }
    return true;
}

static void run_reps(struct ri_diagnosis *d, const uint32_t *closed, size_t nclosed,
                     const struct orders *o_all, struct cells_ws *w)
{
    const struct ri_frame *f = &d->frame;
    int owner = ri_frame_dim(f, "owner");
    int levels[4] = {-1, -1, -1, -1};
    int nl = 0;
    double *exp_sum, *var_sum;
    struct ri_wr_cell *rc;
    const struct ri_dim *od;
    if (owner < 0 || !nclosed)
        return;
    od = &f->dims[owner];
    for (size_t k = 0; k < f->n_dims && nl < 3; k++) {
        const char *nm = f->dims[k].name;
        if ((int)k != owner && !f->dims[k].custom &&
            (!strcmp(nm, "industry") || !strcmp(nm, "region") || !strcmp(nm, "product") ||
             !strcmp(nm, "lead_source") || !strcmp(nm, "size_band")))
            levels[nl++] = (int)k;
    }
    exp_sum = ri_calloc(od->values.n + 1, sizeof(*exp_sum));
    var_sum = ri_calloc(od->values.n + 1, sizeof(*var_sum));
    if (!reps_expected_dense(d, closed, nclosed, levels, nl, exp_sum, var_sum))
        reps_expected_map(d, closed, nclosed, levels, nl, exp_sum, var_sum);
    /* the reps' own cells */
    rc = ri_calloc(od->values.n + 1, sizeof(*rc));
    cells_by(d, od->code, od->values.n, closed, nclosed, o_all, w, rc);
    d->reps = ri_calloc(od->values.n + 1, sizeof(*d->reps));
    for (size_t v = 0; v < od->values.n; v++) {
        struct ri_rep_row *r = &d->reps[d->n_reps];
        double nn;
        if (!rc[v].won && !rc[v].lost)
            continue;
        r->owner = (int32_t)v;
        snprintf(r->name, sizeof(r->name), "%s", ri_intern_str(&od->values, (int32_t)v));
        r->cell = rc[v];
        nn = (double)(r->cell.won + r->cell.lost);
        r->expected_rate = nn > 0 ? exp_sum[v] / nn : RI_NAN;
        r->z = var_sum[v] > 0 ? ((double)r->cell.won - exp_sum[v]) / sqrt(var_sum[v]) : 0;
        r->p = ri_normal_p2(r->z);
        d->n_reps++;
    }
    ri_free(rc);
    {
        double *p = ri_malloc((d->n_reps + 1) * sizeof(*p)),
               *q = ri_malloc((d->n_reps + 1) * sizeof(*q));
        size_t m = 0;
        for (size_t k = 0; k < d->n_reps; k++)
            if (!d->reps[k].cell.small)
                p[m++] = d->reps[k].p;
        ri_bh_adjust(p, m, q);
        m = 0;
        for (size_t k = 0; k < d->n_reps; k++) {
            struct ri_rep_row *r = &d->reps[k];
            r->q = r->cell.small ? RI_NAN : q[m++];
            r->flagged = !r->cell.small && r->q < 0.05;
        }
        ri_free(p);
        ri_free(q);
    }
    ri_free(exp_sum);
    ri_free(var_sum);
}

/* ------------------------------------------------------------------ concentration */

static void run_concentration(struct ri_diagnosis *d, const uint32_t *closed, size_t nclosed,
                              struct scratch *sc)
{
    const struct ri_frame *f = &d->frame;
    struct ri_concentration *c = &d->conc;
    int prod = ri_frame_dim(f, "product");
    size_t na = f->accounts.n, nw = 0, ncust = 0, repeat = 0, cross = 0;
    double *per = ri_calloc(na + 1, sizeof(*per));
    uint32_t *wins = ri_calloc(na + 1, sizeof(*wins));
    int32_t *first_prod = ri_malloc((na + 1) * sizeof(*first_prod));
    uint8_t *multi = ri_calloc(na + 1, sizeof(*multi));
    for (size_t a = 0; a < na; a++)
        first_prod[a] = -1;
    for (size_t k = 0; k < nclosed; k++) {
        uint32_t i = closed[k];
        int32_t a = f->account[i];
        if (f->status[i] != RI_STATUS_WON || isnan(f->amount[i]) || f->amount[i] <= 0)
            continue;
        sc->a[nw++] = f->amount[i];
        if (a < 0)
            continue;
        per[a] += f->amount[i];
        wins[a]++;
        if (prod >= 0 && f->dims[prod].code[i] >= 0) {
            if (first_prod[a] < 0)
                first_prod[a] = f->dims[prod].code[i];
            else if (first_prod[a] != f->dims[prod].code[i])
                multi[a] = 1;
        }
    }
    c->won_deals = nw;
    ri_fit_tail(sc->a, nw, &c->fit);
    c->gini_deals = ri_gini(sc->a, nw);
    c->top20_deals_share = ri_top_share(sc->a, nw, 0.2);
    for (size_t a = 0; a < na; a++) {
        if (!wins[a])
            continue;
        sc->b[ncust++] = per[a];
        repeat += wins[a] >= 2;
        cross += multi[a];
    }
    c->customers = ncust;
    c->gini_customers = ri_gini(sc->b, ncust);
    c->top20_customers_share = ri_top_share(sc->b, ncust, 0.2);
    c->repeat_customer_rate = ncust ? (double)repeat / (double)ncust : RI_NAN;
    /* implementation lag: start - close of won deals that have a start date */
    {
        size_t nl = 0;
        for (size_t k = 0; k < nclosed; k++) {
            uint32_t i = closed[k];
            if (f->status[i] == RI_STATUS_WON && f->start[i] != RI_TIME_NONE &&
                f->close[i] != RI_TIME_NONE)
                sc->a[nl++] = days_between(f->close[i], f->start[i]);
        }
        c->lag_n = nl;
        c->lag_median = ri_fast_quantile(sc->a, nl, 0.5);
        c->lag_p90 = ri_fast_quantile(sc->a, nl, 0.9);
    }
    c->cross_product_rate = ncust && prod >= 0 ? (double)cross / (double)ncust : RI_NAN;
    ri_free(per);
    ri_free(wins);
    ri_free(first_prod);
    ri_free(multi);
}

/* ------------------------------------------------------------------ driver */

/* Seconds since the previous call, logged at debug level with the phase's name, and the
 * processor time of this thread in them (the rest of the wall time went to the others). */
static void phase(const char *name)
{
    static struct timespec last, last_cpu;
    struct timespec now, cpu;
    clock_gettime(CLOCK_MONOTONIC, &now);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    if (last.tv_sec && name)
        ri_log(RI_LOG_DEBUG, "diagnose: %s %.3f s (this thread %.3f s)", name,
               (double)(now.tv_sec - last.tv_sec) + (double)(now.tv_nsec - last.tv_nsec) / 1e9,
               (double)(cpu.tv_sec - last_cpu.tv_sec) +
                   (double)(cpu.tv_nsec - last_cpu.tv_nsec) / 1e9);
    last = now;
    last_cpu = cpu;
}

static int parse_filter(struct ri_ctx *ctx, struct ri_diagnosis *d, const char *spec, uint8_t *keep)
{
    const char *eq = strchr(spec, '=');
    char dim[64];
    int k;
    int32_t v;
    if (!eq || eq == spec || (size_t)(eq - spec) >= sizeof(dim))
        return ri_fail(ctx, RI_ERR_INVALID, "segment filter '%s' is not DIM=VALUE", spec);
    snprintf(dim, sizeof(dim), "%.*s", (int)(eq - spec), spec);
    k = ri_frame_dim(&d->frame, dim);
    if (k < 0)
        return ri_fail(ctx, RI_ERR_INVALID, "segment filter '%s': no dimension '%s'", spec, dim);
    v = ri_intern_find(&d->frame.dims[k].values, eq + 1, strlen(eq + 1));
    if (v < 0)
        return ri_fail(ctx, RI_ERR_NOTFOUND, "segment filter '%s': no deal has %s '%s'", spec, dim,
                       eq + 1);
    for (size_t i = 0; i < d->frame.n; i++)
        if (d->frame.dims[k].code[i] != v)
            keep[i] = 0;
    return RI_OK;
}

static void closed_list(const struct ri_diagnosis *d, ri_time from, ri_time to, uint32_t *out,
                        size_t *n)
{
    const struct ri_frame *f = &d->frame;
    *n = 0;
    for (size_t i = 0; i < f->n; i++)
        if (d->include[i] && f->status[i] != RI_STATUS_OPEN && f->close[i] != RI_TIME_NONE &&
            f->close[i] >= from && f->close[i] < to)
            out[(*n)++] = (uint32_t)i;
}

/* Period keys of days from a table over the days the deals span: ri_period_key costs a
 * civil-date conversion, and a million deals ask it about a few hundred days. */
struct day_keys {
    int64_t d0;
    size_t n; /* 0: no table, every key computed */
    int32_t *key;
    int quarterly;
};

static int64_t day_of(ri_time t)
{
    return t >= 0 ? t / RI_DAY : -((-t + RI_DAY - 1) / RI_DAY);
}

static void day_keys_init(struct day_keys *dk, const struct ri_frame *f, int quarterly)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    memset(dk, 0, sizeof(*dk));
    dk->quarterly = quarterly;
    for (size_t i = 0; i < f->n; i++) {
        if (f->created[i] != RI_TIME_NONE) {
            int64_t x = day_of(f->created[i]);
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
        if (f->close[i] != RI_TIME_NONE) {
            int64_t x = day_of(f->close[i]);
            lo = x < lo ? x : lo;
            hi = x > hi ? x : hi;
        }
    }
    if (lo > hi || hi - lo >= (int64_t)1 << 22 || lo < INT64_MIN / RI_DAY + 1 ||
        hi > INT64_MAX / RI_DAY - 1)
        return; /* nothing to tabulate, or a span of dates no data has: compute each key */
    dk->d0 = lo;
    dk->n = (size_t)(hi - lo + 1);
    dk->key = ri_malloc(dk->n * sizeof(*dk->key));
    for (size_t j = 0; j < dk->n; j++)
        dk->key[j] = ri_period_key((lo + (int64_t)j) * RI_DAY, quarterly);
}

/* ri_period_key(t, quarterly), the key of t's day */
static int32_t day_key(const struct day_keys *dk, ri_time t)
{
    int64_t j = day_of(t) - dk->d0;
    if (dk->n && j >= 0 && (uint64_t)j < dk->n)
        return dk->key[j];
    return ri_period_key(t, dk->quarterly);
}

/* The periods of the closed deals: keys, bounds, labels, which are complete, and the two
 * compared (p0, p1); pcode[i] gets each closed deal's period index. Needs no replay, so
 * that the jobs that only need the layout can start before it. */
static void periods_layout(struct ri_diagnosis *d, const uint32_t *closed, size_t nclosed,
                           const struct day_keys *dk, int32_t *pcode)
{
    const struct ri_frame *f = &d->frame;
    int32_t kmin = INT32_MAX,
            kmax = d->as_of != RI_TIME_NONE ? ri_period_key(d->as_of, d->quarterly) : INT32_MIN;
    size_t np;
    for (size_t k = 0; k < nclosed; k++) {
        int32_t key = day_key(dk, f->close[closed[k]]);
        pcode[closed[k]] = key;
        kmin = key < kmin ? key : kmin;
        kmax = key > kmax ? key : kmax;
    }
    if (kmin > kmax)
        return;
    np = (size_t)(kmax - kmin + 1);
    d->periods = ri_calloc(np, sizeof(*d->periods));
    d->n_periods = np;
    for (size_t k = 0; k < nclosed; k++)
        pcode[closed[k]] -= kmin;
    for (size_t p = 0; p < np; p++) {
        struct ri_period_row *r = &d->periods[p];
        r->key = kmin + (int32_t)p;
        ri_period_bounds(r->key, d->quarterly, &r->start, &r->end, r->label, sizeof(r->label));
        r->complete = d->as_of != RI_TIME_NONE && r->end <= d->as_of + RI_DAY;
        r->change_p.est = r->change_p.lo = r->change_p.hi = RI_NAN;
    }
    /* the two periods compared: the last complete one and the one before */
    d->p0 = d->p1 = -1;
    for (size_t p = np; p-- > 0;) {
        if (!d->periods[p].complete)
            continue;
        if (d->p1 < 0)
            d->p1 = (int)p;
        else if (d->p0 < 0)
            d->p0 = (int)p;
    }
}

/* The periods' cells (after the replay, which the late-stage counts need), their changes,
 * and the pipeline created in each. */
static void periods_fill(struct ri_diagnosis *d, const uint32_t *closed, size_t nclosed,
                         const struct orders *o_all, struct cells_ws *w, const struct day_keys *dk,
                         const int32_t *pcode)
{
    const struct ri_frame *f = &d->frame;
    size_t np = d->n_periods;
    int32_t kmin, kmax, *ckey;
    struct ri_wr_cell *cells;
    if (!np)
        return;
    kmin = d->periods[0].key;
    kmax = d->periods[np - 1].key;
    cells = ri_calloc(np + 1, sizeof(*cells));
    cells_by(d, pcode, np, closed, nclosed, o_all, w, cells);
    for (size_t p = 0; p < np; p++) {
        struct ri_period_row *r = &d->periods[p];
        r->cell = cells[p];
        if (p > 0) {
            const struct ri_wr_cell *a = &d->periods[p - 1].cell;
            r->change_p.est = ri_two_prop_test(a->won, a->won + a->lost, r->cell.won,
                                               r->cell.won + r->cell.lost, NULL);
        }
    }
    ri_free(cells);
    /* created pipeline per period */
    ckey = ri_cc_xalloc((f->n + 1) * sizeof(*ckey));
    for (size_t i = 0; i < f->n; i++) {
        int32_t key;
        ckey[i] = INT32_MIN;
        if (!d->include[i] || f->created[i] == RI_TIME_NONE)
            continue;
        key = ckey[i] = day_key(dk, f->created[i]);
        if (key < kmin || key > kmax)
            continue;
        d->periods[key - kmin].created++;
        if (!isnan(f->amount[i]))
            d->periods[key - kmin].created_amount += f->amount[i];
        d->periods[key - kmin].created_open_now += f->status[i] == RI_STATUS_OPEN;
    }
    /* the mix of created pipeline by segment: lead source where there is one (the usual
     * suspect when volume grows and quality falls), else the first dimension */
    d->mix_dim = ri_frame_dim(f, "lead_source");
    if (d->mix_dim < 0 && f->n_dims)
        d->mix_dim = 0;
    if (d->mix_dim >= 0) {
        const struct ri_dim *md = &f->dims[d->mix_dim];
        size_t nv = md->values.n;
        d->created_by = ri_calloc(np * nv + 1, sizeof(*d->created_by));
        for (size_t i = 0; i < f->n; i++) {
            int32_t key = ckey[i];
            if (key == INT32_MIN || md->code[i] < 0)
                continue;
            if (key >= kmin && key <= kmax)
                d->created_by[(size_t)(key - kmin) * nv + (size_t)md->code[i]]++;
        }
    }
    ri_cc_free(ckey);
}

static void run_segments(struct ri_diagnosis *d, const uint32_t *closed, size_t nclosed,
                         const struct orders *o_all, struct cells_ws *w)
{
    const struct ri_frame *f = &d->frame;
    const struct ri_period_row *P1 = d->p1 >= 0 ? &d->periods[d->p1] : NULL;
    uint32_t *last = ri_cc_xalloc((nclosed + 1) * sizeof(*last));
    struct orders o_last = {NULL, NULL, 0, 0};
    size_t nlast = 0;
    if (P1) {
        for (size_t k = 0; k < nclosed; k++)
            if (f->close[closed[k]] >= P1->start && f->close[closed[k]] < P1->end)
                last[nlast++] = closed[k];
        orders_build(f, last, nlast, &o_last);
    }
    for (size_t dim = 0; dim < f->n_dims; dim++) {
        const struct ri_dim *dd = &f->dims[dim];
        d->seg_cells_all[dim] = ri_calloc(dd->values.n + 1, sizeof(struct ri_wr_cell));
        d->seg_cells[dim] = ri_calloc(dd->values.n + 1, sizeof(struct ri_wr_cell));
        cells_by(d, dd->code, dd->values.n, closed, nclosed, o_all, w, d->seg_cells_all[dim]);
        if (P1)
            cells_by(d, dd->code, dd->values.n, last, nlast, &o_last, w, d->seg_cells[dim]);
    }
    d->n_seg_tables = f->n_dims;
    orders_release(&o_last);
    ri_cc_free(last);
}

static void pct(char *buf, size_t size, const struct ri_interval *iv)
{
    if (isnan(iv->est))
        snprintf(buf, size, "n/a");
    else
        snprintf(buf, size, "%.1f %% [%.1f-%.1f]", 100 * iv->est, 100 * iv->lo, 100 * iv->hi);
}

static void write_headline(struct ri_diagnosis *d)
{
    const struct ri_period_row *a, *b;
    char ra[64], rb[64];
    double p, delta;
    int n;
    if (!d->closed) {
        snprintf(d->headline, sizeof(d->headline),
                 "No closed deals to diagnose yet: ingest an export with won and lost deals");
        return;
    }
    if (d->p0 < 0 || d->p1 < 0) {
        char r[64];
        pct(r, sizeof(r), &d->total.rate);
        snprintf(d->headline, sizeof(d->headline),
                 "Win rate %s over %llu closed deals; fewer than two complete periods to compare",
                 r, (unsigned long long)(d->total.won + d->total.lost));
        return;
    }
    a = &d->periods[d->p0];
    b = &d->periods[d->p1];
    pct(ra, sizeof(ra), &a->cell.rate);
    pct(rb, sizeof(rb), &b->cell.rate);
    p = ri_two_prop_test(a->cell.won, a->cell.won + a->cell.lost, b->cell.won,
                         b->cell.won + b->cell.lost, NULL);
    delta = b->cell.rate.est - a->cell.rate.est;
    n = snprintf(d->headline, sizeof(d->headline),
                 "Win rate %s from %s in %s to %s in %s (p = %.2g)",
                 p >= 0.05   ? "moved"
                 : delta < 0 ? "fell"
                             : "rose",
                 ra, a->label, rb, b->label, p);
    if (p >= 0.05)
        n += snprintf(d->headline + n, sizeof(d->headline) - (size_t)n,
                      ": not a significant change");
    if (d->headline_dim >= 0) {
        const struct ri_decomp_dim *dd = &d->decomp[d->headline_dim];
        const struct ri_decomp_row *top = NULL;
        for (size_t r = 0; r < dd->n_rows && !top; r++)
            if (dd->rows[r].significant)
                top = &dd->rows[r];
        if (fabs(dd->total) > 1e-12)
            n += snprintf(d->headline + n, sizeof(d->headline) - (size_t)n,
                          "; by %s, %.0f %% of the change is rate, %.0f %% mix, %.0f %% "
                          "interaction",
                          dd->name, 100 * dd->rate / dd->total, 100 * dd->mix / dd->total,
                          100 * dd->interaction / dd->total);
        for (size_t j = 0; j < d->n_decomp; j++)
            if (d->decomp[j].dim_b >= 0)
                for (size_t r = 0; r < d->decomp[j].n_rows; r++)
                    if (d->decomp[j].rows[r].significant &&
                        (!top || fabs(d->decomp[j].rows[r].rate) > fabs(top->rate))) {
                        top = &d->decomp[j].rows[r];
                        break;
                    }
        if (top && n > 0 && (size_t)n < sizeof(d->headline))
            n += snprintf(d->headline + n, sizeof(d->headline) - (size_t)n,
                          "; biggest rate change: %s (%.1f %% -> %.1f %%, q = %.2g)", top->label,
                          100 * top->r0, 100 * top->r1, top->q);
    } else if (n > 0 && (size_t)n < sizeof(d->headline) && d->n_decomp) {
        size_t tests = 0;
        for (size_t j = 0; j < d->n_decomp; j++)
            for (size_t r = 0; r < d->decomp[j].n_rows; r++)
                tests += !d->decomp[j].rows[r].small;
        snprintf(d->headline + n, sizeof(d->headline) - (size_t)n,
                 "; no segment's change is significant after correction for %zu tests", tests);
    }
}

static void write_volume_quality(struct ri_diagnosis *d)
{
    const struct ri_period_row *a, *b;
    double vol, q0, q1;
    const char *verdict;
    if (d->p0 < 0 || d->p1 < 0)
        return;
    a = &d->periods[d->p0];
    b = &d->periods[d->p1];
    {
        /* with no open deal in the store, recent creations are missing by construction
         * (an export of closed deals): volume cannot be judged */
        uint64_t open = 0;
        for (size_t i = 0; i < d->frame.n && !open; i++)
            open += d->include[i] && d->frame.status[i] == RI_STATUS_OPEN;
        if (!open) {
            snprintf(d->volume_quality, sizeof(d->volume_quality),
                     "No open deals in the store (an export of closed deals only): pipeline "
                     "volume of recent periods cannot be judged");
            return;
        }
    }
    vol = a->created ? (double)b->created / (double)a->created - 1 : RI_NAN;
    q0 = a->cell.rate.est;
    q1 = b->cell.rate.est;
    if (ri_two_prop_test(a->cell.won, a->cell.won + a->cell.lost, b->cell.won,
                         b->cell.won + b->cell.lost, NULL) >= 0.05)
        verdict = vol < -0.1 ? "a quantity problem: less pipeline, converting as before"
                             : "neither: volume and win rate hold";
    else if (q1 < q0)
        verdict = vol >= -0.1 ? "a quality problem: as much or more pipeline, converting worse"
                              : "both: less pipeline, and converting worse";
    else
        verdict = "improving conversion";
    snprintf(d->volume_quality, sizeof(d->volume_quality),
             "Pipeline created %s %.0f %% (%llu -> %llu deals) while the win rate went %.1f %% -> "
             "%.1f %%: %s",
             vol >= 0 ? "grew" : "fell", 100 * fabs(vol), (unsigned long long)a->created,
             (unsigned long long)b->created, 100 * q0, 100 * q1, verdict);
}

static ri_err parse_by(struct ri_ctx *ctx, const struct ri_frame *f, const char *by, int *dims,
                       size_t *n)
{
    const char *p = by;
    *n = 0;
    if (!by || !*by) {
        for (size_t k = 0; k < f->n_dims; k++)
            dims[(*n)++] = (int)k;
        return RI_OK;
    }
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char name[64];
        int k;
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        k = ri_frame_dim(f, name);
        if (k < 0)
            return ri_fail(ctx, RI_ERR_INVALID, "--by: no dimension '%s' in this store", name);
        if (*n < RI_DIAG_MAX_DIMS)
            dims[(*n)++] = k;
        p = comma ? comma + 1 : NULL;
    }
    return RI_OK;
}

/* Work handed to a second thread: it gets its own context (and, for the frame, its own
 * read-only connection), and its error is copied to the caller's context after join. */
struct job {
    struct ri_diagnosis *d;
    const uint32_t *closed; /* the closed deals (the concentration's) */
    size_t nclosed;
    const char *path;
    const struct ri_asof_state *st;
    const int32_t *codes;
    size_t nseg;
    ri_time from; /* the funnel's window starts here */
    int64_t gen;  /* the frame's data generation */
    bool cached;  /* the frame came from the column cache */
    ri_err rc;
    char err[512];
};

static void *frame_job(void *arg)
{
    struct job *j = arg;
    struct ri_ctx *c = ri_ctx_new();
    j->rc = ri_store_open(c, j->path, RI_OPEN_READONLY);
    /* a read-only connection cannot write the cache: the caller does, if need be */
    if (!j->rc)
        j->rc = ri_frame_load_mode(c, RI_CC_READ, &j->d->frame, &j->gen, &j->cached);
    if (j->rc)
        snprintf(j->err, sizeof(j->err), "%s", ri_errmsg(c));
    ri_ctx_free(c);
    return NULL;
}

static void *funnel_job(void *arg)
{
    struct job *j = arg;
    struct ri_diagnosis *d = j->d;
    struct ri_ctx *c = ri_ctx_new();
    j->rc = ri_funnel_compute(c, d->hist, j->from, d->to, d->include, j->st, &d->funnel);
    if (j->rc)
        snprintf(j->err, sizeof(j->err), "%s", ri_errmsg(c));
    ri_ctx_free(c);
    return NULL;
}

static void *concentration_job(void *arg)
{
    struct job *j = arg;
    struct scratch sc;
    sc.a = ri_cc_xalloc((j->nclosed + 1) * sizeof(double));
    sc.b = ri_cc_xalloc((j->nclosed + 1) * sizeof(double));
    run_concentration(j->d, j->closed, j->nclosed, &sc);
    ri_cc_free(sc.a);
    ri_cc_free(sc.b);
    j->rc = RI_OK;
    return NULL;
}

/* Runs fn(arg) on a new thread (true), or here if no thread can be had (false). */
static bool start_job_any(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (pthread_create(t, NULL, fn, arg) == 0)
        return true;
    fn(arg);
    return false;
}

static bool start_job(pthread_t *t, void *(*fn)(void *), struct job *j)
{
    return start_job_any(t, fn, j);
}

static void *zombies_cycle_job(void *arg)
{
    struct job *j = arg;
    struct ri_diagnosis *d = j->d;
    struct ri_ctx *c = ri_ctx_new();
    j->rc = RI_OK;
    if (d->reports & RI_DIAG_ZOMBIES)
        j->rc = ri_zombies_compute(c, d->hist, d->as_of, d->include, j->codes, j->st, &d->zombies);
    if (!j->rc && (d->reports & RI_DIAG_CYCLE))
        j->rc =
            ri_cycle_compute(c, d->hist, d->as_of, d->include, j->codes, j->nseg, j->st, &d->cycle);
    if (j->rc)
        snprintf(j->err, sizeof(j->err), "%s", ri_errmsg(c));
    ri_ctx_free(c);
    return NULL;
}

/* What the loads could not take from the column cache, to be written back to it. */
struct cache_job {
    struct ri_store *st;
    const struct ri_diagnosis *d;
    int64_t hist_gen, frame_gen;
    bool hist, frame; /* to be written */
};

static void *cache_job(void *arg)
{
    struct cache_job *c = arg;
    if (c->hist)
        ri_history_cache_save(c->st, c->d->hist, c->hist_gen);
    if (c->frame)
        ri_frame_cache_save(c->st, &c->d->frame, c->frame_gen);
    return NULL;
}

/* Loads the frame and the as-of engine, the frame on a second thread and connection
 * when the store is a file (the two loads take about as long as each other). What came
 * from the tables rather than the column cache is noted in *cj, for writing back. */
static ri_err load_both(struct ri_ctx *ctx, struct ri_diagnosis *d, struct cache_job *cj)
{
    struct ri_store *st = ri_ctx_store(ctx);
    const char *path = st ? ri_store_path(st) : NULL;
    struct job j;
    pthread_t t;
    bool hist_cached = false;
    ri_err rc;
    memset(&j, 0, sizeof(j));
    j.d = d;
    j.path = path;
    cj->st = st;
    cj->d = d;
    if (!path || !*path || !strcmp(path, ":memory:") || pthread_create(&t, NULL, frame_job, &j)) {
        rc = ri_frame_load(ctx, &d->frame);
        return rc ? rc : ri_history_load(ctx, &d->hist);
    }
    rc = ri_history_load_cached(ctx, RI_CC_READ, &d->hist, &cj->hist_gen, &hist_cached);
    pthread_join(t, NULL);
    if (!rc && j.rc)
        rc = ri_fail(ctx, j.rc, "%s", j.err);
    if (!rc && ri_store_writable(st)) {
        cj->hist = !hist_cached;
        cj->frame = !j.cached;
        cj->frame_gen = j.gen;
    }
    return rc;
}

void ri_diagnosis_free(struct ri_diagnosis *d)
{
    if (!d)
        return;
    for (size_t k = 0; k < RI_DIAG_MAX_DIMS; k++) {
        ri_free(d->seg_cells[k]);
        ri_free(d->seg_cells_all[k]);
    }
    for (size_t j = 0; j < d->n_decomp; j++)
        ri_free(d->decomp[j].rows);
    ri_free(d->periods);
    ri_free(d->created_by);
    ri_free(d->reps);
    ri_free(d->include);
    ri_free(d->reached_late);
    ri_cycle_report_release(&d->cycle);
    ri_history_free(d->hist);
    ri_frame_release(&d->frame);
    ri_free(d);
}

ri_err ri_diagnose(struct ri_ctx *ctx, const struct ri_diagnose_opts *o, struct ri_diagnosis **out)
{
    struct ri_diagnosis *d = ri_calloc(1, sizeof(*d));
    struct ri_asof_state st;
    struct orders o_all = {NULL, NULL, 0, 0};
    struct cells_ws ws = {NULL, NULL, NULL, NULL};
    struct cache_job wb;
    struct job zj, fj, cj;
    struct day_keys dk;
    pthread_t cache_thread, zt, ft, ct;
    bool caching = false, z_threaded = false, f_threaded = false, c_threaded = false;
    bool want_funnel;
    int32_t *pcode = NULL;
    uint32_t *closed = NULL;
    size_t nclosed = 0, nd = 0;
    int dims[RI_DIAG_MAX_DIMS];
    ri_err rc;

    *out = NULL;
    memset(&st, 0, sizeof(st));
    memset(&wb, 0, sizeof(wb));
    memset(&zj, 0, sizeof(zj));
    memset(&fj, 0, sizeof(fj));
    memset(&cj, 0, sizeof(cj));
    memset(&dk, 0, sizeof(dk));
    d->reports = o->reports ? o->reports : RI_DIAG_ALL;
    d->quarterly = o->period != RI_PERIOD_MONTH;
    d->min_n = o->min_n ? o->min_n : 30;
    d->headline_dim = -1;
    d->cycle_dim = -1;
    d->mix_dim = -1;
    d->p0 = d->p1 = -1;
    phase(NULL);
    rc = load_both(ctx, d, &wb);
    phase("load");
    if (rc)
        goto out;
    /* the column cache is written back beside the diagnosis, which only reads what is
     * written (the store's connection is the writer's alone until it is joined) */
    if (wb.hist || wb.frame)
        caching = start_job_any(&cache_thread, cache_job, &wb);
    if (ri_history_n_deals(d->hist) != d->frame.n) {
        rc = ri_fail(ctx, RI_ERR_INTERNAL, "the store changed while it was read");
        goto out;
    }
    d->include = ri_malloc(d->frame.n + 1);
    for (size_t i = 0; i < d->frame.n; i++)
        d->include[i] = !d->frame.deleted[i];
    for (size_t k = 0; k < o->n_segments && !rc; k++) {
        rc = parse_filter(ctx, d, o->segments[k], d->include);
        snprintf(d->filter + strlen(d->filter), sizeof(d->filter) - strlen(d->filter), "%s%s",
                 k ? ", " : "", o->segments[k]);
    }
    if (!rc)
        rc = parse_by(ctx, &d->frame, o->by, dims, &nd);
    if (rc)
        goto out;
    /* as of: given, else the latest created or close date of a closed deal */
    d->as_of = o->as_of;
    if (d->as_of == RI_TIME_NONE) {
        ri_time m = RI_TIME_NONE;
        for (size_t i = 0; i < d->frame.n; i++) {
            if (d->frame.created[i] != RI_TIME_NONE && d->frame.created[i] > m)
                m = d->frame.created[i];
            if (d->frame.status[i] != RI_STATUS_OPEN && d->frame.close[i] != RI_TIME_NONE &&
                d->frame.close[i] > m)
                m = d->frame.close[i];
        }
        d->as_of = m == RI_TIME_NONE ? RI_TIME_NONE : m - m % RI_DAY;
    }
    d->from = o->from != RI_TIME_NONE ? o->from : INT64_MIN + 1;
    d->to =
        o->to != RI_TIME_NONE ? o->to : (d->as_of != RI_TIME_NONE ? d->as_of + RI_DAY : INT64_MAX);
    closed = ri_cc_xalloc((d->frame.n + 1) * sizeof(*closed));
    closed_list(d, d->from, d->to, closed, &nclosed);
    d->deals = d->frame.n;
    d->closed = nclosed;
    /* the closed deals by amount and by cycle length, for the quantiles of every cell */
    orders_build(&d->frame, closed, nclosed, &o_all);
    cells_ws_init(&ws, nclosed);
    day_keys_init(&dk, &d->frame, d->quarterly);
    pcode = ri_cc_xalloc((d->frame.n + 1) * sizeof(*pcode));
    periods_layout(d, closed, nclosed, &dk, pcode);
    phase("periods");
    /*
     * The funnel, zombies and cycles, and the concentration only read the history, the
     * frame, the filter and the closed list: each runs on a thread of its own beside the
     * replay and the metrics of the segments (the system shares the processors among
     * them). The concentration starts at once, and so does the funnel when the replay
     * at as_of is not the one it needs (it replays at the end of the window); zombies
     * and cycles wait for that replay.
     */
    zj.d = fj.d = cj.d = d;
    cj.closed = closed;
    cj.nclosed = nclosed;
    if (d->reports & RI_DIAG_CONCENTRATION)
        c_threaded = start_job(&ct, concentration_job, &cj);
    want_funnel = (d->reports & RI_DIAG_FUNNEL) && d->p1 >= 0;
    if (want_funnel) {
        fj.from = d->from > d->periods[0].start ? d->from : d->periods[0].start;
        if (d->to != d->as_of) {
            f_threaded = start_job(&ft, funnel_job, &fj);
            want_funnel = false;
        }
    }
    /* which deals reached a late stage, by the as-of engine at as_of */
    if (d->as_of != RI_TIME_NONE) {
        rc = ri_asof_state_init(&st, d->hist);
        if (!rc)
            rc = ri_asof(d->hist, d->as_of, &st);
        if (rc) {
            rc = ri_fail(ctx, rc, "out of memory replaying %zu deals", d->frame.n);
            goto out;
        }
        d->reached_late = ri_malloc(d->frame.n + 1);
        memcpy(d->reached_late, st.reached_late, d->frame.n);
    }
    phase("replay");
    zj.st = st.n ? &st : NULL;
    if (want_funnel) { /* its window ends at as_of: it shares this replay */
        fj.st = zj.st;
        f_threaded = start_job(&ft, funnel_job, &fj);
    }
    if ((d->reports & (RI_DIAG_ZOMBIES | RI_DIAG_CYCLE)) && d->as_of != RI_TIME_NONE) {
        int seg = ri_frame_dim(&d->frame, "industry");
        zj.codes = seg >= 0 ? d->frame.dims[seg].code : NULL;
        zj.nseg = seg >= 0 ? d->frame.dims[seg].values.n : 0;
        d->cycle_dim = seg;
        z_threaded = start_job(&zt, zombies_cycle_job, &zj);
    }
    cell_ordered(d, closed, nclosed, o_all.amt, o_all.n_amt, o_all.cyc, o_all.n_cyc, &d->total);
    periods_fill(d, closed, nclosed, &o_all, &ws, &dk, pcode);
    phase("period cells");
    if (d->reports & (RI_DIAG_WINRATE | RI_DIAG_DECOMPOSE | RI_DIAG_PIPELINE))
        run_segments(d, closed, nclosed, &o_all, &ws);
    phase("segments");
    if (d->reports & RI_DIAG_DECOMPOSE)
        run_decomposition(d, dims, nd);
    phase("decomposition");
    if (d->reports & RI_DIAG_REPS)
        run_reps(d, closed, nclosed, &o_all, &ws);
    phase("reps");
    if (c_threaded)
        pthread_join(ct, NULL);
    c_threaded = false;
    phase("concentration (in parallel)");
    if (f_threaded)
        pthread_join(ft, NULL);
    f_threaded = false;
    phase("funnel (in parallel)");
    if (z_threaded)
        pthread_join(zt, NULL);
    z_threaded = false;
    phase("zombies and cycles (in parallel)");
    if (fj.rc)
        rc = ri_fail(ctx, fj.rc, "%s", fj.err);
    else if (zj.rc)
        rc = ri_fail(ctx, zj.rc, "%s", zj.err);
    if (rc)
        goto out;
    write_headline(d);
    write_volume_quality(d);
out:
    /* on a failure midway, the jobs still running finish before what they read goes */
    if (c_threaded)
        pthread_join(ct, NULL);
    if (f_threaded)
        pthread_join(ft, NULL);
    if (z_threaded)
        pthread_join(zt, NULL);
    if (caching)
        pthread_join(cache_thread, NULL);
    ri_cc_free(pcode);
    ri_free(dk.key);
    ri_asof_state_release(&st);
    orders_release(&o_all);
    cells_ws_release(&ws);
    ri_cc_free(closed);
    if (rc) {
        ri_diagnosis_free(d);
        return rc;
    }
    *out = d;
    return RI_OK;
}
