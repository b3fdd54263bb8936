//! The errors the crash-recovery manager's calls return.

use super::*;

/// Errors of the crash-recovery manager.
#[derive(Clone, Debug, PartialEq)]
pub enum CrashRecoveryError {
    /// The node is not tracked.
    UnknownNode(NodeId),
    /// The node table is full; the node was not added and nothing changed.
    TableFull(CapacityError<NodeId>),
    /// A metric is out of range; nothing changed.
    InvalidMetric(InvalidMetric),
    /// Recovery was requested for a node in a status that does not need or allow it.
    InvalidStatus {
        /// The node.
        node: NodeId,
        /// Its status.
        status: NodeStatus,
    },
    /// The node already used all its recovery attempts for this outage; it is `Failed`.
    AttemptsExhausted(NodeId),
}

impl fmt::Display for CrashRecoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrashRecoveryError::UnknownNode(n) => write!(f, "unknown node {n}"),
            CrashRecoveryError::TableFull(e) => write!(f, "cannot track node {}: {e}", e.rejected),
            CrashRecoveryError::InvalidMetric(e) => e.fmt(f),
            CrashRecoveryError::InvalidStatus { node, status } => {
                write!(f, "node {node} is {status}: recovery does not apply")
            }
            CrashRecoveryError::AttemptsExhausted(n) => {
                write!(f, "node {n} has no recovery attempts left")
            }
        }
    }
}

impl core::error::Error for CrashRecoveryError {}

impl crate::error::Classify for CrashRecoveryError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            CrashRecoveryError::UnknownNode(_) => ErrorKind::NotFound,
            CrashRecoveryError::TableFull(e) => e.kind(),
            CrashRecoveryError::InvalidMetric(e) => e.kind(),
            CrashRecoveryError::InvalidStatus { .. } => ErrorKind::InvalidState,
            CrashRecoveryError::AttemptsExhausted(_) => ErrorKind::AttemptsExhausted,
        }
    }
}
