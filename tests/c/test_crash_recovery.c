/* pn_crash_recovery: the status machine as documented (ONLINE -> SUSPECTED ->
 * OFFLINE -> RECOVERING -> ONLINE / FAILED), events by sequence number, short
 * arrays, and every error code a C caller can provoke. */
/* The standalone manager handles: needs the library built with the `managers`
 * feature. */
#define PN_MANAGERS 1
#include "pn_test.h"

static pn_result beat(pn_crash_recovery *m, uint64_t t, const char *node) {
  return pn_crash_recovery_heartbeat(m, t, node, strlen(node));
}

static pn_node_status status_of(const pn_crash_recovery *m, const char *node) {
  pn_node_status s = PN_NODE_FAILED;
  CHECK_OK(pn_crash_recovery_status(m, node, strlen(node), &s));
  return s;
}

int main(void) {
  pn_crash_recovery_config config;
  pn_crash_recovery *m = NULL;
  pn_node_id crashed[2];
  size_t n_crashed = 0, written = 0, total = 0;
  uint64_t t, next_seq = 0, dropped = 0, suspected_at = 0, offline_at = 0;
  pn_recovery_event events[16];
  pn_node_status s;
  int i;

  CHECK_OK(pn_crash_recovery_config_default(&config));
  CHECK(config.phi.threshold == 8.0 && config.suspect_phi == 0.0);
  CHECK(config.recovery_deadline_us == SEC(300) && config.max_recovery_attempts == 3);
  CHECK(config.recovery_heartbeats == 2 && config.health.max_heartbeat_age_us == SEC(30));
  CHECK_OK(pn_crash_recovery_new(&config, &m));

  /* Three workers beat every second for 10 s; w2 then goes silent. */
  for (t = 0; t <= 10; t++) {
    CHECK_OK(beat(m, SEC(t), "w1"));
    CHECK_OK(beat(m, SEC(t), "w2"));
    CHECK_OK(beat(m, SEC(t), "w3"));
  }
  CHECK(status_of(m, "w2") == PN_NODE_ONLINE);
  for (t = 101; t < 400; t++) { /* tenths of a second */
    uint64_t now = t * 100000u;
    if (t % 10 == 0) {
      CHECK_OK(beat(m, now, "w1"));
      CHECK_OK(beat(m, now, "w3"));
    }
    CHECK_OK(pn_crash_recovery_detect_crashes(m, now, crashed, 2, &n_crashed));
    s = status_of(m, "w2");
    if (s == PN_NODE_SUSPECTED && suspected_at == 0) suspected_at = now;
    if (n_crashed > 0) {
      CHECK(n_crashed == 1 && pn_id_is(&crashed[0], "w2"));
      CHECK(offline_at == 0); /* reported once */
      offline_at = now;
    }
  }
  /* Suspected (phi 4) strictly before offline (phi 8), both after a late beat. */
  CHECK(suspected_at > SEC(11) && offline_at > suspected_at);
  CHECK(status_of(m, "w2") == PN_NODE_OFFLINE);
  CHECK(status_of(m, "w1") == PN_NODE_ONLINE);
  {
    double phi = 0.0;
    CHECK_OK(pn_crash_recovery_phi(m, offline_at, "w2", 2, &phi));
    CHECK(phi >= 8.0);
    CHECK_OK(pn_crash_recovery_phi(m, offline_at - 100000u, "w2", 2, &phi));
    CHECK(phi < 8.0);
  }

  /* Events: online->suspected, suspected->offline, crash detected. */
  CHECK_OK(pn_crash_recovery_events(m, 0, events, 16, &written, &next_seq, &dropped));
  CHECK(written == 3 && next_seq == 3 && dropped == 0);
  CHECK(events[0].seq == 0 && events[0].kind == PN_EVENT_STATUS_CHANGED);
  CHECK(events[0].from == PN_NODE_ONLINE && events[0].to == PN_NODE_SUSPECTED && events[0].at_us == suspected_at);
  CHECK(events[1].kind == PN_EVENT_STATUS_CHANGED && events[1].to == PN_NODE_OFFLINE);
  CHECK(events[2].kind == PN_EVENT_CRASH_DETECTED && pn_id_is(&events[2].node, "w2"));
  CHECK(events[2].at_us == offline_at && events[2].duration_us == offline_at - SEC(10) && events[2].phi >= 8.0);

  /* Recovery: not for an online node; unknown strategy rejected; then restart. */
  CHECK_CODE(pn_crash_recovery_initiate_recovery(m, SEC(40), "w1", 2, PN_RECOVERY_RESTART, 0), PN_ERR_INVALID_STATE);
  CHECK_CODE(pn_crash_recovery_initiate_recovery(m, SEC(40), "w2", 2, 17, 0), PN_ERR_INVALID_ARGUMENT);
  CHECK(status_of(m, "w2") == PN_NODE_OFFLINE);
  CHECK_OK(pn_crash_recovery_initiate_recovery(m, SEC(40), "w2", 2, PN_RECOVERY_RESTART, 0));
  CHECK(status_of(m, "w2") == PN_NODE_RECOVERING);
  CHECK_OK(beat(m, SEC(41), "w2"));
  CHECK(status_of(m, "w2") == PN_NODE_RECOVERING);
  CHECK_OK(beat(m, SEC(42), "w2"));
  CHECK(status_of(m, "w2") == PN_NODE_ONLINE);
  CHECK_OK(pn_crash_recovery_events(m, next_seq, events, 16, &written, &next_seq, NULL));
  CHECK(written == 4);
  CHECK(events[1].kind == PN_EVENT_RECOVERY_STARTED && events[1].strategy == PN_RECOVERY_RESTART && events[1].attempt == 1);
  CHECK(events[3].kind == PN_EVENT_RECOVERY_COMPLETED && events[3].duration_us == SEC(2));

  /* Metrics: out of range rejected and nothing changes; unhealthy ones suspect the node. */
  {
    pn_health_metrics metrics;
    pn_node_info info;
    pn_health_summary summary;
    uint16_t score = 0;
    bool healthy = true;
    CHECK_OK(pn_health_metrics_default(&metrics));
    metrics.cpu_usage = 1.5f;
    CHECK_CODE(pn_crash_recovery_update_node_health(m, SEC(43), "w1", 2, &metrics), PN_ERR_INVALID_METRIC);
    CHECK_OK(pn_crash_recovery_node_info(m, "w1", 2, &info));
    CHECK(info.metrics.cpu_usage == 0.0f && info.last_heartbeat_us == SEC(39));
    metrics.cpu_usage = 0.95f;
    CHECK_OK(pn_crash_recovery_update_node_health(m, SEC(43), "w1", 2, &metrics));
    CHECK(status_of(m, "w1") == PN_NODE_SUSPECTED);
    CHECK_OK(pn_crash_recovery_is_healthy(m, SEC(43), "w1", 2, &healthy));
    CHECK(!healthy);
    CHECK_OK(pn_crash_recovery_health_score(m, SEC(39), "w3", 2, &score));
    CHECK(score > 0 && score <= 10000);
    CHECK_OK(pn_crash_recovery_summary(m, SEC(43), &summary));
    CHECK(summary.total_nodes == 3 && summary.suspected_nodes == 1 && summary.recent_crashes == 1);
  }

  /* Node list, paged two at a time. */
  {
    pn_node_id ids[2];
    CHECK_OK(pn_crash_recovery_nodes(m, 0, ids, 2, &written, &total));
    CHECK(written == 2 && total == 3 && pn_id_is(&ids[0], "w1") && pn_id_is(&ids[1], "w2"));
    CHECK_OK(pn_crash_recovery_nodes(m, 2, ids, 2, &written, NULL));
    CHECK(written == 1 && pn_id_is(&ids[0], "w3"));
  }

  /* A short crash array: the count is complete and every crash is an event. */
  for (i = 0; i < 5; i++) {
    char name[8];
    snprintf(name, sizeof name, "x%d", i);
    CHECK_OK(beat(m, SEC(50), name));
  }
  CHECK_OK(pn_crash_recovery_detect_crashes(m, SEC(200), crashed, 1, &n_crashed));
  CHECK(n_crashed >= 5);
  CHECK_OK(pn_crash_recovery_detect_crashes(m, SEC(201), NULL, 0, NULL));

  /* Errors a C caller can provoke. */
  CHECK_CODE(beat(m, 0, ""), PN_ERR_INVALID_ID);
  CHECK_CODE(pn_crash_recovery_heartbeat(m, 0, "\xff\xfe", 2), PN_ERR_INVALID_ID);
  CHECK_CODE(beat(m, 0, "a-node-id-that-is-longer-than-sixty-four-bytes-which-is-the-limit!"), PN_ERR_INVALID_ID);
  CHECK_CODE(pn_crash_recovery_heartbeat(m, 0, NULL, 3), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_crash_recovery_heartbeat(NULL, 0, "w1", 2), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_crash_recovery_status(m, "ghost", 5, &s), PN_ERR_NOT_FOUND);
  CHECK_CODE(pn_crash_recovery_status(m, "w1", 2, NULL), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_crash_recovery_events(m, 0, NULL, 4, &written, NULL, NULL), PN_ERR_NULL_POINTER);
  CHECK_OK(pn_crash_recovery_remove_node(m, "w3", 2));
  CHECK_CODE(pn_crash_recovery_remove_node(m, "w3", 2), PN_ERR_NOT_FOUND);
  {
    pn_crash_recovery *bad = NULL;
    pn_crash_recovery_config c = config;
    c.recovery_heartbeats = 0;
    CHECK_CODE(pn_crash_recovery_new(&c, &bad), PN_ERR_INVALID_CONFIG);
    CHECK(bad == NULL);
  }
  pn_crash_recovery_free(m);

  /* A full table is a capacity error that adds nothing. */
  CHECK_OK(pn_crash_recovery_new(&config, &m));
  for (i = 0; i < PN_CRASH_RECOVERY_NODES; i++) {
    char name[16];
    snprintf(name, sizeof name, "n%d", i);
    if (beat(m, 0, name) != PN_OK) break;
  }
  CHECK(i == PN_CRASH_RECOVERY_NODES);
  CHECK_CODE(beat(m, 0, "one-too-many"), PN_ERR_CAPACITY_EXCEEDED);
  CHECK_CODE(pn_crash_recovery_status(m, "one-too-many", 12, &s), PN_ERR_NOT_FOUND);
  pn_crash_recovery_free(m);
  pn_crash_recovery_free(NULL);
  return pn_test_finish("test_crash_recovery");
}
