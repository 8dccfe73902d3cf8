/*
 * cmd_model.c - the model commands: `revintel train`, `evaluate`, `score`, `explain`.
 *
 * They share their options (the as-of date, the evaluation cutoff, the trees, the seed),
 * so they share this file; each prints the library's report as text or JSON.
 */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char train_usage[] =
    "usage: revintel train [--cutoff DATE] [--origins N] [--folds K] [--trees N] [--depth N]\n"
    "                      [--eta X] [--threads N] [--seed S] [--no-rep-probability]\n"
    "                      [--max-rows N]\n\n"
    "Trains the stage model (semi-Markov chain over the stage histories), the risk model\n"
    "(gradient boosted trees on point-in-time snapshots, calibrated) and a logistic\n"
    "baseline; evaluates them by time (fitted on what was known at --cutoff, default 180\n"
    "days before the as-of date, tested on the deals open then) next to the rep-entered\n"
    "probability and the stage model; then refits on everything known now and registers\n"
    "the model. A static data set (one row per closed deal) is evaluated by k-fold.\n"
    "Columns known only after the outcome are refused as features (leakage guard).\n\n"
    "  --cutoff DATE          test on the deals open at DATE\n"
    "  --origins N            rolling-origin evaluations, 90 days apart (evaluate)\n"
    "  --folds K              k of the k-fold for static data (5)\n"
    "  --trees N, --depth N, --eta X   boosting rounds (300), depth (6), learning rate (0.05)\n"
    "  --threads N, --seed S  threads (2) and seed (1): a seed gives the same model\n"
    "  --no-rep-probability   leave the rep-entered probability out of the features\n"
    "  --max-rows N           training snapshots per fit at most, sampled by deal (500000)\n";

static const char score_usage[] =
    "usage: revintel score [--csv FILE]\n\n"
    "Scores every open deal with the active model: calibrated P(win), a risk tier and its\n"
    "top three reasons with their weight in points; one score run per as-of date is kept in\n"
    "the store (scores, v_scores), so a change since the last run shows. Drift of each\n"
    "feature since training (population stability index) is reported.\n\n"
    "  --csv FILE   also write the scores as CSV (texts that look like formulas are\n"
    "               neutralised)\n";

static const char explain_usage[] =
    "usage: revintel explain DEAL_ID\n\n"
    "One open deal: its P(win) and reasons, what the stage history and the rep say, the\n"
    "most similar closed-lost deals and what they share with it, and a next best action.\n";

enum which { TRAIN, EVALUATE, SCORE, EXPLAIN };

static int run(int argc, char **argv, struct cli_global *g, enum which w)
{
    static const struct option opts[] = {{"cutoff", required_argument, NULL, 'c'},
                                         {"origins", required_argument, NULL, 'o'},
                                         {"folds", required_argument, NULL, 'k'},
                                         {"trees", required_argument, NULL, 'n'},
                                         {"depth", required_argument, NULL, 'd'},
                                         {"eta", required_argument, NULL, 'e'},
                                         {"threads", required_argument, NULL, 't'},
                                         {"seed", required_argument, NULL, 's'},
                                         {"no-rep-probability", no_argument, NULL, 'r'},
                                         {"max-rows", required_argument, NULL, 'm'},
                                         {"csv", required_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ri_model_opts o = RI_MODEL_OPTS_INIT;
    struct ri_model_report *rep = NULL;
    struct ri_ctx *ctx = NULL;
    const char *usage = w == SCORE ? score_usage : w == EXPLAIN ? explain_usage : train_usage;
    const char *csv_path = NULL;
    char *csv = NULL;
    uint64_t v;
    int c, code = EXIT_OK;
    ri_err rc;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            code = cli_parse_date_opt("--cutoff", optarg, &o.cutoff);
            break;
        case 'o':
        case 'k':
        case 'n':
        case 'd':
        case 't':
        case 's':
            code = cli_parse_u64_opt(c == 'o'   ? "--origins"
                                     : c == 'k' ? "--folds"
                                     : c == 'n' ? "--trees"
                                     : c == 'd' ? "--depth"
                                     : c == 't' ? "--threads"
                                                : "--seed",
                                     optarg, &v);
            if (!code && c != 's' && (v < 1 || v > 100000))
                code = cli_error(EXIT_USAGE, "option value %s out of range", optarg);
            if (code)
                break;
            if (c == 'o')
                o.origins = (int)v;
            else if (c == 'k')
                o.folds = (int)v;
            else if (c == 'n')
                o.trees = (int)v;
            else if (c == 'd')
                o.max_depth = (int)v;
            else if (c == 't')
                o.threads = (int)v;
            else
                o.seed = v;
            break;
        case 'e':
            code = cli_parse_number_opt("--eta", optarg, 0, 1, 1, &o.eta);
            break;
        case 'r':
            o.with_p_rep = 0;
            break;
        case 'm':
            code = cli_parse_u64_opt("--max-rows", optarg, &v);
            if (!code && (v < 1000 || v > 100000000))
                code = cli_error(EXIT_USAGE, "--max-rows takes 1000 to 100000000, not %s", optarg);
            o.max_rows = (size_t)v;
            break;
        case 'v':
            csv_path = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        default:
            return cli_error(EXIT_USAGE, "see 'revintel %s --help'", argv[0]);
        }
        if (code)
            return code;
    }
    if (w == EXPLAIN && optind + 1 != argc)
        return cli_error(EXIT_USAGE, "explain takes one deal id (see 'revintel explain --help')");
    if (w != EXPLAIN && optind != argc)
        return cli_error(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
    if (g->now != RI_TIME_NONE)
        o.as_of = g->now;
    ctx = ri_ctx_new();
    code = cli_open_store(ctx, g, 0);
    if (code)
        goto out;
    cli_progress_on(ctx, g);
    switch (w) {
    case TRAIN:
        rc = ri_train(ctx, &o, &rep);
        break;
    case EVALUATE:
        rc = ri_evaluate(ctx, &o, &rep);
        break;
    case SCORE:
        rc = ri_score(ctx, &o, csv_path ? &csv : NULL, &rep);
        break;
    default:
        rc = ri_explain(ctx, &o, argv[optind], &rep);
        break;
    }
    if (rc) {
        code = cli_fail(ctx, rc);
        goto out;
    }
    if (csv_path) {
        FILE *f = fopen(csv_path, "w");
        if (!f || fputs(csv, f) == EOF || fclose(f) != 0) {
            code = cli_error(EXIT_RUNTIME, "cannot write '%s'", csv_path);
            goto out;
        }
    }
    fputs(g->format == FMT_JSON ? rep->json : rep->text, stdout);
out:
    ri_string_free(csv);
    ri_model_report_free(rep);
    ri_ctx_free(ctx);
    return code;
}

CMD(train)
{
    return run(argc, argv, g, TRAIN);
}

CMD(evaluate)
{
    return run(argc, argv, g, EVALUATE);
}

CMD(score)
{
    return run(argc, argv, g, SCORE);
}

CMD(explain)
{
    return run(argc, argv, g, EXPLAIN);
}
