// SPDX-License-Identifier: Apache-2.0
// The words of a Hunspell dictionary (hunspell(5)): the stems of the .dic file and, where the
// .aff file's affix rules are of the simple kind, one level of prefixes and suffixes (with the
// cross product of the two). Continuation classes (twofold affixes), compounding, aliases (AF,
// AM) and conversion tables are not applied: a dictionary that needs them still gives its stems
// and the single-level forms, which is what a word-coverage prior needs.
//
// Flags are read as the .aff file's FLAG line says: single characters (default), UTF-8 code
// points, "long" (two characters) or "num" (comma-separated decimal numbers). A stem carrying the
// NEEDAFFIX flag is not a word on its own. Only UTF-8 dictionaries are read (SET UTF-8, or no SET
// and valid UTF-8); the Debian hunspell-es/ca/eu/gl dictionaries all are.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "fragua/base/parse.h"
#include "fragua/base/utf8.h"
#include "fragua/tokenize/trainer.h"

namespace fragua::tokenize {

namespace {

enum class HunFlagKind { single, utf8, twochar, num };

// One element of an affix condition: a set of code points (negated or not), or any.
struct HunCondPart {
  bool any = false, negate = false;
  std::u32string set;
};

struct HunAffixRule {
  std::u32string strip, add;
  std::vector<HunCondPart> cond;
};

struct HunAffixClass {
  bool suffix = true, cross = false;
  std::vector<HunAffixRule> rules;
};

std::u32string hun_to_u32(std::string_view s) {
  std::u32string out;
  for (size_t p = 0; p < s.size();) out.push_back(utf8::decode(s, p));
  return out;
}

std::string hun_to_utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) utf8::append(out, c);
  return out;
}

std::vector<std::string_view> hun_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t p = 0;
  while (p < line.size()) {
    while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
    size_t s = p;
    while (p < line.size() && line[p] != ' ' && line[p] != '\t') ++p;
    if (p > s) out.push_back(line.substr(s, p - s));
  }
  return out;
}

// Splits a flag string into flags of the dictionary's kind.
std::vector<std::string> hun_split_flags(std::string_view f, HunFlagKind kind) {
  std::vector<std::string> out;
  switch (kind) {
    case HunFlagKind::single:
      for (char c : f) out.emplace_back(1, c);
      break;
    case HunFlagKind::utf8:
      for (size_t p = 0; p < f.size();) {
        size_t len = std::max<size_t>(1, utf8::sequence_length(f.substr(p)));
        out.emplace_back(f.substr(p, len));
        p += len;
      }
      break;
    case HunFlagKind::twochar:
      for (size_t p = 0; p < f.size(); p += 2) out.emplace_back(f.substr(p, 2));
      break;
    case HunFlagKind::num:
      for (size_t p = 0; p <= f.size();) {
        size_t c = f.find(',', p);
        if (c == std::string_view::npos) c = f.size();
        if (c > p) out.emplace_back(f.substr(p, c - p));
        p = c + 1;
      }
      break;
  }
  return out;
}

// Parses a condition ("." any, "[abc]", "[^abc]", literal characters). False if malformed.
bool hun_parse_condition(std::string_view text, std::vector<HunCondPart>& out) {
  if (text == ".") return true;  // no constraint
  std::u32string t = hun_to_u32(text);
  for (size_t i = 0; i < t.size(); ++i) {
    HunCondPart part;
    if (t[i] == '.') {
      part.any = true;
    } else if (t[i] == '[') {
      size_t close = t.find(U']', i + 1);
      if (close == std::u32string::npos) return false;
      size_t b = i + 1;
      if (b < close && t[b] == '^') {
        part.negate = true;
        ++b;
      }
      part.set = t.substr(b, close - b);
      i = close;
    } else {
      part.set = std::u32string(1, t[i]);
    }
    out.push_back(std::move(part));
  }
  return true;
}

bool hun_part_matches(const HunCondPart& p, char32_t c) {
  if (p.any) return true;
  bool in = p.set.find(c) != std::u32string::npos;
  return in != p.negate;
}

bool hun_condition_matches(const HunAffixRule& r, const std::u32string& w, bool suffix) {
  size_t n = r.cond.size();
  if (n > w.size()) return false;
  size_t base = suffix ? w.size() - n : 0;
  for (size_t i = 0; i < n; ++i)
    if (!hun_part_matches(r.cond[i], w[base + i])) return false;
  return true;
}

bool hun_apply(const HunAffixRule& r, const std::u32string& w, bool suffix, std::u32string& out) {
  if (!hun_condition_matches(r, w, suffix)) return false;
  if (r.strip.size() >= w.size() && !r.strip.empty()) return false;
  if (suffix) {
    if (w.size() < r.strip.size() || w.compare(w.size() - r.strip.size(), r.strip.size(), r.strip) != 0) return false;
    out = w.substr(0, w.size() - r.strip.size()) + r.add;
  } else {
    if (w.compare(0, r.strip.size(), r.strip) != 0) return false;
    out = r.add + w.substr(r.strip.size());
  }
  return !out.empty();
}

std::string_view hun_strip_bom(std::string_view s) {
  if (s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  return s;
}

}  // namespace

Result<HunspellWords> read_hunspell(std::string_view dic, std::string_view aff, const std::string& name,
                                    size_t max_words) {
  dic = hun_strip_bom(dic);
  aff = hun_strip_bom(aff);
  HunspellWords result;
  HunFlagKind kind = HunFlagKind::single;
  std::string need_affix;
  std::unordered_map<std::string, HunAffixClass> classes;
  bool simple = !aff.empty();
  size_t line_no = 0;
  for (size_t p = 0; p < aff.size();) {
    size_t nl = aff.find('\n', p);
    if (nl == std::string_view::npos) nl = aff.size();
    std::string_view line = aff.substr(p, nl - p);
    p = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto f = hun_fields(line);
    if (f.empty() || f[0][0] == '#') continue;
    if (f[0] == "SET" && f.size() > 1 && f[1] != "UTF-8" && f[1] != "utf-8")
      return unsupported_error("{}.aff:{}: encoding {} (only UTF-8 dictionaries are read)", name, line_no, f[1]);
    if (f[0] == "FLAG" && f.size() > 1) {
      if (f[1] == "long")
        kind = HunFlagKind::twochar;
      else if (f[1] == "num")
        kind = HunFlagKind::num;
      else if (f[1] == "UTF-8")
        kind = HunFlagKind::utf8;
      else
        return unsupported_error("{}.aff:{}: FLAG {}", name, line_no, f[1]);
    }
    if (f[0] == "NEEDAFFIX" && f.size() > 1) need_affix.assign(f[1]);
    if (f[0] == "AF" || f[0] == "COMPLEXPREFIXES") simple = false;  // flags are aliases or prefixes nest
    if ((f[0] == "SFX" || f[0] == "PFX") && f.size() >= 4) {
      std::string flag(f[1]);
      auto it = classes.find(flag);
      if (it == classes.end()) {
        // Header: SFX flag cross_product count.
        HunAffixClass c;
        c.suffix = f[0] == "SFX";
        c.cross = f[2] == "Y";
        classes.emplace(flag, std::move(c));
        continue;
      }
      if (f.size() < 5) continue;  // rule lines have strip, add and condition
      HunAffixRule r;
      if (f[2] != "0") r.strip = hun_to_u32(f[2]);
      std::string_view add = f[3];
      add = add.substr(0, add.find('/'));  // continuation classes are not applied
      if (add != "0") r.add = hun_to_u32(add);
      if (!hun_parse_condition(f[4], r.cond))
        return corruption_error("{}.aff:{}: bad affix condition '{}'", name, line_no, f[4]);
      it->second.rules.push_back(std::move(r));
    }
  }
  result.expanded = simple;

  std::unordered_set<std::string> seen;
  auto add_word = [&](std::string w) {
    if (result.words.size() >= max_words || w.empty()) return;
    if (seen.insert(w).second) result.words.push_back(std::move(w));
  };
  bool first = true;
  line_no = 0;
  for (size_t p = 0; p < dic.size() && result.words.size() < max_words;) {
    size_t nl = dic.find('\n', p);
    if (nl == std::string_view::npos) nl = dic.size();
    std::string_view line = dic.substr(p, nl - p);
    p = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (first) {  // the approximate word count
      first = false;
      auto fields = hun_fields(line);
      if (fields.size() == 1 && parse_int(fields[0], "count").ok()) continue;
    }
    if (line.empty() || line[0] == ' ' || line[0] == '\t' || line[0] == '#') continue;
    if (!utf8::is_valid(line)) return corruption_error("{}.dic:{}: invalid UTF-8", name, line_no);
    // "stem/FLAGS morphology": a slash escaped as "\/" belongs to the stem.
    std::string stem;
    size_t i = 0;
    for (; i < line.size() && line[i] != ' ' && line[i] != '\t'; ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '/') {
        stem.push_back('/');
        ++i;
      } else if (line[i] == '/') {
        break;
      } else {
        stem.push_back(line[i]);
      }
    }
    std::string_view flags;
    if (i < line.size() && line[i] == '/') {
      size_t e = line.find_first_of(" \t", i + 1);
      flags = line.substr(i + 1, e == std::string_view::npos ? std::string_view::npos : e - i - 1);
    }
    if (stem.empty()) continue;
    ++result.stems;
    auto fl = hun_split_flags(flags, kind);
    bool needs = !need_affix.empty() && std::find(fl.begin(), fl.end(), need_affix) != fl.end();
    if (!needs) add_word(stem);
    if (!simple) continue;
    std::u32string w = hun_to_u32(stem), a, b;
    std::vector<std::u32string> cross_suffixed;
    for (const auto& flag : fl) {
      auto it = classes.find(flag);
      if (it == classes.end() || !it->second.suffix) continue;
      for (const auto& r : it->second.rules)
        if (hun_apply(r, w, true, a)) {
          add_word(hun_to_utf8(a));
          if (it->second.cross) cross_suffixed.push_back(a);
        }
    }
    for (const auto& flag : fl) {
      auto it = classes.find(flag);
      if (it == classes.end() || it->second.suffix) continue;
      for (const auto& r : it->second.rules) {
        if (hun_apply(r, w, false, a)) add_word(hun_to_utf8(a));
        if (!it->second.cross) continue;
        for (const auto& s : cross_suffixed)
          if (hun_apply(r, s, false, b)) add_word(hun_to_utf8(b));
      }
    }
  }
  return result;
}

Result<DictionaryInput> parse_dictionary_arg(std::string_view arg) {
  DictionaryInput d;
  d.path.assign(arg);
  size_t colon = arg.rfind(':');
  if (colon != std::string_view::npos && colon + 1 < arg.size() && arg.find('/', colon) == std::string_view::npos) {
    auto w = parse_double(arg.substr(colon + 1), "--dictionary weight");
    if (w.ok()) {
      if (!(*w > 0) || *w > 1e6)
        return invalid_argument_error("--dictionary {}: weight must be in (0, 1e6]", std::string(arg));
      d.path.assign(arg.substr(0, colon));
      d.weight = *w;
    }
  }
  if (d.path.empty()) return invalid_argument_error("--dictionary: no file");
  return d;
}

}  // namespace fragua::tokenize
