//! Bounded identifiers: node ids, task ids and task types.
//!
//! Each is non-empty UTF-8 of at most [`MAX_ID_LEN`] bytes, validated once at
//! construction (and at decoding), stored inline without allocation. Ordering is
//! byte-lexicographic, which is what every deterministic tie-break in the core uses.

use core::fmt;
use core::str::FromStr;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest identifier, in bytes of UTF-8.
pub const MAX_ID_LEN: usize = 64;

/// Why a string is not a valid identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdError {
    /// The string is empty.
    Empty,
    /// The string is longer than [`MAX_ID_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
}

crate::error::error_impls! {
    IdError, f;
    IdError::Empty => ErrorKind::InvalidId, f.write_str("identifier is empty");
    IdError::TooLong { len } => ErrorKind::InvalidId,
        write!(f, "identifier is {len} bytes long, the limit is {MAX_ID_LEN}");
}

macro_rules! bounded_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(heapless::String<MAX_ID_LEN>);

        impl $name {
            #[doc = concat!("A ", $what, " from `s`, or why `s` is not one.")]
            pub fn new(s: &str) -> Result<Self, IdError> {
                if s.is_empty() {
                    return Err(IdError::Empty);
                }
                heapless::String::try_from(s).map($name).map_err(|_| IdError::TooLong { len: s.len() })
            }

            #[doc = concat!("The ", $what, " as a string slice.")]
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            #[doc = concat!("The ", $what, " as bytes.")]
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $name::new(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = IdError;
            fn try_from(s: &str) -> Result<Self, IdError> {
                $name::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl core::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(IdVisitor($what)).and_then(|s| {
                    $name::new(s.as_str()).map_err(serde::de::Error::custom)
                })
            }
        }
    };
}

/// Deserializes a string of at most [`MAX_ID_LEN`] bytes without allocating;
/// longer input is rejected before anything is copied.
struct IdVisitor(&'static str);

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = heapless::String<MAX_ID_LEN>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} of 1 to {MAX_ID_LEN} bytes", self.0)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() {
            return Err(E::custom(IdError::Empty));
        }
        heapless::String::try_from(v).map_err(|_| E::custom(IdError::TooLong { len: v.len() }))
    }
}

bounded_id!(
    /// Identifies a node (supervisor or worker) across the cluster.
    NodeId,
    "node id"
);
bounded_id!(
    /// Identifies one ML-training task.
    TaskId,
    "task id"
);
bounded_id!(
    /// Names a kind of task; workers are pooled per task type.
    TaskType,
    "task type"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_length() {
        assert_eq!(NodeId::new(""), Err(IdError::Empty));
        let long = "x".repeat(65);
        assert_eq!(NodeId::new(&long), Err(IdError::TooLong { len: 65 }));
        let max = "é".repeat(32); // 64 bytes
        assert_eq!(NodeId::new(&max).map(|n| n.as_str().len()), Ok(64));
        assert!(TaskId::new("t-1").is_ok());
        assert_eq!("w1".parse::<TaskType>().map(|t| t.to_string()), Ok("w1".to_string()));
    }

    #[test]
    fn orders_bytewise() {
        let a = NodeId::new("a").unwrap();
        let b = NodeId::new("b").unwrap();
        let aa = NodeId::new("aa").unwrap();
        assert!(a < aa && aa < b);
    }

    #[test]
    fn decoding_rejects_oversized_and_empty() {
        let mut buf = [0u8; 128];
        let ok = postcard::to_slice(&"node-1", &mut buf).unwrap().to_vec();
        assert_eq!(postcard::from_bytes::<NodeId>(&ok).unwrap().as_str(), "node-1");
        let long = "y".repeat(65);
        let bytes = postcard::to_slice(long.as_str(), &mut buf).unwrap().to_vec();
        assert!(postcard::from_bytes::<NodeId>(&bytes).is_err());
        let empty = postcard::to_slice("", &mut buf).unwrap().to_vec();
        assert!(postcard::from_bytes::<NodeId>(&empty).is_err());
    }

    extern crate std;
    use std::string::ToString;
}
