/*
 * cmd_init.c - `revintel init`: create the store, or bring an older one up to date.
 */
#include "cli.h"

#include <getopt.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: revintel init [--db PATH]\n\n"
    "Creates an empty store at PATH (default ./revintel.db, or [store] db in the config\n"
    "file). Running it on an existing store is safe: an older schema is migrated, data\n"
    "is kept; a store written by a newer revintel is refused.\n";

CMD(init)
{
    struct ri_ctx *ctx;
    int code;
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (argc > 1)
        return cli_error(EXIT_USAGE, "init: unexpected argument '%s'", argv[1]);
    ctx = ri_ctx_new();
    int existed = access(g->db, F_OK) == 0;
    code = cli_open_store(ctx, g, RI_OPEN_CREATE);
    if (code == EXIT_OK)
        printf("%s store '%s' (schema version %d)\n", existed ? "opened" : "created", g->db,
               ri_store_schema_version(ctx));
    ri_ctx_free(ctx);
    return code;
}
