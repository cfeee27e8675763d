// SPDX-License-Identifier: Apache-2.0
// Merge-ranked BPE (Sennrich et al. 2016; GPT-2's byte-level variant, Radford et al. 2019):
// the text is cut into pre-tokens by the model's regexes, each pre-token is mapped to initial
// symbols (one per byte through the byte-to-Unicode alphabet, or one per UTF-8 character), and
// the adjacent pair with the lowest merge rank is merged until none is left (ties: leftmost).
// Symbols are integers: a merge (left, right) -> (rank, result) is one hash lookup.
#include <algorithm>

#include "fragua/base/utf8.h"
#include "tokenize/byte_unicode.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

namespace {

struct Symbol {
  int32_t prev, next;
  uint32_t off, len;
  int32_t id;  // symbol id, -1 for a character outside the alphabet
};

struct Candidate {
  int32_t rank, left, right, left_id, right_id;
};

struct CandidateGreater {  // min-heap on (rank, left)
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

size_t char_len(std::string_view s, size_t pos) {
  if (static_cast<uint8_t>(s[pos]) < 0x80) return 1;
  size_t n = utf8::sequence_length(s.substr(pos));
  return n ? n : 1;
}

}  // namespace

Status build_bpe_tables(Tokenizer::Impl& impl) {
  const auto& spec = impl.spec;
  for (int32_t i = 0; i < impl.n_vocab; ++i) impl.symbols.insert(spec.tokens[static_cast<size_t>(i)], i);
  auto symbol_of = [&](std::string_view text) {
    int32_t id = impl.symbols.find(text);
    if (id >= 0) return id;
    impl.extra_symbols.emplace_back(text);
    return impl.symbols.insert(text, impl.n_vocab + static_cast<int32_t>(impl.extra_symbols.size()) - 1);
  };
  impl.merges.reserve(spec.merges.size() * 2);
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const std::string& m = spec.merges[rank];
    // A merge is "left right"; the left part may itself start with a space in some files, so
    // split at the first space after the first character.
    size_t sp = m.find(' ', m.empty() ? 0 : char_len(m, 0));
    if (sp == std::string::npos || sp + 1 >= m.size())
      return corruption_error("merge {} ('{}') is not two space-separated symbols", rank, m);
    std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
    int32_t l = symbol_of(left), r = symbol_of(right);
    std::string cat = std::string(left) + std::string(right);
    int32_t merged = symbol_of(cat);
    impl.merges.try_emplace(pair_key(l, r), MergeRule{static_cast<int32_t>(rank), merged});
  }
  if (spec.byte_encode) {
    const auto& bu = ByteUnicode::get();
    for (int b = 0; b < 256; ++b)
      impl.byte_symbols[static_cast<size_t>(b)] = symbol_of(bu.byte_to_utf8[static_cast<size_t>(b)]);
  }
  return {};
}

size_t merge_run_end(std::string_view text, size_t begin, bool marker_words) {
  const size_t limit = begin + kMaxMergeRunBytes;
  if (text.size() <= limit) return text.size();
  if (marker_words) {  // before the run of markers that starts the last word
    size_t p = text.rfind(kSpaceMarker, limit);
    while (p != std::string_view::npos && p >= begin + kSpaceMarker.size() &&
           text.compare(p - kSpaceMarker.size(), kSpaceMarker.size(), kSpaceMarker) == 0)
      p -= kSpaceMarker.size();
    if (p != std::string_view::npos && p > begin) return p;
  }
  size_t p = limit;  // else at the last character boundary
  while (p > begin && (static_cast<uint8_t>(text[p]) & 0xC0) == 0x80) --p;
  return p > begin ? p : limit;
}

void Tokenizer::Impl::bpe_encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxMergeRunBytes) {
    for (size_t b = 0; b < word.size();) {
      size_t e = merge_run_end(word, b, spec.escape_spaces);
      bpe_encode_word(word.substr(b, e - b), out);
      b = e;
    }
    return;
  }
  if (spec.ignore_merges) {
    int32_t whole = spec.byte_encode ? pieces.find(ByteUnicode::get().encode(word)) : pieces.find(word);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  if (spec.byte_encode) {
    for (size_t i = 0; i < word.size(); ++i) {
      int32_t idx = static_cast<int32_t>(symbols.size());
      symbols.push_back({idx - 1, idx + 1, static_cast<uint32_t>(i), 1, byte_symbols[static_cast<uint8_t>(word[i])]});
    }
  } else {
    for (size_t off = 0; off < word.size();) {
      size_t n = char_len(word, off);
      int32_t idx = static_cast<int32_t>(symbols.size());
      symbols.push_back({idx - 1, idx + 1, static_cast<uint32_t>(off), static_cast<uint32_t>(n),
                         this->symbols.find(word.substr(off, n))});
      off += n;
    }
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    int32_t a = symbols[static_cast<size_t>(left)].id, b = symbols[static_cast<size_t>(right)].id;
    if (a < 0 || b < 0) return;
    auto it = merges.find(pair_key(a, b));
    if (it == merges.end()) return;
    heap.push_back({it->second.rank, left, right, a, b});
    std::push_heap(heap.begin(), heap.end(), CandidateGreater{});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), CandidateGreater{});
    Candidate c = heap.back();
    heap.pop_back();
    Symbol& l = symbols[static_cast<size_t>(c.left)];
    Symbol& r = symbols[static_cast<size_t>(c.right)];
    // Stale when either side changed since the candidate was queued (a merged-away symbol
    // has len 0; a grown one has another id).
    if (l.len == 0 || r.len == 0 || l.id != c.left_id || r.id != c.right_id || l.next != c.right) continue;
    l.id = merges.find(pair_key(c.left_id, c.right_id))->second.merged;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = c.left;
    try_add(l.prev, c.left);
    try_add(c.left, l.next);
  }

  for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& s = symbols[static_cast<size_t>(i)];
    if (s.id >= 0 && s.id < n_vocab)
      out.push_back(s.id);
    else
      emit_bytes(word.substr(s.off, s.len), out);
  }
}

Status Tokenizer::Impl::bpe_encode(std::string_view text, std::vector<int32_t>& out, bool strict) const {
  std::string escaped;
  if (spec.escape_spaces) {
    escaped.reserve(text.size() + text.size() / 4);
    for (char c : text) {
      if (c == ' ')
        escaped += kSpaceMarker;
      else
        escaped.push_back(c);
    }
    text = escaped;
  }
  struct Ctx {
    const Tokenizer::Impl* im;
    WordCache* cache;
    std::vector<int32_t>* out;
  } ctx{this, &WordCache::for_tokenizer(uid), &out};
  // Pieces are encoded as the pre-tokenizer finds them, so no list of them is ever held.
  return pre.split(
      text,
      [](void* c, std::string_view w) {
        auto& x = *static_cast<Ctx*>(c);
        if (w.size() > 64 || !x.cache->lookup(w, *x.out)) {  // long pre-tokens (space runs, base64) rarely repeat
          size_t before = x.out->size();
          x.im->bpe_encode_word(w, *x.out);
          if (w.size() <= 64) x.cache->insert(w, x.out->data() + before, x.out->size() - before);
        }
      },
      &ctx, strict);
}

}  // namespace fragua::tokenize
