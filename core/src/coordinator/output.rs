//! What the coordinator hands the host: messages, events, counters and status.

use crate::crash_recovery::HealthSummary;
use crate::election::ElectionStatus;
use crate::health::NodeStatus;
use crate::history::HistoryStats;
use crate::id::{NodeId, TaskId};
use crate::mesh::{TopologyReport, TunnelState};
use crate::time::{Duration, Instant};
use crate::workers::{Checkpoint, TaskRole, UtilizationStats};
use alloc::vec::Vec;

#[cfg(doc)]
use super::NetworkOperationsManager;
use super::config::NodeRole;
use super::reject::RejectCounts;
#[cfg(doc)]
use crate::wire::Envelope;

/// Where a message goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    /// One node.
    Node(NodeId),
    /// Every supervisor except this node.
    Supervisors,
    /// Every node of the cluster the host knows, except this node.
    Cluster,
}

/// One sealed message for the host to send to one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpsTransmit {
    /// The recipient (the host maps node ids to addresses).
    pub to: NodeId,
    /// The sealed v2 envelope (see [`crate::auth::seal`]).
    pub bytes: Vec<u8>,
}

/// What happened at one node.
#[derive(Clone, Debug, PartialEq)]
pub enum OpsEventKind {
    /// A peer's health status changed.
    NodeStatusChanged {
        /// Before.
        from: NodeStatus,
        /// After.
        to: NodeStatus,
    },
    /// A peer fell silent past the phi threshold.
    CrashDetected {
        /// Time since its last heartbeat.
        silence: Duration,
    },
    /// A recovery of the peer began.
    RecoveryStarted {
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// The peer is healthy again.
    RecoveryCompleted {
        /// From the attempt's start.
        took: Duration,
    },
    /// The peer did not recover in time.
    RecoveryFailed,
    /// The peer left gracefully.
    NodeLeft,
    /// (Leader) a failed worker's role in `task` went to `replacement`, resuming from `checkpoint`.
    WorkerReplaced {
        /// The task.
        task: TaskId,
        /// Who took over.
        replacement: NodeId,
        /// The role.
        role: TaskRole,
        /// Whether the replacement was a backup of the task.
        from_backup: bool,
        /// Where the task resumes.
        checkpoint: Option<Checkpoint>,
    },
    /// (Leader) the node was given a role in `task`.
    TaskAssigned {
        /// The task.
        task: TaskId,
        /// The role.
        role: TaskRole,
        /// Where it starts.
        checkpoint: Option<Checkpoint>,
    },
    /// (Leader) `task` is short of primaries.
    TaskDegraded {
        /// The task.
        task: TaskId,
        /// Primaries it has.
        primaries: u16,
        /// Primaries it needs.
        required: u16,
    },
    /// (Leader) `task` has all its primaries again.
    TaskRestored {
        /// The task.
        task: TaskId,
    },
    /// (Worker) this node was given a role in `task`.
    AssignmentReceived {
        /// The task.
        task: TaskId,
        /// The role.
        role: TaskRole,
        /// Where to resume.
        checkpoint: Option<Checkpoint>,
    },
    /// (Worker) this node no longer works on `task`.
    AssignmentReleased {
        /// The task.
        task: TaskId,
    },
    /// (Worker) the lease on this node's role in `task` ran out: nothing was
    /// heard from the leader that gave it for `OpsConfig::lease_timeout`, so the
    /// node stops the work (the leader has moved it, or will reassign it).
    LeaseExpired {
        /// The task.
        task: TaskId,
    },
    /// `node` leads `term` (this node, for a supervisor that won).
    LeaderElected {
        /// The term.
        term: u64,
    },
    /// This node stopped leading `term`.
    SteppedDown {
        /// The term.
        term: u64,
    },
    /// The open history buffer was sealed into batch `id`.
    BatchCompressed {
        /// Batch id.
        id: u64,
    },
    /// History batches moved out of memory to the archive outbox ([`NetworkOperationsManager::poll_archived`]).
    BatchArchived {
        /// How many.
        count: u64,
    },
    /// The tunnel to `node` is up.
    TunnelUp,
    /// The tunnel to `node` went stale or down.
    TunnelDown {
        /// Its state.
        state: TunnelState,
    },
    /// The next hop towards `node` changed.
    RouteChanged {
        /// The new next hop (`None`: unreachable).
        next_hop: Option<NodeId>,
    },
    /// (Supervisors, Byzantine fault model) the event's node, a voter, signed
    /// votes for two candidates in one term: `evidence` is the canonical
    /// [`crate::auth::EquivocationEvidence`] encoding of both signed
    /// statements, verifiable offline from the voter's public key alone (the
    /// host may hand it to the chain). Its later grants are treated as
    /// `OpsConfig::election.equivocation` says.
    Equivocation {
        /// The term it voted twice in.
        term: u64,
        /// The evidence record's bytes.
        evidence: Vec<u8>,
    },
}

/// One event: when, about which node, what.
#[derive(Clone, Debug, PartialEq)]
pub struct OpsEvent {
    /// When (clamped caller time).
    pub at: Instant,
    /// The node concerned (this node for its own role changes).
    pub node: NodeId,
    /// What happened.
    pub kind: OpsEventKind,
}

impl OpsEventKind {
    /// The snake-case event name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            OpsEventKind::NodeStatusChanged { .. } => "node_status_changed",
            OpsEventKind::CrashDetected { .. } => "crash_detected",
            OpsEventKind::RecoveryStarted { .. } => "recovery_started",
            OpsEventKind::RecoveryCompleted { .. } => "recovery_completed",
            OpsEventKind::RecoveryFailed => "recovery_failed",
            OpsEventKind::NodeLeft => "node_left",
            OpsEventKind::WorkerReplaced { .. } => "worker_replaced",
            OpsEventKind::TaskAssigned { .. } => "task_assigned",
            OpsEventKind::TaskDegraded { .. } => "task_degraded",
            OpsEventKind::TaskRestored { .. } => "task_restored",
            OpsEventKind::AssignmentReceived { .. } => "assignment_received",
            OpsEventKind::AssignmentReleased { .. } => "assignment_released",
            OpsEventKind::LeaseExpired { .. } => "lease_expired",
            OpsEventKind::LeaderElected { .. } => "leader_elected",
            OpsEventKind::SteppedDown { .. } => "stepped_down",
            OpsEventKind::BatchCompressed { .. } => "batch_compressed",
            OpsEventKind::BatchArchived { .. } => "batch_archived",
            OpsEventKind::TunnelUp => "tunnel_up",
            OpsEventKind::TunnelDown { .. } => "tunnel_down",
            OpsEventKind::RouteChanged { .. } => "route_changed",
            OpsEventKind::Equivocation { .. } => "equivocation",
        }
    }
}

/// Counters of the coordinator itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpsCounters {
    /// Datagrams refused at the entrance, by reason (unauthenticated,
    /// replayed, not from a member, malformed, a rejected certificate).
    pub rejected: RejectCounts,
    /// Messages handed to the host.
    pub messages_sent: u64,
    /// Bytes handed to the host.
    pub bytes_sent: u64,
    /// Messages accepted by `handle_message`.
    pub messages_received: u64,
    /// Messages a component refused (unknown voter, stale or misdirected).
    pub messages_ignored: u64,
    /// Outgoing messages dropped because the outbox was full.
    pub dropped_transmits: u64,
    /// Events dropped because the event queue was full.
    pub dropped_events: u64,
    /// Messages not recorded in the history (archive outbox full or invalid record).
    pub history_dropped: u64,
    /// Tables that were full when something had to go in (peers, tasks, roles).
    pub table_full: u64,
    /// Mesh re-establish requests seen (tunnels are re-created from heartbeats).
    pub reestablish_requests: u64,
    /// Messages dropped because they claimed to come from this node.
    pub self_addressed: u64,
    /// Checkpoints of the leader's task table whose primary's signature did
    /// not verify when this node checked it (before acting on it), dropped.
    pub bad_checkpoint_proofs: u64,
}

/// Every component's summary (the keys of the Python API's status report).
#[derive(Clone, Debug, PartialEq)]
pub struct OpsStatus {
    /// This node.
    pub node_id: NodeId,
    /// Its role.
    pub role: NodeRole,
    /// Between `start` and `stop`.
    pub running: bool,
    /// The leader this node follows, with its term.
    pub leader: Option<(NodeId, u64)>,
    /// Crash recovery: the health summary of the peers.
    pub crash_recovery: HealthSummary,
    /// Worker utilization (supervisors).
    pub worker_utilization: Option<UtilizationStats>,
    /// Message history statistics.
    pub compression: HistoryStats,
    /// Mesh topology.
    pub mesh: TopologyReport,
    /// Election status (supervisors, once started).
    pub election: Option<ElectionStatus>,
    /// Tasks in the supervisor's table, or roles a worker holds.
    pub tasks: usize,
    /// The coordinator's counters.
    pub counters: OpsCounters,
}
