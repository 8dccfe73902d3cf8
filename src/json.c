/*
 * json.c - the jansson adapter: JSON output of reports.
 *
 * Every machine-readable report goes through here, built as jansson objects and dumped
 * with JSON_SORT_KEYS so that golden tests and scripts see byte-stable output. Keys are
 * snake_case; times are ISO dates; counts are integers; nothing is localised.
 */
#include "ri_internal.h"
#include "diagnose.h"

#include <jansson.h>
#include <math.h>

static void set_date(json_t *o, const char *key, ri_time t)
{
    char d[16];
    if (t == RI_TIME_NONE) {
        json_object_set_new(o, key, json_null());
        return;
    }
    ri_format_date(t, d, sizeof(d));
    json_object_set_new(o, key, json_string(d));
}

static void set_u64(json_t *o, const char *key, uint64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void set_num(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, isfinite(v) ? json_real(v) : json_null());
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
    char *out = NULL;
    json_decref(o);
    if (s) {
        size_t n = strlen(s);
        out = ri_try_alloc(n + 2);
        if (out) {
            memcpy(out, s, n);
            out[n] = '\n';
            out[n + 1] = '\0';
        }
        free(s);
    }
    return out;
}

void ri_string_free(char *s)
{
    ri_free(s);
}

char *ri_ingest_report_json(const struct ri_ingest_report *r, const char *file,
                            enum ri_ingest_kind kind)
{
    json_t *o = json_object(), *reasons = json_object();
    char delim[2] = {r->delimiter, '\0'};
    json_object_set_new(o, "file", json_string(file));
    json_object_set_new(o, "kind", json_string(ri_ingest_kind_name(kind)));
    json_object_set_new(o, "format", json_string(r->format));
    json_object_set_new(o, "delimiter", r->delimiter ? json_string(delim) : json_null());
    json_object_set_new(o, "mapping", json_string(r->preset));
    json_object_set_new(o, "snapshot_id", json_integer(r->snapshot_id));
    json_object_set_new(o, "duplicate_of",
                        r->duplicate_of ? json_integer(r->duplicate_of) : json_null());
    set_date(o, "as_of", r->as_of);
    set_u64(o, "rows_read", r->rows_read);
    set_u64(o, "rows_accepted", r->rows_accepted);
    set_u64(o, "rows_quarantined", r->rows_quarantined);
    set_u64(o, "deals_new", r->deals_new);
    set_u64(o, "deals_changed", r->deals_changed);
    set_u64(o, "deals_unchanged", r->deals_unchanged);
    set_u64(o, "deals_deleted", r->deals_deleted);
    set_u64(o, "events_written", r->events_written);
    json_object_set_new(o, "columns_mapped", json_integer(r->columns_mapped));
    json_object_set_new(o, "columns_custom", json_integer(r->columns_custom));
    for (int i = 0; i < RI_REASON__COUNT; i++)
        if (r->by_reason[i])
            set_u64(reasons, ri_reason_name((enum ri_reason)i), r->by_reason[i]);
    json_object_set_new(o, "quarantined_by_reason", reasons);
    return dump(o);
}

char *ri_quality_report_json(const struct ri_quality_report *r)
{
    json_t *o = json_object(), *reasons = json_object(), *cols = json_array();
    json_t *ex = json_array(), *deals = json_object(), *compl = json_object();
    set_u64(o, "ingests", r->snapshots);
    set_u64(o, "rows_read", r->rows_read);
    set_u64(o, "rows_accepted", r->rows_accepted);
    set_u64(o, "rows_quarantined", r->rows_quarantined);
    for (size_t i = 0; i < r->n_reasons; i++)
        set_u64(reasons, r->reasons[i].reason, r->reasons[i].count);
    json_object_set_new(o, "quarantined_by_reason", reasons);
    for (size_t i = 0; i < r->n_columns; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "column", json_string(r->columns[i].column));
        set_u64(c, "rows", r->columns[i].count);
        json_array_append_new(cols, c);
    }
    json_object_set_new(o, "worst_columns", cols);
    for (size_t i = 0; i < r->n_examples; i++) {
        const struct ri_quality_example *e = &r->examples[i];
        json_t *x = json_object();
        json_object_set_new(x, "file", json_string(e->file));
        set_u64(x, "line", e->line);
        json_object_set_new(x, "column", json_string(e->column));
        json_object_set_new(x, "reason", json_string(e->reason));
        json_object_set_new(x, "detail", json_string(e->detail));
        json_array_append_new(ex, x);
    }
    json_object_set_new(o, "examples", ex);
    set_u64(deals, "total", r->deals);
    set_u64(deals, "open", r->deals_open);
    set_u64(deals, "won", r->deals_won);
    set_u64(deals, "lost", r->deals_lost);
    json_object_set_new(o, "deals", deals);
    set_num(compl, "amount_pct", r->pct_amount);
    set_num(compl, "close_date_pct", r->pct_close_date);
    set_num(compl, "owner_pct", r->pct_owner);
    set_num(compl, "probability_pct", r->pct_probability);
    json_object_set_new(o, "completeness", compl );
    set_u64(o, "events", r->events);
    set_u64(o, "accounts", r->accounts);
    set_u64(o, "tickets", r->tickets);
    return dump(o);
}

char *ri_sim_report_json(const struct ri_sim_report *r, const char *outdir)
{
    json_t *o = json_object();
    json_object_set_new(o, "outdir", json_string(outdir));
    set_u64(o, "deals", r->deals);
    set_u64(o, "open", r->open);
    set_u64(o, "won", r->won);
    set_u64(o, "lost", r->lost);
    set_u64(o, "zombies", r->zombies);
    set_u64(o, "history_rows", r->history_rows);
    set_u64(o, "accounts", r->accounts);
    set_u64(o, "tickets", r->tickets);
    return dump(o);
}

char *ri_asof_summary_json(const struct ri_asof_summary *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set_date(o, "as_of", s[i].at);
        set_u64(o, "deals", s[i].existing);
        set_u64(o, "open", s[i].open);
        set_u64(o, "open_late_stage", s[i].open_late);
        set_u64(o, "won", s[i].won);
        set_u64(o, "lost", s[i].lost);
        set_num(o, "open_amount", s[i].open_amount);
        set_num(o, "won_amount", s[i].won_amount);
        json_array_append_new(a, o);
    }
    return dump(a);
}

int ri_json_object_strings(const char *text, size_t len,
                           void (*fn)(void *ud, const char *key, const char *val, size_t vlen),
                           void *ud)
{
    json_error_t err;
    json_t *o = json_loadb(text, len, 0, &err);
    const char *key;
    json_t *v;
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    json_object_foreach(o, key, v)
    {
        if (json_is_string(v))
            fn(ud, key, json_string_value(v), json_string_length(v));
    }
    json_decref(o);
    return 0;
}

/* ------------------------------------------------------------------ diagnosis */

static json_t *interval(const struct ri_interval *iv)
{
    json_t *o = json_object();
    set_num(o, "est", iv->est);
    set_num(o, "lo", iv->lo);
    set_num(o, "hi", iv->hi);
    return o;
}

static json_t *wr_cell(const struct ri_wr_cell *c)
{
    json_t *o = json_object();
    set_u64(o, "won", c->won);
    set_u64(o, "lost", c->lost);
    json_object_set_new(o, "win_rate", interval(&c->rate));
    set_num(o, "won_amount", c->won_amount);
    set_num(o, "acv_mean", c->acv_mean);
    set_num(o, "acv_median", c->acv_median);
    set_num(o, "cycle_mean_days", c->cycle_mean);
    set_num(o, "cycle_median_days", c->cycle_median);
    set_num(o, "cycle_p90_days", c->cycle_p90);
    set_u64(o, "late_stage_closed", c->late_closed);
    json_object_set_new(o, "quality", interval(&c->quality));
    set_num(o, "efficiency", c->efficiency);
    json_object_set_new(o, "small", json_boolean(c->small));
    return o;
}

static json_t *seg_tables(const struct ri_diagnosis *d, struct ri_wr_cell *const *cells)
{
    json_t *o = json_object();
    for (size_t k = 0; k < d->n_seg_tables; k++) {
        const struct ri_dim *dim = &d->frame.dims[k];
        json_t *a = json_array();
        for (size_t v = 0; cells[k] && v < dim->values.n; v++) {
            json_t *c;
            if (!cells[k][v].won && !cells[k][v].lost)
                continue;
            c = wr_cell(&cells[k][v]);
            json_object_set_new(c, "value", json_string(ri_intern_str(&dim->values, (int32_t)v)));
            json_array_append_new(a, c);
        }
        json_object_set_new(o, dim->name, a);
    }
    return o;
}

static json_t *decomposition(const struct ri_diagnosis *d)
{
    json_t *o = json_object(), *dims = json_array();
    if (d->p0 >= 0 && d->p1 >= 0) {
        json_object_set_new(o, "from_period", json_string(d->periods[d->p0].label));
        json_object_set_new(o, "to_period", json_string(d->periods[d->p1].label));
    }
    for (size_t j = 0; j < d->n_decomp; j++) {
        const struct ri_decomp_dim *dd = &d->decomp[j];
        json_t *x = json_object(), *rows = json_array();
        json_object_set_new(x, "dimension", json_string(dd->name));
        set_num(x, "mix", dd->mix);
        set_num(x, "rate", dd->rate);
        set_num(x, "interaction", dd->interaction);
        set_num(x, "total", dd->total);
        for (size_t r = 0; r < dd->n_rows; r++) {
            const struct ri_decomp_row *w = &dd->rows[r];
            json_t *y = json_object();
            json_object_set_new(y, "segment", json_string(w->label));
            set_u64(y, "n0", w->n0);
            set_u64(y, "won0", w->w0);
            set_u64(y, "n1", w->n1);
            set_u64(y, "won1", w->w1);
            set_num(y, "rate0", w->r0);
            set_num(y, "rate1", w->r1);
            set_num(y, "share0", w->m0);
            set_num(y, "share1", w->m1);
            set_num(y, "mix", w->mix);
            set_num(y, "rate", w->rate);
            set_num(y, "interaction", w->interaction);
            set_num(y, "total", w->total);
            set_num(y, "p", w->p);
            set_num(y, "q", w->q);
            json_object_set_new(y, "small", json_boolean(w->small));
            json_object_set_new(y, "significant", json_boolean(w->significant));
            json_array_append_new(rows, y);
        }
        json_object_set_new(x, "segments", rows);
        json_array_append_new(dims, x);
    }
    json_object_set_new(o, "dimensions", dims);
    return o;
}

static json_t *funnel(const struct ri_diagnosis *d)
{
    const struct ri_funnel *f = &d->funnel;
    json_t *o = json_object(), *st = json_array();
    set_u64(o, "cohort", f->cohort);
    set_u64(o, "won", f->won);
    set_u64(o, "lost", f->lost);
    set_u64(o, "without_history", f->no_history);
    for (size_t k = 0; k < f->n_stages; k++) {
        const struct ri_funnel_stage *s = &f->stages[k];
        json_t *x = json_object();
        json_object_set_new(x, "stage", json_string(s->name));
        set_u64(x, "reached", s->reached);
        set_u64(x, "advanced", s->advanced);
        json_object_set_new(x, "conversion", interval(&s->conversion));
        set_u64(x, "won", s->won);
        json_object_set_new(x, "win_rate", interval(&s->win_rate));
        set_u64(x, "exits", s->exits);
        set_u64(x, "lost_exits", s->lost_exits);
        json_object_set_new(x, "loss_rate_of_reached", interval(&s->loss_rate));
        set_num(x, "share_of_losses", s->lost_share);
        set_num(x, "dwell_won_median_days", s->dwell_won_median);
        set_num(x, "dwell_won_p90_days", s->dwell_won_p90);
        set_num(x, "dwell_lost_median_days", s->dwell_lost_median);
        set_num(x, "dwell_lost_p90_days", s->dwell_lost_p90);
        json_array_append_new(st, x);
    }
    json_object_set_new(o, "stages", st);
    set_u64(o, "skip_paths", f->skip_n);
    json_object_set_new(o, "skip_win_rate", interval(&f->skip_wr));
    set_u64(o, "regression_paths", f->regress_n);
    json_object_set_new(o, "regression_win_rate", interval(&f->regress_wr));
    set_u64(o, "clean_paths", f->clean_n);
    json_object_set_new(o, "clean_win_rate", interval(&f->clean_wr));
    set_num(o, "loss_chisq", f->loss_chisq);
    set_num(o, "loss_p", f->loss_p);
    json_object_set_new(o, "loss_stage",
                        f->loss_stage >= 0 && (size_t)f->loss_stage < f->n_stages
                            ? json_string(f->stages[f->loss_stage].name)
                            : json_null());
    json_object_set_new(o, "losses_concentrated", json_boolean(f->losses_concentrated));
    return o;
}

static json_t *cycle_row(const struct ri_cycle_row *r)
{
    json_t *o = json_object();
    set_u64(o, "deals", r->n);
    set_u64(o, "closed", r->closed);
    json_object_set_new(o, "median_days", interval(&r->median));
    json_object_set_new(o, "p90_days", interval(&r->p90));
    set_num(o, "closed_mean_days", r->closed_mean);
    set_num(o, "closed_median_days", r->closed_median);
    set_num(o, "closed_p90_days", r->closed_p90);
    return o;
}

static json_t *cycle(const struct ri_diagnosis *d)
{
    const struct ri_cycle_report *c = &d->cycle;
    json_t *o = json_object(), *seg = json_object(), *stg = json_object();
    json_object_set_new(o, "all", cycle_row(&c->all));
    for (size_t k = 0; k < c->n_seg && d->cycle_dim >= 0; k++)
        json_object_set_new(seg,
                            ri_intern_str(&d->frame.dims[d->cycle_dim].values, c->by_seg[k].key),
                            cycle_row(&c->by_seg[k]));
    for (size_t k = 0; k < c->n_stage; k++)
        json_object_set_new(stg, ri_history_stage_name(d->hist, c->by_stage[k].key),
                            cycle_row(&c->by_stage[k]));
    json_object_set_new(o, "by_segment", seg);
    json_object_set_new(o, "segment_dimension",
                        d->cycle_dim >= 0 ? json_string(d->frame.dims[d->cycle_dim].name)
                                          : json_null());
    json_object_set_new(o, "by_stage", stg);
    return o;
}

static json_t *zombies(const struct ri_diagnosis *d)
{
    const struct ri_zombie_report *z = &d->zombies;
    json_t *o = json_object(), *a = json_array();
    set_u64(o, "open", z->open);
    set_u64(o, "overdue", z->overdue);
    set_u64(o, "stalled", z->stalled);
    set_u64(o, "zombies", z->zombies);
    set_num(o, "open_amount", z->open_amount);
    set_num(o, "zombie_amount", z->zombie_amount);
    set_num(o, "live_amount", z->live_amount);
    json_object_set_new(o, "win_rate_closed", interval(&z->win_rate_closed));
    json_object_set_new(o, "win_rate_counting_zombies_lost", interval(&z->win_rate_with_zombies));
    for (size_t k = 0; k < z->n_list; k++) {
        const struct ri_zombie *x = &z->list[k];
        json_t *y = json_object();
        json_object_set_new(y, "deal", json_string(ri_history_deal_id(d->hist, x->deal)));
        json_object_set_new(y, "stage",
                            x->stage >= 0 ? json_string(ri_history_stage_name(d->hist, x->stage))
                                          : json_null());
        set_num(y, "amount", x->amount);
        set_num(y, "days_overdue", x->days_overdue);
        set_num(y, "days_in_stage", x->days_in_stage);
        set_num(y, "stage_p90_days", x->stage_p90);
        json_object_set_new(y, "overdue", json_boolean(x->overdue));
        json_object_set_new(y, "stalled", json_boolean(x->stalled));
        json_array_append_new(a, y);
    }
    json_object_set_new(o, "largest", a);
    return o;
}

char *ri_diagnosis_json(const struct ri_diagnosis *d)
{
    json_t *o = json_object(), *periods = json_array(), *reps = json_array(), *conc;
    set_date(o, "as_of", d->as_of);
    json_object_set_new(o, "period", json_string(d->quarterly ? "quarter" : "month"));
    json_object_set_new(o, "segment_filter", d->filter[0] ? json_string(d->filter) : json_null());
    set_u64(o, "deals", d->deals);
    set_u64(o, "closed_in_window", d->closed);
    json_object_set_new(o, "headline", json_string(d->headline));
    json_object_set_new(o, "volume_vs_quality", json_string(d->volume_quality));
    json_object_set_new(o, "total", wr_cell(&d->total));
    for (size_t p = 0; p < d->n_periods; p++) {
        const struct ri_period_row *r = &d->periods[p];
        json_t *x = wr_cell(&r->cell);
        json_object_set_new(x, "period", json_string(r->label));
        set_date(x, "start", r->start);
        set_date(x, "end", r->end);
        json_object_set_new(x, "complete", json_boolean(r->complete));
        set_num(x, "p_change", r->change_p.est);
        set_u64(x, "created", r->created);
        set_num(x, "created_amount", r->created_amount);
        json_array_append_new(periods, x);
    }
    json_object_set_new(o, "periods", periods);
    if (d->reports & (RI_DIAG_WINRATE | RI_DIAG_DECOMPOSE | RI_DIAG_PIPELINE)) {
        json_object_set_new(o, "segments", seg_tables(d, d->seg_cells_all));
        if (d->p1 >= 0)
            json_object_set_new(o, "segments_last_period", seg_tables(d, d->seg_cells));
    }
    if ((d->reports & RI_DIAG_PIPELINE) && d->mix_dim >= 0 && d->created_by) {
        const struct ri_dim *md = &d->frame.dims[d->mix_dim];
        json_t *mix = json_object(), *rows = json_array();
        for (size_t p = 0; p < d->n_periods; p++) {
            json_t *r = json_object(), *c = json_object();
            for (size_t v = 0; v < md->values.n; v++)
                set_u64(c, ri_intern_str(&md->values, (int32_t)v),
                        d->created_by[p * md->values.n + v]);
            json_object_set_new(r, "period", json_string(d->periods[p].label));
            json_object_set_new(r, "created", c);
            json_array_append_new(rows, r);
        }
        json_object_set_new(mix, "dimension", json_string(md->name));
        json_object_set_new(mix, "periods", rows);
        json_object_set_new(o, "created_mix", mix);
    }
    if (d->reports & RI_DIAG_DECOMPOSE)
        json_object_set_new(o, "decomposition", decomposition(d));
    if (d->reports & RI_DIAG_FUNNEL)
        json_object_set_new(o, "funnel", funnel(d));
    if (d->reports & RI_DIAG_CYCLE)
        json_object_set_new(o, "cycle", cycle(d));
    if (d->reports & RI_DIAG_ZOMBIES)
        json_object_set_new(o, "zombies", zombies(d));
    if (d->reports & RI_DIAG_CONCENTRATION) {
        const struct ri_concentration *c = &d->conc;
        conc = json_object();
        set_u64(conc, "won_deals", c->won_deals);
        set_u64(conc, "customers", c->customers);
        set_num(conc, "top20_deals_share", c->top20_deals_share);
        set_num(conc, "top20_customers_share", c->top20_customers_share);
        set_num(conc, "gini_deals", c->gini_deals);
        set_num(conc, "gini_customers", c->gini_customers);
        set_num(conc, "repeat_customer_rate", c->repeat_customer_rate);
        set_num(conc, "cross_product_rate", c->cross_product_rate);
        set_num(conc, "tail_xmin", c->fit.xmin);
        set_u64(conc, "tail_n", c->fit.n_tail);
        set_num(conc, "powerlaw_alpha", c->fit.alpha);
        set_num(conc, "lognormal_mu", c->fit.mu);
        set_num(conc, "lognormal_sigma", c->fit.sigma);
        set_num(conc, "exponential_rate", c->fit.lambda);
        set_num(conc, "p_lognormal_vs_powerlaw", c->fit.p_ln_vs_pl);
        set_num(conc, "p_lognormal_vs_exponential", c->fit.p_ln_vs_exp);
        set_num(conc, "p_powerlaw_vs_exponential", c->fit.p_pl_vs_exp);
        json_object_set_new(conc, "best_fit", json_string(c->fit.best));
        set_u64(conc, "implementation_lag_n", c->lag_n);
        set_num(conc, "implementation_lag_median_days", c->lag_median);
        set_num(conc, "implementation_lag_p90_days", c->lag_p90);
        json_object_set_new(o, "concentration", conc);
    }
    for (size_t k = 0; k < d->n_reps; k++) {
        const struct ri_rep_row *r = &d->reps[k];
        json_t *x = wr_cell(&r->cell);
        json_object_set_new(x, "rep", json_string(r->name));
        set_num(x, "expected_win_rate", r->expected_rate);
        set_num(x, "z", r->z);
        set_num(x, "p", r->p);
        set_num(x, "q", r->q);
        json_object_set_new(x, "flagged", json_boolean(r->flagged));
        json_array_append_new(reps, x);
    }
    if (d->reports & RI_DIAG_REPS)
        json_object_set_new(o, "reps", reps);
    else
        json_decref(reps);
    return dump(o);
}
