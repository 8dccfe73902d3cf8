/*
 * alert_rules.h - what alerts.c (configuration, state, digests) and alert_rules.c (the
 * rules themselves) share: the parsed [alerts], [rule.NAME] and [recipients] sections,
 * and the list of alerts the rules raise.
 *
 * A rule raises findings; each finding goes to one or more recipients, and each (finding,
 * recipient) pair is one struct ri_alert, which becomes one row of the alerts table. The
 * key of a finding is "rule:entity" (a deal's CRM id, a segment, "all"): no date in it,
 * so the same finding tomorrow has the same key and cooldowns and snoozes apply.
 */
#ifndef RI_ALERT_RULES_H
#define RI_ALERT_RULES_H

#include "conf.h"
#include "ri_internal.h"

/* The built-in rules, in the order they run. */
enum ri_rule_id {
    RI_RULE_HIGH_VALUE_RISK = 0,
    RI_RULE_STALLED,
    RI_RULE_SKIPPED_QUALIFICATION,
    RI_RULE_ZOMBIE,
    RI_RULE_PUSHED,
    RI_RULE_RISK_JUMP,
    RI_RULE_SEGMENT_WINRATE_DROP,
    RI_RULE_LATE_STAGE_LOSSES,
    RI_RULE_FORECAST_CONCENTRATION,
    RI_RULE_COVERAGE,
    RI_RULE_PIPELINE_CREATED_FALLING,
    RI_RULE_DATA_QUALITY,
    RI_RULE_DRIFT,
    RI_RULE_STALE_DATA,
    RI_RULE__BUILTIN
};

#define RI_RULE_PARAMS 3
#define RI_RULES_MAX   64 /* built-in and custom rules together */

/* A built-in rule: its name, level ("deal", "pipeline", "system"), default severity,
 * and up to three numeric thresholds by name with their defaults (NAN: worked out from
 * the data, or taken from elsewhere in the configuration). */
struct ri_rule_def {
    const char *name;
    const char *level;
    const char *severity;
    const char *param[RI_RULE_PARAMS];
    double def[RI_RULE_PARAMS];
    const char *what; /* one line, for `config check` and the docs */
};
extern const struct ri_rule_def ri_rule_defs[RI_RULE__BUILTIN];

struct ri_rule_conf {
    char name[64];
    int builtin; /* enum ri_rule_id, or -1 for a custom SQL rule */
    int enabled;
    double param[RI_RULE_PARAMS];
    int cooldown_days;   /* -1: [alerts] cooldown_days */
    char severity[16];   /* "": the rule's own */
    char recipient[128]; /* "": the rule's routing; else everything goes to this one */
    char stages[512];    /* skipped_qualification: the qualification stages */
    char *sql;           /* custom rules */
    int timeout_ms;      /* custom rules (2000) */
    int max_rows;        /* custom rules (1000) */
};

/* One [recipients] line as written. */
struct ri_recipient_line {
    char *name, *value;
};

struct ri_alerts_conf {
    int enabled;       /* [alerts] enabled (1) */
    int cooldown_days; /* [alerts] cooldown_days (7) */
    double quota;      /* [alerts] quota: the period's target; NAN none (coverage off) */
    int period;        /* [alerts] period: -1 as [forecast], 0 quarter, 1 month */
    size_t n_rules;
    struct ri_rule_conf rules[RI_RULES_MAX]; /* the built-in ones first, by enum */
    size_t n_lines;
    struct ri_recipient_line *lines;
};

/* One alert for one recipient: a row of the alerts table. Strings are owned. */
struct ri_alert {
    char *key, *rule, *subject, *message, *action, *crm_id, *recipient, *role;
    const char *severity; /* static: "info", "warning", "critical" */
    double value;         /* revenue at stake, or NAN */
    int cooldown_days;
    /* decided by alerts.c */
    const char *status; /* "queued", "new", "cooldown", "snoozed"; or the row's status */
    int existing;       /* the row was already in the store (a re-run of the same day) */
};

struct ri_alert_list {
    struct ri_alert *v;
    size_t n, cap;
};

/* What the rules read: the store, the clock and the configuration. */
struct ri_rule_env {
    struct ri_ctx *ctx;
    struct ri_store *store;
    const struct ri_config *config;
    const struct ri_alerts_conf *conf;
    ri_time as_of, now;
    struct ri_alert_list *out;
    struct ri_buf *errors; /* "rule: message" lines of rules that failed */
    size_t n_errors;
    struct ri_buf *notes; /* what a rule could not judge, one line each */
};

/* Runs every enabled rule; the alerts they raise are appended to env->out. A custom
 * rule that fails is written to env->errors (the others still run); a built-in rule
 * that fails on the store fails the whole run. */
ri_err ri_alert_rules_run(struct ri_rule_env *env);

/* The role of a recipient for routing: "leadership", "admin", "manager", "rep" or
 * "custom"; and its address ([recipients] line), NULL if none. */
const char *ri_alerts_address(const struct ri_alerts_conf *a, const char *recipient,
                              const char *role);
/* The name system alerts go to: "admin" when [recipients] has an admin, else
 * "leadership". */
const char *ri_alerts_admin(const struct ri_alerts_conf *a);

void ri_alert_list_release(struct ri_alert_list *l);

#endif /* RI_ALERT_RULES_H */
