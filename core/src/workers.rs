//! `WorkerReplacementManager`: worker pools per task type, primary and backup
//! assignment ranked by health and load, failover that moves a task to a backup
//! from its last checkpoint, quarantine of failed workers, and utilization figures.
//!
//! It follows the crate's [sans-IO contract](crate#the-sans-io-contract): time,
//! method kinds, drain order, errors and capacity.
//!
//! # Rules
//!
//! - A worker has a capacity in task **slots** (default 1). Both roles take a
//!   slot: a backup reserves the capacity it needs to take over, so a failover
//!   can never overload a worker. A worker is never primary and backup of one task.
//! - **Ranking.** A pool orders its workers by a key: available first (live in
//!   the health view, not quarantined, a free slot, score above zero), then the
//!   health score rounded down to a band of [`WorkerConfig::score_band`] (health
//!   differences smaller than a band are noise), then the lower load
//!   (`used / slots`, exact), then the exact score, then the lower id. Within a
//!   band, work spreads to the least-loaded workers: that is the load balancing.
//! - **Health.** Scores come from a [`HealthView`] (the crash-recovery manager or
//!   a host's own). Each pool keeps a binary max-heap of `key << 16 | index`
//!   entries with a position index: the k best workers are read by a best-first
//!   walk down the heap in O(k log k) without touching it, and a key change
//!   (load, health, quarantine) costs O(log n) per pool the worker belongs to.
//!   Scores are cached:
//!   [`WorkerReplacementManager::refresh_health`] re-reads every worker and
//!   rebuilds the heaps (O(pools × n), meant for the coordinator's sweep).
//!   Between sweeps every chosen worker's *status* is checked against the view
//!   (one lookup, no phi computation), so a worker that went offline, failed or
//!   started recovering since the sweep is re-keyed and skipped on the spot;
//!   score changes take effect at the next sweep.
//!   Workers the view does not know score [`WorkerConfig::unknown_score`]
//!   (default half of the maximum, below any fully healthy known worker); set it
//!   to zero to never give them work.
//! - **Failover.** [`WorkerReplacementManager::replace_failed_worker`] quarantines
//!   the failed worker (no new work until [`WorkerReplacementManager::recover_worker`]),
//!   promotes the healthiest live backup (higher score, then lower id) into the
//!   failed primary's place, or else the best pool worker, refills the backups
//!   from the pool, and reports the task's last [`Checkpoint`] so the replacement
//!   resumes from it. With nobody left the task is **degraded** (an event) and is
//!   refilled by [`WorkerReplacementManager::reassign`] when workers return.
//! - Assignment needs every primary; backups are best effort (a shortfall is
//!   refilled later). Operations cost O(k log n) for k workers touched, never a
//!   scan of all tasks; only statistics and the health sweep are O(n).
//! - Events go to a bounded queue drained by [`WorkerReplacementManager::poll_event`];
//!   when it is full the oldest event is dropped and counted.
//! - A worker in no pool and holding no task is forgotten (its quarantine too).
//!
//! # Use from a coordinator
//!
//! On each crash-detection sweep: [`WorkerReplacementManager::handle_worker_failure`]
//! for every crashed worker (replaces it in all its tasks), then
//! [`WorkerReplacementManager::refresh_health`] and [`WorkerReplacementManager::reassign`].
//! When a worker's recovery completes: [`WorkerReplacementManager::recover_worker`].
//! Forward the polled events: `WorkerReplaced` and `PrimaryAdded` carry the
//! checkpoint the new primary resumes from (wire body `TaskAssignment`).

use crate::error::{CapacityError, ConfigError};
use crate::health::{HealthScore, HealthView};
use crate::id::{NodeId, TaskId, TaskType};
use crate::storage::{self, Array, Deque};
use crate::table::IdTable;
use crate::time::{HourCounter, Instant, MonotonicClock};
use core::fmt;
use serde::{Deserialize, Serialize};

/// Slots a worker gets when none are given.
pub const DEFAULT_SLOTS: u16 = 1;

/// "No position" in a pool's index, and the bound that keeps table indices in `u16`.
const NONE: u16 = u16::MAX;

/// Key bit set when a worker can take new work.
const AVAILABLE: u64 = 1 << 45;

/// Most workers per task (`S`): bounds the search in [`WorkerReplacementManager::pick`].
const MAX_TASK_WORKERS: usize = 32;

/// Heap positions a pick may hold as candidates: at most one more than it visits.
const FRONTIER: usize = 2 * MAX_TASK_WORKERS + 2;

/// A task's last acknowledged progress: an opaque sequence and a digest of the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Increases with progress; a lower sequence than the stored one is rejected.
    pub sequence: u64,
    /// Digest of the checkpointed state (e.g. SHA-256 of the model weights).
    pub digest: [u8; 32],
}

/// The part a worker plays in a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskRole {
    /// Runs the task.
    Primary,
    /// Stands by, with a slot reserved, to take over from a failed primary.
    Backup,
}

impl TaskRole {
    /// The lowercase name (`"primary"`, `"backup"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskRole::Primary => "primary",
            TaskRole::Backup => "backup",
        }
    }
}

crate::error::names!(TaskRole, "task role", "primary, backup", [Primary, Backup]);

impl fmt::Display for TaskRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Worker-replacement parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Score of a worker the health view does not know (default 5 000, half of
    /// [`HealthScore::MAX`]); zero means such workers get no work.
    pub unknown_score: HealthScore,
    /// Width of the health bands inside which load decides (default 500, 5 % of
    /// the maximum score); 1 ranks by exact score first.
    pub score_band: u16,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig { unknown_score: HealthScore(5_000), score_band: 500 }
    }
}

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

/// The workers given to a task, best first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment<const S: usize> {
    /// The primaries (all that were required).
    pub primaries: heapless::Vec<NodeId, S>,
    /// The backups (as many as were available, up to the number asked for).
    pub backups: heapless::Vec<NodeId, S>,
}

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

/// A read-only view of one worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerInfo {
    /// Capacity in task slots.
    pub slots: u16,
    /// Slots in use (primary and backup roles).
    pub used: u16,
    /// Tasks it is primary of.
    pub primary_roles: u16,
    /// Tasks it is backup of.
    pub backup_roles: u16,
    /// Cached health score.
    pub score: HealthScore,
    /// Whether it is quarantined after a failure.
    pub quarantined: bool,
    /// Pools it belongs to.
    pub pools: u16,
}

/// Workers, slots, tasks and replacements, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UtilizationStats {
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
    /// `used_slots / total_slots`, 0 without workers.
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

/// Load of one pool, for balancing decisions by the host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Workers in the pool.
    pub workers: usize,
    /// Workers able to take work now.
    pub available: usize,
    /// Slots over the pool's workers.
    pub slots: u64,
    /// Slots in use.
    pub used: u64,
}

#[derive(Clone, Debug)]
struct Worker<const C: usize> {
    id: NodeId,
    slots: u16,
    /// Task indices it serves, one per used slot.
    tasks: heapless::Vec<u16, C>,
    primary_roles: u16,
    backup_roles: u16,
    score: HealthScore,
    live: bool,
    quarantined: bool,
    /// Operation number at which the view was last consulted.
    checked: u64,
    pools: u16,
    /// The ranking key (see [`Worker::compute_key`]), as stored in the pools' heaps.
    key: u64,
}

impl<const C: usize> Worker<C> {
    fn used(&self) -> u16 {
        u16::try_from(self.tasks.len()).unwrap_or(u16::MAX)
    }

    fn available(&self) -> bool {
        self.live && !self.quarantined && self.score.0 > 0 && self.used() < self.slots
    }

    /// The 46-bit ranking key, higher is better: available (bit 45), score band
    /// (14 bits), free capacity `1 - used/slots` in units of 2^-16 (17 bits;
    /// exact ordering for up to 256 slots), exact score (14 bits).
    fn compute_key(&self, band: u16) -> u64 {
        let score = u64::from(self.score.0.min(HealthScore::MAX.0));
        let band = score / u64::from(band.max(1));
        let slots = u64::from(self.slots.max(1));
        let load = ((u64::from(self.used()) << 16) / slots).min(1 << 16);
        let free = (1 << 16) - load;
        let available = if self.available() { AVAILABLE } else { 0 };
        available | (band << 31) | (free << 14) | score
    }

    fn info(&self) -> WorkerInfo {
        WorkerInfo {
            slots: self.slots,
            used: self.used(),
            primary_roles: self.primary_roles,
            backup_roles: self.backup_roles,
            score: self.score,
            quarantined: self.quarantined,
            pools: self.pools,
        }
    }
}

fn worker<const C: usize>(workers: &[Option<Worker<C>>], i: u16) -> Option<&Worker<C>> {
    workers.get(usize::from(i)).and_then(Option::as_ref)
}

/// A heap entry: the worker's key above its table index, so comparisons stay inside the heap array.
const fn entry(key: u64, idx: u16) -> u64 {
    (key << 16) | idx as u64
}

/// The table index in a heap entry.
const fn entry_index(e: u64) -> u16 {
    (e & 0xffff) as u16
}

/// Whether heap entry `a` ranks before `b`: higher key, then lower id.
fn better<const C: usize>(workers: &[Option<Worker<C>>], a: u64, b: u64) -> bool {
    let (ka, kb) = (a >> 16, b >> 16);
    if ka != kb {
        return ka > kb;
    }
    let (ia, ib) = (entry_index(a), entry_index(b));
    match (worker(workers, ia), worker(workers, ib)) {
        (Some(x), Some(y)) => x.id < y.id,
        _ => ia < ib,
    }
}

/// One task type's workers in a binary max-heap of entries with a position index.
/// All `P` pools are built with the manager (so their storage is reserved
/// then); registering a pool names the first unnamed one.
struct Pool<const W: usize> {
    /// `None` until the pool is registered.
    task_type: Option<TaskType>,
    heap: storage::Vec<u64, W>,
    pos: Array<u16, W>,
}

impl<const W: usize> Pool<W> {
    fn new() -> Self {
        Pool { task_type: None, heap: storage::Vec::new(), pos: Array::filled(NONE) }
    }

    fn contains(&self, w: u16) -> bool {
        self.pos.get(usize::from(w)).is_some_and(|p| *p != NONE)
    }

    fn set(&mut self, i: usize, e: u64) {
        if let Some(slot) = self.heap.get_mut(i) {
            *slot = e;
        }
        if let Some(p) = self.pos.get_mut(usize::from(entry_index(e))) {
            *p = u16::try_from(i).unwrap_or(NONE);
        }
    }

    fn sift_up<const C: usize>(&mut self, workers: &[Option<Worker<C>>], mut i: usize) {
        let Some(&e) = self.heap.get(i) else { return };
        while i > 0 {
            let parent = (i - 1) / 2;
            let Some(&pe) = self.heap.get(parent) else { break };
            if !better(workers, e, pe) {
                break;
            }
            self.set(i, pe);
            i = parent;
        }
        self.set(i, e);
    }

    fn sift_down<const C: usize>(&mut self, workers: &[Option<Worker<C>>], mut i: usize) {
        let Some(&e) = self.heap.get(i) else { return };
        loop {
            let left = 2 * i + 1;
            let Some(&le) = self.heap.get(left) else { break };
            let (c, ce) = match self.heap.get(left + 1) {
                Some(&re) if better(workers, re, le) => (left + 1, re),
                _ => (left, le),
            };
            if !better(workers, ce, e) {
                break;
            }
            self.set(i, ce);
            i = c;
        }
        self.set(i, e);
    }

    /// Re-files worker `w` under `key`.
    fn update<const C: usize>(&mut self, workers: &[Option<Worker<C>>], w: u16, key: u64) {
        let Some(&p) = self.pos.get(usize::from(w)) else { return };
        if p == NONE {
            return;
        }
        self.set(usize::from(p), entry(key, w));
        self.sift_up(workers, usize::from(p));
        if let Some(&p) = self.pos.get(usize::from(w)) {
            self.sift_down(workers, usize::from(p));
        }
    }

    fn insert<const C: usize>(&mut self, workers: &[Option<Worker<C>>], w: u16, key: u64) -> bool {
        if self.contains(w) || self.heap.push(entry(key, w)).is_err() {
            return false;
        }
        let last = self.heap.len() - 1;
        self.set(last, entry(key, w));
        self.sift_up(workers, last);
        true
    }

    fn remove<const C: usize>(&mut self, workers: &[Option<Worker<C>>], w: u16) -> bool {
        let Some(p) = self.pos.get_mut(usize::from(w)) else { return false };
        let at = usize::from(*p);
        if *p == NONE {
            return false;
        }
        *p = NONE;
        let Some(last) = self.heap.pop() else { return true };
        if at < self.heap.len() {
            self.set(at, last);
            self.sift_up(workers, at);
            if let Some(&p) = self.pos.get(usize::from(entry_index(last))) {
                self.sift_down(workers, usize::from(p));
            }
        }
        true
    }

    /// Re-reads every member's key and restores heap order: O(pool size).
    fn rebuild<const C: usize>(&mut self, workers: &[Option<Worker<C>>]) {
        for e in self.heap.iter_mut() {
            let idx = entry_index(*e);
            if let Some(w) = worker(workers, idx) {
                *e = entry(w.key, idx);
            }
        }
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(workers, i);
        }
    }
}

#[derive(Clone, Debug)]
struct Task<const S: usize> {
    id: TaskId,
    pool: u16,
    required: u16,
    wanted_backups: u16,
    primaries: heapless::Vec<u16, S>,
    backups: heapless::Vec<u16, S>,
    checkpoint: Option<Checkpoint>,
    checkpoint_at: Instant,
    degraded: bool,
    needy: bool,
}

impl<const S: usize> Task<S> {
    fn members(&self) -> impl Iterator<Item = u16> + '_ {
        self.primaries.iter().chain(self.backups.iter()).copied()
    }
}

/// A read-only view of one task's workers.
pub struct TaskView<'a, const C: usize, const S: usize> {
    workers: &'a [Option<Worker<C>>],
    task: &'a Task<S>,
    task_type: &'a TaskType,
}

impl<'a, const C: usize, const S: usize> TaskView<'a, C, S> {
    fn ids(&self, list: &'a [u16]) -> impl Iterator<Item = &'a NodeId> + 'a {
        let workers = self.workers;
        list.iter().filter_map(move |w| worker(workers, *w).map(|r| &r.id))
    }

    /// The primaries, in the order they were placed (a replacement takes the failed one's place).
    pub fn primaries(&self) -> impl Iterator<Item = &'a NodeId> + 'a {
        self.ids(self.task.primaries.as_slice())
    }

    /// The backups, best first at assignment, refills appended.
    pub fn backups(&self) -> impl Iterator<Item = &'a NodeId> + 'a {
        self.ids(self.task.backups.as_slice())
    }

    /// The task's type.
    pub fn task_type(&self) -> &'a TaskType {
        self.task_type
    }

    /// Primaries required.
    pub fn required(&self) -> u16 {
        self.task.required
    }

    /// Backups wanted.
    pub fn wanted_backups(&self) -> u16 {
        self.task.wanted_backups
    }

    /// The last acknowledged checkpoint and when it was recorded.
    pub fn checkpoint(&self) -> Option<(Checkpoint, Instant)> {
        self.task.checkpoint.map(|c| (c, self.task.checkpoint_at))
    }

    /// Whether the task has fewer primaries than required.
    pub fn is_degraded(&self) -> bool {
        self.task.degraded
    }
}

/// Whether the view still lets `id` take work: one status lookup, no score computation.
fn still_live<V: HealthView + ?Sized>(config: &WorkerConfig, view: &V, id: &NodeId) -> bool {
    match view.status(id) {
        None => config.unknown_score.0 > 0,
        Some(status) => status.is_assignable(),
    }
}

/// Reads a worker's liveness and score from the view (see the module docs for unknown workers).
fn observe<V: HealthView + ?Sized>(config: &WorkerConfig, view: &V, id: &NodeId, now: Instant) -> (bool, HealthScore) {
    match view.status(id) {
        None => (config.unknown_score.0 > 0, config.unknown_score),
        Some(status) if status.is_assignable() => {
            (true, view.health_score(id, now).unwrap_or(config.unknown_score).min(HealthScore::MAX))
        }
        Some(_) => (false, HealthScore::ZERO),
    }
}

/// Supervises up to `W` workers (below 65535) in up to `P` pools, and up to
/// `T` tasks (below 65535) of at most `S` (≤ 32) workers
/// each; a worker has at most `C` (≤ 256) slots. Keeps the last `H` replacements
/// and queues up to `E` events.
pub struct WorkerReplacementManager<
    const W: usize,
    const T: usize,
    const P: usize,
    const S: usize,
    const C: usize,
    const H: usize,
    const E: usize,
> {
    config: WorkerConfig,
    clock: MonotonicClock,
    workers: storage::Vec<Option<Worker<C>>, W>,
    free_workers: storage::Vec<u16, W>,
    worker_index: IdTable<NodeId, u16, W>,
    pools: heapless::Vec<Pool<W>, P>,
    tasks: storage::Vec<Option<Task<S>>, T>,
    free_tasks: storage::Vec<u16, T>,
    task_index: IdTable<TaskId, u16, T>,
    /// Tasks short of primaries or backups, in the order they became so.
    needy: storage::Vec<u16, T>,
    /// Scratch for [`WorkerReplacementManager::reassign`]: the needy list as it
    /// was when the pass began (kept here so a pass allocates nothing).
    needy_pass: storage::Vec<u16, T>,
    events: Deque<WorkerEvent, E>,
    dropped_events: u64,
    history: Deque<ReplacementRecord, H>,
    dropped_history: u64,
    replacements: HourCounter,
    op: u64,
}

impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    /// A manager with `config`, or why the config or the capacities are invalid.
    ///
    /// With `alloc` the tables (every pool's included) are allocated here,
    /// once, at full capacity; without it they are inline.
    pub fn new(config: WorkerConfig) -> Result<Self, ConfigError> {
        Self::validate(&config)?;
        let mut pools = heapless::Vec::new();
        for _ in 0..P {
            let _ = pools.push(Pool::new());
        }
        Ok(WorkerReplacementManager {
            config,
            clock: MonotonicClock::new(),
            workers: storage::Vec::new(),
            free_workers: storage::Vec::new(),
            worker_index: IdTable::new(),
            pools,
            tasks: storage::Vec::new(),
            free_tasks: storage::Vec::new(),
            task_index: IdTable::new(),
            needy: storage::Vec::new(),
            needy_pass: storage::Vec::new(),
            events: Deque::new(),
            dropped_events: 0,
            history: Deque::new(),
            dropped_history: 0,
            replacements: HourCounter::hourly(),
            op: 0,
        })
    }

    /// [`WorkerReplacementManager::new`] in a box. With `alloc` every table is
    /// a heap block already, so the struct moved into the box is small
    /// whatever the capacities.
    #[cfg(feature = "alloc")]
    pub fn new_boxed(config: WorkerConfig) -> Result<alloc::boxed::Box<Self>, ConfigError> {
        Self::new(config).map(alloc::boxed::Box::new)
    }

    fn validate(config: &WorkerConfig) -> Result<(), ConfigError> {
        if config.score_band == 0 {
            return Err(ConfigError::new("score_band", "at least 1"));
        }
        if W >= usize::from(NONE) || T >= usize::from(NONE) {
            return Err(ConfigError::new("W, T", "below 65535"));
        }
        if S == 0 || S > MAX_TASK_WORKERS {
            return Err(ConfigError::new("S", "between 1 and 32"));
        }
        if C == 0 || C > 256 {
            return Err(ConfigError::new("C", "between 1 and 256"));
        }
        Ok(())
    }

    /// The configuration.
    pub const fn config(&self) -> &WorkerConfig {
        &self.config
    }

    // ----- pools and workers -------------------------------------------------

    /// Registers a pool for `task_type`; `Ok(false)` if it already exists.
    pub fn register_pool(&mut self, task_type: &TaskType) -> Result<bool, PoolError> {
        if self.pool_index(task_type).is_some() {
            return Ok(false);
        }
        let Some(pool) = self.pools.iter_mut().find(|p| p.task_type.is_none()) else {
            return Err(PoolError::PoolTableFull(CapacityError::new(task_type.clone(), P)));
        };
        pool.task_type = Some(task_type.clone());
        Ok(true)
    }

    fn pool_index(&self, task_type: &TaskType) -> Option<usize> {
        self.pools.iter().position(|p| p.task_type.as_ref() == Some(task_type))
    }

    /// Adds `worker` to the pool of `task_type` with [`DEFAULT_SLOTS`] slots (or
    /// its current slots if already known); `Ok(false)` if it was already in the pool.
    pub fn add_worker(&mut self, task_type: &TaskType, worker: &NodeId) -> Result<bool, PoolError> {
        let slots = self.worker_index.get(worker).and_then(|i| self.worker_ref(*i)).map_or(DEFAULT_SLOTS, |w| w.slots);
        self.add_worker_with_slots(task_type, worker, slots)
    }

    /// Adds `worker` to the pool of `task_type` and sets its capacity to `slots`
    /// (a worker has one capacity across all its pools); `Ok(false)` if it was
    /// already in the pool (its slots are still updated).
    pub fn add_worker_with_slots(
        &mut self,
        task_type: &TaskType,
        worker: &NodeId,
        slots: u16,
    ) -> Result<bool, PoolError> {
        let pool = self.pool_index(task_type).ok_or_else(|| PoolError::UnknownPool(task_type.clone()))?;
        if slots == 0 || usize::from(slots) > C {
            return Err(PoolError::InvalidSlots { slots, max: C });
        }
        let idx = match self.worker_index.get(worker).copied() {
            Some(idx) => {
                let used = self.worker_ref(idx).map_or(0, |w| w.tasks.len());
                if usize::from(slots) < used {
                    return Err(PoolError::SlotsBelowLoad { slots, used });
                }
                idx
            }
            None => self.new_worker(worker)?,
        };
        if let Some(w) = self.worker_mut(idx) {
            w.slots = slots;
        }
        let added = match self.pools.get_mut(pool) {
            Some(p) if !p.contains(idx) => {
                let key = self.workers.get(usize::from(idx)).and_then(Option::as_ref).map_or(0, |w| w.key);
                let inserted = p.insert(&self.workers, idx, key);
                if inserted && let Some(w) = self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut) {
                    w.pools = w.pools.saturating_add(1);
                }
                inserted
            }
            _ => false,
        };
        self.rekey(idx);
        Ok(added)
    }

    fn new_worker(&mut self, id: &NodeId) -> Result<u16, PoolError> {
        let full = || PoolError::WorkerTableFull(CapacityError::new(id.clone(), W));
        let idx = match self.free_workers.last() {
            Some(&i) => i,
            None => u16::try_from(self.workers.len()).map_err(|_| full())?,
        };
        if self.worker_index.len() >= W || usize::from(idx) >= W {
            return Err(full());
        }
        let record = Worker {
            id: id.clone(),
            slots: DEFAULT_SLOTS,
            tasks: heapless::Vec::new(),
            primary_roles: 0,
            backup_roles: 0,
            score: self.config.unknown_score,
            live: self.config.unknown_score.0 > 0,
            quarantined: false,
            checked: 0,
            pools: 0,
            key: 0,
        };
        if self.worker_index.insert(id.clone(), idx).is_err() {
            return Err(full());
        }
        if self.free_workers.pop().is_none() && self.workers.push(None).is_err() {
            let _ = self.worker_index.remove(id);
            return Err(full());
        }
        if let Some(slot) = self.workers.get_mut(usize::from(idx)) {
            *slot = Some(record);
        }
        Ok(idx)
    }

    /// Removes `worker` from the pool of `task_type`. Its running assignments
    /// stay until released or replaced; a worker in no pool and no task is forgotten.
    pub fn remove_worker(&mut self, task_type: &TaskType, worker: &NodeId) -> Result<(), PoolError> {
        let pool = self.pool_index(task_type).ok_or_else(|| PoolError::UnknownPool(task_type.clone()))?;
        let idx = self.worker_index.get(worker).copied().ok_or_else(|| PoolError::NotInPool(worker.clone()))?;
        let removed = self.pools.get_mut(pool).is_some_and(|p| p.remove(&self.workers, idx));
        if !removed {
            return Err(PoolError::NotInPool(worker.clone()));
        }
        if let Some(w) = self.worker_mut(idx) {
            w.pools = w.pools.saturating_sub(1);
        }
        self.maybe_forget(idx);
        Ok(())
    }

    fn maybe_forget(&mut self, idx: u16) {
        let Some(w) = self.worker_ref(idx) else { return };
        if w.pools > 0 || !w.tasks.is_empty() {
            return;
        }
        let id = w.id.clone();
        let _ = self.worker_index.remove(&id);
        if let Some(slot) = self.workers.get_mut(usize::from(idx)) {
            *slot = None;
        }
        // Cannot fail: at most W slots exist, each freed once.
        let _ = self.free_workers.push(idx);
    }

    fn worker_ref(&self, idx: u16) -> Option<&Worker<C>> {
        worker(&self.workers, idx)
    }

    fn worker_mut(&mut self, idx: u16) -> Option<&mut Worker<C>> {
        self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut)
    }

    fn task_ref(&self, idx: u16) -> Option<&Task<S>> {
        self.tasks.get(usize::from(idx)).and_then(Option::as_ref)
    }

    fn task_mut(&mut self, idx: u16) -> Option<&mut Task<S>> {
        self.tasks.get_mut(usize::from(idx)).and_then(Option::as_mut)
    }

    /// Recomputes the worker's key and restores heap order in every pool it is in.
    fn rekey(&mut self, idx: u16) {
        let band = self.config.score_band;
        let Some(w) = self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut) else { return };
        let key = w.compute_key(band);
        if key == w.key {
            return;
        }
        w.key = key;
        let mut left = w.pools;
        for pool in self.pools.iter_mut() {
            if left == 0 {
                break;
            }
            if pool.contains(idx) {
                pool.update(&self.workers, idx, key);
                left -= 1;
            }
        }
    }

    /// Re-reads every worker's health from `view` and re-ranks every pool:
    /// O(workers + pools × pool size). Call it on the coordinator's sweep.
    pub fn refresh_health<V: HealthView + ?Sized>(&mut self, now: Instant, view: &V) {
        let now = self.clock.observe(now);
        let band = self.config.score_band;
        for w in self.workers.iter_mut().flatten() {
            let (live, score) = observe(&self.config, view, &w.id, now);
            w.live = live;
            w.score = score;
            w.key = w.compute_key(band);
        }
        for pool in self.pools.iter_mut() {
            pool.rebuild(&self.workers);
        }
    }

    /// Appends up to `count` of the best available workers of `pool` that are
    /// neither in `exclude` nor already in `out` to `out`; returns how many.
    ///
    /// A best-first walk down the pool's heap (a frontier of heap positions)
    /// reads the k best in O(k log k) without changing the heap. Each candidate's
    /// status is checked against `view` once per operation; one that is no longer
    /// assignable is re-keyed (O(log n)) and the walk starts over.
    fn pick<V: HealthView + ?Sized>(
        &mut self,
        pool: usize,
        view: &V,
        count: usize,
        exclude: &[u16],
        out: &mut heapless::Vec<u16, S>,
    ) -> usize {
        let mut taken = 0;
        'walk: loop {
            let mut frontier: heapless::Vec<usize, FRONTIER> = heapless::Vec::new();
            if self.pools.get(pool).is_some_and(|p| !p.heap.is_empty()) {
                let _ = frontier.push(0);
            }
            while taken < count {
                let Some(heap) = self.pools.get(pool).map(|p| p.heap.as_slice()) else { return taken };
                let workers = self.workers.as_slice();
                let mut best: Option<(usize, u64)> = None;
                for (fi, &pos) in frontier.iter().enumerate() {
                    let Some(&e) = heap.get(pos) else { continue };
                    if best.is_none_or(|(_, b)| better(workers, e, b)) {
                        best = Some((fi, e));
                    }
                }
                let Some((fi, e)) = best else { return taken };
                if (e >> 16) & AVAILABLE == 0 {
                    // Everything below is ranked lower still: nobody else is available.
                    return taken;
                }
                let pos = frontier.swap_remove(fi);
                for child in [2 * pos + 1, 2 * pos + 2] {
                    if child < heap.len() {
                        // Cannot fail: the frontier holds at most one more position than
                        // were visited, and a walk visits at most 2 × S + 1 (S <= MAX_TASK_WORKERS).
                        let _ = frontier.push(child);
                    }
                }
                let idx = entry_index(e);
                if exclude.contains(&idx) || out.contains(&idx) {
                    continue;
                }
                let op = self.op;
                let Some(w) = self.workers.get_mut(usize::from(idx)).and_then(Option::as_mut) else { continue };
                if w.checked != op {
                    w.checked = op;
                    if !still_live(&self.config, view, &w.id) {
                        w.live = false;
                        w.score = HealthScore::ZERO;
                        self.rekey(idx);
                        continue 'walk;
                    }
                }
                if out.push(idx).is_err() {
                    return taken;
                }
                taken += 1;
            }
            return taken;
        }
    }

    /// Gives `worker` a role in `task` (the caller checked it has a free slot) and re-files it.
    fn attach(&mut self, idx: u16, task: u16, role: TaskRole) {
        if let Some(w) = self.worker_mut(idx) {
            // Cannot fail: a picked worker has `tasks.len() < slots <= C`.
            let _ = w.tasks.push(task);
            match role {
                TaskRole::Primary => w.primary_roles = w.primary_roles.saturating_add(1),
                TaskRole::Backup => w.backup_roles = w.backup_roles.saturating_add(1),
            }
        }
        self.rekey(idx);
    }

    /// Takes `worker`'s role in `task` away and frees its slot.
    fn detach(&mut self, idx: u16, task: u16, role: TaskRole) {
        if let Some(w) = self.worker_mut(idx) {
            if let Some(i) = w.tasks.iter().position(|t| *t == task) {
                w.tasks.swap_remove(i);
            }
            match role {
                TaskRole::Primary => w.primary_roles = w.primary_roles.saturating_sub(1),
                TaskRole::Backup => w.backup_roles = w.backup_roles.saturating_sub(1),
            }
        }
        self.rekey(idx);
    }

    fn id_of(&self, idx: u16) -> Option<NodeId> {
        self.worker_ref(idx).map(|w| w.id.clone())
    }

    fn push_event(&mut self, event: WorkerEvent) {
        if self.events.is_full() {
            let _ = self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        if self.events.push_back(event).is_err() {
            // Only possible with E == 0.
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
    }

    // ----- assignment ---------------------------------------------------------

    /// Gives `task` `required` primaries and up to `backups` backups from the pool
    /// of `task_type`, the best-ranked first. All primaries or nothing: with too
    /// few available workers the error says how many, and nothing is assigned.
    /// Backups are best effort; a shortfall is refilled by [`Self::reassign`].
    pub fn assign_workers_to_task<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        task: &TaskId,
        task_type: &TaskType,
        required: u16,
        backups: u16,
        view: &V,
    ) -> Result<Assignment<S>, AssignError> {
        let now = self.clock.observe(now);
        let pool = self.pool_index(task_type).ok_or_else(|| AssignError::UnknownPool(task_type.clone()))?;
        if required == 0 || usize::from(required) + usize::from(backups) > S {
            return Err(AssignError::InvalidCount { required, backups, max: S });
        }
        if self.task_index.contains_key(task) {
            return Err(AssignError::AlreadyAssigned(task.clone()));
        }
        let idx = match self.free_tasks.last() {
            Some(&i) => Some(i),
            None => u16::try_from(self.tasks.len()).ok().filter(|i| usize::from(*i) < T),
        };
        let Some(t) = idx.filter(|_| self.task_index.len() < T) else {
            return Err(AssignError::TaskTableFull(CapacityError::new(task.clone(), T)));
        };
        self.op = self.op.wrapping_add(1);
        let mut primaries = heapless::Vec::new();
        let got = self.pick(pool, view, usize::from(required), &[], &mut primaries);
        if got < usize::from(required) {
            return Err(AssignError::NotEnoughWorkers { required, available: u16::try_from(got).unwrap_or(0) });
        }
        let mut standby = heapless::Vec::new();
        self.pick(pool, view, usize::from(backups), &primaries, &mut standby);
        let record = Task {
            id: task.clone(),
            pool: u16::try_from(pool).unwrap_or(0),
            required,
            wanted_backups: backups,
            primaries: primaries.clone(),
            backups: standby.clone(),
            checkpoint: None,
            checkpoint_at: now,
            degraded: false,
            needy: false,
        };
        if self.task_index.insert(task.clone(), t).is_err()
            || (self.free_tasks.pop().is_none() && self.tasks.push(None).is_err())
        {
            // Unreachable given the checks above; undo and report the table as full.
            let _ = self.task_index.remove(task);
            return Err(AssignError::TaskTableFull(CapacityError::new(task.clone(), T)));
        }
        if let Some(slot) = self.tasks.get_mut(usize::from(t)) {
            *slot = Some(record);
        }
        let mut result = Assignment { primaries: heapless::Vec::new(), backups: heapless::Vec::new() };
        for &w in &primaries {
            self.attach(w, t, TaskRole::Primary);
            if let Some(id) = self.id_of(w) {
                let _ = result.primaries.push(id);
            }
        }
        for &w in &standby {
            self.attach(w, t, TaskRole::Backup);
            if let Some(id) = self.id_of(w) {
                let _ = result.backups.push(id);
            }
        }
        self.update_flags(now, t);
        Ok(result)
    }

    /// Frees every worker of `task` and forgets the task; returns how many workers it had.
    pub fn release_task_workers(&mut self, task: &TaskId) -> Result<usize, ReplaceError> {
        let t = self.task_index.get(task).copied().ok_or_else(|| ReplaceError::UnknownTask(task.clone()))?;
        let Some(record) = self.tasks.get_mut(usize::from(t)).and_then(Option::take) else {
            return Err(ReplaceError::UnknownTask(task.clone()));
        };
        let _ = self.task_index.remove(task);
        // Cannot fail: at most T slots exist, each freed once.
        let _ = self.free_tasks.push(t);
        if let Some(i) = self.needy.iter().position(|n| *n == t) {
            self.needy.remove(i);
        }
        let released = record.primaries.len() + record.backups.len();
        for &w in &record.primaries {
            self.detach(w, t, TaskRole::Primary);
            self.maybe_forget(w);
        }
        for &w in &record.backups {
            self.detach(w, t, TaskRole::Backup);
            self.maybe_forget(w);
        }
        Ok(released)
    }

    /// Records `checkpoint` as `task`'s last acknowledged progress, reported by its primary `worker`.
    /// A lower sequence than the stored one is rejected; the same one is accepted
    /// again only with the same digest.
    pub fn record_checkpoint(
        &mut self,
        now: Instant,
        task: &TaskId,
        worker: &NodeId,
        checkpoint: Checkpoint,
    ) -> Result<(), CheckpointError> {
        let now = self.clock.observe(now);
        let t = self.task_index.get(task).copied().ok_or_else(|| CheckpointError::UnknownTask(task.clone()))?;
        let w = self.worker_index.get(worker).copied();
        let record = self.task_ref(t).ok_or_else(|| CheckpointError::UnknownTask(task.clone()))?;
        if !w.is_some_and(|w| record.primaries.contains(&w)) {
            return Err(CheckpointError::NotAPrimary(worker.clone()));
        }
        if let Some(stored) = record.checkpoint {
            if checkpoint.sequence < stored.sequence {
                return Err(CheckpointError::Regression { stored: stored.sequence, offered: checkpoint.sequence });
            }
            if checkpoint.sequence == stored.sequence {
                return if checkpoint.digest == stored.digest {
                    Ok(())
                } else {
                    Err(CheckpointError::Conflict { sequence: stored.sequence })
                };
            }
        }
        if let Some(record) = self.task_mut(t) {
            record.checkpoint = Some(checkpoint);
            record.checkpoint_at = now;
        }
        Ok(())
    }

    // ----- failover -----------------------------------------------------------

    /// Replaces `failed` in `task`: quarantines it, hands a failed primary's
    /// place to the healthiest live backup (or the best pool worker), refills
    /// the backups from the pool, and reports the checkpoint to resume from.
    /// With nobody left the task is degraded (an event), never dropped.
    pub fn replace_failed_worker<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        failed: &NodeId,
        task: &TaskId,
        view: &V,
    ) -> Result<Replacement, ReplaceError> {
        let now = self.clock.observe(now);
        let t = self.task_index.get(task).copied().ok_or_else(|| ReplaceError::UnknownTask(task.clone()))?;
        let w = self.worker_index.get(failed).copied().ok_or_else(|| ReplaceError::UnknownWorker(failed.clone()))?;
        self.replace_in(now, w, t, view).ok_or_else(|| ReplaceError::NotAssigned(failed.clone()))
    }

    /// Replaces `failed` in every task it serves (primary or backup), in the
    /// order it took them on; returns what each replacement did.
    pub fn handle_worker_failure<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        failed: &NodeId,
        view: &V,
    ) -> Result<heapless::Vec<Replacement, C>, ReplaceError> {
        let now = self.clock.observe(now);
        let w = self.worker_index.get(failed).copied().ok_or_else(|| ReplaceError::UnknownWorker(failed.clone()))?;
        let tasks = self.worker_ref(w).map(|r| r.tasks.clone()).unwrap_or_default();
        let mut done = heapless::Vec::new();
        self.quarantine(now, w);
        for t in tasks {
            if let Some(r) = self.replace_in(now, w, t, view) {
                let _ = done.push(r);
            }
        }
        Ok(done)
    }

    fn quarantine(&mut self, now: Instant, w: u16) {
        let Some(rec) = self.worker_mut(w) else { return };
        if rec.quarantined {
            return;
        }
        rec.quarantined = true;
        let worker = rec.id.clone();
        self.rekey(w);
        self.push_event(WorkerEvent::WorkerQuarantined { at: now, worker });
    }

    fn replace_in<V: HealthView + ?Sized>(&mut self, now: Instant, w: u16, t: u16, view: &V) -> Option<Replacement> {
        let record = self.task_ref(t)?;
        let role = if record.primaries.contains(&w) {
            TaskRole::Primary
        } else if record.backups.contains(&w) {
            TaskRole::Backup
        } else {
            return None;
        };
        let pool = usize::from(record.pool);
        let members: heapless::Vec<u16, S> = record.members().collect();
        self.op = self.op.wrapping_add(1);
        self.quarantine(now, w);
        let mut slot = None;
        if let Some(record) = self.task_mut(t) {
            match role {
                TaskRole::Primary => {
                    slot = record.primaries.iter().position(|p| *p == w);
                    if let Some(i) = slot {
                        record.primaries.remove(i);
                    }
                }
                TaskRole::Backup => {
                    if let Some(i) = record.backups.iter().position(|b| *b == w) {
                        record.backups.remove(i);
                    }
                }
            }
        }
        self.detach(w, t, role);
        let mut replacement = None;
        let mut from_backup = false;
        let mut picked: heapless::Vec<u16, S> = heapless::Vec::new();
        if role == TaskRole::Primary {
            let at = slot.unwrap_or(0);
            if let Some(b) = self.healthiest_backup(t, view) {
                if let Some(record) = self.task_mut(t) {
                    if let Some(i) = record.backups.iter().position(|x| *x == b) {
                        record.backups.remove(i);
                    }
                    let at = at.min(record.primaries.len());
                    let _ = record.primaries.insert(at, b);
                }
                if let Some(rec) = self.worker_mut(b) {
                    rec.backup_roles = rec.backup_roles.saturating_sub(1);
                    rec.primary_roles = rec.primary_roles.saturating_add(1);
                }
                replacement = Some(b);
                from_backup = true;
            } else if self.pick(pool, view, 1, &members, &mut picked) == 1
                && let Some(&p) = picked.first()
            {
                self.attach(p, t, TaskRole::Primary);
                if let Some(record) = self.task_mut(t) {
                    let at = at.min(record.primaries.len());
                    let _ = record.primaries.insert(at, p);
                }
                replacement = Some(p);
            }
        }
        let first_refill = picked.len();
        let wanted = self.task_ref(t).map_or(0, |r| usize::from(r.wanted_backups).saturating_sub(r.backups.len()));
        self.pick(pool, view, wanted, &members, &mut picked);
        let refills: heapless::Vec<u16, S> = picked.iter().skip(first_refill).copied().collect();
        for &b in &refills {
            self.attach(b, t, TaskRole::Backup);
            if let Some(record) = self.task_mut(t) {
                let _ = record.backups.push(b);
            }
        }
        if role == TaskRole::Backup {
            replacement = refills.first().copied();
        }
        let record = self.task_ref(t)?;
        let task = record.id.clone();
        let checkpoint = record.checkpoint;
        let remaining_backups = u16::try_from(record.backups.len()).unwrap_or(u16::MAX);
        let failed = self.id_of(w)?;
        let replacement = replacement.and_then(|r| self.id_of(r));
        if let Some(r) = &replacement {
            self.push_event(WorkerEvent::WorkerReplaced {
                at: now,
                task: task.clone(),
                failed: failed.clone(),
                role,
                replacement: r.clone(),
                from_backup,
                checkpoint,
                remaining_backups,
            });
        }
        // A failed backup's first refill is its replacement, already reported above.
        let skip = usize::from(role == TaskRole::Backup);
        for &b in refills.iter().skip(skip) {
            if let Some(worker) = self.id_of(b) {
                self.push_event(WorkerEvent::BackupAdded { at: now, task: task.clone(), worker });
            }
        }
        self.update_flags(now, t);
        let degraded = self.task_ref(t).is_some_and(|r| r.degraded);
        if self.history.is_full() {
            let _ = self.history.pop_front();
            self.dropped_history = self.dropped_history.saturating_add(1);
        }
        let record = ReplacementRecord {
            at: now,
            task: task.clone(),
            failed: failed.clone(),
            replacement: replacement.clone(),
            remaining_backups,
            checkpoint,
        };
        if self.history.push_back(record).is_err() {
            // Only possible with H == 0.
            self.dropped_history = self.dropped_history.saturating_add(1);
        }
        self.replacements.record(now);
        self.maybe_forget(w);
        Some(Replacement { task, failed, role, replacement, from_backup, checkpoint, remaining_backups, degraded })
    }

    /// The task's live, unquarantined backup with the highest score (then lowest
    /// id). Liveness is checked against `view` now; scores are the cached ones.
    fn healthiest_backup<V: HealthView + ?Sized>(&mut self, t: u16, view: &V) -> Option<u16> {
        let backups = self.task_ref(t)?.backups.clone();
        let mut best: Option<(HealthScore, u16)> = None;
        for b in backups {
            let Some(rec) = self.workers.get_mut(usize::from(b)).and_then(Option::as_mut) else { continue };
            if rec.live && !still_live(&self.config, view, &rec.id) {
                rec.live = false;
                rec.score = HealthScore::ZERO;
                self.rekey(b);
                continue;
            }
            let Some(rec) = self.worker_ref(b) else { continue };
            let score = rec.score;
            if !rec.live || rec.quarantined || score.0 == 0 {
                continue;
            }
            let wins = match best {
                None => true,
                Some((s, other)) => {
                    score > s || (score == s && worker(&self.workers, b).map(|x| &x.id) < self.id_ref(other))
                }
            };
            if wins {
                best = Some((score, b));
            }
        }
        best.map(|(_, b)| b)
    }

    fn id_ref(&self, idx: u16) -> Option<&NodeId> {
        self.worker_ref(idx).map(|w| &w.id)
    }

    /// Recomputes `degraded` and `needy`, keeps the needy list in step, and reports
    /// degradation and restoration.
    fn update_flags(&mut self, now: Instant, t: u16) {
        let Some(record) = self.task_mut(t) else { return };
        let was_degraded = record.degraded;
        let degraded = record.primaries.len() < usize::from(record.required);
        let needy = degraded || record.backups.len() < usize::from(record.wanted_backups);
        let was_needy = record.needy;
        record.degraded = degraded;
        record.needy = needy;
        let task = record.id.clone();
        let primaries = u16::try_from(record.primaries.len()).unwrap_or(u16::MAX);
        let required = record.required;
        if needy && !was_needy {
            // Cannot fail: each task is listed at most once and there are at most T.
            let _ = self.needy.push(t);
        } else if !needy
            && was_needy
            && let Some(i) = self.needy.iter().position(|n| *n == t)
        {
            self.needy.remove(i);
        }
        if degraded && !was_degraded {
            self.push_event(WorkerEvent::TaskDegraded { at: now, task, primaries, required });
        } else if !degraded && was_degraded {
            self.push_event(WorkerEvent::TaskRestored { at: now, task });
        }
    }

    /// Lifts `worker`'s quarantine after it recovered, then [`Self::reassign`]s;
    /// returns how many roles were filled.
    pub fn recover_worker<V: HealthView + ?Sized>(
        &mut self,
        now: Instant,
        worker: &NodeId,
        view: &V,
    ) -> Result<usize, ReplaceError> {
        let now = self.clock.observe(now);
        let w = self.worker_index.get(worker).copied().ok_or_else(|| ReplaceError::UnknownWorker(worker.clone()))?;
        if let Some(rec) = self.worker_mut(w)
            && rec.quarantined
        {
            rec.quarantined = false;
            let (live, score) = observe(&self.config, view, worker, now);
            if let Some(rec) = self.worker_mut(w) {
                rec.live = live;
                rec.score = score;
            }
            self.rekey(w);
            self.push_event(WorkerEvent::WorkerRecovered { at: now, worker: worker.clone() });
        }
        Ok(self.reassign(now, view))
    }

    /// Fills the missing primaries (from the task's live backups first, healthiest
    /// first, then from the pool), then the missing backups, of every task that
    /// is short, oldest shortage first; returns how many roles were filled.
    /// Costs O(short tasks × k log n).
    pub fn reassign<V: HealthView + ?Sized>(&mut self, now: Instant, view: &V) -> usize {
        let now = self.clock.observe(now);
        self.needy_pass.clear();
        for t in self.needy.iter() {
            let _ = self.needy_pass.push(*t);
        }
        let mut filled = 0;
        for i in 0..self.needy_pass.len() {
            let Some(&t) = self.needy_pass.get(i) else { break };
            filled += self.fill(now, t, view);
        }
        filled
    }

    fn fill<V: HealthView + ?Sized>(&mut self, now: Instant, t: u16, view: &V) -> usize {
        let Some(record) = self.task_ref(t) else { return 0 };
        let pool = usize::from(record.pool);
        let members: heapless::Vec<u16, S> = record.members().collect();
        let mut missing_primaries = usize::from(record.required).saturating_sub(record.primaries.len());
        let checkpoint = record.checkpoint;
        let task = record.id.clone();
        self.op = self.op.wrapping_add(1);
        // Missing primaries come first from the task's own live backups, healthiest
        // first, as in a failover; only then from the pool.
        let mut promoted = 0;
        while missing_primaries > 0 {
            let Some(b) = self.healthiest_backup(t, view) else { break };
            if let Some(record) = self.task_mut(t) {
                if let Some(i) = record.backups.iter().position(|x| *x == b) {
                    record.backups.remove(i);
                }
                // Cannot fail: primaries + backups <= S and the backup left the list.
                let _ = record.primaries.push(b);
            }
            if let Some(rec) = self.worker_mut(b) {
                rec.backup_roles = rec.backup_roles.saturating_sub(1);
                rec.primary_roles = rec.primary_roles.saturating_add(1);
            }
            if let Some(worker) = self.id_of(b) {
                self.push_event(WorkerEvent::PrimaryAdded { at: now, task: task.clone(), worker, checkpoint });
            }
            missing_primaries -= 1;
            promoted += 1;
        }
        let mut picked: heapless::Vec<u16, S> = heapless::Vec::new();
        let new_primaries = self.pick(pool, view, missing_primaries, &members, &mut picked);
        let missing_backups =
            self.task_ref(t).map_or(0, |r| usize::from(r.wanted_backups).saturating_sub(r.backups.len()));
        self.pick(pool, view, missing_backups, &members, &mut picked);
        for (i, &p) in picked.iter().enumerate() {
            let role = if i < new_primaries { TaskRole::Primary } else { TaskRole::Backup };
            self.attach(p, t, role);
            if let Some(record) = self.task_mut(t) {
                let _ = match role {
                    TaskRole::Primary => record.primaries.push(p),
                    TaskRole::Backup => record.backups.push(p),
                };
            }
            if let Some(worker) = self.id_of(p) {
                let task = task.clone();
                self.push_event(match role {
                    TaskRole::Primary => WorkerEvent::PrimaryAdded { at: now, task, worker, checkpoint },
                    TaskRole::Backup => WorkerEvent::BackupAdded { at: now, task, worker },
                });
            }
        }
        self.update_flags(now, t);
        promoted + picked.len()
    }

    // ----- queries ------------------------------------------------------------

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

    /// A view of `task`'s workers and checkpoint.
    pub fn task(&self, task: &TaskId) -> Option<TaskView<'_, C, S>> {
        let record = self.task_ref(*self.task_index.get(task)?)?;
        let task_type = self.pools.get(usize::from(record.pool))?.task_type.as_ref()?;
        Some(TaskView { workers: &self.workers, task: record, task_type })
    }

    /// `task`'s last acknowledged checkpoint.
    pub fn checkpoint(&self, task: &TaskId) -> Option<Checkpoint> {
        self.task_ref(*self.task_index.get(task)?)?.checkpoint
    }

    /// The ids of all tasks with workers, in table order.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskId> + '_ {
        self.task_index.keys()
    }

    /// Facts about `worker`.
    pub fn worker(&self, worker: &NodeId) -> Option<WorkerInfo> {
        self.worker_ref(*self.worker_index.get(worker)?).map(Worker::info)
    }

    /// The tasks `worker` serves, with its role in each.
    pub fn worker_tasks(&self, worker: &NodeId) -> impl Iterator<Item = (&TaskId, TaskRole)> + '_ {
        let rec = self.worker_index.get(worker).and_then(|i| self.worker_ref(*i).map(|r| (*i, r)));
        rec.into_iter().flat_map(move |(w, r)| {
            r.tasks.iter().filter_map(move |t| {
                let task = self.task_ref(*t)?;
                let role = if task.primaries.contains(&w) { TaskRole::Primary } else { TaskRole::Backup };
                Some((&task.id, role))
            })
        })
    }

    /// Whether `worker` is in the pool of `task_type`.
    pub fn in_pool(&self, task_type: &TaskType, worker: &NodeId) -> bool {
        match (self.pool_index(task_type), self.worker_index.get(worker)) {
            (Some(p), Some(&w)) => self.pools.get(p).is_some_and(|p| p.contains(w)),
            _ => false,
        }
    }

    /// Load of the pool of `task_type`: O(pool size).
    pub fn pool_stats(&self, task_type: &TaskType) -> Option<PoolStats> {
        let pool = self.pools.get(self.pool_index(task_type)?)?;
        let mut s = PoolStats::default();
        for w in pool.heap.iter().filter_map(|e| self.worker_ref(entry_index(*e))) {
            s.workers += 1;
            s.available += usize::from(w.key & AVAILABLE != 0);
            s.slots += u64::from(w.slots);
            s.used += u64::from(w.used());
        }
        Some(s)
    }

    /// Workers, slots, tasks and replacements: O(workers).
    pub fn utilization(&self, now: Instant) -> UtilizationStats {
        let mut s = UtilizationStats { active_tasks: self.task_index.len(), ..UtilizationStats::default() };
        for w in self.workers.iter().flatten() {
            s.total_workers += 1;
            s.assigned_workers += usize::from(w.primary_roles > 0);
            s.backup_workers += usize::from(w.backup_roles > 0);
            s.quarantined_workers += usize::from(w.quarantined);
            s.total_slots += u64::from(w.slots);
            s.used_slots += u64::from(w.used());
        }
        s.utilization_rate = if s.total_slots == 0 { 0.0 } else { s.used_slots as f64 / s.total_slots as f64 };
        s.degraded_tasks = self.tasks.iter().flatten().filter(|t| t.degraded).count();
        s.replacements_last_hour = self.replacements.count(now.max(self.clock.latest()));
        s.replacements_total = self.replacements.total();
        s
    }

    /// Known workers.
    pub fn worker_count(&self) -> usize {
        self.worker_index.len()
    }

    /// Tasks with workers.
    pub fn task_count(&self) -> usize {
        self.task_index.len()
    }

    /// Registered pools.
    pub fn pool_count(&self) -> usize {
        self.pools.iter().take_while(|p| p.task_type.is_some()).count()
    }
}

/// Pool membership, read-only: what a host needs to show or diff its pools
/// without keeping its own copy.
impl<const W: usize, const T: usize, const P: usize, const S: usize, const C: usize, const H: usize, const E: usize>
    WorkerReplacementManager<W, T, P, S, C, H, E>
{
    /// Every registered pool's task type, in registration order.
    pub fn pools(&self) -> impl Iterator<Item = &TaskType> + '_ {
        self.pools.iter().filter_map(|p| p.task_type.as_ref())
    }

    /// The workers in the pool of `task_type`, in worker-table order (the order
    /// they became known, a forgotten worker's place going to the next new one);
    /// `None` for an unknown pool. O(known workers).
    pub fn pool_members(&self, task_type: &TaskType) -> Option<impl Iterator<Item = &NodeId> + '_> {
        let pool = self.pools.get(self.pool_index(task_type)?)?;
        Some((0..self.workers.len()).filter_map(move |i| {
            let idx = u16::try_from(i).ok()?;
            if !pool.contains(idx) {
                return None;
            }
            self.worker_ref(idx).map(|w| &w.id)
        }))
    }

    /// The task types of the pools `worker` is in, in registration order (none
    /// for an unknown worker).
    pub fn worker_pools(&self, worker: &NodeId) -> impl Iterator<Item = &TaskType> + '_ {
        let idx = self.worker_index.get(worker).copied();
        self.pools.iter().filter(move |p| idx.is_some_and(|i| p.contains(i))).filter_map(|p| p.task_type.as_ref())
    }
}

#[cfg(test)]
mod tests;
