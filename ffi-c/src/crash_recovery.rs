//! Crash-recovery types of the coordinator: its parameters
//! (`pn_ops_config.crash`) and the health summary in `pn_ops_status_report`.

use crate::convert::{pn_health_thresholds, us};
use crate::phi::pn_phi_config;
use pouw_netops::crash_recovery::HealthSummary;
use pouw_netops::{CrashRecoveryConfig, PhiConfig};

/// Crash-recovery parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_crash_recovery_config {
    /// The failure detector applied to every node (threshold 8).
    pub phi: pn_phi_config,
    /// Phi at which a node becomes suspected, in (0, threshold]; 0 means half the threshold (the default).
    pub suspect_phi: f64,
    /// Limits for healthy metrics.
    pub health: pn_health_thresholds,
    /// How long one recovery attempt may take, microseconds (default 300 s).
    pub recovery_deadline_us: u64,
    /// Recovery attempts allowed per outage, at least 1 (default 3).
    pub max_recovery_attempts: u32,
    /// Consecutive healthy heartbeats that complete a recovery, at least 1 (default 2).
    pub recovery_heartbeats: u32,
}

impl From<&CrashRecoveryConfig> for pn_crash_recovery_config {
    fn from(c: &CrashRecoveryConfig) -> Self {
        pn_crash_recovery_config {
            phi: pn_phi_config::from(&c.phi),
            suspect_phi: c.suspect_phi.unwrap_or(0.0),
            health: pn_health_thresholds::from(&c.health),
            recovery_deadline_us: c.recovery_deadline.total_micros(),
            max_recovery_attempts: c.max_recovery_attempts,
            recovery_heartbeats: c.recovery_heartbeats,
        }
    }
}

impl From<&pn_crash_recovery_config> for CrashRecoveryConfig {
    fn from(c: &pn_crash_recovery_config) -> Self {
        CrashRecoveryConfig {
            phi: PhiConfig::from(&c.phi),
            // Exactly 0 selects the default; anything else (negative, NaN) is validated by the core.
            suspect_phi: if c.suspect_phi == 0.0 { None } else { Some(c.suspect_phi) },
            health: (&c.health).into(),
            recovery_deadline: us(c.recovery_deadline_us),
            max_recovery_attempts: c.max_recovery_attempts,
            recovery_heartbeats: c.recovery_heartbeats,
        }
    }
}

/// Counts of nodes by status, and recent crashes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_health_summary {
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
    /// online / total, 0 when nothing is tracked.
    pub network_health_ratio: f64,
    /// Crashes detected in the last hour (exact to a minute).
    pub recent_crashes: u64,
}

impl From<&HealthSummary> for pn_health_summary {
    fn from(s: &HealthSummary) -> Self {
        pn_health_summary {
            total_nodes: s.total_nodes,
            online_nodes: s.online_nodes,
            suspected_nodes: s.suspected_nodes,
            offline_nodes: s.offline_nodes,
            failed_nodes: s.failed_nodes,
            recovering_nodes: s.recovering_nodes,
            network_health_ratio: s.network_health_ratio,
            recent_crashes: s.recent_crashes,
        }
    }
}
