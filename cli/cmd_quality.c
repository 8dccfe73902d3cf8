/*
 * cmd_quality.c - `revintel quality`: what the ingests refused, and why.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char usage_text[] =
    "usage: revintel quality [--snapshot N] [--format text|json]\n\n"
    "Data-quality report of the store: rows read, accepted and quarantined, the reasons\n"
    "and the columns most at fault, one example of each reason with its file, line and\n"
    "column, and how complete the deals' main fields are. --snapshot limits it to one\n"
    "ingest (its id is printed by 'revintel ingest'). Exit code 1 when rows were\n"
    "quarantined.\n";

static void print_text(const struct ri_quality_report *r)
{
    printf("ingests: %llu; rows: %llu read = %llu accepted + %llu quarantined\n",
           (unsigned long long)r->snapshots, (unsigned long long)r->rows_read,
           (unsigned long long)r->rows_accepted, (unsigned long long)r->rows_quarantined);
    printf("deals: %llu (%llu open, %llu won, %llu lost); events: %llu; accounts: %llu; "
           "tickets: %llu\n",
           (unsigned long long)r->deals, (unsigned long long)r->deals_open,
           (unsigned long long)r->deals_won, (unsigned long long)r->deals_lost,
           (unsigned long long)r->events, (unsigned long long)r->accounts,
           (unsigned long long)r->tickets);
    if (r->deals)
        printf("completeness: amount %.1f%%, close date %.1f%%, owner %.1f%%, probability "
               "%.1f%%\n",
               r->pct_amount, r->pct_close_date, r->pct_owner, r->pct_probability);
    if (!r->n_reasons) {
        printf("no rows quarantined\n");
        return;
    }
    printf("\nquarantined by reason:\n");
    for (size_t i = 0; i < r->n_reasons; i++)
        printf("  %-22s %10llu\n", r->reasons[i].reason, (unsigned long long)r->reasons[i].count);
    printf("\ncolumns most at fault:\n");
    for (size_t i = 0; i < r->n_columns && i < 10; i++)
        printf("  %-22s %10llu\n", r->columns[i].column, (unsigned long long)r->columns[i].count);
    printf("\nexamples:\n");
    for (size_t i = 0; i < r->n_examples; i++) {
        const struct ri_quality_example *e = &r->examples[i];
        printf("  %s:%llu%s%s%s: %s: %s\n", e->file, (unsigned long long)e->line,
               e->column[0] ? " column '" : "", e->column, e->column[0] ? "'" : "", e->reason,
               e->detail);
    }
}

CMD(quality)
{
    static const struct option opts[] = {{"snapshot", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_quality_report rep;
    struct ri_ctx *ctx;
    uint64_t snap = 0;
    int c, code;
    ri_err rc;
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if ((code = cli_parse_u64_opt("--snapshot", optarg, &snap)) != 0)
                return code;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_error(EXIT_USAGE, "see 'revintel quality --help'");
        }
    }
    if (optind < argc)
        return cli_error(EXIT_USAGE, "quality: unexpected argument '%s'", argv[optind]);
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, RI_OPEN_READONLY);
    if (code)
        goto out;
    rc = ri_quality(ctx, (int64_t)snap, &rep);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    if (g->format == FMT_JSON) {
        char *js = ri_quality_report_json(&rep);
        if (js)
            fputs(js, stdout);
        ri_string_free(js);
    } else {
        print_text(&rep);
    }
    code = rep.rows_quarantined ? EXIT_FINDINGS : EXIT_OK;
out:
    ri_ctx_free(ctx);
    return code;
}
