/*
 * test_funnel.c - the stage funnel, zombies and sales cycles on hand-built deals, and
 * the funnel and Kaplan-Meier against an independent reading of a simulated pipeline.
 *
 * Stages (configured order): Prospecting(0) < Qualification(1) < Proposal(2) <
 * Negotiation(3, late), then Closed Won(4), Closed Lost(5). Dates are 2024 unless said;
 * 2024 is a leap year (29 February). Every expected value is worked out in a comment.
 *
 * Hand-written deals (segment 0 unless said), paths as stage@date:
 *   A  won   P@01-01 Q@01-11 Pr@01-21 N@02-10 Won@03-01   dwell P10 Q10 Pr20 N20
 *   B  won   P@01-01 Pr@01-06 N@01-16 Won@02-05           P5 Pr10 N20, one skip
 *   C  lost  P@01-01 Q@01-21 Lost@02-20                   P20 Q30
 *   D  lost  P@02-01 Q@02-06 Pr@02-16 Lost@03-17          P5 Q10 Pr30
 *   E  won   P@01-01 Q@01-11 Pr@01-21 Q@01-31 Pr@02-10 N@02-20 Won@03-01
 *                                                         P10 Q20 Pr20 N10, one regression
 *   F  lost  P@03-01 Q@03-11 Pr@03-21 N@03-31 Lost@04-30  P10 Q10 Pr10 N30
 *   G  lost  P@02-01 Lost@02-11                           P10
 *   H  won, no history: created 01-15, closed 03-15
 *   I  won, no history: created 2023-10-01, closed 2023-12-01
 *   J  open  P@03-01 Q@04-01, expected close 05-31, amount 1000
 *   K1 open  P@06-01 Pr@06-21, close 09-30, amount 2000 (segment 1)
 *   K2 open  P@06-01 Pr@06-21, close 09-30, amount 3000 (segment 2)
 *   L  open  P@06-25, close 08-31, amount 4000
 *   M  open  P@06-01 Q@06-16, expected close 06-20, amount 500
 * Generated deals, all created and closed in 2023-H2 (d0 = 2023-07-03 + j days):
 *   W00..W58 won: P@d0 Q@d0+20 Pr@d0+40 N@d0+40+p Won@d0+42+p, so dwell P20 Q20 Pr p N2;
 *            W00..W29 segment 1 with p = 1 + j % 3 (ten each of 1, 2, 3),
 *            W30..W58 segment 2 with p = 40
 *   X00..X09 lost: P@d0 Lost@d0+10
 *   Y00..Y09 lost: P@d0 Q@d0+20 Pr@d0+40 N@d0+45 Lost@d0+55
 */
#include "harness.h"
#include "fixture.h"
#include "funnel.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static struct ri_ctx *ctx;
static struct ri_history *h;
static int32_t *segs;
static uint8_t *hand; /* 1 for the hand-written deals A..M */

static ri_time day(const char *iso)
{
    ri_time t = 0;
    if (ri_parse_date(iso, strlen(iso), RI_DATE_ISO, &t) != RI_OK)
        abort();
    return t;
}

static const char *fmt_day(ri_time t, char *buf)
{
    ri_format_date(t, buf, 11);
    return buf;
}

static size_t deal(const char *id)
{
    ptrdiff_t i = ri_history_find(h, id);
    if (i < 0)
        abort();
    return (size_t)i;
}

/* Appends the generated deals of one kind to the opportunities and history texts. */
static void gen_deals(struct ri_buf *o, struct ri_buf *hs, char kind, int count)
{
    ri_time base = day("2023-07-03");
    char a[11], b[11];
    for (int j = 0; j < count; j++) {
        ri_time d0 = base + (ri_time)j * RI_DAY;
        int p = j < 30 ? 1 + j % 3 : 40;
        /* the offset of each stage entry in days, -1 for a stage left out */
        int w[] = {0, 20, 40, 40 + p, 42 + p}, x[] = {0, -1, -1, -1, 10}, y[] = {0, 20, 40, 45, 55};
        const int *off = kind == 'W' ? w : kind == 'X' ? x : y;
        const char *names[] = {"Prospecting", "Qualification", "Proposal", "Negotiation",
                               kind == 'W' ? "Closed Won" : "Closed Lost"};
        ri_time close = d0 + (ri_time)off[4] * RI_DAY;
        ri_buf_addf(o, "%c%02d,%s,%s,100,%s,gen\n", kind, j, fmt_day(d0, a), names[4],
                    fmt_day(close, b));
        for (int k = 0; k < 5; k++)
            if (off[k] >= 0)
                ri_buf_addf(hs, "%c%02d,%s,%s,\n", kind, j, names[k],
                            fmt_day(d0 + (ri_time)off[k] * RI_DAY, a));
    }
}

static void setup(void)
{
    struct ri_buf o = RI_BUF_INIT, hs = RI_BUF_INIT;
    char p[256], m[256];
    size_t n;
    fx_fresh_dir("funnel");
    fx_write("map.ini", "[stages]\n"
                        "order = Prospecting, Qualification, Proposal, Negotiation, Closed Won, "
                        "Closed Lost\n"
                        "won = Closed Won\nlost = Closed Lost\nlate = Negotiation\n");
    ri_buf_adds(&o, "id,created_date,stage,amount,close_date,owner\n"
                    "A,2024-01-01,Closed Won,100,2024-03-01,ann\n"
                    "B,2024-01-01,Closed Won,100,2024-02-05,ann\n"
                    "C,2024-01-01,Closed Lost,100,2024-02-20,ann\n"
                    "D,2024-02-01,Closed Lost,100,2024-03-17,ann\n"
                    "E,2024-01-01,Closed Won,100,2024-03-01,ann\n"
                    "F,2024-03-01,Closed Lost,100,2024-04-30,ann\n"
                    "G,2024-02-01,Closed Lost,100,2024-02-11,ann\n"
                    "H,2024-01-15,Closed Won,100,2024-03-15,ann\n"
                    "I,2023-10-01,Closed Won,100,2023-12-01,ann\n"
                    "J,2024-03-01,Qualification,1000,2024-05-31,ann\n"
                    "K1,2024-06-01,Proposal,2000,2024-09-30,ann\n"
                    "K2,2024-06-01,Proposal,3000,2024-09-30,ann\n"
                    "L,2024-06-25,Prospecting,4000,2024-08-31,ann\n"
                    "M,2024-06-01,Qualification,500,2024-06-20,ann\n");
    /* open deals carry their expected close date in the history, as CRM exports do */
    ri_buf_adds(&hs,
                "opportunity_id,stage,changed_at,close_date\n"
                "A,Prospecting,2024-01-01,\nA,Qualification,2024-01-11,\n"
                "A,Proposal,2024-01-21,\nA,Negotiation,2024-02-10,\n"
                "A,Closed Won,2024-03-01,\n"
                "B,Prospecting,2024-01-01,\nB,Proposal,2024-01-06,\n"
                "B,Negotiation,2024-01-16,\nB,Closed Won,2024-02-05,\n"
                "C,Prospecting,2024-01-01,\nC,Qualification,2024-01-21,\n"
                "C,Closed Lost,2024-02-20,\n"
                "D,Prospecting,2024-02-01,\nD,Qualification,2024-02-06,\n"
                "D,Proposal,2024-02-16,\nD,Closed Lost,2024-03-17,\n"
                "E,Prospecting,2024-01-01,\nE,Qualification,2024-01-11,\n"
                "E,Proposal,2024-01-21,\nE,Qualification,2024-01-31,\n"
                "E,Proposal,2024-02-10,\nE,Negotiation,2024-02-20,\n"
                "E,Closed Won,2024-03-01,\n"
                "F,Prospecting,2024-03-01,\nF,Qualification,2024-03-11,\n"
                "F,Proposal,2024-03-21,\nF,Negotiation,2024-03-31,\n"
                "F,Closed Lost,2024-04-30,\n"
                "G,Prospecting,2024-02-01,\nG,Closed Lost,2024-02-11,\n"
                "J,Prospecting,2024-03-01,2024-05-31\nJ,Qualification,2024-04-01,2024-05-31\n"
                "K1,Prospecting,2024-06-01,2024-09-30\nK1,Proposal,2024-06-21,2024-09-30\n"
                "K2,Prospecting,2024-06-01,2024-09-30\nK2,Proposal,2024-06-21,2024-09-30\n"
                "L,Prospecting,2024-06-25,2024-08-31\n"
                "M,Prospecting,2024-06-01,2024-06-20\nM,Qualification,2024-06-16,2024-06-20\n");
    gen_deals(&o, &hs, 'W', 59);
    gen_deals(&o, &hs, 'X', 10);
    gen_deals(&o, &hs, 'Y', 10);
    fx_write("o.csv", o.buf);
    fx_write("h.csv", hs.buf);
    ri_buf_release(&o);
    ri_buf_release(&hs);

    ctx = ri_ctx_new();
    snprintf(p, sizeof(p), "%s/t.db", fx_dir);
    if (ri_store_open(ctx, p, RI_OPEN_CREATE) != RI_OK)
        abort();
    snprintf(p, sizeof(p), "%s/o.csv", fx_dir);
    snprintf(m, sizeof(m), "%s/map.ini", fx_dir);
    fx_ingest(ctx, "opportunities", p, m);
    snprintf(p, sizeof(p), "%s/h.csv", fx_dir);
    fx_ingest(ctx, "history", p, NULL);
    if (ri_history_load(ctx, &h) != RI_OK)
        abort();
    n = ri_history_n_deals(h);
    segs = calloc(n, sizeof(*segs));
    hand = calloc(n, sizeof(*hand));
    if (!segs || !hand)
        abort();
    for (size_t i = 0; i < n; i++) {
        const char *id = ri_history_deal_id(h, i);
        long j = strtol(id + 1, NULL, 10);
        hand[i] = id[0] < 'W';
        segs[i] = id[0] == 'W' ? (j < 30 ? 1 : 2) : 0;
    }
    segs[deal("K1")] = 1;
    segs[deal("K2")] = 2;
}

TEST(paths_follow_the_replay_rules)
{
    struct ri_stage_visit v[8];
    size_t n;
    CHECK_EQ_INT(ri_history_n_deals(h), 14 + 59 + 10 + 10);
    /* E: six visits; the regression shows as a second Qualification and Proposal */
    n = ri_history_path(h, deal("E"), day("2024-07-01"), v, 8);
    REQUIRE(n == 7);
    CHECK_EQ_INT(v[0].stage, 0);
    CHECK_EQ_INT(v[0].entered, day("2024-01-01"));
    CHECK_EQ_INT(v[0].left, day("2024-01-11"));
    CHECK_EQ_INT(v[3].stage, 1);
    CHECK_EQ_INT(v[3].entered, day("2024-01-31"));
    CHECK_EQ_INT(v[3].left, day("2024-02-10"));
    CHECK_EQ_INT(v[6].stage, 4);
    CHECK_EQ_INT(v[6].entered, day("2024-03-01"));
    CHECK_EQ_INT(v[6].left, RI_TIME_NONE);
    /* cut at a date: the visit running then has not been left */
    n = ri_history_path(h, deal("E"), day("2024-01-25"), v, 8);
    REQUIRE(n == 3);
    CHECK_EQ_INT(v[2].stage, 2);
    CHECK_EQ_INT(v[2].left, RI_TIME_NONE);
    /* too little room: the count still says how many there are */
    CHECK_EQ_INT(ri_history_path(h, deal("E"), day("2024-07-01"), v, 2), 7);
    CHECK_EQ_INT(v[1].left, day("2024-01-21"));
    /* H has no events: the row closes it at its close date, from no known stage */
    n = ri_history_path(h, deal("H"), day("2024-07-01"), v, 8);
    REQUIRE(n == 1);
    CHECK_EQ_INT(v[0].stage, 4);
    CHECK_EQ_INT(v[0].entered, day("2024-03-15"));
    CHECK_EQ_INT(ri_history_path(h, deal("H"), day("2024-03-14"), v, 8), 0);
    /* L is not created yet on 2024-06-24 */
    CHECK_EQ_INT(ri_history_path(h, deal("L"), day("2024-06-24"), v, 8), 0);
    CHECK_EQ_INT(ri_history_path(h, ri_history_n_deals(h), day("2024-06-24"), v, 8), 0);
}

/*
 * 2024-H1 cohort: A..H closed in [2024-01-01, 2024-07-01): 8 deals, won A B E H, lost
 * C D F G; H has no path. Over the seven paths:
 *   reached   P: A B C D E F G = 7   Q: A C D E F = 5   Pr: A B D E F = 5   N: A B E F = 4
 *   advanced  P: all but G = 6;  Q: A E (won), D F (went further) = 4 (C stopped);
 *             Pr: A B E (won), F = 4;  N: A B E = 3
 *   won       P: 3   Q: A E = 2   Pr: 3   N: 3
 *   exits     P: G (lost)  Q: C (lost)  Pr: D (lost)  N: A B E F (F lost)
 *   lost_share: each stage holds 1 of the 4 lost deals = 0.25
 * Dwell (type-7 quantiles):
 *   P  won {5,10,10}: median 10, P90 10;   lost {5,10,10,20}: median 10, P90 10+0.7*10 = 17
 *   Q  won {10,20}: median 15, P90 19;      lost {10,10,30}: median 10, P90 10+0.8*20 = 26
 *   Pr won {10,20,20}: median 20, P90 20;   lost {10,30}: median 20, P90 10+0.9*20 = 28
 *   N  won {10,20,20}: median 20, P90 20;   lost {30}: 30, 30
 * Paths: B skips (won), E regresses (won), A C D F G clean (1 won of 5).
 * No stage has 5 exits, so there is no concentration test.
 */
TEST(funnel_counts_exits_dwell_and_paths)
{
    struct ri_funnel f;
    const struct ri_funnel_stage *s = f.stages;
    REQUIRE(ri_funnel_compute(ctx, h, day("2024-01-01"), day("2024-07-01"), NULL, NULL, &f) ==
            RI_OK);
    CHECK_EQ_INT(f.cohort, 8);
    CHECK_EQ_INT(f.won, 4);
    CHECK_EQ_INT(f.lost, 4);
    CHECK_EQ_INT(f.no_history, 1);
    REQUIRE(f.n_stages == 4);
    CHECK_STR(s[0].name, "Prospecting");
    CHECK_STR(s[3].name, "Negotiation");
    CHECK_EQ_INT(s[3].stage, 3);
    CHECK_EQ_INT(s[0].reached, 7);
    CHECK_EQ_INT(s[1].reached, 5);
    CHECK_EQ_INT(s[2].reached, 5);
    CHECK_EQ_INT(s[3].reached, 4);
    CHECK_EQ_INT(s[0].advanced, 6);
    CHECK_EQ_INT(s[1].advanced, 4);
    CHECK_EQ_INT(s[2].advanced, 4);
    CHECK_EQ_INT(s[3].advanced, 3);
    CHECK_EQ_INT(s[0].won, 3);
    CHECK_EQ_INT(s[1].won, 2);
    CHECK_EQ_INT(s[2].won, 3);
    CHECK_EQ_INT(s[3].won, 3);
    CHECK_NEAR(s[1].conversion.est, 4.0 / 5, 1e-12);
    CHECK(s[1].conversion.lo < 0.8 && s[1].conversion.hi > 0.8);
    CHECK_NEAR(s[3].win_rate.est, 3.0 / 4, 1e-12);
    for (int j = 0; j < 3; j++) {
        CHECK_EQ_INT(s[j].exits, 1);
        CHECK_EQ_INT(s[j].lost_exits, 1);
        CHECK_NEAR(s[j].lost_share, 0.25, 1e-12);
    }
    CHECK_EQ_INT(s[3].exits, 4);
    CHECK_EQ_INT(s[3].lost_exits, 1);
    CHECK_NEAR(s[3].loss_rate.est, 1.0 / 4, 1e-12); /* lost there / reached = 1/4 */
    CHECK_EQ_INT(s[0].n_dwell_won, 3);
    CHECK_EQ_INT(s[0].n_dwell_lost, 4);
    CHECK_NEAR(s[0].dwell_won_median, 10, 1e-9);
    CHECK_NEAR(s[0].dwell_won_p90, 10, 1e-9);
    CHECK_NEAR(s[0].dwell_lost_median, 10, 1e-9);
    CHECK_NEAR(s[0].dwell_lost_p90, 17, 1e-9);
    CHECK_NEAR(s[1].dwell_won_median, 15, 1e-9);
    CHECK_NEAR(s[1].dwell_won_p90, 19, 1e-9);
    CHECK_NEAR(s[1].dwell_lost_median, 10, 1e-9);
    CHECK_NEAR(s[1].dwell_lost_p90, 26, 1e-9);
    CHECK_NEAR(s[2].dwell_won_median, 20, 1e-9);
    CHECK_NEAR(s[2].dwell_won_p90, 20, 1e-9);
    CHECK_NEAR(s[2].dwell_lost_median, 20, 1e-9);
    CHECK_NEAR(s[2].dwell_lost_p90, 28, 1e-9);
    CHECK_NEAR(s[3].dwell_won_median, 20, 1e-9);
    CHECK_NEAR(s[3].dwell_lost_median, 30, 1e-9);
    CHECK_NEAR(s[3].dwell_lost_p90, 30, 1e-9);
    CHECK_EQ_INT(f.skip_n, 1);
    CHECK_EQ_INT(f.skip_won, 1);
    CHECK_EQ_INT(f.regress_n, 1);
    CHECK_EQ_INT(f.regress_won, 1);
    CHECK_EQ_INT(f.clean_n, 5);
    CHECK_EQ_INT(f.clean_won, 1);
    CHECK_NEAR(f.clean_wr.est, 0.2, 1e-12);
    /* loss rates (lost there / reached) of the stages reached by 5 or more: Prospecting
     * 1/7, Qualification 1/5, Proposal 1/5 (17 reached, 3 lost). Expected lost 7*3/17 =
     * 1.2353, 5*3/17 = .88235 (twice); chi2 = .04482 + .00960 + 2 (.01569 + .00336) =
     * .0925 on 2 df, whose upper tail is exp(-x/2) = .955. The tie between Qualification
     * and Proposal (1/5, 5 reached each) goes to the first: not concentrated. */
    CHECK_NEAR(f.loss_chisq, 0.0925, 5e-4);
    CHECK_NEAR(f.loss_p, exp(-f.loss_chisq / 2), 1e-9);
    CHECK_EQ_INT(f.loss_stage, 1);
    CHECK_EQ_INT(f.losses_concentrated, 0);
}

/* include[] narrows the cohort: without B there is no skip path and 4 reach Negotiation
 * minus B = 3; a period with nothing closed is empty; an empty period is refused. */
TEST(funnel_selection_and_errors)
{
    struct ri_funnel f;
    size_t n = ri_history_n_deals(h);
    uint8_t *inc = calloc(n, 1);
    REQUIRE(inc != NULL);
    for (size_t i = 0; i < n; i++)
        inc[i] = 1;
    inc[deal("B")] = 0;
    CHECK(ri_funnel_compute(ctx, h, day("2024-01-01"), day("2024-07-01"), inc, NULL, &f) == RI_OK);
    CHECK_EQ_INT(f.cohort, 7);
    CHECK_EQ_INT(f.skip_n, 0);
    CHECK_EQ_INT(f.stages[3].reached, 3);
    free(inc);
    CHECK(ri_funnel_compute(ctx, h, day("2025-01-01"), day("2025-02-01"), NULL, NULL, &f) == RI_OK);
    CHECK_EQ_INT(f.cohort, 0);
    CHECK(isnan(f.stages[0].conversion.est));
    CHECK(isnan(f.stages[0].dwell_won_median));
    CHECK(ri_funnel_compute(ctx, h, day("2024-07-01"), day("2024-07-01"), NULL, NULL, &f) ==
          RI_ERR_INVALID);
    CHECK_EQ_INT(f.cohort, 0);
}

/*
 * 2023-H2 cohort: W (59 won), X and Y (10 lost each), and I (won, no path): 80 deals.
 * X is lost in Prospecting, Y in Negotiation; W goes through every stage. A stage's loss
 * rate is lost there / reached: Prospecting 10/79 = .127, Qualification 0/69,
 * Proposal 0/69, Negotiation 10/69 = .145 (the highest). The chi-square statistic of
 * that 2 x 4 table is recomputed below from the counts the test asserts (expected lost =
 * reached * 20/286): about 20.2 on 3 df, p ~ 1.5e-4. Negotiation's Wilson lower bound
 * (10/69: .081) is above the pooled rate of the other stages, 10/217 = .046: concentrated.
 */
TEST(losses_concentrated_in_one_stage)
{
    struct ri_funnel f;
    double stat = 0;
    uint64_t lost_at[4] = {10, 0, 0, 10}, reached[4] = {79, 69, 69, 69};
    REQUIRE(ri_funnel_compute(ctx, h, day("2023-07-01"), day("2024-01-01"), NULL, NULL, &f) ==
            RI_OK);
    CHECK_EQ_INT(f.cohort, 80);
    CHECK_EQ_INT(f.won, 60);
    CHECK_EQ_INT(f.lost, 20);
    CHECK_EQ_INT(f.no_history, 1);
    for (int j = 0; j < 4; j++) {
        double e = (double)reached[j] * 20.0 / 286.0, o = (double)lost_at[j];
        CHECK_EQ_INT(f.stages[j].reached, reached[j]);
        CHECK_EQ_INT(f.stages[j].lost_exits, lost_at[j]);
        stat += (o - e) * (o - e) / e;
        stat += ((double)reached[j] - o - ((double)reached[j] - e)) *
                ((double)reached[j] - o - ((double)reached[j] - e)) / ((double)reached[j] - e);
    }
    CHECK_EQ_INT(f.stages[0].exits, 10);
    CHECK_EQ_INT(f.stages[3].exits, 69);
    CHECK_NEAR(f.loss_chisq, stat, 1e-9);
    CHECK(f.loss_chisq > 20 && f.loss_chisq < 20.5);
    CHECK_NEAR(f.loss_p, ri_chisq_p(f.loss_chisq, 3), 1e-15);
    CHECK(f.loss_p < 0.001);
    CHECK_EQ_INT(f.loss_stage, 3);
    CHECK_NEAR(f.stages[3].loss_rate.est, 10.0 / 69, 1e-12);
    CHECK(f.stages[3].loss_rate.lo > 10.0 / 217);
    CHECK_EQ_INT(f.losses_concentrated, 1);
}

/*
 * Zombies on 2024-07-01. P90 of the won deals' dwell (A B E and the 59 W; H and I have
 * no path), type 7:
 *   Prospecting {5,10,10, 20 x59}: 20      Qualification {10, 20 x60}: 20
 *   Proposal {1 x10, 2 x10, 3 x10, 10, 20, 20, 40 x29}: x[54.9] = 40
 *   Negotiation {2 x59, 10, 20, 20}: 2
 * Segment 1 (W00..W29, 30 won) has its own Proposal P90: {1,2,3 x10} -> x[26.1] = 3;
 * segment 2 (29 won) and segment 0 fall back to the stage's.
 * Open deals: J (Qualification 91 days > 20, close 05-31 passed by 31 days: both),
 * K1 (Proposal 10 days > its segment's 3: stalled), K2 (Proposal 10 days < 40: live),
 * L (Prospecting 6 days: live), M (Qualification 15 days, close 06-20 passed: overdue).
 * Win rate of deals created since 2023-07-01: 64 won (A B E H I + 59 W), 24 lost (C D F G
 * + 10 X + 10 Y), and the zombies J K1 M: 64/88 closed only, 64/91 with zombies lost.
 */
TEST(zombies_overdue_and_stalled)
{
    struct ri_zombie_report z;
    REQUIRE(ri_zombies_compute(ctx, h, day("2024-07-01"), NULL, segs, NULL, &z) == RI_OK);
    CHECK_NEAR(z.stage_p90[0], 20, 1e-9);
    CHECK_NEAR(z.stage_p90[1], 20, 1e-9);
    CHECK_NEAR(z.stage_p90[2], 40, 1e-9);
    CHECK_NEAR(z.stage_p90[3], 2, 1e-9);
    CHECK(isnan(z.stage_p90[4]) && isnan(z.stage_p90[5]));
    CHECK_EQ_INT(z.open, 5);
    CHECK_EQ_INT(z.overdue, 2);
    CHECK_EQ_INT(z.stalled, 2);
    CHECK_EQ_INT(z.zombies, 3);
    CHECK_NEAR(z.open_amount, 10500, 1e-9);
    CHECK_NEAR(z.zombie_amount, 3500, 1e-9);
    CHECK_NEAR(z.live_amount, 7000, 1e-9);
    REQUIRE(z.n_list == 3);
    /* largest first: K1 2000, J 1000, M 500 */
    CHECK_EQ_INT(z.list[0].deal, deal("K1"));
    CHECK_EQ_INT(z.list[0].stalled, 1);
    CHECK_EQ_INT(z.list[0].overdue, 0);
    CHECK_NEAR(z.list[0].stage_p90, 3, 1e-9);
    CHECK_NEAR(z.list[0].days_in_stage, 10, 1e-9);
    CHECK_EQ_INT(z.list[1].deal, deal("J"));
    CHECK_EQ_INT(z.list[1].stage, 1);
    CHECK_EQ_INT(z.list[1].overdue, 1);
    CHECK_EQ_INT(z.list[1].stalled, 1);
    CHECK_NEAR(z.list[1].days_overdue, 31, 1e-9);
    CHECK_NEAR(z.list[1].days_in_stage, 91, 1e-9);
    CHECK_NEAR(z.list[1].stage_p90, 20, 1e-9);
    CHECK_EQ_INT(z.list[2].deal, deal("M"));
    CHECK_EQ_INT(z.list[2].overdue, 1);
    CHECK_EQ_INT(z.list[2].stalled, 0);
    CHECK_NEAR(z.list[2].days_overdue, 11, 1e-9);
    CHECK_NEAR(z.list[2].amount, 500, 1e-9);
    CHECK_NEAR(z.win_rate_closed.est, 64.0 / 88, 1e-12);
    CHECK_NEAR(z.win_rate_with_zombies.est, 64.0 / 91, 1e-12);
    /* without segments K1 is held to the stage's 40 days and is live */
    REQUIRE(ri_zombies_compute(ctx, h, day("2024-07-01"), NULL, NULL, NULL, &z) == RI_OK);
    CHECK_EQ_INT(z.zombies, 2);
    CHECK_EQ_INT(z.stalled, 1);
}

/*
 * Sales cycles on 2024-07-01 over the hand-written deals (include = A..M).
 * Closed, close - created: G 10, B 35, D 45, C 50, A E F H 60, I 61 (2023-10-01..12-01).
 * Open, censored at their age: L 6, K1 K2 M 30, J 122. n = 14.
 *   KM: S(10) = 12/13; at 35 9 at risk: * 8/9; 45: * 7/8; 50: * 6/7 -> 0.615;
 *       60: 6 at risk, 4 events: * 2/6 -> 0.205 (median 60); 61: * 1/2 -> 0.103 > 0.1,
 *       and J stays censored: the P90 is not reached (NAN).
 *   closed only: mean 441/9 = 49, median 60, P90 x[7.2] = 60 + 0.2 * 1 = 60.2.
 * Segments: 0 holds all but K1 and K2 (12 deals, 9 closed, median 60); 1 and 2 one
 * censored deal each (median NAN).
 * By stage, from the first entry into the stage to close (or to as-of, censored):
 *   Prospecting = the cycle of the 12 deals with a path: 6c 10 30c 30c 30c 35 45 50 60 60
 *     60 122c: S(50) = 10/11 * 4/7 = 0.52, S(60) = 0.13: median 60
 *   Qualification: C 30, D 40, A E F 50, M 15c, J 91c: S(40) = 5/6 * 4/5, S(50) = 1/6:
 *     median 50
 *   Proposal: B D 30, A E F 40, K1 K2 10c: S(30) = 3/5, S(40) = 0: median 40; mean 36
 *   Negotiation: E 10, A B 20, F 30: median 20, P90 30; closed P90 x[2.7] = 27
 */
TEST(cycle_kaplan_meier_by_segment_and_stage)
{
    struct ri_cycle_report r;
    REQUIRE(ri_cycle_compute(ctx, h, day("2024-07-01"), hand, segs, 3, NULL, &r) == RI_OK);
    CHECK_EQ_INT(r.all.key, -1);
    CHECK_EQ_INT(r.all.n, 14);
    CHECK_EQ_INT(r.all.closed, 9);
    CHECK_NEAR(r.all.median.est, 60, 1e-9);
    CHECK(r.all.median.lo <= 60);
    CHECK(isnan(r.all.p90.est));
    CHECK_NEAR(r.all.closed_mean, 49, 1e-9);
    CHECK_NEAR(r.all.closed_median, 60, 1e-9);
    CHECK_NEAR(r.all.closed_p90, 60.2, 1e-9);
    REQUIRE(r.n_seg == 3);
    CHECK_EQ_INT(r.by_seg[0].key, 0);
    CHECK_EQ_INT(r.by_seg[0].n, 12);
    CHECK_EQ_INT(r.by_seg[0].closed, 9);
    CHECK_NEAR(r.by_seg[0].median.est, 60, 1e-9);
    CHECK_EQ_INT(r.by_seg[1].n, 1);
    CHECK_EQ_INT(r.by_seg[1].closed, 0);
    CHECK(isnan(r.by_seg[1].median.est));
    CHECK(isnan(r.by_seg[1].closed_median));
    CHECK_EQ_INT(r.by_seg[2].n, 1);
    REQUIRE(r.n_stage == 4);
    CHECK_EQ_INT(r.by_stage[0].key, 0);
    CHECK_EQ_INT(r.by_stage[0].n, 12);
    CHECK_EQ_INT(r.by_stage[0].closed, 7);
    CHECK_NEAR(r.by_stage[0].median.est, 60, 1e-9);
    CHECK_EQ_INT(r.by_stage[1].n, 7);
    CHECK_EQ_INT(r.by_stage[1].closed, 5);
    CHECK_NEAR(r.by_stage[1].median.est, 50, 1e-9);
    CHECK_EQ_INT(r.by_stage[2].n, 7);
    CHECK_EQ_INT(r.by_stage[2].closed, 5);
    CHECK_NEAR(r.by_stage[2].median.est, 40, 1e-9);
    CHECK_NEAR(r.by_stage[2].closed_mean, 36, 1e-9);
    CHECK_EQ_INT(r.by_stage[3].key, 3);
    CHECK_EQ_INT(r.by_stage[3].n, 4);
    CHECK_NEAR(r.by_stage[3].median.est, 20, 1e-9);
    CHECK_NEAR(r.by_stage[3].p90.est, 30, 1e-9);
    CHECK_NEAR(r.by_stage[3].closed_p90, 27, 1e-9);
    ri_cycle_report_release(&r);
    CHECK(r.by_seg == NULL && r.by_stage == NULL);
    ri_cycle_report_release(NULL);
}

/* ------------------------------------------------------------------ simulated pipeline */

/* Splits one CSV line in place (RFC 4180 quotes, no newlines inside fields). */
static size_t split_csv(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *r = line, *w;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = w = r;
        if (*r == '"') {
            r++;
            while (*r) {
                if (r[0] == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
        } else {
            while (*r && *r != ',')
                *w++ = *r++;
        }
        if (*r != ',') {
            *w = '\0';
            break;
        }
        r++;
        *w = '\0';
    }
    return n;
}

static int column(char **f, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(f[k], name))
            return (int)k;
    abort();
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * A simulated pipeline, ingested; then, from the raw files alone: each deal's status and
 * dates (opportunities.csv), the open stages its history rows name and the last of them
 * (stage_history.csv). The funnel over every closed deal must have the same cohort,
 * `reached` and `lost_exits` per stage; Kaplan-Meier over the closed deals only (no
 * censoring) must give, as its median, the first cycle length at which half the deals
 * have closed, x(ceil(n/2)) of the sorted cycles, and the closed-only median must be the
 * usual one.
 */
TEST(funnel_and_cycle_match_the_raw_files_of_a_simulated_pipeline)
{
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    struct ri_ctx *c2 = ri_ctx_new();
    struct ri_history *h2 = NULL;
    struct ri_funnel f;
    struct ri_cycle_report cr;
    char sdir[64], path[160], line[4096], *fl[32];
    FILE *fp;
    size_t n, nf, nclosed = 0;
    uint8_t *status, *inc;
    uint32_t *visited;
    int8_t *last;
    double *cyc;
    uint64_t reached[RI_FUNNEL_MAX_STAGES] = {0}, lost_exits[RI_FUNNEL_MAX_STAGES] = {0};
    uint64_t won = 0, lost = 0;
    int c_id, c_status, c_created, c_close, c_stage;

    snprintf(sdir, sizeof(sdir), "/tmp/ri-fsim-XXXXXX");
    REQUIRE(mkdtemp(sdir) != NULL);
    so.outdir = sdir;
    so.deals = 4000;
    so.seed = 5;
    REQUIRE(ri_simulate(c2, &so, &sr) == RI_OK);
    snprintf(path, sizeof(path), "%s/t.db", sdir);
    REQUIRE(ri_store_open(c2, path, RI_OPEN_CREATE) == RI_OK);
    snprintf(path, sizeof(path), "%s/opportunities.csv", sdir);
    fx_ingest(c2, "opportunities", path, NULL);
    snprintf(path, sizeof(path), "%s/stage_history.csv", sdir);
    fx_ingest(c2, "history", path, NULL);
    REQUIRE(ri_history_load(c2, &h2) == RI_OK);
    REQUIRE(ri_funnel_compute(c2, h2, day("2000-01-01"), day("2026-07-01"), NULL, NULL, &f) ==
            RI_OK);
    REQUIRE(f.n_stages == 5);
    n = ri_history_n_deals(h2);
    status = calloc(n, 1);
    inc = calloc(n, 1);
    visited = calloc(n, sizeof(*visited));
    last = malloc(n);
    cyc = calloc(n, sizeof(*cyc));
    REQUIRE(status && inc && visited && last && cyc);
    memset(last, -1, n);

    /* opportunities.csv: status and cycle of each closed deal */
    snprintf(path, sizeof(path), "%s/opportunities.csv", sdir);
    fp = fopen(path, "r");
    REQUIRE(fp != NULL);
    REQUIRE(fgets(line, sizeof(line), fp) != NULL);
    nf = split_csv(line, fl, 32);
    c_id = column(fl, nf, "id");
    c_status = column(fl, nf, "status");
    c_created = column(fl, nf, "created_date");
    c_close = column(fl, nf, "close_date");
    while (fgets(line, sizeof(line), fp)) {
        ptrdiff_t i;
        nf = split_csv(line, fl, 32);
        REQUIRE(nf > (size_t)c_close);
        i = ri_history_find(h2, fl[c_id]);
        REQUIRE(i >= 0);
        if (strcmp(fl[c_status], "won") != 0 && strcmp(fl[c_status], "lost") != 0)
            continue;
        status[i] = (uint8_t)(fl[c_status][0] == 'w' ? RI_STATUS_WON : RI_STATUS_LOST);
        won += status[i] == RI_STATUS_WON;
        lost += status[i] == RI_STATUS_LOST;
        inc[i] = 1;
        cyc[nclosed++] = (double)(day(fl[c_close]) - day(fl[c_created])) / RI_DAY;
    }
    fclose(fp);

    /* stage_history.csv: open stages visited, and the last one */
    snprintf(path, sizeof(path), "%s/stage_history.csv", sdir);
    fp = fopen(path, "r");
    REQUIRE(fp != NULL);
    REQUIRE(fgets(line, sizeof(line), fp) != NULL);
    nf = split_csv(line, fl, 32);
    c_id = column(fl, nf, "opportunity_id");
    c_stage = column(fl, nf, "stage");
    while (fgets(line, sizeof(line), fp)) {
        ptrdiff_t i;
        nf = split_csv(line, fl, 32);
        REQUIRE(nf > (size_t)c_stage);
        i = ri_history_find(h2, fl[c_id]);
        REQUIRE(i >= 0);
        for (size_t j = 0; j < f.n_stages; j++)
            if (!strcmp(fl[c_stage], f.stages[j].name)) {
                visited[i] |= 1u << j;
                last[i] = (int8_t)j;
            }
    }
    fclose(fp);
    for (size_t i = 0; i < n; i++) {
        if (!status[i])
            continue;
        for (size_t j = 0; j < f.n_stages; j++)
            reached[j] += (visited[i] >> j) & 1;
        if (status[i] == RI_STATUS_LOST && last[i] >= 0)
            lost_exits[last[i]]++;
    }

    CHECK_EQ_INT(f.won, won);
    CHECK_EQ_INT(f.lost, lost);
    CHECK_EQ_INT(f.cohort, sr.won + sr.lost);
    CHECK_EQ_INT(f.no_history, 0);
    for (size_t j = 0; j < f.n_stages; j++) {
        CHECK_EQ_INT(f.stages[j].reached, reached[j]);
        CHECK_EQ_INT(f.stages[j].lost_exits, lost_exits[j]);
    }
    CHECK(f.stages[0].reached == won + lost);
    CHECK(lost_exits[0] > 0 && lost_exits[4] > 0);

    /* Kaplan-Meier without censoring against the sorted closed cycles */
    REQUIRE(ri_cycle_compute(c2, h2, day("2026-06-30"), inc, NULL, 0, NULL, &cr) == RI_OK);
    qsort(cyc, nclosed, sizeof(*cyc), cmp_dbl);
    REQUIRE(nclosed > 1000);
    CHECK_EQ_INT(cr.all.n, nclosed);
    CHECK_EQ_INT(cr.all.closed, nclosed);
    CHECK_NEAR(cr.all.median.est, cyc[(nclosed + 1) / 2 - 1], 1e-9);
    CHECK_NEAR(cr.all.p90.est, cyc[(nclosed * 9 + 9) / 10 - 1], 1e-9);
    CHECK_NEAR(cr.all.closed_median,
               nclosed % 2 ? cyc[nclosed / 2] : (cyc[nclosed / 2 - 1] + cyc[nclosed / 2]) / 2,
               1e-9);
    ri_cycle_report_release(&cr);

    free(status);
    free(inc);
    free(visited);
    free(last);
    free(cyc);
    ri_history_free(h2);
    ri_ctx_free(c2);
    fx_remove_tree(sdir);
}

int main(void)
{
    BEGIN("test_funnel");
    ri_set_log_level(RI_LOG_ERROR);
    setup();
    RUN(paths_follow_the_replay_rules);
    RUN(funnel_counts_exits_dwell_and_paths);
    RUN(funnel_selection_and_errors);
    RUN(losses_concentrated_in_one_stage);
    RUN(zombies_overdue_and_stalled);
    RUN(cycle_kaplan_meier_by_segment_and_stage);
    RUN(funnel_and_cycle_match_the_raw_files_of_a_simulated_pipeline);
    free(segs);
    free(hand);
    ri_history_free(h);
    ri_ctx_free(ctx);
    fx_remove_tree(fx_dir);
    return DONE();
}
