/*
 * test_parse.c - unit tests of src/parse.c: integers, floats, UTF-8, the calendar,
 * dates, date-style detection and money amounts.
 *
 * Most tests are tables of {input, style or locale, expected code, expected value}
 * rows, read as data (jq's style). Expected epoch seconds were computed outside this
 * code with GNU date, for example `date -u -d '2024-03-05 14:07' +%s`; the command is
 * in a comment next to each literal. Every input is copied into a heap block of its
 * exact length without a terminating NUL, so that a read past len shows under ASan.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ri_internal.h"
#include "harness.h"

/* A heap copy of exactly len bytes, without a NUL, for out-of-bounds detection. */
static char *exact(const char *s, size_t len)
{
    char *p = ri_malloc(len ? len : 1);
    if (len)
        memcpy(p, s, len);
    return p;
}

/* Bit-for-bit equality: tells -0.0 from 0.0 and catches a last-place rounding slip. */
static bool same_double(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    return x == y;
}

/* ------------------------------------------------------------------ integers */

struct i64_case {
    const char *in;
    ri_err rc;
    int64_t want;
};

static const struct i64_case i64_cases[] = {
    {"0", RI_OK, 0},
    {"42", RI_OK, 42},
    {" 42 ", RI_OK, 42},
    {"\t-17\r\n", RI_OK, -17},
    {"+5", RI_OK, 5},
    {"-0", RI_OK, 0},
    {"007", RI_OK, 7},
    {"9223372036854775807", RI_OK, INT64_MAX},
    {"-9223372036854775808", RI_OK, INT64_MIN},
    {"9223372036854775808", RI_ERR_NUMERIC, 0},
    {"-9223372036854775809", RI_ERR_NUMERIC, 0},
    {"99999999999999999999999", RI_ERR_NUMERIC, 0},
    {"", RI_ERR_PARSE, 0},
    {"   ", RI_ERR_PARSE, 0},
    {"+", RI_ERR_PARSE, 0},
    {"-", RI_ERR_PARSE, 0},
    {"- 5", RI_ERR_PARSE, 0},
    {"+-5", RI_ERR_PARSE, 0},
    {"4 2", RI_ERR_PARSE, 0},
    {"12a", RI_ERR_PARSE, 0},
    {"0x10", RI_ERR_PARSE, 0},
    {"1e3", RI_ERR_PARSE, 0},
    {"1.0", RI_ERR_PARSE, 0},
    {"abc", RI_ERR_PARSE, 0},
    /* 65 characters: longer than the stack copy, refused rather than truncated */
    {"00000000000000000000000000000000000000000000000000000000000000001", RI_ERR_PARSE, 0},
};

TEST(test_i64_table)
{
    size_t i;
    for (i = 0; i < RI_ARRAY_SIZE(i64_cases); i++) {
        const struct i64_case *c = &i64_cases[i];
        size_t len = strlen(c->in);
        char *s = exact(c->in, len);
        int64_t v = 12345;
        ri_err rc = ri_parse_i64(s, len, &v);
        if (rc != c->rc || v != c->want)
            fprintf(stderr, "i64 case \"%s\": rc %d value %lld\n", c->in, (int)rc, (long long)v);
        CHECK_EQ_INT(rc, c->rc);
        CHECK_EQ_INT(v, c->want);
        ri_free(s);
    }
}

TEST(test_i64_len_respected)
{
    int64_t v = 0;
    /* only the first three bytes belong to the value */
    CHECK_EQ_INT(ri_parse_i64("123456", 3, &v), RI_OK);
    CHECK_EQ_INT(v, 123);
    CHECK_EQ_INT(ri_parse_i64("12 x", 2, &v), RI_OK);
    CHECK_EQ_INT(v, 12);
    CHECK_EQ_INT(ri_parse_i64(NULL, 0, &v), RI_ERR_PARSE);
}

/* ------------------------------------------------------------------ floats */

struct f64_case {
    const char *in;
    ri_err rc;
    double want;
};

static const struct f64_case f64_cases[] = {
    {"1.5", RI_OK, 1.5},
    {" -2.5e3 ", RI_OK, -2500.0},
    {".5", RI_OK, 0.5},
    {"5.", RI_OK, 5.0},
    {"+7", RI_OK, 7.0},
    {"1e5", RI_OK, 1e5},
    {"1E+05", RI_OK, 1e5},
    {"1e-5", RI_OK, 1e-5},
    {"0.1", RI_OK, 0.1},
    {"12345.67", RI_OK, 12345.67},
    {"0.000123", RI_OK, 0.000123},
    {"1.7976931348623157e308", RI_OK, 1.7976931348623157e308},
    {"123456789012345678901234567890", RI_OK, 1.2345678901234568e29},
    /* 2^53 + 1 is halfway between two doubles: ties to even gives 2^53 */
    {"9007199254740993", RI_OK, 9007199254740992.0},
    {"0e999999999", RI_OK, 0.0},
    {"1e309", RI_ERR_NUMERIC, 0.0},
    {"-1e309", RI_ERR_NUMERIC, 0.0},
    {"1e-400", RI_ERR_NUMERIC, 0.0},
    {"1e99999999999999999999", RI_ERR_NUMERIC, 0.0},
    {"nan", RI_ERR_PARSE, 0.0},
    {"NaN", RI_ERR_PARSE, 0.0},
    {"inf", RI_ERR_PARSE, 0.0},
    {"-inf", RI_ERR_PARSE, 0.0},
    {"Infinity", RI_ERR_PARSE, 0.0},
    {"0x1p3", RI_ERR_PARSE, 0.0},
    {"1.5x", RI_ERR_PARSE, 0.0},
    {"1,5", RI_ERR_PARSE, 0.0},
    {".", RI_ERR_PARSE, 0.0},
    {"e5", RI_ERR_PARSE, 0.0},
    {"1e", RI_ERR_PARSE, 0.0},
    {"1e+", RI_ERR_PARSE, 0.0},
    {"1..2", RI_ERR_PARSE, 0.0},
    {"--1", RI_ERR_PARSE, 0.0},
    {"", RI_ERR_PARSE, 0.0},
    {" ", RI_ERR_PARSE, 0.0},
};

TEST(test_f64_table)
{
    size_t i;
    for (i = 0; i < RI_ARRAY_SIZE(f64_cases); i++) {
        const struct f64_case *c = &f64_cases[i];
        size_t len = strlen(c->in);
        char *s = exact(c->in, len);
        double v = 99.0;
        ri_err rc = ri_parse_f64(s, len, &v);
        if (rc != c->rc || !same_double(v, c->want))
            fprintf(stderr, "f64 case \"%s\": rc %d value %.17g\n", c->in, (int)rc, v);
        CHECK_EQ_INT(rc, c->rc);
        CHECK(same_double(v, c->want));
        ri_free(s);
    }
}

TEST(test_f64_length_cap)
{
    char big[200];
    double v = 1.0;
    memset(big, '1', sizeof(big));
    CHECK_EQ_INT(ri_parse_f64(big, 128, &v), RI_OK);
    CHECK_EQ_INT(ri_parse_f64(big, 129, &v), RI_ERR_PARSE);
    CHECK_NEAR(v, 0.0, 0.0);
    CHECK_EQ_INT(ri_parse_f64("2.75xyz", 4, &v), RI_OK);
    CHECK_NEAR(v, 2.75, 0.0);
}

/* xorshift64*: a fixed sequence, so that a failure is reproducible */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

/* The exact fast path and the strtod slow path must both agree with strtod itself. */
TEST(test_f64_matches_strtod)
{
    char s[64];
    int i, bad = 0;
    for (i = 0; i < 200000 && bad < 5; i++) {
        uint64_t m = rng() >> (rng() % 64);
        int frac = (int)(rng() % 20), e = (int)(rng() % 80) - 40;
        int n;
        double mine = 0.0, ref;
        if (i % 3 == 0)
            n = snprintf(s, sizeof(s), "%llu", (unsigned long long)m);
        else
            n = snprintf(s, sizeof(s), "%llu.%0*llue%d", (unsigned long long)(m / 1000), frac,
                         (unsigned long long)(m % 1000), e);
        REQUIRE(n > 0 && (size_t)n < sizeof(s));
        errno = 0;
        ref = strtod(s, NULL);
        if (errno == ERANGE)
            continue;
        if (ri_parse_f64(s, (size_t)n, &mine) != RI_OK || !same_double(mine, ref)) {
            fprintf(stderr, "f64 differs from strtod on \"%s\": %.17g vs %.17g\n", s, mine, ref);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

/* ------------------------------------------------------------------ UTF-8 */

struct utf8_case {
    const char *in;
    size_t len;
    bool valid;
};

#define U8(s, v)                                                                                   \
 {                                                                                                 \
  s, sizeof(s) - 1, v                                                                              \
 }
static const struct utf8_case utf8_cases[] = {
    U8("", true),
    U8("hello, world", true),
    U8("h\xc3\xa9llo", true),              /* U+00E9 */
    U8("\xc2\x80", true),                  /* U+0080, smallest 2-byte */
    U8("\xdf\xbf", true),                  /* U+07FF */
    U8("\xe0\xa0\x80", true),              /* U+0800, smallest 3-byte */
    U8("\xe2\x82\xac", true),              /* euro sign */
    U8("\xed\x9f\xbf", true),              /* U+D7FF, just below the surrogates */
    U8("\xee\x80\x80", true),              /* U+E000, just above */
    U8("\xef\xbf\xbf", true),              /* U+FFFF */
    U8("\xf0\x90\x80\x80", true),          /* U+10000, smallest 4-byte */
    U8("\xf0\x9f\x98\x80", true),          /* emoji */
    U8("\xf4\x8f\xbf\xbf", true),          /* U+10FFFF, the last code point */
    U8("\x00", true),                      /* NUL is a character */
    U8("\xc0\x80", false),                 /* overlong NUL */
    U8("\xc1\xbf", false),                 /* overlong U+007F */
    U8("\xe0\x80\x80", false),             /* overlong 3-byte */
    U8("\xe0\x9f\xbf", false),             /* overlong U+07FF */
    U8("\xf0\x80\x80\x80", false),         /* overlong 4-byte */
    U8("\xf0\x8f\xbf\xbf", false),         /* overlong U+FFFF */
    U8("\xed\xa0\x80", false),             /* U+D800, high surrogate */
    U8("\xed\xbf\xbf", false),             /* U+DFFF, low surrogate */
    U8("\xed\xa0\xbd\xed\xb8\x80", false), /* CESU-8 surrogate pair */
    U8("\xf4\x90\x80\x80", false),         /* U+110000 */
    U8("\xf5\x80\x80\x80", false),
    U8("\xf8\x88\x80\x80\x80", false), /* 5-byte form */
    U8("\xfe", false),
    U8("\xff", false),
    U8("\x80", false), /* lone continuation */
    U8("a\xbf", false),
    U8("\xc3", false),         /* truncated 2-byte */
    U8("\xe2\x82", false),     /* truncated 3-byte */
    U8("\xf0\x9f\x98", false), /* truncated 4-byte */
    U8("\xc3(", false),        /* bad continuation */
    U8("\xe2(\xac", false),
    U8("\xe2\x82(", false),
    U8("\xf0\x9f(\x80", false),
    U8("\xf0\x9f\x98(", false),
    U8("abcdefgh\xc3\xa9", true), /* after a full 8-byte ASCII word */
    U8("abcdefgh\xc3", false),
};

TEST(test_utf8_table)
{
    size_t i;
    for (i = 0; i < RI_ARRAY_SIZE(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        char *s = exact(c->in, c->len);
        if (ri_utf8_valid(s, c->len) != c->valid)
            fprintf(stderr, "utf8 case %zu: expected %d\n", i, (int)c->valid);
        CHECK(ri_utf8_valid(s, c->len) == c->valid);
        ri_free(s);
    }
    /* a valid sequence cut by len is truncated */
    CHECK(!ri_utf8_valid("\xc3\xa9", 1));
    CHECK(ri_utf8_valid(NULL, 0));
}

/* Every offset of a bad or good multi-byte sequence in a long ASCII run, so that the
 * eight-byte fast path is crossed at every alignment. */
TEST(test_utf8_alignment)
{
    char buf[100];
    size_t i;
    for (i = 0; i + 4 <= sizeof(buf); i++) {
        memset(buf, 'x', sizeof(buf));
        buf[i] = (char)0xf0; /* U+1F600 */
        buf[i + 1] = (char)0x9f;
        buf[i + 2] = (char)0x98;
        buf[i + 3] = (char)0x80;
        CHECK(ri_utf8_valid(buf, sizeof(buf)));
        buf[i + 3] = 'x'; /* now truncated */
        CHECK(!ri_utf8_valid(buf, sizeof(buf)));
        memset(buf, 'x', sizeof(buf));
        buf[i] = (char)0x80;
        CHECK(!ri_utf8_valid(buf, sizeof(buf)));
        CHECK(ri_utf8_valid(buf, i)); /* everything before the bad byte */
    }
}

/* ------------------------------------------------------------------ calendar */

static bool naive_leap(int64_t y)
{
    if (y % 400 == 0)
        return true;
    if (y % 100 == 0)
        return false;
    return y % 4 == 0;
}

static unsigned naive_mdays(int64_t y, unsigned m)
{
    switch (m) {
    case 4:
    case 6:
    case 9:
    case 11:
        return 30;
    case 2:
        return naive_leap(y) ? 29 : 28;
    default:
        return 31;
    }
}

/* Walks 1800-01-01 .. 2200-12-31 one day at a time against a plain counter. The start
 * is day -62091: `date -u -d 1800-01-01 +%s` = -5364662400 = -62091 * 86400. */
TEST(test_civil_roundtrip_400y)
{
    int64_t y = 1800, z = -62091, yy;
    unsigned m = 1, d = 1, mm, dd;
    int bad = 0;

    while (y <= 2200 && bad < 5) {
        if (ri_days_from_civil(y, m, d) != z) {
            fprintf(stderr, "days_from_civil(%lld-%u-%u) != %lld\n", (long long)y, m, d,
                    (long long)z);
            bad++;
        }
        ri_civil_from_days(z, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d) {
            fprintf(stderr, "civil_from_days(%lld) = %lld-%u-%u\n", (long long)z, (long long)yy, mm,
                    dd);
            bad++;
        }
        z++;
        if (++d > naive_mdays(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    /* 2201-01-01: `date -u -d 2201-01-01 +%s` = 7289654400 = 84371 * 86400 */
    CHECK_EQ_INT(z, 84371);
}

TEST(test_civil_fixed_points)
{
    int64_t y;
    unsigned m, d;
    CHECK_EQ_INT(ri_days_from_civil(1970, 1, 1), 0);
    CHECK_EQ_INT(ri_days_from_civil(1969, 12, 31), -1);
    CHECK_EQ_INT(ri_days_from_civil(2000, 3, 1), 11017); /* date -u -d 2000-03-01 +%s / 86400 */
    CHECK_EQ_INT(ri_days_from_civil(0, 3, 1), -719468);
    /* far away: the two functions stay inverse, including negative years */
    for (y = -1000000; y <= 1000000; y += 9973) {
        int64_t yy;
        ri_civil_from_days(ri_days_from_civil(y, 2, 29), &yy, &m, &d);
        if (naive_leap(y)) {
            CHECK(yy == y && m == 2 && d == 29);
        } else {
            CHECK(yy == y && m == 3 && d == 1);
        }
    }
    /* the extremes must not overflow (UBSan checks this) */
    ri_civil_from_days(INT64_MAX, &y, &m, &d);
    CHECK(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    ri_civil_from_days(INT64_MIN, &y, &m, &d);
    CHECK(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    (void)ri_days_from_civil(INT64_MAX, 12, 31);
    (void)ri_days_from_civil(INT64_MIN, 1, 1);
}

/* ------------------------------------------------------------------ dates */

struct date_case {
    const char *in;
    enum ri_date_style style;
    ri_err rc;
    ri_time want;
};

#define BAD(s, st)                                                                                 \
 {                                                                                                 \
  s, st, RI_ERR_PARSE, RI_TIME_NONE                                                                \
 }
static const struct date_case date_cases[] = {
    /* ---- ISO */
    /* date -u -d 2024-03-05 +%s */
    {"2024-03-05", RI_DATE_ISO, RI_OK, 1709596800},
    {"  2024-03-05\t", RI_DATE_ISO, RI_OK, 1709596800},
    {"20240305", RI_DATE_ISO, RI_OK, 1709596800},
    {"2024/03/05", RI_DATE_ISO, RI_OK, 1709596800},
    {"2024-3-5", RI_DATE_ISO, RI_OK, 1709596800},
    /* date -u -d '2024-03-05 14:07' +%s */
    {"2024-03-05 14:07", RI_DATE_ISO, RI_OK, 1709647620},
    /* date -u -d '2024-03-05 14:07:33' +%s */
    {"2024-03-05T14:07:33", RI_DATE_ISO, RI_OK, 1709647653},
    {"2024-03-05t14:07:33", RI_DATE_ISO, RI_OK, 1709647653},
    {"2024-03-05T14:07:33Z", RI_DATE_ISO, RI_OK, 1709647653},
    {"2024-03-05T14:07:33 UTC", RI_DATE_ISO, RI_OK, 1709647653},
    {"2024-03-05T14:07:33,5Z", RI_DATE_ISO, RI_OK, 1709647653},
    {"20240305T14:07:33", RI_DATE_ISO, RI_OK, 1709647653},
    /* 14:07:33+02:00 is 12:07:33Z: date -u -d '2024-03-05 12:07:33' +%s */
    {"2024-03-05T14:07:33.123+02:00", RI_DATE_ISO, RI_OK, 1709640453},
    {"2024-03-05 14:07:33 +0200", RI_DATE_ISO, RI_OK, 1709640453},
    {"2024-03-05T14:07:33.999999+02", RI_DATE_ISO, RI_OK, 1709640453},
    /* 14:07:33-05:30 is 19:37:33Z: date -u -d '2024-03-05 19:37:33' +%s */
    {"2024-03-05T14:07:33-05:30", RI_DATE_ISO, RI_OK, 1709667453},
    /* date -u -d '2024-03-05 20:05' +%s */
    {"2024-03-05 8:05 PM", RI_DATE_ISO, RI_OK, 1709669100},
    /* date -u -d '2024-12-31 23:59:59' +%s */
    {"2024-12-31T23:59:59Z", RI_DATE_ISO, RI_OK, 1735689599},
    /* date -u -d 2024-02-29 +%s: leap year */
    {"2024-02-29", RI_DATE_ISO, RI_OK, 1709164800},
    /* date -u -d 2000-02-29 +%s: divisible by 400 */
    {"2000-02-29", RI_DATE_ISO, RI_OK, 951782400},
    {"1970-01-01", RI_DATE_ISO, RI_OK, 0},
    /* date -u -d 1900-01-01 +%s: first accepted day */
    {"1900-01-01", RI_DATE_ISO, RI_OK, -2208988800},
    /* date -u -d 2200-12-31 +%s: last accepted day */
    {"2200-12-31", RI_DATE_ISO, RI_OK, 7289568000},
    BAD("2023-02-29", RI_DATE_ISO),
    BAD("2023-02-30", RI_DATE_ISO),
    BAD("1900-02-29", RI_DATE_ISO), /* divisible by 100, not 400 */
    BAD("2100-02-29", RI_DATE_ISO),
    BAD("2024-04-31", RI_DATE_ISO),
    BAD("2024-13-01", RI_DATE_ISO),
    BAD("2024-00-10", RI_DATE_ISO),
    BAD("2024-01-00", RI_DATE_ISO),
    BAD("1899-12-31", RI_DATE_ISO),
    BAD("2201-01-01", RI_DATE_ISO),
    BAD("0000-01-01", RI_DATE_ISO),
    BAD("2024-03-05T25:00", RI_DATE_ISO),
    BAD("2024-03-05T24:00", RI_DATE_ISO),
    BAD("2024-03-05T23:60", RI_DATE_ISO),
    BAD("2024-03-05T23:59:60", RI_DATE_ISO),
    BAD("2024-03-05T14", RI_DATE_ISO),
    BAD("2024-03-05T14:7", RI_DATE_ISO),
    BAD("2024-03-05T14:070", RI_DATE_ISO),
    BAD("2024-03-05T", RI_DATE_ISO),
    BAD("2024-03-05Z", RI_DATE_ISO),
    BAD("2024-03-05T14:07+19:00", RI_DATE_ISO),
    BAD("2024-03-05T14:07+02:60", RI_DATE_ISO),
    BAD("2024-03-05T14:07+2", RI_DATE_ISO),
    BAD("2024-03-05T14:07+02:", RI_DATE_ISO),
    BAD("2024-03-05T14:07+02:0", RI_DATE_ISO),
    BAD("2024-03-05T14:07 +02 00", RI_DATE_ISO),
    BAD("2024-03-05T14:07Z+01", RI_DATE_ISO),
    BAD("2024-03-05T14:07:33.", RI_DATE_ISO),
    BAD("2024-03-05 13:00 PM", RI_DATE_ISO),
    BAD("2024-03-05/", RI_DATE_ISO),
    BAD("2024-03/05", RI_DATE_ISO),
    BAD("2024-003-05", RI_DATE_ISO),
    BAD("202403051", RI_DATE_ISO),
    BAD("2024035", RI_DATE_ISO),
    BAD("24-03-05", RI_DATE_ISO),
    BAD("3/5/2024", RI_DATE_ISO),
    BAD("2024-03-05x", RI_DATE_ISO),
    BAD("twenty", RI_DATE_ISO),
    {"", RI_DATE_ISO, RI_ERR_NOTFOUND, RI_TIME_NONE},
    {" \t ", RI_DATE_ISO, RI_ERR_NOTFOUND, RI_TIME_NONE},
    /* ---- US: month first */
    {"3/5/2024", RI_DATE_US, RI_OK, 1709596800},
    {"03/05/24", RI_DATE_US, RI_OK, 1709596800},
    {"3-5-2024", RI_DATE_US, RI_OK, 1709596800},
    /* date -u -d '2026-02-23 20:55' +%s */
    {"02/23/26 08:55 PM", RI_DATE_US, RI_OK, 1771880100},
    /* date -u -d '2024-02-03 08:05:01' +%s */
    {"2/3/2024 8:05:01 am", RI_DATE_US, RI_OK, 1706947501},
    /* date -u -d '2024-03-05 20:05' +%s */
    {"3/5/2024, 8:05 PM", RI_DATE_US, RI_OK, 1709669100},
    {"3/5/2024 8:05PM", RI_DATE_US, RI_OK, 1709669100},
    /* date -u -d '2024-12-01 00:00' +%s */
    {"12/1/2024 12:00 AM", RI_DATE_US, RI_OK, 1733011200},
    /* date -u -d '2024-12-01 12:30' +%s */
    {"12/1/2024 12:30 pm", RI_DATE_US, RI_OK, 1733056200},
    /* date -u -d 1999-12-31 +%s */
    {"12/31/99", RI_DATE_US, RI_OK, 946598400},
    {"1/1/70", RI_DATE_US, RI_OK, 0},
    /* date -u -d 2069-01-01 +%s */
    {"1/1/69", RI_DATE_US, RI_OK, 3124224000},
    /* date -u -d 2000-01-01 +%s */
    {"1/1/00", RI_DATE_US, RI_OK, 946684800},
    BAD("13/5/2024", RI_DATE_US),
    BAD("2/30/2024", RI_DATE_US),
    BAD("2/29/2023", RI_DATE_US),
    BAD("3/5/024", RI_DATE_US),
    BAD("3/5/20245", RI_DATE_US),
    BAD("3/5-2024", RI_DATE_US),
    BAD("3//2024", RI_DATE_US),
    BAD("123/5/2024", RI_DATE_US),
    BAD("3/5/2024 8:5", RI_DATE_US),
    BAD("3/5/2024 13:00 PM", RI_DATE_US),
    BAD("3/5/2024 0:30 AM", RI_DATE_US),
    BAD("3/5/2024 8:05 PMX", RI_DATE_US),
    BAD("3/5/2024 8:05 XM", RI_DATE_US),
    BAD("2024-03-05", RI_DATE_US),
    BAD("3/5", RI_DATE_US),
    /* ---- EU: day first */
    {"5.3.2024", RI_DATE_EU, RI_OK, 1709596800},
    {"05/03/2024", RI_DATE_EU, RI_OK, 1709596800},
    {"5-3-2024", RI_DATE_EU, RI_OK, 1709596800},
    /* date -u -d '2024-03-05 14:07' +%s */
    {"05.03.24 14:07", RI_DATE_EU, RI_OK, 1709647620},
    {"31.12.2024 23:59:59", RI_DATE_EU, RI_OK, 1735689599},
    /* date -u -d 2024-05-13 +%s */
    {"13/05/2024", RI_DATE_EU, RI_OK, 1715558400},
    BAD("29.02.2023", RI_DATE_EU),
    BAD("5.13.2024", RI_DATE_EU),
    BAD("32.01.2024", RI_DATE_EU),
    BAD("5.3.1899", RI_DATE_EU),
    /* ---- AUTO */
    {"2024-03-05", RI_DATE_AUTO, RI_OK, 1709596800},
    {"20240305", RI_DATE_AUTO, RI_OK, 1709596800},
    {"2024-03-05T14:07:33Z", RI_DATE_AUTO, RI_OK, 1709647653},
    {"13/5/2024", RI_DATE_AUTO, RI_OK, 1715558400},  /* first > 12: EU */
    {"5/13/2024", RI_DATE_AUTO, RI_OK, 1715558400},  /* second > 12: US */
    {"3/5/2024", RI_DATE_AUTO, RI_OK, 1709596800},   /* ambiguous: US */
    {"03-05-2024", RI_DATE_AUTO, RI_OK, 1709596800}, /* ambiguous: US */
    {"5.3.2024", RI_DATE_AUTO, RI_OK, 1709596800},   /* ambiguous, dots: EU */
    {"02/23/26 08:55 PM", RI_DATE_AUTO, RI_OK, 1771880100},
    BAD("13/13/2024", RI_DATE_AUTO),
    BAD("2023-02-29", RI_DATE_AUTO),
    BAD("hello", RI_DATE_AUTO),
    {"", RI_DATE_AUTO, RI_ERR_NOTFOUND, RI_TIME_NONE},
    /* ---- an unknown style is a caller error */
    {"2024-03-05", (enum ri_date_style)9, RI_ERR_INVALID, RI_TIME_NONE},
};

TEST(test_date_table)
{
    size_t i;
    for (i = 0; i < RI_ARRAY_SIZE(date_cases); i++) {
        const struct date_case *c = &date_cases[i];
        size_t len = strlen(c->in);
        char *s = exact(c->in, len);
        ri_time t = 42;
        ri_err rc = ri_parse_date(s, len, c->style, &t);
        if (rc != c->rc || t != c->want)
            fprintf(stderr, "date case \"%s\" style %d: rc %d value %lld\n", c->in, (int)c->style,
                    (int)rc, (long long)t);
        CHECK_EQ_INT(rc, c->rc);
        CHECK_EQ_INT(t, c->want);
        ri_free(s);
    }
}

TEST(test_date_len_respected)
{
    ri_time t = 0;
    /* the time after the date is outside len */
    CHECK_EQ_INT(ri_parse_date("2024-03-05T14:07", 10, RI_DATE_ISO, &t), RI_OK);
    CHECK_EQ_INT(t, 1709596800);
    CHECK_EQ_INT(ri_parse_date(NULL, 0, RI_DATE_ISO, &t), RI_ERR_NOTFOUND);
    CHECK_EQ_INT(t, RI_TIME_NONE);
}

/* Every day of the accepted range formats and parses back to itself. */
TEST(test_date_format_roundtrip)
{
    int64_t day;
    char buf[16];
    int bad = 0;
    /* 1900-01-01 is day -25567 and 2200-12-31 day 84370 (date -u -d ... +%s / 86400) */
    for (day = -25567; day <= 84370 && bad < 5; day++) {
        ri_time t = 0;
        ri_format_date(day * RI_DAY + 3600, buf, sizeof(buf));
        if (ri_parse_date(buf, strlen(buf), RI_DATE_ISO, &t) != RI_OK || t != day * RI_DAY) {
            fprintf(stderr, "day %lld formats as \"%s\"\n", (long long)day, buf);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(test_format_date)
{
    char buf[32];
    ri_format_date(0, buf, sizeof(buf));
    CHECK_STR(buf, "1970-01-01");
    ri_format_date(-1, buf, sizeof(buf));
    CHECK_STR(buf, "1969-12-31");
    ri_format_date(1709647653, buf, sizeof(buf));
    CHECK_STR(buf, "2024-03-05");
    ri_format_date(1709596800 - 1, buf, sizeof(buf));
    CHECK_STR(buf, "2024-03-04");
    ri_format_date(-2208988800, buf, sizeof(buf));
    CHECK_STR(buf, "1900-01-01");
    ri_format_date(RI_TIME_NONE, buf, sizeof(buf));
    CHECK_STR(buf, "");
    /* 10000-01-01 is 253402300800 (`date -u -d 9999-12-31 +%s` + 86400) */
    ri_format_date(253402300800, buf, sizeof(buf));
    CHECK_STR(buf, "10000-01-01");
    ri_format_date(ri_days_from_civil(-1, 1, 1) * RI_DAY, buf, sizeof(buf));
    CHECK_STR(buf, "-1-01-01");
    ri_format_date(0, buf, 5);
    CHECK_STR(buf, "1970");
    buf[0] = 'x';
    ri_format_date(0, buf, 0);
    CHECK(buf[0] == 'x');
    ri_format_date(INT64_MAX, buf, sizeof(buf));
    CHECK(strlen(buf) > 10);
}

struct detect_case {
    const char *vals[4];
    enum ri_date_style want;
};

static const struct detect_case detect_cases[] = {
    {{"2024-03-05", "2024-12-31", "", NULL}, RI_DATE_ISO},
    {{"2024-03-05", "20241231", "2024-01-01T10:00Z", NULL}, RI_DATE_ISO},
    {{"3/5/2024", "12/31/2024", NULL, NULL}, RI_DATE_US},
    {{"05/03/2024", "31/12/2024", NULL, NULL}, RI_DATE_EU},
    {{"3/5/2024", "4/6/2024", NULL, NULL}, RI_DATE_US}, /* no evidence: US */
    {{"5.3.2024", "6.4.2024", NULL, NULL}, RI_DATE_EU}, /* no evidence, dots: EU */
    {{"5.3.2024", "6/4/2024", NULL, NULL}, RI_DATE_US}, /* not all dotted */
    {{"1/2/2024", "1/2/2024", "1/13/2024", NULL}, RI_DATE_US},
    {{"1/2/2024", "13/2/2024", "1/2/2024", NULL}, RI_DATE_EU},
    {{"", NULL, "  ", NULL}, RI_DATE_AUTO},
    {{"abc", "xyz", NULL, NULL}, RI_DATE_AUTO},
    {{"2024-03-05", "2024-03-06", "garbage", NULL}, RI_DATE_ISO}, /* most parse ISO */
    {{"13/5/2024", "5/13/2024", NULL, NULL}, RI_DATE_US},         /* contradictory: tie, US */
    {{"13/5/2024", "14/5/2024", "5/13/2024", NULL}, RI_DATE_EU},  /* EU parses more */
};

TEST(test_date_detect)
{
    size_t i, j;
    for (i = 0; i < RI_ARRAY_SIZE(detect_cases); i++) {
        const struct detect_case *c = &detect_cases[i];
        size_t lens[4];
        for (j = 0; j < 4; j++)
            lens[j] = c->vals[j] ? strlen(c->vals[j]) : 0;
        if (ri_date_detect(c->vals, lens, 4) != c->want)
            fprintf(stderr, "detect case %zu\n", i);
        CHECK_EQ_INT(ri_date_detect(c->vals, lens, 4), c->want);
        CHECK_EQ_INT(ri_date_detect(c->vals, NULL, 4), c->want);
    }
    CHECK_EQ_INT(ri_date_detect(NULL, NULL, 0), RI_DATE_AUTO);
}

/* ------------------------------------------------------------------ amounts */

struct amount_case {
    const char *in;
    enum ri_amount_locale loc;
    ri_err rc;
    double want;
};

#define A_AUTO(s, v)                                                                               \
 {                                                                                                 \
  s, RI_AMOUNT_AUTO, RI_OK, v                                                                      \
 }
#define A_POINT(s, v)                                                                              \
 {                                                                                                 \
  s, RI_AMOUNT_POINT, RI_OK, v                                                                     \
 }
#define A_COMMA(s, v)                                                                              \
 {                                                                                                 \
  s, RI_AMOUNT_COMMA, RI_OK, v                                                                     \
 }
#define A_BAD(s, l)                                                                                \
 {                                                                                                 \
  s, l, RI_ERR_PARSE, 0.0                                                                          \
 }
#define A_NONE(s, l)                                                                               \
 {                                                                                                 \
  s, l, RI_ERR_NOTFOUND, 0.0                                                                       \
 }
/* UTF-8 of the characters used below, split so that a hex escape never eats a digit */
#define NBSP  "\xc2\xa0"
#define NNBSP "\xe2\x80\xaf"
#define THSP  "\xe2\x80\x89"
#define EURO  "\xe2\x82\xac"
#define POUND "\xc2\xa3"
#define YEN   "\xc2\xa5"

static const struct amount_case amount_cases[] = {
    /* ---- AUTO */
    A_AUTO("12345.67", 12345.67),
    A_AUTO("$12,345.00", 12345.0),
    A_AUTO("12,345", 12345.0),
    A_AUTO("1,234", 1234.0), /* the ambiguous case: thousands */
    A_AUTO("1,5", 1.5),      /* one or two digits: decimal comma */
    A_AUTO("1,25", 1.25),
    A_AUTO("0,12345", 0.12345),
    A_AUTO("1.234", 1.234), /* a single point is always decimal */
    A_AUTO("1.234.567", 1234567.0),
    A_AUTO("1,234,567.89", 1234567.89),
    A_AUTO("12.345,00", 12345.0),
    A_AUTO("1 234,50", 1234.5),
    A_AUTO("1" NBSP "234,50", 1234.5),
    A_AUTO("1" NNBSP "234,50", 1234.5),
    A_AUTO("1" THSP "234" THSP "567", 1234567.0),
    A_AUTO("12 345 678", 12345678.0),
    A_AUTO("1'234.50", 1234.5),
    A_AUTO(EURO " 1.234,56", 1234.56),
    A_AUTO(EURO NBSP "1.234,56", 1234.56),
    A_AUTO("1.234,56 " EURO, 1234.56),
    A_AUTO("1234.5 EUR", 1234.5),
    A_AUTO("1234.5EUR", 1234.5),
    A_AUTO("USD 1,200", 1200.0),
    A_AUTO("USD1200", 1200.0),
    A_AUTO(POUND "99", 99.0),
    A_AUTO(YEN "1,000", 1000.0),
    A_AUTO("(1,200.00)", -1200.0),
    A_AUTO("($1,200.00)", -1200.0),
    A_AUTO("$(1,200.00)", -1200.0),
    A_AUTO("(1,200.00) USD", -1200.0),
    A_AUTO("-1,200", -1200.0),
    A_AUTO("-$5", -5.0),
    A_AUTO("$-5", -5.0),
    A_AUTO("- 5", -5.0),
    A_AUTO("+7", 7.0),
    A_AUTO(".5", 0.5),
    A_AUTO("5.", 5.0),
    A_AUTO("0", 0.0),
    A_AUTO("-0", 0.0),
    A_AUTO("(0.00)", 0.0),
    A_AUTO("1.2e3", 1200.0),
    A_AUTO("1.2E-2", 0.012),
    A_AUTO("1e-400", 0.0), /* underflows to zero, which is finite */
    A_AUTO("12k", 12000.0),
    A_AUTO("3K", 3000.0),
    A_AUTO("1.5M", 1500000.0),
    A_AUTO("4m", 4000000.0), /* m is million, never milli */
    A_AUTO("2bn", 2e9),
    A_AUTO("1.5BN", 1.5e9),
    A_AUTO("$1.5M", 1500000.0),
    A_AUTO("1.5M USD", 1500000.0),
    A_AUTO("  $12  ", 12.0),
    A_AUTO("9007199254740993", 9007199254740992.0),
    A_AUTO("123456789012345678901234567890", 1.2345678901234568e29),
    A_BAD("1,2,3", RI_AMOUNT_AUTO),
    A_BAD("1,234.5.6", RI_AMOUNT_AUTO),
    A_BAD("12,34,567", RI_AMOUNT_AUTO), /* lakh grouping is not supported */
    A_BAD("1,234 567", RI_AMOUNT_AUTO), /* mixed group separators */
    A_BAD("1 2", RI_AMOUNT_AUTO),
    A_BAD("1234,567,890", RI_AMOUNT_AUTO),
    A_BAD(",123", RI_AMOUNT_AUTO),
    A_BAD("1,234,", RI_AMOUNT_AUTO),
    A_BAD("abc", RI_AMOUNT_AUTO),
    A_BAD("12abc", RI_AMOUNT_AUTO),
    A_BAD("12eur", RI_AMOUNT_AUTO),
    A_BAD("--5", RI_AMOUNT_AUTO),
    A_BAD("+-5", RI_AMOUNT_AUTO),
    A_BAD("-(5)", RI_AMOUNT_AUTO),
    A_BAD("(5", RI_AMOUNT_AUTO),
    A_BAD("5)", RI_AMOUNT_AUTO),
    A_BAD("((5))", RI_AMOUNT_AUTO),
    A_BAD("()", RI_AMOUNT_AUTO),
    A_BAD("$$5", RI_AMOUNT_AUTO),
    A_BAD("$5 USD", RI_AMOUNT_AUTO), /* one currency marker only */
    A_BAD("12 k", RI_AMOUNT_AUTO),
    A_BAD("12kk", RI_AMOUNT_AUTO),
    A_BAD("1e3k", RI_AMOUNT_AUTO),
    A_BAD("12-", RI_AMOUNT_AUTO),
    A_BAD("1e", RI_AMOUNT_AUTO),
    A_BAD("USD", RI_AMOUNT_AUTO),
    A_BAD("$", RI_AMOUNT_AUTO),
    A_BAD("-", RI_AMOUNT_AUTO),
    A_BAD(".", RI_AMOUNT_AUTO),
    A_BAD("1e999", RI_AMOUNT_AUTO), /* overflow: not finite */
    A_BAD("-1e400", RI_AMOUNT_AUTO),
    A_BAD("nan", RI_AMOUNT_AUTO),
    A_BAD("NAN", RI_AMOUNT_AUTO),
    A_BAD("inf", RI_AMOUNT_AUTO),
    A_BAD("Infinity", RI_AMOUNT_AUTO),
    A_BAD("0x10", RI_AMOUNT_AUTO),
    A_BAD("12EURO", RI_AMOUNT_AUTO),
    A_BAD("1" NBSP "x", RI_AMOUNT_AUTO),
    A_NONE("", RI_AMOUNT_AUTO),
    A_NONE("   ", RI_AMOUNT_AUTO),
    A_NONE("\t\r\n", RI_AMOUNT_AUTO),
    /* ---- POINT */
    A_POINT("12345.67", 12345.67),
    A_POINT("1,234.56", 1234.56),
    A_POINT("1,234", 1234.0),
    A_POINT("1.5", 1.5),
    A_POINT("1 234.5", 1234.5),
    A_POINT("$1,234,567", 1234567.0),
    A_POINT("1.2e3", 1200.0),
    A_BAD("1.234,56", RI_AMOUNT_POINT),
    A_BAD("1,23", RI_AMOUNT_POINT),
    A_BAD("1,5", RI_AMOUNT_POINT),
    A_BAD("1.2.3", RI_AMOUNT_POINT),
    A_BAD("1234,567", RI_AMOUNT_POINT),
    A_NONE("", RI_AMOUNT_POINT),
    /* ---- COMMA */
    A_COMMA("12.345,00", 12345.0),
    A_COMMA("1 234,50", 1234.5),
    A_COMMA("1" NNBSP "234,50 " EURO, 1234.5),
    A_COMMA(EURO " 1.234,56", 1234.56),
    A_COMMA("1,5", 1.5),
    A_COMMA("1.234", 1234.0),
    A_COMMA("1,234", 1.234),
    A_COMMA("1,2e3", 1200.0),
    A_COMMA("-1.234.567,8", -1234567.8),
    A_BAD("1234.5 EUR", RI_AMOUNT_COMMA),
    A_BAD("1.5", RI_AMOUNT_COMMA),
    A_BAD("1,234.56", RI_AMOUNT_COMMA),
    A_BAD("1,2,3", RI_AMOUNT_COMMA),
    A_NONE(" ", RI_AMOUNT_COMMA),
    /* ---- an unknown locale is a caller error */
    {"1", (enum ri_amount_locale)7, RI_ERR_INVALID, 0.0},
};

TEST(test_amount_table)
{
    size_t i;
    for (i = 0; i < RI_ARRAY_SIZE(amount_cases); i++) {
        const struct amount_case *c = &amount_cases[i];
        size_t len = strlen(c->in);
        char *s = exact(c->in, len);
        double v = 77.0;
        ri_err rc = ri_parse_amount(s, len, c->loc, &v);
        if (rc != c->rc || !same_double(v, c->want))
            fprintf(stderr, "amount case \"%s\" locale %d: rc %d value %.17g\n", c->in, (int)c->loc,
                    (int)rc, v);
        CHECK_EQ_INT(rc, c->rc);
        CHECK(same_double(v, c->want));
        ri_free(s);
    }
}

TEST(test_amount_len_respected)
{
    double v = 1.0;
    CHECK_EQ_INT(ri_parse_amount("12345", 2, RI_AMOUNT_AUTO, &v), RI_OK);
    CHECK_NEAR(v, 12.0, 0.0);
    /* a multi-byte sign cut by len is garbage, not a euro */
    CHECK_EQ_INT(ri_parse_amount("5 " EURO, 4, RI_AMOUNT_AUTO, &v), RI_ERR_PARSE);
    CHECK_EQ_INT(ri_parse_amount("1" NBSP "234", 2, RI_AMOUNT_AUTO, &v), RI_ERR_PARSE);
    CHECK_EQ_INT(ri_parse_amount(NULL, 0, RI_AMOUNT_AUTO, &v), RI_ERR_NOTFOUND);
    /* too many significant digits */
    {
        char big[300];
        memset(big, '7', sizeof(big));
        CHECK_EQ_INT(ri_parse_amount(big, sizeof(big), RI_AMOUNT_AUTO, &v), RI_ERR_PARSE);
        CHECK_EQ_INT(ri_parse_amount(big, 128, RI_AMOUNT_AUTO, &v), RI_OK);
        CHECK(v > 7e127 && v < 8e127);
    }
}

/* Under POINT a value and, under COMMA, the same value with '.' and ',' swapped give
 * the same result: the two locales are mirror images. */
TEST(test_amount_locale_mirror)
{
    size_t i, j;
    for (i = 0; i < RI_ARRAY_SIZE(amount_cases); i++) {
        const char *in = amount_cases[i].in;
        size_t len = strlen(in);
        char *sw = exact(in, len);
        double a = 0.0, b = 0.0;
        ri_err ra, rb;
        for (j = 0; j < len; j++)
            sw[j] = in[j] == '.' ? ',' : in[j] == ',' ? '.' : in[j];
        ra = ri_parse_amount(in, len, RI_AMOUNT_POINT, &a);
        rb = ri_parse_amount(sw, len, RI_AMOUNT_COMMA, &b);
        CHECK_EQ_INT(ra, rb);
        CHECK(same_double(a, b));
        ri_free(sw);
    }
}

TEST(test_trim)
{
    const char *s = " \t a b \r\n";
    size_t len = strlen(s);
    ri_trim(&s, &len);
    CHECK_EQ_INT(len, 3);
    CHECK(memcmp(s, "a b", 3) == 0);
    s = "   ";
    len = 3;
    ri_trim(&s, &len);
    CHECK_EQ_INT(len, 0);
}

int main(void)
{
    BEGIN("test_parse");
    RUN(test_i64_table);
    RUN(test_i64_len_respected);
    RUN(test_f64_table);
    RUN(test_f64_length_cap);
    RUN(test_f64_matches_strtod);
    RUN(test_utf8_table);
    RUN(test_utf8_alignment);
    RUN(test_civil_roundtrip_400y);
    RUN(test_civil_fixed_points);
    RUN(test_date_table);
    RUN(test_date_len_respected);
    RUN(test_date_format_roundtrip);
    RUN(test_format_date);
    RUN(test_date_detect);
    RUN(test_amount_table);
    RUN(test_amount_len_respected);
    RUN(test_amount_locale_mirror);
    RUN(test_trim);
    return DONE();
}
