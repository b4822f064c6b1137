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

lab_tmp="$(mktemp -d "${TMPDIR:-/tmp}/ic-bench.XXXXXX")"
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
        echo "ic-routed.sh: stopping the bench's lab processes:" $pids >&2
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

cargo build --release -p ic-routed --quiet
cargo build --release -p ovnlink --example ic-bench --quiet
target="$(realpath "${CARGO_TARGET_DIR:-target}")"

TMPDIR="$lab_tmp" "$target/release/examples/ic-bench" \
    --ic-routed "$target/release/ic-routed" "$@" &
bench_pid=$!
status=0
wait "$bench_pid" || status=$?
bench_pid=""
exit "$status"
