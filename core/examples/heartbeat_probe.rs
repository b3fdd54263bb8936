//! The heartbeat receive path of `benches/ops.rs` (`heartbeat_ingest_1000_nodes`)
//! as a plain program, for instruction counts that do not depend on the
//! machine's load:
//!
//! ```text
//! cargo build --release -p pouw-netops --example heartbeat_probe
//! valgrind --tool=callgrind --toggle-collect='heartbeat_probe::measured' \
//!     target/release/examples/heartbeat_probe 2
//! ```
//!
//! Counts `handle_message` on 999 heartbeats per round (argument: rounds,
//! default 3) and prints the wall time per heartbeat.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]
use pouw_netops::{Duration, Instant, NodeId, OpsConfig};
use std::hint::black_box;

#[path = "../benches/fixtures/supervisor_of_1000.rs"]
mod fixture;
use fixture::{Supervisor, warmed};

#[inline(never)]
fn measured(s: &mut Supervisor, now: Instant, batch: &[Vec<u8>]) {
    for b in batch {
        s.handle_message(black_box(now), black_box(b)).unwrap();
    }
}

fn main() {
    let (mut s, mut peers, start) = warmed(OpsConfig::default());
    let me = NodeId::new("sup-0").unwrap();
    let rounds: u64 = std::env::args().nth(1).map_or(3, |a| a.parse().unwrap());
    let mut now = start;
    let mut total = std::time::Duration::ZERO;
    let mut n = 0u64;
    for r in 0..rounds {
        let batch: Vec<Vec<u8>> = peers.iter_mut().map(|p| p.heartbeat(11 + r, now, &me)).collect();
        let t = std::time::Instant::now();
        measured(&mut s, now, &batch);
        total += t.elapsed();
        n += batch.len() as u64;
        while s.poll_event().is_some() {}
        while s.poll_archived().is_some() {}
        while s.poll_transmit().is_some() {}
        now += Duration::from_secs(1);
    }
    println!("{} heartbeats, {:.3} us each (wall)", n, total.as_secs_f64() * 1e6 / n as f64);
}
