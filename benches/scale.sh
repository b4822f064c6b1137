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
# of examples/ic-scale.rs. Needs the OVN packages (scripts/apt-install.sh installs them);
# OVNLINK_OVN_ROOT=/var/cache/ovnlink/debian13 runs OVN 25.03's programs instead.
#
# The labs (ovsdb-server, ovn-northd, ovn-ic, ic-routed) detach from the bench, so an
# interrupted bench would leave them running. The bench therefore runs with TMPDIR set to a
# directory of its own, which every lab file (databases, sockets, pid files) lives under and
# every lab process names on its command line; on exit, INT or TERM the script stops the
# bench, then the processes whose command line names that directory, then removes it.
set -euo pipefail
cd "$(dirname "$0")/.."

lab_tmp="$(mktemp -d "${TMPDIR:-/tmp}/ic-scale.XXXXXX")"
bench_pid=""

# The pids of the processes whose command line names the bench's directory.
lab_pids() {
    # Escape the regex characters pgrep would otherwise interpret (mktemp's dot).
    pgrep -f -- "$(printf '%s/' "$lab_tmp" | sed 's/[][\.*^$+?(){}|]/\\&/g')" || true
}

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$bench_pid" ]; then
        kill -TERM "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
        bench_pid=""
    fi
    local pids
    pids="$(lab_pids)"
    if [ -n "$pids" ]; then
        echo "scale.sh: stopping the bench's lab processes:" $pids >&2
        # shellcheck disable=SC2086 # one pid per word
        kill -TERM $pids 2>/dev/null || true
        for _ in $(seq 30); do
            [ -z "$(lab_pids)" ] && break
            sleep 0.1
        done
        pids="$(lab_pids)"
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
    fi
    rm -rf -- "$lab_tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One invocation, so both targets share one feature resolution (two would rebuild the
# shared crates each time).
cargo build --release -p ic-routed -p ovnlink --bin ic-routed --example ic-scale --quiet
target="$(realpath "${CARGO_TARGET_DIR:-target}")"

TMPDIR="$lab_tmp" "$target/release/examples/ic-scale" \
    --ic-routed "$target/release/ic-routed" "$@" &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
bench_pid=""
exit "$status"
