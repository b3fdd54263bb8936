//! The one wire format: a versioned postcard envelope.
//!
//! Every message between nodes is an [`Envelope`]: `version` (one byte), the
//! sender's [`NodeId`], and a [`Body`]. Golden byte vectors under `tests/vectors/`
//! pin the encoding, so Rust, C and Python nodes interoperate and any change of
//! format is deliberate. Decoding is total: unknown versions, unknown bodies,
//! oversized fields, truncation and trailing bytes are typed errors.

use crate::health::{HealthMetrics, InvalidMetric};
use crate::id::{NodeId, TaskId, TaskType};
use crate::time::{Duration, Instant};
use crate::workers::{Checkpoint, TaskRole};
use core::fmt;
use serde::{Deserialize, Serialize};

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

/// One task of a [`TaskTable`].
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

impl Heartbeat {
    /// The checks of [`Envelope::decode`] and [`Body::decode`] alike: metrics
    /// in range, every held role with a term, each task once.
    fn validate(&self) -> Result<(), WireError> {
        self.metrics.validate().map_err(WireError::InvalidMetric)?;
        let mut rest = self.held.as_slice();
        while let Some((first, tail)) = rest.split_first() {
            if first.term == 0 {
                return Err(WireError::ZeroTerm);
            }
            if tail.iter().any(|h| h.task == first.task) {
                return Err(WireError::Malformed);
            }
            rest = tail;
        }
        Ok(())
    }
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

impl LinkState {
    /// Each neighbour once, and never `origin` itself.
    fn validate(&self, origin: Option<&NodeId>) -> Result<(), WireError> {
        let mut rest = self.links.as_slice();
        while let Some((first, tail)) = rest.split_first() {
            if Some(&first.neighbor) == origin || tail.iter().any(|l| l.neighbor == first.neighbor) {
                return Err(WireError::Malformed);
            }
            rest = tail;
        }
        Ok(())
    }
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

fn map_postcard(e: postcard::Error) -> WireError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => WireError::Truncated,
        postcard::Error::DeserializeBadEnum => WireError::UnknownBody,
        postcard::Error::SerializeBufferFull => WireError::BufferTooSmall,
        _ => WireError::Malformed,
    }
}

impl Envelope {
    /// An envelope of the current version from `sender` carrying `body`.
    pub const fn new(sender: NodeId, body: Body) -> Self {
        Envelope { version: WIRE_VERSION, sender, body }
    }

    /// Encodes into `buf`, returning the number of bytes written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = postcard::to_slice(self, buf).map_err(map_postcard)?.len();
        if len > MAX_ENVELOPE_LEN {
            return Err(WireError::TooLarge { len });
        }
        Ok(len)
    }

    /// The encoded length in bytes (without writing anything).
    pub fn encoded_len(&self) -> Result<usize, WireError> {
        postcard::experimental::serialized_size(self).map_err(map_postcard)
    }

    /// Encodes into a new byte vector.
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> Result<alloc::vec::Vec<u8>, WireError> {
        to_bounded_vec(self)
    }

    /// Decodes exactly one envelope from `bytes`, validating every field.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(WireError::TooLarge { len: bytes.len() });
        }
        match bytes.first() {
            None => return Err(WireError::Empty),
            Some(&v) if v != WIRE_VERSION => return Err(WireError::UnknownVersion(v)),
            Some(_) => {}
        }
        let envelope: Envelope = decode_exact(bytes, body_tag(bytes))?;
        envelope.body.validate()?;
        Ok(envelope)
    }
}

impl Body {
    /// Decodes exactly one body (the payload of an authenticated v2 envelope),
    /// validating every field; total and bounded like [`Envelope::decode`].
    pub fn decode(bytes: &[u8]) -> Result<Body, WireError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(WireError::TooLarge { len: bytes.len() });
        }
        if bytes.is_empty() {
            return Err(WireError::Empty);
        }
        let body: Body = decode_exact(bytes, bytes.first().map(|tag| u32::from(*tag)))?;
        body.validate()?;
        Ok(body)
    }

    /// Decodes one body from the front of `bytes`, validating every field, and
    /// returns it with the number of bytes it took: what follows is the
    /// body's attachment (a Byzantine-mode certificate or signed vote, under
    /// the same envelope tag).
    pub fn decode_prefix(bytes: &[u8]) -> Result<(Body, usize), WireError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(WireError::TooLarge { len: bytes.len() });
        }
        if bytes.is_empty() {
            return Err(WireError::Empty);
        }
        let (body, rest): (Body, &[u8]) = postcard::take_from_bytes(bytes).map_err(map_postcard)?;
        body.validate()?;
        Ok((body, bytes.len().saturating_sub(rest.len())))
    }

    /// The body as a [`Heartbeat`] when its variant tag is
    /// [`Body::Heartbeat`]'s (`Ok(None)` for any other first byte): exactly
    /// what [`Body::decode`] gives for those bytes, checks included, without
    /// building a whole `Body` (several KiB: its largest variant is stored
    /// inline) on the path of the most frequent message.
    #[cfg(feature = "alloc")]
    #[inline(always)]
    pub(crate) fn decode_heartbeat(bytes: &[u8]) -> Result<Option<Heartbeat>, WireError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(WireError::TooLarge { len: bytes.len() });
        }
        // Postcard encodes the variant index as a varint: 0 is the one byte 0.
        let Some((0, rest)) = bytes.split_first() else { return Ok(None) };
        // `postcard::take_from_bytes`, unrolled: its `(value, rest)` tuple
        // costs one more copy of the heartbeat.
        let mut de = postcard::Deserializer::from_bytes(rest);
        let hb = Heartbeat::deserialize(&mut de).map_err(map_postcard)?;
        let rest = de.finalize().map_err(map_postcard)?;
        if !rest.is_empty() {
            return Err(WireError::TrailingBytes { count: rest.len() });
        }
        hb.validate()?;
        Ok(Some(hb))
    }

    /// Encodes into a new byte vector (the payload of a v2 envelope).
    #[cfg(feature = "alloc")]
    pub fn to_vec(&self) -> Result<alloc::vec::Vec<u8>, WireError> {
        to_bounded_vec(self)
    }
}

/// Reads a postcard varint (at most five bytes for a `u32`) from the front of `bytes`.
fn read_varint(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let mut value: u32 = 0;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= u32::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, bytes.get(i + 1..)?));
        }
    }
    None
}

/// Encodes `value` into a new byte vector of at most [`MAX_ENVELOPE_LEN`] bytes.
#[cfg(feature = "alloc")]
fn to_bounded_vec<T: Serialize>(value: &T) -> Result<alloc::vec::Vec<u8>, WireError> {
    let v = postcard::to_allocvec(value).map_err(map_postcard)?;
    if v.len() > MAX_ENVELOPE_LEN {
        return Err(WireError::TooLarge { len: v.len() });
    }
    Ok(v)
}

/// Decodes exactly one `T` from `bytes`: malformed bytes whose body tag (`tag`,
/// where the caller finds it) is not a known kind are `UnknownBody`, bytes left
/// after it `TrailingBytes`. The caller validates the fields.
fn decode_exact<'a, T: Deserialize<'a>>(bytes: &'a [u8], tag: Option<u32>) -> Result<T, WireError> {
    let (value, rest): (T, &[u8]) = postcard::take_from_bytes(bytes).map_err(|e| match map_postcard(e) {
        WireError::Malformed if tag.is_some_and(|t| t >= Body::KINDS) => WireError::UnknownBody,
        other => other,
    })?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes { count: rest.len() });
    }
    Ok(value)
}

/// The body's variant index in an encoded envelope, found by skipping the version
/// byte and the sender string; `None` if the bytes end first or the sender is
/// not a valid id (then the error is about the sender, not the body).
fn body_tag(bytes: &[u8]) -> Option<u32> {
    let (len, rest) = read_varint(bytes.get(1..)?)?;
    let len = usize::try_from(len).ok().filter(|l| (1..=crate::id::MAX_ID_LEN).contains(l))?;
    let (tag, _) = read_varint(rest.get(len..)?)?;
    Some(tag)
}

impl Body {
    /// How many body kinds this build knows (variant indices `0..KINDS`).
    pub const KINDS: u32 = 16;

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
        }
    }

    /// Semantic checks that serde cannot express (ranges of floats and the like).
    fn validate(&self) -> Result<(), WireError> {
        match self {
            Body::Heartbeat(hb) => hb.validate(),
            Body::PreVote(VoteRequest { term, .. })
            | Body::RequestVote(VoteRequest { term, .. })
            | Body::PreVoteResponse(VoteResponse { term, .. })
            | Body::VoteResponse(VoteResponse { term, .. })
            | Body::LeaderHeartbeat(LeaderHeartbeat { term })
            | Body::HeartbeatResponse(HeartbeatResponse { term })
            | Body::LeaderNotice(LeaderNotice { term }) => {
                if *term == 0 {
                    Err(WireError::ZeroTerm)
                } else {
                    Ok(())
                }
            }
            Body::LinkState(ls) => ls.validate(None),
            Body::SignedLinkState(s) => s.state.validate(Some(&s.origin)),
            Body::EndpointRecord(_) => Ok(()),
            // Ids are validated while decoding; roles, sequences and digests have no invalid values.
            Body::TaskAssignment(a) if a.term == 0 => Err(WireError::ZeroTerm),
            Body::TaskAssignment(_) | Body::CheckpointReport(_) | Body::TaskRelease(_) => Ok(()),
            // The certificate is decoded and verified by the node's entrance.
            Body::Membership(_) => Ok(()),
            Body::TaskTable(t) => {
                if t.term == 0 {
                    return Err(WireError::ZeroTerm);
                }
                let mut rest = t.entries.as_slice();
                while let Some((first, tail)) = rest.split_first() {
                    let proved = first.checkpoint.is_some() == first.proof.is_some();
                    if first.required == 0 || !proved || tail.iter().any(|e| e.task == first.task) {
                        return Err(WireError::Malformed);
                    }
                    rest = tail;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    fn heartbeat() -> Envelope {
        Envelope::new(
            NodeId::new("worker-7").unwrap(),
            Body::Heartbeat(Heartbeat {
                sequence: 3,
                sent_at: Instant::from_secs(12),
                metrics: HealthMetrics { response_time: Duration::from_millis(20), ..HealthMetrics::default() },
                ..Heartbeat::default()
            }),
        )
    }

    #[test]
    #[cfg(feature = "alloc")]
    fn the_heartbeat_fast_path_decodes_as_body_decode_does() {
        use crate::workers::TaskRole;
        let mut held = heapless::Vec::new();
        let task = crate::id::TaskId::new("t").unwrap();
        held.push(HeldRole { task: task.clone(), term: 2, role: TaskRole::Primary }).unwrap();
        let bodies = [
            heartbeat().body,
            Body::Heartbeat(Heartbeat { held, leading: 4, ..Heartbeat::default() }),
            Body::LeaderNotice(LeaderNotice { term: 3 }),
            Body::TaskRelease(TaskRelease { task }),
        ];
        let mut checked = 0;
        for body in bodies {
            let bytes = body.to_vec().unwrap();
            // The bytes, every truncation, every byte replaced by a few values.
            let mut cases = std::vec![bytes.clone()];
            cases.extend((0..bytes.len()).map(|n| bytes[..n].to_vec()));
            for i in 0..bytes.len() {
                for v in [0u8, 1, 0x7f, 0x80, 0xff] {
                    let mut b = bytes.clone();
                    b[i] = v;
                    cases.push(b);
                }
            }
            for b in cases {
                let fast = Body::decode_heartbeat(&b);
                match (b.first(), Body::decode(&b)) {
                    (_, Ok(Body::Heartbeat(hb))) => assert_eq!(fast, Ok(Some(hb)), "{b:?}"),
                    (Some(0), Err(e)) => assert_eq!(fast, Err(e), "{b:?}"),
                    (Some(0), Ok(other)) => panic!("tag 0 decoded as {other:?}"),
                    (_, _) => assert_eq!(fast, Ok(None), "{b:?}"),
                }
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked} cases");
    }

    #[test]
    fn round_trips() {
        let env = heartbeat();
        let mut buf = [0u8; 128];
        let n = env.encode(&mut buf).unwrap();
        assert_eq!(env.encoded_len(), Ok(n));
        assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
    }

    #[test]
    fn rejects_bad_input() {
        let env = heartbeat();
        let mut buf = [0u8; 128];
        let n = env.encode(&mut buf).unwrap();
        assert_eq!(Envelope::decode(&[]), Err(WireError::Empty));
        let mut v2 = buf;
        v2[0] = 2;
        assert_eq!(Envelope::decode(&v2[..n]), Err(WireError::UnknownVersion(2)));
        assert_eq!(Envelope::decode(&buf[..n - 1]), Err(WireError::Truncated));
        assert_eq!(Envelope::decode(&buf[..n + 1]), Err(WireError::TrailingBytes { count: 1 }));
        let mut bad_body = buf;
        bad_body[1 + 1 + 8] = 0x7f; // the body's variant index, after version, id length and "worker-7"
        assert_eq!(Envelope::decode(&bad_body[..n]), Err(WireError::UnknownBody));
        let mut small = [0u8; 4];
        assert_eq!(env.encode(&mut small), Err(WireError::BufferTooSmall));
    }

    #[test]
    fn task_messages_round_trip_and_reject_bad_ids() {
        let env = Envelope::new(
            NodeId::new("sup-1").unwrap(),
            Body::TaskAssignment(TaskAssignment {
                term: 1,
                task: TaskId::new("t-9").unwrap(),
                task_type: TaskType::new("train").unwrap(),
                role: TaskRole::Primary,
                checkpoint: Some(Checkpoint { sequence: 7, digest: [3; 32] }),
            }),
        );
        let mut buf = [0u8; 256];
        let n = env.encode(&mut buf).unwrap();
        assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
        // An empty task id inside the body is malformed.
        let release = Envelope::new(
            NodeId::new("sup-1").unwrap(),
            Body::TaskRelease(TaskRelease { task: TaskId::new("t").unwrap() }),
        );
        let n = release.encode(&mut buf).unwrap();
        assert_eq!(buf[n - 2], 1, "task id length");
        buf[n - 2] = 0;
        assert_eq!(Envelope::decode(&buf[..n - 1]), Err(WireError::Malformed));
        let mut unknown = [0u8; 16];
        let n = release.encode(&mut unknown).unwrap();
        unknown[1 + 1 + 5] = Body::KINDS as u8; // first unknown kind, after version and "sup-1"
        assert_eq!(Envelope::decode(&unknown[..n]), Err(WireError::UnknownBody));
    }

    #[test]
    fn rejects_out_of_range_metrics() {
        let mut env = heartbeat();
        let Body::Heartbeat(hb) = &mut env.body else { panic!("not a heartbeat") };
        hb.metrics.cpu_usage = 2.0;
        let mut buf = [0u8; 128];
        let n = env.encode(&mut buf).unwrap();
        assert!(matches!(Envelope::decode(&buf[..n]), Err(WireError::InvalidMetric(_))));
    }

    fn link_state(neighbors: &[&str]) -> Envelope {
        let mut links = heapless::Vec::new();
        for (i, n) in neighbors.iter().enumerate() {
            let advert =
                LinkAdvert { neighbor: NodeId::new(n).unwrap(), latency: Duration::from_millis(i as u64), up: true };
            links.push(advert).unwrap();
        }
        Envelope::new(NodeId::new("a").unwrap(), Body::LinkState(LinkState { sequence: 9, links }))
    }

    #[test]
    fn link_state_round_trips_and_rejects_duplicates_and_overflow() {
        let mut buf = [0u8; 256];
        let env = link_state(&["b", "c"]);
        let n = env.encode(&mut buf).unwrap();
        assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
        let dup = link_state(&["b", "c", "b"]);
        let n = dup.encode(&mut buf).unwrap();
        assert_eq!(Envelope::decode(&buf[..n]), Err(WireError::Malformed));
        // A full advert, then one more link: the count varint (after version, sender "a",
        // body tag and sequence 9) goes from 64 to 65.
        let names: std::vec::Vec<std::string::String> = (0..MAX_ADVERT_LINKS).map(|i| std::format!("n{i}")).collect();
        let full = link_state(&names.iter().map(|s| s.as_str()).collect::<std::vec::Vec<_>>());
        let mut bytes = full.to_vec().unwrap();
        assert_eq!(Envelope::decode(&bytes), Ok(full));
        assert_eq!(bytes[5], 64);
        bytes[5] = 65;
        bytes.extend_from_slice(&[1, b'z', 0, 1]);
        assert_eq!(Envelope::decode(&bytes), Err(WireError::Malformed));
    }

    #[test]
    fn election_messages_round_trip_and_reject_term_zero() {
        let bodies = [
            Body::PreVote(VoteRequest { term: 3, progress: Some(9) }),
            Body::PreVoteResponse(VoteResponse { term: 3, granted: true }),
            Body::RequestVote(VoteRequest { term: 3, progress: None }),
            Body::VoteResponse(VoteResponse { term: 2, granted: false }),
            Body::LeaderHeartbeat(LeaderHeartbeat { term: 3 }),
            Body::HeartbeatResponse(HeartbeatResponse { term: 4 }),
        ];
        let mut buf = [0u8; 128];
        for body in bodies {
            let env = Envelope::new(NodeId::new("s1").unwrap(), body.clone());
            let n = env.encode(&mut buf).unwrap();
            assert_eq!(Envelope::decode(&buf[..n]), Ok(env));
            let zero = match body {
                Body::PreVote(r) => Body::PreVote(VoteRequest { term: 0, ..r }),
                Body::PreVoteResponse(r) => Body::PreVoteResponse(VoteResponse { term: 0, ..r }),
                Body::RequestVote(r) => Body::RequestVote(VoteRequest { term: 0, ..r }),
                Body::VoteResponse(r) => Body::VoteResponse(VoteResponse { term: 0, ..r }),
                Body::LeaderHeartbeat(_) => Body::LeaderHeartbeat(LeaderHeartbeat { term: 0 }),
                Body::HeartbeatResponse(_) => Body::HeartbeatResponse(HeartbeatResponse { term: 0 }),
                other => panic!("{other:?} has no term"),
            };
            let n = Envelope::new(NodeId::new("s1").unwrap(), zero).encode(&mut buf).unwrap();
            assert_eq!(Envelope::decode(&buf[..n]), Err(WireError::ZeroTerm));
        }
    }

    #[test]
    fn coordinator_messages_round_trip_and_reject_bad_fields() {
        let tt = |s: &str| TaskType::new(s).unwrap();
        let certificate = heapless::Vec::from_slice(&[1, 2, 3]).unwrap();
        let membership = Membership { joining: true, certificate };
        let entry = TaskEntry {
            task: TaskId::new("t-1").unwrap(),
            task_type: tt("train"),
            required: 1,
            backups: 1,
            checkpoint: Some(Checkpoint { sequence: 4, digest: [1; 32] }),
            proof: Some(CheckpointProof {
                primary: NodeId::new("w").unwrap(),
                signature: SignatureBytes { r: [2; 32], s: [3; 32] },
            }),
        };
        let mut entries = heapless::Vec::new();
        entries.push(entry.clone()).unwrap();
        let good = [
            Body::Membership(membership.clone()),
            Body::LeaderNotice(LeaderNotice { term: 5 }),
            Body::TaskTable(TaskTable { term: 5, entries: entries.clone() }),
        ];
        for body in good {
            let env = Envelope::new(NodeId::new("s1").unwrap(), body);
            assert_eq!(Envelope::decode(&env.to_vec().unwrap()), Ok(env.clone()));
            // A v2 envelope carries the body alone.
            let bytes = env.body.to_vec().unwrap();
            assert_eq!(Body::decode(&bytes), Ok(env.body));
            // A body alone is refused as an envelope is: a byte too many, a
            // kind past the known ones, nothing at all.
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(Body::decode(&longer), Err(WireError::TrailingBytes { count: 1 }));
            let mut unknown = bytes.clone();
            unknown[0] = Body::KINDS as u8;
            assert_eq!(Body::decode(&unknown), Err(WireError::UnknownBody));
            assert_eq!(Body::decode(&[]), Err(WireError::Empty));
        }
        let mut dup_entries = entries.clone();
        dup_entries.push(entry.clone()).unwrap();
        let mut zero_required = heapless::Vec::new();
        zero_required.push(TaskEntry { required: 0, ..entry.clone() }).unwrap();
        let mut unproved = heapless::Vec::new();
        unproved.push(TaskEntry { proof: None, ..entry.clone() }).unwrap();
        let mut proof_alone = heapless::Vec::new();
        proof_alone.push(TaskEntry { checkpoint: None, ..entry }).unwrap();
        let bad = [
            (Body::LeaderNotice(LeaderNotice { term: 0 }), WireError::ZeroTerm),
            (Body::TaskTable(TaskTable { term: 0, entries }), WireError::ZeroTerm),
            (Body::TaskTable(TaskTable { term: 1, entries: dup_entries }), WireError::Malformed),
            (Body::TaskTable(TaskTable { term: 1, entries: unproved }), WireError::Malformed),
            (Body::TaskTable(TaskTable { term: 1, entries: proof_alone }), WireError::Malformed),
            (Body::TaskTable(TaskTable { term: 1, entries: zero_required }), WireError::Malformed),
        ];
        for (body, err) in bad {
            let bytes = Envelope::new(NodeId::new("s1").unwrap(), body).to_vec().unwrap();
            assert_eq!(Envelope::decode(&bytes), Err(err));
        }
    }

    #[test]
    fn rejects_oversized_sender() {
        // version 1, then a 65-byte string length.
        let mut bytes = [b'a'; 80];
        bytes[0] = 1;
        bytes[1] = 65;
        assert_eq!(Envelope::decode(&bytes), Err(WireError::Malformed));
    }
}
