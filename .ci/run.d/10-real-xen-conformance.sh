set -euo pipefail
# The differential runs against the real hypervisor (Debian's Xen under QEMU, every release
# and machine in xtask/src/table.rs): each kernel's dom0 and domU suites diffed line by line
# against the model configured alike, and real Xen held to the recorded golden files.
cargo xtask conformance
