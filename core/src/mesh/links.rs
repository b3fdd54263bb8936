//! Links known without a tunnel record, and link-state adverts.

use super::*;

/// What happened to a link-state advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStateOutcome {
    /// Applied; `ignored` entries named nodes not in the mesh or the sender itself.
    Applied {
        /// Entries skipped.
        ignored: usize,
    },
    /// Its sequence number was not newer than the last one applied; nothing changed.
    Stale,
}

/// Who last described a link without a tunnel record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LinkSource {
    Direct,
    Advert(u32),
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Link {
    pub(super) latency: Duration,
    pub(super) up: bool,
    pub(super) source: LinkSource,
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct EdgeRecord {
    pub(super) tunnel: Option<Tunnel>,
    pub(super) link: Option<Link>,
}
impl<const N: usize, const E: usize, const Q: usize> VPNMeshTopologyManager<N, E, Q> {
    /// Sets the link between `a` and `b` directly (e.g. from a measurement the
    /// host made outside any tunnel). A tunnel record for the pair, if any, takes
    /// precedence for routing; its latency defaults to this one.
    pub fn record_link(
        &mut self,
        now: Instant,
        a: &NodeId,
        b: &NodeId,
        latency: Duration,
        up: bool,
    ) -> Result<(), TunnelError> {
        self.clock.observe(now);
        let key = self.pair_of(a, b)?;
        let before = self.weight_of(key);
        let link = Link { latency, up, source: LinkSource::Direct };
        match self.edges.get_mut(&key) {
            Some(e) => e.link = Some(link),
            None => {
                let record = EdgeRecord { tunnel: None, link: Some(link) };
                self.edges.insert(key, record).map_err(|_| TunnelError::TableFull { capacity: E })?;
            }
        }
        self.link_changed(key, before);
        self.routes_dirty = true;
        Ok(())
    }

    /// Applies a link-state advert from `sender`: its links replace the ones it
    /// advertised before. Adverts whose sequence number is not newer than the last
    /// one applied from that sender are ignored.
    pub fn handle_link_state(
        &mut self,
        now: Instant,
        sender: &NodeId,
        advert: &LinkState,
    ) -> Result<LinkStateOutcome, LinkStateError> {
        self.clock.observe(now);
        let s = self.slot(sender).ok_or_else(|| LinkStateError::UnknownSender(sender.clone()))?;
        if self.record(s).and_then(|r| r.advert_seq).is_some_and(|seq| advert.sequence <= seq) {
            return Ok(LinkStateOutcome::Stale);
        }
        let valid = |m: &Self, l: &LinkAdvert| m.slot(&l.neighbor).filter(|&o| o != s);
        // Room check first, so a rejected advert changes nothing.
        let new_pairs = advert
            .links
            .iter()
            .filter_map(|l| valid(self, l))
            .filter(|&o| !self.edges.contains_key(&pair(s, o)))
            .count();
        if self.edges.len() + new_pairs > E {
            let freed = self
                .edges
                .iter()
                .filter(|&(&(a, b), e)| {
                    e.tunnel.is_none()
                        && e.link.is_some_and(|l| l.source == LinkSource::Advert(s))
                        && !advert.links.iter().any(|l| valid(self, l).is_some_and(|o| pair(s, o) == (a, b)))
                })
                .count();
            if self.edges.len() + new_pairs > E + freed {
                return Err(LinkStateError::TableFull { capacity: E });
            }
        }
        // Drop the sender's previous advert (links other sources set are kept).
        self.edges.retain(|_, e| {
            if e.link.is_some_and(|l| l.source == LinkSource::Advert(s)) {
                e.link = None;
            }
            e.tunnel.is_some() || e.link.is_some()
        });
        let mut ignored = 0;
        for l in advert.links.iter() {
            let Some(o) = valid(self, l) else {
                ignored += 1;
                continue;
            };
            let link = Link { latency: l.latency, up: l.up, source: LinkSource::Advert(s) };
            match self.edges.get_mut(&pair(s, o)) {
                Some(e) => e.link = Some(link),
                None => {
                    // Room was checked above.
                    let _ = self.edges.insert(pair(s, o), EdgeRecord { tunnel: None, link: Some(link) });
                }
            }
        }
        if let Some(Some(r)) = self.slots.get_mut(s as usize) {
            r.advert_seq = Some(advert.sequence);
        }
        self.routes_dirty = true;
        self.csr_stale = true;
        Ok(LinkStateOutcome::Applied { ignored })
    }

    /// Forgets the links `origin` advertised (its advert aged out) and its
    /// last sequence number: its next advert applies whatever its sequence.
    /// Returns whether `origin` is in the mesh.
    pub fn clear_link_state(&mut self, now: Instant, origin: &NodeId) -> bool {
        self.clock.observe(now);
        let Some(s) = self.slot(origin) else { return false };
        let mut changed = false;
        self.edges.retain(|_, e| {
            if e.link.is_some_and(|l| l.source == LinkSource::Advert(s)) {
                e.link = None;
                changed = true;
            }
            e.tunnel.is_some() || e.link.is_some()
        });
        if let Some(Some(r)) = self.slots.get_mut(s as usize) {
            r.advert_seq = None;
        }
        self.routes_dirty |= changed;
        self.csr_stale |= changed;
        true
    }

    /// The routing weight of link `key` now: `None` if it is not up or not known.
    pub(super) fn weight_of(&self, key: (u32, u32)) -> Option<u64> {
        self.edges.get(&key).and_then(|e| edge_weight(&self.config, e))
    }

    /// Keeps the adjacency in step with link `key`, whose weight was `before`:
    /// a new weight of a link that stays up is patched in place; a link going
    /// up or down, or away, leaves the adjacency to the next recompute's rebuild.
    pub(super) fn link_changed(&mut self, key: (u32, u32), before: Option<u64>) {
        if self.csr_stale {
            return;
        }
        match (before, self.weight_of(key)) {
            (None, None) => {}
            (Some(old), Some(new)) => {
                if old != new && !self.csr.set_weight(key.0, key.1, new) {
                    self.csr_stale = true;
                }
            }
            _ => self.csr_stale = true,
        }
    }

    /// The local node's advert of its tunnels (up to [`MAX_ADVERT_LINKS`](crate::wire::MAX_ADVERT_LINKS), in
    /// tunnel-record order), with a fresh sequence number; `None` before it joins.
    /// Tunnels beyond the limit are left out and counted in
    /// [`TopologyReport::dropped_advert_links`].
    pub fn local_link_state(&mut self) -> Option<LinkState> {
        let local = self.local_slot()?;
        self.local_seq = self.local_seq.saturating_add(1);
        let mut links = Vec::new();
        for (&(a, b), e) in self.edges.iter() {
            let Some(t) = e.tunnel.as_ref() else { continue };
            let other = if a == local {
                b
            } else if b == local {
                a
            } else {
                continue;
            };
            let Some(neighbor) = self.id_of(other).cloned() else { continue };
            let latency = t.srtt().or(e.link.map(|l| l.latency)).unwrap_or(self.config.default_latency);
            if links.push(LinkAdvert { neighbor, latency, up: t.state == TunnelState::Up }).is_err() {
                self.dropped_advert_links = self.dropped_advert_links.saturating_add(1);
            }
        }
        Some(LinkState { sequence: self.local_seq, links })
    }
}

pub(super) fn edge_weight(config: &MeshConfig, e: &EdgeRecord) -> Option<u64> {
    match (&e.tunnel, &e.link) {
        (Some(t), link) => (t.state == TunnelState::Up)
            .then(|| t.srtt().or(link.map(|l| l.latency)).unwrap_or(config.default_latency).total_micros()),
        (None, Some(l)) => l.up.then_some(l.latency.total_micros()),
        (None, None) => None,
    }
}
