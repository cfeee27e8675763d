// Built-in chat formats. A model's GGUF carries its Jinja template in tokenizer.chat_template;
// rather than run Jinja, the template is recognised by the special markers it writes (the same
// approach as llama.cpp's llm_chat_detect_template) and rendered by the matching function
// below. A template that matches none is an error: a wrong prompt format silently degrades a
// model, so it must never be guessed.
#include <array>

#include "fragua/tokenize/tokenizer.h"

namespace fragua::tokenize {

namespace {

// A prompt being rendered: markup (the template's own text, where control tokens are meant) and
// content (a message's text, where they must not be).
class PromptBuilder {
 public:
  PromptBuilder& markup(std::string_view s) { return add(s, true); }
  PromptBuilder& content(std::string_view s) { return add(s, false); }
  ChatPrompt take() { return std::move(p_); }

 private:
  PromptBuilder& add(std::string_view s, bool parse_special) {
    if (s.empty()) return *this;
    p_.text += s;
    if (!p_.parts.empty() && p_.parts.back().parse_special == parse_special)
      p_.parts.back().size += s.size();
    else
      p_.parts.push_back({s.size(), parse_special});
    return *this;
  }
  ChatPrompt p_;
};

using Render = void (*)(std::span<const ChatMessage>, bool, PromptBuilder&);

// ChatML (Salamandra/ALIA, Qwen): <|im_start|>role\ncontent<|im_end|>\n
void render_chatml(std::span<const ChatMessage> msgs, bool gen, PromptBuilder& b) {
  for (const auto& m : msgs)
    b.markup("<|im_start|>").markup(m.role).markup("\n").content(m.content).markup("<|im_end|>\n");
  if (gen) b.markup("<|im_start|>assistant\n");
}

// Llama 3: <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> (BOS comes from the tokenizer).
void render_llama3(std::span<const ChatMessage> msgs, bool gen, PromptBuilder& b) {
  for (const auto& m : msgs)
    b.markup("<|start_header_id|>")
        .markup(m.role)
        .markup("<|end_header_id|>\n\n")
        .content(m.content)
        .markup("<|eot_id|>");
  if (gen) b.markup("<|start_header_id|>assistant<|end_header_id|>\n\n");
}

// Granite 3: <|start_of_role|>role<|end_of_role|>content<|end_of_text|>\n
void render_granite(std::span<const ChatMessage> msgs, bool gen, PromptBuilder& b) {
  for (const auto& m : msgs)
    b.markup("<|start_of_role|>")
        .markup(m.role)
        .markup("<|end_of_role|>")
        .content(m.content)
        .markup("<|end_of_text|>\n");
  if (gen) b.markup("<|start_of_role|>assistant<|end_of_role|>");
}

// Phi-3: <|role|>\ncontent<|end|>\n
void render_phi3(std::span<const ChatMessage> msgs, bool gen, PromptBuilder& b) {
  for (const auto& m : msgs) b.markup("<|").markup(m.role).markup("|>\n").content(m.content).markup("<|end|>\n");
  if (gen) b.markup("<|assistant|>\n");
}

// Llama 2: [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] assistant </s><s>[INST] user [/INST]
// The first <s> is the tokenizer's BOS; a system message joins the first user turn.
void render_llama2(std::span<const ChatMessage> msgs, bool /*gen: the prompt ends open*/, PromptBuilder& b) {
  std::string_view system;
  bool first_user = true;
  for (const auto& m : msgs) {
    if (m.role == "system") {
      system = m.content;
    } else if (m.role == "user") {
      b.markup(first_user ? "[INST] " : "<s>[INST] ");
      if (!system.empty()) b.markup("<<SYS>>\n").content(system).markup("\n<</SYS>>\n\n");
      system = {};
      b.content(m.content).markup(" [/INST]");
      first_user = false;
    } else {
      b.markup(" ").content(m.content).markup(" </s>");
    }
  }
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
  return unsupported_error(
      "unknown chat template '{}{}': supported are chatml, llama3, granite, phi3, llama2 "
      "(pass one of these names to override)",
      head, t.size() > 80 ? "..." : "");
}

Result<ChatPrompt> render_chat(std::string_view template_or_name, std::span<const ChatMessage> messages,
                               bool add_generation_prompt) {
  const Format* f = find_format(template_or_name);
  if (!f) return detect_chat_template(template_or_name).error();
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].role != "system" && messages[i].role != "user" && messages[i].role != "assistant" &&
        messages[i].role != "tool")
      return invalid_argument_error("chat message {}: unknown role '{}' (system, user, assistant, tool)", i,
                                    messages[i].role.substr(0, 40));
  PromptBuilder b;
  f->render(messages, add_generation_prompt, b);
  return b.take();
}

Result<std::string> apply_chat_template(std::string_view template_or_name, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) {
  return FRAGUA_TRY(render_chat(template_or_name, messages, add_generation_prompt)).text;
}

Result<std::vector<int32_t>> encode_chat(const Tokenizer& tok, std::string_view template_or_name,
                                         std::span<const ChatMessage> messages, bool add_generation_prompt) {
  ChatPrompt p = FRAGUA_TRY(render_chat(template_or_name, messages, add_generation_prompt));
  return tok.try_encode_parts(p.text, p.parts, /*add_special=*/true);
}

}  // namespace fragua::tokenize
