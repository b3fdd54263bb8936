//! `CrashRecoveryManager`: phi-accrual failure detection over many nodes, node
//! health, and the status machine that turns silence into crash and recovery events.
//!
//! It follows the crate's [sans-IO contract](crate#the-sans-io-contract): time,
//! method kinds, drain order, errors and capacity.
//!
//! Status machine (every transition is recorded as an event):
//!
//! ```text
//!  Online ⇄ Suspected        phi ≥ suspect level, unhealthy metrics or an old heartbeat
//!  Online/Suspected → Offline   phi ≥ threshold: a crash, reported once by `detect_crashes`
//!  Offline/Failed/Suspected → Recovering   `initiate_recovery`, or a heartbeat from an offline/failed node
//!  Recovering → Online       `recovery_heartbeats` healthy heartbeats in a row
//!  Recovering → Failed       the attempt's deadline passed
//!  Recovering → Offline      the node came back, then fell silent past the threshold
//!                            again before completing: a new crash
//! ```
//!
//! `max_recovery_attempts` limits [`CrashRecoveryManager::initiate_recovery`]
//! calls per outage. A node that heartbeats again always starts an automatic
//! recovery, whatever attempts it used: it is alive, and refusing to notice
//! that would leave it `Failed` while it works.
//!
//! Heartbeats cost O(1): each one re-solves the instants at which the node's phi
//! will reach the suspect level and the threshold, so the sweep in
//! [`CrashRecoveryManager::detect_crashes`] is one comparison per node.
//!
//! Outputs follow the sans-IO contract of the other managers:
//! [`CrashRecoveryManager::poll_event`] hands out recovery events oldest first
//! (the ring stays readable through [`CrashRecoveryManager::events`]), and
//! [`CrashRecoveryManager::poll_timeout`] says when the next sweep is due.

use crate::error::{CapacityError, ConfigError};
use crate::health::{HealthMetrics, HealthScore, HealthThresholds, HealthView, InvalidMetric, NodeStatus};
use crate::id::NodeId;
use crate::phi::{HeartbeatWindow, PhiConfig, PhiLevel, PhiParams};
use crate::storage::Deque;
use crate::table::IdTable;
use crate::time::{Duration, HourCounter, Instant, MonotonicClock};
use core::fmt;

/// How a recovery is carried out; chosen by the caller and carried in events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecoveryStrategy {
    /// Wait for the node to come back on its own (also used when a node simply returns).
    Automatic,
    /// The host restarts the node's process.
    Restart,
    /// The host replaces the node with another machine.
    Replace,
    /// A host-defined strategy.
    Custom(u32),
}

impl RecoveryStrategy {
    /// The lowercase name used by the Python API; `"custom"` for [`RecoveryStrategy::Custom`].
    pub const fn as_str(self) -> &'static str {
        match self {
            RecoveryStrategy::Automatic => "automatic",
            RecoveryStrategy::Restart => "restart",
            RecoveryStrategy::Replace => "replace",
            RecoveryStrategy::Custom(_) => "custom",
        }
    }
}

/// Parses the named strategies (`"automatic"`, `"restart"`, `"replace"`); a
/// [`RecoveryStrategy::Custom`] has no name to parse, so `"custom"` is refused.
impl core::str::FromStr for RecoveryStrategy {
    type Err = crate::error::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [RecoveryStrategy::Automatic, RecoveryStrategy::Restart, RecoveryStrategy::Replace]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or(crate::error::UnknownName { what: "recovery strategy", expected: "automatic, restart, replace" })
    }
}

/// Why a recovery failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryFailure {
    /// The node was not healthy again before the attempt's deadline.
    DeadlineExceeded,
    /// Another recovery was requested after the last allowed attempt.
    AttemptsExhausted,
    /// The node came back, then fell silent again before the recovery completed:
    /// it is `Offline` again and reported as a new crash.
    CrashedAgain,
}

impl RecoveryFailure {
    /// The snake-case name used by the Python API (`"deadline_exceeded"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            RecoveryFailure::DeadlineExceeded => "deadline_exceeded",
            RecoveryFailure::AttemptsExhausted => "attempts_exhausted",
            RecoveryFailure::CrashedAgain => "crashed_again",
        }
    }
}

crate::error::names!(
    RecoveryFailure,
    "recovery failure",
    "deadline_exceeded, attempts_exhausted, crashed_again",
    [DeadlineExceeded, AttemptsExhausted, CrashedAgain]
);

/// What happened to a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecoveryEventKind {
    /// The node's status changed.
    StatusChanged {
        /// Status before.
        from: NodeStatus,
        /// Status after.
        to: NodeStatus,
        /// Phi at the time of the change.
        phi: f64,
    },
    /// Phi reached the threshold: the node is considered crashed.
    CrashDetected {
        /// Phi at detection.
        phi: f64,
        /// Time since the node's last heartbeat.
        silence: Duration,
    },
    /// A recovery attempt began.
    RecoveryStarted {
        /// The strategy.
        strategy: RecoveryStrategy,
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// The node is healthy again.
    RecoveryCompleted {
        /// The strategy of the successful attempt.
        strategy: RecoveryStrategy,
        /// Time from the attempt's start to success.
        took: Duration,
    },
    /// A recovery attempt failed; the node is now `Failed`.
    RecoveryFailed {
        /// The strategy of the failed attempt.
        strategy: RecoveryStrategy,
        /// Why.
        reason: RecoveryFailure,
    },
}

impl RecoveryEventKind {
    /// The snake-case event type used by the Python API.
    pub const fn as_str(&self) -> &'static str {
        match self {
            RecoveryEventKind::StatusChanged { .. } => "status_changed",
            RecoveryEventKind::CrashDetected { .. } => "crash_detected",
            RecoveryEventKind::RecoveryStarted { .. } => "recovery_started",
            RecoveryEventKind::RecoveryCompleted { .. } => "recovery_completed",
            RecoveryEventKind::RecoveryFailed { .. } => "recovery_failed",
        }
    }
}

/// One entry of the recovery event ring.
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryEvent {
    /// Sequence number, from 0, increasing by one per event ever recorded.
    pub seq: u64,
    /// When it happened (caller time, clamped monotonic).
    pub at: Instant,
    /// The node concerned.
    pub node: NodeId,
    /// What happened.
    pub kind: RecoveryEventKind,
}

/// Crash-recovery parameters. See each field for its default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrashRecoveryConfig {
    /// The failure detector: Akka's cluster settings ([`PhiConfig::cluster`]:
    /// threshold 8, min std 100 ms, acceptable pause 3 s, first estimate 1 s).
    pub phi: PhiConfig,
    /// Phi at which a node becomes `Suspected`; `None` means half the threshold.
    pub suspect_phi: Option<f64>,
    /// Limits for healthy metrics (the Python API's defaults).
    pub health: HealthThresholds,
    /// How long one recovery attempt may take before it fails (default 300 s).
    pub recovery_deadline: Duration,
    /// Recovery attempts allowed per outage (default 3).
    pub max_recovery_attempts: u32,
    /// Consecutive healthy heartbeats that complete a recovery (default 2).
    pub recovery_heartbeats: u32,
}

impl Default for CrashRecoveryConfig {
    fn default() -> Self {
        CrashRecoveryConfig {
            phi: PhiConfig::cluster(),
            suspect_phi: None,
            health: HealthThresholds::default(),
            recovery_deadline: Duration::from_secs(300),
            max_recovery_attempts: 3,
            recovery_heartbeats: 2,
        }
    }
}

/// Errors of the crash-recovery manager.
#[derive(Clone, Debug, PartialEq)]
pub enum CrashRecoveryError {
    /// The node is not tracked.
    UnknownNode(NodeId),
    /// The node table is full; the node was not added and nothing changed.
    TableFull(CapacityError<NodeId>),
    /// A metric is out of range; nothing changed.
    InvalidMetric(InvalidMetric),
    /// Recovery was requested for a node in a status that does not need or allow it.
    InvalidStatus {
        /// The node.
        node: NodeId,
        /// Its status.
        status: NodeStatus,
    },
    /// The node already used all its recovery attempts for this outage; it is `Failed`.
    AttemptsExhausted(NodeId),
}

impl fmt::Display for CrashRecoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrashRecoveryError::UnknownNode(n) => write!(f, "unknown node {n}"),
            CrashRecoveryError::TableFull(e) => write!(f, "cannot track node {}: {e}", e.rejected),
            CrashRecoveryError::InvalidMetric(e) => e.fmt(f),
            CrashRecoveryError::InvalidStatus { node, status } => {
                write!(f, "node {node} is {status}: recovery does not apply")
            }
            CrashRecoveryError::AttemptsExhausted(n) => {
                write!(f, "node {n} has no recovery attempts left")
            }
        }
    }
}

impl core::error::Error for CrashRecoveryError {}

impl crate::error::Classify for CrashRecoveryError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            CrashRecoveryError::UnknownNode(_) => ErrorKind::NotFound,
            CrashRecoveryError::TableFull(e) => e.kind(),
            CrashRecoveryError::InvalidMetric(e) => e.kind(),
            CrashRecoveryError::InvalidStatus { .. } => ErrorKind::InvalidState,
            CrashRecoveryError::AttemptsExhausted(_) => ErrorKind::AttemptsExhausted,
        }
    }
}

/// When the node's current recovery began (`Instant::MAX` when none is under way).
fn r_started<const W: usize>(record: &NodeRecord<W>) -> Instant {
    record.recovery.map_or(Instant::MAX, |r| r.started)
}

#[derive(Clone, Copy, Debug)]
struct Recovery {
    strategy: RecoveryStrategy,
    started: Instant,
    healthy_heartbeats: u32,
}

/// Everything tracked about one node.
#[derive(Clone, Debug)]
struct NodeRecord<const W: usize> {
    window: HeartbeatWindow<W>,
    metrics: HealthMetrics,
    status: NodeStatus,
    suspect_at: Instant,
    recovery: Option<Recovery>,
    attempts: u32,
    crashed_in_sweep: u64,
}

/// A read-only view of one tracked node.
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'a> {
    /// The node.
    pub id: &'a NodeId,
    /// Its status.
    pub status: NodeStatus,
    /// Its last reported metrics.
    pub metrics: &'a HealthMetrics,
    /// When its last heartbeat arrived.
    pub last_heartbeat: Instant,
    /// Recovery attempts used in the current outage.
    pub recovery_attempts: u32,
}

/// Counts of nodes by status, and recent crashes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HealthSummary {
    /// Tracked nodes.
    pub total_nodes: usize,
    /// Nodes online.
    pub online_nodes: usize,
    /// Nodes suspected.
    pub suspected_nodes: usize,
    /// Nodes offline (crashed, no recovery yet).
    pub offline_nodes: usize,
    /// Nodes whose recovery failed.
    pub failed_nodes: usize,
    /// Nodes recovering.
    pub recovering_nodes: usize,
    /// `online / total`, 0 when nothing is tracked.
    pub network_health_ratio: f64,
    /// Crashes detected in the last hour (exact to a minute).
    pub recent_crashes: u64,
}

/// Tracks up to `N` nodes, each with a window of `W` heartbeat
/// intervals, and keeps the last `E` recovery events.
pub struct CrashRecoveryManager<const N: usize, const W: usize, const E: usize> {
    config: CrashRecoveryConfig,
    params: PhiParams,
    suspect: PhiLevel,
    clock: MonotonicClock,
    nodes: IdTable<NodeId, NodeRecord<W>, N>,
    events: Deque<RecoveryEvent, E>,
    next_seq: u64,
    /// The sequence number [`CrashRecoveryManager::poll_event`] delivers next.
    polled_seq: u64,
    dropped_events: u64,
    crashes: HourCounter,
    sweep: u64,
}

impl<const N: usize, const W: usize, const E: usize> CrashRecoveryManager<N, W, E> {
    /// A manager with `config`, or why the config is invalid. With `alloc` the
    /// node table and event ring are allocated here, once, at full capacity;
    /// without it they are inline.
    pub fn new(config: CrashRecoveryConfig) -> Result<Self, ConfigError> {
        let (params, suspect) = Self::validate(&config)?;
        Ok(CrashRecoveryManager {
            config,
            params,
            suspect,
            clock: MonotonicClock::new(),
            nodes: IdTable::new(),
            events: Deque::new(),
            next_seq: 0,
            polled_seq: 0,
            dropped_events: 0,
            crashes: HourCounter::hourly(),
            sweep: 0,
        })
    }

    /// [`CrashRecoveryManager::new`] in a box. With `alloc` the manager's
    /// tables are heap blocks already, so the struct moved into the box is a few
    /// hundred bytes whatever the capacities.
    #[cfg(feature = "alloc")]
    pub fn new_boxed(config: CrashRecoveryConfig) -> Result<alloc::boxed::Box<Self>, ConfigError> {
        Self::new(config).map(alloc::boxed::Box::new)
    }

    fn validate(config: &CrashRecoveryConfig) -> Result<(PhiParams, PhiLevel), ConfigError> {
        let params = PhiParams::new(config.phi)?;
        let suspect_phi = config.suspect_phi.unwrap_or(config.phi.threshold / 2.0);
        if !(suspect_phi > 0.0 && suspect_phi <= config.phi.threshold) {
            return Err(ConfigError::new("suspect_phi", "in (0, threshold]"));
        }
        let suspect = PhiLevel::new(suspect_phi)?;
        if config.recovery_heartbeats == 0 {
            return Err(ConfigError::new("recovery_heartbeats", "at least 1"));
        }
        if config.max_recovery_attempts == 0 {
            return Err(ConfigError::new("max_recovery_attempts", "at least 1"));
        }
        Ok((params, suspect))
    }

    /// The configuration.
    pub const fn config(&self) -> &CrashRecoveryConfig {
        &self.config
    }

    /// Records a heartbeat from `node` at `now`, registering it if new.
    pub fn heartbeat(&mut self, now: Instant, node: &NodeId) -> Result<(), CrashRecoveryError> {
        self.ingest(now, node, None)
    }

    /// Records a heartbeat carrying fresh `metrics` from `node` at `now`,
    /// registering it if new. Invalid metrics change nothing.
    pub fn update_node_health(
        &mut self,
        now: Instant,
        node: &NodeId,
        metrics: HealthMetrics,
    ) -> Result<(), CrashRecoveryError> {
        metrics.validate().map_err(CrashRecoveryError::InvalidMetric)?;
        self.ingest(now, node, Some(metrics))
    }

    fn ingest(
        &mut self,
        now: Instant,
        node: &NodeId,
        metrics: Option<HealthMetrics>,
    ) -> Result<(), CrashRecoveryError> {
        let now = self.clock.observe(now);
        let index = match self.nodes.index_of(node) {
            Some(index) => index,
            None => {
                let record = NodeRecord {
                    window: HeartbeatWindow::new(),
                    metrics: HealthMetrics::default(),
                    status: NodeStatus::Online,
                    suspect_at: Instant::MAX,
                    recovery: None,
                    attempts: 0,
                    crashed_in_sweep: 0,
                };
                if self.nodes.insert(node.clone(), record).is_err() {
                    return Err(CrashRecoveryError::TableFull(CapacityError::new(node.clone(), N)));
                }
                self.nodes.index_of(node).unwrap_or(usize::MAX)
            }
        };
        let Some((_, record)) = self.nodes.get_index_mut(index) else {
            return Err(CrashRecoveryError::UnknownNode(node.clone()));
        };
        record.window.record(now, &self.params);
        record.suspect_at = record.window.crossing(&self.params, self.suspect);
        if let Some(m) = metrics {
            record.metrics = m;
        }
        let healthy = self.config.health.metrics_ok(&record.metrics);
        let mut pending: heapless::Vec<RecoveryEventKind, 2> = heapless::Vec::new();
        let from = record.status;
        match record.status {
            NodeStatus::Online | NodeStatus::Suspected => {
                let to = if healthy { NodeStatus::Online } else { NodeStatus::Suspected };
                record.status = to;
            }
            NodeStatus::Offline | NodeStatus::Failed => {
                // The node is back on its own: an automatic recovery begins.
                record.attempts = record.attempts.saturating_add(1);
                record.recovery = Some(Recovery {
                    strategy: RecoveryStrategy::Automatic,
                    started: now,
                    healthy_heartbeats: u32::from(healthy),
                });
                record.status = NodeStatus::Recovering;
                let _ = pending.push(RecoveryEventKind::RecoveryStarted {
                    strategy: RecoveryStrategy::Automatic,
                    attempt: record.attempts,
                });
            }
            NodeStatus::Recovering => {
                if let Some(r) = record.recovery.as_mut() {
                    r.healthy_heartbeats = if healthy { r.healthy_heartbeats.saturating_add(1) } else { 0 };
                }
            }
        }
        if let (NodeStatus::Recovering, Some(r)) = (record.status, record.recovery)
            && r.healthy_heartbeats >= self.config.recovery_heartbeats
        {
            record.status = NodeStatus::Online;
            record.recovery = None;
            record.attempts = 0;
            let _ = pending.push(RecoveryEventKind::RecoveryCompleted {
                strategy: r.strategy,
                took: now.saturating_duration_since(r.started),
            });
        }
        let to = record.status;
        if from != to {
            let phi = record.window.phi(now, &self.params);
            self.push_event(now, node, RecoveryEventKind::StatusChanged { from, to, phi });
        }
        for kind in pending {
            self.push_event(now, node, kind);
        }
        Ok(())
    }

    /// Sweeps every node at `now`: moves nodes between statuses, fails overdue
    /// recoveries, and returns the nodes found crashed in this sweep (each crash
    /// is reported once). O(n) with one or two comparisons per quiet node.
    pub fn detect_crashes(&mut self, now: Instant) -> impl Iterator<Item = &NodeId> + '_ {
        let now = self.clock.observe(now);
        self.sweep = self.sweep.wrapping_add(1).max(1);
        let sweep = self.sweep;
        let max_age = self.config.health.max_heartbeat_age;
        let deadline = self.config.recovery_deadline;
        for i in 0..self.nodes.len() {
            let Some((id, record)) = self.nodes.get_index_mut(i) else {
                break;
            };
            let last = record.window.last_heartbeat().unwrap_or(now);
            let mut kinds: heapless::Vec<RecoveryEventKind, 3> = heapless::Vec::new();
            match record.status {
                NodeStatus::Online | NodeStatus::Suspected => {
                    if now >= record.window.available_until() {
                        let phi = record.window.phi(now, &self.params);
                        let from = record.status;
                        record.status = NodeStatus::Offline;
                        record.crashed_in_sweep = sweep;
                        let _ = kinds.push(RecoveryEventKind::StatusChanged { from, to: NodeStatus::Offline, phi });
                        let _ = kinds.push(RecoveryEventKind::CrashDetected {
                            phi,
                            silence: now.saturating_duration_since(last),
                        });
                        self.crashes.record(now);
                    } else if record.status == NodeStatus::Online
                        && (now >= record.suspect_at
                            || now.saturating_duration_since(last) >= max_age
                            || !self.config.health.metrics_ok(&record.metrics))
                    {
                        record.status = NodeStatus::Suspected;
                        let phi = record.window.phi(now, &self.params);
                        let _ = kinds.push(RecoveryEventKind::StatusChanged {
                            from: NodeStatus::Online,
                            to: NodeStatus::Suspected,
                            phi,
                        });
                    }
                }
                NodeStatus::Recovering => {
                    let heard_since_start = record.window.last_heartbeat().is_some_and(|t| t >= r_started(record));
                    if let Some(r) = record.recovery
                        && heard_since_start
                        && now >= record.window.available_until()
                    {
                        // Back, then silent again: a new crash, and this attempt failed.
                        let phi = record.window.phi(now, &self.params);
                        record.status = NodeStatus::Offline;
                        record.recovery = None;
                        record.crashed_in_sweep = sweep;
                        let _ = kinds.push(RecoveryEventKind::StatusChanged {
                            from: NodeStatus::Recovering,
                            to: NodeStatus::Offline,
                            phi,
                        });
                        let _ = kinds.push(RecoveryEventKind::RecoveryFailed {
                            strategy: r.strategy,
                            reason: RecoveryFailure::CrashedAgain,
                        });
                        let _ = kinds.push(RecoveryEventKind::CrashDetected {
                            phi,
                            silence: now.saturating_duration_since(last),
                        });
                        self.crashes.record(now);
                    } else if let Some(r) = record.recovery
                        && now.saturating_duration_since(r.started) >= deadline
                    {
                        record.status = NodeStatus::Failed;
                        record.recovery = None;
                        let phi = record.window.phi(now, &self.params);
                        let _ = kinds.push(RecoveryEventKind::StatusChanged {
                            from: NodeStatus::Recovering,
                            to: NodeStatus::Failed,
                            phi,
                        });
                        let _ = kinds.push(RecoveryEventKind::RecoveryFailed {
                            strategy: r.strategy,
                            reason: RecoveryFailure::DeadlineExceeded,
                        });
                    }
                }
                NodeStatus::Offline | NodeStatus::Failed => {}
            }
            if !kinds.is_empty() {
                let id = id.clone();
                for kind in kinds {
                    self.push_event(now, &id, kind);
                }
            }
        }
        self.nodes.iter().filter(move |(_, r)| r.crashed_in_sweep == sweep).map(|(id, _)| id)
    }

    /// Starts a recovery of `node` with `strategy`. Applies to suspected, offline
    /// and failed nodes; each call is one attempt, and a call past
    /// `max_recovery_attempts` marks the node `Failed` and returns an error.
    pub fn initiate_recovery(
        &mut self,
        now: Instant,
        node: &NodeId,
        strategy: RecoveryStrategy,
    ) -> Result<(), CrashRecoveryError> {
        let now = self.clock.observe(now);
        let max_attempts = self.config.max_recovery_attempts;
        let Some(record) = self.nodes.get_mut(node) else {
            return Err(CrashRecoveryError::UnknownNode(node.clone()));
        };
        let from = record.status;
        match from {
            NodeStatus::Online | NodeStatus::Recovering => {
                return Err(CrashRecoveryError::InvalidStatus { node: node.clone(), status: from });
            }
            NodeStatus::Suspected | NodeStatus::Offline | NodeStatus::Failed => {}
        }
        let phi = record.window.phi(now, &self.params);
        if record.attempts >= max_attempts {
            record.status = NodeStatus::Failed;
            if from != NodeStatus::Failed {
                self.push_event(now, node, RecoveryEventKind::StatusChanged { from, to: NodeStatus::Failed, phi });
                self.push_event(
                    now,
                    node,
                    RecoveryEventKind::RecoveryFailed { strategy, reason: RecoveryFailure::AttemptsExhausted },
                );
            }
            return Err(CrashRecoveryError::AttemptsExhausted(node.clone()));
        }
        record.attempts = record.attempts.saturating_add(1);
        let attempt = record.attempts;
        record.recovery = Some(Recovery { strategy, started: now, healthy_heartbeats: 0 });
        record.status = NodeStatus::Recovering;
        self.push_event(now, node, RecoveryEventKind::StatusChanged { from, to: NodeStatus::Recovering, phi });
        self.push_event(now, node, RecoveryEventKind::RecoveryStarted { strategy, attempt });
        Ok(())
    }

    /// Forgets `node` for good (its history and status); events about it stay in the ring.
    pub fn remove_node(&mut self, node: &NodeId) -> Result<(), CrashRecoveryError> {
        self.nodes.remove(node).map(|_| ()).ok_or_else(|| CrashRecoveryError::UnknownNode(node.clone()))
    }

    fn record(&self, node: &NodeId) -> Result<&NodeRecord<W>, CrashRecoveryError> {
        self.nodes.get(node).ok_or_else(|| CrashRecoveryError::UnknownNode(node.clone()))
    }

    /// The node's status.
    pub fn status(&self, node: &NodeId) -> Result<NodeStatus, CrashRecoveryError> {
        self.record(node).map(|r| r.status)
    }

    /// The node's phi at `now` (not clamped by the manager's clock: querying
    /// the past is allowed and gives the phi of that moment).
    pub fn phi(&self, now: Instant, node: &NodeId) -> Result<f64, CrashRecoveryError> {
        self.record(node).map(|r| r.window.phi(now, &self.params))
    }

    /// Whether the node's last heartbeat and metrics meet the health thresholds at `now`.
    pub fn is_healthy(&self, now: Instant, node: &NodeId) -> Result<bool, CrashRecoveryError> {
        self.record(node).map(|r| {
            let last = r.window.last_heartbeat().unwrap_or(Instant::ZERO);
            self.config.health.is_healthy(now, last, &r.metrics)
        })
    }

    /// A view of the node.
    pub fn node(&self, node: &NodeId) -> Result<NodeView<'_>, CrashRecoveryError> {
        self.nodes
            .index_of(node)
            .and_then(|i| self.nodes.get_index(i))
            .map(|(id, r)| Self::view(id, r))
            .ok_or_else(|| CrashRecoveryError::UnknownNode(node.clone()))
    }

    fn view<'a>(id: &'a NodeId, r: &'a NodeRecord<W>) -> NodeView<'a> {
        NodeView {
            id,
            status: r.status,
            metrics: &r.metrics,
            last_heartbeat: r.window.last_heartbeat().unwrap_or(Instant::ZERO),
            recovery_attempts: r.attempts,
        }
    }

    /// Every tracked node, in registration order (removals move the last node into the gap).
    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> + '_ {
        self.nodes.iter().map(|(id, r)| Self::view(id, r))
    }

    /// Tracked nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node is tracked.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Counts by status and crashes in the last hour.
    pub fn network_health_summary(&self, now: Instant) -> HealthSummary {
        let mut s = HealthSummary { total_nodes: self.nodes.len(), ..HealthSummary::default() };
        for r in self.nodes.values() {
            match r.status {
                NodeStatus::Online => s.online_nodes += 1,
                NodeStatus::Suspected => s.suspected_nodes += 1,
                NodeStatus::Offline => s.offline_nodes += 1,
                NodeStatus::Failed => s.failed_nodes += 1,
                NodeStatus::Recovering => s.recovering_nodes += 1,
            }
        }
        s.network_health_ratio = if s.total_nodes == 0 { 0.0 } else { s.online_nodes as f64 / s.total_nodes as f64 };
        s.recent_crashes = self.crashes.count(now.max(self.clock.latest()));
        s
    }

    fn push_event(&mut self, at: Instant, node: &NodeId, kind: RecoveryEventKind) {
        let event = RecoveryEvent { seq: self.next_seq, at, node: node.clone(), kind };
        self.next_seq = self.next_seq.saturating_add(1);
        if self.events.is_full() {
            let _ = self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        if self.events.push_back(event).is_err() {
            // Only possible with E == 0: the event is counted as dropped.
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
    }

    /// The retained events, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &RecoveryEvent> + '_ {
        self.events.iter()
    }

    /// Retained events with a sequence number of at least `seq`, oldest first:
    /// a consumer that remembers the next sequence it expects reads each event once.
    pub fn events_since(&self, seq: u64) -> impl Iterator<Item = &RecoveryEvent> + '_ {
        self.events.iter().filter(move |e| e.seq >= seq)
    }

    /// The next event not yet polled, oldest first: each retained event is
    /// delivered once, in sequence order. Polling does not remove events from
    /// the ring, so [`CrashRecoveryManager::events`] and
    /// [`CrashRecoveryManager::events_since`] still see them; events pushed
    /// out of the ring before they were polled are skipped (they are counted
    /// in [`CrashRecoveryManager::dropped_events`]). O(1).
    pub fn poll_event(&mut self) -> Option<RecoveryEvent> {
        let oldest = self.events.front()?.seq;
        let offset = self.polled_seq.saturating_sub(oldest);
        let event = self.events.get(usize::try_from(offset).ok()?)?.clone();
        self.polled_seq = event.seq.saturating_add(1);
        Some(event)
    }

    /// The earliest instant at which [`CrashRecoveryManager::detect_crashes`]
    /// would change some node's status if nothing else happens first (no
    /// heartbeat, recovery or removal): a node turning suspected, crashing,
    /// crashing again while recovering, or failing its recovery deadline.
    /// `Instant::MAX` when no sweep can change anything (no node, or every
    /// node offline or failed). An instant at or before the last one the
    /// manager has seen means a sweep is due now. Computed from the deadlines
    /// kept per node: O(n), one or three comparisons per node.
    pub fn poll_timeout(&self) -> Instant {
        self.nodes.values().map(|r| self.next_change(r)).min().unwrap_or(Instant::MAX)
    }

    /// When a sweep would next change `record`'s status (the mirror of the
    /// conditions in [`CrashRecoveryManager::detect_crashes`]).
    fn next_change(&self, record: &NodeRecord<W>) -> Instant {
        let crash = record.window.available_until();
        match record.status {
            NodeStatus::Online => {
                let max_age = self.config.health.max_heartbeat_age;
                let too_old = match record.window.last_heartbeat() {
                    Some(last) => last + max_age,
                    // A sweep measures the age of a node never heard from as zero.
                    None if max_age == Duration::ZERO => Instant::ZERO,
                    None => Instant::MAX,
                };
                let unhealthy =
                    if self.config.health.metrics_ok(&record.metrics) { Instant::MAX } else { Instant::ZERO };
                crash.min(record.suspect_at).min(too_old).min(unhealthy)
            }
            NodeStatus::Suspected => crash,
            NodeStatus::Recovering => match record.recovery {
                Some(r) => {
                    let heard_since_start = record.window.last_heartbeat().is_some_and(|t| t >= r.started);
                    let crash_again = if heard_since_start { crash } else { Instant::MAX };
                    crash_again.min(r.started + self.config.recovery_deadline)
                }
                None => Instant::MAX,
            },
            NodeStatus::Offline | NodeStatus::Failed => Instant::MAX,
        }
    }

    /// The sequence number the next event will get.
    pub const fn next_event_seq(&self) -> u64 {
        self.next_seq
    }

    /// Events pushed out of the ring by newer ones.
    pub const fn dropped_events(&self) -> u64 {
        self.dropped_events
    }
}

impl<const N: usize, const W: usize, const E: usize> HealthView for CrashRecoveryManager<N, W, E> {
    fn status(&self, node: &NodeId) -> Option<NodeStatus> {
        self.nodes.get(node).map(|r| r.status)
    }

    fn health_score(&self, node: &NodeId, now: Instant) -> Option<HealthScore> {
        self.nodes.get(node).map(|r| HealthScore::compute(r.status, &r.metrics, r.window.phi(now, &self.params)))
    }
}

#[cfg(test)]
mod tests;
