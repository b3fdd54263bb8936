//! Wire format v2: authenticated envelopes, as functions over bytes.
//!
//! ```text
//! offset  size       field
//! 0       1          version = 2
//! 1       1          kind: 0 = MAC'd (to one recipient), 1 = signed (for anyone)
//! 2       1          sender id length L (1..=64)
//! 3       L          sender id (UTF-8)
//! 3+L     8          epoch   (u64, little endian)
//! 11+L    8          counter (u64, little endian)
//! 19+L    8          (kind 0 only) the recipient's epoch (u64, little endian)
//! H       n          body: the postcard `wire::Body` (n >= 1); H = 27+L (kind 0), 19+L (kind 1)
//! H+n     16 | 64    tag: truncated HMAC-SHA256 (kind 0) | Ed25519 signature (kind 1)
//! ```
//!
//! - kind 0: `tag = HMAC-SHA256(pairwise key, "pouw-netops/envelope-mac/v1" || 0x00
//!   || recipient length (1 byte) || recipient id || bytes[..tag])[..16]`. The
//!   recipient is not on the wire (it is the receiver itself) but is bound in
//!   the tag, so a message for one node is worthless at another. The
//!   recipient's epoch (its boot epoch, as the sender last heard it) is in the
//!   header and so under the tag: a recipient refuses a message addressed to
//!   another of its incarnations, so one captured before it restarted cannot
//!   be replayed to it after (its replay windows did not survive the restart).
//! - kind 1: `tag = Ed25519(sender identity, "pouw-netops/envelope-sig/v1" || 0x00
//!   || cluster || bytes[..tag])`: anyone holding the sender's certificate verifies it.
//!
//! Against a v1 envelope (`version || sender || body`) this adds 1 + 8 + 8 = 17
//! header bytes (25 for a MAC'd message) and the tag: 41 bytes for a MAC'd
//! message, 81 for a signed one.
//!
//! Receiving is two steps: [`parse`] (total, bounded, no key needed) names the
//! sender, then the caller looks up the sender's key, checks the replay window
//! ([`super::ReplayWindow::check`]), verifies ([`Unverified::verify_mac`] or
//! [`Unverified::verify_signed`]), commits the window
//! ([`super::ReplayWindow::accept`]) and only then decodes the body.

use super::keys::{Domain, IdentityKey, PublicIdentity, Signature};
use super::pairwise::PairwiseKey;
use super::replay::ReplayError;
use crate::id::{MAX_ID_LEN, NodeId};
use crate::wire::MAX_ENVELOPE_LEN;
use subtle::ConstantTimeEq;

/// The wire version of authenticated envelopes.
pub const WIRE_VERSION_V2: u8 = 2;

/// Length of the truncated HMAC tag of a MAC'd envelope.
pub const MAC_TAG_LEN: usize = 16;

/// Length of the signature of a signed envelope.
pub const SIG_TAG_LEN: usize = 64;

/// Bytes a v2 envelope adds to a v1 envelope of the same body, MAC'd.
pub const MAC_OVERHEAD: usize = 1 + 8 + 8 + 8 + MAC_TAG_LEN;

/// Bytes a v2 envelope adds to a v1 envelope of the same body, signed.
pub const SIG_OVERHEAD: usize = 1 + 8 + 8 + SIG_TAG_LEN;

/// How an envelope is authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthKind {
    /// A truncated HMAC under the sender–recipient pairwise key.
    Mac,
    /// The sender's Ed25519 signature.
    Signed,
}

impl AuthKind {
    /// The kind byte (offset 1) of a MAC'd envelope.
    pub const MAC_BYTE: u8 = 0;
    /// The kind byte (offset 1) of a signed envelope.
    pub const SIGNED_BYTE: u8 = 1;

    const fn byte(self) -> u8 {
        match self {
            AuthKind::Mac => 0,
            AuthKind::Signed => 1,
        }
    }

    const fn tag_len(self) -> usize {
        match self {
            AuthKind::Mac => MAC_TAG_LEN,
            AuthKind::Signed => SIG_TAG_LEN,
        }
    }
}

/// Why an envelope was refused on receipt. [`OpenError::as_str`] names the
/// reason for the caller's per-reason rejection counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// No bytes.
    Empty,
    /// Longer than [`MAX_ENVELOPE_LEN`].
    TooLarge {
        /// The length.
        len: usize,
    },
    /// Not wire version 2.
    UnknownVersion(u8),
    /// The kind byte is neither MAC (0) nor signed (1).
    UnknownKind(u8),
    /// The bytes end before the header, a body byte and the tag.
    Truncated,
    /// The sender id is empty, too long or not UTF-8.
    Malformed,
    /// A MAC'd envelope given to signature verification, or the reverse.
    WrongKind,
    /// The caller knows no admitted sender of that id (raised by the caller).
    UnknownSender,
    /// The MAC does not verify.
    BadTag,
    /// The signature does not verify.
    BadSignature,
    /// Already received.
    Replayed,
    /// Below the sender's replay window.
    TooOld,
    /// From an older epoch of the sender.
    StaleEpoch,
    /// MAC'd for another boot epoch of the recipient (before it restarted).
    WrongRecipientEpoch,
}

impl OpenError {
    /// A short stable name for counting rejections by reason.
    pub const fn as_str(&self) -> &'static str {
        match self {
            OpenError::Empty => "empty",
            OpenError::TooLarge { .. } => "too_large",
            OpenError::UnknownVersion(_) => "unknown_version",
            OpenError::UnknownKind(_) => "unknown_kind",
            OpenError::Truncated => "truncated",
            OpenError::Malformed => "malformed",
            OpenError::WrongKind => "wrong_kind",
            OpenError::UnknownSender => "unknown_sender",
            OpenError::BadTag => "bad_tag",
            OpenError::BadSignature => "bad_signature",
            OpenError::Replayed => "replayed",
            OpenError::TooOld => "too_old",
            OpenError::StaleEpoch => "stale_epoch",
            OpenError::WrongRecipientEpoch => "wrong_recipient_epoch",
        }
    }
}

crate::error::error_impls! {
    OpenError, f;
    OpenError::TooLarge { len } => ErrorKind::TooLarge, write!(f, "envelope of {len} bytes exceeds {MAX_ENVELOPE_LEN}");
    OpenError::UnknownVersion(v) => ErrorKind::UnsupportedVersion, write!(f, "envelope version {v} is not {WIRE_VERSION_V2}");
    OpenError::UnknownKind(k) => ErrorKind::UnknownKind, write!(f, "unknown envelope authentication kind {k}");
    e @ OpenError::Empty => ErrorKind::Empty, write!(f, "envelope refused: {}", e.as_str());
    e @ OpenError::Truncated => ErrorKind::Truncated, write!(f, "envelope refused: {}", e.as_str());
    e @ (OpenError::Malformed | OpenError::WrongKind) => ErrorKind::Malformed, write!(f, "envelope refused: {}", e.as_str());
    e @ (OpenError::UnknownSender | OpenError::BadTag | OpenError::BadSignature) => ErrorKind::Unauthenticated, write!(f, "envelope refused: {}", e.as_str());
    e @ (OpenError::Replayed | OpenError::TooOld | OpenError::StaleEpoch | OpenError::WrongRecipientEpoch) => ErrorKind::Replayed, write!(f, "envelope refused: {}", e.as_str());
}

impl From<ReplayError> for OpenError {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::StaleEpoch { .. } => OpenError::StaleEpoch,
            ReplayError::TooOld => OpenError::TooOld,
            ReplayError::Replayed => OpenError::Replayed,
        }
    }
}

/// Why an envelope could not be sealed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealError {
    /// The body is empty (a postcard `Body` is never empty).
    EmptyBody,
    /// The sealed envelope would exceed [`MAX_ENVELOPE_LEN`].
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// The caller's buffer is too small; `needed` bytes would fit.
    BufferTooSmall {
        /// The sealed length.
        needed: usize,
    },
}

crate::error::error_impls! {
    SealError, f;
    SealError::EmptyBody => ErrorKind::InvalidArgument, f.write_str("envelope body is empty");
    SealError::TooLarge { len } => ErrorKind::TooLarge, write!(f, "sealed envelope of {len} bytes exceeds {MAX_ENVELOPE_LEN}");
    SealError::BufferTooSmall { needed } => ErrorKind::BufferTooSmall, write!(f, "buffer too small: {needed} bytes needed");
}

/// Length of the header before the body, for a sender id of `id_len` bytes.
pub(crate) const fn header_len(kind: AuthKind, id_len: usize) -> usize {
    match kind {
        AuthKind::Mac => 3 + id_len + 24,
        AuthKind::Signed => 3 + id_len + 16,
    }
}

/// The sealed length of a `body_len`-byte body from `sender`.
pub fn sealed_len(sender: &NodeId, body_len: usize, kind: AuthKind) -> usize {
    header_len(kind, sender.as_bytes().len()) + body_len + kind.tag_len()
}

/// Writes header and body; returns `(signed part length, total length)`.
/// `recipient_epoch` is written for a MAC'd envelope only.
fn write_unsealed(
    buf: &mut [u8],
    kind: AuthKind,
    sender: &NodeId,
    epoch: u64,
    counter: u64,
    recipient_epoch: u64,
    body: &[u8],
) -> Result<(usize, usize), SealError> {
    if body.is_empty() {
        return Err(SealError::EmptyBody);
    }
    let id = sender.as_bytes();
    let signed_len = header_len(kind, id.len()) + body.len();
    let total = signed_len + kind.tag_len();
    if total > MAX_ENVELOPE_LEN {
        return Err(SealError::TooLarge { len: total });
    }
    if total > buf.len() {
        return Err(SealError::BufferTooSmall { needed: total });
    }
    let out = buf.get_mut(..signed_len).ok_or(SealError::BufferTooSmall { needed: total })?;
    // `id.len() <= MAX_ID_LEN = 64` fits a byte.
    let head = [WIRE_VERSION_V2, kind.byte(), id.len() as u8];
    let to = recipient_epoch.to_le_bytes();
    let to: &[u8] = if kind == AuthKind::Mac { &to } else { &[] };
    let parts: [&[u8]; 6] = [&head, id, &epoch.to_le_bytes(), &counter.to_le_bytes(), to, body];
    let mut at = 0;
    for part in parts {
        if let Some(dst) = out.get_mut(at..at + part.len()) {
            dst.copy_from_slice(part);
        }
        at += part.len();
    }
    Ok((signed_len, total))
}

fn mac_tag(key: &PairwiseKey, recipient: &NodeId, signed: &[u8]) -> [u8; 32] {
    let r = recipient.as_bytes();
    key.tag(&[Domain::EnvelopeMac.label().as_bytes(), &[0, r.len() as u8], r, signed])
}

/// Seals `body` from `sender` to `recipient` (in the recipient's boot epoch
/// `recipient_epoch`, as the sender last heard it) under their pairwise key
/// into `buf`; returns the envelope's length.
#[allow(clippy::too_many_arguments)] // the header's fields, each once
pub fn seal_mac(
    buf: &mut [u8],
    sender: &NodeId,
    recipient: &NodeId,
    recipient_epoch: u64,
    epoch: u64,
    counter: u64,
    body: &[u8],
    key: &PairwiseKey,
) -> Result<usize, SealError> {
    let (signed_len, total) = write_unsealed(buf, AuthKind::Mac, sender, epoch, counter, recipient_epoch, body)?;
    let (signed, rest) = buf.split_at_mut(signed_len);
    let tag = mac_tag(key, recipient, signed);
    let (dst, src) = (rest.get_mut(..MAC_TAG_LEN), tag.get(..MAC_TAG_LEN));
    if let (Some(dst), Some(src)) = (dst, src) {
        dst.copy_from_slice(src);
    }
    Ok(total)
}

/// Seals `body` from `sender`, signed with its identity key for the cluster of
/// authority `cluster`, into `buf`; returns the envelope's length.
pub fn seal_signed(
    buf: &mut [u8],
    sender: &NodeId,
    epoch: u64,
    counter: u64,
    body: &[u8],
    key: &IdentityKey,
    cluster: &PublicIdentity,
) -> Result<usize, SealError> {
    let (signed_len, total) = write_unsealed(buf, AuthKind::Signed, sender, epoch, counter, 0, body)?;
    let (signed, rest) = buf.split_at_mut(signed_len);
    let sig = key.sign(Domain::EnvelopeSig, cluster, signed);
    if let Some(dst) = rest.get_mut(..SIG_TAG_LEN) {
        dst.copy_from_slice(&sig.0);
    }
    Ok(total)
}

/// A parsed, not yet authenticated v2 envelope. Nothing in it may be acted on
/// before `verify_*` succeeds and the replay window accepts it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unverified<'a> {
    /// How it claims to be authenticated.
    pub kind: AuthKind,
    /// Who it claims to be from.
    pub sender: NodeId,
    /// The sender's boot epoch.
    pub epoch: u64,
    /// The sender's message counter within the epoch.
    pub counter: u64,
    /// (MAC'd only) the recipient's boot epoch the sender addressed it to.
    pub recipient_epoch: Option<u64>,
    /// The body bytes (a postcard `wire::Body`), undecoded.
    pub body: &'a [u8],
    signed: &'a [u8],
    tag: &'a [u8],
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Splits a v2 envelope into its fields. Total and bounded; verifies nothing.
pub fn parse(bytes: &[u8]) -> Result<Unverified<'_>, OpenError> {
    if bytes.len() > MAX_ENVELOPE_LEN {
        return Err(OpenError::TooLarge { len: bytes.len() });
    }
    let (&version, rest) = bytes.split_first().ok_or(OpenError::Empty)?;
    if version != WIRE_VERSION_V2 {
        return Err(OpenError::UnknownVersion(version));
    }
    let kind = match rest.first() {
        None => return Err(OpenError::Truncated),
        Some(0) => AuthKind::Mac,
        Some(1) => AuthKind::Signed,
        Some(&k) => return Err(OpenError::UnknownKind(k)),
    };
    let id_len = usize::from(*bytes.get(2).ok_or(OpenError::Truncated)?);
    if !(1..=MAX_ID_LEN).contains(&id_len) {
        return Err(OpenError::Malformed);
    }
    let header = header_len(kind, id_len);
    // At least one body byte between header and tag.
    let tag_at = bytes.len().checked_sub(kind.tag_len()).filter(|t| *t > header).ok_or(OpenError::Truncated)?;
    let id = bytes.get(3..3 + id_len).ok_or(OpenError::Truncated)?;
    let id = core::str::from_utf8(id).map_err(|_| OpenError::Malformed)?;
    let sender = NodeId::new(id).map_err(|_| OpenError::Malformed)?;
    let epoch = u64_at(bytes, 3 + id_len).ok_or(OpenError::Truncated)?;
    let counter = u64_at(bytes, 11 + id_len).ok_or(OpenError::Truncated)?;
    let recipient_epoch = match kind {
        AuthKind::Mac => Some(u64_at(bytes, 19 + id_len).ok_or(OpenError::Truncated)?),
        AuthKind::Signed => None,
    };
    let (signed, tag) = bytes.split_at(tag_at);
    let body = signed.get(header..).ok_or(OpenError::Truncated)?;
    Ok(Unverified { kind, sender, epoch, counter, recipient_epoch, body, signed, tag })
}

impl Unverified<'_> {
    /// Verifies a MAC'd envelope addressed to `me` in its boot epoch
    /// `my_epoch` under the pairwise key shared with the claimed sender
    /// (constant-time tag comparison). One addressed to another epoch of `me`
    /// is [`OpenError::WrongRecipientEpoch`] (checked first: it was sent
    /// before `me` restarted, or forged).
    pub fn verify_mac(&self, key: &PairwiseKey, me: &NodeId, my_epoch: u64) -> Result<(), OpenError> {
        if self.kind != AuthKind::Mac {
            return Err(OpenError::WrongKind);
        }
        if self.recipient_epoch != Some(my_epoch) {
            return Err(OpenError::WrongRecipientEpoch);
        }
        let expected = mac_tag(key, me, self.signed);
        let expected = expected.get(..MAC_TAG_LEN).ok_or(OpenError::BadTag)?;
        if bool::from(expected.ct_eq(self.tag)) { Ok(()) } else { Err(OpenError::BadTag) }
    }

    /// Verifies a signed envelope under the claimed sender's identity key
    /// (from its certificate) in the cluster of authority `cluster`.
    pub fn verify_signed(&self, sender: &PublicIdentity, cluster: &PublicIdentity) -> Result<(), OpenError> {
        if self.kind != AuthKind::Signed {
            return Err(OpenError::WrongKind);
        }
        let sig: [u8; SIG_TAG_LEN] = self.tag.try_into().map_err(|_| OpenError::BadSignature)?;
        sender.verify(Domain::EnvelopeSig, cluster, self.signed, &Signature(sig)).map_err(|_| OpenError::BadSignature)
    }
}

/// What the receiver holds for one admitted peer, lent to [`open`].
#[derive(Debug)]
pub struct PeerKeys<'k, const BLOCKS: usize = 16> {
    /// The peer's identity key, from its verified certificate.
    pub identity: &'k PublicIdentity,
    /// The pairwise key shared with the peer, once derived.
    pub pairwise: Option<&'k PairwiseKey>,
    /// The peer's replay window.
    pub window: &'k mut super::ReplayWindow<BLOCKS>,
}

/// The whole receive path in one call: [`parse`], look the sender up
/// (`peer`; `None` is [`OpenError::UnknownSender`]), check its replay window,
/// verify the tag (MAC addressed to `me` in its boot epoch `my_epoch`, or the sender's signature in the
/// cluster of authority `cluster`), and only then accept the counter. On any
/// error nothing is changed. The returned envelope is authentic; its body is
/// still undecoded.
pub fn open<'a, 'k, const BLOCKS: usize>(
    bytes: &'a [u8],
    me: &NodeId,
    my_epoch: u64,
    cluster: &PublicIdentity,
    peer: impl FnOnce(&NodeId) -> Option<PeerKeys<'k, BLOCKS>>,
) -> Result<Unverified<'a>, OpenError> {
    let u = parse(bytes)?;
    let keys = peer(&u.sender).ok_or(OpenError::UnknownSender)?;
    keys.window.check(u.epoch, u.counter)?;
    match u.kind {
        AuthKind::Mac => u.verify_mac(keys.pairwise.ok_or(OpenError::UnknownSender)?, me, my_epoch)?,
        AuthKind::Signed => u.verify_signed(keys.identity, cluster)?,
    }
    keys.window.accept(u.epoch, u.counter)?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::replay::ReplayWindow;

    use crate::test_support::id;

    #[test]
    fn mac_round_trip_and_binding() {
        let cluster = IdentityKey::from_seed(&[100; 32]).public();
        let (a, b, c) =
            (IdentityKey::from_seed(&[1; 32]), IdentityKey::from_seed(&[2; 32]), IdentityKey::from_seed(&[3; 32]));
        let ab = PairwiseKey::derive(&a, &b.public(), &cluster).unwrap();
        let ba = PairwiseKey::derive(&b, &a.public(), &cluster).unwrap();
        let cb = PairwiseKey::derive(&c, &b.public(), &cluster).unwrap();
        let body = [0u8, 42, 7, 7, 7];
        let mut buf = [0u8; 128];
        let n = seal_mac(&mut buf, &id("a"), &id("b"), 5, 3, 9, &body, &ab).unwrap();
        assert_eq!(n, sealed_len(&id("a"), body.len(), AuthKind::Mac));
        assert_eq!(n, 1 + 1 + 1 + 1 + 16 + 8 + body.len() + 16);
        let u = parse(&buf[..n]).unwrap();
        assert_eq!((u.kind, &u.sender, u.epoch, u.counter, u.body), (AuthKind::Mac, &id("a"), 3, 9, &body[..]));
        assert_eq!(u.recipient_epoch, Some(5));
        u.verify_mac(&ba, &id("b"), 5).unwrap();
        // Another recipient, another key, another incarnation of the recipient, a signature check: refused.
        assert_eq!(u.verify_mac(&ba, &id("c"), 5), Err(OpenError::BadTag));
        assert_eq!(u.verify_mac(&cb, &id("b"), 5), Err(OpenError::BadTag));
        assert_eq!(u.verify_mac(&ba, &id("b"), 6), Err(OpenError::WrongRecipientEpoch));
        // The recipient's epoch is under the tag: rewriting it does not help.
        let mut moved = buf[..n].to_vec();
        moved[1 + 1 + 1 + 1 + 16] = 6;
        assert_eq!(parse(&moved).unwrap().verify_mac(&ba, &id("b"), 6), Err(OpenError::BadTag));
        assert_eq!(u.verify_signed(&a.public(), &cluster), Err(OpenError::WrongKind));
        // Every single-bit flip is refused by parse or by the tag.
        for i in 0..n {
            for bit in 0..8 {
                let mut v = buf[..n].to_vec();
                v[i] ^= 1 << bit;
                if let Ok(u) = parse(&v) {
                    assert!(u.verify_mac(&ba, &id("b"), 5).is_err(), "byte {i} bit {bit}");
                }
            }
        }
        // The receive path: check, verify, accept; a replay is refused.
        let mut window = ReplayWindow::<16>::new();
        for expect in [Ok(()), Err(OpenError::Replayed)] {
            let u = parse(&buf[..n]).unwrap();
            let got = window
                .check(u.epoch, u.counter)
                .map_err(OpenError::from)
                .and_then(|()| u.verify_mac(&ba, &id("b"), 5))
                .and_then(|()| window.accept(u.epoch, u.counter).map_err(OpenError::from));
            assert_eq!(got, expect);
        }
    }

    #[test]
    fn signed_round_trip() {
        let authority = IdentityKey::from_seed(&[100; 32]);
        let cluster = authority.public();
        let a = IdentityKey::from_seed(&[1; 32]);
        let mut buf = [0u8; 256];
        let n = seal_signed(&mut buf, &id("sup-1"), 1, 0, &[12, 5], &a, &cluster).unwrap();
        assert_eq!(n, 3 + 5 + 16 + 2 + 64);
        let u = parse(&buf[..n]).unwrap();
        assert_eq!(u.kind, AuthKind::Signed);
        u.verify_signed(&a.public(), &cluster).unwrap();
        let b = IdentityKey::from_seed(&[2; 32]);
        assert_eq!(u.verify_signed(&b.public(), &cluster), Err(OpenError::BadSignature));
        assert_eq!(u.verify_signed(&a.public(), &b.public()), Err(OpenError::BadSignature));
        let key = PairwiseKey::from_bytes([0; 32]);
        assert_eq!(u.verify_mac(&key, &id("x"), 0), Err(OpenError::WrongKind));
        assert_eq!(u.recipient_epoch, None);
        let mut v = buf[..n].to_vec();
        v[n - 70] ^= 1; // the body
        assert_eq!(parse(&v).unwrap().verify_signed(&a.public(), &cluster), Err(OpenError::BadSignature));
    }

    #[test]
    fn open_runs_the_whole_receive_path() {
        let authority = IdentityKey::from_seed(&[100; 32]);
        let cluster = authority.public();
        let (a, b) = (IdentityKey::from_seed(&[1; 32]), IdentityKey::from_seed(&[2; 32]));
        let ab = PairwiseKey::derive(&a, &b.public(), &cluster).unwrap();
        let ba = PairwiseKey::derive(&b, &a.public(), &cluster).unwrap();
        let a_public = a.public();
        let mut window = ReplayWindow::<16>::new();
        let mut buf = [0u8; 128];
        let n = seal_mac(&mut buf, &id("a"), &id("b"), 2, 1, 7, &[3, 1], &ab).unwrap();
        let mac = buf[..n].to_vec();
        let n = seal_signed(&mut buf, &id("a"), 1, 8, &[4], &a, &cluster).unwrap();
        let signed = buf[..n].to_vec();
        let mut forged = mac.clone();
        *forged.last_mut().unwrap() ^= 1;
        let mut open_with = |bytes: &[u8], pairwise: Option<&PairwiseKey>| {
            let window = &mut window;
            let a_public = &a_public;
            open(bytes, &id("b"), 2, &cluster, move |sender| {
                (sender == &id("a")).then_some(PeerKeys { identity: a_public, pairwise, window })
            })
            .map(|u| (u.counter, u.body.to_vec()))
        };
        // A forged packet neither passes nor moves the window.
        assert_eq!(open_with(&forged, Some(&ba)), Err(OpenError::BadTag));
        assert_eq!(open_with(&mac, None), Err(OpenError::UnknownSender));
        assert_eq!(open_with(&mac, Some(&ba)), Ok((7, std::vec![3, 1])));
        assert_eq!(open_with(&mac, Some(&ba)), Err(OpenError::Replayed));
        assert_eq!(open_with(&signed, None), Ok((8, std::vec![4])));
        let n = seal_mac(&mut buf, &id("z"), &id("b"), 2, 1, 9, &[1], &ab).unwrap();
        assert_eq!(open_with(&buf[..n], Some(&ba)), Err(OpenError::UnknownSender));
        assert_eq!(window.position(), Some((1, 8)));
    }

    #[test]
    fn parse_rejects_malformed_input() {
        let key = PairwiseKey::from_bytes([5; 32]);
        let mut buf = [0u8; 64];
        let n = seal_mac(&mut buf, &id("a"), &id("b"), 0, 0, 0, &[1], &key).unwrap();
        assert_eq!(parse(&[]), Err(OpenError::Empty));
        assert_eq!(parse(&[1, 0]), Err(OpenError::UnknownVersion(1)));
        assert_eq!(parse(&[2]), Err(OpenError::Truncated));
        assert_eq!(parse(&[2, 7, 1]), Err(OpenError::UnknownKind(7)));
        assert_eq!(parse(&buf[..n - 1]), Err(OpenError::Truncated));
        let mut v = buf[..n].to_vec();
        v[2] = 0;
        assert_eq!(parse(&v), Err(OpenError::Malformed));
        v[2] = 65;
        assert_eq!(parse(&v), Err(OpenError::Malformed));
        let mut v = buf[..n].to_vec();
        v[3] = 0xff;
        assert_eq!(parse(&v), Err(OpenError::Malformed));
        let huge = std::vec![2u8; MAX_ENVELOPE_LEN + 1];
        assert_eq!(parse(&huge), Err(OpenError::TooLarge { len: MAX_ENVELOPE_LEN + 1 }));
        assert_eq!(seal_mac(&mut buf, &id("a"), &id("b"), 0, 0, 0, &[], &key), Err(SealError::EmptyBody));
        assert_eq!(
            seal_mac(&mut buf[..10], &id("a"), &id("b"), 0, 0, 0, &[1], &key),
            Err(SealError::BufferTooSmall { needed: n })
        );
        assert_eq!(OpenError::from(ReplayError::Replayed).as_str(), "replayed");
    }

    #[test]
    fn open_failures_classify_by_what_they_mean_to_a_caller() {
        use crate::error::{Classify, ErrorKind};
        for e in [OpenError::UnknownSender, OpenError::BadTag, OpenError::BadSignature] {
            assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
        }
        for e in [OpenError::Replayed, OpenError::TooOld, OpenError::StaleEpoch, OpenError::WrongRecipientEpoch] {
            assert_eq!(e.kind(), ErrorKind::Replayed, "{e}");
        }
        assert_eq!(OpenError::Truncated.kind(), ErrorKind::Truncated);
        assert!(OpenError::UnknownVersion(9).kind().is_decode());
    }
}
