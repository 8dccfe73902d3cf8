/*
 * simulate.c - a realistic simulated B2B SaaS pipeline, written as canonical CSV.
 *
 * ri_simulate writes what a CRM would export on one snapshot date (as_of): opportunities,
 * their stage history, accounts and support tickets, plus truth/outcomes.csv with what
 * really happened to every deal (simulated past as_of as far as needed) and
 * truth/planted.md describing the effects hidden in the data. Every later feature - the
 * diagnosis of a win-rate decline, the risk model, the forecast judged against truth - can
 * be shown and tested on it without private data.
 *
 * The generator is a small structural model. Deal creation volume over the three years
 * before as_of grows by a constant monthly rate and wiggles by weekday and month. Each deal
 * draws an account (new business from recently created accounts, upsells and renewals from
 * accounts that already won a deal), its segments, an amount and a true win probability
 * from a logistic model over segment effects, deal size and the rep's skill. The outcome,
 * the stage path (skips, regressions, stage-specific exits), lognormal dwell times growing
 * with size, amount changes and close-date pushes follow from that. The CRM sees only the
 * events up to as_of, entered by a rep whose probabilities are optimistic and ignore the
 * real risk factors. Planted on top, in the last two quarters: a rate change (Healthcare x
 * Outbound much worse, EMEA mildly worse), a mix shift (more Outbound leads) and, all along,
 * zombie deals that died but were never closed in the CRM.
 *
 * Invariants: the files depend only on (deals, seed, as_of) - one xoshiro256** stream for
 * the deals, counter-seeded streams for accounts, reps and tickets, no libc randomness, no
 * clock, numbers formatted by hand. Memory is bounded: deals are generated and written one
 * at a time through 1 MiB buffers; the only per-entity state is the first-win day of each
 * account (4 bytes), which upsells, renewals and tickets need. Files are written under a
 * temporary name and renamed only when all of them are complete.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ri_internal.h" /* last: its banned.h must not see the system headers */

/* ------------------------------------------------------------------ parameters */

/* Time line. Days are counted since 1970-01-01 (UTC). */
#define SIM_DEFAULT_YEAR  2026 /* as_of when none is given: 2026-06-30 */
#define SIM_DEFAULT_MONTH 6
#define SIM_DEFAULT_DAY   30
#define SIM_HISTORY_DAYS  1096 /* deals are created over the 3 years up to as_of */
#define SIM_MAX_DEALS     50000000ULL
#define SIM_PRE_SPAN_DAYS 2190 /* accounts older than the window: up to 6 years older */
/* Deal creation volume grows by this much per month (compounded). */
static const double SIM_GROWTH_PER_MONTH = 0.02;
/* Creation volume by weekday (Sunday first) and by calendar month. */
static const double SIM_WEEKDAY_VOLUME[7] = {0.10, 1.10, 1.20, 1.20, 1.10, 0.90, 0.15};
static const double SIM_MONTH_VOLUME[12] = {0.90, 1.00, 1.08, 0.98, 1.02, 1.06,
                                            0.92, 0.84, 1.04, 1.10, 1.06, 0.80};

/* The planted decline. It starts SIM_PLANT_DAYS_BEFORE days before as_of (2026-01-01 for
 * the default) and grows linearly to full strength over SIM_PLANT_RAMP_DAYS, by the day a
 * deal is created: deals created from then on convert worse and are more often Outbound.
 * Deals take weeks to close, so the last complete quarter shows most of it by close date
 * and the quarter before only a little. */
#define SIM_PLANT_DAYS_BEFORE 180
#define SIM_PLANT_RAMP_DAYS   90
/* Healthcare x Outbound converted well before (log-odds added on top of the two segments'
 * own effects), which makes its collapse the clearest rate change in the data. */
static const double SIM_HO_BASE_LOGIT = 0.8;
/* Rate change: log-odds of winning lowered by this for Healthcare x Outbound deals... */
static const double SIM_PLANT_HO_LOGIT = 3.0;
/* ...and, milder, for every deal of one region. */
#define SIM_PLANT_REGION REG_EMEA
static const double SIM_PLANT_REGION_LOGIT = 1.0;
/* Mix shift: the share of Outbound among new-business leads rises from/to. */
static const double SIM_OUTBOUND_SHARE_BEFORE = 0.22;
static const double SIM_OUTBOUND_SHARE_AFTER = 0.60;
/* The extra Outbound leads come on top: creation volume rises by this share. */
static const double SIM_PLANT_EXTRA_VOLUME = 0.15;

/* Accounts: how many per deal, the share created before the window, and the share of
 * those that were customers already (upsell and renewal targets from day one). */
static const double SIM_ACCOUNTS_PER_DEAL = 0.30;
static const double SIM_PRE_ACCOUNT_SHARE = 0.25;
static const double SIM_PRE_CUSTOMER_SHARE = 0.55;
/* New business goes to an account created in the last SIM_RECENT_DAYS with this chance. */
#define SIM_RECENT_DAYS 60
static const double SIM_RECENT_ACCOUNT_SHARE = 0.70;
/* An account keeps its owner rep for this share of its deals. */
static const double SIM_ACCOUNT_OWNER_SHARE = 0.85;

/* True win probability: logistic over these effects (per segment tables below). */
static const double SIM_LOGIT_BASE = -1.65;
static const double SIM_LOGIT_SIZE = -0.25;  /* per unit of log(amount / product median) */
static const double SIM_REP_SKILL_SD = 0.35; /* rep skill, in log-odds */
static const double SIM_DEAL_NOISE_SD = 0.30;

/* Stage paths. */
static const double SIM_P_SKIP = 0.10; /* a deal skips one stage (e.g. Prospecting -> Discovery) */
static const double SIM_P_REGRESS = 0.05; /* a deal falls back one stage once */
static const double SIM_DWELL_SIGMA = 0.75;
static const double SIM_LOST_STALL = 1.8;      /* lost deals sit longer in the stage they die in */
static const double SIM_DWELL_SIZE_EXP = 0.22; /* dwell grows as (amount / 20000)^this */
#define SIM_MAX_DWELL_DAYS 365
/* Zombies: a lost deal that dies in an early or middle stage (Prospecting..Discovery) is
 * never closed in the CRM with this chance: it stays open, its close date goes stale. */
static const double SIM_P_ZOMBIE = 0.09;
#define SIM_ZOMBIE_MAX_STAGE ST_DISCOVERY

/* Amounts: lognormal around a product median times segment factors. */
static const double SIM_AMOUNT_SIGMA = 0.55;
static const double SIM_P_AMOUNT_CHANGE1 = 0.25; /* one change during the deal */
static const double SIM_P_AMOUNT_CHANGE2 = 0.07; /* two changes */
static const double SIM_AMOUNT_CHANGE_SD = 0.22;

/* Expected close dates: the rep guesses a cycle, snaps it to a month end with this chance
 * and pushes it when it comes near (10 days before to 14 days after) while the deal lives. */
static const double SIM_P_MONTH_END = 0.55;
#define SIM_PUSH_EARLY_DAYS 10
#define SIM_PUSH_LATE_DAYS  14
#define SIM_MAX_PUSHES      24
/* Lost deals were often entered more optimistically: their first guess is shorter. */
static const double SIM_P_LOST_EARLY_GUESS = 0.30;

/* Rep-entered probability: a default per stage plus the rep's optimism plus noise. The
 * defaults sit above the textbook 10/20/40/60/80: with an overall win rate near 30 %, a
 * 10 % default at Prospecting would be pessimistic. With the optimism added, the entered
 * probability is above the true win rate from every stage (about 31/38/47/58/75 %). */
static const int SIM_STAGE_PROB[5] = {20, 30, 45, 65, 80};
static const double SIM_REP_OPTIMISM_MEAN = 10.0; /* points, lower for skilled reps */
static const double SIM_REP_OPTIMISM_SD = 5.0;

/* Support tickets of customers: a monthly rate scaled by industry and size. */
static const double SIM_TICKETS_PER_MONTH = 0.35;

/* Output buffering: each file has a buffer flushed with fwrite when it passes this. */
#define SIM_FLUSH_BYTES ((size_t)1 << 20)

/* ------------------------------------------------------------------ segments */

enum { REG_NA, REG_EMEA, REG_APAC, REG_LATAM, N_REG };
enum { IND_SOFTWARE, IND_HEALTHCARE, IND_FINSERV, IND_MANUFACTURING, IND_RETAIL, IND_EDU, N_IND };
enum { PROD_CORE, PROD_PRO, PROD_ENTERPRISE, N_PROD };
enum { SRC_INBOUND, SRC_OUTBOUND, SRC_REFERRAL, SRC_PARTNER, SRC_EVENT, N_SRC };
enum { TYPE_NEW, TYPE_UPSELL, TYPE_RENEWAL, N_TYPE };
enum {
    ST_PROSPECTING,
    ST_QUALIFICATION,
    ST_DISCOVERY,
    ST_PROPOSAL,
    ST_NEGOTIATION,
    ST_WON,
    ST_LOST,
    N_STAGE
};
#define N_OPEN_STAGES 5

static const char *const region_name[N_REG] = {"North America", "EMEA", "APAC", "LATAM"};
static const double region_weight[N_REG] = {0.42, 0.30, 0.16, 0.12};
static const double region_logit[N_REG] = {0.10, 0.0, -0.15, -0.10};
static const double region_amount[N_REG] = {1.10, 1.0, 0.90, 0.70};

static const char *const industry_name[N_IND] = {
    "Software", "Healthcare", "Financial Services", "Manufacturing", "Retail", "Education"};
static const double industry_weight[N_IND] = {0.24, 0.20, 0.17, 0.15, 0.13, 0.11};
static const double industry_logit[N_IND] = {0.15, 0.20, 0.0, -0.15, -0.25, 0.05};
static const double industry_amount[N_IND] = {1.0, 1.15, 1.30, 1.05, 0.85, 0.70};
/* Support complexity: ticket rate and resolution time multiplier. */
static const double industry_tickets[N_IND] = {0.9, 1.5, 1.4, 1.1, 1.0, 0.8};
static const double industry_revenue_per_employee[N_IND] = {250e3, 180e3, 400e3,
                                                            220e3, 150e3, 80e3};

static const char *const product_name[N_PROD] = {"Core", "Pro", "Enterprise"};
static const double product_median[N_PROD] = {9000, 28000, 110000};
static const double product_logit[N_PROD] = {0.20, 0.0, -0.30};
/* Product mix by account size: fewer than 200 employees, up to 2000, more. */
static const double product_weight[3][N_PROD] = {
    {0.65, 0.30, 0.05}, {0.35, 0.45, 0.20}, {0.15, 0.35, 0.50}};
/* The rep's guess of the sales cycle, in days. */
static const double product_cycle_guess[N_PROD] = {45, 60, 90};

static const char *const source_name[N_SRC] = {"Inbound", "Outbound", "Referral", "Partner",
                                               "Event"};
static const double source_logit[N_SRC] = {0.30, -1.00, 0.80, 0.40, 0.0};
/* New business without Outbound (scaled to fill 1 - Outbound share), and existing customers. */
static const double source_weight_new[N_SRC] = {0.34, 0.0, 0.14, 0.16, 0.14};
static const double source_weight_existing[N_SRC] = {0.50, 0.08, 0.12, 0.20, 0.10};

static const char *const type_name[N_TYPE] = {"New Business", "Upsell", "Renewal"};
static const double type_weight[N_TYPE] = {0.62, 0.22, 0.16};
static const double type_logit[N_TYPE] = {0.0, 0.90, 1.90};
static const double type_amount[N_TYPE] = {1.0, 0.45, 0.90};
static const double type_dwell[N_TYPE] = {1.0, 0.85, 0.80};

static const char *const stage_name[N_STAGE] = {"Prospecting", "Qualification", "Discovery",
                                                "Proposal",    "Negotiation",   "Closed Won",
                                                "Closed Lost"};
/* Median dwell per stage (days) for a 20,000 deal. */
static const double stage_dwell[N_OPEN_STAGES] = {8, 11, 15, 13, 11};
/* Where lost deals die: base weights, and multipliers for Outbound and Enterprise deals. */
static const double exit_weight[N_OPEN_STAGES] = {0.26, 0.22, 0.20, 0.17, 0.15};
static const double exit_outbound[N_OPEN_STAGES] = {1.5, 1.3, 1.0, 0.8, 0.7};
static const double exit_enterprise[N_OPEN_STAGES] = {0.7, 0.8, 1.0, 1.2, 1.4};

enum { LR_PRICE, LR_COMPETITOR, LR_NO_DECISION, LR_TIMING, LR_BUDGET, LR_CHAMPION, N_LR };
static const char *const loss_reason_name[N_LR] = {"Price",  "Competitor", "No decision",
                                                   "Timing", "Budget",     "Champion left"};
static const double loss_reason_weight[N_OPEN_STAGES][N_LR] = {
    {5, 10, 35, 25, 20, 5},  {5, 15, 30, 20, 25, 5}, {10, 25, 25, 15, 15, 10},
    {30, 30, 15, 5, 10, 10}, {35, 30, 10, 5, 5, 15},
};
/* Losses caused by the planted rate change go mostly to a competitor or on price. */
static const double loss_reason_planted[N_LR] = {30, 55, 5, 3, 4, 3};

/* Forty reps with a region and a manager; managers own consecutive blocks of reps. */
#define N_REPS     40
#define N_MANAGERS 6
static const char *const rep_name[N_REPS] = {
    "Avery Johnson",  "Marcus Chen",   "Priya Patel",     "Jordan Miller",   "Tyler Brooks",
    "Hannah Kim",     "Derek Walsh",   "Sofia Ramirez",   "Caleb Turner",    "Megan O'Brien",
    "Jason Park",     "Rachel Stein",  "Brandon Lee",     "Olivia Grant",    "Kevin Douglas",
    "Natalie Ross",   "Lukas Weber",   "Emma Dubois",     "Oliver Hughes",   "Sara Lindqvist",
    "Matteo Rossi",   "Anna Kowalska", "Thomas Berg",     "Chloe Martin",    "Jonas Schmidt",
    "Isabel Garcia",  "Liam Murphy",   "Eva Novak",       "Kenji Tanaka",    "Mei Lin",
    "Arjun Mehta",    "Grace Nguyen",  "Daniel Wong",     "Siti Rahman",     "Hiroshi Sato",
    "Lucas Oliveira", "Camila Torres", "Diego Fernandez", "Valentina Rojas", "Mateo Silva"};
static const int region_rep_first[N_REG] = {0, 16, 28, 35};
static const int region_rep_count[N_REG] = {16, 12, 7, 5};
static const char *const manager_name[N_MANAGERS] = {"Sarah Whitfield", "Michael Ortega",
                                                     "Claire Fontaine", "Henrik Larsen",
                                                     "Wei Zhang",       "Ana Costa"};
static const int rep_manager_first[N_MANAGERS + 1] = {0, 8, 16, 22, 28, 35, N_REPS};

/* Account names: a made-up stem, a word of the industry, a legal form of the region. */
static const char *const industry_word[N_IND][3] = {
    {"Software", "Systems", "Labs"},  {"Health", "Medical", "Care"},
    {"Capital", "Financial", "Bank"}, {"Industries", "Manufacturing", "Works"},
    {"Retail", "Stores", "Brands"},   {"Learning", "Academy", "Education"}};
static const char *const legal_form[N_REG][3] = {{", Inc.", " Corp", " LLC"},
                                                 {" Ltd", " GmbH", " SA"},
                                                 {" Pty Ltd", " Pte Ltd", " KK"},
                                                 {" SA", " Ltda", " SA de CV"}};

static const char *const priority_name[4] = {"Low", "Medium", "High", "Urgent"};
static const double priority_weight[4] = {35, 40, 20, 5};
static const double priority_days[4] = {4.0, 2.5, 1.2, 0.5}; /* median resolution */
static const char *const team_name[5] = {"Support", "Onboarding", "Engineering", "Billing",
                                         "Security"};
static const double team_weight[5] = {60, 0, 18, 14, 8};

/* ------------------------------------------------------------------ random numbers */

/* xoshiro256** seeded through splitmix64 (Blackman and Vigna), and Box-Muller normals. */
struct rng {
    uint64_t s[4];
    double spare;
    int has_spare;
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

/* A stream of its own for entity i of a kind (salt), so that accounts, reps and tickets
 * do not depend on the order in which deals are generated. */
static void rng_stream(struct rng *r, uint64_t seed, uint64_t salt, uint64_t i)
{
    uint64_t x = seed;
    uint64_t h = splitmix64(&x);
    x = h ^ salt;
    h = splitmix64(&x);
    x = h ^ i;
    rng_seed(r, splitmix64(&x));
}

static uint64_t rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unif(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n); n > 0 and far below 2^53. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
    uint64_t v = (uint64_t)(rng_unif(r) * (double)n);
    return v < n ? v : n - 1;
}

/* Uniform integer in [lo, hi]. */
static int rng_range(struct rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (uint64_t)((int64_t)hi - lo + 1));
}

#define SIM_TWO_PI 6.283185307179586476925

static double rng_normal(struct rng *r)
{
    double u1, u2, rad;
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    u1 = 1.0 - rng_unif(r); /* (0, 1]: log is finite */
    u2 = rng_unif(r);
    rad = sqrt(-2.0 * log(u1));
    r->spare = rad * sin(SIM_TWO_PI * u2);
    r->has_spare = 1;
    return rad * cos(SIM_TWO_PI * u2);
}

static double rng_lognormal(struct rng *r, double median, double sigma)
{
    return median * exp(sigma * rng_normal(r));
}

/* Index drawn with probability proportional to w[i] (the weights need not sum to 1). */
static int rng_pick(struct rng *r, const double *w, int n)
{
    double total = 0, x;
    for (int i = 0; i < n; i++)
        total += w[i];
    x = rng_unif(r) * total;
    for (int i = 0; i < n - 1; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* ------------------------------------------------------------------ dates */

/* Day 0 (1970-01-01) was a Thursday; 0 is Sunday. */
static int weekday(int day)
{
    return ((day % 7) + 7 + 4) % 7;
}

/* Moves a Saturday or a Sunday to the next Monday: deals move on working days. */
static int next_workday(int day)
{
    int wd = weekday(day);
    return wd == 6 ? day + 2 : wd == 0 ? day + 1 : day;
}

static int month_end(int day)
{
    int64_t y;
    unsigned m, d;
    ri_civil_from_days(day, &y, &m, &d);
    if (m == 12)
        return (int)ri_days_from_civil(y + 1, 1, 1) - 1;
    return (int)ri_days_from_civil(y, m + 1, 1) - 1;
}

static int quarter_of(int day)
{
    int64_t y;
    unsigned m, d;
    ri_civil_from_days(day, &y, &m, &d);
    return (int)(y * 4 + (m - 1) / 3);
}

/* ------------------------------------------------------------------ rows and files */

/* One CSV row being formatted. Every field is bounded (names are ours), so a row that
 * does not fit is a bug, not an input error. */
struct row {
    size_t n;
    char s[1024];
};

static void row_put(struct row *w, const char *s, size_t n)
{
    if (n > sizeof(w->s) - w->n)
        RI_BUG("simulated row longer than %zu bytes", sizeof(w->s));
    memcpy(w->s + w->n, s, n);
    w->n += n;
}

static void row_c(struct row *w, char c)
{
    row_put(w, &c, 1);
}

static void row_str(struct row *w, const char *s)
{
    row_put(w, s, strlen(s));
}

/* A field, quoted as RFC 4180 wants when it holds a comma, a quote or a line break. */
static void row_field(struct row *w, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        row_str(w, s);
        return;
    }
    row_c(w, '"');
    for (; *s; s++) {
        if (*s == '"')
            row_c(w, '"');
        row_c(w, *s);
    }
    row_c(w, '"');
}

static void row_u64(struct row *w, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width && n < (int)sizeof(tmp))
        tmp[n++] = '0';
    while (n > 0)
        row_c(w, tmp[--n]);
}

static void row_cents(struct row *w, int64_t cents)
{
    uint64_t c;
    if (cents < 0) {
        row_c(w, '-');
        c = (uint64_t)-cents;
    } else {
        c = (uint64_t)cents;
    }
    row_u64(w, c / 100, 1);
    row_c(w, '.');
    row_u64(w, c % 100, 2);
}

/* Dates as YYYY-MM-DD, from a table built once for the days the files can hold. */
struct datetab {
    int first;
    int n;
    char (*s)[10];
};

static void date_text(int day, char out[10])
{
    int64_t y;
    unsigned m, d;
    char tmp[16];
    ri_civil_from_days(day, &y, &m, &d);
    snprintf(tmp, sizeof(tmp), "%04d-%02u-%02u", (int)y, m, d);
    memcpy(out, tmp, 10);
}

static void row_date(struct row *w, const struct datetab *t, int day)
{
    char tmp[10];
    if (day >= t->first && day - t->first < t->n) {
        row_put(w, t->s[day - t->first], 10);
        return;
    }
    date_text(day, tmp);
    row_put(w, tmp, 10);
}

/* An output file: written to "<path>.tmp" and renamed when everything succeeded. */
struct out {
    FILE *f;
    char *path;
    char *tmp;
    struct ri_buf b;
};

static char *path_join(const char *dir, const char *name)
{
    struct ri_buf b = RI_BUF_INIT;
    size_t n = strlen(dir);
    if (ri_buf_adds(&b, dir) || (n && dir[n - 1] != '/' && ri_buf_addc(&b, '/')) ||
        ri_buf_adds(&b, name))
        RI_BUG("path too long");
    return ri_buf_detach(&b, NULL);
}

static ri_err out_open(struct ri_ctx *ctx, struct out *o, const char *dir, const char *name)
{
    o->path = path_join(dir, name);
    o->tmp = ri_malloc(strlen(o->path) + 5);
    memcpy(o->tmp, o->path, strlen(o->path));
    memcpy(o->tmp + strlen(o->path), ".tmp", 5);
    ri_buf_init(&o->b, 2 * SIM_FLUSH_BYTES);
    o->f = fopen(o->tmp, "wb");
    if (!o->f)
        return ri_fail(ctx, RI_ERR_IO, "cannot write '%s': %s", o->path, strerror(errno));
    setvbuf(o->f, NULL, _IONBF, 0); /* our buffer is the only one */
    return RI_OK;
}

static ri_err out_flush(struct ri_ctx *ctx, struct out *o)
{
    if (o->b.len && fwrite(o->b.buf, 1, o->b.len, o->f) != o->b.len)
        return ri_fail(ctx, RI_ERR_IO, "cannot write '%s': %s", o->path, strerror(errno));
    ri_buf_reset(&o->b);
    return RI_OK;
}

static ri_err out_add(struct ri_ctx *ctx, struct out *o, const char *s, size_t n)
{
    if (ri_buf_addn(&o->b, s, n))
        return ri_fail(ctx, RI_ERR_NOMEM, "cannot buffer '%s'", o->path);
    if (o->b.len >= SIM_FLUSH_BYTES)
        return out_flush(ctx, o);
    return RI_OK;
}

static ri_err out_row(struct ri_ctx *ctx, struct out *o, struct row *w)
{
    row_c(w, '\n');
    return out_add(ctx, o, w->s, w->n);
}

static ri_err out_close(struct ri_ctx *ctx, struct out *o)
{
    ri_err rc = out_flush(ctx, o);
    int err;
    if (rc)
        return rc;
    err = fclose(o->f);
    o->f = NULL;
    if (err)
        return ri_fail(ctx, RI_ERR_IO, "cannot write '%s': %s", o->path, strerror(errno));
    return RI_OK;
}

static ri_err out_commit(struct ri_ctx *ctx, struct out *o)
{
    if (rename(o->tmp, o->path))
        return ri_fail(ctx, RI_ERR_IO, "cannot write '%s': %s", o->path, strerror(errno));
    return RI_OK;
}

/* Releases o; a file not committed is removed. Accepts a zeroed struct. */
static void out_release(struct out *o)
{
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
    }
    if (o->tmp)
        unlink(o->tmp); /* fails harmlessly once renamed */
    ri_buf_release(&o->b);
    ri_free(o->path);
    ri_free(o->tmp);
    o->path = o->tmp = NULL;
}

/* mkdir -p: creates dir and its missing parents. */
static ri_err make_dir(struct ri_ctx *ctx, const char *dir)
{
    char *p = ri_strdup(dir);
    struct stat st;
    ri_err rc = RI_OK;
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        p[i] = '\0';
        if (mkdir(p, 0777) && errno != EEXIST) {
            rc = ri_fail(ctx, RI_ERR_IO, "cannot write '%s': %s", p, strerror(errno));
            goto out;
        }
        if (i < n)
            p[i] = '/';
    }
    if (stat(dir, &st)) {
        rc = ri_fail(ctx, RI_ERR_IO, "cannot write '%s': %s", dir, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode))
        rc = ri_fail(ctx, RI_ERR_IO, "cannot write '%s': %s", dir, strerror(ENOTDIR));
out:
    ri_free(p);
    return rc;
}

/* ------------------------------------------------------------------ the model */

#define SIM_MAX_QUARTERS 16
#define SIM_MAX_EVENTS   64
#define SIM_NEVER        INT32_MAX

struct rep {
    int region, manager;
    double skill; /* log-odds */
    int optimism; /* probability points added to the stage default */
};

/* Counts per calendar quarter of the window, for planted.md. */
struct qstats {
    uint64_t closed, won, ho_closed, ho_won, reg_closed, reg_won, created, outbound;
};

struct sim {
    struct ri_ctx *ctx;
    uint64_t seed, n_deals, n_acc, n_pre;
    int as_of, ws, plant_start; /* days */
    uint64_t *deal_end;         /* [SIM_HISTORY_DAYS]: deals created up to day index d */
    uint64_t *acc_end;          /* accounts created up to day index d (pre-window included) */
    int32_t *first_won;         /* per account: first day it won a deal, SIM_NEVER */
    struct rep reps[N_REPS];
    struct datetab dates;
    int q0, nq; /* first quarter of the window, number of quarters */
    struct qstats q[SIM_MAX_QUARTERS];
    struct ri_sim_report rep;
};

struct account {
    int region, industry, rep, created;
    int32_t first_won; /* a win before the window (pre-window customers) or SIM_NEVER */
    uint64_t employees;
    int64_t revenue_cents;
    char name[80];
};

static double ramp(const struct sim *s, int day)
{
    double x = (double)(day - s->plant_start) / SIM_PLANT_RAMP_DAYS;
    return x <= 0 ? 0 : x >= 1 ? 1 : x;
}

/* Name stem: the account index written in base 70 with two-letter syllables, after a
 * bijective shuffle within its length class, so names are unique and look unrelated. */
static void account_stem(const struct sim *s, uint64_t i, char *out, size_t size)
{
    static const char cons[] = "bdfgklmnprstvz";
    static const char vow[] = "aeiou";
    static const char tail[] = "nrslxm";
    uint64_t cls = 70ULL * 70 * 70, off = 0, p;
    int len = 3, n = 0;
    while (i - off >= cls) {
        off += cls;
        cls *= 70;
        len++;
    }
    p = ((i - off) * 7919 + s->seed % cls) % cls; /* 7919 is prime, coprime with 70 */
    for (int k = 0; k < len && n + 3 < (int)size; k++) {
        unsigned syl = (unsigned)(p % 70);
        p /= 70;
        out[n++] = cons[syl / 5];
        out[n++] = vow[syl % 5];
    }
    out[n++] = tail[(i - off) % 6];
    out[n] = '\0';
    out[0] = (char)(out[0] - 'a' + 'A');
}

/* Account i, as a pure function of (seed, i): no table of accounts is kept. */
static void account_get(const struct sim *s, uint64_t i, struct account *a)
{
    struct rng r;
    double emp;
    int word, legal;
    rng_stream(&r, s->seed, 0xACC0u, i);
    a->region = rng_pick(&r, region_weight, N_REG);
    a->industry = rng_pick(&r, industry_weight, N_IND);
    a->rep =
        region_rep_first[a->region] + (int)rng_below(&r, (uint64_t)region_rep_count[a->region]);
    emp = rng_lognormal(&r, 400, 1.3);
    emp = emp < 5 ? 5 : emp > 250000 ? 250000 : emp;
    a->employees = (uint64_t)llround(emp);
    a->revenue_cents = 100000 * (int64_t)llround((double)a->employees *
                                                 industry_revenue_per_employee[a->industry] *
                                                 rng_lognormal(&r, 1.0, 0.35) / 1000.0);
    word = (int)rng_below(&r, 3);
    legal = (int)rng_below(&r, 3);
    a->first_won = SIM_NEVER;
    if (i < s->n_pre) {
        uint64_t back = (s->n_pre - i) * SIM_PRE_SPAN_DAYS / s->n_pre;
        a->created = s->ws - 1 - (int)back;
        if (rng_unif(&r) < SIM_PRE_CUSTOMER_SHARE) {
            int fw = a->created + 30 + rng_range(&r, 0, 334);
            a->first_won = fw < s->ws - 1 ? fw : s->ws - 1;
        }
    } else {
        /* the first day whose running total of accounts passes i */
        size_t lo = 0, hi = SIM_HISTORY_DAYS - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (s->acc_end[mid] > i)
                hi = mid;
            else
                lo = mid + 1;
        }
        a->created = s->ws + (int)lo;
    }
    {
        char stem[24];
        account_stem(s, i, stem, sizeof(stem));
        snprintf(a->name, sizeof(a->name), "%s %s%s", stem, industry_word[a->industry][word],
                 legal_form[a->region][legal]);
    }
}

/* What happens to a deal, from creation to its real end (possibly after as_of). */
enum { EV_CREATE, EV_STAGE, EV_AMOUNT, EV_PUSH, EV_END };

struct event {
    int day;
    int close;     /* EV_CREATE, EV_PUSH: expected close date */
    int64_t cents; /* EV_CREATE, EV_AMOUNT: amount */
    uint8_t kind;
    uint8_t stage; /* EV_CREATE, EV_STAGE, EV_END */
    uint8_t prob;  /* EV_CREATE, EV_STAGE: rep-entered probability of the stage */
};

struct deal {
    uint64_t idx, account;
    struct account acc;
    int created, type, owner, product, source;
    int won, planted, zombie, end, exit_stage, loss_reason;
    int64_t final_cents;
    int n_ev;
    struct event ev[SIM_MAX_EVENTS];
};

static int64_t round_amount(double x)
{
    double step = x >= 10000 ? 100 : x >= 1000 ? 10 : 1;
    double v = floor(x / step + 0.5) * step;
    return (int64_t)(v < 100 ? 100 : v) * 100;
}

static void add_event(struct deal *d, const struct event *e)
{
    if (d->n_ev >= SIM_MAX_EVENTS)
        RI_BUG("deal with more than %d events", SIM_MAX_EVENTS);
    d->ev[d->n_ev++] = *e;
}

static int clamp_prob(int p)
{
    return p < 5 ? 5 : p > 95 ? 95 : p;
}

/* The rep's probability when a deal enters stage st. */
static uint8_t stage_prob(struct rng *r, const struct rep *rep, int st)
{
    int p = SIM_STAGE_PROB[st] + rep->optimism;
    if (rng_unif(r) < 0.3)
        p += 5 * rng_range(r, -2, 2);
    return (uint8_t)clamp_prob(p);
}

/* Chooses the deal's account; may turn an upsell or renewal into new business when no
 * account that already won a deal is found. */
static void choose_account(struct sim *s, struct rng *r, struct deal *d, int day_idx)
{
    uint64_t avail = s->acc_end[day_idx];
    if (d->type != TYPE_NEW) {
        for (int tries = 0; tries < 12; tries++) {
            uint64_t i = rng_below(r, avail);
            if (s->first_won[i] <= d->created - 30) {
                d->account = i;
                return;
            }
        }
        d->type = TYPE_NEW;
    }
    {
        uint64_t lo = day_idx >= SIM_RECENT_DAYS ? s->acc_end[day_idx - SIM_RECENT_DAYS] : s->n_pre;
        if (avail > lo && rng_unif(r) < SIM_RECENT_ACCOUNT_SHARE)
            d->account = lo + rng_below(r, avail - lo);
        else
            d->account = rng_below(r, avail);
    }
}

/* Draws deal number idx, created on day index day_idx, with its whole time line. */
static void deal_generate(struct sim *s, struct rng *r, uint64_t idx, int day_idx, struct deal *d)
{
    const struct rep *rep;
    double w[N_SRC], amount, logit, u, sizef, dwellf;
    int seq[16], nseq = 0, visit[17], band, ho, guess_cycle, c;
    uint8_t prob[16] = {0};
    struct event e;

    memset(d, 0, offsetof(struct deal, ev));
    d->idx = idx;
    d->created = s->ws + day_idx;
    d->type = rng_pick(r, type_weight, N_TYPE);
    choose_account(s, r, d, day_idx);
    account_get(s, d->account, &d->acc);
    d->owner = rng_unif(r) < SIM_ACCOUNT_OWNER_SHARE
                   ? d->acc.rep
                   : region_rep_first[d->acc.region] +
                         (int)rng_below(r, (uint64_t)region_rep_count[d->acc.region]);
    rep = &s->reps[d->owner];
    band = d->acc.employees < 200 ? 0 : d->acc.employees <= 2000 ? 1 : 2;
    d->product = rng_pick(r, product_weight[band], N_PROD);
    if (d->type == TYPE_NEW) {
        double ob = SIM_OUTBOUND_SHARE_BEFORE +
                    (SIM_OUTBOUND_SHARE_AFTER - SIM_OUTBOUND_SHARE_BEFORE) * ramp(s, d->created);
        for (int i = 0; i < N_SRC; i++)
            w[i] = source_weight_new[i] * (1 - ob) / (1 - SIM_OUTBOUND_SHARE_BEFORE);
        w[SRC_OUTBOUND] = ob;
        d->source = rng_pick(r, w, N_SRC);
    } else {
        d->source = rng_pick(r, source_weight_existing, N_SRC);
    }

    amount = product_median[d->product] * industry_amount[d->acc.industry] *
             region_amount[d->acc.region] * type_amount[d->type] *
             pow((double)d->acc.employees / 400.0, 0.1) * exp(SIM_AMOUNT_SIGMA * rng_normal(r));
    logit = SIM_LOGIT_BASE + type_logit[d->type] + source_logit[d->source] +
            industry_logit[d->acc.industry] + region_logit[d->acc.region] +
            product_logit[d->product] + rep->skill +
            SIM_LOGIT_SIZE * log(amount / product_median[d->product]) +
            SIM_DEAL_NOISE_SD * rng_normal(r);
    ho = d->acc.industry == IND_HEALTHCARE && d->source == SRC_OUTBOUND;
    if (ho)
        logit += SIM_HO_BASE_LOGIT;
    u = rng_unif(r);
    d->won = u < logistic(logit);

    /* stage path: where the deal ends, then skips and regressions along the way */
    if (d->won) {
        d->exit_stage = ST_NEGOTIATION;
    } else {
        double ew[N_OPEN_STAGES];
        for (int i = 0; i < N_OPEN_STAGES; i++) {
            ew[i] = exit_weight[i];
            if (d->source == SRC_OUTBOUND)
                ew[i] *= exit_outbound[i];
            if (d->product == PROD_ENTERPRISE)
                ew[i] *= exit_enterprise[i];
        }
        d->exit_stage = rng_pick(r, ew, N_OPEN_STAGES);
    }
    for (int st = 0; st <= d->exit_stage; st++)
        seq[nseq++] = st;
    if (nseq >= 3 && rng_unif(r) < SIM_P_SKIP) {
        int j = 1 + (int)rng_below(r, (uint64_t)(nseq - 2)); /* never the first or last */
        memmove(seq + j, seq + j + 1, (size_t)(nseq - j - 1) * sizeof(*seq));
        nseq--;
    }
    if (nseq >= 2 && rng_unif(r) < SIM_P_REGRESS) {
        int j = 1 + (int)rng_below(r, (uint64_t)(nseq - 1)); /* a visit of stage >= 1 */
        int st = seq[j];
        memmove(seq + j + 3, seq + j + 1, (size_t)(nseq - j - 1) * sizeof(*seq));
        seq[j + 1] = st - 1;
        seq[j + 2] = st;
        nseq += 2;
    }

    /* dwell times: lognormal, longer for big deals, longest where lost deals stall */
    sizef = pow(amount / 20000.0, SIM_DWELL_SIZE_EXP);
    sizef = sizef < 0.6 ? 0.6 : sizef > 2.5 ? 2.5 : sizef;
    dwellf = sizef * type_dwell[d->type];
    visit[0] = d->created;
    for (int j = 0; j < nseq; j++) {
        double m = stage_dwell[seq[j]] * dwellf;
        double days;
        if (!d->won && j == nseq - 1)
            m *= SIM_LOST_STALL;
        days = rng_lognormal(r, m, SIM_DWELL_SIGMA);
        days = days < 1 ? 1 : days > SIM_MAX_DWELL_DAYS ? SIM_MAX_DWELL_DAYS : days;
        visit[j + 1] = next_workday(visit[j] + (int)lround(days));
        prob[j] = stage_prob(r, rep, seq[j]);
    }
    d->end = visit[nseq];

    /* planted rate change: coupled to the same draw u, so it only turns wins into losses */
    if (d->won) {
        double pen = (ho ? SIM_PLANT_HO_LOGIT : 0) +
                     (d->acc.region == SIM_PLANT_REGION ? SIM_PLANT_REGION_LOGIT : 0);
        pen *= ramp(s, d->created);
        if (pen > 0 && u >= logistic(logit - pen)) {
            d->won = 0;
            d->planted = 1;
        }
    }
    if (!d->won) {
        d->loss_reason = d->planted ? rng_pick(r, loss_reason_planted, N_LR)
                                    : rng_pick(r, loss_reason_weight[seq[nseq - 1]], N_LR);
        d->zombie =
            !d->planted && seq[nseq - 1] <= SIM_ZOMBIE_MAX_STAGE && rng_unif(r) < SIM_P_ZOMBIE;
    }

    /* creation and stage moves */
    guess_cycle = (int)lround(rng_lognormal(r, product_cycle_guess[d->product], 0.3) *
                              (1.0 - rep->optimism / 150.0));
    if (!d->won && rng_unif(r) < SIM_P_LOST_EARLY_GUESS)
        guess_cycle = guess_cycle * 7 / 10;
    c = d->created + (guess_cycle < 14 ? 14 : guess_cycle);
    if (rng_unif(r) < SIM_P_MONTH_END)
        c = month_end(c);
    memset(&e, 0, sizeof(e));
    e.kind = EV_CREATE;
    e.day = d->created;
    e.stage = (uint8_t)seq[0];
    e.prob = prob[0];
    e.close = c;
    e.cents = round_amount(amount);
    add_event(d, &e);
    for (int j = 1; j < nseq; j++) {
        e.kind = EV_STAGE;
        e.day = visit[j];
        e.stage = (uint8_t)seq[j];
        e.prob = prob[j];
        add_event(d, &e);
    }

    /* amount changes, strictly inside the deal's life */
    d->final_cents = round_amount(amount);
    if (d->end - d->created >= 3) {
        double x = rng_unif(r);
        int n = x < SIM_P_AMOUNT_CHANGE2                          ? 2
                : x < SIM_P_AMOUNT_CHANGE1 + SIM_P_AMOUNT_CHANGE2 ? 1
                                                                  : 0;
        int days[2];
        for (int k = 0; k < n; k++)
            days[k] = rng_range(r, d->created + 1, d->end - 1);
        if (n == 2 && days[1] < days[0]) {
            int tmp = days[0];
            days[0] = days[1];
            days[1] = tmp;
        }
        for (int k = 0; k < n; k++) {
            amount *= exp(-0.03 + SIM_AMOUNT_CHANGE_SD * rng_normal(r));
            e.kind = EV_AMOUNT;
            e.day = days[k];
            e.cents = round_amount(amount);
            d->final_cents = e.cents;
            add_event(d, &e);
        }
    }

    /* close-date pushes while the deal lives past its expected close date */
    for (int k = 0; k < SIM_MAX_PUSHES; k++) {
        int tp = c + rng_range(r, -SIM_PUSH_EARLY_DAYS, SIM_PUSH_LATE_DAYS);
        double g = rng_unif(r);
        if (tp <= d->created)
            tp = d->created + 1;
        if (tp >= d->end)
            break;
        c = (c > tp ? c : tp) + 30 * (g < 0.6 ? 1 : g < 0.9 ? 2 : 3) + rng_range(r, -5, 5);
        if (rng_unif(r) < SIM_P_MONTH_END)
            c = month_end(c);
        e.kind = EV_PUSH;
        e.day = tp;
        e.close = c;
        add_event(d, &e);
    }

    e.kind = EV_END;
    e.day = d->end;
    e.stage = d->won ? ST_WON : ST_LOST;
    add_event(d, &e);

    /* time order; ties keep the order of insertion (stage moves before amounts and pushes) */
    for (int i = 1; i < d->n_ev; i++) {
        struct event x = d->ev[i];
        int j = i - 1;
        while (j >= 0 && d->ev[j].day > x.day) {
            d->ev[j + 1] = d->ev[j];
            j--;
        }
        d->ev[j + 1] = x;
    }
}

static const char *forecast_category(int stage, int prob)
{
    if (stage == ST_WON)
        return "Closed";
    if (stage == ST_LOST)
        return "Omitted";
    return prob >= 70 ? "Commit" : prob >= 40 ? "Best Case" : "Pipeline";
}

static void row_deal_id(struct row *w, uint64_t idx)
{
    row_str(w, "OPP-");
    row_u64(w, idx + 1, 7);
}

/* Replays a deal's events up to as_of into history rows, then writes its CRM row and its
 * truth row. */
static ri_err deal_write(struct sim *s, const struct deal *d, struct out *opp, struct out *hist,
                         struct out *truth)
{
    struct ri_ctx *ctx = s->ctx;
    struct row w;
    int stage = ST_PROSPECTING, prob = 0, close = d->created, status;
    int64_t cents = 0;
    ri_err rc;
    char name[128];

    for (int i = 0; i < d->n_ev; i++) {
        const struct event *e = &d->ev[i];
        if (e->day > s->as_of || (e->kind == EV_END && d->zombie))
            break;
        switch (e->kind) {
        case EV_CREATE:
            cents = e->cents;
            close = e->close;
            stage = e->stage;
            prob = e->prob;
            break;
        case EV_STAGE:
            stage = e->stage;
            prob = e->prob;
            break;
        case EV_AMOUNT:
            cents = e->cents;
            break;
        case EV_PUSH:
            close = e->close;
            break;
        default:
            stage = e->stage;
            prob = stage == ST_WON ? 100 : 0;
            close = e->day;
            break;
        }
        w.n = 0;
        row_deal_id(&w, d->idx);
        row_c(&w, ',');
        row_str(&w, stage_name[stage]);
        row_c(&w, ',');
        row_date(&w, &s->dates, e->day);
        row_c(&w, ',');
        row_cents(&w, cents);
        row_c(&w, ',');
        row_date(&w, &s->dates, close);
        row_c(&w, ',');
        row_u64(&w, (uint64_t)prob, 1);
        row_c(&w, ',');
        row_str(&w, forecast_category(stage, prob));
        rc = out_row(ctx, hist, &w);
        if (rc)
            return rc;
        s->rep.history_rows++;
    }
    status = stage == ST_WON ? 1 : stage == ST_LOST ? 2 : 0;

    /* the CRM row */
    snprintf(name, sizeof(name), "%s - %s%s", d->acc.name, product_name[d->product],
             d->type == TYPE_UPSELL    ? " Upsell"
             : d->type == TYPE_RENEWAL ? " Renewal"
                                       : "");
    w.n = 0;
    row_deal_id(&w, d->idx);
    row_c(&w, ',');
    row_field(&w, name);
    row_c(&w, ',');
    row_field(&w, d->acc.name);
    row_c(&w, ',');
    row_field(&w, rep_name[d->owner]);
    row_c(&w, ',');
    row_field(&w, manager_name[s->reps[d->owner].manager]);
    row_c(&w, ',');
    row_str(&w, region_name[d->acc.region]);
    row_c(&w, ',');
    row_str(&w, industry_name[d->acc.industry]);
    row_c(&w, ',');
    row_str(&w, product_name[d->product]);
    row_c(&w, ',');
    row_str(&w, source_name[d->source]);
    row_c(&w, ',');
    row_str(&w, type_name[d->type]);
    row_c(&w, ',');
    row_date(&w, &s->dates, d->created);
    row_c(&w, ',');
    row_str(&w, stage_name[stage]);
    row_c(&w, ',');
    row_str(&w, status == 1 ? "won" : status == 2 ? "lost" : "open");
    row_c(&w, ',');
    row_cents(&w, cents);
    row_c(&w, ',');
    row_date(&w, &s->dates, close);
    row_c(&w, ',');
    row_u64(&w, (uint64_t)prob, 1);
    row_c(&w, ',');
    row_str(&w, forecast_category(stage, prob));
    row_c(&w, ',');
    if (status == 2)
        row_str(&w, loss_reason_name[d->loss_reason]);
    rc = out_row(ctx, opp, &w);
    if (rc)
        return rc;

    /* the truth row */
    w.n = 0;
    row_deal_id(&w, d->idx);
    row_str(&w, d->won ? ",won," : ",lost,");
    row_date(&w, &s->dates, d->end);
    row_c(&w, ',');
    row_cents(&w, d->final_cents);
    rc = out_row(ctx, truth, &w);
    if (rc)
        return rc;

    /* counts */
    s->rep.deals++;
    if (status == 0) {
        s->rep.open++;
        if (d->zombie && d->end <= s->as_of)
            s->rep.zombies++;
    } else if (status == 1) {
        s->rep.won++;
    } else {
        s->rep.lost++;
    }
    {
        struct qstats *q = &s->q[quarter_of(d->created) - s->q0];
        int ho = d->acc.industry == IND_HEALTHCARE && d->source == SRC_OUTBOUND;
        q->created++;
        q->outbound += d->source == SRC_OUTBOUND;
        if (status) {
            q = &s->q[quarter_of(close) - s->q0];
            q->closed++;
            q->won += status == 1;
            q->ho_closed += (uint64_t)ho;
            q->ho_won += (uint64_t)(ho && status == 1);
            q->reg_closed += d->acc.region == SIM_PLANT_REGION;
            q->reg_won += (uint64_t)(d->acc.region == SIM_PLANT_REGION && status == 1);
        }
    }
    return RI_OK;
}

/* ------------------------------------------------------------------ the passes */

static void sim_setup(struct sim *s)
{
    double total = 0, cum = 0, wsum[SIM_HISTORY_DAYS];
    uint64_t n_in = s->n_acc - s->n_pre;

    for (int d = 0; d < SIM_HISTORY_DAYS; d++) {
        int64_t y;
        unsigned m, dd;
        int day = s->ws + d;
        ri_civil_from_days(day, &y, &m, &dd);
        wsum[d] = exp(log1p(SIM_GROWTH_PER_MONTH) * d / 30.44) * SIM_WEEKDAY_VOLUME[weekday(day)] *
                  SIM_MONTH_VOLUME[m - 1] * (1 + SIM_PLANT_EXTRA_VOLUME * ramp(s, day));
        total += wsum[d];
    }
    for (int d = 0; d < SIM_HISTORY_DAYS; d++) {
        cum += wsum[d];
        s->deal_end[d] = (uint64_t)llround((double)s->n_deals * cum / total);
        s->acc_end[d] = s->n_pre + (uint64_t)llround((double)n_in * cum / total);
    }
    s->deal_end[SIM_HISTORY_DAYS - 1] = s->n_deals;
    s->acc_end[SIM_HISTORY_DAYS - 1] = s->n_acc;

    for (int i = 0; i < N_REPS; i++) {
        struct rng r;
        struct rep *p = &s->reps[i];
        double opt;
        rng_stream(&r, s->seed, 0x4E50u, (uint64_t)i);
        p->skill = SIM_REP_SKILL_SD * rng_normal(&r);
        opt = SIM_REP_OPTIMISM_MEAN - 12.0 * p->skill + SIM_REP_OPTIMISM_SD * rng_normal(&r);
        p->optimism = (int)lround(opt < -5 ? -5 : opt > 30 ? 30 : opt);
        for (int r0 = 0; r0 < N_REG; r0++)
            if (i >= region_rep_first[r0])
                p->region = r0;
        for (int m = 0; m < N_MANAGERS; m++)
            if (i >= rep_manager_first[m] && i < rep_manager_first[m + 1])
                p->manager = m;
    }

    s->dates.first = s->ws - SIM_PRE_SPAN_DAYS - 400;
    s->dates.n = s->as_of + 3 * 365 - s->dates.first;
    s->dates.s = ri_malloc((size_t)s->dates.n * sizeof(*s->dates.s));
    for (int i = 0; i < s->dates.n; i++)
        date_text(s->dates.first + i, s->dates.s[i]);

    s->q0 = quarter_of(s->ws);
    s->nq = quarter_of(s->as_of) - s->q0 + 1;
}

static ri_err write_accounts(struct sim *s, struct out *o)
{
    static const char header[] = "account,industry,region,employees,annual_revenue,created_date\n";
    struct account a;
    struct row w;
    ri_err rc = out_add(s->ctx, o, header, sizeof(header) - 1);
    for (uint64_t i = 0; !rc && i < s->n_acc; i++) {
        account_get(s, i, &a);
        s->first_won[i] = a.first_won;
        w.n = 0;
        row_field(&w, a.name);
        row_c(&w, ',');
        row_str(&w, industry_name[a.industry]);
        row_c(&w, ',');
        row_str(&w, region_name[a.region]);
        row_c(&w, ',');
        row_u64(&w, a.employees, 1);
        row_c(&w, ',');
        row_cents(&w, a.revenue_cents);
        row_c(&w, ',');
        row_date(&w, &s->dates, a.created);
        rc = out_row(s->ctx, o, &w);
    }
    s->rep.accounts = s->n_acc;
    return rc;
}

static ri_err write_deals(struct sim *s, struct out *opp, struct out *hist, struct out *truth)
{
    static const char opp_header[] =
        "id,name,account,owner,manager,region,industry,product,lead_source,type,created_date,"
        "stage,status,amount,close_date,probability,forecast_category,loss_reason\n";
    static const char hist_header[] =
        "opportunity_id,stage,changed_at,amount,close_date,probability,forecast_category\n";
    static const char truth_header[] = "id,outcome,close_date,amount\n";
    struct deal *d = ri_malloc(sizeof(*d));
    struct rng r;
    int day_idx = 0;
    ri_err rc;

    rng_stream(&r, s->seed, 0xDEA1u, 0);
    rc = out_add(s->ctx, opp, opp_header, sizeof(opp_header) - 1);
    if (!rc)
        rc = out_add(s->ctx, hist, hist_header, sizeof(hist_header) - 1);
    if (!rc)
        rc = out_add(s->ctx, truth, truth_header, sizeof(truth_header) - 1);
    for (uint64_t k = 0; !rc && k < s->n_deals; k++) {
        while (k >= s->deal_end[day_idx])
            day_idx++;
        deal_generate(s, &r, k, day_idx, d);
        if (d->won && d->end < s->first_won[d->account])
            s->first_won[d->account] = d->end;
        rc = deal_write(s, d, opp, hist, truth);
        if ((k & 4095) == 4095) {
            if (ri_interrupted)
                rc = ri_fail(s->ctx, RI_ERR_INTERRUPTED, "interrupted");
            ri_progress(s->ctx, "simulate", k + 1, s->n_deals);
        }
    }
    if (!rc)
        ri_progress(s->ctx, "simulate", s->n_deals, s->n_deals);
    ri_free(d);
    return rc;
}

/* Tickets of every account that is a customer at some point up to as_of, from its first
 * win (or the window's start) on. Healthcare and Financial Services and big accounts open
 * more tickets, more urgent ones, and take longer to resolve. */
static ri_err write_tickets(struct sim *s, struct out *o)
{
    static const char header[] = "ticket_id,account,opened_at,resolved_at,priority,team\n";
    struct account a;
    struct row w;
    uint64_t id = 0;
    ri_err rc = out_add(s->ctx, o, header, sizeof(header) - 1);

    for (uint64_t i = 0; !rc && i < s->n_acc; i++) {
        struct rng r;
        double rate, cx, tw[5], pw[4];
        int fw = s->first_won[i], t;
        if (fw > s->as_of)
            continue;
        account_get(s, i, &a);
        rng_stream(&r, s->seed, 0x71C4u, i);
        cx = industry_tickets[a.industry] * pow((double)a.employees / 400.0, 0.2);
        rate = SIM_TICKETS_PER_MONTH * cx / 30.44;
        memcpy(pw, priority_weight, sizeof(pw));
        pw[2] *= industry_tickets[a.industry];
        pw[3] *= industry_tickets[a.industry] * industry_tickets[a.industry];
        t = fw > s->ws ? fw : s->ws;
        for (;;) {
            int prio, team, res;
            t += 1 + (int)lround(-log(1.0 - rng_unif(&r)) / rate);
            if (t > s->as_of)
                break;
            prio = rng_pick(&r, pw, 4);
            memcpy(tw, team_weight, sizeof(tw));
            tw[1] = t - fw < 90 ? 60 : 0; /* onboarding in the first three months */
            tw[4] *= industry_tickets[a.industry];
            team = rng_pick(&r, tw, 5);
            res = t + (int)lround(rng_lognormal(&r, priority_days[prio] * cx, 0.8));
            w.n = 0;
            row_str(&w, "TKT-");
            row_u64(&w, ++id, 7);
            row_c(&w, ',');
            row_field(&w, a.name);
            row_c(&w, ',');
            row_date(&w, &s->dates, t);
            row_c(&w, ',');
            if (res <= s->as_of)
                row_date(&w, &s->dates, res);
            row_c(&w, ',');
            row_str(&w, priority_name[prio]);
            row_c(&w, ',');
            row_str(&w, team_name[team]);
            rc = out_row(s->ctx, o, &w);
            if (rc)
                break;
        }
    }
    s->rep.tickets = id;
    return rc;
}

static void add_rate(struct ri_buf *b, uint64_t won, uint64_t closed)
{
    if (closed)
        ri_buf_addf(b, " %5.1f %% (%llu/%llu) |", 100.0 * (double)won / (double)closed,
                    (unsigned long long)won, (unsigned long long)closed);
    else
        ri_buf_adds(b, " - |");
}

/* truth/planted.md: what was planted, from the constants above, and what it looks like in
 * the files just written (closed win rate by quarter of the close date). */
static ri_err write_planted(struct sim *s, struct out *o)
{
    struct ri_buf b = RI_BUF_INIT;
    char d0[11], d1[11], d2[11], asof[11];
    ri_err rc;

    memcpy(d0, s->dates.s[s->plant_start - s->dates.first], 10);
    memcpy(d1, s->dates.s[s->plant_start + SIM_PLANT_RAMP_DAYS - s->dates.first], 10);
    memcpy(d2, s->dates.s[s->ws - s->dates.first], 10);
    memcpy(asof, s->dates.s[s->as_of - s->dates.first], 10);
    d0[10] = d1[10] = d2[10] = asof[10] = '\0';

    ri_buf_addf(&b,
                "# What this simulated pipeline hides\n\n"
                "Written by `revintel simulate` with %llu deals, seed %llu, as of %s. "
                "Deals were created from %s to %s.\n\n",
                (unsigned long long)s->n_deals, (unsigned long long)s->seed, asof, d2, asof);
    ri_buf_addf(&b,
                "## The planted win-rate decline\n\n"
                "It starts on %s (%d days before the snapshot) and grows linearly to full "
                "strength by %s (%d days).\n\n"
                "1. **Rate change, Healthcare x Outbound.** The log-odds of winning of deals "
                "from Healthcare accounts with lead source Outbound, created from that date, "
                "fall by %.2f (before, this pair converted %+.2f better than its two segments "
                "alone suggest). It turns deals that would have been won into late losses "
                "(in the last stage reached), mostly to a competitor or on price.\n"
                "2. **Rate change, milder, one region.** Every %s deal loses %.2f in log-odds, "
                "the same way.\n"
                "3. **Mix shift.** Outbound, a weak source (log-odds %+.2f against Inbound "
                "%+.2f), grows from %.0f %% to %.0f %% of new-business leads, by creation date "
                "over the same ramp; the extra leads come on top, so creation volume rises by "
                "%.0f %% more than its trend while quality falls.\n\n",
                d0, SIM_PLANT_DAYS_BEFORE, d1, SIM_PLANT_RAMP_DAYS, SIM_PLANT_HO_LOGIT,
                SIM_HO_BASE_LOGIT, region_name[SIM_PLANT_REGION], SIM_PLANT_REGION_LOGIT,
                source_logit[SRC_OUTBOUND], source_logit[SRC_INBOUND],
                100 * SIM_OUTBOUND_SHARE_BEFORE, 100 * SIM_OUTBOUND_SHARE_AFTER,
                100 * SIM_PLANT_EXTRA_VOLUME);
    ri_buf_addf(&b,
                "## Other things to find\n\n"
                "- Zombies: a lost deal that dies in Prospecting, Qualification or Discovery "
                "is, with chance %.2f, never closed in the CRM; it stays open with its last "
                "expected close date. truth/outcomes.csv has it lost on the day it died. "
                "%llu of the open deals are zombies.\n"
                "- Rep-entered probability: stage defaults %d/%d/%d/%d/%d plus a rep-specific "
                "optimism (mean %+.0f points, larger for less skilled reps) plus noise; it "
                "ignores segment, size and rep skill, which drive the true win rate.\n"
                "- Volume grows %.1f %% a month, with weekday and monthly seasonality.\n"
                "- Stage paths: %.0f %% of deals skip a stage, %.0f %% fall back one stage; "
                "lost deals stall %.1f times longer in the stage where they die; dwell grows "
                "as (amount / 20000)^%.2f. Close dates are pushed when they come near while a "
                "deal lives, so deals that end lost are pushed more.\n"
                "- True win probability: logistic, base %.2f, segment effects (region, "
                "industry, product, lead source, type), %+.2f per unit of log amount over the "
                "product median, rep skill sd %.2f, deal noise sd %.2f.\n\n",
                SIM_P_ZOMBIE, (unsigned long long)s->rep.zombies, SIM_STAGE_PROB[0],
                SIM_STAGE_PROB[1], SIM_STAGE_PROB[2], SIM_STAGE_PROB[3], SIM_STAGE_PROB[4],
                SIM_REP_OPTIMISM_MEAN, 100 * SIM_GROWTH_PER_MONTH, 100 * SIM_P_SKIP,
                100 * SIM_P_REGRESS, SIM_LOST_STALL, SIM_DWELL_SIZE_EXP, SIM_LOGIT_BASE,
                SIM_LOGIT_SIZE, SIM_REP_SKILL_SD, SIM_DEAL_NOISE_SD);
    ri_buf_addf(&b,
                "## As measured in these files\n\n"
                "Closed win rate by quarter of the close date (CRM view), and Outbound share "
                "of the deals created in the quarter.\n\n"
                "| quarter | all deals | Healthcare x Outbound | %s | created | Outbound "
                "share |\n|---|---|---|---|---|---|\n",
                region_name[SIM_PLANT_REGION]);
    for (int q = 0; q < s->nq; q++) {
        const struct qstats *x = &s->q[q];
        int qq = s->q0 + q;
        ri_buf_addf(&b, "| %d-Q%d |", qq / 4, qq % 4 + 1);
        add_rate(&b, x->won, x->closed);
        add_rate(&b, x->ho_won, x->ho_closed);
        add_rate(&b, x->reg_won, x->reg_closed);
        ri_buf_addf(&b, " %llu |", (unsigned long long)x->created);
        if (x->created)
            ri_buf_addf(&b, " %.1f %% |\n", 100.0 * (double)x->outbound / (double)x->created);
        else
            ri_buf_adds(&b, " - |\n");
    }
    rc = out_add(s->ctx, o, b.buf, b.len);
    ri_buf_release(&b);
    return rc;
}

ri_err ri_simulate(struct ri_ctx *ctx, const struct ri_sim_opts *opts, struct ri_sim_report *report)
{
    static const char *const names[] = {"accounts.csv",      "opportunities.csv",
                                        "stage_history.csv", "truth/outcomes.csv",
                                        "tickets.csv",       "truth/planted.md"};
    enum { F_ACC, F_OPP, F_HIST, F_TRUTH, F_TICK, F_PLANT, N_FILES };
    struct out files[N_FILES];
    struct sim *s = NULL;
    char *truthdir = NULL;
    int64_t lo = ri_days_from_civil(1980, 1, 1), hi = ri_days_from_civil(9000, 12, 31), day;
    ri_err rc = RI_OK;

    memset(files, 0, sizeof(files));
    if (report)
        memset(report, 0, sizeof(*report));
    if (!opts || !opts->outdir || !*opts->outdir)
        return ri_fail(ctx, RI_ERR_INVALID, "simulate: no output folder given");
    if (opts->deals == 0 || opts->deals > SIM_MAX_DEALS)
        return ri_fail(ctx, RI_ERR_INVALID,
                       "simulate: number of deals must be between 1 and %llu, not %llu",
                       (unsigned long long)SIM_MAX_DEALS, (unsigned long long)opts->deals);
    if (opts->as_of == RI_TIME_NONE) {
        day = ri_days_from_civil(SIM_DEFAULT_YEAR, SIM_DEFAULT_MONTH, SIM_DEFAULT_DAY);
    } else {
        day = opts->as_of / RI_DAY - (opts->as_of % RI_DAY < 0);
        if (day < lo || day > hi)
            return ri_fail(ctx, RI_ERR_INVALID,
                           "simulate: as-of date must be between 1980-01-01 and 9000-12-31");
    }

    s = ri_calloc(1, sizeof(*s));
    s->ctx = ctx;
    s->seed = opts->seed;
    s->n_deals = opts->deals;
    s->as_of = (int)day;
    s->ws = s->as_of - (SIM_HISTORY_DAYS - 1);
    s->plant_start = s->as_of - SIM_PLANT_DAYS_BEFORE;
    s->n_acc = (uint64_t)((double)s->n_deals * SIM_ACCOUNTS_PER_DEAL);
    if (s->n_acc < 20)
        s->n_acc = 20;
    s->n_pre = (uint64_t)((double)s->n_acc * SIM_PRE_ACCOUNT_SHARE);
    s->deal_end = ri_malloc(SIM_HISTORY_DAYS * sizeof(*s->deal_end));
    s->acc_end = ri_malloc(SIM_HISTORY_DAYS * sizeof(*s->acc_end));
    s->first_won = ri_try_alloc(s->n_acc * sizeof(*s->first_won));
    if (!s->first_won) {
        rc = ri_fail(ctx, RI_ERR_NOMEM, "simulate: cannot allocate %llu accounts",
                     (unsigned long long)s->n_acc);
        goto out;
    }
    sim_setup(s);

    truthdir = path_join(opts->outdir, "truth");
    rc = make_dir(ctx, opts->outdir);
    if (!rc)
        rc = make_dir(ctx, truthdir);
    for (int i = 0; !rc && i < N_FILES; i++)
        rc = out_open(ctx, &files[i], opts->outdir, names[i]);
    if (!rc)
        rc = write_accounts(s, &files[F_ACC]);
    if (!rc)
        rc = write_deals(s, &files[F_OPP], &files[F_HIST], &files[F_TRUTH]);
    if (!rc)
        rc = write_tickets(s, &files[F_TICK]);
    if (!rc)
        rc = write_planted(s, &files[F_PLANT]);
    for (int i = 0; !rc && i < N_FILES; i++)
        rc = out_close(ctx, &files[i]);
    for (int i = 0; !rc && i < N_FILES; i++)
        rc = out_commit(ctx, &files[i]);
    if (!rc && report)
        *report = s->rep;

out:
    for (int i = N_FILES - 1; i >= 0; i--)
        out_release(&files[i]);
    ri_free(truthdir);
    if (s) {
        ri_free(s->dates.s);
        ri_free(s->first_won);
        ri_free(s->acc_end);
        ri_free(s->deal_end);
        ri_free(s);
    }
    return rc;
}
