/*
 * fuzz_xlsx.c - fuzzes the XLSX reader (src/xlsx.c) on an in-memory archive.
 *
 * The input is the whole .xlsx file. Opening may fail (most mutations break the ZIP or
 * its CRCs), but only with a recorded message; when it opens, every row is read and
 * checked: cells NUL-terminated at their length and within the field cap, bad_col inside
 * the row when flagged, and the read ends with RI_ERR_NOTFOUND or a recorded error. The
 * second sheet ("Deals" in the seed) is tried as well, with a small field cap, so that
 * sheet choice and cutting run too.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "ri_internal.h"

#define FCHECK(cond)                                                                               \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "fuzz_xlsx: %s:%d: %s\n", __FILE__, __LINE__, #cond);                           \
   abort();                                                                                        \
  }                                                                                                \
 } while (0)

static void read_all(struct ri_ctx *ctx, const uint8_t *data, size_t size,
                     const struct ri_reader_opts *opts)
{
    size_t cap = opts->max_field ? opts->max_field : 1024 * 1024;
    struct ri_reader *r = NULL;
    struct ri_row row;
    ri_err rc;

    rc = ri_xlsx_open_mem(ctx, (const char *)data, size, opts, &r);
    if (rc) {
        FCHECK(r == NULL);
        FCHECK(ri_errmsg(ctx)[0] != '\0');
        return;
    }
    while ((rc = ri_reader_next(r, &row)) == RI_OK) {
        FCHECK(row.line >= 1);
        for (size_t i = 0; i < row.n; i++) {
            FCHECK(row.cells[i][row.lens[i]] == '\0');
            FCHECK(row.lens[i] <= cap);
        }
        if (row.flags & (RI_ROW_TOO_LONG | RI_ROW_BAD_UTF8))
            FCHECK(row.bad_col < row.n);
    }
    FCHECK(rc == RI_ERR_NOTFOUND || ri_errmsg(ctx)[0] != '\0');
    ri_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_reader_opts first = {0, NULL, 0}, deals = {0, "Deals", 8};
    read_all(ctx, data, size, &first);
    read_all(ctx, data, size, &deals);
    ri_ctx_free(ctx);
    return 0;
}
