//! A whole cluster of real coordinators in virtual time over the seeded [`Network`]:
//! scenarios, invariants after every step, metrics, a timeline and a trace hash.

use crate::net::{NetConfig, Network};
use crate::node::SimNode;
use pouw_netops::hash::Fnv1a64;
use pouw_netops::ops::{Destination, OpsConfig, OpsEventKind};
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Duration, Instant, NetworkOperationsManager, NodeId, NodeRole, Rng, TaskId, TaskType};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt::Write as _;

/// Supervisor capacities: clusters up to 1024 nodes and 1024 tasks.
pub type SimSupervisor = NetworkOperationsManager<1024, 32, 8, 1024, 4, 4, 2048, 2048, 4>;
/// Worker capacities: it tracks at most 8 supervisors and holds a few roles.
pub type SimWorker = NetworkOperationsManager<16, 32, 8, 16, 4, 4, 32, 64, 4>;

/// Which story the cluster plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Start, elect, assign, the leader crashes, workers crash under load, a
    /// supervisor is partitioned away and heals, crashed nodes come back.
    Story,
    /// Tasks assigned, then one random worker crashes every 10 s and comes back 30 s later.
    Churn,
}

/// A simulation run's parameters.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Seeds the network, the clock offsets, the election jitter and the scenario's choices.
    pub seed: u64,
    /// Supervisors (at most 8).
    pub supervisors: usize,
    /// Workers.
    pub workers: usize,
    /// Virtual run time.
    pub duration: Duration,
    /// Network misbehaviour.
    pub net: NetConfig,
    /// Health heartbeat interval of every node.
    pub heartbeat: Duration,
    /// The story.
    pub scenario: Scenario,
    /// Tasks submitted (default: one per two workers).
    pub tasks: Option<usize>,
    /// Slots per worker.
    pub slots: u16,
    /// Largest clock offset between nodes.
    pub max_clock_offset: Duration,
    /// Keep a readable timeline.
    pub timeline: bool,
    /// zlib level of every node's message history.
    pub history_level: u8,
    /// The failure detector's acceptable heartbeat pause (`None`: the coordinator default, 4 s).
    pub acceptable_pause: Option<Duration>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            supervisors: 5,
            workers: 40,
            duration: Duration::from_secs(240),
            net: NetConfig {
                latency_min: Duration::from_millis(1),
                latency_max: Duration::from_millis(20),
                loss: 0.01,
                duplicate: 0.005,
            },
            heartbeat: Duration::from_secs(1),
            scenario: Scenario::Story,
            tasks: None,
            slots: 2,
            max_clock_offset: Duration::from_millis(500),
            timeline: true,
            history_level: 6,
            acceptable_pause: None,
        }
    }
}

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

/// One injected crash and what the cluster made of it.
#[derive(Clone, Debug, PartialEq)]
pub struct CrashRecord {
    /// The node.
    pub node: String,
    /// Whether it was a supervisor.
    pub supervisor: bool,
    /// Seconds since the start.
    pub at: f64,
    /// Seconds from the crash to the first detection by a supervisor (any node for a supervisor).
    pub detection_delay: Option<f64>,
    /// Seconds from that detection to each replacement of one of its roles, by the detecting leader.
    pub replacement_delays: Vec<f64>,
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    /// The seed.
    pub seed: u64,
    /// Nodes.
    pub nodes: usize,
    /// Virtual seconds run.
    pub duration_secs: f64,
    /// Steps run (each one followed by the invariant checks).
    pub steps: u64,
    /// Seconds to the first leader.
    pub time_to_first_leader: Option<f64>,
    /// Every injected crash.
    pub crashes: Vec<CrashRecord>,
    /// Crash detections of nodes that were up and reachable.
    pub false_suspicions: u64,
    /// Crash detections of nodes that were up but cut off by a partition.
    pub partition_detections: u64,
    /// Node-hours observed (nodes up × time), the denominator of the false-suspicion rate.
    pub node_hours: f64,
    /// Distinct leader terms after the first.
    pub leader_changes: u64,
    /// Datagrams and bytes handed to the network.
    pub messages_sent: u64,
    /// Bytes handed to the network.
    pub bytes_sent: u64,
    /// Datagrams lost, duplicated, cut by partitions.
    pub lost: u64,
    /// Copies created.
    pub duplicated: u64,
    /// Dropped by partitions.
    pub partitioned: u64,
    /// History: raw bytes and compressed bytes over the live nodes.
    pub history_raw_bytes: u64,
    /// Compressed bytes.
    pub history_compressed_bytes: u64,
    /// Routes with a next hop over all live nodes at the end.
    pub mesh_routes: u64,
    /// Routes of the final leader.
    pub leader_routes: u64,
    /// Tasks and how many have all their primaries at the end (per the leader).
    pub tasks: usize,
    /// Tasks whose primaries are all there at the end.
    pub tasks_complete: usize,
    /// Items dropped by a full queue anywhere (counted, never silent).
    pub queue_drops: u64,
    /// Settled checks that found a live worker holding more roles than its
    /// slots, or a task run by more live primaries than it needs: what a
    /// supervisor gave in an earlier term and whose release was lost (a
    /// TaskAssignment carries no term yet). Counted, not a violation.
    pub stale_roles: u64,
    /// FNV-1a over every delivery and event: the same seed gives the same hash.
    pub trace_hash: u64,
}

impl Summary {
    /// `compressed / raw` of the history (lower is better).
    pub fn compression_ratio(&self) -> f64 {
        if self.history_raw_bytes == 0 {
            1.0
        } else {
            self.history_compressed_bytes as f64 / self.history_raw_bytes as f64
        }
    }

    /// Detection delays of all detected crashes, sorted.
    pub fn detection_delays(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.crashes.iter().filter_map(|c| c.detection_delay).collect();
        v.sort_by(f64::total_cmp);
        v
    }

    /// Replacement delays after detection, sorted.
    pub fn replacement_delays(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.crashes.iter().flat_map(|c| c.replacement_delays.iter().copied()).collect();
        v.sort_by(f64::total_cmp);
        v
    }
}

/// The `q` quantile (nearest rank) of sorted values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied()
}

#[derive(Clone, Debug)]
enum Action {
    SubmitTasks,
    CrashLeader,
    CrashPrimaries(usize),
    IsolateSupervisor,
    BlockLeaderTo(usize),
    Heal,
    RestartAll,
    ChurnCrash,
    Restart(usize),
}

/// A running cluster.
pub struct Sim {
    cfg: SimConfig,
    ids: Vec<NodeId>,
    index: HashMap<NodeId, usize>,
    sups: Vec<NodeId>,
    nodes: Vec<Box<dyn SimNode>>,
    up: Vec<bool>,
    down_since: Vec<Option<Instant>>,
    offsets: Vec<Duration>,
    hard: Vec<pouw_netops::election::HardState>,
    net: Network,
    rng: Rng,
    start: Instant,
    now: Instant,
    deadlines: BinaryHeap<Reverse<(Instant, usize)>>,
    deadline_of: Vec<Instant>,
    actions: Vec<(Instant, Action)>,
    step: u64,
    terms: BTreeMap<u64, usize>,
    tasks: Vec<(TaskId, u16, u16)>,
    last_disruption: Instant,
    next_full_check: Instant,
    dirty: bool,
    next_checkpoint: Instant,
    crashes: Vec<CrashRecord>,
    open_crash: HashMap<usize, usize>,
    detections: HashMap<(usize, usize), Instant>,
    summary: Summary,
    hash: Fnv1a64,
    timeline: Vec<String>,
    up_node_secs: f64,
}

const GRACE: Duration = Duration::from_secs(20);

impl Sim {
    /// A started cluster for `cfg`.
    pub fn new(cfg: SimConfig) -> Sim {
        let n = cfg.supervisors + cfg.workers;
        let sups: Vec<NodeId> = (0..cfg.supervisors).map(|i| NodeId::new(&format!("sup-{i}")).unwrap()).collect();
        let mut ids = sups.clone();
        ids.extend((0..cfg.workers).map(|i| NodeId::new(&format!("worker-{i:03}")).unwrap()));
        let mut rng = Rng::new(cfg.seed ^ 0x5151_5151);
        let max_off = cfg.max_clock_offset.total_micros().max(1);
        let offsets = (0..n).map(|_| Duration::from_micros(rng.below(max_off))).collect();
        let start = Instant::from_secs(1000);
        let d = cfg.duration.total_micros();
        let at = |permille: u64| start + Duration::from_micros(d / 1000 * permille);
        let mut actions = vec![(start + Duration::from_secs(5), Action::SubmitTasks)];
        match cfg.scenario {
            Scenario::Story => {
                actions.push((at(150), Action::CrashLeader));
                actions.push((at(300), Action::CrashPrimaries(3.min(cfg.workers / 4).max(1))));
                actions.push((at(400), Action::IsolateSupervisor));
                actions.push((at(430), Action::BlockLeaderTo(cfg.supervisors)));
                actions.push((at(520), Action::Heal));
                actions.push((at(620), Action::RestartAll));
            }
            Scenario::Churn => {
                let mut t = start + Duration::from_secs(20);
                while t < start + cfg.duration {
                    actions.push((t, Action::ChurnCrash));
                    t += Duration::from_secs(10);
                }
            }
        }
        actions.sort_by_key(|a| Reverse(a.0));
        let mut sim = Sim {
            index: ids.iter().cloned().enumerate().map(|(i, id)| (id, i)).collect(),
            ids,
            sups,
            nodes: Vec::with_capacity(n),
            up: vec![true; n],
            down_since: vec![None; n],
            offsets,
            hard: vec![Default::default(); n],
            net: Network::new(cfg.net, cfg.seed),
            rng,
            start,
            now: start,
            deadlines: BinaryHeap::new(),
            deadline_of: vec![Instant::MAX; n],
            actions,
            step: 0,
            terms: BTreeMap::new(),
            tasks: Vec::new(),
            last_disruption: start,
            next_full_check: start,
            dirty: true,
            next_checkpoint: start + Duration::from_secs(5),
            crashes: Vec::new(),
            open_crash: HashMap::new(),
            detections: HashMap::new(),
            summary: Summary { seed: cfg.seed, nodes: n, ..Summary::default() },
            hash: Fnv1a64::new(),
            timeline: Vec::new(),
            up_node_secs: 0.0,
            cfg,
        };
        let task_count = sim.cfg.tasks.unwrap_or(sim.cfg.workers / 2);
        sim.tasks = (0..task_count).map(|i| (TaskId::new(&format!("task-{i:03}")).unwrap(), 1, 1)).collect();
        for i in 0..n {
            let node = sim.build(i);
            sim.nodes.push(node);
        }
        for i in 0..n {
            let local = sim.local(i);
            sim.nodes[i].start(local).unwrap();
            sim.drain(i);
        }
        sim.note(format!("cluster starts: {} supervisors, {} workers", sim.cfg.supervisors, sim.cfg.workers));
        sim
    }

    fn build(&self, i: usize) -> Box<dyn SimNode> {
        let mut config = OpsConfig { heartbeat_interval: self.cfg.heartbeat, ..OpsConfig::default() };
        let seed = self.cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i as u64);
        config.history.compression_level = self.cfg.history_level;
        if let Some(p) = self.cfg.acceptable_pause {
            config.crash.phi.acceptable_heartbeat_pause = p;
        }
        config.public_key = core::array::from_fn(|k| (i as u8).wrapping_add(k as u8));
        if i < self.cfg.supervisors {
            let mut n =
                SimSupervisor::new_boxed(self.ids[i].clone(), NodeRole::Supervisor, &self.sups, config, seed).unwrap();
            n.restore_hard_state(self.hard[i].clone());
            n
        } else {
            config.slots = self.cfg.slots;
            config.task_types.push(TaskType::new("train").unwrap()).unwrap();
            SimWorker::new_boxed(self.ids[i].clone(), NodeRole::Worker, &self.sups, config, seed).unwrap()
        }
    }

    fn local(&self, i: usize) -> Instant {
        self.now + self.offsets[i]
    }

    fn secs(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.start).as_secs_f64()
    }

    fn note(&mut self, s: String) {
        if self.cfg.timeline {
            let line = format!("[{:8.3}s] {s}", self.secs(self.now));
            self.timeline.push(line);
        }
    }

    /// The readable timeline so far.
    pub fn timeline(&self) -> &[String] {
        &self.timeline
    }

    fn violation(&self, what: String) -> Violation {
        Violation { seed: self.cfg.seed, step: self.step, at_secs: self.secs(self.now), what }
    }

    fn is_sup(&self, i: usize) -> bool {
        i < self.cfg.supervisors
    }

    /// Drains node `i`'s outputs into the network and the metrics.
    fn drain(&mut self, i: usize) {
        while let Some(hs) = self.nodes[i].poll_hard_state() {
            self.hard[i] = hs;
        }
        while let Some(t) = self.nodes[i].poll_transmit() {
            match &t.to {
                Destination::Node(n) => {
                    if let Some(&j) = self.index.get(n) {
                        self.net.send(self.now, i, j, t.bytes);
                    }
                }
                Destination::Supervisors => {
                    for j in (0..self.cfg.supervisors).filter(|&j| j != i) {
                        self.net.send(self.now, i, j, t.bytes.clone());
                    }
                }
                Destination::Cluster => {
                    for j in (0..self.ids.len()).filter(|&j| j != i) {
                        self.net.send(self.now, i, j, t.bytes.clone());
                    }
                }
            }
        }
        while let Some(e) = self.nodes[i].poll_event() {
            self.on_event(i, e);
        }
        self.nodes[i].drain_archived();
        let deadline = self.nodes[i].poll_timeout();
        let global = if deadline == Instant::MAX {
            Instant::MAX
        } else {
            Instant::from_micros(deadline.total_micros().saturating_sub(self.offsets[i].total_micros()))
        };
        if global != self.deadline_of[i] {
            self.deadline_of[i] = global;
            if global != Instant::MAX {
                self.deadlines.push(Reverse((global, i)));
            }
        }
    }

    fn on_event(&mut self, i: usize, e: pouw_netops::OpsEvent) {
        self.hash.write(format!("{i}:{:?}", e).as_bytes());
        let x = self.index.get(&e.node).copied();
        match &e.kind {
            OpsEventKind::CrashDetected { .. } => {
                let Some(x) = x else { return };
                if self.up[x] {
                    if self.net.is_blocked(x, i) {
                        self.summary.partition_detections += 1;
                    } else {
                        self.summary.false_suspicions += 1;
                        self.note(format!("FALSE SUSPICION: {} suspected {} (it is up)", self.ids[i], self.ids[x]));
                    }
                    return;
                }
                self.detections.insert((i, x), self.now);
                if let Some(&c) = self.open_crash.get(&x)
                    && self.crashes[c].detection_delay.is_none()
                    && (self.is_sup(i) || self.is_sup(x))
                {
                    let delay = self.now.saturating_duration_since(self.down_since[x].unwrap_or(self.now));
                    self.crashes[c].detection_delay = Some(delay.as_secs_f64());
                    self.note(format!(
                        "{} detects the crash of {} after {:.3}s",
                        self.ids[i],
                        self.ids[x],
                        delay.as_secs_f64()
                    ));
                }
            }
            OpsEventKind::WorkerReplaced { task, replacement, from_backup, checkpoint, .. } => {
                let Some(x) = x else { return };
                self.dirty = true;
                let detected = self.detections.get(&(i, x)).copied().unwrap_or(self.now);
                if let Some(&c) = self.open_crash.get(&x) {
                    self.crashes[c].replacement_delays.push(self.now.saturating_duration_since(detected).as_secs_f64());
                }
                let from = if *from_backup { "its backup" } else { "a pool worker" };
                let cp = checkpoint.map_or("the start".to_string(), |c| format!("checkpoint #{}", c.sequence));
                self.note(format!(
                    "{} moves {task} from {} to {from} {replacement}, resuming from {cp}",
                    self.ids[i], self.ids[x]
                ));
            }
            OpsEventKind::LeaderElected { term } if x == Some(i) => {
                self.dirty = true;
                self.last_disruption = self.now;
                if self.summary.time_to_first_leader.is_none() {
                    self.summary.time_to_first_leader = Some(self.secs(self.now));
                }
                self.note(format!("{} elected leader of term {term}", self.ids[i]));
            }
            OpsEventKind::SteppedDown { term } => {
                self.dirty = true;
                self.last_disruption = self.now;
                self.note(format!("{} steps down (term {term})", self.ids[i]));
            }
            OpsEventKind::RecoveryCompleted { .. } if self.is_sup(i) && self.nodes[i].leading().is_some() => {
                if let Some(x) = x {
                    self.note(format!("{} sees {} recovered; it rejoins the mesh", self.ids[i], self.ids[x]));
                }
            }
            OpsEventKind::TaskDegraded { task, .. } => {
                self.dirty = true;
                self.note(format!("{} reports {task} degraded (no worker available)", self.ids[i]));
            }
            OpsEventKind::TaskAssigned { .. }
            | OpsEventKind::TaskRestored { .. }
            | OpsEventKind::RouteChanged { .. } => self.dirty = true,
            _ => {}
        }
    }

    fn leader(&self) -> Option<usize> {
        (0..self.cfg.supervisors)
            .filter(|&i| self.up[i])
            .filter_map(|i| self.nodes[i].leading().map(|t| (t, i)))
            .max()
            .map(|(_, i)| i)
    }

    fn crash(&mut self, i: usize) {
        if !self.up[i] {
            return;
        }
        self.up[i] = false;
        self.down_since[i] = Some(self.now);
        self.deadline_of[i] = Instant::MAX;
        self.last_disruption = self.now;
        let rec = CrashRecord {
            node: self.ids[i].to_string(),
            supervisor: self.is_sup(i),
            at: self.secs(self.now),
            detection_delay: None,
            replacement_delays: Vec::new(),
        };
        self.open_crash.insert(i, self.crashes.len());
        self.crashes.push(rec);
        self.note(format!("CRASH {}", self.ids[i]));
    }

    fn restart(&mut self, i: usize) {
        if self.up[i] {
            return;
        }
        self.nodes[i] = self.build(i);
        self.up[i] = true;
        self.down_since[i] = None;
        self.open_crash.remove(&i);
        self.detections.retain(|&(_, x), _| x != i);
        self.last_disruption = self.now;
        let local = self.local(i);
        self.nodes[i].start(local).unwrap();
        let what = if self.is_sup(i) { " with its persisted term and vote" } else { "" };
        self.note(format!("RESTART {}{what}", self.ids[i]));
        self.drain(i);
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::SubmitTasks => {
                for s in 0..self.cfg.supervisors {
                    if self.up[s] {
                        let local = self.local(s);
                        for (t, r, b) in self.tasks.clone() {
                            self.nodes[s].submit_task(local, t, TaskType::new("train").unwrap(), r, b);
                        }
                        self.drain(s);
                    }
                }
                self.note(format!("{} tasks submitted to the supervisors", self.tasks.len()));
            }
            Action::CrashLeader => {
                if let Some(l) = self.leader() {
                    self.note(format!("the leader {} crashes", self.ids[l]));
                    self.crash(l);
                }
            }
            Action::CrashPrimaries(k) => {
                let Some(l) = self.leader() else { return };
                let mut victims: Vec<usize> = Vec::new();
                for tw in self.nodes[l].assignments() {
                    for p in tw.primaries {
                        if let Some(&j) = self.index.get(&p)
                            && self.up[j]
                            && !victims.contains(&j)
                        {
                            victims.push(j);
                        }
                    }
                }
                for j in victims.into_iter().take(k) {
                    self.crash(j);
                }
            }
            Action::IsolateSupervisor => {
                let l = self.leader();
                if let Some(s) = (0..self.cfg.supervisors).find(|&s| self.up[s] && Some(s) != l) {
                    self.net.isolate(&[s], self.ids.len());
                    self.last_disruption = self.now;
                    self.note(format!("PARTITION isolates {} (both directions)", self.ids[s]));
                }
            }
            Action::BlockLeaderTo(first) => {
                if let Some(l) = self.leader()
                    && let Some(w) = (first..self.ids.len()).find(|&w| self.up[w])
                {
                    self.net.block(l, w);
                    self.last_disruption = self.now;
                    self.note(format!("PARTITION one-way: {} cannot reach {}", self.ids[l], self.ids[w]));
                }
            }
            Action::Heal => {
                self.net.heal();
                self.last_disruption = self.now;
                self.note("partitions heal".to_string());
            }
            Action::RestartAll => {
                for i in 0..self.ids.len() {
                    self.restart(i);
                }
            }
            Action::ChurnCrash => {
                let live: Vec<usize> = (self.cfg.supervisors..self.ids.len()).filter(|&i| self.up[i]).collect();
                if live.len() > self.cfg.workers / 2 {
                    let j = live[self.rng.below(live.len() as u64) as usize];
                    self.crash(j);
                    let back = self.now + Duration::from_secs(30);
                    let pos = self.actions.partition_point(|a| a.0 > back);
                    self.actions.insert(pos, (back, Action::Restart(j)));
                }
            }
            Action::Restart(j) => self.restart(j),
        }
        self.dirty = true;
    }

    fn report_checkpoints(&mut self) {
        for i in self.cfg.supervisors..self.ids.len() {
            if !self.up[i] {
                continue;
            }
            let local = self.local(i);
            let held = self.nodes[i].held();
            let mut any = false;
            for (task, h) in held {
                if h.role == TaskRole::Primary {
                    let seq = h.checkpoint.map_or(1, |c| c.sequence + 1);
                    let cp = Checkpoint { sequence: seq, digest: [seq as u8; 32] };
                    any |= self.nodes[i].report_checkpoint(local, &task, cp);
                }
            }
            if any {
                self.drain(i);
            }
        }
    }

    /// Runs to the end of the configured duration, checking every invariant after every step.
    pub fn run(&mut self) -> Result<Summary, Violation> {
        let end = self.start + self.cfg.duration;
        loop {
            let next_action = self.actions.last().map_or(Instant::MAX, |a| a.0);
            let next_net = self.net.next_arrival().unwrap_or(Instant::MAX);
            let next_node = self.deadlines.peek().map_or(Instant::MAX, |Reverse((t, _))| *t);
            let t = next_action.min(next_net).min(next_node).min(self.next_checkpoint);
            if t > end {
                break;
            }
            let live = self.up.iter().filter(|u| **u).count() as f64;
            self.up_node_secs += live * t.saturating_duration_since(self.now).as_secs_f64();
            self.now = self.now.max(t);
            self.step += 1;
            while self.actions.last().is_some_and(|a| a.0 <= self.now) {
                let (_, a) = self.actions.pop().unwrap();
                self.act(a);
            }
            if self.now >= self.next_checkpoint {
                self.next_checkpoint = self.now + Duration::from_secs(5);
                self.report_checkpoints();
            }
            let mut touched: Vec<usize> = Vec::new();
            while let Some(d) = self.net.pop_due(self.now) {
                if !self.up[d.to] {
                    self.net.count_to_down_node();
                    continue;
                }
                self.hash.write(&self.now.total_micros().to_le_bytes());
                self.hash.write(&[d.from as u8, (d.from >> 8) as u8, d.to as u8, (d.to >> 8) as u8]);
                self.hash.write(&d.bytes);
                let local = self.local(d.to);
                if let Err(e) = self.nodes[d.to].handle_message(local, &d.bytes) {
                    return Err(self.violation(format!("{} refused a message: {e}", self.ids[d.to])));
                }
                touched.push(d.to);
            }
            while let Some(&Reverse((dl, i))) = self.deadlines.peek() {
                if dl > self.now {
                    break;
                }
                self.deadlines.pop();
                if dl != self.deadline_of[i] || !self.up[i] {
                    continue;
                }
                self.deadline_of[i] = Instant::MAX;
                let local = self.local(i);
                self.nodes[i].tick(local);
                touched.push(i);
            }
            touched.sort_unstable();
            touched.dedup();
            for i in touched {
                self.drain(i);
            }
            self.check()?;
        }
        self.now = end;
        Ok(self.finish())
    }

    /// The invariants: checked after every step (the costly ones when something
    /// they depend on changed, and at least once per virtual second).
    fn check(&mut self) -> Result<(), Violation> {
        for s in 0..self.cfg.supervisors {
            if !self.up[s] {
                continue;
            }
            if let Some(term) = self.nodes[s].leading() {
                match self.terms.get(&term) {
                    Some(&other) if other != s => {
                        return Err(self.violation(format!(
                            "two leaders in term {term}: {} and {}",
                            self.ids[other], self.ids[s]
                        )));
                    }
                    Some(_) => {}
                    None => {
                        self.terms.insert(term, s);
                    }
                }
            }
        }
        if self.net.in_flight() > 64 * self.ids.len() * self.ids.len() + 100_000 {
            return Err(self.violation(format!("{} datagrams in flight: unbounded", self.net.in_flight())));
        }
        if !(self.dirty || self.now >= self.next_full_check) {
            return Ok(());
        }
        self.dirty = false;
        self.next_full_check = self.now + Duration::from_secs(1);
        for i in 0..self.ids.len() {
            if self.up[i] && self.nodes[i].pending() != (0, 0) {
                return Err(self.violation(format!(
                    "{} has undrained output {:?}",
                    self.ids[i],
                    self.nodes[i].pending()
                )));
            }
        }
        for s in (0..self.cfg.supervisors).filter(|&s| self.up[s] && self.nodes[s].leading().is_some()) {
            for (w, used, slots) in self.nodes[s].worker_load() {
                if used > slots {
                    return Err(self.violation(format!("{w} uses {used} of {slots} slots at {}", self.ids[s])));
                }
            }
            for tw in self.nodes[s].assignments() {
                let mut all: Vec<&NodeId> = tw.primaries.iter().chain(tw.backups.iter()).collect();
                all.sort();
                if all.windows(2).any(|p| p[0] == p[1]) {
                    return Err(self.violation(format!("a worker is assigned twice to {}", tw.task)));
                }
            }
        }
        let settled = self.now.saturating_duration_since(self.last_disruption) >= GRACE;
        if settled {
            // The leader's own tables cannot break these (its workers manager
            // enforces them): check what the live workers actually hold.
            // A re-elected leader's old-term roles end at its next notice (the
            // assignment carries its term), so a settled cluster has none left.
            let mut holders: BTreeMap<TaskId, usize> = BTreeMap::new();
            for i in (self.cfg.supervisors..self.ids.len()).filter(|&i| self.up[i]) {
                let held = self.nodes[i].held();
                if held.len() > usize::from(self.cfg.slots) {
                    self.summary.stale_roles += 1;
                    return Err(self.violation(format!(
                        "{} holds {} roles with {} slots",
                        self.ids[i],
                        held.len(),
                        self.cfg.slots
                    )));
                }
                for (task, h) in held {
                    if h.role == TaskRole::Primary {
                        *holders.entry(task).or_default() += 1;
                    }
                }
            }
            for (task, n) in holders {
                let required = self.tasks.iter().find(|(t, _, _)| *t == task).map_or(0, |(_, r, _)| usize::from(*r));
                if n > required {
                    self.summary.stale_roles += 1;
                    return Err(
                        self.violation(format!("{n} live workers hold a primary role of {task} (needs {required})"))
                    );
                }
            }
        }
        if settled && let Some(l) = self.leader() {
            let live_slots: u64 =
                (self.cfg.supervisors..self.ids.len()).filter(|&i| self.up[i]).map(|_| u64::from(self.cfg.slots)).sum();
            let needed: u64 = self.tasks.iter().map(|(_, r, _)| u64::from(*r)).sum();
            let submitted = self.now >= self.start + Duration::from_secs(5) + GRACE;
            let table = self.nodes[l].assignments();
            if submitted && live_slots >= needed {
                if table.len() < self.tasks.len() {
                    return Err(self.violation(format!(
                        "the leader {} has assigned {} of {} tasks",
                        self.ids[l],
                        table.len(),
                        self.tasks.len()
                    )));
                }
                for tw in &table {
                    if tw.primaries.len() < usize::from(tw.required) {
                        return Err(self.violation(format!("{} lacks primaries with enough live workers", tw.task)));
                    }
                    for p in &tw.primaries {
                        let j = self.index[p];
                        if self.down_since[j].is_some_and(|d| self.now.saturating_duration_since(d) >= GRACE) {
                            return Err(self.violation(format!("{} keeps the long-dead {p} as primary", tw.task)));
                        }
                    }
                }
            }
        }
        for i in (0..self.ids.len()).filter(|&i| self.up[i]) {
            for (dest, hop) in self.nodes[i].routes() {
                let h = self.index[&hop];
                if self.down_since[h].is_some_and(|d| self.now.saturating_duration_since(d) >= GRACE) {
                    return Err(self.violation(format!("{} routes to {dest} via the down node {hop}", self.ids[i])));
                }
                // Follow the next hops: they must reach the destination without a loop.
                let mut at = h;
                let mut steps = 0;
                while self.ids[at] != dest {
                    steps += 1;
                    if steps > self.ids.len() {
                        return Err(self.violation(format!("routing loop from {} to {dest}", self.ids[i])));
                    }
                    let Some((_, next)) = self.nodes[at].routes().into_iter().find(|(d, _)| *d == dest) else {
                        break;
                    };
                    at = self.index[&next];
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Summary {
        let mut s = std::mem::take(&mut self.summary);
        s.duration_secs = self.cfg.duration.as_secs_f64();
        s.steps = self.step;
        s.crashes = self.crashes.clone();
        s.node_hours = self.up_node_secs / 3600.0;
        s.leader_changes = (self.terms.len() as u64).saturating_sub(1);
        let ns = self.net.stats();
        s.messages_sent = ns.sent;
        s.bytes_sent = ns.bytes_sent;
        s.lost = ns.lost;
        s.duplicated = ns.duplicated;
        s.partitioned = ns.partitioned;
        let leader = self.leader();
        for i in (0..self.ids.len()).filter(|&i| self.up[i]) {
            let st = self.nodes[i].status(self.local(i));
            s.history_raw_bytes += st.compression.raw_bytes;
            s.history_compressed_bytes += st.compression.compressed_bytes;
            s.mesh_routes += st.mesh.reachable as u64;
            s.queue_drops += st.counters.dropped_events + st.counters.dropped_transmits + st.counters.history_dropped;
            if Some(i) == leader {
                s.leader_routes = st.mesh.reachable as u64;
                let table = self.nodes[i].assignments();
                s.tasks = table.len();
                s.tasks_complete = table.iter().filter(|t| t.primaries.len() >= usize::from(t.required)).count();
            }
        }
        s.trace_hash = self.hash.finish();
        s
    }
}

/// Runs one seed of `cfg`.
pub fn run(cfg: SimConfig) -> (Result<Summary, Violation>, Vec<String>) {
    let mut sim = Sim::new(cfg);
    let r = sim.run();
    (r, std::mem::take(&mut sim.timeline))
}

/// The summary as an aligned table.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.3} s"));
    let _ = writeln!(out, "{:<34} {}", "seed", s.seed);
    if s.steps == 0 {
        let _ = writeln!(out, "{:<34} {} nodes, {:.0} s of real time", "cluster", s.nodes, s.duration_secs);
    } else {
        let _ =
            writeln!(out, "{:<34} {} nodes, {:.0} s virtual, {} steps", "cluster", s.nodes, s.duration_secs, s.steps);
    }
    let _ = writeln!(out, "{:<34} {}", "time to first leader", f(s.time_to_first_leader));
    for c in &s.crashes {
        let repl = if c.replacement_delays.is_empty() {
            "no roles to move".to_string()
        } else {
            let max = c.replacement_delays.iter().copied().fold(0.0, f64::max);
            format!("{} roles moved, max {:.3} s after detection", c.replacement_delays.len(), max)
        };
        let kind = if c.supervisor { "supervisor" } else { "worker" };
        let _ = writeln!(
            out,
            "{:<34} detected after {}, {repl}",
            format!("crash of {} ({kind}) at {:.1} s", c.node, c.at),
            f(c.detection_delay)
        );
    }
    let d = s.detection_delays();
    let _ =
        writeln!(out, "{:<34} median {}, p99 {}", "crash detection delay", f(quantile(&d, 0.5)), f(quantile(&d, 0.99)));
    let r = s.replacement_delays();
    let _ = writeln!(
        out,
        "{:<34} median {}, max {}",
        "replacement delay after detection",
        f(quantile(&r, 0.5)),
        f(r.last().copied())
    );
    let rate = if s.node_hours > 0.0 { s.false_suspicions as f64 / s.node_hours } else { 0.0 };
    let _ = writeln!(out, "{:<34} {} ({rate:.3} per node-hour)", "false suspicions", s.false_suspicions);
    let _ = writeln!(out, "{:<34} {}", "detections caused by partitions", s.partition_detections);
    let _ = writeln!(out, "{:<34} {}", "checks finding stale worker roles", s.stale_roles);
    let _ = writeln!(out, "{:<34} {}", "leader changes", s.leader_changes);
    let _ = writeln!(out, "{:<34} {} ({} bytes)", "messages sent", s.messages_sent, s.bytes_sent);
    let _ = writeln!(
        out,
        "{:<34} {} lost, {} duplicated, {} cut by partitions",
        "network faults", s.lost, s.duplicated, s.partitioned
    );
    let _ = writeln!(
        out,
        "{:<34} {:.3} ({} -> {} bytes)",
        "history compression ratio",
        s.compression_ratio(),
        s.history_raw_bytes,
        s.history_compressed_bytes
    );
    let _ = writeln!(out, "{:<34} {} over all nodes, {} at the leader", "mesh routes", s.mesh_routes, s.leader_routes);
    let _ = writeln!(out, "{:<34} {} of {} with all primaries", "tasks at the end", s.tasks_complete, s.tasks);
    let _ = writeln!(out, "{:<34} {}", "queue drops (counted)", s.queue_drops);
    let _ = writeln!(out, "{:<34} {:016x}", "trace hash", s.trace_hash);
    out
}

/// The summary as one JSON object.
pub fn json(s: &Summary) -> String {
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |x| format!("{x:.6}"));
    let crashes: Vec<String> = s
        .crashes
        .iter()
        .map(|c| {
            let r: Vec<String> = c.replacement_delays.iter().map(|x| format!("{x:.6}")).collect();
            format!(
                "{{\"node\":\"{}\",\"supervisor\":{},\"at\":{:.6},\"detection_delay\":{},\"replacement_delays\":[{}]}}",
                c.node,
                c.supervisor,
                c.at,
                opt(c.detection_delay),
                r.join(",")
            )
        })
        .collect();
    let d = s.detection_delays();
    let r = s.replacement_delays();
    format!(
        concat!(
            "{{\"seed\":{},\"nodes\":{},\"duration_secs\":{:.3},\"steps\":{},\"time_to_first_leader\":{},",
            "\"crashes\":[{}],\"detection_delay_median\":{},\"detection_delay_p99\":{},",
            "\"replacement_delay_median\":{},\"replacement_delay_max\":{},",
            "\"false_suspicions\":{},\"partition_detections\":{},\"node_hours\":{:.6},\"leader_changes\":{},",
            "\"messages_sent\":{},\"bytes_sent\":{},\"lost\":{},\"duplicated\":{},\"partitioned\":{},",
            "\"history_raw_bytes\":{},\"history_compressed_bytes\":{},\"compression_ratio\":{:.6},",
            "\"mesh_routes\":{},\"leader_routes\":{},\"tasks\":{},\"tasks_complete\":{},\"queue_drops\":{},",
            "\"trace_hash\":\"{:016x}\"}}"
        ),
        s.seed,
        s.nodes,
        s.duration_secs,
        s.steps,
        opt(s.time_to_first_leader),
        crashes.join(","),
        opt(quantile(&d, 0.5)),
        opt(quantile(&d, 0.99)),
        opt(quantile(&r, 0.5)),
        opt(r.last().copied()),
        s.false_suspicions,
        s.partition_detections,
        s.node_hours,
        s.leader_changes,
        s.messages_sent,
        s.bytes_sent,
        s.lost,
        s.duplicated,
        s.partitioned,
        s.history_raw_bytes,
        s.history_compressed_bytes,
        s.compression_ratio(),
        s.mesh_routes,
        s.leader_routes,
        s.tasks,
        s.tasks_complete,
        s.queue_drops,
        s.trace_hash
    )
}
