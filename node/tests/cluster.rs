//! Real multi-process tests: every node is a `pouw-netops-node run` process on
//! 127.0.0.1, killed with SIGKILL and restarted from its data directory.
//!
//! Knobs are shortened (250 ms heartbeats, 500 ms election timeout) so a run
//! takes seconds; waits are generous because CI machines are shared.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use pouw_netops_node::http::request;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pouw-netops-node");
const TASKS: [&str; 3] = ["task-0", "task-1", "task-2"];

struct Spec {
    id: String,
    supervisor: bool,
    udp: u16,
    http: u16,
}

struct Cluster {
    dir: PathBuf,
    specs: Vec<Spec>,
    procs: Vec<Option<Child>>,
    /// Every (term, leader) any node reported, to catch two leaders in one term.
    seen: BTreeMap<u64, String>,
}

fn free_ports(n: usize) -> Vec<(u16, u16)> {
    let udp: Vec<UdpSocket> = (0..n).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
    let tcp: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    udp.iter().zip(&tcp).map(|(u, t)| (u.local_addr().unwrap().port(), t.local_addr().unwrap().port())).collect()
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

impl Cluster {
    /// Keys, certificates and configurations for `sups` supervisors and
    /// `workers` workers (each with 2 slots in the `train` pool).
    fn new(name: &str, sups: usize, workers: usize) -> Cluster {
        let dir = std::env::temp_dir().join(format!("pn-node-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        cli(&["authority", "init", "--dir", &format!("{d}/auth")]);
        let ports = free_ports(sups + workers);
        let specs: Vec<Spec> = (0..sups + workers)
            .map(|i| Spec {
                id: if i < sups { format!("sup-{i}") } else { format!("worker-{}", i - sups) },
                supervisor: i < sups,
                udp: ports[i].0,
                http: ports[i].1,
            })
            .collect();
        let mut nodes = String::from("valid_days = 1\n");
        for s in &specs {
            cli(&["keygen", "--out", &format!("{d}/{}.key", s.id)]);
            let (role, extra) =
                if s.supervisor { ("supervisor", "") } else { ("worker", "slots = 2\npools = [\"train\"]\n") };
            nodes +=
                &format!("[[node]]\nid = \"{}\"\nrole = \"{role}\"\npublic_key = \"{}.key.pub\"\n{extra}", s.id, s.id);
        }
        fs::write(dir.join("nodes.toml"), nodes).unwrap();
        cli(&[
            "authority",
            "issue",
            "--key",
            &format!("{d}/auth/authority.key"),
            "--nodes",
            &format!("{d}/nodes.toml"),
            "--out",
            &format!("{d}/certs"),
        ]);
        let supervisors: String = specs
            .iter()
            .filter(|s| s.supervisor)
            .map(|s| format!("[[supervisors]]\nid = \"{}\"\naddress = \"127.0.0.1:{}\"\n", s.id, s.udp))
            .collect();
        // PN_TEST_DEFAULT_KNOBS=1 runs with the node's defaults (for the figure
        // in BENCHMARKS.md); otherwise the knobs are shortened.
        let knobs = if std::env::var_os("PN_TEST_DEFAULT_KNOBS").is_some() {
            String::new()
        } else {
            "[detector]\nheartbeat_interval_ms = 250\nsweep_interval_ms = 50\nacceptable_pause_ms = 1000\nlease_timeout_ms = 2500\n\n\
             [election]\nelection_timeout_ms = 500\nheartbeat_interval_ms = 100\n"
                .to_string()
        };
        for s in &specs {
            let tasks: String = if s.supervisor {
                TASKS.iter().map(|t| format!("[[tasks]]\nid = \"{t}\"\ntype = \"train\"\n")).collect()
            } else {
                String::new()
            };
            let config = format!(
                "id = \"{id}\"\nrole = \"{role}\"\nlisten = \"127.0.0.1:{udp}\"\nhttp = \"127.0.0.1:{http}\"\n\
                 key = \"{id}.key\"\ncertificate = \"certs/{id}.cert\"\nauthority = \"auth/authority.pub\"\n\
                 data_dir = \"data/{id}\"\nhistory_level = 1\n\n{knobs}\n{supervisors}\n{tasks}",
                id = s.id,
                role = if s.supervisor { "supervisor" } else { "worker" },
                udp = s.udp,
                http = s.http,
            );
            fs::write(dir.join(format!("{}.toml", s.id)), config).unwrap();
        }
        let procs = specs.iter().map(|_| None).collect();
        Cluster { dir, specs, procs, seen: BTreeMap::new() }
    }

    fn index(&self, id: &str) -> usize {
        self.specs.iter().position(|s| s.id == id).unwrap()
    }

    fn start_with(&mut self, i: usize, env: &[(&str, &str)]) {
        let s = &self.specs[i];
        let log =
            fs::OpenOptions::new().create(true).append(true).open(self.dir.join(format!("{}.log", s.id))).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["run", "--config", self.dir.join(format!("{}.toml", s.id)).to_str().unwrap()])
            .env("PN_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.procs[i] = Some(cmd.spawn().unwrap());
    }

    fn start(&mut self, i: usize) {
        self.start_with(i, &[]);
        // Up once its HTTP endpoint answers.
        let addr = self.http(i);
        wait(Duration::from_secs(20), "the node's /livez", || {
            request(&addr, "GET", "/livez").is_ok_and(|(s, _)| s == 200)
        });
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            c.kill().unwrap(); // SIGKILL
            c.wait().unwrap();
        }
    }

    fn http(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.specs[i].http)
    }

    fn status(&mut self, i: usize) -> Option<Value> {
        let (code, body) = request(&self.http(i), "GET", "/status").ok()?;
        if code != 200 {
            return None; // busy or stopping: asked again by the caller's wait
        }
        let v: Value = serde_json::from_str(&body).unwrap();
        if let Some(l) = v["leader"].as_object() {
            let (id, term) = (l["id"].as_str().unwrap().to_string(), l["term"].as_u64().unwrap());
            let prev = self.seen.entry(term).or_insert_with(|| id.clone());
            assert_eq!(*prev, id, "two leaders in term {term}: {prev} and {id}");
        }
        Some(v)
    }

    fn ready(&self, i: usize) -> bool {
        request(&self.http(i), "GET", "/readyz").is_ok_and(|(s, _)| s == 200)
    }

    /// The leader and term every running supervisor in `among` agrees on.
    fn agreed_leader(&mut self, among: &[usize]) -> Option<(String, u64)> {
        let mut first: Option<(String, u64)> = None;
        for &i in among {
            let v = self.status(i)?;
            let l = v["leader"].as_object()?;
            let got = (l["id"].as_str()?.to_string(), l["term"].as_u64()?);
            if first.as_ref().is_some_and(|f| *f != got) {
                return None;
            }
            first = Some(got);
        }
        first
    }

    /// Which worker holds `task` as primary.
    fn primary_of(&mut self, task: &str) -> Option<usize> {
        let workers: Vec<usize> =
            (0..self.specs.len()).filter(|&i| !self.specs[i].supervisor && self.procs[i].is_some()).collect();
        workers.into_iter().find(|&i| {
            self.status(i).is_some_and(|v| {
                v["held"].as_array().is_some_and(|h| h.iter().any(|x| x["task"] == task && x["role"] == "primary"))
            })
        })
    }

    fn log(&self, i: usize) -> String {
        fs::read_to_string(self.dir.join(format!("{}.log", self.specs[i].id))).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self.procs.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("logs kept in {}", self.dir.display());
        }
    }
}

fn wait(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
    t0.elapsed()
}

#[test]
fn three_supervisors_six_workers_fail_over_and_rejoin() {
    let mut c = Cluster::new("nine", 3, 6);
    let sups: Vec<usize> = (0..3).collect();
    for i in 0..9 {
        c.start(i);
    }
    let mut leader = None;
    wait(Duration::from_secs(60), "a leader all supervisors agree on", || {
        leader = c.agreed_leader(&sups);
        leader.is_some() && sups.iter().all(|&i| c.ready(i))
    });
    let (old, term) = leader.unwrap();
    let l = c.index(&old);
    wait(Duration::from_secs(60), "every task to have a primary", || TASKS.iter().all(|t| c.primary_of(t).is_some()));
    // The leader persisted its term before it sent anything as leader.
    let persisted = c.status(l).unwrap()["persisted"]["term"].as_u64().unwrap();
    assert_eq!(persisted, term);

    // SIGKILL the leader: the other two elect a new one, seen on /status and /readyz.
    c.kill(l);
    let rest: Vec<usize> = sups.iter().copied().filter(|&i| i != l).collect();
    let mut new = None;
    let took = wait(Duration::from_secs(30), "a new leader after the old one's SIGKILL", || {
        new = c.agreed_leader(&rest).filter(|(n, t)| *n != old && *t > term);
        new.is_some() && rest.iter().all(|&i| c.ready(i))
    });
    let (new_leader, new_term) = new.unwrap();
    println!("leader SIGKILL -> new leader on /status and /readyz: {} ms", took.as_millis());
    // A worker follows the new leader too.
    wait(Duration::from_secs(30), "workers to follow the new leader", || {
        (3..9).all(|i| c.status(i).is_some_and(|v| v["leader"]["id"] == new_leader.as_str()))
    });

    // SIGKILL a primary: its task moves to another worker.
    wait(Duration::from_secs(30), "task-0 to have a primary under the new leader", || c.primary_of("task-0").is_some());
    let w = c.primary_of("task-0").unwrap();
    c.kill(w);
    let took = wait(Duration::from_secs(30), "task-0 to fail over", || c.primary_of("task-0").is_some_and(|x| x != w));
    println!("worker SIGKILL -> its task primary elsewhere: {} ms", took.as_millis());
    let n = c.index(&new_leader);
    let replaced = c.status(n).unwrap()["recent_events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "worker_replaced" && e["node"] == c.specs[w].id.as_str());
    assert!(replaced, "the new leader reports the replacement of {}", c.specs[w].id);

    // Restart both: the old leader comes back with its persisted term and follows.
    c.start(l);
    c.start(w);
    let v = c.status(l).unwrap();
    assert!(v["persisted"]["term"].as_u64().unwrap() >= term, "restarted with its persisted term: {v}");
    assert!(v["term"].as_u64().unwrap() >= term);
    wait(Duration::from_secs(30), "the old leader to follow the new one", || {
        c.status(l).is_some_and(|v| {
            v["leader"]["id"] == new_leader.as_str() && v["leader"]["term"].as_u64().unwrap() >= new_term
        })
    });
    let wid = c.specs[w].id.clone();
    wait(Duration::from_secs(30), "the restarted worker to rejoin", || {
        c.status(w).is_some_and(|v| v["leader"]["id"] == new_leader.as_str())
            && request(&c.http(n), "GET", "/members").is_ok_and(|(_, b)| b.contains(&format!("\"{wid}\"")))
    });
    // Metrics name the peers and the failures by reason.
    let (code, metrics) = request(&c.http(n), "GET", "/metrics").unwrap();
    assert_eq!(code, 200);
    for needle in [
        "pn_peer_up{peer=\"worker-0\"}",
        "pn_peer_phi{",
        "pn_term ",
        "pn_auth_failures_total{reason=\"bad_tag\"}",
        "pn_history_bytes{kind=\"raw\"}",
        "pn_members{role=\"worker\"} ",
        "pn_peers{status=\"online\"} ",
        "pn_queue_drops_total{queue=\"send_error\"} ",
        "pn_messages_total{direction=\"sent\"} ",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
    // The WireGuard configuration the core renders is on disk, whole.
    let wg = fs::read_to_string(c.dir.join(format!("data/{new_leader}/wg0.conf"))).unwrap();
    assert!(wg.contains("[Interface]") && wg.contains("[Peer]"), "{wg}");
    // A graceful leave makes the process exit.
    let (code, _) = request(&c.http(w), "POST", "/leave").unwrap();
    assert_eq!(code, 200);
    let mut child = c.procs[w].take().unwrap();
    wait(Duration::from_secs(10), "the leaving worker to exit", || child.try_wait().unwrap().is_some());
    assert!(c.seen.len() >= 2, "two terms seen: {:?}", c.seen);
}

/// Kills a supervisor at every step of every state write and restarts it: it
/// starts again (the file is old or new, never torn) and no term ever has two
/// leaders, which with three voters is what a double vote would allow.
#[test]
fn a_crash_at_every_persistence_point_never_double_votes() {
    for point in [
        "epoch:tmp",
        "epoch:renamed",
        "epoch:synced",
        "hard_state:tmp",
        "hard_state:renamed",
        "hard_state:synced",
        "hard_state:tmp@2",
        "hard_state:renamed@2",
        "hard_state:synced@2",
    ] {
        let mut c = Cluster::new(&format!("crash-{}", point.replace([':', '@'], "-")), 3, 0);
        c.start(0);
        c.start(1);
        // sup-2 joins a cluster that has a leader: its first hard-state write is
        // the term it learns; the second, after the leader is killed, a vote or
        // its own campaign.
        wait(Duration::from_secs(30), "sup-0 and sup-1 to elect", || c.agreed_leader(&[0, 1]).is_some());
        c.start_with(2, &[("PN_NODE_CRASH_AT", point)]);
        let mut child = c.procs[2].take().unwrap();
        // A later write needs an election: if sup-2 is still up after a few
        // seconds, the leader is killed (and restarted once sup-2 aborted).
        let t0 = Instant::now();
        let mut killed = None;
        wait(Duration::from_secs(30), &format!("sup-2 to abort at {point}"), || {
            if killed.is_none()
                && t0.elapsed() > Duration::from_secs(3)
                && let Some((l, _)) = c.agreed_leader(&[0, 1])
            {
                let li = c.index(&l);
                c.kill(li);
                killed = Some(li);
            }
            child.try_wait().unwrap().is_some()
        });
        if let Some(li) = killed {
            c.start(li);
        }
        assert!(c.log(2).contains("PN_NODE_CRASH_AT"), "{point}: {}", c.log(2));
        let state = c.dir.join("data/sup-2/hard_state");
        let before = fs::read(&state).ok();
        c.start(2);
        let v = c.status(2).unwrap();
        // It restarted from the file as it was on disk.
        if let Some(b) = before {
            let hs = pouw_netops_node::store::decode_hard_state(
                pouw_netops_node::store::unframe(pouw_netops_node::store::Kind::HardState, &b).unwrap(),
            )
            .unwrap();
            assert!(v["term"].as_u64().unwrap() >= hs.term, "{point}: {v}");
        }
        let mut agreed = None;
        wait(Duration::from_secs(30), "all three to agree on a leader", || {
            agreed = c.agreed_leader(&[0, 1, 2]);
            agreed.is_some()
        });
        // Shake it: kill the leader, let the other two (one of them restarted) elect.
        let (l, _) = agreed.unwrap();
        let li = c.index(&l);
        c.kill(li);
        let rest: Vec<usize> = (0..3).filter(|&i| i != li).collect();
        wait(Duration::from_secs(30), "a new leader", || c.agreed_leader(&rest).is_some_and(|(n, _)| n != l));
        println!("{point}: ok, terms seen {:?}", c.seen);
    }
}

#[test]
fn a_corrupt_state_file_stops_the_node_at_start() {
    let mut c = Cluster::new("corrupt", 1, 0);
    let data = c.dir.join("data/sup-0");
    fs::create_dir_all(&data).unwrap();
    let good = pouw_netops_node::store::frame(pouw_netops_node::store::Kind::HardState, &[5, 0, 0, 0, 0, 0, 0, 0, 0]);
    fs::write(data.join("hard_state"), &good[..good.len() - 3]).unwrap();
    let out = Command::new(BIN).args(["run", "--config", c.dir.join("sup-0.toml").to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hard_state") && err.contains("refusing to start"), "{err}");
    // Whole again, it starts with the term it holds.
    fs::write(data.join("hard_state"), &good).unwrap();
    c.start(0);
    assert!(c.status(0).unwrap()["term"].as_u64().unwrap() >= 5);
}

#[test]
fn validate_names_the_field_and_checks_the_files() {
    let c = Cluster::new("validate", 1, 1);
    let cfg = c.dir.join("worker-0.toml");
    let ok = Command::new(BIN).args(["validate", "--config", cfg.to_str().unwrap()]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(&cfg, text.replace("[detector]", "[detector]\nheartbeat = 3")).unwrap();
    let bad = Command::new(BIN).args(["validate", "--config", cfg.to_str().unwrap()]).output().unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("heartbeat: unknown field"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // A certificate for another node is caught.
    fs::write(&cfg, text.replace("certs/worker-0.cert", "certs/sup-0.cert")).unwrap();
    let bad = Command::new(BIN).args(["validate", "--config", cfg.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("issued to `sup-0`"));
    // A certificate from another authority is caught.
    let other = c.dir.join("other");
    cli(&["authority", "init", "--dir", other.to_str().unwrap()]);
    fs::write(&cfg, text.replace("auth/authority.pub", "other/authority.pub")).unwrap();
    let bad = Command::new(BIN).args(["validate", "--config", cfg.to_str().unwrap()]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("certificate:"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn a_second_process_on_the_same_data_directory_is_refused() {
    let mut c = Cluster::new("lock", 1, 0);
    c.start(0);
    let out = Command::new(BIN).args(["run", "--config", c.dir.join("sup-0.toml").to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another node process"), "{err}");
    // The first one runs on; the CLI reaches it by configuration or address.
    let cfg = c.dir.join("sup-0.toml");
    let status: Value = serde_json::from_str(&cli(&["status", "--config", cfg.to_str().unwrap()])).unwrap();
    assert_eq!(status["id"], "sup-0");
    let members: Value = serde_json::from_str(&cli(&["members", "--http", &c.http(0)])).unwrap();
    assert_eq!(members["members"].as_array().unwrap().len(), 0);
    cli(&["leave", "--config", cfg.to_str().unwrap()]);
    let mut child = c.procs[0].take().unwrap();
    wait(Duration::from_secs(10), "the node to exit after leave", || child.try_wait().unwrap().is_some());
    assert!(child.wait().unwrap().success());
}
