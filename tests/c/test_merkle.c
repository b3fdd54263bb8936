/* The Merkle log from C with the default header alone: the committed golden
 * vectors (tests/vectors/history_*.hex, read from the repo root) verify through
 * pn_batch_log_info, pn_merkle_verify_record, pn_merkle_verify_consistency and
 * pn_merkle_verify_inclusion; tampered inputs give PN_ERR_VERIFY_FAILED or a
 * decode error, never a crash. */
#include <stdio.h>
#include <stdlib.h>

#include "pn_test.h"

/* Reads tests/vectors/NAME.hex into a malloc'd buffer; *len gets its length. */
static uint8_t *vector(const char *name, size_t *len) {
  char path[256];
  FILE *f;
  uint8_t *out;
  size_t cap = 1 << 16, n = 0;
  unsigned int byte;
  snprintf(path, sizeof path, "tests/vectors/%s.hex", name);
  f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s (run from the repo root)\n", path);
    exit(1);
  }
  out = malloc(cap);
  while (n < cap && fscanf(f, "%2x", &byte) == 1) {
    out[n++] = (uint8_t)byte;
  }
  fclose(f);
  *len = n;
  return out;
}

int main(void) {
  size_t batch_len, proof_len, cons_len, record_len, roots_len;
  uint8_t *batch = vector("history_batch_v2", &batch_len);
  uint8_t *proof = vector("history_inclusion_proof", &proof_len);
  uint8_t *cons = vector("history_consistency_proof", &cons_len);
  uint8_t *record = vector("history_record", &record_len);
  uint8_t *roots = vector("history_log_roots", &roots_len);
  uint8_t *v1;
  size_t v1_len;
  const uint8_t *first_root = roots, *root = roots + 32;
  uint8_t leaf[32], bad_root[32];
  pn_batch_log log;

  CHECK(roots_len == 64 && batch_len > 164 && proof_len == 30 + 3 * 32);

  /* The archived batch's header chains the log: before = the first root, after = the root. */
  CHECK_OK(pn_batch_log_info(batch, batch_len, &log));
  CHECK(log.index == 1 && log.count == 4);
  CHECK(memcmp(log.log_root_before, first_root, 32) == 0);
  CHECK(memcmp(log.log_root_after, root, 32) == 0);
  CHECK_CODE(pn_batch_log_info(batch, batch_len - 1, &log), PN_ERR_DECODE);
  v1 = vector("history_batch_v1", &v1_len);
  CHECK_CODE(pn_batch_log_info(v1, v1_len, &log), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_batch_log_info(batch, batch_len, NULL), PN_ERR_NULL_POINTER);

  /* The message proof. */
  CHECK_OK(pn_merkle_verify_record(proof, proof_len, record, record_len, root));
  CHECK_CODE(pn_merkle_verify_record(proof, proof_len, record, record_len, first_root), PN_ERR_VERIFY_FAILED);
  record[record_len - 1] ^= 1;
  CHECK_CODE(pn_merkle_verify_record(proof, proof_len, record, record_len, root), PN_ERR_VERIFY_FAILED);
  record[record_len - 1] ^= 1;
  CHECK_CODE(pn_merkle_verify_record(proof, proof_len - 1, record, record_len, root), PN_ERR_DECODE);
  CHECK_CODE(pn_merkle_verify_record(proof, proof_len, record, record_len, NULL), PN_ERR_NULL_POINTER);

  /* The in-batch path alone: leaf 1 of the batch's 4, up to the batch root in the header. */
  CHECK_OK(pn_merkle_leaf_hash(record, record_len, &leaf));
  CHECK_OK(pn_merkle_verify_inclusion(leaf, 1, 4, proof + 30, 2 * 32, log.batch_root));
  CHECK_CODE(pn_merkle_verify_inclusion(leaf, 2, 4, proof + 30, 2 * 32, log.batch_root), PN_ERR_VERIFY_FAILED);
  CHECK_CODE(pn_merkle_verify_inclusion(leaf, 1, 4, proof + 30, 2 * 32 - 1, log.batch_root), PN_ERR_DECODE);

  /* Consistency from 1 batch to 2. */
  CHECK_OK(pn_merkle_verify_consistency(1, 2, first_root, root, cons, cons_len));
  memcpy(bad_root, root, 32);
  bad_root[0] ^= 0x80;
  CHECK_CODE(pn_merkle_verify_consistency(1, 2, first_root, bad_root, cons, cons_len), PN_ERR_VERIFY_FAILED);
  CHECK_CODE(pn_merkle_verify_consistency(0, 2, first_root, root, cons, cons_len), PN_ERR_VERIFY_FAILED);
  CHECK_OK(pn_merkle_verify_consistency(2, 2, root, root, NULL, 0));

  free(batch);
  free(proof);
  free(cons);
  free(record);
  free(roots);
  free(v1);
  return pn_test_finish("test_merkle");
}
