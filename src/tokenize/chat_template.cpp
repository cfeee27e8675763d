// Built-in chat formats. A model's GGUF carries its Jinja template in tokenizer.chat_template;
// rather than run Jinja, the template is recognised by the special markers it writes (the same
// approach as llama.cpp's llm_chat_detect_template) and rendered by the matching function
// below. A template that matches none is an error: a wrong prompt format silently degrades a
// model, so it must never be guessed.
#include <array>
#include <functional>

#include "fragua/tokenize/tokenizer.h"

namespace fragua::tokenize {

namespace {

using Render = std::string (*)(std::span<const ChatMessage>, bool);

// ChatML (Salamandra/ALIA, Qwen): <|im_start|>role\ncontent<|im_end|>\n
std::string render_chatml(std::span<const ChatMessage> msgs, bool gen) {
  std::string out;
  for (const auto& m : msgs) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (gen) out += "<|im_start|>assistant\n";
  return out;
}

// Llama 3: <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> (BOS comes from the tokenizer).
std::string render_llama3(std::span<const ChatMessage> msgs, bool gen) {
  std::string out;
  for (const auto& m : msgs) out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
  if (gen) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Granite 3: <|start_of_role|>role<|end_of_role|>content<|end_of_text|>\n
std::string render_granite(std::span<const ChatMessage> msgs, bool gen) {
  std::string out;
  for (const auto& m : msgs) out += "<|start_of_role|>" + m.role + "<|end_of_role|>" + m.content + "<|end_of_text|>\n";
  if (gen) out += "<|start_of_role|>assistant<|end_of_role|>";
  return out;
}

// Phi-3: <|role|>\ncontent<|end|>\n
std::string render_phi3(std::span<const ChatMessage> msgs, bool gen) {
  std::string out;
  for (const auto& m : msgs) out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  if (gen) out += "<|assistant|>\n";
  return out;
}

// Llama 2: [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] assistant </s><s>[INST] user [/INST]
// The first <s> is the tokenizer's BOS; a system message joins the first user turn.
std::string render_llama2(std::span<const ChatMessage> msgs, bool /*gen: the prompt ends open*/) {
  std::string out, system;
  bool first_user = true;
  for (const auto& m : msgs) {
    if (m.role == "system") {
      system = m.content;
    } else if (m.role == "user") {
      out += first_user ? "[INST] " : "<s>[INST] ";
      if (!system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
      system.clear();
      out += m.content + " [/INST]";
      first_user = false;
    } else {
      out += " " + m.content + " </s>";
    }
  }
  return out;
}

struct Format {
  const char* name;
  std::array<const char*, 2> markers;  // all must occur in the template
  Render render;
};

constexpr std::array<Format, 5> kFormats = {{
    {"chatml", {"<|im_start|>", nullptr}, render_chatml},
    {"llama3", {"<|start_header_id|>", "<|end_header_id|>"}, render_llama3},
    {"granite", {"<|start_of_role|>", "<|end_of_role|>"}, render_granite},
    {"phi3", {"<|assistant|>", "<|end|>"}, render_phi3},
    {"llama2", {"[INST]", nullptr}, render_llama2},
}};

const Format* find_format(std::string_view t) {
  for (const auto& f : kFormats)
    if (t == f.name) return &f;
  for (const auto& f : kFormats) {
    bool all = true;
    for (const char* m : f.markers)
      if (m && t.find(m) == std::string_view::npos) all = false;
    if (all) return &f;
  }
  return nullptr;
}

}  // namespace

Result<std::string> detect_chat_template(std::string_view t) {
  if (const Format* f = find_format(t)) return std::string(f->name);
  std::string head(t.substr(0, 80));
  for (char& c : head)
    if (c == '\n') c = ' ';
  return unsupported_error("unknown chat template '{}{}': supported are chatml, llama3, granite, phi3, llama2 "
                           "(pass one of these names to override)",
                           head, t.size() > 80 ? "..." : "");
}

Result<std::string> apply_chat_template(std::string_view template_or_name, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) {
  const Format* f = find_format(template_or_name);
  if (!f) return detect_chat_template(template_or_name).error();
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].role != "system" && messages[i].role != "user" && messages[i].role != "assistant" &&
        messages[i].role != "tool")
      return invalid_argument_error("chat message {}: unknown role '{}' (system, user, assistant, tool)", i,
                                    messages[i].role);
  return f->render(messages, add_generation_prompt);
}

}  // namespace fragua::tokenize
