#pragma once

// Checked, non-throwing accessors over nlohmann::json for the spec parsers. Each Get* looks up
// `key` in `obj`; an absent key leaves the output untouched and returns OK, a key of the wrong
// type returns kInvalidArgument naming `<path>.<key>`. Internal to runtime/oci.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth::oci::json {

using Json = nlohmann::json;

inline absl::Status TypeError(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("config: `", path, "` must be ", what));
}

inline const Json* Find(const Json& obj, const char* key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

inline std::string Sub(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

inline absl::Status Get(const Json& obj, const char* key, absl::string_view path, std::string* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return absl::OkStatus();
  }
  if (!v->is_string()) {
    return TypeError(Sub(path, key), "a string");
  }
  *out = v->get<std::string>();
  return absl::OkStatus();
}

inline absl::Status Get(const Json& obj, const char* key, absl::string_view path, bool* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return absl::OkStatus();
  }
  if (!v->is_boolean()) {
    return TypeError(Sub(path, key), "a boolean");
  }
  *out = v->get<bool>();
  return absl::OkStatus();
}

template <typename T>
absl::Status GetInt(const Json& v, absl::string_view full_path, T* out) {
  if (!v.is_number_integer()) {
    return TypeError(full_path, "an integer");
  }
  if constexpr (std::is_unsigned_v<T>) {
    if (v.is_number_unsigned()) {
      *out = static_cast<T>(v.get<uint64_t>());
      return absl::OkStatus();
    }
    int64_t s = v.get<int64_t>();
    if (s < 0) {
      return TypeError(full_path, "a non-negative integer");
    }
    *out = static_cast<T>(s);
  } else {
    *out = v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>());
  }
  return absl::OkStatus();
}

template <typename T>
  requires std::is_integral_v<T>
absl::Status Get(const Json& obj, const char* key, absl::string_view path, T* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return absl::OkStatus();
  }
  return GetInt(*v, Sub(path, key), out);
}

template <typename T>
absl::Status Get(const Json& obj, const char* key, absl::string_view path, std::optional<T>* out) {
  if (Find(obj, key) == nullptr) {
    return absl::OkStatus();
  }
  T value{};
  absl::Status s = Get(obj, key, path, &value);
  if (s.ok()) {
    *out = value;
  }
  return s;
}

inline absl::Status Get(const Json& obj, const char* key, absl::string_view path,
                        std::vector<std::string>* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return absl::OkStatus();
  }
  if (!v->is_array()) {
    return TypeError(Sub(path, key), "an array of strings");
  }
  out->clear();
  out->reserve(v->size());
  for (const Json& e : *v) {
    if (!e.is_string()) {
      return TypeError(Sub(path, key), "an array of strings");
    }
    out->push_back(e.get<std::string>());
  }
  return absl::OkStatus();
}

template <typename T>
  requires std::is_integral_v<T>
absl::Status Get(const Json& obj, const char* key, absl::string_view path, std::vector<T>* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return absl::OkStatus();
  }
  if (!v->is_array()) {
    return TypeError(Sub(path, key), "an array of integers");
  }
  for (const Json& e : *v) {
    T value{};
    if (absl::Status s = GetInt(e, Sub(path, key), &value); !s.ok()) {
      return s;
    }
    out->push_back(value);
  }
  return absl::OkStatus();
}

inline absl::Status Get(const Json& obj, const char* key, absl::string_view path,
                        std::map<std::string, std::string>* out) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return absl::OkStatus();
  }
  if (!v->is_object()) {
    return TypeError(Sub(path, key), "an object of strings");
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) {
      return TypeError(Sub(Sub(path, key), it.key()), "a string");
    }
    (*out)[it.key()] = it.value().get<std::string>();
  }
  return absl::OkStatus();
}

// Applies `fn(element, element_path)` to each element of the array at `key`.
template <typename Fn>
absl::Status ForEach(const Json& obj, const char* key, absl::string_view path, Fn&& fn) {
  const Json* v = Find(obj, key);
  if (v == nullptr) {
    return absl::OkStatus();
  }
  if (!v->is_array()) {
    return TypeError(Sub(path, key), "an array");
  }
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    std::string elem_path = absl::StrCat(Sub(path, key), "[", i, "]");
    if (!e.is_object()) {
      return TypeError(elem_path, "an object");
    }
    if (absl::Status s = fn(e, elem_path); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

// Parses text without exceptions; kInvalidArgument on malformed JSON or a non-object.
inline absl::Status ParseObject(absl::string_view text, absl::string_view what, Json* out) {
  *out = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat("parse ", what, ": malformed JSON"));
  }
  if (!out->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("parse ", what, ": not a JSON object"));
  }
  return absl::OkStatus();
}

}  // namespace berth::oci::json
