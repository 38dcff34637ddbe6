set -euo pipefail
# The C interface: header up to date, the C test against the embedded model, and the no_std
# hvc build for a Zephyr arm64 application.
bash crates/xenmem-capi/tests/run-c-test.sh
bash crates/xenmem-capi/tests/check-arm64.sh
