set -euo pipefail
# The workspace's rust-version with Debian 12's own Rust of that version (rustc-web and
# cargo-web from bookworm): the no_std library and the model built and tested, every other
# crate checked.
bash scripts/msrv.sh
