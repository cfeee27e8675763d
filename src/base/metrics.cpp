// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/metrics.h"
#include "fragua/base/json.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include "fragua/base/file.h"

namespace fragua {

Result<MetricsWriter> MetricsWriter::open(const std::string& path, bool append) {
  MetricsWriter w;
  w.path_ = path;
  w.file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (!w.file_) return io_error("{}: cannot open metrics file: {}", path, std::strerror(errno));
  return w;
}

MetricsWriter::MetricsWriter(MetricsWriter&& o) noexcept : path_(std::move(o.path_)), file_(o.file_) {
  o.file_ = nullptr;
}

MetricsWriter& MetricsWriter::operator=(MetricsWriter&& o) noexcept {
  if (this != &o) {
    if (file_) std::fclose(file_);
    path_ = std::move(o.path_);
    file_ = o.file_;
    o.file_ = nullptr;
  }
  return *this;
}

MetricsWriter::~MetricsWriter() {
  if (file_) std::fclose(file_);
}

Status MetricsWriter::write(nlohmann::json record) {
  if (!file_) return invalid_argument_error("metrics writer is not open");
  if (!record.contains("time")) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    record["time"] = std::chrono::duration<double>(now).count();
  }
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    return io_error("{}: cannot write metrics: {}", path_, std::strerror(errno));
  return {};
}

Result<std::vector<nlohmann::json>> read_metrics(const std::string& path, Env& env) {
  auto text = FRAGUA_TRY(read_file(path, env));
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    auto j = parse_json(line, fmt::format("{}:{}", path, lineno));
    if (!j.ok()) return std::move(j).error();
    if (!j->is_object()) return corruption_error("{}:{}: not a JSON object", path, lineno);
    out.push_back(std::move(*j));
  }
  return out;
}

}  // namespace fragua
