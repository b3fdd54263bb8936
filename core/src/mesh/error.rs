//! The errors the mesh manager's calls return.

use super::*;

/// Why a node could not join. Nothing was allocated or stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinError {
    /// The node is already in the mesh.
    AlreadyJoined(NodeId),
    /// The node table is full.
    TableFull(CapacityError<NodeId>),
    /// The requested address is outside the overlay CIDR.
    OutsideCidr(IpAddr),
    /// The requested address is a network, broadcast, anycast or reserved address.
    NotAssignable(IpAddr),
    /// The requested address belongs to another node.
    AddressTaken(IpAddr),
    /// Every assignable address is in use.
    AddressesExhausted,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::AlreadyJoined(n) => write!(f, "node {n} is already in the mesh"),
            JoinError::TableFull(e) => write!(f, "cannot add node {}: {e}", e.rejected),
            JoinError::OutsideCidr(a) => write!(f, "address {a} is outside the overlay network"),
            JoinError::NotAssignable(a) => write!(f, "address {a} is not assignable (network, broadcast or reserved)"),
            JoinError::AddressTaken(a) => write!(f, "address {a} is already assigned"),
            JoinError::AddressesExhausted => f.write_str("no free overlay address left"),
        }
    }
}

impl core::error::Error for JoinError {}

impl crate::error::Classify for JoinError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            JoinError::AlreadyJoined(_) | JoinError::AddressTaken(_) => ErrorKind::InvalidState,
            JoinError::TableFull(_) | JoinError::AddressesExhausted => ErrorKind::CapacityExceeded,
            JoinError::OutsideCidr(_) | JoinError::NotAssignable(_) => ErrorKind::InvalidArgument,
        }
    }
}

/// Why a tunnel or link operation failed. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelError {
    /// The node is not in the mesh.
    UnknownNode(NodeId),
    /// Both ends are the same node.
    SelfLink,
    /// No tunnel exists between the two nodes.
    UnknownTunnel,
    /// The link table (tunnels and known links) is full.
    TableFull {
        /// Its capacity.
        capacity: usize,
    },
}

impl fmt::Display for TunnelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TunnelError::UnknownNode(n) => write!(f, "node {n} is not in the mesh"),
            TunnelError::SelfLink => f.write_str("a link needs two different nodes"),
            TunnelError::UnknownTunnel => f.write_str("no tunnel between these nodes"),
            TunnelError::TableFull { capacity } => write!(f, "link table is full ({capacity} entries)"),
        }
    }
}

impl core::error::Error for TunnelError {}

impl crate::error::Classify for TunnelError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            TunnelError::UnknownNode(_) | TunnelError::UnknownTunnel => ErrorKind::NotFound,
            TunnelError::SelfLink => ErrorKind::InvalidArgument,
            TunnelError::TableFull { .. } => ErrorKind::CapacityExceeded,
        }
    }
}

/// Why a link-state advert was rejected. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkStateError {
    /// The sender is not in the mesh.
    UnknownSender(NodeId),
    /// Applying it would overflow the link table.
    TableFull {
        /// Its capacity.
        capacity: usize,
    },
}

impl fmt::Display for LinkStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkStateError::UnknownSender(n) => write!(f, "link-state advert from {n}, which is not in the mesh"),
            LinkStateError::TableFull { capacity } => write!(f, "link table is full ({capacity} entries)"),
        }
    }
}

impl core::error::Error for LinkStateError {}

impl crate::error::Classify for LinkStateError {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            LinkStateError::UnknownSender(_) => ErrorKind::NotFound,
            LinkStateError::TableFull { .. } => ErrorKind::CapacityExceeded,
        }
    }
}
