set -euo pipefail
# The model's raw decode under libFuzzer, bounded.
FUZZ_SECONDS=60 bash scripts/fuzz.sh
