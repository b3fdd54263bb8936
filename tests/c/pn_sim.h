/* A small in-memory network of pn_ops handles for the C tests: a virtual
 * clock, every datagram delivered after PN_SIM_LATENCY_US to the one node
 * pn_ops_poll_transmit names, links that can be cut one way, and the drain
 * order hard state -> transmit -> event -> archived. Tests build the nodes
 * (pn_sim_add), start them (pn_sim_start), then pn_sim_run; callbacks see
 * every event and hard state, and may take datagrams off the network.
 * Refused deliveries are not failures here (a test cutting links provokes
 * some): they are counted in pn_sim_refused. Archived batches are checked
 * for the batch magic and counted in pn_sim_archived. */
#ifndef PN_SIM_H
#define PN_SIM_H

#include <stdlib.h>

#include "pn_test.h"

#define PN_SIM_MAX 8
#define PN_SIM_MAX_PACKETS 8192
#define PN_SIM_LATENCY_US 5000u

typedef struct {
  const char *name;
  pn_ops *ops;
  int up;
  uint8_t cert[PN_MAX_CERTIFICATE_LEN];
  pn_credentials creds;
} pn_sim_node;

typedef struct {
  uint64_t at;
  int from, to;
  size_t len;
  uint8_t *bytes;
} pn_sim_packet;

static pn_sim_node pn_sim[PN_SIM_MAX];
static int pn_sim_count = 0;
static uint64_t pn_sim_now = SEC(1);
/* pn_sim_cut[i][j]: datagrams from i to j are dropped when sent. */
static int pn_sim_cut[PN_SIM_MAX][PN_SIM_MAX];
static pn_sim_packet pn_sim_net[PN_SIM_MAX_PACKETS];
static size_t pn_sim_in_flight = 0;
static size_t pn_sim_refused = 0;
static size_t pn_sim_archived = 0;
/* Called for every event a node gives, and for every hard state (event NULL). */
static void (*pn_sim_on_event)(int i, const pn_ops_event *e, const pn_hard_state *h) = NULL;
/* Called for every datagram node `from` sends to `to`; nonzero keeps it off the network. */
static int (*pn_sim_on_transmit)(int from, int to, const uint8_t *bytes, size_t len) = NULL;

static inline int pn_sim_index(const pn_node_id *id) {
  int i;
  for (i = 0; i < pn_sim_count; i++)
    if (pn_id_is(id, pn_sim[i].name)) return i;
  return -1;
}

/* Builds node i's handle (`name` with `role`, boot `epoch`, WireGuard key
 * `wg_key` or NULL) with `cfg` among the `sup_count` supervisors `sups`,
 * stopped. A node built again (a restart) loses everything it had. */
static inline pn_result pn_sim_add(int i, const char *name, uint32_t role, const uint8_t *wg_key, uint64_t epoch,
                            const pn_ops_config *cfg, const pn_str *sups, size_t sup_count, uint64_t seed) {
  pn_sim_node *n = &pn_sim[i];
  pn_result r;
  pn_ops_free(n->ops);
  n->ops = NULL;
  n->up = 0;
  n->name = name;
  if (i >= pn_sim_count) pn_sim_count = i + 1;
  r = pn_test_credentials_wg(name, role, "train", epoch, wg_key, n->cert, sizeof n->cert, &n->creds);
  if (r != PN_OK) return r;
  return pn_ops_new(cfg, name, strlen(name), role, sups, sup_count, &n->creds, seed, NULL, &n->ops);
}

/* Starts node i now; it takes part from then on. */
static inline pn_result pn_sim_start(int i) {
  pn_result r = pn_ops_start(pn_sim[i].ops, pn_sim_now);
  pn_sim[i].up = r == PN_OK;
  return r;
}

/* pn_sim_add, then pn_sim_start. */
static inline pn_result pn_sim_add_started(int i, const char *name, uint32_t role, const uint8_t *wg_key,
                                           uint64_t epoch, const pn_ops_config *cfg, const pn_str *sups,
                                           size_t sup_count, uint64_t seed) {
  pn_result r = pn_sim_add(i, name, role, wg_key, epoch, cfg, sups, sup_count, seed);
  return r == PN_OK ? pn_sim_start(i) : r;
}

/* Puts `len` bytes from node `from` on the network to node `to`, due in
 * PN_SIM_LATENCY_US, unless the link is cut. */
static inline void pn_sim_send(int from, int to, const uint8_t *bytes, size_t len) {
  pn_sim_packet *p;
  if (pn_sim_cut[from][to]) return;
  CHECK(pn_sim_in_flight < PN_SIM_MAX_PACKETS);
  if (pn_sim_in_flight >= PN_SIM_MAX_PACKETS) return;
  p = &pn_sim_net[pn_sim_in_flight];
  p->bytes = (uint8_t *)malloc(len);
  CHECK(p->bytes != NULL);
  if (p->bytes == NULL) return;
  memcpy(p->bytes, bytes, len);
  p->at = pn_sim_now + PN_SIM_LATENCY_US;
  p->from = from;
  p->to = to;
  p->len = len;
  pn_sim_in_flight++;
}

/* Stops node i taking part (its handle stays for inspection). */
static inline void pn_sim_down(int i) { pn_sim[i].up = 0; }

/* Cuts (cut = 1) or restores (0) both directions between i and j. */
static inline void pn_sim_link(int i, int j, int cut) {
  pn_sim_cut[i][j] = cut;
  pn_sim_cut[j][i] = cut;
}

/* Cuts or restores every link of node i. */
static inline void pn_sim_isolate(int i, int cut) {
  int j;
  for (j = 0; j < PN_SIM_MAX; j++)
    if (j != i) pn_sim_link(i, j, cut);
}

static inline void pn_sim_drain(int i) {
  static uint8_t buf[PN_MAX_MESSAGE_LEN];
  static uint8_t archive[1 << 20];
  pn_hard_state hs;
  pn_ops_event ev;
  bool avail = true;
  while (avail) {
    CHECK_OK(pn_ops_poll_hard_state(pn_sim[i].ops, &hs, &avail));
    if (avail && pn_sim_on_event != NULL) pn_sim_on_event(i, NULL, &hs);
  }
  for (;;) {
    size_t len = 0;
    pn_node_id to;
    int j;
    CHECK_OK(pn_ops_poll_transmit(pn_sim[i].ops, buf, sizeof buf, &len, &to, &avail));
    if (!avail) break;
    /* Every datagram goes to exactly one other node. */
    j = pn_sim_index(&to);
    CHECK(j >= 0 && j != i);
    if (j < 0 || j == i) continue;
    if (pn_sim_on_transmit != NULL && pn_sim_on_transmit(i, j, buf, len)) continue;
    pn_sim_send(i, j, buf, len);
  }
  for (;;) {
    CHECK_OK(pn_ops_poll_event(pn_sim[i].ops, &ev, &avail));
    if (!avail) break;
    if (pn_sim_on_event != NULL) pn_sim_on_event(i, &ev, NULL);
  }
  for (;;) {
    /* History batches leaving memory: a real host stores them; here they are checked and counted. */
    size_t len = 0;
    CHECK_OK(pn_ops_poll_archived(pn_sim[i].ops, archive, sizeof archive, &len, &avail));
    if (!avail) break;
    CHECK(len > 4 && memcmp(archive, "PNHB", 4) == 0);
    pn_sim_archived++;
  }
}

static inline void pn_sim_drain_all(void) {
  int i;
  for (i = 0; i < pn_sim_count; i++)
    if (pn_sim[i].up) pn_sim_drain(i);
}

/* Runs the clock for `span` microseconds: delivers what is due (unless the
 * link was cut meanwhile or the receiver is down), ticks nodes whose timeout
 * passed, drains everything. */
static inline void pn_sim_run(uint64_t span) {
  static pn_sim_packet due[PN_SIM_MAX_PACKETS];
  uint64_t end = pn_sim_now + span;
  pn_sim_drain_all();
  for (;;) {
    uint64_t next = UINT64_MAX, t;
    size_t k, kept = 0, due_count = 0;
    int i;
    for (k = 0; k < pn_sim_in_flight; k++)
      if (pn_sim_net[k].at < next) next = pn_sim_net[k].at;
    for (i = 0; i < pn_sim_count; i++) {
      if (!pn_sim[i].up) continue;
      CHECK_OK(pn_ops_poll_timeout(pn_sim[i].ops, &t));
      if (t < next) next = t;
    }
    if (next > end) {
      pn_sim_now = end;
      return;
    }
    if (next > pn_sim_now) pn_sim_now = next;
    for (k = 0; k < pn_sim_in_flight; k++) {
      if (pn_sim_net[k].at <= pn_sim_now)
        due[due_count++] = pn_sim_net[k];
      else
        pn_sim_net[kept++] = pn_sim_net[k];
    }
    pn_sim_in_flight = kept;
    for (k = 0; k < due_count; k++) {
      pn_sim_packet *p = &due[k];
      if (pn_sim[p->to].up && !pn_sim_cut[p->from][p->to] &&
          pn_ops_handle_message(pn_sim[p->to].ops, pn_sim_now, p->bytes, p->len) != PN_OK)
        pn_sim_refused++;
      free(p->bytes);
    }
    for (i = 0; i < pn_sim_count; i++) {
      if (!pn_sim[i].up) continue;
      CHECK_OK(pn_ops_poll_timeout(pn_sim[i].ops, &t));
      if (t <= pn_sim_now) CHECK_OK(pn_ops_tick(pn_sim[i].ops, pn_sim_now));
    }
    pn_sim_drain_all();
  }
}

/* Frees every handle and every datagram in flight. */
static inline void pn_sim_free(void) {
  size_t k;
  int i;
  for (k = 0; k < pn_sim_in_flight; k++) free(pn_sim_net[k].bytes);
  pn_sim_in_flight = 0;
  for (i = 0; i < pn_sim_count; i++) {
    pn_ops_free(pn_sim[i].ops);
    pn_sim[i].ops = NULL;
    pn_sim[i].up = 0;
  }
}

#endif /* PN_SIM_H */
