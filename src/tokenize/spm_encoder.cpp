// SPDX-License-Identifier: Apache-2.0
// SentencePiece-style BPE encoding (Kudo & Richardson 2018; sentencepiece/bpe_model.cc's
// algorithm): start from UTF-8 characters, repeatedly merge the adjacent pair whose
// concatenation is a vocabulary piece with the highest score (ties: the leftmost pair), until
// no pair is a piece. A final symbol that is not a piece (an unseen character) is written as its
// bytes with byte-fallback tokens <0xNN>, or as <unk> when the vocabulary has none.
#include <algorithm>

#include "fragua/base/utf8.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

namespace {

struct Symbol {
  int32_t prev, next;
  uint32_t off, len;
};

struct Bigram {
  float score;
  int32_t left, right;
  uint32_t size;
};

struct BigramLess {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

// A valid UTF-8 character is one symbol; each byte of an invalid sequence is a symbol of its own
// (so byte fallback writes exactly those bytes, and an escaped space after a stray lead byte
// stays a space: decode(encode(x)) == x for any bytes).
size_t char_len(std::string_view s, size_t pos) {
  if (static_cast<uint8_t>(s[pos]) < 0x80) return 1;
  size_t n = utf8::sequence_length(s.substr(pos));
  return n ? n : 1;
}

}  // namespace

void Tokenizer::Impl::emit_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
  for (unsigned char c : bytes) {
    int32_t id = byte_tokens[c];
    if (id >= 0) {
      out.push_back(id);
    } else if (spec.unk_id >= 0 && (out.empty() || out.back() != spec.unk_id)) {
      out.push_back(spec.unk_id);  // no byte token: one <unk> for the run (SentencePiece's rule)
    }
  }
}

void Tokenizer::Impl::spm_encode(std::string_view text, std::vector<int32_t>& out) const {
  if (!spm_word_separable) {
    spm_encode_span(text, out);
    return;
  }
  WordCache& cache = WordCache::for_tokenizer(uid);
  // Words: a run of markers then everything up to the next marker.
  size_t start = 0;
  while (start < text.size()) {
    size_t p = start;
    while (text.compare(p, kSpaceMarker.size(), kSpaceMarker) == 0) p += kSpaceMarker.size();
    size_t end = text.find(kSpaceMarker, p);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    if (word.size() > 64 || !cache.lookup(word, out)) {
      size_t before = out.size();
      spm_encode_span(word, out);
      if (word.size() <= 64) cache.insert(word, out.data() + before, out.size() - before);
    }
    start = end;
  }
}

void Tokenizer::Impl::spm_encode_span(std::string_view text, std::vector<int32_t>& out) const {
  if (text.size() > kMaxMergeRunBytes) {
    for (size_t b = 0; b < text.size();) {
      size_t e = merge_run_end(text, b, /*marker_words=*/true);
      spm_encode_span(text.substr(b, e - b), out);
      b = e;
    }
    return;
  }
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Bigram> heap_storage;
  symbols.clear();
  heap_storage.clear();
  for (size_t off = 0; off < text.size();) {
    size_t n = char_len(text, off);
    int32_t idx = static_cast<int32_t>(symbols.size());
    symbols.push_back(
        {idx - 1, off + n == text.size() ? -1 : idx + 1, static_cast<uint32_t>(off), static_cast<uint32_t>(n)});
    off += n;
  }
  std::vector<Bigram>& heap = heap_storage;  // a max-heap under BigramLess
  auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    std::string_view cat = text.substr(l.off, l.len + r.len);  // adjacent: contiguous bytes
    int32_t id = pieces.find(cat);
    if (id < 0) return;
    heap.push_back({spec.scores.empty() ? 0.0f : spec.scores[static_cast<size_t>(id)], left, right,
                    static_cast<uint32_t>(cat.size())});
    std::push_heap(heap.begin(), heap.end(), BigramLess{});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) try_add(i - 1, i);

  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), BigramLess{});
    Bigram b = heap.back();
    heap.pop_back();
    Symbol& l = symbols[static_cast<size_t>(b.left)];
    Symbol& r = symbols[static_cast<size_t>(b.right)];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;  // stale entry
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& s = symbols[static_cast<size_t>(i)];
    std::string_view piece = text.substr(s.off, s.len);
    int32_t id = pieces.find(piece);
    if (id >= 0)
      out.push_back(id);
    else
      emit_bytes(piece, out);
  }
}

}  // namespace fragua::tokenize
