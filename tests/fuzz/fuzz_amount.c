/*
 * fuzz_amount.c - fuzzes the number parsers of parse.c: ri_parse_amount under every
 * locale, ri_parse_f64 and ri_parse_i64.
 *
 * Properties checked on every input:
 *  - a parsed amount is finite; a failure leaves 0 and says RI_ERR_PARSE, or
 *    RI_ERR_NOTFOUND exactly when the input is blank;
 *  - POINT on the input and COMMA on the input with '.' and ',' swapped give the same
 *    code and the same bits (the two locales are mirror images);
 *  - whatever ri_parse_f64 accepts, strtod (C locale) reads entirely to the same bits,
 *    and ri_parse_amount reads to the same value under AUTO and POINT;
 *  - whatever ri_parse_i64 accepts, ri_parse_f64 accepts too, as the same number
 *    correctly rounded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ri_internal.h"

#define FCHECK(cond)                                                                               \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "fuzz_amount: %s:%d: %s\n", __FILE__, __LINE__, #cond);                         \
   abort();                                                                                        \
  }                                                                                                \
 } while (0)

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

static bool same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    return x == y;
}

static void check_amounts(const uint8_t *data, size_t size)
{
    static const enum ri_amount_locale locs[] = {RI_AMOUNT_AUTO, RI_AMOUNT_POINT, RI_AMOUNT_COMMA};
    const char *s = (const char *)data;
    double v[3], mirror = 5.0;
    ri_err rc[3], rm;
    char *sw;
    size_t i;

    for (i = 0; i < 3; i++) {
        v[i] = 3.0;
        rc[i] = ri_parse_amount(s, size, locs[i], &v[i]);
        if (rc[i] == RI_OK) {
            FCHECK(isfinite(v[i]));
        } else {
            FCHECK(same_bits(v[i], 0.0));
            FCHECK(rc[i] == RI_ERR_PARSE || rc[i] == RI_ERR_NOTFOUND);
            FCHECK((rc[i] == RI_ERR_NOTFOUND) == blank_only(data, size));
        }
    }
    sw = malloc(size ? size : 1);
    FCHECK(sw != NULL);
    for (i = 0; i < size; i++)
        sw[i] = (char)(data[i] == '.' ? ',' : data[i] == ',' ? '.' : data[i]);
    rm = ri_parse_amount(sw, size, RI_AMOUNT_COMMA, &mirror);
    FCHECK(rm == rc[1] && same_bits(mirror, v[1]));
    free(sw);
}

static void check_numbers(const uint8_t *data, size_t size, const double *amount_auto,
                          const double *amount_point)
{
    const char *s = (const char *)data;
    char *z, *end = NULL;
    double f = 1.0, ref;
    int64_t i64 = 1;
    ri_err rf, ri;
    size_t b = 0, e = size;

    rf = ri_parse_f64(s, size, &f);
    ri = ri_parse_i64(s, size, &i64);
    if (ri == RI_OK) {
        FCHECK(rf == RI_OK);
        FCHECK(!islessgreater((double)i64, f));
    }
    if (rf != RI_OK) {
        FCHECK(same_bits(f, 0.0));
        return;
    }
    FCHECK(isfinite(f));
    while (b < e && is_blank(data[b]))
        b++;
    while (e > b && is_blank(data[e - 1]))
        e--;
    z = malloc(e - b + 1);
    FCHECK(z != NULL);
    memcpy(z, data + b, e - b);
    z[e - b] = '\0';
    ref = strtod(z, &end);
    FCHECK(end == z + (e - b));
    FCHECK(same_bits(f, ref));
    free(z);
    FCHECK(amount_auto != NULL && !islessgreater(*amount_auto, f));
    FCHECK(amount_point != NULL && !islessgreater(*amount_point, f));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double va = 0.0, vp = 0.0;
    bool oka, okp;

    check_amounts(data, size);
    oka = ri_parse_amount((const char *)data, size, RI_AMOUNT_AUTO, &va) == RI_OK;
    okp = ri_parse_amount((const char *)data, size, RI_AMOUNT_POINT, &vp) == RI_OK;
    check_numbers(data, size, oka ? &va : NULL, okp ? &vp : NULL);
    return 0;
}
