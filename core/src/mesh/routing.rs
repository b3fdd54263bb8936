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

    /// Rebuilds from `edges` (each undirected link once) over slots `0..nodes`.
    /// `edges` is called twice and must yield the same sequence both times.
    pub(crate) fn rebuild<I: Iterator<Item = (u32, u32, u64)>>(&mut self, nodes: usize, edges: impl Fn() -> I) {
        let nodes = nodes.min(N);
        self.start.clear();
        self.degree.clear();
        let _ = self.start.resize(nodes, 0);
        let _ = self.degree.resize(nodes, 0);
        let mut total = 0usize;
        for (a, b, _) in edges() {
            for v in [a, b] {
                if let Some(d) = self.degree.get_mut(v as usize) {
                    *d += 1;
                }
            }
            total += 2;
        }
        let mut acc = 0u32;
        for (s, d) in self.start.iter_mut().zip(self.degree.iter_mut()) {
            *s = acc;
            acc = acc.saturating_add(*d);
            *d = 0;
        }
        self.low.clear();
        self.high.clear();
        let total = total.min(2 * E);
        let _ = self.low.resize(total.min(E), Half::default());
        let _ = self.high.resize(total.saturating_sub(E), Half::default());
        for (a, b, weight) in edges() {
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
    /// Heap of slots ordered by `(dist, hops)`; `pos[v]` is `v`'s index in it.
    heap: Vec<u32, N>,
    pos: Vec<u32, N>,
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
    pub(crate) fn run<const E: usize>(&mut self, csr: &Csr<N, E>, src: u32, lower_id: impl Fn(u32, u32) -> bool) {
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
        set(&mut self.dist, src, 0);
        set(&mut self.hops, src, 0);
        self.push(src);
        while let Some(u) = self.pop() {
            let (du, hu) = self.key(u);
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
                let better =
                    cand < cur || (cand == cur && get(&self.pos, v) != NONE && lower_id(u, get(&self.pred, v)));
                // Settled nodes have keys below `cand`, so they are never improved.
                if better {
                    set(&mut self.dist, v, cand.0);
                    set(&mut self.hops, v, cand.1);
                    set(&mut self.pred, v, u);
                    if get(&self.pos, v) == NONE {
                        self.push(v);
                    } else {
                        self.sift_up(get(&self.pos, v) as usize);
                    }
                }
            }
        }
    }

    fn less(&self, i: usize, j: usize) -> bool {
        match (self.heap.get(i), self.heap.get(j)) {
            (Some(&a), Some(&b)) => self.key(a) < self.key(b),
            _ => false,
        }
    }

    fn swap(&mut self, i: usize, j: usize) {
        if i < self.heap.len() && j < self.heap.len() {
            self.heap.swap(i, j);
            if let Some(&a) = self.heap.get(i) {
                set(&mut self.pos, a, i as u32);
            }
            if let Some(&b) = self.heap.get(j) {
                set(&mut self.pos, b, j as u32);
            }
        }
    }

    fn push(&mut self, v: u32) {
        if self.heap.push(v).is_ok() {
            let i = self.heap.len() - 1;
            set(&mut self.pos, v, i as u32);
            self.sift_up(i);
        }
    }

    /// Pops the minimum and marks it settled (`pos = NONE` with a finite distance).
    fn pop(&mut self) -> Option<u32> {
        let last = self.heap.len().checked_sub(1)?;
        self.swap(0, last);
        let v = self.heap.pop()?;
        set(&mut self.pos, v, NONE);
        self.sift_down(0);
        Some(v)
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.less(i, parent) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < self.heap.len() && self.less(l, m) {
                m = l;
            }
            if r < self.heap.len() && self.less(r, m) {
                m = r;
            }
            if m == i {
                break;
            }
            self.swap(i, m);
            i = m;
        }
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
