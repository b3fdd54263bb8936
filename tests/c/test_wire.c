/* pn_wire_* (with the managers: the version 1 messages the standalone handles
 * exchange): a heartbeat encodes to the committed golden vector
 * (tests/vectors/heartbeat.hex, path overridable by argv[1]), a short buffer
 * reports the needed length and stays untouched, and bad bytes give decode codes. */
#define PN_MANAGERS 1
#include "pn_test.h"

static size_t read_hex(const char *path, uint8_t *out, size_t cap) {
  FILE *f = fopen(path, "r");
  size_t n = 0;
  unsigned int byte;
  if (f == NULL) return 0;
  while (n < cap && fscanf(f, "%2x", &byte) == 1) out[n++] = (uint8_t)byte;
  fclose(f);
  return n;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "tests/vectors/heartbeat.hex";
  uint8_t golden[256], buf[256];
  size_t golden_len = read_hex(path, golden, sizeof golden), len = 0, i;
  pn_heartbeat hb;
  pn_message msg;
  int untouched = 1;

  CHECK(golden_len > 0);
  /* The same envelope as core/tests/golden.rs. */
  hb.sequence = 42;
  hb.sent_at_us = 1700000000123456ull;
  hb.metrics.response_time_us = 35000;
  hb.metrics.success_rate = 0.97f;
  hb.metrics.task_completion_rate = 0.9f;
  hb.metrics.bandwidth_utilization = 0.25f;
  hb.metrics.cpu_usage = 0.5f;
  hb.metrics.memory_usage = 0.625f;

  /* Ask for the length, then a buffer one byte short: untouched. */
  CHECK_CODE(pn_wire_encode_heartbeat("worker-7", 8, &hb, NULL, 0, &len), PN_ERR_BUFFER_TOO_SMALL);
  CHECK(len == golden_len);
  memset(buf, 0xAA, sizeof buf);
  len = 0;
  CHECK_CODE(pn_wire_encode_heartbeat("worker-7", 8, &hb, buf, golden_len - 1, &len), PN_ERR_BUFFER_TOO_SMALL);
  CHECK(len == golden_len);
  for (i = 0; i < sizeof buf; i++) untouched &= buf[i] == 0xAA;
  CHECK(untouched);

  CHECK_OK(pn_wire_encode_heartbeat("worker-7", 8, &hb, buf, sizeof buf, &len));
  CHECK(len == golden_len && memcmp(buf, golden, len) == 0);

  CHECK_OK(pn_wire_decode(golden, golden_len, &msg));
  CHECK(msg.version == PN_WIRE_VERSION && msg.kind == PN_MESSAGE_HEARTBEAT);
  CHECK(pn_id_is(&msg.sender, "worker-7"));
  CHECK(msg.heartbeat.sequence == 42 && msg.heartbeat.sent_at_us == 1700000000123456ull);
  CHECK(msg.heartbeat.metrics.success_rate == 0.97f && msg.heartbeat.metrics.memory_usage == 0.625f);

  /* Bad bytes: each a specific decode code, and the output is left alone. */
  memset(&msg, 0, sizeof msg);
  CHECK_CODE(pn_wire_decode(NULL, 0, &msg), PN_ERR_DECODE_EMPTY);
  CHECK_CODE(pn_wire_decode(golden, golden_len - 1, &msg), PN_ERR_DECODE_TRUNCATED);
  memcpy(buf, golden, golden_len);
  buf[golden_len] = 0;
  CHECK_CODE(pn_wire_decode(buf, golden_len + 1, &msg), PN_ERR_DECODE_TRAILING_BYTES);
  buf[0] = 9;
  CHECK_CODE(pn_wire_decode(buf, golden_len, &msg), PN_ERR_DECODE_VERSION);
  buf[0] = 1;
  buf[1 + 1 + 8] = 0x7f; /* body kind after version, id length and "worker-7" */
  CHECK_CODE(pn_wire_decode(buf, golden_len, &msg), PN_ERR_DECODE_UNKNOWN_KIND);
  CHECK(msg.sender.len == 0);
  CHECK_CODE(pn_wire_decode(golden, 3, NULL), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_wire_decode(NULL, 3, &msg), PN_ERR_NULL_POINTER);

  /* Invalid input to the encoder. */
  hb.metrics.success_rate = -0.5f;
  CHECK_CODE(pn_wire_encode_heartbeat("worker-7", 8, &hb, buf, sizeof buf, &len), PN_ERR_INVALID_METRIC);
  hb.metrics.success_rate = 1.0f;
  CHECK_CODE(pn_wire_encode_heartbeat("", 0, &hb, buf, sizeof buf, &len), PN_ERR_INVALID_ID);
  CHECK_CODE(pn_wire_encode_heartbeat("w", 1, NULL, buf, sizeof buf, &len), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_wire_encode_heartbeat("w", 1, &hb, buf, sizeof buf, NULL), PN_ERR_NULL_POINTER);
  return pn_test_finish("test_wire");
}
