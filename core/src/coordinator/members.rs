//! The admitted peers' certificates, kept compactly, and the revoked ones.
//!
//! A [`Certificate`] reserves room for four endpoints with inline 253-byte
//! host names and four pools (about 1.7 KiB), and an [`IdTable`] reserves
//! all of its `N` entries at construction: held as such, the certificates of
//! eight peers took 14 KiB of a small worker's 64 KiB, most of it empty
//! room, since a peer usually names one IP endpoint. Here a peer's
//! certificate is held without its node id (the table's key) and with its
//! endpoints and pools in exact-size heap slices; [`Held::certificate`]
//! gives the [`Certificate`] back, equal to the one admitted. The admission
//! rules are [`crate::auth::Roster`]'s. Likewise the revoked certificates
//! are held as an exact-size slice rather than a full [`RevocationList`]
//! (64 entries reserved, 5.5 KiB).

use crate::auth::{Admission, CertError, Certificate, PublicIdentity, RevocationError, Revoked, Role};
use crate::auth::{RevocationList, SignedRevocationList};
use crate::id::{NodeId, TaskType};
use crate::mesh::{Endpoint, WgKey};
use crate::table::IdTable;
use alloc::boxed::Box;

/// An admitted peer's verified certificate, but its node id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Held {
    /// Supervisor or worker.
    pub(crate) role: Role,
    /// The identity key.
    pub(crate) identity: PublicIdentity,
    /// The WireGuard public key.
    pub(crate) wg_key: WgKey,
    /// The endpoints, as many as the certificate names.
    pub(crate) endpoints: Box<[Endpoint]>,
    /// Task slots.
    pub(crate) slots: u16,
    /// The pools, as many as the certificate names.
    pub(crate) pools: Box<[TaskType]>,
    /// The serial.
    pub(crate) serial: u64,
    /// First valid second (UNIX time).
    pub(crate) not_before: u64,
    /// First second no longer valid (UNIX time).
    pub(crate) not_after: u64,
}

impl Held {
    /// `cert` held (its node id is the caller's key).
    fn new(cert: &Certificate) -> Self {
        Held {
            role: cert.role,
            identity: cert.identity,
            wg_key: cert.wg_key,
            endpoints: cert.endpoints.iter().cloned().collect(),
            slots: cert.slots,
            pools: cert.pools.iter().cloned().collect(),
            serial: cert.serial,
            not_before: cert.not_before,
            not_after: cert.not_after,
        }
    }

    /// Whether this is `cert`, held for `node`.
    pub(crate) fn is(&self, node: &NodeId, cert: &Certificate) -> bool {
        *node == cert.node
            && self.role == cert.role
            && self.identity == cert.identity
            && self.wg_key == cert.wg_key
            && *self.endpoints == *cert.endpoints
            && self.slots == cert.slots
            && *self.pools == *cert.pools
            && self.serial == cert.serial
            && self.not_before == cert.not_before
            && self.not_after == cert.not_after
    }

    /// The certificate held for `node`, as it was admitted.
    pub(crate) fn certificate(&self, node: &NodeId) -> Certificate {
        // Both slices came from a certificate's lists, so they fit again.
        let mut endpoints = heapless::Vec::new();
        for e in self.endpoints.iter() {
            let _ = endpoints.push(e.clone());
        }
        let mut pools = heapless::Vec::new();
        for p in self.pools.iter() {
            let _ = pools.push(p.clone());
        }
        Certificate {
            node: node.clone(),
            role: self.role,
            identity: self.identity,
            wg_key: self.wg_key,
            endpoints,
            slots: self.slots,
            pools,
            serial: self.serial,
            not_before: self.not_before,
            not_after: self.not_after,
        }
    }

    /// Whether `unix_now` is inside the validity period.
    pub(crate) const fn is_valid_at(&self, unix_now: u64) -> bool {
        self.not_before <= unix_now && unix_now < self.not_after
    }
}

/// The verified certificates of up to `N` peers, one per node id, each with
/// data `X` the holder keeps about the member; the rules of
/// [`crate::auth::Roster`]: `X` starts as its default when a node joins and
/// stays when its certificate rotates (a higher serial).
pub(crate) struct Members<const N: usize, X> {
    table: IdTable<NodeId, (Held, X), N>,
}

impl<const N: usize, X: Default> Members<N, X> {
    /// None yet.
    pub(crate) fn new() -> Self {
        Members { table: IdTable::new() }
    }

    /// Admits `cert`, which the caller has just verified: for a node already
    /// known only with a higher serial. On error nothing changes.
    pub(crate) fn admit_verified(&mut self, cert: &Certificate) -> Result<Admission, CertError> {
        crate::auth::cert::admit_into(&mut self.table, cert, |h| h.serial, Held::new)
    }

    /// The certificate held for `node`.
    pub(crate) fn get(&self, node: &NodeId) -> Option<&Held> {
        self.table.get(node).map(|(c, _)| c)
    }

    /// The certificate held for `node` and the holder's data about it, read-only.
    pub(crate) fn get_with(&self, node: &NodeId) -> Option<(&Held, &X)> {
        self.table.get(node).map(|(c, x)| (c, x))
    }

    /// The certificate held for `node` and the holder's data about it.
    pub(crate) fn get_mut(&mut self, node: &NodeId) -> Option<(&Held, &mut X)> {
        self.table.get_mut(node).map(|(c, x)| (&*c, x))
    }

    /// Removes every member `revoked` names; returns how many.
    pub(crate) fn apply_revocations(&mut self, revoked: &Revocations) -> usize {
        let before = self.table.len();
        self.table.retain(|node, (cert, _)| !revoked.is_revoked(node, cert.serial));
        before - self.table.len()
    }

    /// Removes every member whose certificate is not valid at `unix_now`; returns how many.
    pub(crate) fn remove_expired(&mut self, unix_now: u64) -> usize {
        let before = self.table.len();
        self.table.retain(|_, (cert, _)| cert.is_valid_at(unix_now));
        before - self.table.len()
    }

    /// The members, in admission order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&NodeId, &Held)> + '_ {
        self.table.iter().map(|(node, (c, _))| (node, c))
    }
}

/// The cluster authority's newest revocation list taken, as
/// [`RevocationList`] holds it but in an exact-size slice.
#[derive(Debug, Default)]
pub(crate) struct Revocations {
    /// The list's sequence (0: none taken).
    sequence: u64,
    /// The list's entries.
    entries: Box<[Revoked]>,
}

impl Revocations {
    /// The revoked entries.
    pub(crate) fn entries(&self) -> &[Revoked] {
        &self.entries
    }

    /// Whether the certificate `serial` of `node` is revoked.
    pub(crate) fn is_revoked(&self, node: &NodeId, serial: u64) -> bool {
        crate::auth::revocation::is_revoked(&self.entries, node, serial)
    }

    /// Takes `signed` if it is the authority's and newer, as
    /// [`RevocationList::update`] does. On error nothing changes.
    pub(crate) fn update(
        &mut self,
        signed: &SignedRevocationList,
        authority: &PublicIdentity,
    ) -> Result<(), RevocationError> {
        let list: &RevocationList = signed.verify(authority)?;
        if list.sequence <= self.sequence {
            return Err(RevocationError::Stale { current: self.sequence, offered: list.sequence });
        }
        self.sequence = list.sequence;
        self.entries = list.entries.iter().cloned().collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::IdentityKey;
    use crate::auth::cert::tests::worker_cert;

    /// A certificate with every field set, two endpoints (one a host name) and two pools.
    fn full_cert(serial: u64) -> Certificate {
        let mut c = worker_cert(&IdentityKey::from_seed(&[2; 32]), serial);
        c.endpoints.push(Endpoint::parse("w7.example.org:4000").unwrap()).unwrap();
        c.pools.push(TaskType::new("infer").unwrap()).unwrap();
        c
    }

    #[test]
    fn a_held_certificate_is_the_admitted_one() {
        let c = full_cert(3);
        let held = Held::new(&c);
        assert_eq!(held.certificate(&c.node), c);
        assert!(held.is(&c.node, &c));
        // Any one field different, the node id included, is another certificate.
        let other = NodeId::new("worker-8").unwrap();
        assert!(!held.is(&other, &c));
        let mut d = c.clone();
        d.endpoints.pop();
        assert!(!held.is(&c.node, &d));
        let mut d = c.clone();
        d.pools.pop();
        assert!(!held.is(&c.node, &d));
        let mut d = c.clone();
        d.not_after += 1;
        assert!(!held.is(&c.node, &d));
        let mut d = c.clone();
        d.wg_key = WgKey::from_bytes([7; 32]);
        assert!(!held.is(&c.node, &d));
    }

    #[test]
    fn admission_follows_the_roster_rules() {
        let mut m: Members<2, u8> = Members::new();
        let mut roster: crate::auth::Roster<2, u8> = crate::auth::Roster::new();
        let c = full_cert(3);
        assert_eq!(m.admit_verified(&c), roster.admit_verified(&c));
        if let Some((_, x)) = m.get_mut(&c.node) {
            *x = 9;
        }
        for serial in [3, 2, 4] {
            let r = full_cert(serial);
            assert_eq!(m.admit_verified(&r), roster.admit_verified(&r));
        }
        // Rotated: the newer certificate, the holder's data kept.
        assert_eq!(m.get_with(&c.node).map(|(h, x)| (h.certificate(&c.node), *x)), Some((full_cert(4), 9)));
        let mut others = [full_cert(1), full_cert(1)];
        others[0].node = NodeId::new("a").unwrap();
        others[1].node = NodeId::new("b").unwrap();
        for o in &others {
            assert_eq!(m.admit_verified(o), roster.admit_verified(o));
        }
        assert_eq!(m.iter().count(), 2);
        assert_eq!(m.remove_expired(c.not_after), 2);
        assert!(m.get(&c.node).is_none());
    }

    #[test]
    fn revocations_take_only_newer_lists_of_the_authority() {
        let authority = IdentityKey::from_seed(&[1; 32]);
        let list = |sequence: u64, serial: Option<u64>| {
            let mut entries = heapless::Vec::new();
            entries.push(Revoked { node: NodeId::new("worker-7").unwrap(), serial }).unwrap();
            SignedRevocationList::issue(&authority, RevocationList { sequence, entries }).unwrap()
        };
        let mut r = Revocations::default();
        let mut reference = RevocationList::empty();
        let node = NodeId::new("worker-7").unwrap();
        for (signed, by) in [(list(2, Some(5)), &authority), (list(2, None), &authority), (list(1, None), &authority)] {
            assert_eq!(r.update(&signed, &by.public()), reference.update(&signed, &by.public()));
            for serial in 4..7 {
                assert_eq!(r.is_revoked(&node, serial), reference.is_revoked(&node, serial));
            }
        }
        let stranger = IdentityKey::from_seed(&[9; 32]);
        let forged =
            SignedRevocationList::issue(&stranger, RevocationList { sequence: 7, entries: heapless::Vec::new() })
                .unwrap();
        assert_eq!(r.update(&forged, &authority.public()), Err(RevocationError::WrongAuthority));
        assert_eq!(r.entries(), reference.entries.as_slice());
        assert!(r.is_revoked(&node, 5) && !r.is_revoked(&node, 4));
    }
}
