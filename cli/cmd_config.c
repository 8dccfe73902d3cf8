/*
 * cmd_config.c - `revintel config check`: reads revintel.conf (--config FILE, or the one in
 * the current folder) and says what it configures, or names the file and line of the
 * first error. Secrets are shown redacted.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: revintel [--config FILE] config check\n\n"
    "Reads the configuration (FILE; else ./revintel.conf; else revintel.conf in the folder\n"
    "of the store named by --db) and prints what it sets up: the\n"
    "store, the drop folder, model and forecast settings, alert rules with their\n"
    "thresholds and routing, and the channels (secrets redacted). Exit 3 with the file and\n"
    "line of the first error.\n";

CMD(config)
{
    struct ri_ctx *ctx = NULL;
    struct ri_config *c = NULL;
    char *text = NULL;
    int code;
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (argc != 2 || strcmp(argv[1], "check") != 0) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    ctx = ri_ctx_new();
    code = cli_load_config(ctx, g, &c);
    if (code)
        goto out;
    text = ri_config_describe(c);
    if (!text) {
        code = cli_error(EXIT_RUNTIME, "out of memory");
        goto out;
    }
    fputs(text, stdout);
    printf("ok\n");
out:
    free(text);
    ri_config_free(c);
    ri_ctx_free(ctx);
    return code;
}
