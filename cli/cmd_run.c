/*
 * cmd_run.c - placeholder until the command lands.
 */
#include "cli.h"

CMD(run)
{
    (void)argc, (void)argv, (void)g;
    return cli_error(EXIT_RUNTIME, "run: not built yet");
}
