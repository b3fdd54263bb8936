//! Overlay address allocation: lowest free assignable address inside the CIDR.
//!
//! Taken addresses are kept as offsets from the network address in a sorted
//! array. Because the offsets are distinct and sorted, `taken[i] - i` never
//! decreases, so the first gap at or after any start is found by binary search:
//! finding the lowest free address is O(log n) whatever the prefix (a /64 is
//! never enumerated). Configured reserved addresses (at most
//! [`MAX_RESERVED`](super::MAX_RESERVED)) are skipped with one search each.
//! Recording the chosen address is an insertion into the sorted array: free when
//! it lands at the end (the usual case for lowest-free allocation without holes),
//! otherwise one `memmove` of the entries above it.

use super::parse::Cidr;

/// The sorted set of taken offsets, each with the node slot that holds it.
#[derive(Clone, Debug)]
pub(crate) struct AddressPool<const N: usize> {
    cidr: Cidr,
    first: u128,
    last: u128,
    /// Sorted, distinct, inside `[first, last]`.
    reserved: heapless::Vec<u128, { super::MAX_RESERVED }>,
    /// Sorted by offset, distinct offsets.
    taken: crate::storage::Vec<(u128, u32), N>,
}

/// Why a requested address cannot be assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    Outside,
    NotAssignable,
    Taken,
}

impl<const N: usize> AddressPool<N> {
    pub(crate) fn new(cidr: Cidr, reserved: heapless::Vec<u128, { super::MAX_RESERVED }>) -> Self {
        let (first, last) = assignable(&cidr);
        AddressPool { cidr, first, last, reserved, taken: crate::storage::Vec::new() }
    }

    pub(crate) const fn cidr(&self) -> &Cidr {
        &self.cidr
    }

    /// How many addresses automatic allocation could ever hand out (saturating at `u128::MAX`).
    pub(crate) fn assignable_count(&self) -> u128 {
        (self.last - self.first).saturating_add(1).saturating_sub(self.reserved.len() as u128)
    }

    /// The lowest assignable, unreserved, untaken offset, or `None` when exhausted.
    pub(crate) fn lowest_free(&self) -> Option<u128> {
        let mut start = self.first;
        loop {
            let candidate = self.gap_from(start)?;
            if self.reserved.binary_search(&candidate).is_err() {
                return Some(candidate);
            }
            start = candidate.checked_add(1).filter(|s| *s <= self.last)?;
        }
    }

    /// The lowest offset `>= start` not in `taken` (reserved ones not considered), within `last`.
    fn gap_from(&self, start: u128) -> Option<u128> {
        let from = self.taken.partition_point(|(o, _)| *o < start);
        let rest = self.taken.get(from..).unwrap_or(&[]);
        // rest[j] >= start + j always; the first j where it is greater is the gap.
        let (mut lo, mut hi) = (0usize, rest.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let contiguous = rest.get(mid).is_some_and(|(o, _)| *o == start.saturating_add(mid as u128));
            if contiguous {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        start.checked_add(lo as u128).filter(|c| *c <= self.last)
    }

    /// Checks an explicitly requested address and returns its offset.
    pub(crate) fn check_request(&self, addr: core::net::IpAddr) -> Result<u128, Refusal> {
        let offset = self.cidr.offset_of(addr).ok_or(Refusal::Outside)?;
        if offset < self.first || offset > self.last || self.reserved.binary_search(&offset).is_ok() {
            return Err(Refusal::NotAssignable);
        }
        if self.slot_of(offset).is_some() {
            return Err(Refusal::Taken);
        }
        Ok(offset)
    }

    /// The node slot holding `offset`.
    pub(crate) fn slot_of(&self, offset: u128) -> Option<u32> {
        let i = self.taken.binary_search_by(|(o, _)| o.cmp(&offset)).ok()?;
        self.taken.get(i).map(|(_, s)| *s)
    }

    /// Marks `offset` taken by `slot`; hands the pair back if the table is full
    /// or the offset is already taken.
    pub(crate) fn insert(&mut self, offset: u128, slot: u32) -> Result<(), (u128, u32)> {
        match self.taken.binary_search_by(|(o, _)| o.cmp(&offset)) {
            Ok(_) => Err((offset, slot)),
            Err(pos) => self.taken.insert(pos, (offset, slot)),
        }
    }

    /// Frees `offset`; returns whether it was taken.
    pub(crate) fn remove(&mut self, offset: u128) -> bool {
        match self.taken.binary_search_by(|(o, _)| o.cmp(&offset)) {
            Ok(i) if i < self.taken.len() => {
                self.taken.remove(i);
                true
            }
            _ => false,
        }
    }

    /// Taken offsets and their slots, lowest address first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u128, u32)> + '_ {
        self.taken.iter().copied()
    }
}

const fn assignable(cidr: &Cidr) -> (u128, u128) {
    // `Cidr::assignable` is not const; this mirrors it for the const constructor.
    let width: u32 = if cidr.is_ipv6() { 128 } else { 32 };
    let host_bits = width - cidr.prefix() as u32;
    let last = if host_bits >= 128 {
        u128::MAX
    } else if host_bits == 0 {
        0
    } else {
        (1u128 << host_bits) - 1
    };
    match (cidr.is_ipv6(), host_bits) {
        (_, 0 | 1) => (0, last),
        (false, _) => (1, last - 1),
        (true, _) => (1, last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(s: &str, reserved: &[u128]) -> AddressPool<64> {
        let mut r = heapless::Vec::new();
        for o in reserved {
            r.push(*o).unwrap();
        }
        AddressPool::new(Cidr::parse(s).unwrap(), r)
    }

    #[test]
    fn const_assignable_matches_cidr() {
        for s in ["10.0.0.0/8", "10.0.0.0/30", "10.0.0.0/31", "10.0.0.1/32", "fd00::/64", "fd00::/127", "::/0"] {
            let c = Cidr::parse(s).unwrap();
            assert_eq!(assignable(&c), c.assignable(), "{s}");
        }
    }

    #[test]
    fn fills_lowest_gap_and_skips_reserved() {
        let mut p = pool("10.0.0.0/24", &[1, 3]);
        assert_eq!(p.lowest_free(), Some(2));
        p.insert(2, 0).unwrap();
        assert_eq!(p.lowest_free(), Some(4));
        p.insert(5, 1).unwrap();
        p.insert(4, 2).unwrap();
        assert_eq!(p.lowest_free(), Some(6));
        assert!(p.remove(4));
        assert_eq!(p.lowest_free(), Some(4));
        assert_eq!(p.check_request("10.0.0.3".parse().unwrap()), Err(Refusal::NotAssignable));
        assert_eq!(p.check_request("10.0.0.255".parse().unwrap()), Err(Refusal::NotAssignable));
        assert_eq!(p.check_request("10.0.0.0".parse().unwrap()), Err(Refusal::NotAssignable));
        assert_eq!(p.check_request("10.0.0.5".parse().unwrap()), Err(Refusal::Taken));
        assert_eq!(p.check_request("10.0.1.5".parse().unwrap()), Err(Refusal::Outside));
        assert_eq!(p.check_request("10.0.0.254".parse().unwrap()), Ok(254));
        assert_eq!(p.insert(5, 9), Err((5, 9)));
    }

    #[test]
    fn huge_ipv6_prefix_is_not_enumerated() {
        let mut p = pool("fd00::/64", &[1]);
        assert_eq!(p.lowest_free(), Some(2));
        p.insert(2, 0).unwrap();
        p.insert(u128::from(u64::MAX), 1).unwrap();
        assert_eq!(p.lowest_free(), Some(3));
        assert_eq!(p.assignable_count(), u128::from(u64::MAX) - 1);
    }
}
