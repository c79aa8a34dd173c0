#!/bin/sh
# make_run_image.sh IMAGES_SCRIPT DIR: the images of tests/integration_images/make_images.sh
# (IMAGES_SCRIPT) in DIR, plus DIR/run-image.tar, an oci-archive of
# docker.io/library/busybox:latest whose extra layer links the busybox applets the container
# tests call by name (echo, sleep, id, ...) and whose config sets PATH and Cmd.
set -eu
sh "$1" "$2"
cd "$2"
umoci unpack --image oci:busybox bundle >/dev/null
for applet in echo sleep id cat pwd env ls ps true false kill hostname grep wc stty; do
  ln -sf busybox "bundle/rootfs/bin/$applet"
done
umoci repack --image oci:busybox bundle >/dev/null
rm -rf bundle
umoci config --image oci:busybox --config.env PATH=/bin --config.cmd /bin/sh >/dev/null
skopeo copy -q oci:oci:busybox oci-archive:run-image.tar:docker.io/library/busybox:latest
