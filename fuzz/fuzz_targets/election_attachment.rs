#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pouw_netops_fuzz::election_attachment(data));
