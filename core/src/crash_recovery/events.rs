//! Recovery events: the numbered ring and its queue.

use super::*;

/// What happened to a node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecoveryEventKind {
    /// The node's status changed.
    StatusChanged {
        /// Status before.
        from: NodeStatus,
        /// Status after.
        to: NodeStatus,
        /// Phi at the time of the change.
        phi: f64,
    },
    /// Phi reached the threshold: the node is considered crashed.
    CrashDetected {
        /// Phi at detection.
        phi: f64,
        /// Time since the node's last heartbeat.
        silence: Duration,
    },
    /// A recovery attempt began.
    RecoveryStarted {
        /// The strategy.
        strategy: RecoveryStrategy,
        /// Attempt number, from 1.
        attempt: u32,
    },
    /// The node is healthy again.
    RecoveryCompleted {
        /// The strategy of the successful attempt.
        strategy: RecoveryStrategy,
        /// Time from the attempt's start to success.
        took: Duration,
    },
    /// A recovery attempt failed; the node is now `Failed`.
    RecoveryFailed {
        /// The strategy of the failed attempt.
        strategy: RecoveryStrategy,
        /// Why.
        reason: RecoveryFailure,
    },
}

impl RecoveryEventKind {
    /// The snake-case event type used by the Python API.
    pub const fn as_str(&self) -> &'static str {
        match self {
            RecoveryEventKind::StatusChanged { .. } => "status_changed",
            RecoveryEventKind::CrashDetected { .. } => "crash_detected",
            RecoveryEventKind::RecoveryStarted { .. } => "recovery_started",
            RecoveryEventKind::RecoveryCompleted { .. } => "recovery_completed",
            RecoveryEventKind::RecoveryFailed { .. } => "recovery_failed",
        }
    }
}

/// One entry of the recovery event ring.
#[derive(Clone, Debug, PartialEq)]
pub struct RecoveryEvent {
    /// Sequence number, from 0, increasing by one per event ever recorded.
    pub seq: u64,
    /// When it happened (caller time, clamped monotonic).
    pub at: Instant,
    /// The node concerned.
    pub node: NodeId,
    /// What happened.
    pub kind: RecoveryEventKind,
}
impl<const N: usize, const W: usize, const E: usize> CrashRecoveryManager<N, W, E> {
    pub(super) fn push_event(&mut self, at: Instant, node: &NodeId, kind: RecoveryEventKind) {
        let event = RecoveryEvent { seq: self.next_seq, at, node: node.clone(), kind };
        self.next_seq = self.next_seq.saturating_add(1);
        if self.events.is_full() {
            let _ = self.events.pop_front();
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
        if self.events.push_back(event).is_err() {
            // Only possible with E == 0: the event is counted as dropped.
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
    }

    /// The retained events, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &RecoveryEvent> + '_ {
        self.events.iter()
    }

    /// Retained events with a sequence number of at least `seq`, oldest first:
    /// a consumer that remembers the next sequence it expects reads each event once.
    pub fn events_since(&self, seq: u64) -> impl Iterator<Item = &RecoveryEvent> + '_ {
        self.events.iter().filter(move |e| e.seq >= seq)
    }

    /// The next event not yet polled, oldest first: each retained event is
    /// delivered once, in sequence order. Polling does not remove events from
    /// the ring, so [`CrashRecoveryManager::events`] and
    /// [`CrashRecoveryManager::events_since`] still see them; events pushed
    /// out of the ring before they were polled are skipped (they are counted
    /// in [`CrashRecoveryManager::dropped_events`]). O(1).
    pub fn poll_event(&mut self) -> Option<RecoveryEvent> {
        let oldest = self.events.front()?.seq;
        let offset = self.polled_seq.saturating_sub(oldest);
        let event = self.events.get(usize::try_from(offset).ok()?)?.clone();
        self.polled_seq = event.seq.saturating_add(1);
        Some(event)
    }

    /// The sequence number the next event will get.
    pub const fn next_event_seq(&self) -> u64 {
        self.next_seq
    }

    /// Events pushed out of the ring by newer ones.
    pub const fn dropped_events(&self) -> u64 {
        self.dropped_events
    }
}
