// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/text_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "fragua/base/utf8.h"
#include "fragua/eval/fewshot.h"

namespace fragua::eval {

namespace {

// UTF-8 to code points; an invalid byte stands for itself (U+DC80 + byte would be Python's
// surrogateescape; any one code point per byte keeps the counts Python's).
std::u32string metrics_code_points(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + static_cast<size_t>(len) <= s.size();
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; ok && k < len; ++k) {
      const auto d = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((d & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if (!ok) {
      out.push_back(0xDC00 + c);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += static_cast<size_t>(len);
  }
  return out;
}

// The characters Python's str.split() splits on (str.isspace()).
bool metrics_is_py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= 0xDC80 && cp <= 0xDCFF)
    out.push_back(static_cast<char>(cp - 0xDC00));  // a byte that was not UTF-8, given back as it came
  else
    utf8::append(out, cp);
}

void replace_all_in(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

bool is_13a_symbol(char c) {
  // [\{-\~\[-\` -\&\(-\+\:-\@\/]
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') || (c >= '(' && c <= '+') ||
         (c >= ':' && c <= '@') || c == '/';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// One re.sub of a two-character pattern: left to right, non-overlapping, each match replaced by
// `emit` (which appends the replacement of the pair a, b).
template <typename Match, typename Emit>
std::string sub_pairs(const std::string& s, Match match, Emit emit) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && match(s[i], s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// Python's ' '.join(s.split()) over code points.
std::string join_py_split(std::string_view s) {
  std::string out;
  bool pending = false;
  for (char32_t c : metrics_code_points(s)) {
    if (metrics_is_py_space(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out.push_back(' ');
    pending = false;
    append_utf8(out, c);
  }
  return out;
}

std::vector<std::string> split_on_space(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size() && !s.empty()) {
    const size_t sp = std::min(s.find(' ', pos), s.size());
    out.push_back(s.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

// Python's str.rstrip().
std::string_view py_rstrip(std::string_view s) {
  auto cps = metrics_code_points(s);
  size_t keep = s.size();
  // Walk back over whole code points that are whitespace.
  while (!cps.empty() && metrics_is_py_space(cps.back())) {
    std::string tail;
    append_utf8(tail, cps.back());
    keep -= tail.size();
    cps.pop_back();
  }
  return s.substr(0, keep);
}

using NgramCounts = std::map<std::vector<std::string>, int64_t>;

NgramCounts word_ngrams(const std::vector<std::string>& words, size_t n) {
  NgramCounts out;
  for (size_t i = 0; i + n <= words.size(); ++i)
    ++out[std::vector<std::string>(words.begin() + static_cast<ptrdiff_t>(i),
                                   words.begin() + static_cast<ptrdiff_t>(i + n))];
  return out;
}

std::array<std::unordered_map<std::u32string, int64_t>, 6> char_ngrams(std::string_view text) {
  std::u32string line;
  for (char32_t c : metrics_code_points(text))
    if (!metrics_is_py_space(c)) line.push_back(c);
  std::array<std::unordered_map<std::u32string, int64_t>, 6> out;
  for (size_t n = 1; n <= 6; ++n)
    for (size_t i = 0; i + n <= line.size(); ++i) ++out[n - 1][line.substr(i, n)];
  return out;
}

}  // namespace

double exact_match(std::string_view prediction, std::string_view reference) {
  return prediction == reference ? 1.0 : 0.0;
}

std::string tokenize_13a(std::string_view text) {
  std::string line(text);
  replace_all_in(line, "<skipped>", "");
  replace_all_in(line, "-\n", "");
  replace_all_in(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all_in(line, "&quot;", "\"");
    replace_all_in(line, "&amp;", "&");
    replace_all_in(line, "&lt;", "<");
    replace_all_in(line, "&gt;", ">");
  }
  line = " " + line + " ";
  // TokenizerRegexp. The patterns look at ASCII characters only, so they run on bytes: a byte
  // of a multi-byte character is never a digit, a period or a comma, as its character is not.
  std::string spaced;
  for (char c : line) {
    if (is_13a_symbol(c)) {
      spaced += ' ';
      spaced += c;
      spaced += ' ';
    } else {
      spaced += c;
    }
  }
  const auto is_pc = [](char c) { return c == '.' || c == ','; };
  spaced = sub_pairs(
      spaced, [&](char a, char b) { return !is_digit(a) && is_pc(b); },
      [](std::string& o, char a, char b) { o += a, o += ' ', o += b, o += ' '; });
  spaced = sub_pairs(
      spaced, [&](char a, char b) { return is_pc(a) && !is_digit(b); },
      [](std::string& o, char a, char b) { o += ' ', o += a, o += ' ', o += b; });
  spaced = sub_pairs(
      spaced, [](char a, char b) { return is_digit(a) && b == '-'; },
      [](std::string& o, char a, char b) { o += a, o += ' ', o += b, o += ' '; });
  return join_py_split(spaced);
}

BleuStats& BleuStats::operator+=(const BleuStats& o) {
  sys_len += o.sys_len, ref_len += o.ref_len;
  for (size_t i = 0; i < 4; ++i) correct[i] += o.correct[i], total[i] += o.total[i];
  return *this;
}

BleuStats bleu_stats(std::string_view hypothesis, const std::vector<std::string>& references) {
  BleuStats s;
  const auto hyp = split_on_space(tokenize_13a(py_rstrip(hypothesis)));
  s.sys_len = static_cast<int64_t>(hyp.size());
  int64_t closest = -1, ref_len = -1;
  std::array<NgramCounts, 4> max_ref;
  for (const auto& r : references) {
    const auto ref = split_on_space(tokenize_13a(py_rstrip(r)));
    const auto len = static_cast<int64_t>(ref.size());
    const int64_t diff = std::abs(s.sys_len - len);
    if (closest == -1 || diff < closest)
      closest = diff, ref_len = len;
    else if (diff == closest && len < ref_len)
      ref_len = len;
    for (size_t n = 1; n <= 4; ++n)
      for (const auto& [g, c] : word_ngrams(ref, n)) max_ref[n - 1][g] = std::max(max_ref[n - 1][g], c);
  }
  s.ref_len = std::max<int64_t>(ref_len, 0);
  for (size_t n = 1; n <= 4; ++n) {
    for (const auto& [g, c] : word_ngrams(hyp, n)) {
      const auto it = max_ref[n - 1].find(g);
      s.correct[n - 1] += std::min(c, it == max_ref[n - 1].end() ? 0 : it->second);
      s.total[n - 1] += c;
    }
  }
  return s;
}

double bleu_score(const BleuStats& s) {
  std::array<double, 4> precision{};
  double smooth = 1;
  for (size_t n = 0; n < 4; ++n) {
    if (s.total[n] == 0) break;
    if (s.correct[n] == 0) {
      smooth *= 2;
      precision[n] = 100.0 / (smooth * static_cast<double>(s.total[n]));
    } else {
      precision[n] = 100.0 * static_cast<double>(s.correct[n]) / static_cast<double>(s.total[n]);
    }
  }
  double bp = 1;
  if (s.sys_len < s.ref_len)
    bp = s.sys_len > 0 ? std::exp(1.0 - static_cast<double>(s.ref_len) / static_cast<double>(s.sys_len)) : 0.0;
  double log_sum = 0;
  // sacreBLEU's my_log: log(0) is -9999999999, so an order with no n-gram at all zeroes the score.
  for (double p : precision) log_sum += p == 0 ? -9999999999.0 : std::log(p);
  return bp * std::exp(log_sum / 4);
}

ChrfStats& ChrfStats::operator+=(const ChrfStats& o) {
  for (size_t i = 0; i < v.size(); ++i) v[i] += o.v[i];
  return *this;
}

ChrfStats chrf_stats(std::string_view hypothesis, const std::vector<std::string>& references) {
  const auto hyp = char_ngrams(hypothesis);
  ChrfStats best;
  double best_f = -1;
  for (const auto& r : references) {
    const auto ref = char_ngrams(r);
    ChrfStats s;
    for (size_t n = 0; n < 6; ++n) {
      int64_t nh = 0, nr = 0, match = 0;
      for (const auto& [g, c] : hyp[n]) {
        nh += c;
        const auto it = ref[n].find(g);
        if (it != ref[n].end()) match += std::min(c, it->second);
      }
      for (const auto& [g, c] : ref[n]) nr += c;
      s.v[3 * n] = nh, s.v[3 * n + 1] = nr, s.v[3 * n + 2] = match;
    }
    const double f = chrf_score(s);
    if (f > best_f) best_f = f, best = s;
  }
  return best;
}

double chrf_score(const ChrfStats& s) {
  constexpr double kFactor = 4;  // beta squared
  double avg_prec = 0, avg_rec = 0;
  int effective = 0;
  for (size_t n = 0; n < 6; ++n) {
    const auto nh = static_cast<double>(s.v[3 * n]), nr = static_cast<double>(s.v[3 * n + 1]),
               m = static_cast<double>(s.v[3 * n + 2]);
    if (nh > 0 && nr > 0) {
      avg_prec += m / nh;
      avg_rec += m / nr;
      ++effective;
    }
  }
  if (effective == 0) return 0;
  avg_prec /= effective;
  avg_rec /= effective;
  if (avg_prec + avg_rec == 0) return 0;
  return 100 * (1 + kFactor) * avg_prec * avg_rec / (kFactor * avg_prec + avg_rec);
}

double corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs) {
  BleuStats total;
  for (size_t i = 0; i < hyps.size() && i < refs.size(); ++i) total += bleu_stats(hyps[i], refs[i]);
  return bleu_score(total);
}

double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs) {
  ChrfStats total;
  for (size_t i = 0; i < hyps.size() && i < refs.size(); ++i) total += chrf_stats(hyps[i], refs[i]);
  return chrf_score(total);
}

namespace {

template <typename Stats, typename Score>
double bootstrap_stderr_of(const std::vector<Stats>& items, int iters, Score score) {
  if (items.empty() || iters < 2) return 0;
  // The harness: chunks of min(1000, iters) resamples, chunk i drawn by random.Random(i).
  const int chunk = std::min(1000, iters);
  std::vector<double> scores;
  for (int c = 0; c < iters / chunk; ++c) {
    PyRandom rnd(static_cast<uint64_t>(c));
    for (int k = 0; k < chunk; ++k) {
      Stats sum;
      for (size_t i : rnd.choices(items.size(), items.size())) sum += items[i];
      scores.push_back(score(sum));
    }
  }
  double mean = 0;
  for (double x : scores) mean += x;
  mean /= static_cast<double>(scores.size());
  double ss = 0;
  for (double x : scores) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(scores.size() - 1));
}

}  // namespace

double bootstrap_stderr_bleu(const std::vector<BleuStats>& items, int iters) {
  return bootstrap_stderr_of(items, iters, [](const BleuStats& s) { return bleu_score(s); });
}

double bootstrap_stderr_chrf(const std::vector<ChrfStats>& items, int iters) {
  return bootstrap_stderr_of(items, iters, [](const ChrfStats& s) { return chrf_score(s); });
}

}  // namespace fragua::eval
