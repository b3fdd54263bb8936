//! The simulated network: a seeded, virtual-time datagram network with latency
//! jitter (hence reordering), loss, duplication, and directed partitions.
//!
//! Nodes are numbered `0..n`. Everything random comes from one [`Rng`], so the
//! same seed and the same sends give the same deliveries in the same order.

use crate::queue::ArrivalQueue;
use pouw_netops::{Duration, Instant, Rng};
use std::collections::{BTreeMap, BTreeSet};

/// Names a datagram's kind from its bytes, for [`Network::count_kinds`].
pub type Classify = fn(&[u8]) -> &'static str;

/// Datagrams and bytes sent, by kind.
type Tally = BTreeMap<&'static str, (u64, u64)>;

/// How the network misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetConfig {
    /// Shortest one-way delay.
    pub latency_min: Duration,
    /// Longest one-way delay (uniform in between: packets overtake each other).
    pub latency_max: Duration,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Probability that a datagram is delivered twice (the copy with its own delay).
    pub duplicate: f64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency_min: Duration::from_millis(1),
            latency_max: Duration::from_millis(10),
            loss: 0.0,
            duplicate: 0.0,
        }
    }
}

/// A datagram in flight.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Datagram {
    /// Sender index.
    pub from: usize,
    /// Receiver index.
    pub to: usize,
    /// Payload.
    pub bytes: Vec<u8>,
}

/// Counters over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams handed to the network.
    pub sent: u64,
    /// Bytes handed to the network.
    pub bytes_sent: u64,
    /// Datagrams delivered (duplicates included).
    pub delivered: u64,
    /// Lost at random.
    pub lost: u64,
    /// Dropped by a partition.
    pub partitioned: u64,
    /// Extra copies created.
    pub duplicated: u64,
    /// Dropped because the receiver was down at delivery time.
    pub to_down_node: u64,
}

/// The network state.
pub struct Network {
    config: NetConfig,
    rng: Rng,
    /// By arrival, then by send order.
    in_flight: ArrivalQueue<Datagram>,
    /// Directed links `(from, to)` that drop everything.
    blocked: BTreeSet<(usize, usize)>,
    /// Changes of the partitions so far (a block added, a heal).
    changes: u64,
    stats: NetStats,
    max_in_flight: usize,
    /// Datagrams and bytes sent by kind, when a classifier is set.
    kinds: Option<(Classify, Tally)>,
}

impl Network {
    /// A network with `config`, randomness from `seed`.
    pub fn new(config: NetConfig, seed: u64) -> Self {
        Network {
            config,
            rng: Rng::new(seed),
            in_flight: ArrivalQueue::new(),
            blocked: BTreeSet::new(),
            changes: 0,
            stats: NetStats::default(),
            max_in_flight: 0,
            kinds: None,
        }
    }

    /// Replaces the misbehaviour settings (e.g. when a fault phase ends).
    pub fn set_config(&mut self, config: NetConfig) {
        self.config = config;
    }

    /// The current settings.
    pub fn config(&self) -> NetConfig {
        self.config
    }

    fn delay(&mut self) -> Duration {
        let lo = self.config.latency_min.total_micros();
        let hi = self.config.latency_max.total_micros().max(lo);
        Duration::from_micros(self.rng.in_range(lo, hi.saturating_add(1)))
    }

    /// Sends `bytes` from `from` to `to` at `now`.
    pub fn send(&mut self, now: Instant, from: usize, to: usize, bytes: Vec<u8>) {
        self.stats.sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        if let Some((classify, tally)) = self.kinds.as_mut() {
            let t = tally.entry(classify(&bytes)).or_default();
            t.0 += 1;
            t.1 += bytes.len() as u64;
        }
        if self.blocked.contains(&(from, to)) {
            self.stats.partitioned += 1;
            return;
        }
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return;
        }
        if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            let at = now + self.delay();
            self.push(at, Datagram { from, to, bytes: bytes.clone() });
        }
        let at = now + self.delay();
        self.push(at, Datagram { from, to, bytes });
    }

    fn push(&mut self, at: Instant, d: Datagram) {
        self.in_flight.push(at, d);
        self.max_in_flight = self.max_in_flight.max(self.in_flight.len());
    }

    /// When the next datagram arrives, if any is in flight.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.peek_time()
    }

    /// The next datagram due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<Datagram> {
        self.pop_due_at(now).map(|(_, d)| d)
    }

    /// [`Network::pop_due`] with the datagram's arrival time.
    pub fn pop_due_at(&mut self, now: Instant) -> Option<(Instant, Datagram)> {
        let (at, d) = self.in_flight.pop_due(now)?;
        self.stats.delivered += 1;
        Some((at, d))
    }

    /// Counts a datagram that arrived at a node that was down.
    pub fn count_to_down_node(&mut self) {
        self.stats.delivered = self.stats.delivered.saturating_sub(1);
        self.stats.to_down_node += 1;
    }

    /// Blocks traffic from `from` to `to` (one direction).
    pub fn block(&mut self, from: usize, to: usize) {
        if self.blocked.insert((from, to)) {
            self.changes += 1;
        }
    }

    /// Isolates `group` from everyone else in both directions (`nodes` = cluster size).
    pub fn isolate(&mut self, group: &[usize], nodes: usize) {
        for &a in group {
            for b in (0..nodes).filter(|b| !group.contains(b)) {
                self.block(a, b);
                self.block(b, a);
            }
        }
    }

    /// Removes every partition.
    pub fn heal(&mut self) {
        if !self.blocked.is_empty() {
            self.changes += 1;
        }
        self.blocked.clear();
    }

    /// How often the partitions changed (a block added, a heal): the checker
    /// notes when, for the invariants that hold once the network is quiet.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Whether traffic from `from` to `to` is blocked.
    pub fn is_blocked(&self, from: usize, to: usize) -> bool {
        self.blocked.contains(&(from, to))
    }

    /// Whether any partition is in force.
    pub fn is_partitioned(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// From now on, tallies the datagrams sent by the kind `classify` names
    /// (a diagnostic: it reads the bytes, and changes nothing sent).
    pub fn count_kinds(&mut self, classify: Classify) {
        self.kinds = Some((classify, BTreeMap::new()));
    }

    /// Datagrams and bytes sent by kind since [`Network::count_kinds`], by name.
    pub fn kinds(&self) -> Vec<(&'static str, u64, u64)> {
        self.kinds.as_ref().map_or_else(Vec::new, |(_, t)| t.iter().map(|(k, &(n, b))| (*k, n, b)).collect())
    }

    /// Counters so far.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Datagrams in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The most datagrams ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(net: &mut Network, until: Instant) -> Vec<(usize, usize, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(d) = net.pop_due(until) {
            out.push((d.from, d.to, d.bytes));
        }
        out
    }

    #[test]
    fn delivers_within_latency_bounds_in_arrival_order() {
        let mut net = Network::new(NetConfig::default(), 1);
        for i in 0..50u8 {
            net.send(Instant::ZERO, 0, 1, vec![i]);
        }
        assert!(net.next_arrival().unwrap() >= Instant::from_millis(1));
        assert!(drain(&mut net, Instant::from_micros(999)).is_empty());
        let got = drain(&mut net, Instant::from_millis(10));
        assert_eq!(got.len(), 50);
        // Jitter reorders: not all in send order.
        assert!(got.windows(2).any(|w| w[0].2 > w[1].2));
    }

    #[test]
    fn loss_duplication_and_partitions_are_counted() {
        let cfg = NetConfig { loss: 0.3, duplicate: 0.2, ..NetConfig::default() };
        let mut net = Network::new(cfg, 9);
        for _ in 0..1000 {
            net.send(Instant::ZERO, 0, 1, vec![0]);
        }
        let s = net.stats();
        assert!((200..400).contains(&s.lost), "{s:?}");
        assert!((100..250).contains(&s.duplicated), "{s:?}");
        assert_eq!(drain(&mut net, Instant::from_secs(1)).len() as u64, 1000 - s.lost + s.duplicated);
        net.isolate(&[0], 3);
        net.send(Instant::from_secs(1), 0, 1, vec![1]);
        net.send(Instant::from_secs(1), 2, 0, vec![1]);
        net.send(Instant::from_secs(1), 1, 2, vec![1]);
        assert_eq!(net.stats().partitioned, 2);
        net.heal();
        assert!(!net.is_partitioned());
    }

    #[test]
    fn kinds_are_tallied_once_asked_and_change_nothing() {
        let classify: Classify = |b| if b.first() == Some(&0) { "zero" } else { "other" };
        let run = |count: bool| {
            let mut net = Network::new(NetConfig { loss: 0.2, ..NetConfig::default() }, 3);
            net.send(Instant::ZERO, 0, 1, vec![0, 0]);
            if count {
                net.count_kinds(classify);
            }
            for i in 0..10u8 {
                net.send(Instant::ZERO, 0, 1, vec![i % 2, 1, 2]);
            }
            (net.kinds(), drain(&mut net, Instant::from_secs(1)))
        };
        let (counted, sent) = run(true);
        // Lost datagrams count as sent, as in `NetStats::sent`.
        assert_eq!(counted, [("other", 5, 15), ("zero", 5, 15)]);
        let (none, same) = run(false);
        assert!(none.is_empty());
        assert_eq!(sent, same);
    }

    #[test]
    fn same_seed_same_schedule() {
        let run = |seed| {
            let mut net = Network::new(NetConfig { loss: 0.1, duplicate: 0.1, ..NetConfig::default() }, seed);
            for i in 0..100u8 {
                net.send(Instant::from_micros(u64::from(i)), usize::from(i % 3), 1, vec![i]);
            }
            drain(&mut net, Instant::from_secs(1))
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
