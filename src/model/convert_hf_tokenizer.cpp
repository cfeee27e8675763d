// SPDX-License-Identifier: Apache-2.0
// The tokenizer half of `fragua convert`: the tokenizer file that tokenize/ loads, then what
// transformers keeps in tokenizer_config.json (special tokens, add_bos/add_eos, added tokens,
// the chat template), as llama.cpp's gguf.SpecialVocab reads it.
#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "fragua/base/json.h"
#include "fragua/base/utf8.h"
#include "fragua/model/convert.h"

namespace fragua::model {

using nlohmann::json;
using tokenize::TokenType;
using tokenize::VocabSpec;

namespace {

// A special token is written as "<s>" or as an AddedToken object {"content": "<s>", ...}.
Result<std::string> token_content(const json& v, std::string_view where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return corruption_error("{} is {}, not a token string or {{\"content\": ...}}", where, json_preview(v));
}

Status apply_added_tokens(const json& added, VocabSpec& s, std::string_view origin) {
  if (!added.is_object())
    return corruption_error("{}: \"added_tokens_decoder\" is {}, not an object", origin, json_preview(added));
  // Ids in numeric order: tokens past the base vocabulary are appended, so they must follow on.
  std::map<int64_t, const json*> by_id;
  for (auto it = added.begin(); it != added.end(); ++it) {
    const std::string& key = it.key();
    char* end = nullptr;
    const long long id = std::strtoll(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || id < 0 || id > (int64_t{1} << 24))
      return corruption_error("{}: added_tokens_decoder key \"{}\" is not a token id", origin, terminal_safe(key));
    by_id[id] = &it.value();
  }
  for (const auto& [id, v] : by_id) {
    const std::string where = fmt::format("{}: added_tokens_decoder[\"{}\"]", origin, id);
    const std::string content = FRAGUA_TRY(token_content(*v, where));
    const bool special = v->is_object() && v->value("special", false);
    const auto n = static_cast<int64_t>(s.tokens.size());
    if (id < n) {
      if (s.tokens[static_cast<size_t>(id)] != content)
        return corruption_error("{} is \"{}\" but the tokenizer file has \"{}\" there", where, terminal_safe(content),
                                terminal_safe(s.tokens[static_cast<size_t>(id)]));
      if (special && !s.types.empty() && s.types[static_cast<size_t>(id)] == TokenType::normal)
        s.types[static_cast<size_t>(id)] = TokenType::control;
      continue;
    }
    if (id != n) return corruption_error("{}: id {} leaves a gap after the {} tokens before it", where, id, n);
    if (s.types.empty()) s.types.assign(s.tokens.size(), TokenType::normal);
    s.tokens.push_back(content);
    if (!s.scores.empty()) s.scores.push_back(0.0f);
    s.types.push_back(special ? TokenType::control : TokenType::user_defined);
  }
  return {};
}

Result<std::string> chat_template(const json& cfg, std::string_view origin) {
  auto it = cfg.find("chat_template");
  if (it == cfg.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  // A list of named templates ({"name": "default", "template": ...}, {"name": "tool_use", ...}):
  // the "default" one is the chat format.
  if (it->is_array()) {
    for (const auto& t : *it)
      if (t.is_object() && t.value("name", json()) == "default" && t.contains("template") && t["template"].is_string())
        return t["template"].get<std::string>();
    return corruption_error("{}: \"chat_template\" is a list without a \"default\" template", origin);
  }
  return corruption_error("{}: \"chat_template\" is {}, not a string or a list", origin, json_preview(*it));
}

Status apply_tokenizer_config(const json& cfg, VocabSpec& s, std::string_view origin) {
  if (!cfg.is_object()) return corruption_error("{}: the top level is not a JSON object", origin);
  if (auto it = cfg.find("added_tokens_decoder"); it != cfg.end()) FRAGUA_TRY(apply_added_tokens(*it, s, origin));
  std::unordered_map<std::string_view, int32_t> ids;
  for (size_t i = s.tokens.size(); i-- > 0;) ids[s.tokens[i]] = static_cast<int32_t>(i);  // first id wins
  struct Special {
    const char* key;
    int32_t VocabSpec::*id;
  };
  for (const Special& sp : {Special{"bos_token", &VocabSpec::bos_id}, Special{"eos_token", &VocabSpec::eos_id},
                            Special{"unk_token", &VocabSpec::unk_id}, Special{"pad_token", &VocabSpec::pad_id}}) {
    auto it = cfg.find(sp.key);
    if (it == cfg.end() || it->is_null()) continue;
    const std::string where = fmt::format("{}: \"{}\"", origin, sp.key);
    const std::string content = FRAGUA_TRY(token_content(*it, where));
    auto found = ids.find(content);
    if (found == ids.end()) return corruption_error("{} '{}' is not in the vocabulary", where, terminal_safe(content));
    s.*sp.id = found->second;
  }
  for (auto [key, flag] :
       {std::pair{"add_bos_token", &VocabSpec::add_bos}, std::pair{"add_eos_token", &VocabSpec::add_eos}}) {
    auto it = cfg.find(key);
    if (it == cfg.end() || it->is_null()) continue;
    if (!it->is_boolean()) return corruption_error("{}: \"{}\" is {}, not true/false", origin, key, json_preview(*it));
    s.*flag = it->get<bool>();
  }
  if (s.add_bos && s.bos_id < 0)
    return corruption_error("{}: \"add_bos_token\" is true but there is no bos_token", origin);
  if (s.add_eos && s.eos_id < 0)
    return corruption_error("{}: \"add_eos_token\" is true but there is no eos_token", origin);
  s.chat_template = FRAGUA_TRY(chat_template(cfg, origin));
  return {};
}

// A SentencePiece BPE vocabulary saved as tokenizer.json (transformers' LlamaTokenizerFast: pieces
// of raw UTF-8 with U+2581 for spaces, byte fallback, merges) loads in tokenize/ as a BPE over
// escaped spaces. Written that way it is tokenizer.ggml.model "gpt2", which llama.cpp splits as
// GPT-2 byte-level text (it ignores the fragua.tokenizer.* keys that say otherwise): other tokens
// (bench/convert_llama_cpp.py). It is written instead as a SentencePiece ("llama") vocabulary whose
// score ranks each piece by the first merge that makes it, -(rank + 1): merging the adjacent pair
// whose piece scores highest (llama.cpp's llm_tokenizer_spm, SentencePiece's BPE) is then merging
// by lowest merge rank, as the BPE does. A multi-character piece that no merge makes scores below
// every merge (SentencePiece would still form it last; BPE never does). llama.cpp's own
// LlamaHfVocab gives every piece -1000, which leaves the merge order to chance.
bool is_sentencepiece_bpe(const VocabSpec& s) {
  if (s.kind != tokenize::ModelKind::bpe || s.byte_encode || !s.escape_spaces || !s.pre_regexes.empty()) return false;
  return std::find(s.tokens.begin(), s.tokens.end(), "<0x00>") != s.tokens.end();
}

void to_sentencepiece_scores(VocabSpec& s) {
  std::unordered_map<std::string_view, size_t> id;
  for (size_t i = 0; i < s.tokens.size(); ++i) id.emplace(s.tokens[i], i);
  std::vector<float> scores(s.tokens.size(), 0.0f);
  std::vector<bool> made(s.tokens.size(), false);
  for (size_t r = 0; r < s.merges.size(); ++r) {
    const std::string& m = s.merges[r];
    const size_t space = m.find(' ');
    if (space == std::string::npos) continue;
    auto it = id.find(m.substr(0, space) + m.substr(space + 1));
    if (it == id.end() || made[it->second]) continue;
    made[it->second] = true;
    scores[it->second] = -static_cast<float>(r + 1);
  }
  const auto n_merges = static_cast<float>(s.merges.size());
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    const bool normal = s.types.empty() || s.types[i] == TokenType::normal;
    const std::string& t = s.tokens[i];
    if (!made[i] && normal && !t.empty() && utf8::sequence_length(t) < t.size())
      scores[i] = -(n_merges + 1 + static_cast<float>(i));
  }
  s.kind = tokenize::ModelKind::spm;
  s.scores = std::move(scores);
  s.merges.clear();
  s.escape_spaces = false;
}

}  // namespace

Result<tokenize::Tokenizer> load_hf_tokenizer(const std::string& dir, HfTokenizerSource source, int64_t n_vocab,
                                              Env& env) {
  const std::string spm_path = dir + "/tokenizer.model", json_path = dir + "/tokenizer.json";
  bool use_spm = source == HfTokenizerSource::sentencepiece;
  if (source == HfTokenizerSource::automatic) {
    use_spm = env.file_exists(spm_path);
    if (!use_spm && !env.file_exists(json_path))
      return not_found_error("{}: neither tokenizer.model nor tokenizer.json is there", dir);
  }
  const std::string path = use_spm ? spm_path : json_path;
  const std::string bytes = FRAGUA_TRY(env.read_file(path));
  auto base = use_spm ? tokenize::Tokenizer::from_sentencepiece_bytes(bytes, path)
                      : tokenize::Tokenizer::from_hf_json_text(bytes, path);
  if (!base.ok()) return base.error();
  VocabSpec s = base->spec();
  if (!use_spm && is_sentencepiece_bpe(s)) to_sentencepiece_scores(s);
  // SentencePiece files carry no add_bos flag; transformers' LlamaTokenizer (and llama.cpp for
  // SPM vocabularies) adds BOS unless tokenizer_config.json says otherwise.
  if (use_spm && s.bos_id >= 0) s.add_bos = true;

  const std::string cfg_path = dir + "/tokenizer_config.json";
  if (env.file_exists(cfg_path)) {
    const std::string text = FRAGUA_TRY(env.read_file(cfg_path));
    const json cfg = FRAGUA_TRY(parse_json(text, cfg_path));
    FRAGUA_TRY(apply_tokenizer_config(cfg, s, cfg_path));
  }
  // transformers >= 4.47 may keep the template in its own file.
  if (s.chat_template.empty() && env.file_exists(dir + "/chat_template.jinja"))
    s.chat_template = FRAGUA_TRY(env.read_file(dir + "/chat_template.jinja"));

  const auto n = static_cast<int64_t>(s.tokens.size());
  if (n > n_vocab) return corruption_error("{}: {} tokens, more than config.json's vocab_size {}", path, n, n_vocab);
  // The embedding has rows past the tokenizer (vocabularies rounded up to a multiple of 64):
  // llama.cpp's converter names them [PAD<id>] with type unused.
  if (n < n_vocab) {
    if (s.types.empty()) s.types.assign(s.tokens.size(), TokenType::normal);
    for (int64_t i = n; i < n_vocab; ++i) {
      s.tokens.push_back(fmt::format("[PAD{}]", i));
      if (!s.scores.empty()) s.scores.push_back(0.0f);
      s.types.push_back(TokenType::unused);
    }
  }
  s.info.emplace_back("converted_from", use_spm ? "tokenizer.model" : "tokenizer.json");
  auto tok = tokenize::Tokenizer::from_spec(std::move(s));
  if (!tok.ok()) return tok.error().with_context(path);
  return tok;
}

}  // namespace fragua::model
