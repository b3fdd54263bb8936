//! The sans-IO node (`NodeCore`, wrapped by `pouw_netops.Node`): the core's
//! `NetworkOperationsManager` (`preset::large`, built on the heap) with
//! float-second times, speaking the authenticated wire format (v2).
//!
//! Credentials come in as bytes: the identity key's 32-byte seed, the encoded
//! certificate, the authority's 32-byte public key, the boot epoch and the
//! UNIX seconds at time 0 of the host's clock. The core checks them.
//!
//! Destinations: the core seals every message for one recipient, so Python
//! sees `(node_id, bytes)` for every transmit. Events come out as
//! `(kind, at, node, details)` tuples that the Python half turns into typed
//! event objects.

use crate::errors::{core_error, id_error, invalid};
use crate::identity::{CertTuple, cert_tuple, decode_certificate, identity_key, public_identity};
use crate::time::{duration, instant};
use pouw_netops::coordinator::Credentials;
use pouw_netops::election::FaultModel;
use pouw_netops::preset::large;
use pouw_netops::workers::Checkpoint;
use pouw_netops::{HardState, NodeId, NodeRole, OpsConfig, OpsEventKind, TaskId, TaskType};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

fn node_id(s: &str, what: &str) -> PyResult<NodeId> {
    NodeId::new(s).map_err(|e| id_error(what, e))
}

fn checkpoint_tuple(c: Option<Checkpoint>) -> Option<(u64, Vec<u8>)> {
    c.map(|c| (c.sequence, c.digest.to_vec()))
}

/// Reads one optional float-second interval from `config`.
fn take_interval(config: &Bound<'_, PyDict>, key: &str, into: &mut pouw_netops::Duration) -> PyResult<()> {
    if let Some(v) = config.get_item(key)? {
        *into = duration(v.extract()?, key)?;
        config.del_item(key)?;
    }
    Ok(())
}

/// The coordinator config from the `**config` keywords; an unknown key is an
/// `InvalidArgumentError` (a typo must not silently keep a default).
fn ops_config(config: Option<&Bound<'_, PyDict>>) -> PyResult<OpsConfig> {
    let mut c = OpsConfig::default();
    let Some(given) = config else { return Ok(c) };
    let config = given.copy()?;
    take_interval(&config, "heartbeat_interval", &mut c.heartbeat_interval)?;
    take_interval(&config, "sweep_interval", &mut c.sweep_interval)?;
    take_interval(&config, "tunnel_check_interval", &mut c.tunnel_check_interval)?;
    take_interval(&config, "leader_notice_interval", &mut c.leader_notice_interval)?;
    take_interval(&config, "task_table_interval", &mut c.task_table_interval)?;
    take_interval(&config, "membership_interval", &mut c.membership_interval)?;
    take_interval(&config, "history_flush_interval", &mut c.history_flush_interval)?;
    take_interval(&config, "lease_timeout", &mut c.lease_timeout)?;
    take_interval(&config, "election_timeout", &mut c.election.election_timeout)?;
    take_interval(&config, "election_heartbeat_interval", &mut c.election.heartbeat_interval)?;
    if let Some(v) = config.get_item("pre_vote")? {
        c.election.pre_vote = v.extract()?;
        config.del_item("pre_vote")?;
    }
    if let Some(v) = config.get_item("check_quorum")? {
        c.election.check_quorum = v.extract()?;
        config.del_item("check_quorum")?;
    }
    if let Some(v) = config.get_item("byzantine_f")? {
        // 0: crash-only; the core checks 3f + 1 <= supervisors when the node is built.
        let f: u32 = v.extract()?;
        c.election.fault_model = if f == 0 { FaultModel::CrashOnly } else { FaultModel::Byzantine { f } };
        config.del_item("byzantine_f")?;
    }
    if let Some(v) = config.get_item("equivocation")? {
        let name: String = v.extract()?;
        c.election.equivocation = name.parse().map_err(|e| invalid(format!("{e}, not {name:?}")))?;
        config.del_item("equivocation")?;
    }
    if let Some(v) = config.get_item("follower_heartbeat_every")? {
        // The core refuses 0 when the node is built.
        c.follower_heartbeat_every = v.extract()?;
        config.del_item("follower_heartbeat_every")?;
    }
    if let Some(v) = config.get_item("record_heartbeats")? {
        c.record_heartbeats = v.extract()?;
        config.del_item("record_heartbeats")?;
    }
    if let Some(v) = config.get_item("phi_threshold")? {
        // The core checks the range when the node is built.
        c.crash.phi.threshold = v.extract()?;
        config.del_item("phi_threshold")?;
    }
    // The failure detector's other knobs (Akka's names): with short heartbeat
    // intervals the default 3 s acceptable pause dominates detection time.
    take_interval(&config, "acceptable_heartbeat_pause", &mut c.crash.phi.acceptable_heartbeat_pause)?;
    take_interval(&config, "min_std_deviation", &mut c.crash.phi.min_std_deviation)?;
    take_interval(&config, "first_heartbeat_estimate", &mut c.crash.phi.first_heartbeat_estimate)?;
    if let Some(v) = config.get_item("max_sample_size")? {
        c.crash.phi.max_sample_size = crate::args::usize_arg(&v)?;
        config.del_item("max_sample_size")?;
    }
    for gone in ["slots", "task_types", "public_key", "endpoint"] {
        if config.contains(gone)? {
            return Err(invalid(format!(
                "config key {gone} is no longer accepted: it comes from the node's certificate"
            )));
        }
    }
    if let Some(key) = config.keys().iter().next() {
        return Err(invalid(format!("unknown config key {key}")));
    }
    Ok(c)
}

/// One node's network operations (every component), sans-IO; times in seconds.
#[pyclass(name = "NodeCore", module = "pouw_netops._native")]
pub struct PyNode {
    inner: Box<large::NetworkOperationsManager>,
}

#[pymethods]
impl PyNode {
    /// A stopped node `node_id` with `role` (`"supervisor"` or `"worker"`) among
    /// `supervisors`, speaking with the identity key of the 32-byte seed
    /// `identity`, the encoded `certificate`, the 32-byte `authority` public
    /// key, boot `epoch` and `unix_at_zero` (UNIX seconds at time 0); `seed`
    /// seeds the election jitter; `config` overrides defaults.
    #[new]
    #[pyo3(signature = (
        node_id, role, supervisors, *, identity, certificate, authority, epoch, unix_at_zero, seed = 0, config = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        node_id: &str,
        role: &str,
        supervisors: Vec<String>,
        identity: &[u8],
        certificate: &[u8],
        authority: &[u8],
        #[pyo3(from_py_with = crate::args::u64_arg)] epoch: u64,
        #[pyo3(from_py_with = crate::args::u64_arg)] unix_at_zero: u64,
        #[pyo3(from_py_with = crate::args::u64_arg)] seed: u64,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let id = self::node_id(node_id, "node_id")?;
        let role: NodeRole = role.parse().map_err(|e| invalid(format!("{e}, not {role:?}")))?;
        let mut ids = Vec::with_capacity(supervisors.len());
        for s in &supervisors {
            ids.push(self::node_id(s, "supervisor")?);
        }
        let config = ops_config(config)?;
        let credentials = Credentials {
            identity: identity_key(identity, "identity")?,
            certificate: decode_certificate(certificate)?,
            authority: public_identity(authority, "authority")?,
            epoch,
            unix_at_zero,
        };
        let inner = large::NetworkOperationsManager::new_boxed(id, role, &ids, config, seed, credentials)
            .map_err(core_error)?;
        Ok(PyNode { inner })
    }

    /// Starts (or restarts) at `now`: announces the node and, on a supervisor, starts the election.
    fn start(&mut self, now: f64) -> PyResult<()> {
        self.inner.start(instant(Some(now))?).map_err(core_error)
    }

    /// Stops gracefully at `now` (a leader steps down, peers are told the node leaves).
    fn stop(&mut self, now: f64) -> PyResult<()> {
        self.inner.stop(instant(Some(now))?);
        Ok(())
    }

    /// Handles one received datagram. A refused one (counted by reason)
    /// raises the class of its reason's kind: `AuthenticationError` (forged,
    /// unknown sender, replayed), `CredentialError` (a certificate not
    /// accepted), `DecodeError` (malformed); `InvalidStateError` when stopped.
    /// A datagram claiming to come from this node is dropped and counted
    /// (`counters["self_addressed"]`), no error.
    fn handle_message(&mut self, now: f64, data: &[u8]) -> PyResult<()> {
        let now = instant(Some(now))?;
        self.inner.handle_message(now, data).map_err(core_error)
    }

    /// Runs every timer due at `now`.
    fn tick(&mut self, now: f64) -> PyResult<()> {
        self.inner.tick(instant(Some(now))?);
        Ok(())
    }

    /// (Supervisor) adds a task needing `required` primaries and `backups` backups.
    #[pyo3(signature = (now, task_id, task_type, required, backups = 2))]
    fn submit_task(
        &mut self,
        now: f64,
        task_id: &str,
        task_type: &str,
        #[pyo3(from_py_with = crate::args::u16_arg)] required: u16,
        #[pyo3(from_py_with = crate::args::u16_arg)] backups: u16,
    ) -> PyResult<()> {
        let now = instant(Some(now))?;
        let task = TaskId::new(task_id).map_err(|e| id_error("task_id", e))?;
        let task_type = TaskType::new(task_type).map_err(|e| id_error("task_type", e))?;
        self.inner.submit_task(now, task, task_type, required, backups).map_err(core_error)
    }

    /// (Worker) reports progress `sequence` (with a 32-byte `digest`) on a task it is primary of.
    #[pyo3(signature = (now, task_id, sequence, digest = None))]
    fn report_checkpoint(
        &mut self,
        now: f64,
        task_id: &str,
        #[pyo3(from_py_with = crate::args::u64_arg)] sequence: u64,
        digest: Option<&[u8]>,
    ) -> PyResult<()> {
        let now = instant(Some(now))?;
        let task = TaskId::new(task_id).map_err(|e| id_error("task_id", e))?;
        let digest: [u8; 32] = match digest {
            None => [0; 32],
            Some(d) => d.try_into().map_err(|_| invalid("`digest` must be 32 bytes"))?,
        };
        self.inner.report_checkpoint(now, &task, Checkpoint { sequence, digest }).map_err(core_error)
    }

    /// The election's `(term, voted_for)` to persist before sending, when it changed.
    fn poll_hard_state(&mut self) -> Option<(u64, Option<String>)> {
        self.inner.poll_hard_state().map(|h| (h.term, h.voted_for.map(|v| v.as_str().to_owned())))
    }

    /// Restores a persisted `(term, voted_for)`; applies at the next `start`.
    #[pyo3(signature = (term, voted_for = None))]
    fn restore_hard_state(
        &mut self,
        #[pyo3(from_py_with = crate::args::u64_arg)] term: u64,
        voted_for: Option<&str>,
    ) -> PyResult<()> {
        let voted_for = voted_for.map(|v| node_id(v, "voted_for")).transpose()?;
        self.inner.restore_hard_state(HardState { term, voted_for });
        Ok(())
    }

    /// The next `(node_id, bytes)` to send: every message is sealed for one node.
    fn poll_transmit<'py>(&mut self, py: Python<'py>) -> Option<(String, Bound<'py, PyBytes>)> {
        let t = self.inner.poll_transmit()?;
        Some((t.to.as_str().to_owned(), PyBytes::new(py, &t.bytes)))
    }

    /// Takes a newer revocation list from the authority (encoded bytes);
    /// returns how many members it removed.
    fn apply_revocations(&mut self, data: &[u8]) -> PyResult<usize> {
        self.inner.apply_revocations(data).map_err(core_error)
    }

    /// This node's own certificate's fields.
    fn certificate(&self) -> CertTuple {
        cert_tuple(self.inner.certificate())
    }

    /// The admitted members' certificates' fields, in admission order.
    fn members(&self) -> Vec<CertTuple> {
        self.inner.members().map(|c| cert_tuple(&c)).collect()
    }

    /// The next event as `(kind, at, node, details)`, oldest first.
    #[allow(clippy::type_complexity)]
    fn poll_event<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<Option<(&'static str, f64, String, Bound<'py, PyDict>)>> {
        let Some(e) = self.inner.poll_event() else { return Ok(None) };
        let d = PyDict::new(py);
        match &e.kind {
            OpsEventKind::NodeStatusChanged { from, to } => {
                d.set_item("from_status", from.as_str())?;
                d.set_item("to_status", to.as_str())?;
            }
            OpsEventKind::CrashDetected { silence } => d.set_item("silence", silence.as_secs_f64())?,
            OpsEventKind::RecoveryStarted { attempt } => d.set_item("attempt", attempt)?,
            OpsEventKind::RecoveryCompleted { took } => d.set_item("took", took.as_secs_f64())?,
            OpsEventKind::RecoveryFailed | OpsEventKind::NodeLeft | OpsEventKind::TunnelUp => {}
            OpsEventKind::WorkerReplaced { task, replacement, role, from_backup, checkpoint } => {
                d.set_item("task", task.as_str())?;
                d.set_item("replacement", replacement.as_str())?;
                d.set_item("role", role.as_str())?;
                d.set_item("from_backup", from_backup)?;
                d.set_item("checkpoint", checkpoint_tuple(*checkpoint))?;
            }
            OpsEventKind::TaskAssigned { task, role, checkpoint }
            | OpsEventKind::AssignmentReceived { task, role, checkpoint } => {
                d.set_item("task", task.as_str())?;
                d.set_item("role", role.as_str())?;
                d.set_item("checkpoint", checkpoint_tuple(*checkpoint))?;
            }
            OpsEventKind::TaskDegraded { task, primaries, required } => {
                d.set_item("task", task.as_str())?;
                d.set_item("primaries", primaries)?;
                d.set_item("required", required)?;
            }
            OpsEventKind::TaskRestored { task }
            | OpsEventKind::AssignmentReleased { task }
            | OpsEventKind::LeaseExpired { task } => d.set_item("task", task.as_str())?,
            OpsEventKind::LeaderElected { term } | OpsEventKind::SteppedDown { term } => d.set_item("term", term)?,
            OpsEventKind::BatchCompressed { id } => d.set_item("batch_id", id)?,
            OpsEventKind::BatchArchived { count } => d.set_item("count", count)?,
            OpsEventKind::TunnelDown { state } => d.set_item("state", state.as_str())?,
            OpsEventKind::RouteChanged { next_hop } => {
                d.set_item("next_hop", next_hop.as_ref().map(|n| n.as_str().to_owned()))?
            }
            OpsEventKind::Equivocation { term, evidence } => {
                d.set_item("term", term)?;
                d.set_item("evidence", PyBytes::new(py, evidence))?;
            }
        }
        Ok(Some((e.kind.as_str(), e.at.as_secs_f64(), e.node.as_str().to_owned(), d)))
    }

    /// The next history batch evicted from memory, as batch bytes (header +
    /// zlib stream) for the host to store; `None` when there is none.
    fn poll_archived<'py>(&mut self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.poll_archived().map(|b| PyBytes::new(py, b.as_bytes()))
    }

    /// This node's own WireGuard configuration (`format` `"wg-quick"` or
    /// `"setconf"`): its mesh peers with the keys and endpoints of their
    /// certificates (or signed endpoint records) and `AllowedIPs` from the
    /// last route recompute, with `PrivateKey` from `private_key` (32 raw
    /// bytes or the base64 `wg genkey` prints), which must be the private
    /// half of the certificate's WireGuard key; the core does not keep it.
    /// A peer with a placeholder public key is an `InvalidStateError` unless
    /// `placeholder_keys` (then it is written under a `# WARNING` comment).
    #[pyo3(signature = (private_key, *, listen_port = None, format = "wg-quick", placeholder_keys = false))]
    fn render_wireguard(
        &self,
        private_key: &Bound<'_, PyAny>,
        #[pyo3(from_py_with = crate::args::opt_u16_arg)] listen_port: Option<u16>,
        format: &str,
        placeholder_keys: bool,
    ) -> PyResult<String> {
        use pouw_netops::WgKey;
        use pouw_netops::mesh::{WireGuardFormat, WireGuardOptions};
        let mut key = if let Ok(s) = private_key.extract::<&str>() {
            WgKey::from_base64(s).map_err(|e| crate::errors::field_error("private_key", e))?
        } else if let Ok(b) = private_key.extract::<&[u8]>() {
            WgKey::from_bytes(crate::identity::bytes32(b, "private_key")?)
        } else {
            return Err(invalid("`private_key` must be bytes or a base64 str"));
        };
        let format = match format {
            "wg-quick" => Ok(WireGuardFormat::WgQuick),
            "setconf" => Ok(WireGuardFormat::SetConf),
            other => Err(invalid(format!("`format` must be \"wg-quick\" or \"setconf\", not {other:?}"))),
        };
        let out = if !self.inner.owns_wireguard_key(&key) {
            Err(invalid("`private_key` is not the private half of the certificate's WireGuard key"))
        } else {
            format.and_then(|format| {
                let options = WireGuardOptions {
                    format,
                    listen_port,
                    private_key: Some(&key),
                    placeholder_keys,
                    ..WireGuardOptions::default()
                };
                let mut out = String::new();
                self.inner.mesh().write_wireguard(&options, &mut out).map_err(core_error)?;
                Ok(out)
            })
        };
        // The key's copy is wiped on every path.
        key.wipe();
        out
    }

    /// This node moved to tunnel `endpoint` (`host:port`): it signs a record
    /// of it, and peers take it from the record.
    fn set_endpoint(&mut self, endpoint: &str) -> PyResult<()> {
        self.inner.set_endpoint(endpoint).map_err(|e| crate::errors::field_error("endpoint", e))
    }

    /// What `wg show <if> latest-handshakes` printed at `now`, `unix_now` the
    /// host's UNIX time: from the first report on, tunnel health follows the
    /// reported handshakes. A dict of what the text held.
    fn record_latest_handshakes<'py>(
        &mut self,
        py: Python<'py>,
        now: f64,
        #[pyo3(from_py_with = crate::args::u64_arg)] unix_now: u64,
        text: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now = instant(Some(now))?;
        crate::mesh::handshake_report(py, &self.inner.record_latest_handshakes(now, unix_now, text))
    }

    /// The smoothed round-trip time to `peer` and its variation in seconds
    /// (RFC 6298, from echoed heartbeat timestamps); `None` before a sample.
    fn peer_rtt(&self, peer: &str) -> PyResult<Option<(f64, f64)>> {
        let peer = node_id(peer, "peer")?;
        Ok(self.inner.peer_rtt(&peer).map(|(s, v)| (s.as_secs_f64(), v.as_secs_f64())))
    }

    /// When `tick` must next be called, in seconds; `None` when stopped.
    fn poll_timeout(&self) -> Option<f64> {
        let t = self.inner.poll_timeout();
        (t != pouw_netops::Instant::MAX).then(|| t.as_secs_f64())
    }

    /// This node's id.
    #[getter]
    fn node_id(&self) -> String {
        self.inner.id().as_str().to_owned()
    }

    /// `"supervisor"` or `"worker"`.
    #[getter]
    fn role(&self) -> &'static str {
        self.inner.role().as_str()
    }

    /// Between `start` and `stop`.
    #[getter]
    fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// Whether this node is the elected leader.
    #[getter]
    fn is_leader(&self) -> bool {
        self.inner.is_leader()
    }

    /// The leader this node follows, or `None`.
    #[getter]
    fn leader_id(&self) -> Option<String> {
        self.inner.leader().map(|(n, _)| n.as_str().to_owned())
    }

    /// (Supervisor) the task table as `task → (task_type, required, backups, checkpoint sequence)`.
    fn tasks(&self) -> Vec<(String, String, u16, u16, Option<u64>)> {
        let mut v: Vec<_> = self
            .inner
            .tasks()
            .map(|(t, r)| {
                (
                    t.as_str().to_owned(),
                    r.task_type.as_str().to_owned(),
                    r.required,
                    r.backups,
                    r.checkpoint.map(|c| c.sequence),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// (Worker) the roles held as `(task, task_type, role, from supervisor)`, sorted by task.
    fn held_tasks(&self) -> Vec<(String, String, &'static str, String)> {
        let mut v: Vec<_> = self
            .inner
            .held_tasks()
            .map(|(t, h)| {
                (t.as_str().to_owned(), h.task_type.as_str().to_owned(), h.role.as_str(), h.from.as_str().to_owned())
            })
            .collect();
        v.sort();
        v
    }

    /// (Leader) the current primaries and backups of `task_id`, each sorted; `None` if unknown.
    fn task_workers(&self, task_id: &str) -> PyResult<Option<(Vec<String>, Vec<String>)>> {
        let task = TaskId::new(task_id).map_err(|e| id_error("task_id", e))?;
        let Some(w) = self.inner.workers() else { return Ok(None) };
        Ok(w.task(&task).map(|v| {
            let mut p: Vec<String> = v.primaries().map(|n| n.as_str().to_owned()).collect();
            let mut b: Vec<String> = v.backups().map(|n| n.as_str().to_owned()).collect();
            p.sort();
            b.sort();
            (p, b)
        }))
    }

    /// A status snapshot at `now` (see `Node.status`).
    fn status<'py>(&self, py: Python<'py>, now: f64) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.status(instant(Some(now))?);
        let d = py_dict!(py;
            "node_id" => s.node_id.as_str(),
            "role" => s.role.as_str(),
            "running" => s.running,
            "is_leader" => self.inner.is_leader(),
            "leader_id" => s.leader.as_ref().map(|(n, _)| n.as_str()),
            "leader_term" => s.leader.as_ref().map(|(_, t)| *t),
            "tasks" => s.tasks,
        );
        let c = fields_dict!(py, s.crash_recovery;
            total_nodes, online_nodes, suspected_nodes, failed_nodes, recovering_nodes, network_health_ratio,
            recent_crashes,
        );
        d.set_item("crash_recovery", c)?;
        match &s.election {
            Some(e) => {
                let ed = py_dict!(py;
                    "state" => e.role.as_str(),
                    "current_term" => e.term,
                    "leader_id" => e.leader.as_ref().map(NodeId::as_str),
                    "voted_for" => e.voted_for.as_ref().map(NodeId::as_str),
                );
                d.set_item("election", ed)?;
            }
            None => d.set_item("election", py.None())?,
        }
        let n = &s.counters;
        let k = fields_dict!(py, n;
            messages_sent, bytes_sent, messages_received, messages_ignored, dropped_transmits, dropped_events,
            history_dropped, table_full, reestablish_requests,
        );
        let r = PyDict::new(py);
        for (reason, count) in n.rejected.iter() {
            r.set_item(reason.as_str(), count)?;
        }
        k.set_item("rejected", r)?;
        k.set_item("self_addressed", n.self_addressed)?;
        k.set_item("bad_checkpoint_proofs", n.bad_checkpoint_proofs)?;
        d.set_item("counters", k)?;
        Ok(d)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNode>()
}
