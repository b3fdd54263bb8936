//! The invariant checker, one for every harness user.
//!
//! Every step ([`Cluster::check_step`], run by [`Cluster::process_due`]): never
//! two leaders in one term (over the whole run), never two votes by one node in
//! one term, the network's queue bounded, and no fault recorded while draining
//! (a node that failed to start or could not encode a message).
//!
//! For coordinators ([`OpsNode`]), which the caller runs when what they depend
//! on changed: no output left undrained, no worker over its slots and no worker
//! twice in one task at a leader, what live workers hold within their slots and
//! a task's needs, every task covered while enough workers live, no route
//! through a node down for longer than a grace period, and no routing loop.

use crate::cluster::Cluster;
use crate::node::{HarnessNode, OpsNode};
use pouw_netops::election::HardState;
use pouw_netops::workers::TaskRole;
use pouw_netops::{Duration, NodeId, TaskId};
use std::collections::BTreeMap;

/// An invariant broke.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The run's seed.
    pub seed: u64,
    /// The step at which it was seen.
    pub step: u64,
    /// Virtual seconds since the start.
    pub at_secs: f64,
    /// What broke.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invariant violated (seed {}, step {}, t={:.3}s): {}", self.seed, self.step, self.at_secs, self.what)
    }
}

impl std::error::Error for Violation {}

/// What the per-step checks remember over a run.
#[derive(Clone, Debug, Default)]
pub(crate) struct Record {
    leaders: BTreeMap<u64, usize>,
    votes: Vec<BTreeMap<u64, NodeId>>,
    fault: Option<String>,
}

impl Record {
    pub(crate) fn new(n: usize) -> Self {
        Record { leaders: BTreeMap::new(), votes: vec![BTreeMap::new(); n], fault: None }
    }

    pub(crate) fn leaders(&self) -> &BTreeMap<u64, usize> {
        &self.leaders
    }

    /// Keeps the first fault (reported by the next [`Cluster::check_step`]).
    pub(crate) fn fault(&mut self, what: String) {
        self.fault.get_or_insert(what);
    }

    /// Node `i` persisted `hs`: a second, different vote in one term is a fault.
    pub(crate) fn persisted(&mut self, i: usize, hs: &HardState) {
        let Some(v) = &hs.voted_for else { return };
        let Some(votes) = self.votes.get_mut(i) else { return };
        let prev = votes.entry(hs.term).or_insert_with(|| v.clone());
        if prev != v {
            let what = format!("node {i} voted for {prev} and {v} in term {}", hs.term);
            self.fault(what);
        }
    }
}

/// Most datagrams in flight a cluster of `n` nodes may have before the queue counts as unbounded.
pub fn in_flight_bound(n: usize) -> usize {
    64 * n * n + 100_000
}

impl<N: HarnessNode + ?Sized> Cluster<N> {
    /// The checks of every step: faults recorded while draining, one leader
    /// per term among the up supervisors, the network's queue bounded.
    pub fn check_step(&mut self) -> Result<(), Violation> {
        if let Some(what) = self.record.fault.take() {
            return Err(self.violation(what));
        }
        for s in 0..self.supervisors() {
            let Some(term) = self.node(s).and_then(|n| n.leading()) else { continue };
            match self.record.leaders.get(&term) {
                Some(&other) if other != s => {
                    let what = format!("two leaders in term {term}: {} and {}", self.name(other), self.name(s));
                    return Err(self.violation(what));
                }
                Some(_) => {}
                None => {
                    self.record.leaders.insert(term, s);
                }
            }
        }
        let in_flight = self.net().in_flight();
        if in_flight > in_flight_bound(self.len()) {
            return Err(self.violation(format!("{in_flight} datagrams in flight: unbounded")));
        }
        Ok(())
    }

    /// Every up node has polled all its output.
    pub fn check_drained(&self) -> Result<(), Violation> {
        for i in (0..self.len()).filter(|&i| self.is_up(i)) {
            if let Some(n) = self.node(i)
                && n.pending() != (0, 0)
            {
                return Err(self.violation(format!("{} has undrained output {:?}", self.name(i), n.pending())));
            }
        }
        Ok(())
    }
}

impl<N: OpsNode + ?Sized> Cluster<N> {
    /// At every up leader: no worker uses more slots than it has, no worker is
    /// in one task twice.
    pub fn check_leader_tables(&self) -> Result<(), Violation> {
        for s in 0..self.supervisors() {
            let Some(node) = self.node(s).filter(|n| n.leading().is_some()) else { continue };
            for (w, used, slots) in node.worker_load() {
                if used > slots {
                    return Err(self.violation(format!("{w} uses {used} of {slots} slots at {}", self.name(s))));
                }
            }
            for tw in node.assignments() {
                let mut all: Vec<&NodeId> = tw.primaries.iter().chain(tw.backups.iter()).collect();
                all.sort();
                if all.windows(2).any(|p| p.first() == p.get(1)) {
                    return Err(self.violation(format!("a worker is assigned twice to {}", tw.task)));
                }
            }
        }
        Ok(())
    }

    /// What the live workers (nodes from `supervisors()` on) actually hold:
    /// at most `slots` roles each, and no task run by more live primaries than
    /// `required(task)`. Meaningful once the cluster settled after a disruption.
    pub fn check_held_roles(&self, slots: u16, required: impl Fn(&TaskId) -> usize) -> Result<(), Violation> {
        let mut holders: BTreeMap<TaskId, usize> = BTreeMap::new();
        for i in self.supervisors()..self.len() {
            let Some(node) = self.node(i) else { continue };
            let held = node.held();
            if held.len() > usize::from(slots) {
                let what = format!("{} holds {} roles with {slots} slots", self.name(i), held.len());
                return Err(self.violation(what));
            }
            for (task, h) in held {
                if h.role == TaskRole::Primary {
                    *holders.entry(task).or_default() += 1;
                }
            }
        }
        for (task, n) in holders {
            let needed = required(&task);
            if n > needed {
                return Err(self.violation(format!("{n} live workers hold a primary role of {task} (needs {needed})")));
            }
        }
        Ok(())
    }

    /// The leader `l` has assigned all `tasks` with all their primaries, none
    /// of them down for `grace` or longer. Meaningful once settled with enough live slots.
    pub fn check_coverage(&self, l: usize, tasks: usize, grace: Duration) -> Result<(), Violation> {
        let Some(node) = self.node(l) else { return Ok(()) };
        let table = node.assignments();
        if table.len() < tasks {
            let what = format!("the leader {} has assigned {} of {tasks} tasks", self.name(l), table.len());
            return Err(self.violation(what));
        }
        for tw in &table {
            if tw.primaries.len() < usize::from(tw.required) {
                return Err(self.violation(format!("{} lacks primaries with enough live workers", tw.task)));
            }
            for p in &tw.primaries {
                if self.down_for(p, grace) {
                    return Err(self.violation(format!("{} keeps the long-dead {p} as primary", tw.task)));
                }
            }
        }
        Ok(())
    }

    /// No up node routes through a node down for `grace` or longer, and following
    /// next hops from any route reaches its destination without a loop.
    pub fn check_routes(&self, grace: Duration) -> Result<(), Violation> {
        for i in (0..self.len()).filter(|&i| self.is_up(i)) {
            let Some(node) = self.node(i) else { continue };
            for (dest, hop) in node.routes() {
                if self.down_for(&hop, grace) {
                    return Err(self.violation(format!("{} routes to {dest} via the down node {hop}", self.name(i))));
                }
                // Follow the next hops (a recently crashed node's with its last
                // routes): they must reach the destination without a loop.
                let mut at = hop;
                let mut steps = 0;
                while at != dest {
                    steps += 1;
                    if steps > self.len() {
                        return Err(self.violation(format!("routing loop from {} to {dest}", self.name(i))));
                    }
                    let Some(j) = self.index_of(&at) else { break };
                    let Some(next) = self.last_state(j).and_then(|n| n.routes().into_iter().find(|(d, _)| *d == dest))
                    else {
                        break;
                    };
                    at = next.1;
                }
            }
        }
        Ok(())
    }

    fn down_for(&self, id: &NodeId, grace: Duration) -> bool {
        self.index_of(id)
            .and_then(|j| self.down_since(j))
            .is_some_and(|d| self.now().saturating_duration_since(d) >= grace)
    }
}
