/*
 * inifile.c - the inih adapter: the only file that includes ini.h from libinih.
 *
 * inih calls a handler per key and, when the handler fails or a line does not parse,
 * returns the number of the first bad line. We keep the first message the handler gave
 * and turn both into one ri_err with "file:line: message", so a user of a mapping file
 * or revintel.conf is told exactly where to look.
 */
#include "inifile.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

struct ini_state {
    ri_ini_fn fn;
    void *ud;
    char err[512];
    int failed;
};

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct ini_state *s = user;
    char msg[512];
    if (s->failed)
        return 1; /* report only the first error; the rest of the file is not applied */
    msg[0] = '\0';
    if (s->fn(s->ud, section, name, value, msg, sizeof(msg)) != RI_OK) {
        s->failed = 1;
        snprintf(s->err, sizeof(s->err), "%s", msg[0] ? msg : "invalid setting");
        return 0;
    }
    return 1;
}

static ri_err finish(struct ri_ctx *ctx, const char *name, int line, struct ini_state *s)
{
    if (line == 0)
        return RI_OK;
    if (s->failed)
        return ri_fail(ctx, RI_ERR_PARSE, "%s:%d: %s", name, line, s->err);
    return ri_fail(ctx, RI_ERR_PARSE, "%s:%d: syntax error (expected [section] or name = value)",
                   name, line);
}

ri_err ri_ini_parse(struct ri_ctx *ctx, const char *path, ri_ini_fn fn, void *ud)
{
    struct ini_state s = {fn, ud, "", 0};
    FILE *f = fopen(path, "r");
    int line;
    if (!f)
        return ri_fail(ctx, RI_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    line = ini_parse_file(f, handler, &s);
    fclose(f);
    return finish(ctx, path, line, &s);
}

ri_err ri_ini_parse_string(struct ri_ctx *ctx, const char *name, const char *text, ri_ini_fn fn,
                           void *ud)
{
    struct ini_state s = {fn, ud, "", 0};
    return finish(ctx, name, ini_parse_string(text, handler, &s), &s);
}
