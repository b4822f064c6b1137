#!/usr/bin/env bash
# Route exchange on real OVN: Debian's ovn-ic against ic-routed, measured in the same run.
#   bash benches/ic-routed.sh                       # the issue's sizes (takes a while)
#   bash benches/ic-routed.sh --learn 2000 --add 2000   # a quick look
# Needs the OVN packages (scripts/apt-install.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p ic-routed --quiet
exec cargo run --release --quiet --example ic-bench -- --ic-routed "$(realpath "${CARGO_TARGET_DIR:-target}")/release/ic-routed" "$@"
