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

crate::error::error_impls! {
    ElectionError, f;
    ElectionError::Config(e) => e.kind(), core::fmt::Display::fmt(e, f);
    ElectionError::TooManyVoters(e) => e.kind(), write!(f, "cannot add voter {}: {e}", e.rejected);
    ElectionError::NotAVoter(n) => ErrorKind::InvalidArgument, write!(f, "node {n} is not in its own voter set");
    ElectionError::UnknownVoter(n) => ErrorKind::NotFound, write!(f, "node {n} is not a voter");
    ElectionError::FromSelf => ErrorKind::InvalidArgument, f.write_str("message claims to come from this node");
    ElectionError::NotAnElectionMessage => ErrorKind::InvalidArgument, f.write_str("not a leader-election message");
    ElectionError::AlreadyLeader => ErrorKind::InvalidState, f.write_str("this node is already the leader");
}

impl From<ConfigError> for ElectionError {
    fn from(e: ConfigError) -> Self {
        ElectionError::Config(e)
    }
}
