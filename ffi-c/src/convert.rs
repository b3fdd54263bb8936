//! Plain C structs for the core's shared types (node ids, health metrics and
//! thresholds, node status) and the conversions both ways.
//!
//! Ids come in as UTF-8 pointer + length and go out as fixed-size
//! [`pn_node_id`] values, so no pointer into library memory ever escapes.
//! Enum values that C passes in arrive as integers and are validated.

use crate::boundary::{bytes, write_out};
use crate::result::pn_result;
use alloc::vec::Vec;
use core::ffi::c_char;
use pouw_netops::health::{HealthMetrics, HealthThresholds, NodeStatus};
use pouw_netops::{Duration, NodeId, TaskId, TaskType};

/// The longest node id, in bytes of UTF-8.
pub const PN_MAX_ID_LEN: usize = 64;
const _: () = assert!(PN_MAX_ID_LEN == pouw_netops::id::MAX_ID_LEN);

/// A node id returned by the library: `len` bytes of UTF-8 in `bytes`, not
/// NUL-terminated (`len` < `PN_MAX_ID_LEN` leaves the rest zeroed).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct pn_node_id {
    /// Length in bytes, 1 to `PN_MAX_ID_LEN`.
    pub len: usize,
    /// The UTF-8 bytes; only the first `len` are meaningful.
    pub bytes: [u8; PN_MAX_ID_LEN],
}

impl From<&NodeId> for pn_node_id {
    fn from(id: &NodeId) -> Self {
        let mut out = pn_node_id { len: 0, bytes: [0; PN_MAX_ID_LEN] };
        let src = id.as_bytes();
        // `NodeId` holds at most MAX_ID_LEN bytes, so this never truncates.
        for (dst, b) in out.bytes.iter_mut().zip(src) {
            *dst = *b;
        }
        out.len = src.len().min(PN_MAX_ID_LEN);
        out
    }
}

/// Reads a node id given as UTF-8 pointer + length.
///
/// # Safety
/// Unless NULL, `ptr` must be valid for reads of `len` bytes.
#[inline(always)]
pub unsafe fn node_id(ptr: *const c_char, len: usize) -> Result<NodeId, pn_result> {
    if len > PN_MAX_ID_LEN {
        return Err(pn_result::PN_ERR_INVALID_ID);
    }
    // SAFETY: forwarded caller promise; NULL is checked inside.
    let raw = unsafe { bytes(ptr.cast::<u8>(), len) }?;
    let s = core::str::from_utf8(raw).map_err(|_| pn_result::PN_ERR_INVALID_ID)?;
    Ok(NodeId::new(s)?)
}

/// A task id or task type returned by the library, laid out as [`pn_node_id`].
pub type pn_task_id = pn_node_id;

impl pn_node_id {
    /// Copies `s` (at most `PN_MAX_ID_LEN` bytes: every core id is) into a C id.
    pub fn from_text(s: &str) -> Self {
        let mut out = pn_node_id { len: 0, bytes: [0; PN_MAX_ID_LEN] };
        for (dst, b) in out.bytes.iter_mut().zip(s.as_bytes()) {
            *dst = *b;
        }
        out.len = s.len().min(PN_MAX_ID_LEN);
        out
    }

    /// The all-zero id (length 0), written where an optional id is absent.
    pub const EMPTY: pn_node_id = pn_node_id { len: 0, bytes: [0; PN_MAX_ID_LEN] };

    /// The id, or [`pn_node_id::EMPTY`] for `None`.
    pub fn from_opt(id: Option<&NodeId>) -> Self {
        id.map_or(Self::EMPTY, pn_node_id::from)
    }
}

/// A string passed in by C: `len` bytes of UTF-8 at `ptr` (not NUL-terminated).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct pn_str {
    /// The bytes; may be NULL only if `len` is 0.
    pub ptr: *const c_char,
    /// Length in bytes.
    pub len: usize,
}

/// Reads a UTF-8 string given as pointer + length (NULL allowed with length 0).
///
/// # Safety
/// Unless NULL, `ptr` must be valid for reads of `len` bytes for `'a`.
#[inline(always)]
pub unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, pn_result> {
    // SAFETY: forwarded caller promise; NULL is checked inside.
    let raw = unsafe { bytes(ptr.cast::<u8>(), len) }?;
    core::str::from_utf8(raw).map_err(|_| pn_result::PN_ERR_INVALID_ARGUMENT)
}

/// Reads an optional filter string: NULL or length 0 means "none".
///
/// # Safety
/// As [`text`].
#[inline(always)]
pub unsafe fn opt_text<'a>(ptr: *const c_char, len: usize) -> Result<Option<&'a str>, pn_result> {
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: forwarded caller promise.
    unsafe { text(ptr, len) }.map(Some)
}

/// Reads a task id given as UTF-8 pointer + length.
///
/// # Safety
/// As [`node_id`].
#[inline(always)]
pub unsafe fn task_id(ptr: *const c_char, len: usize) -> Result<TaskId, pn_result> {
    // SAFETY: forwarded caller promise.
    let s = unsafe { text(ptr, len) }.map_err(|_| pn_result::PN_ERR_INVALID_ID)?;
    Ok(TaskId::new(s)?)
}

/// Reads a task type given as UTF-8 pointer + length.
///
/// # Safety
/// As [`node_id`].
#[inline(always)]
pub unsafe fn task_type(ptr: *const c_char, len: usize) -> Result<TaskType, pn_result> {
    // SAFETY: forwarded caller promise.
    let s = unsafe { text(ptr, len) }.map_err(|_| pn_result::PN_ERR_INVALID_ID)?;
    Ok(TaskType::new(s)?)
}

/// Reads `count` node ids from a C array of [`pn_str`].
///
/// # Safety
/// Unless NULL, `ptr` must be valid for reads of `count` elements, each valid as for [`node_id`].
pub unsafe fn node_ids(ptr: *const pn_str, count: usize) -> Result<Vec<NodeId>, pn_result> {
    let count = crate::boundary::count::<pn_str>(count)?;
    if ptr.is_null() {
        return if count == 0 { Ok(Vec::new()) } else { Err(pn_result::PN_ERR_NULL_POINTER) };
    }
    // SAFETY: non-NULL and, by the caller's promise, valid for `count` elements.
    let items = unsafe { core::slice::from_raw_parts(ptr, count) };
    // SAFETY: each element's promise is the caller's.
    items.iter().map(|s| unsafe { node_id(s.ptr, s.len) }).collect()
}

/// A span in microseconds.
pub const fn us(micros: u64) -> Duration {
    Duration::from_micros(micros)
}

/// Ties a C enum to the core enum it mirrors, variant for variant: `From` the
/// core's value, and with `in`, `$c::core_of`, the core's value of an integer
/// C passed in (`None` if it names no variant: C enums arrive as integers).
/// One conversion for every mirrored enum (the C declarations stay plain for
/// cbindgen, which does not expand macros).
macro_rules! mirror_enum {
    ($core:ident => $c:ident { $($from:ident => $to:ident),+ $(,)? }) => {
        impl From<$core> for $c {
            fn from(v: $core) -> Self {
                match v {
                    $($core::$from => $c::$to,)+
                }
            }
        }
    };
    (in $core:ident => $c:ident { $($from:ident => $to:ident),+ $(,)? }) => {
        $crate::convert::mirror_enum!($core => $c { $($from => $to),+ });
        impl $c {
            /// The core's value of the C integer `v`, `None` if it names no variant.
            pub(crate) fn core_of(v: u32) -> Option<$core> {
                $(if v == $c::$to as u32 {
                    return Some($core::$from);
                })+
                None
            }
        }
    };
}
pub(crate) use mirror_enum;

/// Where a node stands in the crash-recovery status machine.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pn_node_status {
    /// Heartbeats arrive and metrics are healthy.
    PN_NODE_ONLINE = 0,
    /// Phi passed the suspect level, or metrics are unhealthy.
    PN_NODE_SUSPECTED = 1,
    /// Phi passed the failure threshold: the node is considered crashed.
    PN_NODE_OFFLINE = 2,
    /// A recovery is under way.
    PN_NODE_RECOVERING = 3,
    /// A recovery did not succeed in time or attempts ran out.
    PN_NODE_FAILED = 4,
}

mirror_enum!(NodeStatus => pn_node_status {
    Online => PN_NODE_ONLINE,
    Suspected => PN_NODE_SUSPECTED,
    Offline => PN_NODE_OFFLINE,
    Recovering => PN_NODE_RECOVERING,
    Failed => PN_NODE_FAILED,
});

/// The health figures a node reports about itself. Fractions are in [0, 1].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_health_metrics {
    /// Observed response time, microseconds.
    pub response_time_us: u64,
    /// Fraction of requests that succeeded.
    pub success_rate: f32,
    /// Fraction of assigned tasks completed.
    pub task_completion_rate: f32,
    /// Fraction of link bandwidth in use.
    pub bandwidth_utilization: f32,
    /// Fraction of CPU in use.
    pub cpu_usage: f32,
    /// Fraction of memory in use.
    pub memory_usage: f32,
}

impl From<&HealthMetrics> for pn_health_metrics {
    fn from(m: &HealthMetrics) -> Self {
        pn_health_metrics {
            response_time_us: m.response_time.total_micros(),
            success_rate: m.success_rate,
            task_completion_rate: m.task_completion_rate,
            bandwidth_utilization: m.bandwidth_utilization,
            cpu_usage: m.cpu_usage,
            memory_usage: m.memory_usage,
        }
    }
}

impl From<&pn_health_metrics> for HealthMetrics {
    fn from(m: &pn_health_metrics) -> Self {
        HealthMetrics {
            response_time: us(m.response_time_us),
            success_rate: m.success_rate,
            task_completion_rate: m.task_completion_rate,
            bandwidth_utilization: m.bandwidth_utilization,
            cpu_usage: m.cpu_usage,
            memory_usage: m.memory_usage,
        }
    }
}

/// Limits a node's metrics must meet to count as healthy (all exclusive).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_health_thresholds {
    /// Oldest acceptable heartbeat, microseconds (default 30 s).
    pub max_heartbeat_age_us: u64,
    /// Lowest acceptable success rate (default 0.8).
    pub min_success_rate: f32,
    /// Slowest acceptable response time, microseconds (default 5 s).
    pub max_response_time_us: u64,
    /// Highest acceptable CPU usage (default 0.9).
    pub max_cpu_usage: f32,
    /// Highest acceptable memory usage (default 0.9).
    pub max_memory_usage: f32,
}

impl From<&HealthThresholds> for pn_health_thresholds {
    fn from(t: &HealthThresholds) -> Self {
        pn_health_thresholds {
            max_heartbeat_age_us: t.max_heartbeat_age.total_micros(),
            min_success_rate: t.min_success_rate,
            max_response_time_us: t.max_response_time.total_micros(),
            max_cpu_usage: t.max_cpu_usage,
            max_memory_usage: t.max_memory_usage,
        }
    }
}

impl From<&pn_health_thresholds> for HealthThresholds {
    fn from(t: &pn_health_thresholds) -> Self {
        HealthThresholds {
            max_heartbeat_age: us(t.max_heartbeat_age_us),
            min_success_rate: t.min_success_rate,
            max_response_time: us(t.max_response_time_us),
            max_cpu_usage: t.max_cpu_usage,
            max_memory_usage: t.max_memory_usage,
        }
    }
}

/// Writes the metrics of a fully healthy, idle node into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_health_metrics`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_health_metrics_default(out: *mut pn_health_metrics) -> pn_result {
    // SAFETY: the caller's promise for `out`.
    unsafe { write_out(out, || pn_health_metrics::from(&HealthMetrics::default())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_id_is_validated() {
        let ok = "worker-1";
        // SAFETY: pointers to live local data with their true lengths.
        unsafe {
            assert_eq!(node_id(ok.as_ptr().cast(), ok.len()).unwrap().as_str(), ok);
            assert_eq!(node_id(ok.as_ptr().cast(), 0), Err(pn_result::PN_ERR_INVALID_ID));
            assert_eq!(node_id(core::ptr::null(), 0), Err(pn_result::PN_ERR_INVALID_ID));
            assert_eq!(node_id(core::ptr::null(), 3), Err(pn_result::PN_ERR_NULL_POINTER));
            let long = [b'a'; 65];
            assert_eq!(node_id(long.as_ptr().cast(), 65), Err(pn_result::PN_ERR_INVALID_ID));
            assert!(node_id(long.as_ptr().cast(), 64).is_ok());
            let bad = [0xffu8, 0xfe];
            assert_eq!(node_id(bad.as_ptr().cast(), 2), Err(pn_result::PN_ERR_INVALID_ID));
        }
    }

    #[test]
    fn node_id_round_trips_through_the_c_struct() {
        let id = NodeId::new("ü-node").unwrap();
        let c = pn_node_id::from(&id);
        assert_eq!(c.len, id.as_bytes().len());
        assert_eq!(&c.bytes[..c.len], id.as_bytes());
        assert!(c.bytes[c.len..].iter().all(|b| *b == 0));
    }

    #[test]
    fn metrics_and_thresholds_round_trip() {
        let m = HealthMetrics { response_time: us(1234), cpu_usage: 0.5, ..HealthMetrics::default() };
        assert_eq!(HealthMetrics::from(&pn_health_metrics::from(&m)), m);
        let t = HealthThresholds::default();
        assert_eq!(HealthThresholds::from(&pn_health_thresholds::from(&t)), t);
        let mut out = pn_health_metrics::from(&m);
        // SAFETY: a live local.
        assert_eq!(unsafe { pn_health_metrics_default(&mut out) }, pn_result::PN_OK);
        assert_eq!(HealthMetrics::from(&out), HealthMetrics::default());
    }
}

#[cfg(test)]
mod mirror_tests {
    use crate::election::pn_equivocation_policy;
    use crate::mesh::pn_wireguard_format;
    use crate::ops::pn_node_role;
    use pouw_netops::NodeRole;
    use pouw_netops::election::EquivocationPolicy;
    use pouw_netops::mesh::WireGuardFormat;

    /// An integer C passes in names the core variant the C enum mirrors, and
    /// the C value of every core variant comes back to it; others are `None`.
    #[test]
    fn integers_from_c_map_to_the_mirrored_variants() {
        for p in
            [EquivocationPolicy::KeepCounting, EquivocationPolicy::IgnoreForTerm, EquivocationPolicy::IgnoreForever]
        {
            assert_eq!(pn_equivocation_policy::core_of(pn_equivocation_policy::from(p) as u32), Some(p));
        }
        assert_eq!(pn_equivocation_policy::core_of(1), Some(EquivocationPolicy::IgnoreForTerm));
        for r in [NodeRole::Supervisor, NodeRole::Worker] {
            assert_eq!(pn_node_role::core_of(pn_node_role::from(r) as u32), Some(r));
        }
        assert_eq!(pn_node_role::core_of(1), Some(NodeRole::Worker));
        assert!(matches!(pn_wireguard_format::core_of(0), Some(WireGuardFormat::WgQuick)));
        assert!(matches!(pn_wireguard_format::core_of(1), Some(WireGuardFormat::SetConf)));
        for unknown in [2, 3, u32::MAX] {
            assert!(pn_wireguard_format::core_of(unknown).is_none());
            assert!(pn_node_role::core_of(unknown).is_none());
            assert_eq!(pn_equivocation_policy::core_of(unknown.max(3)), None);
        }
    }
}
