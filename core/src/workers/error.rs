//! The errors the workers manager's calls return.

use super::*;

/// Errors of pool and worker registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// No pool for this task type.
    UnknownPool(TaskType),
    /// The pool table is full; nothing changed.
    PoolTableFull(CapacityError<TaskType>),
    /// The worker table is full; nothing changed.
    WorkerTableFull(CapacityError<NodeId>),
    /// Slots must be between 1 and the per-worker maximum.
    InvalidSlots {
        /// Slots asked for.
        slots: u16,
        /// The per-worker maximum (`C`).
        max: usize,
    },
    /// A worker cannot be given fewer slots than it is using.
    SlotsBelowLoad {
        /// Slots asked for.
        slots: u16,
        /// Slots in use.
        used: usize,
    },
    /// The worker is not in this pool.
    NotInPool(NodeId),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::UnknownPool(t) => write!(f, "no worker pool for task type {t}"),
            PoolError::PoolTableFull(e) => write!(f, "cannot add pool {}: {e}", e.rejected),
            PoolError::WorkerTableFull(e) => write!(f, "cannot add worker {}: {e}", e.rejected),
            PoolError::InvalidSlots { slots, max } => write!(f, "{slots} slots is outside 1..={max}"),
            PoolError::SlotsBelowLoad { slots, used } => write!(f, "{slots} slots is below the {used} in use"),
            PoolError::NotInPool(w) => write!(f, "worker {w} is not in the pool"),
        }
    }
}

impl core::error::Error for PoolError {}

impl crate::error::Classify for PoolError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            PoolError::UnknownPool(_) | PoolError::NotInPool(_) => ErrorKind::NotFound,
            PoolError::PoolTableFull(_) | PoolError::WorkerTableFull(_) => ErrorKind::CapacityExceeded,
            PoolError::InvalidSlots { .. } => ErrorKind::InvalidArgument,
            PoolError::SlotsBelowLoad { .. } => ErrorKind::InvalidState,
        }
    }
}

/// Errors of [`WorkerReplacementManager::assign_workers_to_task`]; nothing is assigned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssignError {
    /// No pool for this task type.
    UnknownPool(TaskType),
    /// The task already has workers.
    AlreadyAssigned(TaskId),
    /// Zero primaries, or more workers than a task can hold.
    InvalidCount {
        /// Primaries asked for.
        required: u16,
        /// Backups asked for.
        backups: u16,
        /// Most workers per task (`S`).
        max: usize,
    },
    /// The task table is full.
    TaskTableFull(CapacityError<TaskId>),
    /// Fewer available workers than required primaries.
    NotEnoughWorkers {
        /// Primaries required.
        required: u16,
        /// Workers available in the pool.
        available: u16,
    },
}

impl fmt::Display for AssignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssignError::UnknownPool(t) => write!(f, "no worker pool for task type {t}"),
            AssignError::AlreadyAssigned(t) => write!(f, "task {t} already has workers"),
            AssignError::InvalidCount { required, backups, max } => {
                write!(
                    f,
                    "{required} primaries and {backups} backups: need 1 or more primaries and at most {max} in all"
                )
            }
            AssignError::TaskTableFull(e) => write!(f, "cannot add task {}: {e}", e.rejected),
            AssignError::NotEnoughWorkers { required, available } => {
                write!(f, "{required} workers required, {available} available")
            }
        }
    }
}

impl core::error::Error for AssignError {}

impl crate::error::Classify for AssignError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            AssignError::UnknownPool(_) => ErrorKind::NotFound,
            AssignError::AlreadyAssigned(_) => ErrorKind::InvalidState,
            AssignError::InvalidCount { .. } => ErrorKind::InvalidArgument,
            // Too few free workers: the pool's capacity is used up, like a full table.
            AssignError::TaskTableFull(_) | AssignError::NotEnoughWorkers { .. } => ErrorKind::CapacityExceeded,
        }
    }
}

/// Errors of [`WorkerReplacementManager::record_checkpoint`]; the stored checkpoint is unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointError {
    /// The task has no workers.
    UnknownTask(TaskId),
    /// Only a primary of the task acknowledges progress.
    NotAPrimary(NodeId),
    /// The sequence is lower than the stored one.
    Regression {
        /// Stored sequence.
        stored: u64,
        /// Offered sequence.
        offered: u64,
    },
    /// Same sequence as the stored checkpoint but a different digest.
    Conflict {
        /// The sequence.
        sequence: u64,
    },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::UnknownTask(t) => write!(f, "unknown task {t}"),
            CheckpointError::NotAPrimary(w) => write!(f, "worker {w} is not a primary of the task"),
            CheckpointError::Regression { stored, offered } => {
                write!(f, "checkpoint {offered} is behind the stored checkpoint {stored}")
            }
            CheckpointError::Conflict { sequence } => {
                write!(f, "checkpoint {sequence} already stored with a different digest")
            }
        }
    }
}

impl core::error::Error for CheckpointError {}

impl crate::error::Classify for CheckpointError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            CheckpointError::UnknownTask(_) => ErrorKind::NotFound,
            CheckpointError::NotAPrimary(_) => ErrorKind::InvalidArgument,
            CheckpointError::Regression { .. } | CheckpointError::Conflict { .. } => ErrorKind::InvalidState,
        }
    }
}

/// Errors of replacement, release and recovery; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplaceError {
    /// The task has no workers.
    UnknownTask(TaskId),
    /// The worker is not known.
    UnknownWorker(NodeId),
    /// The worker has no role in the task.
    NotAssigned(NodeId),
}

impl fmt::Display for ReplaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplaceError::UnknownTask(t) => write!(f, "unknown task {t}"),
            ReplaceError::UnknownWorker(w) => write!(f, "unknown worker {w}"),
            ReplaceError::NotAssigned(w) => write!(f, "worker {w} has no role in the task"),
        }
    }
}

impl core::error::Error for ReplaceError {}

impl crate::error::Classify for ReplaceError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            ReplaceError::UnknownTask(_) | ReplaceError::UnknownWorker(_) => ErrorKind::NotFound,
            ReplaceError::NotAssigned(_) => ErrorKind::InvalidState,
        }
    }
}
