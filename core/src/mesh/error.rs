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

crate::error::error_impls! {
    JoinError, f;
    JoinError::AlreadyJoined(n) => ErrorKind::InvalidState, write!(f, "node {n} is already in the mesh");
    JoinError::TableFull(e) => e.kind(), write!(f, "cannot add node {}: {e}", e.rejected);
    JoinError::OutsideCidr(a) => ErrorKind::InvalidArgument, write!(f, "address {a} is outside the overlay network");
    JoinError::NotAssignable(a) => ErrorKind::InvalidArgument,
        write!(f, "address {a} is not assignable (network, broadcast or reserved)");
    JoinError::AddressTaken(a) => ErrorKind::InvalidState, write!(f, "address {a} is already assigned");
    JoinError::AddressesExhausted => ErrorKind::CapacityExceeded, f.write_str("no free overlay address left");
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

crate::error::error_impls! {
    TunnelError, f;
    TunnelError::UnknownNode(n) => ErrorKind::NotFound, write!(f, "node {n} is not in the mesh");
    TunnelError::SelfLink => ErrorKind::InvalidArgument, f.write_str("a link needs two different nodes");
    TunnelError::UnknownTunnel => ErrorKind::NotFound, f.write_str("no tunnel between these nodes");
    TunnelError::TableFull { capacity } => ErrorKind::CapacityExceeded,
        write!(f, "link table is full ({capacity} entries)");
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

crate::error::error_impls! {
    LinkStateError, f;
    LinkStateError::UnknownSender(n) => ErrorKind::NotFound,
        write!(f, "link-state advert from {n}, which is not in the mesh");
    LinkStateError::TableFull { capacity } => ErrorKind::CapacityExceeded,
        write!(f, "link table is full ({capacity} entries)");
}
