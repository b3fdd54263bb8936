//! The node interface the simulator drives: every [`NetworkOperationsManager`]
//! capacity set implements it, so supervisors and workers can use different sizes.

use pouw_netops::coordinator::{HandleError, HeldTask, OpsError, OpsStatus, OpsTransmit};
use pouw_netops::election::HardState;
use pouw_netops::workers::Checkpoint;
use pouw_netops::{Instant, NetworkOperationsManager, NodeId, OpsEvent, TaskId, TaskType};

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
}

/// What the simulator needs from a node.
pub trait SimNode {
    /// See [`NetworkOperationsManager::start`].
    fn start(&mut self, now: Instant) -> Result<(), OpsError>;
    /// See [`NetworkOperationsManager::stop`].
    fn stop(&mut self, now: Instant);
    /// See [`NetworkOperationsManager::restore_hard_state`].
    fn restore_hard_state(&mut self, hs: HardState);
    /// See [`NetworkOperationsManager::handle_message`].
    fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Result<(), HandleError>;
    /// See [`NetworkOperationsManager::tick`].
    fn tick(&mut self, now: Instant);
    /// See [`NetworkOperationsManager::poll_hard_state`].
    fn poll_hard_state(&mut self) -> Option<HardState>;
    /// See [`NetworkOperationsManager::poll_transmit`].
    fn poll_transmit(&mut self) -> Option<OpsTransmit>;
    /// See [`NetworkOperationsManager::poll_event`].
    fn poll_event(&mut self) -> Option<OpsEvent>;
    /// Drains archived history batches; returns how many.
    fn drain_archived(&mut self) -> usize;
    /// See [`NetworkOperationsManager::poll_timeout`].
    fn poll_timeout(&self) -> Instant;
    /// Whether it leads, and its election term.
    fn leading(&self) -> Option<u64>;
    /// See [`NetworkOperationsManager::status`].
    fn status(&self, now: Instant) -> OpsStatus;
    /// See [`NetworkOperationsManager::submit_task`].
    fn submit_task(&mut self, now: Instant, task: TaskId, task_type: TaskType, required: u16, backups: u16);
    /// See [`NetworkOperationsManager::report_checkpoint`].
    fn report_checkpoint(&mut self, now: Instant, task: &TaskId, checkpoint: Checkpoint) -> bool;
    /// The roles a worker holds.
    fn held(&self) -> Vec<(TaskId, HeldTask)>;
    /// (Leader) every task's workers.
    fn assignments(&self) -> Vec<TaskWorkers>;
    /// (Leader) `(worker, used slots, slots)` for every known worker.
    fn worker_load(&self) -> Vec<(NodeId, u16, u16)>;
    /// `(destination, next hop)` of every route with a next hop.
    fn routes(&self) -> Vec<(NodeId, NodeId)>;
    /// Messages and events waiting to be polled.
    fn pending(&self) -> (usize, usize);
}

impl<
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
> SimNode for NetworkOperationsManager<N, HW, V, T, P, S, C, L, Q, B>
{
    fn start(&mut self, now: Instant) -> Result<(), OpsError> {
        NetworkOperationsManager::start(self, now)
    }
    fn stop(&mut self, now: Instant) {
        NetworkOperationsManager::stop(self, now)
    }
    fn restore_hard_state(&mut self, hs: HardState) {
        NetworkOperationsManager::restore_hard_state(self, hs)
    }
    fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Result<(), HandleError> {
        NetworkOperationsManager::handle_message(self, now, bytes)
    }
    fn tick(&mut self, now: Instant) {
        NetworkOperationsManager::tick(self, now)
    }
    fn poll_hard_state(&mut self) -> Option<HardState> {
        NetworkOperationsManager::poll_hard_state(self)
    }
    fn poll_transmit(&mut self) -> Option<OpsTransmit> {
        NetworkOperationsManager::poll_transmit(self)
    }
    fn poll_event(&mut self) -> Option<OpsEvent> {
        NetworkOperationsManager::poll_event(self)
    }
    fn drain_archived(&mut self) -> usize {
        let mut n = 0;
        while self.poll_archived().is_some() {
            n += 1;
        }
        n
    }
    fn poll_timeout(&self) -> Instant {
        NetworkOperationsManager::poll_timeout(self)
    }
    fn leading(&self) -> Option<u64> {
        if self.is_leader() { self.election().map(|e| e.term()) } else { None }
    }
    fn status(&self, now: Instant) -> OpsStatus {
        NetworkOperationsManager::status(self, now)
    }
    fn submit_task(&mut self, now: Instant, task: TaskId, task_type: TaskType, required: u16, backups: u16) {
        let _ = NetworkOperationsManager::submit_task(self, now, task, task_type, required, backups);
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
                })
            })
            .collect()
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
    fn pending(&self) -> (usize, usize) {
        NetworkOperationsManager::pending(self)
    }
}
