// SPDX-License-Identifier: Apache-2.0
// The state behind fragua::tokenize::Tokenizer, shared by the encoder files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <xxhash.h>

#include "fragua/tokenize/tokenizer.h"
#include "tokenize/piece_table.h"
#include "tokenize/pre_tokenizer.h"
#include "tokenize/special_tokens.h"

namespace fragua::tokenize {

struct MergeRule {
  int32_t rank;
  int32_t merged;  // symbol id of the concatenation
};

// Tokens of recently seen words, per thread and per tokenizer (natural text repeats its words;
// caching them makes encoding several times faster). Keyed by the tokenizer's unique id, so a
// tokenizer destroyed and another built at the same address never share entries.
class WordCache {
 public:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return XXH3_64bits(s.data(), s.size()); }
  };
  static WordCache& for_tokenizer(uint64_t uid);
  // Appends the cached tokens of `word` to out; false when absent.
  bool lookup(std::string_view word, std::vector<int32_t>& out) const {
    auto it = map_.find(word);
    if (it == map_.end()) return false;
    out.insert(out.end(), pool_.begin() + it->second.first, pool_.begin() + it->second.first + it->second.second);
    return true;
  }
  void insert(std::string_view word, const int32_t* ids, size_t n);

 private:
  uint64_t owner_ = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, Hash, std::equal_to<>> map_;
  std::vector<int32_t> pool_;
};

struct Tokenizer::Impl {
  uint64_t uid = 0;                 // unique per tokenizer (WordCache key)
  bool spm_word_separable = false;  // no piece has U+2581 after another character
  VocabSpec spec;
  int32_t n_vocab = 0;
  PieceTable pieces;                     // token text -> id (first id wins on duplicates)
  std::array<int32_t, 256> byte_tokens;  // token emitted for a raw byte, -1 when absent
  std::vector<std::string> piece_bytes;  // decoded bytes of each token (specials: empty)
  std::vector<uint8_t> eog;              // end-of-generation flags per id
  std::vector<uint8_t> lstrip, rstrip;   // per id
  SpecialMatcher specials;               // control, user-defined and unknown tokens

  // bpe: symbols are vocabulary ids, plus ids >= n_vocab for strings that only occur inside
  // merges (their text in extra_symbols).
  PieceTable symbols;
  std::vector<std::string> extra_symbols;
  std::unordered_map<uint64_t, MergeRule> merges;  // (left << 32 | right) -> rule
  std::array<int32_t, 256> byte_symbols;           // byte-level: symbol of each raw byte
  PreTokenizer pre;

  TokenType type(int32_t id) const {
    return spec.types.empty() ? TokenType::normal : spec.types[static_cast<size_t>(id)];
  }
  bool is_special_type(int32_t id) const {
    TokenType t = type(id);
    return t == TokenType::control || t == TokenType::unknown;
  }

  std::string_view symbol_text(int32_t sym) const {
    return sym < n_vocab ? std::string_view(spec.tokens[static_cast<size_t>(sym)])
                         : std::string_view(extra_symbols[static_cast<size_t>(sym - n_vocab)]);
  }

  // Encoders of one raw-text fragment (no special tokens inside). strict: a pre-tokenizer regex
  // over its budget is an error (otherwise the text it could not split stays whole).
  void spm_encode(std::string_view text, std::vector<int32_t>& out) const;
  void spm_encode_span(std::string_view text, std::vector<int32_t>& out) const;
  Status bpe_encode(std::string_view text, std::vector<int32_t>& out, bool strict) const;
  void bpe_encode_word(std::string_view word, std::vector<int32_t>& out) const;
  void emit_bytes(std::string_view bytes, std::vector<int32_t>& out) const;
  // Text fragments (special tokens already split out) to ids, with BOS/EOS when add_special.
  Status encode_fragments(const std::vector<Fragment>& fragments, bool add_special, bool strict,
                          std::vector<int32_t>& out) const;
};

// The longest run of text that one merge loop (BPE or SentencePiece) works on. Merging holds
// about 60 bytes per character (symbols and candidate heap): a 100 MB run of letters, one
// pre-token, took 5 GB. Longer runs are cut where a word starts (before a run of U+2581
// markers) when marker_words, else at the last character boundary, and no token spans a cut.
// llama.cpp and Hugging Face tokenizers do not cut, so on such runs (a 64 KiB word does not
// occur in natural text; base64 blobs and long space runs can) tokens near a cut may differ.
inline constexpr size_t kMaxMergeRunBytes = 64 * 1024;
// End of the run of text[begin..] to merge on its own.
size_t merge_run_end(std::string_view text, size_t begin, bool marker_words);

// Builds the bpe tables (symbols, merges, byte symbols) of `impl` from its spec.
Status build_bpe_tables(Tokenizer::Impl& impl);

// "<0x0A>" -> 10, or -1.
int parse_byte_token(std::string_view text);
// The 6-byte "<0xNN>" spelling.
std::string byte_token_text(uint8_t b);

// U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible space.
inline constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";

}  // namespace fragua::tokenize
