// Hugging Face tokenizers' tokenizer.json (the `tokenizers` library's serialization): a BPE
// model (vocab, merges, byte_fallback, ignore_merges), added tokens, a normalizer and a
// pre-tokenizer. Two shapes are understood:
//  - byte-level: a ByteLevel pre-tokenizer (GPT-2, Llama 3, Granite), with Split regexes;
//  - SentencePiece-style: spaces replaced by U+2581 (a Replace normalizer or a Metaspace
//    pre-tokenizer) and byte fallback `<0xNN>` (Llama 2, Salamandra).
// Anything else is reported as unsupported, naming the JSON path.
#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "fragua/base/json.h"
#include "fragua/base/file.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

namespace {

using nlohmann::json;

struct HfShape {
  bool byte_level = false, metaspace = false, prepend = false, replace_space = false;
  std::vector<std::string> regexes;
  Normalization norm = Normalization::none;
};

Status read_normalizer(const json& n, std::string_view origin, HfShape& sh) {
  if (n.is_null()) return {};
  std::string type = n.value("type", "");
  if (type == "Sequence") {
    for (const auto& c : n.value("normalizers", json::array())) FRAGUA_TRY(read_normalizer(c, origin, sh));
  } else if (type == "Prepend") {
    sh.prepend = true;
  } else if (type == "Replace") {
    const json& pat = n.value("pattern", json::object());
    if (pat.value("String", "") == " " && n.value("content", "") == std::string(kSpaceMarker)) sh.replace_space = true;
    else return unsupported_error("{}: normalizer Replace other than ' ' -> '▁' is not supported", origin);
  } else if (type == "NFC") {
    sh.norm = Normalization::nfc;
  } else if (type == "NFKC") {
    sh.norm = Normalization::nfkc;
  } else {
    return unsupported_error("{}: normalizer type '{}' is not supported", origin, type);
  }
  return {};
}

Status read_pre_tokenizer(const json& p, std::string_view origin, HfShape& sh) {
  if (p.is_null()) return {};
  std::string type = p.value("type", "");
  if (type == "Sequence") {
    for (const auto& c : p.value("pretokenizers", json::array())) FRAGUA_TRY(read_pre_tokenizer(c, origin, sh));
  } else if (type == "Split") {
    const json& pat = p.value("pattern", json::object());
    if (pat.contains("Regex")) sh.regexes.push_back(pat["Regex"].get<std::string>());
    else return unsupported_error("{}: pre_tokenizer Split without a Regex pattern is not supported", origin);
  } else if (type == "ByteLevel") {
    sh.byte_level = true;
    if (p.value("use_regex", true)) sh.regexes.push_back(FRAGUA_TRY(pre_tokenizer_regexes("gpt-2"))[0]);
  } else if (type == "Digits") {
    sh.regexes.push_back(p.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
  } else if (type == "Metaspace") {
    sh.metaspace = true;
    sh.prepend = p.value("prepend_scheme", "always") != "never" && p.value("add_prefix_space", true);
  } else {
    return unsupported_error("{}: pre_tokenizer type '{}' is not supported", origin, type);
  }
  return {};
}


bool is_bos_name(std::string_view t) { return t == "<s>" || t == "<|begin_of_text|>" || t == "<|startoftext|>" || t == "<bos>"; }
bool is_eos_name(std::string_view t) {
  return t == "</s>" || t == "<|end_of_text|>" || t == "<|endoftext|>" || t == "<eos>";
}

Result<Tokenizer> parse_hf(const json& j, std::string_view origin) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    return corruption_error("{}: not a tokenizer.json (no \"model\" object)", origin);
  const json& model = j["model"];
  std::string type = model.value("type", "BPE");
  if (type != "BPE") return unsupported_error("{}: model.type '{}' is not supported (BPE)", origin, type);
  const json& vocab = model.value("vocab", json::object());
  if (!vocab.is_object() || vocab.empty()) return corruption_error("{}: model.vocab is missing or empty", origin);

  VocabSpec s;
  s.kind = ModelKind::bpe;
  auto put = [&](const std::string& text, int64_t id, TokenType ty) -> Status {
    if (id < 0 || id >= (1 << 22)) return corruption_error("{}: token '{}' has id {} out of range", origin, text, id);
    auto i = static_cast<size_t>(id);
    if (i >= s.tokens.size()) {
      s.tokens.resize(i + 1);
      s.types.resize(i + 1, TokenType::undefined);
    }
    s.tokens[i] = text;
    s.types[i] = ty;
    return {};
  };
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    FRAGUA_TRY(put(it.key(), FRAGUA_TRY(json_integer(it.value(), fmt::format("{}: id of '{}'", origin, it.key()))),
                   TokenType::normal));
  for (const auto& a : j.value("added_tokens", json::array())) {
    int64_t id = FRAGUA_TRY(json_integer(a.at("id"), fmt::format("{}: added token id", origin)));
    std::string content = a.at("content").get<std::string>();
    FRAGUA_TRY(put(content, id, a.value("special", false) ? TokenType::control : TokenType::user_defined));
    if (a.value("lstrip", false)) s.lstrip_ids.push_back(static_cast<int32_t>(id));
    if (a.value("rstrip", false)) s.rstrip_ids.push_back(static_cast<int32_t>(id));
  }
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.tokens[i].empty()) return corruption_error("{}: no token has id {} (ids must be contiguous)", origin, i);

  for (const auto& m : model.value("merges", json::array())) {
    if (m.is_string()) s.merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2) s.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    else return corruption_error("{}: model.merges entry {} is neither \"a b\" nor [a, b]", origin, m.dump());
  }
  s.ignore_merges = model.value("ignore_merges", false);
  const bool byte_fallback = model.value("byte_fallback", false);
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    for (size_t i = 0; i < s.tokens.size(); ++i)
      if (s.tokens[i] == model["unk_token"].get<std::string>()) s.unk_id = static_cast<int32_t>(i);
  }

  HfShape sh;
  FRAGUA_TRY(read_normalizer(j.value("normalizer", json()), origin, sh));
  FRAGUA_TRY(read_pre_tokenizer(j.value("pre_tokenizer", json()), origin, sh));
  const json& dec = j.value("decoder", json());
  if (!dec.is_null() && dec.value("type", "") == "ByteLevel") sh.byte_level = true;
  s.normalization = sh.norm;
  if (sh.byte_level) {
    s.byte_encode = true;
    s.pre_regexes = sh.regexes;
    s.add_space_prefix = false;
  } else if (sh.replace_space || sh.metaspace) {
    s.byte_encode = false;
    s.escape_spaces = true;
    s.add_space_prefix = sh.prepend;
    s.pre_regexes = sh.regexes;
  } else {
    return unsupported_error("{}: neither a ByteLevel nor a SentencePiece-style (▁) tokenizer.json", origin);
  }
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    if (byte_fallback && s.types[i] == TokenType::normal && parse_byte_token(s.tokens[i]) >= 0) s.types[i] = TokenType::byte;
    if (s.unk_id < 0 && s.tokens[i] == "<unk>") s.unk_id = static_cast<int32_t>(i);
    if (s.types[i] == TokenType::control && s.bos_id < 0 && is_bos_name(s.tokens[i])) s.bos_id = static_cast<int32_t>(i);
    if (s.types[i] == TokenType::control && s.eos_id < 0 && is_eos_name(s.tokens[i])) s.eos_id = static_cast<int32_t>(i);
  }
  // A TemplateProcessing post-processor that starts with a special token adds it as BOS.
  const json& post = j.value("post_processor", json());
  if (!post.is_null() && post.value("type", "") == "TemplateProcessing") {
    const json& single = post.value("single", json::array());
    if (!single.empty() && single[0].contains("SpecialToken")) {
      std::string name = single[0]["SpecialToken"].value("id", "");
      for (size_t i = 0; i < s.tokens.size(); ++i)
        if (s.tokens[i] == name) s.bos_id = static_cast<int32_t>(i), s.add_bos = true;
    }
  }
  // Our own files carry the SentencePiece scores, so they load back as the spm model they were.
  const json& fr = j.value("fragua", json());
  if (fr.is_object()) {
    for (auto it = fr.begin(); it != fr.end(); ++it)
      if (it.value().is_string() && it.key() != "kind") s.info.emplace_back(it.key(), it.value().get<std::string>());
    if (fr.value("kind", "") == "spm" && fr.contains("scores")) {
      s.kind = ModelKind::spm;
      s.scores.clear();
      for (const auto& v : fr["scores"]) s.scores.push_back(FRAGUA_TRY(json_float(v, fmt::format("{}: score", origin))));
      s.merges.clear();
      s.escape_spaces = false;
      s.remove_extra_whitespaces = fr.value("remove_extra_whitespaces", false);
    }
    if (fr.contains("bos_id")) s.bos_id = static_cast<int32_t>(FRAGUA_TRY(json_integer(fr["bos_id"], fmt::format("{}: bos_id", origin), -1, INT32_MAX)));
    if (fr.contains("eos_id")) s.eos_id = static_cast<int32_t>(FRAGUA_TRY(json_integer(fr["eos_id"], fmt::format("{}: eos_id", origin), -1, INT32_MAX)));
    if (fr.contains("add_bos")) s.add_bos = fr["add_bos"].get<bool>();
    if (fr.contains("pre")) s.pre = fr["pre"].get<std::string>();
    if (fr.contains("chat_template")) s.chat_template = fr["chat_template"].get<std::string>();
  }
  if (s.bos_id < 0) s.add_bos = false;
  return Tokenizer::from_spec(std::move(s));
}

}  // namespace

Result<Tokenizer> Tokenizer::from_hf_json_text(std::string_view text, std::string_view origin) {
  json j = FRAGUA_TRY(parse_json(text, origin));
  try {
    auto r = parse_hf(j, origin);
    if (!r.ok()) return r.error().with_context(origin);
    return r;
  } catch (const json::exception& e) {
    return corruption_error("{}: unexpected tokenizer.json content: {}", origin, e.what());
  }
}

Result<Tokenizer> Tokenizer::from_hf_json(const std::string& path) {
  auto text = FRAGUA_TRY(read_file(path));
  return from_hf_json_text(text, path);
}

namespace {

// Merges that make merge-ranked BPE reproduce score-ordered SentencePiece merging: every split
// of a piece into two pieces, ranked by the score of the piece (higher first).
std::vector<std::string> merges_from_scores(const VocabSpec& s, const PieceTable& pieces) {
  std::vector<std::pair<size_t, std::string>> found;  // (piece id, "a b")
  for (size_t id = 0; id < s.tokens.size(); ++id) {
    if (!s.types.empty() && s.types[id] != TokenType::normal) continue;
    const std::string& t = s.tokens[id];
    for (size_t cut = 1; cut < t.size(); ++cut) {
      if ((static_cast<uint8_t>(t[cut]) & 0xC0) == 0x80) continue;  // inside a character
      int32_t a = pieces.find(std::string_view(t).substr(0, cut)), b = pieces.find(std::string_view(t).substr(cut));
      if (a >= 0 && b >= 0) found.emplace_back(id, t.substr(0, cut) + " " + t.substr(cut));
    }
  }
  std::stable_sort(found.begin(), found.end(), [&](const auto& x, const auto& y) {
    return s.scores[x.first] > s.scores[y.first] || (s.scores[x.first] == s.scores[y.first] && x.first < y.first);
  });
  std::vector<std::string> merges;
  merges.reserve(found.size());
  for (auto& f : found) merges.push_back(std::move(f.second));
  return merges;
}

}  // namespace

std::string Tokenizer::to_hf_json() const {
  const VocabSpec& s = impl_->spec;
  json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  json added = json::array();
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    TokenType t = impl_->type(static_cast<int32_t>(i));
    if (t != TokenType::control && t != TokenType::user_defined && t != TokenType::unknown) continue;
    added.push_back({{"id", i}, {"content", s.tokens[i]}, {"single_word", false},
                     {"lstrip", impl_->lstrip[i] != 0}, {"rstrip", impl_->rstrip[i] != 0},
                     {"normalized", false}, {"special", t != TokenType::user_defined}});
  }
  j["added_tokens"] = added;
  const bool byte_level = s.kind == ModelKind::bpe && s.byte_encode;
  json norms = json::array();
  if (s.normalization == Normalization::nfc) norms.push_back({{"type", "NFC"}});
  if (s.normalization == Normalization::nfkc) norms.push_back({{"type", "NFKC"}});
  if (!byte_level) {
    if (s.add_space_prefix) norms.push_back({{"type", "Prepend"}, {"prepend", std::string(kSpaceMarker)}});
    norms.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", std::string(kSpaceMarker)}});
  }
  j["normalizer"] = norms.empty() ? json() : json{{"type", "Sequence"}, {"normalizers", norms}};
  std::vector<std::string> regexes = s.pre_regexes;
  if (regexes.empty() && byte_level) regexes = pre_tokenizer_regexes(s.pre).ok() ? *pre_tokenizer_regexes(s.pre) : regexes;
  json pres = json::array();
  for (const auto& re : regexes)
    pres.push_back({{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}});
  if (byte_level) pres.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  j["pre_tokenizer"] = pres.empty() ? json() : json{{"type", "Sequence"}, {"pretokenizers", pres}};
  if (s.add_bos && s.bos_id >= 0) {
    const std::string& bos = s.tokens[static_cast<size_t>(s.bos_id)];
    j["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                           {"pair", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
                           {"special_tokens", {{bos, {{"id", bos}, {"ids", {s.bos_id}}, {"tokens", {bos}}}}}}};
  } else {
    j["post_processor"] = nullptr;
  }
  if (byte_level) {
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  } else {
    json decs = json::array({{{"type", "Replace"}, {"pattern", {{"String", std::string(kSpaceMarker)}}}, {"content", " "}},
                             {{"type", "ByteFallback"}}, {{"type", "Fuse"}}});
    if (s.add_space_prefix) decs.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    j["decoder"] = {{"type", "Sequence"}, {"decoders", decs}};
  }
  json vocab = json::object();
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (!vocab.contains(s.tokens[i])) vocab[s.tokens[i]] = i;
  json model = {{"type", "BPE"}, {"dropout", nullptr}, {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr}, {"fuse_unk", !byte_level}, {"byte_fallback", !byte_level},
                {"ignore_merges", s.ignore_merges}, {"vocab", vocab}};
  model["unk_token"] = s.unk_id >= 0 ? json(s.tokens[static_cast<size_t>(s.unk_id)]) : json();
  model["merges"] = s.kind == ModelKind::spm ? merges_from_scores(s, impl_->pieces) : s.merges;
  j["model"] = model;
  json fr = json::object();
  for (const auto& [k, v] : s.info) fr[k] = v;
  fr["pre"] = s.pre;
  fr["bos_id"] = s.bos_id;
  fr["eos_id"] = s.eos_id;
  fr["add_bos"] = s.add_bos;
  if (!s.chat_template.empty()) fr["chat_template"] = s.chat_template;
  if (s.kind == ModelKind::spm) {
    fr["kind"] = "spm";
    fr["scores"] = s.scores.empty() ? std::vector<float>(s.tokens.size(), 0.0f) : s.scores;
    fr["remove_extra_whitespaces"] = s.remove_extra_whitespaces;
  }
  j["fragua"] = fr;
  return j.dump(1, ' ', false, json::error_handler_t::replace);
}

Status Tokenizer::save_hf_json(const std::string& path) const { return write_file_atomic(path, to_hf_json()); }

}  // namespace fragua::tokenize
