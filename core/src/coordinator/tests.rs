//! One coordinator driven by hand. Whole clusters of coordinators are tested on
//! the simulation harness: `harness/tests/coordinator.rs`.

use super::*;
use crate::auth::{Certificate, IdentityKey, SignedCertificate};
use crate::preset::small;
use crate::test_support;
pub(super) use crate::test_support::{UNIX0, authority, identity_of};
use crate::time::Duration;
use crate::workers::TaskRole;
use std::string::ToString;
use std::vec;
use std::vec::Vec as StdVec;

pub(super) type Node = small::NetworkOperationsManager;

pub(super) use crate::test_support::id;

pub(super) fn train() -> TaskType {
    TaskType::new("train").unwrap()
}

/// An assignment in `term` of `task` (pool `train`) as a primary, from the start.
pub(super) fn primary_role(term: u64, task: &str) -> Body {
    Body::TaskAssignment(TaskAssignment {
        term,
        task: TaskId::new(task).unwrap(),
        task_type: train(),
        role: TaskRole::Primary,
        checkpoint: None,
    })
}

fn worker_config() -> OpsConfig {
    OpsConfig::default()
}

/// `name`'s certificate: workers work in `train` with one slot.
pub(super) fn certificate_of(name: &str, role: NodeRole) -> Certificate {
    test_support::certificate(&id(name), role, &[train()], 1)
}

pub(super) fn credentials_of(name: &str, role: NodeRole) -> Credentials {
    Credentials::issue(&authority(), identity_of(name), certificate_of(name, role), 1, UNIX0).unwrap()
}

/// Another member, as the node under test hears it: it seals what it says.
pub(super) struct Peer {
    pub(super) id: NodeId,
    pub(super) key: IdentityKey,
    pub(super) certificate: StdVec<u8>,
    pub(super) counter: u64,
}

impl Peer {
    pub(super) fn new(name: &str, role: NodeRole) -> Peer {
        let certificate = test_support::signed(certificate_of(name, role)).unwrap();
        Peer { id: id(name), key: identity_of(name), certificate, counter: 0 }
    }

    /// Its join: a signed membership announcement carrying its certificate.
    pub(super) fn join(&mut self) -> StdVec<u8> {
        let certificate = heapless::Vec::from_slice(&self.certificate).unwrap();
        self.say(Body::Membership(Membership { joining: true, certificate }))
    }

    /// `body`, signed by this peer's key (a forger's peer holds another).
    pub(super) fn say(&mut self, body: Body) -> StdVec<u8> {
        self.say_in(1, body)
    }

    /// `body` followed by `attachment` (Byzantine mode), signed by this peer.
    pub(super) fn say_with(&mut self, body: Body, attachment: &[u8]) -> StdVec<u8> {
        let mut body = body.to_vec().unwrap();
        body.extend_from_slice(attachment);
        let mut buf = vec![0u8; 4096 + attachment.len()];
        self.counter += 1;
        let cluster = authority().public();
        let n =
            crate::auth::seal::seal_signed(&mut buf, &self.id, 1, self.counter, &body, &self.key, &cluster).unwrap();
        buf.truncate(n);
        buf
    }

    /// `body`, signed by this peer in boot epoch `epoch`.
    pub(super) fn say_in(&mut self, epoch: u64, body: Body) -> StdVec<u8> {
        let body = body.to_vec().unwrap();
        let mut buf = vec![0u8; 4096];
        self.counter += 1;
        let cluster = authority().public();
        let n = crate::auth::seal::seal_signed(&mut buf, &self.id, epoch, self.counter, &body, &self.key, &cluster)
            .unwrap();
        buf.truncate(n);
        buf
    }

    /// The pairwise key this peer shares with `other`.
    fn pairwise(&self, other: &str) -> crate::auth::PairwiseKey {
        crate::auth::PairwiseKey::derive(&self.key, &identity_of(other).public(), &authority().public()).unwrap()
    }

    /// `body`, MAC'd by this peer for `to` (both in boot epoch 1).
    pub(super) fn mac(&mut self, body: Body, to: &str) -> StdVec<u8> {
        self.mac_in(1, body, to)
    }

    /// `body` MAC'd for `to` in boot `epoch`.
    fn mac_in(&mut self, epoch: u64, body: Body, to: &str) -> StdVec<u8> {
        let body = body.to_vec().unwrap();
        let mut buf = vec![0u8; 4096];
        self.counter += 1;
        let key = self.pairwise(to);
        let n = crate::auth::seal::seal_mac(&mut buf, &self.id, &id(to), 1, epoch, self.counter, &body, &key).unwrap();
        buf.truncate(n);
        buf
    }
}

/// `name` joins `node` at `now`; returns the peer, to speak as it.
pub(super) fn joined(node: &mut Node, now: Instant, name: &str, role: NodeRole) -> Peer {
    let mut p = Peer::new(name, role);
    node.handle_message(now, &p.join()).unwrap();
    p
}

/// Worker `w` among supervisors `s1` and `s2`, started at `now`, both of
/// whom have joined it; returns the worker and the two peers to speak as.
fn worker_of_two(now: Instant) -> (Box<Node>, Peer, Peer) {
    let mut w = Node::new_boxed(
        id("w"),
        NodeRole::Worker,
        &[id("s1"), id("s2")],
        worker_config(),
        1,
        credentials_of("w", NodeRole::Worker),
    )
    .unwrap();
    w.start(now).unwrap();
    let s1 = joined(&mut w, now, "s1", NodeRole::Supervisor);
    let s2 = joined(&mut w, now, "s2", NodeRole::Supervisor);
    (w, s1, s2)
}

pub(super) fn checkpoint(seq: u64) -> Checkpoint {
    Checkpoint { sequence: seq, digest: [seq as u8; 32] }
}

fn solo(role: NodeRole) -> Box<Node> {
    let me = if role == NodeRole::Worker { "w" } else { "s" };
    among(me, role, &["s"])
}

/// Node `me` in `role` among the supervisors `supervisors`, not started.
pub(super) fn among(me: &str, role: NodeRole, supervisors: &[&str]) -> Box<Node> {
    let config = if role == NodeRole::Worker { worker_config() } else { OpsConfig::default() };
    let sups: StdVec<NodeId> = supervisors.iter().map(|s| id(s)).collect();
    Node::new_boxed(id(me), role, &sups, config, 1, credentials_of(me, role)).unwrap()
}

#[test]
fn rejects_bad_input_and_counts_it() {
    let mut n = among("s", NodeRole::Supervisor, &["s", "s2"]);
    assert_eq!(n.handle_message(Instant::ZERO, &[1, 2, 3]), Err(HandleError::NotRunning));
    n.start(Instant::from_secs(1)).unwrap();
    let now = Instant::from_secs(1);
    assert_eq!(n.handle_message(now, &[1, 2, 3]), Err(HandleError::Rejected(RejectReason::Malformed)));
    assert_eq!(n.counters().rejected.get(RejectReason::Malformed), 1);
    // A datagram claiming to come from this node is dropped and counted, not an error.
    let before = n.status(now);
    let own = Peer::new("s", NodeRole::Supervisor).say(Body::LeaderNotice(LeaderNotice { term: 1 }));
    assert_eq!(n.handle_message(now, &own), Ok(()));
    let own_hb = Peer::new("s", NodeRole::Supervisor).say(Body::Heartbeat(Heartbeat::default()));
    assert_eq!(n.handle_message(now, &own_hb), Ok(()));
    assert_eq!(n.counters().self_addressed, 2);
    assert_eq!(n.counters().messages_received, before.counters.messages_received);
    let stranger = Peer::new("x", NodeRole::Worker).say(Body::LeaderNotice(LeaderNotice { term: 1 }));
    assert_eq!(n.handle_message(now, &stranger), Err(HandleError::Rejected(RejectReason::UnknownSender)));
    assert_eq!(n.counters().rejected.total(), 2);
    // A task assignment from a worker: it may not send one.
    let a = primary_role(1, "t");
    let mut x = joined(&mut n, now, "x", NodeRole::Worker);
    let forged = x.say(a.clone());
    assert_eq!(n.handle_message(now, &forged), Err(HandleError::Rejected(RejectReason::NotAuthorized)));
    assert_eq!(n.counters().rejected.get(RejectReason::NotAuthorized), 1);
    assert_eq!(n.counters().messages_ignored, 0);
    // One from a supervisor to a supervisor is not for it: ignored and counted.
    let mut s2 = joined(&mut n, now, "s2", NodeRole::Supervisor);
    n.handle_message(now, &s2.say(a)).unwrap();
    assert_eq!(n.counters().messages_ignored, 1);
}

#[test]
fn task_operations_check_role_and_capacity() {
    let mut s = solo(NodeRole::Supervisor);
    let now = Instant::from_secs(1);
    s.start(now).unwrap();
    assert_eq!(s.submit_task(now, TaskId::new("t").unwrap(), train(), 0, 0), Err(TaskError::NoPrimaries));
    for i in 0..small::TASKS {
        s.submit_task(now, TaskId::new(&std::format!("t{i}")).unwrap(), train(), 1, 0).unwrap();
    }
    assert_eq!(
        s.submit_task(now, TaskId::new("t0").unwrap(), train(), 1, 0),
        Err(TaskError::Duplicate(TaskId::new("t0").unwrap()))
    );
    let err = s.submit_task(now, TaskId::new("extra").unwrap(), train(), 1, 0).unwrap_err();
    assert_eq!(err, TaskError::TableFull(CapacityError::new(TaskId::new("extra").unwrap(), small::TASKS)));
    assert_eq!(s.tasks().count(), small::TASKS, "nothing changed");
    assert_eq!(s.report_checkpoint(now, &TaskId::new("t0").unwrap(), checkpoint(1)), Err(TaskError::WrongRole));

    let mut w = solo(NodeRole::Worker);
    w.start(now).unwrap();
    let t = TaskId::new("t").unwrap();
    assert_eq!(w.submit_task(now, t.clone(), train(), 1, 0), Err(TaskError::WrongRole));
    assert_eq!(w.report_checkpoint(now, &t, checkpoint(1)), Err(TaskError::NotAPrimary(t.clone())));
    let a = TaskAssignment {
        term: 1,
        task: t.clone(),
        task_type: train(),
        role: TaskRole::Primary,
        checkpoint: Some(checkpoint(3)),
    };
    let mut sup = joined(&mut w, now, "s", NodeRole::Supervisor);
    w.handle_message(now, &sup.say(Body::TaskAssignment(a))).unwrap();
    assert_eq!(w.report_checkpoint(now, &t, checkpoint(2)), Err(TaskError::Regression { last: 3 }));
    w.report_checkpoint(now, &t, checkpoint(4)).unwrap();
    // A release from a supervisor that did not give the task, while another leads, is ignored.
    w.handle_message(now, &sup.say(Body::LeaderNotice(LeaderNotice { term: 2 }))).unwrap();
    assert_eq!(w.leader().map(|(n, t)| (n.to_string(), t)), Some(("s".to_string(), 2)));
}

#[test]
fn outbox_overflow_is_counted_not_grown() {
    let mut w = solo(NodeRole::Worker);
    w.start(Instant::from_secs(1)).unwrap();
    for k in 0..(small::OPS_QUEUE as u64 * 3) {
        w.tick(Instant::from_secs(2 + k));
    }
    let (pending, _) = w.pending();
    assert!(pending <= small::OPS_QUEUE);
    assert!(w.counters().dropped_transmits > 0);
    let mut sent = 0;
    while w.poll_transmit().is_some() {
        sent += 1;
    }
    assert_eq!(sent, pending);
}

#[test]
fn poll_timeout_is_the_earliest_timer() {
    let mut w = solo(NodeRole::Worker);
    assert_eq!(w.poll_timeout(), Instant::MAX);
    w.start(Instant::from_secs(10)).unwrap();
    let t = w.poll_timeout();
    assert_eq!(t, Instant::from_secs(10) + OpsConfig::default().sweep_interval);
    w.tick(t);
    assert!(w.poll_timeout() > t);
}

#[test]
fn a_far_future_now_does_not_silence_the_node() {
    let mut w = solo(NodeRole::Worker);
    w.start(Instant::from_secs(10)).unwrap();
    while w.poll_transmit().is_some() {}
    // One bogus `now` far ahead (even past 2^64 µs, saturated by a binding)...
    for far in [Instant::from_secs(1 << 40), Instant::MAX] {
        w.tick(far);
        assert!(w.poll_transmit().is_some(), "the jump is taken as real: timers fire");
        while w.poll_transmit().is_some() {}
        assert_ne!(w.poll_timeout(), Instant::MAX, "a running node always has a deadline");
    }
    // ...then real time again: the clock re-anchors, and the node heartbeats on cadence.
    let mut sent = 0;
    let mut now = Instant::from_secs(11);
    for _ in 0..10 {
        w.tick(now);
        while w.poll_transmit().is_some() {
            sent += 1;
        }
        let next = w.poll_timeout();
        assert!(next > now && next <= now + Duration::from_secs(1), "deadline {next:?} in host time after {now:?}");
        now = next;
    }
    assert!(sent >= 2, "heartbeats keep going at real time ({sent})");
}

#[test]
fn duplicate_pools_and_a_short_lease_are_refused_at_configuration() {
    // Pools come from the certificate: the authority cannot issue one naming a pool twice.
    let mut cert = certificate_of("w", NodeRole::Worker);
    cert.pools.push(train()).unwrap();
    assert_eq!(SignedCertificate::issue(&authority(), cert), Err(crate::auth::CertError::DuplicatePool));
    let c = OpsConfig { lease_timeout: Duration::from_secs(1), ..OpsConfig::default() };
    let creds = credentials_of("w", NodeRole::Worker);
    let e = Node::new_boxed(id("w"), NodeRole::Worker, &[id("s")], c, 1, creds).err().unwrap();
    assert!(matches!(e, OpsError::Config(_)));
}

#[test]
fn a_byzantine_election_needs_3f_plus_1_supervisors() {
    let election = crate::election::ElectionConfig {
        fault_model: crate::election::FaultModel::Byzantine { f: 1 },
        ..crate::election::ElectionConfig::default()
    };
    let c = OpsConfig { election, ..OpsConfig::default() };
    let sups = [id("s0"), id("s1"), id("s2")];
    let creds = || credentials_of("s0", NodeRole::Supervisor);
    let e = Node::new_boxed(id("s0"), NodeRole::Supervisor, &sups, c.clone(), 1, creds()).err().unwrap();
    assert!(matches!(&e, OpsError::Config(c) if c.to_string().contains("3f + 1")), "{e}");
    let sups = [id("s0"), id("s1"), id("s2"), id("s3")];
    let mut n = Node::new_boxed(id("s0"), NodeRole::Supervisor, &sups, c, 1, creds()).unwrap();
    n.start(Instant::from_secs(1)).unwrap();
}

#[test]
fn large_preset_builds_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let n = crate::preset::large::NetworkOperationsManager::new_boxed(
                id("s"),
                NodeRole::Supervisor,
                &[id("s")],
                OpsConfig::default(),
                1,
                credentials_of("s", NodeRole::Supervisor),
            )
            .unwrap();
            assert_eq!(n.status(Instant::ZERO).tasks, 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn worker_keeps_only_the_current_leaders_roles() {
    let now = Instant::from_secs(1);
    let (mut w, mut s1, mut s2) = worker_of_two(now);
    w.handle_message(now, &s1.say(Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    w.handle_message(now, &s1.say(primary_role(1, "a"))).unwrap();
    // The new leader's assignment overtakes its notice: still accepted.
    w.handle_message(now, &s2.say(primary_role(2, "b"))).unwrap();
    assert_eq!(w.held_tasks().count(), 2);
    w.handle_message(now, &s2.say(Body::LeaderNotice(LeaderNotice { term: 2 }))).unwrap();
    let held: StdVec<_> = w.held_tasks().map(|(t, _)| t.as_str().to_string()).collect();
    assert_eq!(held, vec!["b".to_string()], "the deposed leader's role ends");
    // A late assignment from the deposed leader's older term is ignored at once.
    w.handle_message(now, &s1.say(primary_role(1, "c"))).unwrap();
    assert_eq!(w.held_tasks().count(), 1);
    // An older term's notice changes nothing.
    w.handle_message(now, &s1.say(Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    assert_eq!(w.leader().map(|(n, t)| (n.as_str().to_string(), t)), Some(("s2".to_string(), 2)));
    // s2 loses and wins again (term 4) without its step-down releases arriving:
    // its term-2 role must not linger beside the roles of its new term.
    w.handle_message(now, &s2.say(primary_role(4, "d"))).unwrap();
    w.handle_message(now, &s2.say(Body::LeaderNotice(LeaderNotice { term: 4 }))).unwrap();
    let held: StdVec<_> = w.held_tasks().map(|(t, h)| (t.as_str().to_string(), h.term)).collect();
    assert_eq!(held, vec![("d".to_string(), 4)], "a re-elected leader's old-term role ends");
}

#[test]
fn peek_transmit_shows_what_poll_transmit_takes_next() {
    let mut reference = solo(NodeRole::Worker);
    let mut peeked = solo(NodeRole::Worker);
    for n in [&mut reference, &mut peeked] {
        n.start(Instant::from_secs(1)).unwrap();
    }
    // The reference drains with poll_transmit alone; the other peeks (twice) before
    // every poll: both must yield the same messages in the same order.
    let mut expected = StdVec::new();
    while let Some(t) = reference.poll_transmit() {
        expected.push(t);
    }
    assert!(expected.len() >= 2, "start queues a membership and a heartbeat");
    let mut got = StdVec::new();
    loop {
        let first = peeked.peek_transmit().cloned();
        assert_eq!(peeked.peek_transmit().cloned(), first, "peeking does not consume");
        assert_eq!(peeked.pending().0, usize::from(first.is_some()) + peeked.out.queued());
        let taken = peeked.poll_transmit();
        assert_eq!(taken, first);
        match taken {
            Some(t) => got.push(t),
            None => break,
        }
    }
    assert_eq!(got, expected);
}

#[test]
fn a_stopped_worker_lets_go_of_its_roles() {
    // On a graceful stop the leader hands the worker's roles to others (it sees
    // the leave); its release messages cannot reach a stopped node, so the node
    // itself must let go, or after a restart two workers hold the same role.
    let mut w = Node::new_boxed(
        id("w"),
        NodeRole::Worker,
        &[id("s1")],
        worker_config(),
        1,
        credentials_of("w", NodeRole::Worker),
    )
    .unwrap();
    let now = Instant::from_secs(1);
    w.start(now).unwrap();
    let mut s1 = joined(&mut w, now, "s1", NodeRole::Supervisor);
    w.handle_message(now, &s1.say(Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    w.handle_message(now, &s1.say(primary_role(1, "a"))).unwrap();
    assert_eq!(w.held_tasks().count(), 1);
    while w.poll_event().is_some() {}
    w.stop(now + Duration::from_secs(1));
    assert_eq!(w.held_tasks().count(), 0, "roles end with a graceful stop");
    assert!(
        w.poll_event().is_some_and(|e| e.kind == OpsEventKind::AssignmentReleased { task: TaskId::new("a").unwrap() })
    );
    w.start(now + Duration::from_secs(2)).unwrap();
    assert_eq!(w.held_tasks().count(), 0, "nothing comes back on restart");
    assert!(w.report_checkpoint(now + Duration::from_secs(2), &TaskId::new("a").unwrap(), checkpoint(1)).is_err());
}

#[test]
fn a_deposed_leaders_release_leaves_the_new_leaders_role_alone() {
    // s1 stepped down (and releases its roles); s2 won and its assignment
    // overtook its notice. s1's release must not end s2's role.
    let now = Instant::from_secs(1);
    let (mut w, mut s1, mut s2) = worker_of_two(now);
    let a = TaskId::new("a").unwrap();
    w.handle_message(now, &s1.say(Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    w.handle_message(now, &s2.say(primary_role(2, "a"))).unwrap();
    w.handle_message(now, &s1.say(Body::TaskRelease(TaskRelease { task: a.clone() }))).unwrap();
    assert_eq!(w.held_tasks().map(|(t, h)| (t.clone(), h.from.clone())).collect::<StdVec<_>>(), vec![(a, id("s2"))]);
}

#[test]
fn a_role_is_a_lease_renewed_by_its_leader_only() {
    let lease = OpsConfig::default().lease_timeout;
    let t0 = Instant::from_secs(100);
    let (mut w, mut s1, mut s2) = worker_of_two(t0);
    let hb = |leading: u64| Body::Heartbeat(Heartbeat { sequence: 1, leading, ..Heartbeat::default() });
    let a = TaskId::new("a").unwrap();
    w.handle_message(t0, &s1.say(Body::LeaderNotice(LeaderNotice { term: 1 }))).unwrap();
    w.handle_message(t0, &s1.say(primary_role(1, "a"))).unwrap();
    assert_eq!(w.held_tasks().next().map(|(_, h)| h.lease_expires), Some(t0 + lease));
    assert!(w.poll_timeout() <= t0 + lease, "poll_timeout accounts for the lease");
    // The leader's heartbeat (naming its term) renews; another supervisor's, or a
    // heartbeat that leads nothing, does not.
    let t1 = t0 + Duration::from_secs(4);
    w.handle_message(t1, &s1.say(hb(1))).unwrap();
    w.handle_message(t1 + Duration::from_secs(1), &s2.say(hb(0))).unwrap();
    w.handle_message(t1 + Duration::from_secs(1), &s1.say(hb(0))).unwrap();
    assert_eq!(w.held_tasks().next().map(|(_, h)| h.lease_expires), Some(t1 + lease));
    // Its heartbeats report the role.
    while w.poll_transmit().is_some() {}
    w.tick(t1 + Duration::from_secs(1));
    let held = core::iter::from_fn(|| w.poll_transmit()).find_map(|t| {
        match Body::decode(crate::auth::seal::parse(&t.bytes).unwrap().body).unwrap() {
            Body::Heartbeat(hb) => Some(hb.held),
            _ => None,
        }
    });
    assert_eq!(
        held.map(|h| h.iter().map(|r| (r.task.clone(), r.term)).collect::<StdVec<_>>()),
        Some(vec![(a.clone(), 1)])
    );
    while w.poll_event().is_some() {}
    // Silence from the leader: the role ends at the deadline, with its own event.
    let mut now = t1;
    while w.held_tasks().count() > 0 {
        now = w.poll_timeout();
        assert!(now <= t1 + lease, "the lease deadline is never missed");
        w.tick(now);
    }
    assert_eq!(now, t1 + lease);
    let events: StdVec<_> = core::iter::from_fn(|| w.poll_event()).map(|e| e.kind).collect();
    assert!(events.contains(&OpsEventKind::LeaseExpired { task: a.clone() }), "{events:?}");
    assert!(w.report_checkpoint(now, &a, checkpoint(1)).is_err(), "the work stopped");
}

/// Every transmit `node` has queued: `(recipient, envelope)`.
fn drain_transmits(node: &mut Node) -> StdVec<(NodeId, StdVec<u8>)> {
    let mut v = StdVec::new();
    while let Some(t) = node.poll_transmit() {
        v.push((t.to, t.bytes));
    }
    v
}

/// The membership announcements among `sent`, by recipient: whether each was signed.
fn announcements(sent: &[(NodeId, StdVec<u8>)]) -> StdVec<(NodeId, bool)> {
    let mut v = StdVec::new();
    for (to, bytes) in sent {
        let u = crate::auth::seal::parse(bytes).unwrap();
        if let Body::Membership(Membership { joining: true, .. }) = Body::decode(u.body).unwrap() {
            v.push((to.clone(), u.kind == crate::auth::AuthKind::Signed));
        }
    }
    v.sort();
    v
}

#[test]
fn a_join_is_repeated_to_supervisors_that_have_not_shown_they_know_this_node() {
    // A join lost on the way left a follower unable to verify this worker's
    // signed checkpoints until the next periodic announcement; a leader that
    // crashed in that window made its successor resume from an older one.
    let t0 = Instant::from_secs(1);
    let (mut w, mut s1, _s2) = worker_of_two(t0);
    drain_transmits(&mut w);
    let hb = w.config.heartbeat_interval;
    let joins_at = |w: &mut Node, n: u64| {
        w.tick(t0 + Duration::from_micros(hb.total_micros() * n));
        announcements(&drain_transmits(w))
    };
    // Heartbeat 1: neither supervisor has shown it holds this node's certificate.
    assert_eq!(joins_at(&mut w, 1), vec![(id("s1"), true), (id("s2"), true)]);
    // s1 MACs to it: it derived the pairwise key from this node's certificate.
    let mac = s1.mac(Body::Heartbeat(Heartbeat::default()), "w");
    w.handle_message(t0 + Duration::from_micros(hb.total_micros() * 3 / 2), &mac).unwrap();
    assert_eq!(joins_at(&mut w, 2), vec![(id("s2"), true)]);
    // Ever sparser: heartbeats 1, 2, 4, 8, ...
    assert_eq!(joins_at(&mut w, 3), vec![]);
    assert_eq!(joins_at(&mut w, 4), vec![(id("s2"), true)]);
}

#[test]
fn the_periodic_announcement_is_signed_only_for_peers_that_may_not_know_this_node() {
    let mut s = solo(NodeRole::Supervisor);
    let t0 = Instant::from_secs(1);
    s.start(t0).unwrap();
    // The join at the start is signed (nobody is admitted yet: it goes to no one here).
    assert!(announcements(&drain_transmits(&mut s)).iter().all(|(_, signed)| *signed));
    let mut w1 = joined(&mut s, t0, "w1", NodeRole::Worker);
    let mut w2 = joined(&mut s, t0, "w2", NodeRole::Worker);
    // Each new member gets this node's certificate in a signed envelope.
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![(id("w1"), true), (id("w2"), true)]);
    // w1 shows it holds this node's certificate: a MAC'd heartbeat, a second
    // before the announcement is due. w2 only signs.
    let t1 = t0 + s.config.membership_interval;
    let second = Duration::from_secs(1);
    s.handle_message(t1 - second, &w1.mac(Body::Heartbeat(Heartbeat::default()), "s")).unwrap();
    s.handle_message(t1 - second, &w2.say(Body::Heartbeat(Heartbeat::default()))).unwrap();
    s.tick(t1);
    let sent = drain_transmits(&mut s);
    assert_eq!(announcements(&sent), vec![(id("w1"), false), (id("w2"), true)]);
    // The MAC'd one is authentic for w1 under the pairwise key, and only for w1.
    let is_announcement = |b: &[u8]| matches!(Body::decode(crate::auth::seal::parse(b).unwrap().body), Ok(Body::Membership(m)) if m.joining);
    let (_, to_w1) = sent.iter().find(|(to, b)| *to == id("w1") && is_announcement(b)).unwrap();
    let u = crate::auth::seal::parse(to_w1).unwrap();
    u.verify_mac(&w1.pairwise("s"), &id("w1"), 1).unwrap();
    assert!(u.verify_mac(&w2.pairwise("s"), &id("w2"), 1).is_err());
    // Nothing heard from w1 for more than three heartbeat intervals: it may
    // have restarted without anything of its new boot reaching this node
    // (before it admits this node it cannot MAC to it), so it gets a signature.
    let t2 = t1 + s.config.membership_interval;
    let stale = t2 - Duration::from_micros(s.config.heartbeat_interval.total_micros() * 3) - second;
    s.handle_message(stale, &w1.mac(Body::Heartbeat(Heartbeat::default()), "s")).unwrap();
    s.tick(t2);
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![(id("w1"), true), (id("w2"), true)]);
    // w1 restarts (a join from a newer boot epoch) right after a MAC'd
    // message of its old boot: it has lost this node's certificate, so the
    // answer to its join and the next announcement to it are signed.
    let t3 = t2 + s.config.membership_interval;
    s.handle_message(t3 - second, &w1.mac(Body::Heartbeat(Heartbeat::default()), "s")).unwrap();
    let certificate = heapless::Vec::from_slice(&w1.certificate).unwrap();
    let rejoin = w1.say_in(2, Body::Membership(Membership { joining: true, certificate }));
    s.handle_message(t3 - second, &rejoin).unwrap();
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![(id("w1"), true)]);
    s.tick(t3);
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![(id("w1"), true), (id("w2"), true)]);
}

#[test]
fn a_member_that_cannot_know_this_node_is_answered_at_each_join_spaced_by_a_heartbeat() {
    let mut s = solo(NodeRole::Supervisor);
    let t0 = Instant::from_secs(1);
    s.start(t0).unwrap();
    let mut w1 = joined(&mut s, t0, "w1", NodeRole::Worker);
    drain_transmits(&mut s);
    let hb = || Body::Heartbeat(Heartbeat::default());
    let certificate = heapless::Vec::from_slice(&w1.certificate).unwrap();
    let join = Body::Membership(Membership { joining: true, certificate });
    // w1 shows in its first boot that it holds this node's certificate; its
    // joins are not answered then (a periodic signed announcement is no
    // sign that it lost anything).
    s.handle_message(t0 + Duration::from_secs(1), &w1.mac(hb(), "s")).unwrap();
    s.handle_message(t0 + Duration::from_secs(5), &w1.say(join.clone())).unwrap();
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![]);
    // w1 restarts, and the first message of its new boot overtakes its
    // join: the join no longer looks like a restart, yet w1 has lost this
    // node's certificate. Before, it was never answered, and w1 refused
    // everything this node sent as from an unknown sender for good.
    let t1 = t0 + Duration::from_secs(10);
    s.handle_message(t1, &w1.say_in(2, hb())).unwrap();
    s.handle_message(t1, &w1.say_in(2, join.clone())).unwrap();
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![(id("w1"), true)]);
    // The answer is lost and w1 joins again: within a heartbeat interval of
    // the answer it is not answered (two nodes answering each other's
    // answers would bounce), one interval later it is.
    let interval = s.config.heartbeat_interval;
    s.handle_message(t1 + interval - Duration::from_millis(1), &w1.say_in(2, join.clone())).unwrap();
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![]);
    s.handle_message(t1 + interval, &w1.say_in(2, join.clone())).unwrap();
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![(id("w1"), true)]);
    // Once w1 MACs in its new boot, its joins are not answered again.
    let t2 = t1 + interval + interval;
    s.handle_message(t2, &w1.mac_in(2, hb(), "s")).unwrap();
    s.handle_message(t2 + interval, &w1.say_in(2, join)).unwrap();
    assert_eq!(announcements(&drain_transmits(&mut s)), vec![]);
}

#[test]
fn a_certificate_leaves_the_roster_at_the_first_tick_after_it_expires() {
    let mut s = solo(NodeRole::Supervisor);
    let t0 = Instant::from_secs(1);
    s.start(t0).unwrap();
    // w1's certificate expires at UNIX0 + 100 s, w2's a year later.
    let mut short = certificate_of("w1", NodeRole::Worker);
    short.not_after = UNIX0 + 100;
    let signed = SignedCertificate::issue(&authority(), short).unwrap();
    let mut w1 = Peer::new("w1", NodeRole::Worker);
    w1.certificate = vec![0u8; signed.encoded_len()];
    signed.encode(&mut w1.certificate).unwrap();
    s.handle_message(t0, &w1.join()).unwrap();
    let mut w2 = joined(&mut s, t0, "w2", NodeRole::Worker);
    let hb = || Body::Heartbeat(Heartbeat::default());
    // Valid until then, ticks or not.
    s.tick(Instant::from_secs(99));
    s.handle_message(Instant::from_secs(99), &w1.say(hb())).unwrap();
    s.tick(Instant::from_secs(100));
    assert_eq!(
        s.handle_message(Instant::from_secs(100), &w1.say(hb())),
        Err(HandleError::Rejected(RejectReason::UnknownSender))
    );
    s.handle_message(Instant::from_secs(100), &w2.say(hb())).unwrap();
    assert_eq!(s.gate.peers().count(), 1);
}

/// A heartbeat numbered `sequence`, sent at `sent_at`, echoing `echo`.
fn heartbeat_echoing(sequence: u64, sent_at: Instant, echo: Option<crate::wire::Echo>) -> Body {
    Body::Heartbeat(Heartbeat { sequence, sent_at, echo, ..Heartbeat::default() })
}

#[test]
fn heartbeats_echo_timestamps_and_the_round_trip_is_smoothed_as_rfc_6298() {
    use crate::wire::Echo;
    let ms = Duration::from_millis;
    let mut n = among("s1", NodeRole::Supervisor, &["s1", "s2"]);
    let t0 = Instant::from_secs(1);
    n.start(t0).unwrap();
    let mut s2 = joined(&mut n, t0, "s2", NodeRole::Supervisor);
    drain_transmits(&mut n);
    // s2's heartbeat (its clock: 500 s) arrives 1 ms after t0.
    n.handle_message(t0 + ms(1), &s2.say(heartbeat_echoing(1, Instant::from_secs(500), None))).unwrap();
    // n's next heartbeat to s2 is MAC'd and echoes it, with the time n held it.
    let t1 = t0 + OpsConfig::default().heartbeat_interval;
    n.tick(t1);
    let echoed: StdVec<_> = drain_transmits(&mut n)
        .into_iter()
        .filter(|(to, _)| *to == id("s2"))
        .filter_map(|(_, bytes)| {
            let u = crate::auth::seal::parse(&bytes).unwrap();
            match Body::decode(u.body).unwrap() {
                Body::Heartbeat(hb) => Some((u.kind, hb.sent_at, hb.echo)),
                _ => None,
            }
        })
        .collect();
    let held = t1.saturating_duration_since(t0 + ms(1));
    let echo = Some(Echo { sent_at: Instant::from_secs(500), held });
    assert_eq!(echoed, [(crate::auth::AuthKind::Mac, t1, echo)]);
    // s2 echoes that heartbeat after holding it 2 ms; it is back 12 ms after
    // it left: a 10 ms round trip, the first sample (RTTVAR = R/2).
    let back = |seq, at: Instant, held| {
        heartbeat_echoing(seq, Instant::from_secs(500 + seq), Some(Echo { sent_at: at, held }))
    };
    n.handle_message(t1 + ms(12), &s2.say(back(2, t1, ms(2)))).unwrap();
    assert_eq!(n.peer_rtt(&id("s2")), Some((ms(10), ms(5))));
    // The same echo again is no second sample.
    n.handle_message(t1 + ms(40), &s2.say(back(3, t1, ms(2)))).unwrap();
    assert_eq!(n.peer_rtt(&id("s2")), Some((ms(10), ms(5))));
    // The next heartbeat, back after 18 ms: RTTVAR = 3/4·5 + 1/4·|10 - 18|,
    // SRTT = 7/8·10 + 1/8·18.
    let t2 = t1 + OpsConfig::default().heartbeat_interval;
    n.tick(t2);
    drain_transmits(&mut n);
    n.handle_message(t2 + ms(18), &s2.say(back(4, t2, Duration::ZERO))).unwrap();
    assert_eq!(n.peer_rtt(&id("s2")), Some((ms(11), Duration::from_micros(5750))));
    // The tunnel's latency is the smoothed round trip.
    let tunnel = n.mesh().tunnel(&id("s1"), &id("s2")).unwrap();
    assert_eq!(tunnel.latency, Some(ms(11)));
    // s2 leaves: its tunnel goes, and the SRTT it held with it.
    let leave = Body::Membership(Membership { joining: false, certificate: heapless::Vec::new() });
    n.handle_message(t2 + ms(30), &s2.say(leave)).unwrap();
    assert!(n.mesh().tunnel(&id("s1"), &id("s2")).is_none());
    assert_eq!(n.peer_rtt(&id("s2")), None);
    // Heard again (its tunnel comes back), with an echo of a heartbeat sent
    // since: a first sample again (SRTT = R, RTTVAR = R/2), not smoothed
    // into the old estimate.
    let t3 = t2 + OpsConfig::default().heartbeat_interval;
    n.tick(t3);
    drain_transmits(&mut n);
    n.handle_message(t3 + ms(6), &s2.say(back(5, t3, Duration::ZERO))).unwrap();
    assert_eq!(n.peer_rtt(&id("s2")), Some((ms(6), ms(3))));
    assert_eq!(n.mesh().tunnel(&id("s1"), &id("s2")).unwrap().latency, Some(ms(6)));
}

/// `peer`'s line in `wg show <if> latest-handshakes`: a handshake at UNIX `secs`.
fn handshake_line(peer: &str, secs: u64) -> std::string::String {
    std::format!("{}\t{secs}\n", crate::mesh::WgKey::placeholder(&id(peer)))
}

/// UNIX seconds at `t` on the test hosts' clocks.
fn unix_at(t: Instant) -> u64 {
    1_000_000 + t.total_micros() / 1_000_000
}

/// Worker `w` hears supervisor `s1` every second from `t0` for 10 s (its host
/// reporting a handshake with s1 at `t0 + 5 s` if `host_reports`), then
/// nothing from it for 30 s, ticked every 250 ms: s1's crash is detected.
/// Returns the worker and the time reached.
fn worker_whose_supervisor_goes_silent(host_reports: bool) -> (Box<Node>, Instant) {
    let t0 = Instant::from_secs(100);
    let (mut w, mut s1, _s2) = worker_of_two(t0);
    let mut now = t0;
    for seq in 1..=10u64 {
        w.handle_message(now, &s1.say(heartbeat_echoing(seq, now, None))).unwrap();
        if host_reports && seq == 5 {
            let r = w.record_latest_handshakes(now, unix_at(now), &handshake_line("s1", unix_at(now)));
            assert_eq!(r.recorded, 1, "{r:?}");
        }
        w.tick(now);
        now += Duration::from_secs(1);
    }
    assert_eq!(w.mesh().tunnel(&id("w"), &id("s1")).map(|t| t.state), Some(TunnelState::Up));
    while w.poll_event().is_some() {}
    let end = now + Duration::from_secs(30);
    let mut detected = false;
    while now < end {
        now += Duration::from_millis(250);
        w.tick(now);
        while let Some(e) = w.poll_event() {
            detected |= e.node == id("s1") && matches!(e.kind, OpsEventKind::CrashDetected { .. });
        }
    }
    assert!(detected, "s1's crash is detected");
    (w, now)
}

use crate::health::NodeStatus;
use crate::mesh::TunnelState;

#[test]
fn without_host_handshakes_a_detected_crash_takes_the_tunnel_and_its_route() {
    let (w, _) = worker_whose_supervisor_goes_silent(false);
    assert!(w.mesh().tunnel(&id("w"), &id("s1")).is_none());
    assert!(w.mesh().route(&id("s1")).is_none_or(|r| r.next_hop.is_none()));
}

#[test]
fn a_detected_crash_leaves_a_tunnel_the_host_reports_handshakes_on() {
    let (mut w, mut now) = worker_whose_supervisor_goes_silent(true);
    // The control plane's verdict does not touch the data plane: the tunnel
    // and the route through it stay.
    assert_eq!(w.mesh().tunnel(&id("w"), &id("s1")).map(|t| t.state), Some(TunnelState::Up));
    assert_eq!(w.mesh().route(&id("s1")).and_then(|r| r.next_hop), Some(&id("s1")));
    // WireGuard keeps handshaking (every 2 minutes): the tunnel stays up
    // however long the control plane is gone.
    let mut last = now;
    let end = now + Duration::from_secs(600);
    while now < end {
        now += Duration::from_millis(250);
        if now.saturating_duration_since(last) >= Duration::from_secs(120) {
            last = now;
        }
        if now.total_micros() % 5_000_000 == 0 {
            w.record_latest_handshakes(now, unix_at(now), &handshake_line("s1", unix_at(last)));
        }
        w.tick(now);
        assert_eq!(w.mesh().tunnel(&id("w"), &id("s1")).map(|t| t.state), Some(TunnelState::Up), "at {now:?}");
    }
    assert_eq!(w.mesh().route(&id("s1")).and_then(|r| r.next_hop), Some(&id("s1")));
    // Only the handshakes take it down: none for 180 s, and it is stale.
    let mut s1 = Peer::new("s1", NodeRole::Supervisor);
    s1.counter = 1_000;
    let stale = last + Duration::from_secs(181);
    let mut seq = 100;
    while now < stale + Duration::from_secs(5) {
        now += Duration::from_millis(250);
        w.tick(now);
        // Heartbeats from s1 again: they no longer count as handshakes.
        if now.total_micros() % 1_000_000 == 0 {
            seq += 1;
            w.handle_message(now, &s1.say(heartbeat_echoing(seq, now, None))).unwrap();
        }
    }
    assert_eq!(w.mesh().tunnel(&id("w"), &id("s1")).map(|t| t.state), Some(TunnelState::Stale));
}

/// s1, silent since `worker_whose_supervisor_goes_silent`, heartbeats `w`
/// again at `now`: s1's status in w's crash detector after it.
fn s1_heard_again(w: &mut Node, s1: &mut Peer, now: Instant) -> NodeStatus {
    s1.counter = s1.counter.max(1_000) + 1;
    w.handle_message(now, &s1.say(heartbeat_echoing(s1.counter, now, None))).unwrap();
    w.crash_recovery().status(&id("s1")).unwrap()
}

#[test]
fn a_peer_whose_tunnel_stayed_up_through_its_crash_is_online_at_its_first_heartbeat() {
    let (mut w, mut now) = worker_whose_supervisor_goes_silent(true);
    assert_eq!(w.crash_recovery().status(&id("s1")), Ok(NodeStatus::Recovering));
    // WireGuard rekeyed meanwhile: the tunnel is still up by the handshakes.
    now += Duration::from_secs(60);
    w.record_latest_handshakes(now, unix_at(now), &handshake_line("s1", unix_at(now)));
    w.tick(now);
    let mut s1 = Peer::new("s1", NodeRole::Supervisor);
    // The data plane vouched for s1 all along: no flap guard.
    assert_eq!(s1_heard_again(&mut w, &mut s1, now + Duration::from_millis(10)), NodeStatus::Online);
    let mut completed = false;
    while let Some(e) = w.poll_event() {
        completed |= e.node == id("s1") && matches!(e.kind, OpsEventKind::RecoveryCompleted { .. });
    }
    assert!(completed);
    // A later crash whose tunnel the handshakes do not keep up (none
    // reported: stale after 180 s, then down) needs two heartbeats again.
    let mut t = now;
    for _ in 0..10 {
        t += Duration::from_secs(1);
        s1_heard_again(&mut w, &mut s1, t);
        w.tick(t);
    }
    let end = t + Duration::from_secs(200);
    while t < end {
        t += Duration::from_millis(250);
        w.tick(t);
    }
    assert_eq!(w.mesh().tunnel(&id("w"), &id("s1")).map(|t| t.state), Some(TunnelState::Down));
    assert_eq!(s1_heard_again(&mut w, &mut s1, t), NodeStatus::Recovering);
    assert_eq!(s1_heard_again(&mut w, &mut s1, t + Duration::from_secs(1)), NodeStatus::Online);
}

#[test]
fn a_peer_without_host_handshakes_still_needs_two_heartbeats_to_recover() {
    let (mut w, now) = worker_whose_supervisor_goes_silent(false);
    let mut s1 = Peer::new("s1", NodeRole::Supervisor);
    assert_eq!(s1_heard_again(&mut w, &mut s1, now), NodeStatus::Recovering);
    assert_eq!(s1_heard_again(&mut w, &mut s1, now + Duration::from_secs(1)), NodeStatus::Online);
}

#[test]
fn a_peer_whose_tunnel_left_up_during_its_crash_needs_two_heartbeats() {
    let (mut w, mut now) = worker_whose_supervisor_goes_silent(true);
    // No handshake reported after the last one (at 105 s): the tunnel goes
    // stale 180 s later, during the cut.
    while w.mesh().tunnel(&id("w"), &id("s1")).is_some_and(|t| t.state == TunnelState::Up) {
        now += Duration::from_millis(250);
        w.tick(now);
    }
    assert!(now >= Instant::from_secs(100 + 5 + 180), "{now:?}");
    assert_eq!(w.mesh().tunnel(&id("w"), &id("s1")).map(|t| t.state), Some(TunnelState::Stale));
    // WireGuard handshakes again before s1's heartbeats return: the tunnel is
    // up now, but it did not stay up through the crash.
    w.record_latest_handshakes(now, unix_at(now), &handshake_line("s1", unix_at(now)));
    assert_eq!(w.mesh().tunnel(&id("w"), &id("s1")).map(|t| t.state), Some(TunnelState::Up));
    let mut s1 = Peer::new("s1", NodeRole::Supervisor);
    assert_eq!(s1_heard_again(&mut w, &mut s1, now), NodeStatus::Recovering);
    assert_eq!(s1_heard_again(&mut w, &mut s1, now + Duration::from_secs(1)), NodeStatus::Online);
}

#[test]
fn a_worker_that_lost_its_leader_follows_it_again_at_its_first_heartbeat() {
    let t0 = Instant::from_secs(100);
    let (mut w, mut s1, _s2) = worker_of_two(t0);
    let hb = |sequence: u64, leading: u64| Body::Heartbeat(Heartbeat { sequence, leading, ..Heartbeat::default() });
    w.handle_message(t0, &s1.say(Body::LeaderNotice(LeaderNotice { term: 3 }))).unwrap();
    let mut now = t0;
    for seq in 1..=10u64 {
        w.handle_message(now, &s1.say(hb(seq, 3))).unwrap();
        w.tick(now);
        now += Duration::from_secs(1);
    }
    assert_eq!(w.leader().map(|(n, t)| (n.clone(), t)), Some((id("s1"), 3)));
    while w.leader().is_some() {
        now += Duration::from_millis(250);
        w.tick(now);
        assert!(now < t0 + Duration::from_secs(60), "the silent leader's crash is detected");
    }
    // A heartbeat that leads nothing, or another term, is no notice.
    w.handle_message(now, &s1.say(hb(11, 0))).unwrap();
    assert_eq!(w.leader(), None);
    w.handle_message(now, &s1.say(hb(12, 2))).unwrap();
    assert_eq!(w.leader(), None);
    // The leader's heartbeat naming the term it is known to lead: followed at once.
    w.handle_message(now, &s1.say(hb(13, 3))).unwrap();
    assert_eq!(w.leader().map(|(n, t)| (n.clone(), t)), Some((id("s1"), 3)));
}

/// Jitter around a stable mean re-advertises nothing between refreshes; a
/// real shift of the mean is advertised at once, without waiting for one.
#[test]
fn latency_jitter_is_not_advertised_and_a_real_shift_is() {
    use crate::wire::Echo;
    let ms = Duration::from_millis;
    let mut n = among("s1", NodeRole::Supervisor, &["s1", "s2"]);
    let t0 = Instant::from_secs(1);
    n.start(t0).unwrap();
    let mut s2 = joined(&mut n, t0, "s2", NodeRole::Supervisor);
    let mut rng = crate::Rng::new(7);
    // n's adverts: when, and the latency of its link with s2.
    let mut adverts: StdVec<(Instant, Duration)> = StdVec::new();
    // Smoothed RTTs at the tunnel checks (every 5 s), to show the jitter.
    let mut srtts: StdVec<(Instant, Duration)> = StdVec::new();
    let mut seq = 0;
    // One second: n ticks (a heartbeat, a tunnel check every 5 s), and s2's
    // reply echoes it after a round trip of two one-way delays in `one_way` ms.
    let mut second = |n: &mut Node, t: Instant, one_way: (u64, u64), adverts: &mut StdVec<_>, srtts: &mut StdVec<_>| {
        n.tick(t);
        for (to, bytes) in drain_transmits(n) {
            let u = crate::auth::seal::parse(&bytes).unwrap();
            if let (true, Ok(Body::SignedLinkState(a))) = (to == id("s2"), Body::decode(u.body))
                && a.origin == id("s1")
            {
                let link = a.state.links.iter().find(|l| l.neighbor == id("s2")).unwrap();
                adverts.push((t, link.latency));
            }
        }
        if t.total_micros().is_multiple_of(5_000_000)
            && let Some((srtt, _)) = n.peer_rtt(&id("s2"))
        {
            srtts.push((t, srtt));
        }
        let r = rng.in_range(one_way.0, one_way.1 + 1) + rng.in_range(one_way.0, one_way.1 + 1);
        seq += 1;
        let hb = heartbeat_echoing(seq, Instant::from_secs(500 + seq), Some(Echo { sent_at: t, held: Duration::ZERO }));
        n.handle_message(t + ms(r), &s2.say(hb)).unwrap();
    };
    // 1–50 ms each way (the simulator's jittery network) for 10 minutes.
    let mut t = t0;
    for _ in 0..600 {
        t += Duration::from_secs(1);
        second(&mut n, t, (1, 50), &mut adverts, &mut srtts);
    }
    // Past the first minute (the tunnel coming up, its first samples), only
    // the refresh re-advertises: every 6 tunnel checks.
    let settled = t0 + Duration::from_secs(60);
    let refresh = OpsConfig::default().tunnel_check_interval.saturating_mul(6);
    let steady: StdVec<_> = adverts.iter().filter(|(at, _)| *at >= settled).collect();
    assert!(steady.len() >= 15, "{adverts:?}");
    for w in steady.windows(2) {
        assert_eq!(w[1].0.saturating_duration_since(w[0].0), refresh, "re-advertised on jitter: {adverts:?}");
    }
    // The jitter was real: the smoothed RTT at a check was more than a tenth
    // (the old test) off the latency last advertised at least 10 times.
    let mut off_by_a_tenth = 0;
    for (at, srtt) in srtts.iter().filter(|(at, _)| *at >= settled) {
        let last = adverts.iter().rev().find(|(a, _)| a < at).unwrap().1;
        if srtt.total_micros().abs_diff(last.total_micros()) * 10 > last.total_micros() {
            off_by_a_tenth += 1;
        }
    }
    assert!(off_by_a_tenth >= 10, "{off_by_a_tenth} of {} checks", srtts.len());
    // The path's delay grows by 50 ms each way (a route change upstream,
    // say): advertised within three tunnel checks, before any refresh.
    let before = adverts.len();
    let (last, shift) = (adverts[before - 1].0, t);
    for _ in 0..30 {
        t += Duration::from_secs(1);
        second(&mut n, t, (51, 100), &mut adverts, &mut srtts);
    }
    let (at, latency) = adverts[before];
    assert!(at.saturating_duration_since(last) < refresh, "waited for the refresh: {:?}", &adverts[before - 1..]);
    assert!(at.saturating_duration_since(shift) <= Duration::from_secs(15), "{at:?} after {shift:?}");
    assert!(latency > ms(100), "{latency:?}");
}

/// The heartbeats `node` sends at its next `rounds` heartbeat ticks after
/// `t0`: each round's sequence number, send time and recipients (sorted).
fn heartbeat_rounds(node: &mut Node, t0: Instant, rounds: u64) -> StdVec<(u64, Instant, StdVec<NodeId>)> {
    heartbeat_rounds_with(node, t0, rounds, &mut |_, _| {})
}

/// [`heartbeat_rounds`], with `before(node, at)` run before each tick.
fn heartbeat_rounds_with(
    node: &mut Node,
    t0: Instant,
    rounds: u64,
    before: &mut dyn FnMut(&mut Node, Instant),
) -> StdVec<(u64, Instant, StdVec<NodeId>)> {
    let hb = node.config.heartbeat_interval.total_micros();
    let mut v = StdVec::new();
    for n in 1..=rounds {
        let at = t0 + Duration::from_micros(hb * n);
        before(node, at);
        node.tick(at);
        let mut sent = None;
        let mut to = StdVec::new();
        for (peer, bytes) in drain_transmits(node) {
            let u = crate::auth::seal::parse(&bytes).unwrap();
            if let Body::Heartbeat(h) = Body::decode(u.body).unwrap() {
                sent = Some((h.sequence, h.sent_at));
                to.push(peer);
            }
        }
        to.sort();
        let (seq, at) = sent.unwrap();
        v.push((seq, at, to));
    }
    v
}

/// For [`super::rtt::SETTLED_SAMPLES`] heartbeat intervals from `t0`, each of
/// `peers` answers each of `node`'s heartbeats 10 ms later, echoing it: the
/// tunnels' latency settles. Returns the last heartbeat's time.
fn settle_latency(node: &mut Node, peers: &mut [&mut Peer], t0: Instant) -> Instant {
    settle_latency_with(node, peers, t0, &mut |_, _| {})
}

/// [`settle_latency`], with `before(node, at)` run before each tick.
fn settle_latency_with(
    node: &mut Node,
    peers: &mut [&mut Peer],
    t0: Instant,
    before: &mut dyn FnMut(&mut Node, Instant),
) -> Instant {
    let mut last = t0;
    for _ in 0..super::rtt::SETTLED_SAMPLES {
        let (_, sent_at, _) = heartbeat_rounds_with(node, last, 1, before).remove(0);
        for p in peers.iter_mut() {
            let echo = Some(crate::wire::Echo { sent_at, held: Duration::ZERO });
            let hb = p.say(heartbeat_echoing(1, sent_at, echo));
            node.handle_message(sent_at + Duration::from_millis(10), &hb).unwrap();
        }
        drain_transmits(node);
        last = sent_at;
    }
    for p in peers.iter() {
        assert!(node.mesh.latency_settled(&p.id));
    }
    last
}

fn spaced_config() -> OpsConfig {
    OpsConfig { follower_heartbeat_every: 3, ..OpsConfig::default() }
}

#[test]
fn a_follower_heartbeats_workers_every_third_interval_and_supervisors_every_one() {
    let sups = [id("s"), id("s2")];
    let mut s = Node::new_boxed(
        id("s"),
        NodeRole::Supervisor,
        &sups,
        spaced_config(),
        1,
        credentials_of("s", NodeRole::Supervisor),
    )
    .unwrap();
    let t0 = Instant::from_secs(1);
    s.start(t0).unwrap();
    let mut s2 = joined(&mut s, t0, "s2", NodeRole::Supervisor);
    let mut w = joined(&mut s, t0, "w", NodeRole::Worker);
    drain_transmits(&mut s);
    // No leader named yet (a node in doubt): every heartbeat to everyone.
    let rounds = heartbeat_rounds(&mut s, t0, 2);
    assert!(rounds.iter().all(|r| r.2 == vec![id("s2"), id("w")]));
    // s2 leads term 1 and keeps saying so.
    let mut leads = |n: &mut Node, at: Instant| {
        n.handle_message(at, &s2.say(Body::LeaderHeartbeat(crate::wire::LeaderHeartbeat { term: 1 }))).unwrap();
    };
    // The worker's tunnel latency has not settled yet: it hears every heartbeat until it has.
    let rounds = heartbeat_rounds_with(&mut s, rounds[1].1, 3, &mut leads);
    assert!(rounds.iter().all(|r| r.2 == vec![id("s2"), id("w")]));
    let t1 = settle_latency_with(&mut s, &mut [&mut w], rounds[2].1, &mut leads);
    let rounds = heartbeat_rounds_with(&mut s, t1, 4, &mut leads);
    assert_eq!(s.election().unwrap().leader(), Some(&id("s2")));
    for (seq, _, to) in rounds {
        let expected = if seq % 3 == 0 { vec![id("s2"), id("w")] } else { vec![id("s2")] };
        assert_eq!(to, expected, "heartbeat {seq}");
    }
}

#[test]
fn a_worker_heartbeats_its_leader_every_interval_and_the_followers_every_third() {
    let sups = [id("s1"), id("s2"), id("s3")];
    let mut w =
        Node::new_boxed(id("w"), NodeRole::Worker, &sups, spaced_config(), 1, credentials_of("w", NodeRole::Worker))
            .unwrap();
    let t0 = Instant::from_secs(1);
    w.start(t0).unwrap();
    let mut s1 = joined(&mut w, t0, "s1", NodeRole::Supervisor);
    let mut s2 = joined(&mut w, t0, "s2", NodeRole::Supervisor);
    let mut s3 = joined(&mut w, t0, "s3", NodeRole::Supervisor);
    drain_transmits(&mut w);
    // No leader known yet: every supervisor at every interval.
    let rounds = heartbeat_rounds(&mut w, t0, 3);
    for (seq, _, to) in &rounds {
        assert_eq!(*to, sups.to_vec(), "heartbeat {seq}");
    }
    let t1 = rounds[2].1;
    w.handle_message(t1, &s1.say(Body::LeaderNotice(LeaderNotice { term: 3 }))).unwrap();
    assert_eq!(w.leader().map(|(n, _)| n.clone()), Some(id("s1")));
    // Leader known, but the followers' tunnel latency not settled: still every interval.
    let rounds = heartbeat_rounds(&mut w, t1, 3);
    for (seq, _, to) in &rounds {
        assert_eq!(*to, sups.to_vec(), "heartbeat {seq}");
    }
    let t2 = settle_latency(&mut w, &mut [&mut s2, &mut s3], rounds[2].1);
    let rounds = heartbeat_rounds(&mut w, t2, 6);
    for (seq, _, to) in &rounds {
        let expected = if seq % 3 == 0 { sups.to_vec() } else { vec![id("s1")] };
        assert_eq!(*to, expected, "heartbeat {seq}");
    }
    // The leader goes silent (the followers do not): once its crash is
    // detected, the worker follows no leader and heartbeats everyone again.
    let mut now = rounds[5].1;
    for seq in 1..=5u64 {
        now += Duration::from_secs(1);
        let hb = Body::Heartbeat(Heartbeat { sequence: seq, leading: 3, ..Heartbeat::default() });
        w.handle_message(now, &s1.say(hb)).unwrap();
        w.tick(now);
        drain_transmits(&mut w);
    }
    let mut beat = 0u64;
    while w.leader().is_some() {
        now += Duration::from_millis(250);
        beat += 1;
        if beat.is_multiple_of(12) {
            w.handle_message(now, &s2.say(heartbeat_echoing(beat, now, None))).unwrap();
            w.handle_message(now, &s3.say(heartbeat_echoing(beat, now, None))).unwrap();
        }
        w.tick(now);
        drain_transmits(&mut w);
        assert!(now < t2 + Duration::from_secs(60), "the silent leader's crash is detected");
    }
    for (seq, _, to) in heartbeat_rounds(&mut w, now, 3) {
        assert_eq!(to, sups.to_vec(), "heartbeat {seq}");
    }
}

/// Whether follower `s` (configured with `config`) takes worker `w`'s
/// heartbeats every 3 s, three of them lost in a row early on (12 s of
/// silence), for a
/// crash.
fn follower_suspects_a_sparse_worker(config: OpsConfig) -> bool {
    let sups = [id("s"), id("s2")];
    let mut s =
        Node::new_boxed(id("s"), NodeRole::Supervisor, &sups, config, 1, credentials_of("s", NodeRole::Supervisor))
            .unwrap();
    let t0 = Instant::from_secs(1);
    s.start(t0).unwrap();
    let mut s2 = joined(&mut s, t0, "s2", NodeRole::Supervisor);
    let mut w = joined(&mut s, t0, "w", NodeRole::Worker);
    let mut crashed = false;
    for q in 1..=(4 * 60u64) {
        let now = t0 + Duration::from_millis(250 * q);
        let secs = q / 4;
        if q % 4 == 0 {
            s.handle_message(now, &s2.say(Body::LeaderHeartbeat(crate::wire::LeaderHeartbeat { term: 1 }))).unwrap();
            if secs % 3 == 0 && !(6..=12).contains(&secs) {
                s.handle_message(now, &w.say(heartbeat_echoing(secs, now, None))).unwrap();
            }
        }
        s.tick(now);
        drain_transmits(&mut s);
        while let Some(e) = s.poll_event() {
            crashed |= e.node == id("w") && matches!(e.kind, OpsEventKind::CrashDetected { .. });
        }
    }
    crashed
}

#[test]
fn a_follower_expects_a_worker_at_the_spaced_rate() {
    assert!(!follower_suspects_a_sparse_worker(spaced_config()));
    // The same heartbeats at the full-rate expectation are a crash.
    assert!(follower_suspects_a_sparse_worker(OpsConfig::default()));
}

#[test]
fn a_spacing_needs_the_first_estimate_to_be_the_heartbeat_interval() {
    let build = |c: OpsConfig| {
        Node::new_boxed(id("w"), NodeRole::Worker, &[id("s")], c, 1, credentials_of("w", NodeRole::Worker))
    };
    let mut config = spaced_config();
    config.heartbeat_interval = Duration::from_secs(3);
    config.lease_timeout = Duration::from_secs(18);
    assert!(build(config.clone()).is_err());
    config.crash.phi.first_heartbeat_estimate = config.heartbeat_interval;
    assert!(build(config).is_ok());
}

#[test]
fn a_heartbeat_spacing_of_zero_is_refused() {
    let config = OpsConfig { follower_heartbeat_every: 0, ..OpsConfig::default() };
    let built =
        Node::new_boxed(id("w"), NodeRole::Worker, &[id("s")], config, 1, credentials_of("w", NodeRole::Worker));
    assert!(built.is_err());
}
