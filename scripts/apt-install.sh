# Sourced by scripts/test.sh and benches/*.sh: apt_install PACKAGE... installs Debian packages
# non-interactively, as root or through sudo, after one `apt-get update`.
apt_install() {
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: not root and no sudo; install as root: apt-get install $*" >&2
            return 1
        fi
    fi
    echo "installing: $*"
    ${sudo[@]+"${sudo[@]}"} apt-get update </dev/null
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" </dev/null
}
