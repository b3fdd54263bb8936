//! A worker node as firmware runs it: the small-preset coordinator with
//! `OpsConfig::small()`, driven by a plain loop over a radio (or UDP) driver.
//!
//! `worker_turn` is the firmware's main-loop body and uses nothing from `std`:
//! copy it into a `#![no_std]` image with a global allocator (see
//! `docs/embedded.md`) and implement [`Radio`] for the board's radio or UDP
//! stack. Here, on the host, the "air" is an in-memory queue with 3 ms of
//! latency and the other end is a supervisor node (the small preset too); the
//! supervisor elects itself, assigns the worker a task, and the worker reports
//! a checkpoint every 2 s of work. The example exits with an error if the
//! supervisor does not end up holding the worker's latest checkpoint.
//!
//! Run: `cargo run -p pouw-netops --example embedded_worker`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // an example, not library code

use pouw_netops::auth::{Certificate, IdentityKey, Role};
use pouw_netops::coordinator::{Credentials, OpsConfig, OpsEventKind};
use pouw_netops::mesh::WgKey;
use pouw_netops::preset::small;
use pouw_netops::workers::Checkpoint;
use pouw_netops::{Instant, NodeId, NodeRole, TaskId, TaskType};
use std::collections::VecDeque;

type Node = small::NetworkOperationsManager;

/// What the firmware's radio (or UDP socket) driver offers the node loop.
trait Radio {
    /// Microseconds on a monotonic clock.
    fn now(&self) -> u64;
    /// The next received datagram, copied into `buf`; its length.
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Sends `bytes` to `to` (the driver maps node ids to addresses).
    fn send(&mut self, to: &NodeId, bytes: &[u8]);
}

/// The application's side of the worker: the task it works on and its progress.
#[derive(Default)]
struct Work {
    task: Option<TaskId>,
    sequence: u64,
    next_checkpoint: u64,
}

/// One turn of the worker's main loop: what came in, timers, what goes out,
/// events. Nothing here needs `std`.
fn worker_turn<R: Radio>(node: &mut Node, radio: &mut R, buf: &mut [u8], work: &mut Work) {
    let now = Instant::from_micros(radio.now());
    while let Some(n) = radio.receive(buf) {
        // A refused datagram changes nothing and is counted in the node's status.
        let _ = node.handle_message(now, buf.get(..n).unwrap_or(&[]));
    }
    if now >= node.poll_timeout() {
        node.tick(now);
    }
    if let Some(task) = &work.task
        && radio.now() >= work.next_checkpoint
    {
        work.sequence += 1;
        work.next_checkpoint = radio.now() + 2_000_000;
        let digest = [work.sequence as u8; 32];
        let _ = node.report_checkpoint(now, task, Checkpoint { sequence: work.sequence, digest });
    }
    while let Some(t) = node.poll_transmit() {
        radio.send(&t.to, &t.bytes);
    }
    while let Some(event) = node.poll_event() {
        match event.kind {
            OpsEventKind::AssignmentReceived { task, checkpoint, .. } => {
                work.sequence = checkpoint.map_or(0, |c| c.sequence);
                work.task = Some(task);
            }
            OpsEventKind::AssignmentReleased { .. } | OpsEventKind::LeaseExpired { .. } => work.task = None,
            _ => {}
        }
    }
}

/// The in-memory air: datagrams in flight, `(arrival, to, bytes)`, and a clock.
struct Air {
    now: u64,
    in_flight: VecDeque<(u64, NodeId, Vec<u8>)>,
}

/// One node's radio on the air.
struct HostRadio<'a> {
    me: NodeId,
    air: &'a mut Air,
}

impl Radio for HostRadio<'_> {
    fn now(&self) -> u64 {
        self.air.now
    }
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let at = self.air.in_flight.iter().position(|(t, to, _)| *t <= self.air.now && *to == self.me)?;
        let (_, _, bytes) = self.air.in_flight.remove(at)?;
        let n = bytes.len().min(buf.len());
        buf.get_mut(..n)?.copy_from_slice(bytes.get(..n)?);
        Some(n)
    }
    fn send(&mut self, to: &NodeId, bytes: &[u8]) {
        self.air.in_flight.push_back((self.air.now + 3_000, to.clone(), bytes.to_vec()));
    }
}

const UNIX_AT_ZERO: u64 = 1_800_000_000;

fn credentials(authority: &IdentityKey, name: &NodeId, role: NodeRole, pool: &TaskType) -> Credentials {
    let mut seed = [7u8; 32];
    for (s, b) in seed.iter_mut().zip(name.as_bytes()) {
        *s = *b;
    }
    let identity = IdentityKey::from_seed(&seed);
    let mut pools = heapless::Vec::new();
    if role == NodeRole::Worker {
        pools.push(pool.clone()).unwrap();
    }
    let certificate = Certificate {
        node: name.clone(),
        role: if role == NodeRole::Worker { Role::Worker } else { Role::Supervisor },
        identity: identity.public(),
        wg_key: WgKey::placeholder(name),
        endpoints: heapless::Vec::new(),
        slots: u16::from(role == NodeRole::Worker),
        pools,
        serial: 1,
        not_before: UNIX_AT_ZERO,
        not_after: UNIX_AT_ZERO + 86_400,
    };
    Credentials::issue(authority, identity, certificate, 1, UNIX_AT_ZERO).unwrap()
}

fn main() -> Result<(), String> {
    let authority = IdentityKey::from_seed(&[0xA5; 32]);
    let train = TaskType::new("train").unwrap();
    let (sup, me) = (NodeId::new("sup-0").unwrap(), NodeId::new("mcu-worker-1").unwrap());
    let supervisors = [sup.clone()];
    let node = |id: &NodeId, role: NodeRole, config: OpsConfig, seed: u64| {
        let credentials = credentials(&authority, id, role, &train);
        Node::new_boxed(id.clone(), role, &supervisors, config, seed, credentials).map_err(|e| e.to_string())
    };
    let mut supervisor = node(&sup, NodeRole::Supervisor, OpsConfig::default(), 1)?;
    // On the microcontroller this would live in a `static` or on the main stack.
    let mut worker = node(&me, NodeRole::Worker, OpsConfig::small(), 2)?;

    let mut air = Air { now: 1_000_000, in_flight: VecDeque::new() };
    supervisor.start(Instant::from_micros(air.now)).map_err(|e| e.to_string())?;
    worker.start(Instant::from_micros(air.now)).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    let mut work = Work::default();
    let task = TaskId::new("train-0").unwrap();
    let mut submitted = false;
    while air.now < 31_000_000 {
        // The supervisor, a host: the same loop without the work.
        {
            let now = Instant::from_micros(air.now);
            let mut radio = HostRadio { me: sup.clone(), air: &mut air };
            while let Some(n) = radio.receive(&mut buf) {
                let _ = supervisor.handle_message(now, buf.get(..n).unwrap_or(&[]));
            }
            if now >= supervisor.poll_timeout() {
                supervisor.tick(now);
            }
            if !submitted && supervisor.is_leader() {
                supervisor.submit_task(now, task.clone(), train.clone(), 1, 0).map_err(|e| e.to_string())?;
                submitted = true;
            }
            while supervisor.poll_hard_state().is_some() {}
            while let Some(t) = supervisor.poll_transmit() {
                radio.send(&t.to, &t.bytes);
            }
            while supervisor.poll_event().is_some() {}
        }
        worker_turn(&mut worker, &mut HostRadio { me: me.clone(), air: &mut air }, &mut buf, &mut work);
        air.now += 1_000;
    }

    let held = supervisor.workers().and_then(|w| w.task(&task)).and_then(|t| t.checkpoint()).map(|(c, _)| c.sequence);
    let status = worker.status(Instant::from_micros(air.now));
    println!("worker {me}: task {:?}, {} checkpoints reported", work.task.as_ref().map(TaskId::as_str), work.sequence);
    println!("supervisor {sup}: holds checkpoint {held:?} of {task}");
    println!(
        "worker status: leader {:?}, {} messages in, {} out, rejected {:?}, history records {}",
        status.leader,
        status.counters.messages_received,
        status.counters.messages_sent,
        status.counters.rejected,
        status.compression.total_messages
    );
    match held {
        Some(seq) if seq + 1 >= work.sequence && work.sequence >= 10 => Ok(()),
        _ => Err(format!("the supervisor holds checkpoint {held:?}, the worker reported {}", work.sequence)),
    }
}
