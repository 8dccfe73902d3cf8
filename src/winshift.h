/*
 * winshift.h - has a segment's win rate changed in the deals created lately? The early
 * win rate of the deals created in the last RI_WS_RECENT_DAYS days, by segment, against
 * the same weeks a year earlier (see winshift.c).
 */
#ifndef RI_WINSHIFT_H
#define RI_WINSHIFT_H

#include "segment.h"

#define RI_WS_RECENT_DAYS 120 /* the recent cohort: deals created in the last 120 days */
#define RI_WS_MAX         4   /* segments reported at most */

/* One segment whose recent cohort wins at a different rate. */
struct ri_winshift_seg {
    struct ri_segkey key;
    double o1, e1; /* recent cohort: wins by now, expected from the older deals */
    double o0, e0; /* the same weeks a year earlier */
    double factor; /* (o1 / e1) / (o0 / e0) */
    double z;      /* of log(factor) */
};

struct ri_winshift {
    ri_time at, since; /* the date judged and the first creation date of its cohort */
    size_t tested;     /* segment cells tested (the threshold is corrected for them) */
    double z_crit;     /* |z| a segment needed */
    size_t n;
    struct ri_winshift_seg seg[RI_WS_MAX];
};

/* Finds the segments (most significant first) from the frame, the as-of state now (at
 * now->at) and the state a year earlier (at now->at - 364 days). Pure: only reads. */
void ri_winshift_fit(const struct ri_frame *f, const struct ri_asof_state *now,
                     const struct ri_asof_state *year_ago, struct ri_winshift *out /* OUT */);

/* The product of the factors of the segments deal i belongs to, if it was created in the
 * recent cohort; 1 otherwise. */
double ri_winshift_factor(const struct ri_winshift *w, const struct ri_frame *f, size_t i);

/* "region=EMEA" or "industry=Healthcare x lead_source=Outbound" into out. */
void ri_winshift_label(const struct ri_winshift *w, const struct ri_frame *f, size_t k, char *out,
                       size_t size);

#endif
