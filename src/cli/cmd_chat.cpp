// `fragua chat MODEL`: an interactive conversation in the terminal, with the model's chat
// template. Each turn reuses the KV cache for the part of the conversation already processed.
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/sampling_flags.h"
#include "fragua/model/generate.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::cli {
namespace {

struct Opts {
  std::string model;
  std::string system;
  std::string chat_template;
  int64_t n_ctx = 0;
  int threads = 0;
  model::GenerateParams gen;
};

// Evaluates `tokens` reusing the longest prefix already in the cache; returns the logits of the
// last token via generate() on the remainder.
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

void run(const Opts& o) {
  auto model = check(model::Model::load(o.model));
  if (!model->gguf().find("tokenizer.ggml.model"))
    throw Failure{invalid_argument_error("{} has no tokenizer (tokenizer.ggml.model)", o.model)};
  auto tok = check(tokenize::Tokenizer::from_gguf(model->gguf()));
  std::string tmpl = o.chat_template;
  if (tmpl.empty()) tmpl = tok.spec().chat_template;
  if (tmpl.empty())
    throw Failure{
        invalid_argument_error("{} has no chat template: pass --template chatml|llama3|granite|llama2", o.model)};
  check(tokenize::detect_chat_template(tmpl));
  model::ContextParams cp;
  cp.n_ctx = o.n_ctx;
  cp.n_threads = o.threads;
  auto ctx = check(model::Context::create(*model, cp));
  model::GenerateParams gen = o.gen;
  for (int32_t id = 0; id < tok.n_vocab(); ++id)
    if (tok.is_eog(id)) gen.eog_ids.push_back(id);

  std::vector<tokenize::ChatMessage> messages;
  if (!o.system.empty()) messages.push_back({"system", o.system});
  std::vector<int32_t> cached;  // tokens whose keys/values are in the cache
  std::fprintf(stderr, "fragua chat: %s (Ctrl-D to quit, /reset to start over)\n", model->config().name.c_str());
  std::string line;
  for (;;) {
    std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/reset") {
      messages.resize(o.system.empty() ? 0 : 1);
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    // Only the template's markers become control tokens; the typed text never does.
    auto prompt = tokenize::encode_chat(tok, tmpl, messages, /*add_generation_prompt=*/true);
    if (!prompt.ok()) {
      std::fprintf(stderr, "fragua: error: %s\n", prompt.error().to_string().c_str());
      messages.pop_back();
      continue;
    }
    size_t keep = common_prefix(cached, *prompt);
    if (keep == prompt->size()) --keep;  // at least one token must be evaluated for fresh logits
    (*ctx).truncate(static_cast<int64_t>(keep));
    std::span<const int32_t> rest(prompt->data() + keep, prompt->size() - keep);
    auto r = model::generate(
        *ctx, rest, gen, [&](int32_t id) { return tok.token_piece(id); },
        [](std::string_view s) {
          std::fwrite(s.data(), 1, s.size(), stdout);
          std::fflush(stdout);
          return true;
        });
    std::fputc('\n', stdout);
    if (!r.ok()) {
      std::fprintf(stderr, "fragua: error: %s\n", r.error().to_string().c_str());
      messages.pop_back();
      continue;
    }
    cached = *prompt;
    // The cache now also holds the generated tokens except the last one sampled.
    cached.insert(cached.end(), r->tokens.begin(), r->tokens.end());
    if (!r->tokens.empty()) cached.pop_back();
    cached.resize(std::min<size_t>(cached.size(), static_cast<size_t>(ctx->n_past())));
    messages.push_back({"assistant", r->text});
  }
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("chat", "Talk with a model in the terminal using its chat template");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF model file with a tokenizer")->required();
  cmd->add_option("--system", o->system, "System message");
  cmd->add_option("--template", o->chat_template, "Chat template name or Jinja text (default: the model's)");
  cmd->add_option("-c,--ctx", o->n_ctx, "Context size");
  add_threads_flag(*cmd, o->threads);
  add_sampling_flags(*cmd, o->gen);
  o->gen.max_tokens = 512;
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
