/*
 * winshift.c - has a segment's win rate changed in the deals created lately?
 *
 * A model fitted on closed deals learns how deals converted before; when the deals
 * created in the last months of some segment convert worse, it sees that only as those
 * deals close, and the next period's forecast for that segment is too high. The earliest
 * trace of such a change is in the wins of the recent cohort so far: a deal created 60
 * days ago that was going to be won has had some chance to be won already.
 *
 * Recent cohort: the deals created in (at - 120 days, at], each with its wins by `at`.
 * Reference: the deals created in the same weeks a year earlier (364 days: the same
 * weekdays), with their wins by at - 364 days, as the store replays them then. Both are
 * set against an expectation e of each deal's wins by its age: the share of the deals
 * created 540 to 900 days before `at` (fully observed) won by that age, G(age), times the
 * deal's segment values' rates over the overall (main effects, each value's rate shrunk
 * towards the overall by 5 deals). Per segment cell (every value of each dimension with
 * 2 to 64 values, every pair of values of two dimensions with 2 to 16 values, and all
 * deals), factor = (O1 / E1) / (O0 / E0): a change of the segment against a year earlier,
 * whatever the expectation gets wrong in both, such as a segment that always converted
 * better than its main effects say. log(factor) has variance 1 / O1 + 1 / O0 (Poisson
 * counts, the expectations taken as known), so z = log(factor) / sqrt(1 / O1 + 1 / O0).
 * A cell is tested when E1 >= 5 and O0 >= 5; a change is reported when |z| passes the
 * two-sided 5 % level corrected for the number of cells tested (Bonferroni), so that on a
 * store without change there is one false report in twenty runs. The strongest cell is
 * taken, its factor applied to the expectations of the recent deals in it, and the search
 * repeated (at most RI_WS_MAX segments): a decline of one region is not found again in
 * each pair that contains it.
 *
 * Assumption: a change moves the wins, not their timing. A segment whose deals now take
 * longer to win shows as a lower early win rate too; for the next period's revenue that
 * is the same warning.
 */
#include "winshift.h"
#include <math.h>
#include <string.h>

#define YEAR_DAYS  364 /* the same weekday a year earlier */
#define OLD_FROM   900 /* the cohort of the expectations: created 900 to 540 days ago */
#define OLD_TO     540
#define MIN_COHORT 200 /* deals each cohort needs, else nothing is judged */
#define SHRINK_N   5.0 /* deals of the overall rate each value's rate is shrunk with */
#define MIN_E1     5.0
#define MIN_O0     5.0
#define ALPHA      0.05
#define R          RI_WS_RECENT_DAYS

static int deal_ok(const struct ri_frame *f, const struct ri_asof_state *st, size_t i)
{
    return st->exists[i] && !f->deleted[i] && f->created[i] != RI_TIME_NONE;
}

void ri_winshift_fit(const struct ri_frame *f, const struct ri_asof_state *now,
                     const struct ri_asof_state *year_ago, struct ri_winshift *out)
{
    ri_time at = now->at, ago = at - (ri_time)YEAR_DAYS * RI_DAY;
    struct ri_segcells L;
    double G[R + 1], tot, *rate[RI_DIAG_MAX_DIMS];
    double *O1 = NULL, *E1 = NULL, *O0 = NULL, *E0 = NULL, *e = NULL, *fac = NULL;
    size_t *cells = NULL, *recent = NULL, *ref = NULL, n_old = 0, n_rec = 0, n_ref = 0;
    uint8_t *chosen = NULL;

    memset(out, 0, sizeof(*out));
    memset(rate, 0, sizeof(rate));
    out->at = at;
    out->since = at - (ri_time)R * RI_DAY;
    ri_segcells_init(f, &L);
    /* G(age) and each value's rate by R days from the old cohort */
    memset(G, 0, sizeof(G));
    for (size_t s = 0; s < L.n_single; s++)
        rate[s] = ri_calloc(2 * f->dims[L.single[s]].values.n + 1, sizeof(double));
    for (size_t i = 0; i < f->n; i++) {
        ri_time c = f->created[i];
        int won;
        long age = -1;
        if (!deal_ok(f, now, i) || c <= at - (ri_time)OLD_FROM * RI_DAY ||
            c > at - (ri_time)OLD_TO * RI_DAY)
            continue;
        won = now->status[i] == RI_STATUS_WON && now->close_date[i] != RI_TIME_NONE;
        if (won) {
            age = (long)((now->close_date[i] - c) / RI_DAY);
            if (age < 0)
                age = 0;
            if (age <= R)
                G[age] += 1;
        }
        n_old++;
        for (size_t s = 0; s < L.n_single; s++) {
            int32_t v = f->dims[L.single[s]].code[i];
            if (v < 0)
                continue;
            rate[s][2 * v] += 1;
            rate[s][2 * v + 1] += won && age <= R;
        }
    }
    if (n_old < MIN_COHORT)
        goto out;
    for (int a = 1; a <= R; a++)
        G[a] += G[a - 1];
    for (int a = 0; a <= R; a++)
        G[a] /= (double)n_old;
    tot = G[R];
    if (!(tot > 0))
        goto out;
    for (size_t s = 0; s < L.n_single; s++)
        for (size_t v = 0; v < f->dims[L.single[s]].values.n; v++)
            rate[s][2 * v] =
                (rate[s][2 * v + 1] + SHRINK_N * tot) / (rate[s][2 * v] + SHRINK_N) / tot;

    /* the two cohorts and each deal's expectation */
    recent = ri_malloc((f->n + 1) * sizeof(size_t));
    ref = ri_malloc((f->n + 1) * sizeof(size_t));
    e = ri_malloc((f->n + 1) * sizeof(double));
    fac = ri_malloc((f->n + 1) * sizeof(double));
    for (size_t i = 0; i < f->n; i++) {
        ri_time c = f->created[i], t;
        double b = 1;
        long age;
        if (deal_ok(f, now, i) && c > at - (ri_time)R * RI_DAY && c <= at) {
            recent[n_rec++] = i;
            t = at;
        } else if (deal_ok(f, year_ago, i) && c > ago - (ri_time)R * RI_DAY && c <= ago) {
            ref[n_ref++] = i;
            t = ago;
        } else
            continue;
        age = (long)((t - c) / RI_DAY);
        for (size_t s = 0; s < L.n_single; s++) {
            int32_t v = f->dims[L.single[s]].code[i];
            if (v >= 0)
                b *= rate[s][2 * v];
        }
        e[i] = b * G[age < 0 ? 0 : age > R ? R : age];
        fac[i] = 1;
    }
    if (n_rec < MIN_COHORT || n_ref < MIN_COHORT)
        goto out;

    O1 = ri_malloc(L.n_cells * sizeof(double));
    E1 = ri_malloc(L.n_cells * sizeof(double));
    O0 = ri_calloc(L.n_cells, sizeof(double));
    E0 = ri_calloc(L.n_cells, sizeof(double));
    chosen = ri_calloc(L.n_cells, 1);
    cells = ri_malloc(L.max_of * sizeof(size_t));
    for (size_t k = 0; k < n_ref; k++) {
        size_t i = ref[k], m = ri_segcells_of(&L, f, i, cells);
        int won = year_ago->status[i] == RI_STATUS_WON;
        for (size_t j = 0; j < m; j++) {
            O0[cells[j]] += won;
            E0[cells[j]] += e[i];
        }
    }
    for (int round = 0; round < RI_WS_MAX; round++) {
        size_t best = 0, tested = 0;
        double bz = 0;
        memset(O1, 0, L.n_cells * sizeof(double));
        memset(E1, 0, L.n_cells * sizeof(double));
        for (size_t k = 0; k < n_rec; k++) {
            size_t i = recent[k], m = ri_segcells_of(&L, f, i, cells);
            int won = now->status[i] == RI_STATUS_WON;
            for (size_t j = 0; j < m; j++) {
                O1[cells[j]] += won;
                E1[cells[j]] += e[i] * fac[i];
            }
        }
        for (size_t c = 0; c < L.n_cells; c++) {
            double o1, z;
            if (chosen[c] || E1[c] < MIN_E1 || O0[c] < MIN_O0)
                continue;
            tested++;
            o1 = O1[c] > 0.5 ? O1[c] : 0.5;
            z = (log(o1 / E1[c]) - log(O0[c] / E0[c])) / sqrt(1 / o1 + 1 / O0[c]);
            if (fabs(z) > fabs(bz)) {
                bz = z;
                best = c;
            }
        }
        if (round == 0) {
            out->tested = tested;
            out->z_crit = tested ? ri_normal_quantile(1 - ALPHA / (2.0 * (double)tested)) : 0;
        }
        if (!tested || !(fabs(bz) >= out->z_crit))
            break;
        {
            struct ri_winshift_seg *s = &out->seg[out->n++];
            double o1 = O1[best] > 0.5 ? O1[best] : 0.5;
            ri_segcells_key(&L, f, best, &s->key);
            s->o1 = O1[best];
            s->e1 = E1[best];
            s->o0 = O0[best];
            s->e0 = E0[best];
            s->factor = (o1 / E1[best]) / (O0[best] / E0[best]);
            s->z = bz;
            chosen[best] = 1;
            for (size_t k = 0; k < n_rec; k++) {
                size_t i = recent[k], m = ri_segcells_of(&L, f, i, cells);
                for (size_t j = 0; j < m; j++)
                    if (cells[j] == best)
                        fac[i] *= s->factor;
            }
        }
    }
out:
    for (size_t s = 0; s < L.n_single; s++)
        ri_free(rate[s]);
    ri_free(O1);
    ri_free(E1);
    ri_free(O0);
    ri_free(E0);
    ri_free(e);
    ri_free(fac);
    ri_free(cells);
    ri_free(recent);
    ri_free(ref);
    ri_free(chosen);
}

double ri_winshift_factor(const struct ri_winshift *w, const struct ri_frame *f, size_t i)
{
    double x = 1;
    if (f->created[i] == RI_TIME_NONE || f->created[i] <= w->since || f->created[i] > w->at)
        return 1;
    for (size_t k = 0; k < w->n; k++)
        if (ri_segkey_has(f, &w->seg[k].key, i))
            x *= w->seg[k].factor;
    return x;
}

void ri_winshift_label(const struct ri_winshift *w, const struct ri_frame *f, size_t k, char *out,
                       size_t size)
{
    ri_segkey_label(f, &w->seg[k].key, out, size);
}
