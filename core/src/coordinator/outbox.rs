//! The outbox: messages waiting to be built and sent, events waiting to be
//! polled, and the coordinator's counters.
//!
//! Messages wait as compact [`Out`] items and become envelopes only when the
//! host polls them, so a full queue costs little memory. Both queues are
//! bounded: a push into a full queue drops the new item and counts it
//! ([`OpsCounters::dropped_transmits`], [`OpsCounters::dropped_events`]).

use super::output::{OpsCounters, OpsEvent, OpsEventKind, OpsTransmit};
use crate::id::{NodeId, TaskId, TaskType};
use crate::storage::Deque;
use crate::time::Instant;
use crate::workers::{Checkpoint, TaskRole};

/// A message waiting in the outbox, built into an envelope when polled.
#[derive(Clone, Debug)]
pub(crate) enum Out {
    /// This node's health heartbeat.
    Heartbeat,
    /// This node's membership announcement (or its leave).
    Membership { joining: bool },
    /// This node's membership announcement to one new member.
    MembershipTo { to: NodeId },
    /// (Supervisor, Byzantine mode) voter `of`'s certificate passed on to `to`, who joined.
    VoucherTo { to: NodeId, of: NodeId },
    /// This node's periodic membership announcement: signed for the members
    /// that have not shown they hold this node's certificate, MAC'd for the others.
    Reannounce,
    /// (Leader) a role in a task for one worker.
    Assign { to: NodeId, term: u64, task: TaskId, task_type: TaskType, role: TaskRole, checkpoint: Option<Checkpoint> },
    /// (Supervisor) a worker is to let go of a task.
    Release { to: NodeId, task: TaskId },
    /// (Worker) progress on a task this node is primary of.
    Checkpoint { task: TaskId, checkpoint: Checkpoint },
    /// (Leader) who leads which term.
    LeaderNotice { term: u64 },
    /// (Leader) the next slice of the task table.
    TaskTable,
    /// (Leader) a slice with one task of the table (its checkpoint moved).
    TableEntry { task: TaskId },
    /// (Follower) part `part` of this node's task table, to the leader it follows.
    TableReport { part: u16 },
    /// The signed link-state advert of `origin` (this node's own, or one
    /// taken on and flooded on), to all it goes to but `except` (who sent it).
    Flood { origin: NodeId, except: Option<NodeId> },
    /// This node's signed endpoint record.
    Endpoint,
}

/// Adds one to a counter, saturating.
pub(crate) trait Bump {
    /// `self += 1`, saturating at the maximum.
    fn bump(&mut self);
}

impl Bump for u64 {
    fn bump(&mut self) {
        *self = self.saturating_add(1);
    }
}

/// Bounded queues of outgoing messages and events, and the counters.
pub(crate) struct Outbox<const Q: usize> {
    /// This node: the subject of its own events.
    me: NodeId,
    queue: Deque<Out, Q>,
    /// A transmit encoded by `peek_transmit` and not yet taken by `poll_transmit`.
    pub(crate) staged: Option<OpsTransmit>,
    events: Deque<OpsEvent, Q>,
    /// What happened to messages and tables, for the host's status.
    pub(crate) counters: OpsCounters,
}

impl<const Q: usize> Outbox<Q> {
    /// Empty queues for node `me`.
    pub(crate) fn new(me: NodeId) -> Self {
        Outbox { me, queue: Deque::new(), staged: None, events: Deque::new(), counters: OpsCounters::default() }
    }

    /// This node.
    pub(crate) const fn me(&self) -> &NodeId {
        &self.me
    }

    /// Queues `out`, or counts it dropped when the queue is full.
    pub(crate) fn send(&mut self, out: Out) {
        if self.queue.push_back(out).is_err() {
            self.counters.dropped_transmits.bump();
        }
    }

    /// The oldest queued message.
    pub(crate) fn pop(&mut self) -> Option<Out> {
        self.queue.pop_front()
    }

    /// Queues an event about `node`, or counts it dropped when the queue is full.
    pub(crate) fn emit(&mut self, at: Instant, node: NodeId, kind: OpsEventKind) {
        if self.events.push_back(OpsEvent { at, node, kind }).is_err() {
            self.counters.dropped_events.bump();
        }
    }

    /// Queues an event about this node.
    pub(crate) fn emit_own(&mut self, at: Instant, kind: OpsEventKind) {
        let me = self.me.clone();
        self.emit(at, me, kind);
    }

    /// The oldest event.
    pub(crate) fn poll_event(&mut self) -> Option<OpsEvent> {
        self.events.pop_front()
    }

    /// Messages queued (not counting a staged one).
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Messages (queued and staged) and events waiting.
    pub(crate) fn pending(&self) -> (usize, usize) {
        (self.queued().saturating_add(usize::from(self.staged.is_some())), self.events.len())
    }
}

/// The collect-then-remove loop, written once: `pending` lists (up to a batch
/// of) keys still to remove from `x`, in table order, and `remove` removes one;
/// repeats until `pending` lists none. Removing inside the listing would
/// reorder a swap-remove table under the iterator.
pub(crate) fn remove_each<X, K>(
    x: &mut X,
    mut pending: impl FnMut(&X, &mut heapless::Vec<K, 64>),
    mut remove: impl FnMut(&mut X, K),
) {
    loop {
        let mut batch: heapless::Vec<K, 64> = heapless::Vec::new();
        pending(x, &mut batch);
        if batch.is_empty() {
            return;
        }
        for k in batch {
            remove(x, k);
        }
    }
}
