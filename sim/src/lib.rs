//! The pouw-netops cluster simulator: real node state machines over a seeded,
//! virtual-time network with injected faults.
#![warn(missing_docs)]

pub mod cluster;
pub mod net;
pub mod node;
pub mod udp;
