/*
 * test_outbox.c - the outbox end to end on 127.0.0.1: channels configured, digests and
 * documents rendered and queued, delivered to real receivers (tests/http/receiver.py, an
 * HTTP endpoint; tests/http/smtp_sink.py, an SMTP server), retried with backoff on a
 * clock advanced by hand, dead-lettered, and never leaking a secret.
 *
 * Expected payloads are written out by hand below from the fixture digest; signatures and
 * e-mails are checked by Python's hmac and email modules, independently of the C code.
 * The SMTP sink needs python3-aiosmtpd: without it the SMTP test fails (it does not skip).
 */
#include "harness.h"
#include "fixture.h"
#include "conf.h"
#include "hmac.h"
#include "outbox.h"
#include "store.h"

#include <jansson.h>
#include <strings.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PY "/usr/bin/python3"

static struct ri_ctx *ctx;
static char store_path[256];
static ri_time T0; /* the clock of the tests: 2026-11-23 06:00 UTC, advanced by hand */

/* ------------------------------------------------------------------ receivers */

struct server {
    pid_t pid;
    int port;
    char capture[256];
};

/* Starts tests/http/<script> in mode; waits up to 10 s for its port. */
static int server_start(struct server *s, const char *script, const char *mode)
{
    static int seq;
    char portfile[256], path[256], buf[32];
    FILE *f;
    seq++;
    snprintf(portfile, sizeof(portfile), "%s/port%d", fx_dir, seq);
    snprintf(s->capture, sizeof(s->capture), "%s/capture%d.jsonl", fx_dir, seq);
    snprintf(path, sizeof(path), "tests/http/%s", script);
    s->port = 0;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        execl(PY, "python3", path, portfile, s->capture, mode, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        int status;
        f = fopen(portfile, "r");
        if (f) {
            if (fgets(buf, sizeof(buf), f))
                s->port = (int)strtol(buf, NULL, 10);
            fclose(f);
            if (s->port > 0)
                return 0;
        }
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "%s exited with status %d before listening%s\n", script,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                    WIFEXITED(status) && WEXITSTATUS(status) == 3
                        ? ": install python3-aiosmtpd (scripts/deps.sh)"
                        : "");
            s->pid = 0;
            return -1;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "%s did not listen within 10 s\n", script);
    return -1;
}

static void server_stop(struct server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

/* The captured requests (or messages), as JSON objects; count in *n. */
static json_t *captures(const struct server *s)
{
    json_t *arr = json_array();
    FILE *f = fopen(s->capture, "r");
    char *line = NULL;
    size_t cap = 0;
    if (!f)
        return arr;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        if (o)
            json_array_append_new(arr, o);
    }
    free(line);
    fclose(f);
    return arr;
}

static const char *cap_str(json_t *caps, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(caps, i), key));
}

static const char *cap_header(json_t *caps, size_t i, const char *name)
{
    json_t *h = json_object_get(json_array_get(caps, i), "headers");
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        if (!strcasecmp(k, name))
            return json_string_value(v);
    }
    return NULL;
}

static size_t count_status(json_t *caps, int status)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(caps); i++)
        n += json_integer_value(json_object_get(json_array_get(caps, i), "status")) == status;
    return n;
}

/* Runs a Python program with args and returns its stdout (malloc'd), or NULL. */
static char *python(const char *prog, const char *arg1, const char *arg2)
{
    char cmd[8192], *out = NULL;
    size_t len = 0, cap = 0;
    FILE *p;
    snprintf(cmd, sizeof(cmd), PY " -c '%s' '%s' '%s'", prog, arg1, arg2 ? arg2 : "");
    p = popen(cmd, "r");
    if (!p)
        return NULL;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            out = realloc(out, cap);
        }
        size_t k = fread(out + len, 1, cap - len - 1, p);
        if (k == 0)
            break;
        len += k;
    }
    out[len] = '\0';
    if (pclose(p) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------ fixture */

static ri_time day(const char *iso)
{
    ri_time t = 0;
    ri_parse_date(iso, strlen(iso), RI_DATE_ISO, &t);
    return t;
}

static struct ri_alert_item items[2];
static struct ri_digest digest;

static void fixture_digest(void)
{
    items[0] = (struct ri_alert_item){"deal.high_risk:OPP-1",
                                      "high_risk",
                                      "critical",
                                      "<script>alert(1)</script> & co",
                                      "P(win) fell from 0.62 to 0.18.\nAmount 120,000.",
                                      "=HYPERLINK(\"http://x\",\"y\")",
                                      "OPP-1",
                                      120000.0};
    items[1] = (struct ri_alert_item){"deal.zombie:OPP-2",
                                      "zombie",
                                      "warning",
                                      "Globex renewal",
                                      "Close date passed 95 days ago.",
                                      "Update the close date or close the deal.",
                                      "OPP-2",
                                      RI_NAN};
    digest.recipient = "Jane Doe";
    digest.address = NULL;
    digest.title = "revintel: 2 alerts for Jane Doe on 2026-11-23";
    digest.as_of = day("2026-11-23");
    digest.items = items;
    digest.n_items = 2;
}

/* A channels configuration from "section|key|value" triples; aborts on an error. */
static struct ri_channels_conf *channels(const char *const *kv, size_t n)
{
    struct ri_channels_conf *c = ri_channels_conf_new();
    struct ri_conf_where where;
    char err[512] = "";
    for (size_t i = 0; i + 2 < n; i += 3) {
        if (ri_channels_conf_key(c, kv[i], kv[i + 1], kv[i + 2], err, sizeof(err)) != RI_OK) {
            fprintf(stderr, "[%s] %s: %s\n", kv[i], kv[i + 1], err);
            abort();
        }
    }
    if (ri_channels_conf_finish(c, &where, err, sizeof(err)) != RI_OK) {
        fprintf(stderr, "finish: %s\n", err);
        abort();
    }
    return c;
}

static void fx_append(struct ri_buf *b, const char *s)
{
    if (ri_buf_adds(b, s) != RI_OK)
        abort();
}

static void fresh_store(void)
{
    ri_ctx_free(ctx);
    ctx = ri_ctx_new();
    snprintf(store_path, sizeof(store_path), "%s/store%ld.db", fx_dir, (long)random());
    if (ri_store_open(ctx, store_path, RI_OPEN_CREATE) != RI_OK)
        abort();
}

static struct ri_deliver_report *deliver(struct ri_channels_conf *ch, ri_time now)
{
    struct ri_config cfg;
    struct ri_deliver_report *r = NULL;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.dir, sizeof(cfg.dir), "%s", fx_dir);
    cfg.channels = ch;
    if (ri_outbox_deliver(ctx, &cfg, now, &r) != RI_OK) {
        fprintf(stderr, "deliver: %s\n", ri_errmsg(ctx));
        abort();
    }
    return r;
}

static char *list_json(const char *state)
{
    char *text = NULL, *json = NULL;
    if (ri_outbox_list(ctx, state, &text, &json) != RI_OK)
        abort();
    ri_string_free(text);
    return json;
}

static char *list_text(const char *state)
{
    char *text = NULL, *json = NULL;
    if (ri_outbox_list(ctx, state, &text, &json) != RI_OK)
        abort();
    ri_string_free(json);
    return text;
}

static int64_t q(const char *sql)
{
    int64_t v = -1;
    if (ri_store_query_i64(ctx, ri_ctx_store(ctx), sql, &v) != RI_OK)
        abort();
    return v;
}

/* ------------------------------------------------------------------ tests */

TEST(hmac_vectors)
{
    /* RFC 4231 test cases 1 and 2; FIPS 180-2 "abc" */
    char out[RI_SHA256_HEX];
    unsigned char key1[20];
    memset(key1, 0x0b, sizeof(key1));
    CHECK(ri_hmac_sha256_hex(key1, 20, "Hi There", 8, out) == RI_OK);
    CHECK_STR(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK(ri_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out) == RI_OK);
    CHECK_STR(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(ri_sha256_hex("abc", 3, out) == RI_OK);
    CHECK_STR(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(conf_keys_and_finish)
{
    struct ri_channels_conf *c = ri_channels_conf_new();
    struct ri_conf_where w;
    struct ri_buf b;
    char err[512];

    err[0] = '\0';
    CHECK(ri_channels_conf_key(c, "channel.a", "colour", "red", err, sizeof(err)) ==
          RI_ERR_NOTFOUND);
    CHECK(ri_channels_conf_key(c, "delivery", "retries", "3", err, sizeof(err)) == RI_ERR_NOTFOUND);
    CHECK(ri_channels_conf_key(c, "channel.a", "type", "pigeon", err, sizeof(err)) ==
          RI_ERR_INVALID);
    CHECK(strstr(err, "pigeon") != NULL);
    CHECK(ri_channels_conf_key(c, "channel.a", "starttls", "maybe", err, sizeof(err)) ==
          RI_ERR_INVALID);
    CHECK(ri_channels_conf_key(c, "delivery", "max_attempts", "0", err, sizeof(err)) ==
          RI_ERR_INVALID);
    CHECK(ri_channels_conf_key(c, "channel.bad name", "type", "file", err, sizeof(err)) ==
          RI_ERR_INVALID);
    CHECK(ri_channels_conf_key(c, "channel.m", "from", "not-an-address", err, sizeof(err)) ==
          RI_ERR_INVALID);
    /* a secret in a bad value is not echoed */
    CHECK(ri_channels_conf_key(c, "channel.a", "url", "https://x/\001hunter2", err, sizeof(err)) ==
          RI_ERR_INVALID);
    CHECK(strstr(err, "hunter2") == NULL);

    /* a slack channel without its url: the section is named */
    CHECK(ri_channels_conf_key(c, "channel.a", "type", "slack", err, sizeof(err)) == RI_OK);
    memset(&w, 0, sizeof(w));
    CHECK(ri_channels_conf_finish(c, &w, err, sizeof(err)) == RI_ERR_INVALID);
    CHECK_STR(w.section, "channel.a");
    CHECK_STR(w.name, "");
    CHECK(strstr(err, "needs url") != NULL);
    /* a key of another type: section and key */
    CHECK(ri_channels_conf_key(c, "channel.a", "url", "https://hooks.slack.com/services/T/B/x", err,
                               sizeof(err)) == RI_OK);
    CHECK(ri_channels_conf_key(c, "channel.a", "secret", "k", err, sizeof(err)) == RI_OK);
    CHECK(ri_channels_conf_finish(c, &w, err, sizeof(err)) == RI_ERR_INVALID);
    CHECK_STR(w.section, "channel.a");
    CHECK_STR(w.name, "secret");
    ri_channels_conf_free(c);

    c = ri_channels_conf_new();
    CHECK(ri_channels_conf_key(c, "channel.h", "type", "webhook", err, sizeof(err)) == RI_OK);
    CHECK(ri_channels_conf_key(c, "channel.h", "url", "ftp://x/y", err, sizeof(err)) == RI_OK);
    CHECK(ri_channels_conf_finish(c, &w, err, sizeof(err)) == RI_ERR_INVALID);
    CHECK_STR(w.name, "url");
    ri_channels_conf_free(c);

    c = ri_channels_conf_new();
    CHECK(ri_channels_conf_key(c, "channel.m", "type", "smtp", err, sizeof(err)) == RI_OK);
    CHECK(ri_channels_conf_key(c, "channel.m", "url", "smtp://127.0.0.1:2525", err, sizeof(err)) ==
          RI_OK);
    CHECK(ri_channels_conf_finish(c, &w, err, sizeof(err)) == RI_ERR_INVALID);
    CHECK(strstr(err, "needs from") != NULL);
    ri_channels_conf_free(c);

    c = ri_channels_conf_new();
    CHECK(ri_channels_conf_key(c, "delivery", "backoff_seconds", "600", err, sizeof(err)) == RI_OK);
    CHECK(ri_channels_conf_key(c, "delivery", "backoff_max_seconds", "60", err, sizeof(err)) ==
          RI_OK);
    CHECK(ri_channels_conf_finish(c, &w, err, sizeof(err)) == RI_ERR_INVALID);
    CHECK_STR(w.section, "delivery");
    CHECK_STR(w.name, "backoff_max_seconds");
    ri_channels_conf_free(c);

    /* describe: secrets redacted, missing variables named */
    setenv("RI_TEST_DESCRIBE_SECRET", "sup3r-s3cret-value", 1);
    unsetenv("RI_TEST_NOT_SET");
    {
        static const char *const kv[] = {"channel.Sales-Slack",
                                         "type",
                                         "slack",
                                         "channel.Sales-Slack",
                                         "url",
                                         "${RI_TEST_NOT_SET}",
                                         "channel.hook",
                                         "type",
                                         "webhook",
                                         "channel.hook",
                                         "url",
                                         "https://hooks.example.com:8443/in/sup3r-s3cret-value",
                                         "channel.hook",
                                         "secret",
                                         "${RI_TEST_DESCRIBE_SECRET}",
                                         "channel.mail",
                                         "type",
                                         "smtp",
                                         "channel.mail",
                                         "url",
                                         "smtp://user:pw-literal-123@mail.example.com:587",
                                         "channel.mail",
                                         "from",
                                         "revintel@example.com",
                                         "channel.mail",
                                         "password",
                                         "pw-literal-123",
                                         "delivery",
                                         "timeout_seconds",
                                         "7"};
        c = channels(kv, RI_ARRAY_SIZE(kv));
    }
    CHECK(ri_channels_conf_has(c, "sales-slack"));
    CHECK(ri_channels_conf_has(c, "hook"));
    CHECK(!ri_channels_conf_has(c, "nope"));
    ri_buf_init(&b, 0);
    CHECK(ri_channels_conf_describe(c, &b) == RI_OK);
    CHECK(strstr(b.buf, "Sales-Slack: slack to ${RI_TEST_NOT_SET} (environment variable "
                        "RI_TEST_NOT_SET not set)") != NULL);
    CHECK(strstr(b.buf, "hook: webhook to https://hooks.example.com:8443/..., signed with "
                        "secret ${RI_TEST_DESCRIBE_SECRET}") != NULL);
    CHECK(strstr(b.buf, "mail: smtp to smtp://mail.example.com:587/...") == NULL);
    CHECK(strstr(b.buf, "mail: smtp to smtp://mail.example.com:587, starttls try") != NULL);
    CHECK(strstr(b.buf, "password (set)") != NULL);
    CHECK(strstr(b.buf, "timeout 7 s") != NULL);
    CHECK(strstr(b.buf, "sup3r-s3cret-value") == NULL);
    CHECK(strstr(b.buf, "pw-literal-123") == NULL);
    ri_buf_release(&b);
    ri_channels_conf_free(c);
}

/* The fixture digest through Slack, byte for byte. */
static const char slack_expected[] =
    "{\"text\":\"revintel: 2 alerts for Jane Doe on 2026-11-23\",\"blocks\":["
    "{\"type\":\"header\",\"text\":{\"type\":\"plain_text\","
    "\"text\":\"revintel: 2 alerts for Jane Doe on 2026-11-23\",\"emoji\":true}},"
    "{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":"
    "\":red_circle: *&lt;script&gt;alert(1)&lt;/script&gt; &amp; co*\\n"
    "P(win) fell from 0.62 to 0.18.\\nAmount 120,000.\\n"
    "What to do: =HYPERLINK(\\\"http://x\\\",\\\"y\\\")\\n"
    "Deal OPP-1, 120,000 at stake\"}},"
    "{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":"
    "\":warning: *Globex renewal*\\nClose date passed 95 days ago.\\n"
    "What to do: Update the close date or close the deal.\\nDeal OPP-2\"}},"
    "{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\","
    "\"text\":\"As of 2026-11-23 \xc2\xb7 revintel\"}]}]}";

TEST(slack_payload)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    struct ri_alert_item many[60];
    struct ri_digest big;
    json_t *caps, *body, *blocks;
    struct ri_buf doc = RI_BUF_INIT, big_doc = RI_BUF_INIT;
    char url[256];
    static const char *const kv[] = {"channel.sales-slack", "type", "slack",
                                     "channel.sales-slack", "url",  "${RI_TEST_SLACK_URL}"};

    fresh_store();
    REQUIRE(server_start(&s, "receiver.py", "ok") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T000/B000/xoxTOKENsecret42", s.port);
    setenv("RI_TEST_SLACK_URL", url, 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "sales-slack", &digest, "digest:2026-11-23:jane:slack",
                                 T0) == RI_OK);
    /* 60 alerts: 50 blocks = header, 47 alerts, "and 13 more", context */
    for (size_t i = 0; i < 60; i++)
        many[i] = items[i % 2];
    big = digest;
    big.items = many;
    big.n_items = 60;
    CHECK(ri_outbox_queue_digest(ctx, c, "sales-slack", &big, "digest:big", T0) == RI_OK);
    /* a document: 400 lines of 100 bytes, "&" in each (escaped to 5 bytes) */
    for (size_t i = 0; i < 400; i++) {
        char line[128];
        snprintf(line, sizeof(line), "%03zu %s\n", i,
                 "R&D pipeline line ................................................"
                 "..........................");
        fx_append(&doc, line);
    }
    CHECK(ri_outbox_queue_document(ctx, c, "sales-slack", NULL, "Weekly", doc.buf, NULL,
                                   "report:slack", T0) == RI_OK);
    /* six times that (about 300 KB escaped) cannot fit 48 sections of 3,000 bytes */
    for (int i = 0; i < 6; i++)
        fx_append(&big_doc, doc.buf);
    CHECK(ri_outbox_queue_document(ctx, c, "sales-slack", NULL, "Weekly", big_doc.buf, NULL,
                                   "report:slack:big", T0) == RI_OK);
    r = deliver(c, T0);
    CHECK_EQ_INT(r->attempted, 4);
    CHECK_EQ_INT(r->sent, 4);
    CHECK_EQ_INT(r->pending, 0);
    ri_deliver_report_free(r);
    server_stop(&s);

    caps = captures(&s);
    REQUIRE(json_array_size(caps) == 4);
    /* the document: sections of at most 3,000 bytes, cut at line ends, which put back
     * together are the text with & escaped; 400 x 104 bytes = 41,600 bytes fit in 48 */
    body = json_loads(cap_str(caps, 2, "body"), 0, NULL);
    blocks = json_object_get(body, "blocks");
    REQUIRE(json_array_size(blocks) > 2);
    {
        struct ri_buf joined, want;
        ri_buf_init(&joined, 0);
        ri_buf_init(&want, 0);
        for (size_t i = 1; i < json_array_size(blocks); i++) {
            const char *t = json_string_value(
                json_object_get(json_object_get(json_array_get(blocks, i), "text"), "text"));
            REQUIRE(t != NULL);
            CHECK(strlen(t) <= 3000);
            CHECK(t[strlen(t) - 1] == '\n');
            ri_buf_adds(&joined, t);
        }
        for (const char *p = doc.buf; *p; p++)
            ri_buf_adds(&want, *p == '&' ? "&amp;" : (char[]){*p, 0});
        CHECK_STR(joined.buf, want.buf);
        ri_buf_release(&joined);
        ri_buf_release(&want);
    }
    json_decref(body);
    body = json_loads(cap_str(caps, 3, "body"), 0, NULL);
    blocks = json_object_get(body, "blocks");
    CHECK_EQ_INT(json_array_size(blocks), 50);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(blocks, 49), "text"), "text")),
              "_(cut: the text is longer than one Slack message holds)_");
    json_decref(body);
    ri_buf_release(&doc);
    ri_buf_release(&big_doc);
    CHECK_STR(cap_str(caps, 0, "path"), "/services/T000/B000/xoxTOKENsecret42");
    CHECK_STR(cap_header(caps, 0, "Content-Type"), "application/json");
    CHECK_STR(cap_str(caps, 0, "body"), slack_expected);
    body = json_loads(cap_str(caps, 1, "body"), 0, NULL);
    blocks = json_object_get(body, "blocks");
    CHECK_EQ_INT(json_array_size(blocks), 50);
    CHECK_STR(json_string_value(
                  json_object_get(json_object_get(json_array_get(blocks, 48), "text"), "text")),
              "_and 13 more_");
    CHECK_STR(json_string_value(json_object_get(json_array_get(blocks, 49), "type")), "context");
    json_decref(body);
    json_decref(caps);
    ri_channels_conf_free(c);
}

static const char webhook_expected[] =
    "{\"idempotency_key\":\"digest:2026-11-23:jane:hook\",\"kind\":\"digest\","
    "\"recipient\":\"Jane Doe\",\"title\":\"revintel: 2 alerts for Jane Doe on 2026-11-23\","
    "\"as_of\":\"2026-11-23\",\"alerts\":["
    "{\"key\":\"deal.high_risk:OPP-1\",\"rule\":\"high_risk\",\"severity\":\"critical\","
    "\"subject\":\"<script>alert(1)</script> & co\","
    "\"message\":\"P(win) fell from 0.62 to 0.18.\\nAmount 120,000.\","
    "\"action\":\"=HYPERLINK(\\\"http://x\\\",\\\"y\\\")\",\"crm_id\":\"OPP-1\","
    "\"value\":120000},"
    "{\"key\":\"deal.zombie:OPP-2\",\"rule\":\"zombie\",\"severity\":\"warning\","
    "\"subject\":\"Globex renewal\",\"message\":\"Close date passed 95 days ago.\","
    "\"action\":\"Update the close date or close the deal.\",\"crm_id\":\"OPP-2\","
    "\"value\":null}]}";

/* Python recomputes the signature over the exact bytes the receiver got. */
static const char py_hmac[] =
    "import base64,hashlib,hmac,json,sys\n"
    "rec=json.loads(open(sys.argv[1]).readline())\n"
    "print(\"sha256=\"+hmac.new(sys.argv[2].encode(),base64.b64decode(rec[\"body_b64\"]),"
    "hashlib.sha256).hexdigest(),end=\"\")";

TEST(webhook_signed)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    json_t *caps;
    char url[256], *sig;
    static const char *const kv[] = {"channel.hook", "type",   "webhook",
                                     "channel.hook", "url",    "${RI_TEST_HOOK_URL}",
                                     "channel.hook", "secret", "${RI_TEST_HOOK_SECRET}",
                                     "channel.open", "type",   "webhook",
                                     "channel.open", "url",    "${RI_TEST_HOOK_URL}"};

    fresh_store();
    REQUIRE(server_start(&s, "receiver.py", "ok") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", s.port);
    setenv("RI_TEST_HOOK_URL", url, 1);
    setenv("RI_TEST_HOOK_SECRET", "s3cr3t-hook-key", 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &digest, "digest:2026-11-23:jane:hook", T0) ==
          RI_OK);
    /* a key with a space and a non-ASCII letter reaches the header percent-encoded */
    CHECK(ri_outbox_queue_document(ctx, c, "open", NULL, "Weekly report", "# Week 48\nWon: 3",
                                   "<p>x</p>", "report:2026-W48 José", T0) == RI_OK);
    r = deliver(c, T0);
    CHECK_EQ_INT(r->sent, 2);
    ri_deliver_report_free(r);
    server_stop(&s);

    caps = captures(&s);
    REQUIRE(json_array_size(caps) == 2);
    CHECK_STR(cap_str(caps, 0, "body"), webhook_expected);
    CHECK_STR(cap_header(caps, 0, "Idempotency-Key"), "digest:2026-11-23:jane:hook");
    CHECK_STR(cap_header(caps, 0, "Content-Type"), "application/json");
    sig = python(py_hmac, s.capture, "s3cr3t-hook-key");
    REQUIRE(sig != NULL);
    CHECK_STR(cap_header(caps, 0, "X-Revintel-Signature"), sig);
    free(sig);
    /* no secret: no signature header */
    CHECK(cap_header(caps, 1, "X-Revintel-Signature") == NULL);
    CHECK_STR(cap_header(caps, 1, "Idempotency-Key"), "report:2026-W48%20Jos%C3%A9");
    CHECK_STR(cap_str(caps, 1, "body"),
              "{\"idempotency_key\":\"report:2026-W48 Jos\xc3\xa9\",\"kind\":\"document\","
              "\"recipient\":null,\"subject\":\"Weekly report\",\"text\":\"# Week 48\\nWon: 3\"}");
    json_decref(caps);
    ri_channels_conf_free(c);
}

/* Python's email parser on the captured message: headers, and the decoded parts. */
static const char py_mail[] =
    "import base64,email,email.header,hashlib,json,sys\n"
    "recs=[json.loads(l) for l in open(sys.argv[1])]\n"
    "rec=recs[int(sys.argv[2])]\n"
    "m=email.message_from_bytes(base64.b64decode(rec[\"content_b64\"]))\n"
    "out={\"from\":m[\"From\"],\"to\":m[\"To\"],\"msgid\":m[\"Message-ID\"],\n"
    " \"subject\":str(email.header.make_header(email.header.decode_header(m[\"Subject\"]))),\n"
    " \"type\":m.get_content_type(),\"rcpt\":\",\".join(rec[\"rcpt_tos\"]),"
    "\"mail_from\":rec[\"mail_from\"]}\n"
    "for p in m.walk():\n"
    " if p.get_content_type() in (\"text/plain\",\"text/html\"):\n"
    "  out[p.get_content_type()]=p.get_payload(decode=True).decode(\"utf-8\")\n"
    "print(json.dumps(out))";

static json_t *parse_mail(const struct server *s, int i)
{
    char idx[16], *out;
    json_t *j;
    snprintf(idx, sizeof(idx), "%d", i);
    out = python(py_mail, s->capture, idx);
    if (!out)
        return NULL;
    j = json_loads(out, 0, NULL);
    free(out);
    return j;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

TEST(smtp_message)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    struct ri_digest d2;
    json_t *caps, *m;
    char url[128], msgid[128], hash[RI_SHA256_HEX];
    static const char *const kv[] = {"channel.mail", "type",     "smtp",
                                     "channel.mail", "url",      "${RI_TEST_SMTP_URL}",
                                     "channel.mail", "from",     "revintel@example.com",
                                     "channel.mail", "to",       "ops@example.com",
                                     "channel.mail", "starttls", "try"};

    fresh_store();
    /* no skipping: the sink must run (python3-aiosmtpd, installed by scripts/deps.sh) */
    REQUIRE(server_start(&s, "smtp_sink.py", "ok") == 0);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", s.port);
    setenv("RI_TEST_SMTP_URL", url, 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    digest.address = "jane@example.com";
    CHECK(ri_outbox_queue_digest(ctx, c, "mail", &digest, "digest:2026-11-23:jane:mail", T0) ==
          RI_OK);
    digest.address = NULL;
    /* no address: the channel's `to`; a non-ASCII title: an RFC 2047 subject */
    d2 = digest;
    d2.title = "revintel: 1 alert for Jos\xc3\xa9 M\xc3\xbcller";
    d2.n_items = 1;
    CHECK(ri_outbox_queue_digest(ctx, c, "mail", &d2, "digest:2026-11-23:jose:mail", T0) == RI_OK);
    /* a document with its own HTML (not escaped: it is the report itself) */
    CHECK(ri_outbox_queue_document(ctx, c, "mail", "leadership", "Weekly report",
                                   "# Week 48\n.starts with a dot\n", "<h1>Week 48</h1>",
                                   "report:2026-W48:mail", T0) == RI_OK);
    r = deliver(c, T0);
    CHECK_EQ_INT(r->sent, 3);
    ri_deliver_report_free(r);
    server_stop(&s);

    caps = captures(&s);
    REQUIRE(json_array_size(caps) == 3);
    json_decref(caps);

    m = parse_mail(&s, 0);
    REQUIRE(m != NULL);
    CHECK_STR(jstr(m, "mail_from"), "revintel@example.com");
    CHECK_STR(jstr(m, "rcpt"), "jane@example.com");
    CHECK_STR(jstr(m, "from"), "revintel <revintel@example.com>");
    CHECK_STR(jstr(m, "to"), "jane@example.com");
    CHECK_STR(jstr(m, "subject"), "revintel: 2 alerts for Jane Doe on 2026-11-23");
    CHECK_STR(jstr(m, "type"), "multipart/alternative");
    ri_sha256_hex("digest:2026-11-23:jane:mail", 27, hash);
    snprintf(msgid, sizeof(msgid), "<%.32s.revintel@example.com>", hash);
    CHECK_STR(jstr(m, "msgid"), msgid);
    /* plain text carries the CRM text as it is; HTML escapes it */
    REQUIRE(jstr(m, "text/plain") && jstr(m, "text/html"));
    CHECK(strstr(jstr(m, "text/plain"), "[CRITICAL] <script>alert(1)</script> & co\r\n") != NULL);
    CHECK(strstr(jstr(m, "text/plain"), "What to do: =HYPERLINK(\"http://x\",\"y\")\r\n") != NULL);
    CHECK(strstr(jstr(m, "text/plain"), "Deal OPP-1, 120,000 at stake\r\n") != NULL);
    CHECK(strstr(jstr(m, "text/html"),
                 "<strong>[CRITICAL] &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</strong>") !=
          NULL);
    CHECK(strstr(jstr(m, "text/html"),
                 "What to do: =HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)") != NULL);
    CHECK(strstr(jstr(m, "text/html"), "P(win) fell from 0.62 to 0.18.<br>\r\nAmount 120,000.") !=
          NULL);
    CHECK(strstr(jstr(m, "text/html"), "<script>") == NULL);
    json_decref(m);

    m = parse_mail(&s, 1);
    REQUIRE(m != NULL);
    CHECK_STR(jstr(m, "rcpt"), "ops@example.com");
    CHECK_STR(jstr(m, "to"), "ops@example.com");
    CHECK_STR(jstr(m, "subject"), "revintel: 1 alert for Jos\xc3\xa9 M\xc3\xbcller");
    json_decref(m);

    m = parse_mail(&s, 2);
    REQUIRE(m != NULL);
    CHECK_STR(jstr(m, "subject"), "Weekly report");
    /* the sink undid libcurl's dot-stuffing: the line comes back as written */
    CHECK_STR(jstr(m, "text/plain"), "# Week 48\r\n.starts with a dot\r\n");
    CHECK_STR(jstr(m, "text/html"), "<h1>Week 48</h1>");
    json_decref(m);
    ri_channels_conf_free(c);
}

TEST(smtp_retry_and_tls)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    json_t *caps;
    char url[128], *txt;
    static const char *const kv[] = {"channel.mail",   "type",     "smtp",
                                     "channel.mail",   "url",      "${RI_TEST_SMTP2_URL}",
                                     "channel.mail",   "from",     "revintel@example.com",
                                     "channel.mail",   "username", "revintel",
                                     "channel.mail",   "password", "${RI_TEST_SMTP2_PW}",
                                     "channel.strict", "type",     "smtp",
                                     "channel.strict", "url",      "${RI_TEST_SMTP2_URL}",
                                     "channel.strict", "from",     "revintel@example.com",
                                     "channel.strict", "starttls", "yes"};

    fresh_store();
    REQUIRE(server_start(&s, "smtp_sink.py", "fail:1") == 0);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", s.port);
    setenv("RI_TEST_SMTP2_URL", url, 1);
    setenv("RI_TEST_SMTP2_PW", "smtpPASSWORDsecret", 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    digest.address = "jane@example.com";
    CHECK(ri_outbox_queue_digest(ctx, c, "mail", &digest, "m1", T0) == RI_OK);
    /* the sink offers no STARTTLS: a channel that requires it must not send in the clear */
    CHECK(ri_outbox_queue_digest(ctx, c, "strict", &digest, "m2", T0) == RI_OK);
    digest.address = NULL;
    /* the sink answers the first DATA with 451: retried, then accepted once */
    r = deliver(c, T0);
    CHECK_EQ_INT(r->retried, 2);
    ri_deliver_report_free(r);
    r = deliver(c, T0 + 60);
    CHECK_EQ_INT(r->sent, 1);
    CHECK_EQ_INT(r->retried, 1);
    ri_deliver_report_free(r);
    server_stop(&s);
    caps = captures(&s);
    CHECK_EQ_INT(json_array_size(caps), 2);
    CHECK_EQ_INT(count_status(caps, 250), 1);
    json_decref(caps);
    txt = list_text("pending");
    snprintf(url, sizeof(url), "last error: smtp://127.0.0.1:%d: ", s.port);
    CHECK(strstr(txt, url) != NULL);
    CHECK(strstr(txt, "STARTTLS") != NULL); /* libcurl: "STARTTLS not supported." */
    CHECK(strstr(txt, "smtpPASSWORDsecret") == NULL);
    ri_string_free(txt);
    CHECK_EQ_INT(q("SELECT count(*) FROM outbox WHERE idem_key = 'm2' AND state = 'pending' AND "
                   "attempts = 2"),
                 1);
    ri_channels_conf_free(c);
}

TEST(retry_then_once)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    json_t *caps;
    char url[128], *js;
    static const char *const kv[] = {
        "channel.hook",         "type",     "webhook",         "channel.hook", "url",
        "${RI_TEST_RETRY_URL}", "delivery", "backoff_seconds", "60",           "delivery",
        "backoff_max_seconds",  "3600"};

    fresh_store();
    REQUIRE(server_start(&s, "receiver.py", "fail:2") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/in", s.port);
    setenv("RI_TEST_RETRY_URL", url, 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &digest, "k1", T0) == RI_OK);

    /* attempt 1 fails (500): next try 60 s later */
    r = deliver(c, T0);
    CHECK_EQ_INT(r->attempted, 1);
    CHECK_EQ_INT(r->retried, 1);
    CHECK_EQ_INT(r->pending, 1);
    ri_deliver_report_free(r);
    CHECK_EQ_INT(q("SELECT next_at FROM outbox"), T0 + 60);
    /* not yet due at T0 + 59 */
    r = deliver(c, T0 + 59);
    CHECK_EQ_INT(r->attempted, 0);
    ri_deliver_report_free(r);
    /* attempt 2 fails: the wait doubles to 120 s */
    r = deliver(c, T0 + 60);
    CHECK_EQ_INT(r->retried, 1);
    ri_deliver_report_free(r);
    CHECK_EQ_INT(q("SELECT next_at FROM outbox"), T0 + 60 + 120);
    CHECK_EQ_INT(q("SELECT attempts FROM outbox"), 2);
    js = list_json("pending");
    CHECK(strstr(js, "\"last_error\":\"HTTP 500 from http://127.0.0.1:") != NULL);
    ri_string_free(js);
    /* attempt 3 goes through */
    r = deliver(c, T0 + 180);
    CHECK_EQ_INT(r->sent, 1);
    CHECK_EQ_INT(r->pending, 0);
    ri_deliver_report_free(r);
    /* and nothing is sent again, however late the next pass */
    r = deliver(c, T0 + 30 * RI_DAY);
    CHECK_EQ_INT(r->attempted, 0);
    ri_deliver_report_free(r);
    server_stop(&s);

    caps = captures(&s);
    CHECK_EQ_INT(json_array_size(caps), 3);
    CHECK_EQ_INT(count_status(caps, 200), 1);
    json_decref(caps);
    CHECK_EQ_INT(q("SELECT count(*) FROM outbox WHERE state = 'sent' AND attempts = 3 AND "
                   "last_error IS NULL"),
                 1);
    CHECK_EQ_INT(q("SELECT sent_at FROM outbox"), T0 + 180);
    ri_channels_conf_free(c);
}

/* A channel that is down (nothing listens on its port: connection refused) loses
 * nothing: the message waits with the error, and once the receiver is up (the URL comes
 * from the environment at send time, so it can move to the new port) it arrives once. */
TEST(down_then_back)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    json_t *caps;
    char url[128], *js;
    static const char *const kv[] = {"channel.hook",
                                     "type",
                                     "webhook",
                                     "channel.hook",
                                     "url",
                                     "${RI_TEST_DOWN_URL}",
                                     "delivery",
                                     "backoff_seconds",
                                     "60"};

    fresh_store();
    /* port 9 on 127.0.0.1 (discard): nothing listens there */
    setenv("RI_TEST_DOWN_URL", "http://127.0.0.1:9/in", 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &digest, "down1", T0) == RI_OK);
    r = deliver(c, T0);
    CHECK_EQ_INT(r->attempted, 1);
    CHECK_EQ_INT(r->sent, 0);
    CHECK_EQ_INT(r->retried, 1);
    ri_deliver_report_free(r);
    js = list_json("pending");
    CHECK(strstr(js, "\"attempts\":1") != NULL);
    ri_string_free(js);
    /* still down a minute later */
    r = deliver(c, T0 + 60);
    CHECK_EQ_INT(r->retried, 1);
    ri_deliver_report_free(r);
    /* back up */
    REQUIRE(server_start(&s, "receiver.py", "ok") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/in", s.port);
    setenv("RI_TEST_DOWN_URL", url, 1);
    r = deliver(c, T0 + 180);
    CHECK_EQ_INT(r->sent, 1);
    ri_deliver_report_free(r);
    r = deliver(c, T0 + 10 * RI_DAY);
    CHECK_EQ_INT(r->attempted, 0);
    ri_deliver_report_free(r);
    server_stop(&s);
    caps = captures(&s);
    CHECK_EQ_INT(json_array_size(caps), 1);
    CHECK_EQ_INT(count_status(caps, 200), 1);
    json_decref(caps);
    CHECK_EQ_INT(q("SELECT count(*) FROM outbox WHERE state = 'sent' AND attempts = 3"), 1);
    ri_channels_conf_free(c);
}

TEST(dead_after_max)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    json_t *caps;
    char url[128], *js, *txt;
    static const char *const kv[] = {"channel.hook",
                                     "type",
                                     "webhook",
                                     "channel.hook",
                                     "url",
                                     "${RI_TEST_DEAD_URL}",
                                     "channel.hook",
                                     "max_attempts",
                                     "4",
                                     "delivery",
                                     "max_attempts",
                                     "9",
                                     "delivery",
                                     "backoff_seconds",
                                     "60",
                                     "delivery",
                                     "backoff_max_seconds",
                                     "100"};

    fresh_store();
    REQUIRE(server_start(&s, "receiver.py", "always:500") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/in", s.port);
    setenv("RI_TEST_DEAD_URL", url, 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &digest, "k-dead", T0) == RI_OK);
    /* waits: 60, then min(120, 100) = 100, then 100; the 4th failure (the channel's limit,
     * not [delivery]'s 9) dead-letters it */
    r = deliver(c, T0);
    ri_deliver_report_free(r);
    CHECK_EQ_INT(q("SELECT next_at FROM outbox"), T0 + 60);
    r = deliver(c, T0 + 60);
    ri_deliver_report_free(r);
    CHECK_EQ_INT(q("SELECT next_at FROM outbox"), T0 + 160);
    r = deliver(c, T0 + 159);
    CHECK_EQ_INT(r->attempted, 0);
    ri_deliver_report_free(r);
    r = deliver(c, T0 + 160);
    ri_deliver_report_free(r);
    CHECK_EQ_INT(q("SELECT next_at FROM outbox"), T0 + 260);
    r = deliver(c, T0 + 260);
    CHECK_EQ_INT(r->dead, 1);
    CHECK_EQ_INT(r->pending, 0);
    CHECK(strstr(r->text, "dead-lettered after 4 attempts") != NULL);
    CHECK(strstr(r->json, "\"result\":\"dead\"") != NULL);
    ri_deliver_report_free(r);
    r = deliver(c, T0 + 30 * RI_DAY);
    CHECK_EQ_INT(r->attempted, 0);
    ri_deliver_report_free(r);
    server_stop(&s);

    caps = captures(&s);
    CHECK_EQ_INT(json_array_size(caps), 4);
    json_decref(caps);
    js = list_json("dead");
    CHECK(strstr(js, "\"state\":\"dead\"") != NULL);
    CHECK(strstr(js, "\"attempts\":4") != NULL);
    CHECK(strstr(js, "\"count\":1}") != NULL);
    ri_string_free(js);
    txt = list_text("pending");
    CHECK_STR(txt, "outbox: no pending messages\n");
    ri_string_free(txt);
    txt = list_text(NULL);
    CHECK(strstr(txt, "dead") != NULL);
    CHECK(strstr(txt, "last error: HTTP 500 from http://127.0.0.1:") != NULL);
    ri_string_free(txt);
    ri_channels_conf_free(c);
}

TEST(bad_request_dead_at_once)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    char url[128];
    static const char *const kv[] = {"channel.hook", "type", "webhook",
                                     "channel.hook", "url",  "${RI_TEST_400_URL}"};

    fresh_store();
    REQUIRE(server_start(&s, "receiver.py", "always:400") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/in", s.port);
    setenv("RI_TEST_400_URL", url, 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &digest, "k-400", T0) == RI_OK);
    r = deliver(c, T0);
    CHECK_EQ_INT(r->dead, 1);
    ri_deliver_report_free(r);
    server_stop(&s);
    CHECK_EQ_INT(q("SELECT count(*) FROM outbox WHERE state = 'dead' AND attempts = 1 AND "
                   "last_error LIKE 'HTTP 400 from %not retried)'"),
                 1);
    ri_channels_conf_free(c);
}

TEST(idempotent_queue)
{
    struct server s = {0};
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    struct ri_digest other;
    json_t *caps;
    char url[128], *js;
    static const char *const kv[] = {"channel.hook", "type", "webhook",
                                     "channel.hook", "url",  "${RI_TEST_IDEM_URL}"};

    fresh_store();
    REQUIRE(server_start(&s, "receiver.py", "ok") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/in", s.port);
    setenv("RI_TEST_IDEM_URL", url, 1);
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &digest, "same-key", T0) == RI_OK);
    other = digest;
    other.title = "a different title";
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &other, "same-key", T0 + 5) == RI_OK);
    js = list_json(NULL);
    CHECK(strstr(js, "\"count\":1}") != NULL);
    CHECK(strstr(js, "a different title") == NULL);
    ri_string_free(js);
    r = deliver(c, T0 + 10);
    CHECK_EQ_INT(r->sent, 1);
    ri_deliver_report_free(r);
    /* queued again after it was sent: still nothing new */
    CHECK(ri_outbox_queue_digest(ctx, c, "hook", &digest, "same-key", T0 + 20) == RI_OK);
    r = deliver(c, T0 + 30);
    CHECK_EQ_INT(r->attempted, 0);
    ri_deliver_report_free(r);
    server_stop(&s);
    caps = captures(&s);
    CHECK_EQ_INT(json_array_size(caps), 1);
    json_decref(caps);
    /* an unknown channel cannot be queued */
    CHECK(ri_outbox_queue_digest(ctx, c, "nope", &digest, "k-nope", T0) == RI_ERR_NOTFOUND);
    ri_channels_conf_free(c);
}

TEST(secrets_never_shown)
{
    struct server s = {0};
    struct ri_channels_conf *c, *gone;
    struct ri_deliver_report *r;
    struct ri_buf b;
    char url[256], closed[256], *js, *txt;
    int port;
    static const char *const kv[] = {"channel.slack", "type",   "slack",
                                     "channel.slack", "url",    "${RI_TEST_SEC_URL}",
                                     "channel.down",  "type",   "webhook",
                                     "channel.down",  "url",    "${RI_TEST_SEC_DOWN}",
                                     "channel.down",  "secret", "${RI_TEST_SEC_KEY}",
                                     "channel.unset", "type",   "webhook",
                                     "channel.unset", "url",    "${RI_TEST_SEC_UNSET}"};
    static const char *const kv_gone[] = {"channel.other", "type",         "file",
                                          "channel.other", "path",         "other.jsonl",
                                          "delivery",      "max_attempts", "2"};

    fresh_store();
    /* a port nothing listens on: start a receiver, note its port, stop it */
    REQUIRE(server_start(&s, "receiver.py", "ok") == 0);
    port = s.port;
    server_stop(&s);
    snprintf(closed, sizeof(closed), "http://127.0.0.1:%d/hook/sekritPATHtoken", port);
    REQUIRE(server_start(&s, "receiver.py", "always:503") == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/services/T1/B1/xoxSLACKsecret77", s.port);
    setenv("RI_TEST_SEC_URL", url, 1);
    setenv("RI_TEST_SEC_DOWN", closed, 1);
    setenv("RI_TEST_SEC_KEY", "hmacKEYsecret99", 1);
    unsetenv("RI_TEST_SEC_UNSET");
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "slack", &digest, "s1", T0) == RI_OK);
    CHECK(ri_outbox_queue_digest(ctx, c, "down", &digest, "s2", T0) == RI_OK);
    CHECK(ri_outbox_queue_digest(ctx, c, "unset", &digest, "s3", T0) == RI_OK);
    r = deliver(c, T0);
    CHECK_EQ_INT(r->retried, 3);
    CHECK(strstr(r->text, "xoxSLACKsecret77") == NULL);
    CHECK(strstr(r->text, "sekritPATHtoken") == NULL);
    CHECK(strstr(r->json, "xoxSLACKsecret77") == NULL);
    ri_deliver_report_free(r);
    server_stop(&s);

    txt = list_text(NULL);
    js = list_json(NULL);
    CHECK(strstr(txt, "HTTP 503 from http://127.0.0.1:") != NULL);
    CHECK(strstr(txt, "environment variable RI_TEST_SEC_UNSET is not set") != NULL);
    snprintf(url, sizeof(url), "port %d", port);
    CHECK(strstr(txt, url) != NULL); /* curl's "Failed to connect to 127.0.0.1 port N" */
    for (int i = 0; i < 2; i++) {
        const char *out = i ? js : txt;
        CHECK(strstr(out, "xoxSLACKsecret77") == NULL);
        CHECK(strstr(out, "sekritPATHtoken") == NULL);
        CHECK(strstr(out, "hmacKEYsecret99") == NULL);
        CHECK(strstr(out, "/services/") == NULL);
    }
    ri_string_free(txt);
    ri_string_free(js);
    CHECK_EQ_INT(q("SELECT count(*) FROM outbox WHERE last_error LIKE '%secret%' OR last_error "
                   "LIKE '%sekrit%' OR CAST(payload AS TEXT) LIKE '%secret%'"),
                 0);
    ri_buf_init(&b, 0);
    ri_channels_conf_describe(c, &b);
    CHECK(strstr(b.buf, "xoxSLACKsecret77") == NULL);
    CHECK(strstr(b.buf, "hmacKEYsecret99") == NULL);
    CHECK(strstr(b.buf, "${RI_TEST_SEC_KEY}") != NULL);
    CHECK(strstr(b.buf, "(environment variable RI_TEST_SEC_UNSET not set)") != NULL);
    ri_buf_release(&b);

    /* the channels are gone from the configuration: retried, then dead */
    gone = channels(kv_gone, RI_ARRAY_SIZE(kv_gone));
    r = deliver(gone, T0 + 3600);
    CHECK_EQ_INT(r->attempted, 3);
    CHECK_EQ_INT(r->dead, 3); /* attempt 2 of [delivery] max_attempts = 2 */
    CHECK(strstr(r->text, "channel 'slack' is not in the configuration") != NULL);
    ri_deliver_report_free(r);
    ri_channels_conf_free(gone);
    ri_channels_conf_free(c);
}

TEST(file_channel)
{
    struct ri_channels_conf *c;
    struct ri_deliver_report *r;
    char path[256], line[8192];
    FILE *f;
    int n = 0;
    static const char *const kv[] = {"channel.out", "type", "file",
                                     "channel.out", "path", "alerts.jsonl"};

    fresh_store();
    c = channels(kv, RI_ARRAY_SIZE(kv));
    CHECK(ri_outbox_queue_digest(ctx, c, "out", &digest, "digest:2026-11-23:jane:hook", T0) ==
          RI_OK);
    CHECK(ri_outbox_queue_document(ctx, c, "out", "all", "Weekly", "text", NULL, "doc-1", T0) ==
          RI_OK);
    r = deliver(c, T0);
    CHECK_EQ_INT(r->sent, 2);
    ri_deliver_report_free(r);
    /* relative to the config file's folder (fx_dir in deliver()) */
    snprintf(path, sizeof(path), "%s/alerts.jsonl", fx_dir);
    f = fopen(path, "r");
    REQUIRE(f != NULL);
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        CHECK(len > 0 && line[len - 1] == '\n');
        line[len - 1] = '\0';
        if (n == 0)
            CHECK_STR(line, webhook_expected);
        else
            CHECK_STR(line, "{\"idempotency_key\":\"doc-1\",\"kind\":\"document\","
                            "\"recipient\":\"all\",\"subject\":\"Weekly\",\"text\":\"text\"}");
        n++;
    }
    fclose(f);
    CHECK_EQ_INT(n, 2);
    ri_channels_conf_free(c);
}

TEST(config_file_sections)
{
    struct ri_config *cfg = NULL;
    struct ri_ctx *c2 = ri_ctx_new();
    char p[256], *d;
    fx_write("revintel.conf", "[delivery]\n"
                              "max_attempts = 3\n"
                              "backoff_seconds = 30\n"
                              "\n"
                              "[channel.out]\n"
                              "type = file\n"
                              "path = -\n"
                              "\n"
                              "[channel.hook]\n"
                              "type = webhook\n"
                              "url = http://127.0.0.1:9/hook\n"
                              "secret = ${RI_TEST_CONF_SECRET}\n");
    fx_write("bad.conf", "[channel.s]\n"
                         "type = slack\n"
                         "url = https://hooks.slack.com/x\n"
                         "secret = abc\n");
    unsetenv("RI_TEST_CONF_SECRET");
    snprintf(p, sizeof(p), "%s/revintel.conf", fx_dir);
    REQUIRE(ri_config_load(c2, p, &cfg) == RI_OK);
    CHECK(ri_channels_conf_has(cfg->channels, "hook"));
    d = ri_config_describe(cfg);
    REQUIRE(d != NULL);
    CHECK(strstr(d, "out: file - (standard output)") != NULL);
    CHECK(strstr(d, "hook: webhook to http://127.0.0.1:9/..., signed with secret "
                    "${RI_TEST_CONF_SECRET} (environment variable RI_TEST_CONF_SECRET not set)") !=
          NULL);
    CHECK(strstr(d, "delivery: up to 3 attempts, retried after 30 s") != NULL);
    ri_string_free(d);
    ri_config_free(cfg);
    /* a key that does not apply: the file and the line of the key */
    snprintf(p, sizeof(p), "%s/bad.conf", fx_dir);
    CHECK(ri_config_load(c2, p, &cfg) != RI_OK);
    CHECK(strstr(ri_errmsg(c2), "bad.conf:4: secret does not apply to a slack channel") != NULL);
    ri_ctx_free(c2);
}

int main(void)
{
    BEGIN("test_outbox");
    /* 127.0.0.1 only, whatever proxy the environment names */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    setenv("no_proxy", "127.0.0.1", 1);
    signal(SIGPIPE, SIG_IGN);
    ri_set_log_level(RI_LOG_ERROR);
    T0 = day("2026-11-23") + 6 * 3600;
    fx_fresh_dir("outbox");
    fixture_digest();
    RUN(hmac_vectors);
    RUN(conf_keys_and_finish);
    RUN(slack_payload);
    RUN(webhook_signed);
    RUN(smtp_message);
    RUN(smtp_retry_and_tls);
    RUN(retry_then_once);
    RUN(down_then_back);
    RUN(dead_after_max);
    RUN(bad_request_dead_at_once);
    RUN(idempotent_queue);
    RUN(secrets_never_shown);
    RUN(file_channel);
    RUN(config_file_sections);
    ri_ctx_free(ctx);
    fx_remove_tree(fx_dir);
    return DONE();
}
