/*
 * cmd_demo.c - `revintel demo`: the whole job on a simulated pipeline, end to end.
 *
 * It writes a simulated CRM export into the drop folder of a new workspace (a temporary
 * folder unless --dir is given), writes a revintel.conf that points at it with alerts
 * going to a file channel, runs the daily job (`revintel run`: ingest, diagnose, train,
 * score, forecast, alerts, delivery), writes the weekly report, and prints the briefing,
 * the steps and where everything is. Step times are left out so the output is stable.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: revintel demo [--deals N] [--seed S] [--dir DIR]\n\n"
    "The whole daily job on a simulated pipeline: simulates a CRM export (default 20000\n"
    "deals) into DIR/drop (DIR: a new temporary folder by default), writes DIR/revintel.conf,\n"
    "runs `revintel run` on it (ingest, diagnose, train, score, forecast, alerts into\n"
    "DIR/alerts.jsonl) and writes the weekly report to DIR/report.html and DIR/report.md.\n";

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return cli_error(EXIT_RUNTIME, "cannot write '%s': %s", path, strerror(errno));
    fputs(text, f);
    if (fclose(f) != 0)
        return cli_error(EXIT_RUNTIME, "cannot write '%s': %s", path, strerror(errno));
    return EXIT_OK;
}

static void on_step(const struct ri_run_step *s, int index, int done, void *ud)
{
    (void)ud;
    if (done)
        printf("   [%d/%d] %-8s %-7s %s\n", index + 1, RI_STEP__COUNT, s->name, s->status,
               s->detail);
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
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_config *conf = NULL;
    struct ri_run_opts ro;
    struct ri_run_report *rr = NULL;
    struct ri_report_opts po;
    struct ri_report_doc *doc = NULL;
    char dir[4096], path[4200], drop[4200], tmpl[] = "/tmp/revintel-demo-XXXXXX";
    const char *want_dir = NULL;
    struct cli_global g2 = *g;
    int c, code = EXIT_OK;
    ri_err rc;

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
    snprintf(drop, sizeof(drop), "%s/drop", dir);
    so.outdir = drop;
    printf("1. simulating %llu deals: a CRM export in %s\n", (unsigned long long)so.deals, drop);
    rc = ri_simulate(ctx, &so, &sr);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    printf("   %llu deals (%llu open, %llu won, %llu lost, %llu zombies), %llu history rows\n",
           (unsigned long long)sr.deals, (unsigned long long)sr.open, (unsigned long long)sr.won,
           (unsigned long long)sr.lost, (unsigned long long)sr.zombies,
           (unsigned long long)sr.history_rows);

    snprintf(path, sizeof(path), "%s/revintel.conf", dir);
    code = write_text(path, "# written by `revintel demo`: the daily job on the simulated export\n"
                            "[store]\ndb = revintel.db\n"
                            "[sources]\ndrop_dir = drop\n"
                            "[channel.file]\ntype = file\npath = alerts.jsonl\n"
                            "[recipients]\ndefault_channels = file\n"
                            "[report]\nchannels = file\n");
    if (code)
        goto out;
    g2.config = path;
    code = cli_load_config(ctx, &g2, &conf);
    if (code)
        goto out;
    snprintf(path, sizeof(path), "%s/revintel.db", dir);
    g2.db = path;
    code = cli_open_store(ctx, &g2, RI_OPEN_CREATE);
    if (code)
        goto out;
    printf("2. the daily job (revintel --config %s/revintel.conf run):\n", dir);
    memset(&ro, 0, sizeof(ro));
    ro.config = conf;
    ro.now = g->now;
    ro.on_step = on_step;
    rc = ri_run(ctx, &ro, &rr);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    printf("3. briefing:\n");
    {
        const char *p = rr->briefing;
        while (*p) {
            const char *e = strchr(p, '\n');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            printf("   %.*s\n", (int)n, p);
            p += n + (e != NULL);
        }
    }
    memset(&po, 0, sizeof(po));
    po.config = conf;
    po.as_of = RI_TIME_NONE;
    po.days = 7;
    rc = ri_report(ctx, &po, &doc);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/report.html", dir);
    if ((code = write_text(path, doc->html)) != 0)
        goto out;
    snprintf(path, sizeof(path), "%s/report.md", dir);
    if ((code = write_text(path, doc->markdown)) != 0)
        goto out;
    printf("4. weekly report: %s/report.html (and report.md)\n   %s\n", dir, doc->subject);
    printf("5. alerts: digests delivered to %s/alerts.jsonl; revintel --config "
           "%s/revintel.conf alerts list\n",
           dir, dir);
    printf("\nnext: revintel --config %s/revintel.conf diagnose | explain DEAL | forecast | "
           "backtest | report\n",
           dir);
    code = rr->failed ? EXIT_RUNTIME : EXIT_OK;
out:
    ri_report_doc_free(doc);
    ri_run_report_free(rr);
    ri_config_free(conf);
    ri_ctx_free(ctx);
    return code;
}
