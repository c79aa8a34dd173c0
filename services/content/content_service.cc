#include "services/content/content_service.h"

#include "containerd/events/content.pb.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "content/digest.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "plugins/types.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"
#include "services/common/list_filter.h"
#include "services/content/content_write.h"
#include "services/events/exchange.h"
#include "services/metadata/metadata.h"

namespace berth::services {
namespace {

namespace api = containerd::services::content::v1;
using metadata::ContentInfo;
using metadata::IngestStatus;

constexpr size_t kReadChunk = 1 << 20;  // containerd's read buffer
constexpr int kListBatch = 100;          // containerd's sendBlock size

class ContentService final : public api::Content::Service, public GrpcService {
 public:
  ContentService(metadata::ContentMetadata& store, events::Exchange& exchange)
      : store_(store), exchange_(exchange) {}
  grpc::Service* service() override { return this; }

  grpc::Status Info(grpc::ServerContext* context, const api::InfoRequest* request,
                    api::InfoResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(*response->mutable_info(), store_.Info(ns, request->digest()));
      return absl::OkStatus();
    }());
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateRequest* request,
                      api::UpdateResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      std::vector<std::string> paths(request->update_mask().paths().begin(),
                                     request->update_mask().paths().end());
      ASSIGN_OR_RETURN(*response->mutable_info(), store_.Update(ns, request->info(), paths));
      return absl::OkStatus();
    }());
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListContentRequest* request,
                    grpc::ServerWriter<api::ListContentResponse>* writer) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(auto match, MakeListFilter<ContentInfo>(request->filters(), [](const auto& i) {
        return filters::AdaptFields({{"digest", i.digest()}, {"size", std::to_string(i.size())}},
                                    i.labels());
      }));
      api::ListContentResponse batch;
      bool sent = true;
      RETURN_IF_ERROR(store_.Walk(ns, [&](const ContentInfo& info) {
        if (!match(info)) return true;
        *batch.add_info() = info;
        if (batch.info_size() >= kListBatch) {
          sent = writer->Write(batch);
          batch.clear_info();
        }
        return sent;
      }));
      if (sent && batch.info_size() > 0) sent = writer->Write(batch);
      return sent ? absl::OkStatus() : absl::CancelledError("client went away while listing");
    }());
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteContentRequest* request,
                      google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      RETURN_IF_ERROR(store_.Delete(ns, request->digest()));
      containerd::events::ContentDelete event;
      event.set_digest(request->digest());
      exchange_.Notify(ns, "/content/delete", event);
      return absl::OkStatus();
    }());
  }

  grpc::Status Read(grpc::ServerContext* context, const api::ReadContentRequest* request,
                    grpc::ServerWriter<api::ReadContentResponse>* writer) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      RETURN_IF_ERROR(content::Digest::Validate(request->digest()));
      ASSIGN_OR_RETURN(ContentInfo info, store_.Info(ns, request->digest()));
      ASSIGN_OR_RETURN(auto reader, store_.OpenReader(ns, request->digest()));
      int64_t offset = std::max<int64_t>(request->offset(), 0);
      if (offset > info.size()) {
        return absl::OutOfRangeError(
            absl::StrCat("read past object length ", info.size(), " bytes"));
      }
      int64_t size = request->size();
      if (size <= 0 || offset + size > info.size()) size = info.size() - offset;
      api::ReadContentResponse chunk;
      std::string buffer(std::min<int64_t>(size, kReadChunk), '\0');
      for (int64_t end = offset + size; offset < end;) {
        size_t want = static_cast<size_t>(std::min<int64_t>(end - offset, kReadChunk));
        ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, absl::MakeSpan(buffer.data(), want)));
        if (n == 0) return absl::DataLossError("blob is shorter than its recorded size");
        chunk.set_offset(offset);
        chunk.set_data(buffer.data(), n);
        if (!writer->Write(chunk)) return absl::CancelledError("client went away while reading");
        offset += static_cast<int64_t>(n);
      }
      return absl::OkStatus();
    }());
  }

  grpc::Status Status(grpc::ServerContext* context, const api::StatusRequest* request,
                      api::StatusResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(*response->mutable_status(), store_.Status(ns, request->ref()));
      return absl::OkStatus();
    }());
  }

  grpc::Status ListStatuses(grpc::ServerContext* context, const api::ListStatusesRequest* request,
                            api::ListStatusesResponse* response) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      ASSIGN_OR_RETURN(auto match, MakeListFilter<IngestStatus>(request->filters(), [](const IngestStatus& s) {
        return filters::AdaptFields({{"ref", s.ref()}});
      }));
      ASSIGN_OR_RETURN(std::vector<IngestStatus> statuses, store_.ListStatuses(ns));
      for (auto& status : statuses) {
        if (match(status)) *response->add_statuses() = std::move(status);
      }
      return absl::OkStatus();
    }());
  }

  grpc::Status Write(grpc::ServerContext* context, WriteStream* stream) override {
    return ToGrpc(ServeWrite(store_, *context, *stream));
  }

  grpc::Status Abort(grpc::ServerContext* context, const api::AbortRequest* request,
                     google::protobuf::Empty*) override {
    return ToGrpc([&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::string ns, RequireNamespace(*context));
      return store_.Abort(ns, request->ref());
    }());
  }

 private:
  metadata::ContentMetadata& store_;
  events::Exchange& exchange_;
};

}  // namespace

void RegisterContentService(plugins::Registry& registry) {
  (void)registry.Register(plugins::Registration{
      .type = plugins::kGrpcPlugin,
      .id = "content",
      .requires_types = {plugins::kMetadataPlugin, plugins::kEventPlugin},
      .init = [](plugins::InitContext& context) -> absl::StatusOr<plugins::Instance> {
        ASSIGN_OR_RETURN(auto* db, context.Get<metadata::Metadata>(plugins::kMetadataPlugin));
        ASSIGN_OR_RETURN(auto* exchange, context.Get<events::Exchange>(plugins::kEventPlugin));
        if (db->content() == nullptr) return plugins::SkipPlugin("no content store loaded");
        return plugins::Instance::Of<GrpcService>(
            std::make_unique<ContentService>(*db->content(), *exchange));
      }});
}

}  // namespace berth::services
