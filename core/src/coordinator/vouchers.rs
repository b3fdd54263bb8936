//! Voter certificates passed on by supervisors ([`Voucher`]), so that no
//! single voter can keep a node from checking the leader certificates it
//! co-signs (Byzantine fault model).
//!
//! A leader certificate is checked against the identity key of every voter
//! that signed it, and a node learns a voter's key from the voter's own join
//! or from its answer to the node's join. A lying voter can withhold both
//! from a node that restarted: the node then refuses the current leader's
//! certificate (one of its signatures cannot be checked) and never follows
//! that leader, although the certificate is sound. The authority's signature
//! makes a certificate self-authenticating, so any member may pass it on.
//!
//! * **Sending.** A supervisor keeps the encoded certificates of the other
//!   supervisors it admitted ([`Vouchers::hold`]). Answering a join in
//!   Byzantine mode, it sends the joiner one voucher for each of them (at
//!   most `N − 2` messages, spaced like the answers: at most once per
//!   heartbeat interval per joiner).
//! * **Receiving.** A voucher is accepted only from a supervisor, only for a
//!   configured voter other than this node, and only after the certificate
//!   verifies in full: the authority's signature, the supervisor role, the
//!   voter's id, validity at this node's time and the revocation list
//!   ([`super::gate::Gate::check_voucher`]). It teaches the voter's key and
//!   nothing else: the voter is not admitted (no pairwise key, no slot, no
//!   crash detection) until its own join arrives, and an admitted voter's own
//!   certificate always takes precedence.
//! * **Bounds.** One learned key per configured voter (the newest serial);
//!   a repeat or an older serial is ignored before any signature check, a
//!   revoked or expired one is dropped with the revocation list or at the
//!   gate's tick.

use crate::auth::{Certificate, PublicIdentity};
use crate::id::NodeId;
use crate::wire::Voucher;
use alloc::vec::Vec;

/// A voter's key learned from a voucher, with what keeps it current.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Learned {
    /// The voter.
    pub node: NodeId,
    /// Its identity key, from its verified certificate.
    pub identity: PublicIdentity,
    /// The certificate's serial (a newer one replaces it).
    pub serial: u64,
    /// UNIX seconds from which the certificate is expired.
    pub not_after: u64,
}

impl Learned {
    /// The key `cert` (verified) teaches.
    pub(crate) fn of(cert: &Certificate) -> Self {
        Learned { node: cert.node.clone(), identity: cert.identity, serial: cert.serial, not_after: cert.not_after }
    }
}

/// The certificates this node passes on and the voter keys it learned.
#[derive(Debug, Default)]
pub(crate) struct Vouchers {
    /// Admitted supervisors' certificates as they arrived (a supervisor only).
    held: Vec<(NodeId, Voucher)>,
    /// Voter keys learned from vouchers, at most one per voter.
    learned: Vec<Learned>,
}

impl Vouchers {
    /// Keeps admitted supervisor `node`'s encoded `certificate` to pass on,
    /// replacing the one held (a rotation); `false` if it does not fit a
    /// voucher (it always does: a join carries it in the same bounded field).
    pub(crate) fn hold(&mut self, node: &NodeId, certificate: &[u8]) -> bool {
        let Ok(certificate) = heapless::Vec::from_slice(certificate) else { return false };
        let voucher = Voucher { certificate };
        match self.held.iter_mut().find(|(n, _)| n == node) {
            Some((_, held)) => *held = voucher,
            None => self.held.push((node.clone(), voucher)),
        }
        true
    }

    /// The voucher held for `node`, if any.
    pub(crate) fn held(&self, node: &NodeId) -> Option<&Voucher> {
        self.held.iter().find(|(n, _)| n == node).map(|(_, v)| v)
    }

    /// The voters whose certificates are held, in the order they were admitted.
    pub(crate) fn held_voters(&self) -> impl Iterator<Item = &NodeId> + '_ {
        self.held.iter().map(|(n, _)| n)
    }

    /// The serial of the key learned for `node`, if any.
    pub(crate) fn learned_serial(&self, node: &NodeId) -> Option<u64> {
        self.learned.iter().find(|l| l.node == *node).map(|l| l.serial)
    }

    /// The key learned for `node`, if any.
    pub(crate) fn learned_key(&self, node: &NodeId) -> Option<PublicIdentity> {
        self.learned.iter().find(|l| l.node == *node).map(|l| l.identity)
    }

    /// Keeps `learned` (already verified, a newer serial than any held for
    /// its voter, checked by the caller), replacing the one held.
    pub(crate) fn learn(&mut self, learned: Learned) {
        match self.learned.iter_mut().find(|l| l.node == learned.node) {
            Some(held) => *held = learned,
            None => self.learned.push(learned),
        }
    }

    /// Forgets every learned key `drop` names (expired or revoked); how many.
    pub(crate) fn forget_learned(&mut self, mut drop: impl FnMut(&Learned) -> bool) -> usize {
        let before = self.learned.len();
        self.learned.retain(|l| !drop(l));
        before - self.learned.len()
    }

    /// How many voter keys were learned from vouchers.
    #[cfg(test)]
    pub(crate) fn learned_count(&self) -> usize {
        self.learned.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::identity_of;

    use crate::test_support::id;

    fn learned(node: &str, serial: u64) -> Learned {
        Learned { node: id(node), identity: identity_of(node).public(), serial, not_after: 100 }
    }

    #[test]
    fn one_held_certificate_and_one_learned_key_per_voter() {
        let mut v = Vouchers::default();
        assert!(v.hold(&id("a"), &[1, 2, 3]));
        assert!(v.hold(&id("b"), &[4]));
        assert!(v.hold(&id("a"), &[5, 6]));
        assert_eq!(v.held_voters().collect::<Vec<_>>(), [&id("a"), &id("b")]);
        assert_eq!(v.held(&id("a")).unwrap().certificate.as_slice(), &[5, 6]);
        assert!(v.held(&id("c")).is_none());
        v.learn(learned("a", 1));
        v.learn(learned("a", 2));
        v.learn(learned("b", 1));
        assert_eq!(v.learned_count(), 2);
        assert_eq!(v.learned_serial(&id("a")), Some(2));
        assert_eq!(v.learned_key(&id("b")), Some(identity_of("b").public()));
        assert_eq!(v.forget_learned(|l| l.node == id("a")), 1);
        assert_eq!((v.learned_key(&id("a")), v.learned_count()), (None, 1));
    }

    #[test]
    fn a_certificate_too_long_for_a_voucher_is_not_held() {
        let mut v = Vouchers::default();
        assert!(!v.hold(&id("a"), &alloc::vec![0u8; crate::auth::MAX_CERT_LEN + 1]));
        assert!(v.held(&id("a")).is_none());
    }
}
