//! Golden wire vectors: the committed hex under `tests/vectors/` is the format.
//!
//! Each test encodes a fixed envelope and compares it byte for byte with its
//! vector, then decodes the vector back. To change the format on purpose, run
//! with `UPDATE_GOLDEN=1` and commit the new files with the change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops::health::HealthMetrics;
use pouw_netops::wire::{
    Body, CheckpointReport, Envelope, Heartbeat, HeldRole, LinkAdvert, LinkState, TaskAssignment, TaskRelease,
};
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Duration, Instant, NodeId, TaskId, TaskType};
use std::path::PathBuf;

fn vector_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors").join(format!("{name}.hex"))
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Vec<u8> {
    let s = s.trim();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Checks `envelope` against the vector `name` (or rewrites it under `UPDATE_GOLDEN=1`).
pub fn check(name: &str, envelope: &Envelope) {
    let bytes = envelope.to_vec().unwrap();
    let path = vector_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, format!("{}\n", to_hex(&bytes))).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(to_hex(&bytes), committed.trim(), "encoding of {name} differs from the committed vector");
    assert_eq!(&Envelope::decode(&from_hex(&committed)).unwrap(), envelope, "vector {name} decodes differently");
}

fn node(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

#[test]
fn heartbeat_vector() {
    let envelope = Envelope::new(
        node("worker-7"),
        Body::Heartbeat(Heartbeat {
            sequence: 42,
            sent_at: Instant::from_micros(1_700_000_000_123_456),
            metrics: HealthMetrics {
                response_time: Duration::from_millis(35),
                success_rate: 0.97,
                task_completion_rate: 0.9,
                bandwidth_utilization: 0.25,
                cpu_usage: 0.5,
                memory_usage: 0.625,
            },
            leading: 0,
            held: heapless::Vec::new(),
        }),
    );
    check("heartbeat", &envelope);
}

/// A worker's heartbeat reporting the roles it holds (wire change: leases on roles).
#[test]
fn heartbeat_with_held_roles_vector() {
    let mut held = heapless::Vec::new();
    held.push(HeldRole { task: TaskId::new("t-9").unwrap(), term: 3, role: TaskRole::Primary }).unwrap();
    held.push(HeldRole { task: TaskId::new("t-4").unwrap(), term: 2, role: TaskRole::Backup }).unwrap();
    let hb =
        Heartbeat { sequence: 43, sent_at: Instant::from_micros(1_700_000_001_123_456), held, ..Heartbeat::default() };
    check("heartbeat_held_roles", &Envelope::new(node("worker-7"), Body::Heartbeat(hb)));
}

/// A leader's heartbeat, naming the term it leads (renews the leases it gave).
#[test]
fn heartbeat_of_a_leader_vector() {
    let hb = Heartbeat {
        sequence: 7,
        sent_at: Instant::from_micros(1_700_000_002_000_000),
        leading: 3,
        ..Heartbeat::default()
    };
    check("heartbeat_leader", &Envelope::new(node("supervisor-1"), Body::Heartbeat(hb)));
}

mod election {
    use super::{check, node};
    use pouw_netops::wire::{Body, Envelope, HeartbeatResponse, LeaderHeartbeat, VoteRequest, VoteResponse};

    #[test]
    fn pre_vote_vector() {
        let body = Body::PreVote(VoteRequest { term: 7, progress: Some(123_456) });
        check("election_pre_vote", &Envelope::new(node("supervisor-2"), body));
    }

    #[test]
    fn pre_vote_response_vector() {
        let body = Body::PreVoteResponse(VoteResponse { term: 7, granted: true });
        check("election_pre_vote_response", &Envelope::new(node("supervisor-1"), body));
    }

    #[test]
    fn request_vote_vector() {
        let body = Body::RequestVote(VoteRequest { term: 300, progress: None });
        check("election_request_vote", &Envelope::new(node("supervisor-2"), body));
    }

    #[test]
    fn vote_response_vector() {
        let body = Body::VoteResponse(VoteResponse { term: 301, granted: false });
        check("election_vote_response", &Envelope::new(node("supervisor-1"), body));
    }

    #[test]
    fn leader_heartbeat_vector() {
        let body = Body::LeaderHeartbeat(LeaderHeartbeat { term: 300 });
        check("election_leader_heartbeat", &Envelope::new(node("supervisor-2"), body));
    }

    #[test]
    fn heartbeat_response_vector() {
        let body = Body::HeartbeatResponse(HeartbeatResponse { term: 300 });
        check("election_heartbeat_response", &Envelope::new(node("supervisor-1"), body));
    }
}

#[test]
fn link_state_vector() {
    let mut links = heapless::Vec::new();
    links.push(LinkAdvert { neighbor: node("worker-2"), latency: Duration::from_micros(12_345), up: true }).unwrap();
    links.push(LinkAdvert { neighbor: node("worker-9"), latency: Duration::from_millis(250), up: false }).unwrap();
    let envelope = Envelope::new(node("worker-7"), Body::LinkState(LinkState { sequence: 300, links }));
    check("link_state", &envelope);
}

fn digest() -> [u8; 32] {
    core::array::from_fn(|i| i as u8)
}

#[test]
fn task_assignment_vector() {
    let envelope = Envelope::new(
        node("supervisor-1"),
        Body::TaskAssignment(TaskAssignment {
            term: 1,
            task: TaskId::new("task-42").unwrap(),
            task_type: TaskType::new("train").unwrap(),
            role: TaskRole::Primary,
            checkpoint: Some(Checkpoint { sequence: 1_000, digest: digest() }),
        }),
    );
    check("task_assignment", &envelope);
}

#[test]
fn task_assignment_backup_vector() {
    let envelope = Envelope::new(
        node("supervisor-1"),
        Body::TaskAssignment(TaskAssignment {
            term: 1,
            task: TaskId::new("task-42").unwrap(),
            task_type: TaskType::new("train").unwrap(),
            role: TaskRole::Backup,
            checkpoint: None,
        }),
    );
    check("task_assignment_backup", &envelope);
}

#[test]
fn checkpoint_report_vector() {
    let envelope = Envelope::new(
        node("worker-7"),
        Body::CheckpointReport(CheckpointReport {
            task: TaskId::new("task-42").unwrap(),
            checkpoint: Checkpoint { sequence: 1_001, digest: digest() },
        }),
    );
    check("checkpoint_report", &envelope);
}

#[test]
fn task_release_vector() {
    let envelope =
        Envelope::new(node("supervisor-1"), Body::TaskRelease(TaskRelease { task: TaskId::new("task-42").unwrap() }));
    check("task_release", &envelope);
}

mod coordinator {
    use super::{check, digest, node};
    use pouw_netops::wire::{Body, Envelope, LeaderNotice, Membership, TaskEntry, TaskTable};
    use pouw_netops::workers::Checkpoint;
    use pouw_netops::{TaskId, TaskType};

    #[test]
    fn membership_vector() {
        let mut task_types = heapless::Vec::new();
        task_types.push(TaskType::new("train").unwrap()).unwrap();
        task_types.push(TaskType::new("infer").unwrap()).unwrap();
        let body = Body::Membership(Membership { joining: true, slots: 2, task_types, public_key: digest() });
        check("membership", &Envelope::new(node("worker-3"), body));
    }

    #[test]
    fn leave_vector() {
        let body = Body::Membership(Membership {
            joining: false,
            slots: 0,
            task_types: heapless::Vec::new(),
            public_key: [0; 32],
        });
        check("membership_leave", &Envelope::new(node("supervisor-1"), body));
    }

    #[test]
    fn leader_notice_vector() {
        let body = Body::LeaderNotice(LeaderNotice { term: 300 });
        check("leader_notice", &Envelope::new(node("supervisor-2"), body));
    }

    #[test]
    fn task_table_vector() {
        let mut entries = heapless::Vec::new();
        entries
            .push(TaskEntry {
                task: TaskId::new("task-42").unwrap(),
                task_type: TaskType::new("train").unwrap(),
                required: 1,
                backups: 2,
                checkpoint: Some(Checkpoint { sequence: 1_000, digest: digest() }),
            })
            .unwrap();
        entries
            .push(TaskEntry {
                task: TaskId::new("task-43").unwrap(),
                task_type: TaskType::new("infer").unwrap(),
                required: 2,
                backups: 0,
                checkpoint: None,
            })
            .unwrap();
        let body = Body::TaskTable(TaskTable { term: 300, entries });
        check("task_table", &Envelope::new(node("supervisor-2"), body));
    }
}
