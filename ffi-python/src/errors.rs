//! Core errors as Python exceptions.
//!
//! The exception classes are defined in Python (`pouw_netops/_errors.py`) so
//! that they can inherit from both `NetOpsError` and the built-in the old API
//! raised (`ValueError`, `LookupError`). Which class an error raises follows
//! from the core's [`ErrorKind`] alone ([`class_of`], one total table, as the C
//! API's result codes do); the exception carries the kind's name as `kind` and
//! the core error's `Display` text as its message.

use pouw_netops::error::{Classify, ErrorKind};
use pouw_netops::{ConfigError, IdError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use std::fmt::Display;

/// The Python exception classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `InvalidArgumentError`, a `ValueError`.
    InvalidArgument,
    /// `InvalidStateError`, an `InvalidArgumentError` (the old API raised `ValueError`).
    InvalidState,
    /// `AttemptsExhaustedError`, an `InvalidStateError`.
    AttemptsExhausted,
    /// `NotFoundError`, a `LookupError` (and a `ValueError`, as a missing pool was in the old API).
    NotFound,
    /// `CapacityError` (not a `ValueError`).
    Capacity,
    /// `DecodeError`, a `ValueError`.
    Decode,
    /// `AuthenticationError`: a bad signature or tag, an unknown sender, a replay.
    Authentication,
    /// `CredentialError`, an `AuthenticationError`: a certificate or revocation list not accepted.
    Credential,
}

impl Class {
    /// The class's name in `pouw_netops._errors`.
    pub const fn name(self) -> &'static str {
        match self {
            Class::InvalidArgument => "InvalidArgumentError",
            Class::InvalidState => "InvalidStateError",
            Class::AttemptsExhausted => "AttemptsExhaustedError",
            Class::NotFound => "NotFoundError",
            Class::Capacity => "CapacityError",
            Class::Decode => "DecodeError",
            Class::Authentication => "AuthenticationError",
            Class::Credential => "CredentialError",
        }
    }
}

/// The exception class of an error kind: the one classification of the core's
/// errors. The argument kinds and a too small buffer (which the binding never
/// passes) are `InvalidArgumentError`; every decode kind is a `DecodeError`.
pub const fn class_of(kind: ErrorKind) -> Class {
    match kind {
        k if k.is_decode() => Class::Decode,
        ErrorKind::InvalidArgument
        | ErrorKind::InvalidId
        | ErrorKind::InvalidConfig
        | ErrorKind::InvalidMetric
        | ErrorKind::BufferTooSmall => Class::InvalidArgument,
        ErrorKind::NotFound => Class::NotFound,
        ErrorKind::CapacityExceeded => Class::Capacity,
        ErrorKind::InvalidState => Class::InvalidState,
        ErrorKind::AttemptsExhausted => Class::AttemptsExhausted,
        ErrorKind::Unauthenticated | ErrorKind::Replayed => Class::Authentication,
        ErrorKind::CredentialRejected => Class::Credential,
        // `VerifyFailed`, a proof that does not verify (the decode kinds took the
        // first arm); test_errors.py checks every kind against the C codes.
        _ => Class::Decode,
    }
}

static INVALID_ARGUMENT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INVALID_STATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ATTEMPTS_EXHAUSTED: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NOT_FOUND: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CAPACITY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DECODE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static AUTHENTICATION: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CREDENTIAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// A Python exception of `kind`'s class with `message`, its `kind` attribute set.
pub fn error(kind: ErrorKind, message: impl ToString) -> PyErr {
    let message = message.to_string();
    let class = class_of(kind);
    Python::attach(|py| {
        let cell = match class {
            Class::InvalidArgument => &INVALID_ARGUMENT,
            Class::InvalidState => &INVALID_STATE,
            Class::AttemptsExhausted => &ATTEMPTS_EXHAUSTED,
            Class::NotFound => &NOT_FOUND,
            Class::Capacity => &CAPACITY,
            Class::Decode => &DECODE,
            Class::Authentication => &AUTHENTICATION,
            Class::Credential => &CREDENTIAL,
        };
        let ty = match cell.import(py, "pouw_netops._errors", class.name()) {
            Ok(ty) => ty,
            Err(e) => return e,
        };
        let err = PyErr::from_type(ty.clone(), message);
        match err.value(py).setattr("kind", kind.as_str()) {
            Ok(()) => err,
            Err(e) => e,
        }
    })
}

/// Any core error, raised as the class its kind names.
pub fn core_error<E: Classify + Display>(e: E) -> PyErr {
    error(e.kind(), e)
}

/// An `InvalidArgumentError` with `message`: an argument the binding itself
/// could not convert (an unknown name, a non-finite number).
pub fn invalid(message: impl ToString) -> PyErr {
    error(ErrorKind::InvalidArgument, message)
}

/// A core error about one argument, named by what the argument is for.
pub fn field_error<E: Classify + Display>(what: &str, e: E) -> PyErr {
    error(e.kind(), format!("{what}: {e}"))
}

/// An invalid id, named by what the id is for.
pub fn id_error(what: &str, e: IdError) -> PyErr {
    field_error(what, e)
}

/// A configuration error.
pub fn config_error(e: ConfigError) -> PyErr {
    core_error(e)
}

/// Every error kind's name with the name of the class it raises, for the
/// tests that check the table is total and the classes exist.
#[pyfunction]
fn error_classes() -> Vec<(&'static str, &'static str)> {
    ErrorKind::ALL.into_iter().map(|k| (k.as_str(), class_of(k).name())).collect()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(error_classes, m)?)
}
