//! Nodes: joining and leaving the mesh, and their views.

use super::*;

/// A read-only view of one node.
#[derive(Clone, Copy, Debug)]
pub struct NodeView<'a> {
    /// The node.
    pub id: &'a NodeId,
    /// Its overlay address.
    pub address: IpAddr,
    /// Its public key.
    pub public_key: &'a WgKey,
    /// Its endpoint.
    pub endpoint: &'a Endpoint,
    /// Its capabilities.
    pub capabilities: &'a [Capability],
    /// When it joined.
    pub joined_at: Instant,
}

/// A node's capabilities as a record keeps them: with `alloc`, a heap slice
/// exactly as long as the list (16 bytes inline, nothing on the heap when
/// empty); without it, the bounded inline list (up to 328 bytes).
#[cfg(feature = "alloc")]
type Capabilities = alloc::boxed::Box<[Capability]>;
#[cfg(not(feature = "alloc"))]
type Capabilities = Vec<Capability, MAX_CAPABILITIES>;

#[cfg(feature = "alloc")]
fn stored_capabilities(list: Vec<Capability, MAX_CAPABILITIES>) -> Capabilities {
    list.into_iter().collect()
}

#[cfg(not(feature = "alloc"))]
const fn stored_capabilities(list: Vec<Capability, MAX_CAPABILITIES>) -> Capabilities {
    list
}

#[derive(Clone, Debug)]
pub(super) struct NodeRecord {
    pub(super) id: NodeId,
    offset: u128,
    pub(super) address: IpAddr,
    pub(super) public_key: WgKey,
    pub(super) endpoint: Endpoint,
    capabilities: Capabilities,
    joined_at: Instant,
    pub(super) advert_seq: Option<u64>,
}
impl<const N: usize, const E: usize, const Q: usize> VPNMeshTopologyManager<N, E, Q> {
    /// Adds `node` to the mesh and returns its overlay address: the requested one
    /// if it is inside the CIDR, assignable and free, otherwise the lowest free one.
    /// A rejected join allocates nothing.
    pub fn join_mesh(&mut self, now: Instant, node: MeshNode) -> Result<IpAddr, JoinError> {
        let now = self.clock.observe(now);
        if self.ids.contains_key(&node.id) {
            return Err(JoinError::AlreadyJoined(node.id));
        }
        if self.ids.len() >= N {
            return Err(JoinError::TableFull(CapacityError::new(node.id, N)));
        }
        let offset = match node.requested_address {
            Some(a) => self.pool.check_request(a).map_err(|r| match r {
                Refusal::Outside => JoinError::OutsideCidr(a),
                Refusal::NotAssignable => JoinError::NotAssignable(a),
                Refusal::Taken => JoinError::AddressTaken(a),
            })?,
            None => self.pool.lowest_free().ok_or(JoinError::AddressesExhausted)?,
        };
        let address = self.pool.cidr().addr_at(offset).ok_or(JoinError::AddressesExhausted)?;
        let slot = match self.free_slots.last() {
            Some(&s) => s,
            None => self.slots.len() as u32,
        };
        // Every table below has room for N entries and holds fewer than N now.
        if self.pool.insert(offset, slot).is_err() {
            return Err(JoinError::AddressTaken(address));
        }
        if self.ids.insert(node.id.clone(), slot).is_err() {
            self.pool.remove(offset);
            return Err(JoinError::TableFull(CapacityError::new(node.id, N)));
        }
        let record = NodeRecord {
            id: node.id,
            offset,
            address,
            public_key: node.public_key,
            endpoint: node.endpoint,
            capabilities: stored_capabilities(node.capabilities),
            joined_at: now,
            advert_seq: None,
        };
        if self.free_slots.pop().is_some() {
            if let Some(s) = self.slots.get_mut(slot as usize) {
                *s = Some(record);
            }
            if let Some(r) = self.routes.get_mut(slot as usize) {
                *r = UNREACHABLE;
            }
        } else {
            let _ = self.slots.push(Some(record));
            let _ = self.routes.push(UNREACHABLE);
        }
        self.routes_dirty = true;
        self.csr_stale = true;
        Ok(address)
    }

    /// Removes `node`, its tunnels, its links and its routes, and frees its address.
    /// Routes are recomputed at once so that none goes through the departed node.
    pub fn leave_mesh(&mut self, now: Instant, node: &NodeId) -> Result<IpAddr, TunnelError> {
        let now = self.clock.observe(now);
        let slot = self.slot(node).ok_or_else(|| TunnelError::UnknownNode(node.clone()))?;
        let Some(record) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return Err(TunnelError::UnknownNode(node.clone()));
        };
        self.ids.remove(node);
        self.pool.remove(record.offset);
        self.edges.retain(|&(a, b), e| {
            if let Some(Link { source: LinkSource::Advert(s), .. }) = e.link
                && s == slot
                && e.tunnel.is_none()
            {
                return false;
            }
            a != slot && b != slot
        });
        self.csr_stale = true;
        if let Some(r) = self.routes.get_mut(slot as usize) {
            *r = UNREACHABLE;
        }
        let _ = self.free_slots.push(slot);
        if record.id == self.config.local {
            for r in self.routes.iter_mut() {
                *r = UNREACHABLE;
            }
        } else {
            self.departed = Some((slot, record.id));
            self.recompute_routes(now);
            self.departed = None;
        }
        Ok(record.address)
    }

    /// Moves node `id`'s tunnel endpoint (it roamed); `false` if `id` is not
    /// in the mesh.
    pub fn set_endpoint(&mut self, id: &NodeId, endpoint: Endpoint) -> bool {
        let Some(s) = self.slot(id) else { return false };
        match self.slots.get_mut(s as usize) {
            Some(Some(r)) => {
                r.endpoint = endpoint;
                true
            }
            _ => false,
        }
    }

    /// The node `id`, if in the mesh.
    pub fn node(&self, id: &NodeId) -> Option<NodeView<'_>> {
        self.slot(id).and_then(|s| self.record(s)).map(node_view)
    }

    /// All nodes, in join order of their table slots (deterministic).
    pub fn nodes(&self) -> impl Iterator<Item = NodeView<'_>> {
        self.slots.iter().flatten().map(node_view)
    }

    /// The node holding overlay address `addr`.
    pub fn node_by_address(&self, addr: IpAddr) -> Option<&NodeId> {
        let offset = self.pool.cidr().offset_of(addr)?;
        self.pool.slot_of(offset).and_then(|s| self.id_of(s))
    }
}

pub(super) fn lower_id_in(slots: &[Option<NodeRecord>], a: u32, b: u32) -> bool {
    let id = |s: u32| slots.get(s as usize).and_then(Option::as_ref).map(|r| &r.id);
    match (id(a), id(b)) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        _ => false,
    }
}

fn node_view(r: &NodeRecord) -> NodeView<'_> {
    NodeView {
        id: &r.id,
        address: r.address,
        public_key: &r.public_key,
        endpoint: &r.endpoint,
        capabilities: &r.capabilities,
        joined_at: r.joined_at,
    }
}
