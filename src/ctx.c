/*
 * ctx.c - struct ri_ctx, the handle every entry point takes (like sqlite3* or jq_state).
 *
 * It owns the open store, the progress callback and the text of the last failure. The
 * error text is overwritten by each ri_fail; callers read it with ri_errmsg right after
 * the failing call, as with sqlite3_errmsg.
 */
#include "ri_internal.h"
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

volatile int ri_interrupted;

struct ri_ctx {
    struct ri_store *store;
    char errmsg[1024];
    ri_progress_fn progress;
    void *progress_ud;
    struct timespec last_progress;
};

struct ri_ctx *ri_ctx_new(void)
{
    struct ri_ctx *ctx = ri_calloc(1, sizeof(*ctx));
    return ctx;
}

void ri_ctx_free(struct ri_ctx *ctx)
{
    if (!ctx)
        return;
    ri_store_close(ctx->store);
    ri_free(ctx);
}

const char *ri_errmsg(const struct ri_ctx *ctx)
{
    return ctx ? ctx->errmsg : "";
}

ri_err ri_fail(struct ri_ctx *ctx, ri_err code, const char *fmt, ...)
{
    va_list ap;
    if (!ctx)
        return code;
    va_start(ap, fmt);
    vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
    va_end(ap);
    return code;
}

struct ri_store *ri_ctx_store(struct ri_ctx *ctx)
{
    return ctx->store;
}

void ri_ctx_set_store(struct ri_ctx *ctx, struct ri_store *st)
{
    ctx->store = st;
}

void ri_set_progress_fn(struct ri_ctx *ctx, ri_progress_fn fn, void *userdata)
{
    ctx->progress = fn;
    ctx->progress_ud = userdata;
}

void ri_progress(struct ri_ctx *ctx, const char *what, uint64_t done, uint64_t total)
{
    struct timespec now;
    double dt;
    if (!ctx || !ctx->progress)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    dt = (double)(now.tv_sec - ctx->last_progress.tv_sec) +
         (double)(now.tv_nsec - ctx->last_progress.tv_nsec) / 1e9;
    if (done != total && dt < 0.25)
        return;
    ctx->last_progress = now;
    ctx->progress(what, done, total, ctx->progress_ud);
}
