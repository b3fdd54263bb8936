//! # pouw-netops-c
//!
//! The C ABI of [`pouw_netops`]: a thin layer that converts types, errors and
//! ownership, and holds no logic of its own. The header `include/pouw_netops.h`
//! is generated from this crate by cbindgen (see `cbindgen.toml`).
//!
//! Conventions shared by every handle (new managers slot in the same way):
//!
//! - Every symbol and type starts with `pn_`. Managers are opaque handles made by
//!   `pn_X_new(&config, &handle)` from a plain config struct (defaults from
//!   `pn_X_config_default`) and released by `pn_X_free`, which accepts NULL.
//!   Handles are built in place on the heap (the `large` preset).
//! - Every function returns a [`pn_result`] (`PN_OK` = 0) and
//!   writes results through out-parameters, which are left untouched on error.
//!   `pn_result_str` names a code.
//! - Strings (node ids) are UTF-8 pointer + length; ids come back as fixed-size
//!   [`pn_node_id`](convert::pn_node_id) structs. Bytes go into caller buffers;
//!   a buffer that is too small gives `PN_ERR_BUFFER_TOO_SMALL` with the needed
//!   length and consumes nothing. Events are tagged structs. Time is `uint64_t`
//!   microseconds on the caller's clock.
//! - Every body runs inside a panic boundary that turns a panic into
//!   `PN_ERR_PANIC`; NULL pointers give `PN_ERR_NULL_POINTER`.
//!
//! - After a failed call, `pn_last_error_message` gives the reason as text (the
//!   core error's `Display`), per thread.
//!
//! A handle is not thread-safe: use one from one thread at a time.
//!
//! The default header, `include/pouw_netops.h`, holds what a node host needs:
//! `pn_ops`, its credentials and public key (`identity`), the views of its
//! mesh, archived-batch reading, the phi detector, errors and the version. The
//! operator's tools (certificates, Merkle proof verifiers, quorum certificate
//! and equivocation evidence verifiers) are always in the library with their
//! own header, `include/pouw_netops_operator.h` (the `operator` module).
#![warn(missing_docs)]
// The C names (`pn_result`, `PN_OK`, …) are the API.
#![allow(non_camel_case_types)]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(all(not(feature = "std"), not(feature = "embedded")))]
compile_error!("pouw-netops-c needs the feature `std` (hosts) or `embedded` (microcontrollers)");

#[cfg(all(feature = "embedded", not(feature = "std")))]
pub mod embedded;

pub mod boundary;
pub mod convert;
pub mod crash_recovery;
pub mod election;
pub mod history;
pub mod identity;
pub mod last_error;
pub mod mesh;
pub mod ops;
pub mod phi;
pub mod result;
#[cfg(feature = "panic-probe")]
pub mod testing;
pub mod version;
pub mod workers;

/// Declares the `operator` module, always compiled. A macro on purpose:
/// cbindgen does not expand macros, so the default header
/// (`include/pouw_netops.h`, generated from this crate) leaves the operator's
/// tools out; their header, `include/pouw_netops_operator.h`, is generated from
/// `src/operator/mod.rs` with `cbindgen-operator.toml`.
macro_rules! declare_operator {
    () => {
        /// The operator's tools: certificates, Merkle proof verifiers, quorum
        /// certificate and equivocation evidence verifiers.
        pub mod operator;
    };
}
declare_operator!();

pub use result::pn_result;
