//! `pouw-netops-node`: one pouw-netops node as a process.
//!
//! The binary's commands (`keygen`, `authority init|issue`, `validate`, `run`,
//! `status`, `members`, `leave`) are thin over these modules: the
//! configuration file ([`config`]), keys and certificates on disk ([`keys`]),
//! crash-safe state in the data directory ([`store`]), the operations HTTP
//! endpoint ([`http`]) and the driver loop around the core's sans-IO
//! coordinator ([`run`]). `docs/deploy.md` is the operator's guide.

pub mod config;
pub mod http;
pub mod keys;
pub mod logger;
pub mod run;
pub mod store;
