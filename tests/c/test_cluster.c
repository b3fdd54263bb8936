/* A three-supervisor, five-worker cluster exchanging bytes in memory: every
 * second each live worker encodes a heartbeat with pn_wire_encode_heartbeat,
 * the "network" delivers the bytes to every supervisor, which decodes them and
 * feeds its pn_crash_recovery. Worker 3 crashes at 20 s: every supervisor must
 * detect exactly that crash in the same sweep, and see it recover when the
 * worker returns. (Leader election and worker replacement join this test when
 * their handles exist.) */
#include "pn_test.h"

#define SUPERVISORS 3
#define WORKERS 5
#define MAX_MSG 128

typedef struct {
  uint8_t bytes[MAX_MSG];
  size_t len;
} packet;

int main(void) {
  pn_crash_recovery_config config;
  pn_crash_recovery *sup[SUPERVISORS];
  packet network[WORKERS];
  uint64_t seq[WORKERS] = {0};
  uint64_t crash_seen_at[SUPERVISORS] = {0};
  int s, w, t, crashes[SUPERVISORS] = {0};

  CHECK_OK(pn_crash_recovery_config_default(&config));
  for (s = 0; s < SUPERVISORS; s++) CHECK_OK(pn_crash_recovery_new(&config, &sup[s]));

  for (t = 0; t <= 90; t++) {
    uint64_t now = SEC(t);
    size_t in_flight = 0, i;
    /* Workers send; worker 3 is down from 20 s to 59 s. */
    for (w = 0; w < WORKERS; w++) {
      char name[16];
      pn_heartbeat hb;
      if (w == 3 && t >= 20 && t < 60) continue;
      snprintf(name, sizeof name, "worker-%d", w);
      hb.sequence = ++seq[w];
      hb.sent_at_us = now;
      CHECK_OK(pn_health_metrics_default(&hb.metrics));
      hb.metrics.cpu_usage = 0.1f * (float)w;
      CHECK_OK(pn_wire_encode_heartbeat(name, strlen(name), &hb, network[in_flight].bytes, MAX_MSG,
                                        &network[in_flight].len));
      in_flight++;
    }
    /* Every supervisor receives every packet, then sweeps. */
    for (s = 0; s < SUPERVISORS; s++) {
      pn_node_id crashed[WORKERS];
      size_t n = 0;
      for (i = 0; i < in_flight; i++) {
        pn_message msg;
        CHECK_OK(pn_wire_decode(network[i].bytes, network[i].len, &msg));
        CHECK(msg.kind == PN_MESSAGE_HEARTBEAT);
        CHECK_OK(pn_crash_recovery_update_node_health(sup[s], now, (const char *)msg.sender.bytes, msg.sender.len,
                                                      &msg.heartbeat.metrics));
      }
      CHECK_OK(pn_crash_recovery_detect_crashes(sup[s], now + 500000u, crashed, WORKERS, &n));
      if (n > 0) {
        CHECK(n == 1 && pn_id_is(&crashed[0], "worker-3"));
        crashes[s] += (int)n;
        crash_seen_at[s] = now;
      }
    }
  }

  for (s = 0; s < SUPERVISORS; s++) {
    pn_node_status st = PN_NODE_FAILED;
    pn_health_summary summary;
    pn_recovery_event events[32];
    size_t written = 0, i;
    int started = 0, completed = 0;
    CHECK(crashes[s] == 1);
    /* Same inputs, same outputs: all supervisors agree on the moment. */
    CHECK(crash_seen_at[s] == crash_seen_at[0]);
    CHECK(crash_seen_at[s] > SEC(20) && crash_seen_at[s] < SEC(30));
    /* The worker came back at 60 s and recovered on its own. */
    CHECK_OK(pn_crash_recovery_status(sup[s], "worker-3", 8, &st));
    CHECK(st == PN_NODE_ONLINE);
    CHECK_OK(pn_crash_recovery_summary(sup[s], SEC(90), &summary));
    CHECK(summary.total_nodes == WORKERS && summary.online_nodes == WORKERS && summary.recent_crashes == 1);
    CHECK_OK(pn_crash_recovery_events(sup[s], 0, events, 32, &written, NULL, NULL));
    for (i = 0; i < written; i++) {
      CHECK(pn_id_is(&events[i].node, "worker-3"));
      started += events[i].kind == PN_EVENT_RECOVERY_STARTED && events[i].strategy == PN_RECOVERY_AUTOMATIC;
      completed += events[i].kind == PN_EVENT_RECOVERY_COMPLETED;
    }
    CHECK(started == 1 && completed == 1);
    pn_crash_recovery_free(sup[s]);
  }
  return pn_test_finish("test_cluster");
}
