// SPDX-License-Identifier: Apache-2.0
// Resume state of `fragua corpus build` (see pipeline_resume.h).
#include "pipeline_resume.h"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"

namespace fragua::data {
namespace fs = std::filesystem;
namespace {

constexpr int kStateVersion = 2;  // 1: state named by input index (000000.stats.json)

// "<name>.tmp-<pid>-<suffix>": what AtomicFile leaves behind when its process is killed.
bool is_write_temporary(const std::string& name) {
  size_t t = name.rfind(".tmp-");
  if (t == std::string::npos) return false;
  size_t i = t + 5, j = i;
  while (j < name.size() && name[j] >= '0' && name[j] <= '9') ++j;
  return j > i && j + 1 < name.size() && name[j] == '-';
}

std::string key_of(const fs::path& abs, uint64_t size, int64_t mtime_ns) {
  std::string id = abs.string();
  id.push_back('\0');
  id += std::to_string(size);
  id.push_back('\0');
  id += std::to_string(mtime_ns);
  return fmt::format("{:016x}", XXH64(id.data(), id.size(), 0));
}

Result<InputFile> describe(const fs::path& p) {
  std::error_code ec;
  InputFile f;
  f.path = p.string();
  f.size = fs::file_size(p, ec);
  if (ec) return io_error("{}: {}", f.path, ec.message());
  auto t = fs::last_write_time(p, ec);
  if (ec) return io_error("{}: {}", f.path, ec.message());
  f.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  fs::path abs = fs::absolute(p, ec);
  f.key = key_of(ec ? p : abs.lexically_normal(), f.size, f.mtime_ns);
  return f;
}

fs::path state_path(const fs::path& out, const std::string& key) { return out / ".state" / (key + ".json"); }
fs::path keys_path(const fs::path& out, const std::string& key) { return out / ".state" / (key + ".keys"); }

}  // namespace

std::string shard_file_name(const InputFile& f) { return "shard-" + f.key + ".jsonl"; }

Result<std::vector<InputFile>> list_inputs(const std::vector<std::string>& inputs, const std::string& output) {
  std::vector<fs::path> paths;
  std::error_code ec;
  const fs::path out_dir = fs::weakly_canonical(output, ec);
  auto is_output = [&](const fs::path& dir) {
    std::error_code e;
    return !out_dir.empty() && fs::exists(out_dir, e) && fs::equivalent(dir, out_dir, e);
  };
  for (const auto& in : inputs) {
    if (fs::is_directory(in, ec)) {
      for (auto it = fs::recursive_directory_iterator(in, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (it->is_directory(ec)) {
          if (name.starts_with('.') || is_output(it->path())) it.disable_recursion_pending();
          continue;
        }
        if (name.starts_with('.') || is_write_temporary(name)) continue;
        if (it->is_regular_file(ec)) paths.push_back(it->path());
      }
      if (ec) return io_error("{}: {}", in, ec.message());
    } else if (fs::is_regular_file(in, ec)) {
      paths.emplace_back(in);
    } else {
      return not_found_error("input '{}' does not exist", in);
    }
  }
  std::sort(paths.begin(), paths.end());
  paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
  std::vector<InputFile> files;
  files.reserve(paths.size());
  for (const auto& p : paths) files.push_back(FRAGUA_TRY(describe(p)));
  return files;
}

std::optional<FinishedFile> load_finished(const fs::path& out, const InputFile& f, size_t key_words, Env& env) {
  auto text = read_file(state_path(out, f.key).string(), env);
  if (!text.ok()) return std::nullopt;
  auto j = parse_json(*text, state_path(out, f.key).string());
  if (!j.ok() || !j->is_object()) return std::nullopt;
  const auto key_bytes = env.file_size(keys_path(out, f.key).string());
  if (!key_bytes.ok() || *key_bytes % (8 * key_words) != 0 ||
      !env.file_exists((out / "shards" / shard_file_name(f)).string()))
    return std::nullopt;
  // State files are our own output, but a damaged one must mean "redo this file", not a crash.
  try {
    const auto& in = j->at("input");
    if (j->at("version") != kStateVersion || in.at("path") != f.path || in.at("size") != f.size ||
        in.at("mtime_ns") != f.mtime_ns || j->at("key_words") != key_words)
      return std::nullopt;
    return FinishedFile{BuildStats::from_json(j->at("stats"))};
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Result<std::vector<uint64_t>> load_finished_keys(const fs::path& out, const InputFile& f, Env& env) {
  auto bytes = FRAGUA_TRY(read_file(keys_path(out, f.key).string(), env));
  std::vector<uint64_t> keys(bytes.size() / 8);
  std::memcpy(keys.data(), bytes.data(), keys.size() * 8);
  return keys;
}

Status commit_state(const fs::path& out, const InputFile& f, const std::vector<uint64_t>& kept_keys,
                    const BuildStats& stats, size_t key_words, Env& env) {
  std::string keys(reinterpret_cast<const char*>(kept_keys.data()), kept_keys.size() * sizeof(uint64_t));
  FRAGUA_TRY(write_file_atomic(keys_path(out, f.key).string(), keys, env));
  nlohmann::json j = {{"format", "fragua-corpus-build-state"},
                      {"version", kStateVersion},
                      {"input", {{"path", f.path}, {"size", f.size}, {"mtime_ns", f.mtime_ns}}},
                      {"shard", shard_file_name(f)},
                      {"key_words", key_words},
                      {"stats", stats.to_json()}};
  return write_file_atomic(state_path(out, f.key).string(),
                           j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", env);
}

Result<size_t> remove_stale_outputs(const fs::path& out, const std::vector<InputFile>& files,
                                    const std::vector<bool>& finished, Env& env) {
  std::set<std::string> keep;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!finished[i]) continue;
    keep.insert(shard_file_name(files[i]));
    keep.insert(files[i].key + ".json");
    keep.insert(files[i].key + ".keys");
  }
  size_t removed = 0;
  for (const char* sub : {"shards", ".state"}) {
    auto entries = env.list_dir((out / sub).string());
    if (!entries.ok() && entries.error().code() == ErrorCode::not_found) continue;
    for (const auto& e : FRAGUA_TRY(std::move(entries))) {
      // Only names this pipeline writes (and their temporaries); anything else is the user's.
      const bool ours =
          (std::string_view(sub) == "shards" && e.name.starts_with("shard-")) || std::string_view(sub) == ".state";
      if (!ours || keep.count(e.name) || e.is_directory) continue;
      FRAGUA_TRY(env.remove_file((out / sub / e.name).string()));
      ++removed;
    }
  }
  if (removed)
    log_info("{}: removed {} shard and state files of inputs that changed, went away or were cut short", out.string(),
             removed);
  return removed;
}

}  // namespace fragua::data
