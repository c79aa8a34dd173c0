#pragma once

// File helpers shared by every component. All return absl::Status with the path in the message.

#include <sys/types.h>

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth {

// Reads a whole file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` so that readers see either the old file or the whole new one, and the new
// content survives a crash once this returns: temp file, fsync, rename, fsync of the directory.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode = 0644);

// The same replacement without the fsyncs, for volatile state (bundles under /run, shim
// addresses and pids) that a host crash discards anyway: each fsync costs ~8 ms on the disks
// this runs on, several per container start.
absl::Status WriteFileReplace(const std::string& path, absl::string_view data, mode_t mode = 0644);

// mkdir -p with `mode` for the directories it creates. OK if the directory exists.
absl::Status MkdirAll(const std::string& path, mode_t mode = 0755);

// rm -rf without following symlinks or crossing into other mounts' contents via symlinks.
// OK if the path does not exist.
absl::Status RemoveAll(const std::string& path);

// fsync of a directory, so a rename or create inside it is durable.
absl::Status SyncDir(const std::string& path);

bool PathExists(const std::string& path);

// pwrite(2) / pread(2) of exactly `size` bytes at `offset`, going on after short transfers and
// EINTR. 0, or the errno that stopped it (EIO when a read meets the end of the file); the
// bytes before the failure were transferred. Plain errno, for loops that move gigabytes.
int PwriteFull(int fd, const void* data, size_t size, int64_t offset);
int PreadFull(int fd, void* data, size_t size, int64_t offset);

// Joins path parts with single slashes.
std::string JoinPath(absl::string_view a, absl::string_view b);

}  // namespace berth
