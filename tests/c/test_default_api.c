/* The default API: what a node host gets from pouw_netops.h (pn_test.h adds
 * pouw_netops_operator.h to play the operator who issues certificates). The version, the message of a failed call, and the
 * read-only views of a running pn_ops node (routes, WireGuard rendering) of
 * two supervisors with certificates from the test authority. */
#include <stdio.h>

#include "pn_test.h"

static uint8_t certs[2][PN_MAX_CERTIFICATE_LEN];
static pn_credentials creds[2];

static pn_ops *node(const pn_ops_config *cfg, int k, const char *id, const pn_str *sups, size_t n) {
  pn_ops *ops = NULL;
  CHECK_OK(pn_test_credentials(id, PN_NODE_SUPERVISOR, NULL, 1, certs[k], sizeof certs[k], &creds[k]));
  CHECK_OK(pn_ops_new(cfg, id, strlen(id), PN_NODE_SUPERVISOR, sups, n, &creds[k], 1, NULL, &ops));
  return ops;
}

int main(void) {
  char version[32], msg[256];
  pn_ops_config cfg;
  pn_str sups[2];
  pn_ops *a = NULL, *b = NULL, *bad = NULL;
  pn_route routes[4], route;
  pn_wireguard_options wg;
  char conf[4096];
  uint8_t buf[PN_MAX_MESSAGE_LEN];
  size_t len = 0, written = 9, total = 9, n;
  pn_node_id to_id;
  bool avail = false;
  int i;
  uint64_t t;

  /* The version: the library's string matches the header's macros. */
  snprintf(version, sizeof version, "%d.%d.%d", PN_VERSION_MAJOR, PN_VERSION_MINOR, PN_VERSION_PATCH);
  CHECK(strcmp(pn_version(), version) == 0);

  /* The message of a failed call is the core error's text, naming the culprit. */
  CHECK_OK(pn_ops_config_default(&cfg));
  sups[0].ptr = "alpha";
  sups[0].len = 5;
  sups[1].ptr = "beta";
  sups[1].len = 4;
  CHECK_OK(pn_test_credentials("gamma", PN_NODE_SUPERVISOR, NULL, 1, certs[0], sizeof certs[0], &creds[0]));
  CHECK_CODE(pn_ops_new(&cfg, "gamma", 5, PN_NODE_SUPERVISOR, sups, 2, &creds[0], 1, NULL, &bad),
             PN_ERR_INVALID_ARGUMENT);
  CHECK(bad == NULL);
  n = pn_last_error_message(msg, sizeof msg);
  CHECK(strcmp(msg, "supervisor gamma is not in the supervisor list") == 0 && n == strlen(msg));
  /* Cut to fit, NUL-terminated, full length returned. */
  CHECK(pn_last_error_message(msg, 11) == n && strcmp(msg, "supervisor") == 0);
  /* Successful calls leave it; the binding's own refusals give the code's description. */
  CHECK_OK(pn_ops_config_default(&cfg));
  CHECK(pn_last_error_message(msg, sizeof msg) == n);
  CHECK_CODE(pn_ops_config_default(NULL), PN_ERR_NULL_POINTER);
  pn_last_error_message(msg, sizeof msg);
  CHECK(strcmp(msg, pn_result_str(PN_ERR_NULL_POINTER)) == 0);
  CHECK_CODE(pn_batch_parse((const uint8_t *)"PNHB\x09", 5, NULL), PN_ERR_NULL_POINTER);
  {
    pn_batch_header h;
    CHECK_CODE(pn_batch_parse((const uint8_t *)"PNHB\x09", 5, &h), PN_ERR_DECODE_VERSION);
    pn_last_error_message(msg, sizeof msg);
    CHECK(strstr(msg, "batch format version 9 unsupported") != NULL);
  }

  /* Two supervisors exchanging their first messages know each other's mesh node. */
  a = node(&cfg, 0, "alpha", sups, 2);
  b = node(&cfg, 1, "beta", sups, 2);
  if (a == NULL || b == NULL) return pn_test_finish("test_default_api");
  CHECK_OK(pn_ops_start(a, SEC(1)));
  CHECK_OK(pn_ops_start(b, SEC(1)));
  /* Ten virtual seconds: both tick every 100 ms and deliver what they send. */
  for (t = SEC(1); t <= SEC(11); t += SEC(1) / 10) {
    for (i = 0; i < 2; i++) {
      pn_ops *from = i == 0 ? a : b, *to = i == 0 ? b : a;
      pn_hard_state hs;
      CHECK_OK(pn_ops_tick(from, t));
      do CHECK_OK(pn_ops_poll_hard_state(from, &hs, &avail));
      while (avail);
      for (;;) {
        CHECK_OK(pn_ops_poll_transmit(from, buf, sizeof buf, &len, &to_id, &avail));
        if (!avail) break;
        /* Each datagram names its one recipient: the other node. */
        CHECK(pn_id_is(&to_id, i == 0 ? "beta" : "alpha"));
        CHECK_OK(pn_ops_handle_message(to, t, buf, len));
      }
    }
  }

  /* Routes of alpha's mesh: one other node, beta. */
  CHECK_OK(pn_ops_routes(a, 0, routes, 4, &written, &total));
  CHECK(written == 1 && total == 1 && pn_id_is(&routes[0].destination, "beta"));
  CHECK_OK(pn_ops_routes(a, 1, routes, 4, &written, NULL));
  CHECK(written == 0);
  CHECK_OK(pn_ops_route(a, "beta", 4, &route));
  CHECK(pn_id_is(&route.destination, "beta") && route.reachable == routes[0].reachable);
  CHECK(route.reachable && route.hops == 1 && pn_id_is(&route.next_hop, "beta") && route.cost_us < UINT64_MAX);
  CHECK_CODE(pn_ops_route(a, "nobody", 6, &route), PN_ERR_NOT_FOUND);
  CHECK_CODE(pn_ops_routes(NULL, 0, routes, 4, &written, NULL), PN_ERR_NULL_POINTER);

  /* alpha's WireGuard configuration: ask for the length, then render. */
  memset(&wg, 0, sizeof wg);
  wg.format = PN_WG_QUICK;
  wg.listen_port = 51820;
  CHECK_CODE(pn_ops_render_wireguard(a, &wg, NULL, 0, &len), PN_ERR_BUFFER_TOO_SMALL);
  CHECK(len > 0 && len < sizeof conf);
  n = len;
  CHECK_OK(pn_ops_render_wireguard(a, &wg, (uint8_t *)conf, sizeof conf - 1, &len));
  CHECK(len == n);
  conf[len < sizeof conf ? len : sizeof conf - 1] = '\0';
  CHECK(strstr(conf, "[Interface]") != NULL && strstr(conf, "ListenPort = 51820") != NULL);
  CHECK(strstr(conf, "Address") != NULL && strstr(conf, "[Peer]") != NULL);
  wg.format = 7;
  CHECK_CODE(pn_ops_render_wireguard(a, &wg, (uint8_t *)conf, sizeof conf, &len), PN_ERR_INVALID_ARGUMENT);
  /* A private key that is not the certificate's WireGuard key's is refused. */
  wg.format = PN_WG_QUICK;
  wg.has_private_key = true;
  memset(wg.private_key, 0x42, sizeof wg.private_key);
  CHECK_CODE(pn_ops_render_wireguard(a, &wg, (uint8_t *)conf, sizeof conf, &len), PN_ERR_INVALID_ARGUMENT);
  wg.has_private_key = false;

  /* Archived batches are checked before they are trusted. */
  {
    pn_batch_header hdr;
    CHECK_CODE(pn_batch_parse((const uint8_t *)"PNHB", 4, &hdr), PN_ERR_DECODE_TRUNCATED);
    pn_last_error_message(msg, sizeof msg);
    CHECK(strstr(msg, "header") != NULL);
  }

  pn_ops_free(a);
  pn_ops_free(b);
  return pn_test_finish("test_default_api");
}
