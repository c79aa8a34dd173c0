# berth_test(NAME name SOURCES ... DEPS ... LABELS unit|privileged|integration)
# One gtest binary per module; ctest discovers every TEST in it and labels them.
# Labels: unit (no root needed), privileged (root: mounts, namespaces), integration (daemons).
function(berth_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(${T_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  # Privileged and integration tests start daemons, mount filesystems and run containers: they
  # run one at a time even when ctest runs unit tests in parallel.
  set(serial FALSE)
  if(NOT T_LABELS STREQUAL "unit")
    set(serial TRUE)
  endif()
  gtest_discover_tests(${T_NAME}
    PROPERTIES LABELS "${T_LABELS}" ENVIRONMENT "BERTH_BUILD_DIR=${PROJECT_BINARY_DIR}"
               RUN_SERIAL ${serial}
    DISCOVERY_TIMEOUT 60)
endfunction()
