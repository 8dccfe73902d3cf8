/*
 * cmd_run.c - `revintel run`: the daily job (ingest what is new, diagnose, retrain when
 * due, score, forecast, alert, deliver), with a line per step on the terminal and the
 * steps' table (or JSON) at the end. Exit 0 when every step worked, 4 when one failed.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: revintel [--config FILE] run [--force] [--no-deliver]\n\n"
    "The daily job on the store named by the configuration (or --db): ingest the new files\n"
    "of the drop folder ([sources] drop_dir), rebuild the diagnosis, retrain the model when\n"
    "it is older than [model] retrain_days, score every open deal, forecast the current and\n"
    "next period, evaluate the alert rules and deliver the digests through the outbox.\n"
    "Steps whose inputs have not changed are skipped, so running it twice changes nothing\n"
    "and sends nothing twice. Every step is recorded in the store (runs, run_steps).\n\n"
    "  --force        redo every step, and retrain\n"
    "  --no-deliver   queue the alerts, do not send them\n\n"
    "Schedule it with cron or a systemd timer: see examples/cron and examples/systemd.\n";

struct progress {
    int tty, quiet;
};

static void on_step(const struct ri_run_step *s, int index, int done, void *ud)
{
    const struct progress *p = ud;
    if (p->quiet)
        return;
    if (!done) {
        if (p->tty)
            fprintf(stderr, "[%d/%d] %s ...", index + 1, RI_STEP__COUNT, s->name);
        return;
    }
    if (p->tty)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "[%d/%d] %-8s %-7s %6.1f s  %s\n", index + 1, RI_STEP__COUNT, s->name,
            s->status, s->seconds, s->detail);
}

CMD(run)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                         {"no-deliver", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_run_opts o;
    struct ri_run_report *r = NULL;
    struct ri_config *conf = NULL;
    struct ri_ctx *ctx = NULL;
    struct progress pr;
    int c, code;
    ri_err rc;

    memset(&o, 0, sizeof(o));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o.force = 1;
            break;
        case 'n':
            o.no_deliver = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_error(EXIT_USAGE, "see 'revintel run --help'");
        }
    }
    if (optind != argc)
        return cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    ctx = ri_ctx_new();
    code = cli_load_config(ctx, g, &conf);
    if (code)
        goto out;
    code = cli_open_store(ctx, g, RI_OPEN_CREATE);
    if (code)
        goto out;
    pr.tty = isatty(STDERR_FILENO);
    pr.quiet = g->quiet;
    o.config = conf;
    o.now = g->now;
    o.on_step = on_step;
    o.ud = &pr;
    rc = ri_run(ctx, &o, &r);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    if (g->format == FMT_JSON) {
        fputs(r->json, stdout);
    } else {
        printf("run %lld: %s\n", (long long)r->run_id,
               r->failed ? "some steps failed" : "all steps done");
        fputs(r->briefing, stdout);
    }
    code = r->failed ? EXIT_RUNTIME : EXIT_OK;
out:
    ri_run_report_free(r);
    ri_config_free(conf);
    ri_ctx_free(ctx);
    return code;
}
