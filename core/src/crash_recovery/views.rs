//! Read-only views: nodes, the health summary and the `HealthView` the workers manager reads.

use super::*;

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
impl<const N: usize, const W: usize, const E: usize> CrashRecoveryManager<N, W, E> {
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
        self.record(node).map(|r| r.window.phi(now, &self.params.spaced(r.spacing)))
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
}

impl<const N: usize, const W: usize, const E: usize> HealthView for CrashRecoveryManager<N, W, E> {
    fn status(&self, node: &NodeId) -> Option<NodeStatus> {
        self.nodes.get(node).map(|r| r.status)
    }

    fn health_score(&self, node: &NodeId, now: Instant) -> Option<HealthScore> {
        self.nodes
            .get(node)
            .map(|r| HealthScore::compute(r.status, &r.metrics, r.window.phi(now, &self.params.spaced(r.spacing))))
    }
}
