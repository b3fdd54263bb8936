//! Integer arguments: any Python `int`, range-checked into a Rust integer.
//!
//! pyo3 refuses an `int` outside a `u64`, `u16`, … parameter's range with
//! `OverflowError`. The package's rule is `InvalidArgumentError` (a
//! `ValueError`) for every out-of-range value, so every integer parameter
//! converts with one of these functions (`#[pyo3(from_py_with = …)]`), and
//! this is the one place the rule is applied.

use crate::errors::invalid;
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use std::fmt::Display;

/// `obj` as a `T`: an `int` outside `T`'s range is an `InvalidArgumentError`
/// naming the range; anything else pyo3 refuses keeps pyo3's error.
pub fn int<'py, T>(obj: &Bound<'py, PyAny>, min: T, max: T) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr> + Display,
{
    obj.extract::<T>().map_err(|e| {
        if e.is_instance_of::<PyOverflowError>(obj.py()) {
            invalid(format!("{obj} is out of range ({min}..={max})"))
        } else {
            e
        }
    })
}

/// An unsigned 64-bit argument (seeds, terms, sequences).
pub fn u64_arg(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    int(obj, u64::MIN, u64::MAX)
}

/// An unsigned 32-bit argument.
pub fn u32_arg(obj: &Bound<'_, PyAny>) -> PyResult<u32> {
    int(obj, u32::MIN, u32::MAX)
}

/// An unsigned 16-bit argument (slots, primaries, backups, ports).
pub fn u16_arg(obj: &Bound<'_, PyAny>) -> PyResult<u16> {
    int(obj, u16::MIN, u16::MAX)
}

/// A `usize` argument (sizes).
pub fn usize_arg(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    int(obj, usize::MIN, usize::MAX)
}

/// An optional unsigned 16-bit argument (`None` stays `None`).
pub fn opt_u16_arg(obj: &Bound<'_, PyAny>) -> PyResult<Option<u16>> {
    if obj.is_none() { Ok(None) } else { u16_arg(obj).map(Some) }
}
