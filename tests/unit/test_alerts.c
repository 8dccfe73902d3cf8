/*
 * test_alerts.c - the alert engine: each built-in deal rule on a deal planted for it and
 * not on its control, cooldown, snooze, idempotence of a re-run, the dry run, custom SQL
 * rules (rows, a runaway query stopped by its time limit, a query that tries to write),
 * the configuration's checks, and no pipeline alert on data without a change (a flat
 * generated pipeline, and the SkyGeni deals).
 */
#include "harness.h"
#include "fixture.h"

#include "revintel.h"
#include "store.h"
#include "ri_internal.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define DAY RI_DAY

static ri_time date(const char *s)
{
    ri_time t = RI_TIME_NONE;
    if (ri_parse_date(s, strlen(s), RI_DATE_ISO, &t) != RI_OK)
        abort();
    return t;
}

static void ingest_at(struct ri_ctx *c, const char *kind, const char *name, const char *map,
                      ri_time as_of)
{
    struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", fx_dir, name);
    o.kind = (enum ri_ingest_kind)ri_ingest_kind_parse(kind);
    o.path = path;
    o.map = map;
    o.as_of = as_of;
    if (ri_ingest(c, &o, &rep) != RI_OK || rep.rows_quarantined) {
        fprintf(stderr, "ingest %s: %s\n", path, ri_errmsg(c));
        abort();
    }
}

static void exec(struct ri_ctx *c, const char *sql)
{
    if (ri_store_exec(c, ri_ctx_store(c), sql) != RI_OK) {
        fprintf(stderr, "%s: %s\n", sql, ri_errmsg(c));
        abort();
    }
}

static int64_t count(struct ri_ctx *c, const char *sql)
{
    int64_t n = -1;
    if (ri_store_query_i64(c, ri_ctx_store(c), sql, &n) != RI_OK)
        return -1;
    return n;
}

/* ------------------------------------------------------------------ the deal fixture */

/*
 * As of 2026-06-30. Ten won deals W0..W9 pass Prospecting, Qualification, Discovery,
 * Proposal and Negotiation, staying 10 + k days in each (k = 0..9): the P90 of won
 * deals' time in every stage is, by the type-7 quantile of 10..19, 18 + 0.1 x 1 = 18.1
 * days. Open deals (owner Ann: H, S, Q; owner Bob: Z, P, R; both managed by Mia), each
 * planted deal next to a control:
 *   H1 500,000, p_win 0.10  high_value_risk: the 80th percentile of the 13 open amounts
 *                           (5k, 15k, 15k, 20k x 8, 500k, 500k), h = 12 x 0.8 = 9.6,
 *                           is 20k + 0.6 x 0 = 20,000; 500,000 >= 20,000, 0.10 <= 0.25
 *   H2 500,000, p_win 0.60  control (chance high); H3 5,000, p_win 0.05 control (small)
 *   S1 in Discovery since 04-01: 90 days > 1.0 x 18.1     stalled
 *   S2 in Discovery since 06-20: 10 days                  control
 *   Q1 Prospecting 06-12 -> Negotiation 06-20, 8 days, no Qualification  skipped_qual.
 *   Q2 the same through Qualification                     control
 *   Z1 close date 05-01: 60 days ago > 30                 zombie
 *   Z2 close date 06-15: 15 days ago                      control
 *   P1 close date 07-10 -> 07-20 -> 07-31 -> 08-15: 3 pushes >= 3   pushed
 *   P2 07-10 -> 07-20 -> 07-31: 2 pushes                  control
 *   R1 15,000, p_win 0.50 on 06-29 -> 0.30 on 06-30: fell 0.20 >= 0.15  risk_jump
 *   R2 15,000, 0.50 -> 0.40: fell 0.10                    control
 * Every other open deal entered its stage on or after 06-20 (at most 10 days < 18.1),
 * so nothing else is stalled. Expected alerts: H1 to Ann and (critical) to Mia, S1, Q1
 * to Ann, Z1, P1 and R1 (15,000 < 20,000: a warning, no manager) to Bob: 7 rows.
 */
static const char opp_head[] =
    "id,name,owner,manager,region,industry,created_date,stage,status,amount,close_date,"
    "probability\n";
static const char hist_head[] = "opportunity_id,stage,changed_at,amount,close_date,probability\n";

struct open_deal {
    const char *id, *owner, *stage;
    double amount;
    const char *close;
    const char *path; /* "stage@date;..." with the close date at each step "stage@date>close" */
};

static const struct open_deal open_deals[] = {
    {"H1", "Ann", "Proposal", 500000, "2026-07-31",
     "Prospecting@2026-06-12>2026-07-31;Qualification@2026-06-15>2026-07-31;"
     "Proposal@2026-06-20>2026-07-31"},
    {"H2", "Ann", "Proposal", 500000, "2026-07-31",
     "Prospecting@2026-06-12>2026-07-31;Qualification@2026-06-15>2026-07-31;"
     "Proposal@2026-06-20>2026-07-31"},
    {"H3", "Ann", "Proposal", 5000, "2026-07-31",
     "Prospecting@2026-06-12>2026-07-31;Qualification@2026-06-15>2026-07-31;"
     "Proposal@2026-06-20>2026-07-31"},
    {"S1", "Ann", "Discovery", 20000, "2026-07-31",
     "Prospecting@2026-03-20>2026-07-31;Qualification@2026-03-25>2026-07-31;"
     "Discovery@2026-04-01>2026-07-31"},
    {"S2", "Ann", "Discovery", 20000, "2026-07-31",
     "Prospecting@2026-06-10>2026-07-31;Qualification@2026-06-14>2026-07-31;"
     "Discovery@2026-06-20>2026-07-31"},
    {"Q1", "Ann", "Negotiation", 20000, "2026-07-31",
     "Prospecting@2026-06-12>2026-07-31;Negotiation@2026-06-20>2026-07-31"},
    {"Q2", "Ann", "Negotiation", 20000, "2026-07-31",
     "Prospecting@2026-06-12>2026-07-31;Qualification@2026-06-15>2026-07-31;"
     "Negotiation@2026-06-20>2026-07-31"},
    {"Z1", "Bob", "Proposal", 20000, "2026-05-01",
     "Prospecting@2026-03-01>2026-05-01;Qualification@2026-03-05>2026-05-01;"
     "Proposal@2026-06-20>2026-05-01"},
    {"Z2", "Bob", "Proposal", 20000, "2026-06-15",
     "Prospecting@2026-03-01>2026-06-15;Qualification@2026-03-05>2026-06-15;"
     "Proposal@2026-06-20>2026-06-15"},
    {"P1", "Bob", "Proposal", 20000, "2026-08-15",
     "Prospecting@2026-06-13>2026-07-10;Qualification@2026-06-16>2026-07-20;"
     "Discovery@2026-06-19>2026-07-31;Proposal@2026-06-22>2026-08-15"},
    {"P2", "Bob", "Proposal", 20000, "2026-07-31",
     "Prospecting@2026-06-13>2026-07-10;Qualification@2026-06-16>2026-07-20;"
     "Discovery@2026-06-19>2026-07-31;Proposal@2026-06-22>2026-07-31"},
    {"R1", "Bob", "Proposal", 15000, "2026-07-31",
     "Prospecting@2026-06-12>2026-07-31;Qualification@2026-06-15>2026-07-31;"
     "Proposal@2026-06-20>2026-07-31"},
    {"R2", "Bob", "Proposal", 15000, "2026-07-31",
     "Prospecting@2026-06-12>2026-07-31;Qualification@2026-06-15>2026-07-31;"
     "Proposal@2026-06-20>2026-07-31"},
};

/* p_win on 06-29 (run 0) and 06-30 (run 1) */
static const struct {
    const char *id;
    double p0, p1;
} scores[] = {{"H1", 0.10, 0.10}, {"H2", 0.60, 0.60}, {"H3", 0.05, 0.05}, {"S1", 0.50, 0.50},
              {"S2", 0.50, 0.50}, {"Q1", 0.50, 0.50}, {"Q2", 0.50, 0.50}, {"Z1", 0.50, 0.50},
              {"Z2", 0.50, 0.50}, {"P1", 0.50, 0.50}, {"P2", 0.50, 0.50}, {"R1", 0.50, 0.30},
              {"R2", 0.50, 0.40}};

static void add_date(char *out, size_t size, const char *base, int days)
{
    ri_format_date(date(base) + (ri_time)days * DAY, out, size);
}

/* Writes the fixture's CSVs into a fresh folder and ingests them into t.db there. */
static struct ri_ctx *deal_store(void)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_buf o = RI_BUF_INIT, h = RI_BUF_INIT;
    static const char *const stages[] = {"Prospecting", "Qualification", "Discovery", "Proposal",
                                         "Negotiation"};
    char path[256];
    fx_fresh_dir("alerts");
    ri_buf_adds(&o, opp_head);
    ri_buf_adds(&h, hist_head);
    for (int k = 0; k < 10; k++) {
        char created[16], at[16], close[16];
        int day = 0;
        add_date(created, sizeof(created), "2026-01-05", 3 * k);
        add_date(close, sizeof(close), "2026-01-05", 3 * k + 5 * (10 + k));
        for (int s = 0; s < 5; s++) {
            add_date(at, sizeof(at), "2026-01-05", 3 * k + day);
            ri_buf_addf(&h, "W%d,%s,%s,10000,%s,50\n", k, stages[s], at, close);
            day += 10 + k;
        }
        ri_buf_addf(&h, "W%d,Closed Won,%s,10000,%s,100\n", k, close, close);
        ri_buf_addf(&o, "W%d,Won deal %d,Ann,Mia,EMEA,Retail,%s,Closed Won,won,10000,%s,100\n", k,
                    k, created, close);
    }
    for (size_t i = 0; i < RI_ARRAY_SIZE(open_deals); i++) {
        const struct open_deal *d = &open_deals[i];
        const char *p = d->path;
        char created[16] = "";
        while (*p) {
            char stage[32], at[16], close[16];
            const char *e = p + strcspn(p, ";");
            if (sscanf(p, "%31[^@]@%15[^>]>%15[^;]", stage, at, close) != 3)
                abort();
            if (!created[0])
                snprintf(created, sizeof(created), "%s", at);
            ri_buf_addf(&h, "%s,%s,%s,%.0f,%s,40\n", d->id, stage, at, d->amount, close);
            p = *e ? e + 1 : e;
        }
        ri_buf_addf(&o, "%s,Deal %s,%s,Mia,EMEA,Retail,%s,%s,open,%.0f,%s,40\n", d->id, d->id,
                    d->owner, created, d->stage, d->amount, d->close);
    }
    fx_write("opps.csv", o.buf);
    fx_write("hist.csv", h.buf);
    ri_buf_release(&o);
    ri_buf_release(&h);
    snprintf(path, sizeof(path), "%s/t.db", fx_dir);
    if (ri_store_open(c, path, RI_OPEN_CREATE) != RI_OK)
        abort();
    ingest_at(c, "opportunities", "opps.csv", NULL, date("2026-06-30"));
    ingest_at(c, "history", "hist.csv", NULL, date("2026-06-30"));
    /* two score runs, written as `score` writes them */
    exec(c, "INSERT INTO score_runs(id, created_at, as_of, model_id, deals, signal) VALUES "
            "(1, 0, 1782691200, NULL, 13, 1), (2, 0, 1782777600, NULL, 13, 1)");
    for (size_t i = 0; i < RI_ARRAY_SIZE(scores); i++) {
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO scores(run_id, deal_id, p_win, tier, reasons) SELECT 1, id, %.2f, "
                 "'at risk', '[]' FROM deals WHERE crm_id = '%s'; INSERT INTO scores(run_id, "
                 "deal_id, p_win, tier, reasons) SELECT 2, id, %.2f, 'at risk', "
                 "'[{\"other\":0},{\"feature\":\"x\",\"text\":\"close date pushed 3 times "
                 "(-12 pts)\",\"contribution\":-0.5,\"points\":-12}]' FROM deals WHERE crm_id = "
                 "'%s'",
                 scores[i].p0, scores[i].id, scores[i].p1, scores[i].id);
        exec(c, sql);
    }
    return c;
}

/* A configuration file in the fixture folder, loaded. */
static struct ri_config *config(struct ri_ctx *c, const char *text)
{
    struct ri_config *conf = NULL;
    char path[256];
    fx_write("revintel.conf", text);
    snprintf(path, sizeof(path), "%s/revintel.conf", fx_dir);
    if (ri_config_load(c, path, &conf) != RI_OK) {
        fprintf(stderr, "config: %s\n", ri_errmsg(c));
        abort();
    }
    return conf;
}

static struct ri_alerts_report *run(struct ri_ctx *c, const struct ri_config *conf,
                                    const char *as_of, int dry)
{
    struct ri_alerts_opts o;
    struct ri_alerts_report *r = NULL;
    memset(&o, 0, sizeof(o));
    o.config = conf;
    o.as_of = date(as_of);
    o.now = o.as_of + 12 * 3600; /* noon of that day */
    o.dry_run = dry;
    if (ri_alerts_run(c, &o, &r) != RI_OK) {
        fprintf(stderr, "alerts: %s\n", ri_errmsg(c));
        return NULL;
    }
    return r;
}

static void cleanup(struct ri_ctx *c, struct ri_config *conf)
{
    ri_config_free(conf);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

/* The alerts rows of one as-of date as "key>recipient=status;..." in key order. */
static void rows_of(struct ri_ctx *c, const char *as_of, char *out, size_t size)
{
    struct ri_stmt *s = NULL;
    size_t o = 0;
    out[0] = '\0';
    if (ri_stmt_prepare(c, ri_ctx_store(c),
                        "SELECT key, recipient, status FROM alerts WHERE as_of = ? ORDER BY key, "
                        "recipient",
                        &s) != RI_OK)
        return;
    ri_stmt_bind_time(s, 1, date(as_of));
    while (ri_stmt_step(c, s) == RI_OK && o < size)
        o += (size_t)snprintf(out + o, size - o, "%s>%s=%s;", ri_stmt_text(s, 0, NULL),
                              ri_stmt_text(s, 1, NULL), ri_stmt_text(s, 2, NULL));
    ri_stmt_free(s);
}

static const char *const planted =
    "high_value_risk:H1>Ann=%s;high_value_risk:H1>Mia=%s;pushed:P1>Bob=%s;"
    "risk_jump:R1>Bob=%s;skipped_qualification:Q1>Ann=%s;stalled:S1>Ann=%s;zombie:Z1>Bob=%s;";

static void expect(const char *a, const char *b, const char *c, const char *d, const char *e,
                   const char *f, const char *g, char *out, size_t size)
{
    snprintf(out, size, planted, a, b, c, d, e, f, g);
}

/* ------------------------------------------------------------------ deal rules */

/* With no configuration every rule is on and nothing can be sent: each planted deal
 * raises its rule (the 7 rows worked out above, status new), no control does. */
TEST(deal_rules_fire_on_planted_deals_only)
{
    struct ri_ctx *c = deal_store();
    struct ri_alerts_report *r = run(c, NULL, "2026-06-30", 0);
    char got[4096], want[1024];
    REQUIRE(r != NULL);
    rows_of(c, "2026-06-30", got, sizeof(got));
    expect("new", "new", "new", "new", "new", "new", "new", want, sizeof(want));
    CHECK_STR(got, want);
    CHECK_EQ_INT(r->raised, 7);
    CHECK_EQ_INT(r->queued, 0);
    CHECK_EQ_INT(r->digests, 0);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM outbox"), 0);
    CHECK(strstr(r->text, "No channel is configured") != NULL);
    /* the figures: H1's amount and chance, S1's days against the P90 of 18.1 -> "18" */
    CHECK(strstr(r->json, "500,000 at 10 % chance to win") != NULL);
    CHECK(strstr(r->json, "in Discovery for 90 days; won deals left Discovery within 18 days "
                          "(P90 of 10 won deals)") != NULL);
    CHECK(strstr(r->json, "moved later 3 times, from 2026-07-10 to 2026-08-15") != NULL);
    CHECK(strstr(r->json, "fell from 50 % on 2026-06-29 to 30 % on 2026-06-30") != NULL);
    CHECK(strstr(r->json, "reached Negotiation 8 days after it entered the pipeline") != NULL);
    CHECK(strstr(r->json, "close date pushed 3 times (-12 pts)") != NULL);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM alerts WHERE action IS NULL OR action = ''"), 0);
    ri_alerts_report_free(r);
    cleanup(c, NULL);
}

/* Thresholds from the file: stalled off, zombie after 10 days (Z2, 15 days overdue,
 * joins), pushed from 2 times (P2 joins), high_value_risk from 600,000 (H1 leaves). */
TEST(thresholds_from_the_configuration)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf =
        config(c, "[rule.stalled]\nenabled = no\n[rule.zombie]\ndays = 10\n"
                  "[rule.pushed]\ntimes = 2\n[rule.high_value_risk]\nmin_amount = 600000\n");
    struct ri_alerts_report *r = run(c, conf, "2026-06-30", 0);
    char got[4096];
    REQUIRE(r != NULL);
    rows_of(c, "2026-06-30", got, sizeof(got));
    CHECK_STR(got, "pushed:P1>Bob=new;pushed:P2>Bob=new;risk_jump:R1>Bob=new;"
                   "skipped_qualification:Q1>Ann=new;zombie:Z1>Bob=new;zombie:Z2>Bob=new;");
    ri_alerts_report_free(r);
    cleanup(c, conf);
}

/* System rules. The ten won deals, scored 0.10 by the active model on 06-29, all won:
 * the calibration since then is off by |0.10 - 1.00| = 0.90 > 0.1 over 10 >= min_closed
 * 5 deals: drift. On 07-10 the newest export (06-30) is 10 days old > 3: stale_data.
 * Both go to leadership (no admin configured). */
TEST(system_rules)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf = config(c, "[rule.drift]\nmin_closed = 5\n");
    struct ri_alerts_opts o;
    struct ri_alerts_report *r = NULL;
    exec(c, "INSERT INTO models(id, created_at, kind, active, features) VALUES (1, 0, 'risk', 1, "
            "''); UPDATE score_runs SET model_id = 1; INSERT INTO scores(run_id, deal_id, p_win, "
            "tier) SELECT 1, id, 0.10, 'high risk' FROM deals WHERE status = 'won'");
    memset(&o, 0, sizeof(o));
    o.config = conf;
    o.as_of = date("2026-06-30");
    o.now = date("2026-07-10");
    o.dry_run = 1;
    REQUIRE(ri_alerts_run(c, &o, &r) == RI_OK);
    CHECK(strstr(r->json, "\"key\":\"drift:model\"") != NULL);
    CHECK(strstr(r->json, "on the 10 scored deals that closed since is off (expected calibration "
                          "error 0.900") != NULL);
    CHECK(strstr(r->json, "\"key\":\"stale_data:store\"") != NULL);
    CHECK(strstr(r->json, "The newest export in the store is of 2026-06-30, 10 days ago") != NULL);
    CHECK(strstr(r->text, "-> leadership (leadership)") != NULL);
    ri_alerts_report_free(r);
    /* a day after the export: neither */
    o.now = date("2026-07-01");
    exec(c, "UPDATE scores SET p_win = 1.0 WHERE run_id = 1 AND deal_id IN (SELECT id FROM deals "
            "WHERE status = 'won')");
    REQUIRE(ri_alerts_run(c, &o, &r) == RI_OK);
    CHECK(strstr(r->json, "drift:model") == NULL);
    CHECK(strstr(r->json, "stale_data:store") == NULL);
    ri_alerts_report_free(r);
    cleanup(c, conf);
}

/* ------------------------------------------------------------------ state and digests */

static const char channels_conf[] = "[channel.log]\ntype = file\npath = out.jsonl\n"
                                    "[recipients]\ndefault_channels = log\n";

/* Day 1 queues one digest per recipient (Ann, Bob, Mia: 3 outbox rows, keyed
 * digest:<recipient>:<date>:log); day 2 finds the same 7 alerts sent within the 7-day
 * cooldown: recorded as cooldown, nothing queued. */
TEST(cooldown_and_digests)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf = config(c, channels_conf);
    struct ri_alerts_report *r1 = run(c, conf, "2026-06-30", 0), *r2 = NULL;
    char got[4096], want[1024];
    REQUIRE(r1 != NULL);
    CHECK_EQ_INT(r1->queued, 7);
    CHECK_EQ_INT(r1->digests, 3);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM outbox"), 3);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM outbox WHERE idem_key = "
                          "'digest:Ann:2026-06-30:log' AND recipient = 'Ann' AND kind = 'digest'"),
                 1);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM outbox WHERE idem_key = "
                          "'digest:Mia:2026-06-30:log'"),
                 1);
    r2 = run(c, conf, "2026-07-01", 0);
    REQUIRE(r2 != NULL);
    rows_of(c, "2026-07-01", got, sizeof(got));
    expect("cooldown", "cooldown", "cooldown", "cooldown", "cooldown", "cooldown", "cooldown", want,
           sizeof(want));
    CHECK_STR(got, want);
    CHECK_EQ_INT(r2->cooldown, 7);
    CHECK_EQ_INT(r2->digests, 0);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM outbox"), 3);
    CHECK_EQ_INT(count(c, "SELECT times FROM alert_state WHERE key = 'zombie:Z1'"), 2);
    ri_alerts_report_free(r1);
    ri_alerts_report_free(r2);
    cleanup(c, conf);
}

/* With cooldown_days = 0 every day sends again, except a snoozed key: zombie:Z1 snoozed
 * until 07-02 is held back on 07-01 (noon < 07-02 00:00) and back on 07-02 (noon). */
TEST(snooze_until_a_date)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf = NULL;
    struct ri_alerts_report *r = NULL;
    char got[4096], want[1024], text[1200];
    snprintf(text, sizeof(text), "%s[alerts]\ncooldown_days = 0\n", channels_conf);
    conf = config(c, text);
    r = run(c, conf, "2026-06-30", 0);
    REQUIRE(r != NULL);
    ri_alerts_report_free(r);
    CHECK(ri_alerts_snooze(c, "zombie:Z1", date("2026-07-02"), "customer on holiday") == RI_OK);
    CHECK(ri_alerts_snooze(c, "no-colon", date("2026-07-02"), "x") == RI_ERR_INVALID);
    r = run(c, conf, "2026-07-01", 0);
    REQUIRE(r != NULL);
    rows_of(c, "2026-07-01", got, sizeof(got));
    expect("queued", "queued", "queued", "queued", "queued", "queued", "snoozed", want,
           sizeof(want));
    CHECK_STR(got, want);
    CHECK_EQ_INT(r->snoozed, 1);
    ri_alerts_report_free(r);
    r = run(c, conf, "2026-07-02", 0);
    REQUIRE(r != NULL);
    rows_of(c, "2026-07-02", got, sizeof(got));
    expect("queued", "queued", "queued", "queued", "queued", "queued", "queued", want,
           sizeof(want));
    CHECK_STR(got, want);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM alert_state WHERE key = 'zombie:Z1' AND "
                          "snooze_reason = 'customer on holiday'"),
                 2); /* the '*' row and Bob's */
    ri_alerts_report_free(r);
    cleanup(c, conf);
}

/* Running twice for the same as-of date: the same 7 alerts rows with the same status,
 * the same 3 outbox rows, nothing queued the second time. */
TEST(rerun_same_day_changes_nothing)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf = config(c, channels_conf);
    struct ri_alerts_report *r1 = run(c, conf, "2026-06-30", 0), *r2 = NULL;
    char a[4096], b[4096];
    REQUIRE(r1 != NULL);
    rows_of(c, "2026-06-30", a, sizeof(a));
    r2 = run(c, conf, "2026-06-30", 0);
    REQUIRE(r2 != NULL);
    rows_of(c, "2026-06-30", b, sizeof(b));
    CHECK_STR(a, b);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM alerts"), 7);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM outbox"), 3);
    CHECK_EQ_INT(r2->digests, 0);
    CHECK_EQ_INT(count(c, "SELECT max(times) FROM alert_state"), 1);
    ri_alerts_report_free(r1);
    ri_alerts_report_free(r2);
    cleanup(c, conf);
}

/* A dry run evaluates and shows the digests, and writes nothing. */
TEST(dry_run_writes_nothing)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf = config(c, channels_conf);
    struct ri_alerts_report *r = run(c, conf, "2026-06-30", 1);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(r->raised, 7);
    CHECK_EQ_INT(r->queued, 7);
    CHECK_EQ_INT(r->digests, 3);
    CHECK(strstr(r->text, "would send Ann via log: 3 alerts") != NULL);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM alerts"), 0);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM alert_state"), 0);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM outbox"), 0);
    ri_alerts_report_free(r);
    cleanup(c, conf);
}

/* ------------------------------------------------------------------ custom rules */

/* A custom rule's rows become alerts of the rule: the two open deals of 500,000 (H1,
 * H2), routed to their owner Ann through the crm_id column; the severity column sets
 * the severity. */
TEST(custom_sql_rule)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf =
        config(c, "[rule.big_open]\nsql = SELECT crm_id, 'big deal ' || crm_id, 'amount ' || "
                  "amount, 'call them', 'info', NULL, crm_id, amount FROM deals WHERE status = "
                  "'open' AND amount >= 500000 ORDER BY crm_id\n");
    struct ri_alerts_report *r = run(c, conf, "2026-06-30", 0);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(r->rule_errors, 0);
    CHECK_EQ_INT(r->raised, 9);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM alerts WHERE rule = 'big_open' AND recipient = "
                          "'Ann' AND severity = 'info' AND key IN ('big_open:H1', 'big_open:H2') "
                          "AND value = 500000 AND message = 'amount 500000.0'"),
                 2);
    ri_alerts_report_free(r);
    cleanup(c, conf);
}

/* A query that never ends (an unbounded recursive CTE, counted) is stopped at its
 * 200 ms limit and reported; the built-in rules' 7 alerts are raised all the same. */
TEST(runaway_custom_rule_stopped)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf = config(
        c, "[rule.forever]\ntimeout_ms = 200\nsql = WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL "
           "SELECT x + 1 FROM r) SELECT count(*), 'a', 'b' FROM r\n");
    struct timespec t0, t1;
    struct ri_alerts_report *r;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = run(c, conf, "2026-06-30", 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(r->rule_errors, 1);
    CHECK_EQ_INT(r->raised, 7);
    CHECK(strstr(r->text, "forever: stopped at its time limit of 200 ms") != NULL);
    CHECK((double)(t1.tv_sec - t0.tv_sec) < 10.0);
    ri_alerts_report_free(r);
    cleanup(c, conf);
}

/* Custom rules run on a read-only connection: an INSERT and an UPDATE fail, are
 * reported, and change nothing; the other rules still run. */
TEST(custom_rule_cannot_write)
{
    struct ri_ctx *c = deal_store();
    struct ri_config *conf =
        config(c, "[rule.sneaky]\nsql = INSERT INTO reps(name) VALUES ('x') RETURNING name, "
                  "name, name\n"
                  "[rule.sneakier]\nsql = UPDATE deals SET amount = 0 RETURNING crm_id, crm_id, "
                  "crm_id\n");
    struct ri_alerts_report *r = run(c, conf, "2026-06-30", 0);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(r->rule_errors, 2);
    CHECK_EQ_INT(r->raised, 7);
    CHECK(strstr(r->text, "sneaky: ") != NULL);
    CHECK(strstr(r->text, "readonly") != NULL);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM reps WHERE name = 'x'"), 0);
    CHECK_EQ_INT(count(c, "SELECT count(*) FROM deals WHERE amount = 0"), 0);
    ri_alerts_report_free(r);
    cleanup(c, conf);
}

/* ------------------------------------------------------------------ configuration */

static const char *load_error(struct ri_ctx *c, const char *text)
{
    struct ri_config *conf = NULL;
    char path[256];
    fx_write("bad.conf", text);
    snprintf(path, sizeof(path), "%s/bad.conf", fx_dir);
    if (ri_config_load(c, path, &conf) == RI_OK) {
        ri_config_free(conf);
        return "";
    }
    return ri_errmsg(c);
}

TEST(configuration_errors_name_their_line)
{
    struct ri_ctx *c = ri_ctx_new();
    fx_fresh_dir("alerts-conf");
    /* a channel that is not defined, on line 4 */
    CHECK(strstr(load_error(c, "[alerts]\nquota = 1000000\n[recipients]\n"
                               "default_channels = mail\n"),
                 "bad.conf:4: [recipients] default_channels: no channel 'mail'") != NULL);
    CHECK(strstr(load_error(c, "[rule.stalled]\nfactor = fast\n"),
                 "bad.conf:2: factor must be a number") != NULL);
    CHECK(strstr(load_error(c, "[rule.zombie]\nsql = SELECT 1\n"), "built-in rule") != NULL);
    CHECK(strstr(load_error(c, "\n[rule.mine]\ntimeout_ms = 100\n"),
                 "bad.conf:2: [rule.mine] is not a built-in rule and has no sql") != NULL);
    CHECK(strstr(load_error(c, "[rule.zombie]\nspeed = 3\n"), "unknown key 'speed'") != NULL);
    CHECK(strstr(load_error(c, "[recipients]\nboss = a@b.c\n"), "unknown key 'boss'") != NULL);
    CHECK_STR(load_error(c, "[recipients]\nleadership = vp@example.com\nrep.Ann = a@b.c\n"
                            "rep.channels = none\n"),
              "");
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

/* ------------------------------------------------------------------ no alert on noise */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static double unif(uint64_t *s)
{
    return (double)lcg(s) / (double)(1ULL << 31);
}

/* A pipeline without any change: three years, 80 deals a month in three regions with
 * the same chances everywhere and always (reach Negotiation 50 %, win from there 50 %,
 * lost early otherwise), amounts drawn from one distribution. Diagnosed and checked as
 * of 2026-06-30 with a quota so high that only coverage may (and must) fire: no
 * pipeline rule other than coverage raises anything. */
static size_t pipeline_alerts(uint64_t seed, int shock, size_t *coverage, char *keys,
                              size_t keys_size)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_buf o = RI_BUF_INIT, h = RI_BUF_INIT;
    struct ri_diagnose_opts dopt = RI_DIAGNOSE_OPTS_INIT;
    struct ri_diagnosis *d = NULL;
    struct ri_config *conf = NULL;
    struct ri_alerts_report *r = NULL;
    static const char *const regions[] = {"EMEA", "AMER", "APAC"};
    uint64_t s = seed;
    size_t n = 0, found = 0;
    char path[256];
    fx_fresh_dir("alerts-noise");
    ri_buf_adds(&o, opp_head);
    ri_buf_adds(&h, hist_head);
    for (int m = 0; m < 36; m++) {
        for (int k = 0; k < 80; k++) {
            ri_time created = date("2023-07-01") + (ri_time)(m * 30 + (int)(unif(&s) * 30)) * DAY;
            ri_time t = created, close;
            double amount = floor(5000 + 45000 * unif(&s) * unif(&s));
            int late = unif(&s) < 0.5, won = late && unif(&s) < 0.5;
            /* the shock, in 2026-Q1 (the last complete quarter on 2026-06-30): half the
             * deals are not created, and a quarter of those that reach Negotiation are won
             * instead of a half */
            if (shock && created >= date("2026-01-01") && created < date("2026-04-01") && (k & 1))
                continue;
            const char *region = regions[lcg(&s) % 3];
            char cd[16], at[16], cl[16];
            int dq = 5 + (int)(unif(&s) * 20), dn = 10 + (int)(unif(&s) * 30);
            n++;
            close = created + (ri_time)(dq + (late ? dn : 0)) * DAY;
            if (shock && late && close >= date("2026-01-01") && close < date("2026-04-01"))
                won = unif(&s) < 0.25;
            ri_format_date(created, cd, sizeof(cd));
            ri_format_date(close, cl, sizeof(cl));
            ri_buf_addf(&h, "N%zu,Prospecting,%s,%.0f,%s,20\n", n, cd, amount, cl);
            t += (ri_time)dq * DAY;
            if (late && t <= date("2026-06-30")) {
                ri_format_date(t, at, sizeof(at));
                ri_buf_addf(&h, "N%zu,Negotiation,%s,%.0f,%s,60\n", n, at, amount, cl);
            }
            if (close <= date("2026-06-30")) {
                ri_buf_addf(&h, "N%zu,%s,%s,%.0f,%s,0\n", n, won ? "Closed Won" : "Closed Lost", cl,
                            amount, cl);
                ri_buf_addf(&o, "N%zu,Deal,Rep%d,Boss,%s,Retail,%s,%s,%s,%.0f,%s,0\n", n,
                            (int)(n % 9), region, cd, won ? "Closed Won" : "Closed Lost",
                            won ? "won" : "lost", amount, cl);
            } else {
                ri_buf_addf(&o, "N%zu,Deal,Rep%d,Boss,%s,Retail,%s,%s,open,%.0f,%s,20\n", n,
                            (int)(n % 9), region, cd,
                            late && t <= date("2026-06-30") ? "Negotiation" : "Prospecting", amount,
                            cl);
            }
        }
    }
    fx_write("opps.csv", o.buf);
    fx_write("hist.csv", h.buf);
    ri_buf_release(&o);
    ri_buf_release(&h);
    snprintf(path, sizeof(path), "%s/t.db", fx_dir);
    if (ri_store_open(c, path, RI_OPEN_CREATE) != RI_OK)
        abort();
    ingest_at(c, "opportunities", "opps.csv", NULL, date("2026-06-30"));
    ingest_at(c, "history", "hist.csv", NULL, date("2026-06-30"));
    dopt.as_of = date("2026-06-30");
    if (ri_diagnose(c, &dopt, &d) != RI_OK || ri_diagnosis_save(c, d) != RI_OK)
        abort();
    ri_diagnosis_free(d);
    conf = config(c, "[alerts]\nquota = 100000000\n");
    r = run(c, conf, "2026-06-30", 1);
    if (!r)
        abort();
    {
        const char *p = r->json;
        static const char *const rules[] = {
            "\"rule\":\"segment_winrate_drop\"", "\"rule\":\"late_stage_losses\"",
            "\"rule\":\"forecast_concentration\"", "\"rule\":\"pipeline_created_falling\""};
        for (size_t k = 0; k < RI_ARRAY_SIZE(rules); k++)
            for (p = strstr(r->json, rules[k]); p; p = strstr(p + 1, rules[k]))
                found++;
        if (keys) {
            /* the keys raised, in the report's order */
            size_t at = 0;
            keys[0] = '\0';
            for (p = strstr(r->json, "\"key\":\""); p && at < keys_size;
                 p = strstr(p + 1, "\"key\":\"")) {
                const char *e = strchr(p + 7, '"');
                at += (size_t)snprintf(keys + at, keys_size - at, "%.*s;", (int)(e - p - 7), p + 7);
            }
        }
        *coverage = 0;
        for (p = strstr(r->json, "\"rule\":\"coverage\""); p;
             p = strstr(p + 1, "\"rule\":\"coverage\""))
            (*coverage)++;
    }
    ri_alerts_report_free(r);
    cleanup(c, conf);
    return found;
}

TEST(no_pipeline_alert_on_noise)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        size_t cov = 0;
        CHECK_EQ_INT(pipeline_alerts(seed, 0, &cov, NULL, 0), 0);
        CHECK_EQ_INT(cov, 1); /* the rule works on this store: a quota of 100M is not covered */
    }
}

/* The same pipeline with a shock in 2026-Q1: about 120 deals created instead of 240
 * (amounts 5,000 + 45,000 u1 u2: mean 16,250, E[a^2] = 25e6 + 112.5e6 + 225e6 =
 * 362.5e6; a quarter's sd is at least sqrt(240 x 362.5e6) = 295,000 against a drop near
 * 120 x 16,250 = 1.95M: z near -6.6), and late-stage deals closing lost 75 % instead of
 * 50 % (100 to 120 of them a quarter: z = 0.25 / sqrt(0.625 x 0.375 x 2 / 120) = 4.0,
 * p near 0.0001 < 0.01). Both rules see it. */
TEST(pipeline_alerts_on_a_real_change)
{
    size_t cov = 0;
    char keys[4096];
    CHECK(pipeline_alerts(7, 1, &cov, keys, sizeof(keys)) >= 2);
    CHECK(strstr(keys, "pipeline_created_falling:all;") != NULL);
    CHECK(strstr(keys, "late_stage_losses:all;") != NULL);
}

/* The SkyGeni deals (closed deals of two years, no history): diagnosed, no pipeline
 * alert. */
TEST(no_pipeline_alert_on_skygeni)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_diagnose_opts dopt = RI_DIAGNOSE_OPTS_INIT;
    struct ri_diagnosis *d = NULL;
    struct ri_alerts_report *r = NULL;
    char path[256];
    const char *data = "../shared/data/skygeni_b2b_saas_deals/skygeni_sales_data.csv";
    if (access(data, R_OK) != 0) {
        fprintf(stderr, "test_alerts: %s not found, skipped\n", data);
        ri_ctx_free(c);
        return;
    }
    fx_fresh_dir("alerts-sky");
    snprintf(path, sizeof(path), "%s/t.db", fx_dir);
    REQUIRE(ri_store_open(c, path, RI_OPEN_CREATE) == RI_OK);
    {
        struct ri_ingest_opts o = RI_INGEST_OPTS_INIT;
        struct ri_ingest_report rep;
        o.path = data;
        o.map = "examples/mappings/skygeni.ini";
        REQUIRE(ri_ingest(c, &o, &rep) == RI_OK);
    }
    REQUIRE(ri_diagnose(c, &dopt, &d) == RI_OK);
    REQUIRE(ri_diagnosis_save(c, d) == RI_OK);
    ri_diagnosis_free(d);
    {
        struct ri_alerts_opts o;
        memset(&o, 0, sizeof(o));
        o.as_of = RI_TIME_NONE;
        o.now = RI_TIME_NONE;
        o.dry_run = 1;
        REQUIRE(ri_alerts_run(c, &o, &r) == RI_OK);
    }
    CHECK(strstr(r->json, "\"rule\":\"segment_winrate_drop\"") == NULL);
    CHECK(strstr(r->json, "\"rule\":\"late_stage_losses\"") == NULL);
    CHECK(strstr(r->json, "\"rule\":\"pipeline_created_falling\"") == NULL);
    ri_alerts_report_free(r);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

int main(void)
{
    BEGIN("test_alerts");
    RUN(deal_rules_fire_on_planted_deals_only);
    RUN(thresholds_from_the_configuration);
    RUN(system_rules);
    RUN(cooldown_and_digests);
    RUN(snooze_until_a_date);
    RUN(rerun_same_day_changes_nothing);
    RUN(dry_run_writes_nothing);
    RUN(custom_sql_rule);
    RUN(runaway_custom_rule_stopped);
    RUN(custom_rule_cannot_write);
    RUN(configuration_errors_name_their_line);
    RUN(no_pipeline_alert_on_noise);
    RUN(pipeline_alerts_on_a_real_change);
    RUN(no_pipeline_alert_on_skygeni);
    return DONE();
}
