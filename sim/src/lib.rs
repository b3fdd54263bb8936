//! The pouw-netops cluster simulator: real node state machines over the
//! harness's seeded, virtual-time network ([`pouw_netops_harness`]) with
//! injected faults, and a real-UDP mode.
#![warn(missing_docs)]

pub mod cluster;
pub mod report;
pub mod udp;

pub use pouw_netops_harness::net;
