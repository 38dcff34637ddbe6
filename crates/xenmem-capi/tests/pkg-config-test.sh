#!/usr/bin/env bash
# The C library as a C project takes it: install.sh puts libxenmem_capi.a (with the model,
# so the program runs on a host), xenmem.h and xenmem.pc under a fresh prefix, and the
# consumer-pattern C test is compiled and linked with nothing but
# `pkg-config --cflags --libs xenmem`, then run. Passes on its closing line "N passed, 0 failed".
# Usage: bash crates/xenmem-capi/tests/pkg-config-test.sh   (needs pkg-config and gcc)
set -euo pipefail
crate="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

echo "== install under a fresh prefix =="
bash "$crate/install.sh" "$prefix" --features model
find "$prefix" -type f | sed "s|^$prefix/|  |" | sort
cat "$prefix/lib/pkgconfig/xenmem.pc"

echo "== compile with pkg-config only =="
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --modversion xenmem
flags="$(pkg-config --cflags --libs xenmem)"
echo "pkg-config --cflags --libs xenmem: $flags"
# From a directory of its own, so nothing but the flags can point at the header or library.
cp "$crate/tests/c/test_consumer_xenlib.c" "$tmp/app.c"
(cd "$tmp" && gcc -std=c11 -Wall -Wextra -Werror -O1 app.c $flags -o app)

echo "== run =="
"$tmp/app" | tee "$tmp/out.txt"
last="$(tail -n 1 "$tmp/out.txt")"
[[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] || { echo "pkg-config build failed: $last" >&2; exit 1; }
echo "pkg-config: $last"
