/*
 * test_xlsx.c - the XLSX reader (src/xlsx.c) on the fixtures that tests/data/make_xlsx.py
 * writes: shared, rich, inline and formula strings, booleans, gaps, sheet choice, date
 * formats in both date systems, and damaged archives.
 */
#include <stdlib.h>

#include "ri_internal.h"
#include "harness.h"

#define SAMPLE      "tests/data/sample.xlsx"
#define SAMPLE_1904 "tests/data/sample_1904.xlsx"

#define MAXR 8
#define MAXC 8
struct got {
    size_t nrows;
    uint64_t line[MAXR];
    unsigned flags[MAXR];
    size_t bad_col[MAXR];
    size_t ncells[MAXR];
    char cell[MAXR][MAXC][48];
    ri_err end;
};

static ri_err read_xlsx(struct ri_ctx *ctx, const char *path, const char *sheet, size_t max_field,
                        struct got *g)
{
    struct ri_reader_opts opts = {0, sheet, max_field};
    struct ri_reader *r = NULL;
    struct ri_row row;
    ri_err rc;

    memset(g, 0, sizeof(*g));
    rc = ri_reader_open(ctx, path, &opts, &r);
    if (rc)
        return rc;
    if (strcmp(ri_reader_format(r), "xlsx") != 0 || ri_reader_delimiter(r) != 0) {
        ri_reader_free(r);
        return RI_ERR_INTERNAL;
    }
    while ((rc = ri_reader_next(r, &row)) == RI_OK) {
        size_t i = g->nrows++;
        if (i >= MAXR)
            continue;
        g->line[i] = row.line;
        g->flags[i] = row.flags;
        g->bad_col[i] = row.bad_col;
        g->ncells[i] = row.n;
        for (size_t c = 0; c < row.n && c < MAXC; c++) {
            if (strlen(row.cells[c]) != row.lens[c])
                return RI_ERR_INTERNAL;
            snprintf(g->cell[i][c], sizeof(g->cell[i][c]), "%s", row.cells[c]);
        }
    }
    g->end = rc;
    ri_reader_free(r);
    return RI_OK;
}

TEST(first_sheet_by_default)
{
    struct got g;
    REQUIRE(read_xlsx(NULL, SAMPLE, NULL, 0, &g) == RI_OK);
    CHECK_EQ_INT(g.end, RI_ERR_NOTFOUND);
    REQUIRE(g.nrows == 5);
    /* header from shared strings */
    CHECK_EQ_INT(g.line[0], 1);
    CHECK_EQ_INT(g.ncells[0], 5);
    CHECK_STR(g.cell[0][0], "id");
    CHECK_STR(g.cell[0][3], "close_date");
    /* rich text joined, phonetic run left out; numbers as written; inline string */
    CHECK_EQ_INT(g.line[1], 2);
    CHECK_STR(g.cell[1][0], "1");
    CHECK_STR(g.cell[1][1], "Acme Corp");
    CHECK_STR(g.cell[1][2], "1234.5");
    CHECK_STR(g.cell[1][4], "Prospecting");
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(g.flags[i], 0);
}

TEST(gaps_types_and_row_numbers)
{
    struct got g;
    REQUIRE(read_xlsx(NULL, SAMPLE, "Pipeline", 0, &g) == RI_OK);
    REQUIRE(g.nrows == 5);
    /* formula string, a gap in C, boolean */
    CHECK_EQ_INT(g.line[2], 3);
    CHECK_EQ_INT(g.ncells[2], 5);
    CHECK_STR(g.cell[2][1], "B&Co");
    CHECK_STR(g.cell[2][2], "");
    CHECK_STR(g.cell[2][4], "TRUE");
    /* row 4 is absent, row 5 keeps its sheet number; escaped XML; a cell without r= */
    CHECK_EQ_INT(g.line[3], 5);
    CHECK_STR(g.cell[3][1], "x < y & z");
    CHECK_STR(g.cell[3][4], "Negotiation");
    /* row 6 holds only a styled empty cell and is skipped; row 7 reaches column H */
    CHECK_EQ_INT(g.line[4], 7);
    CHECK_EQ_INT(g.ncells[4], 8);
    CHECK_STR(g.cell[4][5], "");
    CHECK_STR(g.cell[4][7], "far");
}

TEST(date_formats)
{
    struct got g;
    REQUIRE(read_xlsx(NULL, SAMPLE, NULL, 0, &g) == RI_OK);
    REQUIRE(g.nrows == 5);
    CHECK_STR(g.cell[1][3], "2024-01-01");          /* built-in 14 */
    CHECK_STR(g.cell[2][3], "2024-01-31 12:00:00"); /* custom yyyy-mm-dd hh:mm */
    CHECK_STR(g.cell[3][2], "12");                  /* custom 0.0" days": not a date */
    CHECK_STR(g.cell[3][3], "45366");               /* time-only format: left alone */
}

TEST(second_sheet_and_the_lotus_leap_day)
{
    struct got g;
    REQUIRE(read_xlsx(NULL, SAMPLE, "Deals", 0, &g) == RI_OK);
    REQUIRE(g.nrows == 6);
    CHECK_STR(g.cell[0][0], "deal");
    CHECK_STR(g.cell[1][0], "D-1");
    CHECK_STR(g.cell[1][1], "1900-02-28");
    CHECK_STR(g.cell[2][1], "60"); /* 1900-02-29 does not exist: kept as written */
    CHECK_STR(g.cell[3][1], "1900-03-01");
    CHECK_STR(g.cell[4][1], "1900-01-01");
    CHECK_STR(g.cell[5][1], "2025-01-01 18:00:00");
    CHECK_EQ_INT(g.line[5], 6);
}

TEST(date1904_system)
{
    struct got g;
    REQUIRE(read_xlsx(NULL, SAMPLE_1904, NULL, 0, &g) == RI_OK);
    REQUIRE(g.nrows == 3);
    CHECK_STR(g.cell[1][0], "2024-01-01");
    CHECK_STR(g.cell[2][0], "1904-01-01");
}

TEST(many_rows_across_read_chunks)
{
    struct ri_reader *r = NULL;
    struct ri_row row;
    long n = 0, bad = 0;
    ri_err rc;
    REQUIRE(ri_reader_open(NULL, "tests/data/many_rows.xlsx", NULL, &r) == RI_OK);
    while ((rc = ri_reader_next(r, &row)) == RI_OK) {
        char want[32];
        size_t wl;
        n++;
        snprintf(want, sizeof(want), "%ld", n);
        wl = strlen(want);
        if (row.line != (uint64_t)n || row.n != 3 || row.flags || strcmp(row.cells[0], want) != 0)
            bad++;
        else if (row.lens[1] != 1080 + wl || strcmp(row.cells[1] + 1080, want) != 0)
            bad++;
        if (n == 1)
            CHECK_STR(row.cells[2], "2023-03-16");
        if (n == 600)
            CHECK_STR(row.cells[2], "2024-11-04");
    }
    CHECK_EQ_INT(rc, RI_ERR_NOTFOUND);
    CHECK_EQ_INT(n, 600);
    CHECK_EQ_INT(bad, 0);
    ri_reader_free(r);
}

TEST(unknown_sheet_is_notfound)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct got g;
    CHECK_EQ_INT(read_xlsx(ctx, SAMPLE, "Nope", 0, &g), RI_ERR_NOTFOUND);
    CHECK(strstr(ri_errmsg(ctx), "no sheet named 'Nope'") != NULL);
    ri_ctx_free(ctx);
}

TEST(field_cap_applies_to_xlsx)
{
    struct got g;
    REQUIRE(read_xlsx(NULL, SAMPLE, NULL, 4, &g) == RI_OK);
    REQUIRE(g.nrows == 5);
    CHECK(g.flags[0] & RI_ROW_TOO_LONG);
    CHECK_EQ_INT(g.bad_col[0], 2); /* "name" fits, "amount" is the first too long */
    CHECK_STR(g.cell[0][2], "amou");
    CHECK(g.flags[1] & RI_ROW_TOO_LONG);
    CHECK_STR(g.cell[1][1], "Acme");
}

static char *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc(n > 0 ? (size_t)n : 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return data;
}

TEST(from_memory_and_damaged_copies)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_reader *r = NULL;
    struct ri_row row;
    size_t len = 0, rows = 0;
    char *data = load(SAMPLE, &len);
    REQUIRE(data);
    REQUIRE(ri_xlsx_open_mem(ctx, data, len, NULL, &r) == RI_OK);
    while (ri_reader_next(r, &row) == RI_OK)
        rows++;
    CHECK_EQ_INT(rows, 5);
    ri_reader_free(r);
    /* truncated copies: an error or fewer rows, never a crash */
    for (size_t cut = 0; cut < len; cut += 97) {
        ri_err rc = ri_xlsx_open_mem(ctx, data, cut, NULL, &r);
        if (rc) {
            CHECK(r == NULL);
            CHECK(rc == RI_ERR_PARSE || rc == RI_ERR_NOTFOUND);
            CHECK(ri_errmsg(ctx)[0] != '\0');
            continue;
        }
        while (ri_reader_next(r, &row) == RI_OK)
            ;
        ri_reader_free(r);
    }
    /* not a zip at all */
    CHECK_EQ_INT(ri_xlsx_open_mem(ctx, "PK\3\4garbage", 11, NULL, &r), RI_ERR_PARSE);
    CHECK(strstr(ri_errmsg(ctx), "(memory)") != NULL);
    free(data);
    ri_ctx_free(ctx);
}

TEST(progress_reaches_the_sheet_size)
{
    struct ri_reader *r = NULL;
    struct ri_row row;
    uint64_t done = 0, total = 0;
    REQUIRE(ri_reader_open(NULL, SAMPLE, NULL, &r) == RI_OK);
    while (ri_reader_next(r, &row) == RI_OK)
        ;
    ri_reader_progress(r, &done, &total);
    CHECK(total > 500);
    CHECK_EQ_INT(done, total);
    ri_reader_free(r);
}

int main(void)
{
    BEGIN("test_xlsx");
    RUN(first_sheet_by_default);
    RUN(gaps_types_and_row_numbers);
    RUN(date_formats);
    RUN(second_sheet_and_the_lotus_leap_day);
    RUN(date1904_system);
    RUN(many_rows_across_read_chunks);
    RUN(unknown_sheet_is_notfound);
    RUN(field_cap_applies_to_xlsx);
    RUN(from_memory_and_damaged_copies);
    RUN(progress_reaches_the_sheet_size);
    return DONE();
}
