//! Revocation lists: the authority's signed list of node certificates no longer admitted.
//!
//! Layout: `0x01 (version) || postcard(RevocationList) || signature (64)`, the
//! signature by the authority for [`Domain::Revocation`]. Each list carries a
//! `sequence`; a node keeps the newest it has verified and refuses older or
//! equal ones, so an attacker cannot roll revocations back by replaying an
//! old list.

use super::format::{self, FormatError};
use super::keys::{Domain, IdentityError, IdentityKey, PublicIdentity, Signature};
use crate::id::NodeId;
use serde::{Deserialize, Serialize};

/// The revocation list format version.
pub const REVOCATION_VERSION: u8 = 1;

/// The most entries a revocation list holds.
pub const MAX_REVOKED: usize = 64;

/// The largest signed part of an encoded list: version, sequence, count and
/// [`MAX_REVOKED`] entries of (id, optional serial).
pub const MAX_REVOCATION_SIGNED_LEN: usize = 1 + 10 + 1 + MAX_REVOKED * (1 + crate::id::MAX_ID_LEN + 1 + 10);

/// One revoked certificate, or all of a node's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// The node.
    pub node: NodeId,
    /// `Some(serial)`: that certificate only (a leaked key, rotated since);
    /// `None`: every certificate of the node (it is removed from the cluster).
    pub serial: Option<u64>,
}

/// The content of a revocation list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationList {
    /// Increases with every list the authority issues; 0 is the empty list
    /// every node starts from, never issued.
    pub sequence: u64,
    /// The revoked certificates, each (node, serial) at most once.
    pub entries: heapless::Vec<Revoked, MAX_REVOKED>,
}

/// Why a revocation list is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevocationError {
    /// The bytes are not a well-formed list.
    Format(FormatError),
    /// An entry appears twice.
    DuplicateEntry,
    /// The signature does not verify under the cluster authority.
    WrongAuthority,
    /// The list is not newer than the one held.
    Stale {
        /// The sequence held.
        current: u64,
        /// The sequence offered.
        offered: u64,
    },
}

crate::error::error_impls! {
    RevocationError, f;
    RevocationError::Format(e) => e.kind(), write!(f, "revocation list: {e}");
    RevocationError::DuplicateEntry => ErrorKind::Malformed, f.write_str("revocation list names an entry twice");
    RevocationError::WrongAuthority => ErrorKind::Unauthenticated, f.write_str("revocation list is not signed by the cluster authority");
    RevocationError::Stale { current, offered } => ErrorKind::CredentialRejected, write!(f, "revocation list {offered} is not newer than the held list {current}");
}

impl From<FormatError> for RevocationError {
    fn from(e: FormatError) -> Self {
        RevocationError::Format(e)
    }
}

impl Default for RevocationList {
    fn default() -> Self {
        Self::empty()
    }
}

impl RevocationList {
    /// The list every node starts with: sequence 0, nothing revoked.
    pub const fn empty() -> Self {
        RevocationList { sequence: 0, entries: heapless::Vec::new() }
    }

    /// Whether the certificate `serial` of `node` is revoked.
    pub fn is_revoked(&self, node: &NodeId, serial: u64) -> bool {
        is_revoked(&self.entries, node, serial)
    }

    fn validate(&self) -> Result<(), RevocationError> {
        let mut rest = self.entries.as_slice();
        while let Some((first, tail)) = rest.split_first() {
            if tail.contains(first) {
                return Err(RevocationError::DuplicateEntry);
            }
            rest = tail;
        }
        Ok(())
    }

    /// Replaces this list by `signed` if it is the authority's and newer.
    /// On error nothing changes.
    pub fn update(&mut self, signed: &SignedRevocationList, authority: &PublicIdentity) -> Result<(), RevocationError> {
        let list = signed.verify(authority)?;
        if list.sequence <= self.sequence {
            return Err(RevocationError::Stale { current: self.sequence, offered: list.sequence });
        }
        *self = list.clone();
        Ok(())
    }
}

/// Whether `entries` (a list's) revoke the certificate `serial` of `node`.
pub(crate) fn is_revoked(entries: &[Revoked], node: &NodeId, serial: u64) -> bool {
    entries.iter().any(|r| r.node == *node && r.serial.is_none_or(|s| s == serial))
}

/// A revocation list with the authority's signature, as decoded or issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedRevocationList {
    list: RevocationList,
    signed: heapless::Vec<u8, MAX_REVOCATION_SIGNED_LEN>,
    signature: Signature,
}

impl SignedRevocationList {
    /// Signs `list` with the authority key (the cluster is the authority's public key).
    pub fn issue(authority: &IdentityKey, list: RevocationList) -> Result<Self, RevocationError> {
        list.validate()?;
        let (signed, signature) =
            format::encode_signed(REVOCATION_VERSION, &list, authority, Domain::Revocation, &authority.public())?;
        Ok(SignedRevocationList { list, signed, signature })
    }

    /// Decodes exactly one signed list (total, bounded; nothing verified).
    pub fn decode(bytes: &[u8]) -> Result<Self, RevocationError> {
        let (list, signed, signature) =
            format::decode_signed::<RevocationList, MAX_REVOCATION_SIGNED_LEN>(REVOCATION_VERSION, bytes)?;
        list.validate()?;
        Ok(SignedRevocationList { list, signed, signature })
    }

    /// The list, if `authority` signed it.
    pub fn verify(&self, authority: &PublicIdentity) -> Result<&RevocationList, RevocationError> {
        authority
            .verify(Domain::Revocation, authority, &self.signed, &self.signature)
            .map_err(|_: IdentityError| RevocationError::WrongAuthority)?;
        Ok(&self.list)
    }

    /// The list, unverified (for inspection only).
    pub const fn list_unverified(&self) -> &RevocationList {
        &self.list
    }

    format::signed_encoding!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn list(sequence: u64, entries: &[(&str, Option<u64>)]) -> RevocationList {
        let mut v = heapless::Vec::new();
        for (n, s) in entries {
            v.push(Revoked { node: node(n), serial: *s }).unwrap();
        }
        RevocationList { sequence, entries: v }
    }

    #[test]
    fn newer_lists_replace_older_ones_only() {
        let authority = IdentityKey::from_seed(&[7; 32]);
        let other = IdentityKey::from_seed(&[8; 32]);
        let mut held = RevocationList::empty();
        let one = SignedRevocationList::issue(&authority, list(1, &[("w-1", Some(3))])).unwrap();
        let mut buf = [0u8; 512];
        let n = one.encode(&mut buf).unwrap();
        assert_eq!(n, one.encoded_len());
        let decoded = SignedRevocationList::decode(&buf[..n]).unwrap();
        assert_eq!(decoded, one);
        held.update(&decoded, &authority.public()).unwrap();
        assert!(held.is_revoked(&node("w-1"), 3));
        assert!(!held.is_revoked(&node("w-1"), 4));
        assert!(!held.is_revoked(&node("w-2"), 3));
        assert_eq!(held.update(&one, &authority.public()), Err(RevocationError::Stale { current: 1, offered: 1 }));
        let forged = SignedRevocationList::issue(&other, list(9, &[])).unwrap();
        assert_eq!(held.update(&forged, &authority.public()), Err(RevocationError::WrongAuthority));
        let two = SignedRevocationList::issue(&authority, list(2, &[("w-2", None)])).unwrap();
        held.update(&two, &authority.public()).unwrap();
        assert!(held.is_revoked(&node("w-2"), 0) && held.is_revoked(&node("w-2"), u64::MAX));
        assert!(!held.is_revoked(&node("w-1"), 3));
        assert_eq!(held.update(&one, &authority.public()), Err(RevocationError::Stale { current: 2, offered: 1 }));
        assert_eq!(
            SignedRevocationList::issue(&authority, list(3, &[("a", None), ("a", None)])),
            Err(RevocationError::DuplicateEntry)
        );
    }

    #[test]
    fn decoding_is_strict() {
        let authority = IdentityKey::from_seed(&[7; 32]);
        let one = SignedRevocationList::issue(&authority, list(1, &[("w-1", Some(3))])).unwrap();
        let mut buf = [0u8; 512];
        let n = one.encode(&mut buf).unwrap();
        let bytes = &buf[..n];
        assert_eq!(SignedRevocationList::decode(&[]), Err(RevocationError::Format(FormatError::Empty)));
        assert_eq!(SignedRevocationList::decode(&bytes[..70]), Err(RevocationError::Format(FormatError::Truncated)));
        let mut v = bytes.to_vec();
        v[0] = 2;
        assert_eq!(SignedRevocationList::decode(&v), Err(RevocationError::Format(FormatError::UnknownVersion(2))));
        // A byte slipped in before the signature.
        let mut v = bytes[..n - 64].to_vec();
        v.push(0);
        v.extend_from_slice(&bytes[n - 64..]);
        assert_eq!(
            SignedRevocationList::decode(&v),
            Err(RevocationError::Format(FormatError::TrailingBytes { count: 1 }))
        );
        // Sequence 1 as an over-long varint (0x81 0x00).
        let mut v = std::vec![1u8, 0x81, 0x00];
        v.extend_from_slice(&bytes[2..]);
        assert_eq!(SignedRevocationList::decode(&v), Err(RevocationError::Format(FormatError::NonCanonical)));
        // A flipped signature bit decodes but does not verify.
        let mut v = bytes.to_vec();
        v[n - 1] ^= 1;
        let bad = SignedRevocationList::decode(&v).unwrap();
        assert_eq!(bad.verify(&authority.public()), Err(RevocationError::WrongAuthority));
    }
}
