set -euo pipefail
# arm64: Debian's rustc-web builds the no_std library for aarch64-unknown-none (the hvc
# clobbers checked in the disassembly); clippy over both guest kernels, warnings as errors.
bash scripts/arm64-toolchain.sh
cargo xtask lint-kernels
