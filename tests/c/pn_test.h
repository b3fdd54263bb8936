/* Minimal check macros for the C tests: count checks, report failures with their
 * location, and end with a closing line "NAME: N passed, M failed". A program
 * that ran no check fails: a test that checks nothing cannot catch anything. */
#ifndef PN_TEST_H
#define PN_TEST_H

#include <stdio.h>
#include <string.h>

#include "pouw_netops.h"

static int pn_test_passed = 0;
static int pn_test_failed = 0;

#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (cond) {                                                                       \
      pn_test_passed++;                                                               \
    } else {                                                                          \
      pn_test_failed++;                                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
    }                                                                                 \
  } while (0)

#define CHECK_CODE(expr, expected)                                                    \
  do {                                                                                \
    pn_result check_code_ = (expr);                                                   \
    if (check_code_ == (expected)) {                                                  \
      pn_test_passed++;                                                               \
    } else {                                                                          \
      pn_test_failed++;                                                               \
      fprintf(stderr, "%s:%d: %s gave %d (%s), expected %s\n", __FILE__, __LINE__,     \
              #expr, (int)check_code_, pn_result_str(check_code_), #expected);        \
    }                                                                                 \
  } while (0)

#define CHECK_OK(expr) CHECK_CODE(expr, PN_OK)

/* Prints the closing line and gives the exit status: 0 only if at least one
 * check ran and none failed. */
static inline int pn_test_finish(const char *name) {
  printf("%s: %d passed, %d failed\n", name, pn_test_passed, pn_test_failed);
  if (pn_test_passed + pn_test_failed == 0) {
    fprintf(stderr, "%s: no check ran\n", name);
    return 1;
  }
  return pn_test_failed == 0 ? 0 : 1;
}

/* Whether a returned id equals the NUL-terminated string s. */
static inline int pn_id_is(const pn_node_id *id, const char *s) {
  size_t n = strlen(s);
  return id->len == n && memcmp(id->bytes, s, n) == 0;
}

#define SEC(x) ((uint64_t)(x) * 1000000u)

#endif /* PN_TEST_H */
