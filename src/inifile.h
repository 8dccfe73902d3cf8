/*
 * inifile.h - INI files (mapping files, revintel.conf), read through one adapter.
 */
#ifndef RI_INIFILE_H
#define RI_INIFILE_H

#include "ri_internal.h"

/* Called for each name = value; return RI_OK to go on. On failure, write a message into
 * err (size errsize); ri_ini_parse then fails naming the file and the line. */
typedef ri_err (*ri_ini_fn)(void *ud, const char *section, const char *name, const char *value,
                            char *err, size_t errsize);

/* Parses path. RI_ERR_IO if it cannot be opened; RI_ERR_PARSE with "file:line: ..." for
 * a syntax error or an error from fn. */
ri_err ri_ini_parse(struct ri_ctx *ctx, const char *path, ri_ini_fn fn, void *ud);
/* The same over a NUL-terminated string; name is used in messages. */
ri_err ri_ini_parse_string(struct ri_ctx *ctx, const char *name, const char *text, ri_ini_fn fn,
                           void *ud);

#endif /* RI_INIFILE_H */
