/*
 * cmd_forecast.c - `revintel forecast` and `revintel backtest`.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char forecast_usage[] =
    "usage: revintel forecast [--period quarter|month] [--sims N] [--seed S] [--by DIM]\n"
    "                         [--drop DEAL] [--win DEAL] [--shift DIM=VALUE:POINTS]\n"
    "                         [--no-zombies] [--model-error SIGMA] [--no-save]\n\n"
    "Revenue of the current and the next period: closed won so far, plus each open deal's\n"
    "calibrated P(win) (the active model: run 'revintel train' first) times its chance to\n"
    "close inside the period given its stage and the days it has spent there, plus the\n"
    "pipeline not yet created that will be won inside the period. A seeded Monte Carlo\n"
    "(10,000 paths) gives P10/P50/P90; shown next to the rep-entered forecast (probability x\n"
    "amount of the deals whose close date falls inside) with the deals behind the gap.\n"
    "The range holds the deals' own chance, the period's swing in win rates, and the\n"
    "model's own error, measured on its last 4 quarters (how far the revenue the open\n"
    "deals won fell from what the model expected of them).\n\n"
    "  --by DIM           segment contributions by this dimension (region)\n"
    "  --drop/--win DEAL  what-if: this deal is lost / won now\n"
    "  --shift D=V:PTS    what-if: the segment's win probability moves by PTS points\n"
    "  --no-zombies       what-if: deals whose close date passed 90+ days ago are lost\n"
    "  --model-error S    the model's error as the sd of its log (0.1: about 10 %) instead\n"
    "                     of the one measured; 0 leaves it out of the range\n"
    "  --no-save          do not write forecast_runs / forecast_deals\n";

static const char backtest_usage[] =
    "usage: revintel backtest [--period quarter|month] [--from DATE] [--to DATE]\n"
    "                         [--every DAYS] [--sims N] [--seed S] [--trees N] [--no-save]\n\n"
    "Replays the forecast as of past dates (every 7 days; default the last 4 complete\n"
    "periods) with only what was known then, the risk model refitted at the start of each\n"
    "period, and compares it with what closed: error and bias by week of the period, WAPE,\n"
    "MAPE, the share within 85-115 % of the actual, and P10-P90 coverage; next to the\n"
    "rep-entered and the stage-model-only forecasts. The summary and every point go to\n"
    "the store (backtest_runs, backtest_points) unless --no-save.\n";

static int parse_shift(const char *arg, char **seg, double *pts)
{
    const char *colon = strrchr(arg, ':');
    char *end = NULL;
    if (!colon || !strchr(arg, '='))
        return cli_error(EXIT_USAGE, "--shift takes DIM=VALUE:POINTS, not '%s'", arg);
    *pts = strtod(colon + 1, &end) / 100.0;
    if (!end || *end)
        return cli_error(EXIT_USAGE, "--shift: '%s' is not a number of points", colon + 1);
    *seg = strndup(arg, (size_t)(colon - arg));
    return *seg ? EXIT_OK : cli_error(EXIT_RUNTIME, "out of memory");
}

CMD(forecast)
{
    static const struct option opts[] = {
        {"period", required_argument, NULL, 'p'}, {"sims", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},   {"by", required_argument, NULL, 'b'},
        {"drop", required_argument, NULL, 'd'},   {"win", required_argument, NULL, 'w'},
        {"shift", required_argument, NULL, 'x'},  {"no-zombies", no_argument, NULL, 'z'},
        {"no-save", no_argument, NULL, 'N'},      {"model-error", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    struct ri_forecast_opts o = RI_FORECAST_OPTS_INIT;
    struct ri_forecast_report *r = NULL;
    struct ri_ctx *ctx = NULL;
    char *seg = NULL;
    uint64_t v;
    int c, code = EXIT_OK;
    ri_err rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            code = cli_parse_period(optarg, &o.monthly);
            break;
        case 'n':
            code = cli_parse_u64_opt("--sims", optarg, &v);
            if (!code && (v < 100 || v > 10000000))
                code = cli_error(EXIT_USAGE, "--sims takes 100 to 10,000,000 paths");
            o.sims = (size_t)v;
            break;
        case 's':
            code = cli_parse_u64_opt("--seed", optarg, &o.seed);
            break;
        case 'b':
            o.by = optarg;
            break;
        case 'd':
            o.drop_deal = optarg;
            break;
        case 'w':
            o.win_deal = optarg;
            break;
        case 'x':
            code = parse_shift(optarg, &seg, &o.shift);
            o.shift_segment = seg;
            break;
        case 'z':
            o.no_zombies = 1;
            break;
        case 'N':
            o.save = 0;
            break;
        case 'e':
            code = cli_parse_number_opt("--model-error", optarg, 0, 0, 2, &o.model_error);
            break;
        case 'h':
            fputs(forecast_usage, stdout);
            goto out;
        default:
            code = cli_error(EXIT_USAGE, "see 'revintel forecast --help'");
        }
        if (code)
            goto out;
    }
    if (optind != argc) {
        code = cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if (g->now != RI_TIME_NONE)
        o.as_of = g->now;
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, o.save ? 0 : RI_OPEN_READONLY);
    if (code)
        goto out;
    rc = ri_forecast(ctx, &o, &r);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    fputs(g->format == FMT_JSON ? r->json : r->text, stdout);
out:
    free(seg);
    ri_forecast_report_free(r);
    ri_ctx_free(ctx);
    return code;
}

CMD(backtest)
{
    static const struct option opts[] = {
        {"period", required_argument, NULL, 'p'}, {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},     {"every", required_argument, NULL, 'e'},
        {"sims", required_argument, NULL, 'n'},   {"seed", required_argument, NULL, 's'},
        {"trees", required_argument, NULL, 'T'},  {"no-save", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    struct ri_backtest_opts o;
    struct ri_model_opts mo = RI_MODEL_OPTS_INIT;
    struct ri_forecast_report *r = NULL;
    struct ri_ctx *ctx = NULL;
    uint64_t v;
    int c, code = EXIT_OK;
    ri_err rc;

    memset(&o, 0, sizeof(o));
    o.from = o.to = RI_TIME_NONE;
    o.every_days = 7;
    o.sims = 2000;
    o.seed = 1;
    o.model = mo;
    /* a model a period, as calibrated: without the refit on the last 90 days, which costs
     * as much again and leaves the calibrator fitted to another model */
    o.model.refit = 0;
    o.save = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            code = cli_parse_period(optarg, &o.monthly);
            break;
        case 'f':
            code = cli_parse_date_opt("--from", optarg, &o.from);
            break;
        case 't':
            code = cli_parse_date_opt("--to", optarg, &o.to);
            break;
        case 'e':
        case 'n':
        case 'T':
            code = cli_parse_u64_opt(c == 'e'   ? "--every"
                                     : c == 'n' ? "--sims"
                                                : "--trees",
                                     optarg, &v);
            if (!code && (v < 1 || v > 10000000))
                code = cli_error(EXIT_USAGE, "option value %s out of range", optarg);
            if (c == 'e')
                o.every_days = (int)v;
            else if (c == 'n')
                o.sims = (size_t)v;
            else
                o.model.trees = (int)v;
            break;
        case 's':
            code = cli_parse_u64_opt("--seed", optarg, &o.seed);
            o.model.seed = o.seed;
            break;
        case 'N':
            o.save = 0;
            break;
        case 'h':
            fputs(backtest_usage, stdout);
            return EXIT_OK;
        default:
            return cli_error(EXIT_USAGE, "see 'revintel backtest --help'");
        }
        if (code)
            return code;
    }
    if (optind != argc)
        return cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, o.save ? 0 : RI_OPEN_READONLY);
    if (code)
        goto out;
    cli_progress_on(ctx, g);
    rc = ri_backtest(ctx, &o, &r);
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    fputs(g->format == FMT_JSON ? r->json : r->text, stdout);
out:
    ri_forecast_report_free(r);
    ri_ctx_free(ctx);
    return code;
}
