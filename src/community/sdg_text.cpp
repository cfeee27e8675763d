// SPDX-License-Identifier: Apache-2.0
// The text side of SDG: prompt files, parsing the teacher's labelled replies and the judge's
// score, and the corrupted answers of DPO pairs.
#include <algorithm>
#include <cctype>

#include "fragua/base/data_files.h"
#include "fragua/base/utf8.h"
#include "fragua/community/sdg.h"

namespace fragua::community {

std::string PromptTemplate::id() const { return fmt::format("{}/{}@{}", language, name, version); }

std::string PromptTemplate::render(const std::string& text, const std::map<std::string, std::string>& vars) const {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '{') {
      size_t close = text.find('}', i + 1);
      if (close != std::string::npos) {
        auto it = vars.find(text.substr(i + 1, close - i - 1));
        if (it != vars.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

namespace {

std::string_view trim_sdg_text(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequal_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// Where "label:" starts a line (after markdown markers), and where the text after it begins.
struct LabelHit {
  size_t line_begin = std::string_view::npos, text_begin = 0;
};

LabelHit find_line_label(std::string_view s, std::string_view label, size_t from) {
  size_t line = from;
  while (line < s.size()) {
    size_t end = s.find('\n', line);
    if (end == std::string_view::npos) end = s.size();
    size_t p = line;
    while (p < end && (s[p] == '*' || s[p] == '#' || s[p] == '-' || s[p] == ' ' || s[p] == '\t')) ++p;
    if (end - p > label.size() && iequal_ascii(s.substr(p, label.size()), label)) {
      size_t q = p + label.size();
      while (q < end && s[q] == '*') ++q;
      if (q < end && s[q] == ':') {
        ++q;
        while (q < end && s[q] == '*') ++q;
        return {line, q};
      }
    }
    line = end + 1;
  }
  return {};
}

}  // namespace

Result<PromptTemplate> parse_prompt_template(std::string_view text, const std::string& file,
                                             const std::string& language, const std::string& name) {
  PromptTemplate t;
  t.language = language;
  t.name = name;
  std::string* section = nullptr;
  size_t pos = 0;
  int line_no = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    ++line_no;
    if (line == "[system]") {
      section = &t.system;
    } else if (line == "[user]") {
      section = &t.user;
    } else if (section) {
      *section += std::string(line) + "\n";
    } else if (!trim_sdg_text(line).empty()) {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos)
        return invalid_argument_error("{}:{}: header lines are 'key: value' before [system] and [user]", file, line_no);
      t.header[std::string(trim_sdg_text(line.substr(0, colon)))] = std::string(trim_sdg_text(line.substr(colon + 1)));
    }
    if (end == text.size()) break;
    pos = end + 1;
  }
  auto v = t.header.find("version");
  if (v == t.header.end()) return invalid_argument_error("{}: no 'version:' header line", file);
  try {
    size_t used = 0;
    t.version = std::stoi(v->second, &used);
    if (used != v->second.size() || t.version <= 0) throw std::invalid_argument("version");
  } catch (const std::exception&) {
    return invalid_argument_error("{}: version '{}' is not a positive integer", file, v->second);
  }
  t.system = std::string(trim_sdg_text(t.system));
  t.user = std::string(trim_sdg_text(t.user));
  if (t.user.empty()) return invalid_argument_error("{}: no [user] section", file);
  return t;
}

Result<PromptSet> load_prompt_set(const std::string& dir, const std::string& language, Env& env) {
  std::string base = dir;
  if (base.empty()) {
    // find_data_file finds files, not folders: the bundled folder is the one holding es/judge.txt.
    const std::string probe = "/es/judge.txt";
    base = FRAGUA_TRY(find_data_file("sdg/prompts" + probe));
    base.resize(base.size() - probe.size());
  }
  // ca-valencia falls back to ca's prompts only when it has no folder of its own.
  std::string lang_dir = base + "/" + language;
  if (!env.is_directory(lang_dir) && language.find('-') != std::string::npos)
    lang_dir = base + "/" + language.substr(0, language.find('-'));
  PromptSet set;
  auto load = [&](const char* name, PromptTemplate& out, std::initializer_list<const char*> keys) -> Status {
    std::string path = lang_dir + "/" + name + ".txt";
    auto text = FRAGUA_TRY(read_file(path, env));
    out = FRAGUA_TRY(parse_prompt_template(text, path, language, name));
    for (const char* k : keys)
      if (!out.header.count(k)) return invalid_argument_error("{}: header '{}' is missing", path, k);
    return ok_status();
  };
  FRAGUA_TRY(load("knowledge_qa", set.knowledge, {"question_label", "answer_label"}));
  FRAGUA_TRY(load("skill_qa", set.skill, {"question_label", "answer_label"}));
  FRAGUA_TRY(load("judge", set.judge, {"score_label"}));
  return set;
}

Result<LabeledPair> parse_labeled_pair(std::string_view reply, const std::string& first, const std::string& second) {
  LabelHit a = find_line_label(reply, first, 0);
  if (a.line_begin == std::string_view::npos) return invalid_argument_error("no line starting with '{}:'", first);
  LabelHit b = find_line_label(reply, second, a.text_begin);
  if (b.line_begin == std::string_view::npos) return invalid_argument_error("no line starting with '{}:'", second);
  LabeledPair out;
  out.first = std::string(trim_sdg_text(reply.substr(a.text_begin, b.line_begin - a.text_begin)));
  out.second = std::string(trim_sdg_text(reply.substr(b.text_begin)));
  if (out.first.empty() || out.second.empty()) return invalid_argument_error("'{}' or '{}' is empty", first, second);
  if (!utf8::is_valid(out.first) || !utf8::is_valid(out.second)) return invalid_argument_error("not valid UTF-8");
  return out;
}

Result<int> parse_judge_score(std::string_view reply, const std::string& label) {
  size_t from = 0;
  LabelHit h = find_line_label(reply, label, 0);
  if (h.line_begin != std::string_view::npos) from = h.text_begin;
  for (size_t i = from; i < reply.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(reply[i]))) continue;
    size_t j = i;
    while (j < reply.size() && std::isdigit(static_cast<unsigned char>(reply[j]))) ++j;
    if (j - i == 1 && reply[i] >= '1' && reply[i] <= '5') return reply[i] - '0';
    if (h.line_begin != std::string_view::npos) break;  // the labelled number is out of range
    i = j;
  }
  return invalid_argument_error("no score 1-5 after '{}:'", label);
}

namespace {

struct TextSpan {
  size_t begin, end;
};

std::vector<TextSpan> find_numbers(std::string_view s) {
  std::vector<TextSpan> out;
  for (size_t i = 0; i < s.size();) {
    if (std::isdigit(static_cast<unsigned char>(s[i]))) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      out.push_back({i, j});
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

bool word_byte(unsigned char c) { return std::isalnum(c) || c >= 0x80 || c == '-'; }

// Capitalised words that do not open a sentence: names of places, bodies, laws.
std::vector<TextSpan> find_names(std::string_view s) {
  std::vector<TextSpan> out;
  size_t i = 0;
  bool sentence_start = true;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (!word_byte(c)) {
      if (c == '.' || c == '?' || c == '!' || c == ':' || c == '\n') sentence_start = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && word_byte(static_cast<unsigned char>(s[j]))) ++j;
    if (!sentence_start && std::isupper(c) && j - i >= 3) out.push_back({i, j});
    sentence_start = false;
    i = j;
  }
  return out;
}

// Lower-case words of at least five bytes (shorter ones are mostly articles and prepositions in
// the four languages): the words a corrupted answer may swap.
std::vector<TextSpan> find_content_words(std::string_view s) {
  std::vector<TextSpan> out;
  size_t i = 0;
  while (i < s.size()) {
    if (!word_byte(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    bool digit = false;
    for (; j < s.size() && word_byte(static_cast<unsigned char>(s[j])); ++j)
      digit = digit || std::isdigit(static_cast<unsigned char>(s[j]));
    const unsigned char first = static_cast<unsigned char>(s[i]);
    if (!digit && j - i >= 5 && (std::islower(first) || first >= 0x80)) out.push_back({i, j});
    i = j;
  }
  return out;
}

uint64_t splitmix_sdg(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string corrupt_answer(const std::string& answer, const std::string& context, const std::string& other_answer,
                           uint64_t seed, std::string& how) {
  uint64_t rng = seed;
  auto numbers = find_numbers(answer);
  if (!numbers.empty()) {
    TextSpan pick = numbers[splitmix_sdg(rng) % numbers.size()];
    std::string old = answer.substr(pick.begin, pick.end - pick.begin);
    std::vector<std::string> candidates;
    for (auto s : find_numbers(context)) {
      std::string n = context.substr(s.begin, s.end - s.begin);
      if (n != old && std::find(candidates.begin(), candidates.end(), n) == candidates.end()) candidates.push_back(n);
    }
    std::string repl;
    if (!candidates.empty()) {
      repl = candidates[splitmix_sdg(rng) % candidates.size()];
    } else {
      // No other number in the context: shift it (a wrong figure of the same shape).
      unsigned long long v = 0;
      for (char c : old) v = v * 10 + static_cast<unsigned>(c - '0');
      if (old.size() > 15) v = 0;
      repl = std::to_string(v + 1 + splitmix_sdg(rng) % 9);
    }
    how = "corrupt:number";
    return answer.substr(0, pick.begin) + repl + answer.substr(pick.end);
  }
  auto names = find_names(answer);
  if (!names.empty()) {
    std::vector<std::string> candidates;
    for (auto s : find_names(context)) {
      std::string n = context.substr(s.begin, s.end - s.begin);
      if (answer.find(n) == std::string::npos &&
          std::find(candidates.begin(), candidates.end(), n) == candidates.end())
        candidates.push_back(n);
    }
    if (!candidates.empty()) {
      TextSpan pick = names[splitmix_sdg(rng) % names.size()];
      how = "corrupt:entity";
      return answer.substr(0, pick.begin) + candidates[splitmix_sdg(rng) % candidates.size()] + answer.substr(pick.end);
    }
  }
  // A content word of the answer swapped for another word of the context: a wrong detail in an
  // otherwise right answer. Such a minimal pair puts DPO's signal on the fact, where an answer to
  // another question (the fallback below) is also some pair's chosen side and pulls the other
  // way unless the model already ties each question to its answer.
  auto words = find_content_words(answer);
  if (!words.empty()) {
    std::vector<std::string> candidates;
    for (auto s : find_content_words(context)) {
      std::string w = context.substr(s.begin, s.end - s.begin);
      bool in_answer = false;
      for (auto a : words) in_answer = in_answer || answer.compare(a.begin, a.end - a.begin, w) == 0;
      if (!in_answer && std::find(candidates.begin(), candidates.end(), w) == candidates.end()) candidates.push_back(w);
    }
    if (!candidates.empty()) {
      TextSpan pick = words[splitmix_sdg(rng) % words.size()];
      how = "corrupt:word";
      return answer.substr(0, pick.begin) + candidates[splitmix_sdg(rng) % candidates.size()] + answer.substr(pick.end);
    }
  }
  if (!other_answer.empty() && other_answer != answer) {
    how = "corrupt:other_answer";
    return other_answer;
  }
  how.clear();
  return {};
}

}  // namespace fragua::community
