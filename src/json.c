/*
 * json.c - the jansson adapter: JSON output of reports.
 *
 * Every machine-readable report goes through here, built as jansson objects and dumped
 * with JSON_SORT_KEYS so that golden tests and scripts see byte-stable output. Keys are
 * snake_case; times are ISO dates; counts are integers; nothing is localised.
 */
#include "ri_internal.h"

#include <jansson.h>
#include <math.h>

static void set_date(json_t *o, const char *key, ri_time t)
{
    char d[16];
    if (t == RI_TIME_NONE) {
        json_object_set_new(o, key, json_null());
        return;
    }
    ri_format_date(t, d, sizeof(d));
    json_object_set_new(o, key, json_string(d));
}

static void set_u64(json_t *o, const char *key, uint64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void set_num(json_t *o, const char *key, double v)
{
    json_object_set_new(o, key, isfinite(v) ? json_real(v) : json_null());
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
    char *out = NULL;
    json_decref(o);
    if (s) {
        size_t n = strlen(s);
        out = ri_try_alloc(n + 2);
        if (out) {
            memcpy(out, s, n);
            out[n] = '\n';
            out[n + 1] = '\0';
        }
        free(s);
    }
    return out;
}

void ri_string_free(char *s)
{
    ri_free(s);
}

char *ri_ingest_report_json(const struct ri_ingest_report *r, const char *file,
                            enum ri_ingest_kind kind)
{
    json_t *o = json_object(), *reasons = json_object();
    char delim[2] = {r->delimiter, '\0'};
    json_object_set_new(o, "file", json_string(file));
    json_object_set_new(o, "kind", json_string(ri_ingest_kind_name(kind)));
    json_object_set_new(o, "format", json_string(r->format));
    json_object_set_new(o, "delimiter", r->delimiter ? json_string(delim) : json_null());
    json_object_set_new(o, "mapping", json_string(r->preset));
    json_object_set_new(o, "snapshot_id", json_integer(r->snapshot_id));
    json_object_set_new(o, "duplicate_of",
                        r->duplicate_of ? json_integer(r->duplicate_of) : json_null());
    set_date(o, "as_of", r->as_of);
    set_u64(o, "rows_read", r->rows_read);
    set_u64(o, "rows_accepted", r->rows_accepted);
    set_u64(o, "rows_quarantined", r->rows_quarantined);
    set_u64(o, "deals_new", r->deals_new);
    set_u64(o, "deals_changed", r->deals_changed);
    set_u64(o, "deals_unchanged", r->deals_unchanged);
    set_u64(o, "deals_deleted", r->deals_deleted);
    set_u64(o, "events_written", r->events_written);
    json_object_set_new(o, "columns_mapped", json_integer(r->columns_mapped));
    json_object_set_new(o, "columns_custom", json_integer(r->columns_custom));
    for (int i = 0; i < RI_REASON__COUNT; i++)
        if (r->by_reason[i])
            set_u64(reasons, ri_reason_name((enum ri_reason)i), r->by_reason[i]);
    json_object_set_new(o, "quarantined_by_reason", reasons);
    return dump(o);
}

char *ri_quality_report_json(const struct ri_quality_report *r)
{
    json_t *o = json_object(), *reasons = json_object(), *cols = json_array();
    json_t *ex = json_array(), *deals = json_object(), *compl = json_object();
    set_u64(o, "ingests", r->snapshots);
    set_u64(o, "rows_read", r->rows_read);
    set_u64(o, "rows_accepted", r->rows_accepted);
    set_u64(o, "rows_quarantined", r->rows_quarantined);
    for (size_t i = 0; i < r->n_reasons; i++)
        set_u64(reasons, r->reasons[i].reason, r->reasons[i].count);
    json_object_set_new(o, "quarantined_by_reason", reasons);
    for (size_t i = 0; i < r->n_columns; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "column", json_string(r->columns[i].column));
        set_u64(c, "rows", r->columns[i].count);
        json_array_append_new(cols, c);
    }
    json_object_set_new(o, "worst_columns", cols);
    for (size_t i = 0; i < r->n_examples; i++) {
        const struct ri_quality_example *e = &r->examples[i];
        json_t *x = json_object();
        json_object_set_new(x, "file", json_string(e->file));
        set_u64(x, "line", e->line);
        json_object_set_new(x, "column", json_string(e->column));
        json_object_set_new(x, "reason", json_string(e->reason));
        json_object_set_new(x, "detail", json_string(e->detail));
        json_array_append_new(ex, x);
    }
    json_object_set_new(o, "examples", ex);
    set_u64(deals, "total", r->deals);
    set_u64(deals, "open", r->deals_open);
    set_u64(deals, "won", r->deals_won);
    set_u64(deals, "lost", r->deals_lost);
    json_object_set_new(o, "deals", deals);
    set_num(compl, "amount_pct", r->pct_amount);
    set_num(compl, "close_date_pct", r->pct_close_date);
    set_num(compl, "owner_pct", r->pct_owner);
    set_num(compl, "probability_pct", r->pct_probability);
    json_object_set_new(o, "completeness", compl );
    set_u64(o, "events", r->events);
    set_u64(o, "accounts", r->accounts);
    set_u64(o, "tickets", r->tickets);
    return dump(o);
}

char *ri_sim_report_json(const struct ri_sim_report *r, const char *outdir)
{
    json_t *o = json_object();
    json_object_set_new(o, "outdir", json_string(outdir));
    set_u64(o, "deals", r->deals);
    set_u64(o, "open", r->open);
    set_u64(o, "won", r->won);
    set_u64(o, "lost", r->lost);
    set_u64(o, "zombies", r->zombies);
    set_u64(o, "history_rows", r->history_rows);
    set_u64(o, "accounts", r->accounts);
    set_u64(o, "tickets", r->tickets);
    return dump(o);
}

char *ri_asof_summary_json(const struct ri_asof_summary *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set_date(o, "as_of", s[i].at);
        set_u64(o, "deals", s[i].existing);
        set_u64(o, "open", s[i].open);
        set_u64(o, "open_late_stage", s[i].open_late);
        set_u64(o, "won", s[i].won);
        set_u64(o, "lost", s[i].lost);
        set_num(o, "open_amount", s[i].open_amount);
        set_num(o, "won_amount", s[i].won_amount);
        json_array_append_new(a, o);
    }
    return dump(a);
}
