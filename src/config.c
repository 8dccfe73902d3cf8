/*
 * config.c - revintel.conf, the configuration file.
 *
 * Today it names the store ([store] db); later sections (stages, sources, alert rules,
 * channels) are read by the modules that use them. A relative store path is taken
 * relative to the folder of the config file, so a scheduled job finds the same store
 * whatever its working directory.
 */
#include "inifile.h"

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
