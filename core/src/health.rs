//! Node health: the metrics a node reports, the thresholds that judge them, the
//! status machine's states, and the score other managers rank nodes by.

use crate::id::NodeId;
use crate::time::{Duration, Instant};
use serde::{Deserialize, Serialize};

/// The health figures a node reports about itself (carried in heartbeats).
///
/// Rates and usages are fractions in `[0, 1]`; [`HealthMetrics::validate`] rejects
/// anything else, including NaN.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthMetrics {
    /// Observed response time of the node.
    pub response_time: Duration,
    /// Fraction of requests that succeeded.
    pub success_rate: f32,
    /// Fraction of assigned tasks completed.
    pub task_completion_rate: f32,
    /// Fraction of link bandwidth in use.
    pub bandwidth_utilization: f32,
    /// Fraction of CPU in use.
    pub cpu_usage: f32,
    /// Fraction of memory in use.
    pub memory_usage: f32,
}

impl Default for HealthMetrics {
    /// A fully healthy, idle node.
    fn default() -> Self {
        HealthMetrics {
            response_time: Duration::ZERO,
            success_rate: 1.0,
            task_completion_rate: 1.0,
            bandwidth_utilization: 0.0,
            cpu_usage: 0.0,
            memory_usage: 0.0,
        }
    }
}

/// A metric outside `[0, 1]` or not a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidMetric {
    /// The offending field.
    pub field: &'static str,
}

crate::error::error_impls! {
    InvalidMetric, f;
    InvalidMetric { field } => ErrorKind::InvalidMetric, write!(f, "health metric `{field}` must be a number in [0, 1]");
}

impl HealthMetrics {
    /// Checks that every fraction is a number in `[0, 1]`.
    pub fn validate(&self) -> Result<(), InvalidMetric> {
        let fields = [
            ("success_rate", self.success_rate),
            ("task_completion_rate", self.task_completion_rate),
            ("bandwidth_utilization", self.bandwidth_utilization),
            ("cpu_usage", self.cpu_usage),
            ("memory_usage", self.memory_usage),
        ];
        for (field, value) in fields {
            if !(0.0..=1.0).contains(&value) {
                return Err(InvalidMetric { field });
            }
        }
        Ok(())
    }
}

/// The limits a node's metrics must meet to count as healthy.
///
/// Defaults follow the existing Python node API: heartbeat younger than 30 s,
/// success rate above 0.8, response time below 5 s, CPU and memory below 0.9.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthThresholds {
    /// Oldest acceptable heartbeat (exclusive).
    pub max_heartbeat_age: Duration,
    /// Lowest acceptable success rate (exclusive).
    pub min_success_rate: f32,
    /// Slowest acceptable response time (exclusive).
    pub max_response_time: Duration,
    /// Highest acceptable CPU usage (exclusive).
    pub max_cpu_usage: f32,
    /// Highest acceptable memory usage (exclusive).
    pub max_memory_usage: f32,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        HealthThresholds {
            max_heartbeat_age: Duration::from_secs(30),
            min_success_rate: 0.8,
            max_response_time: Duration::from_secs(5),
            max_cpu_usage: 0.9,
            max_memory_usage: 0.9,
        }
    }
}

impl HealthThresholds {
    /// Whether `metrics` alone (ignoring heartbeat age) are within the limits.
    pub fn metrics_ok(&self, metrics: &HealthMetrics) -> bool {
        metrics.success_rate > self.min_success_rate
            && metrics.response_time < self.max_response_time
            && metrics.cpu_usage < self.max_cpu_usage
            && metrics.memory_usage < self.max_memory_usage
    }

    /// Whether a node with `metrics` and its last heartbeat at `last_heartbeat` is healthy at `now`.
    pub fn is_healthy(&self, now: Instant, last_heartbeat: Instant, metrics: &HealthMetrics) -> bool {
        now.saturating_duration_since(last_heartbeat) < self.max_heartbeat_age && self.metrics_ok(metrics)
    }
}

/// Where a node stands in the crash-recovery status machine.
///
/// `Online → Suspected → Offline → Recovering → Online`, and `Failed` when a
/// recovery does not succeed in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeStatus {
    /// Heartbeats arrive and metrics are healthy.
    Online,
    /// Phi passed the suspect level or metrics are unhealthy.
    Suspected,
    /// Phi passed the failure threshold: the node is considered crashed.
    Offline,
    /// A recovery was initiated and has not yet succeeded or failed.
    Recovering,
    /// A recovery did not succeed within its deadline or attempts.
    Failed,
}

impl NodeStatus {
    /// The lowercase name used by the Python API (`"online"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Online => "online",
            NodeStatus::Suspected => "suspected",
            NodeStatus::Offline => "offline",
            NodeStatus::Recovering => "recovering",
            NodeStatus::Failed => "failed",
        }
    }

    /// Whether work may be given to a node in this status.
    pub const fn is_assignable(self) -> bool {
        matches!(self, NodeStatus::Online | NodeStatus::Suspected)
    }
}

crate::error::names!(
    NodeStatus,
    "node status",
    "online, suspected, offline, recovering, failed",
    [Online, Suspected, Offline, Recovering, Failed]
);

/// How healthy a node looks, from 0 (dead) to [`HealthScore::MAX`] (perfect).
///
/// An integer so that ranking is exact and deterministic; higher is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HealthScore(pub u16);

impl HealthScore {
    /// The best possible score.
    pub const MAX: HealthScore = HealthScore(10_000);
    /// The score of a node that must not get work.
    pub const ZERO: HealthScore = HealthScore(0);

    /// Scores a node from its status, metrics and current phi.
    ///
    /// Offline and failed nodes score 0. Otherwise the score weighs success rate
    /// (40 %), task completion (20 %), free CPU (20 %) and free memory (20 %),
    /// scaled by status (online 1, suspected ½, recovering ¼) and by `1 / (1 + phi)`.
    pub fn compute(status: NodeStatus, metrics: &HealthMetrics, phi: f64) -> HealthScore {
        let status_weight = match status {
            NodeStatus::Online => 1.0,
            NodeStatus::Suspected => 0.5,
            NodeStatus::Recovering => 0.25,
            NodeStatus::Offline | NodeStatus::Failed => return HealthScore::ZERO,
        };
        let m = metrics;
        let quality = 0.4 * f64::from(m.success_rate)
            + 0.2 * f64::from(m.task_completion_rate)
            + 0.2 * (1.0 - f64::from(m.cpu_usage))
            + 0.2 * (1.0 - f64::from(m.memory_usage));
        let phi = if phi.is_nan() || phi < 0.0 { 0.0 } else { phi };
        let score = status_weight * quality.clamp(0.0, 1.0) / (1.0 + phi) * f64::from(HealthScore::MAX.0);
        // Float-to-int `as` saturates; the clamp keeps the result within MAX.
        HealthScore((score as u16).min(HealthScore::MAX.0))
    }
}

/// A read-only view of node health, as the crash-recovery manager provides it.
///
/// The worker-replacement manager ranks workers through this trait, so it can be
/// fed by the crash-recovery manager, by a test double, or by a host's own data.
pub trait HealthView {
    /// The node's current status, or `None` if the view does not know the node.
    fn status(&self, node: &NodeId) -> Option<NodeStatus>;
    /// The node's health score at `now`, or `None` if the view does not know the node.
    fn health_score(&self, node: &NodeId, now: Instant) -> Option<HealthScore>;
}

/// A health view that knows no node: every worker gets the configured
/// `unknown_score`, so ranking falls to load and then id. For hosts with no
/// health feed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoHealth;

impl HealthView for NoHealth {
    fn status(&self, _node: &NodeId) -> Option<NodeStatus> {
        None
    }

    fn health_score(&self, _node: &NodeId, _now: Instant) -> Option<HealthScore> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_health_knows_nobody() {
        let n = NodeId::new("n").unwrap();
        assert_eq!(NoHealth.status(&n), None);
        assert_eq!(NoHealth.health_score(&n, Instant::from_secs(1)), None);
    }

    #[test]
    fn validate_rejects_out_of_range_and_nan() {
        let mut m = HealthMetrics::default();
        assert!(m.validate().is_ok());
        m.cpu_usage = 1.5;
        assert_eq!(m.validate(), Err(InvalidMetric { field: "cpu_usage" }));
        m.cpu_usage = f32::NAN;
        assert!(m.validate().is_err());
    }

    #[test]
    fn default_thresholds_match_python_api() {
        let t = HealthThresholds::default();
        let m = HealthMetrics::default();
        let hb = Instant::from_secs(100);
        assert!(t.is_healthy(Instant::from_secs(129), hb, &m));
        assert!(!t.is_healthy(Instant::from_secs(130), hb, &m));
        let slow = HealthMetrics { response_time: Duration::from_secs(5), ..m };
        assert!(!t.metrics_ok(&slow));
        let flaky = HealthMetrics { success_rate: 0.8, ..m };
        assert!(!t.metrics_ok(&flaky));
        let busy = HealthMetrics { cpu_usage: 0.9, ..m };
        assert!(!t.metrics_ok(&busy));
    }

    #[test]
    fn score_orders_by_status_and_phi() {
        let m = HealthMetrics::default();
        let online = HealthScore::compute(NodeStatus::Online, &m, 0.0);
        assert_eq!(online, HealthScore::MAX);
        assert!(HealthScore::compute(NodeStatus::Suspected, &m, 0.0) < online);
        assert!(HealthScore::compute(NodeStatus::Online, &m, 3.0) < online);
        assert_eq!(HealthScore::compute(NodeStatus::Offline, &m, 0.0), HealthScore::ZERO);
        assert_eq!(HealthScore::compute(NodeStatus::Online, &m, f64::INFINITY), HealthScore::ZERO);
        assert_eq!(HealthScore::compute(NodeStatus::Online, &m, f64::NAN), HealthScore::MAX);
    }
}
