//! Credentials for simulated clusters: one cluster authority per seed, one
//! identity key per node, certificates issued on the spot. Deterministic: the
//! same seed gives the same keys, certificates and therefore the same bytes.

use pouw_netops::auth::{Certificate, IdentityKey, PublicIdentity, SignedCertificate};
use pouw_netops::coordinator::{Credentials, NodeRole};
use pouw_netops::hash::Fnv1a64;
use pouw_netops::mesh::WgKey;
use pouw_netops::{NodeId, Rng, TaskType};

/// UNIX seconds at the simulation's `Instant::ZERO` (a fixed date: runs replay).
pub const UNIX_AT_ZERO: u64 = 1_800_000_000;

/// How long the simulation's certificates are valid (a year).
const VALIDITY: u64 = 365 * 86_400;

/// The cluster authority of a simulated cluster.
pub struct ClusterAuthority {
    seed: u64,
    key: IdentityKey,
}

fn seed_bytes(rng: &mut Rng) -> [u8; 32] {
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    out
}

impl ClusterAuthority {
    /// The authority of the cluster of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed ^ 0xa0a0_a0a0_a0a0_a0a0);
        ClusterAuthority { seed, key: IdentityKey::from_seed(&seed_bytes(&mut rng)) }
    }

    /// Its public key, the cluster's identity.
    pub fn public(&self) -> PublicIdentity {
        self.key.public()
    }

    /// `node`'s identity key (the same for every call: a restarted node keeps it).
    pub fn identity(&self, node: &NodeId) -> IdentityKey {
        let h = Fnv1a64::new().update(node.as_bytes()).finish();
        IdentityKey::from_seed(&seed_bytes(&mut Rng::new(self.seed ^ h)))
    }

    /// The certificate this authority issues `node` in `role`: workers work in
    /// `pools` with `slots`; valid for a year from the simulation's start.
    pub fn certificate(&self, node: &NodeId, role: NodeRole, pools: &[TaskType], slots: u16) -> Certificate {
        let mut p = heapless::Vec::new();
        for t in pools {
            let _ = p.push(t.clone());
        }
        Certificate {
            node: node.clone(),
            role: match role {
                NodeRole::Supervisor => pouw_netops::auth::Role::Supervisor,
                NodeRole::Worker => pouw_netops::auth::Role::Worker,
            },
            identity: self.identity(node).public(),
            wg_key: WgKey::placeholder(node),
            endpoints: heapless::Vec::new(),
            slots,
            pools: p,
            serial: 1,
            not_before: UNIX_AT_ZERO,
            not_after: UNIX_AT_ZERO + VALIDITY,
        }
    }

    /// The encoded certificate this authority issues `node` (see [`ClusterAuthority::certificate`]).
    pub fn signed_certificate(
        &self,
        node: &NodeId,
        role: NodeRole,
        pools: &[TaskType],
        slots: u16,
    ) -> Result<Vec<u8>, String> {
        let signed = SignedCertificate::issue(&self.key, self.certificate(node, role, pools, slots))
            .map_err(|e| format!("{node}: {e}"))?;
        let mut bytes = vec![0u8; signed.encoded_len()];
        let n = signed.encode(&mut bytes).map_err(|e| format!("{node}: {e}"))?;
        bytes.truncate(n);
        Ok(bytes)
    }

    /// Credentials for `node` in `role` starting in boot `epoch`.
    pub fn credentials(
        &self,
        node: &NodeId,
        role: NodeRole,
        pools: &[TaskType],
        slots: u16,
        epoch: u64,
    ) -> Result<Credentials, String> {
        let cert = self.certificate(node, role, pools, slots);
        Credentials::issue(&self.key, self.identity(node), cert, epoch, UNIX_AT_ZERO)
            .map_err(|e| format!("{node}: {e}"))
    }
}
