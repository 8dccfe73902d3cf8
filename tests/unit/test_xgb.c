/*
 * test_xgb.c - unit tests of src/xgb.c, the XGBoost adapter.
 *
 * The data are drawn in the test with a seeded 64-bit LCG: x0 and x1 uniform on [-1, 1]
 * and y = 1 when x0 + 0.5 u > 0 (u uniform on [-1, 1] too), so y depends on x0 alone.
 * P(y = 1 | x0) = (1 + 2 x0) / 2 clipped to [0, 1]: certain for |x0| >= 1/2, a ramp in
 * between. The AUC of a score increasing in x0 is then 1 - 1/24 = 0.958 (worked out
 * below); the model's is compared with 0.8, and with the AUC of x0 itself computed on
 * the same rows by the same pair count.
 *
 * The other expectations need no numbers from the code: TreeSHAP is additive (each row's
 * contributions plus the bias give its margin), a model read back predicts what it did
 * before, two trainings on the same input agree byte for byte, and a change of seed
 * (with subsampling on) changes the model. Damaged models (garbage, truncated, nested too
 * deep, trees with bad indices) are refused at load with a message.
 */
#include "xgb.h"
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N 2000
#define P 2

/* ------------------------------------------------------------------ data */

/* Knuth's MMIX LCG; the top 24 bits make a float on [0, 1) exactly. */
static uint64_t lcg_state;

static float lcg_unif(void)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(lcg_state >> 40) / 16777216.0f;
}

struct data {
    float X[N * P];
    float y[N];
};

static void data_make(struct data *d, uint64_t seed)
{
    lcg_state = seed;
    for (size_t i = 0; i < N; i++) {
        float x0 = 2 * lcg_unif() - 1, x1 = 2 * lcg_unif() - 1, u = 2 * lcg_unif() - 1;
        d->X[i * P] = x0;
        d->X[i * P + 1] = x1;
        d->y[i] = x0 + 0.5f * u > 0 ? 1.0f : 0.0f;
    }
}

/*
 * The AUC of x0 under this law. Draw a positive at x0 = a and a negative at x0 = b; the
 * joint density is (1/2) q(a) (1/2) (1 - q(b)), with q(x) = P(y = 1 | x0 = x), and
 * P1 = P0 = 1/2 by symmetry. A pair is misordered when a < b, which needs q(a) > 0 and
 * q(b) < 1, so both lie on the ramp [-1/2, 1/2] where q(x) = 1/2 + x:
 *   M = (1/4) int_{-1/2}^{1/2} (1/2 - b) int_{-1/2}^{b} (1/2 + a) da db
 *     = (1/4) int (1/2 - b) (1/2 + b)^2 / 2 db      (s = 1/2 + b on [0, 1])
 *     = (1/8) int_0^1 (1 - s) s^2 ds = (1/8)(1/3 - 1/4) = 1/96,
 * and AUC = 1 - M / (P1 P0) = 1 - 1/24 = 0.958. On 2000 rows its standard error is about
 * 0.006, so the test asks for more than 0.93.
 */

/* AUC of score against y by pair counting: the share of (positive, negative) pairs in
 * which the positive scores higher, ties counting one half. */
static double auc_pairs(const double *score, const float *y, size_t n)
{
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0.5f)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (y[j] > 0.5f)
                continue;
            pairs += 1;
            if (score[i] > score[j])
                wins += 1;
            else if (!(score[i] < score[j]))
                wins += 0.5;
        }
    }
    return pairs > 0 ? wins / pairs : RI_NAN;
}

static void small_params(struct ri_xgb_params *prm, int nthread)
{
    ri_xgb_params_default(prm);
    prm->trees = 30;
    prm->max_depth = 3;
    prm->eta = 0.3;
    prm->nthread = nthread;
    prm->seed = 42;
}

static struct data g_data;

/* ------------------------------------------------------------------ tests */

TEST(defaults)
{
    struct ri_xgb_params prm;
    ri_xgb_params_default(&prm);
    CHECK_EQ_INT(prm.trees, 300);
    CHECK_EQ_INT(prm.max_depth, 6);
    CHECK_NEAR(prm.eta, 0.05, 0);
    CHECK_NEAR(prm.subsample, 0.8, 0);
    CHECK_NEAR(prm.colsample, 0.8, 0);
    CHECK_NEAR(prm.min_child_weight, 1, 0);
    CHECK_NEAR(prm.lambda, 1, 0);
    CHECK_EQ_INT(prm.nthread, 2);
    CHECK_EQ_INT(prm.seed, 1);
    CHECK_STR(ri_xgb_version(), "1.7.4");
}

/* Learns x0, ignores x1: AUC well above 0.8 and near the AUC of x0 itself; feature 0's
 * mean |contribution| dwarfs feature 1's; contributions add up to the margin. */
TEST(learns_signal)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m = NULL;
    static double margin[N], contrib[N * (P + 1)], x0[N];
    double abs0 = 0, abs1 = 0, worst = 0;
    const char *names[P] = {"amount", "noise"};

    small_params(&prm, 1);
    REQUIRE(ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, names, &m) == RI_OK);
    CHECK_EQ_INT(ri_xgb_n_features(m), P);
    REQUIRE(ri_xgb_predict(ctx, m, g_data.X, N, P, margin) == RI_OK);
    for (size_t i = 0; i < N; i++)
        x0[i] = (double)g_data.X[i * P];
    double auc = auc_pairs(margin, g_data.y, N), auc_x0 = auc_pairs(x0, g_data.y, N);
    CHECK(auc > 0.8);
    CHECK(auc_x0 > 0.93);       /* the law: 1 - 1/24 = 0.958 in expectation */
    CHECK(auc > auc_x0 - 0.02); /* the model ranks nearly as well as x0 itself */

    REQUIRE(ri_xgb_contribs(ctx, m, g_data.X, N, P, contrib) == RI_OK);
    for (size_t i = 0; i < N; i++) {
        const double *c = contrib + i * (P + 1);
        double sum = 0;
        for (size_t j = 0; j <= P; j++)
            sum += c[j];
        if (fabs(sum - margin[i]) > worst)
            worst = fabs(sum - margin[i]);
        abs0 += fabs(c[0]);
        abs1 += fabs(c[1]);
    }
    CHECK(worst <= 1e-4);
    CHECK(abs0 / N > 0.5); /* margins span several log-odds, all through x0 */
    /* x1 enters only through splits fitted to noise */
    CHECK(abs0 > 6 * abs1);
    ri_xgb_free(m);
    ri_ctx_free(ctx);
}

/* The path method's contributions sum to the margin row by row, as the exact ones do;
 * for stumps (depth 1) a split's change of expected value is its feature's Shapley value,
 * so the two agree. With an interaction (the label is x0 XOR x1, which needs both
 * features on a path) they must differ: the path method credits the root's feature more. */
TEST(approx_contribs)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m = NULL;
    static float X[N * P], y[N];
    static double margin[N], exact[N * (P + 1)], approx[N * (P + 1)];
    const char *names[P] = {"a", "b"};

    lcg_state = 99;
    for (size_t i = 0; i < N; i++) {
        X[i * P] = lcg_unif();
        X[i * P + 1] = lcg_unif();
        y[i] = (float)((X[i * P] > 0.5f) != (X[i * P + 1] > 0.5f));
    }
    for (int depth = 1; depth <= 3; depth += 2) {
        double worst_sum = 0, worst_diff = 0;
        small_params(&prm, 1);
        prm.max_depth = depth;
        prm.colsample = 1;
        REQUIRE(ri_xgb_train(ctx, &prm, X, N, P, y, NULL, names, &m) == RI_OK);
        REQUIRE(ri_xgb_predict(ctx, m, X, N, P, margin) == RI_OK);
        REQUIRE(ri_xgb_contribs(ctx, m, X, N, P, exact) == RI_OK);
        REQUIRE(ri_xgb_contribs_approx(ctx, m, X, N, P, approx) == RI_OK);
        for (size_t i = 0; i < N; i++) {
            const double *a = approx + i * (P + 1), *e = exact + i * (P + 1);
            double sum = 0;
            for (size_t j = 0; j <= P; j++) {
                sum += a[j];
                if (fabs(a[j] - e[j]) > worst_diff)
                    worst_diff = fabs(a[j] - e[j]);
            }
            if (fabs(sum - margin[i]) > worst_sum)
                worst_sum = fabs(sum - margin[i]);
        }
        CHECK(worst_sum <= 1e-4);
        if (depth == 1)
            CHECK(worst_diff <= 1e-5);
        else
            CHECK(worst_diff > 0.05);
        ri_xgb_free(m);
        m = NULL;
    }
    ri_ctx_free(ctx);
}

/* Saved, loaded, predicted: the same margins, bit for bit; the loaded model knows its
 * width, saves to the same bytes, and keeps the feature names. Deeper trees than the
 * other tests, so that the load-time checks of the tree structure meet a larger model. */
TEST(save_load_roundtrip)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m = NULL, *m2 = NULL;
    void *buf = NULL, *buf2 = NULL;
    size_t len = 0, len2 = 0;
    static double a[N], b[N];
    const char *names[P] = {"amount_usd", "noise_col"};

    small_params(&prm, 1);
    prm.trees = 50;
    prm.max_depth = 6;
    REQUIRE(ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, names, &m) == RI_OK);
    REQUIRE(ri_xgb_save(ctx, m, &buf, &len) == RI_OK);
    CHECK(len > 100);
    CHECK(((const char *)buf)[0] == '{');
    int found = 0;
    for (size_t k = 0; k + 10 <= len && !found; k++)
        found = memcmp((const char *)buf + k, "amount_usd", 10) == 0;
    CHECK(found);
    REQUIRE(ri_xgb_load(ctx, buf, len, &m2) == RI_OK);
    CHECK_EQ_INT(ri_xgb_n_features(m2), P);
    REQUIRE(ri_xgb_predict(ctx, m, g_data.X, N, P, a) == RI_OK);
    REQUIRE(ri_xgb_predict(ctx, m2, g_data.X, N, P, b) == RI_OK);
    CHECK(memcmp(a, b, sizeof(a)) == 0);
    REQUIRE(ri_xgb_save(ctx, m2, &buf2, &len2) == RI_OK);
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
    ri_free(buf2);
    ri_free(buf);
    ri_xgb_free(m2);
    ri_xgb_free(m);
    ri_ctx_free(ctx);
}

/* Trains twice with nthread and returns whether the models and margins are identical;
 * seed_b is the second training's seed. */
static int same_twice(int nthread, uint64_t seed_b, int *ok)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m1 = NULL, *m2 = NULL;
    void *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    static double p1[N], p2[N];
    int same = 0;

    *ok = 0;
    small_params(&prm, nthread);
    if (ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, NULL, &m1) != RI_OK)
        goto out;
    prm.seed = seed_b;
    if (ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, NULL, &m2) != RI_OK)
        goto out;
    if (ri_xgb_save(ctx, m1, &b1, &l1) || ri_xgb_save(ctx, m2, &b2, &l2))
        goto out;
    if (ri_xgb_predict(ctx, m1, g_data.X, N, P, p1) || ri_xgb_predict(ctx, m2, g_data.X, N, P, p2))
        goto out;
    *ok = 1;
    same = l1 == l2 && memcmp(b1, b2, l1) == 0 && memcmp(p1, p2, sizeof(p1)) == 0;
out:
    ri_free(b2);
    ri_free(b1);
    ri_xgb_free(m2);
    ri_xgb_free(m1);
    ri_ctx_free(ctx);
    return same;
}

/* Same data, parameters, seed and threads: the same bytes and margins, with one thread
 * and with two. Subsampling is on (0.8), so a different seed must change the model:
 * this shows the comparison can fail. */
TEST(deterministic)
{
    int ok;
    CHECK(same_twice(1, 42, &ok));
    CHECK(ok);
    CHECK(same_twice(2, 42, &ok));
    CHECK(ok);
    CHECK(!same_twice(2, 43, &ok));
    CHECK(ok);
}

/* Weights: among rows with x1 > 0, every other one is made a win of weight 100. At
 * x0 = -0.9 the law says a sure loss, so there the weighted win rate of the x1 > 0 side
 * is 100 / 101 (log-odds 4.6) and the unweighted one 1/2 (log-odds 0); on the x1 < 0
 * side both are 0. The weighted model must follow the first, the unweighted the second. */
TEST(weights_count)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *mw = NULL, *mu = NULL;
    static float y[N], w[N];
    /* (x0, x1) = (-0.9, 0.5) on the heavy side, (-0.9, -0.5) on the other */
    const float q[2 * P] = {-0.9f, 0.5f, -0.9f, -0.5f};
    double mq[2], uq[2];

    small_params(&prm, 1);
    for (size_t i = 0; i < N; i++) {
        int heavy = g_data.X[i * P + 1] > 0 && i % 2;
        y[i] = heavy ? 1.0f : g_data.y[i];
        w[i] = heavy ? 100.0f : 1.0f;
    }
    REQUIRE(ri_xgb_train(ctx, &prm, g_data.X, N, P, y, w, NULL, &mw) == RI_OK);
    REQUIRE(ri_xgb_train(ctx, &prm, g_data.X, N, P, y, NULL, NULL, &mu) == RI_OK);
    REQUIRE(ri_xgb_predict(ctx, mw, q, 2, P, mq) == RI_OK);
    REQUIRE(ri_xgb_predict(ctx, mu, q, 2, P, uq) == RI_OK);
    CHECK(mq[0] > 2);
    CHECK(mq[1] < -1);
    CHECK(fabs(uq[0]) < 1.5);
    CHECK(uq[1] < -1);
    ri_xgb_free(mu);
    ri_xgb_free(mw);
    ri_ctx_free(ctx);
}

/* NAN is missing, not zero: rows whose x0 is missing are all won, so a missing x0 must
 * predict a win while x0 = 0 (a coin toss by the law) must not. */
TEST(missing_values)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m = NULL;
    static float X[N * P], y[N];
    float q[3 * P] = {NAN, 0.3f, 0.0f, 0.3f, NAN, NAN};
    double mq[3];
    static double margin[N], contrib[3 * (P + 1)];

    memcpy(X, g_data.X, sizeof(X));
    memcpy(y, g_data.y, sizeof(y));
    for (size_t i = 0; i < N; i += 7) {
        X[i * P] = NAN;
        y[i] = 1;
    }
    for (size_t i = 3; i < N; i += 11)
        X[i * P + 1] = NAN;
    small_params(&prm, 1);
    REQUIRE(ri_xgb_train(ctx, &prm, X, N, P, y, NULL, NULL, &m) == RI_OK);
    REQUIRE(ri_xgb_predict(ctx, m, X, N, P, margin) == RI_OK);
    for (size_t i = 0; i < N; i++)
        CHECK(isfinite(margin[i]));
    REQUIRE(ri_xgb_predict(ctx, m, q, 3, P, mq) == RI_OK);
    CHECK(mq[0] > 2);         /* p > 0.88 */
    CHECK(fabs(mq[1]) < 1.5); /* near a coin toss */
    CHECK(isfinite(mq[2]));   /* all missing: still a prediction */
    REQUIRE(ri_xgb_contribs(ctx, m, q, 3, P, contrib) == RI_OK);
    for (size_t i = 0; i < 3; i++)
        CHECK_NEAR(contrib[i * 3] + contrib[i * 3 + 1] + contrib[i * 3 + 2], mq[i], 1e-4);
    ri_xgb_free(m);
    ri_ctx_free(ctx);
}

/* Offset of the first occurrence of the key name (as a UBJSON key: 'L', the size, the
 * bytes) in buf, just past it; 0 if absent. */
static size_t find_key(const unsigned char *buf, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (size_t k = 9; k + n <= len; k++)
        if (buf[k - 9] == 'L' && buf[k - 1] == n && memcmp(buf + k, name, n) == 0)
            return k + n;
    return 0;
}

/* Writes v big-endian as element i of the int32 typed array ("[$l#L" + 8-byte count) of
 * the first tree's key name. */
static void poke_i32(unsigned char *buf, size_t len, const char *name, size_t i, int32_t v)
{
    size_t at = find_key(buf, len, name);
    uint32_t u = (uint32_t)v;
    if (!at || buf[at] != '[' || buf[at + 1] != '$' || buf[at + 2] != 'l')
        return; /* the load then succeeds and the test says so */
    at += 13 + 4 * i;
    buf[at] = (unsigned char)(u >> 24);
    buf[at + 1] = (unsigned char)(u >> 16);
    buf[at + 2] = (unsigned char)(u >> 8);
    buf[at + 3] = (unsigned char)u;
}

/* Bytes that are no model come back as RI_ERR_MODEL with a message, and *out is NULL
 * (it is set to a live model before each call to see it cleared). */
TEST(load_garbage)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m = NULL, *bad;
    void *buf = NULL;
    size_t len = 0;
    static const char text[] = "this is not a model at all, just some words";
    static const char json[] = "{\"learner\": {}}";
    /* UBJSON: an object whose first key claims a length of 2^63 - 1 bytes */
    static const unsigned char huge[] = {'{',  'L',  0x7f, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 'x',  'y',  'z'};
    /* an object {"a": [[[[...]]]]} nested 40 deep */
    unsigned char deep[11 + 80 + 1] = {'{', 'L', 0, 0, 0, 0, 0, 0, 0, 1, 'a'};

    for (size_t k = 0; k < 40; k++) {
        deep[11 + k] = '[';
        deep[11 + 40 + k] = ']';
    }
    deep[sizeof(deep) - 1] = '}';
    small_params(&prm, 1);
    prm.trees = 3;
    REQUIRE(ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, NULL, &m) == RI_OK);
    REQUIRE(ri_xgb_save(ctx, m, &buf, &len) == RI_OK);

    bad = m;
    CHECK(ri_xgb_load(ctx, text, sizeof(text) - 1, &bad) == RI_ERR_MODEL);
    CHECK(bad == NULL);
    CHECK(strncmp(ri_errmsg(ctx), "xgboost: ", 9) == 0);
    bad = m;
    CHECK(ri_xgb_load(ctx, "", 0, &bad) == RI_ERR_MODEL);
    CHECK(bad == NULL);
    bad = m;
    CHECK(ri_xgb_load(ctx, json, sizeof(json) - 1, &bad) == RI_ERR_MODEL);
    CHECK(bad == NULL);
    CHECK(strlen(ri_errmsg(ctx)) > 9);
    bad = m;
    CHECK(ri_xgb_load(ctx, huge, sizeof(huge), &bad) == RI_ERR_MODEL);
    CHECK(bad == NULL);
    CHECK(ri_xgb_load(ctx, deep, sizeof(deep), &bad) == RI_ERR_MODEL);
    CHECK(strstr(ri_errmsg(ctx), "deep") != NULL);
    /* a real model cut in half, as a torn write would leave it */
    bad = m;
    CHECK(ri_xgb_load(ctx, buf, len / 2, &bad) == RI_ERR_MODEL);
    CHECK(bad == NULL);
    CHECK(strstr(ri_errmsg(ctx), "damaged model") != NULL);
    ri_free(buf);
    ri_xgb_free(m);
    ri_ctx_free(ctx);
}

/* Well-formed bytes whose trees are damaged: XGBoost would load them and then read out of
 * bounds or loop while predicting, so the load refuses them. Node 0 of a trained tree of
 * depth 3 is a split with children 1 and 2. The untouched copy loads: the checks are not
 * what fails. */
TEST(load_damaged_trees)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m = NULL, *bad = NULL;
    unsigned char *buf = NULL, *copy = NULL;
    size_t len = 0;
    static const struct {
        const char *key;
        size_t node;
        int32_t value;
        const char *why;
    } cases[] = {
        {"left_children", 0, 100000, "child index out of range"},
        {"right_children", 0, -5, "child index out of range"},
        {"left_children", 0, 2, "child index out of range"}, /* both children node 2 */
        {"left_children", 1, 1, "two parents"},              /* node 1 its own child */
        {"parents", 1, 2, "parent index does not match"},
        {"split_indices", 0, P, "split feature out of range"},
        {"split_indices", 0, -1, "split feature out of range"},
    };

    small_params(&prm, 1);
    prm.trees = 2;
    REQUIRE(ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, NULL, &m) == RI_OK);
    REQUIRE(ri_xgb_save(ctx, m, (void **)&buf, &len) == RI_OK);
    copy = ri_malloc(len);
    memcpy(copy, buf, len);
    REQUIRE(ri_xgb_load(ctx, copy, len, &bad) == RI_OK);
    ri_xgb_free(bad);
    for (size_t c = 0; c < RI_ARRAY_SIZE(cases); c++) {
        memcpy(copy, buf, len);
        poke_i32(copy, len, cases[c].key, cases[c].node, cases[c].value);
        bad = m;
        CHECK(ri_xgb_load(ctx, copy, len, &bad) == RI_ERR_MODEL);
        CHECK(bad == NULL);
        if (!strstr(ri_errmsg(ctx), cases[c].why)) {
            fprintf(stderr, "case %zu: %s\n", c, ri_errmsg(ctx));
            CHECK(0);
        }
        if (bad != m)
            ri_xgb_free(bad);
    }
    ri_free(copy);
    ri_free(buf);
    ri_xgb_free(m);
    ri_ctx_free(ctx);
}

/* Bad input is refused with a message: no rows, no trees, a parameter out of XGBoost's
 * range (its own message), a NAN label, a matrix of the wrong width. */
TEST(errors)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb_params prm;
    struct ri_xgb *m = NULL;
    static float y[N];
    double margin[4];

    small_params(&prm, 1);
    prm.trees = 2;
    CHECK(ri_xgb_train(ctx, &prm, g_data.X, 0, P, g_data.y, NULL, NULL, &m) == RI_ERR_INVALID);
    CHECK(m == NULL);
    prm.trees = 0;
    CHECK(ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, NULL, &m) == RI_ERR_INVALID);
    prm.trees = 2;
    prm.subsample = 2;
    CHECK(ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, NULL, &m) == RI_ERR_MODEL);
    CHECK(m == NULL);
    CHECK(strstr(ri_errmsg(ctx), "subsample") != NULL);
    prm.subsample = 0.8;
    memcpy(y, g_data.y, sizeof(y));
    y[5] = NAN;
    CHECK(ri_xgb_train(ctx, &prm, g_data.X, N, P, y, NULL, NULL, &m) == RI_ERR_MODEL);
    CHECK(m == NULL);
    CHECK(strncmp(ri_errmsg(ctx), "xgboost: ", 9) == 0);

    REQUIRE(ri_xgb_train(ctx, &prm, g_data.X, N, P, g_data.y, NULL, NULL, &m) == RI_OK);
    CHECK(ri_xgb_predict(ctx, m, g_data.X, 2, P + 1, margin) == RI_ERR_INVALID);
    CHECK(ri_xgb_contribs(ctx, m, g_data.X, 1, 1, margin) == RI_ERR_INVALID);
    CHECK(ri_xgb_predict(ctx, m, g_data.X, 0, P, margin) == RI_OK);
    ri_xgb_free(m);
    ri_xgb_free(NULL);
    ri_ctx_free(ctx);
}

int main(void)
{
    BEGIN("test_xgb");
    data_make(&g_data, 20240501);
    RUN(defaults);
    RUN(learns_signal);
    RUN(approx_contribs);
    RUN(save_load_roundtrip);
    RUN(deterministic);
    RUN(weights_count);
    RUN(missing_values);
    RUN(load_garbage);
    RUN(load_damaged_trees);
    RUN(errors);
    return DONE();
}
