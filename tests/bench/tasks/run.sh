#!/bin/bash
# run.sh [BUILD_DIR] - `ctr run --rm --rootfs DIR id true` latency, side by side in one run:
#   berthd      + Debian's containerd-shim-runc-v2 (temp root/state/socket)
#   containerd  1.6 + the same shim (temp root/state/socket)
# with hyperfine (RUNS runs each, 3 warm-ups). Prints median and p95 of each and the ratios
# berthd/containerd (goal: at most 1/3 once berth-shim replaces the runc shim).
#
# Environment: RUNS [25]  BENCH_TMPDIR [/var/tmp]  KEEP_TMP=1
# Builds nothing: BUILD_DIR (or $BERTH_BUILD_DIR) must hold services/berthd. Needs root.
set -euo pipefail

BUILD=${1:-${BERTH_BUILD_DIR:-}}
if [ -z "$BUILD" ]; then echo "usage: $0 BUILD_DIR" >&2; exit 2; fi
BUILD=$(cd "$BUILD" && pwd)
BERTHD=$BUILD/services/berthd
CONTAINERD=${CONTAINERD:-/usr/bin/containerd}
CTR=${CTR:-/usr/bin/ctr}
RUNS=${RUNS:-25}
for f in "$BERTHD" "$CONTAINERD" "$CTR" /usr/bin/hyperfine /usr/bin/busybox \
         /usr/bin/containerd-shim-runc-v2; do
    [ -x "$f" ] || { echo "run.sh: missing $f" >&2; exit 2; }
done

TMP=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/berth-taskbench.XXXXXX")
BERTHD_PID='' CONTAINERD_PID=''
B_SOCK=$TMP/b/berthd.sock
C_SOCK=$TMP/c/containerd.sock
NS=bench-$$
stop_pid() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    "$CTR" -a "$B_SOCK" -n "$NS" t rm -f bench >/dev/null 2>&1 || true
    "$CTR" -a "$B_SOCK" -n "$NS" c rm bench >/dev/null 2>&1 || true
    "$CTR" -a "$C_SOCK" -n "$NS" t rm -f bench >/dev/null 2>&1 || true
    "$CTR" -a "$C_SOCK" -n "$NS" c rm bench >/dev/null 2>&1 || true
    stop_pid "$BERTHD_PID"; stop_pid "$CONTAINERD_PID"
    wait 2>/dev/null || true
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "run.sh: kept $TMP"; else rm -rf "$TMP"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A busybox rootfs.
ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/etc"
cp /usr/bin/busybox "$ROOTFS/bin/busybox"
for a in sh true echo; do ln -s busybox "$ROOTFS/bin/$a"; done

mkdir -p "$TMP/b" "$TMP/c" "$TMP/fifo"
echo 'version = 2' >"$TMP/b/config.toml"
cat >"$TMP/c/config.toml" <<EOC
version = 2
root = "$TMP/c/root"
state = "$TMP/c/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C_SOCK"
[ttrpc]
  address = "$C_SOCK.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$TMP/c/opt"
EOC

"$BERTHD" --config "$TMP/b/config.toml" --root "$TMP/b/root" --state "$TMP/b/state" \
    --address "$B_SOCK" --log-level warn 2>"$TMP/b/log" &
BERTHD_PID=$!
"$CONTAINERD" --config "$TMP/c/config.toml" 2>"$TMP/c/log" &
CONTAINERD_PID=$!
for sock in "$B_SOCK" "$C_SOCK"; do
    for _ in $(seq 100); do "$CTR" -a "$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
done

run_cmd() {  # the command hyperfine times against socket $1
    echo "$CTR -a $1 -n $NS run --rm --fifo-dir $TMP/fifo --rootfs $ROOTFS bench true"
}
hyperfine -N --runs "$RUNS" --warmup 3 --export-json "$TMP/result.json" \
    -n berthd "$(run_cmd "$B_SOCK")" -n containerd "$(run_cmd "$C_SOCK")"

python3 - "$TMP/result.json" <<'PY'
import json, sys
res = {r["command"]: sorted(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
def pct(t, p):
    return t[min(len(t) - 1, int(round(p * (len(t) - 1))))]
stats = {k: (pct(t, 0.5) * 1000, pct(t, 0.95) * 1000) for k, t in res.items()}
for k, (med, p95) in stats.items():
    print(f"{k:>11}: median {med:7.1f} ms   p95 {p95:7.1f} ms")
b, c = stats["berthd"], stats["containerd"]
print(f"ratio berthd/containerd: median {b[0] / c[0]:.2f}   p95 {b[1] / c[1]:.2f}")
PY
