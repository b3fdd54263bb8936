//! The errors the election manager's calls return.

use super::*;

/// Errors of the election manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// More voters than the capacity `V`; nothing was built.
    TooManyVoters(CapacityError<NodeId>),
    /// This node is not in its own voter set.
    NotAVoter(NodeId),
    /// The message comes from a node outside the voter set; it was ignored.
    UnknownVoter(NodeId),
    /// The message claims to come from this node; it was ignored.
    FromSelf,
    /// The message is not a leader-election message; it was ignored.
    NotAnElectionMessage,
    /// The operation needs a node that is not the leader.
    AlreadyLeader,
}

impl fmt::Display for ElectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElectionError::Config(e) => e.fmt(f),
            ElectionError::TooManyVoters(e) => write!(f, "cannot add voter {}: {e}", e.rejected),
            ElectionError::NotAVoter(n) => write!(f, "node {n} is not in its own voter set"),
            ElectionError::UnknownVoter(n) => write!(f, "node {n} is not a voter"),
            ElectionError::FromSelf => f.write_str("message claims to come from this node"),
            ElectionError::NotAnElectionMessage => f.write_str("not a leader-election message"),
            ElectionError::AlreadyLeader => f.write_str("this node is already the leader"),
        }
    }
}

impl core::error::Error for ElectionError {}

impl crate::error::Classify for ElectionError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            ElectionError::Config(e) => e.kind(),
            ElectionError::TooManyVoters(e) => e.kind(),
            ElectionError::NotAVoter(_) | ElectionError::FromSelf | ElectionError::NotAnElectionMessage => {
                ErrorKind::InvalidArgument
            }
            ElectionError::UnknownVoter(_) => ErrorKind::NotFound,
            ElectionError::AlreadyLeader => ErrorKind::InvalidState,
        }
    }
}

impl From<ConfigError> for ElectionError {
    fn from(e: ConfigError) -> Self {
        ElectionError::Config(e)
    }
}
