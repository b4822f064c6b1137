#!/usr/bin/env bash
# Runs the whole test suite: unit, integration and interop tests (against the real
# ovsdb-server, ovn-northd and ovn-ic from Debian's packages), doc tests, benches compiled
# as tests, and a short fuzzing smoke run.
#
# Installs the Debian packages when a program is missing. Environment:
#   FUZZ_SMOKE=0     skip the fuzzing smoke run
#   FUZZ_SECONDS=N   seconds per fuzz target (default 15, see scripts/fuzz-smoke.sh)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/apt-install.sh
. scripts/apt-install.sh

section() {
    printf '\n==== %s ====\n' "$*"
}

# Debian puts ovsdb-server in /usr/sbin, outside a normal user's PATH.
have() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]
}

PACKAGES=(openvswitch-common ovn-common ovn-central ovn-ic ovn-ic-db ovn-host)
NEEDED_PROGRAMS=(ovsdb-server ovsdb-tool ovsdb-client ovs-appctl ovn-nbctl ovn-northd ovn-ic ovn-ic-nbctl)
NEEDED_FILES=(
    /usr/share/ovn/ovn-nb.ovsschema
    /usr/share/ovn/ovn-sb.ovsschema
    /usr/share/ovn/ovn-ic-nb.ovsschema
    /usr/share/ovn/ovn-ic-sb.ovsschema
    /usr/share/openvswitch/vswitch.ovsschema
)

section "Open vSwitch and OVN programs"
missing=()
for program in "${NEEDED_PROGRAMS[@]}"; do
    have "$program" || missing+=("$program")
done
for file in "${NEEDED_FILES[@]}"; do
    [ -e "$file" ] || missing+=("$file")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "missing: ${missing[*]}"
    apt_install "${PACKAGES[@]}"
    for program in "${NEEDED_PROGRAMS[@]}"; do
        have "$program" || { echo "error: $program still missing after install" >&2; exit 1; }
    done
fi
server=$(command -v ovsdb-server || echo /usr/sbin/ovsdb-server)
"$server" --version | sed -n 1p
ovn-nbctl --version | sed -n 1p

# Tests that need the real programs fail instead of skipping.
export OVNLINK_REAL_TESTS=1

section "cargo test --workspace --all-targets (unit, integration, interop; benches as tests)"
cargo test --workspace --all-targets

section "cargo test --workspace --doc"
cargo test --workspace --doc

section "the README's main job (cargo run --example interconnect)"
cargo run --example interconnect
section "the protocol tour (cargo run --example tour)"
cargo run --example tour

if [ "${FUZZ_SMOKE:-1}" != 0 ] && [ -f scripts/fuzz-smoke.sh ]; then
    section "fuzzing smoke run (FUZZ_SMOKE=0 skips it)"
    bash scripts/fuzz-smoke.sh
else
    section "fuzzing smoke run skipped"
fi

section "all tests passed"
