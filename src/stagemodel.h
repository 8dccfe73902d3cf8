/*
 * stagemodel.h - the stage model: P(win | stage, time in stage) and the expected days to
 * close, from an absorbing semi-Markov chain estimated on the deals' stage histories.
 *
 * States are the open stages of the history's stage order; won and lost stages absorb.
 * For each open stage s and dwell bucket b (days spent in s so far) the chain holds the
 * probability of leaving s within each later bucket and, when leaving, of moving to each
 * other stage (transitions estimated from the visits that ended before the cutoff;
 * visits still running at the cutoff count as censored for the dwell). P(win | s, t) is
 * the probability of absorption in a won stage from (s, t), solved exactly over the chain
 * (regressions make it cyclic). Where a (stage, bucket) has fewer than RI_SM_MIN_VISITS
 * visits it pools with the stage's other buckets.
 */
#ifndef RI_STAGEMODEL_H
#define RI_STAGEMODEL_H

#include "ri_internal.h"

#define RI_SM_MAX_STAGES 32
#define RI_SM_BUCKETS    7 /* days in stage: [0,7) [7,14) [14,30) [30,60) [60,90) [90,180) [180,inf) */
#define RI_SM_MIN_VISITS 20

struct ri_stage_model {
    size_t n_stages; /* as the history's stage order */
    ri_time cutoff;
    int strict;           /* fitted on complete sequences only */
    uint64_t deals, visits; /* used in the fit */
    double p_win[RI_SM_MAX_STAGES][RI_SM_BUCKETS];     /* NAN for a closed stage */
    double days_left[RI_SM_MAX_STAGES][RI_SM_BUCKETS]; /* expected days to absorption */
    uint64_t n[RI_SM_MAX_STAGES][RI_SM_BUCKETS];       /* visits that reached the bucket */
    double base_rate; /* won / closed among the deals of the fit: for an unknown stage */
};

/* Bucket of a dwell in days (< 0 counts as 0). */
int ri_stage_model_bucket(double days);

/* Fits on the histories as known at cutoff (ri_history_path(h, i, cutoff)) of the deals
 * with include[i] (NULL: all) created before cutoff. strict: only deals whose path is
 * complete (starts at creation in an open stage, no unknown stage). RI_ERR_NOTFOUND
 * when no deal has a path with a stage change (no history to learn from). */
ri_err ri_stage_model_fit(struct ri_ctx *ctx, const struct ri_history *h, ri_time cutoff,
                          const uint8_t *include, int strict,
                          struct ri_stage_model *out /* OUT */);
/* P(win) of a deal in open stage `stage` for `days` so far; base_rate for stage < 0 or out of
 * range; 1 or 0 for a won or lost stage. */
double ri_stage_model_p_win(const struct ri_stage_model *m, int32_t stage, double days);
double ri_stage_model_days_left(const struct ri_stage_model *m, int32_t stage, double days);

/* Text form for the model registry, and back (RI_ERR_PARSE on a malformed text). */
ri_err ri_stage_model_save(const struct ri_stage_model *m, struct ri_buf *out);
ri_err ri_stage_model_load(struct ri_stage_model *m /* OUT */, const char *text, size_t len);

#endif /* RI_STAGEMODEL_H */
