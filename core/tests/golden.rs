//! Golden wire vectors: the committed hex under `tests/vectors/` is the format.
//!
//! Each test encodes a fixed envelope and compares it byte for byte with its
//! vector, then decodes the vector back. To change the format on purpose, run
//! with `UPDATE_GOLDEN=1` and commit the new files with the change.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

mod vectors;

use pouw_netops::wire::{
    Body, Echo, EndpointRecord, Envelope, Heartbeat, HeldRole, LinkAdvert, LinkState, SignedLinkState,
};
use pouw_netops::workers::TaskRole;
use pouw_netops::{Duration, Instant, NodeId, TaskId, TaskType};

/// Checks `envelope` against the vector `name` (or rewrites it under `UPDATE_GOLDEN=1`).
pub fn check(name: &str, envelope: &Envelope) {
    let committed = vectors::check(name, &envelope.to_vec().unwrap());
    assert_eq!(&Envelope::decode(&committed).unwrap(), envelope, "vector {name} decodes differently");
}

fn node(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn task(s: &str) -> TaskId {
    TaskId::new(s).unwrap()
}

fn task_type(s: &str) -> TaskType {
    TaskType::new(s).unwrap()
}

/// A real signature by `worker` (its key from seed `[7; 32]`, the cluster's
/// from `[0xA0; 32]`) on its checkpoint `seq` (with [`digest`]) of `task`.
fn signature(t: &str, worker: &str, seq: u64) -> pouw_netops::wire::SignatureBytes {
    use pouw_netops::auth::{IdentityKey, sign_checkpoint};
    let (key, cluster) = (IdentityKey::from_seed(&[7; 32]), IdentityKey::from_seed(&[0xA0; 32]).public());
    let c = pouw_netops::workers::Checkpoint { sequence: seq, digest: digest() };
    sign_checkpoint(&key, &cluster, &task(t), &node(worker), &c).into()
}

fn digest() -> [u8; 32] {
    core::array::from_fn(|i| i as u8)
}

/// One test per vector: `test: "vector" from "sender" => body;` checks the
/// envelope `sender` sends with `body` against `tests/vectors/vector.hex`.
macro_rules! golden {
    ($($test:ident: $vector:literal from $sender:literal => $body:expr;)*) => {
        $(
            #[test]
            fn $test() {
                check($vector, &Envelope::new(node($sender), $body));
            }
        )*
    };
}

golden! {
    heartbeat_vector: "heartbeat" from "worker-7" => vectors::heartbeat();
    link_state_vector: "link_state" from "worker-7" => {
        let mut links = heapless::Vec::new();
        links.push(LinkAdvert { neighbor: node("worker-2"), latency: Duration::from_micros(12_345), up: true }).unwrap();
        links.push(LinkAdvert { neighbor: node("worker-9"), latency: Duration::from_millis(250), up: false }).unwrap();
        Body::LinkState(LinkState { sequence: 300, links })
    };
    heartbeat_echo_vector: "heartbeat_echo" from "worker-7" => {
        let Body::Heartbeat(hb) = vectors::heartbeat() else { panic!("not a heartbeat") };
        let echo = Some(Echo { sent_at: Instant::from_micros(1_700_000_000_100_000), held: Duration::from_micros(2_500) });
        Body::Heartbeat(Heartbeat { echo, ..hb })
    };
    signed_link_state_vector: "signed_link_state" from "supervisor-1" => {
        use pouw_netops::auth::{IdentityKey, sign_link_state};
        let mut links = heapless::Vec::new();
        links.push(LinkAdvert { neighbor: node("worker-2"), latency: Duration::from_micros(12_345), up: true }).unwrap();
        links.push(LinkAdvert { neighbor: node("worker-9"), latency: Duration::from_millis(250), up: false }).unwrap();
        let state = LinkState { sequence: (3 << 32) + 17, links };
        let (key, cluster) = (IdentityKey::from_seed(&[7; 32]), IdentityKey::from_seed(&[0xA0; 32]).public());
        let signature = sign_link_state(&key, &cluster, &node("worker-7"), &state).unwrap().into();
        Body::SignedLinkState(SignedLinkState { origin: node("worker-7"), state, signature })
    };
    endpoint_record_vector: "endpoint_record" from "worker-7" => {
        use pouw_netops::auth::{IdentityKey, sign_endpoint};
        let (key, cluster) = (IdentityKey::from_seed(&[7; 32]), IdentityKey::from_seed(&[0xA0; 32]).public());
        let (sequence, endpoint) = ((3 << 32) + 18, "198.51.100.7:51820");
        let signature = sign_endpoint(&key, &cluster, &node("worker-7"), sequence, endpoint).into();
        Body::EndpointRecord(EndpointRecord { sequence, endpoint: endpoint.try_into().unwrap(), signature })
    };
    // The wire carries the certificate as opaque bytes (the node decodes and verifies it).
    voucher_vector: "voucher" from "supervisor-1" => {
        let certificate = heapless::Vec::from_slice(&[0xC3; 40]).unwrap();
        Body::Voucher(pouw_netops::wire::Voucher { certificate })
    };
}

mod election {
    use super::{check, node};
    use pouw_netops::wire::{Body, Envelope, HeartbeatResponse, LeaderHeartbeat, VoteRequest, VoteResponse};

    golden! {
        pre_vote_vector: "election_pre_vote" from "supervisor-2" =>
            Body::PreVote(VoteRequest { term: 7, progress: Some(123_456) });
        pre_vote_response_vector: "election_pre_vote_response" from "supervisor-1" =>
            Body::PreVoteResponse(VoteResponse { term: 7, granted: true });
        request_vote_vector: "election_request_vote" from "supervisor-2" =>
            Body::RequestVote(VoteRequest { term: 300, progress: None });
        vote_response_vector: "election_vote_response" from "supervisor-1" =>
            Body::VoteResponse(VoteResponse { term: 301, granted: false });
        leader_heartbeat_vector: "election_leader_heartbeat" from "supervisor-2" =>
            Body::LeaderHeartbeat(LeaderHeartbeat { term: 300 });
        heartbeat_response_vector: "election_heartbeat_response" from "supervisor-1" =>
            Body::HeartbeatResponse(HeartbeatResponse { term: 300 });
    }
}

mod workers {
    use super::{check, digest, node, task, task_type};
    use pouw_netops::wire::{Body, CheckpointReport, Envelope, TaskAssignment, TaskRelease};
    use pouw_netops::workers::{Checkpoint, TaskRole};

    golden! {
        task_assignment_vector: "task_assignment" from "supervisor-1" => Body::TaskAssignment(TaskAssignment {
            term: 1,
            task: task("task-42"),
            task_type: task_type("train"),
            role: TaskRole::Primary,
            checkpoint: Some(Checkpoint { sequence: 1_000, digest: digest() }),
        });
        task_assignment_backup_vector: "task_assignment_backup" from "supervisor-1" =>
            Body::TaskAssignment(TaskAssignment {
                term: 1,
                task: task("task-42"),
                task_type: task_type("train"),
                role: TaskRole::Backup,
                checkpoint: None,
            });
        checkpoint_report_vector: "checkpoint_report" from "worker-7" => Body::CheckpointReport(CheckpointReport {
            task: task("task-42"),
            checkpoint: Checkpoint { sequence: 1_001, digest: digest() },
            signature: super::signature("task-42", "worker-7", 1_001),
        });
        task_release_vector: "task_release" from "supervisor-1" => Body::TaskRelease(TaskRelease { task: task("task-42") });
    }
}

mod coordinator {
    use super::{check, digest, node, task, task_type};
    use pouw_netops::wire::{
        Body, CheckpointProof, Envelope, LeaderNotice, Membership, TableReport, TaskEntry, TaskTable,
    };
    use pouw_netops::workers::Checkpoint;

    golden! {
        // A join carries the sender's certificate: the certificate vector's bytes.
        membership_vector: "membership" from "worker-3" => {
            let certificate = heapless::Vec::from_slice(&super::vectors::read("auth_certificate")).unwrap();
            Body::Membership(Membership { joining: true, certificate })
        };
        leave_vector: "membership_leave" from "supervisor-1" =>
            Body::Membership(Membership { joining: false, certificate: heapless::Vec::new() });
        leader_notice_vector: "leader_notice" from "supervisor-2" => Body::LeaderNotice(LeaderNotice { term: 300 });
        task_table_vector: "task_table" from "supervisor-2" => Body::TaskTable(TaskTable { term: 300, entries: entries() });
        // A follower's report of its table to the leader of term 300: the
        // second of three parts, with the task table vector's entries.
        table_report_vector: "table_report" from "supervisor-3" =>
            Body::TableReport(TableReport { term: 300, part: 1, parts: 3, entries: entries() });
    }

    /// Two entries: one at a checkpoint with its primary's proof, one without.
    fn entries() -> heapless::Vec<TaskEntry, { pouw_netops::wire::MAX_TABLE_ENTRIES }> {
        let mut entries = heapless::Vec::new();
        let first = TaskEntry {
            task: task("task-42"),
            task_type: task_type("train"),
            required: 1,
            backups: 2,
            checkpoint: Some(Checkpoint { sequence: 1_000, digest: digest() }),
            proof: Some(CheckpointProof {
                primary: node("worker-7"),
                signature: super::signature("task-42", "worker-7", 1_000),
            }),
        };
        let second = TaskEntry {
            task: task("task-43"),
            task_type: task_type("infer"),
            required: 2,
            backups: 0,
            checkpoint: None,
            proof: None,
        };
        entries.push(first).unwrap();
        entries.push(second).unwrap();
        entries
    }
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
