/* Archived batches and the Merkle log from C: the committed golden vectors
 * (tests/vectors/history_*.hex, read from the repo root, written by
 * core/tests/history_golden.rs) read through pn_batch_parse and
 * pn_batch_search, and verify through pn_batch_log_info,
 * pn_merkle_verify_record, pn_merkle_verify_consistency and
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

#define T0 1700000000u

/* The v3 batch (and the v2 one an earlier build wrote) holds records 4..7 of history_golden.rs: record i at T0 + i / 3
 * seconds, from worker_00(i % 3), of type GRADIENT_UPDATE, HEARTBEAT,
 * NEW_BLOCK, TASK_ASSIGN for i % 4 = 0..3, payload a 38-byte JSON object. */
static void batch_reading(const uint8_t *batch, size_t batch_len) {
  pn_batch_header hdr;
  pn_history_record found[4];
  uint8_t payload[4 * 38];
  size_t count = 0, bytes = 0;
  static const char heartbeat[] = "{\"iteration\":5,\"loss\":0.6185,\"node\":2}";

  CHECK_OK(pn_batch_parse(batch, batch_len, &hdr));
  CHECK(hdr.id == 1 && hdr.count == 4);
  CHECK(hdr.first_us == SEC(T0 + 1) && hdr.last_us == SEC(T0 + 2));
  CHECK(hdr.raw_len > 4 * 38 && hdr.zlib_len > 0);

  /* Too small: the needed count and bytes come back, nothing else is written. */
  CHECK_CODE(pn_batch_search(batch, batch_len, 0, UINT64_MAX, NULL, 0, NULL, 0, NULL, 0, NULL, 0, &count, &bytes),
             PN_ERR_BUFFER_TOO_SMALL);
  CHECK(count == 4 && bytes == 4 * 38);

  /* By type: record 5 alone, with its sender and payload. */
  CHECK_OK(pn_batch_search(batch, batch_len, 0, UINT64_MAX, "HEARTBEAT", 9, NULL, 0, found, 4, payload,
                           sizeof payload, &count, &bytes));
  CHECK(count == 1 && bytes == 38);
  CHECK(found[0].timestamp_us == SEC(T0 + 1));
  CHECK(found[0].sender.len == 10 && memcmp(found[0].sender.bytes, "worker_002", 10) == 0);
  CHECK(found[0].message_type_len == 9 && memcmp(found[0].message_type, "HEARTBEAT", 9) == 0);
  CHECK(found[0].payload_offset == 0 && found[0].payload_len == 38);
  CHECK(memcmp(payload, heartbeat, 38) == 0);

  /* By sender: records 4 and 7, in batch order, payloads back to back. */
  CHECK_OK(pn_batch_search(batch, batch_len, 0, UINT64_MAX, NULL, 0, "worker_001", 10, found, 4, payload,
                           sizeof payload, &count, &bytes));
  CHECK(count == 2 && bytes == 2 * 38);
  CHECK(found[0].message_type_len == 15 && memcmp(found[0].message_type, "GRADIENT_UPDATE", 15) == 0);
  CHECK(found[1].message_type_len == 11 && memcmp(found[1].message_type, "TASK_ASSIGN", 11) == 0);
  CHECK(found[1].payload_offset == 38 && memcmp(payload + 38, "{\"iteration\":7,", 15) == 0);

  /* By time, both ends inclusive: records 6 and 7. */
  CHECK_OK(pn_batch_search(batch, batch_len, SEC(T0 + 2), SEC(T0 + 2), NULL, 0, NULL, 0, found, 4, payload,
                           sizeof payload, &count, &bytes));
  CHECK(count == 2 && found[0].timestamp_us == SEC(T0 + 2) && found[1].timestamp_us == SEC(T0 + 2));
  CHECK_OK(pn_batch_search(batch, batch_len, 0, SEC(T0 + 1) - 1, NULL, 0, NULL, 0, found, 4, payload,
                           sizeof payload, &count, &bytes));
  CHECK(count == 0 && bytes == 0);

  /* A batch cut short is a decode error (its zlib stream is incomplete). */
  CHECK_CODE(pn_batch_parse(batch, batch_len - 1, &hdr), PN_ERR_DECODE);
  CHECK_CODE(pn_batch_search(batch, batch_len - 1, 0, UINT64_MAX, NULL, 0, NULL, 0, found, 4, payload,
                             sizeof payload, &count, &bytes),
             PN_ERR_DECODE);
}

int main(void) {
  size_t batch_len, proof_len, cons_len, record_len, roots_len;
  uint8_t *batch = vector("history_batch_v3", &batch_len);
  uint8_t *proof = vector("history_inclusion_proof", &proof_len);
  uint8_t *cons = vector("history_consistency_proof", &cons_len);
  uint8_t *record = vector("history_record", &record_len);
  uint8_t *roots = vector("history_log_roots", &roots_len);
  uint8_t *v1, *v2;
  size_t v1_len, v2_len;
  const uint8_t *first_root = roots, *root = roots + 32;
  uint8_t leaf[32], bad_root[32];
  pn_batch_log log;

  CHECK(roots_len == 64 && batch_len > 164 && proof_len == 30 + 3 * 32);
  batch_reading(batch, batch_len);
  /* Batches of the previous format version still read, to the same log. */
  v2 = vector("history_batch_v2", &v2_len);
  batch_reading(v2, v2_len);
  CHECK_OK(pn_batch_log_info(v2, v2_len, &log));
  CHECK(log.index == 1 && log.count == 4 && memcmp(log.log_root_after, root, 32) == 0);

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
  free(v2);
  return pn_test_finish("test_merkle");
}
