/*
 * test_winshift.c - the recent change of a segment's win rate (src/winshift.c) on a
 * hand-built frame whose figures are worked out below.
 *
 * One dimension, region, with values A and B. "Now" is day 20000; a year earlier is day
 * 19636 (364 days). Three cohorts:
 *   old (created day 19300, 700 days before now): 200 A and 200 B, 40 of each won at age
 *     10 days, the rest lost at age 20. So G(age) = 80 / 400 = 0.2 from age 10 on, the
 *     overall rate by 120 days is 0.2, and each value's rate over the overall, shrunk by
 *     5 deals, is (40 + 5 x 0.2) / (200 + 5) / 0.2 = 1: every expectation is 0.2.
 *   reference (created day 19576, 60 days before the year-earlier date): 300 A and 300 B,
 *     60 of each won by then (at age 10).
 *   recent (created day 19940, 60 days before now): 300 A and 300 B; B won 60, A won
 *     `won_a` by now.
 * Cells: all deals, A, B (one dimension: no pairs), so 3 are tested and the threshold is
 * the normal's 1 - 0.05 / 6 quantile (2.394). With won_a = 30: A's O1 / E1 = 30 / 60 and a
 * year earlier 60 / 60, factor 0.5, z = log 0.5 / sqrt(1/30 + 1/60) = -3.0998; all deals
 * z = log(90 / 120) / sqrt(1/90 + 1/120) = -2.064 and B 0, so A is reported. With A's
 * factor applied the recent expectations sum to 90 = the wins: nothing else is found.
 */
#include "harness.h"
#include "stats.h"
#include "winshift.h"

#include <stdlib.h>

#define NOW   ((ri_time)20000 * RI_DAY)
#define AGO   (NOW - (ri_time)364 * RI_DAY)
#define NDEAL 1600

struct fx {
    struct ri_frame f;
    struct ri_asof_state now, ago;
};

static void state_alloc(struct ri_asof_state *s, ri_time at)
{
    memset(s, 0, sizeof(*s));
    s->n = NDEAL;
    s->at = at;
    s->exists = calloc(NDEAL, 1);
    s->status = calloc(NDEAL, 1);
    s->close_date = calloc(NDEAL, sizeof(ri_time));
}

static void state_free(struct ri_asof_state *s)
{
    free(s->exists);
    free(s->status);
    free(s->close_date);
}

/* deal i created on day c in value v; won (1) or lost (0) at age `age` days, or open (-1) */
static void deal(struct fx *x, size_t i, int c, int32_t v, int won, int age)
{
    ri_time ct = (ri_time)c * RI_DAY, close = ct + (ri_time)age * RI_DAY;
    x->f.created[i] = ct;
    x->f.dims[0].code[i] = v;
    for (int k = 0; k < 2; k++) {
        struct ri_asof_state *s = k ? &x->ago : &x->now;
        if (ct > s->at)
            continue;
        s->exists[i] = 1;
        s->status[i] = won < 0 || close > s->at ? RI_STATUS_OPEN
                       : won                    ? RI_STATUS_WON
                                                : RI_STATUS_LOST;
        s->close_date[i] = won < 0 ? RI_TIME_NONE : close;
    }
}

static void fx_build(struct fx *x, int won_a)
{
    size_t i = 0;
    memset(x, 0, sizeof(*x));
    x->f.n = NDEAL;
    x->f.created = calloc(NDEAL, sizeof(ri_time));
    x->f.deleted = calloc(NDEAL, 1);
    x->f.n_dims = 1;
    snprintf(x->f.dims[0].name, sizeof(x->f.dims[0].name), "region");
    ri_intern_init(&x->f.dims[0].values);
    ri_intern_id(&x->f.dims[0].values, "A", 1);
    ri_intern_id(&x->f.dims[0].values, "B", 1);
    x->f.dims[0].code = calloc(NDEAL, sizeof(int32_t));
    state_alloc(&x->now, NOW);
    state_alloc(&x->ago, AGO);
    for (int32_t v = 0; v < 2; v++)
        for (int k = 0; k < 200; k++)
            deal(x, i++, 19300, v, k < 40, k < 40 ? 10 : 20);
    for (int32_t v = 0; v < 2; v++)
        for (int k = 0; k < 300; k++)
            deal(x, i++, 19576, v, k < 60 ? 1 : -1, 10);
    for (int32_t v = 0; v < 2; v++)
        for (int k = 0; k < 300; k++)
            deal(x, i++, 19940, v, k < (v ? 60 : won_a) ? 1 : -1, 10);
}

static void fx_free(struct fx *x)
{
    free(x->f.created);
    free(x->f.deleted);
    free(x->f.dims[0].code);
    ri_intern_release(&x->f.dims[0].values);
    state_free(&x->now);
    state_free(&x->ago);
}

TEST(decline_of_one_value)
{
    struct fx x;
    struct ri_winshift w;
    char lab[64];
    fx_build(&x, 30);
    ri_winshift_fit(&x.f, &x.now, &x.ago, &w);
    CHECK_EQ_INT(w.tested, 3);
    CHECK_NEAR(w.z_crit, ri_normal_quantile(1 - 0.05 / 6), 1e-12);
    CHECK_NEAR(w.z_crit, 2.394, 1e-3);
    REQUIRE(w.n == 1);
    CHECK_EQ_INT(w.seg[0].key.dim_a, 0);
    CHECK_EQ_INT(w.seg[0].key.dim_b, -1);
    CHECK_EQ_INT(w.seg[0].key.code_a, 0);
    CHECK_NEAR(w.seg[0].o1, 30, 1e-9);
    CHECK_NEAR(w.seg[0].e1, 60, 1e-9);
    CHECK_NEAR(w.seg[0].o0, 60, 1e-9);
    CHECK_NEAR(w.seg[0].e0, 60, 1e-9);
    CHECK_NEAR(w.seg[0].factor, 0.5, 1e-12);
    CHECK_NEAR(w.seg[0].z, log(0.5) / sqrt(1.0 / 30 + 1.0 / 60), 1e-9);
    CHECK_NEAR(w.seg[0].z, -3.0998, 1e-4);
    ri_winshift_label(&w, &x.f, 0, lab, sizeof(lab));
    CHECK_STR(lab, "region=A");
    /* the factor reaches the recent deals of A only */
    CHECK_NEAR(ri_winshift_factor(&w, &x.f, 1000), 0.5, 1e-12); /* recent A */
    CHECK_NEAR(ri_winshift_factor(&w, &x.f, 1300), 1, 1e-12);   /* recent B */
    CHECK_NEAR(ri_winshift_factor(&w, &x.f, 400), 1, 1e-12);    /* reference A */
    CHECK_NEAR(ri_winshift_factor(&w, &x.f, 0), 1, 1e-12);      /* old A */
    fx_free(&x);
}

/* The same wins as a year earlier: nothing to report, and every factor is 1. */
TEST(no_change)
{
    struct fx x;
    struct ri_winshift w;
    fx_build(&x, 60);
    ri_winshift_fit(&x.f, &x.now, &x.ago, &w);
    CHECK_EQ_INT(w.tested, 3);
    CHECK_EQ_INT(w.n, 0);
    CHECK_NEAR(ri_winshift_factor(&w, &x.f, 1000), 1, 1e-12);
    fx_free(&x);
}

/* A rise is found as well: A wins 100 against 60 expected (a year earlier 60 of 60):
 * factor 100 / 60, z = log(5/3) / sqrt(1/100 + 1/60) = 3.128 > 2.394; all deals
 * z = log(160 / 120) / sqrt(1/160 + 1/120) = 2.381 does not pass. */
TEST(rise_of_one_value)
{
    struct fx x;
    struct ri_winshift w;
    fx_build(&x, 100);
    ri_winshift_fit(&x.f, &x.now, &x.ago, &w);
    REQUIRE(w.n == 1);
    CHECK_EQ_INT(w.seg[0].key.code_a, 0);
    CHECK_NEAR(w.seg[0].factor, 100.0 / 60, 1e-12);
    CHECK_NEAR(w.seg[0].z, log(100.0 / 60) / sqrt(1.0 / 100 + 1.0 / 60), 1e-9);
    fx_free(&x);
}

/* Too young a store (no deal 540 days old): nothing is judged. */
TEST(young_store)
{
    struct fx x;
    struct ri_winshift w;
    fx_build(&x, 30);
    for (size_t i = 0; i < 400; i++)
        x.now.exists[i] = x.ago.exists[i] = 0;
    ri_winshift_fit(&x.f, &x.now, &x.ago, &w);
    CHECK_EQ_INT(w.tested, 0);
    CHECK_EQ_INT(w.n, 0);
    fx_free(&x);
}

int main(void)
{
    BEGIN("test_winshift");
    RUN(decline_of_one_value);
    RUN(no_change);
    RUN(rise_of_one_value);
    RUN(young_store);
    return DONE();
}
