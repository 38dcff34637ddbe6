#!/usr/bin/env bash
# Fuzzes the model's raw decode (crates/xenmem-sim/fuzz, target raw_decode: arbitrary
# hypercalls from several domains over the bounded arena memory) for a bounded time.
# cargo-fuzz builds with libFuzzer's nightly-only flags, so the stable toolchain is told to
# accept them for this one command (RUSTC_BOOTSTRAP). Exit status: libFuzzer's (non-zero on a
# crash, with the input saved under crates/xenmem-sim/fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/../crates/xenmem-sim/fuzz"
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
RUSTC_BOOTSTRAP=1 cargo fuzz run raw_decode -- -max_total_time="$seconds" 2>&1 | tail -n 5
