//! `--transport udp`: the same nodes as threads, each with a real UDP socket on
//! 127.0.0.1 and the real monotonic clock. The story's faults are real: a crash
//! ends the node's thread (its state is gone; a supervisor's persisted term and
//! vote survive) and a restart starts a fresh node on the same socket.
//!
//! Checked here: never two leaders in one term. The other invariants need a
//! consistent global view, which only the virtual-time simulator has.

use crate::cluster::{CrashRecord, SimConfig, SimSupervisor, SimWorker, Summary, Violation};
use pouw_netops::coordinator::{OpsConfig, OpsEventKind};
use pouw_netops::election::HardState;
use pouw_netops::workers::{Checkpoint, TaskRole};
use pouw_netops::{Instant, NodeId, NodeRole, OpsEvent, TaskId, TaskType};
use pouw_netops_harness::{ClusterAuthority, OpsNode, Target};
use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration as StdDuration, Instant as WallInstant};

/// What a node thread reports to the scenario.
#[allow(clippy::large_enum_variant)]
enum Report {
    Event(usize, OpsEvent),
    Leading(usize, u64),
    Final(usize, Box<pouw_netops::coordinator::OpsStatus>),
    Failed(usize, String),
}

/// A poisoned lock (a node thread panicked) still holds usable data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Shared {
    addrs: Vec<SocketAddr>,
    sups: Vec<NodeId>,
    ids: Vec<NodeId>,
    epoch: WallInstant,
    sent: AtomicU64,
    bytes: AtomicU64,
    hard: Mutex<Vec<HardState>>,
    tasks: Mutex<Option<Vec<TaskId>>>,
}

impl Shared {
    fn now(&self) -> Instant {
        Instant::from_micros(1_000_000_000 + self.epoch.elapsed().as_micros() as u64)
    }
}

struct Running {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<UdpSocket>,
}

fn build(cfg: &SimConfig, shared: &Shared, i: usize) -> Result<Box<dyn OpsNode + Send>, String> {
    let mut config = OpsConfig { heartbeat_interval: cfg.heartbeat, ..OpsConfig::default() };
    config.history.compression_level = cfg.history_level;
    if let Some(p) = cfg.acceptable_pause {
        config.crash.phi.acceptable_heartbeat_pause = p;
    }
    let seed = cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i as u64);
    let id = shared.ids.get(i).cloned().ok_or_else(|| format!("no node {i}"))?;
    let err = |e: pouw_netops::coordinator::OpsError| format!("{e}");
    let authority = ClusterAuthority::new(cfg.seed);
    // A restarted node starts a newer boot epoch: the shared clock only grows.
    let epoch = shared.now().total_micros();
    if i < cfg.supervisors {
        let credentials = authority.credentials(&id, NodeRole::Supervisor, &[], 0, epoch)?;
        let mut n =
            SimSupervisor::new_boxed(id, NodeRole::Supervisor, &shared.sups, config, seed, credentials).map_err(err)?;
        n.restore_hard_state(lock(&shared.hard).get(i).cloned().unwrap_or_default());
        Ok(n)
    } else {
        let train = TaskType::new("train").map_err(|e| format!("{e}"))?;
        let credentials = authority.credentials(&id, NodeRole::Worker, &[train], cfg.slots, epoch)?;
        Ok(SimWorker::new_boxed(id, NodeRole::Worker, &shared.sups, config, seed, credentials).map_err(err)?)
    }
}

fn spawn(
    cfg: &SimConfig,
    shared: &Arc<Shared>,
    i: usize,
    socket: UdpSocket,
    tx: Sender<Report>,
) -> Result<Running, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut node = build(cfg, shared, i)?;
    let train = TaskType::new("train").map_err(|e| format!("{e}"))?;
    let (shared, flag) = (Arc::clone(shared), Arc::clone(&stop));
    let supervisors = cfg.supervisors;
    let handle = std::thread::spawn(move || {
        // Datagrams that reached the dead node's socket are not for the new one.
        socket.set_nonblocking(true).ok();
        let mut buf = vec![0u8; 65_536];
        while socket.recv_from(&mut buf).is_ok() {}
        socket.set_nonblocking(false).ok();
        if let Err(e) = node.start(shared.now()) {
            let _ = tx.send(Report::Failed(i, e));
            return socket;
        }
        let mut submitted = false;
        let mut next_checkpoint = shared.now() + pouw_netops::Duration::from_secs(2);
        let mut leading = None;
        while !flag.load(Ordering::Relaxed) {
            let now = shared.now();
            let wait = node.poll_timeout().saturating_duration_since(now).total_micros().clamp(1_000, 20_000);
            socket.set_read_timeout(Some(StdDuration::from_micros(wait))).ok();
            if let Ok((n, _)) = socket.recv_from(&mut buf)
                && let Some(bytes) = buf.get(..n)
            {
                let _ = node.handle_message(shared.now(), bytes);
            }
            let now = shared.now();
            if node.poll_timeout() <= now {
                node.tick(now);
            }
            if i < supervisors
                && !submitted
                && let Some(tasks) = lock(&shared.tasks).clone()
            {
                for t in tasks {
                    node.submit_task(now, t, train.clone(), 1, 1);
                }
                submitted = true;
            }
            if i >= supervisors && now >= next_checkpoint {
                next_checkpoint = now + pouw_netops::Duration::from_secs(2);
                for (task, h) in node.held() {
                    if h.role == TaskRole::Primary {
                        let seq = h.checkpoint.map_or(1, |c| c.sequence + 1);
                        node.report_checkpoint(now, &task, Checkpoint { sequence: seq, digest: [seq as u8; 32] });
                    }
                }
            }
            while let Some(hs) = node.poll_hard_state() {
                if let Some(slot) = lock(&shared.hard).get_mut(i) {
                    *slot = hs;
                }
            }
            while let Some(t) = node.poll_transmit() {
                // The coordinator's messages are encoded already: never an error.
                let Ok(t) = t else { continue };
                let targets: Vec<usize> = match &t.to {
                    Target::Node(n) => shared.ids.iter().position(|x| x == n).into_iter().collect(),
                    Target::Supervisors => (0..supervisors).filter(|&j| j != i).collect(),
                    Target::All => (0..shared.ids.len()).filter(|&j| j != i).collect(),
                };
                for addr in targets.into_iter().filter_map(|j| shared.addrs.get(j)) {
                    if socket.send_to(&t.bytes, addr).is_ok() {
                        shared.sent.fetch_add(1, Ordering::Relaxed);
                        shared.bytes.fetch_add(t.bytes.len() as u64, Ordering::Relaxed);
                    }
                }
            }
            while let Some(e) = node.poll_event() {
                let _ = tx.send(Report::Event(i, e));
            }
            node.drain_other();
            let l = node.leading();
            if l != leading {
                leading = l;
                if let Some(term) = l {
                    let _ = tx.send(Report::Leading(i, term));
                }
            }
        }
        let _ = tx.send(Report::Final(i, Box::new(node.status(shared.now()))));
        socket
    });
    Ok(Running { stop, handle })
}

/// Runs the story over real UDP sockets for `cfg.duration` of wall time.
pub fn run(cfg: SimConfig) -> (Result<Summary, Violation>, Vec<String>) {
    let fail = |what: String| (Err(Violation { seed: cfg.seed, step: 0, at_secs: 0.0, what }), Vec::new());
    let ids = match node_ids(&cfg) {
        Ok(ids) => ids,
        Err(e) => return fail(e),
    };
    let n = ids.len();
    let sockets = match (0..n).map(|_| UdpSocket::bind("127.0.0.1:0")).collect::<Result<Vec<_>, _>>() {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot bind a UDP socket on 127.0.0.1: {e}")),
    };
    let addrs = match sockets.iter().map(|s| s.local_addr()).collect::<Result<Vec<_>, _>>() {
        Ok(a) => a,
        Err(e) => return fail(format!("no local address: {e}")),
    };
    let shared = Arc::new(Shared {
        addrs,
        sups: ids.iter().take(cfg.supervisors).cloned().collect(),
        ids: ids.clone(),
        epoch: WallInstant::now(),
        sent: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        hard: Mutex::new(vec![HardState::default(); n]),
        tasks: Mutex::new(None),
    });
    let (tx, rx): (Sender<Report>, Receiver<Report>) = channel();
    let mut running: Vec<Option<Running>> = Vec::new();
    let mut violation = None;
    for (i, s) in sockets.into_iter().enumerate() {
        match spawn(&cfg, &shared, i, s, tx.clone()) {
            Ok(r) => running.push(Some(r)),
            Err(what) => {
                violation.get_or_insert(Violation { seed: cfg.seed, step: 0, at_secs: 0.0, what });
                running.push(None);
            }
        }
    }
    let name = |i: usize| ids.get(i).map_or_else(|| "?".to_string(), |id| id.to_string());
    let index: HashMap<NodeId, usize> = ids.iter().cloned().enumerate().map(|(i, id)| (id, i)).collect();
    let total = cfg.duration.as_secs_f64();
    let at = |permille: f64| total * permille / 1000.0;
    let mut timeline = Vec::new();
    let mut summary = Summary { seed: cfg.seed, nodes: n, duration_secs: total, ..Summary::default() };
    let mut terms: BTreeMap<u64, usize> = BTreeMap::new();
    let mut leader: Option<(u64, usize)> = None;
    let mut down_since: Vec<Option<f64>> = vec![None; n];
    let mut open: HashMap<usize, usize> = HashMap::new();
    let mut detected_by: HashMap<(usize, usize), f64> = HashMap::new();
    let mut assigned: Vec<usize> = Vec::new();
    let mut stage = 0;
    // The leader kill waits for a leader (a loaded machine can take longer
    // than the script's 25 % mark to elect one); the later stages keep their
    // spacing after it through `shift`.
    let mut shift = 0.0;
    let secs = |s: &Shared| s.epoch.elapsed().as_secs_f64();
    let mut note = |t: f64, s: String| timeline.push(format!("[{t:8.3}s] {s}"));
    note(
        0.0,
        format!("cluster starts over UDP on 127.0.0.1: {} supervisors, {} workers", cfg.supervisors, cfg.workers),
    );
    let kill = |running: &mut Vec<Option<Running>>, i: usize| -> Option<UdpSocket> {
        let r = running.get_mut(i)?.take()?;
        r.stop.store(true, Ordering::Relaxed);
        r.handle.join().ok()
    };
    let mut parked: HashMap<usize, UdpSocket> = HashMap::new();
    while secs(&shared) < total && violation.is_none() {
        let now = secs(&shared);
        // The nodes this step kills, each with whether it is a supervisor.
        let mut victims: Vec<(usize, bool)> = Vec::new();
        if stage == 0 && now >= 3.0 {
            stage = 1;
            let count = cfg.tasks.unwrap_or(cfg.workers / 2);
            *lock(&shared.tasks) = Some((0..count).filter_map(|i| TaskId::new(&format!("task-{i:03}")).ok()).collect());
            note(now, format!("{count} tasks submitted to the supervisors"));
        } else if stage == 1 && now >= at(250.0) && leader.is_some() {
            stage = 2;
            shift = now - at(250.0);
            victims.extend(leader.map(|(_, l)| (l, true)));
        } else if stage == 2 && now >= at(450.0) + shift {
            stage = 3;
            victims.extend(
                assigned.iter().filter(|&&w| running.get(w).is_some_and(Option::is_some)).take(2).map(|&w| (w, false)),
            );
        } else if stage == 3 && now >= at(700.0) + shift {
            stage = 4;
            for (i, s) in std::mem::take(&mut parked) {
                note(now, format!("RESTART {}", name(i)));
                match spawn(&cfg, &shared, i, s, tx.clone()) {
                    Ok(r) => {
                        if let Some(slot) = running.get_mut(i) {
                            *slot = Some(r);
                        }
                    }
                    Err(what) => {
                        violation.get_or_insert(Violation { seed: cfg.seed, step: 0, at_secs: now, what });
                    }
                }
                if let Some(d) = down_since.get_mut(i) {
                    *d = None;
                }
                open.remove(&i);
            }
        }
        for (i, supervisor) in victims {
            note(now, format!("KILL {}{}", if supervisor { "the leader " } else { "" }, name(i)));
            parked.extend(kill(&mut running, i).map(|s| (i, s)));
            if let Some(d) = down_since.get_mut(i) {
                *d = Some(now);
            }
            open.insert(i, summary.crashes.len());
            summary.crashes.push(CrashRecord {
                node: name(i),
                supervisor,
                at: now,
                detection_delay: None,
                replacement_delays: vec![],
            });
        }
        while let Ok(r) = rx.recv_timeout(StdDuration::from_millis(10)) {
            let t = secs(&shared);
            match r {
                Report::Leading(i, term) => {
                    if let Some(&other) = terms.get(&term)
                        && other != i
                    {
                        violation = Some(Violation {
                            seed: cfg.seed,
                            step: 0,
                            at_secs: t,
                            what: format!("two leaders in term {term}"),
                        });
                    }
                    terms.insert(term, i);
                    if leader.is_none_or(|(lt, _)| term > lt) {
                        leader = Some((term, i));
                    }
                    summary.time_to_first_leader.get_or_insert(t);
                    note(t, format!("{} elected leader of term {term}", name(i)));
                }
                Report::Event(i, e) => {
                    let x = index.get(&e.node).copied();
                    match e.kind {
                        OpsEventKind::TaskAssigned { role: TaskRole::Primary, .. } => assigned.extend(x),
                        OpsEventKind::CrashDetected { .. } => {
                            let Some(x) = x else { continue };
                            match down_since.get(x).copied().flatten() {
                                None => summary.false_suspicions += 1,
                                Some(d) => {
                                    detected_by.insert((i, x), t);
                                    if let Some(&c) = open.get(&x)
                                        && let Some(rec) = summary.crashes.get_mut(c)
                                        && rec.detection_delay.is_none()
                                        && (i < cfg.supervisors || x < cfg.supervisors)
                                    {
                                        rec.detection_delay = Some(t - d);
                                        note(
                                            t,
                                            format!("{} detects the crash of {} after {:.3}s", name(i), name(x), t - d),
                                        );
                                    }
                                }
                            }
                        }
                        OpsEventKind::WorkerReplaced { task, replacement, checkpoint, .. } => {
                            let Some(x) = x else { continue };
                            let d = detected_by.get(&(i, x)).copied().unwrap_or(t);
                            if let Some(&c) = open.get(&x)
                                && let Some(rec) = summary.crashes.get_mut(c)
                            {
                                rec.replacement_delays.push(t - d);
                            }
                            let cp =
                                checkpoint.map_or("the start".to_string(), |c| format!("checkpoint #{}", c.sequence));
                            note(
                                t,
                                format!(
                                    "{} moves {task} from {} to {replacement}, resuming from {cp}",
                                    name(i),
                                    name(x)
                                ),
                            );
                        }
                        _ => {}
                    }
                }
                Report::Final(..) => {}
                Report::Failed(i, e) => {
                    let what = format!("{} failed to start: {e}", name(i));
                    violation.get_or_insert(Violation { seed: cfg.seed, step: 0, at_secs: t, what });
                }
            }
        }
    }
    for i in 0..n {
        kill(&mut running, i);
    }
    drop(tx);
    let final_leader = leader.map(|(_, l)| l);
    while let Ok(r) = rx.recv() {
        if let Report::Final(i, st) = r {
            summary.history_raw_bytes += st.compression.raw_bytes;
            summary.history_compressed_bytes += st.compression.compressed_bytes;
            summary.mesh_routes += st.mesh.reachable as u64;
            summary.queue_drops +=
                st.counters.dropped_events + st.counters.dropped_transmits + st.counters.history_dropped;
            if Some(i) == final_leader {
                summary.leader_routes = st.mesh.reachable as u64;
            }
        }
    }
    summary.leader_changes = (terms.len() as u64).saturating_sub(1);
    summary.messages_sent = shared.sent.load(Ordering::Relaxed);
    summary.bytes_sent = shared.bytes.load(Ordering::Relaxed);
    summary.node_hours = n as f64 * total / 3600.0;
    (violation.map_or(Ok(summary.clone()), Err), timeline)
}

fn node_ids(cfg: &SimConfig) -> Result<Vec<NodeId>, String> {
    let names =
        (0..cfg.supervisors).map(|i| format!("sup-{i}")).chain((0..cfg.workers).map(|i| format!("worker-{i:03}")));
    names.map(|s| NodeId::new(&s).map_err(|e| format!("{s}: {e}"))).collect()
}
