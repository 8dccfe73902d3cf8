/*
 * reader.c - the row reader's front door: picks CSV or XLSX by content and dispatches.
 *
 * A file whose first four bytes are the ZIP local-header signature "PK\3\4" is read as
 * an XLSX workbook, anything else as CSV (an empty file is a CSV with no rows). The
 * choice is made on content, not on the file name, because CRM exports are often
 * renamed. Everything format-specific lives behind struct ri_reader_ops (reader.h), so
 * this file includes no third-party header.
 */
#include "ri_internal.h"
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Reads up to 4 bytes from the start of fd into sig; sets *n to the count read. */
static ri_err read_signature(int fd, unsigned char sig[4], size_t *n)
{
    *n = 0;
    while (*n < 4) {
        ssize_t got = read(fd, sig + *n, 4 - *n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return RI_ERR_IO;
        if (got == 0)
            break;
        *n += (size_t)got;
    }
    return RI_OK;
}

ri_err ri_reader_open(struct ri_ctx *ctx, const char *path, const struct ri_reader_opts *opts,
                      struct ri_reader **out)
{
    unsigned char sig[4];
    size_t n = 0;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ri_fail(ctx, RI_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (read_signature(fd, sig, &n) != RI_OK) {
        int e = errno;
        close(fd);
        return ri_fail(ctx, RI_ERR_IO, "cannot read '%s': %s", path, strerror(e));
    }
    if (n == 4 && memcmp(sig, "PK\3\4", 4) == 0) {
        close(fd);
        return ri_xlsx_open(ctx, path, opts, out);
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        int e = errno;
        close(fd);
        return ri_fail(ctx, RI_ERR_IO, "cannot seek in '%s': %s", path, strerror(e));
    }
    return ri_csv_open_fd_take(ctx, fd, path, opts, out);
}

ri_err ri_reader_open_mem(struct ri_ctx *ctx, const char *data, size_t len,
                          const struct ri_reader_opts *opts, struct ri_reader **out)
{
    return ri_csv_open_mem(ctx, data, len, opts, out);
}

ri_err ri_reader_next(struct ri_reader *r, struct ri_row *row)
{
    return r->ops->next(r, row);
}

const char *ri_reader_format(const struct ri_reader *r)
{
    return r->ops->format;
}

char ri_reader_delimiter(const struct ri_reader *r)
{
    return r->ops->delimiter(r);
}

void ri_reader_progress(const struct ri_reader *r, uint64_t *done, uint64_t *total)
{
    r->ops->progress(r, done, total);
}

void ri_reader_free(struct ri_reader *r)
{
    if (r)
        r->ops->free(r);
}
