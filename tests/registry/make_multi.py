#!/usr/bin/env python3
"""make_multi.py LAYOUT: adds to the OCI layout built by make_images.sh an index "multi" with
two platforms of busybox: linux/arm64 (first; its config says arm64) and linux/amd64 (the
original manifest), so a puller that takes the first entry picks the wrong one."""
import hashlib, json, os, sys

layout = sys.argv[1]


def blob_path(digest):
    return os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1])


def put(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob_path(digest), "wb") as f:
        f.write(data)
    return digest, len(data)


index_path = os.path.join(layout, "index.json")
index = json.load(open(index_path))
busybox = next(m for m in index["manifests"]
               if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "busybox")
manifest = json.load(open(blob_path(busybox["digest"])))
config = json.load(open(blob_path(manifest["config"]["digest"])))
config["architecture"] = "arm64"
config["variant"] = "v8"
cdigest, csize = put(json.dumps(config).encode())
arm = dict(manifest)
arm["config"] = dict(manifest["config"], digest=cdigest, size=csize)
adigest, asize = put(json.dumps(arm).encode())
mt = "application/vnd.oci.image.manifest.v1+json"
multi = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
        {"mediaType": mt, "digest": adigest, "size": asize,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": mt, "digest": busybox["digest"], "size": busybox["size"],
         "platform": {"os": "linux", "architecture": "amd64"}},
    ],
}
idigest, isize = put(json.dumps(multi).encode())
index["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
                           "digest": idigest, "size": isize,
                           "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(index, open(index_path, "w"))
print(idigest, adigest, busybox["digest"])
