#!/usr/bin/env bash
# The workspace's rust-version, tested with the Rust that Debian 12 itself ships: the
# rustc-web/cargo-web release of that version from bookworm's main archive, unpacked under
# target/ (the installed rustc-web, which bookworm-security may have moved on, is untouched).
#
# It builds the no_std crates (xenmem, xenmem-conformance and xenmem-capi without default
# features) for a bare-metal target, core built from Debian's library source of the same
# release; builds and tests the library and the model (xenmem-sim) on the host; and checks
# every other crate of the workspace with all its targets, so the rust-version every crate
# inherits is a fact. A crate that needs a newer Rust must say so
# with its own rust-version, and is then left out here.
#
# Usage: scripts/msrv.sh          (needs the Debian package lists; root to install the few
#                                   shared libraries the toolchain links against)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' "$repo/Cargo.toml")
[ -n "$msrv" ] || { echo "no workspace rust-version in Cargo.toml" >&2; exit 1; }
series=$(cut -d. -f1,2 <<<"$msrv")   # "1.85" for 1.85 and 1.85.x alike
pkgs=(rustc-web cargo-web libstd-rust-web-dev "libstd-rust-web-$series" rust-web-src)

# Debian's version string of rustc-web $series.*, from any archive the lists know of.
debian_version() { apt-cache madison rustc-web | awk -v s="$series." 'index($3, s) == 1 { print $3; exit }'; }
ver=$(debian_version)
if [ -z "$ver" ]; then
    apt-get update -qq
    ver=$(debian_version)
fi
[ -n "$ver" ] || {
    echo "Debian's package lists hold no rustc-web $series.x (rust-version $msrv):" >&2
    apt-cache madison rustc-web >&2
    exit 1
}

root="$repo/target/msrv-toolchain/$ver"
if [ ! -x "$root/usr/bin/cargo" ]; then
    debs=$(mktemp -d)
    trap 'rm -rf "$debs"' EXIT
    (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "${pkgs[@]/%/=$ver}")
    mkdir -p "$root.tmp"
    for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root.tmp"; done
    mv "$root.tmp" "$root"
fi

# The shared libraries those packages link against (LLVM, libcurl, ...), installed like any
# package: every dependency that is not one of the four unpacked above.
need=()
for p in "${pkgs[@]}"; do
    for dep in $(apt-cache show "$p=$ver" | sed -n 's/^Depends: //p' | tr ',' '\n' |
        sed 's/|.*//; s/(.*)//; s/:any//' | tr -d ' '); do
        case " ${pkgs[*]} " in *" $dep "*) continue ;; esac
        dpkg -s "$dep" >/dev/null 2>&1 || need+=("$dep")
    done
done
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; }
fi

# The unpacked rustc finds its standard library beside itself (sysroot = $root/usr) and its
# driver through the loader path; rustup's proxies are kept off PATH so nothing newer sneaks in.
export LD_LIBRARY_PATH="$root/usr/lib/$(gcc -dumpmachine)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$root/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export RUSTC="$root/usr/bin/rustc" RUSTDOC="$root/usr/bin/rustdoc"
export CARGO_TARGET_DIR="$repo/target/msrv"
unset RUSTUP_TOOLCHAIN RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
cd "$repo"
"$RUSTC" --version
cargo --version
have=$("$RUSTC" --version | awk '{ print $2 }')
[ "$(cut -d. -f1,2 <<<"$have")" = "$series" ] || { echo "expected rustc $series.x, got $have" >&2; exit 1; }

# -Zbuild-std is unstable: RUSTC_BOOTSTRAP lets this release toolchain take it, for this
# build only.
RUSTC_BOOTSTRAP=1 cargo build --locked -p xenmem -p xenmem-conformance -p xenmem-capi \
    --no-default-features -Zbuild-std=core --target x86_64-unknown-none
cargo test --locked -p xenmem -p xenmem-sim
cargo check --locked --workspace --all-targets
echo "msrv: rustc $have (Debian rustc-web $ver) builds the no_std crates for x86_64-unknown-none," \
    "builds and tests xenmem and xenmem-sim, checks the workspace"
