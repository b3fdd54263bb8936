//! `run`: one node as a process. One UDP socket, the monotonic clock, the
//! data directory, and the HTTP endpoint; the coordinator does the rest.
//!
//! A thread reads the UDP socket into a bounded queue (full: dropped and
//! counted), which HTTP requests share. Order of work in one turn of the loop:
//! take an input (waiting until the coordinator's next deadline for the first,
//! then up to 255 more that are queued), `tick` if due; after every
//! `handle_message` and `tick`, drain in the coordinator's order: the hard
//! state is **persisted** (temp file, fsync, rename, directory fsync) before
//! any transmit is sent; then transmits, events, archived history batches. An
//! HTTP request is answered in its turn, after a drain.
//!
//! Addresses: the supervisors' and bootstrap peers' come from the
//! configuration; any other peer's is learned from the source address of a
//! datagram **after** `handle_message` accepted it (authenticated, not a
//! replay), never from one that failed.

use crate::config::{Checked, to_hex};
use crate::http::{self, Request, Response};
use crate::keys::{self, Error};
use crate::store::{self, DataDir};
use pouw_netops::auth::PublicIdentity;
use pouw_netops::auth::seal;
use pouw_netops::coordinator::{Credentials, HandleError, OpsEvent, OpsEventKind, RejectReason};
use pouw_netops::election::HardState;
use pouw_netops::mesh::{RenderError, WireGuardOptions};
use pouw_netops::{Instant, NodeId};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration as StdDuration, Instant as WallInstant, SystemTime, UNIX_EPOCH};

/// The coordinator with the host preset's capacities (thousands of peers).
pub type Node = pouw_netops::preset::large::NetworkOperationsManager;

/// The core's clock starts at this many seconds, so "long ago" is representable.
const CLOCK_OFFSET_SECS: u64 = 1_000;

/// Inputs taken in one turn of the loop at most.
const INPUT_BATCH: usize = 256;

/// Inputs (datagrams and HTTP requests) waiting for the loop at most; more
/// are dropped and counted in `pn_queue_drops_total{queue="input"}`.
pub const INPUT_QUEUE: usize = 16_384;

/// Datagrams dropped because the input queue was full.
static INPUT_DROPS: AtomicU64 = AtomicU64::new(0);

/// What the loop takes in.
pub enum Input {
    /// A datagram and its source address.
    Datagram(Vec<u8>, SocketAddr),
    /// An HTTP request.
    Http(Request),
}

/// Events kept for `/status`.
const RECENT_EVENTS: usize = 64;

/// How often the WireGuard configuration is re-rendered at most.
const WG_EVERY: StdDuration = StdDuration::from_secs(1);

/// The node's process state around the coordinator.
pub struct Host {
    cfg: Checked,
    node: Box<Node>,
    data: DataDir,
    socket: UdpSocket,
    started: WallInstant,
    epoch: u64,
    /// Addresses by node id: configured, then learned from authenticated datagrams.
    book: HashMap<NodeId, SocketAddr>,
    /// The last hard state persisted.
    persisted: HardState,
    recent: VecDeque<Value>,
    unroutable: u64,
    send_errors: u64,
    batches: u64,
    wg_dirty: bool,
    wg_last: Option<WallInstant>,
    wg_text: String,
    leaving: bool,
}

fn unix_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl Host {
    /// Loads keys, certificate and state, persists this boot's epoch, binds the
    /// socket and starts the coordinator. A corrupt state file is an error.
    pub fn start(cfg: Checked) -> Result<Self, Error> {
        let data = DataDir::open(&cfg.data_dir)?;
        // Read (and check) the hard state before anything else: a torn or corrupt
        // file stops the node here, before it could vote again.
        let hard = data.hard_state()?;
        let identity = keys::read_key(&cfg.key)?;
        let certificate = keys::read_certificate(&cfg.certificate)?;
        let authority = PublicIdentity::from_bytes(&cfg.authority).map_err(|e| format!("authority: {e}"))?;
        let started = WallInstant::now();
        let unix = unix_micros();
        let unix_at_zero = (unix / 1_000_000).saturating_sub(CLOCK_OFFSET_SECS);
        // The epoch is on disk before the first message that carries it.
        let epoch = data.next_epoch(unix)?;
        let credentials = Credentials { identity, certificate, authority, epoch, unix_at_zero };
        let supervisors: Vec<NodeId> = cfg.supervisors.iter().map(|p| p.id.clone()).collect();
        let seed = epoch ^ pouw_netops::hash::fnv1a_64(cfg.id.as_bytes());
        let mut node = Node::new_boxed(cfg.id.clone(), cfg.role, &supervisors, cfg.ops.clone(), seed, credentials)
            .map_err(|e| format!("cannot build the node: {e}"))?;
        node.restore_hard_state(hard.clone());
        let socket = UdpSocket::bind(cfg.listen).map_err(|e| format!("listen {}: {e}", cfg.listen))?;
        let mut book = HashMap::new();
        for p in cfg.supervisors.iter().chain(&cfg.bootstrap) {
            book.insert(p.id.clone(), p.address);
        }
        let batches = data.last_batch();
        log::info!(
            "starting id={} role={} listen={} epoch={epoch} term={} voted_for={}",
            cfg.id,
            cfg.role.as_str(),
            cfg.listen,
            hard.term,
            hard.voted_for.as_ref().map_or("-", NodeId::as_str)
        );
        let mut host = Host {
            cfg,
            node,
            data,
            socket,
            started,
            epoch,
            book,
            persisted: hard,
            recent: VecDeque::new(),
            unroutable: 0,
            send_errors: 0,
            batches,
            wg_dirty: true,
            wg_last: None,
            wg_text: String::new(),
            leaving: false,
        };
        let now = host.now();
        host.node.start(now).map_err(|e| format!("cannot start: {e}"))?;
        host.drain()?;
        for (task, ty, required, backups) in host.cfg.tasks.clone() {
            let now = host.now();
            if let Err(e) = host.node.submit_task(now, task.clone(), ty, required, backups) {
                log::warn!("task {task} not submitted: {e}");
            }
            host.drain()?;
        }
        Ok(host)
    }

    /// The core's time now.
    fn now(&self) -> Instant {
        let us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        Instant::from_micros(CLOCK_OFFSET_SECS.saturating_mul(1_000_000).saturating_add(us))
    }

    /// Runs until `POST /leave`; datagrams and HTTP requests arrive on `inputs`.
    pub fn run(&mut self, inputs: &Receiver<Input>) -> Result<(), Error> {
        while !self.leaving {
            let now = self.now();
            let wait = self.node.poll_timeout().saturating_duration_since(now).total_micros().clamp(500, 100_000);
            match inputs.recv_timeout(StdDuration::from_micros(wait)) {
                Ok(input) => {
                    self.take(input)?;
                    // Whatever else is queued, before the next tick and drain.
                    for _ in 1..INPUT_BATCH {
                        let Ok(input) = inputs.try_recv() else { break };
                        self.take(input)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err("the receiving threads stopped".into()),
            }
            let now = self.now();
            if self.node.poll_timeout() <= now {
                self.node.tick(now);
            }
            self.drain()?;
            self.write_wireguard();
        }
        log::info!("left the cluster; exiting");
        Ok(())
    }

    fn take(&mut self, input: Input) -> Result<(), Error> {
        match input {
            Input::Datagram(bytes, from) => {
                self.receive(&bytes, from);
                // The drain contract: after every `handle_message`.
                self.drain()?;
            }
            Input::Http(req) => {
                // Answers see the state after everything handled so far.
                self.drain()?;
                let response = self.answer(&req.method, &req.path)?;
                let _ = req.reply.send(response);
            }
        }
        Ok(())
    }

    fn receive(&mut self, bytes: &[u8], from: SocketAddr) {
        let now = self.now();
        match self.node.handle_message(now, bytes) {
            Ok(()) => {
                // Accepted: the envelope's sender is authenticated, so its
                // source address may be learned.
                if let Ok(u) = seal::parse(bytes)
                    && u.sender != self.cfg.id
                    && self.book.get(&u.sender) != Some(&from)
                {
                    log::debug!("address peer={} addr={from}", u.sender);
                    self.book.insert(u.sender, from);
                }
            }
            Err(HandleError::Rejected(r)) => log::debug!("rejected reason={} from={from}", r.as_str()),
            Err(e) => log::debug!("not handled: {e}"),
        }
    }

    /// Drains the coordinator in its documented order.
    fn drain(&mut self) -> Result<(), Error> {
        while let Some(hs) = self.node.poll_hard_state() {
            // Durable before any message that depends on it leaves.
            self.data.save_hard_state(&hs).map_err(|e| format!("cannot persist the hard state: {e}"))?;
            log::debug!("persisted term={} voted_for={}", hs.term, hs.voted_for.as_ref().map_or("-", NodeId::as_str));
            self.persisted = hs;
        }
        while let Some(t) = self.node.poll_transmit() {
            match self.book.get(&t.to) {
                Some(addr) => {
                    if self.socket.send_to(&t.bytes, addr).is_err() {
                        self.send_errors = self.send_errors.saturating_add(1);
                    }
                }
                None => self.unroutable = self.unroutable.saturating_add(1),
            }
        }
        while let Some(e) = self.node.poll_event() {
            self.on_event(&e);
        }
        while let Some(b) = self.node.poll_archived() {
            self.batches = self.batches.saturating_add(1);
            match self.data.save_batch(self.batches, b.as_bytes()) {
                Ok(p) => log::debug!("archived batch file={}", p.display()),
                Err(e) => log::warn!("archived batch lost: {e}"),
            }
        }
        Ok(())
    }

    fn on_event(&mut self, e: &OpsEvent) {
        let kind = e.kind.as_str();
        let detail = match &e.kind {
            OpsEventKind::LeaderElected { term } | OpsEventKind::SteppedDown { term } => format!("term={term}"),
            OpsEventKind::WorkerReplaced { task, replacement, role, .. } => {
                format!("task={task} replacement={replacement} role={}", role.as_str())
            }
            OpsEventKind::TaskAssigned { task, role, .. } | OpsEventKind::AssignmentReceived { task, role, .. } => {
                format!("task={task} role={}", role.as_str())
            }
            OpsEventKind::AssignmentReleased { task } | OpsEventKind::LeaseExpired { task } => format!("task={task}"),
            OpsEventKind::NodeStatusChanged { from, to } => format!("from={} to={}", from.as_str(), to.as_str()),
            _ => String::new(),
        };
        match &e.kind {
            OpsEventKind::TunnelUp | OpsEventKind::TunnelDown { .. } | OpsEventKind::RouteChanged { .. } => {
                self.wg_dirty = true;
                log::debug!("event={kind} node={} {detail}", e.node);
            }
            OpsEventKind::BatchCompressed { .. } => log::debug!("event={kind} node={} {detail}", e.node),
            _ => log::info!("event={kind} node={} {detail}", e.node),
        }
        if self.recent.len() >= RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(json!({
            "at_s": e.at.total_micros() as f64 / 1e6 - CLOCK_OFFSET_SECS as f64,
            "node": e.node.as_str(),
            "event": kind,
            "detail": detail,
        }));
    }

    /// Writes `wg0.conf` when the mesh changed (at most once a second).
    fn write_wireguard(&mut self) {
        if !self.wg_dirty || self.wg_last.is_some_and(|t| t.elapsed() < WG_EVERY) {
            return;
        }
        self.wg_dirty = false;
        self.wg_last = Some(WallInstant::now());
        let mut text = String::new();
        let mesh = self.node.mesh();
        let mut rendered = mesh.write_wireguard(&WireGuardOptions::default(), &mut text);
        if rendered == Err(RenderError::PlaceholderKey) {
            // Peers whose certificates carry no WireGuard key: written, but
            // under `# WARNING` comments, and said so here.
            log::warn!("peers without a WireGuard key: wg0.conf lists placeholder keys (marked # WARNING)");
            text.clear();
            let options = WireGuardOptions { placeholder_keys: true, ..WireGuardOptions::default() };
            rendered = mesh.write_wireguard(&options, &mut text);
        }
        if rendered.is_err() || text == self.wg_text {
            return;
        }
        match self.data.save_wireguard(&text) {
            Ok(()) => self.wg_text = text,
            Err(e) => log::warn!("wireguard config not written: {e}"),
        }
    }

    fn answer(&mut self, method: &str, path: &str) -> Result<Response, Error> {
        Ok(match (method, path) {
            ("GET", "/readyz") => match self.node.leader() {
                Some((l, term)) => Response::text(200, format!("leader {l} term {term}\n")),
                None => Response::text(503, "no known leader\n"),
            },
            ("GET", "/status") => Response::json(200, self.status().to_string()),
            ("GET", "/members") => Response::json(200, self.members().to_string()),
            ("GET", "/metrics") => {
                let mut r = Response::text(200, self.metrics());
                r.content_type = "text/plain; version=0.0.4";
                r
            }
            ("POST", "/leave") => {
                let now = self.now();
                log::info!("leaving on request");
                self.node.stop(now);
                self.drain()?;
                self.leaving = true;
                Response::text(200, "left\n")
            }
            (_, "/readyz" | "/status" | "/members" | "/metrics" | "/leave") => Response::text(405, "wrong method\n"),
            _ => Response::text(404, "not found\n"),
        })
    }

    fn term(&self) -> u64 {
        self.node.election().map_or_else(|| self.node.leader().map_or(0, |(_, t)| t), |e| e.term())
    }

    /// The `/status` document.
    pub fn status(&self) -> Value {
        let now = self.now();
        let st = self.node.status(now);
        let c = st.counters;
        let rejected: serde_json::Map<String, Value> =
            c.rejected.iter().map(|(r, n)| (r.as_str().to_string(), json!(n))).collect();
        let held: Vec<Value> = self
            .node
            .held_tasks()
            .map(|(t, h)| json!({"task": t.as_str(), "role": h.role.as_str(), "term": h.term, "from": h.from.as_str()}))
            .collect();
        let table: Vec<Value> = self.node.tasks().map(|(t, _)| json!(t.as_str())).collect();
        let h = &st.crash_recovery;
        json!({
            "id": st.node_id.as_str(),
            "role": st.role.as_str(),
            "running": st.running,
            "epoch": self.epoch,
            "uptime_s": self.started.elapsed().as_secs_f64(),
            "term": self.term(),
            "leader": st.leader.as_ref().map(|(n, t)| json!({"id": n.as_str(), "term": t})),
            "is_leader": self.node.is_leader(),
            "election": st.election.as_ref().map(|e| json!({
                "role": e.role.as_str(), "term": e.term, "voted_for": e.voted_for.as_ref().map(NodeId::as_str),
                "leader": e.leader.as_ref().map(NodeId::as_str),
            })),
            "persisted": {"term": self.persisted.term, "voted_for": self.persisted.voted_for.as_ref().map(NodeId::as_str)},
            "peers": {"total": h.total_nodes, "online": h.online_nodes, "suspected": h.suspected_nodes,
                      "offline": h.offline_nodes, "recovering": h.recovering_nodes, "failed": h.failed_nodes},
            "members": self.node.members().count(),
            "tasks": st.tasks,
            "task_table": table,
            "held": held,
            "history": {"raw_bytes": st.compression.raw_bytes, "compressed_bytes": st.compression.compressed_bytes,
                        "batches_archived": st.compression.batches_archived, "files": self.batches},
            "mesh": {"nodes": st.mesh.nodes, "tunnels_up": st.mesh.tunnels_up, "reachable": st.mesh.reachable},
            "counters": {
                "messages_received": c.messages_received, "messages_sent": c.messages_sent,
                "bytes_sent": c.bytes_sent, "messages_ignored": c.messages_ignored,
                "dropped_transmits": c.dropped_transmits, "dropped_events": c.dropped_events,
                "history_dropped": c.history_dropped, "table_full": c.table_full,
                "unroutable": self.unroutable, "send_errors": self.send_errors,
            },
            "rejected": rejected,
            "recent_events": self.recent.iter().cloned().collect::<Vec<_>>(),
        })
    }

    /// The `/members` document: admitted peers, from their certificates.
    pub fn members(&self) -> Value {
        let list: Vec<Value> = self
            .node
            .members()
            .map(|c| {
                json!({
                    "id": c.node.as_str(),
                    "role": match c.role { pouw_netops::auth::Role::Supervisor => "supervisor", pouw_netops::auth::Role::Worker => "worker" },
                    "serial": c.serial,
                    "not_after": c.not_after,
                    "slots": c.slots,
                    "identity": to_hex(c.identity.as_bytes()),
                    "address": self.book.get(&c.node).map(ToString::to_string),
                })
            })
            .collect();
        json!({"id": self.cfg.id.as_str(), "members": list})
    }

    /// The `/metrics` text (Prometheus exposition format 0.0.4).
    pub fn metrics(&self) -> String {
        let now = self.now();
        let st = self.node.status(now);
        let c = st.counters;
        let mut m = String::with_capacity(4096);
        let family = |m: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(m, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        let crash = self.node.crash_recovery();
        family(&mut m, "pn_peer_up", "gauge", "1 if the peer is online or recovering, else 0.");
        for v in crash.nodes() {
            let up = matches!(v.status, pouw_netops::NodeStatus::Online | pouw_netops::NodeStatus::Recovering);
            let _ = writeln!(m, "pn_peer_up{{peer=\"{}\"}} {}", v.id, u8::from(up));
        }
        family(&mut m, "pn_peer_last_seen_seconds", "gauge", "Seconds since the peer's last heartbeat.");
        for v in crash.nodes() {
            let age = now.saturating_duration_since(v.last_heartbeat).as_secs_f64();
            let _ = writeln!(m, "pn_peer_last_seen_seconds{{peer=\"{}\"}} {age:.3}", v.id);
        }
        family(&mut m, "pn_peer_phi", "gauge", "The failure detector's phi for the peer.");
        for v in crash.nodes() {
            let phi = crash.phi(now, v.id).unwrap_or(0.0);
            let phi = if phi.is_finite() { phi } else { 1e9 };
            let _ = writeln!(m, "pn_peer_phi{{peer=\"{}\"}} {phi:.3}", v.id);
        }
        family(&mut m, "pn_term", "gauge", "The election term this node is in (supervisors) or follows (workers).");
        let _ = writeln!(m, "pn_term {}", self.term());
        family(&mut m, "pn_leader", "gauge", "1 for the leader this node follows, labelled with its id and term.");
        if let Some((l, t)) = self.node.leader() {
            let _ = writeln!(m, "pn_leader{{leader=\"{l}\",term=\"{t}\"}} 1");
        }
        family(&mut m, "pn_is_leader", "gauge", "1 if this node is the elected leader.");
        let _ = writeln!(m, "pn_is_leader {}", u8::from(self.node.is_leader()));
        family(&mut m, "pn_members", "gauge", "Admitted members by certified role.");
        let sup = self.node.members().filter(|c| c.role == pouw_netops::auth::Role::Supervisor).count();
        let all = self.node.members().count();
        series(&mut m, "pn_members", "role", [("supervisor", sup), ("worker", all.saturating_sub(sup))]);
        family(&mut m, "pn_peers", "gauge", "Tracked peers by health status.");
        let h = &st.crash_recovery;
        series(
            &mut m,
            "pn_peers",
            "status",
            [
                ("online", h.online_nodes),
                ("suspected", h.suspected_nodes),
                ("offline", h.offline_nodes),
                ("recovering", h.recovering_nodes),
                ("failed", h.failed_nodes),
            ],
        );
        family(&mut m, "pn_tasks", "gauge", "Tasks in the supervisor's table, or roles a worker holds.");
        let _ = writeln!(m, "pn_tasks {}", st.tasks);
        family(&mut m, "pn_queue_drops_total", "counter", "Items dropped by queue or table.");
        series(
            &mut m,
            "pn_queue_drops_total",
            "queue",
            [
                ("transmit", c.dropped_transmits),
                ("event", c.dropped_events),
                ("history", c.history_dropped),
                ("table_full", c.table_full),
                ("unroutable", self.unroutable),
                ("input", INPUT_DROPS.load(Ordering::Relaxed)),
                ("send_error", self.send_errors),
            ],
        );
        family(&mut m, "pn_auth_failures_total", "counter", "Datagrams refused at the entrance, by reason.");
        let refused = c.rejected.iter().filter(|(r, _)| *r != RejectReason::FromSelf);
        series(&mut m, "pn_auth_failures_total", "reason", refused.map(|(r, n)| (r.as_str(), n)));
        family(&mut m, "pn_history_bytes", "gauge", "Message history bytes: raw (sealed) and compressed.");
        let (raw, compressed) = (st.compression.raw_bytes, st.compression.compressed_bytes);
        series(&mut m, "pn_history_bytes", "kind", [("raw", raw), ("compressed", compressed)]);
        family(&mut m, "pn_messages_total", "counter", "Messages received (accepted) and sent.");
        series(
            &mut m,
            "pn_messages_total",
            "direction",
            [("received", c.messages_received), ("sent", c.messages_sent)],
        );
        family(&mut m, "pn_state_writes_total", "counter", "Durable state files written (fsync + rename).");
        let _ = writeln!(m, "pn_state_writes_total {}", store::writes());
        m
    }
}

/// One sample of `name` per `(value of label, sample)` pair, as
/// `name{label="value"} sample` lines.
fn series<'a, N: core::fmt::Display>(
    m: &mut String,
    name: &str,
    label: &str,
    samples: impl IntoIterator<Item = (&'a str, N)>,
) {
    for (value, n) in samples {
        let _ = writeln!(m, "{name}{{{label}=\"{value}\"}} {n}");
    }
}

/// Reads the socket on its own thread, so datagrams wait in a bounded queue
/// in memory rather than overflow the kernel's socket buffer while the loop
/// works (a fleet starting at once sends a burst of signed joins).
fn spawn_receiver(socket: UdpSocket, to_loop: SyncSender<Input>) -> std::io::Result<()> {
    std::thread::Builder::new().name("udp".into()).spawn(move || {
        let mut buf = vec![0u8; 65_536];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
            let bytes = buf.get(..n).unwrap_or_default().to_vec();
            match to_loop.try_send(Input::Datagram(bytes, from)) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    INPUT_DROPS.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    })?;
    Ok(())
}

/// `run --config FILE`: starts the node, its receiving thread and the HTTP
/// endpoint, and runs until `leave`.
pub fn run(cfg: Checked) -> Result<(), Error> {
    let (tx, rx) = sync_channel(INPUT_QUEUE);
    let http_addr = cfg.http;
    let mut host = Host::start(cfg)?;
    spawn_receiver(host.socket.try_clone()?, tx.clone())?;
    let bound = http::serve(http_addr, move |req| tx.try_send(Input::Http(req)).is_ok())
        .map_err(|e| format!("http {http_addr}: {e}"))?;
    log::info!("http listening on {bound}");
    host.run(&rx)?;
    // The answer to `leave` is on its way out: let it go before exiting.
    http::settle(StdDuration::from_secs(2));
    Ok(())
}
