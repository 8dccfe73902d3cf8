/*
 * outbox.c - the durable outbox: the channels of revintel.conf, rendering of digests and
 * documents for each kind of channel, queueing, and delivery with retries.
 *
 * Contract (docs/internals/outbox.md): a message is rendered once, when it is queued, and
 * stored with its idempotency key (UNIQUE in the outbox table; queueing a key twice is a
 * no-op). A delivery pass claims each due message (attempts + 1, next_at pushed past the
 * send's timeout so a second pass running at the same time leaves it alone), sends it,
 * and records the outcome in one statement right after the send. So a crash loses nothing
 * and re-sends at most the message in flight: delivery is at least once, and receivers
 * drop repeats by the idempotency key (Idempotency-Key header, Message-ID, the key in the
 * JSON). Secrets (webhook URLs, passwords, signing keys) are expanded from ${ENV} at
 * send time only: they are never stored, never logged and never part of an error text.
 */
#include "outbox.h"
#include "hmac.h"
#include "net.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <strings.h>
#include <unistd.h>

#define PAYLOAD_MAX  (16u << 20) /* a rendered message, the weekly report included */
#define SLACK_BLOCKS 50          /* Slack's limit per message */
#define SLACK_HEADER 150         /* characters of a header block */
#define SLACK_TEXT   3000        /* bytes of a section's text */
#define LEASE_EXTRA  300         /* seconds a claimed message stays out of other passes */
#define SECRET_MIN   4           /* shorter values are not scrubbed from error texts */

/* ------------------------------------------------------------------ configuration */

enum ch_type { CH_NONE = 0, CH_SLACK, CH_SMTP, CH_WEBHOOK, CH_FILE, CH__COUNT };

static const char *const type_name[CH__COUNT] = {"", "slack", "smtp", "webhook", "file"};

/* What the payload was rendered for, stored in outbox.content_type and checked at send
 * time (a channel whose type changed since cannot take the bytes). */
static const char *const type_ctype[CH__COUNT] = {
    "", "application/json; format=slack", "message/rfc822", "application/json; format=webhook",
    "application/x-ndjson"};

enum key_bit {
    K_TYPE = 1 << 0,
    K_URL = 1 << 1,
    K_FROM = 1 << 2,
    K_TO = 1 << 3,
    K_USERNAME = 1 << 4,
    K_PASSWORD = 1 << 5,
    K_SECRET = 1 << 6,
    K_PATH = 1 << 7,
    K_STARTTLS = 1 << 8,
    K_MAX = 1 << 9,
};

/* The keys each type takes. */
static const unsigned type_keys[CH__COUNT] = {
    0,
    K_TYPE | K_URL | K_MAX,
    K_TYPE | K_URL | K_FROM | K_TO | K_USERNAME | K_PASSWORD | K_STARTTLS | K_MAX,
    K_TYPE | K_URL | K_SECRET | K_MAX,
    K_TYPE | K_PATH | K_MAX,
};

struct channel {
    char name[64];
    enum ch_type type;
    unsigned set; /* enum key_bit: keys the file wrote */
    /* values as written (secrets as ${NAME} or literal), expanded when used */
    char url[2048];
    char from[256];
    char to[1024];
    char username[256];
    char password[512];
    char secret[512];
    char path[4096];
    enum ri_net_tls starttls;
    int max_attempts; /* 0: [delivery] max_attempts */
};

struct ri_channels_conf {
    struct channel *ch;
    size_t n, cap;
    int max_attempts;
    long backoff, backoff_max, timeout;
};

/* A string key: its name, bit, and where it goes in struct channel. */
static const struct {
    const char *name;
    unsigned bit;
    size_t off, size;
    int secret; /* never echo the value */
} str_keys[] = {
    {"url", K_URL, offsetof(struct channel, url), sizeof(((struct channel *)0)->url), 1},
    {"from", K_FROM, offsetof(struct channel, from), sizeof(((struct channel *)0)->from), 0},
    {"to", K_TO, offsetof(struct channel, to), sizeof(((struct channel *)0)->to), 0},
    {"username", K_USERNAME, offsetof(struct channel, username),
     sizeof(((struct channel *)0)->username), 1},
    {"password", K_PASSWORD, offsetof(struct channel, password),
     sizeof(((struct channel *)0)->password), 1},
    {"secret", K_SECRET, offsetof(struct channel, secret), sizeof(((struct channel *)0)->secret),
     1},
    {"path", K_PATH, offsetof(struct channel, path), sizeof(((struct channel *)0)->path), 0},
};

struct ri_channels_conf *ri_channels_conf_new(void)
{
    struct ri_channels_conf *c = ri_calloc(1, sizeof(*c));
    c->max_attempts = 5;
    c->backoff = 60;
    c->backoff_max = 3600;
    c->timeout = 10;
    return c;
}

void ri_channels_conf_free(struct ri_channels_conf *c)
{
    if (!c)
        return;
    ri_free(c->ch);
    ri_free(c);
}

static struct channel *find_channel(const struct ri_channels_conf *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->n; i++)
        if (!strcasecmp(c->ch[i].name, name))
            return &c->ch[i];
    return NULL;
}

int ri_channels_conf_has(const struct ri_channels_conf *c, const char *name)
{
    return find_channel(c, name) != NULL;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((struct channel *)0)->name))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') && !(ch >= '0' && ch <= '9') &&
            ch != '-' && ch != '_' && ch != '.')
            return 0;
    }
    return 1;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* A bare address: local@domain, printable ASCII, none of the characters that would let
 * it reach into a header or an SMTP command. */
static int addr_ok(const char *a, size_t n)
{
    size_t at = 0, ats = 0;
    if (n < 3 || n > 254)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)a[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch))
            return 0;
        if (ch == '@') {
            at = i;
            ats++;
        }
    }
    return ats == 1 && at > 0 && at + 1 < n;
}

/* Calls fn on each address of a comma-separated list; 0 if one is not an address. */
static int addr_list_ok(const char *list)
{
    const char *p = list;
    int n = 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *s = p;
        ri_trim(&s, &len);
        if (!addr_ok(s, len))
            return 0;
        n++;
        p = e ? e + 1 : p + strlen(p);
    }
    return n > 0;
}

static ri_err delivery_key(struct ri_channels_conf *c, const char *name, const char *value,
                           char *err, size_t errsize)
{
    static const struct {
        const char *name;
        long lo, hi;
    } keys[] = {{"max_attempts", 1, 100},
                {"backoff_seconds", 1, 7 * 86400},
                {"backoff_max_seconds", 1, 7 * 86400},
                {"timeout_seconds", 1, 600}};
    for (size_t i = 0; i < RI_ARRAY_SIZE(keys); i++) {
        long v;
        if (strcasecmp(name, keys[i].name) != 0)
            continue;
        v = ri_conf_long(value, keys[i].hi);
        if (v < keys[i].lo) {
            snprintf(err, errsize, "%s must be a whole number from %ld to %ld, not '%s'",
                     keys[i].name, keys[i].lo, keys[i].hi, value);
            return RI_ERR_INVALID;
        }
        if (i == 0)
            c->max_attempts = (int)v;
        else if (i == 1)
            c->backoff = v;
        else if (i == 2)
            c->backoff_max = v;
        else
            c->timeout = v;
        return RI_OK;
    }
    return RI_ERR_NOTFOUND;
}

static struct channel *add_channel(struct ri_channels_conf *c, const char *name)
{
    struct channel *ch = find_channel(c, name);
    if (ch)
        return ch;
    RI_GROW(c->ch, c->cap, c->n + 1);
    ch = &c->ch[c->n++];
    memset(ch, 0, sizeof(*ch));
    snprintf(ch->name, sizeof(ch->name), "%s", name);
    ch->starttls = RI_TLS_TRY;
    return ch;
}

ri_err ri_channels_conf_key(struct ri_channels_conf *c, const char *section, const char *name,
                            const char *value, char *err, size_t errsize)
{
    struct channel *ch;
    const char *chname;
    if (!strcasecmp(section, "delivery"))
        return delivery_key(c, name, value, err, errsize);
    if (strncasecmp(section, "channel.", 8) != 0)
        return RI_ERR_NOTFOUND;
    chname = section + 8;
    if (!name_ok(chname)) {
        snprintf(err, errsize, "channel name '%s' must be 1 to 63 letters, digits, '-', '_' or '.'",
                 chname);
        return RI_ERR_INVALID;
    }
    ch = add_channel(c, chname);
    if (!strcasecmp(name, "type")) {
        for (int t = CH_SLACK; t < CH__COUNT; t++) {
            if (!strcasecmp(value, type_name[t])) {
                ch->type = (enum ch_type)t;
                ch->set |= K_TYPE;
                return RI_OK;
            }
        }
        snprintf(err, errsize, "type must be slack, smtp, webhook or file, not '%s'", value);
        return RI_ERR_INVALID;
    }
    if (!strcasecmp(name, "starttls")) {
        int b = ri_conf_bool(value);
        if (!strcasecmp(value, "try"))
            ch->starttls = RI_TLS_TRY;
        else if (b >= 0)
            ch->starttls = b ? RI_TLS_YES : RI_TLS_NO;
        else {
            snprintf(err, errsize, "starttls must be yes, try or no, not '%s'", value);
            return RI_ERR_INVALID;
        }
        ch->set |= K_STARTTLS;
        return RI_OK;
    }
    if (!strcasecmp(name, "max_attempts")) {
        long v = ri_conf_long(value, 100);
        if (v < 1) {
            snprintf(err, errsize, "max_attempts must be a whole number from 1 to 100, not '%s'",
                     value);
            return RI_ERR_INVALID;
        }
        ch->max_attempts = (int)v;
        ch->set |= K_MAX;
        return RI_OK;
    }
    for (size_t i = 0; i < RI_ARRAY_SIZE(str_keys); i++) {
        size_t n = strlen(value);
        if (strcasecmp(name, str_keys[i].name) != 0)
            continue;
        if (n == 0) {
            snprintf(err, errsize, "%s is empty", str_keys[i].name);
            return RI_ERR_INVALID;
        }
        if (n >= str_keys[i].size) {
            snprintf(err, errsize, "%s is too long (%zu bytes at most)", str_keys[i].name,
                     str_keys[i].size - 1);
            return RI_ERR_TOOBIG;
        }
        if (has_ctl(value)) {
            snprintf(err, errsize, "%s holds a control character", str_keys[i].name);
            return RI_ERR_INVALID;
        }
        if (!ri_conf_is_ref(value) && ((str_keys[i].bit == K_FROM && !addr_ok(value, n)) ||
                                       (str_keys[i].bit == K_TO && !addr_list_ok(value)))) {
            snprintf(err, errsize, "%s must be %s, not '%s'", str_keys[i].name,
                     str_keys[i].bit == K_FROM ? "an e-mail address (name@domain)"
                                               : "e-mail addresses separated by commas",
                     value);
            return RI_ERR_INVALID;
        }
        memcpy((char *)ch + str_keys[i].off, value, n + 1);
        ch->set |= str_keys[i].bit;
        return RI_OK;
    }
    return RI_ERR_NOTFOUND;
}

static const char *key_name(unsigned bit)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{K_TYPE, "type"},       {K_URL, "url"},           {K_FROM, "from"},
                 {K_TO, "to"},           {K_USERNAME, "username"}, {K_PASSWORD, "password"},
                 {K_SECRET, "secret"},   {K_PATH, "path"},         {K_STARTTLS, "starttls"},
                 {K_MAX, "max_attempts"}};
    for (size_t i = 0; i < RI_ARRAY_SIZE(names); i++)
        if (names[i].bit == bit)
            return names[i].name;
    return "";
}

static int scheme_is(const char *url, const char *a, const char *b)
{
    return !strncasecmp(url, a, strlen(a)) || !strncasecmp(url, b, strlen(b));
}

ri_err ri_channels_conf_finish(struct ri_channels_conf *c, struct ri_conf_where *where, char *err,
                               size_t errsize)
{
    if (c->backoff_max < c->backoff) {
        snprintf(where->section, sizeof(where->section), "delivery");
        snprintf(where->name, sizeof(where->name), "backoff_max_seconds");
        snprintf(err, errsize, "backoff_max_seconds (%ld) is less than backoff_seconds (%ld)",
                 c->backoff_max, c->backoff);
        return RI_ERR_INVALID;
    }
    for (size_t i = 0; i < c->n; i++) {
        const struct channel *ch = &c->ch[i];
        unsigned need = 0, extra;
        snprintf(where->section, sizeof(where->section), "channel.%s", ch->name);
        where->name[0] = '\0';
        if (ch->type == CH_NONE) {
            snprintf(err, errsize, "channel '%s' has no type (slack, smtp, webhook or file)",
                     ch->name);
            return RI_ERR_INVALID;
        }
        need = ch->type == CH_FILE ? K_PATH : K_URL;
        if (ch->type == CH_SMTP)
            need |= K_FROM;
        for (unsigned bit = 1; bit <= K_MAX; bit <<= 1) {
            if ((need & bit) && !(ch->set & bit)) {
                snprintf(err, errsize, "%s channel '%s' needs %s", type_name[ch->type], ch->name,
                         key_name(bit));
                return RI_ERR_INVALID;
            }
        }
        extra = ch->set & ~type_keys[ch->type];
        for (unsigned bit = 1; bit <= K_MAX; bit <<= 1) {
            if (extra & bit) {
                snprintf(where->name, sizeof(where->name), "%s", key_name(bit));
                snprintf(err, errsize, "%s does not apply to a %s channel", key_name(bit),
                         type_name[ch->type]);
                return RI_ERR_INVALID;
            }
        }
        /* a URL written out is checked now; one from the environment when it is used */
        if ((ch->set & K_URL) && strncmp(ch->url, "${", 2) != 0) {
            int web = ch->type != CH_SMTP;
            if (!(web ? scheme_is(ch->url, "http://", "https://")
                      : scheme_is(ch->url, "smtp://", "smtps://"))) {
                snprintf(where->name, sizeof(where->name), "url");
                snprintf(err, errsize, "url of %s channel '%s' must start with %s",
                         type_name[ch->type], ch->name,
                         web ? "http:// or https://" : "smtp:// or smtps://");
                return RI_ERR_INVALID;
            }
        }
    }
    where->section[0] = where->name[0] = '\0';
    return RI_OK;
}

/* scheme://host[:port] of a URL, without user, password, path or query. */
static void redact_url(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://"), *host, *end, *at;
    if (!p) {
        snprintf(out, size, "(url)");
        return;
    }
    host = p + 3;
    end = host + strcspn(host, "/?#");
    at = memchr(host, '@', (size_t)(end - host));
    if (at)
        host = at + 1;
    snprintf(out, size, "%.*s%.*s", (int)(p + 3 - url), url, (int)(end - host), host);
}

/* The path, query and fragment of a URL ("" if none). */
static const char *url_rest(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return "";
    p += 3;
    return p + strcspn(p, "/?#");
}

/* Appends " (environment variable X not set)" for each ${X} of value not set now. */
static void describe_env(const char *value, struct ri_buf *out)
{
    const char *p = value;
    while ((p = strstr(p, "${")) != NULL) {
        const char *e = strchr(p + 2, '}');
        char name[128];
        if (!e)
            break;
        snprintf(name, sizeof(name), "%.*s", (int)(e - p - 2), p + 2);
        if (!getenv(name))
            ri_buf_addf(out, " (environment variable %s not set)", name);
        p = e + 1;
    }
}

/* A URL as config check shows it: the ${NAME} form as written, or scheme://host/... */
static void describe_url(const char *url, struct ri_buf *out)
{
    char r[512];
    if (ri_conf_is_ref(url)) {
        ri_buf_adds(out, url);
        describe_env(url, out);
        return;
    }
    redact_url(url, r, sizeof(r));
    ri_buf_adds(out, r);
    if (url_rest(url)[0] && strcmp(url_rest(url), "/") != 0)
        ri_buf_adds(out, "/...");
}

static void describe_secret(const char *key, const char *value, struct ri_buf *out)
{
    ri_buf_addf(out, ", %s %s", key, ri_conf_redact(value));
    if (ri_conf_is_ref(value))
        describe_env(value, out);
}

ri_err ri_channels_conf_describe(const struct ri_channels_conf *c, struct ri_buf *out)
{
    ri_err rc;
    ri_buf_addf(out, "channels: %zu\n", c->n);
    for (size_t i = 0; i < c->n; i++) {
        const struct channel *ch = &c->ch[i];
        ri_buf_addf(out, "  %s: %s", ch->name, type_name[ch->type]);
        if (ch->type == CH_FILE) {
            ri_buf_addf(out, " %s", !strcmp(ch->path, "-") ? "- (standard output)" : ch->path);
        } else {
            ri_buf_adds(out, " to ");
            describe_url(ch->url, out);
        }
        if (ch->type == CH_SMTP) {
            static const char *const tls[] = {"no", "try", "yes"};
            ri_buf_addf(out, ", starttls %s, from %s", tls[ch->starttls], ch->from);
            if (ch->set & K_TO)
                ri_buf_addf(out, ", default to %s", ch->to);
            if (ch->set & K_USERNAME)
                describe_secret("username", ch->username, out);
            if (ch->set & K_PASSWORD)
                describe_secret("password", ch->password, out);
        }
        if (ch->type == CH_WEBHOOK) {
            if (ch->set & K_SECRET)
                describe_secret("signed with secret", ch->secret, out);
            else
                ri_buf_adds(out, ", unsigned");
        }
        if (ch->max_attempts)
            ri_buf_addf(out, ", up to %d attempts", ch->max_attempts);
        ri_buf_addc(out, '\n');
    }
    rc = ri_buf_addf(out,
                     "delivery: up to %d attempts, retried after %ld s doubling up to %ld s, "
                     "timeout %ld s\n",
                     c->max_attempts, c->backoff, c->backoff_max, c->timeout);
    return rc;
}

/* ------------------------------------------------------------------ writing helpers */

/* A JSON string literal, or null for NULL. */
static void w_json(struct ri_wbuf *w, const char *s)
{
    if (!s)
        ri_wbuf_adds(w, "null");
    else if (!w->rc)
        w->rc = ri_buf_add_json_str(&w->b, s, strlen(s));
}

/* Text from CRM data made safe to carry: not valid UTF-8 -> the bytes above ASCII become
 * '?'; control characters become spaces (oneline: line breaks too), CR is dropped. */
static const char *clean(struct ri_wbuf *w, const char *s, int oneline)
{
    int utf8;
    ri_wbuf_reset(w);
    if (!s)
        s = "";
    utf8 = ri_utf8_valid(s, strlen(s));
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r')
            continue;
        if (c == '\n' && !oneline)
            ri_wbuf_addc(w, '\n');
        else if (c < 0x20 || c == 0x7f)
            ri_wbuf_addc(w, ' ');
        else if (c >= 0x80 && !utf8)
            ri_wbuf_addc(w, '?');
        else
            ri_wbuf_addc(w, (char)c);
    }
    return w->b.buf; /* a ri_buf is always NUL-terminated */
}

/* Slack mrkdwn: &, < and > are the three characters Slack asks to escape. */
static void w_mrkdwn(struct ri_wbuf *w, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            ri_wbuf_adds(w, "&amp;");
        else if (*s == '<')
            ri_wbuf_adds(w, "&lt;");
        else if (*s == '>')
            ri_wbuf_adds(w, "&gt;");
        else
            ri_wbuf_addc(w, *s);
    }
}

/* Length of the longest prefix of s[0..len) of at most max bytes that ends on a UTF-8
 * character boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    size_t n = len <= max ? len : max;
    while (n > 0 && n < len && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* Byte length of the first max characters of s. */
static size_t utf8_chars(const char *s, size_t max)
{
    size_t i = 0, chars = 0;
    while (s[i] && chars < max) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    return i;
}

/* Number of characters of s. */
static size_t utf8_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Cuts escaped text in w to at most max bytes with an ellipsis, on a character boundary
 * and outside an &entity;. */
static void w_cut(struct ri_wbuf *w, size_t max)
{
    size_t n;
    if (w->rc || w->b.len <= max)
        return;
    n = utf8_cut(w->b.buf, w->b.len, max - 3);
    for (size_t k = n; k > 0 && n - k < 8; k--) {
        if (w->b.buf[k - 1] == ';')
            break;
        if (w->b.buf[k - 1] == '&') {
            n = k - 1;
            break;
        }
    }
    w->b.len = n;
    w->b.buf[n] = '\0';
    ri_wbuf_adds(w, "\xe2\x80\xa6"); /* U+2026 */
}

/* 1234567.4 -> "1,234,567" */
static void fmt_amount(double v, char *out, size_t size)
{
    char d[64];
    size_t n, o = 0, lead;
    int neg = v < 0;
    if (!isfinite(v) || fabs(v) >= 1e15) {
        snprintf(out, size, "%.3g", v);
        return;
    }
    snprintf(d, sizeof(d), "%.0f", fabs(v));
    n = strlen(d);
    lead = n % 3 ? n % 3 : 3;
    if (neg && o + 1 < size)
        out[o++] = '-';
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (i && (i - lead) % 3 == 0 && i >= lead)
            out[o++] = ',';
        out[o++] = d[i];
    }
    out[o] = '\0';
}

/* "2026-11-23 06:00" (UTC); "-" for none. */
static void fmt_time(ri_time t, char *out, size_t size)
{
    char d[16];
    int64_t s;
    if (t == RI_TIME_NONE) {
        snprintf(out, size, "-");
        return;
    }
    ri_format_date(t, d, sizeof(d));
    s = t % RI_DAY;
    if (s < 0)
        s += RI_DAY;
    snprintf(out, size, "%s %02d:%02d", d, (int)(s / 3600), (int)(s / 60 % 60));
}

static const char *severity_mark(const char *sev)
{
    if (sev && !strcmp(sev, "critical"))
        return ":red_circle:";
    if (sev && !strcmp(sev, "warning"))
        return ":warning:";
    return ":information_source:";
}

static const char *severity_label(const char *sev)
{
    if (sev && !strcmp(sev, "critical"))
        return "CRITICAL";
    if (sev && !strcmp(sev, "warning"))
        return "WARNING";
    return "INFO";
}

/* "Deal OPP-1, 120,000 at stake" into w (raw text); nothing when neither is known. */
static void item_footer(struct ri_wbuf *out, struct ri_wbuf *tmp, const struct ri_alert_item *it)
{
    char amt[64];
    int has_id = it->crm_id && it->crm_id[0], has_v = isfinite(it->value);
    if (has_id) {
        ri_wbuf_adds(out, "Deal ");
        ri_wbuf_adds(out, clean(tmp, it->crm_id, 1));
    }
    if (has_v) {
        fmt_amount(it->value, amt, sizeof(amt));
        ri_wbuf_addf(out, "%s%s at stake", has_id ? ", " : "", amt);
    }
}

/* ------------------------------------------------------------------ Slack */

static void slack_header(struct ri_wbuf *p, struct ri_wbuf *tmp, const char *title)
{
    const char *t = clean(tmp, title, 1);
    size_t n = utf8_chars(t, SLACK_HEADER);
    if (t[n])
        tmp->b.buf[n] = '\0';
    if (!t[0])
        t = "revintel"; /* Slack refuses an empty header */
    ri_wbuf_adds(p, "{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":");
    w_json(p, t);
    ri_wbuf_adds(p, ",\"emoji\":true}}");
}

static void slack_section(struct ri_wbuf *p, struct ri_wbuf *sec)
{
    w_cut(sec, SLACK_TEXT);
    ri_wbuf_adds(p, ",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");
    w_json(p, sec->b.buf);
    ri_wbuf_adds(p, "}}");
}

/* {"text": fallback, "blocks": [header, a section per alert, context]} */
static ri_err render_slack_digest(const struct ri_digest *d, struct ri_wbuf *p)
{
    struct ri_wbuf tmp, sec;
    char date[16] = "unknown";
    size_t shown = d->n_items, room = SLACK_BLOCKS - 2;
    ri_wbuf_init(&tmp, PAYLOAD_MAX);
    ri_wbuf_init(&sec, PAYLOAD_MAX);
    if (shown > room)
        shown = room - 1; /* the last block says how many more */
    w_mrkdwn(&sec, clean(&tmp, d->title, 1));
    ri_wbuf_adds(p, "{\"text\":");
    w_json(p, sec.b.buf);
    ri_wbuf_adds(p, ",\"blocks\":[");
    slack_header(p, &tmp, d->title);
    for (size_t i = 0; i < shown; i++) {
        const struct ri_alert_item *it = &d->items[i];
        ri_wbuf_reset(&sec);
        ri_wbuf_addf(&sec, "%s *", severity_mark(it->severity));
        w_mrkdwn(&sec, clean(&tmp, it->subject, 1));
        ri_wbuf_addc(&sec, '*');
        if (it->message && it->message[0]) {
            ri_wbuf_addc(&sec, '\n');
            w_mrkdwn(&sec, clean(&tmp, it->message, 0));
        }
        if (it->action && it->action[0]) {
            ri_wbuf_adds(&sec, "\nWhat to do: ");
            w_mrkdwn(&sec, clean(&tmp, it->action, 0));
        }
        if ((it->crm_id && it->crm_id[0]) || isfinite(it->value)) {
            struct ri_wbuf foot;
            ri_wbuf_init(&foot, 4096);
            item_footer(&foot, &tmp, it);
            ri_wbuf_addc(&sec, '\n');
            w_mrkdwn(&sec, foot.b.buf);
            ri_buf_release(&foot.b);
        }
        slack_section(p, &sec);
    }
    if (shown < d->n_items) {
        ri_wbuf_reset(&sec);
        ri_wbuf_addf(&sec, "_and %zu more_", d->n_items - shown);
        slack_section(p, &sec);
    }
    if (d->as_of != RI_TIME_NONE)
        ri_format_date(d->as_of, date, sizeof(date));
    ri_wbuf_addf(p,
                 ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":\"As of %s "
                 "\xc2\xb7 revintel\"}]}]}",
                 date);
    if (!p->rc && (tmp.rc || sec.rc))
        p->rc = tmp.rc ? tmp.rc : sec.rc;
    ri_buf_release(&tmp.b);
    ri_buf_release(&sec.b);
    return p->rc;
}

/* A document: a header with the subject, then its text in sections of at most 3,000
 * bytes cut at line ends, up to Slack's block limit. */
static ri_err render_slack_doc(const char *subject, const char *text, struct ri_wbuf *p)
{
    struct ri_wbuf tmp, sec, body;
    const char *s;
    size_t sections = 0;
    ri_wbuf_init(&tmp, PAYLOAD_MAX);
    ri_wbuf_init(&sec, PAYLOAD_MAX);
    ri_wbuf_init(&body, PAYLOAD_MAX);
    w_mrkdwn(&sec, clean(&tmp, subject, 1));
    ri_wbuf_adds(p, "{\"text\":");
    w_json(p, sec.b.buf);
    ri_wbuf_adds(p, ",\"blocks\":[");
    slack_header(p, &tmp, subject);
    w_mrkdwn(&body, clean(&tmp, text, 0));
    s = body.b.buf;
    while (*s && !p->rc) {
        size_t left = strlen(s), n = left;
        if (sections + 2 == SLACK_BLOCKS) {
            ri_wbuf_reset(&sec);
            ri_wbuf_adds(&sec, "_(cut: the text is longer than one Slack message holds)_");
            slack_section(p, &sec);
            break;
        }
        if (n > SLACK_TEXT - 8) {
            /* the last line break before the limit, else a character boundary */
            size_t k = utf8_cut(s, left, SLACK_TEXT - 8);
            n = k;
            while (n > 0 && s[n - 1] != '\n')
                n--;
            if (n == 0)
                n = k;
            /* outside an entity */
            for (size_t j = n; j > 0 && n - j < 8; j--) {
                if (s[j - 1] == ';')
                    break;
                if (s[j - 1] == '&') {
                    n = j - 1;
                    break;
                }
            }
            if (n == 0)
                n = k ? k : 1;
        }
        ri_wbuf_reset(&sec);
        ri_wbuf_addn(&sec, s, n);
        slack_section(p, &sec);
        sections++;
        s += n;
    }
    ri_wbuf_adds(p, "]}");
    if (!p->rc && (tmp.rc || sec.rc || body.rc))
        p->rc = tmp.rc ? tmp.rc : sec.rc ? sec.rc : body.rc;
    ri_buf_release(&tmp.b);
    ri_buf_release(&sec.b);
    ri_buf_release(&body.b);
    return p->rc;
}

/* ------------------------------------------------------------------ webhook JSON */

static void json_value(struct ri_wbuf *p, double v)
{
    if (!isfinite(v))
        ri_wbuf_adds(p, "null");
    else if (fabs(v) < 1e15 && floor(v) >= v && floor(v) <= v)
        ri_wbuf_addf(p, "%.0f", v);
    else
        ri_wbuf_addf(p, "%.17g", v);
}

/* {"idempotency_key","kind":"digest","recipient","title","as_of","alerts":[...]} */
static ri_err render_json_digest(const struct ri_digest *d, const char *idem_key, struct ri_wbuf *p)
{
    struct ri_wbuf tmp;
    char date[16];
    ri_wbuf_init(&tmp, PAYLOAD_MAX);
    ri_wbuf_adds(p, "{\"idempotency_key\":");
    w_json(p, clean(&tmp, idem_key, 1));
    ri_wbuf_adds(p, ",\"kind\":\"digest\",\"recipient\":");
    w_json(p, clean(&tmp, d->recipient, 1));
    ri_wbuf_adds(p, ",\"title\":");
    w_json(p, clean(&tmp, d->title, 1));
    ri_wbuf_adds(p, ",\"as_of\":");
    if (d->as_of == RI_TIME_NONE) {
        ri_wbuf_adds(p, "null");
    } else {
        ri_format_date(d->as_of, date, sizeof(date));
        w_json(p, date);
    }
    ri_wbuf_adds(p, ",\"alerts\":[");
    for (size_t i = 0; i < d->n_items; i++) {
        const struct ri_alert_item *it = &d->items[i];
        ri_wbuf_adds(p, i ? ",{\"key\":" : "{\"key\":");
        w_json(p, clean(&tmp, it->key, 1));
        ri_wbuf_adds(p, ",\"rule\":");
        w_json(p, clean(&tmp, it->rule, 1));
        ri_wbuf_adds(p, ",\"severity\":");
        w_json(p, clean(&tmp, it->severity, 1));
        ri_wbuf_adds(p, ",\"subject\":");
        w_json(p, clean(&tmp, it->subject, 1));
        ri_wbuf_adds(p, ",\"message\":");
        w_json(p, clean(&tmp, it->message, 0));
        ri_wbuf_adds(p, ",\"action\":");
        w_json(p, clean(&tmp, it->action, 0));
        ri_wbuf_adds(p, ",\"crm_id\":");
        w_json(p, it->crm_id ? clean(&tmp, it->crm_id, 1) : NULL);
        ri_wbuf_adds(p, ",\"value\":");
        json_value(p, it->value);
        ri_wbuf_addc(p, '}');
    }
    ri_wbuf_adds(p, "]}");
    if (!p->rc && tmp.rc)
        p->rc = tmp.rc;
    ri_buf_release(&tmp.b);
    return p->rc;
}

/* {"idempotency_key","kind":"document","recipient","subject","text"} */
static ri_err render_json_doc(const char *recipient, const char *subject, const char *text,
                              const char *idem_key, struct ri_wbuf *p)
{
    struct ri_wbuf tmp;
    ri_wbuf_init(&tmp, PAYLOAD_MAX);
    ri_wbuf_adds(p, "{\"idempotency_key\":");
    w_json(p, clean(&tmp, idem_key, 1));
    ri_wbuf_adds(p, ",\"kind\":\"document\",\"recipient\":");
    w_json(p, recipient ? clean(&tmp, recipient, 1) : NULL);
    ri_wbuf_adds(p, ",\"subject\":");
    w_json(p, clean(&tmp, subject, 1));
    ri_wbuf_adds(p, ",\"text\":");
    w_json(p, clean(&tmp, text, 0));
    ri_wbuf_addc(p, '}');
    if (!p->rc && tmp.rc)
        p->rc = tmp.rc;
    ri_buf_release(&tmp.b);
    return p->rc;
}

/* ------------------------------------------------------------------ e-mail */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void w_base64(struct ri_wbuf *w, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        ri_wbuf_addc(w, b64[v >> 18 & 63]);
        ri_wbuf_addc(w, b64[v >> 12 & 63]);
        ri_wbuf_addc(w, i + 1 < n ? b64[v >> 6 & 63] : '=');
        ri_wbuf_addc(w, i + 2 < n ? b64[v & 63] : '=');
    }
}

/* A Subject header's value: as it is when it is short printable ASCII, else RFC 2047
 * encoded words (UTF-8, base64) of at most 75 characters, folded. */
static void w_subject(struct ri_wbuf *w, const char *s)
{
    size_t n = strlen(s), i = 0;
    int plain = n <= 900;
    for (size_t k = 0; plain && k < n; k++)
        if ((unsigned char)s[k] >= 0x7f || (s[k] == '=' && s[k + 1] == '?'))
            plain = 0;
    if (plain) {
        ri_wbuf_adds(w, s);
        return;
    }
    if (n > 900)
        n = utf8_cut(s, n, 900);
    while (i < n) {
        /* 45 bytes -> 60 base64 characters; 12 more for =?UTF-8?B? and ?= */
        size_t k = utf8_cut(s + i, n - i, 45);
        if (k == 0)
            k = 1;
        if (i)
            ri_wbuf_adds(w, "\r\n ");
        ri_wbuf_adds(w, "=?UTF-8?B?");
        w_base64(w, (const unsigned char *)s + i, k);
        ri_wbuf_adds(w, "?=");
        i += k;
    }
}

/* Quoted-printable (RFC 2045) of text with \n line ends, lines of at most 76 characters,
 * CRLF line ends. */
static void w_qp(struct ri_wbuf *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tok[4];
        size_t tn;
        if (c == '\n') {
            ri_wbuf_adds(w, "\r\n");
            col = 0;
            continue;
        }
        if ((c >= 33 && c <= 126 && c != '=') ||
            ((c == ' ' || c == '\t') && s[1] != '\n' && s[1] != '\0')) {
            tok[0] = (char)c;
            tn = 1;
        } else {
            tok[0] = '=';
            tok[1] = hex[c >> 4];
            tok[2] = hex[c & 15];
            tn = 3;
        }
        if (col + tn > 75) {
            ri_wbuf_adds(w, "=\r\n");
            col = 0;
        }
        ri_wbuf_addn(w, tok, tn);
        col += tn;
    }
}

/* Date header value, RFC 5322: "Mon, 23 Nov 2026 06:00:00 +0000". */
static void fmt_rfc5322(ri_time t, char *out, size_t size)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t days = t / RI_DAY, s = t % RI_DAY, y;
    unsigned m, d;
    if (s < 0) {
        s += RI_DAY;
        days--;
    }
    ri_civil_from_days(days, &y, &m, &d);
    snprintf(out, size, "%s, %02u %s %04lld %02d:%02d:%02d +0000", wd[((days + 4) % 7 + 7) % 7], d,
             mo[m - 1], (long long)y, (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
}

/* The domain of an address, if it is a plain host name; else "revintel.invalid". */
static void mail_domain(const char *from, char *out, size_t size)
{
    const char *at = strrchr(from, '@');
    if (at && at[1] && strlen(at + 1) < size &&
        strspn(at + 1, "abcdefghijklmnopqrstuvwxyz"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789.-") == strlen(at + 1))
        snprintf(out, size, "%s", at + 1);
    else
        snprintf(out, size, "revintel.invalid");
}

/* A whole message: headers, then text/plain alone or multipart/alternative with the
 * text and the HTML part, both quoted-printable UTF-8. */
static ri_err render_mail(const char *from, const char *to, const char *subject, const char *text,
                          const char *html, const char *idem_key, ri_time now, struct ri_wbuf *p)
{
    char hash[RI_SHA256_HEX], date[64], domain[256], boundary[64];
    ri_err rc = ri_sha256_hex(idem_key, strlen(idem_key), hash);
    if (rc)
        return rc;
    fmt_rfc5322(now, date, sizeof(date));
    mail_domain(from, domain, sizeof(domain));
    snprintf(boundary, sizeof(boundary), "=_ri_%.24s", hash + 32);
    ri_wbuf_addf(p, "From: revintel <%s>\r\nTo: %s\r\nSubject: ", from, to);
    w_subject(p, subject);
    ri_wbuf_addf(p,
                 "\r\nDate: %s\r\nMessage-ID: <%.32s.revintel@%s>\r\nMIME-Version: 1.0\r\n"
                 "Auto-Submitted: auto-generated\r\n",
                 date, hash, domain);
    if (!html) {
        ri_wbuf_adds(p, "Content-Type: text/plain; charset=UTF-8\r\n"
                        "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        w_qp(p, text);
        ri_wbuf_adds(p, "\r\n");
        return p->rc;
    }
    ri_wbuf_addf(p, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
    ri_wbuf_adds(p, "This is a message in MIME format.\r\n");
    ri_wbuf_addf(p,
                 "\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                 "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                 boundary);
    w_qp(p, text);
    ri_wbuf_addf(p,
                 "\r\n--%s\r\nContent-Type: text/html; charset=UTF-8\r\n"
                 "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                 boundary);
    w_qp(p, html);
    ri_wbuf_addf(p, "\r\n--%s--\r\n", boundary);
    return p->rc;
}

/* The text and HTML bodies of a digest. */
static ri_err digest_bodies(const struct ri_digest *d, struct ri_wbuf *text, struct ri_wbuf *html)
{
    struct ri_wbuf tmp, foot;
    char date[16] = "unknown";
    ri_wbuf_init(&tmp, PAYLOAD_MAX);
    ri_wbuf_init(&foot, 4096);
    if (d->as_of != RI_TIME_NONE)
        ri_format_date(d->as_of, date, sizeof(date));
    clean(&tmp, d->title, 1);
    ri_wbuf_addf(text, "%s\n", tmp.b.buf);
    ri_wbuf_adds(html, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    ri_wbuf_add_html(html, tmp.b.buf, RI_HTML_NL_SPACE);
    ri_wbuf_adds(html, "</title></head>\n<body style=\"font-family:sans-serif\">\n<h2>");
    ri_wbuf_add_html(html, tmp.b.buf, RI_HTML_NL_SPACE);
    ri_wbuf_adds(html, "</h2>\n");
    for (size_t i = 0; i < d->n_items; i++) {
        const struct ri_alert_item *it = &d->items[i];
        const char *label = severity_label(it->severity);
        clean(&tmp, it->subject, 1);
        ri_wbuf_addf(text, "\n[%s] %s\n", label, tmp.b.buf);
        ri_wbuf_addf(html, "<div style=\"margin:0 0 16px 0\">\n<p><strong>[%s] ", label);
        ri_wbuf_add_html(html, tmp.b.buf, RI_HTML_NL_SPACE);
        ri_wbuf_adds(html, "</strong></p>\n");
        if (it->message && it->message[0]) {
            clean(&tmp, it->message, 0);
            ri_wbuf_addf(text, "%s\n", tmp.b.buf);
            ri_wbuf_adds(html, "<p>");
            ri_wbuf_add_html(html, tmp.b.buf, RI_HTML_NL_BR);
            ri_wbuf_adds(html, "</p>\n");
        }
        if (it->action && it->action[0]) {
            clean(&tmp, it->action, 0);
            ri_wbuf_addf(text, "What to do: %s\n", tmp.b.buf);
            ri_wbuf_adds(html, "<p>What to do: ");
            ri_wbuf_add_html(html, tmp.b.buf, RI_HTML_NL_BR);
            ri_wbuf_adds(html, "</p>\n");
        }
        ri_wbuf_reset(&foot);
        item_footer(&foot, &tmp, it);
        if (foot.b.len) {
            ri_wbuf_addf(text, "%s\n", foot.b.buf);
            ri_wbuf_adds(html, "<p style=\"color:#666\">");
            ri_wbuf_add_html(html, foot.b.buf, RI_HTML_NL_SPACE);
            ri_wbuf_adds(html, "</p>\n");
        }
        ri_wbuf_adds(html, "</div>\n");
    }
    ri_wbuf_addf(text, "\nAs of %s.\n", date);
    ri_wbuf_addf(html, "<p style=\"color:#666\">As of %s.</p>\n</body></html>\n", date);
    if (!text->rc && (tmp.rc || foot.rc))
        text->rc = tmp.rc ? tmp.rc : foot.rc;
    ri_buf_release(&tmp.b);
    ri_buf_release(&foot.b);
    return text->rc ? text->rc : html->rc;
}

/* The To list: the digest's address, else the channel's `to`. */
static ri_err mail_to(struct ri_ctx *ctx, const struct channel *ch, const char *recipient,
                      const char *address, char *out, size_t size)
{
    char err[256];
    if (address && address[0]) {
        if (!addr_list_ok(address))
            return ri_fail(ctx, RI_ERR_INVALID, "recipient '%s': '%s' is not an e-mail address",
                           recipient ? recipient : "", address);
        snprintf(out, size, "%s", address);
        return RI_OK;
    }
    if (!(ch->set & K_TO) && recipient)
        return ri_fail(ctx, RI_ERR_INVALID,
                       "recipient '%s' has no e-mail address and channel '%s' no 'to'", recipient,
                       ch->name);
    if (!(ch->set & K_TO))
        return ri_fail(ctx, RI_ERR_INVALID, "channel '%s' needs 'to' to send this message",
                       ch->name);
    if (ri_conf_expand(ch->to, out, size, err, sizeof(err)) != RI_OK)
        return ri_fail(ctx, RI_ERR_INVALID, "channel '%s' to: %s", ch->name, err);
    if (!addr_list_ok(out))
        return ri_fail(ctx, RI_ERR_INVALID, "channel '%s' to: not e-mail addresses", ch->name);
    return RI_OK;
}

static ri_err mail_from(struct ri_ctx *ctx, const struct channel *ch, char *out, size_t size)
{
    char err[256];
    if (ri_conf_expand(ch->from, out, size, err, sizeof(err)) != RI_OK)
        return ri_fail(ctx, RI_ERR_INVALID, "channel '%s' from: %s", ch->name, err);
    if (!addr_ok(out, strlen(out)))
        return ri_fail(ctx, RI_ERR_INVALID, "channel '%s' from: not an e-mail address", ch->name);
    return RI_OK;
}

/* ------------------------------------------------------------------ queue */

static ri_err insert(struct ri_ctx *ctx, const struct channel *ch, const char *kind,
                     const char *recipient, const char *subject, const struct ri_wbuf *p,
                     const char *idem_key, ri_time now)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    ri_err rc;
    rc = ri_stmt_prepare(ctx, st,
                         "INSERT OR IGNORE INTO outbox(idem_key, channel, kind, recipient, "
                         "subject, content_type, payload, created_at, state, attempts, next_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?8)",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_text(s, 1, idem_key, strlen(idem_key));
    ri_stmt_bind_text(s, 2, ch->name, strlen(ch->name));
    ri_stmt_bind_text(s, 3, kind, strlen(kind));
    ri_stmt_bind_text(s, 4, recipient, recipient ? strlen(recipient) : 0);
    ri_stmt_bind_text(s, 5, subject, subject ? strlen(subject) : 0);
    ri_stmt_bind_text(s, 6, type_ctype[ch->type], strlen(type_ctype[ch->type]));
    ri_stmt_bind_blob(s, 7, p->b.buf, p->b.len);
    ri_stmt_bind_time(s, 8, now);
    rc = ri_stmt_run(ctx, s);
    ri_stmt_free(s);
    return rc;
}

static ri_err queue_check(struct ri_ctx *ctx, const struct ri_channels_conf *c, const char *channel,
                          const char *idem_key, const struct channel **ch /* OUT */)
{
    *ch = NULL;
    if (!ri_ctx_store(ctx))
        return ri_fail(ctx, RI_ERR_INVALID, "outbox: no store is open");
    if (!idem_key || !idem_key[0])
        return ri_fail(ctx, RI_ERR_INVALID, "outbox: a message needs an idempotency key");
    *ch = find_channel(c, channel);
    if (!*ch)
        return ri_fail(ctx, RI_ERR_NOTFOUND, "no channel '%s' in the configuration",
                       channel ? channel : "");
    return RI_OK;
}

static ri_err render_failed(struct ri_ctx *ctx, ri_err rc, const char *channel)
{
    if (rc == RI_ERR_TOOBIG)
        return ri_fail(ctx, rc, "message for channel '%s' is larger than %u MiB", channel,
                       PAYLOAD_MAX >> 20);
    return ri_fail(ctx, rc, "cannot render the message for channel '%s'", channel);
}

ri_err ri_outbox_queue_digest(struct ri_ctx *ctx, const struct ri_channels_conf *c,
                              const char *channel, const struct ri_digest *d, const char *idem_key,
                              ri_time now)
{
    const struct channel *ch;
    struct ri_wbuf p, text, html, tmp;
    char from[256], to[1024];
    ri_err rc = queue_check(ctx, c, channel, idem_key, &ch);
    if (rc)
        return rc;
    if (now == RI_TIME_NONE)
        now = (ri_time)time(NULL);
    ri_wbuf_init(&p, PAYLOAD_MAX);
    ri_wbuf_init(&text, PAYLOAD_MAX);
    ri_wbuf_init(&html, PAYLOAD_MAX);
    ri_wbuf_init(&tmp, 4096);
    switch (ch->type) {
    case CH_SLACK:
        rc = render_slack_digest(d, &p);
        break;
    case CH_SMTP:
        rc = mail_from(ctx, ch, from, sizeof(from));
        if (!rc)
            rc = mail_to(ctx, ch, d->recipient, d->address, to, sizeof(to));
        if (rc)
            goto out;
        rc = digest_bodies(d, &text, &html);
        if (!rc)
            rc = render_mail(from, to, clean(&tmp, d->title, 1), text.b.buf, html.b.buf, idem_key,
                             now, &p);
        break;
    case CH_WEBHOOK:
        rc = render_json_digest(d, idem_key, &p);
        break;
    case CH_FILE:
        rc = render_json_digest(d, idem_key, &p);
        ri_wbuf_addc(&p, '\n');
        rc = rc ? rc : p.rc;
        break;
    default:
        RI_BUG("channel '%s' without a type", ch->name);
    }
    if (rc) {
        rc = render_failed(ctx, rc, ch->name);
        goto out;
    }
    rc = insert(ctx, ch, "digest", d->recipient, clean(&tmp, d->title, 1), &p, idem_key, now);
out:
    ri_buf_release(&p.b);
    ri_buf_release(&text.b);
    ri_buf_release(&html.b);
    ri_buf_release(&tmp.b);
    return rc;
}

ri_err ri_outbox_queue_document(struct ri_ctx *ctx, const struct ri_channels_conf *c,
                                const char *channel, const char *recipient, const char *subject,
                                const char *text, const char *html, const char *idem_key,
                                ri_time now)
{
    const struct channel *ch;
    struct ri_wbuf p, tmp, tbody, hbody;
    char from[256], to[1024];
    ri_err rc = queue_check(ctx, c, channel, idem_key, &ch);
    if (rc)
        return rc;
    if (now == RI_TIME_NONE)
        now = (ri_time)time(NULL);
    if (!subject)
        subject = "";
    if (!text)
        text = "";
    ri_wbuf_init(&p, PAYLOAD_MAX);
    ri_wbuf_init(&tmp, 4096);
    ri_wbuf_init(&tbody, PAYLOAD_MAX);
    ri_wbuf_init(&hbody, PAYLOAD_MAX);
    switch (ch->type) {
    case CH_SLACK:
        rc = render_slack_doc(subject, text, &p);
        break;
    case CH_SMTP:
        rc = mail_from(ctx, ch, from, sizeof(from));
        if (!rc)
            rc = mail_to(ctx, ch, recipient, NULL, to, sizeof(to));
        if (rc)
            goto out;
        /* the caller's HTML is the document itself: it is not escaped, only made valid */
        clean(&tbody, text, 0);
        if (html)
            clean(&hbody, html, 0);
        rc = tbody.rc ? tbody.rc : hbody.rc;
        if (!rc)
            rc = render_mail(from, to, clean(&tmp, subject, 1), tbody.b.buf,
                             html ? hbody.b.buf : NULL, idem_key, now, &p);
        break;
    case CH_WEBHOOK:
        rc = render_json_doc(recipient, subject, text, idem_key, &p);
        break;
    case CH_FILE:
        rc = render_json_doc(recipient, subject, text, idem_key, &p);
        ri_wbuf_addc(&p, '\n');
        rc = rc ? rc : p.rc;
        break;
    default:
        RI_BUG("channel '%s' without a type", ch->name);
    }
    if (rc) {
        rc = render_failed(ctx, rc, ch->name);
        goto out;
    }
    rc = insert(ctx, ch, "document", recipient, clean(&tmp, subject, 1), &p, idem_key, now);
out:
    ri_buf_release(&p.b);
    ri_buf_release(&tmp.b);
    ri_buf_release(&tbody.b);
    ri_buf_release(&hbody.b);
    return rc;
}

/* ------------------------------------------------------------------ delivery */

/* A message as it is sent. */
struct msg {
    int64_t id;
    char idem_key[1024];
    char channel[64];
    char ctype[64];
    char *payload;
    size_t len;
    int attempts;
};

/* The outcome of one send. */
enum outcome { SENT = 0, RETRY, PERMANENT };

/* Values expanded for one send, to be scrubbed from its error text. */
struct secrets {
    const char *s[4];
    size_t n;
};

static void scrub(char *err, const struct secrets *sec)
{
    for (size_t i = 0; i < sec->n; i++) {
        const char *v = sec->s[i];
        size_t vn = v ? strlen(v) : 0;
        char *p;
        if (vn < SECRET_MIN)
            continue;
        while ((p = strstr(err, v)) != NULL) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + vn, strlen(p + vn) + 1);
        }
    }
}

/* An environment-expanded value of a channel key; the error names the key and the
 * variable, never a value. */
static int expand_key(const struct channel *ch, const char *key, const char *value, char *out,
                      size_t size, char *err, size_t errsize)
{
    char why[256];
    if (ri_conf_expand(value, out, size, why, sizeof(why)) == RI_OK)
        return 0;
    snprintf(err, errsize, "channel '%s' %s: %s", ch->name, key, why);
    return -1;
}

/* The header value of an Idempotency-Key: the key with bytes outside printable ASCII,
 * and '%', percent-encoded. */
static void header_key(const char *key, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *key && o + 4 < size; key++) {
        unsigned char c = (unsigned char)*key;
        if (c > 0x20 && c < 0x7f && c != '%') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

/* Puts "target: " before the text in err (cutting its end if there is no room). */
static void prefix(char *err, size_t errsize, const char *target)
{
    size_t t = strlen(target), n = strlen(err);
    if (t + 3 >= errsize)
        return;
    if (t + 2 + n + 1 > errsize)
        n = errsize - t - 3;
    memmove(err + t + 2, err, n);
    memcpy(err, target, t);
    err[t] = ':';
    err[t + 1] = ' ';
    err[t + 2 + n] = '\0';
}

static enum outcome send_http(const struct ri_channels_conf *c, const struct channel *ch,
                              const struct msg *m, char *err, size_t errsize)
{
    char url[2048], secret[512], target[512], reply[160], key[3100], sig[RI_SHA256_HEX + 7];
    char keyhdr[3200], sighdr[128];
    const char *hdrs[3];
    struct secrets sec = {{url, secret, NULL, NULL}, 2};
    size_t nh = 0;
    long status = 0;
    enum outcome oc = RETRY;

    secret[0] = '\0';
    if (expand_key(ch, "url", ch->url, url, sizeof(url), err, errsize))
        return RETRY;
    redact_url(url, target, sizeof(target));
    sec.s[2] = url_rest(url); /* the path and query: the secret part of a URL */
    sec.n = 3;
    if (!scheme_is(url, "http://", "https://")) {
        snprintf(err, errsize, "channel '%s' url must start with http:// or https://", ch->name);
        return RETRY;
    }
    hdrs[nh++] = "Content-Type: application/json";
    if (ch->type == CH_WEBHOOK) {
        header_key(m->idem_key, key, sizeof(key));
        snprintf(keyhdr, sizeof(keyhdr), "Idempotency-Key: %s", key);
        hdrs[nh++] = keyhdr;
        if (ch->set & K_SECRET) {
            if (expand_key(ch, "secret", ch->secret, secret, sizeof(secret), err, errsize))
                return RETRY;
            if (ri_hmac_sha256_hex(secret, strlen(secret), m->payload, m->len, sig) != RI_OK) {
                snprintf(err, errsize, "channel '%s': cannot compute the signature", ch->name);
                return RETRY;
            }
            snprintf(sighdr, sizeof(sighdr), "X-Revintel-Signature: sha256=%s", sig);
            hdrs[nh++] = sighdr;
        }
    }
    if (ri_net_post(url, hdrs, nh, m->payload, m->len, c ? c->timeout : 10, &status, reply,
                    sizeof(reply), err, errsize) != RI_OK) {
        scrub(err, &sec);
        prefix(err, errsize, target);
        oc = RETRY;
    } else if (status >= 200 && status < 300) {
        oc = SENT;
    } else {
        /* the same bytes will be refused again: a bad or too large payload */
        int permanent = status == 400 || status == 413 || status == 415 || status == 422;
        scrub(reply, &sec);
        snprintf(err, errsize, "HTTP %ld from %s%s%s%s", status, target, reply[0] ? ": " : "",
                 reply, permanent ? " (payload refused; not retried)" : "");
        oc = permanent ? PERMANENT : RETRY;
    }
    return oc;
}

/* The header `name` of a message (unfolded, first occurrence) into out. */
static int mail_header(const char *msg, size_t len, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name), i = 0;
    while (i < len) {
        const char *line = msg + i;
        const char *eol = memchr(line, '\n', len - i);
        size_t ll = eol ? (size_t)(eol - line) : len - i;
        if (ll <= 1)
            break; /* the blank line: end of the headers */
        if (ll > nl + 1 && !strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            size_t vl = ll - nl - 1;
            ri_trim(&v, &vl);
            snprintf(out, size, "%.*s", (int)vl, v);
            return 1;
        }
        i += ll + 1;
    }
    return 0;
}

static enum outcome send_smtp(const struct ri_channels_conf *c, const struct channel *ch,
                              const struct msg *m, char *err, size_t errsize)
{
    char url[2048], user[256], pass[512], target[512], from[512], to[1024], *lt, *gt;
    const char *rcpt[32];
    struct ri_smtp_msg sm;
    struct secrets sec = {{url, pass, user, NULL}, 3};
    size_t nr = 0;
    char *p;
    enum outcome oc = SENT;

    user[0] = pass[0] = '\0';
    if (expand_key(ch, "url", ch->url, url, sizeof(url), err, errsize) ||
        ((ch->set & K_USERNAME) &&
         expand_key(ch, "username", ch->username, user, sizeof(user), err, errsize)) ||
        ((ch->set & K_PASSWORD) &&
         expand_key(ch, "password", ch->password, pass, sizeof(pass), err, errsize)))
        return RETRY;
    redact_url(url, target, sizeof(target));
    if (!scheme_is(url, "smtp://", "smtps://")) {
        snprintf(err, errsize, "channel '%s' url must start with smtp:// or smtps://", ch->name);
        return RETRY;
    }
    if (!mail_header(m->payload, m->len, "From", from, sizeof(from)) ||
        !mail_header(m->payload, m->len, "To", to, sizeof(to))) {
        snprintf(err, errsize, "message has no From or To header");
        return PERMANENT;
    }
    lt = strrchr(from, '<');
    gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) {
        *gt = '\0';
        memmove(from, lt + 1, strlen(lt + 1) + 1);
    }
    for (p = to; *p && nr < RI_ARRAY_SIZE(rcpt);) {
        char *e = strchr(p, ',');
        if (e)
            *e = '\0';
        while (*p == ' ')
            p++;
        if (*p)
            rcpt[nr++] = p;
        p = e ? e + 1 : p + strlen(p);
    }
    memset(&sm, 0, sizeof(sm));
    sm.url = url;
    sm.username = user;
    sm.password = pass;
    sm.tls = ch->starttls;
    sm.from = from;
    sm.rcpt = rcpt;
    sm.n_rcpt = nr;
    sm.data = m->payload;
    sm.len = m->len;
    sm.timeout_s = c ? c->timeout : 10;
    if (ri_net_smtp_send(&sm, err, errsize) != RI_OK) {
        scrub(err, &sec);
        prefix(err, errsize, target);
        oc = RETRY;
    }
    return oc;
}

static enum outcome send_file(const struct ri_config *cfg, const struct channel *ch,
                              const struct msg *m, char *err, size_t errsize)
{
    char path[4096], full[4096];
    size_t off = 0;
    int fd;
    if (expand_key(ch, "path", ch->path, path, sizeof(path), err, errsize))
        return RETRY;
    if (!strcmp(path, "-")) {
        if (fwrite(m->payload, 1, m->len, stdout) != m->len || fflush(stdout) != 0) {
            snprintf(err, errsize, "cannot write to standard output: %s", strerror(errno));
            return RETRY;
        }
        return SENT;
    }
    if (!cfg)
        memcpy(full, path, strlen(path) + 1); /* the same size */
    else if (ri_conf_path(cfg, path, full, sizeof(full)) != RI_OK) {
        snprintf(err, errsize, "channel '%s' path is too long", ch->name);
        return RETRY;
    }
    fd = open(full, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errsize, "cannot open '%.400s': %s", full, strerror(errno));
        return RETRY;
    }
    while (off < m->len) {
        ssize_t k = write(fd, m->payload + off, m->len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            snprintf(err, errsize, "cannot write '%.400s': %s", full, strerror(errno));
            close(fd);
            return RETRY;
        }
        off += (size_t)k;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, errsize, "cannot write '%.400s': %s", full, strerror(errno));
        return RETRY;
    }
    return SENT;
}

static enum outcome send_msg(const struct ri_config *cfg, const struct channel *ch,
                             const struct msg *m, char *err, size_t errsize)
{
    const struct ri_channels_conf *c = cfg ? cfg->channels : NULL;
    if (!ch) {
        snprintf(err, errsize, "channel '%s' is not in the configuration", m->channel);
        return RETRY;
    }
    if (strcmp(m->ctype, type_ctype[ch->type]) != 0) {
        snprintf(err, errsize, "channel '%s' is now of type %s; the message was queued as '%s'",
                 ch->name, type_name[ch->type], m->ctype);
        return RETRY;
    }
    switch (ch->type) {
    case CH_SLACK:
    case CH_WEBHOOK:
        return send_http(c, ch, m, err, errsize);
    case CH_SMTP:
        return send_smtp(c, ch, m, err, errsize);
    case CH_FILE:
        return send_file(cfg, ch, m, err, errsize);
    default:
        RI_BUG("channel '%s' without a type", ch->name);
    }
}

/* Seconds to wait after the attempts-th failed attempt: backoff x 2^(attempts-1), at
 * most backoff_max. */
static long retry_delay(const struct ri_channels_conf *c, int attempts)
{
    long base = c ? c->backoff : 60, max = c ? c->backoff_max : 3600, d = base;
    for (int i = 1; i < attempts && d < max; i++)
        d *= 2;
    return d < max ? d : max;
}

/* Takes message id for this pass: attempts + 1 and next_at past the send's time, only if
 * it is still pending and due (another pass may have taken it). 1 if taken. */
static ri_err claim(struct ri_ctx *ctx, struct ri_store *st, int64_t id, ri_time now, ri_time lease,
                    int *taken)
{
    struct ri_stmt *s = NULL;
    int64_t n = 0;
    ri_err rc;
    *taken = 0;
    rc = ri_stmt_prepare(ctx, st,
                         "UPDATE outbox SET attempts = attempts + 1, next_at = ?3 "
                         "WHERE id = ?1 AND state = 'pending' AND next_at <= ?2",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_i64(s, 1, id);
    ri_stmt_bind_time(s, 2, now);
    ri_stmt_bind_time(s, 3, lease);
    rc = ri_stmt_run(ctx, s);
    ri_stmt_free(s);
    if (!rc)
        rc = ri_store_query_i64(ctx, st, "SELECT changes()", &n);
    *taken = n == 1;
    return rc;
}

static ri_err load_msg(struct ri_ctx *ctx, struct ri_store *st, int64_t id, struct msg *m)
{
    struct ri_stmt *s = NULL;
    const void *blob;
    size_t n;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "SELECT idem_key, channel, content_type, payload, attempts "
                                "FROM outbox WHERE id = ?1",
                                &s);
    if (rc)
        return rc;
    ri_stmt_bind_i64(s, 1, id);
    rc = ri_stmt_step(ctx, s);
    if (rc) {
        if (rc == RI_ERR_NOTFOUND)
            rc = ri_fail(ctx, RI_ERR_INTERNAL, "outbox message %lld vanished", (long long)id);
        goto out;
    }
    m->id = id;
    snprintf(m->idem_key, sizeof(m->idem_key), "%s", ri_stmt_text(s, 0, NULL));
    snprintf(m->channel, sizeof(m->channel), "%s", ri_stmt_text(s, 1, NULL));
    snprintf(m->ctype, sizeof(m->ctype), "%s",
             ri_stmt_is_null(s, 2) ? "" : ri_stmt_text(s, 2, NULL));
    blob = ri_stmt_blob(s, 3, &n);
    m->payload = ri_try_alloc(n + 1);
    if (!m->payload) {
        rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory loading outbox message %lld", (long long)id);
        goto out;
    }
    if (n)
        memcpy(m->payload, blob, n);
    m->payload[n] = '\0';
    m->len = n;
    m->attempts = (int)ri_stmt_i64(s, 4);
out:
    ri_stmt_free(s);
    return rc;
}

static ri_err record(struct ri_ctx *ctx, struct ri_store *st, const struct msg *m,
                     const char *state, ri_time next_at, ri_time sent_at, const char *error)
{
    struct ri_stmt *s = NULL;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "UPDATE outbox SET state = ?2, next_at = ?3, sent_at = ?4, "
                                "last_error = ?5 WHERE id = ?1",
                                &s);
    if (rc)
        return rc;
    ri_stmt_bind_i64(s, 1, m->id);
    ri_stmt_bind_text(s, 2, state, strlen(state));
    ri_stmt_bind_time(s, 3, next_at);
    ri_stmt_bind_time(s, 4, sent_at);
    ri_stmt_bind_text(s, 5, error, error ? strlen(error) : 0);
    rc = ri_stmt_run(ctx, s);
    ri_stmt_free(s);
    return rc;
}

void ri_deliver_report_free(struct ri_deliver_report *r)
{
    if (!r)
        return;
    ri_free(r->text);
    ri_free(r->json);
    ri_free(r);
}

static ri_err due_ids(struct ri_ctx *ctx, struct ri_store *st, ri_time now, int64_t **ids,
                      size_t *n)
{
    struct ri_stmt *s = NULL;
    size_t cap = 0;
    ri_err rc = ri_stmt_prepare(ctx, st,
                                "SELECT id FROM outbox WHERE state = 'pending' AND next_at <= ?1 "
                                "ORDER BY id",
                                &s);
    *ids = NULL;
    *n = 0;
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, now);
    while ((rc = ri_stmt_step(ctx, s)) == RI_OK) {
        rc = ri_try_grow((void **)ids, &cap, *n + 1, sizeof(**ids));
        if (rc) {
            rc = ri_fail(ctx, rc, "out of memory listing the outbox");
            break;
        }
        (*ids)[(*n)++] = ri_stmt_i64(s, 0);
    }
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

ri_err ri_outbox_deliver(struct ri_ctx *ctx, const struct ri_config *cfg, ri_time now,
                         struct ri_deliver_report **out)
{
    struct ri_store *st = ri_ctx_store(ctx);
    const struct ri_channels_conf *c = cfg ? cfg->channels : NULL;
    struct ri_deliver_report *r = NULL;
    struct ri_wbuf text, json, lines;
    int64_t *ids = NULL, pending = 0;
    size_t n = 0, shown = 0;
    ri_err rc = RI_OK;

    *out = NULL;
    ri_wbuf_init(&text, 1 << 20);
    ri_wbuf_init(&json, 1 << 20);
    ri_wbuf_init(&lines, 1 << 20);
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "outbox: no store is open");
    if (!ri_store_writable(st))
        return ri_fail(ctx, RI_ERR_INVALID,
                       "outbox: delivery needs a writable store outside a transaction (each "
                       "outcome is committed right after its send)");
    if (now == RI_TIME_NONE)
        now = (ri_time)time(NULL);
    r = ri_calloc(1, sizeof(*r));
    rc = due_ids(ctx, st, now, &ids, &n);
    if (rc)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct msg m;
        const struct channel *ch;
        char err[1024] = "", when[32];
        enum outcome oc;
        int taken = 0, max;
        long lease;
        if (ri_interrupted) {
            rc = ri_fail(ctx, RI_ERR_INTERRUPTED, "outbox: delivery interrupted");
            break;
        }
        memset(&m, 0, sizeof(m));
        lease = (c ? c->timeout : 10) + LEASE_EXTRA;
        rc = claim(ctx, st, ids[i], now, now + lease, &taken);
        if (rc)
            break;
        if (!taken)
            continue;
        rc = load_msg(ctx, st, ids[i], &m);
        if (rc)
            break;
        ch = find_channel(c, m.channel);
        max = ch && ch->max_attempts ? ch->max_attempts : c ? c->max_attempts : 5;
        r->attempted++;
        oc = send_msg(cfg, ch, &m, err, sizeof(err));
        if (oc == SENT) {
            r->sent++;
            rc = record(ctx, st, &m, "sent", now, now, NULL);
            ri_log(RI_LOG_DEBUG, "outbox: #%lld sent to '%s'", (long long)m.id, m.channel);
        } else {
            int dead = oc == PERMANENT || m.attempts >= max;
            ri_time next = now + retry_delay(c, m.attempts);
            rc = record(ctx, st, &m, dead ? "dead" : "pending", dead ? now : next, RI_TIME_NONE,
                        err);
            fmt_time(next, when, sizeof(when));
            if (dead)
                r->dead++;
            else
                r->retried++;
            ri_log(RI_LOG_DEBUG, "outbox: #%lld to '%s' failed (attempt %d of %d): %s",
                   (long long)m.id, m.channel, m.attempts, max, err);
            if (shown++ < 50) {
                if (dead)
                    ri_wbuf_addf(&text, "  #%lld %s: dead-lettered after %d attempt%s: %s\n",
                                 (long long)m.id, m.channel, m.attempts, m.attempts == 1 ? "" : "s",
                                 err);
                else
                    ri_wbuf_addf(&text, "  #%lld %s: attempt %d of %d failed, next at %s: %s\n",
                                 (long long)m.id, m.channel, m.attempts, max, when, err);
            }
            ri_wbuf_addf(&lines, "%s{\"id\":%lld,\"channel\":", lines.b.len ? "," : "",
                         (long long)m.id);
            w_json(&lines, m.channel);
            ri_wbuf_addf(&lines,
                         ",\"result\":\"%s\",\"attempts\":%d,\"max_attempts\":%d,\"next_at\":",
                         dead ? "dead" : "retry", m.attempts, max);
            if (dead)
                ri_wbuf_adds(&lines, "null");
            else
                w_json(&lines, when);
            ri_wbuf_adds(&lines, ",\"error\":");
            w_json(&lines, err);
            ri_wbuf_addc(&lines, '}');
        }
        ri_free(m.payload);
        if (rc)
            break;
    }
    if (rc == RI_OK)
        rc = ri_store_query_i64(ctx, st, "SELECT count(*) FROM outbox WHERE state = 'pending'",
                                &pending);
    r->pending = (size_t)pending;
    {
        struct ri_wbuf head;
        ri_wbuf_init(&head, 4096);
        ri_wbuf_addf(&head,
                     "delivery: %zu due, %zu sent, %zu to retry, %zu dead-lettered; %zu pending\n",
                     r->attempted, r->sent, r->retried, r->dead, r->pending);
        if (shown > 50)
            ri_wbuf_addf(&text, "  (%zu more failures: revintel alerts --outbox)\n", shown - 50);
        ri_wbuf_addn(&head, text.b.buf, text.b.len);
        ri_wbuf_addf(&json,
                     "{\"attempted\":%zu,\"sent\":%zu,\"retried\":%zu,\"dead\":%zu,\"pending\":%zu,"
                     "\"failures\":[%s]}\n",
                     r->attempted, r->sent, r->retried, r->dead, r->pending, lines.b.buf);
        if (!rc && (head.rc || json.rc || lines.rc))
            rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory writing the delivery report");
        r->text = ri_buf_detach(&head.b, NULL);
        r->json = ri_buf_detach(&json.b, NULL);
    }
out:
    ri_free(ids);
    ri_buf_release(&text.b);
    ri_buf_release(&json.b);
    ri_buf_release(&lines.b);
    if (rc) {
        ri_deliver_report_free(r);
        return rc;
    }
    *out = r;
    return RI_OK;
}

/* ------------------------------------------------------------------ list */

/* s cut to at most max characters for a table cell, control characters shown as '?'. */
static void cell(struct ri_wbuf *w, struct ri_wbuf *tmp, const char *s, size_t max)
{
    const char *t = clean(tmp, s, 1);
    size_t n = utf8_chars(t, max);
    ri_wbuf_addn(w, t, n);
    if (t[n])
        ri_wbuf_adds(w, "\xe2\x80\xa6");
}

ri_err ri_outbox_list(struct ri_ctx *ctx, const char *state, char **text, char **json)
{
    struct ri_store *st = ri_ctx_store(ctx);
    struct ri_stmt *s = NULL;
    struct ri_wbuf t, j, tmp;
    size_t n = 0;
    ri_err rc;

    *text = *json = NULL;
    if (!st)
        return ri_fail(ctx, RI_ERR_INVALID, "outbox: no store is open");
    if (state && strcmp(state, "pending") != 0 && strcmp(state, "sent") != 0 &&
        strcmp(state, "dead") != 0)
        return ri_fail(ctx, RI_ERR_INVALID, "unknown outbox state '%s' (pending, sent or dead)",
                       state);
    rc = ri_stmt_prepare(ctx, st,
                         "SELECT id, state, channel, kind, recipient, subject, attempts, "
                         "created_at, next_at, sent_at, last_error FROM outbox "
                         "WHERE ?1 IS NULL OR state = ?1 ORDER BY id",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_text(s, 1, state, state ? strlen(state) : 0);
    ri_wbuf_init(&t, 64u << 20);
    ri_wbuf_init(&j, 64u << 20);
    ri_wbuf_init(&tmp, 1 << 16);
    ri_wbuf_adds(&t,
                 "   id  state    tries  next/sent         channel          recipient            "
                 "subject\n");
    ri_wbuf_adds(&j, "{\"messages\":[");
    while ((rc = ri_stmt_step(ctx, s)) == RI_OK) {
        const char *stt = ri_stmt_text(s, 1, NULL);
        ri_time next = ri_stmt_time(s, 8), sent = ri_stmt_time(s, 9);
        ri_time when = !strcmp(stt, "sent") ? sent : !strcmp(stt, "pending") ? next : RI_TIME_NONE;
        char tw[32], tc[32], tn[32], ts[32];
        const char *err = ri_stmt_is_null(s, 10) ? NULL : ri_stmt_text(s, 10, NULL);
        const char *recip = ri_stmt_is_null(s, 4) ? NULL : ri_stmt_text(s, 4, NULL);
        const char *subj = ri_stmt_is_null(s, 5) ? NULL : ri_stmt_text(s, 5, NULL);
        size_t mark;
        fmt_time(when, tw, sizeof(tw));
        ri_wbuf_addf(&t, "%5lld  %-7s  %5lld  %-16s  ", (long long)ri_stmt_i64(s, 0), stt,
                     (long long)ri_stmt_i64(s, 6), tw);
        mark = t.b.len;
        cell(&t, &tmp, ri_stmt_text(s, 2, NULL), 15);
        ri_wbuf_addf(&t, "%*s", (int)(17 - utf8_count(t.b.buf + mark)), "");
        mark = t.b.len;
        cell(&t, &tmp, recip ? recip : "-", 19);
        ri_wbuf_addf(&t, "%*s", (int)(21 - utf8_count(t.b.buf + mark)), "");
        cell(&t, &tmp, subj ? subj : "-", 60);
        ri_wbuf_addc(&t, '\n');
        if (err) {
            ri_wbuf_adds(&t, "       last error: ");
            cell(&t, &tmp, err, 200);
            ri_wbuf_addc(&t, '\n');
        }
        fmt_time(ri_stmt_time(s, 7), tc, sizeof(tc));
        fmt_time(next, tn, sizeof(tn));
        fmt_time(sent, ts, sizeof(ts));
        ri_wbuf_addf(&j, "%s{\"id\":%lld,\"state\":", n ? "," : "", (long long)ri_stmt_i64(s, 0));
        w_json(&j, stt);
        ri_wbuf_adds(&j, ",\"channel\":");
        w_json(&j, ri_stmt_text(s, 2, NULL));
        ri_wbuf_adds(&j, ",\"kind\":");
        w_json(&j, ri_stmt_text(s, 3, NULL));
        ri_wbuf_adds(&j, ",\"recipient\":");
        w_json(&j, recip ? clean(&tmp, recip, 1) : NULL);
        ri_wbuf_adds(&j, ",\"subject\":");
        w_json(&j, subj ? clean(&tmp, subj, 1) : NULL);
        ri_wbuf_addf(&j, ",\"attempts\":%lld,\"created_at\":", (long long)ri_stmt_i64(s, 6));
        w_json(&j, tc);
        ri_wbuf_adds(&j, ",\"next_at\":");
        w_json(&j, !strcmp(stt, "pending") ? tn : NULL);
        ri_wbuf_adds(&j, ",\"sent_at\":");
        w_json(&j, sent != RI_TIME_NONE ? ts : NULL);
        ri_wbuf_adds(&j, ",\"last_error\":");
        w_json(&j, err ? clean(&tmp, err, 1) : NULL);
        ri_wbuf_addc(&j, '}');
        n++;
    }
    ri_stmt_free(s);
    if (rc != RI_ERR_NOTFOUND)
        goto out;
    rc = RI_OK;
    ri_wbuf_addf(&j, "],\"count\":%zu}\n", n);
    if (n == 0) {
        ri_wbuf_reset(&t);
        if (state)
            ri_wbuf_addf(&t, "outbox: no %s messages\n", state);
        else
            ri_wbuf_adds(&t, "outbox: empty\n");
    }
    if (t.rc || j.rc || tmp.rc) {
        rc = ri_fail(ctx, RI_ERR_TOOBIG, "outbox listing too large");
        goto out;
    }
    *text = ri_buf_detach(&t.b, NULL);
    *json = ri_buf_detach(&j.b, NULL);
out:
    ri_buf_release(&t.b);
    ri_buf_release(&j.b);
    ri_buf_release(&tmp.b);
    return rc;
}
