set -euo pipefail
# The differential run against the real hypervisor (Debian's Xen 4.17 under QEMU): dom0 and
# unprivileged domU suites, diffed line by line against the model.
bash scripts/conformance.sh
