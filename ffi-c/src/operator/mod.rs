//! The operator's tools (header `include/pouw_netops_operator.h`, always in the
//! library): what the cluster's operator and auditors run, not a node. Issue,
//! verify and inspect membership certificates with the authority key
//! (`pn_certificate_*`), verify the history's Merkle proofs
//! (`pn_merkle_*`), and verify the Byzantine election's quorum certificates
//! and equivocation evidence offline (`pn_quorum_*`, `pn_equivocation_*`). A node host needs only `pouw_netops.h`: its credentials
//! (`pn_credentials`), its public key (`pn_identity_public`), and
//! `pn_batch_log_info` to chain its archived batches.

pub mod certificates;
pub mod merkle;
pub mod quorum;
