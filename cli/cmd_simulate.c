/*
 * cmd_simulate.c - `revintel simulate OUTDIR`: write a realistic simulated pipeline.
 *
 * Parses the options, calls ri_simulate and prints what was written: counts of deals
 * by status, zombies, history rows, accounts and tickets, and the folder. The files and
 * what is planted in them are described in docs/internals/simulate.md. The global
 * With --format json the summary is the library's JSON of the report.
 */
#include "cli.h"

#include <getopt.h>

static const char usage_text[] =
    "usage: revintel simulate OUTDIR [--deals N] [--seed S] [--as-of DATE]\n\n"
    "Writes a realistic B2B SaaS pipeline as canonical CSV into OUTDIR (created if\n"
    "missing): opportunities.csv, stage_history.csv, accounts.csv, tickets.csv, and\n"
    "truth/outcomes.csv (what really happened to every deal) with truth/planted.md\n"
    "(the win-rate decline, zombies and optimism hidden in the data). The same options\n"
    "always give the same bytes.\n\n"
    "  --deals N       number of deals, 1 to 50000000 (default 20000)\n"
    "  --seed S        random seed (default 1)\n"
    "  --as-of DATE    snapshot date, YYYY-MM-DD (default 2026-06-30)\n"
    "  -h, --help      show this text\n";

CMD(simulate)
{
    static const struct option longopts[] = {
        {"deals", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"as-of", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ri_sim_opts opts = RI_SIM_OPTS_INIT;
    struct ri_sim_report rep;
    struct ri_ctx *ctx;
    ri_err rc;
    int c, code;

    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            code = cli_parse_u64_opt("--deals", optarg, &opts.deals);
            break;
        case 's':
            code = cli_parse_u64_opt("--seed", optarg, &opts.seed);
            break;
        case 'a':
            code = cli_parse_date_opt("--as-of", optarg, &opts.as_of);
            break;
        case ':':
            return cli_error(EXIT_USAGE, "simulate: option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_error(EXIT_USAGE, "simulate: unknown option '%s' (see --help)",
                             argv[optind - 1]);
        }
        if (code)
            return code;
    }
    if (optind >= argc)
        return cli_error(EXIT_USAGE, "simulate: missing OUTDIR (see --help)");
    if (optind + 1 < argc)
        return cli_error(EXIT_USAGE, "simulate: unexpected argument '%s'", argv[optind + 1]);
    opts.outdir = argv[optind];

    ctx = ri_ctx_new();
    cli_progress_on(ctx, g);
    rc = ri_simulate(ctx, &opts, &rep);
    if (rc) {
        code = cli_fail(ctx, rc);
        ri_ctx_free(ctx);
        return code;
    }
    ri_ctx_free(ctx);

    if (g->format == FMT_JSON) {
        char *js = ri_sim_report_json(&rep, opts.outdir);
        if (js)
            fputs(js, stdout);
        ri_string_free(js);
        return EXIT_OK;
    }
    printf("simulated %llu deals into '%s'\n", (unsigned long long)rep.deals, opts.outdir);
    printf("  open          %llu (zombies %llu)\n", (unsigned long long)rep.open,
           (unsigned long long)rep.zombies);
    printf("  won           %llu\n", (unsigned long long)rep.won);
    printf("  lost          %llu\n", (unsigned long long)rep.lost);
    printf("  history rows  %llu\n", (unsigned long long)rep.history_rows);
    printf("  accounts      %llu\n", (unsigned long long)rep.accounts);
    printf("  tickets       %llu\n", (unsigned long long)rep.tickets);
    return EXIT_OK;
}
