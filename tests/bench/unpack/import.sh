#!/bin/bash
# Import + unpack of a multi-layer gzip image (4 layers from this machine's /usr, ~100-300 MB
# uncompressed, as run.sh builds them), side by side in one run, fresh stores every run:
#   berthd      `berthctl image load` (import, then unpack into overlayfs in the daemon)
#   containerd  `ctr images import` on containerd 1.6 (import, then unpack into overlayfs)
#   tar floor   `tar -xzf` of each layer into a fresh directory, summed
# Prints the best of RUNS (default 3) for each and the ratios (goals: >= 1.5x containerd,
# >= 0.8x the tar floor). Everything is written to a fresh ext4 (lib.sh's fresh_ext4), so runs
# are comparable. Usage: tests/bench/unpack/import.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?build dir}" && pwd)
BERTHD=$BUILD/services/berthd
BERTHCTL=$BUILD/ctl/berthctl
RUNS=${RUNS:-3}
LAYERS=${LAYERS_DIR:-/var/tmp/berth-unpack-layers}
FS=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/berth-import.XXXXXX")
TMP=$FS/fs
source "$(dirname "$0")/../lib.sh"
trap 'stop_daemons; for m in $(grep -o "$TMP/[^ ]*" /proc/mounts | sort -r); do umount "$m"; done; umount_fresh_ext4 "$TMP"; rm -rf "$FS"' EXIT
fresh_ext4 "$TMP" 16

mkdir -p "$LAYERS"
cd "$LAYERS"
[ -f l1.tar.gz ] || tar -C / -czf l1.tar.gz usr/lib/python3 usr/share/perl
[ -f l2.tar.gz ] || tar -C / -czf l2.tar.gz usr/share/doc
[ -f l3.tar.gz ] || tar -C / -czf l3.tar.gz usr/sbin etc
[ -f l4.tar.gz ] || tar -C / -czf l4.tar.gz usr/include/linux usr/include/x86_64-linux-gnu usr/include/c++
# An OCI archive of the four layers (config with their diff ids).
python3 - "$LAYERS" "$TMP/image.tar" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
blobs, layers, diff_ids = {}, [], []
def add(data):
    d = hashlib.sha256(data).hexdigest(); blobs[d] = data; return "sha256:" + d, len(data)
for name in ["l1", "l2", "l3", "l4"]:
    data = open(os.path.join(src, name + ".tar.gz"), "rb").read()
    diff_ids.append("sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest())
    d, n = add(data)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
          "rootfs": {"type": "layers", "diff_ids": diff_ids}}
cd, cn = add(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
            "layers": layers}
md, mn = add(json.dumps(manifest).encode())
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": md, "size": mn,
         "annotations": {"org.opencontainers.image.ref.name": "docker.io/library/bench:latest",
                         "io.containerd.image.name": "docker.io/library/bench:latest"}}]}
with tarfile.open(out, "w") as t:
    def put(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    put("index.json", json.dumps(index).encode())
    for d, data in blobs.items(): put("blobs/sha256/" + d, data)
PY
ls -l "$LAYERS"/*.tar.gz "$TMP/image.tar" | awk '{print $5, $9}'
cat "$TMP/image.tar" >/dev/null
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"

best() { awk -v b="$1" -v d="$2" 'BEGIN{print (b==""||d<b)?d:b}'; }
T_B='' T_C='' T_F=''
for run in $(seq "$RUNS"); do
    start_berthd "b$run"
    s=$(now); "$BERTHCTL" -a "$TMP/b$run/s.sock" image load -i "$TMP/image.tar" >/dev/null; e=$(now)
    T_B=$(best "$T_B" "$(echo "$e - $s" | bc)")
    start_containerd "c$run"
    s=$(now); "$CTR" -a "$TMP/c$run/s.sock" images import "$TMP/image.tar" >/dev/null; e=$(now)
    T_C=$(best "$T_C" "$(echo "$e - $s" | bc)")
    for d in "b$run" "c$run"; do  # both unpacked all four layers
        n=$("$CTR" -a "$TMP/$d/s.sock" snapshots ls | grep -c Committed || true)
        [ "$n" = 4 ] || { echo "bench: $d has $n committed snapshots, not 4" >&2; exit 1; }
    done
    stop_daemons
    for m in $(grep -o "$TMP/[^ ]*" /proc/mounts | sort -r); do umount "$m"; done
    rm -rf "$TMP/b$run" "$TMP/c$run"
    total=0
    for l in l1 l2 l3 l4; do
        rm -rf "$TMP/tar" && mkdir -p "$TMP/tar"
        s=$(now); tar -C "$TMP/tar" -xzf "$LAYERS/$l.tar.gz"; e=$(now)
        total=$(echo "$total + $e - $s" | bc)
    done
    rm -rf "$TMP/tar"
    T_F=$(best "$T_F" "$total")
done
printf '%-12s %8s\n' contender seconds
printf '%-12s %8.2f\n' berthd "$T_B" containerd "$T_C" "tar floor" "$T_F"
awk -v b="$T_B" -v c="$T_C" -v f="$T_F" 'BEGIN{
  printf "berthd vs containerd: %.2fx faster (goal >= 1.5x)\n", c/b;
  printf "berthd vs tar floor:  %.2fx (goal >= 0.8x)\n", f/b }'
