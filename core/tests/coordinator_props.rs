//! A state-machine property test of the coordinator's public API: random
//! sequences of `start`, `stop`, `tick` (times that go backwards, jump far
//! ahead, up to `Instant::MAX`), `handle_message` (random bytes, and valid
//! messages mutated or not), `submit_task` and `report_checkpoint` with random
//! bad values, on a supervisor and on a worker. Checked after every operation:
//! nothing panics, every error is typed (its `kind()`), a refused call leaves
//! the stored state as it was (status, task table, held roles, next deadline;
//! only the counters may move), and a running node always has a deadline.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::auth::{Certificate, SignedCertificate};
use pouw_netops::coordinator::{Credentials, HeldTask, OpsCounters, OpsStatus, TaskRecord};
use pouw_netops::error::Classify;
use pouw_netops::preset::small;
use pouw_netops::test_support::{self, UNIX0, authority, identity_of};
use pouw_netops::wire::{
    CheckpointProof, CheckpointReport, Heartbeat, HeldRole, LeaderNotice, Membership, SignatureBytes, TaskAssignment,
    TaskEntry, TaskRelease, TaskTable,
};
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Body, Instant, NodeId, NodeRole, OpsConfig, TaskId, TaskType};
use proptest::prelude::*;

type Node = small::NetworkOperationsManager;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn train() -> TaskType {
    TaskType::new("train").unwrap()
}

fn task(i: u8) -> TaskId {
    TaskId::new(&format!("t-{i}")).unwrap()
}

/// Valid messages from the supervisors `s1`/`s2` and the worker `w`, for the
/// node under test `n` (a supervisor among `n`, `s1`, `s2`, or a worker).
fn messages() -> Vec<Vec<u8>> {
    let cp = |seq| Some(Checkpoint { sequence: seq, digest: [seq as u8; 32] });
    let mut held = heapless::Vec::new();
    held.push(HeldRole { task: task(1), term: 1, role: TaskRole::Primary }).unwrap();
    let mut entries = heapless::Vec::new();
    let sign = |t: &TaskId, seq: u64| -> SignatureBytes {
        let c = cp(seq).unwrap();
        pouw_netops::auth::sign_checkpoint(&identity_of("w"), &authority().public(), t, &id("w"), &c).into()
    };
    let proof = Some(CheckpointProof { primary: id("w"), signature: sign(&task(2), 4) });
    let entry = TaskEntry { task: task(2), task_type: train(), required: 1, backups: 0, checkpoint: cp(4), proof };
    entries.push(entry).unwrap();
    let bodies = [
        ("s1", join("s1", NodeRole::Supervisor)),
        ("s2", join("s2", NodeRole::Supervisor)),
        ("s1", Body::LeaderNotice(LeaderNotice { term: 1 })),
        ("s2", Body::LeaderNotice(LeaderNotice { term: 2 })),
        (
            "s1",
            Body::TaskAssignment(TaskAssignment {
                term: 1,
                task: task(1),
                task_type: train(),
                role: TaskRole::Primary,
                checkpoint: cp(2),
            }),
        ),
        (
            "s2",
            Body::TaskAssignment(TaskAssignment {
                term: 2,
                task: task(2),
                task_type: train(),
                role: TaskRole::Backup,
                checkpoint: None,
            }),
        ),
        ("s1", Body::TaskRelease(TaskRelease { task: task(1) })),
        ("s1", Body::Heartbeat(Heartbeat { sequence: 1, leading: 1, ..Heartbeat::default() })),
        ("w", Body::Heartbeat(Heartbeat { sequence: 2, held, ..Heartbeat::default() })),
        ("w", join("w", NodeRole::Worker)),
        (
            "w",
            Body::CheckpointReport(CheckpointReport {
                task: task(1),
                checkpoint: cp(9).unwrap(),
                signature: sign(&task(1), 9),
            }),
        ),
        ("s1", Body::TaskTable(TaskTable { term: 1, entries })),
        ("n", Body::LeaderNotice(LeaderNotice { term: 3 })),
    ];
    bodies.into_iter().enumerate().map(|(i, (from, body))| sealed(from, &body, i as u64 + 10)).collect()
}

/// `name`'s certificate: two slots in `train`, valid from `UNIX0` on forever
/// (the operations jump far ahead in time).
fn certificate(name: &str, role: NodeRole) -> Certificate {
    Certificate {
        slots: 2,
        not_before: UNIX0,
        not_after: u64::MAX,
        ..test_support::certificate(&id(name), role, &[train()], 2)
    }
}

/// `name`'s join, carrying its signed certificate.
fn join(name: &str, role: NodeRole) -> Body {
    let bytes = test_support::signed(certificate(name, role)).unwrap();
    Body::Membership(Membership { joining: true, certificate: heapless::Vec::from_slice(&bytes).unwrap() })
}

/// `body` from `from`, signed by it with message counter `counter`.
fn sealed(from: &str, body: &Body, counter: u64) -> Vec<u8> {
    test_support::signed_datagram(&id(from), counter, &body.to_vec().unwrap()).unwrap()
}

#[derive(Clone, Debug)]
enum Time {
    /// Forward by this many milliseconds from the latest time used.
    Ahead(u64),
    /// Back by this many milliseconds.
    Back(u64),
    /// Far ahead (microseconds from the epoch, huge).
    Far(u64),
    Max,
}

#[derive(Clone, Debug)]
enum Op {
    Start(Time),
    Stop(Time),
    Tick(Time),
    Random(Time, Vec<u8>),
    Message(Time, usize, Vec<(usize, u8)>, Option<usize>),
    Submit(Time, u8, u16, u16),
    Report(Time, u8, u64),
}

fn time() -> impl Strategy<Value = Time> {
    prop_oneof![
        6 => (0u64..3_000).prop_map(Time::Ahead),
        1 => (0u64..100_000).prop_map(Time::Back),
        1 => (1u64 << 40..u64::MAX).prop_map(Time::Far),
        1 => Just(Time::Max),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => time().prop_map(Op::Start),
        1 => time().prop_map(Op::Stop),
        4 => time().prop_map(Op::Tick),
        2 => (time(), prop::collection::vec(any::<u8>(), 0..80)).prop_map(|(t, b)| Op::Random(t, b)),
        6 => (
            time(),
            0usize..64,
            prop::collection::vec((0usize..400, any::<u8>()), 0..3),
            prop::option::of(0usize..400)
        )
            .prop_map(|(t, m, flips, cut)| Op::Message(t, m, flips, cut)),
        2 => (time(), 0u8..4, 0u16..3, prop_oneof![0u16..3, Just(u16::MAX)]).prop_map(|(t, k, r, b)| Op::Submit(
            t, k, r, b
        )),
        2 => (time(), 0u8..4, prop_oneof![0u64..20, Just(u64::MAX)]).prop_map(|(t, k, s)| Op::Report(t, k, s)),
    ]
}

/// What a refused call must leave as it was.
#[derive(Debug, PartialEq)]
struct Stored {
    status: OpsStatus,
    tasks: Vec<(TaskId, TaskRecord)>,
    held: Vec<(TaskId, HeldTask)>,
    deadline: Instant,
}

fn stored(n: &Node, at: Instant) -> Stored {
    let mut status = n.status(at);
    status.counters = OpsCounters::default();
    Stored {
        status,
        tasks: n.tasks().map(|(t, r)| (t.clone(), r.clone())).collect(),
        held: n.held_tasks().map(|(t, h)| (t.clone(), h.clone())).collect(),
        deadline: n.poll_timeout(),
    }
}

fn drain(n: &mut Node) {
    while n.poll_hard_state().is_some() {}
    while n.poll_transmit().is_some() {}
    while n.poll_event().is_some() {}
    while n.poll_archived().is_some() {}
}

fn run(role: NodeRole, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let supervisors = [id("n"), id("s1"), id("s2")];
    let config = OpsConfig::default();
    let sups = if role == NodeRole::Supervisor { &supervisors[..1] } else { &supervisors[1..] };
    let credentials = Credentials {
        identity: identity_of("n"),
        certificate: SignedCertificate::issue(&authority(), certificate("n", role)).unwrap(),
        authority: authority().public(),
        epoch: 1,
        unix_at_zero: UNIX0,
    };
    let mut n = Node::new_boxed(id("n"), role, sups, config, 7, credentials).unwrap();
    let messages = messages();
    let mut latest = Instant::from_secs(1_000);
    for op in ops {
        let t = match &op {
            Op::Start(t) | Op::Stop(t) | Op::Tick(t) | Op::Random(t, _) | Op::Message(t, ..) => t,
            Op::Submit(t, ..) | Op::Report(t, ..) => t,
        };
        let now = match t {
            Time::Ahead(ms) => latest + pouw_netops::Duration::from_millis(*ms),
            Time::Back(ms) => latest - pouw_netops::Duration::from_millis(*ms),
            Time::Far(us) => Instant::from_micros(*us),
            Time::Max => Instant::MAX,
        };
        latest = latest.max(now).min(Instant::from_secs(1 << 30));
        let view_at = Instant::from_secs(1_000);
        let before = stored(&n, view_at);
        let refused = match op {
            Op::Start(_) => n.start(now).err().map(|e| e.kind()),
            Op::Stop(_) => {
                n.stop(now);
                None
            }
            Op::Tick(_) => {
                n.tick(now);
                None
            }
            Op::Random(_, bytes) => n.handle_message(now, &bytes).err().map(|e| e.kind()),
            Op::Message(_, m, flips, cut) => {
                let mut bytes = messages[m % messages.len()].clone();
                for (i, b) in flips {
                    let len = bytes.len();
                    bytes[i % len] ^= b;
                }
                if let Some(c) = cut {
                    bytes.truncate(c % (bytes.len() + 1));
                }
                n.handle_message(now, &bytes).err().map(|e| e.kind())
            }
            Op::Submit(_, k, required, backups) => {
                n.submit_task(now, task(k), train(), required, backups).err().map(|e| e.kind())
            }
            Op::Report(_, k, seq) => {
                let cp = Checkpoint { sequence: seq, digest: [0; 32] };
                n.report_checkpoint(now, &task(k), cp).err().map(|e| e.kind())
            }
        };
        if let Some(kind) = refused {
            prop_assert_eq!(&stored(&n, view_at), &before, "a refused call ({:?}) changed stored state", kind);
        }
        drain(&mut n);
        if n.status(view_at).running {
            prop_assert!(n.poll_timeout() != Instant::MAX, "a running node always has a deadline");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_supervisor_survives_random_operations(ops in prop::collection::vec(op(), 1..60)) {
        run(NodeRole::Supervisor, ops)?;
    }

    #[test]
    fn a_worker_survives_random_operations(ops in prop::collection::vec(op(), 1..60)) {
        run(NodeRole::Worker, ops)?;
    }
}
