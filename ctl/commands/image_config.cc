#include "ctl/commands/image_config.h"

#include "absl/strings/str_cat.h"
#include "berth/services/images/v1/archive.pb.h"
#include "containerd/services/images/v1/images.pb.h"
#include "content/digest.h"
#include "ctl/commands/container_util.h"
#include "ctl/commands/image_util.h"
#include "ctl/methods.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::ctl {
namespace {

namespace images_api = containerd::services::images::v1;
namespace archive_api = berth::services::images::v1;
using nlohmann::json;

absl::StatusOr<images_api::Image> GetImage(Client& client, const std::string& name) {
  for (const std::string& candidate : {NormalizeReference(name), name}) {
    images_api::GetImageRequest request;
    request.set_name(candidate);
    images_api::GetImageResponse response;
    absl::Status status = client.Call(methods::kImagesGet, request, &response);
    if (status.ok()) return response.image();
    if (!absl::IsNotFound(status) && !absl::IsInvalidArgument(status)) return status;
  }
  return absl::NotFoundError(
      absl::StrCat("image `", name, "` not found: load or pull it first"));
}

}  // namespace

std::string ChainId(const std::vector<std::string>& diff_ids) {
  std::string chain;
  for (const std::string& diff_id : diff_ids) {
    chain = chain.empty() ? diff_id
                          : content::Digest::FromBytes(absl::StrCat(chain, " ", diff_id)).string();
  }
  return chain;
}

absl::StatusOr<ImageConfig> ResolveImage(Client& client, const std::string& name) {
  ASSIGN_OR_RETURN(images_api::Image image, GetImage(client, name));
  ASSIGN_OR_RETURN(json manifest, HostManifest(client, image.target()));
  if (!manifest.contains("config") || !manifest["config"].contains("digest")) {
    return absl::FailedPreconditionError(absl::StrCat("image `", name, "` has no config"));
  }
  ASSIGN_OR_RETURN(std::string text,
                   ReadBlob(client, manifest["config"]["digest"].get<std::string>()));
  json config = json::parse(text, nullptr, false);
  if (!config.is_object()) {
    return absl::DataLossError(absl::StrCat("image `", name, "`: config is not JSON"));
  }
  std::vector<std::string> diff_ids;
  if (config.contains("rootfs") && config["rootfs"].contains("diff_ids")) {
    for (const json& id : config["rootfs"]["diff_ids"]) diff_ids.push_back(id.get<std::string>());
  }
  if (diff_ids.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("image `", name, "` has no layers"));
  }
  ImageConfig out;
  out.name = image.name();
  out.config = config.contains("config") && config["config"].is_object() ? config["config"]
                                                                         : json::object();
  out.chain_id = ChainId(diff_ids);
  return out;
}

absl::Status Unpack(Client& client, const ImageConfig& image, const std::string& snapshotter) {
  archive_api::UnpackRequest unpack;
  unpack.set_name(image.name);
  unpack.set_snapshotter(snapshotter);
  archive_api::UnpackResponse unpacked;
  absl::Status status =
      client.Call(methods::kArchiveUnpack, unpack, &unpacked, client.LongOptions());
  if (!status.ok()) {
    return Annotate(status, absl::StrCat("unpack `", image.name, "` into ", snapshotter));
  }
  if (unpacked.chain_id() != image.chain_id) {
    return absl::InternalError(absl::StrCat("unpack of `", image.name, "` gave snapshot ",
                                            unpacked.chain_id(), ", expected ", image.chain_id));
  }
  return absl::OkStatus();
}

}  // namespace berth::ctl
