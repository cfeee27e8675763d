// SPDX-License-Identifier: Apache-2.0
// `fragua corpus shard`: JSONL or text corpora -> token shards.
#include <algorithm>

#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/progress.h"
#include "fragua/base/utf8.h"
#include "fragua/train/shard.h"
#include "fragua/train/text_encoder.h"

namespace fragua::train {

namespace {

struct Builder {
  const ShardBuildOptions& o;
  const TextEncoder& enc;
  Env& env;
  ShardWriter writer;
  ShardBuildStats stats;
  std::vector<std::string> written;

  Status add(const std::string& lang, std::string_view text, const std::string& where) {
    if (lang.empty()) return invalid_argument_error("{}: document has no \"lang\" and no --lang was given", where);
    FRAGUA_TRY(utf8::validate(text, where));
    std::vector<int32_t> tokens;
    if (enc.info().bos >= 0) tokens.push_back(enc.info().bos);
    auto body = FRAGUA_TRY(enc.encode(text));
    if (body.empty()) return ok_status();
    tokens.insert(tokens.end(), body.begin(), body.end());
    writer.add(lang, tokens, text.size());
    stats.documents++;
    stats.tokens += tokens.size();
    stats.bytes += text.size();
    if (writer.n_tokens() >= o.shard_tokens) return flush();
    return ok_status();
  }
  Status flush() {
    if (writer.empty()) return ok_status();
    std::string path = fmt::format("{}/shard-{:05d}.fts", o.out_dir, stats.shards);
    FRAGUA_TRY(writer.write(path, env));
    written.push_back(path);
    stats.shards++;
    writer.clear();
    return ok_status();
  }
  Status read_jsonl(const std::string& path, std::string_view data, ProgressBar& bar) {
    size_t pos = 0, line = 0;
    while (pos < data.size()) {
      size_t end = data.find('\n', pos);
      if (end == std::string_view::npos) end = data.size();
      std::string_view l = data.substr(pos, end - pos);
      ++line;
      bar.add(end - pos + 1);
      pos = end + 1;
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      std::string where = fmt::format("{}:{}", path, line);
      auto parsed = parse_json(l, where);
      if (!parsed.ok()) return std::move(parsed).error();
      nlohmann::json& j = *parsed;
      if (!j.is_object()) return invalid_argument_error("{}: not a JSON object", where);
      if (!j.contains("text") || !j["text"].is_string())
        return invalid_argument_error("{}: no string field \"text\"", where);
      std::string lang = o.lang;
      if (j.contains("lang") && j["lang"].is_string()) lang = j["lang"].get<std::string>();
      FRAGUA_TRY(add(lang, j["text"].get<std::string>(), where));
    }
    return ok_status();
  }
  // Plain text: one document per blank-line separated paragraph.
  Status read_text(const std::string& path, std::string_view data, ProgressBar& bar) {
    size_t pos = 0, line = 1;
    bar.add(data.size());
    while (pos < data.size()) {
      size_t end = data.find("\n\n", pos);
      if (end == std::string_view::npos) end = data.size();
      std::string_view para = data.substr(pos, end - pos);
      if (para.find_first_not_of(" \t\r\n") != std::string_view::npos)
        FRAGUA_TRY(add(o.lang, para, fmt::format("{}:{}", path, line)));
      for (char c : data.substr(pos, std::min(data.size(), end + 2) - pos)) line += c == '\n';
      pos = end + 2;
    }
    return ok_status();
  }
};

}  // namespace

Result<ShardBuildStats> build_shards(const ShardBuildOptions& o, const TextEncoder& enc) {
  if (o.out_dir.empty()) return invalid_argument_error("corpus shard: --out is required");
  // A directory stands for its *.jsonl, *.json and *.txt files in name order (the corpus
  // pipeline's corpus/shards/ for instance).
  Env& env = o.env ? *o.env : Env::posix();
  std::vector<std::string> inputs;
  for (const auto& in : o.inputs) {
    if (env.is_directory(in)) {
      std::vector<std::string> files;
      for (const auto& e : FRAGUA_TRY(env.list_dir(in))) {  // sorted by name
        std::string p = (in.ends_with('/') ? in : in + "/") + e.name;
        // Files and symlinks to files (stat, as is_regular_file did).
        if ((p.ends_with(".jsonl") || p.ends_with(".json") || p.ends_with(".txt")) && !e.is_directory &&
            !env.is_directory(p) && env.file_exists(p))
          files.push_back(p);
      }
      if (files.empty()) return not_found_error("{}: directory holds no .jsonl, .json or .txt files", in);
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (!env.file_exists(in)) {
      return not_found_error("{}: no such input file", in);
    } else {
      inputs.push_back(in);
    }
  }
  if (inputs.empty()) return invalid_argument_error("corpus shard: no input files");
  if (env.file_exists(o.out_dir + "/shard-00000.fts"))
    return invalid_argument_error("{} already holds shards: choose an empty --out directory", o.out_dir);
  FRAGUA_TRY(env.create_dirs(o.out_dir));
  nlohmann::json prov = {{"command", o.command}, {"inputs", o.inputs}, {"fragua_version", FRAGUA_VERSION}};
  Builder b{o, enc, env, ShardWriter(enc.info(), prov), {}, {}};
  uint64_t total = 0;
  for (const auto& in : inputs) total += env.file_size(in).ok() ? *env.file_size(in) : 0;
  ProgressBar bar("shard", total, "B");
  Status st = [&]() -> Status {
    for (const auto& in : inputs) {
      auto file = FRAGUA_TRY(MappedFile::open(in));
      bool jsonl = in.ends_with(".jsonl") || in.ends_with(".json");
      FRAGUA_TRY(jsonl ? b.read_jsonl(in, file.view(), bar) : b.read_text(in, file.view(), bar));
    }
    return b.flush();
  }();
  bar.finish();
  if (!st.ok()) {
    for (const auto& p : b.written) (void)env.remove_file(p);  // best effort: the error is `st`
    return st.error();
  }
  if (b.stats.documents == 0) return invalid_argument_error("corpus shard: the inputs hold no documents");
  return b.stats;
}

}  // namespace fragua::train
