//! Replacements and the event queue.

use super::*;

/// What a replacement did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// The task.
    pub task: TaskId,
    /// The failed worker, now quarantined.
    pub failed: NodeId,
    /// The role the failed worker had.
    pub role: TaskRole,
    /// Who took the role over: a promoted backup or a pool worker for a primary,
    /// the refilled backup for a backup; `None` if nobody could.
    pub replacement: Option<NodeId>,
    /// Whether the replacement was a backup of the task.
    pub from_backup: bool,
    /// The checkpoint the replacement resumes from (`None`: from the start).
    pub checkpoint: Option<Checkpoint>,
    /// Backups the task has after the refill.
    pub remaining_backups: u16,
    /// Whether the task now has fewer primaries than required.
    pub degraded: bool,
}

/// One entry of the replacement history ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplacementRecord {
    /// When.
    pub at: Instant,
    /// The task.
    pub task: TaskId,
    /// The failed worker.
    pub failed: NodeId,
    /// Who took over, if anyone.
    pub replacement: Option<NodeId>,
    /// Backups left after the refill.
    pub remaining_backups: u16,
    /// The checkpoint the task resumed from.
    pub checkpoint: Option<Checkpoint>,
}

/// What happened, for the coordinator to forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerEvent {
    /// A failed worker's role was taken over; a new primary resumes from `checkpoint`.
    WorkerReplaced {
        /// When.
        at: Instant,
        /// The task.
        task: TaskId,
        /// The failed worker.
        failed: NodeId,
        /// Its role.
        role: TaskRole,
        /// Who took over.
        replacement: NodeId,
        /// Whether `replacement` was a backup of the task.
        from_backup: bool,
        /// Where the task resumes.
        checkpoint: Option<Checkpoint>,
        /// Backups left after the refill.
        remaining_backups: u16,
    },
    /// A task has fewer primaries than required and no worker could fill the gap.
    TaskDegraded {
        /// When.
        at: Instant,
        /// The task.
        task: TaskId,
        /// Primaries it has.
        primaries: u16,
        /// Primaries it needs.
        required: u16,
    },
    /// A degraded task has all its primaries again.
    TaskRestored {
        /// When.
        at: Instant,
        /// The task.
        task: TaskId,
    },
    /// A worker became a primary of a running task (refill after degradation): one
    /// of the task's live backups if it has any, else a pool worker.
    PrimaryAdded {
        /// When.
        at: Instant,
        /// The task.
        task: TaskId,
        /// The new primary.
        worker: NodeId,
        /// Where it resumes.
        checkpoint: Option<Checkpoint>,
    },
    /// A pool worker became a backup of a running task (refill).
    BackupAdded {
        /// When.
        at: Instant,
        /// The task.
        task: TaskId,
        /// The new backup.
        worker: NodeId,
    },
    /// A worker failed and gets no new work until it recovers.
    WorkerQuarantined {
        /// When.
        at: Instant,
        /// The worker.
        worker: NodeId,
    },
    /// A quarantined worker recovered and may get work again.
    WorkerRecovered {
        /// When.
        at: Instant,
        /// The worker.
        worker: NodeId,
    },
}
impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    pub(super) fn push_event(&mut self, event: WorkerEvent) {
        if self.events.is_full() {
            let _ = self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        if self.events.push_back(event).is_err() {
            // Only possible with E == 0.
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<WorkerEvent> {
        self.events.pop_front()
    }

    /// Events dropped because the queue was full (the oldest go first).
    pub const fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// The retained replacements, oldest first (a ring of the last `H`).
    pub fn history(&self) -> impl Iterator<Item = &ReplacementRecord> + '_ {
        self.history.iter()
    }

    /// Replacements pushed out of the history ring by newer ones.
    pub const fn dropped_history(&self) -> u64 {
        self.dropped_history
    }
}
