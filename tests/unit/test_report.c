/*
 * test_report.c - the weekly report: its figures against the store's tables read here by
 * SQL, CRM strings that try to break out of HTML, of the JSON data blocks and of Markdown,
 * the "not available" lines of a store without models, [report] settings, and queueing in
 * the outbox.
 */
#include "harness.h"
#include "fixture.h"

#include "conf.h"
#include "revintel.h"
#include "ri_internal.h"
#include "store.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define EVIL_NAME  "<script>alert(1)</script>"
#define EVIL_CELL  "=HYPERLINK(\"http://x\",\"y\")"
#define EVIL_SEG   "region=</script><script>alert(1)</script>"
#define EVIL_ALERT "deal <img src=x onerror=alert(1)> | at risk"

static char sim_dir[64];
static char top_id[64]; /* the deal most at risk, by SQL */

/* One integer or text of a query, or -1 / "". */
static int64_t q_i64(struct ri_ctx *c, const char *sql)
{
    int64_t v = -1;
    if (ri_store_query_i64(c, ri_ctx_store(c), sql, &v) != RI_OK)
        return -1;
    return v;
}

static void q_text(struct ri_ctx *c, const char *sql, char *out, size_t size)
{
    struct ri_stmt *s = NULL;
    out[0] = '\0';
    if (ri_stmt_prepare(c, ri_ctx_store(c), sql, &s) == RI_OK && ri_stmt_step(c, s) == RI_OK) {
        const char *t = ri_stmt_text(s, 0, NULL);
        snprintf(out, size, "%s", t ? t : "");
    }
    ri_stmt_free(s);
}

static void exec(struct ri_ctx *c, const char *sql)
{
    if (ri_store_exec(c, ri_ctx_store(c), sql) != RI_OK) {
        fprintf(stderr, "%s: %s\n", sql, ri_errmsg(c));
        abort();
    }
}

/* 1,500 simulated deals as of 2026-06-30, ingested, diagnosed, a small model trained,
 * the open deals scored and the quarter forecast; then the CRM strings of the deal most
 * at risk, one driver's label and three alerts are made hostile. Built once. */
static struct ri_ctx *full_store(void)
{
    static int made;
    struct ri_ctx *c = ri_ctx_new();
    char path[160];
    if (!made)
        fx_simulate(sim_dir, "report", 1500, 5);
    snprintf(path, sizeof(path), "%s/t.db", sim_dir);
    if (ri_store_open(c, path, RI_OPEN_CREATE) != RI_OK)
        abort();
    if (!made) {
        struct ri_diagnose_opts dop = RI_DIAGNOSE_OPTS_INIT;
        struct ri_diagnosis *d = NULL;
        struct ri_model_opts mo = RI_MODEL_OPTS_INIT;
        struct ri_model_report *mr = NULL;
        struct ri_forecast_opts fo = RI_FORECAST_OPTS_INIT;
        struct ri_forecast_report *fr = NULL;
        char sql[512];
        snprintf(path, sizeof(path), "%s/opportunities.csv", sim_dir);
        fx_ingest(c, "opportunities", path, NULL);
        snprintf(path, sizeof(path), "%s/stage_history.csv", sim_dir);
        fx_ingest(c, "history", path, NULL);
        if (ri_diagnose(c, &dop, &d) != RI_OK || ri_diagnosis_save(c, d) != RI_OK)
            abort();
        ri_diagnosis_free(d);
        mo.trees = 40;
        mo.threads = 1;
        if (ri_train(c, &mo, &mr) != RI_OK)
            abort();
        ri_model_report_free(mr);
        if (ri_score(c, &mo, NULL, &mr) != RI_OK)
            abort();
        ri_model_report_free(mr);
        fo.sims = 2000;
        if (ri_forecast(c, &fo, &fr) != RI_OK)
            abort();
        ri_forecast_report_free(fr);

        /* the deal most at risk: the largest amount x (1 - P(win)) among the deals the
         * latest score run rates high risk or at risk */
        q_text(c,
               "SELECT d.crm_id FROM scores s JOIN deals d ON d.id = s.deal_id WHERE s.run_id = "
               "(SELECT id FROM score_runs ORDER BY as_of DESC, id DESC LIMIT 1) AND s.tier IN "
               "('high risk', 'at risk') ORDER BY coalesce(d.amount, 0) * (1 - s.p_win) DESC, "
               "d.crm_id LIMIT 1",
               top_id, sizeof(top_id));
        if (!top_id[0])
            abort();
        snprintf(sql, sizeof(sql),
                 "UPDATE deals SET name = '%s', account = '%s', owner = '%s' WHERE crm_id = '%s'",
                 EVIL_NAME, EVIL_CELL, EVIL_CELL, top_id);
        exec(c, sql);
        /* the first driver listed (significant, not small, largest change first) */
        exec(c, "UPDATE diag_decomposition SET segment = '" EVIL_SEG "' WHERE rowid = (SELECT "
                "rowid FROM diag_decomposition ORDER BY significant DESC, small ASC, abs(total) "
                "DESC, dim, segment LIMIT 1)");
        /* one alert inside the week, one 30 days before, one of a dry run */
        exec(c, "INSERT INTO alerts(as_of, key, rule, severity, recipient, subject, message, "
                "action, value, status) VALUES "
                "(1782777600, 'deal.high_risk:X', 'deal.high_risk', 'critical', 'lead', "
                "'" EVIL_ALERT "', 'msg " EVIL_NAME "', 'call " EVIL_CELL "', 12345, 'queued'),"
                "(1782777600, 'deal.high_risk:X', 'deal.high_risk', 'critical', 'cro', "
                "'" EVIL_ALERT "', 'msg " EVIL_NAME "', 'call " EVIL_CELL "', 12345, 'queued'),"
                "(1780185600, 'old:Y', 'deal.zombie', 'warning', 'lead', 'old one', 'm', 'a', "
                "1, 'queued'),"
                "(1782777600, 'dry:Z', 'deal.zombie', 'warning', 'lead', 'dry one', 'm', 'a', "
                "1, 'dry_run')");
        made = 1;
    }
    return c;
}

/* The numbers after each occurrence of "key": in text, in order. */
static size_t json_nums(const char *text, const char *key, double *out, size_t max)
{
    char pat[64];
    size_t n = 0;
    const char *p = text;
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    while (n < max && (p = strstr(p, pat)) != NULL) {
        p += strlen(pat);
        out[n++] = strtod(p, NULL);
    }
    return n;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* How many times c occurs in s without a backslash before it. */
static size_t unescaped(const char *s, char c)
{
    size_t n = 0;
    for (const char *p = strchr(s, c); p; p = strchr(p + 1, c))
        n += p == s || p[-1] != '\\';
    return n;
}

/* 1234567.4 -> "1,234,567" */
static void commas(double v, char *out)
{
    char d[32];
    size_t n, o = 0;
    snprintf(d, sizeof(d), "%.0f", v);
    n = strlen(d);
    for (size_t k = 0; k < n; k++) {
        if (k && (n - k) % 3 == 0)
            out[o++] = ',';
        out[o++] = d[k];
    }
    out[o] = '\0';
}

static struct ri_report_doc *make_report(struct ri_ctx *c, const struct ri_config *conf, int days)
{
    struct ri_report_opts o = {conf, RI_TIME_NONE, days};
    struct ri_report_doc *doc = NULL;
    if (ri_report(c, &o, &doc) != RI_OK) {
        fprintf(stderr, "report: %s\n", ri_errmsg(c));
        return NULL;
    }
    return doc;
}

/* The forecast's P10/P50/P90 and the deal most at risk are the store's: the JSON figures
 * equal the forecast_runs rows read here, the HTML table shows them, and the first deal
 * at risk is the one the SQL above ranks first. */
TEST(figures_match_the_tables)
{
    struct ri_ctx *c = full_store();
    struct ri_report_doc *doc = make_report(c, NULL, 7);
    struct ri_stmt *s = NULL;
    double p10[4], p50[4], p90[4];
    size_t k = 0;
    REQUIRE(doc != NULL);
    CHECK_EQ_INT(doc->as_of, 1782777600); /* 2026-06-30, the simulator's as-of date */
    CHECK_EQ_INT(json_nums(doc->json, "p10", p10, 4), 2);
    CHECK_EQ_INT(json_nums(doc->json, "p50", p50, 4), 2);
    CHECK_EQ_INT(json_nums(doc->json, "p90", p90, 4), 2);
    REQUIRE(ri_stmt_prepare(c, ri_ctx_store(c),
                            "SELECT p10, p50, p90 FROM forecast_runs WHERE as_of = (SELECT "
                            "max(as_of) FROM forecast_runs) ORDER BY start",
                            &s) == RI_OK);
    while (ri_stmt_step(c, s) == RI_OK && k < 2) {
        char num[32], cell[64];
        CHECK_NEAR(p10[k], ri_stmt_f64(s, 0), 1e-6 * fabs(ri_stmt_f64(s, 0)) + 1e-9);
        CHECK_NEAR(p50[k], ri_stmt_f64(s, 1), 1e-6 * fabs(ri_stmt_f64(s, 1)) + 1e-9);
        CHECK_NEAR(p90[k], ri_stmt_f64(s, 2), 1e-6 * fabs(ri_stmt_f64(s, 2)) + 1e-9);
        commas(ri_stmt_f64(s, 1), num);
        snprintf(cell, sizeof(cell), "<td class=\"n\">%s</td>", num);
        CHECK(strstr(doc->html, cell) != NULL);
        k++;
    }
    ri_stmt_free(s);
    CHECK_EQ_INT(k, 2);
    {
        /* the first deal listed under "at_risk" */
        const char *p = strstr(doc->json, "\"at_risk\": {");
        char want[96];
        REQUIRE(p != NULL);
        p = strstr(p, "\"crm_id\": ");
        REQUIRE(p != NULL);
        snprintf(want, sizeof(want), "\"crm_id\": \"%s\"", top_id);
        CHECK(strncmp(p, want, strlen(want)) == 0);
    }
    {
        /* the headline's win rate is the compared period's row of diag_periods */
        char period[32], want[96];
        int64_t run = q_i64(c, "SELECT max(id) FROM diag_runs");
        struct ri_stmt *w = NULL;
        q_text(c, "SELECT p1 FROM diag_runs ORDER BY id DESC LIMIT 1", period, sizeof(period));
        CHECK(period[0] != '\0');
        REQUIRE(ri_stmt_prepare(c, ri_ctx_store(c),
                                "SELECT win_rate, win_rate_lo, win_rate_hi FROM diag_periods "
                                "WHERE run_id = ?1 AND period = ?2",
                                &w) == RI_OK);
        ri_stmt_bind_i64(w, 1, run);
        ri_stmt_bind_text(w, 2, period, strlen(period));
        REQUIRE(ri_stmt_step(c, w) == RI_OK);
        snprintf(want, sizeof(want), "win rate %.1f %% in %s", 100 * ri_stmt_f64(w, 0), period);
        CHECK(strstr(doc->subject, want) != NULL);
        snprintf(want, sizeof(want), "95 %% interval %.1f-%.1f", 100 * ri_stmt_f64(w, 1),
                 100 * ri_stmt_f64(w, 2));
        CHECK(strstr(doc->html, want) != NULL);
        ri_stmt_free(w);
    }
    /* the alerts of the week: one key (two recipients), not the older one nor the dry run */
    CHECK(strstr(doc->json, "\"total\": 1\n") != NULL);
    CHECK(strstr(doc->json, "\"recipients\": 2") != NULL);
    CHECK(strstr(doc->html, "old one") == NULL);
    CHECK(strstr(doc->html, "dry one") == NULL);
    CHECK(strstr(doc->subject, "; 1 alert") != NULL);
    CHECK(strncmp(doc->subject, "revintel weekly report, 2026-06-30: ", 36) == 0);
    ri_report_doc_free(doc);
    ri_ctx_free(c);
}

/* The latest backtest's figures appear as the forecast's track record, in HTML and
 * Markdown, worked from a row written here: WAPE 0.1234 -> "12.3 %", bias -0.05 ->
 * "-5.0 %", coverage 0.8 -> "80 %", the reps' WAPE 0.6 -> "60.0 %"; an older run is not
 * the one shown. */
TEST(backtest_track_record)
{
    struct ri_ctx *c = full_store();
    struct ri_report_doc *doc = NULL;
    REQUIRE(ri_store_exec(c, ri_ctx_store(c),
                          "DELETE FROM backtest_runs; INSERT INTO backtest_runs(created_at, "
                          "period, from_t, to_t, n, wape, mape, bias, within_band, coverage, "
                          "rep_wape, rep_bias, stage_wape, stage_bias) VALUES (1, 'quarter', "
                          "1735689600, 1767225600, 9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.9, 0.9, 0.9, "
                          "0.9), (2, 'quarter', 1743465600, 1775001600, 53, 0.1234, 0.12, "
                          "-0.05, 0.9, 0.8, 0.6, 0.6, 0.4, 0.4)") == RI_OK);
    doc = make_report(c, NULL, 7);
    REQUIRE(doc != NULL);
    CHECK(strstr(doc->html, "53 weekly forecasts from 2025-04-01 to 2026-04-01") != NULL);
    CHECK(strstr(doc->html, "off by 12.3 % of the actual on average (WAPE), bias -5.0 %, 90 % "
                            "within 85-115 %") != NULL);
    CHECK(strstr(doc->html, "inside P10-P90 80 % of the time") != NULL);
    CHECK(strstr(doc->markdown, "was off by 60.0 %") != NULL);
    CHECK(strstr(doc->markdown, "9 weekly forecasts") == NULL);
    ri_report_doc_free(doc);
    REQUIRE(ri_store_exec(c, ri_ctx_store(c), "DELETE FROM backtest_runs") == RI_OK);
    doc = make_report(c, NULL, 7);
    REQUIRE(doc != NULL);
    CHECK(strstr(doc->html, "Track record") == NULL);
    ri_report_doc_free(doc);
    ri_ctx_free(c);
}

/* CRM strings are text wherever they land. In HTML the deal name is escaped (never a raw
 * "<script>alert(1)"), the formula-looking account is plain escaped text; the JSON data
 * blocks hold no '<' at all, so the driver label "</script><script>..." cannot end its
 * block; exactly the page's own 7 script elements exist (guard, Chart.js, drawing, four
 * data blocks). In Markdown the formula gets a leading quote and the tags backslashes. */
TEST(crm_strings_are_escaped)
{
    struct ri_ctx *c = full_store();
    struct ri_report_doc *doc = make_report(c, NULL, 7);
    const char *p;
    size_t blocks = 0;
    REQUIRE(doc != NULL);
    CHECK(strstr(doc->html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(doc->html, "<script>alert(1)") == NULL);
    CHECK(strstr(doc->html, "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)") != NULL);
    CHECK(strstr(doc->html, "<img") == NULL);
    CHECK(strstr(doc->html, "deal &lt;img src=x onerror=alert(1)&gt; | at risk") != NULL);
    for (p = strstr(doc->html, "<script type=\"application/json\""); p;
         p = strstr(p, "<script type=\"application/json\"")) {
        const char *body = strchr(p, '>') + 1;
        const char *end = strstr(body, "</script>");
        REQUIRE(end != NULL);
        CHECK(memchr(body, '<', (size_t)(end - body)) == NULL);
        CHECK(memchr(body, '>', (size_t)(end - body)) == NULL);
        blocks++;
        p = end;
    }
    CHECK_EQ_INT(blocks, 4);
    CHECK(strstr(doc->html, "region=\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/"
                            "script\\u003e") != NULL);
    CHECK_EQ_INT(count(doc->html, "<script"), 7);
    CHECK_EQ_INT(count(doc->html, "</script>"), 7);
    /* Markdown */
    CHECK(strstr(doc->markdown, "| '=HYPERLINK(\"http://x\",\"y\") |") != NULL);
    CHECK(strstr(doc->markdown, "\\<script\\>alert(1)\\</script\\>") != NULL);
    CHECK(unescaped(doc->markdown, '<') == 0);
    CHECK(strstr(doc->markdown, "msg \\<script>alert(1)\\</script>") != NULL);
    CHECK(strstr(doc->markdown, "deal \\<img src=x onerror=alert(1)> \\| at risk") != NULL);
    /* the JSON figures carry the strings as they are, JSON-escaped */
    CHECK(strstr(doc->json, "\"name\": \"<script>alert(1)</script>\"") != NULL);
    CHECK(strstr(doc->json, "\"account\": \"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\"") != NULL);
    ri_report_doc_free(doc);
    ri_ctx_free(c);
}

/* A store with deals but no diagnosis, model or forecast: a report all the same, each
 * missing part saying which command makes it; an empty store too. */
TEST(missing_parts_say_what_to_run)
{
    struct ri_ctx *c = ri_ctx_new();
    struct ri_report_doc *doc = NULL;
    char path[160], dir[64];
    snprintf(dir, sizeof(dir), "%s", sim_dir);
    fx_fresh_dir("report-empty");
    snprintf(path, sizeof(path), "%s/e.db", fx_dir);
    REQUIRE(ri_store_open(c, path, RI_OPEN_CREATE) == RI_OK);
    doc = make_report(c, NULL, 7);
    REQUIRE(doc != NULL);
    CHECK(strstr(doc->markdown, "not available: run `revintel diagnose`") != NULL);
    CHECK(strstr(doc->markdown, "not available: run `revintel train`, then `revintel score`") !=
          NULL);
    CHECK(strstr(doc->markdown, "not available: run `revintel train`, then `revintel forecast`") !=
          NULL);
    CHECK(strstr(doc->markdown, "No alerts this week.") != NULL);
    CHECK(strstr(doc->html, "not available: run <code>revintel train</code>, then "
                            "<code>revintel score</code>") != NULL);
    CHECK(strstr(doc->json, "\"diagnosis\": null") != NULL);
    CHECK(strstr(doc->json, "\"forecast\": null") != NULL);
    CHECK(strstr(doc->html, "<canvas") == NULL);
    ri_report_doc_free(doc);

    /* deals, no models: the as-of date is the store's latest date */
    snprintf(path, sizeof(path), "%s/opportunities.csv", dir);
    fx_ingest(c, "opportunities", path, NULL);
    doc = make_report(c, NULL, 0);
    REQUIRE(doc != NULL);
    CHECK_EQ_INT(doc->as_of, 1782777600);
    CHECK(strstr(doc->markdown, "not available: run `revintel train`, then `revintel score`") !=
          NULL);
    CHECK(strstr(doc->markdown, "As of 2026-06-30, looking back 7 days.") != NULL);
    ri_report_doc_free(doc);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

static struct ri_config *load_conf(struct ri_ctx *c, const char *text)
{
    struct ri_config *conf = NULL;
    char path[160];
    fx_write("revintel.conf", text);
    snprintf(path, sizeof(path), "%s/revintel.conf", fx_dir);
    if (ri_config_load(c, path, &conf) != RI_OK)
        return NULL;
    return conf;
}

/* [report]: days sets the window, chartjs a missing file is an error naming the file and
 * the package, bad values are refused by line. */
TEST(report_settings)
{
    struct ri_ctx *c = full_store();
    struct ri_config *conf;
    struct ri_report_doc *doc = NULL;
    struct ri_report_opts o = {NULL, RI_TIME_NONE, 0};
    fx_fresh_dir("report-conf");

    conf = load_conf(c, "[report]\ndays = 60\n");
    REQUIRE(conf != NULL);
    doc = make_report(c, conf, 0);
    REQUIRE(doc != NULL);
    CHECK(strncmp(doc->subject, "revintel report (60 days), 2026-06-30: ", 39) == 0);
    /* 60 days back from 2026-06-30 reaches 2026-05-01: the alert of 2026-05-31 counts */
    CHECK(strstr(doc->json, "\"total\": 2\n") != NULL);
    CHECK(strstr(doc->html, "old one") != NULL);
    ri_report_doc_free(doc);
    /* --days wins over the file */
    doc = make_report(c, conf, 7);
    REQUIRE(doc != NULL);
    CHECK(strstr(doc->html, "old one") == NULL);
    ri_report_doc_free(doc);
    ri_config_free(conf);

    conf = load_conf(c, "[report]\nchartjs = missing/chart.js\n");
    REQUIRE(conf != NULL);
    o.config = conf;
    doc = NULL;
    CHECK(ri_report(c, &o, &doc) == RI_ERR_IO);
    CHECK(doc == NULL);
    CHECK(strstr(ri_errmsg(c), "missing/chart.js") != NULL);
    CHECK(strstr(ri_errmsg(c), "libjs-chart.js") != NULL);
    ri_config_free(conf);

    CHECK(load_conf(c, "[report]\ndays = 0\n") == NULL);
    CHECK(strstr(ri_errmsg(c), ":2:") != NULL);
    CHECK(load_conf(c, "[report]\nchannels = a,,b\n") == NULL);
    CHECK(load_conf(c, "[report]\ncolour = blue\n") == NULL);
    CHECK(strstr(ri_errmsg(c), "colour") != NULL);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

/* Sending queues one outbox message per channel under "report:<date>:<channel>"; sending
 * again queues nothing more; no channel at all is an error, an unknown one too. */
TEST(send_queues_once_per_channel)
{
    struct ri_ctx *c = full_store();
    struct ri_config *conf;
    struct ri_report_doc *doc;
    char text[4096];
    fx_fresh_dir("report-send");
    snprintf(text, sizeof(text),
             "[channel.ops]\ntype = file\npath = %s/out.jsonl\n\n[report]\nchannels = ops\n",
             fx_dir);
    conf = load_conf(c, text);
    REQUIRE(conf != NULL);
    doc = make_report(c, conf, 7);
    REQUIRE(doc != NULL);
    CHECK(ri_report_send(c, conf, doc, NULL, RI_TIME_NONE) == RI_OK);
    CHECK(ri_report_send(c, conf, doc, "ops", RI_TIME_NONE) == RI_OK);
    CHECK_EQ_INT(q_i64(c, "SELECT count(*) FROM outbox WHERE idem_key = 'report:2026-06-30:ops' "
                          "AND channel = 'ops'"),
                 1);
    CHECK(ri_report_send(c, conf, doc, "nope", RI_TIME_NONE) != RI_OK);
    CHECK(strstr(ri_errmsg(c), "nope") != NULL);
    ri_config_free(conf);
    conf = load_conf(c, "[store]\n");
    REQUIRE(conf != NULL);
    CHECK(ri_report_send(c, conf, doc, NULL, RI_TIME_NONE) == RI_ERR_INVALID);
    ri_config_free(conf);
    ri_report_doc_free(doc);
    ri_ctx_free(c);
    fx_remove_tree(fx_dir);
}

int main(void)
{
    BEGIN("test_report");
    RUN(figures_match_the_tables);
    RUN(backtest_track_record);
    RUN(crm_strings_are_escaped);
    RUN(missing_parts_say_what_to_run);
    RUN(report_settings);
    RUN(send_queues_once_per_channel);
    fx_remove_tree(sim_dir);
    return DONE();
}
