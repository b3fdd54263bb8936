//! Firmware-shaped probe: a reset handler that feeds heartbeats into the
//! `small` crash-recovery preset and sweeps for crashes, so the linker keeps the
//! code a real microcontroller node would carry. Never run; only measured.
#![no_std]
#![no_main]

use core::panic::PanicInfo;
use pouw_netops::preset::small;
use pouw_netops::{CrashRecoveryConfig, HealthMetrics, Instant, NodeId};

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}

#[cfg(feature = "alloc")]
mod heap {
    //! A fixed bump allocator, only so the `alloc` build links.
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicUsize, Ordering};

    const HEAP: usize = 64 * 1024;
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

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    #[cfg(not(feature = "alloc"))]
    let Ok(mut manager) = small::CrashRecoveryManager::new(CrashRecoveryConfig::default()) else { loop {} };
    #[cfg(feature = "alloc")]
    let Ok(mut manager) = small::CrashRecoveryManager::new_boxed(CrashRecoveryConfig::default()) else { loop {} };
    let ids = ["supervisor-0", "worker-1", "worker-2"];
    loop {
        let now = Instant::from_micros(input(0x4000_0000));
        let which = input(0x4000_0008) as usize % ids.len();
        let Ok(node) = NodeId::new(ids.get(which).copied().unwrap_or("x")) else { continue };
        let metrics = HealthMetrics { cpu_usage: (input(0x4000_0010) % 100) as f32 / 100.0, ..HealthMetrics::default() };
        let _ = manager.update_node_health(now, &node, metrics);
        let crashed = manager.detect_crashes(now).count();
        let summary = manager.network_health_summary(now);
        let phi = manager.phi(now, &node).unwrap_or(0.0);
        // SAFETY: never executed; stands for writing results to hardware.
        unsafe {
            core::ptr::write_volatile(0x4000_0100 as *mut usize, crashed + summary.online_nodes);
            core::ptr::write_volatile(0x4000_0108 as *mut f64, phi);
        }
    }
}
