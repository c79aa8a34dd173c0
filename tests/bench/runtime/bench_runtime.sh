#!/usr/bin/env bash
# Benchmark: `run` of the same busybox `true` bundle under berth-runtime, crun and runc, side by
# side in one hyperfine session; prints medians, ratios and peak RSS.
#
#   sudo tests/bench/runtime/bench_runtime.sh [-r RUNS] [-w WARMUP]
#
# Env: BERTH_RUNTIME (default: build-oci/, build-rt/, then build/ runtime/oci/berth-runtime),
#      FLOOR_C (optional path to a floor.c to compile and time as the C floor).
# crun 1.8 refuses this hybrid cgroup host, so crun runs in a private mount namespace with the
# cgroup2 mount hidden; berth-runtime is also timed through that same wrapper so the wrapper's
# cost (unshare + sh + umount, ~2-3 ms) cancels out in the crun comparison.
set -euo pipefail

RUNS=50
WARMUP=5
while getopts "r:w:" opt; do
  case $opt in
    r) RUNS=$OPTARG ;;
    w) WARMUP=$OPTARG ;;
    *) echo "usage: $0 [-r RUNS] [-w WARMUP]" >&2; exit 2 ;;
  esac
done

[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "needs hyperfine" >&2; exit 1; }
command -v jq >/dev/null || { echo "needs jq" >&2; exit 1; }
BUSYBOX=$(command -v busybox) || { echo "needs busybox (busybox-static)" >&2; exit 1; }

REPO=$(cd "$(dirname "$0")/../../.." && pwd)
BERTH=${BERTH_RUNTIME:-}
for candidate in "$REPO/build-oci/runtime/oci/berth-runtime" "$REPO/build-rt/runtime/oci/berth-runtime" \
    "$REPO/build/runtime/oci/berth-runtime"; do
  [[ -z $BERTH && -x $candidate ]] && BERTH=$candidate
done
[[ -x $BERTH ]] || { echo "berth-runtime not found; set BERTH_RUNTIME" >&2; exit 1; }

WORK=$(mktemp -d /tmp/bench-runtime-XXXXXX)
cleanup() {
  for rt in berth runc crun; do
    [[ -d $WORK/root-$rt ]] && ls "$WORK/root-$rt" 2>/dev/null | while read -r id; do
      case $rt in
        berth) "$BERTH" --root "$WORK/root-$rt" delete -f "$id" || true ;;
        runc) runc --root "$WORK/root-$rt" delete -f "$id" || true ;;
      esac
    done
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The bundle: busybox rootfs, runc's default config with terminal off and args /bin/true.
mkdir -p "$WORK/bundle/rootfs/bin" "$WORK/bundle/rootfs/"{proc,sys,dev,etc,tmp} "$WORK/scratch"
cp "$BUSYBOX" "$WORK/bundle/rootfs/bin/busybox"
ln -s busybox "$WORK/bundle/rootfs/bin/true"
ln -s busybox "$WORK/bundle/rootfs/bin/sh"
(cd "$WORK/bundle" && "$BERTH" spec)
jq '.process.terminal=false | .process.args=["/bin/true"]' "$WORK/bundle/config.json" \
  > "$WORK/config.json" && mv "$WORK/config.json" "$WORK/bundle/config.json"

B="$WORK/bundle"
CMDS=(-n berth-runtime "$BERTH --root $WORK/root-berth run -b $B bench")
if command -v crun >/dev/null; then
  HIDE="unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec"
  CMDS+=(-n "crun (private mount ns)" "$HIDE crun --root $WORK/root-crun run -b $B bench'")
  CMDS+=(-n "berth-runtime (same wrapper)" "$HIDE $BERTH --root $WORK/root-berth run -b $B bench2'")
fi
command -v runc >/dev/null && CMDS+=(-n runc "runc --root $WORK/root-runc run -b $B bench")
if [[ -n ${FLOOR_C:-} && -f $FLOOR_C ]]; then
  gcc -O2 -o "$WORK/floor" "$FLOOR_C"
  CMDS+=(-n "floor (C)" "$WORK/floor $B/rootfs $WORK/scratch")
fi

# hyperfine's -n NAME CMD pairs -> --command-name/command lists.
NAMES=(); COMMANDS=()
for ((i = 0; i < ${#CMDS[@]}; i += 3)); do NAMES+=("${CMDS[i+1]}"); COMMANDS+=("${CMDS[i+2]}"); done
ARGS=()
for n in "${NAMES[@]}"; do ARGS+=(--command-name "$n"); done
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$WORK/result.json" \
  "${ARGS[@]}" "${COMMANDS[@]}" >&2 || hyperfine --warmup "$WARMUP" --runs "$RUNS" \
  --export-json "$WORK/result.json" "${ARGS[@]}" "${COMMANDS[@]}" >&2

# Peak RSS (max over 5 runs) of each command, from GNU time.
peak_rss() {
  local max=0 kb
  for _ in 1 2 3 4 5; do
    /usr/bin/time -f '%M' -o "$WORK/rss" sh -c "exec $1" >/dev/null 2>&1 || true
    kb=$(tail -1 "$WORK/rss")
    [[ $kb =~ ^[0-9]+$ ]] && ((kb > max)) && max=$kb
  done
  echo "$max"
}

echo
printf '%-30s %10s %10s %10s %12s\n' runtime "median ms" "mean ms" "stddev" "peak RSS KB"
BERTH_MEDIAN=$(jq '.results[0].median * 1000' "$WORK/result.json")
for ((i = 0; i < ${#NAMES[@]}; i++)); do
  median=$(jq ".results[$i].median * 1000" "$WORK/result.json")
  mean=$(jq ".results[$i].mean * 1000" "$WORK/result.json")
  stddev=$(jq ".results[$i].stddev * 1000" "$WORK/result.json")
  rss=$(peak_rss "${COMMANDS[i]}")
  printf '%-30s %10.2f %10.2f %10.2f %12s\n' "${NAMES[i]}" "$median" "$mean" "$stddev" "$rss"
  eval "MEDIAN_$i=$median"
done
echo
for ((i = 1; i < ${#NAMES[@]}; i++)); do
  m="MEDIAN_$i"
  printf 'berth-runtime / %-28s %6.2fx\n' "${NAMES[i]}" "$(echo "$BERTH_MEDIAN / ${!m}" | bc -l)"
done
if [[ ${#NAMES[@]} -ge 3 && ${NAMES[2]} == "berth-runtime (same wrapper)" ]]; then
  printf 'wrapped berth-runtime / crun:            %6.2fx\n' "$(echo "$MEDIAN_2 / $MEDIAN_1" | bc -l)"
fi
