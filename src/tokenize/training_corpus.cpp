// SPDX-License-Identifier: Apache-2.0
#include "tokenize/training_corpus.h"

#include <algorithm>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/base/utf8.h"

namespace fragua::tokenize {

namespace {

constexpr size_t kBlockBytes = 8u << 20;  // text handed to the threads at a time

bool is_jsonl(const std::string& path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".jsonl") || ends(".json") || ends(".ndjson");
}

// Removes the words seen once when a language's table outgrows its bound (Misra-Gries-like
// pruning; singletons barely move merge statistics).
void prune(LangCounts& c, size_t max_words) {
  if (c.words.size() <= max_words) return;
  uint64_t floor = 1;
  while (c.words.size() > max_words / 2 && floor < (1u << 20)) {
    for (auto it = c.words.begin(); it != c.words.end();) it = it->second <= floor ? c.words.erase(it) : std::next(it);
    floor *= 2;
  }
}

struct Doc {
  std::string_view text;
  std::string lang;
  std::string owned;  // JSON-decoded text
};

struct ThreadState {
  std::map<std::string, LangCounts> counts;
};

void count_doc(std::string_view raw, const std::string& lang, const TrainOptions& opt, ThreadState& st) {
  std::string clean = utf8::is_valid(raw) ? std::string(raw) : utf8::sanitize(raw);
  std::string text = normalize(clean, opt.normalization);
  LangCounts& lc = st.counts[lang];
  lc.bytes += text.size() + 1;
  lc.docs += 1;
  auto add = [&](std::string_view w) {
    auto it = lc.words.find(w);
    if (it == lc.words.end())
      lc.words.emplace(std::string(w), 1);
    else
      ++it->second;
  };
  for_each_training_word(text, opt.split_digits, add);
  add("\n");  // the document break
  if (lc.words.size() > opt.max_words_per_lang) prune(lc, opt.max_words_per_lang);
}

Status parse_line(std::string_view line, const TrainInput& in, bool jsonl, const TrainOptions& opt, size_t line_no,
                  Doc& doc) {
  if (!jsonl) {
    doc.text = line;
    doc.lang = in.lang;
    return {};
  }
  nlohmann::json j = FRAGUA_TRY(parse_json(line, fmt::format("{}:{}", in.path, line_no)));
  if (!j.is_object() || !j.contains(opt.text_field) || !j[opt.text_field].is_string())
    return corruption_error("{}:{}: no string field '{}'", in.path, line_no, opt.text_field);
  doc.owned = j[opt.text_field].get<std::string>();
  doc.text = doc.owned;
  doc.lang =
      j.contains(opt.lang_field) && j[opt.lang_field].is_string() ? j[opt.lang_field].get<std::string>() : in.lang;
  if (doc.lang.empty())
    return corruption_error("{}:{}: no '{}' field and no language given for the file", in.path, line_no,
                            opt.lang_field);
  return {};
}

}  // namespace

Result<std::map<std::string, LangCounts>> count_corpus(const TrainOptions& opt) {
  uint64_t total = 0;
  for (const auto& in : opt.inputs) {
    if (!is_jsonl(in.path) && in.lang.empty())
      return invalid_argument_error("{}: a text file needs a language (write it as LANG=PATH)", in.path);
    total += FRAGUA_TRY(Env::posix().file_size(in.path));
  }
  if (opt.max_input_bytes) total = std::min(total, opt.max_input_bytes);
  ThreadPool pool(opt.threads);
  std::vector<ThreadState> states(static_cast<size_t>(pool.size()));
  ProgressBar bar("reading corpus", total, "B");
  uint64_t consumed = 0;
  for (const auto& in : opt.inputs) {
    auto file = FRAGUA_TRY(MappedFile::open(in.path));
    std::string_view all = file.view();
    const bool jsonl = is_jsonl(in.path);
    size_t line_base = 1;
    for (size_t off = 0; off < all.size() && (!opt.max_input_bytes || consumed < opt.max_input_bytes);) {
      size_t end = std::min(all.size(), off + kBlockBytes);
      if (end < all.size()) {
        size_t nl = all.find('\n', end);
        end = nl == std::string_view::npos ? all.size() : nl + 1;
      }
      std::vector<std::string_view> lines;
      for (size_t p = off; p < end;) {
        size_t nl = all.find('\n', p);
        size_t e = nl == std::string_view::npos || nl >= end ? end : nl;
        lines.push_back(all.substr(p, e - p));
        p = e + 1;
      }
      std::vector<std::optional<Error>> errors(static_cast<size_t>(pool.size()));
      pool.run([&](int ith, int nth) {
        size_t b, e;
        split_range(lines.size(), ith, nth, b, e);
        Doc doc;
        for (size_t i = b; i < e && !errors[static_cast<size_t>(ith)]; ++i) {
          std::string_view line = lines[i];
          if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
          if (line.empty()) continue;
          auto st = parse_line(line, in, jsonl, opt, line_base + i, doc);
          if (!st.ok()) {
            errors[static_cast<size_t>(ith)] = st.error();
            continue;
          }
          count_doc(doc.text, doc.lang, opt, states[static_cast<size_t>(ith)]);
        }
      });
      for (auto& e : errors)
        if (e) return *e;
      line_base += lines.size();
      consumed += end - off;
      bar.add(end - off);
      off = end;
    }
  }
  bar.finish();
  std::map<std::string, LangCounts> merged;
  for (auto& st : states) {
    for (auto& [lang, lc] : st.counts) {
      LangCounts& m = merged[lang];
      m.bytes += lc.bytes;
      m.docs += lc.docs;
      if (m.words.empty()) {
        m.words = std::move(lc.words);
      } else {
        for (auto& [w, n] : lc.words) m.words[w] += n;  // NOLINT
      }
      lc.words.clear();
    }
  }
  for (auto& [lang, lc] : merged) prune(lc, opt.max_words_per_lang);
  return merged;
}

}  // namespace fragua::tokenize
