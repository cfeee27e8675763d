// SPDX-License-Identifier: Apache-2.0
// The tree walker: statements write to an output that keeps each byte's origin (value.h),
// expressions evaluate with Python's semantics as Jinja2 compiles them. Scoping follows Jinja2:
// `for` bodies and macros have their own scope (a `set` inside does not leak, hence namespace()),
// `if` does not; a macro sees the template's top-level names and its arguments.
#include <chrono>
#include <cmath>

#include "tokenize/jinja/builtins.h"
#include "tokenize/jinja/parser.h"

namespace fragua::tokenize::jinja {

struct Callable {
  std::string builtin;  // a global function, or
  const Stmt* macro = nullptr;
};

struct Template::Impl {
  std::string source;  // normalised (parser.h)
  Body body;
};

namespace {

// 64-bit integer arithmetic that fails on overflow. The overflow test is a statement of its own
// before the result is read: as two arguments of one call (checked(__builtin_add_overflow(x, y,
// &r), r)) their order is unspecified, and GCC read r first (`messages[loop.index0 - 1]` indexed
// with 0 in release builds).
[[noreturn]] void int_overflow() { fail("integer overflow (the sandbox has 64-bit integers)"); }
int64_t add_checked(int64_t x, int64_t y) {
  int64_t r = 0;
  if (__builtin_add_overflow(x, y, &r)) int_overflow();
  return r;
}
int64_t sub_checked(int64_t x, int64_t y) {
  int64_t r = 0;
  if (__builtin_sub_overflow(x, y, &r)) int_overflow();
  return r;
}
int64_t mul_checked(int64_t x, int64_t y) {
  int64_t r = 0;
  if (__builtin_mul_overflow(x, y, &r)) int_overflow();
  return r;
}

[[noreturn]] void bad_operands(std::string_view op, const Value& a, const Value& b) {
  fail(fmt::format("unsupported operand types for {}: '{}' and '{}'", op, type_name(a), type_name(b)));
}

Value repeat(const Value& seq, int64_t n) {
  if (n <= 0) return seq.is_string() ? Value::markup("") : Value::list();
  if (seq.is_string()) {
    check_size(seq.str().size() * static_cast<size_t>(std::min<int64_t>(n, int64_t{kMaxOutputBytes} + 1)));
    Str r;
    for (int64_t k = 0; k < n; ++k) r.append(*seq.s);
    return Value::string(std::move(r));
  }
  if (seq.l->size() * static_cast<size_t>(std::min<int64_t>(n, int64_t{kMaxItems} + 1)) > kMaxItems)
    fail_limit(fmt::format("a list longer than the limit of {} items", kMaxItems));
  List r;
  for (int64_t k = 0; k < n; ++k) r.insert(r.end(), seq.l->begin(), seq.l->end());
  return Value::list(std::move(r));
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      check_size(a.str().size() + b.str().size());
      Str r = *a.s;
      r.append(*b.s);
      return Value::string(std::move(r));
    }
    if (a.kind == Value::Kind::list && b.kind == Value::Kind::list) {
      if (a.l->size() + b.l->size() > kMaxItems) fail_limit(fmt::format("a list longer than {} items", kMaxItems));
      List r = *a.l;
      r.insert(r.end(), b.l->begin(), b.l->end());
      return Value::list(std::move(r));
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.kind == Value::Kind::list) && is_int(b)) return repeat(a, inum(b));
    if ((b.is_string() || b.kind == Value::Kind::list) && is_int(a)) return repeat(b, inum(a));
  }
  if (!a.is_number() || !b.is_number()) bad_operands(op, a, b);
  const bool ints = is_int(a) && is_int(b);
  const int64_t x = ints ? inum(a) : 0, y = ints ? inum(b) : 0;
  const double p = num(a), q = num(b);
  if (op == "+") return ints ? Value::integer(add_checked(x, y)) : Value::floating(p + q);
  if (op == "-") return ints ? Value::integer(sub_checked(x, y)) : Value::floating(p - q);
  if (op == "*") return ints ? Value::integer(mul_checked(x, y)) : Value::floating(p * q);
  if (op == "/") {
    if (q == 0) fail("division by zero");
    return Value::floating(p / q);
  }
  if (op == "//" || op == "%") {
    if (q == 0) fail(op == "//" ? "integer division by zero" : "modulo by zero");
    if (ints) {
      if (x == INT64_MIN && y == -1) int_overflow();
      int64_t d = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
        --d;
        m += y;
      }
      return Value::integer(op == "//" ? d : m);
    }
    const double m = std::fmod(p, q);
    const double mm = (m != 0 && ((m < 0) != (q < 0))) ? m + q : m;
    return Value::floating(op == "//" ? std::floor(p / q) : mm);
  }
  if (op == "**") {
    if (ints && y >= 0) {
      if (x == 0 || x == 1) return Value::integer(x == 0 && y > 0 ? 0 : 1);
      if (x == -1) return Value::integer(y % 2 ? -1 : 1);
      int64_t acc = 1;  // |x| >= 2: overflows within 63 steps
      for (int64_t k = 0; k < y; ++k) acc = mul_checked(acc, x);
      return Value::integer(acc);
    }
    return Value::floating(std::pow(p, q));
  }
  bad_operands(op, a, b);
}

bool contains(const Value& container, const Value& x) {
  switch (container.kind) {
    case Value::Kind::string:
      if (!x.is_string()) fail(fmt::format("'in <string>' requires a string, not '{}'", type_name(x)));
      return container.str().find(x.str()) != std::string::npos;
    case Value::Kind::list:
      for (const Value& v : *container.l)
        if (equal(v, x)) return true;
      return false;
    case Value::Kind::dict:
    case Value::Kind::ns:
      return x.is_string() && container.d->find(x.str()) != nullptr;
    case Value::Kind::undefined:
      return false;
    default:
      fail(fmt::format("argument of type '{}' is not iterable", type_name(container)));
  }
}

// Code point boundaries of a UTF-8 string (a stray byte counts as one).
std::vector<size_t> char_starts(const std::string& s) {
  std::vector<size_t> r;
  for (size_t k = 0; k < s.size(); ++k)
    if ((static_cast<unsigned char>(s[k]) & 0xC0) != 0x80 || r.empty()) r.push_back(k);
  return r;
}

Value item(const Value& obj, const Value& key) {
  if (obj.is_mapping()) {
    if (!key.is_string()) return Value{};
    const Value* v = obj.d->find(key.str());
    return v ? *v : Value{};
  }
  if ((obj.kind == Value::Kind::list || obj.is_string()) && is_int(key)) {
    if (obj.kind == Value::Kind::list) {
      int64_t i = inum(key), n = static_cast<int64_t>(obj.l->size());
      if (i < 0) i += n;
      return i >= 0 && i < n ? (*obj.l)[static_cast<size_t>(i)] : Value{};
    }
    const auto starts = char_starts(obj.str());
    int64_t i = inum(key), n = static_cast<int64_t>(starts.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value{};
    const size_t b = starts[static_cast<size_t>(i)];
    const size_t e = static_cast<size_t>(i) + 1 < starts.size() ? starts[static_cast<size_t>(i) + 1] : obj.str().size();
    return Value::string(obj.s->substr(b, e - b));
  }
  if (obj.is_undefined()) fail("cannot subscript an undefined value");
  return Value{};
}

// Python's slice over list items or string characters.
Value slice(const Value& obj, const Value* start, const Value* stop, const Value* step) {
  const bool str = obj.is_string();
  if (!str && obj.kind != Value::Kind::list) {
    if (obj.is_undefined()) fail("cannot slice an undefined value");
    fail(fmt::format("cannot slice a value of type '{}'", type_name(obj)));
  }
  const std::vector<size_t> starts = str ? char_starts(obj.str()) : std::vector<size_t>{};
  const int64_t n = static_cast<int64_t>(str ? starts.size() : obj.l->size());
  auto arg = [](const Value* v) -> const Value* { return v && v->kind != Value::Kind::none ? v : nullptr; };
  start = arg(start), stop = arg(stop), step = arg(step);
  for (const Value* v : {start, stop, step})
    if (v && !is_int(*v)) fail("slice indices must be integers");
  const int64_t st = step ? inum(*step) : 1;
  if (st == 0) fail("slice step cannot be zero");
  auto clamp = [&](const Value* v, int64_t dflt) {
    if (!v) return dflt;
    int64_t i = inum(*v);
    if (i < 0) i = std::max<int64_t>(i + n, st < 0 ? -1 : 0);
    return std::min<int64_t>(i, st < 0 ? n - 1 : n);
  };
  const int64_t b = clamp(start, st > 0 ? 0 : n - 1), e = clamp(stop, st > 0 ? n : -1);
  Str s;
  List l;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) {
    const auto k = static_cast<size_t>(i);
    if (str)
      s.append(obj.s->substr(starts[k], (k + 1 < starts.size() ? starts[k + 1] : obj.str().size()) - starts[k]));
    else
      l.push_back((*obj.l)[k]);
  }
  return str ? Value::string(std::move(s)) : Value::list(std::move(l));
}

enum class Flow { normal, break_, continue_ };

class Renderer {
 public:
  Renderer(std::string_view src, std::shared_ptr<Dict> globals) : src_(src) { frames_.push_back(std::move(globals)); }

  void run(const Body& body, Str& out) {
    out_ = &out;
    exec(body);
  }
  uint32_t pos() const { return pos_; }

 private:
  struct Guard {
    explicit Guard(Renderer& r) : r_(r) {
      if (++r_.depth_ > kMaxDepth)
        fail_limit(fmt::format("nesting or recursion deeper than the limit of {}", kMaxDepth));
    }
    ~Guard() { --r_.depth_; }
    Renderer& r_;
  };

  void emit(const Str& s) {
    if (out_->text.size() + s.text.size() > kMaxOutputBytes)
      fail_limit(fmt::format("output larger than the limit of {} bytes", kMaxOutputBytes));
    out_->append(s);
  }

  Str capture(const Body& body) {
    Str buf;
    Str* saved = out_;
    out_ = &buf;
    const Flow f = exec(body);
    out_ = saved;
    if (f != Flow::normal) fail("'break' or 'continue' outside a loop");
    return buf;
  }

  Flow exec(const Body& body) {
    Guard g(*this);
    for (const auto& s : body) {
      pos_ = s->pos;
      const Flow f = exec(*s);
      if (f != Flow::normal) return f;
    }
    return Flow::normal;
  }

  Flow exec(const Stmt& s) {
    switch (s.kind) {
      case Stmt::Kind::text:
        emit(Str{s.text, {}});
        break;
      case Stmt::Kind::output:
        emit(to_str(eval(*s.exprs[0])));
        break;
      case Stmt::Kind::if_:
        for (size_t k = 0; k < s.exprs.size(); ++k)
          if (truthy(eval(*s.exprs[k]))) return exec(s.bodies[k]);
        if (s.bodies.size() > s.exprs.size()) return exec(s.bodies.back());
        break;
      case Stmt::Kind::for_:
        exec_for(s);
        break;
      case Stmt::Kind::set: {
        Value v = eval(*s.exprs[0]);
        pos_ = s.pos;
        if (!s.text.empty()) {
          Value target = lookup(s.names[0]);
          if (target.kind != Value::Kind::ns)
            fail(fmt::format("cannot set '{}.{}': only a namespace() takes attributes", s.names[0], s.text));
          target.d->set(Str{s.text, {}}, std::move(v));
        } else {
          assign(s.names, v);
        }
        break;
      }
      case Stmt::Kind::set_block:
        frames_.back()->set(Str{s.names[0], {}}, Value::string(capture(s.bodies[0])));
        break;
      case Stmt::Kind::macro: {
        Value m{Value::Kind::callable};
        m.fn = std::make_shared<Callable>(Callable{{}, &s});
        frames_.back()->set(Str{s.text, {}}, std::move(m));
        break;
      }
      case Stmt::Kind::filter: {
        Value body = Value::string(capture(s.bodies[0]));
        pos_ = s.pos;
        emit(to_str(filter(*s.exprs[0], body)));
        break;
      }
      case Stmt::Kind::break_:
      case Stmt::Kind::continue_:
        if (loops_ == 0) fail("'break' or 'continue' outside a loop");
        return s.kind == Stmt::Kind::break_ ? Flow::break_ : Flow::continue_;
      case Stmt::Kind::scope:
        return exec(s.bodies[0]);
    }
    return Flow::normal;
  }

  void assign(const std::vector<std::string>& names, const Value& v) {
    if (names.size() == 1) {
      frames_.back()->set(Str{names[0], {}}, v);
      return;
    }
    List items = iterate(v);
    if (items.size() != names.size())
      fail(fmt::format("cannot unpack {} values into {} names", items.size(), names.size()));
    for (size_t k = 0; k < names.size(); ++k) frames_.back()->set(Str{names[k], {}}, items[k]);
  }

  void exec_for(const Stmt& s) {
    const Value seq = eval(*s.exprs[0]);
    if (seq.kind == Value::Kind::none) fail("'NoneType' object is not iterable");
    List items = iterate(seq);
    if (s.exprs[1]) {  // `for x in xs if cond`: filtered before loop.length is known
      List kept;
      for (const Value& v : items) {
        frames_.push_back(std::make_shared<Dict>());
        assign(s.names, v);
        const bool keep = truthy(eval(*s.exprs[1]));
        frames_.pop_back();
        if (keep) kept.push_back(v);
        count_iteration();
      }
      items = std::move(kept);
    }
    const auto n = static_cast<int64_t>(items.size());
    ++loops_;
    for (int64_t k = 0; k < n; ++k) {
      count_iteration();
      auto frame = std::make_shared<Dict>();
      frames_.push_back(frame);
      assign(s.names, items[static_cast<size_t>(k)]);
      Dict loop;
      loop.set(Str{"index", {}}, Value::integer(k + 1));
      loop.set(Str{"index0", {}}, Value::integer(k));
      loop.set(Str{"revindex", {}}, Value::integer(n - k));
      loop.set(Str{"revindex0", {}}, Value::integer(n - k - 1));
      loop.set(Str{"first", {}}, Value::boolean(k == 0));
      loop.set(Str{"last", {}}, Value::boolean(k == n - 1));
      loop.set(Str{"length", {}}, Value::integer(n));
      loop.set(Str{"depth", {}}, Value::integer(1));
      loop.set(Str{"depth0", {}}, Value::integer(0));
      if (k > 0) loop.set(Str{"previtem", {}}, items[static_cast<size_t>(k - 1)]);
      if (k + 1 < n) loop.set(Str{"nextitem", {}}, items[static_cast<size_t>(k + 1)]);
      frame->set(Str{"loop", {}}, Value::dict(std::move(loop)));
      const Flow f = exec(s.bodies[0]);
      frames_.pop_back();
      if (f == Flow::break_) break;
    }
    --loops_;
    if (n == 0 && s.bodies.size() > 1) exec(s.bodies[1]);
  }

  void count_iteration() {
    if (++iterations_ > kMaxLoopIterations)
      fail_limit(fmt::format("more loop iterations than the limit of {}", kMaxLoopIterations));
  }

  Value lookup(const std::string& name) const {
    for (size_t k = frames_.size(); k-- > 0;)
      if (const Value* v = frames_[k]->find(name)) return *v;
    if (is_global(name)) {
      Value f{Value::Kind::callable};
      f.fn = std::make_shared<Callable>(Callable{name, nullptr});
      return f;
    }
    return Value{};
  }

  Args eval_args(const Expr& e, size_t first) {
    Args a;
    const size_t n_kw = e.kw_names.size();
    for (size_t k = first; k < e.kids.size(); ++k) {
      Value v = eval(*e.kids[k]);
      if (k + n_kw >= e.kids.size())
        a.kw.emplace_back(e.kw_names[k + n_kw - e.kids.size()], std::move(v));
      else
        a.pos.push_back(std::move(v));
    }
    return a;
  }

  Value filter(const Expr& f, const Value& operand) {
    Args a = eval_args(f, 1);
    pos_ = f.pos;
    return apply_filter(f.name, operand, a);
  }

  Value call(const Value& fn, Args args) {
    if (fn.kind != Value::Kind::callable) fail(fmt::format("a value of type '{}' is not callable", type_name(fn)));
    if (!fn.fn->macro) return call_global(fn.fn->builtin, args);
    const Stmt& m = *fn.fn->macro;
    if (args.pos.size() > m.names.size())
      fail(fmt::format("macro '{}' takes at most {} argument(s), {} given", m.text, m.names.size(), args.pos.size()));
    auto frame = std::make_shared<Dict>();
    std::vector<std::shared_ptr<Dict>> saved = {frames_[0], frame};
    std::swap(saved, frames_);
    const int saved_loops = loops_;
    loops_ = 0;
    for (const auto& [k, v] : args.kw)
      if (std::find(m.names.begin(), m.names.end(), k) == m.names.end())
        fail(fmt::format("macro '{}' has no parameter '{}'", m.text, k));
    for (size_t k = 0; k < m.names.size(); ++k) {
      const Value* v = args.get(k, m.names[k]);
      frame->set(Str{m.names[k], {}}, v ? *v : m.exprs[k] ? eval(*m.exprs[k]) : Value{});
    }
    Str out = capture(m.bodies[0]);
    std::swap(saved, frames_);
    loops_ = saved_loops;
    return Value::string(std::move(out));
  }

  Value eval(const Expr& e) {
    Guard g(*this);
    switch (e.kind) {
      case Expr::Kind::literal:
        return e.lit;
      case Expr::Kind::name:
        return lookup(e.name);
      case Expr::Kind::list: {
        List l;
        for (const auto& k : e.kids) l.push_back(eval(*k));
        return Value::list(std::move(l));
      }
      case Expr::Kind::dict: {
        Dict d;
        for (size_t k = 0; k + 1 < e.kids.size(); k += 2) {
          Value key = eval(*e.kids[k]);
          if (!key.is_string()) fail(fmt::format("dict keys must be strings here, not '{}'", type_name(key)));
          d.set(*key.s, eval(*e.kids[k + 1]));
        }
        return Value::dict(std::move(d));
      }
      case Expr::Kind::attr: {
        Value obj = eval(*e.kids[0]);
        if (obj.is_undefined()) {
          pos_ = e.pos;
          fail(fmt::format("cannot read '.{}' of an undefined value", e.name));
        }
        return obj.is_mapping() ? item(obj, Value::markup(e.name)) : Value{};
      }
      case Expr::Kind::item: {
        Value obj = eval(*e.kids[0]);
        Value key = eval(*e.kids[1]);
        pos_ = e.pos;
        return item(obj, key);
      }
      case Expr::Kind::slice: {
        Value obj = eval(*e.kids[0]);
        Value parts[3];
        for (int k = 0; k < 3; ++k)
          if (e.kids[static_cast<size_t>(k) + 1]) parts[k] = eval(*e.kids[static_cast<size_t>(k) + 1]);
        pos_ = e.pos;
        return slice(obj, e.kids[1] ? &parts[0] : nullptr, e.kids[2] ? &parts[1] : nullptr,
                     e.kids[3] ? &parts[2] : nullptr);
      }
      case Expr::Kind::call:
        return eval_call(e);
      case Expr::Kind::filter:
        return filter(e, eval(*e.kids[0]));
      case Expr::Kind::test: {
        Value v = eval(*e.kids[0]);
        Args a = eval_args(e, 1);
        pos_ = e.pos;
        return Value::boolean(apply_test(e.name, v, a) != e.negate);
      }
      case Expr::Kind::unary: {
        Value v = eval(*e.kids[0]);
        pos_ = e.pos;
        if (e.name == "not") return Value::boolean(!truthy(v));
        if (!v.is_number()) fail(fmt::format("bad operand type for unary {}: '{}'", e.name, type_name(v)));
        if (e.name == "+") return is_int(v) ? Value::integer(inum(v)) : v;
        if (is_int(v)) return Value::integer(sub_checked(0, inum(v)));
        return Value::floating(-v.f);
      }
      case Expr::Kind::binary:
        return eval_binary(e);
      case Expr::Kind::cond:
        if (truthy(eval(*e.kids[0]))) return eval(*e.kids[1]);
        return e.kids[2] ? eval(*e.kids[2]) : Value{};
    }
    return Value{};
  }

  Value eval_call(const Expr& e) {
    const Expr& callee = *e.kids[0];
    if (callee.kind == Expr::Kind::attr) {
      Value obj = eval(*callee.kids[0]);
      Args a = eval_args(e, 1);
      pos_ = callee.pos;
      Value out;
      if (call_method(obj, callee.name, a, &out)) return out;
      if (obj.is_mapping())
        if (const Value* f = obj.d->find(callee.name)) return call(*f, std::move(a));
      if (obj.is_undefined()) fail(fmt::format("cannot call '.{}()' of an undefined value", callee.name));
      fail(fmt::format("'{}' has no method '{}'", type_name(obj), callee.name));
    }
    Value fn = eval(callee);
    Args a = eval_args(e, 1);
    pos_ = e.pos;
    if (fn.is_undefined() && callee.kind == Expr::Kind::name)
      fail(fmt::format("'{}' is undefined (no such function or macro)", callee.name));
    return call(fn, std::move(a));
  }

  Value eval_binary(const Expr& e) {
    const std::string& op = e.name;
    Value a = eval(*e.kids[0]);
    if (op == "and") return truthy(a) ? eval(*e.kids[1]) : a;
    if (op == "or") return truthy(a) ? a : eval(*e.kids[1]);
    Value b = eval(*e.kids[1]);
    pos_ = e.pos;
    if (op == "~") {
      Str s = to_str(a);
      check_size(s.text.size() + to_str(b).text.size());
      s.append(to_str(b));
      return Value::string(std::move(s));
    }
    if (op == "==") return Value::boolean(equal(a, b));
    if (op == "!=") return Value::boolean(!equal(a, b));
    if (op == "in") return Value::boolean(contains(b, a));
    if (op == "not in") return Value::boolean(!contains(b, a));
    if (op == "<") return Value::boolean(less(a, b));
    if (op == ">") return Value::boolean(less(b, a));
    if (op == "<=") return Value::boolean(!less(b, a));
    if (op == ">=") return Value::boolean(!less(a, b));
    return arithmetic(op, a, b);
  }

  std::string_view src_;
  std::vector<std::shared_ptr<Dict>> frames_;
  Str* out_ = nullptr;
  int depth_ = 0;
  int loops_ = 0;
  int64_t iterations_ = 0;
  uint32_t pos_ = 0;
};

}  // namespace

bool looks_like_jinja(std::string_view text) {
  return text.find("{{") != std::string_view::npos || text.find("{%") != std::string_view::npos ||
         text.find("{#") != std::string_view::npos;
}

Template::Template(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template> Template::parse(std::string_view source, Options options) {
  auto impl = std::make_unique<Impl>();
  impl->source = normalize_source(source);
  impl->body = FRAGUA_TRY(parse_template(impl->source, options));
  return Template(std::move(impl));
}

Result<ChatPrompt> Template::render(const nlohmann::ordered_json& markup, const nlohmann::ordered_json& data) const {
  auto globals = std::make_shared<Dict>();
  for (const auto* vars : {&markup, &data})
    if (vars->is_object())
      for (const auto& [k, v] : vars->items()) globals->set(Str{k, {}}, from_json(v, vars == &data));
  Renderer r(impl_->source, globals);
  Str out;
  try {
    r.run(impl_->body, out);
  } catch (const Fail& f) {
    return Error(f.code, fmt::format("chat template: {}: {}", location(impl_->source, r.pos()), f.message));
  }
  ChatPrompt p;
  p.text = std::move(out.text);
  for (size_t k = 0; k < p.text.size();) {
    const bool from_data = !out.data.empty() && out.data[k] == '\1';
    size_t e = k + 1;
    while (e < p.text.size() && (!out.data.empty() && out.data[e] == '\1') == from_data) ++e;
    p.parts.push_back({e - k, !from_data});
    k = e;
  }
  return p;
}

}  // namespace fragua::tokenize::jinja
