//! The node's configuration file (TOML). Every field is documented here and in
//! `docs/deploy.md`; unknown keys are refused, and [`NodeConfig::validate`]
//! names the field and the problem of the first thing wrong.

use pouw_netops::coordinator::{NodeRole, OpsConfig};
use pouw_netops::{Duration, NodeId, TaskId, TaskType};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A configuration problem: which field, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The field, as written in the file (`election.election_timeout_ms`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

impl std::error::Error for ConfigProblem {}

fn problem(field: impl Into<String>, problem: impl Into<String>) -> ConfigProblem {
    ConfigProblem { field: field.into(), problem: problem.into() }
}

/// A peer the node knows the address of before it hears from it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PeerAddress {
    /// The peer's node id (as in its certificate).
    pub id: String,
    /// Its UDP address, `host:port` (an IP address, not a name).
    pub address: String,
}

/// Failure-detector knobs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// How often this node sends its health heartbeat, in ms (default 1000).
    pub heartbeat_interval_ms: u64,
    /// How often the crash detector sweeps, in ms (default 250).
    pub sweep_interval_ms: u64,
    /// Phi above which a silent peer is judged down (default 8).
    pub phi_threshold: f64,
    /// Silence tolerated on top of the mean heartbeat interval, in ms (default 4000).
    pub acceptable_pause_ms: u64,
    /// (Workers) how long a task role outlives the last word from the leader
    /// that gave it, in ms (default 6000; must exceed the heartbeat interval).
    pub lease_timeout_ms: u64,
    /// Heartbeats between a follower supervisor and a worker go every this
    /// many intervals, both ways (default 1; at least 1): the leader keeps
    /// the full rate. Set it alike on every node of a cluster.
    pub follower_heartbeat_every: u8,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        let d = OpsConfig::default();
        DetectorConfig {
            heartbeat_interval_ms: d.heartbeat_interval.total_micros() / 1000,
            sweep_interval_ms: d.sweep_interval.total_micros() / 1000,
            phi_threshold: d.crash.phi.threshold,
            acceptable_pause_ms: d.crash.phi.acceptable_heartbeat_pause.total_micros() / 1000,
            lease_timeout_ms: d.lease_timeout.total_micros() / 1000,
            follower_heartbeat_every: d.follower_heartbeat_every,
        }
    }
}

/// Leader-election knobs (supervisors).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ElectionKnobs {
    /// Base election timeout in ms; timeouts are drawn from `[E, 2E)` (default 1000).
    pub election_timeout_ms: u64,
    /// The leader's heartbeat interval in ms, below the election timeout (default 100).
    pub heartbeat_interval_ms: u64,
    /// Run a pre-vote round before each election (default true).
    pub pre_vote: bool,
    /// A leader steps down when it loses a quorum (default true).
    pub check_quorum: bool,
}

impl Default for ElectionKnobs {
    fn default() -> Self {
        let d = OpsConfig::default().election;
        ElectionKnobs {
            election_timeout_ms: d.election_timeout.total_micros() / 1000,
            heartbeat_interval_ms: d.heartbeat_interval.total_micros() / 1000,
            pre_vote: d.pre_vote,
            check_quorum: d.check_quorum,
        }
    }
}

/// A task a supervisor puts in the cluster's task table at start.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// The task id.
    pub id: String,
    /// Its pool (task type); workers certified for the pool can run it.
    #[serde(rename = "type")]
    pub task_type: String,
    /// Primaries it needs (default 1).
    #[serde(default = "one")]
    pub required: u16,
    /// Backups it keeps (default 1).
    #[serde(default = "one")]
    pub backups: u16,
}

const fn one() -> u16 {
    1
}

/// The file as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's id; must be the one its certificate names.
    pub id: String,
    /// `supervisor` or `worker`; must be its certificate's role.
    pub role: String,
    /// The UDP address the node listens on for cluster messages.
    pub listen: String,
    /// The TCP address of the HTTP endpoint (`/livez`, `/readyz`, `/status`,
    /// `/metrics`, `POST /leave`); keep it on a private interface.
    pub http: String,
    /// Every supervisor of the cluster (the election's voters), with its address.
    pub supervisors: Vec<PeerAddress>,
    /// Other peers whose addresses are known in advance (optional). Everyone
    /// else's address is learned from its first authenticated message.
    #[serde(default)]
    pub bootstrap: Vec<PeerAddress>,
    /// This node's identity key file (written by `keygen`).
    pub key: PathBuf,
    /// This node's certificate file (written by `authority issue`).
    pub certificate: PathBuf,
    /// The cluster authority's public key: 64 hex digits, or a path to the
    /// `authority.pub` file written by `authority init`.
    pub authority: String,
    /// The mesh overlay network (default `10.0.0.0/16`).
    #[serde(default = "default_cidr")]
    pub mesh_cidr: String,
    /// Where crash-safe state lives: the election's hard state, the boot epoch,
    /// archived history batches and the WireGuard config.
    pub data_dir: PathBuf,
    /// zlib level for the message history, 0 to 10 (default 6).
    #[serde(default = "default_level")]
    pub history_level: u8,
    /// Log level: `error`, `warn`, `info`, `debug` or `trace` (default `info`;
    /// the `PN_LOG` environment variable overrides it).
    #[serde(default = "default_log")]
    pub log_level: String,
    /// Failure-detector knobs.
    #[serde(default)]
    pub detector: DetectorConfig,
    /// Leader-election knobs.
    #[serde(default)]
    pub election: ElectionKnobs,
    /// (Supervisors) tasks put in the task table at start.
    #[serde(default)]
    pub tasks: Vec<TaskSpec>,
}

fn default_cidr() -> String {
    pouw_netops::mesh::Cidr::DEFAULT.to_string()
}

const fn default_level() -> u8 {
    6
}

fn default_log() -> String {
    "info".to_string()
}

/// A peer with a parsed id and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Its id.
    pub id: NodeId,
    /// Its address.
    pub address: SocketAddr,
}

/// A checked configuration, ready to run: paths resolved against the
/// configuration file's folder.
#[derive(Clone, Debug)]
pub struct Checked {
    /// This node.
    pub id: NodeId,
    /// Its role.
    pub role: NodeRole,
    /// UDP address.
    pub listen: SocketAddr,
    /// HTTP address.
    pub http: SocketAddr,
    /// The supervisors.
    pub supervisors: Vec<Peer>,
    /// The bootstrap peers.
    pub bootstrap: Vec<Peer>,
    /// Key file.
    pub key: PathBuf,
    /// Certificate file.
    pub certificate: PathBuf,
    /// The authority's public key.
    pub authority: [u8; 32],
    /// Data directory.
    pub data_dir: PathBuf,
    /// The coordinator's configuration.
    pub ops: OpsConfig,
    /// Log level.
    pub log_level: log::LevelFilter,
    /// Tasks to submit (supervisors).
    pub tasks: Vec<(TaskId, TaskType, u16, u16)>,
}

/// Parses the TOML text; unknown keys and wrong types are errors that name the field.
pub fn parse(text: &str) -> Result<NodeConfig, ConfigProblem> {
    toml::from_str::<NodeConfig>(text).map_err(|e| {
        let msg = e.message().to_string();
        // toml names the unknown or missing key in the message; the span gives the line.
        let line = e.span().map(|s| text.get(..s.start).map_or(0, |p| p.lines().count().max(1)));
        let field = field_of(&msg).unwrap_or_else(|| "(file)".to_string());
        match line {
            Some(l) => problem(field, format!("{msg} (line {l})")),
            None => problem(field, msg),
        }
    })
}

/// The key a serde error message is about, when it names one.
fn field_of(msg: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "duplicate key `"] {
        if let Some(rest) = msg.split(marker).nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    None
}

fn ms(field: &str, v: u64) -> Result<Duration, ConfigProblem> {
    if v == 0 {
        return Err(problem(field, "must be above zero"));
    }
    if v > 86_400_000 {
        return Err(problem(field, "must be at most 86400000 (a day)"));
    }
    Ok(Duration::from_millis(v))
}

fn addr(field: &str, s: &str) -> Result<SocketAddr, ConfigProblem> {
    s.parse::<SocketAddr>().map_err(|e| problem(field, format!("`{s}` is not an IP address with a port ({e})")))
}

fn node_id(field: &str, s: &str) -> Result<NodeId, ConfigProblem> {
    NodeId::new(s).map_err(|e| problem(field, format!("`{s}` is not a valid node id ({e})")))
}

/// Reads 64 hex digits into 32 bytes.
pub fn hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Writes bytes as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
}

fn peers(field: &str, list: &[PeerAddress]) -> Result<Vec<Peer>, ConfigProblem> {
    let mut out: Vec<Peer> = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let id = node_id(&format!("{field}[{i}].id"), &p.id)?;
        if out.iter().any(|q| q.id == id) {
            return Err(problem(format!("{field}[{i}].id"), format!("`{id}` is listed twice")));
        }
        let address = addr(&format!("{field}[{i}].address"), &p.address)?;
        out.push(Peer { id, address });
    }
    Ok(out)
}

impl NodeConfig {
    /// Checks every field (file paths are resolved against `base`, the
    /// configuration file's folder, but not opened: `run` opens them).
    pub fn validate(&self, base: &Path) -> Result<Checked, ConfigProblem> {
        let id = node_id("id", &self.id)?;
        let role = self
            .role
            .parse::<NodeRole>()
            .map_err(|_| problem("role", format!("`{}` is not `supervisor` or `worker`", self.role)))?;
        let listen = addr("listen", &self.listen)?;
        let http = addr("http", &self.http)?;
        let supervisors = peers("supervisors", &self.supervisors)?;
        if supervisors.is_empty() {
            return Err(problem("supervisors", "lists no supervisor"));
        }
        if role == NodeRole::Supervisor && !supervisors.iter().any(|p| p.id == id) {
            return Err(problem("supervisors", format!("a supervisor must list itself (`{id}`)")));
        }
        let bootstrap = peers("bootstrap", &self.bootstrap)?;
        if let Some(p) = bootstrap.iter().find(|p| supervisors.iter().any(|s| s.id == p.id)) {
            return Err(problem("bootstrap", format!("`{}` is a supervisor already", p.id)));
        }
        let authority = match hex32(&self.authority) {
            Some(k) => k,
            None => {
                let path = resolve(base, Path::new(&self.authority));
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    problem("authority", format!("neither 64 hex digits nor a readable file `{}`: {e}", path.display()))
                })?;
                hex32(&text)
                    .ok_or_else(|| problem("authority", format!("`{}` does not hold 64 hex digits", path.display())))?
            }
        };
        pouw_netops::auth::PublicIdentity::from_bytes(&authority)
            .map_err(|e| problem("authority", format!("not a usable Ed25519 public key ({e})")))?;
        let cidr = pouw_netops::mesh::Cidr::parse(&self.mesh_cidr)
            .map_err(|e| problem("mesh_cidr", format!("`{}`: {e}", self.mesh_cidr)))?;
        if self.history_level > 10 {
            return Err(problem("history_level", "must be 0 to 10"));
        }
        let log_level = self
            .log_level
            .parse::<log::LevelFilter>()
            .map_err(|_| problem("log_level", "must be off, error, warn, info, debug or trace"))?;
        let d = &self.detector;
        let mut ops = OpsConfig {
            heartbeat_interval: ms("detector.heartbeat_interval_ms", d.heartbeat_interval_ms)?,
            sweep_interval: ms("detector.sweep_interval_ms", d.sweep_interval_ms)?,
            lease_timeout: ms("detector.lease_timeout_ms", d.lease_timeout_ms)?,
            follower_heartbeat_every: d.follower_heartbeat_every,
            mesh_cidr: cidr,
            ..OpsConfig::default()
        };
        if ops.lease_timeout <= ops.heartbeat_interval {
            return Err(problem("detector.lease_timeout_ms", "must be longer than detector.heartbeat_interval_ms"));
        }
        if d.follower_heartbeat_every == 0 {
            return Err(problem("detector.follower_heartbeat_every", "must be at least 1"));
        }
        if !(d.phi_threshold.is_finite()
            && d.phi_threshold > 0.0
            && d.phi_threshold <= pouw_netops::phi::MAX_PHI_THRESHOLD)
        {
            return Err(problem("detector.phi_threshold", "must be above 0 and at most 300"));
        }
        ops.crash.phi.threshold = d.phi_threshold;
        ops.crash.phi.acceptable_heartbeat_pause = ms("detector.acceptable_pause_ms", d.acceptable_pause_ms)?;
        ops.crash.phi.first_heartbeat_estimate = ops.heartbeat_interval;
        let e = &self.election;
        ops.election.election_timeout = ms("election.election_timeout_ms", e.election_timeout_ms)?;
        ops.election.heartbeat_interval = ms("election.heartbeat_interval_ms", e.heartbeat_interval_ms)?;
        if ops.election.election_timeout <= ops.election.heartbeat_interval {
            return Err(problem("election.election_timeout_ms", "must be longer than election.heartbeat_interval_ms"));
        }
        ops.election.pre_vote = e.pre_vote;
        ops.election.check_quorum = e.check_quorum;
        ops.history.compression_level = self.history_level;
        let mut tasks = Vec::new();
        for (i, t) in self.tasks.iter().enumerate() {
            if role != NodeRole::Supervisor {
                return Err(problem("tasks", "only a supervisor submits tasks"));
            }
            let tid = TaskId::new(&t.id).map_err(|e| problem(format!("tasks[{i}].id"), format!("`{}`: {e}", t.id)))?;
            let ty = TaskType::new(&t.task_type)
                .map_err(|e| problem(format!("tasks[{i}].type"), format!("`{}`: {e}", t.task_type)))?;
            if t.required == 0 {
                return Err(problem(format!("tasks[{i}].required"), "must be at least 1"));
            }
            tasks.push((tid, ty, t.required, t.backups));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(problem("data_dir", "is empty"));
        }
        Ok(Checked {
            id,
            role,
            listen,
            http,
            supervisors,
            bootstrap,
            key: resolve(base, &self.key),
            certificate: resolve(base, &self.certificate),
            authority,
            data_dir: resolve(base, &self.data_dir),
            ops,
            log_level,
            tasks,
        })
    }
}

/// Reads, parses and checks the file at `path`.
pub fn load(path: &Path) -> Result<Checked, ConfigProblem> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| problem("(file)", format!("cannot read `{}`: {e}", path.display())))?;
    let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    parse(&text)?.validate(&base)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn sample() -> String {
        format!(
            r#"
id = "sup-0"
role = "supervisor"
listen = "127.0.0.1:7000"
http = "127.0.0.1:8000"
key = "sup-0.key"
certificate = "sup-0.cert"
authority = "{AUTH}"
data_dir = "data/sup-0"

[[supervisors]]
id = "sup-0"
address = "127.0.0.1:7000"

[[supervisors]]
id = "sup-1"
address = "127.0.0.1:7001"
"#
        )
    }

    fn check(text: &str) -> Result<Checked, ConfigProblem> {
        parse(text)?.validate(Path::new("/etc/pn"))
    }

    #[test]
    fn a_good_file_validates_with_defaults_and_resolved_paths() {
        let c = check(&sample()).unwrap();
        assert_eq!(c.id.as_str(), "sup-0");
        assert_eq!(c.role, NodeRole::Supervisor);
        assert_eq!(c.supervisors.len(), 2);
        assert_eq!(c.key, PathBuf::from("/etc/pn/sup-0.key"));
        assert_eq!(c.data_dir, PathBuf::from("/etc/pn/data/sup-0"));
        assert_eq!(c.ops.heartbeat_interval, Duration::from_secs(1));
        assert_eq!(c.ops.election.election_timeout, Duration::from_secs(1));
        assert_eq!(c.ops.history.compression_level, 6);
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let e = check(&format!("{}\nlisten_port = 3\n", sample())).unwrap_err();
        assert_eq!(e.field, "listen_port");
        assert!(e.problem.contains("unknown field"), "{e}");
        let e = check(&format!("{}\n[detector]\nheartbeat_ms = 3\n", sample())).unwrap_err();
        assert_eq!(e.field, "heartbeat_ms");
    }

    #[test]
    fn missing_fields_are_named() {
        let text = sample().replace("listen = \"127.0.0.1:7000\"\n", "");
        let e = check(&text).unwrap_err();
        assert_eq!(e.field, "listen");
        assert!(e.problem.contains("missing"), "{e}");
    }

    #[test]
    fn bad_values_name_field_and_problem() {
        let cases = [
            ("role = \"supervisor\"", "role = \"boss\"", "role"),
            ("listen = \"127.0.0.1:7000\"", "listen = \"localhost\"", "listen"),
            (AUTH, "abcd", "authority"),
            ("address = \"127.0.0.1:7001\"", "address = \"nowhere\"", "supervisors[1].address"),
            ("id = \"sup-1\"", "id = \"sup-0\"", "supervisors[1].id"),
        ];
        for (from, to, field) in cases {
            let e = check(&sample().replacen(from, to, 1)).unwrap_err();
            assert_eq!(e.field, field, "{from} -> {to}: {e}");
        }
        let e = check(&format!("{}\n[election]\nelection_timeout_ms = 50\nheartbeat_interval_ms = 100\n", sample()))
            .unwrap_err();
        assert_eq!(e.field, "election.election_timeout_ms");
        let e = check(&format!("{}\n[detector]\nheartbeat_interval_ms = 0\n", sample())).unwrap_err();
        assert_eq!(e.field, "detector.heartbeat_interval_ms");
        let e = check(&format!("{}\n[detector]\nphi_threshold = 301.0\n", sample())).unwrap_err();
        assert_eq!(e.field, "detector.phi_threshold");
        let e = check(&format!("history_level = 11\n{}", sample())).unwrap_err();
        assert_eq!(e.field, "history_level");
        let e = check(&format!("mesh_cidr = \"10.0.0.0/40\"\n{}", sample())).unwrap_err();
        assert_eq!(e.field, "mesh_cidr");
        let e = check(&format!("{}\n[detector]\nfollower_heartbeat_every = 0\n", sample())).unwrap_err();
        assert_eq!(e.field, "detector.follower_heartbeat_every");
    }

    #[test]
    fn a_supervisor_must_be_among_the_supervisors() {
        let e = check(&sample().replacen("id = \"sup-0\"", "id = \"sup-9\"", 1)).unwrap_err();
        assert_eq!(e.field, "supervisors");
    }

    #[test]
    fn workers_cannot_submit_tasks() {
        let text = sample().replacen("id = \"sup-0\"", "id = \"w-0\"", 1).replace("\"supervisor\"", "\"worker\"")
            + "\n[[tasks]]\nid = \"t\"\ntype = \"train\"\n";
        let e = check(&text).unwrap_err();
        assert_eq!(e.field, "tasks");
    }

    #[test]
    fn hex_round_trips() {
        let k = hex32(AUTH).unwrap();
        assert_eq!(to_hex(&k), AUTH);
        assert!(hex32("zz").is_none());
        assert!(hex32(&"g".repeat(64)).is_none());
    }
}
