//! Test-only probes for the language bindings (feature `panic-probe`, never on by default).
//!
//! The core has no panics; a binding still has to prove that if one ever
//! happened it would surface as an error in the host language instead of
//! aborting the host process. This module gives bindings a panic on demand.

/// Panics with a fixed message, always.
///
/// Bindings call it from a test to check that a panic crossing their boundary
/// becomes a host-language error and leaves the host running.
#[allow(clippy::panic)]
pub fn trigger_panic() -> ! {
    panic!("pouw_netops::testing::trigger_panic: deliberate panic for binding tests")
}

#[cfg(test)]
mod tests {
    #[test]
    fn trigger_panic_panics() {
        let outcome = std::panic::catch_unwind(|| {
            super::trigger_panic();
        });
        assert!(outcome.is_err());
    }
}
