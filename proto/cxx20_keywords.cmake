# cmake -DGEN_BASE=<gen-dir>/<path-without-.proto> -P cxx20_keywords.cmake
#
# protoc 3.21 does not know C++20 keywords, so a field named `requires` (containerd's
# introspection Plugin.requires) yields accessors `requires()` that do not compile as C++20.
# Rename those accessors to `requires_()`, the name newer protoc versions generate. Prefixed
# accessors (add_requires, requires_size, ...) are already valid and stay unchanged.
foreach(file ${GEN_BASE}.pb.h ${GEN_BASE}.pb.cc)
  file(READ ${file} text)
  string(REGEX REPLACE "([^A-Za-z0-9_])requires\\(" "\\1requires_(" fixed "${text}")
  if(NOT fixed STREQUAL text)
    file(WRITE ${file} "${fixed}")
  endif()
endforeach()
