//! One test per attack the authenticated cluster is built against: each
//! builds a node in a known state, delivers the attacker's datagram, and
//! asserts that it was refused (with its reason) or ignored, and that the
//! node's state is what it was ([`digest`]). A failing test names its attack.
//!
//! Attackers: an *outsider* holds no certificate of this cluster (it signs
//! with keys of its own, or a rogue authority's certificates) and replays
//! what it overheard; an *insider* is a member with a genuine certificate
//! (a worker, or a supervisor that does not lead) sending what its role or
//! term does not allow.

use super::tests::*;
use super::*;
use crate::auth::{IdentityKey, SignedCertificate};
use crate::election::Role as ElectionRole;
use crate::time::Duration;
use crate::wire::{HeartbeatResponse, LeaderHeartbeat, LinkAdvert, LinkState, TaskEntry, TaskTable};
use crate::workers::TaskRole;
use std::format;
use std::string::String;
use std::vec;
use std::vec::Vec as StdVec;

const SUPS: [&str; 3] = ["s1", "s2", "s3"];

/// Everything a datagram could change in `n`, except its counters (a
/// refused datagram is counted) and the history's statistics (an ignored one
/// is recorded): equal before and after a datagram that changed nothing.
pub(super) fn digest(n: &Node, now: Instant) -> String {
    let mut status = n.status(now);
    status.counters = OpsCounters::default();
    status.compression = Default::default();
    let members: StdVec<_> = n.members().collect();
    let mut workers = String::new();
    if let Some(w) = n.workers() {
        for t in w.tasks() {
            if let Some(v) = w.task(t) {
                let p: StdVec<_> = v.primaries().collect();
                let b: StdVec<_> = v.backups().collect();
                workers += &format!("{t}:{p:?}/{b:?}@{:?};", v.checkpoint());
            }
        }
        for m in &members {
            workers += &format!("{}={:?};", m.node, w.worker(&m.node));
        }
    }
    let held: StdVec<_> = n.held_tasks().collect();
    let tasks: StdVec<_> = n.tasks().collect();
    let crash: StdVec<_> = n.crash_recovery().nodes().map(|v| (v.id.clone(), v.status)).collect();
    let mesh: StdVec<_> = n.mesh().nodes().map(|v| format!("{v:?}")).collect();
    let election = n.election().map(|e| (e.term(), e.role(), e.leader().cloned(), e.voted_for().cloned()));
    // Routes, whether anything they depend on changed, every tunnel's latency,
    // and the adverts and endpoint records taken on.
    let routes: StdVec<_> = n.mesh().routes().map(|r| format!("{r:?}")).collect();
    let tunnels: StdVec<_> = n.mesh().tunnels().map(|t| (t.a.clone(), t.b.clone(), t.state, t.latency)).collect();
    let records: StdVec<_> = members
        .iter()
        .map(|m| (n.mesh.advert_sequence(&m.node), n.mesh.endpoint_sequence(&m.node), n.peer_rtt(&m.node)))
        .collect();
    let outdated = n.mesh().routes_outdated();
    format!(
        "{status:?}|{held:?}|{tasks:?}|{members:?}|{workers}|{crash:?}|{mesh:?}|{election:?}|{:?}|{routes:?}|{tunnels:?}|{records:?}|{outdated}",
        n.pending()
    )
}

/// What the node must make of the attacker's datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Refused at the entrance, counted under the reason.
    Refused(RejectReason),
    /// Authentic but stale or not for this node: taken by nothing, counted.
    Ignored,
}

/// Delivers `bytes` to the drained node `n` at `now`; asserts `outcome`, that
/// its state is unchanged and that it has nothing to send.
pub(super) fn strike(attack: &str, n: &mut Node, now: Instant, bytes: &[u8], outcome: Outcome) {
    drain(n);
    let before = digest(n, now);
    let counters = *n.counters();
    let history = n.history().stats();
    let result = n.handle_message(now, bytes);
    match outcome {
        Outcome::Refused(reason) => {
            assert_eq!(result, Err(HandleError::Rejected(reason)), "{attack}: not refused as {reason}");
            assert_eq!(n.counters().rejected.get(reason), counters.rejected.get(reason) + 1, "{attack}: not counted");
            assert_eq!(n.history().stats(), history, "{attack}: a refused message was recorded");
            assert_eq!(n.counters().messages_received, counters.messages_received, "{attack}");
        }
        Outcome::Ignored => {
            assert_eq!(result, Ok(()), "{attack}: refused");
            assert_eq!(n.counters().messages_ignored, counters.messages_ignored + 1, "{attack}: not ignored");
        }
    }
    assert_eq!(digest(n, now), before, "{attack}: the node's state changed");
    assert!(n.poll_transmit().is_none(), "{attack}: the node answered");
}

/// Takes everything the node has to say.
pub(super) fn drain(n: &mut Node) {
    while n.poll_hard_state().is_some() {}
    while n.poll_transmit().is_some() {}
    while n.poll_event().is_some() {}
}

/// A member's id with someone else's key: what an outsider signs a forgery with.
fn forger(victim: &str) -> Peer {
    let mut p = Peer::new(victim, NodeRole::Worker);
    p.key = IdentityKey::from_seed(&[0x66; 32]);
    p.counter = 1 << 40;
    p
}

/// A join in `name`'s name with a certificate from the attacker's own
/// authority (claiming `slots` slots), signed with the attacker's key.
fn rogue_join(name: &str, role: NodeRole, slots: u16) -> StdVec<u8> {
    let rogue_authority = IdentityKey::from_seed(&[0x77; 32]);
    let key = IdentityKey::from_seed(&[0x78; 32]);
    let mut cert = certificate_of(name, role);
    cert.identity = key.public();
    cert.slots = slots;
    cert.wg_key = crate::mesh::WgKey::placeholder(&id("attacker"));
    let signed = SignedCertificate::issue(&rogue_authority, cert).unwrap();
    let mut certificate = vec![0u8; signed.encoded_len()];
    signed.encode(&mut certificate).unwrap();
    let mut p = Peer { id: id(name), key, certificate, counter: 1 << 40 };
    p.join()
}

/// A worker `w` among supervisors s1..s3, following s1 as the leader of term
/// 2 and holding task `t` from it as primary at checkpoint #5. Peers: the
/// three supervisors and another worker `w2`.
struct WorkerScene {
    n: Box<Node>,
    now: Instant,
    s1: Peer,
    s2: Peer,
    w2: Peer,
    /// s1's assignment of `t`, as delivered.
    assignment: StdVec<u8>,
}

fn task() -> TaskId {
    TaskId::new("t").unwrap()
}

fn worker_scene() -> WorkerScene {
    let mut n = among("w", NodeRole::Worker, &SUPS);
    let now = Instant::from_secs(1);
    n.start(now).unwrap();
    let mut s1 = joined(&mut n, now, "s1", NodeRole::Supervisor);
    let s2 = joined(&mut n, now, "s2", NodeRole::Supervisor);
    let _s3 = joined(&mut n, now, "s3", NodeRole::Supervisor);
    let w2 = Peer::new("w2", NodeRole::Worker);
    n.handle_message(now, &s1.say(Body::LeaderNotice(LeaderNotice { term: 2 }))).unwrap();
    let assignment = s1.say(primary_role(2, "t"));
    n.handle_message(now, &assignment).unwrap();
    n.report_checkpoint(now, &task(), checkpoint(5)).unwrap();
    assert_eq!(n.leader().map(|(l, t)| (l.clone(), t)), Some((id("s1"), 2)));
    let mut w = WorkerScene { n, now, s1, s2, w2, assignment };
    // w2 is a member too (the worker does not admit workers' joins: it keeps
    // no roster entry for them unless they announce; here it does).
    let join = w.w2.join();
    w.n.handle_message(now, &join).unwrap();
    drain(&mut w.n);
    w
}

/// Supervisor s1 among s1..s3, elected leader (s2 votes for it), with workers
/// `w` (primary of `t` at checkpoint #5) and `w2` (its backup). Peers: s2, s3, w, w2.
struct LeaderScene {
    n: Box<Node>,
    now: Instant,
    s2: Peer,
    s3: Peer,
    w: Peer,
    w2: Peer,
}

/// Ticks `n` (s1) until it leads, `voter` granting every vote it asks for.
fn elect_only(n: &mut Node, voter: &mut Peer, mut now: Instant) -> Instant {
    for _ in 0..2000 {
        now += Duration::from_millis(10);
        n.tick(now);
        drain(n);
        let Some(e) = n.election() else { break };
        let answer = match e.role() {
            ElectionRole::PreCandidate => {
                Some(Body::PreVoteResponse(crate::wire::VoteResponse { term: e.term() + 1, granted: true }))
            }
            ElectionRole::Candidate => {
                Some(Body::VoteResponse(crate::wire::VoteResponse { term: e.term(), granted: true }))
            }
            ElectionRole::Leader => break,
            ElectionRole::Follower => None,
        };
        if let Some(body) = answer {
            n.handle_message(now, &voter.say(body)).unwrap();
            drain(n);
        }
    }
    assert!(n.is_leader(), "s1 was not elected");
    now
}

/// [`elect_only`], then the voter's (empty) table completes the new
/// leader's gather.
fn elect(n: &mut Node, voter: &mut Peer, now: Instant) -> Instant {
    let now = elect_only(n, voter, now);
    let term = n.election().unwrap().term();
    n.handle_message(now, &voter.say(report_table(term, 0, 1, &[]))).unwrap();
    drain(n);
    now
}

/// Part `part` of `parts` of a supervisor's table for the leader of `term`.
pub(super) fn report_table(term: u64, part: u16, parts: u16, entries: &[TaskEntry]) -> Body {
    let entries = heapless::Vec::from_slice(entries).unwrap();
    Body::TableReport(crate::wire::TableReport { term, part, parts, entries })
}

fn leader_scene() -> LeaderScene {
    let mut n = among("s1", NodeRole::Supervisor, &SUPS);
    let now = Instant::from_secs(1);
    n.start(now).unwrap();
    let mut s2 = joined(&mut n, now, "s2", NodeRole::Supervisor);
    let s3 = joined(&mut n, now, "s3", NodeRole::Supervisor);
    let mut w = joined(&mut n, now, "w", NodeRole::Worker);
    let now = elect(&mut n, &mut s2, now);
    let mut w2 = joined(&mut n, now, "w2", NodeRole::Worker);
    n.handle_message(now, &w.say(Body::Heartbeat(Heartbeat { sequence: 1, ..Heartbeat::default() }))).unwrap();
    n.handle_message(now, &w2.say(Body::Heartbeat(Heartbeat { sequence: 1, ..Heartbeat::default() }))).unwrap();
    n.submit_task(now, task(), train(), 1, 1).unwrap();
    let view = n.workers().unwrap().task(&task()).expect("the leader assigned t");
    assert_eq!(view.primaries().next(), Some(&id("w")));
    assert_eq!(view.backups().next(), Some(&id("w2")));
    let bytes = w.say(report(&w, 5));
    n.handle_message(now, &bytes).unwrap();
    assert_eq!(n.tasks().find(|(t, _)| **t == task()).unwrap().1.checkpoint, Some(checkpoint(5)));
    drain(&mut n);
    LeaderScene { n, now, s2, s3, w, w2 }
}

/// Supervisor s1 among s1..s3, following s2 (leader of term 1, heard by its
/// leader heartbeat), with task `t` at checkpoint #5 from s2's table. Peers:
/// s2, s3, w. `heartbeat` is s2's leader heartbeat as delivered.
struct FollowerScene {
    n: Box<Node>,
    now: Instant,
    s2: Peer,
    s3: Peer,
    w: Peer,
    heartbeat: StdVec<u8>,
}

/// `task`'s table entry at checkpoint `seq`, signed by `primary` with `key`.
fn entry_signed(task: &str, seq: u64, primary: &str, key: &IdentityKey) -> TaskEntry {
    let (t, c) = (TaskId::new(task).unwrap(), checkpoint(seq));
    let signature = crate::auth::sign_checkpoint(key, &authority().public(), &t, &id(primary), &c).into();
    TaskEntry {
        task: t,
        task_type: train(),
        required: 1,
        backups: 0,
        checkpoint: Some(c),
        proof: Some(crate::wire::CheckpointProof { primary: id(primary), signature }),
    }
}

/// A one-task slice of a table of `term`: `task` at checkpoint `seq`, signed
/// by `primary` with `key`.
fn table_signed(term: u64, task: &str, seq: u64, primary: &str, key: &IdentityKey) -> Body {
    let mut entries = heapless::Vec::new();
    entries.push(entry_signed(task, seq, primary, key)).unwrap();
    Body::TaskTable(TaskTable { term, entries })
}

/// A one-task slice of a table of `term`: `task` at checkpoint `seq`, signed by worker `w`.
fn table(term: u64, task: &str, seq: u64) -> Body {
    table_signed(term, task, seq, "w", &identity_of("w"))
}

fn follower_scene() -> FollowerScene {
    let mut n = among("s1", NodeRole::Supervisor, &SUPS);
    let now = Instant::from_secs(1);
    n.start(now).unwrap();
    let mut s2 = joined(&mut n, now, "s2", NodeRole::Supervisor);
    let s3 = joined(&mut n, now, "s3", NodeRole::Supervisor);
    let w = joined(&mut n, now, "w", NodeRole::Worker);
    let heartbeat = s2.say(Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 }));
    n.handle_message(now, &heartbeat).unwrap();
    assert_eq!(n.election().unwrap().leader(), Some(&id("s2")));
    n.handle_message(now, &s2.say(table(1, "t", 5))).unwrap();
    assert_eq!(n.tasks().find(|(t, _)| **t == task()).unwrap().1.checkpoint, Some(checkpoint(5)));
    drain(&mut n);
    FollowerScene { n, now, s2, s3, w, heartbeat }
}

/// `signer`'s checkpoint report of `t` at `seq`, signed as `as_primary`'s
/// (itself, unless the test forges).
fn report_of(signer: &IdentityKey, as_primary: &str, t: &str, seq: u64) -> Body {
    let t = TaskId::new(t).unwrap();
    let c = checkpoint(seq);
    let signature = crate::auth::sign_checkpoint(signer, &authority().public(), &t, &id(as_primary), &c).into();
    Body::CheckpointReport(CheckpointReport { task: t, checkpoint: c, signature })
}

/// `p`'s genuine report of `t` at `seq`.
fn report(p: &Peer, seq: u64) -> Body {
    report_of(&p.key, p.id.as_str(), "t", seq)
}

fn heartbeat() -> Body {
    Body::Heartbeat(Heartbeat { sequence: 99, ..Heartbeat::default() })
}

/// One named test per attack: `attack!(name, |scene| ...)`.
macro_rules! attack {
    ($name:ident, $body:expr) => {
        #[test]
        fn $name() {
            let f: fn(&str) = $body;
            f(stringify!($name));
        }
    };
}

use Outcome::{Ignored, Refused};
use RejectReason::*;

// ----- keep a crashed worker alive -----

attack!(keep_a_crashed_worker_alive_with_forged_heartbeats, |name| {
    let mut l = leader_scene();
    let forged = forger("w").say(heartbeat());
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
});

attack!(keep_a_crashed_worker_alive_with_replayed_heartbeats, |name| {
    let mut l = leader_scene();
    let genuine = l.w.say(heartbeat());
    l.n.handle_message(l.now, &genuine).unwrap();
    strike(name, &mut l.n, l.now, &genuine, Refused(Replayed));
});

// ----- the leader -----

attack!(replayed_leader_heartbeat_hides_a_dead_leader, |name| {
    let mut f = follower_scene();
    let replay = f.heartbeat.clone();
    strike(name, &mut f.n, f.now, &replay, Refused(Replayed));
});

attack!(fake_leader_by_one_forged_leader_notice, |name| {
    let mut w = worker_scene();
    let forged = forger("s2").say(Body::LeaderNotice(LeaderNotice { term: u64::MAX }));
    strike(name, &mut w.n, w.now, &forged, Refused(BadSignature));
});

attack!(fake_leader_by_a_worker_members_leader_notice, |name| {
    let mut w = worker_scene();
    let notice = w.w2.say(Body::LeaderNotice(LeaderNotice { term: u64::MAX }));
    strike(name, &mut w.n, w.now, &notice, Refused(NotAuthorized));
});

attack!(fake_leader_by_a_supervisor_that_does_not_lead_the_term, |name| {
    let mut w = worker_scene();
    let notice = w.s2.say(Body::LeaderNotice(LeaderNotice { term: 2 }));
    strike(name, &mut w.n, w.now, &notice, Refused(NotLeader));
});

attack!(depose_the_leader_with_forged_leader_heartbeats, |name| {
    let mut l = leader_scene();
    let forged = forger("s2").say(Body::LeaderHeartbeat(LeaderHeartbeat { term: u64::MAX }));
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
});

attack!(depose_the_leader_with_a_worker_members_leader_heartbeat, |name| {
    let mut l = leader_scene();
    let forged = l.w.say(Body::LeaderHeartbeat(LeaderHeartbeat { term: u64::MAX }));
    strike(name, &mut l.n, l.now, &forged, Refused(NotAuthorized));
});

attack!(depose_the_leader_with_a_leader_heartbeat_for_its_own_term, |name| {
    let mut l = leader_scene();
    let term = l.n.election().unwrap().term();
    let forged = l.s3.say(Body::LeaderHeartbeat(LeaderHeartbeat { term }));
    strike(name, &mut l.n, l.now, &forged, Refused(NotLeader));
});

attack!(pin_the_term_at_max_with_one_forged_heartbeat_response, |name| {
    let mut l = leader_scene();
    let forged = forger("s2").say(Body::HeartbeatResponse(HeartbeatResponse { term: u64::MAX }));
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
});

attack!(pin_the_term_at_max_with_a_worker_members_heartbeat_response, |name| {
    let mut f = follower_scene();
    let forged = f.w.say(Body::HeartbeatResponse(HeartbeatResponse { term: u64::MAX }));
    strike(name, &mut f.n, f.now, &forged, Refused(NotAuthorized));
});

// ----- roles -----

attack!(give_a_worker_a_task_by_a_forged_assignment, |name| {
    let mut w = worker_scene();
    let a = primary_role(9, "t");
    let forged = forger("s1").say(a);
    strike(name, &mut w.n, w.now, &forged, Refused(BadSignature));
});

attack!(give_a_worker_a_task_from_a_worker_member, |name| {
    let mut w = worker_scene();
    let a = primary_role(9, "t");
    let forged = w.w2.say(a);
    strike(name, &mut w.n, w.now, &forged, Refused(NotAuthorized));
});

attack!(reset_a_resume_point_from_a_supervisor_that_does_not_lead, |name| {
    let mut w = worker_scene();
    let a = primary_role(2, "t");
    let forged = w.s2.say(a);
    strike(name, &mut w.n, w.now, &forged, Refused(NotLeader));
});

attack!(stop_a_task_with_a_forged_release, |name| {
    let mut w = worker_scene();
    let forged = forger("s1").say(Body::TaskRelease(TaskRelease { task: task() }));
    strike(name, &mut w.n, w.now, &forged, Refused(BadSignature));
});

attack!(stop_a_task_with_a_worker_members_release, |name| {
    let mut w = worker_scene();
    let forged = w.w2.say(Body::TaskRelease(TaskRelease { task: task() }));
    strike(name, &mut w.n, w.now, &forged, Refused(NotAuthorized));
});

attack!(stop_a_task_with_a_release_from_a_supervisor_that_neither_gave_it_nor_leads, |name| {
    let mut w = worker_scene();
    // Indistinguishable from a deposed leader's late release: ignored.
    let release = w.s2.say(Body::TaskRelease(TaskRelease { task: task() }));
    strike(name, &mut w.n, w.now, &release, Ignored);
});

attack!(two_primaries_by_replaying_an_old_assignment, |name| {
    let mut w = worker_scene();
    let release = w.s1.say(Body::TaskRelease(TaskRelease { task: task() }));
    w.n.handle_message(w.now, &release).unwrap();
    assert!(w.n.held_tasks().next().is_none());
    let replay = w.assignment.clone();
    strike(name, &mut w.n, w.now, &replay, Refused(Replayed));
});

attack!(force_failover_of_a_live_worker_with_a_forged_leave, |name| {
    let mut l = leader_scene();
    let leave = Body::Membership(Membership { joining: false, certificate: heapless::Vec::new() });
    let forged = forger("w").say(leave);
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
});

attack!(inflate_a_workers_slots_with_a_rogue_certificate, |name| {
    let mut l = leader_scene();
    let forged = rogue_join("w", NodeRole::Worker, 64);
    strike(name, &mut l.n, l.now, &forged, Refused(WrongAuthority));
});

// ----- checkpoints and the task table -----

attack!(roll_the_leaders_checkpoint_forward_from_a_backup, |name| {
    let mut l = leader_scene();
    let bytes = l.w2.say(report(&l.w2, 1000));
    strike(name, &mut l.n, l.now, &bytes, Ignored);
    // The primary's genuine report is still taken.
    let genuine = l.w.say(report(&l.w, 6));
    l.n.handle_message(l.now, &genuine).unwrap();
    assert_eq!(l.n.tasks().find(|(t, _)| **t == task()).unwrap().1.checkpoint, Some(checkpoint(6)));
});

attack!(roll_the_leaders_checkpoint_forward_from_a_supervisor, |name| {
    let mut l = leader_scene();
    let bytes = l.s2.say(report(&l.s2, 1000));
    strike(name, &mut l.n, l.now, &bytes, Refused(NotAuthorized));
});

attack!(report_a_checkpoint_not_signed_by_its_sender, |name| {
    let mut l = leader_scene();
    // The primary's report, its inner signature made with another key.
    let forged = l.w.say(report_of(&IdentityKey::from_seed(&[0x66; 32]), "w", "t", 1000));
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
    // Or another worker's signature passed off as the primary's report.
    let borrowed = l.w.say(report_of(&l.w2.key, "w2", "t", 1000));
    strike(name, &mut l.n, l.now, &borrowed, Refused(BadSignature));
});

/// Task `t`'s record in `n`'s table: (checkpoint sequence, verified).
fn record_of(n: &Node) -> (Option<u64>, bool) {
    let r = n.tasks().find(|(t, _)| **t == task()).unwrap().1;
    (r.checkpoint.map(|c| c.sequence), r.verified)
}

/// The follower of `f` is elected (s3 votes for it) after s2 falls silent,
/// and a live `w` is assigned `t`: the sequence of the checkpoint it was given.
fn take_over(f: &mut FollowerScene) -> Option<u64> {
    let hb = f.w.say(Body::Heartbeat(Heartbeat { sequence: 1, ..Heartbeat::default() }));
    f.n.handle_message(f.now, &hb).unwrap();
    elect(&mut f.n, &mut f.s3, f.now);
    let view = f.n.workers().unwrap().task(&task()).expect("the new leader assigned t");
    assert_eq!(view.primaries().next(), Some(&id("w")));
    view.checkpoint().map(|(c, _)| c.sequence)
}

attack!(followers_take_a_table_checkpoint_not_signed_by_its_primary, |name| {
    // The leader's slice carries a checkpoint w never signed. A follower does
    // not verify the table's checkpoints as they come (it acts on none of
    // them until it leads), so it holds it, unverified.
    let mut f = follower_scene();
    let forged = f.s2.say(table_signed(1, "t", 1000, "w", &IdentityKey::from_seed(&[0x66; 32])));
    f.n.handle_message(f.now, &forged).unwrap();
    assert_eq!(record_of(&f.n), (Some(1000), false), "{name}");
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 0);
    // Elected, it verifies before it assigns: the forgery is dropped and
    // counted, and the task resumes from the start, never from #1000.
    assert_eq!(take_over(&mut f), None, "{name}: resumed from a forged checkpoint");
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 1, "{name}: not counted");
    assert_eq!(record_of(&f.n), (None, false));
    // Nor is it handed to the other followers in the new leader's table.
    assert!(f.n.tasks().all(|(_, r)| r.proof.is_none()));

    // A genuine slice that contradicts the forgery (an older sequence) has
    // the forgery checked at once: dropped, counted, the genuine one taken.
    let mut f = follower_scene();
    let forged = f.s2.say(table_signed(1, "t", 1000, "w", &IdentityKey::from_seed(&[0x66; 32])));
    f.n.handle_message(f.now, &forged).unwrap();
    f.n.handle_message(f.now, &f.s2.say(table(1, "t", 6))).unwrap();
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 1, "{name}: not counted");
    assert_eq!(record_of(&f.n), (Some(6), false), "{name}: the forgery shadows #6");
    assert_eq!(take_over(&mut f), Some(6));
    assert_eq!(record_of(&f.n), (Some(6), true));
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 1);
});

attack!(followers_take_a_table_checkpoint_of_an_unknown_primary, |name| {
    // Signed by a node this follower has not admitted: it cannot be checked,
    // so it is never acted on, and counted when this node would have.
    let mut f = follower_scene();
    let slice = f.s2.say(table_signed(1, "t", 1000, "ghost", &identity_of("ghost")));
    f.n.handle_message(f.now, &slice).unwrap();
    assert_eq!(record_of(&f.n), (Some(1000), false), "{name}");
    assert_eq!(take_over(&mut f), None, "{name}: resumed from an unverifiable checkpoint");
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 1, "{name}: not counted");
});

#[test]
fn a_follower_verifies_a_genuine_table_checkpoint_once_and_resumes_from_it() {
    let mut f = follower_scene();
    assert_eq!(record_of(&f.n), (Some(5), false));
    // The same entry again (slices repeat) is not checked again; an older
    // genuine one contradicts it: #5 is checked then, kept, and #4 not taken.
    f.n.handle_message(f.now, &f.s2.say(table(1, "t", 5))).unwrap();
    assert_eq!(record_of(&f.n), (Some(5), false));
    f.n.handle_message(f.now, &f.s2.say(table(1, "t", 4))).unwrap();
    assert_eq!(record_of(&f.n), (Some(5), true));
    // A newer one replaces it, unverified until needed.
    f.n.handle_message(f.now, &f.s2.say(table(1, "t", 7))).unwrap();
    assert_eq!(record_of(&f.n), (Some(7), false));
    assert_eq!(take_over(&mut f), Some(7));
    assert_eq!(record_of(&f.n), (Some(7), true));
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 0);
}

// ----- a new leader's gather -----

/// The follower of `f` is elected by s3 after s2 falls silent, with live
/// worker `w`, its gather not done: the term.
fn elected_gathering(f: &mut FollowerScene) -> u64 {
    let hb = f.w.say(Body::Heartbeat(Heartbeat { sequence: 1, ..Heartbeat::default() }));
    f.n.handle_message(f.now, &hb).unwrap();
    f.now = elect_only(&mut f.n, &mut f.s3, f.now);
    f.n.election().unwrap().term()
}

/// The checkpoint `t` was assigned from by `f`'s leader, `None` if not assigned.
fn assigned_from(f: &FollowerScene) -> Option<Option<u64>> {
    let view = f.n.workers().unwrap().task(&task())?;
    assert_eq!(view.primaries().next(), Some(&id("w")));
    Some(view.checkpoint().map(|(c, _)| c.sequence))
}

#[test]
fn a_new_leader_learns_a_checkpoint_it_missed_from_a_quorum_before_it_assigns() {
    // s1 holds #5; s3 took #6 from s2's table while s1 was cut off.
    let mut f = follower_scene();
    let term = elected_gathering(&mut f);
    assert_eq!(assigned_from(&f), None, "assigned before a quorum's tables were in");
    // Nor does it send its table while it gathers.
    let answer = f.s3.say(Body::HeartbeatResponse(HeartbeatResponse { term }));
    f.n.handle_message(f.now, &answer).unwrap();
    f.now += Duration::from_secs(1);
    f.n.tick(f.now);
    assert!(f.n.is_leader());
    assert!(drain_bodies(&mut f.n).iter().all(|(_, b)| !matches!(b, Body::TaskTable(_))));
    // s3's table, in two parts: the first alone is not a complete report.
    let other = entry_signed("u", 2, "w", &identity_of("w"));
    f.n.handle_message(f.now, &f.s3.say(report_table(term, 1, 2, &[other]))).unwrap();
    assert_eq!(assigned_from(&f), None, "a report missing its part 0 completed the gather");
    let six = entry_signed("t", 6, "w", &identity_of("w"));
    f.n.handle_message(f.now, &f.s3.say(report_table(term, 0, 2, &[six]))).unwrap();
    assert_eq!(assigned_from(&f), None, "parts out of order count from part 0");
    f.n.handle_message(f.now, &f.s3.say(report_table(term, 1, 2, &[]))).unwrap();
    // s3's #6 is taken (verified) and t resumes from it.
    assert_eq!(assigned_from(&f), Some(Some(6)));
    assert_eq!(record_of(&f.n), (Some(6), true));
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 0);
    // The gather ends with the table to the followers; a late report is
    // answered with it again and changes nothing.
    let sent = drain_bodies(&mut f.n);
    assert!(sent.iter().any(|(_, b)| matches!(b, Body::TaskTable(t) if t.term == term)));
    let late = entry_signed("t", 7, "w", &identity_of("w"));
    f.n.handle_message(f.now, &f.s2.say(report_table(term, 0, 1, &[late]))).unwrap();
    assert_eq!(record_of(&f.n), (Some(6), true));
    assert!(drain_bodies(&mut f.n).iter().any(|(_, b)| matches!(b, Body::TaskTable(_))));
}

attack!(roll_a_new_leaders_checkpoint_back_or_forward_with_a_report, |name| {
    let mut f = follower_scene();
    let term = elected_gathering(&mut f);
    // Not a supervisor: refused.
    let w_report = f.w.say(report_table(term, 0, 1, &[entry_signed("t", 1000, "w", &identity_of("w"))]));
    strike(name, &mut f.n, f.now, &w_report, Refused(NotAuthorized));
    // A report for an older term (sent before its sender followed this
    // leader, so it may lack what a quorum held since): ignored.
    let old = f.s3.say(report_table(term - 1, 0, 1, &[entry_signed("t", 1000, "w", &identity_of("w"))]));
    strike(name, &mut f.n, f.now, &old, Ignored);
    assert_eq!(assigned_from(&f), None, "{name}: an older term's report completed the gather");
    // A checkpoint w never signed, and one w2 signed as w's: counted, not
    // taken; an older one: not taken. The report itself completes the gather.
    let forged = entry_signed("t", 1000, "w", &IdentityKey::from_seed(&[0x66; 32]));
    let borrowed = entry_signed("u", 1000, "w", &identity_of("w2"));
    let older = entry_signed("t", 4, "w", &identity_of("w"));
    f.n.handle_message(f.now, &f.s3.say(report_table(term, 0, 2, &[forged, borrowed]))).unwrap();
    assert_eq!(assigned_from(&f), None, "{name}: half a report completed the gather");
    f.n.handle_message(f.now, &f.s3.say(report_table(term, 1, 2, &[older]))).unwrap();
    assert_eq!(f.n.counters().bad_checkpoint_proofs, 2, "{name}: not counted");
    assert_eq!(assigned_from(&f), Some(Some(5)), "{name}: resumed from a reported checkpoint");
    assert_eq!(record_of(&f.n), (Some(5), true));
    // The task only the forged entry named joined without its checkpoint.
    let u = TaskId::new("u").unwrap();
    assert_eq!(f.n.tasks().find(|(t, _)| **t == u).map(|(_, r)| r.checkpoint), Some(None), "{name}");
});

#[test]
fn a_follower_reports_its_table_to_a_new_leader_until_the_leaders_table_comes() {
    let mut n = among("s1", NodeRole::Supervisor, &SUPS);
    let mut now = Instant::from_secs(1);
    n.start(now).unwrap();
    let mut s2 = joined(&mut n, now, "s2", NodeRole::Supervisor);
    let mut s3 = joined(&mut n, now, "s3", NodeRole::Supervisor);
    n.submit_task(now, task(), train(), 1, 0).unwrap();
    drain(&mut n);
    let reports = |n: &mut Node| -> StdVec<(NodeId, crate::wire::TableReport)> {
        drain_bodies(n)
            .into_iter()
            .filter_map(|(to, b)| match b {
                Body::TableReport(r) => Some((to, r)),
                _ => None,
            })
            .collect()
    };
    // Learning of s2, it reports its table to s2 alone, and again every
    // task-table interval.
    n.handle_message(now, &s2.say(Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 }))).unwrap();
    for _ in 0..2 {
        let sent = reports(&mut n);
        assert_eq!(sent.len(), 1, "{sent:?}");
        let (to, r) = &sent[0];
        assert_eq!((to, r.term, r.part, r.parts), (&id("s2"), 1, 0, 1));
        assert_eq!(r.entries.iter().map(|e| &e.task).collect::<StdVec<_>>(), [&task()]);
        now += Duration::from_secs(1);
        n.tick(now);
    }
    // s2's table (sent once its gather is done) ends it.
    n.handle_message(now, &s2.say(table(1, "t", 5))).unwrap();
    for _ in 0..3 {
        now += Duration::from_secs(1);
        n.tick(now);
        assert!(reports(&mut n).is_empty());
    }
    // Having followed term 1's leader, it takes no other supervisor's table for term 1.
    assert!(n.handle_message(now, &s3.say(table(1, "t", 9))).is_err());
    assert_eq!(record_of(&n), (Some(5), false));
}

/// Every message `n` has queued, opened: `(recipient, body)`.
fn drain_bodies(n: &mut Node) -> StdVec<(NodeId, Body)> {
    while n.poll_hard_state().is_some() {}
    while n.poll_event().is_some() {}
    let mut v = StdVec::new();
    while let Some(t) = n.poll_transmit() {
        let u = crate::auth::seal::parse(&t.bytes).unwrap();
        v.push((t.to, Body::decode(u.body).unwrap()));
    }
    v
}

attack!(followers_take_a_report_from_any_worker, |name| {
    let mut f = follower_scene();
    let bytes = f.w.say(report(&f.w, 1000));
    strike(name, &mut f.n, f.now, &bytes, Ignored);
    // The leader's table moves it.
    let slice = f.s2.say(table(1, "t", 6));
    f.n.handle_message(f.now, &slice).unwrap();
    assert_eq!(f.n.tasks().find(|(t, _)| **t == task()).unwrap().1.checkpoint, Some(checkpoint(6)));
});

attack!(inject_tasks_into_a_followers_table_by_forgery, |name| {
    let mut f = follower_scene();
    let forged = forger("s2").say(table(1, "evil", 1));
    strike(name, &mut f.n, f.now, &forged, Refused(BadSignature));
});

attack!(inject_tasks_into_a_followers_table_from_a_worker_member, |name| {
    let mut f = follower_scene();
    let forged = f.w.say(table(1, "evil", 1));
    strike(name, &mut f.n, f.now, &forged, Refused(NotAuthorized));
});

attack!(inject_tasks_into_a_followers_table_from_a_supervisor_that_does_not_lead, |name| {
    let mut f = follower_scene();
    let forged = f.s3.say(table(1, "evil", 1));
    strike(name, &mut f.n, f.now, &forged, Refused(NotLeader));
});

attack!(inject_tasks_into_a_followers_table_for_a_term_without_a_known_leader, |name| {
    let mut f = follower_scene();
    // A supervisor may claim a later term (it may have been elected since):
    // not refused, but not believed before its election is heard of.
    let forged = f.s3.say(table(7, "evil", 1));
    strike(name, &mut f.n, f.now, &forged, Ignored);
});

// ----- membership and the mesh -----

attack!(replace_a_peers_wireguard_key, |name| {
    let mut l = leader_scene();
    let forged = rogue_join("w", NodeRole::Worker, 1);
    strike(name, &mut l.n, l.now, &forged, Refused(WrongAuthority));
});

attack!(fill_the_crash_detector_with_invented_ids, |name| {
    let mut l = leader_scene();
    for i in 0..64 {
        let forged = forger(&format!("ghost-{i}")).say(heartbeat());
        strike(name, &mut l.n, l.now, &forged, Refused(UnknownSender));
    }
});

attack!(join_as_a_worker_with_a_rogue_certificate, |name| {
    let mut l = leader_scene();
    let forged = rogue_join("intruder", NodeRole::Worker, 4);
    strike(name, &mut l.n, l.now, &forged, Refused(WrongAuthority));
});

attack!(join_as_a_supervisor_with_a_worker_certificate, |name| {
    // A genuine worker certificate for a configured supervisor's id, offered
    // to a node that has not admitted that supervisor yet.
    let mut n = among("s1", NodeRole::Supervisor, &SUPS);
    let now = Instant::from_secs(1);
    n.start(now).unwrap();
    let forged = Peer::new("s3", NodeRole::Worker).join();
    strike(name, &mut n, now, &forged, Refused(WrongRole));
});

attack!(link_state_advert_is_ignored, |name| {
    let mut l = leader_scene();
    let mut links = heapless::Vec::new();
    links.push(LinkAdvert { neighbor: id("s2"), latency: Duration::from_millis(1), up: false }).unwrap();
    let advert = l.w.say(Body::LinkState(LinkState { sequence: 1, links }));
    strike(name, &mut l.n, l.now, &advert, Ignored);
    let forged = forger("w").say(Body::LinkState(LinkState { sequence: 2, links: heapless::Vec::new() }));
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
});

// ----- the legitimate case the rules must keep -----

#[test]
fn a_worker_follows_a_new_leader_from_its_first_notice_or_assignment() {
    let mut w = worker_scene();
    // s2 was elected in term 3: its first notice is believed.
    let notice = w.s2.say(Body::LeaderNotice(LeaderNotice { term: 3 }));
    w.n.handle_message(w.now, &notice).unwrap();
    assert_eq!(w.n.leader().map(|(l, t)| (l.clone(), t)), Some((id("s2"), 3)));
    // Its assignment of term 4 overtook its notice: taken; s1 may then not claim term 4.
    let mut x = worker_scene();
    let a = TaskAssignment { term: 4, task: task(), task_type: train(), role: TaskRole::Backup, checkpoint: None };
    x.n.handle_message(x.now, &x.s2.say(Body::TaskAssignment(a))).unwrap();
    assert_eq!(x.n.held_tasks().next().unwrap().1.from, id("s2"));
    let late = x.s1.say(Body::LeaderNotice(LeaderNotice { term: 4 }));
    strike("s1 claims s2's term", &mut x.n, x.now, &late, Refused(NotLeader));
    // And s1's older notice is stale: ignored, no leader change.
    let stale = x.s1.say(Body::LeaderNotice(LeaderNotice { term: 2 }));
    assert_eq!(x.n.handle_message(x.now, &stale), Ok(()));
}

// ----- restarts -----

attack!(replay_to_a_restarted_receiver, |name| {
    let sups: StdVec<NodeId> = SUPS.iter().map(|s| id(s)).collect();
    let now = Instant::from_secs(1);
    let boot = |epoch: u64| {
        let credentials =
            Credentials::issue(&authority(), identity_of("w"), certificate_of("w", NodeRole::Worker), epoch, UNIX0)
                .unwrap();
        let mut n = Node::new_boxed(id("w"), NodeRole::Worker, &sups, OpsConfig::default(), 1, credentials).unwrap();
        n.start(now).unwrap();
        n
    };
    let mut s1 = Peer::new("s1", NodeRole::Supervisor);
    let key = crate::auth::PairwiseKey::derive(&s1.key, &identity_of("w").public(), &authority().public()).unwrap();
    // What s1 MACs for w's incarnation `to_epoch`.
    let mac = |s1: &mut Peer, to_epoch: u64, body: &Body| {
        let body = body.to_vec().unwrap();
        let mut buf = vec![0u8; 4096];
        s1.counter += 1;
        let n = crate::auth::seal::seal_mac(&mut buf, &s1.id, &id("w"), to_epoch, 1, s1.counter, &body, &key).unwrap();
        buf.truncate(n);
        buf
    };
    let mut first = boot(1);
    first.handle_message(now, &s1.join()).unwrap();
    let notice = mac(&mut s1, 1, &Body::LeaderNotice(LeaderNotice { term: 2 }));
    first.handle_message(now, &notice).unwrap();
    assert_eq!(first.leader().map(|(l, t)| (l.clone(), t)), Some((id("s1"), 2)));
    // w restarts in epoch 2 and s1 joins it again: the notice captured before
    // (its counter is below s1's join, inside the fresh replay window) was
    // addressed to w's first incarnation.
    let mut again = boot(2);
    again.handle_message(now, &s1.join()).unwrap();
    strike(name, &mut again, now, &notice, Refused(Replayed));
    assert_eq!(again.leader(), None);
    // What s1 MACs for the new incarnation is taken.
    let fresh = mac(&mut s1, 2, &Body::LeaderNotice(LeaderNotice { term: 3 }));
    again.handle_message(now, &fresh).unwrap();
    assert_eq!(again.leader().map(|(l, t)| (l.clone(), t)), Some((id("s1"), 3)));
});

// ----- the mesh: signed link-state adverts and endpoint records -----

/// `origin`'s advert number `sequence` of `links` (neighbour, latency in ms),
/// signed with `key`.
fn advert(origin: &str, key: &IdentityKey, sequence: u64, links: &[(&str, u64)]) -> Body {
    let mut l = heapless::Vec::new();
    for (n, ms) in links {
        l.push(LinkAdvert { neighbor: id(n), latency: Duration::from_millis(*ms), up: true }).unwrap();
    }
    let state = LinkState { sequence, links: l };
    let signature = crate::auth::sign_link_state(key, &authority().public(), &id(origin), &state).unwrap().into();
    Body::SignedLinkState(crate::wire::SignedLinkState { origin: id(origin), state, signature })
}

/// Recomputes `n`'s routes now (the tunnel-check timer does it otherwise),
/// route changes becoming events.
fn recompute(n: &mut Node, now: Instant) {
    n.mesh.mesh.recompute_routes(now);
    let n = &mut *n;
    n.mesh.drain(now, &mut n.out);
}

/// The leader scene with measured round trips s1–w 1 ms and s1–w2 100 ms,
/// and w's advert (sequence 7) of its link to w2 at 1 ms taken on: s1 routes
/// to w2 through w. Returns the scene and the advert as w sent it.
fn advert_scene() -> (LeaderScene, Body) {
    let mut l = leader_scene();
    let ms = Duration::from_millis;
    let echo = |at: Instant| Some(crate::wire::Echo { sent_at: at, held: Duration::ZERO });
    let hb = |echo| Body::Heartbeat(Heartbeat { sequence: 2, echo, ..Heartbeat::default() });
    let at = l.now;
    l.n.handle_message(at + ms(1), &l.w.say(hb(echo(at)))).unwrap();
    l.n.handle_message(at + ms(100), &l.w2.say(hb(echo(at)))).unwrap();
    l.now = at + ms(100);
    assert_eq!(l.n.peer_rtt(&id("w")).map(|r| r.0), Some(ms(1)));
    assert_eq!(l.n.peer_rtt(&id("w2")).map(|r| r.0), Some(ms(100)));
    recompute(&mut l.n, l.now);
    assert_eq!(l.n.mesh().route(&id("w2")).unwrap().next_hop, Some(&id("w2")));
    drain(&mut l.n);
    let body = advert("w", &identity_of("w"), 7, &[("w2", 1)]);
    l.n.handle_message(l.now, &l.w.say(body.clone())).unwrap();
    // A worker's advert is flooded on to the other supervisors (not back to w).
    let mut flooded: StdVec<NodeId> = StdVec::new();
    while let Some(t) = l.n.poll_transmit() {
        let u = crate::auth::seal::parse(&t.bytes).unwrap();
        if let Ok(Body::SignedLinkState(a)) = Body::decode(u.body) {
            assert_eq!(Body::SignedLinkState(a), body);
            flooded.push(t.to);
        }
    }
    flooded.sort();
    assert_eq!(flooded, [id("s2"), id("s3")]);
    recompute(&mut l.n, l.now);
    assert_eq!(l.n.mesh().route(&id("w2")).unwrap().next_hop, Some(&id("w")));
    drain(&mut l.n);
    (l, body)
}

attack!(forged_link_state_advert, |name| {
    let (mut l, _) = advert_scene();
    // In w's name, with the forger's key, relayed by a genuine supervisor.
    let forged = l.s2.say(advert("w", &IdentityKey::from_seed(&[0x66; 32]), 8, &[("w2", 500)]));
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
    // The forger speaking for itself as w.
    let forged = forger("w").say(advert("w", &IdentityKey::from_seed(&[0x66; 32]), 9, &[]));
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
    assert_eq!(l.n.mesh().route(&id("w2")).unwrap().next_hop, Some(&id("w")));
});

attack!(advert_claiming_links_for_another_node, |name| {
    let (mut l, _) = advert_scene();
    // w2, a member, signs an advert with origin w (w's links, as w2 would have them).
    let claim = l.w2.say(advert("w", &identity_of("w2"), 8, &[("w2", 900)]));
    strike(name, &mut l.n, l.now, &claim, Refused(BadSignature));
});

attack!(replayed_link_state_advert, |name| {
    let (mut l, body) = advert_scene();
    // The advert taken on, again from w and relayed by s3: a duplicate.
    let again = l.w.say(body.clone());
    strike(name, &mut l.n, l.now, &again, Ignored);
    let relayed = l.s3.say(body);
    strike(name, &mut l.n, l.now, &relayed, Ignored);
    // w's genuine older advert (sequence 6), delivered late: refused.
    let older = l.s2.say(advert("w", &identity_of("w"), 6, &[("w2", 900)]));
    strike(name, &mut l.n, l.now, &older, Refused(Replayed));
    recompute(&mut l.n, l.now);
    assert_eq!(l.n.mesh().route(&id("w2")).unwrap().next_hop, Some(&id("w")));
});

/// An advert MAC'd for this node by its origin itself rests on the MAC (the
/// origin's pairwise key vouches for every byte): its signature is left to
/// the nodes it is flooded on to. The same advert relayed, MAC'd by another
/// member, is checked, and a signature that does not verify is refused.
#[test]
fn an_advert_straight_from_its_origin_rests_on_its_mac() {
    let (mut l, _) = advert_scene();
    let forged_signature = advert("w", &IdentityKey::from_seed(&[0x66; 32]), 8, &[("w2", 500)]);
    let relayed = l.s2.mac(forged_signature.clone(), "s1");
    assert!(matches!(l.n.handle_message(l.now, &relayed), Err(HandleError::Rejected(BadSignature))));
    assert_eq!(l.n.mesh.advert_sequence(&id("w")), Some(7));
    let direct = l.w.mac(forged_signature, "s1");
    l.n.handle_message(l.now, &direct).unwrap();
    assert_eq!(l.n.mesh.advert_sequence(&id("w")), Some(8));
}

attack!(forged_copy_of_a_held_advert, |name| {
    // The held advert (w's, sequence 7) is verified once; a copy a flood
    // brings again is not checked again only if every byte verification reads
    // is the same. A forgery at the held sequence is still checked, and refused.
    let (mut l, body) = advert_scene();
    let Body::SignedLinkState(held) = body else { panic!("not an advert") };
    let mut bad_signature = held.clone();
    bad_signature.signature.s[0] ^= 1;
    let relayed = l.s2.say(Body::SignedLinkState(bad_signature));
    strike(name, &mut l.n, l.now, &relayed, Refused(BadSignature));
    // The same sequence with other links, signed by the forger.
    let other_links = advert("w", &IdentityKey::from_seed(&[0x66; 32]), 7, &[("w2", 900)]);
    strike(name, &mut l.n, l.now, &l.s3.say(other_links), Refused(BadSignature));
    // The held advert's signature over other links.
    let mut other_state = held.clone();
    if let Some(link) = other_state.state.links.first_mut() {
        link.latency = Duration::from_millis(900);
    }
    strike(name, &mut l.n, l.now, &l.s2.say(Body::SignedLinkState(other_state)), Refused(BadSignature));
    // The genuine copy again is taken and ignored, as before.
    strike(name, &mut l.n, l.now, &l.s3.say(Body::SignedLinkState(held)), Ignored);
    recompute(&mut l.n, l.now);
    assert_eq!(l.n.mesh().route(&id("w2")).unwrap().next_hop, Some(&id("w")));
});

attack!(advert_of_an_unknown_origin, |name| {
    let (mut l, _) = advert_scene();
    let outsider = IdentityKey::from_seed(&[0x79; 32]);
    // It cannot be verified: ignored (an honest relay meets this while the
    // origin's join is on its way), and nothing changes.
    let unknown = l.s2.say(advert("x", &outsider, 1, &[("w2", 1)]));
    strike(name, &mut l.n, l.now, &unknown, Ignored);
});

#[test]
fn an_advert_not_refreshed_ages_out_and_its_links_leave_the_routes() {
    let (mut l, _) = advert_scene();
    let step = OpsConfig::default().tunnel_check_interval;
    let max_age = step.saturating_mul(mesh_view::ADVERT_MAX_AGE);
    l.n.mesh.age_adverts(l.now + max_age, step, max_age, true, false);
    assert_eq!(l.n.mesh.advert_sequence(&id("w")), Some(7), "aged out too early");
    let later = l.now + max_age + Duration::from_micros(1);
    l.n.mesh.age_adverts(later, step, max_age, true, false);
    assert_eq!(l.n.mesh.advert_sequence(&id("w")), None);
    recompute(&mut l.n, later);
    assert_eq!(l.n.mesh().route(&id("w2")).unwrap().next_hop, Some(&id("w2")));
    // w's next advert applies, whatever its sequence.
    l.n.handle_message(later, &l.w.say(advert("w", &identity_of("w"), 3, &[("w2", 1)]))).unwrap();
    assert_eq!(l.n.mesh.advert_sequence(&id("w")), Some(3));
}

#[test]
fn adverts_do_not_age_while_no_heartbeat_comes_from_the_flood() {
    let (mut l, _) = advert_scene();
    let step = OpsConfig::default().tunnel_check_interval;
    let max_age = step.saturating_mul(mesh_view::ADVERT_MAX_AGE);
    // Ten minutes of tunnel checks with the control plane silent: nothing ages.
    let mut now = l.now;
    for _ in 0..120 {
        now += step;
        l.n.mesh.age_adverts(now, step, max_age, false, false);
    }
    assert_eq!(l.n.mesh.advert_sequence(&id("w")), Some(7), "aged while the flood was silent");
    // Then heartbeats again, and no refresh: it ages out after `max_age` of them.
    let mut checks = 0;
    while l.n.mesh.advert_sequence(&id("w")).is_some() {
        now += step;
        checks += 1;
        l.n.mesh.age_adverts(now, step, max_age, true, false);
        assert!(checks <= mesh_view::ADVERT_MAX_AGE + 1);
    }
    // Past `max_age` of checks that heard the flood (the advert arrived
    // during the scene's last check interval).
    assert!(checks >= mesh_view::ADVERT_MAX_AGE, "{checks}");
    recompute(&mut l.n, now);
    assert_eq!(l.n.mesh().route(&id("w2")).unwrap().next_hop, Some(&id("w2")));
}

/// `node`'s endpoint record number `sequence`, signed with `key`.
fn endpoint_record(node: &str, key: &IdentityKey, sequence: u64, endpoint: &str) -> Body {
    let signature = crate::auth::sign_endpoint(key, &authority().public(), &id(node), sequence, endpoint).into();
    Body::EndpointRecord(crate::wire::EndpointRecord { sequence, endpoint: endpoint.try_into().unwrap(), signature })
}

attack!(endpoint_record_replayed_older_or_forged, |name| {
    let mut l = leader_scene();
    let record = endpoint_record("w", &identity_of("w"), 10, "198.51.100.9:51820");
    l.n.handle_message(l.now, &l.w.say(record.clone())).unwrap();
    let roamed = crate::mesh::Endpoint::parse("198.51.100.9:51820").unwrap();
    assert_eq!(l.n.mesh().node(&id("w")).unwrap().endpoint, &roamed);
    drain(&mut l.n);
    // The same record again, and an older one: refused.
    let again = l.w.say(record);
    strike(name, &mut l.n, l.now, &again, Refused(Replayed));
    let older = l.w.say(endpoint_record("w", &identity_of("w"), 9, "203.0.113.1:51820"));
    strike(name, &mut l.n, l.now, &older, Refused(Replayed));
    // Signed by someone else, or w's record relayed by w2 (it is w2's endpoint it would set).
    let forged = l.w.say(endpoint_record("w", &IdentityKey::from_seed(&[0x66; 32]), 11, "203.0.113.1:51820"));
    strike(name, &mut l.n, l.now, &forged, Refused(BadSignature));
    let relayed = l.w2.say(endpoint_record("w", &identity_of("w"), 12, "203.0.113.1:51820"));
    strike(name, &mut l.n, l.now, &relayed, Refused(BadSignature));
    // Genuinely signed, but no endpoint.
    let junk = l.w.say(endpoint_record("w", &identity_of("w"), 13, "nowhere"));
    strike(name, &mut l.n, l.now, &junk, Refused(Malformed));
    assert_eq!(l.n.mesh().node(&id("w")).unwrap().endpoint, &roamed);
});
