#!/bin/bash
# run.sh [--quick] [BUILD_DIR] - berthd vs containerd 1.6, side by side in one run:
# idle RSS, unary latency (Version, Containers.Get), Containers.Create, Containers.List and
# ListStream with 10,000 containers, and `ctr containers ls` with 1,000 containers (hyperfine).
# See tests/bench/README.md for what each figure means.
#
# Builds nothing: BUILD_DIR (or $BERTH_BUILD_DIR) must hold services/berthd,
# tests/bench/metadata/metadata_bench and null_h2_server. Starts both daemons on fresh temp root/state/socket
# under $BENCH_TMPDIR (default /var/tmp), stops them by PID and removes the temp dir on exit.
#
# Environment knobs (defaults in brackets; --quick lowers them for a CI smoke run < 1 min):
#   IDLE_SECONDS [20]  idle time before the RSS sample     CALLS [2000]  WARMUP [200]
#   N_LS [1000]        containers for `ctr containers ls`  N_LIST [10000] containers for List
#   LIST_RUNS [7]      timed List/ListStream runs           CREATE_CONCURRENCY [4] (for the
#   HF_RUNS [20]       hyperfine runs per command            creates after the first N_LS)
#   BERTHD_ENV / CONTAINERD_ENV  extra environment for a daemon, e.g. BERTHD_ENV=MALLOC_ARENA_MAX=2
#   KEEP_TMP=1         keep the temp dir (logs, databases)  RESULTS=FILE  copy of the summary TSV
#   BENCH_NICE=-10     run both daemons, the client and ctr at this nice level (both alike), to
#                      cut the noise from other jobs on a shared machine
set -euo pipefail

QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
BUILD=${1:-${BERTH_BUILD_DIR:-}}
if [ -z "$BUILD" ]; then
    echo "usage: $0 [--quick] BUILD_DIR   (or set BERTH_BUILD_DIR)" >&2
    exit 2
fi
BUILD=$(cd "$BUILD" && pwd)
BERTHD=$BUILD/services/berthd
BENCH=$BUILD/tests/bench/metadata/metadata_bench
NULL_SERVER=$BUILD/tests/bench/metadata/null_h2_server
CONTAINERD=${CONTAINERD:-/usr/bin/containerd}
CTR=${CTR:-/usr/bin/ctr}
for f in "$BERTHD" "$BENCH" "$NULL_SERVER" "$CONTAINERD" "$CTR"; do
    [ -x "$f" ] || { echo "run.sh: missing $f (build berthd, metadata_bench and null_h2_server first)" >&2; exit 2; }
done
HAVE_HYPERFINE=1
command -v hyperfine >/dev/null && command -v jq >/dev/null || HAVE_HYPERFINE=0

if [ "$QUICK" = 1 ]; then
    : "${IDLE_SECONDS:=3}" "${CALLS:=300}" "${WARMUP:=50}" "${N_LS:=100}" "${N_LIST:=500}"
    : "${LIST_RUNS:=3}" "${HF_RUNS:=5}" "${GET_CALLS:=200}"
else
    : "${IDLE_SECONDS:=20}" "${CALLS:=2000}" "${WARMUP:=200}" "${N_LS:=1000}" "${N_LIST:=10000}"
    : "${LIST_RUNS:=7}" "${HF_RUNS:=20}" "${GET_CALLS:=1000}"
fi
: "${CREATE_CONCURRENCY:=4}"
NICE=()
if [ -n "${BENCH_NICE:-}" ]; then NICE=(nice -n "$BENCH_NICE"); fi
NS=bench

TMP=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/berth-mdbench.XXXXXX")
TSV=$TMP/results.tsv
: >"$TSV"
BERTHD_PID='' CONTAINERD_PID='' NULL_PID=''
B_SOCK=$TMP/berthd/berthd.sock
C_SOCK=$TMP/containerd/containerd.sock
N_SOCK=$TMP/null.sock

stop_pid() {  # stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL
    local pid=$1 name=$2
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    echo "run.sh: $name ($pid) ignored SIGTERM, killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$BERTHD_PID" berthd
    stop_pid "$CONTAINERD_PID" containerd
    stop_pid "$NULL_PID" null_h2_server
    wait 2>/dev/null || true
    if [ -n "${RESULTS:-}" ] && [ -s "$TSV" ]; then cp "$TSV" "$RESULTS"; fi
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "run.sh: kept $TMP"; else rm -rf "$TMP"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- start both daemons ------------------------------------------------------------------------
mkdir -p "$TMP/berthd" "$TMP/containerd"
: >"$TMP/berthd/config.toml"   # empty: embedded defaults, never /etc/berth/config.toml
cat >"$TMP/containerd/config.toml" <<EOF
# like /work/shared/peer-bench/peer/containerd-config.toml, in the temp dir
version = 2
root = "$TMP/containerd/root"
state = "$TMP/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$C_SOCK"

[ttrpc]
  address = "$C_SOCK.ttrpc"

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = "$TMP/containerd/opt"
EOF

# shellcheck disable=SC2086  # *_ENV are word lists of VAR=value
"${NICE[@]}" env ${BERTHD_ENV:-} "$BERTHD" --config "$TMP/berthd/config.toml" --root "$TMP/berthd/root" \
    --state "$TMP/berthd/state" --address "$B_SOCK" --log-level warn \
    >"$TMP/berthd/log" 2>&1 &
BERTHD_PID=$!
# shellcheck disable=SC2086
"${NICE[@]}" env ${CONTAINERD_ENV:-} "$CONTAINERD" --config "$TMP/containerd/config.toml" \
    >"$TMP/containerd/log" 2>&1 &
CONTAINERD_PID=$!
T_START=$(date +%s.%N)

wait_up() {  # wait_up NAME PID SOCKET
    for _ in $(seq 300); do
        "$CTR" -a "$3" version >/dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "run.sh: $1 did not come up; log:" >&2
    cat "$TMP/$1/log" >&2
    exit 1
}
wait_up berthd "$BERTHD_PID" "$B_SOCK"
wait_up containerd "$CONTAINERD_PID" "$C_SOCK"
echo "berthd     pid $BERTHD_PID  $("$CTR" -a "$B_SOCK" version 2>/dev/null | awk '/Server:/{s=1} s&&/Version:/{print $2; exit}')  $B_SOCK"
echo "containerd pid $CONTAINERD_PID  $("$CTR" -a "$C_SOCK" version 2>/dev/null | awk '/Server:/{s=1} s&&/Version:/{print $2; exit}')  $C_SOCK"
echo "mode: $([ "$QUICK" = 1 ] && echo quick || echo full)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -z "${BERTHD_ENV:-}" ] || echo "BERTHD_ENV: $BERTHD_ENV"
[ -z "${CONTAINERD_ENV:-}" ] || echo "CONTAINERD_ENV: $CONTAINERD_ENV"
[ -z "${BENCH_NICE:-}" ] || echo "BENCH_NICE: $BENCH_NICE (daemons, client and ctr)"

# --- idle RSS ----------------------------------------------------------------------------------
status_kb() { awk -v k="$2:" '$1==k{print $2}' "/proc/$1/status"; }
mem_rows() {  # mem_rows LABEL: appends VmRSS, RssAnon and thread rows for both daemons
    local key unit
    for key in VmRSS RssAnon Threads; do
        unit=kB; [ "$key" = Threads ] && unit=count
        printf '%s\t%s\t%s\t%s\n' "$1 $key" "$unit" "$(status_kb "$BERTHD_PID" "$key")" \
            "$(status_kb "$CONTAINERD_PID" "$key")"
    done >>"$TSV"
}
left=$(awk -v s="$T_START" -v n="$(date +%s.%N)" -v i="$IDLE_SECONDS" 'BEGIN{d=i-(n-s); print (d>0)?d:0}')
echo "idling ${IDLE_SECONDS}s after start before sampling RSS ..."
sleep "$left"
mem_rows "idle (+${IDLE_SECONDS}s)"

# --- gRPC figures, same C++ client for both ----------------------------------------------------
bench() { "${NICE[@]}" "$BENCH" "$@" --berthd "$B_SOCK" --containerd "$C_SOCK" --tsv "$TSV" --namespace "$NS"; }
# The null server (no daemon, no gRPC library) gives a third column in the unary figures: the
# client's own floor, which both daemons' numbers contain.
"$NULL_SERVER" "$N_SOCK" &
NULL_PID=$!
for _ in $(seq 50); do [ -S "$N_SOCK" ] && break; sleep 0.1; done
bench unary --calls "$CALLS" --warmup "$WARMUP" --null "$N_SOCK"
stop_pid "$NULL_PID" null_h2_server
NULL_PID=''
bench create --from 0 --count "$N_LS" --concurrency 1
bench list --runs "$LIST_RUNS" --count "$N_LS" --get-calls 0

# --- ctr containers ls with N_LS containers (hyperfine) -----------------------------------------
if [ "$HAVE_HYPERFINE" = 1 ]; then
    echo
    echo "== ctr (containerd 1.6 CLI) under hyperfine, $HF_RUNS runs + 3 warm-up, $N_LS containers"
    "${NICE[@]}" hyperfine -N --runs "$HF_RUNS" --warmup 3 --export-json "$TMP/hyperfine.json" \
        -n "berthd: ctr containers ls" "$CTR -a $B_SOCK -n $NS containers ls" \
        -n "containerd: ctr containers ls" "$CTR -a $C_SOCK -n $NS containers ls" \
        -n "berthd: ctr version" "$CTR -a $B_SOCK version" \
        -n "containerd: ctr version" "$CTR -a $C_SOCK version" \
        >"$TMP/hyperfine.txt" 2>&1 || { cat "$TMP/hyperfine.txt" >&2; exit 1; }
    jq -r '.results[] | "\(.command)\t\(.median*1000)\t\(.min*1000)\t\(.max*1000)"' \
        "$TMP/hyperfine.json" | awk -F'\t' '{printf "  %-32s median %7.1f ms  min %7.1f  max %7.1f\n", $1, $2, $3, $4}'
    hf() { jq -r --arg n "$1" '.results[] | select(.command==$n) | .median*1000' "$TMP/hyperfine.json"; }
    printf '%s\tms\t%s\t%s\n' "ctr containers ls ($N_LS) median" \
        "$(hf 'berthd: ctr containers ls')" "$(hf 'containerd: ctr containers ls')" >>"$TSV"
    printf '%s\tms\t%s\t%s\n' "ctr version (CLI floor) median" \
        "$(hf 'berthd: ctr version')" "$(hf 'containerd: ctr version')" >>"$TSV"
    b_ls=$(hf 'berthd: ctr containers ls'); c_ls=$(hf 'containerd: ctr containers ls')
    b_v=$(hf 'berthd: ctr version'); c_v=$(hf 'containerd: ctr version')
    printf '%s\tms\t%s\t%s\n' "ctr containers ls ($N_LS) minus CLI floor" \
        "$(awk -v a="$b_ls" -v b="$b_v" 'BEGIN{print a-b}')" \
        "$(awk -v a="$c_ls" -v b="$c_v" 'BEGIN{print a-b}')" >>"$TSV"
else
    echo "run.sh: hyperfine or jq missing, skipping the ctr figures" >&2
fi

# --- scale to N_LIST containers, then List / ListStream ----------------------------------------
if [ "$N_LIST" -gt "$N_LS" ]; then
    bench create --from "$N_LS" --count "$N_LIST" --concurrency "$CREATE_CONCURRENCY"
fi
bench list --runs "$LIST_RUNS" --count "$N_LIST" --get-calls "$GET_CALLS" --warmup "$WARMUP"
mem_rows "after $N_LIST containers,"

# --- summary -----------------------------------------------------------------------------------
echo
echo "== summary (ratio = berthd / containerd; goal: latency ratio <= 0.50, berthd idle VmRSS < 15 MiB)"
awk -F'\t' '
    function fmt(v) { if (v == "-" || v == "") return "-"; return (v+0 >= 100 || v+0 <= -100) ? sprintf("%.0f", v) : sprintf("%.2f", v) }
    BEGIN { printf "%-50s %-6s %12s %12s %7s  %s\n", "figure", "unit", "berthd", "containerd", "ratio", "goal" }
    {
        name = $1; unit = $2; b = $3; c = $4; ratio = "-"; goal = ""
        if (b != "-" && c != "-" && c + 0 > 0) ratio = sprintf("%.2f", b / c)
        if ((unit == "us" || unit == "ms") && name !~ / p95$/ && name !~ / min$/ && name !~ /floor/ && ratio != "-")
            goal = (ratio + 0 <= 0.5) ? "ok (<= 0.50)" : "MISS (> 0.50)"
        if (name ~ /^idle/ && name ~ /VmRSS/)
            goal = (b + 0 < 15 * 1024) ? "ok (< 15360 kB)" : "MISS (>= 15360 kB)"
        printf "%-50s %-6s %12s %12s %7s  %s\n", name, unit, fmt(b), fmt(c), ratio, goal
    }' "$TSV"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (figures are noisy while the machine is busy)"
