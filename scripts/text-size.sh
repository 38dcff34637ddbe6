#!/usr/bin/env bash
# Cost report: machine code of the five operations on x86_64 at opt-level "s", beside the
# thinnest C wrapper of the same calls at -Os. The backend call (one external function) is
# excluded on both sides: what is counted is marshalling, checking and result decoding.
set -euo pipefail
cd "$(dirname "$0")/../benches/text-size"
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lib=target/release/libxenmem_text_size.a
(cd "$work" && ar x "$OLDPWD/$lib" "$(ar t "$OLDPWD/$lib" | grep '^xenmem_text_size')")
gcc -Os -c thin.c -o "$work/thin.o"

sizes() { nm -S --size-sort "$1" | while read -r _ size kind name; do case $kind in t|T) echo "$name $((16#$size))";; esac; done; }
echo "xenmem (Rust, opt-level s, every function in the shim's object):"
sizes "$work"/xenmem_text_size*.o | grep -v ' 0$' | sed 's/^/  /'
rust=$(sizes "$work"/xenmem_text_size*.o | awk '{s += $2} END {print s}')
echo "thin C wrapper (gcc -Os):"
sizes "$work/thin.o" | sed 's/^/  /'
c=$(sizes "$work/thin.o" | awk '{s += $2} END {print s}')
echo "total: xenmem ${rust} bytes, thin C ${c} bytes"
