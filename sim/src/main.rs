//! `pouw-netops-sim`: runs a cluster of real coordinators in virtual time.
//!
//! ```text
//! pouw-netops-sim [--seed N | --seeds A..B] [--supervisors N] [--workers N]
//!                 [--duration SECS] [--scenario story|churn|control-plane-partition] [--loss P] [--dup P]
//!                 [--latency-ms MIN..MAX] [--heartbeat-ms MS] [--tasks N] [--history-level 0..10] [--pause-ms MS]
//!                 [--follower-heartbeat-every K]
//!                 [--transport sim|udp] [--attack PER_SEC] [--byzantine K] [--json] [--quiet] [--count-kinds]
//!                 [--report FILE.html [--report-node ID]] [--threads N] [--node-threads N]
//! ```
//!
//! A sweep (`--seeds A..B`) runs its seeds on `--threads` threads (default:
//! the machine's cores, at most 8); each run is single-threaded and depends on
//! its seed alone, and the outcomes are printed and hashed in seed order, so
//! the output and the combined hash do not depend on the thread count.
//!
//! `--node-threads N` (default 1) steps the nodes of one run on N threads,
//! in windows of the network's minimum latency (nothing sent in a window can
//! arrive in it): the same deliveries, events, timeline and trace hash as one
//! step at a time, and the same summary but for the step count (empty
//! wake-ups are not steps) and the time to a followed leader (the
//! whole-cluster checks but one leader per term run once a window). For one
//! large run; a sweep already uses the cores.
//!
//! Every run checks safety after every step and liveness: once the faults
//! stop (the last crash, restart or partition change; `--byzantine` liars
//! keep lying), a leader every up honest supervisor follows must exist within
//! the bound 10 E (E the base election timeout, 1 s; see
//! `cluster::liveness_bound`), or the seed fails.

/// The simulator allocates and frees a datagram per message, often on
/// another thread than the one that made it (`--node-threads`): mimalloc's
/// thread-local free lists keep that from contending (measured: the nodes'
/// share of a 1,000-node window took 25 % more CPU time on two threads than
/// on one with the system allocator, about the same with mimalloc).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use pouw_netops::Duration;
use pouw_netops::hash::Fnv1a64;
use pouw_netops_sim::cluster::{self, Scenario, SimConfig};
use pouw_netops_sim::report;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant as WallClock;

/// Sweeps run on at most this many threads by default (fewer if the machine has fewer cores).
const DEFAULT_THREADS_CAP: usize = 8;

/// A sweep thread's stack: a simulated cluster is deep, as on the main thread.
const SWEEP_STACK: usize = 16 << 20;

/// What one seed's run gives back.
struct Outcome {
    result: Result<cluster::Summary, pouw_netops_harness::Violation>,
    timeline: Vec<String>,
    recording: Option<report::Recording>,
    wall: f64,
}

fn run_seed(cfg: &SimConfig, seed: u64) -> Outcome {
    let mut cfg = cfg.clone();
    cfg.seed = seed;
    let t0 = WallClock::now();
    let (result, timeline, recording) = cluster::run_recorded(cfg);
    Outcome { result, timeline, recording, wall: t0.elapsed().as_secs_f64() }
}

/// Runs every seed of `seeds` and hands each outcome to `take` in seed order.
/// With more than one thread the seeds run side by side (each simulation is
/// single-threaded and depends on its seed alone), and outcomes that finish
/// early wait for their turn: what `take` sees is what a serial sweep gives.
/// Stops at the first `Err` of `take`.
fn sweep_seeds(
    cfg: &SimConfig,
    seeds: (u64, u64),
    threads: usize,
    take: &mut dyn FnMut(u64, Outcome) -> Result<(), ExitCode>,
) -> Result<(), ExitCode> {
    let count = usize::try_from(seeds.1.saturating_sub(seeds.0)).unwrap_or(usize::MAX);
    let threads = threads.min(count).max(1);
    if threads == 1 {
        for seed in seeds.0..seeds.1 {
            take(seed, run_seed(cfg, seed))?;
        }
        return Ok(());
    }
    let next = AtomicU64::new(seeds.0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(u64, Outcome)>();
        for _ in 0..threads {
            let (tx, next, stop) = (tx.clone(), &next, &stop);
            let spawned = std::thread::Builder::new().stack_size(SWEEP_STACK).spawn_scoped(scope, move || {
                while !stop.load(Ordering::Relaxed) {
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= seeds.1 || tx.send((seed, run_seed(cfg, seed))).is_err() {
                        break;
                    }
                }
            });
            if let Err(e) = spawned {
                eprintln!("error: cannot start a sweep thread: {e}");
                stop.store(true, Ordering::Relaxed);
                return Err(ExitCode::FAILURE);
            }
        }
        drop(tx);
        let mut waiting: BTreeMap<u64, Outcome> = BTreeMap::new();
        let mut want = seeds.0;
        for (seed, outcome) in rx {
            waiting.insert(seed, outcome);
            while let Some(outcome) = waiting.remove(&want) {
                if let Err(code) = take(want, outcome) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(code);
                }
                want += 1;
            }
        }
        if want < seeds.1 {
            eprintln!("error: a sweep thread ended before seed {want} ran");
            return Err(ExitCode::FAILURE);
        }
        Ok(())
    })
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: pouw-netops-sim [--seed N | --seeds A..B] [--supervisors N] [--workers N] [--duration SECS]\n\
         \x20                      [--scenario story|churn|control-plane-partition] [--loss P] [--dup P] [--latency-ms MIN..MAX]\n\
         \x20                      [--heartbeat-ms MS] [--tasks N] [--history-level 0..10] [--pause-ms MS]\n\
         \x20                      [--follower-heartbeat-every K]\n\
         \x20                      [--transport sim|udp] [--attack PER_SEC] [--byzantine K] [--json] [--quiet] [--count-kinds]\n\
         \x20                      [--report FILE.html [--report-node ID]] [--threads N] [--node-threads N]\n\n\
         Every seed also fails if, {} s after the last crash, restart or partition change\n\
         (Byzantine liars keep lying), no leader is followed by every up honest supervisor.",
        cluster::liveness_bound().as_secs_f64()
    );
    ExitCode::from(2)
}

fn range(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once("..")?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn main() -> ExitCode {
    let mut cfg = SimConfig::default();
    let mut seeds = (1u64, 2u64);
    let mut json = false;
    let mut quiet = false;
    let mut udp = false;
    let mut duration_given = false;
    let mut report: Option<String> = None;
    let mut report_node: Option<String> = None;
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(DEFAULT_THREADS_CAP);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next();
        let ok = match a.as_str() {
            "--seed" => val().and_then(|v| v.parse().ok()).map(|s: u64| seeds = (s, s + 1)).is_some(),
            "--seeds" => val().as_deref().and_then(range).map(|r| seeds = r).is_some(),
            "--supervisors" => val().and_then(|v| v.parse().ok()).map(|n| cfg.supervisors = n).is_some(),
            "--workers" => val().and_then(|v| v.parse().ok()).map(|n| cfg.workers = n).is_some(),
            "--tasks" => val().and_then(|v| v.parse().ok()).map(|n| cfg.tasks = Some(n)).is_some(),
            "--duration" => {
                duration_given = true;
                val().and_then(|v| v.parse().ok()).map(|s| cfg.duration = Duration::from_secs(s)).is_some()
            }
            "--transport" => match val().as_deref() {
                Some("udp") => {
                    udp = true;
                    true
                }
                Some("sim") => true,
                _ => false,
            },
            "--heartbeat-ms" => {
                val().and_then(|v| v.parse().ok()).map(|s| cfg.heartbeat = Duration::from_millis(s)).is_some()
            }
            "--history-level" => val().and_then(|v| v.parse().ok()).map(|l| cfg.history_level = l).is_some(),
            "--pause-ms" => val()
                .and_then(|v| v.parse().ok())
                .map(|p| cfg.acceptable_pause = Some(Duration::from_millis(p)))
                .is_some(),
            "--follower-heartbeat-every" => val()
                .and_then(|v| v.parse::<u8>().ok())
                .filter(|k| *k >= 1)
                .map(|k| cfg.follower_heartbeat_every = k)
                .is_some(),
            "--loss" => val().and_then(|v| v.parse().ok()).map(|p| cfg.net.loss = p).is_some(),
            "--dup" => val().and_then(|v| v.parse().ok()).map(|p| cfg.net.duplicate = p).is_some(),
            "--attack" => val()
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|r| r.is_finite() && *r >= 0.0)
                .map(|r| cfg.attack_rate = r)
                .is_some(),
            "--byzantine" => val().and_then(|v| v.parse().ok()).map(|k| cfg.byzantine = k).is_some(),
            "--latency-ms" => val()
                .as_deref()
                .and_then(range)
                .map(|(a, b)| {
                    cfg.net.latency_min = Duration::from_millis(a);
                    cfg.net.latency_max = Duration::from_millis(b);
                })
                .is_some(),
            "--scenario" => match val().as_deref() {
                Some("story") => {
                    cfg.scenario = Scenario::Story;
                    true
                }
                Some("churn") => {
                    cfg.scenario = Scenario::Churn;
                    true
                }
                Some("control-plane-partition") => {
                    cfg.scenario = Scenario::ControlPlanePartition;
                    true
                }
                _ => false,
            },
            "--threads" => {
                val().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n >= 1).map(|n| threads = n).is_some()
            }
            "--node-threads" => {
                val().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n >= 1).map(|n| cfg.node_threads = n).is_some()
            }
            "--report" => val().map(|f| report = Some(f)).is_some(),
            "--report-node" => val().map(|n| report_node = Some(n)).is_some(),
            "--json" => {
                json = true;
                true
            }
            "--quiet" => {
                quiet = true;
                true
            }
            "--count-kinds" => {
                cfg.count_kinds = true;
                true
            }
            _ => false,
        };
        if !ok {
            return usage();
        }
    }
    if cfg.scenario == Scenario::ControlPlanePartition && !duration_given {
        // The cut starts at 60 s and lasts 10 minutes; a minute to watch the heal.
        cfg.duration = Duration::from_secs(720);
    }
    if cfg.supervisors == 0 || cfg.supervisors > 8 || cfg.supervisors + cfg.workers > 1024 || seeds.0 >= seeds.1 {
        eprintln!("error: 1..=8 supervisors, at most 1024 nodes, and a non-empty seed range");
        return usage();
    }
    if cfg.byzantine > 0 && (cfg.supervisors < 3 * cfg.byzantine + 1 || udp) {
        eprintln!("error: --byzantine K needs at least 3K + 1 supervisors and --transport sim");
        return usage();
    }
    if report.is_some() && (udp || seeds.1 - seeds.0 > 1) {
        eprintln!("error: --report draws one simulated run: one seed, --transport sim");
        return usage();
    }
    if cfg.node_threads > 1 && (udp || seeds.1 - seeds.0 > 1 || report.is_some()) {
        eprintln!("error: --node-threads steps one simulated run: one seed, --transport sim, no --report");
        return usage();
    }
    if report.is_none() && report_node.is_some() {
        eprintln!("error: --report-node needs --report");
        return usage();
    }
    if udp {
        if !duration_given {
            cfg.duration = Duration::from_secs(40);
        }
        let t0 = WallClock::now();
        let (result, timeline) = pouw_netops_sim::udp::run(cfg);
        return match result {
            Ok(s) => {
                if json {
                    println!("{}", cluster::json(&s));
                } else {
                    println!("== timeline (real UDP on 127.0.0.1, real clock) ==");
                    for line in &timeline {
                        println!("{line}");
                    }
                    println!("\n== summary ==");
                    print!("{}", cluster::table(&s));
                    println!("{:<34} {:.2} s", "wall time", t0.elapsed().as_secs_f64());
                }
                ExitCode::SUCCESS
            }
            Err(v) => {
                eprintln!("{v}");
                ExitCode::FAILURE
            }
        };
    }
    let sweep = seeds.1 - seeds.0 > 1;
    cfg.timeline = !json && !quiet && !sweep;
    cfg.record = report.is_some();
    cfg.report_node = report_node.clone();
    let started = WallClock::now();
    let mut failures = 0u64;
    let mut combined = Fnv1a64::new();
    let mut slowest: Option<f64> = None;
    // Each seed's outcome is taken in seed order, whichever thread ran it:
    // the output and the combined hash are those of a serial sweep.
    let mut take = |_seed: u64, outcome: Outcome| -> Result<(), ExitCode> {
        let Outcome { result, timeline, recording, wall } = outcome;
        match result {
            Ok(s) => {
                if let (Some(path), Some(rec)) = (&report, &recording) {
                    let node = match &report_node {
                        None => None,
                        Some(name) => match rec.nodes.iter().position(|n| n == name) {
                            Some(i) => Some(i),
                            None => {
                                eprintln!("error: --report-node {name}: no such node");
                                return Err(ExitCode::from(2));
                            }
                        },
                    };
                    let page = report::html(rec, &s, &cluster::table(&s), node);
                    if let Err(e) = std::fs::write(path, page) {
                        eprintln!("error: cannot write {path}: {e}");
                        return Err(ExitCode::FAILURE);
                    }
                    if !json {
                        println!("report written to {path}");
                    }
                }
                combined.write_word(s.trace_hash);
                if let Some(d) = s.leader_after_fault {
                    slowest = Some(slowest.map_or(d, |m: f64| m.max(d)));
                }
                if json {
                    println!("{}", cluster::json(&s).replacen('{', &format!("{{\"wall_secs\":{wall:.3},"), 1));
                } else if !sweep {
                    if !quiet {
                        println!("== timeline ==");
                        for line in &timeline {
                            println!("{line}");
                        }
                        println!();
                    }
                    println!("== summary ==");
                    print!("{}", cluster::table(&s));
                    println!("{:<34} {wall:.2} s", "wall time");
                }
            }
            Err(v) => {
                failures += 1;
                if !sweep && !quiet && !json {
                    println!("== timeline up to the violation ==");
                    for line in &timeline {
                        println!("{line}");
                    }
                }
                eprintln!("{v}");
                eprintln!("replay: pouw-netops-sim --seed {} (same options)", v.seed);
            }
        }
        Ok(())
    };
    if let Err(code) = sweep_seeds(&cfg, seeds, threads, &mut take) {
        return code;
    }
    if sweep && !json {
        println!(
            "swept seeds {}..{}: {} passed, {failures} failed, combined trace hash {:016x}, {:.1} s",
            seeds.0,
            seeds.1,
            seeds.1 - seeds.0 - failures,
            combined.finish(),
            started.elapsed().as_secs_f64()
        );
        println!(
            "slowest followed leader after a fault: {} (bound {:.0} s)",
            slowest.map_or("-".to_string(), |d| format!("{d:.3} s")),
            cluster::liveness_bound().as_secs_f64()
        );
    }
    if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
