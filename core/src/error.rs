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
