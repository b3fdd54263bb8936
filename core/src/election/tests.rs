//! Scenario tests re-created from the etcd-io/raft and tikv/raft-rs election suites
//! (in our own code, without logs), plus unit and property tests.

use super::*;
use crate::preset::small;
use proptest::prelude::*;
use std::collections::{BTreeSet, VecDeque};
use std::format;
use std::vec::Vec;

type M = small::LeaderElectionManager;

const E: Duration = Duration::from_secs(1);

use crate::test_support::id;

fn ids(n: usize) -> Vec<NodeId> {
    (0..n).map(|i| id(&format!("n{i}"))).collect()
}

fn cfg(pre_vote: bool, check_quorum: bool) -> ElectionConfig {
    ElectionConfig { pre_vote, check_quorum, ..ElectionConfig::default() }
}

/// An etcd-style test network: instantaneous FIFO delivery, every message
/// encoded and decoded, links that can be cut, nodes that can be down.
struct Net {
    nodes: Vec<M>,
    ids: Vec<NodeId>,
    now: Instant,
    cut: BTreeSet<(usize, usize)>,
    down: BTreeSet<usize>,
    /// `(term, leader)` for every leader ever seen: never two per term.
    leaders: std::collections::BTreeMap<u64, usize>,
    /// Byzantine mode: the signed grants each candidate holds, by
    /// `(leader certificate?, term, candidate)`; a certificate is a quorum of
    /// them, attached to the candidate's vote requests and heartbeats.
    certs: Option<std::collections::BTreeMap<(bool, u64, usize), BTreeSet<usize>>>,
}

impl Net {
    pub(super) fn new(n: usize, config: ElectionConfig) -> Net {
        let ids = ids(n);
        let nodes = (0..n)
            .map(|i| {
                M::new(ElectionConfig { seed: i as u64 + 1, ..config }, ids[i].clone(), &ids, Instant::ZERO).unwrap()
            })
            .collect();
        Net {
            nodes,
            ids,
            now: Instant::ZERO,
            cut: BTreeSet::new(),
            down: BTreeSet::new(),
            leaders: Default::default(),
            certs: config.fault_model.is_byzantine().then(Default::default),
        }
    }

    /// What certificate `from` attaches to `body` (Byzantine mode), and
    /// records a (pre-)candidate's own grant.
    fn attach(&mut self, from: usize, body: &Body) -> Option<TermProof> {
        let q = self.nodes[from].quorum();
        let certs = self.certs.as_mut()?;
        let (leader, term) = match body {
            Body::PreVote(r) => {
                certs.entry((false, r.term, from)).or_default().insert(from);
                return None;
            }
            Body::RequestVote(r) => {
                certs.entry((true, r.term, from)).or_default().insert(from);
                (false, r.term)
            }
            Body::LeaderHeartbeat(h) => (true, h.term),
            _ => return None,
        };
        let held = certs.get(&(leader, term, from)).is_some_and(|s| s.len() >= q);
        let kind = if leader { ProofKind::Leader } else { ProofKind::PreVote };
        held.then(|| TermProof { kind, term, candidate: self.ids[from].clone() })
    }

    /// Byzantine mode: a grant delivered to its candidate is a signed vote it holds.
    fn collect(&mut self, from: usize, to: usize, body: &Body) {
        let Some(certs) = self.certs.as_mut() else { return };
        match body {
            Body::PreVoteResponse(r) if r.granted => certs.entry((false, r.term, to)).or_default().insert(from),
            Body::VoteResponse(r) if r.granted => certs.entry((true, r.term, to)).or_default().insert(from),
            _ => false,
        };
    }

    fn index(&self, id: &NodeId) -> usize {
        self.ids.iter().position(|x| x == id).unwrap()
    }

    fn isolate(&mut self, i: usize) {
        for j in 0..self.nodes.len() {
            if j != i {
                self.cut.insert((i, j));
                self.cut.insert((j, i));
            }
        }
    }

    fn cut(&mut self, a: usize, b: usize) {
        self.cut.insert((a, b));
        self.cut.insert((b, a));
    }

    fn recover(&mut self) {
        self.cut.clear();
    }

    fn check_safety(&mut self) {
        for (i, n) in self.nodes.iter().enumerate() {
            if n.is_leader() {
                let prev = *self.leaders.entry(n.term()).or_insert(i);
                assert_eq!(prev, i, "two leaders in term {}", n.term());
            }
        }
    }

    /// Delivers every message (and every answer) until the network is quiet.
    fn deliver(&mut self) {
        let mut queue: VecDeque<(usize, usize, Vec<u8>, Option<TermProof>)> = VecDeque::new();
        loop {
            for i in 0..self.nodes.len() {
                // Persist first: transmits are held back until the hard state is drained.
                while self.nodes[i].poll_hard_state().is_some() {}
                while let Some(t) = self.nodes[i].poll_transmit() {
                    let bytes = t.envelope.to_vec().unwrap();
                    let proof = self.attach(i, &t.envelope.body);
                    let targets: Vec<usize> = match &t.to {
                        Some(to) => std::vec![self.index(to)],
                        None => (0..self.nodes.len()).filter(|&j| j != i).collect(),
                    };
                    for j in targets {
                        queue.push_back((i, j, bytes.clone(), proof.clone()));
                    }
                }
            }
            self.check_safety();
            let Some((from, to, bytes, proof)) = queue.pop_front() else { break };
            if self.cut.contains(&(from, to)) || self.down.contains(&to) || self.down.contains(&from) {
                continue;
            }
            let env = Envelope::decode(&bytes).unwrap();
            self.collect(from, to, &env.body);
            self.nodes[to].step_with_proof(self.now, &env, proof.as_ref()).unwrap();
        }
    }

    fn campaign(&mut self, i: usize) {
        self.nodes[i].campaign(self.now).unwrap();
        self.deliver();
    }

    /// Advances time by `d` in 10 ms steps, ticking every live node.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now += Duration::from_millis(10);
            for i in 0..self.nodes.len() {
                if !self.down.contains(&i) {
                    self.nodes[i].tick(self.now);
                }
            }
            self.deliver();
        }
    }

    fn leader(&self) -> Option<usize> {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].is_leader()).max_by_key(|&i| self.nodes[i].term())
    }
}

#[test]
fn single_voter_elects_itself_at_once() {
    for pre_vote in [true, false] {
        let me = id("solo");
        let mut m = M::new(cfg(pre_vote, true), me.clone(), core::slice::from_ref(&me), Instant::ZERO).unwrap();
        assert_eq!(m.poll_timeout(), Instant::ZERO);
        m.tick(Instant::ZERO);
        assert_eq!(m.role(), Role::Leader);
        assert_eq!(m.term(), 1);
        assert_eq!(m.leader(), Some(&me));
        assert_eq!(m.poll_hard_state(), Some(HardState { term: 1, voted_for: Some(me) }));
        assert_eq!(m.poll_transmit(), None, "nobody to send to");
        // Its own quorum keeps it leader.
        m.tick(Instant::from_secs(10));
        assert!(m.is_leader());
    }
}

#[test]
fn granting_a_vote_resets_the_election_timer() {
    let ids = ids(3);
    let mut m = M::new(cfg(false, false), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    m.set_randomized_timeout(Duration::from_millis(1000));
    assert_eq!(m.request_vote(Instant::from_millis(900), &ids[1], 1), Ok(true));
    assert!(m.poll_timeout() >= Instant::from_millis(1900), "the timer restarted at the grant");
    assert!(!m.check_election_timeout(Instant::from_millis(1500)));
    // A refused vote does not reset it.
    let before = m.poll_timeout();
    assert_eq!(m.request_vote(Instant::from_millis(1600), &ids[2], 1), Ok(false));
    assert_eq!(m.poll_timeout(), before);
}

#[test]
fn time_going_backwards_is_clamped() {
    let ids = ids(3);
    let mut m = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    assert_eq!(m.receive_heartbeat(Instant::from_secs(10), &ids[1], 1), Ok(true));
    // A heartbeat stamped in the past counts as "now" (10 s), not as 5 s.
    assert_eq!(m.receive_heartbeat(Instant::from_secs(5), &ids[1], 1), Ok(true));
    assert!(m.poll_timeout() >= Instant::from_secs(11));
    m.tick(Instant::from_secs(1));
    assert_eq!(m.role(), Role::Follower);
}

#[test]
fn height_check_semantics() {
    assert!(height_at_least(Some(5), Some(5)));
    assert!(height_at_least(Some(6), Some(5)));
    assert!(!height_at_least(Some(4), Some(5)));
    assert!(!height_at_least(None, Some(5)));
    assert!(height_at_least(None, None));
    assert!(height_at_least(Some(0), None));
    assert!(always_up_to_date(None, Some(u64::MAX)));
}

/// etcd's TestLeaderElection / TestLeaderElectionPreVote: `down` voters never answer.
#[test]
fn elections_with_unreachable_voters() {
    struct Case {
        n: usize,
        down: &'static [usize],
        wins: bool,
    }
    let cases = [
        Case { n: 3, down: &[], wins: true },
        Case { n: 3, down: &[2], wins: true },
        Case { n: 3, down: &[1, 2], wins: false },
        Case { n: 5, down: &[3, 4], wins: true },
        Case { n: 5, down: &[2, 3, 4], wins: false },
        Case { n: 5, down: &[1, 2, 3, 4], wins: false },
    ];
    for pre_vote in [false, true] {
        for c in &cases {
            let mut net = Net::new(c.n, cfg(pre_vote, false));
            net.down = c.down.iter().copied().collect();
            net.campaign(0);
            let n0 = &net.nodes[0];
            if c.wins {
                assert_eq!(n0.role(), Role::Leader, "n={} down={:?} pre_vote={pre_vote}", c.n, c.down);
                assert_eq!(n0.term(), 1);
                for i in (1..c.n).filter(|i| !c.down.contains(i)) {
                    assert_eq!(net.nodes[i].leader(), Some(&net.ids[0]), "heartbeat sent at once");
                }
            } else if pre_vote {
                // A failed pre-vote changes no term anywhere.
                assert_eq!(n0.role(), Role::PreCandidate);
                assert_eq!(n0.term(), 0);
            } else {
                assert_eq!(n0.role(), Role::Candidate);
                assert_eq!(n0.term(), 1);
            }
        }
    }
}

/// Three nodes of `config` with the up-to-date check on heights: n0 and n1
/// at height 5, n2 behind at 1.
fn behind_third(config: ElectionConfig) -> Net {
    let mut net = Net::new(3, ElectionConfig { up_to_date: height_at_least, ..config });
    net.nodes[0].set_progress(Some(5));
    net.nodes[1].set_progress(Some(5));
    net.nodes[2].set_progress(Some(1));
    net
}

/// etcd's TestDuelingCandidates with the up-to-date check standing in for the log.
#[test]
fn dueling_candidates() {
    let mut net = behind_third(cfg(false, false));
    net.cut(0, 2);
    net.campaign(0);
    net.campaign(2);
    assert_eq!(net.nodes[0].role(), Role::Leader);
    // n1 already voted for n0 in term 1: n2 is stuck as a candidate.
    assert_eq!(net.nodes[2].role(), Role::Candidate);
    assert_eq!(net.nodes[2].term(), 1);
    net.recover();
    // n2 campaigns in term 2: everybody moves to term 2 but nobody votes for a node behind them.
    net.campaign(2);
    for (i, n) in net.nodes.iter().enumerate() {
        assert_eq!(n.term(), 2, "n{i}");
        assert_eq!(n.role(), Role::Follower, "n{i}");
    }
    assert_eq!(net.nodes[2].stats().elections_lost, 1);
}

/// etcd's TestDuelingPreCandidates: with PreVote the stuck node does not disturb the leader.
#[test]
fn dueling_pre_candidates() {
    let mut net = Net::new(3, cfg(true, false));
    net.cut(0, 2);
    net.campaign(0);
    net.campaign(2);
    assert_eq!(net.nodes[0].role(), Role::Leader);
    assert_eq!(net.nodes[2].role(), Role::Follower, "n1 already voted for n0 in term 1 and refused");
    assert_eq!(net.nodes[2].term(), 1, "it learnt term 1 from n1's refusal");
    net.recover();
    net.campaign(2);
    assert_eq!(net.nodes[0].role(), Role::Leader);
    assert_eq!(net.nodes[0].term(), 1);
}

/// etcd's TestCandidateConcede.
#[test]
fn candidate_concedes_to_leader_heartbeat() {
    let mut net = Net::new(3, cfg(false, false));
    net.isolate(0);
    net.campaign(0);
    net.campaign(2);
    assert_eq!(net.nodes[0].role(), Role::Candidate);
    assert_eq!(net.nodes[2].role(), Role::Leader);
    net.recover();
    net.advance(Duration::from_millis(100));
    assert_eq!(net.nodes[0].role(), Role::Follower);
    assert_eq!(net.nodes[0].leader(), Some(&net.ids[2]));
    assert_eq!(net.nodes[0].term(), 1);
}

/// etcd's TestVoteFromAnyState (and the pre-vote variant).
#[test]
fn vote_from_any_state() {
    for pre in [false, true] {
        for role in [Role::Follower, Role::PreCandidate, Role::Candidate, Role::Leader] {
            let mut net = Net::new(3, cfg(false, false));
            // Put n0 in `role` at term 1.
            match role {
                Role::Follower => {
                    net.nodes[0]
                        .step(
                            Instant::ZERO,
                            &Envelope::new(net.ids[2].clone(), Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 })),
                        )
                        .unwrap();
                }
                Role::PreCandidate => {
                    net.nodes[0].state.term = 1;
                    net.nodes[0].hup(Instant::ZERO, true);
                }
                Role::Candidate => net.nodes[0].hup(Instant::ZERO, false),
                Role::Leader => {
                    net.nodes[0].hup(Instant::ZERO, false);
                    net.nodes[0].receive_vote_response(Instant::ZERO, &net.ids[1], true).unwrap();
                }
            }
            assert_eq!(net.nodes[0].role(), role);
            assert_eq!(net.nodes[0].term(), 1);
            let body = if pre {
                Body::PreVote(VoteRequest { term: 2, progress: None })
            } else {
                Body::RequestVote(VoteRequest { term: 2, progress: None })
            };
            let _ = net.nodes[0].poll_hard_state();
            while net.nodes[0].poll_transmit().is_some() {}
            net.nodes[0].step(Instant::ZERO, &Envelope::new(net.ids[1].clone(), body)).unwrap();
            let _ = net.nodes[0].poll_hard_state();
            let reply = net.nodes[0].poll_transmit().unwrap();
            assert_eq!(reply.to.as_ref(), Some(&net.ids[1]));
            let n0 = &net.nodes[0];
            if pre {
                assert_eq!(reply.envelope.body, Body::PreVoteResponse(VoteResponse { term: 2, granted: true }));
                assert_eq!(n0.role(), role, "a pre-vote changes no state");
                assert_eq!(n0.term(), 1);
            } else {
                assert_eq!(reply.envelope.body, Body::VoteResponse(VoteResponse { term: 2, granted: true }));
                assert_eq!(n0.role(), Role::Follower);
                assert_eq!(n0.term(), 2);
                assert_eq!(n0.voted_for(), Some(&net.ids[1]));
            }
        }
    }
}

/// etcd's TestLeaderStepdownWhenQuorumLost / TestLeaderStepdownWhenQuorumActive.
#[test]
fn check_quorum_steps_down_only_when_quorum_is_lost() {
    let mut net = Net::new(3, cfg(false, true));
    net.campaign(0);
    assert!(net.nodes[0].is_leader());
    net.advance(E.saturating_mul(3));
    assert!(net.nodes[0].is_leader(), "quorum active: stays leader");
    assert_eq!(net.nodes[0].stats().step_downs, 0);
    net.isolate(0);
    // Within 2E of losing contact, the quorum check fires with nobody active.
    let lost_at = net.now;
    while net.nodes[0].is_leader() {
        net.advance(Duration::from_millis(10));
        assert!(net.now - lost_at <= E.saturating_mul(2), "never stepped down");
    }
    assert_eq!(net.nodes[0].role(), Role::Follower);
    assert_eq!(net.nodes[0].term(), 1);
    assert_eq!(net.nodes[0].stats().step_downs, 1);
}

#[test]
fn without_check_quorum_an_isolated_leader_stays() {
    let mut net = Net::new(3, cfg(false, false));
    net.campaign(0);
    net.isolate(0);
    net.advance(E.saturating_mul(5));
    assert!(net.nodes[0].is_leader());
}

/// etcd's TestFreeStuckCandidateWithCheckQuorum.
#[test]
fn stuck_candidate_freed_by_check_quorum() {
    let mut net = Net::new(3, cfg(false, true));
    net.campaign(0);
    assert!(net.nodes[0].is_leader());
    net.isolate(2);
    // n2 campaigns twice; n1 is in lease (it hears from n0) and ignores it anyway.
    net.campaign(2);
    net.campaign(2);
    assert_eq!(net.nodes[2].role(), Role::Candidate);
    assert_eq!(net.nodes[2].term(), 3);
    assert_eq!(net.nodes[1].term(), 1);
    net.recover();
    // n0's next heartbeat reaches n2, whose answer carries term 3: the stale leader steps down.
    net.advance(Duration::from_millis(100));
    assert_eq!(net.nodes[0].role(), Role::Follower);
    assert_eq!(net.nodes[0].term(), 3);
    // Then a new election at a term above 3 resolves it.
    net.advance(E.saturating_mul(4));
    let l = net.leader().expect("a leader again");
    assert!(net.nodes[l].term() > 3);
}

/// etcd's TestDisruptiveFollower / TestDisruptiveFollowerPreVote.
#[test]
fn partitioned_follower_rejoining() {
    for pre_vote in [true, false] {
        let mut net = Net::new(3, cfg(pre_vote, true));
        net.campaign(0);
        assert!(net.nodes[0].is_leader());
        net.isolate(2);
        net.advance(E.saturating_mul(6));
        if pre_vote {
            assert_eq!(net.nodes[2].term(), 1, "pre-votes never raise the term");
            assert!(net.nodes[2].stats().pre_votes_started >= 2);
        } else {
            assert!(net.nodes[2].term() >= 3, "it kept raising its term");
        }
        net.recover();
        net.advance(Duration::from_millis(300));
        if pre_vote {
            assert!(net.nodes[0].is_leader(), "the rejoining follower must not depose the leader");
            assert_eq!(net.nodes[0].term(), 1);
            assert_eq!(net.nodes[2].leader(), Some(&net.ids[0]));
        } else {
            assert!(!net.nodes[0].is_leader() || net.nodes[0].term() > 1, "without PreVote the leader is deposed");
        }
    }
}

/// Split votes: two nodes campaign at the same moment; randomized timeouts resolve it.
#[test]
fn split_votes_resolve() {
    let mut net = Net::new(4, cfg(false, false));
    // n2 only hears n0, n3 only hears n1: two votes each, three needed.
    net.cut(0, 3);
    net.cut(1, 2);
    net.nodes[0].hup(Instant::ZERO, false);
    net.nodes[1].hup(Instant::ZERO, false);
    net.deliver();
    assert_eq!(net.nodes[0].role(), Role::Candidate);
    assert_eq!(net.nodes[1].role(), Role::Candidate);
    assert_eq!(net.nodes[0].status(net.now).vote_count, 2);
    assert_eq!(net.leader(), None);
    // n0's timer fires first: its election timed out undecided, a split vote.
    for (i, ms) in [(0, 1000), (1, 1900), (2, 1990), (3, 1990)] {
        net.nodes[i].set_randomized_timeout(Duration::from_millis(ms));
    }
    net.recover();
    net.advance(E.saturating_mul(10));
    let l = net.leader().expect("resolved");
    assert_eq!(net.nodes[0].stats().split_votes, 1);
    for n in &net.nodes {
        assert_eq!(n.leader(), Some(&net.ids[l]));
        assert_eq!(n.term(), net.nodes[l].term());
    }
}

#[test]
fn persisted_vote_survives_restart() {
    let ids = ids(3);
    let mut m = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    assert_eq!(m.request_vote(Instant::from_secs(5), &ids[1], 4), Ok(true));
    let saved = m.hard_state();
    assert_eq!(saved, HardState { term: 4, voted_for: Some(ids[1].clone()) });
    drop(m);
    let mut m = M::restore(ElectionConfig::default(), ids[0].clone(), &ids, saved, Instant::from_secs(6)).unwrap();
    assert_eq!(m.term(), 4);
    assert_eq!(m.request_vote(Instant::from_secs(6), &ids[2], 4), Ok(false), "never two votes in one term");
    assert_eq!(m.request_vote(Instant::from_secs(6), &ids[1], 4), Ok(true), "the same candidate again is fine");
    assert_eq!(m.request_vote(Instant::from_secs(6), &ids[2], 5), Ok(true), "a new term frees the vote");
}

#[test]
fn transmits_wait_for_hard_state() {
    let ids = ids(3);
    let mut m = M::new(cfg(false, false), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    m.step(Instant::ZERO, &Envelope::new(ids[1].clone(), Body::RequestVote(VoteRequest { term: 1, progress: None })))
        .unwrap();
    assert_eq!(m.pending_transmits(), 1);
    assert_eq!(m.poll_transmit(), None, "the vote must be persisted first");
    assert_eq!(m.peek_transmit(), None, "peeking obeys the same rule");
    assert_eq!(m.poll_hard_state(), Some(HardState { term: 1, voted_for: Some(ids[1].clone()) }));
    assert_eq!(m.poll_hard_state(), None);
    let peeked = m.peek_transmit().unwrap();
    assert_eq!(m.peek_transmit().as_ref(), Some(&peeked), "peeking takes nothing");
    assert_eq!(m.pending_transmits(), 1);
    let t = m.poll_transmit().unwrap();
    assert_eq!(t, peeked, "the peeked message is the one polled");
    assert_eq!(m.peek_transmit(), None);
    assert_eq!(t.to, Some(ids[1].clone()));
    assert_eq!(t.envelope.body, Body::VoteResponse(VoteResponse { term: 1, granted: true }));
}

#[test]
fn randomized_timeout_is_uniform_in_e_to_2e_and_redrawn() {
    let ids = ids(3);
    let mut m = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    let mut buckets = [0u32; 10];
    let mut seen = BTreeSet::new();
    for k in 0..2000u64 {
        // Every heartbeat resets the timer and re-draws the timeout.
        m.step(
            Instant::from_millis(k),
            &Envelope::new(ids[1].clone(), Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 })),
        )
        .unwrap();
        let t = m.randomized_timeout();
        assert!(t >= E && t < E.saturating_mul(2), "{t}");
        assert_eq!(m.poll_timeout(), Instant::from_millis(k) + t);
        buckets[((t - E).total_micros() / 100_000) as usize] += 1;
        seen.insert(t);
    }
    assert!(seen.len() > 1900, "re-drawn on every reset");
    for b in buckets {
        assert!((140..=260).contains(&b), "not uniform: {buckets:?}");
    }
    m.set_randomized_timeout(Duration::from_millis(1234));
    assert_eq!(m.randomized_timeout(), Duration::from_millis(1234));
    // Same seed, same draws; another seed, other draws.
    let a =
        M::new(ElectionConfig { seed: 9, ..ElectionConfig::default() }, ids[0].clone(), &ids, Instant::ZERO).unwrap();
    let b =
        M::new(ElectionConfig { seed: 9, ..ElectionConfig::default() }, ids[0].clone(), &ids, Instant::ZERO).unwrap();
    let c =
        M::new(ElectionConfig { seed: 10, ..ElectionConfig::default() }, ids[0].clone(), &ids, Instant::ZERO).unwrap();
    assert_eq!(a.randomized_timeout(), b.randomized_timeout());
    assert_ne!(a.randomized_timeout(), c.randomized_timeout());
}

#[test]
fn follower_campaigns_after_its_timeout_not_before() {
    let ids = ids(3);
    let mut m = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::from_secs(10)).unwrap();
    m.set_randomized_timeout(Duration::from_millis(1500));
    assert_eq!(m.poll_timeout(), Instant::from_millis(11_500));
    assert!(!m.check_election_timeout(Instant::from_millis(11_499)));
    assert_eq!(m.role(), Role::Follower);
    assert!(m.check_election_timeout(Instant::from_millis(11_500)));
    assert_eq!(m.role(), Role::PreCandidate);
    assert_eq!(m.term(), 0);
    let t = m.poll_transmit().unwrap();
    assert_eq!((t.to, t.envelope.body), (None, Body::PreVote(VoteRequest { term: 1, progress: None })));
}

#[test]
fn config_is_validated() {
    let ids = ids(3);
    let bad = ElectionConfig { election_timeout: Duration::from_millis(100), ..ElectionConfig::default() };
    assert!(matches!(M::new(bad, ids[0].clone(), &ids, Instant::ZERO), Err(ElectionError::Config(_))));
    let bad = ElectionConfig { heartbeat_interval: Duration::ZERO, ..ElectionConfig::default() };
    assert!(matches!(M::new(bad, ids[0].clone(), &ids, Instant::ZERO), Err(ElectionError::Config(_))));
    assert!(matches!(
        M::new(ElectionConfig::default(), id("x"), &ids, Instant::ZERO),
        Err(ElectionError::NotAVoter(_))
    ));
    let many: Vec<NodeId> = self::ids(9);
    match M::new(ElectionConfig::default(), many[0].clone(), &many, Instant::ZERO) {
        Err(ElectionError::TooManyVoters(e)) => assert_eq!(e.capacity, 8),
        other => panic!("{:?}", other.map(|_| ())),
    }
    // Duplicates are ignored.
    let dup = [ids[0].clone(), ids[1].clone(), ids[1].clone(), ids[0].clone()];
    let m = M::new(ElectionConfig::default(), ids[0].clone(), &dup, Instant::ZERO).unwrap();
    assert_eq!(m.voters().count(), 2);
    assert_eq!(m.quorum(), 2);
}

#[test]
fn bad_senders_and_bodies_change_nothing() {
    let ids = ids(3);
    let mut m = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    let hb = Body::LeaderHeartbeat(LeaderHeartbeat { term: 7 });
    assert_eq!(
        m.step(Instant::ZERO, &Envelope::new(id("stranger"), hb.clone())),
        Err(ElectionError::UnknownVoter(id("stranger")))
    );
    assert_eq!(m.step(Instant::ZERO, &Envelope::new(ids[0].clone(), hb)), Err(ElectionError::FromSelf));
    let health = Body::Heartbeat(crate::wire::Heartbeat { sequence: 1, ..crate::wire::Heartbeat::default() });
    assert_eq!(m.step(Instant::ZERO, &Envelope::new(ids[1].clone(), health)), Err(ElectionError::NotAnElectionMessage));
    assert_eq!(m.term(), 0);
    assert_eq!(m.pending_transmits(), 0);
    assert_eq!(m.hard_state(), HardState::default());
}

#[test]
fn lower_terms_are_answered_only_where_it_helps() {
    let ids = ids(3);
    let mut m = M::restore(
        ElectionConfig::default(),
        ids[0].clone(),
        &ids,
        HardState { term: 5, voted_for: None },
        Instant::ZERO,
    )
    .unwrap();
    let from = |b| Envelope::new(ids[1].clone(), b);
    m.step(Instant::ZERO, &from(Body::LeaderHeartbeat(LeaderHeartbeat { term: 3 }))).unwrap();
    assert_eq!(m.poll_transmit().unwrap().envelope.body, Body::HeartbeatResponse(HeartbeatResponse { term: 5 }));
    m.step(Instant::ZERO, &from(Body::PreVote(VoteRequest { term: 4, progress: None }))).unwrap();
    assert_eq!(
        m.poll_transmit().unwrap().envelope.body,
        Body::PreVoteResponse(VoteResponse { term: 5, granted: false })
    );
    m.step(Instant::ZERO, &from(Body::RequestVote(VoteRequest { term: 4, progress: None }))).unwrap();
    m.step(Instant::ZERO, &from(Body::VoteResponse(VoteResponse { term: 4, granted: true }))).unwrap();
    assert_eq!(m.poll_transmit(), None, "stale votes are ignored");
    assert_eq!(m.term(), 5);
    assert_eq!(m.stats().pre_votes_rejected, 1);
}

#[test]
fn a_pre_vote_grant_counts_only_for_the_pre_campaign_it_answers() {
    // Five voters (quorum 3) at term 5: the pre-campaign asks for term 6.
    let ids = ids(5);
    let restored = HardState { term: 5, voted_for: None };
    let mut m = M::restore(ElectionConfig::default(), ids[0].clone(), &ids, restored, Instant::ZERO).unwrap();
    m.campaign(Instant::ZERO).unwrap();
    assert_eq!((m.role(), m.term()), (Role::PreCandidate, 5));
    let grant = |m: &mut M, from: usize, term: u64| {
        let body = Body::PreVoteResponse(VoteResponse { term, granted: true });
        m.step(Instant::ZERO, &Envelope::new(ids[from].clone(), body)).unwrap();
    };
    // Grants for term 5 answer a pre-campaign of the term before (late, or
    // replayed by a liar): counted, they made a candidate of term 6 without
    // a pre-vote quorum for it (and, in Byzantine mode, without the
    // certificate its vote requests need).
    grant(&mut m, 1, 5);
    grant(&mut m, 2, 5);
    assert_eq!((m.role(), m.term()), (Role::PreCandidate, 5));
    grant(&mut m, 1, 6);
    assert_eq!(m.role(), Role::PreCandidate);
    grant(&mut m, 2, 6);
    assert_eq!((m.role(), m.term()), (Role::Candidate, 6));
}

#[test]
fn leader_lease_ignores_higher_term_votes() {
    let ids = ids(3);
    let mut m = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    assert_eq!(m.receive_heartbeat(Instant::from_millis(100), &ids[1], 1), Ok(true));
    // Within E of the heartbeat: ignored, no answer, no term change.
    m.step(
        Instant::from_millis(500),
        &Envelope::new(ids[2].clone(), Body::RequestVote(VoteRequest { term: 2, progress: None })),
    )
    .unwrap();
    assert_eq!((m.term(), m.pending_transmits()), (1, 0));
    // After E without a heartbeat the lease is over.
    assert_eq!(m.request_vote(Instant::from_millis(1100), &ids[2], 2), Ok(true));
    assert_eq!(m.term(), 2);
}

#[test]
fn direct_call_helpers_follow_the_python_api() {
    let ids = ids(3);
    let mut m = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    let s = m.status(Instant::ZERO);
    assert_eq!(
        (s.role, s.term, s.is_leader, s.vote_count, s.election_in_progress),
        (Role::Follower, 0, false, 0, false)
    );
    assert_eq!(s.time_since_last_heartbeat, None);
    assert_eq!(m.start_election(Instant::from_secs(1)), Ok(1));
    let s = m.status(Instant::from_secs(1));
    assert_eq!(
        (s.role, s.voted_for.clone(), s.vote_count, s.election_in_progress),
        (Role::Candidate, Some(ids[0].clone()), 1, true)
    );
    assert_eq!(m.receive_vote_response(Instant::from_secs(1), &ids[1], false), Ok(false));
    assert_eq!(m.receive_vote_response(Instant::from_secs(1), &ids[2], true), Ok(true));
    assert!(m.is_leader());
    assert_eq!(m.start_election(Instant::from_secs(1)), Err(ElectionError::AlreadyLeader));
    // Campaigning on the leader is a no-op (as in etcd and raft-rs): same term, still leader, nothing sent.
    while m.poll_hard_state().is_some() {}
    while m.poll_transmit().is_some() {}
    assert_eq!(m.campaign(Instant::from_secs(1)), Ok(()));
    assert!(m.is_leader());
    assert_eq!(m.term(), 1);
    assert!(m.poll_hard_state().is_none() && m.poll_transmit().is_none());
    let s = m.status(Instant::from_millis(1_050));
    assert_eq!((s.leader, s.time_since_last_heartbeat), (Some(ids[0].clone()), Some(Duration::from_millis(50))));
    assert_eq!(m.stats().elections_won, 1);
    assert_eq!(m.stats().last_election_duration, Some(Duration::ZERO));
    let h: Vec<_> = m.vote_history().map(|r| (r.voter.clone(), r.candidate.clone(), r.term)).collect();
    assert_eq!(h, [(ids[2].clone(), ids[0].clone(), 1)]);
    // A heartbeat of an older term is refused; of a newer term, accepted.
    assert_eq!(m.receive_heartbeat(Instant::from_secs(2), &ids[1], 1), Ok(false));
    assert!(m.is_leader());
    assert_eq!(m.receive_heartbeat(Instant::from_secs(2), &ids[1], 2), Ok(true));
    assert_eq!((m.role(), m.leader()), (Role::Follower, Some(&ids[1])));
    assert_eq!(m.stats().step_downs, 1);
    assert_eq!(m.stats().leader_changes, 2);
    m.step_down(Instant::from_secs(2));
    assert_eq!(m.leader(), None);
}

#[test]
fn step_down_gives_up_leadership() {
    let mut net = Net::new(3, cfg(true, true));
    net.campaign(0);
    net.nodes[0].step_down(net.now);
    assert_eq!(net.nodes[0].role(), Role::Follower);
    assert_eq!(net.nodes[0].stats().step_downs, 1);
    net.advance(E.saturating_mul(5));
    assert!(net.leader().is_some());
}

#[test]
fn outbox_overflow_is_counted() {
    let ids = ids(3);
    let mut m = M::new(cfg(false, false), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    for _ in 0..20 {
        m.step(Instant::ZERO, &Envelope::new(ids[1].clone(), Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 })))
            .unwrap();
    }
    assert_eq!(m.pending_transmits(), small::ELECTION_OUTBOX);
    assert_eq!(m.stats().dropped_transmits, 20 - small::ELECTION_OUTBOX as u64);
}

#[test]
fn vote_history_is_a_bounded_ring() {
    let ids = ids(3);
    let mut m = M::new(cfg(false, false), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    for term in 1..=20u64 {
        assert_eq!(m.request_vote(Instant::from_secs(term), &ids[1 + (term % 2) as usize], term), Ok(true));
    }
    let terms: Vec<u64> = m.vote_history().map(|r| r.term).collect();
    assert_eq!(terms, (5..=20).collect::<Vec<_>>());
    assert!(m.vote_history().all(|r| r.voter == ids[0]));
    assert_eq!(m.stats().dropped_vote_records, 4);
}

#[test]
fn large_preset_builds_in_place_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let voters: Vec<NodeId> = (0..crate::preset::large::VOTERS).map(|i| id(&format!("s{i}"))).collect();
            let mut m = crate::preset::large::LeaderElectionManager::new_boxed(
                ElectionConfig::default(),
                voters[7].clone(),
                &voters,
                Instant::ZERO,
            )
            .unwrap();
            m.start_election(Instant::ZERO).unwrap();
            let mut leader = false;
            for v in voters.iter().filter(|v| **v != voters[7]) {
                leader |= m.receive_vote_response(Instant::ZERO, v, true).unwrap();
            }
            assert!(leader && m.is_leader());
            assert_eq!(m.quorum(), crate::preset::large::VOTERS / 2 + 1);
            m.voters().count()
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), crate::preset::large::VOTERS);
}

/// Reference model of vote granting without leases or leaders: one vote per term, highest term wins.
#[derive(Default)]
struct VoteModel {
    pub(super) term: u64,
    voted: Option<usize>,
}

impl VoteModel {
    fn request(&mut self, candidate: usize, term: u64) -> bool {
        if term < self.term {
            return false;
        }
        if term > self.term {
            self.term = term;
            self.voted = None;
        }
        if self.voted.is_none() || self.voted == Some(candidate) {
            self.voted = Some(candidate);
            true
        } else {
            false
        }
    }
}

proptest! {
    #[test]
    fn vote_granting_matches_the_reference(
        requests in proptest::collection::vec((1usize..4, 1u64..6), 1..60),
        restart_every in 1usize..20,
    ) {
        let ids = ids(4);
        let config = cfg(false, false);
        let mut m = M::new(config, ids[0].clone(), &ids, Instant::ZERO).unwrap();
        let mut model = VoteModel::default();
        for (k, (c, term)) in requests.into_iter().enumerate() {
            if k % restart_every == 0 {
                // A restart from the persisted hard state must not change any decision.
                m = M::restore(config, ids[0].clone(), &ids, m.hard_state(), Instant::ZERO).unwrap();
            }
            let got = m.request_vote(Instant::ZERO, &ids[c], term).unwrap();
            prop_assert_eq!(got, model.request(c, term));
            prop_assert_eq!(m.term(), model.term);
            prop_assert_eq!(m.voted_for(), model.voted.map(|v| &ids[v]));
        }
    }
}

/// A node at term 0 that refuses a pre-vote (here: the candidate is behind) must not
/// emit a term-0 response: the wire rejects term 0 (`WireError::ZeroTerm`), so every
/// peer would fail to decode it. The `Net` decodes every message it delivers.
#[test]
fn refusing_a_pre_vote_at_term_zero_emits_only_decodable_messages() {
    let mut net = behind_third(cfg(true, true));
    net.campaign(2);
    assert_eq!(net.nodes[2].term(), 0, "a refused pre-vote never raises the term");
    assert_ne!(net.nodes[2].role(), Role::Leader);
    assert_eq!(net.nodes[0].stats().pre_votes_rejected, 1);
    // The cluster still elects an up-to-date leader afterwards.
    net.campaign(0);
    assert_eq!(net.leader(), Some(0));
}

#[test]
fn set_timing_redraws_the_timeout_and_rejects_bad_pairs() {
    let a = id("a");
    let mut m = M::new(cfg(false, false), a.clone(), &[a.clone(), id("b"), id("c")], Instant::ZERO).unwrap();
    let e = Duration::from_millis(200);
    m.set_timing(Instant::ZERO, e, Duration::from_millis(50)).unwrap();
    assert_eq!(m.config().election_timeout, e);
    let t = m.randomized_timeout();
    assert!(t >= e && t < Duration::from_millis(400), "{t:?}");
    // The old 1 s timer would still run; the new one fires within 2E.
    m.tick(Instant::from_millis(400));
    assert_eq!(m.role(), Role::Candidate);
    assert!(m.set_timing(Instant::from_millis(400), e, e).is_err());
    assert_eq!(m.config().heartbeat_interval, Duration::from_millis(50));
}

#[test]
fn discard_output_drops_messages_and_the_hard_state_mark() {
    let a = id("a");
    let mut m = M::new(cfg(false, false), a.clone(), &[a.clone(), id("b"), id("c")], Instant::ZERO).unwrap();
    m.start_election(Instant::ZERO).unwrap();
    let queued = m.pending_transmits();
    assert!(queued > 0);
    assert_eq!(m.discard_output(), queued);
    assert_eq!(m.pending_transmits(), 0);
    assert!(m.poll_hard_state().is_none());
    assert!(m.poll_transmit().is_none());
}

// ----- Byzantine fault model -----

fn byz(f: u32) -> ElectionConfig {
    ElectionConfig { fault_model: FaultModel::Byzantine { f }, ..ElectionConfig::default() }
}

#[test]
fn quorum_arithmetic() {
    // Crash-only: a majority.
    for (n, q) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4), (31, 16)] {
        assert_eq!(FaultModel::CrashOnly.quorum(n), q, "crash-only n={n}");
    }
    // ceil((N + f + 1) / 2).
    for (n, f, q) in [(1, 0, 1), (4, 1, 3), (5, 1, 4), (6, 1, 4), (7, 2, 5), (10, 3, 7), (31, 10, 21), (64, 21, 43)] {
        assert_eq!(FaultModel::Byzantine { f }.quorum(n), q, "n={n} f={f}");
    }
    for n in 1..=MAX_BYZANTINE_VOTERS {
        // With an odd N two majorities may share a single voter: one double-voter breaks them.
        let q = FaultModel::CrashOnly.quorum(n);
        if n % 2 == 1 {
            assert_eq!(2 * q - n, 1);
        }
        for f in 0..=(n as u32) {
            let model = FaultModel::Byzantine { f };
            let q = model.quorum(n);
            let valid = model.validate(n).is_ok();
            assert_eq!(valid, n > 3 * f as usize, "n={n} f={f}");
            if valid {
                // Two quorums share an honest voter, and the honest voters alone make a quorum.
                assert!(2 * q - n > f as usize, "n={n} f={f} q={q}: quorums share f + 1");
                assert!(n - f as usize >= q, "n={n} f={f} q={q}");
            } else {
                // Below 3f + 1 one of the two fails.
                assert!(2 * q <= n + f as usize || n - (f as usize).min(n) < q, "n={n} f={f}");
            }
        }
    }
    assert!(FaultModel::Byzantine { f: 0 }.validate(MAX_BYZANTINE_VOTERS + 1).is_err());
    assert_eq!(FaultModel::Byzantine { f: u32::MAX }.quorum(usize::MAX), usize::MAX / 2);
}

#[test]
fn byzantine_config_is_validated() {
    let ids = ids(4);
    let e = M::new(byz(1), ids[0].clone(), &ids[..3], Instant::ZERO).map(|_| ()).unwrap_err();
    assert!(matches!(&e, ElectionError::Config(c) if format!("{c}").contains("3f + 1")), "{e}");
    let m = M::new(byz(1), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    assert_eq!(m.quorum(), 3);
    let no_pre_vote = ElectionConfig { pre_vote: false, ..byz(1) };
    assert!(matches!(M::new(no_pre_vote, ids[0].clone(), &ids, Instant::ZERO), Err(ElectionError::Config(_))));
    // Crash-only keeps the majority.
    assert_eq!(M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap().quorum(), 3);
    assert_eq!(M::new(ElectionConfig::default(), ids[0].clone(), &ids[..3], Instant::ZERO).unwrap().quorum(), 2);
}

#[test]
fn byzantine_cluster_elects_with_certificates() {
    let mut net = Net::new(4, byz(1));
    net.campaign(0);
    assert_eq!(net.nodes[0].role(), Role::Leader);
    for n in &net.nodes {
        assert_eq!((n.term(), n.leader()), (1, Some(&net.ids[0])));
        assert_eq!(n.stats().uncertified, 0);
    }
    // One voter down: the other three are still a quorum (N - f >= q).
    net.down.insert(0);
    net.advance(Duration::from_secs(5));
    let l = net.leader().unwrap();
    assert_ne!(l, 0);
    assert_eq!(net.nodes[l].term(), 2);
    // Two down: no quorum of three, no leader, and no term runs away.
    net.down.insert(l);
    net.advance(Duration::from_secs(10));
    for (i, n) in net.nodes.iter().enumerate() {
        if !net.down.contains(&i) {
            assert!(!n.is_leader());
            assert_eq!(n.term(), 2, "a pre-vote round that fails changes no term");
        }
    }
}

/// Snapshot of what a message may change.
fn state_of(m: &M) -> (Role, u64, Option<NodeId>, Option<NodeId>) {
    (m.role(), m.term(), m.leader().cloned(), m.voted_for().cloned())
}

fn env(from: &NodeId, body: Body) -> Envelope {
    Envelope::new(from.clone(), body)
}

#[test]
fn byzantine_higher_terms_need_certificates() {
    let ids = ids(4);
    let mut m = M::new(byz(1), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    let now = Instant::ZERO;
    let before = state_of(&m);
    let proof = |kind, term, who: usize| TermProof { kind, term, candidate: ids[who].clone() };
    let bad: Vec<(Body, Option<TermProof>)> = std::vec![
        // Inflated terms without proof.
        (Body::RequestVote(VoteRequest { term: u64::MAX, progress: None }), None),
        (Body::LeaderHeartbeat(LeaderHeartbeat { term: 7 }), None),
        (Body::HeartbeatResponse(HeartbeatResponse { term: u64::MAX }), None),
        (Body::VoteResponse(VoteResponse { term: 9, granted: false }), None),
        (Body::PreVoteResponse(VoteResponse { term: 9, granted: false }), None),
        // A pre-vote may only ask for the next term.
        (Body::PreVote(VoteRequest { term: 5, progress: None }), None),
        // Proofs that do not match the message: wrong term, candidate, kind.
        (Body::RequestVote(VoteRequest { term: 3, progress: None }), Some(proof(ProofKind::PreVote, 2, 1))),
        (Body::RequestVote(VoteRequest { term: 3, progress: None }), Some(proof(ProofKind::PreVote, 3, 2))),
        (Body::RequestVote(VoteRequest { term: 3, progress: None }), Some(proof(ProofKind::Leader, 3, 1))),
        (Body::LeaderHeartbeat(LeaderHeartbeat { term: 3 }), Some(proof(ProofKind::PreVote, 3, 1))),
        (Body::LeaderHeartbeat(LeaderHeartbeat { term: 3 }), Some(proof(ProofKind::Leader, 3, 2))),
        // Claiming leadership of the current term without a certificate.
        (Body::LeaderHeartbeat(LeaderHeartbeat { term: 0 }), None),
    ];
    for (i, (body, p)) in bad.iter().enumerate() {
        m.step_with_proof(now, &env(&ids[1], body.clone()), p.as_ref()).unwrap();
        assert_eq!(state_of(&m), before, "{body:?}");
        assert_eq!(m.poll_transmit(), None, "{body:?}: no answer");
        assert_eq!(m.poll_hard_state(), None);
        assert_eq!(m.stats().uncertified, i as u64 + 1, "{body:?}");
    }
    // The same inputs in crash-only mode would have moved the term.
    let mut c = M::new(ElectionConfig::default(), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    c.step(now, &env(&ids[1], Body::HeartbeatResponse(HeartbeatResponse { term: u64::MAX }))).unwrap();
    assert_eq!(c.term(), u64::MAX);
    // With the matching pre-vote certificate the vote request counts.
    let req = env(&ids[1], Body::RequestVote(VoteRequest { term: 3, progress: None }));
    m.step_with_proof(now, &req, Some(&proof(ProofKind::PreVote, 3, 1))).unwrap();
    assert_eq!(state_of(&m), (Role::Follower, 3, None, Some(ids[1].clone())));
    // A leader heartbeat of a higher term with its certificate; later ones need none.
    let hb = |t| env(&ids[2], Body::LeaderHeartbeat(LeaderHeartbeat { term: t }));
    m.step_with_proof(now, &hb(4), Some(&proof(ProofKind::Leader, 4, 2))).unwrap();
    assert_eq!(state_of(&m), (Role::Follower, 4, Some(ids[2].clone()), None));
    let uncertified = m.stats().uncertified;
    m.step(now, &hb(4)).unwrap();
    assert_eq!(m.stats().uncertified, uncertified);
    // A refusal from a node ahead raises the term only with a certificate for that term.
    let ahead = env(&ids[3], Body::HeartbeatResponse(HeartbeatResponse { term: 9 }));
    m.step_with_proof(now, &ahead, Some(&proof(ProofKind::PreVote, 8, 1))).unwrap();
    assert_eq!(m.term(), 4);
    let mut caught_up = M::new(byz(1), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    caught_up.step_with_proof(now, &ahead, Some(&proof(ProofKind::PreVote, 9, 1))).unwrap();
    assert_eq!(state_of(&caught_up), (Role::Follower, 9, None, None));
    let uncertified = m.stats().uncertified;
    // Another supervisor claiming term 4 without a certificate changes nothing.
    m.step(now, &env(&ids[3], Body::LeaderHeartbeat(LeaderHeartbeat { term: 4 }))).unwrap();
    assert_eq!(state_of(&m), (Role::Follower, 4, Some(ids[2].clone()), None));
    assert_eq!(m.stats().uncertified, uncertified + 1);
}

#[test]
fn byzantine_pre_votes_are_granted_only_for_the_next_term() {
    let ids = ids(4);
    let mut m = M::new(byz(1), ids[0].clone(), &ids, Instant::ZERO).unwrap();
    let now = Instant::from_secs(5); // no leader lease
    m.step(now, &env(&ids[1], Body::PreVote(VoteRequest { term: 2, progress: None }))).unwrap();
    assert_eq!(m.poll_transmit(), None);
    m.step(now, &env(&ids[1], Body::PreVote(VoteRequest { term: 1, progress: None }))).unwrap();
    let t = m.poll_transmit().unwrap();
    assert_eq!(t.envelope.body, Body::PreVoteResponse(VoteResponse { term: 1, granted: true }));
    assert_eq!(m.term(), 0);
}

/// The arithmetic in action: one double-voter among 3 crash-only voters
/// elects two leaders in one term; among 4 Byzantine-mode voters (f = 1) it cannot.
#[test]
fn a_double_voter_breaks_majorities_but_not_byzantine_quorums() {
    let grant = |t| Body::VoteResponse(VoteResponse { term: t, granted: true });
    // Crash-only, N = 3: n0 and n1 campaign in term 1, n2 grants both.
    let ids3 = ids(3);
    let now = Instant::ZERO;
    let mut a = M::new(cfg(false, false), ids3[0].clone(), &ids3, now).unwrap();
    let mut b = M::new(cfg(false, false), ids3[1].clone(), &ids3, now).unwrap();
    a.start_election(now).unwrap();
    b.start_election(now).unwrap();
    a.step(now, &env(&ids3[2], grant(1))).unwrap();
    b.step(now, &env(&ids3[2], grant(1))).unwrap();
    assert!(a.is_leader() && b.is_leader() && a.term() == b.term(), "two leaders of term 1");
    // Byzantine, N = 4, f = 1: n3 grants both, honest n2 only n0.
    let ids4 = ids(4);
    let mut a = M::new(byz(1), ids4[0].clone(), &ids4, now).unwrap();
    let mut b = M::new(byz(1), ids4[1].clone(), &ids4, now).unwrap();
    a.start_election(now).unwrap();
    b.start_election(now).unwrap();
    for (m, voters) in [(&mut a, &[2usize, 3][..]), (&mut b, &[3][..])] {
        for &v in voters {
            m.step(now, &env(&ids4[v], grant(1))).unwrap();
        }
    }
    assert!(a.is_leader());
    assert!(!b.is_leader(), "two of four votes are not a quorum of three");
}
