// SPDX-License-Identifier: Apache-2.0
// BPE training (Sennrich et al. 2016) over weighted distinct words, producing a
// SentencePiece-style vocabulary: <unk> <s> </s>, reserved control tokens, the 256 byte-fallback
// tokens <0xNN>, the merged pieces in merge order (score -i), then the alphabet. Encoding by
// score order then replays the merges, as SentencePiece's BPE models do.
//
// The merge loop keeps, per symbol pair, its weighted count and the words it occurs in; a
// max-heap with lazy deletion picks the next pair (count, then lower pair key: deterministic).
// Applying a merge touches only the words that hold the pair.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <queue>
#include <unordered_map>

#include "fragua/base/file.h"
#include "fragua/base/lang.h"
#include "fragua/base/log.h"
#include "fragua/base/metrics.h"
#include "fragua/base/parse.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/base/utf8.h"
#include "fragua/tokenize/trainer.h"
#include "tokenize/piece_table.h"
#include "tokenize/tokenizer_impl.h"
#include "tokenize/training_corpus.h"

namespace fragua::tokenize {

namespace {

constexpr double kEps = 1e-9;

uint64_t key_of(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct HeapEntry {
  double count;
  uint64_t key;
  bool operator<(const HeapEntry& o) const { return count < o.count || (count == o.count && key > o.key); }
};

struct Corpus {
  std::vector<std::vector<int32_t>> words;  // symbol ids; -1 is a character outside the alphabet
  std::vector<double> weight;
};

struct State {
  std::vector<std::string> symbols;   // text of each symbol id
  std::vector<int32_t> symbol_chars;  // length in characters
  PieceTable symbol_ids;
  std::unordered_map<uint64_t, double> counts;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;
  std::priority_queue<HeapEntry> heap;
};

// Weighted words of all languages, each language scaled to its share of the mixture.
Result<std::vector<std::pair<std::string, double>>> mix_words(std::map<std::string, LangCounts>& langs,
                                                              const TrainOptions& opt) {
  uint64_t all_bytes = 0;
  for (auto& [l, c] : langs) all_bytes += c.bytes;
  // A mixture entry's share is split over the languages it covers ("ca" covers "ca-valencia")
  // in proportion to their bytes.
  std::vector<std::string> entries;
  for (const auto& [lang, share] : opt.mix) entries.push_back(lang);
  std::vector<uint64_t> entry_bytes(entries.size(), 0);
  for (auto& [l, c] : langs) {
    int e = mixture_entry(l, entries);
    if (e >= 0) entry_bytes[static_cast<size_t>(e)] += c.bytes;
  }
  std::unordered_map<std::string, double> merged;
  for (auto& [lang_key, c] : langs) {
    const std::string lang = lang_key;  // (a structured binding cannot be captured before C++20 in clang 14)
    double w = 1.0;
    if (!opt.mix.empty()) {
      int e = mixture_entry(lang, entries);
      if (e < 0) {
        log_warn("tokenizer train: language '{}' is not in --mix: left out", lang);
        continue;
      }
      w = opt.mix[static_cast<size_t>(e)].second * static_cast<double>(all_bytes) /
          static_cast<double>(std::max<uint64_t>(entry_bytes[static_cast<size_t>(e)], 1));
    }
    log_info("tokenizer train: {} {} documents, {}, {} distinct words, weight {:.3f}", lang, c.docs,
             format_bytes(static_cast<double>(c.bytes)), c.words.size(), w);
    for (auto& [word, n] : c.words) merged[word] += w * static_cast<double>(n);
    c.words.clear();
  }
  for (size_t e = 0; e < entries.size(); ++e)
    if (entry_bytes[e] == 0) return invalid_argument_error("--mix names language '{}' but no input has it", entries[e]);
  std::vector<std::pair<std::string, double>> out(merged.begin(), merged.end());
  std::sort(out.begin(), out.end());  // deterministic order whatever the hashing
  if (out.empty()) return invalid_argument_error("the training corpus is empty");
  return out;
}

// The alphabet: characters by weighted frequency until `coverage` of all characters, then the
// required characters not yet in it (in their given order), whatever their counts.
std::vector<std::string> choose_alphabet(const std::vector<std::pair<std::string, double>>& words, double coverage,
                                         const std::vector<std::string>& required) {
  std::unordered_map<std::string, double> freq;
  double total = 0;
  for (const auto& [w, n] : words) {
    for (size_t p = 0; p < w.size();) {
      size_t len = std::max<size_t>(1, utf8::sequence_length(std::string_view(w).substr(p)));
      freq[w.substr(p, len)] += n;
      total += n;
      p += len;
    }
  }
  std::vector<std::pair<std::string, double>> sorted(freq.begin(), freq.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  std::vector<std::string> alphabet;
  double acc = 0;
  for (const auto& [c, n] : sorted) {
    if (acc >= coverage * total && c != std::string(kSpaceMarker)) continue;
    alphabet.push_back(c);
    acc += n;
  }
  for (const auto& c : required)
    if (std::find(alphabet.begin(), alphabet.end(), c) == alphabet.end()) alphabet.push_back(c);
  return alphabet;
}

// Adds every word of the dictionaries, cut into training words as running text would be, at its
// dictionary's weight.
Status add_dictionary_words(const TrainOptions& opt, std::vector<std::pair<std::string, double>>& words) {
  if (opt.dictionaries.empty()) return ok_status();
  std::unordered_map<std::string, double> extra;
  for (const auto& d : opt.dictionaries) {
    std::string stem = d.path;
    if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".dic") == 0) stem.resize(stem.size() - 4);
    auto dic = FRAGUA_TRY(read_file(d.path));
    std::string aff;
    if (auto a = read_file(stem + ".aff"); a.ok()) aff = std::move(*a);
    auto hw = FRAGUA_TRY(read_hunspell(dic, aff, stem));
    log_info("tokenizer train: dictionary {}: {} stems, {} words{}, weight {}", d.path, hw.stems, hw.words.size(),
             hw.expanded ? " (affixes expanded one level)" : " (stems only)", d.weight);
    for (const auto& w : hw.words) {
      std::string text = " " + normalize(w, opt.normalization);
      for_each_training_word(text, opt.split_digits,
                             [&](std::string_view piece) { extra[std::string(piece)] += d.weight; });
    }
  }
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < words.size(); ++i) index.emplace(words[i].first, i);
  for (auto& [w, n] : extra) {
    auto it = index.find(w);
    if (it != index.end())
      words[it->second].second += n;
    else
      words.emplace_back(w, n);
  }
  std::sort(words.begin(), words.end());  // deterministic order whatever the hashing
  return ok_status();
}

void add_pair_count(State& st, int32_t a, int32_t b, double w, uint32_t word) {
  if (a < 0 || b < 0) return;
  uint64_t k = key_of(a, b);
  st.counts[k] += w;
  if (word != UINT32_MAX) {
    auto& v = st.where[k];
    if (v.empty() || v.back() != word) v.push_back(word);
  }
}

void initial_counts(State& st, const Corpus& corpus, ThreadPool& pool) {
  std::vector<std::unordered_map<uint64_t, double>> local(static_cast<size_t>(pool.size()));
  pool.run([&](int ith, int nth) {
    size_t b, e;
    split_range(corpus.words.size(), ith, nth, b, e);
    auto& m = local[static_cast<size_t>(ith)];
    for (size_t i = b; i < e; ++i) {
      const auto& w = corpus.words[i];
      for (size_t j = 1; j < w.size(); ++j)
        if (w[j - 1] >= 0 && w[j] >= 0) m[key_of(w[j - 1], w[j])] += corpus.weight[i];
    }
  });
  for (auto& m : local)
    for (auto& [k, c] : m) st.counts[k] += c;
  for (uint32_t i = 0; i < corpus.words.size(); ++i) {
    const auto& w = corpus.words[i];
    for (size_t j = 1; j < w.size(); ++j) {
      if (w[j - 1] < 0 || w[j] < 0) continue;
      auto& v = st.where[key_of(w[j - 1], w[j])];
      if (v.empty() || v.back() != i) v.push_back(i);
    }
  }
  for (auto& [k, c] : st.counts) st.heap.push({c, k});
}

// Replaces every (a, b) in the words that hold it with m, updating the pair statistics.
void apply_merge(State& st, Corpus& corpus, int32_t a, int32_t b, int32_t m) {
  uint64_t k = key_of(a, b);
  std::vector<uint32_t> holders = std::move(st.where[k]);
  std::unordered_map<uint64_t, double> touched;
  for (uint32_t wi : holders) {
    auto& w = corpus.words[wi];
    double wt = corpus.weight[wi];
    bool changed = false;
    for (size_t j = 0; j + 1 < w.size(); ++j) {
      if (w[j] != a || w[j + 1] != b) continue;
      int32_t prev = j > 0 ? w[j - 1] : -1, next = j + 2 < w.size() ? w[j + 2] : -1;
      if (prev >= 0) {
        st.counts[key_of(prev, a)] -= wt;
        add_pair_count(st, prev, m, wt, wi);
        touched[key_of(prev, m)];
      }
      if (next >= 0) {
        st.counts[key_of(b, next)] -= wt;
        add_pair_count(st, m, next, wt, wi);
        touched[key_of(m, next)];
      }
      w[j] = m;
      w.erase(w.begin() + static_cast<std::ptrdiff_t>(j) + 1);
      changed = true;
    }
    (void)changed;
  }
  st.counts.erase(k);
  st.where.erase(k);
  for (auto& [tk, unused] : touched) {
    auto it = st.counts.find(tk);
    if (it != st.counts.end() && it->second > kEps) st.heap.push({it->second, tk});
  }
}

}  // namespace

const std::vector<std::string>& iberian_required_characters() {
  // Apostrophe and quotes as typeset (’ ‘ “ ” « »), Spanish inverted marks (¿ ¡), ordinal
  // indicators (ª º), the middle dot of Catalan l·l, ñ ç ü ï and the accented vowels of the four
  // orthographies, in both cases.
  static const std::vector<std::string> kChars = {"’", "‘", "“", "”", "«", "»", "¿", "¡", "ª", "º", "·", "ñ",
                                                  "Ñ", "ç", "Ç", "ü", "Ü", "ï", "Ï", "á", "é", "í", "ó", "ú",
                                                  "Á", "É", "Í", "Ó", "Ú", "à", "è", "ò", "À", "È", "Ò"};
  return kChars;
}

Result<std::vector<std::pair<std::string, double>>> parse_mix(std::string_view text) {
  auto mix = FRAGUA_TRY(parse_mixture(text, "--mix"));
  double sum = 0;
  for (const auto& m : mix) sum += m.second;
  for (auto& m : mix) m.second /= sum;
  return mix;
}

Result<Tokenizer> train_bpe(const TrainOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> fixed = {"<unk>", "<s>", "</s>"};
  for (const auto& s : opt.special_tokens) {
    if (s.empty()) return invalid_argument_error("special tokens must not be empty");
    if (std::find(fixed.begin(), fixed.end(), s) != fixed.end())
      return invalid_argument_error("special token '{}' given twice", s);
    fixed.push_back(s);
  }
  const int32_t n_fixed = static_cast<int32_t>(fixed.size()) + 256;
  if (opt.vocab_size < n_fixed + 1)
    return invalid_argument_error("vocabulary size {} leaves no room after {} special and byte tokens", opt.vocab_size,
                                  n_fixed);
  if (opt.inputs.empty()) return invalid_argument_error("no training input");

  auto langs = FRAGUA_TRY(count_corpus(opt));
  auto words = FRAGUA_TRY(mix_words(langs, opt));
  FRAGUA_TRY(add_dictionary_words(opt, words));
  std::vector<std::string> required;
  for (const auto& c : opt.required_characters) {
    std::string n = normalize(c, opt.normalization);
    if (utf8::sequence_length(n) != n.size() || n.empty())
      return invalid_argument_error("required character '{}' is not one character after {} normalization",
                                    terminal_safe(c), normalization_name(opt.normalization));
    required.push_back(std::move(n));
  }
  std::vector<std::string> alphabet = choose_alphabet(words, opt.character_coverage, required);
  if (static_cast<int32_t>(alphabet.size()) > opt.vocab_size - n_fixed) {
    // The rarest characters go to byte fallback rather than overshoot the requested size; the
    // required ones stay.
    size_t room = static_cast<size_t>(opt.vocab_size - n_fixed);
    log_warn("tokenizer train: {} characters do not fit a vocabulary of {}; the {} rarest use byte fallback",
             alphabet.size(), opt.vocab_size, alphabet.size() - room);
    auto is_required = [&](const std::string& c) {
      return std::find(required.begin(), required.end(), c) != required.end();
    };
    size_t n_required = static_cast<size_t>(std::count_if(alphabet.begin(), alphabet.end(), is_required));
    size_t free_slots = room > n_required ? room - n_required : 0;
    std::vector<std::string> kept;
    for (const auto& c : alphabet) {
      if (is_required(c)) {
        kept.push_back(c);
      } else if (free_slots > 0) {
        kept.push_back(c);
        --free_slots;
      }
    }
    if (kept.size() > room) kept.resize(room);
    alphabet = std::move(kept);
  }

  State st;
  for (const auto& c : alphabet) {
    st.symbol_ids.insert(c, static_cast<int32_t>(st.symbols.size()));
    st.symbols.push_back(c);
    st.symbol_chars.push_back(1);
  }
  Corpus corpus;
  corpus.words.reserve(words.size());
  for (const auto& [w, n] : words) {
    std::vector<int32_t> syms;
    for (size_t p = 0; p < w.size();) {
      size_t len = std::max<size_t>(1, utf8::sequence_length(std::string_view(w).substr(p)));
      syms.push_back(st.symbol_ids.find(std::string_view(w).substr(p, len)));
      p += len;
    }
    corpus.words.push_back(std::move(syms));
    corpus.weight.push_back(n);
  }
  words.clear();
  words.shrink_to_fit();
  ThreadPool pool(opt.threads);
  initial_counts(st, corpus, pool);

  const int32_t target = opt.vocab_size - n_fixed;  // pieces: alphabet + merges
  std::vector<int32_t> merged_order;                // symbol ids created by merges, in order
  MetricsWriter metrics;
  if (!opt.metrics_path.empty()) metrics = FRAGUA_TRY(MetricsWriter::open(opt.metrics_path));
  ProgressBar bar("merges", static_cast<uint64_t>(std::max(0, target - static_cast<int32_t>(alphabet.size()))),
                  "merges");
  PieceTable reserved;
  for (size_t i = 0; i < fixed.size(); ++i) reserved.insert(fixed[i], static_cast<int32_t>(i));
  while (static_cast<int32_t>(st.symbols.size()) < target && !st.heap.empty()) {
    HeapEntry top = st.heap.top();
    st.heap.pop();
    auto it = st.counts.find(top.key);
    if (it == st.counts.end() || it->second <= kEps) continue;
    if (std::abs(it->second - top.count) > kEps * std::max(1.0, top.count)) {
      st.heap.push({it->second, top.key});  // stale: requeue with the current count
      continue;
    }
    auto a = static_cast<int32_t>(top.key >> 32), b = static_cast<int32_t>(top.key & 0xFFFFFFFFu);
    if (st.symbol_chars[static_cast<size_t>(a)] + st.symbol_chars[static_cast<size_t>(b)] > opt.max_piece_chars) {
      st.counts.erase(it);  // too long a piece: never merge this pair
      continue;
    }
    std::string text = st.symbols[static_cast<size_t>(a)] + st.symbols[static_cast<size_t>(b)];
    int32_t m = st.symbol_ids.find(text);
    if (m < 0) {
      m = static_cast<int32_t>(st.symbols.size());
      st.symbol_ids.insert(text, m);
      st.symbols.push_back(text);
      st.symbol_chars.push_back(st.symbol_chars[static_cast<size_t>(a)] + st.symbol_chars[static_cast<size_t>(b)]);
      if (reserved.find(text) < 0) merged_order.push_back(m);
      bar.add(1);
      if (metrics.is_open() && merged_order.size() % 1000 == 0)
        FRAGUA_TRY(metrics.write({{"merges", merged_order.size()}, {"count", top.count}, {"piece", text}}));
    }
    apply_merge(st, corpus, a, b, m);
  }
  bar.finish();

  VocabSpec s;
  s.kind = ModelKind::spm;
  for (size_t i = 0; i < fixed.size(); ++i) {
    s.tokens.push_back(fixed[i]);
    s.scores.push_back(0);
    s.types.push_back(i == 0 ? TokenType::unknown : TokenType::control);
  }
  for (int b = 0; b < 256; ++b) {
    s.tokens.push_back(byte_token_text(static_cast<uint8_t>(b)));
    s.scores.push_back(0);
    s.types.push_back(TokenType::byte);
  }
  float score = 0;
  for (int32_t m : merged_order) {
    s.tokens.push_back(st.symbols[static_cast<size_t>(m)]);
    s.scores.push_back(score);
    s.types.push_back(TokenType::normal);
    score -= 1;
  }
  for (const auto& c : alphabet) {
    if (reserved.find(c) >= 0) continue;
    s.tokens.push_back(c);
    s.scores.push_back(score);
    s.types.push_back(TokenType::normal);
    score -= 1;
  }
  s.unk_id = 0;
  s.bos_id = 1;
  s.eos_id = 2;
  s.add_bos = true;
  s.add_space_prefix = true;
  s.normalization = opt.normalization;  // text is encoded as it was trained: NFD input reads as NFC
  for (size_t i = 3; i < fixed.size(); ++i)
    if (fixed[i] == "<|im_end|>" || fixed[i] == "<|eot_id|>") s.eot_id = static_cast<int32_t>(i);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string inputs, mix;
  for (const auto& in : opt.inputs)
    inputs += (inputs.empty() ? "" : ",") + (in.lang.empty() ? "" : in.lang + "=") + in.path;
  for (const auto& [l, w] : opt.mix) mix += fmt::format("{}{}={:.4f}", mix.empty() ? "" : ",", l, w);
  std::string required_text, dictionaries;
  for (const auto& c : required) required_text += c;
  for (const auto& d : opt.dictionaries)
    dictionaries += fmt::format("{}{}:{}", dictionaries.empty() ? "" : ",", d.path, d.weight);
  if (dictionaries.empty()) dictionaries = "none";
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  s.info = {{"trainer", "fragua tokenizer train (BPE, byte fallback)"},
            {"fragua_version", FRAGUA_VERSION},
            {"command", opt.command_line},
            {"inputs", inputs},
            {"mix", mix.empty() ? "as-is" : mix},
            {"training_normalization", std::string(normalization_name(opt.normalization))},
            {"split_digits", opt.split_digits ? "true" : "false"},
            {"character_coverage", fmt::format("{}", opt.character_coverage)},
            {"required_characters", required_text},
            {"dictionaries", dictionaries},
            {"vocab_size", std::to_string(s.tokens.size())},
            {"date", date},
            {"training_seconds", fmt::format("{:.1f}", secs)}};
  return Tokenizer::from_spec(std::move(s));
}

}  // namespace fragua::tokenize
