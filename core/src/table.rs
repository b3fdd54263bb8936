//! `IdTable`: a fixed-capacity hash map from ids to values, in the role of
//! heapless's `IndexMap` but with twice as many hash slots as entries.
//!
//! heapless sizes its hash index to the entry capacity, so a table filled to
//! capacity probes hundreds of slots per lookup (measured: ~700 instructions per
//! lookup in a full 4096-node table). Here the index has `2N` slots of `u32`
//! (8 bytes per entry of overhead), so the load factor never exceeds ½ and a
//! lookup is one hash and one or two probes. Entries are dense and iterate in
//! insertion order (a removal moves the last entry into the gap), which is
//! deterministic: nothing depends on hash order.
//!
//! Entries and index live in [`crate::storage`] containers: reserved once on
//! the heap at construction with `alloc`, inline without it.

use crate::id::{NodeId, TaskId, TaskType};
use crate::storage::{Array, Vec};

/// A key usable in an [`IdTable`]: hashed by its bytes, compared with `Eq`.
pub trait TableKey: Eq {
    /// The key's hash (see [`hash_bytes`]); equal keys must hash equally.
    fn table_hash(&self) -> u32;
}

impl TableKey for NodeId {
    fn table_hash(&self) -> u32 {
        hash_bytes(self.as_bytes())
    }
}

impl TableKey for TaskId {
    fn table_hash(&self) -> u32 {
        hash_bytes(self.as_bytes())
    }
}

impl TableKey for TaskType {
    fn table_hash(&self) -> u32 {
        hash_bytes(self.as_bytes())
    }
}

/// A pair of slot numbers (the mesh keys its links by the two ends' slots).
impl TableKey for (u32, u32) {
    fn table_hash(&self) -> u32 {
        let mut bytes = [0u8; 8];
        let (a, b) = bytes.split_at_mut(4);
        a.copy_from_slice(&self.0.to_le_bytes());
        b.copy_from_slice(&self.1.to_le_bytes());
        hash_bytes(&bytes)
    }
}

/// 32-bit FNV-1a, then a mix so that the low bits used for the slot depend on
/// every input byte.
pub fn hash_bytes(bytes: &[u8]) -> u32 {
    let h = crate::hash::fnv1a_32(bytes);
    h ^ (h >> 16)
}

#[derive(Clone, Debug)]
struct Entry<K, V> {
    hash: u32,
    key: K,
    value: V,
}

/// A map of at most `N` entries (`N` < 2³¹) with a `2N`-slot hash index.
#[derive(Clone, Debug)]
pub struct IdTable<K, V, const N: usize> {
    entries: Vec<Entry<K, V>, N>,
    /// `0` is an empty slot, otherwise `entry index + 1`. Viewed flat: `2N` slots.
    index: Array<[u32; 2], N>,
}

impl<K: TableKey, V, const N: usize> Default for IdTable<K, V, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: TableKey, V, const N: usize> IdTable<K, V, N> {
    const CAPACITY_FITS: () = assert!(N < 1 << 31, "IdTable capacity must fit u32 slot numbers");

    /// An empty table (with `alloc`, its entries and index are allocated now, once).
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_FITS;
        IdTable { entries: Vec::new(), index: Array::filled([0; 2]) }
    }

    /// Bits of a slot that hold its entry number (1-based; 0 = empty): enough
    /// for `N`. The bits above hold the same bits of the entry's hash, so a
    /// probe that meets another key's slot moves on without reading the entry
    /// (entries are large and, over a table of 1,000 peers, mostly out of
    /// cache: the hash compare was the hottest load of a heartbeat's lookups).
    const NUMBER_BITS: u32 = u32::BITS - (N as u32).leading_zeros();
    /// The entry-number bits of a slot.
    const NUMBER_MASK: u32 = if Self::NUMBER_BITS >= u32::BITS { u32::MAX } else { (1 << Self::NUMBER_BITS) - 1 };

    /// The slot of entry `number` (1-based) whose key hashes to `hash`.
    const fn pack(number: u32, hash: u32) -> u32 {
        number | (hash & !Self::NUMBER_MASK)
    }

    /// The entry number (1-based, 0 = empty) in a slot.
    const fn number(stored: u32) -> u32 {
        stored & Self::NUMBER_MASK
    }

    fn slots(&self) -> &[u32] {
        self.index.as_flattened()
    }

    fn slots_mut(&mut self) -> &mut [u32] {
        self.index.as_flattened_mut()
    }

    fn slot_count(&self) -> usize {
        2 * N
    }

    fn home(&self, hash: u32) -> usize {
        (hash as usize) % self.slot_count().max(1)
    }

    fn next(&self, slot: usize) -> usize {
        let next = slot + 1;
        if next >= self.slot_count() { 0 } else { next }
    }

    /// Finds `(slot, entry index)` of `key`.
    fn find(&self, key: &K, hash: u32) -> Option<(usize, usize)> {
        let slots = self.slots();
        let mut slot = self.home(hash);
        for _ in 0..slots.len() {
            let stored = *slots.get(slot)?;
            if stored == 0 {
                return None;
            }
            if (stored ^ hash) & !Self::NUMBER_MASK != 0 {
                slot = self.next(slot);
                continue;
            }
            let i = Self::number(stored) as usize - 1;
            if let Some(e) = self.entries.get(i)
                && e.hash == hash
                && e.key == *key
            {
                return Some((slot, i));
            }
            slot = self.next(slot);
        }
        None
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the table holds `N` entries.
    pub fn is_full(&self) -> bool {
        self.entries.is_full()
    }

    /// The capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.index_of(key).is_some()
    }

    /// The dense position of `key`, for [`IdTable::get_index`].
    pub fn index_of(&self, key: &K) -> Option<usize> {
        self.find(key, key.table_hash()).map(|(_, i)| i)
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.index_of(key).and_then(|i| self.entries.get(i)).map(|e| &e.value)
    }

    /// The value of `key`, mutably.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.index_of(key).and_then(|i| self.entries.get_mut(i)).map(|e| &mut e.value)
    }

    /// The entry at dense position `i`.
    pub fn get_index(&self, i: usize) -> Option<(&K, &V)> {
        self.entries.get(i).map(|e| (&e.key, &e.value))
    }

    /// The entry at dense position `i`, with its value mutable.
    pub fn get_index_mut(&mut self, i: usize) -> Option<(&K, &mut V)> {
        self.entries.get_mut(i).map(|e| (&e.key, &mut e.value))
    }

    /// Inserts `key → value`. An existing value is replaced and returned as
    /// `Ok(Some(old))`; a full table hands both back as `Err((key, value))`.
    pub fn insert(&mut self, key: K, value: V) -> Result<Option<V>, (K, V)> {
        let h = key.table_hash();
        if let Some((_, i)) = self.find(&key, h)
            && let Some(e) = self.entries.get_mut(i)
        {
            return Ok(Some(core::mem::replace(&mut e.value, value)));
        }
        if self.entries.is_full() {
            return Err((key, value));
        }
        // Load factor ≤ ½ guarantees an empty slot on the probe sequence.
        let mut slot = self.home(h);
        let slot_count = self.slot_count();
        let mut free = None;
        for _ in 0..slot_count {
            if self.slots().get(slot) == Some(&0) {
                free = Some(slot);
                break;
            }
            slot = self.next(slot);
        }
        let Some(free) = free else { return Err((key, value)) };
        let position = self.entries.len();
        let Ok(number) = u32::try_from(position + 1) else { return Err((key, value)) };
        if let Err(e) = self.entries.push(Entry { hash: h, key, value }) {
            return Err((e.key, e.value));
        }
        if let Some(s) = self.slots_mut().get_mut(free) {
            *s = Self::pack(number, h);
        }
        Ok(None)
    }

    /// Removes `key`, returning its value. The last entry moves into its place.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let h = key.table_hash();
        let (slot, i) = self.find(key, h)?;
        self.clear_slot(slot);
        let last = self.entries.len().checked_sub(1)?;
        if i != last {
            // The last entry moves to `i`: repoint its slot.
            let moved_hash = self.entries.get(last)?.hash;
            let target = u32::try_from(last + 1).ok()?;
            let mut s = self.home(moved_hash);
            for _ in 0..self.slot_count() {
                if self.slots().get(s).map(|&v| Self::number(v)) == Some(target) {
                    if let (Some(cell), Ok(n)) = (self.slots_mut().get_mut(s), u32::try_from(i + 1)) {
                        *cell = Self::pack(n, moved_hash);
                    }
                    break;
                }
                s = self.next(s);
            }
        }
        self.entries.swap_remove(i).map(|e| e.value)
    }

    /// Empties `slot` with backward-shift deletion, keeping every probe chain intact.
    fn clear_slot(&mut self, mut hole: usize) {
        let count = self.slot_count();
        let mut probe = self.next(hole);
        for _ in 0..count {
            let stored = self.slots().get(probe).copied().unwrap_or(0);
            if stored == 0 {
                break;
            }
            let home = self.entries.get(Self::number(stored) as usize - 1).map(|e| self.home(e.hash)).unwrap_or(probe);
            // Distance from home to probe and to the hole, cyclically.
            let dist_probe = (probe + count - home) % count;
            let dist_hole = (hole + count - home) % count;
            if dist_hole < dist_probe {
                if let Some(h) = self.slots_mut().get_mut(hole) {
                    *h = stored;
                }
                hole = probe;
            }
            probe = self.next(probe);
        }
        if let Some(h) = self.slots_mut().get_mut(hole) {
            *h = 0;
        }
    }

    /// Entries in dense order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.entries.iter().map(|e| (&e.key, &e.value))
    }

    /// Entries in dense order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> + '_ {
        self.entries.iter_mut().map(|e| (&e.key, &mut e.value))
    }

    /// Keys in dense order.
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.entries.iter().map(|e| &e.key)
    }

    /// Values in dense order.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.entries.iter().map(|e| &e.value)
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.slots_mut().fill(0);
    }

    /// Keeps the entries for which `keep` is true, in their order, and rebuilds
    /// the index if any entry left: O(N) (no index work when all stay, as in a
    /// periodic expiry sweep that finds nothing).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let before = self.entries.len();
        self.entries.retain_mut(|e| keep(&e.key, &mut e.value));
        if self.entries.len() == before {
            return;
        }
        self.slots_mut().fill(0);
        for i in 0..self.entries.len() {
            let (Some(h), Ok(number)) = (self.entries.get(i).map(|e| e.hash), u32::try_from(i + 1)) else {
                break;
            };
            let mut slot = self.home(h);
            for _ in 0..self.slot_count() {
                match self.slots_mut().get_mut(slot) {
                    Some(s) if *s == 0 => {
                        *s = Self::pack(number, h);
                        break;
                    }
                    _ => slot = self.next(slot),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::format;
    use std::vec::Vec;

    fn id(i: u32) -> NodeId {
        NodeId::new(&format!("n{i}")).unwrap()
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut t: IdTable<NodeId, u32, 4> = IdTable::new();
        assert_eq!(t.insert(id(1), 10), Ok(None));
        assert_eq!(t.insert(id(2), 20), Ok(None));
        assert_eq!(t.insert(id(1), 11), Ok(Some(10)));
        assert_eq!(t.get(&id(1)), Some(&11));
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(&id(1)), Some(11));
        assert_eq!(t.remove(&id(1)), None);
        assert_eq!(t.get(&id(2)), Some(&20));
        assert_eq!(t.index_of(&id(2)), Some(0));
    }

    #[test]
    fn full_table_hands_item_back() {
        let mut t: IdTable<NodeId, u32, 2> = IdTable::new();
        t.insert(id(1), 1).unwrap();
        t.insert(id(2), 2).unwrap();
        assert_eq!(t.insert(id(3), 3), Err((id(3), 3)));
        assert_eq!(t.insert(id(2), 22), Ok(Some(2)));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn pair_keys_and_retain() {
        let mut t: IdTable<(u32, u32), u32, 8> = IdTable::new();
        for i in 0..8 {
            assert_eq!(t.insert((i, i + 1), i), Ok(None));
        }
        assert_eq!(t.insert((9, 9), 9), Err(((9, 9), 9)));
        t.retain(|(a, _), v| {
            *v += 100;
            a % 2 == 0
        });
        let kept: Vec<((u32, u32), u32)> = t.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(kept, [((0, 1), 100), ((2, 3), 102), ((4, 5), 104), ((6, 7), 106)]);
        assert_eq!(t.get(&(4, 5)), Some(&104));
        assert_eq!(t.get(&(3, 4)), None);
        assert_eq!(t.insert((3, 4), 3), Ok(None));
        assert_eq!(t.remove(&(0, 1)), Some(100));
        assert_eq!(t.get(&(3, 4)), Some(&3));
        t.clear();
        assert!(t.is_empty());
        assert_eq!(t.get(&(2, 3)), None);
    }

    /// A key whose hash the test chooses: keys may share a home slot, the
    /// hash bits a slot keeps, or the whole hash.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Chosen(u32, u32);

    impl TableKey for Chosen {
        fn table_hash(&self) -> u32 {
            self.0
        }
    }

    proptest! {
        #[test]
        fn colliding_hashes_behave_like_a_map(ops in proptest::collection::vec(
            // Hashes from a small set: equal home slots with equal or
            // different upper bits, and equal hashes for different keys.
            (0u32..4, 0u32..3, 0u32..24, prop::bool::ANY), 0..200,
        )) {
            let hash = |h: u32, tag: u32| h.wrapping_mul(16) | (tag << 20);
            let mut t: IdTable<Chosen, u32, 8> = IdTable::new();
            let mut reference: std::vec::Vec<(Chosen, u32)> = std::vec::Vec::new();
            for (h, tag, who, insert) in ops {
                let k = Chosen(hash(h, tag), who);
                let at = reference.iter().position(|(r, _)| *r == k);
                if insert {
                    let result = t.insert(k, who);
                    match at {
                        Some(i) => prop_assert_eq!(result, Ok(Some(reference[i].1))),
                        None if reference.len() < 8 => {
                            prop_assert_eq!(result, Ok(None));
                            reference.push((k, who));
                        }
                        None => prop_assert_eq!(result, Err((k, who))),
                    }
                } else {
                    let expected = at.map(|i| reference.swap_remove(i).1);
                    prop_assert_eq!(t.remove(&k), expected);
                }
                prop_assert_eq!(t.len(), reference.len());
                for (r, v) in &reference {
                    prop_assert_eq!(t.get(r), Some(v));
                }
                for h in 0..4 {
                    for tag in 0..3 {
                        for who in 0..24 {
                            let k = Chosen(hash(h, tag), who);
                            let present = reference.iter().any(|(r, _)| *r == k);
                            prop_assert_eq!(t.contains_key(&k), present);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_large_table_finds_every_key_after_removals() {
        let mut t: IdTable<NodeId, u32, 1024> = IdTable::new();
        for i in 0..1024 {
            assert_eq!(t.insert(id(i), i), Ok(None));
        }
        for i in (0..1024).step_by(3) {
            assert_eq!(t.remove(&id(i)), Some(i));
        }
        t.retain(|_, v| *v % 5 != 0);
        for i in 0..1100 {
            let expected = (i < 1024 && i % 3 != 0 && i % 5 != 0).then_some(i);
            assert_eq!(t.get(&id(i)).copied(), expected, "n{i}");
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32, u32),
        Remove(u32),
        Retain(u32),
    }

    proptest! {
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec(
            prop_oneof![
                8 => (0u32..40, any::<u32>()).prop_map(|(k, v)| Op::Insert(k, v)),
                4 => (0u32..40).prop_map(Op::Remove),
                1 => (2u32..5).prop_map(Op::Retain),
            ],
            0..300,
        )) {
            let mut t: IdTable<NodeId, u32, 16> = IdTable::new();
            let mut reference: BTreeMap<u32, u32> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let result = t.insert(id(k), v);
                        if reference.contains_key(&k) || reference.len() < 16 {
                            prop_assert_eq!(result, Ok(reference.insert(k, v)));
                        } else {
                            prop_assert_eq!(result, Err((id(k), v)));
                        }
                    }
                    Op::Remove(k) => prop_assert_eq!(t.remove(&id(k)), reference.remove(&k)),
                    Op::Retain(m) => {
                        let before: Vec<NodeId> = t.keys().cloned().collect();
                        t.retain(|_, v| *v % m != 0);
                        reference.retain(|_, v| *v % m != 0);
                        // Survivors keep their relative order.
                        let after: Vec<NodeId> = t.keys().cloned().collect();
                        let kept: Vec<NodeId> = before.into_iter().filter(|k| after.contains(k)).collect();
                        prop_assert_eq!(after, kept);
                    }
                }
                prop_assert_eq!(t.len(), reference.len());
                for k in 0..40 {
                    prop_assert_eq!(t.get(&id(k)), reference.get(&k));
                }
                let mut keys: Vec<NodeId> = t.keys().cloned().collect();
                keys.sort();
                let mut expected: Vec<NodeId> = reference.keys().map(|k| id(*k)).collect();
                expected.sort();
                prop_assert_eq!(keys, expected);
            }
        }
    }
}
