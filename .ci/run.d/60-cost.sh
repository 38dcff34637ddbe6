set -euo pipefail
# The library's cost report (code size of the five operations beside a thin C wrapper).
bash scripts/text-size.sh
