//! Why a coordinator call was refused. A refused call changes nothing.

use super::reject::RejectReason;
use crate::auth::CertError;
use crate::error::{CapacityError, ConfigError};
use crate::id::{NodeId, TaskId};
use core::fmt;

/// Why the coordinator could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpsError {
    /// A component's configuration is invalid.
    Config(ConfigError),
    /// More supervisors than the voter capacity.
    TooManySupervisors(CapacityError<NodeId>),
    /// A supervisor is not in the supervisor list.
    NotASupervisor(NodeId),
    /// This node's own certificate is not acceptable (another authority,
    /// another node or role, a key that is not this node's, or not valid now).
    Credential(CertError),
}

impl fmt::Display for OpsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpsError::Config(e) => e.fmt(f),
            OpsError::TooManySupervisors(e) => write!(f, "cannot add supervisor {}: {e}", e.rejected),
            OpsError::NotASupervisor(n) => write!(f, "supervisor {n} is not in the supervisor list"),
            OpsError::Credential(e) => write!(f, "this node's certificate: {e}"),
        }
    }
}

impl core::error::Error for OpsError {}

impl From<CertError> for OpsError {
    fn from(e: CertError) -> Self {
        OpsError::Credential(e)
    }
}

impl From<ConfigError> for OpsError {
    fn from(e: ConfigError) -> Self {
        OpsError::Config(e)
    }
}

/// Why `handle_message` refused bytes. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandleError {
    /// The node is not running (before `start` or after `stop`).
    NotRunning,
    /// The datagram was refused at the entrance (not authentic, replayed, not
    /// from a member, malformed, or claiming to come from this node); it is
    /// counted in [`OpsCounters::rejected`](super::OpsCounters::rejected).
    Rejected(RejectReason),
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleError::NotRunning => f.write_str("node is not running"),
            HandleError::Rejected(r) => write!(f, "message refused: {}", r.as_str()),
        }
    }
}

impl core::error::Error for HandleError {}

/// Why a task operation was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskError {
    /// Only supervisors keep a task table; only workers report checkpoints.
    WrongRole,
    /// The task table is full; the task is handed back.
    TableFull(CapacityError<TaskId>),
    /// `required` is zero.
    NoPrimaries,
    /// The task is already in the table.
    Duplicate(TaskId),
    /// This worker is not a primary of the task.
    NotAPrimary(TaskId),
    /// The checkpoint is older than the one already reported.
    Regression {
        /// The last reported sequence.
        last: u64,
    },
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::WrongRole => f.write_str("operation does not apply to this node's role"),
            TaskError::TableFull(e) => write!(f, "cannot add task {}: {e}", e.rejected),
            TaskError::NoPrimaries => f.write_str("a task needs at least one primary"),
            TaskError::Duplicate(t) => write!(f, "task {t} is already known"),
            TaskError::NotAPrimary(t) => write!(f, "this node is not a primary of task {t}"),
            TaskError::Regression { last } => write!(f, "checkpoint older than the last reported ({last})"),
        }
    }
}

impl core::error::Error for TaskError {}

impl crate::error::Classify for OpsError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            OpsError::Config(e) => e.kind(),
            OpsError::TooManySupervisors(e) => e.kind(),
            OpsError::NotASupervisor(_) => ErrorKind::InvalidArgument,
            OpsError::Credential(e) => e.kind(),
        }
    }
}

impl crate::error::Classify for HandleError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            HandleError::NotRunning => ErrorKind::InvalidState,
            HandleError::Rejected(r) => r.kind(),
        }
    }
}

impl crate::error::Classify for TaskError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            TaskError::WrongRole | TaskError::Duplicate(_) | TaskError::Regression { .. } => ErrorKind::InvalidState,
            TaskError::TableFull(e) => e.kind(),
            TaskError::NoPrimaries => ErrorKind::InvalidArgument,
            TaskError::NotAPrimary(_) => ErrorKind::NotFound,
        }
    }
}
