//! The Byzantine fault model through the node: a supervisor that
//! holds a valid key and lies. Each attack builds a node in a known state,
//! delivers the liar's datagram (genuinely sealed by a member: only the
//! proof it carries is wrong), and asserts with [`strike`] that it was
//! refused as [`RejectReason::Uncertified`], counted, and that the node's
//! state is what it was. Four supervisors s1..s4 tolerate one Byzantine
//! (`f = 1`, quorum 3).

use super::attacks::{Outcome, drain, strike};
use super::tests::*;
use super::*;
use crate::auth::{IdentityKey, QuorumCertificate, SignedCertificate, SignedVote, VoteKind, VoteStatement};
use crate::election::{ATTACH_CERTIFICATE, ATTACH_DISCLOSURE, ATTACH_VOTE, FaultModel, Role as ElectionRole};
use crate::time::Duration;
use crate::wire::{HeartbeatResponse, LeaderHeartbeat, TaskTable, VoteRequest, VoteResponse};
use crate::workers::TaskRole;
use std::vec;
use std::vec::Vec as StdVec;

const SUPS: [&str; 4] = ["s1", "s2", "s3", "s4"];
const UNCERTIFIED: Outcome = Outcome::Refused(RejectReason::Uncertified);

fn config() -> OpsConfig {
    let mut c = OpsConfig::default();
    c.election.fault_model = FaultModel::Byzantine { f: 1 };
    c
}

/// Node `me` in `role` among s1..s4 under the Byzantine fault model, started
/// at 1 s, every supervisor but itself joined. Returns the node and the peers.
fn byzantine_node(me: &str, role: NodeRole) -> (Box<Node>, StdVec<Peer>, Instant) {
    let sups: StdVec<NodeId> = SUPS.iter().map(|s| id(s)).collect();
    let mut n = Node::new_boxed(id(me), role, &sups, config(), 1, credentials_of(me, role)).unwrap();
    let now = Instant::from_secs(1);
    n.start(now).unwrap();
    let peers = SUPS.iter().filter(|s| **s != me).map(|s| joined(&mut n, now, s, NodeRole::Supervisor)).collect();
    drain(&mut n);
    (n, peers, now)
}

fn voters() -> StdVec<(NodeId, crate::auth::PublicIdentity)> {
    let mut v: StdVec<_> = SUPS.iter().map(|s| (id(s), identity_of(s).public())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn vote(kind: VoteKind, term: u64, candidate: &str, voter: &str) -> SignedVote {
    VoteStatement { kind, term, candidate: id(candidate), voter: id(voter) }
        .signed(&identity_of(voter), &authority().public())
}

/// A certificate of `kind` for `candidate` in `term` signed by `signers`
/// (any number: a short one too).
fn qc(kind: VoteKind, term: u64, candidate: &str, signers: &[&str]) -> QuorumCertificate {
    let mut b = QuorumCertificate::builder(kind, term, id(candidate));
    for s in signers {
        b.push(&vote(kind, term, candidate, s), &authority().public(), voters().as_slice()).unwrap();
    }
    b.finish(1).unwrap()
}

fn encoded(qc: &QuorumCertificate) -> StdVec<u8> {
    let mut buf = vec![0u8; qc.encoded_len()];
    let n = qc.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// The attachment carrying `bytes` as a certificate.
fn attach(bytes: &[u8]) -> StdVec<u8> {
    let mut a = vec![ATTACH_CERTIFICATE];
    a.extend_from_slice(bytes);
    a
}

fn leader_cert(term: u64, candidate: &str) -> StdVec<u8> {
    attach(&encoded(&qc(VoteKind::Vote, term, candidate, &["s1", "s2", "s3"])))
}

fn signed_vote(v: &SignedVote) -> StdVec<u8> {
    let mut buf = vec![0u8; v.encoded_len()];
    let n = v.encode(&mut buf).unwrap();
    let mut a = vec![ATTACH_VOTE];
    a.extend_from_slice(&buf[..n]);
    a
}

fn peer<'a>(peers: &'a mut [Peer], name: &str) -> &'a mut Peer {
    peers.iter_mut().find(|p| p.id.as_str() == name).unwrap()
}

fn assignment(term: u64) -> Body {
    Body::TaskAssignment(TaskAssignment {
        term,
        task: TaskId::new("t").unwrap(),
        task_type: train(),
        role: TaskRole::Primary,
        checkpoint: None,
    })
}

#[test]
fn a_worker_follows_a_leader_only_with_a_verified_certificate() {
    let (mut n, mut peers, now) = byzantine_node("w", NodeRole::Worker);
    let s1 = peer(&mut peers, "s1");
    let notice = Body::LeaderNotice(LeaderNotice { term: 2 });
    strike("a notice without certificate", &mut n, now, &s1.say(notice.clone()), UNCERTIFIED);
    strike("an assignment without certificate", &mut n, now, &s1.say(assignment(2)), UNCERTIFIED);
    n.handle_message(now, &s1.say_with(notice.clone(), &leader_cert(2, "s1"))).unwrap();
    assert_eq!(n.leader().map(|(l, t)| (l.clone(), t)), Some((id("s1"), 2)));
    // The verified certificate is kept: the same leader and term need none.
    n.handle_message(now, &s1.say(assignment(2))).unwrap();
    assert_eq!(n.held_tasks().count(), 1);
    n.handle_message(now, &s1.say(notice)).unwrap();
    let hb = |leading| {
        Body::Heartbeat(Heartbeat {
            sequence: 1,
            sent_at: now,
            metrics: Default::default(),
            leading,
            held: heapless::Vec::new(),
            echo: None,
        })
    };
    n.handle_message(now, &s1.say(hb(2))).unwrap();
    // Another supervisor claiming a later term needs its own certificate.
    let s2 = peer(&mut peers, "s2");
    strike("a later term without certificate", &mut n, now, &s2.say(assignment(3)), UNCERTIFIED);
    strike("a heartbeat leading a later term", &mut n, now, &s2.say(hb(3)), UNCERTIFIED);
    n.handle_message(now, &s2.say_with(Body::LeaderNotice(LeaderNotice { term: 3 }), &leader_cert(3, "s2"))).unwrap();
    assert_eq!(n.leader().map(|(l, t)| (l.clone(), t)), Some((id("s2"), 3)));
    assert_eq!(n.counters().rejected.get(RejectReason::Uncertified), 4);
}

#[test]
fn bad_certificates_change_nothing_at_a_worker() {
    let (mut n, mut peers, now) = byzantine_node("w", NodeRole::Worker);
    let good = encoded(&qc(VoteKind::Vote, 5, "s2", &["s1", "s2", "s3"]));
    let mut forged = good.clone();
    *forged.last_mut().unwrap() ^= 1;
    // w2's key signing in s3's place: a signer that is no voter.
    let mut b = QuorumCertificate::builder(VoteKind::Vote, 5, id("s2"));
    let mut with_outsider = voters();
    with_outsider.iter_mut().find(|(i, _)| i.as_str() == "s3").unwrap().1 = identity_of("w2").public();
    for (s, key) in [("s1", "s1"), ("s2", "s2"), ("s3", "w2")] {
        let v = VoteStatement { kind: VoteKind::Vote, term: 5, candidate: id("s2"), voter: id(s) }
            .signed(&identity_of(key), &authority().public());
        b.push(&v, &authority().public(), with_outsider.as_slice()).unwrap();
    }
    let non_voter = encoded(&b.finish(1).unwrap());
    // s1's share counted twice: the bitmap names s1, s2 and s3, s3's nonce
    // is s1's again (the aggregate kept).
    let mut duplicate = good.clone();
    let nonces = duplicate.len() - 4 * 32;
    let s1_nonce: StdVec<u8> = duplicate[nonces..nonces + 32].to_vec();
    duplicate[nonces + 64..nonces + 96].copy_from_slice(&s1_nonce);
    let short = encoded(&qc(VoteKind::Vote, 5, "s2", &["s2", "s3"]));
    let mut truncated = good.clone();
    truncated.pop();
    let mut trailing = good.clone();
    trailing.push(0);
    let oversized = vec![0xAB; crate::auth::MAX_QC_LEN + 1];
    let cases: [(&str, StdVec<u8>, u64); 10] = [
        ("forged certificate", attach(&forged), 5),
        ("certificate for another term", leader_cert(4, "s2"), 5),
        ("certificate for another candidate", leader_cert(5, "s3"), 5),
        ("pre-vote certificate", attach(&encoded(&qc(VoteKind::PreVote, 5, "s2", &["s1", "s2", "s3"]))), 5),
        ("signer that is no voter", attach(&non_voter), 5),
        ("duplicate signer", attach(&duplicate), 5),
        ("short of a quorum", attach(&short), 5),
        ("truncated certificate", attach(&truncated), 5),
        ("oversized certificate", attach(&oversized), 5),
        ("certificate with trailing bytes", attach(&trailing), 5),
    ];
    let s2 = peer(&mut peers, "s2");
    for (attack, attachment, term) in cases {
        let notice = s2.say_with(Body::LeaderNotice(LeaderNotice { term }), &attachment);
        strike(attack, &mut n, now, &notice, UNCERTIFIED);
        strike(attack, &mut n, now, &s2.say_with(assignment(term), &attachment), UNCERTIFIED);
    }
    strike(
        "a vote where a certificate goes",
        &mut n,
        now,
        &s2.say_with(Body::LeaderNotice(LeaderNotice { term: 5 }), &signed_vote(&vote(VoteKind::Vote, 5, "s2", "s1"))),
        UNCERTIFIED,
    );
    // Term inflation without proof, up to the last term.
    for term in [6, u64::MAX] {
        strike(
            "uncertified term inflation",
            &mut n,
            now,
            &s2.say(Body::LeaderNotice(LeaderNotice { term })),
            UNCERTIFIED,
        );
        strike("uncertified term inflation", &mut n, now, &s2.say(assignment(term)), UNCERTIFIED);
    }
    assert_eq!(n.leader(), None);
    // The genuine certificate still works afterwards.
    n.handle_message(now, &s2.say_with(Body::LeaderNotice(LeaderNotice { term: 5 }), &attach(&good))).unwrap();
    assert_eq!(n.leader().map(|(l, t)| (l.clone(), t)), Some((id("s2"), 5)));
}

#[test]
fn uncertified_election_messages_change_nothing_at_a_supervisor() {
    let (mut n, mut peers, now) = byzantine_node("s1", NodeRole::Supervisor);
    let s2 = peer(&mut peers, "s2");
    let cases: StdVec<(&str, Body, StdVec<u8>)> = vec![
        (
            "vote request without pre-vote certificate",
            Body::RequestVote(VoteRequest { term: 7, progress: None }),
            vec![],
        ),
        ("vote request for the last term", Body::RequestVote(VoteRequest { term: u64::MAX, progress: None }), vec![]),
        (
            "vote request with a certificate for another candidate",
            Body::RequestVote(VoteRequest { term: 7, progress: None }),
            attach(&encoded(&qc(VoteKind::PreVote, 7, "s3", &["s1", "s3", "s4"]))),
        ),
        (
            "vote request with a short pre-vote certificate",
            Body::RequestVote(VoteRequest { term: 7, progress: None }),
            attach(&encoded(&qc(VoteKind::PreVote, 7, "s2", &["s2", "s4"]))),
        ),
        ("leader heartbeat without certificate", Body::LeaderHeartbeat(LeaderHeartbeat { term: 7 }), vec![]),
        ("leader heartbeat for the last term", Body::LeaderHeartbeat(LeaderHeartbeat { term: u64::MAX }), vec![]),
        ("leader heartbeat with a forged certificate", Body::LeaderHeartbeat(LeaderHeartbeat { term: 7 }), {
            let mut b = encoded(&qc(VoteKind::Vote, 7, "s2", &["s2", "s3", "s4"]));
            *b.last_mut().unwrap() ^= 0x80;
            attach(&b)
        }),
        ("a grant without its signed vote", Body::VoteResponse(VoteResponse { term: 1, granted: true }), vec![]),
        (
            "a grant signed by another voter",
            Body::VoteResponse(VoteResponse { term: 1, granted: true }),
            signed_vote(&vote(VoteKind::Vote, 1, "s1", "s3")),
        ),
        (
            "a task table for a term without certificate",
            Body::TaskTable(TaskTable { term: 7, entries: heapless::Vec::new() }),
            vec![],
        ),
        ("a notice for a term without certificate", Body::LeaderNotice(LeaderNotice { term: 7 }), vec![]),
    ];
    for (attack, body, attachment) in cases {
        let bytes = s2.say_with(body, &attachment);
        strike(attack, &mut n, now, &bytes, UNCERTIFIED);
    }
    assert_eq!(n.election().unwrap().term(), 0, "no term inflated");
    // A refusal naming a higher term, without proof, is not adopted either.
    let bytes = s2.say(Body::HeartbeatResponse(HeartbeatResponse { term: u64::MAX }));
    let _ = n.handle_message(now, &bytes);
    assert_eq!(n.election().unwrap().term(), 0, "no term adopted from an answer");
}

/// Elects `n` (s1) with signed grants from s2 and s3; returns the time.
/// What it sends on winning is left to poll.
fn elect(n: &mut Node, peers: &mut [Peer], mut now: Instant) -> Instant {
    for _ in 0..2000 {
        now += Duration::from_millis(10);
        n.tick(now);
        drain(n);
        let Some(e) = n.election() else { break };
        let (body, kind, term) = match e.role() {
            ElectionRole::PreCandidate => {
                let t = e.term() + 1;
                (Body::PreVoteResponse(VoteResponse { term: t, granted: true }), VoteKind::PreVote, t)
            }
            ElectionRole::Candidate => {
                (Body::VoteResponse(VoteResponse { term: e.term(), granted: true }), VoteKind::Vote, e.term())
            }
            ElectionRole::Leader => break,
            ElectionRole::Follower => continue,
        };
        for v in ["s2", "s3"] {
            let a = signed_vote(&vote(kind, term, "s1", v));
            n.handle_message(now, &peer(peers, v).say_with(body.clone(), &a)).unwrap();
        }
        if n.is_leader() {
            // What it sends as the new leader is left for the caller.
            break;
        }
        drain(n);
    }
    assert!(n.is_leader(), "s1 was not elected");
    now
}

#[test]
fn a_certified_leader_attaches_its_certificate_and_pairs_disclosed_votes() {
    let (mut n, mut peers, now) = byzantine_node("s1", NodeRole::Supervisor);
    let (mut w, _, _) = byzantine_node("w", NodeRole::Worker);
    n.handle_message(now, &Peer::new("w", NodeRole::Worker).join()).unwrap();
    let now = elect(&mut n, &mut peers, now);
    let term = n.election().unwrap().term();
    // Its notice carries its leader certificate, which the worker verifies.
    // The certificate's header: version, kind vote, the term, candidate "s1".
    let mut header = StdVec::from([crate::auth::quorum::QC_VERSION, VoteKind::Vote.byte()]);
    header.extend_from_slice(&term.to_le_bytes());
    header.extend_from_slice(&[2, b's', b'1']);
    let mut certified = 0;
    while let Some(t) = n.poll_transmit() {
        if t.to == id("w") {
            w.handle_message(now, &t.bytes).unwrap();
            certified += usize::from(t.bytes.windows(header.len()).any(|h| h == header));
        }
    }
    assert!(certified > 0, "the notice carries the certificate");
    assert_eq!(w.leader().map(|(l, t)| (l.clone(), t)), Some((id("s1"), term)), "the worker follows s1");
    assert_eq!(w.counters().rejected.get(RejectReason::Uncertified), 0);
    // s2 and s3 voted for s1 in `term`. A certificate for s4 in the same
    // term signed by them is two votes by one voter in one term, but its
    // signatures are half-aggregated: it holds no full signature of theirs
    // for s4, so no transferable evidence (and no event) comes of it here.
    let other = encoded(&qc(VoteKind::Vote, term, "s4", &["s2", "s3", "s4"]));
    let bytes = peer(&mut peers, "s4").say_with(Body::HeartbeatResponse(HeartbeatResponse { term }), &attach(&other));
    n.handle_message(now, &bytes).unwrap();
    assert!(equivocations(&mut n, term).is_empty(), "no evidence from an aggregate");
    // s4, which holds their full votes for itself, discloses them on its
    // heartbeat responses: s1 pairs each with the vote for s1 it holds.
    for v in ["s2", "s3"] {
        let mut disclosure = signed_vote(&vote(VoteKind::Vote, term, "s4", v));
        disclosure[0] = ATTACH_DISCLOSURE;
        let bytes = peer(&mut peers, "s4").say_with(Body::HeartbeatResponse(HeartbeatResponse { term }), &disclosure);
        n.handle_message(now, &bytes).unwrap();
    }
    let evidence = equivocations(&mut n, term);
    assert_eq!(evidence.len(), 2, "s2 and s3 both equivocated: {evidence:?}");
    for (voter, bytes) in evidence {
        let e = crate::auth::EquivocationEvidence::decode(&bytes).unwrap();
        assert_eq!(e.voter(), &voter);
        e.verify(&authority().public(), &identity_of(voter.as_str()).public()).unwrap();
        let (a, b) = e.votes();
        assert_eq!((&a.statement.candidate, &b.statement.candidate), (&id("s1"), &id("s4")));
    }
    assert_eq!(n.counters().rejected.get(RejectReason::Uncertified), 0);
}

/// The equivocation events `n` emitted, for `term`: (voter, evidence bytes).
fn equivocations(n: &mut Node, term: u64) -> StdVec<(NodeId, StdVec<u8>)> {
    let mut evidence = StdVec::new();
    while let Some(e) = n.poll_event() {
        if let OpsEventKind::Equivocation { term: t, evidence: bytes } = e.kind {
            assert_eq!(t, term);
            evidence.push((e.node, bytes.to_vec()));
        }
    }
    evidence
}

/// A voucher passing on `of`'s certificate as `role` holds it.
fn voucher_of(certificate: &[u8]) -> Body {
    Body::Voucher(crate::wire::Voucher { certificate: heapless::Vec::from_slice(certificate).unwrap() })
}

/// `name`'s encoded certificate in `role`, from `issuer` (the authority, or a rogue one).
fn certificate_bytes(name: &str, role: NodeRole, issuer: &IdentityKey) -> StdVec<u8> {
    let signed = SignedCertificate::issue(issuer, certificate_of(name, role)).unwrap();
    let mut buf = vec![0u8; signed.encoded_len()];
    let n = signed.encode(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn a_voucher_lets_a_node_check_a_leader_certificate_a_silent_voter_co_signed() {
    // Seed 681 of the Byzantine node sweep: the liar never answered a
    // restarted supervisor's joins, so that supervisor never held the
    // liar's key, could not check the leader certificate the liar had
    // co-signed, and never followed the leader (liveness bound missed).
    let sups: StdVec<NodeId> = SUPS.iter().map(|s| id(s)).collect();
    let mut n =
        Node::new_boxed(id("w"), NodeRole::Worker, &sups, config(), 1, credentials_of("w", NodeRole::Worker)).unwrap();
    let now = Instant::from_secs(1);
    n.start(now).unwrap();
    // s3 is the silent voter: it never joins here.
    let mut s1 = joined(&mut n, now, "s1", NodeRole::Supervisor);
    let mut s2 = joined(&mut n, now, "s2", NodeRole::Supervisor);
    let _s4 = joined(&mut n, now, "s4", NodeRole::Supervisor);
    let mut w2 = joined(&mut n, now, "w2", NodeRole::Worker);
    drain(&mut n);
    let notice = Body::LeaderNotice(LeaderNotice { term: 2 });
    strike(
        "a certificate with a signer whose key is unknown",
        &mut n,
        now,
        &s1.say_with(notice.clone(), &leader_cert(2, "s1")),
        UNCERTIFIED,
    );

    let genuine = certificate_bytes("s3", NodeRole::Supervisor, &authority());
    let mut forged = genuine.clone();
    *forged.last_mut().unwrap() ^= 1;
    let rogue = certificate_bytes("s3", NodeRole::Supervisor, &IdentityKey::from_seed(&[0x77; 32]));
    let mut truncated = genuine.clone();
    truncated.pop();
    let refused = |r| Outcome::Refused(r);
    let cases: [(&str, bool, StdVec<u8>, Outcome); 6] = [
        ("a voucher from a worker", true, genuine.clone(), refused(RejectReason::NotAuthorized)),
        (
            "a voucher for a non-voter",
            false,
            certificate_bytes("w2", NodeRole::Worker, &authority()),
            refused(RejectReason::NotAuthorized),
        ),
        (
            "a voter's certificate as a worker",
            false,
            certificate_bytes("s3", NodeRole::Worker, &authority()),
            refused(RejectReason::WrongRole),
        ),
        ("a forged authority signature", false, forged, refused(RejectReason::WrongAuthority)),
        ("another authority's certificate", false, rogue, refused(RejectReason::WrongAuthority)),
        ("a truncated certificate", false, truncated, refused(RejectReason::BadCertificate)),
    ];
    for (attack, from_worker, certificate, outcome) in cases {
        let from = if from_worker { &mut w2 } else { &mut s2 };
        strike(attack, &mut n, now, &from.say(voucher_of(&certificate)), outcome);
        // And it taught nothing: the certificate still cannot be checked.
        strike(attack, &mut n, now, &s1.say_with(notice.clone(), &leader_cert(2, "s1")), UNCERTIFIED);
    }
    // A genuine voucher from another voter teaches s3's key, nothing more.
    let peers_before = n.members().count();
    n.handle_message(now, &s2.say(voucher_of(&genuine))).unwrap();
    assert_eq!(n.members().count(), peers_before, "a voucher admitted its voter");
    n.handle_message(now, &s1.say_with(notice, &leader_cert(2, "s1"))).unwrap();
    assert_eq!(n.leader().map(|(l, t)| (l.clone(), t)), Some((id("s1"), 2)));
    // The same voucher again teaches nothing new: ignored, no signature checked.
    strike("a repeated voucher", &mut n, now, &s2.say(voucher_of(&genuine)), Outcome::Ignored);
}

/// The vouchers among `sent` to `to`: the voters whose certificates they carry.
fn vouchers_to(n: &mut Node, to: &str) -> StdVec<NodeId> {
    let mut v = StdVec::new();
    while let Some(t) = n.poll_transmit() {
        let u = crate::auth::seal::parse(&t.bytes).unwrap();
        if let (true, Ok((Body::Voucher(v0), _))) = (t.to == id(to), Body::decode_prefix(u.body)) {
            v.push(SignedCertificate::decode(&v0.certificate).unwrap().certificate_unverified().node.clone());
        }
    }
    v.sort();
    v
}

#[test]
fn a_supervisor_answers_a_rejoin_with_the_other_voters_certificates_in_byzantine_mode_only() {
    for byzantine in [true, false] {
        let sups: StdVec<NodeId> = SUPS.iter().map(|s| id(s)).collect();
        let c = if byzantine { config() } else { OpsConfig::default() };
        let mut n =
            Node::new_boxed(id("s1"), NodeRole::Supervisor, &sups, c, 1, credentials_of("s1", NodeRole::Supervisor))
                .unwrap();
        let now = Instant::from_secs(1);
        n.start(now).unwrap();
        let _s2 = joined(&mut n, now, "s2", NodeRole::Supervisor);
        let _w = joined(&mut n, now, "w", NodeRole::Worker);
        // s3's first join is answered with the certificate of s2, the one
        // other voter admitted so far (never a worker's, nor its own).
        drain(&mut n);
        let mut s3 = Peer::new("s3", NodeRole::Supervisor);
        n.handle_message(now, &s3.join()).unwrap();
        let expected = |v: &[&str]| if byzantine { v.iter().map(|s| id(s)).collect() } else { StdVec::new() };
        assert_eq!(vouchers_to(&mut n, "s3"), expected(&["s2"]), "byzantine: {byzantine}");
        let _s4 = joined(&mut n, now, "s4", NodeRole::Supervisor);
        drain(&mut n);
        // s3 restarts (a join from a newer boot) a heartbeat later: it learns s2's and s4's.
        let later = now + Duration::from_secs(2);
        let certificate = heapless::Vec::from_slice(&s3.certificate).unwrap();
        n.handle_message(later, &s3.say_in(2, Body::Membership(Membership { joining: true, certificate }))).unwrap();
        assert_eq!(vouchers_to(&mut n, "s3"), expected(&["s2", "s4"]), "byzantine: {byzantine}");
    }
}
