#include "ctl/output.h"

#include <algorithm>
#include <iostream>

namespace berth::ctl {

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = headers_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  auto append_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    out += line + "\n";
  };
  append_row(headers_);
  for (const auto& row : rows_) append_row(row);
  return out;
}

void Print(const std::string& format, const Table& table, const nlohmann::json& json) {
  if (format == "json") {
    std::cout << json.dump(2) << "\n";
  } else {
    std::cout << table.Render();
  }
}

}  // namespace berth::ctl
