//! `NetworkOperationsManager`: one node's network operations behind one sans-IO
//! `handle_message` / `tick` / `poll_*` loop, driving every component.
//!
//! The method kinds and the drain order are the crate's [sans-IO
//! contract](crate#the-sans-io-contract); this page says what a node does with them.
//!
//! # Roles
//!
//! | | supervisor | worker |
//! |---|---|---|
//! | crash recovery (phi accrual) | of every node it hears | of the supervisors |
//! | leader election | yes (voters: the supervisors) | follows [`Body::LeaderNotice`] |
//! | worker replacement | the elected leader only | holds the roles it was given |
//! | heartbeats with health metrics | to the whole cluster | to the supervisors |
//! | checkpoint reports | recorded | sent, from [`NetworkOperationsManager::report_checkpoint`] |
//! | message history, mesh membership | yes | yes |
//!
//! # Rooms
//!
//! What both roles do lives in this module: the clock, the crash detector, the
//! message history, the mesh view (`mesh_view.rs`), the outbox of messages,
//! events and counters (`outbox.rs`) and the timer table (`timers.rs`, the one
//! place `poll_timeout` is computed). What one role does lives in its room, and
//! a node holds exactly one: the supervisor room (`supervisor.rs`: election,
//! workers manager, leading; `supervisor/task_table.rs`: the task table and
//! its gossip) or the worker room
//! (`worker.rs`: held roles, the leader it follows). A worker cannot hold a
//! task table, nor a supervisor a role.
//!
//! # Event coordination
//!
//! All of it happens inside the `handle_message` or `tick` call that observes the
//! cause: a crash detected by the sweep starts a recovery at once, the leader
//! moves the node's tasks to backups (with the checkpoint they resume from, sent
//! as [`Body::TaskAssignment`]) and tells the failed node to let go, and the node
//! leaves the local mesh view (routes are recomputed, none goes through it). When
//! its heartbeats come back it recovers (the crash-recovery status machine),
//! rejoins the mesh and the leader lifts its quarantine and refills short tasks.
//! Only the elected leader assigns; a supervisor that stops leading forgets its
//! assignments, and a new leader assigns every task of its table again, each
//! from its last checkpoint. The task table travels from the leader to the other
//! supervisors in [`Body::TaskTable`] slices, workers send signed checkpoint
//! reports to the leader, and the leader passes each new checkpoint on at once
//! (with its primary's signature, which every supervisor verifies), so a new
//! leader knows every task and where it stands.
//!
//! # Authentication
//!
//! Every datagram passes the entrance (`gate.rs`) before anything else looks at
//! it: it must be a v2 envelope from an admitted member, MAC'd for this node
//! under their pairwise key or signed under the member's certificate key, and
//! new to the member's replay window; or a signed join carrying a certificate
//! that verifies against the cluster authority, the UNIX time, the revocation
//! list, the sender id and the role the configuration expects. Anything else
//! changes nothing and is counted by [`RejectReason`]. What a member may claim
//! about itself (slots, pools, WireGuard key, endpoints) comes from its
//! certificate. Then its authority: what the sender's role and term allow
//! (`NetworkOperationsManager::authorize`), refused as
//! [`RejectReason::NotAuthorized`] or [`RejectReason::NotLeader`]. The
//! crate's `auth` module and `docs/architecture.md` describe the trust model.
//!
//! # Drain order
//!
//! After every `start`, `handle_message`, `tick`, `submit_task`,
//! `report_checkpoint` or `stop`, drain in this order:
//!
//! 1. [`NetworkOperationsManager::poll_hard_state`] (supervisors): persist the
//!    election's `(term, voted_for)` **before** sending anything; election
//!    messages are held back until it is drained.
//! 2. [`NetworkOperationsManager::poll_transmit`]: election messages first, then
//!    the coordinator's own. Each transmit is for one node: the coordinator
//!    expands a message for the supervisors or the cluster into one transmit
//!    per recipient and seals each (see *Authentication* below).
//! 3. [`NetworkOperationsManager::poll_event`]: what happened, oldest first.
//! 4. [`NetworkOperationsManager::poll_archived`]: history batches leaving memory.
//! 5. [`NetworkOperationsManager::poll_timeout`]: when to call `tick` next.
//!
//! Every queue is bounded: a full outbox or event queue drops the new item and
//! counts it in [`OpsCounters`]; nothing grows without bound.
//!
//! The coordinator needs the `alloc` feature (message history compresses with
//! a heap, and the components are boxed so a coordinator stays small to move).

/// `impl` blocks for every [`NetworkOperationsManager`], whatever its
/// capacities: the ten const parameters (`N, HW, V, T, P, S, C, L, Q, B`, in
/// scope in the body) are spelled here once instead of at every block. The
/// coordinator's methods are split by role over several files (`inbound`,
/// `transmit`, `views`), each its own block; crates that implement their
/// traits for every coordinator (the simulation harness) use it too.
///
/// `for_every_coordinator! { impl { … } }` writes inherent methods (in this
/// crate only); `for_every_coordinator! { impl Trait { … } }` implements
/// `Trait`. The body is written as in any `impl` block (rustfmt leaves a
/// macro's body as written, so it is kept formatted by hand).
#[macro_export]
macro_rules! for_every_coordinator {
    (impl { $($body:tt)* }) => { $crate::for_every_coordinator!(@ [] { $($body)* }); };
    (impl $trait:path { $($body:tt)* }) => { $crate::for_every_coordinator!(@ [$trait for] { $($body)* }); };
    (@ [$($trait_for:tt)*] { $($body:tt)* }) => {
        impl<const N: usize, const HW: usize, const V: usize, const T: usize, const P: usize, const S: usize, const C: usize, const L: usize, const Q: usize, const B: usize>
            $($trait_for)* $crate::NetworkOperationsManager<N, HW, V, T, P, S, C, L, Q, B> { $($body)* }
    };
}

mod config;
mod error;
mod gate;
mod inbound;
mod members;
mod mesh_view;
mod outbox;
mod output;
mod reject;
mod rtt;
mod supervisor;
mod timers;
mod transmit;
mod views;
mod vouchers;
mod worker;

#[cfg(test)]
mod attacks;
#[cfg(test)]
mod byzantine;
#[cfg(test)]
mod tests;

pub use config::{NodeRole, OpsConfig};
pub use error::{HandleError, OpsError, TaskError};
pub use gate::Credentials;
pub use output::{Destination, OpsCounters, OpsEvent, OpsEventKind, OpsStatus, OpsTransmit};
pub use reject::{RejectCounts, RejectReason};
pub use supervisor::{Election, TaskRecord, Workers};
pub use worker::HeldTask;

use crate::crash_recovery::{CrashRecoveryManager, RecoveryEventKind, RecoveryStrategy};
use crate::election::HardState;
use crate::error::CapacityError;
use crate::health::{HealthMetrics, InvalidMetric};
use crate::history::{Batch, MessageHistoryCompressor, RecordRef};
use crate::id::{NodeId, TaskId, TaskType};
use crate::mesh::{HandshakeReport, MeshConfig, VPNMeshTopologyManager};
use crate::time::{AnchoredClock, Instant};
use crate::wire::{
    Body, CheckpointReport, EndpointRecord, Envelope, Heartbeat, LeaderNotice, Membership, SignedLinkState,
    TaskAssignment, TaskRelease,
};
use crate::workers::{Checkpoint, WorkerReplacementManager};
use alloc::boxed::Box;
use alloc::vec::Vec;
use gate::{Gate, Message, Opened, Sealing};
use mesh_view::MeshView;
use outbox::{Bump, Out, Outbox};
use supervisor::SupervisorRoom;
use timers::{Timer, TimerTable};
use worker::WorkerRoom;

/// A node's role state: exactly one room.
enum Room<
    const N: usize,
    const V: usize,
    const T: usize,
    const P: usize,
    const S: usize,
    const C: usize,
    const Q: usize,
> {
    Supervisor(SupervisorRoom<N, V, T, P, S, C, Q>),
    Worker(WorkerRoom<T>),
}

impl<const N: usize, const V: usize, const T: usize, const P: usize, const S: usize, const C: usize, const Q: usize>
    Room<N, V, T, P, S, C, Q>
{
    /// This node's side of the heartbeat spacing rule ([`heartbeat_spacing`]).
    fn spacing_view(&self) -> SpacingView<'_> {
        match self {
            Room::Supervisor(s) if s.leading().is_some() => SpacingView::Leading,
            // Following a leader the election names in its current term
            // (not a candidate, nor a leader that stepped down unreplaced,
            // whose workers may still follow it).
            Room::Supervisor(s) => SpacingView::Following(s.election().and_then(|e| e.leader())),
            Room::Worker(w) => SpacingView::Worker(w.leader().map(|(l, _)| l)),
        }
    }
}

/// One message on its way to its recipients: sealed for each in turn (a
/// signed one once for all).
struct Fanout {
    /// The encoded body.
    body: Vec<u8>,
    /// MAC'd or signed, per recipient.
    how: Sealing,
    recipients: Vec<NodeId>,
    next: usize,
    /// The signed envelope, once made.
    signed: Option<Vec<u8>>,
    /// A heartbeat: MAC'd for each recipient in turn, it echoes the
    /// recipient's last heartbeat (signed ones go without).
    heartbeat: Option<Box<Heartbeat>>,
}

/// One node's coordinator.
///
/// Capacities: `N` peers (crash tracking, mesh nodes and workers; a power of
/// two), `HW` heartbeat intervals per peer, `V` supervisors, `T` tasks (a power
/// of two), `P` worker pools (task types), `S` workers per task, `C` slots per
/// worker, `L` mesh links (a power of two), `Q` entries in every queue (outbox,
/// events, component queues) and `B` history batches in memory and in the
/// archive outbox. [`crate::preset`] names ready-made sets.
pub struct NetworkOperationsManager<
    const N: usize,
    const HW: usize,
    const V: usize,
    const T: usize,
    const P: usize,
    const S: usize,
    const C: usize,
    const L: usize,
    const Q: usize,
    const B: usize,
> {
    id: NodeId,
    /// The configuration; `election.seed` is the seed given to `new`.
    config: OpsConfig,
    /// The election's voters, at most `V`.
    supervisors: Vec<NodeId>,
    clock: AnchoredClock,
    running: bool,
    /// The host reports WireGuard's handshake times: tunnel health follows
    /// them, not heartbeats (`mesh_view.rs`, *Control plane and data plane*).
    host_handshakes: bool,
    /// A heartbeat from a node that floods adverts to this one arrived since
    /// the last tunnel check: adverts age at this check.
    flood_heard: bool,
    /// The hard state the election starts from (restored, then the last drained).
    hard_state: HardState,
    crash: Box<CrashRecoveryManager<N, HW, Q>>,
    /// The next crash-recovery event to turn into coordinator work.
    crash_seq: u64,
    mesh: MeshView<N, L, Q>,
    history: Box<MessageHistoryCompressor<B, B>>,
    /// Archived batches already announced in an event.
    archived_seen: u64,
    out: Outbox<Q>,
    /// The entrance: credentials, admitted peers, sealing.
    gate: Box<Gate<N>>,
    /// The message being sent to its recipients one by one.
    fanout: Option<Fanout>,
    timers: TimerTable,
    heartbeat_seq: u64,
    /// `heartbeat_seq` after the last `start`: heartbeats since count from it.
    started_seq: u64,
    metrics: HealthMetrics,
    room: Room<N, V, T, P, S, C, Q>,
    /// This node's adverts and endpoint records so far (the low half of their sequence numbers).
    records_signed: u32,
    /// This node's last signed endpoint record (announced after each join).
    own_endpoint: Option<Box<EndpointRecord>>,
    /// Who sent the advert being flooded on (it does not go back there).
    flood_except: Option<NodeId>,
    /// The leader in this node's view when its heartbeats were last spaced
    /// ([`OpsConfig::follower_heartbeat_every`]): this node while it leads.
    spacing_leader: Option<NodeId>,
    /// The first heartbeat sequence that may be spaced: [`SPACING_GRACE`]
    /// after the leader last changed in this node's view.
    spacing_from: u64,
}

/// Heartbeats sent at the full rate after the leader changed in a node's
/// view, before spacing resumes: time for its peers to see the change too
/// (a new leader's heartbeats name its term every interval).
const SPACING_GRACE: u64 = 5;

crate::for_every_coordinator! { impl {
    /// A stopped coordinator for `node_id` in `role`, among `supervisors` (the
    /// election's voters; a supervisor must be one of them), the election jitter
    /// seeded with `seed`, speaking with `credentials` (its certificate must
    /// name `node_id` and `role`; its validity is checked at `start`). Slots,
    /// pools, WireGuard key and endpoints are the certificate's. Every
    /// component is built on the heap.
    pub fn new(
        node_id: NodeId,
        role: NodeRole,
        supervisors: &[NodeId],
        config: OpsConfig,
        seed: u64,
        credentials: Credentials,
    ) -> Result<Self, OpsError> {
        let mut list: Vec<NodeId> = Vec::new();
        for s in supervisors {
            if list.contains(s) {
                continue;
            }
            if list.len() >= V {
                return Err(OpsError::TooManySupervisors(CapacityError::new(s.clone(), V)));
            }
            list.push(s.clone());
        }
        if role == NodeRole::Supervisor && !list.contains(&node_id) {
            return Err(OpsError::NotASupervisor(node_id));
        }
        config.validate()?;
        // N >= 3f + 1 under Byzantine faults: refused here, not at `start`.
        config.election.fault_model.validate(list.len())?;
        let mut config = config;
        config.election.seed = seed;
        let gate = Box::new(Gate::new(&node_id, role, credentials)?);
        let mut mesh_config = MeshConfig::new(node_id.clone());
        mesh_config.cidr = config.mesh_cidr;
        let crash = CrashRecoveryManager::new_boxed(config.crash)?;
        let room = match role {
            NodeRole::Supervisor => {
                Room::Supervisor(SupervisorRoom::new(WorkerReplacementManager::new_boxed(config.workers)?))
            }
            NodeRole::Worker => Room::Worker(WorkerRoom::new()),
        };
        let endpoint = gate.own().endpoints.first().cloned().unwrap_or(mesh_view::PLACEHOLDER_ENDPOINT);
        let mesh = MeshView::new(
            node_id.clone(),
            endpoint,
            config.tunnel_check_interval,
            VPNMeshTopologyManager::new_boxed(mesh_config)?,
        );
        let history = MessageHistoryCompressor::new_boxed(config.history)?;
        Ok(NetworkOperationsManager {
            out: Outbox::new(node_id.clone()),
            id: node_id,
            config,
            supervisors: list,
            clock: AnchoredClock::new(),
            running: false,
            host_handshakes: false,
            flood_heard: false,
            hard_state: HardState::default(),
            crash,
            crash_seq: 0,
            mesh,
            history,
            archived_seen: 0,
            gate,
            fanout: None,
            timers: TimerTable::new(),
            heartbeat_seq: 0,
            started_seq: 0,
            metrics: HealthMetrics::default(),
            room,
            records_signed: 0,
            own_endpoint: None,
            flood_except: None,
            spacing_leader: None,
            spacing_from: 0,
        })
    }

    /// [`NetworkOperationsManager::new`] in a box, for hosts that keep many nodes.
    pub fn new_boxed(
        node_id: NodeId,
        role: NodeRole,
        supervisors: &[NodeId],
        config: OpsConfig,
        seed: u64,
        credentials: Credentials,
    ) -> Result<Box<Self>, OpsError> {
        Self::new(node_id, role, supervisors, config, seed, credentials).map(Box::new)
    }

    /// Restores the election's persisted `(term, voted_for)` after a restart, so
    /// the node never votes twice in a term. Applies at the next `start`.
    pub fn restore_hard_state(&mut self, hard_state: HardState) {
        self.hard_state = hard_state;
    }

    /// This node.
    pub const fn id(&self) -> &NodeId {
        &self.id
    }

    /// Its role.
    pub const fn role(&self) -> NodeRole {
        match self.room {
            Room::Supervisor(_) => NodeRole::Supervisor,
            Room::Worker(_) => NodeRole::Worker,
        }
    }

    /// Takes a newer revocation list from the cluster authority (`bytes`, as
    /// [`crate::auth::SignedRevocationList`] encodes it): members it revokes
    /// leave the roster at once and nothing they send is accepted any more.
    /// Returns how many left. An older list, or one not signed by the
    /// authority, changes nothing.
    pub fn apply_revocations(&mut self, bytes: &[u8]) -> Result<usize, crate::auth::RevocationError> {
        let list = crate::auth::SignedRevocationList::decode(bytes)?;
        self.gate.update_revocations(&list)
    }

    /// This node moved to tunnel `endpoint` (`host:port`; it roamed): it
    /// signs a record of it with a sequence number newer than any before
    /// (across restarts: the boot epoch is its high half), its own mesh node
    /// takes it, and peers take it from the record (sent now, and again with
    /// each periodic announcement). Any endpoint may be announced: the record
    /// is signed by this node's identity key, and WireGuard authenticates the
    /// tunnel whatever address its packets come from.
    pub fn set_endpoint(&mut self, endpoint: &str) -> Result<(), crate::mesh::EndpointError> {
        let parsed = crate::mesh::Endpoint::parse(endpoint)?;
        let sequence = self.gate.record_sequence(self.records_signed.saturating_add(1));
        let record = self.gate.sign_endpoint(sequence, endpoint).ok_or(crate::mesh::EndpointError::BadHost)?;
        self.records_signed = self.records_signed.saturating_add(1);
        self.own_endpoint = Some(Box::new(record));
        self.mesh.set_own_endpoint(parsed);
        if self.running {
            self.out.send(Out::Endpoint);
        }
        Ok(())
    }

    /// Sets the health figures sent in this node's heartbeats (invalid ones are refused).
    pub fn set_metrics(&mut self, metrics: HealthMetrics) -> Result<(), InvalidMetric> {
        metrics.validate()?;
        self.metrics = metrics;
        Ok(())
    }

    /// Starts (or restarts after `stop`) at `now`: joins its own mesh, announces
    /// itself, sends a first heartbeat and, on a supervisor, starts the election.
    pub fn start(&mut self, now: Instant) -> Result<(), OpsError> {
        let now = self.clock.observe(now);
        if self.running {
            return Ok(());
        }
        self.gate.check_own(now)?;
        if let Room::Supervisor(s) = &mut self.room {
            let gate = &self.gate;
            let supervisors = &self.supervisors;
            let signing = || (gate.identity_copy(), *gate.authority(), gate.voter_keys(supervisors));
            let seed = self.config.election.seed;
            s.start(now, &self.config, seed, &self.id, supervisors, self.hard_state.clone(), signing)?;
        }
        self.running = true;
        let key = *self.gate.own().wg_key.as_bytes();
        self.mesh.join_self(now, key, &mut self.out);
        self.out.send(Out::Membership { joining: true });
        if self.own_endpoint.is_some() {
            self.out.send(Out::Endpoint);
        }
        self.out.send(Out::Heartbeat);
        self.heartbeat_seq = self.heartbeat_seq.saturating_add(1);
        self.started_seq = self.heartbeat_seq;
        for timer in [Timer::Heartbeat, Timer::Sweep, Timer::TunnelCheck, Timer::Membership, Timer::HistoryFlush] {
            self.timers.arm(timer, now, &self.config);
        }
        self.coordinate(now);
        Ok(())
    }

    /// Stops gracefully at `now`: a leader steps down, peers are told the node
    /// leaves, a worker lets go of its roles, the open history batch is sealed,
    /// and the node leaves its mesh.
    pub fn stop(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if !self.running {
            return;
        }
        if let Room::Supervisor(s) = &mut self.room {
            s.stop(now);
        }
        self.coordinate(now);
        self.out.send(Out::Membership { joining: false });
        if let Room::Worker(w) = &mut self.room {
            w.release_all(now, &mut self.out);
        }
        self.flush_history(now);
        self.mesh.leave_self(now, &mut self.out);
        self.running = false;
        self.timers.disarm_all();
    }

    /// Runs every timer due at `now`: heartbeat, crash sweep (with failover),
    /// election, leader notices and task table, tunnel health, history flush.
    pub fn tick(&mut self, now: Instant) {
        let now = self.clock.observe(now);
        if !self.running {
            return;
        }
        // Certificates that are no longer valid leave the roster.
        self.gate.tick(now);
        if self.timers.expire(Timer::Heartbeat, now, &self.config) {
            self.out.send(Out::Heartbeat);
            self.heartbeat_seq = self.heartbeat_seq.saturating_add(1);
            // A join lost on the way leaves a supervisor unable to
            // authenticate this node until the next periodic announcement
            // (and a checkpoint signed by this node unverifiable there). Until
            // a supervisor has shown it holds this node's certificate (a MAC'd
            // message from it verified in its current boot), the join is
            // repeated to it at the 1st, 2nd, 4th, 8th, … heartbeat after
            // `start`: a few signatures at start, ever sparser after.
            if self.heartbeat_seq.saturating_sub(self.started_seq).is_power_of_two() {
                for s in self.supervisors.iter().filter(|s| **s != self.id && !self.gate.proven_by(s)) {
                    self.out.send(Out::MembershipTo { to: s.clone() });
                }
            }
        }
        if let Room::Supervisor(s) = &mut self.room {
            s.tick_election(now);
        }
        self.coordinate(now);
        if self.timers.expire(Timer::Sweep, now, &self.config) {
            let _ = self.crash.detect_crashes(now).count();
            self.coordinate(now);
            if let Room::Supervisor(s) = &mut self.room {
                s.after_sweep(now, &*self.crash, &mut self.out);
            }
        }
        if let Room::Supervisor(s) = &mut self.room {
            s.on_leader_timers(now, &mut self.timers, &self.config, &mut self.out);
        }
        if self.timers.expire(Timer::TunnelCheck, now, &self.config) {
            self.mesh.check(now, &mut self.out);
            let every = self.config.tunnel_check_interval;
            let heard = core::mem::replace(&mut self.flood_heard, false);
            let max_age = every.saturating_mul(mesh_view::ADVERT_MAX_AGE);
            self.mesh.age_adverts(now, every, max_age, heard, self.host_handshakes);
            let sequence = self.gate.record_sequence(self.records_signed.saturating_add(1));
            if self.mesh.advertise(now, every.saturating_mul(mesh_view::ADVERT_REFRESH), sequence) {
                self.records_signed = self.records_signed.saturating_add(1);
                self.out.send(Out::Flood { origin: self.id.clone(), except: None });
            }
        }
        if self.timers.expire(Timer::Membership, now, &self.config) {
            self.out.send(Out::Reannounce);
            if self.own_endpoint.is_some() {
                self.out.send(Out::Endpoint);
            }
        }
        if self.timers.expire(Timer::HistoryFlush, now, &self.config) {
            self.flush_history(now);
        }
        if let Room::Worker(w) = &mut self.room {
            w.expire_leases(now, &mut self.out);
        }
        self.coordinate(now);
    }

    /// (Supervisor) adds `task` to the task table; the leader assigns it at once
    /// if enough workers are available, else at a later sweep.
    pub fn submit_task(
        &mut self,
        now: Instant,
        task: TaskId,
        task_type: TaskType,
        required: u16,
        backups: u16,
    ) -> Result<(), TaskError> {
        let mut clock = self.clock;
        let now = clock.observe(now);
        let Room::Supervisor(s) = &mut self.room else { return Err(TaskError::WrongRole) };
        let record = TaskRecord { task_type, required, backups, checkpoint: None, proof: None, verified: false };
        s.submit(now, task, record, &*self.crash, &mut self.out)?;
        self.clock = clock;
        self.coordinate(now);
        Ok(())
    }

    /// (Worker) reports progress on a task this node is primary of: signed by
    /// this node, it goes to the leader it knows (to every supervisor while
    /// it knows none).
    pub fn report_checkpoint(&mut self, now: Instant, task: &TaskId, checkpoint: Checkpoint) -> Result<(), TaskError> {
        let Room::Worker(w) = &mut self.room else { return Err(TaskError::WrongRole) };
        w.report_checkpoint(task, checkpoint, &mut self.out)?;
        let _ = self.clock.observe(now);
        Ok(())
    }

    /// What `wg show <interface> latest-handshakes` printed on this node's
    /// host at `now`, `unix_now` being the host's UNIX time in seconds (see
    /// [`VPNMeshTopologyManager::record_latest_handshakes`]). From the first
    /// report on, tunnel health follows the reported handshakes and no longer
    /// heartbeats, and the control plane's verdicts (a peer's crash detected)
    /// leave a tunnel the handshakes keep up, and its routes, alone
    /// (`docs/architecture.md`, *Control plane and data plane*). Any text is
    /// accepted; what it held is in the report.
    pub fn record_latest_handshakes(&mut self, now: Instant, unix_now: u64, text: &str) -> HandshakeReport {
        let now = self.clock.observe(now);
        if !self.running {
            return HandshakeReport::default();
        }
        self.host_handshakes = true;
        let report = self.mesh.record_latest_handshakes(now, unix_now, text, &mut self.out);
        self.coordinate(now);
        report
    }

    // ----- internals -----

    fn leading(&self) -> Option<u64> {
        match &self.room {
            Room::Supervisor(s) => s.leading(),
            Room::Worker(_) => None,
        }
    }

    /// Where this node's own broadcasts go: a supervisor talks to the cluster,
    /// a worker only to the supervisors.
    fn broadcast(&self) -> Destination {
        match self.room {
            Room::Supervisor(_) => Destination::Cluster,
            Room::Worker(_) => Destination::Supervisors,
        }
    }

    /// `peer` crashed (`crashed`: the crash detector's verdict) or left: out
    /// of the mesh view (a crashed peer stays while the data plane vouches
    /// for its tunnel), and no longer the leader a worker follows.
    fn forget_peer(&mut self, now: Instant, peer: &NodeId, crashed: bool) {
        self.mesh.forget(now, peer, crashed && self.host_handshakes);
        if let Room::Worker(w) = &mut self.room {
            w.forget(peer);
        }
    }

    fn record(&mut self, now: Instant, sender: &str, message_type: &str, bytes: &[u8]) {
        let record = RecordRef { timestamp: now, sender, message_type, payload: bytes };
        match self.history.add_message(now, record) {
            Ok(Some(id)) => self.out.emit_own(now, OpsEventKind::BatchCompressed { id }),
            Ok(None) => {}
            Err(_) => self.out.counters.history_dropped.bump(),
        }
    }

    fn flush_history(&mut self, now: Instant) {
        match self.history.compress_batch(now) {
            Ok(Some(id)) => self.out.emit_own(now, OpsEventKind::BatchCompressed { id }),
            Ok(None) => {}
            Err(_) => self.out.counters.history_dropped.bump(),
        }
    }

    /// Turns what the components reported into events, follow-up actions and
    /// messages, in one fixed order: crash recovery, election, workers, mesh, history.
    fn coordinate(&mut self, now: Instant) {
        if let Room::Worker(w) = &self.room {
            self.timers.set(Timer::Lease, w.next_expiry());
        }
        self.drain_crash(now);
        if let Room::Supervisor(s) = &mut self.room {
            let gate = &self.gate;
            let verify = |task: &TaskId, c: &Checkpoint, p: &crate::wire::CheckpointProof| {
                gate.verify_checkpoint(&p.primary, task, c, &p.signature).is_ok()
            };
            s.follow_election(now, &*self.crash, &mut self.timers, &self.config, verify, &mut self.out);
            s.drain_workers(now, &mut self.out);
            if let Some(c) = s.certified_mut() {
                while let Some(e) = c.poll_evidence() {
                    let mut evidence = alloc::vec![0u8; e.encoded_len()];
                    match e.encode(&mut evidence) {
                        Ok(n) => evidence.truncate(n),
                        Err(_) => continue,
                    }
                    self.out.emit(now, e.voter().clone(), OpsEventKind::Equivocation { term: e.term(), evidence });
                }
            }
        }
        self.mesh.drain(now, &mut self.out);
        let archived = self.history.stats().batches_archived;
        if archived > self.archived_seen {
            let count = archived - self.archived_seen;
            self.archived_seen = archived;
            self.out.emit_own(now, OpsEventKind::BatchArchived { count });
        }
    }

    /// Crash-recovery events since the last drain, each turned into coordinator
    /// work; events the manager's ring overwrote before this drain are counted
    /// as dropped.
    pub(super) fn drain_crash(&mut self, now: Instant) {
        loop {
            let mut batch: heapless::Vec<(NodeId, RecoveryEventKind), 16> = heapless::Vec::new();
            let first = self.crash.next_event_seq().saturating_sub(Q as u64).max(self.crash_seq);
            if first > self.crash_seq {
                let lost = first - self.crash_seq;
                self.out.counters.dropped_events = self.out.counters.dropped_events.saturating_add(lost);
            }
            for e in self.crash.events_since(first).take(16) {
                let _ = batch.push((e.node.clone(), e.kind));
                self.crash_seq = e.seq.saturating_add(1);
            }
            if batch.is_empty() {
                return;
            }
            for (node, kind) in batch {
                self.on_crash_event(now, node, kind);
            }
        }
    }

    /// One crash-recovery event as coordinator work: a detected crash starts
    /// a recovery, moves the node's roles (on the leader) and takes it out of
    /// the mesh view; a completed recovery brings it back.
    fn on_crash_event(&mut self, now: Instant, node: NodeId, kind: RecoveryEventKind) {
        match kind {
            RecoveryEventKind::StatusChanged { from, to, .. } => {
                self.out.emit(now, node, OpsEventKind::NodeStatusChanged { from, to })
            }
            RecoveryEventKind::CrashDetected { silence, .. } => {
                self.out.emit(now, node.clone(), OpsEventKind::CrashDetected { silence });
                let _ = self.crash.initiate_recovery(now, &node, RecoveryStrategy::Automatic);
                if let Room::Supervisor(s) = &mut self.room {
                    s.on_worker_lost(now, &node, &*self.crash, &mut self.out);
                }
                self.forget_peer(now, &node, true);
            }
            RecoveryEventKind::RecoveryStarted { attempt, .. } => {
                self.out.emit(now, node, OpsEventKind::RecoveryStarted { attempt })
            }
            RecoveryEventKind::RecoveryCompleted { took, .. } => {
                self.out.emit(now, node.clone(), OpsEventKind::RecoveryCompleted { took });
                self.mesh.rejoin(now, &node, &mut self.out);
                if let Room::Supervisor(s) = &mut self.room {
                    s.on_worker_recovered(now, &node, &*self.crash);
                }
            }
            RecoveryEventKind::RecoveryFailed { .. } => self.out.emit(now, node, OpsEventKind::RecoveryFailed),
        }
    }
} }

/// This node's side of the heartbeat spacing rule: leading; following, and
/// the leader the election names in the current term, if any; or a worker and
/// the leader it follows (none before its first, or once it found that
/// leader crashed).
#[derive(Clone, Copy)]
enum SpacingView<'a> {
    Leading,
    Following(Option<&'a NodeId>),
    Worker(Option<&'a NodeId>),
}

/// Which side of a spaced pair asks: the sender (at which intervals it sends)
/// or the receiver (what its detector expects).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SpacingSide {
    Send,
    Expect,
}

/// How many heartbeat intervals apart a node seeing the cluster as `view` and
/// `peer` (a supervisor if `peer_supervises`) exchange heartbeats, `every`
/// being [`OpsConfig::follower_heartbeat_every`]: `every` between a follower
/// supervisor and a worker, 1 between the leader and a worker and between
/// supervisors. Each end reckons it from its own view, which may lag the
/// other's while a leader changes, so a sender spaces only when it is sure
/// (a supervisor that follows a named leader, a worker that follows one) and
/// a receiver expects the full rate only from the pairs it is sure of (its
/// leader's workers, its own leader): what a node sends is never sparser
/// than its peer expects in a steady view, and a node in doubt sends more
/// and expects less.
fn heartbeat_spacing(every: u8, view: SpacingView<'_>, side: SpacingSide, peer: &NodeId, peer_supervises: bool) -> u8 {
    let expect = side == SpacingSide::Expect;
    let spaced = match view {
        SpacingView::Leading => false,
        SpacingView::Following(leader) => !peer_supervises && (leader.is_some() || expect),
        SpacingView::Worker(Some(leader)) => peer_supervises && leader != peer,
        SpacingView::Worker(None) => peer_supervises && expect,
    };
    if spaced && every > 1 { every } else { 1 }
}
