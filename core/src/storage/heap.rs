use alloc::boxed::Box;
use alloc::collections::VecDeque;
use core::fmt;
use core::ops::{Deref, DerefMut};

/// A vector of at most `N` elements in one heap block reserved at construction.
pub struct Vec<T, const N: usize>(pub(super) alloc::vec::Vec<T>);

impl<T, const N: usize> Vec<T, N> {
    /// An empty vector with room for `N` elements (allocated now, once).
    pub fn new() -> Self {
        Vec(alloc::vec::Vec::with_capacity(N))
    }

    vec_methods!();

    /// Appends `item`, or hands it back when full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.is_full() {
            return Err(item);
        }
        self.0.push(item);
        Ok(())
    }

    /// Inserts `item` at `index`, shifting later elements; hands it back when
    /// full or when `index > len`.
    pub fn insert(&mut self, index: usize, item: T) -> Result<(), T> {
        if self.is_full() || index > self.0.len() {
            return Err(item);
        }
        self.0.insert(index, item);
        Ok(())
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
        self.0.resize(len, value);
        Ok(())
    }
}

/// A clone reserves its own `N` elements, so it never grows either.
impl<T: Clone, const N: usize> Clone for Vec<T, N> {
    fn clone(&self) -> Self {
        let mut v = alloc::vec::Vec::with_capacity(N);
        v.extend_from_slice(&self.0);
        Vec(v)
    }
}

/// A double-ended queue of at most `N` elements in one heap ring reserved at construction.
pub struct Deque<T, const N: usize>(VecDeque<T>);

impl<T, const N: usize> Deque<T, N> {
    /// An empty queue with room for `N` elements (allocated now, once).
    pub fn new() -> Self {
        Deque(VecDeque::with_capacity(N))
    }

    deque_methods!();

    /// Appends `item` at the back, or hands it back when full.
    pub fn push_back(&mut self, item: T) -> Result<(), T> {
        if self.is_full() {
            return Err(item);
        }
        self.0.push_back(item);
        Ok(())
    }

    /// Prepends `item` at the front, or hands it back when full.
    pub fn push_front(&mut self, item: T) -> Result<(), T> {
        if self.is_full() {
            return Err(item);
        }
        self.0.push_front(item);
        Ok(())
    }
}

/// A clone reserves its own `N` elements, so it never grows either.
impl<T: Clone, const N: usize> Clone for Deque<T, N> {
    fn clone(&self) -> Self {
        let mut d = VecDeque::with_capacity(N);
        d.extend(self.0.iter().cloned());
        Deque(d)
    }
}

/// Exactly `N` elements in one heap block.
#[derive(Clone)]
pub struct Array<T, const N: usize>(Box<[T]>);

impl<T: Copy, const N: usize> Array<T, N> {
    /// `N` copies of `value` (allocated now, once).
    pub fn filled(value: T) -> Self {
        Array(alloc::vec![value; N].into_boxed_slice())
    }
}

shared_impls!();
