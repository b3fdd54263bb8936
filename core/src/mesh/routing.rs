//! Latency routing: a compressed adjacency (CSR) of the up links and Dijkstra
//! with an indexed binary heap, all in fixed-capacity scratch, no allocation.
//!
//! Paths are ordered lexicographically by `(latency, hops)`: every link adds at
//! least one hop, so zero-latency links are handled and "strictly closer" is
//! well defined. Among equal `(latency, hops)` candidates the predecessor with
//! the lowest node id wins; every such candidate is settled before the node
//! itself, so the result does not depend on heap order or insertion order.

use crate::storage::Vec;

/// "No node" in slot-indexed arrays.
pub(crate) const NONE: u32 = u32::MAX;
/// Distance of an unreachable node.
pub(crate) const INF: u64 = u64::MAX;
/// Sums of latencies saturate here, so a reachable node is never mistaken for an unreachable one.
pub(crate) const MAX_COST: u64 = u64::MAX - 1;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Half {
    pub(crate) to: u32,
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

    /// Rebuilds from the links `edges()` yields (each undirected link once, in
    /// the same order on every call) over slots `0..nodes`,
    /// in two passes over the links: one counts each node's degree, one places
    /// the half-links. (A compact copy of the links would save the second read
    /// of the link table's large records, but costs `16 * E` bytes of RAM that
    /// the small embedded preset does not have.) At most `E` links are taken,
    /// the same ones in both passes.
    pub(crate) fn rebuild<I: Iterator<Item = (u32, u32, u64)>>(&mut self, nodes: usize, edges: impl Fn() -> I) {
        let nodes = nodes.min(N);
        self.start.clear();
        self.degree.clear();
        let _ = self.start.resize(nodes, 0);
        let _ = self.degree.resize(nodes, 0);
        let mut taken = 0usize;
        for (a, b, _) in edges().take(E) {
            taken += 1;
            for v in [a, b] {
                if let Some(d) = self.degree.get_mut(v as usize) {
                    *d += 1;
                }
            }
        }
        let mut acc = 0u32;
        for (s, d) in self.start.iter_mut().zip(self.degree.iter_mut()) {
            *s = acc;
            acc = acc.saturating_add(*d);
            *d = 0;
        }
        self.low.clear();
        self.high.clear();
        let total = (2 * taken).min(2 * E);
        let _ = self.low.resize(total.min(E), Half::default());
        let _ = self.high.resize(total.saturating_sub(E), Half::default());
        for (a, b, weight) in edges().take(taken) {
            self.place(a, Half { to: b, weight });
            self.place(b, Half { to: a, weight });
        }
    }

    fn place(&mut self, from: u32, half: Half) {
        let (Some(s), Some(d)) = (self.start.get(from as usize), self.degree.get_mut(from as usize)) else {
            return;
        };
        let i = (*s as usize).saturating_add(*d as usize);
        *d += 1;
        let slot = if i < E { self.low.get_mut(i) } else { self.high.get_mut(i - E) };
        if let Some(slot) = slot {
            *slot = half;
        }
    }

    pub(crate) fn nodes(&self) -> usize {
        self.start.len()
    }

    /// The half-links leaving `v`.
    pub(crate) fn neighbours(&self, v: u32) -> impl Iterator<Item = Half> + '_ {
        let s = self.start.get(v as usize).copied().unwrap_or(0) as usize;
        let d = self.degree.get(v as usize).copied().unwrap_or(0) as usize;
        (s..s + d).filter_map(move |i| if i < E { self.low.get(i) } else { self.high.get(i - E) }.copied())
    }
}

/// One single-source shortest-path computation's results and scratch.
pub(crate) struct ShortestPaths<const N: usize> {
    pub(crate) dist: Vec<u64, N>,
    pub(crate) hops: Vec<u32, N>,
    pub(crate) pred: Vec<u32, N>,
    /// First hop from the source towards each node (`NONE` if unreachable or the source).
    pub(crate) first_hop: Vec<u32, N>,
    /// Heap of `(key, hops, slot)` ordered by `(key, hops)` (the key is the
    /// distance or the detour, see [`Bound`]), inline so a comparison touches no
    /// other array; `pos[v]` is `v`'s index in it.
    heap: Vec<Entry, N>,
    pos: Vec<u32, N>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    key: u64,
    hops: u32,
    node: u32,
}

impl Entry {
    fn key(&self) -> (u64, u32) {
        (self.key, self.hops)
    }
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
    Detour { potential: &'a [u64], offset: u64, stop: u64, target: &'a [bool], targets: usize },
}

impl<const N: usize> ShortestPaths<N> {
    pub(crate) fn new() -> Self {
        ShortestPaths {
            dist: Vec::new(),
            hops: Vec::new(),
            pred: Vec::new(),
            first_hop: Vec::new(),
            heap: Vec::new(),
            pos: Vec::new(),
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
        for v in [&mut self.pred, &mut self.first_hop, &mut self.pos] {
            v.clear();
            let _ = v.resize(n, NONE);
        }
        self.dist.clear();
        let _ = self.dist.resize(n, INF);
        self.hops.clear();
        let _ = self.hops.resize(n, u32::MAX);
        self.heap.clear();
        if (src as usize) >= n {
            return;
        }
        let (potential, offset, stop, target, mut targets) = match bound {
            Bound::Unbounded => (None, 0, u64::MAX, None, usize::MAX),
            Bound::Detour { potential, offset, stop, target, targets } => {
                (Some(potential), offset, stop, Some(target), targets)
            }
        };
        // The heap key of `v` reached at distance `d`: `d` itself, or its detour.
        let key_of = |v: u32, d: u64| match potential {
            None => d,
            Some(p) => offset.saturating_add(d).saturating_sub(p.get(v as usize).copied().unwrap_or(INF)),
        };
        set(&mut self.dist, src, 0);
        set(&mut self.hops, src, 0);
        self.push(Entry { key: key_of(src, 0), hops: 0, node: src });
        while let Some(Entry { key, node: u, .. }) = self.pop() {
            if key >= stop {
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
                let at = get(&self.pos, v);
                let better = cand < cur || (cand == cur && at != NONE && lower_id(u, get(&self.pred, v)));
                // Settled nodes have keys below `cand`, so they are never improved.
                if better {
                    set(&mut self.dist, v, cand.0);
                    set(&mut self.hops, v, cand.1);
                    set(&mut self.pred, v, u);
                    let e = Entry { key: key_of(v, cand.0), hops: cand.1, node: v };
                    if at == NONE {
                        self.push(e);
                    } else if let Some(slot) = self.heap.get_mut(at as usize) {
                        *slot = e;
                        self.sift_up(at as usize);
                    }
                }
            }
        }
        // Anything still queued when an early stop ends the run is left unreachable.
        for e in self.heap.iter() {
            set(&mut self.pos, e.node, NONE);
            set(&mut self.dist, e.node, INF);
            set(&mut self.hops, e.node, u32::MAX);
        }
    }

    fn push(&mut self, e: Entry) {
        if self.heap.push(e).is_ok() {
            let i = self.heap.len() - 1;
            set(&mut self.pos, e.node, i as u32);
            self.sift_up(i);
        }
    }

    /// Pops the minimum and marks it settled (`pos = NONE` with a finite distance).
    fn pop(&mut self) -> Option<Entry> {
        let top = *self.heap.first()?;
        let last = self.heap.pop()?;
        set(&mut self.pos, top.node, NONE);
        if !self.heap.is_empty() {
            self.place(0, last);
            self.sift_down(0);
        }
        Some(top)
    }

    fn place(&mut self, i: usize, e: Entry) {
        if let Some(slot) = self.heap.get_mut(i) {
            *slot = e;
            set(&mut self.pos, e.node, i as u32);
        }
    }

    /// Moves the entry at `i` up to its place (a hole moves down instead of swaps).
    fn sift_up(&mut self, mut i: usize) {
        let Some(&e) = self.heap.get(i) else { return };
        while i > 0 {
            let parent = (i - 1) / 2;
            let Some(&p) = self.heap.get(parent) else { break };
            if e.key() >= p.key() {
                break;
            }
            self.place(i, p);
            i = parent;
        }
        self.place(i, e);
    }

    fn sift_down(&mut self, mut i: usize) {
        let Some(&e) = self.heap.get(i) else { return };
        let len = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= len {
                break;
            }
            let mut c = l;
            if let (Some(a), Some(b)) = (self.heap.get(l), self.heap.get(l + 1))
                && b.key() < a.key()
            {
                c = l + 1;
            }
            let Some(&child) = self.heap.get(c) else { break };
            if child.key() >= e.key() {
                break;
            }
            self.place(i, child);
            i = c;
        }
        self.place(i, e);
    }
}

fn get(v: &[u32], i: u32) -> u32 {
    v.get(i as usize).copied().unwrap_or(NONE)
}

fn set<T>(v: &mut [T], i: u32, x: T) {
    if let Some(slot) = v.get_mut(i as usize) {
        *slot = x;
    }
}
