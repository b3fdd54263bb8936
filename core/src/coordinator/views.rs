//! Read-only views of a coordinator: whether it runs and leads, the leader
//! it follows, the supervisors, admitted members and certificates, peers'
//! round-trip times, its status report and its components.

use super::{Election, HeldTask, OpsCounters, OpsStatus, Room, TaskRecord, Workers};
use crate::crash_recovery::CrashRecoveryManager;
use crate::history::MessageHistoryCompressor;
use crate::id::{NodeId, TaskId};
use crate::mesh::VPNMeshTopologyManager;
use crate::time::Instant;

crate::for_every_coordinator! { impl {
    /// Every component's summary at `now`.
    pub fn status(&self, now: Instant) -> OpsStatus {
        let now = self.clock.peek(now).max(self.clock.latest());
        let (worker_utilization, election, tasks) = match &self.room {
            Room::Supervisor(s) => {
                (Some(s.workers().utilization(now)), s.election().map(|e| e.status(now)), s.tasks().len())
            }
            Room::Worker(w) => (None, None, w.held().len()),
        };
        OpsStatus {
            node_id: self.id.clone(),
            role: self.role(),
            running: self.running,
            leader: self.leader().map(|(n, t)| (n.clone(), t)),
            crash_recovery: self.crash.network_health_summary(now),
            worker_utilization,
            compression: self.history.stats(),
            mesh: self.mesh.mesh.topology_report(),
            election,
            tasks,
            counters: self.out.counters,
        }
    }

    /// The coordinator's counters.
    pub const fn counters(&self) -> &OpsCounters {
        &self.out.counters
    }

    /// The crash-recovery manager (read-only).
    pub fn crash_recovery(&self) -> &CrashRecoveryManager<N, HW, Q> {
        &self.crash
    }

    /// The election manager of a started supervisor (read-only).
    pub fn election(&self) -> Option<&Election<V, Q>> {
        match &self.room {
            Room::Supervisor(s) => s.election(),
            Room::Worker(_) => None,
        }
    }

    /// The worker-replacement manager of a supervisor (read-only; only the leader's holds tasks).
    pub fn workers(&self) -> Option<&Workers<N, T, P, S, C, Q>> {
        match &self.room {
            Room::Supervisor(s) => Some(s.workers()),
            Room::Worker(_) => None,
        }
    }

    /// The mesh view (read-only).
    pub fn mesh(&self) -> &VPNMeshTopologyManager<N, L, Q> {
        &self.mesh.mesh
    }

    /// Whether `private` is the private half of this node's WireGuard key
    /// (the certificate's public key is its X25519 public key, as `wg pubkey`
    /// derives it). A host checks the key it renders a configuration with;
    /// the core keeps no private key.
    pub fn owns_wireguard_key(&self, private: &crate::mesh::WgKey) -> bool {
        crate::auth::wireguard_public_key(private.as_bytes()) == *self.gate.own().wg_key.as_bytes()
    }

    /// The message history (read-only).
    pub fn history(&self) -> &MessageHistoryCompressor<B, B> {
        &self.history
    }

    /// (Supervisor) the task table; empty on a worker.
    pub fn tasks(&self) -> impl Iterator<Item = (&TaskId, &TaskRecord)> + '_ {
        let table = match &self.room {
            Room::Supervisor(s) => Some(s.tasks().iter()),
            Room::Worker(_) => None,
        };
        table.into_iter().flatten()
    }

    /// (Worker) the roles this node holds; empty on a supervisor.
    pub fn held_tasks(&self) -> impl Iterator<Item = (&TaskId, &HeldTask)> + '_ {
        let held = match &self.room {
            Room::Worker(w) => Some(w.held().iter()),
            Room::Supervisor(_) => None,
        };
        held.into_iter().flatten()
    }

    /// Outgoing messages and events waiting to be polled.
    pub fn pending(&self) -> (usize, usize) {
        let election = match &self.room {
            Room::Supervisor(s) => s.election().map_or(0, |e| e.pending_transmits()),
            Room::Worker(_) => 0,
        };
        let (messages, events) = self.out.pending();
        (messages.saturating_add(election), events)
    }

    /// Whether it runs (between `start` and `stop`).
    pub const fn is_running(&self) -> bool {
        self.running
    }

    /// Whether it is the elected leader.
    pub fn is_leader(&self) -> bool {
        self.leading().is_some()
    }

    /// The leader it follows and its term.
    pub fn leader(&self) -> Option<(&NodeId, u64)> {
        let leader = match &self.room {
            Room::Supervisor(s) => s.leader(),
            Room::Worker(w) => w.leader(),
        };
        leader.map(|(n, t)| (n, *t))
    }

    /// The supervisors (the election's voters).
    pub fn supervisors(&self) -> &[NodeId] {
        &self.supervisors
    }

    /// The admitted members' certificates (verified), in admission order.
    pub fn members(&self) -> impl Iterator<Item = crate::auth::Certificate> + '_ {
        self.gate.peers()
    }

    /// This node's own certificate.
    pub fn certificate(&self) -> &crate::auth::Certificate {
        self.gate.own()
    }

    /// The smoothed round-trip time to `peer` and its variation (RFC 6298,
    /// from echoed heartbeat timestamps), once measured: the latency its
    /// tunnel routes with.
    pub fn peer_rtt(&self, peer: &NodeId) -> Option<(crate::time::Duration, crate::time::Duration)> {
        self.mesh.rtt(peer)
    }
} }
