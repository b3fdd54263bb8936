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

crate::error::error_impls! {
    CrashRecoveryError, f;
    CrashRecoveryError::UnknownNode(n) => ErrorKind::NotFound, write!(f, "unknown node {n}");
    CrashRecoveryError::TableFull(e) => e.kind(), write!(f, "cannot track node {}: {e}", e.rejected);
    CrashRecoveryError::InvalidMetric(e) => e.kind(), e.fmt(f);
    CrashRecoveryError::InvalidStatus { node, status } => ErrorKind::InvalidState,
        write!(f, "node {node} is {status}: recovery does not apply");
    CrashRecoveryError::AttemptsExhausted(n) => ErrorKind::AttemptsExhausted,
        write!(f, "node {n} has no recovery attempts left");
}
