//! The supervisor's task table and its gossip: every task it knows with
//! its highest checkpoint and the primary's signature on it; submissions,
//! checkpoint reports (the leader), slices of the leader's table (the
//! others), the verification of the checkpoints a new leader resumes from,
//! and the slices the leader sends. See the [parent module](super) for the
//! rules.

use super::*;

/// A task in a supervisor's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRecord {
    /// Its pool.
    pub task_type: TaskType,
    /// Primaries it needs.
    pub required: u16,
    /// Backups it wants.
    pub backups: u16,
    /// Its last acknowledged checkpoint.
    pub checkpoint: Option<Checkpoint>,
    /// The checkpoint's signature by the primary that reported it (present
    /// exactly when `checkpoint` is): carried in the task table, so every
    /// supervisor can verify the checkpoint a new leader resumes from.
    pub proof: Option<CheckpointProof>,
    /// Whether this node has verified `proof`: the leader verifies a report
    /// on receipt; a follower keeps the leader's table's checkpoints
    /// unverified and verifies one before it acts on it (when it starts
    /// leading, or when the leader's table contradicts it). A checkpoint that
    /// is not verified is never handed to a worker nor passed on, but in a
    /// report to a new leader, which verifies it before it takes it.
    pub verified: bool,
}

/// (Leader) the gather of a new leader's term: before it assigns any task
/// from a checkpoint, a new leader takes the tables of a quorum of
/// supervisors (its own counts), each sent after its sender learnt of this
/// leader, so from then on it refuses the tables of older terms. A checkpoint
/// a quorum held before is held by one of them: the leader resumes no task
/// from behind it (Raft's leader completeness, with the table as the log).
pub(crate) struct Gather<const V: usize> {
    /// Whether a quorum's tables are in.
    done: bool,
    /// Per reporting voter (its index among the voters): the parts it sends
    /// its table in, and how many of them arrived in order (a report is
    /// complete when all have; a lost or overtaken part waits for the repeat).
    reports: heapless::Vec<(usize, u16, u16), V>,
}

impl<const V: usize> Gather<V> {
    /// Nothing gathered yet.
    pub(crate) const fn new() -> Self {
        Gather { done: false, reports: heapless::Vec::new() }
    }

    /// Notes part `part` of `parts` from voter `index`.
    fn note(&mut self, index: usize, part: u16, parts: u16) {
        let at = match self.reports.iter().position(|(i, _, _)| *i == index) {
            Some(at) => at,
            None => {
                if self.reports.push((index, parts, 0)).is_err() {
                    return;
                }
                self.reports.len() - 1
            }
        };
        let Some((_, p, got)) = self.reports.get_mut(at) else { return };
        if *p != parts {
            // The table grew: its parts are counted again.
            (*p, *got) = (parts, 0);
        }
        if part == *got {
            *got = got.saturating_add(1);
        }
    }

    /// How many voters' reports are complete.
    fn complete(&self) -> usize {
        self.reports.iter().filter(|(_, parts, got)| got >= parts).count()
    }
}

impl TaskRecord {
    /// `task`'s entry in a task-table slice: what a follower needs to take
    /// the task over, its checkpoint with the primary's signature included.
    fn entry(&self, task: &TaskId) -> TaskEntry {
        TaskEntry {
            task: task.clone(),
            task_type: self.task_type.clone(),
            required: self.required,
            backups: self.backups,
            checkpoint: self.checkpoint,
            proof: self.proof.clone(),
        }
    }
}

impl<const N: usize, const V: usize, const T: usize, const P: usize, const S: usize, const C: usize, const Q: usize>
    SupervisorRoom<N, V, T, P, S, C, Q>
{
    /// A worker's checkpoint report. Only the leader takes one, and only from
    /// a primary of the task (its workers manager checks), into its workers
    /// manager and its table alike: a backup or a worker still holding a
    /// deposed leader's role must not move the checkpoint that a failover
    /// resumes from. A new checkpoint goes on to the other supervisors at once
    /// in a one-task [`Body::TaskTable`] slice. Followers cannot tell a task's
    /// primary, so they take checkpoints only from the leader's table, never
    /// from a report: any worker could otherwise move the checkpoint the next
    /// leader resumes from. `false` if not taken.
    pub(crate) fn on_checkpoint(
        &mut self,
        now: Instant,
        sender: &NodeId,
        r: &CheckpointReport,
        out: &mut Outbox<Q>,
    ) -> bool {
        if self.leading.is_none() || self.workers.record_checkpoint(now, &r.task, sender, r.checkpoint).is_err() {
            return false;
        }
        if let Some(rec) = self.tasks.get_mut(&r.task)
            && rec.checkpoint.is_none_or(|c| c.sequence < r.checkpoint.sequence)
        {
            rec.checkpoint = Some(r.checkpoint);
            rec.proof = Some(CheckpointProof { primary: sender.clone(), signature: r.signature });
            // The entrance verified the report's signature.
            rec.verified = true;
            self.note_progress();
            out.send(Out::TableEntry { task: r.task.clone() });
        }
        true
    }

    /// A slice of the leader's task table: new tasks join this table, known
    /// ones take a newer checkpoint. Taken only from the leader the election
    /// named for the slice's term; `false` otherwise (a deposed leader's late
    /// slice, or one that overtook the new leader's first heartbeat: slices
    /// repeat), and if this node leads (it keeps its own). So once this node
    /// has reported its table to a new leader it takes no older term's
    /// slice, which the leader's gather relies on. A slice also ends this
    /// node's report: the leader sends none before its gather is done.
    ///
    /// A checkpoint is believed only with its primary's signature, but a
    /// follower does not act on a checkpoint until it leads, so it keeps a
    /// newer checkpoint with its proof *unverified* (an Ed25519 verification
    /// per report per follower saved: most checkpoints are replaced by the
    /// next before anyone needs them). It is verified (`verify` checks it
    /// against the primary's certificate) before it is used: by
    /// [`SupervisorRoom::verify_table`] when this node starts leading, before
    /// it assigns anything, and here when the leader's table contradicts a
    /// checkpoint still unverified (an older or different one for the same
    /// task), so a forged checkpoint with a huge sequence cannot shadow the
    /// genuine ones that follow. One that does not verify (forged, its
    /// primary not admitted, or signed under a key the primary has since
    /// rotated) is dropped and counted in
    /// [`OpsCounters::bad_checkpoint_proofs`](crate::coordinator::OpsCounters); the rest
    /// of the slice is taken. Until then an unverified checkpoint counts in
    /// the election's progress only: a leader's table could only have
    /// inflated it, and a node that wins with it verifies before it resumes.
    pub(crate) fn on_task_table(
        &mut self,
        sender: &NodeId,
        t: &TaskTable,
        verify: impl Fn(&TaskId, &Checkpoint, &CheckpointProof) -> bool,
        out: &mut Outbox<Q>,
    ) -> bool {
        if self.leading.is_some() || self.leader.as_ref().is_none_or(|(l, term)| l != sender || *term != t.term) {
            return false;
        }
        // The leader sends its table once its gather is done: this node's
        // report is no longer needed.
        self.reporting = false;
        for e in &t.entries {
            let signed = match (e.checkpoint, &e.proof) {
                (Some(c), Some(p)) => Some((c, p)),
                _ => None,
            };
            if let Some(rec) = self.tasks.get_mut(&e.task) {
                let Some((c, p)) = signed else { continue };
                let take = match (rec.checkpoint, &rec.proof) {
                    (Some(old), Some(old_proof)) if old.sequence >= c.sequence => {
                        // The same checkpoint again (slices repeat): nothing to do.
                        // Otherwise the table contradicts what this node holds: an
                        // unverified one is checked now, and dropped if forged.
                        let same = old == c && old_proof == p;
                        if same || rec.verified {
                            false
                        } else if verify(&e.task, &old, old_proof) {
                            rec.verified = true;
                            false
                        } else {
                            out.counters.bad_checkpoint_proofs.bump();
                            true
                        }
                    }
                    _ => true,
                };
                if take {
                    rec.checkpoint = Some(c);
                    rec.proof = Some(p.clone());
                    rec.verified = false;
                }
            } else {
                let (checkpoint, proof) = signed.map_or((None, None), |(c, p)| (Some(c), Some(p.clone())));
                self.insert_entry(e, checkpoint, proof, false, out);
            }
        }
        self.note_progress();
        true
    }

    /// Verifies every checkpoint of the table not verified yet (`verify`
    /// checks one against its primary's certificate): before this node acts
    /// on its table as leader. One that does not verify is dropped (the task
    /// resumes from the start unless a verified report comes) and counted in
    /// [`OpsCounters::bad_checkpoint_proofs`](crate::coordinator::OpsCounters).
    pub(super) fn verify_table(
        &mut self,
        verify: impl Fn(&TaskId, &Checkpoint, &CheckpointProof) -> bool,
        out: &mut Outbox<Q>,
    ) {
        let mut dropped = false;
        for i in 0..self.tasks.len() {
            let Some((task, rec)) = self.tasks.get_index_mut(i) else { break };
            if rec.verified {
                continue;
            }
            match (rec.checkpoint, &rec.proof) {
                (Some(c), Some(p)) if verify(task, &c, p) => rec.verified = true,
                (None, None) => {}
                _ => {
                    out.counters.bad_checkpoint_proofs.bump();
                    rec.checkpoint = None;
                    rec.proof = None;
                    dropped = true;
                }
            }
        }
        if dropped {
            self.note_progress();
        }
    }

    /// Whether this node leads and its gather is done: only then does it assign.
    pub(super) fn gathered(&self) -> bool {
        self.leading.is_some() && self.gather.as_ref().is_some_and(|g| g.done)
    }

    /// (Leader) completes the gather if a quorum's tables are in (this
    /// node's counts): the table is sent to the followers (which ends their
    /// reports) and every task is assigned from its newest checkpoint.
    pub(super) fn gather_done<H: HealthView>(&mut self, now: Instant, health: &H, out: &mut Outbox<Q>) {
        let quorum = self.election().map_or(usize::MAX, |e| e.quorum());
        let Some(g) = self.gather.as_mut() else { return };
        if g.done || g.complete().saturating_add(1) < quorum {
            return;
        }
        g.done = true;
        self.note_progress();
        out.send(Out::TaskTable);
        self.workers.refresh_health(now, health);
        self.assign_pending(now, health, out);
    }

    /// (Leader) part of supervisor `sender`'s table, sent for this node's
    /// term. Before the gather is done every checkpoint newer than this
    /// node's is verified against its primary's certificate (`verify`) and
    /// taken (one that does not verify is counted in
    /// [`OpsCounters::bad_checkpoint_proofs`](crate::coordinator::OpsCounters)
    /// and changes nothing); under the crash-only fault model a task only
    /// the sender knows joins the table (a Byzantine supervisor could make
    /// one up: it does not). After the gather the report is answered with a
    /// slice of the table, so the sender stops. `false` if not taken (not
    /// leading that term, or not from another voter).
    pub(crate) fn on_table_report<H: HealthView>(
        &mut self,
        now: Instant,
        sender: &NodeId,
        r: &TableReport,
        health: &H,
        verify: impl Fn(&TaskId, &Checkpoint, &CheckpointProof) -> bool,
        out: &mut Outbox<Q>,
    ) -> bool {
        if self.leading != Some(r.term) || sender == out.me() {
            return false;
        }
        let Some(index) = self.election().and_then(|e| e.voters().position(|v| v == sender)) else { return false };
        let Some(g) = self.gather.as_ref() else { return false };
        if g.done {
            out.send(Out::TaskTable);
            return true;
        }
        let byzantine = self.certified.is_some();
        for e in &r.entries {
            self.adopt(e, byzantine, &verify, out);
        }
        if let Some(g) = self.gather.as_mut() {
            g.note(index, r.part, r.parts);
        }
        self.gather_done(now, health, out);
        true
    }

    /// (Leader, gathering) takes a reported entry's checkpoint if newer than
    /// the table's and proved; a task not in the table joins it only if
    /// `!byzantine` (with its checkpoint if proved).
    fn adopt(
        &mut self,
        e: &TaskEntry,
        byzantine: bool,
        verify: &impl Fn(&TaskId, &Checkpoint, &CheckpointProof) -> bool,
        out: &mut Outbox<Q>,
    ) {
        let signed = match (e.checkpoint, &e.proof) {
            (Some(c), Some(p)) => Some((c, p)),
            _ => None,
        };
        if let Some(rec) = self.tasks.get_mut(&e.task) {
            let Some((c, p)) = signed else { return };
            if rec.checkpoint.is_some_and(|old| old.sequence >= c.sequence) {
                return;
            }
            if !verify(&e.task, &c, p) {
                out.counters.bad_checkpoint_proofs.bump();
                return;
            }
            rec.checkpoint = Some(c);
            rec.proof = Some(p.clone());
            rec.verified = true;
        } else if !byzantine {
            let (checkpoint, proof) = match signed {
                Some((c, p)) if verify(&e.task, &c, p) => (Some(c), Some(p.clone())),
                Some(_) => {
                    out.counters.bad_checkpoint_proofs.bump();
                    (None, None)
                }
                None => (None, None),
            };
            let verified = checkpoint.is_some();
            self.insert_entry(e, checkpoint, proof, verified, out);
        }
    }

    /// Adds the task of table entry `e` with `checkpoint` and its `proof`
    /// (`verified` if its signature was checked); a full table is counted.
    fn insert_entry(
        &mut self,
        e: &TaskEntry,
        checkpoint: Option<Checkpoint>,
        proof: Option<CheckpointProof>,
        verified: bool,
        out: &mut Outbox<Q>,
    ) {
        let rec = TaskRecord {
            task_type: e.task_type.clone(),
            required: e.required,
            backups: e.backups,
            checkpoint,
            proof,
            verified,
        };
        if self.tasks.insert(e.task.clone(), rec).is_err() {
            out.counters.table_full.bump();
        }
    }

    /// How many parts this node's table is reported in.
    fn report_parts(&self) -> u16 {
        let parts = self.tasks.len().div_ceil(MAX_TABLE_ENTRIES).max(1);
        u16::try_from(parts).unwrap_or(u16::MAX).min(MAX_REPORT_PARTS)
    }

    /// (Follower) queues every part of this node's table for the leader.
    pub(super) fn send_report(&self, out: &mut Outbox<Q>) {
        for part in 0..self.report_parts() {
            out.send(Out::TableReport { part });
        }
    }

    /// (Follower) part `part` of this node's table for the leader it follows,
    /// with that leader; `None` if no report is due (leading, the leader's
    /// table arrived, or the part is past the table's end). Checkpoints go as
    /// held, verified or not: the leader verifies each before it takes it.
    pub(crate) fn table_report(&self, part: u16) -> Option<(NodeId, Body)> {
        if self.leading.is_some() || !self.reporting {
            return None;
        }
        let (leader, term) = self.leader.clone()?;
        let parts = self.report_parts();
        if part >= parts {
            return None;
        }
        let mut entries = heapless::Vec::new();
        let start = usize::from(part).saturating_mul(MAX_TABLE_ENTRIES);
        for i in start..start.saturating_add(MAX_TABLE_ENTRIES).min(self.tasks.len()) {
            if let Some((task, r)) = self.tasks.get_index(i) {
                let _ = entries.push(r.entry(task));
            }
        }
        Some((leader, Body::TableReport(TableReport { term, part, parts, entries })))
    }

    /// Adds `task` to the table; the leader assigns it at once if it can.
    pub(crate) fn submit<H: HealthView>(
        &mut self,
        now: Instant,
        task: TaskId,
        record: TaskRecord,
        health: &H,
        out: &mut Outbox<Q>,
    ) -> Result<(), TaskError> {
        if record.required == 0 {
            return Err(TaskError::NoPrimaries);
        }
        if self.tasks.contains_key(&task) {
            return Err(TaskError::Duplicate(task));
        }
        if let Err((task, _)) = self.tasks.insert(task, record) {
            return Err(TaskError::TableFull(CapacityError::new(task, T)));
        }
        self.assign_pending(now, health, out);
        Ok(())
    }

    /// (Leader) a slice of the task table with `task` alone, `None` when not
    /// leading or the task is not in the table.
    pub(crate) fn table_entry(&self, task: &TaskId) -> Option<Body> {
        let term = self.leading?;
        let r = self.tasks.get(task)?;
        let mut entries = heapless::Vec::new();
        let entry = r.entry(task);
        entries.push(entry).ok()?;
        Some(Body::TaskTable(TaskTable { term, entries }))
    }

    /// (Leader) the next slice of the task table, `None` when not leading.
    pub(crate) fn next_table_slice(&mut self) -> Option<Body> {
        let term = self.leading?;
        let mut entries = heapless::Vec::new();
        let len = self.tasks.len();
        for k in 0..len.min(MAX_TABLE_ENTRIES) {
            let i = (self.table_cursor + k) % len;
            if let Some((task, r)) = self.tasks.get_index(i) {
                let entry = r.entry(task);
                let _ = entries.push(entry);
            }
        }
        self.table_cursor = (self.table_cursor + entries.len()) % len.max(1);
        Some(Body::TaskTable(TaskTable { term, entries }))
    }
}
