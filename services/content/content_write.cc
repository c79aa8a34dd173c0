#include "services/content/content_write.h"

#include "absl/strings/str_cat.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/common/grpc_status.h"

namespace berth::services {
namespace {

namespace api = containerd::services::content::v1;

class WriteSession {
 public:
  WriteSession(metadata::ContentMetadata& store, std::string ns, WriteStream& stream)
      : store_(store), ns_(std::move(ns)), stream_(stream) {}

  absl::Status Run(const api::WriteContentRequest& first,
                   std::unique_ptr<metadata::NamespacedWriter> writer) {
    writer_ = std::move(writer);
    api::WriteContentRequest request = first;
    for (;;) {
      ASSIGN_OR_RETURN(bool done, Step(request));
      if (done) return absl::OkStatus();
      if (!stream_.Read(&request)) return absl::OkStatus();  // client closed the stream
    }
  }

  std::string ref_;
  int64_t total_ = 0;
  std::string expected_;

 private:
  // Handles one request and sends its reply; true once committed.
  absl::StatusOr<bool> Step(const api::WriteContentRequest& request) {
    api::WriteContentResponse response;
    response.set_action(request.action());
    metadata::IngestStatus status = writer_->Status();
    response.set_offset(status.offset());
    if (!request.expected().empty()) {
      expected_ = request.expected();
      if (store_.Info(ns_, expected_).ok()) {
        writer_.reset();
        (void)store_.Abort(ns_, ref_);
        return AlreadyExists(absl::StrCat("blob with expected digest ", expected_, " exists"));
      }
    }
    if (request.total() > 0) total_ = request.total();
    switch (request.action()) {
      case api::STAT:
        response.set_digest(writer_->Digest().string());
        *response.mutable_started_at() = status.started_at();
        *response.mutable_updated_at() = status.updated_at();
        response.set_total(total_);
        break;
      case api::WRITE:
        return AcknowledgeThenWrite(request, status.offset(), response);
      case api::COMMIT:
        RETURN_IF_ERROR(CheckOffset(request, status.offset()));
        RETURN_IF_ERROR(WriteData(request, status.offset()));
        response.set_offset(OffsetAfter(request, status.offset()));
        RETURN_IF_ERROR(Commit(request));
        response.set_digest(writer_->Digest().string());
        break;
      default:
        return InvalidArgument(absl::StrCat("unknown write action ", request.action()));
    }
    if (!stream_.Write(response)) return absl::CancelledError("client went away");
    return request.action() == api::COMMIT;
  }

  // containerd's clients wait for each WRITE's reply before they send the next chunk, so a
  // reply sent after hashing and writing would put both on the critical path of every chunk.
  // The reply goes out as soon as the offset is known to be right; the chunk is then hashed and
  // written while the next one travels. It carries no digest (clients keep the one they had).
  // A failed write ends the stream with its error, which the client gets on its next message,
  // and Status keeps reporting the offset actually written, so a resume starts from there.
  absl::StatusOr<bool> AcknowledgeThenWrite(const api::WriteContentRequest& request,
                                            int64_t offset, api::WriteContentResponse& response) {
    RETURN_IF_ERROR(CheckOffset(request, offset));
    response.set_offset(OffsetAfter(request, offset));
    if (!stream_.Write(response)) return absl::CancelledError("client went away");
    RETURN_IF_ERROR(WriteData(request, offset));
    return false;
  }

  // WRITE at offset 0 restarts the ingest; any other offset appends.
  static int64_t OffsetAfter(const api::WriteContentRequest& request, int64_t offset) {
    int64_t start = request.offset() == 0 ? 0 : offset;
    return start + static_cast<int64_t>(request.data().size());
  }

  static absl::Status CheckOffset(const api::WriteContentRequest& request, int64_t offset) {
    if (request.offset() > 0 && request.offset() != offset) {
      return absl::OutOfRangeError(absl::StrCat("write @", request.offset(),
                                                " must occur at current offset ", offset));
    }
    return absl::OkStatus();
  }

  absl::Status WriteData(const api::WriteContentRequest& request, int64_t offset) {
    if (request.offset() == 0 && offset > 0) {
      RETURN_IF_ERROR(Annotate(writer_->Truncate(0), "truncate failed"));
    }
    if (request.data().empty()) return absl::OkStatus();
    return writer_->Write(request.data());
  }

  absl::Status Commit(const api::WriteContentRequest& request) {
    content::Digest expected;
    if (!expected_.empty()) {
      ASSIGN_OR_RETURN(expected, content::Digest::Parse(expected_));
    }
    content::Labels labels(request.labels().begin(), request.labels().end());
    return writer_->Commit(total_, expected, labels);
  }

  metadata::ContentMetadata& store_;
  const std::string ns_;
  WriteStream& stream_;
  std::unique_ptr<metadata::NamespacedWriter> writer_;
};

}  // namespace

absl::Status ServeWrite(metadata::ContentMetadata& store, grpc::ServerContext& context,
                        WriteStream& stream) {
  ASSIGN_OR_RETURN(std::string ns, RequireNamespace(context));
  api::WriteContentRequest first;
  if (!stream.Read(&first)) return absl::OkStatus();
  if (first.ref().empty()) {
    return absl::InvalidArgumentError("first message must have a reference");
  }
  metadata::WriteContext write_context{ns, LeaseFromContext(context)};
  ASSIGN_OR_RETURN(std::unique_ptr<metadata::NamespacedWriter> writer,
                   store.OpenWriter(write_context, first.ref(), first.total(), first.expected()));
  WriteSession session(store, ns, stream);
  session.ref_ = first.ref();
  session.total_ = first.total();
  session.expected_ = first.expected();
  return session.Run(first, std::move(writer));
}

}  // namespace berth::services
