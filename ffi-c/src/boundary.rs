//! The panic boundary and the pointer rules every exported function follows.
//!
//! [`guard`] runs a function body under `catch_unwind` and turns `Err(code)` or
//! a panic into a [`pn_result`]; it relies on the workspace keeping
//! `panic = "unwind"`. [`Out`] is a checked out-parameter, [`Handle`] ties an
//! opaque C handle type to the core value it points to, and [`bytes`] reads a
//! caller's pointer + length. Every `unsafe` promise a C caller makes is checked
//! for NULL here, once, before anything changes.

use crate::last_error::Failure;
#[cfg(feature = "std")]
use crate::last_error::record;
use crate::result::pn_result;
use alloc::boxed::Box;
#[cfg(feature = "std")]
use alloc::string::String;
use core::ptr::NonNull;
#[cfg(feature = "std")]
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`, mapping `Ok` to `PN_OK`, `Err(failure)` to its code and a panic
/// to `PN_ERR_PANIC`. Every exported function that returns a code goes through
/// here. The failure's message (recorded when it was built) or the panic's is
/// what `pn_last_error_message` gives.
#[cfg(feature = "std")]
#[inline(always)]
pub fn guard(body: impl FnOnce() -> Result<(), Failure>) -> pn_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => pn_result::PN_OK,
        Ok(Err(Failure(code))) => code,
        Err(payload) => {
            let what = payload.downcast_ref::<&str>().copied().or(payload.downcast_ref::<String>().map(String::as_str));
            let msg = pn_result::PN_ERR_PANIC.message().to_str().unwrap_or_default();
            match what {
                Some(what) => record(&format_args!("{msg}: {what}")),
                None => record(&msg),
            }
            // A payload whose destructor panics must not unwind into C.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            pn_result::PN_ERR_PANIC
        }
    }
}

/// Runs `body`, returning `fallback` if it panics: the boundary for the few
/// functions that do not return a code (`pn_result_str`, `pn_X_free`).
#[cfg(feature = "std")]
#[inline(always)]
pub fn catch_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// Without `std` (feature `embedded`, built with `panic = "abort"`) there is no
/// unwinding to catch: a panic aborts (see `embedded.rs`). Otherwise as above.
#[cfg(not(feature = "std"))]
#[inline(always)]
pub fn guard(body: impl FnOnce() -> Result<(), Failure>) -> pn_result {
    match body() {
        Ok(()) => pn_result::PN_OK,
        Err(Failure(code)) => code,
    }
}

/// Without `std`: runs `body` (a panic aborts).
#[cfg(not(feature = "std"))]
#[inline(always)]
pub fn catch_or<T>(_fallback: T, body: impl FnOnce() -> T) -> T {
    body()
}

/// A non-NULL out-parameter. Built (unsafely) from the caller's pointer once;
/// writing through it is then safe and never reads the old contents.
pub struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Checks `ptr` for NULL.
    ///
    /// # Safety
    /// `ptr` must be NULL or valid for an aligned write of a `T` for as long as
    /// the returned value lives (the C caller's promise for out-parameters).
    #[inline(always)]
    pub unsafe fn new(ptr: *mut T) -> Result<Self, pn_result> {
        NonNull::new(ptr).map(Out).ok_or(pn_result::PN_ERR_NULL_POINTER)
    }

    /// Writes `value`, without dropping whatever the memory held before.
    #[inline(always)]
    pub fn set(self, value: T) {
        // SAFETY: `new`'s contract: the pointer is non-NULL, aligned and writable.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Writes `value()` into `*out`: the body of a function whose only pointer is
/// its out-parameter (the `*_default` functions).
///
/// # Safety
/// As [`Out::new`].
#[inline(always)]
pub unsafe fn write_out<T>(out: *mut T, value: impl FnOnce() -> T) -> pn_result {
    guard(|| {
        // SAFETY: the caller's promise for `out`.
        let out = unsafe { Out::new(out) }?;
        out.set(value());
        Ok(())
    })
}

/// Like [`Out::new`], but NULL is allowed and means "the caller does not want it".
///
/// # Safety
/// As [`Out::new`].
#[inline(always)]
pub unsafe fn optional_out<T>(ptr: *mut T) -> Option<Out<T>> {
    NonNull::new(ptr).map(Out)
}

/// An opaque C handle type and the core value behind it.
///
/// The handle pointer given to C is a `Box<Self::Inner>` turned into a raw
/// pointer and cast; the handle type itself is never instantiated, so cbindgen
/// emits it as an incomplete `struct`.
pub trait Handle: Sized {
    /// The core value the handle owns.
    type Inner;

    /// Hands ownership of `inner` to the C caller.
    fn into_raw(inner: Box<Self::Inner>) -> *mut Self {
        Box::into_raw(inner).cast::<Self>()
    }

    /// Borrows the value behind `ptr`.
    ///
    /// # Safety
    /// `ptr` must be NULL or a handle from `into_raw` that has not been freed,
    /// with no mutable borrow alive.
    #[inline(always)]
    unsafe fn borrow<'a>(ptr: *const Self) -> Result<&'a Self::Inner, pn_result> {
        // SAFETY: the caller's promise: NULL or a live handle made by `into_raw`.
        unsafe { ptr.cast::<Self::Inner>().as_ref() }.ok_or(pn_result::PN_ERR_NULL_POINTER)
    }

    /// Mutably borrows the value behind `ptr`.
    ///
    /// # Safety
    /// `ptr` must be NULL or a handle from `into_raw` that has not been freed,
    /// with no other borrow alive (one thread at a time).
    #[inline(always)]
    unsafe fn borrow_mut<'a>(ptr: *mut Self) -> Result<&'a mut Self::Inner, pn_result> {
        // SAFETY: the caller's promise: NULL or a live, unshared handle made by `into_raw`.
        unsafe { ptr.cast::<Self::Inner>().as_mut() }.ok_or(pn_result::PN_ERR_NULL_POINTER)
    }

    /// Writes `read(&inner)` into `*out`: the body of a function that reads one
    /// figure from a handle.
    ///
    /// # Safety
    /// As [`Handle::borrow`] for `ptr`, [`Out::new`] for `out`.
    #[inline(always)]
    unsafe fn query<T>(ptr: *const Self, out: *mut T, read: impl FnOnce(&Self::Inner) -> T) -> pn_result {
        guard(|| {
            // SAFETY: the caller's promises for `ptr` and `out`.
            let (inner, out) = unsafe { (Self::borrow(ptr)?, Out::new(out)?) };
            out.set(read(inner));
            Ok(())
        })
    }

    /// Takes what `take` gives from the value behind `ptr`: the body of a
    /// `poll_*` function. The value (if any) goes into `*out`, whether there
    /// was one into `*out_available`.
    ///
    /// # Safety
    /// As [`Handle::borrow_mut`] for `ptr`, [`Out::new`] for both out-pointers.
    #[inline(always)]
    unsafe fn poll<T>(
        ptr: *mut Self,
        out: *mut T,
        out_available: *mut bool,
        take: impl FnOnce(&mut Self::Inner) -> Option<T>,
    ) -> pn_result {
        guard(|| {
            // SAFETY: the caller's promises for every pointer.
            let (inner, out, available) = unsafe { (Self::borrow_mut(ptr)?, Out::new(out)?, Out::new(out_available)?) };
            match take(inner) {
                Some(v) => {
                    out.set(v);
                    available.set(true);
                }
                None => available.set(false),
            }
            Ok(())
        })
    }

    /// Runs `change` on the value behind `ptr`: the body of a function that
    /// cannot fail but for a NULL handle.
    ///
    /// # Safety
    /// As [`Handle::borrow_mut`].
    #[inline(always)]
    unsafe fn update(ptr: *mut Self, change: impl FnOnce(&mut Self::Inner)) -> pn_result {
        guard(|| {
            // SAFETY: the caller's promise for `ptr`.
            change(unsafe { Self::borrow_mut(ptr) }?);
            Ok(())
        })
    }

    /// Drops the value behind `ptr`; NULL is ignored.
    ///
    /// # Safety
    /// `ptr` must be NULL or a handle from `into_raw` that has not been freed; it
    /// is invalid afterwards.
    unsafe fn free(ptr: *mut Self) {
        if !ptr.is_null() {
            // SAFETY: the caller's promise: the pointer came from `Box::into_raw` and is freed once.
            drop(unsafe { Box::from_raw(ptr.cast::<Self::Inner>()) });
        }
    }
}

/// The most elements of `T` in one caller array: past it the array would be
/// longer than `isize::MAX` bytes, which no allocation can be, and building the
/// slice would be undefined behaviour (a debug build aborts, past the panic
/// boundary). Such a length or count is `PN_ERR_INVALID_ARGUMENT`, in every build.
pub const fn max_count<T>() -> usize {
    isize::MAX.unsigned_abs() / (if size_of::<T>() == 0 { 1 } else { size_of::<T>() })
}

/// `n` if it is a possible count of `T`s (see [`max_count`]), else `PN_ERR_INVALID_ARGUMENT`.
#[inline(always)]
pub fn count<T>(n: usize) -> Result<usize, pn_result> {
    if n > max_count::<T>() { Err(pn_result::PN_ERR_INVALID_ARGUMENT) } else { Ok(n) }
}

/// The caller's `len` bytes of one message at `ptr`: a length over
/// [`MAX_ENVELOPE_LEN`](pouw_netops::wire::MAX_ENVELOPE_LEN) is
/// `PN_ERR_INVALID_ARGUMENT` before any byte is read.
///
/// # Safety
/// As for [`bytes`].
#[inline(always)]
pub unsafe fn message<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], pn_result> {
    if len > pouw_netops::wire::MAX_ENVELOPE_LEN {
        return Err(pn_result::PN_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: the caller's promise, passed on.
    unsafe { bytes(ptr, len) }
}

/// The caller's `len` bytes at `ptr`. A NULL pointer is allowed only with
/// `len == 0`; an impossible length ([`max_count`]) is `PN_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// Unless NULL, `ptr` must be valid for reads of `len` bytes for `'a`, and not
/// written during the call.
#[inline(always)]
pub unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], pn_result> {
    let len = count::<u8>(len)?;
    if ptr.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(pn_result::PN_ERR_NULL_POINTER) };
    }
    // SAFETY: non-NULL and, by the caller's promise, valid for `len` bytes.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The caller's array of `cap` elements at `ptr` as a writable slice. NULL is
/// allowed only with `cap == 0`.
///
/// # Safety
/// Unless NULL, `ptr` must be valid for reads and writes of `cap` elements of
/// `T` (any bit pattern is overwritten, never read as `T` with drop glue: `T: Copy`).
#[inline(always)]
pub unsafe fn slots<'a, T: Copy>(ptr: *mut T, cap: usize) -> Result<&'a mut [core::mem::MaybeUninit<T>], pn_result> {
    let cap = count::<T>(cap)?;
    if ptr.is_null() {
        return if cap == 0 { Ok(&mut []) } else { Err(pn_result::PN_ERR_NULL_POINTER) };
    }
    // SAFETY: non-NULL and, by the caller's promise, valid for `cap` writable
    // elements; `MaybeUninit` makes no claim about their current contents.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr.cast::<core::mem::MaybeUninit<T>>(), cap) })
}

/// Copies `src` into the caller's buffer `buf` and its length into `out_len`; if
/// `buf` is shorter, writes only the needed length and returns
/// `PN_ERR_BUFFER_TOO_SMALL`, leaving `buf` untouched.
#[inline]
pub fn copy_out(src: &[u8], buf: &mut [core::mem::MaybeUninit<u8>], out_len: Out<usize>) -> Result<(), pn_result> {
    let Some(dst) = buf.get_mut(..src.len()) else {
        out_len.set(src.len());
        return Err(pn_result::PN_ERR_BUFFER_TOO_SMALL);
    };
    for (d, s) in dst.iter_mut().zip(src) {
        d.write(*s);
    }
    out_len.set(src.len());
    Ok(())
}

/// Writes `value` through `out` if the caller asked for it (non-NULL).
#[inline(always)]
pub fn set_opt<T>(out: Option<Out<T>>, value: T) {
    if let Some(out) = out {
        out.set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_maps_results_and_panics() {
        assert_eq!(guard(|| Ok(())), pn_result::PN_OK);
        assert_eq!(guard(|| Err(pn_result::PN_ERR_NOT_FOUND.into())), pn_result::PN_ERR_NOT_FOUND);
        // The default hook prints the two panic messages; that is expected.
        assert_eq!(guard(|| panic!("boom")), pn_result::PN_ERR_PANIC);
        assert_eq!(catch_or(7, || -> i32 { panic!("boom") }), 7);
    }

    #[test]
    fn null_pointers_are_rejected_unless_empty() {
        // SAFETY: NULL pointers only; nothing is dereferenced.
        unsafe {
            assert!(matches!(Out::<u64>::new(core::ptr::null_mut()), Err(pn_result::PN_ERR_NULL_POINTER)));
            assert_eq!(bytes(core::ptr::null(), 0), Ok(&[][..]));
            assert_eq!(bytes(core::ptr::null(), 1), Err(pn_result::PN_ERR_NULL_POINTER));
            assert!(slots::<u8>(core::ptr::null_mut(), 0).is_ok_and(|s| s.is_empty()));
            assert!(slots::<u8>(core::ptr::null_mut(), 3).is_err());
        }
    }
}
