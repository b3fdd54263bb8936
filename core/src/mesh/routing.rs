//! Latency routing: a compressed adjacency (CSR) of the up links, kept between
//! recomputes (latencies patched in place), and Dijkstra with a radix heap,
//! all in fixed-capacity scratch, no allocation.
//!
//! Paths are ordered lexicographically by `(latency, hops)`: every link adds at
//! least one hop, so zero-latency links are handled and "strictly closer" is
//! well defined. Among equal `(latency, hops)` candidates the predecessor with
//! the lowest node id wins; every such candidate is settled before the node
//! itself, so the result does not depend on heap order or insertion order.

use crate::storage::Vec;

/// The adjacency rebuild sorts by groups of nodes first, at most `2^GROUP_BITS` groups ...
const GROUP_BITS: u32 = 6;
/// ... from this many half-links on (512 KB; always in tests, which are smaller).
const GROUP_SORT_MIN: usize = if cfg!(test) { 1 } else { 32 * 1024 };
/// "No node" in slot-indexed arrays.
pub(crate) const NONE: u32 = u32::MAX;
/// Distance of an unreachable node.
pub(crate) const INF: u64 = u64::MAX;
/// Sums of latencies saturate here, so a reachable node is never mistaken for an unreachable one.
pub(crate) const MAX_COST: u64 = u64::MAX - 1;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Half {
    pub(crate) to: u32,
    /// The node the half-link leaves (sorts the half-links while rebuilding;
    /// it sits in what would be padding).
    from: u32,
    pub(crate) weight: u64,
}

/// The up links as adjacency lists indexed by node slot. Holds up to `2 * E`
/// directed half-links in two arrays of `E` (const generics cannot say `2 * E`).
pub(crate) struct Csr<const N: usize, const E: usize> {
    start: Vec<u32, N>,
    degree: Vec<u32, N>,
    low: Vec<Half, E>,
    high: Vec<Half, E>,
}

impl<const N: usize, const E: usize> Csr<N, E> {
    pub(crate) fn new() -> Self {
        Csr { start: Vec::new(), degree: Vec::new(), low: Vec::new(), high: Vec::new() }
    }

    /// Rebuilds from the links `edges()` yields (each undirected link once) over
    /// slots `0..nodes`, in one pass over the links: it appends both half-links
    /// of each and counts degrees, then sorts the half-links by the node they
    /// leave in place (a counting sort that swaps each half-link straight into
    /// its node's range). The link table's records are large (144 bytes) and,
    /// beyond a few hundred links, out of cache: reading them once instead of
    /// twice is most of what a rebuild costs, and the sort works on the
    /// adjacency's own `16 * 2E` bytes, no scratch. At most `E` links are
    /// taken; links naming a slot outside `0..nodes` are skipped.
    pub(crate) fn rebuild<I: Iterator<Item = (u32, u32, u64)>>(&mut self, nodes: usize, edges: impl Fn() -> I) {
        let nodes = nodes.min(N);
        self.start.clear();
        self.degree.clear();
        self.low.clear();
        self.high.clear();
        let _ = self.start.resize(nodes, 0);
        let _ = self.degree.resize(nodes, 0);
        for (a, b, weight) in edges().take(E) {
            if (a as usize) >= nodes || (b as usize) >= nodes {
                continue;
            }
            for (from, to) in [(a, b), (b, a)] {
                let half = Half { to, from, weight };
                // `low` takes the first `E` half-links, `high` the rest: both fit.
                let _ = self.low.push(half).or_else(|h| self.high.push(h));
                if let Some(d) = self.degree.get_mut(from as usize) {
                    *d += 1;
                }
            }
        }
        // `start[v]` is where `v`'s range begins; `degree[v]` becomes the number
        // of half-links already in place in it, and ends as its degree again.
        let mut acc = 0u32;
        for (s, d) in self.start.iter_mut().zip(self.degree.iter_mut()) {
            *s = acc;
            acc = acc.saturating_add(*d);
            *d = 0;
        }
        let total = acc as usize;
        // A large adjacency is sorted first by groups of nodes (at most 64, so
        // the write positions stay in cache), then by node within each group's
        // range: a sort straight to nodes chases a cache miss per move once the
        // adjacency outgrows the cache (4,096 nodes: 1 MB), while below that
        // the extra pass costs more than it saves (measured at 256, 1,024 and
        // 4,096 nodes).
        let shift = (u32::BITS - (nodes.saturating_sub(1) as u32).leading_zeros()).saturating_sub(GROUP_BITS);
        if shift > 0 && total >= GROUP_SORT_MIN {
            self.sort_groups(nodes, total, shift);
        }
        // Every move puts one half-link in its final place: at most `total` of them.
        let mut moves = total;
        for v in 0..nodes as u32 {
            let end = self.start.get(v as usize + 1).map_or(total, |&e| e as usize);
            loop {
                let i = self.cursor(v);
                if i >= end {
                    break;
                }
                // Follow the cycle from slot `i`: the half-link there goes to its
                // node's next free slot, the one found there moves on, until one
                // that leaves `v` comes back to `i`.
                let mut half = self.get(i);
                while half.from != v && moves > 0 {
                    moves -= 1;
                    let j = self.cursor(half.from);
                    self.bump(half.from);
                    half = self.swap(j, half);
                }
                self.set(i, half);
                self.bump(v);
            }
        }
    }

    /// Moves each half-link into the range of its node's group (nodes with the
    /// same `from >> shift`, at most `2^GROUP_BITS` groups), in place, the
    /// same way the final pass moves them to their nodes. Not inlined: its
    /// 1 KB of cursors is on the stack only when a large adjacency is sorted,
    /// never in the small presets' recomputes.
    #[inline(never)]
    fn sort_groups(&mut self, nodes: usize, total: usize, shift: u32) {
        const GROUPS: usize = 1 << GROUP_BITS;
        let mut cur = [0usize; GROUPS];
        let mut end = [0usize; GROUPS];
        let group_start = |g: usize| self.start.get(g << shift).map_or(total, |&s| s as usize);
        for (g, (c, e)) in cur.iter_mut().zip(end.iter_mut()).enumerate() {
            *c = group_start(g);
            *e = group_start(g + 1);
        }
        let groups = (nodes.saturating_sub(1) >> shift).saturating_add(1).min(GROUPS);
        let mut moves = total;
        for g in 0..groups {
            while let (Some(&i), Some(&e)) = (cur.get(g), end.get(g))
                && i < e
            {
                let mut half = self.get(i);
                while (half.from >> shift) as usize != g && moves > 0 {
                    moves -= 1;
                    let Some(c) = cur.get_mut((half.from >> shift) as usize) else { break };
                    let j = *c;
                    *c += 1;
                    half = self.swap(j, half);
                }
                self.set(i, half);
                if let Some(c) = cur.get_mut(g) {
                    *c += 1;
                }
            }
        }
    }

    /// The next slot to fill in `v`'s range.
    fn cursor(&self, v: u32) -> usize {
        let s = self.start.get(v as usize).copied().unwrap_or(u32::MAX) as usize;
        s.saturating_add(self.degree.get(v as usize).copied().unwrap_or(0) as usize)
    }

    fn bump(&mut self, v: u32) {
        if let Some(d) = self.degree.get_mut(v as usize) {
            *d += 1;
        }
    }

    fn slot(&mut self, i: usize) -> Option<&mut Half> {
        if i < E { self.low.get_mut(i) } else { self.high.get_mut(i - E) }
    }

    fn get(&mut self, i: usize) -> Half {
        self.slot(i).map(|h| *h).unwrap_or_default()
    }

    fn set(&mut self, i: usize, half: Half) {
        if let Some(slot) = self.slot(i) {
            *slot = half;
        }
    }

    /// Puts `half` in slot `i` and returns what was there.
    fn swap(&mut self, i: usize, half: Half) -> Half {
        self.slot(i).map_or(half, |slot| core::mem::replace(slot, half))
    }

    pub(crate) fn nodes(&self) -> usize {
        self.start.len()
    }

    /// Sets the weight of the link between `a` and `b`, both half-links, in
    /// place: a latency change costs a scan of two nodes' ranges instead of a
    /// rebuild, and leaves the half-links where a rebuild would put them (the
    /// order depends only on which links are up). Returns `false`, changing
    /// nothing, if either half-link is not in the adjacency.
    pub(crate) fn set_weight(&mut self, a: u32, b: u32, weight: u64) -> bool {
        let (Some(i), Some(j)) = (self.find(a, b), self.find(b, a)) else { return false };
        for k in [i, j] {
            if let Some(h) = self.slot(k) {
                h.weight = weight;
            }
        }
        true
    }

    /// The position of the half-link from `from` to `to`.
    fn find(&self, from: u32, to: u32) -> Option<usize> {
        let s = self.start.get(from as usize).copied()? as usize;
        let d = self.degree.get(from as usize).copied()? as usize;
        (s..s.saturating_add(d))
            .find(|&i| if i < E { self.low.get(i) } else { self.high.get(i - E) }.is_some_and(|h| h.to == to))
    }

    /// The half-links leaving `v`.
    pub(crate) fn neighbours(&self, v: u32) -> impl Iterator<Item = Half> + '_ {
        let s = self.start.get(v as usize).copied().unwrap_or(0) as usize;
        let d = self.degree.get(v as usize).copied().unwrap_or(0) as usize;
        (s..s + d).filter_map(move |i| if i < E { self.low.get(i) } else { self.high.get(i - E) }.copied())
    }
}

/// Buckets of the radix queue. A queued node's key is `(queue key << 32) |
/// hops`, at most 96 bits: bucket 0 holds keys equal to the last key popped,
/// bucket `b >= 1` those whose highest bit differing from it is bit `b - 1`.
const BUCKETS: usize = 97;
/// The bucket of a node not in the queue.
const OUT: u8 = u8::MAX;

/// One single-source shortest-path computation's results and scratch.
///
/// The queue is a radix heap (Ahuja, Mehlhorn, Orlin and Tarjan): Dijkstra
/// pops keys in non-decreasing order, so a queued key only has to be placed by
/// its highest bit differing from the last key popped; a pop takes bucket 0, or
/// empties the lowest non-empty bucket into lower ones, each node moving down
/// at most once per bit. Buckets are doubly linked lists through `next` and
/// `prev`, so lowering a key is an unlink and a link. Which of several nodes
/// with equal keys comes out first differs from a binary heap; the results do
/// not depend on it (see the module documentation).
pub(crate) struct ShortestPaths<const N: usize> {
    pub(crate) dist: Vec<u64, N>,
    pub(crate) hops: Vec<u32, N>,
    pub(crate) pred: Vec<u32, N>,
    /// First hop from the source towards each node (`NONE` if unreachable or the source).
    pub(crate) first_hop: Vec<u32, N>,
    /// The queue key of each queued node: its distance or its detour, see [`Bound`].
    qkey: Vec<u64, N>,
    /// Each node's bucket, `OUT` when not queued: `OUT` with a finite distance is settled.
    bucket: Vec<u8, N>,
    next: Vec<u32, N>,
    prev: Vec<u32, N>,
    heads: [u32; BUCKETS],
    /// Bit `b - 1` is set when bucket `b >= 1` is not empty.
    full: u128,
    /// The last key popped.
    last: u128,
}

/// How far a run goes.
pub(crate) enum Bound<'a> {
    /// Everywhere: a plain Dijkstra.
    Unbounded,
    /// A search ordered by detour instead of distance: with `potential` the
    /// distances from another node `p` one link of weight `offset` away, the
    /// detour of `u` is `offset + dist(u) - potential[u]`, what going through
    /// this run's source costs `p` over its best path to `u`. Detours never
    /// shrink along a path (`potential` obeys the triangle inequality), so this
    /// is Dijkstra with Johnson's reweighting: every node is settled with its
    /// exact `(dist, hops)`, in detour order. The run stops at the first node
    /// whose detour is `stop` or more, or once every node with `target[u]` set
    /// is settled; nodes not settled by then are left unreachable (`INF`).
    /// (Only when sums saturate near `u64::MAX` µs can a detour shrink; the
    /// queue then treats it as equal to the last one popped.)
    Detour { potential: &'a [u64], offset: u64, stop: u64, target: &'a [bool], targets: usize },
}

impl<const N: usize> ShortestPaths<N> {
    pub(crate) fn new() -> Self {
        ShortestPaths {
            dist: Vec::new(),
            hops: Vec::new(),
            pred: Vec::new(),
            first_hop: Vec::new(),
            qkey: Vec::new(),
            bucket: Vec::new(),
            next: Vec::new(),
            prev: Vec::new(),
            heads: [NONE; BUCKETS],
            full: 0,
            last: 0,
        }
    }

    /// `(dist, hops)` of `v`, `(INF, MAX)` if unknown.
    pub(crate) fn key(&self, v: u32) -> (u64, u32) {
        (self.dist.get(v as usize).copied().unwrap_or(INF), self.hops.get(v as usize).copied().unwrap_or(u32::MAX))
    }

    /// Dijkstra from `src` over `csr`; `lower_id(a, b)` says whether node `a`'s id sorts before `b`'s.
    pub(crate) fn run<const E: usize>(
        &mut self,
        csr: &Csr<N, E>,
        src: u32,
        bound: Bound<'_>,
        lower_id: impl Fn(u32, u32) -> bool,
    ) {
        let n = csr.nodes();
        for v in [&mut self.pred, &mut self.first_hop, &mut self.next, &mut self.prev] {
            v.clear();
            let _ = v.resize(n, NONE);
        }
        self.dist.clear();
        let _ = self.dist.resize(n, INF);
        self.hops.clear();
        let _ = self.hops.resize(n, u32::MAX);
        self.qkey.clear();
        let _ = self.qkey.resize(n, INF);
        self.bucket.clear();
        let _ = self.bucket.resize(n, OUT);
        self.heads = [NONE; BUCKETS];
        self.full = 0;
        self.last = 0;
        if (src as usize) >= n {
            return;
        }
        let (potential, offset, stop, target, mut targets) = match bound {
            Bound::Unbounded => (None, 0, u64::MAX, None, usize::MAX),
            Bound::Detour { potential, offset, stop, target, targets } => {
                (Some(potential), offset, stop, Some(target), targets)
            }
        };
        // The queue key of `v` reached at distance `d`: `d` itself, or its detour.
        let key_of = |v: u32, d: u64| match potential {
            None => d,
            Some(p) => offset.saturating_add(d).saturating_sub(p.get(v as usize).copied().unwrap_or(INF)),
        };
        set(&mut self.dist, src, 0);
        set(&mut self.hops, src, 0);
        let k = key_of(src, 0);
        self.last = pack(k, 0);
        self.enqueue(src, k, 0);
        while let Some(u) = self.pop() {
            if self.qkey.get(u as usize).copied().unwrap_or(INF) >= stop {
                break;
            }
            let (du, hu) = self.key(u);
            if target.and_then(|t| t.get(u as usize)).copied().unwrap_or(false) {
                targets = targets.saturating_sub(1);
                if targets == 0 {
                    break;
                }
            }
            let pu = get(&self.pred, u);
            let first = if u == src {
                NONE
            } else if pu == src {
                u
            } else {
                get(&self.first_hop, pu)
            };
            set(&mut self.first_hop, u, first);
            for half in csr.neighbours(u) {
                let v = half.to;
                let cand = (du.saturating_add(half.weight).min(MAX_COST), hu.saturating_add(1));
                let cur = self.key(v);
                let queued = self.bucket.get(v as usize).is_some_and(|&b| b != OUT);
                let better = cand < cur || (cand == cur && queued && lower_id(u, get(&self.pred, v)));
                // Settled nodes have keys below `cand`, so they are never improved.
                if better {
                    set(&mut self.dist, v, cand.0);
                    set(&mut self.hops, v, cand.1);
                    set(&mut self.pred, v, u);
                    if queued {
                        self.unlink(v);
                    }
                    self.enqueue(v, key_of(v, cand.0), cand.1);
                }
            }
        }
        // Anything still queued when an early stop ends the run is left unreachable.
        let mut left = n;
        for b in 0..BUCKETS {
            let mut v = self.heads.get(b).copied().unwrap_or(NONE);
            while v != NONE && left > 0 {
                left -= 1;
                set(&mut self.dist, v, INF);
                set(&mut self.hops, v, u32::MAX);
                set(&mut self.bucket, v, OUT);
                v = get(&self.next, v);
            }
        }
    }

    /// Queues `v` with queue key `k` and `hops` (never below the last key popped).
    fn enqueue(&mut self, v: u32, k: u64, hops: u32) {
        set(&mut self.qkey, v, k);
        let key = pack(k, hops).max(self.last);
        self.link(v, self.bucket_of(key));
    }

    fn bucket_of(&self, key: u128) -> usize {
        let x = key ^ self.last;
        if x == 0 { 0 } else { (u128::BITS - x.leading_zeros()) as usize }
    }

    /// `v`'s key as queued: the queue key, the hops, and the last key popped at least.
    fn queued_key(&self, v: u32) -> u128 {
        let k = self.qkey.get(v as usize).copied().unwrap_or(INF);
        pack(k, self.hops.get(v as usize).copied().unwrap_or(u32::MAX)).max(self.last)
    }

    fn link(&mut self, v: u32, b: usize) {
        let Some(head) = self.heads.get_mut(b) else { return };
        let old = core::mem::replace(head, v);
        set(&mut self.next, v, old);
        set(&mut self.prev, v, NONE);
        if old != NONE {
            set(&mut self.prev, old, v);
        }
        set(&mut self.bucket, v, b as u8);
        if b > 0 {
            self.full |= 1 << (b - 1);
        }
    }

    fn unlink(&mut self, v: u32) {
        let b = self.bucket.get(v as usize).copied().unwrap_or(OUT) as usize;
        let (p, nx) = (get(&self.prev, v), get(&self.next, v));
        if p == NONE {
            if let Some(head) = self.heads.get_mut(b) {
                *head = nx;
                if nx == NONE && b > 0 {
                    self.full &= !(1 << (b - 1));
                }
            }
        } else {
            set(&mut self.next, p, nx);
        }
        if nx != NONE {
            set(&mut self.prev, nx, p);
        }
        set(&mut self.bucket, v, OUT);
    }

    /// Takes a node with the smallest key out of the queue (it is settled).
    fn pop(&mut self) -> Option<u32> {
        if self.heads.first().copied().unwrap_or(NONE) == NONE {
            if self.full == 0 {
                return None;
            }
            // The lowest non-empty bucket: its smallest key becomes the last
            // popped, and its nodes move to lower buckets by that key.
            let b = self.full.trailing_zeros() as usize + 1;
            let head = self.heads.get_mut(b).map_or(NONE, |h| core::mem::replace(h, NONE));
            self.full &= !(1 << (b - 1));
            let (mut v, mut min, mut steps) = (head, u128::MAX, self.dist.len());
            while v != NONE && steps > 0 {
                steps -= 1;
                min = min.min(self.queued_key(v));
                v = get(&self.next, v);
            }
            self.last = min;
            let (mut v, mut steps) = (head, self.dist.len());
            while v != NONE && steps > 0 {
                steps -= 1;
                let next = get(&self.next, v);
                let key = self.queued_key(v);
                self.link(v, self.bucket_of(key));
                v = next;
            }
        }
        let v = self.heads.first().copied().filter(|&v| v != NONE)?;
        self.unlink(v);
        Some(v)
    }
}

/// A queue key and hop count as one radix-queue key, ordered as the pair.
fn pack(k: u64, hops: u32) -> u128 {
    (u128::from(k) << 32) | u128::from(hops)
}

fn get(v: &[u32], i: u32) -> u32 {
    v.get(i as usize).copied().unwrap_or(NONE)
}

fn set<T>(v: &mut [T], i: u32, x: T) {
    if let Some(slot) = v.get_mut(i as usize) {
        *slot = x;
    }
}
