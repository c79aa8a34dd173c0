#!/bin/bash
# Unpack benchmark: a synthetic multi-layer image built from this machine's /usr (4 layers,
# ~100-300 MB uncompressed, gzip), unpacked side by side in one run:
#   1. `tar -xzf` of each layer into a fresh directory (the floor containerd unpacks at),
#   2. apply_layers (Diff.Apply's code: Prepare, ApplyLayer, Commit) on overlayfs,
#   3. the same on native.
# Usage: tests/bench/unpack/run.sh BUILD_DIR [WORK_DIR]
set -euo pipefail
build=${1:?build dir}
work=${2:-/tmp/berth-unpack-bench}
tool="$build/tests/bench/unpack/apply_layers"
mkdir -p "$work/layers"
cd "$work/layers"
if [ ! -f l4.tar.gz ]; then
  tar -C / -czf l1.tar.gz usr/lib/python3 usr/share/perl
  tar -C / -czf l2.tar.gz usr/share/doc
  tar -C / -czf l3.tar.gz usr/sbin etc
  tar -C / -czf l4.tar.gz usr/include/linux usr/include/x86_64-linux-gnu usr/include/c++
fi
ls -l "$work"/layers/*.tar.gz
for l in l1 l2 l3 l4; do printf '%s uncompressed: ' $l; gzip -dc $l.tar.gz | wc -c; done

now() { date +%s.%N; }
floor_total=0
for l in l1 l2 l3 l4; do
  rm -rf "$work/tar" && mkdir -p "$work/tar"
  sync; start=$(now)
  tar -C "$work/tar" -xzf "$work/layers/$l.tar.gz"
  t=$(echo "$(now) - $start" | bc)
  echo "tar -xzf $l: $t s"
  floor_total=$(echo "$floor_total + $t" | bc)
done
rm -rf "$work/tar"
echo "tar -xzf total: $floor_total s"

for sn in overlayfs native; do
  rm -rf "$work/$sn"
  sync
  "$tool" --snapshotter $sn --root "$work/$sn" "$work"/layers/l{1,2,3,4}.tar.gz | tee "$work/$sn.out"
  berth=$(awk '/^total/ {print $2}' "$work/$sn.out")
  echo "$sn: berth $berth s vs tar floor $floor_total s, speed ratio $(echo "scale=2; $floor_total / $berth" | bc)"
  rm -rf "$work/$sn"
done
