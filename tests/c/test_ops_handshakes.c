/* pn_ops_record_latest_handshakes: what `wg show <if> latest-handshakes`
 * prints drives a node's tunnel health.
 *
 * A supervisor s0 and a worker w0 (each with its own WireGuard key) exchange
 * heartbeats, which bring their tunnel up. w0's host then reports WireGuard's
 * handshakes: the report counts each line as the core does (recorded, repeated,
 * "never", unknown keys, malformed lines). From then on w0's tunnel follows the
 * reported handshakes, not the heartbeats that keep flowing: with no newer
 * handshake it goes stale (PN_OPS_TUNNEL_DOWN, route gone) while s0, which
 * gets no reports, keeps it up; a fresh handshake brings it back up. */
#include "pn_sim.h"

static const char *names[2] = {"s0", "w0"};
static uint8_t wg[2][32];
static int tunnel_up[2], tunnel_down[2];
static pn_tunnel_state down_state[2];

static void on_event(int i, const pn_ops_event *e, const pn_hard_state *h) {
  int other = 1 - i;
  if (h != NULL || !pn_id_is(&e->node, names[other])) return;
  if (e->kind == PN_OPS_TUNNEL_UP) tunnel_up[i]++;
  if (e->kind == PN_OPS_TUNNEL_DOWN) {
    tunnel_down[i]++;
    down_state[i] = e->tunnel_state;
  }
}

/* Standard base64 of 32 bytes (44 characters) into out, NUL-terminated. */
static void base64_32(const uint8_t in[32], char out[45]) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i, o = 0;
  for (i = 0; i < 30; i += 3) {
    uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    out[o++] = a[(v >> 6) & 63];
    out[o++] = a[v & 63];
  }
  {
    uint32_t v = ((uint32_t)in[30] << 16) | ((uint32_t)in[31] << 8);
    out[o++] = a[(v >> 18) & 63];
    out[o++] = a[(v >> 12) & 63];
    out[o++] = a[(v >> 6) & 63];
    out[o++] = '=';
  }
  out[o] = '\0';
}

static uint64_t unix_now(void) { return PN_TEST_UNIX_AT_ZERO + pn_sim_now / 1000000u; }

static pn_handshake_report report(const char *text) {
  pn_handshake_report r;
  memset(&r, 0xFF, sizeof r);
  CHECK_OK(pn_ops_record_latest_handshakes(pn_sim[1].ops, pn_sim_now, unix_now(), text, strlen(text), &r));
  return r;
}

static int reachable(int i) {
  pn_route r;
  memset(&r, 0, sizeof r);
  CHECK_OK(pn_ops_route(pn_sim[i].ops, names[1 - i], 2, &r));
  return r.reachable;
}

int main(void) {
  pn_ops_config cfg;
  pn_str sup;
  pn_handshake_report r;
  char key_s0[45], key_w0[45], stranger[45], text[512];
  uint8_t other[32];
  int i;

  memset(wg[0], 0x11, 32);
  memset(wg[1], 0x22, 32);
  memset(other, 0x33, 32);
  base64_32(wg[0], key_s0);
  base64_32(wg[1], key_w0);
  base64_32(other, stranger);
  sup.ptr = names[0];
  sup.len = 2;
  CHECK_OK(pn_ops_config_default(&cfg));
  pn_sim_on_event = on_event;
  for (i = 0; i < 2; i++)
    CHECK_OK(pn_sim_add_started(i, names[i], i == 0 ? PN_NODE_SUPERVISOR : PN_NODE_WORKER, wg[i], 1, &cfg, &sup, 1,
                        10 + (uint64_t)i));
  if (pn_sim[0].ops == NULL || pn_sim[1].ops == NULL) return pn_test_finish("test_ops_handshakes");

  /* Heartbeats bring the tunnel up on both sides. */
  pn_sim_run(SEC(15));
  CHECK(tunnel_up[0] == 1 && tunnel_up[1] == 1);
  CHECK(reachable(0) && reachable(1));

  /* w0's host reports: s0's handshake now (recorded), its own key and a
   * stranger's (unknown), a malformed line, and s0 again as "never". */
  snprintf(text, sizeof text, "%s\t%llu\n%s\t%llu\n%s\t5\nnot a handshake line\n%s\t0\n", key_s0,
           (unsigned long long)unix_now(), key_w0, (unsigned long long)unix_now(), stranger, key_s0);
  r = report(text);
  CHECK(r.recorded == 1 && r.unchanged == 0 && r.never == 1 && r.unknown_peers == 2 && r.malformed == 1);
  CHECK(r.changed == 0); /* already up */
  /* The same report again records nothing new. */
  r = report(text);
  CHECK(r.recorded == 0 && r.unchanged == 1 && r.never == 1 && r.unknown_peers == 2 && r.malformed == 1);

  /* No newer handshake for longer than WireGuard's 180 s: w0's tunnel goes
   * stale (at the tunnel check after 180 s) although heartbeats still flow;
   * s0's, with no reports, stays up. */
  pn_sim_run(SEC(175));
  CHECK(tunnel_down[1] == 0);
  for (i = 0; i < 15 && tunnel_down[1] == 0; i++) pn_sim_run(SEC(1));
  CHECK(tunnel_down[1] == 1 && down_state[1] == PN_TUNNEL_STALE);
  CHECK(!reachable(1));
  CHECK(tunnel_down[0] == 0 && reachable(0));

  /* A fresh handshake: up again, and the route back after the next recompute. */
  snprintf(text, sizeof text, "%s %llu\n", key_s0, (unsigned long long)unix_now());
  r = report(text);
  CHECK(r.recorded == 1 && r.changed == 1);
  pn_sim_run(SEC(10));
  CHECK(tunnel_up[1] == 2 && reachable(1));

  /* Errors: not UTF-8, NULL handle; the report is optional. */
  CHECK_CODE(pn_ops_record_latest_handshakes(pn_sim[1].ops, pn_sim_now, unix_now(), "\xff", 1, &r),
             PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_ops_record_latest_handshakes(NULL, pn_sim_now, unix_now(), "", 0, &r), PN_ERR_NULL_POINTER);
  CHECK_OK(pn_ops_record_latest_handshakes(pn_sim[1].ops, pn_sim_now, unix_now(), NULL, 0, NULL));
  /* A stopped node records nothing. */
  CHECK_OK(pn_ops_stop(pn_sim[1].ops, pn_sim_now));
  r = report(text);
  CHECK(r.recorded == 0 && r.unchanged == 0 && r.unknown_peers == 0 && r.malformed == 0);
  pn_sim_free();
  return pn_test_finish("test_ops_handshakes");
}
