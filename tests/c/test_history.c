/* pn_history: records in, batches sealed at the threshold, search by window,
 * type and sender (the reference: a plain array of what was added), archived
 * batches out as bytes and back in with pn_history_import. */
#include <stdlib.h>

/* The standalone manager handles: needs the library built with the `managers`
 * feature. */
#define PN_MANAGERS 1
#include "pn_test.h"

#define RECORDS 7

static const char *senders[RECORDS] = {"a", "b", "a", "c", "a", "b", "a"};
static const char *types[RECORDS] = {"hb", "vote", "hb", "task", "vote", "hb", "hb"};

/* The reference: count and payload bytes of records matching the filter. */
static void expect(uint64_t start, uint64_t end, const char *type, const char *sender, size_t *count,
                   size_t *bytes) {
  int i;
  *count = 0;
  *bytes = 0;
  for (i = 0; i < RECORDS; i++) {
    uint64_t ts = SEC(i + 1);
    if (ts < start || ts > end) continue;
    if (type && strcmp(type, types[i]) != 0) continue;
    if (sender && strcmp(sender, senders[i]) != 0) continue;
    (*count)++;
    *bytes += (size_t)i + 1; /* record i carries i + 1 payload bytes */
  }
}

static void check_search(pn_history *h, uint64_t start, uint64_t end, const char *type, const char *sender) {
  pn_history_record recs[RECORDS];
  uint8_t payloads[64];
  size_t count = 0, bytes = 0, want_count, want_bytes, i;
  expect(start, end, type, sender, &want_count, &want_bytes);
  CHECK_OK(pn_history_search(h, start, end, type, type ? strlen(type) : 0, sender, sender ? strlen(sender) : 0, recs,
                             RECORDS, payloads, sizeof payloads, &count, &bytes));
  CHECK(count == want_count && bytes == want_bytes);
  for (i = 0; i < count; i++) {
    int k = (int)(recs[i].timestamp_us / SEC(1)) - 1; /* which record this is */
    CHECK(k >= 0 && k < RECORDS);
    if (k < 0 || k >= RECORDS) continue;
    CHECK(pn_id_is(&recs[i].sender, senders[k]));
    CHECK(recs[i].message_type_len == strlen(types[k]) && memcmp(recs[i].message_type, types[k], strlen(types[k])) == 0);
    CHECK(recs[i].payload_len == (size_t)k + 1 && payloads[recs[i].payload_offset] == (uint8_t)k);
    if (i > 0) CHECK(recs[i].timestamp_us > recs[i - 1].timestamp_us);
  }
  /* Too small: the needed figures come back, nothing else. */
  if (want_count > 0) {
    count = bytes = 0;
    CHECK_CODE(pn_history_search(h, start, end, type, type ? strlen(type) : 0, sender, sender ? strlen(sender) : 0,
                                 NULL, 0, NULL, 0, &count, &bytes),
               PN_ERR_BUFFER_TOO_SMALL);
    CHECK(count == want_count && bytes == want_bytes);
  }
}

int main(void) {
  pn_history_config config;
  pn_history *h = NULL, *archive = NULL, *restored = NULL;
  pn_history_statistics st;
  bool sealed = false;
  uint64_t id = 99;
  int i;
  uint8_t payload[RECORDS];

  CHECK_OK(pn_history_config_default(&config));
  CHECK(config.compression_threshold == 1000 && config.compression_level == 6);
  config.compression_threshold = 3;
  CHECK_OK(pn_history_new(&config, &h));

  for (i = 0; i < RECORDS; i++) {
    memset(payload, i, sizeof payload);
    CHECK_OK(pn_history_add_message(h, SEC(i + 1), SEC(i + 1), senders[i], strlen(senders[i]), types[i],
                                    strlen(types[i]), payload, (size_t)i + 1, &sealed, &id));
    /* The threshold seals after every third record. */
    CHECK(sealed == (i % 3 == 2));
    if (sealed) CHECK(id == (uint64_t)(i / 3));
  }
  CHECK_OK(pn_history_stats(h, &st));
  CHECK(st.total_messages == RECORDS && st.messages_compressed == 6 && st.buffer_messages == 1);
  CHECK(st.batches_in_memory == 2 && st.archive_pending == 0 && st.compression_ratio > 0.0);

  check_search(h, 0, SEC(100), NULL, NULL);
  check_search(h, SEC(2), SEC(5), NULL, NULL);
  check_search(h, 0, SEC(100), "hb", NULL);
  check_search(h, 0, SEC(100), NULL, "a");
  check_search(h, 0, SEC(100), "vote", "b");
  check_search(h, SEC(50), SEC(100), NULL, NULL);

  CHECK_OK(pn_history_compress(h, SEC(8), &sealed, &id));
  CHECK(sealed && id == 2);
  CHECK_OK(pn_history_compress(h, SEC(8), &sealed, &id));
  CHECK(!sealed);
  check_search(h, 0, SEC(100), NULL, NULL);

  /* An earlier timestamp is clamped up, and counted. */
  CHECK_OK(pn_history_add_message(h, SEC(9), SEC(1), "z", 1, "late", 4, NULL, 0, NULL, NULL));
  CHECK_OK(pn_history_stats(h, &st));
  CHECK(st.timestamps_clamped == 1);

  /* Invalid records change nothing. */
  CHECK_CODE(pn_history_add_message(h, SEC(9), SEC(9), "", 0, "t", 1, NULL, 0, NULL, NULL), PN_ERR_INVALID_ID);
  CHECK_CODE(pn_history_add_message(h, SEC(9), SEC(9), "s", 1, "", 0, NULL, 0, NULL, NULL), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_history_add_message(h, SEC(9), SEC(9), "s", 1, "t", 1, NULL, 5, NULL, NULL), PN_ERR_NULL_POINTER);
  CHECK_OK(pn_history_stats(h, &st));
  CHECK(st.total_messages == RECORDS + 1);

  /* Archive: with one record per batch, the batches past the 1024 kept in memory
   * move to the outbox, oldest first. */
  config.compression_threshold = 1;
  config.compression_level = 1;
  CHECK_OK(pn_history_new(&config, &archive));
  for (i = 0; i < PN_HISTORY_BATCHES + 2; i++) {
    uint8_t b = (uint8_t)i;
    CHECK_OK(pn_history_add_message(archive, SEC(i), SEC(i), "n", 1, "m", 1, &b, 1, NULL, NULL));
  }
  CHECK_OK(pn_history_stats(archive, &st));
  CHECK(st.batches_archived == 2 && st.archive_pending == 2 && st.batches_in_memory == PN_HISTORY_BATCHES);
  {
    uint8_t small[8];
    uint8_t *buf = (uint8_t *)malloc(4096);
    size_t len = 0, needed = 0;
    bool avail = false;
    pn_history_record rec;
    uint8_t p = 0xff;
    size_t count = 0, bytes = 0;
    CHECK(buf != NULL);
    if (buf == NULL) return 1;
    CHECK_CODE(pn_history_poll_archived(archive, small, sizeof small, &needed, &avail), PN_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > sizeof small);
    CHECK_OK(pn_history_stats(archive, &st));
    CHECK(st.archive_pending == 2);
    CHECK_OK(pn_history_poll_archived(archive, buf, 4096, &len, &avail));
    CHECK(avail && len == needed && memcmp(buf, "PNHB", 4) == 0);
    CHECK_OK(pn_history_stats(archive, &st));
    CHECK(st.archive_pending == 1);

    /* The batch comes back into a fresh history, searchable, once. */
    config.compression_threshold = 1000;
    CHECK_OK(pn_history_new(&config, &restored));
    CHECK_OK(pn_history_import(restored, SEC(2000), buf, len, &id));
    CHECK(id == 0);
    CHECK_OK(pn_history_search(restored, 0, SEC(5000), NULL, 0, NULL, 0, &rec, 1, &p, 1, &count, &bytes));
    CHECK(count == 1 && bytes == 1 && p == 0 && rec.timestamp_us == 0 && pn_id_is(&rec.sender, "n"));

    /* The same bytes read without a handle (the default API a pn_ops host uses):
     * the header, and a search that agrees with the history's. */
    {
      pn_batch_header hdr;
      pn_history_record found[2];
      uint8_t payload[2] = {0xff, 0xff};
      char msg[128];
      CHECK_OK(pn_batch_parse(buf, len, &hdr));
      CHECK(hdr.id == 0 && hdr.count == 1 && hdr.first_us == 0 && hdr.last_us == 0 && hdr.sealed_at_us == 0);
      /* Format v2: a 164-byte header (the log's first batch has no frontier hashes). */
      CHECK(hdr.level == 1 && hdr.raw_len > 0 && (size_t)hdr.zlib_len + 164 == len);
      CHECK_CODE(pn_batch_search(buf, len, 0, SEC(5000), NULL, 0, NULL, 0, NULL, 0, NULL, 0, &count, &bytes),
                 PN_ERR_BUFFER_TOO_SMALL);
      CHECK(count == 1 && bytes == 1);
      CHECK_OK(pn_batch_search(buf, len, 0, SEC(5000), "m", 1, "n", 1, found, 2, payload, 2, &count, &bytes));
      CHECK(count == 1 && bytes == 1 && payload[0] == 0 && payload[1] == 0xff);
      CHECK(found[0].timestamp_us == rec.timestamp_us && pn_id_is(&found[0].sender, "n"));
      CHECK(found[0].message_type_len == 1 && found[0].message_type[0] == 'm' && found[0].payload_len == 1);
      CHECK_OK(pn_batch_search(buf, len, 0, SEC(5000), NULL, 0, "other", 5, found, 2, payload, 2, &count, &bytes));
      CHECK(count == 0 && bytes == 0);
      CHECK_OK(pn_batch_search(buf, len, SEC(1), SEC(5000), NULL, 0, NULL, 0, found, 2, payload, 2, &count, &bytes));
      CHECK(count == 0);
      /* A cut batch is refused, with the core's reason as the message. */
      CHECK_CODE(pn_batch_parse(buf, 10, &hdr), PN_ERR_DECODE_TRUNCATED);
      CHECK(pn_last_error_message(msg, sizeof msg) > 0 && strstr(msg, "shorter than its 116-byte header") != NULL);
      CHECK_CODE(pn_batch_search(buf, len - 1, 0, SEC(5000), NULL, 0, NULL, 0, found, 2, payload, 2, &count, &bytes),
                 PN_ERR_DECODE);
    }
    CHECK_CODE(pn_history_import(restored, SEC(2000), buf, len, &id), PN_ERR_INVALID_STATE);
    CHECK_CODE(pn_history_import(restored, SEC(2000), buf, 10, &id), PN_ERR_DECODE_TRUNCATED);
    buf[0] = 'X';
    CHECK_CODE(pn_history_import(restored, SEC(2000), buf, len, &id), PN_ERR_DECODE);
    free(buf);
    CHECK_CODE(pn_history_poll_archived(archive, NULL, 0, &len, &avail), PN_ERR_BUFFER_TOO_SMALL);
  }

  /* Errors: NULL pointers, a bad config. */
  CHECK_CODE(pn_history_stats(NULL, &st), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_history_new(&config, NULL), PN_ERR_NULL_POINTER);
  config.compression_threshold = 0;
  {
    pn_history *bad = NULL;
    CHECK_CODE(pn_history_new(&config, &bad), PN_ERR_INVALID_CONFIG);
    CHECK(bad == NULL);
  }

  pn_history_free(h);
  pn_history_free(archive);
  pn_history_free(restored);
  pn_history_free(NULL);
  return pn_test_finish("test_history");
}
