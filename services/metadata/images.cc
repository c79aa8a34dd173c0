#include "services/metadata/images.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "content/digest.h"
#include "plugins/base/identifiers.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/common/any.h"
#include "services/metadata/content.h"
#include "services/metadata/namespaces.h"
#include "services/metadata/records.h"
#include "services/metadata/schema.h"

namespace berth::metadata {
namespace {

std::string ImageKey(absl::string_view ns, absl::string_view name) {
  return ObjectKey(ns, kImagesKind, name);
}

absl::Status ImageNotFound(absl::string_view name) {
  return NotFound(absl::StrCat("image \"", name, "\""));
}

template <typename Map>
void CopyEntry(const Map& from, Map& to, const std::string& key) {
  auto it = from.find(key);
  if (it == from.end() || it->second.empty()) {
    to.erase(key);
  } else {
    to[key] = it->second;
  }
}

absl::Status ApplyPath(const std::string& path, const Image& from, Image& to) {
  if (absl::StartsWith(path, "labels.")) {
    CopyEntry(from.labels(), *to.mutable_labels(), path.substr(strlen("labels.")));
  } else if (absl::StartsWith(path, "annotations.")) {
    CopyEntry(from.target().annotations(), *to.mutable_target()->mutable_annotations(),
              path.substr(strlen("annotations.")));
  } else if (path == "labels") {
    *to.mutable_labels() = from.labels();
  } else if (path == "target") {
    *to.mutable_target() = from.target();
  } else if (path == "annotations") {
    *to.mutable_target()->mutable_annotations() = from.target().annotations();
  } else {
    return InvalidArgument(
        absl::StrCat("cannot update \"", path, "\" field on image \"", from.name(), "\""));
  }
  return absl::OkStatus();
}

// Locks the target's content record: see the GC concurrency note in gc.h.
absl::Status LockTarget(Txn& txn, absl::string_view ns, const Image& image) {
  return txn.Get(ContentKey(ns, image.target().digest())).status();
}

}  // namespace

absl::Status ValidateImage(const Image& image) {
  if (image.name().empty()) return InvalidArgument("image name must not be empty");
  RETURN_IF_ERROR(Annotate(ValidateLabels(image.labels()), "image.Labels"));
  const auto& target = image.target();
  if (!content::Digest::Validate(target.digest()).ok()) {
    return InvalidArgument(absl::StrCat("Target.Digest \"", target.digest(), "\" invalid"));
  }
  if (target.size() <= 0) return InvalidArgument("Target.Size must be greater than zero");
  if (target.media_type().empty()) return InvalidArgument("Target.MediaType must be set");
  return absl::OkStatus();
}

absl::StatusOr<Image> ImageStore::Get(const std::string& ns, const std::string& name) {
  Image image;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, ImageKey(ns, name), image));
    return found ? absl::OkStatus() : ImageNotFound(name);
  }));
  return image;
}

absl::StatusOr<std::vector<Image>> ImageStore::List(
    const std::string& ns, const std::function<bool(const Image&)>& match) {
  std::vector<Image> out;
  absl::Status parse_error;
  RETURN_IF_ERROR(db_.View([&](Txn& txn) {
    return txn.Scan(KindPrefix(ns, kImagesKind), [&](absl::string_view key, absl::string_view v) {
      Image image;
      if (!image.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
        parse_error = CorruptRecord(key);
        return false;
      }
      if (match(image)) out.push_back(std::move(image));
      return true;
    });
  }));
  RETURN_IF_ERROR(parse_error);
  return out;
}

absl::StatusOr<Image> ImageStore::Create(const std::string& ns, Image image) {
  DropEmptyValues(*image.mutable_labels());
  RETURN_IF_ERROR(ValidateImage(image));
  if (image.name().find('\0') != std::string::npos) return InvalidArgument("image name");
  *image.mutable_created_at() = services::Now();
  *image.mutable_updated_at() = image.created_at();
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(ImageKey(ns, image.name())));
    if (existing) return AlreadyExists(absl::StrCat("image \"", image.name(), "\""));
    RETURN_IF_ERROR(EnsureNamespace(txn, ns));
    RETURN_IF_ERROR(LockTarget(txn, ns, image));
    return WriteRecord(txn, ImageKey(ns, image.name()), image);
  }));
  if (on_mutation_) on_mutation_(false);
  return image;
}

absl::StatusOr<Image> ImageStore::Update(const std::string& ns, const Image& image,
                                         const std::vector<std::string>& paths) {
  if (image.name().empty()) return InvalidArgument("image name is required for update");
  Image updated;
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(bool found, ReadRecord(txn, ImageKey(ns, image.name()), updated));
    if (!found) return ImageNotFound(image.name());
    google::protobuf::Timestamp created = updated.created_at();
    if (paths.empty()) {
      updated = image;
      DropEmptyValues(*updated.mutable_labels());
    }
    for (const std::string& path : paths) RETURN_IF_ERROR(ApplyPath(path, image, updated));
    RETURN_IF_ERROR(ValidateImage(updated));
    *updated.mutable_created_at() = created;
    *updated.mutable_updated_at() = services::Now();
    RETURN_IF_ERROR(LockTarget(txn, ns, updated));
    return WriteRecord(txn, ImageKey(ns, image.name()), updated);
  }));
  if (on_mutation_) on_mutation_(false);
  return updated;
}

absl::Status ImageStore::Delete(const std::string& ns, const std::string& name) {
  RETURN_IF_ERROR(db_.Update([&](Txn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, txn.Get(ImageKey(ns, name)));
    if (!existing) return ImageNotFound(name);
    return txn.Delete(ImageKey(ns, name));
  }));
  if (on_mutation_) on_mutation_(true);
  return absl::OkStatus();
}

}  // namespace berth::metadata
