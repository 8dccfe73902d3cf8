/*
 * net.h - the network side of the outbox: an HTTP POST (Slack, webhooks) and an SMTP
 * send (e-mail). net.c is the only file that uses libcurl.
 *
 * Neither function logs, and neither puts the URL into its error text: a webhook URL or
 * a password may be a secret, so the caller names the target in its redacted form. The
 * error text is curl's (host and port at most) or the server's status.
 */
#ifndef RI_NET_H
#define RI_NET_H

#include "ri_internal.h"

/* POSTs body[0..len) to url (http or https only; no redirects followed) with extra
 * headers ("Name: value"). RI_OK when the server answered, whatever the status: *status
 * is the HTTP status and reply holds the start of the response body (printable ASCII,
 * truncated). RI_ERR_HTTP when no answer came (cannot connect, timeout, TLS): err says
 * why. timeout_s bounds the whole exchange. */
ri_err ri_net_post(const char *url, const char *const *headers, size_t n_headers, const void *body,
                   size_t len, long timeout_s, long *status /* OUT */, char *reply,
                   size_t replysize, char *err, size_t errsize);

enum ri_net_tls {
    RI_TLS_NO = 0, /* plain SMTP (or smtps:// implicit TLS, which the URL asks for) */
    RI_TLS_TRY,    /* STARTTLS when the server offers it */
    RI_TLS_YES,    /* STARTTLS required: fail rather than send in the clear */
};

struct ri_smtp_msg {
    const char *url;      /* smtp://host[:port] or smtps://host[:port] */
    const char *username; /* NULL or "": no AUTH */
    const char *password;
    enum ri_net_tls tls;
    const char *from;        /* envelope sender, a bare address */
    const char *const *rcpt; /* envelope recipients, bare addresses */
    size_t n_rcpt;
    const void *data; /* the whole RFC 5322 message, CRLF line endings; libcurl dot-stuffs */
    size_t len;
    long timeout_s;
};

/* Sends one message. RI_OK when the server accepted it for delivery; RI_ERR_HTTP
 * otherwise, with curl's reason and the server's last reply code in err. */
ri_err ri_net_smtp_send(const struct ri_smtp_msg *m, char *err, size_t errsize);

#endif /* RI_NET_H */
