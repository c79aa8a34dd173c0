#!/bin/sh
# make_images.sh DIR: test images built from /usr/bin/busybox (busybox-static) with umoci and
# skopeo, in DIR:
#   oci/                      OCI layout: busybox (2 layers), busybox-extra (3 layers, sharing 2)
#   busybox-oci.tar           oci-archive of busybox (docker.io/library/busybox:latest)
#   busybox-docker.tar        docker-archive of busybox
#   extra-docker.tar          docker-archive of docker.io/library/busybox:extra
#   bad-truncated.tar         the first half of busybox-oci.tar
#   bad-garbage.tar           not a tar
#   bad-missing-blob.tar      busybox-oci.tar without its top layer blob
#   bad-traversal.tar         an OCI archive with an entry named ../evil
#   bad-diffid.tar            busybox-oci.tar whose config names a wrong diff id for the top
#                             layer (imports fine; unpacking it must fail)
set -eu
d=$1
mkdir -p "$d"
cd "$d"
umoci init --layout oci >/dev/null
umoci new --image oci:busybox >/dev/null
umoci unpack --image oci:busybox bundle >/dev/null
mkdir -p bundle/rootfs/bin
cp /usr/bin/busybox bundle/rootfs/bin/busybox
ln -sf busybox bundle/rootfs/bin/sh
umoci repack --image oci:busybox bundle >/dev/null
rm -rf bundle
umoci unpack --image oci:busybox bundle >/dev/null
echo hello > bundle/rootfs/hello.txt
umoci repack --image oci:busybox bundle >/dev/null
rm -rf bundle
umoci config --image oci:busybox --config.cmd /bin/sh >/dev/null
umoci tag --image oci:busybox extra >/dev/null
umoci unpack --image oci:extra bundle >/dev/null
echo world > bundle/rootfs/world.txt
umoci repack --image oci:extra bundle >/dev/null
rm -rf bundle
skopeo copy -q oci:oci:busybox oci-archive:busybox-oci.tar:docker.io/library/busybox:latest
skopeo copy -q oci:oci:busybox docker-archive:busybox-docker.tar:docker.io/library/busybox:latest
skopeo copy -q oci:oci:extra docker-archive:extra-docker.tar:docker.io/library/busybox:extra
size=$(stat -c %s busybox-oci.tar)
head -c $((size / 2)) busybox-oci.tar > bad-truncated.tar
head -c 5000 /dev/urandom > bad-garbage.tar
mkdir x && tar -C x -xf busybox-oci.tar
top=$(python3 -c "import json,sys;i=json.load(open('x/index.json'));m=i['manifests'][0]['digest'].split(':')[1];print(json.load(open('x/blobs/sha256/'+m))['layers'][-1]['digest'].split(':')[1])")
rm x/blobs/sha256/$top
tar -C x -cf bad-missing-blob.tar .
rm -rf x
python3 - <<'PY'
import io, tarfile
src = tarfile.open("busybox-oci.tar")
out = tarfile.open("bad-traversal.tar", "w")
for m in src.getmembers():
    out.addfile(m, src.extractfile(m) if m.isfile() else None)
evil = tarfile.TarInfo("../evil")
evil.size = 4
out.addfile(evil, io.BytesIO(b"evil"))
out.close()
PY
python3 - <<'PY'
import hashlib, io, json, tarfile
src = tarfile.open("busybox-oci.tar")
files = {m.name.lstrip("./"): src.extractfile(m).read() for m in src.getmembers() if m.isfile()}
def blob(d): return files["blobs/sha256/" + d.split(":")[1]]
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    files["blobs/sha256/" + d.split(":")[1]] = data
    return d, len(data)
index = json.loads(files["index.json"])
manifest = json.loads(blob(index["manifests"][0]["digest"]))
config = json.loads(blob(manifest["config"]["digest"]))
config["rootfs"]["diff_ids"][-1] = "sha256:" + "0" * 64
manifest["config"]["digest"], manifest["config"]["size"] = put(json.dumps(config).encode())
index["manifests"][0]["digest"], index["manifests"][0]["size"] = put(json.dumps(manifest).encode())
files["index.json"] = json.dumps(index).encode()
out = tarfile.open("bad-diffid.tar", "w")
for name, data in files.items():
    info = tarfile.TarInfo(name)
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))
out.close()
PY
