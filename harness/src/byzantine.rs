//! Byzantine-mode election clusters: bare [`LeaderElectionManager`]s whose
//! vote requests and leader heartbeats carry quorum certificates, some of
//! them run by lying supervisors.
//!
//! Signatures are modelled, not computed: the cluster shares a [`CertBook`]
//! of the signed grants each candidate has received (a grant counts once it
//! is delivered to its candidate; a node also grants itself when it asks).
//! A candidate holds a certificate for `(kind, term)` when `q` distinct voters
//! granted it; a message carries a claimed certificate in a small prefix,
//! and the receiver's "gate" refuses (and counts) a claim the book does not
//! back: a forgery. This is the ideal-signature model of `auth::quorum`'s
//! certificates (whose cryptography has its own tests): a liar can sign
//! anything as itself, nothing as anyone else, and can forward any
//! certificate it has seen.
//!
//! A [`Liar`] node runs an honest manager underneath (so it stays in step
//! with the cluster) and, while its faults last, also: grants every
//! (pre-)vote request it sees (double-voting), sends requests, heartbeats and
//! responses with inflated terms, claims leadership without votes (with and
//! without a forged certificate), replays old certificates on new terms, and
//! withholds half of its honest traffic. After [`Liar::until`] it behaves.
//!
//! Datagram layout: `[0] ++ envelope`, or `[1 | 2] ++ term (u64 LE) ++
//! candidate index (u8) ++ envelope` for a pre-vote (1) or leader (2)
//! certificate.

use crate::Violation;
use crate::cluster::{Cluster, ClusterConfig, Factory, Spawn};
use crate::node::{HarnessNode, Outgoing, Target};
use core::convert::Infallible;
use pouw_netops::election::{ElectionConfig, FaultModel, HardState, ProofKind, Role, TermProof};
use pouw_netops::preset::small::LeaderElectionManager;
use pouw_netops::wire::{Body, HeartbeatResponse, LeaderHeartbeat, VoteRequest, VoteResponse};
use pouw_netops::{Duration, Envelope, Instant, NodeId, Rng};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// The signed grants every candidate holds, shared by a cluster.
#[derive(Debug, Default)]
pub struct CertBook {
    quorum: usize,
    held: BTreeMap<(bool, u64, usize), BTreeSet<usize>>,
    /// Candidates that hold a leader certificate, by term.
    certified: BTreeMap<u64, BTreeSet<usize>>,
    /// The first time two candidates held leader certificates for one term.
    violation: Option<String>,
    /// Claimed certificates the book did not back (forgeries), refused at the gate.
    pub forged: u64,
    /// Certificates attached to sent messages (one per message, not per recipient).
    pub attached: u64,
    /// Signed grants delivered to their candidate.
    pub grants: u64,
}

impl CertBook {
    /// A book for quorums of `quorum`.
    pub fn new(quorum: usize) -> Self {
        CertBook { quorum, ..CertBook::default() }
    }

    /// `voter` signed a grant of `kind` for `candidate` in `term`, and the candidate has it.
    pub fn grant(&mut self, kind: ProofKind, term: u64, candidate: usize, voter: usize) {
        let leader = kind == ProofKind::Leader;
        let set = self.held.entry((leader, term, candidate)).or_default();
        if set.insert(voter) && voter != candidate {
            self.grants += 1;
        }
        if leader && set.len() >= self.quorum {
            let holders = self.certified.entry(term).or_default();
            holders.insert(candidate);
            if holders.len() > 1 && self.violation.is_none() {
                self.violation = Some(format!("two certified leaders in term {term}: {holders:?}"));
            }
        }
    }

    /// Whether `candidate` holds a certificate of `kind` for `term`.
    pub fn holds(&self, kind: ProofKind, term: u64, candidate: usize) -> bool {
        self.held.get(&(kind == ProofKind::Leader, term, candidate)).is_some_and(|s| s.len() >= self.quorum)
    }

    /// Some certificate for `term` (a leader certificate first), and its candidate.
    pub fn any_for(&self, term: u64) -> Option<(ProofKind, usize)> {
        [(true, ProofKind::Leader), (false, ProofKind::PreVote)].into_iter().find_map(|(leader, kind)| {
            self.held
                .range((leader, term, 0)..=(leader, term, usize::MAX))
                .find(|(_, s)| s.len() >= self.quorum)
                .map(|((_, _, c), _)| (kind, *c))
        })
    }

    /// Every `(term, candidate)` with a leader certificate.
    pub fn certified_leaders(&self) -> &BTreeMap<u64, BTreeSet<usize>> {
        &self.certified
    }

    /// The invariant "never two certified leaders in one term", if broken.
    pub fn violation(&self) -> Option<&str> {
        self.violation.as_deref()
    }
}

/// What a lying supervisor does while its faults last.
#[derive(Clone, Debug)]
pub struct Liar {
    /// When it stops lying (its local time).
    pub until: Instant,
    /// How often it attacks.
    pub every: Duration,
    rng: Rng,
    next: Instant,
    /// The attacks it made.
    pub attacks: u64,
    /// The honest messages it withheld.
    pub withheld: u64,
}

impl Liar {
    /// A liar seeded with `seed`, attacking every `every` until `until`.
    pub fn new(seed: u64, every: Duration, until: Instant) -> Self {
        Liar { until, every, rng: Rng::new(seed), next: Instant::ZERO, attacks: 0, withheld: 0 }
    }

    fn active(&self, now: Instant) -> bool {
        now < self.until
    }
}

/// An election manager behind a certificate-checking gate, honest or lying.
pub struct CertNode {
    inner: Box<LeaderElectionManager>,
    me: usize,
    ids: Rc<Vec<NodeId>>,
    book: Rc<RefCell<CertBook>>,
    liar: Option<Liar>,
    injected: VecDeque<Outgoing>,
    now: Instant,
    /// Senders whose last message had a lower term than this node's: its
    /// next answer to them carries a certificate for its term.
    behind: BTreeSet<usize>,
}

const NONE: u8 = 0;

fn tag(kind: ProofKind) -> u8 {
    match kind {
        ProofKind::PreVote => 1,
        ProofKind::Leader => 2,
    }
}

/// `envelope` with a claimed certificate `(kind, term, candidate)`.
fn frame(claim: Option<(ProofKind, u64, usize)>, envelope: &Envelope) -> Result<Vec<u8>, String> {
    let mut out = match claim {
        None => vec![NONE],
        Some((kind, term, candidate)) => {
            let mut v = vec![tag(kind)];
            v.extend_from_slice(&term.to_le_bytes());
            v.push(u8::try_from(candidate).map_err(|_| "candidate index above 255".to_string())?);
            v
        }
    };
    out.extend_from_slice(&envelope.to_vec().map_err(|e| format!("{e}"))?);
    Ok(out)
}

type Claim = Option<(ProofKind, u64, usize)>;

fn unframe(bytes: &[u8]) -> Result<(Claim, &[u8]), String> {
    let (&t, rest) = bytes.split_first().ok_or("empty datagram")?;
    if t == NONE {
        return Ok((None, rest));
    }
    let kind = match t {
        1 => ProofKind::PreVote,
        2 => ProofKind::Leader,
        _ => return Err(format!("unknown certificate tag {t}")),
    };
    let (term, rest) = rest.split_first_chunk::<8>().ok_or("truncated certificate")?;
    let (&cand, rest) = rest.split_first().ok_or("truncated certificate")?;
    Ok((Some((kind, u64::from_le_bytes(*term), usize::from(cand))), rest))
}

impl CertNode {
    /// The manager underneath.
    pub fn inner(&self) -> &LeaderElectionManager {
        &self.inner
    }

    /// Its lies, if it is a liar.
    pub fn liar(&self) -> Option<&Liar> {
        self.liar.as_ref()
    }

    /// Whether it lies now.
    pub fn lying(&self) -> bool {
        self.liar.as_ref().is_some_and(|l| l.active(self.now))
    }

    fn id_of(&self, i: usize) -> Option<NodeId> {
        self.ids.get(i).cloned()
    }

    fn push(&mut self, to: Target, claim: Claim, body: Body) {
        let Some(me) = self.id_of(self.me) else { return };
        let env = Envelope::new(me, body);
        if let Ok(bytes) = frame(claim, &env) {
            self.injected.push_back(Outgoing { to, bytes });
        }
    }

    /// One attack of the liar's repertoire, chosen by its generator.
    fn attack(&mut self) {
        let Some(liar) = self.liar.as_mut() else { return };
        liar.attacks += 1;
        let pick = liar.rng.below(6);
        let huge = u64::MAX - liar.rng.below(3);
        // The wire refuses term 0; a liar's messages must decode to be worth sending.
        let term = self.inner.term().max(1);
        let next = term.saturating_add(1);
        let me = self.me;
        match pick {
            // Inflate terms: a vote request, a heartbeat response, a pre-vote.
            0 => self.push(Target::Supervisors, None, Body::RequestVote(VoteRequest { term: huge, progress: None })),
            1 => self.push(Target::Supervisors, None, Body::HeartbeatResponse(HeartbeatResponse { term: huge })),
            2 => self.push(Target::Supervisors, None, Body::PreVote(VoteRequest { term: huge, progress: None })),
            // Claim leadership without votes: no certificate, then a forged one.
            3 => self.push(Target::Supervisors, None, Body::LeaderHeartbeat(LeaderHeartbeat { term })),
            4 => self.push(
                Target::Supervisors,
                Some((ProofKind::Leader, next, me)),
                Body::LeaderHeartbeat(LeaderHeartbeat { term: next }),
            ),
            // Replay an old certificate (anyone's) on a new term.
            _ => {
                let old = self.book.borrow().certified_leaders().iter().next_back().map(|(t, c)| (*t, c.clone()));
                if let Some((t, holders)) = old
                    && let Some(&c) = holders.iter().next()
                {
                    self.push(
                        Target::Supervisors,
                        Some((ProofKind::Leader, t, c)),
                        Body::LeaderHeartbeat(LeaderHeartbeat { term: next }),
                    );
                }
            }
        }
    }

    /// The liar's double vote: a grant for every request it sees.
    fn double_vote(&mut self, from: usize, body: &Body) {
        let grant = match body {
            Body::PreVote(r) => Body::PreVoteResponse(VoteResponse { term: r.term, granted: true }),
            Body::RequestVote(r) => Body::VoteResponse(VoteResponse { term: r.term, granted: true }),
            _ => return,
        };
        if let Some(to) = self.id_of(from) {
            self.push(Target::Node(to), None, grant);
        }
    }
}

impl HarnessNode for CertNode {
    type Event = Infallible;

    fn start(&mut self, _now: Instant) -> Result<(), String> {
        Ok(())
    }

    fn deliver(&mut self, now: Instant, bytes: &[u8]) -> Result<bool, String> {
        self.now = now;
        let (claim, rest) = unframe(bytes)?;
        let env = Envelope::decode(rest).map_err(|e| format!("{e}"))?;
        let from = self.ids.iter().position(|i| *i == env.sender).ok_or("unknown sender")?;
        // The gate: a claimed certificate must exist (signatures cannot be forged).
        let proof = match claim {
            None => None,
            Some((kind, term, candidate)) => {
                let mut book = self.book.borrow_mut();
                if !book.holds(kind, term, candidate) {
                    book.forged += 1;
                    return Ok(true);
                }
                let candidate = self.id_of(candidate).ok_or("certificate names no node")?;
                Some(TermProof { kind, term, candidate })
            }
        };
        // A grant reaching its candidate is a signed vote the candidate now holds.
        match &env.body {
            Body::PreVoteResponse(r) if r.granted => {
                self.book.borrow_mut().grant(ProofKind::PreVote, r.term, self.me, from)
            }
            Body::VoteResponse(r) if r.granted => {
                self.book.borrow_mut().grant(ProofKind::Leader, r.term, self.me, from)
            }
            _ => {}
        }
        if self.lying() {
            self.double_vote(from, &env.body);
        }
        let term = match &env.body {
            // The sender's own term (a pre-candidate asks for the one after it).
            Body::PreVote(r) => r.term.saturating_sub(1),
            Body::RequestVote(r) => r.term,
            Body::LeaderHeartbeat(h) => h.term,
            _ => u64::MAX,
        };
        self.inner.step_with_proof(now, &env, proof.as_ref()).map_err(|e| format!("{e}"))?;
        if term < self.inner.term() {
            self.behind.insert(from);
        }
        Ok(true)
    }

    fn tick(&mut self, now: Instant) {
        self.now = now;
        self.inner.tick(now);
        if self.lying()
            && let Some(l) = self.liar.as_mut()
            && now >= l.next
        {
            l.next = now + l.every;
            self.attack();
        }
    }

    fn poll_timeout(&self) -> Instant {
        let inner = self.inner.poll_timeout();
        match &self.liar {
            Some(l) if l.active(self.now) => inner.min(l.next),
            _ => inner,
        }
    }

    fn poll_hard_state(&mut self) -> Option<HardState> {
        self.inner.poll_hard_state()
    }

    fn poll_transmit(&mut self) -> Option<Result<Outgoing, String>> {
        if let Some(o) = self.injected.pop_front() {
            return Some(Ok(o));
        }
        loop {
            let t = self.inner.poll_transmit()?;
            let me = self.me;
            let claim = match &t.envelope.body {
                Body::PreVote(r) => {
                    self.book.borrow_mut().grant(ProofKind::PreVote, r.term, me, me);
                    None
                }
                Body::RequestVote(r) => {
                    let mut book = self.book.borrow_mut();
                    book.grant(ProofKind::Leader, r.term, me, me);
                    book.holds(ProofKind::PreVote, r.term, me).then_some((ProofKind::PreVote, r.term, me))
                }
                Body::LeaderHeartbeat(h) => {
                    self.book.borrow().holds(ProofKind::Leader, h.term, me).then_some((ProofKind::Leader, h.term, me))
                }
                Body::PreVoteResponse(VoteResponse { term, .. })
                | Body::VoteResponse(VoteResponse { term, .. })
                | Body::HeartbeatResponse(HeartbeatResponse { term }) => {
                    let to = t.to.as_ref().and_then(|id| self.ids.iter().position(|i| i == id));
                    match to {
                        Some(j) if self.behind.remove(&j) => {
                            self.book.borrow().any_for(*term).map(|(kind, c)| (kind, *term, c))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            if claim.is_some() {
                self.book.borrow_mut().attached += 1;
            }
            if self.lying()
                && let Some(l) = self.liar.as_mut()
                && l.rng.chance(0.5)
            {
                l.withheld += 1;
                continue;
            }
            let to = t.to.map_or(Target::Supervisors, Target::Node);
            return Some(frame(claim, &t.envelope).map(|bytes| Outgoing { to, bytes }));
        }
    }

    fn poll_event(&mut self) -> Option<Infallible> {
        None
    }

    fn leading(&self) -> Option<u64> {
        self.inner.is_leader().then(|| self.inner.term())
    }

    fn pending(&self) -> (usize, usize) {
        (self.inner.pending_transmits() + self.injected.len(), 0)
    }
}

/// A node of a Byzantine election cluster, ideal ([`CertNode`]) or signed
/// ([`crate::signed::SignedNode`]): what [`cluster`] needs to build one.
pub trait LiarNode: HarnessNode + Voter + Sized + 'static {
    /// What the cluster's nodes share, where the safety check reads.
    type Shared: 'static;
    /// What every node is built from besides the shared part (keys, voters).
    type Setup: 'static;

    /// The shared state and setup of a cluster of `ids` whose quorum is
    /// `quorum`, keys (if any) from `seed`.
    fn setup(ids: &[NodeId], quorum: usize, seed: u64) -> (Self::Shared, Self::Setup);

    /// The node `s` asks for, with `config`, among `ids`, sharing `shared`;
    /// a liar (its randomness seeded by `liar.0`) until `liar.1` if `liar` is given.
    fn spawn(
        setup: &Self::Setup,
        s: &Spawn<'_>,
        config: ElectionConfig,
        ids: &Rc<Vec<NodeId>>,
        shared: &Rc<RefCell<Self::Shared>>,
        liar: Option<(u64, Instant)>,
    ) -> Result<Box<Self>, String>;

    /// The first breach in `shared` of "never two certified leaders in one term", if any.
    fn violation(shared: &Self::Shared) -> Option<String>;
}

/// A Byzantine election cluster of `N` nodes.
pub struct LiarSet<N: LiarNode> {
    /// The cluster.
    pub cluster: Cluster<N>,
    /// What its nodes share: the certificates its candidates hold
    /// ([`CertBook`]), or what it saw ([`crate::signed::Ledger`]).
    pub shared: Rc<RefCell<N::Shared>>,
    /// The liars' indices.
    pub liars: Vec<usize>,
}

/// A certificate-carrying election cluster.
pub type ByzCluster = LiarSet<CertNode>;

impl LiarNode for CertNode {
    type Shared = CertBook;
    type Setup = ();

    fn setup(_: &[NodeId], quorum: usize, _: u64) -> (CertBook, ()) {
        (CertBook::new(quorum), ())
    }

    fn spawn(
        _: &(),
        s: &Spawn<'_>,
        config: ElectionConfig,
        ids: &Rc<Vec<NodeId>>,
        book: &Rc<RefCell<CertBook>>,
        liar: Option<(u64, Instant)>,
    ) -> Result<Box<Self>, String> {
        Ok(Box::new(CertNode {
            inner: crate::election::spawn(config, s, ids)?,
            me: s.index,
            ids: ids.clone(),
            book: book.clone(),
            liar: liar.map(|(seed, until)| Liar::new(seed, Duration::from_millis(20), until)),
            injected: VecDeque::new(),
            now: s.now,
            behind: BTreeSet::new(),
        }))
    }

    fn violation(book: &CertBook) -> Option<String> {
        book.violation().map(|v| v.to_string())
    }
}

/// `n` voters `s0..` of type `N` with `config(i)` (its fault model decides
/// the quorum), the last `liars` of them lying until `lie_until`, the
/// network (and the keys, if any) seeded by `seed`, with 1–5 ms latency and
/// no loss.
pub fn cluster<N: LiarNode>(
    n: usize,
    liars: usize,
    seed: u64,
    lie_until: Instant,
    config: impl Fn(usize) -> ElectionConfig + 'static,
) -> Result<LiarSet<N>, String> {
    let ids = voter_ids(n)?;
    let (shared, setup) = N::setup(&ids, config(0).fault_model.quorum(n), seed);
    let shared = Rc::new(RefCell::new(shared));
    let (all, s) = (Rc::new(ids.clone()), shared.clone());
    let first_liar = n.saturating_sub(liars);
    let factory = move |sp: &Spawn<'_>| {
        let liar = (sp.index >= first_liar).then(|| (seed ^ (sp.index as u64).wrapping_mul(0x9E37_79B9), lie_until));
        N::spawn(&setup, sp, config(sp.index), &all, &s, liar)
    };
    let cluster = start(seed, ids, Box::new(factory))?;
    Ok(LiarSet { cluster, shared, liars: (first_liar..n).collect() })
}

impl<N: LiarNode> LiarCluster for LiarSet<N> {
    type Node = N;

    fn cluster(&self) -> &Cluster<N> {
        &self.cluster
    }

    fn cluster_mut(&mut self) -> &mut Cluster<N> {
        &mut self.cluster
    }

    fn liars(&self) -> &[usize] {
        &self.liars
    }

    fn violation(&self) -> Option<String> {
        N::violation(&self.shared.borrow())
    }
}

impl ByzCluster {
    /// Messages refused by the election for want of a certificate, over the up nodes.
    pub fn uncertified(&self) -> u64 {
        (0..self.cluster.len()).filter_map(|i| self.cluster.node(i)).map(|n| n.inner().stats().uncertified).sum()
    }
}

/// What an election node of a Byzantine harness shows the shared checks.
pub trait Voter {
    /// Its current term.
    fn term(&self) -> u64;
    /// Whether it is the leader.
    fn is_leader(&self) -> bool;
    /// The leader it follows, if any.
    fn leader(&self) -> Option<&NodeId>;
}

impl Voter for CertNode {
    fn term(&self) -> u64 {
        self.inner.term()
    }

    fn is_leader(&self) -> bool {
        self.inner.role() == Role::Leader
    }

    fn leader(&self) -> Option<&NodeId> {
        self.inner.leader()
    }
}

/// A Byzantine election cluster, ideal ([`ByzCluster`]) or signed
/// ([`crate::signed::SignedCluster`]): the stepping, safety check and
/// leader queries both share.
pub trait LiarCluster: Sized {
    /// The node type.
    type Node: HarnessNode + Voter;

    /// The cluster.
    fn cluster(&self) -> &Cluster<Self::Node>;

    /// The cluster, mutably.
    fn cluster_mut(&mut self) -> &mut Cluster<Self::Node>;

    /// The liars' indices.
    fn liars(&self) -> &[usize];

    /// The first breach of "never two certified leaders in one term", if any.
    fn violation(&self) -> Option<String>;

    /// Steps until `limit` or `stop`, checking "never two certified leaders
    /// in one term" (and the cluster's own checks) after every step.
    fn run_until(&mut self, limit: Instant, mut stop: impl FnMut(&Self) -> bool) -> Result<bool, Violation> {
        while self.cluster_mut().step(limit)? {
            if let Some(v) = self.violation() {
                return Err(self.cluster().violation(v));
            }
            if stop(self) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The leader every up honest node follows (same term), if any: an honest
    /// node, or a liar that won its election fairly (no protocol stops that).
    fn stable_leader(&self) -> Option<usize> {
        let c = self.cluster();
        let honest = |i: &usize| !self.liars().contains(i);
        let leaders: Vec<usize> = (0..c.len()).filter(|&i| c.node(i).is_some_and(Voter::is_leader)).collect();
        let [l] = leaders[..] else { return None };
        let term = c.node(l)?.term();
        let id = c.ids().get(l)?;
        let all =
            (0..c.len()).filter(honest).filter_map(|i| c.node(i)).all(|n| n.term() == term && n.leader() == Some(id));
        all.then_some(l)
    }

    /// The highest term of any node.
    fn max_term(&self) -> u64 {
        let c = self.cluster();
        (0..c.len()).filter_map(|i| c.node(i)).map(Voter::term).max().unwrap_or(0)
    }

    /// The attack schedule of the Byzantine sweeps: until `stop` (when the
    /// liars stop), every 4 s the leader, if any, crashes (`at_crash` sees
    /// the cluster and the leader's index first) and is back 2 s later; then
    /// up to `settle` for a leader every honest node follows, and 5 s more.
    /// Returns the time from `stop` to that leader, if one came.
    fn crash_leaders(
        &mut self,
        stop: Instant,
        settle: Duration,
        mut at_crash: impl FnMut(&Self, usize),
    ) -> Result<Option<Duration>, String> {
        let mut t = Instant::ZERO;
        while t + Duration::from_secs(4) < stop {
            t += Duration::from_secs(4);
            self.run_until(t, |_| false).map_err(|v| v.to_string())?;
            if let Some(l) = self.cluster().leader() {
                at_crash(self, l);
                self.cluster_mut().crash(l);
                self.run_until(t + Duration::from_secs(2), |_| false).map_err(|v| v.to_string())?;
                self.cluster_mut().restart(l);
            }
        }
        self.run_until(stop, |_| false).map_err(|v| v.to_string())?;
        let found = self.run_until(stop + settle, |c| c.stable_leader().is_some()).map_err(|v| v.to_string())?;
        let after = found.then(|| self.cluster().now() - stop);
        let end = self.cluster().now() + Duration::from_secs(5);
        self.run_until(end, |_| false).map_err(|v| v.to_string())?;
        Ok(after)
    }

    /// Whether an up node leads in a term above `term`.
    fn leader_above(&self, term: u64) -> bool {
        let c = self.cluster();
        (0..c.len()).any(|i| c.node(i).is_some_and(|n| n.is_leader() && n.term() > term))
    }
}

/// The voters `s0..s{n-1}`.
pub(crate) fn voter_ids(n: usize) -> Result<Vec<NodeId>, String> {
    (0..n).map(|i| NodeId::new(&format!("s{i}")).map_err(|e| format!("{e}"))).collect()
}

/// A cluster of `ids` from `factory`, the network seeded by `seed` with 1–5 ms
/// latency and no loss, every node started.
pub(crate) fn start<N: HarnessNode>(seed: u64, ids: Vec<NodeId>, factory: Factory<N>) -> Result<Cluster<N>, String> {
    let mut cfg = ClusterConfig::new(seed, ids.len());
    cfg.net.latency_min = Duration::from_millis(1);
    cfg.net.latency_max = Duration::from_millis(5);
    let mut cluster = Cluster::new(cfg, ids, factory)?;
    cluster.start_all();
    Ok(cluster)
}

/// Byzantine mode with `f` liars tolerated.
pub fn byzantine(f: u32) -> FaultModel {
    FaultModel::Byzantine { f }
}
