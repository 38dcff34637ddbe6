#!/usr/bin/env bash
# xenmem's ABI against Debian 13's libxen-dev (Xen 4.20's public headers), as
# crates/xenmem/tests/abi_headers.rs checks Debian 12's (4.17) in the plain test run.
#
# The package comes from Debian 13 ("trixie") of the same mirror the host's apt uses, through
# a private apt configuration under out/: the host's sources and package lists stay untouched.
# It is downloaded and unpacked, never installed. Safe to re-run (the unpacked headers are
# cached in out/xen-headers-4.20/).
#
# Exit status: non-zero when the headers cannot be fetched or the test fails.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache="$repo/out/xen-headers-4.20"
apt_dir="$cache/apt"
include="$cache/root/usr/include"

if [[ ! -s $include/xen/domctl.h ]]; then
    mkdir -p "$apt_dir/lists/partial" "$cache/debs"
    # The mirror of the host's own Debian sources (deb822 or one-line format).
    sources=()
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] && sources+=("$f")
    done
    mirror=""
    if ((${#sources[@]})); then
        mirror=$(sed -nE 's/^URIs: *(\S+).*/\1/p; s/^deb +(\[[^]]*\] +)?(\S+) +\S+ .*/\2/p' "${sources[@]}" |
            { grep -v security || true; } | head -n1)
    fi
    [[ -n $mirror ]] || { echo "no Debian mirror found in the host's apt sources" >&2; exit 2; }
    echo "deb $mirror trixie main" >"$apt_dir/sources.list"
    opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$apt_dir/lists" -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update -qq
    (cd "$cache/debs" && apt-get "${opts[@]}" download libxen-dev)
    deb=$(ls "$cache"/debs/libxen-dev_4.20*.deb | head -n1)
    rm -rf "$cache/root"
    dpkg-deb -x "$deb" "$cache/root"
    echo "unpacked $(basename "$deb")"
fi
grep -q 'XEN_DOMCTL_INTERFACE_VERSION 0x00000017' "$include/xen/domctl.h" ||
    { echo "$include/xen/domctl.h is not Xen 4.20's" >&2; exit 1; }

XENMEM_REQUIRE_XEN_HEADERS=1 XENMEM_XEN_HEADERS="4.20=$include" \
    cargo test --quiet -p xenmem --test abi_headers -- --nocapture abi_matches_xens_public_headers
