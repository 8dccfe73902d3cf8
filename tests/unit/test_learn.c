/*
 * test_learn.c - unit tests of src/learn.c: evaluation metrics, AUC, Platt and isotonic
 * calibration with their text form, the logistic regression, the population stability
 * index, standardization and nearest neighbours.
 *
 * Every expected number is worked out by hand in the comment beside it, or computed in
 * the test by another route (the O(n^2) pair count for the AUC, bisection for a
 * penalised score equation, the gradient of the objective at a fitted optimum), or
 * recovered from data drawn in the test from a known law with a seeded generator, with a
 * tolerance of about four standard errors.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "harness.h"

/* ------------------------------------------------------------------ generator */

/* Knuth's 64-bit LCG (MMIX constants); the top 53 bits make the uniform. */
static uint64_t lcg_state;

static uint64_t lcg_next(void)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return lcg_state;
}

/* Uniform on (0, 1), never 0 or 1. */
static double unif(void)
{
    return ((double)(lcg_next() >> 11) + 0.5) / 9007199254740992.0;
}

static double gauss(void)
{
    return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

static double sigm(double z)
{
    return 1 / (1 + exp(-z));
}

static int same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

/* ------------------------------------------------------------------ AUC */

/*
 * p = .1 .4 .35 .8 with y = 0 0 1 1: the positive .35 beats the negative .1 only, .8
 * beats both: 3 of 4 pairs, AUC = 0.75. With ties, p = .5 .5 .2 .9, y = 1 0 0 1: .5
 * ties the negative .5 (1/2) and beats .2 (1); .9 beats both (2): 3.5 / 4 = 0.875.
 * Weighted, w = 1 3 2 1 on the second: pairs (pos, neg) weigh w_pos w_neg: (.5|.5) 1*3
 * half, (.5|.2) 1*2 won, (.9|.5) 1*3 won, (.9|.2) 1*2 won: (1.5 + 2 + 3 + 2) / (2 * 5)
 * = 8.5 / 10 = 0.85.
 */
TEST(auc_hand)
{
    const double p1[] = {0.1, 0.4, 0.35, 0.8};
    const uint8_t y1[] = {0, 0, 1, 1};
    CHECK_NEAR(ri_auc(p1, y1, NULL, 4), 0.75, 1e-15);

    const double p2[] = {0.5, 0.5, 0.2, 0.9}, w2[] = {1, 3, 2, 1};
    const uint8_t y2[] = {1, 0, 0, 1};
    CHECK_NEAR(ri_auc(p2, y2, NULL, 4), 0.875, 1e-15);
    CHECK_NEAR(ri_auc(p2, y2, w2, 4), 0.85, 1e-15);

    /* one class absent, a NAN score, a bad label, a negative weight: NAN */
    const uint8_t all1[] = {1, 1, 1, 1}, bad[] = {1, 0, 2, 0};
    const double pn[] = {0.1, RI_NAN, 0.3, 0.4}, wneg[] = {1, -1, 1, 1};
    CHECK(isnan(ri_auc(p1, all1, NULL, 4)));
    CHECK(isnan(ri_auc(pn, y1, NULL, 4)));
    CHECK(isnan(ri_auc(p1, bad, NULL, 4)));
    CHECK(isnan(ri_auc(p1, y1, wneg, 4)));
    CHECK(isnan(ri_auc(p1, y1, NULL, 0)));
}

/* The O(n^2) definition on a random weighted fixture with many ties (p on a 0.05 grid). */
TEST(auc_brute_force)
{
    enum { N = 400 };
    double p[N], w[N];
    uint8_t y[N];
    lcg_state = 11;
    for (size_t i = 0; i < N; i++) {
        p[i] = floor(unif() * 20) / 20;
        y[i] = unif() < 0.3 + 0.4 * p[i];
        w[i] = i % 7 == 0 ? 0 : 0.5 + unif();
    }
    for (int weighted = 0; weighted < 2; weighted++) {
        const double *ww = weighted ? w : NULL;
        double num = 0, wp = 0, wn = 0;
        for (size_t i = 0; i < N; i++) {
            double wi = ww ? ww[i] : 1;
            if (y[i])
                wp += wi;
            else
                wn += wi;
            if (!y[i])
                continue;
            for (size_t j = 0; j < N; j++) {
                if (y[j])
                    continue;
                double wj = ww ? ww[j] : 1;
                num += wi * wj * (p[i] > p[j] ? 1 : p[i] < p[j] ? 0 : 0.5);
            }
        }
        CHECK_NEAR(ri_auc(p, y, ww, N), num / (wp * wn), 1e-12);
    }
}

/* ------------------------------------------------------------------ evaluation */

/*
 * Four rows, p = .9 .2 .6 .3, y = 1 0 0 1, unweighted, threshold .5, reference .5 .5 .5 .5.
 *   Brier = (.01 + .04 + .36 + .49) / 4 = .225; reference (4 * .25) / 4 = .25; skill
 *   1 - .225 / .25 = .1.
 *   log loss = -(ln .9 + ln .8 + ln .4 + ln .3) / 4 = (.1053605 + .2231436 + .9162907 +
 *   1.2039728) / 4 = .6121919.
 *   Predicted won: .9 (won: TP) and .6 (lost: FP); .2 lost (TN), .3 won (FN): accuracy
 *   2/4, precision 1/2, recall 1/2.
 *   AUC: .9 beats .2 and .6, .3 beats .2: 3/4. Hanley-McNeil with n1 = n2 = 2: Q1 =
 *   .75 / 1.25 = .6, Q2 = 2 * .5625 / 1.75 = .6428571; var = (.1875 + (.6 - .5625) +
 *   (.6428571 - .5625)) / 4 = .3053571 / 4 = .0763393; se = .2762957; lo = .75 - 1.959964
 *   * .2762957 = .2084705, hi = 1.2915 clipped to 1.
 *   Bins: .9 -> 9 (|.9 - 1| = .1), .2 -> 2 (.2), .6 -> 6 (.6), .3 -> 3 (.7): ECE =
 *   (.1 + .2 + .6 + .7) / 4 = .4.
 *   Riskiest tenth: 0.4 of a row, all from the lowest p (.2, lost): 1.
 */
TEST(eval_hand)
{
    const double p[] = {0.9, 0.2, 0.6, 0.3}, ref[] = {0.5, 0.5, 0.5, 0.5};
    const uint8_t y[] = {1, 0, 0, 1};
    struct ri_eval e;
    REQUIRE(ri_eval_compute(p, y, NULL, 4, ref, 0.5, &e) == RI_OK);
    CHECK_EQ_INT(e.n, 4);
    CHECK_EQ_INT(e.positives, 2);
    CHECK_NEAR(e.wsum, 4, 0);
    CHECK_NEAR(e.base_rate, 0.5, 0);
    CHECK_NEAR(e.brier, 0.225, 1e-15);
    CHECK_NEAR(e.brier_ref, 0.25, 1e-15);
    CHECK_NEAR(e.brier_skill, 0.1, 1e-14);
    CHECK_NEAR(e.log_loss, 0.6121919, 1e-7);
    CHECK_NEAR(e.log_loss, -(log(0.9) + log(0.8) + log(0.4) + log(0.3)) / 4, 1e-15);
    CHECK_NEAR(e.accuracy, 0.5, 0);
    CHECK_NEAR(e.precision, 0.5, 0);
    CHECK_NEAR(e.recall, 0.5, 0);
    CHECK_NEAR(e.threshold, 0.5, 0);
    CHECK_NEAR(e.auc, 0.75, 1e-15);
    CHECK_NEAR(e.auc_ci.est, 0.75, 1e-15);
    CHECK_NEAR(e.auc_ci.lo, 0.2084705, 1e-6);
    double q1 = 0.75 / 1.25, q2 = 2 * 0.5625 / 1.75;
    double se = sqrt((0.75 * 0.25 + (q1 - 0.5625) + (q2 - 0.5625)) / 4);
    CHECK_NEAR(e.auc_ci.lo, 0.75 - 1.959964 * se, 1e-15);
    CHECK_NEAR(e.auc_ci.hi, 1, 0);
    CHECK_NEAR(e.ece, 0.4, 1e-15);
    CHECK_NEAR(e.top_decile_precision, 1, 0);
    CHECK_EQ_INT(e.bins[9].n, 1);
    CHECK_NEAR(e.bins[9].mean_p, 0.9, 0);
    CHECK_NEAR(e.bins[9].mean_y, 1, 0);
    CHECK_NEAR(e.bins[3].lo, 0.3, 0);
    CHECK_NEAR(e.bins[3].hi, 0.4, 0);
    CHECK_EQ_INT(e.bins[0].n, 0);
    CHECK(isnan(e.bins[0].mean_p) && isnan(e.bins[0].mean_y));

    /* without a reference there is no skill */
    REQUIRE(ri_eval_compute(p, y, NULL, 4, NULL, 0.5, &e) == RI_OK);
    CHECK(isnan(e.brier_ref) && isnan(e.brier_skill));
}

/*
 * Bin edges: p = 1 goes into the last bin; a p equal to an edge (0.1, 0.3, 0.7) opens
 * the bin above it; the double just below 0.3 stays in bin 2.
 */
TEST(eval_bins_edges)
{
    const double p[] = {1.0, 0.1, 0.3, nextafter(0.3, 0), 0.7, 0.0};
    const uint8_t y[] = {1, 0, 1, 0, 1, 0};
    struct ri_eval e;
    REQUIRE(ri_eval_compute(p, y, NULL, 6, NULL, 0.5, &e) == RI_OK);
    CHECK_EQ_INT(e.bins[9].n, 1);
    CHECK_EQ_INT(e.bins[1].n, 1);
    CHECK_EQ_INT(e.bins[3].n, 1);
    CHECK_EQ_INT(e.bins[2].n, 1);
    CHECK_EQ_INT(e.bins[7].n, 1);
    CHECK_EQ_INT(e.bins[0].n, 1);
    CHECK_NEAR(e.bins[9].hi, 1, 0);
    uint64_t total = 0;
    for (size_t b = 0; b < RI_EVAL_BINS; b++)
        total += e.bins[b].n;
    CHECK_EQ_INT(total, 6);
}

/*
 * The riskiest tenth. Ten unweighted rows, the lowest p (.2) shared by rows 1 (won) and 2
 * (lost): the stable order takes row 1, so the share lost is 0. Weighted, p = .1 .2 .3
 * .4 .5 with w = .2 1 1 1 1.8 (W = 5, a tenth is .5) and y = 0 1 0 0 1: row 0 gives .2
 * (lost) and row 1 the remaining .3 (won): .2 / .5 = .4. The weighted Brier of the same
 * rows: (.2 * .01 + 1 * .64 + 1 * .09 + 1 * .16 + 1.8 * .25) / 5 = 1.342 / 5 = .2684.
 */
TEST(eval_top_decile_and_weights)
{
    const double p[] = {0.5, 0.2, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9};
    const uint8_t y[] = {0, 1, 0, 1, 1, 1, 1, 1, 1, 1};
    struct ri_eval e;
    REQUIRE(ri_eval_compute(p, y, NULL, 10, NULL, 0.5, &e) == RI_OK);
    CHECK_NEAR(e.top_decile_precision, 0, 0);

    const double p2[] = {0.1, 0.2, 0.3, 0.4, 0.5}, w2[] = {0.2, 1, 1, 1, 1.8};
    const uint8_t y2[] = {0, 1, 0, 0, 1};
    REQUIRE(ri_eval_compute(p2, y2, w2, 5, NULL, 0.5, &e) == RI_OK);
    CHECK_NEAR(e.top_decile_precision, 0.4, 1e-12);
    CHECK_NEAR(e.brier, 0.2684, 1e-12);
    CHECK_NEAR(e.wsum, 5, 1e-12);
    CHECK_NEAR(e.base_rate, 2.8 / 5, 1e-12);
    CHECK_EQ_INT(e.positives, 2);
}

TEST(eval_invalid)
{
    const double p[] = {0.2, 0.8}, pbad[] = {0.2, RI_NAN}, pout[] = {0.2, 1.5};
    const double wneg[] = {1, -1}, wzero[] = {0, 0}, refbad[] = {0.5, RI_NAN};
    const uint8_t y[] = {0, 1}, ybad[] = {0, 3};
    struct ri_eval e;
    CHECK(ri_eval_compute(p, y, NULL, 0, NULL, 0.5, &e) == RI_ERR_INVALID);
    CHECK(ri_eval_compute(pbad, y, NULL, 2, NULL, 0.5, &e) == RI_ERR_INVALID);
    CHECK(ri_eval_compute(pout, y, NULL, 2, NULL, 0.5, &e) == RI_ERR_INVALID);
    CHECK(ri_eval_compute(p, ybad, NULL, 2, NULL, 0.5, &e) == RI_ERR_INVALID);
    CHECK(ri_eval_compute(p, y, wneg, 2, NULL, 0.5, &e) == RI_ERR_INVALID);
    CHECK(ri_eval_compute(p, y, wzero, 2, NULL, 0.5, &e) == RI_ERR_INVALID);
    CHECK(ri_eval_compute(p, y, NULL, 2, refbad, 0.5, &e) == RI_ERR_INVALID);
    CHECK_EQ_INT(e.n, 0);
}

/* ------------------------------------------------------------------ isotonic */

/*
 * y = 1 0 1 1 at s = .1 .2 .3 .4: the blocks {.1} (1) and {.2} (0) violate and pool into
 * one of mean .5 at x = .15; {.3} and {.4} stay (1, 1). Points (.15, .5) (.3, 1) (.4, 1).
 * Applied: below .15 clipped to .5; at .2, .5 + (.05 / .15) * .5 = 2/3; above .4, 1.
 * Weighted 3 1 1 1: the pooled block has mean 3/4 at x = (.3 + .2) / 4 = .125.
 */
TEST(pav_hand)
{
    const double s[] = {0.1, 0.2, 0.3, 0.4}, w[] = {3, 1, 1, 1};
    const uint8_t y[] = {1, 0, 1, 1};
    struct ri_calibrator c;
    REQUIRE(ri_calibrator_fit(&c, s, y, NULL, 4, RI_CAL_ISOTONIC) == RI_OK);
    CHECK(c.kind == RI_CAL_ISOTONIC);
    REQUIRE(c.n == 3);
    CHECK_NEAR(c.x[0], 0.15, 1e-15);
    CHECK_NEAR(c.y[0], 0.5, 0);
    CHECK_NEAR(c.x[1], 0.3, 0);
    CHECK_NEAR(c.y[1], 1, 0);
    CHECK_NEAR(c.x[2], 0.4, 0);
    CHECK_NEAR(c.y[2], 1, 0);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.05), 0.5, 0);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.2), 2.0 / 3, 1e-12);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.35), 1, 0);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.9), 1, 0);
    CHECK(isnan(ri_calibrator_apply(&c, RI_NAN)));
    ri_calibrator_release(&c);

    REQUIRE(ri_calibrator_fit(&c, s, y, w, 4, RI_CAL_ISOTONIC) == RI_OK);
    REQUIRE(c.n == 3);
    CHECK_NEAR(c.x[0], 0.125, 1e-15);
    CHECK_NEAR(c.y[0], 0.75, 0);
    ri_calibrator_release(&c);
    CHECK(c.x == NULL && c.n == 0);
}

/*
 * Equal scores pool before any violation is looked at: s = .2 .2 .1 with y = 1 0 0 gives
 * {.1}: 0 and {.2}: 1/2. A decreasing run pools all: y = 1 1 0 0 at .1 .2 .3 .4 is one
 * block, mean .5 at x = .25, so every s maps to .5.
 */
TEST(pav_ties_and_chain)
{
    const double s1[] = {0.2, 0.2, 0.1};
    const uint8_t y1[] = {1, 0, 0};
    struct ri_calibrator c;
    REQUIRE(ri_calibrator_fit(&c, s1, y1, NULL, 3, RI_CAL_ISOTONIC) == RI_OK);
    REQUIRE(c.n == 2);
    CHECK_NEAR(c.x[0], 0.1, 0);
    CHECK_NEAR(c.y[0], 0, 0);
    CHECK_NEAR(c.x[1], 0.2, 0);
    CHECK_NEAR(c.y[1], 0.5, 0);
    ri_calibrator_release(&c);

    const double s2[] = {0.1, 0.2, 0.3, 0.4};
    const uint8_t y2[] = {1, 1, 0, 0};
    REQUIRE(ri_calibrator_fit(&c, s2, y2, NULL, 4, RI_CAL_ISOTONIC) == RI_OK);
    REQUIRE(c.n == 1);
    CHECK_NEAR(c.x[0], 0.25, 1e-15);
    CHECK_NEAR(c.y[0], 0.5, 0);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.0), 0.5, 0);
    CHECK_NEAR(ri_calibrator_apply(&c, 1.0), 0.5, 0);
    ri_calibrator_release(&c);
}

/*
 * On noisy data: the points are strictly increasing in x and non-decreasing in y, the map
 * is monotone on a grid; a weight of 2 gives the same fit as the row written twice.
 */
TEST(isotonic_random)
{
    enum { N = 1500 };
    static double s[2 * N], w[N];
    static uint8_t y[2 * N];
    lcg_state = 5;
    for (size_t i = 0; i < N; i++) {
        s[i] = floor(unif() * 500) / 500;
        y[i] = unif() < s[i] * s[i];
        w[i] = i % 3 == 0 ? 2 : 1;
    }
    struct ri_calibrator c, d;
    REQUIRE(ri_calibrator_fit(&c, s, y, NULL, N, RI_CAL_AUTO) == RI_OK);
    CHECK(c.kind == RI_CAL_ISOTONIC); /* N >= RI_CAL_PLATT_MAX_ROWS */
    REQUIRE(c.n > 1);
    for (size_t k = 1; k < c.n; k++) {
        CHECK(c.x[k] > c.x[k - 1]);
        CHECK(c.y[k] >= c.y[k - 1]);
    }
    double prev = -1;
    for (int g = 0; g <= 1000; g++) {
        double v = ri_calibrator_apply(&c, g / 1000.0);
        CHECK(v >= prev && v >= 0 && v <= 1);
        prev = v;
    }
    ri_calibrator_release(&c);

    /* rows with weight 2 appended a second time */
    size_t m = N;
    for (size_t i = 0; i < N; i++) {
        if (w[i] > 1) {
            s[m] = s[i];
            y[m] = y[i];
            m++;
        }
    }
    REQUIRE(ri_calibrator_fit(&c, s, y, w, N, RI_CAL_ISOTONIC) == RI_OK);
    REQUIRE(ri_calibrator_fit(&d, s, y, NULL, m, RI_CAL_ISOTONIC) == RI_OK);
    REQUIRE(c.n == d.n);
    for (size_t k = 0; k < c.n; k++) {
        CHECK_NEAR(c.x[k], d.x[k], 1e-12);
        CHECK_NEAR(c.y[k], d.y[k], 1e-12);
    }
    ri_calibrator_release(&c);
    ri_calibrator_release(&d);
}

/* ------------------------------------------------------------------ Platt */

/*
 * Scores s uniform on (.02, .98), outcomes drawn with P(y = 1) = 1 / (1 + exp(-(2
 * logit(s) - .5))). At n = 5000 the standard errors are about .054 for a and .043 for b
 * (their spread over 200 seeds, run outside the suite: largest deviations .14 and .17);
 * tolerances are about four of them. Then the
 * fitted (a, b) must zero the gradient of Platt's smoothed objective, computed here from
 * its definition, and weights of 2 everywhere must give the same fit (the smoothing
 * counts rows).
 */
TEST(platt_recovery)
{
    enum { N = 5000 };
    static double s[N], w2[N];
    static uint8_t y[N];
    double npos = 0;
    lcg_state = 2024;
    for (size_t i = 0; i < N; i++) {
        s[i] = 0.02 + 0.96 * unif();
        y[i] = unif() < sigm(2 * log(s[i] / (1 - s[i])) - 0.5);
        npos += y[i];
        w2[i] = 2;
    }
    struct ri_calibrator c, d;
    REQUIRE(ri_calibrator_fit(&c, s, y, NULL, N, RI_CAL_PLATT) == RI_OK);
    CHECK(c.kind == RI_CAL_PLATT);
    CHECK_NEAR(c.a, 2, 0.2);
    CHECK_NEAR(c.b, -0.5, 0.18);

    double tp = (npos + 1) / (npos + 2), tn = 1 / (N - npos + 2), ga = 0, gb = 0;
    for (size_t i = 0; i < N; i++) {
        double f = log(s[i] / (1 - s[i]));
        double r = sigm(c.a * f + c.b) - (y[i] ? tp : tn);
        ga += r * f;
        gb += r;
    }
    CHECK(fabs(ga) / N < 1e-8);
    CHECK(fabs(gb) / N < 1e-8);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.5), sigm(c.b), 1e-15);

    REQUIRE(ri_calibrator_fit(&d, s, y, w2, N, RI_CAL_PLATT) == RI_OK);
    CHECK_NEAR(d.a, c.a, 1e-8);
    CHECK_NEAR(d.b, c.b, 1e-8);

    /* below RI_CAL_PLATT_MAX_ROWS, AUTO picks Platt */
    REQUIRE(ri_calibrator_fit(&d, s, y, NULL, RI_CAL_PLATT_MAX_ROWS - 1, RI_CAL_AUTO) == RI_OK);
    CHECK(d.kind == RI_CAL_PLATT);
    ri_calibrator_release(&d);
    ri_calibrator_release(&c);
}

/*
 * Scores that are already calibrated (y drawn with P = s) give a near 1 and b near 0; a
 * single class is still a valid fit thanks to the smoothed targets, and the calibrated
 * values then sit near the smoothed target (N+ + 1) / (N+ + 2) = 201 / 202.
 */
TEST(platt_identity_and_one_class)
{
    enum { N = 4000 };
    static double s[N];
    static uint8_t y[N], ones[200];
    lcg_state = 99;
    for (size_t i = 0; i < N; i++) {
        s[i] = 0.05 + 0.9 * unif();
        y[i] = unif() < s[i];
    }
    struct ri_calibrator c;
    REQUIRE(ri_calibrator_fit(&c, s, y, NULL, N, RI_CAL_PLATT) == RI_OK);
    CHECK_NEAR(c.a, 1, 0.2);
    CHECK_NEAR(c.b, 0, 0.2);
    ri_calibrator_release(&c);

    memset(ones, 1, sizeof(ones));
    REQUIRE(ri_calibrator_fit(&c, s, ones, NULL, 200, RI_CAL_PLATT) == RI_OK);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.5), 201.0 / 202, 1e-3);
    ri_calibrator_release(&c);

    const uint8_t ybad[] = {0, 2};
    const double sbad[] = {0.5, RI_NAN};
    CHECK(ri_calibrator_fit(&c, s, ybad, NULL, 2, RI_CAL_PLATT) == RI_ERR_INVALID);
    CHECK(ri_calibrator_fit(&c, sbad, y, NULL, 2, RI_CAL_ISOTONIC) == RI_ERR_INVALID);
    CHECK(ri_calibrator_fit(&c, s, y, NULL, 0, RI_CAL_PLATT) == RI_ERR_INVALID);
    CHECK(ri_calibrator_fit(&c, s, y, NULL, 0, RI_CAL_NONE) == RI_OK);
    CHECK_NEAR(ri_calibrator_apply(&c, 0.37), 0.37, 0);
}

/* ------------------------------------------------------------------ save / load */

static int roundtrip(const struct ri_calibrator *c)
{
    struct ri_buf b = RI_BUF_INIT;
    struct ri_calibrator d;
    int ok = 0;
    if (ri_calibrator_save(c, &b) != RI_OK)
        goto out;
    if (ri_calibrator_load(&d, b.buf, b.len) != RI_OK)
        goto out;
    ok = d.kind == c->kind && d.n == c->n;
    if (c->kind == RI_CAL_PLATT)
        ok = ok && same_double(d.a, c->a) && same_double(d.b, c->b);
    for (size_t k = 0; ok && k < c->n; k++)
        ok = same_double(d.x[k], c->x[k]) && same_double(d.y[k], c->y[k]);
    ri_calibrator_release(&d);
out:
    ri_buf_release(&b);
    return ok;
}

TEST(calibrator_save_load)
{
    struct ri_calibrator c = {.kind = RI_CAL_PLATT, .a = 0.5, .b = -2};
    struct ri_buf b = RI_BUF_INIT;
    REQUIRE(ri_calibrator_save(&c, &b) == RI_OK);
    CHECK_STR(b.buf, "platt 0.5 -2");
    ri_buf_release(&b);

    /* awkward doubles must survive the text exactly */
    c.a = 1.0 / 3;
    c.b = -M_PI * 1e-7;
    CHECK(roundtrip(&c));

    enum { N = 300 };
    double s[N];
    uint8_t y[N];
    lcg_state = 3;
    for (size_t i = 0; i < N; i++) {
        s[i] = unif();
        y[i] = unif() < s[i];
    }
    REQUIRE(ri_calibrator_fit(&c, s, y, NULL, N, RI_CAL_ISOTONIC) == RI_OK);
    CHECK(c.n > 2);
    CHECK(roundtrip(&c));
    ri_calibrator_release(&c);
    REQUIRE(ri_calibrator_fit(&c, s, y, NULL, N, RI_CAL_PLATT) == RI_OK);
    CHECK(roundtrip(&c));
    ri_calibrator_release(&c);
    CHECK(roundtrip(&c)); /* none */

    struct ri_calibrator d;
    const char *isotext = "isotonic 2 0.25 0.1\n0.75 0.9";
    REQUIRE(ri_calibrator_load(&d, isotext, strlen(isotext)) == RI_OK);
    CHECK(d.kind == RI_CAL_ISOTONIC && d.n == 2);
    CHECK_NEAR(ri_calibrator_apply(&d, 0.5), 0.5, 1e-15);
    ri_calibrator_release(&d);

    static const char *const bad[] = {
        "",
        "platt",
        "platt 1",
        "platt 1 x",
        "platt 1 2 3",
        "platt nan 1",
        "isotonic",
        "isotonic 0",
        "isotonic 2 0.1 0.2",
        "isotonic 2 0.5 0.1 0.2 0.3",   /* x decreasing */
        "isotonic 1 0.5 1.5",           /* y above 1 */
        "isotonic 99999999999 0.1 0.2", /* more points than the text can hold */
        "isotonic -1 0.1 0.2",
        "sigmoid 1 2",
        "none extra",
    };
    for (size_t i = 0; i < RI_ARRAY_SIZE(bad); i++) {
        ri_err rc = ri_calibrator_load(&d, bad[i], strlen(bad[i]));
        if (rc != RI_ERR_PARSE)
            fprintf(stderr, "load accepted \"%s\"\n", bad[i]);
        CHECK(rc == RI_ERR_PARSE);
        CHECK(d.x == NULL && d.y == NULL && d.kind == RI_CAL_NONE);
    }
    /* the length bounds the text: what follows it is not read */
    REQUIRE(ri_calibrator_load(&d, "platt 1 2 garbage", 9) == RI_OK);
    CHECK_NEAR(d.a, 1, 0);
    CHECK_NEAR(d.b, 2, 0);
}

/* ------------------------------------------------------------------ logistic regression */

/*
 * One binary column x = 0 0 0 0 1 1 1 1, y = 1 0 0 0 1 1 1 0. Standardized with the
 * population sd: mean .5, sd .5, z = -1 or +1. Unpenalised, the model is saturated:
 * the fit reproduces the group rates, 1/4 at x = 0 and 3/4 at x = 1, so b0 - b1 =
 * logit(1/4) = -ln 3 and b0 + b1 = ln 3: b1 = ln 3, b0 = 0.
 * With l2 = 1, b0 stays 0 by symmetry and the score equation of b1 is
 * 4 (3/4 - s) + 4 (3/4 - s) = b1 with s = sigma(b1), i.e. 2 (3 - 4 s) = b1, solved here
 * by bisection.
 */
TEST(logreg_hand)
{
    const double X[] = {0, 0, 0, 0, 1, 1, 1, 1};
    const uint8_t y[] = {1, 0, 0, 0, 1, 1, 1, 0};
    struct ri_logreg m;
    REQUIRE(ri_logreg_fit(&m, X, y, NULL, 8, 1, 0) == RI_OK);
    CHECK(m.converged);
    CHECK(m.iterations <= 10);
    CHECK_NEAR(m.mean[0], 0.5, 0);
    CHECK_NEAR(m.sd[0], 0.5, 0);
    CHECK_NEAR(m.beta[0], log(3.0), 1e-9);
    CHECK_NEAR(m.beta[1], 0, 1e-9);
    double x0 = 0, x1 = 1, xn = RI_NAN;
    CHECK_NEAR(ri_logreg_predict(&m, &x0), 0.25, 1e-9);
    CHECK_NEAR(ri_logreg_predict(&m, &x1), 0.75, 1e-9);
    /* a missing value is the column mean: z = 0, margin = b0 */
    CHECK_NEAR(ri_logreg_margin(&m, &xn), m.beta[1], 0);
    ri_logreg_release(&m);
    CHECK(m.beta == NULL);

    double lo = 0, hi = 3;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (2 * (3 - 4 * sigm(mid)) > mid)
            lo = mid;
        else
            hi = mid;
    }
    REQUIRE(ri_logreg_fit(&m, X, y, NULL, 8, 1, 1.0) == RI_OK);
    CHECK(m.converged);
    CHECK_NEAR(m.beta[0], lo, 1e-9);
    CHECK_NEAR(m.beta[1], 0, 1e-9);
    CHECK(m.beta[0] < log(3.0)); /* shrunk */
    ri_logreg_release(&m);
}

/*
 * No columns: the intercept alone, logit of the weighted rate. w = 1 2 3 4 on y = 1 0 1 0:
 * (1 + 3) / 10 = .4. One class only, a bad label or a negative l2 is refused.
 */
TEST(logreg_intercept_and_invalid)
{
    const uint8_t y[] = {1, 0, 1, 0}, ones[] = {1, 1, 1, 1}, bad[] = {1, 0, 5, 0};
    const double w[] = {1, 2, 3, 4}, X[] = {1, 2, 3, 4};
    struct ri_logreg m;
    REQUIRE(ri_logreg_fit(&m, NULL, y, w, 4, 0, 0.5) == RI_OK);
    CHECK(m.converged);
    CHECK_NEAR(ri_logreg_predict(&m, NULL), 0.4, 1e-12);
    ri_logreg_release(&m);
    CHECK(ri_logreg_fit(&m, X, ones, NULL, 4, 1, 1) == RI_ERR_INVALID);
    CHECK(ri_logreg_fit(&m, X, bad, NULL, 4, 1, 1) == RI_ERR_INVALID);
    CHECK(ri_logreg_fit(&m, X, y, NULL, 4, 1, -1) == RI_ERR_INVALID);
    CHECK(ri_logreg_fit(&m, X, y, NULL, 0, 1, 1) == RI_ERR_INVALID);
    CHECK(m.beta == NULL);
}

/*
 * Separation: x = -2 -1 1 2 with y = 0 0 1 1 has no unpenalised maximum; with l2 = 1 the
 * penalised one exists and the fit converges to a finite slope that orders the rows. A
 * constant column next to it gets a coefficient of 0.
 */
TEST(logreg_separation_and_constant)
{
    const double X[] = {-2, 7, -1, 7, 1, 7, 2, 7};
    const uint8_t y[] = {0, 0, 1, 1};
    struct ri_logreg m;
    REQUIRE(ri_logreg_fit(&m, X, y, NULL, 4, 2, 1.0) == RI_OK);
    CHECK(m.converged);
    CHECK(isfinite(m.beta[0]) && m.beta[0] > 0);
    CHECK_NEAR(m.beta[1], 0, 0);
    CHECK_NEAR(m.sd[1], 0, 0);
    CHECK(ri_logreg_predict(&m, X + 6) > ri_logreg_predict(&m, X + 4));
    CHECK(ri_logreg_predict(&m, X + 4) > 0.5 && ri_logreg_predict(&m, X + 2) < 0.5);
    ri_logreg_release(&m);
}

/*
 * Data from a known model, on the raw scale eta = -.5 + 1 x1 - .6 x2 + .8 x3 with
 * x1 ~ N(0, 1), x2 ~ N(1, 2^2), x3 ~ Bernoulli(.3); n = 20000; 1 % of x1 missing (the
 * fit imputes the mean; at 1 % the attenuation of x1's slope is lost in the noise).
 * Raw-scale coefficients are b_j / sd_j and the intercept b0 - sum b_j mean_j / sd_j.
 * Their spread over 200 seeds (run outside the suite) is .021 (x1), .011 (x2), .039
 * (x3) and .023 (intercept), largest deviations .064, .027, .107, .069, and the fit never
 * took more than 6 iterations; tolerances are 4-5 standard errors.
 */
TEST(logreg_simulated)
{
    enum { N = 20000, P = 3 };
    static double X[N * P];
    static uint8_t y[N];
    const double truth[P + 1] = {1.0, -0.6, 0.8, -0.5};
    lcg_state = 12345;
    for (size_t i = 0; i < N; i++) {
        double *x = X + i * P;
        x[0] = gauss();
        x[1] = 1 + 2 * gauss();
        x[2] = unif() < 0.3;
        double eta = truth[3] + truth[0] * x[0] + truth[1] * x[1] + truth[2] * x[2];
        y[i] = unif() < sigm(eta);
        if (i % 100 == 7)
            x[0] = RI_NAN;
    }
    struct ri_logreg m;
    REQUIRE(ri_logreg_fit(&m, X, y, NULL, N, P, 1e-3) == RI_OK);
    CHECK(m.converged);
    CHECK(m.iterations < 15);
    double raw[P + 1], icpt = m.beta[P];
    for (size_t j = 0; j < P; j++) {
        raw[j] = m.beta[j] / m.sd[j];
        icpt -= m.beta[j] * m.mean[j] / m.sd[j];
    }
    CHECK_NEAR(raw[0], truth[0], 0.1);
    CHECK_NEAR(raw[1], truth[1], 0.05);
    CHECK_NEAR(raw[2], truth[2], 0.18);
    CHECK_NEAR(icpt, truth[3], 0.1);
    CHECK_NEAR(m.mean[1], 1, 0.1);
    CHECK_NEAR(m.sd[1], 2, 0.1);

    /* the margin is the linear predictor on the raw scale */
    const double q[P] = {0.3, -1.2, 1};
    CHECK_NEAR(ri_logreg_margin(&m, q), icpt + raw[0] * q[0] + raw[1] * q[1] + raw[2] * q[2], 1e-9);
    ri_logreg_release(&m);
}

/* A failed allocation part-way through the fit (the fourth of the process, the Hessian,
 * set up in main) is RI_ERR_NOMEM, with everything allocated before it freed (ASan's
 * leak check) and the model left empty. */
TEST(logreg_nomem)
{
    const double X[] = {0, 1, 0, 1};
    const uint8_t y[] = {0, 0, 1, 1};
    struct ri_logreg m;
    CHECK(ri_logreg_fit(&m, X, y, NULL, 4, 1, 1) == RI_ERR_NOMEM);
    CHECK(m.beta == NULL && m.mean == NULL && m.sd == NULL);
    CHECK(ri_logreg_fit(&m, X, y, NULL, 4, 1, 1) == RI_OK); /* one failure only */
    ri_logreg_release(&m);
}

/* ------------------------------------------------------------------ PSI */

/*
 * Expected 1..10: the deciles (type 7) are 1.9, 2.8, ..., 9.1, one value per bin, each
 * share .1. Actual 1 1 1 1 1 2 3 4 5 6: shares .5 .1 .1 .1 .1 .1 0 0 0 0, the zeros
 * floored at 1e-4: PSI = .4 ln 5 + 4 (1e-4 - .1) ln(1e-4 / .1) = .6437752 + 2.7603390
 * = 3.4041142.
 * NAN bin: actual = 1..10 and ten NANs (n = 20): every decile bin has .05 against .1,
 * the NAN bin .5 against 0 (floored): 10 (-.05) ln .5 + (.5 - 1e-4) ln(.5 / 1e-4)
 * = .3465736 + 4.2577449 = 4.6043185.
 * Ties: expected 0 0 0 0 0 0 0 0 1 2 has deciles 0 (seven times, merged), .2, 1.1; bins
 * x <= 0, (0, .2], (.2, 1.1], > 1.1 hold .8 0 .1 .1; actual 0 0 0 0 1 1 1 1 2 2 holds
 * .4 0 .4 .2: PSI = -.4 ln .5 + .3 ln 4 + .1 ln 2 = .7624619.
 */
TEST(psi_hand)
{
    double e[10], a[20];
    for (int i = 0; i < 10; i++)
        e[i] = i + 1;
    const double a1[] = {1, 1, 1, 1, 1, 2, 3, 4, 5, 6};
    CHECK_NEAR(ri_psi(e, 10, e, 10), 0, 0);
    CHECK_NEAR(ri_psi(e, 10, a1, 10), 0.4 * log(5.0) + 4 * (1e-4 - 0.1) * log(1e-4 / 0.1), 1e-12);
    CHECK_NEAR(ri_psi(e, 10, a1, 10), 3.4041142, 1e-6);

    for (int i = 0; i < 20; i++)
        a[i] = i < 10 ? i + 1 : RI_NAN;
    CHECK_NEAR(ri_psi(e, 10, a, 20), -0.5 * log(0.5) + (0.5 - 1e-4) * log(0.5 / 1e-4), 1e-12);
    CHECK_NEAR(ri_psi(e, 10, a, 20), 4.6043185, 1e-6);

    const double et[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2}, at[] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2};
    CHECK_NEAR(ri_psi(et, 10, at, 10), -0.4 * log(0.5) + 0.3 * log(4.0) + 0.1 * log(2.0), 1e-12);

    CHECK(isnan(ri_psi(e, 0, a1, 10)));
    CHECK(isnan(ri_psi(e, 10, a1, 0)));
}

/* A sample against itself is 0; against a copy shifted by one sd it is a major shift
 * (the PSI of two normals one sd apart is about 1, their symmetric divergence). */
TEST(psi_shift)
{
    enum { N = 5000 };
    static double e[N], a[N];
    lcg_state = 77;
    for (size_t i = 0; i < N; i++) {
        e[i] = gauss();
        a[i] = gauss();
    }
    CHECK_NEAR(ri_psi(e, N, e, N), 0, 0);
    CHECK(ri_psi(e, N, a, N) < 0.02); /* same law, sampling noise only */
    for (size_t i = 0; i < N; i++)
        a[i] += 1;
    double psi = ri_psi(e, N, a, N);
    CHECK(psi > 0.25);
    CHECK(psi > 0.6 && psi < 1.4);
}

/* ------------------------------------------------------------------ neighbours */

/*
 * Columns: {0, 4, 0, 4} mean 2, sd 2; a constant 5 (sd 0); {1, NAN, 3, inf} with its
 * non-finite values skipped: mean 2, sd 1; all NAN: mean 0, sd 0. And 300 columns (more
 * than one chunk) with values j, j + 2, j + 4: mean j + 2, sd sqrt(8/3).
 */
TEST(standardize_hand)
{
    const double X[] = {0, 5, 1, RI_NAN, 4, 5, RI_NAN,   RI_NAN,
                        0, 5, 3, RI_NAN, 4, 5, HUGE_VAL, RI_NAN};
    double mean[4], sd[4];
    ri_standardize_fit(X, 4, 4, mean, sd);
    CHECK_NEAR(mean[0], 2, 0);
    CHECK_NEAR(sd[0], 2, 0);
    CHECK_NEAR(mean[1], 5, 0);
    CHECK_NEAR(sd[1], 0, 0);
    CHECK_NEAR(mean[2], 2, 0);
    CHECK_NEAR(sd[2], 1, 0);
    CHECK_NEAR(mean[3], 0, 0);
    CHECK_NEAR(sd[3], 0, 0);

    enum { P = 300 };
    static double W[3 * P], mw[P], sw[P];
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < P; j++)
            W[i * P + j] = (double)j + 2.0 * (double)i;
    ri_standardize_fit(W, 3, P, mw, sw);
    for (size_t j = 0; j < P; j++) {
        CHECK_NEAR(mw[j], (double)j + 2, 1e-12);
        CHECK_NEAR(sw[j], sqrt(8.0 / 3), 1e-12);
    }
}

/*
 * sd = 2, 0, 1 (the second column ignored); q = (2, 0, 0). Squared distances:
 *   r0 (0, 7, 0):   (2/2)^2 + 0        = 1
 *   r1 (2, 8, 0):   0 + 0              = 0
 *   r2 (4, 9, 1):   1 + 1              = 2
 *   r3 (6, 7, NAN): 4 + 1 (missing)    = 5
 *   r4 (2, 7, 2):   0 + 4              = 4
 *   r5 (4, 0, 1):   1 + 1              = 2 (ties r2: r2 first)
 * Nearest first: r1 0, r0 1, r2 sqrt 2, r5 sqrt 2, r4 2, r3 sqrt 5.
 * With q = (NAN, 0, 0) the first column adds 1 everywhere: r0 1, r1 1, r2 2, r3 2, r5 2,
 * r4 5.
 */
TEST(knn_hand)
{
    const double X[] = {0, 7, 0, 2, 8, 0, 4, 9, 1, 6, 7, RI_NAN, 2, 7, 2, 4, 0, 1};
    const double mean[] = {3, 7, 1}, sd[] = {2, 0, 1};
    const double q[] = {2, 0, 0}, qn[] = {RI_NAN, 0, 0};
    size_t idx[10];
    double dist[10];

    size_t got = ri_knn(X, 6, 3, mean, sd, q, NULL, 3, idx, dist);
    REQUIRE(got == 3);
    CHECK_EQ_INT(idx[0], 1);
    CHECK_EQ_INT(idx[1], 0);
    CHECK_EQ_INT(idx[2], 2);
    CHECK_NEAR(dist[0], 0, 0);
    CHECK_NEAR(dist[1], 1, 0);
    CHECK_NEAR(dist[2], sqrt(2.0), 1e-15);

    got = ri_knn(X, 6, 3, mean, sd, q, NULL, 10, idx, dist);
    REQUIRE(got == 6);
    const size_t order[] = {1, 0, 2, 5, 4, 3};
    const double d[] = {0, 1, sqrt(2.0), sqrt(2.0), 2, sqrt(5.0)};
    for (size_t i = 0; i < 6; i++) {
        CHECK_EQ_INT(idx[i], order[i]);
        CHECK_NEAR(dist[i], d[i], 1e-15);
    }

    /* only candidates: r1 and r2 excluded */
    const uint8_t cand[] = {1, 0, 0, 1, 1, 1};
    got = ri_knn(X, 6, 3, mean, sd, q, cand, 3, idx, dist);
    REQUIRE(got == 3);
    CHECK_EQ_INT(idx[0], 0);
    CHECK_EQ_INT(idx[1], 5);
    CHECK_EQ_INT(idx[2], 4);

    got = ri_knn(X, 6, 3, mean, sd, qn, NULL, 5, idx, dist);
    REQUIRE(got == 5);
    const size_t order_n[] = {0, 1, 2, 3, 5};
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(idx[i], order_n[i]);
    CHECK_NEAR(dist[4], sqrt(2.0), 1e-15);

    CHECK_EQ_INT(ri_knn(X, 6, 3, mean, sd, q, NULL, 0, idx, dist), 0);
}

/* Against a full sort on random data: the same k rows in the same order. */
TEST(knn_brute_force)
{
    enum { N = 500, P = 4, K = 7 };
    static double X[N * P], d2[N];
    double mean[P], sd[P], q[P], dist[K];
    size_t idx[K];
    lcg_state = 8;
    for (size_t i = 0; i < N * P; i++)
        X[i] = i % 13 == 0 ? RI_NAN : floor(unif() * 10) * (double)(1 + i % P);
    ri_standardize_fit(X, N, P, mean, sd);
    for (size_t j = 0; j < P; j++)
        q[j] = 5.0 * (double)(1 + j);
    for (size_t i = 0; i < N; i++) {
        d2[i] = 0;
        for (size_t j = 0; j < P; j++) {
            double x = X[i * P + j];
            d2[i] += isnan(x) ? 1 : ((x - q[j]) / sd[j]) * ((x - q[j]) / sd[j]);
        }
    }
    REQUIRE(ri_knn(X, N, P, mean, sd, q, NULL, K, idx, dist) == K);
    /* selection by hand: repeatedly the smallest (lowest index on ties) not yet taken */
    uint8_t taken[N] = {0};
    for (size_t r = 0; r < K; r++) {
        size_t best = N;
        for (size_t i = 0; i < N; i++)
            if (!taken[i] && (best == N || d2[i] < d2[best]))
                best = i;
        taken[best] = 1;
        CHECK_EQ_INT(idx[r], best);
        CHECK_NEAR(dist[r], sqrt(d2[best]), 1e-12);
    }
}

int main(void)
{
    BEGIN("test_learn");
    /* logreg_nomem needs the fourth try-allocation of the process to fail, so it runs
     * before anything else allocates. */
    setenv("RI_FAULT_ALLOC", "4", 1);
    RUN(logreg_nomem);
    RUN(auc_hand);
    RUN(auc_brute_force);
    RUN(eval_hand);
    RUN(eval_bins_edges);
    RUN(eval_top_decile_and_weights);
    RUN(eval_invalid);
    RUN(pav_hand);
    RUN(pav_ties_and_chain);
    RUN(isotonic_random);
    RUN(platt_recovery);
    RUN(platt_identity_and_one_class);
    RUN(calibrator_save_load);
    RUN(logreg_hand);
    RUN(logreg_intercept_and_invalid);
    RUN(logreg_separation_and_constant);
    RUN(logreg_simulated);
    RUN(psi_hand);
    RUN(psi_shift);
    RUN(standardize_hand);
    RUN(knn_hand);
    RUN(knn_brute_force);
    return DONE();
}
