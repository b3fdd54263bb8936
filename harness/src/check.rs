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
//!
//! For coordinators, every step ([`Cluster::check_liveness`]), liveness: once
//! the faults stop, a leader every up honest supervisor follows within a
//! bound (the Byzantine ones keep lying).
//!
//! For coordinators, every step ([`Cluster::check_roles_step`]), the leases on
//! roles: once a fault and its healing lie a lease time (and a margin) behind
//! (a partition or its heal, a crash, a restart, a stop or start, a new
//! leader), no task has more live primaries working than it requires; and no
//! worker takes up a primary role from a checkpoint older than one that is
//! durable: held in the task tables of a quorum of up supervisors (each has
//! held it since its last restart, as a restart empties a table). A
//! checkpoint a leader alone took is not durable yet, and one whose holders
//! crashed or restarted until fewer than a quorum hold it is durable no more.

use crate::cluster::Cluster;
use crate::node::{HarnessNode, OpsNode};
use pouw_netops::election::HardState;
use pouw_netops::workers::TaskRole;
use pouw_netops::{Duration, Instant, NodeId, TaskId};
use std::collections::{BTreeMap, HashMap};

/// The first `(node, destination)` whose next hops, followed through
/// `tables` (node `j`'s routes as `(destination, next hop)`; nodes numbered
/// by `index_of`), do not reach the destination within as many hops as there
/// are tables, from a node that is `up`; `None` if every walk ends at its
/// destination or at a node with no route to it.
fn first_routing_loop(
    tables: &[Vec<(NodeId, NodeId)>],
    up: impl Fn(usize) -> bool,
    index_of: impl Fn(&NodeId) -> Option<usize>,
) -> Option<(usize, &NodeId)> {
    // Each table's next hop by destination (the first route listed for a
    // destination, as a linear search would find): a supervisor routes to
    // every node, and the walks from every worker go through it.
    let hops: Vec<HashMap<&NodeId, &NodeId>> = tables
        .iter()
        .map(|t| {
            let mut m = HashMap::with_capacity(t.len());
            for (d, h) in t {
                m.entry(d).or_insert(h);
            }
            m
        })
        .collect();
    for (i, table) in tables.iter().enumerate().filter(|&(i, _)| up(i)) {
        for (dest, hop) in table {
            let mut at = hop;
            let mut steps = 1;
            while at != dest {
                if steps > tables.len() {
                    return Some((i, dest));
                }
                let Some(next) = index_of(at).and_then(|j| hops.get(j)).and_then(|t| t.get(dest).copied()) else {
                    break;
                };
                at = next;
                steps += 1;
            }
        }
    }
    None
}

/// A primary role a live worker holds: `(task, (term, giver), checkpoint sequence)`.
type HeldPrimary = (TaskId, (u64, NodeId), u64);

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
    /// The last fault or healing: a partition change, crash, restart, stop, start or new leader.
    last_fault: Instant,
    /// The last injected fault or healing: as `last_fault`, but not a new leader.
    last_injected: Instant,
    /// When a leader all up honest supervisors follow was first seen after
    /// `last_injected` (the fault it followed, the time it was seen).
    led_after: Option<(Instant, Instant)>,
    /// The network's partition changes already noted in `last_fault`.
    net_changes: u64,
    /// The primary roles each live worker held at the last step, by worker
    /// index: `(task, (term, giver), checkpoint sequence)` (none for a
    /// worker that was down), read again only when the worker changed.
    primaries: Vec<Vec<HeldPrimary>>,
    /// Each node's change count: bumped whenever the cluster drives it
    /// (delivers to it, ticks, drains, starts, stops or rebuilds it, or lends
    /// it out mutably). What a node reports (routes, roles, assignments) can
    /// differ only after a change, so the per-step checks re-read only the
    /// nodes whose count moved since they last read them.
    changes: Vec<u64>,
    /// `changes` as the worker roles check last read each worker (0: not read).
    primaries_seen: Vec<u64>,
    /// Every node's routes as [`Cluster::check_loop_free`] last read them
    /// ([`OpsNode::refresh_routes`]), the up flags it walked from, and
    /// whether that walk found no loop: the walk is a pure function of the
    /// two, so while neither changed it is not repeated (the sweeps' clusters
    /// are checked at every step, and routes change at few of them).
    routes: Vec<Vec<(NodeId, NodeId)>>,
    /// `changes` as the route check last read each node (0: not read).
    routes_seen: Vec<u64>,
    routes_up: Vec<bool>,
    loop_free: bool,
}

impl Record {
    pub(crate) fn new(n: usize) -> Self {
        Record {
            leaders: BTreeMap::new(),
            votes: vec![BTreeMap::new(); n],
            fault: None,
            last_fault: Instant::ZERO,
            last_injected: Instant::ZERO,
            led_after: None,
            net_changes: 0,
            primaries: vec![Vec::new(); n],
            changes: vec![1; n],
            primaries_seen: vec![0; n],
            routes: vec![Vec::new(); n],
            routes_seen: vec![0; n],
            routes_up: Vec::new(),
            loop_free: false,
        }
    }

    /// A fault happened or healed at `now`.
    pub(crate) fn fault_at(&mut self, now: Instant) {
        self.last_fault = self.last_fault.max(now);
        self.last_injected = self.last_injected.max(now);
    }

    /// A new leader at `now`: a disruption for the role leases, not a fault.
    fn leader_at(&mut self, now: Instant) {
        self.last_fault = self.last_fault.max(now);
    }

    pub(crate) fn leaders(&self) -> &BTreeMap<u64, usize> {
        &self.leaders
    }

    /// Node `i` may have changed (it was driven or replaced): its routes are
    /// read again at the next route check.
    pub(crate) fn node_changed(&mut self, i: usize) {
        if let Some(c) = self.changes.get_mut(i) {
            *c += 1;
        }
    }

    /// Whether node `i` changed since `seen` (one of the `*_seen` lists)
    /// noted it; notes it now.
    fn changed_since(changes: &[u64], seen: &mut [u64], i: usize) -> bool {
        match (changes.get(i), seen.get_mut(i)) {
            (Some(&c), Some(s)) if *s == c => false,
            (Some(&c), Some(s)) => {
                *s = c;
                true
            }
            _ => true,
        }
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
            self.observe_leader(s, term)?;
        }
        let changes = self.net().changes();
        if changes != self.record.net_changes {
            self.record.net_changes = changes;
            self.record.fault_at(self.now());
        }
        let in_flight = self.net().in_flight();
        if in_flight > in_flight_bound(self.len()) {
            return Err(self.violation(format!("{in_flight} datagrams in flight: unbounded")));
        }
        Ok(())
    }

    /// Supervisor `s` leads `term` now: a second leader of a term is a
    /// violation; the first is recorded (a disruption for the role leases).
    pub(crate) fn observe_leader(&mut self, s: usize, term: u64) -> Result<(), Violation> {
        match self.record.leaders.get(&term) {
            Some(&other) if other != s => {
                let what = format!("two leaders in term {term}: {} and {}", self.name(other), self.name(s));
                Err(self.violation(what))
            }
            Some(_) => Ok(()),
            None => {
                self.record.leaders.insert(term, s);
                self.record.leader_at(self.now());
                Ok(())
            }
        }
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
    /// The leader every up honest supervisor follows, if any: the up
    /// supervisor leading the highest term, when every up supervisor among the
    /// first `honest` (the others are Byzantine) is in its term and names it
    /// leader. In the Byzantine fault model an honest node names a leader only
    /// once it verified that leader's certificate, so this leader is certified.
    pub fn followed_leader(&self, honest: usize) -> Option<usize> {
        let l = self.leader()?;
        let term = self.node(l)?.leading()?;
        let id = self.ids().get(l)?;
        let follows = |i: usize| {
            self.node(i)
                .and_then(|n| n.status(self.local(i)).election)
                .is_some_and(|e| e.term == term && e.leader.as_ref() == Some(id))
        };
        (0..honest.min(self.supervisors())).filter(|&i| self.is_up(i)).all(follows).then_some(l)
    }

    /// Liveness after the faults, every step (after [`Cluster::check_step`],
    /// which notes partition changes): once `bound` has passed since the last
    /// injected fault or healing (a crash, restart, stop, start or partition
    /// change; a new leader is no fault), a leader every up honest supervisor
    /// follows ([`Cluster::followed_leader`]) has existed since that fault.
    /// Byzantine supervisors (from index `honest` on) keep lying: a permanent
    /// fault the bound must tolerate. Faults beyond the model last as long as
    /// they last and the bound counts from their end: a partition between
    /// supervisors, or fewer up honest supervisors than `quorum` (with
    /// Byzantine ones, an election needs the liars then). Returns how long
    /// after the fault the leader was first seen, at the step it is first seen.
    pub fn check_liveness(
        &mut self,
        honest: usize,
        quorum: usize,
        bound: Duration,
    ) -> Result<Option<Duration>, Violation> {
        let now = self.now();
        let sups = self.supervisors();
        let up_honest = (0..honest.min(sups)).filter(|&i| self.is_up(i)).count();
        if up_honest < quorum || (0..sups).any(|a| (0..sups).any(|b| a != b && self.net().is_blocked(a, b))) {
            self.record.last_injected = now;
            self.record.led_after = None;
            return Ok(None);
        }
        let since = self.record.last_injected.max(self.start_time());
        if self.record.led_after.is_some_and(|(fault, _)| fault == since) {
            return Ok(None);
        }
        if self.followed_leader(honest).is_some() {
            self.record.led_after = Some((since, now));
            return Ok(Some(now.saturating_duration_since(since)));
        }
        let waited = now.saturating_duration_since(since);
        if waited > bound {
            let views: Vec<String> = (0..sups)
                .filter(|&i| self.is_up(i))
                .filter_map(|i| {
                    let e = self.node(i)?.status(self.local(i)).election?;
                    let leader = e.leader.map_or("none".to_string(), |l| l.to_string());
                    let liar = if i >= honest { " (Byzantine)" } else { "" };
                    Some(format!("{}{liar}: term {}, {:?}, leader {leader}", self.name(i), e.term, e.role))
                })
                .collect();
            let what = format!(
                "no leader all up honest supervisors follow {:.3} s after the last fault (bound {:.3} s): {}",
                waited.as_secs_f64(),
                bound.as_secs_f64(),
                views.join("; ")
            );
            return Err(self.violation(what));
        }
        Ok(None)
    }

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

    /// The newest checkpoint sequence of `task` that is durable (0 if none),
    /// with the supervisors holding it: the highest one the task tables of a
    /// quorum of up supervisors hold (a liar's counts too: it is an honest
    /// node whose datagrams are tampered with, and two quorums share more
    /// supervisors than there are liars). A table is emptied by a restart, so
    /// what a supervisor holds it has held since its last restart.
    pub fn durable_checkpoint(&self, task: &TaskId) -> (u64, String) {
        let mut held: Vec<(u64, usize)> = Vec::new();
        let mut quorum = None;
        for s in (0..self.supervisors()).filter(|&s| self.is_up(s)) {
            let Some(node) = self.node(s) else { continue };
            quorum = quorum.or(node.quorum());
            held.push((node.table_checkpoint(task).unwrap_or(0), s));
        }
        let Some(quorum) = quorum.filter(|&q| q > 0) else { return (0, String::new()) };
        held.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let Some(&(newest, _)) = held.get(quorum - 1) else { return (0, String::new()) };
        let names: Vec<String> = held.iter().filter(|(seq, _)| *seq >= newest).map(|(_, s)| self.name(*s)).collect();
        (newest, names.join(", "))
    }

    /// The leases on roles, every step. Once the last fault or healing (see
    /// the module docs) lies `settle` behind (the lease time plus a margin for
    /// a release to arrive), no task is run by more live primaries than
    /// `required(task)`: a worker cut off from its leader has let go, and one
    /// that came back was told to. And a worker that takes up a primary role
    /// resumes from a checkpoint no older than the newest durable one of the
    /// task (see [`Cluster::durable_checkpoint`]).
    pub fn check_roles_step(&mut self, settle: Duration, required: impl Fn(&TaskId) -> usize) -> Result<(), Violation> {
        let now = self.now();
        if self.record.last_fault == Instant::ZERO {
            self.record.last_fault = self.start_time();
        }
        let quiet = now.saturating_duration_since(self.record.last_fault) >= settle;
        // Each live worker's primary roles, read again if it changed since the
        // last step (an unchanged one holds what it held, so takes up no role).
        let mut broken = None;
        let mut primaries = std::mem::take(&mut self.record.primaries);
        for (i, held) in primaries.iter_mut().enumerate().skip(self.supervisors()) {
            if !self.is_up(i) {
                held.clear();
                if let Some(s) = self.record.primaries_seen.get_mut(i) {
                    *s = 0;
                }
                continue;
            }
            if !Record::changed_since(&self.record.changes, &mut self.record.primaries_seen, i) {
                continue;
            }
            let Some(node) = self.node(i) else { continue };
            let now_held: Vec<HeldPrimary> = node
                .held()
                .into_iter()
                .filter(|(_, h)| h.role == TaskRole::Primary)
                .map(|(task, h)| (task, (h.term, h.from), h.checkpoint.map_or(0, |c| c.sequence)))
                .collect();
            for (task, role, from) in &now_held {
                let before = held.iter().find(|(t, _, _)| t == task).map(|(_, r, _)| r);
                if before == Some(role) || broken.is_some() {
                    continue;
                }
                let (newest, holders) = self.durable_checkpoint(task);
                if *from < newest {
                    let what = format!(
                        "{} resumes {task} (given by {} in term {}) at checkpoint #{from}, older than #{newest} held by a quorum ({holders})",
                        self.name(i),
                        role.1,
                        role.0
                    );
                    broken = Some(what);
                }
            }
            *held = now_held;
        }
        self.record.primaries = primaries;
        if let Some(what) = broken {
            return Err(self.violation(what));
        }
        if quiet {
            let mut holders: BTreeMap<&TaskId, usize> = BTreeMap::new();
            for (i, held) in self.record.primaries.iter().enumerate().skip(self.supervisors()) {
                if self.is_up(i) {
                    for (task, _, _) in held {
                        *holders.entry(task).or_default() += 1;
                    }
                }
            }
            for (task, n) in holders {
                let needed = required(task);
                if n > needed {
                    let since = now.saturating_duration_since(self.record.last_fault).as_secs_f64();
                    let what = format!(
                        "{n} live workers run {task} as primary (needs {needed}), {since:.1}s after the last fault"
                    );
                    return Err(self.violation(what));
                }
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

    /// No up node routes through a node down for `grace` or longer, and the
    /// cluster's next-hop tables are loop-free ([`Cluster::check_loop_free`]).
    pub fn check_routes(&mut self, grace: Duration) -> Result<(), Violation> {
        self.refresh_routes();
        for (i, table) in self.record.routes.iter().enumerate().filter(|&(i, _)| self.is_up(i)) {
            for (dest, hop) in table {
                if self.down_for(hop, grace) {
                    return Err(self.violation(format!("{} routes to {dest} via the down node {hop}", self.name(i))));
                }
            }
        }
        self.check_loop_free()
    }

    /// No forwarding loop across the cluster's next-hop tables: from every up
    /// node, following next hops towards each destination it routes to (a
    /// down node's with its last routes) reaches the destination within as
    /// many hops as there are nodes, or stops at a node with no route to it
    /// (a black hole while routes converge, not a loop).
    ///
    /// The walk is repeated only when a table or an up flag changed since the
    /// last walk that found no loop (the tables are compared in place,
    /// without copying the ones that did not change).
    pub fn check_loop_free(&mut self) -> Result<(), Violation> {
        let changed = self.refresh_routes();
        if self.record.loop_free && !changed && self.record.routes_up.as_slice() == self.up_flags() {
            return Ok(());
        }
        let up = self.up_flags().to_vec();
        let found =
            first_routing_loop(&self.record.routes, |i| up.get(i).copied().unwrap_or(false), |id| self.index_of(id))
                .map(|(i, dest)| (i, dest.clone()));
        self.record.loop_free = found.is_none();
        self.record.routes_up = up;
        match found {
            Some((i, dest)) => {
                // The walk, for the report: each hop as its node's table gives it.
                let mut path = vec![self.name(i)];
                let mut at = i;
                for _ in 0..=self.record.routes.len().min(16) {
                    let hop = self.record.routes.get(at).and_then(|t| t.iter().find(|(d, _)| *d == dest));
                    let Some((_, hop)) = hop else { break };
                    path.push(hop.to_string());
                    match self.index_of(hop) {
                        Some(j) if hop != &dest => at = j,
                        _ => break,
                    }
                }
                Err(self.violation(format!("routing loop from {} to {dest}: {}", self.name(i), path.join(" -> "))))
            }
            None => Ok(()),
        }
    }

    /// Brings the tables in `record.routes` of the nodes changed since they
    /// were last read up to date (a down node's last routes); whether any
    /// table changed.
    fn refresh_routes(&mut self) -> bool {
        let mut changed = false;
        let mut tables = std::mem::take(&mut self.record.routes);
        for (j, table) in tables.iter_mut().enumerate() {
            if !Record::changed_since(&self.record.changes, &mut self.record.routes_seen, j) {
                continue;
            }
            changed |= match self.last_state(j) {
                Some(n) => n.refresh_routes(table),
                None => !std::mem::take(table).is_empty(),
            };
        }
        self.record.routes = tables;
        changed
    }

    fn down_for(&self, id: &NodeId, grace: Duration) -> bool {
        self.index_of(id)
            .and_then(|j| self.down_since(j))
            .is_some_and(|d| self.now().saturating_duration_since(d) >= grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn route(d: &str, h: &str) -> (NodeId, NodeId) {
        (id(d), id(h))
    }

    #[test]
    fn a_routing_loop_is_found_and_a_black_hole_is_not_one() {
        let names = ["a", "b", "c", "d"];
        let index_of = |n: &NodeId| names.iter().position(|x| *x == n.as_str());
        // a → b → d; b's route to c goes back through a, a's through b.
        let mut tables = vec![
            vec![route("d", "b"), route("c", "b")],
            vec![route("d", "d"), route("c", "a")],
            vec![],
            vec![route("a", "b"), route("x", "c")],
        ];
        let all_up = |_| true;
        assert_eq!(first_routing_loop(&tables, all_up, index_of), Some((0, &id("c"))));
        // Only walks from up nodes are checked (b's loops the same way).
        assert_eq!(first_routing_loop(&tables, |i| i != 0, index_of), Some((1, &id("c"))));
        // b routes to c directly: no loop; d's route to x ends at c, which has
        // none (a black hole, not a loop).
        if let Some(r) = tables[1].get_mut(1) {
            r.1 = id("c");
        }
        assert_eq!(first_routing_loop(&tables, all_up, index_of), None);
        // The first route listed for a destination is the one followed.
        tables[1].push(route("c", "a"));
        assert_eq!(first_routing_loop(&tables, all_up, index_of), None);
        tables[1].insert(0, route("c", "a"));
        assert_eq!(first_routing_loop(&tables, all_up, index_of), Some((0, &id("c"))));
    }
}

#[cfg(test)]
mod route_memo_tests {
    use super::HeldPrimary;
    use crate::cluster::{Cluster, ClusterConfig, Spawn};
    use crate::identity::ClusterAuthority;
    use crate::net::NetConfig;
    use crate::node::OpsNode;
    use pouw_netops::coordinator::OpsConfig;
    use pouw_netops::preset::small;
    use pouw_netops::workers::TaskRole;
    use pouw_netops::{Duration, Instant, NodeId, NodeRole, TaskId, TaskType};

    type Node = small::NetworkOperationsManager;

    fn cluster(supervisors: usize, workers: usize) -> Cluster<Node> {
        let sups: Vec<NodeId> = (0..supervisors).map(|i| NodeId::new(&format!("sup-{i}")).unwrap()).collect();
        let mut ids = sups.clone();
        ids.extend((0..workers).map(|i| NodeId::new(&format!("w-{i}")).unwrap()));
        let authority = ClusterAuthority::new(1);
        let train = TaskType::new("train").unwrap();
        let factory = move |s: &Spawn<'_>| {
            let role = if s.index < supervisors { NodeRole::Supervisor } else { NodeRole::Worker };
            let (pools, slots) = if role == NodeRole::Worker { (vec![train.clone()], 1) } else { (vec![], 0) };
            let credentials = authority.credentials(s.id, role, &pools, slots, s.restarts)?;
            let mut n =
                Node::new_boxed(s.id.clone(), role, &sups, OpsConfig::default(), 1000 + s.index as u64, credentials)
                    .map_err(|e| e.to_string())?;
            n.restore_hard_state(s.hard_state.clone());
            Ok(n)
        };
        let mut cfg = ClusterConfig::new(7, supervisors);
        cfg.net = NetConfig {
            latency_min: Duration::from_millis(1),
            latency_max: Duration::from_millis(20),
            loss: 0.02,
            ..cfg.net
        };
        cfg.start = Instant::from_secs(1);
        let mut c = Cluster::new(cfg, ids, Box::new(factory)).unwrap();
        c.start_all();
        c
    }

    /// After every route check, the tables it walked are every node's routes
    /// as they are (a down node's last ones), and after every roles check the
    /// primary roles it kept are what every live worker holds: the nodes they
    /// skipped re-reading did not change, through deliveries, ticks, crashes,
    /// restarts, graceful stops and starts, and nodes driven directly.
    #[test]
    fn the_per_step_checks_read_every_nodes_current_state() {
        let mut c = cluster(3, 5);
        let task = TaskId::new("t").unwrap();
        let (mut changes, mut primaries) = (0, 0);
        let mut before: Vec<Vec<(NodeId, NodeId)>> = Vec::new();
        for step in 0..6_000u32 {
            match step {
                500 => {
                    let now = c.now();
                    let train = TaskType::new("train").unwrap();
                    for s in 0..c.supervisors() {
                        c.node_mut(s).unwrap().submit_task(now, task.clone(), train.clone(), 1, 1).unwrap();
                        c.drain(s);
                    }
                }
                1_500 => assert!(c.crash(4)),
                2_500 => assert!(c.stop(1)),
                3_500 => assert!(c.restart(4)),
                4_000 => assert!(c.start(1)),
                4_500 => assert!(c.crash(c.leader().unwrap())),
                _ => {}
            }
            let limit = c.now() + Duration::from_secs(1);
            c.step(limit).unwrap();
            c.check_loop_free().unwrap();
            let fresh: Vec<Vec<(NodeId, NodeId)>> =
                (0..c.len()).map(|j| c.last_state(j).map(|n| n.routes()).unwrap_or_default()).collect();
            assert_eq!(c.record.routes, fresh, "step {step}");
            changes += usize::from(fresh != before);
            before = fresh;
            c.check_roles_step(Duration::from_secs(10), |_| 1).unwrap();
            let held: Vec<Vec<HeldPrimary>> = (0..c.len())
                .map(|j| match c.node(j).filter(|_| j >= c.supervisors()) {
                    Some(n) => n
                        .held()
                        .into_iter()
                        .filter(|(_, h)| h.role == TaskRole::Primary)
                        .map(|(t, h)| (t, (h.term, h.from), h.checkpoint.map_or(0, |c| c.sequence)))
                        .collect(),
                    None => Vec::new(),
                })
                .collect();
            assert_eq!(c.record.primaries, held, "step {step}");
            primaries += held.iter().map(Vec::len).sum::<usize>();
        }
        // Routes changed along the way and primaries were held (the checks
        // had something to follow).
        assert!(changes > 10, "{changes} changes of routes");
        assert!(primaries > 100, "{primaries} primary roles seen");
    }
}
