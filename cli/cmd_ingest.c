/*
 * cmd_ingest.c - `revintel ingest KIND FILE`: load one CRM export into the store.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char usage_text[] =
    "usage: revintel ingest KIND FILE [--map PRESET|FILE] [--as-of DATE] [--sheet NAME]\n"
    "                       [--date-format auto|iso|us|eu] [--delimiter C] [--dry-run]\n\n"
    "Loads FILE (CSV or XLSX) into the store as one transaction. KIND is opportunities,\n"
    "history (stage history: one row per change), accounts or tickets.\n\n"
    "  --map PRESET|FILE   column mapping: a preset (auto, canonical, salesforce, hubspot)\n"
    "                      or an INI mapping file (see examples/mappings/); default auto\n"
    "  --as-of DATE        the date of this export (default: its latest date); a newer\n"
    "                      export of opportunities is diffed against the store and the\n"
    "                      changes become deal events at this date\n"
    "  --sheet NAME        XLSX: the sheet to read (default: the first)\n"
    "  --date-format F     force the date format instead of detecting it per column\n"
    "  --delimiter C       force the CSV delimiter: , ; | or tab\n"
    "  --dry-run           validate and count, write nothing\n\n"
    "Rows that fail validation are quarantined with file, line, column and reason (see\n"
    "'revintel quality'); the summary reconciles read = accepted + quarantined. The same\n"
    "file ingested twice changes nothing.\n";

static void print_text(const struct ri_ingest_report *r, const char *file, int kind, int dry)
{
    char d[16];
    int any = 0;
    if (r->duplicate_of) {
        printf("'%s' is identical to the %s file of snapshot %lld: nothing to do\n", file,
               ri_ingest_kind_name((enum ri_ingest_kind)kind), (long long)r->duplicate_of);
        return;
    }
    ri_format_date(r->as_of, d, sizeof(d));
    printf("%s '%s' as %s (%s", dry ? "checked" : "ingested", file,
           ri_ingest_kind_name((enum ri_ingest_kind)kind), r->format);
    if (r->delimiter == '\t')
        printf(", tab-separated");
    else if (r->delimiter)
        printf(", '%c'-separated", r->delimiter);
    printf(", mapping %s, %d columns mapped, %d custom)", r->preset, r->columns_mapped,
           r->columns_custom);
    if (r->as_of != RI_TIME_NONE)
        printf(", as of %s", d);
    printf("\n");
    printf("  rows: %llu read = %llu accepted + %llu quarantined\n",
           (unsigned long long)r->rows_read, (unsigned long long)r->rows_accepted,
           (unsigned long long)r->rows_quarantined);
    if (kind == RI_KIND_OPPORTUNITIES || kind == RI_KIND_HISTORY)
        printf("  deals: %llu new, %llu changed, %llu unchanged, %llu deleted; %llu events "
               "written\n",
               (unsigned long long)r->deals_new, (unsigned long long)r->deals_changed,
               (unsigned long long)r->deals_unchanged, (unsigned long long)r->deals_deleted,
               (unsigned long long)r->events_written);
    for (int i = 0; i < RI_REASON__COUNT; i++) {
        if (!r->by_reason[i])
            continue;
        printf("%s%s %llu", any++ ? ", " : "  quarantined: ", ri_reason_name((enum ri_reason)i),
               (unsigned long long)r->by_reason[i]);
    }
    if (any)
        printf("\n  details: revintel quality --snapshot %lld\n", (long long)r->snapshot_id);
    if (dry)
        printf("  dry run: nothing was written\n");
}

CMD(ingest)
{
    static const struct option opts[] = {{"map", required_argument, NULL, 'm'},
                                         {"as-of", required_argument, NULL, 'a'},
                                         {"sheet", required_argument, NULL, 's'},
                                         {"date-format", required_argument, NULL, 'd'},
                                         {"delimiter", required_argument, NULL, 'D'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_ingest_opts io = RI_INGEST_OPTS_INIT;
    struct ri_ingest_report rep;
    struct ri_ctx *ctx = NULL;
    int c, kind, code;
    ri_err rc;

    while ((c = getopt_long(argc, argv, "m:a:s:d:D:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            io.map = optarg;
            break;
        case 'a':
            if ((code = cli_parse_date_opt("--as-of", optarg, &io.as_of)) != 0)
                return code;
            break;
        case 's':
            io.sheet = optarg;
            break;
        case 'd':
            io.date_format = optarg;
            break;
        case 'D':
            if (!strcmp(optarg, "tab") || !strcmp(optarg, "\\t"))
                io.delimiter = '\t';
            else if (strlen(optarg) == 1 && strchr(",;|\t", optarg[0]))
                io.delimiter = optarg[0];
            else
                return cli_error(EXIT_USAGE, "--delimiter takes , ; | or tab, not '%s'", optarg);
            break;
        case 'n':
            io.dry_run = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_error(EXIT_USAGE, "see 'revintel ingest --help'");
        }
    }
    if (argc - optind != 2)
        return cli_error(EXIT_USAGE, "ingest needs KIND and FILE (see 'revintel ingest --help')");
    kind = ri_ingest_kind_parse(argv[optind]);
    if (kind < 0)
        return cli_error(EXIT_USAGE,
                         "unknown kind '%s' (opportunities, history, accounts, tickets)",
                         argv[optind]);
    io.kind = (enum ri_ingest_kind)kind;
    io.path = argv[optind + 1];
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, 0);
    if (code)
        goto out;
    cli_progress_on(ctx, g);
    rc = ri_ingest(ctx, &io, &rep);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    if (g->format == FMT_JSON) {
        char *js = ri_ingest_report_json(&rep, io.path, io.kind);
        if (js)
            fputs(js, stdout);
        ri_string_free(js);
    } else {
        print_text(&rep, io.path, kind, io.dry_run);
    }
out:
    ri_ctx_free(ctx);
    return code;
}
