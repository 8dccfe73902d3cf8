/*
 * test_history.c - the as-of engine's replay rules, on a hand-built history.
 *
 * Stages (configured order): Prospecting < Qualification < Proposal < Negotiation (late),
 * then Closed Won, Closed Lost. Each expected value below is read off the fixture by
 * hand; the comments give the reasoning.
 */
#include "harness.h"
#include "fixture.h"
#include "revintel.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static struct ri_ctx *ctx;
static struct ri_history *h;
static struct ri_asof_state st;

static void load(const char *kind, const char *name, const char *map)
{
    struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    char p[256], m[256];
    snprintf(p, sizeof(p), "%s/%s", fx_dir, name);
    snprintf(m, sizeof(m), "%s/%s", fx_dir, map ? map : "");
    o.kind = (enum ri_ingest_kind)ri_ingest_kind_parse(kind);
    o.path = p;
    o.map = map ? m : NULL;
    if (ri_ingest(ctx, &o, &rep) != RI_OK) {
        fprintf(stderr, "ingest %s: %s\n", name, ri_errmsg(ctx));
        abort();
    }
}

static ri_time day(const char *iso)
{
    ri_time t = 0;
    ri_parse_date(iso, strlen(iso), RI_DATE_ISO, &t);
    return t;
}

static size_t deal(const char *id)
{
    ptrdiff_t i = ri_history_find(h, id);
    if (i < 0)
        abort();
    return (size_t)i;
}

static const char *stage_at(const char *id, const char *when)
{
    size_t i = deal(id);
    ri_asof(h, day(when), &st);
    return st.stage[i] >= 0 ? ri_history_stage_name(h, st.stage[i]) : "(unknown)";
}

static void setup(void)
{
    char p[256];
    fx_fresh_dir("hist");
    fx_write("map.ini", "[stages]\n"
                        "order = Prospecting, Qualification, Proposal, Negotiation, Closed Won, "
                        "Closed Lost\n"
                        "won = Closed Won\nlost = Closed Lost\nlate = Negotiation\n");
    fx_write("o.csv", "id,created_date,stage,amount,close_date,owner\n"
                      /* P: a path with a skip, a regression and a win */
                      "P,2024-01-01,Closed Won,900,2024-03-01,ann\n"
                      /* Q: history never reaches a terminal row; its row says lost */
                      "Q,2024-01-01,Closed Lost,500,2024-02-15,bob\n"
                      /* R: no history; open */
                      "R,2024-01-10,Proposal,300,2024-06-01,ann\n"
                      /* S: no history; won on 2024-02-20 */
                      "S,2024-01-05,Closed Won,700,2024-02-20,bob\n"
                      /* T: created later than the dates asked */
                      "T,2024-05-01,Prospecting,100,2024-07-01,bob\n"
                      /* Z: open; its history has no close dates; the row\'s is in the past */
                      "Z,2024-01-01,Proposal,250,2024-03-01,ann\n");
    fx_write("h.csv", "opportunity_id,stage,changed_at,amount,close_date\n"
                      "P,Prospecting,2024-01-01,1000,2024-02-01\n"
                      "P,Proposal,2024-01-10,,\n"                   /* skip over Qualification */
                      "P,Qualification,2024-01-20,800,2024-02-15\n" /* regression; push */
                      "P,Negotiation,2024-02-01,900,\n"             /* skip over Proposal */
                      "P,Closed Won,2024-03-01,,\n"
                      "Q,Qualification,2024-01-01,,\n"
                      "Q,Negotiation,2024-02-01,,\n"
                      "Z,Prospecting,2024-01-01,,\n"
                      "Z,Proposal,2024-02-01,,\n");
    ctx = ri_ctx_new();
    snprintf(p, sizeof(p), "%s/t.db", fx_dir);
    if (ri_store_open(ctx, p, RI_OPEN_CREATE) != RI_OK)
        abort();
    load("opportunities", "o.csv", "map.ini");
    load("history", "h.csv", NULL);
    if (ri_history_load(ctx, &h) != RI_OK || ri_asof_state_init(&st, h) != RI_OK)
        abort();
}

TEST(stage_order_is_configured)
{
    CHECK_EQ_INT(ri_history_n_deals(h), 6);
    CHECK_EQ_INT(ri_history_n_events(h), 9);
    CHECK_EQ_INT(ri_history_n_stages(h), 6);
    CHECK_STR(ri_history_stage_name(h, 0), "Prospecting");
    CHECK_STR(ri_history_stage_name(h, 3), "Negotiation");
    CHECK_EQ_INT(ri_history_stage_role(h, 4), RI_STATUS_WON);
    CHECK_EQ_INT(ri_history_stage_role(h, 5), RI_STATUS_LOST);
    CHECK_EQ_INT(ri_history_stage_is_late(h, 3), 1);
    CHECK_EQ_INT(ri_history_stage_is_late(h, 2), 0);
    CHECK_EQ_INT(ri_history_order_inferred(h), 0);
}

TEST(path_with_skip_regression_and_win)
{
    size_t p = deal("P");
    CHECK_STR(stage_at("P", "2024-01-05"), "Prospecting");
    CHECK_STR(stage_at("P", "2024-01-15"), "Proposal");
    /* Prospecting -> Proposal skips one stage */
    CHECK_EQ_INT(st.n_skips[p], 1);
    CHECK_EQ_INT(st.n_regressions[p], 0);
    CHECK_STR(stage_at("P", "2024-01-25"), "Qualification");
    CHECK_EQ_INT(st.n_regressions[p], 1);
    /* close date 2024-02-01 -> 2024-02-15: one push; amount 1000 -> 800: one change */
    CHECK_EQ_INT(st.n_close_pushes[p], 1);
    CHECK_EQ_INT(st.n_amount_changes[p], 1);
    CHECK_NEAR(st.amount[p], 800, 1e-9);
    CHECK_NEAR(st.first_amount[p], 1000, 1e-9);
    CHECK_EQ_INT(st.stage_since[p], day("2024-01-20"));
    CHECK_EQ_INT(st.reached_late[p], 0);
    CHECK_STR(stage_at("P", "2024-02-10"), "Negotiation");
    CHECK_EQ_INT(st.n_skips[p], 2);
    CHECK_EQ_INT(st.reached_late[p], 1);
    CHECK_EQ_INT(st.status[p], RI_STATUS_OPEN);
    CHECK_STR(stage_at("P", "2024-03-01"), "Closed Won");
    CHECK_EQ_INT(st.status[p], RI_STATUS_WON);
    CHECK_EQ_INT(st.n_stage_changes[p], 4);
    CHECK_NEAR(st.amount[p], 900, 1e-9);
}

TEST(row_closes_a_deal_its_history_leaves_open)
{
    size_t q = deal("Q");
    CHECK_STR(stage_at("Q", "2024-02-10"), "Negotiation");
    CHECK_EQ_INT(st.status[q], RI_STATUS_OPEN);
    /* the row says lost on 2024-02-15 */
    CHECK_STR(stage_at("Q", "2024-02-15"), "Closed Lost");
    CHECK_EQ_INT(st.status[q], RI_STATUS_LOST);
    CHECK_EQ_INT(st.close_date[q], day("2024-02-15"));
    CHECK_EQ_INT(st.reached_late[q], 1);
}

TEST(deals_without_events_replay_from_their_row)
{
    size_t r = deal("R"), s = deal("S"), t = deal("T");
    CHECK_STR(stage_at("R", "2024-01-10"), "Proposal");
    CHECK_EQ_INT(st.status[r], RI_STATUS_OPEN);
    CHECK_EQ_INT(st.stage_since[r], day("2024-01-10"));
    CHECK_EQ_INT(st.exists[r], 1);
    /* S is open in an unknown stage until its close date, then won */
    CHECK_STR(stage_at("S", "2024-02-19"), "(unknown)");
    CHECK_EQ_INT(st.status[s], RI_STATUS_OPEN);
    CHECK_STR(stage_at("S", "2024-02-20"), "Closed Won");
    CHECK_EQ_INT(st.status[s], RI_STATUS_WON);
    /* T does not exist before it was created */
    ri_asof(h, day("2024-04-30"), &st);
    CHECK_EQ_INT(st.exists[t], 0);
    ri_asof(h, day("2024-05-01"), &st);
    CHECK_EQ_INT(st.exists[t], 1);
    CHECK_EQ_INT(st.exists[deal("R")], 1);
}

/* Z's events carry no close date: while the row is open it takes the row's, so the
 * zombie check can see that it is overdue. Q's row is closed: before its close, Q's
 * close date stays the one its events gave (none), never the actual one. */
TEST(open_row_supplies_close_date)
{
    size_t z = deal("Z"), q = deal("Q");
    CHECK_STR(stage_at("Z", "2024-04-01"), "Proposal");
    CHECK_EQ_INT(st.close_date[z], day("2024-03-01"));
    CHECK_EQ_INT(st.status[z], RI_STATUS_OPEN);
    ri_asof(h, day("2024-02-10"), &st);
    CHECK_EQ_INT(st.close_date[q], RI_TIME_NONE);
}

TEST(summary_counts)
{
    struct ri_asof_summary sum;
    /* on 2024-03-01: P won (900), Q lost, S won (700), R open (300), Z open (250),
     * T not created */
    ri_asof(h, day("2024-03-01"), &st);
    ri_asof_summarize(&st, &sum);
    CHECK_EQ_INT(sum.existing, 5);
    CHECK_EQ_INT(sum.won, 2);
    CHECK_EQ_INT(sum.lost, 1);
    CHECK_EQ_INT(sum.open, 2);
    CHECK_NEAR(sum.won_amount, 1600, 1e-9);
    CHECK_NEAR(sum.open_amount, 550, 1e-9);
    CHECK_EQ_INT(sum.open_late, 0);
}

/* On a simulated pipeline, the stage of every deal at several dates, computed here from
 * the raw stage_history.csv (the last row at or before the date), must equal what the
 * as-of engine replays from the store; at the snapshot date it must equal the export. */
TEST(replay_matches_the_raw_history_of_a_simulated_pipeline)
{
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    struct ri_ingest_opts io = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    struct ri_ctx *c2 = ri_ctx_new();
    struct ri_history *h2 = NULL;
    struct ri_asof_state s2;
    char sdir[64], path[128], line[512];
    const char *dates[] = {"2024-06-30", "2025-03-15", "2025-12-31", "2026-06-30"};
    FILE *f;
    size_t n;
    char(*stage_at_d)[4][32];
    long mismatches = 0, checked = 0;

    snprintf(sdir, sizeof(sdir), "/tmp/ri-hsim-XXXXXX");
    REQUIRE(mkdtemp(sdir) != NULL);
    so.outdir = sdir;
    so.deals = 3000;
    so.seed = 11;
    REQUIRE(ri_simulate(c2, &so, &sr) == RI_OK);
    snprintf(path, sizeof(path), "%s/t.db", sdir);
    REQUIRE(ri_store_open(c2, path, RI_OPEN_CREATE) == RI_OK);
    snprintf(path, sizeof(path), "%s/opportunities.csv", sdir);
    io.path = path;
    REQUIRE(ri_ingest(c2, &io, &rep) == RI_OK);
    snprintf(path, sizeof(path), "%s/stage_history.csv", sdir);
    io.kind = RI_KIND_HISTORY;
    REQUIRE(ri_ingest(c2, &io, &rep) == RI_OK);
    REQUIRE(ri_history_load(c2, &h2) == RI_OK);
    REQUIRE(ri_asof_state_init(&s2, h2) == RI_OK);
    n = ri_history_n_deals(h2);
    CHECK_EQ_INT(n, 3000);
    stage_at_d = calloc(n, sizeof(*stage_at_d));
    REQUIRE(stage_at_d != NULL);

    /* the independent computation: rows are "id,stage,YYYY-MM-DD,..." in time order */
    f = fopen(path, "r");
    REQUIRE(f != NULL);
    REQUIRE(fgets(line, sizeof(line), f) != NULL);
    while (fgets(line, sizeof(line), f)) {
        char *id = line, *stage = strchr(id, ','), *when;
        ptrdiff_t i;
        if (!stage)
            continue;
        *stage++ = '\0';
        when = strchr(stage, ',');
        if (!when)
            continue;
        *when++ = '\0';
        i = ri_history_find(h2, id);
        if (i < 0)
            continue;
        for (int d = 0; d < 4; d++)
            if (strncmp(when, dates[d], 10) <= 0)
                snprintf(stage_at_d[i][d], sizeof(stage_at_d[i][d]), "%s", stage);
    }
    fclose(f);
    for (int d = 0; d < 4; d++) {
        ri_asof(h2, day(dates[d]), &s2);
        for (size_t i = 0; i < n; i++) {
            const char *want = stage_at_d[i][d];
            const char *got =
                s2.exists[i] && s2.stage[i] >= 0 ? ri_history_stage_name(h2, s2.stage[i]) : "";
            if (!s2.exists[i] && !want[0])
                continue;
            checked++;
            if (strcmp(want, got) != 0 && mismatches++ < 5)
                fprintf(stderr, "%s at %s: history says '%s', replay '%s'\n",
                        ri_history_deal_id(h2, i), dates[d], want, got);
        }
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(checked > 3000);
    /* at the snapshot date the replay is the export */
    {
        struct ri_asof_summary sum;
        ri_asof(h2, day("2026-06-30"), &s2);
        ri_asof_summarize(&s2, &sum);
        CHECK_EQ_INT(sum.existing, sr.deals);
        CHECK_EQ_INT(sum.open, sr.open);
        CHECK_EQ_INT(sum.won, sr.won);
        CHECK_EQ_INT(sum.lost, sr.lost);
    }
    free(stage_at_d);
    ri_asof_state_release(&s2);
    ri_history_free(h2);
    ri_ctx_free(c2);
}

int main(void)
{
    BEGIN("test_history");
    ri_set_log_level(RI_LOG_ERROR);
    setup();
    RUN(stage_order_is_configured);
    RUN(path_with_skip_regression_and_win);
    RUN(row_closes_a_deal_its_history_leaves_open);
    RUN(deals_without_events_replay_from_their_row);
    RUN(open_row_supplies_close_date);
    RUN(summary_counts);
    RUN(replay_matches_the_raw_history_of_a_simulated_pipeline);
    ri_asof_state_release(&st);
    ri_history_free(h);
    ri_ctx_free(ctx);
    return DONE();
}
