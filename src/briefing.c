/*
 * briefing.c - the diagnosis as an analyst's briefing (text) and as CSV tables.
 *
 * The briefing leads with the headline (the change, its test, how much of it is mix and
 * how much rate, the biggest driver), states whether the problem is quantity or quality,
 * then gives the tables. Rates are percentages with their 95 % intervals; segments too
 * small to judge are marked and never ranked. The CSV output has one section per table,
 * each with its own header, and neutralises cells that a spreadsheet would execute.
 */
#include "diagnose.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    unsigned bit;
} report_names[] = {
    {"winrate", RI_DIAG_WINRATE}, {"decompose", RI_DIAG_DECOMPOSE},
    {"funnel", RI_DIAG_FUNNEL},   {"pipeline", RI_DIAG_PIPELINE},
    {"cycle", RI_DIAG_CYCLE},     {"concentration", RI_DIAG_CONCENTRATION},
    {"zombies", RI_DIAG_ZOMBIES}, {"reps", RI_DIAG_REPS},
};

unsigned ri_diag_report_parse(const char *name)
{
    for (size_t k = 0; k < RI_ARRAY_SIZE(report_names); k++)
        if (!strcmp(name, report_names[k].name))
            return report_names[k].bit;
    return 0;
}

const char *ri_diagnosis_headline(const struct ri_diagnosis *d)
{
    return d->headline;
}

int ri_diagnosis_findings(const struct ri_diagnosis *d)
{
    if (d->p0 >= 0 && d->p1 >= 0) {
        const struct ri_wr_cell *a = &d->periods[d->p0].cell, *b = &d->periods[d->p1].cell;
        if (b->rate.est < a->rate.est &&
            ri_two_prop_test(a->won, a->won + a->lost, b->won, b->won + b->lost, NULL) < 0.05)
            return 1;
    }
    for (size_t j = 0; j < d->n_decomp; j++)
        for (size_t r = 0; r < d->decomp[j].n_rows; r++)
            if (d->decomp[j].rows[r].significant && d->decomp[j].rows[r].rate < 0)
                return 1;
    for (size_t k = 0; k < d->n_reps; k++)
        if (d->reps[k].flagged && d->reps[k].z < 0)
            return 1;
    return d->zombies.zombies > 0;
}

/* ------------------------------------------------------------------ text */

static void pct(struct ri_buf *b, const struct ri_interval *iv)
{
    if (isnan(iv->est))
        ri_buf_adds(b, "      n/a          ");
    else
        ri_buf_addf(b, "%5.1f%% [%4.1f-%4.1f]", 100 * iv->est, 100 * iv->lo, 100 * iv->hi);
}

static void num(struct ri_buf *b, double v, int width, int prec)
{
    if (isnan(v))
        ri_buf_addf(b, "%*s", width, "-");
    else
        ri_buf_addf(b, "%*.*f", width, prec, v);
}

static void text_periods(struct ri_buf *b, const struct ri_diagnosis *d)
{
    ri_buf_addf(b, "\nWin rate by %s of close (closed deals)\n",
                d->quarterly ? "quarter" : "month");
    ri_buf_addf(b, "  %-8s %7s %6s  %-20s %7s %10s %10s %7s %6s  %-20s %8s\n", "period", "closed",
                "won", "win rate [95% CI]", "p(chg)", "ACV mean", "ACV med", "cycle", "P90",
                "quality [95% CI]", "created");
    for (size_t p = 0; p < d->n_periods; p++) {
        const struct ri_period_row *r = &d->periods[p];
        const struct ri_wr_cell *c = &r->cell;
        ri_buf_addf(b, "  %-8s %7llu %6llu  ", r->label, (unsigned long long)(c->won + c->lost),
                    (unsigned long long)c->won);
        pct(b, &c->rate);
        num(b, r->change_p.est, 8, 3);
        num(b, c->acv_mean, 11, 0);
        num(b, c->acv_median, 11, 0);
        num(b, c->cycle_median, 8, 0);
        num(b, c->cycle_p90, 7, 0);
        ri_buf_adds(b, "  ");
        pct(b, &c->quality);
        ri_buf_addf(b, " %8llu%s\n", (unsigned long long)r->created,
                    r->complete ? "" : "  (partial)");
    }
}

static void text_created_mix(struct ri_buf *b, const struct ri_diagnosis *d)
{
    const struct ri_dim *md;
    size_t nv, shown;
    if (d->mix_dim < 0 || !d->created_by || !d->n_periods)
        return;
    md = &d->frame.dims[d->mix_dim];
    nv = md->values.n;
    shown = nv < 8 ? nv : 8;
    ri_buf_addf(b, "\nMix of created pipeline by %s (share of deals created in the period)\n  %-8s",
                md->name, "period");
    for (size_t v = 0; v < shown; v++)
        ri_buf_addf(b, " %12.12s", ri_intern_str(&md->values, (int32_t)v));
    ri_buf_addc(b, '\n');
    for (size_t p = 0; p < d->n_periods; p++) {
        uint64_t tot = 0;
        for (size_t v = 0; v < nv; v++)
            tot += d->created_by[p * nv + v];
        if (!tot)
            continue;
        ri_buf_addf(b, "  %-8s", d->periods[p].label);
        for (size_t v = 0; v < shown; v++)
            ri_buf_addf(b, " %11.1f%%", 100.0 * (double)d->created_by[p * nv + v] / (double)tot);
        ri_buf_addc(b, '\n');
    }
}

static void text_decomp_dim(struct ri_buf *b, const struct ri_diagnosis *d,
                            const struct ri_decomp_dim *dd, size_t max_rows)
{
    size_t shown = 0, small = 0;
    ri_buf_addf(b, "\n  %s: mix %+.2f + rate %+.2f + interaction %+.2f = %+.2f points\n", dd->name,
                100 * dd->mix, 100 * dd->rate, 100 * dd->interaction, 100 * dd->total);
    ri_buf_addf(b, "    %-44s %6s %6s %6s %6s %7s %7s %7s %7s %8s\n", "segment", "n0", "rate0",
                "n1", "rate1", "mix", "rate", "inter", "total", "q");
    for (size_t r = 0; r < dd->n_rows; r++) {
        const struct ri_decomp_row *w = &dd->rows[r];
        if (w->small) {
            small++;
            continue;
        }
        if (shown++ >= max_rows)
            continue;
        ri_buf_addf(
            b, "    %-44.44s %6llu %5.1f%% %6llu %5.1f%% %+7.2f %+7.2f %+7.2f %+7.2f %8.2g%s\n",
            w->label, (unsigned long long)w->n0, 100 * w->r0, (unsigned long long)w->n1,
            100 * w->r1, 100 * w->mix, 100 * w->rate, 100 * w->interaction, 100 * w->total, w->q,
            w->significant ? " *" : "");
    }
    if (shown > max_rows)
        ri_buf_addf(b, "    ... %zu more segments (--format json or csv for all)\n",
                    shown - max_rows);
    if (small)
        ri_buf_addf(b,
                    "    %zu segment(s) with fewer than %zu closed deals in a period: shown in "
                    "JSON/CSV, not ranked\n",
                    small, d->min_n);
}

static void text_decomposition(struct ri_buf *b, const struct ri_diagnosis *d)
{
    if (d->p0 < 0 || d->p1 < 0 || !d->n_decomp)
        return;
    ri_buf_addf(b,
                "\nWhy it changed: %s -> %s, per dimension (points of win rate; * = significant "
                "after Benjamini-Hochberg, q < 0.05)\n",
                d->periods[d->p0].label, d->periods[d->p1].label);
    for (size_t j = 0; j < d->n_decomp; j++)
        text_decomp_dim(b, d, &d->decomp[j], d->decomp[j].dim_b >= 0 ? 8 : 6);
}

static void text_funnel(struct ri_buf *b, const struct ri_diagnosis *d)
{
    const struct ri_funnel *f = &d->funnel;
    if (!f->cohort)
        return;
    if (f->no_history == f->cohort || !f->n_stages) {
        ri_buf_addf(b,
                    "\nStage funnel: none of the %llu closed deals has a stage history "
                    "(ingest one, or export snapshots over time)\n",
                    (unsigned long long)f->cohort);
        return;
    }
    ri_buf_addf(b,
                "\nStage funnel of the %llu deals closed in the window (%llu won, %llu lost; "
                "%llu without a stage path)\n",
                (unsigned long long)f->cohort, (unsigned long long)f->won,
                (unsigned long long)f->lost, (unsigned long long)f->no_history);
    ri_buf_addf(b, "  %-22s %8s  %-20s %7s %7s  %-20s %7s %9s %9s\n", "stage", "reached",
                "moved on [95% CI]", "exits", "lost", "lost here / reached", "share", "dwell won",
                "dwell lost");
    for (size_t k = 0; k < f->n_stages; k++) {
        const struct ri_funnel_stage *s = &f->stages[k];
        ri_buf_addf(b, "  %-22.22s %8llu  ", s->name, (unsigned long long)s->reached);
        pct(b, &s->conversion);
        ri_buf_addf(b, " %7llu %7llu  ", (unsigned long long)s->exits,
                    (unsigned long long)s->lost_exits);
        pct(b, &s->loss_rate);
        ri_buf_addf(b, " %6.1f%%", 100 * (isnan(s->lost_share) ? 0 : s->lost_share));
        num(b, s->dwell_won_median, 10, 0);
        num(b, s->dwell_lost_median, 10, 0);
        ri_buf_addc(b, '\n');
    }
    if (f->loss_stage >= 0 && (size_t)f->loss_stage < f->n_stages)
        ri_buf_addf(b,
                    "  Losses %s concentrated: the highest share of the deals reaching a stage is "
                    "lost at %s (chi-square = %.1f, p = %.2g)\n",
                    f->losses_concentrated ? "are" : "are not significantly",
                    f->stages[f->loss_stage].name, f->loss_chisq, f->loss_p);
    ri_buf_adds(b, "  Paths: with a skipped stage ");
    pct(b, &f->skip_wr);
    ri_buf_addf(b, " of %llu; with a regression ", (unsigned long long)f->skip_n);
    pct(b, &f->regress_wr);
    ri_buf_addf(b, " of %llu; neither ", (unsigned long long)f->regress_n);
    pct(b, &f->clean_wr);
    ri_buf_addf(b, " of %llu\n", (unsigned long long)f->clean_n);
}

static void text_cycle(struct ri_buf *b, const struct ri_diagnosis *d)
{
    const struct ri_cycle_report *c = &d->cycle;
    if (!c->all.n)
        return;
    ri_buf_addf(b, "\nSales cycle in days (Kaplan-Meier; deals still open are censored at their "
                   "age)\n");
    ri_buf_addf(b, "  %-30s %8s %8s  %-22s %-22s %12s\n", "", "deals", "closed", "median [95% CI]",
                "P90 [95% CI]", "closed only");
    for (size_t k = 0; k <= c->n_seg; k++) {
        const struct ri_cycle_row *r = k == 0 ? &c->all : &c->by_seg[k - 1];
        char name[64];
        if (k == 0)
            snprintf(name, sizeof(name), "all deals");
        else
            snprintf(name, sizeof(name), "%s=%s", d->frame.dims[d->cycle_dim].name,
                     ri_intern_str(&d->frame.dims[d->cycle_dim].values, r->key));
        ri_buf_addf(b, "  %-30.30s %8llu %8llu  ", name, (unsigned long long)r->n,
                    (unsigned long long)r->closed);
        num(b, r->median.est, 5, 0);
        ri_buf_adds(b, " [");
        num(b, r->median.lo, 4, 0);
        ri_buf_adds(b, "-");
        num(b, r->median.hi, 4, 0);
        ri_buf_adds(b, "]       ");
        num(b, r->p90.est, 5, 0);
        ri_buf_adds(b, " [");
        num(b, r->p90.lo, 4, 0);
        ri_buf_adds(b, "-");
        num(b, r->p90.hi, 4, 0);
        ri_buf_adds(b, "]  ");
        num(b, r->closed_median, 12, 0);
        ri_buf_addc(b, '\n');
    }
}

static void text_zombies(struct ri_buf *b, const struct ri_diagnosis *d)
{
    const struct ri_zombie_report *z = &d->zombies;
    if (!z->open)
        return;
    ri_buf_addf(b,
                "\nZombies: %llu of %llu open deals (%llu past their close date, %llu stalled "
                "past the P90 dwell of won deals); %.0f of %.0f open amount; live pipeline "
                "%.0f\n",
                (unsigned long long)z->zombies, (unsigned long long)z->open,
                (unsigned long long)z->overdue, (unsigned long long)z->stalled, z->zombie_amount,
                z->open_amount, z->live_amount);
    ri_buf_adds(b, "  Win rate of deals created in the last 12 months: closed only ");
    pct(b, &z->win_rate_closed);
    ri_buf_adds(b, ", counting zombies as lost ");
    pct(b, &z->win_rate_with_zombies);
    ri_buf_addc(b, '\n');
    for (size_t k = 0; k < z->n_list && k < 5; k++) {
        const struct ri_zombie *x = &z->list[k];
        ri_buf_addf(b, "  %-16s %-20s %12.0f  %s%.0f days overdue, %.0f days in stage\n",
                    ri_history_deal_id(d->hist, x->deal), ri_history_stage_name(d->hist, x->stage),
                    x->amount, x->stalled ? "stalled, " : "", x->days_overdue, x->days_in_stage);
    }
}

static void text_concentration(struct ri_buf *b, const struct ri_diagnosis *d)
{
    const struct ri_concentration *c = &d->conc;
    if (!c->won_deals)
        return;
    ri_buf_addf(b, "\nRevenue concentration over %llu won deals and %llu customers\n",
                (unsigned long long)c->won_deals, (unsigned long long)c->customers);
    ri_buf_addf(b,
                "  top 20 %% of deals: %.1f %% of revenue (Gini %.2f); top 20 %% of customers: "
                "%.1f %% (Gini %.2f)\n",
                100 * c->top20_deals_share, c->gini_deals, 100 * c->top20_customers_share,
                c->gini_customers);
    ri_buf_addf(b,
                "  repeat customers %.1f %%, cross-product buyers %.1f %%; deal sizes above "
                "%.0f: %s (%zu deals)\n",
                100 * c->repeat_customer_rate, 100 * c->cross_product_rate, c->fit.xmin,
                c->fit.best, c->fit.n_tail);
    if (c->lag_n)
        ri_buf_addf(b,
                    "  implementation lag (start - close) of %llu won deals: median %.0f days, "
                    "P90 %.0f\n",
                    (unsigned long long)c->lag_n, c->lag_median, c->lag_p90);
    else
        ri_buf_adds(b, "  implementation lag: no start date in the data (a custom column such as "
                       "start_date or go_live)\n");
}

static void text_reps(struct ri_buf *b, const struct ri_diagnosis *d)
{
    size_t shown = 0;
    if (!d->n_reps)
        return;
    ri_buf_addf(b, "\nReps against their segment mix (expected = other reps' win rate in the same "
                   "segments)\n");
    ri_buf_addf(b, "  %-24s %7s  %-20s %9s %7s %8s\n", "rep", "closed", "win rate [95% CI]",
                "expected", "z", "q");
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < d->n_reps; k++) {
            const struct ri_rep_row *r = &d->reps[k];
            if ((pass == 0) != (r->flagged != 0) || shown >= 12)
                continue;
            shown++;
            ri_buf_addf(b, "  %-24.24s %7llu  ", r->name,
                        (unsigned long long)(r->cell.won + r->cell.lost));
            pct(b, &r->cell.rate);
            ri_buf_addf(b, " %8.1f%% %+7.2f %8.2g%s\n", 100 * r->expected_rate, r->z, r->q,
                        r->flagged      ? " *"
                        : r->cell.small ? "  (small)"
                                        : "");
        }
    if (d->n_reps > shown)
        ri_buf_addf(b, "  ... %zu more reps (--format json or csv)\n", d->n_reps - shown);
}

char *ri_diagnosis_text(const struct ri_diagnosis *d)
{
    struct ri_buf b = RI_BUF_INIT;
    char day[16];
    ri_format_date(d->as_of, day, sizeof(day));
    ri_buf_addf(&b, "%s\n", d->headline);
    if (!d->closed)
        return ri_buf_detach(&b, NULL);
    if (d->volume_quality[0])
        ri_buf_addf(&b, "%s\n", d->volume_quality);
    ri_buf_addf(&b, "(as of %s; %llu deals, %llu closed in the window%s%s)\n", day,
                (unsigned long long)d->deals, (unsigned long long)d->closed,
                d->filter[0] ? "; segment " : "", d->filter);
    if (d->reports & (RI_DIAG_WINRATE | RI_DIAG_PIPELINE))
        text_periods(&b, d);
    if (d->reports & RI_DIAG_PIPELINE)
        text_created_mix(&b, d);
    if (d->reports & RI_DIAG_DECOMPOSE)
        text_decomposition(&b, d);
    if (d->reports & RI_DIAG_FUNNEL)
        text_funnel(&b, d);
    if (d->reports & RI_DIAG_CYCLE)
        text_cycle(&b, d);
    if (d->reports & RI_DIAG_ZOMBIES)
        text_zombies(&b, d);
    if (d->reports & RI_DIAG_CONCENTRATION)
        text_concentration(&b, d);
    if (d->reports & RI_DIAG_REPS)
        text_reps(&b, d);
    return ri_buf_detach(&b, NULL);
}

/* ------------------------------------------------------------------ CSV */

static void csv_cell(struct ri_buf *b, const char *s)
{
    int quote = strpbrk(s, ",\"\n\r") != NULL;
    /* a leading = + - @ would be run as a formula by a spreadsheet */
    int formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    ri_buf_addc(b, ',');
    if (quote || formula)
        ri_buf_addc(b, '"');
    if (formula)
        ri_buf_addc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            ri_buf_addc(b, '"');
        ri_buf_addc(b, *p);
    }
    if (quote || formula)
        ri_buf_addc(b, '"');
}

static void csv_num(struct ri_buf *b, double v)
{
    if (isnan(v))
        ri_buf_addc(b, ',');
    else
        ri_buf_addf(b, ",%.6g", v);
}

char *ri_diagnosis_csv(const struct ri_diagnosis *d)
{
    struct ri_buf b = RI_BUF_INIT;
    ri_buf_adds(&b, "table,period,won,lost,win_rate,win_rate_lo,win_rate_hi,p_change,acv_mean,"
                    "acv_median,cycle_median,cycle_p90,quality,created,created_amount\n");
    for (size_t p = 0; p < d->n_periods; p++) {
        const struct ri_period_row *r = &d->periods[p];
        ri_buf_adds(&b, "periods");
        csv_cell(&b, r->label);
        ri_buf_addf(&b, ",%llu,%llu", (unsigned long long)r->cell.won,
                    (unsigned long long)r->cell.lost);
        csv_num(&b, r->cell.rate.est);
        csv_num(&b, r->cell.rate.lo);
        csv_num(&b, r->cell.rate.hi);
        csv_num(&b, r->change_p.est);
        csv_num(&b, r->cell.acv_mean);
        csv_num(&b, r->cell.acv_median);
        csv_num(&b, r->cell.cycle_median);
        csv_num(&b, r->cell.cycle_p90);
        csv_num(&b, r->cell.quality.est);
        ri_buf_addf(&b, ",%llu", (unsigned long long)r->created);
        csv_num(&b, r->created_amount);
        ri_buf_addc(&b, '\n');
    }
    ri_buf_adds(&b, "\ntable,dimension,segment,n0,w0,n1,w1,rate0,rate1,mix,rate,interaction,"
                    "total,p,q,small,significant\n");
    for (size_t j = 0; j < d->n_decomp; j++) {
        const struct ri_decomp_dim *dd = &d->decomp[j];
        for (size_t r = 0; r < dd->n_rows; r++) {
            const struct ri_decomp_row *w = &dd->rows[r];
            ri_buf_adds(&b, "decomposition");
            csv_cell(&b, dd->name);
            csv_cell(&b, w->label);
            ri_buf_addf(&b, ",%llu,%llu,%llu,%llu", (unsigned long long)w->n0,
                        (unsigned long long)w->w0, (unsigned long long)w->n1,
                        (unsigned long long)w->w1);
            csv_num(&b, w->r0);
            csv_num(&b, w->r1);
            csv_num(&b, w->mix);
            csv_num(&b, w->rate);
            csv_num(&b, w->interaction);
            csv_num(&b, w->total);
            csv_num(&b, w->p);
            csv_num(&b, w->q);
            ri_buf_addf(&b, ",%d,%d\n", w->small, w->significant);
        }
    }
    ri_buf_adds(&b, "\ntable,dimension,segment,won,lost,win_rate,win_rate_lo,win_rate_hi,"
                    "acv_mean,cycle_median,quality,efficiency,small\n");
    for (size_t k = 0; k < d->n_seg_tables; k++) {
        const struct ri_dim *dim = &d->frame.dims[k];
        for (size_t v = 0; d->seg_cells_all[k] && v < dim->values.n; v++) {
            const struct ri_wr_cell *c = &d->seg_cells_all[k][v];
            if (!c->won && !c->lost)
                continue;
            ri_buf_adds(&b, "segments");
            csv_cell(&b, dim->name);
            csv_cell(&b, ri_intern_str(&dim->values, (int32_t)v));
            ri_buf_addf(&b, ",%llu,%llu", (unsigned long long)c->won, (unsigned long long)c->lost);
            csv_num(&b, c->rate.est);
            csv_num(&b, c->rate.lo);
            csv_num(&b, c->rate.hi);
            csv_num(&b, c->acv_mean);
            csv_num(&b, c->cycle_median);
            csv_num(&b, c->quality.est);
            csv_num(&b, c->efficiency);
            ri_buf_addf(&b, ",%d\n", c->small);
        }
    }
    ri_buf_adds(&b, "\ntable,rep,won,lost,win_rate,expected,z,q,flagged\n");
    for (size_t k = 0; k < d->n_reps; k++) {
        const struct ri_rep_row *r = &d->reps[k];
        ri_buf_adds(&b, "reps");
        csv_cell(&b, r->name);
        ri_buf_addf(&b, ",%llu,%llu", (unsigned long long)r->cell.won,
                    (unsigned long long)r->cell.lost);
        csv_num(&b, r->cell.rate.est);
        csv_num(&b, r->expected_rate);
        csv_num(&b, r->z);
        csv_num(&b, r->q);
        ri_buf_addf(&b, ",%d\n", r->flagged);
    }
    return ri_buf_detach(&b, NULL);
}
