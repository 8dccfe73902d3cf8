/*
 * stats.c - the statistics behind the diagnostics, and revintel's GSL adapter (STYLE C11).
 *
 * Everything here is a plain function over arrays. GSL supplies the distribution
 * functions (normal and chi-square tails, the log of erfc, the normal hazard) and the
 * one-dimensional minimiser used by the lognormal fit; its error handler is switched off
 * once, before the first GSL call, because the default handler aborts. No GSL type
 * leaves this file.
 *
 * Conventions shared by the functions below: an undefined result is NAN, never an
 * error code (a rate over 0 trials, a quantile of nothing); input-sized scratch memory
 * comes from ri_try_alloc and its failure is RI_ERR_NOMEM; counts that would overflow
 * a size_t are RI_ERR_TOOBIG.
 *
 * Numerical choices worth knowing, each explained where it is made:
 * - Kaplan-Meier: events come before censorings at a tied time; the interval is the
 *   log(-log) one of R's survfit(conf.type = "log-log"), except that where S = 0 the
 *   lower limit is 0 (R gives NA) so that quantile bands stay usable.
 * - Tail fit: xmin is scanned over at most RI_TAIL_MAX_XMINS distinct values, picked at
 *   evenly spaced ranks when there are more; the truncated lognormal is fitted on its
 *   profile likelihood in one variable, which is unimodal, so a grid plus Brent finds
 *   the maximum; when the maximum is the power-law limit (mu -> -inf) mu and sigma are
 *   NAN and the lognormal's likelihood is the power law's.
 */
#include "stats.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <pthread.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_sf_erf.h>

/* Fewer tail values than this and the tail fit makes no call. */
#define RI_TAIL_MIN 50
/* At most this many candidate xmins are tried (Clauset et al. try them all). */
#define RI_TAIL_MAX_XMINS 200
/* Vuong p-value under which one model is said to beat another. */
#define RI_TAIL_P 0.1

/* ------------------------------------------------------------------ GSL set-up */

static pthread_once_t gsl_once = PTHREAD_ONCE_INIT;

static void gsl_setup(void)
{
    gsl_set_error_handler_off();
}

/* Called at the top of every function that reaches GSL. */
static void gsl_ready(void)
{
    pthread_once(&gsl_once, gsl_setup);
}

/* ------------------------------------------------------------------ helpers */

/* Ascending order for qsort; NANs sort last so that they never split a run of numbers. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

/* A key whose unsigned order is the numeric order of x: the sign bit flipped for
 * numbers >= 0, every bit for negative ones; NAN last. */
static uint64_t sort_key(double x)
{
    uint64_t u;
    if (isnan(x))
        return UINT64_MAX;
    memcpy(&u, &x, sizeof(u));
    return u >> 63 ? ~u : u | (1ULL << 63);
}

static double key_value(uint64_t k)
{
    double x;
    if (k == UINT64_MAX)
        return RI_NAN;
    k = k >> 63 ? k & ~(1ULL << 63) : ~k;
    memcpy(&x, &k, sizeof(x));
    return x;
}

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)

void ri_sort_doubles(double *x, size_t n)
{
    uint64_t *a, *b;
    size_t *count;
    if (n < 64) {
        for (size_t i = 1; i < n; i++) {
            double v = x[i];
            uint64_t kv = sort_key(v);
            size_t j = i;
            for (; j > 0 && sort_key(x[j - 1]) > kv; j--)
                x[j] = x[j - 1];
            x[j] = v;
        }
        return;
    }
    /* least significant digit first, 11 bits a pass; a pass where every key has the same
     * digit (the high bits of similar numbers) is skipped */
    a = ri_malloc(2 * n * sizeof(*a));
    b = a + n;
    count = ri_malloc(RADIX_SIZE * sizeof(*count));
    for (size_t i = 0; i < n; i++)
        a[i] = sort_key(x[i]);
    for (unsigned shift = 0; shift < 64; shift += RADIX_BITS) {
        size_t sum = 0, same = 0;
        uint64_t *t;
        memset(count, 0, RADIX_SIZE * sizeof(*count));
        for (size_t i = 0; i < n; i++)
            count[(a[i] >> shift) & (RADIX_SIZE - 1)]++;
        for (size_t d = 0; d < RADIX_SIZE; d++)
            same |= count[d] == n;
        if (same)
            continue;
        for (size_t d = 0; d < RADIX_SIZE; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[count[(a[i] >> shift) & (RADIX_SIZE - 1)]++] = a[i];
        t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = key_value(a[i]);
    ri_free(a < b ? a : b);
    ri_free(count);
}

/* ------------------------------------------------------------------ rates and tests */

struct ri_interval ri_wilson(uint64_t k, uint64_t n, double z)
{
    struct ri_interval r = {RI_NAN, RI_NAN, RI_NAN};
    if (n == 0 || k > n || !(z > 0) || !isfinite(z))
        return r;
    double nn = (double)n, p = (double)k / nn, z2 = z * z;
    double denom = 1 + z2 / nn;
    double center = (p + z2 / (2 * nn)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    r.est = p;
    /* At k = 0 and k = n the bound is 0 or 1 exactly; the subtraction may miss by an ulp. */
    r.lo = k == 0 ? 0.0 : fmax(0.0, center - half);
    r.hi = k == n ? 1.0 : fmin(1.0, center + half);
    return r;
}

double ri_two_prop_test(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, double *z_out)
{
    if (z_out)
        *z_out = 0;
    if (k1 > n1 || k2 > n2) {
        if (z_out)
            *z_out = RI_NAN;
        return RI_NAN;
    }
    if (n1 == 0 || n2 == 0 || k1 + k2 == 0 || k1 + k2 == n1 + n2)
        return 1.0;
    double a = (double)n1, b = (double)n2;
    double pooled = (double)(k1 + k2) / (a + b);
    double se = sqrt(pooled * (1 - pooled) * (1 / a + 1 / b));
    double z = ((double)k2 / b - (double)k1 / a) / se;
    if (z_out)
        *z_out = z;
    return ri_normal_p2(z);
}

/* One p-value and where it came from, for sorting in ri_bh_adjust. */
struct bh_item {
    double p;
    size_t i;
};

static int cmp_bh_item(const void *a, const void *b)
{
    const struct bh_item *x = a, *y = b;
    int c = cmp_double(&x->p, &y->p);
    if (c)
        return c;
    return (x->i > y->i) - (x->i < y->i);
}

/*
 * q_(i) = min over j >= i of min(1, p_(j) * m / j), with p sorted ascending and m the
 * number of p-values that are not NAN (as R's p.adjust, NAs are left out and stay NA).
 * Tied p-values get the same q, since the minimum from the largest rank down reaches the
 * last of the tie first. If the scratch array cannot be had, every q is NAN: a caller
 * testing q < level then finds nothing, which is the safe failure.
 */
void ri_bh_adjust(const double *p, size_t n, double *q)
{
    if (n == 0)
        return;
    struct bh_item *it = NULL;
    if (n <= SIZE_MAX / sizeof(*it))
        it = ri_try_alloc(n * sizeof(*it));
    if (!it) {
        for (size_t i = 0; i < n; i++)
            q[i] = RI_NAN;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        it[i].p = p[i];
        it[i].i = i;
        if (!isnan(p[i]))
            m++;
    }
    qsort(it, n, sizeof(*it), cmp_bh_item);
    for (size_t i = m; i < n; i++)
        q[it[i].i] = RI_NAN;
    double run = 1.0;
    for (size_t r = m; r > 0; r--) {
        double v = it[r - 1].p * (double)m / (double)r;
        if (v < run)
            run = v;
        q[it[r - 1].i] = run;
    }
    ri_free(it);
}

double ri_normal_quantile(double p)
{
    if (!(p > 0 && p < 1))
        return RI_NAN;
    gsl_ready();
    return gsl_cdf_ugaussian_Pinv(p);
}

double ri_normal_p2(double z)
{
    if (isnan(z))
        return RI_NAN;
    gsl_ready();
    /* The upper tail of |z| is computed directly, so small p-values keep their relative
     * precision (until they underflow to 0 past |z| ~ 38). */
    return fmin(1.0, 2 * gsl_cdf_ugaussian_Q(fabs(z)));
}

double ri_chisq_p(double stat, double df)
{
    if (isnan(stat) || !(df > 0) || !isfinite(df))
        return RI_NAN;
    if (stat <= 0)
        return 1.0;
    gsl_ready();
    return gsl_cdf_chisq_Q(stat, df);
}

/*
 * Cells whose expected count is 0 (or not positive) are left out entirely: they
 * contribute nothing to the statistic and are not counted in k for the degrees of
 * freedom. With df < 1 the p-value is NAN; the statistic is still reported.
 */
double ri_chisq_gof(const double *observed, const double *expected, size_t k, int fitted,
                    double *stat)
{
    double x2 = 0;
    size_t used = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(expected[i] > 0))
            continue;
        double d = observed[i] - expected[i];
        x2 += d * d / expected[i];
        used++;
    }
    if (stat)
        *stat = x2;
    double df = (double)used - 1 - (double)fitted;
    if (df < 1)
        return RI_NAN;
    return ri_chisq_p(x2, df);
}

/* ------------------------------------------------------------------ quantiles */

double ri_quantile_sorted(const double *x, size_t n, double q)
{
    if (n == 0 || !(q >= 0 && q <= 1))
        return RI_NAN;
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo >= n - 1)
        return x[n - 1];
    double frac = h - (double)lo;
    return x[lo] + frac * (x[lo + 1] - x[lo]);
}

double ri_quantile(double *x, size_t n, double q)
{
    ri_sort_doubles(x, n);
    return ri_quantile_sorted(x, n, q);
}

double ri_mean(const double *x, size_t n)
{
    if (n == 0)
        return RI_NAN;
    /* Two passes: the correction term removes most of the rounding of the first sum. */
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double m = s / (double)n, c = 0;
    for (size_t i = 0; i < n; i++)
        c += x[i] - m;
    return m + c / (double)n;
}

/* ------------------------------------------------------------------ Kaplan-Meier */

/* One observation, for sorting by time. */
struct km_obs {
    double t;
    int event;
};

static int cmp_km_obs(const void *a, const void *b)
{
    const struct km_obs *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

void ri_km_release(struct ri_km *km)
{
    if (!km)
        return;
    ri_free(km->t);
    ri_free(km->surv);
    ri_free(km->lo);
    ri_free(km->hi);
    ri_free(km->at_risk);
    ri_free(km->events);
    memset(km, 0, sizeof(*km));
}

/*
 * The log(-log) interval of R's survival package (conf.type = "log-log"). With
 * se = sqrt(Greenwood sum), the standard error of log S, log(-log S) has standard error
 * se / |log S|; its interval mapped back by exp(-exp(.)) is
 *     lo = S^exp(-z se / log S),  hi = S^exp(z se / log S)   (log S < 0),
 * which stays inside (0, 1). At S = 0 (everyone left at risk had the event) Greenwood's
 * sum is infinite: hi is NAN as in R, and lo is 0 (R: NA), which is trivially true and
 * lets a quantile's lower limit be found there.
 */
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

ri_err ri_km_fit(const double *time, const uint8_t *event, size_t n, struct ri_km *km /* OUT */)
{
    ri_err rc = RI_OK;
    struct km_obs *obs = NULL;
    memset(km, 0, sizeof(*km));
    if (n > 0 && (!time || !event))
        return RI_ERR_INVALID;
    if (n > SIZE_MAX / sizeof(*obs) || n > SIZE_MAX / sizeof(double))
        return RI_ERR_TOOBIG;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(time[i]) || time[i] < 0 || event[i] > 1)
            return RI_ERR_INVALID;
    if (n == 0)
        return RI_OK;

    obs = ri_try_alloc(n * sizeof(*obs));
    if (!obs)
        return RI_ERR_NOMEM;
    size_t ndist = 0;
    uint64_t nev = 0;
    for (size_t i = 0; i < n; i++) {
        obs[i].t = time[i];
        obs[i].event = event[i];
        nev += event[i];
    }
    qsort(obs, n, sizeof(*obs), cmp_km_obs);
    for (size_t i = 0, j; i < n; i = j) {
        /* One group of equal times; it counts if it holds an event. */
        bool any = false;
        for (j = i; j < n && !(obs[j].t > obs[i].t); j++)
            any = any || obs[j].event;
        ndist += any;
    }

    km->total = n;
    km->total_events = nev;
    if (ndist > 0) {
        km->t = ri_try_alloc(ndist * sizeof(double));
        km->surv = ri_try_alloc(ndist * sizeof(double));
        km->lo = ri_try_alloc(ndist * sizeof(double));
        km->hi = ri_try_alloc(ndist * sizeof(double));
        km->at_risk = ri_try_alloc(ndist * sizeof(uint64_t));
        km->events = ri_try_alloc(ndist * sizeof(uint64_t));
        if (!km->t || !km->surv || !km->lo || !km->hi || !km->at_risk || !km->events) {
            rc = RI_ERR_NOMEM;
            goto out;
        }
    }

    /* Walk the groups of equal time. Everyone with time >= t is at risk at t, those
     * censored at t included (events before censorings). */
    double s = 1, gw = 0;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint64_t d = 0;
        while (j < n && !(obs[j].t > obs[i].t)) {
            d += (uint64_t)obs[j].event;
            j++;
        }
        if (d > 0) {
            uint64_t r = (uint64_t)(n - i);
            s *= 1 - (double)d / (double)r;
            if (d < r)
                gw += (double)d / ((double)r * (double)(r - d));
            else
                gw = HUGE_VAL;
            if (k >= ndist)
                RI_BUG("km: more event times than counted (%zu)", ndist);
            km->t[k] = obs[i].t;
            km->surv[k] = s;
            km->at_risk[k] = r;
            km->events[k] = d;
            km_band(s, gw, &km->lo[k], &km->hi[k]);
            k++;
        }
        i = j;
    }
    if (k != ndist)
        RI_BUG("km: %zu event times, counted %zu", k, ndist);
    km->n = ndist;

out:
    ri_free(obs);
    if (rc)
        ri_km_release(km);
    return rc;
}

/*
 * First event time at which curve[] falls to target or below. S is a product of
 * fractions, so an exact 0.5 can come out as 0.5 plus an ulp: a relative slack of 1e-12
 * counts it as reached. NAN entries never cross.
 */
static double km_first_below(const struct ri_km *km, const double *curve, double target)
{
    double slack = 1e-12 * fmax(target, DBL_MIN);
    for (size_t i = 0; i < km->n; i++)
        if (curve[i] <= target + slack)
            return km->t[i];
    return RI_NAN;
}

struct ri_interval ri_km_quantile(const struct ri_km *km, double p)
{
    struct ri_interval r = {RI_NAN, RI_NAN, RI_NAN};
    if (!km || km->n == 0 || !(p > 0 && p < 1))
        return r;
    double target = 1 - p;
    r.est = km_first_below(km, km->surv, target);
    r.lo = km_first_below(km, km->lo, target);
    r.hi = km_first_below(km, km->hi, target);
    return r;
}

/* ------------------------------------------------------------------ concentration */

/* Sum of sorted values, NAN if any is negative or not finite, or if the sum is not
 * positive (no concentration to speak of). */
static double positive_sum(const double *x, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] >= 0) || !isfinite(x[i]))
            return RI_NAN;
        sum += x[i];
    }
    return sum > 0 ? sum : RI_NAN;
}

double ri_gini(double *x, size_t n)
{
    if (n == 0)
        return RI_NAN;
    ri_sort_doubles(x, n);
    double sum = positive_sum(x, n);
    if (isnan(sum))
        return RI_NAN;
    /* sum over i = 1..n of (2i - n - 1) x_(i), over n * sum. */
    double acc = 0, nn = (double)n;
    for (size_t i = 0; i < n; i++)
        acc += (2.0 * (double)(i + 1) - nn - 1) * x[i];
    return acc / (nn * sum);
}

/*
 * The top fraction of n values holds m = frac * n of them; when m is not whole, the
 * value at the boundary counts for its fractional part (the Lorenz curve, linear between
 * its points). Top 20 % of 7 deals: the largest plus 0.4 of the second largest.
 */
double ri_top_share(double *x, size_t n, double frac)
{
    if (n == 0 || !(frac >= 0 && frac <= 1))
        return RI_NAN;
    ri_sort_doubles(x, n);
    double sum = positive_sum(x, n);
    if (isnan(sum))
        return RI_NAN;
    double m = frac * (double)n;
    size_t whole = (size_t)floor(m);
    if (whole > n)
        whole = n;
    double top = 0;
    for (size_t i = 0; i < whole; i++)
        top += x[n - 1 - i];
    if (whole < n)
        top += (m - (double)whole) * x[n - 1 - whole];
    return top / sum;
}

/* ------------------------------------------------------------------ tail fit */

/*
 * The truncated lognormal. With u = ln y, a = ln xmin, w = u - a >= 0, tau = 1/sigma and
 * rho = (a - mu)/sigma (the truncation point in standard units), the log density is
 *     l(y) = -u + ln tau - tau^2 w^2 / 2 - rho tau w - G(rho),
 *     G(rho) = ln Q(rho) + rho^2 / 2 + ln(2 pi) / 2 = -ln h(rho),
 * h the normal hazard phi/Q. Written this way nothing cancels when mu is far below xmin
 * (rho large), where ln Q(rho) and rho^2/2 are both huge. The total needs only
 * S1 = sum w and S2 = sum w^2. For fixed rho the log-likelihood is concave in tau and
 * its maximum solves S2 tau^2 + rho S1 tau - nt = 0; what is left is a function of rho
 * alone, unimodal (the lognormal is an exponential family in ln y, so its likelihood is
 * concave in the natural parameters, and the sets rho = c sweep them in order).
 */
struct ln_stats {
    double nt, s1, s2, su; /* count, sum w, sum w^2, sum u */
};

static double ln_G(double rho)
{
    if (rho > 0)
        return -log(gsl_sf_hazard(rho));
    /* Q(rho) >= 1/2 here: its log is small and exact through log erfc. */
    return gsl_sf_log_erfc(rho / M_SQRT2) - M_LN2 + 0.5 * rho * rho + 0.5 * log(2 * M_PI);
}

static double ln_tau(const struct ln_stats *st, double rho)
{
    double b = rho * st->s1, disc = sqrt(b * b + 4 * st->s2 * st->nt);
    /* The root without cancellation on either sign of rho. */
    return b > 0 ? 2 * st->nt / (b + disc) : (disc - b) / (2 * st->s2);
}

static double ln_profile(const struct ln_stats *st, double rho)
{
    double tau = ln_tau(st, rho);
    return -st->su + st->nt * log(tau) - 0.5 * tau * tau * st->s2 - rho * tau * st->s1 -
           st->nt * ln_G(rho);
}

/* GSL minimises: hand it the negated profile. */
static double ln_neg_profile(double rho, void *arg)
{
    return -ln_profile(arg, rho);
}

/*
 * Maximises the profile over rho: a grid over [-40, 60], then Brent's method around the
 * best grid point. Returns rho in *rho_out and the log-likelihood. Below -40 the
 * truncation removes less than 1e-300 of the law: the fit is the untruncated one. When
 * the best grid point is the top one the maximum lies at rho >= 60 or at infinity; there
 * (xmin 60 standard deviations above mu, sigma ~ rho / (alpha - 1)) the lognormal's log
 * density over the tail differs from the power law's by terms of order 1/rho^2, and
 * *at_limit tells the caller to let the power law stand in for it.
 */
static ri_err ln_fit(const struct ln_stats *st, double *rho_out, double *ll_out, bool *at_limit)
{
    const double lo = -40, hi = 60, step = 0.5;
    size_t steps = (size_t)((hi - lo) / step);
    size_t best = 0;
    double best_ll = -HUGE_VAL;
    for (size_t i = 0; i <= steps; i++) {
        double v = ln_profile(st, lo + step * (double)i);
        if (v > best_ll) {
            best_ll = v;
            best = i;
        }
    }
    double rho = lo + step * (double)best;
    *rho_out = rho;
    *ll_out = best_ll;
    *at_limit = best == steps;
    if (best == 0 || best == steps || !isfinite(best_ll))
        return RI_OK;

    gsl_ready();
    struct ln_stats copy = *st;
    gsl_function f = {ln_neg_profile, &copy};
    gsl_min_fminimizer *m = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    if (!m)
        return RI_ERR_NOMEM;
    ri_err rc = RI_OK;
    int status = gsl_min_fminimizer_set(m, &f, rho, rho - step, rho + step);
    if (status == GSL_EINVAL) {
        /* The grid point does not beat both neighbours strictly (a flat top): it stands. */
        goto done;
    }
    for (int it = 0; status == GSL_SUCCESS && it < 200; it++) {
        status = gsl_min_fminimizer_iterate(m);
        if (status != GSL_SUCCESS)
            break;
        status = gsl_min_test_interval(gsl_min_fminimizer_x_lower(m), gsl_min_fminimizer_x_upper(m),
                                       1e-10, 1e-12);
        if (status == GSL_SUCCESS)
            break;
        if (status == GSL_CONTINUE)
            status = GSL_SUCCESS;
    }
    if (status != GSL_SUCCESS) {
        rc = RI_ERR_NUMERIC;
        goto done;
    }
    double xm = gsl_min_fminimizer_x_minimum(m), val = ln_profile(st, xm);
    if (val >= best_ll) {
        *rho_out = xm;
        *ll_out = val;
    }
done:
    gsl_min_fminimizer_free(m);
    return rc;
}

/* Running mean and sum of squared deviations (Welford), for Vuong's statistic. */
struct welford {
    double n, mean, m2;
};

static void welford_add(struct welford *w, double v)
{
    w->n += 1;
    double d = v - w->mean;
    w->mean += d / w->n;
    w->m2 += d * (v - w->mean);
}

/* z = sum(l) / (sqrt(n) sd(l)) with the population sd (Vuong's omega-hat); 0 when the
 * two models agree at every point. */
static void vuong(const struct welford *w, double *z, double *p)
{
    double sd = sqrt(w->m2 / w->n);
    if (!(sd > 0) || !isfinite(sd)) {
        *z = 0;
        *p = 1;
        return;
    }
    *z = sqrt(w->n) * w->mean / sd;
    *p = ri_normal_p2(*z);
}

/* KS distance between the empirical law of ln-values lx[0..nt) (sorted) and the power
 * law of exponent alpha above a = lx[0]; ties handled as one step. */
static double pl_ks(const double *lx, size_t nt, double alpha)
{
    double a = lx[0], d = 0, nn = (double)nt;
    for (size_t i = 0; i < nt;) {
        size_t j = i;
        while (j < nt && !(lx[j] > lx[i]))
            j++;
        double f = -expm1((1 - alpha) * (lx[i] - a));
        double below = (double)i / nn, upto = (double)j / nn;
        d = fmax(d, fmax(fabs(f - below), fabs(f - upto)));
        i = j;
    }
    return d;
}

/* First index of the value x[i] in sorted x. */
static size_t first_of(const double *x, size_t i)
{
    size_t lo = 0, hi = i;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x[mid] < x[i])
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void tail_fit_clear(struct ri_tail_fit *fit)
{
    memset(fit, 0, sizeof(*fit));
    fit->xmin = fit->alpha = fit->mu = fit->sigma = fit->lambda = RI_NAN;
    fit->ll_powerlaw = fit->ll_lognormal = fit->ll_exponential = fit->ks = RI_NAN;
    fit->z_ln_vs_pl = fit->p_ln_vs_pl = RI_NAN;
    fit->z_ln_vs_exp = fit->p_ln_vs_exp = RI_NAN;
    fit->z_pl_vs_exp = fit->p_pl_vs_exp = RI_NAN;
    snprintf(fit->best, sizeof(fit->best), "%s", "insufficient data");
}

/* Power-law alpha and KS distance with xmin = x[i0]; false if the tail is all xmin. */
static bool pl_at(const double *lx, size_t m, size_t i0, double *alpha, double *ks)
{
    size_t nt = m - i0;
    double s = 0;
    for (size_t i = i0; i < m; i++)
        s += lx[i] - lx[i0];
    if (!(s > 0))
        return false;
    *alpha = 1 + (double)nt / s;
    *ks = pl_ks(lx + i0, nt, *alpha);
    return true;
}

/* Picks xmin: the candidate whose power-law fit has the smallest KS distance. Returns
 * m when no candidate has a non-degenerate tail of RI_TAIL_MIN values. */
static size_t pick_xmin(const double *x, const double *lx, size_t m)
{
    size_t last = m - RI_TAIL_MIN; /* largest start with a tail of RI_TAIL_MIN values */
    size_t ndist = 0;
    for (size_t i = 0; i <= last; i++)
        if (i == 0 || x[i] > x[i - 1])
            ndist++;
    size_t best = m, prev = m;
    double best_ks = HUGE_VAL;
    size_t tries = ndist < RI_TAIL_MAX_XMINS ? ndist : RI_TAIL_MAX_XMINS;
    for (size_t c = 0, i = 0; c < tries; c++) {
        size_t i0;
        if (ndist <= RI_TAIL_MAX_XMINS) {
            /* Every distinct value: step i to the next one. */
            while (i > 0 && i <= last && !(x[i] > x[i - 1]))
                i++;
            i0 = i++;
        } else {
            /* Evenly spaced ranks over [0, last], each moved to the first of its value. */
            i0 = first_of(x, (size_t)((double)last * (double)c / (double)(tries - 1)));
        }
        if (i0 > last || i0 == prev)
            continue;
        prev = i0;
        double alpha, ks;
        if (pl_at(lx, m, i0, &alpha, &ks) && ks < best_ks) {
            best_ks = ks;
            best = i0;
        }
    }
    return best;
}

ri_err ri_fit_tail(const double *x, size_t n, struct ri_tail_fit *fit /* OUT */)
{
    ri_err rc = RI_OK;
    double *v = NULL, *lx = NULL;
    tail_fit_clear(fit);
    if (n > 0 && !x)
        return RI_ERR_INVALID;
    if (n > SIZE_MAX / sizeof(double))
        return RI_ERR_TOOBIG;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return RI_ERR_INVALID;

    /* Only positive values can be in a tail above xmin > 0: the rest are dropped. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += x[i] > 0;
    fit->n_tail = m;
    if (m < RI_TAIL_MIN) {
        if (m > 0) {
            double lo = HUGE_VAL;
            for (size_t i = 0; i < n; i++)
                if (x[i] > 0 && x[i] < lo)
                    lo = x[i];
            fit->xmin = lo;
        }
        return RI_OK;
    }
    v = ri_try_alloc(m * sizeof(double));
    lx = ri_try_alloc(m * sizeof(double));
    if (!v || !lx) {
        rc = RI_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0, j = 0; i < n; i++)
        if (x[i] > 0)
            v[j++] = x[i];
    ri_sort_doubles(v, m);
    for (size_t i = 0; i < m; i++)
        lx[i] = log(v[i]);

    size_t i0 = pick_xmin(v, lx, m);
    if (i0 >= m) {
        /* Every candidate tail is one repeated value: no law can be fitted. */
        fit->xmin = v[0];
        goto out;
    }
    size_t nt = m - i0;
    double xmin = v[i0], a = lx[i0], ntd = (double)nt;
    fit->xmin = xmin;
    fit->n_tail = nt;

    struct ln_stats st = {ntd, 0, 0, 0};
    double sumx = 0;
    for (size_t i = i0; i < m; i++) {
        double w = lx[i] - a;
        st.s1 += w;
        st.s2 += w * w;
        st.su += lx[i];
        sumx += v[i] - xmin;
    }
    double alpha = 1 + ntd / st.s1, lambda = ntd / sumx;
    fit->alpha = alpha;
    fit->lambda = lambda;
    fit->ks = pl_ks(lx + i0, nt, alpha);

    double rho, ll_ln;
    bool at_limit;
    rc = ln_fit(&st, &rho, &ll_ln, &at_limit);
    if (rc)
        goto out;
    double ll_pl = ntd * (log(alpha - 1) - a) - alpha * st.s1;
    /* The power law is the lognormal's limit as rho -> inf. If the limit is better than
     * any finite fit, the lognormal MLE does not exist (the sample coefficient of
     * variation of ln(x/xmin) is 1 or more); if the maximum is past the grid, it is the
     * power law in all but name. Either way the power law stands in, mu and sigma NAN. */
    bool ln_is_pl = at_limit || !(ll_ln > ll_pl);
    double tau = ln_tau(&st, rho), g = ln_G(rho);
    if (ln_is_pl) {
        fit->mu = fit->sigma = RI_NAN;
        ll_ln = ll_pl;
    } else {
        fit->sigma = 1 / tau;
        fit->mu = a - rho / tau;
    }

    /* Pointwise log-likelihoods, summed and differenced for Vuong's test. */
    struct welford ln_pl = {0, 0, 0}, ln_exp = {0, 0, 0}, pl_exp = {0, 0, 0};
    double l_pl0 = log(alpha - 1) - a, l_exp0 = log(lambda);
    double s_pl = 0, s_exp = 0;
    for (size_t i = i0; i < m; i++) {
        double w = lx[i] - a;
        double lp = l_pl0 - alpha * w;
        double le = l_exp0 - lambda * (v[i] - xmin);
        double ll = ln_is_pl ? lp : -lx[i] + log(tau) - 0.5 * tau * tau * w * w - rho * tau * w - g;
        s_pl += lp;
        s_exp += le;
        welford_add(&ln_pl, ll - lp);
        welford_add(&ln_exp, ll - le);
        welford_add(&pl_exp, lp - le);
    }
    fit->ll_powerlaw = s_pl;
    fit->ll_lognormal = ll_ln;
    fit->ll_exponential = s_exp;
    vuong(&ln_pl, &fit->z_ln_vs_pl, &fit->p_ln_vs_pl);
    vuong(&ln_exp, &fit->z_ln_vs_exp, &fit->p_ln_vs_exp);
    vuong(&pl_exp, &fit->z_pl_vs_exp, &fit->p_pl_vs_exp);

    /* The winner must beat each of the other two, significantly. */
    bool ln_gt_pl = fit->z_ln_vs_pl > 0 && fit->p_ln_vs_pl < RI_TAIL_P;
    bool pl_gt_ln = fit->z_ln_vs_pl < 0 && fit->p_ln_vs_pl < RI_TAIL_P;
    bool ln_gt_ex = fit->z_ln_vs_exp > 0 && fit->p_ln_vs_exp < RI_TAIL_P;
    bool ex_gt_ln = fit->z_ln_vs_exp < 0 && fit->p_ln_vs_exp < RI_TAIL_P;
    bool pl_gt_ex = fit->z_pl_vs_exp > 0 && fit->p_pl_vs_exp < RI_TAIL_P;
    bool ex_gt_pl = fit->z_pl_vs_exp < 0 && fit->p_pl_vs_exp < RI_TAIL_P;
    const char *best = "undecided";
    if (ln_gt_pl && ln_gt_ex)
        best = "lognormal";
    else if (pl_gt_ln && pl_gt_ex)
        best = "power law";
    else if (ex_gt_ln && ex_gt_pl)
        best = "exponential";
    else if (pl_gt_ex && ln_gt_ex && !ln_gt_pl && !pl_gt_ln)
        /* a lognormal cut at xmin contains the power law as a limit, so the two often
         * cannot be told apart: say so (Clauset et al. 2009) rather than pick one */
        best = "power law or lognormal";
    snprintf(fit->best, sizeof(fit->best), "%s", best);

out:
    ri_free(lx);
    ri_free(v);
    if (rc)
        tail_fit_clear(fit);
    return rc;
}
