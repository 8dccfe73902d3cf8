/*
 * cmd_diagnose.c - `revintel diagnose`: why the win rate moves.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: revintel diagnose [REPORT...] [--period quarter|month] [--from DATE] [--to DATE]\n"
    "                         [--by DIM,...] [--segment DIM=VALUE]... [--min-n N] [--no-save]\n"
    "                         [--format text|json|csv]\n\n"
    "Answers why the win rate moved. REPORT is any of winrate, decompose, funnel, pipeline,\n"
    "cycle, concentration, zombies, reps (default: all). Win rates are over deals closed in\n"
    "each period (by close date) with 95 %% Wilson intervals; the change between the last two\n"
    "complete periods is split exactly into mix, rate and interaction per segment, each\n"
    "segment's change tested and corrected for multiple tests (Benjamini-Hochberg); segments\n"
    "with fewer than --min-n closed deals (default 30) are shown but never ranked.\n\n"
    "  --period P       quarter (default) or month\n"
    "  --from/--to D    only deals closed in [from, to)\n"
    "  --by DIMS        dimensions to decompose (default: all, e.g. region,industry,owner)\n"
    "  --segment D=V    restrict everything to one segment (repeatable)\n"
    "  --no-save        do not write the diag_* tables of the store\n\n"
    "Exit code 1 when it finds something to act on (a significant fall, a significant\n"
    "segment driver, zombies, a rep well below the rep's segment mix).\n";

CMD(diagnose)
{
    static const struct option opts[] = {{"period", required_argument, NULL, 'p'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"by", required_argument, NULL, 'b'},
                                         {"segment", required_argument, NULL, 's'},
                                         {"min-n", required_argument, NULL, 'm'},
                                         {"no-save", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_diagnose_opts o = RI_DIAGNOSE_OPTS_INIT;
    const char **segs = calloc((size_t)argc + 1, sizeof(*segs));
    struct ri_diagnosis *d = NULL;
    struct ri_ctx *ctx = NULL;
    int c, code = EXIT_OK, save = 1, monthly = 0;
    uint64_t min_n = 0;
    char *out = NULL;
    ri_err rc;

    if (!segs)
        return cli_error(EXIT_RUNTIME, "out of memory");
    o.segments = segs;
    while ((c = getopt_long(argc, argv, "p:f:t:b:s:m:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            code = cli_parse_period(optarg, &monthly);
            o.period = monthly ? RI_PERIOD_MONTH : RI_PERIOD_QUARTER;
            break;
        case 'f':
            code = cli_parse_date_opt("--from", optarg, &o.from);
            break;
        case 't':
            code = cli_parse_date_opt("--to", optarg, &o.to);
            break;
        case 'b':
            o.by = optarg;
            break;
        case 's':
            segs[o.n_segments++] = optarg;
            break;
        case 'm':
            code = cli_parse_u64_opt("--min-n", optarg, &min_n);
            o.min_n = (size_t)min_n;
            break;
        case 'n':
            save = 0;
            break;
        case 'h':
            fputs(usage_text, stdout);
            goto out;
        default:
            code = cli_error(EXIT_USAGE, "see 'revintel diagnose --help'");
        }
        if (code)
            goto out;
    }
    for (int i = optind; i < argc; i++) {
        unsigned bit = ri_diag_report_parse(argv[i]);
        if (!bit) {
            code = cli_error(EXIT_USAGE,
                             "unknown report '%s' (winrate, decompose, funnel, "
                             "pipeline, cycle, concentration, zombies, reps)",
                             argv[i]);
            goto out;
        }
        o.reports |= bit;
    }
    if (g->now != RI_TIME_NONE)
        o.as_of = g->now;
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, save ? 0 : RI_OPEN_READONLY);
    if (code)
        goto out;
    rc = ri_diagnose(ctx, &o, &d);
    if (!rc && save)
        rc = ri_diagnosis_save(ctx, d);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    out = g->format == FMT_JSON  ? ri_diagnosis_json(d)
          : g->format == FMT_CSV ? ri_diagnosis_csv(d)
                                 : ri_diagnosis_text(d);
    if (out)
        fputs(out, stdout);
    code = ri_diagnosis_findings(d) ? EXIT_FINDINGS : EXIT_OK;
out:
    ri_string_free(out);
    ri_diagnosis_free(d);
    ri_ctx_free(ctx);
    free(segs);
    return code;
}
