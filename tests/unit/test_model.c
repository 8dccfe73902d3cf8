/*
 * test_model.c - the risk model end to end: train, score, explain on a simulated
 * pipeline, and the static data sets of ../shared/data (k-fold, leakage guard, a data set
 * without signal).
 */
#include "harness.h"

#include "fixture.h"

#include "featurize.h"
#include "frame.h"
#include "revintel.h"
#include "stats.h"
#include "store.h"
#include "ri_internal.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char sim_dir[64];

static void ingest(struct ri_ctx *c, const char *kind, const char *path, const char *mapping)
{
    struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report r;
    o.kind = (enum ri_ingest_kind)ri_ingest_kind_parse(kind);
    o.path = path;
    o.map = mapping;
    if (ri_ingest(c, &o, &r) != RI_OK)
        fprintf(stderr, "ingest %s: %s\n", path, ri_errmsg(c));
}

/* A store of 3,000 simulated deals (as of 2026-06-30), built once. */
static struct ri_ctx *sim_store(void)
{
    static int made;
    struct ri_ctx *c = ri_ctx_new();
    char path[160];
    if (!made)
        fx_simulate(sim_dir, "model", 3000, 3);
    snprintf(path, sizeof(path), "%s/t.db", sim_dir);
    if (ri_store_open(c, path, RI_OPEN_CREATE) != RI_OK)
        abort();
    if (!made) {
        snprintf(path, sizeof(path), "%s/opportunities.csv", sim_dir);
        ingest(c, "opportunities", path, NULL);
        snprintf(path, sizeof(path), "%s/stage_history.csv", sim_dir);
        ingest(c, "history", path, NULL);
        made = 1;
    }
    return c;
}

static struct ri_model_opts fast_opts(void)
{
    struct ri_model_opts o = RI_MODEL_OPTS_INIT;
    o.trees = 60;
    o.threads = 1;
    return o;
}

/* Training snapshots weigh the open time they stand for: within every deal the weights add
 * up to its life from creation to close, the same number of weight units per day for every
 * deal (checked against the frame's dates, not the snapshot moments), and all together to
 * the number of deals. */
TEST(snapshots_weigh_open_time)
{
    struct ri_ctx *c = sim_store();
    struct ri_history *h = NULL;
    struct ri_frame f;
    struct ri_attrs a;
    struct ri_featctx fc;
    struct ri_featset fs;
    struct ri_rows r;
    uint8_t *train;
    double *wsum, total = 0, per_day = -1, worst = 0;
    size_t deals = 0;
    ri_time before = 0;

    CHECK(ri_history_load(c, &h) == RI_OK);
    CHECK(ri_frame_load(c, &f) == RI_OK);
    CHECK(ri_attrs_load(c, f.n, &a) == RI_OK);
    ri_featctx_init(&fc, h, &f, &a, NULL);
    train = calloc(f.n + 1, 1);
    wsum = calloc(f.n + 1, sizeof(double));
    for (size_t i = 0; i < f.n; i++)
        if (f.close[i] != RI_TIME_NONE && f.close[i] > before)
            before = f.close[i];
    for (size_t i = 0; i < f.n; i++)
        train[i] = f.status[i] != RI_STATUS_OPEN && f.close[i] != RI_TIME_NONE;
    CHECK(ri_featset_choose(c, &fc, train, 0, 0, &fs) == RI_OK);
    CHECK(ri_rows_snapshots(c, &fc, &fs, before, NULL, NULL, 0, 1, &r) == RI_OK);
    CHECK(r.n > 1000);
    for (size_t k = 0; k < r.n; k++) {
        CHECK(r.w[k] > 0);
        wsum[r.deal[k]] += (double)r.w[k];
        total += (double)r.w[k];
    }
    for (size_t i = 0; i < f.n; i++) {
        double life = (double)(f.close[i] - f.created[i]) / 86400.0, d;
        if (!(wsum[i] > 0))
            continue;
        deals++;
        if (per_day < 0)
            per_day = wsum[i] / life;
        d = fabs(wsum[i] / life / per_day - 1);
        worst = d > worst ? d : worst;
    }
    CHECK(deals > 1000);
    CHECK(worst < 1e-3);
    CHECK(fabs(total / (double)deals - 1) < 1e-4);
    free(train);
    free(wsum);
    ri_rows_release(&r);
    ri_featset_release(&fs);
    ri_featctx_release(&fc);
    ri_attrs_release(&a);
    ri_frame_release(&f);
    ri_history_free(h);
    ri_ctx_free(c);
}

/* Trained by time on 3,000 simulated deals, the calibrated model ranks the deals open at
 * the cutoff well (AUC > 0.75 on this pipeline; the simulator's true probabilities have
 * strong segment and history effects) and says there is a signal. */
TEST(train_on_simulated_pipeline)
{
    struct ri_ctx *c = sim_store();
    struct ri_model_opts o = fast_opts();
    struct ri_model_report *r = NULL;
    REQUIRE(ri_train(c, &o, &r) == RI_OK);
    CHECK(r->model_id > 0);
    CHECK(r->signal == 1);
    CHECK(r->auc > 0.75);
    CHECK(strstr(r->text, "rep-entered probability") != NULL);
    CHECK(strstr(r->json, "\"protocol\":\"time\"") != NULL);
    {
        /* refitted after calibrating, the model keeps the trees its calibrator was fitted
         * on (the forecast's P(win) comes from them), and they differ from the refit */
        int64_t kept = -1;
        CHECK(ri_store_query_i64(c, ri_ctx_store(c),
                                 "SELECT booster_cal IS NOT NULL AND booster_cal <> booster "
                                 "FROM models WHERE active = 1",
                                 &kept) == RI_OK);
        CHECK_EQ_INT((long long)kept, 1);
    }
    ri_model_report_free(r);
    ri_ctx_free(c);
}

/* Sums the "contribution" and "other" numbers of a reasons JSON array. */
static double reasons_sum(const char *s)
{
    double sum = 0;
    const char *p = s;
    while ((p = strstr(p, "\"contribution\":")) != NULL) {
        p += strlen("\"contribution\":");
        sum += strtod(p, NULL);
    }
    p = strstr(s, "\"other\":");
    if (p)
        sum += strtod(p + strlen("\"other\":"), NULL);
    return sum;
}

/* Every scored deal: base + its reasons + the rest = its margin (exact TreeSHAP, float
 * precision); training again with the same seed and scoring gives byte-identical CSV; a
 * second run at the same as-of date replaces the first. */
TEST(score_reasons_add_up_and_repeat)
{
    struct ri_ctx *c = sim_store();
    struct ri_model_opts o = fast_opts();
    struct ri_model_report *r1 = NULL, *r2 = NULL;
    struct ri_stmt *s = NULL;
    char *csv1 = NULL, *csv2 = NULL;
    size_t rows = 0, bad = 0;
    int64_t runs = 0;

    REQUIRE(ri_score(c, &o, &csv1, &r1) == RI_OK);
    {
        /* the same seed trains the same model: retrain, rescore, same bytes */
        struct ri_model_report *t = NULL;
        REQUIRE(ri_train(c, &o, &t) == RI_OK);
        ri_model_report_free(t);
    }
    REQUIRE(ri_score(c, &o, &csv2, &r2) == RI_OK);
    CHECK(r1->n_scored > 100);
    CHECK_STR(csv1, csv2);
    REQUIRE(ri_stmt_prepare(c, ri_ctx_store(c), "SELECT margin, base, reasons FROM scores", &s) ==
            RI_OK);
    while (ri_stmt_step(c, s) == RI_OK) {
        double margin = ri_stmt_f64(s, 0), base = ri_stmt_f64(s, 1);
        const char *js = ri_stmt_text(s, 2, NULL);
        rows++;
        if (!(fabs(base + reasons_sum(js) - margin) < 1e-3))
            bad++;
    }
    ri_stmt_free(s);
    CHECK_EQ_INT(rows, r1->n_scored);
    CHECK_EQ_INT(bad, 0);
    CHECK(ri_store_query_i64(c, ri_ctx_store(c), "SELECT count(*) FROM score_runs", &runs) ==
          RI_OK);
    CHECK_EQ_INT(runs, 1);
    ri_string_free(csv1);
    ri_string_free(csv2);
    ri_model_report_free(r1);
    ri_model_report_free(r2);
    ri_ctx_free(c);
}

/* Deals scored in an earlier run that have closed since are checked against their
 * outcome: a run 120 days before the snapshot, then one at the snapshot. The figures
 * of the report are recomputed here from the scores table and the deals' outcomes. */
TEST(calibration_since_training)
{
    struct ri_ctx *c = sim_store();
    struct ri_model_opts o = fast_opts();
    struct ri_model_report *r = NULL;
    struct ri_stmt *s = NULL;
    ri_time snap = 0;
    int64_t closed = 0;
    char want[64];
    REQUIRE(ri_parse_date("2026-06-30", 10, RI_DATE_ISO, &snap) == RI_OK);
    o.as_of = snap - 120 * (ri_time)RI_DAY;
    REQUIRE(ri_score(c, &o, NULL, &r) == RI_OK);
    ri_model_report_free(r);
    o.as_of = RI_TIME_NONE;
    REQUIRE(ri_score(c, &o, NULL, &r) == RI_OK);
    REQUIRE(ri_stmt_prepare(c, ri_ctx_store(c),
                            "SELECT count(DISTINCT s.deal_id) FROM scores s JOIN score_runs r ON "
                            "r.id = s.run_id JOIN deals d ON d.id = s.deal_id WHERE r.as_of = ? "
                            "AND d.status IN ('won', 'lost')",
                            &s) == RI_OK);
    ri_stmt_bind_time(s, 1, snap - 120 * (ri_time)RI_DAY);
    if (ri_stmt_step(c, s) == RI_OK)
        closed = ri_stmt_i64(s, 0);
    ri_stmt_free(s);
    CHECK(closed >= 30);
    snprintf(want, sizeof(want), "\"since_training\":{\"closed\":%lld,", (long long)closed);
    CHECK(strstr(r->json, want) != NULL);
    CHECK(strstr(r->text, "Since training:") != NULL);
    ri_model_report_free(r);
    ri_ctx_free(c);
}

TEST(explain_an_open_deal)
{
    struct ri_ctx *c = sim_store();
    struct ri_model_opts o = fast_opts();
    struct ri_model_report *r = NULL;
    struct ri_stmt *s = NULL;
    char id[64] = "";
    REQUIRE(ri_stmt_prepare(c, ri_ctx_store(c),
                            "SELECT crm_id FROM v_scores ORDER BY p_win LIMIT 1", &s) == RI_OK);
    if (ri_stmt_step(c, s) == RI_OK)
        snprintf(id, sizeof(id), "%s", ri_stmt_text(s, 0, NULL));
    ri_stmt_free(s);
    REQUIRE(id[0]);
    REQUIRE(ri_explain(c, &o, id, &r) == RI_OK);
    CHECK(strstr(r->text, "Reasons:") != NULL);
    CHECK(strstr(r->text, "Most similar closed-lost deals:") != NULL);
    CHECK(strstr(r->text, "Next best action:") != NULL);
    CHECK(strstr(r->json, "\"similar_lost\":[{") != NULL);
    ri_model_report_free(r);
    CHECK(ri_explain(c, &o, "NO-SUCH-DEAL", &r) == RI_ERR_NOTFOUND);
    ri_ctx_free(c);
}

/* The forecast: a seed gives the same bytes; the mean of the Monte Carlo paths agrees with
 * the analytic expectation within sampling error (4 standard errors, the standard
 * deviation of the paths read from their P10-P90 spread as a normal's 2.563 sd); and
 * dropping the deal with the largest expected contribution lowers the expectation by that
 * contribution (what-if against the base, same seed), to within the period shock's
 * curvature. */
TEST(forecast_monte_carlo)
{
    struct ri_ctx *c = sim_store();
    struct ri_forecast_opts o = RI_FORECAST_OPTS_INIT;
    struct ri_forecast_report *r1 = NULL, *r2 = NULL, *w = NULL;
    char id[64] = "";
    double top = 0;
    o.sims = 4000;
    o.save = 0;
    REQUIRE(ri_forecast(c, &o, &r1) == RI_OK);
    REQUIRE(ri_forecast(c, &o, &r2) == RI_OK);
    CHECK_STR(r1->json, r2->json);
    for (int k = 0; k < 2; k++) {
        const struct ri_forecast_period *p = &r1->period[k];
        double se = (p->p90 - p->p10) / 2.563 / sqrt((double)o.sims);
        CHECK(p->p10 <= p->p50 && p->p50 <= p->p90);
        CHECK(fabs(p->mc_mean - p->expected) <= 4 * se + 1e-6);
        CHECK_NEAR(p->expected, p->won_so_far + p->open_expected + p->new_expected, 1e-3);
        /* the recent change is applied: none found, the same as before it; declines only,
         * lower than before it */
        if (strstr(r1->json, "\"segments\":[]},"))
            CHECK_NEAR(p->open_before_change, p->open_expected, 1e-6 * p->open_expected);
        else if (!strstr(r1->json, "\"factor\":1.") && !strstr(r1->json, "\"factor\":2."))
            CHECK(p->open_before_change > p->open_expected);
    }
    CHECK(strstr(r1->json, "\"recent_change\":{\"since\":\"") != NULL);
    CHECK(strstr(r1->text, "Recent change:") != NULL);
    {
        const char *l = strstr(r1->json, "\"largest\":[{\"id\":\"");
        REQUIRE(l);
        l += strlen("\"largest\":[{\"id\":\"");
        snprintf(id, sizeof(id), "%.*s", (int)(strchr(l, '"') - l), l);
        top = strtod(strstr(l, "\"expected\":") + strlen("\"expected\":"), NULL);
    }
    o.drop_deal = id;
    REQUIRE(ri_forecast(c, &o, &w) == RI_OK);
    REQUIRE(w->has_whatif);
    /* exact without a period shock; with one, the deal's mean over the shocks differs from
     * its unshocked q x amount by the curvature of the logistic only (well under 1 %) */
    CHECK_NEAR(r1->period[0].expected - w->whatif[0].expected, top, 0.01 + 0.01 * top);
    ri_forecast_report_free(r1);
    ri_forecast_report_free(r2);
    ri_forecast_report_free(w);
    ri_ctx_free(c);
}

/* The model's error widens the range and does not move it. With --model-error 0 the paths
 * hold the deals' own chance and the period shock; with sigma = 0.2, each block of paths
 * multiplies every closing chance by its factor, so the variance of the open deals' revenue
 * grows by F mu^2, F the variance of the 20 blocks' factors exp(0.2 z_g) scaled to mean 1
 * (computed here from the normal quantiles; the path sd read from P10-P90 as a normal's
 * 2.563 sd, so within 25 %). The estimate is judged on the store's 4 past quarters; on
 * this small store the deals' own noise in those quarters hides any model error (0). */
TEST(forecast_model_error)
{
    struct ri_ctx *c = sim_store();
    struct ri_forecast_opts o = RI_FORECAST_OPTS_INIT;
    struct ri_forecast_report *r0 = NULL, *r2 = NULL, *re = NULL;
    double f[20], fs = 0, F = 0, s0, s2, mu, want, est;
    const char *me;
    o.sims = 4000;
    o.save = 0;
    REQUIRE(ri_forecast(c, &o, &re) == RI_OK);
    me = strstr(re->json, "\"model_error\":");
    REQUIRE(me);
    est = strtod(me + strlen("\"model_error\":"), NULL);
    CHECK(est >= 0 && est < 1);
    CHECK(strstr(re->json, "\"model_error_quarters\":4,") != NULL);
    o.model_error = 0;
    REQUIRE(ri_forecast(c, &o, &r0) == RI_OK);
    /* the estimate is what the range used: none (noise hides it on a small store), the
     * same paths as with 0; some, a wider range */
    if (est > 0)
        CHECK(re->period[1].open_p90 - re->period[1].open_p10 >
              r0->period[1].open_p90 - r0->period[1].open_p10);
    else
        CHECK_NEAR(re->period[1].open_p90, r0->period[1].open_p90, 1e-6);
    o.model_error = 0.2;
    REQUIRE(ri_forecast(c, &o, &r2) == RI_OK);
    for (int g = 0; g < 20; g++)
        fs += f[g] = exp(0.2 * ri_normal_quantile((g + 0.5) / 20));
    for (int g = 0; g < 20; g++)
        F += (f[g] * 20 / fs - 1) * (f[g] * 20 / fs - 1) / 20;
    for (int k = 0; k < 2; k++) {
        const struct ri_forecast_period *a = &r0->period[k], *b = &r2->period[k];
        mu = a->open_expected;
        REQUIRE(mu > 0);
        /* the same expectation (a deal's chance is capped at 1 in the high blocks) */
        CHECK_NEAR(b->open_expected, mu, 0.01 * mu);
        CHECK_NEAR(re->period[k].open_expected, mu, 0.01 * mu);
        s0 = (a->open_p90 - a->open_p10) / 2.563;
        s2 = (b->open_p90 - b->open_p10) / 2.563;
        want = sqrt(s0 * s0 + F * mu * mu);
        /* wider, where the widening is larger than the paths' noise on a P10-P90 spread
         * (about 3 % of it with 4,000 paths): a period whose open deals are few is all
         * the deals' own chance */
        if (want > 1.05 * s0)
            CHECK(s2 > s0);
        CHECK_NEAR(s2, want, 0.25 * want);
    }
    ri_forecast_report_free(r0);
    ri_forecast_report_free(r2);
    ri_forecast_report_free(re);
    ri_ctx_free(c);
}

static double q1(struct ri_ctx *c, const char *sql)
{
    struct ri_stmt *s = NULL;
    double v = RI_NAN;
    if (ri_stmt_prepare(c, ri_ctx_store(c), sql, &s) == RI_OK && ri_stmt_step(c, s) == RI_OK)
        v = ri_stmt_f64(s, 0);
    ri_stmt_free(s);
    return v;
}

/* A short backtest (three weekly forecasts in 2026-Q1, a model fitted at the start of the
 * quarter) goes to the store: the stored summary is the report's, its WAPE and coverage
 * recomputed by SQL from the stored points agree, and each point's actual equals the
 * revenue the deals table says was won in the quarter. */
TEST(backtest_saved)
{
    struct ri_ctx *c = sim_store();
    struct ri_backtest_opts o;
    struct ri_forecast_report *r = NULL;
    double won;
    memset(&o, 0, sizeof(o));
    o.model = fast_opts();
    o.model.refit = 0;
    o.every_days = 7;
    o.sims = 500;
    o.seed = 1;
    o.save = 1;
    REQUIRE(ri_parse_date("2026-01-01", 10, RI_DATE_ISO, &o.from) == RI_OK);
    REQUIRE(ri_parse_date("2026-01-20", 10, RI_DATE_ISO, &o.to) == RI_OK);
    REQUIRE(ri_backtest(c, &o, &r) == RI_OK);
    CHECK_EQ_INT((long long)r->bt[0].n, 3);
    CHECK_EQ_INT((long long)q1(c, "SELECT count(*) FROM backtest_runs"), 1);
    CHECK_EQ_INT((long long)q1(c, "SELECT n FROM backtest_runs"), 3);
    CHECK_NEAR(q1(c, "SELECT wape FROM backtest_runs"), r->bt[0].wape, 1e-12);
    CHECK_NEAR(q1(c, "SELECT coverage FROM backtest_runs"), r->bt[0].coverage, 1e-12);
    CHECK_NEAR(q1(c, "SELECT rep_wape FROM backtest_runs"), r->bt[1].wape, 1e-12);
    CHECK_NEAR(q1(c, "SELECT sum(abs(forecast - actual)) / sum(actual) FROM backtest_points "
                     "WHERE run_id = 1"),
               r->bt[0].wape, 1e-9);
    CHECK_NEAR(q1(c, "SELECT avg(p10 <= actual AND actual <= p90) FROM backtest_points "
                     "WHERE run_id = 1"),
               r->bt[0].coverage, 1e-12);
    CHECK_EQ_INT((long long)q1(c, "SELECT count(DISTINCT period) FROM backtest_points"), 1);
    CHECK_EQ_INT((long long)q1(c, "SELECT min(week) * 10 + max(week) FROM backtest_points"), 13);
    won = q1(c, "SELECT sum(amount) FROM deals WHERE status = 'won' AND close_date >= "
                "strftime('%s', '2026-01-01') AND close_date < strftime('%s', '2026-04-01')");
    CHECK(won > 0);
    CHECK_NEAR(q1(c, "SELECT max(actual) FROM backtest_points"), won, 0.01);
    CHECK_NEAR(q1(c, "SELECT min(actual) FROM backtest_points"), won, 0.01);
    ri_forecast_report_free(r);
    ri_ctx_free(c);
}

/* A store of one shared data set under a mapping file. */
static struct ri_ctx *dataset_store(const char *tag, const char *csv, const char *mapping)
{
    struct ri_ctx *c = ri_ctx_new();
    char dir[64], path[128];
    snprintf(dir, sizeof(dir), "/tmp/ri-%s-XXXXXX", tag);
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof(path), "%s/t.db", dir);
    if (ri_store_open(c, path, RI_OPEN_CREATE) != RI_OK)
        abort();
    ingest(c, "opportunities", csv, mapping);
    return c;
}

/* Salvirt (448 closed B2B deals, 22 qualification attributes; published held-out AUC of
 * a logistic regression 0.75-0.84): the k-fold AUC lands in a plausible range and the
 * model reports a signal. */
TEST(salvirt_kfold)
{
    struct ri_ctx *c;
    struct ri_model_opts o = fast_opts();
    struct ri_model_report *r = NULL;
    if (access("../shared/data/salvirt_b2b_sales/Salvirt_B2B_ML_dataset_HF.csv", R_OK) != 0)
        return;
    c = dataset_store("salvirt", "../shared/data/salvirt_b2b_sales/Salvirt_B2B_ML_dataset_HF.csv",
                      "examples/mappings/salvirt.ini");
    REQUIRE(ri_evaluate(c, &o, &r) == RI_OK);
    CHECK(strstr(r->json, "\"protocol\":\"k-fold\"") != NULL);
    CHECK(r->auc > 0.70 && r->auc < 0.95);
    CHECK(r->signal == 1);
    ri_model_report_free(r);
    ri_ctx_free(c);
}

/* The de-identified Salesforce export keeps its date codes as attributes: the guard
 * names the columns known only once a deal has closed. */
TEST(sfdc_leakage_guard_names_post_outcome_columns)
{
    struct ri_ctx *c;
    struct ri_model_opts o = fast_opts();
    struct ri_model_report *r = NULL;
    static const char *const post[] = {"\"CloseDate\"", "\"LastModifiedDate\"",
                                       "\"Stage_Change_Date__c\"", "\"Days_Until_Modified__c\""};
    if (access("../shared/data/sfdc_opps_encoded_nil9/preprocessed_opportunities.csv", R_OK) != 0)
        return;
    c = dataset_store("nil9",
                      "../shared/data/sfdc_opps_encoded_nil9/preprocessed_opportunities.csv",
                      "examples/mappings/sfdc_nil9.ini");
    o.folds = 2;
    o.trees = 20;
    REQUIRE(ri_evaluate(c, &o, &r) == RI_OK);
    {
        const char *refused = strstr(r->json, "\"refused\":[");
        const char *feats = strstr(r->json, "\"features\":[");
        REQUIRE(refused && feats);
        for (size_t k = 0; k < RI_ARRAY_SIZE(post); k++) {
            const char *at = strstr(refused, post[k]);
            CHECK(at != NULL && at < feats); /* refused, and not among the features */
            CHECK(strstr(feats, post[k]) == NULL);
        }
        CHECK(strstr(feats, "\"CreatedDate\"") != NULL); /* known at creation: kept */
    }
    CHECK(strstr(r->text, "Leakage guard") != NULL);
    ri_model_report_free(r);
    ri_ctx_free(c);
}

/* SkyGeni: the case with almost no signal. The model must say so instead of ranking
 * deals: no signal, and sales_cycle_days refused. */
TEST(skygeni_no_reliable_signal)
{
    struct ri_ctx *c;
    struct ri_model_opts o = fast_opts();
    struct ri_model_report *r = NULL;
    if (access("../shared/data/skygeni_b2b_saas_deals/skygeni_sales_data.csv", R_OK) != 0)
        return;
    c = dataset_store("skygeni", "../shared/data/skygeni_b2b_saas_deals/skygeni_sales_data.csv",
                      "examples/mappings/skygeni.ini");
    REQUIRE(ri_train(c, &o, &r) == RI_OK);
    CHECK(r->signal == 0);
    CHECK(strstr(r->text, "no reliable signal") != NULL);
    CHECK(strstr(r->json, "\"sales_cycle_days\"") != NULL);
    CHECK(r->auc < 0.6);
    ri_model_report_free(r);
    ri_ctx_free(c);
}

int main(void)
{
    BEGIN("test_model");
    RUN(snapshots_weigh_open_time);
    RUN(train_on_simulated_pipeline);
    RUN(score_reasons_add_up_and_repeat);
    RUN(calibration_since_training);
    RUN(explain_an_open_deal);
    RUN(forecast_monte_carlo);
    RUN(forecast_model_error);
    RUN(backtest_saved);
    RUN(salvirt_kfold);
    RUN(sfdc_leakage_guard_names_post_outcome_columns);
    RUN(skygeni_no_reliable_signal);
    return DONE();
}
