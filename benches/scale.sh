#!/usr/bin/env bash
# Issue 17's scale harness: one real zone (ovsdb-server NB/SB, ovn-northd) running
# ic-routed (or Debian's ovn-ic) against a real IC-SB ovsdb-server filled by a generator with
# the rows of many zones (Availability_Zone, Gateway/Encap, Port_Binding, Route rows shaped
# like ovn-ic's: IPv4 and IPv6, connected and static, named route tables, ECMP), then churn
# and a bulk advertisement. Every figure is printed beside its baseline from the same run.
#
#   bash benches/scale.sh                                    # 100 zones x 10,000 routes
#   bash benches/scale.sh --zones 10 --routes-per-zone 1000  # a quick look
#   bash benches/scale.sh --daemon ovn-ic --zones 4 --routes-per-zone 1000 --timeout 600
#
# Flags (defaults): --daemon ic-routed|ovn-ic (ic-routed), --zones N (100),
# --routes-per-zone N (10000), --transit-switches N (zones/2), --ts-per-zone N (2),
# --churn-zones K (10), --rate CHANGES_PER_S_PER_ZONE (100), --churn-secs S (30),
# --bulk N (50000), --timeout S (600, per wait). What each phase measures: the doc comment
# of examples/ic-scale/. Needs the OVN packages (scripts/apt-install.sh installs them);
# OVNLINK_OVN_ROOT=/var/cache/ovnlink/debian13 runs OVN 25.03's programs instead.
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

# One invocation, so both targets share one feature resolution (two would rebuild the
# shared crates each time).
cargo build --release -p ic-routed -p ovnlink --bin ic-routed --example ic-scale --quiet
target="$(realpath "${CARGO_TARGET_DIR:-target}")"

run_lab ic-scale "$target/release/examples/ic-scale" --ic-routed "$target/release/ic-routed" "$@"
