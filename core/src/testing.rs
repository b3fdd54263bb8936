//! Test-only probe (feature `panic-probe`): the core itself never panics, so the
//! bindings need a deliberate panic to prove their panic boundaries work.

/// Panics unconditionally. Exists only to test that bindings turn a panic inside
/// the core into an error instead of unwinding into foreign code.
#[allow(clippy::panic)]
pub fn trigger_panic() {
    panic!("pouw-netops panic probe triggered on purpose");
}
