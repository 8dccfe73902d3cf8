/*
 * cmd_report.c - placeholder until the command lands.
 */
#include "cli.h"

CMD(report)
{
    (void)argc, (void)argv, (void)g;
    return cli_error(EXIT_RUNTIME, "report: not built yet");
}
