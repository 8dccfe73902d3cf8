/*
 * store.c - the public face of the store: open a file store on the context.
 *
 * Backends sit behind store.h; today the only one is SQLite (store_sqlite.c). This file
 * keeps ri_store_open independent of which backend serves it.
 */
#include "store.h"

ri_err ri_store_open(struct ri_ctx *ctx, const char *path, unsigned flags)
{
    struct ri_store *st = NULL;
    ri_err rc;
    if (!path || !*path)
        return ri_fail(ctx, RI_ERR_INVALID, "no store path given");
    rc = ri_store_open_file(ctx, path, flags, &st);
    if (rc)
        return rc;
    ri_store_close(ri_ctx_store(ctx));
    ri_ctx_set_store(ctx, st);
    return RI_OK;
}

int ri_store_schema_version(struct ri_ctx *ctx)
{
    struct ri_store *st = ri_ctx_store(ctx);
    return st ? ri_store_version(st) : 0;
}

ri_err ri_store_latest_date(struct ri_ctx *ctx, struct ri_store *st, ri_time *out)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "SELECT max(m) FROM (SELECT max(created_at) AS m FROM deals "
                                "UNION ALL SELECT max(close_date) FROM deals WHERE status <> "
                                "'open')",
                                &s);
    *out = RI_TIME_NONE;
    if (!rc)
        rc = ri_stmt_step(ctx, s);
    if (rc == RI_OK) {
        ri_time m = ri_stmt_time(s, 0);
        if (m != RI_TIME_NONE)
            *out = m - ((m % RI_DAY) + RI_DAY) % RI_DAY;
    } else if (rc == RI_ERR_NOTFOUND) {
        rc = RI_OK;
    }
    ri_stmt_free(s);
    return rc;
}
