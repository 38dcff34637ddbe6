#!/usr/bin/env bash
# Installs the C library as C projects take it: builds libxenmem_capi.a (release) and puts it,
# its header and a pkg-config file under a prefix:
#
#   PREFIX/lib/libxenmem_capi.a
#   PREFIX/include/xenmem.h
#   PREFIX/lib/pkgconfig/xenmem.pc      (pkg-config --cflags --libs xenmem)
#
# Usage: crates/xenmem-capi/install.sh PREFIX [CARGO BUILD OPTIONS...]
#   e.g. install.sh /usr/local
#        install.sh "$HOME/.local" --features model      (the library with its model of Xen,
#                                                        for C tests on a host)
#        install.sh /opt/xenmem --no-default-features    (no_std, for a bare-metal program;
#                                                        cross builds take --target too)
# Environment: DESTDIR is prepended to every installed path (for packagers); the .pc file
# still names PREFIX. Works from a checkout of the workspace and from the unpacked crate.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PREFIX [cargo build options...]" >&2; exit 2; }
prefix=$1
shift
case $prefix in
/*) ;;
*) echo "PREFIX must be an absolute path (pkg-config hands it to compilers as is)" >&2; exit 2 ;;
esac
crate="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$crate/Cargo.toml"

cargo build --release --manifest-path "$manifest" -p xenmem-capi "$@"

target_dir="$(cargo metadata --format-version 1 --no-deps --manifest-path "$manifest" |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
# A --target build puts its output under the target's own directory.
triple=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
  --target) triple=${args[i + 1]:-} ;;
  --target=*) triple=${args[i]#--target=} ;;
  esac
done
lib="$target_dir/${triple:+$triple/}release/libxenmem_capi.a"
[ -f "$lib" ] || { echo "no $lib after the build" >&2; exit 1; }

# The system libraries a hosted static Rust library needs at link time; a no_std build
# (--no-default-features) needs none.
libs_private="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
for a in "$@"; do
  [ "$a" = --no-default-features ] && libs_private=""
done
version="$(cargo metadata --format-version 1 --no-deps --manifest-path "$manifest" |
  sed -n 's/.*"name":"xenmem-capi","version":"\([^"]*\)".*/\1/p')"
[ -n "$version" ] || { echo "cannot tell xenmem-capi's version" >&2; exit 1; }

dest="${DESTDIR:-}$prefix"
install -d "$dest/lib/pkgconfig" "$dest/include"
install -m 0644 "$lib" "$dest/lib/libxenmem_capi.a"
install -m 0644 "$crate/include/xenmem.h" "$dest/include/xenmem.h"
# Only a static library is installed, so the system libraries it needs go in Libs, not
# Libs.private: `pkg-config --cflags --libs xenmem` is then all a program needs.
cat >"$dest/lib/pkgconfig/xenmem.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: xenmem
Description: Zephyr's xendom_* Xen memory functions over the xenmem Rust library
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lxenmem_capi $libs_private
EOF
echo "installed libxenmem_capi.a, xenmem.h and xenmem.pc $version under $dest"
