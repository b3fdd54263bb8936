//! The coordinator's entrance: every datagram is authenticated here before
//! anything in the node looks at it, and every message leaves sealed.
//!
//! A node holds its [`Credentials`]: its identity key, its certificate from the
//! cluster authority, the authority's public key, and a boot epoch its host
//! persisted before first use. Peers are admitted by certificate, with the
//! rules of a [`crate::auth::Roster`]: a signed envelope whose body is a [`Membership`] carrying the
//! sender's certificate is verified in this order — the certificate against
//! the authority, the UNIX time, the revocation list, the sender id and the
//! role the configuration expects (supervisors are the configured set and must
//! hold supervisor certificates; everyone else must hold a worker
//! certificate), then the envelope's signature under the certificate's key,
//! then the replay window — and only then is the peer admitted (or its keys
//! rotated, for a higher serial) and a pairwise MAC key derived. Every other
//! message must come from an admitted peer: MAC'd under the pairwise key
//! (addressed to this node in its current boot epoch, so nothing MAC'd for an
//! earlier incarnation is accepted after a restart) or signed under its
//! certificate's key, and new to its replay window.
//!
//! A datagram that fails any check changes nothing (no table slot, no window
//! movement) and is counted by [`RejectReason`].
//!
//! Sending: a message to a peer with a pairwise key is MAC'd for that peer
//! (and the boot epoch it last sent in); a
//! membership announcement, or a message to a peer not yet admitted, is signed
//! (one signature serves every recipient).

use super::config::NodeRole;
use super::error::OpsError;
use super::members::{Held, Members, Revocations};
use super::reject::RejectReason;
use super::vouchers::{Learned, Vouchers};
use crate::auth::seal::{self, AuthKind, Unverified};
use crate::auth::{
    Admission, CertError, Certificate, IdentityKey, MAX_CERT_LEN, PairwiseKey, PublicIdentity, ReplayWindow, Role,
    SendCounter, SignedCertificate, SignedRevocationList,
};
use crate::auth::{QcView, VoteKind, VoterTable};
use crate::election::ATTACH_CERTIFICATE;
use crate::id::{NodeId, TaskId};
use crate::time::{Duration, Instant};
use crate::wire::{
    Body, EndpointRecord, Heartbeat, LinkState, Membership, SignatureBytes, SignedLinkState, Voucher, WireError,
};
use crate::workers::Checkpoint;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// What a node needs to take part in an authenticated cluster. Keys and
/// entropy come from the host: the core never draws randomness.
pub struct Credentials {
    /// This node's Ed25519 identity key (from 32 bytes the host drew).
    pub identity: IdentityKey,
    /// This node's certificate from the cluster authority.
    pub certificate: SignedCertificate,
    /// The cluster authority's public key (the cluster's identity).
    pub authority: PublicIdentity,
    /// This boot's epoch: the host persists it before the node sends anything,
    /// and uses a higher one after every restart, so peers can tell a restart
    /// from a replay.
    pub epoch: u64,
    /// UNIX seconds at [`Instant::ZERO`] of the host's clock: certificate
    /// validity is checked at `unix_at_zero + now`.
    pub unix_at_zero: u64,
}

impl Credentials {
    /// Credentials issued on the spot: `authority` signs `certificate` (which
    /// must carry `identity`'s public key) for a node starting in `epoch`.
    /// For hosts that are their own authority: tests, simulations, small
    /// deployments. An operator issues certificates offline instead.
    pub fn issue(
        authority: &IdentityKey,
        identity: IdentityKey,
        certificate: Certificate,
        epoch: u64,
        unix_at_zero: u64,
    ) -> Result<Self, CertError> {
        if certificate.identity != identity.public() {
            return Err(CertError::IdMismatch);
        }
        let certificate = SignedCertificate::issue(authority, certificate)?;
        Ok(Credentials { identity, certificate, authority: authority.public(), epoch, unix_at_zero })
    }
}

/// What this node keeps about an admitted peer besides its certificate.
#[derive(Default)]
pub(crate) struct PeerLink {
    /// The pairwise MAC key (`None` only if it could not be derived).
    key: Option<PairwiseKey>,
    /// The replay window of the peer's MAC'd envelopes, numbered per
    /// recipient (see [`PeerLink::sent`]).
    mac_window: ReplayWindow,
    /// The replay window of the peer's signed envelopes, numbered by one
    /// counter for all recipients (a signed fan-out shares one envelope, and
    /// signed envelopes are few: joins, announcements, messages to peers not
    /// yet admitted).
    signed_window: ReplayWindow<SIGNED_WINDOW_BLOCKS>,
    /// The counter of the next envelope MAC'd for this peer. MAC'd envelopes
    /// are numbered per recipient, so a later message to this peer never
    /// leaves an earlier one, still on the network, below its window however
    /// many other peers a fan-out between them went to.
    sent: u64,
    /// The peer's epoch and this node's time of the last MAC'd message from
    /// it that verified: proof that the peer, in that boot, held this node's
    /// certificate then (it derived the pairwise key from it).
    proven: Option<(u64, Instant)>,
    /// When this node last answered a join of the peer with its own
    /// certificate ([`Gate::introduced`]): a repeated join is answered at
    /// most once per heartbeat interval, or an answer to an answer would
    /// bounce between two nodes until their MAC'd messages flow.
    introduced: Option<Instant>,
}

/// Blocks of the signed envelopes' replay window: 192 messages.
const SIGNED_WINDOW_BLOCKS: usize = 4;

impl PeerLink {
    /// Whether the peer has shown, in its current epoch (the newest this node
    /// accepted a message from) and at `since` or later, that it holds this
    /// node's certificate.
    fn knows_me(&self, since: Instant) -> bool {
        let current = self.epoch();
        self.key.is_some() && self.proven.is_some_and(|(epoch, at)| Some(epoch) == current && at >= since)
    }

    /// The newest boot epoch this node accepted a message of the peer's from,
    /// MAC'd or signed; `None` before the first.
    fn epoch(&self) -> Option<u64> {
        let mac = self.mac_window.position().map(|(e, _)| e);
        let signed = self.signed_window.position().map(|(e, _)| e);
        mac.max(signed)
    }

    /// Whether `(epoch, counter)` of an envelope authenticated as `kind` is
    /// new: not from a boot before the newest one seen (in either kind), and
    /// new to its kind's window. Changes nothing.
    fn check(&self, kind: AuthKind, epoch: u64, counter: u64) -> Result<(), RejectReason> {
        if self.epoch().is_some_and(|current| epoch < current) {
            return Err(RejectReason::Replayed);
        }
        let fresh = match kind {
            AuthKind::Mac => self.mac_window.check(epoch, counter),
            AuthKind::Signed => self.signed_window.check(epoch, counter),
        };
        fresh.map_err(|_| RejectReason::Replayed)
    }

    /// Records `(epoch, counter)` after the envelope's tag or signature verified.
    fn accept(&mut self, kind: AuthKind, epoch: u64, counter: u64) -> Result<(), RejectReason> {
        self.check(kind, epoch, counter)?;
        let accepted = match kind {
            AuthKind::Mac => self.mac_window.accept(epoch, counter),
            AuthKind::Signed => self.signed_window.accept(epoch, counter),
        };
        accepted.map_err(|_| RejectReason::Replayed)
    }

    /// The counter for the next envelope MAC'd for this peer.
    fn next_sent(&mut self) -> Option<u64> {
        let counter = self.sent;
        self.sent = counter.checked_add(1)?;
        Some(counter)
    }
}

/// How [`Gate::seal`] authenticates a message for one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sealing {
    /// MAC'd for a recipient with a pairwise key, signed for the others.
    Mac,
    /// Signed for every recipient (a join: anyone may have to admit this node from it).
    Sign,
    /// MAC'd for a recipient that has shown, in its current boot and recently
    /// (a MAC'd message from it verified at `heard_since` or later), that it
    /// holds this node's certificate; signed for the others (a periodic
    /// announcement: those who know this node learn nothing new from a
    /// signature; one that restarted has lost it and must be able to admit
    /// this node again, even when nothing of its new boot reached this node,
    /// as when it cannot speak to this node before it admits it).
    Announce {
        /// The oldest proof that counts.
        heard_since: Instant,
    },
}

/// A decoded body: a heartbeat (the most frequent message) by value, any
/// other boxed (a `Body` is several KiB; moving one is a copy). The size
/// difference is the point: the frequent variant stays off the heap.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Message {
    /// A health heartbeat.
    Heartbeat(Heartbeat),
    /// Any other body.
    Other(Box<Body>),
}

impl Message {
    /// The message kind's name (see [`Body::kind`]).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Message::Heartbeat(_) => "heartbeat",
            Message::Other(body) => body.kind(),
        }
    }

    /// Decodes `bytes` as [`Body::decode`] does; with `attachments`
    /// (Byzantine mode), a body other than a heartbeat may be followed by an
    /// attachment: returns how many bytes the body took.
    #[inline(always)]
    fn decode(bytes: &[u8], attachments: bool) -> Result<(Self, usize), WireError> {
        Ok(match Body::decode_heartbeat(bytes)? {
            Some(hb) => (Message::Heartbeat(hb), bytes.len()),
            None if attachments => {
                let (body, len) = Body::decode_prefix(bytes)?;
                (Message::Other(Box::new(body)), len)
            }
            None => (Message::Other(Box::new(Body::decode(bytes)?)), bytes.len()),
        })
    }
}

/// An authenticated message: who sent it and what it says.
pub(crate) struct Opened {
    /// The authenticated sender.
    pub sender: NodeId,
    /// The decoded body.
    pub body: Message,
    /// Where the body's bytes are in the datagram (what the history records:
    /// the authenticated content, without the per-recipient tag).
    pub body_at: core::ops::Range<usize>,
    /// Where the body's attachment is (Byzantine mode: a signed vote or a
    /// quorum certificate after the body, under the same tag; empty if none).
    pub attach_at: core::ops::Range<usize>,
    /// The envelope was MAC'd for this node: the sender (holding the
    /// pairwise key) sent exactly these bytes to it.
    pub mac: bool,
    /// The sender joined and may not know this node: admitted anew,
    /// restarted (a join from a newer boot epoch), or not yet shown to hold
    /// this node's certificate in its current boot. It should get this
    /// node's certificate in return ([`Gate::may_introduce`] spaces the
    /// answers).
    pub introduce: bool,
}

/// The entrance of one node: its credentials, the admitted peers, the counters.
pub(crate) struct Gate<const N: usize> {
    me: NodeId,
    identity: IdentityKey,
    certificate: Vec<u8>,
    own: Certificate,
    authority: PublicIdentity,
    unix_at_zero: u64,
    revocations: Revocations,
    /// The admitted peers (the rules of a [`crate::auth::Roster`], held compactly).
    roster: Members<N, PeerLink>,
    /// UNIX seconds before which no certificate in the roster expires (the
    /// earliest `not_after` admitted): `tick` sweeps the roster only from then.
    next_expiry: u64,
    counter: SendCounter,
    /// Voter certificates to pass on, and voter keys learned from others'.
    vouchers: Vouchers,
}

impl<const N: usize> Gate<N> {
    /// The entrance of `me` in `role`: its own certificate must be signed by
    /// the authority, name `me`, carry `role` and the identity key's public
    /// half. Its validity period is checked at [`Gate::check_own`], when the
    /// node starts and time is known.
    pub(crate) fn new(me: &NodeId, role: NodeRole, credentials: Credentials) -> Result<Self, OpsError> {
        let Credentials { identity, certificate, authority, epoch, unix_at_zero } = credentials;
        let valid_from = certificate.certificate_unverified().not_before;
        let own = certificate.verify_with(&authority, valid_from, Some(cert_role(role)), Some(me), &[])?.clone();
        if own.identity != identity.public() {
            return Err(OpsError::Credential(CertError::IdMismatch));
        }
        let mut encoded = vec![0u8; certificate.encoded_len()];
        let len = certificate.encode(&mut encoded).map_err(|e| OpsError::Credential(CertError::Format(e)))?;
        encoded.truncate(len);
        Ok(Gate {
            me: me.clone(),
            identity,
            certificate: encoded,
            own,
            authority,
            unix_at_zero,
            revocations: Revocations::default(),
            roster: Members::new(),
            next_expiry: u64::MAX,
            counter: SendCounter::new(epoch),
            vouchers: Vouchers::default(),
        })
    }

    /// Whether this node's own certificate is valid at `now`.
    pub(crate) fn check_own(&self, now: Instant) -> Result<(), OpsError> {
        let unix = self.unix(now);
        if unix < self.own.not_before {
            return Err(OpsError::Credential(CertError::NotYetValid { not_before: self.own.not_before, now: unix }));
        }
        if unix >= self.own.not_after {
            return Err(OpsError::Credential(CertError::Expired { not_after: self.own.not_after, now: unix }));
        }
        Ok(())
    }

    /// UNIX seconds at `now`.
    fn unix(&self, now: Instant) -> u64 {
        self.unix_at_zero.saturating_add(now.total_micros() / 1_000_000)
    }

    /// This node's own (verified) certificate.
    pub(crate) const fn own(&self) -> &Certificate {
        &self.own
    }

    /// The certificate of admitted peer `node`.
    pub(crate) fn peer(&self, node: &NodeId) -> Option<&Held> {
        self.roster.get(node)
    }

    /// Every admitted peer's certificate, in admission order.
    pub(crate) fn peers(&self) -> impl Iterator<Item = Certificate> + '_ {
        self.roster.iter().map(|(node, held)| held.certificate(node))
    }

    /// Every admitted peer's id, in admission order.
    pub(crate) fn peer_ids(&self) -> impl Iterator<Item = &NodeId> + '_ {
        self.roster.iter().map(|(node, _)| node)
    }

    /// Authenticates one datagram at `now`; `supervisors` is the configured
    /// voter set (whose members must hold supervisor certificates). On error
    /// nothing changed; the caller counts the reason. With `attachments`
    /// (the Byzantine fault model) a body may be followed by an attachment
    /// ([`Opened::attach_at`]), authenticated with it; without, trailing bytes
    /// are malformed, as ever.
    pub(crate) fn open(
        &mut self,
        now: Instant,
        bytes: &[u8],
        supervisors: &[NodeId],
        attachments: bool,
    ) -> Result<Opened, RejectReason> {
        let u = seal::parse(bytes).map_err(RejectReason::of_open)?;
        if u.sender == self.me {
            return Err(RejectReason::FromSelf);
        }
        let (body, body_len) = Message::decode(u.body, attachments).map_err(|_: WireError| RejectReason::Malformed)?;
        // The header is version, kind, id length, id, epoch, counter (and, MAC'd, the recipient's epoch).
        let start = seal::header_len(u.kind, u.sender.as_bytes().len());
        let body_at = start..start + body_len;
        let attach_at = start + body_len..start + u.body.len();
        if let (AuthKind::Signed, Message::Other(b)) = (u.kind, &body)
            && let Body::Membership(Membership { joining: true, certificate }) = &**b
        {
            let before = self.roster.get_mut(&u.sender).and_then(|(_, link)| link.epoch());
            let admitted = self.admit(now, &u, certificate, supervisors)?;
            let restarted = before.is_some_and(|epoch| u.epoch > epoch);
            // A join from a member that has not shown, in the boot it joins
            // from, that it holds this node's certificate: it may have lost
            // it (a restart whose first message overtook its join, so the
            // restart went unseen here) or never got it (the answer to its
            // join was lost), and then cannot authenticate anything this
            // node sends. It repeats its join until shown otherwise
            // (`proven_by`), so answering every such join, not only the
            // first, is what lets it back in.
            let unproven = self.roster.get_with(&u.sender).is_some_and(|(_, link)| !link.knows_me(Instant::ZERO));
            let introduce = admitted.is_some() || restarted || unproven;
            return Ok(Opened { sender: u.sender, body, body_at, attach_at, mac: false, introduce });
        }
        let Some((cert, link)) = self.roster.get_mut(&u.sender) else {
            return Err(RejectReason::UnknownSender);
        };
        link.check(u.kind, u.epoch, u.counter)?;
        match u.kind {
            AuthKind::Mac => {
                let key = link.key.as_ref().ok_or(RejectReason::UnknownSender)?;
                u.verify_mac(key, &self.me, self.counter.epoch()).map_err(RejectReason::of_open)?;
            }
            AuthKind::Signed => u.verify_signed(&cert.identity, &self.authority).map_err(RejectReason::of_open)?,
        }
        link.accept(u.kind, u.epoch, u.counter)?;
        if u.kind == AuthKind::Mac {
            link.proven = Some((u.epoch, now));
        }
        let mac = u.kind == AuthKind::Mac;
        Ok(Opened { sender: u.sender, body, body_at, attach_at, mac, introduce: false })
    }

    /// A signed join carrying the sender's certificate: verified in full, then
    /// the sender is admitted, rotated (a higher serial) or confirmed (the same
    /// certificate again).
    fn admit(
        &mut self,
        now: Instant,
        u: &Unverified<'_>,
        certificate: &[u8],
        supervisors: &[NodeId],
    ) -> Result<Option<Admission>, RejectReason> {
        let signed = SignedCertificate::decode(certificate).map_err(RejectReason::of_cert)?;
        let expected = if supervisors.contains(&u.sender) { Role::Supervisor } else { Role::Worker };
        let unix = self.unix(now);
        // The certificate already held for the sender, announced again: its
        // authority signature, id and role were verified when it was admitted;
        // only time and revocation can have changed (saves one Ed25519 verify
        // per periodic announcement).
        let held = self.roster.get(&u.sender).filter(|h| h.is(&u.sender, signed.certificate_unverified()));
        let cert = match held {
            Some(c) if !c.is_valid_at(unix) => return Err(RejectReason::Expired),
            Some(c) if self.revocations.is_revoked(&u.sender, c.serial) => return Err(RejectReason::Revoked),
            Some(_) => signed.certificate_unverified(),
            None => signed
                .verify_with(&self.authority, unix, Some(expected), Some(&u.sender), self.revocations.entries())
                .map_err(RejectReason::of_cert)?,
        };
        u.verify_signed(&cert.identity, &self.authority).map_err(RejectReason::of_open)?;
        let same = self.roster.get(&u.sender).is_some_and(|held| held.is(&u.sender, cert));
        if let Some((_, link)) = self.roster.get_mut(&u.sender) {
            link.check(u.kind, u.epoch, u.counter)?;
        }
        let admission = if same {
            None
        } else {
            let key = PairwiseKey::derive(&self.identity, &cert.identity, &self.authority).ok();
            let a = self.roster.admit_verified(cert).map_err(RejectReason::of_cert)?;
            self.next_expiry = self.next_expiry.min(cert.not_after);
            // A supervisor passes the other voters' certificates on (Byzantine mode).
            if expected == Role::Supervisor && self.own.role == Role::Supervisor {
                let _ = self.vouchers.hold(&u.sender, certificate);
            }
            if let Some((_, link)) = self.roster.get_mut(&u.sender) {
                link.key = key;
            }
            Some(a)
        };
        if let Some((_, link)) = self.roster.get_mut(&u.sender) {
            let _ = link.accept(u.kind, u.epoch, u.counter);
        }
        Ok(admission)
    }

    /// `peer` left or crashed for good: forget nothing (it may come back with
    /// the same certificate); its replay window keeps refusing old messages.
    /// Expired and revoked certificates leave the roster at `tick`.
    pub(crate) fn tick(&mut self, now: Instant) -> usize {
        let unix = self.unix(now);
        if unix < self.next_expiry {
            return 0;
        }
        let removed = self.roster.remove_expired(unix);
        self.vouchers.forget_learned(|l| unix >= l.not_after);
        self.next_expiry = self.roster.iter().map(|(_, c)| c.not_after).min().unwrap_or(u64::MAX);
        removed
    }

    /// Takes a newer revocation list from the authority and removes the
    /// members it revokes; returns how many left.
    pub(crate) fn update_revocations(
        &mut self,
        list: &SignedRevocationList,
    ) -> Result<usize, crate::auth::RevocationError> {
        self.revocations.update(list, &self.authority)?;
        let revocations = &self.revocations;
        self.vouchers.forget_learned(|l| revocations.is_revoked(&l.node, l.serial));
        Ok(self.roster.apply_revocations(&self.revocations))
    }

    /// This node's signature on its `checkpoint` of `task` (as its primary).
    pub(crate) fn sign_checkpoint(&self, task: &TaskId, checkpoint: &Checkpoint) -> SignatureBytes {
        crate::auth::sign_checkpoint(&self.identity, &self.authority, task, &self.me, checkpoint).into()
    }

    /// Whether `signature` is admitted member `primary`'s on `checkpoint` of
    /// `task`: `UnknownSender` if `primary` is not admitted (it cannot be
    /// checked), `BadSignature` if it does not verify.
    pub(crate) fn verify_checkpoint(
        &self,
        primary: &NodeId,
        task: &TaskId,
        checkpoint: &Checkpoint,
        signature: &SignatureBytes,
    ) -> Result<(), RejectReason> {
        let cert = self.roster.get(primary).ok_or(RejectReason::UnknownSender)?;
        let sig = signature.to_signature();
        crate::auth::verify_checkpoint(&cert.identity, &self.authority, task, primary, checkpoint, &sig)
            .map_err(|_| RejectReason::BadSignature)
    }

    /// The voters' identity keys as this node knows them: `supervisors`
    /// sorted (the signer order of certificates), each with the key of its
    /// admitted certificate, else the key a [`Voucher`] taught, else `None`
    /// (a signature of it cannot be checked yet, so a certificate counting
    /// it fails).
    pub(crate) fn voter_keys(&self, supervisors: &[NodeId]) -> VoterTable {
        VoterTable::new(
            supervisors
                .iter()
                .map(|s| {
                    let key = if *s == self.me {
                        Some(self.own.identity)
                    } else {
                        self.peer(s).map(|c| c.identity).or_else(|| self.vouchers.learned_key(s))
                    };
                    (s.clone(), key)
                })
                .collect(),
        )
    }

    /// The vouchers to send a member that joined (Byzantine mode, on a
    /// supervisor): the certificates of the admitted voters other than
    /// `joiner`, as they arrived.
    pub(crate) fn vouchers_for<'a>(&'a self, joiner: &'a NodeId) -> impl Iterator<Item = &'a NodeId> + 'a {
        self.vouchers.held_voters().filter(move |v| *v != joiner && self.roster.get(v).is_some())
    }

    /// The voucher for admitted voter `voter`, as a body.
    pub(crate) fn voucher(&self, voter: &NodeId) -> Option<Voucher> {
        self.vouchers.held(voter).filter(|_| self.roster.get(voter).is_some()).cloned()
    }

    /// Checks voucher `v` at `now` (see the `vouchers` module): `Ok(None)`
    /// if it teaches nothing new (its voter is admitted here, or a key of the
    /// same or a newer serial was learned: no signature is checked), the key
    /// to learn if it verifies in full, a reason if it does not. Changes
    /// nothing.
    pub(crate) fn check_voucher(
        &self,
        now: Instant,
        v: &Voucher,
        supervisors: &[NodeId],
    ) -> Result<Option<Learned>, RejectReason> {
        let signed = SignedCertificate::decode(&v.certificate).map_err(RejectReason::of_cert)?;
        let claimed = signed.certificate_unverified();
        if claimed.node == self.me || !supervisors.contains(&claimed.node) {
            return Err(RejectReason::NotAuthorized);
        }
        if self.roster.get(&claimed.node).is_some()
            || self.vouchers.learned_serial(&claimed.node).is_some_and(|s| s >= claimed.serial)
        {
            return Ok(None);
        }
        let cert = signed
            .verify_with(&self.authority, self.unix(now), Some(Role::Supervisor), None, self.revocations.entries())
            .map_err(RejectReason::of_cert)?;
        Ok(Some(Learned::of(cert)))
    }

    /// Keeps a voter key [`Gate::check_voucher`] returned.
    pub(crate) fn learn_voucher(&mut self, learned: Learned) {
        self.vouchers.learn(learned);
    }

    /// Verifies `attachment` (Byzantine mode) as a leader certificate of
    /// `candidate` for `term` among `supervisors` with `quorum` signers:
    /// straight from the datagram's bytes ([`QcView`]), before anything is
    /// copied or changed. [`RejectReason::Uncertified`] if there is none or it
    /// fails any check.
    pub(crate) fn verify_leader_certificate(
        &self,
        attachment: &[u8],
        supervisors: &[NodeId],
        quorum: usize,
        term: u64,
        candidate: &NodeId,
    ) -> Result<(), RejectReason> {
        let Some((&ATTACH_CERTIFICATE, bytes)) = attachment.split_first() else {
            return Err(RejectReason::Uncertified);
        };
        let qc = QcView::parse(bytes).map_err(|_| RejectReason::Uncertified)?;
        qc.check_claim(VoteKind::Vote, term, candidate).map_err(|_| RejectReason::Uncertified)?;
        let voters = self.voter_keys(supervisors);
        qc.verify(&self.authority, &voters, quorum).map_err(|_| RejectReason::Uncertified)
    }

    /// A second copy of this node's identity key (for the certified election).
    pub(crate) fn identity_copy(&self) -> IdentityKey {
        self.identity.duplicate()
    }

    /// The cluster authority's public key.
    pub(crate) const fn authority(&self) -> &PublicIdentity {
        &self.authority
    }

    /// A sequence number for this node's signed records that grows across
    /// restarts: the boot epoch in the high 32 bits, `n` in the low ones
    /// (saturating: an epoch of 2^32 or more gives `u64::MAX`).
    pub(crate) fn record_sequence(&self, n: u32) -> u64 {
        self.counter.epoch().checked_mul(1 << 32).map_or(u64::MAX, |e| e.saturating_add(u64::from(n)))
    }

    /// This node's signed advert of `state`.
    pub(crate) fn sign_link_state(&self, state: LinkState) -> Option<SignedLinkState> {
        let sig = crate::auth::sign_link_state(&self.identity, &self.authority, &self.me, &state)?;
        Some(SignedLinkState { origin: self.me.clone(), state, signature: sig.into() })
    }

    /// Whether `advert` carries its origin's signature: `UnknownSender` if
    /// the origin is not admitted (it cannot be checked), `BadSignature` if
    /// the signature does not verify under the origin's certificate key.
    ///
    /// `verified` is the [`Gate::link_state_digest`] of an advert this node
    /// verified before (the one it holds for the origin at the same
    /// sequence, if any): an advert with that digest has every input of the
    /// verification equal to it (the origin's key included), so it verifies
    /// the same and the signature is not checked again. A flood brings each
    /// advert from several relays; only the first copy costs a verification.
    ///
    /// `direct`: the advert came from its origin itself, in an envelope
    /// MAC'd for this node, so the origin's pairwise key vouches for every
    /// byte of it and the signature is not checked (it is for the nodes the
    /// advert is flooded on to, who check it). The digest held for it then
    /// stands for the origin's own bytes, which a relayed copy must equal.
    pub(crate) fn verify_link_state(
        &self,
        advert: &SignedLinkState,
        verified: Option<&[u8; 32]>,
        direct: bool,
    ) -> Result<(), RejectReason> {
        let cert = self.roster.get(&advert.origin).ok_or(RejectReason::UnknownSender)?;
        if direct || verified.is_some_and(|known| self.link_state_digest(advert).is_some_and(|d| d == *known)) {
            return Ok(());
        }
        let sig = advert.signature.to_signature();
        crate::auth::verify_link_state(&cert.identity, &self.authority, &advert.origin, &advert.state, &sig)
            .map_err(|_| RejectReason::BadSignature)
    }

    /// The digest of everything verifying `advert` reads (see
    /// [`crate::auth::link_state_digest`]); `None` if its origin is not admitted.
    pub(crate) fn link_state_digest(&self, advert: &SignedLinkState) -> Option<[u8; 32]> {
        let cert = self.roster.get(&advert.origin)?;
        let sig = advert.signature.to_signature();
        crate::auth::link_state_digest(&cert.identity, &self.authority, &advert.origin, &advert.state, &sig)
    }

    /// This node's signed endpoint record.
    pub(crate) fn sign_endpoint(&self, sequence: u64, endpoint: &str) -> Option<EndpointRecord> {
        let sig = crate::auth::sign_endpoint(&self.identity, &self.authority, &self.me, sequence, endpoint);
        let endpoint = heapless::String::try_from(endpoint).ok()?;
        Some(EndpointRecord { sequence, endpoint, signature: sig.into() })
    }

    /// Whether `record` carries admitted member `node`'s signature.
    pub(crate) fn verify_endpoint(&self, node: &NodeId, record: &EndpointRecord) -> Result<(), RejectReason> {
        let cert = self.roster.get(node).ok_or(RejectReason::UnknownSender)?;
        let sig = record.signature.to_signature();
        crate::auth::verify_endpoint(&cert.identity, &self.authority, node, record.sequence, &record.endpoint, &sig)
            .map_err(|_| RejectReason::BadSignature)
    }

    /// Whether [`Gate::seal`] MACs a message sealed `how` for `to` (else it signs).
    pub(crate) fn macs_for(&self, to: &NodeId, how: Sealing) -> bool {
        self.roster.get_with(to).is_some_and(|(_, link)| {
            let mac = match how {
                Sealing::Mac => link.key.is_some(),
                Sealing::Sign => false,
                Sealing::Announce { heard_since } => link.knows_me(heard_since),
            };
            mac && link.key.is_some() && link.epoch().is_some()
        })
    }

    /// Whether this node may answer a join of `peer` with its certificate at
    /// `now` ([`Opened::introduce`]): not within `gap` of the last answer.
    pub(crate) fn may_introduce(&self, peer: &NodeId, now: Instant, gap: Duration) -> bool {
        self.roster.get_with(peer).is_some_and(|(_, link)| link.introduced.is_none_or(|at| now >= at + gap))
    }

    /// Records that this node answered a join of `peer` at `now`.
    pub(crate) fn introduced(&mut self, peer: &NodeId, now: Instant) {
        if let Some((_, link)) = self.roster.get_mut(peer) {
            link.introduced = Some(now);
        }
    }

    /// Whether `peer` has shown, in its current boot, that it holds this
    /// node's certificate (a MAC'd message from it verified): until then a
    /// join of this node may not have reached it.
    pub(crate) fn proven_by(&self, peer: &NodeId) -> bool {
        self.roster.get_with(peer).is_some_and(|(_, link)| link.knows_me(Instant::ZERO))
    }

    /// This node's membership announcement: its certificate, for a join.
    pub(crate) fn membership(&self, joining: bool) -> Membership {
        let mut certificate = heapless::Vec::<u8, MAX_CERT_LEN>::new();
        if joining {
            // The certificate was encoded within MAX_CERT_LEN.
            let _ = certificate.extend_from_slice(&self.certificate);
        }
        Membership { joining, certificate }
    }

    /// Seals `body` for `to` as `how` asks: MAC'd or signed (see [`Sealing`]).
    /// `signed` caches the one signed envelope a fan-out shares.
    pub(crate) fn seal(
        &mut self,
        body: &[u8],
        to: &NodeId,
        how: Sealing,
        signed: &mut Option<Vec<u8>>,
    ) -> Option<Vec<u8>> {
        let mac = |link: &PeerLink| match how {
            Sealing::Mac => link.key.is_some(),
            Sealing::Sign => false,
            Sealing::Announce { heard_since } => link.knows_me(heard_since),
        };
        // MAC'd for the recipient's incarnation this node last heard from.
        if let Some((_, link)) = self.roster.get_mut(to)
            && mac(link)
            && link.key.is_some()
            && let Some(to_epoch) = link.epoch()
            && let Some(counter) = link.next_sent()
            && let Some(key) = &link.key
        {
            let epoch = self.counter.epoch();
            let mut buf = vec![0u8; seal::sealed_len(&self.me, body.len(), AuthKind::Mac)];
            let n = seal::seal_mac(&mut buf, &self.me, to, to_epoch, epoch, counter, body, key).ok()?;
            buf.truncate(n);
            return Some(buf);
        }
        if signed.is_none() {
            let (epoch, counter) = self.counter.next_message().ok()?;
            let mut buf = vec![0u8; seal::sealed_len(&self.me, body.len(), AuthKind::Signed)];
            let n =
                seal::seal_signed(&mut buf, &self.me, epoch, counter, body, &self.identity, &self.authority).ok()?;
            buf.truncate(n);
            *signed = Some(buf);
        }
        signed.clone()
    }
}

/// The certificate role of a node role.
pub(crate) const fn cert_role(role: NodeRole) -> Role {
    match role {
        NodeRole::Supervisor => Role::Supervisor,
        NodeRole::Worker => Role::Worker,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{UNIX0, authority, certificate, id, identity_of};
    use crate::wire::Heartbeat;

    fn gate(name: &str, epoch: u64) -> Gate<8> {
        let me = id(name);
        let cert = certificate(&me, NodeRole::Supervisor, &[], 0);
        let credentials = Credentials::issue(&authority(), identity_of(name), cert, epoch, UNIX0).unwrap();
        Gate::new(&me, NodeRole::Supervisor, credentials).unwrap()
    }

    fn sups() -> Vec<NodeId> {
        ["a", "b", "c"].iter().map(|n| id(n)).collect()
    }

    /// `from`'s join, signed, as `to` receives it.
    fn join(from: &mut Gate<8>, to: &NodeId) -> Vec<u8> {
        let body = Body::Membership(from.membership(true)).to_vec().unwrap();
        from.seal(&body, to, Sealing::Sign, &mut None).unwrap()
    }

    /// `x` and `y` admit each other (each hears the other's join).
    fn meet(x: &mut Gate<8>, y: &mut Gate<8>) {
        let (xi, yi) = (x.me.clone(), y.me.clone());
        let j = join(x, &yi);
        y.open(Instant::ZERO, &j, &sups(), false).unwrap();
        let j = join(y, &xi);
        x.open(Instant::ZERO, &j, &sups(), false).unwrap();
    }

    fn heartbeat(sequence: u64) -> Vec<u8> {
        Body::Heartbeat(Heartbeat { sequence, ..Heartbeat::default() }).to_vec().unwrap()
    }

    fn mac(from: &mut Gate<8>, to: &NodeId, body: &[u8]) -> Vec<u8> {
        assert!(from.macs_for(to, Sealing::Mac));
        from.seal(body, to, Sealing::Mac, &mut None).unwrap()
    }

    /// A later message to a peer overtakes an earlier one, with a fan-out of
    /// more envelopes than the replay window between them: both are taken
    /// (MAC'd envelopes are numbered per recipient), and each only once.
    #[test]
    fn a_message_overtaken_across_a_wide_fanout_is_still_taken_once() {
        let (mut a, mut b, mut c) = (gate("a", 1), gate("b", 1), gate("c", 1));
        meet(&mut a, &mut b);
        meet(&mut a, &mut c);
        let first = mac(&mut a, &id("b"), &heartbeat(1));
        for n in 0..2 * ReplayWindow::<16>::WINDOW {
            let to_c = mac(&mut a, &id("c"), &heartbeat(n));
            if n == 0 {
                c.open(Instant::ZERO, &to_c, &sups(), false).unwrap();
            }
        }
        let second = mac(&mut a, &id("b"), &heartbeat(2));
        assert!(b.open(Instant::ZERO, &second, &sups(), false).is_ok());
        assert!(b.open(Instant::ZERO, &first, &sups(), false).is_ok(), "the overtaken copy is new to b");
        for again in [&first, &second] {
            assert!(matches!(b.open(Instant::ZERO, again, &sups(), false), Err(RejectReason::Replayed)));
        }
    }

    /// Once a peer's newer boot is seen (here through its signed join), a
    /// MAC'd envelope of its earlier boot, never delivered before, is refused,
    /// though the MAC'd window has seen nothing of the new boot yet.
    #[test]
    fn a_mac_from_a_boot_before_the_newest_seen_is_refused() {
        let (mut a, mut b) = (gate("a", 1), gate("b", 1));
        meet(&mut a, &mut b);
        let taken = mac(&mut a, &id("b"), &heartbeat(1));
        b.open(Instant::ZERO, &taken, &sups(), false).unwrap();
        let late = mac(&mut a, &id("b"), &heartbeat(2));
        let mut restarted = gate("a", 2);
        let j = join(&mut restarted, &id("b"));
        b.open(Instant::ZERO, &j, &sups(), false).unwrap();
        assert!(matches!(b.open(Instant::ZERO, &late, &sups(), false), Err(RejectReason::Replayed)));
    }
}
