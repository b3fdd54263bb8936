//! [`ArrivalQueue`]: the network's datagrams in flight, in arrival order
//! (`(at, seq)`, the push sequence breaking ties), like a binary heap of them
//! but with a calendar's memory pattern.
//!
//! A 1,000-node run has a thousand datagrams in flight and pops each one
//! between two nodes' work, which evicts the heap from the cache: a binary
//! heap's pop walks its whole depth, about ten cache misses. Here a datagram
//! due within the next [`RING`] slots of [`SLOT_MICROS`] goes into its slot's
//! bucket, kept sorted (a few datagrams each); the earliest is the last of
//! the first non-empty bucket, found in a bit mask. Later ones wait in a heap
//! until the ring reaches them. The order is exactly the heap's.

use pouw_netops::Instant;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Microseconds per slot, as a shift (1,024 µs).
const SLOT_SHIFT: u32 = 10;
/// Microseconds per slot.
pub const SLOT_MICROS: u64 = 1 << SLOT_SHIFT;
/// Slots in the ring (one bit each in the mask): 65.5 ms ahead.
pub const RING: u64 = 64;

fn slot_of(at: Instant) -> u64 {
    at.total_micros() >> SLOT_SHIFT
}

/// One queued item: its arrival, its push sequence, the item.
type Entry<T> = (Instant, u64, T);

/// Items by `(arrival, push sequence)`, earliest first.
pub struct ArrivalQueue<T> {
    /// `RING` buckets; the bucket of slot `s` is `s % RING`, each sorted
    /// latest first (the earliest is popped from the end).
    buckets: Vec<Vec<Entry<T>>>,
    /// Bit `b` is set when bucket `b` is not empty.
    mask: u64,
    /// Every item in the ring has its slot in `base..base + RING`.
    base: u64,
    /// Items with a slot at or past `base + RING`.
    far: BinaryHeap<Reverse<FarEntry<T>>>,
    seq: u64,
    len: usize,
}

/// A far item, ordered by `(at, seq)` only.
struct FarEntry<T>(Entry<T>);

impl<T> PartialEq for FarEntry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.0.0, self.0.1) == (other.0.0, other.0.1)
    }
}
impl<T> Eq for FarEntry<T> {}
impl<T> PartialOrd for FarEntry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for FarEntry<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0.0, self.0.1).cmp(&(other.0.0, other.0.1))
    }
}

impl<T> Default for ArrivalQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> ArrivalQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        ArrivalQueue {
            buckets: (0..RING).map(|_| Vec::new()).collect(),
            mask: 0,
            base: 0,
            far: BinaryHeap::new(),
            seq: 0,
            len: 0,
        }
    }

    /// Items queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues `item` to arrive at `at`, after every item queued before it for the same instant.
    pub fn push(&mut self, at: Instant, item: T) {
        self.seq += 1;
        self.len += 1;
        let slot = slot_of(at);
        if slot < self.base {
            // Earlier than the ring reaches back (a caller going back in
            // time): move the ring back to it.
            self.rewind(slot);
        }
        self.place((at, self.seq, item));
    }

    /// Puts an entry in its bucket (sorted) or, past the ring, in the far heap.
    fn place(&mut self, e: Entry<T>) {
        let slot = slot_of(e.0);
        if slot >= self.base.saturating_add(RING) {
            self.far.push(Reverse(FarEntry(e)));
            return;
        }
        let b = (slot % RING) as usize;
        if let Some(bucket) = self.buckets.get_mut(b) {
            let key = (e.0, e.1);
            let pos = bucket.partition_point(|x| (x.0, x.1) > key);
            bucket.insert(pos, e);
            self.mask |= 1 << b;
        }
    }

    /// Moves the ring back to start at `slot`: what no longer fits goes to the far heap.
    fn rewind(&mut self, slot: u64) {
        let old: Vec<Entry<T>> = self.buckets.iter_mut().flat_map(std::mem::take).collect();
        self.mask = 0;
        self.base = slot;
        for e in old {
            self.place(e);
        }
    }

    /// The first non-empty bucket of the ring, if any.
    fn first_bucket(&self) -> Option<usize> {
        if self.mask == 0 {
            return None;
        }
        let start = (self.base % RING) as u32;
        let k = self.mask.rotate_right(start).trailing_zeros();
        Some(((start + k) % RING as u32) as usize)
    }

    /// The earliest arrival queued.
    pub fn peek_time(&self) -> Option<Instant> {
        match self.first_bucket() {
            Some(b) => self.buckets.get(b).and_then(|v| v.last()).map(|e| e.0),
            None => self.far.peek().map(|Reverse(FarEntry(e))| e.0),
        }
    }

    /// Takes the earliest item if it arrives at or before `now`. When nothing
    /// is due, the ring moves up to `now` (nothing queued can arrive earlier).
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, T)> {
        if let Some(b) = self.first_bucket() {
            let bucket = self.buckets.get_mut(b)?;
            if bucket.last().is_some_and(|e| e.0 <= now) {
                let (at, _, item) = bucket.pop()?;
                if bucket.is_empty() {
                    self.mask &= !(1 << b);
                }
                self.len -= 1;
                return Some((at, item));
            }
        } else if self.far.peek().is_some_and(|Reverse(FarEntry(e))| e.0 <= now) {
            let Reverse(FarEntry((at, _, item))) = self.far.pop()?;
            self.len -= 1;
            return Some((at, item));
        }
        self.advance(slot_of(now));
        None
    }

    /// Moves the ring's start up to `slot` (only when nothing queued is
    /// earlier) and takes in what the far heap holds that now fits.
    fn advance(&mut self, slot: u64) {
        let first = match self.first_bucket() {
            Some(b) => self.buckets.get(b).and_then(|v| v.last()).map_or(slot, |e| slot_of(e.0)),
            None => slot,
        };
        let to = slot.min(first);
        if to <= self.base {
            return;
        }
        self.base = to;
        let horizon = self.base.saturating_add(RING);
        while self.far.peek().is_some_and(|Reverse(FarEntry(e))| slot_of(e.0) < horizon) {
            if let Some(Reverse(FarEntry(e))) = self.far.pop() {
                self.place(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pouw_netops::Rng;

    /// The reference: a binary heap of `(at, seq, item)`.
    struct Reference {
        heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
        seq: u64,
    }

    impl Reference {
        fn push(&mut self, at: Instant, item: u32) {
            self.seq += 1;
            self.heap.push(Reverse((at, self.seq, item)));
        }
        fn peek_time(&self) -> Option<Instant> {
            self.heap.peek().map(|Reverse((at, _, _))| *at)
        }
        fn pop_due(&mut self, now: Instant) -> Option<(Instant, u32)> {
            if self.peek_time()? > now {
                return None;
            }
            self.heap.pop().map(|Reverse((at, _, item))| (at, item))
        }
    }

    /// Random pushes at `now + delay` (delays from 0 up to `max_delay`,
    /// with ties) and pops as the clock moves, sometimes backwards: the same
    /// items in the same order as the heap.
    fn same_as_heap(seed: u64, max_delay: u64, backwards: bool) {
        let mut rng = Rng::new(seed);
        let mut q = ArrivalQueue::new();
        let mut r = Reference { heap: BinaryHeap::new(), seq: 0 };
        let mut now = 5_000_000u64;
        let mut item = 0u32;
        for _ in 0..20_000 {
            match rng.below(10) {
                0..=4 => {
                    // Ties: a few distinct instants only.
                    let d = if rng.chance(0.2) { rng.below(4) * 1000 } else { rng.below(max_delay + 1) };
                    let at = Instant::from_micros(now + d);
                    item += 1;
                    q.push(at, item);
                    r.push(at, item);
                }
                5..=8 => {
                    let t = Instant::from_micros(now);
                    assert_eq!(q.pop_due(t), r.pop_due(t));
                }
                _ => {
                    if backwards && rng.chance(0.1) {
                        now = now.saturating_sub(rng.below(200_000));
                    } else {
                        now += rng.below(max_delay / 4 + 2);
                    }
                }
            }
            assert_eq!(q.peek_time(), r.peek_time());
            assert_eq!(q.len(), r.heap.len());
        }
        let end = Instant::from_micros(u64::MAX);
        while let Some(x) = r.pop_due(end) {
            assert_eq!(q.pop_due(end), Some(x));
        }
        assert!(q.is_empty() && q.pop_due(end).is_none());
    }

    #[test]
    fn pops_in_the_heaps_order_within_the_ring() {
        for seed in 0..8 {
            same_as_heap(seed, 50_000, false);
        }
    }

    #[test]
    fn pops_in_the_heaps_order_past_the_ring() {
        // Delays up to 4 s: most items wait in the far heap first.
        for seed in 0..8 {
            same_as_heap(seed, 4_000_000, false);
        }
    }

    #[test]
    fn pops_in_the_heaps_order_when_the_clock_goes_back() {
        for seed in 0..8 {
            same_as_heap(seed, 300_000, true);
        }
    }
}
