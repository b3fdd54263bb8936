//! Crash recovery's events become coordinator work: a detected crash starts a
//! recovery, moves the node's roles (on the leader) and takes it out of the
//! mesh view; a completed recovery brings it back.

use super::{NetworkOperationsManager, OpsEventKind, Room};
use crate::crash_recovery::{RecoveryEventKind, RecoveryStrategy};
use crate::id::NodeId;
use crate::time::Instant;

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
> NetworkOperationsManager<N, HW, V, T, P, S, C, L, Q, B>
{
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
}
