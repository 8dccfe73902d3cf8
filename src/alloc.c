/*
 * alloc.c - the allocation policy (STYLE C6).
 *
 * Small fixed-size allocations abort on failure with a message, as redis's zmalloc and
 * git's xmalloc do: there is nothing sensible to do when a 64-byte malloc fails. Sizes
 * that come from input go through ri_try_alloc, which returns NULL so the caller can
 * report RI_ERR_NOMEM or RI_ERR_TOOBIG. RI_FAULT_ALLOC=N (debug builds) makes the Nth
 * try-allocation fail, to test those paths, after curl's torture mode.
 */
#include "ri_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void oom(size_t n)
{
    fprintf(stderr, "revintel: fatal: out of memory allocating %zu bytes\n", n);
    abort();
}

void *ri_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *ri_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *ri_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *ri_strdup(const char *s)
{
    return ri_strndup(s, strlen(s));
}

char *ri_strndup(const char *s, size_t n)
{
    char *p = ri_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ri_free(void *p)
{
    free(p);
}

#ifndef NDEBUG
static long fault_countdown = -1; /* -1: not read yet; 0: off */

static bool fault_now(void)
{
    if (fault_countdown < 0) {
        const char *e = getenv("RI_FAULT_ALLOC");
        int64_t v = 0;
        fault_countdown = (e && ri_parse_i64(e, strlen(e), &v) == RI_OK && v > 0) ? (long)v : 0;
    }
    if (fault_countdown == 0)
        return false;
    return --fault_countdown == 0;
}
#else
static bool fault_now(void)
{
    return false;
}
#endif

void *ri_try_alloc(size_t n)
{
    if (fault_now())
        return NULL;
    return malloc(n ? n : 1);
}

void *ri_try_realloc(void *p, size_t n)
{
    if (fault_now())
        return NULL;
    return realloc(p, n ? n : 1);
}

void ri_grow(void **arr, size_t *cap, size_t need, size_t elsz)
{
    size_t c = *cap;
    if (need <= c)
        return;
    c = c ? c : 8;
    while (c < need)
        c = c + c / 2 + 8;
    *arr = ri_realloc(*arr, c * elsz);
    *cap = c;
}

ri_err ri_try_grow(void **arr, size_t *cap, size_t need, size_t elsz)
{
    size_t c = *cap ? *cap : 16;
    void *p;
    if (need <= *cap)
        return RI_OK;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elsz)
            return RI_ERR_TOOBIG;
        c *= 2;
    }
    p = ri_try_realloc(*arr, c * elsz);
    if (!p)
        return RI_ERR_NOMEM;
    *arr = p;
    *cap = c;
    return RI_OK;
}

void ri_bug_fl(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "revintel: BUG: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
