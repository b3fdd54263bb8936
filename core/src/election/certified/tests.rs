use super::*;
use crate::test_support::{authority, identity_of};
use std::collections::VecDeque;
use std::format;
use std::vec;
use std::vec::Vec;

type C = CertifiedElection<8, 64, 8>;

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn names(n: usize) -> Vec<std::string::String> {
    (0..n).map(|i| format!("n{i}")).collect()
}

fn voters(n: usize) -> Vec<(NodeId, PublicIdentity)> {
    names(n).iter().map(|s| (id(s), identity_of(s).public())).collect()
}

fn cluster_key() -> PublicIdentity {
    authority().public()
}

fn node(n: usize, i: usize, policy: EquivocationPolicy) -> C {
    let config = ElectionConfig {
        fault_model: FaultModel::Byzantine { f: ((n - 1) / 3) as u32 },
        seed: i as u64 + 1,
        ..ElectionConfig::default()
    };
    let name = format!("n{i}");
    C::new(config, id(&name), identity_of(&name), cluster_key(), &voters(n), HardState::default(), Instant::ZERO)
        .unwrap()
        .with_policy(policy)
}

fn signed(kind: VoteKind, term: u64, candidate: &str, voter: &str) -> Vec<u8> {
    let v = VoteStatement { kind, term, candidate: id(candidate), voter: id(voter) }
        .signed(&identity_of(voter), &cluster_key());
    let mut buf = vec![0u8; v.encoded_len()];
    let n = v.encode(&mut buf).unwrap();
    let mut out = vec![ATTACH_VOTE];
    out.extend_from_slice(&buf[..n]);
    out
}

fn attach_qc(qc: &QuorumCertificate) -> Vec<u8> {
    let mut buf = vec![0u8; qc.encoded_len()];
    let n = qc.encode(&mut buf).unwrap();
    let mut out = vec![ATTACH_CERTIFICATE];
    out.extend_from_slice(&buf[..n]);
    out
}

/// A certificate of `kind` for `candidate` in `term` signed by `signers`, over `n` voters.
fn qc(kind: VoteKind, term: u64, candidate: &str, signers: &[&str], n: usize) -> QuorumCertificate {
    let mut b = QuorumCertificate::builder(kind, term, id(candidate));
    let vs = voters(n);
    for s in signers {
        let v = VoteStatement { kind, term, candidate: id(candidate), voter: id(s) }
            .signed(&identity_of(s), &cluster_key());
        b.push(&v, &cluster_key(), vs.as_slice()).unwrap();
    }
    b.finish(1).unwrap()
}

fn env(from: &str, body: Body) -> Envelope {
    Envelope::new(id(from), body)
}

/// Delivers every message with its attachment until quiet; returns the refusals.
fn run(nodes: &mut [C], now: Instant) -> Vec<CertReject> {
    let mut refused = Vec::new();
    let mut q: VecDeque<(usize, usize, Envelope, Vec<u8>)> = VecDeque::new();
    loop {
        for i in 0..nodes.len() {
            while nodes[i].poll_hard_state().is_some() {}
            while let Some(t) = nodes[i].poll_transmit() {
                let to: Vec<usize> = match &t.transmit.to {
                    Some(to) => vec![nodes.iter().position(|n| n.election().id() == to).unwrap()],
                    None => (0..nodes.len()).filter(|&j| j != i).collect(),
                };
                for j in to {
                    q.push_back((i, j, t.transmit.envelope.clone(), t.attachment.clone()));
                }
            }
        }
        let Some((_, to, e, a)) = q.pop_front() else { break };
        if let Err(r) = nodes[to].step(now, &e, &a).unwrap() {
            refused.push(r);
        }
    }
    refused
}

type Snapshot = (Role, u64, Option<NodeId>, Option<NodeId>, usize, Option<QuorumCertificate>);

fn snapshot(c: &C) -> Snapshot {
    let e = c.election();
    (
        e.role(),
        e.term(),
        e.leader().cloned(),
        e.voted_for().cloned(),
        e.pending_transmits(),
        c.leader_certificate().cloned(),
    )
}

#[test]
fn four_voters_elect_a_certified_leader() {
    let mut nodes: Vec<C> = (0..4).map(|i| node(4, i, EquivocationPolicy::default())).collect();
    nodes[0].campaign(Instant::ZERO).unwrap();
    assert!(run(&mut nodes, Instant::ZERO).is_empty());
    let qc = nodes[0].leader_certificate().cloned().expect("the leader holds its certificate");
    assert_eq!((qc.kind(), qc.term(), qc.candidate()), (VoteKind::Vote, 1, &id("n0")));
    qc.verify(&cluster_key(), voters(4).as_slice(), 3).unwrap();
    for n in &nodes[1..] {
        assert_eq!(n.election().leader(), Some(&id("n0")));
        assert_eq!(n.leader_certificate(), Some(&qc), "followers keep the leader's certificate");
    }
    // Everyone acknowledged: the next heartbeats go bare, until the
    // election timeout passes and the certificate rides along once more.
    let heartbeat = |nodes: &mut Vec<C>, at: Instant| {
        nodes[0].tick(at);
        let t = nodes[0].poll_transmit().unwrap();
        assert!(matches!(t.transmit.envelope.body, Body::LeaderHeartbeat(_)));
        for n in nodes[1..].iter_mut() {
            assert_eq!(n.step(at, &t.transmit.envelope, &t.attachment).unwrap(), Ok(()));
        }
        assert!(run(nodes, at).is_empty());
        t.attachment[0]
    };
    assert_eq!(heartbeat(&mut nodes, Instant::from_millis(100)), ATTACH_NONE);
    assert_eq!(heartbeat(&mut nodes, Instant::from_millis(1000)), ATTACH_CERTIFICATE);
    assert_eq!(heartbeat(&mut nodes, Instant::from_millis(1100)), ATTACH_NONE);
    // 7 voters, f = 2: quorum 5.
    let mut nodes: Vec<C> = (0..7).map(|i| node(7, i, EquivocationPolicy::default())).collect();
    nodes[3].campaign(Instant::ZERO).unwrap();
    assert!(run(&mut nodes, Instant::ZERO).is_empty());
    assert!(nodes[3].election().is_leader());
    assert!(nodes[3].leader_certificate().unwrap().signer_count() >= 5);
}

/// Every bad certificate input, through the node: refused, counted, nothing changed.
#[test]
fn bad_certificates_change_nothing() {
    let now = Instant::from_secs(5); // past any lease
    let hb = |from: &str, term| env(from, Body::LeaderHeartbeat(LeaderHeartbeat { term }));
    let rv = |from: &str, term| env(from, Body::RequestVote(VoteRequest { term, progress: None }));
    let good = qc(VoteKind::Vote, 2, "n1", &["n1", "n2", "n3"], 4);
    let mut forged = attach_qc(&good);
    let last = forged.len() - 1;
    forged[last] ^= 1; // one signature bit
    // A voter's signature replaced by a non-voter's on the same statement.
    let outsider = {
        let mut b = QuorumCertificate::builder(VoteKind::Vote, 2, id("n1"));
        let mut vs = voters(4);
        vs[3].1 = identity_of("x").public();
        for (s, k) in [("n1", "n1"), ("n2", "n2"), ("n3", "x")] {
            let v = VoteStatement { kind: VoteKind::Vote, term: 2, candidate: id("n1"), voter: id(s) }
                .signed(&identity_of(k), &cluster_key());
            b.push(&v, &cluster_key(), vs.as_slice()).unwrap();
        }
        attach_qc(&b.finish(3).unwrap())
    };
    // Signer index 5 of a 6-voter set: no voter here.
    let unknown = attach_qc(&qc(VoteKind::Vote, 2, "n1", &["n1", "n2", "n5"], 6));
    let short = attach_qc(&qc(VoteKind::Vote, 2, "n1", &["n1", "n2"], 4));
    // A duplicate signer: the bitmap names each voter once, so counting
    // one twice means repeating its signature beyond the bitmap (n1, n2
    // and n2 again, for a quorum of three).
    let mut duplicate = short.clone();
    duplicate.extend_from_slice(&short[short.len() - 64..]);
    let mut truncated = attach_qc(&good);
    truncated.truncate(truncated.len() - 10);
    let mut oversized = attach_qc(&good);
    oversized.extend(core::iter::repeat_n(0u8, crate::auth::MAX_QC_LEN));
    let mut trailing = attach_qc(&good);
    trailing.push(0);
    let cases: Vec<(&str, Envelope, Vec<u8>, CertReject)> = vec![
        ("forged", hb("n1", 2), forged, CertReject::BadCertificate),
        ("non-voter key", hb("n1", 2), outsider, CertReject::BadCertificate),
        ("unknown signer", hb("n1", 2), unknown, CertReject::BadCertificate),
        ("below quorum", hb("n1", 2), short, CertReject::BadCertificate),
        ("duplicate signer", hb("n1", 2), duplicate, CertReject::MalformedAttachment),
        ("truncated", hb("n1", 2), truncated, CertReject::MalformedAttachment),
        ("oversized", hb("n1", 2), oversized, CertReject::MalformedAttachment),
        ("trailing", hb("n1", 2), trailing, CertReject::MalformedAttachment),
        ("wrong term", hb("n1", 3), attach_qc(&good), CertReject::WrongClaim),
        ("wrong candidate", hb("n2", 2), attach_qc(&good), CertReject::WrongClaim),
        ("wrong kind", rv("n1", 2), attach_qc(&good), CertReject::WrongClaim),
        ("replayed old certificate", hb("n1", 7), attach_qc(&good), CertReject::WrongClaim),
        ("unknown tag", hb("n1", 2), vec![9, 1, 2], CertReject::MalformedAttachment),
        ("bare tag with bytes", hb("n1", 2), vec![ATTACH_NONE, 1], CertReject::MalformedAttachment),
    ];
    let mut m = node(4, 0, EquivocationPolicy::default());
    let before = snapshot(&m);
    for (i, (what, e, a, reason)) in cases.iter().enumerate() {
        assert_eq!(m.step(now, e, a).unwrap(), Err(*reason), "{what}");
        assert_eq!(snapshot(&m), before, "{what}");
        assert_eq!(m.poll_hard_state(), None, "{what}");
        let total: u64 = CertReject::ALL.iter().map(|r| m.rejected(*r)).sum();
        assert_eq!(total, i as u64 + 1, "{what}: counted");
    }
    // The genuine certificate is accepted.
    assert_eq!(m.step(now, &hb("n1", 2), &attach_qc(&good)).unwrap(), Ok(()));
    assert_eq!(m.election().leader(), Some(&id("n1")));
    assert_eq!(m.leader_certificate(), Some(&good));
}

#[test]
fn grants_need_the_voters_own_signature() {
    let now = Instant::from_secs(5);
    let mut m = node(4, 0, EquivocationPolicy::default());
    m.campaign(now).unwrap();
    while m.poll_transmit().is_some() {}
    let grant = |from: &str| env(from, Body::PreVoteResponse(VoteResponse { term: 1, granted: true }));
    let before = snapshot(&m);
    let mut bad_sig = signed(VoteKind::PreVote, 1, "n0", "n1");
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    for (what, e, a, reason) in [
        ("no signature", grant("n1"), vec![ATTACH_NONE], CertReject::MissingVote),
        ("another voter's", grant("n1"), signed(VoteKind::PreVote, 1, "n0", "n2"), CertReject::WrongVote),
        ("a vote, not a pre-vote", grant("n1"), signed(VoteKind::PreVote, 2, "n0", "n1"), CertReject::WrongVote),
        ("another candidate", grant("n1"), signed(VoteKind::PreVote, 1, "n3", "n1"), CertReject::WrongVote),
        ("bad signature", grant("n1"), bad_sig, CertReject::BadVoteSignature),
        (
            "truncated",
            grant("n1"),
            signed(VoteKind::PreVote, 1, "n0", "n1")[..20].to_vec(),
            CertReject::MalformedAttachment,
        ),
    ] {
        assert_eq!(m.step(now, &e, &a).unwrap(), Err(reason), "{what}");
        assert_eq!(snapshot(&m), before, "{what}");
    }
    // One genuine grant counted once, however often it arrives.
    let ok = signed(VoteKind::PreVote, 1, "n0", "n1");
    for _ in 0..3 {
        assert_eq!(m.step(now, &grant("n1"), &ok).unwrap(), Ok(()));
    }
    assert_eq!(m.election().role(), Role::PreCandidate, "n0 and n1: two of a quorum of three");
    assert_eq!(m.step(now, &grant("n2"), &signed(VoteKind::PreVote, 1, "n0", "n2")).unwrap(), Ok(()));
    assert_eq!(m.election().role(), Role::Candidate);
    // Its vote request carries the pre-vote certificate of n0, n1, n2.
    while m.poll_hard_state().is_some() {}
    let t = m.poll_transmit().unwrap();
    assert_eq!(t.transmit.envelope.body, Body::RequestVote(VoteRequest { term: 1, progress: None }));
    assert_eq!(t.attachment[0], ATTACH_CERTIFICATE);
    let pre = QuorumCertificate::decode(&t.attachment[1..]).unwrap();
    assert_eq!((pre.kind(), pre.term(), pre.signers()), (VoteKind::PreVote, 1, 0b0111));
}

#[test]
fn a_double_voter_is_caught_and_ignored() {
    let mut a = caught(EquivocationPolicy::IgnoreForTerm);
    let now = Instant::from_secs(5);
    let vote = |t| env("n3", Body::VoteResponse(VoteResponse { term: t, granted: true }));
    // The policy: n3's grants are refused for the rest of term 1.
    assert_eq!(a.step(now, &vote(1), &signed(VoteKind::Vote, 1, "n0", "n3")).unwrap(), Err(CertReject::Equivocator));
    assert_eq!(a.rejected(CertReject::Equivocator), 1);
    assert_eq!(a.step(now, &vote(2), &signed(VoteKind::Vote, 2, "n0", "n3")).unwrap(), Ok(()), "term 2 is new");
    // For good.
    let mut a = caught(EquivocationPolicy::IgnoreForever);
    assert_eq!(a.step(now, &vote(2), &signed(VoteKind::Vote, 2, "n0", "n3")).unwrap(), Err(CertReject::Equivocator));
    // Reported only.
    let mut a = caught(EquivocationPolicy::KeepCounting);
    assert_eq!(a.step(now, &vote(1), &signed(VoteKind::Vote, 1, "n0", "n3")).unwrap(), Ok(()));
    assert_eq!(a.rejected(CertReject::Equivocator), 0);
}

/// n3 votes for n0 and n1 in term 1; n0 sees n1's leader certificate and
/// marks n3 as an equivocator. Returns n0.
fn caught(policy: EquivocationPolicy) -> C {
    caught_by(policy).0
}

#[test]
fn the_loser_discloses_and_the_leader_makes_the_evidence() {
    let now = Instant::from_secs(5);
    let (mut a, mut b) = caught_by(EquivocationPolicy::default());
    // n0's answer to n1's heartbeat carries n3's vote for n0.
    while a.poll_hard_state().is_some() {}
    let answer = core::iter::from_fn(|| a.poll_transmit())
        .find(|t| matches!(t.transmit.envelope.body, Body::HeartbeatResponse(_)))
        .unwrap();
    assert_eq!(answer.transmit.to, Some(id("n1")));
    assert_eq!(answer.attachment, disclosed(1, "n0", "n3"));
    assert_eq!(b.step(now, &answer.transmit.envelope, &answer.attachment).unwrap(), Ok(()));
    // n1 holds n3's vote for n1 in its builder: the record, verifiable offline.
    let e = b.poll_evidence().expect("evidence at the leader");
    assert_eq!((e.voter(), e.term()), (&id("n3"), 1));
    e.verify(&cluster_key(), &identity_of("n3").public()).unwrap();
    let (x, y) = e.votes();
    assert_eq!((&x.statement.candidate, &y.statement.candidate), (&id("n0"), &id("n1")));
    // Once per voter and term, however often it is disclosed.
    assert_eq!(b.step(now, &answer.transmit.envelope, &answer.attachment).unwrap(), Ok(()));
    assert!(b.poll_evidence().is_none(), "one record per equivocation");
    // Nothing more to disclose: the next answer carries nothing.
    a.step(now, &heartbeat_of(&mut b), &[ATTACH_NONE]).unwrap().unwrap();
    let next = core::iter::from_fn(|| a.poll_transmit())
        .find(|t| matches!(t.transmit.envelope.body, Body::HeartbeatResponse(_)))
        .unwrap();
    assert_eq!(next.attachment, [ATTACH_NONE]);
}

#[test]
fn bad_disclosures_change_nothing() {
    let now = Instant::from_secs(5);
    let (_, mut b) = caught_by(EquivocationPolicy::default());
    let resp = |from: &str| env(from, Body::HeartbeatResponse(HeartbeatResponse { term: 1 }));
    let mut forged = disclosed(1, "n0", "n3");
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let before = snapshot(&b);
    for (what, e, a, reason) in [
        ("forged signature", resp("n0"), forged, CertReject::BadVoteSignature),
        ("a vote for another than the sender", resp("n2"), disclosed(1, "n0", "n3"), CertReject::WrongVote),
        ("a vote for the recipient", resp("n0"), disclosed(1, "n1", "n3"), CertReject::WrongVote),
        ("a vote by a non-voter", resp("n0"), disclosed(1, "n0", "n9"), CertReject::WrongVote),
        ("a pre-vote", resp("n0"), disclosed_kind(VoteKind::PreVote, 1, "n0", "n3"), CertReject::WrongVote),
        (
            "not on a heartbeat response",
            env("n0", Body::VoteResponse(VoteResponse { term: 1, granted: false })),
            disclosed(1, "n0", "n3"),
            CertReject::WrongVote,
        ),
        ("truncated", resp("n0"), disclosed(1, "n0", "n3")[..40].to_vec(), CertReject::MalformedAttachment),
    ] {
        assert_eq!(b.step(now, &e, &a).unwrap(), Err(reason), "{what}");
        assert_eq!(snapshot(&b), before, "{what}");
        assert!(b.poll_evidence().is_none(), "{what}");
    }
    // A valid vote of another term than its builder's (term 1) pairs with nothing.
    assert_eq!(b.step(now, &resp("n0"), &disclosed(2, "n0", "n2")).unwrap(), Ok(()));
    assert!(b.poll_evidence().is_none());
}

fn disclosed(term: u64, candidate: &str, voter: &str) -> Vec<u8> {
    disclosed_kind(VoteKind::Vote, term, candidate, voter)
}

fn disclosed_kind(kind: VoteKind, term: u64, candidate: &str, voter: &str) -> Vec<u8> {
    let mut out = signed(kind, term, candidate, voter);
    out[0] = ATTACH_DISCLOSURE;
    out
}

/// `m`'s next heartbeat.
fn heartbeat_of(m: &mut C) -> Envelope {
    heartbeat_with_attachment(m).transmit.envelope
}

/// [`caught`], with n1 (the leader) as well.
fn caught_by(policy: EquivocationPolicy) -> (C, C) {
    let now = Instant::from_secs(5);
    let (mut a, mut b) = (node(4, 0, policy), node(4, 1, EquivocationPolicy::default()));
    // Both pre-campaign for term 1 with pre-votes from n2 and the liar n3.
    for (m, me) in [(&mut a, "n0"), (&mut b, "n1")] {
        m.campaign(now).unwrap();
        for v in ["n2", "n3"] {
            let e = env(v, Body::PreVoteResponse(VoteResponse { term: 1, granted: true }));
            assert_eq!(m.step(now, &e, &signed(VoteKind::PreVote, 1, me, v)).unwrap(), Ok(()));
        }
        assert_eq!(m.election().role(), Role::Candidate);
    }
    // n3 votes for both; honest n2 only for n1.
    let vote = |v: &str| env(v, Body::VoteResponse(VoteResponse { term: 1, granted: true }));
    assert_eq!(a.step(now, &vote("n3"), &signed(VoteKind::Vote, 1, "n0", "n3")).unwrap(), Ok(()));
    for v in ["n2", "n3"] {
        assert_eq!(b.step(now, &vote(v), &signed(VoteKind::Vote, 1, "n1", v)).unwrap(), Ok(()));
    }
    assert!(b.election().is_leader() && !a.election().is_leader());
    // n1's heartbeat with its certificate reaches n0: n3's two votes meet.
    while b.poll_hard_state().is_some() {}
    let hb = core::iter::from_fn(|| b.poll_transmit())
        .find(|t| matches!(t.transmit.envelope.body, Body::LeaderHeartbeat(_)))
        .unwrap();
    assert_eq!(a.step(now, &hb.transmit.envelope, &hb.attachment).unwrap(), Ok(()));
    assert_eq!(a.election().leader(), Some(&id("n1")), "n0 concedes to the certified leader");
    // The certificate's signatures are half-aggregated: n3 is caught (the
    // callers check the policy applies) but n0 cannot make the record,
    // n3's full signature for n1 not being in it: n1 makes it from n0's
    // disclosure (`the_loser_discloses_and_the_leader_makes_the_evidence`).
    assert!(a.poll_evidence().is_none(), "no evidence from an aggregate");
    (a, b)
}

#[test]
fn a_lagging_node_catches_up_from_a_certified_refusal() {
    let now = Instant::from_secs(5);
    let mut nodes: Vec<C> = (0..4).map(|i| node(4, i, EquivocationPolicy::default())).collect();
    nodes[0].campaign(now).unwrap();
    assert!(run(&mut nodes[..3], now).is_empty()); // n3 hears nothing
    assert_eq!(nodes[3].election().term(), 0);
    // n3 times out and asks for pre-votes for term 1; n1 is at term 1 and
    // refuses with a certificate for term 1, which n3 adopts.
    nodes[3].campaign(now + Duration::from_secs(10)).unwrap();
    let later = now + Duration::from_secs(10);
    let t = nodes[3].poll_transmit().unwrap();
    nodes[1].step(later, &t.transmit.envelope, &t.attachment).unwrap().unwrap();
    let answer = nodes[1].poll_transmit().unwrap();
    assert_eq!(answer.attachment[0], ATTACH_CERTIFICATE);
    nodes[3].step(later, &answer.transmit.envelope, &answer.attachment).unwrap().unwrap();
    assert_eq!(nodes[3].election().term(), 1);
}

#[test]
fn several_double_voters_are_disclosed_one_per_answer() {
    // Seven voters, f = 2 (quorum 5): n5 and n6 vote for n0 and for n1.
    let now = Instant::from_secs(5);
    let (mut a, mut b) = (node(7, 0, EquivocationPolicy::default()), node(7, 1, EquivocationPolicy::default()));
    for (m, me, pre) in [(&mut a, "n0", ["n2", "n3", "n4", "n5"]), (&mut b, "n1", ["n2", "n3", "n4", "n5"])] {
        m.campaign(now).unwrap();
        for v in pre {
            let e = env(v, Body::PreVoteResponse(VoteResponse { term: 1, granted: true }));
            assert_eq!(m.step(now, &e, &signed(VoteKind::PreVote, 1, me, v)).unwrap(), Ok(()));
        }
        assert_eq!(m.election().role(), Role::Candidate);
    }
    let vote = |v: &str| env(v, Body::VoteResponse(VoteResponse { term: 1, granted: true }));
    for v in ["n5", "n6"] {
        assert_eq!(a.step(now, &vote(v), &signed(VoteKind::Vote, 1, "n0", v)).unwrap(), Ok(()));
    }
    for v in ["n2", "n3", "n5", "n6"] {
        assert_eq!(b.step(now, &vote(v), &signed(VoteKind::Vote, 1, "n1", v)).unwrap(), Ok(()));
    }
    assert!(b.election().is_leader() && !a.election().is_leader());
    let mut recorded = Vec::new();
    for round in 0..3 {
        let hb = heartbeat_with_attachment(&mut b);
        assert_eq!(a.step(now, &hb.transmit.envelope, &hb.attachment).unwrap(), Ok(()), "round {round}");
        while a.poll_hard_state().is_some() {}
        let answer = core::iter::from_fn(|| a.poll_transmit())
            .find(|t| matches!(t.transmit.envelope.body, Body::HeartbeatResponse(_)))
            .unwrap();
        assert_eq!(b.step(now, &answer.transmit.envelope, &answer.attachment).unwrap(), Ok(()));
        while let Some(e) = b.poll_evidence() {
            recorded.push(e.voter().clone());
        }
    }
    assert_eq!(recorded, [id("n5"), id("n6")]);
}

/// `m`'s next heartbeat with its attachment.
fn heartbeat_with_attachment(m: &mut C) -> CertifiedTransmit {
    m.tick(m.poll_timeout());
    while m.poll_hard_state().is_some() {}
    core::iter::from_fn(|| m.poll_transmit())
        .find(|t| matches!(t.transmit.envelope.body, Body::LeaderHeartbeat(_)))
        .unwrap()
}

#[test]
fn the_equivocator_table_keeps_one_entry_per_voter() {
    let mut a = node(4, 0, EquivocationPolicy::IgnoreForTerm);
    for term in 1..=1000 {
        assert!(!a.mark_equivocator(3, term, false), "no record made: none due");
        assert!(a.mark_equivocator(3, term, true), "term {term}: the first record is due");
        assert!(!a.mark_equivocator(3, term, true), "term {term}: once per voter and term");
    }
    assert!(!a.mark_equivocator(3, 7, true), "an older term changes nothing");
    assert_eq!(a.equivocators.len(), 1, "bounded by the voters, not the terms");
    assert!(a.ignores(3, 1000) && !a.ignores(3, 999) && !a.ignores(2, 1000));
    let mut a = node(4, 0, EquivocationPolicy::IgnoreForever);
    a.mark_equivocator(3, 5, false);
    assert!(a.ignores(3, 1) && a.ignores(3, 9));
}
