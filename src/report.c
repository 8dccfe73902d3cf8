/*
 * report.c - the weekly executive report: one self-contained HTML file, the same content
 * as Markdown (for e-mail and terminals), and its figures as JSON.
 *
 * The report is built from the store's tables alone and never recomputes a model: the
 * latest diagnosis at or before the as-of date (diag_runs and its tables: win rate by
 * period with its Wilson interval, the drivers of the last change, pipeline volume
 * against quality, zombie deals), the latest score run (the open deals most at risk, with
 * their reasons), the latest forecast (current and next period, P10/P50/P90 against the
 * reps' forecast) and the alerts of the last N days. A part the store does not hold yet
 * (no diagnosis, no model, no forecast) becomes a "not available: run ..." line, never an
 * error; the only errors are the store's and a missing Chart.js file.
 *
 * Every text that comes from the store is CRM data and is escaped for where it lands:
 * HTML text and attributes (& < > " '); JSON inside <script type="application/json">
 * blocks, where < > & become \u003c \u003e \u0026 so that no value can close the element;
 * Markdown, where the characters Markdown reads get a backslash and a cell that looks like
 * a spreadsheet formula gets a leading quote, by the rule of the CSV exports (model.c).
 *
 * The page records its own state for the headless-browser test: after drawing, <body>
 * carries data-charts (charts drawn), data-points (chart elements drawn) and data-errors
 * (script errors, unhandled rejections and blocked requests; their messages go into the
 * hidden #report-errors element). Its Content-Security-Policy allows no network at all.
 */
#include "conf.h"
#include "outbox.h"
#include "store.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CHARTJS "/usr/share/javascript/chart.js/chart.min.js"
#define MAX_CHARTJS     (16u << 20) /* the Debian file is 200 KB */
#define MAX_DOC         (64u << 20)
#define MAX_PERIODS     400
#define MAX_DRIVERS     8
#define MAX_WEAK        5
#define MAX_LIST        10 /* deals at risk, zombies */
#define MAX_ALERTS      50
#define N_REASONS       3
#define REASON_MAX      200
#define LABEL_MAX       24
#define DAY             RI_DAY

/* ------------------------------------------------------------------ [report] */

struct ri_report_conf {
    char chartjs[4096]; /* as written; relative to the config file's folder */
    int days;           /* 0: not set (7) */
    char channels[1024];
};

struct ri_report_conf *ri_report_conf_new(void)
{
    return ri_calloc(1, sizeof(struct ri_report_conf));
}

void ri_report_conf_free(struct ri_report_conf *r)
{
    ri_free(r);
}

/* A channel list: names of letters, digits, '_', '-', '.', separated by commas. */
static int channels_valid(const char *v)
{
    int names = 0, in_name = 0;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == ',') {
            if (!in_name)
                return 0;
            in_name = 0;
        } else if (c == ' ' || c == '\t') {
            continue;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-' || c == '.') {
            names += !in_name;
            in_name = 1;
        } else {
            return 0;
        }
    }
    return names > 0 && in_name;
}

ri_err ri_report_conf_key(struct ri_report_conf *r, const char *section, const char *name,
                          const char *value, char *err, size_t errsize)
{
    (void)section;
    if (!strcasecmp(name, "chartjs")) {
        if (!*value) {
            snprintf(err, errsize, "[report] chartjs is empty");
            return RI_ERR_INVALID;
        }
        if (strlen(value) >= sizeof(r->chartjs)) {
            snprintf(err, errsize, "[report] chartjs is too long");
            return RI_ERR_TOOBIG;
        }
        snprintf(r->chartjs, sizeof(r->chartjs), "%s", value);
        return RI_OK;
    }
    if (!strcasecmp(name, "days")) {
        long v = ri_conf_long(value, 366);
        if (v < 1) {
            snprintf(err, errsize, "[report] days takes a number of days from 1 to 366, not '%s'",
                     value);
            return RI_ERR_INVALID;
        }
        r->days = (int)v;
        return RI_OK;
    }
    if (!strcasecmp(name, "channels")) {
        if (!channels_valid(value) || strlen(value) >= sizeof(r->channels)) {
            snprintf(err, errsize,
                     "[report] channels takes channel names separated by commas, not '%s'", value);
            return RI_ERR_INVALID;
        }
        snprintf(r->channels, sizeof(r->channels), "%s", value);
        return RI_OK;
    }
    return RI_ERR_NOTFOUND;
}

/* ------------------------------------------------------------------ writing */

/* A JSON string literal; in_script also writes < > & as \u escapes, so that the text can
 * sit inside a <script> element without ending it. */
static void w_json_str(struct ri_wbuf *w, const char *s, int in_script)
{
    ri_wbuf_addc(w, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            ri_wbuf_addc(w, '\\');
            ri_wbuf_addc(w, (char)c);
        } else if (c == '\n') {
            ri_wbuf_adds(w, "\\n");
        } else if (c == '\r') {
            ri_wbuf_adds(w, "\\r");
        } else if (c == '\t') {
            ri_wbuf_adds(w, "\\t");
        } else if (c < 0x20 || (in_script && (c == '<' || c == '>' || c == '&'))) {
            ri_wbuf_addf(w, "\\u%04x", c);
        } else {
            ri_wbuf_addc(w, (char)c);
        }
    }
    ri_wbuf_addc(w, '"');
}

/* The formula rule of the CSV exports (model.c): a cell starting with = + - @ or a tab
 * could run as a formula once pasted into a spreadsheet. */
static int looks_like_formula(const char *s)
{
    return s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t';
}

/* Markdown, by what the text is. MD_CRM: a CRM value; a formula-looking one gets a leading
 * quote, and every character Markdown reads gets a backslash (brackets too: no links).
 * MD_PROSE: a sentence of ours that may quote CRM values (the diagnosis headline, an alert
 * message): the same, but '>' only at the start and brackets only where they could make a
 * link, so that "[22.3-38.1]" and "->" stay readable. MD_OWN: numbers and labels of ours,
 * where only a '|' could break a table. Line breaks become spaces, so that no value can
 * end a table row. */
enum md_mode { MD_OWN = 0, MD_PROSE, MD_CRM };

static void w_md(struct ri_wbuf *w, const char *s, enum md_mode mode)
{
    int brackets;
    const char *start = s;
    if (!s)
        return;
    brackets = mode == MD_CRM || strstr(s, "](") || strstr(s, "][");
    if (mode == MD_CRM && looks_like_formula(s))
        ri_wbuf_addc(w, '\'');
    for (; *s; s++) {
        char c = *s;
        int esc;
        if (c == '\n' || c == '\r' || c == '\t') {
            ri_wbuf_addc(w, ' ');
            continue;
        }
        if (mode == MD_OWN)
            esc = c == '|';
        else
            esc = strchr("\\`*_<|~", c) || (brackets && (c == '[' || c == ']')) ||
                  (c == '>' && (mode == MD_CRM || s == start)) || (c == '#' && s == start);
        if (esc)
            ri_wbuf_addc(w, '\\');
        ri_wbuf_addc(w, c);
    }
}

/* A minimal JSON writer: sorted keys are the caller's job (written in order). */
struct jw {
    struct ri_wbuf *w;
    int pretty, in_script, depth, first, after_key;
};

static void jw_pre(struct jw *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth == 0)
        return;
    if (!j->first)
        ri_wbuf_addc(j->w, ',');
    j->first = 0;
    if (j->pretty) {
        ri_wbuf_addc(j->w, '\n');
        for (int i = 0; i < j->depth; i++)
            ri_wbuf_adds(j->w, "  ");
    }
}

static void jw_open(struct jw *j, char c)
{
    jw_pre(j);
    ri_wbuf_addc(j->w, c);
    j->depth++;
    j->first = 1;
}

static void jw_close(struct jw *j, char c)
{
    j->depth--;
    if (j->pretty && !j->first) {
        ri_wbuf_addc(j->w, '\n');
        for (int i = 0; i < j->depth; i++)
            ri_wbuf_adds(j->w, "  ");
    }
    ri_wbuf_addc(j->w, c);
    j->first = 0;
}

static void jw_key(struct jw *j, const char *k)
{
    jw_pre(j);
    w_json_str(j->w, k, 0);
    ri_wbuf_adds(j->w, j->pretty ? ": " : ":");
    j->after_key = 1;
}

static void jw_str(struct jw *j, const char *s)
{
    jw_pre(j);
    if (s)
        w_json_str(j->w, s, j->in_script);
    else
        ri_wbuf_adds(j->w, "null");
}

static void jw_num(struct jw *j, double v)
{
    jw_pre(j);
    if (isfinite(v))
        ri_wbuf_addf(j->w, "%.10g", v);
    else
        ri_wbuf_adds(j->w, "null");
}

static void jw_int(struct jw *j, int64_t v)
{
    jw_pre(j);
    ri_wbuf_addf(j->w, "%lld", (long long)v);
}

static void jw_null(struct jw *j)
{
    jw_pre(j);
    ri_wbuf_adds(j->w, "null");
}

static void jw_kstr(struct jw *j, const char *k, const char *s)
{
    jw_key(j, k);
    jw_str(j, s);
}

static void jw_knum(struct jw *j, const char *k, double v)
{
    jw_key(j, k);
    jw_num(j, v);
}

static void jw_kint(struct jw *j, const char *k, int64_t v)
{
    jw_key(j, k);
    jw_int(j, v);
}

static void jw_kdate(struct jw *j, const char *k, ri_time t)
{
    char d[16];
    jw_key(j, k);
    if (t == RI_TIME_NONE) {
        jw_null(j);
        return;
    }
    ri_format_date(t, d, sizeof(d));
    jw_str(j, d);
}

/* ------------------------------------------------------------------ numbers */

/* 1234567.8 -> "1,234,568"; NAN -> "–". */
static const char *money(double v, char *out, size_t size)
{
    char digits[64];
    size_t n, k = 0, o = 0;
    if (!isfinite(v) || fabs(v) >= 1e15) {
        snprintf(out, size, isfinite(v) ? "%.3g" : "\xe2\x80\x93", v);
        return out;
    }
    snprintf(digits, sizeof(digits), "%.0f", fabs(v));
    n = strlen(digits);
    if (v <= -0.5 && o + 1 < size)
        out[o++] = '-';
    for (; k < n && o + 2 < size; k++) {
        if (k && (n - k) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[k];
    }
    out[o] = '\0';
    return out;
}

/* 648340 -> "648k", 1798323 -> "1.8M". */
static const char *money_short(double v, char *out, size_t size)
{
    double a = fabs(v);
    if (!isfinite(v))
        snprintf(out, size, "\xe2\x80\x93");
    else if (a >= 1e9)
        snprintf(out, size, "%.1fB", v / 1e9);
    else if (a >= 1e6)
        snprintf(out, size, "%.1fM", v / 1e6);
    else if (a >= 1e4)
        snprintf(out, size, "%.0fk", v / 1e3);
    else if (a >= 1e3)
        snprintf(out, size, "%.1fk", v / 1e3);
    else
        snprintf(out, size, "%.0f", v);
    return out;
}

/* 0.2378 -> "23.8 %" */
static const char *pct(double v, char *out, size_t size)
{
    if (isfinite(v))
        snprintf(out, size, "%.1f %%", 100.0 * v);
    else
        snprintf(out, size, "\xe2\x80\x93");
    return out;
}

/* 0.2378, 0.1822, 0.3041 -> "23.8 % [18.2-30.4]" */
static const char *pct_ci(double v, double lo, double hi, char *out, size_t size)
{
    if (!isfinite(v))
        snprintf(out, size, "\xe2\x80\x93");
    else if (isfinite(lo) && isfinite(hi))
        snprintf(out, size, "%.1f %% [%.1f-%.1f]", 100.0 * v, 100.0 * lo, 100.0 * hi);
    else
        snprintf(out, size, "%.1f %%", 100.0 * v);
    return out;
}

/* -0.0844 -> "-8.4 pts" */
static const char *points(double v, char *out, size_t size)
{
    if (isfinite(v))
        snprintf(out, size, "%+.1f pts", 100.0 * v);
    else
        snprintf(out, size, "\xe2\x80\x93");
    return out;
}

static const char *pval(double v, char *out, size_t size)
{
    if (!isfinite(v))
        snprintf(out, size, "\xe2\x80\x93");
    else if (v < 0.001)
        snprintf(out, size, "< 0.001");
    else
        snprintf(out, size, "%.3f", v);
    return out;
}

static const char *days_str(double v, char *out, size_t size)
{
    if (isfinite(v))
        snprintf(out, size, "%.0f", v);
    else
        snprintf(out, size, "\xe2\x80\x93");
    return out;
}

/* ------------------------------------------------------------------ what the store holds */

struct period_row {
    char label[LABEL_MAX];
    int complete;
    int64_t won, lost, created;
    double wr, lo, hi, p_change, quality, q_lo, q_hi, created_amount, won_amount;
};

struct driver {
    char *dim, *segment;
    int64_t n0, w0, n1, w1;
    double r0, r1, mix, rate, inter, total, p, q;
    int small, significant;
};

struct segrow {
    char *dim, *value;
    int64_t won, lost;
    double wr, lo, hi;
};

struct risk {
    char *crm_id, *name, *account, *owner, *stage, *tier;
    double amount, p_win;
    char reasons[N_REASONS][REASON_MAX];
    size_t n_reasons;
};

struct zombie {
    char *crm_id, *name, *owner, *stage;
    double amount, days_overdue, days_in_stage, stage_p90;
    int overdue, stalled;
};

struct alert {
    char *key, *rule, *severity, *subject, *message, *action, *crm_id;
    double value;
    ri_time as_of;
    int64_t recipients;
};

struct fcrow {
    char label[LABEL_MAX];
    ri_time start, end;
    double won_so_far, open_expected, new_expected, expected, p10, p50, p90, rep;
};

struct rdata {
    ri_time as_of;
    int days;
    /* the diagnosis (diag_run 0: none) */
    int64_t diag_run;
    ri_time diag_as_of;
    char *headline, *volume_quality, *filter;
    int i0, i1; /* the periods compared, -1 none */
    struct period_row *periods;
    size_t n_periods;
    struct driver drivers[MAX_DRIVERS];
    size_t n_drivers;
    struct segrow weak[MAX_WEAK];
    size_t n_weak;
    double m_open, m_zombies, m_live; /* diag_metrics, NAN if absent */
    struct zombie zombies[MAX_LIST];
    size_t n_zombies;
    int64_t z_listed, z_overdue, z_stalled;
    double z_amount;
    /* the model and the scores (score_run 0: none) */
    int64_t model_id, score_run, score_model, scored, n_high, n_at;
    ri_time score_as_of;
    int signal;
    double expected_won, value_at_risk;
    struct risk risk[MAX_LIST];
    size_t n_risk;
    /* the forecast (n_fc 0: none) */
    ri_time fc_as_of;
    struct fcrow fc[2];
    size_t n_fc, fc_main; /* fc_main: the period the headline speaks of */
    /* the latest backtest (bt_n 0: none) */
    int64_t bt_n;
    ri_time bt_from, bt_to;
    double bt_wape, bt_bias, bt_within, bt_coverage, bt_rep_wape, bt_stage_wape;
    /* alerts of the window */
    struct alert alerts[MAX_ALERTS];
    size_t n_alerts;
    int64_t alerts_total;
    char headline_short[768];
};

static void rdata_free(struct rdata *r)
{
    if (!r)
        return;
    ri_free(r->headline);
    ri_free(r->volume_quality);
    ri_free(r->filter);
    ri_free(r->periods);
    for (size_t i = 0; i < r->n_drivers; i++) {
        ri_free(r->drivers[i].dim);
        ri_free(r->drivers[i].segment);
    }
    for (size_t i = 0; i < r->n_weak; i++) {
        ri_free(r->weak[i].dim);
        ri_free(r->weak[i].value);
    }
    for (size_t i = 0; i < r->n_zombies; i++) {
        struct zombie *z = &r->zombies[i];
        ri_free(z->crm_id);
        ri_free(z->name);
        ri_free(z->owner);
        ri_free(z->stage);
    }
    for (size_t i = 0; i < r->n_risk; i++) {
        struct risk *k = &r->risk[i];
        ri_free(k->crm_id);
        ri_free(k->name);
        ri_free(k->account);
        ri_free(k->owner);
        ri_free(k->stage);
        ri_free(k->tier);
    }
    for (size_t i = 0; i < r->n_alerts; i++) {
        struct alert *a = &r->alerts[i];
        ri_free(a->key);
        ri_free(a->rule);
        ri_free(a->severity);
        ri_free(a->subject);
        ri_free(a->message);
        ri_free(a->action);
        ri_free(a->crm_id);
    }
    ri_free(r);
}

/* The column as a new string; NULL for NULL. */
/* The end of a query read row by row: the statement is freed, and "no more rows" (or rows
 * left unread past a cap) is no error. */
static ri_err rows_done(ri_err rc, struct ri_stmt **s)
{
    ri_stmt_free(*s);
    *s = NULL;
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

static char *col_dup(struct ri_stmt *s, int col)
{
    const char *t = ri_stmt_text(s, col, NULL);
    return t ? ri_strdup(t) : NULL;
}

static void col_copy(struct ri_stmt *s, int col, char *out, size_t size)
{
    const char *t = ri_stmt_text(s, col, NULL);
    snprintf(out, size, "%s", t ? t : "");
}

/* Decodes the JSON string literal at *p (its opening quote) into out, truncated to fit;
 * moves *p past it. 0 if the literal is malformed. */
static int json_lit(const char **p, char *out, size_t size)
{
    const char *s = *p + 1;
    size_t n = 0;
    while (*s && *s != '"') {
        unsigned long c = (unsigned char)*s++;
        char u[4];
        size_t k = 1;
        u[0] = (char)c; /* a byte as it is (UTF-8 sequences are copied byte by byte) */
        if (c == '\\') {
            char e = *s++;
            if (e == '\0')
                return 0;
            u[0] = e == 'n'   ? '\n'
                   : e == 't' ? '\t'
                   : e == 'r' ? '\r'
                   : e == 'b' ? '\b'
                   : e == 'f' ? '\f'
                              : e;
            if (e == 'u') {
                c = 0;
                for (int i = 0; i < 4; i++, s++) {
                    char h = *s;
                    int d = h >= '0' && h <= '9'   ? h - '0'
                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                   : -1;
                    if (d < 0)
                        return 0;
                    c = c * 16 + (unsigned long)d;
                }
                if (c >= 0xd800 && c <= 0xdfff)
                    c = 0xfffd; /* surrogates: not worth pairing up here */
                if (c < 0x80) {
                    u[0] = (char)c;
                } else if (c < 0x800) {
                    u[0] = (char)(0xc0 | (c >> 6));
                    u[1] = (char)(0x80 | (c & 0x3f));
                    k = 2;
                } else {
                    u[0] = (char)(0xe0 | (c >> 12));
                    u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
                    u[2] = (char)(0x80 | (c & 0x3f));
                    k = 3;
                }
            }
        }
        if (n + k < size) {
            memcpy(out + n, u, k);
            n += k;
        }
    }
    if (*s != '"')
        return 0;
    out[n] = '\0';
    *p = s + 1;
    return 1;
}

/* The texts of a scores.reasons value: a JSON array of {"feature", "text", ...} objects
 * after an {"other": x} (model.c); a plain text from an older store is one reason. */
static size_t reason_texts(const char *json, char out[][REASON_MAX], size_t max)
{
    const char *p = json;
    char tok[REASON_MAX];
    size_t n = 0;
    if (!json)
        return 0;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    if (*p != '[') {
        if (*p && max) {
            snprintf(out[0], REASON_MAX, "%s", p);
            return 1;
        }
        return 0;
    }
    while (*p && n < max) {
        if (*p != '"') {
            p++;
            continue;
        }
        if (!json_lit(&p, tok, sizeof(tok)))
            break;
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (*p != ':' || strcmp(tok, "text") != 0)
            continue;
        p++;
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (*p == '"' && json_lit(&p, out[n], REASON_MAX))
            n++;
    }
    return n;
}

/* The latest date in the store, as the models take it (model.c): the last day a deal was
 * created or closed. RI_TIME_NONE for a store without deals. */

static ri_err load_diag(struct ri_ctx *ctx, struct ri_store *st, struct rdata *r)
{
    struct ri_stmt *s = NULL;
    char p0[LABEL_MAX] = "", p1[LABEL_MAX] = "";
    size_t cap = 0;
    ri_err rc;

    r->m_open = r->m_zombies = r->m_live = RI_NAN;
    r->i0 = r->i1 = -1;
    /* the whole business before a filtered view; the newest of either */
    rc = ri_stmt_prepare(ctx, st,
                         "SELECT id, as_of, headline, volume_quality, p0, p1, filter FROM "
                         "diag_runs WHERE as_of IS NULL OR as_of <= ?1 ORDER BY filter IS NULL "
                         "DESC, id DESC LIMIT 1",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, r->as_of);
    rc = ri_stmt_step(ctx, s);
    if (rc == RI_OK) {
        r->diag_run = ri_stmt_i64(s, 0);
        r->diag_as_of = ri_stmt_time(s, 1);
        r->headline = col_dup(s, 2);
        r->volume_quality = col_dup(s, 3);
        col_copy(s, 4, p0, sizeof(p0));
        col_copy(s, 5, p1, sizeof(p1));
        r->filter = col_dup(s, 6);
    }
    ri_stmt_free(s);
    s = NULL;
    if (rc == RI_ERR_NOTFOUND)
        return RI_OK;
    if (rc)
        return rc;

    rc = ri_stmt_prepare(ctx, st,
                         "SELECT period, complete, won, lost, win_rate, win_rate_lo, "
                         "win_rate_hi, p_change, quality, quality_lo, quality_hi, created, "
                         "created_amount, won_amount FROM diag_periods WHERE run_id = ?1 ORDER "
                         "BY start",
                         &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->diag_run);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK && r->n_periods < MAX_PERIODS) {
            struct period_row *p;
            RI_GROW(r->periods, cap, r->n_periods + 1);
            p = &r->periods[r->n_periods++];
            col_copy(s, 0, p->label, sizeof(p->label));
            p->complete = (int)ri_stmt_i64(s, 1);
            p->won = ri_stmt_i64(s, 2);
            p->lost = ri_stmt_i64(s, 3);
            p->wr = ri_stmt_f64(s, 4);
            p->lo = ri_stmt_f64(s, 5);
            p->hi = ri_stmt_f64(s, 6);
            p->p_change = ri_stmt_f64(s, 7);
            p->quality = ri_stmt_f64(s, 8);
            p->q_lo = ri_stmt_f64(s, 9);
            p->q_hi = ri_stmt_f64(s, 10);
            p->created = ri_stmt_i64(s, 11);
            p->created_amount = ri_stmt_f64(s, 12);
            p->won_amount = ri_stmt_f64(s, 13);
        }
    }
    rc = rows_done(rc, &s);
    if (rc)
        return rc;
    /* the periods compared: as the run names them, else (a store written before p1 was
     * saved) the last complete period and the one before, as diagnose chooses them */
    for (size_t i = 0; i < r->n_periods; i++) {
        if (p1[0] && !strcmp(r->periods[i].label, p1))
            r->i1 = (int)i;
        if (p0[0] && !strcmp(r->periods[i].label, p0))
            r->i0 = (int)i;
    }
    if (r->i1 < 0) {
        for (size_t i = r->n_periods; i-- > 0;) {
            if (!r->periods[i].complete)
                continue;
            if (r->i1 < 0)
                r->i1 = (int)i;
            else if (r->i0 < 0 && (int)i < r->i1)
                r->i0 = (int)i;
        }
    }

    rc = ri_stmt_prepare(ctx, st,
                         "SELECT dim, segment, n0, w0, n1, w1, r0, r1, mix, rate, interaction, "
                         "total, p, q, small, significant FROM diag_decomposition WHERE run_id = "
                         "?1 ORDER BY significant DESC, small ASC, abs(total) DESC, dim, segment "
                         "LIMIT ?2",
                         &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->diag_run);
        ri_stmt_bind_i64(s, 2, MAX_DRIVERS);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK && r->n_drivers < MAX_DRIVERS) {
            struct driver *d = &r->drivers[r->n_drivers++];
            d->dim = col_dup(s, 0);
            d->segment = col_dup(s, 1);
            d->n0 = ri_stmt_i64(s, 2);
            d->w0 = ri_stmt_i64(s, 3);
            d->n1 = ri_stmt_i64(s, 4);
            d->w1 = ri_stmt_i64(s, 5);
            d->r0 = ri_stmt_f64(s, 6);
            d->r1 = ri_stmt_f64(s, 7);
            d->mix = ri_stmt_f64(s, 8);
            d->rate = ri_stmt_f64(s, 9);
            d->inter = ri_stmt_f64(s, 10);
            d->total = ri_stmt_f64(s, 11);
            d->p = ri_stmt_f64(s, 12);
            d->q = ri_stmt_f64(s, 13);
            d->small = (int)ri_stmt_i64(s, 14);
            d->significant = (int)ri_stmt_i64(s, 15);
        }
    }
    rc = rows_done(rc, &s);

    /* the weakest segments of the last period, reps aside (diagnose judges them against
     * their segment mix) and small ones aside (noise) */
    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "SELECT dim, value, won, lost, win_rate, win_rate_lo, win_rate_hi "
                             "FROM diag_segments WHERE run_id = ?1 AND scope = 'last_period' AND "
                             "small = 0 AND dim NOT IN ('owner', 'manager') AND win_rate IS NOT "
                             "NULL ORDER BY win_rate, dim, value LIMIT ?2",
                             &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->diag_run);
        ri_stmt_bind_i64(s, 2, MAX_WEAK);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK && r->n_weak < MAX_WEAK) {
            struct segrow *g = &r->weak[r->n_weak++];
            g->dim = col_dup(s, 0);
            g->value = col_dup(s, 1);
            g->won = ri_stmt_i64(s, 2);
            g->lost = ri_stmt_i64(s, 3);
            g->wr = ri_stmt_f64(s, 4);
            g->lo = ri_stmt_f64(s, 5);
            g->hi = ri_stmt_f64(s, 6);
        }
    }
    rc = rows_done(rc, &s);

    if (!rc)
        rc = ri_stmt_prepare(ctx, st, "SELECT name, value FROM diag_metrics WHERE run_id = ?1", &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->diag_run);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK) {
            const char *n = ri_stmt_text(s, 0, NULL);
            double v = ri_stmt_f64(s, 1);
            if (!n)
                continue;
            if (!strcmp(n, "open_deals"))
                r->m_open = v;
            else if (!strcmp(n, "zombies"))
                r->m_zombies = v;
            else if (!strcmp(n, "live_pipeline_amount"))
                r->m_live = v;
        }
    }
    rc = rows_done(rc, &s);

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "SELECT count(*), total(overdue), total(stalled), total(amount) "
                             "FROM diag_zombies WHERE run_id = ?1",
                             &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->diag_run);
        rc = ri_stmt_step(ctx, s);
        if (rc == RI_OK) {
            r->z_listed = ri_stmt_i64(s, 0);
            r->z_overdue = (int64_t)ri_stmt_double(s, 1);
            r->z_stalled = (int64_t)ri_stmt_double(s, 2);
            r->z_amount = ri_stmt_double(s, 3);
        }
    }
    rc = rows_done(rc, &s);

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "SELECT z.crm_id, d.name, d.owner, z.stage, z.amount, "
                             "z.days_overdue, z.days_in_stage, z.stage_p90, z.overdue, z.stalled "
                             "FROM diag_zombies z LEFT JOIN deals d ON d.crm_id = z.crm_id WHERE "
                             "z.run_id = ?1 ORDER BY z.amount DESC, z.crm_id LIMIT ?2",
                             &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->diag_run);
        ri_stmt_bind_i64(s, 2, MAX_LIST);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK && r->n_zombies < MAX_LIST) {
            struct zombie *z = &r->zombies[r->n_zombies++];
            z->crm_id = col_dup(s, 0);
            z->name = col_dup(s, 1);
            z->owner = col_dup(s, 2);
            z->stage = col_dup(s, 3);
            z->amount = ri_stmt_f64(s, 4);
            z->days_overdue = ri_stmt_f64(s, 5);
            z->days_in_stage = ri_stmt_f64(s, 6);
            z->stage_p90 = ri_stmt_f64(s, 7);
            z->overdue = (int)ri_stmt_i64(s, 8);
            z->stalled = (int)ri_stmt_i64(s, 9);
        }
    }
    return rows_done(rc, &s);
}

/* Ranking of the deals at risk: the revenue at stake, amount x (1 - P(win)). With a
 * model that has a signal, only the deals it rates "high risk" or "at risk". */
#define RISK_WHERE                                                                                 \
 "FROM scores s JOIN deals d ON d.id = s.deal_id WHERE s.run_id = ?1 AND (?2 = 0 OR s.tier "       \
 "IN ('high risk', 'at risk'))"

static ri_err load_scores(struct ri_ctx *ctx, struct ri_store *st, struct rdata *r)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st, "SELECT max(id) FROM models WHERE active = 1", &s);
    if (!rc)
        rc = ri_stmt_step(ctx, s);
    if (rc == RI_OK)
        r->model_id = ri_stmt_i64(s, 0);
    ri_stmt_free(s);
    s = NULL;
    if (rc && rc != RI_ERR_NOTFOUND)
        return rc;

    rc = ri_stmt_prepare(ctx, st,
                         "SELECT id, as_of, model_id, deals, expected_won, signal FROM "
                         "score_runs WHERE as_of <= ?1 ORDER BY as_of DESC, id DESC LIMIT 1",
                         &s);
    if (!rc) {
        ri_stmt_bind_time(s, 1, r->as_of);
        rc = ri_stmt_step(ctx, s);
    }
    if (rc == RI_OK) {
        r->score_run = ri_stmt_i64(s, 0);
        r->score_as_of = ri_stmt_time(s, 1);
        r->score_model = ri_stmt_i64(s, 2);
        r->scored = ri_stmt_i64(s, 3);
        r->expected_won = ri_stmt_f64(s, 4);
        r->signal = (int)ri_stmt_i64(s, 5);
    }
    ri_stmt_free(s);
    s = NULL;
    if (rc == RI_ERR_NOTFOUND)
        return RI_OK;
    if (rc)
        return rc;

    rc = ri_stmt_prepare(ctx, st,
                         "SELECT total(s.tier = 'high risk'), total(s.tier = 'at risk'), "
                         "total(coalesce(d.amount, 0) * (1 - s.p_win)) " RISK_WHERE,
                         &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->score_run);
        ri_stmt_bind_i64(s, 2, r->signal);
        rc = ri_stmt_step(ctx, s);
        if (rc == RI_OK) {
            r->n_high = (int64_t)ri_stmt_double(s, 0);
            r->n_at = (int64_t)ri_stmt_double(s, 1);
            r->value_at_risk = ri_stmt_double(s, 2);
        }
    }
    rc = rows_done(rc, &s);

    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "SELECT d.crm_id, d.name, d.account, d.owner, d.stage, d.amount, "
                             "s.p_win, s.tier, s.reasons " RISK_WHERE
                             " ORDER BY coalesce(d.amount, 0) * (1 - s.p_win) DESC, d.crm_id "
                             "LIMIT ?3",
                             &s);
    if (!rc) {
        ri_stmt_bind_i64(s, 1, r->score_run);
        ri_stmt_bind_i64(s, 2, r->signal);
        ri_stmt_bind_i64(s, 3, MAX_LIST);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK && r->n_risk < MAX_LIST) {
            struct risk *k = &r->risk[r->n_risk++];
            k->crm_id = col_dup(s, 0);
            k->name = col_dup(s, 1);
            k->account = col_dup(s, 2);
            k->owner = col_dup(s, 3);
            k->stage = col_dup(s, 4);
            k->amount = ri_stmt_f64(s, 5);
            k->p_win = ri_stmt_f64(s, 6);
            k->tier = col_dup(s, 7);
            k->n_reasons = reason_texts(ri_stmt_text(s, 8, NULL), k->reasons, N_REASONS);
        }
    }
    return rows_done(rc, &s);
}

static ri_err load_forecast(struct ri_ctx *ctx, struct ri_store *st, struct rdata *r)
{
    struct ri_stmt *s = NULL;
    ri_err rc =
        ri_stmt_prepare(ctx, st, "SELECT max(as_of) FROM forecast_runs WHERE as_of <= ?1", &s);
    r->fc_as_of = RI_TIME_NONE;
    if (!rc) {
        ri_stmt_bind_time(s, 1, r->as_of);
        rc = ri_stmt_step(ctx, s);
    }
    if (rc == RI_OK)
        r->fc_as_of = ri_stmt_time(s, 0);
    ri_stmt_free(s);
    s = NULL;
    if (rc == RI_ERR_NOTFOUND || (rc == RI_OK && r->fc_as_of == RI_TIME_NONE))
        return RI_OK;
    if (rc)
        return rc;
    rc = ri_stmt_prepare(
        ctx, st,
        "SELECT period, won_so_far, open_expected, new_expected, expected, p10, "
        "p50, p90, rep, start, end FROM forecast_runs WHERE as_of = ?1 ORDER BY start, id "
        "LIMIT 2",
        &s);
    if (!rc) {
        ri_stmt_bind_time(s, 1, r->fc_as_of);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK && r->n_fc < 2) {
            struct fcrow *f = &r->fc[r->n_fc++];
            col_copy(s, 0, f->label, sizeof(f->label));
            f->won_so_far = ri_stmt_f64(s, 1);
            f->open_expected = ri_stmt_f64(s, 2);
            f->new_expected = ri_stmt_f64(s, 3);
            f->expected = ri_stmt_f64(s, 4);
            f->p10 = ri_stmt_f64(s, 5);
            f->p50 = ri_stmt_f64(s, 6);
            f->p90 = ri_stmt_f64(s, 7);
            f->rep = ri_stmt_f64(s, 8);
            f->start = ri_stmt_time(s, 9);
            f->end = ri_stmt_time(s, 10);
        }
    }
    rc = rows_done(rc, &s);
    /* a period that ends within the week has little left to forecast: speak of the next */
    if (r->n_fc == 2 && r->fc[0].end != RI_TIME_NONE && r->fc[0].end - r->fc_as_of <= 7 * DAY)
        r->fc_main = 1;
    return rc;
}

/* The latest backtest: how far the forecast has been from what closed. */
static ri_err load_backtest(struct ri_ctx *ctx, struct ri_store *st, struct rdata *r)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "SELECT n, from_t, to_t, wape, bias, within_band, coverage, "
                                "rep_wape, stage_wape FROM backtest_runs ORDER BY id DESC LIMIT 1",
                                &s);
    r->bt_n = 0;
    if (!rc)
        rc = ri_stmt_step(ctx, s);
    if (rc == RI_OK) {
        r->bt_n = ri_stmt_i64(s, 0);
        r->bt_from = ri_stmt_time(s, 1);
        r->bt_to = ri_stmt_time(s, 2);
        r->bt_wape = ri_stmt_f64(s, 3);
        r->bt_bias = ri_stmt_f64(s, 4);
        r->bt_within = ri_stmt_f64(s, 5);
        r->bt_coverage = ri_stmt_f64(s, 6);
        r->bt_rep_wape = ri_stmt_f64(s, 7);
        r->bt_stage_wape = ri_stmt_f64(s, 8);
    }
    return rows_done(rc, &s);
}

/* "Track record: ..." of the latest backtest, or NULL-free "" when there is none. */
static void track_record(const struct rdata *r, char *out, size_t size)
{
    char a[16], b[16];
    out[0] = '\0';
    if (!r->bt_n)
        return;
    ri_format_date(r->bt_from, a, sizeof(a));
    ri_format_date(r->bt_to, b, sizeof(b));
    snprintf(out, size,
             "Track record (revintel backtest, %lld weekly forecasts from %s to %s): off by "
             "%.1f %% of the actual on average (WAPE), bias %+.1f %%, %.0f %% within 85-115 %% of "
             "the actual, the actual inside P10-P90 %.0f %% of the time; the reps' forecast was "
             "off by %.1f %%.",
             (long long)r->bt_n, a, b, 100 * r->bt_wape, 100 * r->bt_bias, 100 * r->bt_within,
             isnan(r->bt_coverage) ? 0.0 : 100 * r->bt_coverage, 100 * r->bt_rep_wape);
}

/* The alerts raised in (as_of - days, as_of], one line per key (the newest, with the
 * number of recipients it went to), the most severe and costly first. */
static ri_err load_alerts(struct ri_ctx *ctx, struct ri_store *st, struct rdata *r)
{
    struct ri_stmt *s = NULL;
    ri_time from = r->as_of - (ri_time)r->days * DAY;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "SELECT count(DISTINCT key) FROM alerts WHERE as_of > ?1 AND "
                                "as_of <= ?2 AND status <> 'dry_run'",
                                &s);
    if (!rc) {
        ri_stmt_bind_time(s, 1, from);
        ri_stmt_bind_time(s, 2, r->as_of);
        rc = ri_stmt_step(ctx, s);
        if (rc == RI_OK)
            r->alerts_total = ri_stmt_i64(s, 0);
    }
    rc = rows_done(rc, &s);
    if (rc || !r->alerts_total)
        return rc;
    rc = ri_stmt_prepare(ctx, st,
                         "SELECT key, rule, severity, subject, message, action, crm_id, value, "
                         "max(as_of), count(DISTINCT recipient) FROM alerts WHERE as_of > ?1 AND "
                         "as_of <= ?2 AND status <> 'dry_run' GROUP BY key ORDER BY CASE "
                         "severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
                         "value IS NULL, value DESC, key LIMIT ?3",
                         &s);
    if (!rc) {
        ri_stmt_bind_time(s, 1, from);
        ri_stmt_bind_time(s, 2, r->as_of);
        ri_stmt_bind_i64(s, 3, MAX_ALERTS);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK && r->n_alerts < MAX_ALERTS) {
            struct alert *a = &r->alerts[r->n_alerts++];
            a->key = col_dup(s, 0);
            a->rule = col_dup(s, 1);
            a->severity = col_dup(s, 2);
            a->subject = col_dup(s, 3);
            a->message = col_dup(s, 4);
            a->action = col_dup(s, 5);
            a->crm_id = col_dup(s, 6);
            a->value = ri_stmt_f64(s, 7);
            a->as_of = ri_stmt_time(s, 8);
            a->recipients = ri_stmt_i64(s, 9);
        }
    }
    return rows_done(rc, &s);
}

/* "this week" for 7 days, else "in the last N days" */
static void window_words(int days, char *out, size_t size)
{
    if (days == 7)
        snprintf(out, size, "this week");
    else if (days == 1)
        snprintf(out, size, "today");
    else
        snprintf(out, size, "in the last %d days", days);
}

/* The one-line headline: the win rate of the last period against the one before, the
 * forecast of the current period, the revenue at risk, the alerts. Numbers and period
 * labels only (no CRM text), so it can go into an e-mail subject as it is. */
static void compose_headline(struct rdata *r)
{
    struct ri_wbuf w = {RI_BUF_INIT, RI_OK};
    char a[64], b[64], c[64];
    if (r->diag_run && r->i1 >= 0) {
        const struct period_row *p1 = &r->periods[r->i1];
        ri_wbuf_addf(&w, "win rate %s in %s", pct(p1->wr, a, sizeof(a)), p1->label);
        if (r->i0 >= 0)
            ri_wbuf_addf(&w, " (%s in %s)", pct(r->periods[r->i0].wr, b, sizeof(b)),
                         r->periods[r->i0].label);
    }
    if (r->n_fc) {
        const struct fcrow *f = &r->fc[r->fc_main];
        ri_wbuf_addf(&w, "%s%s forecast %s (P10 %s, P90 %s)", w.b.len ? "; " : "", f->label,
                     money_short(f->p50, a, sizeof(a)), money_short(f->p10, b, sizeof(b)),
                     money_short(f->p90, c, sizeof(c)));
    }
    if (r->score_run && r->signal)
        ri_wbuf_addf(&w, "%s%lld high-risk deals", w.b.len ? "; " : "", (long long)r->n_high);
    if (r->alerts_total)
        ri_wbuf_addf(&w, "%s%lld alert%s", w.b.len ? "; " : "", (long long)r->alerts_total,
                     r->alerts_total == 1 ? "" : "s");
    if (!w.b.len)
        ri_wbuf_adds(&w, "no diagnosis, scores or forecast in the store yet");
    snprintf(r->headline_short, sizeof(r->headline_short), "%s", w.rc ? "" : w.b.buf);
    ri_buf_release(&w.b);
}

/* ------------------------------------------------------------------ the parts missing */

enum part { PART_DIAG = 0, PART_SCORES, PART_FORECAST, PART__COUNT };

/* What to run for a missing part ("" if it is there). */
static const char *missing_cmds(const struct rdata *r, enum part p)
{
    switch (p) {
    case PART_DIAG:
        return r->diag_run ? "" : "revintel diagnose";
    case PART_SCORES:
        return r->score_run ? "" : r->model_id ? "revintel score" : "revintel train|revintel score";
    case PART_FORECAST:
        return r->n_fc       ? ""
               : r->model_id ? "revintel forecast"
                             : "revintel train|revintel forecast";
    default:
        return "";
    }
}

static const char *const part_names[PART__COUNT] = {"win rate, drivers and zombie deals",
                                                    "deals at risk", "forecast"};

/* "not available: run `a`, then `b`" with the commands marked up for HTML or Markdown. */
static void w_missing(struct ri_wbuf *w, const char *cmds, int html)
{
    const char *bar = strchr(cmds, '|');
    const char *o = html ? "<code>" : "`", *c = html ? "</code>" : "`";
    if (html)
        ri_wbuf_adds(w, "<p class=\"na\">");
    ri_wbuf_addf(w, "not available: run %s%.*s%s", o, bar ? (int)(bar - cmds) : (int)strlen(cmds),
                 cmds, c);
    if (bar)
        ri_wbuf_addf(w, ", then %s%s%s", o, bar + 1, c);
    ri_wbuf_adds(w, html ? "</p>\n" : "\n");
}

/* ------------------------------------------------------------------ JSON figures */

static void json_periods(struct jw *j, const struct rdata *r)
{
    jw_open(j, '[');
    for (size_t i = 0; i < r->n_periods; i++) {
        const struct period_row *p = &r->periods[i];
        jw_open(j, '{');
        jw_kint(j, "complete", p->complete);
        jw_kint(j, "created", p->created);
        jw_knum(j, "created_amount", p->created_amount);
        jw_kstr(j, "label", p->label);
        jw_kint(j, "lost", p->lost);
        jw_knum(j, "p_change", p->p_change);
        jw_knum(j, "quality", p->quality);
        jw_knum(j, "quality_hi", p->q_hi);
        jw_knum(j, "quality_lo", p->q_lo);
        jw_knum(j, "win_rate", p->wr);
        jw_knum(j, "win_rate_hi", p->hi);
        jw_knum(j, "win_rate_lo", p->lo);
        jw_kint(j, "won", p->won);
        jw_knum(j, "won_amount", p->won_amount);
        jw_close(j, '}');
    }
    jw_close(j, ']');
}

static void json_figures(struct ri_wbuf *w, const struct rdata *r, const char *subject)
{
    struct jw j = {w, 1, 0, 0, 1, 0};
    jw_open(&j, '{');

    jw_key(&j, "alerts");
    jw_open(&j, '{');
    jw_key(&j, "items");
    jw_open(&j, '[');
    for (size_t i = 0; i < r->n_alerts; i++) {
        const struct alert *a = &r->alerts[i];
        jw_open(&j, '{');
        jw_kstr(&j, "action", a->action);
        jw_kdate(&j, "as_of", a->as_of);
        jw_kstr(&j, "crm_id", a->crm_id);
        jw_kstr(&j, "key", a->key);
        jw_kstr(&j, "message", a->message);
        jw_kint(&j, "recipients", a->recipients);
        jw_kstr(&j, "rule", a->rule);
        jw_kstr(&j, "severity", a->severity);
        jw_kstr(&j, "subject", a->subject);
        jw_knum(&j, "value", a->value);
        jw_close(&j, '}');
    }
    jw_close(&j, ']');
    jw_kint(&j, "total", r->alerts_total);
    jw_close(&j, '}');

    jw_kdate(&j, "as_of", r->as_of);

    jw_key(&j, "at_risk");
    if (!r->score_run) {
        jw_null(&j);
    } else {
        jw_open(&j, '{');
        jw_kint(&j, "at_risk", r->n_at);
        jw_key(&j, "deals");
        jw_open(&j, '[');
        for (size_t i = 0; i < r->n_risk; i++) {
            const struct risk *k = &r->risk[i];
            jw_open(&j, '{');
            jw_kstr(&j, "account", k->account);
            jw_knum(&j, "amount", k->amount);
            jw_kstr(&j, "crm_id", k->crm_id);
            jw_kstr(&j, "name", k->name);
            jw_kstr(&j, "owner", k->owner);
            jw_knum(&j, "p_win", k->p_win);
            jw_key(&j, "reasons");
            jw_open(&j, '[');
            for (size_t m = 0; m < k->n_reasons; m++)
                jw_str(&j, k->reasons[m]);
            jw_close(&j, ']');
            jw_kstr(&j, "stage", k->stage);
            jw_kstr(&j, "tier", k->tier);
            jw_close(&j, '}');
        }
        jw_close(&j, ']');
        jw_knum(&j, "expected_won", r->expected_won);
        jw_kint(&j, "high_risk", r->n_high);
        jw_kint(&j, "model_id", r->score_model);
        jw_kint(&j, "scored", r->scored);
        jw_kdate(&j, "scored_as_of", r->score_as_of);
        jw_kint(&j, "signal", r->signal);
        jw_knum(&j, "value_at_risk", r->value_at_risk);
        jw_close(&j, '}');
    }

    jw_kint(&j, "days", r->days);

    jw_key(&j, "diagnosis");
    if (!r->diag_run) {
        jw_null(&j);
    } else {
        jw_open(&j, '{');
        jw_kdate(&j, "as_of", r->diag_as_of);
        jw_kstr(&j, "current", r->i1 >= 0 ? r->periods[r->i1].label : NULL);
        jw_key(&j, "drivers");
        jw_open(&j, '[');
        for (size_t i = 0; i < r->n_drivers; i++) {
            const struct driver *d = &r->drivers[i];
            jw_open(&j, '{');
            jw_kstr(&j, "dim", d->dim);
            jw_knum(&j, "interaction", d->inter);
            jw_knum(&j, "mix", d->mix);
            jw_kint(&j, "n0", d->n0);
            jw_kint(&j, "n1", d->n1);
            jw_knum(&j, "p", d->p);
            jw_knum(&j, "q", d->q);
            jw_knum(&j, "r0", d->r0);
            jw_knum(&j, "r1", d->r1);
            jw_knum(&j, "rate", d->rate);
            jw_kstr(&j, "segment", d->segment);
            jw_kint(&j, "significant", d->significant);
            jw_kint(&j, "small", d->small);
            jw_knum(&j, "total", d->total);
            jw_close(&j, '}');
        }
        jw_close(&j, ']');
        jw_kstr(&j, "filter", r->filter);
        jw_kstr(&j, "headline", r->headline);
        jw_key(&j, "periods");
        json_periods(&j, r);
        jw_kstr(&j, "previous", r->i0 >= 0 ? r->periods[r->i0].label : NULL);
        jw_kint(&j, "run_id", r->diag_run);
        jw_kstr(&j, "volume_quality", r->volume_quality);
        jw_key(&j, "weak_segments");
        jw_open(&j, '[');
        for (size_t i = 0; i < r->n_weak; i++) {
            const struct segrow *g = &r->weak[i];
            jw_open(&j, '{');
            jw_kstr(&j, "dim", g->dim);
            jw_kint(&j, "lost", g->lost);
            jw_kstr(&j, "value", g->value);
            jw_knum(&j, "win_rate", g->wr);
            jw_knum(&j, "win_rate_hi", g->hi);
            jw_knum(&j, "win_rate_lo", g->lo);
            jw_kint(&j, "won", g->won);
            jw_close(&j, '}');
        }
        jw_close(&j, ']');
        jw_close(&j, '}');
    }

    jw_key(&j, "forecast");
    if (!r->n_fc) {
        jw_null(&j);
    } else {
        jw_open(&j, '{');
        jw_kdate(&j, "as_of", r->fc_as_of);
        jw_kstr(&j, "headline_period", r->fc[r->fc_main].label);
        jw_key(&j, "periods");
        jw_open(&j, '[');
        for (size_t i = 0; i < r->n_fc; i++) {
            const struct fcrow *f = &r->fc[i];
            jw_open(&j, '{');
            jw_kdate(&j, "end", f->end);
            jw_knum(&j, "expected", f->expected);
            jw_kstr(&j, "label", f->label);
            jw_knum(&j, "new_expected", f->new_expected);
            jw_knum(&j, "open_expected", f->open_expected);
            jw_knum(&j, "p10", f->p10);
            jw_knum(&j, "p50", f->p50);
            jw_knum(&j, "p90", f->p90);
            jw_knum(&j, "rep", f->rep);
            jw_kdate(&j, "start", f->start);
            jw_knum(&j, "won_so_far", f->won_so_far);
            jw_close(&j, '}');
        }
        jw_close(&j, ']');
        jw_close(&j, '}');
    }

    jw_kstr(&j, "headline", r->headline_short);

    jw_key(&j, "missing");
    jw_open(&j, '[');
    for (int p = 0; p < PART__COUNT; p++) {
        const char *cmds = missing_cmds(r, (enum part)p);
        struct ri_wbuf m = {RI_BUF_INIT, RI_OK};
        if (!*cmds)
            continue;
        ri_wbuf_adds(&m, part_names[p]);
        ri_wbuf_adds(&m, ": ");
        w_missing(&m, cmds, 0);
        if (!m.rc && m.b.len)
            m.b.buf[--m.b.len] = '\0'; /* the newline */
        jw_str(&j, m.rc ? "" : m.b.buf);
        ri_buf_release(&m.b);
    }
    jw_close(&j, ']');

    jw_kstr(&j, "subject", subject);

    jw_key(&j, "zombies");
    if (!r->diag_run) {
        jw_null(&j);
    } else {
        jw_open(&j, '{');
        jw_key(&j, "deals");
        jw_open(&j, '[');
        for (size_t i = 0; i < r->n_zombies; i++) {
            const struct zombie *z = &r->zombies[i];
            jw_open(&j, '{');
            jw_knum(&j, "amount", z->amount);
            jw_kstr(&j, "crm_id", z->crm_id);
            jw_knum(&j, "days_in_stage", z->days_in_stage);
            jw_knum(&j, "days_overdue", z->days_overdue);
            jw_kstr(&j, "name", z->name);
            jw_kint(&j, "overdue", z->overdue);
            jw_kstr(&j, "owner", z->owner);
            jw_kstr(&j, "stage", z->stage);
            jw_knum(&j, "stage_p90", z->stage_p90);
            jw_kint(&j, "stalled", z->stalled);
            jw_close(&j, '}');
        }
        jw_close(&j, ']');
        jw_kint(&j, "listed", r->z_listed);
        jw_knum(&j, "listed_amount", r->z_amount);
        jw_knum(&j, "live_pipeline_amount", r->m_live);
        jw_knum(&j, "open_deals", r->m_open);
        jw_kint(&j, "overdue", r->z_overdue);
        jw_kint(&j, "stalled", r->z_stalled);
        jw_knum(&j, "total", isfinite(r->m_zombies) ? r->m_zombies : (double)r->z_listed);
        jw_close(&j, '}');
    }

    jw_close(&j, '}');
    ri_wbuf_addc(w, '\n');
}

/* ------------------------------------------------------------------ chart data */

/* Opens a chart's data block; the JSON inside is escaped for the <script> context. */
static void chart_block_open(struct ri_wbuf *w, struct jw *j, const char *name)
{
    ri_wbuf_addf(w, "<script type=\"application/json\" id=\"data-%s\">", name);
    *j = (struct jw){w, 0, 1, 0, 1, 0};
    jw_open(j, '{');
}

static void chart_block_close(struct ri_wbuf *w, struct jw *j)
{
    jw_close(j, '}');
    ri_wbuf_adds(w, "</script>\n");
}

static void chart_labels(struct jw *j, const struct rdata *r)
{
    jw_key(j, "labels");
    jw_open(j, '[');
    for (size_t i = 0; i < r->n_periods; i++) {
        char l[LABEL_MAX + 16];
        snprintf(l, sizeof(l), "%s%s", r->periods[i].label,
                 r->periods[i].complete ? "" : " (to date)");
        jw_str(j, l);
    }
    jw_close(j, ']');
}

#define PERIOD_SERIES(j, key, field)                                                               \
 do {                                                                                              \
  jw_key(j, key);                                                                                  \
  jw_open(j, '[');                                                                                 \
  for (size_t i_ = 0; i_ < r->n_periods; i_++)                                                     \
   jw_num(j, (double)r->periods[i_].field);                                                        \
  jw_close(j, ']');                                                                                \
 } while (0)

static void chart_data_winrate(struct ri_wbuf *w, const struct rdata *r)
{
    struct jw j;
    chart_block_open(w, &j, "winrate");
    PERIOD_SERIES(&j, "hi", hi);
    chart_labels(&j, r);
    PERIOD_SERIES(&j, "lo", lo);
    PERIOD_SERIES(&j, "rate", wr);
    chart_block_close(w, &j);
}

static void chart_data_pipeline(struct ri_wbuf *w, const struct rdata *r)
{
    struct jw j;
    chart_block_open(w, &j, "pipeline");
    PERIOD_SERIES(&j, "created", created);
    chart_labels(&j, r);
    PERIOD_SERIES(&j, "quality", quality);
    chart_block_close(w, &j);
}

static void chart_data_drivers(struct ri_wbuf *w, const struct rdata *r)
{
    struct jw j;
    chart_block_open(w, &j, "drivers");
    jw_key(&j, "interaction");
    jw_open(&j, '[');
    for (size_t i = 0; i < r->n_drivers; i++)
        jw_num(&j, r->drivers[i].inter);
    jw_close(&j, ']');
    jw_key(&j, "labels");
    jw_open(&j, '[');
    for (size_t i = 0; i < r->n_drivers; i++)
        jw_str(&j, r->drivers[i].segment ? r->drivers[i].segment : "");
    jw_close(&j, ']');
    jw_key(&j, "mix");
    jw_open(&j, '[');
    for (size_t i = 0; i < r->n_drivers; i++)
        jw_num(&j, r->drivers[i].mix);
    jw_close(&j, ']');
    jw_key(&j, "rate");
    jw_open(&j, '[');
    for (size_t i = 0; i < r->n_drivers; i++)
        jw_num(&j, r->drivers[i].rate);
    jw_close(&j, ']');
    chart_block_close(w, &j);
}

static void chart_data_forecast(struct ri_wbuf *w, const struct rdata *r)
{
    static const char *const keys[] = {"expected", "p10", "p50", "p90", "rep"};
    struct jw j;
    chart_block_open(w, &j, "forecast");
    for (size_t k = 0; k < RI_ARRAY_SIZE(keys); k++) {
        if (k == 1) {
            jw_key(&j, "labels");
            jw_open(&j, '[');
            for (size_t i = 0; i < r->n_fc; i++)
                jw_str(&j, r->fc[i].label);
            jw_close(&j, ']');
        }
        jw_key(&j, keys[k]);
        jw_open(&j, '[');
        for (size_t i = 0; i < r->n_fc; i++) {
            const struct fcrow *f = &r->fc[i];
            jw_num(&j, k == 0   ? f->expected
                       : k == 1 ? f->p10
                       : k == 2 ? f->p50
                       : k == 3 ? f->p90
                                : f->rep);
        }
        jw_close(&j, ']');
    }
    chart_block_close(w, &j);
}

/* ------------------------------------------------------------------ HTML */

static const char css[] =
    ":root{--fg:#1d2330;--muted:#5b6475;--line:#dde1e8;--accent:#2f6fdf;--bad:#c0392b;"
    "--warn:#b9770e}\n"
    "*{box-sizing:border-box}\n"
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;color:var(--fg);"
    "background:#f4f6f9;margin:0}\n"
    "main{max-width:1100px;margin:0 auto;padding:24px}\n"
    "h1{font-size:22px;margin:0}\n"
    "h2{font-size:17px;margin:0 0 8px}\n"
    "h3{font-size:14px;margin:14px 0 6px}\n"
    ".sub,.note{color:var(--muted)}\n"
    ".note{font-size:12px}\n"
    ".headline{font-size:16px;font-weight:600;margin:12px 0 16px}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:12px}\n"
    ".card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px}\n"
    ".card .k{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.05em}\n"
    ".card .v{font-size:22px;font-weight:600;margin:2px 0}\n"
    "section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px;"
    "margin:16px 0}\n"
    ".chart{position:relative;height:280px;margin:8px 0}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;"
    "vertical-align:top}\n"
    "th{color:var(--muted);font-weight:600}\n"
    "td.id{white-space:nowrap}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    ".na{color:var(--muted);font-style:italic}\n"
    ".critical{color:var(--bad);font-weight:600}.warning{color:var(--warn);font-weight:600}\n"
    "code{background:#eef1f5;padding:0 3px;border-radius:3px}\n"
    "ul.reasons{margin:0;padding-left:16px}\n"
    "footer{color:var(--muted);font-size:12px;margin-top:24px}\n"
    "@media print{body{background:#fff}section{break-inside:avoid}}\n";

/* Installed before Chart.js, so that its errors are counted too. */
static const char js_guard[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var body = document.body;\n"
    "  function count(name, n) {\n"
    "    body.setAttribute(name, String(Number(body.getAttribute(name) || 0) + n));\n"
    "  }\n"
    "  function fail(msg) {\n"
    "    count('data-errors', 1);\n"
    "    document.getElementById('report-errors').textContent += msg + '\\n';\n"
    "  }\n"
    "  window.addEventListener('error', function (e) { fail('error: ' + (e.message || e.type)); "
    "});\n"
    "  window.addEventListener('unhandledrejection', function (e) {\n"
    "    fail('unhandled rejection: ' + e.reason);\n"
    "  });\n"
    "  document.addEventListener('securitypolicyviolation', function (e) {\n"
    "    fail('blocked: ' + e.violatedDirective + ' ' + e.blockedURI);\n"
    "  });\n"
    "  window.riReport = {count: count, fail: fail};\n"
    "})();\n";

static const char js_draw[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var R = window.riReport;\n"
    "  if (typeof Chart === 'undefined') { R.fail('Chart.js did not load'); return; }\n"
    "  Chart.defaults.animation = false;\n"
    "  Chart.defaults.maintainAspectRatio = false;\n"
    "  Chart.defaults.font.family = 'system-ui, sans-serif';\n"
    "  var C = {blue: '#2f6fdf', band: 'rgba(47,111,223,0.18)', grey: '#8a93a5',\n"
    "           red: '#c0392b', green: '#1e8449', orange: '#d68910'};\n"
    "  function pct(v) { return v == null ? null : Math.round(v * 1000) / 10; }\n"
    "  function draw(name, make) {\n"
    "    var cv = document.getElementById('chart-' + name);\n"
    "    var el = document.getElementById('data-' + name);\n"
    "    if (!cv || !el) return;\n"
    "    try {\n"
    "      var chart = new Chart(cv, make(JSON.parse(el.textContent))), n = 0;\n"
    "      chart.data.datasets.forEach(function (ds, i) {\n"
    "        n += chart.getDatasetMeta(i).data.length;\n"
    "      });\n"
    "      cv.setAttribute('data-points', String(n));\n"
    "      R.count('data-charts', 1);\n"
    "      R.count('data-points', n);\n"
    "    } catch (e) {\n"
    "      R.fail(name + ': ' + e.message);\n"
    "    }\n"
    "  }\n"
    "  draw('winrate', function (d) {\n"
    "    return {type: 'line', data: {labels: d.labels, datasets: [\n"
    "      {label: 'low', data: d.lo.map(pct), borderWidth: 0, pointRadius: 0, fill: false},\n"
    "      {label: '95 % interval', data: d.hi.map(pct), borderWidth: 0, pointRadius: 0,\n"
    "       backgroundColor: C.band, fill: '-1'},\n"
    "      {label: 'win rate', data: d.rate.map(pct), borderColor: C.blue,\n"
    "       backgroundColor: C.blue, tension: 0.2}]},\n"
    "      options: {spanGaps: true,\n"
    "        plugins: {legend: {labels: {filter: function (it) { return it.datasetIndex > 0; "
    "}}}},\n"
    "        scales: {y: {beginAtZero: true, title: {display: true, text: 'win rate, %'}}}}};\n"
    "  });\n"
    "  draw('forecast', function (d) {\n"
    "    return {type: 'bar', data: {labels: d.labels, datasets: [\n"
    "      {type: 'bar', label: 'P10 to P90', backgroundColor: C.band, borderColor: C.blue,\n"
    "       borderWidth: 1, data: d.p10.map(function (v, i) { return [v, d.p90[i]]; })},\n"
    "      {type: 'line', label: 'P50', data: d.p50, showLine: false, pointStyle: 'line',\n"
    "       pointRadius: 14, borderWidth: 3, borderColor: C.blue},\n"
    "      {type: 'line', label: 'expected', data: d.expected, showLine: false, pointRadius: 5,\n"
    "       borderColor: C.green, backgroundColor: C.green},\n"
    "      {type: 'line', label: 'reps\\u2019 forecast', data: d.rep, showLine: false,\n"
    "       pointRadius: 7, pointStyle: 'triangle', borderColor: C.red, backgroundColor: "
    "C.red}]},\n"
    "      options: {scales: {y: {beginAtZero: true, title: {display: true, text: 'revenue'}}}}};\n"
    "  });\n"
    "  draw('pipeline', function (d) {\n"
    "    return {type: 'bar', data: {labels: d.labels, datasets: [\n"
    "      {type: 'bar', label: 'deals created', data: d.created, yAxisID: 'y',\n"
    "       backgroundColor: 'rgba(138,147,165,0.55)'},\n"
    "      {type: 'line', label: 'pipeline quality: won / reached a late stage, %',\n"
    "       data: d.quality.map(pct), yAxisID: 'q', borderColor: C.orange,\n"
    "       backgroundColor: C.orange, tension: 0.2}]},\n"
    "      options: {spanGaps: true, scales: {\n"
    "        y: {beginAtZero: true, position: 'left', title: {display: true, text: 'deals "
    "created'}},\n"
    "        q: {min: 0, max: 100, position: 'right', grid: {drawOnChartArea: false},\n"
    "            title: {display: true, text: 'quality, %'}}}}};\n"
    "  });\n"
    "  draw('drivers', function (d) {\n"
    "    return {type: 'bar', data: {labels: d.labels, datasets: [\n"
    "      {label: 'mix', data: d.mix.map(pct), backgroundColor: C.grey},\n"
    "      {label: 'rate', data: d.rate.map(pct), backgroundColor: C.blue},\n"
    "      {label: 'interaction', data: d.interaction.map(pct), backgroundColor: C.orange}]},\n"
    "      options: {indexAxis: 'y', scales: {\n"
    "        x: {stacked: true, title: {display: true, text: 'share of the change of the win "
    "rate, points'}},\n"
    "        y: {stacked: true}}}};\n"
    "  });\n"
    "})();\n";

static void h_card(struct ri_wbuf *w, const char *k, const char *v, const char *note)
{
    ri_wbuf_adds(w, "<div class=\"card\"><div class=\"k\">");
    ri_wbuf_add_html(w, k, RI_HTML_NL_KEEP);
    ri_wbuf_adds(w, "</div><div class=\"v\">");
    ri_wbuf_add_html(w, v, RI_HTML_NL_KEEP);
    ri_wbuf_adds(w, "</div><div class=\"note\">");
    ri_wbuf_add_html(w, note, RI_HTML_NL_KEEP);
    ri_wbuf_adds(w, "</div></div>\n");
}

/* A table cell: num 1 a number (right-aligned), 2 a deal id (not wrapped). */
static void h_td(struct ri_wbuf *w, const char *s, int num)
{
    ri_wbuf_adds(w, num == 2 ? "<td class=\"id\">" : num ? "<td class=\"n\">" : "<td>");
    ri_wbuf_add_html(w, s, RI_HTML_NL_KEEP);
    ri_wbuf_adds(w, "</td>");
}

static void h_th(struct ri_wbuf *w, const char *const *cols, const int *num, size_t n)
{
    ri_wbuf_adds(w, "<table><thead><tr>");
    for (size_t i = 0; i < n; i++) {
        ri_wbuf_adds(w, num[i] ? "<th class=\"n\">" : "<th>");
        ri_wbuf_add_html(w, cols[i], RI_HTML_NL_KEEP);
        ri_wbuf_adds(w, "</th>");
    }
    ri_wbuf_adds(w, "</tr></thead><tbody>\n");
}

static void h_cards(struct ri_wbuf *w, const struct rdata *r)
{
    char a[64], b[64], c[64], note[160];
    ri_wbuf_adds(w, "<div class=\"cards\">\n");
    if (r->diag_run && r->i1 >= 0) {
        const struct period_row *p = &r->periods[r->i1];
        if (r->i0 >= 0)
            snprintf(note, sizeof(note), "95 %% interval %.1f-%.1f; %s in %s", 100.0 * p->lo,
                     100.0 * p->hi, pct(r->periods[r->i0].wr, b, sizeof(b)),
                     r->periods[r->i0].label);
        else
            snprintf(note, sizeof(note), "95 %% interval %.1f-%.1f", 100.0 * p->lo, 100.0 * p->hi);
        snprintf(c, sizeof(c), "Win rate %s", p->label);
        h_card(w, c, pct(p->wr, a, sizeof(a)), note);
    } else {
        h_card(w, "Win rate", "\xe2\x80\x93", "not available");
    }
    if (r->n_fc) {
        const struct fcrow *f = &r->fc[r->fc_main];
        char e[64];
        snprintf(c, sizeof(c), "Forecast %s (P50)", f->label);
        snprintf(note, sizeof(note), "P10 %s, P90 %s; reps' forecast %s",
                 money_short(f->p10, a, sizeof(a)), money_short(f->p90, b, sizeof(b)),
                 money_short(f->rep, e, sizeof(e)));
        h_card(w, c, money_short(f->p50, a, sizeof(a)), note);
    } else {
        h_card(w, "Forecast", "\xe2\x80\x93", "not available");
    }
    if (r->score_run) {
        snprintf(note, sizeof(note), "%lld high risk, %lld at risk of %lld open deals",
                 (long long)r->n_high, (long long)r->n_at, (long long)r->scored);
        h_card(w, "Revenue at risk", money_short(r->value_at_risk, a, sizeof(a)), note);
    } else {
        h_card(w, "Revenue at risk", "\xe2\x80\x93", "not available");
    }
    if (r->diag_run) {
        double n = isfinite(r->m_zombies) ? r->m_zombies : (double)r->z_listed;
        snprintf(a, sizeof(a), "%.0f", n);
        if (isfinite(r->m_open))
            snprintf(note, sizeof(note), "of %.0f open deals", r->m_open);
        else
            note[0] = '\0';
        h_card(w, "Stalled or zombie deals", a, note);
    }
    snprintf(a, sizeof(a), "%lld", (long long)r->alerts_total);
    window_words(r->days, note, sizeof(note));
    h_card(w, "Alerts", a, note);
    ri_wbuf_adds(w, "</div>\n");
}

static void h_winrate(struct ri_wbuf *w, const struct rdata *r)
{
    char a[64], b[64], c[64];
    ri_wbuf_adds(w, "<section id=\"winrate\"><h2>Win rate</h2>\n");
    if (!r->diag_run) {
        w_missing(w, missing_cmds(r, PART_DIAG), 1);
        ri_wbuf_adds(w, "</section>\n");
        return;
    }
    if (r->headline) {
        ri_wbuf_adds(w, "<p>");
        ri_wbuf_add_html(w, r->headline, RI_HTML_NL_KEEP);
        ri_wbuf_adds(w, "</p>\n");
    }
    if (r->filter) {
        ri_wbuf_adds(w, "<p class=\"note\">Diagnosis filtered to ");
        ri_wbuf_add_html(w, r->filter, RI_HTML_NL_KEEP);
        ri_wbuf_adds(w, ".</p>\n");
    }
    if (r->n_periods) {
        ri_wbuf_adds(w,
                     "<div class=\"chart\"><canvas id=\"chart-winrate\" data-points=\"0\" "
                     "aria-label=\"win rate by period with its 95 % interval\"></canvas></div>\n");
        chart_data_winrate(w, r);
    }
    if (r->n_drivers) {
        static const char *const cols[] = {"segment",     "deals", "win rate", "mix", "rate",
                                           "interaction", "total", "q",        ""};
        static const int num[] = {0, 1, 1, 1, 1, 1, 1, 1, 0};
        int hgt = 60 + 30 * (int)r->n_drivers;
        ri_wbuf_adds(w, "<h3>Drivers of the change");
        if (r->i0 >= 0 && r->i1 >= 0) {
            ri_wbuf_adds(w, " from ");
            ri_wbuf_add_html(w, r->periods[r->i0].label, RI_HTML_NL_KEEP);
            ri_wbuf_adds(w, " to ");
            ri_wbuf_add_html(w, r->periods[r->i1].label, RI_HTML_NL_KEEP);
        }
        ri_wbuf_adds(
            w, "</h3>\n<p class=\"note\">Each segment's share of the change of the overall "
               "win rate: mix (more or fewer of its deals), rate (its own win rate moved) and "
               "their interaction; within a dimension they add up to the whole change. "
               "Segments of different dimensions overlap.</p>\n");
        ri_wbuf_addf(w,
                     "<div class=\"chart\" style=\"height:%dpx\"><canvas id=\"chart-drivers\" "
                     "data-points=\"0\" aria-label=\"drivers of the change\"></canvas></div>\n",
                     hgt);
        chart_data_drivers(w, r);
        h_th(w, cols, num, RI_ARRAY_SIZE(cols));
        for (size_t i = 0; i < r->n_drivers; i++) {
            const struct driver *d = &r->drivers[i];
            char deals[64], rates[160];
            snprintf(deals, sizeof(deals), "%lld \xe2\x86\x92 %lld", (long long)d->n0,
                     (long long)d->n1);
            snprintf(rates, sizeof(rates), "%s \xe2\x86\x92 %s", pct(d->r0, a, sizeof(a)),
                     pct(d->r1, b, sizeof(b)));
            ri_wbuf_adds(w, "<tr>");
            h_td(w, d->segment, 0);
            h_td(w, deals, 1);
            h_td(w, rates, 1);
            h_td(w, points(d->mix, a, sizeof(a)), 1);
            h_td(w, points(d->rate, a, sizeof(a)), 1);
            h_td(w, points(d->inter, a, sizeof(a)), 1);
            h_td(w, points(d->total, a, sizeof(a)), 1);
            h_td(w, pval(d->q, c, sizeof(c)), 1);
            h_td(w, d->significant ? "significant" : d->small ? "small segment" : "", 0);
            ri_wbuf_adds(w, "</tr>\n");
        }
        ri_wbuf_adds(w, "</tbody></table>\n");
    }
    if (r->n_weak) {
        static const char *const cols[] = {"segment", "closed", "won", "win rate [95 % interval]"};
        static const int num[] = {0, 1, 1, 1};
        ri_wbuf_adds(w, "<h3>Lowest win rates");
        if (r->i1 >= 0) {
            ri_wbuf_adds(w, " in ");
            ri_wbuf_add_html(w, r->periods[r->i1].label, RI_HTML_NL_KEEP);
        }
        ri_wbuf_adds(w, "</h3>\n");
        h_th(w, cols, num, RI_ARRAY_SIZE(cols));
        for (size_t i = 0; i < r->n_weak; i++) {
            const struct segrow *g = &r->weak[i];
            char seg[64];
            ri_wbuf_adds(w, "<tr><td>");
            ri_wbuf_add_html(w, g->dim, RI_HTML_NL_KEEP);
            ri_wbuf_adds(w, " = ");
            ri_wbuf_add_html(w, g->value, RI_HTML_NL_KEEP);
            ri_wbuf_adds(w, "</td>");
            snprintf(seg, sizeof(seg), "%lld", (long long)(g->won + g->lost));
            h_td(w, seg, 1);
            snprintf(seg, sizeof(seg), "%lld", (long long)g->won);
            h_td(w, seg, 1);
            h_td(w, pct_ci(g->wr, g->lo, g->hi, a, sizeof(a)), 1);
            ri_wbuf_adds(w, "</tr>\n");
        }
        ri_wbuf_adds(w, "</tbody></table>\n");
    }
    ri_wbuf_adds(w, "</section>\n");
}

static void h_pipeline(struct ri_wbuf *w, const struct rdata *r)
{
    ri_wbuf_adds(w, "<section id=\"pipeline\"><h2>Pipeline volume and quality</h2>\n");
    if (!r->diag_run) {
        w_missing(w, missing_cmds(r, PART_DIAG), 1);
    } else {
        if (r->volume_quality) {
            ri_wbuf_adds(w, "<p>");
            ri_wbuf_add_html(w, r->volume_quality, RI_HTML_NL_KEEP);
            ri_wbuf_adds(w, "</p>\n");
        }
        if (r->n_periods) {
            ri_wbuf_adds(w, "<div class=\"chart\"><canvas id=\"chart-pipeline\" data-points=\"0\" "
                            "aria-label=\"deals created and pipeline quality by period\"></canvas>"
                            "</div>\n");
            chart_data_pipeline(w, r);
        }
    }
    ri_wbuf_adds(w, "</section>\n");
}

static void h_forecast(struct ri_wbuf *w, const struct rdata *r)
{
    static const char *const cols[] = {"period",       "won so far", "open deals",
                                       "new pipeline", "expected",   "P10",
                                       "P50",          "P90",        "reps' forecast"};
    static const int num[] = {0, 1, 1, 1, 1, 1, 1, 1, 1};
    char a[64], d[16];
    ri_wbuf_adds(w, "<section id=\"forecast\"><h2>Forecast</h2>\n");
    if (!r->n_fc) {
        w_missing(w, missing_cmds(r, PART_FORECAST), 1);
        ri_wbuf_adds(w, "</section>\n");
        return;
    }
    ri_format_date(r->fc_as_of, d, sizeof(d));
    ri_wbuf_addf(w,
                 "<p class=\"note\">As of %s: closed won so far, plus each open deal's calibrated "
                 "P(win) times its chance to close inside the period, plus pipeline not yet "
                 "created; P10/P50/P90 from the Monte Carlo, next to the reps' forecast "
                 "(probability x amount).</p>\n",
                 d);
    ri_wbuf_adds(w, "<div class=\"chart\"><canvas id=\"chart-forecast\" data-points=\"0\" "
                    "aria-label=\"forecast range against the reps' forecast\"></canvas></div>\n");
    chart_data_forecast(w, r);
    h_th(w, cols, num, RI_ARRAY_SIZE(cols));
    for (size_t i = 0; i < r->n_fc; i++) {
        const struct fcrow *f = &r->fc[i];
        ri_wbuf_adds(w, "<tr>");
        h_td(w, f->label, 0);
        h_td(w, money(f->won_so_far, a, sizeof(a)), 1);
        h_td(w, money(f->open_expected, a, sizeof(a)), 1);
        h_td(w, money(f->new_expected, a, sizeof(a)), 1);
        h_td(w, money(f->expected, a, sizeof(a)), 1);
        h_td(w, money(f->p10, a, sizeof(a)), 1);
        h_td(w, money(f->p50, a, sizeof(a)), 1);
        h_td(w, money(f->p90, a, sizeof(a)), 1);
        h_td(w, money(f->rep, a, sizeof(a)), 1);
        ri_wbuf_adds(w, "</tr>\n");
    }
    ri_wbuf_adds(w, "</tbody></table>\n");
    {
        char tr[600];
        track_record(r, tr, sizeof(tr));
        if (tr[0]) {
            ri_wbuf_adds(w, "<p class=\"note\" id=\"track-record\">");
            ri_wbuf_add_html(w, tr, RI_HTML_NL_KEEP);
            ri_wbuf_adds(w, "</p>\n");
        }
    }
    ri_wbuf_adds(w, "</section>\n");
}

static void h_risk(struct ri_wbuf *w, const struct rdata *r)
{
    static const char *const cols[] = {"deal",   "name",   "account", "owner", "stage",
                                       "amount", "P(win)", "tier",    "why"};
    static const int num[] = {0, 0, 0, 0, 0, 1, 1, 0, 0};
    char a[64], d[16];
    ri_wbuf_adds(w, "<section id=\"risk\"><h2>Deals at risk</h2>\n");
    if (!r->score_run) {
        w_missing(w, missing_cmds(r, PART_SCORES), 1);
        ri_wbuf_adds(w, "</section>\n");
        return;
    }
    ri_format_date(r->score_as_of, d, sizeof(d));
    ri_wbuf_addf(w,
                 "<p class=\"note\">Scored %s by model %lld: %lld open deals, %lld high risk and "
                 "%lld at risk; the largest revenue at stake (amount x (1 - P(win))) first.",
                 d, (long long)r->score_model, (long long)r->scored, (long long)r->n_high,
                 (long long)r->n_at);
    if (!r->signal)
        ri_wbuf_adds(w, " The model found no reliable signal when it was trained: read the scores "
                        "with care.");
    ri_wbuf_adds(w, "</p>\n");
    if (!r->n_risk) {
        ri_wbuf_adds(w, "<p>No open deal at risk.</p>\n</section>\n");
        return;
    }
    h_th(w, cols, num, RI_ARRAY_SIZE(cols));
    for (size_t i = 0; i < r->n_risk; i++) {
        const struct risk *k = &r->risk[i];
        ri_wbuf_adds(w, "<tr>");
        h_td(w, k->crm_id, 2);
        h_td(w, k->name, 0);
        h_td(w, k->account, 0);
        h_td(w, k->owner, 0);
        h_td(w, k->stage, 0);
        h_td(w, money(k->amount, a, sizeof(a)), 1);
        h_td(w, pct(k->p_win, a, sizeof(a)), 1);
        h_td(w, k->tier, 0);
        ri_wbuf_adds(w, "<td><ul class=\"reasons\">");
        for (size_t m = 0; m < k->n_reasons; m++) {
            ri_wbuf_adds(w, "<li>");
            ri_wbuf_add_html(w, k->reasons[m], RI_HTML_NL_KEEP);
            ri_wbuf_adds(w, "</li>");
        }
        ri_wbuf_adds(w, "</ul></td></tr>\n");
    }
    ri_wbuf_adds(w, "</tbody></table>\n</section>\n");
}

static void h_zombies(struct ri_wbuf *w, const struct rdata *r)
{
    static const char *const cols[] = {"deal",   "name",         "owner",         "stage",
                                       "amount", "days overdue", "days in stage", "stage P90 (won)",
                                       ""};
    static const int num[] = {0, 0, 0, 0, 1, 1, 1, 1, 0};
    char a[64];
    ri_wbuf_adds(w, "<section id=\"zombies\"><h2>Stalled and zombie deals</h2>\n");
    if (!r->diag_run) {
        w_missing(w, missing_cmds(r, PART_DIAG), 1);
        ri_wbuf_adds(w, "</section>\n");
        return;
    }
    ri_wbuf_addf(w,
                 "<p>%.0f open deals have a close date in the past or sit in their stage longer "
                 "than 90 %% of won deals did",
                 isfinite(r->m_zombies) ? r->m_zombies : (double)r->z_listed);
    if (isfinite(r->m_open))
        ri_wbuf_addf(w, " (of %.0f open deals)", r->m_open);
    if (isfinite(r->m_live))
        ri_wbuf_addf(w, "; the live pipeline without them is %s", money(r->m_live, a, sizeof(a)));
    ri_wbuf_adds(w, ".</p>\n");
    if (!r->n_zombies) {
        ri_wbuf_adds(w, "</section>\n");
        return;
    }
    ri_wbuf_adds(w, "<h3>The largest</h3>\n");
    h_th(w, cols, num, RI_ARRAY_SIZE(cols));
    for (size_t i = 0; i < r->n_zombies; i++) {
        const struct zombie *z = &r->zombies[i];
        ri_wbuf_adds(w, "<tr>");
        h_td(w, z->crm_id, 2);
        h_td(w, z->name, 0);
        h_td(w, z->owner, 0);
        h_td(w, z->stage, 0);
        h_td(w, money(z->amount, a, sizeof(a)), 1);
        h_td(w, days_str(z->days_overdue, a, sizeof(a)), 1);
        h_td(w, days_str(z->days_in_stage, a, sizeof(a)), 1);
        h_td(w, days_str(z->stage_p90, a, sizeof(a)), 1);
        h_td(w,
             z->overdue && z->stalled ? "overdue, stalled"
             : z->overdue             ? "overdue"
                                      : "stalled",
             0);
        ri_wbuf_adds(w, "</tr>\n");
    }
    ri_wbuf_adds(w, "</tbody></table>\n</section>\n");
}

static void h_alerts(struct ri_wbuf *w, const struct rdata *r)
{
    char words[64], a[64];
    window_words(r->days, words, sizeof(words));
    ri_wbuf_addf(w, "<section id=\"alerts\"><h2>Alerts %s</h2>\n", words);
    if (!r->alerts_total) {
        ri_wbuf_addf(w, "<p>No alerts %s.</p>\n</section>\n", words);
        return;
    }
    ri_wbuf_adds(w, "<table><thead><tr><th>severity</th><th>alert</th><th>action</th><th "
                    "class=\"n\">at stake</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < r->n_alerts; i++) {
        const struct alert *al = &r->alerts[i];
        const char *sev = al->severity ? al->severity : "";
        ri_wbuf_adds(w, "<tr><td class=\"");
        ri_wbuf_add_html(w, !strcmp(sev, "critical") || !strcmp(sev, "warning") ? sev : "info",
                         RI_HTML_NL_KEEP);
        ri_wbuf_adds(w, "\">");
        ri_wbuf_add_html(w, sev, RI_HTML_NL_KEEP);
        ri_wbuf_adds(w, "</td><td><strong>");
        ri_wbuf_add_html(w, al->subject, RI_HTML_NL_KEEP);
        ri_wbuf_adds(w, "</strong><br>");
        ri_wbuf_add_html(w, al->message, RI_HTML_NL_KEEP);
        ri_wbuf_adds(w, "</td>");
        h_td(w, al->action ? al->action : "", 0);
        h_td(w, isfinite(al->value) ? money(al->value, a, sizeof(a)) : "", 1);
        ri_wbuf_adds(w, "</tr>\n");
    }
    ri_wbuf_adds(w, "</tbody></table>\n");
    if (r->alerts_total > (int64_t)r->n_alerts)
        ri_wbuf_addf(w, "<p class=\"note\">and %lld more.</p>\n",
                     (long long)(r->alerts_total - (int64_t)r->n_alerts));
    ri_wbuf_adds(w, "</section>\n");
}

static void html_doc(struct ri_wbuf *w, const struct rdata *r, const char *title,
                     const char *chartjs, size_t chartjs_len)
{
    char d[16];
    ri_format_date(r->as_of, d, sizeof(d));
    ri_wbuf_adds(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                    "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
                    "<title>");
    ri_wbuf_add_html(w, title, RI_HTML_NL_KEEP);
    ri_wbuf_adds(w, "</title>\n<style>\n");
    ri_wbuf_adds(w, css);
    ri_wbuf_adds(w, "</style>\n</head>\n"
                    "<body data-charts=\"0\" data-points=\"0\" data-errors=\"0\">\n"
                    "<pre id=\"report-errors\" hidden></pre>\n"
                    "<script>\n");
    ri_wbuf_adds(w, js_guard);
    ri_wbuf_adds(w, "</script>\n<main>\n<header><h1>");
    ri_wbuf_add_html(w, title, RI_HTML_NL_KEEP);
    ri_wbuf_addf(w, "</h1>\n<div class=\"sub\">As of %s, looking back %d day%s.</div>\n", d,
                 r->days, r->days == 1 ? "" : "s");
    ri_wbuf_adds(w, "<p class=\"headline\">");
    ri_wbuf_add_html(w, r->headline_short, RI_HTML_NL_KEEP);
    ri_wbuf_adds(w, "</p>\n</header>\n");
    h_cards(w, r);
    h_winrate(w, r);
    h_forecast(w, r);
    h_pipeline(w, r);
    h_risk(w, r);
    h_zombies(w, r);
    h_alerts(w, r);
    ri_wbuf_adds(w, "<footer>revintel " RI_VERSION ": built from the store's tables");
    if (r->diag_run && r->diag_as_of != RI_TIME_NONE) {
        ri_format_date(r->diag_as_of, d, sizeof(d));
        ri_wbuf_addf(w, "; diagnosis as of %s (run %lld)", d, (long long)r->diag_run);
    } else if (r->diag_run) {
        ri_wbuf_addf(w, "; diagnosis run %lld", (long long)r->diag_run);
    }
    if (r->score_run)
        ri_wbuf_addf(w, "; score run %lld", (long long)r->score_run);
    if (r->n_fc) {
        ri_format_date(r->fc_as_of, d, sizeof(d));
        ri_wbuf_addf(w, "; forecast of %s", d);
    }
    ri_wbuf_adds(w, ".</footer>\n</main>\n<script>\n");
    ri_wbuf_addn(w, chartjs, chartjs_len);
    ri_wbuf_adds(w, "\n</script>\n<script>\n");
    ri_wbuf_adds(w, js_draw);
    ri_wbuf_adds(w, "</script>\n</body>\n</html>\n");
}

/* ------------------------------------------------------------------ Markdown */

static void m_row(struct ri_wbuf *w, const char *const *cells, size_t n, const int *crm)
{
    ri_wbuf_adds(w, "|");
    for (size_t i = 0; i < n; i++) {
        ri_wbuf_addc(w, ' ');
        w_md(w, cells[i] ? cells[i] : "", crm && crm[i] ? MD_CRM : MD_OWN);
        ri_wbuf_adds(w, " |");
    }
    ri_wbuf_addc(w, '\n');
}

static void m_head(struct ri_wbuf *w, const char *const *cols, const int *num, size_t n)
{
    m_row(w, cols, n, NULL);
    ri_wbuf_adds(w, "|");
    for (size_t i = 0; i < n; i++)
        ri_wbuf_adds(w, num[i] ? " ---: |" : " --- |");
    ri_wbuf_addc(w, '\n');
}

static void markdown_doc(struct ri_wbuf *w, const struct rdata *r, const char *title)
{
    char a[64], b[64], c[64], e[64], f[64], g[64], h[64], k[64], l[64], d[16], words[64];
    ri_wbuf_adds(w, "# ");
    w_md(w, title, MD_OWN);
    ri_wbuf_adds(w, "\n\n**");
    w_md(w, r->headline_short, MD_PROSE);
    ri_wbuf_adds(w, "**\n\n");
    ri_format_date(r->as_of, d, sizeof(d));
    ri_wbuf_addf(w, "As of %s, looking back %d day%s.\n\n", d, r->days, r->days == 1 ? "" : "s");

    ri_wbuf_adds(w, "## Win rate\n\n");
    if (!r->diag_run) {
        w_missing(w, missing_cmds(r, PART_DIAG), 0);
    } else {
        static const char *const cols[] = {"period",  "closed", "won", "win rate [95 % interval]",
                                           "created", "quality"};
        static const int num[] = {0, 1, 1, 1, 1, 1};
        size_t from = r->n_periods > 6 ? r->n_periods - 6 : 0;
        if (r->headline) {
            w_md(w, r->headline, MD_PROSE);
            ri_wbuf_adds(w, "\n\n");
        }
        if (r->n_periods) {
            m_head(w, cols, num, RI_ARRAY_SIZE(cols));
            for (size_t i = from; i < r->n_periods; i++) {
                const struct period_row *p = &r->periods[i];
                const char *cells[6];
                char label[LABEL_MAX + 16];
                snprintf(label, sizeof(label), "%s%s", p->label, p->complete ? "" : " (to date)");
                snprintf(a, sizeof(a), "%lld", (long long)(p->won + p->lost));
                snprintf(b, sizeof(b), "%lld", (long long)p->won);
                snprintf(e, sizeof(e), "%lld", (long long)p->created);
                cells[0] = label;
                cells[1] = a;
                cells[2] = b;
                cells[3] = pct_ci(p->wr, p->lo, p->hi, c, sizeof(c));
                cells[4] = e;
                cells[5] = pct(p->quality, f, sizeof(f));
                m_row(w, cells, 6, NULL);
            }
            ri_wbuf_addc(w, '\n');
        }
        if (r->n_drivers) {
            static const char *const dcols[] = {"segment",     "deals", "win rate", "mix", "rate",
                                                "interaction", "total", "q",        ""};
            static const int dnum[] = {0, 1, 1, 1, 1, 1, 1, 1, 0};
            static const int dcrm[] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
            ri_wbuf_adds(w, "### Drivers of the change");
            if (r->i0 >= 0 && r->i1 >= 0)
                ri_wbuf_addf(w, " from %s to %s", r->periods[r->i0].label, r->periods[r->i1].label);
            ri_wbuf_adds(w, "\n\n");
            m_head(w, dcols, dnum, RI_ARRAY_SIZE(dcols));
            for (size_t i = 0; i < r->n_drivers; i++) {
                const struct driver *dr = &r->drivers[i];
                const char *cells[9];
                char deals[64], rates[160];
                snprintf(deals, sizeof(deals), "%lld -> %lld", (long long)dr->n0,
                         (long long)dr->n1);
                snprintf(rates, sizeof(rates), "%s -> %s", pct(dr->r0, a, sizeof(a)),
                         pct(dr->r1, b, sizeof(b)));
                cells[0] = dr->segment;
                cells[1] = deals;
                cells[2] = rates;
                cells[3] = points(dr->mix, c, sizeof(c));
                cells[4] = points(dr->rate, e, sizeof(e));
                cells[5] = points(dr->inter, f, sizeof(f));
                cells[6] = points(dr->total, g, sizeof(g));
                cells[7] = pval(dr->q, h, sizeof(h));
                cells[8] = dr->significant ? "significant" : dr->small ? "small segment" : "";
                m_row(w, cells, 9, dcrm);
            }
            ri_wbuf_addc(w, '\n');
        }
    }

    ri_wbuf_adds(w, "## Forecast\n\n");
    if (!r->n_fc) {
        w_missing(w, missing_cmds(r, PART_FORECAST), 0);
    } else {
        static const char *const cols[] = {"period", "won so far", "expected",      "P10",
                                           "P50",    "P90",        "reps' forecast"};
        static const int num[] = {0, 1, 1, 1, 1, 1, 1};
        ri_format_date(r->fc_as_of, d, sizeof(d));
        ri_wbuf_addf(w, "As of %s.\n\n", d);
        m_head(w, cols, num, RI_ARRAY_SIZE(cols));
        for (size_t i = 0; i < r->n_fc; i++) {
            const struct fcrow *fc = &r->fc[i];
            const char *cells[7] = {fc->label,
                                    money(fc->won_so_far, a, sizeof(a)),
                                    money(fc->expected, b, sizeof(b)),
                                    money(fc->p10, c, sizeof(c)),
                                    money(fc->p50, e, sizeof(e)),
                                    money(fc->p90, f, sizeof(f)),
                                    money(fc->rep, g, sizeof(g))};
            m_row(w, cells, 7, NULL);
        }
        ri_wbuf_addc(w, '\n');
        {
            char tr[600];
            track_record(r, tr, sizeof(tr));
            if (tr[0]) {
                w_md(w, tr, MD_PROSE);
                ri_wbuf_adds(w, "\n\n");
            }
        }
    }

    ri_wbuf_adds(w, "## Pipeline volume and quality\n\n");
    if (!r->diag_run) {
        w_missing(w, missing_cmds(r, PART_DIAG), 0);
    } else if (r->volume_quality) {
        w_md(w, r->volume_quality, MD_PROSE);
        ri_wbuf_adds(w, "\n\n");
    }

    ri_wbuf_adds(w, "## Deals at risk\n\n");
    if (!r->score_run) {
        w_missing(w, missing_cmds(r, PART_SCORES), 0);
    } else {
        static const char *const cols[] = {"deal",  "name",   "account", "owner",
                                           "stage", "amount", "P(win)",  "why"};
        static const int num[] = {0, 0, 0, 0, 0, 1, 1, 0};
        static const int crm[] = {1, 1, 1, 1, 1, 0, 0, 1};
        ri_format_date(r->score_as_of, d, sizeof(d));
        ri_wbuf_addf(w,
                     "Scored %s: %lld open deals, %lld high risk, %lld at risk; revenue at stake "
                     "%s.%s\n\n",
                     d, (long long)r->scored, (long long)r->n_high, (long long)r->n_at,
                     money(r->value_at_risk, a, sizeof(a)),
                     r->signal ? "" : " The model found no reliable signal: read with care.");
        if (r->n_risk) {
            m_head(w, cols, num, RI_ARRAY_SIZE(cols));
            for (size_t i = 0; i < r->n_risk; i++) {
                const struct risk *rk = &r->risk[i];
                struct ri_wbuf why = {RI_BUF_INIT, RI_OK};
                const char *cells[8];
                for (size_t m = 0; m < rk->n_reasons; m++) {
                    ri_wbuf_adds(&why, m ? "; " : "");
                    ri_wbuf_adds(&why, rk->reasons[m]);
                }
                cells[0] = rk->crm_id;
                cells[1] = rk->name;
                cells[2] = rk->account;
                cells[3] = rk->owner;
                cells[4] = rk->stage;
                cells[5] = money(rk->amount, k, sizeof(k));
                cells[6] = pct(rk->p_win, l, sizeof(l));
                cells[7] = why.rc ? "" : why.b.buf;
                m_row(w, cells, 8, crm);
                ri_buf_release(&why.b);
            }
            ri_wbuf_addc(w, '\n');
        }
    }

    ri_wbuf_adds(w, "## Stalled and zombie deals\n\n");
    if (!r->diag_run) {
        w_missing(w, missing_cmds(r, PART_DIAG), 0);
    } else {
        static const char *const cols[] = {"deal",   "name",         "owner",        "stage",
                                           "amount", "days overdue", "days in stage"};
        static const int num[] = {0, 0, 0, 0, 1, 1, 1};
        static const int crm[] = {1, 1, 1, 1, 0, 0, 0};
        ri_wbuf_addf(w,
                     "%.0f open deals have a close date in the past or sit in their stage longer "
                     "than 90 %% of won deals did",
                     isfinite(r->m_zombies) ? r->m_zombies : (double)r->z_listed);
        if (isfinite(r->m_live))
            ri_wbuf_addf(w, "; the live pipeline without them is %s",
                         money(r->m_live, a, sizeof(a)));
        ri_wbuf_adds(w, ".\n\n");
        if (r->n_zombies) {
            m_head(w, cols, num, RI_ARRAY_SIZE(cols));
            for (size_t i = 0; i < r->n_zombies; i++) {
                const struct zombie *z = &r->zombies[i];
                const char *cells[7] = {z->crm_id,
                                        z->name,
                                        z->owner,
                                        z->stage,
                                        money(z->amount, a, sizeof(a)),
                                        days_str(z->days_overdue, b, sizeof(b)),
                                        days_str(z->days_in_stage, c, sizeof(c))};
                m_row(w, cells, 7, crm);
            }
            ri_wbuf_addc(w, '\n');
        }
    }

    window_words(r->days, words, sizeof(words));
    ri_wbuf_addf(w, "## Alerts %s\n\n", words);
    if (!r->alerts_total) {
        ri_wbuf_addf(w, "No alerts %s.\n", words);
    } else {
        for (size_t i = 0; i < r->n_alerts; i++) {
            const struct alert *al = &r->alerts[i];
            ri_wbuf_adds(w, "- **");
            w_md(w, al->severity ? al->severity : "", MD_CRM);
            ri_wbuf_adds(w, "** ");
            w_md(w, al->subject ? al->subject : "", MD_PROSE);
            ri_wbuf_adds(w, ": ");
            w_md(w, al->message ? al->message : "", MD_PROSE);
            if (al->action && *al->action) {
                ri_wbuf_adds(w, " (");
                w_md(w, al->action, MD_PROSE);
                ri_wbuf_adds(w, ")");
            }
            ri_wbuf_addc(w, '\n');
        }
        if (r->alerts_total > (int64_t)r->n_alerts)
            ri_wbuf_addf(w, "- and %lld more\n",
                         (long long)(r->alerts_total - (int64_t)r->n_alerts));
    }
}

/* ------------------------------------------------------------------ entry points */

/* Reads the Chart.js file whole, with "</script" made harmless ("<\/script" means the
 * same in every place JavaScript allows it: strings, regular expressions, comments). */
static ri_err read_chartjs(struct ri_ctx *ctx, const char *path, struct ri_buf *out)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    ri_err rc = RI_OK;
    if (!f)
        return ri_fail(ctx, RI_ERR_IO,
                       "cannot read Chart.js at '%s': %s (install the Debian package "
                       "libjs-chart.js, or set [report] chartjs = PATH)",
                       path, strerror(errno));
    ri_buf_init(out, MAX_CHARTJS);
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = ri_buf_addn(out, chunk, n);
    if (!rc && ferror(f))
        rc = ri_fail(ctx, RI_ERR_IO, "cannot read Chart.js at '%s'", path);
    else if (rc == RI_ERR_TOOBIG)
        rc = ri_fail(ctx, rc, "Chart.js at '%s' is larger than %u MB", path, MAX_CHARTJS >> 20);
    else if (rc)
        rc = ri_fail(ctx, rc, "out of memory reading '%s'", path);
    fclose(f);
    if (!rc && out->len == 0)
        rc = ri_fail(ctx, RI_ERR_IO, "Chart.js at '%s' is empty", path);
    for (size_t i = 0; !rc && i + 8 <= out->len; i++)
        if (out->buf[i] == '<' && out->buf[i + 1] == '/' &&
            !strncasecmp(out->buf + i + 2, "script", 6)) {
            /* "</script" -> "<\/script" */
            struct ri_buf tmp;
            ri_buf_init(&tmp, MAX_CHARTJS + (MAX_CHARTJS >> 4));
            rc = ri_buf_addn(&tmp, out->buf, i + 1);
            if (!rc)
                rc = ri_buf_addc(&tmp, '\\');
            if (!rc)
                rc = ri_buf_addn(&tmp, out->buf + i + 1, out->len - i - 1);
            ri_buf_release(out);
            *out = tmp;
            if (rc)
                rc = ri_fail(ctx, rc, "out of memory reading '%s'", path);
        }
    if (rc)
        ri_buf_release(out);
    return rc;
}

void ri_report_doc_free(struct ri_report_doc *d)
{
    if (!d)
        return;
    ri_free(d->html);
    ri_free(d->markdown);
    ri_free(d->subject);
    ri_free(d->json);
    ri_free(d);
}

ri_err ri_report(struct ri_ctx *ctx, const struct ri_report_opts *o, struct ri_report_doc **out)
{
    struct ri_store *st = ri_ctx_store(ctx);
    const struct ri_report_conf *rc_conf = o->config ? o->config->report : NULL;
    struct rdata *r = NULL;
    struct ri_report_doc *doc = NULL;
    struct ri_buf js = RI_BUF_INIT;
    struct ri_wbuf html = {RI_BUF_INIT, RI_OK}, md = {RI_BUF_INIT, RI_OK},
                   json = {RI_BUF_INIT, RI_OK};
    char chartjs[4096], date[16], title[96], *subject = NULL;
    ri_err rc = RI_OK;

    *out = NULL;
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    /* Chart.js first: without it there is no report to write */
    if (rc_conf && rc_conf->chartjs[0]) {
        if (ri_conf_path(o->config, rc_conf->chartjs, chartjs, sizeof(chartjs)) != RI_OK)
            return ri_fail(ctx, RI_ERR_TOOBIG, "[report] chartjs: path too long");
    } else {
        snprintf(chartjs, sizeof(chartjs), "%s", DEFAULT_CHARTJS);
    }
    rc = read_chartjs(ctx, chartjs, &js);
    if (rc)
        return rc;

    r = ri_calloc(1, sizeof(*r));
    r->days = o->days > 0 ? o->days : rc_conf && rc_conf->days > 0 ? rc_conf->days : 7;
    if (r->days > 3660) {
        rc = ri_fail(ctx, RI_ERR_INVALID, "a report looks back 3660 days at most, not %d", r->days);
        goto out;
    }
    r->as_of = o->as_of;
    if (r->as_of == RI_TIME_NONE) {
        rc = ri_store_latest_date(ctx, st, &r->as_of);
        if (rc)
            goto out;
        if (r->as_of == RI_TIME_NONE) {
            ri_time now = (ri_time)time(NULL);
            r->as_of = now - now % DAY;
        }
    }
    rc = load_diag(ctx, st, r);
    if (!rc)
        rc = load_scores(ctx, st, r);
    if (!rc)
        rc = load_forecast(ctx, st, r);
    if (!rc)
        rc = load_backtest(ctx, st, r);
    if (!rc)
        rc = load_alerts(ctx, st, r);
    if (rc)
        goto out;
    compose_headline(r);

    ri_format_date(r->as_of, date, sizeof(date));
    if (r->days == 7)
        snprintf(title, sizeof(title), "revintel weekly report, %s", date);
    else
        snprintf(title, sizeof(title), "revintel report (%d days), %s", r->days, date);
    {
        struct ri_wbuf s = {RI_BUF_INIT, RI_OK};
        ri_wbuf_addf(&s, "%s: %s", title, r->headline_short);
        if (s.rc) {
            ri_buf_release(&s.b);
            rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory writing the report");
            goto out;
        }
        subject = ri_buf_detach(&s.b, NULL);
    }

    ri_buf_init(&html.b, MAX_DOC);
    ri_buf_init(&md.b, MAX_DOC);
    ri_buf_init(&json.b, MAX_DOC);
    html_doc(&html, r, title, js.buf, js.len);
    markdown_doc(&md, r, title);
    json_figures(&json, r, subject);
    rc = html.rc ? html.rc : md.rc ? md.rc : json.rc;
    if (rc) {
        rc = ri_fail(ctx, rc, "the report is too large (%u MB at most)", MAX_DOC >> 20);
        goto out;
    }
    doc = ri_calloc(1, sizeof(*doc));
    doc->html = ri_buf_detach(&html.b, NULL);
    doc->markdown = ri_buf_detach(&md.b, NULL);
    doc->json = ri_buf_detach(&json.b, NULL);
    doc->subject = subject;
    doc->as_of = r->as_of;
    subject = NULL;
    *out = doc;
out:
    ri_free(subject);
    ri_buf_release(&html.b);
    ri_buf_release(&md.b);
    ri_buf_release(&json.b);
    ri_buf_release(&js);
    rdata_free(r);
    return rc;
}

ri_err ri_report_send(struct ri_ctx *ctx, const struct ri_config *c, const struct ri_report_doc *d,
                      const char *channels, ri_time now)
{
    const char *list = channels;
    char date[16], name[128], key[192];
    ri_err first = RI_OK;
    char first_msg[512] = "";

    if (!list || !*list)
        list = c && c->report ? c->report->channels : "";
    if (!*list)
        return ri_fail(ctx, RI_ERR_INVALID,
                       "no channel to send the report to: name them (--send CHANNELS) or set "
                       "[report] channels");
    if (!c)
        return ri_fail(ctx, RI_ERR_INVALID, "sending the report needs the configuration");
    if (now == RI_TIME_NONE)
        now = (ri_time)time(NULL);
    ri_format_date(d->as_of, date, sizeof(date));
    while (*list) {
        size_t n = strcspn(list, ",");
        const char *s = list, *e = list + n;
        ri_err rc;
        list = *e ? e + 1 : e;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s == e)
            continue;
        if ((size_t)(e - s) >= sizeof(name)) {
            rc = ri_fail(ctx, RI_ERR_INVALID, "channel name too long");
        } else {
            snprintf(name, sizeof(name), "%.*s", (int)(e - s), s);
            snprintf(key, sizeof(key), "report:%s:%s", date, name);
            rc = ri_outbox_queue_document(ctx, c->channels, name, NULL, d->subject, d->markdown,
                                          d->html, key, now);
        }
        if (rc && !first) {
            first = rc;
            snprintf(first_msg, sizeof(first_msg), "%s", ri_errmsg(ctx));
        }
    }
    if (first)
        return ri_fail(ctx, first, "%s", first_msg);
    return RI_OK;
}
