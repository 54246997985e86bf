#!/usr/bin/env bash
# The demo: installs what it needs (setup.sh), then runs the `demo` command of the host
# example (examples/mqtt). Extra arguments are passed to the example after `demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
exec cargo run --features std --example mqtt -- demo "$@"
