/*
 * funnel.h - where in the stages deals are lost, how long they dwell, which open deals
 * are zombies, and how long sales cycles last (survival with censoring).
 *
 * All three work on the as-of engine (struct ri_history) and a per-deal selection made
 * by the caller (diagnose.c): include[i] != 0 keeps deal i, and seg[i] is the deal's
 * value index in the segment dimension the caller chose (-1 none), so that thresholds
 * and survival can be split by segment without this module knowing the deals table.
 */
#ifndef RI_FUNNEL_H
#define RI_FUNNEL_H

#include "stats.h"

#define RI_FUNNEL_MAX_STAGES 32

/* ri_quantile's result (type 7) by selection, without sorting; moves x around (also
 * declared in diagnose.h, whose module defines it). */
double ri_fast_quantile(double *x, size_t n, double q);

struct ri_funnel_stage {
    int32_t stage; /* index in the history's stage order */
    char name[64];
    uint64_t reached;              /* cohort deals that were ever in this (open) stage */
    uint64_t advanced;             /* of those, moved on to a later open stage or won */
    struct ri_interval conversion; /* advanced / reached (Wilson) */
    uint64_t won;                  /* of those, eventually won */
    struct ri_interval win_rate;   /* won / reached */
    uint64_t exits, lost_exits;    /* deals whose last open stage it was; of those, lost */
    struct ri_interval loss_rate;  /* lost_exits / reached: lost at this stage (hazard) */
    double lost_share;             /* lost_exits / all lost deals of the cohort */
    /* days spent in this stage (all visits summed), by eventual outcome */
    uint64_t n_dwell_won, n_dwell_lost;
    double dwell_won_median, dwell_won_p90, dwell_lost_median, dwell_lost_p90;
};

struct ri_funnel {
    ri_time from, to;                       /* cohort: deals closed (won or lost) in [from, to) */
    uint64_t cohort, won, lost, no_history; /* no_history: closed deals with no stage path */
    size_t n_stages;
    struct ri_funnel_stage stages[RI_FUNNEL_MAX_STAGES];
    /* paths: deals with at least one skip / regression, and those with neither */
    uint64_t skip_n, skip_won, regress_n, regress_won, clean_n, clean_won;
    struct ri_interval skip_wr, regress_wr, clean_wr;
    /* are losses concentrated? chi-square test of homogeneity of the stages' loss rates
     * (lost there / reached); the stage with the highest one, and whether it stands out */
    double loss_chisq, loss_p;
    int32_t loss_stage;      /* index into stages[], -1 if none */
    int losses_concentrated; /* loss_p < 0.05 and that stage's rate above the rest */
};

/* Funnel of the deals closed in [from, to) among those with include[i] (NULL: all).
 * given (may be NULL): the caller's as-of state, used when it is for date `to` (each
 * function here needs one; sharing it saves a replay of every deal). */
ri_err ri_funnel_compute(struct ri_ctx *ctx, const struct ri_history *h, ri_time from, ri_time to,
                         const uint8_t *include, const struct ri_asof_state *given,
                         struct ri_funnel *out /* OUT */);

/* Zombies among the deals open at as_of: close date passed (overdue), or longer in their
 * stage than the P90 dwell of won deals in that stage and segment (stalled; the segment's
 * own P90 is used where it rests on at least 30 won deals, else the stage's). */
struct ri_zombie {
    size_t deal; /* index in the history */
    int32_t stage;
    double amount;
    double days_overdue; /* as_of - close date, 0 if not overdue */
    double days_in_stage, stage_p90;
    int overdue, stalled;
};
struct ri_zombie_report {
    ri_time as_of;
    uint64_t open, overdue, stalled, zombies; /* zombies = overdue or stalled */
    double open_amount, zombie_amount, live_amount;
    /* win rate of the deals created in the 12 months before as_of: closed only, and
     * counting the zombies among them as the losses they will become */
    struct ri_interval win_rate_closed, win_rate_with_zombies;
    double stage_p90[RI_FUNNEL_MAX_STAGES]; /* P90 dwell of won deals per stage, NAN none */
    size_t n_list;                          /* largest zombies by amount, at most 50 */
    struct ri_zombie list[50];
};
ri_err ri_zombies_compute(struct ri_ctx *ctx, const struct ri_history *h, ri_time as_of,
                          const uint8_t *include, const int32_t *seg,
                          const struct ri_asof_state *given,
                          struct ri_zombie_report *out /* OUT */);

/* Sales cycle: days from creation to close, Kaplan-Meier with deals still open at as_of
 * censored at their age, overall and per segment value (seg[i], values 0..n_seg-1), and
 * per stage as days from entering the stage to close. Medians and P90s with intervals. */
struct ri_cycle_row {
    int32_t key; /* segment value or stage index; -1 for all deals */
    uint64_t n, closed;
    struct ri_interval median, p90;
    double closed_mean, closed_median, closed_p90; /* of closed deals only, for reference */
};
struct ri_cycle_report {
    ri_time as_of;
    struct ri_cycle_row all;
    size_t n_seg, n_stage;
    struct ri_cycle_row *by_seg;   /* n_seg rows, allocated */
    struct ri_cycle_row *by_stage; /* n_stage rows, allocated */
};
ri_err ri_cycle_compute(struct ri_ctx *ctx, const struct ri_history *h, ri_time as_of,
                        const uint8_t *include, const int32_t *seg, size_t n_seg,
                        const struct ri_asof_state *given, struct ri_cycle_report *out /* OUT */);
void ri_cycle_report_release(struct ri_cycle_report *r);

/* The Kaplan-Meier median and P90 (with intervals) of times x[0..n) with event flags ev:
 * exactly ri_km_quantile(0.5 and 0.9) of ri_km_fit, in one pass without a copy when x
 * is sorted ascending (the sales-cycle rows are), through ri_km_fit otherwise. Fails as
 * ri_km_fit does. */
ri_err ri_km_sorted_quantiles(const double *x, const uint8_t *ev, size_t n,
                              struct ri_interval *median /* OUT */,
                              struct ri_interval *p90 /* OUT */);

#endif /* RI_FUNNEL_H */
