//! `pn_worker_replacement`: worker pools per task type, primary and backup
//! assignment ranked by health and load, checkpoints, failover and quarantine,
//! over [`pouw_netops::WorkerReplacementManager`] with the large preset (4096
//! workers, 4096 tasks, 16 pools, 16 workers per task).
//!
//! Calls that rank workers take the health view as a `const pn_crash_recovery *`:
//! the crash-recovery handle's statuses and scores (through the core's
//! `HealthView`), or NULL, with which every worker scores the configured
//! `unknown_score`. Events are drained one at a time as tagged [`pn_worker_event`]s.

use crate::boundary::{Handle, Out, guard, optional_out, set_opt, set_polled, slots};
use crate::convert::{node_id, pn_node_id, pn_task_id, task_id, task_type};
use crate::managers::crash_recovery::pn_crash_recovery;
use crate::result::pn_result;
use crate::workers::{
    NO_CHECKPOINT, checkpoint_to_c, pn_checkpoint, pn_task_role, pn_utilization_stats, pn_worker_replacement_config,
};
use core::ffi::c_char;
use pouw_netops::health::{HealthScore, HealthView, NoHealth};
use pouw_netops::preset::large;
use pouw_netops::workers::{PoolStats, WorkerInfo};
use pouw_netops::{Checkpoint, Instant, Replacement, WorkerConfig, WorkerEvent};

/// Workers a worker-replacement handle can track (`large::WORKERS`).
pub const PN_WORKERS: usize = 4096;
/// Tasks a worker-replacement handle can track (`large::TASKS`).
pub const PN_WORKER_TASKS: usize = 4096;
/// Most primaries plus backups per task (`large::TASK_WORKERS`).
pub const PN_TASK_WORKERS: usize = 16;
const _: () =
    assert!(PN_WORKERS == large::WORKERS && PN_WORKER_TASKS == large::TASKS && PN_TASK_WORKERS == large::TASK_WORKERS);

/// What one replacement did.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_replacement {
    /// The task.
    pub task: pn_task_id,
    /// The failed worker, now quarantined.
    pub failed: pn_node_id,
    /// The role it had.
    pub role: pn_task_role,
    /// Whether anyone took the role over.
    pub has_replacement: bool,
    /// Who did (length 0 if nobody).
    pub replacement: pn_node_id,
    /// Whether the replacement was a backup of the task.
    pub from_backup: bool,
    /// Whether `checkpoint` is set (otherwise the task resumes from the start).
    pub has_checkpoint: bool,
    /// The checkpoint the replacement resumes from.
    pub checkpoint: pn_checkpoint,
    /// Backups the task has after the refill.
    pub remaining_backups: u16,
    /// Whether the task now has fewer primaries than required.
    pub degraded: bool,
}

impl From<&Replacement> for pn_replacement {
    fn from(r: &Replacement) -> Self {
        let (has_checkpoint, checkpoint) = checkpoint_to_c(r.checkpoint.as_ref());
        pn_replacement {
            task: pn_task_id::from_text(r.task.as_str()),
            failed: pn_node_id::from(&r.failed),
            role: r.role.into(),
            has_replacement: r.replacement.is_some(),
            replacement: pn_node_id::from_opt(r.replacement.as_ref()),
            from_backup: r.from_backup,
            has_checkpoint,
            checkpoint,
            remaining_backups: r.remaining_backups,
            degraded: r.degraded,
        }
    }
}

/// The kind of a worker event: says which fields of `pn_worker_event` are set.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_worker_event_kind {
    /// A failed worker's role was taken over: `task`, `worker` (the failed one), `role`,
    /// `replacement`, `from_backup`, `checkpoint`, `remaining_backups`.
    PN_WORKER_REPLACED = 1,
    /// A task is short of primaries and nobody could fill the gap: `task`, `primaries`, `required`.
    PN_WORKER_TASK_DEGRADED = 2,
    /// A degraded task has all its primaries again: `task`.
    PN_WORKER_TASK_RESTORED = 3,
    /// A pool worker became a primary of a running task: `task`, `worker`, `checkpoint`.
    PN_WORKER_PRIMARY_ADDED = 4,
    /// A pool worker became a backup of a running task: `task`, `worker`.
    PN_WORKER_BACKUP_ADDED = 5,
    /// A worker failed and gets no new work until it recovers: `worker`.
    PN_WORKER_QUARANTINED = 6,
    /// A quarantined worker recovered: `worker`.
    PN_WORKER_RECOVERED = 7,
}

/// One worker event as a flat tagged struct: `kind` says which fields are
/// meaningful; the others are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_worker_event {
    /// What happened.
    pub kind: pn_worker_event_kind,
    /// When, microseconds (caller time, clamped monotonic).
    pub at_us: u64,
    /// The task (length 0 for worker-only events).
    pub task: pn_task_id,
    /// The worker concerned (for REPLACED: the failed worker).
    pub worker: pn_node_id,
    /// REPLACED: the failed worker's role.
    pub role: pn_task_role,
    /// REPLACED: who took over.
    pub replacement: pn_node_id,
    /// REPLACED: whether `replacement` was a backup of the task.
    pub from_backup: bool,
    /// REPLACED, PRIMARY_ADDED: whether `checkpoint` is set.
    pub has_checkpoint: bool,
    /// REPLACED, PRIMARY_ADDED: where the task resumes.
    pub checkpoint: pn_checkpoint,
    /// REPLACED: backups left after the refill.
    pub remaining_backups: u16,
    /// TASK_DEGRADED: primaries the task has.
    pub primaries: u16,
    /// TASK_DEGRADED: primaries it needs.
    pub required: u16,
}

impl From<&WorkerEvent> for pn_worker_event {
    fn from(e: &WorkerEvent) -> Self {
        let mut out = pn_worker_event {
            kind: pn_worker_event_kind::PN_WORKER_REPLACED,
            at_us: 0,
            task: pn_node_id::EMPTY,
            worker: pn_node_id::EMPTY,
            role: pn_task_role::PN_ROLE_PRIMARY,
            replacement: pn_node_id::EMPTY,
            from_backup: false,
            has_checkpoint: false,
            checkpoint: NO_CHECKPOINT,
            remaining_backups: 0,
            primaries: 0,
            required: 0,
        };
        match e {
            WorkerEvent::WorkerReplaced {
                at,
                task,
                failed,
                role,
                replacement,
                from_backup,
                checkpoint,
                remaining_backups,
            } => {
                out.at_us = at.total_micros();
                out.task = pn_task_id::from_text(task.as_str());
                out.worker = pn_node_id::from(failed);
                out.role = (*role).into();
                out.replacement = pn_node_id::from(replacement);
                out.from_backup = *from_backup;
                (out.has_checkpoint, out.checkpoint) = checkpoint_to_c(checkpoint.as_ref());
                out.remaining_backups = *remaining_backups;
            }
            WorkerEvent::TaskDegraded { at, task, primaries, required } => {
                out.kind = pn_worker_event_kind::PN_WORKER_TASK_DEGRADED;
                out.at_us = at.total_micros();
                out.task = pn_task_id::from_text(task.as_str());
                out.primaries = *primaries;
                out.required = *required;
            }
            WorkerEvent::TaskRestored { at, task } => {
                out.kind = pn_worker_event_kind::PN_WORKER_TASK_RESTORED;
                out.at_us = at.total_micros();
                out.task = pn_task_id::from_text(task.as_str());
            }
            WorkerEvent::PrimaryAdded { at, task, worker, checkpoint } => {
                out.kind = pn_worker_event_kind::PN_WORKER_PRIMARY_ADDED;
                out.at_us = at.total_micros();
                out.task = pn_task_id::from_text(task.as_str());
                out.worker = pn_node_id::from(worker);
                (out.has_checkpoint, out.checkpoint) = checkpoint_to_c(checkpoint.as_ref());
            }
            WorkerEvent::BackupAdded { at, task, worker } => {
                out.kind = pn_worker_event_kind::PN_WORKER_BACKUP_ADDED;
                out.at_us = at.total_micros();
                out.task = pn_task_id::from_text(task.as_str());
                out.worker = pn_node_id::from(worker);
            }
            WorkerEvent::WorkerQuarantined { at, worker } => {
                out.kind = pn_worker_event_kind::PN_WORKER_QUARANTINED;
                out.at_us = at.total_micros();
                out.worker = pn_node_id::from(worker);
            }
            WorkerEvent::WorkerRecovered { at, worker } => {
                out.kind = pn_worker_event_kind::PN_WORKER_RECOVERED;
                out.at_us = at.total_micros();
                out.worker = pn_node_id::from(worker);
            }
        }
        out
    }
}

/// Facts about one worker.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_worker_info {
    /// Capacity in task slots.
    pub slots: u16,
    /// Slots in use (primary and backup roles).
    pub used: u16,
    /// Tasks it is primary of.
    pub primary_roles: u16,
    /// Tasks it is backup of.
    pub backup_roles: u16,
    /// Cached health score, 0..=10000.
    pub score: u16,
    /// Whether it is quarantined after a failure.
    pub quarantined: bool,
    /// Pools it belongs to.
    pub pools: u16,
}

impl From<WorkerInfo> for pn_worker_info {
    fn from(w: WorkerInfo) -> Self {
        pn_worker_info {
            slots: w.slots,
            used: w.used,
            primary_roles: w.primary_roles,
            backup_roles: w.backup_roles,
            score: w.score.0,
            quarantined: w.quarantined,
            pools: w.pools,
        }
    }
}

/// One task's workers and progress.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_task_info {
    /// The task type (pool) it runs in.
    pub task_type: pn_task_id,
    /// Primaries required.
    pub required: u16,
    /// Backups wanted.
    pub wanted_backups: u16,
    /// Primaries it has, the first `primary_count` of `primaries`.
    pub primary_count: usize,
    /// The primaries.
    pub primaries: [pn_node_id; PN_TASK_WORKERS],
    /// Backups it has, the first `backup_count` of `backups`.
    pub backup_count: usize,
    /// The backups.
    pub backups: [pn_node_id; PN_TASK_WORKERS],
    /// Whether `checkpoint` is set.
    pub has_checkpoint: bool,
    /// The last acknowledged checkpoint.
    pub checkpoint: pn_checkpoint,
    /// When it was recorded (or the task assigned), microseconds.
    pub checkpoint_at_us: u64,
    /// Whether the task has fewer primaries than required.
    pub degraded: bool,
}

/// Load of one pool.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_pool_stats {
    /// Workers in the pool.
    pub workers: usize,
    /// Workers able to take work now.
    pub available: usize,
    /// Slots over the pool's workers.
    pub slots: u64,
    /// Slots in use.
    pub used: u64,
}

impl From<PoolStats> for pn_pool_stats {
    fn from(s: PoolStats) -> Self {
        pn_pool_stats { workers: s.workers, available: s.available, slots: s.slots, used: s.used }
    }
}

/// An opaque worker-replacement handle; create with `pn_worker_replacement_new`,
/// release with `pn_worker_replacement_free`.
pub struct pn_worker_replacement {
    _opaque: [u8; 0],
}

impl Handle for pn_worker_replacement {
    type Inner = large::WorkerReplacementManager;
}

/// The health view behind a caller's `const pn_crash_recovery *` (NULL: none).
///
/// # Safety
/// `health` must be NULL or a live crash-recovery handle not mutated during the call.
unsafe fn view<'a>(health: *const pn_crash_recovery) -> &'a dyn HealthView {
    // SAFETY: the caller's promise: NULL or a live handle.
    match unsafe { pn_crash_recovery::borrow(health) } {
        Ok(m) => m,
        Err(_) => &NoHealth,
    }
}

/// Writes the default worker-replacement parameters into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_worker_replacement_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_config_default(out: *mut pn_worker_replacement_config) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `out`.
        let out = unsafe { Out::new(out) }?;
        let d = WorkerConfig::default();
        out.set(pn_worker_replacement_config { unknown_score: d.unknown_score.0, score_band: d.score_band });
        Ok(())
    })
}

/// Creates a manager with `*config`, built in place on the heap, and stores the
/// handle in `*out`. `PN_ERR_INVALID_CONFIG` if a field is out of range.
///
/// # Safety
/// `config` NULL or readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_new(
    config: *const pn_worker_replacement_config,
    out: *mut *mut pn_worker_replacement,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `config` and `out`.
        let (config, out) = unsafe { (config.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?, Out::new(out)?) };
        let m = large::WorkerReplacementManager::new_boxed(WorkerConfig {
            unknown_score: HealthScore(config.unknown_score),
            score_band: config.score_band,
        })?;
        out.set(pn_worker_replacement::into_raw(m));
        Ok(())
    })
}

/// Releases a manager; NULL is ignored. The handle is invalid afterwards.
///
/// # Safety
/// `manager` must be NULL or a live handle from `pn_worker_replacement_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_free(manager: *mut pn_worker_replacement) {
    // SAFETY: the caller's promise for `manager`.
    crate::boundary::catch_or((), || unsafe { pn_worker_replacement::free(manager) })
}

/// Registers a pool for `task_type`; `*out_created` (if not NULL) is false if it
/// already existed. `PN_ERR_CAPACITY_EXCEEDED` when the pool table is full.
///
/// # Safety
/// `manager` NULL or a live handle not used by another thread; `task_type` NULL
/// or readable for `task_type_len` bytes; `out_created` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_register_pool(
    manager: *mut pn_worker_replacement,
    task_type: *const c_char,
    task_type_len: usize,
    out_created: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, tt, created) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                self::task_type(task_type, task_type_len)?,
                optional_out(out_created),
            )
        };
        set_opt(created, m.register_pool(&tt)?);
        Ok(())
    })
}

/// Adds `worker` to the pool of `task_type`. `slots` 0 keeps the worker's
/// capacity (1 for a new worker); otherwise it becomes its capacity in task
/// slots, across all its pools. `*out_added` (if not NULL) is false if it was
/// already in the pool. `PN_ERR_NOT_FOUND` for an unknown pool.
///
/// # Safety
/// As `pn_worker_replacement_register_pool`; `worker` NULL or readable for `worker_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_add_worker(
    manager: *mut pn_worker_replacement,
    task_type: *const c_char,
    task_type_len: usize,
    worker: *const c_char,
    worker_len: usize,
    slots: u16,
    out_added: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, tt, w, added) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                self::task_type(task_type, task_type_len)?,
                node_id(worker, worker_len)?,
                optional_out(out_added),
            )
        };
        let added_now = if slots == 0 { m.add_worker(&tt, &w)? } else { m.add_worker_with_slots(&tt, &w, slots)? };
        set_opt(added, added_now);
        Ok(())
    })
}

/// Removes `worker` from the pool of `task_type`; its running assignments stay.
///
/// # Safety
/// As `pn_worker_replacement_add_worker`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_remove_worker(
    manager: *mut pn_worker_replacement,
    task_type: *const c_char,
    task_type_len: usize,
    worker: *const c_char,
    worker_len: usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, tt, w) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                self::task_type(task_type, task_type_len)?,
                node_id(worker, worker_len)?,
            )
        };
        Ok(m.remove_worker(&tt, &w)?)
    })
}

/// Re-reads every worker's health from `health` (NULL: none) at `now_us` and
/// re-ranks every pool; call it on the crash-detection sweep.
///
/// # Safety
/// `manager` as `pn_worker_replacement_register_pool`; `health` NULL or a live
/// crash-recovery handle not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_refresh_health(
    manager: *mut pn_worker_replacement,
    now_us: u64,
    health: *const pn_crash_recovery,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, v) = unsafe { (pn_worker_replacement::borrow_mut(manager)?, view(health)) };
        m.refresh_health(Instant::from_micros(now_us), v);
        Ok(())
    })
}

/// Gives `task` `required` primaries and up to `backups` backups from the pool
/// of `task_type`, best-ranked first, and writes them to `out_primaries` and
/// `out_backups` with their numbers. All primaries or nothing:
/// `PN_ERR_CAPACITY_EXCEEDED` when too few workers are available. The arrays
/// must hold `required` and `backups` ids; shorter ones give
/// `PN_ERR_BUFFER_TOO_SMALL` before anything is assigned.
///
/// # Safety
/// As `pn_worker_replacement_refresh_health`; `task` and `task_type` NULL or
/// readable for their lengths; `out_primaries` NULL or writable for
/// `primaries_cap` ids, `out_backups` for `backups_cap`; the counts writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_assign(
    manager: *mut pn_worker_replacement,
    now_us: u64,
    task: *const c_char,
    task_len: usize,
    task_type: *const c_char,
    task_type_len: usize,
    required: u16,
    backups: u16,
    health: *const pn_crash_recovery,
    out_primaries: *mut pn_node_id,
    primaries_cap: usize,
    out_primary_count: *mut usize,
    out_backups: *mut pn_node_id,
    backups_cap: usize,
    out_backup_count: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, t, tt, v, ps, pn, bs, bn) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                task_id(task, task_len)?,
                self::task_type(task_type, task_type_len)?,
                view(health),
                slots(out_primaries, primaries_cap)?,
                Out::new(out_primary_count)?,
                slots(out_backups, backups_cap)?,
                Out::new(out_backup_count)?,
            )
        };
        if ps.len() < usize::from(required) || bs.len() < usize::from(backups) {
            return Err(pn_result::PN_ERR_BUFFER_TOO_SMALL.into());
        }
        let a = m.assign_workers_to_task(Instant::from_micros(now_us), &t, &tt, required, backups, v)?;
        for (slot, id) in ps.iter_mut().zip(&a.primaries) {
            slot.write(pn_node_id::from(id));
        }
        for (slot, id) in bs.iter_mut().zip(&a.backups) {
            slot.write(pn_node_id::from(id));
        }
        pn.set(a.primaries.len());
        bn.set(a.backups.len());
        Ok(())
    })
}

/// Frees every worker of `task` and forgets it; `*out_released` (if not NULL)
/// gets how many workers it had. `PN_ERR_NOT_FOUND` for an unknown task.
///
/// # Safety
/// As `pn_worker_replacement_register_pool`; `task` NULL or readable for `task_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_release(
    manager: *mut pn_worker_replacement,
    task: *const c_char,
    task_len: usize,
    out_released: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, t, released) = unsafe {
            (pn_worker_replacement::borrow_mut(manager)?, task_id(task, task_len)?, optional_out(out_released))
        };
        set_opt(released, m.release_task_workers(&t)?);
        Ok(())
    })
}

/// Records `*checkpoint` as `task`'s progress, reported by its primary `worker`.
/// A lower sequence than the stored one, or the same with another digest, gives
/// `PN_ERR_INVALID_STATE`; a worker that is not a primary `PN_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// As `pn_worker_replacement_release`; `worker` NULL or readable for `worker_len` bytes; `checkpoint` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_checkpoint(
    manager: *mut pn_worker_replacement,
    now_us: u64,
    task: *const c_char,
    task_len: usize,
    worker: *const c_char,
    worker_len: usize,
    checkpoint: *const pn_checkpoint,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, t, w, c) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                task_id(task, task_len)?,
                node_id(worker, worker_len)?,
                checkpoint.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
            )
        };
        let c = Checkpoint { sequence: c.sequence, digest: c.digest };
        Ok(m.record_checkpoint(Instant::from_micros(now_us), &t, &w, c)?)
    })
}

/// Replaces `failed` in `task`: quarantines it, promotes the healthiest live
/// backup (or the best pool worker) into a failed primary's place, refills the
/// backups, and writes what happened into `*out_replacement`.
///
/// # Safety
/// As `pn_worker_replacement_refresh_health`; `failed` and `task` NULL or
/// readable for their lengths; `out_replacement` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_replace(
    manager: *mut pn_worker_replacement,
    now_us: u64,
    failed: *const c_char,
    failed_len: usize,
    task: *const c_char,
    task_len: usize,
    health: *const pn_crash_recovery,
    out_replacement: *mut pn_replacement,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, w, t, v, out) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                node_id(failed, failed_len)?,
                task_id(task, task_len)?,
                view(health),
                Out::new(out_replacement)?,
            )
        };
        let r = m.replace_failed_worker(Instant::from_micros(now_us), &w, &t, v)?;
        out.set(pn_replacement::from(&r));
        Ok(())
    })
}

/// Replaces `failed` in every task it serves (call it for each crash the
/// crash-recovery sweep reports). The replacements always happen;
/// `*out_count` (if not NULL) gets how many there were and the first
/// `min(count, capacity)` go to `out_replacements`. Each one is also an event.
///
/// # Safety
/// As `pn_worker_replacement_replace`; `out_replacements` NULL or writable for
/// `capacity` elements; `out_count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_handle_failure(
    manager: *mut pn_worker_replacement,
    now_us: u64,
    failed: *const c_char,
    failed_len: usize,
    health: *const pn_crash_recovery,
    out_replacements: *mut pn_replacement,
    capacity: usize,
    out_count: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, w, v, out, count) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                node_id(failed, failed_len)?,
                view(health),
                slots(out_replacements, capacity)?,
                optional_out(out_count),
            )
        };
        let done = m.handle_worker_failure(Instant::from_micros(now_us), &w, v)?;
        for (slot, r) in out.iter_mut().zip(&done) {
            slot.write(pn_replacement::from(r));
        }
        set_opt(count, done.len());
        Ok(())
    })
}

/// Lifts `worker`'s quarantine after it recovered and refills short tasks;
/// `*out_filled` (if not NULL) gets how many roles were filled.
///
/// # Safety
/// As `pn_worker_replacement_refresh_health`; `worker` NULL or readable for `worker_len` bytes; `out_filled` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_recover(
    manager: *mut pn_worker_replacement,
    now_us: u64,
    worker: *const c_char,
    worker_len: usize,
    health: *const pn_crash_recovery,
    out_filled: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, w, v, filled) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                node_id(worker, worker_len)?,
                view(health),
                optional_out(out_filled),
            )
        };
        set_opt(filled, m.recover_worker(Instant::from_micros(now_us), &w, v)?);
        Ok(())
    })
}

/// Fills the missing primaries, then backups, of every short task;
/// `*out_filled` (if not NULL) gets how many roles were filled.
///
/// # Safety
/// As `pn_worker_replacement_refresh_health`; `out_filled` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_reassign(
    manager: *mut pn_worker_replacement,
    now_us: u64,
    health: *const pn_crash_recovery,
    out_filled: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, v, filled) =
            unsafe { (pn_worker_replacement::borrow_mut(manager)?, view(health), optional_out(out_filled)) };
        set_opt(filled, m.reassign(Instant::from_micros(now_us), v));
        Ok(())
    })
}

/// Takes the oldest pending event: `*out_available` says whether `*out_event`
/// was written. `*out_dropped` (if not NULL) gets how many events the full
/// queue has dropped so far.
///
/// # Safety
/// `manager` as `pn_worker_replacement_register_pool`; `out_event` and
/// `out_available` NULL or writable; `out_dropped` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_poll_event(
    manager: *mut pn_worker_replacement,
    out_event: *mut pn_worker_event,
    out_available: *mut bool,
    out_dropped: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, event, available, dropped) = unsafe {
            (
                pn_worker_replacement::borrow_mut(manager)?,
                Out::new(out_event)?,
                Out::new(out_available)?,
                optional_out(out_dropped),
            )
        };
        set_polled(event, available, m.poll_event().map(|e| pn_worker_event::from(&e)));
        set_opt(dropped, m.dropped_events());
        Ok(())
    })
}

/// Writes facts about `worker` into `*out_info`. `PN_ERR_NOT_FOUND` if unknown.
///
/// # Safety
/// `manager` NULL or a live handle; `worker` NULL or readable for `worker_len` bytes; `out_info` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_worker_info(
    manager: *const pn_worker_replacement,
    worker: *const c_char,
    worker_len: usize,
    out_info: *mut pn_worker_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, w, out) =
            unsafe { (pn_worker_replacement::borrow(manager)?, node_id(worker, worker_len)?, Out::new(out_info)?) };
        out.set(m.worker(&w).ok_or(pn_result::PN_ERR_NOT_FOUND)?.into());
        Ok(())
    })
}

/// Writes `task`'s workers and checkpoint into `*out_info`. `PN_ERR_NOT_FOUND` if unknown.
///
/// # Safety
/// `manager` NULL or a live handle; `task` NULL or readable for `task_len` bytes; `out_info` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_task_info(
    manager: *const pn_worker_replacement,
    task: *const c_char,
    task_len: usize,
    out_info: *mut pn_task_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, t, out) =
            unsafe { (pn_worker_replacement::borrow(manager)?, task_id(task, task_len)?, Out::new(out_info)?) };
        let v = m.task(&t).ok_or(pn_result::PN_ERR_NOT_FOUND)?;
        let mut primaries = [pn_node_id::EMPTY; PN_TASK_WORKERS];
        let mut primary_count = 0;
        for (slot, id) in primaries.iter_mut().zip(v.primaries()) {
            *slot = pn_node_id::from(id);
            primary_count += 1;
        }
        let mut backups = [pn_node_id::EMPTY; PN_TASK_WORKERS];
        let mut backup_count = 0;
        for (slot, id) in backups.iter_mut().zip(v.backups()) {
            *slot = pn_node_id::from(id);
            backup_count += 1;
        }
        let cp = v.checkpoint();
        let (has_checkpoint, checkpoint) = checkpoint_to_c(cp.as_ref().map(|(c, _)| c));
        out.set(pn_task_info {
            task_type: pn_task_id::from_text(v.task_type().as_str()),
            required: v.required(),
            wanted_backups: v.wanted_backups(),
            primary_count,
            primaries,
            backup_count,
            backups,
            has_checkpoint,
            checkpoint,
            checkpoint_at_us: cp.map_or(0, |(_, at)| at.total_micros()),
            degraded: v.is_degraded(),
        });
        Ok(())
    })
}

/// Writes the load of the pool of `task_type` into `*out_stats`. `PN_ERR_NOT_FOUND` if no such pool.
///
/// # Safety
/// `manager` NULL or a live handle; `task_type` NULL or readable for `task_type_len` bytes; `out_stats` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_pool_stats(
    manager: *const pn_worker_replacement,
    task_type: *const c_char,
    task_type_len: usize,
    out_stats: *mut pn_pool_stats,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, tt, out) = unsafe {
            (pn_worker_replacement::borrow(manager)?, self::task_type(task_type, task_type_len)?, Out::new(out_stats)?)
        };
        out.set(m.pool_stats(&tt).ok_or(pn_result::PN_ERR_NOT_FOUND)?.into());
        Ok(())
    })
}

/// Writes workers, slots, tasks and replacements at `now_us` into `*out_stats`.
///
/// # Safety
/// `manager` NULL or a live handle; `out_stats` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_worker_replacement_utilization(
    manager: *const pn_worker_replacement,
    now_us: u64,
    out_stats: *mut pn_utilization_stats,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_worker_replacement::borrow(manager)?, Out::new(out_stats)?) };
        let s = m.utilization(Instant::from_micros(now_us));
        out.set(pn_utilization_stats::from(&s));
        Ok(())
    })
}
