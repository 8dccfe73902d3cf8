/*
 * forecast.c - revenue forecast with a range (`revintel forecast`) and its backtest
 * (`revintel backtest`).
 *
 * Revenue of a period = closed won so far + for each open deal P(win) x P(close inside the
 * period | won, stage, days already in the stage) x amount + the pipeline not yet created
 * that will be created and won inside the period.
 *
 * Timing. For every open stage, the won deals' visits to it give the days from entering
 * the stage to the win (R). A deal that has spent t days in stage s closes within (a, b]
 * days from now, if it is won, with P = #{t + a < R <= t + b} / #{R > t} over the visits
 * that were still in stage s at the start of the deal's week there (7 floor(t / 7) days):
 * conditioning on "still in the stage", not merely "not yet won", matters, since deals
 * that moved on early are nearer their close (on the simulated pipeline the plain
 * condition predicted twice the closes of the coming week). Where fewer than 20 such
 * visits remain, every stage's visits are used; a deal with no known stage uses the won
 * deals' whole cycle against its age. Only what was known at the forecast date is used.
 *
 * New pipeline: deals created per day over the last 90 days (lambda), the win rate of the
 * deals created 180 to 365 days before (a cohort that has had time to close), the won
 * amounts of the last 180 days and the won cycles of the last year (F). Expected new wins
 * in (a, b] days: lambda x p x sum over the days u < b of F(b - u) - F(max(a - u, 0)).
 *
 * Monte Carlo: each path draws every open deal's close (Bernoulli with q = P(win) x
 * P(in period)) and a Poisson number of new wins with amounts drawn from the recent won
 * amounts. Draws are skipped geometrically (the next path in which a deal closes is
 * 1 + floor(log U / log(1 - q)) paths on), so a path costs the deals that close in it,
 * not all deals. xoshiro256** seeded by splitmix64: a seed gives the same bytes. The
 * mean of the paths agrees with the analytic expectation within sampling error.
 */
#include "diagnose.h"
#include "model.h"
#include "stats.h"
#include "store.h"
#include "winshift.h"
#include <math.h>
#include <string.h>

#define DAY         86400
#define MIN_POOL    20
#define ZOMBIE_DAYS 90

/* A column of n doubles (one spare, so that n = 0 allocates). */
static double *dvec(size_t n)
{
    return ri_malloc((n + 1) * sizeof(double));
}

/* ------------------------------------------------------------------ random numbers */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int k = 0; k < 4; k++)
        r->s[k] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in (0, 1). */
static double rng_unif(struct rng *r)
{
    return ((double)(rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* ------------------------------------------------------------------ timing */

#define TM_WEEKS 53 /* dwell thresholds 0, 7, ..., 364 days */
#define TM_BANDS 6  /* deal-size bands: sextiles of the won amounts */

struct timing {
    size_t n_stages;
    /* per stage and dwell threshold k (7k days): for the won visits still in the stage
     * 7k days after entering it, the days from then to the win, sorted */
    double **r;
    size_t *nr;
    /* the same by deal-size band (sextiles of the won amounts): large deals take longer */
    double **rb;
    size_t *nrb;
    double band_cut[TM_BANDS - 1];
    double *all; /* every stage's visits */
    size_t nall;
    double *cycle; /* won deals: created to won, sorted */
    size_t ncycle;
};

static void timing_release(struct timing *t)
{
    for (size_t c = 0; c < t->n_stages * TM_WEEKS && t->r; c++)
        ri_free(t->r[c]);
    for (size_t c = 0; c < t->n_stages * TM_WEEKS * TM_BANDS && t->rb; c++)
        ri_free(t->rb[c]);
    ri_free(t->rb);
    ri_free(t->nrb);
    ri_free(t->r);
    ri_free(t->nr);
    ri_free(t->all);
    ri_free(t->cycle);
    memset(t, 0, sizeof(*t));
}

static void push(double **a, size_t *n, size_t *cap, double v)
{
    if (*n == *cap)
        RI_GROW(*a, *cap, *n + 1);
    (*a)[(*n)++] = v;
}

/* From the won deals as known at `at`. */
static int band_of(const struct timing *t, double amount)
{
    int b = 0;
    if (isnan(amount))
        return -1;
    while (b < TM_BANDS - 1 && amount >= t->band_cut[b])
        b++;
    return b;
}

static void timing_fit(const struct ri_history *h, const struct ri_frame *f, ri_time at,
                       struct timing *t)
{
    size_t ns = ri_history_n_stages(h), nd = ri_history_n_deals(h), *cap, *capb, capall = 0,
           capc = 0;
    struct ri_path_buf pb = RI_PATH_BUF_INIT;
    const struct ri_stage_visit *v;
    memset(t, 0, sizeof(*t));
    t->n_stages = ns;
    t->r = ri_calloc(ns * TM_WEEKS + 1, sizeof(*t->r));
    t->nr = ri_calloc(ns * TM_WEEKS + 1, sizeof(*t->nr));
    cap = ri_calloc(ns * TM_WEEKS + 1, sizeof(*cap));
    t->rb = ri_calloc(ns * TM_WEEKS * TM_BANDS + 1, sizeof(*t->rb));
    t->nrb = ri_calloc(ns * TM_WEEKS * TM_BANDS + 1, sizeof(*t->nrb));
    capb = ri_calloc(ns * TM_WEEKS * TM_BANDS + 1, sizeof(*capb));
    {
        /* sextiles of the amounts of the deals won by `at` */
        double *am = ri_malloc((nd + 1) * sizeof(double));
        size_t m = 0;
        for (size_t i = 0; i < nd && i < f->n; i++)
            if (f->status[i] == RI_STATUS_WON && f->close[i] != RI_TIME_NONE && f->close[i] < at &&
                !isnan(f->amount[i]))
                am[m++] = f->amount[i];
        for (int k = 0; k < TM_BANDS - 1; k++)
            t->band_cut[k] = m ? ri_quantile(am, m, (k + 1.0) / TM_BANDS) : 0;
        ri_free(am);
    }
    for (size_t i = 0; i < nd; i++) {
        size_t np;
        ri_time won, created = ri_history_created(h, i);
        if (ri_history_path_get(h, i, at, &pb) != RI_OK)
            continue; /* out of memory for one path: the deal is left out */
        np = pb.n;
        v = pb.v;
        if (np == 0 || ri_history_stage_role(h, v[np - 1].stage) != RI_STATUS_WON ||
            v[np - 1].entered == RI_TIME_NONE)
            continue;
        won = v[np - 1].entered;
        /* whole cycles of deals created a year before or more: a younger cohort has only
         * had time to show its short cycles */
        if (created != RI_TIME_NONE && won >= created && created < at - 365 * (ri_time)DAY)
            push(&t->cycle, &t->ncycle, &capc, (double)(won - created) / DAY);
        for (size_t k = 0; k + 1 < np; k++) {
            int32_t s = v[k].stage;
            double r, dwell;
            if (s < 0 || (size_t)s >= ns || v[k].entered == RI_TIME_NONE ||
                v[k].left == RI_TIME_NONE || ri_history_stage_role(h, s) != RI_STATUS_OPEN)
                continue;
            /* visits that began a year or more before `at`: of a younger one only the
             * quick wins are known yet, and a growing pipeline has many young ones, which
             * would make every open deal look quicker to close than it is */
            if (v[k].entered >= at - 365 * (ri_time)DAY)
                continue;
            r = (double)(won - v[k].entered) / DAY;
            dwell = (double)(v[k].left - v[k].entered) / DAY;
            for (size_t w = 0; w < TM_WEEKS && 7.0 * (double)w <= dwell; w++) {
                size_t c = (size_t)s * TM_WEEKS + w;
                int band = i < f->n ? band_of(t, f->amount[i]) : -1;
                push(&t->r[c], &t->nr[c], &cap[c], r - 7.0 * (double)w);
                if (band >= 0) {
                    size_t cb = c * TM_BANDS + (size_t)band;
                    push(&t->rb[cb], &t->nrb[cb], &capb[cb], r - 7.0 * (double)w);
                }
            }
            push(&t->all, &t->nall, &capall, r);
        }
    }
    for (size_t c = 0; c < ns * TM_WEEKS; c++)
        if (t->nr[c])
            ri_sort_doubles(t->r[c], t->nr[c]);
    for (size_t c = 0; c < ns * TM_WEEKS * TM_BANDS; c++)
        if (t->nrb[c])
            ri_sort_doubles(t->rb[c], t->nrb[c]);
    ri_free(capb);
    ri_path_buf_release(&pb);
    if (t->nall)
        ri_sort_doubles(t->all, t->nall);
    if (t->ncycle)
        ri_sort_doubles(t->cycle, t->ncycle);
    ri_free(cap);
}

/* Values of sorted x[0..n) that are <= v. */
static size_t count_le(const double *x, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* P(close within (a, b] days from now | won, t days spent) from the pool x. */
static double pool_p(const double *x, size_t n, double t, double a, double b)
{
    size_t alive = n - count_le(x, n, t);
    if (alive < MIN_POOL) {
        /* older than (nearly) every won deal was: such deals rarely close; spread what
         * chance there is evenly over a year rather than at once */
        double w = (fmin(b, 365) - fmin(a, 365)) / 365;
        return w > 0 ? w : 0;
    }
    return (double)(count_le(x, n, t + b) - count_le(x, n, t + a)) / (double)alive;
}

static double timing_p(const struct timing *t, int32_t stage, double days_in_stage, double age,
                       double amount, double a, double b)
{
    if (stage >= 0 && (size_t)stage < t->n_stages && !isnan(days_in_stage)) {
        /* the won visits still in this stage at the start of the deal's week in it, of
         * the deal's size band where there are enough */
        size_t w = days_in_stage < 0 ? 0 : (size_t)(days_in_stage / 7);
        size_t c = (size_t)stage * TM_WEEKS + (w < TM_WEEKS ? w : TM_WEEKS - 1);
        double off = 7.0 * (double)(w < TM_WEEKS ? w : TM_WEEKS - 1);
        int band = band_of(t, amount);
        const double *x = t->r[c];
        size_t n = t->nr[c];
        if (band >= 0) {
            const double *xb = t->rb[c * TM_BANDS + (size_t)band];
            size_t nb = t->nrb[c * TM_BANDS + (size_t)band];
            if (nb - count_le(xb, nb, days_in_stage - off) >= MIN_POOL)
                return pool_p(xb, nb, days_in_stage - off, a, b);
        }
        if (n - count_le(x, n, days_in_stage - off) >= MIN_POOL)
            return pool_p(x, n, days_in_stage - off, a, b);
        /* too few won deals stayed this long in this stage: every stage's visits */
        if (t->nall)
            return pool_p(t->all, t->nall, days_in_stage, a, b);
    }
    if (t->ncycle && !isnan(age))
        return pool_p(t->cycle, t->ncycle, age, a, b);
    return 0;
}

/* ------------------------------------------------------------------ new pipeline */

struct newbiz {
    double lambda, p_win;
    double *amount; /* won deals created a year before or more: amount and cycle */
    double *cycle;
    size_t n_amount;
    double mean_amount;
    const struct timing *tm;
};

static void newbiz_fit(const struct ri_frame *f, const struct ri_asof_state *st, ri_time at,
                       const struct timing *tm, struct newbiz *nb)
{
    size_t created = 0, won = 0, closed = 0, cap = 0, capc = 0;
    double sum = 0;
    memset(nb, 0, sizeof(*nb));
    nb->tm = tm;
    for (size_t i = 0; i < f->n; i++) {
        ri_time c = f->created[i];
        if (!st->exists[i] || f->deleted[i] || c == RI_TIME_NONE)
            continue;
        if (c >= at - 90 * (ri_time)DAY && c <= at)
            created++;
        /* the cohort's win rate counts its deals still open as not won: after 6 to 12
         * months most of them are lost, and leaving them out would inflate the rate */
        if (c >= at - 365 * (ri_time)DAY && c < at - 180 * (ri_time)DAY) {
            closed++;
            won += st->status[i] == RI_STATUS_WON;
        }
        /* amounts go with cycles: small deals close faster, and the deals created and won
         * inside one period are mostly small ones */
        if (st->status[i] == RI_STATUS_WON && st->close_date[i] != RI_TIME_NONE &&
            c < at - 365 * (ri_time)DAY && st->close_date[i] >= c && !isnan(st->amount[i])) {
            size_t nc = nb->n_amount;
            push(&nb->cycle, &nc, &capc, (double)(st->close_date[i] - c) / DAY);
            push(&nb->amount, &nb->n_amount, &cap, st->amount[i]);
            sum += st->amount[i];
        }
    }
    nb->lambda = (double)created / 90.0;
    nb->p_win = closed ? (double)won / (double)closed : 0;
    nb->mean_amount = nb->n_amount ? sum / (double)nb->n_amount : 0;
    if (!nb->n_amount)
        nb->lambda = 0;
}

/* Days of creation u in [0, b) for which a deal of cycle c closes inside (a, b]. */
static double fit_len(double c, double a, double b)
{
    double len = b - c - (a - c > 0 ? a - c : 0);
    return len > 0 ? len : 0;
}

/* Expected revenue of the deals created from now on (uniformly over the next b days, at
 * lambda a day, won with p, each like a past won deal: amount and cycle together) that
 * close within (a, b] days: lambda p mean_k(amount_k x fit_len(cycle_k)). */
static double newbiz_expected(const struct newbiz *nb, double a, double b)
{
    double s = 0;
    if (!nb->n_amount || nb->lambda <= 0 || b <= 0)
        return 0;
    for (size_t k = 0; k < nb->n_amount; k++)
        s += nb->amount[k] * fit_len(nb->cycle[k], a, b);
    return nb->lambda * nb->p_win * s / (double)nb->n_amount;
}

/* ------------------------------------------------------------------ Monte Carlo */

struct mc_in {
    size_t n;
    const double *q, *amount; /* per open deal */
    const double *p;          /* P(win), of which q is a part (the timing), for the shock */
    double tau;               /* sd of the period's common shock on the log-odds of P(win) */
    double sigma;             /* sd of the log of the model's error factor (model_error) */
    double base;              /* won so far */
    const struct newbiz *nb;  /* NULL: no new pipeline */
    double a, b;              /* the window, days from now */
};

#define MC_EXACT   4000 /* open deals simulated one by one; the rest summed as a normal */
#define MC_POISSON 2000 /* new wins per path simulated one by one up to this mean */
#define MC_BLOCKS  20   /* path blocks, each with its own period shock */

/* A standard normal draw (Box-Muller, one of the pair). */
static double rng_normal(struct rng *r)
{
    double u1 = rng_unif(r), u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

struct var_idx {
    double v;
    size_t i;
};

static int cmp_var(const void *a, const void *b)
{
    const struct var_idx *x = a, *y = b;
    return x->v > y->v ? -1 : x->v < y->v ? 1 : (x->i > y->i) - (x->i < y->i);
}

/* Adds to each path the deals of idx[0..m) closing in it, with q_i: geometric skipping,
 * so the cost is the number of closes, not deals x paths. */
static void mc_exact(const struct mc_in *in, const struct var_idx *idx, size_t m, size_t sims,
                     struct rng *r, double *sums)
{
    for (size_t e = 0; e < m; e++) {
        size_t i = idx[e].i, k;
        double q = in->q[i], a = in->amount[i], lq;
        if (q >= 1) {
            for (k = 0; k < sims; k++)
                sums[k] += a;
            continue;
        }
        lq = log1p(-q);
        k = (size_t)floor(log(rng_unif(r)) / lq);
        while (k < sims) {
            sums[k] += a;
            k += 1 + (size_t)floor(log(rng_unif(r)) / lq);
        }
    }
}

/* Fills sums[0..sims) with the revenue of each path; returns the analytic mean. The
 * MC_EXACT open deals with the largest variance a^2 q (1 - q) are drawn one by one; the
 * others, many small independent Bernoulli amounts, add a normal draw with their exact
 * mean and variance (their sum is normal to a very good approximation, and drawing 100,000
 * deals in 10,000 paths would cost a thousand times more). New wins: a Poisson number of
 * draws of past won deals, each counted with the chance that its cycle fits the window;
 * drawn one by one up to a mean of MC_POISSON a path, above it as the compound Poisson's
 * normal limit. */
static double mc_run(const struct mc_in *in, size_t sims, uint64_t seed, double *sums)
{
    struct rng r;
    struct var_idx *idx = ri_malloc((in->n + 1) * sizeof(*idx));
    double *qg = ri_malloc((in->n + 1) * sizeof(double)), mean = in->base;
    size_t m = 0, exact, blocks = (in->tau > 0 && in->p) || in->sigma > 0 ? MC_BLOCKS : 1;
    struct mc_in bin = *in;
    rng_seed(&r, seed);
    for (size_t i = 0; i < in->n; i++) {
        double q = in->q[i], a = in->amount[i];
        if (!(q > 0) || !(fabs(a) > 0))
            continue;
        if (q > 1)
            q = 1;
        idx[m++] = (struct var_idx){a * a * q * (1 - q), i};
    }
    exact = m;
    if (m > MC_EXACT) {
        qsort(idx, m, sizeof(*idx), cmp_var);
        exact = MC_EXACT;
    }
    bin.q = qg;
    /* the model's error: a log-normal factor per block, the blocks' factors scaled to a
     * mean of exactly 1 (a range, not a shift); taken at stratified normal quantiles in
     * another order than the period shock's, so that the two are independent */
    double mf[MC_BLOCKS], mfs = 0;
    for (size_t g = 0; g < blocks; g++)
        mfs += mf[g] =
            blocks > 1 && in->sigma > 0
                ? exp(in->sigma *
                      ri_normal_quantile(((double)((g * 7 + 3) % blocks) + 0.5) / (double)blocks))
                : 1;
    for (size_t g = 0; g < blocks; g++)
        mf[g] *= (double)blocks / mfs;
    /* blocks of paths share a period shock z_g on the log-odds (stratified normal
     * quantiles, so that the blocks' mix is the same for every seed) */
    for (size_t g = 0; g < blocks; g++) {
        size_t k0 = sims * g / blocks, k1 = sims * (g + 1) / blocks;
        int shock = blocks > 1 && in->tau > 0 && in->p;
        double z = shock ? in->tau * ri_normal_quantile(((double)g + 0.5) / (double)blocks) : 0;
        double rest_mean = 0, rest_var = 0, bmean = 0;
        for (size_t e = 0; e < m; e++) {
            size_t i = idx[e].i;
            double q = fmin(in->q[i], 1), a = in->amount[i];
            if (shock) {
                double pw = fmin(fmax(in->p[i], 1e-9), 1 - 1e-9);
                double lo = log(pw / (1 - pw)) + z, t = fmin(1, q / pw);
                q = t / (1 + exp(-lo));
            }
            q = fmin(1, q * mf[g]);
            qg[i] = q;
            bmean += q * a;
            if (e >= exact) {
                rest_mean += q * a;
                rest_var += a * a * q * (1 - q);
            }
        }
        mean += bmean * (double)(k1 - k0) / (double)sims;
        for (size_t k = k0; k < k1; k++)
            sums[k] = in->base + rest_mean;
        mc_exact(&bin, idx, exact, k1 - k0, &r, sums + k0);
        if (rest_var > 0)
            for (size_t k = k0; k < k1; k++)
                sums[k] += sqrt(rest_var) * rng_normal(&r);
    }
    ri_free(idx);
    ri_free(qg);
    if (in->nb && in->nb->n_amount && in->nb->lambda > 0 && in->b > 0) {
        const struct newbiz *nb = in->nb;
        double *cum = ri_malloc((nb->n_amount + 1) * sizeof(double)), m1 = 0, m2 = 0, mu;
        double tot = 0;
        for (size_t j = 0; j < nb->n_amount; j++) {
            double l = fit_len(nb->cycle[j], in->a, in->b);
            tot += l;
            cum[j] = tot;
            m1 += l * nb->amount[j];
            m2 += l * nb->amount[j] * nb->amount[j];
        }
        mu = nb->lambda * nb->p_win * tot / (double)nb->n_amount; /* wins inside, a path */
        mean += newbiz_expected(nb, in->a, in->b);
        /* the new pipeline's wins carry the model's error of their block's paths too: its
         * rates and speeds are estimates like the open deals' */
        if (tot > 0 && mu <= MC_POISSON) {
            for (size_t k = 0, g = 0; k < sims; k++) {
                double tt = -log(rng_unif(&r)), muk;
                while (g + 1 < blocks && k >= sims * (g + 1) / blocks)
                    g++;
                muk = mu * mf[g];
                while (tt < muk) {
                    /* a past win, chosen with the chance its cycle fits the window */
                    double x = rng_unif(&r) * tot;
                    size_t lo = 0, hi = nb->n_amount - 1;
                    while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if (cum[mid] < x)
                            lo = mid + 1;
                        else
                            hi = mid;
                    }
                    sums[k] += nb->amount[lo];
                    tt += -log(rng_unif(&r));
                }
            }
        } else if (tot > 0) {
            double em = m1 / tot, ev = m2 / tot;
            for (size_t k = 0, g = 0; k < sims; k++) {
                while (g + 1 < blocks && k >= sims * (g + 1) / blocks)
                    g++;
                sums[k] += mu * mf[g] * em + sqrt(mu * mf[g] * ev) * rng_normal(&r);
            }
        }
        ri_free(cum);
    }
    return mean;
}

static void quantiles(double *sums, size_t sims, double *p10, double *p50, double *p90,
                      double *mean)
{
    double s = 0;
    for (size_t k = 0; k < sims; k++)
        s += sums[k];
    *mean = sims ? s / (double)sims : RI_NAN;
    ri_sort_doubles(sums, sims);
    *p10 = ri_quantile_sorted(sums, sims, 0.10);
    *p50 = ri_quantile_sorted(sums, sims, 0.50);
    *p90 = ri_quantile_sorted(sums, sims, 0.90);
}

/* ------------------------------------------------------------------ one forecast */

struct fc_point {
    ri_time at, start, end;
    double won_so_far, open_exp, new_exp, expected, p10, p50, p90, mc_mean;
    double open_p10, open_p50, open_p90;
    double rep, stage_exp, stage_p10, stage_p90;
};

/* Period of `at` (k = 0) or the one after (k = 1). */
static void period_of(ri_time at, int monthly, int k, ri_time *start, ri_time *end, char *label,
                      size_t size)
{
    int32_t key = ri_period_key(at, !monthly) + k;
    ri_period_bounds(key, !monthly, start, end, label, size);
}

/* Per-deal inputs at st->at for the window [start, end): q (model), q_stage. */
static void deal_q(const struct ri_history *h, const struct ri_frame *f,
                   const struct ri_asof_state *st, const struct timing *tm, const double *pm,
                   const double *ps, ri_time start, ri_time end, double *q, double *qs,
                   double *amount)
{
    ri_time at = st->at;
    double a = (double)((start > at ? start : at) - at) / DAY, b = (double)(end - at) / DAY;
    for (size_t i = 0; i < f->n; i++) {
        double dis, age, pt;
        q[i] = qs[i] = 0;
        amount[i] = 0;
        if (!st->exists[i] || st->status[i] != RI_STATUS_OPEN || f->deleted[i] || isnan(pm[i]))
            continue;
        amount[i] = isnan(st->amount[i]) ? (isnan(f->amount[i]) ? 0 : f->amount[i]) : st->amount[i];
        dis = st->stage_since[i] != RI_TIME_NONE ? (double)(at - st->stage_since[i]) / DAY : RI_NAN;
        age = ri_history_created(h, i) != RI_TIME_NONE
                  ? (double)(at - ri_history_created(h, i)) / DAY
                  : RI_NAN;
        pt = timing_p(tm, st->stage[i], dis, age, amount[i], a, b);
        q[i] = pm[i] * pt;
        qs[i] = (isnan(ps[i]) ? pm[i] : ps[i]) * pt;
    }
}

static double won_between(const struct ri_frame *f, const struct ri_asof_state *st, ri_time from,
                          ri_time to)
{
    double s = 0;
    for (size_t i = 0; i < f->n; i++)
        if (st->exists[i] && !f->deleted[i] && st->status[i] == RI_STATUS_WON &&
            st->close_date[i] != RI_TIME_NONE && st->close_date[i] >= from &&
            st->close_date[i] < to && !isnan(st->amount[i]))
            s += st->amount[i];
    return s;
}

static double rep_between(const struct ri_frame *f, const struct ri_asof_state *st, ri_time from,
                          ri_time to)
{
    double s = 0;
    for (size_t i = 0; i < f->n; i++) {
        double p = st->probability[i], a = st->amount[i];
        if (!st->exists[i] || f->deleted[i] || st->status[i] != RI_STATUS_OPEN ||
            st->close_date[i] == RI_TIME_NONE || st->close_date[i] < from ||
            st->close_date[i] >= to || isnan(p) || isnan(a))
            continue;
        s += (p > 1 ? p / 100 : p) * a;
    }
    return s;
}

/* The spread of whole periods' win rates that is not sampling noise: the standard
 * deviation of the logit of the win rate of the last 8 complete periods before `at`
 * (closed deals by close date, as known at `at`), less the binomial variance of each; the
 * sd of the period shock in the Monte Carlo. 0 when it cannot be told from noise. */
static double period_tau(const struct ri_frame *f, const struct ri_asof_state *st, ri_time at,
                         int monthly)
{
    enum { K = 8 };
    double won[K] = {0}, n[K] = {0}, lg[K], noise = 0, mean = 0, var = 0;
    int32_t last = ri_period_key(at, !monthly);
    int used = 0;
    for (size_t i = 0; i < f->n; i++) {
        int32_t k;
        if (!st->exists[i] || f->deleted[i] || st->close_date[i] == RI_TIME_NONE ||
            (st->status[i] != RI_STATUS_WON && st->status[i] != RI_STATUS_LOST))
            continue;
        k = last - 1 - ri_period_key(st->close_date[i], !monthly);
        if (k < 0 || k >= K)
            continue;
        n[k] += 1;
        won[k] += st->status[i] == RI_STATUS_WON;
    }
    for (int k = 0; k < K; k++) {
        double r;
        if (n[k] < 30 || won[k] < 1 || won[k] >= n[k])
            continue;
        r = won[k] / n[k];
        lg[used++] = log(r / (1 - r));
        noise += 1 / (n[k] * r * (1 - r));
    }
    if (used < 4)
        return 0;
    for (int k = 0; k < used; k++)
        mean += lg[k] / used;
    for (int k = 0; k < used; k++)
        var += (lg[k] - mean) * (lg[k] - mean) / (used - 1);
    var -= noise / used;
    return var > 0 ? sqrt(var) : 0;
}

/* ------------------------------------------------------------------ the model's error */

#define ME_QUARTERS 4     /* past quarters whose outcomes judge the model */
#define ME_DAYS     91    /* each a quarter long */
#define ME_SAMPLE   20000 /* open deals judged per past date, at most (sampled by deal) */
#define ME_MIN_WINS 20    /* wins a quarter must expect to be judged */

/* The model's own error on a period's revenue, from its track record: for each of the
 * last ME_QUARTERS quarters (t0, t0 + ME_DAYS], the deals open at t0 are forecast as the
 * forecast would (P(win) x P(timing) x amount) and set against what they won inside the
 * quarter, as the store knows it at `at`; the quarters' outcomes are complete, so nothing
 * is censored. Returns sigma, the root mean square of log(won / expected) less each
 * quarter's own Bernoulli noise (sum a^2 q (1 - q) / e^2), over the quarters that expected
 * ME_MIN_WINS wins or more; 0 when fewer than 2 did. The Monte Carlo multiplies each path
 * block's closing chances by a log-normal factor with this sigma: the deals' own noise and
 * the period shock leave out that the model itself is off by some percent in a given
 * quarter, which made the P10-P90 range cover too few backtest periods (66 % on the
 * simulated pipeline, 23 % at 1,000,000 deals where the deals' noise is tiny). The model
 * and the timing are the forecast's own (tm, fitted at `at`), which have seen how most of
 * those deals ended, so sigma is if anything too small; a timing fitted at each t0 instead
 * is blind on a young store (no visit a year old) and made sigma swing from 0 to 1. */
static ri_err model_error(struct ri_ctx *ctx, const struct ri_rmodel *rm, const struct ri_mdata *md,
                          const struct timing *tm, ri_time at, double *sigma, size_t *judged)
{
    const struct ri_history *h = ri_mdata_history(md);
    const struct ri_frame *f = ri_mdata_frame(md);
    size_t n = f->n, used = 0;
    struct ri_asof_state s0, now;
    double *pm = dvec(n), *ps = dvec(n), sq = 0;
    ri_err rc;
    *sigma = 0;
    memset(&now, 0, sizeof(now));
    rc = ri_asof_state_init(&s0, h);
    if (!rc)
        rc = ri_asof_state_init(&now, h);
    if (!rc)
        rc = ri_asof(h, at, &now);
    for (int k = 1; !rc && k <= ME_QUARTERS; k++) {
        ri_time t0 = at - (ri_time)k * ME_DAYS * DAY, t1 = t0 + ME_DAYS * (ri_time)DAY;
        size_t open = 0, stride;
        double e = 0, w = 0, v = 0, wins = 0;
        rc = ri_asof(h, t0, &s0);
        if (rc)
            break;
        for (size_t i = 0; i < n; i++)
            open += s0.exists[i] && s0.status[i] == RI_STATUS_OPEN;
        /* every stride-th open deal, so that the cost does not grow with the store */
        stride = open > ME_SAMPLE ? (open + ME_SAMPLE - 1) / ME_SAMPLE : 1;
        for (size_t i = 0, j = 0; i < n; i++)
            if (s0.exists[i] && s0.status[i] == RI_STATUS_OPEN && j++ % stride)
                s0.exists[i] = 0;
        rc = ri_rmodel_p_open(ctx, rm, md, &s0, pm, ps);
        if (rc)
            break;
        for (size_t i = 0; i < n; i++) {
            double a, dis, age, q;
            if (!s0.exists[i] || s0.status[i] != RI_STATUS_OPEN || f->deleted[i] || isnan(pm[i]))
                continue;
            a = isnan(s0.amount[i]) ? 0 : s0.amount[i];
            if (!(a > 0))
                continue;
            dis =
                s0.stage_since[i] != RI_TIME_NONE ? (double)(t0 - s0.stage_since[i]) / DAY : RI_NAN;
            age = ri_history_created(h, i) != RI_TIME_NONE
                      ? (double)(t0 - ri_history_created(h, i)) / DAY
                      : RI_NAN;
            q = fmin(1, pm[i] * timing_p(tm, s0.stage[i], dis, age, a, 0, ME_DAYS));
            e += q * a;
            v += a * a * q * (1 - q);
            wins += q;
            if (now.status[i] == RI_STATUS_WON && now.close_date[i] != RI_TIME_NONE &&
                now.close_date[i] > t0 && now.close_date[i] <= t1)
                w += isnan(now.amount[i]) ? a : now.amount[i];
        }
        /* a quarter expecting few wins is mostly its deals' own noise, and the log of a
         * ratio of few wins is skewed: such a quarter is not judged */
        if (wins >= ME_MIN_WINS && w > 0) {
            double l = log(w / e);
            sq += l * l - v / (e * e);
            used++;
        }
    }
    if (!rc && used >= 2 && sq > 0)
        *sigma = sqrt(sq / (double)used);
    if (judged)
        *judged = used;
    ri_asof_state_release(&s0);
    ri_asof_state_release(&now);
    ri_free(pm);
    ri_free(ps);
    return rc;
}

/* The whole forecast of the window [start, end) at st->at into pt; q/qs/amount scratch. */
static void forecast_point(const struct ri_history *h, const struct ri_frame *f,
                           const struct ri_asof_state *st, const struct timing *tm,
                           const struct newbiz *nb, const double *pm, const double *ps,
                           ri_time start, ri_time end, double tau, double sigma, size_t sims,
                           uint64_t seed, double *q, double *qs, double *amount, double *sums,
                           struct fc_point *pt)
{
    struct mc_in in;
    double a, b, dummy;
    ri_time at = st->at;
    memset(pt, 0, sizeof(*pt));
    pt->at = at;
    pt->start = start;
    pt->end = end;
    deal_q(h, f, st, tm, pm, ps, start, end, q, qs, amount);
    pt->won_so_far = start <= at ? won_between(f, st, start, at + 1) : 0;
    a = (double)((start > at ? start : at) - at) / DAY;
    b = (double)(end - at) / DAY;
    memset(&in, 0, sizeof(in));
    in.n = f->n;
    in.q = q;
    in.amount = amount;
    in.base = pt->won_so_far;
    in.p = pm;
    in.tau = tau;
    in.sigma = sigma;
    pt->open_exp = mc_run(&in, sims, seed, sums) - pt->won_so_far;
    quantiles(sums, sims, &pt->open_p10, &pt->open_p50, &pt->open_p90, &dummy);
    in.nb = nb;
    in.a = a;
    in.b = b;
    pt->expected = mc_run(&in, sims, seed, sums);
    pt->new_exp = pt->expected - pt->won_so_far - pt->open_exp;
    quantiles(sums, sims, &pt->p10, &pt->p50, &pt->p90, &pt->mc_mean);
    in.q = qs;
    in.p = NULL; /* the stage-only baseline gets no period shock nor model error */
    in.sigma = 0;
    pt->stage_exp = mc_run(&in, sims, seed + 1, sums);
    quantiles(sums, sims, &pt->stage_p10, &dummy, &pt->stage_p90, &dummy);
    pt->rep = pt->won_so_far + rep_between(f, st, start > at ? start : at, end);
}

/* ------------------------------------------------------------------ reports */

void ri_forecast_report_free(struct ri_forecast_report *r)
{
    if (!r)
        return;
    ri_free(r->text);
    ri_free(r->json);
    ri_free(r);
}

/* YYYY-MM-DD, or "-" for no date. */
static void date_str(ri_time t, char *out, size_t size)
{
    ri_format_date(t, out, size);
    if (size > 1 && !out[0])
        snprintf(out, size, "-");
}

static void to_period(const struct fc_point *p, const char *label, struct ri_forecast_period *o)
{
    snprintf(o->label, sizeof(o->label), "%s", label);
    o->start = p->start;
    o->end = p->end;
    o->won_so_far = p->won_so_far;
    o->open_expected = p->open_exp;
    o->new_expected = p->new_exp;
    o->expected = p->expected;
    o->p10 = p->p10;
    o->p50 = p->p50;
    o->p90 = p->p90;
    o->mc_mean = p->mc_mean;
    o->rep = p->rep;
    o->open_p10 = p->open_p10;
    o->open_p50 = p->open_p50;
    o->open_p90 = p->open_p90;
    o->open_before_change = p->open_exp;
}

static void period_json(struct ri_buf *j, const struct ri_forecast_period *p)
{
    ri_buf_addf(j,
                "{\"period\":\"%s\",\"won_so_far\":%.2f,\"open_expected\":%.2f,"
                "\"new_expected\":%.2f,\"expected\":%.2f,\"p10\":%.2f,\"p50\":%.2f,"
                "\"p90\":%.2f,\"mc_mean\":%.2f,\"open_p10\":%.2f,\"open_p50\":%.2f,"
                "\"open_p90\":%.2f,\"rep\":%.2f,\"open_before_change\":%.2f}",
                p->label, p->won_so_far, p->open_expected, p->new_expected, p->expected, p->p10,
                p->p50, p->p90, p->mc_mean, p->open_p10, p->open_p50, p->open_p90, p->rep,
                p->open_before_change);
}

static void period_text(struct ri_buf *t, const struct ri_forecast_period *p)
{
    ri_buf_addf(t, "  %-9s %12.0f %12.0f %10.0f %12.0f %12.0f %12.0f %12.0f %12.0f\n", p->label,
                p->won_so_far, p->open_expected, p->new_expected, p->expected, p->p10, p->p50,
                p->p90, p->rep);
}

/* ------------------------------------------------------------------ forecast */

struct topdeal {
    size_t i;
    double v;
};

static int cmp_top(const void *a, const void *b)
{
    double x = fabs(((const struct topdeal *)a)->v), y = fabs(((const struct topdeal *)b)->v);
    return x < y ? 1 : x > y ? -1 : 0;
}

static ri_err save_forecast(struct ri_ctx *ctx, ri_time as_of, size_t sims, uint64_t seed,
                            const struct ri_forecast_period *p, const struct ri_history *h,
                            const double *q0, const double *amount)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    int64_t run = 0;
    ri_err rc = ri_store_begin(ctx, st);
    if (rc)
        return rc;
    rc = ri_stmt_prepare(ctx, st,
                         "DELETE FROM forecast_deals WHERE run_id IN (SELECT id FROM "
                         "forecast_runs WHERE as_of = ?)",
                         &s);
    if (!rc) {
        ri_stmt_bind_time(s, 1, as_of);
        rc = ri_stmt_run(ctx, s);
    }
    ri_stmt_free(s);
    s = NULL;
    if (!rc)
        rc = ri_stmt_prepare(ctx, st, "DELETE FROM forecast_runs WHERE as_of = ?", &s);
    if (!rc) {
        ri_stmt_bind_time(s, 1, as_of);
        rc = ri_stmt_run(ctx, s);
    }
    ri_stmt_free(s);
    s = NULL;
    for (int k = 0; k < 2 && !rc; k++) {
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO forecast_runs(created_at, as_of, period, start, end, "
                             "sims, seed, won_so_far, open_expected, new_expected, expected, p10, "
                             "p50, p90, rep) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             &s);
        if (!rc) {
            ri_stmt_bind_i64(s, 1, (int64_t)time(NULL));
            ri_stmt_bind_time(s, 2, as_of);
            ri_stmt_bind_text(s, 3, p[k].label, strlen(p[k].label));
            ri_stmt_bind_time(s, 4, p[k].start);
            ri_stmt_bind_time(s, 5, p[k].end);
            ri_stmt_bind_i64(s, 6, (int64_t)sims);
            ri_stmt_bind_i64(s, 7, (int64_t)seed);
            ri_stmt_bind_f64(s, 8, p[k].won_so_far);
            ri_stmt_bind_f64(s, 9, p[k].open_expected);
            ri_stmt_bind_f64(s, 10, p[k].new_expected);
            ri_stmt_bind_f64(s, 11, p[k].expected);
            ri_stmt_bind_f64(s, 12, p[k].p10);
            ri_stmt_bind_f64(s, 13, p[k].p50);
            ri_stmt_bind_f64(s, 14, p[k].p90);
            ri_stmt_bind_f64(s, 15, p[k].rep);
            rc = ri_stmt_run(ctx, s);
            if (k == 0)
                run = ri_store_last_rowid(st);
        }
        ri_stmt_free(s);
        s = NULL;
    }
    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO forecast_deals(run_id, deal_id, q, amount, expected) "
                             "VALUES (?, (SELECT id FROM deals WHERE crm_id = ?), ?, ?, ?)",
                             &s);
    for (size_t i = 0; !rc && i < ri_history_n_deals(h); i++) {
        const char *id;
        if (!(q0[i] > 0))
            continue;
        id = ri_history_deal_id(h, i);
        ri_stmt_reset(s);
        ri_stmt_bind_i64(s, 1, run);
        ri_stmt_bind_text(s, 2, id, strlen(id));
        ri_stmt_bind_f64(s, 3, q0[i]);
        ri_stmt_bind_f64(s, 4, amount[i]);
        ri_stmt_bind_f64(s, 5, q0[i] * amount[i]);
        rc = ri_stmt_run(ctx, s);
    }
    ri_stmt_free(s);
    if (!rc)
        return ri_store_commit(ctx, st);
    ri_store_rollback(st);
    return rc;
}

/* The recent change of segments' win rates at st->at (winshift.c), applied: each deal's
 * P(win) pm times its factor (wf, capped so that P(win) stays at most 1; 1 for most
 * deals), as the forecast assumes the change carries on. */
static ri_err recent_change(const struct ri_history *h, const struct ri_frame *f,
                            const struct ri_asof_state *st, double *pm, struct ri_winshift *ws,
                            double *wf)
{
    struct ri_asof_state ya;
    ri_err rc = ri_asof_state_init(&ya, h);
    if (!rc)
        rc = ri_asof(h, st->at - (ri_time)364 * DAY, &ya);
    if (!rc)
        ri_winshift_fit(f, st, &ya, ws);
    ri_asof_state_release(&ya);
    for (size_t i = 0; !rc && i < f->n; i++) {
        double x = ri_winshift_factor(ws, f, i);
        wf[i] = fabs(x - 1) > 0 && pm[i] > 0 ? fmin(1, pm[i] * x) / pm[i] : 1;
        pm[i] *= wf[i];
    }
    return rc;
}

/* The open deals' expected revenue of a period without the change (q has it):
 * open_expected scaled as sum q / wf x amount over sum q x amount. */
static double before_change(double open_exp, const double *q, const double *wf,
                            const double *amount, size_t n)
{
    double a = 0, b = 0;
    for (size_t i = 0; i < n; i++)
        if (q[i] > 0 && amount[i] > 0) {
            a += q[i] * amount[i];
            b += q[i] / wf[i] * amount[i];
        }
    return a > 0 ? open_exp * b / a : open_exp;
}

static void change_text(struct ri_buf *t, const struct ri_winshift *ws, const struct ri_frame *f,
                        const struct ri_forecast_period *per)
{
    char since[16], lab[160];
    date_str(ws->since + DAY, since, sizeof(since));
    if (!ws->tested) {
        ri_buf_adds(t, "  Recent change: too little history to set the deals created lately "
                       "against the same weeks a year earlier.\n");
        return;
    }
    if (!ws->n) {
        ri_buf_addf(t,
                    "  Recent change: none. No segment's deals created since %s win at a "
                    "different rate so far than the same weeks a year earlier (%zu segments "
                    "tested, |z| >= %.2f needed).\n",
                    since, ws->tested, ws->z_crit);
        return;
    }
    ri_buf_addf(t,
                "  Recent change: deals created since %s win at a different rate so far than "
                "the same weeks a year earlier (%zu segments tested, |z| >= %.2f needed):\n",
                since, ws->tested, ws->z_crit);
    for (size_t k = 0; k < ws->n; k++) {
        const struct ri_winshift_seg *s = &ws->seg[k];
        ri_winshift_label(ws, f, k, lab, sizeof(lab));
        ri_buf_addf(t,
                    "    %s: x%.2f (%.0f wins against %.1f expected; a year earlier %.0f "
                    "against %.1f; z %+.1f)\n",
                    lab, s->factor, s->o1, s->e1, s->o0, s->e0, s->z);
    }
    ri_buf_adds(t, "  The forecast above assumes it carries on for the deals created since then. "
                   "Without it the open deals would bring");
    for (int k = 0; k < 2; k++)
        ri_buf_addf(
            t, "%s %s %.0f (%+.1f %%)", k ? "," : "", per[k].label, per[k].open_before_change,
            per[k].open_expected > 0 ? 100 * (per[k].open_before_change / per[k].open_expected - 1)
                                     : 0.0);
    ri_buf_adds(t, ".\n");
}

static void change_json(struct ri_buf *j, const struct ri_winshift *ws, const struct ri_frame *f)
{
    char since[16], lab[160];
    date_str(ws->since + DAY, since, sizeof(since));
    ri_buf_addf(j,
                "\"recent_change\":{\"since\":\"%s\",\"tested\":%zu,\"z_crit\":%.4f,"
                "\"segments\":[",
                since, ws->tested, ws->z_crit);
    for (size_t k = 0; k < ws->n; k++) {
        const struct ri_winshift_seg *s = &ws->seg[k];
        ri_winshift_label(ws, f, k, lab, sizeof(lab));
        ri_buf_adds(j, k ? ",{\"segment\":" : "{\"segment\":");
        ri_buf_add_json_str(j, lab, strlen(lab));
        ri_buf_addf(j,
                    ",\"factor\":%.4f,\"z\":%.3f,\"won\":%.0f,\"expected\":%.2f,"
                    "\"won_year_ago\":%.0f,\"expected_year_ago\":%.2f}",
                    s->factor, s->z, s->o1, s->e1, s->o0, s->e0);
    }
    ri_buf_adds(j, "]},");
}

ri_err ri_forecast(struct ri_ctx *ctx, const struct ri_forecast_opts *o,
                   struct ri_forecast_report **out)
{
    struct ri_mdata *md = NULL;
    struct ri_rmodel *rm = NULL;
    struct ri_asof_state st;
    struct timing tm;
    struct newbiz nb;
    struct ri_buf t = RI_BUF_INIT, j = RI_BUF_INIT;
    struct ri_forecast_report *rep = ri_calloc(1, sizeof(*rep));
    const struct ri_history *h;
    const struct ri_frame *f;
    double *pm = NULL, *ps = NULL, *q = NULL, *qs = NULL, *amount = NULL, *sums = NULL;
    double *q0 = NULL, *a0 = NULL, *wf = NULL;
    struct ri_winshift ws;
    size_t sims = o->sims ? o->sims : 10000, n;
    struct fc_point pt[2];
    char a[16];
    double tau, sigma = 0;
    size_t judged = 0;
    int signal = 0;
    ri_time at;
    ri_err rc;

    *out = NULL;
    memset(&st, 0, sizeof(st));
    memset(&tm, 0, sizeof(tm));
    memset(&nb, 0, sizeof(nb));
    memset(&ws, 0, sizeof(ws));
    rc = ri_mdata_load(ctx, o->as_of, &md);
    if (rc)
        goto out;
    h = ri_mdata_history(md);
    f = ri_mdata_frame(md);
    at = ri_mdata_as_of(md);
    if (at == RI_TIME_NONE || !ri_mdata_history_mode(md)) {
        rc = ri_fail(ctx, RI_ERR_MODEL, "a forecast needs dated deals with stage history");
        goto out;
    }
    rc = ri_rmodel_load_active(ctx, md, &rm, &signal);
    if (rc)
        goto out;
    n = f->n;
    pm = dvec(n), ps = dvec(n), q = dvec(n), qs = dvec(n), amount = dvec(n);
    q0 = dvec(n), a0 = dvec(n), sums = dvec(sims), wf = dvec(n);
    rc = ri_asof_state_init(&st, h);
    if (!rc)
        rc = ri_asof(h, at, &st);
    if (!rc)
        rc = ri_rmodel_p_open(ctx, rm, md, &st, pm, ps);
    if (!rc)
        rc = recent_change(h, f, &st, pm, &ws, wf);
    if (rc)
        goto out;
    timing_fit(h, f, at + 1, &tm);
    if (o->model_error < 0)
        rc = model_error(ctx, rm, md, &tm, at, &sigma, &judged);
    else
        sigma = o->model_error;
    if (rc)
        goto out;
    newbiz_fit(f, &st, at, &tm, &nb);
    tau = period_tau(f, &st, at, o->monthly);
    for (int k = 0; k < 2; k++) {
        ri_time s0, s1;
        char label[16];
        period_of(at, o->monthly, k, &s0, &s1, label, sizeof(label));
        forecast_point(h, f, &st, &tm, &nb, pm, ps, s0, s1, tau, sigma, sims, o->seed + (uint64_t)k,
                       q, qs, amount, sums, &pt[k]);
        to_period(&pt[k], label, &rep->period[k]);
        rep->period[k].open_before_change = before_change(pt[k].open_exp, q, wf, amount, n);
        if (k == 0) {
            memcpy(q0, q, n * sizeof(double));
            memcpy(a0, amount, n * sizeof(double));
        }
    }
    /* what-if: change the inputs and simulate again with the same seeds */
    if (o->drop_deal || o->win_deal || o->shift_segment || o->no_zombies) {
        double *pm2 = ri_malloc((n + 1) * sizeof(double));
        int dim = -1;
        int32_t code = -1;
        ptrdiff_t drop = o->drop_deal ? ri_history_find(h, o->drop_deal) : -1;
        ptrdiff_t win = o->win_deal ? ri_history_find(h, o->win_deal) : -1;
        if ((o->drop_deal && drop < 0) || (o->win_deal && win < 0)) {
            ri_free(pm2);
            rc = ri_fail(ctx, RI_ERR_NOTFOUND, "no deal '%s' in the store",
                         o->drop_deal && drop < 0 ? o->drop_deal : o->win_deal);
            goto out;
        }
        if (o->shift_segment) {
            const char *eq = strchr(o->shift_segment, '=');
            char dn[64];
            if (!eq || (size_t)(eq - o->shift_segment) >= sizeof(dn)) {
                ri_free(pm2);
                rc = ri_fail(ctx, RI_ERR_INVALID, "--shift takes DIM=VALUE:POINTS, not '%s'",
                             o->shift_segment);
                goto out;
            }
            snprintf(dn, sizeof(dn), "%.*s", (int)(eq - o->shift_segment), o->shift_segment);
            dim = ri_frame_dim(f, dn);
            if (dim >= 0)
                code = ri_intern_find(&f->dims[dim].values, eq + 1, strlen(eq + 1));
            if (dim < 0 || code < 0) {
                ri_free(pm2);
                rc = ri_fail(ctx, RI_ERR_NOTFOUND, "no segment '%s'", o->shift_segment);
                goto out;
            }
        }
        for (size_t i = 0; i < n; i++) {
            pm2[i] = pm[i];
            if (isnan(pm2[i]))
                continue;
            if (dim >= 0 && f->dims[dim].code[i] == code)
                pm2[i] = fmin(1, fmax(0, pm2[i] + o->shift));
            if (o->no_zombies && st.close_date[i] != RI_TIME_NONE &&
                st.close_date[i] < at - ZOMBIE_DAYS * (ri_time)DAY)
                pm2[i] = 0;
            if ((ptrdiff_t)i == drop || (ptrdiff_t)i == win)
                pm2[i] = 0;
        }
        for (int k = 0; k < 2; k++) {
            ri_time s0, s1;
            char label[16];
            struct fc_point w;
            period_of(at, o->monthly, k, &s0, &s1, label, sizeof(label));
            forecast_point(h, f, &st, &tm, &nb, pm2, ps, s0, s1, tau, sigma, sims,
                           o->seed + (uint64_t)k, q, qs, amount, sums, &w);
            if (win >= 0 && k == 0 && !isnan(f->amount[win])) {
                double wa = isnan(st.amount[win]) ? f->amount[win] : st.amount[win];
                w.won_so_far += wa;
                w.expected += wa;
                w.p10 += wa;
                w.p50 += wa;
                w.p90 += wa;
            }
            to_period(&w, label, &rep->whatif[k]);
        }
        rep->has_whatif = 1;
        ri_free(pm2);
    }

    date_str(at, a, sizeof(a));
    ri_buf_addf(&t, "Forecast as of %s (%zu paths, seed %llu)%s\n", a, sims,
                (unsigned long long)o->seed,
                signal ? "" : "; the model found no reliable signal: treat with care");
    ri_buf_addf(&t, "  %-9s %12s %12s %10s %12s %12s %12s %12s %12s\n", "period", "won so far",
                "open deals", "new", "expected", "P10", "P50", "P90", "rep forecast");
    for (int k = 0; k < 2; k++)
        period_text(&t, &rep->period[k]);
    if (o->model_error >= 0)
        ri_buf_addf(&t,
                    "  The range includes a model error of %.1f %% on a quarter's revenue from "
                    "the open deals (--model-error).\n",
                    100 * (exp(sigma) - 1));
    else if (sigma > 0)
        ri_buf_addf(&t,
                    "  The range includes the model's own error: a quarter's revenue from the open "
                    "deals off by %.1f %% (root mean square over the last %zu quarters).\n",
                    100 * (exp(sigma) - 1), judged);
    else
        ri_buf_adds(&t, "  The range holds the deals' own chance and the period's: too few past "
                        "quarters to judge the model's own error.\n");
    change_text(&t, &ws, f, rep->period);
    if (rep->has_whatif) {
        ri_buf_adds(&t, "What-if:\n");
        for (int k = 0; k < 2; k++)
            period_text(&t, &rep->whatif[k]);
    }
    /* categories of the current period by the model's probability of closing in it */
    {
        double cat[3] = {0, 0, 0};
        size_t cn[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++) {
            int c;
            if (!(q0[i] > 0))
                continue;
            c = q0[i] >= 0.7 ? 0 : q0[i] >= 0.3 ? 1 : 2;
            cat[c] += q0[i] * a0[i];
            cn[c]++;
        }
        ri_buf_addf(&t,
                    "  %s from open deals: commit (P >= 70 %%) %.0f in %zu deals, best case "
                    "(30-70 %%) %.0f in %zu, pipeline (< 30 %%) %.0f in %zu\n",
                    rep->period[0].label, cat[0], cn[0], cat[1], cn[1], cat[2], cn[2]);
        ri_buf_adds(&j, "{\"as_of\":\"");
        ri_buf_adds(&j, a);
        ri_buf_addf(&j,
                    "\",\"sims\":%zu,\"seed\":%llu,\"signal\":%s,\"model_error\":%.4f,"
                    "\"model_error_quarters\":%zu,\"periods\":[",
                    sims, (unsigned long long)o->seed, signal ? "true" : "false", sigma, judged);
        period_json(&j, &rep->period[0]);
        ri_buf_addc(&j, ',');
        period_json(&j, &rep->period[1]);
        ri_buf_adds(&j, "],");
        change_json(&j, &ws, f);
        ri_buf_addf(&j, "\"categories\":{\"commit\":%.2f,\"best_case\":%.2f,\"pipeline\":%.2f},",
                    cat[0], cat[1], cat[2]);
    }
    if (rep->has_whatif) {
        ri_buf_adds(&j, "\"whatif\":[");
        period_json(&j, &rep->whatif[0]);
        ri_buf_addc(&j, ',');
        period_json(&j, &rep->whatif[1]);
        ri_buf_adds(&j, "],");
    }
    /* contributions by segment and the largest deals; the gap to the rep forecast */
    {
        int dim = ri_frame_dim(f, o->by ? o->by : "region");
        struct topdeal *td = ri_malloc((n + 1) * sizeof(*td)),
                       *gap = ri_malloc((n + 1) * sizeof(*gap));
        size_t ntd = 0, ngap = 0;
        ri_time s0 = rep->period[0].start, s1 = rep->period[0].end;
        ri_buf_adds(&j, "\"segments\":[");
        if (dim >= 0) {
            size_t nv = f->dims[dim].values.n;
            double *sv = ri_calloc(nv + 1, sizeof(double));
            for (size_t i = 0; i < n; i++)
                if (q0[i] > 0 && f->dims[dim].code[i] >= 0)
                    sv[f->dims[dim].code[i]] += q0[i] * a0[i];
            ri_buf_addf(&t, "  by %s:", f->dims[dim].name);
            for (size_t v = 0; v < nv; v++) {
                const char *name = ri_intern_str(&f->dims[dim].values, (int32_t)v);
                ri_buf_addf(&t, "%s %s %.0f", v ? "," : "", name, sv[v]);
                ri_buf_addf(&j, "%s{\"dim\":", v ? "," : "");
                ri_buf_add_json_str(&j, f->dims[dim].name, strlen(f->dims[dim].name));
                ri_buf_adds(&j, ",\"value\":");
                ri_buf_add_json_str(&j, name, strlen(name));
                ri_buf_addf(&j, ",\"expected\":%.2f}", sv[v]);
            }
            ri_buf_addc(&t, '\n');
            ri_free(sv);
        }
        ri_buf_adds(&j, "],\"largest\":[");
        for (size_t i = 0; i < n; i++) {
            double pr = st.probability[i];
            if (q0[i] > 0)
                td[ntd++] = (struct topdeal){i, q0[i] * a0[i]};
            if (st.exists[i] && st.status[i] == RI_STATUS_OPEN && !isnan(pr) &&
                !isnan(st.amount[i])) {
                int inside = st.close_date[i] != RI_TIME_NONE && st.close_date[i] >= at &&
                             st.close_date[i] < s1 && st.close_date[i] >= s0;
                double r = inside ? (pr > 1 ? pr / 100 : pr) * st.amount[i] : 0;
                double m = (q0[i] > 0 ? q0[i] * a0[i] : 0);
                if (fabs(r - m) > 1e-9)
                    gap[ngap++] = (struct topdeal){i, r - m};
            }
        }
        qsort(td, ntd, sizeof(*td), cmp_top);
        qsort(gap, ngap, sizeof(*gap), cmp_top);
        ri_buf_adds(&t, "  largest expected contributions:");
        for (size_t k = 0; k < ntd && k < 5; k++) {
            const char *id = ri_history_deal_id(h, td[k].i);
            ri_buf_addf(&t, "%s %s %.0f", k ? "," : "", id, td[k].v);
            ri_buf_addf(&j, "%s{\"id\":", k ? "," : "");
            ri_buf_add_json_str(&j, id, strlen(id));
            ri_buf_addf(&j, ",\"expected\":%.2f}", td[k].v);
        }
        ri_buf_addf(&t, "\n  rep forecast minus model for %s: %.0f; deals that explain most of it:",
                    rep->period[0].label, rep->period[0].rep - rep->period[0].expected);
        ri_buf_adds(&j, "],\"gap\":[");
        for (size_t k = 0; k < ngap && k < 5; k++) {
            const char *id = ri_history_deal_id(h, gap[k].i);
            ri_buf_addf(&t, "%s %s %+.0f", k ? "," : "", id, gap[k].v);
            ri_buf_addf(&j, "%s{\"id\":", k ? "," : "");
            ri_buf_add_json_str(&j, id, strlen(id));
            ri_buf_addf(&j, ",\"rep_minus_model\":%.2f}", gap[k].v);
        }
        ri_buf_adds(&t, "\n");
        ri_buf_adds(&j, "]}\n");
        ri_free(td);
        ri_free(gap);
    }
    if (o->save) {
        rc = save_forecast(ctx, at, sims, o->seed, rep->period, h, q0, a0);
        if (rc)
            goto out;
    }
    rep->text = ri_buf_detach(&t, NULL);
    rep->json = ri_buf_detach(&j, NULL);
    *out = rep;
    rep = NULL;
out:
    ri_free(pm);
    ri_free(ps);
    ri_free(q);
    ri_free(qs);
    ri_free(amount);
    ri_free(q0);
    ri_free(a0);
    ri_free(wf);
    ri_free(sums);
    ri_free(nb.amount);
    ri_free(nb.cycle);
    timing_release(&tm);
    ri_asof_state_release(&st);
    ri_rmodel_free(rm);
    ri_mdata_free(md);
    ri_buf_release(&t);
    ri_buf_release(&j);
    ri_forecast_report_free(rep);
    return rc;
}

/* ------------------------------------------------------------------ backtest */

struct bt_acc {
    size_t n, in_band, covered, ranged;
    double abs_err, actual, ape, err;
};

static void bt_add(struct bt_acc *b, double f, double a, double lo, double hi)
{
    if (!(a > 0))
        return;
    b->n++;
    b->abs_err += fabs(f - a);
    b->err += f - a;
    b->actual += a;
    b->ape += fabs(f - a) / a;
    b->in_band += f >= 0.85 * a && f <= 1.15 * a;
    if (!isnan(lo)) {
        b->ranged++;
        b->covered += lo <= a && a <= hi;
    }
}

static void bt_score(const struct bt_acc *b, struct ri_backtest_score *s)
{
    s->n = b->n;
    s->wape = b->actual > 0 ? b->abs_err / b->actual : RI_NAN;
    s->mape = b->n ? b->ape / (double)b->n : RI_NAN;
    s->bias = b->actual > 0 ? b->err / b->actual : RI_NAN;
    s->within = b->n ? (double)b->in_band / (double)b->n : RI_NAN;
    s->coverage = b->ranged ? (double)b->covered / (double)b->ranged : RI_NAN;
}

#define BT_WEEKS 14

/* One judged forecast of a backtest, kept for the store. */
struct bt_row {
    ri_time as_of;
    char label[16];
    int week;
    double forecast, p10, p90, actual, rep, stage_only;
};

/* Writes a backtest's summary (backtest_runs) and its points (backtest_points) in one
 * transaction, for the dashboard and the report. */
static ri_err save_backtest(struct ri_ctx *ctx, const struct ri_backtest_opts *o, ri_time from,
                            ri_time to, const struct ri_backtest_score *bt,
                            const struct bt_row *rows, size_t n)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    int64_t run = 0, now = (int64_t)time(NULL);
    const char *period = o->monthly ? "month" : "quarter";
    ri_err rc = ri_store_begin(ctx, st);
    if (rc)
        return rc;
    rc = ri_stmt_prepare(ctx, st,
                         "INSERT INTO backtest_runs(created_at, period, from_t, to_t, n, wape, "
                         "mape, bias, within_band, coverage, rep_wape, rep_bias, stage_wape, "
                         "stage_bias) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, now);
        ri_stmt_bind_text(s, 2, period, strlen(period));
        ri_stmt_bind_time(s, 3, from);
        ri_stmt_bind_time(s, 4, to);
        ri_stmt_bind_i64(s, 5, (int64_t)bt[0].n);
        ri_stmt_bind_f64(s, 6, bt[0].wape);
        ri_stmt_bind_f64(s, 7, bt[0].mape);
        ri_stmt_bind_f64(s, 8, bt[0].bias);
        ri_stmt_bind_f64(s, 9, bt[0].within);
        ri_stmt_bind_f64(s, 10, bt[0].coverage);
        ri_stmt_bind_f64(s, 11, bt[1].wape);
        ri_stmt_bind_f64(s, 12, bt[1].bias);
        ri_stmt_bind_f64(s, 13, bt[2].wape);
        ri_stmt_bind_f64(s, 14, bt[2].bias);
        rc = ri_stmt_run(ctx, s);
        run = ri_store_last_rowid(st);
    }
    ri_stmt_free(s);
    s = NULL;
    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO backtest_points(created_at, as_of, period, week, "
                             "forecast, p10, p90, actual, rep, stage_only, run_id) VALUES (?, ?, "
                             "?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             &s);
    for (size_t i = 0; !rc && i < n; i++) {
        const struct bt_row *r = &rows[i];
        ri_stmt_reset(s);
        ri_stmt_bind_i64(s, 1, now);
        ri_stmt_bind_time(s, 2, r->as_of);
        ri_stmt_bind_text(s, 3, r->label, strlen(r->label));
        ri_stmt_bind_i64(s, 4, r->week);
        ri_stmt_bind_f64(s, 5, r->forecast);
        ri_stmt_bind_f64(s, 6, r->p10);
        ri_stmt_bind_f64(s, 7, r->p90);
        ri_stmt_bind_f64(s, 8, r->actual);
        ri_stmt_bind_f64(s, 9, r->rep);
        ri_stmt_bind_f64(s, 10, r->stage_only);
        ri_stmt_bind_i64(s, 11, run);
        rc = ri_stmt_run(ctx, s);
    }
    ri_stmt_free(s);
    if (!rc)
        rc = ri_store_commit(ctx, st);
    if (rc)
        ri_store_rollback(st);
    return rc;
}

ri_err ri_backtest(struct ri_ctx *ctx, const struct ri_backtest_opts *o,
                   struct ri_forecast_report **out)
{
    struct ri_mdata *md = NULL;
    struct ri_rmodel *rm = NULL;
    struct ri_asof_state st, fin;
    struct ri_buf t = RI_BUF_INIT, j = RI_BUF_INIT;
    struct ri_forecast_report *rep = ri_calloc(1, sizeof(*rep));
    const struct ri_history *h;
    const struct ri_frame *f;
    double *pm = NULL, *ps = NULL, *q = NULL, *qs = NULL, *amount = NULL, *sums = NULL;
    double *wf = NULL;
    struct ri_winshift wsh;
    size_t sims = o->sims ? o->sims : 2000, n;
    struct bt_acc acc[3], wk[BT_WEEKS][3];
    int32_t model_key = INT32_MIN;
    ri_time at, from, to, step = (ri_time)(o->every_days > 0 ? o->every_days : 7) * DAY;
    double sigma = 0;
    char a1[16], a2[16];
    struct bt_row *rows = NULL;
    size_t nrows = 0, caprows = 0;
    ri_err rc;

    *out = NULL;
    memset(&st, 0, sizeof(st));
    memset(&fin, 0, sizeof(fin));
    memset(acc, 0, sizeof(acc));
    memset(wk, 0, sizeof(wk));
    rc = ri_mdata_load(ctx, RI_TIME_NONE, &md);
    if (rc)
        goto out;
    h = ri_mdata_history(md);
    f = ri_mdata_frame(md);
    at = ri_mdata_as_of(md);
    if (at == RI_TIME_NONE || !ri_mdata_history_mode(md)) {
        rc = ri_fail(ctx, RI_ERR_MODEL, "a backtest needs dated deals with stage history");
        goto out;
    }
    /* default: the last 4 complete periods */
    {
        int32_t last = ri_period_key(at, !o->monthly);
        ri_time s, e;
        char lab[16];
        ri_period_bounds(last - 4, !o->monthly, &s, &e, lab, sizeof(lab));
        from = o->from != RI_TIME_NONE ? o->from : s;
        ri_period_bounds(last, !o->monthly, &s, &e, lab, sizeof(lab));
        to = o->to != RI_TIME_NONE ? o->to : s;
    }
    n = f->n;
    pm = dvec(n), ps = dvec(n), q = dvec(n), qs = dvec(n), amount = dvec(n), wf = dvec(n);
    sums = dvec(sims);
    rc = ri_asof_state_init(&st, h);
    if (!rc)
        rc = ri_asof_state_init(&fin, h);
    if (!rc)
        rc = ri_asof(h, at, &fin);
    if (rc)
        goto out;
    date_str(from, a1, sizeof(a1));
    date_str(to, a2, sizeof(a2));
    ri_buf_addf(&t,
                "Backtest: forecasts as of every %d days from %s to %s, each with only what "
                "was known then (the risk model refitted at the start of each period), "
                "against what closed by the end of the period.\n",
                (int)(step / DAY), a1, a2);
    ri_buf_addf(&t, "  %-10s %-9s %4s %12s %12s %12s %12s %12s %12s\n", "as of", "period", "week",
                "forecast", "P10", "P90", "actual", "rep", "stage only");
    ri_buf_addf(&j, "{\"from\":\"%s\",\"to\":\"%s\",\"points\":[", a1, a2);
    for (ri_time w = from; !rc && w < to; w += step) {
        ri_time s0, s1;
        char label[16], ws[16];
        int32_t key = ri_period_key(w, !o->monthly);
        struct timing tm;
        struct newbiz nb;
        struct fc_point pt;
        double actual, tau;
        int week;
        ri_period_bounds(key, !o->monthly, &s0, &s1, label, sizeof(label));
        if (s1 > at + DAY)
            break; /* the period has not ended: nothing to compare with */
        if (key != model_key) {
            ri_time fit_at = s0 - 1;
            ri_rmodel_free(rm);
            rm = NULL;
            rc = ri_rmodel_fit(ctx, md, fit_at, &o->model, &rm);
            if (!rc) {
                /* the model's error as it stood when it was fitted */
                struct timing tf;
                timing_fit(h, f, fit_at + 1, &tf);
                rc = model_error(ctx, rm, md, &tf, fit_at, &sigma, NULL);
                timing_release(&tf);
            }
            if (rc)
                break;
            model_key = key;
        }
        rc = ri_asof(h, w, &st);
        if (!rc)
            rc = ri_rmodel_p_open(ctx, rm, md, &st, pm, ps);
        /* the recent change as the forecast then would have found and applied it */
        if (!rc)
            rc = recent_change(h, f, &st, pm, &wsh, wf);
        if (rc)
            break;
        timing_fit(h, f, w + 1, &tm);
        newbiz_fit(f, &st, w, &tm, &nb);
        tau = period_tau(f, &st, w, o->monthly);
        forecast_point(h, f, &st, &tm, &nb, pm, ps, s0, s1, tau, sigma, sims, o->seed, q, qs,
                       amount, sums, &pt);
        ri_free(nb.amount);
        ri_free(nb.cycle);
        timing_release(&tm);
        actual = won_between(f, &fin, s0, s1);
        week = (int)((w - s0) / (7 * DAY));
        if (week >= BT_WEEKS)
            week = BT_WEEKS - 1;
        bt_add(&acc[0], pt.expected, actual, pt.p10, pt.p90);
        bt_add(&acc[1], pt.rep, actual, RI_NAN, RI_NAN);
        bt_add(&acc[2], pt.stage_exp, actual, pt.stage_p10, pt.stage_p90);
        bt_add(&wk[week][0], pt.expected, actual, pt.p10, pt.p90);
        bt_add(&wk[week][1], pt.rep, actual, RI_NAN, RI_NAN);
        bt_add(&wk[week][2], pt.stage_exp, actual, pt.stage_p10, pt.stage_p90);
        if (nrows == caprows) {
            caprows = caprows ? 2 * caprows : 64;
            rows = ri_realloc(rows, caprows * sizeof(*rows));
        }
        rows[nrows].as_of = w;
        snprintf(rows[nrows].label, sizeof(rows[nrows].label), "%s", label);
        rows[nrows].week = week + 1;
        rows[nrows].forecast = pt.expected;
        rows[nrows].p10 = pt.p10;
        rows[nrows].p90 = pt.p90;
        rows[nrows].actual = actual;
        rows[nrows].rep = pt.rep;
        rows[nrows].stage_only = pt.stage_exp;
        nrows++;
        date_str(w, ws, sizeof(ws));
        ri_buf_addf(&t, "  %-10s %-9s %4d %12.0f %12.0f %12.0f %12.0f %12.0f %12.0f\n", ws, label,
                    week + 1, pt.expected, pt.p10, pt.p90, actual, pt.rep, pt.stage_exp);
        ri_buf_addf(&j,
                    "%s{\"as_of\":\"%s\",\"period\":\"%s\",\"week\":%d,\"forecast\":%.2f,"
                    "\"p10\":%.2f,\"p90\":%.2f,\"actual\":%.2f,\"rep\":%.2f,\"stage_only\":%.2f,"
                    "\"won_so_far\":%.2f,\"open_expected\":%.2f,\"new_expected\":%.2f}",
                    acc[0].n > 1 ? "," : "", ws, label, week + 1, pt.expected, pt.p10, pt.p90,
                    actual, pt.rep, pt.stage_exp, pt.won_so_far, pt.open_exp, pt.new_exp);
        ri_progress(ctx, "backtest", (uint64_t)(w - from), (uint64_t)(to - from));
    }
    if (rc)
        goto out;
    {
        static const char *const names[3] = {"model", "rep-entered", "stage model only"};
        ri_buf_adds(&j, "],\"by_week\":[");
        ri_buf_addf(&t,
                    "\nError by week of the period (mean of (forecast - actual) / actual; "
                    "mean |error|):\n  %-5s",
                    "week");
        for (int m = 0; m < 3; m++)
            ri_buf_addf(&t, " %22s", names[m]);
        ri_buf_addc(&t, '\n');
        for (int w = 0; w < BT_WEEKS; w++) {
            if (!wk[w][0].n)
                continue;
            ri_buf_addf(&t, "  %-5d", w + 1);
            ri_buf_addf(&j, "%s{\"week\":%d", w ? "," : "", w + 1);
            for (int m = 0; m < 3; m++) {
                struct ri_backtest_score s;
                bt_score(&wk[w][m], &s);
                ri_buf_addf(&t, "   bias %+6.1f%% err %5.1f%%", 100 * s.bias, 100 * s.mape);
                ri_buf_addf(&j, ",\"%s\":{\"bias\":%.4f,\"mape\":%.4f}",
                            m == 0   ? "model"
                            : m == 1 ? "rep"
                                     : "stage",
                            s.bias, s.mape);
            }
            ri_buf_addc(&t, '\n');
            ri_buf_addc(&j, '}');
        }
        ri_buf_adds(&j, "],\"summary\":{");
        ri_buf_addf(&t, "\n  %-18s %6s %7s %7s %7s %12s %14s\n", "", "points", "WAPE", "MAPE",
                    "bias", "85-115 %", "P10-P90 cover");
        for (int m = 0; m < 3; m++) {
            struct ri_backtest_score *s = &rep->bt[m];
            bt_score(&acc[m], s);
            ri_buf_addf(&t, "  %-18s %6zu %6.1f%% %6.1f%% %+6.1f%% %11.0f%% ", names[m], s->n,
                        100 * s->wape, 100 * s->mape, 100 * s->bias, 100 * s->within);
            if (isnan(s->coverage))
                ri_buf_addf(&t, "%14s\n", "-");
            else
                ri_buf_addf(&t, "%13.0f%%\n", 100 * s->coverage);
            ri_buf_addf(&j,
                        "%s\"%s\":{\"n\":%zu,\"wape\":%.4f,\"mape\":%.4f,\"bias\":%.4f,"
                        "\"within_85_115\":%.4f,",
                        m ? "," : "",
                        m == 0   ? "model"
                        : m == 1 ? "rep"
                                 : "stage",
                        s->n, s->wape, s->mape, s->bias, s->within);
            if (isnan(s->coverage))
                ri_buf_adds(&j, "\"coverage\":null}");
            else
                ri_buf_addf(&j, "\"coverage\":%.4f}", s->coverage);
        }
        ri_buf_adds(&j, "}}\n");
    }
    if (o->save && nrows) {
        rc = save_backtest(ctx, o, from, to, rep->bt, rows, nrows);
        if (rc)
            goto out;
    }
    rep->text = ri_buf_detach(&t, NULL);
    rep->json = ri_buf_detach(&j, NULL);
    *out = rep;
    rep = NULL;
out:
    ri_free(pm);
    ri_free(ps);
    ri_free(q);
    ri_free(qs);
    ri_free(amount);
    ri_free(sums);
    ri_free(wf);
    ri_asof_state_release(&st);
    ri_asof_state_release(&fin);
    ri_rmodel_free(rm);
    ri_mdata_free(md);
    ri_buf_release(&t);
    ri_buf_release(&j);
    ri_forecast_report_free(rep);
    ri_free(rows);
    return rc;
}
