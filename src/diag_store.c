/*
 * diag_store.c - the diagnosis written to the store's diag_* tables.
 *
 * The dashboard and the alert rules read these tables, not the diagnosis in memory, so
 * that a custom rule is plain SQL over them. One run is one row of diag_runs; every
 * other table carries its run_id. A save is one transaction and keeps the 30 newest
 * runs, so the tables hold the recent trend without growing without bound.
 */
#include "diagnose.h"
#include "store.h"

#include <math.h>
#include <string.h>

#define KEEP_RUNS 30

/* Binds values 1..n of s from a compact spec: 'i' int64, 'd' double, 't' text, 'T' time. */
static ri_err put(struct ri_ctx *ctx, struct ri_stmt *s, const char *spec, ...)
{
    va_list ap;
    int k = 1;
    va_start(ap, spec);
    for (const char *c = spec; *c; c++, k++) {
        if (*c == 'i') {
            ri_stmt_bind_i64(s, k, va_arg(ap, int64_t));
        } else if (*c == 'd') {
            ri_stmt_bind_f64(s, k, va_arg(ap, double));
        } else if (*c == 'T') {
            ri_stmt_bind_time(s, k, va_arg(ap, ri_time));
        } else {
            const char *t = va_arg(ap, const char *);
            ri_stmt_bind_text(s, k, t, t ? strlen(t) : 0);
        }
    }
    va_end(ap);
    return ri_stmt_run(ctx, s);
}

static ri_err save_cells(struct ri_ctx *ctx, struct ri_stmt *s, int64_t run, const char *scope,
                         const struct ri_diagnosis *d, struct ri_wr_cell *const *cells)
{
    ri_err rc = RI_OK;
    for (size_t k = 0; !rc && k < d->n_seg_tables; k++) {
        const struct ri_dim *dim = &d->frame.dims[k];
        if (!cells[k])
            continue;
        for (size_t v = 0; !rc && v < dim->values.n; v++) {
            const struct ri_wr_cell *c = &cells[k][v];
            if (!c->won && !c->lost)
                continue;
            rc = put(ctx, s,
                     "ittt"
                     "iiddddddddi",
                     run, scope, dim->name, ri_intern_str(&dim->values, (int32_t)v),
                     (int64_t)c->won, (int64_t)c->lost, c->rate.est, c->rate.lo, c->rate.hi,
                     c->acv_mean, c->acv_median, c->cycle_median, c->quality.est, c->efficiency,
                     (int64_t)c->small);
        }
    }
    return rc;
}

static ri_err metric(struct ri_ctx *ctx, struct ri_stmt *s, int64_t run, const char *name, double v,
                     const char *text)
{
    return put(ctx, s, "itdt", run, name, v, text);
}

ri_err ri_diagnosis_save(struct ri_ctx *ctx, const struct ri_diagnosis *d)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    ri_err rc;
    int64_t run;
    const char *p0 = d->p0 >= 0 ? d->periods[d->p0].label : NULL;
    const char *p1 = d->p1 >= 0 ? d->periods[d->p1].label : NULL;

    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    rc = ri_store_begin(ctx, st);
    if (rc)
        return rc;
    rc = ri_stmt_prepare(ctx, st,
                         "INSERT INTO diag_runs(created_at, as_of, period, from_date, to_date, "
                         "filter, closed, headline, volume_quality, p0, p1) VALUES "
                         "(strftime('%s', 'now'), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                         &s);
    if (!rc)
        rc = put(ctx, s, "TtTTtitttt", d->as_of, d->quarterly ? "quarter" : "month",
                 d->from > INT64_MIN + 1 ? d->from : RI_TIME_NONE,
                 d->to < INT64_MAX ? d->to : RI_TIME_NONE, d->filter[0] ? d->filter : NULL,
                 (int64_t)d->closed, d->headline, d->volume_quality, p0, p1);
    run = ri_store_last_rowid(st);
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO diag_periods VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                             "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
                             "?22, ?23)",
                             &s);
    for (size_t p = 0; !rc && p < d->n_periods; p++) {
        const struct ri_period_row *r = &d->periods[p];
        const struct ri_wr_cell *c = &r->cell;
        rc = put(ctx, s,
                 "itTTiiidddd"
                 "ddddd"
                 "ddddidd",
                 run, r->label, r->start, r->end, (int64_t)r->complete, (int64_t)c->won,
                 (int64_t)c->lost, c->rate.est, c->rate.lo, c->rate.hi, r->change_p.est,
                 c->acv_mean, c->acv_median, c->cycle_mean, c->cycle_median, c->cycle_p90,
                 c->quality.est, c->quality.lo, c->quality.hi, c->efficiency, (int64_t)r->created,
                 r->created_amount, c->won_amount);
    }
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO diag_segments VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                             "?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                             &s);
    if (!rc && d->p1 >= 0)
        rc = save_cells(ctx, s, run, "last_period", d, d->seg_cells);
    if (!rc)
        rc = save_cells(ctx, s, run, "window", d, d->seg_cells_all);
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO diag_decomposition VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                             "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
                             &s);
    for (size_t j = 0; !rc && j < d->n_decomp; j++) {
        const struct ri_decomp_dim *dd = &d->decomp[j];
        for (size_t r = 0; !rc && r < dd->n_rows; r++) {
            const struct ri_decomp_row *w = &dd->rows[r];
            rc = put(ctx, s,
                     "ittiiiii"
                     "dddddddd"
                     "ii",
                     run, dd->name, w->label, (int64_t)r + 1, (int64_t)w->n0, (int64_t)w->w0,
                     (int64_t)w->n1, (int64_t)w->w1, w->r0, w->r1, w->mix, w->rate, w->interaction,
                     w->total, w->p, w->q, (int64_t)w->small, (int64_t)w->significant);
        }
    }
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO diag_funnel VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                             "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                             &s);
    for (size_t k = 0; !rc && k < d->funnel.n_stages; k++) {
        const struct ri_funnel_stage *f = &d->funnel.stages[k];
        rc = put(ctx, s,
                 "itiiidid"
                 "iidd"
                 "dddd",
                 run, f->name, (int64_t)f->stage, (int64_t)f->reached, (int64_t)f->advanced,
                 f->conversion.est, (int64_t)f->won, f->win_rate.est, (int64_t)f->exits,
                 (int64_t)f->lost_exits, f->loss_rate.est, f->lost_share, f->dwell_won_median,
                 f->dwell_won_p90, f->dwell_lost_median, f->dwell_lost_p90);
    }
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO diag_zombies VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                             "?9)",
                             &s);
    for (size_t k = 0; !rc && k < d->zombies.n_list; k++) {
        const struct ri_zombie *z = &d->zombies.list[k];
        rc = put(ctx, s, "ittddddii", run, ri_history_deal_id(d->hist, z->deal),
                 ri_history_stage_name(d->hist, z->stage), z->amount, z->days_overdue,
                 z->days_in_stage, z->stage_p90, (int64_t)z->overdue, (int64_t)z->stalled);
    }
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO diag_cycle VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                             "?10, ?11, ?12)",
                             &s);
    if (!rc && d->cycle.all.n) {
        const struct ri_cycle_row *c = &d->cycle.all;
        rc = put(ctx, s,
                 "ittiidddddd"
                 "d",
                 run, "all", (const char *)NULL, (int64_t)c->n, (int64_t)c->closed, c->median.est,
                 c->median.lo, c->median.hi, c->p90.est, c->p90.lo, c->p90.hi, c->closed_median);
    }
    for (size_t k = 0; !rc && k < d->cycle.n_seg && d->cycle_dim >= 0; k++) {
        const struct ri_cycle_row *c = &d->cycle.by_seg[k];
        const struct ri_dim *dim = &d->frame.dims[d->cycle_dim];
        rc = put(ctx, s,
                 "ittiidddddd"
                 "d",
                 run, dim->name, ri_intern_str(&dim->values, c->key), (int64_t)c->n,
                 (int64_t)c->closed, c->median.est, c->median.lo, c->median.hi, c->p90.est,
                 c->p90.lo, c->p90.hi, c->closed_median);
    }
    for (size_t k = 0; !rc && k < d->cycle.n_stage; k++) {
        const struct ri_cycle_row *c = &d->cycle.by_stage[k];
        rc = put(ctx, s,
                 "ittiidddddd"
                 "d",
                 run, "stage", ri_history_stage_name(d->hist, c->key), (int64_t)c->n,
                 (int64_t)c->closed, c->median.est, c->median.lo, c->median.hi, c->p90.est,
                 c->p90.lo, c->p90.hi, c->closed_median);
    }
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO diag_reps VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                             "?10, ?11, ?12, ?13, ?14)",
                             &s);
    for (size_t k = 0; !rc && k < d->n_reps; k++) {
        const struct ri_rep_row *r = &d->reps[k];
        rc = put(ctx, s,
                 "itiiddddddd"
                 "idd",
                 run, r->name, (int64_t)r->cell.won, (int64_t)r->cell.lost, r->cell.rate.est,
                 r->cell.rate.lo, r->cell.rate.hi, r->expected_rate, r->z, r->p, r->q,
                 (int64_t)r->flagged, r->cell.acv_mean, r->cell.cycle_median);
    }
    ri_stmt_free(s);
    s = NULL;

    if (!rc)
        rc = ri_stmt_prepare(ctx, st, "INSERT INTO diag_metrics VALUES (?1, ?2, ?3, ?4)", &s);
    if (!rc && (d->reports & RI_DIAG_CONCENTRATION)) {
        const struct ri_concentration *c = &d->conc;
        rc = metric(ctx, s, run, "top20_deals_share", c->top20_deals_share, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "top20_customers_share", c->top20_customers_share, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "gini_deals", c->gini_deals, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "gini_customers", c->gini_customers, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "repeat_customer_rate", c->repeat_customer_rate, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "cross_product_rate", c->cross_product_rate, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "deal_size_distribution", c->fit.xmin, c->fit.best);
        if (!rc && c->lag_n)
            rc = metric(ctx, s, run, "implementation_lag_median_days", c->lag_median, NULL);
    }
    if (!rc && (d->reports & RI_DIAG_ZOMBIES)) {
        rc = metric(ctx, s, run, "open_deals", (double)d->zombies.open, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "zombies", (double)d->zombies.zombies, NULL);
        if (!rc)
            rc = metric(ctx, s, run, "live_pipeline_amount", d->zombies.live_amount, NULL);
    }
    ri_stmt_free(s);
    s = NULL;

    /* keep the newest runs only */
    if (!rc) {
        static const char *const tables[] = {"diag_periods", "diag_segments", "diag_decomposition",
                                             "diag_funnel",  "diag_zombies",  "diag_cycle",
                                             "diag_reps",    "diag_metrics"};
        char sql[256];
        for (size_t k = 0; !rc && k < RI_ARRAY_SIZE(tables); k++) {
            snprintf(sql, sizeof(sql),
                     "DELETE FROM %s WHERE run_id NOT IN (SELECT id FROM diag_runs ORDER BY id "
                     "DESC LIMIT %d)",
                     tables[k], KEEP_RUNS);
            rc = ri_store_exec(ctx, st, sql);
        }
        if (!rc) {
            snprintf(sql, sizeof(sql),
                     "DELETE FROM diag_runs WHERE id NOT IN (SELECT id FROM diag_runs ORDER BY "
                     "id DESC LIMIT %d)",
                     KEEP_RUNS);
            rc = ri_store_exec(ctx, st, sql);
        }
    }
    if (rc) {
        ri_store_rollback(st);
        return rc;
    }
    return ri_store_commit(ctx, st);
}
