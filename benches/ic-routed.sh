#!/usr/bin/env bash
# Route exchange on real OVN: Debian's ovn-ic against ic-routed, measured in the same run.
#   bash benches/ic-routed.sh                       # the issue's sizes (takes a while)
#   bash benches/ic-routed.sh --learn 2000 --add 2000   # a quick look
# Needs the OVN packages (scripts/apt-install.sh installs them).
#
# The labs (ovsdb-server, ovn-northd, ovn-ic, ic-routed) detach from the bench, so an
# interrupted bench would leave them running. The bench therefore runs with TMPDIR set to a
# directory of its own, which every lab file (databases, sockets, pid files) lives under and
# every lab process names on its command line; on exit, INT or TERM the script stops the
# bench, then the processes whose command line names that directory, then removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=benches/lab.sh
. benches/lab.sh

cargo build --release -p ic-routed --quiet
cargo build --release -p ovnlink --example ic-bench --quiet
target="$(realpath "${CARGO_TARGET_DIR:-target}")"

run_lab ic-bench "$target/release/examples/ic-bench" --ic-routed "$target/release/ic-routed" "$@"
