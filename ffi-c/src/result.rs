//! `pn_result`: the one status type every exported function returns, and the
//! conversions from the core's error enums into it.
//!
//! Codes are grouped by kind in blocks of ten so that later managers can add
//! finer codes inside a block without renumbering: 1 null pointer, 10–19 invalid
//! argument or id, 20–29 not found, 30–39 capacity, 40–49 buffer too small,
//! 50–59 decode errors, 60–69 invalid state, 99 panic.

use core::ffi::c_char;
use pouw_netops::error::{Classify, ErrorKind};

/// The outcome of a `pn_` call: `PN_OK` (0) or why the call did nothing.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum pn_result {
    /// Success.
    PN_OK = 0,
    /// A required pointer argument was NULL.
    PN_ERR_NULL_POINTER = 1,
    /// An argument is out of range (an unknown enum value, a bad metric).
    PN_ERR_INVALID_ARGUMENT = 10,
    /// A node id is empty, longer than `PN_MAX_ID_LEN` bytes or not UTF-8.
    PN_ERR_INVALID_ID = 11,
    /// A configuration field is out of its documented range.
    PN_ERR_INVALID_CONFIG = 12,
    /// A health metric is not a number in [0, 1].
    PN_ERR_INVALID_METRIC = 13,
    /// The node (or other item) is not known to the handle.
    PN_ERR_NOT_FOUND = 20,
    /// A fixed-capacity table is full; nothing was added or changed.
    PN_ERR_CAPACITY_EXCEEDED = 30,
    /// The caller's buffer is too small; the needed length was reported and nothing consumed.
    PN_ERR_BUFFER_TOO_SMALL = 40,
    /// The bytes are not a message this build can decode (generic decode error).
    PN_ERR_DECODE = 50,
    /// The message is empty.
    PN_ERR_DECODE_EMPTY = 51,
    /// The message names a wire version this build does not speak.
    PN_ERR_DECODE_VERSION = 52,
    /// The message ends in the middle of a field.
    PN_ERR_DECODE_TRUNCATED = 53,
    /// The message kind is unknown to this build.
    PN_ERR_DECODE_UNKNOWN_KIND = 54,
    /// Bytes remain after a complete message.
    PN_ERR_DECODE_TRAILING_BYTES = 55,
    /// The message exceeds the maximum envelope size.
    PN_ERR_DECODE_TOO_LARGE = 56,
    /// The operation does not apply in the current state (e.g. recovering an online node).
    PN_ERR_INVALID_STATE = 60,
    /// The node has used all its recovery attempts and is now failed.
    PN_ERR_ATTEMPTS_EXHAUSTED = 61,
    /// A signature or authentication tag does not verify, or the sender is not an admitted member.
    PN_ERR_UNAUTHENTICATED = 70,
    /// The message was seen before, is older than the replay window, or is from an earlier boot epoch.
    PN_ERR_REPLAYED = 71,
    /// A correctly signed credential is not acceptable (other authority, expired, revoked, wrong role or node, older serial).
    PN_ERR_CREDENTIAL_REJECTED = 72,
    /// A proof is well-formed but does not verify (wrong root, leaf, index or size).
    PN_ERR_VERIFY_FAILED = 80,
    /// A panic inside the library was caught; the handle may be inconsistent: free it.
    PN_ERR_PANIC = 99,
}

use pn_result::*;

impl pn_result {
    /// A static, human-readable description of the code.
    pub const fn message(self) -> &'static core::ffi::CStr {
        match self {
            PN_OK => c"ok",
            PN_ERR_NULL_POINTER => c"a required pointer argument was NULL",
            PN_ERR_INVALID_ARGUMENT => c"invalid argument",
            PN_ERR_INVALID_ID => c"invalid id: empty, longer than 64 bytes or not UTF-8",
            PN_ERR_INVALID_CONFIG => c"invalid configuration value",
            PN_ERR_INVALID_METRIC => c"health metric is not a number in [0, 1]",
            PN_ERR_NOT_FOUND => c"not found",
            PN_ERR_CAPACITY_EXCEEDED => c"capacity exceeded: the table is full",
            PN_ERR_BUFFER_TOO_SMALL => c"buffer too small: the needed length was reported",
            PN_ERR_DECODE => c"malformed message",
            PN_ERR_DECODE_EMPTY => c"empty message",
            PN_ERR_DECODE_VERSION => c"unknown wire version",
            PN_ERR_DECODE_TRUNCATED => c"message is truncated",
            PN_ERR_DECODE_UNKNOWN_KIND => c"unknown message kind",
            PN_ERR_DECODE_TRAILING_BYTES => c"trailing bytes after the message",
            PN_ERR_DECODE_TOO_LARGE => c"message exceeds the maximum size",
            PN_ERR_INVALID_STATE => c"operation does not apply in the current state",
            PN_ERR_ATTEMPTS_EXHAUSTED => c"no recovery attempts left",
            PN_ERR_UNAUTHENTICATED => c"not authenticated: bad signature or tag, or unknown sender",
            PN_ERR_REPLAYED => c"replayed or too old for the replay window",
            PN_ERR_CREDENTIAL_REJECTED => c"credential rejected: wrong authority, expired, revoked or superseded",
            PN_ERR_VERIFY_FAILED => c"proof does not verify",
            PN_ERR_PANIC => c"internal panic caught at the library boundary",
        }
    }
}

/// Every code, in value order.
pub(crate) const ALL: [pn_result; 23] = [
    PN_OK,
    PN_ERR_NULL_POINTER,
    PN_ERR_INVALID_ARGUMENT,
    PN_ERR_INVALID_ID,
    PN_ERR_INVALID_CONFIG,
    PN_ERR_INVALID_METRIC,
    PN_ERR_NOT_FOUND,
    PN_ERR_CAPACITY_EXCEEDED,
    PN_ERR_BUFFER_TOO_SMALL,
    PN_ERR_DECODE,
    PN_ERR_DECODE_EMPTY,
    PN_ERR_DECODE_VERSION,
    PN_ERR_DECODE_TRUNCATED,
    PN_ERR_DECODE_UNKNOWN_KIND,
    PN_ERR_DECODE_TRAILING_BYTES,
    PN_ERR_DECODE_TOO_LARGE,
    PN_ERR_INVALID_STATE,
    PN_ERR_ATTEMPTS_EXHAUSTED,
    PN_ERR_UNAUTHENTICATED,
    PN_ERR_REPLAYED,
    PN_ERR_CREDENTIAL_REJECTED,
    PN_ERR_VERIFY_FAILED,
    PN_ERR_PANIC,
];

/// A static, NUL-terminated description of `code` ("unknown result code" for others).
#[unsafe(no_mangle)]
pub extern "C" fn pn_result_str(code: i32) -> *const c_char {
    crate::boundary::catch_or(c"unknown result code".as_ptr(), || {
        let found = ALL.iter().find(|r| **r as i32 == code);
        found.map_or(c"unknown result code", |r| r.message()).as_ptr()
    })
}

/// The C code of an error kind: the one classification of the core's errors.
///
/// Codes inside a block of ten name a kind the C API reports apart; the table
/// is total, so every core error has a code and agrees with the other bindings,
/// which derive their errors from the same [`ErrorKind`].
pub(crate) const fn code(kind: ErrorKind) -> pn_result {
    match kind {
        ErrorKind::InvalidArgument => PN_ERR_INVALID_ARGUMENT,
        ErrorKind::InvalidId => PN_ERR_INVALID_ID,
        ErrorKind::InvalidConfig => PN_ERR_INVALID_CONFIG,
        ErrorKind::InvalidMetric => PN_ERR_INVALID_METRIC,
        ErrorKind::NotFound => PN_ERR_NOT_FOUND,
        ErrorKind::CapacityExceeded => PN_ERR_CAPACITY_EXCEEDED,
        ErrorKind::BufferTooSmall => PN_ERR_BUFFER_TOO_SMALL,
        ErrorKind::Malformed => PN_ERR_DECODE,
        ErrorKind::Empty => PN_ERR_DECODE_EMPTY,
        ErrorKind::UnsupportedVersion => PN_ERR_DECODE_VERSION,
        ErrorKind::Truncated => PN_ERR_DECODE_TRUNCATED,
        ErrorKind::UnknownKind => PN_ERR_DECODE_UNKNOWN_KIND,
        ErrorKind::TrailingBytes => PN_ERR_DECODE_TRAILING_BYTES,
        ErrorKind::TooLarge => PN_ERR_DECODE_TOO_LARGE,
        ErrorKind::InvalidState => PN_ERR_INVALID_STATE,
        ErrorKind::AttemptsExhausted => PN_ERR_ATTEMPTS_EXHAUSTED,
        ErrorKind::Unauthenticated => PN_ERR_UNAUTHENTICATED,
        ErrorKind::Replayed => PN_ERR_REPLAYED,
        ErrorKind::CredentialRejected => PN_ERR_CREDENTIAL_REJECTED,
        ErrorKind::VerifyFailed => PN_ERR_VERIFY_FAILED,
    }
}

/// Every core error converts through its kind.
impl<E: Classify> From<E> for pn_result {
    fn from(e: E) -> Self {
        code(e.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::ffi::CStr;

    #[test]
    fn codes_are_explicit_and_grouped() {
        assert_eq!(PN_OK as i32, 0);
        assert_eq!(PN_ERR_NULL_POINTER as i32, 1);
        assert_eq!(PN_ERR_PANIC as i32, 99);
        for code in ALL {
            let value = code as i32;
            let group = match code {
                PN_OK => 0,
                PN_ERR_NULL_POINTER => 0,
                PN_ERR_INVALID_ARGUMENT | PN_ERR_INVALID_ID | PN_ERR_INVALID_CONFIG | PN_ERR_INVALID_METRIC => 1,
                PN_ERR_NOT_FOUND => 2,
                PN_ERR_CAPACITY_EXCEEDED => 3,
                PN_ERR_BUFFER_TOO_SMALL => 4,
                PN_ERR_DECODE
                | PN_ERR_DECODE_EMPTY
                | PN_ERR_DECODE_VERSION
                | PN_ERR_DECODE_TRUNCATED
                | PN_ERR_DECODE_UNKNOWN_KIND
                | PN_ERR_DECODE_TRAILING_BYTES
                | PN_ERR_DECODE_TOO_LARGE => 5,
                PN_ERR_INVALID_STATE | PN_ERR_ATTEMPTS_EXHAUSTED => 6,
                PN_ERR_UNAUTHENTICATED | PN_ERR_REPLAYED | PN_ERR_CREDENTIAL_REJECTED => 7,
                PN_ERR_VERIFY_FAILED => 8,
                PN_ERR_PANIC => 9,
            };
            assert_eq!(value / 10, group, "{code:?}");
        }
    }

    #[test]
    fn every_error_kind_has_its_own_code_in_its_block() {
        let mut codes = HashSet::new();
        for kind in ErrorKind::ALL {
            let c = code(kind);
            assert!(ALL.contains(&c), "{kind}");
            assert!(codes.insert(c), "{kind} shares {c:?} with another kind");
            let block = match kind {
                ErrorKind::InvalidArgument
                | ErrorKind::InvalidId
                | ErrorKind::InvalidConfig
                | ErrorKind::InvalidMetric => 1,
                ErrorKind::NotFound => 2,
                ErrorKind::CapacityExceeded => 3,
                ErrorKind::BufferTooSmall => 4,
                k if k.is_decode() => 5,
                ErrorKind::InvalidState | ErrorKind::AttemptsExhausted => 6,
                ErrorKind::Unauthenticated | ErrorKind::Replayed | ErrorKind::CredentialRejected => 7,
                ErrorKind::VerifyFailed => 8,
                k => panic!("{k} has no block"),
            };
            assert_eq!(c as i32 / 10, block, "{kind}");
        }
        // Only the boundary's own outcomes have no kind.
        let unmapped: HashSet<_> = ALL.into_iter().filter(|c| !codes.contains(c)).collect();
        assert_eq!(unmapped, HashSet::from([PN_OK, PN_ERR_NULL_POINTER, PN_ERR_PANIC]));
    }

    #[test]
    fn core_errors_convert_through_their_kind() {
        use pouw_netops::crash_recovery::CrashRecoveryError;
        use pouw_netops::{IdError, NodeId, PoolError, WireError};
        let n = NodeId::new("n").unwrap();
        assert_eq!(pn_result::from(CrashRecoveryError::AttemptsExhausted(n.clone())), PN_ERR_ATTEMPTS_EXHAUSTED);
        assert_eq!(pn_result::from(CrashRecoveryError::UnknownNode(n.clone())), PN_ERR_NOT_FOUND);
        assert_eq!(pn_result::from(IdError::Empty), PN_ERR_INVALID_ID);
        assert_eq!(pn_result::from(WireError::UnknownVersion(9)), PN_ERR_DECODE_VERSION);
        assert_eq!(pn_result::from(PoolError::NotInPool(n)), PN_ERR_NOT_FOUND);
    }

    #[test]
    fn every_code_has_a_distinct_message_and_unknown_codes_are_named() {
        let mut seen = HashSet::new();
        for code in ALL {
            // SAFETY: pn_result_str returns a static NUL-terminated string.
            let s = unsafe { CStr::from_ptr(pn_result_str(code as i32)) }.to_str().unwrap().to_owned();
            assert_eq!(s.as_str(), code.message().to_str().unwrap());
            seen.insert((code, s));
        }
        let messages: HashSet<_> = seen.iter().map(|(_, s)| s.clone()).collect();
        let codes: HashSet<_> = seen.iter().map(|(c, _)| *c).collect();
        assert_eq!(messages.len(), codes.len());
        for unknown in [-1, 2, 9, 98, 100, i32::MAX, i32::MIN] {
            // SAFETY: as above.
            let s = unsafe { CStr::from_ptr(pn_result_str(unknown)) };
            assert_eq!(s, c"unknown result code");
        }
    }
}
