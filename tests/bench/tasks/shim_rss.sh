#!/bin/bash
# shim_rss.sh [BUILD_DIR] - resident memory of one shim holding one `sleep` container, side by
# side in one run, both under a private berthd (temp root/state/socket):
#   berth-shim               runtime io.containerd.berth.v1 (BUILD_DIR/runtime/shim)
#   containerd-shim-runc-v2  runtime io.containerd.runc.v2 (Debian's)
# Reads VmRSS, RssAnon and RssFile from /proc/<shim>/status and Pss from smaps_rollup, right
# after `ctr run -d` returns and again after IDLE seconds; prints the ratio berth/runc.
#
# Environment: IDLE [2]  BENCH_TMPDIR [/var/tmp]  KEEP_TMP=1
# Builds nothing: BUILD_DIR (or $BERTH_BUILD_DIR) must hold services/berthd and
# runtime/shim/berth-shim. Needs root.
set -euo pipefail

BUILD=${1:-${BERTH_BUILD_DIR:-}}
if [ -z "$BUILD" ]; then echo "usage: $0 BUILD_DIR" >&2; exit 2; fi
BUILD=$(cd "$BUILD" && pwd)
BERTHD=$BUILD/services/berthd
CTR=${CTR:-/usr/bin/ctr}
IDLE=${IDLE:-2}
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"  # remove_ns_cgroups
for f in "$BERTHD" "$BUILD/runtime/shim/berth-shim" "$CTR" /usr/bin/busybox \
         /usr/bin/containerd-shim-runc-v2; do
    [ -x "$f" ] || { echo "shim_rss.sh: missing $f" >&2; exit 2; }
done

TMP=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/berth-shimrss.XXXXXX")
SOCK=$TMP/berthd.sock
NS=shimrss-$$
BERTHD_PID=''
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for id in berth runc; do
        "$CTR" -a "$SOCK" -n "$NS" t kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    done
    sleep 0.3
    for id in berth runc; do
        "$CTR" -a "$SOCK" -n "$NS" t rm -f "$id" >/dev/null 2>&1 || true
        "$CTR" -a "$SOCK" -n "$NS" c rm "$id" >/dev/null 2>&1 || true
    done
    if [ -n "$BERTHD_PID" ] && kill -0 "$BERTHD_PID" 2>/dev/null; then
        kill -TERM "$BERTHD_PID"
        for _ in $(seq 150); do kill -0 "$BERTHD_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    wait 2>/dev/null || true
    remove_ns_cgroups "$NS"
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "shim_rss.sh: kept $TMP"; else rm -rf "$TMP"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/etc" "$TMP/fifo"
cp /usr/bin/busybox "$ROOTFS/bin/busybox"
for a in sh sleep; do ln -s busybox "$ROOTFS/bin/$a"; done
echo 'version = 2' >"$TMP/config.toml"

PATH="$BUILD/runtime/shim:$PATH" "$BERTHD" --config "$TMP/config.toml" --root "$TMP/root" \
    --state "$TMP/state" --address "$SOCK" --log-level warn 2>"$TMP/log" &
BERTHD_PID=$!
for _ in $(seq 100); do "$CTR" -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done

# shim_pid ID: the shim serving task ID: the parent of the task's init (both shims are the
# subreaper parent of their container).
shim_pid() {
    local task
    task=$("$CTR" -a "$SOCK" -n "$NS" t ls | awk -v id="$1" '$1 == id {print $2}')
    [ -n "$task" ] && ps -o ppid= -p "$task" | tr -d ' '
}
measure() {  # measure PID -> "rss anon file pss" in kB
    local pid=$1
    awk '/^VmRSS:/{r=$2} /^RssAnon:/{a=$2} /^RssFile:/{f=$2} END{printf "%s %s %s", r, a, f}' \
        "/proc/$pid/status"
    awk '/^Pss:/{printf " %s\n", $2}' "/proc/$pid/smaps_rollup"
}

declare -A FIRST LATER PID
for pair in berth:io.containerd.berth.v1 runc:io.containerd.runc.v2; do
    id=${pair%%:*} runtime=${pair#*:}
    "$CTR" -a "$SOCK" -n "$NS" run -d --runtime "$runtime" --fifo-dir "$TMP/fifo" \
        --rootfs "$ROOTFS" "$id" /bin/sleep 1000 >/dev/null
    pid=$(shim_pid "$id" || true)
    [ -n "$pid" ] || { echo "shim_rss.sh: no shim for $id" >&2; cat "$TMP/log" >&2; exit 1; }
    PID[$id]=$pid
    FIRST[$id]=$(measure "$pid")
done
# Nothing talks to the shims meanwhile (`ctr t ls` would: berthd asks each shim for its state).
sleep "$IDLE"
for id in berth runc; do LATER[$id]=$(measure "${PID[$id]}"); done

printf '%-34s %9s %9s %9s %9s\n' "shim (kB)" VmRSS RssAnon RssFile Pss
for id in berth runc; do
    name=$([ "$id" = berth ] && echo berth-shim || echo containerd-shim-runc-v2)
    read -r r a f p <<<"${FIRST[$id]}"
    printf '%-34s %9s %9s %9s %9s\n' "$name (at start)" "$r" "$a" "$f" "$p"
    read -r r a f p <<<"${LATER[$id]}"
    printf '%-34s %9s %9s %9s %9s\n' "$name (idle ${IDLE}s)" "$r" "$a" "$f" "$p"
done
read -r br _ _ bp <<<"${LATER[berth]}"
read -r rr _ _ rp <<<"${LATER[runc]}"
awk -v br="$br" -v rr="$rr" -v bp="$bp" -v rp="$rp" \
    'BEGIN{printf "ratio berth/runc (idle): VmRSS %.3f   Pss %.3f   (goal: berth-shim VmRSS < 1536 kB)\n", br/rr, bp/rp}'
