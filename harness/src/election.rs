//! Clusters of bare [`LeaderElectionManager`]s: every node a voter, a crash
//! loses its memory, a restart restores it from its persisted hard state with
//! a new jitter seed.

use crate::byzantine::{start, voter_ids};
use crate::cluster::{Cluster, Spawn};
use pouw_netops::NodeId;
use pouw_netops::election::{ElectionConfig, Role};
use pouw_netops::preset::small::LeaderElectionManager;

/// The election node the harness drives (the `small` preset).
pub type ElectionNode = LeaderElectionManager;

/// `n` voters `s0..` with `config(i)`, the network seeded by `seed` with
/// 1–5 ms latency and no loss, at `Instant::ZERO`.
pub fn cluster(
    n: usize,
    seed: u64,
    config: impl Fn(usize) -> ElectionConfig + 'static,
) -> Result<Cluster<ElectionNode>, String> {
    let ids = voter_ids(n)?;
    let voters = ids.clone();
    let factory = move |s: &Spawn<'_>| spawn(config(s.index), s, &voters);
    start(seed, ids, Box::new(factory))
}

/// `c` for a node's `restarts`-th restart: a new jitter seed, so a restarted
/// node does not replay its earlier timeouts.
pub(crate) fn reseeded(c: ElectionConfig, restarts: u64) -> ElectionConfig {
    if restarts == 0 { c } else { ElectionConfig { seed: c.seed ^ restarts.wrapping_mul(0x9E37), ..c } }
}

/// The node `s` asks for with `c` among `voters`: new, or on a restart
/// restored from its hard state with a [`reseeded`] config.
pub(crate) fn spawn(c: ElectionConfig, s: &Spawn<'_>, voters: &[NodeId]) -> Result<Box<ElectionNode>, String> {
    let built = if s.restarts == 0 {
        ElectionNode::new_boxed(c, s.id.clone(), voters, s.now)
    } else {
        ElectionNode::restore_boxed(reseeded(c, s.restarts), s.id.clone(), voters, s.hard_state.clone(), s.now)
    };
    built.map_err(|e| format!("{e}"))
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
