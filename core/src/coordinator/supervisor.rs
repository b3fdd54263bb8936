//! The supervisor room: the election, the worker-replacement manager, the task
//! table and its gossip, and what the leader does.
//!
//! Every supervisor keeps the task table: tasks submitted to it, tasks learnt
//! from the leader's [`Body::TaskTable`] slices, and the highest checkpoint
//! for each, with its primary's signature (the leader takes reports from the
//! task's primary, verified on receipt; the others take checkpoints from the
//! leader's table only, and verify the signature when they would act on the
//! checkpoint: see [`SupervisorRoom::on_task_table`]). Only the elected leader
//! assigns: when a supervisor starts leading it verifies the checkpoints of its
//! table it has not verified yet, gathers the tables of a quorum of
//! supervisors (each sends its own in [`Body::TableReport`] parts when it
//! learns of the new leader) taking every newer checkpoint their primaries
//! signed, and only then assigns every task from its newest one, so no task
//! resumes from behind a checkpoint a quorum held; when it stops it tells its workers to let go and forgets its assignments
//! (the next leader makes its own). A detected crash or a leave of a worker
//! moves the worker's roles to backups (the workers manager picks them by
//! health), and a recovered worker's quarantine is lifted.
//!
//! This module holds the room, its election and what the leader does with
//! its workers; `supervisor/task_table.rs` the task table and its gossip.

use super::config::OpsConfig;
use super::error::{OpsError, TaskError};
use super::outbox::{Bump, Out, Outbox, remove_each};
use super::output::OpsEventKind;
use super::timers::{Timer, TimerTable};
use crate::auth::{IdentityKey, PublicIdentity, QuorumCertificate, VoterTable};
use crate::election::{CertReject, CertifiedElection, ElectionError, HardState, LeaderElectionManager, Transmit};
use crate::error::CapacityError;
use crate::health::{HealthView, NodeStatus};
use crate::id::{NodeId, TaskId, TaskType};
use crate::storage::Vec;
use crate::table::IdTable;
use crate::time::Instant;
use crate::wire::{
    Body, CheckpointProof, CheckpointReport, Envelope, HeldRole, MAX_HELD_ROLES, MAX_REPORT_PARTS, MAX_TABLE_ENTRIES,
    TableReport, TaskEntry, TaskTable,
};
use crate::workers::{Checkpoint, TaskRole, WorkerEvent, WorkerReplacementManager};
use alloc::boxed::Box;

mod task_table;

use task_table::Gather;
pub use task_table::TaskRecord;

/// The election as the coordinator sizes it: `V` voters, `Q`-entry queues.
pub type Election<const V: usize, const Q: usize> = LeaderElectionManager<V, Q, Q>;
/// The certified (Byzantine-mode) election as the coordinator sizes it.
pub(crate) type Certified<const V: usize, const Q: usize> = CertifiedElection<V, Q, Q>;
/// The worker-replacement manager as the coordinator sizes it.
pub type Workers<const N: usize, const T: usize, const P: usize, const S: usize, const C: usize, const Q: usize> =
    WorkerReplacementManager<N, T, P, S, C, Q, Q>;

/// A supervisor's role state.
pub(crate) struct SupervisorRoom<
    const N: usize,
    const V: usize,
    const T: usize,
    const P: usize,
    const S: usize,
    const C: usize,
    const Q: usize,
> {
    /// Built at `start` from the persisted hard state (crash-only fault model).
    election: Option<Box<Election<V, Q>>>,
    /// Built at `start` instead of `election` under the Byzantine fault
    /// model: the same election with signed votes and certificates.
    certified: Option<Box<Certified<V, Q>>>,
    workers: Box<Workers<N, T, P, S, C, Q>>,
    tasks: IdTable<TaskId, TaskRecord, T>,
    /// The term this node leads, if it does.
    leading: Option<u64>,
    /// The last leader the election named, with its term.
    leader: Option<(NodeId, u64)>,
    /// Where the next task-table slice starts.
    table_cursor: usize,
    /// (Leader) roles moved away from a worker it stopped hearing, with the
    /// releases still to repeat: a worker cut off one way (it hears the leader,
    /// the leader does not hear it) keeps renewing its lease from the leader's
    /// heartbeats, so one lost release would leave it a second primary. Repeated
    /// once per task-table interval until the worker is heard again (its
    /// heartbeats are then reconciled) or [`RELEASE_REPEATS`] times.
    unheard: Vec<(NodeId, TaskId, u8), Q>,
    /// (Leader) the tables of the supervisors gathered in its term, see
    /// [`Gather`]; `None` when not leading (boxed: a follower and a worker
    /// carry no room for it).
    gather: Option<Box<Gather<V>>>,
    /// (Follower) whether this node's table is still to reach the leader it
    /// follows: sent in [`Body::TableReport`] parts when it learns of the
    /// leader, and again every task-table interval until a slice of that
    /// leader's table arrives (the leader sends none before its gather is done).
    reporting: bool,
}

/// How often a release to a worker the leader cannot hear is repeated.
const RELEASE_REPEATS: u8 = 10;

impl<const N: usize, const V: usize, const T: usize, const P: usize, const S: usize, const C: usize, const Q: usize>
    SupervisorRoom<N, V, T, P, S, C, Q>
{
    /// An empty table, no election yet.
    pub(crate) fn new(workers: Box<Workers<N, T, P, S, C, Q>>) -> Self {
        SupervisorRoom {
            election: None,
            certified: None,
            workers,
            tasks: IdTable::new(),
            leading: None,
            leader: None,
            table_cursor: 0,
            unheard: Vec::new(),
            gather: None,
            reporting: false,
        }
    }

    /// Starts the election from `hard_state`. `signing` is this node's key,
    /// the cluster authority and the voters' keys known so far (sorted by id,
    /// `None` for one not admitted yet), for the Byzantine fault model.
    #[allow(clippy::too_many_arguments)] // the election's inputs, each once
    pub(crate) fn start(
        &mut self,
        now: Instant,
        config: &OpsConfig,
        seed: u64,
        me: &NodeId,
        supervisors: &[NodeId],
        hard_state: HardState,
        signing: impl FnOnce() -> (IdentityKey, PublicIdentity, VoterTable),
    ) -> Result<(), OpsError> {
        let mut election = config.election;
        election.seed = seed;
        // Progress is the task table's: a supervisor whose table missed
        // checkpoints (it was partitioned) cannot win against voters that have
        // them, so a new leader never resumes a task from behind (Raft's
        // election restriction, with the table's checkpoints as the log).
        election.up_to_date = crate::election::height_at_least;
        let map = |e| match e {
            ElectionError::Config(c) => OpsError::Config(c),
            ElectionError::TooManyVoters(c) => OpsError::TooManySupervisors(c),
            _ => OpsError::NotASupervisor(me.clone()),
        };
        if election.fault_model.is_byzantine() {
            let (key, cluster, voters) = signing();
            let c = CertifiedElection::with_partial_keys(
                election,
                me.clone(),
                key,
                cluster,
                voters.entries(),
                hard_state,
                now,
            )
            .map_err(map)?;
            self.certified = Some(Box::new(c));
        } else {
            let e = LeaderElectionManager::restore_boxed(election, me.clone(), supervisors, hard_state, now)
                .map_err(map)?;
            self.election = Some(e);
        }
        self.note_progress();
        Ok(())
    }

    /// A graceful stop: a leader steps down.
    pub(crate) fn stop(&mut self, now: Instant) {
        if let Some(e) = self.election.as_mut() {
            e.step_down(now);
        }
        if let Some(c) = self.certified.as_mut() {
            c.step_down(now);
        }
    }

    /// The term this node leads, if it does.
    pub(crate) const fn leading(&self) -> Option<u64> {
        self.leading
    }

    /// The last leader the election named.
    pub(crate) const fn leader(&self) -> Option<&(NodeId, u64)> {
        self.leader.as_ref()
    }

    /// Whether supervisor `sender` may send leader messages (a notice, a task
    /// table, a leader heartbeat) for `term`: not when this node leads that
    /// term, nor when it knows another supervisor does (one leader per term).
    /// A term without a known leader is open: a new leader may be heard of by
    /// its first message.
    pub(crate) fn may_lead(&self, sender: &NodeId, term: u64) -> bool {
        if self.leading == Some(term) {
            return false;
        }
        let named = self.leader.as_ref().is_none_or(|(l, t)| *t != term || l == sender);
        let current = self.election().is_none_or(|e| e.term() != term || e.leader().is_none_or(|l| l == sender));
        named && current
    }

    /// The election, once started (under the certified one, in Byzantine mode).
    pub(crate) fn election(&self) -> Option<&Election<V, Q>> {
        match &self.certified {
            Some(c) => Some(c.election()),
            None => self.election.as_deref(),
        }
    }

    /// The certified election (Byzantine fault model), once started.
    pub(crate) fn certified_mut(&mut self) -> Option<&mut Certified<V, Q>> {
        self.certified.as_deref_mut()
    }

    /// Advances the election's timers.
    pub(crate) fn tick_election(&mut self, now: Instant) {
        if let Some(e) = self.election.as_deref_mut() {
            e.tick(now);
        }
        if let Some(c) = self.certified.as_deref_mut() {
            c.tick(now);
        }
    }

    /// The election's hard state to persist first.
    pub(crate) fn poll_hard_state(&mut self) -> Option<HardState> {
        match self.certified.as_deref_mut() {
            Some(c) => c.poll_hard_state(),
            None => self.election.as_deref_mut()?.poll_hard_state(),
        }
    }

    /// The election's next message, with its attachment (empty in crash-only
    /// mode and when a certified message carries none).
    pub(crate) fn poll_election_transmit(&mut self) -> Option<(Transmit, alloc::vec::Vec<u8>)> {
        match self.certified.as_deref_mut() {
            Some(c) => {
                let t = c.poll_transmit()?;
                let mut attachment = t.attachment;
                if attachment.as_slice() == [crate::election::ATTACH_NONE] {
                    attachment.clear();
                }
                Some((t.transmit, attachment))
            }
            None => Some((self.election.as_deref_mut()?.poll_transmit()?, alloc::vec::Vec::new())),
        }
    }

    /// The leader certificate of the current term, if this node holds one
    /// (Byzantine mode: its own as leader, its leader's as follower).
    pub(crate) fn leader_certificate(&self) -> Option<&QuorumCertificate> {
        self.certified.as_deref()?.leader_certificate()
    }

    /// The workers manager (only the leader's holds assignments).
    pub(crate) fn workers(&self) -> &Workers<N, T, P, S, C, Q> {
        &self.workers
    }

    /// The task table.
    pub(crate) fn tasks(&self) -> &IdTable<TaskId, TaskRecord, T> {
        &self.tasks
    }

    /// An election message; `false` if the election refused it (or has not started).
    pub(crate) fn on_election_message(&mut self, now: Instant, env: &Envelope) -> bool {
        self.election.as_mut().is_some_and(|e| e.step(now, env).is_ok())
    }

    /// (Byzantine mode) an election message with its `attachment`: the vote
    /// or certificate is checked before the election sees anything, and the
    /// election drops a term change the proof does not justify. `Err` if
    /// either refused it (nothing changed); `Ok(false)` if the election
    /// refused it otherwise (not a voter).
    pub(crate) fn on_certified_message(
        &mut self,
        now: Instant,
        env: &Envelope,
        attachment: &[u8],
    ) -> Result<bool, CertReject> {
        let Some(c) = self.certified.as_deref_mut() else { return Ok(false) };
        let unjustified = c.election().stats().uncertified;
        match c.step(now, env, attachment) {
            Ok(Ok(())) if c.election().stats().uncertified > unjustified => Err(CertReject::WrongClaim),
            Ok(Ok(())) => Ok(true),
            Ok(Err(reason)) => Err(reason),
            Err(_) => Ok(false),
        }
    }

    /// Worker `sender` announced itself: it joins the pools its certificate
    /// names with the certificate's slots (clamped to `1..=C`), and a worker
    /// quarantined by a graceful leave is assignable again when it rejoins. A
    /// worker quarantined by a detected crash stays quarantined until its
    /// recovery completes.
    pub(crate) fn on_worker_join<H: HealthView>(
        &mut self,
        now: Instant,
        sender: &NodeId,
        slots: u16,
        pools: &[TaskType],
        health: &H,
        out: &mut Outbox<Q>,
    ) {
        let w = &mut self.workers;
        let slots = slots.clamp(1, u16::try_from(C).unwrap_or(u16::MAX));
        for tt in pools {
            if w.register_pool(tt).is_err() || w.add_worker_with_slots(tt, sender, slots).is_err() {
                out.counters.table_full.bump();
            }
        }
        // A worker quarantined by its graceful leave has no crash record, so no
        // recovery will ever lift the quarantine: its rejoin does (unknown or
        // online again).
        let back = matches!(health.status(sender), None | Some(NodeStatus::Online));
        if self.leading.is_some() && back && w.worker(sender).is_some_and(|r| r.quarantined) {
            let _ = w.recover_worker(now, sender, health);
        }
    }

    /// `node` crashed or left: the leader moves its roles to other workers and
    /// tells it to let go.
    pub(crate) fn on_worker_lost<H: HealthView>(
        &mut self,
        now: Instant,
        node: &NodeId,
        health: &H,
        out: &mut Outbox<Q>,
    ) {
        if self.leading.is_none() || self.workers.worker(node).is_none() {
            return;
        }
        let mut tasks: heapless::Vec<TaskId, C> = heapless::Vec::new();
        for (t, _) in self.workers.worker_tasks(node) {
            let _ = tasks.push(t.clone());
        }
        let _ = self.workers.handle_worker_failure(now, node, health);
        for task in tasks {
            out.send(Out::Release { to: node.clone(), task: task.clone() });
            if self.unheard.push((node.clone(), task, RELEASE_REPEATS)).is_err() {
                out.counters.table_full.bump();
            }
        }
    }

    /// The election's progress: the sum of the table's checkpoint sequences.
    fn note_progress(&mut self) {
        let sum = self.tasks.iter().filter_map(|(_, r)| r.checkpoint).fold(0u64, |s, c| s.saturating_add(c.sequence));
        if let Some(e) = self.election.as_deref_mut() {
            e.set_progress(Some(sum));
        }
        if let Some(c) = self.certified.as_deref_mut() {
            c.set_progress(Some(sum));
        }
    }

    /// (Leader) a worker's heartbeat reported the roles it holds. Those of this
    /// term or older that this leader did not give it, or has since moved, are
    /// released (a stale primary after a partition heals); those it gave but the
    /// worker does not report (a lost assignment, an expired lease) are sent
    /// again, from the task's last checkpoint. A role of a newer term is a newer
    /// leader's business. A full report ([`MAX_HELD_ROLES`]) may leave roles out,
    /// so then nothing is sent again.
    pub(crate) fn reconcile(&mut self, worker: &NodeId, held: &[HeldRole], out: &mut Outbox<Q>) {
        let Some(term) = self.leading else { return };
        self.unheard.retain(|(w, _, _)| w != worker);
        let given = |task: &TaskId| {
            self.workers.task(task).is_some_and(|v| v.primaries().chain(v.backups()).any(|w| w == worker))
        };
        for h in held.iter().filter(|h| h.term <= term && !given(&h.task)) {
            out.send(Out::Release { to: worker.clone(), task: h.task.clone() });
        }
        if held.len() >= MAX_HELD_ROLES {
            return;
        }
        for (task, role) in self.workers.worker_tasks(worker) {
            if !held.iter().any(|h| h.task == *task) {
                let checkpoint = self.workers.checkpoint(task).or_else(|| self.tasks.get(task)?.checkpoint);
                self.assign(task, worker, role, checkpoint, out);
            }
        }
    }

    /// `node` recovered: the leader lifts its quarantine.
    pub(crate) fn on_worker_recovered<H: HealthView>(&mut self, now: Instant, node: &NodeId, health: &H) {
        if self.leading.is_some() {
            let _ = self.workers.recover_worker(now, node, health);
        }
    }

    /// After a crash sweep: the leader refreshes worker health, replaces
    /// workers that went down and assigns what is still unassigned.
    pub(crate) fn after_sweep<H: HealthView>(&mut self, now: Instant, health: &H, out: &mut Outbox<Q>) {
        if self.leading.is_some() {
            self.workers.refresh_health(now, health);
            self.workers.reassign(now, health);
            self.assign_pending(now, health, out);
        }
    }

    /// The leader's own timers: its notice and the next task-table slice.
    pub(crate) fn on_leader_timers(
        &mut self,
        now: Instant,
        timers: &mut TimerTable,
        config: &OpsConfig,
        out: &mut Outbox<Q>,
    ) {
        let Some(term) = self.leading else {
            // A follower's task-table timer repeats its report until the
            // leader's table shows the leader's gather is done.
            if timers.expire(Timer::TaskTable, now, config) {
                // Not to a leader of a term the election has left behind.
                let term = self.election().map(|e| e.term());
                if self.reporting && self.leader.as_ref().is_some_and(|(_, t)| Some(*t) == term) {
                    self.send_report(out);
                } else {
                    timers.disarm(Timer::TaskTable);
                }
            }
            return;
        };
        if timers.expire(Timer::LeaderNotice, now, config) {
            out.send(Out::LeaderNotice { term });
        }
        if timers.expire(Timer::TaskTable, now, config) {
            // Not before the gather is done: a slice tells the followers so.
            if !self.tasks.is_empty() && self.gathered() {
                out.send(Out::TaskTable);
            }
            for (worker, task, left) in self.unheard.iter_mut() {
                *left = left.saturating_sub(1);
                out.send(Out::Release { to: worker.clone(), task: task.clone() });
            }
            self.unheard.retain(|(_, _, left)| *left > 0);
        }
    }

    /// Follows the election: starts or stops leading, and notes a new leader.
    /// `verify` checks a checkpoint of the table against its primary's
    /// certificate: a new leader verifies those it has not, then gathers the
    /// tables of a quorum of supervisors (its own counts, see
    /// [`SupervisorRoom::on_table_report`]) before it assigns anything. A
    /// follower that learns of a new leader sends it its table.
    pub(crate) fn follow_election<H: HealthView>(
        &mut self,
        now: Instant,
        health: &H,
        timers: &mut TimerTable,
        config: &OpsConfig,
        verify: impl Fn(&TaskId, &Checkpoint, &CheckpointProof) -> bool,
        out: &mut Outbox<Q>,
    ) {
        let Some(e) = self.election() else { return };
        let term = e.term();
        let is_leader = e.is_leader();
        let leader = e.leader().cloned();
        match (self.leading, is_leader) {
            (None, true) => {
                self.leading = Some(term);
                out.emit_own(now, OpsEventKind::LeaderElected { term });
                out.send(Out::LeaderNotice { term });
                timers.arm(Timer::LeaderNotice, now, config);
                timers.arm(Timer::TaskTable, now, config);
                self.verify_table(verify, out);
                self.reporting = false;
                self.gather = Some(Box::new(Gather::new()));
                self.gather_done(now, health, out);
            }
            (Some(t), false) => {
                self.leading = None;
                self.gather = None;
                out.emit_own(now, OpsEventKind::SteppedDown { term: t });
                timers.disarm(Timer::LeaderNotice);
                timers.disarm(Timer::TaskTable);
                self.release_assignments(out);
            }
            _ => {}
        }
        let new = leader.map(|l| (l, term));
        if new.is_some() && new != self.leader {
            let follower = new.as_ref().is_some_and(|(l, _)| l != out.me());
            if let Some((l, t)) = new.as_ref()
                && follower
            {
                out.emit(now, l.clone(), OpsEventKind::LeaderElected { term: *t });
            }
            self.leader = new;
            if follower && self.leading.is_none() {
                self.reporting = true;
                self.send_report(out);
                timers.arm(Timer::TaskTable, now, config);
            }
        }
    }

    /// A follower keeps no assignments: the next leader makes its own. Its
    /// workers are told to let go: a worker drops the roles of others than the
    /// leader at its notice, but not those this node gave in its old term if it
    /// is elected again, so they would stay beside the new term's (over its
    /// slots, or a second role).
    fn release_assignments(&mut self, out: &mut Outbox<Q>) {
        self.unheard.clear();
        remove_each(
            &mut *self.workers,
            |w, batch| {
                for t in w.tasks() {
                    if batch.push(t.clone()).is_err() {
                        break;
                    }
                }
            },
            |w, t| {
                if let Some(view) = w.task(&t) {
                    for worker in view.primaries().chain(view.backups()) {
                        out.send(Out::Release { to: worker.clone(), task: t.clone() });
                    }
                }
                let _ = w.release_task_workers(&t);
            },
        );
        while self.workers.poll_event().is_some() {}
    }

    /// (Leader) assigns every task of the table that has no workers yet.
    fn assign_pending<H: HealthView>(&mut self, now: Instant, health: &H, out: &mut Outbox<Q>) {
        let Some(term) = self.leading else { return };
        if !self.gathered() {
            return;
        }
        let w = &mut self.workers;
        for i in 0..self.tasks.len() {
            let Some((task, r)) = self.tasks.get_index(i) else { break };
            if w.task(task).is_some() {
                continue;
            }
            let Ok(a) = w.assign_workers_to_task(now, task, &r.task_type, r.required, r.backups, health) else {
                continue;
            };
            if let (Some(cp), Some(p)) = (r.checkpoint, a.primaries.first()) {
                let _ = w.record_checkpoint(now, task, p, cp);
            }
            let roles = a.primaries.iter().map(|p| (p, TaskRole::Primary));
            for (worker, role) in roles.chain(a.backups.iter().map(|b| (b, TaskRole::Backup))) {
                let (task_type, checkpoint) = (r.task_type.clone(), r.checkpoint);
                out.send(Out::Assign { to: worker.clone(), term, task: task.clone(), task_type, role, checkpoint });
                out.emit(now, worker.clone(), OpsEventKind::TaskAssigned { task: task.clone(), role, checkpoint });
            }
        }
    }

    /// What the workers manager reported becomes assignments and events.
    pub(crate) fn drain_workers(&mut self, now: Instant, out: &mut Outbox<Q>) {
        while let Some(ev) = self.workers.poll_event() {
            match ev {
                WorkerEvent::WorkerReplaced { task, failed, role, replacement, from_backup, checkpoint, .. } => {
                    self.assign(&task, &replacement, role, checkpoint, out);
                    let kind = OpsEventKind::WorkerReplaced { task, replacement, role, from_backup, checkpoint };
                    out.emit(now, failed, kind);
                }
                WorkerEvent::PrimaryAdded { task, worker, checkpoint, .. } => {
                    self.assign(&task, &worker, TaskRole::Primary, checkpoint, out);
                    out.emit(now, worker, OpsEventKind::TaskAssigned { task, role: TaskRole::Primary, checkpoint });
                }
                WorkerEvent::BackupAdded { task, worker, .. } => {
                    let checkpoint = self.tasks.get(&task).and_then(|r| r.checkpoint);
                    self.assign(&task, &worker, TaskRole::Backup, checkpoint, out);
                    out.emit(now, worker, OpsEventKind::TaskAssigned { task, role: TaskRole::Backup, checkpoint });
                }
                WorkerEvent::TaskDegraded { task, primaries, required, .. } => {
                    out.emit_own(now, OpsEventKind::TaskDegraded { task, primaries, required })
                }
                WorkerEvent::TaskRestored { task, .. } => out.emit_own(now, OpsEventKind::TaskRestored { task }),
                WorkerEvent::WorkerQuarantined { .. } | WorkerEvent::WorkerRecovered { .. } => {}
            }
        }
    }

    /// Sends `worker` its `role` in `task` (a task of the table) in this node's term.
    fn assign(
        &self,
        task: &TaskId,
        worker: &NodeId,
        role: TaskRole,
        checkpoint: Option<Checkpoint>,
        out: &mut Outbox<Q>,
    ) {
        if let Some(r) = self.tasks.get(task) {
            let term = self.leading.unwrap_or(0);
            let (to, task, task_type) = (worker.clone(), task.clone(), r.task_type.clone());
            out.send(Out::Assign { to, term, task, task_type, role, checkpoint });
        }
    }
}
