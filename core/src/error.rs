//! Errors shared by several managers.
//!
//! Each operation has its own small error enum in its module; the pieces here are
//! the ones they have in common. All implement `Display` and `core::error::Error`.

use core::fmt;

/// A fixed-capacity table is full. Carries the rejected item back to the caller,
/// as `heapless` does, and nothing already stored was changed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CapacityError<T> {
    /// The item that did not fit.
    pub rejected: T,
    /// The table's capacity.
    pub capacity: usize,
}

impl<T> CapacityError<T> {
    /// A capacity error for `rejected` in a table of `capacity` entries.
    pub const fn new(rejected: T, capacity: usize) -> Self {
        CapacityError { rejected, capacity }
    }

    /// The rejected item, by value.
    pub fn into_inner(self) -> T {
        self.rejected
    }
}

impl<T> fmt::Debug for CapacityError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapacityError").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl<T> fmt::Display for CapacityError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table is full ({} entries)", self.capacity)
    }
}

impl<T> core::error::Error for CapacityError<T> {}

/// A configuration value is out of its documented range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration field at fault.
    pub field: &'static str,
    /// What the field must satisfy.
    pub requirement: &'static str,
}

impl ConfigError {
    /// A config error for `field`, which must satisfy `requirement`.
    pub const fn new(field: &'static str, requirement: &'static str) -> Self {
        ConfigError { field, requirement }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: `{}` must be {}", self.field, self.requirement)
    }
}

impl core::error::Error for ConfigError {}

/// What kind of failure an error is: the one classification every binding
/// derives its own error values from (C result codes, Python exception classes),
/// so that they agree.
///
/// Every public error type of the crate implements [`Classify`]. The argument
/// kinds (`Invalid*`) and the decode kinds (`Malformed` … `TooLarge`) are kept
/// apart at the granularity the C API reports them; a binding with coarser
/// errors maps several kinds to one of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// An argument is out of range or malformed (an unknown enum value, a bad
    /// address, a self-link, a node outside the voter set).
    InvalidArgument,
    /// An identifier is empty or longer than [`crate::id::MAX_ID_LEN`] bytes.
    InvalidId,
    /// A configuration value is out of its documented range.
    InvalidConfig,
    /// A health metric is not a number in `[0, 1]`.
    InvalidMetric,
    /// The named node, task, pool or tunnel is not known.
    NotFound,
    /// A fixed-capacity table is full, or a finite resource (overlay addresses,
    /// free workers) is used up; nothing was added or changed.
    CapacityExceeded,
    /// The caller's buffer is too small for the output.
    BufferTooSmall,
    /// Bytes are not a valid message or batch (a bad field, a corrupt stream).
    Malformed,
    /// The message is empty.
    Empty,
    /// The bytes name a format version this build does not read.
    UnsupportedVersion,
    /// The bytes end in the middle of a field or header.
    Truncated,
    /// The message kind is not one this build knows.
    UnknownKind,
    /// Bytes remain after a complete message.
    TrailingBytes,
    /// The message or batch exceeds its maximum size.
    TooLarge,
    /// The operation does not apply in the current state (already joined or
    /// assigned, not running, a checkpoint that conflicts with the stored one).
    InvalidState,
    /// A node has used all its recovery attempts and is now failed.
    AttemptsExhausted,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidId,
        ErrorKind::InvalidConfig,
        ErrorKind::InvalidMetric,
        ErrorKind::NotFound,
        ErrorKind::CapacityExceeded,
        ErrorKind::BufferTooSmall,
        ErrorKind::Malformed,
        ErrorKind::Empty,
        ErrorKind::UnsupportedVersion,
        ErrorKind::Truncated,
        ErrorKind::UnknownKind,
        ErrorKind::TrailingBytes,
        ErrorKind::TooLarge,
        ErrorKind::InvalidState,
        ErrorKind::AttemptsExhausted,
    ];

    /// The snake-case name (`"not_found"`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::InvalidId => "invalid_id",
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::InvalidMetric => "invalid_metric",
            ErrorKind::NotFound => "not_found",
            ErrorKind::CapacityExceeded => "capacity_exceeded",
            ErrorKind::BufferTooSmall => "buffer_too_small",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Empty => "empty",
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::Truncated => "truncated",
            ErrorKind::UnknownKind => "unknown_kind",
            ErrorKind::TrailingBytes => "trailing_bytes",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::InvalidState => "invalid_state",
            ErrorKind::AttemptsExhausted => "attempts_exhausted",
        }
    }

    /// Whether the kind says that bytes could not be decoded (`Malformed` …
    /// `TooLarge`).
    pub const fn is_decode(self) -> bool {
        matches!(
            self,
            ErrorKind::Malformed
                | ErrorKind::Empty
                | ErrorKind::UnsupportedVersion
                | ErrorKind::Truncated
                | ErrorKind::UnknownKind
                | ErrorKind::TrailingBytes
                | ErrorKind::TooLarge
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of an enum's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownName {
    /// What was being parsed (`"tunnel protocol"`, …).
    pub what: &'static str,
    /// The accepted names, comma-separated.
    pub expected: &'static str,
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}: expected one of {}", self.what, self.expected)
    }
}

impl core::error::Error for UnknownName {}

impl core::str::FromStr for ErrorKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or(UnknownName {
            what: "error kind",
            expected: "invalid_argument, invalid_id, invalid_config, invalid_metric, not_found, \
                       capacity_exceeded, buffer_too_small, malformed, empty, unsupported_version, truncated, \
                       unknown_kind, trailing_bytes, too_large, invalid_state, attempts_exhausted",
        })
    }
}

/// An error that knows its [`ErrorKind`]; implemented by every public error type
/// of the crate.
pub trait Classify {
    /// What kind of failure this is.
    fn kind(&self) -> ErrorKind;
}

impl<T> Classify for CapacityError<T> {
    fn kind(&self) -> ErrorKind {
        ErrorKind::CapacityExceeded
    }
}

impl Classify for ConfigError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidConfig
    }
}

impl Classify for UnknownName {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::str::FromStr;

    #[test]
    fn every_kind_is_listed_once_and_its_name_round_trips() {
        // ALL is in declaration order, so a kind left out of it shifts a discriminant.
        assert_eq!(ErrorKind::AttemptsExhausted as usize + 1, ErrorKind::ALL.len());
        for (i, k) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k}");
            assert_eq!(ErrorKind::from_str(k.as_str()), Ok(*k));
            assert!(k.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{k}");
        }
        let mut names: std::vec::Vec<_> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        let e = ErrorKind::from_str("NotFound").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(std::format!("{e}").contains("not_found"));
    }

    #[test]
    fn decode_kinds_are_the_byte_level_ones() {
        let decode: std::vec::Vec<_> = ErrorKind::ALL.into_iter().filter(|k| k.is_decode()).collect();
        assert_eq!(
            decode,
            [
                ErrorKind::Malformed,
                ErrorKind::Empty,
                ErrorKind::UnsupportedVersion,
                ErrorKind::Truncated,
                ErrorKind::UnknownKind,
                ErrorKind::TrailingBytes,
                ErrorKind::TooLarge,
            ]
        );
    }

    #[test]
    fn shared_errors_classify() {
        assert_eq!(CapacityError::new(7u8, 4).kind(), ErrorKind::CapacityExceeded);
        assert_eq!(ConfigError::new("x", "positive").kind(), ErrorKind::InvalidConfig);
    }
}
