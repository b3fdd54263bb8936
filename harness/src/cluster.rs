//! [`Cluster`]: nodes over the seeded [`Network`] in virtual time.
//!
//! The clock only moves when the harness moves it: to the next datagram arrival
//! or the next node deadline ([`Cluster::step`]), or to an instant the caller
//! chooses ([`Cluster::advance`] then [`Cluster::process_due`], for scenarios
//! that act at fixed times). Each node may run with a clock offset: it is
//! handed `now + offset`, and its deadlines are converted back. Every delivery
//! and every event is hashed (FNV-1a): the same seed gives the same hash.
//!
//! A node is up, crashed ([`Cluster::crash`]: its memory is gone, only
//! [`Cluster::restart`] rebuilds it) or stopped ([`Cluster::stop`]: a graceful
//! stop, the same node object [`Cluster::start`]s again, or a restart rebuilds
//! it). A node that is not up receives nothing and is never ticked.

use crate::check::{Record, Violation};
use crate::net::{NetConfig, Network};
use crate::node::{HarnessNode, OpsNode, Outgoing, Target};
use pouw_netops::Body;
use pouw_netops::auth::seal;
use pouw_netops::election::HardState;
use pouw_netops::hash::Fnv1a64;
use pouw_netops::{Duration, Instant, NodeId};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};

pub mod window;

/// Datagrams kept by [`Cluster::record_traffic`].
pub const TRAFFIC_MEMORY: usize = 256;

/// At most this many events wait for [`Cluster::poll_event`]; older ones are dropped (and counted).
pub const EVENT_QUEUE_CAP: usize = 1 << 20;

/// How a cluster is set up.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Seeds the network (and is reported in violations).
    pub seed: u64,
    /// Network misbehaviour at the start.
    pub net: NetConfig,
    /// Nodes `0..supervisors` are the supervisors (voters): the ones checked
    /// for one leader per term and reached by [`Target::Supervisors`].
    pub supervisors: usize,
    /// The virtual time at the start.
    pub start: Instant,
    /// Each node's clock offset (missing entries: zero).
    pub offsets: Vec<Duration>,
}

impl ClusterConfig {
    /// `supervisors` voters, a default network from `seed`, starting at `Instant::ZERO`, no offsets.
    pub fn new(seed: u64, supervisors: usize) -> Self {
        ClusterConfig { seed, net: NetConfig::default(), supervisors, start: Instant::ZERO, offsets: Vec::new() }
    }
}

/// What a node factory is asked to build.
#[derive(Clone, Copy, Debug)]
pub struct Spawn<'a> {
    /// The node's index.
    pub index: usize,
    /// The node's id.
    pub id: &'a NodeId,
    /// What it persisted (default for a new node).
    pub hard_state: &'a HardState,
    /// Restarts in the whole cluster so far, this one included (0 when the cluster is built).
    pub restarts: u64,
    /// The node's local time.
    pub now: Instant,
}

/// Builds a node: at the start and again at every restart.
pub type Factory<N> = Box<dyn FnMut(&Spawn<'_>) -> Result<Box<N>, String>>;

/// A cluster of nodes of type `N` (e.g. `dyn OpsNode` for mixed capacities).
pub struct Cluster<N: HarnessNode + ?Sized> {
    seed: u64,
    ids: Vec<NodeId>,
    /// Index of each id: looked up for every transmit (a hash map, not a
    /// tree of string comparisons; only ever looked up, never iterated).
    index: HashMap<NodeId, usize>,
    supervisors: usize,
    nodes: Vec<Box<N>>,
    up: Vec<bool>,
    /// How many of `up` are true (kept with every change of `up`).
    up_n: usize,
    stopped: Vec<bool>,
    down_since: Vec<Option<Instant>>,
    offsets: Vec<Duration>,
    hard: Vec<HardState>,
    factory: Factory<N>,
    net: Network,
    start: Instant,
    now: Instant,
    deadlines: BinaryHeap<Reverse<(Instant, usize)>>,
    deadline_of: Vec<Instant>,
    /// The nodes a step delivered to or ticked (kept to reuse its buffer).
    touched: Vec<usize>,
    step: u64,
    restarts: u64,
    /// Each node's incarnation: the restart count when it was last built.
    incarnation: Vec<u64>,
    /// The last datagrams delivered, `(to, incarnation of to, bytes)`, when recorded.
    traffic: Option<VecDeque<(usize, u64, Vec<u8>)>>,
    hash: Fnv1a64,
    /// Byzantine members: their outgoing datagrams pass through the tamper
    /// function, and what the others refuse of theirs is counted, not a violation.
    liars: Option<Liars>,
    events: EventQueue<N::Event>,
    /// The threads [`Cluster::process_window`] runs nodes on (1: the caller's).
    threads: usize,
    /// Each node's measured cost per event in a window, for balancing the
    /// threads (µs; a wall-clock measure that never changes what a node does).
    costs: Vec<f32>,
    /// Scratch of [`Cluster::process_window`]: each node's place among a
    /// window's jobs (all unset between windows).
    place: Vec<usize>,
    /// A step was started ([`Cluster::advance`]) and its nodes' work not
    /// yet done: a window at that instant continues it (its first round is
    /// that step, not another).
    open_step: bool,
    pub(crate) record: Record,
}

/// What a Byzantine member does to a datagram it sends: `(from, to, bytes)`
/// to the datagram sent instead, or `None` to withhold it.
pub type Tamper = Box<dyn FnMut(usize, usize, Vec<u8>) -> Option<Vec<u8>>>;

/// The Byzantine members of a cluster and what became of their datagrams.
struct Liars {
    nodes: Vec<usize>,
    tamper: Tamper,
    refused: BTreeMap<String, u64>,
    withheld: u64,
}

impl<N: HarnessNode + ?Sized> Cluster<N> {
    /// Builds one node per id with `factory` (not started yet: see [`Cluster::start_all`]).
    pub fn new(cfg: ClusterConfig, ids: Vec<NodeId>, mut factory: Factory<N>) -> Result<Self, String> {
        let n = ids.len();
        let offsets: Vec<Duration> = (0..n).map(|i| cfg.offsets.get(i).copied().unwrap_or(Duration::ZERO)).collect();
        let hard = vec![HardState::default(); n];
        let mut nodes = Vec::with_capacity(n);
        for (i, (id, (hs, off))) in ids.iter().zip(hard.iter().zip(&offsets)).enumerate() {
            nodes.push(factory(&Spawn { index: i, id, hard_state: hs, restarts: 0, now: cfg.start + *off })?);
        }
        Ok(Cluster {
            seed: cfg.seed,
            index: ids.iter().cloned().enumerate().map(|(i, id)| (id, i)).collect(),
            supervisors: cfg.supervisors.min(n),
            nodes,
            up: vec![true; n],
            up_n: n,
            stopped: vec![false; n],
            down_since: vec![None; n],
            offsets,
            hard,
            factory,
            net: Network::new(cfg.net, cfg.seed),
            start: cfg.start,
            now: cfg.start,
            deadlines: BinaryHeap::new(),
            deadline_of: vec![Instant::MAX; n],
            touched: Vec::new(),
            step: 0,
            restarts: 0,
            incarnation: vec![0; n],
            traffic: None,
            hash: Fnv1a64::new(),
            liars: None,
            events: EventQueue::default(),
            threads: 1,
            costs: Vec::new(),
            place: Vec::new(),
            open_step: false,
            record: Record::new(n),
            ids,
        })
    }

    /// Starts every node in index order, draining each right after its start.
    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start_node(i, "failed to start");
            self.drain(i);
        }
    }

    /// Starts node `i` at the cluster's local time; a refusal is recorded as
    /// a fault, `what` naming it.
    fn start_node(&mut self, i: usize, what: &str) {
        let local = self.local(i);
        self.record.node_changed(i);
        if let Some(node) = self.nodes.get_mut(i)
            && let Err(e) = node.start(local)
        {
            let what = format!("{} {what}: {e}", self.name(i));
            self.record.fault(what);
        }
    }

    // ---- what the cluster is ----

    /// Nodes, up or down.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many of the first nodes are supervisors.
    pub fn supervisors(&self) -> usize {
        self.supervisors
    }

    /// Every node's id, by index.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids
    }

    /// The index of `id`.
    pub fn index_of(&self, id: &NodeId) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// Node `i`'s id as text (`?` for a bad index).
    pub fn name(&self, i: usize) -> String {
        self.ids.get(i).map_or_else(|| "?".to_string(), |id| id.to_string())
    }

    /// The seed the cluster was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    // ---- time ----

    /// The global virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// When the cluster started.
    pub fn start_time(&self) -> Instant {
        self.start
    }

    /// Node `i`'s local time (`now` plus its offset).
    pub fn local(&self, i: usize) -> Instant {
        self.now + self.offsets.get(i).copied().unwrap_or(Duration::ZERO)
    }

    /// Node `i`'s clock offset.
    pub fn offset(&self, i: usize) -> Duration {
        self.offsets.get(i).copied().unwrap_or(Duration::ZERO)
    }

    /// Seconds from the start to `t`.
    pub fn secs(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// FNV-1a over every delivery and event so far.
    pub fn trace_hash(&self) -> u64 {
        self.hash.finish()
    }

    // ---- nodes ----

    /// Whether node `i` is up.
    pub fn is_up(&self, i: usize) -> bool {
        self.up.get(i).copied().unwrap_or(false)
    }

    /// Every node's up flag, by index.
    pub(crate) fn up_flags(&self) -> &[bool] {
        &self.up
    }

    /// How many nodes are up (a count kept with every change).
    pub fn up_count(&self) -> usize {
        self.up_n
    }

    /// Whether node `i` is stopped (gracefully, see [`Cluster::stop`]).
    pub fn is_stopped(&self, i: usize) -> bool {
        self.stopped.get(i).copied().unwrap_or(false)
    }

    /// Since when node `i` is down (crashed or stopped), if it is.
    pub fn down_since(&self, i: usize) -> Option<Instant> {
        self.down_since.get(i).copied().flatten()
    }

    /// Node `i` if it is up.
    pub fn node(&self, i: usize) -> Option<&N> {
        if self.is_up(i) { self.nodes.get(i).map(|n| &**n) } else { None }
    }

    /// Node `i` if it is up. Call [`Cluster::drain`] after driving it directly.
    pub fn node_mut(&mut self, i: usize) -> Option<&mut N> {
        if !self.is_up(i) {
            return None;
        }
        self.record.node_changed(i);
        self.nodes.get_mut(i).map(|n| &mut **n)
    }

    /// Node `i` even when it is down: a crashed node's last state, as it was
    /// at the crash; a stopped node as it stopped.
    pub fn last_state(&self, i: usize) -> Option<&N> {
        self.nodes.get(i).map(|n| &**n)
    }

    /// What node `i` persisted last.
    pub fn hard_state(&self, i: usize) -> Option<&HardState> {
        self.hard.get(i)
    }

    /// Node `i` crashes: it stops receiving and ticking, and its memory is
    /// gone (a restart builds it anew from its hard state). Messages it sent
    /// are still delivered. Returns whether it was up.
    pub fn crash(&mut self, i: usize) -> bool {
        if !self.is_up(i) {
            return false;
        }
        if let (Some(u), Some(d), Some(dl)) =
            (self.up.get_mut(i), self.down_since.get_mut(i), self.deadline_of.get_mut(i))
        {
            if *u {
                self.up_n = self.up_n.saturating_sub(1);
            }
            *u = false;
            *d = Some(self.now);
            *dl = Instant::MAX;
        }
        self.record.fault_at(self.now);
        true
    }

    /// A crashed (or stopped) node `i` restarts: the factory builds it again
    /// (with its persisted hard state), it starts and its first outputs are
    /// drained. Returns whether it was down and came back.
    pub fn restart(&mut self, i: usize) -> bool {
        if self.is_up(i) || i >= self.nodes.len() {
            return false;
        }
        self.restarts += 1;
        let local = self.local(i);
        let (Some(id), Some(hs)) = (self.ids.get(i), self.hard.get(i)) else { return false };
        let built = (self.factory)(&Spawn { index: i, id, hard_state: hs, restarts: self.restarts, now: local });
        let mut node = match built {
            Ok(node) => node,
            Err(e) => {
                let what = format!("{} could not be rebuilt: {e}", self.name(i));
                self.record.fault(what);
                return false;
            }
        };
        if let Err(e) = node.start(local) {
            let what = format!("{} failed to restart: {e}", self.name(i));
            self.record.fault(what);
        }
        if let Some(inc) = self.incarnation.get_mut(i) {
            *inc = self.restarts;
        }
        if let (Some(slot), Some(u), Some(d)) = (self.nodes.get_mut(i), self.up.get_mut(i), self.down_since.get_mut(i))
        {
            *slot = node;
            self.record.node_changed(i);
            if !*u {
                self.up_n = self.up_n.saturating_add(1);
            }
            *u = true;
            *d = None;
        }
        if let Some(s) = self.stopped.get_mut(i) {
            *s = false;
        }
        self.record.fault_at(self.now);
        self.drain(i);
        true
    }

    /// A stopped node `i` starts again: the same node object (not a rebuilt
    /// one, see [`Cluster::restart`]), with everything it kept through its
    /// stop; its first outputs are drained. Returns whether it was stopped and
    /// is up again (a crashed node cannot start: its memory is gone).
    pub fn start(&mut self, i: usize) -> bool {
        if !self.is_stopped(i) {
            return false;
        }
        self.start_node(i, "failed to start again");
        if let (Some(u), Some(s), Some(d)) = (self.up.get_mut(i), self.stopped.get_mut(i), self.down_since.get_mut(i)) {
            if !*u {
                self.up_n = self.up_n.saturating_add(1);
            }
            *u = true;
            *s = false;
            *d = None;
        }
        self.record.fault_at(self.now);
        self.drain(i);
        true
    }

    /// Marks node `i`, just stopped and drained, as down and stopped: it
    /// keeps its memory but receives nothing and is not ticked.
    fn mark_stopped(&mut self, i: usize) {
        if let (Some(u), Some(s), Some(d), Some(dl)) =
            (self.up.get_mut(i), self.stopped.get_mut(i), self.down_since.get_mut(i), self.deadline_of.get_mut(i))
        {
            if *u {
                self.up_n = self.up_n.saturating_sub(1);
            }
            *u = false;
            *s = true;
            *d = Some(self.now);
            *dl = Instant::MAX;
        }
    }

    /// The up supervisor leading the highest term, if any.
    pub fn leader(&self) -> Option<usize> {
        (0..self.supervisors).filter_map(|i| self.node(i)?.leading().map(|t| (t, i))).max().map(|(_, i)| i)
    }

    /// Every up supervisor that believes it leads.
    pub fn leaders(&self) -> Vec<usize> {
        (0..self.supervisors).filter(|&i| self.node(i).is_some_and(|n| n.leading().is_some())).collect()
    }

    /// Every leader seen so far, by term (the global safety record).
    pub fn leaders_by_term(&self) -> &BTreeMap<u64, usize> {
        self.record.leaders()
    }

    // ---- network ----

    /// The network.
    pub fn net(&self) -> &Network {
        &self.net
    }

    /// The network, to partition, heal or change its settings.
    pub fn net_mut(&mut self) -> &mut Network {
        &mut self.net
    }

    /// Replaces every partition with one between `side` and the rest (both directions).
    pub fn partition(&mut self, side: &[usize]) {
        self.net.heal();
        self.net.isolate(side, self.nodes.len());
    }

    // ---- events ----

    /// The next event some node reported, with that node's index, in the order they were drained.
    pub fn poll_event(&mut self) -> Option<(usize, N::Event)> {
        self.events.queue.pop_front().map(|r| (r.node, r.event))
    }

    /// [`Cluster::poll_event`] with when the node reported it (the step's
    /// cluster time, which [`Cluster::process_window`] runs past) and what it
    /// led then.
    pub fn poll_event_at(&mut self) -> Option<Reported<N::Event>> {
        self.events.queue.pop_front()
    }

    /// Events dropped because nobody polled them (more than [`EVENT_QUEUE_CAP`] waiting).
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped
    }

    // ---- running ----

    /// Moves node `i`'s outputs to its disk, the network and the event queue,
    /// and reschedules its deadline. Call it after driving a node directly.
    pub fn drain(&mut self, i: usize) {
        if !self.is_up(i) {
            return;
        }
        let now = self.now;
        let (liar, offset, n) = (self.is_liar(i), self.offset(i), self.nodes.len());
        self.record.node_changed(i);
        let Some(node) = self.nodes.get_mut(i) else { return };
        while let Some(hs) = node.poll_hard_state() {
            persist(&mut self.record, &mut self.hard, i, hs);
        }
        let mut wires = Wires::new(&mut self.net, &mut self.liars, &self.index, n, self.supervisors);
        while let Some(t) = node.poll_transmit() {
            wires.transmit(&mut self.record, now, i, liar, t);
        }
        let leading = node.leading();
        while let Some(e) = node.poll_event() {
            self.hash.write(format!("{i}:{e:?}").as_bytes());
            self.events.push(Reported { at: now, node: i, leading, event: e });
        }
        node.drain_other();
        let deadline = global_deadline(node.poll_timeout(), offset);
        self.reschedule(i, deadline);
    }

    /// Node `i`'s next deadline is `global` (cluster time): kept, and queued
    /// if it changed.
    fn reschedule(&mut self, i: usize, global: Instant) {
        if let Some(d) = self.deadline_of.get_mut(i)
            && global != *d
        {
            *d = global;
            if global != Instant::MAX {
                self.deadlines.push(Reverse((global, i)));
            }
        }
    }

    /// [`Cluster::drain`]s every up node, in index order.
    pub fn drain_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
    }

    /// Makes the nodes `liars` Byzantine: each datagram one of them sends to
    /// node `to` goes through `tamper(from, to, bytes)`, which passes it on,
    /// replaces it (a lie) or withholds it (`None`). What the others refuse
    /// of a liar's is counted by error ([`Cluster::liar_refusals`]) instead
    /// of being a violation; everything else is checked as ever.
    pub fn set_liars(&mut self, liars: Vec<usize>, tamper: Tamper) {
        self.liars = Some(Liars { nodes: liars, tamper, refused: BTreeMap::new(), withheld: 0 });
    }

    /// Datagrams of liars that were refused, by error, and how many they withheld.
    pub fn liar_refusals(&self) -> Option<(&BTreeMap<String, u64>, u64)> {
        self.liars.as_ref().map(|l| (&l.refused, l.withheld))
    }

    /// Whether node `i` is one of the liars ([`Cluster::set_liars`]).
    pub(crate) fn is_liar(&self, i: usize) -> bool {
        self.liars.as_ref().is_some_and(|l| l.nodes.contains(&i))
    }

    /// Keeps the last datagrams delivered, for an attacker that overhears
    /// traffic ([`crate::attack::Attacker`]).
    pub fn record_traffic(&mut self) {
        self.traffic.get_or_insert_with(VecDeque::new);
    }

    /// The last datagrams delivered, oldest first: `(to, incarnation of to, bytes)`.
    pub fn recent_traffic(&self) -> impl Iterator<Item = &(usize, u64, Vec<u8>)> + '_ {
        self.traffic.iter().flatten()
    }

    /// Node `i`'s incarnation: the cluster's restart count when it was last built.
    pub fn incarnation(&self, i: usize) -> u64 {
        self.incarnation.get(i).copied().unwrap_or(0)
    }

    /// When the next datagram arrives or the next deadline falls (`Instant::MAX`: nothing pending).
    pub fn next_time(&self) -> Instant {
        let net = self.net.next_arrival().unwrap_or(Instant::MAX);
        let node = self.deadlines.peek().map_or(Instant::MAX, |Reverse((t, _))| *t);
        net.min(node)
    }

    /// Starts a step at `t` (never backwards). Scenario actions at `t` go
    /// between this and [`Cluster::process_due`].
    pub fn advance(&mut self, t: Instant) {
        self.now = self.now.max(t);
        self.step += 1;
        self.open_step = true;
    }

    /// Delivers every datagram due by now, ticks every node whose deadline
    /// passed, drains them, then checks the invariants of every step
    /// ([`Cluster::check_step`]). A message a node refuses is a violation.
    pub fn process_due(&mut self) -> Result<(), Violation> {
        self.open_step = false;
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        while let Some(d) = self.net.pop_due(self.now) {
            if !self.is_up(d.to) {
                self.net.count_to_down_node();
                continue;
            }
            self.hash.write(&self.now.total_micros().to_le_bytes());
            self.hash.write(&[d.from as u8, (d.from >> 8) as u8, d.to as u8, (d.to >> 8) as u8]);
            self.hash.write(&d.bytes);
            let local = self.local(d.to);
            self.record.node_changed(d.to);
            let verdict = self.nodes.get_mut(d.to).map(|node| node.deliver(local, &d.bytes));
            let accepted = self.verdict(d.from, d.to, &d.bytes, verdict)?;
            touched.push(d.to);
            self.remember(d.to, accepted, d.bytes);
        }
        while let Some(i) = self.pop_deadline(self.now) {
            if let Some(d) = self.deadline_of.get_mut(i) {
                *d = Instant::MAX;
            }
            let local = self.local(i);
            self.record.node_changed(i);
            if let Some(node) = self.nodes.get_mut(i) {
                node.tick(local);
            }
            touched.push(i);
        }
        touched.sort_unstable();
        touched.dedup();
        for &i in &touched {
            self.drain(i);
        }
        self.touched = touched;
        self.check_step()
    }

    /// The next up node whose deadline falls at or before `last`, its queue
    /// entry taken (entries a later reschedule made stale are dropped on
    /// the way); its deadline is left to the caller.
    fn pop_deadline(&mut self, last: Instant) -> Option<usize> {
        while let Some(&Reverse((dl, i))) = self.deadlines.peek() {
            if dl > last {
                return None;
            }
            self.deadlines.pop();
            if self.deadline_of.get(i) == Some(&dl) && self.is_up(i) {
                return Some(i);
            }
        }
        None
    }

    /// Whether node `to` accepted a datagram from `from`, given what it said
    /// (`None`: there is no such node). A refusal is a violation, unless the
    /// sender is a liar: then it is counted by error.
    fn verdict(
        &mut self,
        from: usize,
        to: usize,
        bytes: &[u8],
        verdict: Option<Result<bool, String>>,
    ) -> Result<bool, Violation> {
        Ok(match verdict {
            Some(Ok(false)) if self.is_liar(from) => {
                if let Some(l) = self.liars.as_mut() {
                    *l.refused.entry("refused or ignored".to_string()).or_insert(0) += 1;
                }
                false
            }
            Some(Ok(accepted)) => accepted,
            Some(Err(e)) if self.is_liar(from) => {
                if let Some(l) = self.liars.as_mut() {
                    *l.refused.entry(e).or_insert(0) += 1;
                }
                false
            }
            Some(Err(e)) => {
                let kind = seal::parse(bytes)
                    .ok()
                    .and_then(|u| Body::decode_prefix(u.body).ok())
                    .map_or("undecodable", |(b, _)| b.kind());
                let (to, from) = (self.name(to), self.name(from));
                return Err(self.violation(format!("{to} refused a message ({kind}) from {from}: {e}")));
            }
            None => false,
        })
    }

    /// Keeps a datagram node `to` accepted for [`Cluster::recent_traffic`],
    /// when traffic is recorded: only what a node accepted is worth replaying
    /// to it (the datagram is delivered: its bytes move, no copy).
    fn remember(&mut self, to: usize, accepted: bool, bytes: Vec<u8>) {
        if accepted && let Some(t) = self.traffic.as_mut() {
            if t.len() == TRAFFIC_MEMORY {
                t.pop_front();
            }
            let inc = self.incarnation.get(to).copied().unwrap_or(0);
            t.push_back((to, inc, bytes));
        }
    }

    /// One step: to the next arrival or deadline if it is not past `limit`.
    /// Returns `Ok(false)` (with the clock at `limit`) when nothing is due by then.
    pub fn step(&mut self, limit: Instant) -> Result<bool, Violation> {
        let t = self.next_time().max(self.now);
        if t > limit {
            self.now = self.now.max(limit);
            return Ok(false);
        }
        self.advance(t);
        self.process_due()?;
        Ok(true)
    }

    /// Steps until `limit`, or until `stop` (asked after every step) says so;
    /// returns whether `stop` ended it.
    pub fn run_until(&mut self, limit: Instant, mut stop: impl FnMut(&Self) -> bool) -> Result<bool, Violation> {
        while self.step(limit)? {
            if stop(self) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Steps for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) -> Result<(), Violation> {
        let limit = self.now + d;
        self.run_until(limit, |_| false).map(|_| ())
    }

    /// A violation of `what`, stamped with the seed, step and time.
    pub fn violation(&self, what: String) -> Violation {
        Violation { seed: self.seed, step: self.step, at_secs: self.secs(self.now), what }
    }
}

impl<N: OpsNode + ?Sized> Cluster<N> {
    /// Node `i` stops gracefully: its [`OpsNode::stop`] runs (a leader steps
    /// down, peers are told it leaves), its last outputs are drained (and
    /// sent), then it is down but kept as it is: nothing is delivered to it and
    /// it is not ticked until [`Cluster::start`] (the same object) or
    /// [`Cluster::restart`] (rebuilt). Returns whether it was up.
    pub fn stop(&mut self, i: usize) -> bool {
        if !self.is_up(i) {
            return false;
        }
        let local = self.local(i);
        self.record.node_changed(i);
        if let Some(node) = self.nodes.get_mut(i) {
            node.stop(local);
        }
        self.drain(i);
        self.mark_stopped(i);
        self.record.fault_at(self.now);
        true
    }
}

/// Node `i` persisted `hs`: checked and kept as what it restarts from.
fn persist(record: &mut Record, hard: &mut [HardState], i: usize, hs: HardState) {
    record.persisted(i, &hs);
    if let Some(slot) = hard.get_mut(i) {
        *slot = hs;
    }
}

/// A node's local deadline in cluster time (`offset` behind its clock).
fn global_deadline(local: Instant, offset: Duration) -> Instant {
    if local == Instant::MAX {
        Instant::MAX
    } else {
        Instant::from_micros(local.total_micros().saturating_sub(offset.total_micros()))
    }
}

/// An event as a node reported it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reported<E> {
    /// When (cluster time: the step's).
    pub at: Instant,
    /// The node's index.
    pub node: usize,
    /// The term the node led right after that step, if it led.
    pub leading: Option<u64>,
    /// What it reported.
    pub event: E,
}

/// The events the nodes reported, until polled.
struct EventQueue<E> {
    queue: VecDeque<Reported<E>>,
    /// Dropped because nobody polled them (more than [`EVENT_QUEUE_CAP`] waiting).
    dropped: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { queue: VecDeque::new(), dropped: 0 }
    }
}

impl<E> EventQueue<E> {
    fn push(&mut self, r: Reported<E>) {
        if self.queue.len() >= EVENT_QUEUE_CAP {
            self.queue.pop_front();
            self.dropped += 1;
        }
        self.queue.push_back(r);
    }
}

/// Where a node's transmits go: the network, through the liars' tamper
/// function for a Byzantine sender.
struct Wires<'a> {
    net: &'a mut Network,
    liars: &'a mut Option<Liars>,
    index: &'a HashMap<NodeId, usize>,
    nodes: usize,
    supervisors: usize,
}

impl<'a> Wires<'a> {
    fn new(
        net: &'a mut Network,
        liars: &'a mut Option<Liars>,
        index: &'a HashMap<NodeId, usize>,
        nodes: usize,
        supervisors: usize,
    ) -> Self {
        Wires { net, liars, index, nodes, supervisors }
    }

    /// Sends node `i`'s transmit `t` at `now` to every node it targets (a
    /// transmit that could not be encoded is a fault).
    fn transmit(&mut self, record: &mut Record, now: Instant, i: usize, liar: bool, t: Result<Outgoing, String>) {
        let t = match t {
            Ok(t) => t,
            Err(e) => return record.fault(format!("node {i} could not encode a message: {e}")),
        };
        let n = self.nodes;
        match t.to {
            Target::Node(to) => {
                if let Some(&j) = self.index.get(&to) {
                    self.send(now, i, j, liar, t.bytes);
                }
            }
            Target::Supervisors => {
                for j in (0..self.supervisors).filter(|&j| j != i) {
                    self.send(now, i, j, liar, t.bytes.clone());
                }
            }
            Target::All => {
                for j in (0..n).filter(|&j| j != i) {
                    self.send(now, i, j, liar, t.bytes.clone());
                }
            }
        }
    }

    fn send(&mut self, now: Instant, i: usize, j: usize, liar: bool, bytes: Vec<u8>) {
        let bytes = match self.liars.as_mut() {
            Some(l) if liar => match (l.tamper)(i, j, bytes) {
                Some(b) => b,
                None => {
                    l.withheld += 1;
                    return;
                }
            },
            _ => bytes,
        };
        self.net.send(now, i, j, bytes);
    }
}
