/*
 * test_simulate.c - the simulator, judged by reading its files back.
 *
 * A 20,000-deal pipeline is written into a temporary folder and read back with a small
 * CSV splitter of this file's own, so the checks do not share code with the simulator:
 * determinism, the shape and consistency of every file, the planted win-rate decline (rate
 * and mix), zombies, the optimism of rep-entered probabilities, volume growth, and the
 * error paths.
 */
#include "revintel.h"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_DEALS 20000

static char tmpdir[64];
static char dir_a[128], dir_b[128], dir_c[128];
static struct ri_sim_report rep_a;
static int have_data;

/* ------------------------------------------------------------------ helpers */

static void path_of(char *out, size_t size, const char *dir, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        }
        if (data) {
            data[n] = '\0';
            *len = (size_t)n;
        }
    }
    fclose(f);
    return data;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[512];
    if (!d) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        path_of(sub, sizeof(sub), path, e->d_name);
        rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

/* A CSV file split in place (RFC 4180 quoting): rows x cols cells, header excluded. */
struct table {
    char *data;
    size_t rows, cols;
    char **cell;
    char *header;
};

static size_t split_record(char **p, char **fields, size_t max)
{
    char *r = *p, *w = *p;
    size_t n = 0;
    for (;;) {
        char *start = w;
        if (*r == '"') {
            r++;
            for (;;) {
                if (*r == '\0')
                    break;
                if (*r == '"' && r[1] == '"') {
                    *w++ = '"';
                    r += 2;
                } else if (*r == '"') {
                    r++;
                    break;
                } else {
                    *w++ = *r++;
                }
            }
        }
        while (*r && *r != ',' && *r != '\n')
            *w++ = *r++;
        if (n < max)
            fields[n] = start;
        n++;
        if (*r == ',') {
            r++;
            *w++ = '\0';
            continue;
        }
        if (*r == '\n')
            r++;
        *w = '\0';
        break;
    }
    *p = r;
    return n;
}

/* Loads dir/name; 0 if it is missing or a row does not have the header's number of fields.
 * The table can be freed whatever happened. */
static int table_load(struct table *t, const char *dir, const char *name)
{
    static char empty[1];
    char path[256], *p, *f[64];
    size_t len, cap = 1024, n;
    memset(t, 0, sizeof(*t));
    path_of(path, sizeof(path), dir, name);
    t->data = read_file(path, &len);
    if (!t->data)
        return 0;
    p = strchr(t->data, '\n');
    if (!p) {
        fprintf(stderr, "%s: no header\n", path);
        return 0;
    }
    t->header = malloc((size_t)(p - t->data) + 1);
    memcpy(t->header, t->data, (size_t)(p - t->data));
    t->header[p - t->data] = '\0';
    p = t->data;
    t->cols = split_record(&p, f, 64);
    t->cell = malloc(cap * t->cols * sizeof(*t->cell));
    while (*p) {
        if (t->rows == cap) {
            cap *= 2;
            t->cell = realloc(t->cell, cap * t->cols * sizeof(*t->cell));
        }
        for (size_t c = 0; c < t->cols; c++)
            t->cell[t->rows * t->cols + c] = (char *)empty;
        n = split_record(&p, t->cell + t->rows * t->cols, t->cols);
        if (n != t->cols) {
            fprintf(stderr, "%s: row %zu has %zu fields, not %zu\n", path, t->rows + 1, n, t->cols);
            return 0;
        }
        t->rows++;
    }
    return 1;
}

static const char *cell(const struct table *t, size_t row, size_t col)
{
    return t->cell[row * t->cols + col];
}

static void table_free(struct table *t)
{
    free(t->data);
    free(t->cell);
    free(t->header);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Strict YYYY-MM-DD; -1 if malformed. */
static int64_t day_of(const char *s)
{
    int y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    y = (int)strtol(s, NULL, 10);
    m = (int)strtol(s + 5, NULL, 10);
    d = (int)strtol(s + 8, NULL, 10);
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    return days_from_civil(y, m, d);
}

/* Quarter number (year * 4 + quarter index) of a YYYY-MM-DD date. */
static int quarter_of(const char *s)
{
    return (int)strtol(s, NULL, 10) * 4 + ((int)strtol(s + 5, NULL, 10) - 1) / 3;
}

static int is_amount(const char *s)
{
    size_t n = strlen(s), i = 0;
    if (n < 4 || s[n - 3] != '.')
        return 0;
    for (; i < n; i++)
        if (i != n - 3 && (s[i] < '0' || s[i] > '9'))
            return 0;
    return 1;
}

static int simulate_into(const char *dir, uint64_t deals, uint64_t seed, ri_time as_of,
                         struct ri_sim_report *rep)
{
    struct ri_sim_opts o = RI_SIM_OPTS_INIT;
    struct ri_ctx *ctx = ri_ctx_new();
    ri_err rc;
    o.outdir = dir;
    o.deals = deals;
    o.seed = seed;
    o.as_of = as_of;
    rc = ri_simulate(ctx, &o, rep);
    if (rc)
        fprintf(stderr, "ri_simulate: %s\n", ri_errmsg(ctx));
    ri_ctx_free(ctx);
    return rc == RI_OK;
}

static int ensure_data(void)
{
    if (!have_data) {
        have_data = -1;
        snprintf(dir_a, sizeof(dir_a), "%s/a", tmpdir);
        if (simulate_into(dir_a, N_DEALS, 1, RI_TIME_NONE, &rep_a))
            have_data = 1;
    }
    return have_data == 1;
}

static const char *const files[] = {"opportunities.csv", "stage_history.csv",  "accounts.csv",
                                    "tickets.csv",       "truth/outcomes.csv", "truth/planted.md"};

static int same_file(const char *d1, const char *d2, const char *name)
{
    char p1[256], p2[256], *a, *b;
    size_t na = 0, nb = 0;
    int same;
    path_of(p1, sizeof(p1), d1, name);
    path_of(p2, sizeof(p2), d2, name);
    a = read_file(p1, &na);
    b = read_file(p2, &nb);
    same = a && b && na == nb && memcmp(a, b, na) == 0;
    free(a);
    free(b);
    return same;
}

/* Columns of opportunities.csv. */
enum {
    O_ID,
    O_NAME,
    O_ACCOUNT,
    O_OWNER,
    O_MANAGER,
    O_REGION,
    O_INDUSTRY,
    O_PRODUCT,
    O_SOURCE,
    O_TYPE,
    O_CREATED,
    O_STAGE,
    O_STATUS,
    O_AMOUNT,
    O_CLOSE,
    O_PROB,
    O_FCAT,
    O_LOSS
};
enum { H_ID, H_STAGE, H_AT, H_AMOUNT, H_CLOSE, H_PROB, H_FCAT };
enum { T_ID, T_OUTCOME, T_CLOSE, T_AMOUNT };

static const int64_t AS_OF_DAY = 20634; /* 2026-06-30 */

/* ------------------------------------------------------------------ tests */

TEST(test_errors)
{
    struct ri_sim_opts o = RI_SIM_OPTS_INIT;
    struct ri_sim_report rep;
    struct ri_ctx *ctx = ri_ctx_new();
    char file[128], sub[160];
    FILE *f;

    o.outdir = tmpdir;
    o.deals = 0;
    memset(&rep, 0xff, sizeof(rep));
    CHECK_EQ_INT(ri_simulate(ctx, &o, &rep), RI_ERR_INVALID);
    CHECK(strstr(ri_errmsg(ctx), "deals") != NULL);
    CHECK_EQ_INT(rep.deals, 0);

    o.deals = 50000001;
    CHECK_EQ_INT(ri_simulate(ctx, &o, &rep), RI_ERR_INVALID);
    CHECK(strstr(ri_errmsg(ctx), "50000000") != NULL);

    o.outdir = NULL;
    o.deals = 10;
    CHECK_EQ_INT(ri_simulate(ctx, &o, &rep), RI_ERR_INVALID);

    /* a folder below a regular file cannot be created, even by root */
    snprintf(file, sizeof(file), "%s/plainfile", tmpdir);
    f = fopen(file, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    snprintf(sub, sizeof(sub), "%s/out", file);
    o.outdir = sub;
    CHECK_EQ_INT(ri_simulate(ctx, &o, &rep), RI_ERR_IO);
    CHECK(strstr(ri_errmsg(ctx), "cannot write '") != NULL);
    CHECK(strstr(ri_errmsg(ctx), "Not a directory") != NULL);
    o.outdir = file; /* the folder itself is a file */
    CHECK_EQ_INT(ri_simulate(ctx, &o, &rep), RI_ERR_IO);
    unlink(file);
    ri_ctx_free(ctx);
}

TEST(test_deterministic)
{
    struct ri_sim_report rb, rc;
    REQUIRE(ensure_data());
    snprintf(dir_b, sizeof(dir_b), "%s/b", tmpdir);
    snprintf(dir_c, sizeof(dir_c), "%s/c", tmpdir);
    REQUIRE(simulate_into(dir_b, N_DEALS, 1, RI_TIME_NONE, &rb));
    REQUIRE(simulate_into(dir_c, N_DEALS, 2, RI_TIME_NONE, &rc));
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (!same_file(dir_a, dir_b, files[i])) {
            fprintf(stderr, "differs with the same seed: %s\n", files[i]);
            CHECK(0);
        }
    }
    CHECK(!same_file(dir_a, dir_c, "opportunities.csv"));
    CHECK(!same_file(dir_a, dir_c, "stage_history.csv"));
    CHECK_EQ_INT(rb.history_rows, rep_a.history_rows);
    CHECK_EQ_INT(rb.zombies, rep_a.zombies);
    rm_tree(dir_b);
    rm_tree(dir_c);
}

TEST(test_opportunities_and_truth)
{
    struct table o, t;
    uint64_t open = 0, won = 0, lost = 0;
    char want[32];
    int ok;
    REQUIRE(ensure_data());
    ok = table_load(&o, dir_a, "opportunities.csv");
    ok &= table_load(&t, dir_a, "truth/outcomes.csv");
    CHECK_STR(o.header, "id,name,account,owner,manager,region,industry,product,lead_source,type,"
                        "created_date,stage,status,amount,close_date,probability,"
                        "forecast_category,loss_reason");
    CHECK_STR(t.header, "id,outcome,close_date,amount");
    CHECK(ok && t.rows == o.rows);
    if (!ok || t.rows != o.rows)
        goto out;
    CHECK_EQ_INT(o.rows, N_DEALS);
    CHECK_EQ_INT(o.rows, rep_a.deals);
    for (size_t i = 0; i < o.rows; i++) {
        const char *stage = cell(&o, i, O_STAGE), *status = cell(&o, i, O_STATUS);
        const char *fcat = cell(&o, i, O_FCAT), *outcome = cell(&t, i, T_OUTCOME);
        int64_t created = day_of(cell(&o, i, O_CREATED)), close = day_of(cell(&o, i, O_CLOSE));
        long prob = strtol(cell(&o, i, O_PROB), NULL, 10);
        int is_open = !strcmp(status, "open");
        int bad = 0;

        snprintf(want, sizeof(want), "OPP-%07zu", i + 1);
        bad |= strcmp(cell(&o, i, O_ID), want) != 0 || strcmp(cell(&t, i, T_ID), want) != 0;
        bad |= created < 0 || close < 0 || close < created || created > AS_OF_DAY ||
               created < AS_OF_DAY - 1096;
        bad |= !is_amount(cell(&o, i, O_AMOUNT)) || !is_amount(cell(&t, i, T_AMOUNT));
        bad |= prob < 0 || prob > 100;
        bad |= strcmp(outcome, "won") != 0 && strcmp(outcome, "lost") != 0;
        bad |= day_of(cell(&t, i, T_CLOSE)) < created;
        bad |= !*cell(&o, i, O_ACCOUNT) || !*cell(&o, i, O_OWNER) || !*cell(&o, i, O_MANAGER);
        if (is_open) {
            open++;
            bad |= !strcmp(stage, "Closed Won") || !strcmp(stage, "Closed Lost");
            bad |= strcmp(fcat, prob >= 70 ? "Commit" : prob >= 40 ? "Best Case" : "Pipeline") != 0;
            bad |= *cell(&o, i, O_LOSS) != '\0';
        } else {
            int w = !strcmp(status, "won");
            won += w;
            lost += !w;
            bad |= strcmp(stage, w ? "Closed Won" : "Closed Lost") != 0;
            bad |= w ? strcmp(status, "won") != 0 : strcmp(status, "lost") != 0;
            bad |= prob != (w ? 100 : 0) || strcmp(fcat, w ? "Closed" : "Omitted") != 0;
            bad |= w ? *cell(&o, i, O_LOSS) != '\0' : *cell(&o, i, O_LOSS) == '\0';
            bad |= close > AS_OF_DAY;
            /* a deal closed at as_of is the same in the CRM and in truth */
            bad |= strcmp(outcome, status) != 0 ||
                   strcmp(cell(&t, i, T_CLOSE), cell(&o, i, O_CLOSE)) != 0 ||
                   strcmp(cell(&t, i, T_AMOUNT), cell(&o, i, O_AMOUNT)) != 0;
        }
        if (bad) {
            fprintf(stderr, "bad deal row %zu (%s)\n", i + 1, cell(&o, i, O_ID));
            CHECK(0);
            break;
        }
    }
    CHECK_EQ_INT(open, rep_a.open);
    CHECK_EQ_INT(won, rep_a.won);
    CHECK_EQ_INT(lost, rep_a.lost);
    /* overall closed win rate in the intended band */
    CHECK((double)won / (double)(won + lost) >= 0.25 && (double)won / (double)(won + lost) <= 0.35);
out:
    table_free(&o);
    table_free(&t);
}

TEST(test_history)
{
    struct table o, h;
    size_t j = 0, with_skip = 0, with_regress = 0, pushes = 0;
    static const char *const order[] = {"Prospecting", "Qualification", "Discovery", "Proposal",
                                        "Negotiation"};
    int ok;
    REQUIRE(ensure_data());
    ok = table_load(&o, dir_a, "opportunities.csv");
    ok &= table_load(&h, dir_a, "stage_history.csv");
    CHECK(ok);
    if (!ok)
        goto out;
    CHECK_STR(h.header,
              "opportunity_id,stage,changed_at,amount,close_date,probability,forecast_category");
    CHECK_EQ_INT(h.rows, rep_a.history_rows);
    /* about five rows per deal */
    CHECK((double)h.rows / (double)o.rows > 4.0 && (double)h.rows / (double)o.rows < 6.5);
    for (size_t i = 0; i < o.rows; i++) {
        const char *id = cell(&o, i, O_ID);
        size_t first = j, last;
        int bad = 0, skipped = 0, regressed = 0, prev_rank = 0;
        while (j < h.rows && !strcmp(cell(&h, j, H_ID), id))
            j++;
        if (j == first) {
            fprintf(stderr, "%s has no history\n", id);
            CHECK(0);
            break;
        }
        last = j - 1;
        bad |= strcmp(cell(&h, first, H_STAGE), "Prospecting") != 0;
        bad |= strcmp(cell(&h, first, H_AT), cell(&o, i, O_CREATED)) != 0;
        for (size_t k = first; k <= last; k++) {
            int64_t at = day_of(cell(&h, k, H_AT));
            int rank = -1;
            bad |= at < 0 || at > AS_OF_DAY || !is_amount(cell(&h, k, H_AMOUNT));
            bad |= day_of(cell(&h, k, H_CLOSE)) < 0;
            if (k > first) {
                bad |= at < day_of(cell(&h, k - 1, H_AT));
                pushes += strcmp(cell(&h, k, H_CLOSE), cell(&h, k - 1, H_CLOSE)) != 0 &&
                          !strcmp(cell(&h, k, H_STAGE), cell(&h, k - 1, H_STAGE));
            }
            for (int s = 0; s < 5; s++)
                if (!strcmp(cell(&h, k, H_STAGE), order[s]))
                    rank = s;
            if (rank >= 0 && k > first) {
                skipped |= rank > prev_rank + 1;
                regressed |= rank < prev_rank;
            }
            if (rank >= 0)
                prev_rank = rank;
        }
        with_skip += (size_t)skipped;
        with_regress += (size_t)regressed;
        /* the last history row is the deal as the CRM shows it */
        bad |= strcmp(cell(&h, last, H_STAGE), cell(&o, i, O_STAGE)) != 0;
        bad |= strcmp(cell(&h, last, H_AMOUNT), cell(&o, i, O_AMOUNT)) != 0;
        bad |= strcmp(cell(&h, last, H_CLOSE), cell(&o, i, O_CLOSE)) != 0;
        bad |= strcmp(cell(&h, last, H_PROB), cell(&o, i, O_PROB)) != 0;
        bad |= strcmp(cell(&h, last, H_FCAT), cell(&o, i, O_FCAT)) != 0;
        if (strcmp(cell(&o, i, O_STATUS), "open") != 0)
            bad |= strcmp(cell(&h, last, H_AT), cell(&o, i, O_CLOSE)) != 0;
        if (bad) {
            fprintf(stderr, "bad history for %s\n", id);
            CHECK(0);
            break;
        }
    }
    CHECK_EQ_INT(j, h.rows); /* no rows for unknown deals, no rows out of id order */
    /* about 10 % skip a stage and 5 % regress; pushes are common */
    CHECK(with_skip > o.rows / 40 && with_skip < o.rows / 5);
    CHECK(with_regress > o.rows / 100 && with_regress < o.rows / 10);
    CHECK(pushes > o.rows / 4);
out:
    table_free(&o);
    table_free(&h);
}

struct named {
    const char *name;
    size_t row;
};

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static const struct named *find_named(const struct named *v, size_t n, const char *name)
{
    struct named key = {name, 0};
    return bsearch(&key, v, n, sizeof(*v), cmp_named);
}

TEST(test_accounts_and_tickets)
{
    struct table o, a, k;
    struct named *names = NULL;
    size_t repeat = 0, quoted = 0;
    int ok;
    REQUIRE(ensure_data());
    ok = table_load(&o, dir_a, "opportunities.csv");
    ok &= table_load(&a, dir_a, "accounts.csv");
    ok &= table_load(&k, dir_a, "tickets.csv");
    CHECK(ok);
    if (!ok)
        goto out;
    CHECK_STR(a.header, "account,industry,region,employees,annual_revenue,created_date");
    CHECK_STR(k.header, "ticket_id,account,opened_at,resolved_at,priority,team");
    CHECK_EQ_INT(a.rows, rep_a.accounts);
    CHECK_EQ_INT(k.rows, rep_a.tickets);
    CHECK(k.rows > 0);
    /* account names are unique; rows point into a sorted copy of (name, row) pairs */
    names = malloc(a.rows * sizeof(*names));
    if (!names)
        goto out;
    for (size_t i = 0; i < a.rows; i++) {
        names[i].name = cell(&a, i, 0);
        names[i].row = i;
        quoted += strchr(cell(&a, i, 0), ',') != NULL;
    }
    qsort(names, a.rows, sizeof(*names), cmp_named);
    for (size_t i = 1; i < a.rows; i++)
        CHECK(strcmp(names[i - 1].name, names[i].name) != 0);
    CHECK(quoted > 0); /* "..., Inc." names exercise the quoting */
    for (size_t i = 0; i < o.rows; i++) {
        const struct named *hit = find_named(names, a.rows, cell(&o, i, O_ACCOUNT));
        size_t row;
        if (!hit) {
            fprintf(stderr, "unknown account '%s'\n", cell(&o, i, O_ACCOUNT));
            CHECK(0);
            break;
        }
        row = hit->row;
        CHECK(day_of(cell(&a, row, 5)) <= day_of(cell(&o, i, O_CREATED)));
        CHECK(!strcmp(cell(&a, row, 2), cell(&o, i, O_REGION)));
        CHECK(!strcmp(cell(&a, row, 1), cell(&o, i, O_INDUSTRY)));
        repeat += strcmp(cell(&o, i, O_TYPE), "New Business") != 0;
    }
    CHECK(repeat > o.rows / 5); /* upsells and renewals of existing customers */
    for (size_t i = 0; i < k.rows; i++) {
        const char *res = cell(&k, i, 3);
        int64_t opened = day_of(cell(&k, i, 2));
        int bad = !find_named(names, a.rows, cell(&k, i, 1));
        bad |= opened < 0 || opened > AS_OF_DAY;
        bad |= *res && (day_of(res) < opened || day_of(res) > AS_OF_DAY);
        if (bad) {
            fprintf(stderr, "bad ticket row %zu\n", i + 1);
            CHECK(0);
            break;
        }
    }
out:
    free(names);
    table_free(&o);
    table_free(&a);
    table_free(&k);
}

struct rate {
    uint64_t won, closed;
};

static double pct(struct rate r)
{
    return r.closed ? 100.0 * (double)r.won / (double)r.closed : 0;
}

TEST(test_planted_decline)
{
    struct table o;
    /* as_of 2026-06-30 ends a quarter: the last complete quarter is 2026-Q2 */
    int q_last = 2026 * 4 + 1, q_prev = q_last - 1;
    struct rate all[2] = {{0, 0}, {0, 0}}, ho[2] = {{0, 0}, {0, 0}};
    uint64_t recent = 0, recent_ob = 0, year_before = 0, year_before_ob = 0;
    uint64_t last6 = 0, last6_year_before = 0;
    REQUIRE(ensure_data());
    if (!table_load(&o, dir_a, "opportunities.csv")) {
        CHECK(0);
        goto out;
    }
    for (size_t i = 0; i < o.rows; i++) {
        const char *status = cell(&o, i, O_STATUS), *created = cell(&o, i, O_CREATED);
        int ob = !strcmp(cell(&o, i, O_SOURCE), "Outbound");
        int is_ho = ob && !strcmp(cell(&o, i, O_INDUSTRY), "Healthcare");
        if (strcmp(status, "open") != 0) {
            int q = quarter_of(cell(&o, i, O_CLOSE));
            int w = !strcmp(status, "won");
            if (q == q_prev || q == q_last) {
                all[q - q_prev].closed++;
                all[q - q_prev].won += (uint64_t)w;
                ho[q - q_prev].closed += (uint64_t)is_ho;
                ho[q - q_prev].won += (uint64_t)(is_ho && w);
            }
        }
        if (strcmp(created, "2026-01-01") >= 0) {
            recent++;
            recent_ob += (uint64_t)ob;
            last6++;
        } else if (strcmp(created, "2025-01-01") >= 0) {
            year_before++;
            year_before_ob += (uint64_t)ob;
            last6_year_before += strcmp(created, "2025-07-01") < 0;
        }
    }
    fprintf(stderr,
            "win rate 2026-Q1 %.1f %% -> 2026-Q2 %.1f %%; Healthcare x Outbound "
            "%.1f %% -> %.1f %%\n",
            pct(all[0]), pct(all[1]), pct(ho[0]), pct(ho[1]));
    CHECK(all[0].closed > 1000 && all[1].closed > 1000 && ho[0].closed > 30 && ho[1].closed > 30);
    CHECK(pct(all[0]) - pct(all[1]) >= 3.0);
    CHECK(pct(ho[0]) - pct(ho[1]) > pct(all[0]) - pct(all[1]));
    /* mix shift: more Outbound in the last two quarters than in the year before */
    CHECK((double)recent_ob / (double)recent > (double)year_before_ob / (double)year_before + 0.05);
    /* volume grows: the last six months against the same months a year before */
    CHECK(last6 > last6_year_before);
out:
    table_free(&o);
}

TEST(test_zombies_and_optimism)
{
    struct table o, t;
    uint64_t stale = 0, stale_lost = 0, open = 0, open_won = 0;
    double prob_sum = 0;
    int ok;
    REQUIRE(ensure_data());
    ok = table_load(&o, dir_a, "opportunities.csv");
    ok &= table_load(&t, dir_a, "truth/outcomes.csv");
    CHECK(ok && o.rows == t.rows);
    if (!ok || o.rows != t.rows)
        goto out;
    for (size_t i = 0; i < o.rows; i++) {
        int64_t close;
        int won;
        if (strcmp(cell(&o, i, O_STATUS), "open") != 0)
            continue;
        close = day_of(cell(&o, i, O_CLOSE));
        won = !strcmp(cell(&t, i, T_OUTCOME), "won");
        open++;
        open_won += (uint64_t)won;
        prob_sum += (double)strtol(cell(&o, i, O_PROB), NULL, 10);
        if (close < AS_OF_DAY - 30) {
            stale++;
            stale_lost += (uint64_t)!won;
        }
    }
    /* zombies: open, close date well in the past, and really lost */
    CHECK(stale > 0);
    CHECK_EQ_INT(stale_lost, stale);
    CHECK(rep_a.zombies > 0);
    CHECK((double)rep_a.zombies / N_DEALS >= 0.02 && (double)rep_a.zombies / N_DEALS <= 0.06);
    /* reps are optimistic: their mean probability is well above what happens */
    CHECK(open > 0);
    if (!open)
        goto out;
    fprintf(stderr, "open deals: mean rep probability %.1f %%, true win rate %.1f %%\n",
            prob_sum / (double)open, 100.0 * (double)open_won / (double)open);
    CHECK(prob_sum / (double)open > 100.0 * (double)open_won / (double)open + 10.0);
out:
    table_free(&o);
    table_free(&t);
}

TEST(test_as_of)
{
    struct ri_sim_report rep;
    struct table o, h;
    char dir[128];
    int64_t as_of = days_from_civil(2024, 3, 15);
    int ok;
    snprintf(dir, sizeof(dir), "%s/asof", tmpdir);
    REQUIRE(simulate_into(dir, 500, 9, (ri_time)as_of * RI_DAY + 3600, &rep));
    CHECK_EQ_INT(rep.deals, 500);
    ok = table_load(&o, dir, "opportunities.csv");
    ok &= table_load(&h, dir, "stage_history.csv");
    CHECK(ok);
    if (!ok)
        goto out;
    CHECK_EQ_INT(o.rows, 500);
    for (size_t i = 0; i < o.rows; i++) {
        CHECK(day_of(cell(&o, i, O_CREATED)) <= as_of);
        CHECK(day_of(cell(&o, i, O_CREATED)) > as_of - 1096);
    }
    for (size_t i = 0; i < h.rows; i++)
        CHECK(day_of(cell(&h, i, H_AT)) <= as_of);
out:
    table_free(&o);
    table_free(&h);
    rm_tree(dir);
}

int main(void)
{
    BEGIN("test_simulate");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_simulate.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    RUN(test_errors);
    RUN(test_deterministic);
    RUN(test_opportunities_and_truth);
    RUN(test_history);
    RUN(test_accounts_and_tickets);
    RUN(test_planted_decline);
    RUN(test_zombies_and_optimism);
    RUN(test_as_of);
    rm_tree(tmpdir);
    return DONE();
}
