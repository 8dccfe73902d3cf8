/*
 * cmd_outbox.c - the outbox views of `revintel alerts`: `alerts --outbox [--state S]` lists
 * the messages and their delivery state; `alerts deliver` makes one delivery pass. The
 * alerts command hands over argv from the option or subcommand on.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char list_usage[] =
    "usage: revintel alerts --outbox [--state pending|sent|dead] [--format json]\n\n"
    "Lists the outbox: every message queued for a channel (digests, reports), with its\n"
    "state (pending: waiting or being retried; sent; dead: given up after the channel's\n"
    "attempt limit, or refused as malformed), attempts, when it is next tried or was sent,\n"
    "and the last error. Secrets never appear: URLs are shown as scheme://host:port.\n";

static const char deliver_usage[] =
    "usage: revintel alerts deliver [--format json]\n\n"
    "One delivery pass over the outbox: every pending message whose time has come is sent\n"
    "once through its channel ([channel.NAME] in revintel.conf). A failure is retried on a\n"
    "later pass after backoff_seconds, doubling up to backoff_max_seconds ([delivery]);\n"
    "after max_attempts the message is dead. Each outcome is saved as soon as it is known.\n"
    "Exit 0 when every message tried was sent, 4 when one failed (it stays in the outbox).\n";

int cli_outbox_list(int argc, char **argv, struct cli_global *g)
{
    static const struct option opts[] = {{"outbox", no_argument, NULL, 'o'},
                                         {"state", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_ctx *ctx = NULL;
    const char *state = NULL;
    char *text = NULL, *json = NULL;
    int c, code = EXIT_OK;
    ri_err rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            break;
        case 's':
            state = optarg;
            if (strcmp(state, "pending") != 0 && strcmp(state, "sent") != 0 &&
                strcmp(state, "dead") != 0)
                return cli_error(EXIT_USAGE, "--state takes pending, sent or dead, not '%s'",
                                 state);
            break;
        case 'h':
            fputs(list_usage, stdout);
            return EXIT_OK;
        default:
            return cli_error(EXIT_USAGE, "see 'revintel alerts --outbox --help'");
        }
    }
    if (optind != argc)
        return cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, RI_OPEN_READONLY);
    if (code)
        goto out;
    rc = ri_outbox_list(ctx, state, &text, &json);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    fputs(g->format == FMT_JSON ? json : text, stdout);
out:
    ri_string_free(text);
    ri_string_free(json);
    ri_ctx_free(ctx);
    return code;
}

int cli_outbox_deliver(int argc, char **argv, struct cli_global *g)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    struct ri_deliver_report *r = NULL;
    struct ri_config *cfg = NULL;
    struct ri_ctx *ctx = NULL;
    int c, code = EXIT_OK;
    ri_err rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(deliver_usage, stdout);
            return EXIT_OK;
        }
        return cli_error(EXIT_USAGE, "see 'revintel alerts deliver --help'");
    }
    if (optind != argc)
        return cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    ctx = ri_ctx_new();
    code = cli_load_config(ctx, g, &cfg);
    if (code)
        goto out;
    code = cli_open_store(ctx, g, 0);
    if (code)
        goto out;
    rc = ri_outbox_deliver(ctx, cfg, g->now, &r);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    fputs(g->format == FMT_JSON ? r->json : r->text, stdout);
    if (r->retried + r->dead > 0)
        code = cli_error(EXIT_RUNTIME,
                         "%zu of %zu messages not delivered (see 'revintel alerts "
                         "--outbox')",
                         r->retried + r->dead, r->attempted);
out:
    ri_deliver_report_free(r);
    ri_config_free(cfg);
    ri_ctx_free(ctx);
    return code;
}
