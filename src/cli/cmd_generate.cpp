// `fragua generate MODEL`: continue a prompt with a GGUF model.
#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/sampling_flags.h"
#include "fragua/model/generate.h"
#include "fragua/model/model.h"

namespace fragua::cli {
namespace {

struct Opts {
  std::string model;
  std::string prompt_ids;
  int64_t n_ctx = 0;
  int threads = 0;
  bool show_ids = false;
  bool stats = false;
  model::GenerateParams gen;
};

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(pos, end - pos);
    try {
      size_t used = 0;
      long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      throw Failure{invalid_argument_error("--prompt-ids: '{}' at character {} is not a token id", item, pos)};
    }
    pos = end + 1;
  }
  return ids;
}

void run(const Opts& o) {
  auto model = check(model::Model::load(o.model));
  model::ContextParams cp;
  cp.n_ctx = o.n_ctx;
  cp.n_threads = o.threads;
  auto ctx = check(model::Context::create(*model, cp));
  std::vector<int32_t> prompt = parse_ids(o.prompt_ids);
  if (prompt.empty()) throw Failure{invalid_argument_error("give a prompt: --prompt-ids 1,2,3")};
  model::GenerateParams gen = o.gen;
  // Without a tokenizer the output is token ids.
  auto piece = [](int32_t id) { return fmt::format("{} ", id); };
  auto on_text = [](std::string_view s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  auto r = check(model::generate(*ctx, prompt, gen, piece, on_text));
  std::fputc('\n', stdout);
  if (o.stats)
    std::fprintf(stderr, "prompt: %lld tokens in %.3f s (%.1f tok/s); generated: %zu tokens in %.3f s (%.1f tok/s); stop: %s\n",
                 static_cast<long long>(r.n_prompt), r.prompt_seconds, static_cast<double>(r.n_prompt) / r.prompt_seconds,
                 r.tokens.size(), r.gen_seconds, static_cast<double>(r.tokens.size()) / r.gen_seconds,
                 r.stop_reason.c_str());
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("generate", "Continue a prompt with a GGUF model");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF model file")->required();
  cmd->add_option("--prompt-ids", o->prompt_ids, "Prompt as comma-separated token ids");
  cmd->add_option("-c,--ctx", o->n_ctx, "Context size (default: min(training context, 4096))");
  add_threads_flag(*cmd, o->threads);
  cmd->add_flag("--stats", o->stats, "Print timing to stderr");
  add_sampling_flags(*cmd, o->gen);
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
