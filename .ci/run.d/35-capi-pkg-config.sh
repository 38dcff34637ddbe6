set -euo pipefail
# The C library installed as C projects take it (crates/xenmem-capi/install.sh PREFIX: the
# static library, xenmem.h, xenmem.pc), and a C program built with
# `pkg-config --cflags --libs xenmem` only, run on the library's model of Xen.
if ! command -v pkg-config >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends pkgconf >/dev/null 2>&1 || {
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends pkgconf
  }
fi
bash crates/xenmem-capi/tests/pkg-config-test.sh
