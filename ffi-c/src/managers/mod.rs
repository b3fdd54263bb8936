//! The five standalone manager handles (feature `managers`, header
//! `include/pouw_netops_managers.h` guarded by `PN_MANAGERS`): each wraps one core
//! manager on its own, for hosts that wire the components together themselves.
//! A node normally needs only `pn_ops`, which runs all of them. With them come
//! the version 1 wire helpers (`wire`) for the unauthenticated messages they
//! exchange.

pub mod crash_recovery;
pub mod election;
pub mod history;
pub mod mesh;
pub mod wire;
pub mod workers;
