//! libFuzzer target: see `portcullis::fuzzing::forward_auth` for the invariants it checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = portcullis::fuzzing::forward_auth(data) {
        panic!("{violation}");
    }
});
