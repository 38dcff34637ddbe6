set -euo pipefail
# The xenmem command on a real Linux dom0: Debian's Linux as an x86 PV dom0 under real Xen
# with a static xenmem, its subcommands checked against Xen, and the conformance suite through
# privcmd diffed against the model configured as a PV dom0 and against the recording.
cargo xtask linux-dom0
