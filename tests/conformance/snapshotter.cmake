# Snapshotter (containerd snapshots/testsuite): the suite plus one instantiation file per
# backend, and overlay's own tests (mount shapes, >100 layers within a page). Mounts, so it
# needs root; included from tests/conformance/CMakeLists.txt.
berth_test(NAME snapshotter_conformance_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/snapshotter_conformance.cc
          ${CMAKE_CURRENT_LIST_DIR}/snapshotter_conformance_fs.cc
          ${CMAKE_CURRENT_LIST_DIR}/snapshotter_conformance_overlay.cc
          ${CMAKE_CURRENT_LIST_DIR}/snapshotter_conformance_native.cc
          ${CMAKE_CURRENT_LIST_DIR}/snapshotter_conformance_metadata.cc
          ${CMAKE_CURRENT_LIST_DIR}/snapshotter_conformance_proxy.cc
  DEPS berth::snapshotter berth::snapshotter_overlay berth::snapshotter_native berth::metadata
       berth::snapshotter_grpc
  LABELS privileged)
