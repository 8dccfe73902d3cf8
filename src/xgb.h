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
    int nthread;             /* default 2 */
    uint64_t seed;           /* default 1 */
};
void ri_xgb_params_default(struct ri_xgb_params *p /* OUT */);

struct ri_xgb; /* a trained booster */

/* Trains on X (n x p) with labels y (0/1) and weights w (NULL: 1). feature_names (may be
 * NULL) name the p columns in the saved model. Errors from XGBoost come back as
 * RI_ERR_MODEL with XGBoost's message in ctx. */
ri_err ri_xgb_train(struct ri_ctx *ctx, const struct ri_xgb_params *prm, const float *X,
                    size_t n, size_t p, const float *y, const float *w,
                    const char *const *feature_names, struct ri_xgb **out /* OUT */);
/* Margins (log-odds) of the n rows of X. */
ri_err ri_xgb_predict(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n, size_t p,
                      double *margin /* OUT n */);
/* Per-row contributions: contrib[i * (p + 1) + j] for feature j, and the bias at
 * contrib[i * (p + 1) + p]; each row sums to its margin. */
ri_err ri_xgb_contribs(struct ri_ctx *ctx, struct ri_xgb *m, const float *X, size_t n, size_t p,
                       double *contrib /* OUT n * (p + 1) */);
/* The model as bytes (XGBoost's UBJSON) for the model registry, and back. *buf is freed
 * with ri_free. */
ri_err ri_xgb_save(struct ri_ctx *ctx, struct ri_xgb *m, void **buf /* OUT */, size_t *len);
ri_err ri_xgb_load(struct ri_ctx *ctx, const void *buf, size_t len, struct ri_xgb **out /* OUT */);
size_t ri_xgb_n_features(const struct ri_xgb *m);
void ri_xgb_free(struct ri_xgb *m);
/* "1.7.4" */
const char *ri_xgb_version(void);

#endif /* RI_XGB_H */
