# berth_fast_start(TARGET): for binaries that start once per command or per container, where
# start-up time is part of every figure (berthctl, berth-shim, berth-runtime). Links the
# third-party libraries statically (cmake/link_static_deps.sh), libstdc++ too, as a
# position-dependent executable: no symbol lookups and no relocations at start. Measured on
# `berthctl --help`: 18.2 ms dynamic PIE, 8.8 ms static deps, 5.7 ms also non-PIE (runc,
# containerd-shim-runc-v2 and ctr are non-PIE executables as well). berthd, started once, keeps
# the default (shared libraries, PIE). plugins/base/fast_start.cc maps the binary's code and a
# first heap in before its static constructors run (page faults: plugins/base/fast_start.cc).
option(BERTH_FAST_START "Link the per-command binaries statically against their dependencies" ON)
function(berth_fast_start target)
  if(NOT BERTH_FAST_START)
    return()
  endif()
  set_target_properties(${target} PROPERTIES
    CXX_LINKER_LAUNCHER ${PROJECT_SOURCE_DIR}/cmake/link_static_deps.sh
    POSITION_INDEPENDENT_CODE OFF)
  target_link_options(${target} PRIVATE -no-pie -static-libstdc++ -static-libgcc)
  # A source of the target, not of a library: nothing refers to it, so an archive would drop it.
  target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/base/fast_start.cc)
endfunction()
