//! `pn_version`: the library's version, to check at run time that the header a
//! program was compiled with matches the library it loaded.

use core::ffi::{CStr, c_char};

/// Major version of the library (the `PN_VERSION_*` macros are the header's).
pub const PN_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const PN_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const PN_VERSION_PATCH: u32 = 0;

/// The crate version, NUL-terminated.
const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
    Ok(v) => v,
    Err(_) => c"unknown",
};

/// The library's version as a static, NUL-terminated "MAJOR.MINOR.PATCH" string.
#[unsafe(no_mangle)]
pub extern "C" fn pn_version() -> *const c_char {
    crate::boundary::catch_or(c"unknown".as_ptr(), || VERSION.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version_and_matches_the_macros() {
        // SAFETY: pn_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(pn_version()) }.to_str().unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        assert_eq!(v, format!("{PN_VERSION_MAJOR}.{PN_VERSION_MINOR}.{PN_VERSION_PATCH}"));
    }
}
