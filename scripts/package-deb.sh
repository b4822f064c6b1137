#!/usr/bin/env bash
# Builds the Debian package of ic-routed with dpkg-deb (no cargo-deb, no debhelper):
# target/debian/ic-routed_<version>_<arch>.deb holding /usr/bin/ic-routed, /usr/bin/ovnlink,
# the systemd unit ic-routed.service, /etc/default/ic-routed and the docs, with maintainer
# scripts that divert Debian's /usr/bin/ovn-ic to /usr/bin/ovn-ic.distrib and put ic-routed
# in its place (so ovn-ic.service, `ovn-ctl start_ic` and Kube-OVN's or OpenStack's tooling
# run it), and that remove the diversion again on removal.
#
# Usage: scripts/package-deb.sh [--debug] [--no-build]
#   --debug     build and package the dev profile (cargo build without --release): minutes
#               faster from a cold target directory; the version gets a "~dev" suffix so a
#               debug package is never mistaken for a release one. The tests use it.
#   --no-build  package the binaries already in the target directory.
# Honours CARGO (the cargo program) and CARGO_TARGET_DIR. Prints the package's path as the
# last line of standard output.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root_dir=$(pwd)

profile=release
build=1
for arg in "$@"; do
    case $arg in
        --debug) profile=debug ;;
        --no-build) build=0 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "package-deb.sh: unknown argument $arg (see --help)" >&2
            exit 2
            ;;
    esac
done

for tool in dpkg-deb dpkg md5sum gzip install; do
    command -v "$tool" >/dev/null || { echo "package-deb.sh: $tool is needed" >&2; exit 1; }
done

cargo=${CARGO:-cargo}
target_dir=${CARGO_TARGET_DIR:-$root_dir/target}
case $target_dir in /*) ;; *) target_dir=$root_dir/$target_dir ;; esac

# The workspace's version ([workspace.package] is the first `version =` of the root manifest).
version=$(sed -n 's/^version = "\([^"]*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "package-deb.sh: no version in Cargo.toml" >&2; exit 1; }
[ "$profile" = debug ] && version="$version~dev"
arch=$(dpkg --print-architecture)
name=ic-routed
out_dir=$target_dir/debian
stage=$out_dir/${name}_${version}_${arch}
deb=$out_dir/${name}_${version}_${arch}.deb

started=$(date +%s)
if [ "$build" = 1 ]; then
    if [ "$profile" = release ]; then
        "$cargo" build --locked --release -p ic-routed -p ovnlink-cli >&2
    else
        "$cargo" build --locked -p ic-routed -p ovnlink-cli >&2
    fi
fi
built=$(date +%s)
bin_dir=$target_dir/$profile
for bin in ic-routed ovnlink; do
    [ -x "$bin_dir/$bin" ] || { echo "package-deb.sh: $bin_dir/$bin missing (build it, or drop --no-build)" >&2; exit 1; }
done

rm -rf "$stage" "$deb"
mkdir -p "$stage/DEBIAN"
install -D -m 0755 "$bin_dir/ic-routed" "$stage/usr/bin/ic-routed"
install -D -m 0755 "$bin_dir/ovnlink" "$stage/usr/bin/ovnlink"
# Debian ships its binaries without debug information (dh_strip); so does this package.
if command -v strip >/dev/null; then
    strip --strip-debug "$stage/usr/bin/ic-routed" "$stage/usr/bin/ovnlink"
fi
# /usr/bin/ovn-ic is the package's own once preinst has diverted Debian's to ovn-ic.distrib;
# the program takes its name (pid file, control socket, /proc/PID/comm) from argv[0].
ln -s ic-routed "$stage/usr/bin/ovn-ic"
# The unit puts this directory first in PATH, so it runs ic-routed even without the diversion.
mkdir -p "$stage/usr/lib/ic-routed/bin"
ln -s ../../../bin/ic-routed "$stage/usr/lib/ic-routed/bin/ovn-ic"
install -D -m 0644 packaging/ic-routed.service "$stage/usr/lib/systemd/system/ic-routed.service"
install -D -m 0644 packaging/ic-routed.default "$stage/etc/default/ic-routed"

doc=$stage/usr/share/doc/$name
install -D -m 0644 README.md "$doc/README.md"
install -m 0644 ARCHITECTURE.md "$doc/ARCHITECTURE.md"
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ovnlink

Files: *
Copyright: the ovnlink developers
License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.
EOF
# A native package's changelog (dpkg-parsechangelog's format), one entry per version.
cat <<EOF | gzip -9n >"$doc/changelog.gz"
$name ($version) unstable; urgency=medium

  * Package of ic-routed $version, built from $(git rev-parse --short HEAD 2>/dev/null || echo "a source tree")
    with cargo's $profile profile.

 -- ovnlink developers <ovnlink@example.invalid>  $(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")
EOF

# Runtime libraries: dpkg-shlibdeps reads the binaries' NEEDED entries and the symbol
# versions they use. It wants a debian/control, so it runs in a scratch source tree.
shlibs=""
if command -v dpkg-shlibdeps >/dev/null; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    mkdir -p "$scratch/debian"
    printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" >"$scratch/debian/control"
    shlibs=$(cd "$scratch" && dpkg-shlibdeps -O -e"$stage/usr/bin/ic-routed" -e"$stage/usr/bin/ovnlink" 2>/dev/null |
        sed -n 's/^shlibs:Depends=//p')
fi
[ -n "$shlibs" ] || shlibs="libc6"

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: ovnlink developers <ovnlink@example.invalid>
Installed-Size: $installed_size
Depends: ovn-common, $shlibs
Suggests: ovn-ic, ovn-ic-db
Enhances: ovn-central
Section: net
Priority: optional
Description: OVN interconnection controller, a drop-in replacement for ovn-ic
 ic-routed is a pure-Rust replacement for ovn-ic, the Open Virtual Network
 interconnection controller: the same flags, the same control commands and
 the same behaviour as the ovn-ic of the zone's OVN release, with an
 incremental route engine and an optional VPC isolation filter.
 .
 This package diverts /usr/bin/ovn-ic (from the ovn-ic package, if any) to
 /usr/bin/ovn-ic.distrib and installs ic-routed in its place, so ovn-ic.service
 and "ovn-ctl start_ic" run it; removing the package restores ovn-ic. It also
 ships ic-routed.service, a unit that runs it whether or not the diversion is
 in place, and ovnlink, the operator's tool for VPC isolation.
EOF
echo /etc/default/ic-routed >"$stage/DEBIAN/conffiles"

# Maintainer scripts. The diversion is added before the package's /usr/bin/ovn-ic is
# unpacked (preinst) and removed after it is gone (postrm), as dpkg-divert(1) prescribes.
# systemd is only asked anything when it runs (not in a chroot or a container build).
cat >"$stage/DEBIAN/preinst" <<'EOF'
#!/bin/sh
set -e
case "$1" in
    install|upgrade)
        dpkg-divert --package ic-routed --add --rename \
            --divert /usr/bin/ovn-ic.distrib /usr/bin/ovn-ic
        ;;
esac
exit 0
EOF
cat >"$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    # A running ovn-ic.service now starts /usr/bin/ovn-ic, which is ic-routed: restart it
    # (and ic-routed.service on an upgrade) so the running daemon is this package's.
    deb-systemd-invoke try-restart ovn-ic.service ic-routed.service >/dev/null || true
fi
exit 0
EOF
cat >"$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    deb-systemd-invoke stop ic-routed.service >/dev/null || true
fi
exit 0
EOF
cat >"$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
case "$1" in
    remove|abort-install|disappear)
        dpkg-divert --package ic-routed --remove --rename \
            --divert /usr/bin/ovn-ic.distrib /usr/bin/ovn-ic
        if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
            systemctl --system daemon-reload >/dev/null || true
            # Debian's ovn-ic is /usr/bin/ovn-ic again: let a running ovn-ic.service run it.
            deb-systemd-invoke try-restart ovn-ic.service >/dev/null || true
        fi
        ;;
    purge)
        if [ -x /usr/bin/deb-systemd-helper ]; then
            deb-systemd-helper purge ic-routed.service >/dev/null || true
        fi
        ;;
esac
exit 0
EOF
chmod 0755 "$stage/DEBIAN/preinst" "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"

# xz at its fastest for a debug package (what the tests build): seconds instead of 15 s.
compression=()
[ "$profile" = debug ] && compression=(-z1)
dpkg-deb --root-owner-group "${compression[@]}" --build "$stage" "$deb" >&2
rm -rf "$stage"
echo "package-deb.sh: $profile build $((built - started)) s, package $(($(date +%s) - built)) s" >&2
echo "$deb"
