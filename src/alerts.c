/*
 * alerts.c - the alert engine: its configuration ([alerts], [rule.NAME], [recipients]),
 * the state of every alert across days (cooldown, snooze), and the digests it queues in
 * the outbox. The rules themselves are in alert_rules.c.
 *
 * One run (ri_alerts_run) evaluates the rules on the as-of date, decides for each alert
 * and recipient whether it goes out today (queued), was sent within its cooldown
 * (cooldown), is snoozed (snoozed), or has no channel to go to (new); puts what goes out
 * into one digest per recipient, queued once per channel of that recipient under the
 * idempotency key digest:<recipient>:<as-of date>:<channel>; and records every alert in
 * the alerts table, UNIQUE (as_of, key, recipient). The digests and the alerts are
 * written in one transaction: an alert is recorded queued exactly when its digest is in
 * the outbox. A second run for the same as-of date finds its alerts already recorded and
 * changes nothing. A digest a channel cannot take (a mail channel and a recipient with
 * no address) is reported, and its alerts are recorded as not sent. See
 * docs/internals/alerts.md.
 */
#include "alert_rules.h"
#include "outbox.h"
#include "store.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------ configuration */

static void rule_defaults(struct ri_rule_conf *rc)
{
    memset(rc, 0, sizeof(*rc));
    rc->builtin = -1;
    rc->enabled = 1;
    rc->cooldown_days = -1;
    rc->timeout_ms = 2000;
    rc->max_rows = 1000;
}

struct ri_alerts_conf *ri_alerts_conf_new(void)
{
    struct ri_alerts_conf *a = ri_calloc(1, sizeof(*a));
    a->enabled = 1;
    a->cooldown_days = 7;
    a->quota = RI_NAN;
    a->period = -1;
    for (int k = 0; k < RI_RULE__BUILTIN; k++) {
        struct ri_rule_conf *rc = &a->rules[k];
        rule_defaults(rc);
        snprintf(rc->name, sizeof(rc->name), "%s", ri_rule_defs[k].name);
        rc->builtin = k;
        for (int j = 0; j < RI_RULE_PARAMS; j++)
            rc->param[j] = ri_rule_defs[k].def[j];
    }
    a->n_rules = RI_RULE__BUILTIN;
    return a;
}

void ri_alerts_conf_free(struct ri_alerts_conf *a)
{
    if (!a)
        return;
    for (size_t k = 0; k < a->n_rules; k++)
        ri_free(a->rules[k].sql);
    for (size_t i = 0; i < a->n_lines; i++) {
        ri_free(a->lines[i].name);
        ri_free(a->lines[i].value);
    }
    ri_free(a->lines);
    ri_free(a);
}

static ri_err bad(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ri_err bad(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return RI_ERR_INVALID;
}

static ri_err set_days(int *dst, const char *value, const char *what, char *err, size_t errsize)
{
    long v = ri_conf_long(value, 3650);
    if (v < 0)
        return bad(err, errsize, "%s must be a whole number of days from 0 to 3650, not '%s'", what,
                   value);
    *dst = (int)v;
    return RI_OK;
}

static ri_err set_number(double *dst, const char *value, const char *what, char *err,
                         size_t errsize)
{
    double v;
    if (ri_parse_amount(value, strlen(value), RI_AMOUNT_POINT, &v) != RI_OK || !isfinite(v))
        return bad(err, errsize, "%s must be a number, not '%s'", what, value);
    *dst = v;
    return RI_OK;
}

static int valid_rule_name(const char *s)
{
    if (!*s || strlen(s) >= 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static struct ri_rule_conf *find_rule(struct ri_alerts_conf *a, const char *name, int create)
{
    for (size_t k = 0; k < a->n_rules; k++)
        if (!strcasecmp(a->rules[k].name, name))
            return &a->rules[k];
    if (!create || a->n_rules >= RI_RULES_MAX)
        return NULL;
    rule_defaults(&a->rules[a->n_rules]);
    snprintf(a->rules[a->n_rules].name, sizeof(a->rules[0].name), "%s", name);
    return &a->rules[a->n_rules++];
}

static ri_err rule_key(struct ri_alerts_conf *a, const char *rname, const char *name,
                       const char *value, char *err, size_t errsize)
{
    struct ri_rule_conf *rc;
    int b;
    if (!valid_rule_name(rname))
        return bad(err, errsize, "rule name '%s': use letters, digits, '_' and '-'", rname);
    rc = find_rule(a, rname, 1);
    if (!rc)
        return bad(err, errsize, "too many rules (%d at most)", RI_RULES_MAX);
    if (!strcasecmp(name, "enabled") || !strcasecmp(name, "on")) {
        b = ri_conf_bool(value);
        if (b < 0)
            return bad(err, errsize, "%s takes yes or no, not '%s'", name, value);
        rc->enabled = b;
        return RI_OK;
    }
    if (!strcasecmp(name, "severity")) {
        if (strcasecmp(value, "info") && strcasecmp(value, "warning") &&
            strcasecmp(value, "critical"))
            return bad(err, errsize, "severity is info, warning or critical, not '%s'", value);
        snprintf(rc->severity, sizeof(rc->severity), "%s", value);
        return RI_OK;
    }
    if (!strcasecmp(name, "cooldown_days"))
        return set_days(&rc->cooldown_days, value, "cooldown_days", err, errsize);
    if (!strcasecmp(name, "recipient")) {
        if (!*value || strlen(value) >= sizeof(rc->recipient))
            return bad(err, errsize, "recipient must be a name of 1 to %zu bytes",
                       sizeof(rc->recipient) - 1);
        snprintf(rc->recipient, sizeof(rc->recipient), "%s", value);
        return RI_OK;
    }
    if (rc->builtin >= 0) {
        const struct ri_rule_def *d = &ri_rule_defs[rc->builtin];
        for (int j = 0; j < RI_RULE_PARAMS; j++)
            if (d->param[j] && !strcasecmp(name, d->param[j]))
                return set_number(&rc->param[j], value, name, err, errsize);
        if (rc->builtin == RI_RULE_SKIPPED_QUALIFICATION && !strcasecmp(name, "stages")) {
            if (strlen(value) >= sizeof(rc->stages))
                return bad(err, errsize, "stages is too long");
            snprintf(rc->stages, sizeof(rc->stages), "%s", value);
            return RI_OK;
        }
        if (!strcasecmp(name, "sql"))
            return bad(err, errsize,
                       "'%s' is a built-in rule: give a custom rule a name of its own", rc->name);
        return RI_ERR_NOTFOUND;
    }
    if (!strcasecmp(name, "sql")) {
        /* a value continued on indented lines arrives line by line */
        if (rc->sql) {
            size_t n = strlen(rc->sql), m = strlen(value);
            rc->sql = ri_realloc(rc->sql, n + m + 2);
            rc->sql[n] = '\n';
            memcpy(rc->sql + n + 1, value, m + 1);
        } else {
            rc->sql = ri_strdup(value);
        }
        return RI_OK;
    }
    if (!strcasecmp(name, "timeout_ms") || !strcasecmp(name, "max_rows")) {
        long v = ri_conf_long(value, 600000);
        if (v < 1)
            return bad(err, errsize, "%s must be a whole number from 1 to 600000, not '%s'", name,
                       value);
        *(!strcasecmp(name, "timeout_ms") ? &rc->timeout_ms : &rc->max_rows) = (int)v;
        return RI_OK;
    }
    return RI_ERR_NOTFOUND;
}

/* [recipients] keys: leadership, admin, default_channels, ROLE.channels, manager.NAME,
 * rep.NAME, manager.NAME.channels, rep.NAME.channels. */
static int recipients_key_ok(const char *name)
{
    static const char *const fixed[] = {
        "leadership",        "admin",          "default_channels", "leadership.channels",
        "admin.channels",    "rep.channels",   "reps.channels",    "manager.channels",
        "managers.channels", "custom.channels"};
    for (size_t i = 0; i < RI_ARRAY_SIZE(fixed); i++)
        if (!strcasecmp(name, fixed[i]))
            return 1;
    return (!strncasecmp(name, "manager.", 8) && name[8]) ||
           (!strncasecmp(name, "rep.", 4) && name[4]);
}

ri_err ri_alerts_conf_key(struct ri_alerts_conf *a, const char *section, const char *name,
                          const char *value, char *err, size_t errsize)
{
    if (!strncasecmp(section, "rule.", 5))
        return rule_key(a, section + 5, name, value, err, errsize);
    if (!strcasecmp(section, "alerts")) {
        if (!strcasecmp(name, "enabled")) {
            int b = ri_conf_bool(value);
            if (b < 0)
                return bad(err, errsize, "enabled takes yes or no, not '%s'", value);
            a->enabled = b;
            return RI_OK;
        }
        if (!strcasecmp(name, "cooldown_days"))
            return set_days(&a->cooldown_days, value, "cooldown_days", err, errsize);
        if (!strcasecmp(name, "quota")) {
            ri_err rc = set_number(&a->quota, value, "quota", err, errsize);
            if (!rc && !(a->quota > 0))
                return bad(err, errsize, "quota must be above 0, not '%s'", value);
            return rc;
        }
        if (!strcasecmp(name, "period")) {
            if (strcasecmp(value, "quarter") && strcasecmp(value, "month"))
                return bad(err, errsize, "period must be 'quarter' or 'month', not '%s'", value);
            a->period = !strcasecmp(value, "month");
            return RI_OK;
        }
        return RI_ERR_NOTFOUND;
    }
    if (!strcasecmp(section, "recipients")) {
        struct ri_recipient_line *l;
        if (!recipients_key_ok(name))
            return bad(err, errsize,
                       "unknown key '%s' in [recipients] (leadership, admin, manager.NAME, "
                       "rep.NAME, default_channels, ROLE.channels, rep.NAME.channels)",
                       name);
        a->lines = ri_realloc(a->lines, (a->n_lines + 1) * sizeof(*a->lines));
        l = &a->lines[a->n_lines++];
        l->name = ri_strdup(name);
        l->value = ri_strdup(value);
        return RI_OK;
    }
    return RI_ERR_NOTFOUND;
}

/* The value of the [recipients] line named pre + x + post (the last one written wins). */
static const char *line_value(const struct ri_alerts_conf *a, const char *pre, const char *x,
                              const char *post)
{
    char key[512];
    const char *found = NULL;
    snprintf(key, sizeof(key), "%s%s%s", pre, x ? x : "", post);
    for (size_t i = 0; i < a->n_lines; i++)
        if (!strcasecmp(a->lines[i].name, key))
            found = a->lines[i].value;
    return found;
}

/* The channels of a recipient, as written ("mail, sales-slack", "none"); NULL if none. */
static const char *channels_for(const struct ri_alerts_conf *a, const char *recipient,
                                const char *role)
{
    const char *v = NULL;
    if (!strcmp(role, "rep") || !strcmp(role, "manager")) {
        int rep = !strcmp(role, "rep");
        v = line_value(a, rep ? "rep." : "manager.", recipient, ".channels");
        if (!v)
            v = line_value(a, rep ? "rep" : "manager", "", ".channels");
        if (!v)
            v = line_value(a, rep ? "reps" : "managers", "", ".channels");
    } else {
        v = line_value(a, "", role, ".channels");
    }
    if (!v)
        v = line_value(a, "default_channels", "", "");
    if (v && (!strcasecmp(v, "none") || !*v))
        return NULL;
    return v;
}

const char *ri_alerts_address(const struct ri_alerts_conf *a, const char *recipient,
                              const char *role)
{
    const char *v;
    if (!strcmp(role, "leadership") || !strcmp(role, "admin"))
        return line_value(a, "", role, "");
    if (!strcmp(role, "rep") || !strcmp(role, "manager"))
        return line_value(a, !strcmp(role, "rep") ? "rep." : "manager.", recipient, "");
    v = line_value(a, "rep.", recipient, "");
    return v ? v : line_value(a, "manager.", recipient, "");
}

const char *ri_alerts_admin(const struct ri_alerts_conf *a)
{
    return line_value(a, "admin", "", "") || line_value(a, "admin.channels", "", "") ? "admin"
                                                                                     : "leadership";
}

/* Calls fn for each channel name of a list ("a, b"); stops at the first non-zero. */
static int each_channel(const char *list, int (*fn)(void *ud, const char *name), void *ud)
{
    const char *p = list ? list : "";
    while (*p) {
        char name[128];
        const char *e;
        size_t len;
        int r;
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        e = p + strcspn(p, ",");
        len = (size_t)(e - p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len) {
            snprintf(name, sizeof(name), "%.*s", (int)(len < sizeof(name) ? len : sizeof(name) - 1),
                     p);
            r = fn(ud, name);
            if (r)
                return r;
        }
        p = e;
    }
    return 0;
}

struct check_ch {
    const struct ri_channels_conf *ch;
    char bad[128];
};

static int check_one(void *ud, const char *name)
{
    struct check_ch *c = ud;
    if (!strcasecmp(name, "none") || ri_channels_conf_has(c->ch, name))
        return 0;
    snprintf(c->bad, sizeof(c->bad), "%s", name);
    return 1;
}

ri_err ri_alerts_conf_finish(struct ri_alerts_conf *a, const struct ri_channels_conf *ch,
                             struct ri_conf_where *where, char *err, size_t errsize)
{
    for (size_t k = RI_RULE__BUILTIN; k < a->n_rules; k++) {
        if (!a->rules[k].sql || !a->rules[k].sql[0]) {
            snprintf(where->section, sizeof(where->section), "rule.%s", a->rules[k].name);
            where->name[0] = '\0';
            return bad(err, errsize,
                       "[rule.%s] is not a built-in rule and has no sql (built-in: "
                       "high_value_risk, stalled, skipped_qualification, zombie, pushed, "
                       "risk_jump, segment_winrate_drop, late_stage_losses, "
                       "forecast_concentration, coverage, pipeline_created_falling, "
                       "data_quality, drift, stale_data)",
                       a->rules[k].name);
        }
    }
    for (size_t i = 0; i < a->n_lines; i++) {
        const char *n = a->lines[i].name;
        size_t len = strlen(n);
        struct check_ch c = {ch, ""};
        if (!(len >= 9 && !strcasecmp(n + len - 9, ".channels")) &&
            strcasecmp(n, "default_channels"))
            continue;
        if (each_channel(a->lines[i].value, check_one, &c)) {
            snprintf(where->section, sizeof(where->section), "recipients");
            snprintf(where->name, sizeof(where->name), "%s", n);
            return bad(err, errsize, "[recipients] %s: no channel '%s' (define [channel.%s])", n,
                       c.bad, c.bad);
        }
    }
    return RI_OK;
}

ri_err ri_alerts_conf_describe(const struct ri_alerts_conf *a, struct ri_buf *out)
{
    char q[64];
    const char *dc = line_value(a, "default_channels", "", "");
    if (isnan(a->quota))
        snprintf(q, sizeof(q), "none (coverage off)");
    else
        snprintf(q, sizeof(q), "%.0f", a->quota);
    ri_buf_addf(out, "alerts: %s; cooldown %d days; quota %s; period %s\n",
                a->enabled ? "on" : "off", a->cooldown_days, q,
                a->period < 0 ? "as the forecast"
                : a->period   ? "month"
                              : "quarter");
    for (size_t k = 0; k < a->n_rules; k++) {
        const struct ri_rule_conf *rc = &a->rules[k];
        ri_buf_addf(out, "  rule %-24s %s", rc->name, rc->enabled ? "on " : "off");
        if (rc->builtin >= 0) {
            const struct ri_rule_def *d = &ri_rule_defs[rc->builtin];
            for (int j = 0; j < RI_RULE_PARAMS; j++) {
                if (!d->param[j])
                    continue;
                if (isnan(rc->param[j]))
                    ri_buf_addf(out, " %s=auto", d->param[j]);
                else
                    ri_buf_addf(out, " %s=%g", d->param[j], rc->param[j]);
            }
            if (rc->stages[0])
                ri_buf_addf(out, " stages=%s", rc->stages);
        } else {
            ri_buf_addf(out, " custom SQL, timeout %d ms", rc->timeout_ms);
        }
        if (rc->severity[0])
            ri_buf_addf(out, " severity=%s", rc->severity);
        if (rc->cooldown_days >= 0)
            ri_buf_addf(out, " cooldown=%dd", rc->cooldown_days);
        if (rc->recipient[0])
            ri_buf_addf(out, " -> %s", rc->recipient);
        ri_buf_addc(out, '\n');
    }
    ri_buf_addf(out, "recipients: default channels %s\n", dc && *dc ? dc : "(none)");
    for (size_t i = 0; i < a->n_lines; i++)
        if (strcasecmp(a->lines[i].name, "default_channels"))
            ri_buf_addf(out, "  %s = %s\n", a->lines[i].name, a->lines[i].value);
    if (!dc || !*dc) {
        int any = 0;
        for (size_t i = 0; i < a->n_lines; i++) {
            size_t len = strlen(a->lines[i].name);
            any |= len >= 9 && !strcasecmp(a->lines[i].name + len - 9, ".channels");
        }
        if (!any)
            ri_buf_adds(out, "  no channel configured: alerts are recorded, not sent\n");
    }
    return RI_OK;
}

/* ------------------------------------------------------------------ one run */

static int sev_rank(const char *s)
{
    return !strcmp(s, "critical") ? 0 : !strcmp(s, "warning") ? 1 : 2;
}

/* Digest order: recipient, severity (critical first), value (largest first), key. */
static int cmp_alert(const void *x, const void *y)
{
    const struct ri_alert *a = x, *b = y;
    int c = strcmp(a->recipient, b->recipient);
    double va = isnan(a->value) ? -1 : a->value, vb = isnan(b->value) ? -1 : b->value;
    if (c)
        return c;
    c = sev_rank(a->severity) - sev_rank(b->severity);
    if (c)
        return c;
    if (va > vb)
        return -1;
    if (va < vb)
        return 1;
    return strcmp(a->key, b->key);
}

/* Decides each alert's status from the store: already recorded today, snoozed, in its
 * cooldown, or going out (queued, or new when its recipient has no channel). */
static ri_err decide(struct ri_ctx *ctx, struct ri_store *st, const struct ri_alerts_conf *a,
                     ri_time as_of, ri_time now, struct ri_alert_list *l)
{
    struct ri_stmt *ex = NULL, *sn = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "SELECT status FROM alerts WHERE as_of = ? AND key = ? AND "
                                "recipient = ?",
                                &ex);
    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "SELECT max(CASE WHEN recipient = ?2 THEN last_sent_at END), "
                             "max(snoozed_until) FROM alert_state WHERE key = ?1 AND recipient "
                             "IN (?2, '*')",
                             &sn);
    for (size_t i = 0; !rc && i < l->n; i++) {
        struct ri_alert *x = &l->v[i];
        ri_time sent = RI_TIME_NONE, until = RI_TIME_NONE;
        ri_stmt_reset(ex);
        ri_stmt_bind_time(ex, 1, as_of);
        ri_stmt_bind_text(ex, 2, x->key, strlen(x->key));
        ri_stmt_bind_text(ex, 3, x->recipient, strlen(x->recipient));
        rc = ri_stmt_step(ctx, ex);
        if (rc == RI_OK) {
            const char *s = ri_stmt_text(ex, 0, NULL);
            x->existing = 1;
            x->status = !s                       ? "new"
                        : !strcmp(s, "queued")   ? "queued"
                        : !strcmp(s, "cooldown") ? "cooldown"
                        : !strcmp(s, "snoozed")  ? "snoozed"
                                                 : "new";
            ri_stmt_reset(ex);
            continue;
        }
        if (rc != RI_ERR_NOTFOUND)
            break;
        rc = RI_OK;
        ri_stmt_reset(sn);
        ri_stmt_bind_text(sn, 1, x->key, strlen(x->key));
        ri_stmt_bind_text(sn, 2, x->recipient, strlen(x->recipient));
        if (ri_stmt_step(ctx, sn) == RI_OK) {
            sent = ri_stmt_time(sn, 0);
            until = ri_stmt_time(sn, 1);
        }
        ri_stmt_reset(sn);
        if (until != RI_TIME_NONE && now < until)
            x->status = "snoozed";
        else if (sent != RI_TIME_NONE && now - sent < (ri_time)x->cooldown_days * RI_DAY)
            x->status = "cooldown";
        else if (channels_for(a, x->recipient, x->role))
            x->status = "queued";
        else
            x->status = "new";
    }
    ri_stmt_free(ex);
    ri_stmt_free(sn);
    return rc;
}

struct queue_ctx {
    struct ri_ctx *ctx;
    const struct ri_config *config;
    const struct ri_digest *d;
    const char *suffix;
    ri_time now;
    int dry_run;
    size_t queued, ok;
    struct ri_buf *text, *json, *failed;
    int first_json;
    ri_err rc;
};

static int queue_one(void *ud, const char *channel)
{
    struct queue_ctx *q = ud;
    char date[16], idem[1024];
    ri_format_date(q->d->as_of, date, sizeof(date));
    snprintf(idem, sizeof(idem), "digest:%s:%s:%s%s", q->d->recipient, date, channel, q->suffix);
    if (!q->dry_run) {
        ri_err rc =
            ri_outbox_queue_digest(q->ctx, q->config->channels, channel, q->d, idem, q->now);
        if (rc == RI_ERR_INVALID || rc == RI_ERR_NOTFOUND || rc == RI_ERR_TOOBIG) {
            /* this digest cannot go out this way; the others still do */
            ri_buf_addf(q->failed, "%s via %s: %s\n", q->d->recipient, channel, ri_errmsg(q->ctx));
            return 0;
        }
        if (rc) {
            q->rc = rc;
            return 1;
        }
    }
    q->ok++;
    q->queued++;
    ri_buf_addf(q->text, "  %s %s via %s: %zu alert%s\n", q->dry_run ? "would send" : "queued",
                q->d->recipient, channel, q->d->n_items, q->d->n_items == 1 ? "" : "s");
    ri_buf_addf(q->json, "%s{\"alerts\":%zu,\"channel\":", q->first_json ? "" : ",", q->d->n_items);
    ri_buf_add_json_str(q->json, channel, strlen(channel));
    ri_buf_adds(q->json, ",\"idem_key\":");
    ri_buf_add_json_str(q->json, idem, strlen(idem));
    ri_buf_adds(q->json, ",\"recipient\":");
    ri_buf_add_json_str(q->json, q->d->recipient, strlen(q->d->recipient));
    ri_buf_addc(q->json, '}');
    q->first_json = 0;
    return 0;
}

/* Queues one digest per recipient with alerts going out, once per channel. The alerts
 * of a recipient none of whose channels took the digest become "new" (not sent). */
static ri_err queue_digests(struct ri_ctx *ctx, struct ri_store *st, const struct ri_alerts_opts *o,
                            const struct ri_alerts_conf *a, ri_time as_of, ri_time now,
                            struct ri_alert_list *l, struct ri_buf *text, struct ri_buf *json,
                            struct ri_buf *failed, size_t *digests)
{
    struct ri_stmt *prior = NULL;
    struct queue_ctx q;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "SELECT count(*) FROM alerts WHERE as_of = ? AND recipient = ? "
                                "AND status = 'queued'",
                                &prior);
    memset(&q, 0, sizeof(q));
    q.ctx = ctx;
    q.config = o->config;
    q.now = now;
    q.dry_run = o->dry_run;
    q.text = text;
    q.json = json;
    q.failed = failed;
    q.first_json = 1;
    for (size_t i = 0; !rc && i < l->n;) {
        size_t j = i, n = 0;
        struct ri_alert_item *items;
        struct ri_digest d;
        const char *chans;
        char title[512], date[16], suffix[32] = "";
        int64_t before = 0;
        while (j < l->n && !strcmp(l->v[j].recipient, l->v[i].recipient))
            j++;
        items = ri_calloc(j - i + 1, sizeof(*items));
        for (size_t k = i; k < j; k++) {
            const struct ri_alert *x = &l->v[k];
            if (x->existing || strcmp(x->status, "queued"))
                continue;
            items[n].key = x->key;
            items[n].rule = x->rule;
            items[n].severity = x->severity;
            items[n].subject = x->subject;
            items[n].message = x->message;
            items[n].action = x->action;
            items[n].crm_id = x->crm_id;
            items[n].value = x->value;
            n++;
        }
        chans = channels_for(a, l->v[i].recipient, l->v[i].role);
        if (n && chans && o->config) {
            /* alerts of the same recipient queued earlier today went out in a digest of
             * their own; these new ones get the next */
            ri_stmt_reset(prior);
            ri_stmt_bind_time(prior, 1, as_of);
            ri_stmt_bind_text(prior, 2, l->v[i].recipient, strlen(l->v[i].recipient));
            if (ri_stmt_step(ctx, prior) == RI_OK)
                before = ri_stmt_i64(prior, 0);
            ri_stmt_reset(prior);
            if (before > 0)
                snprintf(suffix, sizeof(suffix), ":+%lld", (long long)before);
            ri_format_date(as_of, date, sizeof(date));
            snprintf(title, sizeof(title), "revintel: %zu alert%s for %s on %s", n,
                     n == 1 ? "" : "s", l->v[i].recipient, date);
            memset(&d, 0, sizeof(d));
            d.recipient = l->v[i].recipient;
            d.address = ri_alerts_address(a, l->v[i].recipient, l->v[i].role);
            d.title = title;
            d.as_of = as_of;
            d.items = items;
            d.n_items = n;
            q.d = &d;
            q.suffix = suffix;
            q.ok = 0;
            each_channel(chans, queue_one, &q);
            rc = q.rc;
            for (size_t k = i; !rc && !q.ok && k < j; k++)
                if (!l->v[k].existing && !strcmp(l->v[k].status, "queued"))
                    l->v[k].status = "new";
        }
        ri_free(items);
        i = j;
    }
    ri_stmt_free(prior);
    *digests = q.queued;
    return rc;
}

/* Records the alerts not yet in the store and their state (inside the run's
 * transaction). */
static ri_err record(struct ri_ctx *ctx, struct ri_store *st, const struct ri_alerts_opts *o,
                     ri_time as_of, ri_time now, const struct ri_alert_list *l)
{
    struct ri_stmt *ins = NULL, *upd = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "INSERT OR IGNORE INTO alerts(run_id, as_of, key, rule, severity, "
                                "recipient, role, crm_id, subject, message, action, value, status) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                &ins);
    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "INSERT INTO alert_state(key, recipient, first_at, last_at, "
                             "last_sent_at, times) VALUES (?1, ?2, ?3, ?3, ?4, 1) ON "
                             "CONFLICT(key, recipient) DO UPDATE SET last_at = excluded.last_at, "
                             "times = times + 1, last_sent_at = coalesce(excluded.last_sent_at, "
                             "last_sent_at)",
                             &upd);
    for (size_t i = 0; !rc && i < l->n; i++) {
        const struct ri_alert *x = &l->v[i];
        int sent = !strcmp(x->status, "queued");
        if (x->existing)
            continue;
        ri_stmt_reset(ins);
        if (o->run_id > 0)
            ri_stmt_bind_i64(ins, 1, o->run_id);
        else
            ri_stmt_bind_null(ins, 1);
        ri_stmt_bind_time(ins, 2, as_of);
        ri_stmt_bind_text(ins, 3, x->key, strlen(x->key));
        ri_stmt_bind_text(ins, 4, x->rule, strlen(x->rule));
        ri_stmt_bind_text(ins, 5, x->severity, strlen(x->severity));
        ri_stmt_bind_text(ins, 6, x->recipient, strlen(x->recipient));
        ri_stmt_bind_text(ins, 7, x->role, strlen(x->role));
        ri_stmt_bind_text(ins, 8, x->crm_id, x->crm_id ? strlen(x->crm_id) : 0);
        ri_stmt_bind_text(ins, 9, x->subject, strlen(x->subject));
        ri_stmt_bind_text(ins, 10, x->message, strlen(x->message));
        ri_stmt_bind_text(ins, 11, x->action, x->action ? strlen(x->action) : 0);
        ri_stmt_bind_f64(ins, 12, x->value);
        ri_stmt_bind_text(ins, 13, x->status, strlen(x->status));
        rc = ri_stmt_run(ctx, ins);
        if (rc)
            break;
        ri_stmt_reset(upd);
        ri_stmt_bind_text(upd, 1, x->key, strlen(x->key));
        ri_stmt_bind_text(upd, 2, x->recipient, strlen(x->recipient));
        ri_stmt_bind_time(upd, 3, now);
        ri_stmt_bind_time(upd, 4, sent ? now : RI_TIME_NONE);
        rc = ri_stmt_run(ctx, upd);
    }
    ri_stmt_free(ins);
    ri_stmt_free(upd);
    return rc;
}

static void json_str_field(struct ri_buf *j, const char *name, const char *v, int comma)
{
    ri_buf_addf(j, "%s\"%s\":", comma ? "," : "", name);
    if (v)
        ri_buf_add_json_str(j, v, strlen(v));
    else
        ri_buf_adds(j, "null");
}

static void json_lines(struct ri_buf *j, const char *name, const char *lines, int comma)
{
    const char *p = lines;
    int first = 1;
    ri_buf_addf(j, "%s\"%s\":[", comma ? "," : "", name);
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        ri_buf_adds(j, first ? "" : ",");
        ri_buf_add_json_str(j, p, n);
        first = 0;
        p += n + (e ? 1 : 0);
    }
    ri_buf_addc(j, ']');
}

/* Appends a title and the lines of text under it, indented. */
static void add_indented(struct ri_buf *t, const char *title, const char *text)
{
    ri_buf_addf(t, "%s\n", title);
    while (*text) {
        size_t n = strcspn(text, "\n");
        ri_buf_addf(t, "  %.*s\n", (int)n, text);
        text += n + (text[n] == '\n');
    }
}

/* Display order: severity, rule order, value (largest first), key, recipient. */
struct shown {
    const struct ri_alert *a;
    int rule;
    int sev; /* the finding's: a critical deal alert cc'd to a manager stays together */
};

static int cmp_shown(const void *x, const void *y)
{
    const struct shown *p = x, *q = y;
    double va = isnan(p->a->value) ? -1 : p->a->value, vb = isnan(q->a->value) ? -1 : q->a->value;
    int c = p->sev - q->sev;
    if (c)
        return c;
    if (p->rule != q->rule)
        return p->rule - q->rule;
    if (va > vb)
        return -1;
    if (va < vb)
        return 1;
    c = strcmp(p->a->key, q->a->key);
    return c ? c : strcmp(p->a->recipient, q->a->recipient);
}

#define TEXT_MAX_ROWS 60

void ri_alerts_report_free(struct ri_alerts_report *r)
{
    if (!r)
        return;
    ri_free(r->text);
    ri_free(r->json);
    ri_free(r);
}

static int rule_index(const struct ri_alerts_conf *a, const char *name)
{
    for (size_t k = 0; k < a->n_rules; k++)
        if (!strcmp(a->rules[k].name, name))
            return (int)k;
    return (int)a->n_rules;
}

static int any_channel(const struct ri_alerts_conf *a)
{
    for (size_t i = 0; i < a->n_lines; i++) {
        size_t len = strlen(a->lines[i].name);
        if ((len >= 9 && !strcasecmp(a->lines[i].name + len - 9, ".channels")) ||
            !strcasecmp(a->lines[i].name, "default_channels"))
            if (strcasecmp(a->lines[i].value, "none") && a->lines[i].value[0])
                return 1;
    }
    return 0;
}

ri_err ri_alerts_run(struct ri_ctx *ctx, const struct ri_alerts_opts *o,
                     struct ri_alerts_report **out)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_alerts_conf *own = NULL;
    const struct ri_alerts_conf *a;
    struct ri_alert_list list = {NULL, 0, 0};
    struct ri_buf errors = RI_BUF_INIT, notes = RI_BUF_INIT, dtext = RI_BUF_INIT,
                  djson = RI_BUF_INIT, t = RI_BUF_INIT, j = RI_BUF_INIT, failed = RI_BUF_INIT;
    struct ri_rule_env env;
    struct ri_alerts_report *rep = NULL;
    struct shown *sh = NULL;
    ri_time as_of = o->as_of, now = o->now == RI_TIME_NONE ? (ri_time)time(NULL) : o->now;
    size_t counts[4] = {0, 0, 0, 0}, digests = 0; /* queued, cooldown, snoozed, new */
    char date[16];
    ri_err rc = RI_OK;

    *out = NULL;
    memset(&env, 0, sizeof(env));
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    a = o->config ? o->config->alerts : NULL;
    if (!a)
        a = own = ri_alerts_conf_new();
    if (as_of == RI_TIME_NONE) {
        rc = ri_store_latest_date(ctx, st, &as_of);
        if (rc)
            goto out;
        if (as_of == RI_TIME_NONE)
            as_of = now - ((now % RI_DAY) + RI_DAY) % RI_DAY;
    }
    ri_format_date(as_of, date, sizeof(date));
    if (a->enabled) {
        env.ctx = ctx;
        env.store = st;
        env.config = o->config;
        env.conf = a;
        env.as_of = as_of;
        env.now = now;
        env.out = &list;
        env.errors = &errors;
        env.notes = &notes;
        rc = ri_alert_rules_run(&env);
        if (rc)
            goto out;
    }
    if (list.n)
        qsort(list.v, list.n, sizeof(*list.v), cmp_alert);
    rc = decide(ctx, st, a, as_of, now, &list);
    if (rc)
        goto out;
    if (!o->dry_run) {
        rc = ri_store_begin(ctx, st);
        if (rc)
            goto out;
    }
    rc = queue_digests(ctx, st, o, a, as_of, now, &list, &dtext, &djson, &failed, &digests);
    if (!rc && !o->dry_run)
        rc = record(ctx, st, o, as_of, now, &list);
    if (!o->dry_run) {
        if (!rc)
            rc = ri_store_commit(ctx, st);
        if (rc)
            ri_store_rollback(st);
    }
    if (rc)
        goto out;

    /* the report */
    for (size_t i = 0; i < list.n; i++) {
        const char *s = list.v[i].status;
        counts[!strcmp(s, "queued")     ? 0
               : !strcmp(s, "cooldown") ? 1
               : !strcmp(s, "snoozed")  ? 2
                                        : 3]++;
    }
    sh = ri_malloc((list.n + 1) * sizeof(*sh));
    for (size_t i = 0; i < list.n; i++) {
        sh[i].a = &list.v[i];
        sh[i].rule = rule_index(a, list.v[i].rule);
        sh[i].sev = sev_rank(list.v[i].severity);
    }
    qsort(sh, list.n, sizeof(*sh), cmp_shown);
    rep = ri_calloc(1, sizeof(*rep));
    rep->raised = list.n;
    rep->queued = counts[0];
    rep->cooldown = counts[1];
    rep->snoozed = counts[2];
    rep->digests = digests;
    rep->rule_errors = env.n_errors;
    if (!a->enabled)
        rep->rule_errors = 0;
    ri_buf_addf(&t, "Alerts as of %s%s: %zu raised; %zu %s, %zu in cooldown, %zu snoozed", date,
                o->dry_run ? " (dry run: nothing written, nothing queued)" : "", list.n, counts[0],
                o->dry_run ? "would go out" : "queued", counts[1], counts[2]);
    if (counts[3])
        ri_buf_addf(&t, ", %zu recorded without a channel", counts[3]);
    ri_buf_adds(&t, ".\n");
    if (!a->enabled)
        ri_buf_adds(&t, "Alerts are off ([alerts] enabled = no).\n");
    else if (!any_channel(a) && list.n)
        ri_buf_adds(&t, "No channel is configured ([recipients] default_channels): the alerts are "
                        "recorded, nothing is queued.\n");
    /* one line per finding, its recipients under it */
    for (size_t i = 0, shown = 0; i < list.n; shown++) {
        const struct ri_alert *x = sh[i].a;
        size_t k = i;
        if (shown == TEXT_MAX_ROWS) {
            size_t left = 0;
            for (size_t m = i; m < list.n; m++)
                left += m == i || strcmp(sh[m].a->key, sh[m - 1].a->key) != 0;
            ri_buf_addf(&t, "  ... and %zu more ('--format json' lists them all)\n", left);
            break;
        }
        ri_buf_addf(&t, "  %-8s %-22s %s\n          ", x->severity, x->rule, x->subject);
        for (; k < list.n && !strcmp(sh[k].a->key, x->key); k++)
            ri_buf_addf(&t, "%s %s (%s): %s%s", k == i ? " ->" : ";", sh[k].a->recipient,
                        sh[k].a->role, sh[k].a->status,
                        sh[k].a->existing ? " (recorded earlier today)" : "");
        ri_buf_addc(&t, '\n');
        i = k;
    }
    if (dtext.len)
        ri_buf_addf(&t, "Digests (%zu):\n%s", digests, dtext.buf);
    if (failed.len)
        add_indented(&t, "Digests not queued (their alerts are recorded as not sent):", failed.buf);
    if (errors.len)
        add_indented(&t, "Rules that failed (the others ran):", errors.buf);
    if (notes.len)
        add_indented(&t, "Not judged:", notes.buf);

    ri_buf_adds(&j, "{\"alerts\":[");
    for (size_t i = 0; i < list.n; i++) {
        const struct ri_alert *x = sh[i].a;
        ri_buf_adds(&j, i ? ",{" : "{");
        json_str_field(&j, "action", x->action, 0);
        json_str_field(&j, "crm_id", x->crm_id, 1);
        json_str_field(&j, "key", x->key, 1);
        json_str_field(&j, "message", x->message, 1);
        json_str_field(&j, "recipient", x->recipient, 1);
        json_str_field(&j, "role", x->role, 1);
        json_str_field(&j, "rule", x->rule, 1);
        json_str_field(&j, "severity", x->severity, 1);
        json_str_field(&j, "status", x->status, 1);
        json_str_field(&j, "subject", x->subject, 1);
        if (isnan(x->value))
            ri_buf_adds(&j, ",\"value\":null}");
        else
            ri_buf_addf(&j, ",\"value\":%.2f}", x->value);
    }
    ri_buf_addf(&j, "],\"as_of\":\"%s\",\"cooldown\":%zu,\"digests\":[%s]", date, counts[1],
                djson.buf);
    json_lines(&j, "digests_failed", failed.buf, 1);
    ri_buf_addf(&j, ",\"dry_run\":%s,\"enabled\":%s,\"no_channel\":%zu",
                o->dry_run ? "true" : "false", a->enabled ? "true" : "false", counts[3]);
    json_lines(&j, "not_judged", notes.buf, 1);
    ri_buf_addf(&j, ",\"queued\":%zu,\"raised\":%zu", counts[0], list.n);
    json_lines(&j, "rule_errors", errors.buf, 1);
    ri_buf_addf(&j, ",\"snoozed\":%zu}\n", counts[2]);
    rep->text = ri_buf_detach(&t, NULL);
    rep->json = ri_buf_detach(&j, NULL);
    *out = rep;
    rep = NULL;
out:
    ri_free(sh);
    ri_alerts_report_free(rep);
    ri_alert_list_release(&list);
    ri_buf_release(&errors);
    ri_buf_release(&notes);
    ri_buf_release(&dtext);
    ri_buf_release(&djson);
    ri_buf_release(&failed);
    ri_buf_release(&t);
    ri_buf_release(&j);
    ri_alerts_conf_free(own);
    return rc;
}

/* ------------------------------------------------------------------ snooze, list */

ri_err ri_alerts_snooze(struct ri_ctx *ctx, const char *key, ri_time until, const char *reason)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    ri_err rc;
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    if (!key || !*key || !strchr(key, ':'))
        return ri_fail(ctx, RI_ERR_INVALID,
                       "'%s' is not an alert key (rule:entity, as 'revintel alerts list' shows)",
                       key ? key : "");
    if (until == RI_TIME_NONE)
        return ri_fail(ctx, RI_ERR_INVALID, "a snooze needs a date it ends");
    rc = ri_store_begin(ctx, st);
    if (rc)
        return rc;
    /* '*' stands for every recipient, those to come included */
    rc = ri_stmt_prepare(ctx, st,
                         "INSERT INTO alert_state(key, recipient, snoozed_until, snooze_reason) "
                         "VALUES (?1, '*', ?2, ?3) ON CONFLICT(key, recipient) DO UPDATE SET "
                         "snoozed_until = excluded.snoozed_until, snooze_reason = "
                         "excluded.snooze_reason",
                         &s);
    if (!rc) {
        ri_stmt_bind_text(s, 1, key, strlen(key));
        ri_stmt_bind_time(s, 2, until);
        ri_stmt_bind_text(s, 3, reason, reason ? strlen(reason) : 0);
        rc = ri_stmt_run(ctx, s);
    }
    ri_stmt_free(s);
    s = NULL;
    if (!rc)
        rc = ri_stmt_prepare(ctx, st,
                             "UPDATE alert_state SET snoozed_until = ?2, snooze_reason = ?3 "
                             "WHERE key = ?1",
                             &s);
    if (!rc) {
        ri_stmt_bind_text(s, 1, key, strlen(key));
        ri_stmt_bind_time(s, 2, until);
        ri_stmt_bind_text(s, 3, reason, reason ? strlen(reason) : 0);
        rc = ri_stmt_run(ctx, s);
    }
    ri_stmt_free(s);
    if (rc) {
        ri_store_rollback(st);
        return rc;
    }
    return ri_store_commit(ctx, st);
}

ri_err ri_alerts_list(struct ri_ctx *ctx, int days, char **text, char **json)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    struct ri_buf t = RI_BUF_INIT, j = RI_BUF_INIT;
    size_t n = 0;
    ri_err rc;
    *text = *json = NULL;
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "no store open");
    rc = ri_stmt_prepare(
        ctx, st,
        "SELECT a.as_of, a.key, a.rule, a.severity, a.recipient, a.role, a.status, a.subject, "
        "a.value, (SELECT max(snoozed_until) FROM alert_state x WHERE x.key = a.key AND "
        "x.recipient IN (a.recipient, '*')) FROM alerts a WHERE a.as_of >= (SELECT max(as_of) "
        "FROM alerts) - ?1 * 86400 ORDER BY a.as_of DESC, CASE a.severity WHEN 'critical' THEN "
        "0 WHEN 'warning' THEN 1 ELSE 2 END, a.rule, coalesce(a.value, -1) DESC, a.key, "
        "a.recipient",
        &s);
    if (rc)
        return rc;
    ri_stmt_bind_i64(s, 1, days);
    ri_buf_adds(&j, "{\"alerts\":[");
    while ((rc = ri_stmt_step(ctx, s)) == RI_OK) {
        char d[16], u[16] = "";
        const char *cols[7];
        ri_time until = ri_stmt_time(s, 9);
        static const char *const names[] = {"key",  "rule",   "severity", "recipient",
                                            "role", "status", "subject"};
        for (int k = 0; k < 7; k++) {
            cols[k] = ri_stmt_text(s, k + 1, NULL);
            if (!cols[k])
                cols[k] = "";
        }
        ri_format_date(ri_stmt_time(s, 0), d, sizeof(d));
        if (until != RI_TIME_NONE)
            ri_format_date(until, u, sizeof(u));
        if (!n)
            ri_buf_addf(&t, "%-10s  %-8s  %-9s  %-40s  %s\n", "as of", "severity", "status", "key",
                        "recipient: subject");
        ri_buf_addf(&t, "%-10s  %-8s  %-9s  %-40s  %s: %s", d, cols[2], cols[5], cols[0], cols[3],
                    cols[6]);
        if (u[0])
            ri_buf_addf(&t, " (snoozed until %s)", u);
        ri_buf_addc(&t, '\n');
        ri_buf_adds(&j, n ? ",{" : "{");
        ri_buf_addf(&j, "\"as_of\":\"%s\"", d);
        for (int k = 0; k < 7; k++) {
            ri_buf_addf(&j, ",\"%s\":", names[k]);
            ri_buf_add_json_str(&j, cols[k], strlen(cols[k]));
        }
        if (u[0])
            ri_buf_addf(&j, ",\"snoozed_until\":\"%s\"", u);
        if (ri_stmt_is_null(s, 8))
            ri_buf_adds(&j, ",\"value\":null}");
        else
            ri_buf_addf(&j, ",\"value\":%.2f}", ri_stmt_f64(s, 8));
        n++;
    }
    ri_stmt_free(s);
    if (rc != RI_ERR_NOTFOUND) {
        ri_buf_release(&t);
        ri_buf_release(&j);
        return rc;
    }
    if (!n)
        ri_buf_adds(&t, "No alerts recorded yet ('revintel alerts' evaluates the rules).\n");
    ri_buf_addf(&j, "],\"count\":%zu,\"days\":%d}\n", n, days);
    *text = ri_buf_detach(&t, NULL);
    *json = ri_buf_detach(&j, NULL);
    return RI_OK;
}
