/* pn_worker_replacement, with a pn_crash_recovery as the health view.
 * Reference semantics (the core's documented rules): available workers rank by
 * health band, then load, then exact score, then lower id; assignment is all
 * primaries or nothing; checkpoints never go backwards; a failed primary is
 * replaced by its live backup, which resumes from the last checkpoint; the
 * failed worker is quarantined until it recovers. */
/* The standalone manager handles: needs the library built with the `managers`
 * feature. */
#define PN_MANAGERS 1
#include "pn_test.h"

#define W 6
#define TT "train"

static const char *names[W] = {"w0", "w1", "w2", "w3", "w4", "w5"};

static void beat(pn_crash_recovery *cr, uint64_t now, int skip) {
  int w;
  for (w = 0; w < W; w++) {
    pn_health_metrics m;
    if (w == skip) continue;
    CHECK_OK(pn_health_metrics_default(&m));
    /* w3 is the least healthy of the idle workers, w5 the healthiest. */
    m.success_rate = w == 3 ? 0.70f : 1.0f;
    m.cpu_usage = w == 5 ? 0.0f : 0.5f;
    CHECK_OK(pn_crash_recovery_update_node_health(cr, now, names[w], strlen(names[w]), &m));
  }
}

/* Drains the event queue; returns how many events of `kind` concern `worker`. */
static int drain(pn_worker_replacement *wr, pn_worker_event_kind kind, const char *worker, pn_worker_event *last) {
  int n = 0;
  for (;;) {
    pn_worker_event e;
    bool avail = false;
    uint64_t dropped = 1;
    CHECK_OK(pn_worker_replacement_poll_event(wr, &e, &avail, &dropped));
    CHECK(dropped == 0);
    if (!avail) return n;
    if (e.kind == kind && pn_id_is(&e.worker, worker)) {
      n++;
      *last = e;
    }
  }
}

int main(void) {
  pn_worker_replacement_config config;
  pn_crash_recovery_config crc;
  pn_worker_replacement *wr = NULL;
  pn_crash_recovery *cr = NULL;
  pn_node_id prim[4], back[4];
  size_t np = 0, nb = 0;
  bool flag = false;
  int w, t;
  pn_task_info info;
  pn_checkpoint cp;
  pn_worker_event ev;

  CHECK_OK(pn_worker_replacement_config_default(&config));
  CHECK(config.unknown_score == 5000 && config.score_band == 500);
  CHECK_OK(pn_worker_replacement_new(&config, &wr));
  CHECK_OK(pn_crash_recovery_config_default(&crc));
  CHECK_OK(pn_crash_recovery_new(&crc, &cr));

  CHECK_OK(pn_worker_replacement_register_pool(wr, TT, strlen(TT), &flag));
  CHECK(flag);
  CHECK_OK(pn_worker_replacement_register_pool(wr, TT, strlen(TT), &flag));
  CHECK(!flag);
  for (w = 0; w < W; w++) CHECK_OK(pn_worker_replacement_add_worker(wr, TT, strlen(TT), names[w], 2, 0, &flag));
  CHECK_CODE(pn_worker_replacement_add_worker(wr, "infer", 5, "w0", 2, 0, NULL), PN_ERR_NOT_FOUND);

  /* Without a health view every worker scores the unknown score: equal bands and
   * loads, so the lower ids win. */
  CHECK_OK(pn_worker_replacement_assign(wr, 0, "t1", 2, TT, strlen(TT), 2, 1, NULL, prim, 4, &np, back, 4, &nb));
  CHECK(np == 2 && pn_id_is(&prim[0], "w0") && pn_id_is(&prim[1], "w1"));
  CHECK(nb == 1 && pn_id_is(&back[0], "w2"));

  /* Arrays shorter than asked for: nothing is assigned. */
  CHECK_CODE(pn_worker_replacement_assign(wr, 0, "t2", 2, TT, strlen(TT), 1, 1, cr, prim, 0, &np, back, 4, &nb),
             PN_ERR_BUFFER_TOO_SMALL);
  CHECK_CODE(pn_worker_replacement_task_info(wr, "t2", 2, &info), PN_ERR_NOT_FOUND);

  /* With crash recovery as the view, after a sweep: w5 (healthiest) first, then w4; w3 last. */
  for (t = 0; t <= 10; t++) beat(cr, SEC(t), -1);
  {
    uint16_t s3 = 0, s4 = 0, s5 = 0;
    CHECK_OK(pn_crash_recovery_health_score(cr, SEC(10), "w3", 2, &s3));
    CHECK_OK(pn_crash_recovery_health_score(cr, SEC(10), "w4", 2, &s4));
    CHECK_OK(pn_crash_recovery_health_score(cr, SEC(10), "w5", 2, &s5));
    CHECK(s3 / 500 < s4 / 500 && s4 <= s5);
  }
  CHECK_OK(pn_worker_replacement_refresh_health(wr, SEC(10), cr));
  CHECK_OK(pn_worker_replacement_assign(wr, SEC(10), "t2", 2, TT, strlen(TT), 1, 1, cr, prim, 4, &np, back, 4, &nb));
  CHECK(np == 1 && pn_id_is(&prim[0], "w5") && nb == 1 && pn_id_is(&back[0], "w4"));
  /* Only w3 has a free slot left (one slot each), then nobody. */
  CHECK_OK(pn_worker_replacement_assign(wr, SEC(10), "t3", 2, TT, strlen(TT), 1, 0, cr, prim, 4, &np, back, 4, &nb));
  CHECK(np == 1 && pn_id_is(&prim[0], "w3") && nb == 0);
  CHECK_CODE(pn_worker_replacement_assign(wr, SEC(10), "t4", 2, TT, strlen(TT), 1, 0, cr, prim, 4, &np, back, 4, &nb),
             PN_ERR_CAPACITY_EXCEEDED);
  CHECK_CODE(pn_worker_replacement_assign(wr, SEC(10), "t1", 2, TT, strlen(TT), 1, 0, cr, prim, 4, &np, back, 4, &nb),
             PN_ERR_INVALID_STATE);

  /* Checkpoints: only a primary reports, never backwards. */
  memset(&cp, 0, sizeof cp);
  cp.sequence = 5;
  cp.digest[0] = 0xab;
  CHECK_OK(pn_worker_replacement_checkpoint(wr, SEC(10), "t1", 2, "w0", 2, &cp));
  CHECK_CODE(pn_worker_replacement_checkpoint(wr, SEC(10), "t1", 2, "w2", 2, &cp), PN_ERR_INVALID_ARGUMENT);
  cp.sequence = 4;
  CHECK_CODE(pn_worker_replacement_checkpoint(wr, SEC(10), "t1", 2, "w0", 2, &cp), PN_ERR_INVALID_STATE);
  cp.sequence = 5;

  /* w0 (primary of t1) falls silent at 11 s; the sweep detects it; it is replaced
   * in every task it serves by its backup w2, resuming from checkpoint 5. */
  {
    int detected = 0;
    for (t = 11; t <= 40 && !detected; t++) {
      pn_node_id crashed[W];
      size_t n = 0;
      beat(cr, SEC(t), 0);
      CHECK_OK(pn_crash_recovery_detect_crashes(cr, SEC(t), crashed, W, &n));
      if (n > 0) {
        pn_replacement reps[4];
        size_t count = 0;
        CHECK(n == 1 && pn_id_is(&crashed[0], "w0"));
        detected = 1;
        CHECK_OK(pn_worker_replacement_handle_failure(wr, SEC(t), "w0", 2, cr, reps, 4, &count));
        CHECK(count == 1);
        CHECK(pn_id_is(&reps[0].task, "t1") && pn_id_is(&reps[0].failed, "w0") && reps[0].role == PN_ROLE_PRIMARY);
        CHECK(reps[0].has_replacement && pn_id_is(&reps[0].replacement, "w2") && reps[0].from_backup);
        CHECK(reps[0].has_checkpoint && reps[0].checkpoint.sequence == 5 && reps[0].checkpoint.digest[0] == 0xab);
        CHECK(!reps[0].degraded);
      }
    }
    CHECK(detected);
  }
  CHECK(drain(wr, PN_WORKER_QUARANTINED, "w0", &ev) == 1);
  CHECK_OK(pn_worker_replacement_task_info(wr, "t1", 2, &info));
  CHECK(info.primary_count == 2 && info.required == 2 && !info.degraded);
  CHECK(pn_id_is(&info.task_type, TT));
  CHECK(pn_id_is(&info.primaries[0], "w2") || pn_id_is(&info.primaries[1], "w2"));
  CHECK(info.has_checkpoint && info.checkpoint.sequence == 5);
  {
    pn_worker_info wi;
    CHECK_OK(pn_worker_replacement_worker_info(wr, "w0", 2, &wi));
    CHECK(wi.quarantined && wi.used == 0);
  }

  /* w0 comes back: its recovery lifts the quarantine. */
  for (t = 41; t <= 50; t++) beat(cr, SEC(t), -1);
  CHECK_OK(pn_worker_replacement_recover(wr, SEC(50), "w0", 2, cr, NULL));
  CHECK(drain(wr, PN_WORKER_RECOVERED, "w0", &ev) == 1);
  CHECK(ev.at_us == SEC(50));

  {
    pn_utilization_stats u;
    pn_pool_stats p;
    size_t released = 0;
    CHECK_OK(pn_worker_replacement_utilization(wr, SEC(50), &u));
    CHECK(u.total_workers == W && u.active_tasks == 3 && u.replacements_total == 1 && u.replacements_last_hour == 1);
    CHECK(u.quarantined_workers == 0 && u.total_slots == W);
    CHECK_OK(pn_worker_replacement_pool_stats(wr, TT, strlen(TT), &p));
    CHECK(p.workers == W && p.slots == W && p.used == u.used_slots);
    CHECK_OK(pn_worker_replacement_release(wr, "t1", 2, &released));
    CHECK(released >= 2);
    CHECK_CODE(pn_worker_replacement_release(wr, "t1", 2, &released), PN_ERR_NOT_FOUND);
  }

  /* Errors: NULL pointers, invalid ids, bad slot counts. */
  CHECK_CODE(pn_worker_replacement_register_pool(NULL, TT, 5, NULL), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_worker_replacement_register_pool(wr, "", 0, NULL), PN_ERR_INVALID_ID);
  CHECK_CODE(pn_worker_replacement_add_worker(wr, TT, strlen(TT), "w9", 2, 1000, NULL), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_worker_replacement_checkpoint(wr, 0, "t2", 2, "w5", 2, NULL), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_worker_replacement_new(NULL, &wr), PN_ERR_NULL_POINTER);

  pn_worker_replacement_free(wr);
  pn_worker_replacement_free(NULL);
  pn_crash_recovery_free(cr);
  return pn_test_finish("test_workers");
}
