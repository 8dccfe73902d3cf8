/*
 * buf.c - struct ri_buf, a growable NUL-terminated string with a cap (STYLE C8).
 *
 * Invariants, as git's strbuf: buf is never NULL (an empty buffer points at a shared
 * static byte), buf[len] == '\0' always, and alloc > len once anything was added. The
 * cap comes from curl: a buffer filled from a file or the network is created with a
 * maximum, and an append that would pass it leaves the buffer unchanged and returns
 * RI_ERR_TOOBIG, so input cannot make us allocate without bound. struct ri_wbuf wraps one
 * for writers that render long texts: its first failure sticks and is checked once.
 */
#include "ri_internal.h"

#include <stdio.h>
#include <string.h>

char ri_buf_empty[1];

void ri_buf_init(struct ri_buf *b, size_t max_bytes)
{
    b->buf = ri_buf_empty;
    b->len = 0;
    b->alloc = 0;
    b->max = max_bytes;
}

void ri_buf_release(struct ri_buf *b)
{
    size_t max = b->max;
    if (b->alloc)
        ri_free(b->buf);
    ri_buf_init(b, max);
}

void ri_buf_reset(struct ri_buf *b)
{
    b->len = 0;
    if (b->alloc)
        b->buf[0] = '\0';
}

static ri_err buf_reserve(struct ri_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;
    if (extra > SIZE_MAX - b->len - 1)
        return RI_ERR_TOOBIG;
    need = b->len + extra + 1;
    if (b->max && need > b->max + 1)
        return RI_ERR_TOOBIG;
    if (need <= b->alloc)
        return RI_OK;
    cap = b->alloc ? b->alloc : 64;
    while (cap < need)
        cap = cap < SIZE_MAX / 2 ? cap * 2 : need;
    p = ri_try_realloc(b->alloc ? b->buf : NULL, cap);
    if (!p)
        return RI_ERR_NOMEM;
    if (!b->alloc)
        p[0] = '\0';
    b->buf = p;
    b->alloc = cap;
    return RI_OK;
}

ri_err ri_buf_addn(struct ri_buf *b, const void *data, size_t n)
{
    ri_err rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return RI_OK;
}

ri_err ri_buf_adds(struct ri_buf *b, const char *s)
{
    return ri_buf_addn(b, s, strlen(s));
}

ri_err ri_buf_addc(struct ri_buf *b, char c)
{
    return ri_buf_addn(b, &c, 1);
}

ri_err ri_buf_vaddf(struct ri_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;
    ri_err rc;
    va_copy(cp, ap);
    n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return RI_ERR_INTERNAL;
    rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return RI_OK;
}

ri_err ri_buf_addf(struct ri_buf *b, const char *fmt, ...)
{
    va_list ap;
    ri_err rc;
    va_start(ap, fmt);
    rc = ri_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

ri_err ri_buf_add_json_str(struct ri_buf *b, const char *s, size_t n)
{
    ri_err rc = ri_buf_addc(b, '"');
    for (size_t i = 0; !rc && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            rc = ri_buf_addn(b, "\\\"", 2);
            break;
        case '\\':
            rc = ri_buf_addn(b, "\\\\", 2);
            break;
        case '\n':
            rc = ri_buf_addn(b, "\\n", 2);
            break;
        case '\r':
            rc = ri_buf_addn(b, "\\r", 2);
            break;
        case '\t':
            rc = ri_buf_addn(b, "\\t", 2);
            break;
        default:
            if (c < 0x20)
                rc = ri_buf_addf(b, "\\u%04x", c);
            else
                rc = ri_buf_addc(b, (char)c);
        }
    }
    return rc ? rc : ri_buf_addc(b, '"');
}

char *ri_buf_detach(struct ri_buf *b, size_t *len)
{
    char *s = b->alloc ? b->buf : ri_strdup("");
    if (len)
        *len = b->len;
    ri_buf_init(b, b->max);
    return s;
}

/* ------------------------------------------------------------------ sticky writer */

void ri_wbuf_init(struct ri_wbuf *w, size_t max_bytes)
{
    ri_buf_init(&w->b, max_bytes);
    w->rc = RI_OK;
}

void ri_wbuf_reset(struct ri_wbuf *w)
{
    ri_buf_reset(&w->b);
    w->rc = RI_OK;
}

void ri_wbuf_addn(struct ri_wbuf *w, const char *s, size_t n)
{
    if (!w->rc)
        w->rc = ri_buf_addn(&w->b, s, n);
}

void ri_wbuf_adds(struct ri_wbuf *w, const char *s)
{
    ri_wbuf_addn(w, s, strlen(s));
}

void ri_wbuf_addc(struct ri_wbuf *w, char c)
{
    ri_wbuf_addn(w, &c, 1);
}

void ri_wbuf_addf(struct ri_wbuf *w, const char *fmt, ...)
{
    va_list ap;
    if (w->rc)
        return;
    va_start(ap, fmt);
    w->rc = ri_buf_vaddf(&w->b, fmt, ap);
    va_end(ap);
}

void ri_wbuf_add_html(struct ri_wbuf *w, const char *s, enum ri_html_nl nl)
{
    const char *run = s;
    if (!s)
        return;
    for (; *s; s++) {
        const char *e = *s == '&'                              ? "&amp;"
                        : *s == '<'                            ? "&lt;"
                        : *s == '>'                            ? "&gt;"
                        : *s == '"'                            ? "&quot;"
                        : *s == '\''                           ? "&#39;"
                        : *s == '\n' && nl == RI_HTML_NL_SPACE ? " "
                        : *s == '\n' && nl == RI_HTML_NL_BR    ? "<br>\n"
                                                               : NULL;
        if (!e)
            continue;
        ri_wbuf_addn(w, run, (size_t)(s - run));
        ri_wbuf_adds(w, e);
        run = s + 1;
    }
    ri_wbuf_addn(w, run, (size_t)(s - run));
}
