//! Why the coordinator's entrance ([`super::gate`]) refused a datagram:
//! [`RejectReason`], one per check, and [`RejectCounts`], the count of each.
//! Every refusal is counted here and changes nothing else.

use crate::auth::CertError;
use crate::auth::seal::OpenError;

/// Why a datagram was refused at the entrance. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Not a well-formed v2 envelope, or its body does not decode.
    Malformed,
    /// It claims to come from this node.
    FromSelf,
    /// The sender is not an admitted member (and offered no certificate).
    UnknownSender,
    /// The MAC does not verify.
    BadTag,
    /// The signature does not verify.
    BadSignature,
    /// Seen before, older than the replay window, from an earlier epoch of
    /// the sender, or MAC'd for an earlier epoch of this node (before it restarted).
    Replayed,
    /// The certificate is not signed by this cluster's authority.
    WrongAuthority,
    /// The certificate is not valid now (expired or not yet valid).
    Expired,
    /// The certificate's role is not the one the configuration expects.
    WrongRole,
    /// The certificate is revoked.
    Revoked,
    /// The certificate names another node than the envelope's sender.
    IdMismatch,
    /// The certificate is older (a lower serial) than the one already held.
    StaleSerial,
    /// The certificate is malformed.
    BadCertificate,
    /// The roster is full: the new member was not admitted.
    RosterFull,
    /// An authenticated member whose role may not send this message: a worker
    /// sending what only supervisors send (election messages, leader notices,
    /// assignments, releases, task tables) or a supervisor sending a checkpoint
    /// report.
    NotAuthorized,
    /// A supervisor sending a leader message (notice, assignment, task table,
    /// leader heartbeat, a heartbeat naming a term it leads) for a term this
    /// node knows another supervisor leads, or leads itself.
    NotLeader,
    /// (Byzantine fault model) a message that claims a term without the
    /// proof it needs: an election message whose signed vote or quorum
    /// certificate is missing, malformed, forged, signed by a non-voter, short
    /// of a quorum or for another kind, term or candidate; a leader message
    /// (notice, assignment, task table, leader heartbeat, a heartbeat naming
    /// the term it leads) for a term this node holds no verified leader
    /// certificate of its sender for, with no valid one attached.
    Uncertified,
}

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; 17] = [
        RejectReason::Malformed,
        RejectReason::FromSelf,
        RejectReason::UnknownSender,
        RejectReason::BadTag,
        RejectReason::BadSignature,
        RejectReason::Replayed,
        RejectReason::WrongAuthority,
        RejectReason::Expired,
        RejectReason::WrongRole,
        RejectReason::Revoked,
        RejectReason::IdMismatch,
        RejectReason::StaleSerial,
        RejectReason::BadCertificate,
        RejectReason::RosterFull,
        RejectReason::NotAuthorized,
        RejectReason::NotLeader,
        RejectReason::Uncertified,
    ];

    /// The snake-case name, as counters and bindings report it.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::FromSelf => "from_self",
            RejectReason::UnknownSender => "unknown_sender",
            RejectReason::BadTag => "bad_tag",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::Replayed => "replayed",
            RejectReason::WrongAuthority => "wrong_authority",
            RejectReason::Expired => "expired",
            RejectReason::WrongRole => "wrong_role",
            RejectReason::Revoked => "revoked",
            RejectReason::IdMismatch => "id_mismatch",
            RejectReason::StaleSerial => "stale_serial",
            RejectReason::BadCertificate => "bad_certificate",
            RejectReason::RosterFull => "roster_full",
            RejectReason::NotAuthorized => "not_authorized",
            RejectReason::NotLeader => "not_leader",
            RejectReason::Uncertified => "uncertified",
        }
    }

    /// The error kind a caller sees for this reason.
    pub const fn kind(self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            RejectReason::Malformed => ErrorKind::Malformed,
            RejectReason::FromSelf => ErrorKind::InvalidArgument,
            RejectReason::UnknownSender
            | RejectReason::BadTag
            | RejectReason::BadSignature
            | RejectReason::WrongAuthority => ErrorKind::Unauthenticated,
            RejectReason::Replayed => ErrorKind::Replayed,
            RejectReason::Expired
            | RejectReason::WrongRole
            | RejectReason::Revoked
            | RejectReason::IdMismatch
            | RejectReason::StaleSerial
            | RejectReason::NotAuthorized
            | RejectReason::NotLeader
            | RejectReason::Uncertified => ErrorKind::CredentialRejected,
            RejectReason::BadCertificate => ErrorKind::Malformed,
            RejectReason::RosterFull => ErrorKind::CapacityExceeded,
        }
    }

    pub(super) fn of_open(e: OpenError) -> Self {
        match e {
            OpenError::UnknownSender => RejectReason::UnknownSender,
            OpenError::BadTag => RejectReason::BadTag,
            OpenError::BadSignature => RejectReason::BadSignature,
            OpenError::Replayed | OpenError::TooOld | OpenError::StaleEpoch | OpenError::WrongRecipientEpoch => {
                RejectReason::Replayed
            }
            _ => RejectReason::Malformed,
        }
    }

    pub(super) fn of_cert(e: CertError) -> Self {
        match e {
            CertError::WrongAuthority => RejectReason::WrongAuthority,
            CertError::NotYetValid { .. } | CertError::Expired { .. } => RejectReason::Expired,
            CertError::WrongRole { .. } => RejectReason::WrongRole,
            CertError::Revoked { .. } => RejectReason::Revoked,
            CertError::IdMismatch => RejectReason::IdMismatch,
            CertError::StaleSerial { .. } => RejectReason::StaleSerial,
            CertError::RosterFull { .. } => RejectReason::RosterFull,
            _ => RejectReason::BadCertificate,
        }
    }
}

impl core::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Datagrams refused at the entrance, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectCounts([u64; RejectReason::ALL.len()]);

impl RejectCounts {
    /// How many were refused for `reason`.
    pub fn get(&self, reason: RejectReason) -> u64 {
        self.0.get(reason as usize).copied().unwrap_or(0)
    }

    /// Every reason with its count, in [`RejectReason::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (RejectReason, u64)> + '_ {
        RejectReason::ALL.into_iter().map(|r| (r, self.get(r)))
    }

    /// All refused datagrams.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    pub(crate) fn bump(&mut self, reason: RejectReason) {
        if let Some(c) = self.0.get_mut(reason as usize) {
            *c = c.saturating_add(1);
        }
    }
}
