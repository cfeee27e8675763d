// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <atomic>
#include <cstring>

#include "fragua/base/file.h"
#include "fragua/base/utf8.h"
#include "tokenize/byte_unicode.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

int parse_byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string byte_token_text(uint8_t b) { return fmt::format("<0x{:02X}>", b); }

namespace {

std::string unescape_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, kSpaceMarker.size(), kSpaceMarker) == 0) {
      out.push_back(' ');
      i += kSpaceMarker.size();
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

bool known_eog_text(std::string_view t) {
  static constexpr std::string_view kEog[] = {"<|eot_id|>",    "<|im_end|>",      "<|end|>", "<end_of_turn>",
                                              "<|endoftext|>", "<|end_of_text|>", "<EOT>",   "<|eom_id|>"};
  return std::find(std::begin(kEog), std::end(kEog), t) != std::end(kEog);
}

Status check_spec(const VocabSpec& s) {
  if (s.tokens.empty()) return invalid_argument_error("tokenizer has an empty vocabulary");
  if (s.tokens.size() > (1u << 30))
    return invalid_argument_error("vocabulary of {} tokens is too large", s.tokens.size());
  if (!s.scores.empty() && s.scores.size() != s.tokens.size())
    return corruption_error("{} scores for {} tokens", s.scores.size(), s.tokens.size());
  if (!s.types.empty() && s.types.size() != s.tokens.size())
    return corruption_error("{} token types for {} tokens", s.types.size(), s.tokens.size());
  auto n = static_cast<int32_t>(s.tokens.size());
  for (auto [name, id] : {std::pair{"bos", s.bos_id},
                          {"eos", s.eos_id},
                          {"unk", s.unk_id},
                          {"pad", s.pad_id},
                          {"eot", s.eot_id},
                          {"eom", s.eom_id}})
    if (id >= n) return corruption_error("{} token id {} is outside the vocabulary of {} tokens", name, id, n);
  for (const auto* list : {&s.lstrip_ids, &s.rstrip_ids})
    for (int32_t id : *list)
      if (id < 0 || id >= n) return corruption_error("strip token id {} is outside the vocabulary", id);
  for (size_t i = 0; i < s.tokens.size(); ++i)
    if (s.tokens[i].empty()) return corruption_error("token {} is empty", i);
  if (s.add_bos && s.bos_id < 0) return corruption_error("add_bos is set but there is no bos token");
  if (s.add_eos && s.eos_id < 0) return corruption_error("add_eos is set but there is no eos token");
  return {};
}

}  // namespace

WordCache& WordCache::for_tokenizer(uint64_t uid) {
  thread_local WordCache cache;
  if (cache.owner_ != uid || cache.map_.size() > (1u << 19) || cache.pool_.size() > (1u << 23)) {
    cache.map_.clear();
    cache.pool_.clear();
    cache.owner_ = uid;
  }
  return cache;
}

void WordCache::insert(std::string_view word, const int32_t* ids, size_t n) {
  map_.emplace(std::string(word), std::make_pair(static_cast<uint32_t>(pool_.size()), static_cast<uint32_t>(n)));
  pool_.insert(pool_.end(), ids, ids + n);
}

namespace {
std::atomic<uint64_t> g_next_uid{1};

// SentencePiece-style text splits into words that encode independently when no piece holds the
// space marker after another character: a merge can then never cross the start of a word
// (a run of markers followed by other characters), and the merges inside one word neither see
// nor change another's candidates, whatever order the heap takes them in.
bool word_separable(const VocabSpec& s) {
  for (const auto& t : s.tokens) {
    size_t first_other = 0;
    while (t.compare(first_other, kSpaceMarker.size(), kSpaceMarker) == 0) first_other += kSpaceMarker.size();
    if (t.find(kSpaceMarker, first_other) != std::string::npos) return false;
  }
  return true;
}
}  // namespace

Tokenizer::Tokenizer() : impl_(std::make_unique<Impl>()) { impl_->uid = g_next_uid.fetch_add(1); }
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_spec(VocabSpec spec) {
  FRAGUA_TRY(check_spec(spec));
  Tokenizer tok;
  Impl& im = *tok.impl_;
  im.spec = std::move(spec);
  const VocabSpec& s = im.spec;
  im.n_vocab = static_cast<int32_t>(s.tokens.size());
  im.spm_word_separable = s.kind == ModelKind::spm && word_separable(s);
  for (int32_t i = 0; i < im.n_vocab; ++i) im.pieces.insert(s.tokens[static_cast<size_t>(i)], i);

  im.byte_tokens.fill(-1);
  const bool byte_level = s.kind == ModelKind::bpe && s.byte_encode;
  for (int b = 0; b < 256; ++b) {
    std::string t =
        byte_level ? ByteUnicode::get().byte_to_utf8[static_cast<size_t>(b)] : byte_token_text(static_cast<uint8_t>(b));
    im.byte_tokens[static_cast<size_t>(b)] = im.pieces.find(t);
  }

  im.piece_bytes.resize(s.tokens.size());
  im.eog.assign(s.tokens.size(), 0);
  im.lstrip.assign(s.tokens.size(), 0);
  im.rstrip.assign(s.tokens.size(), 0);
  for (int32_t id : s.lstrip_ids) im.lstrip[static_cast<size_t>(id)] = 1;
  for (int32_t id : s.rstrip_ids) im.rstrip[static_cast<size_t>(id)] = 1;
  for (int32_t i = 0; i < im.n_vocab; ++i) {
    const std::string& t = s.tokens[static_cast<size_t>(i)];
    TokenType ty = im.type(i);
    std::string& out = im.piece_bytes[static_cast<size_t>(i)];
    if (ty == TokenType::control || ty == TokenType::unknown) {
      out.clear();
    } else if (ty == TokenType::user_defined) {
      out = t;
    } else if (ty == TokenType::byte && parse_byte_token(t) >= 0) {
      out.assign(1, static_cast<char>(parse_byte_token(t)));
    } else if (s.kind == ModelKind::spm || s.escape_spaces) {
      out = unescape_spaces(t);
    } else {
      out = s.byte_encode ? ByteUnicode::get().decode(t) : t;
    }
    if ((ty == TokenType::control || ty == TokenType::user_defined) && known_eog_text(t))
      im.eog[static_cast<size_t>(i)] = 1;
    if (ty == TokenType::control || ty == TokenType::user_defined || ty == TokenType::unknown)
      im.specials.entries.push_back(
          {i, t, im.lstrip[static_cast<size_t>(i)] != 0, im.rstrip[static_cast<size_t>(i)] != 0});
  }
  for (int32_t id : {s.eos_id, s.eot_id, s.eom_id})
    if (id >= 0) im.eog[static_cast<size_t>(id)] = 1;
  std::stable_sort(im.specials.entries.begin(), im.specials.entries.end(),
                   [](const auto& a, const auto& b) { return a.text.size() > b.text.size(); });
  im.specials.build();

  if (s.kind == ModelKind::bpe) {
    std::vector<std::string> regexes = s.pre_regexes;
    if (regexes.empty() && s.byte_encode) regexes = FRAGUA_TRY(pre_tokenizer_regexes(s.pre));
    im.pre = FRAGUA_TRY(PreTokenizer::create(regexes));
    FRAGUA_TRY(build_bpe_tables(im));
  }
  return tok;
}

namespace {

// SentencePiece's remove_extra_whitespaces: no leading or trailing spaces, runs become one.
std::string squeeze_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace

Status Tokenizer::Impl::encode_fragments(const std::vector<Fragment>& fragments, bool add_special, bool strict,
                                         std::vector<int32_t>& out) const {
  const VocabSpec& s = spec;
  if (add_special && s.add_bos && s.bos_id >= 0) out.push_back(s.bos_id);
  bool prev_special = true;
  std::string buf;
  for (const Fragment& f : fragments) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    std::string_view piece = f.text;
    std::string normalized;
    if (s.normalization != Normalization::none) {
      normalized = normalize(piece, s.normalization);
      piece = normalized;
    }
    if (s.kind == ModelKind::spm) {
      std::string squeezed;
      if (s.remove_extra_whitespaces) {
        squeezed = squeeze_spaces(piece);
        piece = squeezed;
        if (piece.empty()) continue;
      }
      buf.clear();
      if (s.add_space_prefix && prev_special) buf += kSpaceMarker;
      for (char c : piece) {
        if (c == ' ')
          buf += kSpaceMarker;
        else
          buf.push_back(c);
      }
      spm_encode(buf, out);
    } else if (s.escape_spaces && s.add_space_prefix && prev_special) {
      buf.assign(1, ' ');  // Hugging Face's Prepend("▁") normalizer
      buf.append(piece);
      FRAGUA_TRY(bpe_encode(buf, out, strict));
    } else {
      FRAGUA_TRY(bpe_encode(piece, out, strict));
    }
    prev_special = false;
  }
  if (add_special && s.add_eos && s.eos_id >= 0) out.push_back(s.eos_id);
  return {};
}

namespace {

// Whether a special token must not be matched in raw text: control and unknown tokens unless
// special parsing is on (user-defined ones always match, as in llama.cpp and Hugging Face), and
// any token on the `banned` list.
struct SkipRule {
  const Tokenizer::Impl* im;
  bool parse_special;
  const std::vector<int32_t>* banned = nullptr;  // sorted
  static bool call(const void* ctx, int32_t id) {
    const auto* r = static_cast<const SkipRule*>(ctx);
    if (!r->parse_special && r->im->is_special_type(id)) return true;
    return r->banned && std::binary_search(r->banned->begin(), r->banned->end(), id);
  }
};

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::vector<Fragment> fragments;
  SkipRule rule{impl_.get(), parse_special};
  impl_->specials.partition(text, SkipRule::call, &rule, fragments);
  (void)impl_->encode_fragments(fragments, add_special, /*strict=*/false, out);  // lenient: cannot fail
  return out;
}

Result<std::vector<int32_t>> Tokenizer::try_encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::vector<Fragment> fragments;
  SkipRule rule{impl_.get(), parse_special};
  impl_->specials.partition(text, SkipRule::call, &rule, fragments);
  FRAGUA_TRY(impl_->encode_fragments(fragments, add_special, /*strict=*/true, out));
  return out;
}

Result<std::vector<int32_t>> Tokenizer::try_encode_parts(std::string_view text, std::span<const TextPart> parts,
                                                         bool add_special) const {
  size_t total = 0;
  for (const TextPart& p : parts) total += p.size;
  if (total != text.size())
    return invalid_argument_error("text parts cover {} bytes of a {}-byte text", total, text.size());
  // First the markup: which special tokens it holds. Those are then barred from the other parts.
  std::vector<std::vector<Fragment>> split(parts.size());
  std::vector<int32_t> markup_tokens;
  SkipRule parse_all{impl_.get(), true};
  for (size_t i = 0, at = 0; i < parts.size(); at += parts[i].size, ++i) {
    if (!parts[i].parse_special) continue;
    impl_->specials.partition(text.substr(at, parts[i].size), SkipRule::call, &parse_all, split[i]);
    for (const Fragment& f : split[i])
      if (f.token >= 0) markup_tokens.push_back(f.token);
  }
  std::sort(markup_tokens.begin(), markup_tokens.end());
  SkipRule plain{impl_.get(), false, &markup_tokens};
  std::vector<Fragment> fragments;
  for (size_t i = 0, at = 0; i < parts.size(); at += parts[i].size, ++i) {
    if (!parts[i].parse_special)
      impl_->specials.partition(text.substr(at, parts[i].size), SkipRule::call, &plain, split[i]);
    for (const Fragment& f : split[i]) {
      // Text on both sides of a part boundary is one run, as in the whole string.
      if (f.token < 0 && !fragments.empty() && fragments.back().token < 0 &&
          fragments.back().text.data() + fragments.back().text.size() == f.text.data())
        fragments.back().text =
            std::string_view(fragments.back().text.data(), fragments.back().text.size() + f.text.size());
      else
        fragments.push_back(f);
    }
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  FRAGUA_TRY(impl_->encode_fragments(fragments, add_special, /*strict=*/true, out));
  return out;
}

std::string Tokenizer::token_piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= impl_->n_vocab) return {};
  if (render_special && impl_->is_special_type(id)) return impl_->spec.tokens[static_cast<size_t>(id)];
  return impl_->piece_bytes[static_cast<size_t>(id)];
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  const Impl& im = *impl_;
  const bool strip_prefix = (im.spec.kind == ModelKind::spm || im.spec.escape_spaces) && im.spec.add_space_prefix;
  std::string out;
  bool at_boundary = true;  // where encode put a space prefix: text start, after a special token
  for (int32_t id : ids) {
    if (id < 0 || id >= im.n_vocab) continue;  // ids from elsewhere: skipped, never a crash
    TokenType ty = im.type(id);
    if (ty == TokenType::control || ty == TokenType::user_defined) {
      out += token_piece(id, render_special);
      at_boundary = true;
      continue;
    }
    const std::string& p = im.piece_bytes[static_cast<size_t>(id)];
    if (at_boundary && strip_prefix && !p.empty() && p[0] == ' ')
      out.append(p, 1);
    else
      out += p;
    if (!p.empty()) at_boundary = false;
  }
  return out;
}

const std::string& Tokenizer::token_text(int32_t id) const {
  static const std::string empty;
  return id < 0 || id >= impl_->n_vocab ? empty : impl_->spec.tokens[static_cast<size_t>(id)];
}
TokenType Tokenizer::token_type(int32_t id) const {
  return id < 0 || id >= impl_->n_vocab ? TokenType::undefined : impl_->type(id);
}
int32_t Tokenizer::token_id(std::string_view text) const { return impl_->pieces.find(text); }
int32_t Tokenizer::bos_id() const { return impl_->spec.bos_id; }
int32_t Tokenizer::eos_id() const { return impl_->spec.eos_id; }
bool Tokenizer::is_eog(int32_t id) const {
  return id >= 0 && id < impl_->n_vocab && impl_->eog[static_cast<size_t>(id)];
}
int32_t Tokenizer::n_vocab() const { return impl_->n_vocab; }
const VocabSpec& Tokenizer::spec() const { return impl_->spec; }

}  // namespace fragua::tokenize
