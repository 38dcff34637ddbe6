#!/usr/bin/env bash
# The arm64 differential run: boots the real Xen 4.17 for arm64 under QEMU with the arm64
# conformance kernel (dom0 and the unprivileged dom0less domU at once), runs the identical suite
# on the model configured as that machine, and diffs the two line by line.
#
# Prints per-case results, each side's wall time, and the summary lines
#   conformance (arm64): N observations, N agree, 0 differ
#   conformance (arm64 domU): M observations, M agree, 0 differ
# Exit status: non-zero on any difference, on a failed boot, or when real Xen's answers no
# longer match the recording the plain `cargo test` holds the model to
# (crates/xenmem-conformance/golden/arm64-*.txt).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
golden=crates/xenmem-conformance/golden

mkdir -p out
echo "== real Xen 4.17 (arm64) under QEMU (TCG) =="
bash scripts/real-xen-arm64.sh | tee out/real-xen-arm64.summary
real_s=$(sed -nE 's/^boot to exit: ([0-9.]+) s.*/\1/p' out/real-xen-arm64.summary)

echo "== the model, configured as that machine =="
cargo build --quiet --release -p xenmem-conformance --features model --example on-model
model=target/release/examples/on-model
status=0
"$model" arm64-dom0 --compare out/real-xen-arm64.lines --label arm64 | tee out/conformance-arm64-dom0.txt || status=1
"$model" arm64-domu --compare out/real-xen-arm64-domu.lines --label "arm64 domU" |
    tee out/conformance-arm64-domu.txt || status=1

# Real Xen must still give the answers recorded for cargo test.
for pair in "arm64-dom0:real-xen-arm64" "arm64-domu:real-xen-arm64-domu"; do
    if ! diff -u "$golden/${pair%%:*}.txt" "out/${pair##*:}.lines" >"out/${pair%%:*}.golden.diff"; then
        echo "real Xen's answers changed since $golden/${pair%%:*}.txt was recorded:" >&2
        cat "out/${pair%%:*}.golden.diff" >&2
        status=1
    fi
done

model_ms=$(sed -nE 's/^model side wall time: ([0-9.]+) ms/\1/p' out/conformance-arm64-dom0.txt)
awk -v r="$real_s" -v m="$model_ms" 'BEGIN {
  printf "wall time: real Xen boot to exit %.2f s (dom0 and domU), model dom0 suite %.3f ms: %.0fx faster\n", r, m, (r * 1000) / m }'
grep -h '^conformance' out/conformance-arm64-dom0.txt out/conformance-arm64-domu.txt
exit $status
