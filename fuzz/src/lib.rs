//! The checks behind the fuzz targets, shared with `core/tests/fuzz_corpus.rs`
//! (which includes this file) so the committed corpus replays under `cargo test`.
//!
//! Decoding must be total (an error, never a panic) and bounded; what decodes
//! must satisfy the format's invariants.

use pouw_netops::history::merkle::{self, InclusionProof, Path};
use pouw_netops::history::{BatchView, Query, columnar};
use pouw_netops::{Batch, Envelope};

/// The raw-length cap the targets decode with.
pub const MAX_RAW_LEN: usize = 1 << 20;

/// Parses, inflates and validates arbitrary bytes as a history batch.
pub fn batch_decode(data: &[u8]) {
    let Ok(view) = BatchView::parse(data, MAX_RAW_LEN) else { return };
    let h = *view.header();
    assert!(h.raw_len as usize <= MAX_RAW_LEN && h.count >= 1 && h.first <= h.last);
    // Inflating writes only the declared length (raw records for v1, the
    // columnar body for v2): the guard bytes after it stay untouched.
    let inflate_len = h.log.map_or(h.raw_len, |l| l.body_len) as usize;
    let mut scratch = vec![0xa5u8; h.scratch_len().max(inflate_len) + 64];
    let inflated = view.inflate_into(&mut scratch).map(<[u8]>::len);
    assert!(scratch[inflate_len..].iter().all(|&b| b == 0xa5), "inflate wrote past the declared length");
    if let Ok(n) = inflated {
        assert_eq!(n, inflate_len);
    }
    let Ok(count) = view.validate(&mut scratch) else { return };
    assert_eq!(count, h.count);
    // A valid batch: every record lies in the header's range and is found by the
    // header's skip test, and re-compressing the records gives the same records.
    let records: Vec<_> = view.records(&mut scratch).unwrap().map(Result::unwrap).collect();
    for r in &records {
        let q =
            Query { start: r.timestamp, end: r.timestamp, message_type: Some(r.message_type), sender: Some(r.sender) };
        assert!(q.may_match(&h) && q.matches(r));
    }
    let again = Batch::from_records(h.id, h.sealed_at, 1, &records).unwrap();
    let owned = Batch::from_bytes(data, MAX_RAW_LEN).unwrap().records().unwrap();
    assert_eq!(again.records().unwrap(), owned);
    // The header's summary covers at least the bits of the records' own summary.
    let (ours, theirs) = (again.header().summary, h.summary);
    assert!(ours.as_bytes().iter().zip(theirs.as_bytes()).all(|(o, t)| o & !t == 0));
    // A valid v2 batch's root is the root of its records, whoever encoded them.
    if let Some(log) = h.log {
        assert_eq!(again.header().log.unwrap().batch_root, log.batch_root);
        assert!(view.log_root_before().is_some() && view.log_root_after().is_some());
    }
}

/// Decodes arbitrary bytes as a columnar body of each version that has one (2
/// and 3; the first 4 bytes choose the record count and dictionary size): an
/// error or exactly the declared output, never a write past the buffer.
pub fn columnar_decode(data: &[u8]) {
    let Some((head, body)) = data.split_first_chunk::<4>() else { return };
    let count = u32::from(head[0]) + 1;
    let dict_entries = u32::from(head[1]) + 2;
    let out_len = usize::from(u16::from_le_bytes([head[2], head[3]]));
    for version in [2, 3] {
        let mut table = vec![0u8; columnar::table_len(dict_entries)];
        let mut out = vec![0x5au8; out_len + 16];
        let shape = columnar::Shape { version, count, dict_entries, first: 0 };
        let _ = columnar::decode(body, shape, &mut table, &mut out[..out_len]);
        assert!(out[out_len..].iter().all(|&b| b == 0x5a), "decode wrote past its buffer");
    }
}

/// Arbitrary bytes as proofs: `[n, inclusion proof (n bytes), root (32), record]`,
/// and the same bytes as a consistency proof `[sizes (16), roots (64), path]`.
/// Verification is total; an accepted proof fails against any other root.
pub fn proof_verify(data: &[u8]) {
    if let Some((&n, rest)) = data.split_first()
        && let Some((proof, rest)) = rest.split_at_checked(usize::from(n))
        && let Some((root, record)) = rest.split_first_chunk::<32>()
        && merkle::verify_record(proof, record, root).is_ok()
    {
        let mut other = *root;
        other[0] ^= 1;
        assert!(merkle::verify_record(proof, record, &other).is_err());
        assert!(InclusionProof::parse(proof).is_ok());
    }
    if let Some((sizes, rest)) = data.split_first_chunk::<16>()
        && let Some((roots, path)) = rest.split_first_chunk::<64>()
        && let Ok(path) = Path::new(path)
    {
        let first = u64::from_le_bytes(sizes[..8].try_into().unwrap());
        let second = u64::from_le_bytes(sizes[8..].try_into().unwrap());
        let (a, b) = roots.split_at(32);
        let (a, b): ([u8; 32], [u8; 32]) = (a.try_into().unwrap(), b.try_into().unwrap());
        let mut other = b;
        other[31] ^= 1;
        if merkle::verify_consistency(first, second, &a, &b, path).is_ok() {
            assert!(merkle::verify_consistency(first, second, &a, &other, path).is_err());
        }
    }
}

/// Decodes arbitrary bytes as a wire envelope; what decodes re-encodes and decodes the same.
pub fn envelope_decode(data: &[u8]) {
    let Ok(envelope) = Envelope::decode(data) else { return };
    let bytes = envelope.to_vec().unwrap();
    assert_eq!(Envelope::decode(&bytes).unwrap(), envelope);
}

/// Parses arbitrary bytes as a v2 (authenticated) envelope; what parses has
/// the layout's length, and verifying it returns (never panics).
pub fn auth_envelope_parse(data: &[u8]) {
    use pouw_netops::auth::seal::{self, AuthKind};
    use pouw_netops::auth::{IdentityKey, PairwiseKey};
    let Ok(u) = seal::parse(data) else { return };
    assert!(!u.body.is_empty());
    assert_eq!(seal::sealed_len(&u.sender, u.body.len(), u.kind), data.len());
    let me = pouw_netops::NodeId::new("fuzz").unwrap();
    match u.kind {
        AuthKind::Mac => {
            let _ = u.verify_mac(&PairwiseKey::from_bytes([0; 32]), &me, u.recipient_epoch.unwrap_or(0));
        }
        AuthKind::Signed => {
            let key = IdentityKey::from_seed(&[0; 32]).public();
            let _ = u.verify_signed(&key, &key);
        }
    }
}

/// Decodes arbitrary bytes as a signed certificate; what decodes re-encodes
/// to the same bytes (the encoding is canonical), and verifying it returns.
pub fn certificate_decode(data: &[u8]) {
    use pouw_netops::auth::{IdentityKey, RevocationList, SignedCertificate};
    let Ok(cert) = SignedCertificate::decode(data) else { return };
    let mut buf = vec![0u8; cert.encoded_len()];
    assert_eq!(cert.encode(&mut buf), Ok(data.len()));
    assert_eq!(buf, data);
    let authority = IdentityKey::from_seed(&[0; 32]).public();
    let _ = cert.verify(&authority, 0, None, None, &RevocationList::empty());
}

/// Decodes arbitrary bytes as a signed revocation list; what decodes
/// re-encodes to the same bytes.
pub fn revocation_decode(data: &[u8]) {
    use pouw_netops::auth::SignedRevocationList;
    let Ok(list) = SignedRevocationList::decode(data) else { return };
    let mut buf = vec![0u8; list.encoded_len()];
    assert_eq!(list.encode(&mut buf), Ok(data.len()));
    assert_eq!(buf, data);
    let l = list.list_unverified();
    assert!(l.entries.iter().all(|e| l.is_revoked(&e.node, e.serial.unwrap_or(0))));
}

/// The cluster the quorum targets verify in: authority seed `0xa0`, voters
/// `supervisor-1` … `supervisor-4` with identity seeds `0x51` … `0x54` (the
/// seeds of the committed corpus are signed by them).
pub fn quorum_fixture()
-> (pouw_netops::auth::PublicIdentity, Vec<(pouw_netops::NodeId, pouw_netops::auth::PublicIdentity)>) {
    use pouw_netops::auth::IdentityKey;
    let cluster = IdentityKey::from_seed(&[0xa0; 32]).public();
    let voters = (1u8..=4)
        .map(|i| {
            let id = pouw_netops::NodeId::new(&format!("supervisor-{i}")).unwrap();
            (id, IdentityKey::from_seed(&[0x50 + i; 32]).public())
        })
        .collect();
    (cluster, voters)
}

/// Decodes arbitrary bytes as a quorum certificate and verifies it against
/// [`quorum_fixture`] (quorum 3 of 4): what decodes re-encodes to the same
/// bytes, the in-place view agrees with the owned decoding (digest,
/// verification), and what verifies has at least 3 distinct signers, all voters.
pub fn quorum_certificate_decode(data: &[u8]) {
    use pouw_netops::auth::{QcView, QuorumCertificate};
    let owned = QuorumCertificate::decode(data);
    let view = QcView::parse(data);
    assert_eq!(owned.as_ref().err(), view.as_ref().err());
    let (Ok(qc), Ok(view)) = (owned, view) else { return };
    let mut buf = vec![0u8; qc.encoded_len()];
    assert_eq!(qc.encode(&mut buf), Ok(data.len()));
    assert_eq!(buf, data);
    assert_eq!(qc.digest(), view.digest());
    assert_eq!(qc.signer_count(), qc.signers().count_ones() as usize);
    let (cluster, voters) = quorum_fixture();
    let verified = qc.verify(&cluster, voters.as_slice(), 3);
    assert_eq!(verified, view.verify(&cluster, voters.as_slice(), 3));
    if verified.is_ok() {
        assert!(qc.signer_count() >= 3 && qc.signers() < 1 << voters.len());
    }
}

/// Decodes arbitrary bytes as equivocation evidence and verifies it with the
/// key of its voter in [`quorum_fixture`]: what decodes re-encodes to the same
/// bytes and is an equivocation (two votes, one voter and term, candidates
/// ascending).
pub fn equivocation_decode(data: &[u8]) {
    use pouw_netops::auth::{EquivocationEvidence, VoteKind};
    let Ok(e) = EquivocationEvidence::decode(data) else { return };
    let mut buf = vec![0u8; e.encoded_len()];
    assert_eq!(e.encode(&mut buf), Ok(data.len()));
    assert_eq!(buf, data);
    let (a, b) = e.votes();
    assert!(a.statement.kind == VoteKind::Vote && b.statement.kind == VoteKind::Vote);
    assert!(a.statement.voter == b.statement.voter && a.statement.term == b.statement.term);
    assert!(a.statement.candidate < b.statement.candidate);
    let (cluster, voters) = quorum_fixture();
    if let Some((_, key)) = voters.iter().find(|(id, _)| id == e.voter()) {
        let _ = e.verify(&cluster, key);
    }
}

/// The Byzantine-mode election the attachment target steps: `supervisor-2`
/// of [`quorum_fixture`] (f = 1, quorum 3), leader of term 1 with the signed
/// votes of supervisors 1 and 4 (its builder holds them), at 1 s.
pub fn election_fixture() -> pouw_netops::election::CertifiedElection<8, 64, 8> {
    use pouw_netops::auth::{IdentityKey, VoteKind, VoteStatement};
    use pouw_netops::election::{CertifiedElection, ElectionConfig, FaultModel, HardState};
    use pouw_netops::wire::{Body, VoteResponse};
    use pouw_netops::{Instant, NodeId};
    let (cluster, voters) = quorum_fixture();
    let id = |i: u8| NodeId::new(&format!("supervisor-{i}")).unwrap();
    let key = |i: u8| IdentityKey::from_seed(&[0x50 + i; 32]);
    let config = ElectionConfig { fault_model: FaultModel::Byzantine { f: 1 }, ..ElectionConfig::default() };
    let now = Instant::from_secs(1);
    let mut e = CertifiedElection::new(config, id(2), key(2), cluster, &voters, HardState::default(), now).unwrap();
    e.campaign(now).unwrap();
    for (kind, term) in [(VoteKind::PreVote, 1), (VoteKind::Vote, 1)] {
        for v in [1u8, 4] {
            let vote = VoteStatement { kind, term, candidate: id(2), voter: id(v) }.signed(&key(v), &cluster);
            let mut a = vec![pouw_netops::election::ATTACH_VOTE; 1 + vote.encoded_len()];
            let n = vote.encode(&mut a[1..]).unwrap();
            a.truncate(1 + n);
            let r = VoteResponse { term, granted: true };
            let body = if kind == VoteKind::PreVote { Body::PreVoteResponse(r) } else { Body::VoteResponse(r) };
            e.step(now, &Envelope::new(id(v), body), &a).unwrap().unwrap();
        }
    }
    assert!(e.election().is_leader() && e.leader_certificate().is_some());
    while e.poll_hard_state().is_some() {}
    while e.poll_transmit().is_some() {}
    e
}

/// Steps [`election_fixture`] with one message whose attachment is
/// arbitrary: the first byte picks the message (seven election messages of
/// terms 1 and 2) and its sender (supervisor 1, 3 or 4), the rest is the
/// attachment. A refused attachment changes nothing (role, term, leader,
/// vote, certificate, no evidence); any evidence made verifies offline
/// under its voter's key.
pub fn election_attachment(data: &[u8]) {
    use pouw_netops::Instant;
    let Some((envelope, attachment)) = election_message(data) else { return };
    let mut e = election_fixture();
    let observe = |e: &pouw_netops::election::CertifiedElection<8, 64, 8>| {
        let el = e.election();
        (el.role(), el.term(), el.leader().cloned(), el.voted_for().cloned(), e.leader_certificate().cloned())
    };
    let before = observe(&e);
    let stepped = e.step(Instant::from_secs(1), &envelope, attachment);
    let (cluster, voters) = quorum_fixture();
    match stepped {
        Ok(Err(_)) => {
            assert!(observe(&e) == before, "a refused attachment changed the election");
            assert!(e.poll_evidence().is_none(), "a refused attachment made evidence");
        }
        _ => {
            while let Some(ev) = e.poll_evidence() {
                let key = voters.iter().find(|(id, _)| id == ev.voter()).map(|v| v.1).unwrap();
                ev.verify(&cluster, &key).unwrap();
            }
        }
    }
}

/// The message of an `election_attachment` input: the first byte picks the
/// message (`% 7`) and sender (`/ 7 % 3`: supervisor 1, 3 or 4); the rest is
/// the attachment. `None` for no input.
pub fn election_message(data: &[u8]) -> Option<(Envelope, &[u8])> {
    use pouw_netops::wire::{Body, HeartbeatResponse, LeaderHeartbeat, VoteRequest, VoteResponse};
    let (&pick, attachment) = data.split_first()?;
    let grant = |term| VoteResponse { term, granted: true };
    let body = match pick % 7 {
        0 => Body::PreVoteResponse(grant(2)),
        1 => Body::VoteResponse(grant(1)),
        2 => Body::RequestVote(VoteRequest { term: 2, progress: None }),
        3 => Body::LeaderHeartbeat(LeaderHeartbeat { term: 1 }),
        4 => Body::HeartbeatResponse(HeartbeatResponse { term: 1 }),
        5 => Body::PreVote(VoteRequest { term: 2, progress: None }),
        _ => Body::VoteResponse(VoteResponse { term: 1, granted: false }),
    };
    let sender = [1u8, 3, 4][usize::from(pick / 7 % 3)];
    let sender = pouw_netops::NodeId::new(&format!("supervisor-{sender}")).ok()?;
    Some((Envelope::new(sender, body), attachment))
}
