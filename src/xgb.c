/*
 * xgb.c - gradient boosted trees, and revintel's XGBoost adapter (STYLE C11).
 *
 * The one file that includes xgboost/c_api.h: no DMatrixHandle or BoosterHandle leaves it.
 * Every XGBoost call returns 0 or -1; a -1 becomes RI_ERR_MODEL with XGBGetLastError()'s
 * text in the context ("xgboost: ..."), through xgb_call().
 *
 * Invariants and choices:
 * - Matrices are dense row-major float with NAN for a missing value, handed to XGBoost
 *   without a copy; each call builds its DMatrix and frees it before returning.
 * - Training is binary:logistic on the hist method, one XGBoosterUpdateOneIter per round.
 *   Determinism: the booster's random engine (row and column sampling) is seeded from
 *   the seed parameter when the booster is first configured, and seed_per_iteration is
 *   off, so the same data, parameters, seed and thread count give the same trees and so
 *   the same saved bytes. XGBoost keeps that engine per thread: one training runs from
 *   start to end on the calling thread.
 * - Results that XGBoost hands back (predictions, the saved model) live in buffers owned
 *   by the booster until its next call; they are copied out at once.
 * - A model is saved as UBJSON only. XGBoost's loader trusts the sizes it reads and its
 *   predictor the indices in the trees, so a load hands XGBoost only a well-formed UBJSON
 *   document (ubj_check) whose trees are consistent (xgb_check_model); damaged bytes,
 *   and XGBoost's text JSON and deprecated binary formats, are refused with RI_ERR_MODEL
 *   before XGBoost sees them.
 * - n_features is kept beside the booster: the column count of the training matrix, or
 *   XGBoosterGetNumFeature() after a load. Prediction requires exactly that many columns,
 *   so the output sizes documented in xgb.h hold.
 */
#include "xgb.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>

#include <xgboost/c_api.h>

struct ri_xgb {
    BoosterHandle h;
    size_t n_features;
};

/* XGBoost's prediction types (PredictionType in its C API): margin and contributions. */
#define XGB_PRED_MARGIN         1
#define XGB_PRED_CONTRIB        2
#define XGB_PRED_APPROX_CONTRIB 3

/* ------------------------------------------------------------------ helpers */

/* Turns an XGBoost return code into ri_err, with XGBoost's message on a failure. */
static ri_err xgb_call(struct ri_ctx *ctx, int rc)
{
    const char *msg;

    if (rc == 0)
        return RI_OK;
    msg = XGBGetLastError();
    return ri_fail(ctx, RI_ERR_MODEL, "xgboost: %s", msg && *msg ? msg : "unknown error");
}

/* A DMatrix over X (n x p, NAN missing). */
static ri_err xgb_matrix(struct ri_ctx *ctx, const float *X, size_t n, size_t p,
                         DMatrixHandle *out /* OUT */)
{
    *out = NULL;
    return xgb_call(ctx, XGDMatrixCreateFromMat(X, (bst_ulong)n, (bst_ulong)p, NAN, out));
}

static void xgb_matrix_free(DMatrixHandle d)
{
    if (d)
        XGDMatrixFree(d);
}

/* Checks a p-column matrix of n rows against the model: the column count, and that a row
 * of width (p + extra) times n fits in a size_t. */
static ri_err xgb_check_shape(struct ri_ctx *ctx, const struct ri_xgb *m, size_t n, size_t p,
                              size_t extra)
{
    if (p != m->n_features)
        return ri_fail(ctx, RI_ERR_INVALID, "xgboost: the model has %zu features, the matrix %zu",
                       m->n_features, p);
    if (n && p + extra > SIZE_MAX / n)
        return ri_fail(ctx, RI_ERR_TOOBIG, "xgboost: %zu x %zu values are too many", n, p + extra);
    return RI_OK;
}

/* Predicts the n rows of X with prediction type and copies the want values out as
 * doubles, after checking that XGBoost returned exactly that many. */
static ri_err xgb_predict(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n, size_t p,
                          int type, size_t want, double *out /* OUT want */)
{
    ri_err rc = RI_OK;
    DMatrixHandle d = NULL;
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0, total = 1;
    const float *res = NULL;
    char config[160];

    if (n == 0)
        return RI_OK;
    rc = xgb_matrix(ctx, X, n, p, &d);
    if (rc)
        goto out;
    snprintf(config, sizeof(config),
             "{\"type\": %d, \"training\": false, \"iteration_begin\": 0, "
             "\"iteration_end\": 0, \"strict_shape\": false}",
             type);
    rc = xgb_call(ctx, XGBoosterPredictFromDMatrix(m->h, d, config, &shape, &dim, &res));
    if (rc)
        goto out;
    for (bst_ulong k = 0; k < dim; k++)
        total *= shape[k];
    if (dim == 0 || total != (bst_ulong)want) {
        rc = ri_fail(ctx, RI_ERR_MODEL, "xgboost: %" PRIu64 " predicted values, expected %zu",
                     (uint64_t)(dim ? total : 0), want);
        goto out;
    }
    for (size_t i = 0; i < want; i++)
        out[i] = (double)res[i];
out:
    xgb_matrix_free(d);
    return rc;
}

/* ------------------------------------------------------------------ training */

void ri_xgb_params_default(struct ri_xgb_params *p /* OUT */)
{
    p->trees = 300;
    p->max_depth = 6;
    p->eta = 0.05;
    p->subsample = 0.8;
    p->colsample = 0.8;
    p->min_child_weight = 1;
    p->lambda = 1;
    p->nthread = 2;
    p->seed = 1;
}

/* Sets the booster parameters of prm, each formatted so that it reads back exactly
 * (%.17g for doubles). */
static ri_err xgb_set_params(struct ri_ctx *ctx, BoosterHandle h, const struct ri_xgb_params *prm)
{
    struct {
        const char *name;
        char value[40];
    } kv[] = {
        {"objective", "binary:logistic"},
        {"tree_method", "hist"},
        {"seed_per_iteration", "false"},
        {"verbosity", "0"},
        {"max_depth", ""},
        {"eta", ""},
        {"subsample", ""},
        {"colsample_bytree", ""},
        {"min_child_weight", ""},
        {"lambda", ""},
        {"nthread", ""},
        {"seed", ""},
    };
    ri_err rc = RI_OK;

    snprintf(kv[4].value, sizeof(kv[4].value), "%d", prm->max_depth);
    snprintf(kv[5].value, sizeof(kv[5].value), "%.17g", prm->eta);
    snprintf(kv[6].value, sizeof(kv[6].value), "%.17g", prm->subsample);
    snprintf(kv[7].value, sizeof(kv[7].value), "%.17g", prm->colsample);
    snprintf(kv[8].value, sizeof(kv[8].value), "%.17g", prm->min_child_weight);
    snprintf(kv[9].value, sizeof(kv[9].value), "%.17g", prm->lambda);
    snprintf(kv[10].value, sizeof(kv[10].value), "%d", prm->nthread);
    /* XGBoost's seed is a signed 64-bit integer: the low 63 bits are used. */
    snprintf(kv[11].value, sizeof(kv[11].value), "%" PRIu64, prm->seed & (UINT64_MAX >> 1));
    for (size_t i = 0; i < RI_ARRAY_SIZE(kv) && !rc; i++)
        rc = xgb_call(ctx, XGBoosterSetParam(h, kv[i].name, kv[i].value));
    return rc;
}

/* Names the p columns, on the training matrix and on the booster (whose copy is the one
 * saved with the model). XGBoost's prototypes take a non-const array of pointers, so the
 * borrowed names are listed in a scratch copy rather than cast. */
static ri_err xgb_set_names(struct ri_ctx *ctx, DMatrixHandle d, BoosterHandle h,
                            const char *const *names, size_t p)
{
    ri_err rc;
    const char **tmp;

    if (p > SIZE_MAX / sizeof(*tmp))
        return ri_fail(ctx, RI_ERR_TOOBIG, "xgboost: %zu feature names are too many", p);
    tmp = ri_try_alloc(p * sizeof(*tmp));
    if (!tmp)
        return ri_fail(ctx, RI_ERR_NOMEM, "xgboost: no memory for %zu feature names", p);
    for (size_t j = 0; j < p; j++)
        tmp[j] = names[j];
    rc = xgb_call(ctx, XGDMatrixSetStrFeatureInfo(d, "feature_name", tmp, (bst_ulong)p));
    if (!rc)
        rc = xgb_call(ctx, XGBoosterSetStrFeatureInfo(h, "feature_name", tmp, (bst_ulong)p));
    ri_free(tmp);
    return rc;
}

ri_err ri_xgb_train(struct ri_ctx *ctx, const struct ri_xgb_params *prm, const float *X, size_t n,
                    size_t p, const float *y, const float *w, const char *const *feature_names,
                    struct ri_xgb **out /* OUT */)
{
    ri_err rc = RI_OK;
    DMatrixHandle d = NULL;
    struct ri_xgb *m = NULL;

    *out = NULL;
    if (n == 0 || p == 0)
        return ri_fail(ctx, RI_ERR_INVALID, "xgboost: nothing to train on (%zu x %zu)", n, p);
    if (prm->trees < 1)
        return ri_fail(ctx, RI_ERR_INVALID, "xgboost: %d trees", prm->trees);
    rc = xgb_matrix(ctx, X, n, p, &d);
    if (rc)
        goto out;
    rc = xgb_call(ctx, XGDMatrixSetFloatInfo(d, "label", y, (bst_ulong)n));
    if (!rc && w)
        rc = xgb_call(ctx, XGDMatrixSetFloatInfo(d, "weight", w, (bst_ulong)n));
    if (rc)
        goto out;

    m = ri_calloc(1, sizeof(*m));
    m->n_features = p;
    rc = xgb_call(ctx, XGBoosterCreate(&d, 1, &m->h));
    if (rc)
        goto out;
    if (feature_names) {
        rc = xgb_set_names(ctx, d, m->h, feature_names, p);
        if (rc)
            goto out;
    }
    rc = xgb_set_params(ctx, m->h, prm);
    if (rc)
        goto out;
    for (int it = 0; it < prm->trees; it++) {
        if (ri_interrupted) {
            rc = ri_fail(ctx, RI_ERR_INTERRUPTED, "xgboost: interrupted after %d trees", it);
            goto out;
        }
        rc = xgb_call(ctx, XGBoosterUpdateOneIter(m->h, it, d));
        if (rc)
            goto out;
        ri_progress(ctx, "trees", (uint64_t)it + 1, (uint64_t)prm->trees);
    }
    *out = m;
    m = NULL;
out:
    ri_xgb_free(m);
    xgb_matrix_free(d);
    return rc;
}

/* ------------------------------------------------------------------ prediction */

ri_err ri_xgb_predict(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n, size_t p,
                      double *margin /* OUT n */)
{
    ri_err rc = xgb_check_shape(ctx, m, n, p, 0);

    if (rc)
        return rc;
    return xgb_predict(ctx, m, X, n, p, XGB_PRED_MARGIN, n, margin);
}

ri_err ri_xgb_contribs(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n, size_t p,
                       double *contrib /* OUT n * (p + 1) */)
{
    ri_err rc = xgb_check_shape(ctx, m, n, p, 1);

    if (rc)
        return rc;
    return xgb_predict(ctx, m, X, n, p, XGB_PRED_CONTRIB, n * (p + 1), contrib);
}

ri_err ri_xgb_contribs_approx(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n,
                              size_t p, double *contrib /* OUT n * (p + 1) */)
{
    ri_err rc = xgb_check_shape(ctx, m, n, p, 1);

    if (rc)
        return rc;
    return xgb_predict(ctx, m, X, n, p, XGB_PRED_APPROX_CONTRIB, n * (p + 1), contrib);
}

/* ------------------------------------------------------------------ save and load */

ri_err ri_xgb_save(struct ri_ctx *ctx, struct ri_xgb *m, void **buf /* OUT */, size_t *len)
{
    ri_err rc;
    bst_ulong n = 0;
    const char *data = NULL;
    void *copy;

    *buf = NULL;
    *len = 0;
    rc = xgb_call(ctx, XGBoosterSaveModelToBuffer(m->h, "{\"format\": \"ubj\"}", &n, &data));
    if (rc)
        return rc;
    if (n == 0 || n > SIZE_MAX)
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: saved model of %" PRIu64 " bytes", (uint64_t)n);
    copy = ri_try_alloc((size_t)n);
    if (!copy)
        return ri_fail(ctx, RI_ERR_NOMEM, "xgboost: no memory for a model of %" PRIu64 " bytes",
                       (uint64_t)n);
    memcpy(copy, data, (size_t)n);
    *buf = copy;
    *len = (size_t)n;
    return RI_OK;
}

/*
 * A bounds-checked walk over a UBJSON document, in the subset XGBoost writes and reads:
 * objects whose keys are 'L'-sized strings, arrays (plain, counted "#L n", or typed
 * "$t#L n" with t one of d U l L), strings "S L n bytes", the scalars Z T F i U C I l L d.
 * Sizes are big-endian int64. XGBoost's own reader (1.7) trusts the sizes it reads, so a
 * damaged model would make it read past the buffer, allocate without bound or loop
 * forever; ri_xgb_load therefore hands it only a document that passed this walk: every
 * size within the bytes that remain, nesting at most UBJ_MAX_DEPTH deep, and nothing
 * after the top-level object.
 */
#define UBJ_MAX_DEPTH 32

struct ubj {
    const unsigned char *p;
    size_t len, pos;
    const char *why; /* the first problem found */
};

static bool ubj_fail(struct ubj *u, const char *why)
{
    if (!u->why)
        u->why = why;
    return false;
}

static bool ubj_skip(struct ubj *u, size_t n)
{
    if (u->len - u->pos < n)
        return ubj_fail(u, "truncated");
    u->pos += n;
    return true;
}

/* A size: the marker 'L' and a non-negative big-endian int64. */
static bool ubj_size(struct ubj *u, uint64_t *n /* OUT */)
{
    uint64_t v = 0;

    if (u->pos >= u->len || u->p[u->pos] != 'L')
        return ubj_fail(u, "expected a size");
    if (!ubj_skip(u, 9))
        return false;
    for (size_t k = u->pos - 8; k < u->pos; k++)
        v = v << 8 | u->p[k];
    if (v > INT64_MAX)
        return ubj_fail(u, "negative size");
    *n = v;
    return true;
}

static bool ubj_string(struct ubj *u)
{
    uint64_t n;

    if (!ubj_size(u, &n))
        return false;
    if (n > u->len - u->pos)
        return ubj_fail(u, "string past the end");
    return ubj_skip(u, (size_t)n);
}

static bool ubj_value(struct ubj *u, int depth);

static bool ubj_array(struct ubj *u, int depth)
{
    uint64_t n;
    size_t width;

    if (u->pos >= u->len)
        return ubj_fail(u, "truncated");
    if (u->p[u->pos] == '$') {
        if (!ubj_skip(u, 2))
            return false;
        switch (u->p[u->pos - 1]) {
        case 'U':
            width = 1;
            break;
        case 'd':
        case 'l':
            width = 4;
            break;
        case 'L':
            width = 8;
            break;
        default:
            return ubj_fail(u, "unknown typed array");
        }
        if (u->pos >= u->len || u->p[u->pos] != '#')
            return ubj_fail(u, "typed array without a count");
        u->pos++;
        if (!ubj_size(u, &n))
            return false;
        if (n > (u->len - u->pos) / width)
            return ubj_fail(u, "array past the end");
        return ubj_skip(u, (size_t)n * width);
    }
    if (u->p[u->pos] == '#') {
        u->pos++;
        if (!ubj_size(u, &n))
            return false;
        if (n > u->len - u->pos) /* each value takes a byte at least */
            return ubj_fail(u, "array past the end");
        for (uint64_t i = 0; i < n; i++)
            if (!ubj_value(u, depth + 1))
                return false;
        return true;
    }
    for (;;) {
        if (u->pos >= u->len)
            return ubj_fail(u, "truncated");
        if (u->p[u->pos] == ']') {
            u->pos++;
            return true;
        }
        if (!ubj_value(u, depth + 1))
            return false;
    }
}

static bool ubj_value(struct ubj *u, int depth)
{
    unsigned char c;

    if (depth > UBJ_MAX_DEPTH)
        return ubj_fail(u, "nested too deep");
    if (u->pos >= u->len)
        return ubj_fail(u, "truncated");
    c = u->p[u->pos++];
    switch (c) {
    case '{':
        for (;;) {
            if (u->pos >= u->len)
                return ubj_fail(u, "truncated");
            if (u->p[u->pos] == '}') {
                u->pos++;
                return true;
            }
            if (!ubj_string(u) || !ubj_value(u, depth + 1))
                return false;
        }
    case '[':
        return ubj_array(u, depth);
    case 'S':
        return ubj_string(u);
    case 'Z':
    case 'T':
    case 'F':
        return true;
    case 'i':
    case 'U':
    case 'C':
        return ubj_skip(u, 1);
    case 'I':
        return ubj_skip(u, 2);
    case 'l':
    case 'd':
        return ubj_skip(u, 4);
    case 'L':
        return ubj_skip(u, 8);
    default:
        u->pos--;
        return ubj_fail(u, "unknown marker");
    }
}

/* RI_OK if buf[0..len) is one well-formed UBJSON object, else RI_ERR_MODEL saying where. */
static ri_err ubj_check(struct ri_ctx *ctx, const void *buf, size_t len)
{
    struct ubj u = {buf, len, 0, NULL};

    if (len == 0 || u.p[0] != '{')
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: not a saved model (%zu bytes)", len);
    if (ubj_value(&u, 0) && u.pos != len)
        ubj_fail(&u, "trailing bytes");
    if (u.why)
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: damaged model: %s at byte %zu of %zu", u.why,
                       u.pos, len);
    return RI_OK;
}

/*
 * The trees of a well-formed document, checked before XGBoost sees them. XGBoost checks
 * that a tree's arrays have num_nodes entries, but not what they hold, and prediction
 * follows child indices, feature indices and output groups without bounds: a damaged
 * index would read or write out of bounds, a cycle would loop forever. So, for the
 * layout XGBoost 1.7 writes for a gbtree model (counted arrays, typed arrays of int32 for
 * the tree structure):
 * - learner_model_param: num_feature >= 1, num_class <= 1 and num_target 1 (one output);
 * - gradient_booster is "gbtree", num_trees is the length of trees and of tree_info,
 *   and every tree_info entry is 0 (the one output group);
 * - in each tree, a node is a leaf (both children -1) or has two children in
 *   [1, num_nodes) whose parents entry names it, and a split feature below num_feature;
 *   every node but the root is the child of exactly one node, so the nodes form one tree;
 *   no split is categorical and there are no category lists.
 * Models with pruned (deleted) nodes, which hist training does not make, fail the last
 * rule and are refused.
 */
struct ubj_doc {
    const unsigned char *p;
    size_t len;
};

#define UBJ_NONE SIZE_MAX /* no such value */

static uint64_t ubj_be(const unsigned char *q, size_t n)
{
    uint64_t v = 0;

    for (size_t k = 0; k < n; k++)
        v = v << 8 | q[k];
    return v;
}

static int32_t ubj_i32(const unsigned char *q)
{
    uint32_t v = (uint32_t)ubj_be(q, 4);

    return v <= INT32_MAX ? (int32_t)v : -(int32_t)~v - 1;
}

/* Offset just past the value at pos (in a document that passed ubj_check). */
static size_t ubj_next(const struct ubj_doc *d, size_t pos)
{
    struct ubj u = {d->p, d->len, pos, NULL};

    ubj_value(&u, 0);
    return u.pos;
}

/* Offset of the value of key in the object at pos; UBJ_NONE if pos is UBJ_NONE or not an
 * object, or if the object has no such key. The helpers below accept UBJ_NONE too, so
 * lookups chain. */
static size_t ubj_get(const struct ubj_doc *d, size_t pos, const char *key)
{
    size_t klen = strlen(key);

    if (pos == UBJ_NONE || d->p[pos] != '{')
        return UBJ_NONE;
    pos++;
    while (d->p[pos] != '}') {
        size_t n = (size_t)ubj_be(d->p + pos + 1, 8), vpos = pos + 9 + n;
        if (n == klen && memcmp(d->p + pos + 9, key, n) == 0)
            return vpos;
        pos = ubj_next(d, vpos);
    }
    return UBJ_NONE;
}

/* The string at pos ('S', 'L', size, bytes), or false. */
static bool ubj_str(const struct ubj_doc *d, size_t pos, const char **s /* OUT */,
                    size_t *n /* OUT */)
{
    if (pos == UBJ_NONE || d->p[pos] != 'S')
        return false;
    *n = (size_t)ubj_be(d->p + pos + 2, 8);
    *s = (const char *)d->p + pos + 10;
    return true;
}

/* An integer written as a string ("3"), as XGBoost writes its parameters. */
static bool ubj_int_str(const struct ubj_doc *d, size_t pos, int64_t *v /* OUT */)
{
    const char *s;
    size_t n;

    return ubj_str(d, pos, &s, &n) && ri_parse_i64(s, n, v) == RI_OK;
}

/* An integer scalar of any width. */
static bool ubj_int(const struct ubj_doc *d, size_t pos, int64_t *v /* OUT */)
{
    const unsigned char *q;

    if (pos == UBJ_NONE)
        return false;
    q = d->p + pos + 1;
    switch (d->p[pos]) {
    case 'i':
    case 'C':
        *v = (int8_t)(q[0] < 128 ? q[0] : q[0] - 256);
        return true;
    case 'U':
        *v = q[0];
        return true;
    case 'I': {
        uint64_t u = ubj_be(q, 2);
        *v = u < 32768 ? (int64_t)u : (int64_t)u - 65536;
        return true;
    }
    case 'l':
        *v = ubj_i32(q);
        return true;
    case 'L': {
        uint64_t u = ubj_be(q, 8);
        *v = u <= INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
        return true;
    }
    default:
        return false;
    }
}

/* A counted array ("[#L n"): n and the offset of its first element. */
static bool ubj_counted(const struct ubj_doc *d, size_t pos, size_t *n /* OUT */,
                        size_t *first /* OUT */)
{
    if (pos == UBJ_NONE || d->p[pos] != '[' || d->p[pos + 1] != '#')
        return false;
    *n = (size_t)ubj_be(d->p + pos + 3, 8);
    *first = pos + 11;
    return true;
}

/* A typed array ("[$t#L n") of element type t (0: any): n and the offset of its data. */
static bool ubj_typed(const struct ubj_doc *d, size_t pos, char t, size_t *n /* OUT */,
                      size_t *data /* OUT */)
{
    if (pos == UBJ_NONE || d->p[pos] != '[' || d->p[pos + 1] != '$' || (t && d->p[pos + 2] != t))
        return false;
    *n = (size_t)ubj_be(d->p + pos + 5, 8);
    *data = pos + 13;
    return true;
}

/* NULL if the tree at pos passes the rules above, else what is wrong with it. */
static const char *xgb_check_tree(const struct ubj_doc *d, size_t tree, int64_t nf)
{
    const char *why = NULL;
    int64_t nn = 0;
    size_t n, k, left, right, parent, split, at;
    unsigned char *seen = NULL;

    if (!ubj_int_str(d, ubj_get(d, ubj_get(d, tree, "tree_param"), "num_nodes"), &nn) || nn < 1 ||
        nn > INT32_MAX)
        return "no node count";
    n = (size_t)nn;
    if (!ubj_typed(d, ubj_get(d, tree, "left_children"), 'l', &k, &left) || k != n ||
        !ubj_typed(d, ubj_get(d, tree, "right_children"), 'l', &k, &right) || k != n ||
        !ubj_typed(d, ubj_get(d, tree, "parents"), 'l', &k, &parent) || k != n ||
        !ubj_typed(d, ubj_get(d, tree, "split_indices"), 'l', &k, &split) || k != n)
        return "node arrays missing or of the wrong size";
    at = ubj_get(d, tree, "split_type");
    if (at != UBJ_NONE) {
        if (!ubj_typed(d, at, 'U', &k, &at) || k != n)
            return "split types of the wrong size";
        for (size_t i = 0; i < n; i++)
            if (d->p[at + i] != 0)
                return "categorical split";
    }
    static const char *const cats[] = {"categories", "categories_nodes", "categories_segments",
                                       "categories_sizes"};
    for (size_t c = 0; c < RI_ARRAY_SIZE(cats); c++) {
        at = ubj_get(d, tree, cats[c]);
        if (at != UBJ_NONE && (!ubj_typed(d, at, 0, &k, &at) || k != 0))
            return "category lists";
    }

    seen = ri_try_alloc(n);
    if (!seen)
        return "no memory to check it";
    memset(seen, 0, n);
    for (size_t i = 0; i < n && !why; i++) {
        int32_t l = ubj_i32(d->p + left + 4 * i), r = ubj_i32(d->p + right + 4 * i);
        if (l == -1 && r == -1)
            continue;
        if (l < 1 || (size_t)l >= n || r < 1 || (size_t)r >= n || l == r)
            why = "child index out of range";
        else if (seen[l]++ || seen[r]++)
            why = "node with two parents";
        else if (ubj_i32(d->p + parent + 4 * (size_t)l) != (int32_t)i ||
                 ubj_i32(d->p + parent + 4 * (size_t)r) != (int32_t)i)
            why = "parent index does not match";
        else if (ubj_i32(d->p + split + 4 * i) < 0 || ubj_i32(d->p + split + 4 * i) >= nf)
            why = "split feature out of range";
    }
    for (size_t i = 1; i < n && !why; i++)
        if (!seen[i])
            why = "node not in the tree";
    ri_free(seen);
    return why;
}

/* RI_OK if the document at buf (which passed ubj_check) is a gbtree model that passes the
 * rules above, else RI_ERR_MODEL saying what is wrong. */
static ri_err xgb_check_model(struct ri_ctx *ctx, const void *buf, size_t len)
{
    struct ubj_doc d = {buf, len};
    size_t learner, param, gb, model, trees, info, n_trees, n_info, pos;
    int64_t nf = 0, v = 0;
    const char *s, *why = NULL;
    size_t slen;

    learner = ubj_get(&d, 0, "learner");
    param = ubj_get(&d, learner, "learner_model_param");
    if (!ubj_int_str(&d, ubj_get(&d, param, "num_feature"), &nf) || nf < 1 || nf > INT32_MAX)
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: damaged model: no feature count");
    if (ubj_int_str(&d, ubj_get(&d, param, "num_class"), &v) && v > 1)
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: not a binary model (%" PRId64 " classes)", v);
    if (ubj_int_str(&d, ubj_get(&d, param, "num_target"), &v) && v != 1)
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: not a binary model (%" PRId64 " targets)", v);
    gb = ubj_get(&d, learner, "gradient_booster");
    if (!ubj_str(&d, ubj_get(&d, gb, "name"), &s, &slen) || slen != 6 || memcmp(s, "gbtree", 6))
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: not a tree model");
    model = ubj_get(&d, gb, "model");
    trees = ubj_get(&d, model, "trees");
    info = ubj_get(&d, model, "tree_info");
    if (!ubj_int_str(&d, ubj_get(&d, ubj_get(&d, model, "gbtree_model_param"), "num_trees"), &v) ||
        !ubj_counted(&d, trees, &n_trees, &pos) || !ubj_counted(&d, info, &n_info, &info) ||
        v < 0 || (uint64_t)v != n_trees || n_info != n_trees)
        return ri_fail(ctx, RI_ERR_MODEL, "xgboost: damaged model: tree counts disagree");
    for (size_t t = 0; t < n_trees; t++) {
        if (!ubj_int(&d, info, &v) || v != 0)
            return ri_fail(ctx, RI_ERR_MODEL, "xgboost: damaged model: tree %zu: output group", t);
        info = ubj_next(&d, info);
        why = xgb_check_tree(&d, pos, nf);
        if (why)
            return ri_fail(ctx, RI_ERR_MODEL, "xgboost: damaged model: tree %zu: %s", t, why);
        pos = ubj_next(&d, pos);
    }
    return RI_OK;
}

ri_err ri_xgb_load(struct ri_ctx *ctx, const void *buf, size_t len, struct ri_xgb **out /* OUT */)
{
    ri_err rc = RI_OK;
    struct ri_xgb *m = NULL;
    bst_ulong nf = 0;

    *out = NULL;
    rc = ubj_check(ctx, buf, len);
    if (!rc)
        rc = xgb_check_model(ctx, buf, len);
    if (rc)
        return rc;
    m = ri_calloc(1, sizeof(*m));
    rc = xgb_call(ctx, XGBoosterCreate(NULL, 0, &m->h));
    if (rc)
        goto out;
    rc = xgb_call(ctx, XGBoosterLoadModelFromBuffer(m->h, buf, (bst_ulong)len));
    if (rc)
        goto out;
    rc = xgb_call(ctx, XGBoosterGetNumFeature(m->h, &nf));
    if (rc)
        goto out;
    if (nf == 0 || nf > SIZE_MAX) {
        rc = ri_fail(ctx, RI_ERR_MODEL, "xgboost: loaded model has %" PRIu64 " features",
                     (uint64_t)nf);
        goto out;
    }
    m->n_features = (size_t)nf;
    *out = m;
    m = NULL;
out:
    ri_xgb_free(m);
    return rc;
}

size_t ri_xgb_n_features(const struct ri_xgb *m)
{
    return m->n_features;
}

void ri_xgb_free(struct ri_xgb *m)
{
    if (!m)
        return;
    if (m->h)
        XGBoosterFree(m->h);
    ri_free(m);
}

/* ------------------------------------------------------------------ version */

static pthread_once_t version_once = PTHREAD_ONCE_INIT;
static char version_str[40];

static void version_init(void)
{
    int major = 0, minor = 0, patch = 0;

    XGBoostVersion(&major, &minor, &patch);
    snprintf(version_str, sizeof(version_str), "%d.%d.%d", major, minor, patch);
}

const char *ri_xgb_version(void)
{
    pthread_once(&version_once, version_init);
    return version_str;
}
