//! Core errors as Python exceptions.
//!
//! The exception classes are defined in Python (`pouw_netops/_errors.py`) so
//! that they can inherit from both `NetOpsError` and the built-in the old API
//! raised (`ValueError`, `LookupError`); this module looks each class up once
//! and raises it with the core error's `Display` text.

use pouw_netops::{ConfigError, CrashRecoveryError, IdError, WireError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The Python exception classes, by what went wrong.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A fixed-capacity table is full (`CapacityError`).
    Capacity,
    /// The named item is not known (`NotFoundError`, a `LookupError`).
    NotFound,
    /// Bytes are not a valid message (`DecodeError`, a `ValueError`).
    Decode,
    /// An argument is out of range or malformed (`InvalidArgumentError`, a `ValueError`).
    InvalidArgument,
}

static CAPACITY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NOT_FOUND: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DECODE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INVALID_ARGUMENT: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// A Python exception of `kind` with `message`.
pub fn error(kind: Kind, message: impl ToString) -> PyErr {
    let message = message.to_string();
    Python::attach(|py| {
        let (cell, name) = match kind {
            Kind::Capacity => (&CAPACITY, "CapacityError"),
            Kind::NotFound => (&NOT_FOUND, "NotFoundError"),
            Kind::Decode => (&DECODE, "DecodeError"),
            Kind::InvalidArgument => (&INVALID_ARGUMENT, "InvalidArgumentError"),
        };
        match cell.import(py, "pouw_netops._errors", name) {
            Ok(ty) => PyErr::from_type(ty.clone(), message),
            Err(e) => e,
        }
    })
}

/// An `InvalidArgumentError` with `message`.
pub fn invalid(message: impl ToString) -> PyErr {
    error(Kind::InvalidArgument, message)
}

/// An invalid id is an invalid argument, named by what the id is for.
pub fn id_error(what: &str, e: IdError) -> PyErr {
    invalid(format!("{what}: {e}"))
}

/// A configuration error is an invalid argument.
pub fn config_error(e: ConfigError) -> PyErr {
    invalid(e)
}

/// Maps crash-recovery errors: unknown node → `NotFoundError`, full table →
/// `CapacityError`, the rest → `InvalidArgumentError`.
pub fn crash_recovery_error(e: CrashRecoveryError) -> PyErr {
    let kind = match &e {
        CrashRecoveryError::UnknownNode(_) => Kind::NotFound,
        CrashRecoveryError::TableFull(_) => Kind::Capacity,
        CrashRecoveryError::InvalidMetric(_)
        | CrashRecoveryError::InvalidStatus { .. }
        | CrashRecoveryError::AttemptsExhausted(_) => Kind::InvalidArgument,
    };
    error(kind, e)
}

/// Every wire error is a `DecodeError` (encoding errors cannot happen for the
/// bounded messages this binding builds, and would be reported the same way).
pub fn wire_error(e: WireError) -> PyErr {
    error(Kind::Decode, e)
}

/// Maps election errors: too many voters → `CapacityError`, a sender outside
/// the voter set → `NotFoundError`, the rest → `InvalidArgumentError`.
pub fn election_error(e: pouw_netops::ElectionError) -> PyErr {
    use pouw_netops::ElectionError as E;
    let kind = match &e {
        E::TooManyVoters(_) => Kind::Capacity,
        E::UnknownVoter(_) => Kind::NotFound,
        E::Config(_) | E::NotAVoter(_) | E::FromSelf | E::NotAnElectionMessage | E::AlreadyLeader => {
            Kind::InvalidArgument
        }
    };
    error(kind, e)
}

/// Maps pool errors: full tables → `CapacityError`, unknown pool or worker →
/// `NotFoundError`, bad slot counts → `InvalidArgumentError`.
pub fn pool_error(e: pouw_netops::PoolError) -> PyErr {
    use pouw_netops::PoolError as E;
    let kind = match &e {
        E::PoolTableFull(_) | E::WorkerTableFull(_) => Kind::Capacity,
        E::UnknownPool(_) | E::NotInPool(_) => Kind::NotFound,
        E::InvalidSlots { .. } | E::SlotsBelowLoad { .. } => Kind::InvalidArgument,
    };
    error(kind, e)
}

/// Maps join errors: a full node table → `CapacityError`, the rest (already
/// joined, a bad or taken address, no address left) → `InvalidArgumentError`.
pub fn join_error(e: pouw_netops::JoinError) -> PyErr {
    use pouw_netops::JoinError as E;
    let kind = match &e {
        E::TableFull(_) | E::AddressesExhausted => Kind::Capacity,
        E::AlreadyJoined(_) | E::OutsideCidr(_) | E::NotAssignable(_) | E::AddressTaken(_) => Kind::InvalidArgument,
    };
    error(kind, e)
}

/// Maps tunnel errors: unknown node or tunnel → `NotFoundError`, a full link
/// table → `CapacityError`, a self-link → `InvalidArgumentError`.
pub fn tunnel_error(e: pouw_netops::TunnelError) -> PyErr {
    use pouw_netops::TunnelError as E;
    let kind = match &e {
        E::UnknownNode(_) | E::UnknownTunnel => Kind::NotFound,
        E::TableFull { .. } => Kind::Capacity,
        E::SelfLink => Kind::InvalidArgument,
    };
    error(kind, e)
}
