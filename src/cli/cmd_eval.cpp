// fragua eval bpb: bits per byte per language of a GGUF model on held-out text.
#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/eval/bits_per_byte.h"
#include "fragua/model/loaded_model.h"

namespace fragua::cli {
namespace {

struct BpbOpts {
  std::string model, tokenizer, lang = "und", json;
  std::vector<std::string> files;
  int64_t n_ctx = 0;
  int threads = 0;
};

// A .jsonl file holds one document per line ({"text": ..., "lang": ...}, the corpus format);
// any other file is one document of --lang.
Result<eval::Documents> read_documents(const BpbOpts& o) {
  eval::Documents docs;
  for (const auto& path : o.files) {
    std::string data = FRAGUA_TRY(read_file(path));
    if (!path.ends_with(".jsonl")) {
      docs[o.lang].push_back(std::move(data));
      continue;
    }
    size_t line = 0;
    for (size_t pos = 0; pos < data.size();) {
      size_t nl = std::min(data.find('\n', pos), data.size());
      std::string_view text = std::string_view(data).substr(pos, nl - pos);
      pos = nl + 1;
      ++line;
      if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto j = FRAGUA_TRY(parse_json(text, fmt::format("{}:{}", path, line)));
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        return invalid_argument_error("{}:{}: expected an object with a string \"text\"", path, line);
      const std::string lang = j.contains("lang") && j["lang"].is_string() ? j["lang"].get<std::string>() : o.lang;
      docs[lang].push_back(j["text"].get<std::string>());
    }
  }
  return docs;
}

void run(const BpbOpts& o) {
  model::OpenOptions open;
  open.tokenizer_path = o.tokenizer;
  open.context.n_ctx = o.n_ctx;
  open.context.n_threads = o.threads;
  auto m = check(model::open_model(o.model, open));
  if (!m.tokenizer) throw Failure{invalid_argument_error("{}: the model has no tokenizer: pass --tokenizer", o.model)};
  const auto docs = check(read_documents(o));
  const auto losses = check(eval::bits_per_byte(*m.context, *m.tokenizer, docs));
  std::string table =
      "| lang | documents | bytes | tokens | scored | loss (nats/token) | bits per byte |\n"
      "|---|---:|---:|---:|---:|---:|---:|\n";
  nlohmann::json out = eval::to_json(losses);
  for (const auto& [lang, l] : losses) {
    table += fmt::format("| {} | {} | {} | {} | {} | {:.4f} | {:.4f} |\n", lang, docs.at(lang).size(), l.bytes,
                         l.tokens, l.scored, l.empty() ? 0.0 : l.mean_loss(), l.empty() ? 0.0 : l.bits_per_byte());
    out["languages"][lang] = {{"bytes", l.bytes}, {"tokens", l.tokens}, {"scored", l.scored}, {"nats", l.nats}};
  }
  out["model"] = o.model;
  out["n_ctx"] = m.context->n_ctx();
  std::fputs(table.c_str(), stdout);
  if (!o.json.empty()) check(write_file_atomic(o.json, out.dump(2) + "\n"));
}

void setup(CLI::App& root) {
  auto* group = group_subcommand(root, "eval", "Evaluate models");
  auto* cmd = group->add_subcommand(
      "bpb", "Bits per byte per language of a GGUF model on held-out text (.jsonl with text/lang, or text files)");
  auto o = std::make_shared<BpbOpts>();
  cmd->add_option("model", o->model, "GGUF model file")->required();
  cmd->add_option("files", o->files, "Held-out text: .jsonl ({\"text\", \"lang\"} per line) or text files")->required();
  cmd->add_option("--lang", o->lang, "Language of text files and of records without \"lang\" (default und)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer (GGUF or tokenizer.json) when the model has none");
  cmd->add_option("-c,--ctx", o->n_ctx, "Window: context size (default: min(training context, 4096))");
  cmd->add_option("--json", o->json, "Also write the figures as JSON");
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
