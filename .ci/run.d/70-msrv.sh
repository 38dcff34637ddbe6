set -euo pipefail
# The workspace's rust-version with Debian 12's own Rust of that version (rustc-web,
# cargo-web and rust-web-src 1.85 from bookworm, unpacked under target/): the no_std crates
# built for x86_64-unknown-none, the library and the model built and tested, every other
# crate checked.
bash scripts/msrv.sh
