#pragma once

// TarBuilder: writes test layer tars in memory with libarchive (PAX), optionally compressed,
// including entries no well-behaved tool would write (escaping names, links to outside).

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "services/diff/layer_stream.h"

namespace berth::diff::testing {

struct TarAttrs {
  mode_t mode = 0644;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t mtime = 1700000000;
  std::map<std::string, std::string> xattrs;
};

class TarBuilder {
 public:
  using Attrs = TarAttrs;

  TarBuilder& File(const std::string& name, const std::string& data, Attrs attrs = {});
  TarBuilder& Dir(const std::string& name, Attrs attrs = {.mode = 0755});
  TarBuilder& Symlink(const std::string& name, const std::string& target);
  TarBuilder& Hardlink(const std::string& name, const std::string& target);
  TarBuilder& Device(const std::string& name, mode_t type, int major, int minor);
  // A file of `size` zero bytes, streamed (for bombs).
  TarBuilder& Zeros(const std::string& name, int64_t size);

  // The archive, compressed as asked.
  std::string Build(Compression compression = Compression::kNone);

 private:
  struct Entry {
    std::string name;
    mode_t type;
    std::string data;
    int64_t zeros = 0;
    std::string link;
    bool hardlink = false;
    int major = 0, minor = 0;
    Attrs attrs;
  };
  std::vector<Entry> entries_;
};

// sha256 of bytes, as a Digest.
content::Digest DigestOf(const std::string& data);

}  // namespace berth::diff::testing
