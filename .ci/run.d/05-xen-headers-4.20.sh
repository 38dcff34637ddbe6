set -euo pipefail
# xenmem's ABI against Xen 4.20's public headers (Debian 13's libxen-dev, fetched without
# touching the host's apt sources), as the tests above check 4.17's (Debian 12's).
bash scripts/xen-headers-4.20.sh
