#!/usr/bin/env bash
# Checks the packaging files without the tools this machine lacks. There is no docker daemon
# here (and no hadolint), so packaging/Dockerfile is never built by this script; instead:
# - every COPY source from the build context exists and is not excluded by .dockerignore;
# - the builder stage's sources alone make a loadable workspace (`cargo metadata --locked
#   --offline` on a copy of exactly those files), so `cargo build` in the image can start;
# - the packages it builds (`-p`) are workspace members and the binaries it copies
#   (`target/release/NAME`) are their `[[bin]]` targets; the same for scripts/package-deb.sh;
# - packaging/ic-routed.service passes `systemd-analyze verify` with no message at all;
# - packaging/ic-routed.default is a POSIX shell fragment that sets nothing but OVN_CTL_OPTS;
# - the shell scripts parse (`bash -n`), and hadolint/shellcheck run when installed.
# Exit status 0 when every check passes; each failure is printed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo=${CARGO:-cargo}
failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
ok() {
    echo "ok: $*"
}

dockerfile=packaging/Dockerfile
[ -f "$dockerfile" ] || { echo "FAIL: $dockerfile missing" >&2; exit 1; }

# Instructions with their continuation lines joined, comments dropped.
instructions=$(sed -e '/^[[:space:]]*#/d' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta')

# .dockerignore patterns (top-level paths only, as written there).
ignored=()
if [ -f .dockerignore ]; then
    while IFS= read -r pattern; do
        case $pattern in '' | '#'*) continue ;; esac
        ignored+=("${pattern%/}")
    done <.dockerignore
fi

# COPY sources from the context; remember the builder stage's for the workspace check.
stage=""
builder_sources=()
while IFS= read -r line; do
    read -r -a words <<<"$line"
    [ "${#words[@]}" -gt 0 ] || continue
    case ${words[0]^^} in
        FROM)
            stage=""
            for ((i = 1; i < ${#words[@]}; i++)); do
                [ "${words[i]^^}" = AS ] && stage=${words[i + 1]}
            done
            ;;
        COPY | ADD)
            args=()
            from=""
            for w in "${words[@]:1}"; do
                case $w in
                    --from=*) from=${w#--from=} ;;
                    --*) ;;
                    *) args+=("$w") ;;
                esac
            done
            [ -n "$from" ] && continue
            n=${#args[@]}
            [ "$n" -ge 2 ] || { fail "$dockerfile: $line: no source"; continue; }
            for src in "${args[@]:0:n-1}"; do
                if [ ! -e "$src" ]; then
                    fail "$dockerfile: COPY source $src does not exist in the context"
                    continue
                fi
                for pattern in "${ignored[@]}"; do
                    if [ "$src" = "$pattern" ] || [ "${src#"$pattern"/}" != "$src" ]; then
                        fail "$dockerfile: COPY source $src is excluded by .dockerignore ($pattern)"
                    fi
                done
                [ "$stage" = builder ] && builder_sources+=("$src")
            done
            ;;
    esac
done <<<"$instructions"
ok "$dockerfile: COPY sources exist (${#builder_sources[@]} into the builder)"

# The builder's sources alone: a workspace cargo can load, with the locked dependencies.
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
for src in "${builder_sources[@]}"; do
    mkdir -p "$context/$(dirname "$src")"
    cp -a "$src" "$context/$src"
done
if (cd "$context" && "$cargo" metadata --locked --offline --format-version 1 >/dev/null 2>"$context.err"); then
    ok "the builder stage's COPY sources make a loadable workspace (cargo metadata --locked)"
else
    fail "cargo metadata on the builder's sources: $(cat "$context.err")"
fi
rm -f "$context.err"

# Workspace packages and their binaries.
metadata=$("$cargo" metadata --no-deps --offline --format-version 1)
bins_of() {
    jq -r --arg p "$1" '.packages[] | select(.name == $p) | .targets[] | select(.kind | index("bin")) | .name' <<<"$metadata"
}
check_builds() {
    local file=$1 text=$2
    local packages
    packages=$(grep -o -- '-p [a-z0-9_-]*' <<<"$text" | cut -d' ' -f2 | sort -u)
    [ -n "$packages" ] || fail "$file: builds no package (-p)"
    local bins=""
    for p in $packages; do
        local b
        b=$(bins_of "$p")
        [ -n "$b" ] || fail "$file: -p $p is not a workspace package with a binary"
        bins="$bins $b"
    done
    for used in $(grep -o 'target/release/[a-z0-9_-]*' <<<"$text" | cut -d/ -f3 | sort -u); do
        case " $bins " in
            *" $used "*) ;;
            *) fail "$file: target/release/$used is not a [[bin]] of the packages built ($bins )" ;;
        esac
    done
    ok "$file: builds $(echo $packages) with binaries$bins"
}
check_builds "$dockerfile" "$instructions"
check_builds scripts/package-deb.sh "$(cat scripts/package-deb.sh) target/release/ic-routed target/release/ovnlink"

# The systemd unit.
unit=packaging/ic-routed.service
if command -v systemd-analyze >/dev/null; then
    if [ -x /usr/share/ovn/scripts/ovn-ctl ]; then
        report=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit failed: $report"
        if [ -n "$report" ]; then
            fail "systemd-analyze verify $unit: $report"
        else
            ok "$unit: systemd-analyze verify prints nothing"
        fi
    else
        echo "skipped: systemd-analyze verify $unit (its ExecStart, /usr/share/ovn/scripts/ovn-ctl, is not installed)"
    fi
else
    echo "skipped: systemd-analyze verify $unit (systemd-analyze not installed)"
fi
grep -q '^EnvironmentFile=-/etc/default/ic-routed$' "$unit" || fail "$unit: does not read /etc/default/ic-routed"
grep -q '\$OVN_CTL_OPTS' "$unit" || fail "$unit: does not pass \$OVN_CTL_OPTS"

# The environment file.
default=packaging/ic-routed.default
if sh -n "$default"; then
    set_vars=$(env -i sh -c '. ./"$1"; set' sh "$default" | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' |
        grep -v -x -e OVN_CTL_OPTS -e PWD -e IFS -e PS1 -e PS2 -e PS4 -e OPTIND -e PPID -e _ || true)
    baseline=$(env -i sh -c 'set' | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' |
        grep -v -x -e PWD -e IFS -e PS1 -e PS2 -e PS4 -e OPTIND -e PPID -e _ || true)
    extra=$(comm -23 <(sort <<<"$set_vars") <(sort <<<"$baseline") | grep . || true)
    [ -z "$extra" ] || fail "$default sets more than OVN_CTL_OPTS: $extra"
    ok "$default: a shell fragment that sets only OVN_CTL_OPTS"
else
    fail "$default: not a POSIX shell fragment"
fi

for script in scripts/package-deb.sh scripts/check-packaging.sh; do
    bash -n "$script" || fail "$script does not parse"
done
if command -v shellcheck >/dev/null; then
    shellcheck scripts/package-deb.sh scripts/check-packaging.sh || fail "shellcheck"
else
    echo "skipped: shellcheck (not installed)"
fi
if command -v hadolint >/dev/null; then
    hadolint "$dockerfile" || fail "hadolint $dockerfile"
else
    echo "skipped: hadolint (not installed); the image itself is not built here (no docker daemon)"
fi

if [ "$failures" -gt 0 ]; then
    echo "$failures packaging check(s) failed" >&2
    exit 1
fi
echo "packaging checks passed"
