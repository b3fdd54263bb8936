//! Overhead of a `pn_` call over the direct Rust call (goal: ≤ 20 ns median),
//! for a heartbeat and a phi query on the standalone phi detector. The
//! `extern "C"` functions are called from Rust through the rlib, so the
//! figures include the panic boundary and NULL checks but not a C compiler's
//! call sequence.
//!
//! Run: `cargo bench -p pouw-netops-c --bench ffi_overhead`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{Criterion, criterion_group, criterion_main};
use pouw_netops::preset::large;
use pouw_netops::{Instant, PhiAccrualDetector, PhiConfig};
use pouw_netops_c::phi::*;
use pouw_netops_c::pn_result;
use std::hint::black_box;
use std::time::Duration;

const STEP_US: u64 = 1_000_000;

fn phi_detector(c: &mut Criterion) {
    let mut g = c.benchmark_group("phi_detector");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30);

    let mut direct: Box<PhiAccrualDetector<{ large::WINDOW }>> =
        Box::new(PhiAccrualDetector::new(PhiConfig::default()).unwrap());
    let mut t = 0u64;
    g.bench_function("heartbeat/rust", |b| {
        b.iter(|| {
            t += STEP_US;
            direct.heartbeat(Instant::from_micros(black_box(t)));
        })
    });
    g.bench_function("phi/rust", |b| b.iter(|| black_box(direct.phi(Instant::from_micros(black_box(t + 500_000))))));

    let mut config = std::mem::MaybeUninit::uninit();
    let mut handle = std::ptr::null_mut();
    // SAFETY: live locals; the handle is freed below.
    unsafe {
        assert_eq!(pn_phi_config_default(config.as_mut_ptr()), pn_result::PN_OK);
        assert_eq!(pn_phi_detector_new(config.as_ptr(), &mut handle), pn_result::PN_OK);
    }
    let mut t = 0u64;
    g.bench_function("heartbeat/pn", |b| {
        b.iter(|| {
            t += STEP_US;
            // SAFETY: a live handle.
            black_box(unsafe { pn_phi_detector_heartbeat(handle, black_box(t)) })
        })
    });
    let mut phi = 0.0;
    g.bench_function("phi/pn", |b| {
        b.iter(|| {
            // SAFETY: a live handle and local.
            black_box(unsafe { pn_phi_detector_phi(handle, black_box(t + 500_000), &mut phi) });
            black_box(phi)
        })
    });
    // SAFETY: freed once.
    unsafe { pn_phi_detector_free(handle) };
    g.finish();
}

criterion_group!(benches, phi_detector);
criterion_main!(benches);
