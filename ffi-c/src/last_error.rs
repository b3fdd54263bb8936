//! The message of the last failed call on a thread, for
//! `pn_last_error_message`: the core error's `Display` text (what Python users
//! get as the exception message), or the code's description when the binding
//! itself refused the call (a NULL pointer, a short buffer), or the panic's
//! message.
//!
//! [`Failure`] is the error type of every guarded body: building one (by `?`
//! from a core error or a `pn_result`) records the message, and the boundary
//! returns its code.

use crate::result::pn_result;
use alloc::string::String;
use core::cell::RefCell;
use core::ffi::c_char;
use core::fmt::{self, Write as _};

#[cfg(feature = "std")]
std::thread_local! {
    static LAST: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Without `std` (feature `embedded`) the library is called from one thread,
/// the firmware's main loop: one message for the whole program.
#[cfg(not(feature = "std"))]
static LAST: SingleThread = SingleThread(RefCell::new(String::new()));

#[cfg(not(feature = "std"))]
struct SingleThread(RefCell<String>);

// SAFETY: an `embedded` build is used from one thread only (documented in
// the header and in `embedded.rs`); nothing is shared across threads.
#[cfg(not(feature = "std"))]
unsafe impl Sync for SingleThread {}

#[cfg(not(feature = "std"))]
impl SingleThread {
    /// The same shape as `LocalKey::try_with`.
    #[allow(clippy::unnecessary_wraps)]
    fn try_with<R>(&'static self, f: impl FnOnce(&RefCell<String>) -> R) -> Result<R, core::convert::Infallible> {
        Ok(f(&self.0))
    }
}

/// Replaces this thread's last error message with `msg`.
pub(crate) fn record(msg: &dyn fmt::Display) {
    // `try_with`: a thread being torn down keeps no message; `try_borrow_mut`:
    // a `Display` that itself fails a call cannot re-enter the cell.
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            last.clear();
            let _ = write!(last, "{msg}");
        }
    });
}

/// A failed call: the code the boundary returns. Its message is recorded when
/// it is built.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure(pub(crate) pn_result);

/// A code the binding chose itself: the message is the code's description.
impl From<pn_result> for Failure {
    fn from(code: pn_result) -> Self {
        record(&code.message().to_str().unwrap_or_default());
        Failure(code)
    }
}

/// A core error: the message is its `Display` text, the code its `pn_result`
/// (classified in `result.rs`).
impl<E: fmt::Display + Into<pn_result>> From<E> for Failure {
    fn from(e: E) -> Self {
        record(&e);
        Failure(e.into())
    }
}

/// Copies the message of the last failed `pn_` call on this thread into `buf`
/// (`len` bytes) as `snprintf` does: NUL-terminated, cut to fit, returning the
/// full length (0 and an empty string if no call on this thread failed).
/// Successful calls leave it as it was; read it right after the failing call.
///
/// # Safety
/// `buf` NULL (with `len` 0) or writable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pn_last_error_message(buf: *mut c_char, len: usize) -> usize {
    crate::boundary::catch_or(0, || {
        let msg = LAST.try_with(|last| last.try_borrow().map(|m| m.clone()).unwrap_or_default()).unwrap_or_default();
        if !buf.is_null() && len > 0 {
            let n = msg.len().min(len - 1);
            // SAFETY: the caller's promise: `buf` is writable for `len` > n bytes.
            unsafe {
                core::ptr::copy_nonoverlapping(msg.as_ptr(), buf.cast::<u8>(), n);
                buf.add(n).write(0);
            }
        }
        msg.len()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boundary::guard;

    fn last() -> String {
        let mut buf = [0 as c_char; 256];
        // SAFETY: a local buffer of its true length.
        let n = unsafe { pn_last_error_message(buf.as_mut_ptr(), buf.len()) };
        // SAFETY: NUL-terminated by the call.
        let s = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap().to_owned();
        assert_eq!(n, s.len());
        s
    }

    #[test]
    fn a_core_error_leaves_its_display_text() {
        let e = pouw_netops::WireError::UnknownVersion(9);
        assert_eq!(guard(|| Err(e.into())), pn_result::PN_ERR_DECODE_VERSION);
        assert_eq!(last(), e.to_string());
        // Success leaves it; the binding's own codes leave their description.
        assert_eq!(guard(|| Ok(())), pn_result::PN_OK);
        assert_eq!(last(), e.to_string());
        assert_eq!(guard(|| Err(pn_result::PN_ERR_NULL_POINTER.into())), pn_result::PN_ERR_NULL_POINTER);
        assert_eq!(last(), "a required pointer argument was NULL");
    }

    #[test]
    fn the_copy_is_cut_to_fit_and_always_terminated() {
        let _ = guard(|| Err(pn_result::PN_ERR_NOT_FOUND.into()));
        let mut buf = [1 as c_char; 4];
        // SAFETY: a local buffer of its true length, then NULL with 0.
        unsafe {
            assert_eq!(pn_last_error_message(buf.as_mut_ptr(), 4), "not found".len());
            assert_eq!(buf.map(|c| c as u8), *b"not\0");
            assert_eq!(pn_last_error_message(core::ptr::null_mut(), 0), "not found".len());
        }
        // Each thread has its own message.
        assert_eq!(std::thread::spawn(last).join().unwrap(), "");
    }

    #[test]
    fn a_panic_leaves_its_message() {
        assert_eq!(guard(|| panic!("boom {}", 7)), pn_result::PN_ERR_PANIC);
        assert_eq!(last(), "internal panic caught at the library boundary: boom 7");
    }
}
