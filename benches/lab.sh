# Sourced by the benches that run a lab of real OVN programs (ic-routed.sh, scale.sh):
# `run_lab NAME PROGRAM ARGS...` runs PROGRAM with TMPDIR set to a fresh directory, and on
# exit (normal, error, Ctrl-C or TERM) stops PROGRAM and every lab process still running
# from that directory, then removes it.

lab_tmp=""
bench_pid=""
lab_name=""

lab_pids() {
    # Escape the regex characters pgrep would otherwise interpret (mktemp's dot).
    pgrep -f -- "$(printf '%s/' "$lab_tmp" | sed 's/[][\.*^$+?(){}|]/\\&/g')" || true
}

lab_cleanup() {
    trap - EXIT INT TERM
    if [ -n "$bench_pid" ]; then
        kill -TERM "$bench_pid" 2>/dev/null || true
        wait "$bench_pid" 2>/dev/null || true
        bench_pid=""
    fi
    [ -n "$lab_tmp" ] || return 0
    local pids
    pids="$(lab_pids)"
    if [ -n "$pids" ]; then
        echo "$lab_name: stopping the bench's lab processes:" $pids >&2
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

run_lab() {
    lab_name="$1"
    shift
    lab_tmp="$(mktemp -d "${TMPDIR:-/tmp}/$lab_name.XXXXXX")"
    trap lab_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    TMPDIR="$lab_tmp" "$@" &
    bench_pid=$!
    local status=0
    wait "$bench_pid" || status=$?
    bench_pid=""
    return "$status"
}
