// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the chat-template renderer and the chat encoder (issue 12, defect 16); the
// template text may be Jinja (issue 14: fuzz/jinja_fuzz.cpp covers the interpreter itself).
// Input: byte 0 = flags (bit 0: add the generation prompt; bits 1-3: template 0-4 by name, 5-7
// the template text below), then records separated by 0x1E: the template text, then messages
// (first byte: role, rest: content). The tokenizer is fixed and knows every format's markers as
// control tokens. What must hold: the parts cover the text; the tokens decode to BOS + the text;
// and the only control tokens are BOS and those of the template's own markup.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/tokenize/tokenizer.h"
#include "tokenize/byte_unicode.h"

namespace {

using namespace fragua::tokenize;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const Tokenizer& chat_tokenizer() {
  static const Tokenizer tok = [] {
    VocabSpec s;
    s.kind = ModelKind::bpe;
    s.pre = "llama3";
    const auto& bu = ByteUnicode::get();
    for (int b = 0; b < 256; ++b) s.tokens.push_back(bu.byte_to_utf8[static_cast<size_t>(b)]);
    s.types.assign(256, TokenType::normal);
    for (const char* t : {"<s>", "</s>", "<|im_start|>", "<|im_end|>", "<|start_header_id|>", "<|end_header_id|>",
                          "<|eot_id|>", "<|start_of_role|>", "<|end_of_role|>", "<|end_of_text|>", "<|assistant|>",
                          "<|user|>", "<|system|>", "<|tool|>", "<|end|>"}) {
      s.tokens.push_back(t);
      s.types.push_back(TokenType::control);
    }
    for (const char* t : {"[INST]", "<<SYS>>"}) {  // user-defined: matched in any text but markup's own
      s.tokens.push_back(t);
      s.types.push_back(TokenType::user_defined);
    }
    s.bos_id = 256;
    s.add_bos = true;
    s.merges = {"Ġ a", "Ġ t", "h e"};
    for (const char* t : {"Ġa", "Ġt", "he"}) {
      s.tokens.push_back(t);
      s.types.push_back(TokenType::normal);
    }
    auto r = Tokenizer::from_spec(std::move(s));
    check(r.ok());
    return std::move(r).value();
  }();
  return tok;
}

size_t count_control(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  size_t n = 0;
  for (int32_t id : ids) n += tok.token_type(id) == TokenType::control;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool gen = data[0] & 1;
  const unsigned choice = (data[0] >> 1) & 7;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string_view> records;
  for (size_t at; (at = rest.find('\x1e')) != std::string_view::npos; rest.remove_prefix(at + 1))
    records.push_back(rest.substr(0, at));
  records.push_back(rest);
  static constexpr std::array<const char*, 5> kNames = {"chatml", "llama3", "granite", "phi3", "llama2"};
  static constexpr std::array<const char*, 5> kRoles = {"system", "user", "assistant", "tool", "robot"};
  const std::string tmpl = choice < kNames.size() ? kNames[choice] : std::string(records[0]);
  std::vector<ChatMessage> msgs;
  for (size_t i = 1; i < records.size(); ++i) {
    std::string_view r = records[i];
    const char* role = r.empty() ? "user" : kRoles[static_cast<uint8_t>(r[0]) % kRoles.size()];
    msgs.push_back({role, std::string(r.empty() ? r : r.substr(1))});
  }

  auto prompt = render_chat(tmpl, msgs, gen);
  auto text = apply_chat_template(tmpl, msgs, gen);
  check(prompt.ok() == text.ok());
  if (!prompt.ok()) return 0;
  check(prompt->text == *text);
  size_t total = 0;
  for (const TextPart& p : prompt->parts) total += p.size;
  check(total == prompt->text.size());

  // encode_chat gives a Jinja template the tokenizer's BOS/EOS texts and adds no BOS of its own
  // where the template wrote it first.
  const Tokenizer& tok = chat_tokenizer();
  ChatContext ctx;
  ctx.bos_token = "<s>";
  ctx.eos_token = "</s>";
  auto json_msgs = nlohmann::ordered_json::array();
  for (const auto& m : msgs) json_msgs.push_back({{"role", m.role}, {"content", m.content}});
  auto full = render_chat_json(tmpl, json_msgs, gen, ctx);
  if (!full.ok()) return 0;  // a template may fail on the tokens (raise_exception)
  auto ids = encode_chat(tok, tmpl, msgs, gen);
  if (!ids.ok()) return 0;  // a pre-tokenizer regex over its budget
  const std::string decoded = tok.decode(*ids, /*render_special=*/true);
  const bool added_bos = decoded.size() == full->text.size() + 3;
  check(decoded == (added_bos ? "<s>" : "") + full->text);
  size_t markup_controls = added_bos ? 1 : 0;
  size_t at = 0;
  for (const TextPart& p : full->parts) {
    if (p.parse_special) {
      auto part = tok.try_encode(std::string_view(full->text).substr(at, p.size), false, true);
      if (!part.ok()) return 0;
      markup_controls += count_control(tok, *part);
    }
    at += p.size;
  }
  check(count_control(tok, *ids) == markup_controls);
  return 0;
}
