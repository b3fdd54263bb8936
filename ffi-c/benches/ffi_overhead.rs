//! Overhead of a `pn_` call over the direct Rust call (goal: ≤ 20 ns median),
//! for a heartbeat and a phi query, on the standalone detector and on the
//! crash-recovery manager (1000 tracked nodes). The `extern "C"` functions are
//! called from Rust through the rlib, so the figures include the panic
//! boundary, NULL checks and id validation but not a C compiler's call sequence.
//!
//! The `election` group measures a follower stepping a leader's heartbeat given
//! as wire bytes (decode included on both sides), among 5 voters.
//!
//! Run: `cargo bench -p pouw-netops-c --bench ffi_overhead`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::{Criterion, criterion_group, criterion_main};
use pouw_netops::preset::large;
use pouw_netops::{CrashRecoveryConfig, Instant, NodeId, PhiAccrualDetector, PhiConfig};
use pouw_netops_c::managers::crash_recovery::*;
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

fn crash_recovery(c: &mut Criterion) {
    let mut g = c.benchmark_group("crash_recovery");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30);
    let names: Vec<String> = (0..1000).map(|i| format!("worker-{i:04}")).collect();
    let ids: Vec<NodeId> = names.iter().map(|n| NodeId::new(n).unwrap()).collect();

    let mut direct = large::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::default()).unwrap();
    for id in &ids {
        direct.heartbeat(Instant::ZERO, id).unwrap();
    }
    let (mut t, mut i) = (0u64, 0usize);
    g.bench_function("heartbeat/rust", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            t += 1_000;
            // The Rust caller builds its NodeId from a string, as the C caller's id is validated.
            let id = NodeId::new(black_box(&names[i])).unwrap();
            direct.heartbeat(Instant::from_micros(t), &id).unwrap();
        })
    });
    g.bench_function("phi/rust", |b| {
        b.iter(|| {
            i = (i + 1) % ids.len();
            let id = NodeId::new(black_box(&names[i])).unwrap();
            black_box(direct.phi(Instant::from_micros(t), &id).unwrap())
        })
    });

    let mut config = std::mem::MaybeUninit::uninit();
    let mut handle = std::ptr::null_mut();
    // SAFETY: live locals; the handle is freed below.
    unsafe {
        assert_eq!(pn_crash_recovery_config_default(config.as_mut_ptr()), pn_result::PN_OK);
        assert_eq!(pn_crash_recovery_new(config.as_ptr(), &mut handle), pn_result::PN_OK);
        for n in &names {
            assert_eq!(pn_crash_recovery_heartbeat(handle, 0, n.as_ptr().cast(), n.len()), pn_result::PN_OK);
        }
    }
    let (mut t, mut i) = (0u64, 0usize);
    g.bench_function("heartbeat/pn", |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            t += 1_000;
            let n = black_box(&names[i]);
            // SAFETY: a live handle and string.
            black_box(unsafe { pn_crash_recovery_heartbeat(handle, t, n.as_ptr().cast(), n.len()) })
        })
    });
    let mut phi = 0.0;
    g.bench_function("phi/pn", |b| {
        b.iter(|| {
            i = (i + 1) % names.len();
            let n = black_box(&names[i]);
            // SAFETY: a live handle, string and local.
            black_box(unsafe { pn_crash_recovery_phi(handle, t, n.as_ptr().cast(), n.len(), &mut phi) });
            black_box(phi)
        })
    });
    // SAFETY: freed once.
    unsafe { pn_crash_recovery_free(handle) };
    g.finish();
}

fn election(c: &mut Criterion) {
    use pouw_netops::wire::{Body, Envelope, LeaderHeartbeat};
    use pouw_netops::{ElectionConfig, LeaderElectionManager};
    use pouw_netops_c::convert::pn_str;
    use pouw_netops_c::managers::election::*;
    let mut g = c.benchmark_group("election");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(30);
    let names: Vec<String> = (0..5).map(|i| format!("sup-{i}")).collect();
    let ids: Vec<NodeId> = names.iter().map(|n| NodeId::new(n).unwrap()).collect();
    let bytes = Envelope::new(ids[0].clone(), Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 })).to_vec().unwrap();

    let mut direct: Box<large::LeaderElectionManager> =
        LeaderElectionManager::new_boxed(ElectionConfig::default(), ids[1].clone(), &ids, Instant::ZERO).unwrap();
    let mut t = 0u64;
    g.bench_function("step_heartbeat/rust", |b| {
        b.iter(|| {
            t += 1_000;
            let e = Envelope::decode(black_box(&bytes)).unwrap();
            direct.step(Instant::from_micros(t), &e).unwrap();
        })
    });

    let voters: Vec<pn_str> = names.iter().map(|n| pn_str { ptr: n.as_ptr().cast(), len: n.len() }).collect();
    let mut config = std::mem::MaybeUninit::uninit();
    let mut handle = std::ptr::null_mut();
    // SAFETY: live locals; the handle is freed below.
    unsafe {
        assert_eq!(pn_leader_election_config_default(config.as_mut_ptr()), pn_result::PN_OK);
        let r = pn_leader_election_new(
            config.as_ptr(),
            names[1].as_ptr().cast(),
            names[1].len(),
            voters.as_ptr(),
            voters.len(),
            std::ptr::null(),
            0,
            &mut handle,
        );
        assert_eq!(r, pn_result::PN_OK);
    }
    let mut t = 0u64;
    g.bench_function("step_heartbeat/pn", |b| {
        b.iter(|| {
            t += 1_000;
            let m = black_box(&bytes);
            // SAFETY: a live handle and buffer.
            black_box(unsafe { pn_leader_election_step(handle, t, m.as_ptr(), m.len()) })
        })
    });
    // SAFETY: freed once.
    unsafe { pn_leader_election_free(handle) };
    g.finish();
}

criterion_group!(benches, phi_detector, crash_recovery, election);
criterion_main!(benches);
