//! A sweep's seeds run on several threads: the output and the combined trace
//! hash are those of the serial sweep, whatever the thread count.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use std::process::Command;

fn sim(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pouw-netops-sim")).args(args).output().expect("the simulator runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

const SWEEP: [&str; 8] = ["--seeds", "0..7", "--supervisors", "3", "--workers", "4", "--duration", "25"];

/// The JSON lines of a sweep without their wall times, which vary.
fn json_lines(threads: &str) -> Vec<String> {
    let mut args = SWEEP.to_vec();
    args.extend(["--json", "--threads", threads]);
    sim(&args)
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("{\"wall_secs\":").expect("a summary line");
            let (_, rest) = rest.split_once(',').expect("more fields");
            rest.to_string()
        })
        .collect()
}

/// The combined trace hash a plain sweep prints.
fn combined(threads: &str) -> String {
    let mut args = SWEEP.to_vec();
    args.extend(["--threads", threads]);
    let out = sim(&args);
    let line = out.lines().find(|l| l.starts_with("swept seeds")).expect("the sweep's line");
    let (_, hash) = line.split_once("combined trace hash ").expect("a hash");
    hash.split(',').next().expect("the hash").to_string()
}

#[test]
fn a_sweep_gives_the_same_output_on_one_thread_and_on_several() {
    let serial = json_lines("1");
    assert_eq!(serial.len(), 7);
    // In seed order, each seed's own summary.
    for (seed, line) in serial.iter().enumerate() {
        assert!(line.contains(&format!("\"seed\":{seed},")), "{line}");
    }
    assert_eq!(json_lines("3"), serial);
    assert_eq!(json_lines("8"), serial, "more threads than seeds");
    assert_eq!(combined("2"), combined("1"));
}

#[test]
fn a_thread_count_of_zero_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_pouw-netops-sim"))
        .args(["--threads", "0"])
        .output()
        .expect("the simulator runs");
    assert_eq!(out.status.code(), Some(2));
}
