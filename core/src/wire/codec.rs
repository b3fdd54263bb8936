//! Encoding, decoding and validation of [`Envelope`]s and [`Body`]s.
//!
//! Decoding is total and bounded: every byte sequence ends in a value whose
//! fields were validated (ranges, each task or neighbour once, terms above
//! zero) or a typed [`WireError`]; nothing here allocates except the
//! `to_vec` encoders. The types and their fields are in the parent module.

use super::*;
use serde::Deserialize;

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
fn map_postcard(e: postcard::Error) -> WireError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => WireError::Truncated,
        postcard::Error::DeserializeBadEnum => WireError::UnknownBody,
        postcard::Error::SerializeBufferFull => WireError::BufferTooSmall,
        _ => WireError::Malformed,
    }
}

impl Envelope {
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
            Body::Membership(_) | Body::Voucher(_) => Ok(()),
            Body::TaskTable(t) => validate_entries(t.term, &t.entries),
            Body::TableReport(r) => {
                if r.parts == 0 || r.part >= r.parts || r.parts > MAX_REPORT_PARTS {
                    return Err(WireError::Malformed);
                }
                validate_entries(r.term, &r.entries)
            }
        }
    }
}

/// A task table's or report's term (never 0) and entries (each task once,
/// needing a primary, a checkpoint exactly with its proof).
fn validate_entries(term: u64, entries: &[TaskEntry]) -> Result<(), WireError> {
    if term == 0 {
        return Err(WireError::ZeroTerm);
    }
    let mut rest = entries;
    while let Some((first, tail)) = rest.split_first() {
        let proved = first.checkpoint.is_some() == first.proof.is_some();
        if first.required == 0 || !proved || tail.iter().any(|e| e.task == first.task) {
            return Err(WireError::Malformed);
        }
        rest = tail;
    }
    Ok(())
}
