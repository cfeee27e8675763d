// SPDX-License-Identifier: Apache-2.0
// Jinja2's lexer and parser, for the subset in jinja.h. The grammar and the whitespace rules
// follow Jinja2 3.1 (jinja2/lexer.py, jinja2/parser.py): operator precedence or -> and -> not ->
// comparisons -> + - -> ~ -> * / // % -> ** -> unary, with filters and `is` tests binding to
// the unary operand; `{%-`/`-%}` strip all whitespace; lstrip_blocks strips spaces and tabs from
// the start of the line before `{%` and `{#` (`{%+` keeps them); trim_blocks drops the newline
// after `%}` and `#}` (`+%}` keeps it).
//
// Errors unwind as a private exception caught in parse_template, which returns them.
#include "tokenize/jinja/parser.h"

#include <charconv>
#include <set>

namespace fragua::tokenize::jinja {

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t k = 0; k < source.size(); ++k) {
    if (source[k] == '\r') {
      out += '\n';
      if (k + 1 < source.size() && source[k + 1] == '\n') ++k;
    } else {
      out += source[k];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string location(std::string_view source, uint32_t pos) {
  size_t line = 1, col = 1;
  for (size_t k = 0; k < pos && k < source.size(); ++k) {
    if (source[k] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(source[k]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return fmt::format("line {}, column {}", line, col);
}

namespace {

struct ParseFail {
  uint32_t pos;
  std::string message;
};

struct Tok {
  enum class T { text, var_begin, var_end, block_begin, block_end, name, str, integer, floating, op, eof };
  T t;
  uint32_t pos;
  std::string s;  // text, name, string value or operator
  int64_t i = 0;
  double f = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  Lexer(std::string_view src, const Options& o) : src_(src), o_(o) {}

  std::vector<Tok> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t p = pos;
      while ((p = src_.find('{', p)) != std::string_view::npos &&
             (p + 1 >= src_.size() || (src_[p + 1] != '{' && src_[p + 1] != '%' && src_[p + 1] != '#')))
        ++p;
      if (p == std::string_view::npos) {
        emit_text(std::string(src_.substr(pos)), pos);
        break;
      }
      std::string text(src_.substr(pos, p - pos));
      const char kind = src_[p + 1];
      const char mod = p + 2 < src_.size() ? src_[p + 2] : '\0';
      if (mod == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (o_.lstrip_blocks && kind != '{' && mod != '+') {
        const size_t nl = text.rfind('\n');
        const size_t l = nl == std::string::npos ? 0 : nl + 1;
        if ((nl != std::string::npos || line_starting) && text.find_first_not_of(" \t", l) == std::string::npos)
          text.resize(l);
      }
      emit_text(std::move(text), pos);
      size_t q = p + 2 + (mod == '-' || mod == '+' ? 1 : 0);
      char end_mod = '\0';
      if (kind == '#') {
        const size_t e = src_.find("#}", q);
        if (e == std::string_view::npos) throw ParseFail{static_cast<uint32_t>(p), "this comment is not closed with '#}'"};
        if (e > q && src_[e - 1] == '-') end_mod = '-';
        if (e > q && src_[e - 1] == '+') end_mod = '+';
        pos = e + 2;
      } else {
        toks_.push_back({kind == '{' ? Tok::T::var_begin : Tok::T::block_begin, static_cast<uint32_t>(p), {}});
        pos = lex_tag(p, q, kind == '{' ? '}' : '%', &end_mod);
      }
      const size_t before = pos;
      if (end_mod == '-') {
        while (pos < src_.size() && is_space(src_[pos])) ++pos;
      } else if (o_.trim_blocks && kind != '{' && end_mod != '+' && pos < src_.size() && src_[pos] == '\n') {
        ++pos;
      }
      line_starting = pos > before && src_[pos - 1] == '\n';
    }
    toks_.push_back({Tok::T::eof, static_cast<uint32_t>(src_.size()), {}});
    return std::move(toks_);
  }

 private:
  void emit_text(std::string text, size_t pos) {
    if (!text.empty()) toks_.push_back({Tok::T::text, static_cast<uint32_t>(pos), std::move(text)});
  }

  // Tokens up to the closing `}}`/`%}` (at bracket depth 0); returns the offset after it.
  size_t lex_tag(size_t start, size_t pos, char close, char* end_mod) {
    int depth = 0;
    const auto end_type = close == '}' ? Tok::T::var_end : Tok::T::block_end;
    for (;;) {
      while (pos < src_.size() && is_space(src_[pos])) ++pos;
      if (pos >= src_.size())
        throw ParseFail{static_cast<uint32_t>(start), fmt::format("this tag is not closed with '{}}}'", close)};
      const auto at = static_cast<uint32_t>(pos);
      if (depth == 0) {
        for (char m : {'-', '+', '\0'}) {
          const size_t k = pos + (m ? 1 : 0);
          if (m && (pos >= src_.size() || src_[pos] != m)) continue;
          if (m == '+' && close == '}') continue;
          if (k + 1 < src_.size() && src_[k] == close && src_[k + 1] == '}') {
            *end_mod = m;
            toks_.push_back({end_type, at, {}});
            return k + 2;
          }
        }
      }
      const char c = src_[pos];
      if (is_name_start(c)) {
        size_t e = pos;
        while (e < src_.size() && (is_name_start(src_[e]) || is_digit(src_[e]))) ++e;
        toks_.push_back({Tok::T::name, at, std::string(src_.substr(pos, e - pos))});
        pos = e;
      } else if (is_digit(c)) {
        pos = lex_number(pos);
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos);
      } else {
        static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
        std::string op(1, c);
        for (std::string_view t : kTwo)
          if (src_.substr(pos, 2) == t) op = t;
        if (op.size() == 1 && std::string_view("+-*/%~<>=()[]{},.:|").find(c) == std::string_view::npos)
          throw ParseFail{at, fmt::format("unexpected character '{}'", c)};
        if (c == '(' || c == '[' || c == '{') ++depth;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
        toks_.push_back({Tok::T::op, at, op});
        pos += op.size();
      }
    }
  }

  size_t lex_number(size_t pos) {
    const auto at = static_cast<uint32_t>(pos);
    std::string digits;
    size_t e = pos;
    bool is_float = false;
    auto take_digits = [&] {
      while (e < src_.size() && (is_digit(src_[e]) || (src_[e] == '_' && e + 1 < src_.size() && is_digit(src_[e + 1]))))
        if (src_[e++] != '_') digits += src_[e - 1];
    };
    take_digits();
    if (e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
      is_float = true;
      digits += src_[e++];
      take_digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t k = e + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        digits += 'e';
        digits.append(src_.substr(e + 1, k - e - 1));
        e = k;
        take_digits();
      }
    }
    Tok t{is_float ? Tok::T::floating : Tok::T::integer, at, digits};
    const char* end = digits.data() + digits.size();
    auto r = is_float ? std::from_chars(digits.data(), end, t.f) : std::from_chars(digits.data(), end, t.i);
    if (r.ec != std::errc() || r.ptr != end) throw ParseFail{at, fmt::format("number '{}' is out of range", digits)};
    toks_.push_back(std::move(t));
    return e;
  }

  // Python's unicode-escape decoding, as Jinja2 decodes string literals.
  size_t lex_string(size_t pos) {
    const auto at = static_cast<uint32_t>(pos);
    const char q = src_[pos++];
    std::string out;
    for (;;) {
      if (pos >= src_.size()) throw ParseFail{at, "string literal is not closed"};
      const char c = src_[pos++];
      if (c == q) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos >= src_.size()) throw ParseFail{at, "string literal is not closed"};
      const char e = src_[pos++];
      auto hex = [&](int n) {
        uint32_t v = 0;
        for (int k = 0; k < n; ++k, ++pos) {
          if (pos >= src_.size() || !std::isxdigit(static_cast<unsigned char>(src_[pos])))
            throw ParseFail{static_cast<uint32_t>(pos), fmt::format("truncated \\{} escape", e)};
          const char h = src_[pos];
          v = v * 16 + static_cast<uint32_t>(is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
          throw ParseFail{static_cast<uint32_t>(pos), fmt::format("escape names no character (U+{:X})", v)};
        append_utf8(out, v);
      };
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '\n':
          break;
        case 'x':
          hex(2);
          break;
        case 'u':
          hex(4);
          break;
        case 'U':
          hex(8);
          break;
        default:
          if (e >= '0' && e <= '7') {
            uint32_t v = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && pos < src_.size() && src_[pos] >= '0' && src_[pos] <= '7'; ++k)
              v = v * 8 + static_cast<uint32_t>(src_[pos++] - '0');
            append_utf8(out, v);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    toks_.push_back({Tok::T::str, at, std::move(out)});
    return pos;
  }

  std::string_view src_;
  const Options& o_;
  std::vector<Tok> toks_;
};

class Parser {
 public:
  explicit Parser(std::vector<Tok> toks) : t_(std::move(toks)) {}

  Body parse() {
    Body body = parse_body({});
    return body;
  }

 private:
  const Tok& cur() const { return t_[at_]; }
  const Tok& peek(size_t k = 1) const { return t_[std::min(at_ + k, t_.size() - 1)]; }
  bool is_op(std::string_view s) const { return cur().t == Tok::T::op && cur().s == s; }
  bool is_name(std::string_view s) const { return cur().t == Tok::T::name && cur().s == s; }
  [[noreturn]] void fail(std::string msg) const { throw ParseFail{cur().pos, std::move(msg)}; }
  std::string describe() const {
    switch (cur().t) {
      case Tok::T::eof:
        return "the end of the template";
      case Tok::T::var_end:
        return "'}}'";
      case Tok::T::block_end:
        return "'%}'";
      case Tok::T::text:
        return "text";
      case Tok::T::str:
        return "a string";
      case Tok::T::integer:
      case Tok::T::floating:
        return "a number";
      default:
        return "'" + cur().s + "'";
    }
  }
  void expect_op(std::string_view s) {
    if (!is_op(s)) fail(fmt::format("expected '{}', found {}", s, describe()));
    ++at_;
  }
  std::string expect_name() {
    if (cur().t != Tok::T::name) fail(fmt::format("expected a name, found {}", describe()));
    return t_[at_++].s;
  }
  void expect_block_end() {
    if (cur().t != Tok::T::block_end) fail(fmt::format("expected '%}}', found {}", describe()));
    ++at_;
  }

  struct Nest {
    explicit Nest(Parser& p) : p_(p) {
      if (++p_.nesting_ > kMaxNesting) p_.fail(fmt::format("nesting deeper than the limit of {}", kMaxNesting));
    }
    ~Nest() { --p_.nesting_; }
    Parser& p_;
  };

  static ExprPtr node(Expr::Kind k, uint32_t pos, std::string name = {}) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->pos = pos;
    e->name = std::move(name);
    return e;
  }

  // Statements until a block tag whose keyword is in `ends` (left unconsumed: at_ is on it).
  Body parse_body(const std::set<std::string_view>& ends) {
    Nest nest(*this);
    Body body;
    for (;;) {
      const Tok& tk = cur();
      if (tk.t == Tok::T::eof) {
        if (!ends.empty()) fail(fmt::format("missing '{{% {} %}}'", *ends.rbegin()));
        return body;
      }
      if (tk.t == Tok::T::text) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::text;
        s->pos = tk.pos;
        s->text = tk.s;
        body.push_back(std::move(s));
        ++at_;
      } else if (tk.t == Tok::T::var_begin) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::output;
        s->pos = tk.pos;
        ++at_;
        s->exprs.push_back(parse_tuple());
        if (cur().t != Tok::T::var_end) fail(fmt::format("expected '}}}}', found {}", describe()));
        ++at_;
        body.push_back(std::move(s));
      } else if (tk.t == Tok::T::block_begin) {
        if (peek().t == Tok::T::name && ends.count(peek().s)) {
          ++at_;
          return body;
        }
        ++at_;
        body.push_back(parse_statement());
      } else {
        fail(fmt::format("unexpected {}", describe()));
      }
    }
  }

  // After the keyword of a closing tag (at_ on it): consume `name %}`.
  void end_tag() {
    ++at_;
    expect_block_end();
  }

  std::unique_ptr<Stmt> parse_statement() {
    const uint32_t pos = cur().pos;
    const std::string kw = expect_name();
    auto s = std::make_unique<Stmt>();
    s->pos = pos;
    if (kw == "if") {
      s->kind = Stmt::Kind::if_;
      s->exprs.push_back(parse_expr());
      expect_block_end();
      for (;;) {
        s->bodies.push_back(parse_body({"elif", "else", "endif"}));
        const std::string k = cur().s;
        if (k == "elif") {
          ++at_;
          s->exprs.push_back(parse_expr());
          expect_block_end();
        } else if (k == "else") {
          end_tag();
          s->bodies.push_back(parse_body({"endif"}));
          end_tag();
          break;
        } else {
          end_tag();
          break;
        }
      }
    } else if (kw == "for") {
      s->kind = Stmt::Kind::for_;
      s->names.push_back(expect_name());
      while (is_op(",")) {
        ++at_;
        s->names.push_back(expect_name());
      }
      if (!is_name("in")) fail(fmt::format("expected 'in', found {}", describe()));
      ++at_;
      s->exprs.push_back(parse_tuple(/*with_cond=*/false));
      s->exprs.emplace_back();
      if (is_name("if")) {
        ++at_;
        s->exprs.back() = parse_expr();
      }
      if (is_name("recursive")) fail("recursive loops are not supported");
      expect_block_end();
      s->bodies.push_back(parse_body({"else", "endfor"}));
      if (cur().s == "else") {
        end_tag();
        s->bodies.push_back(parse_body({"endfor"}));
      }
      end_tag();
    } else if (kw == "set") {
      s->names.push_back(expect_name());
      if (is_op(".")) {
        ++at_;
        s->text = expect_name();
      } else {
        while (is_op(",")) {
          ++at_;
          s->names.push_back(expect_name());
        }
      }
      if (is_op("=")) {
        s->kind = Stmt::Kind::set;
        ++at_;
        s->exprs.push_back(parse_tuple());
        expect_block_end();
      } else {
        if (s->names.size() != 1 || !s->text.empty()) fail("a block set assigns one plain name");
        s->kind = Stmt::Kind::set_block;
        expect_block_end();
        s->bodies.push_back(parse_body({"endset"}));
        end_tag();
      }
    } else if (kw == "macro") {
      s->kind = Stmt::Kind::macro;
      s->text = expect_name();
      expect_op("(");
      while (!is_op(")")) {
        s->names.push_back(expect_name());
        s->exprs.emplace_back();
        if (is_op("=")) {
          ++at_;
          s->exprs.back() = parse_expr();
        }
        if (!is_op(",")) break;
        ++at_;
      }
      expect_op(")");
      expect_block_end();
      s->bodies.push_back(parse_body({"endmacro"}));
      end_tag();
    } else if (kw == "filter") {
      s->kind = Stmt::Kind::filter;
      auto f = parse_filter(nullptr);
      s->exprs.push_back(std::move(f));
      expect_block_end();
      s->bodies.push_back(parse_body({"endfilter"}));
      end_tag();
    } else if (kw == "generation") {
      s->kind = Stmt::Kind::scope;
      expect_block_end();
      s->bodies.push_back(parse_body({"endgeneration"}));
      end_tag();
    } else if (kw == "break" || kw == "continue") {
      s->kind = kw == "break" ? Stmt::Kind::break_ : Stmt::Kind::continue_;
      expect_block_end();
    } else if (kw == "include" || kw == "import" || kw == "from" || kw == "extends") {
      throw ParseFail{pos, fmt::format("'{}' is not allowed in a sandboxed chat template", kw)};
    } else {
      throw ParseFail{pos, fmt::format("unknown or unsupported tag '{}'", kw)};
    }
    return s;
  }

  ExprPtr parse_tuple(bool with_cond = true) {
    const uint32_t pos = cur().pos;
    ExprPtr e = with_cond ? parse_expr() : parse_or();
    if (!is_op(",")) return e;
    auto t = node(Expr::Kind::list, pos);
    t->kids.push_back(std::move(e));
    while (is_op(",")) {
      ++at_;
      if (cur().t == Tok::T::var_end || cur().t == Tok::T::block_end || is_op(")") || is_name("if")) break;
      t->kids.push_back(with_cond ? parse_expr() : parse_or());
    }
    return t;
  }

  ExprPtr parse_expr() {
    Nest nest(*this);
    ExprPtr e = parse_or();
    while (is_name("if")) {
      auto c = node(Expr::Kind::cond, cur().pos);
      ++at_;
      c->kids.push_back(parse_or());
      c->kids.push_back(std::move(e));
      if (is_name("else")) {
        ++at_;
        c->kids.push_back(parse_expr());
      } else {
        c->kids.emplace_back();
      }
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(std::string op, uint32_t pos, ExprPtr a, ExprPtr b) {
    auto e = node(Expr::Kind::binary, pos, std::move(op));
    e->kids.push_back(std::move(a));
    e->kids.push_back(std::move(b));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      const uint32_t pos = t_[at_++].pos;
      e = binary("or", pos, std::move(e), parse_and());
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      const uint32_t pos = t_[at_++].pos;
      e = binary("and", pos, std::move(e), parse_not());
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      Nest nest(*this);
      auto e = node(Expr::Kind::unary, t_[at_++].pos, "not");
      e->kids.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  // Chains (a < b < c) become (a < b) and (b < c); operands are side-effect free.
  ExprPtr parse_compare() {
    ExprPtr e = parse_math1();
    const Expr* last = nullptr;  // the right operand of the previous comparison
    for (;;) {
      const uint32_t pos = cur().pos;
      std::string op;
      if (cur().t == Tok::T::op && (cur().s == "==" || cur().s == "!=" || cur().s == "<" || cur().s == "<=" ||
                                    cur().s == ">" || cur().s == ">=")) {
        op = t_[at_++].s;
      } else if (is_name("in")) {
        ++at_;
        op = "in";
      } else if (is_name("not") && peek().t == Tok::T::name && peek().s == "in") {
        at_ += 2;
        op = "not in";
      } else {
        return e;
      }
      ExprPtr rhs = parse_math1();
      const Expr* next = rhs.get();
      if (!last) {
        e = binary(op, pos, std::move(e), std::move(rhs));
      } else {
        auto cmp = binary(op, pos, clone(*last), std::move(rhs));
        e = binary("and", pos, std::move(e), std::move(cmp));
      }
      last = next;
    }
  }

  static ExprPtr clone(const Expr& x) {
    auto e = std::make_unique<Expr>();
    e->kind = x.kind;
    e->pos = x.pos;
    e->name = x.name;
    e->negate = x.negate;
    e->lit = x.lit;
    e->kw_names = x.kw_names;
    for (const auto& k : x.kids) e->kids.push_back(k ? clone(*k) : nullptr);
    return e;
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const Tok& op = t_[at_++];
      e = binary(op.s, op.pos, std::move(e), parse_concat());
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      const uint32_t pos = t_[at_++].pos;
      e = binary("~", pos, std::move(e), parse_math2());
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Tok& op = t_[at_++];
      e = binary(op.s, op.pos, std::move(e), parse_pow());
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary();
    while (is_op("**")) {
      const uint32_t pos = t_[at_++].pos;
      e = binary("**", pos, std::move(e), parse_unary());
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter = true) {
    Nest nest(*this);
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Tok& op = t_[at_++];
      e = node(Expr::Kind::unary, op.pos, op.s);
      e->kids.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  ExprPtr parse_primary() {
    const Tok& tk = cur();
    const uint32_t pos = tk.pos;
    if (tk.t == Tok::T::name) {
      ++at_;
      auto e = node(Expr::Kind::literal, pos);
      if (tk.s == "true" || tk.s == "True" || tk.s == "false" || tk.s == "False") {
        e->lit = Value::boolean(tk.s[0] == 't' || tk.s[0] == 'T');
      } else if (tk.s == "none" || tk.s == "None") {
        e->lit = Value::none();
      } else {
        e->kind = Expr::Kind::name;
        e->name = tk.s;
      }
      return e;
    }
    if (tk.t == Tok::T::str) {
      std::string s;
      while (cur().t == Tok::T::str) s += t_[at_++].s;  // adjacent literals join, as in Python
      auto e = node(Expr::Kind::literal, pos);
      e->lit = Value::markup(std::move(s));
      return e;
    }
    if (tk.t == Tok::T::integer || tk.t == Tok::T::floating) {
      ++at_;
      auto e = node(Expr::Kind::literal, pos);
      e->lit = tk.t == Tok::T::integer ? Value::integer(tk.i) : Value::floating(tk.f);
      return e;
    }
    if (is_op("(")) {
      ++at_;
      if (is_op(")")) {
        ++at_;
        return node(Expr::Kind::list, pos);
      }
      ExprPtr e = parse_tuple();
      expect_op(")");
      return e;
    }
    if (is_op("[")) {
      ++at_;
      auto e = node(Expr::Kind::list, pos);
      while (!is_op("]")) {
        e->kids.push_back(parse_expr());
        if (!is_op(",")) break;
        ++at_;
      }
      expect_op("]");
      return e;
    }
    if (is_op("{")) {
      ++at_;
      auto e = node(Expr::Kind::dict, pos);
      while (!is_op("}")) {
        e->kids.push_back(parse_expr());
        expect_op(":");
        e->kids.push_back(parse_expr());
        if (!is_op(",")) break;
        ++at_;
      }
      expect_op("}");
      return e;
    }
    fail(fmt::format("unexpected {}", describe()));
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      const uint32_t pos = cur().pos;
      if (is_op(".")) {
        ++at_;
        if (cur().t == Tok::T::integer) {
          auto it = node(Expr::Kind::item, pos);
          it->kids.push_back(std::move(e));
          auto idx = node(Expr::Kind::literal, cur().pos);
          idx->lit = Value::integer(t_[at_++].i);
          it->kids.push_back(std::move(idx));
          e = std::move(it);
        } else {
          auto a = node(Expr::Kind::attr, pos, expect_name());
          a->kids.push_back(std::move(e));
          e = std::move(a);
        }
      } else if (is_op("[")) {
        ++at_;
        e = parse_subscript(std::move(e), pos);
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::call, {});
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, uint32_t pos) {
    Nest nest(*this);
    ExprPtr parts[3];
    int n = 0;
    bool is_slice = false;
    for (;;) {
      if (!is_op(":") && !is_op("]")) parts[n] = parse_expr();
      if (is_op(":")) {
        if (n == 2) fail("a slice has at most three parts");
        is_slice = true;
        ++n;
        ++at_;
        continue;
      }
      break;
    }
    expect_op("]");
    if (!is_slice) {
      if (!parts[0]) throw ParseFail{pos, "empty subscript"};
      auto it = node(Expr::Kind::item, pos);
      it->kids.push_back(std::move(obj));
      it->kids.push_back(std::move(parts[0]));
      return it;
    }
    auto sl = node(Expr::Kind::slice, pos);
    sl->kids.push_back(std::move(obj));
    for (auto& p : parts) sl->kids.push_back(std::move(p));
    return sl;
  }

  // `(args, name=value)` after a callee, filter or test: kids[0] is `first` (may be null).
  ExprPtr parse_call(ExprPtr first, Expr::Kind kind, std::string name) {
    Nest nest(*this);
    auto c = node(kind, kind == Expr::Kind::call && first ? first->pos : cur().pos, std::move(name));
    c->kids.push_back(std::move(first));
    expect_op("(");
    while (!is_op(")")) {
      if (cur().t == Tok::T::name && peek().t == Tok::T::op && peek().s == "=") {
        c->kw_names.push_back(t_[at_].s);
        at_ += 2;
      } else if (!c->kw_names.empty()) {
        fail("a positional argument follows a keyword argument");
      }
      if (is_op("*") || is_op("**")) fail("*args and **kwargs are not supported");
      c->kids.push_back(parse_expr());
      if (!is_op(",")) break;
      ++at_;
    }
    expect_op(")");
    return c;
  }

  // `| name` or `| name(args)`; operand may be null (a filter block).
  ExprPtr parse_filter(ExprPtr operand) {
    const uint32_t pos = cur().pos;
    std::string name = expect_name();
    if (is_op("(")) {
      auto f = parse_call(std::move(operand), Expr::Kind::filter, std::move(name));
      f->pos = pos;
      return f;
    }
    auto f = node(Expr::Kind::filter, pos, std::move(name));
    f->kids.push_back(std::move(operand));
    return f;
  }

  ExprPtr parse_filter_expr(ExprPtr e) {
    for (;;) {
      if (is_op("|")) {
        ++at_;
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        ++at_;
        bool negate = false;
        if (is_name("not")) {
          negate = true;
          ++at_;
        }
        const uint32_t pos = cur().pos;
        std::string name = expect_name();
        ExprPtr t;
        if (is_op("(")) {
          t = parse_call(std::move(e), Expr::Kind::test, std::move(name));
        } else {
          t = node(Expr::Kind::test, pos, std::move(name));
          t->kids.push_back(std::move(e));
          const bool arg_start = cur().t == Tok::T::name || cur().t == Tok::T::str || cur().t == Tok::T::integer ||
                                 cur().t == Tok::T::floating || is_op("(") || is_op("[") || is_op("{");
          if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
            if (is_name("is")) fail("tests cannot be chained with 'is'");
            t->kids.push_back(parse_postfix(parse_primary()));
          }
        }
        t->pos = pos;
        t->negate = negate;
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::call, {});
      } else {
        return e;
      }
    }
  }

  std::vector<Tok> t_;
  size_t at_ = 0;
  int nesting_ = 0;
};

}  // namespace

Result<Body> parse_template(std::string_view source, const Options& options) {
  try {
    Lexer lexer(source, options);
    Parser parser(lexer.run());
    return parser.parse();
  } catch (const ParseFail& f) {
    return invalid_argument_error("chat template: {}: {}", location(source, f.pos), f.message);
  }
}

}  // namespace fragua::tokenize::jinja
