set -euo pipefail
# xenmem's ABI against every release's public headers (each release's Debian libxen-dev,
# fetched without touching the host's apt sources), beside the plain test run's 4.17 check.
cargo xtask abi-headers
