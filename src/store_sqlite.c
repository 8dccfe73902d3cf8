/*
 * store_sqlite.c - the SQLite adapter: the only file that includes sqlite3.h.
 *
 * It opens the store file in WAL mode, applies the schema migrations of schema.c, and
 * offers the small statement interface of store.h. SQLite's errors become ri_err with
 * sqlite3_errmsg's text recorded on the context (STYLE C11). Every statement is
 * prepared with sqlite3_prepare_v3 and finalized by ri_stmt_free; the store keeps no
 * statement of its own between calls, so closing it never leaves one behind.
 *
 * Foreign keys are declared in the schema but not enforced on each insert: checking
 * six references per event row doubled the cost of loading a long history, and the
 * writers (ingest.c) only ever write ids they have just read or created. The tests run
 * PRAGMA foreign_key_check after their ingests instead.
 *
 * Durability: WAL with synchronous=NORMAL. A transaction that has committed survives a
 * crash of the process; one that has not (an ingest killed midway) is rolled back by
 * SQLite when the store is next opened, which is what makes an ingest all-or-nothing.
 */
#include "store.h"
#include "schema.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

struct ri_store {
    sqlite3 *db;
    int version;
    int in_tx;
    char *path;
    struct timespec deadline; /* ri_store_set_deadline */
};

struct ri_stmt {
    sqlite3_stmt *st;
    struct ri_store *store;
};

static ri_err sqlfail(struct ri_ctx *ctx, struct ri_store *st, const char *what)
{
    return ri_fail(ctx, RI_ERR_STORE, "%s: %s", what, st && st->db ? sqlite3_errmsg(st->db) : "");
}

ri_err ri_store_exec(struct ri_ctx *ctx, struct ri_store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ri_err rc = ri_fail(ctx, RI_ERR_STORE, "store: %s", msg ? msg : "unknown error");
        sqlite3_free(msg);
        return rc;
    }
    return RI_OK;
}

static ri_err pragma_i64(struct ri_ctx *ctx, struct ri_store *st, const char *sql, int64_t *out)
{
    return ri_store_query_i64(ctx, st, sql, out);
}

static ri_err migrate(struct ri_ctx *ctx, struct ri_store *st, const char *path, unsigned flags)
{
    int64_t v = 0;
    int target = ri_schema_version_current();
    ri_err rc = pragma_i64(ctx, st, "PRAGMA user_version", &v);
    if (rc)
        return rc;
    if (v > target)
        return ri_fail(ctx, RI_ERR_STORE,
                       "store '%s' has schema version %lld, newer than this revintel's %d: "
                       "upgrade revintel",
                       path, (long long)v, target);
    if (v == 0 && !(flags & RI_OPEN_CREATE)) {
        int64_t ntab = 0;
        rc = pragma_i64(ctx, st, "SELECT count(*) FROM sqlite_master", &ntab);
        if (rc)
            return rc;
        if (ntab > 0)
            return ri_fail(ctx, RI_ERR_STORE, "'%s' is an SQLite file but not a revintel store",
                           path);
        return ri_fail(ctx, RI_ERR_NOTFOUND, "no store at '%s': run 'revintel init' first", path);
    }
    if (v < target && (flags & RI_OPEN_READONLY))
        return ri_fail(ctx, RI_ERR_STORE,
                       "store '%s' has schema version %lld and needs migrating to %d; "
                       "open it once read-write",
                       path, (long long)v, target);
    if (v < target) {
        rc = ri_store_exec(ctx, st, "BEGIN IMMEDIATE");
        if (rc)
            return rc;
        for (int i = (int)v; i < target; i++) {
            char setv[64];
            rc = ri_store_exec(ctx, st, ri_schema_migration(i));
            if (rc)
                break;
            snprintf(setv, sizeof(setv), "PRAGMA user_version = %d", i + 1);
            rc = ri_store_exec(ctx, st, setv);
            if (rc)
                break;
            if (v > 0)
                ri_log(RI_LOG_INFO, "store '%s' migrated to schema version %d", path, i + 1);
        }
        if (rc) {
            ri_store_exec(NULL, st, "ROLLBACK");
            return rc;
        }
        rc = ri_store_exec(ctx, st, "COMMIT");
        if (rc)
            return rc;
    }
    st->version = target;
    return RI_OK;
}

/* Process-wide SQLite settings, before its first use: no memory statistics, whose
 * global mutex cost 8 % of a bulk load and which revintel never reads. */
static void sqlite_setup(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

ri_err ri_store_open_file(struct ri_ctx *ctx, const char *path, unsigned flags,
                          struct ri_store **out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct ri_store *st = ri_calloc(1, sizeof(*st));
    int oflags = (flags & RI_OPEN_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    ri_err rc = RI_OK;
    *out = NULL;
    pthread_once(&once, sqlite_setup);
    if (flags & RI_OPEN_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    st->path = ri_strdup(path);
    if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        if (!(flags & RI_OPEN_CREATE) && sqlite3_errcode(st->db) == SQLITE_CANTOPEN)
            rc = ri_fail(ctx, RI_ERR_NOTFOUND, "no store at '%s': run 'revintel init' first", path);
        else
            rc = ri_fail(ctx, RI_ERR_STORE, "cannot open store '%s': %s", path,
                         sqlite3_errmsg(st->db));
        goto out;
    }
    sqlite3_busy_timeout(st->db, 10000);
    sqlite3_extended_result_codes(st->db, 1);
    if (!(flags & RI_OPEN_READONLY)) {
        /* the page size takes effect only on a new file, and must precede WAL mode;
         * 16 KiB pages halve the cost of bulk inserts against the 4 KiB default */
        rc = ri_store_exec(ctx, st,
                           "PRAGMA page_size=16384; "
                           "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                           "PRAGMA temp_store=MEMORY; "
                           "PRAGMA cache_size=-32768");
        if (rc) {
            rc = ri_fail(ctx, RI_ERR_STORE, "'%s' is not a usable store: %s", path, ri_errmsg(ctx));
            goto out;
        }
    }
    rc = migrate(ctx, st, path, flags);
out:
    if (rc) {
        ri_store_close(st);
        return rc;
    }
    *out = st;
    return RI_OK;
}

void ri_store_close(struct ri_store *st)
{
    if (!st)
        return;
    if (st->in_tx)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close_v2(st->db);
    ri_free(st->path);
    ri_free(st);
}

const char *ri_store_path(const struct ri_store *st)
{
    return st->path;
}

ri_err ri_store_begin(struct ri_ctx *ctx, struct ri_store *st)
{
    ri_err rc;
    if (st->in_tx)
        RI_BUG("nested transaction");
    rc = ri_store_exec(ctx, st, "BEGIN IMMEDIATE");
    if (!rc)
        st->in_tx = 1;
    return rc;
}

ri_err ri_store_commit(struct ri_ctx *ctx, struct ri_store *st)
{
    ri_err rc = ri_store_exec(ctx, st, "COMMIT");
    if (!rc)
        st->in_tx = 0;
    return rc;
}

void ri_store_rollback(struct ri_store *st)
{
    if (!st || !st->in_tx)
        return;
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_tx = 0;
}

int64_t ri_store_last_rowid(struct ri_store *st)
{
    return sqlite3_last_insert_rowid(st->db);
}

int ri_store_version(struct ri_store *st)
{
    return st->version;
}

void ri_store_busy_timeout(struct ri_store *st, int ms)
{
    sqlite3_busy_timeout(st->db, ms);
}

static int past_deadline(void *ud)
{
    const struct ri_store *st = ud;
    struct timespec now;
    if (ri_interrupted)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > st->deadline.tv_sec ||
           (now.tv_sec == st->deadline.tv_sec && now.tv_nsec >= st->deadline.tv_nsec);
}

void ri_store_set_deadline(struct ri_store *st, int ms)
{
    if (ms <= 0) {
        sqlite3_progress_handler(st->db, 0, NULL, NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &st->deadline);
    st->deadline.tv_sec += ms / 1000;
    st->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (st->deadline.tv_nsec >= 1000000000L) {
        st->deadline.tv_sec++;
        st->deadline.tv_nsec -= 1000000000L;
    }
    /* checked every 1,000 virtual-machine instructions: microseconds apart */
    sqlite3_progress_handler(st->db, 1000, past_deadline, st);
}

bool ri_store_writable(struct ri_store *st)
{
    return sqlite3_db_readonly(st->db, "main") == 0 && sqlite3_get_autocommit(st->db) && !st->in_tx;
}

ri_err ri_stmt_prepare(struct ri_ctx *ctx, struct ri_store *st, const char *sql,
                       struct ri_stmt **out)
{
    sqlite3_stmt *s = NULL;
    *out = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        return sqlfail(ctx, st, "store: cannot prepare statement");
    *out = ri_malloc(sizeof(**out));
    (*out)->st = s;
    (*out)->store = st;
    return RI_OK;
}

void ri_stmt_free(struct ri_stmt *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->st);
    ri_free(s);
}

ri_err ri_stmt_reset(struct ri_stmt *s)
{
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
    return RI_OK;
}

void ri_stmt_bind_i64(struct ri_stmt *s, int idx, int64_t v)
{
    sqlite3_bind_int64(s->st, idx, v);
}

void ri_stmt_bind_f64(struct ri_stmt *s, int idx, double v)
{
    if (isnan(v))
        sqlite3_bind_null(s->st, idx);
    else
        sqlite3_bind_double(s->st, idx, v);
}

void ri_stmt_bind_text(struct ri_stmt *s, int idx, const char *v, size_t len)
{
    if (!v)
        sqlite3_bind_null(s->st, idx);
    else
        sqlite3_bind_text64(s->st, idx, v, len, SQLITE_STATIC, SQLITE_UTF8);
}

void ri_stmt_bind_blob(struct ri_stmt *s, int idx, const void *v, size_t len)
{
    if (!v)
        sqlite3_bind_null(s->st, idx);
    else
        sqlite3_bind_blob64(s->st, idx, v, len, SQLITE_STATIC);
}

void ri_stmt_bind_time(struct ri_stmt *s, int idx, ri_time t)
{
    if (t == RI_TIME_NONE)
        sqlite3_bind_null(s->st, idx);
    else
        sqlite3_bind_int64(s->st, idx, t);
}

void ri_stmt_bind_null(struct ri_stmt *s, int idx)
{
    sqlite3_bind_null(s->st, idx);
}

ri_err ri_stmt_step(struct ri_ctx *ctx, struct ri_stmt *s)
{
    int r = sqlite3_step(s->st);
    if (r == SQLITE_ROW)
        return RI_OK;
    if (r == SQLITE_DONE)
        return RI_ERR_NOTFOUND;
    return sqlfail(ctx, s->store, "store");
}

ri_err ri_stmt_run(struct ri_ctx *ctx, struct ri_stmt *s)
{
    ri_err rc = ri_stmt_step(ctx, s);
    sqlite3_reset(s->st);
    if (rc == RI_ERR_NOTFOUND)
        return RI_OK;
    if (rc == RI_OK)
        return RI_OK; /* a row from RETURNING or a pragma: ignored */
    return rc;
}

int ri_stmt_is_null(struct ri_stmt *s, int col)
{
    return sqlite3_column_type(s->st, col) == SQLITE_NULL;
}

int64_t ri_stmt_i64(struct ri_stmt *s, int col)
{
    return sqlite3_column_int64(s->st, col);
}

double ri_stmt_f64(struct ri_stmt *s, int col)
{
    if (sqlite3_column_type(s->st, col) == SQLITE_NULL)
        return RI_NAN;
    return sqlite3_column_double(s->st, col);
}

double ri_stmt_double(struct ri_stmt *s, int col)
{
    return sqlite3_column_double(s->st, col);
}

ri_time ri_stmt_time(struct ri_stmt *s, int col)
{
    if (sqlite3_column_type(s->st, col) == SQLITE_NULL)
        return RI_TIME_NONE;
    return sqlite3_column_int64(s->st, col);
}

const char *ri_stmt_text(struct ri_stmt *s, int col, size_t *len)
{
    const char *t = (const char *)sqlite3_column_text(s->st, col);
    if (len)
        *len = t ? (size_t)sqlite3_column_bytes(s->st, col) : 0;
    return t;
}

const void *ri_stmt_blob(struct ri_stmt *s, int col, size_t *len)
{
    const void *b = sqlite3_column_blob(s->st, col);
    if (len)
        *len = b ? (size_t)sqlite3_column_bytes(s->st, col) : 0;
    return b;
}

struct ri_blob {
    sqlite3_blob *b;
    struct ri_store *store;
};

ri_err ri_store_blob_open(struct ri_ctx *ctx, struct ri_store *st, const char *table,
                          const char *column, int64_t rowid, bool write, struct ri_blob **out,
                          size_t *size)
{
    sqlite3_blob *b = NULL;
    *out = NULL;
    *size = 0;
    if (sqlite3_blob_open(st->db, "main", table, column, rowid, write, &b) != SQLITE_OK) {
        ri_err rc = sqlfail(ctx, st, "store: cannot open blob");
        sqlite3_blob_close(b);
        return rc;
    }
    *out = ri_malloc(sizeof(**out));
    (*out)->b = b;
    (*out)->store = st;
    *size = (size_t)sqlite3_blob_bytes(b);
    return RI_OK;
}

ri_err ri_store_blob_read(struct ri_ctx *ctx, struct ri_blob *b, void *buf, size_t n, size_t off)
{
    if (n > INT_MAX || off > INT_MAX || n + off > (size_t)sqlite3_blob_bytes(b->b))
        return ri_fail(ctx, RI_ERR_INVALID, "store: blob read past its end");
    if (sqlite3_blob_read(b->b, buf, (int)n, (int)off) != SQLITE_OK)
        return sqlfail(ctx, b->store, "store: cannot read blob");
    return RI_OK;
}

ri_err ri_store_blob_write(struct ri_ctx *ctx, struct ri_blob *b, const void *buf, size_t n,
                           size_t off)
{
    if (n > INT_MAX || off > INT_MAX || n + off > (size_t)sqlite3_blob_bytes(b->b))
        return ri_fail(ctx, RI_ERR_INVALID, "store: blob write past its end");
    if (sqlite3_blob_write(b->b, buf, (int)n, (int)off) != SQLITE_OK)
        return sqlfail(ctx, b->store, "store: cannot write blob");
    return RI_OK;
}

void ri_store_blob_close(struct ri_blob *b)
{
    if (!b)
        return;
    sqlite3_blob_close(b->b);
    ri_free(b);
}

ri_err ri_store_query_i64(struct ri_ctx *ctx, struct ri_store *st, const char *sql, int64_t *out)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st, sql, &s);
    *out = 0;
    if (rc)
        return rc;
    rc = ri_stmt_step(ctx, s);
    if (rc == RI_OK)
        *out = ri_stmt_i64(s, 0);
    else if (rc == RI_ERR_NOTFOUND)
        rc = RI_OK;
    ri_stmt_free(s);
    return rc;
}
