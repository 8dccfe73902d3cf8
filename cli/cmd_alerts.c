/*
 * cmd_alerts.c - `revintel alerts`: evaluate the alert rules and queue the digests, list
 * recent alerts, snooze one, and (through cmd_outbox.c) show and deliver the outbox.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: revintel alerts [--as-of DATE] [--dry-run] [--send]\n"
    "       revintel alerts list [--days N]\n"
    "       revintel alerts snooze KEY --until DATE --reason TEXT\n"
    "       revintel alerts --outbox [--state pending|sent|dead]\n"
    "       revintel alerts deliver\n\n"
    "Evaluates the alert rules of the configuration ([alerts], [rule.NAME], [recipients] in\n"
    "revintel.conf) on the store as of DATE (default: the latest date in the store): deal\n"
    "rules (high value at risk, stalled, skipped qualification, zombie, pushed, risk jump),\n"
    "pipeline rules (segment win rate drop, late-stage losses, forecast concentration,\n"
    "coverage, pipeline created falling), system rules (data quality, drift, stale data)\n"
    "and custom SQL rules. Every alert has a stable key (rule:entity); one already sent\n"
    "within its cooldown (7 days) or snoozed is recorded but not sent again. What is left\n"
    "goes into one digest per recipient, queued in the outbox for each of the recipient's\n"
    "channels. Running it twice for the same date queues nothing new.\n\n"
    "  --as-of DATE     evaluate as of this date (the global --now sets it too)\n"
    "  --dry-run        show what would be sent; write nothing, queue nothing\n"
    "  --send           after queueing, make one delivery pass over the outbox\n"
    "  list [--days N]  the alerts of the newest date and the N days before (default 7),\n"
    "                   with their status and snoozes\n"
    "  snooze KEY       hold back alert KEY, for every recipient, until DATE (required),\n"
    "                   with a reason (required)\n"
    "  --outbox         the outbox: every message, its channel and state\n"
    "  deliver          one delivery pass: send what is due, retry later what fails\n\n"
    "Exit code 1 when the rules raised alerts, 0 when none.\n";

static int usage_error(const char *what)
{
    cli_error(EXIT_USAGE, "%s", what);
    fputs("see 'revintel alerts --help'\n", stderr);
    return EXIT_USAGE;
}

/* The length of a JSON document without its trailing newline. */
static int body_len(const char *json)
{
    size_t n = json ? strlen(json) : 4;
    while (json && n && (json[n - 1] == '\n' || json[n - 1] == ' '))
        n--;
    return (int)n;
}

static int print_out(const struct cli_global *g, const char *text, const char *json)
{
    const char *s = g->format == FMT_JSON ? json : text;
    if (g->format == FMT_CSV)
        return cli_error(EXIT_USAGE, "alerts: --format csv is not supported (text or json)");
    if (s)
        fputs(s, stdout);
    return EXIT_OK;
}

static int cmd_list(int argc, char **argv, struct cli_global *g)
{
    static const struct option opts[] = {{"days", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_ctx *ctx = NULL;
    uint64_t days = 7;
    char *text = NULL, *json = NULL;
    int c, code = EXIT_OK;
    ri_err rc;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            code = cli_parse_u64_opt("--days", optarg, &days);
            if (!code && days > 3650)
                code = cli_error(EXIT_USAGE, "--days takes 0 to 3650");
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return usage_error("alerts list: unknown option");
        }
        if (code)
            return code;
    }
    if (optind != argc)
        return usage_error("alerts list: unexpected argument");
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, RI_OPEN_READONLY);
    if (!code) {
        rc = ri_alerts_list(ctx, (int)days, &text, &json);
        code = rc ? cli_fail(ctx, rc) : print_out(g, text, json);
    }
    ri_string_free(text);
    ri_string_free(json);
    ri_ctx_free(ctx);
    return code;
}

static void put_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static int cmd_snooze(int argc, char **argv, struct cli_global *g)
{
    static const struct option opts[] = {{"until", required_argument, NULL, 'u'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_ctx *ctx = NULL;
    ri_time until = RI_TIME_NONE;
    const char *reason = NULL, *key;
    char d[16];
    int c, code = EXIT_OK;
    ri_err rc;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            code = cli_parse_date_opt("--until", optarg, &until);
            break;
        case 'r':
            reason = optarg;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return usage_error("alerts snooze: unknown option");
        }
        if (code)
            return code;
    }
    if (optind >= argc)
        return usage_error("alerts snooze: which alert? give its KEY (see 'revintel alerts list')");
    if (optind + 1 < argc)
        return usage_error("alerts snooze: one KEY at a time");
    if (until == RI_TIME_NONE)
        return usage_error("alerts snooze: --until DATE is required");
    if (!reason || !*reason)
        return usage_error("alerts snooze: --reason TEXT is required");
    key = argv[optind];
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, 0);
    if (!code) {
        rc = ri_alerts_snooze(ctx, key, until, reason);
        if (rc) {
            code = cli_fail(ctx, rc);
        } else {
            ri_format_date(until, d, sizeof(d));
            if (g->format == FMT_JSON) {
                fputs("{\"key\":", stdout);
                put_json_str(key);
                fputs(",\"reason\":", stdout);
                put_json_str(reason);
                printf(",\"snoozed_until\":\"%s\"}\n", d);
            } else {
                printf("Snoozed %s until %s for every recipient: %s\n", key, d, reason);
            }
        }
    }
    ri_ctx_free(ctx);
    return code;
}

CMD(alerts)
{
    static const struct option opts[] = {{"as-of", required_argument, NULL, 'a'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"send", no_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_alerts_opts o;
    struct ri_alerts_report *r = NULL;
    struct ri_deliver_report *dr = NULL;
    struct ri_config *conf = NULL;
    struct ri_ctx *ctx = NULL;
    int c, code = EXIT_OK, send = 0;
    ri_err rc;

    if (argc > 1 && !strcmp(argv[1], "list"))
        return cmd_list(argc - 1, argv + 1, g);
    if (argc > 1 && !strcmp(argv[1], "snooze"))
        return cmd_snooze(argc - 1, argv + 1, g);
    if (argc > 1 && !strcmp(argv[1], "deliver"))
        return cli_outbox_deliver(argc - 1, argv + 1, g);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--outbox"))
            return cli_outbox_list(argc, argv, g); /* --state may come before it */
        if (!strcmp(argv[i], "--"))
            break;
    }
    memset(&o, 0, sizeof(o));
    o.as_of = RI_TIME_NONE;
    o.now = g->now;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            code = cli_parse_date_opt("--as-of", optarg, &o.as_of);
            break;
        case 'n':
            o.dry_run = 1;
            break;
        case 's':
            send = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            goto out;
        default:
            code = usage_error("alerts: unknown option");
        }
        if (code)
            goto out;
    }
    if (optind != argc) {
        code = cli_error(EXIT_USAGE, "alerts: unknown subcommand '%s' (list, snooze, deliver)",
                         argv[optind]);
        goto out;
    }
    if (send && o.dry_run) {
        code = usage_error("alerts: --send and --dry-run do not go together");
        goto out;
    }
    if (g->format == FMT_CSV) {
        code = cli_error(EXIT_USAGE, "alerts: --format csv is not supported (text or json)");
        goto out;
    }
    if (o.as_of == RI_TIME_NONE && g->now != RI_TIME_NONE)
        o.as_of = g->now;
    ctx = ri_ctx_new();
    code = cli_load_config(ctx, g, &conf);
    if (code)
        goto out;
    o.config = conf;
    code = cli_open_store(ctx, g, o.dry_run ? RI_OPEN_READONLY : 0);
    if (code)
        goto out;
    cli_progress_on(ctx, g);
    rc = ri_alerts_run(ctx, &o, &r);
    if (!rc && send)
        rc = ri_outbox_deliver(ctx, conf, g->now, &dr);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    if (g->format == FMT_JSON && dr) {
        /* one document: the run and the delivery pass */
        printf("{\"alerts\":%.*s,\"delivery\":%.*s}\n", body_len(r->json), r->json,
               body_len(dr->json), dr->json ? dr->json : "null");
    } else if (g->format == FMT_JSON) {
        fputs(r->json, stdout);
    } else {
        fputs(r->text, stdout);
        if (dr && dr->text)
            fputs(dr->text, stdout);
    }
    code = r->raised ? EXIT_FINDINGS : EXIT_OK;
out:
    ri_deliver_report_free(dr);
    ri_alerts_report_free(r);
    ri_config_free(conf);
    ri_ctx_free(ctx);
    return code;
}
