/* pn_mesh: addresses, tunnels and their health, routes, link-state adverts as
 * bytes, WireGuard rendering. Reference semantics: lowest free address after
 * the gateway, shortest paths worked out by hand (n0-n1 10 ms, n1-n2 10 ms,
 * n0-n2 50 ms: n2 is reached through n1 at 20 ms), WireGuard's failure count
 * taking a tunnel down, adverts applied once per sequence number. */
/* The standalone manager handles: needs the library built with the `managers`
 * feature. */
#define PN_MANAGERS 1
#include "pn_test.h"

#define NODES 4

static const char *names[NODES] = {"n0", "n1", "n2", "n3"};

static int ip4_is(const pn_ip_addr *a, int b0, int b1, int b2, int b3) {
  return !a->is_v6 && a->bytes[0] == b0 && a->bytes[1] == b1 && a->bytes[2] == b2 && a->bytes[3] == b3;
}

static pn_mesh *make(const char *local) {
  pn_mesh_config config;
  pn_mesh *m = NULL;
  CHECK_OK(pn_mesh_config_default(&config));
  CHECK_OK(pn_mesh_new(&config, local, strlen(local), &m));
  return m;
}

static void join_all(pn_mesh *m) {
  int i;
  for (i = 0; i < 3; i++) {
    uint8_t key[32];
    pn_ip_addr addr;
    pn_str caps[1];
    caps[0].ptr = "gpu";
    caps[0].len = 3;
    memset(key, i + 1, sizeof key);
    CHECK_OK(pn_mesh_join(m, 0, names[i], 2, key, "192.0.2.1:51820", 15, NULL, caps, (size_t)(i == 1), &addr));
    /* 10.0.0.1 is the gateway: nodes get .2, .3, .4 in join order. */
    CHECK(ip4_is(&addr, 10, 0, 0, 2 + i));
  }
}

static void tunnel_up(pn_mesh *m, const char *a, const char *b, uint64_t rtt_us) {
  pn_tunnel_state st = PN_TUNNEL_DOWN;
  uint64_t srtt = 0;
  CHECK_OK(pn_mesh_establish_tunnel(m, SEC(1), a, 2, b, 2, PN_TUNNEL_WIREGUARD, &st));
  CHECK(st == PN_TUNNEL_CONNECTING);
  CHECK_OK(pn_mesh_record_handshake(m, SEC(1), a, 2, b, 2, true, &st));
  CHECK(st == PN_TUNNEL_UP);
  CHECK_OK(pn_mesh_record_latency(m, SEC(1), a, 2, b, 2, rtt_us, &srtt));
  CHECK(srtt == rtt_us); /* the first sample is taken as is */
}

int main(void) {
  pn_mesh *m = make("n0"), *peer = make("n1");
  pn_ip_addr addr;
  pn_route route;
  pn_node_id hop;
  bool reachable = false, avail = false, applied = false;
  uint8_t key[32], msg[4096];
  size_t len = 0, needed = 0, ignored = 99;
  pn_tunnel_state st;

  join_all(m);
  join_all(peer);
  memset(key, 9, sizeof key);
  {
    pn_ip_addr want;
    memset(&want, 0, sizeof want);
    want.bytes[0] = 10;
    want.bytes[2] = 5;
    want.bytes[3] = 5;
    CHECK_OK(pn_mesh_join(m, 0, "n3", 2, key, "[2001:db8::1]:51820", 19, &want, NULL, 0, &addr));
    CHECK(ip4_is(&addr, 10, 0, 5, 5));
    /* A taken address, an address outside the CIDR, a bad endpoint, a second join. */
    CHECK_CODE(pn_mesh_join(m, 0, "n4", 2, key, "h:1", 3, &want, NULL, 0, &addr), PN_ERR_INVALID_STATE);
    want.bytes[0] = 11;
    CHECK_CODE(pn_mesh_join(m, 0, "n4", 2, key, "h:1", 3, &want, NULL, 0, &addr), PN_ERR_INVALID_ARGUMENT);
    CHECK_CODE(pn_mesh_join(m, 0, "n4", 2, key, "no-port", 7, NULL, NULL, 0, &addr), PN_ERR_INVALID_ARGUMENT);
    CHECK_CODE(pn_mesh_join(m, 0, "n3", 2, key, "h:1", 3, NULL, NULL, 0, &addr), PN_ERR_INVALID_STATE);
  }
  {
    pn_mesh_node_info info;
    CHECK_OK(pn_mesh_node(m, "n1", 2, &info));
    CHECK(ip4_is(&info.address, 10, 0, 0, 3) && info.public_key[0] == 2 && info.endpoint_port == 51820);
    CHECK(info.capability_count == 1);
  }

  tunnel_up(m, "n0", "n1", 10000);
  tunnel_up(m, "n1", "n2", 10000);
  tunnel_up(m, "n0", "n2", 50000);
  CHECK_OK(pn_mesh_recompute_routes(m, SEC(1)));
  CHECK_OK(pn_mesh_route(m, "n2", 2, &route));
  CHECK(route.reachable && pn_id_is(&route.next_hop, "n1") && route.cost_us == 20000 && route.hops == 2);
  CHECK_OK(pn_mesh_next_hop(m, "n1", 2, &hop, &reachable));
  CHECK(reachable && pn_id_is(&hop, "n1"));
  CHECK_OK(pn_mesh_next_hop(m, "n3", 2, &hop, &reachable));
  CHECK(!reachable && hop.len == 0);
  {
    pn_route all[8];
    size_t written = 0, total = 0;
    int changes = 0;
    pn_route_change c;
    CHECK_OK(pn_mesh_routes(m, 0, all, 8, &written, &total));
    CHECK(written == 3 && total == 3);
    /* Route changes: n1 and n2 became reachable through n1. */
    for (;;) {
      CHECK_OK(pn_mesh_poll_route_change(m, &c, &avail));
      if (!avail) break;
      changes++;
      CHECK(!c.had_next_hop && c.has_next_hop && pn_id_is(&c.new_next_hop, "n1"));
    }
    CHECK(changes == 2);
  }

  /* This node's advert, as bytes, applied once by a peer. */
  CHECK_CODE(pn_mesh_local_link_state(m, msg, 4, &needed), PN_ERR_BUFFER_TOO_SMALL);
  CHECK(needed > 4);
  CHECK_OK(pn_mesh_local_link_state(m, msg, sizeof msg, &len));
  {
    pn_message decoded;
    CHECK_OK(pn_wire_decode(msg, len, &decoded));
    CHECK(decoded.kind == PN_MESSAGE_OTHER && pn_id_is(&decoded.sender, "n0"));
  }
  CHECK_OK(pn_mesh_handle_link_state(peer, SEC(2), msg, len, &applied, &ignored));
  CHECK(applied && ignored == 0);
  CHECK_OK(pn_mesh_handle_link_state(peer, SEC(2), msg, len, &applied, &ignored));
  CHECK(!applied);
  CHECK_CODE(pn_mesh_handle_link_state(peer, SEC(2), msg, len - 1, &applied, &ignored), PN_ERR_DECODE_TRUNCATED);
  CHECK_OK(pn_mesh_recompute_routes(peer, SEC(2)));
  /* n1 knows n0's links now: it reaches n0 directly (10 ms). */
  CHECK_OK(pn_mesh_route(peer, "n0", 2, &route));
  CHECK(route.reachable && pn_id_is(&route.next_hop, "n0") && route.cost_us == 10000);

  /* WireGuard config: the needed length first, the buffer untouched. */
  {
    pn_wireguard_options o;
    char text[4096];
    memset(&o, 0, sizeof o);
    o.format = PN_WG_QUICK;
    o.persistent_keepalive = 25;
    memset(text, 'Z', sizeof text);
    CHECK_CODE(pn_mesh_render_wireguard(m, &o, (uint8_t *)text, 10, &needed), PN_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 10 && text[0] == 'Z' && text[9] == 'Z');
    CHECK_OK(pn_mesh_render_wireguard(m, &o, (uint8_t *)text, sizeof text - 1, &len));
    CHECK(len == needed);
    text[len] = '\0';
    CHECK(strstr(text, "[Interface]") != NULL && strstr(text, "[Peer]") != NULL);
    CHECK(strstr(text, "10.0.0.2") != NULL && strstr(text, "PersistentKeepalive = 25") != NULL);
    o.format = 7;
    CHECK_CODE(pn_mesh_render_wireguard(m, &o, (uint8_t *)text, sizeof text, &len), PN_ERR_INVALID_ARGUMENT);
  }

  /* Topology as DOT: the needed length first, then the graph. */
  {
    char text[4096];
    CHECK_CODE(pn_mesh_render_dot(m, (uint8_t *)text, 8, &needed), PN_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(pn_mesh_render_dot(m, (uint8_t *)text, sizeof text - 1, &len));
    CHECK(len == needed && len < sizeof text);
    text[len] = '\0';
    CHECK(strncmp(text, "graph mesh {\n", 13) == 0 && strstr(text, "\"n0\" -- \"n1\"") != NULL);
    CHECK_CODE(pn_mesh_render_dot(NULL, (uint8_t *)text, sizeof text, &len), PN_ERR_NULL_POINTER);
  }

  /* What `wg show wg0 latest-handshakes` printed: n1 (key 0x02...) 5 s ago, one bad line. */
  {
    char text[128];
    pn_handshake_report hr;
    pn_mesh *h = make("n0");
    int n;
    join_all(h);
    tunnel_up(h, "n0", "n1", 1000);
    n = snprintf(text, sizeof text, "%s\t995\ngarbage\n", "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=");
    CHECK(n > 0);
    CHECK_OK(pn_mesh_record_latest_handshakes(h, SEC(30), 1000, text, (size_t)n, &hr));
    CHECK(hr.recorded == 1 && hr.malformed == 1 && hr.unknown_peers == 0 && hr.never == 0);
    CHECK_OK(pn_mesh_record_latest_handshakes(h, SEC(31), 1001, text, (size_t)n, &hr));
    CHECK(hr.recorded == 0 && hr.unchanged == 1);
    CHECK_CODE(pn_mesh_record_latest_handshakes(h, SEC(31), 1001, "\xff", 1, &hr), PN_ERR_INVALID_ARGUMENT);
    pn_mesh_free(h);
  }

  /* Three failed handshakes take n0-n2 down; the monitor asks to re-establish it. */
  CHECK_OK(pn_mesh_record_handshake(m, SEC(3), "n0", 2, "n2", 2, false, &st));
  CHECK_OK(pn_mesh_record_handshake(m, SEC(3), "n0", 2, "n2", 2, false, &st));
  CHECK(st != PN_TUNNEL_DOWN);
  CHECK_OK(pn_mesh_record_handshake(m, SEC(3), "n0", 2, "n2", 2, false, &st));
  CHECK(st == PN_TUNNEL_DOWN);
  {
    pn_tunnel_health_report r;
    pn_reestablish_request req;
    pn_tunnel_info t;
    CHECK_OK(pn_mesh_monitor_tunnel_health(m, SEC(4), &r));
    CHECK(r.tunnels == 3 && r.up == 2 && r.down == 1);
    CHECK_OK(pn_mesh_poll_reestablish(m, &req, &avail));
    CHECK(avail && pn_id_is(&req.a, "n0") && pn_id_is(&req.b, "n2") && req.attempt == 1);
    CHECK(req.protocol == PN_TUNNEL_WIREGUARD);
    CHECK_OK(pn_mesh_tunnel(m, "n2", 2, "n0", 2, &t));
    CHECK(t.state == PN_TUNNEL_DOWN && t.has_latency && t.latency_us == 50000 && pn_id_is(&t.a, "n0"));
  }
  {
    uint64_t bw = 1;
    CHECK_OK(pn_mesh_record_traffic(m, SEC(5), "n0", 2, "n1", 2, 1000, 1000, &bw));
    CHECK_OK(pn_mesh_record_traffic(m, SEC(6), "n0", 2, "n1", 2, 3000, 2000, &bw));
    CHECK(bw == 3000); /* 3000 bytes in one second */
  }
  CHECK_OK(pn_mesh_record_link(m, SEC(6), "n2", 2, "n3", 2, 5000, true));

  CHECK_OK(pn_mesh_leave(m, SEC(7), "n3", 2, &addr));
  CHECK(ip4_is(&addr, 10, 0, 5, 5));
  {
    pn_topology_report r;
    CHECK_OK(pn_mesh_topology_report(m, &r));
    CHECK(r.nodes == 3 && r.tunnels == 3 && r.tunnels_up == 2 && r.reachable == 2 && r.connectivity_ratio == 1.0);
  }

  /* Errors. */
  CHECK_CODE(pn_mesh_establish_tunnel(m, 0, "n0", 2, "n0", 2, PN_TUNNEL_WIREGUARD, NULL), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_mesh_establish_tunnel(m, 0, "n0", 2, "zz", 2, PN_TUNNEL_WIREGUARD, NULL), PN_ERR_NOT_FOUND);
  CHECK_CODE(pn_mesh_establish_tunnel(m, 0, "n0", 2, "n1", 2, 7, NULL), PN_ERR_INVALID_ARGUMENT);
  CHECK_CODE(pn_mesh_remove_tunnel(m, 0, "n1", 2, "n3", 2), PN_ERR_NOT_FOUND);
  CHECK_CODE(pn_mesh_leave(m, 0, "n3", 2, NULL), PN_ERR_NOT_FOUND);
  CHECK_CODE(pn_mesh_route(NULL, "n1", 2, &route), PN_ERR_NULL_POINTER);
  {
    pn_mesh_config config;
    pn_mesh *bad = NULL;
    CHECK_OK(pn_mesh_config_default(&config));
    config.cidr_prefix = 40;
    CHECK_CODE(pn_mesh_new(&config, "x", 1, &bad), PN_ERR_INVALID_CONFIG);
    CHECK_OK(pn_mesh_config_default(&config));
    config.reserved_count = PN_MESH_MAX_RESERVED + 1;
    CHECK_CODE(pn_mesh_new(&config, "x", 1, &bad), PN_ERR_INVALID_CONFIG);
    CHECK(bad == NULL);
    /* Before the local node joins there is no advert to send. */
    CHECK_OK(pn_mesh_config_default(&config));
    CHECK_OK(pn_mesh_new(&config, "x", 1, &bad));
    CHECK_CODE(pn_mesh_local_link_state(bad, msg, sizeof msg, &len), PN_ERR_INVALID_STATE);
    pn_mesh_free(bad);
  }

  pn_mesh_free(m);
  pn_mesh_free(peer);
  pn_mesh_free(NULL);
  return pn_test_finish("test_mesh");
}
