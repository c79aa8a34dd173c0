# Shared by the bench scripts (source it): berthd and containerd 1.6 on temp dirs and sockets,
# stopped by PID on exit. Needs BERTHD (path) and TMP (a temp dir the caller owns).
#   start_berthd NAME     -> $TMP/NAME/{root,state,s.sock,log}, pid in BERTH_PIDS
#   start_containerd NAME -> the same layout for containerd (CRI disabled, own opt dir)
#   stop_daemons          -> SIGTERM every daemon started, SIGKILL after 15 s
#   now                   -> wall clock seconds with nanoseconds
#   fresh_ext4 DIR GIB    -> mounts a new, empty ext4 of GIB GiB (a sparse loop image beside
#                            DIR) on DIR; umount_fresh_ext4 DIR undoes it. File-creation
#                            benchmarks need it: on an aged ext4 that has recently deleted many
#                            files, each new inode costs a scan of recently freed ones
#                            (ext4's recently_deleted()), which made `tar -xzf` 4x slower here
#                            and varied from run to run.
CTR=${CTR:-/usr/bin/ctr}
CONTAINERD=${CONTAINERD:-/usr/bin/containerd}
BERTH_PIDS=()

now() { date +%s.%N; }

fresh_ext4() {
    mkdir -p "$1"
    truncate -s "${2}G" "$1.img"
    mkfs.ext4 -q -F "$1.img"
    mount -o loop "$1.img" "$1"
}

umount_fresh_ext4() {
    mountpoint -q "$1" && umount "$1"
    rm -f "$1.img"
}

# remove_ns_cgroups NS: the namespace's parent cgroup in every hierarchy. Runtimes put each
# container in /<namespace>/<id> and remove only <id> (as runc does); a benchmark's namespace
# is its own, so it removes the empty parent when it is done (rmdir: never a busy one).
remove_ns_cgroups() {
    local dir
    for dir in /sys/fs/cgroup/*/"$1" /sys/fs/cgroup/"$1"; do
        [ -d "$dir" ] && rmdir "$dir" 2>/dev/null
    done
    return 0
}

stop_pid() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_daemons() {
    local pid
    for pid in "${BERTH_PIDS[@]}"; do stop_pid "$pid"; done
    BERTH_PIDS=()
    wait 2>/dev/null || true
}

wait_socket() {  # wait_socket NAME PID SOCKET
    for _ in $(seq 300); do
        "$CTR" -a "$3" version >/dev/null 2>&1 && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench: $1 did not come up" >&2
    cat "$TMP/$1/log" >&2
    return 1
}

start_berthd() {
    local d=$TMP/$1
    mkdir -p "$d"
    : >"$d/config.toml"
    "$BERTHD" --config "$d/config.toml" --root "$d/root" --state "$d/state" \
        --address "$d/s.sock" --log-level warn >"$d/log" 2>&1 &
    BERTH_PIDS+=($!)
    wait_socket "$1" $! "$d/s.sock"
}

start_containerd() {
    local d=$TMP/$1
    mkdir -p "$d"
    cat >"$d/config.toml" <<EOC
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/s.sock"
[ttrpc]
  address = "$d/s.sock.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
EOC
    "$CONTAINERD" --config "$d/config.toml" >"$d/log" 2>&1 &
    BERTH_PIDS+=($!)
    wait_socket "$1" $! "$d/s.sock"
}
