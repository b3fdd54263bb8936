//! Authentication: who may speak in a cluster, and proof that each message
//! comes from who it says.
//!
//! # Trust model
//!
//! A cluster is rooted in one **authority** key, an operator's Ed25519 key
//! whose public half is in every node's configuration (like a genesis). The
//! authority never takes part in traffic; it signs, offline:
//!
//! - a [`SignedCertificate`] per node: its id, [`Role`], identity public key,
//!   WireGuard key, mesh endpoints, worker slots and pools, a serial and a
//!   validity period. Everything a node may claim about itself comes from its
//!   certificate, never from its own messages. A higher serial for the same id
//!   rotates keys without changing identity ([`Roster::admit`]).
//! - a [`SignedRevocationList`] with a sequence number: a newer list replaces
//!   an older one ([`RevocationList::update`]), never the reverse.
//!
//! Each node holds an [`IdentityKey`] built from 32 bytes its host drew from
//! its own randomness: the core never draws randomness or reads a clock (the
//! UNIX time for validity checks is an argument).
//!
//! # Message authentication (wire format v2, [`seal`])
//!
//! Every envelope carries the sender id, a replay guard (`epoch`, `counter`),
//! the body and a tag. The mechanism follows the cost:
//!
//! - **MAC** ([`seal::seal_mac`]) for the high-rate point-to-point traffic
//!   (heartbeats from thousands of workers): HMAC-SHA256 truncated to 16 bytes
//!   under a [`PairwiseKey`] derived once per peer by static X25519
//!   Diffie-Hellman of the two identity keys and HKDF-SHA256. The recipient id
//!   and boot epoch are bound in the tag, so a message captured before the
//!   recipient restarted is refused after.
//! - **Signature** ([`seal::seal_signed`]) where a third party must verify, or
//!   no pairwise key exists yet: the join/hello that carries a certificate,
//!   and messages to peers not admitted yet. A checkpoint report carries its
//!   own signature by the primary ([`checkpoint`]), which the task table
//!   carries on to every supervisor.
//!
//! The replay guard is checked against a per-sender [`ReplayWindow`]
//! (RFC 6479): `check` before verification, `accept` only after, so a forged
//! packet cannot move the window.
//!
//! Every signature and tag is domain-separated ([`Domain`]): signatures are over
//! `"pouw-netops/<kind>/v1" || 0x00 || cluster || payload`, with `cluster` the
//! authority public key, so nothing signed for one purpose or one cluster
//! verifies for another.
//!
//! # Byzantine election proofs ([`quorum`])
//!
//! A supervisor signs each vote and pre-vote grant ([`VoteStatement`],
//! domains [`Domain::Vote`] / [`Domain::PreVote`]); a [`QuorumCertificate`]
//! carries a quorum of such signatures for one candidate in one term (a
//! leader certificate, or the justification of an election), its signers a
//! bitmap over the voters in ascending id order so none counts twice; two
//! votes of one voter in one term for two candidates are
//! [`EquivocationEvidence`], verifiable offline from public keys alone.
//!
//! # Properties
//!
//! Decoding ([`seal::parse`], [`SignedCertificate::decode`],
//! [`SignedRevocationList::decode`], [`QuorumCertificate::decode`],
//! [`EquivocationEvidence::decode`]) is total and bounded; verification needs
//! no allocator; tags are compared in constant time; secret keys
//! ([`IdentityKey`], [`PairwiseKey`]) are wiped on drop.
//!
//! | file | concept |
//! |---|---|
//! | [`keys`] | identity keys, domain-separated signatures |
//! | [`cert`] | certificates, the roster of admitted nodes |
//! | [`checkpoint`] | checkpoints signed by the task's primary |
//! | [`revocation`] | revocation lists |
//! | [`replay`] | replay windows, send counters |
//! | [`pairwise`] | pairwise MAC keys (X25519 + HKDF-SHA256) |
//! | [`quorum`] | signed votes, quorum certificates, equivocation evidence (Byzantine election) |
//! | [`seal`] | wire v2 envelopes: seal, parse, verify |
//! | `voters` | the voters of a Byzantine election in signer order with their keys (crate-internal) |
//! | [`format`] | the signed-blob encoding shared by certificates and revocation lists |

pub mod advert;
pub mod cert;
pub mod checkpoint;
pub mod format;
pub mod keys;
pub mod pairwise;
pub mod quorum;
pub mod replay;
pub mod revocation;
pub mod seal;
#[cfg(feature = "alloc")]
mod voters;

pub use advert::{link_state_digest, sign_endpoint, sign_link_state, verify_endpoint, verify_link_state};
pub use cert::{Admission, CertError, Certificate, MAX_CERT_LEN, Role, Roster, SignedCertificate};
pub use checkpoint::{sign_checkpoint, verify_checkpoint};
pub use format::FormatError;
pub use keys::{Domain, IdentityError, IdentityKey, PublicIdentity, Signature, wireguard_public_key};
pub use pairwise::{PairwiseError, PairwiseKey};
pub use quorum::{
    EquivocationEvidence, MAX_QC_LEN, MAX_QC_SIGNERS, QcBuilder, QcView, QuorumCertificate, QuorumError, SignedVote,
    VoteKind, VoteStatement, VoterKeys,
};
pub use replay::{CounterExhausted, ReplayError, ReplayWindow, SendCounter};
pub use revocation::{RevocationError, RevocationList, Revoked, SignedRevocationList};
pub use seal::{AuthKind, OpenError, PeerKeys, SealError, Unverified};
#[cfg(feature = "alloc")]
pub(crate) use voters::VoterTable;
