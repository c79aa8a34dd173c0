#pragma once

// SizedWalEnv: the rocksdb::Env both of berthd's RocksDB databases open with (metadata and the
// snapshotters' stores). It differs from the default in two things. First, a write-ahead log
// file is preallocated *with* its size (fallocate mode 0), not with FALLOC_FL_KEEP_SIZE as
// RocksDB's POSIX file system does for logs.
//
// Why: every acknowledged write is a synced WAL append. With KEEP_SIZE each append grows the
// file's size, so each fdatasync also commits a journal transaction for the inode; with the
// size already set, most syncs flush only the data (a sync still journals when the append
// reaches a block whose extent is unwritten). Measured on ext4, 1.5 KB appends each followed by
// fdatasync: median 0.90-1.22 ms growing the file vs 0.49-0.52 ms (mean 0.75-0.90) into a
// preallocated size, on the loop-mounted ext4 the benches use; 0.22 vs 0.15 ms on the VM's own
// disk. (RocksDB's default here: a fresh log had 4.5 MB of blocks and only its data's size.)
//
// Second, it writes zeros ahead of each log's appends (256 KiB at a time, through its own
// descriptor, never over data). A preallocated extent is "unwritten" until data lands in it,
// and converting it is a journal transaction too: an append that reaches a new block paid one
// on its sync. With the blocks already written, only a chunk's first sync does. Measured on
// the benches' loop-mounted ext4, 8.8 KB appends each followed by fdatasync: median 0.82-0.89
// ms into the preallocation vs 0.28-0.31 ms into zeroed blocks (300-byte appends: no change);
// Containers.Create (its 8.8 KB spec) 2.74 -> 1.59 ms median in `berthctl run`.
//
// Safety: a log that was not closed (a SIGKILLed daemon) ends in zeros up to its preallocated
// size. RocksDB's log format reserves record type 0 for exactly that ("preallocated files"),
// and its reader passes over it; a clean close truncates the file to its data. The crash tests
// (SIGKILL while clients write, then reopen) run on this Env.

#include "rocksdb/env.h"

namespace berth {

// The process-wide Env (created on first use, never destroyed: RocksDB keeps pointers to it).
rocksdb::Env* SizedWalEnv();

}  // namespace berth
