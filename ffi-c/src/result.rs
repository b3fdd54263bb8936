//! `pn_result`: the one status type every exported function returns, and the
//! conversions from the core's error enums into it.
//!
//! Codes are grouped by kind in blocks of ten so that later managers can add
//! finer codes inside a block without renumbering: 1 null pointer, 10–19 invalid
//! argument or id, 20–29 not found, 30–39 capacity, 40–49 buffer too small,
//! 50–59 decode errors, 60–69 invalid state, 99 panic.

use core::ffi::c_char;
use pouw_netops::coordinator::{HandleError, OpsError, TaskError};
use pouw_netops::crash_recovery::CrashRecoveryError;
use pouw_netops::history::{AddError, ArchiveFullError, BatchError, ImportError};
use pouw_netops::mesh::{CidrError, EndpointError, JoinError, LinkStateError, RenderError, TunnelError};
use pouw_netops::{
    AssignError, CheckpointError, ConfigError, ElectionError, IdError, PoolError, ReplaceError, WireError,
};

/// The outcome of a `pn_` call: `PN_OK` (0) or why the call did nothing.
///
/// Out-parameters are written only on `PN_OK`, except where a function says
/// otherwise (`PN_ERR_BUFFER_TOO_SMALL` reports the needed length).
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
    /// A Merkle proof is well-formed but does not verify (wrong root, leaf,
    /// index or size).
    PN_ERR_VERIFY_FAILED = 70,
    /// A panic inside the library was caught at the boundary. The handle used in
    /// the call may be inconsistent: free it and build a new one.
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
            PN_ERR_VERIFY_FAILED => c"proof does not verify",
            PN_ERR_PANIC => c"internal panic caught at the library boundary",
        }
    }
}

/// Every code, in value order.
pub(crate) const ALL: [pn_result; 20] = [
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
    PN_ERR_VERIFY_FAILED,
    PN_ERR_PANIC,
];

/// A static, NUL-terminated description of `code` (any integer; unknown codes
/// give "unknown result code"). The string must not be freed.
#[unsafe(no_mangle)]
pub extern "C" fn pn_result_str(code: i32) -> *const c_char {
    crate::boundary::catch_or(c"unknown result code".as_ptr(), || {
        let found = ALL.iter().find(|r| **r as i32 == code);
        found.map_or(c"unknown result code", |r| r.message()).as_ptr()
    })
}

impl From<ConfigError> for pn_result {
    fn from(_: ConfigError) -> Self {
        PN_ERR_INVALID_CONFIG
    }
}

impl From<IdError> for pn_result {
    fn from(_: IdError) -> Self {
        PN_ERR_INVALID_ID
    }
}

impl From<CrashRecoveryError> for pn_result {
    fn from(e: CrashRecoveryError) -> Self {
        match e {
            CrashRecoveryError::UnknownNode(_) => PN_ERR_NOT_FOUND,
            CrashRecoveryError::TableFull(_) => PN_ERR_CAPACITY_EXCEEDED,
            CrashRecoveryError::InvalidMetric(_) => PN_ERR_INVALID_METRIC,
            CrashRecoveryError::InvalidStatus { .. } => PN_ERR_INVALID_STATE,
            CrashRecoveryError::AttemptsExhausted(_) => PN_ERR_ATTEMPTS_EXHAUSTED,
        }
    }
}

impl From<WireError> for pn_result {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Empty => PN_ERR_DECODE_EMPTY,
            WireError::UnknownVersion(_) => PN_ERR_DECODE_VERSION,
            WireError::Truncated => PN_ERR_DECODE_TRUNCATED,
            WireError::UnknownBody => PN_ERR_DECODE_UNKNOWN_KIND,
            WireError::Malformed | WireError::ZeroTerm => PN_ERR_DECODE,
            WireError::InvalidMetric(_) => PN_ERR_INVALID_METRIC,
            WireError::TrailingBytes { .. } => PN_ERR_DECODE_TRAILING_BYTES,
            WireError::TooLarge { .. } => PN_ERR_DECODE_TOO_LARGE,
            WireError::BufferTooSmall => PN_ERR_BUFFER_TOO_SMALL,
        }
    }
}

impl From<ElectionError> for pn_result {
    fn from(e: ElectionError) -> Self {
        match e {
            ElectionError::Config(_) => PN_ERR_INVALID_CONFIG,
            ElectionError::TooManyVoters(_) => PN_ERR_CAPACITY_EXCEEDED,
            ElectionError::NotAVoter(_) | ElectionError::FromSelf | ElectionError::NotAnElectionMessage => {
                PN_ERR_INVALID_ARGUMENT
            }
            ElectionError::UnknownVoter(_) => PN_ERR_NOT_FOUND,
            ElectionError::AlreadyLeader => PN_ERR_INVALID_STATE,
        }
    }
}

impl From<PoolError> for pn_result {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::UnknownPool(_) | PoolError::NotInPool(_) => PN_ERR_NOT_FOUND,
            PoolError::PoolTableFull(_) | PoolError::WorkerTableFull(_) => PN_ERR_CAPACITY_EXCEEDED,
            PoolError::InvalidSlots { .. } => PN_ERR_INVALID_ARGUMENT,
            PoolError::SlotsBelowLoad { .. } => PN_ERR_INVALID_STATE,
        }
    }
}

impl From<AssignError> for pn_result {
    fn from(e: AssignError) -> Self {
        match e {
            AssignError::UnknownPool(_) => PN_ERR_NOT_FOUND,
            AssignError::AlreadyAssigned(_) => PN_ERR_INVALID_STATE,
            AssignError::InvalidCount { .. } => PN_ERR_INVALID_ARGUMENT,
            AssignError::TaskTableFull(_) | AssignError::NotEnoughWorkers { .. } => PN_ERR_CAPACITY_EXCEEDED,
        }
    }
}

impl From<CheckpointError> for pn_result {
    fn from(e: CheckpointError) -> Self {
        match e {
            CheckpointError::UnknownTask(_) => PN_ERR_NOT_FOUND,
            CheckpointError::NotAPrimary(_) => PN_ERR_INVALID_ARGUMENT,
            CheckpointError::Regression { .. } | CheckpointError::Conflict { .. } => PN_ERR_INVALID_STATE,
        }
    }
}

impl From<ReplaceError> for pn_result {
    fn from(e: ReplaceError) -> Self {
        match e {
            ReplaceError::UnknownTask(_) | ReplaceError::UnknownWorker(_) => PN_ERR_NOT_FOUND,
            ReplaceError::NotAssigned(_) => PN_ERR_INVALID_STATE,
        }
    }
}

impl From<AddError> for pn_result {
    fn from(e: AddError) -> Self {
        match e {
            AddError::Record(pouw_netops::history::RecordError::BadSender) => PN_ERR_INVALID_ID,
            AddError::Record(_) => PN_ERR_INVALID_ARGUMENT,
            AddError::ArchiveFull => PN_ERR_CAPACITY_EXCEEDED,
        }
    }
}

impl From<ArchiveFullError> for pn_result {
    fn from(_: ArchiveFullError) -> Self {
        PN_ERR_CAPACITY_EXCEEDED
    }
}

impl From<BatchError> for pn_result {
    fn from(e: BatchError) -> Self {
        match e {
            BatchError::Truncated => PN_ERR_DECODE_TRUNCATED,
            BatchError::UnsupportedVersion(_) => PN_ERR_DECODE_VERSION,
            BatchError::TooLarge { .. } => PN_ERR_DECODE_TOO_LARGE,
            BatchError::BufferTooSmall { .. } => PN_ERR_BUFFER_TOO_SMALL,
            BatchError::BadMagic
            | BatchError::BadHeader(_)
            | BatchError::Corrupt
            | BatchError::Overflow
            | BatchError::LengthMismatch
            | BatchError::BadRecord { .. }
            | BatchError::BadBody(_)
            | BatchError::RootMismatch => PN_ERR_DECODE,
        }
    }
}

impl From<ImportError> for pn_result {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Invalid(e) => e.into(),
            ImportError::Duplicate(_) | ImportError::Overlaps(_) => PN_ERR_INVALID_STATE,
            ImportError::Full { .. } => PN_ERR_CAPACITY_EXCEEDED,
        }
    }
}

impl From<JoinError> for pn_result {
    fn from(e: JoinError) -> Self {
        match e {
            JoinError::AlreadyJoined(_) | JoinError::AddressTaken(_) => PN_ERR_INVALID_STATE,
            JoinError::TableFull(_) | JoinError::AddressesExhausted => PN_ERR_CAPACITY_EXCEEDED,
            JoinError::OutsideCidr(_) | JoinError::NotAssignable(_) => PN_ERR_INVALID_ARGUMENT,
        }
    }
}

impl From<TunnelError> for pn_result {
    fn from(e: TunnelError) -> Self {
        match e {
            TunnelError::UnknownNode(_) | TunnelError::UnknownTunnel => PN_ERR_NOT_FOUND,
            TunnelError::SelfLink => PN_ERR_INVALID_ARGUMENT,
            TunnelError::TableFull { .. } => PN_ERR_CAPACITY_EXCEEDED,
        }
    }
}

impl From<LinkStateError> for pn_result {
    fn from(e: LinkStateError) -> Self {
        match e {
            LinkStateError::UnknownSender(_) => PN_ERR_NOT_FOUND,
            LinkStateError::TableFull { .. } => PN_ERR_CAPACITY_EXCEEDED,
        }
    }
}

impl From<RenderError> for pn_result {
    fn from(e: RenderError) -> Self {
        match e {
            RenderError::NotJoined => PN_ERR_INVALID_STATE,
            RenderError::BufferTooSmall { .. } => PN_ERR_BUFFER_TOO_SMALL,
            RenderError::Write => PN_ERR_INVALID_STATE,
        }
    }
}

impl From<CidrError> for pn_result {
    fn from(_: CidrError) -> Self {
        PN_ERR_INVALID_CONFIG
    }
}

impl From<EndpointError> for pn_result {
    fn from(_: EndpointError) -> Self {
        PN_ERR_INVALID_ARGUMENT
    }
}

impl From<OpsError> for pn_result {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Config(_) => PN_ERR_INVALID_CONFIG,
            OpsError::TooManySupervisors(_) => PN_ERR_CAPACITY_EXCEEDED,
            OpsError::NotASupervisor(_) => PN_ERR_INVALID_ARGUMENT,
        }
    }
}

impl From<HandleError> for pn_result {
    fn from(e: HandleError) -> Self {
        match e {
            HandleError::NotRunning => PN_ERR_INVALID_STATE,
            HandleError::Wire(w) => w.into(),
            HandleError::FromSelf => PN_ERR_INVALID_ARGUMENT,
        }
    }
}

impl From<TaskError> for pn_result {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::WrongRole | TaskError::Duplicate(_) | TaskError::Regression { .. } => PN_ERR_INVALID_STATE,
            TaskError::TableFull(_) => PN_ERR_CAPACITY_EXCEEDED,
            TaskError::NoPrimaries => PN_ERR_INVALID_ARGUMENT,
            TaskError::NotAPrimary(_) => PN_ERR_NOT_FOUND,
        }
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
                PN_ERR_VERIFY_FAILED => 7,
                PN_ERR_PANIC => 9,
            };
            assert_eq!(value / 10, group, "{code:?}");
        }
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
