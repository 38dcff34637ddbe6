#!/usr/bin/env bash
# Builds xenmem's no_std crates for arm64 (aarch64-unknown-none) with Debian's own Rust
# packages, and checks the arm64 hypercall sequence in the compiled code.
#
# Debian 12's rustc-web (rustc 1.96) ships the library source (rust-web-src), so core is built
# from source with -Zbuild-std (RUSTC_BOOTSTRAP=1 unlocks the flag on a release toolchain);
# lld links, since rust-lld is not packaged. rustup's toolchain stays first on PATH and keeps
# running the host's cargo clippy and tests: only the commands below use /usr/bin/rustc.
#
# Usage:
#   scripts/arm64-toolchain.sh             install (idempotent), build xenmem and
#                                          xenmem-conformance (no model) for the target, and
#                                          check the hvc sequence and its clobbers
#   scripts/arm64-toolchain.sh install     only install the packages (idempotent)
#   scripts/arm64-toolchain.sh lint        clippy (Debian's rust-web-clippy, the same 1.96)
#                                          over the arm64 guest kernel, warnings as errors
#   scripts/arm64-toolchain.sh env         print the environment, for `eval`
#   scripts/arm64-toolchain.sh cargo ARGS  run cargo with that environment, appending
#                                          `-Zbuild-std=core --target $ARM64_TARGET`; e.g. any
#                                          no_std crate of the workspace:
#                                          scripts/arm64-toolchain.sh cargo build -p xenmem-capi --release
#
# Environment: ARM64_TARGET (default aarch64-unknown-none; the guest kernel uses
# aarch64-unknown-none-softfloat, which has no SIMD at all).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${ARM64_TARGET:-aarch64-unknown-none}

install_packages() {
    local need=() p
    for p in rustc-web rust-web-src lld binutils-aarch64-linux-gnu; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
    ((${#need[@]})) || return 0
    export DEBIAN_FRONTEND=noninteractive
    # Refresh the package lists only when an install fails without it.
    if ! apt-get install -y -qq --no-install-recommends "${need[@]}"; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}"
    fi
}

arm64_env() {
    export RUSTC=/usr/bin/rustc
    export RUSTC_BOOTSTRAP=1
    # Applies to every crate of the target build (core included), never to build scripts or
    # proc-macros, which cargo builds for the host when --target is given.
    export CARGO_ENCODED_RUSTFLAGS=$'-C\x1flinker=ld.lld\x1f-C\x1flinker-flavor=ld.lld'
}

case ${1:-check} in
install)
    install_packages
    exit 0
    ;;
lint)
    install_packages
    dpkg -s rust-web-clippy >/dev/null 2>&1 ||
        apt-get install -y -qq --no-install-recommends rust-web-clippy ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends rust-web-clippy; }
    # rustup's clippy-driver cannot build core 1.96 from source; Debian's can. As a workspace
    # wrapper it lints the kernel's own crate (its workspace's only member) with the kernel's
    # flags from guest/aarch64/.cargo/config.toml.
    cd "$repo/guest/aarch64"
    exec env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
        RUSTC_WORKSPACE_WRAPPER=/usr/bin/clippy-driver CLIPPY_ARGS="-Dwarnings" \
        CARGO_TARGET_DIR="$repo/target/arm64-toolchain/clippy" cargo check --release --quiet
    ;;
env)
    arm64_env
    printf 'export RUSTC=%q RUSTC_BOOTSTRAP=1 CARGO_ENCODED_RUSTFLAGS=%q\n' "$RUSTC" "$CARGO_ENCODED_RUSTFLAGS"
    exit 0
    ;;
cargo)
    shift
    install_packages
    arm64_env
    exec cargo "$@" -Zbuild-std=core --target "$target"
    ;;
check) ;;
*)
    echo "usage: $0 [install | lint | env | cargo ARGS...]" >&2
    exit 2
    ;;
esac

install_packages
arm64_env
/usr/bin/rustc --version

# A throwaway crate outside the main workspace (whose other members may be mid-change): it
# depends on the two no_std crates by path, so building it builds them for the target, and it
# holds the function whose code shows how the compiler treats the registers around `hvc`.
probe="$repo/target/arm64-toolchain/probe"
mkdir -p "$probe/src"
cat >"$probe/Cargo.toml" <<EOF
[package]
name = "xenmem-arm64-probe"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[lib]
path = "src/lib.rs"

[dependencies]
xenmem = { path = "$repo/crates/xenmem" }
xenmem-conformance = { path = "$repo/crates/xenmem-conformance", default-features = false }

[profile.release]
debug = 0
EOF
cat >"$probe/src/lib.rs" <<'EOF'
#![no_std]
use xenmem::hypercall::aarch64::Hvc;
use xenmem::Hypercall;

// Links the suite in, so that it is compiled for the target as well.
pub use xenmem_conformance::run_dom0;

/// Two hypercalls with the same arguments: the arguments stay live across the first `hvc`, so
/// the compiler must bring x1-x4 and x16 back for the second one (Xen may have clobbered them)
/// and keep the values it needs afterwards somewhere else.
#[no_mangle]
#[inline(never)]
pub extern "C" fn xenmem_hvc_clobber_probe(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    // SAFETY: never called; it exists to be disassembled.
    let r1 = unsafe { Hvc.hypercall(29, [a, b, c, d, e]) };
    // SAFETY: as above.
    let r2 = unsafe { Hvc.hypercall(29, [a, b, c, d, e]) };
    (r1 as u64) ^ (r2 as u64) ^ a ^ b ^ c ^ d ^ e
}
EOF

export CARGO_TARGET_DIR="$repo/target/arm64-toolchain/target"
start=$EPOCHREALTIME
(cd "$probe" && cargo build --quiet --release -Zbuild-std=core --target "$target")
awk -v s="$start" -v e="$EPOCHREALTIME" -v t="$target" \
    'BEGIN { printf "built xenmem and xenmem-conformance for %s in %.1f s\n", t, e - s }'

lib=$(ls "$CARGO_TARGET_DIR/$target/release/deps"/libxenmem_arm64_probe-*.rlib | head -n1)
dis="$repo/target/arm64-toolchain/clobber-probe.s"
aarch64-linux-gnu-objdump -d --no-show-raw-insn "$lib" 2>/dev/null |
    awk '/<xenmem_hvc_clobber_probe>:/ { on = 1; print; next } on && /^$/ { exit } on { print }' >"$dis"
cat "$dis"

# The checks, on the disassembly:
# 1. exactly two `hvc #0xea1`, each after a write of the hypercall number 29 to x16 (w16);
# 2. between them, x1, x2, x3, x4 and x16 are each written again: the compiler did not assume
#    they survived the first hvc (it had to, for the second hvc's identical arguments).
awk '
    function dest(line,   ops) {
        # The first operand of an instruction that writes a register (not stores, compares or
        # branches), as "x1" for both x1 and w1.
        if (line ~ /\t(str|stp|stur|strb|strh|cmp|cmn|tst|b|b\.[a-z]+|cbz|cbnz|tbz|tbnz|ret|hvc|nop|msr)[ \t]/) return ""
        if (split(line, ops, "\t") < 3) return ""
        sub(/,.*/, "", ops[3]); sub(/^[wx]/, "x", ops[3])
        return ops[3]
    }
    /hvc\t#0xea1/ {
        hvcs++
        if (!x16_29) { print "FAIL: hvc #" hvcs " without x16 = 29 before it"; bad = 1 }
        if (hvcs == 2) for (r in need) if (!(r in seen)) { print "FAIL: " r " not reloaded between the hvcs"; bad = 1 }
        x16_29 = 0; delete seen; next
    }
    /\tmov\t[wx]16, #0x1d/ { x16_29 = 1 }
    { d = dest($0); if (d != "") seen[d] = 1 }
    BEGIN { need["x1"]; need["x2"]; need["x3"]; need["x4"]; need["x16"] }
    END {
        if (hvcs != 2) { print "FAIL: expected 2 hvc #0xea1, found " hvcs; bad = 1 }
        if (bad) exit 1
        print "hvc check: 2 x hvc #0xea1 with x16 = 29; x1-x4 and x16 rewritten after the first (treated as clobbered)"
    }' "$dis"
