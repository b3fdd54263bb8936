//! Worker-replacement types of the coordinator: its parameters
//! (`pn_ops_config.workers`), checkpoints, task roles and utilization.

use pouw_netops::workers::UtilizationStats;
use pouw_netops::{Checkpoint, TaskRole};

/// Worker-replacement parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_worker_replacement_config {
    /// Score (0..=10000) of a worker of unknown health; 0: no work for it (default 5000).
    pub unknown_score: u16,
    /// Width of the health bands inside which load decides (default 500); 1 ranks by exact score.
    pub score_band: u16,
}

/// A task's last acknowledged progress.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_checkpoint {
    /// Increases with progress.
    pub sequence: u64,
    /// Digest of the checkpointed state (e.g. SHA-256).
    pub digest: [u8; 32],
}

impl From<&Checkpoint> for pn_checkpoint {
    fn from(c: &Checkpoint) -> Self {
        pn_checkpoint { sequence: c.sequence, digest: c.digest }
    }
}

pub(crate) const NO_CHECKPOINT: pn_checkpoint = pn_checkpoint { sequence: 0, digest: [0; 32] };

/// Splits an optional checkpoint into the has-flag and the struct (zero if absent).
pub(crate) fn checkpoint_to_c(c: Option<&Checkpoint>) -> (bool, pn_checkpoint) {
    (c.is_some(), c.map_or(NO_CHECKPOINT, pn_checkpoint::from))
}

/// The part a worker plays in a task.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_task_role {
    /// Runs the task.
    PN_ROLE_PRIMARY = 0,
    /// Stands by to take over.
    PN_ROLE_BACKUP = 1,
}

crate::convert::mirror_enum!(TaskRole => pn_task_role { Primary => PN_ROLE_PRIMARY, Backup => PN_ROLE_BACKUP });

/// Workers, slots, tasks and replacements, for monitoring.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct pn_utilization_stats {
    /// Known workers.
    pub total_workers: usize,
    /// Workers primary of at least one task.
    pub assigned_workers: usize,
    /// Workers backup of at least one task.
    pub backup_workers: usize,
    /// Quarantined workers.
    pub quarantined_workers: usize,
    /// Slots over all workers.
    pub total_slots: u64,
    /// Slots in use.
    pub used_slots: u64,
    /// used_slots / total_slots, 0 without workers.
    pub utilization_rate: f64,
    /// Tasks with workers.
    pub active_tasks: usize,
    /// Tasks short of primaries.
    pub degraded_tasks: usize,
    /// Replacements in the last hour (exact to a minute).
    pub replacements_last_hour: u64,
    /// Replacements since creation.
    pub replacements_total: u64,
}

impl From<&UtilizationStats> for pn_utilization_stats {
    fn from(s: &UtilizationStats) -> Self {
        pn_utilization_stats {
            total_workers: s.total_workers,
            assigned_workers: s.assigned_workers,
            backup_workers: s.backup_workers,
            quarantined_workers: s.quarantined_workers,
            total_slots: s.total_slots,
            used_slots: s.used_slots,
            utilization_rate: s.utilization_rate,
            active_tasks: s.active_tasks,
            degraded_tasks: s.degraded_tasks,
            replacements_last_hour: s.replacements_last_hour,
            replacements_total: s.replacements_total,
        }
    }
}
