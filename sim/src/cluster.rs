//! A whole cluster of real coordinators in virtual time on the harness's
//! seeded network ([`pouw_netops_harness::Cluster`]): scenarios, the harness's
//! invariants after every step, metrics, a timeline and a trace hash.

use crate::report::{Mark, MarkKind, Recorder, Recording};
use pouw_netops::coordinator::{OpsConfig, OpsEventKind};
use pouw_netops::election::FaultModel;
use pouw_netops::health::NodeStatus;
use pouw_netops::mesh::TunnelState;
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Duration, Instant, NetworkOperationsManager, NodeId, NodeRole, Rng, TaskId, TaskType};
use pouw_netops_harness::identity::UNIX_AT_ZERO;
use pouw_netops_harness::{Attacker, Cluster, ClusterAuthority, ClusterConfig, Factory, NetConfig, OpsNode, Spawn};
use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

pub use pouw_netops_harness::Violation;

/// Supervisor capacities: clusters up to 1024 nodes and 1024 tasks.
pub type SimSupervisor = NetworkOperationsManager<1024, 32, 8, 1024, 8, 4, 4, 2048, 2048, 4>;
/// Worker capacities: it tracks at most 8 supervisors and holds a few roles.
pub type SimWorker = NetworkOperationsManager<16, 32, 8, 16, 8, 4, 4, 32, 64, 4>;

/// Which story the cluster plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Start, elect, assign, the leader crashes, workers crash under load, a
    /// supervisor is partitioned away and heals, crashed nodes come back.
    Story,
    /// Tasks assigned, then one random worker crashes every 10 s and comes back 30 s later.
    Churn,
    /// The control plane is lost, the data plane is not: from
    /// [`CONTROL_PLANE_CUT_AT`] for [`CONTROL_PLANE_CUT_FOR`] no datagram
    /// passes between a supervisor and a worker (supervisors still reach each
    /// other, workers each other), while every node's host reports WireGuard
    /// handshakes on its tunnels ([`WG_REKEY`] apart, as WireGuard rekeys).
    /// Checked: no tunnel leaves `Up` and no next-hop table changes during the
    /// cut; after the heal, the time until every node's view (the leader it
    /// follows, its peers online, the roles held) is back is measured, and
    /// each worker must follow the leader again within one heartbeat (see
    /// [`ControlPlaneResult`]).
    ControlPlanePartition,
}

/// When the control plane is cut in [`Scenario::ControlPlanePartition`], after the start.
pub const CONTROL_PLANE_CUT_AT: Duration = Duration::from_secs(60);
/// How long it stays cut.
pub const CONTROL_PLANE_CUT_FOR: Duration = Duration::from_secs(600);
/// How often a node's host reads `wg show latest-handshakes` and reports it.
pub const WG_POLL: Duration = Duration::from_secs(5);
/// WireGuard's rekey time: a tunnel between two live hosts handshakes again this long after the last.
pub const WG_REKEY: Duration = Duration::from_secs(120);

/// What [`Scenario::ControlPlanePartition`] measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControlPlaneResult {
    /// Tunnels `Up` at the cut (over all nodes, each end counted).
    pub tunnels_at_cut: usize,
    /// Checks during the cut (every 100 virtual ms), each over every node.
    pub checks: u64,
    /// Of the tunnels `Up` at the cut, those seen not `Up` during it (must be 0).
    pub tunnels_lost: usize,
    /// Next-hop table entries changed during the cut, at workers (must be 0).
    pub worker_route_changes: u64,
    /// Next-hop table entries changed during the cut, at supervisors (must be 0).
    pub supervisor_route_changes: u64,
    /// Seconds from the heal until the last worker follows the leader again.
    pub leader_resync: Option<f64>,
    /// Seconds from the heal until every node tracks every peer it tracked as online again.
    pub membership_resync: Option<f64>,
    /// Seconds from the heal until every task has all its primaries at the leader again.
    pub tasks_resync: Option<f64>,
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
    /// Heartbeats between a follower supervisor and a worker every this many
    /// intervals ([`OpsConfig::follower_heartbeat_every`]; default 1).
    pub follower_heartbeat_every: u8,
    /// Record what `--report` draws (phi samples, marks, the final mesh).
    pub record: bool,
    /// The node whose phi the report follows closely after its first crash
    /// (`None`: the first worker that crashes).
    pub report_node: Option<String>,
    /// Datagrams per virtual second from an attacker that overhears traffic
    /// and replays, mutates, redirects and forges datagrams (0: none). Every
    /// one must be refused and change nothing.
    pub attack_rate: f64,
    /// Byzantine supervisors (0: the crash-only fault model, as ever). With
    /// `K > 0` every node runs the Byzantine fault model with `f = K` (so at
    /// least `3K + 1` supervisors), and the last `K` supervisors lie
    /// ([`pouw_netops_harness::Liar`]).
    pub byzantine: usize,
    /// Tally the datagrams sent by message kind (decodes every one: a
    /// diagnostic, slower; changes nothing sent).
    pub count_kinds: bool,
    /// Threads the nodes of this one run are stepped on (1: one step at a
    /// time). With more, the run goes in windows of the network's minimum
    /// latency ([`Cluster::process_window`]): the same deliveries, events,
    /// timeline and trace hash; the whole-cluster checks but one leader per
    /// term run once a window instead of once a step (so the time to a
    /// followed leader is measured at window ends: a leader followed only
    /// inside a window is not seen), and the step count leaves out the
    /// wake-ups at which no node had anything to do (a stale deadline, a
    /// datagram to a down node). A zero minimum latency leaves no window:
    /// one step at a time then. Not with `record` (windows are
    /// then not used). The run's thread joins a rayon pool of that many
    /// threads for good: later runs on it must use the same count.
    pub node_threads: usize,
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
            follower_heartbeat_every: 1,
            record: false,
            report_node: None,
            attack_rate: 2.0,
            byzantine: 0,
            count_kinds: false,
            node_threads: 1,
        }
    }
}

thread_local! {
    /// The rayon pool this thread is one of the threads of (see [`join_node_pool`]).
    static NODE_POOL: std::cell::OnceCell<(usize, rayon::ThreadPool)> = const { std::cell::OnceCell::new() };
}

/// Makes the calling thread one of the threads of a rayon pool of
/// `threads` threads, so that it takes a share of each window's nodes itself
/// instead of handing them all out and waiting ([`Cluster::process_window`]). rayon
/// keeps such a thread in its pool for good: the pool is made once per
/// thread and kept; a later run on the same thread must ask for as many.
fn join_node_pool(threads: usize) -> Result<(), String> {
    NODE_POOL.with(|cell| {
        if let Some((n, _)) = cell.get() {
            return if *n == threads {
                Ok(())
            } else {
                Err(format!("this thread already steps nodes on {n} threads, not {threads}"))
            };
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .use_current_thread()
            .build()
            .map_err(|e| format!("no pool of {threads} threads: {e}"))?;
        let _ = cell.set((threads, pool));
        Ok(())
    })
}

/// What every supervisor's name starts with (`sup-0`, `sup-1`, …).
const SUPERVISOR_PREFIX: &str = "sup-";

/// The kind of message a datagram carries (`Body::kind`; a signed advert
/// also by its origin, a supervisor or a worker by this simulation's names,
/// and whether the origin sent it or relayed it), or what keeps it from being
/// read (a body with an attachment, e.g. a leader's certificate, does not
/// decode alone).
fn message_kind(bytes: &[u8]) -> &'static str {
    use pouw_netops::wire::Body;
    let Ok(u) = pouw_netops::auth::seal::parse(bytes) else { return "unparsable" };
    match Body::decode(u.body) {
        Ok(Body::SignedLinkState(a)) => {
            match (a.origin.as_str().starts_with(SUPERVISOR_PREFIX), a.origin == u.sender) {
                (true, true) => "signed_link_state: a supervisor's own",
                (true, false) => "signed_link_state: a supervisor's, relayed",
                (false, true) => "signed_link_state: a worker's own",
                (false, false) => "signed_link_state: a worker's, relayed",
            }
        }
        Ok(b) => b.kind(),
        Err(_) => "undecodable alone",
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
    /// The longest wait, in seconds, from an injected fault (or the start) to
    /// a leader every up honest supervisor follows (see [`liveness_bound`]).
    pub leader_after_fault: Option<f64>,
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
    /// Datagrams and bytes sent by message kind (only with
    /// [`SimConfig::count_kinds`]): `(kind, datagrams, bytes)`.
    pub kinds: Vec<(&'static str, u64, u64)>,
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
    /// Datagrams the attacker sent.
    pub attack_sent: u64,
    /// Of those, refused at the entrance, by reason.
    pub attack_refused: Vec<(String, u64)>,
    /// Lies the Byzantine supervisors told (replaced datagrams).
    pub lies: u64,
    /// Datagrams the Byzantine supervisors withheld.
    pub withheld: u64,
    /// Their datagrams the others refused, by error.
    pub lies_refused: Vec<(String, u64)>,
    /// Datagrams the honest nodes refused as uncertified (lies, and honest
    /// messages whose proof was lost on the way).
    pub uncertified_refused: u64,
    /// Settled checks that found a live worker holding more roles than its
    /// slots, or a task run by more live primaries than it needs: what a
    /// supervisor gave in an earlier term and whose release was lost (a
    /// TaskAssignment carries no term yet). Counted, not a violation.
    pub stale_roles: u64,
    /// What the control-plane partition measured (that scenario only).
    pub control_plane: Option<ControlPlaneResult>,
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
    /// A primary of a task (one not yet cut off) is cut off in both directions.
    IsolatePrimary,
    /// A primary's messages stop reaching the leader (it still hears the leader).
    BlockPrimaryToLeader,
    /// The leader's messages stop reaching a primary (the leader still hears it).
    BlockLeaderToPrimary,
    Heal,
    RestartAll,
    ChurnCrash,
    Restart(usize),
    /// Every supervisor–worker path is cut both ways (the control plane).
    CutControlPlane,
    /// The control plane comes back.
    HealControlPlane,
}

/// The simulated WireGuard data plane: each node's host reads the latest
/// handshake of each of its tunnels and reports it to its coordinator. Two
/// live hosts handshake again [`WG_REKEY`] after their last handshake; a
/// crashed host does not. The control-plane network does not carry it.
struct WgPlane {
    /// Every node's public key, as `wg show` prints it.
    keys: Vec<String>,
    /// The latest handshake per pair of nodes `(low, high)`.
    last: HashMap<(usize, usize), Instant>,
    next: Instant,
}

/// The control-plane partition's watch: the state at the cut and what changed since.
struct CpWatch {
    nodes: Vec<NodeWatch>,
    heal_at: Option<Instant>,
    next_check: Instant,
    result: ControlPlaneResult,
}

/// One node under [`CpWatch`].
struct NodeWatch {
    id: NodeId,
    supervisor: bool,
    /// The peers it had an `Up` tunnel with at the cut.
    tunnels: Vec<NodeId>,
    /// Its next-hop table at the cut.
    routes: Vec<(NodeId, NodeId)>,
    /// The peers it tracked as online at the cut.
    online: Vec<NodeId>,
    /// (A worker) it follows the leader again since the heal.
    followed: bool,
    /// Its peers online at the cut are all online again since the heal.
    back: bool,
}

/// A running cluster: the scenario and its metrics over a harness [`Cluster`].
pub struct Sim {
    cfg: SimConfig,
    cluster: Cluster<dyn OpsNode>,
    rng: Rng,
    actions: Vec<(Instant, Action)>,
    tasks: Vec<(TaskId, u16, u16)>,
    /// Primaries each task requires (the first entry of `tasks` for its id):
    /// looked up for every held primary role at every role check.
    required: HashMap<TaskId, usize>,
    train: TaskType,
    last_disruption: Instant,
    next_full_check: Instant,
    next_role_check: Instant,
    /// When the next-hop tables are next checked for loops (large clusters).
    next_loop_check: Instant,
    dirty: bool,
    next_checkpoint: Instant,
    crashes: Vec<CrashRecord>,
    open_crash: HashMap<usize, usize>,
    detections: HashMap<(usize, usize), Instant>,
    summary: Summary,
    timeline: Vec<String>,
    /// Up nodes times virtual microseconds to the clock, summed (exact
    /// integers; up counts change only at the run's own acts, so windows and
    /// steps sum the same to the end).
    up_node_micros: u128,
    /// When the event [`Sim::on_event`] is handling was reported, and what
    /// its node led then (`None`: not in an event; the cluster's clock).
    event_at: Option<(Instant, Option<u64>)>,
    recording: Option<Recorder>,
    attacker: Option<Attacker>,
    next_attack: Instant,
    wg: Option<WgPlane>,
    cp: Option<CpWatch>,
    /// Lies the Byzantine supervisors told so far.
    lies: Rc<Cell<u64>>,
}

const GRACE: Duration = Duration::from_secs(20);

/// Clusters up to this size check the role invariants after every step.
const ROLE_CHECK_EVERY_STEP_UP_TO: usize = 64;

fn node_id(s: &str) -> Result<NodeId, String> {
    NodeId::new(s).map_err(|e| format!("{s}: {e}"))
}

/// The other end than `me` of the tunnel between `a` and `b`, if `me` is an end.
fn other_end(me: &NodeId, a: NodeId, b: NodeId) -> Option<NodeId> {
    if a == *me {
        Some(b)
    } else if b == *me {
        Some(a)
    } else {
        None
    }
}

/// The lease on roles for health heartbeats every `heartbeat`: the default
/// (6 s), or six heartbeat intervals when they are slower.
fn lease_for(heartbeat: Duration) -> Duration {
    let lease = OpsConfig::default().lease_timeout;
    lease.max(Duration::from_micros(heartbeat.total_micros().saturating_mul(6)))
}

/// The liveness bound: once the faults stop (the last crash, restart or
/// partition change; Byzantine supervisors keep lying) with a quorum of
/// honest supervisors up, a leader every up honest supervisor follows exists
/// within 10 E, E the base election timeout
/// (1 s): a follower misses the leader within 2E (its timeout is drawn from
/// [E, 2E) and a leader cut from its quorum steps down within E), a pre-vote
/// and a vote round take a few round trips, and the bound allows four more
/// rounds of 2E each that a split vote or a liar's withheld vote spoils.
pub fn liveness_bound() -> Duration {
    let e = OpsConfig::default().election.election_timeout;
    Duration::from_micros(e.total_micros().saturating_mul(10))
}

/// Builds node `s.index` for `cfg`: a supervisor (restored from its hard state) or a worker.
fn factory(cfg: &SimConfig, sups: Vec<NodeId>) -> Factory<dyn OpsNode> {
    let (heartbeat, seed, level, pause) = (cfg.heartbeat, cfg.seed, cfg.history_level, cfg.acceptable_pause);
    let (supervisors, slots, byzantine) = (cfg.supervisors, cfg.slots, cfg.byzantine);
    let follower_heartbeat_every = cfg.follower_heartbeat_every;
    let authority = ClusterAuthority::new(seed);
    Box::new(move |s: &Spawn<'_>| -> Result<Box<dyn OpsNode>, String> {
        let i = s.index;
        let lease_timeout = lease_for(heartbeat);
        let mut config = OpsConfig {
            heartbeat_interval: heartbeat,
            lease_timeout,
            follower_heartbeat_every,
            ..OpsConfig::default()
        };
        if follower_heartbeat_every > 1 {
            // Spaced detectors reckon their wait from it.
            config.crash.phi.first_heartbeat_estimate = heartbeat;
        }
        let node_seed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i as u64);
        config.history.compression_level = level;
        if byzantine > 0 {
            config.election.fault_model =
                pouw_netops::election::FaultModel::Byzantine { f: u32::try_from(byzantine).unwrap_or(u32::MAX) };
        }
        if let Some(p) = pause {
            config.crash.phi.acceptable_heartbeat_pause = p;
        }
        let err = |e: pouw_netops::coordinator::OpsError| format!("{}: {e}", s.id);
        // Every restart is a new boot epoch (the count of restarts only grows).
        let epoch = s.restarts;
        if i < supervisors {
            let credentials = authority.credentials(s.id, NodeRole::Supervisor, &[], 0, epoch)?;
            let mut n =
                SimSupervisor::new_boxed(s.id.clone(), NodeRole::Supervisor, &sups, config, node_seed, credentials)
                    .map_err(err)?;
            n.restore_hard_state(s.hard_state.clone());
            Ok(n)
        } else {
            let train = TaskType::new("train").map_err(|e| format!("{e}"))?;
            let credentials = authority.credentials(s.id, NodeRole::Worker, &[train], slots, epoch)?;
            Ok(SimWorker::new_boxed(s.id.clone(), NodeRole::Worker, &sups, config, node_seed, credentials)
                .map_err(err)?)
        }
    })
}

impl Sim {
    /// A started cluster for `cfg`.
    pub fn new(cfg: SimConfig) -> Result<Sim, String> {
        let n = cfg.supervisors + cfg.workers;
        let sups: Vec<NodeId> =
            (0..cfg.supervisors).map(|i| node_id(&format!("{SUPERVISOR_PREFIX}{i}"))).collect::<Result<_, _>>()?;
        let mut ids = sups.clone();
        for i in 0..cfg.workers {
            ids.push(node_id(&format!("worker-{i:03}"))?);
        }
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
                // Workers cut off from the leader, long enough to be failed over,
                // then back: their leases must end the stale roles.
                actions.push((at(700), Action::IsolatePrimary));
                actions.push((at(715), Action::BlockPrimaryToLeader));
                actions.push((at(730), Action::BlockLeaderToPrimary));
                actions.push((at(830), Action::Heal));
            }
            Scenario::Churn => {
                let mut t = start + Duration::from_secs(20);
                while t < start + cfg.duration {
                    actions.push((t, Action::ChurnCrash));
                    t += Duration::from_secs(10);
                }
            }
            Scenario::ControlPlanePartition => {
                let heal = CONTROL_PLANE_CUT_AT + CONTROL_PLANE_CUT_FOR;
                if cfg.duration < heal + GRACE {
                    return Err(format!(
                        "the control-plane partition needs a duration of at least {} s",
                        (heal + GRACE).total_secs()
                    ));
                }
                actions.push((start + CONTROL_PLANE_CUT_AT, Action::CutControlPlane));
                actions.push((start + heal, Action::HealControlPlane));
            }
        }
        actions.sort_by_key(|a| Reverse(a.0));
        let harness = ClusterConfig { seed: cfg.seed, net: cfg.net, supervisors: cfg.supervisors, start, offsets };
        let mut cluster = Cluster::new(harness, ids.clone(), factory(&cfg, sups))?;
        cluster.set_threads(cfg.node_threads);
        if cfg.count_kinds {
            cluster.net_mut().count_kinds(message_kind);
        }
        let lies = Rc::new(Cell::new(0u64));
        if cfg.byzantine > 0 {
            let liars: Vec<usize> = (cfg.supervisors.saturating_sub(cfg.byzantine)..cfg.supervisors).collect();
            let mut strategies: HashMap<usize, pouw_netops_harness::Liar> = HashMap::new();
            for &i in &liars {
                let authority = ClusterAuthority::new(cfg.seed);
                let liar = pouw_netops_harness::Liar::new(cfg.seed ^ i as u64, ids.clone(), i, authority)
                    .ok_or_else(|| format!("no node {i}"))?;
                strategies.insert(i, liar);
            }
            let told = Rc::clone(&lies);
            cluster.set_liars(
                liars,
                Box::new(move |from, to, bytes| {
                    let liar = strategies.get_mut(&from)?;
                    let out = liar.tamper(to, bytes);
                    told.set(strategies.values().map(|l| l.lies).sum());
                    out
                }),
            );
        }
        let task_count = cfg.tasks.unwrap_or(cfg.workers / 2);
        let tasks: Vec<(TaskId, u16, u16)> = (0..task_count)
            .map(|i| Ok((TaskId::new(&format!("task-{i:03}")).map_err(|e| format!("{e}"))?, 1, 1)))
            .collect::<Result<_, String>>()?;
        let mut required = HashMap::new();
        for (t, r, _) in &tasks {
            required.entry(t.clone()).or_insert(usize::from(*r));
        }
        let focus = cfg.report_node.as_ref().and_then(|n| cluster.ids().iter().position(|id| id.as_str() == n));
        let recording = cfg.record.then(|| Recorder::new(&cluster, cfg.duration, focus));
        let attacker = (cfg.attack_rate > 0.0).then(|| Attacker::new(cfg.seed));
        let wg = (cfg.scenario == Scenario::ControlPlanePartition).then(|| WgPlane {
            keys: cluster.ids().iter().map(|id| pouw_netops::mesh::WgKey::placeholder(id).to_string()).collect(),
            last: HashMap::new(),
            next: start + WG_POLL,
        });
        let mut sim = Sim {
            wg,
            cp: None,
            lies,
            attacker,
            next_attack: if cfg.attack_rate > 0.0 { start + Duration::from_secs(1) } else { Instant::MAX },
            cluster,
            rng,
            actions,
            tasks,
            required,
            train: TaskType::new("train").map_err(|e| format!("{e}"))?,
            last_disruption: start,
            next_full_check: start,
            next_role_check: start,
            next_loop_check: start,
            dirty: true,
            next_checkpoint: start + Duration::from_secs(5),
            crashes: Vec::new(),
            open_crash: HashMap::new(),
            detections: HashMap::new(),
            summary: Summary { seed: cfg.seed, nodes: n, ..Summary::default() },
            timeline: Vec::new(),
            up_node_micros: 0,
            event_at: None,
            recording,
            cfg,
        };
        if sim.attacker.is_some() {
            sim.cluster.record_traffic();
        }
        sim.cluster.start_all();
        sim.events();
        sim.note(format!("cluster starts: {} supervisors, {} workers", sim.cfg.supervisors, sim.cfg.workers));
        Ok(sim)
    }

    fn secs(&self, t: Instant) -> f64 {
        self.cluster.secs(t)
    }

    fn name(&self, i: usize) -> String {
        self.cluster.name(i)
    }

    fn note(&mut self, s: String) {
        if self.cfg.timeline {
            let line = format!("[{:8.3}s] {s}", self.secs(self.now()));
            self.timeline.push(line);
        }
    }

    fn mark(&mut self, node: Option<usize>, kind: MarkKind) {
        let t = self.secs(self.now());
        if let Some(r) = &mut self.recording {
            r.mark(&self.cluster, Mark { t, node, kind });
        }
    }

    /// The readable timeline so far.
    pub fn timeline(&self) -> &[String] {
        &self.timeline
    }

    /// The harness cluster underneath.
    pub fn cluster(&self) -> &Cluster<dyn OpsNode> {
        &self.cluster
    }

    fn is_sup(&self, i: usize) -> bool {
        i < self.cfg.supervisors
    }

    fn up(&self, i: usize) -> bool {
        self.cluster.is_up(i)
    }

    /// Handles the events the harness collected, in order.
    fn events(&mut self) {
        while let Some(r) = self.cluster.poll_event_at() {
            self.event_at = Some((r.at, r.leading));
            self.on_event(r.node, r.event);
        }
        self.event_at = None;
    }

    /// The time of what is being handled: the event's, or the cluster's clock.
    fn now(&self) -> Instant {
        self.event_at.map_or(self.cluster.now(), |(at, _)| at)
    }

    /// Whether node `i` led right after the step that reported the event
    /// being handled (out of an event: now).
    fn led(&self, i: usize) -> bool {
        match self.event_at {
            Some((_, leading)) => leading.is_some(),
            None => self.cluster.node(i).is_some_and(|n| n.leading().is_some()),
        }
    }

    fn drain(&mut self, i: usize) {
        self.cluster.drain(i);
        self.events();
    }

    fn on_event(&mut self, i: usize, e: pouw_netops::OpsEvent) {
        let now = self.now();
        let x = self.cluster.index_of(&e.node);
        match &e.kind {
            OpsEventKind::CrashDetected { .. } => {
                let Some(x) = x else { return };
                if self.up(x) {
                    if self.cluster.net().is_blocked(x, i) {
                        self.summary.partition_detections += 1;
                    } else {
                        self.summary.false_suspicions += 1;
                        self.note(format!("FALSE SUSPICION: {} suspected {} (it is up)", self.name(i), self.name(x)));
                        self.mark(Some(x), MarkKind::FalseSuspicion { by: i });
                    }
                    return;
                }
                self.detections.insert((i, x), now);
                if let Some(&c) = self.open_crash.get(&x)
                    && let Some(rec) = self.crashes.get_mut(c)
                    && rec.detection_delay.is_none()
                    && (i < self.cfg.supervisors || x < self.cfg.supervisors)
                {
                    let delay = now.saturating_duration_since(self.cluster.down_since(x).unwrap_or(now));
                    rec.detection_delay = Some(delay.as_secs_f64());
                    self.note(format!(
                        "{} detects the crash of {} after {:.3}s",
                        self.name(i),
                        self.name(x),
                        delay.as_secs_f64()
                    ));
                    self.mark(Some(x), MarkKind::Detected { by: i });
                }
            }
            OpsEventKind::WorkerReplaced { task, replacement, from_backup, checkpoint, .. } => {
                let Some(x) = x else { return };
                self.dirty = true;
                let detected = self.detections.get(&(i, x)).copied().unwrap_or(now);
                if let Some(&c) = self.open_crash.get(&x)
                    && let Some(rec) = self.crashes.get_mut(c)
                {
                    rec.replacement_delays.push(now.saturating_duration_since(detected).as_secs_f64());
                }
                let from = if *from_backup { "its backup" } else { "a pool worker" };
                let cp = checkpoint.map_or("the start".to_string(), |c| format!("checkpoint #{}", c.sequence));
                self.note(format!(
                    "{} moves {task} from {} to {from} {replacement}, resuming from {cp}",
                    self.name(i),
                    self.name(x)
                ));
                let to = self.cluster.index_of(replacement);
                self.mark(Some(x), MarkKind::Failover { by: i, task: task.to_string(), to });
            }
            OpsEventKind::LeaderElected { term } if x == Some(i) => {
                self.dirty = true;
                self.last_disruption = now;
                if self.summary.time_to_first_leader.is_none() {
                    self.summary.time_to_first_leader = Some(self.secs(now));
                }
                self.note(format!("{} elected leader of term {term}", self.name(i)));
                self.mark(Some(i), MarkKind::Elected { term: *term });
            }
            OpsEventKind::SteppedDown { term } => {
                self.dirty = true;
                self.last_disruption = now;
                self.note(format!("{} steps down (term {term})", self.name(i)));
                self.mark(Some(i), MarkKind::SteppedDown { term: *term });
            }
            OpsEventKind::RecoveryCompleted { .. } if self.is_sup(i) && self.led(i) => {
                if let Some(x) = x {
                    self.note(format!("{} sees {} recovered; it rejoins the mesh", self.name(i), self.name(x)));
                }
            }
            OpsEventKind::TaskDegraded { task, .. } => {
                self.dirty = true;
                self.note(format!("{} reports {task} degraded (no worker available)", self.name(i)));
            }
            OpsEventKind::TaskAssigned { .. }
            | OpsEventKind::TaskRestored { .. }
            | OpsEventKind::RouteChanged { .. } => self.dirty = true,
            _ => {}
        }
    }

    fn crash(&mut self, i: usize) {
        if !self.cluster.crash(i) {
            return;
        }
        let now = self.cluster.now();
        self.last_disruption = now;
        let rec = CrashRecord {
            node: self.name(i),
            supervisor: self.is_sup(i),
            at: self.secs(now),
            detection_delay: None,
            replacement_delays: Vec::new(),
        };
        self.open_crash.insert(i, self.crashes.len());
        self.crashes.push(rec);
        self.note(format!("CRASH {}", self.name(i)));
        self.mark(Some(i), MarkKind::Crash);
    }

    fn restart(&mut self, i: usize) {
        if !self.cluster.restart(i) {
            return;
        }
        self.open_crash.remove(&i);
        self.detections.retain(|&(_, x), _| x != i);
        self.last_disruption = self.cluster.now();
        let what = if self.is_sup(i) { " with its persisted term and vote" } else { "" };
        self.note(format!("RESTART {}{what}", self.name(i)));
        self.mark(Some(i), MarkKind::Restart);
        self.events();
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::SubmitTasks => {
                for s in 0..self.cfg.supervisors {
                    let local = self.cluster.local(s);
                    let Some(node) = self.cluster.node_mut(s) else { continue };
                    for (t, r, b) in &self.tasks {
                        node.submit_task(local, t.clone(), self.train.clone(), *r, *b);
                    }
                    self.drain(s);
                }
                self.note(format!("{} tasks submitted to the supervisors", self.tasks.len()));
            }
            Action::CrashLeader => {
                if let Some(l) = self.cluster.leader() {
                    self.note(format!("the leader {} crashes", self.name(l)));
                    self.crash(l);
                }
            }
            Action::CrashPrimaries(k) => {
                let Some(l) = self.cluster.leader() else { return };
                let mut victims: Vec<usize> = Vec::new();
                for tw in self.cluster.node(l).map(|n| n.assignments()).unwrap_or_default() {
                    for p in tw.primaries {
                        if let Some(j) = self.cluster.index_of(&p)
                            && self.up(j)
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
                let l = self.cluster.leader();
                if let Some(s) = (0..self.cfg.supervisors).find(|&s| self.up(s) && Some(s) != l) {
                    let n = self.cluster.len();
                    self.cluster.net_mut().isolate(&[s], n);
                    self.last_disruption = self.cluster.now();
                    self.note(format!("PARTITION isolates {} (both directions)", self.name(s)));
                    self.mark(Some(s), MarkKind::Partition { what: format!("{} isolated", self.name(s)) });
                }
            }
            Action::BlockLeaderTo(first) => {
                if let Some(l) = self.cluster.leader()
                    && let Some(w) = (first..self.cluster.len()).find(|&w| self.up(w))
                {
                    self.cluster.net_mut().block(l, w);
                    self.last_disruption = self.cluster.now();
                    self.note(format!("PARTITION one-way: {} cannot reach {}", self.name(l), self.name(w)));
                    let what = format!("{} -/-> {}", self.name(l), self.name(w));
                    self.mark(Some(l), MarkKind::Partition { what });
                }
            }
            Action::IsolatePrimary | Action::BlockPrimaryToLeader | Action::BlockLeaderToPrimary => {
                let Some(l) = self.cluster.leader() else { return };
                let n = self.cluster.len();
                // A primary whose link with the leader is still whole.
                let cut = |s: &Self, w: usize| s.cluster.net().is_blocked(w, l) || s.cluster.net().is_blocked(l, w);
                let assignments = self.cluster.node(l).map(|n| n.assignments()).unwrap_or_default();
                let Some(w) = assignments
                    .iter()
                    .flat_map(|tw| tw.primaries.iter())
                    .filter_map(|p| self.cluster.index_of(p))
                    .find(|&w| self.up(w) && !cut(self, w))
                else {
                    return;
                };
                let (lw, wn) = (self.name(l), self.name(w));
                let what = match action {
                    Action::IsolatePrimary => {
                        self.cluster.net_mut().isolate(&[w], n);
                        format!("{wn} isolated")
                    }
                    Action::BlockPrimaryToLeader => {
                        self.cluster.net_mut().block(w, l);
                        format!("{wn} -/-> {lw}")
                    }
                    _ => {
                        self.cluster.net_mut().block(l, w);
                        format!("{lw} -/-> {wn}")
                    }
                };
                self.last_disruption = self.cluster.now();
                self.note(format!("PARTITION of a primary: {what}"));
                self.mark(Some(w), MarkKind::Partition { what });
            }
            Action::Heal => {
                self.cluster.net_mut().heal();
                self.last_disruption = self.cluster.now();
                self.note("partitions heal".to_string());
                self.mark(None, MarkKind::Heal);
            }
            Action::RestartAll => {
                for i in 0..self.cluster.len() {
                    self.restart(i);
                }
            }
            Action::ChurnCrash => {
                let live: Vec<usize> = (self.cfg.supervisors..self.cluster.len()).filter(|&i| self.up(i)).collect();
                if live.len() > self.cfg.workers / 2 {
                    let pick = self.rng.below(live.len() as u64) as usize;
                    if let Some(&j) = live.get(pick) {
                        self.crash(j);
                        let back = self.cluster.now() + Duration::from_secs(30);
                        let pos = self.actions.partition_point(|a| a.0 > back);
                        self.actions.insert(pos, (back, Action::Restart(j)));
                    }
                }
            }
            Action::Restart(j) => self.restart(j),
            Action::CutControlPlane => {
                let n = self.cluster.len();
                let sups = self.cfg.supervisors;
                for s in 0..sups {
                    for w in sups..n {
                        self.cluster.net_mut().block(s, w);
                        self.cluster.net_mut().block(w, s);
                    }
                }
                let ids = self.cluster.ids().to_vec();
                let mut watch = CpWatch {
                    nodes: Vec::new(),
                    heal_at: None,
                    next_check: self.cluster.now(),
                    result: ControlPlaneResult::default(),
                };
                for (i, me) in ids.iter().enumerate() {
                    let node = self.cluster.node(i);
                    let tunnels: Vec<NodeId> = node
                        .map(|x| x.tunnels())
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|(_, _, st)| *st == TunnelState::Up)
                        .filter_map(|(a, b, _)| other_end(me, a, b))
                        .collect();
                    watch.result.tunnels_at_cut += tunnels.len();
                    let online = ids
                        .iter()
                        .filter(|p| node.and_then(|x| x.peer_status(p)) == Some(NodeStatus::Online))
                        .cloned()
                        .collect();
                    watch.nodes.push(NodeWatch {
                        id: me.clone(),
                        supervisor: i < sups,
                        tunnels,
                        routes: node.map(|x| x.routes()).unwrap_or_default(),
                        online,
                        followed: false,
                        back: false,
                    });
                }
                self.cp = Some(watch);
                self.last_disruption = self.cluster.now();
                self.note(
                    "PARTITION of the control plane: no supervisor reaches a worker, nor a worker a supervisor \
                     (WireGuard still handshakes)"
                        .to_string(),
                );
                self.mark(None, MarkKind::Partition { what: "control plane cut".to_string() });
            }
            Action::HealControlPlane => {
                self.cluster.net_mut().heal();
                self.last_disruption = self.cluster.now();
                if let Some(cp) = &mut self.cp {
                    cp.heal_at = Some(self.cluster.now());
                }
                self.note("the control plane heals".to_string());
                self.mark(None, MarkKind::Heal);
            }
        }
        self.dirty = true;
    }

    /// Each live node's host reports its tunnels' latest handshakes: two
    /// live hosts handshake again [`WG_REKEY`] after their last one.
    fn report_handshakes(&mut self) {
        let Some(mut wg) = self.wg.take() else { return };
        let now = self.cluster.now();
        wg.next = now + WG_POLL;
        let ids = self.cluster.ids().to_vec();
        for (i, me) in ids.iter().enumerate() {
            if !self.cluster.is_up(i) {
                continue;
            }
            let Some(node) = self.cluster.node(i) else { continue };
            // What this host's clock says a moment's UNIX time is.
            let offset = self.cluster.offset(i);
            let unix = |t: Instant| UNIX_AT_ZERO + (t + offset).total_micros() / 1_000_000;
            let mut text = String::new();
            for (a, b, _) in node.tunnels() {
                let Some(peer) = other_end(me, a, b) else { continue };
                let Some(j) = self.cluster.index_of(&peer) else { continue };
                let pair = (i.min(j), i.max(j));
                if self.cluster.is_up(j) {
                    let last = wg.last.entry(pair).or_insert(now);
                    if now.saturating_duration_since(*last) >= WG_REKEY {
                        *last = now;
                    }
                }
                let secs = wg.last.get(&pair).map_or(0, |t| unix(*t));
                if let Some(key) = wg.keys.get(j) {
                    let _ = writeln!(text, "{key}\t{secs}");
                }
            }
            let local = self.cluster.local(i);
            if let Some(node) = self.cluster.node_mut(i) {
                node.record_latest_handshakes(local, unix(now), &text);
            }
            self.drain(i);
        }
        self.wg = Some(wg);
    }

    /// During the control-plane cut: every tunnel `Up` at the cut is still
    /// `Up`, and no next-hop table changed. After the heal: when each node's
    /// view is back.
    fn watch_control_plane(&mut self) -> Result<(), Violation> {
        let now = self.cluster.now();
        let Some(mut cp) = self.cp.take() else { return Ok(()) };
        let checked = if now < cp.next_check { Ok(()) } else { self.watch(now, &mut cp) };
        self.cp = Some(cp);
        checked
    }

    fn watch(&mut self, now: Instant, cp: &mut CpWatch) -> Result<(), Violation> {
        cp.next_check = now + Duration::from_millis(100);
        let Some(heal) = cp.heal_at else {
            // The cluster is not settled while the control plane is cut.
            self.last_disruption = now;
            cp.result.checks += 1;
            for (i, w) in cp.nodes.iter().enumerate() {
                let Some(node) = self.cluster.node(i) else { continue };
                let tunnels = node.tunnels();
                let state = |p: &NodeId| {
                    tunnels.iter().find(|(a, b, _)| other_end(&w.id, a.clone(), b.clone()).as_ref() == Some(p))
                };
                for p in &w.tunnels {
                    let st = state(p).map(|t| t.2);
                    if st != Some(TunnelState::Up) {
                        cp.result.tunnels_lost += 1;
                        let what = format!("control plane cut: {}'s tunnel to {p} is {st:?}", w.id);
                        return Err(self.cluster.violation(what));
                    }
                }
                let routes = node.routes();
                if routes != w.routes {
                    let changed = routes.iter().filter(|r| !w.routes.contains(r)).count()
                        + w.routes.iter().filter(|r| !routes.contains(r)).count();
                    if w.supervisor {
                        cp.result.supervisor_route_changes += changed as u64;
                    } else {
                        cp.result.worker_route_changes += changed as u64;
                    }
                    let what = format!("control plane cut: {}'s next hops changed: {:?} -> {routes:?}", w.id, w.routes);
                    return Err(self.cluster.violation(what));
                }
            }
            return Ok(());
        };
        let since = now.saturating_duration_since(heal).as_secs_f64();
        let leader = self.cluster.leader();
        let led = leader.and_then(|l| Some((self.cluster.ids().get(l)?.clone(), self.cluster.node(l)?.leading()?)));
        for (i, w) in cp.nodes.iter_mut().enumerate() {
            let Some(node) = self.cluster.node(i) else { continue };
            if !w.supervisor && !w.followed && led.is_some() && node.status(self.cluster.local(i)).leader == led {
                w.followed = true;
            }
            if !w.back && w.online.iter().all(|p| node.peer_status(p) == Some(NodeStatus::Online)) {
                w.back = true;
            }
        }
        if cp.result.leader_resync.is_none() && cp.nodes.iter().all(|w| w.supervisor || w.followed) {
            cp.result.leader_resync = Some(since);
        }
        if cp.result.membership_resync.is_none() && cp.nodes.iter().all(|w| w.back) {
            cp.result.membership_resync = Some(since);
        }
        if cp.result.tasks_resync.is_none()
            && let Some(l) = leader.and_then(|l| self.cluster.node(l))
        {
            let table = l.assignments();
            if table.len() == self.tasks.len() && table.iter().all(|t| t.primaries.len() >= usize::from(t.required)) {
                cp.result.tasks_resync = Some(since);
            }
        }
        // Each worker follows the leader again at the leader's first
        // heartbeat after the heal: within one heartbeat interval and the
        // network's latency; on a lossy network, two intervals more for a
        // lost heartbeat or two.
        let lossy = if self.cfg.net.loss > 0.0 { 2.0 * self.cfg.heartbeat.as_secs_f64() } else { 0.0 };
        let bound = (self.cfg.heartbeat + self.cfg.net.latency_max).as_secs_f64() + lossy;
        if cp.result.leader_resync.is_none() && since > bound {
            let late: Vec<String> =
                cp.nodes.iter().filter(|w| !w.supervisor && !w.followed).map(|w| w.id.to_string()).collect();
            let what = format!("control plane healed {since:.3} s ago: {} follow the leader not yet", late.join(", "));
            return Err(self.cluster.violation(what));
        }
        Ok(())
    }

    fn report_checkpoints(&mut self) {
        // Each worker signs its reports (an Ed25519 signature each): shared
        // out on the run's threads, drained in node order.
        let workers: Vec<usize> = (self.cfg.supervisors..self.cluster.len()).collect();
        self.cluster.drive_each(&workers, |local, node| {
            let mut any = false;
            for (task, h) in node.held() {
                if h.role == TaskRole::Primary {
                    let seq = h.checkpoint.map_or(1, |c| c.sequence + 1);
                    let cp = Checkpoint { sequence: seq, digest: [seq as u8; 32] };
                    any |= node.report_checkpoint(local, &task, cp);
                }
            }
            any
        });
        self.events();
    }

    /// Runs to the end of the configured duration, checking every invariant after every step.
    pub fn run(&mut self) -> Result<Summary, Violation> {
        // Windows need a lookahead: with a zero minimum latency a datagram
        // can arrive at the instant it is sent.
        if self.cfg.node_threads > 1 && self.recording.is_none() && self.cfg.net.latency_min > Duration::ZERO {
            join_node_pool(self.cfg.node_threads).map_err(|what| Violation {
                seed: self.cfg.seed,
                step: 0,
                at_secs: 0.0,
                what,
            })?;
            return self.run_loop(true);
        }
        self.run_loop(false)
    }

    fn run_loop(&mut self, windows: bool) -> Result<Summary, Violation> {
        let end = self.cluster.start_time() + self.cfg.duration;
        loop {
            let next_action = self.actions.last().map_or(Instant::MAX, |a| a.0);
            let next_wg = self.wg.as_ref().map_or(Instant::MAX, |w| w.next);
            // The next thing the run itself does (not a node).
            let next_own = next_action.min(self.next_checkpoint).min(self.next_attack).min(next_wg);
            let next_node = self.cluster.next_time();
            let t = next_own.min(next_node);
            if t > end {
                break;
            }
            let now = self.cluster.now();
            let live = self.cluster.up_count() as u128;
            if windows && next_node < next_own {
                // Nodes' steps only, up to the run's next act: in windows.
                // The control-plane watch runs after the first step at or
                // past its time, as it does one step at a time: a window
                // stops short of that time, and the step there is alone.
                let watch = self.cp.as_ref().map_or(Instant::MAX, |c| c.next_check);
                let watch = if watch <= next_node { next_node + Duration::from_micros(1) } else { watch };
                let limit = next_own.min(watch).min(end + Duration::from_micros(1));
                let due = self.cluster.process_window(limit);
                let stepped = self.cluster.now().saturating_duration_since(now);
                self.up_node_micros += live * u128::from(stepped.total_micros());
                self.events();
                due?;
            } else {
                self.up_node_micros += live * u128::from(t.saturating_duration_since(now).total_micros());
                if let Some(r) = &mut self.recording {
                    r.sample_before(&self.cluster, t);
                }
                self.cluster.advance(t);
                while let Some((at, _)) = self.actions.last()
                    && *at <= self.cluster.now()
                {
                    if let Some((_, a)) = self.actions.pop() {
                        self.act(a);
                    }
                }
                if self.cluster.now() >= self.next_checkpoint {
                    self.next_checkpoint = self.cluster.now() + Duration::from_secs(5);
                    self.report_checkpoints();
                }
                if self.wg.as_ref().is_some_and(|w| self.cluster.now() >= w.next) {
                    self.report_handshakes();
                }
                // In windows, the nodes' steps at this instant too (after the
                // run's acts at it, as in a step).
                let due = if windows {
                    self.cluster.process_window(t + Duration::from_micros(1)).map(|_| ())
                } else {
                    self.cluster.process_due()
                };
                self.events();
                due?;
            }
            let honest = self.cfg.supervisors.saturating_sub(self.cfg.byzantine);
            let model = match u32::try_from(self.cfg.byzantine) {
                Ok(0) => FaultModel::CrashOnly,
                Ok(f) => FaultModel::Byzantine { f },
                Err(_) => FaultModel::Byzantine { f: u32::MAX },
            };
            let quorum = model.quorum(self.cfg.supervisors);
            if let Some(d) = self.cluster.check_liveness(honest, quorum, liveness_bound())? {
                let d = d.as_secs_f64();
                self.summary.leader_after_fault = Some(self.summary.leader_after_fault.map_or(d, |m| m.max(d)));
            }
            self.watch_control_plane()?;
            // The role invariants visit every worker's roles: every step on the
            // clusters the sweeps run, at most every 100 virtual ms on large
            // ones (a 1,000-node run has millions of steps). Both invariants are
            // about states that last (a stale primary past the lease time, a
            // resumption from an old checkpoint), so a coarser check still sees them.
            let now = self.cluster.now();
            if self.cluster.len() <= ROLE_CHECK_EVERY_STEP_UP_TO || now >= self.next_role_check {
                self.next_role_check = now + Duration::from_millis(100);
                let tasks = &self.required;
                let required = |task: &TaskId| tasks.get(task).copied().unwrap_or(0);
                let settle = lease_for(self.cfg.heartbeat) + Duration::from_secs(3);
                self.cluster.check_roles_step(settle, required)?;
            }
            // Loop-freedom of the cluster's next-hop tables, every step on the
            // clusters the sweeps run (at most every 100 virtual ms on large ones).
            if self.cluster.len() <= ROLE_CHECK_EVERY_STEP_UP_TO || now >= self.next_loop_check {
                self.next_loop_check = now + Duration::from_millis(100);
                self.cluster.check_loop_free()?;
            }
            if self.cluster.now() >= self.next_attack
                && let Some(a) = self.attacker.as_mut()
            {
                let gap = (1_000_000.0 / self.cfg.attack_rate) as u64;
                self.next_attack = self.cluster.now() + Duration::from_micros(gap.max(1));
                a.strike(&mut self.cluster)?;
            }
            self.check()?;
        }
        // Nothing is due by `end`: this only moves the clock there (and the
        // node-seconds with it: the run lasts to `end`, however it got near).
        let live = self.cluster.up_count() as u128;
        self.up_node_micros += live * u128::from(end.saturating_duration_since(self.cluster.now()).total_micros());
        self.cluster.step(end)?;
        if let Some(r) = &mut self.recording {
            r.sample_before(&self.cluster, end + Duration::from_micros(1));
            r.finish(&self.cluster);
        }
        Ok(self.finish())
    }

    /// The invariants beyond the harness's per-step ones (one leader per term,
    /// bounded queues), checked when something they depend on changed and at
    /// least once per virtual second.
    fn check(&mut self) -> Result<(), Violation> {
        let now = self.cluster.now();
        if !(self.dirty || now >= self.next_full_check) {
            return Ok(());
        }
        self.dirty = false;
        self.next_full_check = now + Duration::from_secs(1);
        self.cluster.check_drained()?;
        self.cluster.check_leader_tables()?;
        if self.cfg.byzantine > 0 {
            // Terms move only with proof: no honest supervisor is ever pushed
            // anywhere near the last term by a liar.
            for i in 0..self.cfg.supervisors.saturating_sub(self.cfg.byzantine) {
                let term = self.cluster.node(i).and_then(|n| n.status(now).election).map_or(0, |e| e.term);
                if term > 1_000_000 {
                    return Err(self.cluster.violation(format!("{} was pushed to term {term}", self.name(i))));
                }
            }
        }
        let settled = now.saturating_duration_since(self.last_disruption) >= GRACE;
        if settled {
            // The leader's own tables cannot break these (its workers manager
            // enforces them): check what the live workers actually hold.
            // A re-elected leader's old-term roles end at its next notice (the
            // assignment carries its term), so a settled cluster has none left.
            let tasks = &self.required;
            let required = |task: &TaskId| tasks.get(task).copied().unwrap_or(0);
            self.cluster.check_held_roles(self.cfg.slots, required)?;
        }
        if settled && let Some(l) = self.cluster.leader() {
            let live_workers = (self.cfg.supervisors..self.cluster.len()).filter(|&i| self.up(i)).count() as u64;
            let live_slots = live_workers * u64::from(self.cfg.slots);
            let needed: u64 = self.tasks.iter().map(|(_, r, _)| u64::from(*r)).sum();
            let submitted = now >= self.cluster.start_time() + Duration::from_secs(5) + GRACE;
            if submitted && live_slots >= needed {
                self.cluster.check_coverage(l, self.tasks.len(), GRACE)?;
            }
        }
        self.cluster.check_routes(GRACE)
    }

    fn finish(&mut self) -> Summary {
        let mut s = std::mem::take(&mut self.summary);
        s.duration_secs = self.cfg.duration.as_secs_f64();
        s.steps = self.cluster.steps();
        s.crashes = self.crashes.clone();
        s.node_hours = self.up_node_micros as f64 / 3_600_000_000.0;
        s.leader_changes = (self.cluster.leaders_by_term().len() as u64).saturating_sub(1);
        let ns = self.cluster.net().stats();
        s.messages_sent = ns.sent;
        s.bytes_sent = ns.bytes_sent;
        s.kinds = self.cluster.net().kinds();
        s.lost = ns.lost;
        s.duplicated = ns.duplicated;
        s.partitioned = ns.partitioned;
        let leader = self.cluster.leader();
        for i in 0..self.cluster.len() {
            let Some(node) = self.cluster.node(i) else { continue };
            let st = node.status(self.cluster.local(i));
            s.history_raw_bytes += st.compression.raw_bytes;
            s.history_compressed_bytes += st.compression.compressed_bytes;
            s.mesh_routes += st.mesh.reachable as u64;
            s.queue_drops += st.counters.dropped_events + st.counters.dropped_transmits + st.counters.history_dropped;
            if Some(i) == leader {
                s.leader_routes = st.mesh.reachable as u64;
                let table = node.assignments();
                s.tasks = table.len();
                s.tasks_complete = table.iter().filter(|t| t.primaries.len() >= usize::from(t.required)).count();
            }
        }
        s.queue_drops += self.cluster.events_dropped();
        s.trace_hash = self.cluster.trace_hash();
        s.control_plane = self.cp.as_ref().map(|c| c.result.clone());
        s.lies = self.lies.get();
        let liars = self.cfg.supervisors.saturating_sub(self.cfg.byzantine)..self.cfg.supervisors;
        let end = self.cluster.now();
        s.uncertified_refused = (0..self.cluster.len())
            .filter(|i| !liars.contains(i))
            .filter_map(|i| self.cluster.node(i))
            .map(|n| n.status(end).counters.rejected.get(pouw_netops::coordinator::RejectReason::Uncertified))
            .sum();
        if let Some((refused, withheld)) = self.cluster.liar_refusals() {
            s.withheld = withheld;
            s.lies_refused = refused.iter().map(|(k, v)| (k.clone(), *v)).collect();
        }
        if let Some(a) = &self.attacker {
            s.attack_sent = a.report.sent;
            s.attack_refused = a.report.refused.iter().map(|(k, v)| ((*k).to_string(), *v)).collect();
        }
        s
    }

    /// What the run recorded for `--report` (when [`SimConfig::record`] was set).
    pub fn recording(&self) -> Option<&Recording> {
        self.recording.as_ref().map(|r| &r.rec)
    }
}

/// Runs one seed of `cfg`.
pub fn run(cfg: SimConfig) -> (Result<Summary, Violation>, Vec<String>) {
    let (r, timeline, _) = run_recorded(cfg);
    (r, timeline)
}

/// Runs one seed of `cfg`, also returning what it recorded (with [`SimConfig::record`]).
pub fn run_recorded(cfg: SimConfig) -> (Result<Summary, Violation>, Vec<String>, Option<Recording>) {
    let seed = cfg.seed;
    let mut sim = match Sim::new(cfg) {
        Ok(sim) => sim,
        Err(what) => return (Err(Violation { seed, step: 0, at_secs: 0.0, what }), Vec::new(), None),
    };
    let r = sim.run();
    (r, std::mem::take(&mut sim.timeline), sim.recording.take().map(|r| r.rec))
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
    let _ = writeln!(
        out,
        "{:<34} {} (bound {})",
        "followed leader after a fault",
        f(s.leader_after_fault),
        f(Some(liveness_bound().as_secs_f64()))
    );
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
    for (kind, n, bytes) in &s.kinds {
        let _ = writeln!(out, "{:<34} {n} ({bytes} bytes)", format!("  {kind}"));
    }
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
    if s.lies > 0 || s.withheld > 0 {
        let refused: u64 = s.lies_refused.iter().map(|(_, n)| n).sum();
        let reasons: Vec<String> = s.lies_refused.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(
            out,
            "{:<34} {} lies, {} withheld, {refused} refused ({}); {} refused as uncertified by honest nodes",
            "Byzantine supervisors",
            s.lies,
            s.withheld,
            reasons.join(", "),
            s.uncertified_refused
        );
    }
    if s.attack_sent > 0 {
        let refused: u64 = s.attack_refused.iter().map(|(_, n)| n).sum();
        let reasons: Vec<String> = s.attack_refused.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(
            out,
            "{:<34} {refused} of {} refused, none changed a node ({})",
            "attacker datagrams",
            s.attack_sent,
            reasons.join(", ")
        );
    }
    if let Some(c) = &s.control_plane {
        let _ = writeln!(
            out,
            "{:<34} {} of {} up tunnels lost, next hops changed {} at workers, {} at supervisors ({} checks)",
            "during the control-plane cut",
            c.tunnels_lost,
            c.tunnels_at_cut,
            c.worker_route_changes,
            c.supervisor_route_changes,
            c.checks
        );
        let _ = writeln!(
            out,
            "{:<34} leader followed {}, peers online {}, tasks complete {}",
            "resync after the heal",
            f(c.leader_resync),
            f(c.membership_resync),
            f(c.tasks_resync)
        );
    }
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
            "\"attack_sent\":{},\"attack_refused\":{},{}",
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
        s.attack_sent,
        s.attack_refused.iter().map(|(_, n)| n).sum::<u64>(),
        s.control_plane.as_ref().map_or(String::new(), |c| format!(
            concat!(
                "\"control_plane\":{{\"tunnels_at_cut\":{},\"tunnels_lost\":{},\"checks\":{},",
                "\"worker_route_changes\":{},\"supervisor_route_changes\":{},",
                "\"leader_resync\":{},\"membership_resync\":{},\"tasks_resync\":{}}},"
            ),
            c.tunnels_at_cut,
            c.tunnels_lost,
            c.checks,
            c.worker_route_changes,
            c.supervisor_route_changes,
            opt(c.leader_resync),
            opt(c.membership_resync),
            opt(c.tasks_resync)
        )),
        s.trace_hash
    )
}
