// berthctl images / image ls|inspect|tag|rm|prune|load|save.
//
// Names typed by the user are normalised the Docker way ("busybox" ->
// "docker.io/library/busybox:latest"). Sizes are what `ctr images ls` shows: the sum of the
// blobs of the host platform's manifest (manifest, config, layers, and the index if any).
// `image rm` waits for garbage collection (Images.Delete sync), as `docker rmi` frees space.
// Dangling images (`image prune`) are those whose name is a digest-only reference
// ("repo@sha256:..."), which is how an image loses its tag in containerd terms.


#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "berth/services/images/v1/archive.pb.h"
#include "containerd/services/images/v1/images.pb.h"
#include "ctl/commands/commands.h"
#include "ctl/commands/image_util.h"
#include "ctl/methods.h"
#include "ctl/output.h"
#include "plugins/base/status_macros.h"

namespace berth::ctl {
namespace {

namespace images_api = containerd::services::images::v1;
namespace archive_api = berth::services::images::v1;
using nlohmann::json;

absl::StatusOr<std::vector<images_api::Image>> ListImages(Client& client) {
  images_api::ListImagesResponse response;
  absl::Status status = client.Call(methods::kImagesList, {}, &response);
  if (!status.ok()) return status;
  return std::vector<images_api::Image>(response.images().begin(), response.images().end());
}

json ImageJson(const images_api::Image& image, int64_t size) {
  json out = {{"name", image.name()},
              {"target", {{"mediaType", image.target().media_type()},
                          {"digest", image.target().digest()},
                          {"size", image.target().size()}}},
              {"labels", std::map<std::string, std::string>(image.labels().begin(),
                                                            image.labels().end())},
              {"created", FormatTimestamp(image.created_at())}};
  if (size >= 0) out["size"] = size;
  return out;
}

absl::Status ListCommand(Client& client) {
  absl::StatusOr<std::vector<images_api::Image>> images = ListImages(client);
  if (!images.ok()) return images.status();
  Table table({"REPOSITORY", "TAG", "DIGEST", "SIZE", "CREATED"});
  json out = json::array();
  for (const auto& image : *images) {
    absl::StatusOr<int64_t> size = ImageSize(client, image.target());
    auto [repository, tag] = SplitReference(image.name());
    std::string digest = image.target().digest();
    table.AddRow({repository, tag, digest.substr(0, 7 + 12),
                  size.ok() ? HumanSize(*size) : "-", HumanAge(image.created_at())});
    out.push_back(ImageJson(image, size.ok() ? *size : -1));
  }
  Print(client.options().format, table, out);
  return absl::OkStatus();
}

absl::Status InspectCommand(Client& client, const std::vector<std::string>& names) {
  json out = json::array();
  for (const std::string& name : names) {
    images_api::GetImageRequest request;
    request.set_name(NormalizeReference(name));
    images_api::GetImageResponse response;
    absl::Status status = client.Call(methods::kImagesGet, request, &response);
    if (!status.ok()) return status;
    absl::StatusOr<int64_t> size = ImageSize(client, response.image().target());
    json entry = ImageJson(response.image(), size.ok() ? *size : -1);
    absl::StatusOr<json> manifest = HostManifest(client, response.image().target());
    if (manifest.ok()) {
      entry["manifest"] = *manifest;
      if (manifest->contains("config") && (*manifest)["config"].contains("digest")) {
        absl::StatusOr<std::string> config =
            ReadBlob(client, (*manifest)["config"]["digest"].get<std::string>());
        if (config.ok()) entry["config"] = json::parse(*config, nullptr, false);
      }
    }
    out.push_back(entry);
  }
  std::cout << out.dump(2) << "\n";
  return absl::OkStatus();
}

absl::Status TagCommand(Client& client, const std::string& source, const std::string& target) {
  images_api::GetImageRequest get;
  get.set_name(NormalizeReference(source));
  images_api::GetImageResponse found;
  absl::Status status = client.Call(methods::kImagesGet, get, &found);
  if (!status.ok()) return status;
  images_api::CreateImageRequest create;
  *create.mutable_image() = found.image();
  create.mutable_image()->set_name(NormalizeReference(target));
  images_api::CreateImageResponse created;
  status = client.Call(methods::kImagesCreate, create, &created);
  if (!absl::IsAlreadyExists(status)) return status;
  images_api::UpdateImageRequest update;
  *update.mutable_image() = create.image();
  update.mutable_update_mask()->add_paths("target");
  images_api::UpdateImageResponse updated;
  return client.Call(methods::kImagesUpdate, update, &updated);
}

absl::Status RemoveImages(Client& client, const std::vector<std::string>& names, bool normalize) {
  for (size_t i = 0; i < names.size(); ++i) {
    images_api::DeleteImageRequest request;
    request.set_name(normalize ? NormalizeReference(names[i]) : names[i]);
    request.set_sync(i + 1 == names.size());  // one collection for the whole batch
    google::protobuf::Empty empty;
    absl::Status status = client.Call(methods::kImagesDelete, request, &empty);
    if (!status.ok()) return status;
    std::cout << "Untagged: " << request.name() << "\n";
  }
  return absl::OkStatus();
}

absl::Status PruneCommand(Client& client) {
  absl::StatusOr<std::vector<images_api::Image>> images = ListImages(client);
  if (!images.ok()) return images.status();
  std::vector<std::string> dangling;
  for (const auto& image : *images) {
    if (IsDigestOnlyReference(image.name())) dangling.push_back(image.name());
  }
  return RemoveImages(client, dangling, /*normalize=*/false);
}

struct LoadOptions {
  std::string input;
  bool no_unpack = false;
  std::string snapshotter;
};

absl::Status LoadCommand(Client& client, const LoadOptions& options) {
  const std::string& input = options.input;
  std::ifstream file;
  std::istream* in = &std::cin;
  if (!input.empty() && input != "-") {
    file.open(input, std::ios::binary);
    if (!file) return absl::NotFoundError(absl::StrCat("open `", input, "`: not found"));
    in = &file;
  }
  auto stream = client.Stream(methods::kArchiveImport, client.LongOptions());  // no deadline
  archive_api::ImportRequest request;
  request.set_unpack(!options.no_unpack);
  request.set_snapshotter(options.snapshotter);
  std::string buffer(1 << 20, '\0');
  while (*in) {
    in->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    std::streamsize n = in->gcount();
    if (n <= 0) break;
    request.set_data(buffer.data(), static_cast<size_t>(n));
    if (!stream->Write(request)) break;  // the server failed; Finish has the reason
    request.Clear();  // unpack and snapshotter are read from the first message only
  }
  stream->WritesDone();
  archive_api::ImportResponse response;
  RETURN_IF_ERROR(client.Explain(stream->Receive(&response)));
  json out = json::array();
  for (const auto& image : response.images()) {
    if (client.options().format != "json") std::cout << "Loaded image: " << image.name() << "\n";
    out.push_back(ImageJson(image, -1));
  }
  if (client.options().format == "json") std::cout << out.dump(2) << "\n";
  return absl::OkStatus();
}

absl::Status UnpackCommand(Client& client, const std::vector<std::string>& names,
                           const std::string& snapshotter) {
  for (const std::string& name : names) {
    archive_api::UnpackRequest request;
    request.set_name(NormalizeReference(name));
    request.set_snapshotter(snapshotter);
    archive_api::UnpackResponse response;
    RETURN_IF_ERROR(client.Call(methods::kArchiveUnpack, request, &response,
                                client.LongOptions()));
    std::cout << request.name() << ": " << response.chain_id() << " ("
              << response.layers_applied() << " layers applied, " << response.layers_reused()
              << " reused)\n";
  }
  return absl::OkStatus();
}

absl::Status SaveCommand(Client& client, const std::string& output, const std::string& format,
                         const std::vector<std::string>& names) {
  archive_api::ExportRequest request;
  request.set_format(format);
  for (const std::string& name : names) request.add_names(NormalizeReference(name));
  auto stream = client.Stream(methods::kArchiveExport, client.LongOptions());  // no deadline
  stream->Write(request, /*last=*/true);  // a failure shows in Finish
  std::string tmp = output.empty() ? "" : output + ".tmp";
  std::FILE* out = output.empty() ? stdout : std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) return absl::PermissionDeniedError(absl::StrCat("open `", tmp, "`"));
  archive_api::ExportResponse chunk;
  bool write_ok = true;
  while (stream->Read(&chunk)) {
    write_ok = write_ok && std::fwrite(chunk.data().data(), 1, chunk.data().size(), out) ==
                               chunk.data().size();
  }
  absl::Status status = client.Explain(stream->Finish());
  if (std::fflush(out) != 0) write_ok = false;
  if (out != stdout && std::fclose(out) != 0) write_ok = false;
  if (status.ok() && !write_ok) status = absl::DataLossError("writing the archive failed");
  if (!output.empty()) {
    if (status.ok() && std::rename(tmp.c_str(), output.c_str()) != 0) {
      status = absl::InternalError(absl::StrCat("rename to `", output, "` failed"));
    }
    if (!status.ok()) std::remove(tmp.c_str());
  }
  return status;
}

}  // namespace

void AddImageCommands(CLI::App& app, Action& action) {
  app.add_subcommand("images", "List images")->callback([&action] { action = ListCommand; });
  CLI::App* image = app.add_subcommand("image", "Manage images")->alias("i");
  image->require_subcommand(1);
  image->add_subcommand("ls", "List images")->alias("list")->callback([&action] {
    action = ListCommand;
  });

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* inspect = image->add_subcommand("inspect", "Show images as JSON");
  inspect->add_option("names", *names)->required();
  inspect->callback([&action, names] {
    action = [names](Client& client) { return InspectCommand(client, *names); };
  });

  auto pair = std::make_shared<std::vector<std::string>>();
  CLI::App* tag = image->add_subcommand("tag", "Name an image SRC also as DST");
  tag->add_option("source target", *pair)->required()->expected(2);
  tag->callback([&action, pair] {
    action = [pair](Client& client) { return TagCommand(client, (*pair)[0], (*pair)[1]); };
  });

  CLI::App* rm = image->add_subcommand("rm", "Remove images and collect their content")
                     ->alias("remove");
  rm->add_option("names", *names)->required();
  rm->callback([&action, names] {
    action = [names](Client& client) { return RemoveImages(client, *names, true); };
  });

  image->add_subcommand("prune", "Remove dangling (digest-only) images")->callback([&action] {
    action = PruneCommand;
  });

  auto load_options = std::make_shared<LoadOptions>();
  CLI::App* load = image->add_subcommand("load", "Load images from a tar (docker or OCI)");
  load->add_option("-i,--input", load_options->input, "archive file (default: stdin)");
  load->add_flag("--no-unpack", load_options->no_unpack, "only store the content");
  load->add_option("--snapshotter", load_options->snapshotter, "snapshotter to unpack into");
  load->callback([&action, load_options] {
    action = [load_options](Client& client) { return LoadCommand(client, *load_options); };
  });

  auto snapshotter = std::make_shared<std::string>();
  CLI::App* unpack = image->add_subcommand("unpack", "Unpack images into a snapshotter");
  unpack->add_option("--snapshotter", *snapshotter, "snapshotter (default overlayfs)");
  unpack->add_option("names", *names)->required();
  unpack->callback([&action, names, snapshotter] {
    action = [names, snapshotter](Client& client) {
      return UnpackCommand(client, *names, *snapshotter);
    };
  });

  auto output = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("docker-archive");
  CLI::App* save = image->add_subcommand("save", "Save images to a tar");
  save->add_option("-o,--output", *output, "archive file (default: stdout)");
  save->add_option("--format", *format, "docker-archive or oci")
      ->check(CLI::IsMember({"docker-archive", "docker", "oci", "oci-archive"}));
  save->add_option("names", *names)->required();
  save->callback([&action, output, format, names] {
    action = [output, format, names](Client& client) {
      return SaveCommand(client, *output, *format, *names);
    };
  });
}

}  // namespace berth::ctl
