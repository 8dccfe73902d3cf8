/*
 * featurize.h - what the risk model sees of a deal: point-in-time features, the training
 * snapshots they are computed on, and the leakage guard.
 *
 * A feature of a deal at moment T uses only what was known at T: the deal replayed by the
 * as-of engine up to T (stage, days in stage, age, amount and its changes, close-date
 * pushes and days to the expected close, regressions, skips), its segments, the rep's and
 * the account's record of deals closed before T (smoothed toward the prior), the stage
 * model's P(win | stage, days in stage) and the rep-entered probability. Categorical
 * features are coded by the vocabulary saved with the model, so that scoring after a new
 * ingest codes them as training did (an unseen value is missing).
 *
 * Two modes. With stage history (most closed deals have a path through open stages), the
 * training rows are snapshots of closed deals at moments of their life: weekly from
 * creation and at each stage change, each deal weighing 1 in all. A static data set (one
 * row per closed deal, no history) gives one row per deal from its columns, custom
 * attributes included; there the leakage guard refuses columns known only after the
 * outcome (by name: close dates, durations, last-modified and stage-change dates, cycle
 * lengths; by data: a column that alone separates won from lost with AUC >= 0.90).
 */
#ifndef RI_FEATURIZE_H
#define RI_FEATURIZE_H

#include "frame.h"
#include "stagemodel.h"

#define RI_FEAT_MAX   96
#define RI_FEAT_VOCAB 50 /* a categorical feature with more values is dropped */

enum ri_feat_src {
    RI_FS_STAGE = 0,
    RI_FS_DAYS_IN_STAGE,
    RI_FS_AGE,
    RI_FS_LOG_AMOUNT,
    RI_FS_AMOUNT_RATIO,
    RI_FS_AMOUNT_CHANGES,
    RI_FS_CLOSE_PUSHES,
    RI_FS_DAYS_TO_CLOSE,
    RI_FS_CLOSE_SLIP,
    RI_FS_REGRESSIONS,
    RI_FS_SKIPS,
    RI_FS_STAGE_CHANGES,
    RI_FS_REP_RATE,
    RI_FS_REP_CLOSED,
    RI_FS_ACCOUNT_RATE,
    RI_FS_ACCOUNT_WON,
    RI_FS_P_STAGE,
    RI_FS_P_REP,
    RI_FS_DIM,      /* a frame dimension (categorical) */
    RI_FS_ATTR_NUM, /* a numeric custom attribute (static mode) */
    RI_FS_ATTR_CAT, /* a categorical custom attribute with many values (static mode) */
};

struct ri_feature {
    char name[64];
    enum ri_feat_src src;
    int categorical;
    int dim;                /* RI_FS_DIM: index in the frame; ATTR: index in the attr table */
    struct ri_intern vocab; /* categorical: training values, code = index */
};

/* Refused or dropped columns, with the reason in words. */
struct ri_guard_entry {
    char column[64];
    char reason[160];
    double auc; /* single-column AUC where measured, else NAN */
};

struct ri_featset {
    int static_mode;
    size_t p;
    struct ri_feature f[RI_FEAT_MAX];
    double prior; /* win rate of the training deals, for smoothing */
    size_t n_guard;
    struct ri_guard_entry guard[RI_FEAT_MAX];
};

/* Custom attributes of every deal, for static data sets: text per (deal, key). */
struct ri_attrs {
    size_t n_keys, n_deals;
    char (*keys)[64];
    char **val; /* [deal * n_keys + key], NULL if absent; owned */
};

/* Everything the features of a deal at a moment are computed from. Borrowed pointers. */
struct ri_featctx {
    const struct ri_history *hist;
    const struct ri_frame *frame;
    const struct ri_attrs *attrs;
    const struct ri_stage_model *sm; /* may be NULL: p_stage NAN */
    /* closed deals by rep (frame owner code) and by account, in close order */
    size_t n_owner, n_account;
    size_t *owner_start, *account_start; /* CSR offsets, n + 1 */
    ri_time *owner_t, *account_t;
    uint32_t *owner_won, *account_won; /* prefix sums of wins */
    int owner_dim;
};

struct ri_rows {
    size_t n, p, cap;
    float *X;       /* n x p */
    uint8_t *y;     /* 1 won, 0 lost; 2 unknown */
    float *w;       /* weight */
    uint32_t *deal; /* index in the history / frame */
    ri_time *at;    /* the moment */
    double *p_rep;  /* rep-entered probability in [0, 1], NAN if none */
    double *p_stage;
};

void ri_featctx_init(struct ri_featctx *fc, const struct ri_history *h, const struct ri_frame *f,
                     const struct ri_attrs *attrs, const struct ri_stage_model *sm);
void ri_featctx_release(struct ri_featctx *fc);

ri_err ri_attrs_load(struct ri_ctx *ctx, size_t n_deals, struct ri_attrs *out /* OUT */);
void ri_attrs_release(struct ri_attrs *a);

/* True when the store holds stage history worth learning from: at least 5 % of the closed
 * deals passed through an open stage before closing. */
int ri_features_have_history(const struct ri_history *h, const struct ri_frame *f);

/* Chooses the features for training on the deals with train[i] (history mode: the fixed
 * point-in-time set, the frame's categorical dimensions except owner and size band, and
 * the rep-entered probability when with_p_rep and known for most deals; static mode: the
 * frame dimensions and every custom attribute that passes the leakage guard). Builds the
 * vocabularies. */
ri_err ri_featset_choose(struct ri_ctx *ctx, const struct ri_featctx *fc, const uint8_t *train,
                         int static_mode, int with_p_rep, struct ri_featset *fs /* OUT */);
void ri_featset_release(struct ri_featset *fs);
/* Text form (names, kinds, vocabularies, prior) for the model registry, and back. */
ri_err ri_featset_save(const struct ri_featset *fs, struct ri_buf *out);
ri_err ri_featset_load(struct ri_ctx *ctx, const struct ri_frame *f, const struct ri_attrs *a,
                       const char *text, size_t len, struct ri_featset *fs /* OUT */);
/* Words for a feature's value in a reason: "close date pushed 3 times", "lead source
 * Outbound". */
void ri_feature_describe(const struct ri_featset *fs, const struct ri_history *h, size_t j,
                         float value, char *out, size_t size);

void ri_rows_init(struct ri_rows *r, size_t p);
void ri_rows_release(struct ri_rows *r);

/* Features of deal i as replayed in st (row i, at st->at or the moment at) into x[p]. */
void ri_features_row(const struct ri_featctx *fc, const struct ri_featset *fs,
                     const struct ri_asof_state *st, size_t i, ri_time at, float *x /* OUT */,
                     double *p_rep /* OUT */, double *p_stage /* OUT */);

/* Training snapshots (history mode) of the deals closed before `before` with
 * sel[i] (NULL: all), and of the deals still open then but counted lost (dead[i], may be
 * NULL: zombies whose close date passed long ago, snapshots up to `before`): weekly from
 * creation and at each stage change while open. A snapshot weighs the time it stands for
 * (until the next one or the close), so that the rows weigh as the deals open at a random
 * moment do: a deal open twice as long is met twice as often (a weight of 1 / moments per
 * deal made short lives, mostly early losses, count as much as long ones, and put early
 * stages' P(win) at about half the truth). The weights sum to the number of deals. At
 * most max_rows rows: deals are then sampled by a seeded hash. */
ri_err ri_rows_snapshots(struct ri_ctx *ctx, const struct ri_featctx *fc,
                         const struct ri_featset *fs, ri_time before, const uint8_t *sel,
                         const uint8_t *dead, size_t max_rows, uint64_t seed,
                         struct ri_rows *out /* OUT */);
/* The deals open at `at` (state replayed at `at` in st), one row each, labelled by
 * `label` (may be NULL: unknown); weight 1. */
ri_err ri_rows_open_at(struct ri_ctx *ctx, const struct ri_featctx *fc, const struct ri_featset *fs,
                       const struct ri_asof_state *st, const uint8_t *label,
                       struct ri_rows *out /* OUT */);
/* Static mode: one row per closed deal with sel[i] (NULL: all). */
ri_err ri_rows_static(struct ri_ctx *ctx, const struct ri_featctx *fc, const struct ri_featset *fs,
                      const uint8_t *sel, struct ri_rows *out /* OUT */);

#endif /* RI_FEATURIZE_H */
