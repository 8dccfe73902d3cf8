/*
 * outbox.h - the durable outbox between what revintel has to say and the channels that
 * carry it (Slack incoming webhook, SMTP e-mail, a signed JSON webhook, a file/stdout).
 *
 * A message is rendered for its channel when it is queued (so a retry sends the same
 * bytes) and stored in the outbox table under an idempotency key; queueing the same key
 * twice is a no-op. Delivery (ri_outbox_deliver, revintel.h) sends what is due.
 */
#ifndef RI_OUTBOX_H
#define RI_OUTBOX_H

#include "conf.h"
#include "ri_internal.h"

/* One alert inside a digest. Texts come from CRM data: channels escape them. */
struct ri_alert_item {
    const char *key;      /* stable key, e.g. "deal.high_risk:OPP-001234" */
    const char *rule;     /* rule name */
    const char *severity; /* "info", "warning", "critical" */
    const char *subject;  /* one line: what */
    const char *message;  /* what was found, with the figures */
    const char *action;   /* what to do */
    const char *crm_id;   /* the deal, or NULL */
    double value;         /* revenue at stake, or RI_NAN */
};

/* A digest: every alert of one day for one recipient. */
struct ri_digest {
    const char *recipient; /* a person or a role ("leadership") */
    const char *address;   /* e-mail address, or NULL */
    const char *title;     /* "revintel: 3 alerts for Jane Doe on 2026-11-23" */
    ri_time as_of;
    const struct ri_alert_item *items;
    size_t n_items;
};

/* Renders d for channel (Block Kit for Slack, a MIME message with text and HTML parts for
 * SMTP, JSON for a webhook, a JSON line for a file) and queues it with idem_key. Queueing
 * a key already in the outbox changes nothing. RI_ERR_NOTFOUND for an unknown channel. */
ri_err ri_outbox_queue_digest(struct ri_ctx *ctx, const struct ri_channels_conf *ch,
                              const char *channel, const struct ri_digest *d, const char *idem_key,
                              ri_time now);

/* Queues a document (the weekly report): subject, plain text (Markdown) and HTML (e-mail
 * gets both parts; Slack and webhooks get the text and the subject). */
ri_err ri_outbox_queue_document(struct ri_ctx *ctx, const struct ri_channels_conf *ch,
                                const char *channel, const char *recipient, const char *subject,
                                const char *text, const char *html, const char *idem_key,
                                ri_time now);

#endif /* RI_OUTBOX_H */
