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

/// `Ring` for the `Deque` of each backing module named.
macro_rules! ring_for {
    ($($backing:ident),+) => {$(
        impl<const M: usize> Ring for $backing::Deque<u32, M> {
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
    )+};
}
ring_for!(inline, heap);

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

/// The reference's answer to adding `v` to a container bounded by `N`: if it
/// `fits`, `add` runs and the answer is `Ok`; otherwise `v` comes back.
fn bounded<T>(fits: bool, add: impl FnOnce(), v: T) -> Result<(), T> {
    if fits {
        add();
        Ok(())
    } else {
        Err(v)
    }
}

/// Runs `$call` on both backings, `$a` and `$b` (bound to `$s` in turn), and
/// checks each result against `$want`, the reference's.
macro_rules! both {
    ($a:ident, $b:ident, $want:expr, $s:ident => $call:expr) => {{
        let want = $want;
        {
            let $s = &mut $a;
            prop_assert_eq!($call, want);
        }
        {
            let $s = &mut $b;
            prop_assert_eq!($call, want);
        }
    }};
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
                VecOp::Push(v) => both!(a, b, bounded(r.len() < N, || r.push(v), v), s => s.push(v)),
                VecOp::Pop => both!(a, b, r.pop(), s => s.pop()),
                VecOp::Insert(i, v) => {
                    both!(a, b, bounded(r.len() < N && i <= r.len(), || r.insert(i, v), v), s => s.insert(i, v))
                }
                VecOp::Remove(i) => both!(a, b, (i < r.len()).then(|| r.remove(i)), s => s.remove(i)),
                VecOp::SwapRemove(i) => both!(a, b, (i < r.len()).then(|| r.swap_remove(i)), s => s.swap_remove(i)),
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
                VecOp::Resize(n, v) => both!(a, b, bounded(n <= N, || r.resize(n, v), v), s => s.resize(n, v)),
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
                DequeOp::PushBack(v) => both!(a, b, bounded(r.len() < N, || r.push_back(v), v), s => s.push_back(v)),
                DequeOp::PushFront(v) => both!(a, b, bounded(r.len() < N, || r.push_front(v), v), s => s.push_front(v)),
                DequeOp::PopFront => both!(a, b, r.pop_front(), s => s.pop_front()),
                DequeOp::PopBack => both!(a, b, r.pop_back(), s => s.pop_back()),
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
