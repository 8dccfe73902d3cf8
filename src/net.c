/*
 * net.c - the libcurl adapter: HTTP POST and SMTP send for the outbox.
 *
 * One easy handle per call (a delivery pass sends a handful of messages; connection reuse
 * is not worth the state). Only the protocols a channel can use are allowed, redirects are
 * not followed (a 3xx is an answer, not success), signals are not used for timeouts, and
 * TLS peers are verified (libcurl's default, never turned off). Proxies come from the
 * environment as libcurl reads them (http_proxy, no_proxy).
 */
#include "net.h"

#include <curl/curl.h>

static int curl_ready;

static ri_err net_init(char *err, size_t errsize)
{
    /* the first call initialises libcurl; it is not undone (a process sends again) */
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            snprintf(err, errsize, "cannot initialise libcurl");
            return RI_ERR_HTTP;
        }
        curl_ready = 1;
    }
    return RI_OK;
}

/* The start of a response body, printable ASCII only, for the error text. */
struct reply {
    char *buf;
    size_t size, len;
};

static size_t on_reply(char *data, size_t size, size_t n, void *ud)
{
    struct reply *r = ud;
    size_t total = size * n;
    for (size_t i = 0; i < total && r->size && r->len + 1 < r->size; i++) {
        unsigned char c = (unsigned char)data[i];
        r->buf[r->len++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    if (r->size)
        r->buf[r->len] = '\0';
    return total;
}

static void curl_reason(CURLcode cc, const char *errbuf, char *err, size_t errsize)
{
    snprintf(err, errsize, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

ri_err ri_net_post(const char *url, const char *const *headers, size_t n_headers, const void *body,
                   size_t len, long timeout_s, long *status, char *reply, size_t replysize,
                   char *err, size_t errsize)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct reply r = {reply, replysize, 0};
    struct curl_slist *hl = NULL, *tmp;
    CURL *h = NULL;
    CURLcode cc;
    ri_err rc;

    *status = 0;
    if (replysize)
        reply[0] = '\0';
    rc = net_init(err, errsize);
    if (rc)
        return rc;
    /* no "Expect: 100-continue" round trip before larger bodies */
    tmp = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; tmp && i < n_headers; i++) {
        hl = tmp;
        tmp = curl_slist_append(hl, headers[i]);
    }
    if (!tmp) {
        snprintf(err, errsize, "out of memory");
        rc = RI_ERR_NOMEM;
        goto out;
    }
    hl = tmp;
    h = curl_easy_init();
    if (!h) {
        snprintf(err, errsize, "cannot create a libcurl handle");
        rc = RI_ERR_HTTP;
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout_s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "revintel/" RI_VERSION);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        curl_reason(cc, errbuf, err, errsize);
        rc = RI_ERR_HTTP;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(hl);
    return rc;
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t on_upload(char *dst, size_t size, size_t n, void *ud)
{
    struct upload *u = ud;
    size_t room = size * n, left = u->len - u->pos;
    size_t k = left < room ? left : room;
    memcpy(dst, u->data + u->pos, k);
    u->pos += k;
    return k;
}

ri_err ri_net_smtp_send(const struct ri_smtp_msg *m, char *err, size_t errsize)
{
    char errbuf[CURL_ERROR_SIZE] = "", addr[512];
    struct upload up = {m->data, m->len, 0};
    struct curl_slist *rcpt = NULL, *tmp;
    CURL *h = NULL;
    CURLcode cc;
    long code = 0;
    ri_err rc = net_init(err, errsize);

    if (rc)
        return rc;
    for (size_t i = 0; i < m->n_rcpt; i++) {
        snprintf(addr, sizeof(addr), "<%s>", m->rcpt[i]);
        tmp = curl_slist_append(rcpt, addr);
        if (!tmp) {
            snprintf(err, errsize, "out of memory");
            rc = RI_ERR_NOMEM;
            goto out;
        }
        rcpt = tmp;
    }
    h = curl_easy_init();
    if (!h) {
        snprintf(err, errsize, "cannot create a libcurl handle");
        rc = RI_ERR_HTTP;
        goto out;
    }
    snprintf(addr, sizeof(addr), "<%s>", m->from);
    curl_easy_setopt(h, CURLOPT_URL, m->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, m->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, m->timeout_s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     m->tls == RI_TLS_YES   ? (long)CURLUSESSL_ALL
                     : m->tls == RI_TLS_TRY ? (long)CURLUSESSL_TRY
                                            : (long)CURLUSESSL_NONE);
    if (m->username && m->username[0]) {
        curl_easy_setopt(h, CURLOPT_USERNAME, m->username);
        curl_easy_setopt(h, CURLOPT_PASSWORD, m->password ? m->password : "");
    }
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, addr);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(h, CURLOPT_READDATA, &up);
    cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_reason(cc, errbuf, err, errsize);
        if (code > 0) {
            size_t n = strlen(err);
            snprintf(err + n, errsize - n, " (server replied %ld)", code);
        }
        rc = RI_ERR_HTTP;
    }
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(rcpt);
    return rc;
}
