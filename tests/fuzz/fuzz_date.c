/*
 * fuzz_date.c - fuzzes the date functions of parse.c: ri_parse_date under every style,
 * ri_format_date, ri_date_detect, and ri_utf8_valid against a slow reference decoder.
 *
 * Properties checked on every input:
 *  - a failed parse leaves RI_TIME_NONE and says RI_ERR_PARSE, or RI_ERR_NOTFOUND
 *    exactly when the input is blank;
 *  - a parsed time lies within 1900-01-01 .. 2200-12-31 give or take the largest
 *    zone offset (18 h), formats as YYYY-MM-DD, and that text parses (ISO and AUTO)
 *    back to midnight of the same day; M/D/YYYY and D.M.YYYY of that day parse to it
 *    too under US and EU;
 *  - AUTO agrees with ISO when the value starts with four digits, else with US or EU;
 *  - ri_date_detect over the input's lines returns AUTO exactly when no line parses,
 *    and otherwise a style under which at least one line parses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ri_internal.h"

#define FCHECK(cond)                                                                               \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "fuzz_date: %s:%d: %s\n", __FILE__, __LINE__, #cond);                           \
   abort();                                                                                        \
  }                                                                                                \
 } while (0)

#define MAX_LINES 32
/* 1900-01-01 and 2200-12-31 as days since the epoch, and the largest zone offset. */
#define FIRST_DAY (-25567)
#define LAST_DAY  84370
#define MAX_OFF   INT64_C(64800) /* 18 h */

static bool is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool blank_only(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!is_blank(p[i]))
            return false;
    return true;
}

/* Decodes code point by code point: the obvious, slow definition of valid UTF-8. */
static bool ref_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0, k, need;
    uint32_t cp;

    while (i < n) {
        uint32_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            need = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3Fu);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += need + 1;
    }
    return true;
}

static bool is_digit4(const uint8_t *p)
{
    size_t i;
    for (i = 0; i < 4; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

static int64_t floor_day(ri_time t)
{
    return t / RI_DAY - (t % RI_DAY < 0 ? 1 : 0);
}

/* Checks what must hold of a successfully parsed time t. */
static void check_time(ri_time t)
{
    char buf[16], alt[32];
    int64_t day = floor_day(t), y;
    unsigned m, d;
    ri_time t2 = 0;
    int n;

    FCHECK(t >= (ri_time)FIRST_DAY * RI_DAY - MAX_OFF);
    FCHECK(t < (ri_time)(LAST_DAY + 1) * RI_DAY + MAX_OFF);
    ri_format_date(t, buf, sizeof(buf));
    FCHECK(strlen(buf) == 10);
    if (day < FIRST_DAY || day > LAST_DAY)
        return; /* a zone offset moved it just outside the accepted years */
    FCHECK(ri_parse_date(buf, 10, RI_DATE_ISO, &t2) == RI_OK && t2 == day * RI_DAY);
    FCHECK(ri_parse_date(buf, 10, RI_DATE_AUTO, &t2) == RI_OK && t2 == day * RI_DAY);
    ri_civil_from_days(day, &y, &m, &d);
    FCHECK(ri_days_from_civil(y, m, d) == day);
    n = snprintf(alt, sizeof(alt), "%u/%u/%lld", m, d, (long long)y);
    FCHECK(n > 0 && ri_parse_date(alt, (size_t)n, RI_DATE_US, &t2) == RI_OK);
    FCHECK(t2 == day * RI_DAY);
    n = snprintf(alt, sizeof(alt), "%02u.%02u.%lld", d, m, (long long)y);
    FCHECK(n > 0 && ri_parse_date(alt, (size_t)n, RI_DATE_EU, &t2) == RI_OK);
    FCHECK(t2 == day * RI_DAY);
}

static void check_detect(const char *s, size_t size)
{
    const char *vals[MAX_LINES];
    size_t lens[MAX_LINES], n = 0, i, start = 0;
    bool any = false, under = false;
    enum ri_date_style st;
    ri_time t;

    for (i = 0; i <= size && n < MAX_LINES; i++) {
        if (i == size || s[i] == '\n') {
            vals[n] = s + start;
            lens[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    st = ri_date_detect(vals, lens, n);
    FCHECK(st == RI_DATE_AUTO || st == RI_DATE_ISO || st == RI_DATE_US || st == RI_DATE_EU);
    for (i = 0; i < n; i++) {
        any = any || ri_parse_date(vals[i], lens[i], RI_DATE_ISO, &t) == RI_OK ||
              ri_parse_date(vals[i], lens[i], RI_DATE_US, &t) == RI_OK ||
              ri_parse_date(vals[i], lens[i], RI_DATE_EU, &t) == RI_OK;
        under = under || (st != RI_DATE_AUTO && ri_parse_date(vals[i], lens[i], st, &t) == RI_OK);
    }
    FCHECK(any == (st != RI_DATE_AUTO));
    FCHECK(st == RI_DATE_AUTO || under);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum ri_date_style styles[] = {RI_DATE_ISO, RI_DATE_US, RI_DATE_EU, RI_DATE_AUTO};
    const char *s = (const char *)data;
    ri_time got[4];
    ri_err rc[4];
    size_t i, lead = 0;

    FCHECK(ri_utf8_valid(s, size) == ref_utf8(data, size));
    for (i = 0; i < 4; i++) {
        got[i] = 1;
        rc[i] = ri_parse_date(s, size, styles[i], &got[i]);
        if (rc[i] == RI_OK) {
            check_time(got[i]);
        } else {
            FCHECK(got[i] == RI_TIME_NONE);
            FCHECK(rc[i] == RI_ERR_PARSE || rc[i] == RI_ERR_NOTFOUND);
            FCHECK((rc[i] == RI_ERR_NOTFOUND) == blank_only(data, size));
        }
    }
    /* AUTO is ISO for a leading 4-digit year, else one of US and EU */
    while (lead < size && is_blank(data[lead]))
        lead++;
    if (size - lead >= 4 && is_digit4(data + lead)) {
        FCHECK(rc[3] == rc[0] && got[3] == got[0]);
    } else if (rc[3] == RI_OK) {
        FCHECK((rc[1] == RI_OK && got[1] == got[3]) || (rc[2] == RI_OK && got[2] == got[3]));
    }
    if (size <= 4096)
        check_detect(s, size);
    return 0;
}
