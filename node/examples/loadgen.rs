//! A load generator for one `pouw-netops-node`: N real workers (each a core
//! coordinator with its own identity key, a certificate issued on the spot by
//! the cluster authority, and its own UDP socket) heartbeating at 1 Hz to the
//! configured supervisor, all in one thread. Used for the CPU/RSS figure in
//! `BENCHMARKS.md` (see `scripts/node-load.sh`).
//!
//! ```text
//! cargo run --release -p pouw-netops-node --example loadgen -- \
//!     AUTHORITY_KEY SUPERVISOR_ID SUPERVISOR_ADDR WORKERS SECONDS
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a bench tool, not library code

use pouw_netops::auth::{Certificate, IdentityKey, Role};
use pouw_netops::coordinator::{Credentials, NodeRole, OpsConfig};
use pouw_netops::mesh::WgKey;
use pouw_netops::{Instant, NodeId, TaskType};
use pouw_netops_node::keys;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant as Wall};

type Worker = pouw_netops::preset::small::NetworkOperationsManager;

const OFFSET_SECS: u64 = 1_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: loadgen AUTHORITY_KEY SUPERVISOR_ID SUPERVISOR_ADDR WORKERS SECONDS");
        std::process::exit(2);
    }
    let authority = keys::read_key(std::path::Path::new(&args[1])).unwrap();
    let sup = NodeId::new(&args[2]).unwrap();
    let sup_addr: SocketAddr = args[3].parse().unwrap();
    let n: usize = args[4].parse().unwrap();
    let secs: u64 = args[5].parse().unwrap();
    let unix = keys::unix_now();
    let started = Wall::now();
    let now = || Instant::from_micros(OFFSET_SECS * 1_000_000 + started.elapsed().as_micros() as u64);
    let train = TaskType::new("train").unwrap();
    let mut workers: Vec<(Box<Worker>, UdpSocket)> = Vec::with_capacity(n);
    for i in 0..n {
        let id = NodeId::new(&format!("load-{i:05}")).unwrap();
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        seed[8..16].copy_from_slice(&unix.to_le_bytes());
        let identity = IdentityKey::from_seed(&seed);
        let mut pools = heapless::Vec::new();
        pools.push(train.clone()).unwrap();
        let cert = Certificate {
            node: id.clone(),
            role: Role::Worker,
            identity: identity.public(),
            wg_key: WgKey::placeholder(&id),
            endpoints: heapless::Vec::new(),
            slots: 1,
            pools,
            serial: 1,
            not_before: unix - 60,
            not_after: unix + 86_400,
        };
        let creds =
            Credentials::issue(&authority, identity, cert, unix * 1_000_000 + i as u64, unix - OFFSET_SECS).unwrap();
        let node =
            Worker::new_boxed(id, NodeRole::Worker, std::slice::from_ref(&sup), OpsConfig::default(), i as u64, creds)
                .unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        workers.push((node, sock));
    }
    let drain = |node: &mut Worker, sock: &UdpSocket, sent: &mut u64| {
        while let Some(t) = node.poll_transmit() {
            if t.to == sup && sock.send_to(&t.bytes, sup_addr).is_ok() {
                *sent += 1;
            }
        }
        while node.poll_event().is_some() {}
        while node.poll_archived().is_some() {}
    };
    let (mut sent, mut received, mut rejected) = (0u64, 0u64, 0u64);
    // Start spread over the first second, as a real fleet would.
    let spread = Duration::from_secs(1).as_micros() as u64 / n.max(1) as u64;
    let mut started_count = 0;
    let mut buf = vec![0u8; 65_536];
    let end = Duration::from_secs(secs);
    while started.elapsed() < end {
        while started_count < n && started.elapsed().as_micros() as u64 >= spread * started_count as u64 {
            let (node, sock) = &mut workers[started_count];
            node.start(now()).unwrap();
            drain(node, sock, &mut sent);
            started_count += 1;
        }
        for (node, sock) in workers.iter_mut().take(started_count) {
            while let Ok((len, _)) = sock.recv_from(&mut buf) {
                match node.handle_message(now(), &buf[..len]) {
                    Ok(()) => received += 1,
                    Err(_) => rejected += 1,
                }
            }
            let t = now();
            if node.poll_timeout() <= t {
                node.tick(t);
            }
            drain(node, sock, &mut sent);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let following = workers.iter().filter(|(w, _)| w.leader().is_some()).count();
    println!(
        "loadgen: {n} workers for {secs} s: sent {sent}, received {received}, rejected {rejected}, following a leader {following}"
    );
}
