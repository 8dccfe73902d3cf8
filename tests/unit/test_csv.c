/*
 * test_csv.c - the CSV reader (src/csv.c): quoting, line numbers, recovery after bad
 * quotes, delimiters, limits, and two real exports from ../shared/data.
 */
#include <stdlib.h>
#include <unistd.h>

#include "ri_internal.h"
#include "harness.h"

/* Reads every row of an in-memory CSV; keeps a copy of the first rows for checks. */
#define MAXR 16
#define MAXC 8
struct got {
    size_t nrows;
    uint64_t line[MAXR];
    unsigned flags[MAXR];
    size_t bad_col[MAXR];
    size_t ncells[MAXR];
    char cell[MAXR][MAXC][64];
    size_t len[MAXR][MAXC];
    char delim;
    ri_err end;
};

static void collect(struct ri_reader *r, struct got *g)
{
    struct ri_row row;
    ri_err rc;
    memset(g, 0, sizeof(*g));
    g->delim = ri_reader_delimiter(r);
    while ((rc = ri_reader_next(r, &row)) == RI_OK) {
        size_t i = g->nrows++;
        if (i >= MAXR)
            continue;
        g->line[i] = row.line;
        g->flags[i] = row.flags;
        g->bad_col[i] = row.bad_col;
        g->ncells[i] = row.n;
        for (size_t c = 0; c < row.n && c < MAXC; c++) {
            g->len[i][c] = row.lens[c];
            snprintf(g->cell[i][c], sizeof(g->cell[i][c]), "%s", row.cells[c]);
        }
    }
    g->end = rc;
}

static ri_err read_mem(const char *data, size_t len, char delim, size_t max_field, struct got *g)
{
    struct ri_reader_opts opts = {delim, NULL, max_field};
    struct ri_reader *r = NULL;
    ri_err rc = ri_reader_open_mem(NULL, data, len, &opts, &r);
    if (rc)
        return rc;
    collect(r, g);
    ri_reader_free(r);
    return RI_OK;
}

#define READ_STR(s, g) read_mem((s), sizeof(s) - 1, 0, 0, (g))

/* Writes data to a temporary file and returns its name in path (for file-mode tests). */
static int write_temp(char *path, size_t size, const char *data, size_t len)
{
    const char *dir = getenv("TMPDIR");
    int fd;
    snprintf(path, size, "%s/ri_test_csv_XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd < 0)
        return -1;
    if (write(fd, data, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

TEST(quoted_newlines_and_doubled_quotes)
{
    struct got g;
    REQUIRE(READ_STR("id,text\n1,\"a\nb\"\n2,\"say \"\"hi\"\"\"\n3,x\n", &g) == RI_OK);
    CHECK_EQ_INT(g.end, RI_ERR_NOTFOUND);
    REQUIRE(g.nrows == 4);
    CHECK_EQ_INT(g.line[0], 1);
    CHECK_EQ_INT(g.line[1], 2);
    CHECK_STR(g.cell[1][1], "a\nb");
    CHECK_EQ_INT(g.line[2], 4);
    CHECK_STR(g.cell[2][1], "say \"hi\"");
    CHECK_EQ_INT(g.line[3], 5);
    CHECK_STR(g.cell[3][0], "3");
    for (size_t i = 0; i < 4; i++)
        CHECK_EQ_INT(g.flags[i], 0);
}

TEST(bom_is_skipped)
{
    struct got g;
    REQUIRE(READ_STR("\xEF\xBB\xBFname,amount\nx,1\n", &g) == RI_OK);
    REQUIRE(g.nrows == 2);
    CHECK_STR(g.cell[0][0], "name");
    CHECK_EQ_INT(g.len[0][0], 4);
    CHECK_EQ_INT(g.line[1], 2);
}

TEST(crlf_lines)
{
    struct got g;
    REQUIRE(READ_STR("a,b\r\n1,\"x\r\ny\"\r\n2,z\r\n", &g) == RI_OK);
    REQUIRE(g.nrows == 3);
    CHECK_STR(g.cell[0][1], "b");
    CHECK_EQ_INT(g.len[0][1], 1);
    CHECK_STR(g.cell[1][1], "x\r\ny");
    CHECK_EQ_INT(g.line[2], 4);
    CHECK_STR(g.cell[2][1], "z");
}

TEST(old_mac_line_ends)
{
    struct got g;
    REQUIRE(READ_STR("a;b\r1;2\r\r3;4\r", &g) == RI_OK);
    CHECK_EQ_INT(g.delim, ';');
    REQUIRE(g.nrows == 3);
    CHECK_EQ_INT(g.line[1], 2);
    CHECK_EQ_INT(g.line[2], 4);
    CHECK_STR(g.cell[2][1], "4");
}

TEST(lone_cr_ends_a_row_on_the_same_line)
{
    struct got g;
    REQUIRE(READ_STR("a,b\n1\r2,3\n4,5\n", &g) == RI_OK);
    REQUIRE(g.nrows == 4);
    CHECK_EQ_INT(g.ncells[1], 1);
    CHECK_EQ_INT(g.line[1], 2);
    CHECK_STR(g.cell[2][0], "2");
    CHECK_EQ_INT(g.line[2], 2);
    CHECK_EQ_INT(g.line[3], 3);
}

TEST(each_delimiter_is_detected)
{
    const char delims[] = {',', ';', '\t', '|'};
    for (size_t k = 0; k < sizeof(delims); k++) {
        char buf[128];
        struct got g;
        int n =
            snprintf(buf, sizeof(buf), "id%cname%camount\n1%c\"a%cb\"%c10\n2%cc%c20\n", delims[k],
                     delims[k], delims[k], delims[k], delims[k], delims[k], delims[k]);
        REQUIRE(read_mem(buf, (size_t)n, 0, 0, &g) == RI_OK);
        CHECK_EQ_INT(g.delim, delims[k]);
        REQUIRE(g.nrows == 3);
        CHECK_EQ_INT(g.ncells[0], 3);
        CHECK_EQ_INT(g.ncells[1], 3);
        CHECK_EQ_INT(g.ncells[2], 3);
        CHECK_EQ_INT(g.cell[1][1][1], delims[k]);
    }
}

TEST(semicolon_beats_decimal_commas)
{
    struct got g;
    REQUIRE(READ_STR("name;amount;prob\nx;1,5;0,1\ny;2,25;0,9\nz;3;1\n", &g) == RI_OK);
    CHECK_EQ_INT(g.delim, ';');
    REQUIRE(g.nrows == 4);
    CHECK_STR(g.cell[1][1], "1,5");
}

TEST(single_column_defaults_to_comma)
{
    struct got g;
    REQUIRE(READ_STR("name\nalpha\nbeta\n", &g) == RI_OK);
    CHECK_EQ_INT(g.delim, ',');
    CHECK_EQ_INT(g.nrows, 3);
}

TEST(forced_delimiter)
{
    struct got g;
    static const char s[] = "a;b,c\n1;2,3\n";
    REQUIRE(read_mem(s, sizeof(s) - 1, ',', 0, &g) == RI_OK);
    CHECK_EQ_INT(g.delim, ',');
    REQUIRE(g.nrows == 2);
    CHECK_EQ_INT(g.ncells[0], 2);
    CHECK_STR(g.cell[0][0], "a;b");
    REQUIRE(read_mem(s, sizeof(s) - 1, ';', 0, &g) == RI_OK);
    CHECK_STR(g.cell[1][1], "2,3");
    CHECK(read_mem(s, sizeof(s) - 1, '"', 0, &g) == RI_ERR_INVALID);
}

TEST(bad_quote_mid_file_then_good_rows)
{
    struct got g;
    REQUIRE(READ_STR("a,b\n1,x\"y\n2,ok\n3,\"q\"z,more\n4,\"multi\nline\"\n5,end\n", &g) == RI_OK);
    CHECK_EQ_INT(g.end, RI_ERR_NOTFOUND);
    REQUIRE(g.nrows == 6);
    CHECK_EQ_INT(g.line[1], 2);
    CHECK(g.flags[1] & RI_ROW_BAD_QUOTE);
    CHECK_STR(g.cell[1][0], "1");
    CHECK_EQ_INT(g.line[2], 3);
    CHECK_EQ_INT(g.flags[2], 0);
    CHECK_STR(g.cell[2][1], "ok");
    CHECK_EQ_INT(g.line[3], 4);
    CHECK(g.flags[3] & RI_ROW_BAD_QUOTE);
    CHECK_EQ_INT(g.line[4], 5);
    CHECK_EQ_INT(g.flags[4], 0);
    CHECK_STR(g.cell[4][1], "multi\nline");
    CHECK_EQ_INT(g.line[5], 7);
    CHECK_STR(g.cell[5][1], "end");
}

TEST(unterminated_quote_at_eof_recovers_following_rows)
{
    struct got g;
    REQUIRE(READ_STR("a,b\n1,\"open\n2,x\n3,y\n", &g) == RI_OK);
    CHECK_EQ_INT(g.end, RI_ERR_NOTFOUND);
    REQUIRE(g.nrows == 4);
    CHECK_EQ_INT(g.line[1], 2);
    CHECK(g.flags[1] & RI_ROW_BAD_QUOTE);
    CHECK_STR(g.cell[1][0], "1");
    CHECK_STR(g.cell[1][1], "open");
    CHECK_EQ_INT(g.line[2], 3);
    CHECK_EQ_INT(g.flags[2], 0);
    CHECK_STR(g.cell[2][1], "x");
    CHECK_EQ_INT(g.line[3], 4);
    CHECK_STR(g.cell[3][1], "y");
}

TEST(stray_quote_after_a_multiline_field)
{
    struct got g;
    /* the row of line 2 closes its first field on line 3, then opens one that never
     * closes: recovery restarts at line 3, which is bad on its own, and line 4 is kept */
    REQUIRE(READ_STR("a,b\n\"x\ny\",\"w\nc,d\n", &g) == RI_OK);
    REQUIRE(g.nrows == 4);
    CHECK_EQ_INT(g.line[1], 2);
    CHECK(g.flags[1] & RI_ROW_BAD_QUOTE);
    CHECK_STR(g.cell[1][0], "x\ny");
    CHECK_EQ_INT(g.line[2], 3);
    CHECK(g.flags[2] & RI_ROW_BAD_QUOTE);
    CHECK_EQ_INT(g.line[3], 4);
    CHECK_EQ_INT(g.flags[3], 0);
    CHECK_STR(g.cell[3][1], "d");
}

TEST(unterminated_quote_on_last_line)
{
    struct got g;
    REQUIRE(READ_STR("a,b\n1,\"open", &g) == RI_OK);
    REQUIRE(g.nrows == 2);
    CHECK(g.flags[1] & RI_ROW_BAD_QUOTE);
    CHECK_EQ_INT(g.line[1], 2);
}

TEST(unterminated_quote_in_a_file_seeks_back)
{
    char path[256];
    struct ri_reader *r = NULL;
    struct got g;
    struct ri_buf b = RI_BUF_INIT;
    /* enough rows after the stray quote that the file is read in several chunks */
    REQUIRE(ri_buf_adds(&b, "id,v\n1,\"stray\n") == RI_OK);
    for (int i = 2; i < 40000; i++)
        REQUIRE(ri_buf_addf(&b, "%d,value %d\n", i, i) == RI_OK);
    REQUIRE(write_temp(path, sizeof(path), b.buf, b.len) == 0);
    REQUIRE(ri_reader_open(NULL, path, NULL, &r) == RI_OK);
    collect(r, &g);
    ri_reader_free(r);
    unlink(path);
    ri_buf_release(&b);
    CHECK_EQ_INT(g.end, RI_ERR_NOTFOUND);
    CHECK_EQ_INT(g.nrows, 40000);
    CHECK(g.flags[1] & RI_ROW_BAD_QUOTE);
    CHECK_EQ_INT(g.line[2], 3);
    CHECK_STR(g.cell[2][1], "value 2");
    CHECK_EQ_INT(g.flags[2], 0);
}

TEST(field_of_10_mb_is_cut)
{
    size_t big = 10u * 1024 * 1024;
    size_t n = 0;
    char *s = malloc(big + 64);
    struct got g;
    REQUIRE(s);
    memcpy(s, "a,b\n1,", 6);
    n = 6;
    memset(s + n, 'x', big);
    n += big;
    memcpy(s + n, "\n2,ok\n", 6);
    n += 6;
    REQUIRE(read_mem(s, n, 0, 0, &g) == RI_OK);
    REQUIRE(g.nrows == 3);
    CHECK(g.flags[1] & RI_ROW_TOO_LONG);
    CHECK_EQ_INT(g.bad_col[1], 1);
    CHECK_EQ_INT(g.len[1][1], 1024 * 1024);
    CHECK_EQ_INT(g.line[2], 3);
    CHECK_EQ_INT(g.flags[2], 0);
    CHECK_STR(g.cell[2][1], "ok");
    /* the same, quoted and with embedded line ends, in the second column */
    memcpy(s, "a,b\n1,\"", 7);
    for (size_t i = 7; i < 7 + big; i++)
        s[i] = (i % 1000) ? 'y' : '\n';
    memcpy(s + 7 + big, "\"\n2,ok\n", 7);
    REQUIRE(read_mem(s, 14 + big, 0, 0, &g) == RI_OK);
    REQUIRE(g.nrows == 3);
    CHECK(g.flags[1] & RI_ROW_TOO_LONG);
    CHECK_EQ_INT(g.len[1][1], 1024 * 1024);
    CHECK_EQ_INT(g.line[2], 3 + big / 1000);
    CHECK_STR(g.cell[2][1], "ok");
    free(s);
}

TEST(small_field_cap_and_blank_runs)
{
    static const char utf8[] = "\"abcdefghi\xC3\xA9\",x\n";
    size_t run = 200000;
    char *s = malloc(run + 64);
    size_t n;
    struct got g;
    REQUIRE(s);
    /* "a" + many blanks + ",": libcsv strips the blanks, the field is "a" */
    s[0] = 'a';
    memset(s + 1, ' ', run);
    memcpy(s + 1 + run, ",z\n", 3);
    n = run + 4;
    REQUIRE(read_mem(s, n, ',', 10, &g) == RI_OK);
    REQUIRE(g.nrows == 1);
    CHECK_EQ_INT(g.flags[0], 0);
    CHECK_STR(g.cell[0][0], "a");
    /* the same blanks followed by text: they are content, so the field is cut to 10 */
    memcpy(s + 1 + run, "b,z\n", 4);
    REQUIRE(read_mem(s, n + 1, ',', 10, &g) == RI_OK);
    REQUIRE(g.nrows == 1);
    CHECK(g.flags[0] & RI_ROW_TOO_LONG);
    CHECK_EQ_INT(g.len[0][0], 10);
    CHECK_STR(g.cell[0][0], "a         ");
    CHECK_STR(g.cell[0][1], "z");
    /* a quoted field cut at the cap does not split a UTF-8 sequence */
    REQUIRE(read_mem(utf8, sizeof(utf8) - 1, ',', 10, &g) == RI_OK);
    CHECK(g.flags[0] & RI_ROW_TOO_LONG);
    CHECK_EQ_INT(g.len[0][0], 9);
    CHECK(!(g.flags[0] & RI_ROW_BAD_UTF8));
    free(s);
}

TEST(invalid_utf8_names_the_column)
{
    struct got g;
    REQUIRE(READ_STR("a,b,c\n1,caf\xC3\xA9,ok\n2,fine,\xFF\xFE\n3,x,y\n", &g) == RI_OK);
    REQUIRE(g.nrows == 4);
    CHECK_EQ_INT(g.flags[1], 0);
    CHECK(g.flags[2] & RI_ROW_BAD_UTF8);
    CHECK_EQ_INT(g.bad_col[2], 2);
    CHECK_EQ_INT(g.flags[3], 0);
}

TEST(nul_bytes_are_data)
{
    static const char s[] = "a,b\n1,x\0y\n\0,\xC0\x80\n";
    struct got g;
    REQUIRE(read_mem(s, sizeof(s) - 1, 0, 0, &g) == RI_OK);
    REQUIRE(g.nrows == 3);
    CHECK_EQ_INT(g.len[1][1], 3);
    CHECK_EQ_INT(g.flags[1], 0);
    CHECK_EQ_INT(g.len[2][0], 1);
    CHECK(g.flags[2] & RI_ROW_BAD_UTF8);
    CHECK_EQ_INT(g.bad_col[2], 1);
}

TEST(empty_inputs)
{
    struct got g;
    REQUIRE(read_mem("", 0, 0, 0, &g) == RI_OK);
    CHECK_EQ_INT(g.nrows, 0);
    CHECK_EQ_INT(g.end, RI_ERR_NOTFOUND);
    REQUIRE(READ_STR("\xEF\xBB\xBF", &g) == RI_OK);
    CHECK_EQ_INT(g.nrows, 0);
    REQUIRE(READ_STR("\n\r\n  \n", &g) == RI_OK);
    CHECK_EQ_INT(g.nrows, 0);
}

TEST(header_only_and_blank_lines)
{
    struct got g;
    REQUIRE(READ_STR("a,b,c\n", &g) == RI_OK);
    REQUIRE(g.nrows == 1);
    CHECK_EQ_INT(g.ncells[0], 3);
    REQUIRE(READ_STR("a,b\n\n\n1,2\n\n", &g) == RI_OK);
    REQUIRE(g.nrows == 2);
    CHECK_EQ_INT(g.line[1], 4);
}

TEST(missing_trailing_newline)
{
    struct got g;
    REQUIRE(READ_STR("a,b\n1,2", &g) == RI_OK);
    REQUIRE(g.nrows == 2);
    CHECK_STR(g.cell[1][1], "2");
    CHECK_EQ_INT(g.line[1], 2);
    REQUIRE(READ_STR("a,b\n1,\"x\"", &g) == RI_OK);
    REQUIRE(g.nrows == 2);
    CHECK_STR(g.cell[1][1], "x");
    CHECK_EQ_INT(g.flags[1], 0);
}

TEST(file_mode_line_numbers_across_chunks)
{
    char path[256];
    struct ri_reader *r = NULL;
    struct ri_buf b = RI_BUF_INIT;
    struct ri_row row;
    uint64_t expect_line = 2, done = 0, total = 0;
    long i = 0, bad = 0;
    ri_err rc;
    REQUIRE(ri_buf_adds(&b, "id;note;amount\r\n") == RI_OK);
    for (i = 0; i < 30000; i++) {
        if (i % 97 == 0)
            REQUIRE(ri_buf_addf(&b, "%ld;\"two\r\nlines \"\"q\"\"\";%ld\r\n", i, i * 10) == RI_OK);
        else
            REQUIRE(ri_buf_addf(&b, "%ld;plain text %ld;%ld\r\n", i, i, i * 10) == RI_OK);
    }
    REQUIRE(write_temp(path, sizeof(path), b.buf, b.len) == 0);
    REQUIRE(ri_reader_open(NULL, path, NULL, &r) == RI_OK);
    CHECK_STR(ri_reader_format(r), "csv");
    CHECK_EQ_INT(ri_reader_delimiter(r), ';');
    REQUIRE(ri_reader_next(r, &row) == RI_OK);
    CHECK_EQ_INT(row.line, 1);
    for (i = 0; (rc = ri_reader_next(r, &row)) == RI_OK; i++) {
        char want[32];
        snprintf(want, sizeof(want), "%ld", i * 10);
        if (row.line != expect_line || row.n != 3 || row.flags || strcmp(row.cells[2], want) != 0)
            bad++;
        if (i % 97 == 0 && strcmp(row.cells[1], "two\r\nlines \"q\"") != 0)
            bad++;
        expect_line += (i % 97 == 0) ? 2 : 1;
    }
    CHECK_EQ_INT(rc, RI_ERR_NOTFOUND);
    CHECK_EQ_INT(i, 30000);
    CHECK_EQ_INT(bad, 0);
    ri_reader_progress(r, &done, &total);
    CHECK_EQ_INT(total, b.len);
    CHECK_EQ_INT(done, total);
    ri_reader_free(r);
    unlink(path);
    ri_buf_release(&b);
}

TEST(missing_file_is_an_io_error)
{
    struct ri_ctx *ctx = ri_ctx_new();
    struct ri_reader *r = (struct ri_reader *)ctx;
    CHECK_EQ_INT(ri_reader_open(ctx, "tests/data/no-such-file.csv", NULL, &r), RI_ERR_IO);
    CHECK(r == NULL);
    CHECK(strstr(ri_errmsg(ctx), "cannot open 'tests/data/no-such-file.csv'") != NULL);
    ri_ctx_free(ctx);
}

static void count_file(const char *path, size_t *rows, size_t *bad_width, size_t width, char *d)
{
    struct ri_reader *r = NULL;
    struct ri_row row;
    *rows = 0;
    *bad_width = 0;
    if (ri_reader_open(NULL, path, NULL, &r) != RI_OK)
        return;
    *d = ri_reader_delimiter(r);
    while (ri_reader_next(r, &row) == RI_OK) {
        (*rows)++;
        if (row.n != width || row.flags)
            (*bad_width)++;
    }
    ri_reader_free(r);
}

TEST(real_salvirt_semicolon_crlf)
{
    size_t rows, bad;
    char d = 0;
    count_file("../shared/data/salvirt_b2b_sales/Salvirt_B2B_ML_dataset_HF.csv", &rows, &bad, 23,
               &d);
    CHECK_EQ_INT(rows, 449);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(d, ';');
}

TEST(real_maven_pipeline)
{
    size_t rows, bad;
    char d = 0;
    count_file("../shared/data/maven_crm_opportunities/sales_pipeline.csv", &rows, &bad, 8, &d);
    CHECK_EQ_INT(rows, 8801);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(d, ',');
}

int main(void)
{
    BEGIN("test_csv");
    RUN(quoted_newlines_and_doubled_quotes);
    RUN(bom_is_skipped);
    RUN(crlf_lines);
    RUN(old_mac_line_ends);
    RUN(lone_cr_ends_a_row_on_the_same_line);
    RUN(each_delimiter_is_detected);
    RUN(semicolon_beats_decimal_commas);
    RUN(single_column_defaults_to_comma);
    RUN(forced_delimiter);
    RUN(bad_quote_mid_file_then_good_rows);
    RUN(unterminated_quote_at_eof_recovers_following_rows);
    RUN(stray_quote_after_a_multiline_field);
    RUN(unterminated_quote_on_last_line);
    RUN(unterminated_quote_in_a_file_seeks_back);
    RUN(field_of_10_mb_is_cut);
    RUN(small_field_cap_and_blank_runs);
    RUN(invalid_utf8_names_the_column);
    RUN(nul_bytes_are_data);
    RUN(empty_inputs);
    RUN(header_only_and_blank_lines);
    RUN(missing_trailing_newline);
    RUN(file_mode_line_numbers_across_chunks);
    RUN(missing_file_is_an_io_error);
    RUN(real_salvirt_semicolon_crlf);
    RUN(real_maven_pipeline);
    return DONE();
}
