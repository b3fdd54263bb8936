//! What the harness drives: [`HarnessNode`] is the sans-IO surface every node
//! shares (messages in, ticks, polled outputs, persisted hard state), with
//! impls for a bare [`LeaderElectionManager`] and a [`NetworkOperationsManager`];
//! [`OpsNode`] adds the coordinator views the invariants and scenarios read.

use core::convert::Infallible;
use pouw_netops::coordinator::{HandleError, HeldTask, OpsStatus, RejectReason};
use pouw_netops::election::HardState;
use pouw_netops::health::NodeStatus;
use pouw_netops::mesh::{HandshakeReport, TunnelState};
use pouw_netops::workers::Checkpoint;
use pouw_netops::{
    Envelope, Instant, LeaderElectionManager, NetworkOperationsManager, NodeId, OpsEvent, TaskId, TaskType,
};

/// Where an outgoing message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// One node.
    Node(NodeId),
    /// Every supervisor (voter) except the sender.
    Supervisors,
    /// Every node except the sender.
    All,
}

/// One encoded message a node wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Where to.
    pub to: Target,
    /// The encoded envelope.
    pub bytes: Vec<u8>,
}

/// A node the harness can drive: the calls a host makes, in the documented
/// drain order (hard state before transmits before events).
pub trait HarnessNode {
    /// What the node reports besides messages (hashed into the trace with `Debug`).
    type Event: core::fmt::Debug;
    /// Starts the node (a no-op for nodes that run from construction).
    fn start(&mut self, now: Instant) -> Result<(), String>;
    /// Hands the node one received datagram.
    fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Result<(), String> {
        self.deliver(now, bytes).map(|_| ())
    }
    /// Hands the node one datagram: `Ok(true)` if it took it, `Ok(false)` if
    /// it refused it as a faulty network's doing (a duplicate, or one that
    /// overtook its sender's join), `Err` for any other refusal.
    fn deliver(&mut self, now: Instant, bytes: &[u8]) -> Result<bool, String>;
    /// Lets the node's timers fire.
    fn tick(&mut self, now: Instant);
    /// When the node next needs a [`tick`](HarnessNode::tick) (`Instant::MAX`: never).
    fn poll_timeout(&self) -> Instant;
    /// The next hard state to persist.
    fn poll_hard_state(&mut self) -> Option<HardState>;
    /// The next message to send; `Err` when it cannot be encoded.
    fn poll_transmit(&mut self) -> Option<Result<Outgoing, String>>;
    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// Drains any other output the host must take (e.g. archived history).
    fn drain_other(&mut self) {}
    /// Whether it leads, and its election term.
    fn leading(&self) -> Option<u64>;
    /// Messages and events waiting to be polled.
    fn pending(&self) -> (usize, usize) {
        (0, 0)
    }
}

/// The [`HarnessNode`] methods a core state machine `$t` answers with its
/// own methods of the same name.
macro_rules! forward_timers {
    ($t:ident) => {
        fn tick(&mut self, now: Instant) {
            $t::tick(self, now)
        }
        fn poll_timeout(&self) -> Instant {
            $t::poll_timeout(self)
        }
        fn poll_hard_state(&mut self) -> Option<HardState> {
            $t::poll_hard_state(self)
        }
    };
}

impl<const V: usize, const O: usize, const H: usize> HarnessNode for LeaderElectionManager<V, O, H> {
    type Event = Infallible;
    fn start(&mut self, _now: Instant) -> Result<(), String> {
        Ok(())
    }
    fn deliver(&mut self, now: Instant, bytes: &[u8]) -> Result<bool, String> {
        let env = Envelope::decode(bytes).map_err(|e| format!("{e}"))?;
        self.step(now, &env).map(|()| true).map_err(|e| format!("{e}"))
    }
    forward_timers!(LeaderElectionManager);
    fn poll_transmit(&mut self) -> Option<Result<Outgoing, String>> {
        let t = LeaderElectionManager::poll_transmit(self)?;
        let to = t.to.map_or(Target::Supervisors, Target::Node);
        Some(t.envelope.to_vec().map(|bytes| Outgoing { to, bytes }).map_err(|e| format!("{e}")))
    }
    fn poll_event(&mut self) -> Option<Infallible> {
        None
    }
    fn leading(&self) -> Option<u64> {
        self.is_leader().then(|| self.term())
    }
    fn pending(&self) -> (usize, usize) {
        (self.pending_transmits(), 0)
    }
}

/// One task's workers as the leader sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskWorkers {
    /// The task.
    pub task: TaskId,
    /// Primaries it needs.
    pub required: u16,
    /// Its primaries.
    pub primaries: Vec<NodeId>,
    /// Its backups.
    pub backups: Vec<NodeId>,
    /// The sequence of its last acknowledged checkpoint, if any.
    pub checkpoint: Option<u64>,
}

/// A coordinator node: every [`NetworkOperationsManager`] capacity set
/// implements it, so supervisors and workers can use different sizes behind
/// one `Box<dyn OpsNode>`.
pub trait OpsNode: HarnessNode<Event = OpsEvent> + Send {
    /// See [`NetworkOperationsManager::stop`].
    fn stop(&mut self, now: Instant);
    /// See [`NetworkOperationsManager::restore_hard_state`].
    fn restore_hard_state(&mut self, hs: HardState);
    /// See [`NetworkOperationsManager::status`].
    fn status(&self, now: Instant) -> OpsStatus;
    /// See [`NetworkOperationsManager::submit_task`]; whether it was accepted.
    fn submit_task(&mut self, now: Instant, task: TaskId, task_type: TaskType, required: u16, backups: u16) -> bool;
    /// See [`NetworkOperationsManager::report_checkpoint`]; whether it was accepted.
    fn report_checkpoint(&mut self, now: Instant, task: &TaskId, checkpoint: Checkpoint) -> bool;
    /// The roles a worker holds.
    fn held(&self) -> Vec<(TaskId, HeldTask)>;
    /// (Leader) every task's workers.
    fn assignments(&self) -> Vec<TaskWorkers>;
    /// (Supervisor) the sequence of `task`'s checkpoint in this node's task
    /// table, verified or not (`None`: no checkpoint, or not in the table).
    fn table_checkpoint(&self, task: &TaskId) -> Option<u64>;
    /// (Supervisor) the votes its election needs to win: a quorum.
    fn quorum(&self) -> Option<usize>;
    /// (Leader) `(worker, used slots, slots)` for every worker with a role.
    fn worker_load(&self) -> Vec<(NodeId, u16, u16)>;
    /// `(destination, next hop)` of every route with a next hop.
    fn routes(&self) -> Vec<(NodeId, NodeId)>;
    /// Makes `table` equal to [`OpsNode::routes`], copying only from the
    /// first route that differs; whether it changed.
    fn refresh_routes(&self, table: &mut Vec<(NodeId, NodeId)>) -> bool;
    /// `(a, b, state)` of every tunnel this node knows.
    fn tunnels(&self) -> Vec<(NodeId, NodeId, TunnelState)>;
    /// This node's failure-detector phi of `node` at `now` (its local time), if it tracks it.
    fn phi(&self, now: Instant, node: &NodeId) -> Option<f64>;
    /// This node's crash-detector status of `node`, if it tracks it.
    fn peer_status(&self, node: &NodeId) -> Option<NodeStatus>;
    /// See [`NetworkOperationsManager::record_latest_handshakes`].
    fn record_latest_handshakes(&mut self, now: Instant, unix_now: u64, text: &str) -> HandshakeReport;
    /// [`NetworkOperationsManager::handle_message`] with its error as is, for the attacker.
    fn handle_raw(&mut self, now: Instant, bytes: &[u8]) -> Result<(), HandleError>;
    /// A digest of everything a datagram could change in the node, except the
    /// counters of refused datagrams: equal before and after a refused one.
    fn state_digest(&self, now: Instant) -> u64;
}

pouw_netops::for_every_coordinator! { impl HarnessNode {
    type Event = OpsEvent;
    fn start(&mut self, now: Instant) -> Result<(), String> {
        NetworkOperationsManager::start(self, now).map_err(|e| format!("{e}"))
    }
    /// A duplicated datagram (refused as a replay) and one that overtook its
    /// sender's join (an unknown sender) are what a faulty network does, and
    /// so is one whose term this node holds no proof of yet under the
    /// Byzantine fault model (uncertified: the certificate rode on a message
    /// that was lost, or went to this node before it restarted); any other
    /// refusal is a fault. (`harness/tests/coordinator.rs` checks
    /// that a loss-free cluster refuses nothing as uncertified.)
    fn deliver(&mut self, now: Instant, bytes: &[u8]) -> Result<bool, String> {
        match NetworkOperationsManager::handle_message(self, now, bytes) {
            Ok(()) => Ok(true),
            Err(HandleError::Rejected(
                RejectReason::Replayed | RejectReason::UnknownSender | RejectReason::Uncertified,
            )) => Ok(false),
            Err(e) => Err(format!("{e}")),
        }
    }
    forward_timers!(NetworkOperationsManager);
    fn poll_transmit(&mut self) -> Option<Result<Outgoing, String>> {
        let t = NetworkOperationsManager::poll_transmit(self)?;
        Some(Ok(Outgoing { to: Target::Node(t.to), bytes: t.bytes }))
    }
    fn poll_event(&mut self) -> Option<OpsEvent> {
        NetworkOperationsManager::poll_event(self)
    }
    fn drain_other(&mut self) {
        while self.poll_archived().is_some() {}
    }
    fn leading(&self) -> Option<u64> {
        if self.is_leader() { self.election().map(|e| e.term()) } else { None }
    }
    fn pending(&self) -> (usize, usize) {
        NetworkOperationsManager::pending(self)
    }
} }

pouw_netops::for_every_coordinator! { impl OpsNode {
    fn stop(&mut self, now: Instant) {
        NetworkOperationsManager::stop(self, now)
    }
    fn restore_hard_state(&mut self, hs: HardState) {
        NetworkOperationsManager::restore_hard_state(self, hs)
    }
    fn status(&self, now: Instant) -> OpsStatus {
        NetworkOperationsManager::status(self, now)
    }
    fn submit_task(&mut self, now: Instant, task: TaskId, task_type: TaskType, required: u16, backups: u16) -> bool {
        NetworkOperationsManager::submit_task(self, now, task, task_type, required, backups).is_ok()
    }
    fn report_checkpoint(&mut self, now: Instant, task: &TaskId, checkpoint: Checkpoint) -> bool {
        NetworkOperationsManager::report_checkpoint(self, now, task, checkpoint).is_ok()
    }
    fn held(&self) -> Vec<(TaskId, HeldTask)> {
        self.held_tasks().map(|(t, h)| (t.clone(), h.clone())).collect()
    }
    fn assignments(&self) -> Vec<TaskWorkers> {
        let Some(w) = self.workers() else { return Vec::new() };
        w.tasks()
            .filter_map(|t| {
                let v = w.task(t)?;
                Some(TaskWorkers {
                    task: t.clone(),
                    required: v.required(),
                    primaries: v.primaries().cloned().collect(),
                    backups: v.backups().cloned().collect(),
                    checkpoint: v.checkpoint().map(|(c, _)| c.sequence),
                })
            })
            .collect()
    }
    fn table_checkpoint(&self, task: &TaskId) -> Option<u64> {
        self.tasks().find(|(t, _)| *t == task).and_then(|(_, r)| r.checkpoint).map(|c| c.sequence)
    }
    fn quorum(&self) -> Option<usize> {
        self.election().map(|e| e.quorum())
    }
    fn worker_load(&self) -> Vec<(NodeId, u16, u16)> {
        let Some(w) = self.workers() else { return Vec::new() };
        let mut ids: Vec<NodeId> = Vec::new();
        for t in w.tasks() {
            if let Some(v) = w.task(t) {
                ids.extend(v.primaries().cloned());
                ids.extend(v.backups().cloned());
            }
        }
        ids.sort();
        ids.dedup();
        ids.into_iter().filter_map(|id| w.worker(&id).map(|i| (id, i.used, i.slots))).collect()
    }
    fn routes(&self) -> Vec<(NodeId, NodeId)> {
        self.mesh().routes().filter_map(|r| Some((r.destination.clone(), r.next_hop?.clone()))).collect()
    }
    fn refresh_routes(&self, table: &mut Vec<(NodeId, NodeId)>) -> bool {
        let mut len = 0;
        let mut changed = false;
        for r in self.mesh().routes() {
            let Some(hop) = r.next_hop else { continue };
            match table.get(len) {
                Some((d, h)) if d == r.destination && h == hop => {}
                _ => {
                    table.truncate(len);
                    table.push((r.destination.clone(), hop.clone()));
                    changed = true;
                }
            }
            len += 1;
        }
        if table.len() > len {
            table.truncate(len);
            changed = true;
        }
        changed
    }
    fn tunnels(&self) -> Vec<(NodeId, NodeId, TunnelState)> {
        self.mesh().tunnels().map(|t| (t.a.clone(), t.b.clone(), t.state)).collect()
    }
    fn phi(&self, now: Instant, node: &NodeId) -> Option<f64> {
        self.crash_recovery().phi(now, node).ok()
    }
    fn peer_status(&self, node: &NodeId) -> Option<NodeStatus> {
        self.crash_recovery().status(node).ok()
    }
    fn record_latest_handshakes(&mut self, now: Instant, unix_now: u64, text: &str) -> HandshakeReport {
        NetworkOperationsManager::record_latest_handshakes(self, now, unix_now, text)
    }
    fn handle_raw(&mut self, now: Instant, bytes: &[u8]) -> Result<(), HandleError> {
        NetworkOperationsManager::handle_message(self, now, bytes)
    }
    fn state_digest(&self, now: Instant) -> u64 {
        let mut status = NetworkOperationsManager::status(self, now);
        status.counters.rejected = Default::default();
        status.counters.self_addressed = 0;
        let members: Vec<_> = self.members().map(|c| (c.node.clone(), c.serial)).collect();
        let text = format!(
            "{status:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{members:?}|{:?}",
            self.held(),
            self.assignments(),
            self.tasks().collect::<Vec<_>>(),
            self.routes(),
            self.tunnels(),
            self.pending(),
        );
        pouw_netops::hash::fnv1a_64(text.as_bytes())
    }
} }
