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
/// The workers given to a task, best first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment<const S: usize> {
    /// The primaries (all that were required).
    pub primaries: heapless::Vec<NodeId, S>,
    /// The backups (as many as were available, up to the number asked for).
    pub backups: heapless::Vec<NodeId, S>,
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
}

mod assign;
mod error;
mod events;
mod failover;
mod pool;
mod views;

use assign::Task;
pub use error::{AssignError, CheckpointError, PoolError, ReplaceError};
pub use events::{Replacement, ReplacementRecord, WorkerEvent};
use pool::{Pool, Worker};
pub use views::{PoolStats, TaskView, UtilizationStats, WorkerInfo};

#[cfg(test)]
mod tests;
