/* The identity and certificate helpers of the default API:
 *
 * - pn_identity_public derives the same public key from the same seed, and
 *   different keys from different seeds;
 * - pn_certificate_issue -> pn_certificate_verify is PN_OK; another authority's
 *   key gives PN_ERR_UNAUTHENTICATED; an expired or not yet valid certificate,
 *   the wrong role or the wrong node id give PN_ERR_CREDENTIAL_REJECTED;
 *   damaged bytes give a decode code; pn_last_error_message says why;
 * - pn_certificate_inspect returns the issued fields;
 * - issuing refuses bad fields and reports the length a short buffer needs;
 * - pn_ops_new and pn_ops_start refuse credentials the core refuses. */
#include "pn_test.h"

#define NOW (PN_TEST_UNIX_AT_ZERO + 10u)

int main(void) {
  uint8_t authority[32], other[32], authority_pub[32], other_pub[32], again[32];
  uint8_t cert[PN_MAX_CERTIFICATE_LEN], small[8];
  pn_credentials creds;
  pn_certificate_fields f;
  pn_certificate_info info;
  pn_str pools[2];
  pn_ops_config cfg;
  pn_ops *ops = NULL;
  pn_str sups[1];
  size_t len = 0, needed = 0;
  char msg[256];

  /* Keys: a real host draws seeds from getrandom(2); these are fixed. */
  pn_test_authority_seed(authority);
  pn_test_seed("someone else", other);
  CHECK_OK(pn_identity_public(authority, authority_pub));
  CHECK_OK(pn_identity_public(authority, again));
  CHECK(memcmp(authority_pub, again, 32) == 0);
  CHECK_OK(pn_identity_public(other, other_pub));
  CHECK(memcmp(authority_pub, other_pub, 32) != 0);
  CHECK_CODE(pn_identity_public(NULL, again), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_identity_public(authority, NULL), PN_ERR_NULL_POINTER);

  /* A worker certificate in two pools. */
  memset(&f, 0, sizeof f);
  f.node = "w-7";
  f.node_len = 3;
  f.role = PN_NODE_WORKER;
  CHECK_OK(pn_identity_public(other, f.identity_public));
  memset(f.wg_key, 0x5A, sizeof f.wg_key);
  f.slots = 3;
  pools[0].ptr = "train";
  pools[0].len = 5;
  pools[1].ptr = "infer";
  pools[1].len = 5;
  f.pools = pools;
  f.pool_count = 2;
  f.serial = 4;
  f.not_before = PN_TEST_UNIX_AT_ZERO;
  f.not_after = PN_TEST_UNIX_AT_ZERO + 100u;
  CHECK_OK(pn_certificate_issue(authority, &f, cert, sizeof cert, &len));
  CHECK(len > 64 && len <= PN_MAX_CERTIFICATE_LEN);

  /* Issued, then verified: by role and id, or by neither. */
  CHECK_OK(pn_certificate_verify(cert, len, authority_pub, NOW, PN_NODE_WORKER, "w-7", 3));
  CHECK_OK(pn_certificate_verify(cert, len, authority_pub, NOW, -1, NULL, 0));
  /* Another authority: not authenticated. */
  CHECK_CODE(pn_certificate_verify(cert, len, other_pub, NOW, -1, NULL, 0), PN_ERR_UNAUTHENTICATED);
  pn_last_error_message(msg, sizeof msg);
  CHECK(strstr(msg, "authority") != NULL);
  /* Expired (not_after is the first invalid second) and not yet valid. */
  CHECK_CODE(pn_certificate_verify(cert, len, authority_pub, PN_TEST_UNIX_AT_ZERO + 100u, -1, NULL, 0),
             PN_ERR_CREDENTIAL_REJECTED);
  pn_last_error_message(msg, sizeof msg);
  CHECK(strstr(msg, "expired") != NULL);
  CHECK_CODE(pn_certificate_verify(cert, len, authority_pub, PN_TEST_UNIX_AT_ZERO - 1u, -1, NULL, 0),
             PN_ERR_CREDENTIAL_REJECTED);
  /* Wrong role, wrong node. */
  CHECK_CODE(pn_certificate_verify(cert, len, authority_pub, NOW, PN_NODE_SUPERVISOR, NULL, 0),
             PN_ERR_CREDENTIAL_REJECTED);
  CHECK_CODE(pn_certificate_verify(cert, len, authority_pub, NOW, PN_NODE_WORKER, "w-8", 3),
             PN_ERR_CREDENTIAL_REJECTED);
  pn_last_error_message(msg, sizeof msg);
  CHECK(strstr(msg, "another node") != NULL);
  /* Bad arguments and damaged bytes. */
  CHECK_CODE(pn_certificate_verify(cert, len, authority_pub, NOW, 2, NULL, 0), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_certificate_verify(cert, len, authority_pub, NOW, -1, "", 0), PN_ERR_INVALID_ID);
  CHECK_CODE(pn_certificate_verify(cert, len, NULL, NOW, -1, NULL, 0), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_certificate_verify(cert, len - 1, authority_pub, NOW, -1, NULL, 0), PN_ERR_DECODE_TRUNCATED);
  CHECK_CODE(pn_certificate_verify(cert, 0, authority_pub, NOW, -1, NULL, 0), PN_ERR_DECODE_EMPTY);
  cert[len - 1] ^= 1; /* the signature */
  CHECK_CODE(pn_certificate_verify(cert, len, authority_pub, NOW, -1, NULL, 0), PN_ERR_UNAUTHENTICATED);
  cert[len - 1] ^= 1;
  CHECK_OK(pn_certificate_verify(cert, len, authority_pub, NOW, -1, NULL, 0));

  /* Inspection returns the fields as issued. */
  memset(&info, 0xFF, sizeof info);
  CHECK_OK(pn_certificate_inspect(cert, len, &info));
  CHECK(pn_id_is(&info.node, "w-7") && info.role == PN_NODE_WORKER && info.slots == 3);
  CHECK(info.serial == 4 && info.not_before == PN_TEST_UNIX_AT_ZERO && info.not_after == PN_TEST_UNIX_AT_ZERO + 100u);
  CHECK(memcmp(info.identity_public, f.identity_public, 32) == 0 && info.wg_key[0] == 0x5A && info.wg_key[31] == 0x5A);
  CHECK(info.pool_count == 2 && pn_id_is(&info.pools[0], "train") && pn_id_is(&info.pools[1], "infer"));
  CHECK(info.pools[2].len == 0 && info.pools[3].len == 0 && info.endpoint_count == 0);
  CHECK_CODE(pn_certificate_inspect(cert, len - 1, &info), PN_ERR_DECODE_TRUNCATED);
  CHECK_CODE(pn_certificate_inspect(cert, len, NULL), PN_ERR_NULL_POINTER);

  /* Issuing: a short buffer gives the length and is left alone; bad fields give their codes. */
  memset(small, 0, sizeof small);
  CHECK_CODE(pn_certificate_issue(authority, &f, small, sizeof small, &needed), PN_ERR_BUFFER_TOO_SMALL);
  CHECK(needed == len && small[0] == 0 && small[7] == 0);
  f.role = 9;
  CHECK_CODE(pn_certificate_issue(authority, &f, cert, sizeof cert, &needed), PN_ERR_INVALID_ARGUMENT);
  f.role = PN_NODE_WORKER;
  pools[1].ptr = "train";
  CHECK_CODE(pn_certificate_issue(authority, &f, cert, sizeof cert, &needed), PN_ERR_INVALID_ARGUMENT);
  pools[1].ptr = "infer";
  f.not_after = f.not_before - 1u;
  CHECK_CODE(pn_certificate_issue(authority, &f, cert, sizeof cert, &needed), PN_ERR_INVALID_ARGUMENT);
  f.not_after = PN_TEST_UNIX_AT_ZERO + 100u;
  f.node_len = 0;
  CHECK_CODE(pn_certificate_issue(authority, &f, cert, sizeof cert, &needed), PN_ERR_INVALID_ID);
  f.node_len = 3;
  CHECK_CODE(pn_certificate_issue(NULL, &f, cert, sizeof cert, &needed), PN_ERR_NULL_POINTER);

  /* pn_ops refuses credentials the core refuses. */
  CHECK_OK(pn_ops_config_default(&cfg));
  sups[0].ptr = "sup-0";
  sups[0].len = 5;
  CHECK_OK(pn_test_credentials("w-7", PN_NODE_WORKER, "train", 1, cert, sizeof cert, &creds));
  /* A certificate from another authority than the one the node trusts. */
  memcpy(creds.authority_public, other_pub, 32);
  CHECK_CODE(pn_ops_new(&cfg, "w-7", 3, PN_NODE_WORKER, sups, 1, &creds, 1, NULL, &ops), PN_ERR_UNAUTHENTICATED);
  memcpy(creds.authority_public, authority_pub, 32);
  /* An identity seed that is not the certified key's. */
  creds.identity_seed[0] ^= 1;
  CHECK_CODE(pn_ops_new(&cfg, "w-7", 3, PN_NODE_WORKER, sups, 1, &creds, 1, NULL, &ops), PN_ERR_CREDENTIAL_REJECTED);
  creds.identity_seed[0] ^= 1;
  /* Damaged certificate bytes. */
  creds.certificate_len -= 1;
  CHECK_CODE(pn_ops_new(&cfg, "w-7", 3, PN_NODE_WORKER, sups, 1, &creds, 1, NULL, &ops), PN_ERR_DECODE_TRUNCATED);
  creds.certificate_len += 1;
  CHECK(ops == NULL);
  /* Accepted, but the certificate has expired by the time the node starts. */
  CHECK_OK(pn_ops_new(&cfg, "w-7", 3, PN_NODE_WORKER, sups, 1, &creds, 1, NULL, &ops));
  CHECK(ops != NULL);
  CHECK_CODE(pn_ops_start(ops, SEC(PN_TEST_VALIDITY + 1u)), PN_ERR_CREDENTIAL_REJECTED);
  pn_last_error_message(msg, sizeof msg);
  CHECK(strstr(msg, "expired") != NULL);
  pn_ops_free(ops);
  memset(&creds, 0, sizeof creds);

  return pn_test_finish("test_identity");
}
