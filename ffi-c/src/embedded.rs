//! What a `no_std` build (feature `embedded`) needs from its surroundings, and
//! nothing more than a C firmware's runtime provides: the heap is the C
//! library's `malloc` and `free` (newlib's on an arm-none-eabi toolchain), and a
//! panic, which the core never raises by design, calls the C library's `abort`
//! (the library is built with `panic = "abort"`: there is no unwinding to
//! catch). The firmware calls the library from one thread (its main loop).

use core::alloc::{GlobalAlloc, Layout};

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn abort() -> !;
}

/// The alignment C's `malloc` guarantees on every 32-bit Arm EABI target
/// (and more on hosts).
const MALLOC_ALIGN: usize = 8;

/// The heap: `malloc`/`free`, over-allocating for alignments above 8 and
/// keeping the block's start just below the aligned pointer.
pub struct CHeap;

// SAFETY: small alignments are malloc's own; for larger ones the block is
// `size + align` bytes, the returned pointer the first `align`-aligned address
// at least one word in, and the word before it holds the block's start.
unsafe impl GlobalAlloc for CHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: plain malloc; a zero-size layout never reaches a GlobalAlloc.
            return unsafe { malloc(layout.size()) };
        }
        let Some(total) = layout.size().checked_add(layout.align()) else { return core::ptr::null_mut() };
        // SAFETY: plain malloc.
        let base = unsafe { malloc(total) };
        if base.is_null() {
            return base;
        }
        let start = base as usize;
        let aligned = (start + core::mem::size_of::<usize>()).next_multiple_of(layout.align());
        let ptr = base.wrapping_add(aligned - start);
        // SAFETY: `aligned - start` is between one word and `align`, so the
        // word before `ptr` and `size` bytes from `ptr` are inside the block.
        unsafe { ptr.cast::<usize>().sub(1).write_unaligned(start) };
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from malloc in `alloc`.
            unsafe { free(ptr) };
            return;
        }
        // SAFETY: `alloc` stored the block's start in the word before `ptr`.
        let start = unsafe { ptr.cast::<usize>().sub(1).read_unaligned() };
        // SAFETY: that start came from malloc.
        unsafe { free(start as *mut u8) };
    }
}

#[cfg(not(test))]
#[global_allocator]
static HEAP: CHeap = CHeap;

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: C's abort never returns and takes no arguments.
    unsafe { abort() }
}

/// The precompiled `alloc` of hosts' targets is built for unwinding and names
/// this symbol; with `panic = "abort"` nothing ever unwinds, so it is never
/// called. Only host builds of `embedded` (testing the firmware's C loop on
/// the build machine) need it; `thumbv7em-none-eabihf` does not.
#[cfg(all(not(test), not(target_os = "none")))]
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}
