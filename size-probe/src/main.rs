//! Firmware-shaped probe: a reset handler that feeds heartbeats into the
//! `small` crash-recovery preset and sweeps for crashes, so the linker keeps the
//! code a real microcontroller node would carry. Never run; only measured.
//!
//! Three builds (see `scripts/size-probe.sh` and `docs/embedded.md`):
//! - no features: crash recovery alone, no allocator;
//! - `worker`: a worker node's managers without `alloc` (crash recovery,
//!   election, worker replacement, mesh), each in a `static`, so `.bss` is
//!   their RAM;
//! - `node`: the small-preset coordinator (`NetworkOperationsManager`, which
//!   authenticates every message) as a worker node, with `alloc`; its heap is
//!   a 96 KiB arena in `.bss` (the budget), and the heap it actually uses is
//!   measured on the host by `harness/tests/ram_budget.rs`.
//!
//! With the `auth` feature it also runs the authentication layer a node
//! carries: key set-up from host bytes, a pairwise key, sealing a MAC'd
//! heartbeat, receiving one (parse, replay window, HMAC verify), verifying a
//! signed envelope and decoding and verifying a certificate. The difference in
//! `.text` is the layer's flash cost.
#![no_std]
#![no_main]

use core::panic::PanicInfo;
#[cfg(not(feature = "node"))]
use pouw_netops::preset::small;
#[cfg(not(feature = "node"))]
use pouw_netops::{CrashRecoveryConfig, HealthMetrics, Instant, NodeId};

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}

#[cfg(feature = "alloc")]
mod heap {
    //! A fixed bump allocator, only so the `alloc` build links (the probe is
    //! never run; a firmware uses a real allocator such as `embedded-alloc`).
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// The worker node's heap budget at peak (`docs/embedded.md`).
    const HEAP: usize = 96 * 1024;
    pub struct Bump {
        arena: UnsafeCell<[u8; HEAP]>,
        next: AtomicUsize,
    }
    // SAFETY: allocation only moves an atomic cursor; regions never overlap.
    unsafe impl Sync for Bump {}
    // SAFETY: returns disjoint, aligned regions inside the arena or null.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let base = self.arena.get() as usize;
            let mut result = core::ptr::null_mut();
            let _ = self.next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |next| {
                let start = (base + next).next_multiple_of(layout.align()) - base;
                let end = start.checked_add(layout.size())?;
                if end > HEAP {
                    return None;
                }
                result = (base + start) as *mut u8;
                Some(end)
            });
            result
        }
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }
    #[global_allocator]
    static ALLOCATOR: Bump = Bump { arena: UnsafeCell::new([0; HEAP]), next: AtomicUsize::new(0) };
}

/// Reads a value the optimiser cannot predict (a memory-mapped register on real hardware).
fn input(addr: usize) -> u64 {
    // SAFETY: never executed; the probe is only linked and measured.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

#[cfg(feature = "auth")]
mod auth {
    //! The authentication layer's receive and send paths, fed from "registers".
    use super::input;
    use pouw_netops::NodeId;
    use pouw_netops::auth::seal;
    use pouw_netops::auth::{
        IdentityKey, PairwiseKey, PublicIdentity, ReplayWindow, RevocationList, SignedCertificate,
    };

    fn bytes<const N: usize>(base: usize) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, b) in out.iter_mut().enumerate() {
            *b = input(base + i) as u8;
        }
        out
    }

    pub fn exercise(peer: &NodeId) -> usize {
        let me = IdentityKey::from_seed(&bytes::<32>(0x4001_0000));
        let Ok(authority) = PublicIdentity::from_bytes(&bytes::<32>(0x4001_0100)) else { return 0 };
        let Ok(peer_key) = PublicIdentity::from_bytes(&bytes::<32>(0x4001_0200)) else { return 0 };
        let Ok(pairwise) = PairwiseKey::derive(&me, &peer_key, &authority) else { return 0 };
        let Ok(my_id) = NodeId::new("worker-1") else { return 0 };
        let mut window = ReplayWindow::<16>::new();
        let received = bytes::<256>(0x4002_0000);
        let len = (input(0x4002_1000) as usize).min(received.len());
        let mut ok = 0;
        if let Ok(u) = seal::parse(received.get(..len).unwrap_or(&[])) {
            let mac = window
                .check(u.epoch, u.counter)
                .is_ok()
                .then(|| u.verify_mac(&pairwise, &my_id, 1))
                .is_some_and(|r| r.is_ok());
            if mac && window.accept(u.epoch, u.counter).is_ok() {
                ok += u.body.len();
            }
            if u.verify_signed(&peer_key, &authority).is_ok() {
                ok += 1;
            }
        }
        let mut out = [0u8; 128];
        let body = bytes::<40>(0x4003_0000);
        if let Ok(n) = seal::seal_mac(&mut out, &my_id, peer, 1, 1, input(0x4003_1000), &body, &pairwise) {
            ok += n;
        }
        let cert = bytes::<512>(0x4004_0000);
        let clen = (input(0x4004_1000) as usize).min(cert.len());
        if let Ok(c) = SignedCertificate::decode(cert.get(..clen).unwrap_or(&[])) {
            if let Ok(c) = c.verify(&authority, input(0x4004_2000), None, Some(peer), &RevocationList::empty()) {
                ok += usize::from(c.slots);
            }
        }
        ok
    }
}

#[cfg(feature = "worker")]
mod worker {
    //! A worker node's managers without `alloc`, each in a `static`.
    use super::input;
    use core::mem::MaybeUninit;
    use pouw_netops::election::ElectionConfig;
    use pouw_netops::mesh::{Endpoint, MeshConfig, MeshNode, WgKey};
    use pouw_netops::preset::small;
    use pouw_netops::workers::WorkerConfig;
    use pouw_netops::{Instant, NodeId};

    static mut ELECTION: MaybeUninit<small::LeaderElectionManager> = MaybeUninit::uninit();
    static mut WORKERS: MaybeUninit<small::WorkerReplacementManager> = MaybeUninit::uninit();
    static mut MESH: MaybeUninit<small::VPNMeshTopologyManager> = MaybeUninit::uninit();

    /// Builds the managers in their statics (once, at reset).
    pub fn init(me: &NodeId, voters: &[NodeId]) -> bool {
        let Ok(e) = small::LeaderElectionManager::new(ElectionConfig::default(), me.clone(), voters, Instant::ZERO)
        else {
            return false;
        };
        let Ok(w) = small::WorkerReplacementManager::new(WorkerConfig::default()) else { return false };
        let Ok(m) = small::VPNMeshTopologyManager::new(MeshConfig::new(me.clone())) else { return false };
        // SAFETY: single-threaded reset code, before any reference to the statics exists.
        unsafe {
            (&raw mut ELECTION).cast::<small::LeaderElectionManager>().write(e);
            (&raw mut WORKERS).cast::<small::WorkerReplacementManager>().write(w);
            (&raw mut MESH).cast::<small::VPNMeshTopologyManager>().write(m);
        }
        true
    }

    /// One turn of the node loop: election and mesh timers, a peer joining the mesh.
    pub fn step(now: Instant, peer: &NodeId) -> usize {
        // SAFETY: `init` wrote the statics; the loop is the only user.
        let (election, workers, mesh) = unsafe {
            (
                &mut *(&raw mut ELECTION).cast::<small::LeaderElectionManager>(),
                &*(&raw const WORKERS).cast::<small::WorkerReplacementManager>(),
                &mut *(&raw mut MESH).cast::<small::VPNMeshTopologyManager>(),
            )
        };
        election.tick(now);
        let mut n = 0;
        while election.poll_transmit().is_some() {
            n += 1;
        }
        if input(0x4005_0000) & 1 == 1 {
            let endpoint = Endpoint::parse("10.0.0.2:51820");
            if let Ok(endpoint) = endpoint {
                let _ = mesh.join_mesh(now, MeshNode::new(peer.clone(), WgKey::placeholder(peer), endpoint));
            }
        }
        let _ = mesh.monitor_tunnel_health(now);
        mesh.recompute_routes(now);
        while mesh.poll_event().is_some() {
            n += 1;
        }
        n + workers.tasks().count()
    }
}

#[cfg(feature = "node")]
mod node {
    //! The small-preset coordinator as a worker node: credentials from "flash",
    //! datagrams in from a "radio", transmits out.
    use super::input;
    use pouw_netops::auth::{IdentityKey, PublicIdentity, SignedCertificate};
    use pouw_netops::coordinator::{Credentials, OpsConfig};
    use pouw_netops::preset::small;
    use pouw_netops::{Instant, NodeId, NodeRole};

    fn bytes<const N: usize>(base: usize) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, b) in out.iter_mut().enumerate() {
            *b = input(base + i) as u8;
        }
        out
    }

    pub fn run() -> ! {
        let Ok(me) = NodeId::new("worker-1") else { loop {} };
        let Ok(sup) = NodeId::new("supervisor-0") else { loop {} };
        let cert = bytes::<1400>(0x4006_0000);
        let clen = (input(0x4006_1000) as usize).min(cert.len());
        let Ok(certificate) = SignedCertificate::decode(cert.get(..clen).unwrap_or(&[])) else { loop {} };
        let Ok(authority) = PublicIdentity::from_bytes(&bytes::<32>(0x4006_2000)) else { loop {} };
        let credentials = Credentials {
            identity: IdentityKey::from_seed(&bytes::<32>(0x4006_3000)),
            certificate,
            authority,
            epoch: input(0x4006_4000),
            unix_at_zero: input(0x4006_4008),
        };
        let Ok(mut node) = small::NetworkOperationsManager::new(
            me,
            NodeRole::Worker,
            &[sup],
            OpsConfig::small(),
            input(0x4006_4010),
            credentials,
        ) else {
            loop {}
        };
        if node.start(Instant::from_micros(input(0x4000_0000))).is_err() {
            loop {}
        }
        loop {
            let now = Instant::from_micros(input(0x4000_0000));
            let datagram = bytes::<512>(0x4007_0000);
            let len = (input(0x4007_1000) as usize).min(datagram.len());
            if len > 0 {
                let _ = node.handle_message(now, datagram.get(..len).unwrap_or(&[]));
            }
            if now >= node.poll_timeout() {
                node.tick(now);
            }
            while let Some(t) = node.poll_transmit() {
                for (i, b) in t.bytes.iter().enumerate() {
                    // SAFETY: never executed; stands for the radio's transmit FIFO.
                    unsafe { core::ptr::write_volatile((0x4008_0000 + i) as *mut u8, *b) };
                }
            }
            let mut events = 0usize;
            while node.poll_event().is_some() {
                events += 1;
            }
            // SAFETY: never executed; stands for writing results to hardware.
            unsafe { core::ptr::write_volatile(0x4000_0100 as *mut usize, events) };
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    #[cfg(feature = "node")]
    node::run();
    #[cfg(not(feature = "node"))]
    crash_loop()
}

/// The crash-recovery loop (with the worker's managers in the `worker` build).
#[cfg(not(feature = "node"))]
fn crash_loop() -> ! {
    #[cfg(feature = "worker")]
    {
        let (Ok(me), Ok(sup)) = (NodeId::new("worker-1"), NodeId::new("supervisor-0")) else { loop {} };
        if !worker::init(&me, &[me.clone(), sup]) {
            loop {}
        }
    }
    #[cfg(not(feature = "alloc"))]
    let Ok(mut manager) = small::CrashRecoveryManager::new(CrashRecoveryConfig::default()) else { loop {} };
    #[cfg(feature = "alloc")]
    let Ok(mut manager) = small::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::default()) else { loop {} };
    let ids = ["supervisor-0", "worker-1", "worker-2"];
    loop {
        let now = Instant::from_micros(input(0x4000_0000));
        let which = input(0x4000_0008) as usize % ids.len();
        let Ok(node) = NodeId::new(ids.get(which).copied().unwrap_or("x")) else { continue };
        let metrics =
            HealthMetrics { cpu_usage: (input(0x4000_0010) % 100) as f32 / 100.0, ..HealthMetrics::default() };
        let _ = manager.update_node_health(now, &node, metrics);
        let crashed = manager.detect_crashes(now).count();
        let summary = manager.network_health_summary(now);
        let phi = manager.phi(now, &node).unwrap_or(0.0);
        #[cfg(feature = "auth")]
        let crashed = crashed + auth::exercise(&node);
        #[cfg(feature = "worker")]
        let crashed = crashed + worker::step(now, &node);
        // SAFETY: never executed; stands for writing results to hardware.
        unsafe {
            core::ptr::write_volatile(0x4000_0100 as *mut usize, crashed + summary.online_nodes);
            core::ptr::write_volatile(0x4000_0108 as *mut f64, phi);
        }
    }
}
