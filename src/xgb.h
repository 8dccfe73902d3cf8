/*
 * xgb.h - gradient boosted trees: the one adapter over the XGBoost C API (xgb.c).
 *
 * Matrices are dense float, row-major, n x p, NAN for a missing value. Training is
 * binary:logistic with the hist method; a given seed and thread count give the same
 * model byte for byte. Predictions are margins (log-odds); contributions are TreeSHAP
 * values, exact and additive: for each row they sum with the bias to the margin.
 */
#ifndef RI_XGB_H
#define RI_XGB_H

#include "ri_internal.h"

struct ri_xgb_params {
    int trees;               /* boosting rounds, default 300 */
    int max_depth;           /* default 6 */
    double eta;              /* default 0.05 */
    double subsample;        /* default 0.8 */
    double colsample;        /* colsample_bytree, default 0.8 */
    double min_child_weight; /* default 1 */
    double lambda;           /* L2 on leaf weights, default 1 */
    int nthread;             /* default 2; <= 0: as many as the machine has */
    uint64_t seed;           /* default 1; XGBoost's seed is signed: the low 63 bits count */
};
void ri_xgb_params_default(struct ri_xgb_params *p /* OUT */);

struct ri_xgb; /* a trained booster */

/* Trains on X (n x p) with labels y (0/1) and weights w (NULL: 1). feature_names (may be
 * NULL) name the p columns in the saved model. All arrays are borrowed; *out belongs to
 * the caller (ri_xgb_free). RI_ERR_INVALID for n or p of 0 or fewer than 1 tree;
 * RI_ERR_INTERRUPTED when ri_interrupted is set between rounds; errors from XGBoost
 * (a parameter out of range, a NAN label) come back as RI_ERR_MODEL with XGBoost's
 * message in ctx. Reports progress as "trees". */
ri_err ri_xgb_train(struct ri_ctx *ctx, const struct ri_xgb_params *prm, const float *X, size_t n,
                    size_t p, const float *y, const float *w, const char *const *feature_names,
                    struct ri_xgb **out /* OUT */);
/* Margins (log-odds) of the n rows of X. p must be the model's feature count
 * (RI_ERR_INVALID otherwise). */
ri_err ri_xgb_predict(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n, size_t p,
                      double *margin /* OUT n */);
/* Per-row contributions: contrib[i * (p + 1) + j] for feature j, and the bias at
 * contrib[i * (p + 1) + p]; each row sums to its margin. */
ri_err ri_xgb_contribs(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n, size_t p,
                       double *contrib /* OUT n * (p + 1) */);
/* The same laid out the same way, by the path method (Saabas: each split's change of the
 * expected value goes to its feature): rows still sum to their margins and a stump's
 * contributions equal the exact ones, but deeper trees credit the features split on near
 * the root more. Linear in the depth where the exact values (TreeSHAP) are quadratic: for
 * scoring a large pipeline. */
ri_err ri_xgb_contribs_approx(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n,
                              size_t p, double *contrib /* OUT n * (p + 1) */);
/* The model as bytes (XGBoost's UBJSON) for the model registry, and back. *buf is freed
 * with ri_free. Loading checks the bytes before XGBoost parses them (XGBoost trusts sizes
 * and indices it reads): anything but a well-formed UBJSON gradient-boosted-trees model
 * with one output and consistent trees is RI_ERR_MODEL ("xgboost: damaged model: ..."),
 * never a crash; *out is then NULL. */
ri_err ri_xgb_save(struct ri_ctx *ctx, struct ri_xgb *m, void **buf /* OUT */, size_t *len);
ri_err ri_xgb_load(struct ri_ctx *ctx, const void *buf, size_t len, struct ri_xgb **out /* OUT */);
/* Number of feature columns the model expects. */
size_t ri_xgb_n_features(const struct ri_xgb *m);
/* Accepts NULL. */
void ri_xgb_free(struct ri_xgb *m);
/* Version of the XGBoost library in use, "1.7.4". */
const char *ri_xgb_version(void);

#endif /* RI_XGB_H */
