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

crate::error::named_enum! {
    /// What kind of failure an error is: the one classification every binding
    /// derives its own error values from (C result codes, Python exception classes),
    /// so that they agree.
    ///
    /// Every public error type of the crate implements [`Classify`]. The argument
    /// kinds (`Invalid*`) and the decode kinds (`Malformed` … `TooLarge`) are kept
    /// apart at the granularity the C API reports them; a binding with coarser
    /// errors maps several kinds to one of its own.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ErrorKind("error kind") {
        /// An argument is out of range or malformed (an unknown enum value, a bad
        /// address, a self-link, a node outside the voter set).
        InvalidArgument = "invalid_argument",
        /// An identifier is empty or longer than [`crate::id::MAX_ID_LEN`] bytes.
        InvalidId = "invalid_id",
        /// A configuration value is out of its documented range.
        InvalidConfig = "invalid_config",
        /// A health metric is not a number in `[0, 1]`.
        InvalidMetric = "invalid_metric",
        /// The named node, task, pool or tunnel is not known.
        NotFound = "not_found",
        /// A fixed-capacity table is full, or a finite resource (overlay addresses,
        /// free workers) is used up; nothing was added or changed.
        CapacityExceeded = "capacity_exceeded",
        /// The caller's buffer is too small for the output.
        BufferTooSmall = "buffer_too_small",
        /// Bytes are not a valid message or batch (a bad field, a corrupt stream).
        Malformed = "malformed",
        /// The message is empty.
        Empty = "empty",
        /// The bytes name a format version this build does not read.
        UnsupportedVersion = "unsupported_version",
        /// The bytes end in the middle of a field or header.
        Truncated = "truncated",
        /// The message kind is not one this build knows.
        UnknownKind = "unknown_kind",
        /// Bytes remain after a complete message.
        TrailingBytes = "trailing_bytes",
        /// The message or batch exceeds its maximum size.
        TooLarge = "too_large",
        /// The operation does not apply in the current state (already joined or
        /// assigned, not running, a checkpoint that conflicts with the stored one).
        InvalidState = "invalid_state",
        /// A node has used all its recovery attempts and is now failed.
        AttemptsExhausted = "attempts_exhausted",
        /// A signature or authentication tag does not verify, the sender is not an
        /// admitted member, or a key is unusable: the message or credential is not
        /// from whom it claims.
        Unauthenticated = "unauthenticated",
        /// The message was accepted before, is older than the replay window, or
        /// comes from an earlier boot epoch of its sender.
        Replayed = "replayed",
        /// A well-formed, correctly signed credential is not acceptable: signed by
        /// another authority, expired or not yet valid, revoked, for another role
        /// or node, or older than the one already held.
        CredentialRejected = "credential_rejected",
        /// A proof (a Merkle inclusion or consistency proof, a batch's records
        /// against its root) is well formed but does not verify.
        VerifyFailed = "verify_failed",
    }
}

impl ErrorKind {
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

/// `ALL`, [`core::str::FromStr`] and [`core::fmt::Display`] for a fieldless
/// enum that has a `const fn as_str(self)`: parsing accepts exactly the names
/// `as_str` gives (the case the wire and the Python API use) and refuses
/// anything else with [`UnknownName`]; printing writes that name.
macro_rules! names {
    ($ty:ident, $what:literal, $expected:expr, [$($variant:ident),+ $(,)?]) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: [$ty; [$($ty::$variant),+].len()] = [$($ty::$variant),+];
        }

        impl core::str::FromStr for $ty {
            type Err = $crate::error::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or($crate::error::UnknownName { what: $what, expected: $expected })
            }
        }

        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use names;

/// A fieldless enum declared once with each variant's name: the enum, its
/// `const fn as_str(self)`, and through [`names!`] its `ALL`, `Display` and
/// [`core::str::FromStr`], whose error lists the names; one list serves all.
///
/// ```ignore
/// named_enum! {
///     /// Docs and derives of the enum.
///     pub enum Kind("kind") { /// A. A = "a", /// B. B = "b", }
/// }
/// ```
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $name:literal,)+
        }
    ) => {
        $(#[$meta])*
        $vis enum $ty {
            $($(#[$vmeta])* $variant,)+
        }

        impl $ty {
            /// The snake-case name, as the wire and the bindings spell it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        $crate::error::names!($ty, $what, $crate::error::named_enum!(@join $($name),+), [$($variant),+]);
    };
    (@join $first:literal $(, $rest:literal)*) => {
        concat!($first $(, ", ", $rest)*)
    };
}
pub(crate) use named_enum;

/// `Display`, `core::error::Error` and [`Classify`] for an error enum from one
/// list: each variant's pattern with its kind and its message, so that no
/// variant can have one without the other.
///
/// ```ignore
/// error_impls! {
///     MyError, f;
///     MyError::Missing(id) => ErrorKind::NotFound, write!(f, "unknown node {id}");
///     MyError::Full(e) => e.kind(), write!(f, "cannot add {}: {e}", e.rejected);
/// }
/// ```
///
/// `f` names the formatter in the messages; `ErrorKind` and `Classify` are in
/// scope in the kinds.
macro_rules! error_impls {
    ($ty:ty, $f:ident; $($pat:pat => $kind:expr, $message:expr;)+) => {
        impl core::fmt::Display for $ty {
            #[allow(unused_variables)]
            fn fmt(&self, $f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    $($pat => $message,)+
                }
            }
        }

        impl core::error::Error for $ty {}

        impl $crate::error::Classify for $ty {
            #[allow(unused_variables)]
            fn kind(&self) -> $crate::error::ErrorKind {
                #[allow(unused_imports)]
                use $crate::error::{Classify as _, ErrorKind};
                match self {
                    $($pat => $kind,)+
                }
            }
        }
    };
}
pub(crate) use error_impls;

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
        assert_eq!(ErrorKind::VerifyFailed as usize + 1, ErrorKind::ALL.len());
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
        assert!(std::format!("{e}").contains("not_found"));
    }

    /// `as_str` and `from_str` are inverse on `all`, names are distinct and in
    /// the case they are printed, and the error lists exactly the names.
    fn check_names<T>(all: &[T], name: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + core::fmt::Debug + FromStr<Err = UnknownName>,
    {
        let names: std::vec::Vec<&str> = all.iter().map(|v| name(*v)).collect();
        for (v, n) in all.iter().zip(&names) {
            assert_eq!(T::from_str(n), Ok(*v));
            assert_eq!(names.iter().filter(|m| *m == n).count(), 1, "{n} twice");
            assert!(n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{n}");
            assert!(T::from_str(&n.to_ascii_uppercase()).is_err(), "{n} is case-sensitive");
            assert!(T::from_str(&std::format!(" {n}")).is_err(), "{n} is not trimmed");
        }
        let err = T::from_str("").unwrap_err();
        assert_eq!(err.expected, names.join(", "));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn enum_names_round_trip() {
        use crate::crash_recovery::{RecoveryFailure, RecoveryStrategy};
        use crate::election::Role;
        use crate::health::NodeStatus;
        use crate::mesh::{TunnelProtocol, TunnelState};
        use crate::workers::TaskRole;
        check_names(&ErrorKind::ALL, ErrorKind::as_str);
        check_names(&NodeStatus::ALL, NodeStatus::as_str);
        check_names(&TunnelProtocol::ALL, TunnelProtocol::as_str);
        check_names(&TunnelState::ALL, TunnelState::as_str);
        check_names(&Role::ALL, Role::as_str);
        check_names(&RecoveryFailure::ALL, RecoveryFailure::as_str);
        check_names(&TaskRole::ALL, TaskRole::as_str);
        #[cfg(feature = "alloc")]
        check_names(&crate::coordinator::NodeRole::ALL, crate::coordinator::NodeRole::as_str);
        let strategies = [RecoveryStrategy::Automatic, RecoveryStrategy::Restart, RecoveryStrategy::Replace];
        check_names(&strategies, RecoveryStrategy::as_str);
        assert_eq!(RecoveryStrategy::Custom(7).as_str(), "custom");
        assert!(RecoveryStrategy::from_str("custom").is_err(), "a custom strategy has no value to parse");
        // ALL lists every variant: the last one's discriminant closes the list.
        assert_eq!(NodeStatus::ALL.len(), NodeStatus::Failed as usize + 1);
        assert_eq!(TunnelProtocol::ALL.len(), TunnelProtocol::Ipsec as usize + 1);
        assert_eq!(TunnelState::ALL.len(), TunnelState::Down as usize + 1);
        assert_eq!(Role::ALL.len(), Role::Leader as usize + 1);
        assert_eq!(RecoveryFailure::ALL.len(), RecoveryFailure::CrashedAgain as usize + 1);
        assert_eq!(TaskRole::ALL.len(), TaskRole::Backup as usize + 1);
        // The names the wire and the Python API have always used.
        assert_eq!(Role::PreCandidate.as_str(), "pre_candidate");
        assert_eq!(TunnelProtocol::WireGuard.as_str(), "wireguard");
        assert_eq!(std::format!("{}", TunnelState::Up), "up");
    }

    proptest::proptest! {
        #[test]
        fn only_printed_names_parse(s in "[a-z_ A-Z]{0,20}") {
            use crate::election::Role;
            use crate::mesh::{TunnelProtocol, TunnelState};
            if let Ok(v) = TunnelState::from_str(&s) { proptest::prop_assert_eq!(v.as_str(), s.as_str()); }
            if let Ok(v) = TunnelProtocol::from_str(&s) { proptest::prop_assert_eq!(v.as_str(), s.as_str()); }
            if let Ok(v) = Role::from_str(&s) { proptest::prop_assert_eq!(v.as_str(), s.as_str()); }
            if let Ok(v) = ErrorKind::from_str(&s) { proptest::prop_assert_eq!(v.as_str(), s.as_str()); }
        }
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
