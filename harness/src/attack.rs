//! An attacker on the network: a host that is no member of the cluster but
//! sees its traffic and can send datagrams to any node. It replays datagrams
//! to their recipients, mutates them, redirects MAC'd ones to other nodes,
//! forges messages in members' names with keys of its own, and offers joins
//! with certificates from an authority of its own. Every such datagram must
//! be refused at the node's entrance and must change nothing in the node:
//! [`Attacker::strike`] checks both and reports a [`Violation`] otherwise.

use crate::check::Violation;
use crate::cluster::Cluster;
use crate::identity::ClusterAuthority;
use crate::node::OpsNode;
use pouw_netops::auth::{IdentityKey, seal};
use pouw_netops::coordinator::{HandleError, NodeRole};
use pouw_netops::wire::{Body, Heartbeat, LeaderNotice, Membership};
use pouw_netops::{NodeId, Rng};
use std::collections::{BTreeMap, HashMap};

/// What the attacker sent and how the cluster answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttackReport {
    /// Datagrams injected.
    pub sent: u64,
    /// Refused, by reason.
    pub refused: BTreeMap<&'static str, u64>,
}

impl AttackReport {
    /// All refused datagrams.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// The attacker: its own keys and what it did. It overhears what the cluster
/// records ([`Cluster::record_traffic`]).
pub struct Attacker {
    rng: Rng,
    rogue: ClusterAuthority,
    /// The rogue authority's key and encoded certificate for each node it
    /// speaks for, made once: both are pure functions of the node's id (the
    /// key derivation and Ed25519 signing are deterministic), and making
    /// them was a good part of a strike.
    keys: HashMap<NodeId, IdentityKey>,
    certificates: HashMap<NodeId, Vec<u8>>,
    /// What was sent and refused.
    pub report: AttackReport,
}

impl Attacker {
    /// An attacker seeded with `seed` (its keys come from a rogue authority of its own).
    pub fn new(seed: u64) -> Self {
        Attacker {
            rng: Rng::new(seed ^ 0x0bad_0bad_0bad_0bad),
            rogue: ClusterAuthority::new(seed ^ 0x0bad_c0de),
            keys: HashMap::new(),
            certificates: HashMap::new(),
            report: AttackReport::default(),
        }
    }

    fn pick(&mut self, n: usize) -> usize {
        (self.rng.next_u64() % n.max(1) as u64) as usize
    }

    /// Crafts one attack datagram for a node of `cluster` and delivers it; the
    /// node must refuse it and stay as it was.
    pub fn strike(&mut self, cluster: &mut Cluster<dyn OpsNode>) -> Result<(), Violation> {
        let n = cluster.len();
        let up: Vec<usize> = (0..n).filter(|&i| cluster.is_up(i)).collect();
        if up.is_empty() {
            return Ok(());
        }
        let kind = self.pick(5);
        let (to, bytes) = match kind {
            // A replay to the original recipient, also after it restarted if
            // the datagram is MAC'd (bound to the recipient's boot epoch).
            // A signed one only to the incarnation that received it: a
            // restarted node has lost its replay windows; see the trust model.
            0 | 1 => {
                let heard: Vec<&(usize, u64, Vec<u8>)> = cluster.recent_traffic().collect();
                if heard.is_empty() {
                    return Ok(());
                }
                let pick = self.pick(heard.len());
                let Some((to, inc, bytes)) = heard.get(pick).map(|x| (*x).clone()) else { return Ok(()) };
                let mac = bytes.get(1) == Some(&seal::AuthKind::MAC_BYTE);
                if cluster.incarnation(to) != inc && !mac {
                    return Ok(());
                }
                if kind == 0 {
                    (to, bytes)
                } else {
                    // A mutation: one byte flipped anywhere.
                    let mut b = bytes;
                    let at = self.pick(b.len());
                    if let Some(x) = b.get_mut(at) {
                        *x ^= 1 << self.pick(8);
                    }
                    (to, b)
                }
            }
            // A forgery in a member's name: signed with the attacker's key.
            2 => {
                let Some(&to) = up.get(self.pick(up.len())) else { return Ok(()) };
                let Some(victim) = cluster.ids().get(self.pick(n)).cloned() else { return Ok(()) };
                let body = if self.pick(2) == 0 {
                    Body::LeaderNotice(LeaderNotice { term: u64::MAX })
                } else {
                    Body::Heartbeat(Heartbeat { sequence: 1, ..Heartbeat::default() })
                };
                (to, self.sealed(&victim, &body))
            }
            // A join with a certificate from the attacker's own authority, in
            // a member's name or a stranger's.
            _ => {
                let Some(&to) = up.get(self.pick(up.len())) else { return Ok(()) };
                let claimed = if self.pick(2) == 0 {
                    cluster.ids().get(self.pick(n)).cloned()
                } else {
                    NodeId::new(&format!("stranger-{}", self.pick(1000))).ok()
                };
                let Some(claimed) = claimed else { return Ok(()) };
                let signed = match self.certificates.get(&claimed) {
                    Some(c) => c,
                    None => {
                        let Ok(c) = self.rogue.signed_certificate(&claimed, NodeRole::Worker, &[], 1) else {
                            return Ok(());
                        };
                        self.certificates.entry(claimed.clone()).or_insert(c)
                    }
                };
                let certificate = heapless::Vec::from_slice(signed).unwrap_or_default();
                (to, self.sealed(&claimed, &Body::Membership(Membership { joining: true, certificate })))
            }
        };
        if !cluster.is_up(to) {
            return Ok(());
        }
        let now = cluster.local(to);
        let Some(node) = cluster.node_mut(to) else { return Ok(()) };
        let before = node.state_digest(now);
        let dropped_before = node.status(now).counters.self_addressed;
        let result = node.handle_raw(now, &bytes);
        let after = node.state_digest(now);
        // A datagram in the node's own name is dropped without an error, and counted.
        let result = match result {
            Ok(()) if node.status(now).counters.self_addressed > dropped_before => {
                Err(HandleError::Rejected(pouw_netops::coordinator::RejectReason::FromSelf))
            }
            other => other,
        };
        self.report.sent += 1;
        match result {
            Err(HandleError::Rejected(reason)) => {
                *self.report.refused.entry(reason.as_str()).or_insert(0) += 1;
                if before != after {
                    return Err(cluster.violation(format!(
                        "an attacker's datagram refused as {reason} changed {}",
                        cluster.name(to)
                    )));
                }
                Ok(())
            }
            other => Err(cluster.violation(format!("{} accepted an attacker's datagram: {other:?}", cluster.name(to)))),
        }
    }

    /// `body` in `sender`'s name, signed with the attacker's key for `sender`.
    fn sealed(&mut self, sender: &NodeId, body: &Body) -> Vec<u8> {
        let Ok(body) = body.to_vec() else { return Vec::new() };
        let mut buf = vec![0u8; body.len() + 256];
        let counter = self.rng.next_u64() >> 1;
        let rogue = &self.rogue;
        let key = self.keys.entry(sender.clone()).or_insert_with(|| rogue.identity(sender));
        match seal::seal_signed(&mut buf, sender, u64::MAX >> 1, counter, &body, key, &rogue.public()) {
            Ok(n) => {
                buf.truncate(n);
                buf
            }
            Err(_) => Vec::new(),
        }
    }
}
