set -euo pipefail
# Every crate packages and verifies: each package is unpacked and built on its own, the
# workspace's other crates coming from the packages made in the same run (cargo's local
# overlay), external ones from the registry. The guest runtime and xtask are not published.
# Cargo unpacks each package it verifies under $CARGO_HOME/registry/src and reuses an earlier
# run's unpacked copy of the same name and version: remove ours first, so that what is built is
# the packages made now.
cargo_home=${CARGO_HOME:-$HOME/.cargo}
for p in xenmem xenmem-sim xenmem-privcmd xenmem-capi xenmem-conformance xenmem-cli; do
  rm -rf "$cargo_home"/registry/src/*/"$p"-[0-9]*
done
cargo package --workspace --exclude xenmem-guest-runtime --exclude xtask
# What the packages hold: no guest kernels, recorded real-Xen answers, tests or scripts
# (besides the C library's install step).
for p in xenmem xenmem-sim xenmem-privcmd xenmem-capi xenmem-conformance xenmem-cli; do
  list=$(cargo package --list -p "$p")
  if grep -E '^(guest|golden|tests|scripts|benches|fuzz)/|/golden/|\.sh$' <<<"$list" | grep -vx 'install.sh'; then
    echo "$p: the files above do not belong in its package" >&2
    exit 1
  fi
  echo "$p: $(wc -l <<<"$list") files"
done
# The README's install command gives the `xenmem` command.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cargo install --quiet --locked --path crates/xenmem-cli --root "$root"
"$root/bin/xenmem" demo >/dev/null
echo "cargo install --path crates/xenmem-cli: $root/bin/xenmem demo runs"
