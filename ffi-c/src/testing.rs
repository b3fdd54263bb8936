//! Test-only exports (feature `panic-probe`; `PN_PANIC_PROBE` in the header).

use crate::boundary::guard;
use crate::result::pn_result;

/// Triggers a deliberate panic inside the core and returns what the panic
/// boundary made of it: always `PN_ERR_PANIC`. For tests of the boundary only.
#[unsafe(no_mangle)]
pub extern "C" fn pn_testing_trigger_panic() -> pn_result {
    guard(|| -> Result<(), crate::last_error::Failure> { pouw_netops::testing::trigger_panic() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_panic_comes_back_as_the_panic_code() {
        assert_eq!(pn_testing_trigger_panic(), pn_result::PN_ERR_PANIC);
        // The boundary leaves the library usable.
        assert_eq!(pn_testing_trigger_panic(), pn_result::PN_ERR_PANIC);
    }
}
