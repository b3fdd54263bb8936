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

/// The inline backing: `heapless` containers and arrays, no allocation.
pub mod inline {
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
}

/// The heap backing: one allocation of exactly `N` elements at construction, never grown.
#[cfg(feature = "alloc")]
pub mod heap {
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
            if self.is_full() {
                return Err(item);
            }
            self.0.push(item);
            Ok(())
        }

        /// Removes the last element.
        pub fn pop(&mut self) -> Option<T> {
            self.0.pop()
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
            self.0.resize(len, value);
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

    /// A clone reserves its own `N` elements, so it never grows either.
    impl<T: Clone, const N: usize> Clone for Vec<T, N> {
        fn clone(&self) -> Self {
            let mut v = alloc::vec::Vec::with_capacity(N);
            v.extend_from_slice(&self.0);
            Vec(v)
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

    /// A double-ended queue of at most `N` elements in one heap ring reserved at construction.
    pub struct Deque<T, const N: usize>(VecDeque<T>);

    impl<T, const N: usize> Deque<T, N> {
        /// An empty queue with room for `N` elements (allocated now, once).
        pub fn new() -> Self {
            Deque(VecDeque::with_capacity(N))
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

    /// A clone reserves its own `N` elements, so it never grows either.
    impl<T: Clone, const N: usize> Clone for Deque<T, N> {
        fn clone(&self) -> Self {
            let mut d = VecDeque::with_capacity(N);
            d.extend(self.0.iter().cloned());
            Deque(d)
        }
    }

    impl<T: fmt::Debug, const N: usize> fmt::Debug for Deque<T, N> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_list().entries(self.0.iter()).finish()
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
}

#[cfg(feature = "alloc")]
pub use heap::{Array, Deque, Vec};
#[cfg(not(feature = "alloc"))]
pub use inline::{Array, Deque, Vec};

#[cfg(test)]
mod tests {
    use super::{heap, inline};
    use proptest::prelude::*;
    use std::collections::VecDeque;
    use std::vec::Vec as StdVec;

    const N: usize = 5;

    #[test]
    fn full_vec_hands_the_item_back() {
        let mut a: inline::Vec<u32, 2> = inline::Vec::new();
        let mut b: heap::Vec<u32, 2> = heap::Vec::new();
        for v in [1, 2] {
            assert_eq!(a.push(v), Ok(()));
            assert_eq!(b.push(v), Ok(()));
        }
        assert!(a.is_full() && b.is_full());
        assert_eq!(a.push(3), Err(3));
        assert_eq!(b.push(3), Err(3));
        assert_eq!(a.insert(0, 4), Err(4));
        assert_eq!(b.insert(0, 4), Err(4));
        assert_eq!(a.resize(3, 0), Err(0));
        assert_eq!(b.resize(3, 0), Err(0));
        assert_eq!((a.as_slice(), b.as_slice()), (&[1, 2][..], &[1, 2][..]));
        assert_eq!((a.capacity(), b.capacity()), (2, 2));
    }

    #[test]
    fn heap_vec_reserves_exactly_once() {
        let mut v: heap::Vec<u64, 100> = heap::Vec::new();
        let start = v.0.as_ptr();
        assert!(v.0.capacity() >= 100);
        for i in 0..100 {
            v.push(i).unwrap();
        }
        assert_eq!(v.push(100), Err(100));
        // Filled to N without moving: the block reserved in `new` is the only one.
        assert_eq!(v.0.as_ptr(), start);
        let c = v.clone();
        assert!(c.0.capacity() >= 100);
        assert_eq!(c.as_slice(), v.as_slice());
    }

    #[test]
    fn deque_wraps_around_and_hands_items_back_when_full() {
        let mut a: inline::Deque<u32, 3> = inline::Deque::new();
        let mut b: heap::Deque<u32, 3> = heap::Deque::new();
        for round in 0..10u32 {
            for d in [&mut a as &mut dyn Ring, &mut b] {
                d.push_back_(round);
                if d.len_() > 2 {
                    assert_eq!(d.pop_front_(), Some(round - 2));
                }
            }
        }
        assert_eq!(a.iter().copied().collect::<StdVec<_>>(), [8, 9]);
        assert_eq!(b.iter().copied().collect::<StdVec<_>>(), [8, 9]);
        a.push_front(7).unwrap();
        b.push_front(7).unwrap();
        assert_eq!(a.push_back(10), Err(10));
        assert_eq!(b.push_back(10), Err(10));
        assert_eq!(a.push_front(6), Err(6));
        assert_eq!(b.push_front(6), Err(6));
        assert_eq!(a.iter().rev().copied().collect::<StdVec<_>>(), [9, 8, 7]);
        assert_eq!(b.iter().rev().copied().collect::<StdVec<_>>(), [9, 8, 7]);
    }

    /// Just enough of a queue to drive both backings through one loop.
    trait Ring {
        fn push_back_(&mut self, v: u32);
        fn pop_front_(&mut self) -> Option<u32>;
        fn len_(&self) -> usize;
    }

    impl<const M: usize> Ring for inline::Deque<u32, M> {
        fn push_back_(&mut self, v: u32) {
            self.push_back(v).unwrap();
        }
        fn pop_front_(&mut self) -> Option<u32> {
            self.pop_front()
        }
        fn len_(&self) -> usize {
            self.len()
        }
    }

    impl<const M: usize> Ring for heap::Deque<u32, M> {
        fn push_back_(&mut self, v: u32) {
            self.push_back(v).unwrap();
        }
        fn pop_front_(&mut self) -> Option<u32> {
            self.pop_front()
        }
        fn len_(&self) -> usize {
            self.len()
        }
    }

    #[test]
    fn arrays_hold_exactly_n() {
        let mut a: inline::Array<u16, 7> = inline::Array::filled(9);
        let mut b: heap::Array<u16, 7> = heap::Array::filled(9);
        assert_eq!((a.len(), b.len()), (7, 7));
        a[6] = 1;
        b[6] = 1;
        assert_eq!(&a[..], &b[..]);
        assert_eq!(a.get(7), None);
        assert_eq!(b.get(7), None);
    }

    #[derive(Clone, Debug)]
    enum VecOp {
        Push(u8),
        Pop,
        Insert(usize, u8),
        Remove(usize),
        SwapRemove(usize),
        Truncate(usize),
        Retain(u8),
        Resize(usize, u8),
        Clear,
    }

    fn vec_op() -> impl Strategy<Value = VecOp> {
        prop_oneof![
            4 => any::<u8>().prop_map(VecOp::Push),
            1 => Just(VecOp::Pop),
            2 => (0..N + 2, any::<u8>()).prop_map(|(i, v)| VecOp::Insert(i, v)),
            1 => (0..N + 2).prop_map(VecOp::Remove),
            1 => (0..N + 2).prop_map(VecOp::SwapRemove),
            1 => (0..N + 2).prop_map(VecOp::Truncate),
            1 => (1u8..4).prop_map(VecOp::Retain),
            1 => (0..N + 3, any::<u8>()).prop_map(|(n, v)| VecOp::Resize(n, v)),
            1 => Just(VecOp::Clear),
        ]
    }

    #[derive(Clone, Debug)]
    enum DequeOp {
        PushBack(u8),
        PushFront(u8),
        PopFront,
        PopBack,
        Retain(u8),
        Clear,
    }

    fn deque_op() -> impl Strategy<Value = DequeOp> {
        prop_oneof![
            4 => any::<u8>().prop_map(DequeOp::PushBack),
            2 => any::<u8>().prop_map(DequeOp::PushFront),
            2 => Just(DequeOp::PopFront),
            1 => Just(DequeOp::PopBack),
            1 => (1u8..4).prop_map(DequeOp::Retain),
            1 => Just(DequeOp::Clear),
        ]
    }

    proptest! {
        /// Both vector backings agree with a `std` vector that refuses to grow past `N`.
        #[test]
        fn vecs_match_a_bounded_reference(ops in proptest::collection::vec(vec_op(), 0..200)) {
            let mut a: inline::Vec<u8, N> = inline::Vec::new();
            let mut b: heap::Vec<u8, N> = heap::Vec::new();
            let mut r: StdVec<u8> = StdVec::new();
            for op in ops {
                match op {
                    VecOp::Push(v) => {
                        let want = if r.len() < N { r.push(v); Ok(()) } else { Err(v) };
                        prop_assert_eq!(a.push(v), want);
                        prop_assert_eq!(b.push(v), want);
                    }
                    VecOp::Pop => {
                        let want = r.pop();
                        prop_assert_eq!(a.pop(), want);
                        prop_assert_eq!(b.pop(), want);
                    }
                    VecOp::Insert(i, v) => {
                        let want = if r.len() < N && i <= r.len() { r.insert(i, v); Ok(()) } else { Err(v) };
                        prop_assert_eq!(a.insert(i, v), want);
                        prop_assert_eq!(b.insert(i, v), want);
                    }
                    VecOp::Remove(i) => {
                        let want = (i < r.len()).then(|| r.remove(i));
                        prop_assert_eq!(a.remove(i), want);
                        prop_assert_eq!(b.remove(i), want);
                    }
                    VecOp::SwapRemove(i) => {
                        let want = (i < r.len()).then(|| r.swap_remove(i));
                        prop_assert_eq!(a.swap_remove(i), want);
                        prop_assert_eq!(b.swap_remove(i), want);
                    }
                    VecOp::Truncate(n) => {
                        r.truncate(n);
                        a.truncate(n);
                        b.truncate(n);
                    }
                    VecOp::Retain(m) => {
                        r.retain(|x| x % m == 0);
                        a.retain(|x| x % m == 0);
                        b.retain_mut(|x| *x % m == 0);
                    }
                    VecOp::Resize(n, v) => {
                        let want = if n <= N { r.resize(n, v); Ok(()) } else { Err(v) };
                        prop_assert_eq!(a.resize(n, v), want);
                        prop_assert_eq!(b.resize(n, v), want);
                    }
                    VecOp::Clear => {
                        r.clear();
                        a.clear();
                        b.clear();
                    }
                }
                prop_assert_eq!(a.as_slice(), r.as_slice());
                prop_assert_eq!(b.as_slice(), r.as_slice());
                prop_assert_eq!(a.is_full(), r.len() == N);
                prop_assert_eq!(b.is_full(), r.len() == N);
            }
        }

        /// Both queue backings agree with a `VecDeque` that refuses to grow past `N`.
        #[test]
        fn deques_match_a_bounded_reference(ops in proptest::collection::vec(deque_op(), 0..200)) {
            let mut a: inline::Deque<u8, N> = inline::Deque::new();
            let mut b: heap::Deque<u8, N> = heap::Deque::new();
            let mut r: VecDeque<u8> = VecDeque::new();
            for op in ops {
                match op {
                    DequeOp::PushBack(v) => {
                        let want = if r.len() < N { r.push_back(v); Ok(()) } else { Err(v) };
                        prop_assert_eq!(a.push_back(v), want);
                        prop_assert_eq!(b.push_back(v), want);
                    }
                    DequeOp::PushFront(v) => {
                        let want = if r.len() < N { r.push_front(v); Ok(()) } else { Err(v) };
                        prop_assert_eq!(a.push_front(v), want);
                        prop_assert_eq!(b.push_front(v), want);
                    }
                    DequeOp::PopFront => {
                        let want = r.pop_front();
                        prop_assert_eq!(a.pop_front(), want);
                        prop_assert_eq!(b.pop_front(), want);
                    }
                    DequeOp::PopBack => {
                        let want = r.pop_back();
                        prop_assert_eq!(a.pop_back(), want);
                        prop_assert_eq!(b.pop_back(), want);
                    }
                    DequeOp::Retain(m) => {
                        r.retain(|x| x % m == 0);
                        a.retain(|x| x % m == 0);
                        b.retain(|x| x % m == 0);
                    }
                    DequeOp::Clear => {
                        r.clear();
                        a.clear();
                        b.clear();
                    }
                }
                let want: StdVec<u8> = r.iter().copied().collect();
                prop_assert_eq!(a.iter().copied().collect::<StdVec<_>>(), want.clone());
                prop_assert_eq!(b.iter().copied().collect::<StdVec<_>>(), want.clone());
                prop_assert_eq!((a.len(), b.len()), (r.len(), r.len()));
                prop_assert_eq!((a.is_full(), b.is_full()), (r.len() == N, r.len() == N));
                prop_assert_eq!((a.front(), b.front()), (r.front(), r.front()));
                prop_assert_eq!((a.back(), b.back()), (r.back(), r.back()));
                for i in 0..=N {
                    prop_assert_eq!(a.get(i), r.get(i));
                    prop_assert_eq!(b.get(i), r.get(i));
                }
            }
        }
    }
}
