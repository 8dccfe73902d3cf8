/*
 * cmd_demo.c - `revintel demo`: the whole job on a simulated pipeline, end to end.
 *
 * It writes a simulated CRM export into a folder (a new temporary one unless --dir is
 * given), creates a store there, ingests the four files, and prints what the store
 * now knows: the ingest summaries, the data-quality report, the pipeline replayed as of
 * the end of each of the last quarters by the as-of engine, and the diagnosis headline.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: revintel demo [--deals N] [--seed S] [--dir DIR]\n\n"
    "Simulates a pipeline (default 20000 deals), ingests it into a new store in DIR (default\n"
    "a new temporary folder) and prints what revintel makes of it.\n";

static int ingest_one(struct ri_ctx *ctx, const char *dir, const char *file,
                      enum ri_ingest_kind kind, ri_time as_of)
{
    char path[4096];
    struct ri_ingest_opts io = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    ri_err rc;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    io.kind = kind;
    io.path = path;
    io.as_of = as_of;
    rc = ri_ingest(ctx, &io, &rep);
    if (rc)
        return cli_fail(ctx, rc);
    printf("   %-18s %9llu rows read = %9llu accepted + %llu quarantined\n", file,
           (unsigned long long)rep.rows_read, (unsigned long long)rep.rows_accepted,
           (unsigned long long)rep.rows_quarantined);
    return EXIT_OK;
}

/* t itself, preceded by the last days of the n - 1 quarters before it. */
static void quarter_ends(ri_time t, ri_time *out, int n)
{
    char d[16];
    int y, m;
    ri_format_date(t, d, sizeof(d));
    y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    m = (d[5] - '0') * 10 + (d[6] - '0');
    m = (m - 1) / 3 * 3 + 1; /* first month of t's quarter */
    out[n - 1] = t;
    for (int i = n - 2; i >= 0; i--) {
        char q[32];
        ri_time first;
        snprintf(q, sizeof(q), "%04d-%02d-01", y, m);
        ri_parse_date(q, strlen(q), RI_DATE_ISO, &first);
        out[i] = first - RI_DAY; /* the day before the quarter starts */
        m -= 3;
        if (m < 1) {
            m += 12;
            y--;
        }
    }
}

CMD(demo)
{
    static const struct option opts[] = {{"deals", required_argument, NULL, 'n'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_sim_opts so = RI_SIM_OPTS_INIT;
    struct ri_sim_report sr;
    struct ri_quality_report qr;
    struct ri_history *h = NULL;
    struct ri_asof_state st;
    struct ri_asof_summary sum[5];
    struct ri_ctx *ctx = ri_ctx_new();
    char dir[4096], db[4200], tmpl[] = "/tmp/revintel-demo-XXXXXX";
    const char *want_dir = NULL;
    struct cli_global g2 = *g;
    int c, code = EXIT_OK;
    ri_err rc;
    ri_time ends[5];

    memset(&st, 0, sizeof(st));
    while ((c = getopt_long(argc, argv, "n:s:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            code = cli_parse_u64_opt("--deals", optarg, &so.deals);
            break;
        case 's':
            code = cli_parse_u64_opt("--seed", optarg, &so.seed);
            break;
        case 'd':
            want_dir = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            goto out;
        default:
            code = cli_error(EXIT_USAGE, "see 'revintel demo --help'");
        }
        if (code)
            goto out;
    }
    if (want_dir) {
        if (mkdir(want_dir, 0755) != 0 && errno != EEXIST) {
            code = cli_error(EXIT_RUNTIME, "cannot create '%s': %s", want_dir, strerror(errno));
            goto out;
        }
        snprintf(dir, sizeof(dir), "%s", want_dir);
    } else if (!mkdtemp(tmpl)) {
        code = cli_error(EXIT_RUNTIME, "cannot create a temporary folder: %s", strerror(errno));
        goto out;
    } else {
        snprintf(dir, sizeof(dir), "%s", tmpl);
    }
    /* the simulator's default snapshot date, made explicit so every step uses the same */
    if (g->now != RI_TIME_NONE)
        so.as_of = g->now;
    else
        ri_parse_date("2026-06-30", 10, RI_DATE_ISO, &so.as_of);
    so.outdir = dir;
    printf("1. simulating %llu deals into %s\n", (unsigned long long)so.deals, dir);
    rc = ri_simulate(ctx, &so, &sr);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    printf("   %llu deals (%llu open, %llu won, %llu lost, %llu zombies), %llu history rows\n",
           (unsigned long long)sr.deals, (unsigned long long)sr.open, (unsigned long long)sr.won,
           (unsigned long long)sr.lost, (unsigned long long)sr.zombies,
           (unsigned long long)sr.history_rows);
    snprintf(db, sizeof(db), "%s/revintel.db", dir);
    g2.db = db;
    printf("2. ingesting into %s\n", db);
    if ((code = cli_open_store(ctx, &g2, RI_OPEN_CREATE)) != 0 ||
        (code = ingest_one(ctx, dir, "opportunities.csv", RI_KIND_OPPORTUNITIES, so.as_of)) ||
        (code = ingest_one(ctx, dir, "stage_history.csv", RI_KIND_HISTORY, so.as_of)) ||
        (code = ingest_one(ctx, dir, "accounts.csv", RI_KIND_ACCOUNTS, so.as_of)) ||
        (code = ingest_one(ctx, dir, "tickets.csv", RI_KIND_TICKETS, so.as_of)))
        goto out;
    rc = ri_quality(ctx, 0, &qr);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    printf("3. data quality: %llu rows read = %llu accepted + %llu quarantined; "
           "%llu deals, %llu events\n",
           (unsigned long long)qr.rows_read, (unsigned long long)qr.rows_accepted,
           (unsigned long long)qr.rows_quarantined, (unsigned long long)qr.deals,
           (unsigned long long)qr.events);
    rc = ri_history_load(ctx, &h);
    if (!rc)
        rc = ri_asof_state_init(&st, h);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    printf("4. the pipeline as it stood at the end of each quarter (as-of engine):\n");
    printf("   %-10s %8s %8s %12s %8s %8s %14s\n", "as of", "deals", "open", "open amount", "late",
           "won", "won amount");
    quarter_ends(so.as_of, ends, 5);
    for (int i = 0; i < 5; i++) {
        char d[16];
        ri_asof(h, ends[i], &st);
        ri_asof_summarize(&st, &sum[i]);
        ri_format_date(ends[i], d, sizeof(d));
        printf("   %-10s %8llu %8llu %12.0f %8llu %8llu %14.0f\n", d,
               (unsigned long long)sum[i].existing, (unsigned long long)sum[i].open,
               sum[i].open_amount, (unsigned long long)sum[i].open_late,
               (unsigned long long)sum[i].won, sum[i].won_amount);
    }
    {
        /* what a sales leader asks first: why is the win rate moving? */
        struct ri_diagnose_opts dopt = RI_DIAGNOSE_OPTS_INIT;
        struct ri_diagnosis *dg = NULL;
        dopt.as_of = so.as_of;
        rc = ri_diagnose(ctx, &dopt, &dg);
        if (!rc)
            rc = ri_diagnosis_save(ctx, dg);
        if (rc) {
            ri_diagnosis_free(dg);
            code = cli_fail(ctx, rc);
            goto out;
        }
        printf("5. diagnosis (revintel --db %s diagnose for the whole briefing):\n   %s\n", db,
               ri_diagnosis_headline(dg));
        ri_diagnosis_free(dg);
    }
    {
        /* which open deals look like lost ones, and what the period will bring */
        struct ri_model_opts mo = RI_MODEL_OPTS_INIT;
        struct ri_forecast_opts fo = RI_FORECAST_OPTS_INIT;
        struct ri_model_report *tr = NULL, *scr = NULL;
        struct ri_forecast_report *fr = NULL;
        mo.as_of = fo.as_of = so.as_of;
        rc = ri_train(ctx, &mo, &tr);
        if (!rc)
            rc = ri_score(ctx, &mo, NULL, &scr);
        if (!rc)
            rc = ri_forecast(ctx, &fo, &fr);
        if (rc) {
            code = cli_fail(ctx, rc);
        } else {
            printf("6. risk model (revintel train / evaluate): AUC %.3f on the deals open 180 "
                   "days before, judged by what happened to them\n",
                   tr->auc);
            printf("7. scores (revintel score, explain DEAL): %s", scr->text);
            printf("8. forecast (revintel forecast, backtest):\n%s", fr->text);
        }
        ri_model_report_free(tr);
        ri_model_report_free(scr);
        ri_forecast_report_free(fr);
        if (code)
            goto out;
    }
    printf("\nstore: %s (query it with sqlite3; views v_deals, v_deal_events, v_scores; "
           "tables diag_*, forecast_*)\n",
           db);
out:
    ri_asof_state_release(&st);
    ri_history_free(h);
    ri_ctx_free(ctx);
    return code;
}
