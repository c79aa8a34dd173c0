#pragma once

// Output for people and for scripts: aligned tables (the default) or JSON (--format json).

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace berth::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns padded to their widest cell, separated by three spaces.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// Prints `json` pretty-printed, or `table` rendered, per the --format option.
void Print(const std::string& format, const Table& table, const nlohmann::json& json);

}  // namespace berth::ctl
