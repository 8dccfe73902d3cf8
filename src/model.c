/*
 * model.c - the risk model end to end: train, evaluate, register, score, explain.
 *
 * Protocol (history mode). To fit a model "as of" date D: the stage model and the
 * feature vocabulary are learnt from what was known at D; gradient boosted trees are
 * fitted on the point-in-time snapshots of the deals closed before D1 = D - cal_days; the
 * calibrator (Platt below 1,000 rows, isotonic above) is fitted on the deals that were
 * open at D1, featurised as they stood then and labelled by what had happened by D;
 * then the trees are refitted on the snapshots of every deal closed before D and keep the
 * calibrator. Labels: won or lost as replayed at the labelling date; a deal still open
 * then whose expected close date passed over 90 days before counts as lost (a zombie);
 * other open deals have no label yet and are left out.
 *
 * Evaluation is by time: the model is fitted as of a cutoff T (default as_of - 180 days)
 * and tested on the deals open at T, labelled by what happened up to as_of, next to the
 * rep-entered probability, the stage model and a logistic baseline on the same rows.
 * Rolling origins repeat it 90 days apart. A static data set (one row per closed deal)
 * is evaluated by stratified k-fold, and by a hold-out of its latest 20 % where it has
 * close dates. The verdict "no reliable signal" is given when the lower end of the AUC's
 * 95 % interval is below 0.55; scores then carry no risk tier.
 */
#include "model.h"
#include "featurize.h"
#include "learn.h"
#include "stagemodel.h"
#include "store.h"
#include "xgb.h"
#include <math.h>
#include <string.h>

#define DAY           86400
#define ZOMBIE_DAYS   90
#define SIGNAL_AUC_LO 0.55
#define SAMPLE_ROWS   2000 /* training rows kept with a model, for drift */
#define N_REASONS     3
/* open deals up to which scoring gives exact (TreeSHAP) reasons */
#define EXACT_REASONS_MAX 50000
#define N_NEIGHBOURS      5

struct data {
    struct ri_history *h;
    struct ri_frame f;
    struct ri_attrs a;
    int history_mode;
    ri_time as_of;
};

struct model {
    struct ri_featset fs;
    struct ri_stage_model sm;
    int have_sm;
    struct ri_xgb *xgb;
    /* the trees the calibrator was fitted on, kept when xgb was refitted after: the
     * forecast's revenue needs their level (see ri_rmodel_p_open) */
    struct ri_xgb *xgb_cal;
    struct ri_calibrator cal;
    struct ri_calibrator cal_rev; /* weighted by amount: for revenue (the forecast) */
    struct ri_logreg lr;
    int have_lr;
    size_t fit_rows, fit_deals, cal_rows;
    float *sample; /* SAMPLE_ROWS x p training rows, for drift */
    size_t n_sample;
};

static void data_release(struct data *d)
{
    ri_history_free(d->h);
    ri_frame_release(&d->f);
    ri_attrs_release(&d->a);
    memset(d, 0, sizeof(*d));
}

static ri_err data_load(struct ri_ctx *ctx, ri_time as_of, struct data *d)
{
    ri_err rc;
    memset(d, 0, sizeof(*d));
    rc = ri_history_load(ctx, &d->h);
    if (!rc)
        rc = ri_frame_load(ctx, &d->f);
    if (!rc)
        rc = ri_attrs_load(ctx, d->f.n, &d->a);
    if (rc)
        return rc;
    if (ri_history_n_deals(d->h) != d->f.n)
        return ri_fail(ctx, RI_ERR_STORE, "the store changed while it was being read");
    d->history_mode = ri_features_have_history(d->h, &d->f);
    d->as_of = as_of;
    if (d->as_of == RI_TIME_NONE) {
        ri_time m = RI_TIME_NONE;
        for (size_t i = 0; i < d->f.n; i++) {
            if (d->f.created[i] != RI_TIME_NONE && d->f.created[i] > m)
                m = d->f.created[i];
            if (d->f.status[i] != RI_STATUS_OPEN && d->f.close[i] != RI_TIME_NONE &&
                d->f.close[i] > m)
                m = d->f.close[i];
        }
        d->as_of = m == RI_TIME_NONE ? RI_TIME_NONE : m - m % DAY;
    }
    return RI_OK;
}

static void model_release(struct model *m)
{
    ri_featset_release(&m->fs);
    ri_xgb_free(m->xgb);
    ri_xgb_free(m->xgb_cal);
    ri_calibrator_release(&m->cal);
    ri_calibrator_release(&m->cal_rev);
    if (m->have_lr)
        ri_logreg_release(&m->lr);
    ri_free(m->sample);
    memset(m, 0, sizeof(*m));
}

void ri_model_report_free(struct ri_model_report *r)
{
    if (!r)
        return;
    ri_free(r->text);
    ri_free(r->json);
    ri_free(r);
}

/* ------------------------------------------------------------------ helpers */

static double sigmoid(double m)
{
    return 1.0 / (1.0 + exp(-m));
}

/* Labels at date L from the state replayed at L (see the protocol above). */
static void labels_at(const struct ri_asof_state *st, const struct ri_frame *f, ri_time L,
                      uint8_t *y)
{
    for (size_t i = 0; i < st->n; i++) {
        y[i] = 2;
        if (!st->exists[i] || f->deleted[i])
            continue;
        if (st->status[i] == RI_STATUS_WON)
            y[i] = 1;
        else if (st->status[i] == RI_STATUS_LOST)
            y[i] = 0;
        else if (st->close_date[i] != RI_TIME_NONE &&
                 st->close_date[i] < L - (ri_time)ZOMBIE_DAYS * DAY)
            y[i] = 0;
    }
}

/* Deals open at L but counted lost by the zombie rule. */
static void dead_at(const struct ri_asof_state *st, const struct ri_frame *f, ri_time L,
                    uint8_t *dead)
{
    for (size_t i = 0; i < st->n; i++)
        dead[i] = st->exists[i] && !f->deleted[i] && st->status[i] == RI_STATUS_OPEN &&
                  st->close_date[i] != RI_TIME_NONE &&
                  st->close_date[i] < L - (ri_time)ZOMBIE_DAYS * DAY;
}

/* Keeps the rows whose label is known. */
static void rows_keep_labelled(struct ri_rows *r)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->y[i] > 1)
            continue;
        if (k != i) {
            memmove(r->X + k * r->p, r->X + i * r->p, r->p * sizeof(float));
            r->y[k] = r->y[i];
            r->w[k] = r->w[i];
            r->deal[k] = r->deal[i];
            r->at[k] = r->at[i];
            r->p_rep[k] = r->p_rep[i];
            r->p_stage[k] = r->p_stage[i];
        }
        k++;
    }
    r->n = k;
}

/* The logistic baseline's design: numbers as they are, categories one-hot. */
static size_t design_width(const struct ri_featset *fs)
{
    size_t w = 0;
    for (size_t j = 0; j < fs->p; j++)
        w += fs->f[j].categorical ? fs->f[j].vocab.n : 1;
    return w;
}

static void design_row(const struct ri_featset *fs, const float *x, double *out)
{
    size_t c = 0;
    for (size_t j = 0; j < fs->p; j++) {
        if (fs->f[j].categorical) {
            for (size_t v = 0; v < fs->f[j].vocab.n; v++)
                out[c + v] = (!isnan(x[j]) && (size_t)x[j] == v) ? 1.0 : 0.0;
            c += fs->f[j].vocab.n;
        } else {
            out[c++] = (double)x[j];
        }
    }
}

static ri_err fit_logreg(const struct ri_featset *fs, const struct ri_rows *r, struct ri_logreg *lr)
{
    size_t w = design_width(fs), n = r->n;
    double *X, *wt;
    ri_err rc;
    if (n > 50000)
        n = 50000; /* a baseline of a few dozen coefficients needs no more */
    X = ri_try_alloc((n * w + 1) * sizeof(double));
    wt = ri_malloc((n + 1) * sizeof(double));
    if (!X) {
        ri_free(wt);
        return RI_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        size_t src = r->n > n ? (size_t)((double)i * (double)r->n / (double)n) : i;
        design_row(fs, r->X + src * r->p, X + i * w);
        wt[i] = (double)r->w[src];
    }
    {
        uint8_t *y = ri_malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            y[i] = r->y[r->n > n ? (size_t)((double)i * (double)r->n / (double)n) : i];
        rc = ri_logreg_fit(lr, X, y, wt, n, w, 1.0);
        ri_free(y);
    }
    ri_free(X);
    ri_free(wt);
    return rc;
}

static double logreg_p(const struct ri_featset *fs, const struct ri_logreg *lr, const float *x)
{
    size_t w = design_width(fs);
    double buf[512], *d = w <= 512 ? buf : ri_malloc(w * sizeof(double)), p;
    design_row(fs, x, d);
    p = ri_logreg_predict(lr, d);
    if (d != buf)
        ri_free(d);
    return p;
}

static ri_err train_xgb(struct ri_ctx *ctx, const struct ri_model_opts *o,
                        const struct ri_featset *fs, const struct ri_rows *r, struct ri_xgb **out)
{
    struct ri_xgb_params prm;
    const char *names[RI_FEAT_MAX];
    float *y = ri_malloc((r->n + 1) * sizeof(float));
    ri_err rc;
    ri_xgb_params_default(&prm);
    prm.trees = o->trees;
    prm.max_depth = o->max_depth;
    prm.eta = o->eta;
    prm.nthread = o->threads;
    prm.seed = o->seed;
    for (size_t j = 0; j < fs->p; j++)
        names[j] = fs->f[j].name;
    for (size_t i = 0; i < r->n; i++)
        y[i] = (float)r->y[i];
    rc = ri_xgb_train(ctx, &prm, r->X, r->n, r->p, y, r->w, names, out);
    ri_free(y);
    return rc;
}

/* Calibrated and raw P(win) of the rows. */
static ri_err predict(struct ri_ctx *ctx, const struct model *m, const struct ri_rows *r,
                      double *p_cal, double *margin)
{
    ri_err rc = ri_xgb_predict(ctx, m->xgb, r->X, r->n, r->p, margin);
    if (rc)
        return rc;
    for (size_t i = 0; i < r->n; i++)
        p_cal[i] = ri_calibrator_apply(&m->cal, sigmoid(margin[i]));
    return RI_OK;
}

static void keep_sample(struct model *m, const struct ri_rows *r)
{
    size_t n = r->n < SAMPLE_ROWS ? r->n : SAMPLE_ROWS;
    ri_free(m->sample);
    m->sample = ri_malloc((n * r->p + 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        size_t src = (size_t)((double)i * (double)r->n / (double)n);
        memcpy(m->sample + i * r->p, r->X + src * r->p, r->p * sizeof(float));
    }
    m->n_sample = n;
}

/* ------------------------------------------------------------------ fitting */

static size_t count_deals(const struct ri_rows *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += i == 0 || r->deal[i] != r->deal[i - 1];
    return n;
}

/* Fits a history-mode model as of D (see the protocol at the top); with baseline, the
 * logistic baseline too (only an evaluation compares with it). */
static ri_err fit_history(struct ri_ctx *ctx, const struct data *d, ri_time D,
                          const struct ri_model_opts *o, int baseline, struct model *m)
{
    ri_time D1 = D - (ri_time)o->cal_days * DAY;
    struct ri_featctx fc;
    struct ri_asof_state st1, stD;
    struct ri_rows fit, cal;
    uint8_t *train = ri_calloc(d->f.n + 1, 1), *lab = ri_malloc(d->f.n + 1);
    uint8_t *dead = ri_calloc(d->f.n + 1, 1);
    double *pc = NULL, *mg = NULL;
    ri_err rc;

    memset(m, 0, sizeof(*m));
    memset(&st1, 0, sizeof(st1));
    memset(&stD, 0, sizeof(stD));
    ri_rows_init(&fit, 0);
    ri_rows_init(&cal, 0);
    rc = ri_stage_model_fit(ctx, d->h, D, NULL, 0, &m->sm);
    if (rc == RI_OK)
        m->have_sm = 1;
    else if (rc == RI_ERR_NOTFOUND)
        rc = RI_OK;
    ri_featctx_init(&fc, d->h, &d->f, &d->a, m->have_sm ? &m->sm : NULL);
    for (size_t i = 0; i < d->f.n; i++)
        train[i] = (d->f.status[i] == RI_STATUS_WON || d->f.status[i] == RI_STATUS_LOST) &&
                   d->f.close[i] != RI_TIME_NONE && d->f.close[i] < D1 && !d->f.deleted[i];
    if (!rc)
        rc = ri_featset_choose(ctx, &fc, train, 0, o->with_p_rep, &m->fs);
    /* zombies as of D1 count as lost snapshots */
    if (!rc)
        rc = ri_asof_state_init(&st1, d->h);
    if (!rc)
        rc = ri_asof(d->h, D1, &st1);
    if (!rc) {
        dead_at(&st1, &d->f, D1, dead);
        rc = ri_rows_snapshots(ctx, &fc, &m->fs, D1, NULL, dead, o->max_rows, o->seed, &fit);
    }
    if (!rc && fit.n < 50)
        rc = ri_fail(ctx, RI_ERR_MODEL,
                     "only %zu training snapshots before %s days ahead of the cutoff: too few",
                     fit.n, "the calibration window");
    if (!rc)
        rc = train_xgb(ctx, o, &m->fs, &fit, &m->xgb);
    if (!rc && baseline && fit_logreg(&m->fs, &fit, &m->lr) == RI_OK)
        m->have_lr = 1;
    /* calibration: the deals open at D1, labelled by D */
    if (!rc)
        rc = ri_asof_state_init(&stD, d->h);
    if (!rc)
        rc = ri_asof(d->h, D, &stD);
    if (!rc) {
        labels_at(&stD, &d->f, D, lab);
        rc = ri_rows_open_at(ctx, &fc, &m->fs, &st1, lab, &cal);
    }
    if (!rc) {
        rows_keep_labelled(&cal);
        m->cal_rows = cal.n;
        pc = ri_malloc((cal.n + 1) * sizeof(double));
        mg = ri_malloc((cal.n + 1) * sizeof(double));
        rc = ri_xgb_predict(ctx, m->xgb, cal.X, cal.n, cal.p, mg);
    }
    if (!rc) {
        size_t won = 0;
        for (size_t i = 0; i < cal.n; i++) {
            pc[i] = sigmoid(mg[i]);
            won += cal.y[i];
        }
        if (cal.n >= 20 && won > 0 && won < cal.n)
            rc = ri_calibrator_fit(&m->cal, pc, cal.y, NULL, cal.n, RI_CAL_AUTO);
        if (!rc && cal.n >= 20 && won > 0 && won < cal.n) {
            /* the same fit weighted by amount, so that the sum of P(win) x amount is
             * calibrated too: large deals are won less often */
            double *wa = ri_malloc((cal.n + 1) * sizeof(double)), tot = 0;
            for (size_t i = 0; i < cal.n; i++) {
                double am = d->f.amount[cal.deal[i]];
                wa[i] = am > 0 ? am : 0;
                tot += wa[i];
            }
            for (size_t i = 0; i < cal.n && tot > 0; i++)
                wa[i] *= (double)cal.n / tot;
            rc =
                tot > 0 ? ri_calibrator_fit(&m->cal_rev, pc, cal.y, wa, cal.n, RI_CAL_AUTO) : RI_OK;
            ri_free(wa);
        } else
            m->cal.kind = RI_CAL_NONE;
        if (rc)
            rc = ri_fail(ctx, rc, "calibration failed");
    }
    /* refit on everything closed before D */
    if (!rc && o->refit) {
        ri_rows_release(&fit);
        dead_at(&stD, &d->f, D, dead);
        rc = ri_rows_snapshots(ctx, &fc, &m->fs, D, NULL, dead, o->max_rows, o->seed, &fit);
    }
    if (!rc && o->refit) {
        m->xgb_cal = m->xgb;
        m->xgb = NULL;
        rc = train_xgb(ctx, o, &m->fs, &fit, &m->xgb);
    }
    if (!rc) {
        m->fit_rows = fit.n;
        m->fit_deals = count_deals(&fit);
        keep_sample(m, &fit);
    }
    ri_free(pc);
    ri_free(mg);
    ri_free(train);
    ri_free(lab);
    ri_free(dead);
    ri_rows_release(&fit);
    ri_rows_release(&cal);
    ri_asof_state_release(&st1);
    ri_asof_state_release(&stD);
    ri_featctx_release(&fc);
    if (rc)
        model_release(m);
    return rc;
}

/* ------------------------------------------------------------------ reports */

struct side {
    const char *name;
    struct ri_eval ev;
    int have;
    size_t n;
};

static void eval_side(struct side *s, const char *name, const double *p, const uint8_t *y, size_t n,
                      const double *ref)
{
    memset(s, 0, sizeof(*s));
    s->name = name;
    s->n = n;
    s->have = n >= 10 && ri_eval_compute(p, y, NULL, n, ref, 0.5, &s->ev) == RI_OK;
}

static void side_text(struct ri_buf *b, const struct side *s)
{
    if (!s->have) {
        ri_buf_addf(b, "  %-24s (not available)\n", s->name);
        return;
    }
    ri_buf_addf(b,
                "  %-24s %7zu  %.3f [%.3f-%.3f]  %.3f  %.3f  %6.3f  %.3f  %.2f  %.2f  %.2f  %.2f\n",
                s->name, s->n, s->ev.auc, s->ev.auc_ci.lo, s->ev.auc_ci.hi, s->ev.log_loss,
                s->ev.brier, s->ev.brier_skill, s->ev.ece, s->ev.accuracy, s->ev.precision,
                s->ev.recall, s->ev.top_decile_precision);
}

static void num_json(struct ri_buf *b, const char *key, double v, int comma)
{
    if (isnan(v) || isinf(v))
        ri_buf_addf(b, "\"%s\":null%s", key, comma ? "," : "");
    else
        ri_buf_addf(b, "\"%s\":%.6g%s", key, v, comma ? "," : "");
}

static void side_json(struct ri_buf *b, const struct side *s)
{
    ri_buf_addf(b, "{\"name\":");
    ri_buf_add_json_str(b, s->name, strlen(s->name));
    ri_buf_addf(b, ",\"n\":%zu,", s->n);
    if (!s->have) {
        ri_buf_adds(b, "\"available\":false}");
        return;
    }
    num_json(b, "auc", s->ev.auc, 1);
    num_json(b, "auc_lo", s->ev.auc_ci.lo, 1);
    num_json(b, "auc_hi", s->ev.auc_ci.hi, 1);
    num_json(b, "log_loss", s->ev.log_loss, 1);
    num_json(b, "brier", s->ev.brier, 1);
    num_json(b, "brier_skill", s->ev.brier_skill, 1);
    num_json(b, "ece", s->ev.ece, 1);
    num_json(b, "accuracy", s->ev.accuracy, 1);
    num_json(b, "precision", s->ev.precision, 1);
    num_json(b, "recall", s->ev.recall, 1);
    num_json(b, "riskiest_decile_precision", s->ev.top_decile_precision, 1);
    num_json(b, "base_rate", s->ev.base_rate, 1);
    ri_buf_adds(b, "\"reliability\":[");
    for (int k = 0; k < RI_EVAL_BINS; k++) {
        const struct ri_reliability_bin *r = &s->ev.bins[k];
        ri_buf_addf(b, "%s{\"lo\":%.1f,\"hi\":%.1f,\"n\":%llu,", k ? "," : "", r->lo, r->hi,
                    (unsigned long long)r->n);
        num_json(b, "mean_p", r->mean_p, 1);
        num_json(b, "mean_y", r->mean_y, 0);
        ri_buf_addc(b, '}');
    }
    ri_buf_adds(b, "]}");
}

static void reliability_text(struct ri_buf *b, const struct side *s)
{
    if (!s->have)
        return;
    ri_buf_adds(b, "  reliability (predicted -> observed, rows):");
    for (int k = 0; k < RI_EVAL_BINS; k++) {
        const struct ri_reliability_bin *r = &s->ev.bins[k];
        if (!r->n)
            continue;
        ri_buf_addf(b, " %.2f->%.2f (%llu)", r->mean_p, r->mean_y, (unsigned long long)r->n);
    }
    ri_buf_addc(b, '\n');
}

/* YYYY-MM-DD, or "-" for no date. */
static void date_str(ri_time t, char *out, size_t size)
{
    ri_format_date(t, out, size);
    if (size > 1 && !out[0])
        snprintf(out, size, "-");
}

static void guard_text(struct ri_buf *b, const struct ri_featset *fs)
{
    if (!fs->n_guard)
        return;
    ri_buf_adds(b, "Leakage guard: columns refused as features\n");
    for (size_t k = 0; k < fs->n_guard; k++)
        ri_buf_addf(b, "  %-32s %s\n", fs->guard[k].column, fs->guard[k].reason);
}

static void guard_json(struct ri_buf *b, const struct ri_featset *fs)
{
    ri_buf_adds(b, "\"refused\":[");
    for (size_t k = 0; k < fs->n_guard; k++) {
        ri_buf_addf(b, "%s{\"column\":", k ? "," : "");
        ri_buf_add_json_str(b, fs->guard[k].column, strlen(fs->guard[k].column));
        ri_buf_adds(b, ",\"reason\":");
        ri_buf_add_json_str(b, fs->guard[k].reason, strlen(fs->guard[k].reason));
        ri_buf_adds(b, ",");
        num_json(b, "auc", fs->guard[k].auc, 0);
        ri_buf_adds(b, "}");
    }
    ri_buf_adds(b, "]");
}

static const char header_line[] =
    "  %-24s %7s  %-19s  %-5s  %-5s  %-6s  %-5s  %-4s  %-4s  %-4s  %-4s\n";

static void table_header(struct ri_buf *b)
{
    ri_buf_addf(b, header_line, "", "rows", "AUC [95 %]", "logL", "Brier", "BSS", "ECE", "acc",
                "prec", "rec", "top10");
}

/* ------------------------------------------------------------------ evaluation: history */

struct origin_result {
    ri_time at;
    struct side model, stage, strict, rep, logit;
    size_t n_test, n_unlabelled;
};

static ri_err eval_history_at(struct ri_ctx *ctx, const struct data *d, ri_time T,
                              const struct ri_model_opts *o, struct origin_result *res,
                              struct model *keep /* may be NULL */)
{
    struct model m;
    struct ri_featctx fc;
    struct ri_asof_state stT, stA;
    struct ri_rows test;
    uint8_t *lab = ri_malloc(d->f.n + 1);
    double *p = NULL, *mg = NULL, *ps = NULL, *pl = NULL, *pr = NULL;
    uint8_t *yr = NULL;
    size_t nr = 0;
    ri_err rc;

    memset(res, 0, sizeof(*res));
    memset(&stT, 0, sizeof(stT));
    memset(&stA, 0, sizeof(stA));
    ri_rows_init(&test, 0);
    res->at = T;
    rc = fit_history(ctx, d, T, o, 1, &m);
    if (rc) {
        ri_free(lab);
        return rc;
    }
    ri_featctx_init(&fc, d->h, &d->f, &d->a, m.have_sm ? &m.sm : NULL);
    rc = ri_asof_state_init(&stT, d->h);
    if (!rc)
        rc = ri_asof_state_init(&stA, d->h);
    if (!rc)
        rc = ri_asof(d->h, T, &stT);
    if (!rc)
        rc = ri_asof(d->h, d->as_of, &stA);
    if (!rc) {
        labels_at(&stA, &d->f, d->as_of, lab);
        rc = ri_rows_open_at(ctx, &fc, &m.fs, &stT, lab, &test);
    }
    if (!rc) {
        size_t before = test.n;
        rows_keep_labelled(&test);
        res->n_test = test.n;
        res->n_unlabelled = before - test.n;
        p = ri_malloc((test.n + 1) * sizeof(double));
        mg = ri_malloc((test.n + 1) * sizeof(double));
        ps = ri_malloc((test.n + 1) * sizeof(double));
        pl = ri_malloc((test.n + 1) * sizeof(double));
        pr = ri_malloc((test.n + 1) * sizeof(double));
        yr = ri_malloc(test.n + 1);
        rc = predict(ctx, &m, &test, p, mg);
    }
    if (!rc) {
        for (size_t i = 0; i < test.n; i++) {
            ps[i] = isnan(test.p_stage[i]) ? m.fs.prior : test.p_stage[i];
            pl[i] = m.have_lr ? logreg_p(&m.fs, &m.lr, test.X + i * test.p) : RI_NAN;
            if (!isnan(test.p_rep[i])) {
                pr[nr] = test.p_rep[i];
                yr[nr++] = test.y[i];
            }
        }
        eval_side(&res->model, "risk model (calibrated)", p, test.y, test.n, ps);

        eval_side(&res->stage, m.have_sm ? "stage model" : "stage model (none)", ps, test.y,
                  m.have_sm ? test.n : 0, ps);
        eval_side(&res->logit, "logistic baseline", pl, test.y, m.have_lr ? test.n : 0, ps);
        {
            /* the stage model on complete sequences only, scored on the same rows */
            struct ri_stage_model sx;
            if (m.have_sm && m.fs.p >= 2 && m.fs.f[0].src == RI_FS_STAGE &&
                m.fs.f[1].src == RI_FS_DAYS_IN_STAGE &&
                ri_stage_model_fit(ctx, d->h, T, NULL, 1, &sx) == RI_OK) {
                for (size_t i = 0; i < test.n; i++) {
                    float st_ = test.X[i * test.p], ds = test.X[i * test.p + 1];
                    pl[i] = isnan(st_) ? sx.base_rate
                                       : ri_stage_model_p_win(&sx, (int32_t)st_,
                                                              isnan(ds) ? 0.0 : (double)ds);
                }
                eval_side(&res->strict, "stage model (strict)", pl, test.y, test.n, ps);
            } else {
                eval_side(&res->strict, "stage model (strict)", pl, test.y, 0, ps);
            }
        }
        eval_side(&res->rep, "rep-entered probability", pr, yr, nr, NULL);
    }
    ri_free(p);
    ri_free(mg);
    ri_free(ps);
    ri_free(pl);
    ri_free(pr);
    ri_free(yr);
    ri_free(lab);
    ri_rows_release(&test);
    ri_asof_state_release(&stT);
    ri_asof_state_release(&stA);
    ri_featctx_release(&fc);
    if (keep && !rc)
        *keep = m;
    else
        model_release(&m);
    return rc;
}

/* ------------------------------------------------------------------ evaluation: static */

struct static_result {
    int folds;
    double auc_mean, auc_sd;
    struct side oof, logit, holdout;
    int have_holdout;
};

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static void rows_subset(const struct ri_rows *r, const uint8_t *keep, struct ri_rows *out)
{
    size_t n = 0;
    ri_rows_init(out, r->p);
    for (size_t i = 0; i < r->n; i++)
        n += keep[i];
    out->cap = n ? n : 1;
    out->X = ri_malloc((out->cap * r->p + 1) * sizeof(float));
    out->y = ri_malloc(out->cap);
    out->w = ri_malloc(out->cap * sizeof(float));
    out->deal = ri_malloc(out->cap * sizeof(uint32_t));
    out->at = ri_malloc(out->cap * sizeof(ri_time));
    out->p_rep = ri_malloc(out->cap * sizeof(double));
    out->p_stage = ri_malloc(out->cap * sizeof(double));
    for (size_t i = 0; i < r->n; i++) {
        if (!keep[i])
            continue;
        memcpy(out->X + out->n * r->p, r->X + i * r->p, r->p * sizeof(float));
        out->y[out->n] = r->y[i];
        out->w[out->n] = r->w[i];
        out->deal[out->n] = r->deal[i];
        out->at[out->n] = r->at[i];
        out->p_rep[out->n] = r->p_rep[i];
        out->p_stage[out->n] = r->p_stage[i];
        out->n++;
    }
}

/* Static mode: k-fold (stratified by outcome, folds from a seeded hash) and, with close
 * dates, a hold-out of the latest 20 %; the final model is fitted on every row and
 * calibrated on the out-of-fold predictions. */
static ri_err fit_static(struct ri_ctx *ctx, const struct data *d, const struct ri_model_opts *o,
                         struct model *m, struct static_result *res)
{
    struct ri_featctx fc;
    struct ri_rows all;
    uint8_t *train = ri_calloc(d->f.n + 1, 1), *fold = NULL, *keep = NULL;
    double *raw = NULL, *pl = NULL, *aucs = NULL, *cal_p = NULL;
    int k = o->folds < 2 ? 2 : o->folds;
    ri_err rc;

    memset(m, 0, sizeof(*m));
    memset(res, 0, sizeof(*res));
    ri_rows_init(&all, 0);
    ri_featctx_init(&fc, d->h, &d->f, &d->a, NULL);
    for (size_t i = 0; i < d->f.n; i++)
        train[i] = (d->f.status[i] == RI_STATUS_WON || d->f.status[i] == RI_STATUS_LOST) &&
                   !d->f.deleted[i];
    rc = ri_featset_choose(ctx, &fc, train, 1, 0, &m->fs);
    if (!rc)
        rc = ri_rows_static(ctx, &fc, &m->fs, train, &all);
    if (rc)
        goto out;
    fold = ri_malloc(all.n + 1);
    keep = ri_malloc(all.n + 1);
    raw = ri_malloc((all.n + 1) * sizeof(double));
    pl = ri_malloc((all.n + 1) * sizeof(double));
    cal_p = ri_malloc((all.n + 1) * sizeof(double));
    aucs = ri_malloc((size_t)k * sizeof(double));
    {
        /* stratified: rank rows of each class by hash, deal them out in turn */
        size_t c[2] = {0, 0};
        uint64_t *h = ri_malloc((all.n + 1) * sizeof(uint64_t));
        size_t *idx = ri_malloc((all.n + 1) * sizeof(size_t));
        for (size_t i = 0; i < all.n; i++)
            h[i] = hash64(all.deal[i] ^ (o->seed * 0x9e3779b97f4a7c15ULL));
        for (size_t i = 0; i < all.n; i++)
            idx[i] = i;
        /* insertion of ranks by hash would be O(n^2); sort indices by hash */
        for (size_t gap = all.n / 2; gap > 0; gap /= 2)
            for (size_t i = gap; i < all.n; i++)
                for (size_t j = i; j >= gap && h[idx[j - gap]] > h[idx[j]]; j -= gap) {
                    size_t t = idx[j];
                    idx[j] = idx[j - gap];
                    idx[j - gap] = t;
                }
        for (size_t r = 0; r < all.n; r++) {
            size_t i = idx[r];
            fold[i] = (uint8_t)(c[all.y[i]]++ % (size_t)k);
        }
        ri_free(h);
        ri_free(idx);
    }
    res->folds = k;
    for (int f = 0; !rc && f < k; f++) {
        struct ri_rows tr, te;
        struct ri_xgb *x = NULL;
        struct ri_logreg lr;
        int have_lr = 0;
        double *mg;
        for (size_t i = 0; i < all.n; i++)
            keep[i] = fold[i] != f;
        rows_subset(&all, keep, &tr);
        for (size_t i = 0; i < all.n; i++)
            keep[i] = fold[i] == f;
        rows_subset(&all, keep, &te);
        mg = ri_malloc((te.n + 1) * sizeof(double));
        rc = train_xgb(ctx, o, &m->fs, &tr, &x);
        if (!rc)
            rc = ri_xgb_predict(ctx, x, te.X, te.n, te.p, mg);
        if (!rc && fit_logreg(&m->fs, &tr, &lr) == RI_OK)
            have_lr = 1;
        if (!rc) {
            size_t t = 0;
            double *pf = ri_malloc((te.n + 1) * sizeof(double));
            for (size_t i = 0; i < all.n; i++)
                if (fold[i] == f) {
                    raw[i] = sigmoid(mg[t]);
                    pf[t] = raw[i];
                    pl[i] = have_lr ? logreg_p(&m->fs, &lr, all.X + i * all.p) : RI_NAN;
                    t++;
                }
            aucs[f] = ri_auc(pf, te.y, NULL, te.n);
            ri_free(pf);
        }
        if (have_lr)
            ri_logreg_release(&lr);
        ri_free(mg);
        ri_xgb_free(x);
        ri_rows_release(&tr);
        ri_rows_release(&te);
    }
    if (rc)
        goto out;
    {
        double s = 0, ss = 0;
        for (int f = 0; f < k; f++)
            s += aucs[f];
        res->auc_mean = s / k;
        for (int f = 0; f < k; f++)
            ss += (aucs[f] - res->auc_mean) * (aucs[f] - res->auc_mean);
        res->auc_sd = sqrt(ss / (k - 1));
    }
    rc = ri_calibrator_fit(&m->cal, raw, all.y, NULL, all.n, RI_CAL_AUTO);
    if (rc)
        goto out;
    for (size_t i = 0; i < all.n; i++)
        cal_p[i] = ri_calibrator_apply(&m->cal, raw[i]);
    eval_side(&res->oof, "risk model (k-fold)", cal_p, all.y, all.n, NULL);
    eval_side(&res->logit, "logistic baseline", pl, all.y, isnan(pl[0]) ? 0 : all.n, NULL);
    /* hold-out of the latest 20 % by close date */
    {
        size_t with = 0;
        ri_time *t = ri_malloc((all.n + 1) * sizeof(ri_time)), cut;
        for (size_t i = 0; i < all.n; i++)
            if (d->f.close[all.deal[i]] != RI_TIME_NONE)
                t[with++] = d->f.close[all.deal[i]];
        if (with * 10 >= all.n * 9 && with >= 100) {
            struct ri_rows tr, te;
            struct ri_xgb *x = NULL;
            double *mg, *pp;
            size_t lo = 0;
            /* the 80th percentile of close dates */
            for (size_t a = 1; a < with; a++)
                for (size_t b = a; b > 0 && t[b - 1] > t[b]; b--) {
                    ri_time tmp = t[b];
                    t[b] = t[b - 1];
                    t[b - 1] = tmp;
                }
            cut = t[(size_t)((double)with * 0.8)];
            for (size_t i = 0; i < all.n; i++) {
                ri_time c = d->f.close[all.deal[i]];
                keep[i] = c != RI_TIME_NONE && c < cut;
                lo += keep[i];
            }
            rows_subset(&all, keep, &tr);
            for (size_t i = 0; i < all.n; i++) {
                ri_time c = d->f.close[all.deal[i]];
                keep[i] = c != RI_TIME_NONE && c >= cut;
            }
            rows_subset(&all, keep, &te);
            mg = ri_malloc((te.n + 1) * sizeof(double));
            pp = ri_malloc((te.n + 1) * sizeof(double));
            rc = train_xgb(ctx, o, &m->fs, &tr, &x);
            if (!rc)
                rc = ri_xgb_predict(ctx, x, te.X, te.n, te.p, mg);
            if (!rc) {
                for (size_t i = 0; i < te.n; i++)
                    pp[i] = ri_calibrator_apply(&m->cal, sigmoid(mg[i]));
                eval_side(&res->holdout, "risk model (latest 20 %)", pp, te.y, te.n, NULL);
                res->have_holdout = 1;
            }
            (void)lo;
            ri_free(mg);
            ri_free(pp);
            ri_xgb_free(x);
            ri_rows_release(&tr);
            ri_rows_release(&te);
        }
        ri_free(t);
    }
    if (!rc)
        rc = train_xgb(ctx, o, &m->fs, &all, &m->xgb);
    if (!rc) {
        m->fit_rows = all.n;
        m->fit_deals = all.n;
        keep_sample(m, &all);
    }
out:
    ri_free(train);
    ri_free(fold);
    ri_free(keep);
    ri_free(raw);
    ri_free(pl);
    ri_free(cal_p);
    ri_free(aucs);
    ri_rows_release(&all);
    ri_featctx_release(&fc);
    if (rc)
        model_release(m);
    return rc;
}

/* ------------------------------------------------------------------ registry */

static ri_err model_save(struct ri_ctx *ctx, const struct data *d, const struct model *m,
                         const struct ri_model_opts *o, ri_time cutoff, const char *metrics,
                         int signal, int64_t *id)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_buf feats = RI_BUF_INIT, cal = RI_BUF_INIT, calr = RI_BUF_INIT, sm = RI_BUF_INIT;
    struct ri_stmt *s = NULL;
    void *blob = NULL, *blob_cal = NULL;
    size_t blen = 0, blen_cal = 0;
    ri_err rc;

    rc = ri_xgb_save(ctx, m->xgb, &blob, &blen);
    if (!rc && m->xgb_cal)
        rc = ri_xgb_save(ctx, m->xgb_cal, &blob_cal, &blen_cal);
    if (!rc)
        rc = ri_featset_save(&m->fs, &feats);
    if (!rc)
        rc = ri_calibrator_save(&m->cal, &cal);
    if (!rc)
        rc = ri_calibrator_save(&m->cal_rev, &calr);
    if (!rc && m->have_sm)
        rc = ri_stage_model_save(&m->sm, &sm);
    if (!rc)
        rc = ri_store_begin(ctx, st);
    if (rc)
        goto out;
    rc = ri_store_exec(ctx, st, "UPDATE models SET active = 0 WHERE kind = 'risk'");
    if (!rc)
        rc =
            ri_stmt_prepare(ctx, st,
                            "INSERT INTO models(created_at, kind, active, protocol, train_to, "
                            "cutoff, seed, rows, deals, features, metrics, calibrator, "
                            "stage_model, encoding, booster, sample, baseline, booster_cal) VALUES "
                            "(?, 'risk', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, (int64_t)time(NULL));
        ri_stmt_bind_text(s, 2, d->history_mode ? "time" : "k-fold", SIZE_MAX);
        ri_stmt_bind_time(s, 3, d->as_of);
        ri_stmt_bind_time(s, 4, cutoff);
        ri_stmt_bind_i64(s, 5, (int64_t)o->seed);
        ri_stmt_bind_i64(s, 6, (int64_t)m->fit_rows);
        ri_stmt_bind_i64(s, 7, (int64_t)m->fit_deals);
        ri_stmt_bind_text(s, 8, feats.buf, feats.len);
        ri_stmt_bind_text(s, 9, metrics, strlen(metrics));
        ri_stmt_bind_text(s, 10, cal.buf, cal.len);
        if (m->have_sm)
            ri_stmt_bind_text(s, 11, sm.buf, sm.len);
        else
            ri_stmt_bind_null(s, 11);
        ri_stmt_bind_i64(s, 12, signal);
        ri_stmt_bind_blob(s, 13, blob, blen);
        ri_stmt_bind_blob(s, 14, m->sample, m->n_sample * m->fs.p * sizeof(float));
        ri_stmt_bind_text(s, 15, calr.buf, calr.len);
        if (blob_cal)
            ri_stmt_bind_blob(s, 16, blob_cal, blen_cal);
        else
            ri_stmt_bind_null(s, 16);
        rc = ri_stmt_run(ctx, s);
    }
    if (!rc)
        *id = ri_store_last_rowid(st);
    if (!rc)
        rc = ri_store_commit(ctx, st);
    else
        ri_store_rollback(st);
out:
    ri_stmt_free(s);
    ri_free(blob);
    ri_free(blob_cal);
    ri_buf_release(&feats);
    ri_buf_release(&cal);
    ri_buf_release(&calr);
    ri_buf_release(&sm);
    return rc;
}

static ri_err model_load(struct ri_ctx *ctx, const struct data *d, struct model *m, int64_t *id,
                         int *signal)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    ri_err rc;
    memset(m, 0, sizeof(*m));
    rc = ri_stmt_prepare(ctx, st,
                         "SELECT id, features, calibrator, stage_model, encoding, booster, sample, "
                         "baseline, booster_cal "
                         "FROM models WHERE kind = 'risk' AND active = 1 ORDER BY id DESC LIMIT 1",
                         &s);
    if (!rc)
        rc = ri_stmt_step(ctx, s);
    if (rc == RI_ERR_NOTFOUND) {
        rc = ri_fail(ctx, RI_ERR_NOTFOUND, "no model yet: run 'revintel train' first");
        goto out;
    }
    if (rc)
        goto out;
    {
        size_t len;
        const char *t;
        const void *b;
        *id = ri_stmt_i64(s, 0);
        t = ri_stmt_text(s, 1, &len);
        rc = ri_featset_load(ctx, &d->f, &d->a, t ? t : "", t ? len : 0, &m->fs);
        if (!rc) {
            t = ri_stmt_text(s, 2, &len);
            rc = ri_calibrator_load(&m->cal, t ? t : "", t ? len : 0);
            if (rc)
                rc = ri_fail(ctx, RI_ERR_MODEL, "model registry: malformed calibrator");
        }
        if (!rc && !ri_stmt_is_null(s, 3)) {
            t = ri_stmt_text(s, 3, &len);
            rc = ri_stage_model_load(&m->sm, t, len);
            if (rc)
                rc = ri_fail(ctx, RI_ERR_MODEL, "model registry: malformed stage model");
            else
                m->have_sm = 1;
        }
        if (!rc && !ri_stmt_is_null(s, 7)) {
            t = ri_stmt_text(s, 7, &len);
            if (ri_calibrator_load(&m->cal_rev, t, len) != RI_OK)
                rc = ri_fail(ctx, RI_ERR_MODEL, "model registry: malformed revenue calibrator");
        }
        *signal = (int)ri_stmt_i64(s, 4);
        b = ri_stmt_blob(s, 5, &len);
        if (!rc)
            rc = ri_xgb_load(ctx, b, len, &m->xgb);
        b = ri_stmt_blob(s, 8, &len);
        if (!rc && b)
            rc = ri_xgb_load(ctx, b, len, &m->xgb_cal);
        b = ri_stmt_blob(s, 6, &len);
        if (!rc && b && m->fs.p && len % (m->fs.p * sizeof(float)) == 0) {
            m->n_sample = len / (m->fs.p * sizeof(float));
            m->sample = ri_malloc(len + 1);
            memcpy(m->sample, b, len);
        }
    }
out:
    ri_stmt_free(s);
    if (rc)
        model_release(m);
    return rc;
}

/* ------------------------------------------------------------------ train / evaluate */

static struct ri_model_report *report_new(void)
{
    struct ri_model_report *r = ri_calloc(1, sizeof(*r));
    r->auc = RI_NAN;
    return r;
}

static void verdict_text(struct ri_buf *b, int signal, double auc, double lo, double hi)
{
    if (signal)
        ri_buf_addf(b, "Verdict: the model separates won from lost deals (AUC %.3f [%.3f-%.3f]).\n",
                    auc, lo, hi);
    else
        ri_buf_addf(b,
                    "Verdict: no reliable signal. The model cannot tell won from lost deals "
                    "better than chance with confidence (AUC %.3f [%.3f-%.3f]); its scores "
                    "carry no risk tiers and should not be used to rank deals.\n",
                    auc, lo, hi);
}

static ri_err run_models(struct ri_ctx *ctx, const struct ri_model_opts *o, int save,
                         struct ri_model_report **out)
{
    struct data d;
    struct model m;
    struct ri_buf t = RI_BUF_INIT, j = RI_BUF_INIT;
    struct ri_model_report *rep = report_new();
    char a[16], c[16];
    int have_m = 0, signal = 0;
    double auc = RI_NAN, lo = RI_NAN, hi = RI_NAN;
    ri_time cutoff = RI_TIME_NONE;
    ri_err rc;

    *out = NULL;
    memset(&m, 0, sizeof(m));
    rc = data_load(ctx, o->as_of, &d);
    if (rc)
        goto out;
    if (d.as_of == RI_TIME_NONE && d.history_mode) {
        rc = ri_fail(ctx, RI_ERR_MODEL, "the store has no dates: nothing to train on by time");
        goto out;
    }
    date_str(d.as_of, a, sizeof(a));
    if (d.history_mode) {
        int origins = o->origins < 1 ? 1 : o->origins;
        cutoff = o->cutoff != RI_TIME_NONE ? o->cutoff : d.as_of - 180 * (ri_time)DAY;
        date_str(cutoff, c, sizeof(c));
        ri_buf_addf(&t,
                    "Risk model, as of %s. Protocol: time split. Fitted on what was known at "
                    "the cutoff %s (trees on point-in-time snapshots of deals closed %d days "
                    "before it, calibrated on the deals open then), tested on the %s deals "
                    "open at the cutoff, judged by what happened up to %s.\n\n",
                    a, c, o->cal_days, "", a);
        ri_buf_addf(&j, "{\"as_of\":\"%s\",\"protocol\":\"time\",\"cutoff\":\"%s\",\"origins\":[",
                    a, c);
        for (int k = 0; k < origins; k++) {
            struct origin_result r;
            ri_time T = cutoff - (ri_time)k * 90 * DAY;
            char ts[16];
            rc = eval_history_at(ctx, &d, T, o, &r, k == 0 && !save ? NULL : NULL);
            if (rc)
                goto out;
            date_str(T, ts, sizeof(ts));
            ri_buf_addf(&t,
                        "Test set: %zu deals open on %s (%zu still open without an outcome "
                        "left out)\n",
                        r.n_test, ts, r.n_unlabelled);
            table_header(&t);
            side_text(&t, &r.model);
            side_text(&t, &r.logit);
            side_text(&t, &r.stage);
            side_text(&t, &r.strict);
            side_text(&t, &r.rep);
            reliability_text(&t, &r.model);
            ri_buf_addc(&t, '\n');
            ri_buf_addf(&j,
                        "%s{\"cutoff\":\"%s\",\"test_deals\":%zu,\"unlabelled\":%zu,\"sides\":[",
                        k ? "," : "", ts, r.n_test, r.n_unlabelled);
            side_json(&j, &r.model);
            ri_buf_addc(&j, ',');
            side_json(&j, &r.logit);
            ri_buf_addc(&j, ',');
            side_json(&j, &r.stage);
            ri_buf_addc(&j, ',');
            side_json(&j, &r.strict);
            ri_buf_addc(&j, ',');
            side_json(&j, &r.rep);
            ri_buf_adds(&j, "]}");
            if (k == 0 && r.model.have) {
                auc = r.model.ev.auc;
                lo = r.model.ev.auc_ci.lo;
                hi = r.model.ev.auc_ci.hi;
            }
        }
        ri_buf_adds(&j, "]");
        signal = !isnan(lo) && lo >= SIGNAL_AUC_LO;
        if (save) {
            rc = fit_history(ctx, &d, d.as_of, o, 0, &m);
            if (rc)
                goto out;
            have_m = 1;
        }
    } else {
        struct static_result r;
        rc = fit_static(ctx, &d, o, &m, &r);
        if (rc)
            goto out;
        have_m = 1;
        ri_buf_addf(&t,
                    "Risk model on a static data set (one row per closed deal, no stage "
                    "history). Protocol: stratified %d-fold cross-validation%s.\n\n",
                    r.folds,
                    r.have_holdout ? ", and a hold-out of the latest 20 % by close date" : "");
        ri_buf_addf(&t, "k-fold AUC %.3f +/- %.3f (mean +/- sd over %d folds)\n", r.auc_mean,
                    r.auc_sd, r.folds);
        table_header(&t);
        side_text(&t, &r.oof);
        side_text(&t, &r.logit);
        if (r.have_holdout)
            side_text(&t, &r.holdout);
        reliability_text(&t, &r.oof);
        ri_buf_addc(&t, '\n');
        ri_buf_addf(&j, "{\"protocol\":\"k-fold\",\"folds\":%d,", r.folds);
        num_json(&j, "auc_mean", r.auc_mean, 1);
        num_json(&j, "auc_sd", r.auc_sd, 1);
        ri_buf_adds(&j, "\"sides\":[");
        side_json(&j, &r.oof);
        ri_buf_addc(&j, ',');
        side_json(&j, &r.logit);
        if (r.have_holdout) {
            ri_buf_addc(&j, ',');
            side_json(&j, &r.holdout);
        }
        ri_buf_adds(&j, "]");
        if (r.oof.have) {
            auc = r.oof.ev.auc;
            lo = r.oof.ev.auc_ci.lo;
            hi = r.oof.ev.auc_ci.hi;
        }
        /* a hold-out by time that fails to confirm also means no signal */
        signal = !isnan(lo) && lo >= SIGNAL_AUC_LO &&
                 (!r.have_holdout || r.holdout.ev.auc_ci.lo >= SIGNAL_AUC_LO - 0.05);
    }
    verdict_text(&t, signal, auc, lo, hi);
    ri_buf_addf(&j, ",\"signal\":%s,", signal ? "true" : "false");
    num_json(&j, "auc", auc, 1);
    if (have_m) {
        guard_text(&t, &m.fs);
        guard_json(&j, &m.fs);
        ri_buf_addf(&t, "Features (%zu):", m.fs.p);
        ri_buf_adds(&j, ",\"features\":[");
        for (size_t k = 0; k < m.fs.p; k++) {
            ri_buf_addf(&t, "%s %s", k ? "," : "", m.fs.f[k].name);
            if (k)
                ri_buf_addc(&j, ',');
            ri_buf_add_json_str(&j, m.fs.f[k].name, strlen(m.fs.f[k].name));
        }
        ri_buf_addf(&t, "\nCalibration: %s on %zu rows; trees fitted on %zu rows of %zu deals.\n",
                    m.cal.kind == RI_CAL_PLATT      ? "Platt"
                    : m.cal.kind == RI_CAL_ISOTONIC ? "isotonic"
                                                    : "none",
                    m.cal_rows ? m.cal_rows : m.fit_rows, m.fit_rows, m.fit_deals);
        ri_buf_adds(&j, "]");
    } else {
        ri_buf_adds(&j, "\"refused\":[]");
    }
    if (save && have_m) {
        int64_t id = 0;
        ri_buf_addc(&j, '}');
        rc = model_save(ctx, &d, &m, o, cutoff, j.buf, signal, &id);
        if (rc)
            goto out;
        j.len--; /* reopen the object */
        j.buf[j.len] = 0;
        rep->model_id = id;
        ri_buf_addf(&t, "Registered as model %lld (active).\n", (long long)id);
        ri_buf_addf(&j, ",\"model_id\":%lld", (long long)id);
    }
    ri_buf_adds(&j, "}\n");
    rep->signal = signal;
    rep->auc = auc;
    rep->text = ri_buf_detach(&t, NULL);
    rep->json = ri_buf_detach(&j, NULL);
    *out = rep;
    rep = NULL;
out:
    if (have_m)
        model_release(&m);
    data_release(&d);
    ri_buf_release(&t);
    ri_buf_release(&j);
    ri_model_report_free(rep);
    return rc;
}

ri_err ri_train(struct ri_ctx *ctx, const struct ri_model_opts *o, struct ri_model_report **out)
{
    return run_models(ctx, o, 1, out);
}

ri_err ri_evaluate(struct ri_ctx *ctx, const struct ri_model_opts *o, struct ri_model_report **out)
{
    return run_models(ctx, o, 0, out);
}

/* ------------------------------------------------------------------ scoring */

struct reason {
    size_t feat;
    double contrib; /* log-odds */
};

static int cmp_reason(const void *a, const void *b)
{
    double x = fabs(((const struct reason *)a)->contrib),
           y = fabs(((const struct reason *)b)->contrib);
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The top reasons of one row, in words: "close date pushed 3 times (-12 pts)". Points are
 * the contribution in log-odds times p(1 - p), the slope of the probability there. */
static void reasons_text(const struct model *m, const struct ri_history *h, const float *x,
                         const double *contrib, double p, struct ri_buf *out, int json)
{
    struct reason r[RI_FEAT_MAX] = {{0, 0}};
    size_t p_n = m->fs.p;
    for (size_t k = 0; k < p_n; k++)
        r[k] = (struct reason){k, contrib[k]};
    qsort(r, p_n, sizeof(*r), cmp_reason);
    if (json) {
        /* the rest, so that base + reasons + other is the margin */
        double other = 0;
        for (size_t k = N_REASONS; k < p_n; k++)
            other += r[k].contrib;
        ri_buf_addf(out, "{\"other\":%.9g}", other);
    }
    for (size_t k = 0; k < N_REASONS && k < p_n; k++) {
        char words[160], line[220];
        double pts = 100.0 * r[k].contrib * p * (1 - p);
        ri_feature_describe(&m->fs, h, r[k].feat, x[r[k].feat], words, sizeof(words));
        snprintf(line, sizeof(line), "%s (%+.0f pts)", words, pts);
        if (json) {
            ri_buf_adds(out, ",{\"feature\":");
            ri_buf_add_json_str(out, m->fs.f[r[k].feat].name, strlen(m->fs.f[r[k].feat].name));
            ri_buf_adds(out, ",\"text\":");
            ri_buf_add_json_str(out, line, strlen(line));
            ri_buf_addf(out, ",\"contribution\":%.9g,\"points\":%.2f}", r[k].contrib, pts);
        } else {
            ri_buf_addf(out, "%s%s", k ? "; " : "", line);
        }
    }
}

static const char *tier_of(double p, double prior, int signal)
{
    if (!signal)
        return "unrated";
    return p < 0.5 * prior ? "high risk" : p < prior ? "at risk" : "on track";
}

/* CSV cell with formula injection neutralised (a leading = + - @ gets a quote). */
static void csv_cell(struct ri_buf *b, const char *s)
{
    int quote = strpbrk(s, ",\"\n\r") != NULL;
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t';
    if (quote || formula) {
        ri_buf_addc(b, '"');
        if (formula)
            ri_buf_addc(b, '\'');
        for (; *s; s++) {
            if (*s == '"')
                ri_buf_addc(b, '"');
            ri_buf_addc(b, *s);
        }
        ri_buf_addc(b, '"');
    } else {
        ri_buf_adds(b, s);
    }
}

/* The model's calibration on the deals it scored in earlier runs that have closed since:
 * each deal's first score against its outcome. */
static void since_training(struct ri_ctx *ctx, struct ri_store *store, int64_t model_id,
                           ri_time as_of, struct ri_buf *t, struct ri_buf *j)
{
    struct ri_stmt *s = NULL;
    double *p = NULL;
    uint8_t *y = NULL;
    size_t n = 0, cap = 0;
    struct ri_eval ev;
    if (ri_stmt_prepare(ctx, store,
                        "SELECT min(r.as_of), s.p_win, d.status FROM scores s JOIN score_runs r "
                        "ON r.id = s.run_id JOIN deals d ON d.id = s.deal_id WHERE r.model_id = ? "
                        "AND r.as_of < ? AND d.status IN ('won', 'lost') GROUP BY s.deal_id",
                        &s) != RI_OK)
        return;
    ri_stmt_bind_i64(s, 1, model_id);
    ri_stmt_bind_time(s, 2, as_of);
    while (ri_stmt_step(ctx, s) == RI_OK) {
        const char *st = ri_stmt_text(s, 2, NULL);
        if (n == cap) {
            RI_GROW(p, cap, n + 1);
            y = ri_realloc(y, cap);
        }
        p[n] = ri_stmt_f64(s, 1);
        y[n++] = st && st[0] == 'w';
    }
    ri_stmt_free(s);
    ri_buf_adds(j, ",\"since_training\":");
    if (n >= 30 && ri_eval_compute(p, y, NULL, n, NULL, 0.5, &ev) == RI_OK) {
        ri_buf_addf(t,
                    "  Since training: %zu scored deals have closed; predicted %.0f %% won, "
                    "%.0f %% were (ECE %.3f, AUC %.3f)%s\n",
                    n, 100 * ri_mean(p, n), 100 * ev.base_rate, ev.ece, ev.auc,
                    ev.ece > 0.1 ? ": the calibration has drifted, retrain" : "");
        ri_buf_addf(j, "{\"closed\":%zu,", n);
        num_json(j, "ece", ev.ece, 1);
        num_json(j, "auc", ev.auc, 0);
        ri_buf_addc(j, '}');
    } else {
        ri_buf_addf(j, "{\"closed\":%zu}", n);
    }
    ri_free(p);
    ri_free(y);
}

ri_err ri_score(struct ri_ctx *ctx, const struct ri_model_opts *o, char **csv,
                struct ri_model_report **out)
{
    struct data d;
    struct model m;
    struct ri_featctx fc;
    struct ri_asof_state st;
    struct ri_rows rows;
    struct ri_buf t = RI_BUF_INIT, j = RI_BUF_INIT, c = RI_BUF_INIT, rs = RI_BUF_INIT;
    struct ri_model_report *rep = report_new();
    struct ri_store *store = ri_ctx_store(ctx);
    struct ri_stmt *ins = NULL;
    double *p = NULL, *mg = NULL, *ct = NULL, expected = 0, prior;
    int64_t model_id = 0, run_id = 0;
    size_t tiers[3] = {0, 0, 0};
    int signal = 0, have_m = 0, in_tx = 0;
    char a[16];
    ri_err rc;

    *out = NULL;
    if (csv)
        *csv = NULL;
    memset(&st, 0, sizeof(st));
    memset(&fc, 0, sizeof(fc));
    ri_rows_init(&rows, 0);
    rc = data_load(ctx, o->as_of, &d);
    if (!rc)
        rc = model_load(ctx, &d, &m, &model_id, &signal);
    if (rc)
        goto out;
    have_m = 1;
    prior = m.fs.prior;
    ri_featctx_init(&fc, d.h, &d.f, &d.a, m.have_sm ? &m.sm : NULL);
    rc = ri_asof_state_init(&st, d.h);
    if (!rc)
        rc = ri_asof(d.h, d.as_of == RI_TIME_NONE ? INT64_MAX - 1 : d.as_of, &st);
    if (!rc)
        rc = ri_rows_open_at(ctx, &fc, &m.fs, &st, NULL, &rows);
    if (rc)
        goto out;
    p = ri_malloc((rows.n + 1) * sizeof(double));
    mg = ri_malloc((rows.n + 1) * sizeof(double));
    ct = ri_try_alloc((rows.n * (rows.p + 1) + 1) * sizeof(double));
    if (!ct) {
        rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory for the contributions");
        goto out;
    }
    rc = predict(ctx, &m, &rows, p, mg);
    /* exact contributions (TreeSHAP) cost depth squared per tree and row: 90 % of scoring
     * 120,000 deals; beyond EXACT_REASONS_MAX deals the path method gives the reasons
     * (they still add up to the margin; `explain` is always exact) */
    if (!rc)
        rc = rows.n <= EXACT_REASONS_MAX
                 ? ri_xgb_contribs(ctx, m.xgb, rows.X, rows.n, rows.p, ct)
                 : ri_xgb_contribs_approx(ctx, m.xgb, rows.X, rows.n, rows.p, ct);
    if (rc)
        goto out;
    /* store: one run per as-of date */
    rc = ri_store_begin(ctx, store);
    if (rc)
        goto out;
    in_tx = 1;
    {
        struct ri_stmt *s = NULL;
        rc = ri_stmt_prepare(ctx, store,
                             "DELETE FROM scores WHERE run_id IN (SELECT id FROM "
                             "score_runs WHERE as_of = ?)",
                             &s);
        if (!rc) {
            ri_stmt_bind_time(s, 1, d.as_of);
            rc = ri_stmt_run(ctx, s);
        }
        ri_stmt_free(s);
        s = NULL;
        if (!rc)
            rc = ri_stmt_prepare(ctx, store, "DELETE FROM score_runs WHERE as_of = ?", &s);
        if (!rc) {
            ri_stmt_bind_time(s, 1, d.as_of);
            rc = ri_stmt_run(ctx, s);
        }
        ri_stmt_free(s);
        s = NULL;
        if (!rc)
            rc = ri_stmt_prepare(ctx, store,
                                 "INSERT INTO score_runs(created_at, as_of, model_id, deals, "
                                 "signal) VALUES (?, ?, ?, ?, ?)",
                                 &s);
        if (!rc) {
            ri_stmt_bind_i64(s, 1, (int64_t)time(NULL));
            ri_stmt_bind_time(s, 2, d.as_of);
            ri_stmt_bind_i64(s, 3, model_id);
            ri_stmt_bind_i64(s, 4, (int64_t)rows.n);
            ri_stmt_bind_i64(s, 5, signal);
            rc = ri_stmt_run(ctx, s);
            run_id = ri_store_last_rowid(store);
        }
        ri_stmt_free(s);
    }
    if (!rc)
        rc = ri_stmt_prepare(ctx, store,
                             "INSERT INTO scores(run_id, deal_id, p_win, tier, p_stage, p_rep, "
                             "margin, base, reasons) VALUES (?, (SELECT id FROM deals WHERE "
                             "crm_id = ?), ?, ?, ?, ?, ?, ?, ?)",
                             &ins);
    if (csv)
        ri_buf_adds(&c, "id,stage,amount,p_win,tier,p_stage,p_rep,reasons\n");
    for (size_t i = 0; !rc && i < rows.n; i++) {
        size_t di = rows.deal[i];
        const char *id = ri_history_deal_id(d.h, di);
        const char *tier = tier_of(p[i], prior, signal);
        double amt = d.f.amount[di];
        ri_buf_reset(&rs);
        reasons_text(&m, d.h, rows.X + i * rows.p, ct + i * (rows.p + 1), p[i], &rs, 1);
        {
            struct ri_buf tmp = RI_BUF_INIT;
            ri_buf_addc(&tmp, '[');
            ri_buf_addn(&tmp, rs.buf, rs.len);
            ri_buf_addc(&tmp, ']');
            ri_stmt_reset(ins);
            ri_stmt_bind_i64(ins, 1, run_id);
            ri_stmt_bind_text(ins, 2, id, strlen(id));
            ri_stmt_bind_f64(ins, 3, p[i]);
            ri_stmt_bind_text(ins, 4, tier, strlen(tier));
            ri_stmt_bind_f64(ins, 5, rows.p_stage[i]);
            ri_stmt_bind_f64(ins, 6, rows.p_rep[i]);
            ri_stmt_bind_f64(ins, 7, mg[i]);
            ri_stmt_bind_f64(ins, 8, ct[i * (rows.p + 1) + rows.p]);
            ri_stmt_bind_text(ins, 9, tmp.buf, tmp.len);
            rc = ri_stmt_run(ctx, ins);
            ri_buf_release(&tmp);
        }
        if (!isnan(amt))
            expected += p[i] * amt;
        tiers[!strcmp(tier, "high risk") ? 0 : !strcmp(tier, "at risk") ? 1 : 2]++;
        if (csv) {
            char num[64];
            int32_t s = st.stage[di];
            csv_cell(&c, id);
            ri_buf_addc(&c, ',');
            csv_cell(&c, s >= 0 ? ri_history_stage_name(d.h, s) : "");
            snprintf(num, sizeof(num), ",%.2f,%.4f,", isnan(amt) ? 0.0 : amt, p[i]);
            ri_buf_adds(&c, num);
            csv_cell(&c, tier);
            snprintf(num, sizeof(num), ",%.4f,%.4f,",
                     isnan(rows.p_stage[i]) ? -1.0 : rows.p_stage[i],
                     isnan(rows.p_rep[i]) ? -1.0 : rows.p_rep[i]);
            ri_buf_adds(&c, num);
            {
                struct ri_buf w = RI_BUF_INIT;
                reasons_text(&m, d.h, rows.X + i * rows.p, ct + i * (rows.p + 1), p[i], &w, 0);
                csv_cell(&c, w.buf);
                ri_buf_release(&w);
            }
            ri_buf_addc(&c, '\n');
        }
    }
    if (!rc) {
        struct ri_stmt *s = NULL;
        rc = ri_stmt_prepare(ctx, store, "UPDATE score_runs SET expected_won = ? WHERE id = ?", &s);
        if (!rc) {
            ri_stmt_bind_f64(s, 1, expected);
            ri_stmt_bind_i64(s, 2, run_id);
            rc = ri_stmt_run(ctx, s);
        }
        ri_stmt_free(s);
    }
    ri_stmt_free(ins);
    ins = NULL;
    if (!rc) {
        rc = ri_store_commit(ctx, store);
        in_tx = 0;
    }
    if (rc)
        goto out;
    date_str(d.as_of, a, sizeof(a));
    ri_buf_addf(
        &t, "Scored %zu open deals as of %s with model %lld%s.\n", rows.n, a, (long long)model_id,
        rows.n > EXACT_REASONS_MAX ? " (reasons by the path method: over 50,000 deals)" : "");
    if (signal)
        ri_buf_addf(&t, "  high risk %zu, at risk %zu, on track %zu; expected won amount %.0f\n",
                    tiers[0], tiers[1], tiers[2], expected);
    else
        ri_buf_adds(&t, "  The model found no reliable signal when it was trained: scores are "
                        "shown without risk tiers.\n");
    ri_buf_addf(&j, "{\"as_of\":\"%s\",\"model_id\":%lld,\"deals\":%zu,\"signal\":%s,", a,
                (long long)model_id, rows.n, signal ? "true" : "false");
    num_json(&j, "expected_won", expected, 1);
    ri_buf_addf(&j, "\"tiers\":{\"high_risk\":%zu,\"at_risk\":%zu,\"on_track\":%zu},", tiers[0],
                tiers[1], tiers[2]);
    /* drift: PSI of each feature between the training sample and the open deals */
    ri_buf_adds(&j, "\"drift\":[");
    if (m.n_sample && rows.n) {
        double *e = ri_malloc((m.n_sample + 1) * sizeof(double));
        double *q = ri_malloc((rows.n + 1) * sizeof(double));
        int first = 1, shown = 0;
        for (size_t k = 0; k < m.fs.p; k++) {
            double psi;
            for (size_t i = 0; i < m.n_sample; i++)
                e[i] = (double)m.sample[i * m.fs.p + k];
            for (size_t i = 0; i < rows.n; i++)
                q[i] = (double)rows.X[i * rows.p + k];
            psi = ri_psi(e, m.n_sample, q, rows.n);
            ri_buf_addf(&j, "%s{\"feature\":", first ? "" : ",");
            ri_buf_add_json_str(&j, m.fs.f[k].name, strlen(m.fs.f[k].name));
            ri_buf_adds(&j, ",");
            num_json(&j, "psi", psi, 0);
            ri_buf_addc(&j, '}');
            first = 0;
            if (psi > 0.25) {
                if (!shown++)
                    ri_buf_adds(&t, "  Drift since training (PSI > 0.25; the open deals differ "
                                    "from the training snapshots):");
                ri_buf_addf(&t, " %s %.2f", m.fs.f[k].name, psi);
            }
        }
        if (shown)
            ri_buf_addc(&t, '\n');
        ri_free(e);
        ri_free(q);
    }
    ri_buf_adds(&j, "]");
    since_training(ctx, store, model_id, d.as_of, &t, &j);
    ri_buf_adds(&j, "}\n");
    rep->model_id = model_id;
    rep->signal = signal;
    rep->n_scored = rows.n;
    rep->text = ri_buf_detach(&t, NULL);
    rep->json = ri_buf_detach(&j, NULL);
    if (csv)
        *csv = ri_buf_detach(&c, NULL);
    *out = rep;
    rep = NULL;
out:
    if (in_tx)
        ri_store_rollback(store);
    ri_stmt_free(ins);
    ri_free(p);
    ri_free(mg);
    ri_free(ct);
    ri_rows_release(&rows);
    ri_asof_state_release(&st);
    ri_featctx_release(&fc);
    if (have_m)
        model_release(&m);
    data_release(&d);
    ri_buf_release(&t);
    ri_buf_release(&j);
    ri_buf_release(&c);
    ri_buf_release(&rs);
    ri_model_report_free(rep);
    return rc;
}

/* ------------------------------------------------------------------ explain */

/* A next best action for the strongest negative reason. */
static const char *action_for(enum ri_feat_src src)
{
    switch (src) {
    case RI_FS_CLOSE_PUSHES:
    case RI_FS_DAYS_TO_CLOSE:
    case RI_FS_CLOSE_SLIP:
        return "confirm the close date with the buyer and agree a mutual close plan";
    case RI_FS_DAYS_IN_STAGE:
    case RI_FS_AGE:
    case RI_FS_STAGE:
    case RI_FS_P_STAGE:
        return "re-qualify: the deal has sat here longer than deals that were won; find the "
               "next concrete step or close it";
    case RI_FS_REGRESSIONS:
    case RI_FS_STAGE_CHANGES:
    case RI_FS_SKIPS:
        return "re-qualify: the deal moved back or skipped a step; check budget, authority, need "
               "and timing again";
    case RI_FS_REP_RATE:
    case RI_FS_REP_CLOSED:
        return "review the deal with the manager and pair the rep with a senior colleague";
    case RI_FS_ACCOUNT_RATE:
    case RI_FS_ACCOUNT_WON:
        return "multi-thread: reach more stakeholders at the account, including an executive "
               "sponsor";
    case RI_FS_LOG_AMOUNT:
    case RI_FS_AMOUNT_RATIO:
    case RI_FS_AMOUNT_CHANGES:
        return "check the scope and the price: right-size the offer or find the budget holder";
    case RI_FS_P_REP:
        return "ask the rep what the forecast rests on: the rep's own probability is low";
    default:
        return "qualify harder: deals like this one in this segment are lost more often";
    }
}

ri_err ri_explain(struct ri_ctx *ctx, const struct ri_model_opts *o, const char *deal_id,
                  struct ri_model_report **out)
{
    struct data d;
    struct model m;
    struct ri_featctx fc;
    struct ri_asof_state st;
    struct ri_buf t = RI_BUF_INIT, j = RI_BUF_INIT, w = RI_BUF_INIT;
    struct ri_model_report *rep = report_new();
    float *x = NULL, *lx = NULL;
    double *ct = NULL, *LX = NULL, *mean = NULL, *sd = NULL, q[RI_FEAT_MAX], mg, p, ps, pr;
    size_t *lost = NULL, nl = 0, nn = 0, idx[N_NEIGHBOURS];
    double dist[N_NEIGHBOURS];
    int64_t model_id = 0;
    int signal = 0, have_m = 0;
    ptrdiff_t i;
    ri_err rc;

    *out = NULL;
    memset(&st, 0, sizeof(st));
    memset(&fc, 0, sizeof(fc));
    rc = data_load(ctx, o->as_of, &d);
    if (!rc)
        rc = model_load(ctx, &d, &m, &model_id, &signal);
    if (rc)
        goto out;
    have_m = 1;
    i = ri_history_find(d.h, deal_id);
    if (i < 0) {
        rc = ri_fail(ctx, RI_ERR_NOTFOUND, "no deal '%s' in the store", deal_id);
        goto out;
    }
    ri_featctx_init(&fc, d.h, &d.f, &d.a, m.have_sm ? &m.sm : NULL);
    rc = ri_asof_state_init(&st, d.h);
    if (!rc)
        rc = ri_asof_deal(d.h, (size_t)i, d.as_of, &st);
    if (rc)
        goto out;
    x = ri_malloc((m.fs.p + 1) * sizeof(float));
    ct = ri_malloc((m.fs.p + 2) * sizeof(double));
    ri_features_row(&fc, &m.fs, &st, (size_t)i, d.as_of, x, &pr, &ps);
    rc = ri_xgb_predict(ctx, m.xgb, x, 1, m.fs.p, &mg);
    if (!rc)
        rc = ri_xgb_contribs(ctx, m.xgb, x, 1, m.fs.p, ct);
    if (rc)
        goto out;
    p = ri_calibrator_apply(&m.cal, sigmoid(mg));
    /* the closed-lost deals as they stood the day before they closed */
    lost = ri_malloc((d.f.n + 1) * sizeof(size_t));
    for (size_t k = 0; k < d.f.n; k++)
        if (d.f.status[k] == RI_STATUS_LOST && !d.f.deleted[k] && (ptrdiff_t)k != i)
            lost[nl++] = k;
    if (nl > 20000) {
        /* the 20,000 most recent (deals are in store order, newest last): enough to find
         * neighbours, and the ones most like today's pipeline */
        memmove(lost, lost + (nl - 20000), 20000 * sizeof(*lost));
        nl = 20000;
    }
    lx = ri_malloc((nl * m.fs.p + 1) * sizeof(float));
    LX = ri_malloc((nl * m.fs.p + 1) * sizeof(double));
    for (size_t k = 0; k < nl; k++) {
        size_t di = lost[k];
        ri_time at = d.f.close[di] != RI_TIME_NONE ? d.f.close[di] - DAY : d.as_of;
        double a1, a2;
        if (d.history_mode) {
            ri_asof_deal(d.h, di, at, &st);
            ri_features_row(&fc, &m.fs, &st, di, at, lx + k * m.fs.p, &a1, &a2);
        } else {
            ri_features_row(&fc, &m.fs, NULL, di, at, lx + k * m.fs.p, &a1, &a2);
        }
        for (size_t f = 0; f < m.fs.p; f++)
            LX[k * m.fs.p + f] = (double)lx[k * m.fs.p + f];
    }
    for (size_t f = 0; f < m.fs.p; f++)
        q[f] = (double)x[f];
    mean = ri_malloc((m.fs.p + 1) * sizeof(double));
    sd = ri_malloc((m.fs.p + 1) * sizeof(double));
    ri_standardize_fit(LX, nl, m.fs.p, mean, sd);
    nn = ri_knn(LX, nl, m.fs.p, mean, sd, q, NULL, N_NEIGHBOURS, idx, dist);

    ri_buf_addf(&t, "Deal %s: P(win) %.0f %%", deal_id, 100 * p);
    if (signal)
        ri_buf_addf(&t, " (%s; the training base rate was %.0f %%)\n",
                    tier_of(p, m.fs.prior, signal), 100 * m.fs.prior);
    else
        ri_buf_adds(&t, " (no reliable signal in this data: treat it as the base rate)\n");
    if (!isnan(ps))
        ri_buf_addf(&t, "  stage history alone says %.0f %%", 100 * ps);
    if (!isnan(pr))
        ri_buf_addf(&t, "%s the rep says %.0f %%", isnan(ps) ? "  " : ";", 100 * pr);
    if (!isnan(ps) || !isnan(pr))
        ri_buf_addc(&t, '\n');
    reasons_text(&m, d.h, x, ct, p, &w, 0);
    ri_buf_addf(&t, "Reasons: %s\n", w.buf);
    ri_buf_addf(&j, "{\"deal\":");
    ri_buf_add_json_str(&j, deal_id, strlen(deal_id));
    ri_buf_addc(&j, ',');
    num_json(&j, "p_win", p, 1);
    ri_buf_addf(&j, "\"tier\":\"%s\",\"margin\":%.6g,\"base\":%.6g,\"reasons\":[",
                tier_of(p, m.fs.prior, signal), mg, ct[m.fs.p]);
    ri_buf_reset(&w);
    reasons_text(&m, d.h, x, ct, p, &w, 1);
    ri_buf_addn(&j, w.buf, w.len);
    ri_buf_adds(&j, "],\"similar_lost\":[");
    if (nn) {
        ri_buf_adds(&t, "Most similar closed-lost deals:");
        for (size_t k = 0; k < nn; k++) {
            const char *id = ri_history_deal_id(d.h, lost[idx[k]]);
            ri_buf_addf(&t, "%s %s", k ? "," : "", id);
            ri_buf_addf(&j, "%s{\"id\":", k ? "," : "");
            ri_buf_add_json_str(&j, id, strlen(id));
            ri_buf_addf(&j, ",\"distance\":%.4g}", dist[k]);
        }
        ri_buf_adds(&t, "\n  What they share with this deal:");
        {
            int any = 0;
            for (size_t f = 0; f < m.fs.p; f++) {
                size_t same = 0;
                char words[160];
                if (!m.fs.f[f].categorical || isnan(x[f]))
                    continue;
                for (size_t k = 0; k < nn; k++)
                    same += !isnan(lx[idx[k] * m.fs.p + f]) &&
                            (int)lx[idx[k] * m.fs.p + f] == (int)x[f];
                if (same * 2 > nn) {
                    ri_feature_describe(&m.fs, d.h, f, x[f], words, sizeof(words));
                    ri_buf_addf(&t, "%s %s (%zu of %zu)", any++ ? "," : "", words, same, nn);
                }
            }
            if (!any)
                ri_buf_adds(&t, " no single segment; they are close on the numbers");
        }
        ri_buf_addc(&t, '\n');
    }
    ri_buf_adds(&j, "],\"next_action\":");
    {
        /* the most negative contribution decides */
        size_t worst = 0;
        for (size_t f = 1; f < m.fs.p; f++)
            if (ct[f] < ct[worst])
                worst = f;
        const char *act = ct[worst] < 0 ? action_for(m.fs.f[worst].src)
                                        : "keep going: nothing in the deal's record stands out "
                                          "against it";
        ri_buf_addf(&t, "Next best action: %s.\n", act);
        ri_buf_add_json_str(&j, act, strlen(act));
    }
    ri_buf_adds(&j, "}\n");
    rep->model_id = model_id;
    rep->signal = signal;
    rep->text = ri_buf_detach(&t, NULL);
    rep->json = ri_buf_detach(&j, NULL);
    *out = rep;
    rep = NULL;
out:
    ri_free(x);
    ri_free(lx);
    ri_free(LX);
    ri_free(ct);
    ri_free(mean);
    ri_free(sd);
    ri_free(lost);
    ri_asof_state_release(&st);
    ri_featctx_release(&fc);
    if (have_m)
        model_release(&m);
    data_release(&d);
    ri_buf_release(&t);
    ri_buf_release(&j);
    ri_buf_release(&w);
    ri_model_report_free(rep);
    return rc;
}

/* ------------------------------------------------------------------ for other modules */

struct ri_mdata {
    struct data d;
};

struct ri_rmodel {
    struct model m;
};

ri_err ri_mdata_load(struct ri_ctx *ctx, ri_time as_of, struct ri_mdata **out)
{
    struct ri_mdata *md = ri_calloc(1, sizeof(*md));
    ri_err rc = data_load(ctx, as_of, &md->d);
    if (rc) {
        data_release(&md->d);
        ri_free(md);
        md = NULL;
    }
    *out = md;
    return rc;
}

void ri_mdata_free(struct ri_mdata *md)
{
    if (!md)
        return;
    data_release(&md->d);
    ri_free(md);
}

ri_time ri_mdata_as_of(const struct ri_mdata *md)
{
    return md->d.as_of;
}

const struct ri_history *ri_mdata_history(const struct ri_mdata *md)
{
    return md->d.h;
}

const struct ri_frame *ri_mdata_frame(const struct ri_mdata *md)
{
    return &md->d.f;
}

int ri_mdata_history_mode(const struct ri_mdata *md)
{
    return md->d.history_mode;
}

ri_err ri_rmodel_fit(struct ri_ctx *ctx, const struct ri_mdata *md, ri_time D,
                     const struct ri_model_opts *o, struct ri_rmodel **out)
{
    struct ri_rmodel *rm = ri_calloc(1, sizeof(*rm));
    ri_err rc = md->d.history_mode
                    ? fit_history(ctx, &md->d, D, o, 0, &rm->m)
                    : ri_fail(ctx, RI_ERR_MODEL, "no stage history: nothing to forecast from");
    if (rc) {
        ri_free(rm);
        rm = NULL;
    }
    *out = rm;
    return rc;
}

ri_err ri_rmodel_load_active(struct ri_ctx *ctx, const struct ri_mdata *md, struct ri_rmodel **out,
                             int *signal)
{
    struct ri_rmodel *rm = ri_calloc(1, sizeof(*rm));
    int64_t id = 0;
    ri_err rc = model_load(ctx, &md->d, &rm->m, &id, signal);
    if (rc) {
        ri_free(rm);
        rm = NULL;
    }
    *out = rm;
    return rc;
}

ri_err ri_rmodel_p_open(struct ri_ctx *ctx, const struct ri_rmodel *rm, const struct ri_mdata *md,
                        const struct ri_asof_state *st, double *p_model, double *p_stage)
{
    struct ri_featctx fc;
    struct ri_rows rows;
    struct model mc = rm->m; /* a view: the trees the calibrator was fitted on */
    double *p = NULL, *mg = NULL;
    ri_err rc;
    if (mc.xgb_cal)
        mc.xgb = mc.xgb_cal;
    for (size_t i = 0; i < md->d.f.n; i++)
        p_model[i] = p_stage[i] = RI_NAN;
    ri_featctx_init(&fc, md->d.h, &md->d.f, &md->d.a, rm->m.have_sm ? &rm->m.sm : NULL);
    rc = ri_rows_open_at(ctx, &fc, &rm->m.fs, st, NULL, &rows);
    if (!rc) {
        p = ri_malloc((rows.n + 1) * sizeof(double));
        mg = ri_malloc((rows.n + 1) * sizeof(double));
        rc = predict(ctx, &mc, &rows, p, mg);
    }
    if (!rc && rm->m.cal_rev.kind != RI_CAL_NONE)
        for (size_t k = 0; k < rows.n; k++)
            p[k] = ri_calibrator_apply(&rm->m.cal_rev, sigmoid(mg[k]));
    if (!rc)
        for (size_t k = 0; k < rows.n; k++) {
            p_model[rows.deal[k]] = p[k];
            p_stage[rows.deal[k]] = rows.p_stage[k];
        }
    ri_free(p);
    ri_free(mg);
    ri_rows_release(&rows);
    ri_featctx_release(&fc);
    return rc;
}

void ri_rmodel_free(struct ri_rmodel *rm)
{
    if (!rm)
        return;
    model_release(&rm->m);
    ri_free(rm);
}
