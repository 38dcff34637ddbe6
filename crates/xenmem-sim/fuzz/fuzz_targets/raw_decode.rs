//! Fuzzes the model's raw hypercall decode through an arena of guest memory.
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run raw_decode -- -max_total_time=60` from
//! `crates/xenmem-sim`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
