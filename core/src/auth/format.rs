//! The signed-blob format shared by certificates and revocation lists:
//! `version (1 byte) || postcard(value) || Ed25519 signature (64 bytes)`, the
//! signature covering everything before it (with the domain prefix).
//!
//! Decoding is total and bounded: a length cap before anything is parsed, the
//! version byte, postcard's own bounds (collections are `heapless`), no
//! trailing bytes, and canonical encoding only (postcard would accept an
//! over-long varint; the encoded length must equal the canonical length), so
//! one value has exactly one byte string.

use super::keys::{Domain, IdentityKey, PublicIdentity, Signature};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Length of an Ed25519 signature on the wire.
pub const SIGNATURE_LEN: usize = 64;

/// Why bytes are not a well-formed signed blob (certificate, revocation list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// No bytes at all.
    Empty,
    /// Longer than the format's bound.
    TooLarge {
        /// The input's length.
        len: usize,
    },
    /// The version byte is not one this build reads.
    UnknownVersion(u8),
    /// The input ended in the middle of a field.
    Truncated,
    /// A field is malformed (bad varint or UTF-8, an invalid id, a collection over its bound).
    Malformed,
    /// Bytes remain between the value and the signature.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The value is encoded in a non-canonical way (an over-long varint).
    NonCanonical,
    /// The caller's buffer is too small for the encoding.
    BufferTooSmall,
}

crate::error::error_impls! {
    FormatError, f;
    FormatError::Empty => ErrorKind::Empty, f.write_str("empty input");
    FormatError::TooLarge { len } => ErrorKind::TooLarge, write!(f, "input of {len} bytes exceeds the format's bound");
    FormatError::UnknownVersion(v) => ErrorKind::UnsupportedVersion, write!(f, "unknown format version {v}");
    FormatError::Truncated => ErrorKind::Truncated, f.write_str("input is truncated");
    FormatError::Malformed => ErrorKind::Malformed, f.write_str("malformed field");
    FormatError::TrailingBytes { count } => ErrorKind::TrailingBytes, write!(f, "{count} trailing bytes before the signature");
    FormatError::NonCanonical => ErrorKind::Malformed, f.write_str("non-canonical encoding");
    FormatError::BufferTooSmall => ErrorKind::BufferTooSmall, f.write_str("buffer too small for the encoding");
}

fn map_postcard(e: postcard::Error) -> FormatError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => FormatError::Truncated,
        postcard::Error::SerializeBufferFull => FormatError::BufferTooSmall,
        _ => FormatError::Malformed,
    }
}

/// The signed part (`version || postcard(value)`, at most `N` bytes) of a blob
/// and its signature by `key` for `domain` in the cluster `cluster`.
pub(crate) fn encode_signed<T: Serialize, const N: usize>(
    version: u8,
    value: &T,
    key: &IdentityKey,
    domain: Domain,
    cluster: &PublicIdentity,
) -> Result<(heapless::Vec<u8, N>, Signature), FormatError> {
    let mut bytes = heapless::Vec::<u8, N>::new();
    bytes.resize(N, 0).map_err(|_| FormatError::BufferTooSmall)?;
    let (first, rest) = bytes.split_first_mut().ok_or(FormatError::BufferTooSmall)?;
    *first = version;
    let len = postcard::to_slice(value, rest).map_err(map_postcard)?.len();
    bytes.truncate(1 + len);
    let signature = key.sign(domain, cluster, &bytes);
    Ok((bytes, signature))
}

/// Splits and decodes a blob of at most `N + 64` bytes: the value, the signed
/// part and the signature. Nothing is verified here.
pub(crate) fn decode_signed<T: Serialize + DeserializeOwned, const N: usize>(
    version: u8,
    bytes: &[u8],
) -> Result<(T, heapless::Vec<u8, N>, Signature), FormatError> {
    if bytes.len() > N + SIGNATURE_LEN {
        return Err(FormatError::TooLarge { len: bytes.len() });
    }
    match bytes.first() {
        None => return Err(FormatError::Empty),
        Some(&v) if v != version => return Err(FormatError::UnknownVersion(v)),
        Some(_) => {}
    }
    let split = bytes.len().checked_sub(SIGNATURE_LEN).ok_or(FormatError::Truncated)?;
    let (signed, sig) = bytes.split_at(split);
    let sig: [u8; SIGNATURE_LEN] = sig.try_into().map_err(|_| FormatError::Truncated)?;
    let body = signed.get(1..).ok_or(FormatError::Truncated)?;
    let (value, rest): (T, &[u8]) = postcard::take_from_bytes(body).map_err(map_postcard)?;
    if !rest.is_empty() {
        return Err(FormatError::TrailingBytes { count: rest.len() });
    }
    let canonical = postcard::experimental::serialized_size(&value).map_err(map_postcard)?;
    if canonical != body.len() {
        return Err(FormatError::NonCanonical);
    }
    let signed = heapless::Vec::from_slice(signed).map_err(|_| FormatError::TooLarge { len: bytes.len() })?;
    Ok((value, signed, Signature(sig)))
}

/// `encoded_len` and `encode` for a type holding its signed bytes in
/// `self.signed` and the signature over them in `self.signature`.
macro_rules! signed_encoding {
    () => {
        /// The encoded length.
        pub fn encoded_len(&self) -> usize {
            self.signed.len() + $crate::auth::format::SIGNATURE_LEN
        }

        /// Encodes into `buf`, returning the number of bytes written.
        pub fn encode(&self, buf: &mut [u8]) -> Result<usize, $crate::auth::format::FormatError> {
            $crate::auth::format::write_signed(&self.signed, &self.signature, buf)
        }
    };
}
pub(crate) use signed_encoding;

/// Writes `signed || signature` into `buf`, returning the length.
pub(crate) fn write_signed(signed: &[u8], signature: &Signature, buf: &mut [u8]) -> Result<usize, FormatError> {
    let len = signed.len() + SIGNATURE_LEN;
    let out = buf.get_mut(..len).ok_or(FormatError::BufferTooSmall)?;
    let (a, b) = out.split_at_mut(signed.len());
    a.copy_from_slice(signed);
    b.copy_from_slice(&signature.0);
    Ok(len)
}
