use core::fmt;
use core::ops::{Deref, DerefMut};

/// A vector of at most `N` elements stored inline.
#[derive(Clone)]
pub struct Vec<T, const N: usize>(heapless::Vec<T, N>);

impl<T, const N: usize> Vec<T, N> {
    /// An empty vector.
    pub const fn new() -> Self {
        Vec(heapless::Vec::new())
    }

    vec_methods!();

    /// Appends `item`, or hands it back when full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        self.0.push(item)
    }

    /// Inserts `item` at `index`, shifting later elements; hands it back when
    /// full or when `index > len`.
    pub fn insert(&mut self, index: usize, item: T) -> Result<(), T> {
        if index > self.0.len() {
            return Err(item);
        }
        self.0.insert(index, item)
    }

    /// Resizes to `len`, filling with clones of `value`; if `len > N` nothing
    /// changes and `value` is handed back.
    pub fn resize(&mut self, len: usize, value: T) -> Result<(), T>
    where
        T: Clone,
    {
        if len > N {
            return Err(value);
        }
        // `len <= N`: heapless cannot refuse it.
        let _ = self.0.resize(len, value);
        Ok(())
    }
}

/// A double-ended queue of at most `N` elements stored inline.
#[derive(Clone)]
pub struct Deque<T, const N: usize>(heapless::Deque<T, N>);

impl<T, const N: usize> Deque<T, N> {
    /// An empty queue.
    pub const fn new() -> Self {
        Deque(heapless::Deque::new())
    }

    deque_methods!();

    /// Appends `item` at the back, or hands it back when full.
    pub fn push_back(&mut self, item: T) -> Result<(), T> {
        self.0.push_back(item)
    }

    /// Prepends `item` at the front, or hands it back when full.
    pub fn push_front(&mut self, item: T) -> Result<(), T> {
        self.0.push_front(item)
    }
}

/// Exactly `N` elements stored inline.
#[derive(Clone)]
pub struct Array<T, const N: usize>([T; N]);

impl<T: Copy, const N: usize> Array<T, N> {
    /// `N` copies of `value`.
    pub const fn filled(value: T) -> Self {
        Array([value; N])
    }
}

shared_impls!();
