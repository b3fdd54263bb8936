//! Byzantine-mode election clusters with real signatures: every node a
//! [`CertifiedElection`] (Ed25519-signed grants, quorum certificates
//! attached and verified, equivocation evidence), some of them lying with
//! their own key. Slower than the ideal-signature model of
//! [`crate::byzantine`], but nothing is modelled: a lie is refused only if
//! the node's checks refuse it.
//!
//! Datagram layout: attachment length (u16 LE) ++ attachment ++ envelope.

use crate::byzantine::{LiarNode, LiarSet, Voter};
use crate::cluster::Spawn;
use crate::identity::ClusterAuthority;
use crate::node::{HarnessNode, Outgoing, Target};
use core::convert::Infallible;
use pouw_netops::auth::{
    EquivocationEvidence, IdentityKey, PublicIdentity, QuorumCertificate, VoteKind, VoteStatement,
};
use pouw_netops::election::{
    ATTACH_CERTIFICATE, ATTACH_NONE, ATTACH_VOTE, CertReject, CertifiedElection, ElectionConfig, HardState,
};
use pouw_netops::wire::{Body, HeartbeatResponse, LeaderHeartbeat, VoteRequest, VoteResponse};
use pouw_netops::{Duration, Envelope, Instant, NodeId, Rng};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// The certified election a node runs (the `small` capacities).
pub type Certified = CertifiedElection<8, 64, 8>;

/// What the cluster saw, shared by its nodes.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Candidates holding a verified leader certificate, by term.
    pub certified: BTreeMap<u64, BTreeSet<NodeId>>,
    /// The first time two candidates held leader certificates for one term.
    pub violation: Option<String>,
    /// Equivocation evidence the nodes reported (verified by the ledger).
    pub evidence: Vec<EquivocationEvidence>,
    /// Attachment bytes sent (per datagram, so a broadcast counts per recipient).
    pub attachment_bytes: u64,
    /// Datagrams sent.
    pub datagrams: u64,
    /// Signed grants sent.
    pub grants: u64,
    /// Certificates sent (per datagram).
    pub certificates: u64,
}

/// A lying supervisor with its key (see [`crate::byzantine`] for the repertoire).
pub struct SignedLiar {
    key: IdentityKey,
    until: Instant,
    rng: Rng,
    next: Instant,
    /// The last certificate it received, to replay.
    seen: Option<QuorumCertificate>,
    /// Attacks made.
    pub attacks: u64,
}

/// A certified election node on the harness network.
pub struct SignedNode {
    inner: Box<Certified>,
    ids: Rc<Vec<NodeId>>,
    cluster: PublicIdentity,
    ledger: Rc<RefCell<Ledger>>,
    liar: Option<SignedLiar>,
    injected: VecDeque<Outgoing>,
    now: Instant,
}

fn frame(attachment: &[u8], envelope: &Envelope) -> Result<Vec<u8>, String> {
    let len = u16::try_from(attachment.len()).map_err(|_| "attachment above 64 KiB".to_string())?;
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(attachment);
    out.extend_from_slice(&envelope.to_vec().map_err(|e| format!("{e}"))?);
    Ok(out)
}

/// `tag` followed by what `encode` writes into `len` bytes.
fn tagged<E>(tag: u8, len: usize, encode: impl FnOnce(&mut [u8]) -> Result<usize, E>) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let n = encode(&mut buf).unwrap_or(0);
    let mut out = vec![tag];
    out.extend_from_slice(buf.get(..n).unwrap_or_default());
    out
}

fn encode_qc(qc: &QuorumCertificate) -> Vec<u8> {
    tagged(ATTACH_CERTIFICATE, qc.encoded_len(), |b| qc.encode(b))
}

impl SignedNode {
    /// The certified election underneath.
    pub fn inner(&self) -> &Certified {
        &self.inner
    }

    fn lying(&self) -> bool {
        self.liar.as_ref().is_some_and(|l| self.now < l.until)
    }

    fn me(&self) -> NodeId {
        self.inner.election().id().clone()
    }

    fn push(&mut self, to: Target, attachment: &[u8], body: Body) {
        if let Ok(bytes) = frame(attachment, &Envelope::new(self.me(), body)) {
            self.injected.push_back(Outgoing { to, bytes });
        }
    }

    /// A grant for every request, signed with the liar's key: real double votes.
    fn double_vote(&mut self, from: &NodeId, body: &Body) {
        let me = self.me();
        let Some(liar) = self.liar.as_ref() else { return };
        let (kind, term, grant) = match body {
            Body::PreVote(r) => {
                (VoteKind::PreVote, r.term, Body::PreVoteResponse(VoteResponse { term: r.term, granted: true }))
            }
            Body::RequestVote(r) => {
                (VoteKind::Vote, r.term, Body::VoteResponse(VoteResponse { term: r.term, granted: true }))
            }
            _ => return,
        };
        let v = VoteStatement { kind, term, candidate: from.clone(), voter: me }.signed(&liar.key, &self.cluster);
        let att = tagged(ATTACH_VOTE, v.encoded_len(), |b| v.encode(b));
        self.push(Target::Node(from.clone()), &att, grant);
    }

    fn attack(&mut self) {
        let me = self.me();
        let term = self.inner.election().term().max(1);
        let next = term.saturating_add(1);
        let Some(liar) = self.liar.as_mut() else { return };
        liar.attacks += 1;
        let pick = liar.rng.below(5);
        let huge = u64::MAX - liar.rng.below(3);
        match pick {
            0 => self.push(
                Target::Supervisors,
                &[ATTACH_NONE],
                Body::RequestVote(VoteRequest { term: huge, progress: None }),
            ),
            1 => self.push(
                Target::Supervisors,
                &[ATTACH_NONE],
                Body::HeartbeatResponse(HeartbeatResponse { term: huge }),
            ),
            2 => self.push(Target::Supervisors, &[ATTACH_NONE], Body::LeaderHeartbeat(LeaderHeartbeat { term })),
            // A leader certificate of its own making: its signature at every
            // voter's index (no other voter signed).
            3 => {
                let mut b = QuorumCertificate::builder(VoteKind::Vote, next, me.clone());
                let voters: Vec<(NodeId, PublicIdentity)> =
                    self.ids.iter().map(|i| (i.clone(), liar.key.public())).collect();
                for v in self.ids.iter() {
                    let s = VoteStatement { kind: VoteKind::Vote, term: next, candidate: me.clone(), voter: v.clone() }
                        .signed(&liar.key, &self.cluster);
                    let _ = b.push_verified(&s, voters.as_slice());
                }
                if let Ok(qc) = b.finish(1) {
                    let att = encode_qc(&qc);
                    self.push(Target::Supervisors, &att, Body::LeaderHeartbeat(LeaderHeartbeat { term: next }));
                }
            }
            // Replay the last certificate it saw on a new term.
            _ => {
                if let Some(qc) = liar.seen.clone() {
                    let att = encode_qc(&qc);
                    self.push(Target::Supervisors, &att, Body::LeaderHeartbeat(LeaderHeartbeat { term: next }));
                }
            }
        }
    }
}

impl HarnessNode for SignedNode {
    type Event = Infallible;

    fn start(&mut self, _now: Instant) -> Result<(), String> {
        Ok(())
    }

    fn deliver(&mut self, now: Instant, bytes: &[u8]) -> Result<bool, String> {
        self.now = now;
        let (len, rest) = bytes.split_first_chunk::<2>().ok_or("short datagram")?;
        let (attachment, env) = rest.split_at_checked(usize::from(u16::from_le_bytes(*len))).ok_or("short datagram")?;
        let env = Envelope::decode(env).map_err(|e| format!("{e}"))?;
        if self.lying() {
            if attachment.first() == Some(&ATTACH_CERTIFICATE)
                && let Ok(qc) = QuorumCertificate::decode(attachment.get(1..).unwrap_or_default())
                && let Some(l) = self.liar.as_mut()
            {
                l.seen = Some(qc);
            }
            self.double_vote(&env.sender, &env.body);
        }
        // A refusal is the point of the checks: counted by the node, not a harness failure.
        let _ = self.inner.step(now, &env, attachment).map_err(|e| format!("{e}"))?;
        let mut ledger = self.ledger.borrow_mut();
        while let Some(e) = self.inner.poll_evidence() {
            ledger.evidence.push(e);
        }
        if let Some(qc) = self.inner.leader_certificate() {
            let holders = ledger.certified.entry(qc.term()).or_default();
            holders.insert(qc.candidate().clone());
            if holders.len() > 1 {
                let what = format!("two certified leaders in term {}: {holders:?}", qc.term());
                ledger.violation.get_or_insert(what);
            }
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
            l.next = now + Duration::from_millis(20);
            self.attack();
        }
    }

    fn poll_timeout(&self) -> Instant {
        let inner = self.inner.poll_timeout();
        match &self.liar {
            Some(l) if self.now < l.until => inner.min(l.next),
            _ => inner,
        }
    }

    fn poll_hard_state(&mut self) -> Option<HardState> {
        self.inner.poll_hard_state()
    }

    fn poll_transmit(&mut self) -> Option<Result<Outgoing, String>> {
        let out = match self.injected.pop_front() {
            Some(o) => o,
            None => loop {
                let t = self.inner.poll_transmit()?;
                if self.lying()
                    && let Some(l) = self.liar.as_mut()
                    && l.rng.chance(0.5)
                {
                    continue; // withheld
                }
                let to = t.transmit.to.clone().map_or(Target::Supervisors, Target::Node);
                match frame(&t.attachment, &t.transmit.envelope) {
                    Ok(bytes) => break Outgoing { to, bytes },
                    Err(e) => return Some(Err(e)),
                }
            },
        };
        let copies = if out.to == Target::Supervisors { self.ids.len() as u64 - 1 } else { 1 };
        let att = out.bytes.first_chunk::<2>().map_or(0, |b| u64::from(u16::from_le_bytes(*b)));
        let mut ledger = self.ledger.borrow_mut();
        ledger.datagrams += copies;
        ledger.attachment_bytes += att * copies;
        match out.bytes.get(2) {
            Some(&ATTACH_VOTE) => ledger.grants += copies,
            Some(&ATTACH_CERTIFICATE) => ledger.certificates += copies,
            _ => {}
        }
        Some(Ok(out))
    }

    fn poll_event(&mut self) -> Option<Infallible> {
        None
    }

    fn leading(&self) -> Option<u64> {
        let e = self.inner.election();
        e.is_leader().then(|| e.term())
    }

    fn pending(&self) -> (usize, usize) {
        (self.inner.election().pending_transmits() + self.injected.len(), 0)
    }
}

/// A cluster of [`SignedNode`]s.
pub type SignedCluster = LiarSet<SignedNode>;

/// The keys a signed cluster is built from: its authority and the voters' public identities.
pub struct Keys {
    authority: ClusterAuthority,
    voters: Vec<(NodeId, PublicIdentity)>,
}

/// Byzantine fault model: keys from the cluster authority of the cluster's seed.
impl LiarNode for SignedNode {
    type Shared = Ledger;
    type Setup = Keys;

    fn setup(ids: &[NodeId], _: usize, seed: u64) -> (Ledger, Keys) {
        let authority = ClusterAuthority::new(seed);
        let voters = ids.iter().map(|i| (i.clone(), authority.identity(i).public())).collect();
        (Ledger::default(), Keys { authority, voters })
    }

    fn spawn(
        keys: &Keys,
        s: &Spawn<'_>,
        config: ElectionConfig,
        ids: &Rc<Vec<NodeId>>,
        ledger: &Rc<RefCell<Ledger>>,
        liar: Option<(u64, Instant)>,
    ) -> Result<Box<Self>, String> {
        let Keys { authority, voters } = keys;
        let c = crate::election::reseeded(config, s.restarts);
        let key = authority.identity(s.id);
        let inner = Certified::new(c, s.id.clone(), key, authority.public(), voters, s.hard_state.clone(), s.now)
            .map_err(|e| format!("{e}"))?;
        let liar = liar.map(|(seed, until)| SignedLiar {
            key: authority.identity(s.id),
            until,
            rng: Rng::new(seed),
            next: Instant::ZERO,
            seen: None,
            attacks: 0,
        });
        Ok(Box::new(SignedNode {
            inner: Box::new(inner),
            ids: ids.clone(),
            cluster: authority.public(),
            ledger: ledger.clone(),
            liar,
            injected: VecDeque::new(),
            now: s.now,
        }))
    }

    fn violation(ledger: &Ledger) -> Option<String> {
        ledger.violation.clone()
    }
}

impl Voter for SignedNode {
    fn term(&self) -> u64 {
        self.inner.election().term()
    }

    fn is_leader(&self) -> bool {
        self.inner.election().is_leader()
    }

    fn leader(&self) -> Option<&NodeId> {
        self.inner.election().leader()
    }
}

impl SignedCluster {
    /// Refusals by reason, over the up nodes.
    pub fn rejected(&self, reason: CertReject) -> u64 {
        (0..self.cluster.len()).filter_map(|i| self.cluster.node(i)).map(|n| n.inner().rejected(reason)).sum()
    }
}
