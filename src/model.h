/*
 * model.h - the risk model for other modules (the forecast and its backtest): the deals
 * loaded once, a model fitted as of any date or the active one from the registry, and
 * the calibrated P(win) of the deals open at a date.
 */
#ifndef RI_MODEL_H
#define RI_MODEL_H

#include "frame.h"

struct ri_mdata;  /* history, frame and attributes of the store's deals */
struct ri_rmodel; /* a fitted risk model with its stage model */

ri_err ri_mdata_load(struct ri_ctx *ctx, ri_time as_of, struct ri_mdata **out /* OUT */);
void ri_mdata_free(struct ri_mdata *d);
ri_time ri_mdata_as_of(const struct ri_mdata *d);
const struct ri_history *ri_mdata_history(const struct ri_mdata *d);
const struct ri_frame *ri_mdata_frame(const struct ri_mdata *d);
int ri_mdata_history_mode(const struct ri_mdata *d);

/* Fitted as of D, by the protocol of model.c (only what was known at D). */
ri_err ri_rmodel_fit(struct ri_ctx *ctx, const struct ri_mdata *d, ri_time D,
                     const struct ri_model_opts *o, struct ri_rmodel **out /* OUT */);
/* The active model of the registry; *signal says whether it found one. */
ri_err ri_rmodel_load_active(struct ri_ctx *ctx, const struct ri_mdata *d,
                             struct ri_rmodel **out /* OUT */, int *signal /* OUT */);
/* For every deal open in st (replayed at st->at): the calibrated P(win) and the stage
 * model's P(win) (NAN where there is none) into p_model[i] and p_stage[i] (arrays of
 * n_deals; other deals get NAN). P(win) is calibrated by amount, for revenue, and comes
 * from the trees the calibrator was fitted on: a model refitted after calibrating scores
 * with the refitted trees, whose ranking is fresher but whose level the calibrator was
 * not fitted on. */
ri_err ri_rmodel_p_open(struct ri_ctx *ctx, const struct ri_rmodel *m, const struct ri_mdata *d,
                        const struct ri_asof_state *st, double *p_model, double *p_stage);
void ri_rmodel_free(struct ri_rmodel *m);

#endif /* RI_MODEL_H */
