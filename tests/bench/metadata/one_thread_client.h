#pragma once
// OneThreadClient: unary gRPC calls made entirely on the calling thread, for metadata_bench's
// unary figures. The caller writes the request and reads the socket itself until its answer
// ends: no other thread is woken on the way (gRPC C++'s client hands each answer from a poller
// to the caller, berthctl's from its reader thread). On this 2-core machine every such hand-off
// is a wake-up that competes with the daemon's own threads, so a client without one shows more
// of what the daemon takes and less of what the client takes. Both daemons get the same client.
//
// One call at a time, small messages (every answer fits the 16 MiB windows we give), no
// compression. Built on berthctl's HPACK and frame code (ctl/rpc); nothing here is used outside
// the bench.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/base/http2/hpack.h"
#include "google/protobuf/message_lite.h"
#include "plugins/base/unique_fd.h"

namespace berth::bench {

class OneThreadClient {
 public:
  static absl::StatusOr<OneThreadClient> Dial(const std::string& socket_path);

  // Calls `path` ("/containerd.services.version.v1.Version/Version") with `namespace_name` as
  // containerd-namespace (none if empty). The answer's grpc-status, if not OK, is the error.
  absl::Status Unary(std::string_view path, std::string_view namespace_name,
                     const google::protobuf::MessageLite& request,
                     google::protobuf::MessageLite* response);

 private:
  explicit OneThreadClient(UniqueFd fd) : fd_(std::move(fd)) {}

  struct Answer {
    std::string headers_block;           // HEADERS + CONTINUATION payloads of the current block
    std::vector<http2::Header> status_fields;  // the last complete header block
    std::string data;
    bool ended = false;
  };
  // Reads and handles one frame; frames of `id` go into `answer`.
  absl::Status ReadFrame(uint32_t id, Answer& answer);
  absl::Status ReadExactly(char* out, size_t n);
  absl::Status WriteAll(std::string_view bytes);

  UniqueFd fd_;
  http2::HpackDecoder decoder_;
  uint32_t next_id_ = 1;
  uint64_t unreturned_ = 0;  // DATA bytes received and not yet given back as connection credit
  std::vector<char> in_ = std::vector<char>(64 << 10);  // bytes read; [begin_, end_) unparsed
  size_t begin_ = 0, end_ = 0;
};

}  // namespace berth::bench
