set -euo pipefail
# The xenmem command on a real Linux dom0: Debian's Linux as an x86 PV dom0 under real Xen
# 4.17 with a static xenmem, its subcommands checked against Xen, and the conformance suite
# through privcmd diffed against the model configured as a PV dom0.
bash scripts/real-linux-dom0-cli.sh
