// SPDX-License-Identifier: Apache-2.0
// `fragua chat MODEL`: an interactive conversation in the terminal, with the model's chat
// template, over model::ChatSession (KV cache reused across turns, oldest turns dropped when the
// context is full).
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/inference_model.h"
#include "cli/lora_flag.h"
#include "cli/sampling_flags.h"
#include "fragua/base/file.h"
#include "fragua/base/log.h"
#include "fragua/model/chat_session.h"
#include "fragua/model/loaded_model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  std::string model;
  std::vector<std::string> lora;  // --lora FILE[:scale]
  std::string prompt_file;
  std::string system;
  std::string chat_template;
  std::string chat_template_file;
  int64_t n_ctx = 0;
  int threads = 0;
  model::GenerateParams gen;
};

void run(const Opts& o) {
  if (o.model.empty()) throw Failure{invalid_argument_error("expected a model: fragua chat MODEL or -m MODEL"), 2};
  if (!o.chat_template.empty() && !o.chat_template_file.empty())
    throw Failure{invalid_argument_error("give --chat-template or --chat-template-file, not both")};
  const std::string chat_template =
      o.chat_template_file.empty() ? o.chat_template : check(tokenize::read_chat_template_file(o.chat_template_file));
  model::OpenOptions open;
  open.lora = lora_specs(o.lora);
  open.context.n_ctx = o.n_ctx;
  open.context.n_threads = o.threads;
  // -f: the file's text is the first user message, then the conversation goes on from the terminal.
  const std::string first = o.prompt_file.empty() ? std::string() : check(read_file(o.prompt_file));
  if (!o.prompt_file.empty() && first.empty())
    throw Failure{invalid_argument_error("{}: the prompt file is empty", o.prompt_file)};
  auto m = open_inference_model(o.model, open, "chat");
  if (chat_template.empty() && m.tokenizer && m.tokenizer->spec().chat_template.empty())
    throw Failure{invalid_argument_error(
        "{} has no chat template: pass --chat-template chatml|llama3|granite|llama2 or --chat-template-file FILE", o.model)};
  model::ChatParams params;
  params.system = o.system;
  params.chat_template = chat_template;
  params.gen = o.gen;
  auto chat = check(model::ChatSession::create(m, std::move(params)));

  std::fprintf(stderr, "fragua chat: %s (Ctrl-D to quit, /reset to start over)\n", m.model->config().name.c_str());
  if (log_level() <= LogLevel::debug)
    std::fprintf(stderr, "fragua chat: seed %llu (--seed repeats the run)\n",
                 static_cast<unsigned long long>(o.gen.sampler.seed));
  std::string line;
  for (bool from_file = !first.empty();; from_file = false) {
    if (from_file) {
      line = first;
    } else {
      std::fprintf(stderr, "> ");
      if (!std::getline(std::cin, line)) break;
    }
    if (line == "/reset") {
      chat.reset();
      continue;
    }
    if (line.empty()) continue;
    bool printed = false;
    auto r = chat.reply(line, [&](std::string_view s) {
      std::fwrite(s.data(), 1, s.size(), stdout);
      std::fflush(stdout);
      printed = true;
      return true;
    });
    if (r.ok() || printed) std::fputc('\n', stdout);
    if (!r.ok()) {
      std::fprintf(stderr, "fragua: error: %s\n", r.error().to_string().c_str());
      continue;
    }
    report_stop_reason(r->generation, m.context->n_ctx(), "chat");
    if (r->usage.n_dropped_turns > 0)
      std::fprintf(stderr, "fragua chat: dropped the %lld oldest turn(s) to fit the context of %lld tokens\n",
                   static_cast<long long>(r->usage.n_dropped_turns), static_cast<long long>(m.context->n_ctx()));
  }
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("chat", "Talk with a model in the terminal using its chat template");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF model file with a tokenizer (or -m)");
  cmd->add_option("-m,--model", o->model, "GGUF model file, as llama.cpp spells it");
  add_lora_flag(*cmd, o->lora);
  cmd->add_option("-f,--file", o->prompt_file, "First user message from a file; the conversation goes on after it");
  cmd->add_option("--system", o->system, "")->group("");
  cmd->add_option("--system-prompt", o->system, "System message (also -sys, as llama.cpp spells it)");
  cmd->add_option("--template", o->chat_template, "")->group("");
  cmd->add_option("--chat-template", o->chat_template, "Chat template name or Jinja text (default: the model's)");
  cmd->add_option("--chat-template-file", o->chat_template_file,
                  "Chat template from a file: Jinja text or a tokenizer_config.json (overrides the model's)");
  cmd->add_option("--ctx", o->n_ctx, "")->group("");  // the old spelling, kept for scripts
  cmd->add_option("-c,--ctx-size", o->n_ctx, "Context size (default: min(training context, 4096))");
  add_threads_flag(*cmd, o->threads);
  o->gen.max_tokens = 512;  // before the flags, so that --help shows it
  add_sampling_flags(*cmd, o->gen);
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
