// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/composition.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fragua::materials {

Composition::Composition(std::vector<std::pair<int, double>> amounts) {
  std::sort(amounts.begin(), amounts.end());
  for (auto& [z, a] : amounts) {
    if (!amounts_.empty() && amounts_.back().first == z)
      amounts_.back().second += a;
    else
      amounts_.emplace_back(z, a);
  }
}

double Composition::total() const {
  double t = 0;
  for (auto& [z, a] : amounts_) t += a;
  return t;
}

double Composition::amount(int z) const {
  for (auto& [zz, a] : amounts_)
    if (zz == z) return a;
  return 0;
}

std::vector<double> Composition::fractions() const {
  double t = total();
  std::vector<double> f;
  for (auto& [z, a] : amounts_) f.push_back(a / t);
  return f;
}

std::vector<double> Composition::weight_fractions(const ElementTable& table) const {
  std::vector<double> w;
  double t = 0;
  for (auto& [z, a] : amounts_) {
    w.push_back(a * table.by_z(z).get(Prop::mass));
    t += w.back();
  }
  for (double& x : w) x /= t;
  return w;
}

Composition Composition::reduced() const {
  long long g = 0;
  for (auto& [z, a] : amounts_) {
    double r = std::round(a);
    if (std::fabs(a - r) > 1e-8 || r < 1 || r > 1e12) return *this;
    g = std::gcd(g, static_cast<long long>(r));
  }
  if (g <= 1) return *this;
  std::vector<std::pair<int, double>> out;
  for (auto& [z, a] : amounts_) out.emplace_back(z, std::round(a) / static_cast<double>(g));
  return Composition(std::move(out));
}

std::string Composition::formula(const ElementTable& table) const {
  auto order = amounts_;
  std::stable_sort(order.begin(), order.end(), [&](auto& x, auto& y) {
    double ex = table.by_z(x.first).get(Prop::pauling_en), ey = table.by_z(y.first).get(Prop::pauling_en);
    if (std::isnan(ex)) ex = 1e9;  // elements without a value go last (noble gases)
    if (std::isnan(ey)) ey = 1e9;
    return ex != ey ? ex < ey : x.first < y.first;
  });
  std::string s;
  for (auto& [z, a] : order) {
    s += table.by_z(z).symbol;
    if (std::fabs(a - 1) > 1e-8) s += fmt::format("{:.6g}", a);
  }
  return s;
}

namespace {

// Bracket nesting: real formulas nest 2-3 levels.
constexpr int kMaxDepth = 32;
// Largest amount of an element, per number and after every multiplier and repeat: polymers and
// supercells stay far below a million atoms of one element per formula unit.
constexpr double kMaxAmount = 1e6;

// Recursive-descent parser over bytes; columns reported in characters (UTF-8 aware).
class FormulaParser {
 public:
  FormulaParser(std::string_view s, const ElementTable& t) : s_(s), table_(t) {}

  Result<Composition> parse() {
    if (s_.find_first_not_of(" \t") == std::string_view::npos) return invalid_argument_error("empty formula");
    std::vector<std::pair<int, double>> all;
    for (;;) {
      skip_space();
      double mult = 1;
      if (!all.empty() && at_number()) mult = FRAGUA_TRY(number());
      auto part = FRAGUA_TRY(sequence(0, '\0'));
      if (part.empty()) return fail("expected an element symbol or '('");
      for (auto& [z, a] : part) all.emplace_back(z, FRAGUA_TRY(scaled(z, a, mult, 0)));
      skip_space();
      if (pos_ >= s_.size()) break;
      if (!hydrate_separator()) return fail(fmt::format("unexpected '{}'", char_at(pos_)));
    }
    Composition c(std::move(all));
    // Repeats add up too ("H999999H999999...").
    for (auto& [z, a] : c.amounts())
      if (a > kMaxAmount)
        return fail(
            fmt::format("the amount of {} adds up to {:.6g}, more than {:g}", table_.by_z(z).symbol, a, kMaxAmount), 0);
    return c;
  }

 private:
  static bool is_digit_or_dot(char c) { return (c >= '0' && c <= '9') || c == '.'; }
  // A digit, or a '.' followed by a digit (".5").
  bool at_number() const {
    if (pos_ >= s_.size()) return false;
    char c = s_[pos_];
    if (c >= '0' && c <= '9') return true;
    return c == '.' && pos_ + 1 < s_.size() && s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9';
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  // '·' (U+00B7), '•' (U+2022), '*' or '.' between a formula and its hydrate part.
  bool hydrate_separator() {
    for (std::string_view sep : {"\xC2\xB7", "\xE2\x80\xA2", "*", "."}) {
      if (s_.substr(pos_, sep.size()) == sep) {
        pos_ += sep.size();
        return true;
      }
    }
    return false;
  }
  std::string char_at(size_t p) const {
    size_t n = 1;
    unsigned char c = static_cast<unsigned char>(s_[p]);
    if (c >= 0xF0)
      n = 4;
    else if (c >= 0xE0)
      n = 3;
    else if (c >= 0xC0)
      n = 2;
    return std::string(s_.substr(p, n));
  }
  int column(size_t p) const {
    int col = 1;
    for (size_t i = 0; i < p && i < s_.size(); ++i)
      if ((static_cast<unsigned char>(s_[i]) & 0xC0) != 0x80) ++col;
    return col;
  }
  Error fail(const std::string& what, size_t at = std::string_view::npos) const {
    return invalid_argument_error("formula '{}': {} at column {}", s_, what,
                                  column(at == std::string_view::npos ? pos_ : at));
  }

  Result<double> number() {
    size_t start = pos_;
    bool dot = false;
    while (pos_ < s_.size() && is_digit_or_dot(s_[pos_])) {
      if (s_[pos_] == '.') {
        // A '.' followed by a digit is a decimal point, so "CuSO4.5H2O" means O4.5; write
        // hydrates with '·' or '*'. A '.' not followed by a digit separates ("CuSO4.H2O").
        if (dot || pos_ + 1 >= s_.size() || !(s_[pos_ + 1] >= '0' && s_[pos_ + 1] <= '9')) break;
        dot = true;
      }
      ++pos_;
    }
    std::string txt(s_.substr(start, pos_ - start));
    if (txt.empty()) return fail("expected a number");
    double v = std::strtod(txt.c_str(), nullptr);
    if (!(v > 0)) return fail(fmt::format("amount '{}' must be positive", txt), start);
    if (v > kMaxAmount) return fail(fmt::format("amount '{}' is too large", txt), start);
    return v;
  }

  // A run of elements and groups until `close` (or the end / a hydrate separator at depth 0).
  Result<std::vector<std::pair<int, double>>> sequence(int depth, char close) {
    std::vector<std::pair<int, double>> out;
    for (;;) {
      skip_space();
      if (pos_ >= s_.size()) break;
      char c = s_[pos_];
      if (c >= 'A' && c <= 'Z') {
        size_t start = pos_++;
        while (pos_ < s_.size() && s_[pos_] >= 'a' && s_[pos_] <= 'z') ++pos_;
        std::string_view sym = s_.substr(start, pos_ - start);
        const Element* e = table_.find(sym);
        if (!e) return fail(fmt::format("unknown element '{}'", sym), start);
        double n = at_number() ? FRAGUA_TRY(number()) : 1.0;
        out.emplace_back(e->z, n);
      } else if (c == '(' || c == '[' || c == '{') {
        if (depth + 1 > kMaxDepth) return fail("brackets nested too deeply");
        size_t open = pos_++;
        char want = c == '(' ? ')' : c == '[' ? ']' : '}';
        auto inner = FRAGUA_TRY(sequence(depth + 1, want));
        if (pos_ >= s_.size()) return fail(fmt::format("'{}' is never closed", c), open);
        if (inner.empty()) return fail("empty brackets", open);
        ++pos_;  // the closing bracket
        double n = at_number() ? FRAGUA_TRY(number()) : 1.0;
        for (auto& [z, a] : inner) out.emplace_back(z, FRAGUA_TRY(scaled(z, a, n, open)));
      } else if (c == ')' || c == ']' || c == '}') {
        if (c != close) return fail(fmt::format("unmatched '{}'", c));
        return out;
      } else if (c >= 'a' && c <= 'z') {
        return fail(fmt::format("element symbols start with a capital letter, got '{}'", c));
      } else if (is_digit_or_dot(c) && c != '.') {
        return fail(fmt::format("number '{}' without an element before it", c));
      } else {
        break;  // separator or junk: the caller decides
      }
    }
    if (close != '\0' && pos_ < s_.size()) return fail(fmt::format("unexpected '{}'", char_at(pos_)));
    return out;
  }

  // An amount times a group's multiplier: each number is at most kMaxAmount, but nested groups
  // multiply ("((((H1e6)1e6)1e6)1e6)" would be 1e24 hydrogen atoms), so the product is capped too.
  Result<double> scaled(int z, double a, double n, size_t at) const {
    double v = a * n;
    if (!(v <= kMaxAmount))
      return fail(
          fmt::format("the amount of {} multiplies to {:.6g}, more than {:g}", table_.by_z(z).symbol, v, kMaxAmount),
          at);
    return v;
  }

  std::string_view s_;
  const ElementTable& table_;
  size_t pos_ = 0;
};

}  // namespace

Result<Composition> parse_formula(std::string_view formula, const ElementTable& table) {
  return FormulaParser(formula, table).parse();
}

Result<Hhi> compound_hhi(const Composition& c, const ElementTable& table) {
  auto w = c.weight_fractions(table);
  Hhi h;
  for (size_t i = 0; i < w.size(); ++i) {
    const Element& e = table.by_z(c.amounts()[i].first);
    if (!e.has(Prop::hhi_p) || !e.has(Prop::hhi_r)) return not_found_error("no HHI data for {}", e.symbol);
    h.production += w[i] * e.get(Prop::hhi_p);
    h.reserve += w[i] * e.get(Prop::hhi_r);
  }
  return h;
}

}  // namespace fragua::materials
