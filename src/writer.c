/*
 * writer.c - the write-behind queue of writer.h.
 *
 * Two chunks of 4 MiB alternate: the producer encodes writes into one while the writer
 * thread executes the other. A write is encoded as the statement pointer, then each
 * parameter as (type, index, value), then an end mark; texts are copied inline. A full
 * chunk is handed over under a mutex; the producer waits only when the writer has not
 * finished the previous chunk, so the two threads overlap fully when they are about as
 * fast as each other. The SQLite connection is used by one thread at a time: the writer
 * while it runs, the owner after ri_writer_finish has joined it (the handover through
 * the mutex orders the two).
 */
#include "writer.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define CHUNK_SIZE (4u << 20)

enum { OP_END = 0, OP_I64, OP_F64, OP_TEXT, OP_NULL };

struct chunk {
    unsigned char *data;
    size_t len;
};

struct ri_writer {
    struct ri_ctx *ctx;  /* the owner's: the failure is copied there */
    struct ri_ctx *wctx; /* the writer thread's own, for messages written off-thread */
    int threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct chunk fill;    /* being filled by the producer */
    struct chunk pending; /* handed over, not yet taken; data NULL if none */
    struct chunk spare;   /* returned by the writer for reuse */
    int busy, stop;
    ri_err failed;   /* first failure, set by the writer */
    size_t op_start; /* where the write being encoded starts in fill */
    int overflow;    /* a single write did not fit a chunk */
    int flushed;     /* a chunk was handed over since the last check */
};

static void put(struct chunk *c, const void *p, size_t n)
{
    memcpy(c->data + c->len, p, n);
    c->len += n;
}

/* Executes every write of a chunk. Returns the first failure. */
static ri_err run_chunk(struct ri_ctx *ctx, const unsigned char *p, size_t len)
{
    const unsigned char *end = p + len;
    while (p < end) {
        struct ri_stmt *s;
        ri_err rc;
        memcpy(&s, p, sizeof(s));
        p += sizeof(s);
        for (;;) {
            unsigned char type = *p++;
            int idx;
            if (type == OP_END)
                break;
            idx = *p++;
            if (type == OP_I64) {
                int64_t v;
                memcpy(&v, p, sizeof(v));
                p += sizeof(v);
                ri_stmt_bind_i64(s, idx, v);
            } else if (type == OP_F64) {
                double v;
                memcpy(&v, p, sizeof(v));
                p += sizeof(v);
                ri_stmt_bind_f64(s, idx, v);
            } else if (type == OP_TEXT) {
                uint32_t n;
                memcpy(&n, p, sizeof(n));
                p += sizeof(n);
                ri_stmt_bind_text(s, idx, (const char *)p, n);
                p += n;
            } else {
                ri_stmt_bind_null(s, idx);
            }
        }
        rc = ri_stmt_run(ctx, s);
        if (rc)
            return rc;
    }
    return RI_OK;
}

static void *writer_main(void *arg)
{
    struct ri_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        struct chunk c;
        ri_err rc = RI_OK;
        while (!w->pending.data && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (!w->pending.data)
            break;
        c = w->pending;
        w->pending.data = NULL;
        w->busy = 1;
        pthread_mutex_unlock(&w->mu);
        if (!w->failed)
            rc = run_chunk(w->wctx, c.data, c.len);
        pthread_mutex_lock(&w->mu);
        if (rc && !w->failed)
            w->failed = rc;
        c.len = 0;
        if (w->spare.data)
            ri_free(c.data); /* the producer made a third chunk while this one ran */
        else
            w->spare = c;
        w->busy = 0;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

ri_err ri_writer_start(struct ri_ctx *ctx, int threads, struct ri_writer **out)
{
    struct ri_writer *w = ri_calloc(1, sizeof(*w));
    *out = NULL;
    w->ctx = ctx;
    w->wctx = ri_ctx_new();
    w->fill.data = ri_try_alloc(CHUNK_SIZE);
    if (!w->fill.data) {
        ri_ctx_free(w->wctx);
        ri_free(w);
        return ri_fail(ctx, RI_ERR_NOMEM, "out of memory for the write queue");
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (threads > 0 && pthread_create(&w->thread, NULL, writer_main, w) == 0)
        w->threaded = 1;
    *out = w;
    return RI_OK;
}

/* Hands the filled chunk to the writer (or runs it here) and gets an empty one. */
static void flush(struct ri_writer *w)
{
    if (!w->fill.len)
        return;
    w->flushed = 1;
    if (!w->threaded) {
        if (!w->failed)
            w->failed = run_chunk(w->wctx, w->fill.data, w->fill.len);
        w->fill.len = 0;
        return;
    }
    pthread_mutex_lock(&w->mu);
    while (w->pending.data)
        pthread_cond_wait(&w->cv, &w->mu);
    w->pending = w->fill;
    w->fill.data = NULL;
    if (w->spare.data) {
        w->fill = w->spare;
        w->spare.data = NULL;
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (!w->fill.data)
        w->fill.data = ri_malloc(CHUNK_SIZE);
    w->fill.len = 0;
}

/* Makes room for n more bytes of the write being encoded, moving it to a new chunk. */
static int room(struct ri_writer *w, size_t n)
{
    size_t part;
    if (w->fill.len + n <= CHUNK_SIZE)
        return 1;
    part = w->fill.len - w->op_start;
    if (part + n > CHUNK_SIZE) {
        w->overflow = 1;
        return 0;
    }
    {
        unsigned char tmp[256];
        unsigned char *save = part <= sizeof(tmp) ? tmp : ri_malloc(part);
        memcpy(save, w->fill.data + w->op_start, part);
        w->fill.len = w->op_start;
        flush(w);
        put(&w->fill, save, part);
        if (save != tmp)
            ri_free(save);
    }
    w->op_start = 0;
    return 1;
}

void ri_writer_begin(struct ri_writer *w, struct ri_stmt *stmt)
{
    if (w->fill.len + sizeof(stmt) > CHUNK_SIZE)
        flush(w);
    w->op_start = w->fill.len;
    put(&w->fill, &stmt, sizeof(stmt));
}

static void param(struct ri_writer *w, unsigned char type, int idx, const void *v, size_t n)
{
    unsigned char hdr[2] = {type, (unsigned char)idx};
    if (!room(w, 2 + n))
        return;
    put(&w->fill, hdr, 2);
    if (v && n)
        put(&w->fill, v, n);
}

void ri_writer_i64(struct ri_writer *w, int idx, int64_t v)
{
    param(w, OP_I64, idx, &v, sizeof(v));
}

void ri_writer_f64(struct ri_writer *w, int idx, double v)
{
    if (isnan(v))
        param(w, OP_NULL, idx, NULL, 0);
    else
        param(w, OP_F64, idx, &v, sizeof(v));
}

void ri_writer_null(struct ri_writer *w, int idx)
{
    param(w, OP_NULL, idx, NULL, 0);
}

void ri_writer_time(struct ri_writer *w, int idx, ri_time t)
{
    if (t == RI_TIME_NONE)
        param(w, OP_NULL, idx, NULL, 0);
    else
        param(w, OP_I64, idx, &t, sizeof(t));
}

void ri_writer_text(struct ri_writer *w, int idx, const char *s, size_t len)
{
    uint32_t n = (uint32_t)len;
    unsigned char hdr[2] = {OP_TEXT, (unsigned char)idx};
    if (!s) {
        param(w, OP_NULL, idx, NULL, 0);
        return;
    }
    if (!room(w, 2 + sizeof(n) + len))
        return;
    put(&w->fill, hdr, 2);
    put(&w->fill, &n, sizeof(n));
    put(&w->fill, s, len);
}

static ri_err failure(struct ri_writer *w)
{
    ri_err rc;
    if (w->overflow)
        return ri_fail(w->ctx, RI_ERR_TOOBIG, "a single write is larger than the write queue");
    if (w->threaded)
        pthread_mutex_lock(&w->mu);
    rc = w->failed;
    if (w->threaded)
        pthread_mutex_unlock(&w->mu);
    if (rc)
        ri_fail(w->ctx, rc, "%s", ri_errmsg(w->wctx));
    return rc;
}

ri_err ri_writer_end(struct ri_writer *w)
{
    unsigned char end = OP_END;
    if (room(w, 1))
        put(&w->fill, &end, 1);
    /* checking the writer's state costs a lock: do it once per chunk, not per write */
    if (w->overflow || w->flushed) {
        w->flushed = 0;
        return failure(w);
    }
    return RI_OK;
}

ri_err ri_writer_finish(struct ri_writer *w)
{
    ri_err rc;
    if (!w)
        return RI_OK;
    flush(w);
    if (w->threaded) {
        pthread_mutex_lock(&w->mu);
        while (w->pending.data || w->busy)
            pthread_cond_wait(&w->cv, &w->mu);
        w->stop = 1;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
    }
    rc = failure(w);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    ri_free(w->fill.data);
    ri_free(w->pending.data);
    ri_free(w->spare.data);
    ri_ctx_free(w->wctx);
    ri_free(w);
    return rc;
}
