#!/usr/bin/env bash
# Runs the whole test suite: unit, integration and interop tests (against the real
# ovsdb-server, ovn-northd and ovn-ic from Debian's packages), doc tests, benches compiled
# as tests, and a short fuzzing smoke run. The tests that run real programs run twice: once
# against the host's OVN (Debian 12: OVN 23.03.1, Open vSwitch 3.1), once against a Debian
# 13 root (OVN 25.03.0, Open vSwitch 3.5) built once and cached by scripts/ovn-release.sh.
# The second pass also builds the Debian package (scripts/package-deb.sh --debug) and installs
# it into a copy of that root (crates/ic-routed/tests/deb.rs).
#
# Installs the Debian packages when a program is missing. Environment:
#   FUZZ_SMOKE=0       skip the fuzzing smoke run
#   FUZZ_SECONDS=N     seconds per fuzz target (default 15, see scripts/fuzz-smoke.sh)
#   OVN_RELEASES=host  only the host's release (default: "host debian13")
#   OVNLINK_CACHE=DIR  where scripts/ovn-release.sh keeps its roots (/var/cache/ovnlink)
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
# Prometheus scrapes ic-routed's metrics in crates/ic-routed/tests/metrics.rs.
if ! have prometheus || ! have promtool; then
    apt_install --no-install-recommends prometheus
fi
server=$(command -v ovsdb-server || echo /usr/sbin/ovsdb-server)
"$server" --version | sed -n 1p
ovn-nbctl --version | sed -n 1p

# Tests that need the real programs fail instead of skipping.
export OVNLINK_REAL_TESTS=1

# The release of each pass, for the summary.
declare -a SUMMARY=()
started=$(date +%s)

release_label() {
    local nbctl=$1
    "$nbctl" --version | awk 'NR==1{ovn=$NF} NR==2{ovs=$NF} END{print "OVN " ovn " / Open vSwitch " ovs}'
}

section "pass 1: $(release_label ovn-nbctl) (this host) — cargo test --workspace --all-targets"
cargo test --workspace --all-targets
SUMMARY+=("$(release_label ovn-nbctl) (host): all tests passed in $(($(date +%s) - started)) s")

section "cargo test --workspace --doc"
cargo test --workspace --doc

section "packaging checks (scripts/check-packaging.sh; no docker daemon here to build the image)"
bash scripts/check-packaging.sh

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

for release in ${OVN_RELEASES:-host debian13}; do
    [ "$release" = host ] && continue
    root_started=$(date +%s)
    section "building or reusing the $release root (scripts/ovn-release.sh)"
    root=$(bash scripts/ovn-release.sh "$release")
    label="$(chroot "$root" ovn-nbctl --version | awk 'NR==1{ovn=$NF} NR==2{ovs=$NF} END{print "OVN " ovn " / Open vSwitch " ovs}')"
    section "pass: $label ($release root $root) — cargo test --workspace --tests"
    pass_started=$(date +%s)
    OVNLINK_OVN_ROOT=$root cargo test --workspace --tests
    SUMMARY+=("$label ($release root): all tests passed in $(($(date +%s) - pass_started)) s (root ready in $((pass_started - root_started)) s)")
done

section "all tests passed"
for line in "${SUMMARY[@]}"; do
    echo "  $line"
done
