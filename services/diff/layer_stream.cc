#include "services/diff/layer_stream.h"

#include <isa-l/igzip_lib.h>
#include <zstd.h>

#include <deque>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "plugins/base/status_macros.h"

namespace berth::diff {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kQueueDepth = 8;

using Sink = absl::FunctionRef<absl::Status(absl::string_view)>;

// Streaming decompressors: Feed input, get output through `sink`; End checks completeness.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual absl::Status Feed(absl::string_view in, Sink sink) = 0;
  virtual absl::Status End() = 0;
};

class PlainDecoder final : public Decoder {
 public:
  absl::Status Feed(absl::string_view in, Sink sink) override { return sink(in); }
  absl::Status End() override { return absl::OkStatus(); }
};

class GzipDecoder final : public Decoder {
 public:
  GzipDecoder() : out_(kChunk, '\0') { Reset(); }
  absl::Status Feed(absl::string_view in, Sink sink) override {
    state_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in.data()));
    state_.avail_in = static_cast<uint32_t>(in.size());
    while (state_.avail_in > 0) {
      if (finished_) {
        // Concatenated gzip members (pigz, appended layers) continue the stream.
        if (static_cast<uint8_t>(*state_.next_in) != 0x1f) {
          return absl::DataLossError("gzip: trailing garbage after the compressed stream");
        }
        uint8_t* next = state_.next_in;
        uint32_t avail = state_.avail_in;
        Reset();
        state_.next_in = next;
        state_.avail_in = avail;
      }
      state_.next_out = reinterpret_cast<uint8_t*>(out_.data());
      state_.avail_out = static_cast<uint32_t>(out_.size());
      int rc = isal_inflate(&state_);
      if (rc != ISAL_DECOMP_OK) {
        return absl::DataLossError(absl::StrCat("gzip: corrupt compressed data (igzip error ",
                                                rc, ")"));
      }
      size_t produced = out_.size() - state_.avail_out;
      if (produced > 0) RETURN_IF_ERROR(sink(absl::string_view(out_.data(), produced)));
      if (state_.block_state == ISAL_BLOCK_FINISH) {
        finished_ = true;
        started_ = false;
      } else {
        started_ = true;
        if (produced == 0 && state_.avail_in == 0) break;
      }
    }
    return absl::OkStatus();
  }
  absl::Status End() override {
    if (!finished_ || started_) return absl::DataLossError("gzip: unexpected end of data");
    return absl::OkStatus();
  }

 private:
  void Reset() {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
    finished_ = false;
  }
  inflate_state state_;
  std::string out_;
  bool finished_ = false;
  bool started_ = false;
};

class ZstdDecoder final : public Decoder {
 public:
  ZstdDecoder() : ctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize(), '\0') {}
  ~ZstdDecoder() override { ZSTD_freeDCtx(ctx_); }
  absl::Status Feed(absl::string_view in_bytes, Sink sink) override {
    ZSTD_inBuffer in{in_bytes.data(), in_bytes.size(), 0};
    while (in.pos < in.size || pending_) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t rc = ZSTD_decompressStream(ctx_, &out, &in);
      if (ZSTD_isError(rc)) {
        return absl::DataLossError(absl::StrCat("zstd: ", ZSTD_getErrorName(rc)));
      }
      last_ = rc;
      pending_ = out.pos == out.size;  // output full: more may be buffered inside
      if (out.pos > 0) RETURN_IF_ERROR(sink(absl::string_view(out_.data(), out.pos)));
      if (out.pos == 0 && in.pos == in.size) break;
    }
    return absl::OkStatus();
  }
  absl::Status End() override {
    if (last_ != 0) return absl::DataLossError("zstd: unexpected end of data");
    return absl::OkStatus();
  }

 private:
  ZSTD_DCtx* ctx_;
  std::string out_;
  size_t last_ = 1;
  bool pending_ = false;
};

class PipelinedStream final : public LayerStream {
 public:
  PipelinedStream(ReadFn read, Compression compression, int64_t max_uncompressed)
      : read_(std::move(read)), max_(max_uncompressed) {
    switch (compression) {
      case Compression::kNone: decoder_ = std::make_unique<PlainDecoder>(); break;
      case Compression::kGzip: decoder_ = std::make_unique<GzipDecoder>(); break;
      case Compression::kZstd: decoder_ = std::make_unique<ZstdDecoder>(); break;
    }
    thread_ = std::thread([this] { Run(); });
  }
  ~PipelinedStream() override {
    if (thread_.joinable()) Cancel();
  }

  absl::StatusOr<absl::string_view> Next() override {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](PipelinedStream* s) { return !s->queue_.empty() || s->done_; }, this));
    if (queue_.empty()) {
      if (!status_.ok()) return status_;
      return absl::string_view();
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    return absl::string_view(current_);
  }

  absl::StatusOr<StreamResult> Finish() override {
    {
      absl::MutexLock lock(&mu_);
      draining_ = true;
      queue_.clear();
    }
    thread_.join();
    RETURN_IF_ERROR(status_);
    return result_;
  }

  void Cancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      queue_.clear();
    }
    thread_.join();
  }

 private:
  // Queues `chunk` for the consumer, or drops it while draining. False when cancelled.
  absl::Status Push(absl::string_view chunk) {
    uncompressed_.Update(chunk);
    result_.uncompressed_size += static_cast<int64_t>(chunk.size());
    if (max_ > 0 && result_.uncompressed_size > max_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "layer expands to more than ", max_, " bytes: refusing a possible decompression bomb"));
    }
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](PipelinedStream* s) {
          return s->queue_.size() < kQueueDepth || s->draining_ || s->cancelled_;
        },
        this));
    if (cancelled_) return absl::CancelledError("layer stream cancelled");
    if (!draining_) queue_.emplace_back(chunk);
    return absl::OkStatus();
  }

  absl::Status Produce() {
    std::string buf(kChunk, '\0');
    while (true) {
      ASSIGN_OR_RETURN(size_t n, read_(absl::MakeSpan(buf)));
      if (n == 0) break;
      absl::string_view in(buf.data(), n);
      compressed_.Update(in);
      RETURN_IF_ERROR(decoder_->Feed(in, [this](absl::string_view out) { return Push(out); }));
    }
    RETURN_IF_ERROR(decoder_->End());
    result_.compressed = compressed_.Sum();
    result_.compressed_size = compressed_.size();
    result_.uncompressed = uncompressed_.Sum();
    return absl::OkStatus();
  }

  void Run() {
    absl::Status status = Produce();
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  ReadFn read_;
  const int64_t max_;
  std::unique_ptr<Decoder> decoder_;
  content::Sha256 compressed_;
  content::Sha256 uncompressed_;
  StreamResult result_;
  std::string current_;
  absl::Mutex mu_;
  std::deque<std::string> queue_;
  bool done_ = false;
  bool draining_ = false;
  bool cancelled_ = false;
  absl::Status status_;
  std::thread thread_;
};

}  // namespace

absl::StatusOr<Compression> CompressionOf(absl::string_view media_type) {
  if (absl::StrContains(media_type, "+encrypted")) {
    return absl::UnimplementedError(
        absl::StrCat("encrypted layer ", media_type, " is not supported: not implemented"));
  }
  static constexpr struct {
    absl::string_view type;
    Compression compression;
  } kTypes[] = {
      {"application/vnd.oci.image.layer.v1.tar", Compression::kNone},
      {"application/vnd.oci.image.layer.v1.tar+gzip", Compression::kGzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", Compression::kZstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::kNone},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::kGzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::kZstd},
      {"application/vnd.docker.image.rootfs.diff.tar", Compression::kNone},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", Compression::kGzip},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::kZstd},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression::kGzip},
  };
  for (const auto& t : kTypes) {
    if (t.type == media_type) return t.compression;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported diff media type: ", media_type, ": invalid argument"));
}

absl::string_view LayerMediaType(Compression compression) {
  switch (compression) {
    case Compression::kGzip: return "application/vnd.oci.image.layer.v1.tar+gzip";
    case Compression::kZstd: return "application/vnd.oci.image.layer.v1.tar+zstd";
    default: return "application/vnd.oci.image.layer.v1.tar";
  }
}

std::unique_ptr<LayerStream> LayerStream::Start(ReadFn read, Compression compression,
                                                int64_t max_uncompressed) {
  return std::make_unique<PipelinedStream>(std::move(read), compression, max_uncompressed);
}

}  // namespace berth::diff
