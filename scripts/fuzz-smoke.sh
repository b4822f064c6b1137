#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ briefly and fails on any crash.
#
# cargo-fuzz needs nightly-only rustc flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them for this run. cargo-fuzz is installed with `cargo install cargo-fuzz --locked`
# when missing. Environment:
#   FUZZ_SECONDS=N   seconds per target (default 15)
#   FUZZ_DIR=PATH    the cargo-fuzz directory (default: fuzz/ at the repository root)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_DIR=${FUZZ_DIR:-$PWD/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-15}
export RUSTC_BOOTSTRAP=1

shopt -s nullglob
sources=("$FUZZ_DIR"/fuzz_targets/*.rs)
shopt -u nullglob
if [ ! -f "$FUZZ_DIR/Cargo.toml" ] || [ "${#sources[@]}" -eq 0 ]; then
    echo "fuzz-smoke: no fuzz targets yet ($FUZZ_DIR/fuzz_targets/*.rs); nothing to run"
    exit 0
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
cargo fuzz --version

cd "$FUZZ_DIR"
# A command substitution, not a process substitution, so that a failing `cargo fuzz list`
# stops the script.
listed=$(cargo fuzz list)
mapfile -t targets < <(grep -v '^[[:space:]]*$' <<<"$listed" || true)
if [ "${#targets[@]}" -eq 0 ]; then
    echo "fuzz-smoke: cargo fuzz list found no targets; nothing to run"
    exit 0
fi
echo "fuzz-smoke: ${#targets[@]} target(s), ${FUZZ_SECONDS}s each: ${targets[*]}"

echo "fuzz-smoke: building"
cargo fuzz build

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
for target in "${targets[@]}"; do
    log="$logs/$target.log"
    status=0
    cargo fuzz run "$target" -- -max_total_time="$FUZZ_SECONDS" >"$log" 2>&1 </dev/null ||
        status=$?
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
    if [ "$status" -eq 0 ] && [ -n "$done_line" ]; then
        runs=$(awk '{print $2}' <<<"$done_line")
        seconds=$(awk '{print $5}' <<<"$done_line")
        echo "fuzz-smoke: $target: ok, $runs runs in ${seconds}s"
    else
        failed+=("$target")
        echo "fuzz-smoke: $target: FAILED (exit status $status); last lines of its output:"
        tail -n 40 "$log"
        artifacts=$(grep -oE "Test unit written to [^ ]+" "$log" | sed 's/^Test unit written to //' || true)
        if [ -n "$artifacts" ]; then
            echo "fuzz-smoke: $target: reproduce with: cargo fuzz run $target $artifacts"
        fi
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz-smoke: ${#failed[@]} target(s) failed: ${failed[*]}"
    exit 1
fi
echo "fuzz-smoke: all ${#targets[@]} target(s) ran without crashing"
