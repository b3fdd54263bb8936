//! Signed votes, quorum certificates and equivocation evidence
//! (`pouw_netops.quorum`): conversions only; the encodings, checks and
//! signatures are the core's `auth::quorum`.

use crate::errors::{core_error, field_error, id_error, invalid};
use crate::identity::{identity_key, public_identity};
use pouw_netops::NodeId;
use pouw_netops::auth::PublicIdentity;
use pouw_netops::auth::quorum::{
    self, EquivocationEvidence, QcView, QuorumCertificate, SignedVote, VoteKind, VoteStatement,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A verified certificate as Python sees it: `(kind, term, candidate, signers, digest)`.
pub type QcTuple = (&'static str, u64, String, Vec<String>, Vec<u8>);

fn kind(name: &str) -> PyResult<VoteKind> {
    match name {
        "pre_vote" => Ok(VoteKind::PreVote),
        "vote" => Ok(VoteKind::Vote),
        other => Err(invalid(format!("vote kind must be one of pre_vote, vote, not {other:?}"))),
    }
}

fn kind_name(k: VoteKind) -> &'static str {
    match k {
        VoteKind::PreVote => "pre_vote",
        VoteKind::Vote => "vote",
    }
}

fn node(id: &str, what: &str) -> PyResult<NodeId> {
    NodeId::new(id).map_err(|e| id_error(what, e))
}

/// The voter set in canonical order from `(id, public key)` pairs in any order.
fn voter_set(voters: Vec<(String, Vec<u8>)>) -> PyResult<Vec<(NodeId, PublicIdentity)>> {
    let mut set = voters
        .iter()
        .map(|(id, key)| Ok((node(id, "voter id")?, public_identity(key, "voter key")?)))
        .collect::<PyResult<Vec<_>>>()?;
    set.sort_by(|a, b| a.0.cmp(&b.0));
    quorum::check_voters(set.as_slice()).map_err(|e| field_error("voters", e))?;
    Ok(set)
}

fn encoded<'py>(
    py: Python<'py>,
    len: usize,
    encode: impl FnOnce(&mut [u8]) -> Result<usize, quorum::QuorumError>,
) -> PyResult<Bound<'py, PyBytes>> {
    let mut buf = vec![0u8; len];
    let n = encode(&mut buf).map_err(core_error)?;
    Ok(PyBytes::new(py, buf.get(..n).unwrap_or_default()))
}

/// `voter`'s signed `kind` vote for `candidate` in `term`, signed with the
/// identity key of seed `seed` in the cluster of authority public key `authority`.
#[pyfunction]
fn sign_vote<'py>(
    py: Python<'py>,
    seed: &[u8],
    authority: &[u8],
    kind: &str,
    #[pyo3(from_py_with = crate::args::u64_arg)] term: u64,
    candidate: &str,
    voter: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let key = identity_key(seed, "seed")?;
    let cluster = public_identity(authority, "authority")?;
    let statement = VoteStatement {
        kind: self::kind(kind)?,
        term,
        candidate: node(candidate, "candidate")?,
        voter: node(voter, "voter")?,
    };
    let vote = statement.signed(&key, &cluster);
    encoded(py, vote.encoded_len(), |b| vote.encode(b))
}

/// A signed vote's fields `(kind, term, candidate, voter)`, decoded, not verified.
#[pyfunction]
fn inspect_vote(data: &[u8]) -> PyResult<(&'static str, u64, String, String)> {
    let v = SignedVote::decode(data).map_err(|e| field_error("vote", e))?;
    let s = v.statement;
    Ok((kind_name(s.kind), s.term, s.candidate.as_str().to_owned(), s.voter.as_str().to_owned()))
}

/// The certificate of `votes` (encoded signed votes, all of one kind, term
/// and candidate, each verified) among `voters`, once at least `quorum` signed.
#[pyfunction]
fn build_quorum_certificate<'py>(
    py: Python<'py>,
    votes: Vec<Vec<u8>>,
    authority: &[u8],
    voters: Vec<(String, Vec<u8>)>,
    quorum: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let cluster = public_identity(authority, "authority")?;
    let set = voter_set(voters)?;
    let mut votes = votes.iter().map(|v| SignedVote::decode(v).map_err(|e| field_error("vote", e)));
    let first = votes.next().ok_or_else(|| invalid("no votes"))??;
    let s = &first.statement;
    let mut builder = QuorumCertificate::builder(s.kind, s.term, s.candidate.clone());
    builder.push(&first, &cluster, set.as_slice()).map_err(|e| field_error("vote", e))?;
    for v in votes {
        builder.push(&v?, &cluster, set.as_slice()).map_err(|e| field_error("vote", e))?;
    }
    let qc = builder.finish(quorum).map_err(core_error)?;
    encoded(py, qc.encoded_len(), |b| qc.encode(b))
}

/// Verifies an encoded quorum certificate against `voters` (`(id, public key)`
/// pairs, any order) and `quorum` in the cluster of authority `authority`;
/// returns `(kind, term, candidate, signer ids, digest)`.
#[pyfunction]
fn verify_quorum_certificate(
    data: &[u8],
    authority: &[u8],
    voters: Vec<(String, Vec<u8>)>,
    quorum: usize,
) -> PyResult<QcTuple> {
    let cluster = public_identity(authority, "authority")?;
    let set = voter_set(voters)?;
    let view = QcView::parse(data).map_err(|e| field_error("certificate", e))?;
    view.verify(&cluster, set.as_slice(), quorum).map_err(|e| field_error("certificate", e))?;
    let signers = set
        .iter()
        .enumerate()
        .filter(|(i, _)| view.signers() >> i & 1 == 1)
        .map(|(_, (id, _))| id.as_str().to_owned())
        .collect();
    Ok((kind_name(view.kind()), view.term(), view.candidate().as_str().to_owned(), signers, view.digest().to_vec()))
}

/// The equivocation evidence record of two encoded signed votes (any order).
#[pyfunction]
fn build_equivocation<'py>(py: Python<'py>, first: &[u8], second: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let a = SignedVote::decode(first).map_err(|e| field_error("first", e))?;
    let b = SignedVote::decode(second).map_err(|e| field_error("second", e))?;
    let e = EquivocationEvidence::new(a, b).ok_or_else(|| core_error(quorum::QuorumError::NotEquivocation))?;
    encoded(py, e.encoded_len(), |b| e.encode(b))
}

/// Verifies an encoded equivocation record offline from the authority's
/// public key and the voter's; returns `(voter, term, first candidate, second candidate)`.
#[pyfunction]
fn verify_equivocation(data: &[u8], authority: &[u8], voter_key: &[u8]) -> PyResult<(String, u64, String, String)> {
    let cluster = public_identity(authority, "authority")?;
    let key = public_identity(voter_key, "voter_key")?;
    let e = EquivocationEvidence::decode(data).map_err(|e| field_error("evidence", e))?;
    e.verify(&cluster, &key).map_err(|e| field_error("evidence", e))?;
    let (a, b) = e.votes();
    Ok((
        e.voter().as_str().to_owned(),
        e.term(),
        a.statement.candidate.as_str().to_owned(),
        b.statement.candidate.as_str().to_owned(),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sign_vote, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_vote, m)?)?;
    m.add_function(wrap_pyfunction!(build_quorum_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(verify_quorum_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(build_equivocation, m)?)?;
    m.add_function(wrap_pyfunction!(verify_equivocation, m)?)
}
