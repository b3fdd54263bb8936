/* A three-supervisor, five-worker cluster exchanging bytes in memory, the issue's
 * cluster test as far as it goes without pn_ops:
 *
 * - every 100 ms each supervisor ticks its pn_leader_election and sends what it
 *   polls; every second each live worker encodes a heartbeat. The "network"
 *   delivers every packet; receivers decode it with pn_wire_decode and hand
 *   heartbeats to their pn_crash_recovery and the rest to their election.
 * - The supervisors elect exactly one leader, which every supervisor follows.
 * - The leader assigns a task (2 primaries, 1 backup) with its pn_worker_replacement,
 *   ranked by its pn_crash_recovery. The first primary crashes at 20 s: every
 *   supervisor detects exactly that crash in the same sweep, and the leader
 *   replaces it with the backup, which resumes from the last checkpoint.
 * - The worker returns at 60 s, recovers on its own, and the leader lifts its
 *   quarantine. */
/* The standalone manager handles: needs the library built with the `managers`
 * feature. */
#define PN_MANAGERS 1
#include "pn_test.h"

#define SUPERVISORS 3
#define WORKERS 5
#define MAX_MSG 256
#define MAX_PACKETS 64
#define TASK "job-1"
#define POOL "train"

typedef struct {
  uint8_t bytes[MAX_MSG];
  size_t len;
  int from; /* supervisor index, or -1 for a worker */
  int to;   /* supervisor index, or -1 for everyone */
} packet;

static const char *sup_names[SUPERVISORS] = {"sup-0", "sup-1", "sup-2"};
static packet network[MAX_PACKETS];
static size_t in_flight = 0;

static int sup_index(const pn_node_id *id) {
  int s;
  for (s = 0; s < SUPERVISORS; s++)
    if (pn_id_is(id, sup_names[s])) return s;
  return -1;
}

/* Drains a supervisor's election outputs (hard state first) into the network. */
static void send_election(pn_leader_election *e, int from) {
  pn_hard_state hs;
  bool avail = false;
  CHECK_OK(pn_leader_election_poll_hard_state(e, &hs, &avail));
  for (;;) {
    packet *p = &network[in_flight];
    bool broadcast = false;
    pn_node_id to;
    CHECK(in_flight < MAX_PACKETS);
    if (in_flight >= MAX_PACKETS) return;
    CHECK_OK(pn_leader_election_poll_transmit(e, p->bytes, MAX_MSG, &p->len, &broadcast, &to, &avail));
    if (!avail) return;
    p->from = from;
    p->to = broadcast ? -1 : sup_index(&to);
    in_flight++;
  }
}

int main(void) {
  pn_crash_recovery_config crc;
  pn_leader_election_config lec;
  pn_worker_replacement_config wrc;
  pn_crash_recovery *cr[SUPERVISORS];
  pn_leader_election *el[SUPERVISORS];
  pn_worker_replacement *wr = NULL;
  pn_str voters[SUPERVISORS];
  char worker_names[WORKERS][16];
  uint64_t seq[WORKERS] = {0};
  uint64_t crash_seen_at[SUPERVISORS] = {0};
  int crashes[SUPERVISORS] = {0};
  int s, w, leader = -1, victim = -1, replaced = 0;
  pn_node_id primaries[2], backups[1];
  size_t np = 0, nb = 0;
  uint64_t step;

  CHECK_OK(pn_crash_recovery_config_default(&crc));
  CHECK_OK(pn_leader_election_config_default(&lec));
  CHECK_OK(pn_worker_replacement_config_default(&wrc));
  for (s = 0; s < SUPERVISORS; s++) {
    voters[s].ptr = sup_names[s];
    voters[s].len = strlen(sup_names[s]);
  }
  for (s = 0; s < SUPERVISORS; s++) {
    CHECK_OK(pn_crash_recovery_new(&crc, &cr[s]));
    lec.seed = 7u + (uint64_t)s;
    CHECK_OK(pn_leader_election_new(&lec, sup_names[s], strlen(sup_names[s]), voters, SUPERVISORS, NULL, 0, &el[s]));
  }
  for (w = 0; w < WORKERS; w++) snprintf(worker_names[w], sizeof worker_names[w], "worker-%d", w);

  for (step = 0; step <= 900; step++) {
    uint64_t now = step * 100000u; /* 100 ms steps */
    int whole_second = step % 10 == 0;
    size_t i;
    in_flight = 0;

    /* Supervisors run their election timers and send what they have. */
    for (s = 0; s < SUPERVISORS; s++) {
      CHECK_OK(pn_leader_election_tick(el[s], now));
      send_election(el[s], s);
    }
    /* Workers send heartbeats every second; the victim is down from 20 s to 59 s. */
    if (whole_second) {
      for (w = 0; w < WORKERS; w++) {
        pn_heartbeat hb;
        packet *p = &network[in_flight];
        if (w == victim && now >= SEC(20) && now < SEC(60)) continue;
        hb.sequence = ++seq[w];
        hb.sent_at_us = now;
        CHECK_OK(pn_health_metrics_default(&hb.metrics));
        hb.metrics.cpu_usage = 0.1f * (float)w;
        CHECK(in_flight < MAX_PACKETS);
        if (in_flight >= MAX_PACKETS) break;
        CHECK_OK(pn_wire_encode_heartbeat(worker_names[w], strlen(worker_names[w]), &hb, p->bytes, MAX_MSG, &p->len));
        p->from = -1;
        p->to = -1;
        in_flight++;
      }
    }
    /* Delivery: answers produced while receiving go out in the next step. */
    for (i = 0; i < in_flight; i++) {
      pn_message msg;
      CHECK_OK(pn_wire_decode(network[i].bytes, network[i].len, &msg));
      for (s = 0; s < SUPERVISORS; s++) {
        if (s == network[i].from || (network[i].to != -1 && network[i].to != s)) continue;
        if (msg.kind == PN_MESSAGE_HEARTBEAT) {
          CHECK_OK(pn_crash_recovery_update_node_health(cr[s], now, (const char *)msg.sender.bytes, msg.sender.len,
                                                        &msg.heartbeat.metrics));
        } else {
          CHECK_OK(pn_leader_election_step(el[s], now, network[i].bytes, network[i].len));
        }
      }
    }

    /* At 5 s: exactly one leader, followed by everyone; it assigns the task. */
    if (now == SEC(5)) {
      int leaders = 0;
      for (s = 0; s < SUPERVISORS; s++) {
        pn_election_status st;
        CHECK_OK(pn_leader_election_status(el[s], now, &st));
        if (st.role == PN_ROLE_LEADER) {
          leaders++;
          leader = s;
        }
      }
      CHECK(leaders == 1);
      if (leader < 0) break;
      for (s = 0; s < SUPERVISORS; s++) {
        pn_election_status st;
        CHECK_OK(pn_leader_election_status(el[s], now, &st));
        CHECK(st.has_leader && pn_id_is(&st.leader, sup_names[leader]));
      }
      CHECK_OK(pn_worker_replacement_new(&wrc, &wr));
      CHECK_OK(pn_worker_replacement_register_pool(wr, POOL, strlen(POOL), NULL));
      for (w = 0; w < WORKERS; w++)
        CHECK_OK(pn_worker_replacement_add_worker(wr, POOL, strlen(POOL), worker_names[w], strlen(worker_names[w]), 0,
                                                  NULL));
      CHECK_OK(pn_worker_replacement_refresh_health(wr, now, cr[leader]));
      CHECK_OK(pn_worker_replacement_assign(wr, now, TASK, strlen(TASK), POOL, strlen(POOL), 2, 1, cr[leader],
                                            primaries, 2, &np, backups, 1, &nb));
      CHECK(np == 2 && nb == 1);
      for (w = 0; w < WORKERS; w++)
        if (pn_id_is(&primaries[0], worker_names[w])) victim = w;
      CHECK(victim >= 0);
      {
        pn_checkpoint cp;
        memset(&cp, 0, sizeof cp);
        cp.sequence = 42;
        CHECK_OK(pn_worker_replacement_checkpoint(wr, now, TASK, strlen(TASK), (const char *)primaries[0].bytes,
                                                  primaries[0].len, &cp));
      }
    }

    /* Every second every supervisor sweeps; the leader replaces what crashed. */
    if (whole_second) {
      for (s = 0; s < SUPERVISORS; s++) {
        pn_node_id crashed[WORKERS];
        size_t n = 0, k;
        CHECK_OK(pn_crash_recovery_detect_crashes(cr[s], now + 500000u, crashed, WORKERS, &n));
        if (n == 0) continue;
        CHECK(n == 1 && victim >= 0 && pn_id_is(&crashed[0], worker_names[victim]));
        crashes[s] += (int)n;
        crash_seen_at[s] = now;
        if (s != leader || wr == NULL) continue;
        for (k = 0; k < n; k++) {
          pn_replacement reps[4];
          size_t count = 0;
          CHECK_OK(pn_worker_replacement_handle_failure(wr, now, (const char *)crashed[k].bytes, crashed[k].len,
                                                        cr[leader], reps, 4, &count));
          CHECK(count == 1);
          CHECK(pn_id_is(&reps[0].task, TASK) && reps[0].role == PN_ROLE_PRIMARY && reps[0].from_backup);
          CHECK(reps[0].has_replacement && reps[0].replacement.len == backups[0].len &&
                memcmp(reps[0].replacement.bytes, backups[0].bytes, backups[0].len) == 0);
          CHECK(reps[0].has_checkpoint && reps[0].checkpoint.sequence == 42);
          replaced++;
        }
        CHECK_OK(pn_worker_replacement_refresh_health(wr, now, cr[leader]));
      }
    }
  }

  CHECK(leader >= 0 && victim >= 0 && replaced == 1);
  if (leader < 0 || victim < 0 || wr == NULL) return pn_test_finish("test_cluster");
  for (s = 0; s < SUPERVISORS; s++) {
    pn_node_status st = PN_NODE_FAILED;
    pn_health_summary summary;
    pn_recovery_event events[32];
    size_t written = 0, i;
    int started = 0, completed = 0;
    pn_election_status es;
    CHECK(crashes[s] == 1);
    /* Same inputs, same outputs: all supervisors agree on the moment. */
    CHECK(crash_seen_at[s] == crash_seen_at[0]);
    CHECK(crash_seen_at[s] > SEC(20) && crash_seen_at[s] < SEC(30));
    /* The worker came back at 60 s and recovered on its own. */
    CHECK_OK(pn_crash_recovery_status(cr[s], worker_names[victim], strlen(worker_names[victim]), &st));
    CHECK(st == PN_NODE_ONLINE);
    CHECK_OK(pn_crash_recovery_summary(cr[s], SEC(90), &summary));
    CHECK(summary.total_nodes == WORKERS && summary.online_nodes == WORKERS && summary.recent_crashes == 1);
    CHECK_OK(pn_crash_recovery_events(cr[s], 0, events, 32, &written, NULL, NULL));
    for (i = 0; i < written; i++) {
      CHECK(pn_id_is(&events[i].node, worker_names[victim]));
      started += events[i].kind == PN_EVENT_RECOVERY_STARTED && events[i].strategy == PN_RECOVERY_AUTOMATIC;
      completed += events[i].kind == PN_EVENT_RECOVERY_COMPLETED;
    }
    CHECK(started == 1 && completed == 1);
    /* The leader stayed leader throughout (heartbeats kept the others quiet). */
    CHECK_OK(pn_leader_election_status(el[s], SEC(90), &es));
    CHECK(pn_id_is(&es.leader, sup_names[leader]));
  }

  /* The leader lifts the quarantine of the recovered worker. */
  {
    pn_worker_event ev;
    bool avail = true;
    int quarantined = 0, recovered = 0, replaced_events = 0;
    pn_task_info info;
    CHECK_OK(pn_worker_replacement_recover(wr, SEC(90), worker_names[victim], strlen(worker_names[victim]), cr[leader],
                                           NULL));
    while (avail) {
      CHECK_OK(pn_worker_replacement_poll_event(wr, &ev, &avail, NULL));
      if (!avail) break;
      quarantined += ev.kind == PN_WORKER_QUARANTINED && pn_id_is(&ev.worker, worker_names[victim]);
      recovered += ev.kind == PN_WORKER_RECOVERED && pn_id_is(&ev.worker, worker_names[victim]);
      replaced_events += ev.kind == PN_WORKER_REPLACED && pn_id_is(&ev.worker, worker_names[victim]);
    }
    CHECK(quarantined == 1 && recovered == 1 && replaced_events == 1);
    CHECK_OK(pn_worker_replacement_task_info(wr, TASK, strlen(TASK), &info));
    CHECK(info.primary_count == 2 && !info.degraded && info.checkpoint.sequence == 42);
  }

  pn_worker_replacement_free(wr);
  for (s = 0; s < SUPERVISORS; s++) {
    pn_crash_recovery_free(cr[s]);
    pn_leader_election_free(el[s]);
  }
  return pn_test_finish("test_cluster");
}
