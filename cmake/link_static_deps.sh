#!/bin/sh
# Linker launcher for the binaries started once per command or container (berthctl, berth-shim,
# berth-runtime; see cmake/FastStart.cmake). CMake hands it the link command; it links every
# Debian library that also ships as an archive (lib<name>.a beside lib<name>.so) statically,
# inside one --start-group so their mutual references resolve, and leaves glibc dynamic.
# Why: with ~60 shared libraries (gRPC, protobuf, ~50 Abseil parts) the dynamic loader's
# symbol lookups and relocations took most of a start: `berthctl --help` 18 ms -> 5.7 ms.
set -e
out=''
prev=''
grouped=0
for arg in "$@"; do
    shift
    case $arg in
        /usr/lib/*/lib*.so|/usr/lib/*/lib*.so.*)
            archive=$(printf '%s\n' "$arg" | sed -E 's/\.so(\.[0-9]+)*$/.a/')
            [ -f "$archive" ] && arg=$archive ;;
        -l*)
            case $arg in -ldl|-lm|-lrt|-lpthread|-latomic|-lc) ;; *)
                for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib; do
                    if [ -f "$dir/lib${arg#-l}.a" ]; then arg=$dir/lib${arg#-l}.a; break; fi
                done ;;
            esac ;;
    esac
    set -- "$@" "$arg"
    if [ "$prev" = "-o" ] && [ $grouped = 0 ]; then
        set -- "$@" -Wl,--start-group
        grouped=1
    fi
    prev=$arg
done
[ $grouped = 1 ] && set -- "$@" -Wl,--end-group
exec "$@"
