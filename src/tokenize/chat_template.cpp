// SPDX-License-Identifier: Apache-2.0
// Chat templates. A Jinja template (what models ship) is rendered by the interpreter in jinja/,
// which keeps apart the bytes the template's literals wrote (markup, where control tokens are
// meant) and those that came from the messages (never control tokens). The built-in formats
// below stay for tokenizers without a template and for `--template NAME`; text without Jinja
// tags is recognised by the special markers it writes (as llama.cpp's
// llm_chat_detect_template does). Anything else is an error: a wrong prompt format silently
// degrades a model, so it must never be guessed.
#include <array>

#include "fragua/tokenize/tokenizer.h"
#include "tokenize/chat_template.h"
#include "tokenize/jinja/jinja.h"

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

// The same formats as Jinja, for files other tools read (chat_template_as_jinja). Rendered with
// trim_blocks, so a newline after a block tag is written as {{ '\n' }}; a role is written by the
// template's literals where the built-in writes it as markup (phi3: <|user|> is one control token).
constexpr const char* kChatmlJinja =
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
constexpr const char* kLlama3Jinja =
    "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}";
constexpr const char* kGraniteJinja =
    "{% for message in messages %}<|start_of_role|>{{ message['role'] }}<|end_of_role|>{{ message['content'] }}"
    "<|end_of_text|>\n{% endfor %}{% if add_generation_prompt %}<|start_of_role|>assistant<|end_of_role|>{% endif %}";
constexpr const char* kPhi3Jinja =
    "{% for message in messages %}{% if message['role'] == 'system' %}<|system|>"
    "{% elif message['role'] == 'user' %}<|user|>{% elif message['role'] == 'assistant' %}<|assistant|>"
    "{% elif message['role'] == 'tool' %}<|tool|>{% else %}{{ raise_exception('unknown role ' + message['role']) }}"
    "{% endif %}{{ '\\n' }}{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
constexpr const char* kLlama2Jinja =
    "{% set ns = namespace(system='', first=true) %}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{% set ns.system = message['content'] %}"
    "{% elif message['role'] == 'user' %}{% if ns.first %}[INST] {% else %}<s>[INST] {% endif %}"
    "{% if ns.system %}<<SYS>>{{ '\\n' }}{{ ns.system }}{{ '\\n' }}<</SYS>>{{ '\\n\\n' }}{% set ns.system = '' %}{% endif %}"
    "{{ message['content'] }} [/INST]{% set ns.first = false %}"
    "{% else %} {{ message['content'] }} </s>{% endif %}{% endfor %}";

struct Format {
  const char* name;
  std::array<const char*, 2> markers;  // all must occur in the template
  Render render;
  const char* jinja;
};

constexpr std::array<Format, 5> kFormats = {{
    {"chatml", {"<|im_start|>", nullptr}, render_chatml, kChatmlJinja},
    {"llama3", {"<|start_header_id|>", "<|end_header_id|>"}, render_llama3, kLlama3Jinja},
    {"granite", {"<|start_of_role|>", "<|end_of_role|>"}, render_granite, kGraniteJinja},
    {"phi3", {"<|assistant|>", "<|end|>"}, render_phi3, kPhi3Jinja},
    {"llama2", {"[INST]", nullptr}, render_llama2, kLlama2Jinja},
}};

const Format* find_format_by_name(std::string_view t) {
  for (const auto& f : kFormats)
    if (t == f.name) return &f;
  return nullptr;
}

const Format* find_format(std::string_view t) {
  if (const Format* f = find_format_by_name(t)) return f;
  for (const auto& f : kFormats) {
    bool all = true;
    for (const char* m : f.markers)
      if (m && t.find(m) == std::string_view::npos) all = false;
    if (all) return &f;
  }
  return nullptr;
}

bool is_jinja(std::string_view t) { return !find_format_by_name(t) && jinja::looks_like_jinja(t); }

Result<std::string> unknown_template(std::string_view t) {
  std::string head(t.substr(0, 80));
  for (char& c : head)
    if (c == '\n') c = ' ';
  return unsupported_error(
      "unknown chat template '{}{}': supported are Jinja templates and the names chatml, llama3, granite, phi3, "
      "llama2",
      head, t.size() > 80 ? "..." : "");
}

nlohmann::ordered_json messages_json(std::span<const ChatMessage> messages) {
  auto j = nlohmann::ordered_json::array();
  for (const auto& m : messages) j.push_back({{"role", m.role}, {"content", m.content}});
  return j;
}

Result<ChatPrompt> render_jinja(std::string_view text, const nlohmann::ordered_json& messages, bool gen,
                                const ChatContext& ctx) {
  auto tmpl = FRAGUA_TRY(jinja::Template::parse(text));
  nlohmann::ordered_json markup = {
      {"bos_token", ctx.bos_token}, {"eos_token", ctx.eos_token}, {"add_generation_prompt", gen}};
  nlohmann::ordered_json data = nlohmann::ordered_json::object();
  if (ctx.variables.is_object())
    for (const auto& [k, v] : ctx.variables.items()) data[k] = v;
  data["messages"] = messages;
  data["tools"] = ctx.tools;  // none without tools, as transformers passes tools=None
  if (!data.contains("documents")) data["documents"] = nullptr;
  return tmpl.render(markup, data);
}

Result<ChatPrompt> render_builtin(const Format& f, std::span<const ChatMessage> messages, bool gen) {
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].role != "system" && messages[i].role != "user" && messages[i].role != "assistant" &&
        messages[i].role != "tool")
      return invalid_argument_error("chat message {}: unknown role '{}' (system, user, assistant, tool)", i,
                                    messages[i].role.substr(0, 40));
  PromptBuilder b;
  f.render(messages, gen, b);
  return b.take();
}

Result<std::vector<int32_t>> encode_prompt(const Tokenizer& tok, const ChatPrompt& p, bool jinja,
                                           const std::string& bos) {
  // A Jinja template that writes bos_token itself gets no second BOS from the tokenizer.
  const bool template_bos = jinja && !bos.empty() && p.text.starts_with(bos) && !p.parts.empty() &&
                            p.parts[0].parse_special && p.parts[0].size >= bos.size();
  return tok.try_encode_parts(p.text, p.parts, /*add_special=*/!template_bos);
}

ChatContext with_tokens(const Tokenizer& tok, ChatContext ctx) {
  if (ctx.bos_token.empty() && tok.bos_id() >= 0) ctx.bos_token = tok.token_text(tok.bos_id());
  if (ctx.eos_token.empty() && tok.eos_id() >= 0) ctx.eos_token = tok.token_text(tok.eos_id());
  return ctx;
}

}  // namespace

// A Jinja template must parse, and must write what it is given: one user message rendered with
// it has to appear in the output. A template that raises on this probe (one that demands a
// system message, say) is accepted; one that renders without the message (`{{ weird }}`) is not,
// since it would silently drop the conversation.
Result<std::string> detect_chat_template(std::string_view t) {
  if (is_jinja(t)) {
    FRAGUA_TRY(jinja::Template::parse(t));
    const std::string probe_text = "Fragua probe 7f3a";
    const auto msgs = nlohmann::ordered_json::array({{{"role", "user"}, {"content", probe_text}}});
    auto probe = render_jinja(t, msgs, true, {});
    if (probe.ok() && probe->text.find(probe_text) == std::string::npos)
      return invalid_argument_error(
          "chat template does not write the messages: a user message rendered with it is missing from its output");
    return std::string("jinja");
  }
  if (const Format* f = find_format(t)) return std::string(f->name);
  return unknown_template(t);
}

Result<std::string> chat_template_as_jinja(std::string_view t) {
  if (is_jinja(t)) return std::string(t);
  if (const Format* f = find_format_by_name(t)) return std::string(f->jinja);
  if (const Format* f = find_format(t))
    return invalid_argument_error("chat template: text with the markers of '{}' but no Jinja tags is no template "
                                  "other tools can render; give the name '{}' or Jinja text",
                                  f->name, f->name);
  return unknown_template(t).error();
}

Result<std::string> read_chat_template_file(const std::string& path, Env& env) {
  std::string text = FRAGUA_TRY(read_file(path, env));
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{' && !jinja::looks_like_jinja(text.substr(first, 2))) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("chat_template"))
      return invalid_argument_error("{}: neither Jinja text nor a JSON object with \"chat_template\"", path);
    const auto& t = j["chat_template"];
    text.clear();
    if (t.is_string()) text = t.get<std::string>();
    if (t.is_array())
      for (const auto& e : t)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
          text = e["template"].get<std::string>();
    if (text.empty())
      return invalid_argument_error("{}: \"chat_template\" is neither a string nor a list with a \"default\" template",
                                    path);
  }
  auto d = detect_chat_template(text);
  if (!d.ok()) return std::move(d).error().with_context(path);
  return text;
}

Result<ChatPrompt> render_chat(std::string_view template_or_name, std::span<const ChatMessage> messages,
                               bool add_generation_prompt) {
  if (is_jinja(template_or_name))
    return render_jinja(template_or_name, messages_json(messages), add_generation_prompt, {});
  const Format* f = find_format(template_or_name);
  if (!f) return unknown_template(template_or_name).error();
  return render_builtin(*f, messages, add_generation_prompt);
}

Result<ChatPrompt> render_chat_json(std::string_view template_or_name, const nlohmann::ordered_json& messages,
                                    bool add_generation_prompt, const ChatContext& context) {
  if (!messages.is_array()) return invalid_argument_error("chat messages: expected a JSON array");
  if (is_jinja(template_or_name)) return render_jinja(template_or_name, messages, add_generation_prompt, context);
  const Format* f = find_format(template_or_name);
  if (!f) return unknown_template(template_or_name).error();
  std::vector<ChatMessage> plain;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string())
      return invalid_argument_error(
          "chat message {}: the built-in format '{}' takes a string role and content (use a Jinja template for "
          "content parts or tool calls)",
          i, f->name);
    plain.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  return render_builtin(*f, plain, add_generation_prompt);
}

Result<std::string> apply_chat_template(std::string_view template_or_name, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) {
  return FRAGUA_TRY(render_chat(template_or_name, messages, add_generation_prompt)).text;
}

Result<std::vector<int32_t>> encode_chat(const Tokenizer& tok, std::string_view template_or_name,
                                         std::span<const ChatMessage> messages, bool add_generation_prompt) {
  return encode_chat_json(tok, template_or_name, messages_json(messages), add_generation_prompt, {});
}

Result<std::vector<int32_t>> encode_chat_json(const Tokenizer& tok, std::string_view template_or_name,
                                              const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                              ChatContext context) {
  context = with_tokens(tok, std::move(context));
  ChatPrompt p = FRAGUA_TRY(render_chat_json(template_or_name, messages, add_generation_prompt, context));
  return encode_prompt(tok, p, is_jinja(template_or_name), context.bos_token);
}

}  // namespace fragua::tokenize
