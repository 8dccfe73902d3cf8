/*
 * cmd_alerts.c - placeholder until the command lands.
 */
#include "cli.h"

CMD(alerts)
{
    (void)argc, (void)argv, (void)g;
    return cli_error(EXIT_RUNTIME, "alerts: not built yet");
}
