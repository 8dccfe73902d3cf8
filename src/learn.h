/*
 * learn.h - small statistical learning for the risk model (model.c): evaluation of
 * probabilistic classifiers, calibration (Platt, isotonic), an L2-penalised logistic
 * regression (the baseline), population stability, and nearest neighbours on
 * standardized features.
 *
 * Plain functions over arrays. Probabilities p are P(win); labels y are 0 (lost) or 1
 * (won); weights w may be NULL (all 1). Nothing here touches the store.
 */
#ifndef RI_LEARN_H
#define RI_LEARN_H

#include "stats.h"

/* ------------------------------------------------------------------ evaluation */

#define RI_EVAL_BINS 10

/* One bin of the reliability table: predictions in [lo, hi). */
struct ri_reliability_bin {
    double lo, hi;
    uint64_t n;            /* rows in the bin */
    double w;              /* their weight */
    double mean_p, mean_y; /* weighted means; NAN for an empty bin */
};

struct ri_eval {
    uint64_t n, positives; /* rows, rows with y = 1 */
    double wsum;
    double auc;                                   /* weighted ROC AUC, ties count 1/2 */
    struct ri_interval auc_ci;                    /* 95 %, Hanley-McNeil */
    double log_loss;                              /* p clipped to [1e-6, 1 - 1e-6] */
    double brier, brier_ref, brier_skill;         /* skill = 1 - brier / brier_ref; NAN w/o ref */
    double ece;                                   /* sum over bins of w_b/W * |mean_p - mean_y| */
    struct ri_reliability_bin bins[RI_EVAL_BINS]; /* equal width: [0,.1) ... [.9,1] */
    double threshold;                             /* predict "won" when p >= threshold */
    double accuracy, precision, recall;           /* of "won" at the threshold */
    /* the riskiest decile: the 10 % of rows (by weight) with the lowest p; the share of
     * them that were in fact lost (precision of flagging them as at risk) */
    double top_decile_precision;
    double base_rate; /* weighted share of y = 1 */
};

/* Evaluates p against y. ref (may be NULL): a reference forecast (e.g. the stage model)
 * for the Brier skill. Every mean and share is weighted; n, positives and the bins' n
 * count rows. The AUC interval takes n1, n2 = the rows of positive weight in each class.
 * Precision and recall are NAN when nothing is predicted won / nothing was won; the skill
 * is NAN when the reference's Brier score is 0. The riskiest decile is taken in the order
 * (p, row index); the row that straddles the 10 % mark counts with the part of its
 * weight that fits. RI_ERR_INVALID when n == 0, the total weight is 0, a p or ref value is
 * not in [0, 1] (NAN included), a y is not 0 or 1, or a weight is negative or not finite;
 * RI_ERR_NOMEM. On failure *out is zeroed. */
ri_err ri_eval_compute(const double *p, const uint8_t *y, const double *w, size_t n,
                       const double *ref, double threshold, struct ri_eval *out /* OUT */);
/* Weighted ROC AUC alone (ties 1/2); NAN if one class has no weight, and on invalid
 * input (a NAN p, a y other than 0 or 1, a negative or non-finite weight) or a failed
 * allocation. p may be any score, not only a probability. O(n log n), allocates. */
double ri_auc(const double *p, const uint8_t *y, const double *w, size_t n);

/* ------------------------------------------------------------------ calibration */

enum ri_cal_kind { RI_CAL_NONE = 0, RI_CAL_PLATT, RI_CAL_ISOTONIC, RI_CAL_AUTO };
#define RI_CAL_PLATT_MAX_ROWS 1000 /* AUTO: Platt below this many rows, isotonic above */

/* Maps a raw score s in [0, 1] (an uncalibrated probability) to a calibrated one.
 * Platt: p = 1 / (1 + exp(-(a * logit(s) + b))). Isotonic: the pool-adjacent-violators
 * fit, as a step function x[k] -> y[k] with linear interpolation between steps and
 * clipping outside them. */
struct ri_calibrator {
    enum ri_cal_kind kind;
    double a, b; /* Platt */
    size_t n;    /* isotonic: points */
    double *x, *y;
};
/* Fits on (s, y, w); rows of weight 0 are ignored. kind AUTO picks by the number of rows
 * (n < RI_CAL_PLATT_MAX_ROWS: Platt). NONE succeeds without looking at the data (apply
 * is then the identity). Platt's smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2)
 * count rows, not weights; s is clipped to [1e-6, 1 - 1e-6] before the logit. Isotonic
 * pools equal s first; its points have strictly increasing x (each block's weighted mean
 * s) and non-decreasing y. RI_ERR_INVALID for n == 0, a NAN s, a y other than 0 or 1, a
 * negative weight, or no weight at all; RI_ERR_NOMEM; RI_ERR_NUMERIC if Platt diverges.
 * On failure *c holds nothing (kind NONE). */
ri_err ri_calibrator_fit(struct ri_calibrator *c /* OUT */, const double *s, const uint8_t *y,
                         const double *w, size_t n, enum ri_cal_kind kind);
/* NAN for a NAN s. */
double ri_calibrator_apply(const struct ri_calibrator *c, double s);
/* Frees the points and leaves kind NONE; accepts NULL. */
void ri_calibrator_release(struct ri_calibrator *c);
/* Text form for the model registry ("none", "platt A B" or "isotonic N x y x y ..."), with
 * every number in "%.17g" so that load(save(c)) is c bit for bit; save appends to out
 * (RI_ERR_TOOBIG if out's cap is reached). load reads text[0..len) (no NUL needed) and
 * fails with RI_ERR_PARSE on a malformed text: unknown kind, missing or extra tokens,
 * non-finite numbers, decreasing x, y outside [0, 1]; *c then holds nothing. */
ri_err ri_calibrator_save(const struct ri_calibrator *c, struct ri_buf *out);
ri_err ri_calibrator_load(struct ri_calibrator *c /* OUT */, const char *text, size_t len);

/* ------------------------------------------------------------------ logistic regression */

/* Columns are standardized (mean, sd as ri_standardize_fit) before the fit; beta is on
 * the standardized scale, beta[p] the intercept; the raw-scale slope of column j is
 * beta[j] / sd[j]. A missing value (NAN or infinite) is replaced by the column mean, in
 * the fit and in margin/predict; a column with sd 0 carries no information and gets
 * beta 0. converged is 1 when a Newton step fell below 1e-8 within 50 iterations. */
struct ri_logreg {
    size_t p;
    double *beta; /* p + 1 */
    double *mean, *sd;
    int iterations, converged;
};
/* Newton-Raphson (IRLS) on the weighted log-likelihood with penalty l2/2 * |beta|^2
 * (intercept not penalised), with step halving. X is n x p, row-major (may be NULL when
 * p == 0: the intercept alone). Memory O(p^2), time O(n p^2) per iteration. l2 > 0 keeps
 * the fit finite under separation. RI_ERR_INVALID for n == 0, l2 negative or not finite,
 * a y other than 0 or 1, a negative weight, or a class without weight (the intercept
 * would run off); RI_ERR_NOMEM, RI_ERR_TOOBIG (p too large), RI_ERR_NUMERIC. On failure
 * *m holds nothing. */
ri_err ri_logreg_fit(struct ri_logreg *m /* OUT */, const double *X, const uint8_t *y,
                     const double *w, size_t n, size_t p, double l2);
/* Linear predictor of the raw row x (p values); NAN for a model that was not fitted. */
double ri_logreg_margin(const struct ri_logreg *m, const double *x);
double ri_logreg_predict(const struct ri_logreg *m, const double *x); /* P(y = 1) */
void ri_logreg_release(struct ri_logreg *m);                          /* accepts NULL */

/* ------------------------------------------------------------------ drift */

/* Population stability index of actual against expected: bins are the deciles of
 * expected (ties merged; NAN values form a bin of their own), shares floored at 1e-4.
 * The cuts are the type-7 deciles (ri_quantile) of the non-NAN expected values; a value
 * x goes in the first bin whose cut is >= x, or above the last. Shares are of all values,
 * NAN included; bins empty on both sides add nothing. sum (a - e) ln(a / e).
 * < 0.1 stable, 0.1 - 0.25 moderate shift, > 0.25 major shift. NAN if either sample is
 * empty or the copy cannot be allocated. Allocates a copy. */
double ri_psi(const double *expected, size_t ne, const double *actual, size_t na);

/* ------------------------------------------------------------------ neighbours */

/* Mean and standard deviation (population: divided by the count) of each column of X
 * (n x p), NAN and infinite values skipped; a column without values gets mean 0, sd 0.
 * Reads X row by row (256 columns per pass). */
void ri_standardize_fit(const double *X, size_t n, size_t p, double *mean /* OUT p */,
                        double *sd /* OUT p */);
/* The k rows of X among those with candidate[i] != 0 (NULL: all) nearest to q in the
 * Euclidean distance of standardized columns (a column with sd 0 is ignored; a NAN in
 * either side counts as a distance of 1 sd in that column). Writes up to k indices,
 * nearest first, and their distances; returns how many. Ties go to the lower row index.
 * The distance does not depend on mean (differences cancel); it is there so that the
 * pair from ri_standardize_fit can be passed as is. One pass, O(n p + n k) worst case. */
size_t ri_knn(const double *X, size_t n, size_t p, const double *mean, const double *sd,
              const double *q, const uint8_t *candidate, size_t k, size_t *idx /* OUT */,
              double *dist /* OUT */);

#endif /* RI_LEARN_H */
