//! Cost of handling one election message (goal: ≤ 1 µs median).
//!
//! ```sh
//! cargo bench -p pouw-netops --bench election
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // not library code

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use pouw_netops::election::ElectionConfig;
use pouw_netops::wire::{Body, Envelope, HeartbeatResponse, LeaderHeartbeat, VoteRequest};
use pouw_netops::{Duration, Instant, LeaderElectionManager, NodeId, preset};
use std::hint::black_box;

fn ids(n: usize) -> Vec<NodeId> {
    (0..n).map(|i| NodeId::new(&format!("supervisor-{i}")).unwrap()).collect()
}

fn config() -> ElectionConfig {
    ElectionConfig::default()
}

/// `follower` takes its leader's `heartbeat` (a microsecond after the last
/// `now`) and queues the acknowledgement.
fn heartbeat_step_and_reply<const V: usize, const O: usize, const H: usize>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    follower: &mut LeaderElectionManager<V, O, H>,
    heartbeat: &Envelope,
    now: &mut Instant,
) {
    g.bench_function(name, |b| {
        b.iter(|| {
            *now += Duration::from_micros(1);
            follower.step(*now, black_box(heartbeat)).unwrap();
            let _ = follower.poll_hard_state();
            black_box(follower.poll_transmit())
        })
    });
}

fn benches(c: &mut Criterion) {
    let ids5 = ids(5);
    let mut g = c.benchmark_group("election");

    // A follower takes its leader's heartbeat and queues the acknowledgement.
    let mut follower =
        preset::small::LeaderElectionManager::new(config(), ids5[0].clone(), &ids5, Instant::ZERO).unwrap();
    let heartbeat = Envelope::new(ids5[1].clone(), Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 }));
    let mut now = Instant::ZERO;
    heartbeat_step_and_reply(&mut g, "follower_heartbeat_step_and_reply", &mut follower, &heartbeat, &mut now);

    // The same from the bytes on the wire: decode, step, encode the reply.
    let bytes = heartbeat.to_vec().unwrap();
    let mut out = [0u8; 128];
    g.bench_function("follower_heartbeat_decode_step_encode", |b| {
        b.iter(|| {
            now += Duration::from_micros(1);
            let env = Envelope::decode(black_box(&bytes)).unwrap();
            follower.step(now, &env).unwrap();
            let t = follower.poll_transmit().unwrap();
            black_box(t.envelope.encode(&mut out).unwrap())
        })
    });

    // A leader records a follower's acknowledgement.
    let mut leader =
        preset::small::LeaderElectionManager::new(config(), ids5[0].clone(), &ids5, Instant::ZERO).unwrap();
    leader.start_election(Instant::ZERO).unwrap();
    for v in &ids5[1..3] {
        leader.receive_vote_response(Instant::ZERO, v, true).unwrap();
    }
    assert!(leader.is_leader());
    while leader.poll_hard_state().is_some() || leader.poll_transmit().is_some() {}
    let ack = Envelope::new(ids5[2].clone(), Body::HeartbeatResponse(HeartbeatResponse { term: 1 }));
    g.bench_function("leader_heartbeat_response", |b| b.iter(|| leader.step(Instant::ZERO, black_box(&ack)).unwrap()));

    // A follower grants a vote in a new term (term change, vote, persistence, reply).
    let mut voter = preset::small::LeaderElectionManager::new(
        ElectionConfig { pre_vote: false, check_quorum: false, ..config() },
        ids5[0].clone(),
        &ids5,
        Instant::ZERO,
    )
    .unwrap();
    let mut term = 0u64;
    g.bench_function("follower_grants_vote_new_term", |b| {
        b.iter(|| {
            term += 1;
            let req = Envelope::new(ids5[3].clone(), Body::RequestVote(VoteRequest { term, progress: None }));
            voter.step(Instant::ZERO, &req).unwrap();
            black_box(voter.poll_hard_state());
            black_box(voter.poll_transmit())
        })
    });

    // Host scale: a follower among 4096 voters (binary search over the voter table).
    let ids_large = ids(preset::large::VOTERS);
    let mut big =
        preset::large::LeaderElectionManager::new_boxed(config(), ids_large[0].clone(), &ids_large, Instant::ZERO)
            .unwrap();
    let heartbeat_large = Envelope::new(ids_large[2777].clone(), Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 }));
    heartbeat_step_and_reply(&mut g, "large_follower_heartbeat_step_and_reply", &mut big, &heartbeat_large, &mut now);
    g.finish();
}

criterion_group! {
    name = election;
    config = Criterion::default().measurement_time(std::time::Duration::from_secs(3)).sample_size(30);
    targets = benches
}
criterion_main!(election);
