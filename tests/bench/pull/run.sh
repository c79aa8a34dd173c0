#!/bin/bash
# run.sh BUILD_DIR - registry pull + unpack, side by side in one run, from the same local
# docker-registry (127.0.0.1, free port):
#   berthd      `berthctl pull --plain-http` (daemon-side pull: concurrent layer downloads, the
#               daemon's unpacker) into a fresh berthd (temp root/socket)
#   containerd  `ctr images pull --plain-http` against containerd 1.6 (fresh temp root/socket)
# Both pull and unpack into overlayfs. Each run starts both daemons on fresh, empty stores;
# RUNS runs (default 3) alternate the order; the best and the median of each are printed, and
# the ratio containerd/berthd (>1 = berthd faster). A second phase times fetch only
# (`berthctl pull --no-unpack` vs `ctr content fetch`).
#
# The image: a `debootstrap --variant=minbase bookworm` rootfs (from the Debian mirror in
# /etc/apt/sources.list; cached in WORK) plus 3 small layers, built with umoci, pushed with
# skopeo. Without a reachable mirror (or with SYNTHETIC=1) the big layer is a piece of this
# machine's /usr instead, and the script says so.
#
# Environment: RUNS [3]  WORK [/var/tmp/berth-pull-bench] (image cache)  KEEP_TMP=1
#              CONCURRENCY (berthd's max_concurrent_downloads, default 3)
set -euo pipefail

BUILD=${1:-${BERTH_BUILD_DIR:-}}
if [ -z "$BUILD" ]; then echo "usage: $0 BUILD_DIR" >&2; exit 2; fi
BUILD=$(cd "$BUILD" && pwd)
BERTHD=$BUILD/services/berthd
BERTHCTL=$BUILD/ctl/berthctl
RUNS=${RUNS:-3}
WORK=${WORK:-/var/tmp/berth-pull-bench}
for f in "$BERTHD" "$BERTHCTL" /usr/bin/containerd /usr/bin/ctr /usr/bin/docker-registry \
         /usr/bin/skopeo /usr/bin/umoci; do
    [ -x "$f" ] || { echo "run.sh: missing $f" >&2; exit 2; }
done

TMP=$(mktemp -d /var/tmp/berth-pullbench.XXXXXX)
. "$(dirname "$0")/../lib.sh"  # stop_pid, now
PIDS=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    wait 2>/dev/null || true
    # containerd's overlay snapshots are plain directories here (no mounts stay after a pull).
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "run.sh: kept $TMP"; else rm -rf "$TMP"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }
# Waits until the daemon `pid` answers on `sock` (fails if it dies or takes 30 s).
wait_answer() {
    for _ in $(seq 300); do
        timeout 2 ctr -a "$1" version >/dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || { echo "run.sh: daemon on $1 died" >&2; return 1; }
        sleep 0.1
    done
    echo "run.sh: daemon on $1 did not answer" >&2; return 1
}

# --- the image -------------------------------------------------------------------------------
mkdir -p "$WORK"
KIND="debootstrap --variant=minbase bookworm"
if [ "${SYNTHETIC:-0}" != 1 ] && [ ! -f "$WORK/rootfs.done" ]; then
    rm -rf "$WORK/rootfs"
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "run.sh: debootstrap from $mirror (once; cached in $WORK)"
    if timeout 900 debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" \
            >"$WORK/debootstrap.log" 2>&1; then
        touch "$WORK/rootfs.done"
    else
        echo "run.sh: debootstrap failed (see $WORK/debootstrap.log); using a synthetic layer"
    fi
fi
if [ "${SYNTHETIC:-0}" = 1 ] || [ ! -f "$WORK/rootfs.done" ]; then
    KIND="SYNTHETIC: /usr/lib /usr/share/doc /usr/include of this machine (no Debian mirror)"
    rm -rf "$WORK/rootfs" && mkdir -p "$WORK/rootfs/usr"
    cp -a /usr/lib/python3 /usr/share/perl /usr/share/doc /usr/include "$WORK/rootfs/usr/"
fi
if [ ! -f "$WORK/image.done" ] || [ "$WORK/rootfs" -nt "$WORK/image.done" ]; then
    rm -rf "$WORK/oci" "$WORK/bundle"
    (cd "$WORK"
     umoci init --layout oci >/dev/null
     umoci new --image oci:bench >/dev/null
     umoci unpack --image oci:bench bundle >/dev/null
     cp -a rootfs/. bundle/rootfs/
     umoci repack --image oci:bench bundle >/dev/null
     for i in 1 2 3; do
         rm -rf bundle && umoci unpack --image oci:bench bundle >/dev/null
         mkdir -p bundle/rootfs/app$i
         head -c $((2 << 20)) /dev/urandom > bundle/rootfs/app$i/data.bin
         echo "layer $i" > bundle/rootfs/app$i/README
         umoci repack --image oci:bench bundle >/dev/null
     done
     rm -rf bundle)
    touch "$WORK/image.done"
fi

# --- registry --------------------------------------------------------------------------------
REG_PORT=$(free_port)
mkdir -p "$TMP/registry"
cat >"$TMP/registry/config.yml" <<EOC
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $TMP/registry/data
http:
  addr: 127.0.0.1:$REG_PORT
EOC
docker-registry serve "$TMP/registry/config.yml" >"$TMP/registry/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$REG_PORT/v2/" >/dev/null && break; sleep 0.1; done
REF=127.0.0.1:$REG_PORT/bench/image:latest
skopeo copy -q --dest-tls-verify=false "oci:$WORK/oci:bench" "docker://$REF"
MANIFEST=$(skopeo inspect --raw --tls-verify=false "docker://$REF")
LAYERS=$(echo "$MANIFEST" | python3 -c 'import json,sys;m=json.load(sys.stdin);print(len(m["layers"]))')
BYTES=$(echo "$MANIFEST" | python3 -c 'import json,sys;m=json.load(sys.stdin);print(sum(l["size"] for l in m["layers"]))')
UNPACKED=$(du -sb "$WORK/rootfs" | cut -f1)
echo "image: $KIND"
echo "       $LAYERS layers, $((BYTES / 1000000)) MB compressed, ~$((UNPACKED / 1000000)) MB unpacked"

# --- one pull on a fresh daemon --------------------------------------------------------------
pull_berthd() {
    local dir=$TMP/b$1
    mkdir -p "$dir"
    printf 'version = 2\n[plugins."io.containerd.grpc.v1.transfer"]\nmax_concurrent_downloads = %s\n' \
        "${CONCURRENCY:-3}" >"$dir/config.toml"
    "$BERTHD" --config "$dir/config.toml" --root "$dir/root" --state "$dir/state" \
        --address "$dir/b.sock" >"$dir/log" 2>&1 &
    local pid=$!
    PIDS+=($pid)
    wait_answer "$dir/b.sock" $pid
    sync
    local start end
    start=$(now)
    "$BERTHCTL" -a "$dir/b.sock" pull -q --plain-http $BERTH_FLAGS "$REF" >/dev/null
    end=$(now)
    stop_pid $pid
    rm -rf "$dir"
    elapsed "$start" "$end"
}
pull_containerd() {
    local dir=$TMP/c$1
    mkdir -p "$dir"
    cat >"$dir/config.toml" <<EOC
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/c.sock"
[ttrpc]
  address = "$dir/c.sock.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOC
    containerd --config "$dir/config.toml" >"$dir/log" 2>&1 &
    local pid=$!
    PIDS+=($pid)
    wait_answer "$dir/c.sock" $pid
    sync
    local start end
    start=$(now)
    ctr -a "$dir/c.sock" -n default $CTR_PULL --plain-http "$REF" >/dev/null
    end=$(now)
    stop_pid $pid
    rm -rf "$dir"
    elapsed "$start" "$end"
}

# measure LABEL: RUNS alternating runs, then best/median and the ratio.
measure() {
    local label=$1 B=() C=() b c run
    for run in $(seq "$RUNS"); do
        if [ $((run % 2)) = 1 ]; then
            b=$(pull_berthd "$run"); c=$(pull_containerd "$run")
        else
            c=$(pull_containerd "$run"); b=$(pull_berthd "$run")
        fi
        printf '%s run %d: berthd %.2f s   containerd %.2f s\n' "$label" "$run" "$b" "$c"
        B+=("$b") C+=("$c")
    done
    read -r bbest bmed <<<"$(stats "${B[@]}")"
    read -r cbest cmed <<<"$(stats "${C[@]}")"
    printf '%s: berthd best %.2f s median %.2f s | containerd 1.6 best %.2f s median %.2f s\n' \
        "$label" "$bbest" "$bmed" "$cbest" "$cmed"
    awk -v l="$label" -v cb="$cbest" -v bb="$bbest" -v cm="$cmed" -v bm="$bmed" \
        'BEGIN {printf "%s ratio containerd/berthd: best %.2fx  median %.2fx\n", l, cb / bb, cm / bm}'
}
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "%s %s", a[1], a[int((NR+1)/2)]}'; }

# pull + unpack (overlayfs): the figure the goal (>= 1.5x) is about.
BERTH_FLAGS='' CTR_PULL='images pull' measure "pull+unpack"
# fetch only: berthctl pull --no-unpack vs ctr content fetch (both store content + manifests).
BERTH_FLAGS='--no-unpack' CTR_PULL='content fetch' measure "fetch-only"
