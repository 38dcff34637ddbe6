#!/usr/bin/env bash
# The C side of xenmem-capi, as CI runs it:
#   1. regenerates include/xenmem.h with cbindgen (tests/header.rs) into a temp file and diffs
#      it against the checked-in header;
#   2. builds libxenmem_capi.a with the `model` feature;
#   3. compiles each tests/c/*.c (the functions one by one; a real consumer's call pattern)
#      with gcc -Wall -Wextra -Werror against it, runs it, and passes on its closing line
#      "N passed, 0 failed";
#   4. checks that the header compiles as C++ and next to Xen's public headers (when
#      libxen-dev is installed);
# and prints the C tests' summed closing line as its own last line.
# Usage: bash crates/xenmem-capi/tests/run-c-test.sh   (from anywhere)
set -euo pipefail
crate="$(cd "$(dirname "$0")/.." && pwd)"
cd "$crate"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== header: regenerate with cbindgen and diff =="
if ! XENMEM_HEADER_OUT="$tmp/xenmem.h" cargo test -q -p xenmem-capi --test header >"$tmp/header.log" 2>&1; then
  [ -f "$tmp/xenmem.h" ] && diff -u include/xenmem.h "$tmp/xenmem.h" || cat "$tmp/header.log"
  echo "include/xenmem.h is stale: XENMEM_BLESS=1 cargo test -p xenmem-capi --test header" >&2
  exit 1
fi
diff -u include/xenmem.h "$tmp/xenmem.h"
echo "include/xenmem.h is up to date"

echo "== build libxenmem_capi.a (feature model) =="
cargo build -q -p xenmem-capi --features model
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
lib="$target_dir/debug/libxenmem_capi.a"
[ -f "$lib" ] || { echo "no $lib" >&2; exit 1; }

total=0
for src in tests/c/*.c; do
  name="$(basename "$src" .c)"
  echo "== compile and run $src =="
  gcc -std=c11 -Wall -Wextra -Werror -O1 -I include "$src" "$lib" \
    -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o "$tmp/$name"
  "$tmp/$name" | tee "$tmp/$name.out"
  last="$(tail -n 1 "$tmp/$name.out")"
  [[ "$last" =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] || { echo "$src failed: $last" >&2; exit 1; }
  total=$((total + BASH_REMATCH[1]))
done
closing="$total passed, 0 failed"

echo "== header: C++ and Xen's public headers =="
g++ -std=c++11 -Wall -Wextra -Werror -fsyntax-only -x c++ -I include - <<<'#define XENMEM_MODEL
#include "xenmem.h"
int main() { return xendom_remove_from_physmap(0, 0); }'
if [ -f /usr/include/xen/xen.h ]; then
  # Xen's public headers expect <stdint.h> first, as their users include it.
  printf '#include <stdint.h>\n#include <xen/xen.h>\n#include "xenmem.h"\n' >"$tmp/xen-first.c"
  printf '#include "xenmem.h"\n#include <xen/xen.h>\n' >"$tmp/xen-after.c"
  for f in xen-first xen-after; do
    printf 'int main(void) { xen_pfn_t g = 0; domid_t d = DOMID_SELF; return xendom_remove_from_physmap(d, g); }\n' \
      >>"$tmp/$f.c"
    gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I include "$tmp/$f.c"
  done
  echo "xenmem.h compiles before and after Xen's public xen.h"
else
  echo "(no /usr/include/xen/xen.h: the check beside Xen's public headers is skipped)"
fi
# The C tests' summed closing line, last, in the plain form CI reads.
echo "$closing"
