/* A three-supervisor, four-worker cluster of pn_ops handles exchanging bytes in
 * memory with a virtual clock (every message takes 5 ms):
 *
 * - every node holds a certificate issued with pn_certificate_issue by the test
 *   authority, and every datagram is authenticated: each transmit goes to the
 *   one node pn_ops_poll_transmit names;
 * - each node is driven only through pn_ops: start, handle_message, tick, and
 *   the drain order hard state -> transmit -> event -> timeout;
 * - the supervisors elect exactly one leader, which every node follows;
 * - a task (1 primary, 1 backup) is submitted to every supervisor and the leader
 *   assigns it; the primary reports a checkpoint;
 * - the primary crashes (its handle neither receives nor sends): the leader
 *   detects it and its replacement event names the backup and the checkpoint,
 *   and the backup receives the primary role resuming from that checkpoint.
 *
 * - a forged datagram (a real one with one byte changed) and a replayed one are
 *   refused with their codes, change nothing in the node's status, and are
 *   counted by reason.
 *
 * Also checks the buffer-too-small path of pn_ops_poll_transmit (needed length
 * reported, message kept) and the error codes of the main entry points. */
#include "pn_sim.h"

#define SUPERVISORS 3
#define WORKERS 4
#define NODES (SUPERVISORS + WORKERS)
#define TASK "job-1"
#define POOL "train" /* the pool pn_sim_add certifies workers for */

static const char *names[NODES] = {"sup-0", "sup-1", "sup-2", "w-0", "w-1", "w-2", "w-3"};
#define nodes(i) (pn_sim[i].ops)
/* When >= 0, the next datagram from node hold_from to node hold_to is kept
 * here instead of being sent (for the forgery test). */
static int hold_from = -1, hold_to = -1;
static uint8_t held[PN_MAX_MESSAGE_LEN];
static size_t held_len = 0;

/* What the test observes in the events. */
static int leader_elected_events = 0;
static int assigned_by = -1;
static pn_node_id assigned_primary, assigned_backup;
static int crash_seen[NODES];
static int replaced_seen[NODES];
static pn_ops_event replaced[NODES];
static int received_role[NODES];
static pn_ops_event received[NODES];

static int index_of(const pn_node_id *id) { return pn_sim_index(id); }

static int hold(int from, int to, const uint8_t *bytes, size_t len) {
  if (from != hold_from || to != hold_to || len > sizeof held) return 0;
  memcpy(held, bytes, len);
  held_len = len;
  hold_from = hold_to = -1;
  return 1;
}

static void on_event(int i, const pn_ops_event *e, const pn_hard_state *h) {
  if (h != NULL) return;
  switch (e->kind) {
    case PN_OPS_LEADER_ELECTED:
      leader_elected_events++;
      break;
    case PN_OPS_TASK_ASSIGNED:
      if (e->role == PN_ROLE_PRIMARY) assigned_primary = e->node;
      if (e->role == PN_ROLE_BACKUP) assigned_backup = e->node;
      assigned_by = i;
      break;
    case PN_OPS_CRASH_DETECTED:
      if (e->node.len == assigned_primary.len && memcmp(e->node.bytes, assigned_primary.bytes, e->node.len) == 0)
        crash_seen[i]++;
      break;
    case PN_OPS_WORKER_REPLACED:
      if (!replaced_seen[i]) replaced[i] = *e;
      replaced_seen[i]++;
      break;
    case PN_OPS_ASSIGNMENT_RECEIVED:
      received_role[i] = 1;
      received[i] = *e;
      break;
    default:
      break;
  }
}

/* The buffer-too-small path of pn_ops_poll_transmit on a node with datagrams
 * queued: the needed length comes back and the datagram stays queued; the
 * next poll with room gives it (and it goes on the network). */
static void check_too_small(int i) {
  static uint8_t buf[PN_MAX_MESSAGE_LEN];
  pn_ops_status_report before, after;
  size_t needed = 0, len = 0;
  pn_node_id to;
  bool avail = false;
  int j;
  CHECK_OK(pn_ops_status(nodes(i), pn_sim_now, &before));
  CHECK(before.pending_transmits > 0);
  CHECK_CODE(pn_ops_poll_transmit(nodes(i), buf, 1, &needed, &to, &avail), PN_ERR_BUFFER_TOO_SMALL);
  CHECK(needed > 1);
  CHECK_OK(pn_ops_status(nodes(i), pn_sim_now, &after));
  CHECK(after.pending_transmits == before.pending_transmits);
  CHECK_OK(pn_ops_poll_transmit(nodes(i), buf, sizeof buf, &len, &to, &avail));
  CHECK(avail && len == needed);
  j = index_of(&to);
  CHECK(j >= 0 && j != i);
  if (avail && j >= 0 && j != i) pn_sim_send(i, j, buf, len);
}

static void check_errors(const pn_ops_config *cfg, pn_str *sups) {
  pn_ops *bad = NULL;
  pn_checkpoint cp;
  size_t len = 0;
  bool avail = false;
  const pn_credentials *w = &pn_sim[SUPERVISORS].creds;
  memset(&cp, 0, sizeof cp);
  CHECK_CODE(pn_ops_new(cfg, "w-0", 3, 7, sups, SUPERVISORS, w, 1, NULL, &bad), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_ops_new(cfg, "w-0", 3, PN_NODE_SUPERVISOR, sups, SUPERVISORS, w, 1, NULL, &bad),
             PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_ops_new(NULL, "w-0", 3, PN_NODE_WORKER, sups, SUPERVISORS, w, 1, NULL, &bad), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_ops_new(cfg, "w-0", 3, PN_NODE_WORKER, sups, SUPERVISORS, NULL, 1, NULL, &bad), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_ops_new(cfg, "", 0, PN_NODE_WORKER, sups, SUPERVISORS, w, 1, NULL, &bad), PN_ERR_INVALID_ID);
  /* f Byzantine supervisors need 3f + 1 of them: one among three is refused. */
  {
    pn_ops_config byz = *cfg;
    byz.byzantine_f = 1;
    CHECK_CODE(pn_ops_new(&byz, "w-0", 3, PN_NODE_WORKER, sups, SUPERVISORS, w, 1, NULL, &bad), PN_ERR_INVALID_CONFIG);
    CHECK(bad == NULL);
    CHECK(cfg->byzantine_f == 0);
  }
  /* w-0's certificate for another node is refused. */
  CHECK_CODE(pn_ops_new(cfg, "w-1", 3, PN_NODE_WORKER, sups, SUPERVISORS, w, 1, NULL, &bad),
             PN_ERR_CREDENTIAL_REJECTED);
  CHECK(bad == NULL);
  CHECK_CODE(pn_ops_handle_message(nodes(SUPERVISORS), pn_sim_now, (const uint8_t *)"", 0), PN_ERR_DECODE);
  CHECK_CODE(pn_ops_submit_task(nodes(SUPERVISORS), pn_sim_now, "t", 1, POOL, 5, 1, 0), PN_ERR_INVALID_STATE);
  CHECK_CODE(pn_ops_submit_task(nodes(0), pn_sim_now, "t", 1, POOL, 5, 0, 0), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_ops_report_checkpoint(nodes(0), pn_sim_now, TASK, 5, &cp), PN_ERR_INVALID_STATE);
  CHECK_CODE(pn_ops_report_checkpoint(nodes(SUPERVISORS), pn_sim_now, "nope", 4, &cp), PN_ERR_NOT_FOUND);
  CHECK_CODE(pn_ops_tick(NULL, pn_sim_now), PN_ERR_NULL_POINTER);
  pn_ops_free(NULL);
  CHECK_CODE(pn_ops_poll_archived(NULL, held, sizeof held, &len, &avail), PN_ERR_NULL_POINTER);
}

/* The listed fields of two status reports agree. */
static int same_status(const pn_ops_status_report *a, const pn_ops_status_report *b) {
  return a->running == b->running && a->is_leader == b->is_leader && a->has_leader == b->has_leader &&
         a->leader.len == b->leader.len && memcmp(a->leader.bytes, b->leader.bytes, a->leader.len) == 0 &&
         a->leader_term == b->leader_term && a->tasks == b->tasks && a->pending_transmits == b->pending_transmits &&
         a->pending_events == b->pending_events && a->health.total_nodes == b->health.total_nodes &&
         a->health.online_nodes == b->health.online_nodes &&
         a->counters.messages_received == b->counters.messages_received &&
         a->counters.messages_ignored == b->counters.messages_ignored &&
         a->counters.messages_sent == b->counters.messages_sent;
}

/* A datagram from worker w-1 to the leader is held back: one byte of a copy is
 * changed (refused as unauthenticated), then the real one is delivered (taken)
 * and delivered again (refused as replayed). Refusals change nothing but the
 * counter of their reason. */
static void check_forgery(int leader) {
  static uint8_t forged[PN_MAX_MESSAGE_LEN];
  pn_ops_status_report before, after;
  int from = SUPERVISORS + 1, reason, i;
  char msg[256];
  hold_from = from;
  hold_to = leader;
  pn_sim_run(SEC(2));
  CHECK(held_len > 0 && hold_from == -1);
  if (held_len == 0) return;
  /* The envelope's second byte is its kind: 0 MAC'd, 1 signed (ffi-c/README.md). */
  reason = held[1] == 0 ? PN_REJECT_BAD_TAG : PN_REJECT_BAD_SIGNATURE;
  memcpy(forged, held, held_len);
  forged[held_len - 1] ^= 0x01; /* the last byte of the tag */

  CHECK_OK(pn_ops_status(nodes(leader), pn_sim_now, &before));
  CHECK_CODE(pn_ops_handle_message(nodes(leader), pn_sim_now, forged, held_len), PN_ERR_UNAUTHENTICATED);
  pn_last_error_message(msg, sizeof msg);
  CHECK(strstr(msg, pn_reject_reason_str(reason)) != NULL);
  CHECK_OK(pn_ops_status(nodes(leader), pn_sim_now, &after));
  CHECK(same_status(&before, &after));
  CHECK(after.counters.rejected[reason] == before.counters.rejected[reason] + 1);
  CHECK(after.counters.rejected_total == before.counters.rejected_total + 1);
  for (i = 0; i < PN_REJECT_REASONS; i++)
    if (i != reason) CHECK(after.counters.rejected[i] == before.counters.rejected[i]);

  /* A body byte changed: still refused, whatever it hits. */
  memcpy(forged, held, held_len);
  forged[held_len / 2] ^= 0x80;
  CHECK(pn_ops_handle_message(nodes(leader), pn_sim_now, forged, held_len) != PN_OK);

  /* The real datagram is taken once. */
  CHECK_OK(pn_ops_handle_message(nodes(leader), pn_sim_now, held, held_len));
  CHECK_OK(pn_ops_status(nodes(leader), pn_sim_now, &before));
  CHECK(before.counters.messages_received == after.counters.messages_received + 1);
  pn_sim_drain(leader);
  CHECK_OK(pn_ops_status(nodes(leader), pn_sim_now, &before));
  /* Its replay is refused and counted. */
  CHECK_CODE(pn_ops_handle_message(nodes(leader), pn_sim_now, held, held_len), PN_ERR_REPLAYED);
  pn_last_error_message(msg, sizeof msg);
  CHECK(strstr(msg, "replayed") != NULL);
  CHECK_OK(pn_ops_status(nodes(leader), pn_sim_now, &after));
  CHECK(same_status(&before, &after));
  CHECK(after.counters.rejected[PN_REJECT_REPLAYED] == before.counters.rejected[PN_REJECT_REPLAYED] + 1);
  CHECK(after.counters.rejected_total == before.counters.rejected_total + 1);
  CHECK(strcmp(pn_reject_reason_str(PN_REJECT_REPLAYED), "replayed") == 0);
  CHECK(strcmp(pn_reject_reason_str(PN_REJECT_UNCERTIFIED), "uncertified") == 0);
  CHECK(strcmp(pn_reject_reason_str(PN_REJECT_REASONS), "unknown reject reason") == 0);
}

int main(void) {
  pn_ops_config cfg;
  pn_str sups[SUPERVISORS];
  pn_ops_status_report st;
  pn_checkpoint cp;
  int i, leader = -1, leaders = 0, p, b;
  uint64_t t;

  CHECK_OK(pn_ops_config_default(&cfg));
  CHECK(cfg.heartbeat_interval_us == SEC(1));
  for (i = 0; i < SUPERVISORS; i++) {
    sups[i].ptr = names[i];
    sups[i].len = strlen(names[i]);
  }
  pn_sim_on_event = on_event;
  pn_sim_on_transmit = hold;
  for (i = 0; i < NODES; i++) {
    uint32_t role = i >= SUPERVISORS ? PN_NODE_WORKER : PN_NODE_SUPERVISOR;
    CHECK_OK(pn_sim_add(i, names[i], role, NULL, 1, &cfg, sups, SUPERVISORS, 1000 + (uint64_t)i));
    CHECK(nodes(i) != NULL);
    if (nodes(i) == NULL) return pn_test_finish("test_ops_cluster");
  }
  /* Stopped nodes refuse messages and never need a tick. */
  CHECK_CODE(pn_ops_handle_message(nodes(0), pn_sim_now, (const uint8_t *)"x", 1), PN_ERR_INVALID_STATE);
  CHECK_OK(pn_ops_poll_timeout(nodes(0), &t));
  CHECK(t == UINT64_MAX);
  for (i = 0; i < NODES; i++) CHECK_OK(pn_sim_start(i));
  check_too_small(0);
  pn_sim_drain_all();

  /* Election: exactly one leader, followed by every node. */
  pn_sim_run(SEC(10));
  for (i = 0; i < SUPERVISORS; i++) {
    CHECK_OK(pn_ops_status(nodes(i), pn_sim_now, &st));
    if (st.is_leader) {
      leaders++;
      leader = i;
    }
  }
  CHECK(leaders == 1);
  CHECK(leader_elected_events >= NODES);
  if (leader < 0) return pn_test_finish("test_ops_cluster");
  for (i = 0; i < NODES; i++) {
    CHECK_OK(pn_ops_status(nodes(i), pn_sim_now, &st));
    CHECK(st.running && st.has_leader && pn_id_is(&st.leader, names[leader]));
    CHECK(st.role == (i < SUPERVISORS ? PN_NODE_SUPERVISOR : PN_NODE_WORKER));
  }
  check_errors(&cfg, sups);
  check_forgery(leader);

  /* A task for every supervisor; the leader assigns a primary and a backup. */
  for (i = 0; i < SUPERVISORS; i++) CHECK_OK(pn_ops_submit_task(nodes(i), pn_sim_now, TASK, strlen(TASK), POOL, 5, 1, 1));
  CHECK_CODE(pn_ops_submit_task(nodes(0), pn_sim_now, TASK, strlen(TASK), POOL, 5, 1, 1), PN_ERR_INVALID_STATE);
  pn_sim_drain_all();
  pn_sim_run(SEC(2));
  CHECK(assigned_by == leader);
  p = index_of(&assigned_primary);
  b = index_of(&assigned_backup);
  CHECK(p >= SUPERVISORS && b >= SUPERVISORS && p != b);
  if (p < 0 || b < 0) return pn_test_finish("test_ops_cluster");
  CHECK(received_role[p] && received[p].role == PN_ROLE_PRIMARY && pn_id_is(&received[p].task, TASK));
  CHECK(received_role[b] && received[b].role == PN_ROLE_BACKUP);
  CHECK_OK(pn_ops_status(nodes(leader), pn_sim_now, &st));
  CHECK(st.has_utilization && st.utilization.active_tasks == 1);

  /* The primary reports progress; it reaches every supervisor. */
  cp.sequence = 5;
  memset(cp.digest, 0xAB, sizeof cp.digest);
  CHECK_OK(pn_ops_report_checkpoint(nodes(p), pn_sim_now, TASK, strlen(TASK), &cp));
  cp.sequence = 4;
  CHECK_CODE(pn_ops_report_checkpoint(nodes(p), pn_sim_now, TASK, strlen(TASK), &cp), PN_ERR_INVALID_STATE);
  CHECK_CODE(pn_ops_report_checkpoint(nodes(b), pn_sim_now, TASK, strlen(TASK), &cp), PN_ERR_NOT_FOUND);
  pn_sim_drain_all();
  pn_sim_run(SEC(2));

  /* The primary crashes: its handle stops receiving and sending. */
  pn_sim_down(p);
  pn_sim_run(SEC(20));
  CHECK(crash_seen[leader] >= 1);
  CHECK(replaced_seen[leader] == 1);
  CHECK(replaced[leader].kind == PN_OPS_WORKER_REPLACED);
  CHECK(pn_id_is(&replaced[leader].node, names[p]));
  CHECK(pn_id_is(&replaced[leader].task, TASK));
  CHECK(pn_id_is(&replaced[leader].replacement, names[b]));
  CHECK(replaced[leader].role == PN_ROLE_PRIMARY && replaced[leader].from_backup);
  CHECK(replaced[leader].has_checkpoint && replaced[leader].checkpoint.sequence == 5);
  CHECK(replaced[leader].checkpoint.digest[0] == 0xAB && replaced[leader].checkpoint.digest[31] == 0xAB);
  for (i = 0; i < SUPERVISORS; i++)
    if (i != leader) CHECK(replaced_seen[i] == 0);
  /* The backup now holds the primary role, resuming from the checkpoint. */
  CHECK(received[b].role == PN_ROLE_PRIMARY && received[b].has_checkpoint && received[b].checkpoint.sequence == 5);
  CHECK_OK(pn_ops_status(nodes(leader), pn_sim_now, &st));
  CHECK(st.utilization.replacements_total == 1 && st.health.offline_nodes + st.health.recovering_nodes >= 1);

  /* A graceful stop: the timer is off afterwards. */
  CHECK_OK(pn_ops_stop(nodes(leader), pn_sim_now));
  CHECK_OK(pn_ops_poll_timeout(nodes(leader), &t));
  CHECK(t == UINT64_MAX);

  /* Every datagram between the nodes was taken (the forged and replayed ones
   * above were handed in directly). */
  CHECK(pn_sim_refused == 0);
  pn_sim_free();
  return pn_test_finish("test_ops_cluster");
}
