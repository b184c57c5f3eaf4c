#!/usr/bin/env bash
# Times `canary-report build` against the polars reference script on seeded
# raw latency exports of 1M, 5M and 20M rows, side by side, and prints the
# ratios of wall time and peak memory (see bench/README.md).
#
#   bash bench/run.sh                 # all sizes, 3 runs each
#   SIZES="1M 5M" RUNS=1 bash bench/run.sh
#
# Installs what it needs when missing: GNU time and python3-venv (apt-get, as root), a Python
# virtualenv in bench/data/venv with bench/requirements.txt. Data and outputs
# go to bench/data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench/data
mkdir -p "$DATA"

# GNU time, and python3's venv module (Debian ships it apart).
need=()
[ -x /usr/bin/time ] || need+=(time)
python3 -c "import venv, ensurepip" >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "bench: missing ${need[*]}: apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

PY="$DATA/venv/bin/python"
if ! "$PY" -c "import polars, numpy" >/dev/null 2>&1; then
  echo "setting up $DATA/venv (polars, numpy)"
  python3 -m venv "$DATA/venv"
  "$DATA/venv/bin/pip" install -q --disable-pip-version-check -r bench/requirements.txt
fi

echo "building canary-report (release)"
cargo build --release --locked --quiet
GEN="$DATA/gen"
if [ ! -x "$GEN" ] || [ bench/gen/main.rs -nt "$GEN" ] || [ bench/gen/export.rs -nt "$GEN" ]; then
  echo "building the generator"
  rustc --edition 2024 -C opt-level=3 bench/gen/main.rs -o "$GEN"
fi

exec "$PY" bench/compare.py --bin "${CARGO_TARGET_DIR:-target}/release/canary-report" \
  --gen "$GEN" --data "$DATA" --sizes ${SIZES:-1M 5M 20M} --runs "${RUNS:-3}" \
  ${FORMATS:+--formats $FORMATS}
