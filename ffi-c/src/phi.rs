//! `pn_phi_detector`: a standalone phi-accrual failure detector for one
//! monitored process, over [`pouw_netops::PhiAccrualDetector`] with the large
//! preset's window.

use crate::boundary::{Handle, Out, guard, write_out};
use crate::convert::us;
use crate::result::pn_result;
use alloc::boxed::Box;
use pouw_netops::preset::large;
use pouw_netops::{Instant, PhiAccrualDetector, PhiConfig};

/// Intervals a detector's window can hold (`large::WINDOW`).
pub const PN_PHI_WINDOW: usize = 100;
const _: () = assert!(PN_PHI_WINDOW == large::WINDOW);
/// Intervals a detector's window holds in the `embedded` build (`small::WINDOW`).
pub const PN_SMALL_PHI_WINDOW: usize = 32;
const _: () = assert!(PN_SMALL_PHI_WINDOW == pouw_netops::preset::small::WINDOW);
/// This build's window.
#[cfg(feature = "std")]
const PHI_WINDOW: usize = PN_PHI_WINDOW;
#[cfg(not(feature = "std"))]
const PHI_WINDOW: usize = PN_SMALL_PHI_WINDOW;

/// Phi-accrual detector parameters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_phi_config {
    /// Phi at or above which the process is judged unavailable, in (0, 300] (default 8).
    pub threshold: f64,
    /// Intervals kept, at least 1; values above `PN_PHI_WINDOW` are capped (default `PN_PHI_WINDOW`).
    pub max_sample_size: u32,
    /// Floor of the standard deviation, microseconds, > 0 (default 100 ms).
    pub min_std_deviation_us: u64,
    /// Extra time added to the mean interval, microseconds (default 0).
    pub acceptable_heartbeat_pause_us: u64,
    /// Interval assumed before any is observed, microseconds, > 0 (default 1 s).
    pub first_heartbeat_estimate_us: u64,
}

impl From<&PhiConfig> for pn_phi_config {
    fn from(c: &PhiConfig) -> Self {
        pn_phi_config {
            threshold: c.threshold,
            max_sample_size: u32::try_from(c.max_sample_size.min(PHI_WINDOW)).unwrap_or(u32::MAX),
            min_std_deviation_us: c.min_std_deviation.total_micros(),
            acceptable_heartbeat_pause_us: c.acceptable_heartbeat_pause.total_micros(),
            first_heartbeat_estimate_us: c.first_heartbeat_estimate.total_micros(),
        }
    }
}

impl From<&pn_phi_config> for PhiConfig {
    fn from(c: &pn_phi_config) -> Self {
        PhiConfig {
            threshold: c.threshold,
            max_sample_size: usize::try_from(c.max_sample_size).unwrap_or(usize::MAX),
            min_std_deviation: us(c.min_std_deviation_us),
            acceptable_heartbeat_pause: us(c.acceptable_heartbeat_pause_us),
            first_heartbeat_estimate: us(c.first_heartbeat_estimate_us),
        }
    }
}

/// Statistics of a detector's heartbeat window.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct pn_phi_stats {
    /// Intervals in the window.
    pub sample_count: u32,
    /// Mean interval in microseconds (without the acceptable pause).
    pub mean_us: f64,
    /// Population standard deviation of the intervals in microseconds (before the floor).
    pub std_deviation_us: f64,
    /// Whether any heartbeat arrived (otherwise `last_heartbeat_us` is 0).
    pub has_heartbeat: bool,
    /// When the last heartbeat arrived, microseconds.
    pub last_heartbeat_us: u64,
    /// The instant phi reaches the threshold, microseconds (`UINT64_MAX` before any heartbeat).
    pub available_until_us: u64,
}

/// An opaque phi-accrual detector handle.
pub struct pn_phi_detector {
    _opaque: [u8; 0],
}

impl Handle for pn_phi_detector {
    type Inner = PhiAccrualDetector<PHI_WINDOW>;
}

/// Writes the default detector parameters (Akka's) into `*out`.
///
/// # Safety
/// `out` must be NULL or valid for writing a `pn_phi_config`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_phi_config_default(out: *mut pn_phi_config) -> pn_result {
    // SAFETY: the caller's promise for `out`.
    unsafe { write_out(out, || pn_phi_config::from(&PhiConfig::default())) }
}

/// Creates a detector with `*config` and stores the handle in `*out`.
/// `PN_ERR_INVALID_CONFIG` if a field is out of range.
///
/// # Safety
/// `config` NULL or readable; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_phi_detector_new(
    config: *const pn_phi_config,
    out: *mut *mut pn_phi_detector,
) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promises for `config` and `out`.
        let (config, out) = unsafe { (config.as_ref().ok_or(pn_result::PN_ERR_NULL_POINTER)?, Out::new(out)?) };
        let detector = PhiAccrualDetector::new(PhiConfig::from(config))?;
        out.set(pn_phi_detector::into_raw(Box::new(detector)));
        Ok(())
    })
}

/// Releases a detector; NULL is ignored. The handle is invalid afterwards.
///
/// # Safety
/// `detector` must be NULL or a live handle from `pn_phi_detector_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_phi_detector_free(detector: *mut pn_phi_detector) {
    // SAFETY: the caller's promise for `detector`.
    crate::boundary::catch_or((), || unsafe { pn_phi_detector::free(detector) })
}

/// Records a heartbeat arriving at `now_us` (earlier than the last one: clamped to it).
///
/// # Safety
/// `detector` must be NULL or a live handle not used by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_phi_detector_heartbeat(detector: *mut pn_phi_detector, now_us: u64) -> pn_result {
    // SAFETY: the caller's promise for `detector`.
    unsafe { pn_phi_detector::update(detector, |d| d.heartbeat(Instant::from_micros(now_us))) }
}

/// Writes phi at `now_us` into `*out_phi`: 0 before any heartbeat, never NaN,
/// `INFINITY` once the normal tail underflows.
///
/// # Safety
/// `detector` must be NULL or a live handle; `out_phi` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_phi_detector_phi(
    detector: *const pn_phi_detector,
    now_us: u64,
    out_phi: *mut f64,
) -> pn_result {
    // SAFETY: the caller's promises for `detector` and `out_phi`.
    unsafe { pn_phi_detector::query(detector, out_phi, |d| d.phi(Instant::from_micros(now_us))) }
}

/// Writes whether the process is available at `now_us` (phi below the
/// threshold; true before any heartbeat) into `*out_available`.
///
/// # Safety
/// `detector` must be NULL or a live handle; `out_available` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_phi_detector_is_available(
    detector: *const pn_phi_detector,
    now_us: u64,
    out_available: *mut bool,
) -> pn_result {
    // SAFETY: the caller's promises for `detector` and `out_available`.
    unsafe { pn_phi_detector::query(detector, out_available, |d| d.is_available(Instant::from_micros(now_us))) }
}

/// Writes the window's statistics into `*out_stats`.
///
/// # Safety
/// `detector` must be NULL or a live handle; `out_stats` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_phi_detector_stats(
    detector: *const pn_phi_detector,
    out_stats: *mut pn_phi_stats,
) -> pn_result {
    // SAFETY: the caller's promises for `detector` and `out_stats`.
    unsafe {
        pn_phi_detector::query(detector, out_stats, |d| {
            let w = d.window();
            pn_phi_stats {
                sample_count: u32::try_from(w.sample_count()).unwrap_or(u32::MAX),
                mean_us: w.mean_micros(),
                std_deviation_us: w.std_deviation_micros(),
                has_heartbeat: w.last_heartbeat().is_some(),
                last_heartbeat_us: w.last_heartbeat().map_or(0, Instant::total_micros),
                available_until_us: w.available_until().total_micros(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr::{null, null_mut};

    fn new_detector(config: &pn_phi_config) -> Result<*mut pn_phi_detector, pn_result> {
        let mut h = null_mut();
        // SAFETY: live locals.
        match unsafe { pn_phi_detector_new(config, &mut h) } {
            pn_result::PN_OK => Ok(h),
            e => Err(e),
        }
    }

    fn default_config() -> pn_phi_config {
        let mut c = pn_phi_config::from(&PhiConfig { threshold: 1.0, ..PhiConfig::default() });
        // SAFETY: a live local.
        assert_eq!(unsafe { pn_phi_config_default(&mut c) }, pn_result::PN_OK);
        c
    }

    #[test]
    fn defaults_are_the_core_defaults() {
        let c = default_config();
        let core = PhiConfig::default();
        assert_eq!(c.threshold, 8.0);
        assert_eq!(c.max_sample_size as usize, PN_PHI_WINDOW);
        assert_eq!(c.min_std_deviation_us, 100_000);
        assert_eq!(c.acceptable_heartbeat_pause_us, 0);
        assert_eq!(c.first_heartbeat_estimate_us, core.first_heartbeat_estimate.total_micros());
    }

    #[test]
    fn matches_the_core_detector_call_for_call() {
        let c = default_config();
        let h = new_detector(&c).unwrap();
        let mut reference: PhiAccrualDetector<{ large::WINDOW }> =
            PhiAccrualDetector::new(PhiConfig::default()).unwrap();
        let arrivals = [0u64, 900_000, 2_100_000, 2_950_000, 4_000_000, 3_000_000, 5_200_000];
        for t in arrivals {
            // SAFETY: a live handle.
            assert_eq!(unsafe { pn_phi_detector_heartbeat(h, t) }, pn_result::PN_OK);
            reference.heartbeat(Instant::from_micros(t));
            for probe in [t, t + 500_000, t + 3_000_000, t + 60_000_000, u64::MAX] {
                let (mut phi, mut available) = (-1.0, false);
                // SAFETY: a live handle and locals.
                unsafe {
                    assert_eq!(pn_phi_detector_phi(h, probe, &mut phi), pn_result::PN_OK);
                    assert_eq!(pn_phi_detector_is_available(h, probe, &mut available), pn_result::PN_OK);
                }
                let now = Instant::from_micros(probe);
                assert_eq!(phi.to_bits(), reference.phi(now).to_bits());
                assert_eq!(available, reference.is_available(now));
            }
        }
        let mut stats = pn_phi_stats {
            sample_count: 0,
            mean_us: 0.0,
            std_deviation_us: 0.0,
            has_heartbeat: false,
            last_heartbeat_us: 0,
            available_until_us: 0,
        };
        // SAFETY: a live handle and local.
        assert_eq!(unsafe { pn_phi_detector_stats(h, &mut stats) }, pn_result::PN_OK);
        assert_eq!(stats.sample_count as usize, reference.window().sample_count());
        assert!(stats.has_heartbeat);
        assert_eq!(stats.last_heartbeat_us, 5_200_000);
        assert_eq!(stats.available_until_us, reference.window().available_until().total_micros());
        // SAFETY: freed once, then NULL is a no-op.
        unsafe {
            pn_phi_detector_free(h);
            pn_phi_detector_free(null_mut());
        }
    }

    #[test]
    fn invalid_config_and_null_pointers_are_reported() {
        let bad = pn_phi_config { threshold: 0.0, ..default_config() };
        assert_eq!(new_detector(&bad), Err(pn_result::PN_ERR_INVALID_CONFIG));
        let bad = pn_phi_config { max_sample_size: 0, ..default_config() };
        assert_eq!(new_detector(&bad), Err(pn_result::PN_ERR_INVALID_CONFIG));
        let mut h = null_mut();
        let mut phi = 0.0;
        // SAFETY: NULL where the API allows detecting it; live locals otherwise.
        unsafe {
            assert_eq!(pn_phi_detector_new(null(), &mut h), pn_result::PN_ERR_NULL_POINTER);
            assert_eq!(pn_phi_detector_new(&default_config(), null_mut()), pn_result::PN_ERR_NULL_POINTER);
            assert_eq!(pn_phi_detector_heartbeat(null_mut(), 0), pn_result::PN_ERR_NULL_POINTER);
            assert_eq!(pn_phi_detector_phi(null(), 0, &mut phi), pn_result::PN_ERR_NULL_POINTER);
            let h = new_detector(&default_config()).unwrap();
            assert_eq!(pn_phi_detector_phi(h, 0, null_mut()), pn_result::PN_ERR_NULL_POINTER);
            assert_eq!(pn_phi_detector_is_available(h, 0, null_mut()), pn_result::PN_ERR_NULL_POINTER);
            assert_eq!(pn_phi_detector_stats(h, null_mut()), pn_result::PN_ERR_NULL_POINTER);
            pn_phi_detector_free(h);
        }
    }
}
