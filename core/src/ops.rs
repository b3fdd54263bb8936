//! `NetworkOperationsManager`: one node's network operations behind one sans-IO
//! `handle_message` / `tick` / `poll_*` loop, driving every component.
//!
//! # Roles
//!
//! | | supervisor | worker |
//! |---|---|---|
//! | crash recovery (phi accrual) | of every node it hears | of the supervisors |
//! | leader election | yes (voters: the supervisors) | follows [`Body::LeaderNotice`] |
//! | worker replacement | the elected leader only | holds the roles it was given |
//! | heartbeats with health metrics | to the whole cluster | to the supervisors |
//! | checkpoint reports | recorded | sent, from [`NetworkOperationsManager::report_checkpoint`] |
//! | message history, mesh membership | yes | yes |
//!
//! # Event coordination
//!
//! All of it happens inside the `handle_message` or `tick` call that observes the
//! cause: a crash detected by the sweep starts a recovery at once, the leader
//! moves the node's tasks to backups (with the checkpoint they resume from, sent
//! as [`Body::TaskAssignment`]) and tells the failed node to let go, and the node
//! leaves the local mesh view (routes are recomputed, none goes through it). When
//! its heartbeats come back it recovers (the crash-recovery status machine),
//! rejoins the mesh and the leader lifts its quarantine and refills short tasks.
//! Only the elected leader assigns; a supervisor that stops leading forgets its
//! assignments, and a new leader assigns every task of its table again, each
//! from its last checkpoint. The task table travels from the leader to the other
//! supervisors in [`Body::TaskTable`] slices, and workers send checkpoint reports
//! to every supervisor, so a new leader knows every task and where it stands.
//!
//! # Drain order
//!
//! After every `start`, `handle_message`, `tick`, `submit_task`,
//! `report_checkpoint` or `stop`, drain in this order:
//!
//! 1. [`NetworkOperationsManager::poll_hard_state`] (supervisors): persist the
//!    election's `(term, voted_for)` **before** sending anything; election
//!    messages are held back until it is drained.
//! 2. [`NetworkOperationsManager::poll_transmit`]: election messages first, then
//!    the coordinator's own, each encoded once with its [`Destination`].
//! 3. [`NetworkOperationsManager::poll_event`]: what happened, oldest first.
//! 4. [`NetworkOperationsManager::poll_archived`]: history batches leaving memory.
//! 5. [`NetworkOperationsManager::poll_timeout`]: when to call `tick` next.
//!
//! Every queue is bounded: a full outbox or event queue drops the new item and
//! counts it in [`OpsCounters`]; nothing grows without bound.
//!
//! The coordinator needs the `alloc` feature (message history compresses with
//! a heap, and the components are boxed so a coordinator stays small to move).
//! Mesh peers' endpoints are not exchanged on the wire: the mesh view uses each
//! peer's announced WireGuard key and a placeholder endpoint; routes are direct
//! tunnels (no link-state adverts are sent).

use crate::crash_recovery::{CrashRecoveryConfig, CrashRecoveryManager, HealthSummary, RecoveryEventKind};
use crate::election::{ElectionConfig, ElectionStatus, HardState, LeaderElectionManager};
use crate::error::{CapacityError, ConfigError};
use crate::health::{HealthMetrics, NodeStatus};
use crate::history::{Batch, MessageHistoryCompressor};
use crate::history::{HistoryConfig, HistoryStats, RecordRef};
use crate::id::{NodeId, TaskId, TaskType};
use crate::mesh::{
    Cidr, Endpoint, EndpointHost, MeshConfig, MeshNode, TopologyReport, TunnelProtocol, TunnelState,
    VPNMeshTopologyManager, WgKey,
};
use crate::phi::PhiConfig;
use crate::table::IdTable;
use crate::time::{Duration, Instant, MonotonicClock};
use crate::wire::{
    Body, CheckpointReport, Envelope, Heartbeat, LeaderNotice, MAX_TABLE_ENTRIES, MAX_TASK_TYPES, Membership,
    TaskAssignment, TaskEntry, TaskRelease, TaskTable, WireError,
};
use crate::workers::{Checkpoint, TaskRole, UtilizationStats, WorkerConfig, WorkerEvent, WorkerReplacementManager};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr};
use heapless::Deque;

#[cfg(test)]
mod tests;

/// Worker pools (task types) a supervisor keeps.
pub const POOLS: usize = 8;

/// What a node is in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeRole {
    /// Runs the election and, when leader, assigns and replaces workers.
    Supervisor,
    /// Runs tasks it is given and reports checkpoints.
    Worker,
}

impl NodeRole {
    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            NodeRole::Supervisor => "supervisor",
            NodeRole::Worker => "worker",
        }
    }
}

/// Coordinator parameters; every component keeps its own config inside.
#[derive(Clone, Debug)]
pub struct OpsConfig {
    /// How often this node sends its health heartbeat (default 1 s).
    pub heartbeat_interval: Duration,
    /// How often the crash detector sweeps (default 250 ms): bounds the extra detection delay.
    pub sweep_interval: Duration,
    /// How often tunnel health is checked and routes refreshed (default 5 s).
    pub tunnel_check_interval: Duration,
    /// How often the leader repeats its [`Body::LeaderNotice`] (default 5 s).
    pub leader_notice_interval: Duration,
    /// How often the leader sends the next slice of its task table (default 1 s).
    pub task_table_interval: Duration,
    /// How often a node repeats its [`Body::Membership`] announcement (default 30 s).
    pub membership_interval: Duration,
    /// Seal the open history batch at least this often (default 60 s).
    pub history_flush_interval: Duration,
    /// Record health heartbeats in the message history too (default `true`).
    pub record_heartbeats: bool,
    /// Slots this node offers as a worker (default 1).
    pub slots: u16,
    /// Pools this node works in as a worker.
    pub task_types: heapless::Vec<TaskType, MAX_TASK_TYPES>,
    /// This node's WireGuard public key (default all zero).
    pub public_key: [u8; 32],
    /// This node's tunnel endpoint (default `127.0.0.1:51820`).
    pub endpoint: Endpoint,
    /// Overlay network of the mesh (default `10.0.0.0/16`).
    pub mesh_cidr: Cidr,
    /// Failure detection and recovery: the component's defaults with a 4 s
    /// acceptable heartbeat pause (Akka's cluster default is 3 s). With 1 s
    /// heartbeats, a node is judged down after about five silent seconds, i.e.
    /// five lost heartbeats in a row; at 5 % loss that is 0.05⁵ ≈ 3·10⁻⁷ per
    /// heartbeat, about 0.008 false suspicions per node-hour across 7 observing
    /// supervisors, where 3 s measured 0.108 (over the 0.1 goal).
    pub crash: CrashRecoveryConfig,
    /// Leader election (supervisors); its seed is replaced by the seed given to `new`.
    pub election: ElectionConfig,
    /// Worker replacement (supervisors).
    pub workers: WorkerConfig,
    /// Message history.
    pub history: HistoryConfig,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            heartbeat_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_millis(250),
            tunnel_check_interval: Duration::from_secs(5),
            leader_notice_interval: Duration::from_secs(5),
            task_table_interval: Duration::from_secs(1),
            membership_interval: Duration::from_secs(30),
            history_flush_interval: Duration::from_secs(60),
            record_heartbeats: true,
            slots: 1,
            task_types: heapless::Vec::new(),
            public_key: [0; 32],
            endpoint: Endpoint { host: EndpointHost::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST)), port: 51820 },
            mesh_cidr: Cidr::DEFAULT,
            crash: CrashRecoveryConfig {
                phi: PhiConfig { acceptable_heartbeat_pause: Duration::from_secs(4), ..PhiConfig::cluster() },
                ..CrashRecoveryConfig::default()
            },
            election: ElectionConfig::default(),
            workers: WorkerConfig::default(),
            history: HistoryConfig::default(),
        }
    }
}

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

/// One encoded message for the host to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpsTransmit {
    /// Where to.
    pub to: Destination,
    /// The encoded [`Envelope`].
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
            OpsEventKind::LeaderElected { .. } => "leader_elected",
            OpsEventKind::SteppedDown { .. } => "stepped_down",
            OpsEventKind::BatchCompressed { .. } => "batch_compressed",
            OpsEventKind::BatchArchived { .. } => "batch_archived",
            OpsEventKind::TunnelUp => "tunnel_up",
            OpsEventKind::TunnelDown { .. } => "tunnel_down",
            OpsEventKind::RouteChanged { .. } => "route_changed",
        }
    }
}

/// Counters of the coordinator itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpsCounters {
    /// Messages handed to the host.
    pub messages_sent: u64,
    /// Bytes handed to the host.
    pub bytes_sent: u64,
    /// Messages accepted by `handle_message`.
    pub messages_received: u64,
    /// Messages that did not decode.
    pub decode_errors: u64,
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

/// Why the coordinator could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpsError {
    /// A component's configuration is invalid.
    Config(ConfigError),
    /// More supervisors than the voter capacity.
    TooManySupervisors(CapacityError<NodeId>),
    /// A supervisor is not in the supervisor list.
    NotASupervisor(NodeId),
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpsError::Config(e) => e.fmt(f),
            OpsError::TooManySupervisors(e) => write!(f, "cannot add supervisor {}: {e}", e.rejected),
            OpsError::NotASupervisor(n) => write!(f, "supervisor {n} is not in the supervisor list"),
        }
    }
}

impl core::error::Error for OpsError {}

impl From<ConfigError> for OpsError {
    fn from(e: ConfigError) -> Self {
        OpsError::Config(e)
    }
}

/// Why `handle_message` refused bytes. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandleError {
    /// The node is not running (before `start` or after `stop`).
    NotRunning,
    /// The bytes are not a valid envelope.
    Wire(WireError),
    /// The envelope claims to come from this node.
    FromSelf,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::NotRunning => f.write_str("node is not running"),
            HandleError::Wire(e) => write!(f, "undecodable message: {e}"),
            HandleError::FromSelf => f.write_str("message claims to come from this node"),
        }
    }
}

impl core::error::Error for HandleError {}

/// Why a task operation was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskError {
    /// Only supervisors keep a task table; only workers report checkpoints.
    WrongRole,
    /// The task table is full; the task is handed back.
    TableFull(CapacityError<TaskId>),
    /// `required` is zero.
    NoPrimaries,
    /// The task is already in the table.
    Duplicate(TaskId),
    /// This worker is not a primary of the task.
    NotAPrimary(TaskId),
    /// The checkpoint is older than the one already reported.
    Regression {
        /// The last reported sequence.
        last: u64,
    },
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::WrongRole => f.write_str("operation does not apply to this node's role"),
            TaskError::TableFull(e) => write!(f, "cannot add task {}: {e}", e.rejected),
            TaskError::NoPrimaries => f.write_str("a task needs at least one primary"),
            TaskError::Duplicate(t) => write!(f, "task {t} is already known"),
            TaskError::NotAPrimary(t) => write!(f, "this node is not a primary of task {t}"),
            TaskError::Regression { last } => write!(f, "checkpoint older than the last reported ({last})"),
        }
    }
}

impl core::error::Error for TaskError {}

/// A task in a supervisor's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    /// Its pool.
    pub task_type: TaskType,
    /// Primaries it needs.
    pub required: u16,
    /// Backups it wants.
    pub backups: u16,
    /// Its last acknowledged checkpoint.
    pub checkpoint: Option<Checkpoint>,
}

/// A role this worker holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldTask {
    /// Its pool.
    pub task_type: TaskType,
    /// Primary or backup.
    pub role: TaskRole,
    /// The checkpoint it resumed from, then the last one it reported.
    pub checkpoint: Option<Checkpoint>,
    /// The supervisor that gave it.
    pub from: NodeId,
    /// The term in which it was given.
    pub term: u64,
}

/// A message waiting in the outbox, built into an envelope when polled.
#[derive(Clone, Debug)]
enum Out {
    Heartbeat,
    Membership { joining: bool },
    Assign { to: NodeId, term: u64, task: TaskId, task_type: TaskType, role: TaskRole, checkpoint: Option<Checkpoint> },
    Release { to: NodeId, task: TaskId },
    Checkpoint { task: TaskId, checkpoint: Checkpoint },
    LeaderNotice { term: u64 },
    TaskTable,
}

type Election<const V: usize, const Q: usize> = LeaderElectionManager<V, Q, Q>;
type Workers<const N: usize, const T: usize, const S: usize, const C: usize, const Q: usize> =
    WorkerReplacementManager<N, T, POOLS, S, C, Q, Q>;

/// One node's coordinator.
///
/// Capacities: `N` peers (crash tracking, mesh nodes and workers; a power of
/// two), `HW` heartbeat intervals per peer, `V` supervisors, `T` tasks (a power
/// of two), `S` workers per task, `C` slots per worker, `L` mesh links (a power
/// of two), `Q` entries in every queue (outbox, events, component queues) and
/// `B` history batches in memory and in the archive outbox.
pub struct NetworkOperationsManager<
    const N: usize,
    const HW: usize,
    const V: usize,
    const T: usize,
    const S: usize,
    const C: usize,
    const L: usize,
    const Q: usize,
    const B: usize,
> {
    id: NodeId,
    role: NodeRole,
    config: OpsConfig,
    seed: u64,
    supervisors: Box<heapless::Vec<NodeId, V>>,
    clock: MonotonicClock,
    running: bool,
    hard_state: HardState,
    crash: Box<CrashRecoveryManager<N, HW, Q>>,
    crash_seq: u64,
    election: Option<Box<Election<V, Q>>>,
    workers: Option<Box<Workers<N, T, S, C, Q>>>,
    tasks: Box<IdTable<TaskId, TaskRecord, T>>,
    held: Box<IdTable<TaskId, HeldTask, T>>,
    mesh: Box<VPNMeshTopologyManager<N, L, Q>>,
    keys: Box<IdTable<NodeId, [u8; 32], N>>,
    /// Peers with a tunnel in the mesh view: last known state and last handshake recorded.
    tunnels: Box<IdTable<NodeId, (TunnelState, Instant), N>>,
    history: Box<MessageHistoryCompressor<B, B>>,
    archived_seen: u64,
    leader: Option<(NodeId, u64)>,
    leading: Option<u64>,
    outbox: Box<Deque<Out, Q>>,
    /// A transmit encoded by `peek_transmit` and not yet taken by `poll_transmit`.
    staged: Option<OpsTransmit>,
    events: Box<Deque<OpsEvent, Q>>,
    counters: OpsCounters,
    heartbeat_seq: u64,
    metrics: HealthMetrics,
    table_cursor: usize,
    next_heartbeat: Instant,
    next_sweep: Instant,
    next_tunnel_check: Instant,
    next_notice: Instant,
    next_table: Instant,
    next_membership: Instant,
    next_flush: Instant,
}

impl<
    const N: usize,
    const HW: usize,
    const V: usize,
    const T: usize,
    const S: usize,
    const C: usize,
    const L: usize,
    const Q: usize,
    const B: usize,
> NetworkOperationsManager<N, HW, V, T, S, C, L, Q, B>
{
    /// A stopped coordinator for `node_id` in `role`, among `supervisors` (the
    /// election's voters; a supervisor must be one of them), the election jitter
    /// seeded with `seed`. Every component is built on the heap.
    pub fn new(
        node_id: NodeId,
        role: NodeRole,
        supervisors: &[NodeId],
        config: OpsConfig,
        seed: u64,
    ) -> Result<Self, OpsError> {
        let mut list: Box<heapless::Vec<NodeId, V>> = in_box(heapless::Vec::new);
        for s in supervisors {
            if !list.contains(s) && list.push(s.clone()).is_err() {
                return Err(OpsError::TooManySupervisors(CapacityError::new(s.clone(), V)));
            }
        }
        if role == NodeRole::Supervisor && !list.contains(&node_id) {
            return Err(OpsError::NotASupervisor(node_id));
        }
        for d in [
            config.heartbeat_interval,
            config.sweep_interval,
            config.tunnel_check_interval,
            config.leader_notice_interval,
            config.task_table_interval,
            config.membership_interval,
            config.history_flush_interval,
        ] {
            if d == Duration::ZERO {
                return Err(OpsError::Config(ConfigError::new("intervals", "every interval above zero")));
            }
        }
        let mut mesh_config = MeshConfig::new(node_id.clone());
        mesh_config.cidr = config.mesh_cidr;
        let crash = CrashRecoveryManager::new_boxed(config.crash)?;
        let workers = match role {
            NodeRole::Supervisor => Some(WorkerReplacementManager::new_boxed(config.workers)?),
            NodeRole::Worker => None,
        };
        let mesh = VPNMeshTopologyManager::new_boxed(mesh_config)?;
        let history = MessageHistoryCompressor::new_boxed(config.history)?;
        Ok(NetworkOperationsManager {
            id: node_id,
            role,
            config,
            seed,
            supervisors: list,
            clock: MonotonicClock::new(),
            running: false,
            hard_state: HardState::default(),
            crash,
            crash_seq: 0,
            election: None,
            workers,
            tasks: in_box(IdTable::new),
            held: in_box(IdTable::new),
            mesh,
            keys: in_box(IdTable::new),
            tunnels: in_box(IdTable::new),
            history,
            archived_seen: 0,
            leader: None,
            leading: None,
            outbox: in_box(Deque::new),
            staged: None,
            events: in_box(Deque::new),
            counters: OpsCounters::default(),
            heartbeat_seq: 0,
            metrics: HealthMetrics::default(),
            table_cursor: 0,
            next_heartbeat: Instant::MAX,
            next_sweep: Instant::MAX,
            next_tunnel_check: Instant::MAX,
            next_notice: Instant::MAX,
            next_table: Instant::MAX,
            next_membership: Instant::MAX,
            next_flush: Instant::MAX,
        })
    }

    /// [`NetworkOperationsManager::new`] in a box, for hosts that keep many nodes.
    pub fn new_boxed(
        node_id: NodeId,
        role: NodeRole,
        supervisors: &[NodeId],
        config: OpsConfig,
        seed: u64,
    ) -> Result<Box<Self>, OpsError> {
        Self::new(node_id, role, supervisors, config, seed).map(Box::new)
    }

    /// Restores the election's persisted `(term, voted_for)` after a restart, so
    /// the node never votes twice in a term. Applies at the next `start`.
    pub fn restore_hard_state(&mut self, hard_state: HardState) {
        self.hard_state = hard_state;
    }

    /// This node.
    pub const fn id(&self) -> &NodeId {
        &self.id
    }

    /// Its role.
    pub const fn role(&self) -> NodeRole {
        self.role
    }

    /// Whether it runs (between `start` and `stop`).
    pub const fn is_running(&self) -> bool {
        self.running
    }

    /// Whether it is the elected leader.
    pub fn is_leader(&self) -> bool {
        self.leading.is_some()
    }

    /// The leader it follows and its term.
    pub fn leader(&self) -> Option<(&NodeId, u64)> {
        self.leader.as_ref().map(|(n, t)| (n, *t))
    }

    /// Sets the health figures sent in this node's heartbeats (invalid ones are refused).
    pub fn set_metrics(&mut self, metrics: HealthMetrics) -> Result<(), crate::health::InvalidMetric> {
        metrics.validate()?;
        self.metrics = metrics;
        Ok(())
    }

    /// Starts (or restarts after `stop`) at `now`: joins its own mesh, announces
    /// itself, sends a first heartbeat and, on a supervisor, starts the election.
    pub fn start(&mut self, now: Instant) -> Result<(), OpsError> {
        let now = self.clock.observe(now);
        if self.running {
            return Ok(());
        }
        if self.role == NodeRole::Supervisor {
            let mut config = self.config.election;
            config.seed = self.seed;
            let hs = self.hard_state.clone();
            let e = LeaderElectionManager::restore_boxed(config, self.id.clone(), &self.supervisors, hs, now).map_err(
                |e| match e {
                    crate::election::ElectionError::Config(c) => OpsError::Config(c),
                    crate::election::ElectionError::TooManyVoters(c) => OpsError::TooManySupervisors(c),
                    _ => OpsError::NotASupervisor(self.id.clone()),
                },
            )?;
            self.election = Some(e);
        }
        self.running = true;
        let me = self.id.clone();
        let key = self.config.public_key;
        self.ensure_key(&me, key);
        if self.mesh.node(&me).is_none() {
            let node = MeshNode::new(me, WgKey::from_bytes(key), self.config.endpoint.clone());
            if self.mesh.join_mesh(now, node).is_err() {
                self.counters.table_full = self.counters.table_full.saturating_add(1);
            }
        }
        self.send(Out::Membership { joining: true });
        self.send(Out::Heartbeat);
        self.heartbeat_seq = self.heartbeat_seq.saturating_add(1);
        self.next_heartbeat = now + self.config.heartbeat_interval;
        self.next_sweep = now + self.config.sweep_interval;
        self.next_tunnel_check = now + self.config.tunnel_check_interval;
        self.next_membership = now + self.config.membership_interval;
        self.next_flush = now + self.config.history_flush_interval;
        self.coordinate(now);
        Ok(())
    }

    /// Stops gracefully at `now`: a leader steps down, peers are told the node
    /// leaves, a worker lets go of its roles, the open history batch is sealed,
    /// and the node leaves its mesh.
    pub fn stop(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if !self.running {
            return;
        }
        if let Some(e) = self.election.as_mut() {
            e.step_down(now);
        }
        self.coordinate(now);
        self.send(Out::Membership { joining: false });
        self.release_held(now);
        self.flush_history(now);
        let me = self.id.clone();
        let _ = self.mesh.leave_mesh(now, &me);
        // Leaving took this node's tunnels down: after a restart heartbeats build them again.
        self.tunnels.clear();
        self.drain_mesh(now);
        self.running = false;
        for t in [
            &mut self.next_heartbeat,
            &mut self.next_sweep,
            &mut self.next_tunnel_check,
            &mut self.next_notice,
            &mut self.next_table,
            &mut self.next_membership,
            &mut self.next_flush,
        ] {
            *t = Instant::MAX;
        }
    }

    /// (Worker) ends every role this node holds: on a graceful stop the leader
    /// hands them to others when it sees the leave, and its releases cannot
    /// reach a stopped node, so keeping them would double-assign after a restart.
    fn release_held(&mut self, now: Instant) {
        let mut tasks: heapless::Vec<TaskId, 64> = heapless::Vec::new();
        loop {
            tasks.clear();
            for (task, _) in self.held.iter() {
                if tasks.push(task.clone()).is_err() {
                    break;
                }
            }
            if tasks.is_empty() {
                break;
            }
            for task in &tasks {
                self.held.remove(task);
                self.emit(now, self.id.clone(), OpsEventKind::AssignmentReleased { task: task.clone() });
            }
        }
    }

    // ----- inputs -----

    /// Decodes one message and routes it to the components; follow-up work (a
    /// recovery, a reassignment, an answer) happens in this call.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Result<(), HandleError> {
        let now = self.clock.observe(now);
        if !self.running {
            return Err(HandleError::NotRunning);
        }
        if let Some((sender, hb)) = decode_heartbeat(bytes) {
            if sender == self.id {
                return Err(HandleError::FromSelf);
            }
            self.counters.messages_received = self.counters.messages_received.saturating_add(1);
            if self.config.record_heartbeats {
                self.record(now, sender.as_str(), "heartbeat", bytes);
            }
            if !self.on_heartbeat(now, &sender, &hb) {
                self.counters.messages_ignored = self.counters.messages_ignored.saturating_add(1);
            }
            self.coordinate(now);
            return Ok(());
        }
        let env = match Envelope::decode(bytes) {
            Ok(env) => env,
            Err(e) => {
                self.counters.decode_errors = self.counters.decode_errors.saturating_add(1);
                return Err(HandleError::Wire(e));
            }
        };
        if env.sender == self.id {
            return Err(HandleError::FromSelf);
        }
        self.counters.messages_received = self.counters.messages_received.saturating_add(1);
        let is_heartbeat = matches!(env.body, Body::Heartbeat(_));
        if self.config.record_heartbeats || !is_heartbeat {
            self.record(now, env.sender.as_str(), env.body.kind(), bytes);
        }
        let sender = env.sender.clone();
        let from_supervisor = self.supervisors.contains(&sender);
        let mut ignored = false;
        match &env.body {
            Body::Heartbeat(hb) => ignored = !self.on_heartbeat(now, &sender, hb),
            Body::PreVote(_)
            | Body::PreVoteResponse(_)
            | Body::RequestVote(_)
            | Body::VoteResponse(_)
            | Body::LeaderHeartbeat(_)
            | Body::HeartbeatResponse(_) => match self.election.as_mut() {
                Some(e) => ignored = e.step(now, &env).is_err(),
                None => ignored = true,
            },
            Body::Membership(m) => self.on_membership(now, &sender, m),
            Body::LeaderNotice(n) if from_supervisor => self.on_leader_notice(now, &sender, n.term),
            Body::TaskAssignment(a) if self.role == NodeRole::Worker && from_supervisor => {
                ignored = !self.on_assignment(now, &sender, a)
            }
            Body::TaskRelease(r) if self.role == NodeRole::Worker && from_supervisor => {
                ignored = !self.on_release(now, &sender, &r.task)
            }
            Body::CheckpointReport(r) if self.role == NodeRole::Supervisor => self.on_checkpoint(now, &sender, r),
            Body::TaskTable(t) if self.role == NodeRole::Supervisor && from_supervisor && self.leading.is_none() => {
                self.on_task_table(t)
            }
            _ => ignored = true,
        }
        if ignored {
            self.counters.messages_ignored = self.counters.messages_ignored.saturating_add(1);
        }
        self.coordinate(now);
        Ok(())
    }

    /// Runs every timer due at `now`: heartbeat, crash sweep (with failover),
    /// election, leader notices and task table, tunnel health, history flush.
    pub fn tick(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if !self.running {
            return;
        }
        if now >= self.next_heartbeat {
            self.send(Out::Heartbeat);
            self.heartbeat_seq = self.heartbeat_seq.saturating_add(1);
            self.next_heartbeat = next_after(self.next_heartbeat, now, self.config.heartbeat_interval);
        }
        if let Some(e) = self.election.as_mut() {
            e.tick(now);
        }
        self.coordinate(now);
        if now >= self.next_sweep {
            self.next_sweep = next_after(self.next_sweep, now, self.config.sweep_interval);
            let _ = self.crash.detect_crashes(now).count();
            self.coordinate(now);
            if self.leading.is_some()
                && let Some(w) = self.workers.as_mut()
            {
                w.refresh_health(now, &*self.crash);
                w.reassign(now, &*self.crash);
                self.assign_pending(now);
            }
        }
        if self.leading.is_some() {
            if now >= self.next_notice {
                if let Some(term) = self.leading {
                    self.send(Out::LeaderNotice { term });
                }
                self.next_notice = next_after(self.next_notice, now, self.config.leader_notice_interval);
            }
            if now >= self.next_table {
                if !self.tasks.is_empty() {
                    self.send(Out::TaskTable);
                }
                self.next_table = next_after(self.next_table, now, self.config.task_table_interval);
            }
        }
        if now >= self.next_tunnel_check {
            self.next_tunnel_check = next_after(self.next_tunnel_check, now, self.config.tunnel_check_interval);
            let report = self.mesh.monitor_tunnel_health(now);
            if report.changed > 0 {
                self.refresh_tunnel_states(now);
            }
            if self.mesh.routes_outdated() {
                self.mesh.recompute_routes(now);
            }
        }
        if now >= self.next_membership {
            self.send(Out::Membership { joining: true });
            self.next_membership = next_after(self.next_membership, now, self.config.membership_interval);
        }
        if now >= self.next_flush {
            self.flush_history(now);
            self.next_flush = next_after(self.next_flush, now, self.config.history_flush_interval);
        }
        self.coordinate(now);
    }

    /// (Supervisor) adds `task` to the task table; the leader assigns it at once
    /// if enough workers are available, else at a later sweep.
    pub fn submit_task(
        &mut self,
        now: Instant,
        task: TaskId,
        task_type: TaskType,
        required: u16,
        backups: u16,
    ) -> Result<(), TaskError> {
        let now = self.clock.observe(now);
        if self.role != NodeRole::Supervisor {
            return Err(TaskError::WrongRole);
        }
        if required == 0 {
            return Err(TaskError::NoPrimaries);
        }
        if self.tasks.contains_key(&task) {
            return Err(TaskError::Duplicate(task));
        }
        let record = TaskRecord { task_type, required, backups, checkpoint: None };
        if let Err((task, _)) = self.tasks.insert(task, record) {
            return Err(TaskError::TableFull(CapacityError::new(task, T)));
        }
        if self.leading.is_some() {
            self.assign_pending(now);
        }
        self.coordinate(now);
        Ok(())
    }

    /// (Worker) reports progress on a task this node is primary of; it goes to every supervisor.
    pub fn report_checkpoint(&mut self, now: Instant, task: &TaskId, checkpoint: Checkpoint) -> Result<(), TaskError> {
        let _ = self.clock.observe(now);
        if self.role != NodeRole::Worker {
            return Err(TaskError::WrongRole);
        }
        let Some(held) = self.held.get_mut(task) else {
            return Err(TaskError::NotAPrimary(task.clone()));
        };
        if held.role != TaskRole::Primary {
            return Err(TaskError::NotAPrimary(task.clone()));
        }
        if let Some(last) = held.checkpoint
            && last.sequence > checkpoint.sequence
        {
            return Err(TaskError::Regression { last: last.sequence });
        }
        held.checkpoint = Some(checkpoint);
        self.send(Out::Checkpoint { task: task.clone(), checkpoint });
        Ok(())
    }

    // ----- outputs -----

    /// The election's hard state to persist before sending anything (supervisors).
    pub fn poll_hard_state(&mut self) -> Option<HardState> {
        let hs = self.election.as_mut()?.poll_hard_state()?;
        self.hard_state = hs.clone();
        Some(hs)
    }

    /// The next message to send: election messages first (once the hard state is
    /// drained), then the coordinator's own in the order they were queued.
    pub fn poll_transmit(&mut self) -> Option<OpsTransmit> {
        self.staged.take().or_else(|| self.next_transmit())
    }

    /// The message `poll_transmit` returns next, without taking it (encoded once,
    /// then kept): lets a host check its buffer size before taking the message.
    pub fn peek_transmit(&mut self) -> Option<&OpsTransmit> {
        if self.staged.is_none() {
            self.staged = self.next_transmit();
        }
        self.staged.as_ref()
    }

    fn next_transmit(&mut self) -> Option<OpsTransmit> {
        loop {
            let (to, body) = if let Some(t) = self.election.as_mut().and_then(|e| e.poll_transmit()) {
                (t.to.map_or(Destination::Supervisors, Destination::Node), t.envelope.body)
            } else {
                let out = self.outbox.pop_front()?;
                match self.build(out) {
                    Some(x) => x,
                    None => continue,
                }
            };
            let env = Envelope::new(self.id.clone(), body);
            match env.to_vec() {
                Ok(bytes) => {
                    self.counters.messages_sent = self.counters.messages_sent.saturating_add(1);
                    self.counters.bytes_sent = self.counters.bytes_sent.saturating_add(bytes.len() as u64);
                    return Some(OpsTransmit { to, bytes });
                }
                Err(_) => {
                    self.counters.dropped_transmits = self.counters.dropped_transmits.saturating_add(1);
                }
            }
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<OpsEvent> {
        self.events.pop_front()
    }

    /// The oldest history batch moved out of memory; the host stores it (or drops it).
    pub fn poll_archived(&mut self) -> Option<Batch> {
        self.history.poll_archived()
    }

    /// The batch [`NetworkOperationsManager::poll_archived`] would return next,
    /// without taking it (so a host can size its buffer first).
    pub fn peek_archived(&self) -> Option<&Batch> {
        self.history.peek_archived()
    }

    /// When `tick` must next be called (`Instant::MAX` when stopped).
    pub fn poll_timeout(&self) -> Instant {
        if !self.running {
            return Instant::MAX;
        }
        let mut t = self
            .next_heartbeat
            .min(self.next_sweep)
            .min(self.next_tunnel_check)
            .min(self.next_membership)
            .min(self.next_flush);
        if self.leading.is_some() {
            t = t.min(self.next_notice).min(self.next_table);
        }
        if let Some(e) = self.election.as_ref() {
            t = t.min(e.poll_timeout());
        }
        t
    }

    // ----- views -----

    /// Every component's summary at `now`.
    pub fn status(&self, now: Instant) -> OpsStatus {
        OpsStatus {
            node_id: self.id.clone(),
            role: self.role,
            running: self.running,
            leader: self.leader.clone(),
            crash_recovery: self.crash.network_health_summary(now),
            worker_utilization: self.workers.as_ref().map(|w| w.utilization(now)),
            compression: self.history.stats(),
            mesh: self.mesh.topology_report(),
            election: self.election.as_ref().map(|e| e.status(now)),
            tasks: match self.role {
                NodeRole::Supervisor => self.tasks.len(),
                NodeRole::Worker => self.held.len(),
            },
            counters: self.counters,
        }
    }

    /// The coordinator's counters.
    pub const fn counters(&self) -> &OpsCounters {
        &self.counters
    }

    /// The crash-recovery manager (read-only).
    pub fn crash_recovery(&self) -> &CrashRecoveryManager<N, HW, Q> {
        &self.crash
    }

    /// The election manager of a started supervisor (read-only).
    pub fn election(&self) -> Option<&Election<V, Q>> {
        self.election.as_deref()
    }

    /// The worker-replacement manager of a supervisor (read-only; only the leader's holds tasks).
    pub fn workers(&self) -> Option<&Workers<N, T, S, C, Q>> {
        self.workers.as_deref()
    }

    /// The mesh view (read-only).
    pub fn mesh(&self) -> &VPNMeshTopologyManager<N, L, Q> {
        &self.mesh
    }

    /// The message history (read-only).
    pub fn history(&self) -> &MessageHistoryCompressor<B, B> {
        &self.history
    }

    /// (Supervisor) the task table.
    pub fn tasks(&self) -> impl Iterator<Item = (&TaskId, &TaskRecord)> + '_ {
        self.tasks.iter()
    }

    /// (Worker) the roles this node holds.
    pub fn held_tasks(&self) -> impl Iterator<Item = (&TaskId, &HeldTask)> + '_ {
        self.held.iter()
    }

    /// Outgoing messages and events waiting to be polled.
    pub fn pending(&self) -> (usize, usize) {
        let election = self.election.as_ref().map_or(0, |e| e.pending_transmits());
        let staged = usize::from(self.staged.is_some());
        (self.outbox.len().saturating_add(election).saturating_add(staged), self.events.len())
    }

    // ----- internals -----

    fn send(&mut self, out: Out) {
        if self.outbox.push_back(out).is_err() {
            self.counters.dropped_transmits = self.counters.dropped_transmits.saturating_add(1);
        }
    }

    fn emit(&mut self, at: Instant, node: NodeId, kind: OpsEventKind) {
        if self.events.push_back(OpsEvent { at, node, kind }).is_err() {
            self.counters.dropped_events = self.counters.dropped_events.saturating_add(1);
        }
    }

    fn cluster(&self) -> Destination {
        match self.role {
            NodeRole::Supervisor => Destination::Cluster,
            NodeRole::Worker => Destination::Supervisors,
        }
    }

    /// Builds an outbox item into a body; `None` if it no longer applies.
    fn build(&mut self, out: Out) -> Option<(Destination, Body)> {
        Some(match out {
            Out::Heartbeat => {
                let hb =
                    Heartbeat { sequence: self.heartbeat_seq, sent_at: self.clock.latest(), metrics: self.metrics };
                (self.cluster(), Body::Heartbeat(hb))
            }
            Out::Membership { joining } => {
                let (slots, task_types) = match (joining, self.role) {
                    (true, NodeRole::Worker) => (self.config.slots, self.config.task_types.clone()),
                    _ => (0, heapless::Vec::new()),
                };
                let m = Membership { joining, slots, task_types, public_key: self.config.public_key };
                (self.cluster(), Body::Membership(m))
            }
            Out::Assign { to, term, task, task_type, role, checkpoint } => (
                Destination::Node(to),
                Body::TaskAssignment(TaskAssignment { term, task, task_type, role, checkpoint }),
            ),
            Out::Release { to, task } => (Destination::Node(to), Body::TaskRelease(TaskRelease { task })),
            Out::Checkpoint { task, checkpoint } => {
                (Destination::Supervisors, Body::CheckpointReport(CheckpointReport { task, checkpoint }))
            }
            Out::LeaderNotice { term } => (Destination::Cluster, Body::LeaderNotice(LeaderNotice { term })),
            Out::TaskTable => {
                let term = self.leading?;
                let mut entries = heapless::Vec::new();
                let len = self.tasks.len();
                for k in 0..len.min(MAX_TABLE_ENTRIES) {
                    let i = (self.table_cursor + k) % len;
                    if let Some((task, r)) = self.tasks.get_index(i) {
                        let entry = TaskEntry {
                            task: task.clone(),
                            task_type: r.task_type.clone(),
                            required: r.required,
                            backups: r.backups,
                            checkpoint: r.checkpoint,
                        };
                        let _ = entries.push(entry);
                    }
                }
                self.table_cursor = (self.table_cursor + entries.len()) % len.max(1);
                (Destination::Supervisors, Body::TaskTable(TaskTable { term, entries }))
            }
        })
    }

    /// A health heartbeat: supervisors track every sender, workers only supervisors.
    fn on_heartbeat(&mut self, now: Instant, sender: &NodeId, hb: &Heartbeat) -> bool {
        if self.role == NodeRole::Worker && !self.supervisors.contains(sender) {
            return false;
        }
        if self.crash.update_node_health(now, sender, hb.metrics).is_err() {
            self.counters.table_full = self.counters.table_full.saturating_add(1);
        }
        self.heard(now, sender);
        true
    }

    fn record(&mut self, now: Instant, sender: &str, message_type: &str, bytes: &[u8]) {
        let record = RecordRef { timestamp: now, sender, message_type, payload: bytes };
        match self.history.add_message(now, record) {
            Ok(Some(id)) => self.emit(now, self.id.clone(), OpsEventKind::BatchCompressed { id }),
            Ok(None) => {}
            Err(_) => self.counters.history_dropped = self.counters.history_dropped.saturating_add(1),
        }
    }

    fn flush_history(&mut self, now: Instant) {
        match self.history.compress_batch(now) {
            Ok(Some(id)) => self.emit(now, self.id.clone(), OpsEventKind::BatchCompressed { id }),
            Ok(None) => {}
            Err(_) => self.counters.history_dropped = self.counters.history_dropped.saturating_add(1),
        }
    }

    fn ensure_key(&mut self, node: &NodeId, key: [u8; 32]) {
        if let Some(k) = self.keys.get_mut(node) {
            *k = key;
        } else if self.keys.insert(node.clone(), key).is_err() {
            self.counters.table_full = self.counters.table_full.saturating_add(1);
        }
    }

    /// A heartbeat from `peer`: it joins the mesh view if it is healthy and new,
    /// and the message counts as a handshake on its tunnel.
    fn heard(&mut self, now: Instant, peer: &NodeId) {
        // `tunnels` holds exactly the peers with a tunnel in the mesh view (cheaper than asking the mesh).
        let known = self.tunnels.get(peer).copied();
        // A heartbeat stands for a handshake; one per tunnel check is plenty for
        // tunnel health (WireGuard itself handshakes every two minutes).
        if let Some((TunnelState::Up, last)) = known
            && now.saturating_duration_since(last) < self.config.tunnel_check_interval
        {
            return;
        }
        let before = known.map(|(s, _)| s);
        if before.is_none() {
            if self.crash.status(peer).ok() != Some(NodeStatus::Online) {
                return;
            }
            if self.mesh.node(peer).is_none() {
                self.join_peer(now, peer);
            } else if self.mesh.tunnel(&self.id, peer).is_none() {
                let me = self.id.clone();
                if self.mesh.establish_tunnel(now, &me, peer, TunnelProtocol::WireGuard).is_err() {
                    self.counters.table_full = self.counters.table_full.saturating_add(1);
                }
            }
        }
        if let Ok(after) = self.mesh.record_handshake(now, peer) {
            self.tunnel_state(now, peer, before, after);
        }
    }

    fn join_peer(&mut self, now: Instant, peer: &NodeId) {
        let key = self.keys.get(peer).copied().unwrap_or_else(|| *WgKey::placeholder(peer).as_bytes());
        let node = MeshNode::new(peer.clone(), WgKey::from_bytes(key), self.config.endpoint.clone());
        let me = self.id.clone();
        if self.mesh.join_mesh(now, node).is_err()
            || self.mesh.establish_tunnel(now, &me, peer, TunnelProtocol::WireGuard).is_err()
        {
            self.counters.table_full = self.counters.table_full.saturating_add(1);
        }
    }

    fn tunnel_state(&mut self, now: Instant, peer: &NodeId, before: Option<TunnelState>, after: TunnelState) {
        if let Some(s) = self.tunnels.get_mut(peer) {
            *s = (after, now);
        } else if self.tunnels.insert(peer.clone(), (after, now)).is_err() {
            self.counters.table_full = self.counters.table_full.saturating_add(1);
        }
        if before == Some(after) {
            return;
        }
        match after {
            TunnelState::Up => self.emit(now, peer.clone(), OpsEventKind::TunnelUp),
            TunnelState::Stale | TunnelState::Down if before == Some(TunnelState::Up) => {
                self.emit(now, peer.clone(), OpsEventKind::TunnelDown { state: after })
            }
            _ => {}
        }
    }

    fn refresh_tunnel_states(&mut self, now: Instant) {
        let mut changed: heapless::Vec<(NodeId, TunnelState), 64> = heapless::Vec::new();
        for t in self.mesh.tunnels() {
            let peer = if *t.a == self.id {
                t.b
            } else if *t.b == self.id {
                t.a
            } else {
                continue;
            };
            if self.tunnels.get(peer).map(|x| x.0) != Some(t.state) && changed.push((peer.clone(), t.state)).is_err() {
                break;
            }
        }
        for (peer, state) in changed {
            let before = self.tunnels.get(&peer).map(|x| x.0);
            self.tunnel_state(now, &peer, before, state);
        }
    }

    fn forget_peer(&mut self, now: Instant, peer: &NodeId) {
        let _ = self.mesh.leave_mesh(now, peer);
        self.tunnels.remove(peer);
        if self.leader.as_ref().is_some_and(|(l, _)| l == peer) && self.role == NodeRole::Worker {
            self.leader = None;
        }
    }

    fn on_membership(&mut self, now: Instant, sender: &NodeId, m: &Membership) {
        let from_supervisor = self.supervisors.contains(sender);
        if self.role == NodeRole::Worker && !from_supervisor {
            return;
        }
        if m.joining {
            self.ensure_key(sender, m.public_key);
            if self.role == NodeRole::Supervisor
                && !from_supervisor
                && let Some(w) = self.workers.as_mut()
            {
                let slots = m.slots.clamp(1, u16::try_from(C).unwrap_or(u16::MAX));
                for tt in &m.task_types {
                    if w.register_pool(tt).is_err() || w.add_worker_with_slots(tt, sender, slots).is_err() {
                        self.counters.table_full = self.counters.table_full.saturating_add(1);
                    }
                }
                // A worker quarantined by its graceful leave has no crash record,
                // so no recovery will ever lift the quarantine: its rejoin does
                // (unknown or online again). One quarantined by a detected crash
                // is neither until its recovery completes.
                let back = self.crash.status(sender).is_err() || self.crash.status(sender) == Ok(NodeStatus::Online);
                if self.leading.is_some() && back && w.worker(sender).is_some_and(|r| r.quarantined) {
                    let _ = w.recover_worker(now, sender, &*self.crash);
                }
            }
        } else {
            self.emit(now, sender.clone(), OpsEventKind::NodeLeft);
            let _ = self.crash.remove_node(sender);
            self.forget_peer(now, sender);
            if self.leading.is_some() {
                self.failover(now, sender);
            }
        }
    }

    fn on_leader_notice(&mut self, now: Instant, sender: &NodeId, term: u64) {
        if self.role != NodeRole::Worker {
            return;
        }
        let known = self.leader.as_ref().map_or(0, |(_, t)| *t);
        if term < known {
            return;
        }
        if self.leader.as_ref().is_none_or(|(l, t)| l != sender || *t != term) {
            self.leader = Some((sender.clone(), term));
            self.emit(now, sender.clone(), OpsEventKind::LeaderElected { term });
        }
        // Roles given by anyone but the current leader, or by it in an older term,
        // end (on every notice, so a late assignment from a deposed leader lasts
        // one notice interval at most): the new leader assigns every task again.
        let mut stale: heapless::Vec<TaskId, 64> = heapless::Vec::new();
        loop {
            stale.clear();
            for (task, h) in self.held.iter() {
                if (h.from != *sender || h.term < term) && stale.push(task.clone()).is_err() {
                    break;
                }
            }
            if stale.is_empty() {
                break;
            }
            for task in &stale {
                self.held.remove(task);
                self.emit(now, self.id.clone(), OpsEventKind::AssignmentReleased { task: task.clone() });
            }
        }
    }

    /// Accepted from any supervisor: a new leader's assignment may overtake its
    /// notice. Roles from others than the leader end at its next notice.
    fn on_assignment(&mut self, now: Instant, sender: &NodeId, a: &TaskAssignment) -> bool {
        // An assignment from a term older than the leader this node follows is stale.
        if a.term < self.leader.as_ref().map_or(0, |(_, t)| *t) {
            return false;
        }
        let held = HeldTask {
            task_type: a.task_type.clone(),
            role: a.role,
            checkpoint: a.checkpoint,
            from: sender.clone(),
            term: a.term,
        };
        if self.held.insert(a.task.clone(), held).is_err() {
            self.counters.table_full = self.counters.table_full.saturating_add(1);
            return false;
        }
        let kind = OpsEventKind::AssignmentReceived { task: a.task.clone(), role: a.role, checkpoint: a.checkpoint };
        self.emit(now, self.id.clone(), kind);
        true
    }

    /// Only the supervisor that gave a role ends it: a leader releases only what
    /// it assigned, and a deposed leader's releases (sent as it steps down) must
    /// not end a role its successor gave in the meantime.
    fn on_release(&mut self, now: Instant, sender: &NodeId, task: &TaskId) -> bool {
        match self.held.get(task) {
            Some(h) if h.from == *sender => {
                self.held.remove(task);
                self.emit(now, self.id.clone(), OpsEventKind::AssignmentReleased { task: task.clone() });
                true
            }
            _ => false,
        }
    }

    /// The leader takes a report only from a primary of the task (its workers
    /// manager checks), into its workers manager and its table alike: a backup or
    /// a worker still holding a deposed leader's role must not move the
    /// checkpoint that a failover resumes from. Followers cannot tell and keep
    /// the highest report.
    fn on_checkpoint(&mut self, now: Instant, sender: &NodeId, r: &CheckpointReport) {
        if self.leading.is_some()
            && let Some(w) = self.workers.as_mut()
            && w.record_checkpoint(now, &r.task, sender, r.checkpoint).is_err()
        {
            self.counters.messages_ignored = self.counters.messages_ignored.saturating_add(1);
            return;
        }
        if let Some(rec) = self.tasks.get_mut(&r.task)
            && rec.checkpoint.is_none_or(|c| c.sequence < r.checkpoint.sequence)
        {
            rec.checkpoint = Some(r.checkpoint);
        }
    }

    fn on_task_table(&mut self, t: &TaskTable) {
        for e in &t.entries {
            if let Some(rec) = self.tasks.get_mut(&e.task) {
                if let Some(c) = e.checkpoint
                    && rec.checkpoint.is_none_or(|old| old.sequence < c.sequence)
                {
                    rec.checkpoint = Some(c);
                }
            } else {
                let rec = TaskRecord {
                    task_type: e.task_type.clone(),
                    required: e.required,
                    backups: e.backups,
                    checkpoint: e.checkpoint,
                };
                if self.tasks.insert(e.task.clone(), rec).is_err() {
                    self.counters.table_full = self.counters.table_full.saturating_add(1);
                }
            }
        }
    }

    /// (Leader) moves `node`'s roles to other workers.
    fn failover(&mut self, now: Instant, node: &NodeId) {
        let Some(w) = self.workers.as_mut() else { return };
        if w.worker(node).is_none() {
            return;
        }
        let mut tasks: heapless::Vec<TaskId, C> = heapless::Vec::new();
        for (t, _) in w.worker_tasks(node) {
            let _ = tasks.push(t.clone());
        }
        let _ = w.handle_worker_failure(now, node, &*self.crash);
        for task in tasks {
            self.send(Out::Release { to: node.clone(), task });
        }
    }

    /// (Leader) assigns every task of the table that has no workers yet.
    fn assign_pending(&mut self, now: Instant) {
        let Some(w) = self.workers.as_mut() else { return };
        for i in 0..self.tasks.len() {
            let Some((task, r)) = self.tasks.get_index(i) else { break };
            if w.task(task).is_some() {
                continue;
            }
            let Ok(a) = w.assign_workers_to_task(now, task, &r.task_type, r.required, r.backups, &*self.crash) else {
                continue;
            };
            if let (Some(cp), Some(p)) = (r.checkpoint, a.primaries.first()) {
                let _ = w.record_checkpoint(now, task, p, cp);
            }
            let roles = a.primaries.iter().map(|p| (p, TaskRole::Primary));
            for (worker, role) in roles.chain(a.backups.iter().map(|b| (b, TaskRole::Backup))) {
                let out = Out::Assign {
                    to: worker.clone(),
                    term: self.leading.unwrap_or(0),
                    task: task.clone(),
                    task_type: r.task_type.clone(),
                    role,
                    checkpoint: r.checkpoint,
                };
                if self.outbox.push_back(out).is_err() {
                    self.counters.dropped_transmits = self.counters.dropped_transmits.saturating_add(1);
                }
                let kind = OpsEventKind::TaskAssigned { task: task.clone(), role, checkpoint: r.checkpoint };
                if self.events.push_back(OpsEvent { at: now, node: worker.clone(), kind }).is_err() {
                    self.counters.dropped_events = self.counters.dropped_events.saturating_add(1);
                }
            }
        }
    }

    /// Turns what the components reported into events, follow-up actions and messages.
    fn coordinate(&mut self, now: Instant) {
        self.drain_crash(now);
        self.follow_election(now);
        self.drain_workers(now);
        self.drain_mesh(now);
        let archived = self.history.stats().batches_archived;
        if archived > self.archived_seen {
            let count = archived - self.archived_seen;
            self.archived_seen = archived;
            self.emit(now, self.id.clone(), OpsEventKind::BatchArchived { count });
        }
    }

    fn drain_crash(&mut self, now: Instant) {
        loop {
            let mut batch: heapless::Vec<(NodeId, RecoveryEventKind), 16> = heapless::Vec::new();
            let first = self.crash.next_event_seq().saturating_sub(Q as u64).max(self.crash_seq);
            if first > self.crash_seq {
                self.counters.dropped_events = self.counters.dropped_events.saturating_add(first - self.crash_seq);
            }
            for e in self.crash.events_since(first).take(16) {
                let _ = batch.push((e.node.clone(), e.kind));
                self.crash_seq = e.seq.saturating_add(1);
            }
            if batch.is_empty() {
                return;
            }
            for (node, kind) in batch {
                self.on_crash_event(now, node, kind);
            }
        }
    }

    fn on_crash_event(&mut self, now: Instant, node: NodeId, kind: RecoveryEventKind) {
        match kind {
            RecoveryEventKind::StatusChanged { from, to, .. } => {
                self.emit(now, node, OpsEventKind::NodeStatusChanged { from, to })
            }
            RecoveryEventKind::CrashDetected { silence, .. } => {
                self.emit(now, node.clone(), OpsEventKind::CrashDetected { silence });
                let _ = self.crash.initiate_recovery(now, &node, crate::RecoveryStrategy::Automatic);
                if self.leading.is_some() {
                    self.failover(now, &node);
                }
                self.forget_peer(now, &node);
            }
            RecoveryEventKind::RecoveryStarted { attempt, .. } => {
                self.emit(now, node, OpsEventKind::RecoveryStarted { attempt })
            }
            RecoveryEventKind::RecoveryCompleted { took, .. } => {
                self.emit(now, node.clone(), OpsEventKind::RecoveryCompleted { took });
                if self.mesh.node(&node).is_none() {
                    self.join_peer(now, &node);
                }
                if self.leading.is_some()
                    && let Some(w) = self.workers.as_mut()
                {
                    let _ = w.recover_worker(now, &node, &*self.crash);
                }
            }
            RecoveryEventKind::RecoveryFailed { .. } => self.emit(now, node, OpsEventKind::RecoveryFailed),
        }
    }

    fn follow_election(&mut self, now: Instant) {
        let Some(e) = self.election.as_ref() else { return };
        let term = e.term();
        let is_leader = e.is_leader();
        let leader = e.leader().cloned();
        match (self.leading, is_leader) {
            (None, true) => {
                self.leading = Some(term);
                self.emit(now, self.id.clone(), OpsEventKind::LeaderElected { term });
                self.send(Out::LeaderNotice { term });
                self.next_notice = now + self.config.leader_notice_interval;
                self.next_table = now + self.config.task_table_interval;
                if let Some(w) = self.workers.as_mut() {
                    w.refresh_health(now, &*self.crash);
                }
                self.assign_pending(now);
            }
            (Some(t), false) => {
                self.leading = None;
                self.emit(now, self.id.clone(), OpsEventKind::SteppedDown { term: t });
                self.next_notice = Instant::MAX;
                self.next_table = Instant::MAX;
                if let Some(w) = self.workers.as_mut() {
                    // A follower keeps no assignments: the next leader makes its own.
                    // Its workers are told to let go: a worker drops the roles of
                    // others than the leader at its notice, but not those this node
                    // gave in its old term if it is elected again, so they would
                    // stay beside the new term's (over its slots, or a second role).
                    let mut tasks: heapless::Vec<TaskId, 64> = heapless::Vec::new();
                    loop {
                        tasks.clear();
                        for t in w.tasks() {
                            if tasks.push(t.clone()).is_err() {
                                break;
                            }
                        }
                        if tasks.is_empty() {
                            break;
                        }
                        for t in &tasks {
                            if let Some(view) = w.task(t) {
                                for worker in view.primaries().chain(view.backups()) {
                                    let out = Out::Release { to: worker.clone(), task: t.clone() };
                                    if self.outbox.push_back(out).is_err() {
                                        self.counters.dropped_transmits =
                                            self.counters.dropped_transmits.saturating_add(1);
                                    }
                                }
                            }
                            let _ = w.release_task_workers(t);
                        }
                    }
                    while w.poll_event().is_some() {}
                }
            }
            _ => {}
        }
        let new = leader.map(|l| (l, term));
        if new.is_some() && new != self.leader {
            if let Some((l, t)) = new.as_ref()
                && *l != self.id
            {
                self.emit(now, l.clone(), OpsEventKind::LeaderElected { term: *t });
            }
            self.leader = new;
        }
    }

    fn drain_workers(&mut self, now: Instant) {
        loop {
            let Some(ev) = self.workers.as_mut().and_then(|w| w.poll_event()) else { return };
            match ev {
                WorkerEvent::WorkerReplaced { task, failed, role, replacement, from_backup, checkpoint, .. } => {
                    let task_type = self.tasks.get(&task).map(|r| r.task_type.clone());
                    if let Some(task_type) = task_type {
                        let out = Out::Assign {
                            to: replacement.clone(),
                            term: self.leading.unwrap_or(0),
                            task: task.clone(),
                            task_type,
                            role,
                            checkpoint,
                        };
                        self.send(out);
                    }
                    let kind = OpsEventKind::WorkerReplaced { task, replacement, role, from_backup, checkpoint };
                    self.emit(now, failed, kind);
                }
                WorkerEvent::PrimaryAdded { task, worker, checkpoint, .. } => {
                    self.added(now, task, worker, TaskRole::Primary, checkpoint)
                }
                WorkerEvent::BackupAdded { task, worker, .. } => {
                    let checkpoint = self.tasks.get(&task).and_then(|r| r.checkpoint);
                    self.added(now, task, worker, TaskRole::Backup, checkpoint)
                }
                WorkerEvent::TaskDegraded { task, primaries, required, .. } => {
                    self.emit(now, self.id.clone(), OpsEventKind::TaskDegraded { task, primaries, required })
                }
                WorkerEvent::TaskRestored { task, .. } => {
                    self.emit(now, self.id.clone(), OpsEventKind::TaskRestored { task })
                }
                WorkerEvent::WorkerQuarantined { .. } | WorkerEvent::WorkerRecovered { .. } => {}
            }
        }
    }

    fn added(&mut self, now: Instant, task: TaskId, worker: NodeId, role: TaskRole, checkpoint: Option<Checkpoint>) {
        if let Some(task_type) = self.tasks.get(&task).map(|r| r.task_type.clone()) {
            let term = self.leading.unwrap_or(0);
            self.send(Out::Assign { to: worker.clone(), term, task: task.clone(), task_type, role, checkpoint });
        }
        self.emit(now, worker, OpsEventKind::TaskAssigned { task, role, checkpoint });
    }

    fn drain_mesh(&mut self, now: Instant) {
        while let Some(c) = self.mesh.poll_route_change() {
            self.emit(now, c.destination, OpsEventKind::RouteChanged { next_hop: c.new_next_hop });
        }
        while self.mesh.poll_reestablish().is_some() {
            self.counters.reestablish_requests = self.counters.reestablish_requests.saturating_add(1);
        }
    }
}

/// An envelope whose body can only be a heartbeat: decoding it builds no
/// (kilobytes large) [`Body`]. Heartbeats are nearly all of a cluster's traffic.
#[derive(serde::Deserialize)]
struct HeartbeatEnvelope {
    version: u8,
    sender: NodeId,
    body: HeartbeatBody,
}

/// [`Body`]'s first variant alone (the variant index is on the wire).
#[derive(serde::Deserialize)]
enum HeartbeatBody {
    Heartbeat(Heartbeat),
}

/// `Some` for a valid, complete heartbeat envelope; anything else (another body,
/// an error) goes through [`Envelope::decode`], which also names the error.
fn decode_heartbeat(bytes: &[u8]) -> Option<(NodeId, Heartbeat)> {
    if bytes.len() > crate::wire::MAX_ENVELOPE_LEN || bytes.first() != Some(&crate::wire::WIRE_VERSION) {
        return None;
    }
    let (env, rest) = postcard::take_from_bytes::<HeartbeatEnvelope>(bytes).ok()?;
    let HeartbeatBody::Heartbeat(hb) = env.body;
    (rest.is_empty() && env.version == crate::wire::WIRE_VERSION && hb.metrics.validate().is_ok())
        .then_some((env.sender, hb))
}

/// `make()` built straight into a heap allocation (relies on optimisation, like
/// every `new_boxed`; see [`crate::preset`]).
fn in_box<X>(make: impl FnOnce() -> X) -> Box<X> {
    Box::write(Box::new_uninit(), make())
}

/// The next deadline of a periodic timer: one period after the last, or after `now` if it fell behind.
fn next_after(last: Instant, now: Instant, period: Duration) -> Instant {
    let next = last + period;
    if next > now { next } else { now + period }
}

// ---- Error kinds: the classification the bindings derive their errors from. ----

impl crate::error::Classify for OpsError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            OpsError::Config(e) => e.kind(),
            OpsError::TooManySupervisors(e) => e.kind(),
            OpsError::NotASupervisor(_) => ErrorKind::InvalidArgument,
        }
    }
}

impl crate::error::Classify for HandleError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            HandleError::NotRunning => ErrorKind::InvalidState,
            HandleError::Wire(e) => e.kind(),
            HandleError::FromSelf => ErrorKind::InvalidArgument,
        }
    }
}

impl crate::error::Classify for TaskError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            TaskError::WrongRole | TaskError::Duplicate(_) | TaskError::Regression { .. } => ErrorKind::InvalidState,
            TaskError::TableFull(e) => e.kind(),
            TaskError::NoPrimaries => ErrorKind::InvalidArgument,
            TaskError::NotAPrimary(_) => ErrorKind::NotFound,
        }
    }
}

// ---- Names: parsing what `as_str` prints. ----

crate::error::names!(NodeRole, "node role", "supervisor, worker", [Supervisor, Worker]);
