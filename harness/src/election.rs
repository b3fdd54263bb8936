//! Clusters of bare [`LeaderElectionManager`]s: every node a voter, a crash
//! loses its memory, a restart restores it from its persisted hard state with
//! a new jitter seed.

use crate::cluster::{Cluster, ClusterConfig, Spawn};
use pouw_netops::election::{ElectionConfig, Role};
use pouw_netops::preset::small::LeaderElectionManager;
use pouw_netops::{Duration, NodeId};

/// The election node the harness drives (the `small` preset).
pub type ElectionNode = LeaderElectionManager;

/// `n` voters `s0..` with `config(i)`, the network seeded by `seed` with
/// 1–5 ms latency and no loss, at `Instant::ZERO`.
pub fn cluster(
    n: usize,
    seed: u64,
    config: impl Fn(usize) -> ElectionConfig + 'static,
) -> Result<Cluster<ElectionNode>, String> {
    let ids: Vec<NodeId> =
        (0..n).map(|i| NodeId::new(&format!("s{i}")).map_err(|e| format!("{e}"))).collect::<Result<_, _>>()?;
    let voters = ids.clone();
    let factory = move |s: &Spawn<'_>| {
        let c = config(s.index);
        let built = if s.restarts == 0 {
            ElectionNode::new_boxed(c, s.id.clone(), &voters, s.now)
        } else {
            let c = ElectionConfig { seed: c.seed ^ s.restarts.wrapping_mul(0x9E37), ..c };
            ElectionNode::restore_boxed(c, s.id.clone(), &voters, s.hard_state.clone(), s.now)
        };
        built.map_err(|e| format!("{e}"))
    };
    let mut cfg = ClusterConfig::new(seed, n);
    cfg.net.latency_min = Duration::from_millis(1);
    cfg.net.latency_max = Duration::from_millis(5);
    let mut c = Cluster::new(cfg, ids, Box::new(factory))?;
    c.start_all();
    Ok(c)
}

/// The leader every live node agrees on (same term, all following it), if any.
pub fn stable_leader(c: &Cluster<ElectionNode>) -> Option<usize> {
    let leaders: Vec<usize> = (0..c.len()).filter(|&i| c.node(i).is_some_and(|n| n.role() == Role::Leader)).collect();
    let [l] = leaders[..] else { return None };
    let term = c.node(l)?.term();
    let id = c.ids().get(l)?;
    let all = (0..c.len()).filter_map(|i| c.node(i)).all(|n| n.term() == term && n.leader() == Some(id));
    all.then_some(l)
}

/// Some node leads with a term above `term`.
pub fn leader_above(c: &Cluster<ElectionNode>, term: u64) -> Option<usize> {
    (0..c.len()).find(|&i| c.node(i).is_some_and(|n| n.role() == Role::Leader && n.term() > term))
}
