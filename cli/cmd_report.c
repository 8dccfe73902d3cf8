/*
 * cmd_report.c - `revintel report`: the weekly executive report as one HTML file (and
 * Markdown), written from the store's tables; optionally queued in the outbox.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: revintel report [--days N] [--as-of DATE] [--out FILE.html] [--markdown FILE.md]\n"
    "                       [--send[=CHANNELS]]\n\n"
    "The executive report from what the store holds, without refitting anything: the win\n"
    "rate by period with its 95 % interval and the drivers of its last change (run\n"
    "'revintel diagnose'), the forecast of the current and the next period against the\n"
    "reps' forecast ('revintel forecast'), the open deals most at risk with their reasons\n"
    "('revintel score'), stalled and zombie deals, pipeline volume against quality, and\n"
    "the alerts of the last N days. A part the store does not hold yet says which command\n"
    "makes it.\n\n"
    "The HTML file is self-contained (Chart.js inlined from the Debian package\n"
    "libjs-chart.js, or [report] chartjs = PATH) and loads nothing from the network. Prints\n"
    "the file's path and the report's subject line; --format json prints its figures.\n\n"
    "  --days N           the period looked back on ([report] days, else 7)\n"
    "  --as-of DATE       the report's date (default: the latest date in the store)\n"
    "  --out FILE         the HTML file (default revintel-report-DATE.html)\n"
    "  --markdown FILE    also write the report as Markdown\n"
    "  --send[=CHANNELS]  queue it in the outbox for these channels (comma-separated;\n"
    "                     default [report] channels); 'revintel alerts deliver' sends it\n";

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    size_t n = strlen(text);
    if (!f)
        return cli_error(EXIT_RUNTIME, "cannot write '%s': %s", path, strerror(errno));
    if (fwrite(text, 1, n, f) != n || fclose(f) != 0) {
        int e = errno;
        return cli_error(EXIT_RUNTIME, "cannot write '%s': %s", path, strerror(e));
    }
    return EXIT_OK;
}

CMD(report)
{
    static const struct option opts[] = {{"days", required_argument, NULL, 'd'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"markdown", required_argument, NULL, 'm'},
                                         {"send", optional_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_report_opts o = {NULL, RI_TIME_NONE, 0};
    struct ri_report_doc *doc = NULL;
    struct ri_config *conf = NULL;
    struct ri_ctx *ctx = NULL;
    const char *out = NULL, *markdown = NULL, *send = NULL;
    char defout[64];
    int c, code = EXIT_OK, sending = 0;
    uint64_t v;
    ri_err rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            code = cli_parse_u64_opt("--days", optarg, &v);
            if (!code && (v < 1 || v > 3660))
                code = cli_error(EXIT_USAGE, "--days takes 1 to 3660 days");
            o.days = (int)v;
            break;
        case 'a':
            code = cli_parse_date_opt("--as-of", optarg, &o.as_of);
            break;
        case 'o':
            out = optarg;
            break;
        case 'm':
            markdown = optarg;
            break;
        case 's':
            sending = 1;
            send = optarg;
            /* "--send a,b" as well as "--send=a,b": the command takes no other word */
            if (!send && optind < argc && argv[optind][0] != '-')
                send = argv[optind++];
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        default:
            return cli_error(EXIT_USAGE, "see 'revintel report --help'");
        }
        if (code)
            return code;
    }
    if (optind != argc)
        return cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    if (o.as_of == RI_TIME_NONE && g->now != RI_TIME_NONE)
        o.as_of = g->now;
    ctx = ri_ctx_new();
    code = cli_load_config(ctx, g, &conf);
    if (!code)
        code = cli_open_store(ctx, g, sending ? 0 : RI_OPEN_READONLY);
    if (code)
        goto out;
    o.config = conf;
    rc = ri_report(ctx, &o, &doc);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    if (!out) {
        char date[16];
        ri_format_date(doc->as_of, date, sizeof(date));
        snprintf(defout, sizeof(defout), "revintel-report-%s.html", date);
        out = defout;
    }
    code = write_file(out, doc->html);
    if (!code && markdown)
        code = write_file(markdown, doc->markdown);
    if (code)
        goto out;
    if (sending) {
        rc = ri_report_send(ctx, conf, doc, send, g->now);
        if (rc) {
            code = cli_fail(ctx, rc);
            goto out;
        }
    }
    if (g->format == FMT_JSON) {
        fputs(doc->json, stdout);
    } else {
        printf("%s\n", out);
        if (markdown)
            printf("%s\n", markdown);
        printf("%s\n", doc->subject);
        if (sending)
            printf("queued in the outbox for %s\n", send ? send : "the [report] channels");
    }
out:
    ri_report_doc_free(doc);
    ri_config_free(conf);
    ri_ctx_free(ctx);
    return code;
}
