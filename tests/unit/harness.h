/*
 * harness.h - the unit-test harness (after redis's testhelp.h and curl's unitcheck.h).
 *
 * A test file defines functions declared with TEST(name), lists them in main() with
 * RUN(name), and ends with DONE(), which prints "test_x: N passed, N failed" and
 * returns non-zero if anything failed. CHECK records a failure and continues; REQUIRE
 * returns from the test at the first failure.
 */
#ifndef RI_HARNESS_H
#define RI_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int h_passed, h_failed, h_cur_failed;
static const char *h_name = "test";

#define TEST(name) static void name(void)
#define CHECK(cond)                                                                                \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                        \
   h_cur_failed = 1;                                                                               \
  }                                                                                                \
 } while (0)
#define REQUIRE(cond)                                                                              \
 do {                                                                                              \
  if (!(cond)) {                                                                                   \
   fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #cond);                            \
   h_cur_failed = 1;                                                                               \
   return;                                                                                         \
  }                                                                                                \
 } while (0)
#define CHECK_EQ_INT(a, b)                                                                         \
 do {                                                                                              \
  long long h_a = (long long)(a), h_b = (long long)(b);                                            \
  if (h_a != h_b) {                                                                                \
   fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, h_a, h_b);        \
   h_cur_failed = 1;                                                                               \
  }                                                                                                \
 } while (0)
#define CHECK_NEAR(a, b, eps)                                                                      \
 do {                                                                                              \
  double h_a = (double)(a), h_b = (double)(b);                                                     \
  if (!(fabs(h_a - h_b) <= (eps))) {                                                               \
   fprintf(stderr, "%s:%d: %s == %.10g, expected %.10g\n", __FILE__, __LINE__, #a, h_a, h_b);      \
   h_cur_failed = 1;                                                                               \
  }                                                                                                \
 } while (0)
#define CHECK_STR(a, b)                                                                            \
 do {                                                                                              \
  const char *h_a = (a), *h_b = (b);                                                               \
  if (!h_a || !h_b || strcmp(h_a, h_b) != 0) {                                                     \
   fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,               \
           h_a ? h_a : "(null)", h_b ? h_b : "(null)");                                            \
   h_cur_failed = 1;                                                                               \
  }                                                                                                \
 } while (0)
#define RUN(fn)                                                                                    \
 do {                                                                                              \
  h_cur_failed = 0;                                                                                \
  fn();                                                                                            \
  if (h_cur_failed) {                                                                              \
   h_failed++;                                                                                     \
   fprintf(stderr, "FAIL %s\n", #fn);                                                              \
  } else {                                                                                         \
   h_passed++;                                                                                     \
  }                                                                                                \
 } while (0)
#define BEGIN(name) (h_name = (name))
#define DONE()      (printf("%s: %d passed, %d failed\n", h_name, h_passed, h_failed), h_failed ? 1 : 0)

#endif /* RI_HARNESS_H */
