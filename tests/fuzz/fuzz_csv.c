/*
 * fuzz_csv.c - fuzzes the CSV reader (src/csv.c) from memory.
 *
 * The first byte picks the delimiter (detected, or forced to , ; tab |) and, with its
 * top bit, a 16-byte field cap so that cutting and libcsv buffer squeezing run on small
 * inputs; the rest is the CSV. Every row is read, and each is checked:
 *  - lines start at 1 and never go down;
 *  - cells are NUL-terminated at their length, and no cell passes the cap;
 *  - a row without RI_ROW_BAD_UTF8 is valid UTF-8 in every cell;
 *  - bad_col names a cell of the row when TOO_LONG or BAD_UTF8 is set;
 *  - the read ends with RI_ERR_NOTFOUND, and progress then reports all bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "ri_internal.h"

#define FCHECK(cond)                                                                               \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "fuzz_csv: %s:%d: %s\n", __FILE__, __LINE__, #cond);                            \
   abort();                                                                                        \
  }                                                                                                \
 } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = {0, ',', ';', '\t', '|'};
    struct ri_reader_opts opts = {0, NULL, 0};
    struct ri_reader *r = NULL;
    struct ri_row row;
    uint64_t last = 1, done = 0, total = 0;
    size_t cap;
    ri_err rc;

    if (size > 0) {
        opts.delimiter = delims[(data[0] & 0x7F) % sizeof(delims)];
        opts.max_field = (data[0] & 0x80) ? 16 : 0;
        data++;
        size--;
    }
    cap = opts.max_field ? opts.max_field : 1024 * 1024;
    rc = ri_reader_open_mem(NULL, (const char *)data, size, &opts, &r);
    FCHECK(rc == RI_OK);
    FCHECK(opts.delimiter == 0 || ri_reader_delimiter(r) == opts.delimiter);
    while ((rc = ri_reader_next(r, &row)) == RI_OK) {
        bool utf8_ok = true;
        FCHECK(row.line >= last);
        last = row.line;
        for (size_t i = 0; i < row.n; i++) {
            FCHECK(row.cells[i][row.lens[i]] == '\0');
            FCHECK(row.lens[i] <= cap);
            utf8_ok = utf8_ok && ri_utf8_valid(row.cells[i], row.lens[i]);
        }
        FCHECK(utf8_ok || (row.flags & RI_ROW_BAD_UTF8));
        if (row.flags & (RI_ROW_TOO_LONG | RI_ROW_BAD_UTF8))
            FCHECK(row.bad_col < row.n);
    }
    FCHECK(rc == RI_ERR_NOTFOUND);
    ri_reader_progress(r, &done, &total);
    FCHECK(done == total && total == size);
    ri_reader_free(r);
    return 0;
}
