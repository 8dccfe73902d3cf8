/*
 * config.c - revintel.conf, the configuration file.
 *
 * ri_config_store_path finds the store alone (the CLI needs it before anything else);
 * ri_config_load reads the whole file and hands each section to the module that owns it
 * (src/conf.h). A relative path is taken relative to the folder of the config file, so a
 * scheduled job finds the same store and drop folder whatever its working directory.
 */
#include "conf.h"
#include "inifile.h"

#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include <string.h>
#include <unistd.h>

struct store_path {
    char *out;
    size_t size;
    const char *dir;
    size_t dirlen;
    int found;
};

static ri_err on_key(void *ud, const char *section, const char *name, const char *value, char *err,
                     size_t errsize)
{
    struct store_path *sp = ud;
    int n;
    if (strcmp(section, "store") != 0 || strcmp(name, "db") != 0)
        return RI_OK;
    if (!*value) {
        snprintf(err, errsize, "[store] db is empty");
        return RI_ERR_INVALID;
    }
    if (value[0] == '/' || sp->dirlen == 0)
        n = snprintf(sp->out, sp->size, "%s", value);
    else
        n = snprintf(sp->out, sp->size, "%.*s/%s", (int)sp->dirlen, sp->dir, value);
    if (n < 0 || (size_t)n >= sp->size) {
        snprintf(err, errsize, "[store] db is too long");
        return RI_ERR_TOOBIG;
    }
    sp->found = 1;
    return RI_OK;
}

ri_err ri_config_store_path(struct ri_ctx *ctx, const char *config_path, char *out, size_t size)
{
    const char *path = config_path ? config_path : "revintel.conf";
    const char *slash = strrchr(path, '/');
    struct store_path sp = {out, size, path, slash ? (size_t)(slash - path) : 0, 0};
    ri_err rc;
    if (!config_path && access(path, F_OK) != 0)
        return RI_ERR_NOTFOUND;
    rc = ri_ini_parse(ctx, path, on_key, &sp);
    if (rc)
        return rc;
    return sp.found ? RI_OK : RI_ERR_NOTFOUND;
}

/* ------------------------------------------------------------------ revintel.conf */

/* The sections a module owns: a name, or a prefix ending in '.' */
static int section_is(const char *section, const char *name)
{
    size_t n = strlen(name);
    if (n && name[n - 1] == '.')
        return strncasecmp(section, name, n) == 0 && section[n] != '\0';
    return strcasecmp(section, name) == 0;
}

int ri_conf_bool(const char *value)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < RI_ARRAY_SIZE(yes); i++) {
        if (!strcasecmp(value, yes[i]))
            return 1;
        if (!strcasecmp(value, no[i]))
            return 0;
    }
    return -1;
}

long ri_conf_long(const char *value, long max)
{
    char *end;
    long v;
    if (!*value || *value == '-' || *value == '+')
        return -1;
    errno = 0;
    v = strtol(value, &end, 10);
    if (errno || *end || v > max)
        return -1;
    return v;
}

int ri_conf_is_ref(const char *value)
{
    const char *p = strstr(value, "${");
    return p && strchr(p, '}') != NULL;
}

const char *ri_conf_redact(const char *as_written)
{
    if (!as_written || !*as_written)
        return "(not set)";
    return ri_conf_is_ref(as_written) ? as_written : "(set)";
}

ri_err ri_conf_expand(const char *value, char *out, size_t size, char *err, size_t errsize)
{
    size_t o = 0;
    const char *p = value;
    while (*p) {
        const char *piece = p;
        size_t len = 1;
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            char name[128];
            size_t nlen;
            if (!end) {
                snprintf(err, errsize, "'${' without a closing '}'");
                return RI_ERR_INVALID;
            }
            nlen = (size_t)(end - (p + 2));
            if (nlen == 0 || nlen >= sizeof(name)) {
                snprintf(err, errsize, "bad environment variable name in ${...}");
                return RI_ERR_INVALID;
            }
            memcpy(name, p + 2, nlen);
            name[nlen] = '\0';
            piece = getenv(name);
            if (!piece) {
                snprintf(err, errsize, "environment variable %s is not set", name);
                return RI_ERR_NOTFOUND;
            }
            len = strlen(piece);
            p = end + 1;
        } else {
            p++;
        }
        if (o + len >= size) {
            snprintf(err, errsize, "value too long (%zu bytes at most)", size - 1);
            return RI_ERR_TOOBIG;
        }
        memcpy(out + o, piece, len);
        o += len;
    }
    out[o] = '\0';
    return RI_OK;
}

ri_err ri_conf_path(const struct ri_config *c, const char *value, char *out, size_t size)
{
    int n;
    if (value[0] == '/' || !c->dir[0] || !strcmp(c->dir, "."))
        n = snprintf(out, size, "%s", value);
    else
        n = snprintf(out, size, "%s/%s", c->dir, value);
    return (n < 0 || (size_t)n >= size) ? RI_ERR_TOOBIG : RI_OK;
}

static ri_err set_str(char *dst, size_t size, const char *value, char *err, size_t errsize)
{
    if (strlen(value) >= size) {
        snprintf(err, errsize, "value too long (%zu bytes at most)", size - 1);
        return RI_ERR_TOOBIG;
    }
    memcpy(dst, value, strlen(value) + 1);
    return RI_OK;
}

static ri_err set_int(int *dst, const char *value, long min, long max, const char *what, char *err,
                      size_t errsize)
{
    long v = ri_conf_long(value, max);
    if (v < min) {
        snprintf(err, errsize, "%s must be a whole number from %ld to %ld, not '%s'", what, min,
                 max, value);
        return RI_ERR_INVALID;
    }
    *dst = (int)v;
    return RI_OK;
}

/* The lead's own sections. RI_ERR_NOTFOUND for a key it does not know. */
static ri_err own_key(struct ri_config *c, const char *section, const char *name, const char *value,
                      char *err, size_t errsize)
{
    if (!strcasecmp(section, "store")) {
        if (!strcasecmp(name, "db")) {
            if (!*value) {
                snprintf(err, errsize, "[store] db is empty");
                return RI_ERR_INVALID;
            }
            if (ri_conf_path(c, value, c->db, sizeof(c->db)) != RI_OK) {
                snprintf(err, errsize, "[store] db is too long");
                return RI_ERR_TOOBIG;
            }
            return RI_OK;
        }
    } else if (!strcasecmp(section, "sources")) {
        if (!strcasecmp(name, "drop_dir")) {
            if (ri_conf_path(c, value, c->drop_dir, sizeof(c->drop_dir)) != RI_OK) {
                snprintf(err, errsize, "[sources] drop_dir is too long");
                return RI_ERR_TOOBIG;
            }
            return RI_OK;
        }
        if (!strcasecmp(name, "mapping") || !strcasecmp(name, "history_mapping")) {
            char *dst = !strcasecmp(name, "mapping") ? c->mapping : c->history_map;
            /* a preset name stays as it is; a file is relative to the config */
            if (strchr(value, '/') || strchr(value, '.'))
                return ri_conf_path(c, value, dst, sizeof(c->mapping)) == RI_OK
                           ? RI_OK
                           : set_str(dst, 1, value, err, errsize);
            return set_str(dst, sizeof(c->mapping), value, err, errsize);
        }
    } else if (!strcasecmp(section, "model")) {
        if (!strcasecmp(name, "retrain_days"))
            return set_int(&c->retrain_days, value, 0, 3650, "retrain_days", err, errsize);
        if (!strcasecmp(name, "trees"))
            return set_int(&c->trees, value, 1, 5000, "trees", err, errsize);
        if (!strcasecmp(name, "max_rows"))
            return set_int(&c->max_rows, value, 1000, 100000000, "max_rows", err, errsize);
    } else if (!strcasecmp(section, "forecast")) {
        if (!strcasecmp(name, "period")) {
            if (!strcasecmp(value, "quarter") || !strcasecmp(value, "month")) {
                c->monthly = !strcasecmp(value, "month");
                return RI_OK;
            }
            snprintf(err, errsize, "period must be 'quarter' or 'month', not '%s'", value);
            return RI_ERR_INVALID;
        }
        if (!strcasecmp(name, "sims"))
            return set_int(&c->sims, value, 100, 1000000, "sims", err, errsize);
    } else if (!strcasecmp(section, "run")) {
        if (!strcasecmp(name, "stale_days"))
            return set_int(&c->stale_days, value, 0, 365, "stale_days", err, errsize);
    } else {
        return RI_ERR_NOTFOUND;
    }
    return RI_ERR_NOTFOUND;
}

struct load_state {
    struct ri_config *c;
};

static ri_err on_conf_key(void *ud, const char *section, const char *name, const char *value,
                          char *err, size_t errsize)
{
    struct ri_config *c = ((struct load_state *)ud)->c;
    ri_err rc;
    if (section_is(section, "store") || section_is(section, "sources") ||
        section_is(section, "model") || section_is(section, "forecast") ||
        section_is(section, "run"))
        rc = own_key(c, section, name, value, err, errsize);
    else if (section_is(section, "alerts") || section_is(section, "rule.") ||
             section_is(section, "recipients"))
        rc = ri_alerts_conf_key(c->alerts, section, name, value, err, errsize);
    else if (section_is(section, "channel.") || section_is(section, "delivery"))
        rc = ri_channels_conf_key(c->channels, section, name, value, err, errsize);
    else if (section_is(section, "report"))
        rc = ri_report_conf_key(c->report, section, name, value, err, errsize);
    else {
        snprintf(err, errsize,
                 "unknown section [%s] (store, sources, model, forecast, run, alerts, "
                 "rule.NAME, recipients, channel.NAME, delivery, report)",
                 section);
        return RI_ERR_INVALID;
    }
    if (rc == RI_ERR_NOTFOUND && !err[0])
        snprintf(err, errsize, "unknown key '%s' in [%s]", name, section);
    return rc;
}

/* The line of `name` in `[section]` of path, for an objection raised after the file was
 * read; 0 if not found. A plain scan: sections and keys as inih reads them. */
static unsigned long line_of(FILE *f, const char *section, const char *name)
{
    char line[4096], cur[256] = "";
    unsigned long ln = 0, found = 0, sect_line = 0;
    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char *p = line, *e;
        ln++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '[') {
            e = strchr(p, ']');
            if (e) {
                snprintf(cur, sizeof(cur), "%.*s", (int)(e - p - 1), p + 1);
                if (!strcasecmp(cur, section))
                    sect_line = ln;
            }
            continue;
        }
        if (strcasecmp(cur, section) != 0 || !*name)
            continue;
        e = p + strcspn(p, "=:");
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - p) == strlen(name) && !strncasecmp(p, name, (size_t)(e - p)))
            found = ln;
    }
    return found ? found : sect_line;
}

void ri_config_free(struct ri_config *c)
{
    if (!c)
        return;
    ri_alerts_conf_free(c->alerts);
    ri_channels_conf_free(c->channels);
    ri_report_conf_free(c->report);
    ri_free(c);
}

/* Reads the configuration from the file path, or from text when path is NULL (name then
 * stands for it in messages); no path and no text: the defaults. */
static ri_err config_read(struct ri_ctx *ctx, const char *path, const char *name, const char *text,
                          struct ri_config **out)
{
    struct ri_config *c = ri_calloc(1, sizeof(*c));
    struct load_state ls = {c};
    struct ri_conf_where where;
    char err[512];
    const char *slash;
    ri_err rc = RI_OK;

    *out = NULL;
    c->retrain_days = 7;
    c->trees = 300;
    c->max_rows = 500000;
    c->sims = 10000;
    c->stale_days = 3;
    c->alerts = ri_alerts_conf_new();
    c->channels = ri_channels_conf_new();
    c->report = ri_report_conf_new();
    snprintf(c->dir, sizeof(c->dir), ".");
    if (!c->alerts || !c->channels || !c->report) {
        rc = ri_fail(ctx, RI_ERR_NOMEM, "out of memory reading the configuration");
        goto out;
    }
    if (!path && !text)
        goto finish; /* no ./revintel.conf: the defaults */
    if (strlen(path ? path : name) >= sizeof(c->path)) {
        rc = ri_fail(ctx, RI_ERR_TOOBIG, "config path too long");
        goto out;
    }
    snprintf(c->path, sizeof(c->path), "%s", path ? path : name);
    slash = path ? strrchr(path, '/') : NULL;
    if (slash)
        snprintf(c->dir, sizeof(c->dir), "%.*s", (int)(slash - path), path);
    if (slash && slash == path)
        snprintf(c->dir, sizeof(c->dir), "/");
    rc = path ? ri_ini_parse(ctx, path, on_conf_key, &ls)
              : ri_ini_parse_string(ctx, name, text, on_conf_key, &ls);
    if (rc)
        goto out;
finish:
    memset(&where, 0, sizeof(where));
    err[0] = '\0';
    rc = ri_channels_conf_finish(c->channels, &where, err, sizeof(err));
    if (rc == RI_OK)
        rc = ri_alerts_conf_finish(c->alerts, c->channels, &where, err, sizeof(err));
    if (rc) {
        unsigned long ln = 0;
        FILE *f =
            path ? fopen(path, "r")
                 : (text && *text ? fmemopen((void *)(uintptr_t)text, strlen(text), "r") : NULL);
        if (f) {
            ln = line_of(f, where.section, where.name);
            fclose(f);
        }
        if (ln)
            rc = ri_fail(ctx, RI_ERR_PARSE, "%s:%lu: %s", c->path, ln, err);
        else
            rc = ri_fail(ctx, RI_ERR_PARSE, "%s: %s", c->path[0] ? c->path : "configuration", err);
        goto out;
    }
    *out = c;
    c = NULL;
out:
    ri_config_free(c);
    return rc;
}

ri_err ri_config_load(struct ri_ctx *ctx, const char *path, struct ri_config **out)
{
    if (!path && access("revintel.conf", F_OK) == 0)
        path = "revintel.conf";
    return config_read(ctx, path, NULL, NULL, out);
}

ri_err ri_config_load_string(struct ri_ctx *ctx, const char *name, const char *text,
                             struct ri_config **out)
{
    return config_read(ctx, NULL, name, text ? text : "", out);
}

char *ri_config_describe(const struct ri_config *c)
{
    struct ri_buf b;
    ri_buf_init(&b, 1 << 20);
    ri_buf_addf(&b, "config: %s\n", c->path[0] ? c->path : "(none: defaults)");
    ri_buf_addf(&b, "store: %s\n", c->db[0] ? c->db : "(from --db, default ./revintel.db)");
    ri_buf_addf(&b, "drop folder: %s\n", c->drop_dir[0] ? c->drop_dir : "(none)");
    if (c->drop_dir[0])
        ri_buf_addf(&b, "  mapping: %s; history mapping: %s\n",
                    c->mapping[0] ? c->mapping : "automatic",
                    c->history_map[0] ? c->history_map : "automatic");
    ri_buf_addf(&b,
                "model: retrain when older than %d days%s, %d trees, %d training rows at most\n",
                c->retrain_days, c->retrain_days ? "" : " (never)", c->trees, c->max_rows);
    ri_buf_addf(&b, "forecast: by %s, %d paths\n", c->monthly ? "month" : "quarter", c->sims);
    ri_buf_addf(&b, "stale data: after %d days without a new export\n", c->stale_days);
    ri_alerts_conf_describe(c->alerts, &b);
    ri_channels_conf_describe(c->channels, &b);
    return ri_buf_detach(&b, NULL);
}
