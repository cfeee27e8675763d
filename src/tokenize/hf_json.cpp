// SPDX-License-Identifier: Apache-2.0
// Hugging Face tokenizers' tokenizer.json (the `tokenizers` library's serialization): a BPE
// model (vocab, merges, byte_fallback, ignore_merges), added tokens, a normalizer and a
// pre-tokenizer. Two shapes are understood:
//  - byte-level: a ByteLevel pre-tokenizer (GPT-2, Llama 3, Granite), with Split regexes;
//  - SentencePiece-style: spaces replaced by U+2581 (a Replace normalizer or a Metaspace
//    pre-tokenizer) and byte fallback `<0xNN>` (Llama 2, Salamandra).
// Anything else is reported as unsupported, naming the JSON path.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/utf8.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

namespace {

using nlohmann::json;

// Sequence normalizers and pre-tokenizers nest: real files use one or two levels. A bound keeps a
// hostile file (thousands of levels in a few KB) from costing time and stack per level.
constexpr int kHfMaxSequenceDepth = 8;

// Typed access to the members of an untrusted tokenizer.json. Nothing here throws: a member of the
// wrong type is a corruption error naming the file and the JSON path ("pre_tokenizer.pattern.Regex").
// Members are read by reference; json::value(key, json_default) would copy whole subtrees.
struct HfReader {
  std::string_view origin;

  Error wrong(std::string_view path, std::string_view want, const json& v) const {
    return corruption_error("{}: {}: expected {}, found {}", origin, path, want, json_preview(v));
  }
  // The member, or nullptr when `o` is not an object, lacks it, or holds null there.
  static const json* member(const json& o, std::string_view key) {
    if (!o.is_object()) return nullptr;
    auto it = o.find(key);
    return it == o.end() || it->is_null() ? nullptr : &*it;
  }
  Result<std::string> str(const json& o, std::string_view key, std::string_view path, std::string_view def = "") const {
    const json* v = member(o, key);
    if (!v) return std::string(def);
    if (!v->is_string()) return wrong(path, "a string", *v);
    return v->get<std::string>();
  }
  Result<bool> flag(const json& o, std::string_view key, std::string_view path, bool def) const {
    const json* v = member(o, key);
    if (!v) return def;
    if (!v->is_boolean()) return wrong(path, "true or false", *v);
    return v->get<bool>();
  }
  // An array member (empty when absent), or an error.
  Result<const json*> array(const json& o, std::string_view key, std::string_view path) const {
    static const json empty = json::array();
    const json* v = member(o, key);
    if (!v) return &empty;
    if (!v->is_array()) return wrong(path, "an array", *v);
    return v;
  }
  Result<const json*> object(const json& o, std::string_view key, std::string_view path) const {
    const json* v = member(o, key);
    if (v && !v->is_object()) return wrong(path, "an object", *v);
    return v;  // nullptr when absent
  }
};

// A token's text shown in a message: quoted, escaped and cut short (it comes from the file).
std::string shown(std::string_view text) { return json_preview(json(std::string(text.substr(0, 64)))); }

struct HfShape {
  bool byte_level = false, metaspace = false, prepend = false, replace_space = false;
  std::vector<std::string> regexes;
  Normalization norm = Normalization::none;
};

Status read_normalizer(const HfReader& r, const json& n, const std::string& path, int depth, HfShape& sh) {
  if (n.is_null()) return {};
  if (!n.is_object()) return r.wrong(path, "an object", n);
  std::string type = FRAGUA_TRY(r.str(n, "type", path + ".type"));
  if (type == "Sequence") {
    if (depth >= kHfMaxSequenceDepth)
      return corruption_error("{}: {}: Sequence nested deeper than {} levels", r.origin, path, kHfMaxSequenceDepth);
    const json& list = *FRAGUA_TRY(r.array(n, "normalizers", path + ".normalizers"));
    for (size_t i = 0; i < list.size(); ++i)
      FRAGUA_TRY(read_normalizer(r, list[i], fmt::format("{}.normalizers[{}]", path, i), depth + 1, sh));
  } else if (type == "Prepend") {
    sh.prepend = true;
  } else if (type == "Replace") {
    const json* pat = FRAGUA_TRY(r.object(n, "pattern", path + ".pattern"));
    std::string from = pat ? FRAGUA_TRY(r.str(*pat, "String", path + ".pattern.String")) : "";
    std::string to = FRAGUA_TRY(r.str(n, "content", path + ".content"));
    if (from == " " && to == kSpaceMarker)
      sh.replace_space = true;
    else
      return unsupported_error("{}: {}: normalizer Replace other than ' ' -> '▁' is not supported", r.origin, path);
  } else if (type == "NFC") {
    sh.norm = Normalization::nfc;
  } else if (type == "NFKC") {
    sh.norm = Normalization::nfkc;
  } else {
    return unsupported_error("{}: {}: normalizer type {} is not supported", r.origin, path, shown(type));
  }
  return {};
}

Status read_pre_tokenizer(const HfReader& r, const json& p, const std::string& path, int depth, HfShape& sh) {
  if (p.is_null()) return {};
  if (!p.is_object()) return r.wrong(path, "an object", p);
  std::string type = FRAGUA_TRY(r.str(p, "type", path + ".type"));
  if (type == "Sequence") {
    if (depth >= kHfMaxSequenceDepth)
      return corruption_error("{}: {}: Sequence nested deeper than {} levels", r.origin, path, kHfMaxSequenceDepth);
    const json& list = *FRAGUA_TRY(r.array(p, "pretokenizers", path + ".pretokenizers"));
    for (size_t i = 0; i < list.size(); ++i)
      FRAGUA_TRY(read_pre_tokenizer(r, list[i], fmt::format("{}.pretokenizers[{}]", path, i), depth + 1, sh));
  } else if (type == "Split") {
    const json* pat = FRAGUA_TRY(r.object(p, "pattern", path + ".pattern"));
    if (!pat || !HfReader::member(*pat, "Regex"))
      return unsupported_error("{}: {}: pre_tokenizer Split without a Regex pattern is not supported", r.origin, path);
    sh.regexes.push_back(FRAGUA_TRY(r.str(*pat, "Regex", path + ".pattern.Regex")));
  } else if (type == "ByteLevel") {
    sh.byte_level = true;
    if (FRAGUA_TRY(r.flag(p, "use_regex", path + ".use_regex", true)))
      sh.regexes.push_back(FRAGUA_TRY(pre_tokenizer_regexes("gpt-2"))[0]);
  } else if (type == "Digits") {
    sh.regexes.push_back(FRAGUA_TRY(r.flag(p, "individual_digits", path + ".individual_digits", false)) ? R"(\p{N})"
                                                                                                        : R"(\p{N}+)");
  } else if (type == "Metaspace") {
    sh.metaspace = true;
    sh.prepend = FRAGUA_TRY(r.str(p, "prepend_scheme", path + ".prepend_scheme", "always")) != "never" &&
                 FRAGUA_TRY(r.flag(p, "add_prefix_space", path + ".add_prefix_space", true));
  } else {
    return unsupported_error("{}: {}: pre_tokenizer type {} is not supported", r.origin, path, shown(type));
  }
  return {};
}

bool is_bos_name(std::string_view t) {
  return t == "<s>" || t == "<|begin_of_text|>" || t == "<|startoftext|>" || t == "<bos>";
}
bool is_eos_name(std::string_view t) {
  return t == "</s>" || t == "<|end_of_text|>" || t == "<|endoftext|>" || t == "<eos>";
}

// Non-finite SentencePiece scores have no JSON number: Fragua writes them as these strings.
Result<float> read_score(const HfReader& r, const json& v, size_t i) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
  }
  return json_float(v, fmt::format("{}: fragua.scores[{}]", r.origin, i));
}

// The vocabulary: model.vocab, added_tokens and (in files Fragua wrote) the tokens whose text
// repeats an earlier one's, which the vocab map cannot hold. Ids must be contiguous from 0, so no
// id can reach the number of entries: checking that first keeps a tiny file from allocating
// millions of empty slots before the contiguity check.
Status read_vocab(const HfReader& r, const json& j, const json& model, VocabSpec& s) {
  const json* vocab = FRAGUA_TRY(r.object(model, "vocab", "model.vocab"));
  if (!vocab || vocab->empty()) return corruption_error("{}: model.vocab is missing or empty", r.origin);
  const json& added = *FRAGUA_TRY(r.array(j, "added_tokens", "added_tokens"));
  static const json kNone = json::array();
  const json* dups = &kNone;
  if (const json* fr = FRAGUA_TRY(r.object(j, "fragua", "fragua")))
    dups = FRAGUA_TRY(r.array(*fr, "duplicates", "fragua.duplicates"));
  const size_t n_entries = vocab->size() + added.size() + dups->size();
  auto put = [&](const std::string& text, int64_t id, TokenType ty, std::string_view where) -> Status {
    if (id < 0 || static_cast<uint64_t>(id) >= n_entries)
      return corruption_error("{}: {}: token {} has id {}, but the file has only {} entries (ids run from 0)", r.origin,
                              where, shown(text), id, n_entries);
    auto i = static_cast<size_t>(id);
    if (i >= s.tokens.size()) {
      s.tokens.resize(i + 1);
      s.types.resize(i + 1, TokenType::undefined);
    }
    s.tokens[i] = text;
    s.types[i] = ty;
    return {};
  };
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    std::string where = fmt::format("model.vocab[{}]", shown(it.key()));
    FRAGUA_TRY(put(it.key(), FRAGUA_TRY(json_integer(it.value(), fmt::format("{}: {}", r.origin, where))),
                   TokenType::normal, where));
  }
  for (size_t k = 0; k < added.size(); ++k) {
    const json& a = added[k];
    std::string where = fmt::format("added_tokens[{}]", k);
    if (!a.is_object()) return r.wrong(where, "an object", a);
    const json* idv = HfReader::member(a, "id");
    if (!idv) return corruption_error("{}: {}: no id", r.origin, where);
    int64_t id = FRAGUA_TRY(json_integer(*idv, fmt::format("{}: {}.id", r.origin, where)));
    std::string content = FRAGUA_TRY(r.str(a, "content", where + ".content"));
    if (content.empty()) return corruption_error("{}: {}.content is missing or empty", r.origin, where);
    bool special = FRAGUA_TRY(r.flag(a, "special", where + ".special", false));
    FRAGUA_TRY(put(content, id, special ? TokenType::control : TokenType::user_defined, where));
    if (FRAGUA_TRY(r.flag(a, "lstrip", where + ".lstrip", false))) s.lstrip_ids.push_back(static_cast<int32_t>(id));
    if (FRAGUA_TRY(r.flag(a, "rstrip", where + ".rstrip", false))) s.rstrip_ids.push_back(static_cast<int32_t>(id));
  }
  for (size_t k = 0; k < dups->size(); ++k) {
    std::string where = fmt::format("fragua.duplicates[{}]", k);
    const json& d = (*dups)[k];
    if (!d.is_array() || d.size() != 2 || !d[1].is_string()) return r.wrong(where, "[id, \"text\"]", d);
    int64_t id = FRAGUA_TRY(json_integer(d[0], fmt::format("{}: {}", r.origin, where)));
    const std::string& text = d[1].get_ref<const std::string&>();
    if (id >= 0 && static_cast<size_t>(id) < s.tokens.size() && !s.tokens[static_cast<size_t>(id)].empty())
      return corruption_error("{}: {}: id {} already has a token", r.origin, where, id);
    FRAGUA_TRY(put(text, id, TokenType::normal, where));
  }
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.tokens[i].empty()) return corruption_error("{}: no token has id {} (ids must be contiguous)", r.origin, i);
  return {};
}

Status read_merges(const HfReader& r, const json& model, VocabSpec& s) {
  const json& merges = *FRAGUA_TRY(r.array(model, "merges", "model.merges"));
  s.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    if (m.is_string())
      s.merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
      s.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    else
      return r.wrong(fmt::format("model.merges[{}]", i), "\"a b\" or [\"a\", \"b\"]", m);
  }
  return {};
}

// What only Fragua's own files carry: provenance, SentencePiece scores (so a file loads back as
// the spm model it was), special ids, and token types that tokenizer.json cannot express.
Status read_fragua(const HfReader& r, const json& fr, VocabSpec& s) {
  for (auto it = fr.begin(); it != fr.end(); ++it)
    if (it.value().is_string() && it.key() != "kind" && it.key() != "pre" && it.key() != "chat_template")
      s.info.emplace_back(it.key(), it.value().get<std::string>());
  if (FRAGUA_TRY(r.str(fr, "kind", "fragua.kind")) == "spm" && HfReader::member(fr, "scores")) {
    const json& scores = *FRAGUA_TRY(r.array(fr, "scores", "fragua.scores"));
    if (scores.size() != s.tokens.size())
      return corruption_error("{}: fragua.scores has {} entries for {} tokens", r.origin, scores.size(),
                              s.tokens.size());
    s.kind = ModelKind::spm;
    s.scores.clear();
    for (size_t i = 0; i < scores.size(); ++i) s.scores.push_back(FRAGUA_TRY(read_score(r, scores[i], i)));
    s.merges.clear();
    s.escape_spaces = false;
    s.remove_extra_whitespaces =
        FRAGUA_TRY(r.flag(fr, "remove_extra_whitespaces", "fragua.remove_extra_whitespaces", false));
  }
  for (auto [key, id] : {std::pair{"bos_id", &s.bos_id},
                         {"eos_id", &s.eos_id},
                         {"unk_id", &s.unk_id},
                         {"pad_id", &s.pad_id},
                         {"eot_id", &s.eot_id},
                         {"eom_id", &s.eom_id}})
    if (const json* v = HfReader::member(fr, key))
      *id = static_cast<int32_t>(
          FRAGUA_TRY(json_integer(*v, fmt::format("{}: fragua.{}", r.origin, key), -1, INT32_MAX)));
  s.add_bos = FRAGUA_TRY(r.flag(fr, "add_bos", "fragua.add_bos", s.add_bos));
  s.add_eos = FRAGUA_TRY(r.flag(fr, "add_eos", "fragua.add_eos", s.add_eos));
  s.pre = FRAGUA_TRY(r.str(fr, "pre", "fragua.pre", s.pre));
  s.chat_template = FRAGUA_TRY(r.str(fr, "chat_template", "fragua.chat_template", s.chat_template));
  if (const json* types = FRAGUA_TRY(r.object(fr, "types", "fragua.types"))) {
    for (auto it = types->begin(); it != types->end(); ++it) {
      std::string where = fmt::format("fragua.types[{}]", shown(it.key()));
      size_t id = 0;
      auto [end, ec] = std::from_chars(it.key().data(), it.key().data() + it.key().size(), id);
      if (ec != std::errc() || end != it.key().data() + it.key().size() || id >= s.tokens.size())
        return corruption_error("{}: {}: not a token id below {}", r.origin, where, s.tokens.size());
      int64_t t = FRAGUA_TRY(json_integer(it.value(), fmt::format("{}: {}", r.origin, where), 0, 6));
      s.types[id] = static_cast<TokenType>(t);
    }
  }
  return {};
}

// The BOS that a TemplateProcessing post-processor puts first ("single": [{"SpecialToken": ...}, ...]).
Result<std::string> template_bos(const HfReader& r, const json& j) {
  const json* post = FRAGUA_TRY(r.object(j, "post_processor", "post_processor"));
  if (!post || FRAGUA_TRY(r.str(*post, "type", "post_processor.type")) != "TemplateProcessing") return std::string();
  const json& single = *FRAGUA_TRY(r.array(*post, "single", "post_processor.single"));
  if (single.empty() || !single[0].is_object()) return std::string();
  const json* st = FRAGUA_TRY(r.object(single[0], "SpecialToken", "post_processor.single[0].SpecialToken"));
  return st ? r.str(*st, "id", "post_processor.single[0].SpecialToken.id") : std::string();
}

Result<VocabSpec> parse_hf(const json& j, std::string_view origin) {
  const HfReader r{origin};
  const json* model = j.is_object() ? HfReader::member(j, "model") : nullptr;
  if (!model || !model->is_object()) return corruption_error("{}: not a tokenizer.json (no \"model\" object)", origin);
  std::string type = FRAGUA_TRY(r.str(*model, "type", "model.type", "BPE"));
  if (type != "BPE") return unsupported_error("{}: model.type {} is not supported (BPE)", origin, shown(type));

  VocabSpec s;
  s.kind = ModelKind::bpe;
  FRAGUA_TRY(read_vocab(r, j, *model, s));
  FRAGUA_TRY(read_merges(r, *model, s));
  s.ignore_merges = FRAGUA_TRY(r.flag(*model, "ignore_merges", "model.ignore_merges", false));
  const bool byte_fallback = FRAGUA_TRY(r.flag(*model, "byte_fallback", "model.byte_fallback", false));
  if (const json* unk = HfReader::member(*model, "unk_token"); unk && unk->is_string()) {
    for (size_t i = 0; i < s.tokens.size(); ++i)
      if (s.tokens[i] == unk->get_ref<const std::string&>()) s.unk_id = static_cast<int32_t>(i);
  }

  HfShape sh;
  if (const json* n = HfReader::member(j, "normalizer")) FRAGUA_TRY(read_normalizer(r, *n, "normalizer", 0, sh));
  if (const json* p = HfReader::member(j, "pre_tokenizer"))
    FRAGUA_TRY(read_pre_tokenizer(r, *p, "pre_tokenizer", 0, sh));
  if (const json* dec = FRAGUA_TRY(r.object(j, "decoder", "decoder")))
    if (FRAGUA_TRY(r.str(*dec, "type", "decoder.type")) == "ByteLevel") sh.byte_level = true;
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
    if (byte_fallback && s.types[i] == TokenType::normal && parse_byte_token(s.tokens[i]) >= 0)
      s.types[i] = TokenType::byte;
    if (s.unk_id < 0 && s.tokens[i] == "<unk>") s.unk_id = static_cast<int32_t>(i);
    if (s.types[i] == TokenType::control && s.bos_id < 0 && is_bos_name(s.tokens[i]))
      s.bos_id = static_cast<int32_t>(i);
    if (s.types[i] == TokenType::control && s.eos_id < 0 && is_eos_name(s.tokens[i]))
      s.eos_id = static_cast<int32_t>(i);
  }
  if (std::string bos = FRAGUA_TRY(template_bos(r, j)); !bos.empty()) {
    for (size_t i = 0; i < s.tokens.size(); ++i)
      if (s.tokens[i] == bos) s.bos_id = static_cast<int32_t>(i), s.add_bos = true;
  }
  if (const json* fr = FRAGUA_TRY(r.object(j, "fragua", "fragua"))) FRAGUA_TRY(read_fragua(r, *fr, s));
  if (s.bos_id < 0) s.add_bos = false;
  if (s.eos_id < 0) s.add_eos = false;
  return s;
}

}  // namespace

Result<Tokenizer> Tokenizer::from_hf_json_text(std::string_view text, std::string_view origin) {
  json j = FRAGUA_TRY(parse_json(text, origin));
  VocabSpec spec;
  try {
    spec = FRAGUA_TRY(parse_hf(j, origin));
  } catch (const json::exception& e) {  // the readers above do not throw; this keeps a slip from escaping
    return corruption_error("{}: unexpected tokenizer.json content: {}", origin, e.what());
  }
  auto tok = from_spec(std::move(spec));
  if (!tok.ok()) return tok.error().with_context(origin);
  return tok;
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
  // A NaN score sorts as -inf: the comparison must stay a strict weak order.
  auto score = [&](size_t id) { return std::isnan(s.scores[id]) ? -HUGE_VALF : s.scores[id]; };
  std::stable_sort(found.begin(), found.end(), [&](const auto& x, const auto& y) {
    return score(x.first) > score(y.first) || (score(x.first) == score(y.first) && x.first < y.first);
  });
  std::vector<std::string> merges;
  merges.reserve(found.size());
  for (auto& f : found) merges.push_back(std::move(f.second));
  return merges;
}

// JSON strings are Unicode: text that is not valid UTF-8 (a GGUF may hold such tokens) would be
// replaced by U+FFFD on writing and load back as another token, so it is refused.
Status check_json_text(std::string_view text, std::string_view what) {
  if (auto at = utf8::find_invalid(text))
    return invalid_argument_error(
        "{} is not valid UTF-8 (byte {}): a tokenizer.json cannot hold it; write a .gguf instead", what, *at);
  return {};
}

json score_json(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

}  // namespace

Result<std::string> Tokenizer::to_hf_json() const {
  const VocabSpec& s = impl_->spec;
  for (size_t i = 0; i < s.tokens.size(); ++i) FRAGUA_TRY(check_json_text(s.tokens[i], fmt::format("token {}", i)));
  for (size_t i = 0; i < s.merges.size(); ++i) FRAGUA_TRY(check_json_text(s.merges[i], fmt::format("merge {}", i)));
  for (const auto& re : s.pre_regexes) FRAGUA_TRY(check_json_text(re, "a pre-tokenizer regex"));
  for (const auto& [k, v] : s.info) FRAGUA_TRY(check_json_text(k + v, fmt::format("information '{}'", k)));
  FRAGUA_TRY(check_json_text(s.pre + s.chat_template, "the chat template or pre-tokenizer name"));
  json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  json added = json::array();
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    TokenType t = impl_->type(static_cast<int32_t>(i));
    if (t != TokenType::control && t != TokenType::user_defined && t != TokenType::unknown) continue;
    added.push_back({{"id", i},
                     {"content", s.tokens[i]},
                     {"single_word", false},
                     {"lstrip", impl_->lstrip[i] != 0},
                     {"rstrip", impl_->rstrip[i] != 0},
                     {"normalized", false},
                     {"special", t != TokenType::user_defined}});
  }
  j["added_tokens"] = added;
  const bool byte_level = s.kind == ModelKind::bpe && s.byte_encode;
  bool byte_fallback = false;  // as a reader sees it: <0xNN> tokens are byte tokens
  for (size_t i = 0; i < s.tokens.size() && !byte_level; ++i)
    byte_fallback = byte_fallback || impl_->type(static_cast<int32_t>(i)) == TokenType::byte;
  json norms = json::array();
  if (s.normalization == Normalization::nfc) norms.push_back({{"type", "NFC"}});
  if (s.normalization == Normalization::nfkc) norms.push_back({{"type", "NFKC"}});
  if (!byte_level) {
    if (s.add_space_prefix) norms.push_back({{"type", "Prepend"}, {"prepend", std::string(kSpaceMarker)}});
    norms.push_back({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", std::string(kSpaceMarker)}});
  }
  j["normalizer"] = norms.empty() ? json() : json{{"type", "Sequence"}, {"normalizers", norms}};
  std::vector<std::string> regexes = s.pre_regexes;
  if (regexes.empty() && byte_level)
    regexes = pre_tokenizer_regexes(s.pre).ok() ? *pre_tokenizer_regexes(s.pre) : regexes;
  json pres = json::array();
  for (const auto& re : regexes)
    pres.push_back({{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"}, {"invert", false}});
  if (byte_level)
    pres.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  j["pre_tokenizer"] = pres.empty() ? json() : json{{"type", "Sequence"}, {"pretokenizers", pres}};
  if (s.add_bos && s.bos_id >= 0) {
    const std::string& bos = s.tokens[static_cast<size_t>(s.bos_id)];
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{bos, {{"id", bos}, {"ids", {s.bos_id}}, {"tokens", {bos}}}}}}};
  } else {
    j["post_processor"] = nullptr;
  }
  if (byte_level) {
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  } else {
    json decs =
        json::array({{{"type", "Replace"}, {"pattern", {{"String", std::string(kSpaceMarker)}}}, {"content", " "}},
                     {{"type", "ByteFallback"}},
                     {{"type", "Fuse"}}});
    if (s.add_space_prefix) decs.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    j["decoder"] = {{"type", "Sequence"}, {"decoders", decs}};
  }
  // The vocab maps text to id, so a token whose text repeats an earlier one's cannot be in it;
  // those go to fragua.duplicates (Fragua loads them back; other readers see a gap in the ids).
  json vocab = json::object(), duplicates = json::array();
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    if (!vocab.contains(s.tokens[i])) {
      vocab[s.tokens[i]] = i;
    } else if (TokenType t = impl_->type(static_cast<int32_t>(i));
               t != TokenType::control && t != TokenType::user_defined && t != TokenType::unknown) {
      duplicates.push_back({i, s.tokens[i]});  // (specials are in added_tokens with their id)
    }
  }
  json model = {{"type", "BPE"},
                {"dropout", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", !byte_level},
                {"byte_fallback", byte_fallback},
                {"ignore_merges", s.ignore_merges},
                {"vocab", vocab}};
  model["unk_token"] = s.unk_id >= 0 ? json(s.tokens[static_cast<size_t>(s.unk_id)]) : json();
  model["merges"] = s.kind == ModelKind::spm ? merges_from_scores(s, impl_->pieces) : s.merges;
  j["model"] = model;
  json fr = json::object();
  for (const auto& [k, v] : s.info) fr[k] = v;
  fr["pre"] = s.pre;
  for (auto [key, id] : {std::pair{"bos_id", s.bos_id},
                         {"eos_id", s.eos_id},
                         {"unk_id", s.unk_id},
                         {"pad_id", s.pad_id},
                         {"eot_id", s.eot_id},
                         {"eom_id", s.eom_id}})
    fr[key] = id;
  fr["add_bos"] = s.add_bos;
  fr["add_eos"] = s.add_eos;
  if (!s.chat_template.empty()) fr["chat_template"] = s.chat_template;
  if (s.kind == ModelKind::spm) {
    fr["kind"] = "spm";
    json scores = json::array();
    for (size_t i = 0; i < s.tokens.size(); ++i) scores.push_back(score_json(s.scores.empty() ? 0.0f : s.scores[i]));
    fr["scores"] = std::move(scores);
    fr["remove_extra_whitespaces"] = s.remove_extra_whitespaces;
  }
  if (!duplicates.empty()) fr["duplicates"] = std::move(duplicates);
  // Types that the standard fields do not give: a reader takes added tokens as control or
  // user-defined, the others as normal, or byte when byte_fallback is set and the text is <0xNN>.
  json types = json::object();
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    TokenType t = impl_->type(static_cast<int32_t>(i)), read_as = TokenType::normal;
    if (t == TokenType::control || t == TokenType::unknown)
      read_as = TokenType::control;
    else if (t == TokenType::user_defined)
      read_as = TokenType::user_defined;
    else if (byte_fallback && parse_byte_token(s.tokens[i]) >= 0)
      read_as = TokenType::byte;
    if (t != read_as) types[std::to_string(i)] = static_cast<int>(t);
  }
  if (!types.empty()) fr["types"] = std::move(types);
  j["fragua"] = fr;
  return j.dump(1, ' ', false, json::error_handler_t::strict);
}

Status Tokenizer::save_hf_json(const std::string& path) const {
  return write_file_atomic(path, FRAGUA_TRY(to_hf_json()));
}

}  // namespace fragua::tokenize
