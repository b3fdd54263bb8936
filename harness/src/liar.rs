//! A Byzantine supervisor inside a cluster of real coordinators: a member
//! with a genuine key that lies ([`Cluster::set_liars`]). Its node runs as
//! any other, but every datagram it sends passes through [`Liar::tamper`],
//! which passes it on, withholds it, or replaces it by a lie sealed with the
//! liar's own key under the same header (so the honest message is lost and
//! the lie is authentic): a vote request or notice for the last term
//! without proof (term inflation), a heartbeat leading the last term, an
//! assignment for an inflated term, a notice of leadership "certified" by
//! its own vote only (leadership without votes), a certificate it saw
//! before attached to a claim of the next term (a replay), and a granted
//! vote, signed, for every candidate that asks it (double voting). The
//! others must refuse every lie that needs proof it lacks; the invariants
//! (one leader per term, bounded terms) must hold.
//!
//! [`Cluster::set_liars`]: crate::cluster::Cluster::set_liars

use crate::identity::ClusterAuthority;
use pouw_netops::auth::seal::{self, AuthKind};
use pouw_netops::auth::{IdentityKey, PairwiseKey, PublicIdentity, QuorumCertificate, VoteKind, VoteStatement};
use pouw_netops::election::{ATTACH_CERTIFICATE, ATTACH_VOTE};
use pouw_netops::wire::{Body, Heartbeat, LeaderHeartbeat, LeaderNotice, TaskAssignment, VoteRequest, VoteResponse};
use pouw_netops::workers::TaskRole;
use pouw_netops::{NodeId, Rng, TaskId, TaskType};

/// One Byzantine supervisor's strategy.
pub struct Liar {
    rng: Rng,
    ids: Vec<NodeId>,
    me: NodeId,
    key: IdentityKey,
    cluster: PublicIdentity,
    authority: ClusterAuthority,
    /// Certificates it sent or saw, the last few (to replay).
    seen: Vec<Vec<u8>>,
    /// Lies told and datagrams passed on.
    pub lies: u64,
}

impl Liar {
    /// Node `ids[index]` of the cluster whose authority is `authority`'s
    /// (the same seed), seeded with `seed`.
    pub fn new(seed: u64, ids: Vec<NodeId>, index: usize, authority: ClusterAuthority) -> Option<Self> {
        let me = ids.get(index)?.clone();
        let key = authority.identity(&me);
        Some(Liar {
            rng: Rng::new(seed ^ 0x1a2_1a2_1a2),
            cluster: authority.public(),
            me,
            key,
            ids,
            authority,
            seen: Vec::new(),
            lies: 0,
        })
    }

    fn pick(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    /// What the liar sends to node `to` instead of `bytes`.
    pub fn tamper(&mut self, to: usize, bytes: Vec<u8>) -> Option<Vec<u8>> {
        let Ok(u) = seal::parse(&bytes) else { return Some(bytes) };
        let Ok((body, len)) = Body::decode_prefix(u.body) else { return Some(bytes) };
        if u.body.get(len) == Some(&ATTACH_CERTIFICATE) && self.seen.len() < 8 {
            self.seen.push(u.body.get(len + 1..).unwrap_or_default().to_vec());
        }
        // Double voting: yes to every candidate, signed.
        if let Body::VoteResponse(r) | Body::PreVoteResponse(r) = &body
            && !r.granted
        {
            let kind = if matches!(body, Body::VoteResponse(_)) { VoteKind::Vote } else { VoteKind::PreVote };
            let candidate = self.ids.get(to)?.clone();
            let v = VoteStatement { kind, term: r.term, candidate, voter: self.me.clone() }
                .signed(&self.key, &self.cluster);
            let mut attachment = vec![ATTACH_VOTE; 1 + v.encoded_len()];
            let n = v.encode(attachment.get_mut(1..)?).ok()?;
            attachment.truncate(1 + n);
            let granted = VoteResponse { term: r.term, granted: true };
            let body =
                if kind == VoteKind::Vote { Body::VoteResponse(granted) } else { Body::PreVoteResponse(granted) };
            self.lies += 1;
            return self.reseal(&u, to, &body, &attachment).or(Some(bytes));
        }
        match self.pick(10) {
            0 => None,
            1 | 2 => {
                let lie = self.lie(to);
                self.lies += 1;
                self.reseal(&u, to, &lie.0, &lie.1).or(Some(bytes))
            }
            _ => Some(bytes),
        }
    }

    /// One lie for node `to`: a body and its attachment.
    fn lie(&mut self, to: usize) -> (Body, Vec<u8>) {
        let term = u64::MAX - self.pick(3);
        match self.pick(6) {
            0 => (Body::RequestVote(VoteRequest { term, progress: None }), Vec::new()),
            1 => (Body::LeaderNotice(LeaderNotice { term }), Vec::new()),
            2 => (Body::Heartbeat(Heartbeat { sequence: 1, leading: term, ..Heartbeat::default() }), Vec::new()),
            3 => match (TaskId::new("task-000"), TaskType::new("train")) {
                (Ok(task), Ok(task_type)) => {
                    // An inflated term: for a term it genuinely leads, its
                    // assignment would be a Byzantine leader's, which the
                    // certificates do not cover (its leadership is real).
                    let a = TaskAssignment { term, task, task_type, role: TaskRole::Primary, checkpoint: None };
                    (Body::TaskAssignment(a), Vec::new())
                }
                _ => (Body::LeaderNotice(LeaderNotice { term }), Vec::new()),
            },
            4 => {
                // Leadership "certified" by its own vote only.
                let t = 1 + self.pick(1000);
                let mut b = QuorumCertificate::builder(VoteKind::Vote, t, self.me.clone());
                let v =
                    VoteStatement { kind: VoteKind::Vote, term: t, candidate: self.me.clone(), voter: self.me.clone() }
                        .signed(&self.key, &self.cluster);
                let mut voters: Vec<(NodeId, PublicIdentity)> =
                    self.ids.iter().map(|i| (i.clone(), self.authority.identity(i).public())).collect();
                voters.sort_by(|a, b| a.0.cmp(&b.0));
                let _ = b.push(&v, &self.cluster, voters.as_slice());
                let mut attachment = Vec::new();
                if let Ok(qc) = b.finish(1) {
                    attachment = vec![ATTACH_CERTIFICATE; 1 + qc.encoded_len()];
                    if let Some(Ok(n)) = attachment.get_mut(1..).map(|buf| qc.encode(buf)) {
                        attachment.truncate(1 + n);
                    }
                }
                (Body::LeaderNotice(LeaderNotice { term: t }), attachment)
            }
            _ => {
                // A certificate seen before, replayed for the next term.
                let pick = self.pick(self.seen.len() as u64) as usize;
                let Some(qc) = self.seen.get(pick).cloned() else {
                    return (Body::LeaderHeartbeat(LeaderHeartbeat { term }), Vec::new());
                };
                let t = QuorumCertificate::decode(&qc).map_or(term, |q| q.term().saturating_add(1));
                let mut attachment = vec![ATTACH_CERTIFICATE];
                attachment.extend_from_slice(&qc);
                let _ = to;
                (Body::LeaderHeartbeat(LeaderHeartbeat { term: t }), attachment)
            }
        }
    }

    /// `body` and `attachment` sealed with the liar's key under `u`'s header.
    fn reseal(&self, u: &seal::Unverified<'_>, to: usize, body: &Body, attachment: &[u8]) -> Option<Vec<u8>> {
        let mut b = body.to_vec().ok()?;
        b.extend_from_slice(attachment);
        let mut buf = vec![0u8; seal::sealed_len(&self.me, b.len(), u.kind)];
        let n = match (u.kind, u.recipient_epoch) {
            (AuthKind::Mac, Some(to_epoch)) => {
                let recipient = self.ids.get(to)?;
                let peer = self.authority.identity(recipient).public();
                let key = PairwiseKey::derive(&self.key, &peer, &self.cluster).ok()?;
                seal::seal_mac(&mut buf, &self.me, recipient, to_epoch, u.epoch, u.counter, &b, &key).ok()?
            }
            _ => seal::seal_signed(&mut buf, &self.me, u.epoch, u.counter, &b, &self.key, &self.cluster).ok()?,
        };
        buf.truncate(n);
        Some(buf)
    }
}
