/* A C firmware for QEMU's mps2-an386 (Cortex-M4F) that links the no_std C
 * library (libpouw_netops_c.a, feature `embedded`) and runs the node loop:
 * one supervisor and one worker, two pn_ops handles (small preset), speaking
 * authenticated datagrams over an in-memory "radio" (a FIFO ring of frames
 * with a fixed latency) under a virtual clock that the loop advances to the
 * next delivery or pn_ops_poll_timeout. It passes when
 *   1. the supervisor is elected leader and the worker follows it;
 *   2. the supervisor has admitted the worker (its authenticated heartbeats
 *      are taken and it counts as an online node);
 *   3. the leader assigns the worker a task, the worker receives it as
 *      primary and reports checkpoints 1..3, which the leader takes, and the
 *      worker still holds the task 5 s after the last one;
 * with no datagram refused, no radio frame dropped and no call failing; and
 * every heap byte the library took is freed at the end.
 *
 * Progress and the final PASS or FAIL line go out over semihosting (newlib's
 * rdimon printf); main's return value becomes QEMU's exit status (startup.c).
 * Credentials: fixed test seeds, certificates issued at boot with
 * pn_certificate_issue by a test authority whose seed is in this file. A real
 * node draws its identity seed once from a hardware RNG, keeps it secret, and
 * gets its certificate from the operator's host; never a seed in the image. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware.h"
#include "pouw_netops_operator.h" /* includes pouw_netops.h */

#define NODES 2
#define SUP 0
#define WRK 1
#define POOL "train"
#define TASK "job-1"
#define SEC(x) ((uint64_t)(x) * 1000000u)
#define LATENCY_US 2000u
#define RADIO_SLOTS 16
#define RADIO_MTU 2048
#define UNIX_AT_ZERO 1800000000u
#define VALIDITY (365u * 86400u)
#define CHECKPOINTS 3

static const char *const names[NODES] = {"sup-0", "w-0"};
static pn_ops *nodes[NODES];
static uint8_t certs[NODES][PN_MAX_CERTIFICATE_LEN];
static uint64_t now = SEC(1);
static int failures = 0;

#define FAIL_IF(cond, ...)                  \
  do {                                      \
    if (cond) {                             \
      failures++;                           \
      printf("error: " __VA_ARGS__);        \
      printf(" (main.c:%d)\n", __LINE__);   \
    }                                       \
  } while (0)

static void must(pn_result r, const char *what) {
  char msg[128];
  if (r == PN_OK) return;
  pn_last_error_message(msg, sizeof msg);
  FAIL_IF(1, "%s gave %s: %s", what, pn_result_str(r), msg);
}

/* ---- the heap the library takes ----
 * malloc, calloc and free are wrapped at link time (-Wl,--wrap=...): the
 * library calls malloc and free, and calloc where the compiler turned a
 * malloc and a zeroing into one. Only the library's blocks are counted here
 * (newlib's stdio buffers go through _malloc_r). */

static size_t heap_in_use = 0, heap_peak = 0, heap_blocks = 0;
void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void __real_free(void *);

static void *counted(void *p, size_t n) {
  if (p == NULL) {
    printf("allocating %lu B failed: heap exhausted\n", (unsigned long)n);
    return NULL;
  }
  heap_in_use += malloc_usable_size(p);
  heap_blocks++;
  if (heap_in_use > heap_peak) heap_peak = heap_in_use;
  return p;
}

void *__wrap_malloc(size_t n) { return counted(__real_malloc(n), n); }

void *__wrap_calloc(size_t count, size_t size) { return counted(__real_calloc(count, size), count * size); }

void __wrap_free(void *p) {
  if (p == NULL) return;
  heap_in_use -= malloc_usable_size(p);
  heap_blocks--;
  __real_free(p);
}

/* ---- the radio: frames in flight, oldest first, all with the same latency ---- */

typedef struct {
  uint64_t at;
  int to;
  size_t len;
  uint8_t bytes[RADIO_MTU];
} frame;

static frame radio[RADIO_SLOTS];
static size_t radio_head = 0, radio_count = 0, radio_dropped = 0, radio_sent = 0, radio_max_len = 0;

static void radio_send(int to, const uint8_t *bytes, size_t len) {
  frame *f;
  if (radio_count == RADIO_SLOTS) { /* a full air: the frame is lost, the protocol retries */
    radio_dropped++;
    return;
  }
  f = &radio[(radio_head + radio_count) % RADIO_SLOTS];
  f->at = now + LATENCY_US;
  f->to = to;
  f->len = len;
  memcpy(f->bytes, bytes, len);
  radio_count++;
  radio_sent++;
  if (len > radio_max_len) radio_max_len = len;
}

/* ---- what the loop observes ---- */

static int task_assigned = 0, assignment_received = 0, assignment_lost = 0, leader_events = 0;

static int id_is(const pn_node_id *id, const char *s) {
  size_t n = strlen(s);
  return id->len == n && memcmp(id->bytes, s, n) == 0;
}

static void on_event(int i, const pn_ops_event *e) {
  switch (e->kind) {
    case PN_OPS_LEADER_ELECTED:
      leader_events++;
      printf("[%6lu ms] %s: %.*s leads term %lu\n", (unsigned long)(now / 1000), names[i], (int)e->node.len,
             (const char *)e->node.bytes, (unsigned long)e->term);
      break;
    case PN_OPS_TASK_ASSIGNED:
      printf("[%6lu ms] %s: assigned %.*s to %.*s (role %d)\n", (unsigned long)(now / 1000), names[i],
             (int)e->task.len, (const char *)e->task.bytes, (int)e->node.len, (const char *)e->node.bytes,
             (int)e->role);
      if (i == SUP && id_is(&e->node, names[WRK]) && id_is(&e->task, TASK) && e->role == PN_ROLE_PRIMARY)
        task_assigned = 1;
      break;
    case PN_OPS_ASSIGNMENT_RECEIVED:
      printf("[%6lu ms] %s: received %.*s (role %d)\n", (unsigned long)(now / 1000), names[i], (int)e->task.len,
             (const char *)e->task.bytes, (int)e->role);
      if (i == WRK && id_is(&e->task, TASK) && e->role == PN_ROLE_PRIMARY) assignment_received = 1;
      break;
    case PN_OPS_ASSIGNMENT_RELEASED:
    case PN_OPS_LEASE_EXPIRED:
      printf("[%6lu ms] %s: lost %.*s (event %d)\n", (unsigned long)(now / 1000), names[i], (int)e->task.len,
             (const char *)e->task.bytes, (int)e->kind);
      if (i == WRK) assignment_lost = 1;
      break;
    default:
      break;
  }
}

/* Drains node i in the documented order: hard state, transmits, events. */
static void drain(int i) {
  static uint8_t buf[RADIO_MTU];
  pn_hard_state hs;
  pn_ops_event ev;
  bool avail = true;
  while (avail) must(pn_ops_poll_hard_state(nodes[i], &hs, &avail), "pn_ops_poll_hard_state");
  for (;;) {
    size_t len = 0;
    pn_node_id to;
    pn_result r = pn_ops_poll_transmit(nodes[i], buf, sizeof buf, &len, &to, &avail);
    if (r == PN_ERR_BUFFER_TOO_SMALL) {
      FAIL_IF(1, "%s: a %lu-byte datagram is over the radio's %d-byte MTU", names[i], (unsigned long)len, RADIO_MTU);
      fw_exit(2); /* it stays queued: the loop cannot go on */
    }
    must(r, "pn_ops_poll_transmit");
    if (r != PN_OK || !avail) break;
    if (id_is(&to, names[1 - i]))
      radio_send(1 - i, buf, len);
    else
      FAIL_IF(1, "%s sent to an unknown node %.*s", names[i], (int)to.len, (const char *)to.bytes);
  }
  for (;;) {
    must(pn_ops_poll_event(nodes[i], &ev, &avail), "pn_ops_poll_event");
    if (!avail) break;
    on_event(i, &ev);
  }
}

/* One turn of the loop: the clock jumps to the next delivery or timeout (at
 * most `until`), due frames are handed in, due nodes ticked, all drained.
 * Returns 0 once `until` is reached. */
static int turn(uint64_t until) {
  uint64_t next = UINT64_MAX, t;
  int i;
  if (radio_count > 0) next = radio[radio_head].at;
  for (i = 0; i < NODES; i++) {
    must(pn_ops_poll_timeout(nodes[i], &t), "pn_ops_poll_timeout");
    if (t < next) next = t;
  }
  if (next > until) {
    now = until;
    return 0;
  }
  if (next > now) now = next;
  while (radio_count > 0 && radio[radio_head].at <= now) {
    frame *f = &radio[radio_head];
    must(pn_ops_handle_message(nodes[f->to], now, f->bytes, f->len), "pn_ops_handle_message");
    radio_head = (radio_head + 1) % RADIO_SLOTS;
    radio_count--;
  }
  for (i = 0; i < NODES; i++) {
    must(pn_ops_poll_timeout(nodes[i], &t), "pn_ops_poll_timeout");
    if (t <= now) must(pn_ops_tick(nodes[i], now), "pn_ops_tick");
  }
  for (i = 0; i < NODES; i++) drain(i);
  return 1;
}

static void run_for(uint64_t span) {
  uint64_t until = now + span;
  while (turn(until)) {
  }
}

/* Runs until cond() holds or `limit` of virtual time passes; says which. */
static int run_until(int (*cond)(void), uint64_t limit) {
  uint64_t until = now + limit;
  while (!cond())
    if (!turn(until)) return cond();
  return 1;
}

static pn_ops_status_report st_sup, st_wrk;

static void status(void) {
  must(pn_ops_status(nodes[SUP], now, &st_sup), "pn_ops_status");
  must(pn_ops_status(nodes[WRK], now, &st_wrk), "pn_ops_status");
}

static int leader_known(void) {
  status();
  return st_sup.is_leader && st_wrk.has_leader && id_is(&st_wrk.leader, names[SUP]);
}

static int worker_admitted(void) {
  status();
  return st_sup.health.online_nodes >= 1 && st_sup.counters.messages_received > 0;
}

static int worker_holds_task(void) { return task_assigned && assignment_received; }

/* Credentials for node `name`: an identity seed, and a certificate issued by
 * the test authority (workers get one slot in POOL). */
static pn_result credentials(int i, uint32_t role, pn_credentials *c) {
  static const uint8_t authority_seed[32] = "pouw-netops firmware test authy";
  pn_certificate_fields f;
  pn_str pools[1];
  size_t written = 0;
  pn_result r;
  size_t k;
  memset(&f, 0, sizeof f);
  memset(c, 0, sizeof *c);
  for (k = 0; k < sizeof c->identity_seed; k++) c->identity_seed[k] = (uint8_t)(0x10 * (i + 1) + k);
  r = pn_identity_public(c->identity_seed, f.identity_public);
  if (r != PN_OK) return r;
  f.node = names[i];
  f.node_len = strlen(names[i]);
  f.role = role;
  memset(f.wg_key, 0x42 + i, sizeof f.wg_key);
  if (role == PN_NODE_WORKER) {
    pools[0].ptr = POOL;
    pools[0].len = strlen(POOL);
    f.slots = 1;
    f.pools = pools;
    f.pool_count = 1;
  }
  f.serial = 1;
  f.not_before = UNIX_AT_ZERO;
  f.not_after = UNIX_AT_ZERO + VALIDITY;
  r = pn_certificate_issue(authority_seed, &f, certs[i], sizeof certs[i], &written);
  if (r != PN_OK) return r;
  r = pn_identity_public(authority_seed, c->authority_public);
  c->certificate = certs[i];
  c->certificate_len = written;
  c->epoch = 1;
  c->unix_at_zero = UNIX_AT_ZERO;
  return r;
}

int main(void) {
  pn_ops_config cfg;
  pn_str sups[1];
  pn_credentials creds;
  pn_checkpoint cp;
  uint64_t received_before;
  size_t heap_before = 0;
  int i, ok;

  printf("pouw-netops firmware on mps2-an386: %s\n", pn_version());
  must(pn_ops_config_default(&cfg), "pn_ops_config_default");
  sups[0].ptr = names[SUP];
  sups[0].len = strlen(names[SUP]);
  for (i = 0; i < NODES; i++) {
    uint32_t role = i == SUP ? PN_NODE_SUPERVISOR : PN_NODE_WORKER;
    nodes[i] = NULL;
    must(credentials(i, role, &creds), "credentials");
    must(pn_ops_new(&cfg, names[i], strlen(names[i]), role, sups, 1, &creds, 1000 + (uint64_t)i, NULL, &nodes[i]),
         "pn_ops_new");
    memset(&creds, 0, sizeof creds); /* the node keeps its own copy of the secret */
    if (nodes[i] == NULL) {
      printf("FAIL: %s not created\n", names[i]);
      return 1;
    }
    printf("%s built: library heap +%lu B (%lu blocks live)\n", names[i], (unsigned long)(heap_in_use - heap_before),
           (unsigned long)heap_blocks);
    heap_before = heap_in_use;
  }
  for (i = 0; i < NODES; i++) must(pn_ops_start(nodes[i], now), "pn_ops_start");
  for (i = 0; i < NODES; i++) drain(i);

  ok = run_until(leader_known, SEC(10));
  FAIL_IF(!ok, "no leader known after 10 s");
  printf("[%6lu ms] leader: %s, term %lu\n", (unsigned long)(now / 1000), names[SUP], (unsigned long)st_sup.leader_term);

  ok = ok && run_until(worker_admitted, SEC(10));
  FAIL_IF(!ok, "the worker was not admitted within 10 s");
  printf("[%6lu ms] admitted: supervisor took %lu datagrams, %lu of %lu nodes online\n", (unsigned long)(now / 1000),
         (unsigned long)st_sup.counters.messages_received, (unsigned long)st_sup.health.online_nodes,
         (unsigned long)st_sup.health.total_nodes);

  if (ok) {
    must(pn_ops_submit_task(nodes[SUP], now, TASK, strlen(TASK), POOL, strlen(POOL), 1, 0), "pn_ops_submit_task");
    drain(SUP);
    ok = run_until(worker_holds_task, SEC(5));
    FAIL_IF(!ok, "the worker holds no task 5 s after it was submitted");
  }
  for (i = 1; ok && i <= CHECKPOINTS; i++) {
    status();
    received_before = st_sup.counters.messages_received;
    cp.sequence = (uint64_t)i;
    memset(cp.digest, 0xA0 + i, sizeof cp.digest);
    must(pn_ops_report_checkpoint(nodes[WRK], now, TASK, strlen(TASK), &cp), "pn_ops_report_checkpoint");
    drain(WRK);
    run_for(SEC(1));
    status();
    FAIL_IF(st_sup.counters.messages_received <= received_before, "the leader took nothing after checkpoint %d", i);
    printf("[%6lu ms] checkpoint %d reported; leader has taken %lu datagrams\n", (unsigned long)(now / 1000), i,
           (unsigned long)st_sup.counters.messages_received);
  }
  run_for(SEC(5));
  status();
  FAIL_IF(assignment_lost, "the worker lost its task");
  FAIL_IF(!st_wrk.running || !st_wrk.has_leader, "the worker is not running under a leader");
  FAIL_IF(st_sup.counters.rejected_total + st_wrk.counters.rejected_total != 0, "%lu datagrams refused",
          (unsigned long)(st_sup.counters.rejected_total + st_wrk.counters.rejected_total));
  FAIL_IF(radio_dropped != 0, "%lu radio frames dropped", (unsigned long)radio_dropped);
  printf("[%6lu ms] %lu frames on the radio (largest %lu B), %lu dropped; refused: %lu\n", (unsigned long)(now / 1000),
         (unsigned long)radio_sent, (unsigned long)radio_max_len, (unsigned long)radio_dropped,
         (unsigned long)(st_sup.counters.rejected_total + st_wrk.counters.rejected_total));
  printf("heap: %lu B in use now, peak %lu B (library blocks); arena %lu of %lu B\n", (unsigned long)heap_in_use,
         (unsigned long)heap_peak, (unsigned long)fw_heap_arena_used(), (unsigned long)fw_heap_arena_size());

  for (i = 0; i < NODES; i++) pn_ops_free(nodes[i]);
  FAIL_IF(heap_in_use != 0 || heap_blocks != 0, "%lu B in %lu blocks not freed", (unsigned long)heap_in_use,
          (unsigned long)heap_blocks);
  printf("%s: firmware node loop (%d failures)\n", failures == 0 ? "PASS" : "FAIL", failures);
  return failures == 0 ? 0 : 1;
}
