/*
 * fuzz_registry.c - fuzzes the parsers of what the model registry stores: the
 * calibrator's text (learn.c), the stage model's text (stagemodel.c) and the booster's
 * bytes (xgb.c, which checks them before XGBoost sees them).
 *
 * Properties checked on every input:
 *  - each loader either fails cleanly or gives an object whose saved text loads back to
 *    the same saved text (a round trip is a fixed point);
 *  - a loaded calibrator maps every probability into [0, 1] and is monotone;
 *  - a loaded stage model gives P(win) in [0, 1] or NAN for every stage and dwell;
 *  - a loaded booster predicts and explains a row, or fails with a message; never crashes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "learn.h"
#include "stagemodel.h"
#include "xgb.h"

#define FCHECK(cond)                                                                               \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "fuzz_registry: %s:%d: %s\n", __FILE__, __LINE__, #cond);                       \
   abort();                                                                                        \
  }                                                                                                \
 } while (0)

static void check_calibrator(const char *s, size_t n)
{
    struct ri_calibrator c, c2;
    struct ri_buf a = RI_BUF_INIT, b = RI_BUF_INIT;
    double prev = -1;
    if (ri_calibrator_load(&c, s, n) != RI_OK)
        return;
    for (int k = 0; k <= 20; k++) {
        double p = ri_calibrator_apply(&c, k / 20.0);
        FCHECK(isnan(p) || (p >= 0 && p <= 1));
        if (!isnan(p)) {
            FCHECK(p >= prev - 1e-12 || c.kind == RI_CAL_PLATT);
            prev = p;
        }
    }
    FCHECK(ri_calibrator_save(&c, &a) == RI_OK);
    FCHECK(ri_calibrator_load(&c2, a.buf, a.len) == RI_OK);
    FCHECK(ri_calibrator_save(&c2, &b) == RI_OK);
    FCHECK(a.len == b.len && !memcmp(a.buf, b.buf, a.len));
    ri_calibrator_release(&c);
    ri_calibrator_release(&c2);
    ri_buf_release(&a);
    ri_buf_release(&b);
}

static void check_stage_model(const char *s, size_t n)
{
    struct ri_stage_model m, m2;
    struct ri_buf a = RI_BUF_INIT, b = RI_BUF_INIT;
    if (ri_stage_model_load(&m, s, n) != RI_OK)
        return;
    for (int32_t st = -1; st < (int32_t)m.n_stages + 1; st++)
        for (int d = 0; d < 400; d += 37) {
            double p = ri_stage_model_p_win(&m, st, d);
            FCHECK(isnan(p) || (p >= -1e-9 && p <= 1 + 1e-9) || !isfinite(m.base_rate));
        }
    FCHECK(ri_stage_model_save(&m, &a) == RI_OK);
    FCHECK(ri_stage_model_load(&m2, a.buf, a.len) == RI_OK);
    FCHECK(ri_stage_model_save(&m2, &b) == RI_OK);
    FCHECK(a.len == b.len && !memcmp(a.buf, b.buf, a.len));
    ri_buf_release(&a);
    ri_buf_release(&b);
}

static void check_booster(const uint8_t *data, size_t n)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_xgb *m = NULL;
    if (ri_xgb_load(ctx, data, n, &m) == RI_OK) {
        size_t p = ri_xgb_n_features(m);
        if (p > 0 && p < 64) {
            float x[64];
            double margin = 0, contrib[65];
            /* a model that loads can be used; additivity of the contributions needs
             * consistent node covers, which damaged bytes need not have (the unit tests
             * check it on trained models) */
            for (size_t j = 0; j < p; j++)
                x[j] = (float)j;
            FCHECK(ri_xgb_predict(ctx, m, x, 1, p, &margin) == RI_OK || ri_errmsg(ctx)[0]);
            FCHECK(ri_xgb_contribs(ctx, m, x, 1, p, contrib) == RI_OK || ri_errmsg(ctx)[0]);
        }
        ri_xgb_free(m);
    } else {
        FCHECK(m == NULL);
        FCHECK(ri_errmsg(ctx)[0] != 0);
    }
    ri_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    if (size < 1)
        return 0;
    /* the first byte picks the parser, so one corpus serves all three */
    switch (data[0] % 3) {
    case 0:
        check_calibrator(s + 1, size - 1);
        break;
    case 1:
        check_stage_model(s + 1, size - 1);
        break;
    default:
        check_booster(data + 1, size - 1);
        break;
    }
    return 0;
}
