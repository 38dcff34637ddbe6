set -euo pipefail
# arm64: Debian's rustc-web builds the no_std library for aarch64-unknown-none (the hvc
# clobbers checked in the disassembly), then real Xen 4.17 for arm64 boots the arm64 kernel as
# dom0 and as a dom0less domU, diffed against the model in Arm mode.
bash scripts/arm64-toolchain.sh
bash scripts/conformance.sh arm64
