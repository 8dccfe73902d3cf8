/*
 * conf.h - revintel.conf as a whole, inside the library.
 *
 * config.c reads the file once (through inifile.c) and hands each section to the module
 * that owns it: [store], [sources], [model], [forecast] and [run] are its own; [alerts],
 * [rule.NAME] and [recipients] go to alerts.c; [channel.NAME] and [delivery] to outbox.c;
 * [report] to report.c. A module's key function answers RI_ERR_NOTFOUND for a key it does
 * not know (config.c then reports "unknown key" with the line), or another error with a
 * message in err; after the file is read, each module's finish function cross-checks what
 * it holds (a rule routed to a channel that does not exist, say) and names the section and
 * key it objects to, so config.c can point at their line.
 *
 * Secrets (webhook URLs, SMTP passwords, signing keys) may be written as ${NAME}: the value
 * then comes from the environment variable NAME (ri_conf_expand). Modules never print a
 * secret: ri_conf_redact gives the form to show.
 */
#ifndef RI_CONF_H
#define RI_CONF_H

#include "ri_internal.h"

struct ri_alerts_conf;
struct ri_channels_conf;
struct ri_report_conf;

/* Where a finish function's objection is: section and key (key may be ""). */
struct ri_conf_where {
    char section[128];
    char name[128];
};

struct ri_config {
    char path[4096]; /* the file read ("" when none: all defaults) */
    char dir[4096];  /* its folder ("." when none); relative paths are relative to it */
    /* [store] */
    char db[4096]; /* "" : not set */
    /* [sources]: a drop folder of CRM exports, read by `run` */
    char drop_dir[4096];    /* "" : no drop folder */
    char mapping[4096];     /* preset name or mapping file for opportunities ("" automatic) */
    char history_map[4096]; /* preset or mapping file for history files ("" automatic) */
    /* [model] */
    int retrain_days; /* `run` retrains when the active model is older (7); 0 never */
    int trees;        /* boosting rounds of a retrain (300) */
    int max_rows;     /* training snapshots per fit at most (500,000) */
    /* [forecast] */
    int monthly; /* period = month (1) or quarter (0) */
    int sims;    /* Monte Carlo paths (10,000) */
    /* [run] */
    int stale_days; /* no new export for this many days raises the stale-data alert (3) */
    struct ri_alerts_conf *alerts;
    struct ri_channels_conf *channels;
    struct ri_report_conf *report;
};

/* ---- owned by config.c */

/* ri_config_load over a text instead of a file (name stands for it in messages); paths in
 * it are relative to the current folder. For tests and the fuzz target. */
ri_err ri_config_load_string(struct ri_ctx *ctx, const char *name, const char *text,
                             struct ri_config **out /* OUT */);

/* Expands ${NAME} references in value from the environment into out. An unset variable
 * is an error naming it (never its value). */
ri_err ri_conf_expand(const char *value, char *out, size_t size, char *err, size_t errsize);
/* True if value holds a ${NAME} reference. */
int ri_conf_is_ref(const char *value);
/* The printable form of a secret: "${NAME}" as written, or "(set)" for a literal. */
const char *ri_conf_redact(const char *as_written);
/* Resolves a path relative to the config file's folder into out. */
ri_err ri_conf_path(const struct ri_config *c, const char *value, char *out, size_t size);
/* Parses yes/no/true/false/on/off/1/0; -1 if none of those. */
int ri_conf_bool(const char *value);
/* Parses a whole non-negative integer no larger than max; -1 if not one. */
long ri_conf_long(const char *value, long max);

/* ---- owned by alerts.c: [alerts], [rule.NAME], [recipients] */
struct ri_alerts_conf *ri_alerts_conf_new(void);
void ri_alerts_conf_free(struct ri_alerts_conf *a);
ri_err ri_alerts_conf_key(struct ri_alerts_conf *a, const char *section, const char *name,
                          const char *value, char *err, size_t errsize);
ri_err ri_alerts_conf_finish(struct ri_alerts_conf *a, const struct ri_channels_conf *ch,
                             struct ri_conf_where *where, char *err, size_t errsize);
/* Appends a readable summary (rules on/off with thresholds, routing) for `config check`. */
ri_err ri_alerts_conf_describe(const struct ri_alerts_conf *a, struct ri_buf *out);

/* ---- owned by outbox.c: [channel.NAME], [delivery] */
struct ri_channels_conf *ri_channels_conf_new(void);
void ri_channels_conf_free(struct ri_channels_conf *c);
ri_err ri_channels_conf_key(struct ri_channels_conf *c, const char *section, const char *name,
                            const char *value, char *err, size_t errsize);
ri_err ri_channels_conf_finish(struct ri_channels_conf *c, struct ri_conf_where *where, char *err,
                               size_t errsize);
/* True if a channel of that name is configured. */
int ri_channels_conf_has(const struct ri_channels_conf *c, const char *name);
/* Appends a summary (channel, type, target with secrets redacted, retry policy). */
ri_err ri_channels_conf_describe(const struct ri_channels_conf *c, struct ri_buf *out);

/* ---- owned by report.c: [report] */
struct ri_report_conf *ri_report_conf_new(void);
void ri_report_conf_free(struct ri_report_conf *r);
ri_err ri_report_conf_key(struct ri_report_conf *r, const char *section, const char *name,
                          const char *value, char *err, size_t errsize);

#endif /* RI_CONF_H */
