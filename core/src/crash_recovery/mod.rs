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
//!  Recovering → Online       `recovery_heartbeats` healthy heartbeats in a row; one
//!                            for an automatic recovery the caller vouches for
//!                            (`update_node_health_vouched`)
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

mod detect;
mod error;
mod events;
mod views;

pub use error::CrashRecoveryError;
pub use events::{RecoveryEvent, RecoveryEventKind};
pub use views::{HealthSummary, NodeView};

use crate::error::{CapacityError, ConfigError};
use crate::health::{HealthMetrics, HealthScore, HealthThresholds, HealthView, InvalidMetric, NodeStatus};
use crate::id::NodeId;
use crate::phi::{HeartbeatWindow, PhiConfig, PhiLevel, PhiParams};
use crate::storage::Deque;
use crate::table::IdTable;
use crate::time::{Duration, HourCounter, Instant, MonotonicClock};

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
    /// Consecutive healthy heartbeats that complete a recovery (default 2):
    /// a flap guard for nodes that were really unreachable. A heartbeat given
    /// to [`CrashRecoveryManager::update_node_health_vouched`] (the node was
    /// alive throughout, by another channel) completes an automatic recovery alone.
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
    /// The node heartbeats every `spacing`-th interval (1: every one); its
    /// detector's acceptable pause is that many times as long
    /// ([`PhiParams::spaced`]).
    spacing: u8,
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
}

#[cfg(test)]
mod tests;
