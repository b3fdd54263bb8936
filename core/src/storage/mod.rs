//! Fixed-capacity containers whose backing store depends on the `alloc` feature.
//!
//! Every manager keeps its large tables in these three types:
//!
//! | type | like | with `alloc` | without `alloc` |
//! |---|---|---|---|
//! | [`Vec<T, N>`] | `heapless::Vec<T, N>` | an `alloc::vec::Vec` reserved for exactly `N` at construction | `heapless::Vec<T, N>` inline |
//! | [`Deque<T, N>`] | `heapless::Deque<T, N>` | an `alloc::collections::VecDeque` reserved for `N` at construction | `heapless::Deque<T, N>` inline |
//! | [`Array<T, N>`] | `[T; N]` | a `Box<[T]>` of length `N` | `[T; N]` inline |
//!
//! The API and the behaviour are the same in both builds: capacity is exactly
//! `N`, a push into a full container hands the item back, and nothing grows
//! after construction (with `alloc` the one allocation happens in `new`, so a
//! manager of thousands of nodes is a few hundred bytes plus its heap blocks,
//! and building it never touches the stack with the tables). Without `alloc`
//! nothing allocates at all.
//!
//! Both backings are always compiled under `alloc` ([`inline`] and [`heap`]), so
//! tests can check that they behave identically.

#[macro_use]
mod shared;

/// The inline backing: `heapless` containers and arrays, no allocation.
pub mod inline;

/// The heap backing: one allocation of exactly `N` elements at construction, never grown.
#[cfg(feature = "alloc")]
pub mod heap;

#[cfg(feature = "alloc")]
pub use heap::{Array, Deque, Vec};
#[cfg(not(feature = "alloc"))]
pub use inline::{Array, Deque, Vec};

#[cfg(test)]
mod tests;
