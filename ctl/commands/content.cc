// berthctl content ingest: writes a blob into the content store through Content.Write, the
// way `ctr content ingest` does (same flags), but without waiting for each chunk's reply
// before sending the next: chunks stream back to back while a second thread reads the
// replies, so the client's round trips do not bound the throughput. An ingest left behind by
// an earlier attempt on the same ref resumes at the offset the daemon reports.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "containerd/services/content/v1/content.pb.h"
#include "ctl/commands/commands.h"
#include "ctl/methods.h"
#include "ctl/rpc/call.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/unique_fd.h"

namespace berth::ctl {
namespace {

namespace api = containerd::services::content::v1;
// Content.Write: WriteContentRequest out, WriteContentResponse back (methods::kContentWrite).
using WriteStream = rpc::Call;

constexpr size_t kChunk = 1 << 20;

struct IngestOptions {
  std::string ref;
  std::string input;  // empty or "-": stdin
  int64_t expected_size = 0;
  std::string expected_digest;
};

absl::StatusOr<UniqueFd> OpenInput(const std::string& input) {
  bool from_stdin = input.empty() || input == "-";
  UniqueFd fd(from_stdin ? dup(STDIN_FILENO) : open(input.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return absl::NotFoundError(
        absl::StrCat("open `", from_stdin ? "stdin" : input, "`: ", strerror(errno)));
  }
  return fd;
}

// Positions `fd` at `offset` (an ingest being resumed): seeks, or reads and drops the bytes of
// a pipe.
absl::Status SkipTo(int fd, int64_t offset) {
  if (offset == 0 || lseek(fd, offset, SEEK_SET) == offset) return absl::OkStatus();
  std::string drop(kChunk, '\0');
  for (int64_t left = offset; left > 0;) {
    ssize_t n = read(fd, drop.data(), static_cast<size_t>(std::min<int64_t>(left, kChunk)));
    if (n <= 0) return absl::OutOfRangeError("input is shorter than the ingest's offset");
    left -= n;
  }
  return absl::OkStatus();
}

// Sends every chunk of `fd` from `offset` on, then COMMIT. False when the stream broke (the
// reason is in Finish's status) or the input could not be read (`read_error`).
bool SendAll(WriteStream& stream, int fd, int64_t offset, const IngestOptions& options,
             absl::Status& read_error) {
  api::WriteContentRequest request;
  for (;;) {
    std::string* data = request.mutable_data();
    data->resize(kChunk);
    ssize_t n = read(fd, data->data(), kChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read_error = absl::InternalError(absl::StrCat("read input: ", strerror(errno)));
      return false;
    }
    if (n == 0) break;
    data->resize(static_cast<size_t>(n));
    request.set_action(api::WRITE);
    request.set_offset(offset);
    if (!stream.Write(request)) return false;
    offset += n;
  }
  request.Clear();
  request.set_action(api::COMMIT);
  request.set_offset(offset);
  request.set_total(options.expected_size);
  request.set_expected(options.expected_digest);
  return stream.Write(request) && stream.WritesDone();
}

absl::Status IngestCommand(Client& client, const IngestOptions& options) {
  ASSIGN_OR_RETURN(UniqueFd fd, OpenInput(options.input));
  // No deadline: a large blob takes as long as it takes.
  std::unique_ptr<WriteStream> stream = client.Stream(methods::kContentWrite, client.LongOptions());
  api::WriteContentRequest stat;
  stat.set_action(api::STAT);
  stat.set_ref(options.ref);
  stat.set_total(options.expected_size);
  stat.set_expected(options.expected_digest);
  api::WriteContentResponse reply;
  if (!stream->Write(stat) || !stream->Read(&reply)) {
    absl::Status status = client.Explain(stream->Finish());
    // As `ctr content ingest`: a blob that is already there is a success.
    if (absl::IsAlreadyExists(status) && !options.expected_digest.empty()) {
      std::cout << options.expected_digest << "\n";
      return absl::OkStatus();
    }
    return status;
  }
  if (absl::Status skipped = SkipTo(fd.get(), reply.offset()); !skipped.ok()) {
    stream->Cancel();
    (void)stream->Finish();
    return skipped;
  }
  // Replies are read as they come so the daemon never blocks on a full reply window.
  std::string digest;
  std::thread replies([&stream, &digest] {
    api::WriteContentResponse r;
    while (stream->Read(&r)) {
      if (r.action() == api::COMMIT) digest = r.digest();
    }
  });
  absl::Status read_error;
  if (!SendAll(*stream, fd.get(), reply.offset(), options, read_error) && !read_error.ok()) {
    stream->Cancel();
  }
  replies.join();
  absl::Status status = client.Explain(stream->Finish());
  if (!read_error.ok()) return read_error;
  if (!status.ok()) return status;
  if (digest.empty()) return absl::DataLossError("the daemon ended the write without a commit");
  std::cout << digest << "\n";
  return absl::OkStatus();
}

}  // namespace

void AddContentCommands(CLI::App& app, Action& action) {
  CLI::App* content = app.add_subcommand("content", "Work with the content store");
  content->require_subcommand(1);
  auto options = std::make_shared<IngestOptions>();
  CLI::App* ingest = content->add_subcommand("ingest", "Write a blob from a file or stdin");
  ingest->add_option("ref", options->ref, "ingest reference (resumable by name)")->required();
  ingest->add_option("-i,--input", options->input, "file to read (default: stdin)");
  ingest->add_option("--expected-size", options->expected_size, "size the blob must have");
  ingest->add_option("--expected-digest", options->expected_digest,
                     "digest the blob must have (sha256:...)");
  ingest->callback([&action, options] {
    action = [options](Client& client) { return IngestCommand(client, *options); };
  });
}

}  // namespace berth::ctl
