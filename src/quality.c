/*
 * quality.c - the data-quality report: what the ingests accepted and what they refused.
 *
 * Everything here is read back from the store (snapshots and quarantine tables), so the
 * report says exactly what an analyst would find with sqlite3, and the numbers it
 * prints reconcile: rows_read = rows_accepted + rows_quarantined, per ingest and summed.
 */
#include "store.h"

#include <math.h>
#include <string.h>

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Runs sql with ?1 = snapshot id (0: all) and hands each row to fn. */
static ri_err each_row(struct ri_ctx *ctx, struct ri_store *st, const char *sql, int64_t snap,
                       void (*fn)(struct ri_stmt *s, struct ri_quality_report *r),
                       struct ri_quality_report *r)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st, sql, &s);
    if (rc)
        return rc;
    ri_stmt_bind_i64(s, 1, snap);
    while ((rc = ri_stmt_step(ctx, s)) == RI_OK)
        fn(s, r);
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

static void on_totals(struct ri_stmt *s, struct ri_quality_report *r)
{
    r->snapshots = (uint64_t)ri_stmt_i64(s, 0);
    r->rows_read = (uint64_t)ri_stmt_i64(s, 1);
    r->rows_accepted = (uint64_t)ri_stmt_i64(s, 2);
    r->rows_quarantined = (uint64_t)ri_stmt_i64(s, 3);
}

static void on_reason(struct ri_stmt *s, struct ri_quality_report *r)
{
    if (r->n_reasons >= RI_ARRAY_SIZE(r->reasons))
        return;
    copy_text(r->reasons[r->n_reasons].reason, sizeof(r->reasons[0].reason),
              ri_stmt_text(s, 0, NULL));
    r->reasons[r->n_reasons++].count = (uint64_t)ri_stmt_i64(s, 1);
}

static void on_column(struct ri_stmt *s, struct ri_quality_report *r)
{
    if (r->n_columns >= RI_ARRAY_SIZE(r->columns))
        return;
    copy_text(r->columns[r->n_columns].column, sizeof(r->columns[0].column),
              ri_stmt_text(s, 0, NULL));
    r->columns[r->n_columns++].count = (uint64_t)ri_stmt_i64(s, 1);
}

static void on_example(struct ri_stmt *s, struct ri_quality_report *r)
{
    struct ri_quality_example *e;
    if (r->n_examples >= RI_ARRAY_SIZE(r->examples))
        return;
    e = &r->examples[r->n_examples++];
    copy_text(e->file, sizeof(e->file), ri_stmt_text(s, 0, NULL));
    e->line = (uint64_t)ri_stmt_i64(s, 1);
    copy_text(e->column, sizeof(e->column), ri_stmt_text(s, 2, NULL));
    copy_text(e->reason, sizeof(e->reason), ri_stmt_text(s, 3, NULL));
    copy_text(e->detail, sizeof(e->detail), ri_stmt_text(s, 4, NULL));
}

static void on_deals(struct ri_stmt *s, struct ri_quality_report *r)
{
    double n;
    r->deals = (uint64_t)ri_stmt_i64(s, 0);
    r->deals_open = (uint64_t)ri_stmt_i64(s, 1);
    r->deals_won = (uint64_t)ri_stmt_i64(s, 2);
    r->deals_lost = (uint64_t)ri_stmt_i64(s, 3);
    n = r->deals ? (double)r->deals : 1.0;
    r->pct_amount = 100.0 * (double)ri_stmt_i64(s, 4) / n;
    r->pct_close_date = 100.0 * (double)ri_stmt_i64(s, 5) / n;
    r->pct_owner = 100.0 * (double)ri_stmt_i64(s, 6) / n;
    r->pct_probability = 100.0 * (double)ri_stmt_i64(s, 7) / n;
}

static void on_counts(struct ri_stmt *s, struct ri_quality_report *r)
{
    r->events = (uint64_t)ri_stmt_i64(s, 0);
    r->accounts = (uint64_t)ri_stmt_i64(s, 1);
    r->tickets = (uint64_t)ri_stmt_i64(s, 2);
}

ri_err ri_quality(struct ri_ctx *ctx, int64_t snapshot_id, struct ri_quality_report *r)
{
    struct ri_store *st = ri_ctx_store(ctx);
    ri_err rc;
    memset(r, 0, sizeof(*r));
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    if (snapshot_id > 0) {
        int64_t n = 0;
        char sql[96];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM snapshots WHERE id = %lld",
                 (long long)snapshot_id);
        rc = ri_store_query_i64(ctx, st, sql, &n);
        if (rc)
            return rc;
        if (!n)
            return ri_fail(ctx, RI_ERR_NOTFOUND, "no ingest with snapshot id %lld",
                           (long long)snapshot_id);
    }
    rc = each_row(ctx, st,
                  "SELECT count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_accepted), 0), "
                  "coalesce(sum(rows_quarantined), 0) FROM snapshots WHERE ?1 = 0 OR id = ?1",
                  snapshot_id, on_totals, r);
    if (!rc)
        rc = each_row(ctx, st,
                      "SELECT reason, count(*) AS n FROM quarantine WHERE ?1 = 0 OR "
                      "snapshot_id = ?1 GROUP BY reason ORDER BY n DESC, reason",
                      snapshot_id, on_reason, r);
    if (!rc)
        rc = each_row(ctx, st,
                      "SELECT coalesce(column_name, '(row)'), count(*) AS n FROM quarantine "
                      "WHERE ?1 = 0 OR snapshot_id = ?1 GROUP BY 1 ORDER BY n DESC, 1",
                      snapshot_id, on_column, r);
    if (!rc)
        rc = each_row(ctx, st,
                      "SELECT file, line, coalesce(column_name, ''), reason, coalesce(detail, '') "
                      "FROM quarantine WHERE id IN (SELECT min(id) FROM quarantine WHERE ?1 = 0 "
                      "OR snapshot_id = ?1 GROUP BY reason) ORDER BY reason",
                      snapshot_id, on_example, r);
    if (!rc)
        rc = each_row(ctx, st,
                      "SELECT count(*), coalesce(sum(status = 'open'), 0), "
                      "coalesce(sum(status = 'won'), 0), coalesce(sum(status = 'lost'), 0), "
                      "count(amount), count(close_date), count(owner), count(probability) "
                      "FROM deals WHERE deleted_at IS NULL AND ?1 >= 0",
                      snapshot_id, on_deals, r);
    if (!rc)
        rc = each_row(ctx, st,
                      "SELECT (SELECT count(*) FROM deal_events), (SELECT count(*) FROM accounts), "
                      "(SELECT count(*) FROM tickets) WHERE ?1 >= 0",
                      snapshot_id, on_counts, r);
    return rc;
}
