// apply_layers: unpacks a chain of layer blobs into a snapshotter the way Diff.Apply does
// (Prepare, ApplyLayer, Commit per layer) and prints the time of each, for run.sh.
//
//   apply_layers --snapshotter overlayfs|native --root DIR layer1.tar.gz layer2.tar.zst ...
//
// Media types come from the file suffix (.tar, .tar.gz, .tar.zst).

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "plugins/base/unique_fd.h"
#include "services/diff/applier.h"
#include "snapshotter/native/native_snapshotter.h"
#include "snapshotter/overlay/overlay_snapshotter.h"

namespace {

using berth::snapshotter::Snapshotter;

std::unique_ptr<Snapshotter> Open(const std::string& kind, const std::string& root) {
  if (kind == "native") {
    auto s = berth::snapshotter::native::NativeSnapshotter::Create(root);
    if (s.ok()) return std::move(*s);
    std::cerr << s.status() << "\n";
    return nullptr;
  }
  berth::snapshotter::overlay::OverlayOptions options;
  options.link_dir = "";
  auto s = berth::snapshotter::overlay::OverlaySnapshotter::Create(root, options);
  if (s.ok()) return std::move(*s);
  std::cerr << s.status() << "\n";
  return nullptr;
}

absl::string_view MediaType(const std::string& path) {
  if (absl::EndsWith(path, ".gz")) return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (absl::EndsWith(path, ".zst")) return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

}  // namespace

int main(int argc, char** argv) {
  std::string kind = "overlayfs", root;
  std::vector<std::string> layers;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--snapshotter" && i + 1 < argc) {
      kind = argv[++i];
    } else if (arg == "--root" && i + 1 < argc) {
      root = argv[++i];
    } else {
      layers.push_back(arg);
    }
  }
  if (root.empty() || layers.empty()) {
    std::cerr << "usage: apply_layers [--snapshotter overlayfs|native] --root DIR LAYER...\n";
    return 2;
  }
  std::unique_ptr<Snapshotter> sn = Open(kind, root);
  if (sn == nullptr) return 1;
  std::string parent;
  double total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto start = std::chrono::steady_clock::now();
    std::string key = absl::StrCat("extract-", i), name = absl::StrCat("layer-", i);
    auto mounts = sn->Prepare(key, parent, {});
    if (!mounts.ok()) {
      std::cerr << mounts.status() << "\n";
      return 1;
    }
    berth::UniqueFd fd(open(layers[i].c_str(), O_RDONLY | O_CLOEXEC));
    auto read = [&fd](absl::Span<char> buf) -> absl::StatusOr<size_t> {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0) return absl::ErrnoToStatus(errno, "read");
      return static_cast<size_t>(n);
    };
    auto applied = berth::diff::ApplyLayer(*mounts, MediaType(layers[i]), {}, read, {});
    if (!applied.ok()) {
      std::cerr << layers[i] << ": " << applied.status() << "\n";
      return 1;
    }
    if (auto s = sn->Commit(name, key, {}); !s.ok()) {
      std::cerr << s << "\n";
      return 1;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    total += secs;
    std::cout << layers[i] << " " << secs << " s " << applied->digest << "\n";
    parent = name;
  }
  std::cout << "total " << total << " s\n";
  return 0;
}
