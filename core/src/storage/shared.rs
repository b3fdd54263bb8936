//! The parts of the container API that read the same over both backings:
//! each backing writes its constructors and the calls that differ (a heap
//! push checks the capacity itself, heapless refuses on its own), and stamps
//! these in, so the two cannot drift apart.
//!
//! Each macro expects the backing's field `self.0` to offer the same method
//! names as `heapless::Vec` / `heapless::Deque` for the calls it forwards.

/// The `Vec` methods both backings share; expanded inside `impl<T, const N: usize> Vec<T, N>`.
macro_rules! vec_methods {
    () => {
        /// The capacity `N`.
        pub const fn capacity(&self) -> usize {
            N
        }

        /// Whether the vector holds `N` elements.
        pub fn is_full(&self) -> bool {
            self.0.len() >= N
        }

        /// Removes the last element.
        pub fn pop(&mut self) -> Option<T> {
            self.0.pop()
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

        /// The elements.
        pub fn as_slice(&self) -> &[T] {
            self.0.as_slice()
        }

        /// The elements, mutably.
        pub fn as_mut_slice(&mut self) -> &mut [T] {
            self.0.as_mut_slice()
        }
    };
}

/// The `Deque` methods both backings share; expanded inside `impl<T, const N: usize> Deque<T, N>`.
macro_rules! deque_methods {
    () => {
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
    };
}

/// The trait impls of `Vec`, `Deque` and `Array` both backings share; expanded
/// at module level, where `fmt`, `Deref` and `DerefMut` are in scope.
macro_rules! shared_impls {
    () => {
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
    };
}
