/* Minimal check macros for the C tests: count checks, report failures with their
 * location, and end with a closing line "NAME: N passed, M failed". A program
 * that ran no check fails: a test that checks nothing cannot catch anything. */
#ifndef PN_TEST_H
#define PN_TEST_H

#include <stdio.h>
#include <string.h>

#include "pouw_netops_operator.h" /* includes pouw_netops.h */

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

/* Credentials for test clusters. A real host draws every seed from its OS
 * randomness (getrandom(2), /dev/urandom) and keeps it secret; the tests derive
 * them from names so runs repeat. */

/* UNIX seconds at the tests' time 0, and how long test certificates are valid. */
#define PN_TEST_UNIX_AT_ZERO 1800000000u
#define PN_TEST_VALIDITY (365u * 86400u)

/* 32 seed bytes from `name` (FNV-1a, stretched). */
static inline void pn_test_seed(const char *name, uint8_t seed[32]) {
  uint64_t h = 1469598103934665603u;
  size_t i;
  for (i = 0; name[i] != '\0'; i++) h = (h ^ (uint8_t)name[i]) * 1099511628211u;
  for (i = 0; i < 32; i++) {
    h = (h ^ (uint64_t)i) * 1099511628211u;
    seed[i] = (uint8_t)(h >> 32);
  }
}

/* The seed of the test clusters' authority. */
static inline void pn_test_authority_seed(uint8_t seed[32]) { pn_test_seed("authority", seed); }

/* Issues node `name` a certificate with the test authority (role a
 * pn_node_role value; workers get 1 slot in pool `pool` if not NULL; WireGuard
 * key `wg_key`, or 32 bytes 0x42 if NULL; serial 1, valid PN_TEST_VALIDITY from
 * PN_TEST_UNIX_AT_ZERO) into `cert` (`cap` bytes), and fills `creds` for boot
 * `epoch` pointing at it. */
static inline pn_result pn_test_credentials_wg(const char *name, uint32_t role, const char *pool, uint64_t epoch,
                                               const uint8_t *wg_key, uint8_t *cert, size_t cap,
                                               pn_credentials *creds) {
  uint8_t authority[32];
  pn_certificate_fields f;
  pn_str pools[1];
  size_t written = 0;
  pn_result r;
  memset(&f, 0, sizeof f);
  memset(creds, 0, sizeof *creds);
  pn_test_seed(name, creds->identity_seed);
  r = pn_identity_public(creds->identity_seed, f.identity_public);
  if (r != PN_OK) return r;
  f.node = name;
  f.node_len = strlen(name);
  f.role = role;
  if (wg_key != NULL)
    memcpy(f.wg_key, wg_key, sizeof f.wg_key);
  else
    memset(f.wg_key, 0x42, sizeof f.wg_key);
  if (role == PN_NODE_WORKER && pool != NULL) {
    pools[0].ptr = pool;
    pools[0].len = strlen(pool);
    f.slots = 1;
    f.pools = pools;
    f.pool_count = 1;
  }
  f.serial = 1;
  f.not_before = PN_TEST_UNIX_AT_ZERO;
  f.not_after = PN_TEST_UNIX_AT_ZERO + PN_TEST_VALIDITY;
  pn_test_authority_seed(authority);
  r = pn_certificate_issue(authority, &f, cert, cap, &written);
  if (r != PN_OK) return r;
  r = pn_identity_public(authority, creds->authority_public);
  memset(authority, 0, sizeof authority);
  creds->certificate = cert;
  creds->certificate_len = written;
  creds->epoch = epoch;
  creds->unix_at_zero = PN_TEST_UNIX_AT_ZERO;
  return r;
}

/* pn_test_credentials_wg with every node's WireGuard key 32 bytes 0x42. */
static inline pn_result pn_test_credentials(const char *name, uint32_t role, const char *pool, uint64_t epoch,
                                            uint8_t *cert, size_t cap, pn_credentials *creds) {
  return pn_test_credentials_wg(name, role, pool, epoch, NULL, cert, cap, creds);
}

#endif /* PN_TEST_H */
