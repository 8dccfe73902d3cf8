/*
 * alert_rules.c - the alert rules (DESIGN §6): what each built-in rule looks for in the
 * store, and the custom rules written in SQL.
 *
 * Deal rules read the deals as they stood on the as-of date, replayed from their events
 * (ri_asof), and the latest score runs; pipeline rules read the diagnosis, the forecast
 * and the deals by period; system rules read the ingests, the model registry and the
 * scores. Every rule says what it found with the figures and what to do about it, and
 * routes it: deal alerts to the deal's owner (and the owner's manager when critical),
 * pipeline alerts to leadership (and to the managers of the rep or region concerned),
 * system alerts to the admin. Pipeline rules alert only on changes a test calls
 * significant or on stated thresholds, never on noise (see docs/internals/alerts.md).
 *
 * Custom rules run on a connection of their own, opened read-only, with a time limit:
 * a query that writes, fails, runs too long or returns too many rows is reported and
 * the other rules still run.
 */
#include "alert_rules.h"
#include "diagnose.h"
#include "learn.h"
#include "stats.h"
#include "store.h"
#include "strmap.h"

#include <math.h>
#include <string.h>
#include <strings.h>

/* clang-format off */
const struct ri_rule_def ri_rule_defs[RI_RULE__BUILTIN] = {
    {"high_value_risk", "deal", "critical", {"min_amount", "max_p_win", NULL}, {RI_NAN, 0.25, 0},
     "a large open deal (amount >= min_amount, default the 80th percentile of open amounts) "
     "with P(win) <= max_p_win in the latest score run"},
    {"stalled", "deal", "warning", {"factor", "min_won", NULL}, {1.0, 10, 0},
     "days in the current stage > factor x the P90 of won deals' time in that stage (stages "
     "with at least min_won won deals)"},
    {"skipped_qualification", "deal", "warning", {"days", NULL, NULL}, {30, 0, 0},
     "an open deal in a late stage that got there within `days` of entering the pipeline "
     "without passing a qualification stage (`stages`, default: the stage named like "
     "Qualification)"},
    {"zombie", "deal", "warning", {"days", NULL, NULL}, {30, 0, 0},
     "an open deal whose close date passed more than `days` ago"},
    {"pushed", "deal", "warning", {"times", NULL, NULL}, {3, 0, 0},
     "an open deal whose close date was moved later `times` times or more"},
    {"risk_jump", "deal", "warning", {"points", NULL, NULL}, {0.15, 0, 0},
     "P(win) fell by `points` or more since the previous score run"},
    {"segment_winrate_drop", "pipeline", "warning", {"min_drop", NULL, NULL}, {0, 0, 0},
     "a segment whose win-rate fall the latest diagnosis found significant after its "
     "multiple-testing correction (small segments never), by at least min_drop"},
    {"late_stage_losses", "pipeline", "warning", {"alpha", "min_n", NULL}, {0.01, 30, 0},
     "the share lost of the deals that reached a late stage rose between the last two "
     "complete periods (two-proportion test p < alpha, min_n deals in each)"},
    {"forecast_concentration", "pipeline", "warning", {"share", NULL, NULL}, {0.4, 0, 0},
     "share of the forecast's open expected revenue in deals the model rates high risk "
     ">= share"},
    {"coverage", "pipeline", "warning", {"ratio", NULL, NULL}, {3.0, 0, 0},
     "open pipeline closing in the period / what is left of [alerts] quota < ratio (off "
     "without a quota)"},
    {"pipeline_created_falling", "pipeline", "warning", {"z", "min_drop", NULL}, {-2.0, 0.1, 0},
     "pipeline created in the last complete period below the mean of the 4 before by z "
     "standard deviations and by min_drop of the mean"},
    {"data_quality", "system", "warning", {"share", NULL, NULL}, {0.02, 0, 0},
     "the last day's ingests quarantined more than `share` of their rows, or an ingest "
     "of the daily run failed"},
    {"drift", "system", "warning", {"psi", "ece", "min_closed"}, {0.25, 0.1, 30},
     "the active model's scores moved (PSI of P(win) against its first score run > psi) "
     "or its calibration on deals closed since (ECE > ece over min_closed deals)"},
    {"stale_data", "system", "warning", {"days", NULL, NULL}, {RI_NAN, 0, 0},
     "the newest export is older than `days` (default [run] stale_days)"},
};
/* clang-format on */

/* ------------------------------------------------------------------ the rules' data */

struct rules {
    struct ri_rule_env *env;
    struct ri_history *h;
    struct ri_asof_state st;
    int have_st;
    /* reps table: name, manager, region */
    size_t n_reps;
    char **rep_name, **rep_manager, **rep_region;
    /* score runs: the latest at or before as_of and the one before it */
    int64_t run1, run0;
    ri_time run1_at, run0_at;
    int run1_signal;
    double *p1, *p0; /* per deal index, NAN unscored */
    uint8_t *high;   /* tier "high risk" in run1 */
    uint8_t *zombie; /* raised by the zombie rule: not called stalled too */
    struct ri_stmt *deal_q, *reason_q;
    double high_value;     /* high_value_risk's amount threshold */
    struct ri_strmap seen; /* "key\x1frecipient" of the alerts raised so far */
};

static const char *sev_static(const char *s)
{
    if (!strcasecmp(s, "critical"))
        return "critical";
    if (!strcasecmp(s, "info"))
        return "info";
    return "warning";
}

static void fmt_amount(double v, char *out, size_t size)
{
    char raw[64];
    size_t n, o = 0, lead;
    int neg = v < 0;
    if (isnan(v)) {
        snprintf(out, size, "?");
        return;
    }
    snprintf(raw, sizeof(raw), "%.0f", fabs(v));
    n = strlen(raw);
    lead = n % 3 ? n % 3 : 3;
    if (neg && o + 1 < size)
        out[o++] = '-';
    for (size_t i = 0; i < n && o + 2 < size; i++) {
        if (i && i >= lead && (i - lead) % 3 == 0)
            out[o++] = ',';
        out[o++] = raw[i];
    }
    out[o] = '\0';
}

static void fmt_date(ri_time t, char *out, size_t size)
{
    if (t == RI_TIME_NONE)
        snprintf(out, size, "(none)");
    else
        ri_format_date(t, out, size);
}

static double days_between(ri_time a, ri_time b)
{
    return (double)(b - a) / (double)RI_DAY;
}

static const struct ri_rule_conf *rule(const struct rules *r, int id)
{
    return &r->env->conf->rules[id];
}

static double param(const struct rules *r, int id, int k)
{
    return r->env->conf->rules[id].param[k];
}

static void note(struct rules *r, const char *rule_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct rules *r, const char *rule_name, const char *fmt, ...)
{
    va_list ap;
    ri_buf_addf(r->env->notes, "%s: ", rule_name);
    va_start(ap, fmt);
    ri_buf_vaddf(r->env->notes, fmt, ap);
    va_end(ap);
    ri_buf_addc(r->env->notes, '\n');
}

/* ------------------------------------------------------------------ findings, routing */

struct finding {
    int rule;
    const char *rule_name;
    char entity[256];
    const char *severity;
    const char *crm_id;
    double value;
    struct ri_buf subject, message, action;
};

static void finding_init(struct finding *f, struct rules *r, int id, const char *entity)
{
    const struct ri_rule_conf *rc = &r->env->conf->rules[id];
    memset(f, 0, sizeof(*f));
    f->rule = id;
    f->rule_name = rc->name;
    snprintf(f->entity, sizeof(f->entity), "%s", entity);
    f->severity = sev_static(rc->severity[0]         ? rc->severity
                             : id < RI_RULE__BUILTIN ? ri_rule_defs[id].severity
                                                     : "warning");
    f->value = RI_NAN;
    ri_buf_init(&f->subject, 4096);
    ri_buf_init(&f->message, 16384);
    ri_buf_init(&f->action, 4096);
}

static void finding_release(struct finding *f)
{
    ri_buf_release(&f->subject);
    ri_buf_release(&f->message);
    ri_buf_release(&f->action);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? ri_strdup(s) : NULL;
}

/* Appends one alert of f for recipient in role (skipped when that pair is already
 * there: a manager who is also the owner gets it once). */
static void send_to(struct rules *r, const struct finding *f, const char *recipient,
                    const char *role)
{
    struct ri_alert_list *l = r->env->out;
    const struct ri_rule_conf *rc = &r->env->conf->rules[f->rule];
    struct ri_alert *a;
    char key[512];
    if (!recipient || !*recipient)
        return;
    snprintf(key, sizeof(key), "%s:%s", f->rule_name, f->entity);
    {
        /* once per key and recipient: a map, since a large pipeline raises 100,000 */
        char seen[1024];
        int n = snprintf(seen, sizeof(seen), "%s\x1f%s", key, recipient), added = 0;
        if (n > 0 && (size_t)n < sizeof(seen))
            ri_strmap_put(&r->seen, seen, (size_t)n, 0, &added);
        else
            added = 1; /* too long to remember: keep it, as before */
        if (!added)
            return;
    }
    RI_GROW(l->v, l->cap, l->n + 1);
    a = &l->v[l->n++];
    memset(a, 0, sizeof(*a));
    a->key = ri_strdup(key);
    a->rule = ri_strdup(f->rule_name);
    a->subject = ri_strdup(f->subject.buf);
    a->message = ri_strdup(f->message.buf);
    a->action = dup_or_null(f->action.buf);
    a->crm_id = dup_or_null(f->crm_id);
    a->recipient = ri_strdup(recipient);
    a->role = ri_strdup(role);
    a->severity = f->severity;
    a->value = f->value;
    a->cooldown_days = rc->cooldown_days >= 0 ? rc->cooldown_days : r->env->conf->cooldown_days;
}

static const char *rep_manager(const struct rules *r, const char *rep)
{
    for (size_t i = 0; rep && i < r->n_reps; i++)
        if (!strcmp(r->rep_name[i], rep))
            return r->rep_manager[i];
    return NULL;
}

static int is_manager(const struct rules *r, const char *name)
{
    for (size_t i = 0; i < r->n_reps; i++)
        if (r->rep_manager[i] && !strcmp(r->rep_manager[i], name))
            return 1;
    return 0;
}

static int is_rep(const struct rules *r, const char *name)
{
    for (size_t i = 0; i < r->n_reps; i++)
        if (!strcmp(r->rep_name[i], name))
            return 1;
    return 0;
}

/* The role of a recipient named in a rule's `recipient` or a custom rule's column. */
static const char *role_of(const struct rules *r, const char *name)
{
    const struct ri_alerts_conf *a = r->env->conf;
    if (!strcasecmp(name, "leadership"))
        return "leadership";
    if (!strcasecmp(name, "admin"))
        return "admin";
    if (is_manager(r, name) || ri_alerts_address(a, name, "manager"))
        return "manager";
    if (is_rep(r, name) || ri_alerts_address(a, name, "rep"))
        return "rep";
    return "custom";
}

static int overridden(struct rules *r, const struct finding *f)
{
    const struct ri_rule_conf *rc = &r->env->conf->rules[f->rule];
    if (!rc->recipient[0])
        return 0;
    send_to(r, f, rc->recipient, role_of(r, rc->recipient));
    return 1;
}

/* A deal's alert: its owner; the owner's manager too when it is critical; leadership
 * when the deal has no owner. */
static void route_deal(struct rules *r, const struct finding *f, const char *owner)
{
    const char *mgr = rep_manager(r, owner);
    if (overridden(r, f))
        return;
    if (!owner || !*owner) {
        send_to(r, f, "leadership", "leadership");
        return;
    }
    send_to(r, f, owner, "rep");
    if (!strcmp(f->severity, "critical") && mgr && *mgr)
        send_to(r, f, mgr, "manager");
}

/* A pipeline alert: leadership, and the managers of the rep or region it is about. */
static void route_pipeline(struct rules *r, const struct finding *f, const char *dim,
                           const char *value)
{
    if (overridden(r, f))
        return;
    send_to(r, f, "leadership", "leadership");
    if (!dim || !value)
        return;
    if (!strcasecmp(dim, "owner") || !strcasecmp(dim, "rep")) {
        const char *mgr = rep_manager(r, value);
        if (mgr && *mgr)
            send_to(r, f, mgr, "manager");
    } else if (!strcasecmp(dim, "region")) {
        for (size_t i = 0; i < r->n_reps; i++)
            if (r->rep_region[i] && r->rep_manager[i] && *r->rep_manager[i] &&
                !strcmp(r->rep_region[i], value))
                send_to(r, f, r->rep_manager[i], "manager");
    }
}

static void route_system(struct rules *r, const struct finding *f)
{
    const char *who = ri_alerts_admin(r->env->conf);
    if (overridden(r, f))
        return;
    send_to(r, f, who, who);
}

/* ------------------------------------------------------------------ loading */

static char *col_dup(struct ri_stmt *s, int col)
{
    const char *t = ri_stmt_text(s, col, NULL);
    return t ? ri_strdup(t) : NULL;
}

static ri_err load_reps(struct rules *r)
{
    struct ri_stmt *s = NULL;
    size_t cap = 0;
    ri_err rc = ri_stmt_prepare(r->env->ctx, r->env->store,
                                "SELECT name, manager, region FROM reps ORDER BY name", &s);
    while (!rc && (rc = ri_stmt_step(r->env->ctx, s)) == RI_OK) {
        if (r->n_reps == cap) {
            RI_GROW(r->rep_name, cap, r->n_reps + 1);
            r->rep_manager = ri_realloc(r->rep_manager, cap * sizeof(char *));
            r->rep_region = ri_realloc(r->rep_region, cap * sizeof(char *));
        }
        r->rep_name[r->n_reps] = col_dup(s, 0);
        if (!r->rep_name[r->n_reps])
            r->rep_name[r->n_reps] = ri_strdup("");
        r->rep_manager[r->n_reps] = col_dup(s, 1);
        r->rep_region[r->n_reps] = col_dup(s, 2);
        r->n_reps++;
    }
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

/* The latest score run at or before as_of (run1) and the one before it (run0), with
 * each deal's P(win). */
static ri_err load_scores(struct rules *r)
{
    struct ri_ctx *ctx = r->env->ctx;
    struct ri_stmt *s = NULL;
    size_t n = ri_history_n_deals(r->h);
    int k = 0;
    ri_err rc;
    r->p1 = ri_malloc((n + 1) * sizeof(double));
    r->p0 = ri_malloc((n + 1) * sizeof(double));
    r->high = ri_calloc(n + 1, 1);
    for (size_t i = 0; i < n; i++)
        r->p1[i] = r->p0[i] = RI_NAN;
    rc = ri_stmt_prepare(ctx, r->env->store,
                         "SELECT id, as_of, signal FROM score_runs WHERE as_of <= ? "
                         "ORDER BY as_of DESC, id DESC LIMIT 2",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, r->env->as_of);
    while ((rc = ri_stmt_step(ctx, s)) == RI_OK && k < 2) {
        if (k == 0) {
            r->run1 = ri_stmt_i64(s, 0);
            r->run1_at = ri_stmt_time(s, 1);
            r->run1_signal = (int)ri_stmt_i64(s, 2);
        } else if (ri_stmt_time(s, 1) < r->run1_at) {
            r->run0 = ri_stmt_i64(s, 0);
            r->run0_at = ri_stmt_time(s, 1);
        }
        k++;
    }
    ri_stmt_free(s);
    s = NULL;
    if (rc != RI_OK && rc != RI_ERR_NOTFOUND)
        return rc;
    rc = RI_OK;
    for (int which = 0; which < 2 && !rc; which++) {
        int64_t run = which ? r->run0 : r->run1;
        double *p = which ? r->p0 : r->p1;
        if (!run)
            continue;
        rc = ri_stmt_prepare(ctx, r->env->store,
                             "SELECT d.crm_id, s.p_win, s.tier FROM scores s JOIN deals d ON "
                             "d.id = s.deal_id WHERE s.run_id = ?",
                             &s);
        if (rc)
            break;
        ri_stmt_bind_i64(s, 1, run);
        while ((rc = ri_stmt_step(ctx, s)) == RI_OK) {
            const char *id = ri_stmt_text(s, 0, NULL);
            const char *tier = ri_stmt_text(s, 2, NULL);
            ptrdiff_t i = id ? ri_history_find(r->h, id) : -1;
            if (i < 0)
                continue;
            p[i] = ri_stmt_f64(s, 1);
            if (!which && tier && !strcmp(tier, "high risk"))
                r->high[i] = 1;
        }
        ri_stmt_free(s);
        s = NULL;
        if (rc == RI_ERR_NOTFOUND)
            rc = RI_OK;
    }
    return rc;
}

/* The deal's name ("" if none) into out. */
static void deal_name(struct rules *r, const char *crm_id, char *out, size_t size)
{
    const char *t;
    out[0] = '\0';
    if (!r->deal_q && ri_stmt_prepare(r->env->ctx, r->env->store,
                                      "SELECT name FROM deals WHERE crm_id = ?", &r->deal_q))
        return;
    ri_stmt_reset(r->deal_q);
    ri_stmt_bind_text(r->deal_q, 1, crm_id, strlen(crm_id));
    if (ri_stmt_step(r->env->ctx, r->deal_q) == RI_OK && (t = ri_stmt_text(r->deal_q, 0, NULL)))
        snprintf(out, size, "%s", t);
    ri_stmt_reset(r->deal_q);
}

/* The first two reasons that lower the deal's P(win) in the latest score run, as
 * "a; b" (the scores' reasons JSON: [{"other":x},{"feature":..,"text":"... (-12 pts)"}]). */
static void deal_reasons(struct rules *r, const char *crm_id, char *out, size_t size)
{
    const char *js, *p;
    size_t o = 0;
    int got = 0;
    out[0] = '\0';
    if (!r->run1)
        return;
    if (!r->reason_q &&
        ri_stmt_prepare(r->env->ctx, r->env->store,
                        "SELECT s.reasons FROM scores s JOIN deals d ON d.id = s.deal_id WHERE "
                        "s.run_id = ? AND d.crm_id = ?",
                        &r->reason_q))
        return;
    ri_stmt_reset(r->reason_q);
    ri_stmt_bind_i64(r->reason_q, 1, r->run1);
    ri_stmt_bind_text(r->reason_q, 2, crm_id, strlen(crm_id));
    if (ri_stmt_step(r->env->ctx, r->reason_q) != RI_OK ||
        !(js = ri_stmt_text(r->reason_q, 0, NULL))) {
        ri_stmt_reset(r->reason_q);
        return;
    }
    for (p = strstr(js, "\"text\":\""); p && got < 2; p = strstr(p, "\"text\":\"")) {
        char t[256];
        size_t n = 0;
        p += 8;
        while (*p && *p != '"' && n + 1 < sizeof(t)) {
            if (*p == '\\' && p[1])
                p++;
            t[n++] = *p++;
        }
        t[n] = '\0';
        if (!strstr(t, "(-"))
            continue;
        o += (size_t)snprintf(out + o, o < size ? size - o : 0, "%s%s", got ? "; " : "", t);
        if (o >= size)
            break;
        got++;
    }
    ri_stmt_reset(r->reason_q);
}

static const char *owner_of(const struct rules *r, size_t i)
{
    int32_t o = r->st.owner[i];
    return o >= 0 ? ri_history_owner_name(r->h, o) : NULL;
}

static const char *stage_of(const struct rules *r, size_t i)
{
    int32_t s = r->st.stage[i];
    return s >= 0 ? ri_history_stage_name(r->h, s) : "(unknown stage)";
}

static int is_open(const struct rules *r, size_t i)
{
    return r->st.exists[i] && r->st.status[i] == RI_STATUS_OPEN;
}

/* The start of a deal alert: entity and subject "ID name". */
static void deal_finding(struct rules *r, struct finding *f, int id, size_t i, char *name,
                         size_t name_size)
{
    const char *crm = ri_history_deal_id(r->h, i);
    finding_init(f, r, id, crm);
    f->crm_id = crm;
    f->value = r->st.amount[i];
    deal_name(r, crm, name, name_size);
    ri_buf_addf(&f->subject, "%s%s%s: ", crm, name[0] ? " " : "", name);
}

/* ------------------------------------------------------------------ deal rules */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void rule_high_value_risk(struct rules *r)
{
    size_t n = ri_history_n_deals(r->h), m = 0;
    double *amt = ri_malloc((n + 1) * sizeof(double));
    double min_amount = param(r, RI_RULE_HIGH_VALUE_RISK, 0);
    double max_p = param(r, RI_RULE_HIGH_VALUE_RISK, 1);
    char a[32], b[32], d[16], sd[16];
    for (size_t i = 0; i < n; i++)
        if (is_open(r, i) && r->st.amount[i] > 0)
            amt[m++] = r->st.amount[i];
    if (isnan(min_amount) && m) {
        qsort(amt, m, sizeof(double), cmp_double);
        min_amount = ri_quantile_sorted(amt, m, 0.8);
    }
    ri_free(amt);
    r->high_value = min_amount;
    if (!rule(r, RI_RULE_HIGH_VALUE_RISK)->enabled)
        return;
    if (!r->run1) {
        note(r, "high_value_risk", "no score run yet ('revintel score')");
        return;
    }
    fmt_amount(min_amount, b, sizeof(b));
    fmt_date(r->run1_at, sd, sizeof(sd));
    for (size_t i = 0; i < n; i++) {
        struct finding f;
        char name[256], reasons[600];
        double p = r->p1[i], v = r->st.amount[i];
        if (!is_open(r, i) || isnan(p) || !(v >= min_amount) || !(p <= max_p))
            continue;
        deal_finding(r, &f, RI_RULE_HIGH_VALUE_RISK, i, name, sizeof(name));
        fmt_amount(v, a, sizeof(a));
        fmt_date(r->st.close_date[i], d, sizeof(d));
        deal_reasons(r, f.crm_id, reasons, sizeof(reasons));
        ri_buf_addf(&f.subject, "%s at %.0f %% chance to win", a, 100 * p);
        ri_buf_addf(&f.message,
                    "%s (%s, %s, close date %s, owner %s) has a %.0f %% chance to win by the "
                    "score of %s (at most %.0f %% raises this alert); it is among the largest "
                    "open deals (from %s up).",
                    name[0] ? name : f.crm_id, a, stage_of(r, i), d,
                    owner_of(r, i) ? owner_of(r, i) : "none", 100 * p, sd, 100 * max_p, b);
        if (reasons[0])
            ri_buf_addf(&f.message, " Main reasons: %s.", reasons);
        ri_buf_adds(&f.action,
                    "Review it with your manager this week: confirm budget, decision maker and "
                    "timeline with the buyer and agree a mutual close plan; if the buyer will "
                    "not commit to a next step, move the close date or close it lost.");
        route_deal(r, &f, owner_of(r, i));
        finding_release(&f);
    }
}

/* P90 of the days won deals spent in each open stage (completed stays), NAN where fewer
 * than min_won won deals passed through it. */
static ri_err won_dwell_p90(struct rules *r, double min_won, double *p90, size_t *cnt)
{
    size_t ns = ri_history_n_stages(r->h), n = ri_history_n_deals(r->h);
    double **v = ri_calloc(ns + 1, sizeof(double *));
    size_t *cap = ri_calloc(ns + 1, sizeof(size_t));
    struct ri_path_buf pb = RI_PATH_BUF_INIT;
    ri_err rc = RI_OK;
    for (size_t k = 0; k < ns; k++)
        cnt[k] = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!r->st.exists[i] || r->st.status[i] != RI_STATUS_WON)
            continue;
        rc = ri_history_path_get(r->h, i, r->env->as_of, &pb);
        for (size_t k = 0; !rc && k < pb.n; k++) {
            const struct ri_stage_visit *sv = &pb.v[k];
            size_t s = (size_t)sv->stage;
            if (sv->stage < 0 || sv->entered == RI_TIME_NONE || sv->left == RI_TIME_NONE ||
                ri_history_stage_role(r->h, sv->stage) != RI_STATUS_OPEN)
                continue;
            RI_GROW(v[s], cap[s], cnt[s] + 1);
            v[s][cnt[s]++] = days_between(sv->entered, sv->left);
        }
    }
    for (size_t k = 0; k < ns; k++) {
        p90[k] = cnt[k] >= (size_t)min_won && cnt[k] ? ri_quantile(v[k], cnt[k], 0.9) : RI_NAN;
        ri_free(v[k]);
    }
    ri_path_buf_release(&pb);
    ri_free(v);
    ri_free(cap);
    return rc;
}

static ri_err rule_stalled(struct rules *r)
{
    size_t ns = ri_history_n_stages(r->h), n = ri_history_n_deals(r->h);
    double *p90 = ri_malloc((ns + 1) * sizeof(double));
    size_t *cnt = ri_malloc((ns + 1) * sizeof(size_t));
    double factor = param(r, RI_RULE_STALLED, 0);
    ri_err rc = won_dwell_p90(r, param(r, RI_RULE_STALLED, 1), p90, cnt);
    for (size_t i = 0; i < n && !rc; i++) {
        struct finding f;
        char name[256], a[32];
        int32_t s = r->st.stage[i];
        double days;
        if (!is_open(r, i) || s < 0 || isnan(p90[s]) || r->st.stage_since[i] == RI_TIME_NONE ||
            r->zombie[i])
            continue;
        days = days_between(r->st.stage_since[i], r->env->as_of);
        if (!(days > factor * p90[s]))
            continue;
        deal_finding(r, &f, RI_RULE_STALLED, i, name, sizeof(name));
        fmt_amount(r->st.amount[i], a, sizeof(a));
        ri_buf_addf(&f.subject, "%.0f days in %s", days, stage_of(r, i));
        ri_buf_addf(&f.message,
                    "%s (%s, owner %s) has been in %s for %.0f days; won deals left %s within "
                    "%.0f days (P90 of %zu won deals)%s.",
                    name[0] ? name : f.crm_id, a, owner_of(r, i) ? owner_of(r, i) : "none",
                    stage_of(r, i), days, stage_of(r, i), p90[s], cnt[s],
                    factor > 1.0 || factor < 1.0 ? " times the rule's factor" : "");
        ri_buf_adds(&f.action, "Call the buyer this week and confirm budget and timeline; if "
                               "there is no next step, move the close date or close it lost.");
        route_deal(r, &f, owner_of(r, i));
        finding_release(&f);
    }
    ri_free(p90);
    ri_free(cnt);
    return rc;
}

static int name_in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    while (*p) {
        const char *e;
        size_t len;
        while (*p == ' ' || *p == ',')
            p++;
        e = p + strcspn(p, ",");
        len = (size_t)(e - p);
        while (len && p[len - 1] == ' ')
            len--;
        if (len && len == n && !strncasecmp(p, name, n))
            return 1;
        p = e;
    }
    return 0;
}

static int named_like(const char *name, const char *part)
{
    char low[128];
    size_t i;
    for (i = 0; name[i] && i + 1 < sizeof(low); i++)
        low[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    low[i] = '\0';
    return strstr(low, part) != NULL;
}

/* The qualification stages: configured, else the open stages named like "qualif". */
static size_t qualification_stages(struct rules *r, uint8_t *q)
{
    const char *list = rule(r, RI_RULE_SKIPPED_QUALIFICATION)->stages;
    size_t ns = ri_history_n_stages(r->h), found = 0;
    for (size_t k = 0; k < ns; k++) {
        const char *nm = ri_history_stage_name(r->h, (int32_t)k);
        if (list[0])
            q[k] = (uint8_t)name_in_list(list, nm);
        else
            q[k] = ri_history_stage_role(r->h, (int32_t)k) == RI_STATUS_OPEN &&
                   named_like(nm, "qualif");
        found += q[k];
    }
    return found;
}

static ri_err rule_skipped_qualification(struct rules *r)
{
    size_t ns = ri_history_n_stages(r->h), n = ri_history_n_deals(r->h);
    uint8_t *q = ri_calloc(ns + 1, 1);
    struct ri_path_buf pb = RI_PATH_BUF_INIT;
    double max_days = param(r, RI_RULE_SKIPPED_QUALIFICATION, 0);
    char qnames[512] = "";
    ri_err rc = RI_OK;
    if (!qualification_stages(r, q)) {
        note(r, "skipped_qualification",
             "no qualification stage (none named like Qualification; set [rule."
             "skipped_qualification] stages)");
        goto out;
    }
    for (size_t k = 0, o = 0; k < ns; k++)
        if (q[k] && o < sizeof(qnames))
            o += (size_t)snprintf(qnames + o, sizeof(qnames) - o, "%s%s", o ? " or " : "",
                                  ri_history_stage_name(r->h, (int32_t)k));
    for (size_t i = 0; i < n && !rc; i++) {
        struct finding f;
        char name[256], a[32];
        size_t late = 0;
        int qualified = 0;
        ri_time start;
        double days;
        if (!is_open(r, i) || r->st.stage[i] < 0 || !ri_history_stage_is_late(r->h, r->st.stage[i]))
            continue;
        rc = ri_history_path_get(r->h, i, r->env->as_of, &pb);
        if (rc)
            break;
        while (late < pb.n &&
               !(pb.v[late].stage >= 0 && ri_history_stage_is_late(r->h, pb.v[late].stage)))
            late++;
        /* a move into the late stage must have been seen: a deal first seen there says
         * nothing about the steps before */
        if (late == 0 || late >= pb.n || pb.v[late].entered == RI_TIME_NONE)
            continue;
        for (size_t k = 0; k < late; k++)
            qualified |= pb.v[k].stage >= 0 && q[pb.v[k].stage];
        start = ri_history_created(r->h, i);
        if (start == RI_TIME_NONE)
            start = pb.v[0].entered;
        if (qualified || start == RI_TIME_NONE)
            continue;
        days = days_between(start, pb.v[late].entered);
        if (days > max_days)
            continue;
        deal_finding(r, &f, RI_RULE_SKIPPED_QUALIFICATION, i, name, sizeof(name));
        fmt_amount(r->st.amount[i], a, sizeof(a));
        ri_buf_addf(&f.subject, "in %s without %s", stage_of(r, i), qnames);
        ri_buf_addf(&f.message,
                    "%s (%s, owner %s) reached %s %.0f days after it entered the pipeline "
                    "without passing %s.",
                    name[0] ? name : f.crm_id, a, owner_of(r, i) ? owner_of(r, i) : "none",
                    ri_history_stage_name(r->h, pb.v[late].stage), days, qnames);
        ri_buf_adds(&f.action,
                    "Qualify it now: confirm budget, authority, need and timing with the buyer "
                    "before more work goes into the proposal; if it does not qualify, close it "
                    "lost.");
        route_deal(r, &f, owner_of(r, i));
        finding_release(&f);
    }
out:
    ri_path_buf_release(&pb);
    ri_free(q);
    return rc;
}

static void rule_zombie(struct rules *r)
{
    size_t n = ri_history_n_deals(r->h);
    double lim = param(r, RI_RULE_ZOMBIE, 0);
    for (size_t i = 0; i < n; i++) {
        struct finding f;
        char name[256], a[32], d[16];
        double over;
        if (!is_open(r, i) || r->st.close_date[i] == RI_TIME_NONE)
            continue;
        over = days_between(r->st.close_date[i], r->env->as_of);
        if (!(over > lim))
            continue;
        r->zombie[i] = 1;
        deal_finding(r, &f, RI_RULE_ZOMBIE, i, name, sizeof(name));
        fmt_amount(r->st.amount[i], a, sizeof(a));
        fmt_date(r->st.close_date[i], d, sizeof(d));
        ri_buf_addf(&f.subject, "close date passed %.0f days ago", over);
        ri_buf_addf(&f.message,
                    "%s (%s, %s, owner %s) is still open although its close date, %s, passed "
                    "%.0f days ago; the forecast keeps counting it.",
                    name[0] ? name : f.crm_id, a, stage_of(r, i),
                    owner_of(r, i) ? owner_of(r, i) : "none", d, over);
        ri_buf_adds(&f.action, "Ask the buyer for a real close date this week; if there is none, "
                               "close it lost so that the pipeline and the forecast stop "
                               "counting it.");
        route_deal(r, &f, owner_of(r, i));
        finding_release(&f);
    }
}

static void rule_pushed(struct rules *r)
{
    size_t n = ri_history_n_deals(r->h);
    double times = param(r, RI_RULE_PUSHED, 0);
    for (size_t i = 0; i < n; i++) {
        struct finding f;
        char name[256], a[32], d0[16], d1[16];
        double k;
        if (!is_open(r, i))
            continue;
        k = (double)r->st.n_close_pushes[i];
        if (!(k >= times) || k < 1)
            continue;
        deal_finding(r, &f, RI_RULE_PUSHED, i, name, sizeof(name));
        if (k >= 2 * times && !rule(r, RI_RULE_PUSHED)->severity[0])
            f.severity = "critical";
        fmt_amount(r->st.amount[i], a, sizeof(a));
        fmt_date(r->st.first_close_date[i], d0, sizeof(d0));
        fmt_date(r->st.close_date[i], d1, sizeof(d1));
        ri_buf_addf(&f.subject, "close date pushed %.0f times", k);
        ri_buf_addf(&f.message,
                    "%s (%s, %s, owner %s) has had its close date moved later %.0f times, "
                    "from %s to %s.",
                    name[0] ? name : f.crm_id, a, stage_of(r, i),
                    owner_of(r, i) ? owner_of(r, i) : "none", k, d0, d1);
        ri_buf_adds(&f.action, "Agree a mutual close plan with the buyer, with a date for each "
                               "remaining step; if the date moves again, take the deal out of "
                               "the commit.");
        route_deal(r, &f, owner_of(r, i));
        finding_release(&f);
    }
}

static void rule_risk_jump(struct rules *r)
{
    size_t n = ri_history_n_deals(r->h);
    double pts = param(r, RI_RULE_RISK_JUMP, 0);
    char s0[16], s1[16];
    if (!r->run1 || !r->run0) {
        note(r, "risk_jump", "needs two score runs (one so far or none)");
        return;
    }
    fmt_date(r->run0_at, s0, sizeof(s0));
    fmt_date(r->run1_at, s1, sizeof(s1));
    for (size_t i = 0; i < n; i++) {
        struct finding f;
        char name[256], a[32], reasons[600];
        double drop = r->p0[i] - r->p1[i];
        if (!is_open(r, i) || isnan(drop) || !(drop >= pts - 1e-12))
            continue;
        deal_finding(r, &f, RI_RULE_RISK_JUMP, i, name, sizeof(name));
        if (r->st.amount[i] >= r->high_value && !rule(r, RI_RULE_RISK_JUMP)->severity[0])
            f.severity = "critical";
        fmt_amount(r->st.amount[i], a, sizeof(a));
        deal_reasons(r, f.crm_id, reasons, sizeof(reasons));
        ri_buf_addf(&f.subject, "chance to win fell %.0f points to %.0f %%", 100 * drop,
                    100 * r->p1[i]);
        ri_buf_addf(&f.message,
                    "%s (%s, %s, owner %s): its chance to win fell from %.0f %% on %s to %.0f %% "
                    "on %s.",
                    name[0] ? name : f.crm_id, a, stage_of(r, i),
                    owner_of(r, i) ? owner_of(r, i) : "none", 100 * r->p0[i], s0, 100 * r->p1[i],
                    s1);
        if (reasons[0])
            ri_buf_addf(&f.message, " Main reasons now: %s.", reasons);
        ri_buf_adds(&f.action, "Find out what changed (the reasons above) and talk to the buyer "
                               "this week, before the deal slips further.");
        route_deal(r, &f, owner_of(r, i));
        finding_release(&f);
    }
}

/* ------------------------------------------------------------------ pipeline rules */

static int quarterly(const struct rules *r)
{
    int p = r->env->conf->period;
    if (p < 0)
        return r->env->config ? !r->env->config->monthly : 1;
    return p == 0;
}

static ri_err rule_segment_winrate_drop(struct rules *r)
{
    struct ri_ctx *ctx = r->env->ctx;
    struct ri_stmt *s = NULL;
    int64_t run = 0;
    char p0[32] = "", p1[32] = "";
    double min_drop = param(r, RI_RULE_SEGMENT_WINRATE_DROP, 0);
    ri_err rc = ri_stmt_prepare(ctx, r->env->store,
                                "SELECT id, p0, p1 FROM diag_runs WHERE filter IS NULL AND "
                                "(as_of IS NULL OR as_of <= ?) ORDER BY id DESC LIMIT 1",
                                &s);
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, r->env->as_of);
    rc = ri_stmt_step(ctx, s);
    if (rc == RI_OK) {
        const char *a = ri_stmt_text(s, 1, NULL), *b = ri_stmt_text(s, 2, NULL);
        run = ri_stmt_i64(s, 0);
        snprintf(p0, sizeof(p0), "%s", a ? a : "the period before");
        snprintf(p1, sizeof(p1), "%s", b ? b : "the last period");
    }
    ri_stmt_free(s);
    s = NULL;
    if (rc == RI_ERR_NOTFOUND) {
        note(r, "segment_winrate_drop", "no diagnosis yet ('revintel diagnose')");
        return RI_OK;
    }
    if (rc)
        return rc;
    rc = ri_stmt_prepare(ctx, r->env->store,
                         "SELECT dim, segment, n0, w0, n1, w1, r0, r1, q FROM diag_decomposition "
                         "WHERE run_id = ? AND significant = 1 AND small = 0 AND r1 < r0 AND "
                         "instr(segment, ' & ') = 0 ORDER BY r1 - r0, segment",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_i64(s, 1, run);
    while ((rc = ri_stmt_step(ctx, s)) == RI_OK) {
        struct finding f;
        const char *dim = ri_stmt_text(s, 0, NULL), *seg = ri_stmt_text(s, 1, NULL);
        const char *eq = seg ? strchr(seg, '=') : NULL;
        double r0 = ri_stmt_f64(s, 6), r1 = ri_stmt_f64(s, 7);
        if (!dim || !seg || !(r0 - r1 >= min_drop))
            continue;
        finding_init(&f, r, RI_RULE_SEGMENT_WINRATE_DROP, seg);
        ri_buf_addf(&f.subject, "win rate of %s fell from %.0f %% to %.0f %%", seg, 100 * r0,
                    100 * r1);
        ri_buf_addf(&f.message,
                    "The win rate of %s fell from %.1f %% (%lld won of %lld closed) in %s to "
                    "%.1f %% (%lld of %lld) in %s; significant after correcting for every "
                    "segment tested (q = %.3g).",
                    seg, 100 * r0, (long long)ri_stmt_i64(s, 3), (long long)ri_stmt_i64(s, 2), p0,
                    100 * r1, (long long)ri_stmt_i64(s, 5), (long long)ri_stmt_i64(s, 4), p1,
                    ri_stmt_f64(s, 8));
        ri_buf_addf(&f.action,
                    "Review the deals %s lost in %s with its managers (loss reasons, stage of "
                    "exit, competitors) and agree one change to try this period; 'revintel "
                    "diagnose --segment %s' drills down.",
                    seg, p1, seg);
        route_pipeline(r, &f, dim, eq ? eq + 1 : NULL);
        finding_release(&f);
    }
    ri_stmt_free(s);
    return rc == RI_ERR_NOTFOUND ? RI_OK : rc;
}

static void rule_late_stage_losses(struct rules *r)
{
    int qtr = quarterly(r);
    int32_t key = ri_period_key(r->env->as_of, qtr);
    ri_time s0, e0, s1, e1;
    char l0[16], l1[16];
    uint64_t n[2] = {0, 0}, lost[2] = {0, 0};
    size_t nd = ri_history_n_deals(r->h), ns = ri_history_n_stages(r->h), nlate = 0;
    double alpha = param(r, RI_RULE_LATE_STAGE_LOSSES, 0);
    double min_n = param(r, RI_RULE_LATE_STAGE_LOSSES, 1);
    double pv, z, r0, r1;
    struct finding f;
    for (size_t k = 0; k < ns; k++)
        nlate += (size_t)ri_history_stage_is_late(r->h, (int32_t)k);
    if (!nlate) {
        note(r, "late_stage_losses", "no late stage is known (configure the stages)");
        return;
    }
    ri_period_bounds(key - 2, qtr, &s0, &e0, l0, sizeof(l0));
    ri_period_bounds(key - 1, qtr, &s1, &e1, l1, sizeof(l1));
    for (size_t i = 0; i < nd; i++) {
        ri_time c = r->st.close_date[i];
        int w;
        if (!r->st.exists[i] || r->st.status[i] == RI_STATUS_OPEN || !r->st.reached_late[i] ||
            c == RI_TIME_NONE)
            continue;
        w = c >= s0 && c < e0 ? 0 : c >= s1 && c < e1 ? 1 : -1;
        if (w < 0)
            continue;
        n[w]++;
        lost[w] += r->st.status[i] == RI_STATUS_LOST;
    }
    if ((double)n[0] < min_n || (double)n[1] < min_n)
        return;
    r0 = (double)lost[0] / (double)n[0];
    r1 = (double)lost[1] / (double)n[1];
    pv = ri_two_prop_test(lost[0], n[0], lost[1], n[1], &z);
    if (!(r1 > r0) || !(pv < alpha))
        return;
    finding_init(&f, r, RI_RULE_LATE_STAGE_LOSSES, "all");
    ri_buf_addf(&f.subject, "late-stage losses rose from %.0f %% to %.0f %%", 100 * r0, 100 * r1);
    ri_buf_addf(&f.message,
                "Of the deals that reached a late stage and closed in %s, %.1f %% were lost "
                "(%llu of %llu), against %.1f %% (%llu of %llu) in %s (two-proportion test, "
                "p = %.2g).",
                l1, 100 * r1, (unsigned long long)lost[1], (unsigned long long)n[1], 100 * r0,
                (unsigned long long)lost[0], (unsigned long long)n[0], l0, pv);
    ri_buf_addf(&f.action,
                "Review the late-stage losses of %s with the managers (loss reasons, pricing, "
                "competitors at the end) and coach the steps where they cluster; 'revintel "
                "diagnose funnel' shows where deals leave.",
                l1);
    route_pipeline(r, &f, NULL, NULL);
    finding_release(&f);
}

static ri_err rule_forecast_concentration(struct rules *r)
{
    struct ri_ctx *ctx = r->env->ctx;
    struct ri_stmt *s = NULL;
    double share = param(r, RI_RULE_FORECAST_CONCENTRATION, 0), total, risky;
    int64_t nrisky;
    char label[32] = "", a[32], b[32];
    struct finding f;
    ri_err rc;
    if (!r->run1) {
        note(r, "forecast_concentration", "no score run yet ('revintel score')");
        return RI_OK;
    }
    if (!r->run1_signal) {
        note(r, "forecast_concentration", "the model found no signal: no deal is rated");
        return RI_OK;
    }
    rc = ri_stmt_prepare(
        ctx, r->env->store,
        "WITH fr AS (SELECT id, period FROM forecast_runs WHERE as_of = (SELECT max(as_of) "
        "FROM forecast_runs WHERE as_of <= ?1) ORDER BY start LIMIT 1) "
        "SELECT fr.period, sum(f.expected), sum(CASE WHEN s.tier = 'high risk' THEN f.expected "
        "ELSE 0 END), sum(s.tier = 'high risk') FROM fr JOIN forecast_deals f ON f.run_id = "
        "fr.id LEFT JOIN scores s ON s.run_id = ?2 AND s.deal_id = f.deal_id GROUP BY fr.id",
        &s);
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, r->env->as_of);
    ri_stmt_bind_i64(s, 2, r->run1);
    rc = ri_stmt_step(ctx, s);
    if (rc == RI_ERR_NOTFOUND) {
        ri_stmt_free(s);
        note(r, "forecast_concentration", "no forecast yet ('revintel forecast')");
        return RI_OK;
    }
    if (rc) {
        ri_stmt_free(s);
        return rc;
    }
    snprintf(label, sizeof(label), "%s", ri_stmt_text(s, 0, NULL) ? ri_stmt_text(s, 0, NULL) : "");
    total = ri_stmt_f64(s, 1);
    risky = ri_stmt_f64(s, 2);
    nrisky = ri_stmt_i64(s, 3);
    ri_stmt_free(s);
    if (!(total > 0) || !(risky / total >= share))
        return RI_OK;
    finding_init(&f, r, RI_RULE_FORECAST_CONCENTRATION, "all");
    f.value = risky;
    fmt_amount(risky, a, sizeof(a));
    fmt_amount(total, b, sizeof(b));
    ri_buf_addf(&f.subject, "%.0f %% of the %s forecast from open deals is in high-risk deals",
                100 * risky / total, label);
    ri_buf_addf(&f.message,
                "%.0f %% of the expected revenue of the open deals in the %s forecast (%s of "
                "%s) sits in %lld deals the model rates high risk (the rule's limit: %.0f %%).",
                100 * risky / total, label, a, b, (long long)nrisky, 100 * share);
    ri_buf_adds(&f.action, "Go through the high-risk deals of the forecast with their owners this "
                           "week ('revintel score', largest first): firm up the ones that can "
                           "still be won and take the rest out of the commit.");
    route_pipeline(r, &f, NULL, NULL);
    finding_release(&f);
    return RI_OK;
}

static void rule_coverage(struct rules *r)
{
    double quota = r->env->conf->quota, won = 0, pipe = 0, left, ratio;
    double want = param(r, RI_RULE_COVERAGE, 0);
    int qtr = quarterly(r);
    ri_time s, e;
    char label[16], a[32], b[32], c[32], d[32];
    size_t n = ri_history_n_deals(r->h), np = 0;
    struct finding f;
    if (isnan(quota))
        return;
    ri_period_bounds(ri_period_key(r->env->as_of, qtr), qtr, &s, &e, label, sizeof(label));
    for (size_t i = 0; i < n; i++) {
        ri_time cd = r->st.close_date[i];
        double v = r->st.amount[i];
        if (!r->st.exists[i] || cd == RI_TIME_NONE || cd < s || cd >= e || isnan(v))
            continue;
        if (r->st.status[i] == RI_STATUS_WON)
            won += v;
        else if (r->st.status[i] == RI_STATUS_OPEN) {
            pipe += v;
            np++;
        }
    }
    left = quota - won;
    if (!(left > 0))
        return;
    ratio = pipe / left;
    if (!(ratio < want))
        return;
    finding_init(&f, r, RI_RULE_COVERAGE, "all");
    if (ratio < 1.0 && !rule(r, RI_RULE_COVERAGE)->severity[0])
        f.severity = "critical";
    f.value = left;
    fmt_amount(pipe, a, sizeof(a));
    fmt_amount(left, b, sizeof(b));
    fmt_amount(quota, c, sizeof(c));
    fmt_amount(won, d, sizeof(d));
    ri_buf_addf(&f.subject, "pipeline coverage of %s is %.1fx", label, ratio);
    ri_buf_addf(&f.message,
                "Open pipeline closing in %s is %s in %zu deals against %s still to win of the "
                "%s quota (won so far %s): coverage %.1fx, below the %.1fx the rule asks.",
                label, a, np, b, c, d, ratio, want);
    ri_buf_adds(&f.action,
                "Ask each rep for the deals that can still close this period and pull them "
                "forward; agree with the managers how the rest of the gap is filled (new "
                "pipeline, upsell to current customers).");
    route_pipeline(r, &f, NULL, NULL);
    finding_release(&f);
}

static void rule_pipeline_created_falling(struct rules *r)
{
    int qtr = quarterly(r);
    int32_t key = ri_period_key(r->env->as_of, qtr);
    size_t n = ri_history_n_deals(r->h), n_open = 0;
    double amt[5] = {0, 0, 0, 0, 0}, cnt[5] = {0, 0, 0, 0, 0}, sq = 0, nsq = 0;
    double zlim = param(r, RI_RULE_PIPELINE_CREATED_FALLING, 0);
    double min_drop = param(r, RI_RULE_PIPELINE_CREATED_FALLING, 1);
    double mean = 0, var = 0, pois, sd, z, drop;
    ri_time start[5], end[5], first = RI_TIME_NONE;
    char label[5][16], a[32], b[32];
    struct finding f;
    /* periods key-5 .. key-1: the four before and the last complete one */
    for (int k = 0; k < 5; k++)
        ri_period_bounds(key - 5 + k, qtr, &start[k], &end[k], label[k], sizeof(label[k]));
    for (size_t i = 0; i < n; i++) {
        ri_time c = ri_history_created(r->h, i);
        double v = r->st.first_amount[i];
        if (!r->st.exists[i] || c == RI_TIME_NONE)
            continue;
        n_open += r->st.status[i] == RI_STATUS_OPEN;
        if (first == RI_TIME_NONE || c < first)
            first = c;
        for (int k = 0; k < 5; k++) {
            if (c < start[k] || c >= end[k])
                continue;
            cnt[k] += 1;
            if (!isnan(v)) {
                amt[k] += v;
                if (k < 4) {
                    sq += v * v;
                    nsq += 1;
                }
            }
        }
    }
    /* the store must reach back over all five periods, and hold a pipeline: an export
     * of closed deals alone lacks the deals created lately that are still open */
    if (first == RI_TIME_NONE || first > start[0] + 15 * RI_DAY || nsq < 1)
        return;
    if (!n_open) {
        note(r, "pipeline_created_falling",
             "the store holds no open deal: only closed deals "
             "were exported, pipeline created is not judged");
        return;
    }
    for (int k = 0; k < 4; k++)
        mean += amt[k] / 4;
    for (int k = 0; k < 4; k++)
        var += (amt[k] - mean) * (amt[k] - mean) / 3;
    /* a steady flow of deals still varies: a period's sum of a Poisson number of deals
     * has variance (deals a period) x E[amount^2]; the spread of four periods alone would
     * call small dips significant */
    pois = (cnt[0] + cnt[1] + cnt[2] + cnt[3]) / 4 * (sq / nsq);
    sd = sqrt(var > pois ? var : pois);
    if (!(mean > 0) || !(sd > 0))
        return;
    z = (amt[4] - mean) / sd;
    drop = (mean - amt[4]) / mean;
    if (!(z < zlim) || !(drop >= min_drop))
        return;
    finding_init(&f, r, RI_RULE_PIPELINE_CREATED_FALLING, "all");
    f.value = mean - amt[4];
    fmt_amount(amt[4], a, sizeof(a));
    fmt_amount(mean, b, sizeof(b));
    ri_buf_addf(&f.subject, "pipeline created in %s fell %.0f %% below the 4 periods before",
                label[4], 100 * drop);
    ri_buf_addf(&f.message,
                "Pipeline created in %s: %s in %.0f deals, against %s a period on average from "
                "%s to %s (z = %.1f, %.0f %% lower).",
                label[4], a, cnt[4], b, label[0], label[3], z, 100 * drop);
    ri_buf_adds(&f.action,
                "Find the sources that fell ('revintel diagnose pipeline' by lead source and "
                "region) and agree with marketing and the managers where next period's "
                "pipeline comes from.");
    route_pipeline(r, &f, NULL, NULL);
    finding_release(&f);
}

/* ------------------------------------------------------------------ system rules */

static ri_err rule_data_quality(struct rules *r)
{
    struct ri_ctx *ctx = r->env->ctx;
    struct ri_stmt *s = NULL;
    double share = param(r, RI_RULE_DATA_QUALITY, 0);
    int64_t nread = 0, nq = 0, failed = 0;
    char reason[128] = "", fail_detail[256] = "";
    ri_time since = r->env->now - RI_DAY;
    ri_err rc = ri_stmt_prepare(ctx, r->env->store,
                                "SELECT coalesce(sum(rows_read), 0), coalesce(sum("
                                "rows_quarantined), 0) FROM snapshots WHERE ingested_at > ?1 AND "
                                "ingested_at <= ?2",
                                &s);
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, since);
    ri_stmt_bind_time(s, 2, r->env->now);
    if (ri_stmt_step(ctx, s) == RI_OK) {
        nread = ri_stmt_i64(s, 0);
        nq = ri_stmt_i64(s, 1);
    }
    ri_stmt_free(s);
    s = NULL;
    rc = ri_stmt_prepare(ctx, r->env->store,
                         "SELECT q.reason, count(*) FROM quarantine q JOIN snapshots n ON n.id = "
                         "q.snapshot_id WHERE n.ingested_at > ?1 AND n.ingested_at <= ?2 GROUP BY "
                         "q.reason ORDER BY 2 DESC, 1 LIMIT 1",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, since);
    ri_stmt_bind_time(s, 2, r->env->now);
    if (ri_stmt_step(ctx, s) == RI_OK && ri_stmt_text(s, 0, NULL))
        snprintf(reason, sizeof(reason), "%s (%lld rows)", ri_stmt_text(s, 0, NULL),
                 (long long)ri_stmt_i64(s, 1));
    ri_stmt_free(s);
    s = NULL;
    /* the daily run records each ingest as a step */
    rc = ri_stmt_prepare(ctx, r->env->store,
                         "SELECT count(*), max(coalesce(detail, '')) FROM run_steps WHERE step "
                         "LIKE 'ingest%' AND status IN ('failed', 'error') AND started_at > ?1 "
                         "AND started_at <= ?2",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_time(s, 1, since);
    ri_stmt_bind_time(s, 2, r->env->now);
    if (ri_stmt_step(ctx, s) == RI_OK) {
        failed = ri_stmt_i64(s, 0);
        if (ri_stmt_text(s, 1, NULL))
            snprintf(fail_detail, sizeof(fail_detail), "%s", ri_stmt_text(s, 1, NULL));
    }
    ri_stmt_free(s);
    if (failed > 0) {
        struct finding f;
        finding_init(&f, r, RI_RULE_DATA_QUALITY, "ingest_failed");
        if (!rule(r, RI_RULE_DATA_QUALITY)->severity[0])
            f.severity = "critical";
        ri_buf_addf(&f.subject, "%lld ingest%s of the daily run failed", (long long)failed,
                    failed > 1 ? "s" : "");
        ri_buf_addf(&f.message,
                    "%lld ingest%s failed in the last day%s%s: nothing of %s was "
                    "loaded, so today's figures rest on older data.",
                    (long long)failed, failed > 1 ? "s" : "", fail_detail[0] ? ": " : "",
                    fail_detail, failed > 1 ? "them" : "it");
        ri_buf_adds(&f.action, "Read the run's log ('revintel run' output), fix the export or "
                               "the mapping, and run the job again.");
        route_system(r, &f);
        finding_release(&f);
    }
    if (nread > 0 && (double)nq / (double)nread > share) {
        struct finding f;
        finding_init(&f, r, RI_RULE_DATA_QUALITY, "quarantine");
        ri_buf_addf(&f.subject, "today's ingest quarantined %.1f %% of its rows",
                    100.0 * (double)nq / (double)nread);
        ri_buf_addf(&f.message,
                    "The ingests of the last day quarantined %lld of %lld rows (%.1f %%, the "
                    "rule's limit %.1f %%)%s%s.",
                    (long long)nq, (long long)nread, 100.0 * (double)nq / (double)nread,
                    100 * share, reason[0] ? "; most for " : "", reason);
        ri_buf_adds(&f.action, "See 'revintel quality' for the rows and their reasons; fix the "
                               "export or the column mapping and ingest again.");
        route_system(r, &f);
        finding_release(&f);
    }
    return RI_OK;
}

static ri_err rule_drift(struct rules *r)
{
    struct ri_ctx *ctx = r->env->ctx;
    struct ri_stmt *s = NULL;
    int64_t model = 0, first_run = 0;
    ri_time first_at = RI_TIME_NONE;
    double max_psi = param(r, RI_RULE_DRIFT, 0), max_ece = param(r, RI_RULE_DRIFT, 1);
    double min_closed = param(r, RI_RULE_DRIFT, 2), psi = RI_NAN, ece = RI_NAN;
    double *p = NULL, *q = NULL;
    uint8_t *y = NULL;
    size_t np = 0, nq = 0, cp = 0, cq = 0;
    char d0[16], msg[512] = "";
    struct finding f;
    ri_err rc = ri_stmt_prepare(ctx, r->env->store,
                                "SELECT id FROM models WHERE active = 1 AND kind = 'risk' ORDER "
                                "BY id DESC LIMIT 1",
                                &s);
    if (rc)
        return rc;
    if (ri_stmt_step(ctx, s) == RI_OK)
        model = ri_stmt_i64(s, 0);
    ri_stmt_free(s);
    s = NULL;
    if (!model || !r->run1)
        return RI_OK;
    /* the score distribution: the model's first score run against the latest */
    rc = ri_stmt_prepare(ctx, r->env->store,
                         "SELECT id, as_of FROM score_runs WHERE model_id = ? ORDER BY as_of, id "
                         "LIMIT 1",
                         &s);
    if (rc)
        return rc;
    ri_stmt_bind_i64(s, 1, model);
    if (ri_stmt_step(ctx, s) == RI_OK) {
        first_run = ri_stmt_i64(s, 0);
        first_at = ri_stmt_time(s, 1);
    }
    ri_stmt_free(s);
    s = NULL;
    if (first_run && first_run != r->run1 && first_at < r->run1_at) {
        rc = ri_stmt_prepare(ctx, r->env->store,
                             "SELECT run_id, p_win FROM scores WHERE run_id IN (?, ?) AND p_win "
                             "IS NOT NULL",
                             &s);
        if (rc)
            return rc;
        ri_stmt_bind_i64(s, 1, first_run);
        ri_stmt_bind_i64(s, 2, r->run1);
        while (ri_stmt_step(ctx, s) == RI_OK) {
            if (ri_stmt_i64(s, 0) == first_run) {
                RI_GROW(p, cp, np + 1);
                p[np++] = ri_stmt_f64(s, 1);
            } else {
                RI_GROW(q, cq, nq + 1);
                q[nq++] = ri_stmt_f64(s, 1);
            }
        }
        ri_stmt_free(s);
        s = NULL;
        if (np >= 30 && nq >= 30)
            psi = ri_psi(p, np, q, nq);
    }
    /* calibration: each deal's first score by this model against how it closed since */
    ri_free(p);
    p = NULL;
    np = cp = 0;
    rc = ri_stmt_prepare(ctx, r->env->store,
                         "SELECT min(r.as_of), s.p_win, d.status FROM scores s JOIN score_runs r "
                         "ON r.id = s.run_id JOIN deals d ON d.id = s.deal_id WHERE r.model_id = "
                         "? AND r.as_of < ? AND d.status IN ('won', 'lost') AND s.p_win IS NOT "
                         "NULL GROUP BY s.deal_id",
                         &s);
    if (rc)
        goto out;
    ri_stmt_bind_i64(s, 1, model);
    ri_stmt_bind_time(s, 2, r->env->as_of);
    while (ri_stmt_step(ctx, s) == RI_OK) {
        const char *st = ri_stmt_text(s, 2, NULL);
        if (np == cp) {
            RI_GROW(p, cp, np + 1);
            y = ri_realloc(y, cp);
        }
        p[np] = ri_stmt_f64(s, 1);
        y[np++] = st && st[0] == 'w';
    }
    ri_stmt_free(s);
    s = NULL;
    if ((double)np >= min_closed && np > 0) {
        struct ri_eval ev;
        if (ri_eval_compute(p, y, NULL, np, NULL, 0.5, &ev) == RI_OK)
            ece = ev.ece;
    }
    fmt_date(first_at, d0, sizeof(d0));
    if (psi > max_psi)
        snprintf(msg, sizeof(msg),
                 "the distribution of its P(win) moved since its first scores of %s (PSI %.2f, "
                 "limit %.2f)",
                 d0, psi, max_psi);
    if (ece > max_ece) {
        size_t o = strlen(msg);
        snprintf(msg + o, sizeof(msg) - o,
                 "%sits calibration on the %zu scored deals that closed since is off (expected "
                 "calibration error %.3f, limit %.3f)",
                 o ? "; " : "", np, ece, max_ece);
    }
    if (!msg[0])
        goto out;
    finding_init(&f, r, RI_RULE_DRIFT, "model");
    ri_buf_addf(&f.subject, "the risk model (id %lld) has drifted", (long long)model);
    ri_buf_addf(&f.message, "The active risk model, id %lld: %s.", (long long)model, msg);
    ri_buf_adds(&f.action, "Retrain it ('revintel train'), then check its evaluation before "
                           "trusting today's scores.");
    route_system(r, &f);
    finding_release(&f);
out:
    ri_stmt_free(s);
    ri_free(p);
    ri_free(q);
    ri_free(y);
    return rc;
}

static ri_err rule_stale_data(struct rules *r)
{
    struct ri_ctx *ctx = r->env->ctx;
    struct ri_stmt *s = NULL;
    double days = param(r, RI_RULE_STALE_DATA, 0), age;
    ri_time newest = RI_TIME_NONE;
    char d[16];
    struct finding f;
    ri_err rc;
    if (isnan(days))
        days = r->env->config ? (double)r->env->config->stale_days : 3.0;
    if (!(days > 0))
        return RI_OK;
    rc = ri_stmt_prepare(ctx, r->env->store,
                         "SELECT max(coalesce(as_of, ingested_at)) FROM snapshots WHERE kind IN "
                         "('opportunities', 'history')",
                         &s);
    if (rc)
        return rc;
    if (ri_stmt_step(ctx, s) == RI_OK)
        newest = ri_stmt_time(s, 0);
    ri_stmt_free(s);
    if (newest == RI_TIME_NONE)
        return RI_OK;
    age = days_between(newest, r->env->now);
    if (!(age > days))
        return RI_OK;
    fmt_date(newest, d, sizeof(d));
    finding_init(&f, r, RI_RULE_STALE_DATA, "store");
    ri_buf_addf(&f.subject, "no new CRM export for %.0f days", floor(age));
    ri_buf_addf(&f.message,
                "The newest export in the store is of %s, %.0f days ago (the limit is %.0f "
                "days): scores, forecast and alerts describe the pipeline as it was then.",
                d, floor(age), days);
    ri_buf_adds(&f.action, "Check that the CRM export still lands in the drop folder (or run "
                           "'revintel ingest' by hand) and that the daily job runs.");
    route_system(r, &f);
    finding_release(&f);
    return RI_OK;
}

/* ------------------------------------------------------------------ custom rules */

static void rule_error(struct rules *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rule_error(struct rules *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    ri_buf_addf(r->env->errors, "%s: ", name);
    va_start(ap, fmt);
    ri_buf_vaddf(r->env->errors, fmt, ap);
    va_end(ap);
    ri_buf_addc(r->env->errors, '\n');
    r->env->n_errors++;
}

static double elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Runs one custom rule on the read-only connection ro. Its rows are collected first and
 * become alerts only if the whole query succeeds. */
static void run_custom(struct rules *r, struct ri_store *ro, int id)
{
    const struct ri_rule_conf *rc = &r->env->conf->rules[id];
    struct ri_ctx *ctx = r->env->ctx;
    struct ri_stmt *s = NULL;
    struct ri_alert_list mine = {NULL, 0, 0}, *saved = r->env->out;
    struct timespec t0;
    size_t rows = 0;
    ri_err e;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ri_store_set_deadline(ro, rc->timeout_ms);
    e = ri_stmt_prepare(ctx, ro, rc->sql, &s);
    if (e) {
        rule_error(r, rc->name, "%s", ri_errmsg(ctx));
        goto out;
    }
    /* ?1 is the as-of date, ?2 the clock (seconds since 1970) */
    ri_stmt_bind_time(s, 1, r->env->as_of);
    ri_stmt_bind_time(s, 2, r->env->now);
    r->env->out = &mine;
    while ((e = ri_stmt_step(ctx, s)) == RI_OK) {
        struct finding f;
        const char *key = ri_stmt_text(s, 0, NULL), *subject = ri_stmt_text(s, 1, NULL);
        const char *message = ri_stmt_text(s, 2, NULL), *action = ri_stmt_text(s, 3, NULL);
        const char *sev = ri_stmt_text(s, 4, NULL), *who = ri_stmt_text(s, 5, NULL);
        const char *crm = ri_stmt_text(s, 6, NULL);
        if (++rows > (size_t)rc->max_rows) {
            rule_error(r, rc->name, "returned more than %d rows (max_rows); none was raised",
                       rc->max_rows);
            e = RI_ERR_TOOBIG;
            break;
        }
        if (!key || !*key || !subject || !message) {
            rule_error(r, rc->name,
                       "row %zu has no key, subject or message (the first three columns); "
                       "none was raised",
                       rows);
            e = RI_ERR_INVALID;
            break;
        }
        finding_init(&f, r, id, key);
        if (sev)
            f.severity = sev_static(sev);
        f.crm_id = crm;
        f.value = ri_stmt_f64(s, 7);
        ri_buf_adds(&f.subject, subject);
        ri_buf_adds(&f.message, message);
        if (action)
            ri_buf_adds(&f.action, action);
        if (who && *who) {
            send_to(r, &f, who, role_of(r, who));
        } else if (crm && r->h) {
            ptrdiff_t i = ri_history_find(r->h, crm);
            route_deal(r, &f, i >= 0 && r->have_st ? owner_of(r, (size_t)i) : NULL);
        } else {
            route_pipeline(r, &f, NULL, NULL);
        }
        finding_release(&f);
    }
    r->env->out = saved;
    if (e == RI_ERR_NOTFOUND) {
        /* done: the rule's alerts join the others */
        for (size_t i = 0; i < mine.n; i++) {
            RI_GROW(saved->v, saved->cap, saved->n + 1);
            saved->v[saved->n++] = mine.v[i];
        }
        mine.n = 0;
    } else if (e != RI_ERR_TOOBIG && e != RI_ERR_INVALID) {
        double ms = elapsed_ms(&t0);
        if (ms >= (double)rc->timeout_ms)
            rule_error(r, rc->name, "stopped at its time limit of %d ms (timeout_ms)",
                       rc->timeout_ms);
        else
            rule_error(r, rc->name, "%s", ri_errmsg(ctx));
    }
out:
    ri_store_set_deadline(ro, 0);
    ri_stmt_free(s);
    ri_alert_list_release(&mine);
}

static void run_custom_rules(struct rules *r)
{
    const struct ri_alerts_conf *a = r->env->conf;
    struct ri_store *ro = NULL;
    int any = 0;
    for (size_t k = RI_RULE__BUILTIN; k < a->n_rules; k++)
        any |= a->rules[k].enabled && a->rules[k].sql;
    if (!any)
        return;
    if (ri_store_open_file(r->env->ctx, ri_store_path(r->env->store), RI_OPEN_READONLY, &ro)) {
        for (size_t k = RI_RULE__BUILTIN; k < a->n_rules; k++)
            if (a->rules[k].enabled && a->rules[k].sql)
                rule_error(r, a->rules[k].name, "cannot open the store read-only: %s",
                           ri_errmsg(r->env->ctx));
        return;
    }
    for (size_t k = RI_RULE__BUILTIN; k < a->n_rules; k++)
        if (a->rules[k].enabled && a->rules[k].sql)
            run_custom(r, ro, (int)k);
    ri_store_close(ro);
}

/* ------------------------------------------------------------------ all of them */

void ri_alert_list_release(struct ri_alert_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        struct ri_alert *a = &l->v[i];
        ri_free(a->key);
        ri_free(a->rule);
        ri_free(a->subject);
        ri_free(a->message);
        ri_free(a->action);
        ri_free(a->crm_id);
        ri_free(a->recipient);
        ri_free(a->role);
    }
    ri_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static void rules_release(struct rules *r)
{
    for (size_t i = 0; i < r->n_reps; i++) {
        ri_free(r->rep_name[i]);
        ri_free(r->rep_manager[i]);
        ri_free(r->rep_region[i]);
    }
    ri_free(r->rep_name);
    ri_free(r->rep_manager);
    ri_free(r->rep_region);
    ri_free(r->p1);
    ri_free(r->p0);
    ri_free(r->high);
    ri_free(r->zombie);
    ri_stmt_free(r->deal_q);
    ri_stmt_free(r->reason_q);
    if (r->have_st)
        ri_asof_state_release(&r->st);
    ri_history_free(r->h);
    ri_strmap_release(&r->seen);
}

static int on(const struct rules *r, int id)
{
    return r->env->conf->rules[id].enabled;
}

ri_err ri_alert_rules_run(struct ri_rule_env *env)
{
    struct rules r;
    ri_err rc;
    memset(&r, 0, sizeof(r));
    r.env = env;
    r.high_value = RI_NAN;
    ri_strmap_init(&r.seen);
    rc = load_reps(&r);
    if (!rc)
        rc = ri_history_load(env->ctx, &r.h);
    if (!rc)
        rc = ri_asof_state_init(&r.st, r.h);
    if (!rc) {
        r.have_st = 1;
        rc = ri_asof(r.h, env->as_of, &r.st);
    }
    if (!rc)
        rc = load_scores(&r);
    if (rc)
        goto out;
    /* deal rules (high_value_risk first: risk_jump uses its amount threshold; zombie
     * before stalled: a deal long past its close date is a zombie, not also stalled) */
    r.zombie = ri_calloc(ri_history_n_deals(r.h) + 1, 1);
    rule_high_value_risk(&r);
    if (on(&r, RI_RULE_ZOMBIE))
        rule_zombie(&r);
    if (on(&r, RI_RULE_STALLED))
        rc = rule_stalled(&r);
    if (!rc && on(&r, RI_RULE_SKIPPED_QUALIFICATION))
        rc = rule_skipped_qualification(&r);
    if (!rc && on(&r, RI_RULE_PUSHED))
        rule_pushed(&r);
    if (!rc && on(&r, RI_RULE_RISK_JUMP))
        rule_risk_jump(&r);
    /* pipeline rules */
    if (!rc && on(&r, RI_RULE_SEGMENT_WINRATE_DROP))
        rc = rule_segment_winrate_drop(&r);
    if (!rc && on(&r, RI_RULE_LATE_STAGE_LOSSES))
        rule_late_stage_losses(&r);
    if (!rc && on(&r, RI_RULE_FORECAST_CONCENTRATION))
        rc = rule_forecast_concentration(&r);
    if (!rc && on(&r, RI_RULE_COVERAGE))
        rule_coverage(&r);
    if (!rc && on(&r, RI_RULE_PIPELINE_CREATED_FALLING))
        rule_pipeline_created_falling(&r);
    /* system rules */
    if (!rc && on(&r, RI_RULE_DATA_QUALITY))
        rc = rule_data_quality(&r);
    if (!rc && on(&r, RI_RULE_DRIFT))
        rc = rule_drift(&r);
    if (!rc && on(&r, RI_RULE_STALE_DATA))
        rc = rule_stale_data(&r);
    if (!rc)
        run_custom_rules(&r);
out:
    rules_release(&r);
    return rc;
}
