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
    /// The pool cannot be removed while tasks of its type exist.
    PoolInUse {
        /// The pool's task type.
        task_type: TaskType,
        /// Tasks of that type.
        tasks: usize,
    },
}

crate::error::error_impls! {
    PoolError, f;
    PoolError::UnknownPool(t) => ErrorKind::NotFound, write!(f, "no worker pool for task type {t}");
    PoolError::PoolTableFull(e) => e.kind(), write!(f, "cannot add pool {}: {e}", e.rejected);
    PoolError::WorkerTableFull(e) => e.kind(), write!(f, "cannot add worker {}: {e}", e.rejected);
    PoolError::InvalidSlots { slots, max } => ErrorKind::InvalidArgument, write!(f, "{slots} slots is outside 1..={max}");
    PoolError::SlotsBelowLoad { slots, used } => ErrorKind::InvalidState,
        write!(f, "{slots} slots is below the {used} in use");
    PoolError::NotInPool(w) => ErrorKind::NotFound, write!(f, "worker {w} is not in the pool");
    PoolError::PoolInUse { task_type, tasks } => ErrorKind::InvalidState,
        write!(f, "pool {task_type} still has {tasks} task(s); release them first");
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

crate::error::error_impls! {
    AssignError, f;
    AssignError::UnknownPool(t) => ErrorKind::NotFound, write!(f, "no worker pool for task type {t}");
    AssignError::AlreadyAssigned(t) => ErrorKind::InvalidState, write!(f, "task {t} already has workers");
    AssignError::InvalidCount { required, backups, max } => ErrorKind::InvalidArgument, write!(
        f,
        "{required} primaries and {backups} backups: need 1 or more primaries and at most {max} in all"
    );
    AssignError::TaskTableFull(e) => e.kind(), write!(f, "cannot add task {}: {e}", e.rejected);
    // Too few free workers: the pool's capacity is used up, like a full table.
    AssignError::NotEnoughWorkers { required, available } => ErrorKind::CapacityExceeded,
        write!(f, "{required} workers required, {available} available");
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

crate::error::error_impls! {
    CheckpointError, f;
    CheckpointError::UnknownTask(t) => ErrorKind::NotFound, write!(f, "unknown task {t}");
    CheckpointError::NotAPrimary(w) => ErrorKind::InvalidArgument, write!(f, "worker {w} is not a primary of the task");
    CheckpointError::Regression { stored, offered } => ErrorKind::InvalidState,
        write!(f, "checkpoint {offered} is behind the stored checkpoint {stored}");
    CheckpointError::Conflict { sequence } => ErrorKind::InvalidState,
        write!(f, "checkpoint {sequence} already stored with a different digest");
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

crate::error::error_impls! {
    ReplaceError, f;
    ReplaceError::UnknownTask(t) => ErrorKind::NotFound, write!(f, "unknown task {t}");
    ReplaceError::UnknownWorker(w) => ErrorKind::NotFound, write!(f, "unknown worker {w}");
    ReplaceError::NotAssigned(w) => ErrorKind::InvalidState, write!(f, "worker {w} has no role in the task");
}
