//! [`VoterTable`]: the voters of a Byzantine election in certificate signer
//! order with the identity keys known for them.
//!
//! One table serves both sides of a [`QuorumCertificate`](super::QuorumCertificate):
//! the certified election that builds and checks certificates
//! ([`CertifiedElection`](crate::election::CertifiedElection)) and the
//! coordinator's gate that checks a leader certificate straight from a
//! datagram. Both must agree on the signer order (ascending id, each voter
//! once), so the order is made here and nowhere else.

use super::{PublicIdentity, VoterKeys};
use crate::id::NodeId;
use alloc::vec::Vec;

/// The voters in signer order (ascending id, no repeats), each with its
/// identity key, or `None` while the key is not known (a signature of that
/// voter cannot be checked yet, so a certificate counting it fails).
#[derive(Clone, Debug, Default)]
pub(crate) struct VoterTable(Vec<(NodeId, Option<PublicIdentity>)>);

impl VoterTable {
    /// The table of `voters` (any order): sorted by id, a repeated id kept
    /// once (its first entry).
    pub(crate) fn new(mut voters: Vec<(NodeId, Option<PublicIdentity>)>) -> Self {
        voters.sort_by(|a, b| a.0.cmp(&b.0));
        voters.dedup_by(|a, b| a.0 == b.0);
        VoterTable(voters)
    }

    /// The voters and their keys in signer order.
    pub(crate) fn entries(&self) -> &[(NodeId, Option<PublicIdentity>)] {
        &self.0
    }

    /// How many voters.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Voter `id`'s signer index.
    pub(crate) fn index_of(&self, id: &NodeId) -> Option<usize> {
        self.0.binary_search_by(|(i, _)| i.cmp(id)).ok()
    }

    /// Sets voter `id`'s key; `false` if `id` is no voter.
    pub(crate) fn set_key(&mut self, id: &NodeId, key: Option<PublicIdentity>) -> bool {
        match self.index_of(id).and_then(|i| self.0.get_mut(i)) {
            Some((_, k)) => {
                *k = key;
                true
            }
            None => false,
        }
    }
}

impl VoterKeys for VoterTable {
    fn voter_count(&self) -> usize {
        self.0.len()
    }
    fn voter_id(&self, index: usize) -> Option<&NodeId> {
        self.0.get(index).map(|(id, _)| id)
    }
    fn voter_key(&self, index: usize) -> Option<PublicIdentity> {
        self.0.get(index).and_then(|(_, key)| *key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::identity_of;
    use std::vec;

    use crate::test_support::id;

    #[test]
    fn signer_order_is_ascending_ids_each_once() {
        let (a, b) = (identity_of("a").public(), identity_of("b").public());
        let mut t = VoterTable::new(vec![(id("c"), None), (id("a"), Some(a)), (id("b"), Some(b)), (id("a"), None)]);
        let ids: Vec<&str> = t.entries().iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!((t.len(), t.voter_count()), (3, 3));
        assert_eq!(t.index_of(&id("b")), Some(1));
        assert_eq!(t.index_of(&id("d")), None);
        // The first entry of a repeated id is kept.
        assert_eq!(t.voter_key(0), Some(a));
        assert_eq!(t.voter_id(2), Some(&id("c")));
        assert_eq!((t.voter_key(2), t.voter_key(3), t.voter_id(3)), (None, None, None));
        assert!(t.set_key(&id("c"), Some(b)));
        assert_eq!(t.voter_key(2), Some(b));
        assert!(!t.set_key(&id("d"), Some(b)));
        assert_eq!(t.len(), 3);
    }
}
