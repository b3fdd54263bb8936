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

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Whether the vector holds `N` elements.
    pub fn is_full(&self) -> bool {
        self.0.len() >= N
    }

    /// Appends `item`, or hands it back when full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        self.0.push(item)
    }

    /// Removes the last element.
    pub fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }

    /// Inserts `item` at `index`, shifting later elements; hands it back when
    /// full or when `index > len`.
    pub fn insert(&mut self, index: usize, item: T) -> Result<(), T> {
        if index > self.0.len() {
            return Err(item);
        }
        self.0.insert(index, item)
    }

    /// Removes the element at `index`, shifting later ones.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        (index < self.0.len()).then(|| self.0.remove(index))
    }

    /// Removes the element at `index`, moving the last element into its place.
    pub fn swap_remove(&mut self, index: usize) -> Option<T> {
        (index < self.0.len()).then(|| self.0.swap_remove(index))
    }

    /// Shortens the vector to `len` elements (no effect if it is shorter).
    pub fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Keeps the elements for which `keep` is true, in order.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }

    /// Keeps the elements for which `keep` is true, in order, letting it change them.
    pub fn retain_mut(&mut self, keep: impl FnMut(&mut T) -> bool) {
        self.0.retain_mut(keep);
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

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        self.0.as_slice()
    }

    /// The elements, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self.0.as_mut_slice()
    }
}

impl<T, const N: usize> Default for Vec<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> Deref for Vec<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0.as_slice()
    }
}

impl<T, const N: usize> DerefMut for Vec<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.0.as_mut_slice()
    }
}

impl<'a, T, const N: usize> IntoIterator for &'a Vec<T, N> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Vec<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
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

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Elements queued.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the queue is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the queue holds `N` elements.
    pub fn is_full(&self) -> bool {
        self.0.len() >= N
    }

    /// Appends `item` at the back, or hands it back when full.
    pub fn push_back(&mut self, item: T) -> Result<(), T> {
        self.0.push_back(item)
    }

    /// Prepends `item` at the front, or hands it back when full.
    pub fn push_front(&mut self, item: T) -> Result<(), T> {
        self.0.push_front(item)
    }

    /// Removes the front element.
    pub fn pop_front(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    /// Removes the back element.
    pub fn pop_back(&mut self) -> Option<T> {
        self.0.pop_back()
    }

    /// The front element.
    pub fn front(&self) -> Option<&T> {
        self.0.front()
    }

    /// The front element, mutably.
    pub fn front_mut(&mut self) -> Option<&mut T> {
        self.0.front_mut()
    }

    /// The back element.
    pub fn back(&self) -> Option<&T> {
        self.0.back()
    }

    /// The back element, mutably.
    pub fn back_mut(&mut self) -> Option<&mut T> {
        self.0.back_mut()
    }

    /// The element `index` places from the front.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.0.get(index)
    }

    /// The element `index` places from the front, mutably.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.0.get_mut(index)
    }

    /// Front to back.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + '_ {
        self.0.iter()
    }

    /// Front to back, mutably.
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> + ExactSizeIterator + '_ {
        self.0.iter_mut()
    }

    /// Keeps the elements for which `keep` is true, in order.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl<T, const N: usize> Default for Deque<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Deque<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
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

impl<T, const N: usize> Deref for Array<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T, const N: usize> DerefMut for Array<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Array<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}
