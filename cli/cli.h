/*
 * cli.h - what the command files of the revintel binary share.
 *
 * Each command lives in cli/cmd_<name>.c: it parses its options with getopt_long, calls
 * the library, prints, and returns an exit code. main.c holds the command table, the
 * global options and the mapping of ri_err to exit codes. No business logic here.
 */
#ifndef RI_CLI_H
#define RI_CLI_H

#include "revintel.h"

#include <stdio.h>

/* Exit codes (STYLE C3). */
enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2, EXIT_BADINPUT = 3, EXIT_RUNTIME = 4 };

enum cli_format { FMT_TEXT = 0, FMT_JSON, FMT_CSV };

struct cli_global {
    const char *db;         /* --db, default ./revintel.db */
    enum cli_format format; /* --format */
    int quiet;              /* --quiet: no progress */
    ri_time now;            /* --now override for reproducible output; RI_TIME_NONE: clock */
    const char *config;     /* --config FILE; NULL: ./revintel.conf when present */
};

/* Prints "revintel: error: <msg>" to stderr; returns EXIT_USAGE-free convenience code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the library's last error for rc and returns the exit code that fits it. */
int cli_fail(struct ri_ctx *ctx, ri_err rc);
/* Exit code for an error code: 3 for bad input (parse, invalid, toobig), 4 otherwise. */
int cli_exit_code(ri_err rc);
/* Opens the store named by --db; on failure prints and returns non-zero exit code. */
int cli_open_store(struct ri_ctx *ctx, const struct cli_global *g, unsigned flags);
/* Installs a progress printer on stderr when it is a terminal and not --quiet. */
void cli_progress_on(struct ri_ctx *ctx, const struct cli_global *g);
/* True if argv has -h or --help; the command then prints its usage to stdout. */
int cli_wants_help(int argc, char **argv);
/* Parses YYYY-MM-DD (or any date the library accepts) for an option; prints the error. */
int cli_parse_date_opt(const char *opt, const char *val, ri_time *out);
/* Parses --period: "quarter" (*monthly = 0) or "month" (1). */
int cli_parse_period(const char *val, int *monthly);
/* Parses a non-negative integer option value. */
int cli_parse_u64_opt(const char *opt, const char *val, uint64_t *out);
/* Parses a number option value in [lo, hi], or (lo, hi] with lo_open; prints the error. */
int cli_parse_number_opt(const char *opt, const char *val, double lo, int lo_open, double hi,
                         double *out);

/* The outbox views of `revintel alerts` (cmd_outbox.c): `alerts --outbox [--state S]` and
 * `alerts deliver`; argv starts at the subcommand or option. */
int cli_outbox_list(int argc, char **argv, struct cli_global *g);
int cli_outbox_deliver(int argc, char **argv, struct cli_global *g);
/* Loads the configuration named by --config (or ./revintel.conf); prints the error. */
int cli_load_config(struct ri_ctx *ctx, const struct cli_global *g, struct ri_config **out);

#define CMD(name) int cmd_##name(int argc, char **argv, struct cli_global *g)
CMD(init);
CMD(ingest);
CMD(quality);
CMD(diagnose);
CMD(simulate);
CMD(train);
CMD(evaluate);
CMD(score);
CMD(explain);
CMD(forecast);
CMD(backtest);
CMD(demo);
CMD(config);
CMD(run);
CMD(alerts);
CMD(report);
CMD(version);

#endif /* RI_CLI_H */
