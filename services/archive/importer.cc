#include "services/archive/importer.h"

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"
#include "services/archive/oci.h"

namespace berth::archive {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr size_t kSmallLimit = 16 << 20;

bool IsSmallFile(absl::string_view path) {
  return path == "index.json" || path == "manifest.json" || path == "oci-layout" ||
         path == "repositories";
}

}  // namespace

absl::StatusOr<std::string> CleanArchivePath(absl::string_view path) {
  if (path.empty() || path == "." || path == "./") return std::string();
  if (path[0] == '/' || path.find('\0') != absl::string_view::npos) {
    return InvalidArgument(absl::StrCat("import: unsafe path \"", path, "\" in archive"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {  // allowed only while it stays inside the archive (docker symlinks)
      if (parts.empty()) {
        return InvalidArgument(absl::StrCat("import: unsafe path \"", path, "\" in archive"));
      }
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return absl::StrJoin(parts, "/");
}

absl::StatusOr<std::vector<metadata::Image>> Importer::Import(TarReader& tar) {
  metadata::Lease lease;
  lease.set_id(absl::StrCat("import-", absl::ToUnixNanos(absl::Now())));
  (*lease.mutable_labels())["containerd.io/gc.expire"] = absl::FormatTime(
      absl::RFC3339_sec, absl::Now() + absl::Hours(1), absl::UTCTimeZone());
  ASSIGN_OR_RETURN(metadata::Lease created, stores_.leases.Create(ns_, lease));
  lease_ = created.id();
  absl::Cleanup release = [&] {
    (void)stores_.leases.Delete(ns_, lease_);
    stores_.content.NotifyMutation(/*deletion=*/true);
  };
  RETURN_IF_ERROR(ReadEntries(tar));
  std::vector<std::pair<std::string, Descriptor>> named;
  if (small_.contains("index.json")) {
    ASSIGN_OR_RETURN(named, FromOciLayout());
  } else if (small_.contains("manifest.json")) {
    ASSIGN_OR_RETURN(named, FromDockerArchive());
  } else {
    return InvalidArgument("import: archive has neither index.json nor manifest.json");
  }
  std::vector<metadata::Image> out;
  for (const auto& [name, target] : named) {
    metadata::Image image;
    image.set_name(name);
    *image.mutable_target() = target;
    image.mutable_target()->clear_annotations();
    RETURN_IF_ERROR(metadata::ValidateImage(image));
  }
  for (const auto& [name, target] : named) {
    metadata::Image image;
    image.set_name(name);
    *image.mutable_target() = target;
    image.mutable_target()->clear_annotations();
    absl::StatusOr<metadata::Image> result = stores_.images.Create(ns_, image);
    if (absl::IsAlreadyExists(result.status())) {
      result = stores_.images.Update(ns_, image, {"target"});
    }
    if (!result.ok()) return result.status();
    out.push_back(*std::move(result));
  }
  return out;
}

absl::Status Importer::ReadEntries(TarReader& tar) {
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<TarEntry> entry, tar.Next());
    if (!entry) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::string path, CleanArchivePath(entry->path));
    if (path.empty()) continue;  // the archive root itself
    if (entry->path.find("..") != std::string::npos && entry->type != TarEntry::Type::kSymlink) {
      return InvalidArgument(absl::StrCat("import: unsafe path \"", entry->path, "\" in archive"));
    }
    entry->path = path;
    if (entry->type == TarEntry::Type::kSymlink) {
      // Relative to the link's directory (hard links arrive as "/<archive path>").
      std::string dir = path.find('/') == std::string::npos ? "" : path.substr(0, path.rfind('/'));
      std::string target = absl::StartsWith(entry->link, "/")
                               ? entry->link.substr(1)
                               : (dir.empty() ? entry->link : absl::StrCat(dir, "/", entry->link));
      ASSIGN_OR_RETURN(links_[path], CleanArchivePath(target));
      continue;
    }
    if (entry->type != TarEntry::Type::kFile) continue;
    RETURN_IF_ERROR(StoreEntry(tar, *entry));
  }
}

absl::Status Importer::StoreEntry(TarReader& tar, const TarEntry& entry) {
  if (IsSmallFile(entry.path)) {
    if (entry.size > static_cast<int64_t>(kSmallLimit)) {
      return InvalidArgument(absl::StrCat("import: ", entry.path, " is too large"));
    }
    std::string data;
    std::string buffer(kChunk, '\0');
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, tar.Read(absl::MakeSpan(buffer)));
      if (n == 0) break;
      data.append(buffer.data(), n);
      if (data.size() > kSmallLimit) return InvalidArgument("import: metadata file too large");
    }
    small_[entry.path] = std::move(data);
    return absl::OkStatus();
  }
  std::string expected;
  if (absl::StartsWith(entry.path, "blobs/sha256/")) {
    expected = absl::StrCat("sha256:", entry.path.substr(strlen("blobs/sha256/")));
    if (!content::Digest::Validate(expected).ok()) expected.clear();
  }
  ASSIGN_OR_RETURN(files_[entry.path], WriteStream(tar, entry.path, expected));
  return absl::OkStatus();
}

absl::StatusOr<Importer::Blob> Importer::WriteStream(TarReader& tar, const std::string& path,
                                                     const std::string& expected) {
  std::string ref = absl::StrCat("import-", lease_, "-", path);
  metadata::WriteContext context{ns_, lease_};
  absl::StatusOr<std::unique_ptr<metadata::NamespacedWriter>> writer =
      stores_.content.OpenWriter(context, ref, 0, expected);
  if (absl::IsAlreadyExists(writer.status())) {
    // In the namespace already: hold it with the lease; the entry's data is skipped.
    metadata::LeaseResource resource;
    resource.set_type("content");
    resource.set_id(expected);
    RETURN_IF_ERROR(stores_.leases.AddResource(ns_, lease_, resource));
    ASSIGN_OR_RETURN(metadata::ContentInfo info, stores_.content.Info(ns_, expected));
    return Blob{expected, info.size()};
  }
  RETURN_IF_ERROR(writer.status());
  if ((*writer)->Status().offset() != 0) RETURN_IF_ERROR((*writer)->Truncate(0));
  std::string buffer(kChunk, '\0');
  for (;;) {
    ASSIGN_OR_RETURN(size_t n, tar.Read(absl::MakeSpan(buffer)));
    if (n == 0) break;
    RETURN_IF_ERROR((*writer)->Write(absl::string_view(buffer.data(), n)));
  }
  content::Digest want;
  if (!expected.empty()) {
    ASSIGN_OR_RETURN(want, content::Digest::Parse(expected));
  }
  Blob blob{(*writer)->Digest().string(), (*writer)->Status().offset()};
  absl::Status status = (*writer)->Commit(0, want, {});
  if (absl::IsFailedPrecondition(status)) {
    (void)stores_.content.Abort(ns_, ref);
    return FailedPrecondition(absl::StrCat("import: ", path, ": content does not match its name"));
  }
  if (!status.ok() && !absl::IsAlreadyExists(status)) return status;
  return blob;
}

absl::StatusOr<Importer::Blob> Importer::WriteBytes(absl::string_view data,
                                                    const content::Labels& labels) {
  content::Digest digest = content::Digest::FromBytes(data);
  std::string ref = absl::StrCat("import-", lease_, "-", digest.string());
  metadata::WriteContext context{ns_, lease_};
  auto writer = stores_.content.OpenWriter(context, ref, static_cast<int64_t>(data.size()),
                                           digest.string());
  if (absl::IsAlreadyExists(writer.status())) {
    metadata::LeaseResource resource;
    resource.set_type("content");
    resource.set_id(digest.string());
    RETURN_IF_ERROR(stores_.leases.AddResource(ns_, lease_, resource));
    RETURN_IF_ERROR(SetLabels(digest.string(), labels));
    return Blob{digest.string(), static_cast<int64_t>(data.size())};
  }
  RETURN_IF_ERROR(writer.status());
  if ((*writer)->Status().offset() != static_cast<int64_t>(data.size())) {
    RETURN_IF_ERROR((*writer)->Truncate(0));
    RETURN_IF_ERROR((*writer)->Write(data));
  }
  absl::Status status = (*writer)->Commit(static_cast<int64_t>(data.size()), digest, labels);
  if (absl::IsAlreadyExists(status)) RETURN_IF_ERROR(SetLabels(digest.string(), labels));
  if (!status.ok() && !absl::IsAlreadyExists(status)) return status;
  return Blob{digest.string(), static_cast<int64_t>(data.size())};
}

absl::StatusOr<Importer::Blob> Importer::ResolvePath(const std::string& raw) const {
  ASSIGN_OR_RETURN(std::string path, CleanArchivePath(raw));
  for (int hops = 0; hops < 16; ++hops) {
    if (auto it = files_.find(path); it != files_.end()) return it->second;
    auto link = links_.find(path);
    if (link == links_.end()) break;
    path = link->second;
  }
  return NotFound(absl::StrCat("import: file \"", raw, "\" named by manifest.json"));
}

absl::StatusOr<std::string> Importer::ReadSmallBlob(const std::string& digest) {
  ASSIGN_OR_RETURN(auto reader, stores_.content.OpenReader(ns_, digest));
  if (reader->Size() > static_cast<int64_t>(kSmallLimit)) {
    return InvalidArgument(absl::StrCat("import: ", digest, " is too large for a manifest"));
  }
  return reader->ReadAt(0, static_cast<size_t>(reader->Size()));
}

absl::Status Importer::SetLabels(const std::string& digest, const content::Labels& labels) {
  return stores_.content.SetLabels(ns_, digest, labels);
}

}  // namespace berth::archive
