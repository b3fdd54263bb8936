//! Checkpoints signed by the task's primary.
//!
//! A primary signs each checkpoint it reports, so the checkpoint can be
//! verified by anyone who holds the primary's certificate, however it
//! travelled: the leader verifies the report, and the other supervisors
//! verify the copy the leader's task table carries before they act on it
//! (a new leader resumes the task from it; they keep it unverified until
//! then).
//!
//! The signature is over `"pouw-netops/checkpoint/v1" || 0x00 || cluster ||
//! len(task) || task || len(primary) || primary || sequence (u64 LE) ||
//! digest` (lengths one byte each: ids are at most 64 bytes), under the
//! primary's identity key ([`Domain::Checkpoint`]).

use super::keys::{Domain, IdentityError, IdentityKey, PublicIdentity, Signature};
use crate::id::{NodeId, TaskId};
use crate::workers::Checkpoint;

/// The one-byte length of an id (ids are at most 64 bytes; saturates otherwise).
fn len_byte(bytes: &[u8]) -> [u8; 1] {
    [u8::try_from(bytes.len()).unwrap_or(u8::MAX)]
}

/// Calls `f` with the parts of the signed payload (see the module docs) for
/// `checkpoint` of `task` by `primary` in the cluster of authority `cluster`:
/// the one definition that signing and verifying share.
fn with_payload<R>(
    cluster: &PublicIdentity,
    task: &TaskId,
    primary: &NodeId,
    checkpoint: &Checkpoint,
    f: impl FnOnce(&[&[u8]]) -> R,
) -> R {
    let (t, p) = (task.as_str().as_bytes(), primary.as_str().as_bytes());
    let seq = checkpoint.sequence.to_le_bytes();
    f(&[
        Domain::Checkpoint.label().as_bytes(),
        &[0],
        cluster.as_bytes(),
        &len_byte(t),
        t,
        &len_byte(p),
        p,
        &seq,
        &checkpoint.digest,
    ])
}

/// `primary`'s signature (with `key`, its identity key) on `checkpoint` of
/// `task` in the cluster of authority `cluster`.
pub fn sign_checkpoint(
    key: &IdentityKey,
    cluster: &PublicIdentity,
    task: &TaskId,
    primary: &NodeId,
    checkpoint: &Checkpoint,
) -> Signature {
    with_payload(cluster, task, primary, checkpoint, |parts| key.sign_parts(parts))
}

/// Whether `signature` is `primary`'s (whose identity key is `public`) on
/// `checkpoint` of `task` in the cluster of authority `cluster`.
pub fn verify_checkpoint(
    public: &PublicIdentity,
    cluster: &PublicIdentity,
    task: &TaskId,
    primary: &NodeId,
    checkpoint: &Checkpoint,
    signature: &Signature,
) -> Result<(), IdentityError> {
    with_payload(cluster, task, primary, checkpoint, |parts| public.verify_parts(parts, signature))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(b: u8) -> IdentityKey {
        IdentityKey::from_seed(&[b; 32])
    }

    #[test]
    fn a_signed_checkpoint_verifies_only_as_signed() {
        let (cluster, other_cluster) = (key(1).public(), key(2).public());
        let primary = key(3);
        let (task, w) = (TaskId::new("t").unwrap(), NodeId::new("w").unwrap());
        let c = Checkpoint { sequence: 7, digest: [9; 32] };
        let sig = sign_checkpoint(&primary, &cluster, &task, &w, &c);
        let public = primary.public();
        assert_eq!(verify_checkpoint(&public, &cluster, &task, &w, &c, &sig), Ok(()));
        let bad = Err(IdentityError::BadSignature);
        assert_eq!(verify_checkpoint(&public, &other_cluster, &task, &w, &c, &sig), bad);
        assert_eq!(verify_checkpoint(&key(4).public(), &cluster, &task, &w, &c, &sig), bad);
        assert_eq!(verify_checkpoint(&public, &cluster, &TaskId::new("u").unwrap(), &w, &c, &sig), bad);
        assert_eq!(verify_checkpoint(&public, &cluster, &task, &NodeId::new("x").unwrap(), &c, &sig), bad);
        let later = Checkpoint { sequence: 8, ..c };
        assert_eq!(verify_checkpoint(&public, &cluster, &task, &w, &later, &sig), bad);
        let other = Checkpoint { digest: [8; 32], ..c };
        assert_eq!(verify_checkpoint(&public, &cluster, &task, &w, &other, &sig), bad);
        // The id lengths are bound: "t"+"w1" is not "tw"+"1".
        let (tw, one) = (TaskId::new("tw").unwrap(), NodeId::new("1").unwrap());
        let w1 = NodeId::new("w1").unwrap();
        let sig = sign_checkpoint(&primary, &cluster, &task, &w1, &c);
        assert_eq!(verify_checkpoint(&public, &cluster, &tw, &one, &c, &sig), bad);
    }
}
