#!/bin/bash
# run.sh [BUILD_DIR] - containers through Berth vs containerd 1.6, side by side in one run, on
# the same busybox image (built here with umoci + skopeo, imported into both with `ctr import`):
#   berth       berthd + berth-shim (runtime io.containerd.berth.v1, in-process OCI runtime)
#   berth+runc  berthd + Debian's containerd-shim-runc-v2 (runtime io.containerd.runc.v2)
#   containerd  containerd 1.6 + containerd-shim-runc-v2 (its default runtime)
# Both daemons run on temp dirs and sockets (tests/bench/lib.sh). Measures
#   1. `ctr run --rm IMAGE id /bin/true` latency: hyperfine, RUNS runs, median and p95; back
#      to back, then paced (sleep 0.2 before each run);
#   2. the phases through ctr (PHASES rounds): `ctr c create`, `ctr t start -d` (task create +
#      start), wait (poll `ctr t ls` until STOPPED), `ctr t rm`, `ctr c rm`: medians;
#   3. DENSITY sleeping containers (sequential `ctr run -d`): time to start them all, shim
#      VmRSS/Pss (median and total, /proc/<pid>/status and smaps_rollup), daemon VmRSS; then
#      the daemon is SIGKILLed and restarted: time until it serves with every task listed;
#   4. the C floor (/work/shared/peer-bench/floor/floor.c: clone + overlay + pivot_root + exec
#      true) under hyperfine, and `berthctl run --rm IMAGE /bin/true` if berthctl has `run`.
# Prints the ratios berth/containerd. Goals (issue 6): latency <= 1/3 of containerd's, shim
# RSS < 1/8 of containerd-shim-runc-v2's, berthctl run within 4x of the floor.
#
# Everything is written to a fresh ext4 (lib.sh's fresh_ext4) made in BENCH_TMPDIR.
# Environment: RUNS [25]  ROUNDS [5] (sections 1 and 4 run in ROUNDS alternating blocks)
#   PHASES [10]  DENSITY [100]  BENCH_TMPDIR [/var/tmp]  KEEP_TMP=1
#   STATE_TMPFS=1: both daemons' --state dirs on /dev/shm (tmpfs, like /run on most hosts; here
#   /run is on the root ext4, where every fsync of a bundle file costs ~2-8 ms).
# Builds nothing: BUILD_DIR (or $BERTH_BUILD_DIR) must hold services/berthd and
# runtime/shim/berth-shim. Needs root, containerd, ctr, hyperfine, umoci, skopeo, busybox, gcc.
set -euo pipefail

BUILD=${1:-${BERTH_BUILD_DIR:-}}
if [ -z "$BUILD" ]; then echo "usage: $0 BUILD_DIR" >&2; exit 2; fi
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
BERTHD=$BUILD/services/berthd
BERTHCTL=$BUILD/ctl/berthctl
FLOOR_C=${FLOOR_C:-/work/shared/peer-bench/floor/floor.c}
RUNS=${RUNS:-25}
ROUNDS=${ROUNDS:-5}
PHASES=${PHASES:-10}
DENSITY=${DENSITY:-100}
. "$HERE/../lib.sh"
for f in "$BERTHD" "$BUILD/runtime/shim/berth-shim" "$CONTAINERD" "$CTR" /usr/bin/hyperfine \
         /usr/bin/busybox /usr/bin/umoci /usr/bin/skopeo /usr/bin/containerd-shim-runc-v2; do
    [ -x "$f" ] || { echo "run.sh: missing $f" >&2; exit 2; }
done
# berthd (and containerd, unused) find containerd-shim-berth-v1 on PATH.
export PATH="$BUILD/runtime/shim:$PATH"

FS=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/berth-taskbench.XXXXXX")
TMP=$FS/fs
# A fresh ext4 for everything both daemons write (lib.sh: an aged one makes each new inode
# cost a scan of recently deleted ones, and the runs vary).
fresh_ext4 "$TMP" 8
SHM=''
if [ "${STATE_TMPFS:-0}" = 1 ]; then
    # Both daemons' state dirs (bundles, shim sockets) on tmpfs, as /run is on most hosts.
    SHM=$(mktemp -d /dev/shm/berth-taskbench.XXXXXX)
    for name in berthd containerd; do
        mkdir -p "$TMP/$name" "$SHM/$name"
        ln -s "$SHM/$name" "$TMP/$name/state"
    done
fi
NS=bench-$$
B=$TMP/berthd/s.sock
C=$TMP/containerd/s.sock
IMAGE=docker.io/library/busybox:bench

remove_all() {  # remove_all SOCK: every task and container of the namespace
    local ids
    ids=$("$CTR" -a "$1" -n "$NS" c ls -q 2>/dev/null || true)
    [ -n "$ids" ] || return 0
    # shellcheck disable=SC2086
    "$CTR" -a "$1" -n "$NS" t rm -f $ids >/dev/null 2>&1 || true
    # shellcheck disable=SC2086
    "$CTR" -a "$1" -n "$NS" c rm $ids >/dev/null 2>&1 || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for sock in "$B" "$C"; do [ -S "$sock" ] && remove_all "$sock"; done
    stop_daemons
    remove_ns_cgroups "$NS"
    [ -n "$SHM" ] && rm -rf "$SHM"
    for m in $(grep -o "$TMP/[^ ]*" /proc/mounts | sort -r); do umount "$m"; done
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "run.sh: kept $TMP ($FS/fs.img)"; else
        umount_fresh_ext4 "$TMP"; rm -rf "$FS"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the image: one layer, busybox and the applets the benchmark runs.
build_image() {
    local d=$TMP/image
    mkdir -p "$d" && cd "$d"
    umoci init --layout oci >/dev/null
    umoci new --image oci:busybox >/dev/null
    umoci unpack --image oci:busybox bundle >/dev/null
    mkdir -p bundle/rootfs/bin bundle/rootfs/proc bundle/rootfs/dev bundle/rootfs/sys
    cp /usr/bin/busybox bundle/rootfs/bin/busybox
    for a in sh true sleep echo; do ln -sf busybox "bundle/rootfs/bin/$a"; done
    umoci repack --image oci:busybox bundle >/dev/null
    umoci config --image oci:busybox --config.cmd /bin/sh \
        --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin >/dev/null
    skopeo copy -q oci:oci:busybox "oci-archive:$TMP/busybox.tar:$IMAGE"
    mv bundle/rootfs "$TMP/rootfs"  # the floor's rootfs: the same files
    cd - >/dev/null
}
build_image
start_berthd berthd
start_containerd containerd
B_PID=${BERTH_PIDS[0]} C_PID=${BERTH_PIDS[1]}
for sock in "$B" "$C"; do
    "$CTR" -a "$sock" -n "$NS" images import "$TMP/busybox.tar" >/dev/null
done
mkdir -p "$TMP/fifo"
ctr_of() {  # ctr_of NAME -> the ctr prefix (socket, namespace, runtime) of that column
    case $1 in
        berth) echo "$CTR -a $B -n $NS" ;;
        berth+runc) echo "$CTR -a $B -n $NS" ;;
        containerd) echo "$CTR -a $C -n $NS" ;;
    esac
}
runtime_of() {
    case $1 in berth) echo io.containerd.berth.v1 ;; *) echo io.containerd.runc.v2 ;; esac
}
COLUMNS_=(berth berth+runc containerd)

# --- 1. ctr run --rm latency
echo "== 1. ctr run --rm $IMAGE id /bin/true ($RUNS runs each, hyperfine)"
hf_args=()
for col in "${COLUMNS_[@]}"; do
    hf_args+=(-n "$col" "$(ctr_of "$col") run --rm --runtime $(runtime_of "$col") --fifo-dir $TMP/fifo $IMAGE lat /bin/true")
done
hf_args+=(-n "ctr version" "$CTR -a $B version")
# hf_rounds NAME ARRAY [hyperfine options]: RUNS runs of every command in ARRAY (hyperfine's
# -n NAME CMD pairs) in ROUNDS alternating blocks, NAME.json.<round> for report.py. This
# machine's speed drifts by up to ~30% within minutes (the C floor measured 7.3-9.9 ms in one
# afternoon): one block per command put that drift into the ratios.
hf_rounds() {
    local name=$1
    local -n commands=$2
    shift 2
    local per=$(((RUNS + ROUNDS - 1) / ROUNDS))
    for round in $(seq "$ROUNDS"); do
        hyperfine -N --runs "$per" --warmup 1 "$@" --export-json "$TMP/$name.json.$round" \
            "${commands[@]}" >"$TMP/$name.txt" 2>&1 || { cat "$TMP/$name.txt"; return 1; }
    done
}
hf_rounds run hf_args || exit 1
# 1b. The same, one run every ~0.2 s (a container started now and then, not back to back):
# what a user or an orchestrator sees, and what leaves a daemon time for work ahead of need
# (berthd's spare shim). Back to back, this 2-core machine is nearly CPU-bound (ctr alone
# uses ~40 ms of CPU per run), so work moved off the critical path shows only here.
echo "== 1b. the same, paced: sleep 0.2 before each run"
hf_rounds paced hf_args --prepare "sleep 0.2" || exit 1

# --- 2. phases
echo "== 2. phases through ctr ($PHASES rounds each)"
echo -e "column\tcreate\tstart\twait\ttask_rm\tctr_rm" >"$TMP/phases.tsv"
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", (b - a) / 1000}'; }
for col in "${COLUMNS_[@]}"; do
    ctr=$(ctr_of "$col") rt=$(runtime_of "$col")
    for i in $(seq "$PHASES"); do
        id=ph-$i
        t0=${EPOCHREALTIME/./}
        $ctr c create --runtime "$rt" "$IMAGE" "$id" /bin/true
        t1=${EPOCHREALTIME/./}
        $ctr t start -d --null-io "$id"
        t2=${EPOCHREALTIME/./}
        until [ "$($ctr t ls | awk -v id="$id" '$1 == id {print $3}')" = STOPPED ]; do :; done
        t3=${EPOCHREALTIME/./}
        $ctr t rm "$id" >/dev/null 2>&1
        t4=${EPOCHREALTIME/./}
        $ctr c rm "$id"
        t5=${EPOCHREALTIME/./}
        echo -e "$col\t$(ms "$t0" "$t1")\t$(ms "$t1" "$t2")\t$(ms "$t2" "$t3")\t$(ms "$t3" "$t4")\t$(ms "$t4" "$t5")" \
            >>"$TMP/phases.tsv"
    done
done

# --- 3. density
echo "== 3. $DENSITY sleeping containers per column (sequential ctr run -d)"
: >"$TMP/density.tsv"
for col in berth containerd; do
    ctr=$(ctr_of "$col") rt=$(runtime_of "$col")
    sock=$B pid=$B_PID
    [ "$col" = containerd ] && sock=$C pid=$C_PID
    t0=$(now)
    for i in $(seq "$DENSITY"); do
        $ctr run -d --runtime "$rt" --null-io "$IMAGE" "d-$i" /bin/sleep 1000 >/dev/null
    done
    t1=$(now)
    sleep 2  # let the shims settle (and berth-shim's idle trimmer run)
    python3 - "$col" "$sock" "$pid" "$t0" "$t1" >>"$TMP/density.tsv" <<'PY'
import os, sys
col, sock, daemon, t0, t1 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
def kb(path, key):
    for line in open(path):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0
shims = []
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
        if b"shim" in os.path.basename(argv[0]) and b"-address" in argv \
                and argv[argv.index(b"-address") + 1].decode() == sock \
                and argv[-2] != b"delete" \
                and b"-spare" not in argv:  # berthd's spare shim serves no container
            shims.append((kb(f"/proc/{p}/status", "VmRSS"), kb(f"/proc/{p}/smaps_rollup", "Pss"),
                          kb(f"/proc/{p}/status", "RssAnon"), kb(f"/proc/{p}/status", "Threads")))
    except (OSError, IndexError, ValueError):
        pass
print("\t".join(map(str, [col, t1 - t0, kb(f"/proc/{daemon}/status", "VmRSS"),
                         ";".join(",".join(map(str, s)) for s in shims)])))
PY
    # SIGKILL the daemon and restart it: time until it serves again with every task listed.
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null || true
    t2=$(now)
    if [ "$col" = containerd ]; then start_containerd containerd; else start_berthd berthd; fi
    listed=$($ctr t ls -q | wc -l)
    t3=$(now)
    awk -v a="$t2" -v b="$t3" -v c="$col" -v n="$listed" \
        'BEGIN{printf "   %s: restart after SIGKILL: serving with %d tasks listed after %.2f s\n", c, n, b - a}'
    t2=$(now)
    remove_all "$sock"
    t3=$(now)
    awk -v a="$t2" -v b="$t3" -v c="$col" 'BEGIN{printf "   %s: teardown of all took %.1f s\n", c, b - a}'
done

# --- 4. the floor, and berthctl run if it exists
echo "== 4. C floor and berthctl run"
fl_args=()
if command -v gcc >/dev/null && [ -r "$FLOOR_C" ]; then
    gcc -O2 -Wall -o "$TMP/floor" "$FLOOR_C"
    mkdir -p "$TMP/scratch"
    fl_args+=(-n floor "$TMP/floor $TMP/rootfs $TMP/scratch")
fi
if [ -x "$BERTHCTL" ] && "$BERTHCTL" run --help >/dev/null 2>&1; then
    fl_args+=(-n "berthctl run" "$BERTHCTL -a $B -n $NS run --rm --runtime io.containerd.berth.v1 $IMAGE /bin/true")
fi
if [ ${#fl_args[@]} -gt 0 ]; then
    hf_rounds floor fl_args || echo "(floor/berthctl run failed)"
fi

python3 "$HERE/report.py" "$TMP"
