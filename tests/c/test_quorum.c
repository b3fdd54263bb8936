/* Offline verification of the Byzantine election's proofs (operator header):
 *
 * - pn_quorum_certificate_verify accepts the committed golden certificate
 *   (tests/vectors/quorum_certificate.hex: supervisors 1, 3 and 4 of four vote
 *   for supervisor-3 in term 12) with voters given in any order, and writes
 *   its kind, term, candidate, signers and digest;
 * - it refuses a forged aggregate or nonce, a version-1 certificate, a
 *   relabelled term or candidate, too few signers for the quorum, a signer outside the voter set, another
 *   authority, truncated, trailing and oversized bytes, and bad arguments;
 * - pn_equivocation_verify accepts the committed evidence record
 *   (tests/vectors/quorum_equivocation.hex: supervisor-2 voted for
 *   supervisor-1 and supervisor-3 in term 12) under supervisor-2's key, and
 *   refuses another voter's key, another authority, a forged vote, another
 *   expected voter, two votes out of canonical order and damaged bytes. */
#include "pn_test.h"

static const char QC_HEX[] = "02020c000000000000000c73757065727669736f722d33010dcc2a8ebdad2088218b5ab6296b57fa8933fc474a3cfff3d329977bcbb3a3956d93bd886683923809d5ffaf4fd6256e8cd47b5cf9197a95e109442246d278491478ab80326cdb451b8386c74c9c1c779bb30a4280001a2e72ba65cb3e1d77d2fadd44707e91187add565e342e9b97c5c498cc2bb135e55e49312c9cc0ab207b08";
static const char EV_HEX[] = "01020c000000000000000c73757065727669736f722d310c73757065727669736f722d326c845025bbc7dc8849639b7d54038df155cc4740de29e352a69a69a55e4203da57e694ba681c02052729f9b699b13cd70564968d591c7d4f33f30b17ede38d08020c000000000000000c73757065727669736f722d330c73757065727669736f722d32d5213d14a1efbb3757429bf188ac8efd722ae691d844fcaaf71521627f5d159dcd4c2701f6c635f9c60d830233f3d805be26b6acc1686e84eb1afe7901ce4a02";

static size_t from_hex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex) / 2, i;
  if (n > cap) return 0;
  for (i = 0; i < n; i++) {
    unsigned v = 0;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return 0;
    out[i] = (uint8_t)v;
  }
  return n;
}

static void seeded(uint8_t byte, uint8_t pub[32]) {
  uint8_t seed[32];
  memset(seed, byte, sizeof seed);
  CHECK_OK(pn_identity_public(seed, pub));
}

int main(void) {
  uint8_t qc[PN_MAX_QUORUM_CERTIFICATE_LEN + 8], ev[PN_MAX_EQUIVOCATION_LEN + 8], bad[PN_MAX_QUORUM_CERTIFICATE_LEN + 8];
  uint8_t authority[32], other[32], keys[4][32];
  pn_str ids[4];
  static const char *names[4] = {"supervisor-1", "supervisor-2", "supervisor-3", "supervisor-4"};
  pn_quorum_certificate_info info;
  pn_equivocation_info einfo;
  size_t qc_len, ev_len, i;
  char msg[256];

  qc_len = from_hex(QC_HEX, qc, sizeof qc);
  ev_len = from_hex(EV_HEX, ev, sizeof ev);
  CHECK(qc_len == 12 + 12 + 1 + 3 * 32 + 32); /* format v2: nonces and one aggregate scalar */
  CHECK(ev_len > 0);
  seeded(0xa0, authority);
  seeded(0x99, other);
  /* Given in reverse order: the library sorts voters by id. */
  for (i = 0; i < 4; i++) {
    ids[3 - i].ptr = names[i];
    ids[3 - i].len = strlen(names[i]);
    seeded((uint8_t)(0x51 + i), keys[3 - i]);
  }

  memset(&info, 0, sizeof info);
  CHECK_OK(pn_quorum_certificate_verify(qc, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info));
  CHECK(info.kind == PN_VOTE_KIND_VOTE);
  CHECK(info.term == 12);
  CHECK(pn_id_is(&info.candidate, "supervisor-3"));
  CHECK(info.signers == 0xd); /* voters 0, 2, 3: supervisor-1, -3, -4 */
  CHECK(info.signer_count == 3);
  CHECK_OK(pn_quorum_certificate_verify(qc, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, NULL));

  /* Too few signers for a quorum of 4; another authority; a quorum of 0 or 5. */
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 4, &info),
             PN_ERR_VERIFY_FAILED);
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, other, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_UNAUTHENTICATED);
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 0, &info),
             PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 5, &info),
             PN_ERR_INVALID_ARGUMENT);

  /* A forged aggregate: its first byte; then a forged nonce (the second's). */
  memcpy(bad, qc, qc_len);
  bad[qc_len - 32] ^= 0x01;
  CHECK_CODE(pn_quorum_certificate_verify(bad, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_UNAUTHENTICATED);
  CHECK(pn_last_error_message(msg, sizeof msg) > 0 && strstr(msg, "aggregate") != NULL);
  memcpy(bad, qc, qc_len);
  bad[qc_len - 64 - 20] ^= 0x01;
  CHECK_CODE(pn_quorum_certificate_verify(bad, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_UNAUTHENTICATED);
  /* A version-1 certificate is refused by its version byte. */
  memcpy(bad, qc, qc_len);
  bad[0] = 1;
  CHECK_CODE(pn_quorum_certificate_verify(bad, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_DECODE_VERSION);
  /* Relabelled: term 13 (offset 2), candidate supervisor-4 (last id byte at 22). */
  memcpy(bad, qc, qc_len);
  bad[2] = 13;
  CHECK_CODE(pn_quorum_certificate_verify(bad, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_UNAUTHENTICATED);
  memcpy(bad, qc, qc_len);
  bad[22] = '4';
  CHECK_CODE(pn_quorum_certificate_verify(bad, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_UNAUTHENTICATED);
  /* A signer outside the voter set: only the first three voters are given,
   * supervisor-4 (index 3) signed. */
  for (i = 0; i < 4; i++) {
    ids[i].ptr = names[i];
    ids[i].len = strlen(names[i]);
    seeded((uint8_t)(0x51 + i), keys[i]);
  }
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, authority, ids, (const uint8_t(*)[32])keys, 3, 3, &info),
             PN_ERR_UNAUTHENTICATED);
  /* An id listed twice. */
  ids[1] = ids[0];
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_INVALID_ARGUMENT);
  ids[1].ptr = names[1];
  ids[1].len = strlen(names[1]);
  /* Truncated, one trailing byte, oversized, empty. */
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len - 1, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_DECODE_TRUNCATED);
  memcpy(bad, qc, qc_len);
  bad[qc_len] = 0;
  CHECK_CODE(pn_quorum_certificate_verify(bad, qc_len + 1, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_DECODE_TRAILING_BYTES);
  memset(bad, 0, sizeof bad);
  CHECK_CODE(pn_quorum_certificate_verify(bad, PN_MAX_QUORUM_CERTIFICATE_LEN + 1, authority, ids,
                                          (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_DECODE_TOO_LARGE);
  CHECK_CODE(pn_quorum_certificate_verify(NULL, 0, authority, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_DECODE_TRUNCATED);
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, NULL, ids, (const uint8_t(*)[32])keys, 4, 3, &info),
             PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_quorum_certificate_verify(qc, qc_len, authority, ids, NULL, 4, 3, &info), PN_ERR_NULL_POINTER);

  /* Equivocation evidence, offline: supervisor-2's key. */
  memset(&einfo, 0, sizeof einfo);
  CHECK_OK(pn_equivocation_verify(ev, ev_len, authority, keys[1], NULL, 0, &einfo));
  CHECK(pn_id_is(&einfo.voter, "supervisor-2"));
  CHECK(einfo.term == 12);
  CHECK(pn_id_is(&einfo.candidates[0], "supervisor-1"));
  CHECK(pn_id_is(&einfo.candidates[1], "supervisor-3"));
  CHECK_OK(pn_equivocation_verify(ev, ev_len, authority, keys[1], "supervisor-2", 12, NULL));
  CHECK_CODE(pn_equivocation_verify(ev, ev_len, authority, keys[1], "supervisor-1", 12, NULL),
             PN_ERR_CREDENTIAL_REJECTED);
  CHECK_CODE(pn_equivocation_verify(ev, ev_len, authority, keys[0], NULL, 0, &einfo), PN_ERR_UNAUTHENTICATED);
  CHECK_CODE(pn_equivocation_verify(ev, ev_len, other, keys[1], NULL, 0, &einfo), PN_ERR_UNAUTHENTICATED);
  memcpy(bad, ev, ev_len);
  bad[ev_len - 1] ^= 0x01;
  CHECK_CODE(pn_equivocation_verify(bad, ev_len, authority, keys[1], NULL, 0, &einfo), PN_ERR_UNAUTHENTICATED);
  CHECK_CODE(pn_equivocation_verify(ev, ev_len - 1, authority, keys[1], NULL, 0, &einfo), PN_ERR_DECODE_TRUNCATED);
  /* The two votes swapped: not in canonical order, so no equivocation record. */
  CHECK(ev_len == 1 + 2 * 99);
  bad[0] = ev[0];
  memcpy(bad + 1, ev + 1 + 99, 99);
  memcpy(bad + 1 + 99, ev + 1, 99);
  CHECK_CODE(pn_equivocation_verify(bad, ev_len, authority, keys[1], NULL, 0, &einfo), PN_ERR_VERIFY_FAILED);
  memcpy(bad, ev, ev_len);
  bad[0] = 9;
  CHECK_CODE(pn_equivocation_verify(bad, ev_len, authority, keys[1], NULL, 0, &einfo), PN_ERR_DECODE_VERSION);
  CHECK_CODE(pn_equivocation_verify(ev, ev_len, authority, NULL, NULL, 0, &einfo), PN_ERR_NULL_POINTER);

  return pn_test_finish("test_quorum");
}
