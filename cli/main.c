/*
 * main.c - the revintel binary: global options, the command table, exit codes.
 *
 * Global options (--db, --config, --format, --quiet, --now) are accepted anywhere on
 * the line, before or after the command, and removed before the command sees its
 * arguments. The store path comes from --db, else from the config file's [store] db,
 * else ./revintel.db. This file alone turns a library error into a message on stderr
 * and an exit code (STYLE C3): 0 ok, 1 findings, 2 usage, 3 bad input, 4 runtime.
 */
#include "cli.h"
#include "../src/ri_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct command {
    const char *name;
    int (*fn)(int argc, char **argv, struct cli_global *g);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, "create an empty store (or upgrade an older one)"},
    {"ingest", cmd_ingest, "load a CRM export: opportunities, history, accounts, tickets"},
    {"quality", cmd_quality, "data-quality report: quarantined rows by reason and column"},
    {"diagnose", cmd_diagnose, "why the win rate moves: segments, mix vs rate, funnel, cycles"},
    {"train", cmd_train, "fit and evaluate the stage and risk models, register them"},
    {"evaluate", cmd_evaluate, "evaluate the models by time (or k-fold) without registering"},
    {"score", cmd_score, "score every open deal: P(win), risk tier and reasons"},
    {"explain", cmd_explain, "one deal: score, reasons, similar lost deals, next action"},
    {"forecast", cmd_forecast, "revenue forecast with P10/P50/P90, next to the reps' forecast"},
    {"backtest", cmd_backtest, "replay the forecast as of past dates and measure its error"},
    {"alerts", cmd_alerts, "evaluate the alert rules, queue digests, deliver; snooze; outbox"},
    {"report", cmd_report, "the weekly executive report as one HTML file and Markdown"},
    {"run", cmd_run, "the daily job: ingest what is new, diagnose, score, forecast, alert"},
    {"config", cmd_config, "check the configuration file: `revintel config check`"},
    {"simulate", cmd_simulate, "write a realistic simulated pipeline as CSV"},
    {"demo", cmd_demo, "simulate, ingest and report, in a temporary folder"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: revintel [--db PATH] [--config FILE] [--format text|json|csv] [--quiet]\n"
               "                [--verbose] [--now DATE] COMMAND [ARGS]\n\n"
               "commands:\n");
    for (size_t i = 0; i < RI_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'revintel COMMAND --help' describes a command. Exit codes: 0 ok, 1 findings,\n"
               "2 usage error, 3 bad input, 4 runtime failure.\n");
}

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("revintel: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_exit_code(ri_err rc)
{
    switch (rc) {
    case RI_OK:
        return EXIT_OK;
    case RI_ERR_PARSE:
    case RI_ERR_INVALID:
    case RI_ERR_TOOBIG:
    case RI_ERR_NOTFOUND:
        return EXIT_BADINPUT;
    default:
        return EXIT_RUNTIME;
    }
}

int cli_fail(struct ri_ctx *ctx, ri_err rc)
{
    const char *m = ri_errmsg(ctx);
    return cli_error(cli_exit_code(rc), "%s", *m ? m : ri_strerror(rc));
}

int cli_open_store(struct ri_ctx *ctx, const struct cli_global *g, unsigned flags)
{
    ri_err rc = ri_store_open(ctx, g->db, flags);
    return rc ? cli_fail(ctx, rc) : EXIT_OK;
}

int cli_load_config(struct ri_ctx *ctx, const struct cli_global *g, struct ri_config **out)
{
    const char *path = g->config;
    char beside[4200];
    ri_err rc;
    /* no --config and none here: the one in the store's folder, if there is one */
    if (!path && access("revintel.conf", F_OK) != 0 && g->db && strchr(g->db, '/')) {
        const char *slash = strrchr(g->db, '/');
        snprintf(beside, sizeof(beside), "%.*s/revintel.conf", (int)(slash - g->db), g->db);
        if (access(beside, F_OK) == 0)
            path = beside;
    }
    rc = ri_config_load(ctx, path, out);
    return rc ? cli_fail(ctx, rc) : EXIT_OK;
}

static void progress_printer(const char *what, uint64_t done, uint64_t total, void *ud)
{
    (void)ud;
    if (total)
        fprintf(stderr, "\r%s: %3.0f%%", what, 100.0 * (double)done / (double)total);
    else
        fprintf(stderr, "\r%s: %llu", what, (unsigned long long)done);
    if (done == total)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

void cli_progress_on(struct ri_ctx *ctx, const struct cli_global *g)
{
    if (!g->quiet && isatty(STDERR_FILENO))
        ri_set_progress_fn(ctx, progress_printer, NULL);
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    return 0;
}

int cli_parse_date_opt(const char *opt, const char *val, ri_time *out)
{
    if (ri_parse_date(val, strlen(val), RI_DATE_AUTO, out) != RI_OK)
        return cli_error(EXIT_USAGE, "option '%s': '%s' is not a date (use YYYY-MM-DD)", opt, val);
    return EXIT_OK;
}

int cli_parse_u64_opt(const char *opt, const char *val, uint64_t *out)
{
    int64_t v;
    if (ri_parse_i64(val, strlen(val), &v) != RI_OK || v < 0)
        return cli_error(EXIT_USAGE, "option '%s': '%s' is not a non-negative integer", opt, val);
    *out = (uint64_t)v;
    return EXIT_OK;
}

int cli_parse_number_opt(const char *opt, const char *val, double lo, int lo_open, double hi,
                         double *out)
{
    char *end = NULL;
    double v = strtod(val, &end);
    if (!end || end == val || *end || !(lo_open ? v > lo : v >= lo) || !(v <= hi))
        return cli_error(EXIT_USAGE, "%s takes a number in %c%g, %g], not '%s'", opt,
                         lo_open ? '(' : '[', lo, hi, val);
    *out = v;
    return EXIT_OK;
}

int cli_parse_period(const char *val, int *monthly)
{
    if (!strcmp(val, "month") || !strcmp(val, "quarter")) {
        *monthly = val[0] == 'm';
        return EXIT_OK;
    }
    return cli_error(EXIT_USAGE, "--period takes quarter or month, not '%s'", val);
}

CMD(version)
{
    (void)argc;
    (void)argv;
    (void)g;
    printf("revintel %s (store schema %d)\n", RI_VERSION, ri_schema_version_current());
    return EXIT_OK;
}

static void on_signal(int sig)
{
    (void)sig;
    ri_interrupted = 1;
}

/* Takes a global option with a value at argv[i] ("--db X" or "--db=X"). Returns the
 * number of argv slots used (0 if argv[i] is not that option). */
static int take_opt(int argc, char **argv, int i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[i], name, n) != 0)
        return 0;
    if (argv[i][n] == '=') {
        *val = argv[i] + n + 1;
        return 1;
    }
    if (argv[i][n] != '\0')
        return 0;
    if (i + 1 >= argc) {
        *val = NULL;
        return -1;
    }
    *val = argv[i + 1];
    return 2;
}

/* The gradient boosting library runs on OpenMP, whose idle threads spin by default: on a
 * machine whose cores are busy with other work, spinning threads starve the ones doing
 * the work (a model fit took 30 times longer on a loaded 2-core machine). OpenMP reads
 * its settings once, when it is loaded, before main: so revintel sets "passive" (idle
 * threads sleep) and runs itself again, unless the user chose a policy. */
static void omp_passive(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || setenv("OMP_WAIT_POLICY", "passive", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* no /proc: carry on with the default policy */
}

int main(int argc, char **argv)
{
    struct cli_global g = {"revintel.db", FMT_TEXT, 0, RI_TIME_NONE, NULL};
    const char *db = NULL, *config = NULL, *format = NULL, *now = NULL;
    char **rest = ri_calloc((size_t)argc + 1, sizeof(*rest));
    int nrest = 0, code;
    struct sigaction sa;

    omp_passive(argv);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    for (int i = 1; i < argc; i++) {
        static const char *const names[] = {"--db", "--config", "--format", "--now"};
        const char **slots[] = {&db, &config, &format, &now};
        int used = 0;
        if (!strcmp(argv[i], "--")) {
            while (i < argc)
                rest[nrest++] = argv[i++];
            break;
        }
        for (size_t k = 0; k < RI_ARRAY_SIZE(names) && !used; k++) {
            used = take_opt(argc, argv, i, names[k], slots[k]);
            if (used < 0) {
                code = cli_error(EXIT_USAGE, "option '%s' needs a value", names[k]);
                goto out;
            }
        }
        if (used) {
            i += used - 1;
            continue;
        }
        if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            g.quiet = 1;
            ri_set_log_level(RI_LOG_WARN);
            continue;
        }
        if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) {
            ri_set_log_level(RI_LOG_DEBUG);
            continue;
        }
        if (!strcmp(argv[i], "--version")) {
            static char version_cmd[] = "version";
            rest[nrest++] = version_cmd;
            continue;
        }
        rest[nrest++] = argv[i];
    }
    if (format) {
        if (!strcmp(format, "text"))
            g.format = FMT_TEXT;
        else if (!strcmp(format, "json"))
            g.format = FMT_JSON;
        else if (!strcmp(format, "csv"))
            g.format = FMT_CSV;
        else {
            code = cli_error(EXIT_USAGE, "unknown format '%s' (text, json or csv)", format);
            goto out;
        }
    }
    if (now && (code = cli_parse_date_opt("--now", now, &g.now)) != 0)
        goto out;
    g.config = config;
    if (db) {
        g.db = db;
    } else {
        static char dbbuf[4096];
        ri_err rc = ri_config_store_path(NULL, config, dbbuf, sizeof(dbbuf));
        if (rc == RI_OK) {
            g.db = dbbuf;
        } else if (rc != RI_ERR_NOTFOUND) {
            struct ri_ctx *tmp = ri_ctx_new();
            code = cli_fail(tmp, ri_config_store_path(tmp, config, dbbuf, sizeof(dbbuf)));
            ri_ctx_free(tmp);
            goto out;
        }
    }
    if (nrest == 0 || !strcmp(rest[0], "help") || !strcmp(rest[0], "--help") ||
        !strcmp(rest[0], "-h")) {
        usage(nrest == 0 ? stderr : stdout);
        code = nrest == 0 ? EXIT_USAGE : EXIT_OK;
        goto out;
    }
    code = -1;
    for (size_t i = 0; i < RI_ARRAY_SIZE(commands); i++) {
        if (!strcmp(rest[0], commands[i].name)) {
            optind = 1;
            code = commands[i].fn(nrest, rest, &g);
            break;
        }
    }
    if (code < 0) {
        code = cli_error(EXIT_USAGE, "unknown command '%s' (see 'revintel --help')", rest[0]);
    }
out:
    fflush(stdout);
    ri_free(rest);
    return code;
}
