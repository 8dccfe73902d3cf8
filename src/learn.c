/*
 * learn.c - the small statistical learning under the risk model: evaluation of
 * probabilistic classifiers, calibration (Platt, isotonic), an L2-penalised logistic
 * regression fitted by Newton-Raphson, the population stability index, and nearest
 * neighbours on standardized columns.
 *
 * Everything is a plain function over caller-owned arrays. Input-sized scratch memory
 * comes from ri_try_alloc; its failure is RI_ERR_NOMEM (or NAN for the functions that
 * return a number). Inputs are checked before any arithmetic: a NAN probability, a label
 * other than 0 or 1, or a negative weight is RI_ERR_INVALID (NAN from ri_auc), because
 * each of them would otherwise poison every sum silently.
 *
 * Numerical choices worth knowing, each explained where it is made:
 * - Rows are ranked by (p, index), so every tie is broken the same way on every platform
 *   (qsort is not stable; the index makes it so).
 * - Both Newton solvers (Platt, logistic regression) take damped steps: the full step
 *   is halved until the objective decreases (Armijo), which keeps them monotone when a
 *   full step would overshoot (near separation, or from a poor start).
 * - The logistic regression never materialises the standardized matrix: each pass
 *   standardizes one row at a time, so memory is O(p^2) whatever n is.
 */
#include "learn.h"

#include <float.h>
#include <math.h>

/* Two-sided 95 % normal quantile. */
#define RI_Z95 1.959964
/* Probabilities are kept this far from 0 and 1 where a logarithm is taken. */
#define RI_P_CLIP 1e-6
/* Logistic regression: Newton iterations and the step size under which it stops. */
#define RI_LOGREG_MAX_ITER 50
#define RI_LOGREG_TOL      1e-8
/* Platt scaling: same, for a two-parameter problem. */
#define RI_PLATT_MAX_ITER 100
#define RI_PLATT_TOL      1e-10
/* Step halvings a line search tries before it gives up. */
#define RI_MAX_HALVINGS 40
/* Armijo constant: a step must achieve this fraction of the predicted decrease. */
#define RI_ARMIJO 1e-4
/* PSI: decile bins, plus one for NAN values; shares below the floor are raised to it. */
#define RI_PSI_BINS  10
#define RI_PSI_FLOOR 1e-4
/* ri_standardize_fit reads this many columns per pass over the rows. */
#define RI_STD_CHUNK 256

/* ------------------------------------------------------------------ helpers */

static double weight_at(const double *w, size_t i)
{
    return w ? w[i] : 1.0;
}

static bool weight_ok(double w)
{
    return isfinite(w) && w >= 0;
}

static double clip_p(double p)
{
    return p < RI_P_CLIP ? RI_P_CLIP : p > 1 - RI_P_CLIP ? 1 - RI_P_CLIP : p;
}

static double logit(double p)
{
    return log(p) - log1p(-p);
}

static double sigmoid(double z)
{
    if (z >= 0)
        return 1 / (1 + exp(-z));
    double e = exp(z);
    return e / (1 + e);
}

/* log(1 + exp(z)) without overflow. */
static double log1pexp(double z)
{
    return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
}

/* A row with its score, for ranking. */
struct ranked {
    double p;
    size_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->p < y->p)
        return -1;
    if (x->p > y->p)
        return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Ranks rows by (p[i], i) ascending; p must hold no NAN. */
static ri_err rank_rows(const double *p, size_t n, struct ranked **out /* OUT */)
{
    *out = NULL;
    if (n > SIZE_MAX / sizeof(struct ranked))
        return RI_ERR_TOOBIG;
    struct ranked *r = ri_try_alloc(n * sizeof(*r) + 1);
    if (!r)
        return RI_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        r[i].p = p[i];
        r[i].i = i;
    }
    if (n > 1)
        qsort(r, n, sizeof(*r), cmp_ranked);
    *out = r;
    return RI_OK;
}

/* ------------------------------------------------------------------ evaluation */

/*
 * Mann-Whitney over the ranked rows: each positive scores the weight of the negatives
 * strictly below it plus half of those tied with it. Equal scores are adjacent after
 * ranking, so one pass over tie groups does it.
 */
static double auc_ranked(const struct ranked *r, size_t n, const uint8_t *y, const double *w)
{
    double below = 0, num = 0, wp = 0, wn = 0;
    size_t i = 0;
    while (i < n) {
        double gp = 0, gn = 0;
        size_t j = i;
        /* sorted ascending: r[j].p >= r[i].p, so "not greater" means equal */
        while (j < n && !(r[j].p > r[i].p)) {
            double wi = weight_at(w, r[j].i);
            if (y[r[j].i])
                gp += wi;
            else
                gn += wi;
            j++;
        }
        num += gp * (below + 0.5 * gn);
        below += gn;
        wp += gp;
        wn += gn;
        i = j;
    }
    if (!(wp > 0) || !(wn > 0))
        return RI_NAN;
    return num / (wp * wn);
}

double ri_auc(const double *p, const uint8_t *y, const double *w, size_t n)
{
    struct ranked *r = NULL;
    for (size_t i = 0; i < n; i++)
        if (isnan(p[i]) || y[i] > 1 || !weight_ok(weight_at(w, i)))
            return RI_NAN;
    if (rank_rows(p, n, &r))
        return RI_NAN;
    double auc = auc_ranked(r, n, y, w);
    ri_free(r);
    return auc;
}

/*
 * Hanley and McNeil (1982): with Q1 = A / (2 - A) and Q2 = 2 A^2 / (1 + A),
 * SE^2 = (A (1 - A) + (n1 - 1)(Q1 - A^2) + (n2 - 1)(Q2 - A^2)) / (n1 n2).
 */
static struct ri_interval auc_interval(double a, uint64_t n1, uint64_t n2)
{
    struct ri_interval r = {RI_NAN, RI_NAN, RI_NAN};
    if (isnan(a) || n1 == 0 || n2 == 0)
        return r;
    double d1 = (double)n1, d2 = (double)n2;
    double q1 = a / (2 - a), q2 = 2 * a * a / (1 + a);
    double var = (a * (1 - a) + (d1 - 1) * (q1 - a * a) + (d2 - 1) * (q2 - a * a)) / (d1 * d2);
    double se = sqrt(var > 0 ? var : 0);
    r.est = a;
    r.lo = fmax(0, a - RI_Z95 * se);
    r.hi = fmin(1, a + RI_Z95 * se);
    return r;
}

/* Reliability bin of p in [0, 1]: [k/10, (k+1)/10), with p == 1 in the last. The product
 * p * 10 can round across a boundary; comparing with k / 10 (the same double as the
 * literal 0.k) puts it back. */
static size_t eval_bin(double p)
{
    size_t b = (size_t)(p * RI_EVAL_BINS);
    if (b >= RI_EVAL_BINS)
        b = RI_EVAL_BINS - 1;
    if (b > 0 && p < (double)b / RI_EVAL_BINS)
        b--;
    else if (b + 1 < RI_EVAL_BINS && p >= (double)(b + 1) / RI_EVAL_BINS)
        b++;
    return b;
}

ri_err ri_eval_compute(const double *p, const uint8_t *y, const double *w, size_t n,
                       const double *ref, double threshold, struct ri_eval *out /* OUT */)
{
    struct ranked *r = NULL;
    ri_err rc = RI_OK;
    double wsum = 0, wpos = 0, ll = 0, brier = 0, bref = 0;
    double tp = 0, fp = 0, fn = 0, correct = 0;
    double bw[RI_EVAL_BINS] = {0}, bp[RI_EVAL_BINS] = {0}, by[RI_EVAL_BINS] = {0};
    uint64_t bn[RI_EVAL_BINS] = {0}, npos_w = 0, nneg_w = 0;

    memset(out, 0, sizeof(*out));
    if (n == 0)
        return RI_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (!(p[i] >= 0 && p[i] <= 1) || y[i] > 1 || !weight_ok(weight_at(w, i)))
            return RI_ERR_INVALID;
        if (ref && !(ref[i] >= 0 && ref[i] <= 1))
            return RI_ERR_INVALID;
    }

    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i), yi = y[i], pc = clip_p(p[i]);
        size_t b = eval_bin(p[i]);
        bool pred = p[i] >= threshold;

        wsum += wi;
        out->positives += y[i];
        if (wi > 0) {
            if (y[i])
                npos_w++;
            else
                nneg_w++;
        }
        wpos += wi * yi;
        ll -= wi * (y[i] ? log(pc) : log1p(-pc));
        brier += wi * (p[i] - yi) * (p[i] - yi);
        if (ref)
            bref += wi * (ref[i] - yi) * (ref[i] - yi);
        bn[b]++;
        bw[b] += wi;
        bp[b] += wi * p[i];
        by[b] += wi * yi;
        if (pred && y[i])
            tp += wi;
        else if (pred)
            fp += wi;
        else if (y[i])
            fn += wi;
        if (pred == (y[i] != 0))
            correct += wi;
    }
    if (!(wsum > 0)) {
        rc = RI_ERR_INVALID;
        goto out;
    }

    out->n = n;
    out->wsum = wsum;
    out->base_rate = wpos / wsum;
    out->log_loss = ll / wsum;
    out->brier = brier / wsum;
    out->brier_ref = ref ? bref / wsum : RI_NAN;
    out->brier_skill = ref && out->brier_ref > 0 ? 1 - out->brier / out->brier_ref : RI_NAN;
    out->threshold = threshold;
    out->accuracy = correct / wsum;
    out->precision = tp + fp > 0 ? tp / (tp + fp) : RI_NAN;
    out->recall = tp + fn > 0 ? tp / (tp + fn) : RI_NAN;

    out->ece = 0;
    for (size_t b = 0; b < RI_EVAL_BINS; b++) {
        struct ri_reliability_bin *bin = &out->bins[b];
        bin->lo = (double)b / RI_EVAL_BINS;
        bin->hi = (double)(b + 1) / RI_EVAL_BINS;
        bin->n = bn[b];
        bin->w = bw[b];
        bin->mean_p = bw[b] > 0 ? bp[b] / bw[b] : RI_NAN;
        bin->mean_y = bw[b] > 0 ? by[b] / bw[b] : RI_NAN;
        if (bw[b] > 0)
            out->ece += bw[b] / wsum * fabs(bin->mean_p - bin->mean_y);
    }

    rc = rank_rows(p, n, &r);
    if (rc)
        goto out;
    out->auc = auc_ranked(r, n, y, w);
    out->auc_ci = auc_interval(out->auc, npos_w, nneg_w);

    /* The riskiest tenth of the weight, lowest p first; the row that straddles the
     * boundary counts with the part of its weight that fits. */
    {
        double target = 0.1 * wsum, taken = 0, lost = 0;
        for (size_t k = 0; k < n && taken < target; k++) {
            double wi = weight_at(w, r[k].i);
            double take = fmin(wi, target - taken);
            taken += take;
            if (!y[r[k].i])
                lost += take;
        }
        out->top_decile_precision = taken > 0 ? lost / taken : RI_NAN;
    }

out:
    ri_free(r);
    if (rc)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ------------------------------------------------------------------ calibration */

static void cal_clear(struct ri_calibrator *c)
{
    *c = (struct ri_calibrator){.kind = RI_CAL_NONE, .x = NULL, .y = NULL};
}

/* Platt's objective: the weighted log-loss of the smoothed targets t, in the form
 * sum w (log(1 + e^z) - t z) with z = a f + b (the same value, without cancellation). */
static double platt_loss(const double *s, const uint8_t *y, const double *w, size_t n, double tpos,
                         double tneg, double a, double b)
{
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        if (wi > 0) {
            double z = a * logit(clip_p(s[i])) + b;
            f += wi * (log1pexp(z) - (y[i] ? tpos : tneg) * z);
        }
    }
    return f;
}

/*
 * Platt (1999) with the target smoothing of his paper and the damped Newton method of
 * Lin, Lin and Weng (2007). N+ and N- count rows (of positive weight), not weights:
 * the smoothing is a prior worth one observation, whatever scale the weights have.
 */
static ri_err platt_fit(struct ri_calibrator *c, const double *s, const uint8_t *y, const double *w,
                        size_t n)
{
    double npos = 0, nneg = 0;
    for (size_t i = 0; i < n; i++) {
        if (weight_at(w, i) > 0) {
            if (y[i])
                npos++;
            else
                nneg++;
        }
    }
    if (!(npos + nneg > 0))
        return RI_ERR_INVALID;
    double tpos = (npos + 1) / (npos + 2), tneg = 1 / (nneg + 2);
    /* Start from the constant model p = (N+ + 1) / (N + 2). */
    double a = 0, b = log((npos + 1) / (nneg + 1));
    double f = platt_loss(s, y, w, n, tpos, tneg, a, b);

    for (int it = 0; it < RI_PLATT_MAX_ITER; it++) {
        double ga = 0, gb = 0, haa = 0, hab = 0, hbb = 0;
        for (size_t i = 0; i < n; i++) {
            double wi = weight_at(w, i);
            if (!(wi > 0))
                continue;
            double fi = logit(clip_p(s[i]));
            double pi = sigmoid(a * fi + b), r = wi * (pi - (y[i] ? tpos : tneg));
            double h = wi * pi * (1 - pi);
            ga += r * fi;
            gb += r;
            haa += h * fi * fi;
            hab += h * fi;
            hbb += h;
        }
        /* A tiny ridge keeps the 2 x 2 system solvable when all scores are equal. */
        haa += 1e-12 * (1 + haa);
        hbb += 1e-12 * (1 + hbb);
        double det = haa * hbb - hab * hab;
        if (!(det > 0))
            break;
        double da = -(hbb * ga - hab * gb) / det, db = -(haa * gb - hab * ga) / det;
        if (fmax(fabs(da), fabs(db)) < RI_PLATT_TOL)
            break;
        double slope = ga * da + gb * db, t = 1, fnew = f;
        int halvings = 0;
        for (; halvings < RI_MAX_HALVINGS; halvings++, t /= 2) {
            fnew = platt_loss(s, y, w, n, tpos, tneg, a + t * da, b + t * db);
            if (fnew <= f + RI_ARMIJO * t * slope)
                break;
        }
        if (halvings == RI_MAX_HALVINGS)
            break; /* no decrease left: at the minimum to rounding */
        a += t * da;
        b += t * db;
        f = fnew;
    }
    if (!isfinite(a) || !isfinite(b))
        return RI_ERR_NUMERIC;
    c->kind = RI_CAL_PLATT;
    c->a = a;
    c->b = b;
    return RI_OK;
}

/* A block of the pool-adjacent-violators fit: weighted sums and the range of s. */
struct pav_block {
    double w, ws, wy, lo, hi;
};

/*
 * Weighted pool-adjacent-violators: rows sorted by s, equal s pooled first (so the fit is
 * a function of s), then a block is merged with the one before it while that one's mean
 * is strictly greater. Each block becomes a point (its weighted mean s, its mean y); the
 * mean s is clamped to the block's range so that the points' x stay strictly increasing
 * even when rounding would nudge a mean past a neighbour.
 */
static ri_err isotonic_fit(struct ri_calibrator *c, const double *s, const uint8_t *y,
                           const double *w, size_t n)
{
    struct ranked *r = NULL;
    struct pav_block *blk = NULL;
    size_t top = 0;
    ri_err rc = rank_rows(s, n, &r);
    if (rc)
        goto out;
    blk = ri_try_alloc(n * sizeof(*blk) + 1);
    if (!blk) {
        rc = RI_ERR_NOMEM;
        goto out;
    }
    /* one block per distinct s (all of a tie, before any violation is looked at) */
    size_t nb = 0;
    for (size_t k = 0; k < n; k++) {
        double wi = weight_at(w, r[k].i), si = r[k].p;
        if (!(wi > 0))
            continue;
        if (nb > 0 && !(si > blk[nb - 1].hi)) {
            blk[nb - 1].w += wi;
            blk[nb - 1].ws += wi * si;
            blk[nb - 1].wy += wi * y[r[k].i];
        } else {
            blk[nb++] = (struct pav_block){wi, wi * si, wi * y[r[k].i], si, si};
        }
    }
    /* the pool, as a stack in the same array (top <= k) */
    for (size_t k = 0; k < nb; k++) {
        blk[top++] = blk[k];
        /* means compared cross-multiplied: exact for integer weights, so equal means
         * (kept as separate points) are recognised whatever the order of the sums */
        while (top >= 2 && blk[top - 2].wy * blk[top - 1].w > blk[top - 1].wy * blk[top - 2].w) {
            struct pav_block *a = &blk[top - 2], *b = &blk[top - 1];
            a->w += b->w;
            a->ws += b->ws;
            a->wy += b->wy;
            a->hi = b->hi;
            top--;
        }
    }
    if (top == 0) {
        rc = RI_ERR_INVALID;
        goto out;
    }
    c->x = ri_try_alloc(top * sizeof(double));
    c->y = ri_try_alloc(top * sizeof(double));
    if (!c->x || !c->y) {
        rc = RI_ERR_NOMEM;
        goto out;
    }
    for (size_t k = 0; k < top; k++) {
        double x = blk[k].ws / blk[k].w;
        c->x[k] = x < blk[k].lo ? blk[k].lo : x > blk[k].hi ? blk[k].hi : x;
        c->y[k] = blk[k].wy / blk[k].w;
    }
    c->n = top;
    c->kind = RI_CAL_ISOTONIC;

out:
    ri_free(blk);
    ri_free(r);
    return rc;
}

ri_err ri_calibrator_fit(struct ri_calibrator *c /* OUT */, const double *s, const uint8_t *y,
                         const double *w, size_t n, enum ri_cal_kind kind)
{
    ri_err rc;

    cal_clear(c);
    if (kind == RI_CAL_NONE)
        return RI_OK;
    if (n == 0 || (kind != RI_CAL_PLATT && kind != RI_CAL_ISOTONIC && kind != RI_CAL_AUTO))
        return RI_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (isnan(s[i]) || y[i] > 1 || !weight_ok(weight_at(w, i)))
            return RI_ERR_INVALID;
    if (kind == RI_CAL_AUTO)
        kind = n < RI_CAL_PLATT_MAX_ROWS ? RI_CAL_PLATT : RI_CAL_ISOTONIC;
    rc = kind == RI_CAL_PLATT ? platt_fit(c, s, y, w, n) : isotonic_fit(c, s, y, w, n);
    if (rc)
        ri_calibrator_release(c);
    return rc;
}

double ri_calibrator_apply(const struct ri_calibrator *c, double s)
{
    if (isnan(s))
        return RI_NAN;
    switch (c->kind) {
    case RI_CAL_PLATT:
        return sigmoid(c->a * logit(clip_p(s)) + c->b);
    case RI_CAL_ISOTONIC: {
        size_t lo = 0, hi;
        if (c->n == 0)
            return RI_NAN;
        hi = c->n - 1;
        if (s <= c->x[0])
            return c->y[0];
        if (s >= c->x[hi])
            return c->y[hi];
        /* x[lo] < s < x[hi]: narrow to adjacent points */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (c->x[mid] <= s)
                lo = mid;
            else
                hi = mid;
        }
        double dx = c->x[hi] - c->x[lo];
        if (!(dx > 0))
            return c->y[hi];
        return c->y[lo] + (s - c->x[lo]) / dx * (c->y[hi] - c->y[lo]);
    }
    case RI_CAL_NONE:
    case RI_CAL_AUTO:
    default:
        return s;
    }
}

void ri_calibrator_release(struct ri_calibrator *c)
{
    if (!c)
        return;
    ri_free(c->x);
    ri_free(c->y);
    cal_clear(c);
}

ri_err ri_calibrator_save(const struct ri_calibrator *c, struct ri_buf *out)
{
    ri_err rc = RI_OK;
    switch (c->kind) {
    case RI_CAL_NONE:
        return ri_buf_adds(out, "none");
    case RI_CAL_PLATT:
        return ri_buf_addf(out, "platt %.17g %.17g", c->a, c->b);
    case RI_CAL_ISOTONIC:
        rc = ri_buf_addf(out, "isotonic %zu", c->n);
        for (size_t k = 0; k < c->n && !rc; k++)
            rc = ri_buf_addf(out, " %.17g %.17g", c->x[k], c->y[k]);
        return rc;
    case RI_CAL_AUTO:
    default:
        return RI_ERR_INVALID;
    }
}

/* The next blank-separated token of text[*pos..len), or false at the end. */
static bool next_token(const char *text, size_t len, size_t *pos, const char **tok, size_t *toklen)
{
    size_t i = *pos;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len) {
        *pos = i;
        return false;
    }
    size_t start = i;
    while (i < len && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
        i++;
    *tok = text + start;
    *toklen = i - start;
    *pos = i;
    return true;
}

static ri_err next_double(const char *text, size_t len, size_t *pos, double *v /* OUT */)
{
    const char *tok;
    size_t tl;
    *v = 0;
    if (!next_token(text, len, pos, &tok, &tl))
        return RI_ERR_PARSE;
    if (ri_parse_f64(tok, tl, v) || !isfinite(*v))
        return RI_ERR_PARSE;
    return RI_OK;
}

static bool token_is(const char *tok, size_t tl, const char *word)
{
    return tl == strlen(word) && memcmp(tok, word, tl) == 0;
}

ri_err ri_calibrator_load(struct ri_calibrator *c /* OUT */, const char *text, size_t len)
{
    ri_err rc = RI_OK;
    const char *tok;
    size_t tl, pos = 0;

    cal_clear(c);
    if (!text || !next_token(text, len, &pos, &tok, &tl))
        return RI_ERR_PARSE;
    if (token_is(tok, tl, "none")) {
        c->kind = RI_CAL_NONE;
    } else if (token_is(tok, tl, "platt")) {
        rc = next_double(text, len, &pos, &c->a);
        if (!rc)
            rc = next_double(text, len, &pos, &c->b);
        c->kind = RI_CAL_PLATT;
    } else if (token_is(tok, tl, "isotonic")) {
        int64_t k;
        if (!next_token(text, len, &pos, &tok, &tl) || ri_parse_i64(tok, tl, &k) || k < 1 ||
            (uint64_t)k > len / 4) {
            /* every point takes at least four bytes (" x y"): a larger count is a lie */
            rc = RI_ERR_PARSE;
            goto out;
        }
        c->kind = RI_CAL_ISOTONIC;
        c->x = ri_try_alloc((size_t)k * sizeof(double));
        c->y = ri_try_alloc((size_t)k * sizeof(double));
        if (!c->x || !c->y) {
            rc = RI_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < (size_t)k && !rc; i++) {
            rc = next_double(text, len, &pos, &c->x[i]);
            if (!rc)
                rc = next_double(text, len, &pos, &c->y[i]);
            /* a fit by pool-adjacent-violators: x ascending, y non-decreasing in [0, 1] */
            if (!rc && ((i > 0 && (c->x[i] < c->x[i - 1] || c->y[i] < c->y[i - 1])) ||
                        c->y[i] < 0 || c->y[i] > 1))
                rc = RI_ERR_PARSE;
        }
        c->n = (size_t)k;
    } else {
        rc = RI_ERR_PARSE;
    }
    if (!rc && next_token(text, len, &pos, &tok, &tl))
        rc = RI_ERR_PARSE; /* trailing garbage */
out:
    if (rc)
        ri_calibrator_release(c);
    return rc;
}

/* ------------------------------------------------------------------ logistic regression */

/* Standardized value of column j; a missing (non-finite) value or a constant column is 0,
 * i.e. the value is taken to be the column mean. */
static double std_value(const double *mean, const double *sd, size_t j, double x)
{
    if (!isfinite(x) || !(sd[j] > 0))
        return 0;
    return (x - mean[j]) / sd[j];
}

static double logreg_eta(const struct ri_logreg *m, const double *beta, const double *x)
{
    double eta = beta[m->p];
    for (size_t j = 0; j < m->p; j++)
        eta += beta[j] * std_value(m->mean, m->sd, j, x[j]);
    return eta;
}

/* The penalised negative log-likelihood at beta. */
static double logreg_loss(const struct ri_logreg *m, const double *beta, const double *X,
                          const uint8_t *y, const double *w, size_t n, double l2)
{
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        if (wi > 0) {
            double eta = logreg_eta(m, beta, m->p ? X + i * m->p : X);
            f += wi * (log1pexp(eta) - (y[i] ? eta : 0));
        }
    }
    for (size_t j = 0; j < m->p; j++)
        f += 0.5 * l2 * beta[j] * beta[j];
    return f;
}

/* Cholesky factor L (lower, q x q) of the symmetric matrix whose upper triangle is in A,
 * with ridge added to the diagonal. False if it is not positive definite. */
static bool cholesky(const double *A, double ridge, size_t q, double *L)
{
    for (size_t j = 0; j < q; j++) {
        double s = A[j * q + j] + ridge;
        for (size_t k = 0; k < j; k++)
            s -= L[j * q + k] * L[j * q + k];
        if (!(s > 0) || !isfinite(s))
            return false;
        double d = sqrt(s);
        L[j * q + j] = d;
        for (size_t i = j + 1; i < q; i++) {
            double t = A[j * q + i]; /* A[i][j] = A[j][i], upper triangle */
            for (size_t k = 0; k < j; k++)
                t -= L[i * q + k] * L[j * q + k];
            L[i * q + j] = t / d;
        }
    }
    return true;
}

/* Solves L L' x = b in place (b becomes x). */
static void cholesky_solve(const double *L, size_t q, double *b)
{
    for (size_t i = 0; i < q; i++) {
        double t = b[i];
        for (size_t k = 0; k < i; k++)
            t -= L[i * q + k] * b[k];
        b[i] = t / L[i * q + i];
    }
    for (size_t i = q; i-- > 0;) {
        double t = b[i];
        for (size_t k = i + 1; k < q; k++)
            t -= L[k * q + i] * b[k];
        b[i] = t / L[i * q + i];
    }
}

ri_err ri_logreg_fit(struct ri_logreg *m /* OUT */, const double *X, const uint8_t *y,
                     const double *w, size_t n, size_t p, double l2)
{
    ri_err rc = RI_OK;
    double *H = NULL, *L = NULL, *g = NULL, *z = NULL, *d = NULL, *nb = NULL;
    double wpos = 0, wneg = 0, f;
    size_t q = p + 1;

    *m = (struct ri_logreg){.beta = NULL, .mean = NULL, .sd = NULL};
    if (n == 0 || !(l2 >= 0) || !isfinite(l2))
        return RI_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        if (y[i] > 1 || !weight_ok(wi))
            return RI_ERR_INVALID;
        if (y[i])
            wpos += wi;
        else
            wneg += wi;
    }
    /* With one class the unpenalised intercept runs off to infinity. */
    if (!(wpos > 0) || !(wneg > 0))
        return RI_ERR_INVALID;
    if (q < p || q > SIZE_MAX / sizeof(double) / q)
        return RI_ERR_TOOBIG;

    m->p = p;
    m->beta = ri_try_alloc(q * sizeof(double));
    m->mean = ri_try_alloc(q * sizeof(double));
    m->sd = ri_try_alloc(q * sizeof(double));
    H = ri_try_alloc(q * q * sizeof(double));
    L = ri_try_alloc(q * q * sizeof(double));
    g = ri_try_alloc(q * sizeof(double));
    z = ri_try_alloc(q * sizeof(double));
    d = ri_try_alloc(q * sizeof(double));
    nb = ri_try_alloc(q * sizeof(double));
    if (!m->beta || !m->mean || !m->sd || !H || !L || !g || !z || !d || !nb) {
        rc = RI_ERR_NOMEM;
        goto out;
    }
    ri_standardize_fit(X, n, p, m->mean, m->sd);
    for (size_t j = 0; j < q; j++)
        m->beta[j] = 0;
    /* Start the intercept at the base rate: the first steps then only move slopes. */
    m->beta[p] = log(wpos / wneg);
    f = logreg_loss(m, m->beta, X, y, w, n, l2);

    while (m->iterations < RI_LOGREG_MAX_ITER) {
        memset(H, 0, q * q * sizeof(double));
        memset(g, 0, q * sizeof(double));
        z[p] = 1;
        for (size_t i = 0; i < n; i++) {
            double wi = weight_at(w, i);
            if (!(wi > 0))
                continue;
            const double *x = p ? X + i * p : X;
            double eta = m->beta[p];
            for (size_t j = 0; j < p; j++) {
                z[j] = std_value(m->mean, m->sd, j, x[j]);
                eta += m->beta[j] * z[j];
            }
            double mu = sigmoid(eta), r = wi * (mu - y[i]), h = wi * mu * (1 - mu);
            for (size_t j = 0; j < q; j++) {
                double hz = h * z[j];
                double *row = H + j * q;
                g[j] += r * z[j];
                for (size_t k = j; k < q; k++)
                    row[k] += hz * z[k];
            }
        }
        for (size_t j = 0; j < p; j++) {
            g[j] += l2 * m->beta[j];
            H[j * q + j] += l2;
            /* a constant column has z = 0 everywhere: pin its coefficient at 0 */
            if (!(m->sd[j] > 0))
                H[j * q + j] += 1;
        }

        /* Newton step; a singular Hessian (l2 = 0 with collinear columns) gets the
         * smallest ridge that makes it positive definite. */
        double maxdiag = 0, ridge = 0;
        for (size_t j = 0; j < q; j++)
            maxdiag = fmax(maxdiag, H[j * q + j]);
        int tries = 0;
        while (!cholesky(H, ridge, q, L)) {
            if (++tries > 12) {
                rc = RI_ERR_NUMERIC;
                goto out;
            }
            ridge = ridge > 0 ? ridge * 100 : 1e-12 * fmax(1, maxdiag);
        }
        for (size_t j = 0; j < q; j++)
            d[j] = -g[j];
        cholesky_solve(L, q, d);
        m->iterations++;

        double step = 0, slope = 0;
        for (size_t j = 0; j < q; j++) {
            step = fmax(step, fabs(d[j]));
            slope += g[j] * d[j];
        }
        if (step < RI_LOGREG_TOL) {
            for (size_t j = 0; j < q; j++)
                m->beta[j] += d[j];
            m->converged = 1;
            break;
        }
        double t = 1, fnew = f;
        int halvings = 0;
        for (; halvings < RI_MAX_HALVINGS; halvings++, t /= 2) {
            for (size_t j = 0; j < q; j++)
                nb[j] = m->beta[j] + t * d[j];
            fnew = logreg_loss(m, nb, X, y, w, n, l2);
            if (fnew <= f + RI_ARMIJO * t * slope)
                break;
        }
        if (halvings == RI_MAX_HALVINGS)
            break; /* no decrease to be had: leave converged at 0 */
        memcpy(m->beta, nb, q * sizeof(double));
        f = fnew;
    }
    for (size_t j = 0; j < q; j++) {
        if (!isfinite(m->beta[j])) {
            rc = RI_ERR_NUMERIC;
            goto out;
        }
    }

out:
    ri_free(nb);
    ri_free(d);
    ri_free(z);
    ri_free(g);
    ri_free(L);
    ri_free(H);
    if (rc)
        ri_logreg_release(m);
    return rc;
}

double ri_logreg_margin(const struct ri_logreg *m, const double *x)
{
    if (!m->beta)
        return RI_NAN;
    return logreg_eta(m, m->beta, x);
}

double ri_logreg_predict(const struct ri_logreg *m, const double *x)
{
    return sigmoid(ri_logreg_margin(m, x));
}

void ri_logreg_release(struct ri_logreg *m)
{
    if (!m)
        return;
    ri_free(m->beta);
    ri_free(m->mean);
    ri_free(m->sd);
    *m = (struct ri_logreg){.beta = NULL, .mean = NULL, .sd = NULL};
}

/* ------------------------------------------------------------------ drift */

/* Bin of x among the sorted cut points: values <= cut[0] in 0, (cut[k-1], cut[k]] in k,
 * above the last in ncut; NAN in RI_PSI_BINS. */
static size_t psi_bin(const double *cut, size_t ncut, double x)
{
    if (isnan(x))
        return RI_PSI_BINS;
    size_t b = 0;
    while (b < ncut && x > cut[b])
        b++;
    return b;
}

double ri_psi(const double *expected, size_t ne, const double *actual, size_t na)
{
    double cut[RI_PSI_BINS - 1];
    uint64_t ce[RI_PSI_BINS + 1] = {0}, ca[RI_PSI_BINS + 1] = {0};
    size_t m = 0, ncut = 0;

    if (ne == 0 || na == 0 || ne > SIZE_MAX / sizeof(double))
        return RI_NAN;
    double *sorted = ri_try_alloc(ne * sizeof(double));
    if (!sorted)
        return RI_NAN;
    for (size_t i = 0; i < ne; i++)
        if (!isnan(expected[i]))
            sorted[m++] = expected[i];
    if (m > 0) {
        /* ri_quantile sorts; the other deciles read the sorted copy */
        double c = ri_quantile(sorted, m, 0.1);
        for (size_t k = 1; k < RI_PSI_BINS; k++) {
            if (k > 1)
                c = ri_quantile_sorted(sorted, m, (double)k / RI_PSI_BINS);
            /* tied deciles merge; an infinite tail can make a decile NAN: drop it */
            if (!isnan(c) && (ncut == 0 || c > cut[ncut - 1]))
                cut[ncut++] = c;
        }
    }
    ri_free(sorted);

    for (size_t i = 0; i < ne; i++)
        ce[psi_bin(cut, ncut, expected[i])]++;
    for (size_t i = 0; i < na; i++)
        ca[psi_bin(cut, ncut, actual[i])]++;
    double psi = 0;
    for (size_t b = 0; b <= RI_PSI_BINS; b++) {
        if (ce[b] == 0 && ca[b] == 0)
            continue;
        double e = fmax((double)ce[b] / (double)ne, RI_PSI_FLOOR);
        double a = fmax((double)ca[b] / (double)na, RI_PSI_FLOOR);
        psi += (a - e) * log(a / e);
    }
    return psi;
}

/* ------------------------------------------------------------------ neighbours */

/*
 * Welford's running mean and sum of squares, column by column in chunks of RI_STD_CHUNK
 * columns so that each pass reads the rows' memory in order; sd and mean of the chunk
 * hold the running sums until the end.
 */
void ri_standardize_fit(const double *X, size_t n, size_t p, double *mean /* OUT p */,
                        double *sd /* OUT p */)
{
    uint64_t cnt[RI_STD_CHUNK];
    for (size_t j0 = 0; j0 < p; j0 += RI_STD_CHUNK) {
        size_t j1 = p - j0 < RI_STD_CHUNK ? p : j0 + RI_STD_CHUNK;
        for (size_t j = j0; j < j1; j++) {
            cnt[j - j0] = 0;
            mean[j] = 0;
            sd[j] = 0;
        }
        for (size_t i = 0; i < n; i++) {
            const double *x = X + i * p;
            for (size_t j = j0; j < j1; j++) {
                if (!isfinite(x[j]))
                    continue;
                double delta = x[j] - mean[j];
                mean[j] += delta / (double)++cnt[j - j0];
                sd[j] += delta * (x[j] - mean[j]);
            }
        }
        for (size_t j = j0; j < j1; j++)
            sd[j] = cnt[j - j0] > 0 ? sqrt(sd[j] / (double)cnt[j - j0]) : 0;
    }
}

size_t ri_knn(const double *X, size_t n, size_t p, const double *mean, const double *sd,
              const double *q, const uint8_t *candidate, size_t k, size_t *idx /* OUT */,
              double *dist /* OUT */)
{
    size_t m = 0;

    (void)mean; /* differences of standardized values do not depend on the means */
    if (k == 0)
        return 0;
    /* dist holds squared distances, ascending, until the end */
    for (size_t i = 0; i < n; i++) {
        if (candidate && !candidate[i])
            continue;
        const double *x = p ? X + i * p : X;
        double bound = m == k ? dist[k - 1] : HUGE_VAL, d2 = 0;
        for (size_t j = 0; j < p && d2 < bound; j++) {
            if (!(sd[j] > 0))
                continue;
            if (!isfinite(x[j]) || !isfinite(q[j])) {
                d2 += 1;
            } else {
                double t = (x[j] - q[j]) / sd[j];
                d2 += t * t;
            }
        }
        /* a tie with the k-th keeps the earlier row */
        if (m == k && !(d2 < bound))
            continue;
        size_t pos = m < k ? m++ : k - 1;
        while (pos > 0 && dist[pos - 1] > d2) {
            dist[pos] = dist[pos - 1];
            idx[pos] = idx[pos - 1];
            pos--;
        }
        dist[pos] = d2;
        idx[pos] = i;
    }
    for (size_t j = 0; j < m; j++)
        dist[j] = sqrt(dist[j]);
    return m;
}
