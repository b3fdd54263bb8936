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
    /// is not verified is never handed to a worker nor passed on.
    pub verified: bool,
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
    /// repeat), and if this node leads (it keeps its own).
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
                let rec = TaskRecord {
                    task_type: e.task_type.clone(),
                    required: e.required,
                    backups: e.backups,
                    checkpoint,
                    proof,
                    verified: false,
                };
                if self.tasks.insert(e.task.clone(), rec).is_err() {
                    out.counters.table_full.bump();
                }
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
