//! The one wire format: a versioned postcard envelope.
//!
//! Every message between nodes is an [`Envelope`]: `version` (one byte), the
//! sender's [`NodeId`], and a [`Body`]. Golden byte vectors under `tests/vectors/`
//! pin the encoding, so Rust, C and Python nodes interoperate and any change of
//! format is deliberate. Decoding is total: unknown versions, unknown bodies,
//! oversized fields, truncation and trailing bytes are typed errors.
//!
//! This module holds the message types; `wire/codec.rs` their encoding,
//! decoding and validation.

use crate::health::{HealthMetrics, InvalidMetric};
use crate::id::{NodeId, TaskId, TaskType};
use crate::time::{Duration, Instant};
use crate::workers::{Checkpoint, TaskRole};
use core::fmt;
use serde::{Deserialize, Serialize};

mod codec;
#[cfg(test)]
mod tests;

/// The wire format version this build speaks.
pub const WIRE_VERSION: u8 = 1;

/// The largest encoded envelope accepted or produced, in bytes.
pub const MAX_ENVELOPE_LEN: usize = 64 * 1024;

/// A message between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Wire format version; always [`WIRE_VERSION`] for envelopes built here.
    pub version: u8,
    /// The node that sent the message.
    pub sender: NodeId,
    /// What the message says.
    pub body: Body,
}

/// The message kinds. New kinds are appended (the variant index is on the wire).
// Bounded collections live inline (decoding needs no allocator), so variants differ in size.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// "I am alive", with the sender's health figures.
    Heartbeat(Heartbeat),
    /// Leader election: a pre-candidate asks whether it could win `term` (no term changes anywhere).
    PreVote(VoteRequest),
    /// Leader election: the answer to a [`Body::PreVote`].
    PreVoteResponse(VoteResponse),
    /// Leader election: a candidate asks for a vote in `term`.
    RequestVote(VoteRequest),
    /// Leader election: the answer to a [`Body::RequestVote`].
    VoteResponse(VoteResponse),
    /// Leader election: the leader of `term` is alive (not the node-health [`Body::Heartbeat`]).
    LeaderHeartbeat(LeaderHeartbeat),
    /// Leader election: a voter acknowledges a [`Body::LeaderHeartbeat`], or tells a stale leader its newer term.
    HeartbeatResponse(HeartbeatResponse),
    /// The sender's mesh links with their latencies (link-state routing advert).
    LinkState(LinkState),
    /// Supervisor to worker: run or stand by for a task, from a checkpoint.
    TaskAssignment(TaskAssignment),
    /// Worker to supervisor: a primary's acknowledged progress on a task.
    CheckpointReport(CheckpointReport),
    /// Supervisor to worker: stop working on (or standing by for) a task.
    TaskRelease(TaskRelease),
    /// A node joins the cluster (with what it offers) or leaves it gracefully.
    Membership(Membership),
    /// The leader of `term` tells every node it leads (workers follow it).
    LeaderNotice(LeaderNotice),
    /// The leader carries part of its task table to the other supervisors.
    TaskTable(TaskTable),
    /// A link-state advert signed by its origin, flooded through the cluster
    /// (a node routes over it; the unsigned [`Body::LinkState`] is for the
    /// standalone mesh manager and ignored by a node).
    SignedLinkState(SignedLinkState),
    /// A node's tunnel endpoint (roaming), signed by the node.
    EndpointRecord(EndpointRecord),
    /// (Byzantine fault model) a supervisor's certificate passed on by
    /// another supervisor, so a node that never heard that supervisor's own
    /// join can still check its votes in a leader certificate.
    Voucher(Voucher),
    /// A supervisor answers the leader of `term` with its task table, in
    /// parts, so the new leader resumes no task from behind a quorum.
    TableReport(TableReport),
}

/// A [`LinkState`] advert with its origin's signature
/// ([`crate::auth::sign_link_state`]): any node holding the origin's
/// certificate can verify it, whoever relayed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignedLinkState {
    /// The node whose links these are (and who signed them).
    pub origin: NodeId,
    /// Its links, with its sequence number (newer adverts replace older ones).
    pub state: LinkState,
    /// The origin's signature on `origin` and `state`.
    pub signature: SignatureBytes,
}

/// A node's current tunnel endpoint, signed by the node
/// ([`crate::auth::sign_endpoint`]), so it can roam: receivers take the record
/// with the highest `sequence` and refuse older or repeated ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// Increases with every record from the node (across restarts).
    pub sequence: u64,
    /// The endpoint, as `host:port` (see [`crate::mesh::Endpoint::parse`]).
    pub endpoint: heapless::String<MAX_ENDPOINT_LEN>,
    /// The node's signature on its id, `sequence` and `endpoint`.
    pub signature: SignatureBytes,
}

/// The longest endpoint an [`EndpointRecord`] carries, in bytes.
pub const MAX_ENDPOINT_LEN: usize = 255;

/// The most task types (pools) a node works in.
pub const MAX_TASK_TYPES: usize = 4;

/// A node's join announcement or graceful-leave notice.
///
/// A join carries the sender's certificate from the cluster authority: peers
/// verify it before they believe anything the node says, and take its slots,
/// pools, WireGuard key and endpoints from it, never from the node itself. A
/// leave tells peers the silence that follows is no crash; it needs no
/// certificate (the sender is already known, and its envelope authenticated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// `true`: the sender is (still) in the cluster; `false`: it is leaving now.
    pub joining: bool,
    /// The sender's encoded [`SignedCertificate`](crate::auth::SignedCertificate)
    /// (empty in a leave).
    pub certificate: heapless::Vec<u8, { crate::auth::MAX_CERT_LEN }>,
}

/// A supervisor's certificate passed on by another supervisor (Byzantine
/// fault model).
///
/// Checking a leader certificate needs the identity key of every voter that
/// signed it. A node learns a voter's key from the voter's own join, or from
/// its answer to the node's join; a lying voter can withhold both, and then
/// the node could never check a leader certificate the liar co-signed, nor
/// follow that leader. The authority's signature makes a certificate
/// self-authenticating, so any member can pass it on: a supervisor answering
/// a join sends one voucher for each other voter whose certificate it holds.
/// A receiver verifies it in full (authority, supervisor role, a configured
/// voter, validity, revocation) and learns only the voter's key from it,
/// never its membership: the voter is admitted by its own join, as ever.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Voucher {
    /// The voter's encoded [`SignedCertificate`](crate::auth::SignedCertificate).
    pub certificate: heapless::Vec<u8, { crate::auth::MAX_CERT_LEN }>,
}

/// The leader's notice to every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderNotice {
    /// The leader's term. Never 0.
    pub term: u64,
}

/// The most tasks one [`TaskTable`] message carries.
pub const MAX_TABLE_ENTRIES: usize = 8;

/// A slice of the leader's task table, so a new leader knows every task and its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskTable {
    /// The sender's leader term. Never 0.
    pub term: u64,
    /// Tasks, at most [`MAX_TABLE_ENTRIES`], each once.
    pub entries: heapless::Vec<TaskEntry, MAX_TABLE_ENTRIES>,
}

/// The most parts a [`TableReport`] is split into.
pub const MAX_REPORT_PARTS: u16 = 1024;

/// Part of a supervisor's task table, sent to the leader of `term` when it
/// learns of it (and again until that leader's table reaches it): a new leader
/// gathers these from a quorum of supervisors before it assigns anything, and
/// takes from them every checkpoint newer than its own that its primary's
/// signature proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableReport {
    /// The term of the leader it answers. Never 0.
    pub term: u64,
    /// Which part this is: `0..parts`.
    pub part: u16,
    /// How many parts the table is sent in (at least 1, at most [`MAX_REPORT_PARTS`]).
    pub parts: u16,
    /// Tasks of the sender's table, at most [`MAX_TABLE_ENTRIES`], each once:
    /// part `k` holds the table's entries `k * MAX_TABLE_ENTRIES..`.
    pub entries: heapless::Vec<TaskEntry, MAX_TABLE_ENTRIES>,
}

/// One task of a [`TaskTable`] or a [`TableReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEntry {
    /// The task.
    pub task: TaskId,
    /// Its pool.
    pub task_type: TaskType,
    /// Primaries it needs (at least 1).
    pub required: u16,
    /// Backups it wants.
    pub backups: u16,
    /// Its last acknowledged checkpoint.
    pub checkpoint: Option<Checkpoint>,
    /// The checkpoint's signature by the primary that reported it: present
    /// exactly when `checkpoint` is, so a supervisor receiving the table
    /// verifies the checkpoint before it believes it.
    pub proof: Option<CheckpointProof>,
}

/// Who reported a checkpoint, and its signature on it
/// ([`crate::auth::sign_checkpoint`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointProof {
    /// The primary that reported the checkpoint.
    pub primary: NodeId,
    /// Its signature on the task, its id and the checkpoint.
    pub signature: SignatureBytes,
}

/// An Ed25519 signature on the wire: `R` then `s`, 32 bytes each (64 bytes,
/// no length prefix).
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureBytes {
    /// The signature's `R`.
    pub r: [u8; 32],
    /// The signature's `s`.
    pub s: [u8; 32],
}

impl SignatureBytes {
    /// The 64 signature bytes.
    pub fn to_signature(&self) -> crate::auth::Signature {
        let mut b = [0u8; 64];
        let (r, s) = b.split_at_mut(32);
        r.copy_from_slice(&self.r);
        s.copy_from_slice(&self.s);
        crate::auth::Signature(b)
    }
}

impl From<crate::auth::Signature> for SignatureBytes {
    fn from(sig: crate::auth::Signature) -> Self {
        let (r, s) = sig.0.split_at(32);
        let mut out = SignatureBytes { r: [0; 32], s: [0; 32] };
        out.r.copy_from_slice(r);
        out.s.copy_from_slice(s);
        out
    }
}

impl fmt::Debug for SignatureBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_signature(), f)
    }
}

/// A (pre-)vote request of leader election.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRequest {
    /// The term the candidate campaigns for (for a pre-vote, its current term plus one). Never 0.
    pub term: u64,
    /// The candidate's caller-defined progress (e.g. chain height) for the "up to date" check.
    pub progress: Option<u64>,
}

/// The answer to a (pre-)vote request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteResponse {
    /// The request's term when granted; the voter's own term when refused. Never 0.
    pub term: u64,
    /// Whether the vote is granted.
    pub granted: bool,
}

/// A leader's liveness message to its voters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderHeartbeat {
    /// The leader's term. Never 0.
    pub term: u64,
}

/// A voter's answer to a [`LeaderHeartbeat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// The voter's current term (higher than the heartbeat's when the leader is stale). Never 0.
    pub term: u64,
}

/// Tells a worker its role in a task and where the task resumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAssignment {
    /// The assigning leader's term. A worker ignores an assignment older than
    /// the leader term it knows, and drops roles of older terms at a newer
    /// leader's notice, so a re-elected leader's old-term roles never linger. Never 0.
    pub term: u64,
    /// The task.
    pub task: TaskId,
    /// Its type (the pool the worker was chosen from).
    pub task_type: TaskType,
    /// Primary (run it) or backup (keep a slot ready).
    pub role: TaskRole,
    /// The last acknowledged checkpoint to resume from; `None` starts from scratch.
    pub checkpoint: Option<Checkpoint>,
}

/// A primary's acknowledged progress, fed to `WorkerReplacementManager::record_checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointReport {
    /// The task.
    pub task: TaskId,
    /// The progress reached.
    pub checkpoint: Checkpoint,
    /// The sender's signature on the task, its id and the checkpoint
    /// ([`crate::auth::sign_checkpoint`]): the leader's task table carries
    /// it on, so every supervisor can verify the checkpoint.
    pub signature: SignatureBytes,
}

/// Tells a worker a task no longer needs it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRelease {
    /// The task.
    pub task: TaskId,
}

/// A liveness heartbeat carrying the sender's health metrics and, for the
/// leases on roles, what the sender leads (a supervisor) or holds (a worker).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Increases by one per heartbeat from a sender (lets receivers spot loss and duplicates).
    pub sequence: u64,
    /// The sender's clock when it sent the heartbeat.
    pub sent_at: Instant,
    /// The sender's health figures.
    pub metrics: HealthMetrics,
    /// The term the sender leads, 0 if it does not lead: a leader's heartbeat
    /// renews the leases of the roles it gave in that term or earlier.
    pub leading: u64,
    /// (Workers) the roles the sender holds, at most [`MAX_HELD_ROLES`], each
    /// task once, so the leader can release those it did not give or has moved.
    pub held: heapless::Vec<HeldRole, MAX_HELD_ROLES>,
    /// The last heartbeat the sender received from the recipient, echoed so
    /// the recipient measures the round trip (`None` when the sender has not
    /// heard one, or the message goes to several recipients at once).
    pub echo: Option<Echo>,
}

/// An echoed heartbeat timestamp, as NTP and TCP timestamps do: the recipient
/// measures the round trip as its clock now, minus `sent_at`, minus `held`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Echo {
    /// The `sent_at` of the recipient's heartbeat echoed (the recipient's clock).
    pub sent_at: Instant,
    /// How long the echoing node held it before this heartbeat left.
    pub held: Duration,
}

/// The most roles one [`Heartbeat`] reports; a worker holding more reports the
/// first [`MAX_HELD_ROLES`] in its table order.
pub const MAX_HELD_ROLES: usize = 8;

/// A role a worker reports holding in its [`Heartbeat`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRole {
    /// The task.
    pub task: TaskId,
    /// The term of the leader that gave the role. Never 0.
    pub term: u64,
    /// Primary or backup.
    pub role: TaskRole,
}

/// The most links one [`LinkState`] advert carries.
pub const MAX_ADVERT_LINKS: usize = 64;

/// A link-state advert: the sender's direct mesh links as it sees them.
///
/// Receivers keep the advert with the highest `sequence` per sender and ignore
/// older or repeated ones; a newer advert replaces the sender's previous links.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkState {
    /// Increases with every advert from a sender.
    pub sequence: u64,
    /// The sender's links, at most [`MAX_ADVERT_LINKS`], each neighbour once.
    pub links: heapless::Vec<LinkAdvert, MAX_ADVERT_LINKS>,
}

/// One link in a [`LinkState`] advert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAdvert {
    /// The node at the other end.
    pub neighbor: NodeId,
    /// Smoothed round-trip latency of the link.
    pub latency: Duration,
    /// Whether the link is usable (its tunnel is up).
    pub up: bool,
}

/// Why bytes could not be decoded into an [`Envelope`], or an envelope not encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// No bytes at all.
    Empty,
    /// The envelope names a version this build does not speak.
    UnknownVersion(u8),
    /// The input ended in the middle of a field.
    Truncated,
    /// The body kind is not one this build knows.
    UnknownBody,
    /// A field is malformed: bad varint, invalid UTF-8, an id that is empty or
    /// too long, a collection over its bound.
    Malformed,
    /// A health metric is out of range.
    InvalidMetric(InvalidMetric),
    /// A leader-election message carries term 0, which no election ever uses.
    ZeroTerm,
    /// Bytes remain after a complete envelope.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The input or the encoding is longer than [`MAX_ENVELOPE_LEN`].
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The caller's buffer is too small for the encoding.
    BufferTooSmall,
}

crate::error::error_impls! {
    WireError, f;
    WireError::Empty => ErrorKind::Empty, f.write_str("empty message");
    WireError::UnknownVersion(v) => ErrorKind::UnsupportedVersion,
        write!(f, "unknown wire version {v} (this build speaks {WIRE_VERSION})");
    WireError::Truncated => ErrorKind::Truncated, f.write_str("message is truncated");
    WireError::UnknownBody => ErrorKind::UnknownKind, f.write_str("unknown message kind");
    WireError::Malformed => ErrorKind::Malformed, f.write_str("malformed message field");
    WireError::InvalidMetric(e) => e.kind(), write!(f, "invalid message: {e}");
    WireError::ZeroTerm => ErrorKind::Malformed, f.write_str("invalid message: election term 0");
    WireError::TrailingBytes { count } => ErrorKind::TrailingBytes, write!(f, "{count} trailing bytes after the message");
    WireError::TooLarge { len } => ErrorKind::TooLarge,
        write!(f, "message of {len} bytes exceeds the {MAX_ENVELOPE_LEN}-byte limit");
    WireError::BufferTooSmall => ErrorKind::BufferTooSmall, f.write_str("buffer too small for the encoded message");
}

impl Envelope {
    /// An envelope of the current version from `sender` carrying `body`.
    pub const fn new(sender: NodeId, body: Body) -> Self {
        Envelope { version: WIRE_VERSION, sender, body }
    }
}

impl Body {
    /// How many body kinds this build knows (variant indices `0..KINDS`).
    pub const KINDS: u32 = 18;

    /// The snake-case name of the message kind (`"heartbeat"`, `"pre_vote"`, …), as
    /// the bindings report it.
    pub const fn kind(&self) -> &'static str {
        match self {
            Body::Heartbeat(_) => "heartbeat",
            Body::PreVote(_) => "pre_vote",
            Body::PreVoteResponse(_) => "pre_vote_response",
            Body::RequestVote(_) => "request_vote",
            Body::VoteResponse(_) => "vote_response",
            Body::LeaderHeartbeat(_) => "leader_heartbeat",
            Body::HeartbeatResponse(_) => "heartbeat_response",
            Body::LinkState(_) => "link_state",
            Body::TaskAssignment(_) => "task_assignment",
            Body::CheckpointReport(_) => "checkpoint_report",
            Body::TaskRelease(_) => "task_release",
            Body::Membership(_) => "membership",
            Body::LeaderNotice(_) => "leader_notice",
            Body::TaskTable(_) => "task_table",
            Body::SignedLinkState(_) => "signed_link_state",
            Body::EndpointRecord(_) => "endpoint_record",
            Body::Voucher(_) => "voucher",
            Body::TableReport(_) => "table_report",
        }
    }

    /// Whether this is one of the election's own messages (pre-votes, votes,
    /// leader heartbeats and the responses to them).
    pub const fn is_election(&self) -> bool {
        matches!(
            self,
            Body::PreVote(_)
                | Body::PreVoteResponse(_)
                | Body::RequestVote(_)
                | Body::VoteResponse(_)
                | Body::LeaderHeartbeat(_)
                | Body::HeartbeatResponse(_)
        )
    }
}
