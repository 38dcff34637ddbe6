#!/usr/bin/env bash
# The differential run: boots the real Xen 4.17 under QEMU with the conformance kernel of one
# architecture, runs the identical suite on the model configured as that machine, and diffs
# the two line by line.
#   scripts/conformance.sh          x86_64: a PVH dom0, then the unprivileged PVH domU it starts
#   scripts/conformance.sh arm64    arm64: a dom0 and an unprivileged dom0less domU at once
#
# Prints per-case results, each side's wall time, and the summary lines
#   conformance[ (arm64)]: N observations, N agree, 0 differ
#   conformance ([arm64 ]domU): M observations, M agree, 0 differ
# Exit status: non-zero on any difference, on a failed boot, or when real Xen's answers no
# longer match the recording the plain `cargo test` holds the model to
# (crates/xenmem-conformance/golden/).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
golden=crates/xenmem-conformance/golden

# Per architecture: the boot script's name, the model's configurations (which are also the
# golden files' names), the labels of the summary lines, and where the comparisons go.
case ${1:-x86_64} in
  x86_64)
    real=real-xen-x86_64 title="real Xen 4.17 under QEMU (TCG)"
    dom0=x86_64-pvh-dom0 domu=x86_64-pvh-domu label0="" labelu="domU"
    out0=conformance-dom0 outu=conformance-domu ;;
  arm64)
    real=real-xen-arm64 title="real Xen 4.17 (arm64) under QEMU (TCG)"
    dom0=arm64-dom0 domu=arm64-domu label0="arm64" labelu="arm64 domU"
    out0=conformance-arm64-dom0 outu=conformance-arm64-domu ;;
  *) echo "usage: $0 [x86_64|arm64]" >&2; exit 2 ;;
esac

mkdir -p out
echo "== $title =="
bash "scripts/$real.sh" | tee "out/$real.summary"
real_s=$(sed -nE 's/^boot to exit: ([0-9.]+) s.*/\1/p' "out/$real.summary")

echo "== the model, configured as that machine =="
cargo build --quiet --release -p xenmem-conformance --features model --example on-model
model=target/release/examples/on-model
status=0
label() { [[ -n $1 ]] && printf -- '--label\n%s\n' "$1"; return 0; }
mapfile -t l0 < <(label "$label0")
mapfile -t lu < <(label "$labelu")
"$model" "$dom0" --xen 4.17 --compare "out/$real.lines" "${l0[@]}" | tee "out/$out0.txt" || status=1
"$model" "$domu" --xen 4.17 --compare "out/$real-domu.lines" "${lu[@]}" | tee "out/$outu.txt" || status=1

# Real Xen must still give the answers recorded for cargo test.
for pair in "$dom0:$real" "$domu:$real-domu"; do
  if ! diff -u "$golden/${pair%%:*}.txt" "out/${pair##*:}.lines" >"out/${pair%%:*}.golden.diff"; then
    echo "real Xen's answers changed since $golden/${pair%%:*}.txt was recorded:" >&2
    cat "out/${pair%%:*}.golden.diff" >&2
    status=1
  fi
done

model_ms=$(sed -nE 's/^model side wall time: ([0-9.]+) ms/\1/p' "out/$out0.txt")
awk -v r="$real_s" -v m="$model_ms" 'BEGIN {
  printf "wall time: real Xen boot to exit %.2f s (dom0 and domU), model dom0 suite %.3f ms: %.0fx faster\n", r, m, (r * 1000) / m }'
grep -h '^conformance' "out/$out0.txt" "out/$outu.txt"
exit $status
