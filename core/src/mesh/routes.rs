//! The local node's routing table: recomputation with hysteresis, route views and the topology report.

use super::*;

/// The local node's next hop towards `destination` changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteChange {
    /// The destination.
    pub destination: NodeId,
    /// The previous next hop (`None`: was unreachable or new).
    pub old_next_hop: Option<NodeId>,
    /// The new next hop (`None`: now unreachable).
    pub new_next_hop: Option<NodeId>,
}
/// The local node's route to one destination.
#[derive(Clone, Copy, Debug)]
pub struct RouteView<'a> {
    /// The destination.
    pub destination: &'a NodeId,
    /// The direct neighbour traffic goes to, `None` if unreachable.
    pub next_hop: Option<&'a NodeId>,
    /// Total latency of the route in use (`Duration::MAX` if unreachable).
    pub cost: Duration,
    /// Links on the route in use.
    pub hops: u32,
    /// Whether hysteresis kept this next hop although a slightly faster one exists.
    pub held: bool,
}

/// A summary of the mesh as the local node sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TopologyReport {
    /// Nodes in the mesh.
    pub nodes: usize,
    /// Tunnel records.
    pub tunnels: usize,
    /// Tunnels up.
    pub tunnels_up: usize,
    /// Links known from adverts or set directly (without a tunnel record).
    pub links: usize,
    /// Destinations with a route.
    pub reachable: usize,
    /// Destinations without one.
    pub unreachable: usize,
    /// `reachable / (nodes - 1)`; 1 when the local node is alone, 0 if it has not joined.
    pub connectivity_ratio: f64,
    /// Mean cost of the routes in use, if any.
    pub average_route_latency: Option<Duration>,
    /// Mean smoothed RTT of tunnels with measurements, if any.
    pub average_tunnel_latency: Option<Duration>,
    /// Sum of tunnel throughputs, bytes per second.
    pub total_bandwidth: u64,
    /// Route changes dropped because the queue was full (ever).
    pub dropped_route_changes: u64,
    /// Re-establish requests dropped because the queue was full (ever).
    pub dropped_reestablish: u64,
    /// Tunnels left out of local adverts beyond [`MAX_ADVERT_LINKS`](crate::wire::MAX_ADVERT_LINKS) (ever).
    pub dropped_advert_links: u64,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Route {
    pub(super) next_hop: u32,
    cost: u64,
    hops: u32,
    held: bool,
}

/// The smallest detour over the best cost `best` that hysteresis no longer
/// tolerates: a held route costs less than `best + margin` or less than
/// `best * (1000 + permille) / 1000`, so its detour is below the larger of
/// `margin` and `ceil(best * permille / 1000)`.
fn keep_threshold(best: u64, margin: u64, permille: u32) -> u64 {
    let rel = (u128::from(best) * u128::from(permille)).div_ceil(1000);
    margin.max(u64::try_from(rel).unwrap_or(u64::MAX))
}

pub(super) const UNREACHABLE: Route = Route { next_hop: NONE, cost: routing::INF, hops: 0, held: false };
impl<const N: usize, const E: usize, const Q: usize> VPNMeshTopologyManager<N, E, Q> {
    /// Recomputes the local node's routes: Dijkstra over up links, then
    /// hysteresis. A current next hop is kept if its link is still up, it is
    /// strictly closer to the destination than the local node (by `(latency,
    /// hops)`, which keeps next hops loop-free), and the new best route is not
    /// faster by both `switch_margin` and `switch_margin_permille`. Changed next
    /// hops are queued for [`VPNMeshTopologyManager::poll_route_change`].
    pub fn recompute_routes(&mut self, now: Instant) {
        self.clock.observe(now);
        self.routes_dirty = false;
        let Some(src) = self.local_slot() else {
            for r in self.routes.iter_mut() {
                *r = UNREACHABLE;
            }
            return;
        };
        let n = self.slots.len();
        // The adjacency is rebuilt only when which links are up changed:
        // latency changes were patched into it as they came.
        if self.csr_stale || self.csr.nodes() != n.min(N) {
            self.rebuild_adjacency();
        }
        let slots = &self.slots;
        self.main.run(&self.csr, src, Bound::Unbounded, |a, b| lower_id_in(slots, a, b));
        // Hysteresis needs, for each destination `v` whose current next hop `nb`
        // is no longer on the best path, `nb`'s own distance to it. `nb` is
        // kept only if its detour `w(local, nb) + dist_nb(v) - dist_local(v)` is
        // at most `w` (strictly closer) and below both switch margins. Detours
        // never shrink along a path, so each contested neighbour's search runs
        // in detour order (Johnson's reweighting with this run's distances)
        // and stops at the first detour no contested destination could keep,
        // or once they are all settled: it visits the near-optimal paths
        // through `nb`, not the graph.
        for r in self.routes.iter_mut() {
            r.held = false;
        }
        let (margin, permille) = (self.config.switch_margin.total_micros(), self.config.switch_margin_permille);
        for h in self.csr.neighbours(src) {
            let nb = h.to;
            let first_hop = &self.main.first_hop;
            let contested = |v: usize, r: &Route| r.next_hop == nb && first_hop.get(v).copied().unwrap_or(NONE) != nb;
            self.contested.clear();
            let _ = self.contested.resize(n, false);
            let (mut targets, mut threshold) = (0usize, 0u64);
            for ((v, r), c) in self.routes.iter().enumerate().zip(self.contested.iter_mut()) {
                *c = contested(v, r);
                if *c {
                    targets += 1;
                    threshold = threshold.max(keep_threshold(self.main.key(v as u32).0, margin, permille));
                }
            }
            if targets == 0 {
                continue;
            }
            let slots = &self.slots;
            #[cfg(test)]
            let reference = self.reference_hysteresis;
            #[cfg(not(test))]
            let reference = false;
            let bound = if reference {
                Bound::Unbounded
            } else {
                let stop = h.weight.saturating_add(1).min(threshold);
                Bound::Detour { potential: &self.main.dist, offset: h.weight, stop, target: &self.contested, targets }
            };
            self.alt.run(&self.csr, nb, bound, |a, b| lower_id_in(slots, a, b));
            for ((v, r), &c) in self.routes.iter_mut().enumerate().zip(self.contested.iter()) {
                if !c {
                    continue;
                }
                let (d_best, h_best) = self.main.key(v as u32);
                let (d_nb, h_nb) = self.alt.key(v as u32);
                let closer = d_nb != routing::INF && (d_nb, h_nb) < (d_best, h_best);
                let via = d_nb.saturating_add(h.weight).min(routing::MAX_COST);
                let abs_better = d_best.saturating_add(margin) <= via;
                let rel_better = u128::from(d_best) * (1000 + u128::from(permille)) <= u128::from(via) * 1000;
                if closer && !(abs_better && rel_better) {
                    *r = Route { next_hop: nb, cost: via, hops: h_nb.saturating_add(1), held: true };
                }
            }
        }
        for v in 0..n as u32 {
            let Some(old) = self.routes.get(v as usize).copied() else { continue };
            let occupied = self.record(v).is_some();
            let best = self.main.first_hop.get(v as usize).copied().unwrap_or(NONE);
            let new = if !occupied || v == src {
                UNREACHABLE
            } else if old.held {
                old
            } else if best == NONE {
                UNREACHABLE
            } else {
                let (cost, hops) = self.main.key(v);
                Route { next_hop: best, cost, hops, held: false }
            };
            if let Some(slot) = self.routes.get_mut(v as usize) {
                *slot = new;
            }
            if occupied && v != src && new.next_hop != old.next_hop {
                self.queue_route_change(v, old.next_hop, new.next_hop);
            }
        }
    }

    /// Rebuilds the adjacency from the link table.
    pub(super) fn rebuild_adjacency(&mut self) {
        let (csr, edges) = (&mut self.csr, &self.edges);
        let config = &self.config;
        csr.rebuild(self.slots.len(), || {
            edges.iter().filter_map(|(&(a, b), e)| edge_weight(config, e).map(|w| (a, b, w)))
        });
        self.csr_stale = false;
    }

    fn queue_route_change(&mut self, dest: u32, old: u32, new: u32) {
        if self.route_changes.is_full() {
            self.dropped_route_changes = self.dropped_route_changes.saturating_add(1);
            return;
        }
        let Some(destination) = self.id_of(dest).cloned() else { return };
        let departed = self.departed.as_ref().filter(|(s, _)| *s == old).map(|(_, id)| id);
        let old_next_hop = self.id_of(old).or(departed).cloned();
        let change = RouteChange { destination, old_next_hop, new_next_hop: self.id_of(new).cloned() };
        let _ = self.route_changes.push_back(change);
    }

    /// Whether something routing depends on changed since the last recompute.
    pub const fn routes_outdated(&self) -> bool {
        self.routes_dirty
    }

    /// The local node's route to `destination` (as of the last recompute).
    pub fn route(&self, destination: &NodeId) -> Option<RouteView<'_>> {
        let v = self.slot(destination)?;
        self.route_view(v)
    }

    fn route_view(&self, v: u32) -> Option<RouteView<'_>> {
        let r = self.routes.get(v as usize)?;
        let destination = self.id_of(v)?;
        let next_hop = self.id_of(r.next_hop);
        Some(RouteView {
            destination,
            next_hop,
            cost: if next_hop.is_some() { Duration::from_micros(r.cost) } else { Duration::MAX },
            hops: if next_hop.is_some() { r.hops } else { 0 },
            held: r.held && next_hop.is_some(),
        })
    }

    /// The routing table: every other node, in table-slot order (deterministic).
    pub fn routes(&self) -> impl Iterator<Item = RouteView<'_>> {
        let local = self.local_slot();
        (0..self.slots.len() as u32).filter(move |&v| Some(v) != local).filter_map(|v| self.route_view(v))
    }

    /// The shortest path from the local node to `destination` as of the last
    /// recompute, destination first and the local node last; `None` if
    /// unreachable. When hysteresis holds an older next hop ([`RouteView::held`])
    /// traffic goes that way instead.
    pub fn shortest_path(&self, destination: &NodeId) -> Option<impl Iterator<Item = &NodeId> + '_> {
        let v = self.slot(destination)?;
        let src = self.local_slot()?;
        if self.main.dist.get(v as usize).is_none_or(|d| *d == routing::INF) {
            return None;
        }
        let mut cur = Some(v);
        let mut steps = 0usize;
        Some(core::iter::from_fn(move || {
            let c = cur?;
            steps += 1;
            cur = if c == src || steps > N {
                None
            } else {
                self.main.pred.get(c as usize).copied().filter(|p| *p != NONE)
            };
            self.id_of(c)
        }))
    }

    /// A summary of the mesh.
    pub fn topology_report(&self) -> TopologyReport {
        let mut r = TopologyReport {
            nodes: self.ids.len(),
            dropped_route_changes: self.dropped_route_changes,
            dropped_reestablish: self.dropped_reestablish,
            dropped_advert_links: self.dropped_advert_links,
            ..TopologyReport::default()
        };
        let (mut rtt_sum, mut rtt_n) = (0u128, 0u128);
        for e in self.edges.values() {
            match &e.tunnel {
                Some(t) => {
                    r.tunnels += 1;
                    r.tunnels_up += usize::from(t.state == TunnelState::Up);
                    r.total_bandwidth = r.total_bandwidth.saturating_add(t.bandwidth);
                    if let Some(s) = t.srtt() {
                        rtt_sum += u128::from(s.total_micros());
                        rtt_n += 1;
                    }
                }
                None => r.links += usize::from(e.link.is_some()),
            }
        }
        r.average_tunnel_latency = rtt_sum.checked_div(rtt_n).map(|m| Duration::from_micros(m as u64));
        let (mut cost_sum, mut cost_n) = (0u128, 0u128);
        for route in self.routes() {
            if route.next_hop.is_some() {
                r.reachable += 1;
                cost_sum += u128::from(route.cost.total_micros());
                cost_n += 1;
            } else {
                r.unreachable += 1;
            }
        }
        r.average_route_latency = cost_sum.checked_div(cost_n).map(|m| Duration::from_micros(m as u64));
        r.connectivity_ratio = match (self.local_slot(), r.nodes) {
            (None, _) => 0.0,
            (Some(_), 0 | 1) => 1.0,
            (Some(_), n) => r.reachable as f64 / (n - 1) as f64,
        };
        r
    }
}
