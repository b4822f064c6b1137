#!/usr/bin/env bash
# Builds, once, the root of another OVN release for the real-OVN tests, and prints its path.
#
#   bash scripts/ovn-release.sh [RELEASE]      RELEASE: debian13 (the default)
#
# debian13 is Debian 13 (trixie) with OVN 25.03.0 and Open vSwitch 3.5.0, made by
# `debootstrap --variant=minbase` from the same mirror as this machine's apt sources. The
# root is cached in $OVNLINK_CACHE (default /var/cache/ovnlink), outside any checkout, so a
# second run, or a CI run on a fresh clone of the same machine, costs nothing. A stamp file
# marks a complete root; a half-built one is built again. Tests use the root through
# OVNLINK_OVN_ROOT=<printed path> (crates/testkit/src/release.rs): its programs run under
# chroot, with their files in <root>/tmp. Needs root (debootstrap and chroot do).
#
# Only the path goes to standard output; progress goes to standard error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
release=${1:-debian13}
cache=${OVNLINK_CACHE:-/var/cache/ovnlink}

case "$release" in
debian13)
    suite=trixie
    packages=ovn-central,ovn-ic,ovn-ic-db,ovn-host,openvswitch-common
    ;;
*)
    echo "error: unknown release '$release' (known: debian13)" >&2
    exit 2
    ;;
esac

root=$cache/$release
stamp=$root/.ovnlink-complete
want="$suite $packages"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$root"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: building the $release root needs root (debootstrap, chroot); run as root" >&2
    exit 1
fi

# The first Debian mirror of this machine's apt sources (deb822 .sources or one-line form).
mirror() {
    local files=(/etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list)
    local f uri
    for f in "${files[@]}"; do
        [ -f "$f" ] || continue
        while read -r uri; do
            case "$uri" in
            */debian | */debian/) echo "${uri%/}"; return 0 ;;
            esac
        done < <(sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' "$f" | tr ' ' '\n')
    done
    return 1
}

mkdir -p "$cache"
exec 9>"$cache/.lock"
# One builder at a time; a second caller waits and then finds the stamp.
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "$root"
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    # shellcheck source=scripts/apt-install.sh
    . "$here/apt-install.sh"
    apt_install debootstrap >&2
fi

url=$(mirror) || {
    echo "error: no Debian mirror found in /etc/apt/sources.list{,.d}" >&2
    exit 1
}

echo "building the $release root ($suite, OVN packages) in $root from $url" >&2
started=$(date +%s)
rm -rf "$root.partial"
log=$cache/$release.debootstrap.log
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root.partial" "$url" >"$log" 2>&1; then
    echo "error: debootstrap failed; last lines of $log:" >&2
    tail -20 "$log" >&2
    exit 1
fi
# The packages' post-install scripts may start nothing here (no init), but check that the
# programs run under chroot before the root is trusted.
if ! chroot "$root.partial" ovn-nbctl --version >&2; then
    echo "error: ovn-nbctl does not run in the new root" >&2
    exit 1
fi
rm -rf "$root"
mv "$root.partial" "$root"
echo "$want" >"$stamp"
echo "built $root in $(($(date +%s) - started)) s" >&2
echo "$root"
