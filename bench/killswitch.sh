#!/usr/bin/env bash
# Kill switch reaction benchmark: builds canary-report in release mode and runs
# bench/killswitch.py (a throw-away MariaDB, real captures, 20 trials per case).
#   bash bench/killswitch.sh                 # all four cases, 20 trials each
#   TRIALS=5 bash bench/killswitch.sh        # quicker
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server >/dev/null
    else
        echo "mariadbd not found: apt-get install mariadb-server" >&2
        exit 1
    fi
fi
cargo build --release --locked --quiet
exec python3 bench/killswitch.py --trials "${TRIALS:-20}" --rows "${ROWS:-2000000}" "$@"
