// SPDX-License-Identifier: Apache-2.0
#include "tokenize/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>

#include "fragua/base/log.h"
#include "fragua/base/utf8.h"

namespace fragua::tokenize {

namespace {

// The regexes below are facts about the models (their tokenizer.json pre-tokenizers, in the
// case-insensitive-free form llama.cpp uses), keyed by the names llama.cpp's converter writes.
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct PreEntry {
  std::array<const char*, 12> names;
  std::vector<std::string> regexes;
  bool ignore_merges;
};

const std::vector<PreEntry>& pre_table() {
  static const std::vector<PreEntry> table = {
      {{"gpt-2", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"}, {kGpt2}, false},
      {{"refact", "starcoder", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"}, {R"(\p{N})", kGpt2}, false},
      {{"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"}, {kLlama3}, true},
      {{"dbrx", "smaug-bpe"}, {kLlama3}, false},
      {{"qwen2", "stablelm2", "deepseek-r1-qwen", "megrez", "hunyuan"}, {kQwen2}, false},
      {{"gpt-4o", "llama4"}, {kGpt4o}, false},
      {{"qwen35"},
       {R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
       false},
      {{"deepseek-coder"},
       {"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)",
        R"(\p{N})"},
       false},
      {{"falcon"}, {R"([\p{P}\$\+<=>\^~\|`]+)", kGpt2, "[0-9][0-9][0-9]"}, false},
      {{"default"}, {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}, false},
  };
  return table;
}

const PreEntry* find_pre(std::string_view pre) {
  for (const auto& e : pre_table())
    for (const char* n : e.names)
      if (n && pre == n) return &e;
  return nullptr;
}

}  // namespace

Result<std::vector<std::string>> pre_tokenizer_regexes(std::string_view pre) {
  if (const PreEntry* e = find_pre(pre)) return e->regexes;
  std::string known;
  for (const auto& e : pre_table())
    for (const char* n : e.names)
      if (n) known += std::string(known.empty() ? "" : ", ") + n;
  return unsupported_error("unknown pre-tokenizer '{}' (tokenizer.ggml.pre); known: {}", pre, known);
}

bool pre_ignores_merges(std::string_view pre) {
  const PreEntry* e = find_pre(pre);
  return e && e->ignore_merges;
}

namespace {

// The budget of matching, against patterns from a hostile tokenizer.json (issue 12: a Split
// pattern `(a+)+$` ran 46 s on 82 KB of text). PCRE2 counts its match limit per start position,
// so that limit alone leaves a search over a long text unbounded (n positions times the limit);
// each pcre2_match call is therefore also confined to a window of start positions (an offset
// limit) and the whole split to a time budget, checked between calls.
//
// Steps per start position: the shipped patterns need about one per byte of a long whitespace
// run (`\s*[\r\n]+` backtracks over it), so the limit grows with the length of the text.
constexpr uint64_t kRegexMatchLimitBase = 100'000;
constexpr uint64_t kRegexMatchLimitPerByte = 8;
constexpr uint64_t kRegexMatchLimitMax = 100'000'000;
// Steps one call may take over all the start positions of its window (window = this / limit),
// and calls between two readings of the clock (reading it on every call cost 30% of splitting).
constexpr uint64_t kRegexStepsPerCall = 20'000'000;
constexpr int kRegexCallsPerClockCheck = 8;
// Interpreter only (the JIT has its own stack): backtracking depth and memory.
constexpr uint32_t kRegexDepthLimit = 100'000;
constexpr uint32_t kRegexHeapLimitKiB = 64 * 1024;
// The JIT's stack; PCRE2's default is 32 KiB on the machine stack.
constexpr size_t kRegexJitStackStart = 32 * 1024;
constexpr size_t kRegexJitStackMax = 1024 * 1024;
// Time for one split: a base plus a rate far below what real patterns do (over 50 MiB/s).
constexpr double kRegexSecondsBase = 1.0;
constexpr double kRegexSecondsPerMiB = 1.0;
// Regexes per pre-tokenizer: real ones have 1 to 5; each is a level of recursion when splitting.
constexpr size_t kMaxPreTokenizerRegexes = 64;

using Clock = std::chrono::steady_clock;

// A pattern shown in a message: control bytes escaped, cut short (it comes from a file).
std::string pattern_preview(std::string_view re) {
  std::string out;
  for (size_t i = 0; i < re.size() && i < 80; ++i) {
    auto c = static_cast<unsigned char>(re[i]);
    if (c < 0x20 || c == 0x7F)
      out += fmt::format("\\x{:02X}", c);
    else
      out.push_back(re[i]);
  }
  if (re.size() > 80) out += "...";
  return out;
}

std::string pcre2_message(int rc) {
  std::array<PCRE2_UCHAR, 256> msg{};
  pcre2_get_error_message(rc, msg.data(), msg.size());
  return reinterpret_cast<const char*>(msg.data());
}

// Matching state of one thread: PCRE2 match data, context and JIT stack must not be shared
// between threads that encode at the same time.
struct Scratch {
  pcre2_match_data* md = nullptr;
  pcre2_match_context* mc = nullptr;
  pcre2_jit_stack* js = nullptr;
  Scratch() {
    md = pcre2_match_data_create(1, nullptr);  // only the whole match's offsets are read
    mc = pcre2_match_context_create(nullptr);
    js = pcre2_jit_stack_create(kRegexJitStackStart, kRegexJitStackMax, nullptr);
    if (mc) {
      pcre2_set_depth_limit(mc, kRegexDepthLimit);
      pcre2_set_heap_limit(mc, kRegexHeapLimitKiB);
      if (js) pcre2_jit_stack_assign(mc, nullptr, js);
    }
  }
  ~Scratch() {
    pcre2_jit_stack_free(js);
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  static Scratch& get() {
    thread_local Scratch s;
    return s;
  }
};

}  // namespace

struct PreTokenizer::Impl {
  std::vector<pcre2_code*> codes;
  std::vector<std::string> patterns;
  ~Impl() {
    for (auto* c : codes) pcre2_code_free(c);
  }
};

PreTokenizer::PreTokenizer() : impl_(std::make_unique<Impl>()) {}
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

bool PreTokenizer::empty() const { return impl_->codes.empty(); }

Result<PreTokenizer> PreTokenizer::create(const std::vector<std::string>& regexes) {
  if (regexes.size() > kMaxPreTokenizerRegexes)
    return unsupported_error("{} pre-tokenizer regexes: at most {} are supported", regexes.size(),
                             kMaxPreTokenizerRegexes);
  PreTokenizer p;
  for (const auto& re : regexes) {
    int err = 0;
    PCRE2_SIZE err_off = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_USE_OFFSET_LIMIT, &err,
                                     &err_off, nullptr);
    if (!code)
      return invalid_argument_error("pre-tokenizer regex '{}': {} at offset {}", pattern_preview(re),
                                    pcre2_message(err), err_off);
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
    p.impl_->codes.push_back(code);
    p.impl_->patterns.push_back(re);
  }
  return p;
}

namespace {

struct SplitRun {
  const std::vector<pcre2_code*>& codes;
  const std::vector<std::string>& patterns;
  PreTokenizer::EmitFn emit;
  void* ctx;
  bool strict;
  size_t total;  // bytes of the whole text (messages)
  Clock::time_point deadline;
  bool exhausted = false;  // lenient mode after the budget ran out: nothing more is split
  uint64_t calls = 0;

  Error over_budget(size_t level, std::string_view why) const {
    return resource_exhausted_error("pre-tokenizer regex '{}' {} on a {}-byte text", pattern_preview(patterns[level]),
                                    why, total);
  }
  // The limit hit in lenient mode: say so once per process, then keep the text whole.
  Status give_up(size_t level, std::string_view why) {
    if (strict) return over_budget(level, why);
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      log_warn("{} (the rest of the text is left unsplit)", over_budget(level, why).message());
    exhausted = true;
    return {};
  }

  Status level(size_t lv, std::string_view text) {
    if (lv == codes.size() || exhausted) {
      if (!text.empty()) emit(ctx, text);
      return {};
    }
    Scratch& sc = Scratch::get();
    if (!sc.md || !sc.mc) return resource_exhausted_error("out of memory for PCRE2 match data");
    pcre2_code* code = codes[lv];
    auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    const uint64_t limit = std::min(kRegexMatchLimitMax, kRegexMatchLimitBase + kRegexMatchLimitPerByte * text.size());
    const size_t window = std::max<uint64_t>(1, kRegexStepsPerCall / limit);
    pcre2_set_match_limit(sc.mc, static_cast<uint32_t>(limit));
    size_t pos = 0, gap = 0;
    while (pos < text.size() && !exhausted) {
      const size_t last_start = text.size() - pos > window ? pos + window : PCRE2_UNSET;
      pcre2_set_offset_limit(sc.mc, last_start);
      int rc = pcre2_match(code, subject, text.size(), pos, 0, sc.md, sc.mc);
      if (++calls % kRegexCallsPerClockCheck == 0 && Clock::now() > deadline) {
        FRAGUA_TRY(give_up(lv, fmt::format("ran past its time budget at byte {}", pos)));
        break;
      }
      if (rc == PCRE2_ERROR_NOMATCH) {
        if (last_start == PCRE2_UNSET) break;
        pos = last_start + 1;  // no match starts in the window: the next call tries the next one
        while (pos < text.size() && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80) ++pos;
        continue;
      }
      if (rc < 0) {
        FRAGUA_TRY(give_up(lv, fmt::format("failed at byte {}: {}", pos, pcre2_message(rc))));
        break;
      }
      PCRE2_SIZE* ov = pcre2_get_ovector_pointer(sc.md);
      size_t b = ov[0], e = ov[1];
      if (e == b) {  // empty match: step one character so the scan advances
        size_t n = utf8::sequence_length(text.substr(b));
        pos = b + (n ? n : 1);
        continue;
      }
      if (b > gap) FRAGUA_TRY(level(lv + 1, text.substr(gap, b - gap)));
      FRAGUA_TRY(level(lv + 1, text.substr(b, e - b)));
      pos = gap = e;
    }
    if (gap < text.size()) FRAGUA_TRY(level(lv + 1, text.substr(gap)));
    return {};
  }
};

}  // namespace

Status PreTokenizer::split(std::string_view text, EmitFn emit, void* ctx, bool strict) const {
  const double seconds = kRegexSecondsBase + kRegexSecondsPerMiB * static_cast<double>(text.size()) / (1 << 20);
  SplitRun run{impl_->codes,
               impl_->patterns,
               emit,
               ctx,
               strict,
               text.size(),
               Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds))};
  return run.level(0, text);
}

Status PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out, bool strict) const {
  return split(
      text, [](void* c, std::string_view piece) { static_cast<std::vector<std::string_view>*>(c)->push_back(piece); },
      &out, strict);
}

}  // namespace fragua::tokenize
