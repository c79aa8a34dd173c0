#pragma once

// Image records in the metadata database (containerd metadata/images.go): name -> target
// descriptor + labels, stored whole as containerd.services.images.v1.Image under
// v1 \0 <ns> \0 images \0 <name>. Validation and field masks follow containerd: the name is
// required, the target needs a valid digest, a media type and a positive size.
//
// Writers lock the content record of the target digest (see content.h, gc.h), so an image
// created while a collection runs either keeps its target or never sees it collected half-way.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/services/images/v1/images.pb.h"
#include "services/metadata/db.h"

namespace berth::metadata {

using Image = containerd::services::images::v1::Image;

class ImageStore {
 public:
  explicit ImageStore(Db& db) : db_(db) {}

  // NotFound: image "<name>": not found.
  absl::StatusOr<Image> Get(const std::string& ns, const std::string& name);
  // Images of `ns` matching `match`, in name order.
  absl::StatusOr<std::vector<Image>> List(const std::string& ns,
                                          const std::function<bool(const Image&)>& match);
  // InvalidArgument (validation), AlreadyExists. Sets created_at/updated_at.
  absl::StatusOr<Image> Create(const std::string& ns, Image image);
  // Paths: labels, labels.<k>, target, annotations, annotations.<k>; none = replace all.
  // NotFound, InvalidArgument.
  absl::StatusOr<Image> Update(const std::string& ns, const Image& image,
                               const std::vector<std::string>& paths);
  // NotFound.
  absl::Status Delete(const std::string& ns, const std::string& name);

  void SetMutationCallback(std::function<void(bool deletion)> callback) {
    on_mutation_ = std::move(callback);
  }

 private:
  Db& db_;
  std::function<void(bool)> on_mutation_;
};

// containerd's validateImage.
absl::Status ValidateImage(const Image& image);

}  // namespace berth::metadata
