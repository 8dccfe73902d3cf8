/*
 * parse.c - the text-to-value layer: integers, floats, UTF-8 validation, calendar
 * arithmetic, dates and money amounts as they appear in CRM exports.
 *
 * Every function here takes a pointer and a length, never reads past that length and
 * never needs a NUL terminator, because cells come straight out of a CSV buffer.
 * Nothing here allocates, touches the locale or keeps state, so all of it is
 * thread-safe. Failures are reported as ri_err without detail (the caller knows the
 * file, line and column and adds them with ri_fail); out-parameters are reset on
 * failure (dates to RI_TIME_NONE, numbers to 0).
 *
 * Decimal conversion. Floats and amounts share one scanner (struct dec) that keeps the
 * significant digits and a power of ten. When the digits fit in 53 bits and the power
 * is within 10^22 the value is computed exactly with one IEEE multiplication or
 * division (Clinger's fast path), which is the correctly rounded result; otherwise the
 * digits are handed to strtod as "DIGITSe<exp>", a form without a decimal point, so
 * the answer never depends on LC_NUMERIC.
 *
 * Dates (ri_parse_date) are parsed by hand, one digit at a time, without sscanf,
 * strptime or the locale; ingest parses millions of them. Accepted forms:
 *   ISO  YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, optionally followed by 'T' or blanks and
 *        a time of day.
 *   US   M/D/Y, EU D/M/Y, with '/', '-' or '.' between the fields (the same one
 *        twice), a year of 4 digits or 2 digits (00-69 -> 20xx, 70-99 -> 19xx), then
 *        optionally blanks (or ", ") and a time of day.
 *   Time H[H]:MM[:SS[.fraction]], an optional AM/PM (hour 1-12), an optional zone: Z,
 *        UTC, GMT, +HH, +HHMM or +HH:MM (and '-'). The result is converted to UTC; a
 *        fraction of a second is dropped. Seconds 60 (leap second) and hour 24 are
 *        refused.
 * Years outside 1900-2200 and impossible dates (2023-02-29, month 13, hour 25) are
 * RI_ERR_PARSE. RI_DATE_AUTO reads ISO when the value starts with four digits;
 * otherwise D/M/Y versus M/D/Y is decided per value: a first number above 12 means
 * EU, a second number above 12 means US, and when both are 12 or less the value is
 * read as EU if its separator is '.' (a US export never writes 5.3.2024) and as US
 * otherwise. Ingest should not rely on that per-value guess: ri_date_detect decides a
 * whole column from the evidence of all its values.
 *
 * Amounts (ri_parse_amount). A value is [sign|'(' currency blanks]* number [multiplier]
 * [blanks ')' currency]*, with at most one sign, one currency marker ($, €, £, ¥ or
 * three upper-case letters such as USD) and one pair of parentheses (accounting
 * negative); a sign together with parentheses is refused. The multiplier suffix
 * follows the digits directly: k/K = 10^3, m/M = 10^6 (million, never milli),
 * bn/BN = 10^9; an exponent ("1.2e3") excludes a multiplier. Thousands separators may
 * be the locale's one, a space, a no-break space (U+00A0, U+202F, U+2009) or an
 * apostrophe (1'234.50); groups are checked: 1-3 digits first, then exactly 3, and
 * all separators of one number are of one kind, before the decimal separator only.
 * RI_AMOUNT_POINT reads '.' as the decimal separator, RI_AMOUNT_COMMA reads ','.
 * RI_AMOUNT_AUTO decides per value: with both '.' and ',' the later one is the
 * decimal separator; a single ',' followed by exactly three digits is a thousands
 * separator ("1,234" = 1234, the ambiguous case) and with any other number of digits
 * a decimal comma ("1,5" = 1.5); several ',' are thousands separators; a single '.'
 * is always a decimal point ("1.234" = 1.234) and several '.' are thousands
 * separators ("1.234.567" = 1234567). Empty or blank is RI_ERR_NOTFOUND; non-finite
 * results (1e999) are RI_ERR_PARSE.
 */
/* System headers first: banned.h, included by ri_internal.h, renames atoi and friends. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ri_internal.h"

/* Longest trimmed text ri_parse_i64 and ri_parse_f64 accept. */
#define RI_I64_MAXLEN 64
#define RI_F64_MAXLEN 128
/* Most significant digits a decimal may carry (amounts longer than this are garbage). */
#define RI_DEC_MAXDIG 128
/* Exponents are saturated here: beyond it every value is 0 or infinite anyway. */
#define RI_EXP_SAT 100000
/* Power of ten handed to strtod, clamped: with at most RI_DEC_MAXDIG digits, anything
 * beyond it is 0 or infinite too. */
#define RI_EXP_CLAMP INT64_C(1000000)
/* ri_parse_date accepts only years in this range. */
#define RI_YEAR_MIN 1900
#define RI_YEAR_MAX 2200
/* ri_days_from_civil clamps years to +-this, so that its arithmetic cannot overflow. */
#define RI_CIVIL_YMAX INT64_C(1000000000000)

/* x87 arithmetic (FLT_EVAL_METHOD != 0) rounds twice and breaks the exact fast path. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
# define RI_FAST_DOUBLE 1
#else
# define RI_FAST_DOUBLE 0
#endif

/* ------------------------------------------------------------------ characters */

static inline bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static inline bool is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

static inline bool is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u;
}

static inline bool is_upper(unsigned char c)
{
    return (unsigned)(c - 'A') < 26u;
}

void ri_trim(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len;

    while (n > 0 && is_blank((unsigned char)p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_blank((unsigned char)p[n - 1]))
        n--;
    *s = p;
    *len = n;
}

/* ------------------------------------------------------------------ decimal core */

/*
 * A decimal number being scanned: value = digits * 10^e10, where digits are the
 * significant digits (leading zeros dropped), the first 19 of which are also kept in
 * mant. any records that at least one digit, zero or not, was seen.
 */
struct dec {
    uint64_t mant;
    size_t nsig;
    int64_t e10;
    bool any;
    char dig[RI_DEC_MAXDIG];
};

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline void dec_init(struct dec *d)
{
    d->mant = 0;
    d->nsig = 0;
    d->e10 = 0;
    d->any = false;
}

/* Adds one digit; frac says it is after the decimal separator. False if too many. */
static inline bool dec_digit(struct dec *d, unsigned char c, bool frac)
{
    d->any = true;
    if (frac)
        d->e10--;
    if (d->nsig == 0 && c == '0')
        return true;
    if (d->nsig >= RI_DEC_MAXDIG)
        return false;
    if (d->nsig < 19)
        d->mant = d->mant * 10 + (uint64_t)(c - '0');
    d->dig[d->nsig++] = (char)c;
    return true;
}

/*
 * Converts d to the nearest double. Returns false when strtod reports ERANGE (the
 * value overflowed to infinity or underflowed to a subnormal or zero); *out holds
 * strtod's result even then.
 */
static bool dec_value(const struct dec *d, double *out)
{
    char buf[RI_DEC_MAXDIG + 16];
    int64_t e = d->e10;
    int n;
    bool ok;

    if (d->nsig == 0) {
        *out = 0.0;
        return true;
    }
    if (RI_FAST_DOUBLE && d->nsig <= 19 && d->mant <= (UINT64_C(1) << 53) && e >= -22 && e <= 22) {
        double m = (double)d->mant;
        *out = e < 0 ? m / pow10_exact[-e] : m * pow10_exact[e];
        return true;
    }
    /* Slow path: "DIGITSe<exp>" has no decimal point, so LC_NUMERIC cannot matter. */
    if (e > RI_EXP_CLAMP)
        e = RI_EXP_CLAMP;
    if (e < -RI_EXP_CLAMP)
        e = -RI_EXP_CLAMP;
    memcpy(buf, d->dig, d->nsig);
    n = snprintf(buf + d->nsig, sizeof(buf) - d->nsig, "e%lld", (long long)e);
    if (n < 0 || (size_t)n >= sizeof(buf) - d->nsig)
        RI_BUG("decimal buffer too small");
    errno = 0;
    *out = strtod(buf, NULL);
    ok = errno != ERANGE;
    return ok;
}

/* Reads exponent digits at *pp (after 'e' and sign), saturating; false if none. */
static bool read_exponent(const unsigned char **pp, const unsigned char *end, int64_t *out)
{
    const unsigned char *p = *pp;
    bool neg = false;
    int64_t v = 0;

    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    if (p >= end || !is_digit(*p))
        return false;
    while (p < end && is_digit(*p)) {
        if (v < RI_EXP_SAT)
            v = v * 10 + (*p - '0');
        p++;
    }
    *pp = p;
    *out = neg ? -v : v;
    return true;
}

/* ------------------------------------------------------------------ numbers */

ri_err ri_parse_i64(const char *s, size_t len, int64_t *out /* OUT */)
{
    char buf[RI_I64_MAXLEN + 1];
    char *end = NULL;
    long long v;
    size_t i = 0;

    *out = 0;
    if (!s)
        return RI_ERR_PARSE;
    ri_trim(&s, &len);
    if (len == 0 || len > RI_I64_MAXLEN)
        return RI_ERR_PARSE;
    /* strtoll would also take blanks after the sign; the grammar is [+-]digits. */
    if (s[0] == '+' || s[0] == '-')
        i = 1;
    if (i >= len || !is_digit((unsigned char)s[i]))
        return RI_ERR_PARSE;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (end != buf + len)
        return RI_ERR_PARSE;
    if (errno == ERANGE)
        return RI_ERR_NUMERIC;
    *out = (int64_t)v;
    return RI_OK;
}

/*
 * The grammar is strtod's decimal one, [+-](digits[.digits*] | .digits)[(e|E)[+-]digits],
 * checked by hand so that hex floats, "inf" and "nan" are refused. ERANGE (overflow or
 * underflow) is RI_ERR_NUMERIC.
 */
ri_err ri_parse_f64(const char *s, size_t len, double *out /* OUT */)
{
    const unsigned char *p, *end;
    struct dec d;
    bool neg = false;
    int64_t e = 0;
    double v;

    *out = 0.0;
    if (!s)
        return RI_ERR_PARSE;
    ri_trim(&s, &len);
    if (len == 0 || len > RI_F64_MAXLEN)
        return RI_ERR_PARSE;
    p = (const unsigned char *)s;
    end = p + len;
    dec_init(&d);
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    while (p < end && is_digit(*p))
        dec_digit(&d, *p++, false);
    if (p < end && *p == '.') {
        p++;
        while (p < end && is_digit(*p))
            dec_digit(&d, *p++, true);
    }
    if (!d.any)
        return RI_ERR_PARSE;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (!read_exponent(&p, end, &e))
            return RI_ERR_PARSE;
        d.e10 += e;
    }
    if (p != end)
        return RI_ERR_PARSE;
    if (!dec_value(&d, &v) || !isfinite(v))
        return RI_ERR_NUMERIC;
    *out = neg ? -v : v;
    return RI_OK;
}

/* ------------------------------------------------------------------ UTF-8 */

/*
 * Well-formed sequences are those of Unicode's table 3-7: the second byte's range
 * depends on the lead byte, which is how overlongs (E0 80..9F, F0 80..8F), surrogates
 * (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF) are excluded; C0 and C1
 * can only start overlongs. Runs of ASCII are skipped eight bytes at a time.
 */
bool ri_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p, *end;

    if (len == 0)
        return true;
    p = (const unsigned char *)s;
    end = p + len;
    while (p < end) {
        unsigned char c, lo = 0x80, hi = 0xBF;
        size_t left;

        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, sizeof(w));
            if (w & UINT64_C(0x8080808080808080))
                break;
            p += 8;
        }
        while (p < end && *p < 0x80)
            p++;
        if (p == end)
            break;
        c = *p;
        left = (size_t)(end - p);
        if (c < 0xC2 || c > 0xF4)
            return false;
        if (c < 0xE0) {
            if (left < 2 || (p[1] & 0xC0) != 0x80)
                return false;
            p += 2;
        } else if (c < 0xF0) {
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
            if (left < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
                return false;
            p += 3;
        } else {
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
            if (left < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 ||
                (p[3] & 0xC0) != 0x80)
                return false;
            p += 4;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ calendar */

/*
 * Days since 1970-01-01 of a proleptic Gregorian date. The year is taken to begin on
 * March 1, which puts the leap day at the very end of it. Then:
 *  - a 400-year era always holds 146097 days (400 * 365 + 100 - 4 + 1 leap days), so
 *    a floor division by 400 splits the year into an era and a year of era in [0, 399];
 *  - from March, month lengths run 31 30 31 30 31 | 31 30 31 30 31 | 31 28/29, a
 *    153-day pattern over five months, so the first day of month mp (March = 0) is
 *    day (153 * mp + 2) / 5 of the shifted year;
 *  - the days before year yoe of an era are 365 * yoe + yoe / 4 - yoe / 100 (the
 *    400-year rule never applies inside an era);
 *  - 0000-03-01 is 719468 days before 1970-01-01.
 * Valid for 1 <= m <= 12, 1 <= d <= 31; |y| is clamped to 10^12 so nothing overflows.
 */
int64_t ri_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era, yoe, doy, doe;
    unsigned mp;

    if (y > RI_CIVIL_YMAX)
        y = RI_CIVIL_YMAX;
    if (y < -RI_CIVIL_YMAX)
        y = -RI_CIVIL_YMAX;
    if (m <= 2)
        y--;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    mp = m > 2 ? m - 3 : m + 9;
    doy = (int64_t)((153u * mp + 2u) / 5u) + (int64_t)d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/*
 * The inverse. After moving the origin to 0000-03-01 and splitting off whole eras,
 * doe (day of era, [0, 146096]) is turned into a year of era by removing the leap days
 * before it: one every 1460 days (4 years less the day itself), given back every
 * 36524 days (a century without its leap year), and taken again on the era's last day
 * (146096); the remainder divided by 365 is the year. Then the month is the inverse of
 * (153 * mp + 2) / 5. The era split is done before the origin shift, so every int64_t
 * input is defined.
 */
void ri_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era, doe, yoe, doy, mp;

    era = z / 146097;
    doe = z % 146097;
    if (doe < 0) {
        doe += 146097;
        era--;
    }
    doe += 719468;
    era += doe / 146097;
    doe %= 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = era * 400 + yoe + (*m <= 2 ? 1 : 0);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29u : mdays[m - 1];
}

void ri_format_date(ri_time t, char *buf, size_t size)
{
    char tmp[40];
    int64_t days, y;
    unsigned m, d;
    size_t n;

    if (!buf || size == 0)
        return;
    if (t == RI_TIME_NONE) {
        buf[0] = '\0';
        return;
    }
    days = t / RI_DAY;
    if (t % RI_DAY < 0)
        days--;
    ri_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999) {
        unsigned uy = (unsigned)y;
        tmp[0] = (char)('0' + uy / 1000);
        tmp[1] = (char)('0' + uy / 100 % 10);
        tmp[2] = (char)('0' + uy / 10 % 10);
        tmp[3] = (char)('0' + uy % 10);
        tmp[4] = '-';
        tmp[5] = (char)('0' + m / 10);
        tmp[6] = (char)('0' + m % 10);
        tmp[7] = '-';
        tmp[8] = (char)('0' + d / 10);
        tmp[9] = (char)('0' + d % 10);
        n = 10;
    } else {
        int r = snprintf(tmp, sizeof(tmp), "%lld-%02u-%02u", (long long)y, m, d);
        n = r > 0 ? (size_t)r : 0;
    }
    if (n >= size)
        n = size - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}

/* ------------------------------------------------------------------ dates */

/* A date and time of day as written, before validation and conversion. */
struct dt {
    int64_t y;
    unsigned mo, d, h, mi, s;
    int64_t off; /* seconds east of UTC */
};

/* Reads at most max digits at p; returns how many, with their value in *v. */
static inline size_t read_num(const unsigned char *p, const unsigned char *end, size_t max,
                              unsigned *v)
{
    size_t n = 0;
    unsigned x = 0;

    while (n < max && p + n < end && is_digit(p[n])) {
        x = x * 10 + (unsigned)(p[n] - '0');
        n++;
    }
    *v = x;
    return n;
}

/* 1 for "am", 2 for "pm" (any case, not followed by a letter) at p, else 0. */
static int meridiem(const unsigned char *p, const unsigned char *end)
{
    unsigned char c;

    if (end - p < 2 || (p[1] | 0x20) != 'm' || (end - p > 2 && is_alpha(p[2])))
        return 0;
    c = (unsigned char)(p[0] | 0x20);
    return c == 'a' ? 1 : c == 'p' ? 2 : 0;
}

/* Parses a zone at p (Z, UTC, GMT, +HH, +HHMM, +HH:MM) up to end into *off. */
static bool parse_zone(const unsigned char *p, const unsigned char *end, int64_t *off)
{
    unsigned oh, om = 0;
    int64_t sign;
    bool colon = false;

    *off = 0;
    if (end - p == 1 && (*p == 'Z' || *p == 'z'))
        return true;
    if (end - p == 3 && ((memcmp(p, "UTC", 3) == 0) || memcmp(p, "GMT", 3) == 0))
        return true;
    if (*p != '+' && *p != '-')
        return false;
    sign = *p == '-' ? -1 : 1;
    p++;
    if (read_num(p, end, 2, &oh) != 2)
        return false;
    p += 2;
    if (p < end && *p == ':') {
        colon = true;
        p++;
    }
    if (p < end || colon) {
        if (read_num(p, end, 2, &om) != 2)
            return false;
        p += 2;
    }
    /* +18:00 is the widest offset ISO 8601 profiles (and java.time) allow */
    if (p != end || om > 59 || oh * 60 + om > 18 * 60)
        return false;
    *off = sign * (int64_t)(oh * 3600 + om * 60);
    return true;
}

/*
 * Parses what may follow a date, up to end: nothing, or 'T', blanks or ", " and then
 * H[H]:MM[:SS[.frac]] [AM|PM] [zone], blanks allowed before the meridiem and the zone.
 */
static bool parse_tail(const unsigned char *p, const unsigned char *end, struct dt *dt)
{
    unsigned h, mi, s = 0;
    size_t n;
    int ampm;

    dt->h = dt->mi = dt->s = 0;
    dt->off = 0;
    if (p == end)
        return true;
    if (*p == 'T' || *p == 't') {
        p++;
    } else if (*p == ',' || is_blank(*p)) {
        p++;
        while (p < end && is_blank(*p))
            p++;
    } else {
        return false;
    }
    /* the hour may have one digit ("8:05 PM"); minutes and seconds always have two */
    n = read_num(p, end, 2, &h);
    if (n == 0)
        return false;
    p += n;
    if (p >= end || *p != ':' || read_num(p + 1, end, 2, &mi) != 2)
        return false;
    p += 3;
    if (p < end && *p == ':') {
        if (read_num(p + 1, end, 2, &s) != 2)
            return false;
        p += 3;
        /* ri_time counts whole seconds: a fraction is checked for digits, then dropped */
        if (end - p >= 2 && (*p == '.' || *p == ',') && is_digit(p[1])) {
            p++;
            while (p < end && is_digit(*p))
                p++;
        }
    }
    while (p < end && is_blank(*p))
        p++;
    ampm = meridiem(p, end);
    if (ampm) {
        p += 2;
        while (p < end && is_blank(*p))
            p++;
    }
    if (p < end && !parse_zone(p, end, &dt->off))
        return false;
    /* 12 AM is midnight and 12 PM noon; "0:30 AM" and "13:00 PM" are refused */
    if (ampm) {
        if (h < 1 || h > 12)
            return false;
        h = h % 12 + (ampm == 2 ? 12u : 0u);
    }
    if (h > 23 || mi > 59 || s > 59)
        return false;
    dt->h = h;
    dt->mi = mi;
    dt->s = s;
    return true;
}

/* Validates dt and converts it to seconds since the epoch, UTC. */
static ri_err dt_time(const struct dt *dt, ri_time *out)
{
    if (dt->y < RI_YEAR_MIN || dt->y > RI_YEAR_MAX || dt->mo < 1 || dt->mo > 12 || dt->d < 1 ||
        dt->d > days_in_month(dt->y, dt->mo))
        return RI_ERR_PARSE;
    *out = ri_days_from_civil(dt->y, dt->mo, dt->d) * RI_DAY +
           (int64_t)(dt->h * 3600 + dt->mi * 60 + dt->s) - dt->off;
    return RI_OK;
}

static ri_err parse_iso(const unsigned char *p, const unsigned char *end, ri_time *out)
{
    struct dt dt;
    unsigned y, mo, d;
    size_t n;

    /* The plain YYYY-MM-DD, most of what ingest sees, by fixed positions. */
    if (end - p == 10 && p[4] == '-' && p[7] == '-' && is_digit(p[0]) && is_digit(p[1]) &&
        is_digit(p[2]) && is_digit(p[3]) && is_digit(p[5]) && is_digit(p[6]) && is_digit(p[8]) &&
        is_digit(p[9])) {
        dt.y = (p[0] - '0') * 1000 + (p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0');
        dt.mo = (unsigned)((p[5] - '0') * 10 + (p[6] - '0'));
        dt.d = (unsigned)((p[8] - '0') * 10 + (p[9] - '0'));
        dt.h = dt.mi = dt.s = 0;
        dt.off = 0;
        return dt_time(&dt, out);
    }
    if (read_num(p, end, 4, &y) != 4)
        return RI_ERR_PARSE;
    p += 4;
    if (p < end && (*p == '-' || *p == '/')) {
        unsigned char sep = *p++;
        n = read_num(p, end, 2, &mo);
        if (n == 0)
            return RI_ERR_PARSE;
        p += n;
        if (p >= end || *p != sep)
            return RI_ERR_PARSE;
        p++;
        n = read_num(p, end, 2, &d);
        if (n == 0)
            return RI_ERR_PARSE;
        p += n;
    } else {
        unsigned md;
        if (read_num(p, end, 4, &md) != 4)
            return RI_ERR_PARSE;
        mo = md / 100;
        d = md % 100;
        p += 4;
    }
    dt.y = y;
    dt.mo = mo;
    dt.d = d;
    if (!parse_tail(p, end, &dt))
        return RI_ERR_PARSE;
    return dt_time(&dt, out);
}

/* The three numbers of a D/M/Y or M/D/Y date, the separator, and what follows. */
struct dmy {
    unsigned n1, n2;
    int64_t y;
    unsigned char sep;
    const unsigned char *rest;
};

static bool scan_dmy(const unsigned char *p, const unsigned char *end, struct dmy *f)
{
    unsigned y;
    size_t n;

    n = read_num(p, end, 2, &f->n1);
    if (n == 0)
        return false;
    p += n;
    if (p >= end || (*p != '/' && *p != '-' && *p != '.'))
        return false;
    f->sep = *p++;
    n = read_num(p, end, 2, &f->n2);
    if (n == 0)
        return false;
    p += n;
    if (p >= end || *p != f->sep)
        return false;
    p++;
    n = read_num(p, end, 4, &y);
    if (n == 2)
        f->y = y < 70 ? 2000 + y : 1900 + y;
    else if (n == 4)
        f->y = y;
    else
        return false;
    f->rest = p + n;
    return true;
}

/* Parses a US or EU date; RI_DATE_AUTO picks per value (see the file comment). */
static ri_err parse_dmy(const unsigned char *p, const unsigned char *end, enum ri_date_style style,
                        ri_time *out)
{
    struct dmy f;
    struct dt dt;

    if (!scan_dmy(p, end, &f))
        return RI_ERR_PARSE;
    if (style == RI_DATE_AUTO) {
        if (f.n1 > 12)
            style = RI_DATE_EU;
        else if (f.n2 > 12)
            style = RI_DATE_US;
        else
            style = f.sep == '.' ? RI_DATE_EU : RI_DATE_US;
    }
    dt.y = f.y;
    dt.mo = style == RI_DATE_US ? f.n1 : f.n2;
    dt.d = style == RI_DATE_US ? f.n2 : f.n1;
    if (!parse_tail(f.rest, end, &dt))
        return RI_ERR_PARSE;
    return dt_time(&dt, out);
}

ri_err ri_parse_date(const char *s, size_t len, enum ri_date_style style, ri_time *out /* OUT */)
{
    const unsigned char *p, *end;
    ri_time t = RI_TIME_NONE;
    ri_err rc;

    *out = RI_TIME_NONE;
    if (!s)
        return RI_ERR_NOTFOUND;
    ri_trim(&s, &len);
    if (len == 0)
        return RI_ERR_NOTFOUND;
    p = (const unsigned char *)s;
    end = p + len;
    switch (style) {
    case RI_DATE_ISO:
        rc = parse_iso(p, end, &t);
        break;
    case RI_DATE_US:
    case RI_DATE_EU:
        rc = parse_dmy(p, end, style, &t);
        break;
    case RI_DATE_AUTO:
        if (len >= 4 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]))
            rc = parse_iso(p, end, &t);
        else
            rc = parse_dmy(p, end, RI_DATE_AUTO, &t);
        break;
    default:
        return RI_ERR_INVALID;
    }
    if (rc == RI_OK)
        *out = t;
    return rc;
}

/*
 * Counts, over the non-empty values, how many parse under each style. A style that
 * parses every value wins, ISO first; when both US and EU parse everything no value
 * had a number above 12 in either position, and the column is EU if every value uses
 * '.' as separator, US otherwise. When no style parses everything (a column with a
 * few bad cells), the style that parses the most wins, ties going ISO, then by the
 * same separator rule. NULL vals[i] count as empty; lens may be NULL (strlen).
 */
enum ri_date_style ri_date_detect(const char *const *vals, const size_t *lens, size_t n)
{
    size_t i, nonempty = 0, iso = 0, us = 0, eu = 0, dmy = 0, dotted = 0;
    enum ri_date_style tie;

    for (i = 0; i < n; i++) {
        const char *s = vals[i];
        size_t len;
        struct dmy f;
        ri_time t;

        if (!s)
            continue;
        len = lens ? lens[i] : strlen(s);
        ri_trim(&s, &len);
        if (len == 0)
            continue;
        nonempty++;
        if (ri_parse_date(s, len, RI_DATE_ISO, &t) == RI_OK)
            iso++;
        if (ri_parse_date(s, len, RI_DATE_US, &t) == RI_OK)
            us++;
        if (ri_parse_date(s, len, RI_DATE_EU, &t) == RI_OK)
            eu++;
        if (scan_dmy((const unsigned char *)s, (const unsigned char *)s + len, &f)) {
            dmy++;
            if (f.sep == '.')
                dotted++;
        }
    }
    tie = dmy > 0 && dotted == dmy ? RI_DATE_EU : RI_DATE_US;
    if (nonempty == 0)
        return RI_DATE_AUTO;
    if (iso == nonempty)
        return RI_DATE_ISO;
    if (us == nonempty && eu == nonempty)
        return tie;
    if (us == nonempty)
        return RI_DATE_US;
    if (eu == nonempty)
        return RI_DATE_EU;
    if (iso == 0 && us == 0 && eu == 0)
        return RI_DATE_AUTO;
    if (iso >= us && iso >= eu)
        return RI_DATE_ISO;
    if (us != eu)
        return us > eu ? RI_DATE_US : RI_DATE_EU;
    return tie;
}

/* ------------------------------------------------------------------ amounts */

/* Length of a space used between digit groups: ' ', U+00A0, U+2009, U+202F; else 0. */
static inline size_t group_space_len(const unsigned char *p, const unsigned char *end)
{
    if (p >= end)
        return 0;
    if (*p == ' ')
        return 1;
    if (p[0] == 0xC2 && end - p >= 2 && p[1] == 0xA0)
        return 2;
    if (p[0] == 0xE2 && end - p >= 3 && p[1] == 0x80 && (p[2] == 0xAF || p[2] == 0x89))
        return 3;
    return 0;
}

/* Length of padding around the number: an ASCII blank or one of the spaces above. */
static size_t pad_len(const unsigned char *p, const unsigned char *end)
{
    if (p < end && is_blank(*p))
        return 1;
    return group_space_len(p, end);
}

/* Length of a currency marker at p: $ € £ ¥ or three upper-case letters; else 0. */
static size_t currency_len(const unsigned char *p, const unsigned char *end)
{
    size_t left = (size_t)(end - p);

    if (left >= 1 && p[0] == '$')
        return 1;
    if (left >= 2 && p[0] == 0xC2 && (p[1] == 0xA3 || p[1] == 0xA5))
        return 2;
    if (left >= 3 && p[0] == 0xE2 && p[1] == 0x82 && p[2] == 0xAC)
        return 3;
    if (left >= 3 && is_upper(p[0]) && is_upper(p[1]) && is_upper(p[2]) &&
        (left == 3 || !is_alpha(p[3])))
        return 3;
    return 0;
}

/* Length of the padding, or of one currency marker if none was seen yet (*cur is then
 * set), at p: what may stand around an amount's digits. 0 if neither. */
static size_t pad_or_currency(const unsigned char *p, const unsigned char *end, bool *cur)
{
    size_t k = pad_len(p, end);
    if (k == 0 && !*cur) {
        k = currency_len(p, end);
        *cur = k > 0;
    }
    return k;
}

/* Picks the decimal separator of an RI_AMOUNT_AUTO number (see the file comment). */
static unsigned char auto_decimal(size_t ndot, size_t ncomma, const unsigned char *last_dot,
                                  const unsigned char *last_comma, const unsigned char *bend)
{
    size_t after = 0;

    if (ndot && ncomma)
        return last_dot > last_comma ? '.' : ',';
    if (ncomma == 1) {
        while (last_comma + 1 + after < bend && is_digit(last_comma[1 + after]))
            after++;
        return after == 3 ? '.' : ',';
    }
    if (ncomma > 1)
        return '.';
    return ndot > 1 ? ',' : '.';
}

/*
 * Reads the digits of body..bend into d, with dsep as the decimal separator and every
 * other separator taken as a thousands separator whose grouping is checked.
 */
static bool scan_groups(const unsigned char *q, const unsigned char *bend, unsigned char dsep,
                        struct dec *d)
{
    unsigned char tsep = 0;
    size_t run = 0, ngroups = 0;
    bool frac = false;

    while (q < bend) {
        unsigned char c = *q, kind;
        size_t k = 1;

        if (is_digit(c)) {
            if (!dec_digit(d, c, frac))
                return false;
            run++;
            q++;
            continue;
        }
        if (c == dsep) {
            if (frac || (ngroups && run != 3))
                return false;
            frac = true;
            q++;
            continue;
        }
        if (frac)
            return false;
        kind = c;
        if (c != '.' && c != ',' && c != '\'') {
            kind = ' ';
            k = group_space_len(q, bend);
        }
        if ((tsep && kind != tsep) || run > 3 || run == 0 || (ngroups && run != 3))
            return false;
        tsep = kind;
        ngroups++;
        run = 0;
        q += k;
    }
    if (ngroups && !frac && run != 3)
        return false;
    return d->any;
}

ri_err ri_parse_amount(const char *s, size_t len, enum ri_amount_locale loc, double *out /* OUT */)
{
    const unsigned char *p, *end, *body, *bend;
    const unsigned char *last_dot = NULL, *last_comma = NULL;
    size_t ndot = 0, ncomma = 0, k;
    bool neg = false, sign = false, paren = false, closed = false, cur = false, exp = false;
    unsigned char dsep;
    struct dec d;
    double v;

    *out = 0.0;
    if (loc != RI_AMOUNT_AUTO && loc != RI_AMOUNT_POINT && loc != RI_AMOUNT_COMMA)
        return RI_ERR_INVALID;
    if (!s)
        return RI_ERR_NOTFOUND;
    ri_trim(&s, &len);
    if (len == 0)
        return RI_ERR_NOTFOUND;
    p = (const unsigned char *)s;
    end = p + len;
    dec_init(&d);

    /* Fast path, one pass, for the machine form digits[.digits] that most exports use;
     * anything else (or COMMA, where '.' groups thousands) takes the general path. */
    if (loc != RI_AMOUNT_COMMA && is_digit(*p)) {
        const unsigned char *q = p;
        bool frac = false;
        while (q < end) {
            if (is_digit(*q)) {
                if (!dec_digit(&d, *q, frac))
                    break;
            } else if (*q != '.' || frac) {
                break;
            } else {
                frac = true;
            }
            q++;
        }
        /* at most RI_DEC_MAXDIG digits and no exponent: always finite */
        if (q == end) {
            (void)dec_value(&d, &v);
            *out = v;
            return RI_OK;
        }
        dec_init(&d); /* start again on the general path */
    }

    /* Prefix: one sign, one '(', one currency marker, padding, in any order. */
    while (p < end && !is_digit(*p) && *p != '.' && *p != ',') {
        if (*p == '-' || *p == '+') {
            if (sign)
                return RI_ERR_PARSE;
            sign = true;
            neg = *p == '-';
            p++;
            continue;
        }
        if (*p == '(') {
            if (paren)
                return RI_ERR_PARSE;
            paren = true;
            p++;
            continue;
        }
        k = pad_or_currency(p, end, &cur);
        if (k == 0)
            return RI_ERR_PARSE;
        p += k;
    }

    /* Body: digits and separators; a space or apostrophe only between two digits. */
    body = p;
    while (p < end) {
        unsigned char c = *p;
        if (is_digit(c) ||
            (c == '\'' && p > body && is_digit(p[-1]) && end - p >= 2 && is_digit(p[1]))) {
            p++;
        } else if (c == '.') {
            ndot++;
            last_dot = p++;
        } else if (c == ',') {
            ncomma++;
            last_comma = p++;
        } else {
            k = group_space_len(p, end);
            if (k == 0 || p == body || !is_digit(p[-1]) || end - p <= (ptrdiff_t)k ||
                !is_digit(p[k]))
                break;
            p += k;
        }
    }
    bend = p;
    if (loc == RI_AMOUNT_POINT)
        dsep = '.';
    else if (loc == RI_AMOUNT_COMMA)
        dsep = ',';
    else
        dsep = auto_decimal(ndot, ncomma, last_dot, last_comma, bend);
    if (!scan_groups(body, bend, dsep, &d))
        return RI_ERR_PARSE;

    /* Exponent; an 'e' not followed by digits may begin a currency code (EUR). */
    if (p < end && (*p == 'e' || *p == 'E')) {
        const unsigned char *q = p + 1;
        int64_t e;
        if (read_exponent(&q, end, &e)) {
            d.e10 += e;
            exp = true;
            p = q;
        }
    }
    /* Multiplier suffix, directly after the digits. */
    if (!exp && p < end && is_alpha(*p)) {
        size_t run = 0;
        while (p + run < end && is_alpha(p[run]))
            run++;
        if (run == 1 && (*p | 0x20) == 'k') {
            d.e10 += 3;
            p++;
        } else if (run == 1 && (*p | 0x20) == 'm') {
            d.e10 += 6;
            p++;
        } else if (run == 2 && (p[0] | 0x20) == 'b' && (p[1] | 0x20) == 'n') {
            d.e10 += 9;
            p += 2;
        }
    }
    /* Suffix: padding, the closing ')', one currency marker if none came before. */
    while (p < end) {
        if (*p == ')' && paren && !closed) {
            closed = true;
            p++;
            continue;
        }
        k = pad_or_currency(p, end, &cur);
        if (k == 0)
            return RI_ERR_PARSE;
        p += k;
    }
    if (paren != closed || (paren && sign))
        return RI_ERR_PARSE;
    /* An underflow to zero or a subnormal is still a finite amount; only inf is not. */
    (void)dec_value(&d, &v);
    if (!isfinite(v))
        return RI_ERR_PARSE;
    *out = (paren || neg) && v > 0.0 ? -v : v;
    return RI_OK;
}
