#!/usr/bin/env bash
# The static library a Zephyr arm64 app links: xenmem-capi built no_std with the `hvc`
# feature for aarch64-unknown-none, with Debian's rustc-web (scripts/arm64-toolchain.sh
# installs it), then checked in the archive: the seven xendom_* functions are defined, each
# issues `hvc #0xea1` itself with memory_op in x16, and nothing asks for a xenmem_hypercall.
# Takes about two minutes the first time (core is built from source).
# Usage: bash crates/xenmem-capi/tests/check-arm64.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="$repo/target/arm64-capi"
scripts/arm64-toolchain.sh cargo build -q -p xenmem-capi --no-default-features --features hvc --release
lib="$CARGO_TARGET_DIR/${ARM64_TARGET:-aarch64-unknown-none}/release/libxenmem_capi.a"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
aarch64-linux-gnu-nm "$lib" 2>/dev/null >"$tmp/syms"
aarch64-linux-gnu-objdump -d "$lib" 2>/dev/null >"$tmp/disasm"

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); echo "FAIL $1"; fi
}
absent() { ! grep -qE "$1" "$2"; }
for f in xendom_add_to_physmap xendom_add_to_physmap_batch xendom_remove_from_physmap \
  xendom_populate_physmap xendom_increase_reservation xendom_decrease_reservation \
  xendom_acquire_resource; do
  check "$f is defined" grep -qE " T $f\$" "$tmp/syms"
  # The function's own code, up to the next symbol.
  awk -v f="<$f>:" '$2 == f {on = 1; next} on && /^[0-9a-f]+ <.*>:$/ {exit} on' "$tmp/disasm" >"$tmp/$f"
  check "$f issues hvc #0xea1 itself" grep -qE 'hvc[[:space:]]+#0xea1' "$tmp/$f"
  check "$f puts memory_op (12) in x16" grep -qE 'mov[[:space:]]+w16, #0xc' "$tmp/$f"
done
check "nothing asks for xenmem_hypercall" absent ' U xenmem_hypercall$' "$tmp/syms"
# v0 mangling names the crate as <len><name>: "3std"; legacy as "_ZN3std".
check "no std in the archive (core only)" absent '_3std[0-9A-Z_]|_ZN3std' "$tmp/syms"
aarch64-linux-gnu-nm -A "$lib" 2>/dev/null | grep -E ' T .*rust_begin_unwind$' >"$tmp/handler" || true
check "the panic handler is the library's own" grep -q 'xenmem_capi' "$tmp/handler"
echo "$passed passed, $failed failed"
((failed == 0))
