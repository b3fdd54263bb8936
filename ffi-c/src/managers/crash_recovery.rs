//! `pn_crash_recovery`: phi-accrual failure detection over many nodes, node
//! health and the crash/recovery status machine, over
//! [`pouw_netops::CrashRecoveryManager`] with the large preset (4096 nodes).
//!
//! Recovery events are read by sequence number (`pn_crash_recovery_events`):
//! a consumer that keeps the next sequence it expects reads each event once,
//! in order, as flat tagged [`pn_recovery_event`] structs.

use crate::boundary::{Handle, Out, guard, optional_out, slots};
use crate::convert::{node_id, pn_health_metrics, pn_node_id, pn_node_status};
use crate::crash_recovery::{pn_crash_recovery_config, pn_health_summary};
use crate::result::pn_result;
use core::ffi::c_char;
use pouw_netops::crash_recovery::{RecoveryEvent, RecoveryEventKind, RecoveryFailure};
use pouw_netops::health::HealthView;
use pouw_netops::preset::large;
use pouw_netops::{CrashRecoveryConfig, HealthMetrics, Instant, RecoveryStrategy};

/// Nodes a crash-recovery handle can track (`large::NODES`).
pub const PN_CRASH_RECOVERY_NODES: usize = 4096;
/// Recovery events a crash-recovery handle retains (`large::EVENTS`).
pub const PN_CRASH_RECOVERY_EVENTS: usize = 1024;
const _: () = assert!(PN_CRASH_RECOVERY_NODES == large::NODES && PN_CRASH_RECOVERY_EVENTS == large::EVENTS);

/// How a recovery is carried out. Passed in as an integer and validated.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_recovery_strategy {
    /// Wait for the node to come back on its own (also used when a node simply returns).
    PN_RECOVERY_AUTOMATIC = 0,
    /// The host restarts the node's process.
    PN_RECOVERY_RESTART = 1,
    /// The host replaces the node with another machine.
    PN_RECOVERY_REPLACE = 2,
    /// A host-defined strategy, with a host-defined code alongside.
    PN_RECOVERY_CUSTOM = 3,
}

/// Splits a core strategy into the C tag and the custom code (0 unless custom).
fn strategy_to_c(s: RecoveryStrategy) -> (pn_recovery_strategy, u32) {
    match s {
        RecoveryStrategy::Automatic => (pn_recovery_strategy::PN_RECOVERY_AUTOMATIC, 0),
        RecoveryStrategy::Restart => (pn_recovery_strategy::PN_RECOVERY_RESTART, 0),
        RecoveryStrategy::Replace => (pn_recovery_strategy::PN_RECOVERY_REPLACE, 0),
        RecoveryStrategy::Custom(code) => (pn_recovery_strategy::PN_RECOVERY_CUSTOM, code),
    }
}

/// Reads a strategy given by C as an integer; unknown values are rejected.
fn strategy_from_c(tag: u32, custom_code: u32) -> Result<RecoveryStrategy, pn_result> {
    match tag {
        0 => Ok(RecoveryStrategy::Automatic),
        1 => Ok(RecoveryStrategy::Restart),
        2 => Ok(RecoveryStrategy::Replace),
        3 => Ok(RecoveryStrategy::Custom(custom_code)),
        _ => Err(pn_result::PN_ERR_INVALID_ARGUMENT),
    }
}

/// The kind of a recovery event: says which fields of `pn_recovery_event` are set.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_recovery_event_kind {
    /// The node's status changed: `from`, `to`, `phi`.
    PN_EVENT_STATUS_CHANGED = 1,
    /// Phi reached the threshold, the node is considered crashed: `phi`, `duration_us` (silence).
    PN_EVENT_CRASH_DETECTED = 2,
    /// A recovery attempt began: `strategy`, `custom_strategy`, `attempt`.
    PN_EVENT_RECOVERY_STARTED = 3,
    /// The node is healthy again: `strategy`, `custom_strategy`, `duration_us` (time taken).
    PN_EVENT_RECOVERY_COMPLETED = 4,
    /// A recovery attempt failed, the node is failed: `strategy`, `custom_strategy`, `failure`.
    PN_EVENT_RECOVERY_FAILED = 5,
}

/// Why a recovery failed.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_recovery_failure {
    /// Not a failure event.
    PN_FAILURE_NONE = 0,
    /// The node was not healthy again before the attempt's deadline.
    PN_FAILURE_DEADLINE_EXCEEDED = 1,
    /// Another recovery was requested after the last allowed attempt.
    PN_FAILURE_ATTEMPTS_EXHAUSTED = 2,
    /// The node came back, then fell silent again before the recovery completed.
    PN_FAILURE_CRASHED_AGAIN = 3,
}

/// One recovery event, as a flat tagged struct: `kind` says which payload
/// fields are meaningful; the others are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_recovery_event {
    /// Sequence number, from 0, one per event ever recorded.
    pub seq: u64,
    /// When it happened, microseconds (caller time, clamped monotonic).
    pub at_us: u64,
    /// The node concerned.
    pub node: pn_node_id,
    /// What happened.
    pub kind: pn_recovery_event_kind,
    /// STATUS_CHANGED: status before.
    pub from: pn_node_status,
    /// STATUS_CHANGED: status after.
    pub to: pn_node_status,
    /// STATUS_CHANGED, CRASH_DETECTED: phi at the time.
    pub phi: f64,
    /// CRASH_DETECTED: silence since the last heartbeat; RECOVERY_COMPLETED: time taken. Microseconds.
    pub duration_us: u64,
    /// RECOVERY_*: the strategy.
    pub strategy: pn_recovery_strategy,
    /// RECOVERY_* with `PN_RECOVERY_CUSTOM`: the host's code.
    pub custom_strategy: u32,
    /// RECOVERY_STARTED: attempt number, from 1.
    pub attempt: u32,
    /// RECOVERY_FAILED: why.
    pub failure: pn_recovery_failure,
}

impl From<&RecoveryEvent> for pn_recovery_event {
    fn from(e: &RecoveryEvent) -> Self {
        let mut out = pn_recovery_event {
            seq: e.seq,
            at_us: e.at.total_micros(),
            node: pn_node_id::from(&e.node),
            kind: pn_recovery_event_kind::PN_EVENT_STATUS_CHANGED,
            from: pn_node_status::PN_NODE_ONLINE,
            to: pn_node_status::PN_NODE_ONLINE,
            phi: 0.0,
            duration_us: 0,
            strategy: pn_recovery_strategy::PN_RECOVERY_AUTOMATIC,
            custom_strategy: 0,
            attempt: 0,
            failure: pn_recovery_failure::PN_FAILURE_NONE,
        };
        match e.kind {
            RecoveryEventKind::StatusChanged { from, to, phi } => {
                out.from = from.into();
                out.to = to.into();
                out.phi = phi;
            }
            RecoveryEventKind::CrashDetected { phi, silence } => {
                out.kind = pn_recovery_event_kind::PN_EVENT_CRASH_DETECTED;
                out.phi = phi;
                out.duration_us = silence.total_micros();
            }
            RecoveryEventKind::RecoveryStarted { strategy, attempt } => {
                out.kind = pn_recovery_event_kind::PN_EVENT_RECOVERY_STARTED;
                (out.strategy, out.custom_strategy) = strategy_to_c(strategy);
                out.attempt = attempt;
            }
            RecoveryEventKind::RecoveryCompleted { strategy, took } => {
                out.kind = pn_recovery_event_kind::PN_EVENT_RECOVERY_COMPLETED;
                (out.strategy, out.custom_strategy) = strategy_to_c(strategy);
                out.duration_us = took.total_micros();
            }
            RecoveryEventKind::RecoveryFailed { strategy, reason } => {
                out.kind = pn_recovery_event_kind::PN_EVENT_RECOVERY_FAILED;
                (out.strategy, out.custom_strategy) = strategy_to_c(strategy);
                out.failure = match reason {
                    RecoveryFailure::DeadlineExceeded => pn_recovery_failure::PN_FAILURE_DEADLINE_EXCEEDED,
                    RecoveryFailure::AttemptsExhausted => pn_recovery_failure::PN_FAILURE_ATTEMPTS_EXHAUSTED,
                    RecoveryFailure::CrashedAgain => pn_recovery_failure::PN_FAILURE_CRASHED_AGAIN,
                };
            }
        }
        out
    }
}

/// What is known about one tracked node.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_node_info {
    /// The node.
    pub node: pn_node_id,
    /// Its status.
    pub status: pn_node_status,
    /// Its last reported metrics.
    pub metrics: pn_health_metrics,
    /// When its last heartbeat arrived, microseconds.
    pub last_heartbeat_us: u64,
    /// Recovery attempts used in the current outage.
    pub recovery_attempts: u32,
}

/// An opaque crash-recovery manager handle (4096 nodes); create with
/// `pn_crash_recovery_new`, release with `pn_crash_recovery_free`.
pub struct pn_crash_recovery {
    _opaque: [u8; 0],
}

impl Handle for pn_crash_recovery {
    type Inner = large::CrashRecoveryManager;
}

/// Writes the default crash-recovery parameters into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_crash_recovery_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_config_default(out: *mut pn_crash_recovery_config) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `out`.
        let out = unsafe { Out::new(out) }?;
        out.set(pn_crash_recovery_config::from(&CrashRecoveryConfig::default()));
        Ok(())
    })
}

/// Creates a manager with `*config`, built in place on the heap (a few MiB),
/// and stores the handle in `*out`. `PN_ERR_INVALID_CONFIG` if a field is out of range.
///
/// # Safety
/// `config` must be NULL or point to a readable config; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_new(
    config: *const pn_crash_recovery_config,
    out: *mut *mut pn_crash_recovery,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `config` and `out`.
        let (config, out) = unsafe { (config.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?, Out::new(out)?) };
        let manager = large::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::from(config))?;
        out.set(pn_crash_recovery::into_raw(manager));
        Ok(())
    })
}

/// Releases a manager; NULL is ignored. The handle is invalid afterwards.
///
/// # Safety
/// `manager` must be NULL or a live handle from `pn_crash_recovery_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_free(manager: *mut pn_crash_recovery) {
    // SAFETY: the caller's promise for `manager`.
    crate::boundary::catch_or((), || unsafe { pn_crash_recovery::free(manager) })
}

/// Records a heartbeat from node `node` (UTF-8, `node_len` bytes) at `now_us`,
/// registering the node if new. `PN_ERR_CAPACITY_EXCEEDED` if the table is full.
///
/// # Safety
/// `manager` must be NULL or a live handle not used by another thread; `node`
/// NULL or readable for `node_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_heartbeat(
    manager: *mut pn_crash_recovery,
    now_us: u64,
    node: *const c_char,
    node_len: usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `manager` and `node`.
        let (m, node) = unsafe { (pn_crash_recovery::borrow_mut(manager)?, node_id(node, node_len)?) };
        Ok(m.heartbeat(Instant::from_micros(now_us), &node)?)
    })
}

/// Records a heartbeat carrying fresh `*metrics` from `node` at `now_us`,
/// registering it if new. Metrics out of [0, 1] give `PN_ERR_INVALID_METRIC` and change nothing.
///
/// # Safety
/// As `pn_crash_recovery_heartbeat`; `metrics` NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_update_node_health(
    manager: *mut pn_crash_recovery,
    now_us: u64,
    node: *const c_char,
    node_len: usize,
    metrics: *const pn_health_metrics,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `manager`, `node` and `metrics`.
        let (m, node, metrics) = unsafe {
            (
                pn_crash_recovery::borrow_mut(manager)?,
                node_id(node, node_len)?,
                metrics.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?,
            )
        };
        Ok(m.update_node_health(Instant::from_micros(now_us), &node, HealthMetrics::from(metrics))?)
    })
}

/// Sweeps every node at `now_us`: moves nodes between statuses, fails overdue
/// recoveries, and reports the nodes found crashed in this sweep (each crash once).
///
/// The sweep always happens. `*out_crashed` (if not NULL) receives how many
/// nodes crashed; the first `min(count, capacity)` of them are written to
/// `out_nodes` (NULL allowed with capacity 0). Every crash is also a
/// `PN_EVENT_CRASH_DETECTED` event, so none is lost when the array is short.
///
/// # Safety
/// `manager` must be NULL or a live handle not used by another thread;
/// `out_nodes` NULL or writable for `capacity` ids; `out_crashed` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_detect_crashes(
    manager: *mut pn_crash_recovery,
    now_us: u64,
    out_nodes: *mut pn_node_id,
    capacity: usize,
    out_crashed: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, slots, crashed) = unsafe {
            (pn_crash_recovery::borrow_mut(manager)?, slots(out_nodes, capacity)?, optional_out(out_crashed))
        };
        let mut count = 0usize;
        for id in m.detect_crashes(Instant::from_micros(now_us)) {
            if let Some(slot) = slots.get_mut(count) {
                slot.write(pn_node_id::from(id));
            }
            count += 1;
        }
        if let Some(out) = crashed {
            out.set(count);
        }
        Ok(())
    })
}

/// Starts a recovery of `node` with `strategy` (a `pn_recovery_strategy`
/// value; `custom_code` is kept for `PN_RECOVERY_CUSTOM`). Applies to suspected,
/// offline and failed nodes (`PN_ERR_INVALID_STATE` otherwise); past the allowed
/// attempts the node becomes failed and `PN_ERR_ATTEMPTS_EXHAUSTED` is returned.
///
/// # Safety
/// As `pn_crash_recovery_heartbeat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_initiate_recovery(
    manager: *mut pn_crash_recovery,
    now_us: u64,
    node: *const c_char,
    node_len: usize,
    strategy: u32,
    custom_code: u32,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `manager` and `node`.
        let (m, node) = unsafe { (pn_crash_recovery::borrow_mut(manager)?, node_id(node, node_len)?) };
        let strategy = strategy_from_c(strategy, custom_code)?;
        Ok(m.initiate_recovery(Instant::from_micros(now_us), &node, strategy)?)
    })
}

/// Forgets `node` for good; events about it stay readable. `PN_ERR_NOT_FOUND` if unknown.
///
/// # Safety
/// As `pn_crash_recovery_heartbeat`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_remove_node(
    manager: *mut pn_crash_recovery,
    node: *const c_char,
    node_len: usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `manager` and `node`.
        let (m, node) = unsafe { (pn_crash_recovery::borrow_mut(manager)?, node_id(node, node_len)?) };
        Ok(m.remove_node(&node)?)
    })
}

/// Writes `node`'s status into `*out_status`. `PN_ERR_NOT_FOUND` if unknown.
///
/// # Safety
/// `manager` NULL or a live handle; `node` NULL or readable for `node_len` bytes; `out_status` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_status(
    manager: *const pn_crash_recovery,
    node: *const c_char,
    node_len: usize,
    out_status: *mut pn_node_status,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, node, out) =
            unsafe { (pn_crash_recovery::borrow(manager)?, node_id(node, node_len)?, Out::new(out_status)?) };
        out.set(m.status(&node)?.into());
        Ok(())
    })
}

/// Writes `node`'s phi at `now_us` into `*out_phi` (querying the past is allowed).
///
/// # Safety
/// As `pn_crash_recovery_status`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_phi(
    manager: *const pn_crash_recovery,
    now_us: u64,
    node: *const c_char,
    node_len: usize,
    out_phi: *mut f64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, node, out) =
            unsafe { (pn_crash_recovery::borrow(manager)?, node_id(node, node_len)?, Out::new(out_phi)?) };
        out.set(m.phi(Instant::from_micros(now_us), &node)?);
        Ok(())
    })
}

/// Writes whether `node`'s last heartbeat and metrics meet the health thresholds at `now_us`.
///
/// # Safety
/// As `pn_crash_recovery_status`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_is_healthy(
    manager: *const pn_crash_recovery,
    now_us: u64,
    node: *const c_char,
    node_len: usize,
    out_healthy: *mut bool,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, node, out) =
            unsafe { (pn_crash_recovery::borrow(manager)?, node_id(node, node_len)?, Out::new(out_healthy)?) };
        out.set(m.is_healthy(Instant::from_micros(now_us), &node)?);
        Ok(())
    })
}

/// Writes `node`'s health score at `now_us` (0 = dead … 10000 = perfect; what
/// worker replacement ranks backups by) into `*out_score`.
///
/// # Safety
/// As `pn_crash_recovery_status`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_health_score(
    manager: *const pn_crash_recovery,
    now_us: u64,
    node: *const c_char,
    node_len: usize,
    out_score: *mut u16,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, node, out) =
            unsafe { (pn_crash_recovery::borrow(manager)?, node_id(node, node_len)?, Out::new(out_score)?) };
        let score = m.health_score(&node, Instant::from_micros(now_us)).ok_or(pn_result::PN_ERR_NOT_FOUND)?;
        out.set(score.0);
        Ok(())
    })
}

/// Writes what is known about `node` into `*out_info`.
///
/// # Safety
/// As `pn_crash_recovery_status`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_node_info(
    manager: *const pn_crash_recovery,
    node: *const c_char,
    node_len: usize,
    out_info: *mut pn_node_info,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, node, out) =
            unsafe { (pn_crash_recovery::borrow(manager)?, node_id(node, node_len)?, Out::new(out_info)?) };
        let v = m.node(&node)?;
        out.set(pn_node_info {
            node: pn_node_id::from(v.id),
            status: v.status.into(),
            metrics: pn_health_metrics::from(v.metrics),
            last_heartbeat_us: v.last_heartbeat.total_micros(),
            recovery_attempts: v.recovery_attempts,
        });
        Ok(())
    })
}

/// Lists tracked nodes in registration order (a removal moves the last node
/// into the gap): writes the ids from position `offset` on, at most `capacity`,
/// to `out_nodes`, their number to `*out_written`, and the number of tracked
/// nodes to `*out_total` (if not NULL). Page by advancing `offset`.
///
/// # Safety
/// `manager` NULL or a live handle; `out_nodes` NULL or writable for `capacity`
/// ids; `out_written` NULL or writable; `out_total` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_nodes(
    manager: *const pn_crash_recovery,
    offset: usize,
    out_nodes: *mut pn_node_id,
    capacity: usize,
    out_written: *mut usize,
    out_total: *mut usize,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, slots, written, total) = unsafe {
            (
                pn_crash_recovery::borrow(manager)?,
                slots(out_nodes, capacity)?,
                Out::new(out_written)?,
                optional_out(out_total),
            )
        };
        let mut n = 0;
        for (slot, view) in slots.iter_mut().zip(m.nodes().skip(offset)) {
            slot.write(pn_node_id::from(view.id));
            n += 1;
        }
        written.set(n);
        if let Some(total) = total {
            total.set(m.len());
        }
        Ok(())
    })
}

/// Writes counts by status and the crashes of the last hour at `now_us` into `*out_summary`.
///
/// # Safety
/// `manager` NULL or a live handle; `out_summary` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_summary(
    manager: *const pn_crash_recovery,
    now_us: u64,
    out_summary: *mut pn_health_summary,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for both pointers.
        let (m, out) = unsafe { (pn_crash_recovery::borrow(manager)?, Out::new(out_summary)?) };
        let s = m.network_health_summary(Instant::from_micros(now_us));
        out.set(pn_health_summary::from(&s));
        Ok(())
    })
}

/// Reads retained events with a sequence number of at least `since_seq`,
/// oldest first: at most `capacity` go to `out_events`, their number to
/// `*out_written`. Reading consumes nothing; continue from the last event's
/// `seq + 1`. `*out_next_seq` (if not NULL) gets the sequence number the next
/// new event will have, and `*out_dropped` (if not NULL) how many events the
/// ring has pushed out so far (`PN_CRASH_RECOVERY_EVENTS` are retained).
///
/// # Safety
/// `manager` NULL or a live handle; `out_events` NULL or writable for
/// `capacity` events; the other out-pointers NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_crash_recovery_events(
    manager: *const pn_crash_recovery,
    since_seq: u64,
    out_events: *mut pn_recovery_event,
    capacity: usize,
    out_written: *mut usize,
    out_next_seq: *mut u64,
    out_dropped: *mut u64,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for every pointer.
        let (m, slots, written, next, dropped) = unsafe {
            (
                pn_crash_recovery::borrow(manager)?,
                slots(out_events, capacity)?,
                Out::new(out_written)?,
                optional_out(out_next_seq),
                optional_out(out_dropped),
            )
        };
        let mut n = 0;
        for (slot, event) in slots.iter_mut().zip(m.events_since(since_seq)) {
            slot.write(pn_recovery_event::from(event));
            n += 1;
        }
        written.set(n);
        if let Some(next) = next {
            next.set(m.next_event_seq());
        }
        if let Some(dropped) = dropped {
            dropped.set(m.dropped_events());
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests;
