//! The worker room: the roles this node holds, the leader it follows, and the
//! rules for taking and ending roles.
//!
//! A worker takes roles only from supervisors. It follows the leader of the
//! highest term it has heard of in a [`Body::LeaderNotice`]; at every notice it
//! ends the roles given by anyone else or in an older term (the new leader
//! assigns every task again, each from its last checkpoint). An assignment is
//! accepted from any supervisor at the followed term or later, since a new
//! leader's assignment may overtake its notice; only the supervisor that gave
//! a role can release it, or the leader the worker follows when the role is
//! from its term or older. On a graceful stop every role ends.
//!
//! # Leases
//!
//! A role is a lease: it lasts [`OpsConfig::lease_timeout`] past the last
//! message from the supervisor that gave it, while that supervisor leads the
//! role's term or a later one: its heartbeats (which name the term they lead),
//! its notices and its assignments renew the lease. A worker cut off from that
//! leader (in either direction, as the leader fails it over) stops the work
//! when the lease runs out ([`OpsEventKind::LeaseExpired`]), so after a
//! partition heals no stale primary runs beside its replacement. The worker
//! reports what it holds in its heartbeats, and the leader releases what it
//! did not give or has moved (`supervisor.rs`).
//!
//! [`Body::LeaderNotice`]: crate::wire::Body::LeaderNotice
//! [`OpsConfig::lease_timeout`]: super::OpsConfig::lease_timeout

use super::error::TaskError;
use super::outbox::{Bump, Out, Outbox, remove_each};
use super::output::OpsEventKind;
use crate::id::{NodeId, TaskId, TaskType};
use crate::table::IdTable;
use crate::time::{Duration, Instant};
use crate::wire::{HeldRole, MAX_HELD_ROLES, TaskAssignment};
use crate::workers::{Checkpoint, TaskRole};

/// A role this worker holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldTask {
    /// Its pool.
    pub task_type: TaskType,
    /// Primary or backup.
    pub role: TaskRole,
    /// The checkpoint it resumed from, then the last one it reported.
    pub checkpoint: Option<Checkpoint>,
    /// The supervisor that gave it.
    pub from: NodeId,
    /// The term in which it was given.
    pub term: u64,
    /// When the lease on the role runs out unless the leader that gave it renews it.
    pub lease_expires: Instant,
}

/// A worker's role state: `T` roles at most.
pub(crate) struct WorkerRoom<const T: usize> {
    held: IdTable<TaskId, HeldTask, T>,
    /// The leader this node follows and its term.
    leader: Option<(NodeId, u64)>,
    /// The supervisor known to lead the highest term heard of (from a notice
    /// or an assignment), kept when the leader is forgotten: in that term only
    /// it may send leader messages (one leader per term).
    known: Option<(NodeId, u64)>,
    /// The progress of primary roles that ended (a release, a leader change, a
    /// lease), until the task is assigned again: a new leader's assignment may
    /// carry an older checkpoint (sent before it acknowledged that progress, or
    /// from a table that missed the report while partitioned).
    progress: IdTable<TaskId, Checkpoint, T>,
}

impl<const T: usize> WorkerRoom<T> {
    /// No roles, no leader.
    pub(crate) fn new() -> Self {
        WorkerRoom { held: IdTable::new(), leader: None, known: None, progress: IdTable::new() }
    }

    /// The leader this node follows.
    pub(crate) const fn leader(&self) -> Option<&(NodeId, u64)> {
        self.leader.as_ref()
    }

    /// Whether supervisor `sender` may send leader messages (a notice, an
    /// assignment, a heartbeat naming the term it leads) for `term`: not when
    /// another supervisor is known to lead that term. A higher term is a new
    /// leader this node has not heard of yet; a lower one is stale (ignored
    /// later, not refused: a deposed leader's late message is no attack).
    pub(crate) fn may_lead(&self, sender: &NodeId, term: u64) -> bool {
        self.known.as_ref().is_none_or(|(l, t)| *t != term || l == sender)
    }

    /// The supervisor known to lead the highest term heard of, with the term
    /// (in Byzantine mode, only ever one whose leader certificate verified).
    pub(crate) const fn known(&self) -> Option<&(NodeId, u64)> {
        self.known.as_ref()
    }

    /// The highest leader term heard of (0 if none).
    fn known_term(&self) -> u64 {
        self.known.as_ref().map_or(0, |(_, t)| *t)
    }

    /// `sender` leads `term`: the highest term's leader is kept (see `known`).
    fn note_leader(&mut self, sender: &NodeId, term: u64) {
        if self.known.as_ref().is_none_or(|(_, t)| *t < term) {
            self.known = Some((sender.clone(), term));
        }
    }

    /// Where checkpoint reports go: the supervisor known to lead the highest
    /// term heard of (only the leader takes them), `None` if none is known yet.
    pub(crate) fn report_to(&self) -> Option<&NodeId> {
        self.known.as_ref().map(|(l, _)| l)
    }

    /// The roles held.
    pub(crate) fn held(&self) -> &IdTable<TaskId, HeldTask, T> {
        &self.held
    }

    /// A leader notice from supervisor `sender` for `term`.
    pub(crate) fn on_leader_notice<const Q: usize>(
        &mut self,
        now: Instant,
        sender: &NodeId,
        term: u64,
        lease: Duration,
        out: &mut Outbox<Q>,
    ) {
        // The highest term heard of, even if its leader was since forgotten: a
        // late notice of an older term must not make a deposed leader followed.
        if term < self.known_term() {
            return;
        }
        self.note_leader(sender, term);
        if self.leader.as_ref().is_none_or(|(l, t)| l != sender || *t != term) {
            self.leader = Some((sender.clone(), term));
            out.emit(now, sender.clone(), OpsEventKind::LeaderElected { term });
        }
        // Roles given by anyone but the current leader, or by it in an older term,
        // end (on every notice, so a late assignment from a deposed leader lasts
        // one notice interval at most): the new leader assigns every task again.
        self.remember(|h| h.from != *sender || h.term < term);
        self.end_roles(now, out, |h| h.from != *sender || h.term < term);
        self.renew(now, sender, term, lease);
    }

    /// `sender` says it leads `term`: the leases of the roles it gave in that
    /// term or earlier run `lease` from `now`.
    pub(crate) fn renew(&mut self, now: Instant, sender: &NodeId, term: u64, lease: Duration) {
        for (_, h) in self.held.iter_mut() {
            if h.from == *sender && h.term <= term {
                h.lease_expires = now + lease;
            }
        }
    }

    /// Ends every role whose lease ran out by `now`, each with
    /// [`OpsEventKind::LeaseExpired`]: the worker stops the work.
    pub(crate) fn expire_leases<const Q: usize>(&mut self, now: Instant, out: &mut Outbox<Q>) {
        if self.next_expiry() > now {
            return;
        }
        self.remember(|h| h.lease_expires <= now);
        remove_each(
            &mut self.held,
            |held, batch| {
                for (task, h) in held.iter() {
                    if h.lease_expires <= now && batch.push(task.clone()).is_err() {
                        break;
                    }
                }
            },
            |held, task| {
                held.remove(&task);
                out.emit_own(now, OpsEventKind::LeaseExpired { task });
            },
        );
    }

    /// Keeps the progress of the primary roles `ending` selects (see `progress`).
    fn remember(&mut self, ending: impl Fn(&HeldTask) -> bool) {
        for (task, h) in self.held.iter() {
            if let Some(c) = h.checkpoint
                && h.role == TaskRole::Primary
                && ending(h)
            {
                // A full table forgets: the next assignment's checkpoint stands.
                let _ = self.progress.insert(task.clone(), c);
            }
        }
    }

    /// The earliest lease deadline ([`Instant::MAX`] when no role is held).
    pub(crate) fn next_expiry(&self) -> Instant {
        self.held.iter().map(|(_, h)| h.lease_expires).min().unwrap_or(Instant::MAX)
    }

    /// The roles to report in a heartbeat: the first [`MAX_HELD_ROLES`] in table order.
    pub(crate) fn report(&self) -> heapless::Vec<HeldRole, MAX_HELD_ROLES> {
        let mut v = heapless::Vec::new();
        for (task, h) in self.held.iter() {
            if v.push(HeldRole { task: task.clone(), term: h.term, role: h.role }).is_err() {
                break;
            }
        }
        v
    }

    /// A role from supervisor `sender`; `false` if refused (stale or table full).
    pub(crate) fn on_assignment<const Q: usize>(
        &mut self,
        now: Instant,
        sender: &NodeId,
        a: &TaskAssignment,
        lease: Duration,
        out: &mut Outbox<Q>,
    ) -> bool {
        // An assignment from a term older than the highest leader term heard of is stale.
        if a.term < self.known_term() {
            return false;
        }
        // A new leader's assignment may overtake its notice: it names the leader of its term.
        self.note_leader(sender, a.term);
        // A primary given the task again (by a new leader, or in a new term) keeps
        // its own progress when it is ahead of the assignment's: it reported it,
        // and a leader may have acknowledged it, so resuming older would regress.
        let kept = self.progress.remove(&a.task);
        let own = self.held.get(&a.task).filter(|h| h.role == TaskRole::Primary).and_then(|h| h.checkpoint).or(kept);
        let checkpoint = match (own, a.checkpoint) {
            (Some(o), Some(c)) if o.sequence > c.sequence => Some(o),
            (Some(o), None) if a.role == TaskRole::Primary => Some(o),
            _ => a.checkpoint,
        };
        let held = HeldTask {
            task_type: a.task_type.clone(),
            role: a.role,
            checkpoint,
            from: sender.clone(),
            term: a.term,
            lease_expires: now + lease,
        };
        if self.held.insert(a.task.clone(), held).is_err() {
            out.counters.table_full.bump();
            return false;
        }
        self.renew(now, sender, a.term, lease);
        let kind = OpsEventKind::AssignmentReceived { task: a.task.clone(), role: a.role, checkpoint };
        out.emit_own(now, kind);
        true
    }

    /// Only the supervisor that gave a role ends it, or the leader this node
    /// follows if the role is from its term or older (its reconciliation of the
    /// roles reported in heartbeats): a deposed leader's releases (sent as it
    /// steps down) must not end a role its successor gave in the meantime.
    /// `false` if refused.
    pub(crate) fn on_release<const Q: usize>(
        &mut self,
        now: Instant,
        sender: &NodeId,
        task: &TaskId,
        out: &mut Outbox<Q>,
    ) -> bool {
        let follows = |h: &HeldTask| self.leader.as_ref().is_some_and(|(l, t)| l == sender && h.term <= *t);
        match self.held.get(task) {
            Some(h) if h.from == *sender || follows(h) => {
                if let (TaskRole::Primary, Some(c)) = (h.role, h.checkpoint) {
                    // A full table forgets: the next assignment's checkpoint stands.
                    let _ = self.progress.insert(task.clone(), c);
                }
                self.held.remove(task);
                out.emit_own(now, OpsEventKind::AssignmentReleased { task: task.clone() });
                true
            }
            _ => false,
        }
    }

    /// Progress on `task`: recorded here, then sent (signed) to the leader.
    pub(crate) fn report_checkpoint<const Q: usize>(
        &mut self,
        task: &TaskId,
        checkpoint: Checkpoint,
        out: &mut Outbox<Q>,
    ) -> Result<(), TaskError> {
        let Some(held) = self.held.get_mut(task) else {
            return Err(TaskError::NotAPrimary(task.clone()));
        };
        if held.role != TaskRole::Primary {
            return Err(TaskError::NotAPrimary(task.clone()));
        }
        if let Some(last) = held.checkpoint
            && last.sequence > checkpoint.sequence
        {
            return Err(TaskError::Regression { last: last.sequence });
        }
        held.checkpoint = Some(checkpoint);
        out.send(Out::Checkpoint { task: task.clone(), checkpoint });
        Ok(())
    }

    /// Ends every role: on a graceful stop the leader hands them to others when
    /// it sees the leave, and its releases cannot reach a stopped node, so
    /// keeping them would double-assign after a restart.
    pub(crate) fn release_all<const Q: usize>(&mut self, now: Instant, out: &mut Outbox<Q>) {
        self.progress = IdTable::new();
        self.end_roles(now, out, |_| true);
    }

    /// A heartbeat from supervisor `sender` naming the `term` it leads: a
    /// worker that stopped following it (its crash detected, e.g. while the
    /// control plane was cut) follows it again at once, as at a notice, if it
    /// is the leader of the highest term heard of; otherwise nothing (a new
    /// leader is followed at its notice).
    pub(crate) fn follow_again<const Q: usize>(
        &mut self,
        now: Instant,
        sender: &NodeId,
        term: u64,
        lease: Duration,
        out: &mut Outbox<Q>,
    ) {
        if self.leader.is_none() && self.known.as_ref().is_some_and(|(l, t)| l == sender && *t == term) {
            self.on_leader_notice(now, sender, term, lease, out);
        }
    }

    /// `peer` left or crashed: if it was the leader, this node follows none.
    pub(crate) fn forget(&mut self, peer: &NodeId) {
        if self.leader.as_ref().is_some_and(|(l, _)| l == peer) {
            self.leader = None;
        }
    }

    /// Ends the roles `ends` selects, each with an event, in table order.
    fn end_roles<const Q: usize>(&mut self, now: Instant, out: &mut Outbox<Q>, ends: impl Fn(&HeldTask) -> bool) {
        remove_each(
            &mut self.held,
            |held, batch| {
                for (task, h) in held.iter() {
                    if ends(h) && batch.push(task.clone()).is_err() {
                        break;
                    }
                }
            },
            |held, task| {
                held.remove(&task);
                out.emit_own(now, OpsEventKind::AssignmentReleased { task });
            },
        );
    }
}
