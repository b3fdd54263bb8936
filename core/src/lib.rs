//! # pouw-netops
//!
//! The network-operations layer of a Proof-of-Useful-Work node (nodes that
//! train ML models as their mining work) as deterministic, sans-IO state
//! machines: `no_std`, fixed capacity, caller-supplied time.
//!
//! ## Design
//!
//! Every component is a plain state machine that owns its data and nothing
//! else. It never reads a clock, opens a socket, spawns a thread, draws
//! randomness or allocates behind the caller's back: the host hands it time,
//! bytes and seeds, and takes out bytes, events and deadlines. This is how
//! smoltcp and quinn-proto are built, and it buys three things a PoUW network
//! needs: the same inputs give the same outputs byte for byte (a simulation
//! replays exactly, a bug report is a seed), the same code runs in a Python
//! process, behind a C header and on a microcontroller, and every queue and
//! table has a capacity, so no input from the network can make a node grow.
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
//! | [`time`], [`id`], [`health`], [`rng`], [`error`], [`table`], [`storage`], [`hash`] | shared pieces |
//! | [`preset`] | ready-made capacities: `small` for microcontrollers, `large` for hosts |
//!
//! ## The sans-IO contract
//!
//! Every component follows the same rules; the module docs say only what is
//! particular to each.
//!
//! **Time.** [`Instant`] and [`Duration`] are the crate's own microsecond
//! counts on the host's monotonic clock, with any epoch. Every call that can
//! depend on time takes `now`. Time that goes backwards is clamped to the
//! latest instant seen ([`time::MonotonicClock`]), never an error or a panic;
//! arithmetic saturates at [`Instant::MAX`].
//!
//! **Time that jumps far ahead** is taken as real (a long pause: peers may be
//! judged crashed, and recover when heard again), and the node never goes
//! silent because of it. The rule is *re-anchor*: the coordinator's clock
//! ([`time::AnchoredClock`]) clamps `now` to [`time::AnchoredClock::INPUT_MAX`]
//! (and its own time to [`time::AnchoredClock::NODE_MAX`], so no deadline
//! saturates into [`Instant::MAX`], which means "nothing to
//! wait for"), and when the host's time then comes back (real time after one
//! far-future `now`, further back than [`time::AnchoredClock::REANCHOR_AFTER`])
//! the node keeps its own time and advances with the host's from there: its
//! periodic timers keep their cadence (a late timer re-arms one period after
//! `now`, never in a burst) and `poll_timeout` is in the host's time again.
//! Smaller steps back are clamped as above. The bindings convert out-of-range
//! times by saturating, never by wrapping.
//!
//! **Method kinds**, in the vocabulary of quinn-proto's `Connection`:
//!
//! | kind | names | what it does |
//! |---|---|---|
//! | constructors | `new`, `new_boxed`, `restore_boxed` | validate a config (a [`ConfigError`] names the field) and reserve every table once |
//! | inputs | `handle_*`, `step`, `heartbeat`, `record_*`, `add_*`, `submit_task`, … | one event from the host or the network, at `now`; follow-up work happens inside the call |
//! | timers | `tick(now)`, `detect_crashes(now)`, `monitor_tunnel_health(now)` | whatever came due by `now` |
//! | outputs | `poll_hard_state`, `poll_transmit`, `poll_event`, `poll_archived` | take one queued output, oldest first; `None` when drained |
//! | deadline | `poll_timeout()` | the earliest instant at which the timer call could do something without new input ([`Instant::MAX`]: nothing to wait for) |
//! | views | `status`, `stats`, accessors | read-only, never change state |
//!
//! **Drain order.** After any input or timer call, drain the outputs in this
//! order, each until it returns `None`:
//!
//! 1. `poll_hard_state`: state the host must persist durably **before** it
//!    sends anything (the election's term and vote). Messages that depend on
//!    it are held back until it has been taken.
//! 2. `poll_transmit`: bytes to send and where.
//! 3. `poll_event`: what happened, for the host's logs and logic.
//! 4. `poll_archived`: data leaving memory for the host to store.
//! 5. `poll_timeout`: when to call the timer method next. A host sleeps until
//!    then or until the next datagram, whichever comes first.
//!
//! A component without one of these outputs simply lacks the method.
//!
//! **Errors and capacity.** A refused call returns a typed error and changes
//! nothing; every error type reports its [`error::ErrorKind`] through `kind()`,
//! which the C result codes and the Python exception classes are derived from.
//! Every table and queue has a capacity fixed at construction
//! ([`preset`] names two sets). A full table is an error that hands the
//! rejected item back ([`CapacityError`]); a full output queue drops the new
//! item and counts it. Nothing is ever lost silently.
//!
//! **Determinism.** Randomness (election jitter) comes from a seed in the
//! config; iteration orders never depend on hashing. The same inputs and seed
//! give the same outputs, byte for byte.
//!
//! ## Features
//!
//! - `alloc` (default): tables are reserved once on the heap (so even the large
//!   presets are small values), message history can compress, and the
//!   [`coordinator`] exists. Without it, tables are inline and decompression,
//!   search and every other manager still work with no allocator at all.
//! - `std`: conversions to and from `std` types.
//!
//! The crate has no `unsafe` code (`#![forbid(unsafe_code)]`), and library code
//! may not panic: clippy denies `unwrap`, `expect`, `panic!`, `unreachable!`
//! and unchecked indexing outside tests.
#![no_std]
#![forbid(unsafe_code)]
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
pub mod hash;
pub mod health;
pub mod history;
pub mod id;
pub mod mesh;
pub mod phi;
pub mod preset;
pub mod rng;
pub mod storage;
pub mod table;
#[cfg(all(feature = "alloc", any(test, feature = "test-support")))]
#[doc(hidden)]
pub mod test_support;
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
pub use error::{CapacityError, Classify, ConfigError, ErrorKind, UnknownName};
pub use health::{HealthMetrics, HealthScore, HealthThresholds, HealthView, NoHealth, NodeStatus};
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
