#!/usr/bin/env bash
# Packages every publishable crate as `cargo publish` would (cargo's workspace form: one
# `cargo package` for all of them, siblings resolved through a local registry overlay, each
# package verified by building it from its own unpacked sources), then builds and runs
# tests/downstream, a crate outside the workspace, against exactly those packages: the
# `.crate` files are unpacked into a temporary directory and `[patch.crates-io]` points the
# downstream crate (and the packages' own dependencies on each other) at them.
#
# Usage: bash scripts/package-check.sh [--keep] [--allow-dirty]
#   --keep leaves the temporary directory; --allow-dirty packages uncommitted changes.
# Needs crates.io (index and third-party crates) unless they are already in cargo's cache.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
keep=
allow_dirty=()
for arg in "$@"; do
    case $arg in
    --keep) keep=1 ;;
    --allow-dirty) allow_dirty=(--allow-dirty) ;; # local runs before a commit
    *) echo "usage: $0 [--keep] [--allow-dirty]" >&2; exit 2 ;;
    esac
done

# The publishable crates, in dependency order (the order crates.io needs them).
crates=(ovsdb-proto ovsdb-codegen ovn-nb ovn-sb ovn-ic-nb ovn-ic-sb ovsdb-server ovsdb-client
    ic-routes isolation ic-routed ovnlink-cli)
unpublished=(ovnlink ovnlink-testkit ovnlink-lab)

start=$(date +%s)
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
pkgdir="$target/package"
rm -rf "$pkgdir"

echo "==== cargo package --workspace (${#crates[@]} crates) ===="
exclude=()
for p in "${unpublished[@]}"; do exclude+=(--exclude "$p"); done
# Every publishable package must be packaged; an unpublished one must say so in its manifest.
published=$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["publish"] != []:
        print(p["name"])' | sort)
expected=$(printf '%s\n' "${crates[@]}" | sort)
if [ "$published" != "$expected" ]; then
    echo "package-check: publishable packages differ from the list in this script:" >&2
    diff <(echo "$expected") <(echo "$published") >&2 || true
    exit 1
fi
cargo package --workspace "${exclude[@]}" --locked "${allow_dirty[@]}"

work=$(mktemp -d "${TMPDIR:-/tmp}/ovnlink-package-check.XXXXXX")
if [ -z "$keep" ]; then trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work/crates"
patch=$'\n[patch.crates-io]\n'
for c in "${crates[@]}"; do
    file="$pkgdir/$c-0.1.0.crate"
    tar -xzf "$file" -C "$work/crates"
    # Every package carries the licence text and its README.
    for f in LICENSE README.md; do
        if [ ! -f "$work/crates/$c-0.1.0/$f" ]; then
            echo "package-check: $c's package lacks $f" >&2
            exit 1
        fi
    done
    case $c in
    # Binaries and the generator: verified by `cargo package`, not used by the downstream crate.
    ic-routed | ovnlink-cli | ovsdb-codegen) ;;
    *) patch+="$c = { path = \"$work/crates/$c-0.1.0\" }"$'\n' ;;
    esac
done

echo "==== tests/downstream against the packages ===="
cargo fmt --manifest-path tests/downstream/Cargo.toml --check
cp -r tests/downstream "$work/downstream"
rm -rf "$work/downstream/target"
# Third-party versions as the workspace tested them.
cp Cargo.lock "$work/downstream/Cargo.lock"
printf '%s' "$patch" >>"$work/downstream/Cargo.toml"
export CARGO_TARGET_DIR="$target/downstream"
(
    cd "$work/downstream"
    # Every ovnlink crate must come from the unpacked packages, none from a registry or the
    # workspace.
    tree=$(cargo tree -e normal --prefix none)
    for c in "${crates[@]}"; do
        if grep -E "^$c v" <<<"$tree" | grep -v "($work/crates/$c-0.1.0)" | grep -q .; then
            echo "package-check: $c does not resolve to its package:" >&2
            grep -E "^$c v" <<<"$tree" >&2
            exit 1
        fi
    done
    cargo build
    cargo run --quiet
)

# The verification builds' sources and target dir: only the .crate files are worth keeping.
find "$pkgdir" -mindepth 1 -maxdepth 1 ! -name '*.crate' -exec rm -rf {} +
echo "package-check: ${#crates[@]} packages built and the downstream crate ran in $(($(date +%s) - start)) s"
