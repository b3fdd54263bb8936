#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pouw_netops_fuzz::quorum_certificate_decode(data));
