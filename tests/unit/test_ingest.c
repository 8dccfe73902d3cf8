/*
 * test_ingest.c - ingest: validation, quarantine, reconciliation, snapshot diffing,
 * idempotency, all-or-nothing, and the store's migrations.
 *
 * Each test writes its fixture files into a fresh temporary folder, ingests them into a
 * new store, and checks the store's tables with SQL. Expected counts are worked out by
 * hand from the fixture rows written in the test.
 */
#include "harness.h"
#include "fixture.h"
#include "revintel.h"
#include "../../src/store.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *path_of(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", fx_dir, name);
    return buf[k];
}

static struct ri_ctx *open_store(void)
{
    struct ri_ctx *ctx = ri_ctx_new();
    if (ri_store_open(ctx, path_of("t.db"), RI_OPEN_CREATE) != RI_OK) {
        fprintf(stderr, "open: %s\n", ri_errmsg(ctx));
        abort();
    }
    return ctx;
}

static ri_err ingest(struct ri_ctx *ctx, enum ri_ingest_kind kind, const char *file,
                     const char *map, const char *as_of, struct ri_ingest_report *rep)
{
    struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
    o.kind = kind;
    o.path = path_of(file);
    o.map = map ? path_of(map) : NULL;
    if (map && (!strcmp(map, "salesforce") || !strcmp(map, "hubspot") || !strcmp(map, "canonical")))
        o.map = map;
    if (as_of)
        ri_parse_date(as_of, strlen(as_of), RI_DATE_ISO, &o.as_of);
    return ri_ingest(ctx, &o, rep);
}

static int64_t q(struct ri_ctx *ctx, const char *sql)
{
    int64_t v = -1;
    if (ri_store_query_i64(ctx, ri_ctx_store(ctx), sql, &v) != RI_OK)
        fprintf(stderr, "query failed: %s: %s\n", sql, ri_errmsg(ctx));
    return v;
}

/* 10 data rows; by hand: rows 3..9 each break one rule, so 3 accepted, 7 quarantined. */
static const char bad_opps[] =
    "id,created_date,stage,amount,close_date,probability\n"
    "A1,2024-01-05,Prospecting,\"$12,500.00\",2024-03-01,20\n" /* line 2: ok */
    "A2,2024-01-06,Closed Won,9000,2024-02-10,100\n"           /* line 3: ok */
    ",2024-01-07,Prospecting,100,,10\n"                        /* line 4: missing_id */
    "A4,2024-02-30,Prospecting,100,,10\n"                      /* line 5: bad_date */
    "A5,2024-01-08,Prospecting,-5,,10\n"                       /* line 6: negative_amount */
    "A6,2024-01-09,Prospecting,ten,,10\n"                      /* line 7: bad_amount */
    "A7,2024-03-09,Closed Lost,100,2024-03-01,0\n"             /* line 8: close_before_created */
    "A8,2024-01-10,Prospecting,100,,150\n"                     /* line 9: bad_probability */
    "A9,2024-01-11,Prospecting,100\n"                          /* line 10: column_count */
    "A10,2024-01-12,Negotiation,5000,2024-04-01,60\n";         /* line 11: ok */

TEST(quarantine_reasons_and_reconcile)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("o.csv", bad_opps);
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "o.csv", NULL, NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.rows_read, 10);
    CHECK_EQ_INT(rep.rows_accepted, 3);
    CHECK_EQ_INT(rep.rows_quarantined, 7);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_MISSING_ID], 1);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_BAD_DATE], 1);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_NEGATIVE_AMOUNT], 1);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_BAD_AMOUNT], 1);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_CLOSE_BEFORE_CREATED], 1);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_BAD_PROBABILITY], 1);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_COLUMN_COUNT], 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals"), 3);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM quarantine"), 7);
    /* the quarantine names line and column */
    CHECK_EQ_INT(q(ctx, "SELECT line FROM quarantine WHERE reason = 'bad_date'"), 5);
    CHECK_EQ_INT(q(ctx, "SELECT col FROM quarantine WHERE reason = 'bad_date'"), 2);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM quarantine WHERE reason = 'negative_amount' AND "
                        "column_name = 'amount' AND line = 6"),
                 1);
    /* "$12,500.00" parsed; status derived from the stage name */
    CHECK_EQ_INT(q(ctx, "SELECT amount FROM deals WHERE crm_id = 'A1'"), 12500);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals WHERE crm_id = 'A2' AND status = 'won'"), 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals WHERE status = 'open'"), 2);
    /* the snapshot row reconciles */
    CHECK_EQ_INT(q(ctx, "SELECT rows_read - rows_accepted - rows_quarantined FROM snapshots"), 0);
    ri_ctx_free(ctx);
}

TEST(duplicates_and_conflicts)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("o.csv", "id,created_date,stage\n"
                      "D1,2024-01-01,Prospecting\n"
                      "D1,2024-01-01,Prospecting\n" /* exact duplicate */
                      "D1,2024-01-01,Negotiation\n" /* same id, other values */
                      "D2,2024-01-02,Prospecting\n");
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "o.csv", NULL, NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.rows_accepted, 2);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_DUPLICATE_ROW], 1);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_CONFLICTING_ID], 1);
    /* the first occurrence wins */
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals WHERE crm_id = 'D1' AND stage = "
                        "'Prospecting'"),
                 1);
    ri_ctx_free(ctx);
}

TEST(snapshot_diff_events_and_deletion)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("s1.csv", "id,created_date,stage,amount,close_date,owner\n"
                       "S1,2024-01-01,Prospecting,1000,2024-03-01,ann\n"
                       "S2,2024-01-02,Proposal,2000,2024-03-15,bob\n"
                       "S3,2024-01-03,Prospecting,3000,2024-04-01,ann\n");
    /* a week later: S1 moved and its close date slipped; S2 unchanged; S3 gone; S4 new */
    fx_write("s2.csv", "id,created_date,stage,amount,close_date,owner\n"
                       "S1,2024-01-01,Proposal,1000,2024-03-20,ann\n"
                       "S2,2024-01-02,Proposal,2000,2024-03-15,bob\n"
                       "S4,2024-01-20,Prospecting,4000,2024-05-01,bob\n");
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "s1.csv", NULL, "2024-01-31", &rep) == RI_OK);
    CHECK_EQ_INT(rep.deals_new, 3);
    CHECK_EQ_INT(rep.events_written, 0);
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "s2.csv", NULL, "2024-02-07", &rep) == RI_OK);
    CHECK_EQ_INT(rep.deals_new, 1);
    CHECK_EQ_INT(rep.deals_changed, 1);
    CHECK_EQ_INT(rep.deals_unchanged, 1);
    CHECK_EQ_INT(rep.deals_deleted, 1);
    /* S1: a baseline (old values at creation) and one change at the export date */
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deal_events WHERE crm_id = 'S1'"), 2);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deal_events WHERE crm_id = 'S1' AND kind = "
                        "'baseline' AND stage = 'Prospecting' AND at = '2024-01-01 00:00:00' AND "
                        "close_date = '2024-03-01'"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deal_events WHERE crm_id = 'S1' AND kind = "
                        "'change' AND stage = 'Proposal' AND close_date = '2024-03-20' AND "
                        "at = '2024-02-07 00:00:00' AND amount IS NULL"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deal_events WHERE crm_id = 'S3' AND kind = "
                        "'deleted'"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals WHERE deleted_at IS NOT NULL"), 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* the as-of engine sees S1 in Prospecting before the change and Proposal after, with
     * one close-date push; S3 exists before its deletion and not after */
    {
        struct ri_history *h = NULL;
        struct ri_asof_state st;
        ri_time t;
        ptrdiff_t s1, s3;
        REQUIRE(ri_history_load(ctx, &h) == RI_OK);
        REQUIRE(ri_asof_state_init(&st, h) == RI_OK);
        s1 = ri_history_find(h, "S1");
        s3 = ri_history_find(h, "S3");
        REQUIRE(s1 >= 0 && s3 >= 0);
        ri_parse_date("2024-02-01", 10, RI_DATE_ISO, &t);
        ri_asof(h, t, &st);
        CHECK_STR(ri_history_stage_name(h, st.stage[s1]), "Prospecting");
        CHECK_EQ_INT(st.exists[s3], 1);
        CHECK_EQ_INT(st.n_close_pushes[s1], 0);
        ri_parse_date("2024-02-08", 10, RI_DATE_ISO, &t);
        ri_asof(h, t, &st);
        CHECK_STR(ri_history_stage_name(h, st.stage[s1]), "Proposal");
        CHECK_EQ_INT(st.n_close_pushes[s1], 1);
        CHECK_EQ_INT(st.n_stage_changes[s1], 1);
        CHECK_EQ_INT(st.exists[s3], 0);
        ri_asof_state_release(&st);
        ri_history_free(h);
    }
    ri_ctx_free(ctx);
}

TEST(same_file_twice_changes_nothing)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("o.csv", bad_opps);
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "o.csv", NULL, NULL, &rep) == RI_OK);
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "o.csv", NULL, NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.duplicate_of, 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM snapshots"), 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM quarantine"), 7);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals"), 3);
    ri_ctx_free(ctx);
}

TEST(history_rows_become_events_once)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("o.csv", "id,created_date,stage\nH1,2024-01-01,Proposal\nH2,2024-01-01,MQL\n");
    fx_write("h1.csv", "opportunity_id,stage,changed_at\n"
                       "H1,Prospecting,2024-01-01\n"
                       "H1,Proposal,2024-01-10\n"
                       "H9,Proposal,2024-01-10\n"); /* unknown deal */
    /* a later, cumulative export: the two known rows again plus a new one */
    fx_write("h2.csv", "opportunity_id,stage,changed_at\n"
                       "H1,Prospecting,2024-01-01\n"
                       "H1,Proposal,2024-01-10\n"
                       "H1,Closed Won,2024-02-01\n");
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "o.csv", NULL, "2024-01-15", &rep) == RI_OK);
    REQUIRE(ingest(ctx, RI_KIND_HISTORY, "h1.csv", NULL, NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.rows_accepted, 2);
    CHECK_EQ_INT(rep.by_reason[RI_REASON_UNKNOWN_DEAL], 1);
    CHECK_EQ_INT(rep.events_written, 2);
    REQUIRE(ingest(ctx, RI_KIND_HISTORY, "h2.csv", NULL, NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.rows_accepted, 3);
    CHECK_EQ_INT(rep.events_written, 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deal_events"), 3);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* the newer terminal row closes the deal in its row too */
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deals WHERE crm_id = 'H1' AND status = 'won' AND "
                        "close_date = '2024-02-01'"),
                 1);
    ri_ctx_free(ctx);
}

TEST(mapping_file_constants_values_and_events)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("m.ini", "[file]\nkind = opportunities\ndate_format = eu\ndecimal = comma\n"
                      "[columns]\nid = Deal Number\ncreated_date = Opened\namount = Value\n"
                      "[constants]\nstage = Closed Won\n"
                      "[values.region]\nEMEA-N = EMEA\n"
                      "[events]\nQualified On = Qualification\n");
    fx_write("o.csv", "Deal Number;Opened;Value;Region;Qualified On\n"
                      "X1;05.03.2024;1.234,50;EMEA-N;10.03.2024\n"
                      "X2;06.03.2024;99,00;APAC;\n");
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "o.csv", "m.ini", NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.rows_accepted, 2);
    CHECK_EQ_INT(rep.delimiter, ';');
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deals WHERE crm_id = 'X1' AND created_date = "
                        "'2024-03-05' AND amount = 1234.5 AND region = 'EMEA' AND status = 'won'"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deal_events WHERE crm_id = 'X1' AND stage = "
                        "'Qualification' AND at = '2024-03-10 00:00:00'"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deal_events"), 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    ri_ctx_free(ctx);
}

TEST(hubspot_export_with_date_entered_columns)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("hs.csv",
             "Record ID,Deal Name,Deal Stage,Create Date,Close Date,Amount,Deal owner,"
             "\"Date entered \"\"Appointment Scheduled (Sales Pipeline)\"\"\","
             "\"Date entered \"\"Closed Won (Sales Pipeline)\"\"\"\n"
             "101,Acme renewal,Closed Won,2024-01-02 09:15,2024-02-20,\"5,000\",Kim,"
             "2024-01-02 09:15,2024-02-20 16:00\n"
             "102,Beta pilot,Appointment Scheduled,2024-01-05,2024-04-01,800,Lee,2024-01-06,\n");
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "hs.csv", "hubspot", NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.rows_accepted, 2);
    CHECK_EQ_INT(rep.events_written, 3);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deals WHERE crm_id = '101' AND status = 'won' AND "
                        "amount = 5000 AND owner = 'Kim' AND name = 'Acme renewal'"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deal_events WHERE crm_id = '101' AND stage = "
                        "'Closed Won' AND at = '2024-02-20 16:00:00'"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deal_events WHERE crm_id = '102' AND stage = "
                        "'Appointment Scheduled' AND at = '2024-01-06 00:00:00'"),
                 1);
    ri_ctx_free(ctx);
}

TEST(salesforce_report_names_and_booleans)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("sf.csv", "Opportunity ID,Opportunity Name,Account Name,Opportunity Owner,Stage,"
                       "Amount,Probability (%),Close Date,Created Date,Lead Source,Type,"
                       "Forecast Category,Closed,Won,Fiscal Period\n"
                       "0061,Big one,Acme,Ann,Negotiation/Review,\"$120,000.00\",90,"
                       "3/31/2024,1/15/2024,Web,New Business,Commit,FALSE,FALSE,Q1-2024\n"
                       "0062,Lost one,Beta,Bob,Closed Lost,\"$5,000.00\",0,2/28/2024,"
                       "1/20/2024,Partner,New Business,Omitted,TRUE,FALSE,Q1-2024\n");
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "sf.csv", "salesforce", NULL, &rep) == RI_OK);
    CHECK_EQ_INT(rep.rows_accepted, 2);
    CHECK_EQ_INT(rep.columns_custom, 1); /* Fiscal Period */
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM v_deals WHERE crm_id = '0061' AND status = 'open' "
                        "AND amount = 120000 AND probability = 90 AND account = 'Acme' AND "
                        "close_date = '2024-03-31' AND created_date = '2024-01-15' AND "
                        "lead_source = 'Web' AND forecast_category = 'Commit'"),
                 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals WHERE crm_id = '0062' AND status = 'lost' "
                        "AND attrs = '{\"Fiscal Period\":\"Q1-2024\"}'"),
                 1);
    ri_ctx_free(ctx);
}

TEST(errors_name_the_file_and_write_nothing)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    fx_fresh_dir("test");
    fx_write("nohdr.csv", "foo,bar\n1,2\n");
    fx_write("bad.ini", "[file]\nkind = opportunities\n[columns]\nnot_a_field = x\n");
    ctx = open_store();
    CHECK(ingest(ctx, RI_KIND_OPPORTUNITIES, "missing.csv", NULL, NULL, &rep) == RI_ERR_IO);
    CHECK(strstr(ri_errmsg(ctx), "missing.csv") != NULL);
    CHECK(ingest(ctx, RI_KIND_OPPORTUNITIES, "nohdr.csv", NULL, NULL, &rep) == RI_ERR_INVALID);
    CHECK(strstr(ri_errmsg(ctx), "required field 'id'") != NULL);
    CHECK(ingest(ctx, RI_KIND_OPPORTUNITIES, "nohdr.csv", "bad.ini", NULL, &rep) == RI_ERR_PARSE);
    CHECK(strstr(ri_errmsg(ctx), "bad.ini:4:") != NULL);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM snapshots"), 0);
    ri_ctx_free(ctx);
}

TEST(killed_midway_leaves_store_unchanged)
{
    struct ri_ingest_report rep;
    struct ri_ctx *ctx;
    FILE *f;
    pid_t pid;
    int status = 0;
    fx_fresh_dir("test");
    fx_write("first.csv", "id,created_date,stage\nK0,2024-01-01,Prospecting\n");
    f = fopen(path_of("big.csv"), "w");
    REQUIRE(f != NULL);
    fputs("id,created_date,stage,amount\n", f);
    for (int i = 1; i <= 20000; i++)
        fprintf(f, "K%d,2024-01-%02d,Prospecting,%d\n", i, 1 + i % 28, i);
    fclose(f);
    ctx = open_store();
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "first.csv", NULL, NULL, &rep) == RI_OK);
    ri_ctx_free(ctx);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* the child ingests and is killed by the fault hook after 10,000 rows */
        struct ri_ctx *c = ri_ctx_new();
        setenv("RI_FAULT_KILL_AFTER_ROWS", "10000", 1);
        if (ri_store_open(c, path_of("t.db"), 0) == RI_OK)
            ingest(c, RI_KIND_OPPORTUNITIES, "big.csv", NULL, NULL, &rep);
        _exit(0);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ctx = open_store();
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals"), 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM snapshots"), 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"),
                 1);
    /* and the same file then ingests completely */
    REQUIRE(ingest(ctx, RI_KIND_OPPORTUNITIES, "big.csv", NULL, NULL, &rep) == RI_OK);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM deals"), 20001);
    ri_ctx_free(ctx);
}

TEST(store_migrates_older_and_refuses_newer)
{
    struct ri_ctx *ctx = ri_ctx_new();
    int64_t v = 0;
    fx_fresh_dir("test");
    /* a version-1 store (the first migration only), holding one snapshot */
    {
        struct ri_store *st = NULL;
        REQUIRE(ri_store_open(ctx, path_of("t.db"), RI_OPEN_CREATE) == RI_OK);
        st = ri_ctx_store(ctx);
        REQUIRE(ri_store_exec(ctx, st,
                              "DROP VIEW v_deals; DROP VIEW v_deal_events; DROP TABLE reps; "
                              "DROP TABLE stages; DROP INDEX quarantine_by_snapshot; "
                              "DROP TABLE diag_runs; DROP TABLE diag_periods; "
                              "DROP TABLE diag_segments; DROP TABLE diag_decomposition; "
                              "DROP TABLE diag_funnel; DROP TABLE diag_zombies; "
                              "DROP TABLE diag_cycle; DROP TABLE diag_reps; "
                              "DROP TABLE diag_metrics; DROP VIEW v_scores; "
                              "DROP TABLE scores; DROP TABLE score_runs; DROP TABLE models; "
                              "DROP TABLE col_cache; DROP TABLE forecast_deals; "
                              "DROP TABLE forecast_runs; DROP TABLE backtest_points; "
                              "DROP TABLE alerts; DROP TABLE alert_state; DROP TABLE outbox; "
                              "DROP TABLE run_steps; DROP TABLE drop_files; "
                              "DROP TABLE backtest_runs; ALTER TABLE runs DROP COLUMN as_of; "
                              "INSERT INTO snapshots(kind, file, ingested_at) VALUES "
                              "('opportunities', 'old.csv', 0); PRAGMA user_version = 1") == RI_OK);
    }
    ri_ctx_free(ctx);
    ctx = ri_ctx_new();
    CHECK(ri_store_open(ctx, path_of("t.db"), RI_OPEN_READONLY) == RI_ERR_STORE);
    CHECK(strstr(ri_errmsg(ctx), "needs migrating") != NULL);
    REQUIRE(ri_store_open(ctx, path_of("t.db"), 0) == RI_OK);
    CHECK_EQ_INT(ri_store_schema_version(ctx), ri_schema_version_current());
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM snapshots WHERE file = 'old.csv'"), 1);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM stages"), 0);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM diag_runs"), 0);
    ri_store_query_i64(ctx, ri_ctx_store(ctx), "PRAGMA journal_mode", &v);
    REQUIRE(ri_store_exec(ctx, ri_ctx_store(ctx), "PRAGMA user_version = 99") == RI_OK);
    ri_ctx_free(ctx);
    ctx = ri_ctx_new();
    CHECK(ri_store_open(ctx, path_of("t.db"), 0) == RI_ERR_STORE);
    CHECK(strstr(ri_errmsg(ctx), "newer") != NULL);
    CHECK(ri_store_open(ctx, path_of("none.db"), 0) == RI_ERR_NOTFOUND);
    CHECK(strstr(ri_errmsg(ctx), "revintel init") != NULL);
    ri_ctx_free(ctx);
}

int main(void)
{
    BEGIN("test_ingest");
    ri_set_log_level(RI_LOG_ERROR);
    RUN(quarantine_reasons_and_reconcile);
    RUN(duplicates_and_conflicts);
    RUN(snapshot_diff_events_and_deletion);
    RUN(same_file_twice_changes_nothing);
    RUN(history_rows_become_events_once);
    RUN(mapping_file_constants_values_and_events);
    RUN(hubspot_export_with_date_entered_columns);
    RUN(salesforce_report_names_and_booleans);
    RUN(errors_name_the_file_and_write_nothing);
    RUN(killed_midway_leaves_store_unchanged);
    RUN(store_migrates_older_and_refuses_newer);
    return DONE();
}
