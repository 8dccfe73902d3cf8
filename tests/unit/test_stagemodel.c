/*
 * test_stagemodel.c - the stage model (src/stagemodel.c) on small hand-built histories
 * whose chains can be solved by hand, and on a simulated pipeline.
 *
 * Stages (configured order): A(0) < B(1), then Won(2), Lost(3). A deal is written as its
 * path, e.g. "A2 B3 W": created in A on its creation day, 2 days in A, 3 in B, then won
 * ("L": lost; a last stage without days: still there). Day 0 is 2024-01-01. Unless said,
 * every dwell is under 7 days (bucket 0) and fewer than RI_SM_MIN_VISITS visits leave a
 * stage, so each stage's next-stage distribution is its pooled one, and since no visit
 * reaches bucket 1, bucket 0 is open-ended (hazard 1). Every expected value is worked out
 * in the comment beside it.
 */
#include "harness.h"
#include "fixture.h"
#include "stagemodel.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define ST_A    0
#define ST_B    1
#define ST_WON  2
#define ST_LOST 3

struct deal_spec {
    const char *path;
    int created; /* day; -1: no created date */
    int count;   /* how many such deals */
};

struct fixture {
    struct ri_ctx *ctx;
    struct ri_history *h;
    char dir[64];
};

static ri_time day0(void)
{
    ri_time t = 0;
    if (ri_parse_date("2024-01-01", 10, RI_DATE_ISO, &t) != RI_OK)
        abort();
    return t;
}

static ri_time day(int d)
{
    return day0() + (ri_time)d * RI_DAY;
}

static const char *fmt_day(int d, char *buf)
{
    ri_format_date(day(d), buf, 11);
    return buf;
}

/* Appends one deal: its row and its history rows. */
static void add_deal(struct ri_buf *o, struct ri_buf *hs, const char *id, int created,
                     const char *path)
{
    const char *names[] = {"A", "B", "Won", "Lost"};
    const char *p = path;
    int t = created < 0 ? 5 : created; /* a deal without a created date: events from day 5 */
    int last = -1;
    char a[11], b[11];
    while (*p) {
        int st = *p == 'A' ? ST_A : *p == 'B' ? ST_B : *p == 'W' ? ST_WON : ST_LOST;
        char *end;
        long dwell;
        ri_buf_addf(hs, "%s,%s,%s\n", id, names[st], fmt_day(t, a));
        last = st;
        dwell = strtol(p + 1, &end, 10);
        t += (int)dwell;
        p = end;
        while (*p == ' ')
            p++;
    }
    if (last >= ST_WON)
        ri_buf_addf(o, "%s,%s,%s,100,%s\n", id, created < 0 ? "" : fmt_day(created, a), names[last],
                    fmt_day(t, b));
    else
        ri_buf_addf(o, "%s,%s,%s,100,\n", id, created < 0 ? "" : fmt_day(created, a), names[last]);
}

/* A store in a fresh folder with the deals of specs (and any extra rows), loaded. */
static void build(struct fixture *f, const struct deal_spec *specs, size_t n, const char *extra_o)
{
    struct ri_buf o = RI_BUF_INIT, hs = RI_BUF_INIT;
    char p[256], m[256];
    int id = 0;
    fx_fresh_dir("sm");
    snprintf(f->dir, sizeof(f->dir), "%s", fx_dir);
    fx_write("map.ini", "[file]\ndates = none\n"
                        "[stages]\norder = A, B, Won, Lost\nwon = Won\nlost = Lost\n");
    ri_buf_adds(&o, "id,created_date,stage,amount,close_date\n");
    ri_buf_adds(&hs, "opportunity_id,stage,changed_at\n");
    for (size_t k = 0; k < n; k++)
        for (int j = 0; j < specs[k].count; j++) {
            char name[16];
            snprintf(name, sizeof(name), "D%03d", id++);
            add_deal(&o, &hs, name, specs[k].created, specs[k].path);
        }
    if (extra_o)
        ri_buf_adds(&o, extra_o);
    fx_write("o.csv", o.buf);
    fx_write("h.csv", hs.buf);
    ri_buf_release(&o);
    ri_buf_release(&hs);
    f->ctx = ri_ctx_new();
    snprintf(p, sizeof(p), "%s/t.db", f->dir);
    if (ri_store_open(f->ctx, p, RI_OPEN_CREATE) != RI_OK)
        abort();
    snprintf(p, sizeof(p), "%s/o.csv", f->dir);
    snprintf(m, sizeof(m), "%s/map.ini", f->dir);
    fx_ingest(f->ctx, "opportunities", p, m);
    snprintf(p, sizeof(p), "%s/h.csv", f->dir);
    fx_ingest(f->ctx, "history", p, NULL);
    if (ri_history_load(f->ctx, &f->h) != RI_OK || ri_history_n_stages(f->h) != 4 ||
        ri_history_stage_role(f->h, ST_WON) != RI_STATUS_WON)
        abort();
}

static void release(struct fixture *f)
{
    ri_history_free(f->h);
    ri_ctx_free(f->ctx);
    fx_remove_tree(f->dir);
}

/* ------------------------------------------------------------------ hand-built chains */

TEST(buckets)
{
    CHECK_EQ_INT(ri_stage_model_bucket(-3), 0);
    CHECK_EQ_INT(ri_stage_model_bucket(RI_NAN), 0);
    CHECK_EQ_INT(ri_stage_model_bucket(0), 0);
    CHECK_EQ_INT(ri_stage_model_bucket(6.99), 0);
    CHECK_EQ_INT(ri_stage_model_bucket(7), 1);
    CHECK_EQ_INT(ri_stage_model_bucket(13.99), 1);
    CHECK_EQ_INT(ri_stage_model_bucket(14), 2);
    CHECK_EQ_INT(ri_stage_model_bucket(29.5), 2);
    CHECK_EQ_INT(ri_stage_model_bucket(30), 3);
    CHECK_EQ_INT(ri_stage_model_bucket(60), 4);
    CHECK_EQ_INT(ri_stage_model_bucket(90), 5);
    CHECK_EQ_INT(ri_stage_model_bucket(179.9), 5);
    CHECK_EQ_INT(ri_stage_model_bucket(180), 6);
    CHECK_EQ_INT(ri_stage_model_bucket(1e9), 6);
}

/* The ten deals of the brief: 4 lost from A, 6 reach B, 3 of those win. */
static const struct deal_spec plain[] = {
    {"A2 L", 0, 4},
    {"A2 B3 W", 1, 3},
    {"A2 B3 L", 2, 3},
};

/*
 * E(B) = 3/6 = 0.5; E(A) = 6/10 E(B) + 4/10 * 0 = 0.3. Days: D(B) = 3; D(A) = 2 + 0.6 D(B)
 * = 3.8, the mean cycle (4 x 2 + 6 x 5) / 10. base_rate = 3 won / 10 closed. Visits: 10 in
 * A, 6 in B. A dwell past the data (100 days in A) takes bucket 0's values, the last one
 * any visit reached.
 */
TEST(chain_a_b_won_lost)
{
    struct fixture f;
    struct ri_stage_model m;
    build(&f, plain, RI_ARRAY_SIZE(plain), NULL);
    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(365), NULL, 0, &m) == RI_OK);
    CHECK_EQ_INT(m.n_stages, 4);
    CHECK_EQ_INT(m.deals, 10);
    CHECK_EQ_INT(m.visits, 16);
    CHECK_EQ_INT(m.n[ST_A][0], 10);
    CHECK_EQ_INT(m.n[ST_A][1], 0);
    CHECK_EQ_INT(m.n[ST_B][0], 6);
    CHECK_NEAR(m.base_rate, 0.3, 1e-12);
    CHECK_NEAR(m.base_days, 3.8, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 0.3, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 1), 0.5, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 100), 0.3, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 0), 3, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_A, 0), 3.8, 1e-12);
    /* closed and unknown stages */
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_WON, 5), 1, 0);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_LOST, 5), 0, 0);
    CHECK_NEAR(ri_stage_model_p_win(&m, -1, 5), 0.3, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, 7, 5), 0.3, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_WON, 5), 0, 0);
    CHECK_NEAR(ri_stage_model_days_left(&m, -1, 5), 3.8, 1e-12);
    CHECK(isnan(m.p_win[ST_WON][0]) && isnan(m.p_win[ST_LOST][6]));
    CHECK_EQ_INT(m.role[ST_A], RI_STATUS_OPEN);
    CHECK_EQ_INT(m.role[ST_LOST], RI_STATUS_LOST);
    release(&f);
}

/* Two deals regress from B to A, which makes the chain cyclic. */
static const struct deal_spec regress[] = {
    {"A2 L", 0, 3},
    {"A2 B4 W", 1, 3},
    {"A2 B4 L", 2, 2},
    {"A2 B4 A2 B4 W", 3, 2},
};

/*
 * Visits of A: 10 + 2 = 12; 3 to Lost, 9 to B: q(B|A) = 3/4, q(Lost|A) = 1/4.
 * Visits of B: 3 + 2 + 2 x 2 = 9; 5 to Won, 2 to Lost, 2 to A.
 *   E(A) = 3/4 E(B)
 *   E(B) = 5/9 + 2/9 E(A) = 5/9 + 1/6 E(B)  =>  E(B) = (5/9) / (5/6) = 2/3, E(A) = 1/2
 * (5 of the 10 deals win, as E(A) says for deals that all start in A).
 * Days, with every A visit 2 days and every B visit 4:
 *   D(A) = 2 + 3/4 D(B),  D(B) = 4 + 2/9 D(A)
 *   D(A) = 2 + 3 + 1/6 D(A)  =>  D(A) = 6, D(B) = 4 + 12/9 = 16/3
 * and the mean cycle is (3 x 2 + 3 x 6 + 2 x 6 + 2 x 12) / 10 = 6 as well.
 */
TEST(regression_makes_the_chain_cyclic)
{
    struct fixture f;
    struct ri_stage_model m;
    build(&f, regress, RI_ARRAY_SIZE(regress), NULL);
    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(365), NULL, 0, &m) == RI_OK);
    CHECK_EQ_INT(m.deals, 10);
    CHECK_EQ_INT(m.visits, 21);
    CHECK_EQ_INT(m.n[ST_A][0], 12);
    CHECK_EQ_INT(m.n[ST_B][0], 9);
    CHECK_NEAR(m.base_rate, 0.5, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 0.5, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 0), 2.0 / 3, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_A, 0), 6, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 0), 16.0 / 3, 1e-12);
    CHECK_NEAR(m.base_days, 6, 1e-12);
    release(&f);
}

/* Quick deals in B mostly win; deals that sit 40 days in B mostly lose. */
static const struct deal_spec dwell[] = {
    {"A1 B3 W", 0, 30},
    {"A1 B3 L", 1, 10},
    {"A1 B40 W", 2, 4},
    {"A1 B40 L", 3, 16},
};

/*
 * B: 60 visits reach bucket 0 and 40 leave in it (3 days): hazard 40/60 = 2/3, and with
 * 40 >= RI_SM_MIN_VISITS leaving, its own q: Won 30/40 = 3/4. The other 20 reach buckets 1
 * [7,14), 2 [14,30) and 3 [30,60) and leave in bucket 3 (40 days): hazard 0 in buckets 1
 * and 2; bucket 3 is the last reached (open-ended), q from its own 20 exits: Won 4/20.
 *   V(B,3) = 0.2;  V(B,2) = V(B,1) = V(B,3) = 0.2 (no one leaves there)
 *   V(B,0) = 2/3 x 3/4 + 1/3 x 0.2 = 0.5 + 1/15 = 17/30 (= 34 won / 60, as it must be)
 *   E(A) = E(B) = 17/30 (every A visit moves to B)
 * Buckets 4 to 6, which no visit reached, take bucket 3's 0.2.
 * Remaining days in B: from bucket 3, 40 - 30 = 10; bucket 2: (30 - 14) + 10 = 26;
 * bucket 1: 7 + 26 = 33; bucket 0: 2/3 x 3 + 1/3 x (7 + 33) = 46/3 = 15.33, the mean
 * dwell (40 x 3 + 20 x 40) / 60. D(A) = 1 + 46/3 = 49/3.
 */
TEST(long_dwell_in_b_lowers_p_win)
{
    struct fixture f;
    struct ri_stage_model m;
    build(&f, dwell, RI_ARRAY_SIZE(dwell), NULL);
    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(365), NULL, 0, &m) == RI_OK);
    CHECK_EQ_INT(m.n[ST_B][0], 60);
    CHECK_EQ_INT(m.n[ST_B][1], 20);
    CHECK_EQ_INT(m.n[ST_B][3], 20);
    CHECK_EQ_INT(m.n[ST_B][4], 0);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 2), 17.0 / 30, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 10), 0.2, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 20), 0.2, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 35), 0.2, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 200), 0.2, 1e-12);
    CHECK(ri_stage_model_p_win(&m, ST_B, 35) < ri_stage_model_p_win(&m, ST_B, 2));
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 17.0 / 30, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 35), 10, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 20), 26, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 8), 33, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 0), 46.0 / 3, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_A, 0), 49.0 / 3, 1e-9);
    release(&f);
}

/*
 * The ten deals of the brief plus two open ones created on day 88, 2 days in A, then in
 * B since day 90; cutoff day 100, so each has been 10 days in B (bucket 1), censored.
 *   B: reached bucket 0: 6 + 2 = 8, left in it: 6 (hazard 3/4); bucket 1 reached by the
 *      2 open deals only, none left: it is the last reached bucket, open-ended, with the
 *      pooled q (Won 3/6): V(B,1) = 0.5, V(B,0) = 3/4 x 0.5 + 1/4 x 0.5 = 0.5.
 *   A: 12 visits, 8 to B, 4 to Lost: E(A) = 8/12 x 0.5 = 1/3.
 * The open deals add to "reached" and to A's transitions, but nothing to B's.
 * Days in B: bucket 1 has no exit, so its mean dwell is its midpoint 10.5: remaining
 * 10.5 - 7 = 3.5; bucket 0: 3/4 x 3 + 1/4 x (7 + 3.5) = 4.875. D(A) = 2 + 8/12 x 4.875
 * = 5.25. base_rate stays 3/10: open deals are not closed.
 */
TEST(censored_visits_count_as_reached_only)
{
    struct fixture f;
    struct ri_stage_model m;
    struct deal_spec specs[RI_ARRAY_SIZE(plain) + 1];
    memcpy(specs, plain, sizeof(plain));
    specs[RI_ARRAY_SIZE(plain)] = (struct deal_spec){"A2 B", 88, 2};
    build(&f, specs, RI_ARRAY_SIZE(specs), NULL);
    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(100), NULL, 0, &m) == RI_OK);
    CHECK_EQ_INT(m.deals, 12);
    CHECK_EQ_INT(m.visits, 20);
    CHECK_EQ_INT(m.n[ST_A][0], 12);
    CHECK_EQ_INT(m.n[ST_B][0], 8);
    CHECK_EQ_INT(m.n[ST_B][1], 2);
    CHECK_EQ_INT(m.n[ST_B][2], 0);
    CHECK_NEAR(m.base_rate, 0.3, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 0), 0.5, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 10), 0.5, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 1.0 / 3, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 10), 3.5, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_B, 0), 4.875, 1e-12);
    CHECK_NEAR(ri_stage_model_days_left(&m, ST_A, 0), 5.25, 1e-12);
    /* on day 89 the open deals are in A, since day 88: one censored visit each */
    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(89), NULL, 0, &m) == RI_OK);
    CHECK_EQ_INT(m.n[ST_A][0], 12);
    CHECK_EQ_INT(m.n[ST_B][0], 6);
    /* A: bucket 0 is the last one any visit reached, so it is open-ended: all of A
     * leaves with the pooled q (6/10 to B), and E(A) is still 0.6 x 0.5 */
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 0.3, 1e-12);
    release(&f);
}

/*
 * The ten deals of the brief, plus X, which has no created date (A from day 5, B on day 7,
 * won on day 10: its A visit has no known start), and S, won on day 20 with no history.
 *   all:    B visits 7 (X's B adds a win): E(B) = 4/7, E(A) = 6/10 x 4/7 = 12/35 (X's A
 *           visit adds nothing); base_rate = (3 + 1 + 1) / 12 = 5/12; deals 12, visits 17
 *   strict: X and S have incomplete paths: the numbers of the first test, 10 deals
 */
TEST(strict_keeps_complete_paths_only)
{
    struct fixture f;
    struct ri_stage_model m;
    struct deal_spec specs[RI_ARRAY_SIZE(plain) + 1];
    memcpy(specs, plain, sizeof(plain));
    specs[RI_ARRAY_SIZE(plain)] = (struct deal_spec){"A2 B3 W", -1, 1};
    build(&f, specs, RI_ARRAY_SIZE(specs), "S,2024-01-01,Won,100,2024-01-21\n");
    REQUIRE(ri_history_created(f.h, (size_t)ri_history_find(f.h, "D010")) == RI_TIME_NONE);

    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(365), NULL, 0, &m) == RI_OK);
    CHECK_EQ_INT(m.strict, 0);
    CHECK_EQ_INT(m.deals, 12);
    CHECK_EQ_INT(m.visits, 17);
    CHECK_NEAR(m.base_rate, 5.0 / 12, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 0), 4.0 / 7, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 12.0 / 35, 1e-12);

    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(365), NULL, 1, &m) == RI_OK);
    CHECK_EQ_INT(m.strict, 1);
    CHECK_EQ_INT(m.deals, 10);
    CHECK_EQ_INT(m.visits, 16);
    CHECK_NEAR(m.base_rate, 0.3, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 0), 0.5, 1e-12);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 0.3, 1e-12);
    release(&f);
}

/* Nothing to learn from: before any deal exists, or with every deal left out. */
TEST(no_stage_change_is_notfound)
{
    struct fixture f;
    struct ri_stage_model m;
    uint8_t *none;
    build(&f, plain, RI_ARRAY_SIZE(plain), NULL);
    CHECK(ri_stage_model_fit(f.ctx, f.h, day(-1), NULL, 0, &m) == RI_ERR_NOTFOUND);
    /* on day 1 only the first four deals exist, all still in A */
    CHECK(ri_stage_model_fit(f.ctx, f.h, day(1), NULL, 0, &m) == RI_ERR_NOTFOUND);
    none = calloc(ri_history_n_deals(f.h), 1);
    REQUIRE(none != NULL);
    CHECK(ri_stage_model_fit(f.ctx, f.h, day(365), none, 0, &m) == RI_ERR_NOTFOUND);
    /* with only the deals of the first line (4 lost from A): E(A) = 0, E(B) unknown */
    for (int j = 0; j < 4; j++) {
        char id[16];
        snprintf(id, sizeof(id), "D%03d", j);
        none[ri_history_find(f.h, id)] = 1;
    }
    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(365), none, 0, &m) == RI_OK);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_A, 0), 0, 0);
    CHECK_NEAR(ri_stage_model_p_win(&m, ST_B, 0), 0, 0); /* base_rate: 0 of 4 won */
    free(none);
    release(&f);
}

static bool same_model(const struct ri_stage_model *a, const struct ri_stage_model *b)
{
    return a->n_stages == b->n_stages && a->cutoff == b->cutoff && a->strict == b->strict &&
           a->deals == b->deals && a->visits == b->visits &&
           !memcmp(&a->base_rate, &b->base_rate, sizeof(double)) &&
           !memcmp(&a->base_days, &b->base_days, sizeof(double)) &&
           !memcmp(a->p_win, b->p_win, sizeof(a->p_win)) &&
           !memcmp(a->days_left, b->days_left, sizeof(a->days_left)) &&
           !memcmp(a->n, b->n, sizeof(a->n)) && !memcmp(a->role, b->role, sizeof(a->role));
}

TEST(save_load_round_trip)
{
    struct fixture f;
    struct ri_stage_model m, back;
    struct ri_buf t1 = RI_BUF_INIT, t2 = RI_BUF_INIT, bad = RI_BUF_INIT;
    const char *eol;
    build(&f, regress, RI_ARRAY_SIZE(regress), NULL);
    REQUIRE(ri_stage_model_fit(f.ctx, f.h, day(365), NULL, 1, &m) == RI_OK);
    REQUIRE(ri_stage_model_save(&m, &t1) == RI_OK);
    CHECK(!strncmp(t1.buf, "stagemodel 1\n", 13));
    REQUIRE(ri_stage_model_load(&back, t1.buf, t1.len) == RI_OK);
    /* every number bit for bit (2/3 and 16/3 need all 17 digits) */
    CHECK(same_model(&m, &back));
    REQUIRE(ri_stage_model_save(&back, &t2) == RI_OK);
    CHECK_STR(t1.buf, t2.buf);

    /* malformed texts */
    CHECK(ri_stage_model_load(&back, "stagemodel 2\n", 13) == RI_ERR_PARSE);
    CHECK(ri_stage_model_load(&back, t1.buf, t1.len - 1) == RI_OK); /* the final newline */
    eol = strrchr(t1.buf, 's');                                     /* the last stage line */
    REQUIRE(eol != NULL);
    CHECK(ri_stage_model_load(&back, t1.buf, (size_t)(eol - t1.buf)) == RI_ERR_PARSE);
    ri_buf_addn(&bad, t1.buf, t1.len);
    ri_buf_adds(&bad, "7\n");
    CHECK(ri_stage_model_load(&back, bad.buf, bad.len) == RI_ERR_PARSE);
    ri_buf_reset(&bad);
    ri_buf_adds(&bad, "stagemodel 1\nn_stages 33\n");
    CHECK(ri_stage_model_load(&back, bad.buf, bad.len) == RI_ERR_PARSE);
    ri_buf_reset(&bad);
    ri_buf_adds(&bad, t1.buf);
    bad.buf[strlen("stagemodel 1\nn_stages 4\ncutoff 1")] = 'x';
    CHECK(ri_stage_model_load(&back, bad.buf, bad.len) == RI_ERR_PARSE);
    CHECK(ri_stage_model_load(&back, NULL, 0) == RI_ERR_PARSE);
    ri_buf_release(&t1);
    ri_buf_release(&t2);
    ri_buf_release(&bad);
    release(&f);
}

/* ------------------------------------------------------------------ simulated pipeline */

/* AUC by counting pairs: the share of (won, lost) pairs the score orders right, ties
 * counting half. */
static double auc_pairs(const double *p, const uint8_t *y, size_t n)
{
    double good = 0, pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (!y[i])
            continue;
        for (size_t j = 0; j < n; j++) {
            if (y[j])
                continue;
            pairs += 1;
            if (p[i] > p[j])
                good += 1;
            else if (!(p[i] < p[j]))
                good += 0.5;
        }
    }
    return pairs > 0 ? good / pairs : RI_NAN;
}

/*
 * A simulated pipeline of 4,000 deals, fitted on what was known on 2025-01-01 (about 1,600
 * deals). Every stage entry after that date, of the deals closed in 2025, is scored with
 * P(win) at entry (dwell 0) and labelled with the deal's outcome. The scores must rank
 * wins above losses (AUC > 0.6) and their mean must be within 0.05 of the entries'
 * observed win rate. The window stops at 2026-01-01: the simulator plants a decline for
 * deals created after that, which no model fitted a year earlier can know. Over seeds 1
 * to 12 the AUC was 0.66 to 0.67 and the gap in means at most 0.045 (0.015 for seed 7);
 * with 2,000 deals one seed in eleven passed 0.05, the entries of ~700 deals being noisy.
 */
TEST(simulated_pipeline_auc_and_calibration)
{
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    struct ri_ctx *c = ri_ctx_new();
    struct ri_history *h = NULL;
    struct ri_stage_model m;
    struct ri_stage_visit v[64];
    char sdir[64], path[160];
    ri_time cutoff = day(366), end = day(731), asof = 0; /* 2025-01-01, 2026-01-01 */
    size_t nd, n = 0, cap = 0;
    double *p = NULL, mean_p = 0, mean_y = 0, auc;
    uint8_t *y = NULL;

    REQUIRE(ri_parse_date("2026-06-30", 10, RI_DATE_ISO, &asof) == RI_OK);
    snprintf(sdir, sizeof(sdir), "/tmp/ri-smsim-XXXXXX");
    REQUIRE(mkdtemp(sdir) != NULL);
    so.outdir = sdir;
    so.deals = 4000;
    so.seed = 7;
    REQUIRE(ri_simulate(c, &so, &sr) == RI_OK);
    snprintf(path, sizeof(path), "%s/t.db", sdir);
    REQUIRE(ri_store_open(c, path, RI_OPEN_CREATE) == RI_OK);
    snprintf(path, sizeof(path), "%s/opportunities.csv", sdir);
    fx_ingest(c, "opportunities", path, NULL);
    snprintf(path, sizeof(path), "%s/stage_history.csv", sdir);
    fx_ingest(c, "history", path, NULL);
    REQUIRE(ri_history_load(c, &h) == RI_OK);
    REQUIRE(ri_stage_model_fit(c, h, cutoff, NULL, 0, &m) == RI_OK);
    CHECK(m.deals > 1000);
    CHECK(m.base_rate > 0.2 && m.base_rate < 0.5);

    nd = ri_history_n_deals(h);
    for (size_t i = 0; i < nd; i++) {
        size_t k, np = ri_history_path(h, i, asof, v, RI_ARRAY_SIZE(v));
        const struct ri_stage_visit *last;
        enum ri_status outcome;
        if (np == 0 || np > RI_ARRAY_SIZE(v))
            continue;
        last = &v[np - 1];
        outcome = ri_history_stage_role(h, last->stage);
        if (outcome == RI_STATUS_OPEN || last->entered <= cutoff || last->entered > end)
            continue;
        for (k = 0; k + 1 < np; k++) {
            if (ri_history_stage_role(h, v[k].stage) != RI_STATUS_OPEN ||
                v[k].entered == RI_TIME_NONE || v[k].entered <= cutoff)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                p = realloc(p, cap * sizeof(*p));
                y = realloc(y, cap);
                REQUIRE(p && y);
            }
            p[n] = ri_stage_model_p_win(&m, v[k].stage, 0);
            y[n] = outcome == RI_STATUS_WON;
            mean_p += p[n];
            mean_y += y[n];
            n++;
        }
    }
    REQUIRE(n > 500);
    mean_p /= (double)n;
    mean_y /= (double)n;
    auc = auc_pairs(p, y, n);
    if (auc <= 0.6 || fabs(mean_p - mean_y) >= 0.05)
        fprintf(stderr, "entries %zu, auc %.3f, mean p %.3f, win rate %.3f\n", n, auc, mean_p,
                mean_y);
    CHECK(auc > 0.6);
    CHECK(fabs(mean_p - mean_y) < 0.05);
    free(p);
    free(y);
    ri_history_free(h);
    ri_ctx_free(c);
    fx_remove_tree(sdir);
}

int main(void)
{
    BEGIN("test_stagemodel");
    ri_set_log_level(RI_LOG_ERROR);
    RUN(buckets);
    RUN(chain_a_b_won_lost);
    RUN(regression_makes_the_chain_cyclic);
    RUN(long_dwell_in_b_lowers_p_win);
    RUN(censored_visits_count_as_reached_only);
    RUN(strict_keeps_complete_paths_only);
    RUN(no_stage_change_is_notfound);
    RUN(save_load_round_trip);
    RUN(simulated_pipeline_auc_and_calibration);
    return DONE();
}
