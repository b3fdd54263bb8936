//! # pouw-netops
//!
//! The network-operations layer of a Proof-of-Useful-Work node as deterministic,
//! sans-IO state machines: `no_std`, fixed capacity, caller-supplied time.
//!
//! Inputs are `handle_*`/`heartbeat`-style calls stamped with the caller's
//! [`Instant`]; outputs are return values and polled queues. The core never reads
//! a clock, opens a socket or allocates behind the caller's back.
//!
//! | module | component |
//! |---|---|
//! | [`phi`] | Akka's phi-accrual failure detector |
//! | [`crash_recovery`] | [`CrashRecoveryManager`]: node health and the crash/recovery status machine |
//! | [`election`] | [`LeaderElectionManager`]: Raft leader election among supervisors (PreVote, CheckQuorum) |
//! | [`mesh`] | [`VPNMeshTopologyManager`]: overlay addresses, tunnel health, latency routing, WireGuard configs |
//! | [`workers`] | [`WorkerReplacementManager`]: worker pools, primary/backup assignment, failover from checkpoints |
//! | [`history`] | [`MessageHistoryCompressor`]: message history in zlib batches, search, archival |
//! | [`coordinator`] | [`NetworkOperationsManager`]: one node's coordinator driving all of the above (needs `alloc`) |
//! | [`wire`] | the versioned postcard envelope every node speaks |
//! | [`auth`] | identities, certificates, revocation, replay windows, authenticated (v2) envelopes |
//! | [`time`], [`id`], [`health`], [`rng`], [`error`], [`table`], [`storage`] | shared pieces |
//! | [`preset`] | ready-made capacities: `small` for microcontrollers, `large` for hosts |
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::unreachable)
)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod auth;
#[cfg(feature = "alloc")]
pub mod coordinator;
pub mod crash_recovery;
pub mod election;
pub mod error;
pub mod health;
pub mod history;
pub mod id;
pub mod mesh;
pub mod phi;
pub mod preset;
pub mod rng;
pub mod storage;
pub mod table;
#[cfg(feature = "panic-probe")]
#[doc(hidden)]
pub mod testing;
pub mod time;
pub mod wire;
pub mod workers;

pub use auth::{
    AuthKind, CertError, Certificate, IdentityKey, OpenError, PairwiseKey, PublicIdentity, ReplayWindow,
    RevocationList, Role as CertRole, Roster, SignedCertificate, SignedRevocationList,
};
#[cfg(feature = "alloc")]
pub use coordinator::{
    Destination, NetworkOperationsManager, NodeRole, OpsConfig, OpsEvent, OpsEventKind, OpsStatus, OpsTransmit,
};
pub use crash_recovery::{CrashRecoveryConfig, CrashRecoveryError, CrashRecoveryManager, RecoveryStrategy};
pub use election::Role as ElectionRole;
pub use election::{
    ElectionConfig, ElectionError, ElectionStats, ElectionStatus, HardState, LeaderElectionManager, Transmit,
    VoteRecord,
};
pub use error::{CapacityError, ConfigError};
pub use health::{HealthMetrics, HealthScore, HealthThresholds, HealthView, NodeStatus};
#[cfg(feature = "alloc")]
pub use history::{Batch, MessageHistoryCompressor, Record};
pub use history::{BatchError, BatchHeader, BatchView, HistoryConfig, HistoryStats, Query, RecordRef};
pub use id::{IdError, NodeId, TaskId, TaskType};
pub use mesh::{
    Cidr, Endpoint, JoinError, MeshConfig, MeshNode, TunnelError, TunnelProtocol, TunnelState, VPNMeshTopologyManager,
    WgKey,
};
pub use phi::{PhiAccrualDetector, PhiConfig};
pub use rng::Rng;
pub use time::{Duration, Instant};
pub use wire::{Body, Envelope, LinkState, WireError};
pub use workers::{
    AssignError, Assignment, Checkpoint, CheckpointError, PoolError, ReplaceError, Replacement, TaskRole,
    UtilizationStats, WorkerConfig, WorkerEvent, WorkerReplacementManager,
};
