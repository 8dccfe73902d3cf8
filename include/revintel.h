/*
 * revintel.h - the public API of librevintel, the revenue intelligence engine.
 *
 * A program opens a context (struct ri_ctx), points it at a store, and calls the
 * entry points below: ingest CRM exports, replay deal history as of any date,
 * write a simulated pipeline. Every function that can fail returns ri_err; the
 * detail of the last failure is kept on the context (ri_errmsg), as sqlite3_errmsg
 * does. The library never prints and never exits: it logs through a sink that the
 * application sets (ri_set_log_fn).
 *
 * Ownership: arguments are borrowed. What a _new function returns belongs to the
 * caller, who releases it with the matching _free. Out-parameters come last and are
 * marked OUT; on failure they are set to NULL or zero.
 */
#ifndef REVINTEL_H
#define REVINTEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RI_VERSION "0.1.0"

/* Error codes. Append only: the numbers are ABI. */
typedef enum ri_err {
    RI_OK = 0,
    RI_ERR_NOMEM,
    RI_ERR_IO,
    RI_ERR_INVALID,
    RI_ERR_PARSE,
    RI_ERR_NOTFOUND,
    RI_ERR_STORE,
    RI_ERR_MODEL,
    RI_ERR_NUMERIC,
    RI_ERR_HTTP,
    RI_ERR_TOOBIG,
    RI_ERR_INTERNAL,
    RI_ERR_INTERRUPTED,
    RI_ERR__COUNT
} ri_err;

/* Static, never NULL: "out of memory", "parse error", ... */
const char *ri_strerror(ri_err code);
/* Short machine name of a code: "nomem", "parse", ... (used in JSON errors). */
const char *ri_errname(ri_err code);

/* Time everywhere in the API: seconds since 1970-01-01 UTC. Dates are midnight UTC. */
typedef int64_t ri_time;
#define RI_TIME_NONE INT64_MIN
#define RI_DAY       86400

struct ri_ctx;

/* Creates a context with no store open. Aborts on out-of-memory (small, fixed size). */
struct ri_ctx *ri_ctx_new(void);
/* Closes the store if open and frees everything. Accepts NULL. */
void ri_ctx_free(struct ri_ctx *ctx);

/* Detail of the last failure on ctx ("" if none). Valid until the next call on ctx. */
const char *ri_errmsg(const struct ri_ctx *ctx);
/* Records a formatted detail on ctx and returns code, so that callers can write
 * `return ri_fail(ctx, RI_ERR_PARSE, "line %zu: ...", ln);`. ctx may be NULL. */
ri_err ri_fail(struct ri_ctx *ctx, ri_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Logging. Levels in increasing severity. The default sink writes
 * "revintel: <level>: <msg>" to stderr for levels >= the threshold (default INFO). */
enum ri_log_level { RI_LOG_DEBUG = 0, RI_LOG_INFO, RI_LOG_WARN, RI_LOG_ERROR };
typedef void (*ri_log_fn)(enum ri_log_level level, const char *msg, void *userdata);
void ri_set_log_fn(ri_log_fn fn, void *userdata);
void ri_set_log_level(enum ri_log_level min_level);
void ri_log(enum ri_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Progress of long work: called at most a few times a second with done/total units
 * (total 0 when unknown). Set per context; NULL turns it off. */
typedef void (*ri_progress_fn)(const char *what, uint64_t done, uint64_t total, void *userdata);
void ri_set_progress_fn(struct ri_ctx *ctx, ri_progress_fn fn, void *userdata);

/* ------------------------------------------------------------------ store */

enum ri_open_flags {
    RI_OPEN_CREATE = 1 << 0,   /* create the file if missing (revintel init) */
    RI_OPEN_READONLY = 1 << 1, /* no writes; a store needing migration is refused */
};

/* Opens (and with RI_OPEN_CREATE creates) the SQLite store at path, in WAL mode, and
 * migrates an older schema to the current one. A store written by a newer revintel
 * is refused with RI_ERR_STORE. */
ri_err ri_store_open(struct ri_ctx *ctx, const char *path, unsigned flags);
/* Schema version of the open store, and the version this library writes. */
int ri_store_schema_version(struct ri_ctx *ctx);
int ri_schema_version_current(void);

/* Store path from the config file: config_path, or ./revintel.conf when NULL, section
 * [store], key db (relative paths are relative to the config file's folder). Writes it
 * to out. RI_ERR_NOTFOUND if there is no such file (config_path NULL) or no such key;
 * a named config file that does not exist or does not parse is an error. */
ri_err ri_config_store_path(struct ri_ctx *ctx, const char *config_path, char *out, size_t size);

/* ------------------------------------------------------------------ ingest */

enum ri_ingest_kind {
    RI_KIND_OPPORTUNITIES = 0,
    RI_KIND_HISTORY,
    RI_KIND_ACCOUNTS,
    RI_KIND_TICKETS,
    RI_KIND_REPS, /* sales reps: name, manager, region (e.g. a sales-teams sheet) */
    RI_KIND__COUNT
};
/* "opportunities", "history", ... ; -1 from ri_ingest_kind_parse if unknown. */
const char *ri_ingest_kind_name(enum ri_ingest_kind kind);
int ri_ingest_kind_parse(const char *name);

struct ri_ingest_opts {
    enum ri_ingest_kind kind;
    const char *path;        /* CSV or XLSX file */
    const char *map;         /* preset name ("canonical", "salesforce", "hubspot") or an INI
                                file; NULL: automatic synonym matching */
    const char *sheet;       /* XLSX sheet name; NULL: the first */
    const char *date_format; /* "iso", "us", "eu"; NULL: detect per column */
    char delimiter;          /* 0: detect among , ; tab | */
    ri_time as_of;           /* date of this export; RI_TIME_NONE: latest date seen in it */
    int dry_run;             /* validate and count, then roll back */
};
#define RI_INGEST_OPTS_INIT                                                                        \
 {                                                                                                 \
  RI_KIND_OPPORTUNITIES, NULL, NULL, NULL, NULL, 0, RI_TIME_NONE, 0                                \
 }

/* Quarantine reasons. Append only (stored by name, counted by code). */
enum ri_reason {
    RI_REASON_MISSING_ID = 0,
    RI_REASON_MISSING_DATE,
    RI_REASON_BAD_DATE,
    RI_REASON_BAD_AMOUNT,
    RI_REASON_NEGATIVE_AMOUNT,
    RI_REASON_BAD_NUMBER,
    RI_REASON_BAD_PROBABILITY,
    RI_REASON_MISSING_STAGE,
    RI_REASON_CLOSE_BEFORE_CREATED,
    RI_REASON_COLUMN_COUNT,
    RI_REASON_BAD_UTF8,
    RI_REASON_FIELD_TOO_LONG,
    RI_REASON_DUPLICATE_ROW,
    RI_REASON_CONFLICTING_ID,
    RI_REASON_UNKNOWN_DEAL,
    RI_REASON_BAD_STATUS,
    RI_REASON_FUTURE_DATE,
    RI_REASON_BAD_QUOTE,
    RI_REASON__COUNT
};
const char *ri_reason_name(enum ri_reason r);

struct ri_ingest_report {
    int64_t snapshot_id;
    uint64_t rows_read; /* data rows (header excluded) */
    uint64_t rows_accepted;
    uint64_t rows_quarantined; /* rows_read == rows_accepted + rows_quarantined */
    uint64_t by_reason[RI_REASON__COUNT];
    uint64_t deals_new, deals_changed, deals_unchanged, deals_deleted;
    uint64_t events_written;
    int64_t duplicate_of; /* > 0: this exact file was already ingested as that snapshot;
                             nothing was written */
    ri_time as_of;        /* RI_TIME_NONE: the file has no dates */
    char format[8];       /* "csv" or "xlsx" */
    char delimiter;
    char preset[64]; /* mapping used: a preset, or the mapping file's name */
    int columns_mapped, columns_custom;
};

/* Ingests one file into the open store, as one transaction: on any error nothing is
 * written. Bad rows are not an error: they go to the quarantine table with file, line,
 * column and reason, and are counted in the report. */
ri_err ri_ingest(struct ri_ctx *ctx, const struct ri_ingest_opts *opts,
                 struct ri_ingest_report *report /* OUT */);

/* ------------------------------------------------------------------ quality */

struct ri_quality_reason {
    char reason[32];
    uint64_t count;
};
struct ri_quality_column {
    char column[64];
    uint64_t count;
};
struct ri_quality_example {
    char file[256];
    uint64_t line;
    char column[64];
    char reason[32];
    char detail[160];
};
struct ri_quality_report {
    uint64_t snapshots, deals, deals_open, deals_won, deals_lost, events, accounts, tickets;
    uint64_t rows_read, rows_accepted, rows_quarantined;
    size_t n_reasons, n_columns, n_examples;
    struct ri_quality_reason reasons[RI_REASON__COUNT];
    struct ri_quality_column columns[16];
    struct ri_quality_example examples[16];
    /* field completeness of deals, in per cent */
    double pct_amount, pct_close_date, pct_owner, pct_probability;
};
/* Data-quality report over one ingest (snapshot_id > 0) or all of them (0): rows read,
 * accepted and quarantined, counts per reason and per column (most first), the first
 * example of each reason, and how complete the deals' main fields are. */
ri_err ri_quality(struct ri_ctx *ctx, int64_t snapshot_id,
                  struct ri_quality_report *report /* OUT */);

/* ------------------------------------------------------------------ as-of engine */

enum ri_status { RI_STATUS_NONE = 0, RI_STATUS_OPEN, RI_STATUS_WON, RI_STATUS_LOST };

/* The history of every deal, loaded once from the store into columns, and replayed to
 * any date. Deals are indexed 0..n_deals-1 in store order. */
struct ri_history;

/* State of every deal at one date T, as columns (struct of arrays). For a deal not yet
 * created at T, exists[i] is 0 and the other columns are unspecified. */
struct ri_asof_state {
    size_t n;
    ri_time at;
    uint8_t *exists;
    uint8_t *status;      /* enum ri_status */
    int32_t *stage;       /* index into ri_history_stage_name, -1 unknown */
    ri_time *stage_since; /* when the deal entered its current stage */
    double *amount;       /* NAN if unknown */
    double *first_amount;
    ri_time *close_date; /* expected (open) or actual (closed); RI_TIME_NONE unknown */
    ri_time *first_close_date;
    double *probability; /* NAN if unknown */
    int32_t *owner;      /* index into ri_history_owner_name, -1 unknown */
    uint16_t *n_stage_changes;
    uint16_t *n_regressions;  /* moves to an earlier stage in the configured order */
    uint16_t *n_skips;        /* moves forward past one or more stages */
    uint16_t *n_close_pushes; /* close date moved later */
    uint16_t *n_amount_changes;
    uint8_t *reached_late; /* was ever in a late stage at or before T */
};

ri_err ri_history_load(struct ri_ctx *ctx, struct ri_history **out /* OUT */);
void ri_history_free(struct ri_history *h);
size_t ri_history_n_deals(const struct ri_history *h);
size_t ri_history_n_events(const struct ri_history *h);
const char *ri_history_deal_id(const struct ri_history *h, size_t i);
ri_time ri_history_created(const struct ri_history *h, size_t i);
size_t ri_history_n_stages(const struct ri_history *h);
const char *ri_history_stage_name(const struct ri_history *h, int32_t stage);
const char *ri_history_owner_name(const struct ri_history *h, int32_t owner);
/* Finds a deal by its CRM id; -1 if absent. */
ptrdiff_t ri_history_find(const struct ri_history *h, const char *deal_id);
/* Stage roles and order. Stages are indexed in their order: the configured order, or,
 * where none was configured, the order inferred from the deals' histories (open stages
 * by their mean position in each deal's path, then won, then lost). */
enum ri_status ri_history_stage_role(const struct ri_history *h, int32_t stage);
int ri_history_stage_is_late(const struct ri_history *h, int32_t stage);
/* True if the stage order was inferred from history rather than configured. */
int ri_history_order_inferred(const struct ri_history *h);

/* One stay of a deal in a stage: entered at `entered` (RI_TIME_NONE when the deal has no
 * created date and this is the stage it held from creation), left at `left` (RI_TIME_NONE
 * if it was still there at the date asked). */
struct ri_stage_visit {
    int32_t stage;
    ri_time entered, left;
};
/* The stage path of deal i up to and including `until`, by the replay rules of ri_asof:
 * the first open stage from creation, a visit per real stage change, and for a deal whose
 * row is closed on or before `until`, its terminal stage from the close date (a closed
 * deal without a stage just leaves its last stage then). Writes at most max visits to
 * out, in time order, and returns how many the path has (more than max: call again with
 * more room); 0 for a deal created after `until` or out of range. Deletions are ignored. */
size_t ri_history_path(const struct ri_history *h, size_t i, ri_time until,
                       struct ri_stage_visit *out /* OUT */, size_t max);

/* A reusable buffer for stage paths: ri_history_path_get fills it with deal i's whole
 * path up to `until`, growing it as needed (RI_ERR_NOMEM if it cannot). Initialise with
 * RI_PATH_BUF_INIT; free with ri_path_buf_release. */
struct ri_path_buf {
    struct ri_stage_visit *v;
    size_t n, cap;
};
#define RI_PATH_BUF_INIT                                                                           \
 {                                                                                                 \
  NULL, 0, 0                                                                                       \
 }
ri_err ri_history_path_get(const struct ri_history *h, size_t i, ri_time until,
                           struct ri_path_buf *p);
void ri_path_buf_release(struct ri_path_buf *p);

/* Allocates the columns for h's deals. Free with ri_asof_state_release. */
ri_err ri_asof_state_init(struct ri_asof_state *st, const struct ri_history *h);
void ri_asof_state_release(struct ri_asof_state *st);
/* Replays every deal's events up to and including T into st. */
ri_err ri_asof(const struct ri_history *h, ri_time at, struct ri_asof_state *st);
/* Replays deal i alone up to and including T into row i of st (the other rows are left
 * as they are; st->at is not changed). */
ri_err ri_asof_deal(const struct ri_history *h, size_t i, ri_time at, struct ri_asof_state *st);

/* Totals of a replayed state: what existed at st->at. */
struct ri_asof_summary {
    ri_time at;
    uint64_t existing, open, won, lost, open_late;
    double open_amount, won_amount;
};
void ri_asof_summarize(const struct ri_asof_state *st, struct ri_asof_summary *out /* OUT */);

/* ------------------------------------------------------------------ models */

/* Options of `train`, `evaluate`, `score` and `explain`. */
struct ri_model_opts {
    ri_time as_of;  /* RI_TIME_NONE: the latest date in the store */
    ri_time cutoff; /* evaluation: deals open at this date are the test set; NONE: as_of - 180 d */
    int cal_days;   /* calibration window before each fit date, days (90) */
    int origins;    /* rolling-origin evaluations, 90 days apart (1) */
    int folds;      /* static data sets: k of the k-fold (5) */
    int trees, max_depth, threads;
    double eta;
    uint64_t seed;
    int with_p_rep;  /* the rep-entered probability as a feature (1) */
    size_t max_rows; /* cap on training snapshots per fit, sampled by deal (500,000) */
    int refit;       /* refit the trees on everything known after calibrating (1) */
};
#define RI_MODEL_OPTS_INIT                                                                         \
 {                                                                                                 \
  RI_TIME_NONE, RI_TIME_NONE, 90, 1, 5, 300, 6, 2, 0.05, 1, 1, 500000, 1                           \
 }

/* What a command found: the report as text and JSON (both owned by the report). */
struct ri_model_report {
    char *text, *json;
    int64_t model_id; /* the model trained or used, 0 none */
    int signal;       /* 1: the model separates won from lost reliably */
    double auc;       /* on the test set (or k-fold), NAN if none */
    size_t n_scored;
};
void ri_model_report_free(struct ri_model_report *r);

/* Trains the stage model, the risk model and its baseline on what was known before the
 * test cutoff, evaluates them on the deals open then, refits on everything known at as_of
 * and registers the model (active). */
ri_err ri_train(struct ri_ctx *ctx, const struct ri_model_opts *o,
                struct ri_model_report **out /* OUT */);
/* The evaluation alone (nothing registered), over o->origins rolling origins. */
ri_err ri_evaluate(struct ri_ctx *ctx, const struct ri_model_opts *o,
                   struct ri_model_report **out /* OUT */);
/* Scores every open deal at as_of with the active model: P(win), tier, top reasons; one
 * score run per as-of date (re-running replaces it). csv (may be NULL) gets a CSV of the
 * scores, formula-looking texts neutralised. */
ri_err ri_score(struct ri_ctx *ctx, const struct ri_model_opts *o, char **csv /* OUT */,
                struct ri_model_report **out /* OUT */);
/* One deal: its score and reasons, the most similar closed-lost deals and what they share,
 * and the next best action. */
ri_err ri_explain(struct ri_ctx *ctx, const struct ri_model_opts *o, const char *deal_id,
                  struct ri_model_report **out /* OUT */);

/* ------------------------------------------------------------------ forecast */

struct ri_forecast_opts {
    int monthly;    /* 0: quarters */
    ri_time as_of;  /* RI_TIME_NONE: the latest date in the store */
    size_t sims;    /* Monte Carlo paths (10,000) */
    uint64_t seed;  /* 1 */
    const char *by; /* dimension of the segment contributions ("region") */
    /* what-if, re-simulated against the base */
    const char *drop_deal, *win_deal; /* a deal lost / won now */
    const char *shift_segment;        /* DIM=VALUE whose win probability moves by shift */
    double shift;                     /* in probability points / 100 (-0.05: 5 points lower) */
    int no_zombies;                   /* zombies (close date passed 90+ days ago) lost */
    int save;                         /* write forecast_runs / forecast_deals */
    /* sd of the log of the model's own error on a quarter's revenue from the open deals,
     * widening the range; < 0: estimated from the model's last 4 quarters (the default) */
    double model_error;
};
#define RI_FORECAST_OPTS_INIT                                                                      \
 {                                                                                                 \
  0, RI_TIME_NONE, 10000, 1, "region", NULL, NULL, NULL, 0.0, 0, 1, -1.0                           \
 }

/* One period of a forecast. */
struct ri_forecast_period {
    char label[16];
    ri_time start, end;
    double won_so_far;    /* closed won in the period up to the as-of date */
    double open_expected; /* from the open deals: sum of P(win) x P(close in period) x amount */
    double new_expected;  /* from pipeline not yet created */
    double expected, p10, p50, p90, mc_mean;
    double rep; /* won so far + sum of rep probability x amount, close date inside */
    double open_p10, open_p50, open_p90; /* the open deals alone (no new pipeline) */
    /* open_expected without the recent change of segments' win rates the forecast found
     * and applied (the deals created lately winning less or more than a year earlier):
     * what the risk model alone says */
    double open_before_change;
};

struct ri_forecast_report {
    char *text, *json;
    struct ri_forecast_period period[2]; /* the current and the next period */
    struct ri_forecast_period whatif[2]; /* with the what-if applied (when one was asked) */
    int has_whatif;
    /* backtest: the model, the rep-entered and the stage-model-only forecasts */
    struct ri_backtest_score {
        size_t n;                        /* forecasts judged */
        double wape, mape, bias, within; /* within: share inside 85-115 % of actual */
        double coverage;                 /* share with P10 <= actual <= P90 (NAN: no range) */
    } bt[3];
};
void ri_forecast_report_free(struct ri_forecast_report *r);

/* Forecast of the current and the next period with the active model (see forecast.c). */
ri_err ri_forecast(struct ri_ctx *ctx, const struct ri_forecast_opts *o,
                   struct ri_forecast_report **out /* OUT */);

struct ri_backtest_opts {
    int monthly;
    ri_time from, to; /* forecast dates [from, to); NONE: the last 4 complete periods */
    int every_days;   /* 7 */
    size_t sims;      /* paths per forecast (2,000) */
    uint64_t seed;
    struct ri_model_opts model; /* refitted at the start of each period */
    int save;                   /* write backtest_runs / backtest_points */
};
/* Replays the forecast as of past dates with only what was known then and compares it
 * with what closed: error and bias by week of period, WAPE, MAPE, share within 85-115 %,
 * P10-P90 coverage; next to the rep-entered and the stage-model-only forecasts. */
ri_err ri_backtest(struct ri_ctx *ctx, const struct ri_backtest_opts *o,
                   struct ri_forecast_report **out /* OUT */);

/* ------------------------------------------------------------------ diagnose */

enum ri_period { RI_PERIOD_QUARTER = 0, RI_PERIOD_MONTH };

struct ri_diagnose_opts {
    enum ri_period period;
    ri_time from, to;            /* window of close dates [from, to); RI_TIME_NONE: all */
    ri_time as_of;               /* RI_TIME_NONE: the latest date in the store */
    const char *by;              /* dimensions to decompose, comma-separated; NULL: all */
    const char *const *segments; /* "DIM=VALUE" filters, all applied */
    size_t n_segments;
    unsigned reports; /* bits of ri_diag_report_parse; 0: all */
    size_t min_n;     /* closed deals below which a segment is "small"; 0: 30 */
};
#define RI_DIAGNOSE_OPTS_INIT                                                                      \
 {                                                                                                 \
  RI_PERIOD_QUARTER, RI_TIME_NONE, RI_TIME_NONE, RI_TIME_NONE, NULL, NULL, 0, 0, 0                 \
 }

/* The diagnosis of the open store: win rates by period and segment with intervals, the
 * decomposition of the last change into mix, rate and interaction, the stage funnel,
 * pipeline volume against quality, sales cycles with survival analysis, concentration,
 * zombies and reps (DESIGN §3). Free with ri_diagnosis_free. */
struct ri_diagnosis;
ri_err ri_diagnose(struct ri_ctx *ctx, const struct ri_diagnose_opts *opts,
                   struct ri_diagnosis **out /* OUT */);
void ri_diagnosis_free(struct ri_diagnosis *d);
/* "winrate", "decompose", "funnel", "pipeline", "cycle", "concentration", "zombies",
 * "reps" to its bit; 0 if unknown. */
unsigned ri_diag_report_parse(const char *name);
const char *ri_diagnosis_headline(const struct ri_diagnosis *d);
/* 1 if the diagnosis found something to act on: a significant fall of the win rate, a
 * significant segment driver, zombies, or a rep well below the rep's segment mix. */
int ri_diagnosis_findings(const struct ri_diagnosis *d);
/* The analyst's briefing (text), the whole result (JSON, sorted keys), and the tables
 * as CSV sections; free with ri_string_free. */
char *ri_diagnosis_text(const struct ri_diagnosis *d);
char *ri_diagnosis_json(const struct ri_diagnosis *d);
char *ri_diagnosis_csv(const struct ri_diagnosis *d);
/* Writes the diagnosis to the store's diag_* tables, replacing the previous one. */
ri_err ri_diagnosis_save(struct ri_ctx *ctx, const struct ri_diagnosis *d);

/* ------------------------------------------------------------------ configuration */

/* revintel.conf (DESIGN §6-§7): the store, the drop folder of CRM exports and its mapping,
 * model and forecast settings, alert rules and thresholds, recipients, channels. Read
 * with ri_config_load from path, or ./revintel.conf when path is NULL (a missing
 * ./revintel.conf gives the defaults; a named file that is missing is an error). Every
 * error names the file and the line. Values written ${NAME} come from the environment;
 * secrets are never printed. */
struct ri_config;
ri_err ri_config_load(struct ri_ctx *ctx, const char *path, struct ri_config **out /* OUT */);
void ri_config_free(struct ri_config *c);
/* A readable account of what the file configures (secrets redacted), for `config check`. */
char *ri_config_describe(const struct ri_config *c);

/* ------------------------------------------------------------------ alerts */

struct ri_alerts_opts {
    const struct ri_config *config; /* rules, thresholds, recipients, channels */
    ri_time as_of;                  /* RI_TIME_NONE: the latest date in the store */
    ri_time now;                    /* clock for cooldowns and the outbox; NONE: time() */
    int64_t run_id;                 /* the daily run raising them, 0 none */
    int dry_run;                    /* evaluate and show; write nothing, queue nothing */
};
struct ri_alerts_report {
    char *text, *json;
    size_t raised;      /* findings of the rules today (after thresholds) */
    size_t queued;      /* alerts put into digests */
    size_t cooldown;    /* held back: sent within their cooldown */
    size_t snoozed;     /* held back: snoozed */
    size_t digests;     /* messages queued in the outbox (one per recipient and channel) */
    size_t rule_errors; /* custom rules that failed (reported, the rest still ran) */
};
void ri_alerts_report_free(struct ri_alerts_report *r);
/* Evaluates the built-in and custom rules on the open store, applies cooldown and
 * snoozes, groups what is left into one digest per recipient and queues each digest in
 * the outbox for the recipient's channels. Running it twice for the same as-of date
 * queues nothing new. */
ri_err ri_alerts_run(struct ri_ctx *ctx, const struct ri_alerts_opts *o,
                     struct ri_alerts_report **out /* OUT */);
/* Snoozes an alert key (for every recipient) until a date, with a reason. */
ri_err ri_alerts_snooze(struct ri_ctx *ctx, const char *key, ri_time until, const char *reason);
/* The alerts recorded on the newest as-of date and the days before it (days 0: that
 * date alone), with their status and snoozes: text and JSON (owned by the caller). */
ri_err ri_alerts_list(struct ri_ctx *ctx, int days, char **text /* OUT */, char **json /* OUT */);

/* ------------------------------------------------------------------ outbox */

struct ri_deliver_report {
    char *text, *json;
    size_t attempted, sent, retried, dead, pending; /* pending: still waiting after this pass */
};
void ri_deliver_report_free(struct ri_deliver_report *r);
/* One delivery pass over the outbox: every pending message whose time has come is sent
 * once through its channel; a failure is retried later with exponential backoff, and
 * after the channel's attempt limit the message is dead-lettered. now: RI_TIME_NONE
 * for time(). */
ri_err ri_outbox_deliver(struct ri_ctx *ctx, const struct ri_config *c, ri_time now,
                         struct ri_deliver_report **out /* OUT */);
/* The outbox as a table (state NULL: all; "pending", "sent", "dead"): text and JSON. */
ri_err ri_outbox_list(struct ri_ctx *ctx, const char *state, char **text /* OUT */,
                      char **json /* OUT */);

/* ------------------------------------------------------------------ report */

struct ri_report_opts {
    const struct ri_config *config;
    ri_time as_of; /* RI_TIME_NONE: the latest date in the store */
    int days;      /* the period the report looks back on (7: a week) */
};
struct ri_report_doc {
    char *html;     /* one self-contained file, Chart.js inlined */
    char *markdown; /* the same for e-mail and terminals */
    char *subject;
    char *json;    /* the report's figures (sorted keys), for --format json */
    ri_time as_of; /* the date the report is for */
};
void ri_report_doc_free(struct ri_report_doc *d);
/* The executive report from the store's tables (diagnosis, scores, forecast, alerts). */
ri_err ri_report(struct ri_ctx *ctx, const struct ri_report_opts *o,
                 struct ri_report_doc **out /* OUT */);
/* Queues the report in the outbox for the named channels (comma-separated; NULL: the
 * config's [report] channels), under the idempotency key "report:<as-of date>:<channel>",
 * so that sending the same report twice queues it once. now: RI_TIME_NONE for time(). */
ri_err ri_report_send(struct ri_ctx *ctx, const struct ri_config *c, const struct ri_report_doc *d,
                      const char *channels, ri_time now);

/* ------------------------------------------------------------------ the daily job */

/* The steps of `revintel run`, in order. */
enum ri_run_step_id {
    RI_STEP_INGEST = 0, /* new files of the drop folder */
    RI_STEP_DIAGNOSE,   /* the diagnosis tables */
    RI_STEP_TRAIN,      /* when there is no model, or it is older than retrain_days */
    RI_STEP_SCORE,      /* every open deal */
    RI_STEP_FORECAST,   /* current and next period */
    RI_STEP_ALERTS,     /* rules, digests into the outbox */
    RI_STEP_DELIVER,    /* one pass over the outbox */
    RI_STEP__COUNT
};
struct ri_run_step {
    char name[16];
    char status[16]; /* "ok", "skipped" (up to date), "failed", "not run" */
    double seconds;
    int64_t count; /* files ingested, deals scored, alerts queued, messages sent ... */
    char detail[512];
};
/* Called when a step starts (done 0) and when it ends (done 1), for progress. */
typedef void (*ri_run_step_fn)(const struct ri_run_step *step, int index, int done, void *ud);
struct ri_run_opts {
    const struct ri_config *config;
    ri_time now;    /* the run's clock (cooldowns, retries, model age); NONE: time() */
    int force;      /* redo every step even where the data has not changed */
    int no_deliver; /* queue alerts but do not send */
    ri_run_step_fn on_step;
    void *ud;
};
struct ri_run_report {
    int64_t run_id;
    struct ri_run_step steps[RI_STEP__COUNT];
    int failed;     /* steps that failed */
    char *briefing; /* a few lines for people: headline, forecast, alerts */
    char *json;
};
void ri_run_report_free(struct ri_run_report *r);
/* The daily job on the open store (DESIGN §7): each step is recorded in run_steps with its
 * time and counts; a step that fails is reported and the next steps still run on what the
 * store holds. Steps whose inputs have not changed since they last succeeded are skipped,
 * so a second run on the same data changes nothing and sends nothing twice. Only one run
 * at a time per store (RI_ERR_STORE otherwise). Returns RI_OK when the run itself could be
 * done, even with failed steps (see failed). */
ri_err ri_run(struct ri_ctx *ctx, const struct ri_run_opts *o,
              struct ri_run_report **out /* OUT */);

/* ------------------------------------------------------------------ simulator */

struct ri_sim_opts {
    const char *outdir;
    uint64_t deals; /* number of deals, default 20000 */
    uint64_t seed;  /* default 1 */
    ri_time as_of;  /* snapshot date; RI_TIME_NONE: 2026-06-30 */
};
#define RI_SIM_OPTS_INIT                                                                           \
 {                                                                                                 \
  NULL, 20000, 1, RI_TIME_NONE                                                                     \
 }

struct ri_sim_report {
    uint64_t deals, open, won, lost, zombies, history_rows, accounts, tickets;
};

/* Writes a realistic B2B pipeline in canonical CSV to outdir: opportunities.csv,
 * stage_history.csv, accounts.csv, tickets.csv, and truth/outcomes.csv with the
 * eventual outcome of every deal (open ones included). Deterministic for a seed. */
ri_err ri_simulate(struct ri_ctx *ctx, const struct ri_sim_opts *opts,
                   struct ri_sim_report *report /* OUT */);

/* ------------------------------------------------------------------ JSON output */

/* Stable JSON (sorted keys, two-space indent, trailing newline) of the reports, for
 * --format json. The string belongs to the caller: free it with ri_string_free. NULL
 * only when memory runs out. */
char *ri_ingest_report_json(const struct ri_ingest_report *r, const char *file,
                            enum ri_ingest_kind kind);
char *ri_quality_report_json(const struct ri_quality_report *r);
char *ri_sim_report_json(const struct ri_sim_report *r, const char *outdir);
char *ri_asof_summary_json(const struct ri_asof_summary *s, size_t n);
void ri_string_free(char *s);

/* ------------------------------------------------------------------ parsing helpers */

/* Date formats: ISO (YYYY-MM-DD[ T]HH:MM[:SS][Z]), US (M/D/YY[YY] [h:mm[:ss] [AM|PM]]),
 * EU (D.M.YYYY, D/M/YYYY). */
enum ri_date_style { RI_DATE_AUTO = 0, RI_DATE_ISO, RI_DATE_US, RI_DATE_EU };
/* Parses s (length len) as a date/time in style into *out. RI_ERR_PARSE if not a
 * valid date (impossible dates like 2023-02-30 included). */
ri_err ri_parse_date(const char *s, size_t len, enum ri_date_style style, ri_time *out /* OUT */);
/* Formats t as YYYY-MM-DD into buf (at least 11 bytes). */
void ri_format_date(ri_time t, char *buf, size_t size);

/* Amount locale: decimal point '.' (thousands ',') or ',' (thousands '.' or ' '). */
enum ri_amount_locale { RI_AMOUNT_AUTO = 0, RI_AMOUNT_POINT, RI_AMOUNT_COMMA };
/* Parses "$12,345.00", "12.345,00 €", "(1,200)", "1.2e3"; an empty or blank value is
 * RI_ERR_NOTFOUND (not an error for optional fields); anything else RI_ERR_PARSE. */
ri_err ri_parse_amount(const char *s, size_t len, enum ri_amount_locale loc, double *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif /* REVINTEL_H */
