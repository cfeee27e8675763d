// SPDX-License-Identifier: Apache-2.0
// Tokenizers in GGUF metadata: the `tokenizer.ggml.*` keys that llama.cpp's converters write
// (model, pre, tokens, scores, token_type, merges, special ids, add_* flags, chat_template),
// plus `fragua.tokenizer.*` strings for what GGUF has no key for (normalization, provenance).
#include <cmath>

#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "tokenize/chat_template.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

namespace {

using format::GgufFile;
using format::GgufValue;

constexpr std::string_view kInfoPrefix = "fragua.tokenizer.";
constexpr const char* kPreRegexesKey = "fragua.tokenizer.pre_regexes";  // string array
constexpr const char* kLstripKey = "fragua.tokenizer.lstrip_ids";       // i32 arrays
constexpr const char* kRstripKey = "fragua.tokenizer.rstrip_ids";

// An optional token id: absent is -1; present but outside the vocabulary is corruption.
Result<int32_t> read_id(const GgufFile& f, std::string_view key, size_t n_vocab) {
  if (!f.find(key)) return -1;
  uint64_t v = FRAGUA_TRY(f.get_uint(key));
  if (v >= n_vocab)
    return corruption_error("{}: {} = {} is outside the vocabulary of {} tokens", f.path(), key, v, n_vocab);
  return static_cast<int32_t>(v);
}

Result<bool> read_flag(const GgufFile& f, std::string_view key, bool def) {
  if (!f.find(key)) return def;
  return f.get_bool(key);
}

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const format::GgufFile& f) {
  VocabSpec s;
  std::string model = FRAGUA_TRY(f.get_string("tokenizer.ggml.model"));
  if (model == "llama") {
    s.kind = ModelKind::spm;
  } else if (model == "gpt2") {
    s.kind = ModelKind::bpe;
  } else {
    return unsupported_error("{}: tokenizer.ggml.model '{}' is not supported (llama, gpt2)", f.path(), model);
  }
  s.pre = FRAGUA_TRY(f.get_string_or("tokenizer.ggml.pre", "default"));
  s.tokens = *FRAGUA_TRY(f.get_strings("tokenizer.ggml.tokens"));
  const size_t n = s.tokens.size();
  if (n == 0) return corruption_error("{}: tokenizer.ggml.tokens is empty", f.path());
  if (const GgufValue* v = f.find("tokenizer.ggml.scores")) {
    if (v->type != format::GgufType::array) {
      return corruption_error("{}: tokenizer.ggml.scores is not an array", f.path());
    } else if (v->elem_type == format::GgufType::f32 || v->elem_type == format::GgufType::f64) {
      for (double d : v->floats) s.scores.push_back(static_cast<float>(d));
    } else {
      for (int64_t i : v->ints) s.scores.push_back(static_cast<float>(i));
    }
    if (s.scores.size() < n)
      return corruption_error("{}: tokenizer.ggml.scores has {} entries for {} tokens", f.path(), s.scores.size(), n);
    s.scores.resize(n);
  }
  if (f.find("tokenizer.ggml.token_type")) {
    const auto* types = FRAGUA_TRY(f.get_ints("tokenizer.ggml.token_type"));
    if (types->size() < n)
      return corruption_error("{}: tokenizer.ggml.token_type has {} entries for {} tokens", f.path(), types->size(), n);
    s.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      int64_t t = (*types)[i];
      s.types.push_back(t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::undefined);
    }
  }
  // A gpt2 model needs the key, as in llama.cpp; an empty list is a vocabulary without merges.
  if (f.find("tokenizer.ggml.merges"))
    s.merges = *FRAGUA_TRY(f.get_strings("tokenizer.ggml.merges"));
  else if (s.kind == ModelKind::bpe)
    return corruption_error("{}: a gpt2 (BPE) tokenizer needs tokenizer.ggml.merges", f.path());

  s.bos_id = FRAGUA_TRY(read_id(f, "tokenizer.ggml.bos_token_id", n));
  s.eos_id = FRAGUA_TRY(read_id(f, "tokenizer.ggml.eos_token_id", n));
  s.unk_id = FRAGUA_TRY(read_id(f, "tokenizer.ggml.unknown_token_id", n));
  s.pad_id = FRAGUA_TRY(read_id(f, "tokenizer.ggml.padding_token_id", n));
  s.eot_id = FRAGUA_TRY(read_id(f, "tokenizer.ggml.eot_token_id", n));
  s.eom_id = FRAGUA_TRY(read_id(f, "tokenizer.ggml.eom_token_id", n));
  const bool spm = s.kind == ModelKind::spm;
  s.add_bos = FRAGUA_TRY(read_flag(f, "tokenizer.ggml.add_bos_token", spm));
  s.add_eos = FRAGUA_TRY(read_flag(f, "tokenizer.ggml.add_eos_token", false));
  s.add_space_prefix = FRAGUA_TRY(read_flag(f, "tokenizer.ggml.add_space_prefix", spm));
  s.remove_extra_whitespaces = FRAGUA_TRY(read_flag(f, "tokenizer.ggml.remove_extra_whitespaces", false));
  if (s.add_bos && s.bos_id < 0) s.add_bos = false;  // llama.cpp refuses; a missing BOS just is not added
  if (s.add_eos && s.eos_id < 0) s.add_eos = false;
  s.ignore_merges = s.kind == ModelKind::bpe && pre_ignores_merges(s.pre);
  s.chat_template = FRAGUA_TRY(f.get_string_or("tokenizer.chat_template", ""));
  // What GGUF has no tokenizer.ggml key for, written by Fragua from a tokenizer.json.
  if (f.find(kPreRegexesKey)) s.pre_regexes = *FRAGUA_TRY(f.get_strings(kPreRegexesKey));
  for (auto [key, list] : {std::pair{kLstripKey, &s.lstrip_ids}, std::pair{kRstripKey, &s.rstrip_ids}}) {
    if (!f.find(key)) continue;
    for (int64_t id : *FRAGUA_TRY(f.get_ints(key))) {
      if (id < 0 || static_cast<uint64_t>(id) >= n)
        return corruption_error("{}: {}: token id {} is outside the vocabulary of {} tokens", f.path(), key, id, n);
      list->push_back(static_cast<int32_t>(id));
    }
  }

  for (const auto& kv : f.metadata()) {
    if (kv.key.rfind(kInfoPrefix, 0) != 0 || kv.value.type != format::GgufType::string) continue;
    std::string key = kv.key.substr(kInfoPrefix.size());
    if (key == "normalization") {
      s.normalization = FRAGUA_TRY(parse_normalization(kv.value.s));
    } else if (key == "byte_encode") {
      s.byte_encode = kv.value.s == "true";
    } else if (key == "escape_spaces") {
      s.escape_spaces = kv.value.s == "true";
    } else if (key == "ignore_merges") {
      s.ignore_merges = kv.value.s == "true";
    } else {
      s.info.emplace_back(key, kv.value.s);
    }
  }
  auto tok = from_spec(std::move(s));
  if (!tok.ok()) return tok.error().with_context(f.path());
  return tok;
}

void Tokenizer::write_gguf_metadata(format::GgufWriter& w) const {
  const VocabSpec& s = impl_->spec;
  w.set("tokenizer.ggml.model", GgufValue::of_string(s.kind == ModelKind::spm ? "llama" : "gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::of_string(s.pre));
  w.set("tokenizer.ggml.tokens", GgufValue::of_strings(s.tokens));
  if (!s.scores.empty()) w.set("tokenizer.ggml.scores", GgufValue::of_f32s(s.scores));
  std::vector<int32_t> types(s.tokens.size(), static_cast<int32_t>(TokenType::normal));
  for (size_t i = 0; i < s.types.size(); ++i) types[i] = static_cast<int32_t>(s.types[i]);
  w.set("tokenizer.ggml.token_type", GgufValue::of_i32s(types));
  if (!s.merges.empty() || s.kind == ModelKind::bpe) w.set("tokenizer.ggml.merges", GgufValue::of_strings(s.merges));
  for (auto [key, id] : {std::pair{"tokenizer.ggml.bos_token_id", s.bos_id},
                         {"tokenizer.ggml.eos_token_id", s.eos_id},
                         {"tokenizer.ggml.unknown_token_id", s.unk_id},
                         {"tokenizer.ggml.padding_token_id", s.pad_id},
                         {"tokenizer.ggml.eot_token_id", s.eot_id},
                         {"tokenizer.ggml.eom_token_id", s.eom_id}})
    if (id >= 0) w.set(key, GgufValue::of_u32(static_cast<uint32_t>(id)));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::of_bool(s.add_bos));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::of_bool(s.add_eos));
  if (s.kind == ModelKind::spm || s.escape_spaces) {
    w.set("tokenizer.ggml.add_space_prefix", GgufValue::of_bool(s.add_space_prefix));
    if (s.remove_extra_whitespaces) w.set("tokenizer.ggml.remove_extra_whitespaces", GgufValue::of_bool(true));
  }
  if (!s.chat_template.empty()) {
    // Jinja text, as llama.cpp and transformers read the key: a built-in name ("chatml") means
    // nothing to them. Text that is neither (markers only) is kept as it was given.
    auto jinja = chat_template_as_jinja(s.chat_template);
    w.set("tokenizer.chat_template", GgufValue::of_string(jinja.ok() ? *jinja : s.chat_template));
  }
  auto info = [&](std::string key, std::string value) {
    w.set(std::string(kInfoPrefix) + key, GgufValue::of_string(std::move(value)));
  };
  if (s.normalization != Normalization::none) info("normalization", std::string(normalization_name(s.normalization)));
  if (s.kind == ModelKind::bpe && !s.byte_encode) info("byte_encode", "false");
  if (s.escape_spaces) info("escape_spaces", "true");
  if (s.ignore_merges != (s.kind == ModelKind::bpe && pre_ignores_merges(s.pre)))
    info("ignore_merges", s.ignore_merges ? "true" : "false");
  if (!s.pre_regexes.empty()) w.set(kPreRegexesKey, GgufValue::of_strings(s.pre_regexes));
  if (!s.lstrip_ids.empty()) w.set(kLstripKey, GgufValue::of_i32s(s.lstrip_ids));
  if (!s.rstrip_ids.empty()) w.set(kRstripKey, GgufValue::of_i32s(s.rstrip_ids));
  for (const auto& [k, v] : s.info) info(k, v);
}

Status Tokenizer::save_gguf(const std::string& path) const {
  format::GgufWriter w;
  // llama.cpp's vocab-only convention (its models/ggml-vocab-*.gguf, convert_hf_to_gguf.py
  // --vocab-only): an architecture it knows, the hyper-parameter keys its loader requires even
  // when it reads only the vocabulary, and no tensors; so llama-tokenize reads this file. The
  // sizes are 0: there is no model. Fragua reads only the tokenizer.* keys of it.
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("general.name", GgufValue::of_string("fragua tokenizer"));
  for (const char* key : {"llama.context_length", "llama.embedding_length", "llama.block_count"})
    w.set(key, GgufValue::of_u32(0));
  w.set("llama.vocab_size", GgufValue::of_u32(static_cast<uint32_t>(n_vocab())));
  w.set("llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(1e-5f));
  write_gguf_metadata(w);
  return w.write(path);
}

Result<Tokenizer> Tokenizer::load(const std::string& path) {
  auto head = FRAGUA_TRY(MappedFile::open(path));
  std::string_view bytes = head.view();
  if (bytes.substr(0, 4) == "GGUF") {
    auto f = FRAGUA_TRY(GgufFile::open(path));
    return from_gguf(f);
  }
  size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && bytes[first] == '{') return from_hf_json_text(bytes, path);
  if (path.size() > 6 && path.substr(path.size() - 6) == ".model") return from_sentencepiece_bytes(bytes, path);
  return invalid_argument_error("{}: not a GGUF file, a tokenizer.json or a SentencePiece .model", path);
}

}  // namespace fragua::tokenize
