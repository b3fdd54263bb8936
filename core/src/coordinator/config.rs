//! The coordinator's configuration and a node's role.

use crate::crash_recovery::CrashRecoveryConfig;
use crate::election::ElectionConfig;
use crate::error::ConfigError;
use crate::history::HistoryConfig;
use crate::mesh::Cidr;
use crate::phi::PhiConfig;
use crate::time::Duration;
use crate::workers::WorkerConfig;

#[cfg(doc)]
use crate::wire::Body;

/// What a node is in the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeRole {
    /// Runs the election and, when leader, assigns and replaces workers.
    Supervisor,
    /// Runs tasks it is given and reports checkpoints.
    Worker,
}

impl NodeRole {
    /// The lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            NodeRole::Supervisor => "supervisor",
            NodeRole::Worker => "worker",
        }
    }
}

/// Coordinator parameters; every component keeps its own config inside.
#[derive(Clone, Debug)]
pub struct OpsConfig {
    /// How often this node sends its health heartbeat (default 1 s).
    pub heartbeat_interval: Duration,
    /// How often the crash detector sweeps (default 250 ms): bounds the extra detection delay.
    pub sweep_interval: Duration,
    /// How often tunnel health is checked and routes refreshed (default 5 s).
    pub tunnel_check_interval: Duration,
    /// How often the leader repeats its [`Body::LeaderNotice`] (default 5 s).
    pub leader_notice_interval: Duration,
    /// How often the leader sends the next slice of its task table (default 1 s).
    pub task_table_interval: Duration,
    /// How often a node repeats its [`Body::Membership`] announcement (default 30 s).
    pub membership_interval: Duration,
    /// Seal the open history batch at least this often (default 60 s).
    pub history_flush_interval: Duration,
    /// (Worker) how long a role outlives the last message from the leader that
    /// gave it (default 6 s). Roles are leases: the leader's heartbeats (every
    /// `heartbeat_interval`), notices and assignments renew them, and a worker
    /// that hears nothing from that leader for this long stops the work
    /// ([`OpsEventKind::LeaseExpired`]). About the failure-detection time, so a
    /// worker cut off from the leader lets go of its roles near when the leader
    /// fails them over. Must be longer than `heartbeat_interval`.
    ///
    /// [`OpsEventKind::LeaseExpired`]: super::OpsEventKind::LeaseExpired
    pub lease_timeout: Duration,
    /// Health heartbeats between a follower supervisor and a worker go only
    /// every this many heartbeat intervals, both ways (default 1: every
    /// interval). The leader and the workers, and the supervisors among
    /// themselves, keep the full rate, so the leader's failure detection, the
    /// leases and the election keep their speed in a steady cluster; a follower's detector
    /// gives a worker (and a worker's detector a follower) this many times the
    /// acceptable pause, so as many lost heartbeats in a row are tolerated,
    /// and a follower notices a crashed worker (for its routes) that many
    /// times later. A node whose leader changed in its view sends every
    /// heartbeat for the next 5, and a node in doubt sends every one: a worker that
    /// follows no leader (before its first, or once it found its leader
    /// crashed), a supervisor while the election names no leader (a
    /// candidate, a leader that stepped down unreplaced), and any node to a
    /// peer whose tunnel latency has not settled yet. In a cluster of `s`
    /// supervisors and `w` workers, `2·s·w` heartbeats a second become about
    /// `2·w·(1 + (s−1)/k)`. At least 1; above 1 only with
    /// `crash.phi.first_heartbeat_estimate` equal to `heartbeat_interval`
    /// (the spaced detector's wait is reckoned from it). A follower elected
    /// leader keeps a spaced detector for a worker until that worker's next
    /// heartbeat: a worker already silent then is failed over up to `k`
    /// times later than at the full rate.
    pub follower_heartbeat_every: u8,
    /// Record health heartbeats in the message history too (default `true`).
    pub record_heartbeats: bool,
    /// Record received messages in the message history at all (default
    /// `true`; `false` in [`OpsConfig::small`]). Off, the history stays empty:
    /// no buffer, no batches, no compressor's window, no log to grow.
    pub record_history: bool,
    /// Overlay network of the mesh (default `10.0.0.0/16`).
    pub mesh_cidr: Cidr,
    /// Failure detection and recovery: the component's defaults with a 4 s
    /// acceptable heartbeat pause (Akka's cluster default is 3 s). With 1 s
    /// heartbeats, a node is judged down after about five silent seconds, i.e.
    /// five lost heartbeats in a row; at 5 % loss that is 0.05⁵ ≈ 3·10⁻⁷ per
    /// heartbeat, about 0.008 false suspicions per node-hour across 7 observing
    /// supervisors, where 3 s measured 0.108 (over the 0.1 goal).
    pub crash: CrashRecoveryConfig,
    /// Leader election (supervisors); its seed is replaced by the seed given to `new`.
    pub election: ElectionConfig,
    /// Worker replacement (supervisors).
    pub workers: WorkerConfig,
    /// Message history.
    pub history: HistoryConfig,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            heartbeat_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_millis(250),
            tunnel_check_interval: Duration::from_secs(5),
            leader_notice_interval: Duration::from_secs(5),
            task_table_interval: Duration::from_secs(1),
            membership_interval: Duration::from_secs(30),
            history_flush_interval: Duration::from_secs(60),
            lease_timeout: Duration::from_secs(6),
            follower_heartbeat_every: 1,
            record_heartbeats: true,
            record_history: true,
            mesh_cidr: Cidr::DEFAULT,
            crash: CrashRecoveryConfig {
                phi: PhiConfig { acceptable_heartbeat_pause: Duration::from_secs(4), ..PhiConfig::cluster() },
                ..CrashRecoveryConfig::default()
            },
            election: ElectionConfig::default(),
            workers: WorkerConfig::default(),
            history: HistoryConfig::default(),
        }
    }
}

impl OpsConfig {
    /// The defaults for a worker node on a microcontroller
    /// ([`crate::preset::small`]): message history off, so the node's heap
    /// stays within its budget (64 KiB steady, 96 KiB at peak; see
    /// `docs/embedded.md`). Compressing a batch at zlib level 1 to 10 takes a
    /// deflate window of about 300 KiB, and the log keeps 32 bytes per sealed
    /// batch for proofs; supervisors, on hosts, keep the cluster's history.
    pub fn small() -> Self {
        OpsConfig { record_history: false, ..OpsConfig::default() }
    }

    /// Checks what the components do not check themselves: every interval is
    /// above zero and the lease outlasts a heartbeat interval. (The election
    /// checks its own fault model: `N >= 3f + 1` under Byzantine faults, at
    /// `start`.) (A node's pools come
    /// from its certificate, which the authority issues with each pool once.)
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for d in [
            self.heartbeat_interval,
            self.sweep_interval,
            self.tunnel_check_interval,
            self.leader_notice_interval,
            self.task_table_interval,
            self.membership_interval,
            self.history_flush_interval,
        ] {
            if d == Duration::ZERO {
                return Err(ConfigError::new("intervals", "every interval above zero"));
            }
        }
        if self.lease_timeout <= self.heartbeat_interval {
            return Err(ConfigError::new("lease_timeout", "longer than heartbeat_interval"));
        }
        if self.follower_heartbeat_every == 0 {
            return Err(ConfigError::new("follower_heartbeat_every", "at least 1"));
        }
        // A spaced detector's wait is reckoned from the first-heartbeat
        // estimate as the full-rate interval: another interval would leave a
        // spaced peer too little (or too much) patience.
        if self.follower_heartbeat_every > 1 && self.crash.phi.first_heartbeat_estimate != self.heartbeat_interval {
            return Err(ConfigError::new(
                "follower_heartbeat_every",
                "above 1 only with crash.phi.first_heartbeat_estimate equal to heartbeat_interval",
            ));
        }
        Ok(())
    }
}

crate::error::names!(NodeRole, "node role", "supervisor, worker", [Supervisor, Worker]);
