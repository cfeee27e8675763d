// SPDX-License-Identifier: Apache-2.0
// `fragua generate MODEL`: continue a prompt with a GGUF model.
#include <cstdio>

#include <unistd.h>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/inference_model.h"
#include "cli/lora_flag.h"
#include "cli/sampling_flags.h"
#include "fragua/base/file.h"
#include "fragua/base/log.h"
#include "fragua/base/utf8.h"
#include "fragua/model/generate.h"
#include "fragua/model/loaded_model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  std::string model;
  std::vector<std::string> lora;  // --lora FILE[:scale]
  std::string prompt;
  std::string prompt_file;
  std::string prompt_ids;
  std::string tokenizer;
  bool no_bos = false;
  bool chat = false;  // the prompt is a user message rendered with the chat template
  std::string system, chat_template, chat_template_file;
  int64_t n_ctx = 0;
  int threads = 0;
  bool show_ids = false;
  bool stats = false;
  model::GenerateParams gen;
};

// Model output bound for a terminal: the pieces come from the model file's vocabulary, so a
// piece holding ESC or OSC sequences is escaped (newlines and tabs kept, terminal_safe). A UTF-8
// character split across pieces (byte tokens) is held back until it is complete, so that only
// bytes that really are invalid show as \xNN. Output to a file or pipe stays byte for byte.
class TerminalOutput {
 public:
  std::string feed(std::string_view s) {
    held_.append(s);
    size_t keep = utf8::incomplete_suffix(held_);
    std::string out = terminal_safe(std::string_view(held_).substr(0, held_.size() - keep), true);
    held_.erase(0, held_.size() - keep);
    return out;
  }
  std::string flush() {
    std::string out = terminal_safe(held_, true);
    held_.clear();
    return out;
  }

 private:
  std::string held_;
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
  if (o.model.empty()) throw Failure{invalid_argument_error("expected a model: fragua generate MODEL or -m MODEL"), 2};
  if (!o.prompt.empty() + !o.prompt_file.empty() + !o.prompt_ids.empty() != 1)
    throw Failure{invalid_argument_error("give exactly one of -p/--prompt TEXT, -f/--file FILE or --prompt-ids 1,2,3"), 2};
  // -f as llama.cpp reads it: the file's bytes as they are, a final newline included.
  const std::string prompt_text = o.prompt_file.empty() ? o.prompt : check(read_file(o.prompt_file));
  if (!o.prompt_file.empty() && prompt_text.empty())
    throw Failure{invalid_argument_error("{}: the prompt file is empty", o.prompt_file)};
  if (!o.chat && (!o.system.empty() || !o.chat_template.empty() || !o.chat_template_file.empty()))
    throw Failure{invalid_argument_error("--system-prompt, --chat-template and --chat-template-file go with --chat")};
  if (!o.chat_template.empty() && !o.chat_template_file.empty())
    throw Failure{invalid_argument_error("give --chat-template or --chat-template-file, not both")};
  // The tokenizer inside the model file, or one given with --tokenizer; without any, the
  // output is token ids.
  model::OpenOptions open;
  open.tokenizer_path = o.tokenizer;
  open.lora = lora_specs(o.lora);
  open.context.n_ctx = o.n_ctx;
  open.context.n_threads = o.threads;
  auto m = open_inference_model(o.model, open, "generate");
  const tokenize::Tokenizer* tok = m.tokenizer.get();
  model::GenerateParams gen = o.gen;
  std::vector<int32_t> prompt;
  model::PieceFn piece;
  if (!prompt_text.empty()) {
    if (!tok) throw Failure{invalid_argument_error("{} has no tokenizer: use --tokenizer or --prompt-ids", o.model)};
    if (o.chat) {
      std::string tmpl = o.chat_template_file.empty() ? o.chat_template
                                                      : check(tokenize::read_chat_template_file(o.chat_template_file));
      if (tmpl.empty()) tmpl = tok->spec().chat_template;
      if (tmpl.empty())
        throw Failure{invalid_argument_error(
            "{} has no chat template: pass --chat-template chatml|llama3|granite|llama2 or --chat-template-file FILE",
            o.model)};
      std::vector<tokenize::ChatMessage> msgs;
      if (!o.system.empty()) msgs.push_back({"system", o.system});
      msgs.push_back({"user", prompt_text});
      prompt = check(tokenize::encode_chat(*tok, tmpl, msgs, /*add_generation_prompt=*/true));
    } else {
      prompt = check(tok->try_encode(prompt_text, !o.no_bos, /*parse_special=*/true));
    }
  } else {
    prompt = parse_ids(o.prompt_ids);
  }
  if (tok && o.prompt_ids.empty()) {
    piece = [tok](int32_t id) { return tok->token_piece(id); };
    gen.eog_ids.insert(gen.eog_ids.end(), m.eog_ids.begin(), m.eog_ids.end());
  } else {
    piece = [](int32_t id) { return fmt::format("{} ", id); };
  }
  if (o.stats || log_level() <= LogLevel::debug)
    std::fprintf(stderr, "fragua generate: seed %llu (--seed repeats the run)\n",
                 static_cast<unsigned long long>(gen.sampler.seed));
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  TerminalOutput term;
  auto on_text = [&](std::string_view s) {
    const std::string safe = tty ? term.feed(s) : std::string();
    if (tty) s = safe;
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  auto r = check(model::generate(*m.context, prompt, gen, piece, on_text));
  if (tty) std::fputs(term.flush().c_str(), stdout);
  std::fputc('\n', stdout);
  report_stop_reason(r, m.context->n_ctx(), "generate");
  if (o.stats)
    std::fprintf(
        stderr, "prompt: %lld tokens in %.3f s (%.1f tok/s); generated: %zu tokens in %.3f s (%.1f tok/s); stop: %s\n",
        static_cast<long long>(r.n_prompt), r.prompt_seconds, static_cast<double>(r.n_prompt) / r.prompt_seconds,
        r.tokens.size(), r.gen_seconds, static_cast<double>(r.tokens.size()) / r.gen_seconds, r.stop_reason.c_str());
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("generate", "Continue a prompt with a GGUF model");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->model, "GGUF model file (or -m)");
  cmd->add_option("-m,--model", o->model, "GGUF model file, as llama.cpp spells it");
  add_lora_flag(*cmd, o->lora);
  cmd->add_option("-p,--prompt", o->prompt, "Prompt text (control tokens such as <|im_start|> are parsed)");
  cmd->add_option("-f,--file", o->prompt_file, "Prompt from a file, as llama.cpp reads it");
  cmd->add_option("--prompt-ids", o->prompt_ids, "Prompt as comma-separated token ids (output as ids)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer (GGUF or tokenizer.json) when the model has none");
  cmd->add_flag("--no-bos", o->no_bos, "Do not add the beginning-of-sequence token");
  cmd->add_flag("--chat", o->chat, "Render the prompt as a user message with the chat template");
  cmd->add_option("--system", o->system, "")->group("");
  cmd->add_option("--system-prompt", o->system, "System message (with --chat; also -sys, as llama.cpp spells it)");
  cmd->add_option("--template", o->chat_template, "")->group("");
  cmd->add_option("--chat-template", o->chat_template, "Chat template name or Jinja text (with --chat)");
  cmd->add_option("--chat-template-file", o->chat_template_file,
                  "Chat template from a file: Jinja text or a tokenizer_config.json (with --chat)");
  cmd->add_option("--ctx", o->n_ctx, "")->group("");  // the old spelling, kept for scripts
  cmd->add_option("-c,--ctx-size", o->n_ctx, "Context size (default: min(training context, 4096))");
  add_threads_flag(*cmd, o->threads);
  cmd->add_flag("--stats", o->stats, "Print timing to stderr");
  add_sampling_flags(*cmd, o->gen);
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
