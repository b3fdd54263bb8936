//! The coordinator's timer table: one enum of timers, one array of deadlines,
//! and the one place that computes [`NetworkOperationsManager::poll_timeout`].
//!
//! Every periodic duty of a node is a [`Timer`], and one more deadline: the
//! earliest lease on a worker's roles ([`Timer::Lease`], set with
//! [`TimerTable::set`] whenever the roles change, not periodic). A timer is either armed (a
//! deadline) or disarmed ([`Instant::MAX`]); `tick` asks [`TimerTable::expire`]
//! whether a timer is due, which re-arms it one period after its last deadline
//! (or after `now`, when the node fell behind, so a long pause never causes a
//! burst of catch-up work). Leader-only timers are armed when the node starts
//! leading and disarmed when it stops, so "am I leading" needs no check here.
//! The election keeps its own deadline (its randomized timeout) and is merged
//! in by the coordinator.
//!
//! [`NetworkOperationsManager::poll_timeout`]: super::NetworkOperationsManager::poll_timeout

use super::config::OpsConfig;
use crate::time::{Duration, Instant};

/// A periodic duty of the coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Send this node's health heartbeat.
    Heartbeat,
    /// Sweep the crash detector (and, on the leader, refresh worker health and reassign).
    Sweep,
    /// Check tunnel health and refresh routes.
    TunnelCheck,
    /// Repeat this node's membership announcement.
    Membership,
    /// Seal the open history batch.
    HistoryFlush,
    /// (Leader) repeat the leader notice.
    LeaderNotice,
    /// (Leader) send the next slice of the task table.
    TaskTable,
    /// (Worker) the earliest lease on a held role runs out.
    Lease,
}

impl Timer {
    /// Every timer, in the order `tick` serves them.
    pub(crate) const ALL: [Timer; 8] = [
        Timer::Heartbeat,
        Timer::Sweep,
        Timer::TunnelCheck,
        Timer::Membership,
        Timer::HistoryFlush,
        Timer::LeaderNotice,
        Timer::TaskTable,
        Timer::Lease,
    ];

    const fn slot(self) -> usize {
        self as usize
    }

    /// The timer's period under `config`.
    pub(crate) const fn period(self, config: &OpsConfig) -> Duration {
        match self {
            Timer::Heartbeat => config.heartbeat_interval,
            Timer::Sweep => config.sweep_interval,
            Timer::TunnelCheck => config.tunnel_check_interval,
            Timer::Membership => config.membership_interval,
            Timer::HistoryFlush => config.history_flush_interval,
            Timer::LeaderNotice => config.leader_notice_interval,
            Timer::TaskTable => config.task_table_interval,
            Timer::Lease => config.lease_timeout,
        }
    }
}

/// Deadlines of every [`Timer`]; [`Instant::MAX`] is disarmed.
#[derive(Clone, Debug)]
pub(crate) struct TimerTable {
    deadlines: [Instant; Timer::ALL.len()],
}

impl TimerTable {
    /// Every timer disarmed.
    pub(crate) const fn new() -> Self {
        TimerTable { deadlines: [Instant::MAX; Timer::ALL.len()] }
    }

    /// Arms `timer` one period after `now`.
    pub(crate) fn arm(&mut self, timer: Timer, now: Instant, config: &OpsConfig) {
        if let Some(d) = self.deadlines.get_mut(timer.slot()) {
            *d = now + timer.period(config);
        }
    }

    /// Sets `timer`'s deadline to `at` ([`Instant::MAX`] disarms it).
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        if let Some(d) = self.deadlines.get_mut(timer.slot()) {
            *d = at;
        }
    }

    /// Disarms `timer`.
    pub(crate) fn disarm(&mut self, timer: Timer) {
        if let Some(d) = self.deadlines.get_mut(timer.slot()) {
            *d = Instant::MAX;
        }
    }

    /// Disarms every timer.
    pub(crate) fn disarm_all(&mut self) {
        self.deadlines = [Instant::MAX; Timer::ALL.len()];
    }

    /// Whether `timer` is due at `now`; if so it is re-armed for its next period
    /// (one period after its deadline, or after `now` if it fell behind).
    pub(crate) fn expire(&mut self, timer: Timer, now: Instant, config: &OpsConfig) -> bool {
        let Some(d) = self.deadlines.get_mut(timer.slot()) else { return false };
        if now < *d {
            return false;
        }
        let next = *d + timer.period(config);
        *d = if next > now { next } else { now + timer.period(config) };
        true
    }

    /// The earliest armed deadline ([`Instant::MAX`] when none is).
    pub(crate) fn next(&self) -> Instant {
        self.deadlines.iter().copied().min().unwrap_or(Instant::MAX)
    }

    /// `timer`'s deadline ([`Instant::MAX`] when disarmed).
    #[cfg(test)]
    pub(crate) fn deadline(&self, timer: Timer) -> Instant {
        self.deadlines.get(timer.slot()).copied().unwrap_or(Instant::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disarmed_timers_never_fire_and_poll_as_max() {
        let config = OpsConfig::default();
        let mut t = TimerTable::new();
        assert_eq!(t.next(), Instant::MAX);
        for timer in Timer::ALL {
            assert!(!t.expire(timer, Instant::from_secs(1_000_000), &config));
        }
    }

    #[test]
    fn a_due_timer_rearms_one_period_after_its_deadline() {
        let config = OpsConfig::default();
        let mut t = TimerTable::new();
        t.arm(Timer::Heartbeat, Instant::from_secs(10), &config);
        assert_eq!(t.next(), Instant::from_secs(11));
        assert!(!t.expire(Timer::Heartbeat, Instant::from_millis(10_999), &config));
        // Late by 300 ms: the next deadline keeps the cadence.
        assert!(t.expire(Timer::Heartbeat, Instant::from_millis(11_300), &config));
        assert_eq!(t.deadline(Timer::Heartbeat), Instant::from_secs(12));
        // Far behind: the next deadline is one period after now, no burst.
        assert!(t.expire(Timer::Heartbeat, Instant::from_secs(100), &config));
        assert_eq!(t.deadline(Timer::Heartbeat), Instant::from_secs(101));
        assert!(!t.expire(Timer::Heartbeat, Instant::from_secs(100), &config));
    }

    #[test]
    fn next_is_the_earliest_armed_deadline() {
        let config = OpsConfig::default();
        let mut t = TimerTable::new();
        for timer in Timer::ALL {
            t.arm(timer, Instant::ZERO, &config);
        }
        assert_eq!(t.next(), Instant::ZERO + config.sweep_interval);
        t.set(Timer::Lease, Instant::from_millis(100));
        assert_eq!(t.next(), Instant::from_millis(100), "the lease deadline counts");
        t.disarm(Timer::Lease);
        t.disarm(Timer::Sweep);
        assert_eq!(t.next(), Instant::ZERO + config.heartbeat_interval.min(config.task_table_interval));
        t.disarm_all();
        assert_eq!(t.next(), Instant::MAX);
    }
}
