// SPDX-License-Identifier: Apache-2.0
// The byte-level recogniser of a compiled schema, and the token mask built from it.
//
// The state is a set of stacks (one per alternative still alive), all kept in one flat vector of
// 32-byte frames so that copying a state, which the trie walk does at every node, is two
// memcpys into buffers that keep their capacity. A frame is the value being read (an object, an
// array, a string, an object key, a number, a literal) with its phase; the root frame holds the
// top-level value. A value that cannot tell it has ended until the next byte (a number, a literal
// such as 1 in enum [1, 12]) is popped when a byte it cannot take arrives, and that byte is fed to
// its parent.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>

#include "fragua/tokenize/tokenizer.h"
#include "serve/json_schema_node.h"

namespace fragua::serve {
namespace {

enum FrameType : uint8_t { f_root, f_object, f_array, f_string, f_key, f_number, f_literal };

// Phases.
enum : uint8_t { r_value, r_done };
enum : uint8_t { o_first, o_key_next, o_colon, o_value, o_after };
enum : uint8_t { a_first, a_after, a_next };
enum : uint8_t { s_body, s_utf8, s_escape, s_hex, s_low_backslash, s_low_u };
enum : uint8_t { n_sign, n_zero, n_int, n_dot, n_frac, n_e, n_esign, n_exp };
constexpr int kMaxExponentDigits = 2;  // 1e99 at most: every double parser reads it

struct Frame {
  uint8_t type = 0, phase = 0;
  uint8_t u8 = 0;   // string/key: UTF-8 continuation bytes still due (low nibble), range of the next (high)
  uint8_t aux = 0;  // string: hex digits read; number: digits of the current part; key: other key possible
  int32_t node = 0;
  int32_t cur = 0;   // object: node of the value after the current key
  uint32_t a = 0;    // array: items; string: code points; key/literal: candidate range start
  uint32_t b = 0;    // string: \u value; key/literal: candidate range end
  uint32_t pos = 0;  // key/literal: bytes matched; string: 1 while a low surrogate must follow
  uint64_t seen = 0;  // object: properties written (bits over the sorted names)
};
static_assert(sizeof(Frame) == 32);

struct StackInfo {
  uint32_t begin = 0, size = 0;
  uint16_t ws = 0;  // whitespace bytes just read in a row
};

bool is_ws(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }
bool is_digit(uint8_t b) { return b >= '0' && b <= '9'; }
int hex_value(uint8_t b) {
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  return -1;
}

// One byte of a string's text outside escapes (RFC 3629 well-formed UTF-8, no control
// characters). -1: rejected; 0: accepted, the character goes on; 1: a character is complete.
int utf8_step(uint8_t& u8, uint8_t b) {
  const int due = u8 & 0x0F;
  if (due > 0) {
    static constexpr uint8_t lo[] = {0x80, 0xA0, 0x80, 0x90, 0x80}, hi[] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
    const int range = u8 >> 4;
    if (b < lo[range] || b > hi[range]) return -1;
    u8 = static_cast<uint8_t>(due - 1);
    return due == 1 ? 1 : 0;
  }
  if (b < 0x20) return -1;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) u8 = 1;
  else if (b == 0xE0) u8 = 0x12;
  else if (b == 0xED) u8 = 0x22;
  else if (b >= 0xE1 && b <= 0xEF) u8 = 2;
  else if (b == 0xF0) u8 = 0x33;
  else if (b >= 0xF1 && b <= 0xF3) u8 = 3;
  else if (b == 0xF4) u8 = 0x43;
  else return -1;
  return 0;
}

}  // namespace

struct JsonRecognizer::State {
  std::vector<Frame> frames;
  std::vector<StackInfo> stacks;
  // Scratch copies of a stack while it splits into alternatives, by nesting of anyOf (a deque:
  // growing it keeps the references of the levels in use). Not part of the value.
  std::deque<std::vector<Frame>> pool;

  State() = default;
  State(const State& o) : frames(o.frames), stacks(o.stacks) {}
  State& operator=(const State& o) {
    frames = o.frames;
    stacks = o.stacks;
    return *this;
  }
  State(State&&) noexcept = default;
  State& operator=(State&&) noexcept = default;
};

namespace {

using State = JsonRecognizer::State;

// Advances the stack at the tail of out.frames (from `begin`) by one byte. On success the stack,
// or each alternative it split into, is recorded in out.stacks; on failure nothing is recorded
// and the caller cuts out.frames back to `begin`.
class Stepper {
 public:
  Stepper(const CompiledSchema& cs, State& out, uint8_t b) : cs_(cs), out_(out), f_(out.frames), b_(b) {}

  bool advance(uint32_t begin, uint16_t ws) {
    const bool white = is_ws(b_);
    while (true) {
      Frame& t = f_.back();
      switch (t.type) {
        case f_root:
          if (t.phase != r_value) return false;
          if (white) return whitespace(begin, ws);
          t.phase = r_done;
          return start_value(begin, t.node, 0);
        case f_object:
          return object_byte(begin, ws, white);
        case f_array:
          return array_byte(begin, ws, white);
        case f_string:
          return string_byte(begin);
        case f_key:
          return key_byte(begin);
        case f_number: {
          const int r = number_byte(t);
          if (r > 0) return record(begin, 0);
          if (r < 0) return false;
          f_.pop_back();  // complete: the byte belongs to the parent
          continue;
        }
        case f_literal: {
          const int r = literal_byte(t);
          if (r > 0) return record(begin, 0);
          if (r < 0) return false;
          f_.pop_back();
          continue;
        }
        default:
          return false;
      }
    }
  }

 private:
  const SchemaNode& node(int32_t i) const { return cs_.nodes[static_cast<size_t>(i)]; }

  bool record(uint32_t begin, uint16_t ws) {
    out_.stacks.push_back({begin, static_cast<uint32_t>(f_.size()) - begin, ws});
    return true;
  }
  bool whitespace(uint32_t begin, uint16_t ws) {
    if (ws >= kMaxWhitespaceRun) return false;
    return record(begin, static_cast<uint16_t>(ws + 1));
  }
  // Frames of containers open in the stack at `begin` (the root is not one).
  size_t nesting(uint32_t begin) const {
    size_t n = 0;
    for (size_t i = begin; i < f_.size(); ++i) n += f_[i].type == f_object || f_[i].type == f_array;
    return n;
  }

  Frame& push(FrameType type, uint8_t phase, int32_t n) {
    Frame fr;
    fr.type = type;
    fr.phase = phase;
    fr.node = n;
    f_.push_back(fr);
    return f_.back();
  }

  // The byte starts a value of node `n`; the parent's phase already says what follows the value.
  bool start_value(uint32_t begin, int32_t n, int level) {
    const SchemaNode& s = node(n);
    if (!s.first.test(b_)) return false;
    switch (s.kind) {
      case SchemaKind::any_of: {
        int32_t only = -1, count = 0;
        for (int32_t a : s.alts)
          if (node(a).first.test(b_)) {
            only = a;
            ++count;
          }
        if (count == 1) return start_value(begin, only, level);
        if (out_.pool.size() <= static_cast<size_t>(level)) out_.pool.resize(static_cast<size_t>(level) + 1);
        std::vector<Frame>& saved = out_.pool[static_cast<size_t>(level)];
        saved.assign(f_.begin() + begin, f_.end());
        f_.resize(begin);
        bool any = false;
        for (int32_t a : s.alts) {
          if (!node(a).first.test(b_)) continue;
          const auto nb = static_cast<uint32_t>(f_.size());
          f_.insert(f_.end(), saved.begin(), saved.end());
          if (start_value(nb, a, level + 1))
            any = true;
          else
            f_.resize(nb);
        }
        return any;
      }
      case SchemaKind::object:
        if (nesting(begin) >= static_cast<size_t>(kMaxJsonNesting)) return false;
        push(f_object, o_first, n);
        return record(begin, 0);
      case SchemaKind::array:
        if (nesting(begin) >= static_cast<size_t>(kMaxJsonNesting)) return false;
        push(f_array, a_first, n);
        return record(begin, 0);
      case SchemaKind::string:
        push(f_string, s_body, n);
        return record(begin, 0);
      case SchemaKind::number:
      case SchemaKind::integer: {
        Frame& fr = push(f_number, n_sign, n);
        if (b_ == '0') {
          fr.phase = n_zero;
        } else if (is_digit(b_)) {
          fr.phase = n_int;
          fr.aux = 1;
        }
        return record(begin, 0);
      }
      case SchemaKind::literals: {
        Frame& fr = push(f_literal, 0, n);
        fr.a = 0;
        fr.b = static_cast<uint32_t>(s.literals.size());
        if (literal_byte(f_.back()) <= 0) return false;
        return record(begin, 0);
      }
    }
    return false;
  }

  // Whether object `o`, having written `seen`, may take another key.
  static bool key_possible(const SchemaNode& o, uint64_t seen) {
    if (o.additional >= 0) return true;
    const uint64_t all = o.names.size() >= 64 ? ~uint64_t{0} : (uint64_t{1} << o.names.size()) - 1;
    return (seen & all) != all;
  }
  // Whether property i (sorted) may be the next key.
  static bool may_write(const SchemaNode& o, uint64_t seen, size_t i) {
    if (seen >> i & 1) return false;
    if (!o.ordered) return true;
    for (size_t j = 0; j < o.names.size(); ++j)
      if (!(seen >> j & 1) && o.order[j] < o.order[i]) return false;
    return true;
  }

  bool object_byte(uint32_t begin, uint16_t ws, bool white) {
    Frame& t = f_.back();
    const SchemaNode& o = node(t.node);
    switch (t.phase) {
      case o_first:
      case o_key_next:
        if (white) return whitespace(begin, ws);
        if (b_ == '}' && t.phase == o_first && o.required == 0) {
          f_.pop_back();
          return record(begin, 0);
        }
        if (b_ != '"' || !key_possible(o, t.seen)) return false;
        {
          Frame& k = push(f_key, 0, t.node);
          k.a = 0;
          k.b = static_cast<uint32_t>(o.names.size());
          k.aux = o.additional >= 0;
        }
        return record(begin, 0);
      case o_colon:
        if (white) return whitespace(begin, ws);
        if (b_ != ':') return false;
        t.phase = o_value;
        return record(begin, 0);
      case o_value:
        if (white) return whitespace(begin, ws);
        t.phase = o_after;
        return start_value(begin, t.cur, 0);
      case o_after:
        if (white) return whitespace(begin, ws);
        if (b_ == ',' && key_possible(o, t.seen)) {
          t.phase = o_key_next;
          return record(begin, 0);
        }
        if (b_ == '}' && (t.seen & o.required) == o.required) {
          f_.pop_back();
          return record(begin, 0);
        }
        return false;
      default:
        return false;
    }
  }

  bool key_byte(uint32_t begin) {
    Frame& k = f_.back();
    Frame& obj = f_[f_.size() - 2];
    const SchemaNode& o = node(k.node);
    const bool exact = k.a < k.b && o.names[k.a].size() == k.pos;
    if (b_ == '"' && (exact || (k.aux && (k.u8 & 0x0F) == 0))) {
      int32_t value = -1;
      if (exact) {
        if (!may_write(o, obj.seen, k.a)) return false;  // a repeated key, or out of order
        obj.seen |= uint64_t{1} << k.a;
        value = o.prop_node[k.a];
      } else {
        value = o.additional;
      }
      obj.phase = o_colon;
      obj.cur = value;
      f_.pop_back();
      return record(begin, 0);
    }
    // Known names that go on with this byte: a contiguous range of the sorted names.
    uint32_t lo = k.a, hi = k.b;
    while (lo < hi && (o.names[lo].size() <= k.pos || static_cast<uint8_t>(o.names[lo][k.pos]) < b_)) ++lo;
    hi = lo;
    while (hi < k.b && o.names[hi].size() > k.pos && static_cast<uint8_t>(o.names[hi][k.pos]) == b_) ++hi;
    bool known = false;
    for (uint32_t i = lo; i < hi && !known; ++i) known = may_write(o, obj.seen, i);
    bool other = false;
    uint8_t u8 = k.u8;
    if (k.aux && b_ != '\\' && b_ != '"') other = utf8_step(u8, b_) >= 0;
    if (!known && !other) return false;
    k.a = known ? lo : hi;
    k.b = known ? hi : hi;
    k.aux = other;
    k.u8 = u8;
    ++k.pos;
    return record(begin, 0);
  }

  bool array_byte(uint32_t begin, uint16_t ws, bool white) {
    Frame& t = f_.back();
    const SchemaNode& s = node(t.node);
    if (white && t.phase <= a_next) return whitespace(begin, ws);
    if (b_ == ']' && ((t.phase == a_first && s.min_items == 0) || (t.phase == a_after && t.a >= s.min_items))) {
      f_.pop_back();
      return record(begin, 0);
    }
    if (t.phase == a_after) {
      if (b_ != ',' || t.a >= s.max_items) return false;
      t.phase = a_next;
      return record(begin, 0);
    }
    if (t.a >= s.max_items) return false;
    ++t.a;
    t.phase = a_after;
    return start_value(begin, s.items, 0);
  }

  bool string_byte(uint32_t begin) {
    Frame& t = f_.back();
    const SchemaNode& s = node(t.node);
    switch (t.phase) {
      case s_body:
        if (b_ == '"') {
          if (t.a < s.min_len) return false;
          f_.pop_back();
          return record(begin, 0);
        }
        if (t.a >= s.max_len) return false;
        if (b_ == '\\') {
          t.phase = s_escape;
          return record(begin, 0);
        }
        [[fallthrough]];
      case s_utf8: {
        const int r = utf8_step(t.u8, b_);
        if (r < 0) return false;
        if (r > 0) {
          ++t.a;
          t.phase = s_body;
        } else {
          t.phase = s_utf8;
        }
        return record(begin, 0);
      }
      case s_escape:
        if (b_ == 'u') {
          t.phase = s_hex;
          t.aux = 0;
          t.b = 0;
          return record(begin, 0);
        }
        if (!std::strchr("\"\\/bfnrt", b_) || b_ == 0) return false;
        ++t.a;
        t.phase = s_body;
        return record(begin, 0);
      case s_hex: {
        const int h = hex_value(b_);
        if (h < 0) return false;
        // Surrogates (RFC 8259 section 7): a high one (D800-DBFF) must be followed by \u and a
        // low one (DC00-DFFF), and a low one may not stand alone; checked at the digit that
        // decides it, so no accepted prefix is a dead end.
        if (t.aux == 0 && t.pos && h != 0xD) return false;
        if (t.aux == 1) {
          const bool low = t.b == 0xD && h >= 0xC;
          if (t.pos != low) return false;
        }
        t.b = t.b << 4 | static_cast<uint32_t>(h);
        if (++t.aux < 4) return record(begin, 0);
        if (t.pos) {
          t.pos = 0;
          ++t.a;
          t.phase = s_body;
        } else if (t.b >= 0xD800 && t.b <= 0xDBFF) {
          t.phase = s_low_backslash;
        } else {
          ++t.a;
          t.phase = s_body;
        }
        return record(begin, 0);
      }
      case s_low_backslash:
        if (b_ != '\\') return false;
        t.phase = s_low_u;
        return record(begin, 0);
      case s_low_u:
        if (b_ != 'u') return false;
        t.phase = s_hex;
        t.aux = 0;
        t.b = 0;
        t.pos = 1;
        return record(begin, 0);
      default:
        return false;
    }
  }

  // 1: accepted; 0: the number is complete and the byte is not its; -1: rejected.
  int number_byte(Frame& t) const {
    const bool integer = node(t.node).kind == SchemaKind::integer;
    const bool digit = is_digit(b_);
    switch (t.phase) {
      case n_sign:
        if (!digit) return -1;
        t.phase = b_ == '0' ? n_zero : n_int;
        t.aux = 1;
        return 1;
      case n_zero:
      case n_int:
        if (digit && t.phase == n_int) {
          if (t.aux >= kMaxNumberDigits) return -1;
          ++t.aux;
          return 1;
        }
        if (!integer && b_ == '.') {
          t.phase = n_dot;
          return 1;
        }
        if (!integer && (b_ == 'e' || b_ == 'E')) {
          t.phase = n_e;
          return 1;
        }
        return digit ? -1 : 0;
      case n_dot:
        if (!digit) return -1;
        t.phase = n_frac;
        t.aux = 1;
        return 1;
      case n_frac:
        if (digit) {
          if (t.aux >= kMaxNumberDigits) return -1;
          ++t.aux;
          return 1;
        }
        if (b_ == 'e' || b_ == 'E') {
          t.phase = n_e;
          return 1;
        }
        return 0;
      case n_e:
        if (b_ == '+' || b_ == '-') {
          t.phase = n_esign;
          return 1;
        }
        [[fallthrough]];
      case n_esign:
        if (!digit) return -1;
        t.phase = n_exp;
        t.aux = 1;
        return 1;
      case n_exp:
        if (digit) {
          if (t.aux >= kMaxExponentDigits) return -1;
          ++t.aux;
          return 1;
        }
        return 0;
      default:
        return -1;
    }
  }

  int literal_byte(Frame& t) const {
    const auto& l = node(t.node).literals;
    uint32_t lo = t.a;
    while (lo < t.b && (l[lo].size() <= t.pos || static_cast<uint8_t>(l[lo][t.pos]) < b_)) ++lo;
    uint32_t hi = lo;
    while (hi < t.b && l[hi].size() > t.pos && static_cast<uint8_t>(l[hi][t.pos]) == b_) ++hi;
    if (lo == hi) return t.a < t.b && l[t.a].size() == t.pos ? 0 : -1;
    t.a = lo;
    t.b = hi;
    ++t.pos;
    // One candidate left and whole: the value is over. (With several, "1" of [1, 12] waits for
    // the next byte.)
    if (hi - lo == 1 && l[lo].size() == t.pos) f_.pop_back();
    return 1;
  }

  const CompiledSchema& cs_;
  State& out_;
  std::vector<Frame>& f_;
  uint8_t b_;
};

bool same_stack(const State& s, const StackInfo& x, const StackInfo& y) {
  return x.size == y.size && x.ws == y.ws &&
         std::memcmp(&s.frames[x.begin], &s.frames[y.begin], x.size * sizeof(Frame)) == 0;
}

bool feed_state(const CompiledSchema& cs, const State& in, uint8_t b, State& out) {
  out.frames.clear();
  out.stacks.clear();
  for (const StackInfo& s : in.stacks) {
    const auto begin = static_cast<uint32_t>(out.frames.size());
    out.frames.insert(out.frames.end(), in.frames.begin() + s.begin, in.frames.begin() + s.begin + s.size);
    Stepper st(cs, out, b);
    if (!st.advance(begin, s.ws)) out.frames.resize(begin);
  }
  if (out.stacks.size() > 1) {
    // Alternatives that have become the same (anyOf branches that share their shape) are one.
    size_t kept = 0;
    for (size_t i = 0; i < out.stacks.size(); ++i) {
      bool dup = false;
      for (size_t j = 0; j < kept && !dup; ++j) dup = same_stack(out, out.stacks[j], out.stacks[i]);
      if (!dup) out.stacks[kept++] = out.stacks[i];
    }
    out.stacks.resize(kept);
    if (kept > static_cast<size_t>(kMaxAlternatives)) out.stacks.clear();
  }
  return !out.stacks.empty();
}

bool stack_complete(const CompiledSchema& cs, const State& s, const StackInfo& x) {
  const Frame* f = &s.frames[x.begin];
  if (f[0].phase != r_done) return false;
  if (x.size == 1) return true;
  if (x.size != 2) return false;
  const Frame& t = f[1];
  if (t.type == f_number) return t.phase == n_zero || t.phase == n_int || t.phase == n_frac || t.phase == n_exp;
  if (t.type == f_literal) return t.a < t.b && cs.nodes[static_cast<size_t>(t.node)].literals[t.a].size() == t.pos;
  return false;
}

}  // namespace

JsonRecognizer::JsonRecognizer(std::shared_ptr<const CompiledSchema> schema)
    : schema_(std::move(schema)), state_(std::make_unique<State>()), scratch_(std::make_unique<State>()) {
  Frame root;
  root.type = f_root;
  root.phase = r_value;
  root.node = schema_->root;
  state_->frames.push_back(root);
  state_->stacks.push_back({0, 1, 0});
}

JsonRecognizer::JsonRecognizer(const JsonRecognizer& o)
    : schema_(o.schema_), state_(std::make_unique<State>(*o.state_)), scratch_(std::make_unique<State>()) {}
JsonRecognizer& JsonRecognizer::operator=(const JsonRecognizer& o) {
  if (this != &o) {
    schema_ = o.schema_;
    *state_ = *o.state_;
  }
  return *this;
}
JsonRecognizer::JsonRecognizer(JsonRecognizer&&) noexcept = default;
JsonRecognizer& JsonRecognizer::operator=(JsonRecognizer&&) noexcept = default;
JsonRecognizer::~JsonRecognizer() = default;

bool JsonRecognizer::feed(uint8_t byte) {
  if (!feed_state(*schema_, *state_, byte, *scratch_)) return false;
  std::swap(state_, scratch_);
  return true;
}

bool JsonRecognizer::feed(std::string_view bytes) {
  if (bytes.size() == 1) return feed(static_cast<uint8_t>(bytes[0]));
  State backup = *state_;
  for (char c : bytes)
    if (!feed(static_cast<uint8_t>(c))) {
      *state_ = std::move(backup);
      return false;
    }
  return true;
}

bool JsonRecognizer::is_complete() const {
  for (const StackInfo& x : state_->stacks)
    if (stack_complete(*schema_, *state_, x)) return true;
  return false;
}

bool JsonRecognizer::can_continue() const {
  for (const StackInfo& x : state_->stacks)
    if (x.size > 1 || state_->frames[x.begin].phase != r_done) return true;
  return false;
}

std::shared_ptr<const TokenTrie> TokenTrie::build(const tokenize::Tokenizer& tok, std::span<const int32_t> eog_ids) {
  auto t = std::make_shared<TokenTrie>();
  t->n_vocab_ = tok.n_vocab();
  // Longer pieces are never allowed: a token of more bytes than this does not occur in real
  // vocabularies (Llama 3's longest is 256 bytes of spaces), and the walk keeps a state per byte.
  constexpr size_t kMaxPiece = 256;
  std::vector<std::pair<std::string, int32_t>> pieces;
  for (int32_t id = 0; id < t->n_vocab_; ++id) {
    if (std::find(eog_ids.begin(), eog_ids.end(), id) != eog_ids.end() || tok.is_eog(id)) {
      t->eog_.push_back(id);
      continue;
    }
    if (tok.token_type(id) == tokenize::TokenType::control) continue;
    std::string p = tok.token_piece(id);
    if (p.empty() || p.size() > kMaxPiece) continue;
    pieces.emplace_back(std::move(p), id);
  }
  std::sort(pieces.begin(), pieces.end());
  // Sorted pieces give the nodes in depth-first order: a piece's new nodes follow the node of its
  // longest common prefix with the previous piece.
  t->byte_.push_back(0);
  t->depth_.push_back(0);
  std::vector<uint32_t> path = {0};
  std::vector<uint32_t> token_node;
  const std::string* prev = nullptr;
  for (const auto& [p, id] : pieces) {
    size_t lcp = 0;
    if (prev)
      while (lcp < p.size() && lcp < prev->size() && (*prev)[lcp] == p[lcp]) ++lcp;
    path.resize(lcp + 1);
    for (size_t k = lcp; k < p.size(); ++k) {
      path.push_back(static_cast<uint32_t>(t->byte_.size()));
      t->byte_.push_back(static_cast<uint8_t>(p[k]));
      t->depth_.push_back(static_cast<uint16_t>(k + 1));
    }
    token_node.push_back(path[p.size()]);
    t->tokens_.push_back(id);
    t->max_depth_ = std::max<uint16_t>(t->max_depth_, static_cast<uint16_t>(p.size()));
    prev = &p;
  }
  const size_t n = t->byte_.size();
  t->token_begin_.assign(n + 1, 0);
  for (uint32_t node : token_node) ++t->token_begin_[node + 1];
  for (size_t i = 0; i < n; ++i) t->token_begin_[i + 1] += t->token_begin_[i];
  t->end_.assign(n, static_cast<uint32_t>(n));
  std::vector<uint32_t> open;
  for (uint32_t i = 0; i < n; ++i) {
    while (!open.empty() && t->depth_[open.back()] >= t->depth_[i]) {
      t->end_[open.back()] = i;
      open.pop_back();
    }
    open.push_back(i);
  }
  return t;
}

TokenMasker::TokenMasker(std::shared_ptr<const TokenTrie> trie) : trie_(std::move(trie)) {
  states_.resize(static_cast<size_t>(trie_->max_depth_) + 1);
  allowed_.assign(static_cast<size_t>(trie_->n_vocab_), 0);
}
TokenMasker::~TokenMasker() = default;
TokenMasker::TokenMasker(TokenMasker&&) noexcept = default;

size_t TokenMasker::apply(const JsonRecognizer& rec, std::span<float> logits) {
  const TokenTrie& t = *trie_;
  const CompiledSchema& cs = *rec.schema_;
  std::fill(allowed_.begin(), allowed_.end(), 0);
  size_t n_allowed = 0;
  states_[0] = *rec.state_;
  const auto n = static_cast<uint32_t>(t.byte_.size());
  for (uint32_t i = 1; i < n;) {
    const uint16_t d = t.depth_[i];
    if (!feed_state(cs, states_[d - 1], t.byte_[i], states_[d])) {
      i = t.end_[i];
      continue;
    }
    for (uint32_t k = t.token_begin_[i]; k < t.token_begin_[i + 1]; ++k) {
      allowed_[static_cast<size_t>(t.tokens_[k])] = 1;
      ++n_allowed;
    }
    ++i;
  }
  if (rec.is_complete())
    for (int32_t e : t.eog_) {
      allowed_[static_cast<size_t>(e)] = 1;
      ++n_allowed;
    }
  const size_t m = std::min(logits.size(), allowed_.size());
  for (size_t i = 0; i < m; ++i)
    if (!allowed_[i]) logits[i] = -std::numeric_limits<float>::infinity();
  for (size_t i = m; i < logits.size(); ++i) logits[i] = -std::numeric_limits<float>::infinity();
  return n_allowed;
}

}  // namespace fragua::serve
