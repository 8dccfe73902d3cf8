/*
 * stats.h - the statistics revintel's diagnostics rest on.
 *
 * Plain functions over arrays: intervals on rates, tests and their multiple-testing
 * correction, quantiles, Kaplan-Meier survival with censoring, concentration, and the
 * fit of a deal-size distribution. stats.c is the GSL adapter (distribution functions);
 * nothing here allocates unless it says so. Functions that sort take a mutable array and
 * say so.
 */
#ifndef RI_STATS_H
#define RI_STATS_H

#include "ri_internal.h"

/* An estimate with a two-sided interval; all NAN when undefined (e.g. n = 0). */
struct ri_interval {
    double est, lo, hi;
};

/* Wilson score interval for k successes in n trials, z = 1.959964 for 95 %. */
struct ri_interval ri_wilson(uint64_t k, uint64_t n, double z);

/* Two-sided p-value of the pooled two-proportion z-test of k1/n1 against k2/n2; 1 when
 * either n is 0 or the pooled rate is 0 or 1. *z_out (may be NULL) gets the z statistic
 * of (p2 - p1). */
double ri_two_prop_test(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, double *z_out);

/* Benjamini-Hochberg adjusted p-values (q-values) of p[0..n), written to q (may alias p),
 * in the original order. */
void ri_bh_adjust(const double *p, size_t n, double *q);

/* Two-sided p-value of a standard normal statistic; upper-tail p of a chi-square with df
 * degrees of freedom. */
double ri_normal_p2(double z);
/* The standard normal's quantile: z with P(Z <= z) = p; NAN outside (0, 1). */
double ri_normal_quantile(double p);
double ri_chisq_p(double stat, double df);

/* Pearson chi-square goodness of fit of observed counts against expected counts (same
 * total), df = k - 1 - fitted; returns the p-value and sets *stat (may be NULL). Cells with
 * expected 0 are skipped. */
double ri_chisq_gof(const double *observed, const double *expected, size_t k, int fitted,
                    double *stat);

/* Quantile q in [0, 1] of x[0..n) by linear interpolation between order statistics (R's
 * type 7). SORTS x. NAN if n = 0. */
double ri_quantile(double *x, size_t n, double q);
/* Sorts x[0..n) ascending, NANs last (a radix sort: several times quicker than qsort on
 * the large pools of the forecast's timing). */
void ri_sort_doubles(double *x, size_t n);
/* Quantile of an already sorted array. */
double ri_quantile_sorted(const double *x, size_t n, double q);
double ri_mean(const double *x, size_t n);

/* Kaplan-Meier estimate of the survival of time-to-event data: time[i] >= 0, event[i] 1
 * if the event happened at time[i], 0 if censored then. Distinct event times ascending;
 * surv is S(t) just after t; lo/hi its 95 % interval (log-log transform, Greenwood
 * variance). Allocates; free with ri_km_release. */
struct ri_km {
    size_t n; /* number of distinct event times */
    double *t, *surv, *lo, *hi;
    uint64_t *at_risk, *events;
    uint64_t total, total_events;
};
ri_err ri_km_fit(const double *time, const uint8_t *event, size_t n, struct ri_km *km /* OUT */);
void ri_km_release(struct ri_km *km);
/* Time by which a fraction p of subjects have had the event (p = 0.5: median): the first t
 * with S(t) <= 1 - p; interval from where lo and hi cross 1 - p (Brookmeyer-Crowley by
 * the band). est is NAN when S never falls that low (too much censoring); hi may be NAN
 * (unbounded) while est is defined. */
struct ri_interval ri_km_quantile(const struct ri_km *km, double p);

/* Concentration of positive values: Gini coefficient (0 equal, -> 1 concentrated) and the
 * share of the total held by the largest fraction frac of the values. Both SORT x. */
double ri_gini(double *x, size_t n);
double ri_top_share(double *x, size_t n, double frac);

/* Which law describes the tail x >= xmin of positive values best: power law (continuous,
 * alpha by maximum likelihood), lognormal (truncated at xmin) or exponential (shifted at
 * xmin), xmin chosen by the Kolmogorov-Smirnov distance of the power-law fit (Clauset,
 * Shalizi and Newman 2009), compared pairwise by Vuong's normalised log-likelihood ratio
 * test. With fewer than 50 tail values, best is "insufficient data". */
struct ri_tail_fit {
    double xmin;
    size_t n_tail;
    double alpha;     /* power law */
    double mu, sigma; /* lognormal (of the tail, truncated) */
    double lambda;    /* exponential rate of x - xmin */
    double ll_powerlaw, ll_lognormal, ll_exponential;
    double ks;                     /* KS distance of the power law at xmin */
    double z_ln_vs_pl, p_ln_vs_pl; /* Vuong: z > 0 favours the first */
    double z_ln_vs_exp, p_ln_vs_exp;
    double z_pl_vs_exp, p_pl_vs_exp;
    char best[24]; /* "lognormal", "power law", "exponential", "power law or
                      lognormal" (both beat the exponential, neither the other),
                      "undecided", "insufficient data" (n_tail < 50) */
};
ri_err ri_fit_tail(const double *x, size_t n, struct ri_tail_fit *fit /* OUT */);

#endif /* RI_STATS_H */
