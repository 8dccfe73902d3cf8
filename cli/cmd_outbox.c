/*
 * cmd_outbox.c - placeholder until the outbox views land.
 */
#include "cli.h"

int cli_outbox_list(int argc, char **argv, struct cli_global *g)
{
    (void)argc, (void)argv, (void)g;
    return cli_error(EXIT_RUNTIME, "outbox: not built yet");
}

int cli_outbox_deliver(int argc, char **argv, struct cli_global *g)
{
    (void)argc, (void)argv, (void)g;
    return cli_error(EXIT_RUNTIME, "outbox: not built yet");
}
