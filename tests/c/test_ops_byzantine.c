/* The Byzantine election through pn_ops: equivocation evidence reaches C as
 * bytes that verify offline, and the equivocation policy set in pn_ops_config
 * changes what a node does.
 *
 * Four supervisors s0..s3 tolerate f = 1 (quorum 3), with check_quorum off so
 * an isolated leader keeps leading:
 *
 * 1. s3 is cut off; s0 (the shortest election timeout) wins term 1 with the
 *    votes of s1 and s2, so its leader certificate holds their aggregate.
 * 2. s0 is cut off and s1, s2, s3 restart without their persisted hard state
 *    (what a buggy or lying voter looks like): s1 campaigns in term 1 again.
 *    When it becomes a candidate, s3's replies to it are cut, so s1 holds the
 *    votes of s1 and s2 for itself in term 1 and does not win.
 * 3. s0's link to s1 comes back: s0's leader certificate for term 1 reaches
 *    s1, which holds votes of the same voters for itself in the same term:
 *    s1 marks s1 and s2 as equivocators. The certificate's signatures are
 *    half-aggregated (no full signature of theirs for s0), so s1 discloses
 *    their full votes for s1 on its heartbeat responses to s0; s0, which holds
 *    their votes for s0, reports an equivocation of s1 and of s2, each with
 *    evidence bytes that pn_equivocation_verify accepts from the authority's
 *    and the voter's public keys alone, naming term 1 and the candidates s0
 *    and s1.
 * 4. s0 goes down. With PN_EQUIVOCATION_IGNORE_FOR_TERM, s1 (the shortest
 *    timeout) wins term 2 with s2's grant; with PN_EQUIVOCATION_IGNORE_FOREVER
 *    it refuses s2's grants and cannot.
 *
 * Also: the default policy, and an unknown one refused by pn_ops_new. */
#include "pn_sim.h"

#define N 4
#define MS 1000u

static const char *names[N] = {"s0", "s1", "s2", "s3"};
static pn_str sups[N];

/* What the scenario observed. */
static uint64_t candidate_at = 0;
static int restarted = 0;
static int evidence_count = 0;
static int evidence_voter[N];
static int evidence_verified = 0;

static void on_event(int i, const pn_ops_event *e, const pn_hard_state *h) {
  if (h != NULL) {
    /* s1, restarted, votes for itself in term 1: it is a candidate. Cut s3's replies. */
    if (restarted && i == 1 && candidate_at == 0 && h->term == 1 && h->has_vote && pn_id_is(&h->voted_for, "s1")) {
      candidate_at = pn_sim_now;
      pn_sim_cut[3][1] = 1;
    }
    return;
  }
  if (e->kind != PN_OPS_EQUIVOCATION) return;
  {
    uint8_t authority_seed[32], authority[32], voter_seed[32], voter[32];
    uint8_t copy[PN_MAX_EQUIVOCATION_LEN];
    pn_equivocation_info info;
    char voter_name[PN_MAX_ID_LEN + 1];
    int v = pn_sim_index(&e->node);
    CHECK(i == 0);
    CHECK(e->term == 1);
    CHECK(v >= 0);
    CHECK(e->evidence != NULL && e->value > 0 && e->value <= PN_MAX_EQUIVOCATION_LEN);
    if (v < 0 || e->evidence == NULL || e->value > PN_MAX_EQUIVOCATION_LEN) return;
    memcpy(copy, e->evidence, (size_t)e->value);
    if (evidence_count < N) evidence_voter[evidence_count] = v;
    evidence_count++;
    /* Offline: the authority's public key and the voter's, nothing else. */
    memcpy(voter_name, e->node.bytes, e->node.len);
    voter_name[e->node.len] = '\0';
    pn_test_authority_seed(authority_seed);
    pn_test_seed(voter_name, voter_seed);
    CHECK_OK(pn_identity_public(authority_seed, authority));
    CHECK_OK(pn_identity_public(voter_seed, voter));
    CHECK_OK(pn_equivocation_verify(copy, (size_t)e->value, authority, voter, voter_name, e->node.len, &info));
    CHECK(pn_id_is(&info.voter, voter_name) && info.term == 1);
    CHECK(pn_id_is(&info.candidates[0], "s0") && pn_id_is(&info.candidates[1], "s1"));
    /* Another voter's key does not verify it; a changed byte does not either. */
    CHECK_CODE(pn_equivocation_verify(copy, (size_t)e->value, authority, authority, NULL, 0, NULL),
               PN_ERR_UNAUTHENTICATED);
    copy[e->value - 1] ^= 1;
    CHECK(pn_equivocation_verify(copy, (size_t)e->value, authority, voter, NULL, 0, NULL) != PN_OK);
    evidence_verified++;
  }
}

/* Node i's config: election timeout `timeout_us`, the policy, f = 1. */
static pn_ops_config config(uint64_t timeout_us, uint32_t policy) {
  pn_ops_config c;
  CHECK_OK(pn_ops_config_default(&c));
  c.byzantine_f = 1;
  c.election.check_quorum = false;
  c.election.election_timeout_us = timeout_us;
  c.election.equivocation = policy;
  c.heartbeat_interval_us = 200 * MS;
  c.membership_interval_us = 500 * MS;
  return c;
}

static void add(int i, uint64_t timeout_us, uint32_t policy, uint64_t epoch) {
  pn_ops_config c = config(timeout_us, policy);
  CHECK_OK(pn_sim_add_started(i, names[i], PN_NODE_SUPERVISOR, NULL, epoch, &c, sups, N, 100 + (uint64_t)i));
}

static pn_ops_status_report status(int i) {
  pn_ops_status_report st;
  memset(&st, 0, sizeof st);
  CHECK_OK(pn_ops_status(pn_sim[i].ops, pn_sim_now, &st));
  return st;
}

/* Runs the scenario with `policy`; whether s1 leads term 2 at the end. */
static int scenario(uint32_t policy) {
  pn_ops_status_report st;
  int i, s1_leads;
  memset(pn_sim_cut, 0, sizeof pn_sim_cut);
  pn_sim_now = SEC(1);
  candidate_at = 0;
  restarted = 0;
  evidence_count = evidence_verified = 0;
  pn_sim_on_event = on_event;

  /* 1. s0 wins term 1 with s1's and s2's votes. */
  pn_sim_isolate(3, 1);
  for (i = 0; i < N; i++) add(i, i == 0 ? SEC(1) : SEC(8), policy, 1);
  pn_sim_run(SEC(5));
  st = status(0);
  CHECK(st.is_leader && st.leader_term == 1);
  for (i = 1; i < 3; i++) {
    st = status(i);
    CHECK(st.has_leader && pn_id_is(&st.leader, "s0") && st.leader_term == 1);
  }

  /* 2. s0 cut off; s1, s2, s3 restart from nothing; s1 campaigns in term 1 again. */
  pn_sim_isolate(3, 0);
  pn_sim_isolate(0, 1);
  add(1, SEC(2), policy, 2);
  add(2, SEC(8), policy, 2);
  add(3, SEC(8), policy, 2);
  restarted = 1;
  for (i = 0; i < 800 && candidate_at == 0; i++) pn_sim_run(10 * MS);
  CHECK(candidate_at != 0);
  pn_sim_run(50 * MS);
  CHECK(!status(1).is_leader);
  CHECK(evidence_count == 0);

  /* 3. s0's certificate for term 1 reaches s1. */
  pn_sim_link(0, 1, 0);
  pn_sim_run(SEC(3));
  CHECK(evidence_count == 2 && evidence_verified == 2);
  CHECK(evidence_count >= 2 && evidence_voter[0] != evidence_voter[1]);
  for (i = 0; i < evidence_count && i < N; i++) CHECK(evidence_voter[i] == 1 || evidence_voter[i] == 2);
  st = status(1);
  CHECK(st.has_leader && pn_id_is(&st.leader, "s0") && st.leader_term == 1);

  /* 4. s0 goes down; s1 times out first and campaigns for term 2. */
  pn_sim_down(0);
  memset(pn_sim_cut, 0, sizeof pn_sim_cut);
  pn_sim_run(SEC(5));
  st = status(1);
  s1_leads = st.is_leader && st.leader_term == 2;
  pn_sim_free();
  return s1_leads;
}

int main(void) {
  pn_ops_config c;
  pn_ops *bad = NULL;
  int i;
  for (i = 0; i < N; i++) {
    sups[i].ptr = names[i];
    sups[i].len = strlen(names[i]);
  }
  CHECK_OK(pn_ops_config_default(&c));
  CHECK(c.election.equivocation == PN_EQUIVOCATION_IGNORE_FOR_TERM);
  /* An unknown policy is refused. */
  c = config(SEC(1), 3);
  pn_sim[0].name = names[0];
  CHECK_OK(pn_test_credentials(names[0], PN_NODE_SUPERVISOR, NULL, 1, pn_sim[0].cert, sizeof pn_sim[0].cert,
                               &pn_sim[0].creds));
  CHECK_CODE(pn_ops_new(&c, "s0", 2, PN_NODE_SUPERVISOR, sups, N, &pn_sim[0].creds, 1, NULL, &bad),
             PN_ERR_INVALID_CONFIG);
  CHECK(bad == NULL);

  CHECK(scenario(PN_EQUIVOCATION_IGNORE_FOR_TERM));
  CHECK(!scenario(PN_EQUIVOCATION_IGNORE_FOREVER));
  return pn_test_finish("test_ops_byzantine");
}
