/*
 * test_diagnose.c - the win-rate diagnosis: exact decomposition, hand-computed metrics,
 * no false alarms on a data set without signal, and the planted decline found on top.
 */
#include "harness.h"
#include "fixture.h"
#include "revintel.h"
#include "../../src/diagnose.h"

#include <stdlib.h>
#include <unistd.h>

static struct ri_ctx *store_with(const char *kind, const char *file, const char *map)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    char p[256];
    snprintf(p, sizeof(p), "%s/t.db", fx_dir);
    if (ri_store_open(ctx, p, RI_OPEN_CREATE) != RI_OK)
        abort();
    o.kind = (enum ri_ingest_kind)ri_ingest_kind_parse(kind);
    o.path = file;
    o.map = map;
    if (ri_ingest(ctx, &o, &rep) != RI_OK) {
        fprintf(stderr, "ingest: %s\n", ri_errmsg(ctx));
        abort();
    }
    return ctx;
}

static const struct ri_decomp_dim *dim_named(const struct ri_diagnosis *d, const char *name)
{
    for (size_t j = 0; j < d->n_decomp; j++)
        if (!strcmp(d->decomp[j].name, name))
            return &d->decomp[j];
    return NULL;
}

/* On random tables (zeros, empty segments, new and vanished segments included), mix +
 * rate + interaction equals the change of the overall rate. */
TEST(decomposition_is_exact_on_random_tables)
{
    uint64_t s = 12345;
    double worst = 0;
    for (int t = 0; t < 2000; t++) {
        struct ri_decomp_row rows[12];
        size_t n = 1 + (size_t)(t % 12);
        uint64_t N0 = 0, W0 = 0, N1 = 0, W1 = 0;
        double mix, rate, inter, want;
        memset(rows, 0, sizeof(rows));
        for (size_t k = 0; k < n; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            rows[k].n0 = (s >> 33) % 7 == 0 ? 0 : (s >> 20) % 500;
            rows[k].n1 = (s >> 37) % 9 == 0 ? 0 : (s >> 10) % 500;
            rows[k].w0 = rows[k].n0 ? (s >> 5) % (rows[k].n0 + 1) : 0;
            rows[k].w1 = rows[k].n1 ? (s >> 45) % (rows[k].n1 + 1) : 0;
            N0 += rows[k].n0;
            W0 += rows[k].w0;
            N1 += rows[k].n1;
            W1 += rows[k].w1;
        }
        if (!N0 || !N1)
            continue;
        ri_decompose(rows, n, &mix, &rate, &inter);
        want = (double)W1 / (double)N1 - (double)W0 / (double)N0;
        if (fabs(mix + rate + inter - want) > worst)
            worst = fabs(mix + rate + inter - want);
    }
    CHECK(worst < 1e-9);
}

/* Two segments, by hand:
 *   P0: A 60 deals, 30 won (r0 = .5, m0 = .6); B 40 deals, 10 won (r0 = .25, m0 = .4)
 *   P1: A 20 deals,  8 won (r1 = .4, m1 = .2); B 80 deals, 16 won (r1 = .2,  m1 = .8)
 *   overall 40/100 = .40 -> 24/100 = .24: change -.16
 *   A: mix (.2-.6)*.5 = -.20, rate .6*(.4-.5) = -.06, inter (-.4)(-.1) = +.04 -> -.22
 *   B: mix (.8-.4)*.25 = +.10, rate .4*(.2-.25) = -.02, inter (.4)(-.05) = -.02 -> +.06
 *   sums: mix -.10, rate -.08, interaction +.02, total -.16 */
TEST(decomposition_by_hand)
{
    struct ri_decomp_row rows[2];
    double mix, rate, inter;
    memset(rows, 0, sizeof(rows));
    rows[0].n0 = 60, rows[0].w0 = 30, rows[0].n1 = 20, rows[0].w1 = 8;
    rows[1].n0 = 40, rows[1].w0 = 10, rows[1].n1 = 80, rows[1].w1 = 16;
    ri_decompose(rows, 2, &mix, &rate, &inter);
    CHECK_NEAR(rows[0].mix, -0.20, 1e-12);
    CHECK_NEAR(rows[0].rate, -0.06, 1e-12);
    CHECK_NEAR(rows[0].interaction, 0.04, 1e-12);
    CHECK_NEAR(rows[1].mix, 0.10, 1e-12);
    CHECK_NEAR(rows[1].rate, -0.02, 1e-12);
    CHECK_NEAR(rows[1].interaction, -0.02, 1e-12);
    CHECK_NEAR(mix, -0.10, 1e-12);
    CHECK_NEAR(rate, -0.08, 1e-12);
    CHECK_NEAR(inter, 0.02, 1e-12);
}

/* A hand-built store: two quarters, two regions.
 *   2024-Q1 closes: North 4 won 1 lost, South 1 won 4 lost -> 5/10 = 50 %
 *   2024-Q2 closes: North 2 won 3 lost, South 1 won 4 lost -> 3/10 = 30 %
 *   Wilson 95 % for 5/10: centre (0.5 + 1.92/10)/(1 + 3.84/10) = 0.5, half-width
 *   1.96 sqrt(.025 + .0096)/1.384 = 0.2632 -> [0.2366, 0.7634]
 *   ACV of Q1 won amounts 100, 200, 300, 400, 1000: mean 400, median 300
 *   cycles (close - created) in Q1: every deal 10 days -> median 10 */
TEST(metrics_by_hand)
{
    struct ri_ctx *ctx;
    struct ri_diagnosis *d = NULL;
    struct ri_diagnose_opts o = RI_DIAGNOSE_OPTS_INIT;
    const struct ri_decomp_dim *reg;
    char path[256];
    fx_fresh_dir("diag");
    fx_write("o.csv", "id,created_date,close_date,stage,amount,region,go_live\n"
                      "a1,2024-01-01,2024-01-11,Closed Won,100,North,2024-01-21\n"
                      "a2,2024-01-02,2024-01-12,Closed Won,200,North,2024-02-11\n"
                      "a3,2024-01-03,2024-01-13,Closed Won,300,North,\n"
                      "a4,2024-01-04,2024-01-14,Closed Won,400,North,\n"
                      "a5,2024-01-05,2024-01-15,Closed Lost,50,North,\n"
                      "b1,2024-02-01,2024-02-11,Closed Won,1000,South,\n"
                      "b2,2024-02-02,2024-02-12,Closed Lost,50,South,\n"
                      "b3,2024-02-03,2024-02-13,Closed Lost,50,South,\n"
                      "b4,2024-02-04,2024-02-14,Closed Lost,50,South,\n"
                      "b5,2024-02-05,2024-02-15,Closed Lost,50,South,\n"
                      "c1,2024-04-01,2024-04-11,Closed Won,100,North,\n"
                      "c2,2024-04-02,2024-04-12,Closed Won,100,North,\n"
                      "c3,2024-04-03,2024-04-13,Closed Lost,100,North,\n"
                      "c4,2024-04-04,2024-04-14,Closed Lost,100,North,\n"
                      "c5,2024-04-05,2024-04-15,Closed Lost,100,North,\n"
                      "d1,2024-05-01,2024-05-11,Closed Won,100,South,\n"
                      "d2,2024-05-02,2024-05-12,Closed Lost,100,South,\n"
                      "d3,2024-05-03,2024-05-13,Closed Lost,100,South,\n"
                      "d4,2024-05-04,2024-05-14,Closed Lost,100,South,\n"
                      "d5,2024-05-05,2024-05-15,Closed Lost,100,South,\n");
    snprintf(path, sizeof(path), "%s/o.csv", fx_dir);
    ctx = store_with("opportunities", path, NULL);
    ri_parse_date("2024-07-01", 10, RI_DATE_ISO, &o.as_of);
    o.min_n = 1;
    REQUIRE(ri_diagnose(ctx, &o, &d) == RI_OK);
    REQUIRE(d->n_periods >= 2);
    CHECK_STR(d->periods[0].label, "2024-Q1");
    CHECK_EQ_INT(d->periods[0].cell.won, 5);
    CHECK_EQ_INT(d->periods[0].cell.lost, 5);
    CHECK_NEAR(d->periods[0].cell.rate.lo, 0.2366, 1e-4);
    CHECK_NEAR(d->periods[0].cell.rate.hi, 0.7634, 1e-4);
    CHECK_NEAR(d->periods[0].cell.acv_mean, 400, 1e-9);
    CHECK_NEAR(d->periods[0].cell.acv_median, 300, 1e-9);
    CHECK_NEAR(d->periods[0].cell.cycle_median, 10, 1e-9);
    CHECK_NEAR(d->periods[1].cell.rate.est, 0.3, 1e-12);
    /* go-live 10 and 30 days after close: median 20, P90 10 + .9 * 20 = 28 */
    CHECK_EQ_INT(d->conc.lag_n, 2);
    CHECK_NEAR(d->conc.lag_median, 20, 1e-9);
    CHECK_NEAR(d->conc.lag_p90, 28, 1e-9);
    /* created mix (no lead source: the first dimension, region): 5 North and 5 South
     * created in each quarter */
    REQUIRE(d->mix_dim >= 0 && d->created_by != NULL);
    CHECK_STR(d->frame.dims[d->mix_dim].name, "region");
    CHECK_EQ_INT(d->created_by[0], 5);
    CHECK_EQ_INT(d->created_by[1], 5);
    CHECK_EQ_INT(d->created_by[2], 5);
    CHECK_EQ_INT(d->created_by[3], 5);
    CHECK_EQ_INT(d->p0, 0);
    CHECK_EQ_INT(d->p1, 1);
    /* region: North 5 -> 5 deals (r .8 -> .4), South 5 -> 5 (r .2 -> .2); shares equal,
     * so mix 0, rate .5*(-.4) = -.2, interaction 0 */
    reg = dim_named(d, "region");
    REQUIRE(reg != NULL);
    CHECK_NEAR(reg->mix, 0, 1e-12);
    CHECK_NEAR(reg->rate, -0.2, 1e-12);
    CHECK_NEAR(reg->interaction, 0, 1e-12);
    CHECK_STR(reg->rows[0].label, "region=North");
    /* 10 deals against 10: nothing is significant */
    CHECK_EQ_INT(reg->rows[0].significant, 0);
    ri_diagnosis_free(d);
    ri_ctx_free(ctx);
}

/* SkyGeni's "win rate dropped" case has no real segment signal: no segment may come out
 * significant after correction, and the headline must say the change is not significant. */
TEST(no_false_alarm_on_skygeni)
{
    struct ri_ctx *ctx;
    struct ri_diagnosis *d = NULL;
    struct ri_diagnose_opts o = RI_DIAGNOSE_OPTS_INIT;
    size_t tested = 0, significant = 0;
    if (access("../shared/data/skygeni_b2b_saas_deals/skygeni_sales_data.csv", R_OK) != 0) {
        fprintf(stderr, "skipped: ../shared/data not found\n");
        return;
    }
    fx_fresh_dir("diag");
    ctx =
        store_with("opportunities", "../shared/data/skygeni_b2b_saas_deals/skygeni_sales_data.csv",
                   "examples/mappings/skygeni.ini");
    REQUIRE(ri_diagnose(ctx, &o, &d) == RI_OK);
    for (size_t j = 0; j < d->n_decomp; j++)
        for (size_t r = 0; r < d->decomp[j].n_rows; r++) {
            tested += !d->decomp[j].rows[r].small;
            significant += (size_t)d->decomp[j].rows[r].significant;
        }
    CHECK(tested > 20);
    CHECK_EQ_INT(significant, 0);
    CHECK(strstr(d->headline, "not a significant change") != NULL);
    ri_diagnosis_free(d);
    ri_ctx_free(ctx);
}

/* The simulator plants a rate drop in Healthcare x Outbound and EMEA and a mix shift
 * towards Outbound in the last quarter: they must come out on top. */
TEST(planted_decline_on_top)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    struct ri_diagnosis *d = NULL;
    struct ri_diagnose_opts o = RI_DIAGNOSE_OPTS_INIT;
    const struct ri_decomp_dim *reg, *ind, *src;
    char path[256];
    int outbound_up = 0;
    fx_fresh_dir("diag");
    so.outdir = fx_dir;
    so.deals = 20000;
    REQUIRE(ri_simulate(ctx, &so, &sr) == RI_OK);
    ri_ctx_free(ctx);
    snprintf(path, sizeof(path), "%s/opportunities.csv", fx_dir);
    ctx = store_with("opportunities", path, NULL);
    REQUIRE(ri_diagnose(ctx, &o, &d) == RI_OK);
    CHECK(d->periods[d->p1].cell.rate.est < d->periods[d->p0].cell.rate.est);
    reg = dim_named(d, "region");
    ind = dim_named(d, "industry");
    src = dim_named(d, "lead_source");
    REQUIRE(reg && ind && src);
    CHECK_STR(reg->rows[0].label, "region=EMEA");
    CHECK_EQ_INT(reg->rows[0].significant, 1);
    CHECK_STR(ind->rows[0].label, "industry=Healthcare");
    CHECK_EQ_INT(ind->rows[0].significant, 1);
    /* by lead source the fall is mostly mix: Outbound's share rose */
    CHECK(src->mix < src->rate);
    for (size_t r = 0; r < src->n_rows; r++)
        if (!strcmp(src->rows[r].label, "lead_source=Outbound"))
            outbound_up = src->rows[r].m1 > src->rows[r].m0 + 0.05;
    CHECK_EQ_INT(outbound_up, 1);
    ri_diagnosis_free(d);
    ri_ctx_free(ctx);
}

/* Selection gives exactly the quantiles sorting gives, ties and tiny arrays included. */
TEST(fast_quantile_equals_sorted_quantile)
{
    double a[301], b[301];
    uint64_t s = 99;
    int bad = 0;
    for (int t = 0; t < 3000; t++) {
        size_t n = 1 + (size_t)(t % 301);
        double q = (double)(t % 21) / 20.0;
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            a[i] = b[i] = (double)((s >> 40) % (t % 3 ? 1000u : 7u)); /* many ties */
        }
        if (fabs(ri_fast_quantile(a, n, q) - ri_quantile(b, n, q)) > 1e-12)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(isnan(ri_fast_quantile(a, 0, 0.5)));
}

static int cmp_obs(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

/* The one-pass Kaplan-Meier quantiles of the sales-cycle rows are the very doubles that
 * ri_km_fit and ri_km_quantile give, on sorted times with ties, heavy censoring and
 * everyone-has-the-event tails; unsorted input gives the same too. */
TEST(km_sorted_quantiles_equal_km_fit)
{
    static double obs[400][2], x[400];
    static uint8_t ev[400];
    uint64_t s = 7;
    int bad = 0;
    for (int t = 0; t < 400; t++) {
        size_t n = (size_t)t;
        struct ri_km km;
        struct ri_interval m, p, want_m, want_p;
        unsigned censor = (unsigned)(t % 5); /* 0: no censoring .. 4: mostly censored */
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            obs[i][0] = t % 2 ? (double)((s >> 33) % 40) : (double)((s >> 33) % 100000) / 7.0;
            obs[i][1] = ((s >> 20) % 5) >= censor;
        }
        qsort(obs, n, sizeof(obs[0]), cmp_obs);
        for (size_t i = 0; i < n; i++) {
            x[i] = obs[i][0];
            ev[i] = (uint8_t)obs[i][1];
        }
        if (t % 7 == 0 && n > 2) { /* not sorted: the same answer by another road */
            double tx = x[0];
            uint8_t te = ev[0];
            x[0] = x[n - 1];
            ev[0] = ev[n - 1];
            x[n - 1] = tx;
            ev[n - 1] = te;
        }
        REQUIRE(ri_km_fit(x, ev, n, &km) == RI_OK);
        want_m = ri_km_quantile(&km, 0.5);
        want_p = ri_km_quantile(&km, 0.9);
        ri_km_release(&km);
        REQUIRE(ri_km_sorted_quantiles(x, ev, n, &m, &p) == RI_OK);
        bad += memcmp(&m, &want_m, sizeof(m)) != 0 || memcmp(&p, &want_p, sizeof(p)) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    x[0] = -1;
    ev[0] = 1;
    CHECK(ri_km_sorted_quantiles(x, ev, 1, NULL, NULL) == RI_ERR_INVALID);
}

int main(void)
{
    BEGIN("test_diagnose");
    ri_set_log_level(RI_LOG_ERROR);
    RUN(fast_quantile_equals_sorted_quantile);
    RUN(km_sorted_quantiles_equal_km_fit);
    RUN(decomposition_is_exact_on_random_tables);
    RUN(decomposition_by_hand);
    RUN(metrics_by_hand);
    RUN(no_false_alarm_on_skygeni);
    RUN(planted_decline_on_top);
    return DONE();
}
