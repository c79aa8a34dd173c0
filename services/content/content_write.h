#pragma once

// One Content.Write session (containerd contentserver.go Write), driven the way containerd's
// clients drive it:
//
//   STAT {ref, total, expected}  -> opens (locks) the ingest; Unavailable if another writer has
//                                   it; AlreadyExists if `expected` is in the namespace already.
//                                   Reply: offset so far, total, started/updated, digest so far.
//   WRITE {offset, data}         -> offset must be the current one (OutOfRange), 0 restarts the
//                                   ingest; reply: new offset, sent before the bytes are hashed
//                                   and written (a write error fails the next message).
//   COMMIT {total, expected, labels} -> verify (FailedPrecondition on mismatch) and record the
//                                   blob in the namespace; reply and end the stream.
//
// `expected` and `total` may appear in any message; an `expected` already present answers
// AlreadyExists and aborts the ingest, as containerd does.

#include "containerd/services/content/v1/content.grpc.pb.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/sync_stream.h"
#include "services/metadata/content.h"

namespace berth::services {

using WriteStream = grpc::ServerReaderWriter<containerd::services::content::v1::WriteContentResponse,
                                             containerd::services::content::v1::WriteContentRequest>;

absl::Status ServeWrite(metadata::ContentMetadata& store, grpc::ServerContext& context,
                        WriteStream& stream);

}  // namespace berth::services
