/*
 * test_writer.c - the write-behind queue: every write runs, in order, across chunk
 * boundaries, on a thread or inline; the first failure stops the rest and is reported.
 */
#include "harness.h"
#include "../../src/writer.h"

#include <stdlib.h>
#include <unistd.h>

static struct ri_ctx *open_mem(void)
{
    struct ri_ctx *ctx = ri_ctx_new();
    char path[64];
    snprintf(path, sizeof(path), "/tmp/ri-writer-%d.db", (int)getpid());
    unlink(path);
    if (ri_store_open(ctx, path, RI_OPEN_CREATE) != RI_OK)
        abort();
    unlink(path);
    if (ri_store_exec(ctx, ri_ctx_store(ctx),
                      "CREATE TABLE t(k INTEGER PRIMARY KEY, s TEXT, f REAL, n INTEGER)") != RI_OK)
        abort();
    return ctx;
}

static int64_t q(struct ri_ctx *ctx, const char *sql)
{
    int64_t v = -1;
    ri_store_query_i64(ctx, ri_ctx_store(ctx), sql, &v);
    return v;
}

static void fill(int threads)
{
    struct ri_ctx *ctx = open_mem();
    struct ri_stmt *ins = NULL;
    struct ri_writer *w = NULL;
    char big[70000];
    ri_err rc = RI_OK;
    memset(big, 'x', sizeof(big));
    REQUIRE(ri_stmt_prepare(ctx, ri_ctx_store(ctx), "INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
                            &ins) == RI_OK);
    REQUIRE(ri_store_begin(ctx, ri_ctx_store(ctx)) == RI_OK);
    REQUIRE(ri_writer_start(ctx, threads, &w) == RI_OK);
    /* 200,000 rows of ~60 bytes plus a 70 kB text every 1,000 rows: many chunk handovers,
     * some in the middle of a write */
    for (int i = 1; i <= 200000 && !rc; i++) {
        char s[64];
        int n = snprintf(s, sizeof(s), "row %d", i);
        ri_writer_begin(w, ins);
        ri_writer_i64(w, 1, i);
        if (i % 1000 == 0)
            ri_writer_text(w, 2, big, sizeof(big));
        else
            ri_writer_text(w, 2, s, (size_t)n);
        ri_writer_f64(w, 3, i % 7 ? (double)i / 2 : (double)NAN);
        if (i % 3)
            ri_writer_time(w, 4, i);
        else
            ri_writer_null(w, 4);
        rc = ri_writer_end(w);
    }
    CHECK_EQ_INT(rc, RI_OK);
    CHECK_EQ_INT(ri_writer_finish(w), RI_OK);
    REQUIRE(ri_store_commit(ctx, ri_ctx_store(ctx)) == RI_OK);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM t"), 200000);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM t WHERE s = 'row ' || k"), 199800);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM t WHERE length(s) = 70000"), 200);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM t WHERE f IS NULL"), 200000 / 7);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM t WHERE n IS NULL"), 200000 / 3);
    CHECK_EQ_INT(q(ctx, "SELECT sum(f = k / 2.0) FROM t WHERE f IS NOT NULL"), 200000 - 200000 / 7);
    ri_stmt_free(ins);
    ri_ctx_free(ctx);
}

TEST(all_writes_run_in_order_threaded)
{
    fill(1);
}

TEST(all_writes_run_in_order_inline)
{
    fill(0);
}

TEST(first_failure_stops_the_rest)
{
    struct ri_ctx *ctx = open_mem();
    struct ri_stmt *ins = NULL;
    struct ri_writer *w = NULL;
    ri_err rc = RI_OK;
    REQUIRE(ri_stmt_prepare(ctx, ri_ctx_store(ctx), "INSERT INTO t(k, s) VALUES (?1, ?2)", &ins) ==
            RI_OK);
    REQUIRE(ri_writer_start(ctx, 1, &w) == RI_OK);
    /* key 500 is written again by write 1000, which fails: writes 1..999 ran, and nothing
     * after the failure may run */
    for (int i = 1; i <= 300000 && !rc; i++) {
        ri_writer_begin(w, ins);
        ri_writer_i64(w, 1, i == 1000 ? 500 : i);
        ri_writer_text(w, 2, "0123456789012345678901234567890123456789", 40);
        rc = ri_writer_end(w);
    }
    CHECK_EQ_INT(ri_writer_finish(w), RI_ERR_STORE);
    CHECK(strstr(ri_errmsg(ctx), "UNIQUE") != NULL);
    CHECK_EQ_INT(q(ctx, "SELECT count(*) FROM t"), 999);
    ri_stmt_free(ins);
    ri_ctx_free(ctx);
}

TEST(a_write_larger_than_a_chunk_is_refused)
{
    struct ri_ctx *ctx = open_mem();
    struct ri_stmt *ins = NULL;
    struct ri_writer *w = NULL;
    size_t n = 5u << 20;
    char *huge = malloc(n);
    REQUIRE(huge != NULL);
    memset(huge, 'y', n);
    REQUIRE(ri_stmt_prepare(ctx, ri_ctx_store(ctx), "INSERT INTO t(k, s) VALUES (?1, ?2)", &ins) ==
            RI_OK);
    REQUIRE(ri_writer_start(ctx, 1, &w) == RI_OK);
    ri_writer_begin(w, ins);
    ri_writer_i64(w, 1, 1);
    ri_writer_text(w, 2, huge, n);
    CHECK_EQ_INT(ri_writer_end(w), RI_ERR_TOOBIG);
    CHECK_EQ_INT(ri_writer_finish(w), RI_ERR_TOOBIG);
    free(huge);
    ri_stmt_free(ins);
    ri_ctx_free(ctx);
}

int main(void)
{
    BEGIN("test_writer");
    RUN(all_writes_run_in_order_threaded);
    RUN(all_writes_run_in_order_inline);
    RUN(first_failure_stops_the_rest);
    RUN(a_write_larger_than_a_chunk_is_refused);
    return DONE();
}
