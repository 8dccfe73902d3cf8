/*
 * diagnose.h - why the win rate moves: the results of `revintel diagnose`.
 *
 * The deals of the store are loaded once into a frame: columns of dates, status and
 * amount, and one coded column per segment dimension (region, industry, product,
 * lead_source, type, owner, a deal-size band, and each custom attribute with few enough
 * values). Metrics are computed over the frame; the funnel, zombies and cycle survival
 * come from funnel.c over the as-of engine. The struct ri_diagnosis holds all of it; the
 * text briefing, JSON and CSV are rendered from it, and it is written to diag_* tables.
 */
#ifndef RI_DIAGNOSE_H
#define RI_DIAGNOSE_H

#include "funnel.h"
#include "strmap.h"

#define RI_DIAG_MAX_DIMS  24
#define RI_DIAG_MAX_PAIRS 3 /* drill-down pairs of the strongest dimensions */

/* One segment dimension of the frame: each deal's value as a code into values. */
struct ri_dim {
    char name[48];
    struct ri_intern values; /* code -> text */
    int32_t *code;           /* per deal; -1: no value */
    int custom;              /* from a custom attribute */
};

struct ri_frame {
    size_t n; /* all deals of the store, in the as-of engine's order */
    ri_time *created, *close;
    uint8_t *status; /* enum ri_status */
    uint8_t *deleted;
    double *amount;
    ri_time *start;   /* implementation start from a start-date attribute, or NONE */
    int32_t *account; /* code into accounts */
    struct ri_intern accounts;
    size_t n_dims;
    struct ri_dim dims[RI_DIAG_MAX_DIMS];
};

/* Win rate and friends for one period and one segment (or the whole cohort). */
struct ri_wr_cell {
    uint64_t won, lost;
    struct ri_interval rate;
    double won_amount, acv_mean, acv_median;
    double cycle_mean, cycle_median, cycle_p90; /* days, closed deals */
    uint64_t late_closed, late_won;             /* closed deals that reached a late stage */
    struct ri_interval quality;                 /* late_won / late_closed */
    double efficiency;                          /* won amount / sum of cycle days */
    int small;                                  /* fewer closed deals than min_n */
};

struct ri_period_row {
    int32_t key;        /* year * 12 + month - 1, or year * 4 + quarter - 1 */
    char label[16];     /* "2026-Q2", "2026-05" */
    ri_time start, end; /* [start, end) */
    int complete;       /* end <= as_of */
    struct ri_wr_cell cell;
    uint64_t created, created_open_now;
    double created_amount;
    struct ri_interval change_p; /* est = p-value of the change from the previous period */
};

/* One segment's part of a win-rate change between periods P0 and P1. */
struct ri_decomp_row {
    int dim;
    int32_t value;   /* code in the dimension; for a pair, a * n_b + b */
    char label[160]; /* "industry=Healthcare" or "industry=Healthcare × lead_source=..." */
    uint64_t n0, w0, n1, w1;
    double m0, m1, r0, r1; /* shares of closed deals and win rates */
    double mix, rate, interaction, total;
    double p, q;     /* two-proportion test of r1 vs r0; BH-adjusted */
    int small;       /* n0 or n1 below min_n: reported, never ranked */
    int significant; /* q < 0.05 and not small */
};

struct ri_decomp_dim {
    int dim, dim_b; /* dim_b >= 0 for a drill-down pair */
    char name[100];
    double mix, rate, interaction, total;
    size_t n_rows;
    struct ri_decomp_row *rows; /* ranked: not small first, by total ascending */
};

struct ri_rep_row {
    int32_t owner;
    char name[96];
    struct ri_wr_cell cell;
    double expected_rate; /* from the rep's segment mix, other reps' rates */
    double z, p, q;       /* observed vs expected wins; BH over reps */
    int flagged;          /* q < 0.05 and not small */
};

struct ri_concentration {
    uint64_t won_deals, customers;
    double top20_deals_share, top20_customers_share, gini_deals, gini_customers;
    double repeat_customer_rate; /* customers with 2+ won deals / customers with any */
    double cross_product_rate;   /* customers who bought 2+ products / customers */
    uint64_t lag_n;              /* won deals with an implementation start date */
    double lag_median, lag_p90;  /* start - close, days */
    struct ri_tail_fit fit;
};

enum ri_diag_report {
    RI_DIAG_WINRATE = 1 << 0,
    RI_DIAG_DECOMPOSE = 1 << 1,
    RI_DIAG_FUNNEL = 1 << 2,
    RI_DIAG_PIPELINE = 1 << 3,
    RI_DIAG_CYCLE = 1 << 4,
    RI_DIAG_CONCENTRATION = 1 << 5,
    RI_DIAG_ZOMBIES = 1 << 6,
    RI_DIAG_REPS = 1 << 7,
    RI_DIAG_ALL = 0xff
};

struct ri_diagnosis {
    unsigned reports;
    int quarterly;
    ri_time as_of, from, to;
    size_t min_n;
    char filter[256]; /* the --segment filters, as text */
    uint64_t deals, closed;
    struct ri_frame frame;
    struct ri_history *hist;
    uint8_t *include;      /* frame filter (--segment, not deleted) */
    uint8_t *reached_late; /* per deal, at as_of */
    /* winrate */
    size_t n_periods;
    struct ri_period_row *periods;
    struct ri_wr_cell total;
    size_t n_seg_tables; /* one per dimension: cells for the last complete period */
    struct ri_wr_cell *seg_cells[RI_DIAG_MAX_DIMS];     /* [dim][value] */
    struct ri_wr_cell *seg_cells_all[RI_DIAG_MAX_DIMS]; /* over the whole window */
    /* decomposition between p0 and p1 (indices into periods) */
    int p0, p1;
    size_t n_decomp;
    struct ri_decomp_dim decomp[RI_DIAG_MAX_DIMS + RI_DIAG_MAX_PAIRS];
    int headline_dim; /* index into decomp, -1 none */
    /* other reports */
    struct ri_funnel funnel;
    struct ri_zombie_report zombies;
    struct ri_cycle_report cycle;
    int cycle_dim; /* the dimension cycle.by_seg is split by */
    struct ri_concentration conc;
    size_t n_reps;
    struct ri_rep_row *reps;
    /* mix of created pipeline by segment: created deals per period and value of mix_dim */
    int mix_dim;
    uint64_t *created_by; /* [period * n_values + value] */
    char headline[1024];
    char volume_quality[512];
};

/* Period of a date: year * 4 + quarter - 1 (quarterly) or year * 12 + month - 1. */
int32_t ri_period_key(ri_time t, int quarterly);
/* [start, end) of a period and its label ("2026-Q2", "2026-05"). */
void ri_period_bounds(int32_t key, int quarterly, ri_time *start, ri_time *end, char *label,
                      size_t size);
/* Exact mix / rate / interaction split of rows (n0, w0, n1, w1 filled in): fills the
 * shares, rates and parts of each row and returns the sums. */
void ri_decompose(struct ri_decomp_row *rows, size_t n, double *mix, double *rate, double *inter);

/* ri_quantile's result (type 7) by selection, without sorting; moves x around. */
double ri_fast_quantile(double *x, size_t n, double q);

#endif /* RI_DIAGNOSE_H */
