/*
 * ingest.c - load one CRM export into the store, as one transaction.
 *
 * The pipeline for a file: open a reader (CSV or XLSX), map the header onto canonical
 * fields (mapping.c), sample the first rows to detect each date column's format, then
 * stream the rows: validate every field, quarantine a bad row with its file, line,
 * column and reason, and write a good one. Nothing is dropped silently: the report
 * reconciles rows_read = rows_accepted + rows_quarantined, and the counts per reason
 * add up to rows_quarantined.
 *
 * Opportunities are diffed against what the store knows (snapshot diffing): a new deal
 * is inserted; a known deal whose fields changed is updated, and the change is recorded
 * as a deal_event at the export's as-of date (preceded, the first time, by a 'baseline'
 * event holding the values it had before); a deal missing from a full export is marked
 * deleted. Deals with no events are replayed from their row alone (history.c), so the
 * first export of a pipeline writes no events. History files append their rows as
 * events ('history'); rows not newer than what an earlier history ingest stored are
 * recognised as known and not written twice. Date columns named under [events] (or
 * HubSpot's "Date entered" columns) become stage events.
 *
 * All-or-nothing: everything happens inside BEGIN IMMEDIATE ... COMMIT; any error rolls
 * back, and a process killed midway leaves an uncommitted WAL tail that SQLite discards.
 * A file identical to one already ingested (same kind, same content hash) is recognised
 * and changes nothing, which makes a re-run of a daily job harmless.
 */
#include "colcache.h"
#include "mapping.h"
#include "store.h"
#include "strmap.h"
#include "writer.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SAMPLE_ROWS 2000
#define RAW_CAP     1000

static const char *const kind_names[RI_KIND__COUNT] = {"opportunities", "history", "accounts",
                                                       "tickets", "reps"};

const char *ri_ingest_kind_name(enum ri_ingest_kind kind)
{
    return (unsigned)kind < RI_KIND__COUNT ? kind_names[kind] : "?";
}

int ri_ingest_kind_parse(const char *name)
{
    for (int k = 0; k < RI_KIND__COUNT; k++)
        if (!strcasecmp(name, kind_names[k]))
            return k;
    if (!strcasecmp(name, "opportunity") || !strcasecmp(name, "deals") || !strcasecmp(name, "opps"))
        return RI_KIND_OPPORTUNITIES;
    if (!strcasecmp(name, "stage_history") || !strcasecmp(name, "events"))
        return RI_KIND_HISTORY;
    return -1;
}

/* A deal the store already knows, or one this file added. */
struct deal_rec {
    int64_t rowid;
    ri_time created, close, as_of, last_hist;
    double amount, prob;
    int32_t stage, owner, fc;
    uint8_t status, seen, has_events, deleted, from_store;
    uint64_t row_hash, line;
    /* the latest history row of this file */
    ri_time h_at, h_close;
    double h_amount, h_prob;
    int32_t h_stage, h_fc, h_owner;
};

struct ingest {
    struct ri_ctx *ctx;
    struct ri_store *st;
    const struct ri_ingest_opts *opts;
    struct ri_ingest_report *rep;
    struct ri_mapping map;
    struct ri_colmap cm;
    struct ri_reader *rd;
    const char *file;
    int64_t snap;
    ri_time as_of, max_date, now;
    bool as_of_given, had_opp_snapshot, is_xlsx;
    enum ri_date_style style[RI_F__COUNT];
    enum ri_date_style *ev_style;
    struct ri_strmap deal_ix; /* crm id -> index in recs */
    struct deal_rec *recs;
    size_t n_recs, cap_recs;
    struct ri_intern names;      /* stage, owner and forecast category strings */
    struct ri_intern stage_norm; /* normalised stage name -> id of its first spelling */
    int32_t *stage_canon;        /* stage_norm id -> names id */
    size_t cap_canon;
    struct ri_intern owners; /* reps seen: name -> manager, region */
    char **owner_mgr, **owner_region;
    size_t cap_owner;
    struct ri_strmap line_dups; /* content hash -> line, for files without ids */
    uint64_t content_hash;
    uint64_t est_rows; /* rows the file probably holds (from the date sample) */
    struct ri_stmt *ins_deal, *upd_deal, *ins_event, *ins_quar, *ins_other, *ins_label;
    struct ri_strmap label_ix; /* labels table: text -> id */
    int64_t *label_of_name;    /* names intern id -> labels id, 0 until known */
    size_t cap_label_of_name;
    int64_t seq;         /* events of this ingest: snapshot id << 32, then + 1 */
    struct ri_writer *w; /* every write of the row loop goes through it */
    int64_t next_deal_id, next_label_id;
    struct ri_buf attrs, raw, idbuf, detail;
    struct ri_row row;
};

/* ------------------------------------------------------------------ helpers */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec;
}

/* Text of field f in the current row: from its column (trimmed) or its constant, then
 * through [values.FIELD]. Empty means absent (*s = NULL). */
static void field_text(struct ingest *ing, enum ri_field f, const char **s, size_t *len)
{
    int c = ing->cm.col_of_field[f];
    const char *v = NULL;
    size_t n = 0;
    if (c >= 0 && (size_t)c < ing->row.n) {
        v = ing->row.cells[c];
        n = ing->row.lens[c];
        ri_trim(&v, &n);
    }
    c = ing->cm.fallback_of_field[f];
    if (n == 0 && c >= 0 && (size_t)c < ing->row.n) {
        v = ing->row.cells[c];
        n = ing->row.lens[c];
        ri_trim(&v, &n);
    }
    if ((!v || n == 0) && ing->map.constants[f]) {
        v = ing->map.constants[f];
        n = strlen(v);
    }
    if (v && n && ing->map.n_values) {
        const char *r = ri_mapping_value(&ing->map, f, v, n);
        if (r) {
            v = r;
            n = strlen(r);
        }
    }
    *s = n ? v : NULL;
    *len = n;
}

static void build_raw(struct ingest *ing)
{
    char d = ing->rep->delimiter ? ing->rep->delimiter : ',';
    ri_buf_reset(&ing->raw);
    for (size_t i = 0; i < ing->row.n && ing->raw.len < RAW_CAP; i++) {
        size_t n = ing->row.lens[i];
        if (i)
            ri_buf_addc(&ing->raw, d);
        if (ing->raw.len + n > RAW_CAP)
            n = RAW_CAP - ing->raw.len;
        ri_buf_addn(&ing->raw, ing->row.cells[i], n);
    }
    /* never store invalid UTF-8 as TEXT: replace bytes >= 0x80 when the row is bad */
    if (!ri_utf8_valid(ing->raw.buf, ing->raw.len))
        for (size_t i = 0; i < ing->raw.len; i++)
            if ((unsigned char)ing->raw.buf[i] >= 0x80)
                ing->raw.buf[i] = '?';
}

/* Records the current row in the quarantine table. col < 0: no particular column. */
static ri_err quarantine(struct ingest *ing, int col, enum ri_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ri_err quarantine(struct ingest *ing, int col, enum ri_reason reason, const char *fmt, ...)
{
    struct ri_stmt *q = ing->ins_quar;
    va_list ap;
    ri_buf_reset(&ing->detail);
    va_start(ap, fmt);
    ri_buf_vaddf(&ing->detail, fmt, ap);
    va_end(ap);
    if (!ri_utf8_valid(ing->detail.buf, ing->detail.len))
        for (size_t i = 0; i < ing->detail.len; i++)
            if ((unsigned char)ing->detail.buf[i] >= 0x80)
                ing->detail.buf[i] = '?';
    build_raw(ing);
    ri_writer_begin(ing->w, q);
    ri_writer_i64(ing->w, 1, ing->snap);
    ri_writer_text(ing->w, 2, ing->file, strlen(ing->file));
    ri_writer_i64(ing->w, 3, (int64_t)ing->row.line);
    if (col >= 0) {
        const char *h = ing->cm.header && (size_t)col < ing->cm.ncols ? ing->cm.header[col] : "";
        ri_writer_i64(ing->w, 4, col + 1);
        ri_writer_text(ing->w, 5, h, strlen(h));
    } else {
        ri_writer_null(ing->w, 4);
        ri_writer_null(ing->w, 5);
    }
    ri_writer_text(ing->w, 6, ri_reason_name(reason), strlen(ri_reason_name(reason)));
    ri_writer_text(ing->w, 7, ing->detail.buf, ing->detail.len);
    ri_writer_text(ing->w, 8, ing->raw.buf, ing->raw.len);
    ing->rep->rows_quarantined++;
    ing->rep->by_reason[reason]++;
    return ri_writer_end(ing->w);
}

/* Quarantines rows the reader flagged or whose shape is wrong. Returns 1 if it did. */
static int check_shape(struct ingest *ing, ri_err *rc)
{
    const struct ri_row *r = &ing->row;
    if (r->flags & RI_ROW_BAD_QUOTE)
        *rc = quarantine(ing, -1, RI_REASON_BAD_QUOTE, "malformed or unterminated quotes");
    else if (r->flags & RI_ROW_TOO_LONG)
        *rc = quarantine(ing, (int)r->bad_col, RI_REASON_FIELD_TOO_LONG,
                         "field longer than the field cap; truncated");
    else if (r->flags & RI_ROW_BAD_UTF8)
        *rc = quarantine(ing, (int)r->bad_col, RI_REASON_BAD_UTF8, "not valid UTF-8");
    else if (r->n > ing->cm.ncols || (r->n < ing->cm.ncols && !ing->is_xlsx))
        /* a spreadsheet leaves trailing empty cells out: a shorter XLSX row is fine */
        *rc = quarantine(ing, -1, RI_REASON_COLUMN_COUNT, "%zu columns, the header has %zu", r->n,
                         ing->cm.ncols);
    else
        return 0;
    return 1;
}

static void update_hash(struct ingest *ing)
{
    uint64_t h = ing->content_hash;
    for (size_t i = 0; i < ing->row.n; i++)
        h = ri_hash_bytes(ing->row.cells[i], ing->row.lens[i], h ^ (i + 1));
    ing->content_hash = ri_hash_bytes(&h, sizeof(h), ing->row.n);
}

static uint64_t row_hash(const struct ri_row *r)
{
    uint64_t h = 0;
    for (size_t i = 0; i < r->n; i++)
        h = ri_hash_bytes(r->cells[i], r->lens[i], h + i);
    return h;
}

/* Parses a date field. RI_OK with *t, RI_ERR_NOTFOUND if empty, else quarantines. */
static ri_err date_field(struct ingest *ing, enum ri_field f, ri_time *t, int *bad)
{
    const char *s;
    size_t n;
    ri_err rc;
    *t = RI_TIME_NONE;
    field_text(ing, f, &s, &n);
    if (!s)
        return RI_ERR_NOTFOUND;
    rc = ri_parse_date(s, n, ing->style[f], t);
    if (rc == RI_OK)
        return RI_OK;
    *bad = 1;
    return quarantine(ing, ing->cm.col_of_field[f], RI_REASON_BAD_DATE, "'%.*s' is not a valid %s",
                      (int)(n > 64 ? 64 : n), s, ri_field_name(f));
}

static ri_err amount_field(struct ingest *ing, enum ri_field f, double *v, int *bad)
{
    const char *s;
    size_t n;
    ri_err rc;
    *v = RI_NAN;
    field_text(ing, f, &s, &n);
    if (!s)
        return RI_OK;
    rc = ri_parse_amount(s, n, ing->map.locale, v);
    if (rc == RI_ERR_NOTFOUND) {
        *v = RI_NAN;
        return RI_OK;
    }
    if (rc) {
        *bad = 1;
        *v = RI_NAN;
        return quarantine(ing, ing->cm.col_of_field[f], RI_REASON_BAD_AMOUNT,
                          "'%.*s' is not an amount", (int)(n > 64 ? 64 : n), s);
    }
    if (*v < 0) {
        *bad = 1;
        return quarantine(ing, ing->cm.col_of_field[f], RI_REASON_NEGATIVE_AMOUNT,
                          "negative amount '%.*s'", (int)(n > 64 ? 64 : n), s);
    }
    return RI_OK;
}

static ri_err prob_field(struct ingest *ing, double *v, int *bad)
{
    const char *s;
    size_t n;
    *v = RI_NAN;
    field_text(ing, RI_F_PROBABILITY, &s, &n);
    if (!s)
        return RI_OK;
    {
        size_t m = n;
        while (m && (s[m - 1] == '%' || s[m - 1] == ' '))
            m--;
        if (m && ri_parse_f64(s, m, v) == RI_OK && *v >= 0 && *v <= 100)
            return RI_OK;
    }
    *bad = 1;
    *v = RI_NAN;
    return quarantine(ing, ing->cm.col_of_field[RI_F_PROBABILITY], RI_REASON_BAD_PROBABILITY,
                      "'%.*s' is not a probability between 0 and 100", (int)(n > 64 ? 64 : n), s);
}

/* ------------------------------------------------------------------ stages */

static bool name_in(char **list, size_t n, const char *s, size_t len)
{
    char a[128], b[128];
    ri_header_norm(s, len, a, sizeof(a));
    for (size_t i = 0; i < n; i++) {
        ri_header_norm(list[i], strlen(list[i]), b, sizeof(b));
        if (!strcmp(a, b))
            return true;
    }
    return false;
}

static bool has_token(const char *norm, const char *tok)
{
    size_t tl = strlen(tok);
    for (const char *p = norm; (p = strstr(p, tok)) != NULL; p += tl) {
        bool start = p == norm || p[-1] == '_';
        bool end = p[tl] == '\0' || p[tl] == '_';
        if (start && end)
            return true;
    }
    return false;
}

/* Status implied by a stage name: the mapping's won/lost lists, else the words in it. */
static uint8_t stage_status(const struct ri_mapping *m, const char *s, size_t len)
{
    char norm[128];
    if (name_in(m->stage_won, m->n_won, s, len))
        return RI_STATUS_WON;
    if (name_in(m->stage_lost, m->n_lost, s, len))
        return RI_STATUS_LOST;
    if (m->n_won || m->n_lost)
        return RI_STATUS_OPEN;
    ri_header_norm(s, len, norm, sizeof(norm));
    if (has_token(norm, "won") || has_token(norm, "win") || !strcmp(norm, "closedwon"))
        return RI_STATUS_WON;
    if (has_token(norm, "lost") || has_token(norm, "loss") || has_token(norm, "lose") ||
        !strcmp(norm, "closedlost"))
        return RI_STATUS_LOST;
    return RI_STATUS_OPEN;
}

/* Status written in a status column. 0 if not recognised. */
static uint8_t parse_status(const char *s, size_t len)
{
    char norm[64];
    ri_header_norm(s, len, norm, sizeof(norm));
    if (!strcmp(norm, "open") || !strcmp(norm, "pipeline") || !strcmp(norm, "active"))
        return RI_STATUS_OPEN;
    if (has_token(norm, "won") || has_token(norm, "win") || !strcmp(norm, "closedwon"))
        return RI_STATUS_WON;
    if (has_token(norm, "lost") || has_token(norm, "loss") || !strcmp(norm, "closedlost"))
        return RI_STATUS_LOST;
    return 0;
}

/* 1 true, 0 false, -1 not a boolean */
static int parse_bool(const char *s, size_t len)
{
    char norm[16];
    ri_header_norm(s, len, norm, sizeof(norm));
    if (!strcmp(norm, "true") || !strcmp(norm, "1") || !strcmp(norm, "yes") || !strcmp(norm, "y"))
        return 1;
    if (!strcmp(norm, "false") || !strcmp(norm, "0") || !strcmp(norm, "no") || !strcmp(norm, "n"))
        return 0;
    return -1;
}

/* The canonical spelling of a stage (the first one seen, or the configured one). */
static int32_t stage_id(struct ingest *ing, const char *s, size_t len)
{
    char norm[128];
    int32_t k;
    ri_header_norm(s, len, norm, sizeof(norm));
    if (!norm[0])
        return ri_intern_id(&ing->names, s, len);
    k = ri_intern_id(&ing->stage_norm, norm, strlen(norm));
    if ((size_t)k >= ing->cap_canon || ing->stage_canon[k] < 0) {
        size_t old = ing->cap_canon;
        RI_GROW(ing->stage_canon, ing->cap_canon, (size_t)k + 1);
        for (size_t i = old; i < ing->cap_canon; i++)
            ing->stage_canon[i] = -1;
        ing->stage_canon[k] = ri_intern_id(&ing->names, s, len);
    }
    return ing->stage_canon[k];
}

static ri_err write_stages(struct ingest *ing)
{
    struct ri_stmt *ins = NULL, *upd = NULL;
    ri_err rc;
    const struct ri_mapping *m = &ing->map;
    rc = ri_stmt_prepare(ing->ctx, ing->st,
                         "INSERT INTO stages(name, ord, role, late) VALUES (?1, ?2, ?3, ?4) "
                         "ON CONFLICT(name) DO NOTHING",
                         &ins);
    if (!rc)
        rc = ri_stmt_prepare(ing->ctx, ing->st,
                             "UPDATE stages SET ord = ?2, late = ?3 WHERE name = ?1", &upd);
    for (size_t k = 0; !rc && k < ing->stage_norm.n; k++) {
        const char *nm = ri_intern_str(&ing->names, ing->stage_canon[k]);
        size_t len = strlen(nm);
        uint8_t role = stage_status(m, nm, len);
        char norm[128];
        int64_t ord = -1, late;
        for (size_t i = 0; i < m->n_order; i++)
            if (name_in(&m->stage_order[i], 1, nm, len))
                ord = (int64_t)i;
        ri_header_norm(nm, len, norm, sizeof(norm));
        if (m->n_late)
            late = name_in(m->stage_late, m->n_late, nm, len);
        else
            late = strstr(norm, "negotiat") || strstr(norm, "commit") || strstr(norm, "contract") ||
                   strstr(norm, "closing");
        ri_stmt_bind_text(ins, 1, nm, len);
        ri_stmt_bind_i64(ins, 2, ord >= 0 ? ord : 1000 + (int64_t)k);
        const char *rn = role == RI_STATUS_WON ? "won" : role == RI_STATUS_LOST ? "lost" : "open";
        ri_stmt_bind_text(ins, 3, rn, strlen(rn));
        ri_stmt_bind_i64(ins, 4, role == RI_STATUS_OPEN ? late : 0);
        rc = ri_stmt_run(ing->ctx, ins);
        if (!rc && (ord >= 0 || m->n_late)) {
            ri_stmt_bind_text(upd, 1, nm, len);
            ri_stmt_bind_i64(upd, 2, ord >= 0 ? ord : 1000 + (int64_t)k);
            ri_stmt_bind_i64(upd, 3, role == RI_STATUS_OPEN ? late : 0);
            rc = ri_stmt_run(ing->ctx, upd);
        }
    }
    ri_stmt_free(ins);
    ri_stmt_free(upd);
    return rc;
}

/* ------------------------------------------------------------------ known deals */

static void rec_init(struct deal_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->created = r->close = r->as_of = r->last_hist = r->h_at = r->h_close = RI_TIME_NONE;
    r->amount = r->prob = r->h_amount = r->h_prob = RI_NAN;
    r->stage = r->owner = r->fc = r->h_stage = r->h_fc = r->h_owner = -1;
}

static struct deal_rec *new_rec(struct ingest *ing, const char *id, size_t len)
{
    struct deal_rec *r;
    int added;
    struct ri_strmap_slot *slot =
        ri_strmap_put(&ing->deal_ix, id, len, (int64_t)ing->n_recs, &added);
    if (!added)
        return &ing->recs[slot->value];
    RI_GROW(ing->recs, ing->cap_recs, ing->n_recs + 1);
    r = &ing->recs[ing->n_recs++];
    rec_init(r);
    return r;
}

static int32_t opt_intern(struct ri_intern *in, const char *s, size_t len)
{
    return s ? ri_intern_id(in, s, len) : -1;
}

/* Loads every deal of the store: crm id, row id and the fields snapshot diffing compares. */
static ri_err load_deals(struct ingest *ing)
{
    struct ri_stmt *s = NULL;
    int64_t n = 0;
    ri_err rc = ri_store_query_i64(ing->ctx, ing->st, "SELECT count(*) FROM deals", &n);
    if (rc)
        return rc;
    ri_strmap_reserve(&ing->deal_ix, (size_t)n);
    RI_GROW(ing->recs, ing->cap_recs, (size_t)n + 1);
    rc = ri_stmt_prepare(
        ing->ctx, ing->st,
        "SELECT d.id, d.crm_id, d.stage, d.status, d.amount, d.close_date, d.owner, "
        "d.probability, d.forecast_category, coalesce(d.as_of, s.as_of), d.deleted_at, "
        "d.row_hash, d.created_at FROM deals d JOIN snapshots s ON s.id = d.changed_snapshot",
        &s);
    while (!rc && (rc = ri_stmt_step(ing->ctx, s)) == RI_OK) {
        size_t len, sl, ol, fl;
        const char *id = ri_stmt_text(s, 1, &len);
        const char *stg = ri_stmt_text(s, 2, &sl), *own = ri_stmt_text(s, 6, &ol);
        const char *fc = ri_stmt_text(s, 8, &fl);
        const char *status = ri_stmt_text(s, 3, NULL);
        struct deal_rec *r = new_rec(ing, id, len);
        r->rowid = ri_stmt_i64(s, 0);
        r->stage = stg ? stage_id(ing, stg, sl) : -1;
        r->status = status && status[0] == 'w'   ? RI_STATUS_WON
                    : status && status[0] == 'l' ? RI_STATUS_LOST
                                                 : RI_STATUS_OPEN;
        r->amount = ri_stmt_f64(s, 4);
        r->close = ri_stmt_time(s, 5);
        r->owner = opt_intern(&ing->names, own, ol);
        r->prob = ri_stmt_f64(s, 7);
        r->fc = opt_intern(&ing->names, fc, fl);
        r->as_of = ri_stmt_time(s, 9);
        r->deleted = !ri_stmt_is_null(s, 10);
        r->row_hash = (uint64_t)ri_stmt_i64(s, 11);
        r->created = ri_stmt_time(s, 12);
        r->from_store = 1;
    }
    ri_stmt_free(s);
    if (rc != RI_ERR_NOTFOUND)
        return rc;
    if (ing->n_recs == 0)
        return RI_OK;
    /* which deals have events, and the newest history row of each */
    rc = ri_stmt_prepare(ing->ctx, ing->st,
                         "SELECT d.crm_id, max(CASE WHEN e.kind = (SELECT id FROM labels WHERE "
                         "text = 'history') THEN e.at END) FROM deal_events e JOIN deals d ON "
                         "d.id = e.deal_id GROUP BY e.deal_id",
                         &s);
    while (!rc && (rc = ri_stmt_step(ing->ctx, s)) == RI_OK) {
        size_t len;
        const char *id = ri_stmt_text(s, 0, &len);
        int64_t *ix = ri_strmap_get(&ing->deal_ix, id, len);
        if (ix) {
            ing->recs[*ix].has_events = 1;
            ing->recs[*ix].last_hist = ri_stmt_time(s, 1);
        }
    }
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

static ri_err load_stages(struct ingest *ing)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ing->ctx, ing->st, "SELECT name FROM stages ORDER BY ord", &s);
    while (!rc && (rc = ri_stmt_step(ing->ctx, s)) == RI_OK) {
        size_t len;
        const char *nm = ri_stmt_text(s, 0, &len);
        stage_id(ing, nm, len);
    }
    ri_stmt_free(s);
    for (size_t i = 0; i < ing->map.n_order; i++)
        stage_id(ing, ing->map.stage_order[i], strlen(ing->map.stage_order[i]));
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

/* ------------------------------------------------------------------ events */

static ri_err load_labels(struct ingest *ing)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ing->ctx, ing->st, "SELECT id, text FROM labels", &s);
    while (!rc && (rc = ri_stmt_step(ing->ctx, s)) == RI_OK) {
        size_t len;
        const char *t = ri_stmt_text(s, 1, &len);
        ri_strmap_put(&ing->label_ix, t, len, ri_stmt_i64(s, 0), NULL);
    }
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

/* The labels id of a text, added to the table the first time it is seen. */
static ri_err label_id(struct ingest *ing, const char *text, size_t len, int64_t *id)
{
    int added;
    struct ri_strmap_slot *slot = ri_strmap_put(&ing->label_ix, text, len, 0, &added);
    ri_err rc;
    if (!added) {
        *id = slot->value;
        return RI_OK;
    }
    *id = ing->next_label_id++;
    slot->value = *id;
    ri_writer_begin(ing->w, ing->ins_label);
    ri_writer_i64(ing->w, 1, *id);
    ri_writer_text(ing->w, 2, text, len);
    rc = ri_writer_end(ing->w);
    return rc;
}

/* The labels id of an interned name (stage, owner, forecast category); 0 for none. */
static ri_err name_label(struct ingest *ing, int32_t name, int64_t *id)
{
    const char *t;
    ri_err rc;
    *id = 0;
    if (name < 0)
        return RI_OK;
    if ((size_t)name >= ing->cap_label_of_name) {
        size_t old = ing->cap_label_of_name;
        RI_GROW(ing->label_of_name, ing->cap_label_of_name, (size_t)name + 1);
        memset(ing->label_of_name + old, 0,
               (ing->cap_label_of_name - old) * sizeof(*ing->label_of_name));
    }
    if (ing->label_of_name[name]) {
        *id = ing->label_of_name[name];
        return RI_OK;
    }
    t = ri_intern_str(&ing->names, name);
    rc = label_id(ing, t, strlen(t), id);
    if (!rc)
        ing->label_of_name[name] = *id;
    return rc;
}

static ri_err write_event(struct ingest *ing, int64_t deal, ri_time at, const char *kind,
                          int32_t stage, double amount, ri_time close, int32_t owner, double prob,
                          int32_t fc)
{
    struct ri_stmt *e = ing->ins_event;
    int64_t kl, sl, ol, fl;
    ri_err rc = label_id(ing, kind, strlen(kind), &kl);
    if (!rc)
        rc = name_label(ing, stage, &sl);
    if (!rc)
        rc = name_label(ing, owner, &ol);
    if (!rc)
        rc = name_label(ing, fc, &fl);
    if (rc)
        return rc;
    ri_writer_begin(ing->w, e);
    ri_writer_i64(ing->w, 1, deal);
    ri_writer_i64(ing->w, 2, at);
    ri_writer_i64(ing->w, 3, ++ing->seq);
    ri_writer_i64(ing->w, 4, kl);
    if (sl)
        ri_writer_i64(ing->w, 5, sl);
    else
        ri_writer_null(ing->w, 5);
    ri_writer_f64(ing->w, 6, amount);
    ri_writer_time(ing->w, 7, close);
    if (ol)
        ri_writer_i64(ing->w, 8, ol);
    else
        ri_writer_null(ing->w, 8);
    ri_writer_f64(ing->w, 9, prob);
    if (fl)
        ri_writer_i64(ing->w, 10, fl);
    else
        ri_writer_null(ing->w, 10);
    ri_writer_i64(ing->w, 11, ing->snap);
    ing->rep->events_written++;
    return ri_writer_end(ing->w);
}

/* ------------------------------------------------------------------ opportunities */

struct opp {
    const char *id;
    size_t id_len;
    const char *t[RI_F__COUNT];
    size_t tl[RI_F__COUNT];
    ri_time created, close;
    double amount, prob;
    uint8_t status;
    int32_t stage, owner, fc;
};

static bool same_num(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1.0);
}

static void build_attrs(struct ingest *ing)
{
    int n = 0;
    ri_buf_reset(&ing->attrs);
    for (size_t c = 0; c < ing->cm.ncols && c < ing->row.n; c++) {
        const char *v = ing->row.cells[c];
        size_t len = ing->row.lens[c];
        if (ing->cm.field_of_col[c] != -1)
            continue;
        ri_trim(&v, &len);
        if (!len)
            continue;
        ri_buf_addc(&ing->attrs, n++ ? ',' : '{');
        ri_buf_add_json_str(&ing->attrs, ing->cm.header[c], strlen(ing->cm.header[c]));
        ri_buf_addc(&ing->attrs, ':');
        ri_buf_add_json_str(&ing->attrs, v, len);
    }
    if (n)
        ri_buf_addc(&ing->attrs, '}');
}

/* Validates the current opportunity row into *o. Returns 1 if it was quarantined. */
static int parse_opp(struct ingest *ing, struct opp *o, ri_err *rc)
{
    int bad = 0;
    const char *s;
    size_t n;
    memset(o, 0, sizeof(*o));
    for (int f = 0; f < RI_F__COUNT; f++)
        field_text(ing, (enum ri_field)f, &o->t[f], &o->tl[f]);
    if (ing->map.id_from_line) {
        ri_buf_reset(&ing->idbuf);
        ri_buf_addf(&ing->idbuf, "L%llu", (unsigned long long)ing->row.line);
        o->id = ing->idbuf.buf;
        o->id_len = ing->idbuf.len;
    } else {
        o->id = o->t[RI_F_ID];
        o->id_len = o->tl[RI_F_ID];
    }
    if (!o->id) {
        *rc = quarantine(ing, ing->cm.col_of_field[RI_F_ID], RI_REASON_MISSING_ID, "empty id");
        return 1;
    }
    *rc = date_field(ing, RI_F_CREATED, &o->created, &bad);
    if (bad || (*rc && *rc != RI_ERR_NOTFOUND))
        return 1;
    if (o->created == RI_TIME_NONE && !ing->map.no_dates && !ing->map.created_from_as_of) {
        *rc = quarantine(ing, ing->cm.col_of_field[RI_F_CREATED], RI_REASON_MISSING_DATE,
                         "empty created date");
        return 1;
    }
    *rc = date_field(ing, RI_F_CLOSE, &o->close, &bad);
    if (bad || (*rc && *rc != RI_ERR_NOTFOUND))
        return 1;
    *rc = amount_field(ing, RI_F_AMOUNT, &o->amount, &bad);
    if (bad || *rc)
        return 1;
    *rc = prob_field(ing, &o->prob, &bad);
    if (bad || *rc)
        return 1;
    /* status: a status column, else IsClosed/IsWon, else the stage name */
    s = o->t[RI_F_STATUS];
    n = o->tl[RI_F_STATUS];
    if (s) {
        o->status = parse_status(s, n);
        if (!o->status) {
            *rc = quarantine(ing, ing->cm.col_of_field[RI_F_STATUS], RI_REASON_BAD_STATUS,
                             "'%.*s' is not open, won or lost", (int)(n > 64 ? 64 : n), s);
            return 1;
        }
    } else if (o->t[RI_F_IS_WON] || o->t[RI_F_IS_CLOSED]) {
        int won = o->t[RI_F_IS_WON] ? parse_bool(o->t[RI_F_IS_WON], o->tl[RI_F_IS_WON]) : -2;
        int closed =
            o->t[RI_F_IS_CLOSED] ? parse_bool(o->t[RI_F_IS_CLOSED], o->tl[RI_F_IS_CLOSED]) : -2;
        if (won == -1 || closed == -1) {
            enum ri_field f = won == -1 ? RI_F_IS_WON : RI_F_IS_CLOSED;
            *rc = quarantine(ing, ing->cm.col_of_field[f], RI_REASON_BAD_STATUS,
                             "'%.*s' is not true or false", (int)(o->tl[f] > 64 ? 64 : o->tl[f]),
                             o->t[f]);
            return 1;
        }
        if (closed == 0)
            o->status = RI_STATUS_OPEN;
        else if (won == 1)
            o->status = RI_STATUS_WON;
        else if (closed == 1)
            o->status = RI_STATUS_LOST;
        else if (o->t[RI_F_STAGE])
            o->status = stage_status(&ing->map, o->t[RI_F_STAGE], o->tl[RI_F_STAGE]);
        else
            o->status = RI_STATUS_LOST;
    } else if (o->t[RI_F_STAGE]) {
        o->status = stage_status(&ing->map, o->t[RI_F_STAGE], o->tl[RI_F_STAGE]);
    } else {
        *rc = quarantine(ing, ing->cm.col_of_field[RI_F_STAGE], RI_REASON_MISSING_STAGE,
                         "empty stage and no status");
        return 1;
    }
    if (o->t[RI_F_STAGE])
        o->stage = stage_id(ing, o->t[RI_F_STAGE], o->tl[RI_F_STAGE]);
    else if (o->status == RI_STATUS_WON)
        o->stage = stage_id(ing, "Closed Won", 10);
    else if (o->status == RI_STATUS_LOST)
        o->stage = stage_id(ing, "Closed Lost", 11);
    else
        o->stage = -1;
    if (o->created != RI_TIME_NONE && o->close != RI_TIME_NONE &&
        o->close / RI_DAY < o->created / RI_DAY) {
        char a[16], b[16];
        ri_format_date(o->close, a, sizeof(a));
        ri_format_date(o->created, b, sizeof(b));
        *rc = quarantine(ing, ing->cm.col_of_field[RI_F_CLOSE], RI_REASON_CLOSE_BEFORE_CREATED,
                         "close date %s is before created date %s", a, b);
        return 1;
    }
    if (ing->as_of_given && o->created != RI_TIME_NONE &&
        o->created / RI_DAY > ing->as_of / RI_DAY) {
        char a[16], b[16];
        ri_format_date(o->created, a, sizeof(a));
        ri_format_date(ing->as_of, b, sizeof(b));
        *rc = quarantine(ing, ing->cm.col_of_field[RI_F_CREATED], RI_REASON_FUTURE_DATE,
                         "created date %s is after the export's as-of date %s", a, b);
        return 1;
    }
    o->owner = opt_intern(&ing->names, o->t[RI_F_OWNER], o->tl[RI_F_OWNER]);
    o->fc = opt_intern(&ing->names, o->t[RI_F_FORECAST], o->tl[RI_F_FORECAST]);
    return 0;
}

/* Queues the deal's values as parameters 1..20 of s (insert or update); the caller adds
 * parameter 21 (the deal id) and ends the write. */
static void bind_deal(struct ingest *ing, struct ri_stmt *s, const struct opp *o, uint64_t h)
{
    static const enum ri_field text_fields[] = {
        RI_F_NAME,    RI_F_ACCOUNT,     RI_F_OWNER, RI_F_REGION,   RI_F_INDUSTRY,
        RI_F_PRODUCT, RI_F_LEAD_SOURCE, RI_F_TYPE,  RI_F_FORECAST, RI_F_LOSS_REASON};
    static const char *const status_names[] = {"open", "open", "won", "lost"};
    const char *sn = ri_intern_str(&ing->names, o->stage);
    struct ri_writer *w = ing->w;
    ri_writer_begin(w, s);
    ri_writer_text(w, 1, o->id, o->id_len);
    for (size_t i = 0; i < RI_ARRAY_SIZE(text_fields); i++)
        ri_writer_text(w, 2 + (int)i, o->t[text_fields[i]], o->tl[text_fields[i]]);
    ri_writer_time(w, 12, o->created);
    ri_writer_text(w, 13, sn, sn ? strlen(sn) : 0);
    ri_writer_text(w, 14, status_names[o->status], strlen(status_names[o->status]));
    ri_writer_f64(w, 15, o->amount);
    ri_writer_time(w, 16, o->close);
    ri_writer_f64(w, 17, o->prob);
    ri_writer_text(w, 18, ing->attrs.len ? ing->attrs.buf : NULL, ing->attrs.len);
    ri_writer_i64(w, 19, (int64_t)h);
    ri_writer_i64(w, 20, ing->snap);
}

static void note_owner(struct ingest *ing, const struct opp *o)
{
    int32_t k;
    size_t old = ing->cap_owner;
    if (!o->t[RI_F_OWNER])
        return;
    k = ri_intern_id(&ing->owners, o->t[RI_F_OWNER], o->tl[RI_F_OWNER]);
    if ((size_t)k >= ing->cap_owner) {
        size_t cap = old;
        RI_GROW(ing->owner_mgr, cap, (size_t)k + 1);
        cap = old;
        RI_GROW(ing->owner_region, cap, (size_t)k + 1);
        ing->cap_owner = cap;
        for (size_t i = old; i < cap; i++)
            ing->owner_mgr[i] = ing->owner_region[i] = NULL;
    }
    if (!ing->owner_mgr[k] && o->t[RI_F_MANAGER])
        ing->owner_mgr[k] = ri_strndup(o->t[RI_F_MANAGER], o->tl[RI_F_MANAGER]);
    if (!ing->owner_region[k] && o->t[RI_F_REGION])
        ing->owner_region[k] = ri_strndup(o->t[RI_F_REGION], o->tl[RI_F_REGION]);
}

/* Stage events from date columns ([events], HubSpot "Date entered ..."). */
static int parse_event_cols(struct ingest *ing, ri_time *at, ri_err *rc)
{
    for (size_t e = 0; e < ing->cm.n_event_cols; e++) {
        size_t c = ing->cm.event_cols[e];
        const char *v;
        size_t n;
        at[e] = RI_TIME_NONE;
        if (c >= ing->row.n)
            continue; /* a short XLSX row: the cell is empty */
        v = ing->row.cells[c];
        n = ing->row.lens[c];
        ri_trim(&v, &n);
        if (!n)
            continue;
        if (ri_parse_date(v, n, ing->ev_style[e], &at[e]) != RI_OK) {
            *rc = quarantine(ing, (int)c, RI_REASON_BAD_DATE, "'%.*s' is not a valid date",
                             (int)(n > 64 ? 64 : n), v);
            return 1;
        }
    }
    return 0;
}

static ri_err opp_row(struct ingest *ing, ri_time *ev_at)
{
    struct opp o;
    ri_err rc = RI_OK;
    struct deal_rec *r;
    uint64_t h;
    int events_now = 0, is_new = 0;

    if (check_shape(ing, &rc) || parse_opp(ing, &o, &rc) || parse_event_cols(ing, ev_at, &rc))
        return rc;
    h = row_hash(&ing->row);
    if (ing->map.id_from_line) {
        int added;
        struct ri_strmap_slot *d = ri_strmap_put(&ing->line_dups, (const char *)&h, sizeof(h),
                                                 (int64_t)ing->row.line, &added);
        if (!added)
            return quarantine(ing, -1, RI_REASON_DUPLICATE_ROW, "the same values as line %lld",
                              (long long)d->value);
    }
    /* one probe of the id map: it finds the known deal or makes room for a new one */
    {
        int added;
        struct ri_strmap_slot *slot =
            ri_strmap_put(&ing->deal_ix, o.id, o.id_len, (int64_t)ing->n_recs, &added);
        if (added) {
            RI_GROW(ing->recs, ing->cap_recs, ing->n_recs + 1);
            r = &ing->recs[ing->n_recs++];
            rec_init(r);
            is_new = 1;
        } else {
            r = &ing->recs[slot->value];
        }
    }
    if (!is_new && r->seen) {
        if (r->row_hash == h)
            return quarantine(ing, -1, RI_REASON_DUPLICATE_ROW, "duplicate of line %llu",
                              (unsigned long long)r->line);
        return quarantine(ing, ing->cm.col_of_field[RI_F_ID], RI_REASON_CONFLICTING_ID,
                          "id '%.*s' already at line %llu with other values",
                          (int)(o.id_len > 64 ? 64 : o.id_len), o.id, (unsigned long long)r->line);
    }
    /* no created date: the export's as-of date, which may only be known at the end */
    if (o.created == RI_TIME_NONE && ing->map.created_from_as_of)
        o.created = !is_new && r->created != RI_TIME_NONE ? r->created : ing->as_of;
    build_attrs(ing);
    note_owner(ing, &o);
    if (o.created != RI_TIME_NONE && o.created > ing->max_date)
        ing->max_date = o.created;
    if (o.status != RI_STATUS_OPEN && o.close != RI_TIME_NONE && o.close > ing->max_date)
        ing->max_date = o.close;
    ing->rep->rows_accepted++;

    if (is_new) {
        /* a new deal */
        r->rowid = ing->next_deal_id++;
        bind_deal(ing, ing->ins_deal, &o, h);
        ri_writer_i64(ing->w, 21, r->rowid);
        rc = ri_writer_end(ing->w);
        if (rc)
            return rc;
        ing->rep->deals_new++;
        events_now = 1;
    } else if (r->row_hash == h && !r->deleted) {
        ing->rep->deals_unchanged++;
    } else {
        /* a known deal that changed: update it, and record what changed */
        bool stage_ch = o.stage != r->stage || o.status != r->status;
        bool amount_ch = !same_num(o.amount, r->amount) && !isnan(o.amount);
        bool close_ch = o.close != r->close && o.close != RI_TIME_NONE;
        bool owner_ch = o.owner != r->owner && o.owner >= 0;
        bool prob_ch = !same_num(o.prob, r->prob) && !isnan(o.prob);
        bool fc_ch = o.fc != r->fc && o.fc >= 0;
        bind_deal(ing, ing->upd_deal, &o, h);
        ri_writer_i64(ing->w, 21, r->rowid);
        rc = ri_writer_end(ing->w);
        if (rc)
            return rc;
        if (r->deleted) {
            rc = write_event(ing, r->rowid, ing->as_of_given ? ing->as_of : -1, "restored", -1,
                             RI_NAN, RI_TIME_NONE, -1, RI_NAN, -1);
            r->deleted = 0;
        }
        bool any = stage_ch || amount_ch || close_ch || owner_ch || prob_ch || fc_ch;
        if (!rc && !r->has_events && any) {
            ri_time base = r->created != RI_TIME_NONE ? r->created
                           : r->as_of != RI_TIME_NONE ? r->as_of
                                                      : ing->now;
            rc = write_event(ing, r->rowid, base, "baseline", r->stage, r->amount, r->close,
                             r->owner, r->prob, r->fc);
            r->has_events = 1;
        }
        if (!rc && any) {
            /* the as-of date may not be known yet: a negative 'at' is fixed up at the end */
            rc = write_event(ing, r->rowid, ing->as_of_given ? ing->as_of : -1, "change",
                             stage_ch ? o.stage : -1, amount_ch ? o.amount : RI_NAN,
                             close_ch ? o.close : RI_TIME_NONE, owner_ch ? o.owner : -1,
                             prob_ch ? o.prob : RI_NAN, fc_ch ? o.fc : -1);
        }
        if (rc)
            return rc;
        ing->rep->deals_changed++;
        events_now = r->as_of == RI_TIME_NONE ? 1 : 2;
    }
    r->seen = 1;
    r->line = ing->row.line;
    r->row_hash = h;
    r->stage = o.stage;
    r->status = o.status;
    r->amount = o.amount;
    r->close = o.close;
    r->owner = o.owner;
    r->prob = o.prob;
    r->fc = o.fc;
    if (r->created == RI_TIME_NONE)
        r->created = o.created;
    for (size_t e = 0; events_now && e < ing->cm.n_event_cols; e++) {
        /* for a changed deal, only stages entered since the last export */
        if (ev_at[e] == RI_TIME_NONE || (events_now == 2 && ev_at[e] <= r->as_of))
            continue;
        rc = write_event(ing, r->rowid, ev_at[e], "stage",
                         stage_id(ing, ing->cm.event_stages[e], strlen(ing->cm.event_stages[e])),
                         RI_NAN, RI_TIME_NONE, -1, RI_NAN, -1);
        r->has_events = 1;
        if (rc)
            return rc;
    }
    return RI_OK;
}

static ri_err finish_opportunities(struct ingest *ing)
{
    ri_err rc = RI_OK;
    struct ri_stmt *s = NULL;
    /* events need a time even when the file has no dates: then the time of the ingest */
    ri_time ev_time = ing->as_of != RI_TIME_NONE ? ing->as_of : ing->now;
    /* the change events written before the as-of date was known */
    if (!ing->as_of_given) {
        rc = ri_stmt_prepare(ing->ctx, ing->st,
                             "UPDATE deal_events SET at = ?1 WHERE snapshot_id = ?2 AND at = -1",
                             &s);
        if (!rc) {
            ri_stmt_bind_i64(s, 1, ev_time);
            ri_stmt_bind_i64(s, 2, ing->snap);
            rc = ri_stmt_run(ing->ctx, s);
        }
        ri_stmt_free(s);
        s = NULL;
    }
    /* deals first seen without a created date take the as-of date */
    if (!rc && ing->map.created_from_as_of) {
        rc = ri_stmt_prepare(ing->ctx, ing->st,
                             "UPDATE deals SET created_at = ?1 WHERE created_at IS NULL AND "
                             "first_snapshot = ?2",
                             &s);
        if (!rc) {
            ri_stmt_bind_time(s, 1, ing->as_of);
            ri_stmt_bind_i64(s, 2, ing->snap);
            rc = ri_stmt_run(ing->ctx, s);
        }
        ri_stmt_free(s);
        s = NULL;
    }
    /* deals missing from a full export */
    if (!rc && !ing->map.partial && ing->had_opp_snapshot) {
        rc = ri_stmt_prepare(ing->ctx, ing->st, "UPDATE deals SET deleted_at = ?1 WHERE id = ?2",
                             &s);
        for (size_t i = 0; !rc && i < ing->n_recs; i++) {
            struct deal_rec *r = &ing->recs[i];
            if (!r->from_store || r->seen || r->deleted)
                continue;
            ri_stmt_bind_i64(s, 1, ev_time);
            ri_stmt_bind_i64(s, 2, r->rowid);
            rc = ri_stmt_run(ing->ctx, s);
            if (!rc)
                rc = write_event(ing, r->rowid, ev_time, "deleted", -1, RI_NAN, RI_TIME_NONE, -1,
                                 RI_NAN, -1);
            ing->rep->deals_deleted++;
        }
        ri_stmt_free(s);
        s = NULL;
    }
    /* reps */
    if (!rc && ing->owners.n) {
        rc = ri_stmt_prepare(ing->ctx, ing->st,
                             "INSERT INTO reps(name, manager, region) VALUES (?1, ?2, ?3) "
                             "ON CONFLICT(name) DO UPDATE SET "
                             "manager = coalesce(excluded.manager, manager), "
                             "region = coalesce(excluded.region, region)",
                             &s);
        for (size_t k = 0; !rc && k < ing->owners.n; k++) {
            const char *nm = ri_intern_str(&ing->owners, (int32_t)k);
            const char *mg = ing->owner_mgr[k], *rg = ing->owner_region[k];
            ri_stmt_bind_text(s, 1, nm, strlen(nm));
            ri_stmt_bind_text(s, 2, mg, mg ? strlen(mg) : 0);
            ri_stmt_bind_text(s, 3, rg, rg ? strlen(rg) : 0);
            rc = ri_stmt_run(ing->ctx, s);
        }
        ri_stmt_free(s);
    }
    return rc;
}

/* ------------------------------------------------------------------ history */

static ri_err history_row(struct ingest *ing)
{
    ri_err rc = RI_OK;
    int bad = 0;
    const char *id, *stg, *own, *fc;
    size_t idl, sl, ol, fl;
    ri_time at, close;
    double amount, prob;
    int64_t *ix;
    struct deal_rec *r;
    int32_t stage, owner, fcat;

    if (check_shape(ing, &rc))
        return rc;
    field_text(ing, RI_F_ID, &id, &idl);
    if (!id)
        return quarantine(ing, ing->cm.col_of_field[RI_F_ID], RI_REASON_MISSING_ID,
                          "empty opportunity id");
    ix = ri_strmap_get(&ing->deal_ix, id, idl);
    if (!ix)
        return quarantine(ing, ing->cm.col_of_field[RI_F_ID], RI_REASON_UNKNOWN_DEAL,
                          "no opportunity '%.*s' in the store (ingest the opportunities first)",
                          (int)(idl > 64 ? 64 : idl), id);
    r = &ing->recs[*ix];
    field_text(ing, RI_F_STAGE, &stg, &sl);
    if (!stg)
        return quarantine(ing, ing->cm.col_of_field[RI_F_STAGE], RI_REASON_MISSING_STAGE,
                          "empty stage");
    rc = date_field(ing, RI_F_CHANGED_AT, &at, &bad);
    if (bad || (rc && rc != RI_ERR_NOTFOUND))
        return rc;
    if (at == RI_TIME_NONE)
        return quarantine(ing, ing->cm.col_of_field[RI_F_CHANGED_AT], RI_REASON_MISSING_DATE,
                          "empty change date");
    rc = date_field(ing, RI_F_CLOSE, &close, &bad);
    if (bad || (rc && rc != RI_ERR_NOTFOUND))
        return rc;
    rc = amount_field(ing, RI_F_AMOUNT, &amount, &bad);
    if (bad || rc)
        return rc;
    rc = prob_field(ing, &prob, &bad);
    if (bad || rc)
        return rc;
    if (ing->as_of_given && at / RI_DAY > ing->as_of / RI_DAY) {
        char a[16], b[16];
        ri_format_date(at, a, sizeof(a));
        ri_format_date(ing->as_of, b, sizeof(b));
        return quarantine(ing, ing->cm.col_of_field[RI_F_CHANGED_AT], RI_REASON_FUTURE_DATE,
                          "change at %s is after the export's as-of date %s", a, b);
    }
    field_text(ing, RI_F_OWNER, &own, &ol);
    field_text(ing, RI_F_FORECAST, &fc, &fl);
    stage = stage_id(ing, stg, sl);
    owner = opt_intern(&ing->names, own, ol);
    fcat = opt_intern(&ing->names, fc, fl);
    ing->rep->rows_accepted++;
    if (at > ing->max_date)
        ing->max_date = at;
    if (r->last_hist != RI_TIME_NONE && at <= r->last_hist)
        return RI_OK; /* known from an earlier history ingest */
    rc = write_event(ing, r->rowid, at, "history", stage, amount, close, owner, prob, fcat);
    if (!rc && (r->h_at == RI_TIME_NONE || at >= r->h_at)) {
        r->h_at = at;
        r->h_stage = stage;
        r->h_amount = amount;
        r->h_close = close;
        r->h_prob = prob;
        r->h_fc = fcat;
        r->h_owner = owner;
        r->seen = 1;
    }
    return rc;
}

/* A deal's row follows its newest history row when that row is newer than the export
 * that set the deal, or when it closes a deal the export still shows open (a "won
 * deals" file arriving after the leads export). */
static ri_err finish_history(struct ingest *ing)
{
    static const char *const status_names[] = {"open", "open", "won", "lost"};
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(
        ing->ctx, ing->st,
        "UPDATE deals SET stage = ?1, status = ?2, amount = coalesce(?3, amount), "
        "close_date = coalesce(?4, close_date), probability = coalesce(?5, probability), "
        "forecast_category = coalesce(?6, forecast_category), owner = coalesce(?7, owner), "
        "as_of = ?8 WHERE id = ?9",
        &s);
    for (size_t i = 0; !rc && i < ing->n_recs; i++) {
        struct deal_rec *r = &ing->recs[i];
        const char *sn, *fn, *on;
        uint8_t st;
        ri_time close;
        if (!r->seen || r->h_at == RI_TIME_NONE)
            continue;
        sn = ri_intern_str(&ing->names, r->h_stage);
        st = stage_status(&ing->map, sn, strlen(sn));
        if (!(r->as_of == RI_TIME_NONE || r->h_at > r->as_of ||
              (st != RI_STATUS_OPEN && r->status == RI_STATUS_OPEN)))
            continue;
        close = r->h_close;
        if (st != RI_STATUS_OPEN && close == RI_TIME_NONE)
            close = r->h_at - r->h_at % RI_DAY;
        fn = ri_intern_str(&ing->names, r->h_fc);
        on = ri_intern_str(&ing->names, r->h_owner);
        ri_stmt_bind_text(s, 1, sn, strlen(sn));
        ri_stmt_bind_text(s, 2, status_names[st], strlen(status_names[st]));
        ri_stmt_bind_f64(s, 3, r->h_amount);
        ri_stmt_bind_time(s, 4, close);
        ri_stmt_bind_f64(s, 5, r->h_prob);
        ri_stmt_bind_text(s, 6, fn, fn ? strlen(fn) : 0);
        ri_stmt_bind_text(s, 7, on, on ? strlen(on) : 0);
        ri_stmt_bind_i64(s, 8, r->h_at);
        ri_stmt_bind_i64(s, 9, r->rowid);
        rc = ri_stmt_run(ing->ctx, s);
        ing->rep->deals_changed++;
    }
    ri_stmt_free(s);
    return rc;
}

/* ------------------------------------------------------------------ accounts, tickets */

static ri_err account_row(struct ingest *ing)
{
    ri_err rc = RI_OK;
    int bad = 0;
    const char *name, *ind, *reg, *emp;
    size_t nl, il, rl, el;
    int64_t employees = 0;
    double revenue;
    ri_time created;
    struct ri_stmt *s = ing->ins_other;

    if (check_shape(ing, &rc))
        return rc;
    field_text(ing, RI_F_ACCOUNT, &name, &nl);
    if (!name)
        return quarantine(ing, ing->cm.col_of_field[RI_F_ACCOUNT], RI_REASON_MISSING_ID,
                          "empty account name");
    field_text(ing, RI_F_EMPLOYEES, &emp, &el);
    if (emp) {
        double d;
        if (ri_parse_i64(emp, el, &employees) != RI_OK) {
            if (ri_parse_amount(emp, el, RI_AMOUNT_AUTO, &d) != RI_OK || d < 0 || d > 1e12)
                return quarantine(ing, ing->cm.col_of_field[RI_F_EMPLOYEES], RI_REASON_BAD_NUMBER,
                                  "'%.*s' is not a number of employees", (int)(el > 64 ? 64 : el),
                                  emp);
            employees = (int64_t)d;
        }
    }
    rc = amount_field(ing, RI_F_REVENUE, &revenue, &bad);
    if (bad || rc)
        return rc;
    rc = date_field(ing, RI_F_CREATED, &created, &bad);
    if (bad || (rc && rc != RI_ERR_NOTFOUND))
        return rc;
    field_text(ing, RI_F_INDUSTRY, &ind, &il);
    field_text(ing, RI_F_REGION, &reg, &rl);
    build_attrs(ing);
    ri_writer_begin(ing->w, s);
    ri_writer_text(ing->w, 1, name, nl);
    ri_writer_text(ing->w, 2, ind, il);
    ri_writer_text(ing->w, 3, reg, rl);
    if (emp)
        ri_writer_i64(ing->w, 4, employees);
    else
        ri_writer_null(ing->w, 4);
    ri_writer_f64(ing->w, 5, revenue);
    ri_writer_time(ing->w, 6, created);
    ri_writer_text(ing->w, 7, ing->attrs.len ? ing->attrs.buf : NULL, ing->attrs.len);
    ri_writer_i64(ing->w, 8, ing->snap);
    ing->rep->rows_accepted++;
    return ri_writer_end(ing->w);
}

static ri_err ticket_row(struct ingest *ing)
{
    ri_err rc = RI_OK;
    int bad = 0;
    const char *id, *acc, *pri, *team;
    size_t il, al, pl, tl;
    ri_time opened, resolved;
    struct ri_stmt *s = ing->ins_other;

    if (check_shape(ing, &rc))
        return rc;
    field_text(ing, RI_F_ID, &id, &il);
    if (!id)
        return quarantine(ing, ing->cm.col_of_field[RI_F_ID], RI_REASON_MISSING_ID,
                          "empty ticket id");
    rc = date_field(ing, RI_F_OPENED, &opened, &bad);
    if (bad || (rc && rc != RI_ERR_NOTFOUND))
        return rc;
    rc = date_field(ing, RI_F_RESOLVED, &resolved, &bad);
    if (bad || (rc && rc != RI_ERR_NOTFOUND))
        return rc;
    if (opened != RI_TIME_NONE && resolved != RI_TIME_NONE && resolved < opened)
        return quarantine(ing, ing->cm.col_of_field[RI_F_RESOLVED], RI_REASON_CLOSE_BEFORE_CREATED,
                          "resolved before it was opened");
    field_text(ing, RI_F_ACCOUNT, &acc, &al);
    field_text(ing, RI_F_PRIORITY, &pri, &pl);
    field_text(ing, RI_F_TEAM, &team, &tl);
    build_attrs(ing);
    ri_writer_begin(ing->w, s);
    ri_writer_text(ing->w, 1, id, il);
    ri_writer_text(ing->w, 2, acc, al);
    ri_writer_time(ing->w, 3, opened);
    ri_writer_time(ing->w, 4, resolved);
    ri_writer_text(ing->w, 5, pri, pl);
    ri_writer_text(ing->w, 6, team, tl);
    ri_writer_text(ing->w, 7, ing->attrs.len ? ing->attrs.buf : NULL, ing->attrs.len);
    ri_writer_i64(ing->w, 8, ing->snap);
    ing->rep->rows_accepted++;
    return ri_writer_end(ing->w);
}

static ri_err rep_row(struct ingest *ing)
{
    ri_err rc = RI_OK;
    const char *name, *mgr, *reg;
    size_t nl, ml, rl;
    if (check_shape(ing, &rc))
        return rc;
    field_text(ing, RI_F_OWNER, &name, &nl);
    if (!name)
        return quarantine(ing, ing->cm.col_of_field[RI_F_OWNER], RI_REASON_MISSING_ID,
                          "empty rep name");
    field_text(ing, RI_F_MANAGER, &mgr, &ml);
    field_text(ing, RI_F_REGION, &reg, &rl);
    ri_writer_begin(ing->w, ing->ins_other);
    ri_writer_text(ing->w, 1, name, nl);
    ri_writer_text(ing->w, 2, mgr, ml);
    ri_writer_text(ing->w, 3, reg, rl);
    ing->rep->rows_accepted++;
    return ri_writer_end(ing->w);
}

/* ------------------------------------------------------------------ driver */

static const char *const sql_ins_deal =
    "INSERT INTO deals(crm_id, name, account, owner, region, industry, product, lead_source, "
    "type, forecast_category, loss_reason, created_at, stage, status, amount, close_date, "
    "probability, attrs, row_hash, first_snapshot, changed_snapshot, id) VALUES (?1, ?2, ?3, "
    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?20, ?21)";
static const char *const sql_upd_deal =
    "UPDATE deals SET crm_id = ?1, name = ?2, account = ?3, owner = ?4, region = ?5, "
    "industry = ?6, product = ?7, lead_source = ?8, type = ?9, forecast_category = ?10, "
    "loss_reason = ?11, created_at = coalesce(?12, created_at), stage = ?13, status = ?14, "
    "amount = ?15, close_date = ?16, probability = ?17, attrs = ?18, row_hash = ?19, "
    "changed_snapshot = ?20, as_of = NULL, deleted_at = NULL WHERE id = ?21";
static const char *const sql_ins_event =
    "INSERT INTO deal_events(deal_id, at, seq, kind, stage, amount, close_date, owner, "
    "probability, forecast_category, snapshot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
    "?10, ?11)";
static const char *const sql_ins_quar =
    "INSERT INTO quarantine(snapshot_id, file, line, col, column_name, reason, detail, raw) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char *const sql_ins_account =
    "INSERT INTO accounts(name, industry, region, employees, annual_revenue, created_at, attrs, "
    "snapshot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(name) DO UPDATE SET "
    "industry = coalesce(excluded.industry, industry), region = coalesce(excluded.region, "
    "region), employees = coalesce(excluded.employees, employees), annual_revenue = "
    "coalesce(excluded.annual_revenue, annual_revenue), created_at = "
    "coalesce(excluded.created_at, created_at), attrs = coalesce(excluded.attrs, attrs), "
    "snapshot_id = excluded.snapshot_id";
static const char *const sql_ins_rep =
    "INSERT INTO reps(name, manager, region) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE "
    "SET manager = coalesce(excluded.manager, manager), region = coalesce(excluded.region, "
    "region)";
static const char *const sql_ins_ticket =
    "INSERT INTO tickets(crm_id, account, opened_at, resolved_at, priority, team, attrs, "
    "snapshot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(crm_id) DO UPDATE SET "
    "account = excluded.account, opened_at = excluded.opened_at, resolved_at = "
    "excluded.resolved_at, priority = excluded.priority, team = excluded.team, attrs = "
    "excluded.attrs, snapshot_id = excluded.snapshot_id";

/* Samples the first rows of each date column and picks its format. */
static ri_err detect_dates(struct ingest *ing, const struct ri_reader_opts *ropts)
{
    struct ri_reader *rd = NULL;
    struct ri_row row;
    enum ri_field datef[] = {RI_F_CREATED, RI_F_CLOSE, RI_F_CHANGED_AT, RI_F_OPENED, RI_F_RESOLVED};
    size_t ncol = RI_ARRAY_SIZE(datef) + ing->cm.n_event_cols;
    char ***vals = ri_calloc(ncol, sizeof(*vals));
    size_t **lens = ri_calloc(ncol, sizeof(*lens));
    size_t nrows = 0;
    ri_err rc = ri_reader_open(ing->ctx, ing->opts->path, ropts, &rd);
    for (size_t k = 0; k < ncol; k++) {
        vals[k] = ri_calloc(SAMPLE_ROWS, sizeof(**vals));
        lens[k] = ri_calloc(SAMPLE_ROWS, sizeof(**lens));
    }
    if (!rc)
        rc = ri_reader_next(rd, &row); /* header */
    while (!rc && nrows < SAMPLE_ROWS && (rc = ri_reader_next(rd, &row)) == RI_OK) {
        if (row.flags || row.n > ing->cm.ncols || (row.n < ing->cm.ncols && !ing->is_xlsx))
            continue;
        for (size_t k = 0; k < ncol; k++) {
            int c = k < RI_ARRAY_SIZE(datef) ? ing->cm.col_of_field[datef[k]]
                                             : (int)ing->cm.event_cols[k - RI_ARRAY_SIZE(datef)];
            if (c < 0 || (size_t)c >= row.n)
                continue;
            vals[k][nrows] = ri_strndup(row.cells[c], row.lens[c]);
            lens[k][nrows] = row.lens[c];
        }
        nrows++;
    }
    if (rc == RI_ERR_NOTFOUND) {
        rc = RI_OK;
        ing->est_rows = nrows;
    } else if (!rc && nrows) {
        uint64_t done = 0, total = 0;
        ri_reader_progress(rd, &done, &total);
        if (done && total >= done)
            ing->est_rows = (uint64_t)((double)total / (double)done * (double)nrows);
    }
    for (size_t k = 0; !rc && k < ncol; k++) {
        enum ri_date_style st = ing->map.date_style;
        if (st == RI_DATE_AUTO)
            st = ri_date_detect((const char *const *)vals[k], lens[k], nrows);
        if (k < RI_ARRAY_SIZE(datef))
            ing->style[datef[k]] = st;
        else
            ing->ev_style[k - RI_ARRAY_SIZE(datef)] = st;
    }
    for (size_t k = 0; k < ncol; k++) {
        for (size_t i = 0; i < nrows; i++)
            ri_free(vals[k][i]);
        ri_free(vals[k]);
        ri_free(lens[k]);
    }
    ri_free(vals);
    ri_free(lens);
    ri_reader_free(rd);
    return rc;
}

static ri_err prepare(struct ingest *ing)
{
    ri_err rc = ri_stmt_prepare(ing->ctx, ing->st, sql_ins_quar, &ing->ins_quar);
    if (!rc)
        rc = ri_stmt_prepare(ing->ctx, ing->st, sql_ins_event, &ing->ins_event);
    if (!rc)
        rc = ri_stmt_prepare(ing->ctx, ing->st, "INSERT INTO labels(id, text) VALUES (?1, ?2)",
                             &ing->ins_label);
    if (!rc && ing->opts->kind == RI_KIND_OPPORTUNITIES)
        rc = ri_stmt_prepare(ing->ctx, ing->st, sql_ins_deal, &ing->ins_deal);
    if (!rc && ing->opts->kind == RI_KIND_OPPORTUNITIES)
        rc = ri_stmt_prepare(ing->ctx, ing->st, sql_upd_deal, &ing->upd_deal);
    if (!rc && ing->opts->kind == RI_KIND_ACCOUNTS)
        rc = ri_stmt_prepare(ing->ctx, ing->st, sql_ins_account, &ing->ins_other);
    if (!rc && ing->opts->kind == RI_KIND_TICKETS)
        rc = ri_stmt_prepare(ing->ctx, ing->st, sql_ins_ticket, &ing->ins_other);
    if (!rc && ing->opts->kind == RI_KIND_REPS)
        rc = ri_stmt_prepare(ing->ctx, ing->st, sql_ins_rep, &ing->ins_other);
    return rc;
}

static ri_err create_snapshot(struct ingest *ing)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ing->ctx, ing->st,
                                "INSERT INTO snapshots(kind, file, format, preset, as_of, "
                                "ingested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                &s);
    if (rc)
        return rc;
    ri_stmt_bind_text(s, 1, ri_ingest_kind_name(ing->opts->kind),
                      strlen(ri_ingest_kind_name(ing->opts->kind)));
    ri_stmt_bind_text(s, 2, ing->file, strlen(ing->file));
    ri_stmt_bind_text(s, 3, ing->rep->format, strlen(ing->rep->format));
    ri_stmt_bind_text(s, 4, ing->map.preset, strlen(ing->map.preset));
    ri_stmt_bind_time(s, 5, ing->as_of_given ? ing->as_of : RI_TIME_NONE);
    ri_stmt_bind_i64(s, 6, ing->now);
    rc = ri_stmt_run(ing->ctx, s);
    ing->snap = ri_store_last_rowid(ing->st);
    ri_stmt_free(s);
    return rc;
}

static ri_err close_snapshot(struct ingest *ing)
{
    struct ri_stmt *s = NULL;
    char hash[24];
    const struct ri_ingest_report *r = ing->rep;
    ri_err rc = ri_stmt_prepare(
        ing->ctx, ing->st,
        "UPDATE snapshots SET as_of = ?2, content_hash = ?3, rows_read = ?4, rows_accepted = ?5, "
        "rows_quarantined = ?6, deals_new = ?7, deals_changed = ?8, deals_deleted = ?9, "
        "events_written = ?10 WHERE id = ?1",
        &s);
    if (rc)
        return rc;
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)ing->content_hash);
    ri_stmt_bind_i64(s, 1, ing->snap);
    ri_stmt_bind_time(s, 2, ing->as_of);
    ri_stmt_bind_text(s, 3, hash, strlen(hash));
    ri_stmt_bind_i64(s, 4, (int64_t)r->rows_read);
    ri_stmt_bind_i64(s, 5, (int64_t)r->rows_accepted);
    ri_stmt_bind_i64(s, 6, (int64_t)r->rows_quarantined);
    ri_stmt_bind_i64(s, 7, (int64_t)r->deals_new);
    ri_stmt_bind_i64(s, 8, (int64_t)r->deals_changed);
    ri_stmt_bind_i64(s, 9, (int64_t)r->deals_deleted);
    ri_stmt_bind_i64(s, 10, (int64_t)r->events_written);
    rc = ri_stmt_run(ing->ctx, s);
    ri_stmt_free(s);
    return rc;
}

/* An identical earlier file of the same kind: its snapshot id, else 0. */
static ri_err find_same_file(struct ingest *ing, int64_t *dup)
{
    struct ri_stmt *s = NULL;
    char hash[24];
    const char *kn = ri_ingest_kind_name(ing->opts->kind);
    ri_err rc = ri_stmt_prepare(ing->ctx, ing->st,
                                "SELECT id FROM snapshots WHERE kind = ?1 AND content_hash = ?2 "
                                "AND id <> ?3 ORDER BY id LIMIT 1",
                                &s);
    *dup = 0;
    if (rc)
        return rc;
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)ing->content_hash);
    ri_stmt_bind_text(s, 1, kn, strlen(kn));
    ri_stmt_bind_text(s, 2, hash, strlen(hash));
    ri_stmt_bind_i64(s, 3, ing->snap);
    rc = ri_stmt_step(ing->ctx, s);
    if (rc == RI_OK)
        *dup = ri_stmt_i64(s, 0);
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND || rc == RI_OK ? RI_OK : rc;
}

#ifndef NDEBUG
/* RI_FAULT_KILL_AFTER_ROWS=N: the process kills itself after N rows, mid-transaction,
 * so that tests can show an interrupted ingest leaves the store as it was. */
static uint64_t kill_after(void)
{
    const char *e = getenv("RI_FAULT_KILL_AFTER_ROWS");
    int64_t v = 0;
    if (e && ri_parse_i64(e, strlen(e), &v) == RI_OK && v > 0)
        return (uint64_t)v;
    return 0;
}
#endif

/* Deal and label ids are given here rather than by SQLite, so that the writes can run
 * on the writer thread without the row loop waiting for a rowid. */
static ri_err next_ids(struct ingest *ing)
{
    ri_err rc = ri_store_query_i64(ing->ctx, ing->st, "SELECT coalesce(max(id), 0) + 1 FROM deals",
                                   &ing->next_deal_id);
    if (!rc)
        rc = ri_store_query_i64(ing->ctx, ing->st, "SELECT coalesce(max(id), 0) + 1 FROM labels",
                                &ing->next_label_id);
    return rc;
}

/* Sizes the deal index for the rows the file probably holds (estimated while sampling
 * dates), so that a million-row export never rehashes or regrows its arrays. */
static void reserve_for_file(struct ingest *ing)
{
    uint64_t guess = ing->est_rows + ing->est_rows / 8 + 16;
    if (!ing->est_rows)
        return;
    if (guess > (1u << 26))
        guess = 1u << 26;
    ri_strmap_reserve(&ing->deal_ix, ing->n_recs + (size_t)guess);
    RI_GROW(ing->recs, ing->cap_recs, ing->n_recs + (size_t)guess);
}

static ri_err run_rows(struct ingest *ing)
{
    ri_err rc = RI_OK;
    ri_time *ev_at = ri_calloc(ing->cm.n_event_cols + 1, sizeof(*ev_at));
#ifndef NDEBUG
    uint64_t kill_at = kill_after();
#endif
    while ((rc = ri_reader_next(ing->rd, &ing->row)) == RI_OK) {
        ing->rep->rows_read++;
        update_hash(ing);
        switch (ing->opts->kind) {
        case RI_KIND_OPPORTUNITIES:
            rc = opp_row(ing, ev_at);
            break;
        case RI_KIND_HISTORY:
            rc = history_row(ing);
            break;
        case RI_KIND_ACCOUNTS:
            rc = account_row(ing);
            break;
        case RI_KIND_REPS:
            rc = rep_row(ing);
            break;
        default:
            rc = ticket_row(ing);
            break;
        }
        if (rc)
            break;
        if ((ing->rep->rows_read & 0xffff) == 0) {
            uint64_t done, total;
            if (ri_interrupted) {
                rc = ri_fail(ing->ctx, RI_ERR_INTERRUPTED,
                             "ingest of '%s' interrupted; nothing was written", ing->file);
                break;
            }
            ri_reader_progress(ing->rd, &done, &total);
            ri_progress(ing->ctx, "ingest", done, total);
        }
#ifndef NDEBUG
        if (kill_at && ing->rep->rows_read >= kill_at)
            raise(SIGKILL);
#endif
    }
    ri_free(ev_at);
    if (rc == RI_ERR_NOTFOUND)
        rc = RI_OK;
    return rc;
}

static void ingest_release(struct ingest *ing)
{
    ri_writer_finish(ing->w);
    ri_stmt_free(ing->ins_deal);
    ri_stmt_free(ing->upd_deal);
    ri_stmt_free(ing->ins_event);
    ri_stmt_free(ing->ins_quar);
    ri_stmt_free(ing->ins_other);
    ri_stmt_free(ing->ins_label);
    ri_strmap_release(&ing->label_ix);
    ri_free(ing->label_of_name);
    ri_reader_free(ing->rd);
    ri_colmap_release(&ing->cm);
    ri_mapping_release(&ing->map);
    ri_strmap_release(&ing->deal_ix);
    ri_strmap_release(&ing->line_dups);
    ri_free(ing->recs);
    ri_intern_release(&ing->names);
    ri_intern_release(&ing->stage_norm);
    ri_free(ing->stage_canon);
    for (size_t i = 0; i < ing->owners.n; i++) {
        ri_free(ing->owner_mgr[i]);
        ri_free(ing->owner_region[i]);
    }
    ri_free(ing->owner_mgr);
    ri_free(ing->owner_region);
    ri_intern_release(&ing->owners);
    ri_free(ing->ev_style);
    ri_buf_release(&ing->attrs);
    ri_buf_release(&ing->raw);
    ri_buf_release(&ing->idbuf);
    ri_buf_release(&ing->detail);
}

ri_err ri_ingest(struct ri_ctx *ctx, const struct ri_ingest_opts *opts,
                 struct ri_ingest_report *report)
{
    struct ingest ing;
    struct ri_reader_opts ropts = {0, NULL, 0};
    struct ri_row header;
    ri_err rc;
    int64_t n = 0;
    bool in_tx = false;

    memset(report, 0, sizeof(*report));
    memset(&ing, 0, sizeof(ing));
    ing.ctx = ctx;
    ing.opts = opts;
    ing.rep = report;
    ing.file = opts->path ? opts->path : "";
    ing.max_date = INT64_MIN;
    ri_buf_init(&ing.attrs, 0);
    ri_buf_init(&ing.raw, 0);
    ri_buf_init(&ing.idbuf, 0);
    ri_buf_init(&ing.detail, 0);
    ri_intern_init(&ing.names);
    ri_intern_init(&ing.stage_norm);
    ri_intern_init(&ing.owners);
    ri_mapping_init(&ing.map);
    ing.st = ri_ctx_store(ctx);
    if (!ing.st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    if (!opts->path || (unsigned)opts->kind >= RI_KIND__COUNT)
        return ri_fail(ctx, RI_ERR_INVALID, "ingest needs a file and a kind");
    ing.now = (ri_time)now_seconds();
    ing.as_of_given = opts->as_of != RI_TIME_NONE;
    ing.as_of = ing.as_of_given ? opts->as_of : RI_TIME_NONE;

    rc = ri_mapping_load(ctx, opts->map, &ing.map);
    if (rc)
        goto out;
    if (ing.map.kind >= 0 && ing.map.kind != (int)opts->kind) {
        rc = ri_fail(ctx, RI_ERR_INVALID, "mapping '%s' is for %s files, not %s", opts->map,
                     ri_ingest_kind_name((enum ri_ingest_kind)ing.map.kind),
                     ri_ingest_kind_name(opts->kind));
        goto out;
    }
    if (opts->date_format) {
        int st = ri_date_style_parse(opts->date_format);
        if (st < 0) {
            rc = ri_fail(ctx, RI_ERR_INVALID, "unknown date format '%s' (auto, iso, us, eu)",
                         opts->date_format);
            goto out;
        }
        ing.map.date_style = (enum ri_date_style)st;
    }
    ropts.delimiter = opts->delimiter ? opts->delimiter : ing.map.delimiter;
    ropts.sheet = opts->sheet;
    rc = ri_reader_open(ctx, opts->path, &ropts, &ing.rd);
    if (rc)
        goto out;
    snprintf(report->format, sizeof(report->format), "%s", ri_reader_format(ing.rd));
    ing.is_xlsx = !strcmp(report->format, "xlsx");
    report->delimiter = ri_reader_delimiter(ing.rd);
    ropts.delimiter = report->delimiter;
    if (opts->map && strcmp(ing.map.preset, opts->map) != 0) {
        const char *base = strrchr(opts->map, '/');
        snprintf(report->preset, sizeof(report->preset), "%s", base ? base + 1 : opts->map);
    } else {
        snprintf(report->preset, sizeof(report->preset), "%s", ing.map.preset);
    }
    rc = ri_reader_next(ing.rd, &header);
    if (rc == RI_ERR_NOTFOUND) {
        rc = ri_fail(ctx, RI_ERR_PARSE, "'%s' is empty: no header row", ing.file);
        goto out;
    }
    if (rc)
        goto out;
    if (header.flags & (RI_ROW_BAD_QUOTE | RI_ROW_BAD_UTF8 | RI_ROW_TOO_LONG)) {
        rc = ri_fail(ctx, RI_ERR_PARSE, "'%s' line %llu: the header row is malformed", ing.file,
                     (unsigned long long)header.line);
        goto out;
    }
    rc = ri_colmap_build(ctx, ing.file, opts->kind, &ing.map, &header, &ing.cm);
    if (rc)
        goto out;
    ing.content_hash = row_hash(&header);
    report->columns_mapped = ing.cm.mapped;
    report->columns_custom = ing.cm.custom;
    ing.ev_style = ri_calloc(ing.cm.n_event_cols + 1, sizeof(*ing.ev_style));
    rc = detect_dates(&ing, &ropts);
    if (rc)
        goto out;

    /* a bulk load wants a large page cache; everything else reads with the default */
    rc = ri_store_exec(ctx, ing.st, "PRAGMA cache_size=-262144");
    if (!rc)
        rc = ri_store_begin(ctx, ing.st);
    if (rc)
        goto out;
    in_tx = true;
    rc = prepare(&ing);
    if (!rc)
        rc = ri_store_query_i64(ctx, ing.st,
                                "SELECT count(*) FROM snapshots WHERE kind = 'opportunities'", &n);
    ing.had_opp_snapshot = n > 0;
    if (!rc)
        rc = create_snapshot(&ing);
    if (!rc)
        rc = load_stages(&ing);
    if (!rc)
        rc = load_labels(&ing);
    ing.seq = ing.snap << 32;
    if (!rc && (opts->kind == RI_KIND_OPPORTUNITIES || opts->kind == RI_KIND_HISTORY))
        rc = load_deals(&ing);
    if (!rc && opts->kind == RI_KIND_OPPORTUNITIES)
        reserve_for_file(&ing);
    if (!rc)
        rc = next_ids(&ing);
    if (!rc)
        rc = ri_writer_start(ctx, 1, &ing.w);
    if (!rc)
        rc = run_rows(&ing);
    {
        /* the row loop's writes all run before anything reads the store again */
        ri_err wrc = ri_writer_finish(ing.w);
        ing.w = NULL;
        if (!rc)
            rc = wrc;
    }
    if (rc)
        goto out;
    /* writes of the closing steps run at once, on this thread */
    rc = ri_writer_start(ctx, 0, &ing.w);
    if (rc)
        goto out;
    /* a file with no dates at all has no as-of date (RI_TIME_NONE) */
    if (!ing.as_of_given)
        ing.as_of = ing.max_date != INT64_MIN ? ing.max_date - ing.max_date % RI_DAY : RI_TIME_NONE;
    report->as_of = ing.as_of;
    rc = find_same_file(&ing, &report->duplicate_of);
    if (rc)
        goto out;
    if (report->duplicate_of) {
        /* the very same export again: leave everything as it was */
        ri_store_rollback(ing.st);
        in_tx = false;
        report->snapshot_id = 0;
        report->deals_new = report->deals_changed = report->deals_deleted = 0;
        report->deals_unchanged = 0;
        report->events_written = 0;
        goto out;
    }
    if (opts->kind == RI_KIND_OPPORTUNITIES)
        rc = finish_opportunities(&ing);
    else if (opts->kind == RI_KIND_HISTORY)
        rc = finish_history(&ing);
    if (!rc && (opts->kind == RI_KIND_OPPORTUNITIES || opts->kind == RI_KIND_HISTORY))
        rc = write_stages(&ing);
    {
        ri_err wrc = ri_writer_finish(ing.w);
        ing.w = NULL;
        if (!rc)
            rc = wrc;
    }
    if (!rc)
        rc = close_snapshot(&ing);
    /* what the loads read has changed: their column caches are stale from this commit */
    if (!rc)
        rc = ri_colcache_bump(ctx, ing.st);
    if (rc)
        goto out;
    report->snapshot_id = ing.snap;
    if (opts->dry_run) {
        ri_store_rollback(ing.st);
        in_tx = false;
        report->snapshot_id = 0;
        goto out;
    }
    rc = ri_store_commit(ctx, ing.st);
    if (!rc)
        in_tx = false;
out:
    if (in_tx)
        ri_store_rollback(ing.st);
    if (rc && rc != RI_ERR_INTERRUPTED && !strstr(ri_errmsg(ctx), ing.file)) {
        char *msg = ri_strdup(ri_errmsg(ctx));
        ri_fail(ctx, rc, "ingest of '%s' failed, nothing was written: %s", ing.file, msg);
        ri_free(msg);
    }
    ri_store_exec(NULL, ing.st, "PRAGMA cache_size=-32768");
    ingest_release(&ing);
    return rc;
}
