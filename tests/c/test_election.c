/* pn_leader_election: three supervisors exchange election bytes in memory.
 * Reference semantics (Raft): at most one leader per term, every node follows
 * it, a vote is persisted (hard state) before any message leaves, a restored
 * node keeps its term and vote, and a buffer that is too small reports the
 * needed length without losing the message. */
/* The standalone manager handles: needs the library built with the `managers`
 * feature. */
#define PN_MANAGERS 1
#include "pn_test.h"

#define N 3
#define MAX_MSG 512

static const char *names[N] = {"sup-0", "sup-1", "sup-2"};
static pn_hard_state persisted[N];

/* Drains node i's outputs in the documented order and delivers its messages. */
static int pump(pn_leader_election **nodes, int i, uint64_t now, const int *up) {
  uint8_t buf[MAX_MSG];
  pn_hard_state hs;
  bool avail = false;
  int sent = 0;
  CHECK_OK(pn_leader_election_poll_hard_state(nodes[i], &hs, &avail));
  if (avail) persisted[i] = hs;
  for (;;) {
    size_t len = 0;
    bool broadcast = false;
    pn_node_id to;
    int j;
    CHECK_OK(pn_leader_election_poll_transmit(nodes[i], buf, sizeof buf, &len, &broadcast, &to, &avail));
    if (!avail) break;
    sent++;
    for (j = 0; j < N; j++) {
      if (j == i || !up[j]) continue;
      if (broadcast || pn_id_is(&to, names[j])) CHECK_OK(pn_leader_election_step(nodes[j], now, buf, len));
    }
  }
  return sent;
}

static pn_leader_election *make(int i, const pn_hard_state *restore, uint64_t now) {
  pn_leader_election_config config;
  pn_str voters[N];
  pn_leader_election *e = NULL;
  int j;
  for (j = 0; j < N; j++) {
    voters[j].ptr = names[j];
    voters[j].len = strlen(names[j]);
  }
  CHECK_OK(pn_leader_election_config_default(&config));
  config.seed = 1000u + (uint64_t)i;
  CHECK_OK(pn_leader_election_new(&config, names[i], strlen(names[i]), voters, N, restore, now, &e));
  return e;
}

/* Runs the cluster from `from` to `to` seconds in 10 ms steps; returns leaders seen at the end. */
static int run(pn_leader_election **nodes, const int *up, uint64_t from_ms, uint64_t to_ms, int *leader) {
  uint64_t t;
  int i, leaders = 0;
  for (t = from_ms; t <= to_ms; t += 10) {
    for (i = 0; i < N; i++) {
      if (!up[i]) continue;
      CHECK_OK(pn_leader_election_tick(nodes[i], t * 1000u));
      pump(nodes, i, t * 1000u, up);
    }
  }
  for (i = 0; i < N; i++) {
    pn_election_status s;
    if (!up[i]) continue;
    CHECK_OK(pn_leader_election_status(nodes[i], to_ms * 1000u, &s));
    if (s.role == PN_ROLE_LEADER) {
      leaders++;
      *leader = i;
    }
  }
  return leaders;
}

int main(void) {
  pn_leader_election *nodes[N];
  int up[N] = {1, 1, 1};
  int i, leader = -1, old_leader, leaders;
  uint64_t term;
  pn_election_status s;
  pn_election_stats stats;
  uint64_t timeout = 0;
  memset(persisted, 0, sizeof persisted);

  for (i = 0; i < N; i++) nodes[i] = make(i, NULL, 0);

  /* Nobody leads before the first timeout; the next tick is due in [E, 2E). */
  CHECK_OK(pn_leader_election_poll_timeout(nodes[0], &timeout));
  CHECK(timeout >= SEC(1) && timeout < SEC(2));

  leaders = run(nodes, up, 0, 5000, &leader);
  CHECK(leaders == 1);
  CHECK_OK(pn_leader_election_status(nodes[leader], SEC(5), &s));
  term = s.term;
  CHECK(term >= 1 && s.role == PN_ROLE_LEADER);
  for (i = 0; i < N; i++) {
    CHECK_OK(pn_leader_election_status(nodes[i], SEC(5), &s));
    CHECK(s.term == term);
    CHECK(s.has_leader && pn_id_is(&s.leader, names[leader]));
    /* The persisted hard state is the node's current one. */
    CHECK(persisted[i].term == term);
  }
  CHECK_OK(pn_leader_election_stats(nodes[leader], &stats));
  CHECK(stats.elections_won == 1);
  /* Campaigning on the leader is a no-op (as etcd and raft-rs). */
  CHECK_OK(pn_leader_election_campaign(nodes[leader], SEC(5)));

  /* The leader crashes: the other two elect a new leader in a higher term. */
  old_leader = leader;
  up[old_leader] = 0;
  leaders = run(nodes, up, 5010, 12000, &leader);
  CHECK(leaders == 1 && leader != old_leader);
  CHECK_OK(pn_leader_election_status(nodes[leader], SEC(12), &s));
  CHECK(s.term > term);
  term = s.term;

  /* The old leader restarts from its persisted hard state and rejoins as a follower. */
  pn_leader_election_free(nodes[old_leader]);
  nodes[old_leader] = make(old_leader, &persisted[old_leader], SEC(12));
  {
    pn_hard_state hs;
    CHECK_OK(pn_leader_election_hard_state(nodes[old_leader], &hs));
    CHECK(hs.term == persisted[old_leader].term && hs.has_vote == persisted[old_leader].has_vote);
  }
  up[old_leader] = 1;
  leaders = run(nodes, up, 12010, 15000, &i);
  CHECK(leaders == 1 && i == leader);
  CHECK_OK(pn_leader_election_status(nodes[old_leader], SEC(15), &s));
  CHECK(s.role == PN_ROLE_FOLLOWER && s.term == term && pn_id_is(&s.leader, names[leader]));

  /* A short buffer reports the needed length and keeps the message queued. */
  {
    uint8_t small[4], buf[MAX_MSG];
    size_t len = 0, len2 = 0;
    bool bc = false, avail = false;
    pn_node_id to;
    int f = (leader + 1) % N;
    pn_hard_state hs;
    CHECK_OK(pn_leader_election_step_down(nodes[leader], SEC(15)));
    CHECK_OK(pn_leader_election_campaign(nodes[f], SEC(15)));
    CHECK_OK(pn_leader_election_poll_hard_state(nodes[f], &hs, &avail));
    CHECK_CODE(pn_leader_election_poll_transmit(nodes[f], small, sizeof small, &len, &bc, &to, &avail),
               PN_ERR_BUFFER_TOO_SMALL);
    CHECK(len > sizeof small);
    CHECK_OK(pn_leader_election_poll_transmit(nodes[f], buf, sizeof buf, &len2, &bc, &to, &avail));
    CHECK(avail && len2 == len);
    /* Garbage and self-sent messages are refused without effect. */
    CHECK_CODE(pn_leader_election_step(nodes[f], SEC(15), buf, len2), PN_ERR_INVALID_ARGUMENT);
    CHECK_CODE(pn_leader_election_step(nodes[f], SEC(15), buf, 0), PN_ERR_DECODE_EMPTY);
  }

  /* Errors: NULL pointers, an id outside the voter set, bad timeouts. */
  {
    pn_leader_election_config config;
    pn_leader_election *e = NULL;
    pn_str voters[1];
    voters[0].ptr = "a";
    voters[0].len = 1;
    CHECK_OK(pn_leader_election_config_default(&config));
    CHECK_CODE(pn_leader_election_new(&config, "b", 1, voters, 1, NULL, 0, &e), PN_ERR_INVALID_ARGUMENT);
    config.heartbeat_interval_us = config.election_timeout_us;
    CHECK_CODE(pn_leader_election_new(&config, "a", 1, voters, 1, NULL, 0, &e), PN_ERR_INVALID_CONFIG);
    CHECK_CODE(pn_leader_election_new(NULL, "a", 1, voters, 1, NULL, 0, &e), PN_ERR_NULL_POINTER);
    CHECK_CODE(pn_leader_election_new(&config, "a", 1, NULL, 1, NULL, 0, &e), PN_ERR_NULL_POINTER);
    CHECK(e == NULL);
    CHECK_CODE(pn_leader_election_tick(NULL, 0), PN_ERR_NULL_POINTER);
    CHECK_CODE(pn_leader_election_status(nodes[0], 0, NULL), PN_ERR_NULL_POINTER);
  }

  for (i = 0; i < N; i++) pn_leader_election_free(nodes[i]);
  pn_leader_election_free(NULL);
  return pn_test_finish("test_election");
}
