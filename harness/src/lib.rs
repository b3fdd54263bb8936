//! One in-memory simulation harness for pouw-netops, after raft-rs's `harness`:
//! nodes (bare election managers or whole coordinators, see [`node`]) over a
//! seeded network with loss, jitter, duplication and one-way partitions
//! ([`net`]), in virtual time with per-node clock offsets, crash and restart
//! from persisted hard state, graceful stop and start ([`cluster`]), and one
//! invariant checker ([`check`]). Used by the cluster simulator
//! (`pouw-netops-sim`), the election simulation tests and the coordinator
//! cluster tests (`tests/coordinator.rs`).
//!
//! ```
//! use pouw_netops::election::ElectionConfig;
//! use pouw_netops::{Duration, Instant};
//! use pouw_netops_harness::election;
//!
//! let mut c = election::cluster(3, 7, |i| ElectionConfig { seed: i as u64, ..ElectionConfig::default() }).unwrap();
//! let found = c.run_until(Instant::from_secs(10), |c| election::stable_leader(c).is_some()).unwrap();
//! assert!(found);
//! let l = election::stable_leader(&c).unwrap();
//! c.crash(l);
//! c.run_for(Duration::from_secs(10)).unwrap();
//! assert!(c.leaders().iter().all(|&n| n != l));
//! ```
#![warn(missing_docs)]

pub mod attack;
pub mod byzantine;
pub mod check;
pub mod cluster;
pub mod election;
pub mod identity;
pub mod liar;
pub mod net;
pub mod node;
pub mod queue;
pub mod signed;

pub use attack::{AttackReport, Attacker};
pub use check::Violation;
pub use cluster::{Cluster, ClusterConfig, Factory, Reported, Spawn, Tamper};
pub use identity::ClusterAuthority;
pub use liar::Liar;
pub use net::{NetConfig, Network};
pub use node::{HarnessNode, OpsNode, Outgoing, Target, TaskWorkers};
