set -euo pipefail
# The differential runs against the real hypervisor (Debian's Xen under QEMU, every release
# and machine in xtask/src/table.rs): each kernel's dom0 and domU suites diffed line by line
# against the model configured alike, and real Xen held to the recorded golden files; the
# x86_64 boots also measure the hypercall economy and end with its
# `hypercall economy: xenmem ... on real Xen <release>` lines (counts checked, times reported).
cargo xtask conformance
