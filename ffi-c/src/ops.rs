//! `pn_ops`: one node's coordinator, over [`pouw_netops::NetworkOperationsManager`]
//! with the large preset (clusters of up to 4096 nodes and 4096 tasks).
//!
//! The coordinator drives every component behind one sans-IO loop. Feed it
//! `pn_ops_start`, `pn_ops_handle_message` (received bytes), `pn_ops_tick`,
//! `pn_ops_submit_task` and `pn_ops_report_checkpoint`; after every such call
//! drain, in this order:
//!
//! 1. `pn_ops_poll_hard_state` (supervisors): persist it before sending anything;
//! 2. `pn_ops_poll_transmit`: a sealed datagram into a caller buffer, with the
//!    one node it goes to;
//! 3. `pn_ops_poll_event`: what happened, as tagged structs;
//! 4. `pn_ops_poll_archived`: history batches leaving memory, as bytes to store
//!    (read them back with `pn_batch_parse` and `pn_batch_search`);
//! 5. `pn_ops_poll_timeout`: when to call `pn_ops_tick` next.
//!
//! The node speaks with the credentials given to `pn_ops_new` (`pn_credentials`:
//! its identity secret, its certificate from the cluster authority, the
//! authority's public key, its boot epoch); `identity.rs` has the helpers that
//! derive keys and issue, verify and inspect certificates.
//!
//! The routes and WireGuard configuration of the node's mesh are read with
//! `pn_ops_route`, `pn_ops_routes` and `pn_ops_render_wireguard` (in `mesh`).

use crate::boundary::{Handle, Out, bytes, copy_out, guard, message, slots, write_out};
use crate::convert::{node_id, node_ids, pn_health_metrics, pn_node_id, pn_node_status, pn_task_id, task_id};
use crate::convert::{pn_str, task_type, us};
use crate::crash_recovery::{pn_crash_recovery_config, pn_health_summary};
use crate::election::{election_config, pn_hard_state, pn_leader_election_config};
use crate::mesh::pn_tunnel_state;
use crate::result::pn_result;
use crate::workers::{
    NO_CHECKPOINT, checkpoint_to_c, pn_checkpoint, pn_task_role, pn_utilization_stats, pn_worker_replacement_config,
};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_char;
use pouw_netops::auth::{IdentityKey, PublicIdentity, SignedCertificate};
use pouw_netops::coordinator::{Credentials, OpsCounters, RejectCounts, RejectReason};
use pouw_netops::health::HealthScore;
/// The preset of this build's coordinator: `large` on hosts, `small` with the
/// feature `embedded` (see `PN_SMALL_OPS_NODES`, `PN_SMALL_OPS_QUEUE`).
#[cfg(feature = "std")]
use pouw_netops::preset::large as preset;
#[cfg(not(feature = "std"))]
use pouw_netops::preset::small as preset;
use pouw_netops::preset::{large, small};
use pouw_netops::{
    Checkpoint, CrashRecoveryConfig, HardState, HealthMetrics, Instant, NodeRole, OpsConfig, OpsEvent, OpsEventKind,
    WorkerConfig,
};

/// The longest datagram a node accepts or produces, in bytes (fits any `pn_ops_poll_transmit`).
pub const PN_MAX_MESSAGE_LEN: usize = 65536;
const _: () = assert!(PN_MAX_MESSAGE_LEN == pouw_netops::wire::MAX_ENVELOPE_LEN);

/// Entries in each of the coordinator's queues (`large::OPS_QUEUE`).
pub const PN_OPS_QUEUE: usize = 4096;
const _: () = assert!(PN_OPS_QUEUE == large::OPS_QUEUE);

/// The fields a `pn_ops_config` does not carry: the host defaults, or in a
/// library built for microcontrollers (feature `embedded`) a small worker
/// node's, `OpsConfig::small()` (message history off; `docs/embedded.md`).
fn base_config() -> OpsConfig {
    #[cfg(feature = "std")]
    let c = OpsConfig::default();
    #[cfg(not(feature = "std"))]
    let c = OpsConfig::small();
    c
}

/// Peers of a coordinator in the `embedded` build (the `small` preset: `small::OPS_NODES`).
pub const PN_SMALL_OPS_NODES: usize = 8;
const _: () = assert!(PN_SMALL_OPS_NODES == small::OPS_NODES);
/// Entries in each of the coordinator's queues in the `embedded` build (`small::OPS_QUEUE`).
pub const PN_SMALL_OPS_QUEUE: usize = 8;
const _: () = assert!(PN_SMALL_OPS_QUEUE == small::OPS_QUEUE);
/// Supervisors (election voters) a coordinator knows in the `embedded` build (`small::VOTERS`).
pub const PN_SMALL_VOTERS: usize = 8;
const _: () = assert!(PN_SMALL_VOTERS == small::VOTERS);
/// Tasks a coordinator tracks in the `embedded` build (`small::TASKS`).
pub const PN_SMALL_TASKS: usize = 8;
const _: () = assert!(PN_SMALL_TASKS == small::TASKS);

/// Reasons a datagram can be refused at a node's entrance: the length of `pn_ops_counters.rejected`.
pub const PN_REJECT_REASONS: usize = 17;
const _: () = assert!(PN_REJECT_REASONS == RejectReason::ALL.len());

/// Coordinator parameters; every component's own parameters are nested.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_ops_config {
    /// How often this node sends its health heartbeat, microseconds (default 1 s).
    pub heartbeat_interval_us: u64,
    /// How often the crash detector sweeps, microseconds (default 250 ms).
    pub sweep_interval_us: u64,
    /// How often tunnel health is checked and routes refreshed, microseconds (default 5 s).
    pub tunnel_check_interval_us: u64,
    /// How often the leader repeats its leader notice, microseconds (default 5 s).
    pub leader_notice_interval_us: u64,
    /// How often the leader sends the next slice of its task table, microseconds (default 1 s).
    pub task_table_interval_us: u64,
    /// How often a node repeats its membership announcement, microseconds (default 30 s).
    pub membership_interval_us: u64,
    /// Seal the open history batch at least this often, microseconds (default 60 s).
    pub history_flush_interval_us: u64,
    /// (Worker) how long a role outlives the leader's last message, microseconds (default 6 s).
    pub lease_timeout_us: u64,
    /// Record health heartbeats in the message history too (default true).
    pub record_heartbeats: bool,
    /// Heartbeats between a follower supervisor and a worker go every this
    /// many intervals, both ways (default 1; 0 is refused). The leader keeps
    /// the full rate. Set it alike on every node of a cluster.
    pub follower_heartbeat_every: u8,
    /// Failure detection and recovery.
    pub crash: pn_crash_recovery_config,
    /// Leader election (supervisors).
    pub election: pn_leader_election_config,
    /// Worker replacement (supervisors).
    pub workers: pn_worker_replacement_config,
    /// Byzantine supervisors tolerated, f (default 0: crash-only); needs at least 3f + 1 supervisors.
    pub byzantine_f: u32,
}

/// What a node is in the cluster. Passed to `pn_ops_new` as an integer and validated.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_node_role {
    /// Runs the election and, when leader, assigns and replaces workers.
    PN_NODE_SUPERVISOR = 0,
    /// Runs tasks it is given and reports checkpoints.
    PN_NODE_WORKER = 1,
}

crate::convert::mirror_enum!(in NodeRole => pn_node_role { Supervisor => PN_NODE_SUPERVISOR, Worker => PN_NODE_WORKER });

/// What a node needs to speak in an authenticated cluster, for `pn_ops_new`.
/// The host draws `identity_seed` once from its OS randomness, keeps it secret
/// and gives the same seed at every start. Wipe the struct's copy after `pn_ops_new`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct pn_credentials {
    /// The node's Ed25519 identity secret (RFC 8032 seed); `pn_identity_public` gives its public key.
    pub identity_seed: [u8; 32],
    /// The node's certificate from the cluster authority (`pn_certificate_issue`), naming this
    /// node, its role and `identity_seed`'s public key; its slots, pools, WireGuard key and endpoints.
    pub certificate: *const u8,
    /// Length of `certificate` in bytes.
    pub certificate_len: usize,
    /// The cluster authority's Ed25519 public key (the cluster's identity).
    pub authority_public: [u8; 32],
    /// This boot's epoch: higher than the last one, persisted (synced) before the node sends
    /// anything. Peers refuse an epoch they have seen end: a reused one looks replayed.
    pub epoch: u64,
    /// UNIX seconds at `now_us` = 0: validity is checked at `unix_at_zero + now_us / 1e6`.
    pub unix_at_zero: u64,
}

/// Leaves the secret seed out.
impl core::fmt::Debug for pn_credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("pn_credentials")
            .field("certificate_len", &self.certificate_len)
            .field("epoch", &self.epoch)
            .field("unix_at_zero", &self.unix_at_zero)
            .finish_non_exhaustive()
    }
}

/// Why a datagram was refused at a node's entrance: the index into
/// `pn_ops_counters.rejected` (the core's order); `pn_reject_reason_str` names each.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_reject_reason {
    /// Not a well-formed v2 envelope, or its body does not decode (`PN_ERR_DECODE`).
    PN_REJECT_MALFORMED = 0,
    /// It claims to come from this node (`PN_ERR_INVALID_ARGUMENT`).
    PN_REJECT_FROM_SELF = 1,
    /// The sender is not an admitted member (`PN_ERR_UNAUTHENTICATED`).
    PN_REJECT_UNKNOWN_SENDER = 2,
    /// The MAC does not verify (`PN_ERR_UNAUTHENTICATED`).
    PN_REJECT_BAD_TAG = 3,
    /// The signature does not verify (`PN_ERR_UNAUTHENTICATED`).
    PN_REJECT_BAD_SIGNATURE = 4,
    /// Seen before, older than the replay window, from an earlier epoch of the
    /// sender, or MAC'd for an earlier epoch of this node (`PN_ERR_REPLAYED`).
    PN_REJECT_REPLAYED = 5,
    /// The certificate is not signed by this cluster's authority (`PN_ERR_UNAUTHENTICATED`).
    PN_REJECT_WRONG_AUTHORITY = 6,
    /// The certificate is not valid now (`PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_EXPIRED = 7,
    /// The certificate's role is not the one expected (`PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_WRONG_ROLE = 8,
    /// The certificate is revoked (`PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_REVOKED = 9,
    /// The certificate names another node than the sender (`PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_ID_MISMATCH = 10,
    /// The certificate's serial is lower than the one held (`PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_STALE_SERIAL = 11,
    /// The certificate is malformed (`PN_ERR_DECODE`).
    PN_REJECT_BAD_CERTIFICATE = 12,
    /// The roster is full: the new member was not admitted (`PN_ERR_CAPACITY_EXCEEDED`).
    PN_REJECT_ROSTER_FULL = 13,
    /// The sender's role may not send this message (`PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_NOT_AUTHORIZED = 14,
    /// A supervisor sending a leader message for a term another supervisor is known to lead (`PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_NOT_LEADER = 15,
    /// A term claimed without a valid signed vote or certificate (Byzantine mode; `PN_ERR_CREDENTIAL_REJECTED`).
    PN_REJECT_UNCERTIFIED = 16,
}

crate::convert::mirror_enum!(RejectReason => pn_reject_reason {
    Malformed => PN_REJECT_MALFORMED,
    FromSelf => PN_REJECT_FROM_SELF,
    UnknownSender => PN_REJECT_UNKNOWN_SENDER,
    BadTag => PN_REJECT_BAD_TAG,
    BadSignature => PN_REJECT_BAD_SIGNATURE,
    Replayed => PN_REJECT_REPLAYED,
    WrongAuthority => PN_REJECT_WRONG_AUTHORITY,
    Expired => PN_REJECT_EXPIRED,
    WrongRole => PN_REJECT_WRONG_ROLE,
    Revoked => PN_REJECT_REVOKED,
    IdMismatch => PN_REJECT_ID_MISMATCH,
    StaleSerial => PN_REJECT_STALE_SERIAL,
    BadCertificate => PN_REJECT_BAD_CERTIFICATE,
    RosterFull => PN_REJECT_ROSTER_FULL,
    NotAuthorized => PN_REJECT_NOT_AUTHORIZED,
    NotLeader => PN_REJECT_NOT_LEADER,
    Uncertified => PN_REJECT_UNCERTIFIED,
});

/// The core's reason names, NUL-terminated, in `RejectReason::ALL` order
/// (checked against `RejectReason::as_str` in the tests).
const REJECT_NAMES: [&core::ffi::CStr; PN_REJECT_REASONS] = [
    c"malformed",
    c"from_self",
    c"unknown_sender",
    c"bad_tag",
    c"bad_signature",
    c"replayed",
    c"wrong_authority",
    c"expired",
    c"wrong_role",
    c"revoked",
    c"id_mismatch",
    c"stale_serial",
    c"bad_certificate",
    c"roster_full",
    c"not_authorized",
    c"not_leader",
    c"uncertified",
];

/// The static snake-case name of a `pn_reject_reason` value ("unknown reject reason" for others).
#[unsafe(no_mangle)]
pub extern "C" fn pn_reject_reason_str(reason: i32) -> *const c_char {
    crate::boundary::catch_or(c"unknown reject reason".as_ptr(), || {
        let name = usize::try_from(reason).ok().and_then(|i| REJECT_NAMES.get(i));
        name.map_or(c"unknown reject reason", |n| n).as_ptr()
    })
}

/// The counts of `RejectCounts` as the C array, indexed by `pn_reject_reason`.
fn rejected_to_c(counts: &RejectCounts) -> [u64; PN_REJECT_REASONS] {
    let mut out = [0u64; PN_REJECT_REASONS];
    for (reason, n) in counts.iter() {
        if let Some(slot) = out.get_mut(pn_reject_reason::from(reason) as usize) {
            *slot = n;
        }
    }
    out
}

/// The kind of a coordinator event: says which fields of `pn_ops_event` are set.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_ops_event_kind {
    /// A peer's health status changed: `status_from`, `status_to`.
    PN_OPS_NODE_STATUS_CHANGED = 1,
    /// A peer fell silent past the phi threshold: `duration_us` (the silence).
    PN_OPS_CRASH_DETECTED = 2,
    /// A recovery of the peer began: `attempt`.
    PN_OPS_RECOVERY_STARTED = 3,
    /// The peer is healthy again: `duration_us` (from the attempt's start).
    PN_OPS_RECOVERY_COMPLETED = 4,
    /// The peer did not recover in time.
    PN_OPS_RECOVERY_FAILED = 5,
    /// The peer left gracefully.
    PN_OPS_NODE_LEFT = 6,
    /// (Leader) the failed worker `node`'s `role` in `task` went to `replacement`
    /// (`from_backup`), resuming from `checkpoint` if `has_checkpoint`.
    PN_OPS_WORKER_REPLACED = 7,
    /// (Leader) `node` was given `role` in `task`, starting from `checkpoint` if `has_checkpoint`.
    PN_OPS_TASK_ASSIGNED = 8,
    /// (Leader) `task` is short of primaries: `primaries`, `required`.
    PN_OPS_TASK_DEGRADED = 9,
    /// (Leader) `task` has all its primaries again.
    PN_OPS_TASK_RESTORED = 10,
    /// (Worker) this node was given `role` in `task`, resuming from `checkpoint` if `has_checkpoint`.
    PN_OPS_ASSIGNMENT_RECEIVED = 11,
    /// (Worker) this node no longer works on `task`.
    PN_OPS_ASSIGNMENT_RELEASED = 12,
    /// `node` leads `term`.
    PN_OPS_LEADER_ELECTED = 13,
    /// This node stopped leading `term`.
    PN_OPS_STEPPED_DOWN = 14,
    /// The open history buffer was sealed into batch `value`.
    PN_OPS_BATCH_COMPRESSED = 15,
    /// `value` history batches moved out of memory.
    PN_OPS_BATCH_ARCHIVED = 16,
    /// The tunnel to `node` is up.
    PN_OPS_TUNNEL_UP = 17,
    /// The tunnel to `node` went stale or down: `tunnel_state`.
    PN_OPS_TUNNEL_DOWN = 18,
    /// The next hop towards `node` changed: `next_hop` if `has_next_hop`, else unreachable.
    PN_OPS_ROUTE_CHANGED = 19,
    /// (Worker) the lease on this node's role in `task` ran out (nothing heard from its leader): stop the work.
    PN_OPS_LEASE_EXPIRED = 20,
    /// Voter `node` signed votes for two candidates in `term` (Byzantine mode): `evidence`.
    PN_OPS_EQUIVOCATION = 21,
}

/// One coordinator event: `kind` says which fields are meaningful; the others are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_ops_event {
    /// What happened.
    pub kind: pn_ops_event_kind,
    /// When, microseconds (caller time, clamped monotonic).
    pub at_us: u64,
    /// The node concerned (this node for its own role changes).
    pub node: pn_node_id,
    /// NODE_STATUS_CHANGED: before.
    pub status_from: pn_node_status,
    /// NODE_STATUS_CHANGED: after.
    pub status_to: pn_node_status,
    /// CRASH_DETECTED: the silence; RECOVERY_COMPLETED: how long it took; microseconds.
    pub duration_us: u64,
    /// RECOVERY_STARTED: attempt number, from 1.
    pub attempt: u32,
    /// Task events: the task (length 0 otherwise).
    pub task: pn_task_id,
    /// WORKER_REPLACED, TASK_ASSIGNED, ASSIGNMENT_RECEIVED: the role.
    pub role: pn_task_role,
    /// WORKER_REPLACED: who took over.
    pub replacement: pn_node_id,
    /// WORKER_REPLACED: whether `replacement` was a backup of the task.
    pub from_backup: bool,
    /// Whether `checkpoint` is set.
    pub has_checkpoint: bool,
    /// Where the task resumes (zero if none).
    pub checkpoint: pn_checkpoint,
    /// TASK_DEGRADED: primaries the task has.
    pub primaries: u16,
    /// TASK_DEGRADED: primaries it needs.
    pub required: u16,
    /// LEADER_ELECTED, STEPPED_DOWN, EQUIVOCATION: the term.
    pub term: u64,
    /// BATCH_COMPRESSED: the batch id; BATCH_ARCHIVED: how many batches; EQUIVOCATION: bytes at `evidence`.
    pub value: u64,
    /// TUNNEL_DOWN: the tunnel's state.
    pub tunnel_state: pn_tunnel_state,
    /// ROUTE_CHANGED: whether a next hop exists.
    pub has_next_hop: bool,
    /// ROUTE_CHANGED: the next hop (length 0 if unreachable).
    pub next_hop: pn_node_id,
    /// EQUIVOCATION: the evidence record (`value` bytes, for `pn_equivocation_verify`), owned by
    /// the handle until the next `pn_ops_poll_event` or `pn_ops_free`; NULL for other kinds.
    pub evidence: *const u8,
}

impl From<&OpsEvent> for pn_ops_event {
    fn from(e: &OpsEvent) -> Self {
        use pn_ops_event_kind::*;
        let mut out = pn_ops_event {
            kind: PN_OPS_NODE_LEFT,
            at_us: e.at.total_micros(),
            node: pn_node_id::from(&e.node),
            status_from: pn_node_status::PN_NODE_ONLINE,
            status_to: pn_node_status::PN_NODE_ONLINE,
            duration_us: 0,
            attempt: 0,
            task: pn_node_id::EMPTY,
            role: pn_task_role::PN_ROLE_PRIMARY,
            replacement: pn_node_id::EMPTY,
            from_backup: false,
            has_checkpoint: false,
            checkpoint: NO_CHECKPOINT,
            primaries: 0,
            required: 0,
            term: 0,
            value: 0,
            tunnel_state: pn_tunnel_state::PN_TUNNEL_CONNECTING,
            has_next_hop: false,
            next_hop: pn_node_id::EMPTY,
            evidence: core::ptr::null(),
        };
        let set_checkpoint = |out: &mut pn_ops_event, c: Option<&Checkpoint>| {
            (out.has_checkpoint, out.checkpoint) = checkpoint_to_c(c);
        };
        match &e.kind {
            OpsEventKind::NodeStatusChanged { from, to } => {
                out.kind = PN_OPS_NODE_STATUS_CHANGED;
                out.status_from = (*from).into();
                out.status_to = (*to).into();
            }
            OpsEventKind::CrashDetected { silence } => {
                out.kind = PN_OPS_CRASH_DETECTED;
                out.duration_us = silence.total_micros();
            }
            OpsEventKind::RecoveryStarted { attempt } => {
                out.kind = PN_OPS_RECOVERY_STARTED;
                out.attempt = *attempt;
            }
            OpsEventKind::RecoveryCompleted { took } => {
                out.kind = PN_OPS_RECOVERY_COMPLETED;
                out.duration_us = took.total_micros();
            }
            OpsEventKind::RecoveryFailed => out.kind = PN_OPS_RECOVERY_FAILED,
            OpsEventKind::NodeLeft => out.kind = PN_OPS_NODE_LEFT,
            OpsEventKind::WorkerReplaced { task, replacement, role, from_backup, checkpoint } => {
                out.kind = PN_OPS_WORKER_REPLACED;
                out.task = pn_task_id::from_text(task.as_str());
                out.replacement = pn_node_id::from(replacement);
                out.role = (*role).into();
                out.from_backup = *from_backup;
                set_checkpoint(&mut out, checkpoint.as_ref());
            }
            OpsEventKind::TaskAssigned { task, role, checkpoint } => {
                out.kind = PN_OPS_TASK_ASSIGNED;
                out.task = pn_task_id::from_text(task.as_str());
                out.role = (*role).into();
                set_checkpoint(&mut out, checkpoint.as_ref());
            }
            OpsEventKind::TaskDegraded { task, primaries, required } => {
                out.kind = PN_OPS_TASK_DEGRADED;
                out.task = pn_task_id::from_text(task.as_str());
                out.primaries = *primaries;
                out.required = *required;
            }
            OpsEventKind::TaskRestored { task } => {
                out.kind = PN_OPS_TASK_RESTORED;
                out.task = pn_task_id::from_text(task.as_str());
            }
            OpsEventKind::AssignmentReceived { task, role, checkpoint } => {
                out.kind = PN_OPS_ASSIGNMENT_RECEIVED;
                out.task = pn_task_id::from_text(task.as_str());
                out.role = (*role).into();
                set_checkpoint(&mut out, checkpoint.as_ref());
            }
            OpsEventKind::AssignmentReleased { task } => {
                out.kind = PN_OPS_ASSIGNMENT_RELEASED;
                out.task = pn_task_id::from_text(task.as_str());
            }
            OpsEventKind::LeaseExpired { task } => {
                out.kind = PN_OPS_LEASE_EXPIRED;
                out.task = pn_task_id::from_text(task.as_str());
            }
            OpsEventKind::LeaderElected { term } => {
                out.kind = PN_OPS_LEADER_ELECTED;
                out.term = *term;
            }
            OpsEventKind::SteppedDown { term } => {
                out.kind = PN_OPS_STEPPED_DOWN;
                out.term = *term;
            }
            OpsEventKind::BatchCompressed { id } => {
                out.kind = PN_OPS_BATCH_COMPRESSED;
                out.value = *id;
            }
            OpsEventKind::BatchArchived { count } => {
                out.kind = PN_OPS_BATCH_ARCHIVED;
                out.value = *count;
            }
            OpsEventKind::TunnelUp => out.kind = PN_OPS_TUNNEL_UP,
            OpsEventKind::TunnelDown { state } => {
                out.kind = PN_OPS_TUNNEL_DOWN;
                out.tunnel_state = (*state).into();
            }
            OpsEventKind::RouteChanged { next_hop } => {
                out.kind = PN_OPS_ROUTE_CHANGED;
                out.has_next_hop = next_hop.is_some();
                out.next_hop = pn_node_id::from_opt(next_hop.as_ref());
            }
            OpsEventKind::Equivocation { term, evidence } => {
                out.kind = PN_OPS_EQUIVOCATION;
                out.term = *term;
                out.value = evidence.len() as u64;
            }
        }
        out
    }
}

/// Counters of the coordinator itself.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_ops_counters {
    /// Messages handed to the host.
    pub messages_sent: u64,
    /// Bytes handed to the host.
    pub bytes_sent: u64,
    /// Messages accepted by `pn_ops_handle_message`.
    pub messages_received: u64,
    /// Datagrams refused at the entrance (nothing else changed), indexed by `pn_reject_reason`.
    pub rejected: [u64; PN_REJECT_REASONS],
    /// The sum of `rejected`.
    pub rejected_total: u64,
    /// Messages a component refused (unknown voter, stale or misdirected).
    pub messages_ignored: u64,
    /// Outgoing messages dropped because the outbox was full.
    pub dropped_transmits: u64,
    /// Events dropped because the event queue was full.
    pub dropped_events: u64,
    /// Messages not recorded in the history.
    pub history_dropped: u64,
    /// Tables that were full when something had to go in (peers, tasks, roles).
    pub table_full: u64,
    /// Mesh re-establish requests seen.
    pub reestablish_requests: u64,
    /// Messages dropped because they claimed to come from this node (no error is returned).
    pub self_addressed: u64,
    /// Checkpoints of the leader's task table whose primary's signature did not verify: dropped.
    pub bad_checkpoint_proofs: u64,
}

impl From<&OpsCounters> for pn_ops_counters {
    fn from(c: &OpsCounters) -> Self {
        pn_ops_counters {
            messages_sent: c.messages_sent,
            bytes_sent: c.bytes_sent,
            messages_received: c.messages_received,
            rejected: rejected_to_c(&c.rejected),
            rejected_total: c.rejected.total(),
            messages_ignored: c.messages_ignored,
            dropped_transmits: c.dropped_transmits,
            dropped_events: c.dropped_events,
            history_dropped: c.history_dropped,
            table_full: c.table_full,
            reestablish_requests: c.reestablish_requests,
            self_addressed: c.self_addressed,
            bad_checkpoint_proofs: c.bad_checkpoint_proofs,
        }
    }
}

/// A snapshot of the coordinator.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_ops_status_report {
    /// This node.
    pub node_id: pn_node_id,
    /// Its role.
    pub role: pn_node_role,
    /// Between `pn_ops_start` and `pn_ops_stop`.
    pub running: bool,
    /// Whether this node leads (supervisors).
    pub is_leader: bool,
    /// Whether a leader is known.
    pub has_leader: bool,
    /// The leader this node follows (length 0 if none).
    pub leader: pn_node_id,
    /// The leader's term (0 if none).
    pub leader_term: u64,
    /// Tasks in the supervisor's table, or roles a worker holds.
    pub tasks: usize,
    /// Messages waiting for `pn_ops_poll_transmit`.
    pub pending_transmits: usize,
    /// Events waiting for `pn_ops_poll_event`.
    pub pending_events: usize,
    /// Health of the peers this node watches.
    pub health: pn_health_summary,
    /// Whether `utilization` is set (supervisors).
    pub has_utilization: bool,
    /// Worker utilization (supervisors; only the leader's holds tasks).
    pub utilization: pn_utilization_stats,
    /// The coordinator's counters.
    pub counters: pn_ops_counters,
}

/// An opaque coordinator handle (large preset, tens of MiB on the heap).
pub struct pn_ops {
    _opaque: [u8; 0],
}

/// What a `pn_ops` handle owns: the node, and the evidence of the last event
/// `pn_ops_poll_event` returned, which `pn_ops_event.evidence` points into.
pub struct Node {
    node: Box<preset::NetworkOperationsManager>,
    evidence: Vec<u8>,
}

impl core::ops::Deref for Node {
    type Target = preset::NetworkOperationsManager;
    fn deref(&self) -> &Self::Target {
        &self.node
    }
}

impl core::ops::DerefMut for Node {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.node
    }
}

impl Handle for pn_ops {
    type Inner = Node;
}

/// Writes the default coordinator parameters into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_ops_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_config_default(out: *mut pn_ops_config) -> pn_result {
    // SAFETY: the caller's promise for `out`.
    unsafe {
        write_out(out, || {
            let d = OpsConfig::default();
            pn_ops_config {
                heartbeat_interval_us: d.heartbeat_interval.total_micros(),
                sweep_interval_us: d.sweep_interval.total_micros(),
                tunnel_check_interval_us: d.tunnel_check_interval.total_micros(),
                leader_notice_interval_us: d.leader_notice_interval.total_micros(),
                task_table_interval_us: d.task_table_interval.total_micros(),
                membership_interval_us: d.membership_interval.total_micros(),
                history_flush_interval_us: d.history_flush_interval.total_micros(),
                lease_timeout_us: d.lease_timeout.total_micros(),
                record_heartbeats: d.record_heartbeats,
                follower_heartbeat_every: d.follower_heartbeat_every,
                crash: pn_crash_recovery_config::from(&d.crash),
                election: pn_leader_election_config::from(&d.election),
                workers: pn_worker_replacement_config {
                    unknown_score: d.workers.unknown_score.0,
                    score_band: d.workers.score_band,
                },
                byzantine_f: 0,
            }
        })
    }
}

/// Creates the coordinator of node `id` (UTF-8, `id_len` bytes) with `role` (a
/// `pn_node_role` value), among `supervisor_count` supervisors (a supervisor must
/// be one of them; duplicates are ignored), speaking with `credentials` (see
/// `pn_credentials`; the certificate's validity period is checked at
/// `pn_ops_start`). `seed` drives the election's jitter: give every node its
/// own. `restore` (NULL for a fresh node) is the hard state a supervisor
/// persisted before a restart. The node is stopped until `pn_ops_start`.
///
/// Errors: `PN_ERR_INVALID_CONFIG` for a zero interval or a bad component
/// config, `PN_ERR_CAPACITY_EXCEEDED` for too many supervisors,
/// `PN_ERR_INVALID_ARGUMENT` for an unknown role or a supervisor missing from
/// the list; `PN_ERR_DECODE_*` for certificate bytes that do not decode,
/// `PN_ERR_UNAUTHENTICATED` for a certificate (or an authority key) the
/// authority did not sign, `PN_ERR_CREDENTIAL_REJECTED` for one naming another
/// node, role or key. `pn_last_error_message` says which.
///
/// # Safety
/// Every pointer (also inside `supervisors` and `credentials`) NULL or valid for
/// its length; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_new(
    config: *const pn_ops_config,
    id: *const c_char,
    id_len: usize,
    role: u32,
    supervisors: *const pn_str,
    supervisor_count: usize,
    credentials: *const pn_credentials,
    seed: u64,
    restore: *const pn_hard_state,
    out: *mut *mut pn_ops,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (config, id, supervisors, creds, restore, out) = unsafe {
            (
                config.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
                node_id(id, id_len)?,
                node_ids(supervisors, supervisor_count)?,
                credentials.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
                restore.as_ref(),
                Out::new(out)?,
            )
        };
        let role = pn_node_role::core_of(role).ok_or(pn_result::PN_ERR_INVALID_ARGUMENT)?;
        // SAFETY: the caller's promise for the certificate bytes.
        let certificate = SignedCertificate::decode(unsafe { bytes(creds.certificate, creds.certificate_len) }?)?;
        let credentials = Credentials {
            identity: IdentityKey::from_seed(&creds.identity_seed),
            certificate,
            authority: PublicIdentity::from_bytes(&creds.authority_public)?,
            epoch: creds.epoch,
            unix_at_zero: creds.unix_at_zero,
        };
        let c = OpsConfig {
            heartbeat_interval: us(config.heartbeat_interval_us),
            sweep_interval: us(config.sweep_interval_us),
            tunnel_check_interval: us(config.tunnel_check_interval_us),
            leader_notice_interval: us(config.leader_notice_interval_us),
            task_table_interval: us(config.task_table_interval_us),
            membership_interval: us(config.membership_interval_us),
            history_flush_interval: us(config.history_flush_interval_us),
            lease_timeout: us(config.lease_timeout_us),
            record_heartbeats: config.record_heartbeats,
            follower_heartbeat_every: config.follower_heartbeat_every,
            crash: CrashRecoveryConfig::from(&config.crash),
            election: election_config(&config.election, seed, config.byzantine_f)?,
            workers: WorkerConfig {
                unknown_score: HealthScore(config.workers.unknown_score),
                score_band: config.workers.score_band,
            },
            ..base_config()
        };
        let hard_state = restore.map(HardState::try_from).transpose()?;
        let mut m = preset::NetworkOperationsManager::new_boxed(id, role, &supervisors, c, seed, credentials)?;
        if let Some(h) = hard_state {
            m.restore_hard_state(h);
        }
        out.set(pn_ops::into_raw(Box::new(Node { node: m, evidence: Vec::new() })));
        Ok(())
    })
}

/// Releases a coordinator handle; NULL is ignored. The handle is invalid afterwards.
///
/// # Safety
/// `ops` must be NULL or a live handle from `pn_ops_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_free(ops: *mut pn_ops) {
    // SAFETY: the caller's promise for `ops`.
    crate::boundary::catch_or((), || unsafe { pn_ops::free(ops) })
}

/// Starts the node at `now_us` (a running node: nothing): a supervisor joins the
/// election; the node announces itself and sends its first heartbeat. Drain the
/// outputs after. `PN_ERR_CREDENTIAL_REJECTED` if its certificate is not valid at `now_us`.
///
/// # Safety
/// `ops` NULL or a live handle not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_start(ops: *mut pn_ops, now_us: u64) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `ops`.
        let m = unsafe { pn_ops::borrow_mut(ops) }?;
        Ok(m.start(Instant::from_micros(now_us))?)
    })
}

/// Stops the node gracefully at `now_us`: a leader steps down, the node
/// announces its leave and seals its history. Drain the outputs after (the
/// leave message is queued); stopping a stopped node does nothing.
///
/// # Safety
/// As `pn_ops_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_stop(ops: *mut pn_ops, now_us: u64) -> pn_result {
    // SAFETY: the caller's promise for `ops`.
    unsafe { pn_ops::update(ops, |m| m.stop(Instant::from_micros(now_us))) }
}

/// Handles one received datagram (`len` bytes, a sealed v2 envelope), which is
/// authenticated before anything in the node looks at it.
/// `PN_ERR_INVALID_STATE` if the node is not running. A datagram refused at the
/// entrance changes nothing but its counter (`pn_ops_counters.rejected`) and
/// returns the code its `pn_reject_reason` names; `pn_last_error_message` names
/// the reason. An authentic message a component refuses is counted
/// (`messages_ignored`), not an error.
///
/// # Safety
/// As `pn_ops_start`; `msg` NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_handle_message(ops: *mut pn_ops, now_us: u64, msg: *const u8, len: usize) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, input) = unsafe { (pn_ops::borrow_mut(ops)?, message(msg, len)?) };
        Ok(m.handle_message(Instant::from_micros(now_us), input)?)
    })
}

/// Advances every timer to `now_us` (heartbeats, crash sweeps, election, leader
/// duties, tunnel checks). Drain the outputs after.
///
/// # Safety
/// As `pn_ops_start`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_tick(ops: *mut pn_ops, now_us: u64) -> pn_result {
    // SAFETY: the caller's promise for `ops`.
    unsafe { pn_ops::update(ops, |m| m.tick(Instant::from_micros(now_us))) }
}

/// Takes the election's hard state to persist, if it changed since the last
/// call: `*out_available` says whether `*out_state` was written. Persist it
/// before sending anything; election messages are held back until then.
///
/// # Safety
/// `ops` as `pn_ops_start`; `out_state` and `out_available` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_poll_hard_state(
    ops: *mut pn_ops,
    out_state: *mut pn_hard_state,
    out_available: *mut bool,
) -> pn_result {
    // SAFETY: the caller's promises for every pointer.
    unsafe { pn_ops::poll(ops, out_state, out_available, |m| m.poll_hard_state().map(|h| pn_hard_state::from(&h))) }
}

/// Takes the next datagram to send into `buf` (`buf_len` bytes): `*out_available`
/// says whether there was one, `*out_len` its length, `*out_to` the one node it is
/// sealed for (a message for several nodes comes out once per node). A short buffer
/// gives `PN_ERR_BUFFER_TOO_SMALL` with the needed length in `*out_len` and leaves
/// the datagram queued.
///
/// # Safety
/// `ops` as `pn_ops_start`; `buf` NULL or writable for `buf_len` bytes; the others NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_poll_transmit(
    ops: *mut pn_ops,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    out_to: *mut pn_node_id,
    out_available: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, buf, len, to, available) = unsafe {
            (
                pn_ops::borrow_mut(ops)?,
                slots(buf, buf_len)?,
                Out::new(out_len)?,
                Out::new(out_to)?,
                Out::new(out_available)?,
            )
        };
        let Some(t) = m.peek_transmit() else {
            available.set(false);
            return Ok(());
        };
        crate::boundary::copy_out(&t.bytes, buf, len)?;
        let recipient = pn_node_id::from(&t.to);
        let _ = m.poll_transmit();
        to.set(recipient);
        available.set(true);
        Ok(())
    })
}

/// Takes the oldest history batch evicted from memory into `buf`, as
/// `pn_ops_poll_transmit` takes a datagram: bytes of the documented batch format
/// (readable with any zlib), the host's to store. While batches wait here and the
/// outbox is full, the node cannot seal new ones and counts what it could not keep.
///
/// # Safety
/// As `pn_ops_poll_transmit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_poll_archived(
    ops: *mut pn_ops,
    buf: *mut u8,
    buf_len: usize,
    out_len: *mut usize,
    out_available: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, buf, len, available) =
            unsafe { (pn_ops::borrow_mut(ops)?, slots(buf, buf_len)?, Out::new(out_len)?, Out::new(out_available)?) };
        let Some(batch) = m.peek_archived() else {
            available.set(false);
            return Ok(());
        };
        copy_out(batch.as_bytes(), buf, len)?;
        let _ = m.poll_archived();
        available.set(true);
        Ok(())
    })
}

/// Takes the next event, oldest first: `*out_available` says whether
/// `*out_event` was written.
///
/// # Safety
/// `ops` as `pn_ops_start`; `out_event` and `out_available` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_poll_event(
    ops: *mut pn_ops,
    out_event: *mut pn_ops_event,
    out_available: *mut bool,
) -> pn_result {
    // SAFETY: the caller's promises for every pointer.
    unsafe {
        pn_ops::poll(ops, out_event, out_available, |h| {
            let e = h.node.poll_event()?;
            let mut c = pn_ops_event::from(&e);
            h.evidence = match e.kind {
                OpsEventKind::Equivocation { evidence, .. } => evidence,
                _ => Vec::new(),
            };
            if c.kind == pn_ops_event_kind::PN_OPS_EQUIVOCATION {
                c.evidence = h.evidence.as_ptr();
            }
            Some(c)
        })
    }
}

/// Writes when `pn_ops_tick` must next be called, microseconds (`UINT64_MAX`
/// when stopped).
///
/// # Safety
/// `ops` NULL or a live handle; `out_us` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_poll_timeout(ops: *const pn_ops, out_us: *mut u64) -> pn_result {
    // SAFETY: the caller's promises for both pointers.
    unsafe { pn_ops::query(ops, out_us, |m| m.poll_timeout().total_micros()) }
}

/// (Supervisor; give it to every one) adds task `task` of pool `task_type` needing
/// `required` primaries and `backups` backups; the leader assigns it at once.
/// `PN_ERR_INVALID_STATE` on a worker or for a duplicate task,
/// `PN_ERR_INVALID_ARGUMENT` for `required` 0, `PN_ERR_CAPACITY_EXCEEDED` for a full table.
///
/// # Safety
/// As `pn_ops_start`; `task` and `task_type` NULL or readable for their lengths.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_submit_task(
    ops: *mut pn_ops,
    now_us: u64,
    task: *const c_char,
    task_len: usize,
    task_type_name: *const c_char,
    task_type_len: usize,
    required: u16,
    backups: u16,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, task, ty) =
            unsafe { (pn_ops::borrow_mut(ops)?, task_id(task, task_len)?, task_type(task_type_name, task_type_len)?) };
        Ok(m.submit_task(Instant::from_micros(now_us), task, ty, required, backups)?)
    })
}

/// (Worker) reports progress on `task`, signed, to the leader it knows (to every
/// supervisor while it knows none). `PN_ERR_INVALID_STATE` on a supervisor or for an
/// older checkpoint, `PN_ERR_NOT_FOUND` if this node is not a primary of the task.
///
/// # Safety
/// As `pn_ops_start`; `task` NULL or readable for `task_len` bytes; `checkpoint` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_report_checkpoint(
    ops: *mut pn_ops,
    now_us: u64,
    task: *const c_char,
    task_len: usize,
    checkpoint: *const pn_checkpoint,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, task, c) = unsafe {
            (
                pn_ops::borrow_mut(ops)?,
                task_id(task, task_len)?,
                checkpoint.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
            )
        };
        let c = Checkpoint { sequence: c.sequence, digest: c.digest };
        Ok(m.report_checkpoint(Instant::from_micros(now_us), &task, c)?)
    })
}

/// Sets the health metrics sent in this node's heartbeats. `PN_ERR_INVALID_METRIC`
/// for a value outside [0, 1] (nothing changes).
///
/// # Safety
/// As `pn_ops_start`; `metrics` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_set_metrics(ops: *mut pn_ops, metrics: *const pn_health_metrics) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, metrics) =
            unsafe { (pn_ops::borrow_mut(ops)?, metrics.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?) };
        Ok(m.set_metrics(HealthMetrics::from(metrics))?)
    })
}

/// Writes a snapshot of the coordinator at `now_us` into `*out_status`.
///
/// # Safety
/// `ops` NULL or a live handle; `out_status` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_ops_status(
    ops: *const pn_ops,
    now_us: u64,
    out_status: *mut pn_ops_status_report,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_ops::borrow(ops)?, Out::new(out_status)?) };
        let now = Instant::from_micros(now_us);
        let h = m.crash_recovery().network_health_summary(now);
        let u = m.workers().map(|w| w.utilization(now));
        let c = m.counters();
        let (pending_transmits, pending_events) = m.pending();
        out.set(pn_ops_status_report {
            node_id: pn_node_id::from(m.id()),
            role: m.role().into(),
            running: m.is_running(),
            is_leader: m.is_leader(),
            has_leader: m.leader().is_some(),
            leader: pn_node_id::from_opt(m.leader().map(|(n, _)| n)),
            leader_term: m.leader().map_or(0, |(_, t)| t),
            tasks: match m.role() {
                NodeRole::Supervisor => m.tasks().count(),
                NodeRole::Worker => m.held_tasks().count(),
            },
            pending_transmits,
            pending_events,
            health: pn_health_summary::from(&h),
            has_utilization: u.is_some(),
            utilization: u.as_ref().map(pn_utilization_stats::from).unwrap_or_default(),
            counters: pn_ops_counters::from(c),
        });
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr::{null, null_mut};
    use pouw_netops::auth::{Certificate, Role};

    #[test]
    fn huge_lengths_and_counts_are_invalid_arguments_in_every_build() {
        let cfg = config();
        let s = "s";
        let sups = [pn_str { ptr: s.as_ptr().cast(), len: 1 }];
        let cert = encoded(worker_cert());
        let w = worker(&cfg, &sups, &cert);
        // SAFETY: `w` is live; the pointers are valid, only the lengths lie, and
        // they must be refused before any slice is built.
        unsafe {
            assert_eq!(pn_ops_start(w, 1), pn_result::PN_OK);
            let byte = [1u8];
            for len in [usize::MAX, isize::MAX.unsigned_abs() + 1, pouw_netops::wire::MAX_ENVELOPE_LEN + 1] {
                assert_eq!(pn_ops_handle_message(w, 2, byte.as_ptr(), len), pn_result::PN_ERR_INVALID_ARGUMENT);
            }
            let creds = credentials(&cert);
            let mut out = null_mut();
            let r = pn_ops_new(&cfg, "w".as_ptr().cast(), 1, 1, sups.as_ptr(), usize::MAX, &creds, 7, null(), &mut out);
            assert_eq!(r, pn_result::PN_ERR_INVALID_ARGUMENT, "an absurd supervisor count");
            let mut absurd = credentials(&cert);
            absurd.certificate_len = usize::MAX;
            let r = pn_ops_new(&cfg, "w".as_ptr().cast(), 1, 1, sups.as_ptr(), 1, &absurd, 7, null(), &mut out);
            assert_eq!(r, pn_result::PN_ERR_INVALID_ARGUMENT, "an absurd certificate length");
            assert!(out.is_null());
            pn_ops_free(w);
        }
    }
    use pouw_netops::{Duration, NodeId, TaskId, TaskRole};

    fn config() -> pn_ops_config {
        let mut c = core::mem::MaybeUninit::<pn_ops_config>::uninit();
        // SAFETY: a local out-parameter, fully written on PN_OK.
        unsafe {
            assert_eq!(pn_ops_config_default(c.as_mut_ptr()), pn_result::PN_OK);
            c.assume_init()
        }
    }

    const AUTHORITY: [u8; 32] = [5; 32];
    const UNIX_AT_ZERO: u64 = 1_800_000_000;

    /// A worker certificate for "w" with the identity seed `[6; 32]`, issued by `AUTHORITY`.
    fn worker_cert() -> Certificate {
        let mut c = Certificate {
            node: NodeId::new("w").unwrap(),
            role: Role::Worker,
            identity: IdentityKey::from_seed(&[6; 32]).public(),
            wg_key: pouw_netops::mesh::WgKey::from_bytes([1; 32]),
            endpoints: Default::default(),
            slots: 1,
            pools: Default::default(),
            serial: 1,
            not_before: UNIX_AT_ZERO,
            not_after: UNIX_AT_ZERO + 86_400,
        };
        c.pools.push(pouw_netops::TaskType::new("train").unwrap()).unwrap();
        c
    }

    fn credentials(cert: &[u8]) -> pn_credentials {
        pn_credentials {
            identity_seed: [6; 32],
            certificate: cert.as_ptr(),
            certificate_len: cert.len(),
            authority_public: IdentityKey::from_seed(&AUTHORITY).public().to_bytes(),
            epoch: 1,
            unix_at_zero: UNIX_AT_ZERO,
        }
    }

    fn encoded(cert: Certificate) -> Vec<u8> {
        let signed = SignedCertificate::issue(&IdentityKey::from_seed(&AUTHORITY), cert).unwrap();
        let mut buf = vec![0u8; signed.encoded_len()];
        let n = signed.encode(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    fn worker(cfg: &pn_ops_config, sups: &[pn_str], cert: &[u8]) -> *mut pn_ops {
        let creds = credentials(cert);
        let mut out = null_mut();
        // SAFETY: live locals with their true lengths.
        let r = unsafe {
            pn_ops_new(cfg, "w".as_ptr().cast(), 1, 1, sups.as_ptr(), sups.len(), &creds, 7, null(), &mut out)
        };
        assert_eq!(r, pn_result::PN_OK);
        out
    }

    /// The default config converts back to the core's defaults (what a C caller
    /// gets without touching a field is what a Rust caller gets).
    #[test]
    fn default_config_is_the_cores() {
        let c = config();
        let d = OpsConfig::default();
        assert_eq!(c.heartbeat_interval_us, d.heartbeat_interval.total_micros());
        assert_eq!(c.sweep_interval_us, 250_000);
        assert_eq!(c.history_flush_interval_us, d.history_flush_interval.total_micros());
        // The C config caps the sample window at the window the handles hold, which is what the core uses anyway.
        let mut crash = d.crash;
        crash.phi.max_sample_size = crash.phi.max_sample_size.min(crate::phi::PN_PHI_WINDOW);
        assert_eq!(CrashRecoveryConfig::from(&c.crash), crash);
        assert_eq!(c.election.election_timeout_us, d.election.election_timeout.total_micros());
        let e = election_config(&c.election, 0, 0).unwrap();
        assert_eq!((e.equivocation, e.pre_vote, e.check_quorum), (d.election.equivocation, true, true));
        let bad = pn_leader_election_config { equivocation: 3, ..c.election };
        assert_eq!(election_config(&bad, 0, 0).unwrap_err(), pn_result::PN_ERR_INVALID_CONFIG);
        assert_eq!(c.record_heartbeats, d.record_heartbeats);
        assert_eq!(c.follower_heartbeat_every, d.follower_heartbeat_every);
    }

    /// Bad arguments and credentials come back as their codes (the core's
    /// kinds) and leave the out-parameter alone.
    #[test]
    fn rejects_bad_arguments() {
        let mut cfg = config();
        let s = "s";
        let sups = [pn_str { ptr: s.as_ptr().cast(), len: 1 }];
        let cert = encoded(worker_cert());
        let mut out = null_mut();
        let new = |cfg: &pn_ops_config, role: u32, creds: &pn_credentials, out: &mut *mut pn_ops| {
            // SAFETY: live locals with their true lengths.
            unsafe { pn_ops_new(cfg, "w".as_ptr().cast(), 1, role, sups.as_ptr(), 1, creds, 1, null(), out) }
        };
        let good = credentials(&cert);
        assert_eq!(new(&cfg, 2, &good, &mut out), pn_result::PN_ERR_INVALID_ARGUMENT);
        assert_eq!(new(&cfg, 0, &good, &mut out), pn_result::PN_ERR_INVALID_ARGUMENT, "supervisor not in the list");
        // A worker certificate for a supervisor is refused, whichever check comes first in the core.
        let sup = [pn_str { ptr: "w".as_ptr().cast(), len: 1 }];
        // SAFETY: live locals with their true lengths.
        let r = unsafe { pn_ops_new(&cfg, "w".as_ptr().cast(), 1, 0, sup.as_ptr(), 1, &good, 1, null(), &mut out) };
        assert_eq!(r, pn_result::PN_ERR_CREDENTIAL_REJECTED);
        let other_key = pn_credentials { identity_seed: [8; 32], ..good };
        assert_eq!(new(&cfg, 1, &other_key, &mut out), pn_result::PN_ERR_CREDENTIAL_REJECTED);
        let other_authority =
            pn_credentials { authority_public: IdentityKey::from_seed(&[9; 32]).public().to_bytes(), ..good };
        assert_eq!(new(&cfg, 1, &other_authority, &mut out), pn_result::PN_ERR_UNAUTHENTICATED);
        let truncated = pn_credentials { certificate_len: cert.len() - 1, ..good };
        assert_eq!(new(&cfg, 1, &truncated, &mut out), pn_result::PN_ERR_DECODE_TRUNCATED);
        let mut other = worker_cert();
        other.node = NodeId::new("x").unwrap();
        let other = encoded(other);
        assert_eq!(new(&cfg, 1, &credentials(&other), &mut out), pn_result::PN_ERR_CREDENTIAL_REJECTED);
        // SAFETY: live locals.
        let r = unsafe { pn_ops_new(&cfg, "w".as_ptr().cast(), 1, 1, sups.as_ptr(), 1, null(), 1, null(), &mut out) };
        assert_eq!(r, pn_result::PN_ERR_NULL_POINTER);
        cfg.sweep_interval_us = 0;
        assert_eq!(new(&cfg, 1, &good, &mut out), pn_result::PN_ERR_INVALID_CONFIG);
        assert!(out.is_null());
        // SAFETY: NULL handles and locals only.
        unsafe {
            let mut t = 0u64;
            assert_eq!(pn_ops_poll_timeout(null(), &mut t), pn_result::PN_ERR_NULL_POINTER);
            assert_eq!(pn_ops_start(null_mut(), 0), pn_result::PN_ERR_NULL_POINTER);
            pn_ops_free(null_mut());
        }
    }

    /// An expired certificate is refused at `pn_ops_start`, and the node stays stopped
    /// (a valid one starts: `short_buffer_keeps_the_message`).
    #[test]
    fn start_checks_the_certificate_validity() {
        let cfg = config();
        let sups = [pn_str { ptr: "s".as_ptr().cast(), len: 1 }];
        let cert = encoded(worker_cert());
        let h = worker(&cfg, &sups, &cert);
        // SAFETY: a live handle and locals.
        unsafe {
            assert_eq!(pn_ops_start(h, 2 * 86_400 * 1_000_000), pn_result::PN_ERR_CREDENTIAL_REJECTED);
            let mut t = 0u64;
            assert_eq!(pn_ops_poll_timeout(h, &mut t), pn_result::PN_OK);
            assert_eq!(t, u64::MAX);
            pn_ops_free(h);
        }
    }

    /// A short buffer reports the needed length and keeps the message: the next
    /// poll with room returns the same bytes and recipient the core would have
    /// returned (reference: a twin handle drained by the core's `poll_transmit`).
    #[test]
    fn short_buffer_keeps_the_message() {
        let cfg = config();
        let s = "s";
        let sups = [pn_str { ptr: s.as_ptr().cast(), len: 1 }];
        let cert = encoded(worker_cert());
        let h = worker(&cfg, &sups, &cert);
        let mut twin = large::NetworkOperationsManager::new_boxed(
            NodeId::new("w").unwrap(),
            NodeRole::Worker,
            &[NodeId::new("s").unwrap()],
            OpsConfig::default(),
            7,
            Credentials::issue(
                &IdentityKey::from_seed(&AUTHORITY),
                IdentityKey::from_seed(&[6; 32]),
                worker_cert(),
                1,
                UNIX_AT_ZERO,
            )
            .unwrap(),
        )
        .unwrap();
        twin.start(Instant::from_secs(1)).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut seen = 0;
        // SAFETY: a live handle and locals throughout.
        unsafe {
            assert_eq!(pn_ops_start(h, 1_000_000), pn_result::PN_OK);
            loop {
                let (mut len, mut to, mut avail) = (0usize, pn_node_id::EMPTY, false);
                let r = pn_ops_poll_transmit(h, buf.as_mut_ptr(), 2, &mut len, &mut to, &mut avail);
                let expected = twin.poll_transmit();
                match &expected {
                    None => {
                        assert_eq!((r, avail), (pn_result::PN_OK, false));
                        break;
                    }
                    Some(t) => {
                        assert_eq!(
                            (r, len, to),
                            (pn_result::PN_ERR_BUFFER_TOO_SMALL, t.bytes.len(), pn_node_id::EMPTY)
                        );
                        let r = pn_ops_poll_transmit(h, buf.as_mut_ptr(), buf.len(), &mut len, &mut to, &mut avail);
                        assert_eq!((r, avail), (pn_result::PN_OK, true));
                        assert_eq!(&buf[..len], &t.bytes[..]);
                        assert_eq!(to, pn_node_id::from(&t.to));
                        seen += 1;
                    }
                }
            }
            assert!(seen > 0);
            assert_eq!(pn_ops_handle_message(h, 2_000_000, buf.as_ptr(), 0), pn_result::PN_ERR_DECODE);
            let mut st = core::mem::MaybeUninit::<pn_ops_status_report>::uninit();
            assert_eq!(pn_ops_status(h, 2_000_000, st.as_mut_ptr()), pn_result::PN_OK);
            let c = st.assume_init().counters;
            assert_eq!((c.rejected[pn_reject_reason::PN_REJECT_MALFORMED as usize], c.rejected_total), (1, 1));
            pn_ops_free(h);
        }
    }

    /// The C reasons are the core's, in its order and with its names.
    #[test]
    fn reject_reasons_mirror_the_core() {
        for (i, r) in RejectReason::ALL.into_iter().enumerate() {
            assert_eq!(pn_reject_reason::from(r) as usize, i);
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { core::ffi::CStr::from_ptr(pn_reject_reason_str(i as i32)) };
            assert_eq!(name.to_str().unwrap(), r.as_str());
        }
        for unknown in [-1, PN_REJECT_REASONS as i32, i32::MAX] {
            // SAFETY: as above.
            let name = unsafe { core::ffi::CStr::from_ptr(pn_reject_reason_str(unknown)) };
            assert_eq!(name, c"unknown reject reason");
        }
    }

    /// Every field of a replacement event lands where the header says.
    #[test]
    fn replacement_event_is_flattened() {
        let e = OpsEvent {
            at: Instant::from_micros(42),
            node: NodeId::new("w-1").unwrap(),
            kind: OpsEventKind::WorkerReplaced {
                task: TaskId::new("job").unwrap(),
                replacement: NodeId::new("w-2").unwrap(),
                role: TaskRole::Primary,
                from_backup: true,
                checkpoint: Some(Checkpoint { sequence: 9, digest: [3; 32] }),
            },
        };
        let c = pn_ops_event::from(&e);
        assert_eq!(c.kind, pn_ops_event_kind::PN_OPS_WORKER_REPLACED);
        assert_eq!((c.at_us, c.node, c.task), (42, pn_node_id::from_text("w-1"), pn_node_id::from_text("job")));
        assert_eq!(
            (c.replacement, c.role, c.from_backup),
            (pn_node_id::from_text("w-2"), pn_task_role::PN_ROLE_PRIMARY, true)
        );
        assert_eq!((c.has_checkpoint, c.checkpoint.sequence, c.checkpoint.digest), (true, 9, [3; 32]));
        let crash = OpsEvent {
            at: Instant::from_micros(1),
            node: NodeId::new("w-1").unwrap(),
            kind: OpsEventKind::CrashDetected { silence: Duration::from_secs(3) },
        };
        let c = pn_ops_event::from(&crash);
        assert_eq!(
            (c.kind, c.duration_us, c.has_checkpoint),
            (pn_ops_event_kind::PN_OPS_CRASH_DETECTED, 3_000_000, false)
        );
    }
}
