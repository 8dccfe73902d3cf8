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
 * (regressions make it cyclic). Where fewer than RI_SM_MIN_VISITS visits left a (stage,
 * bucket), its next-stage distribution is the stage's pooled one (all buckets); the
 * chance of leaving within the bucket is always the bucket's own (left / reached). The
 * last bucket any visit reached is open-ended (whatever reaches it leaves, with its
 * distribution), and the buckets past it take its values. A stage from which the data
 * never reaches a won or lost stage takes base_rate (and base_days). The estimation, its
 * assumptions and a worked example: docs/internals/stagemodel.md.
 */
#ifndef RI_STAGEMODEL_H
#define RI_STAGEMODEL_H

#include "ri_internal.h"

#define RI_SM_MAX_STAGES 32
/* Dwell buckets, days in stage: [0,7) [7,14) [14,30) [30,60) [60,90) [90,180) [180,inf) */
#define RI_SM_BUCKETS    7
#define RI_SM_MIN_VISITS 20

struct ri_stage_model {
    size_t n_stages; /* as the history's stage order */
    ri_time cutoff;
    int strict;                                        /* fitted on complete sequences only */
    uint64_t deals, visits;                            /* used in the fit */
    double p_win[RI_SM_MAX_STAGES][RI_SM_BUCKETS];     /* NAN for a closed stage */
    double days_left[RI_SM_MAX_STAGES][RI_SM_BUCKETS]; /* expected days to absorption from
                                                          the bucket's start; NAN if closed */
    uint64_t n[RI_SM_MAX_STAGES][RI_SM_BUCKETS];       /* visits that reached the bucket
                                                          (0: its values are extrapolated) */
    /* won / closed among the deals of the fit: for an unknown stage; NAN if none closed */
    double base_rate;
    /* each stage's enum ri_status, as the history's */
    uint8_t role[RI_SM_MAX_STAGES];
    /* mean days from creation to close of the closed deals of the fit whose creation is
     * known: days_left of an unknown stage; NAN if there is none */
    double base_days;
};

/* Bucket of a dwell in days (< 0 and NaN count as 0). */
int ri_stage_model_bucket(double days);

/* Fits on the histories as known at cutoff (ri_history_path(h, i, cutoff)) of the deals
 * with include[i] (NULL: all) created on or before cutoff. strict: only deals whose path is
 * complete (starts at creation in an open stage, no unknown stage). Without strict, a
 * visit with no known start (a deal without a created date) adds nothing, and a visit
 * that ends without a next stage (a row closed with no stage) is censored where it ends.
 * deals counts the deals with a path, visits their open-stage visits with a known start.
 * Fails with RI_ERR_NOTFOUND when no deal has a path with a stage change (no history to
 * learn from), RI_ERR_TOOBIG for more than RI_SM_MAX_STAGES stages; out is zeroed then. */
ri_err ri_stage_model_fit(struct ri_ctx *ctx, const struct ri_history *h, ri_time cutoff,
                          const uint8_t *include, int strict, struct ri_stage_model *out /* OUT */);
/* P(win) of a deal in open stage `stage` for `days` so far; base_rate for stage < 0 or out of
 * range; 1 or 0 for a won or lost stage. */
double ri_stage_model_p_win(const struct ri_stage_model *m, int32_t stage, double days);
/* Expected days to close of such a deal, counted from the start of its dwell bucket (the
 * table's value; not reduced for the days already spent inside the bucket); base_days for
 * an unknown stage, 0 for a closed one. */
double ri_stage_model_days_left(const struct ri_stage_model *m, int32_t stage, double days);

/* Text form for the model registry ("stagemodel 1" header, numbers with %.17g: a load
 * gives back the same bits), appended to out (RI_ERR_TOOBIG if out's cap is reached); and
 * back into m (RI_ERR_PARSE on a malformed text; text need not be NUL-terminated). */
ri_err ri_stage_model_save(const struct ri_stage_model *m, struct ri_buf *out);
ri_err ri_stage_model_load(struct ri_stage_model *m /* OUT */, const char *text, size_t len);

#endif /* RI_STAGEMODEL_H */
