// SPDX-License-Identifier: Apache-2.0
// fragua tokenizer train|stats|encode|decode|convert: thin wrappers over fragua::tokenize.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/base/svg.h"
#include "fragua/base/utf8.h"
#include "fragua/tokenize/tokenizer.h"
#include "fragua/tokenize/tokenizer_files.h"
#include "fragua/tokenize/trainer.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

using namespace fragua::tokenize;

// "es=path" -> (es, path); a bare path has no language.
std::pair<std::string, std::string> split_lang(const std::string& s) {
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || s.find('/') < eq) return {"", s};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

struct TrainOpts {
  std::vector<std::string> inputs, specials, dictionaries;
  std::string output, mix, normalization = "nfc", metrics, chat_template;
  bool no_required_chars = false;
  int vocab_size = 32000, threads = 0;
  bool no_split_digits = false;
  double coverage = 0.9995;
  uint64_t max_bytes = 0;
};

Status run_train(const TrainOpts& o, const std::string& cmdline) {
  TrainOptions t;
  for (const auto& in : o.inputs) {
    auto [lang, path] = split_lang(in);
    t.inputs.push_back({path, lang});
  }
  if (!o.mix.empty()) t.mix = FRAGUA_TRY(parse_mix(o.mix));
  t.vocab_size = o.vocab_size;
  t.special_tokens = o.specials;
  t.split_digits = !o.no_split_digits;
  t.normalization = FRAGUA_TRY(parse_normalization(o.normalization));
  t.character_coverage = o.coverage;
  if (o.no_required_chars) t.required_characters.clear();
  for (const auto& d : o.dictionaries) t.dictionaries.push_back(FRAGUA_TRY(parse_dictionary_arg(d)));
  t.max_input_bytes = o.max_bytes;
  t.threads = o.threads;
  t.metrics_path = o.metrics;
  t.command_line = cmdline;
  auto tok = FRAGUA_TRY(train_bpe(t));
  if (!o.chat_template.empty()) {
    FRAGUA_TRY(detect_chat_template(o.chat_template));
    VocabSpec s = tok.spec();
    s.chat_template = o.chat_template;
    tok = FRAGUA_TRY(Tokenizer::from_spec(std::move(s)));
  }
  FRAGUA_TRY(tok.save_gguf(o.output + ".gguf"));
  FRAGUA_TRY(tok.save_hf_json(o.output + ".tokenizer.json"));
  std::fprintf(stderr, "wrote %s.gguf and %s.tokenizer.json (%d tokens)\n", o.output.c_str(), o.output.c_str(),
               tok.n_vocab());
  return {};
}

// The defaults are generate's (BOS as the model asks, control tokens in the text parsed), which
// are also llama-tokenize's and Hugging Face's: docs/tokenize.md compares them with spm_encode's.
struct EncodeOpts {
  std::string tokenizer, text, input;
  bool bos = true, parse_special = true, pieces = false;
};

Status run_encode(const EncodeOpts& o) {
  auto tok = FRAGUA_TRY(Tokenizer::load(o.tokenizer));
  auto print = [&](std::string_view line, std::string& out) -> Status {
    bool first = true;
    for (int32_t id : FRAGUA_TRY(tok.try_encode(line, o.bos, o.parse_special))) {
      if (!first) out.push_back(' ');
      first = false;
      if (o.pieces)
        out += tok.token_text(id);
      else
        fmt::format_to(std::back_inserter(out), "{}", id);
    }
    out.push_back('\n');
    return {};
  };
  std::string out;
  if (!o.text.empty() && !o.input.empty()) return invalid_argument_error("give --text or --input, not both");
  if (!o.text.empty()) {
    FRAGUA_TRY(print(o.text, out));
  } else if (o.input.empty()) {
    // No text and no file: standard input, one line of ids per line as it arrives (spm_encode's way).
    std::string line;
    for (size_t n = 1; std::getline(std::cin, line); ++n) {
      if (auto st = print(line, out); !st.ok())
        return std::move(st).error().with_context(fmt::format("<stdin>:{}", n));
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      out.clear();
    }
  } else {
    // One line of ids per input line, as spm_encode does.
    auto file = FRAGUA_TRY(MappedFile::open(o.input));
    std::string_view all = file.view();
    out.reserve(all.size());
    size_t line = 1;
    for (size_t p = 0; p < all.size();) {
      size_t nl = all.find('\n', p);
      size_t e = nl == std::string_view::npos ? all.size() : nl;
      if (auto st = print(all.substr(p, e - p), out); !st.ok())
        return std::move(st).error().with_context(fmt::format("{}:{}", o.input, line));
      p = e + 1;
      ++line;
      if (out.size() > (1u << 20)) {
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
      }
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return {};
}

struct DecodeOpts {
  std::string tokenizer;
  std::vector<std::string> ids;
  bool special = false;
};

Status run_decode(const DecodeOpts& o) {
  auto tok = FRAGUA_TRY(Tokenizer::load(o.tokenizer));
  auto decode_words = [&](const std::vector<std::string>& words, size_t line) -> Status {
    std::vector<int32_t> ids;
    for (size_t i = 0; i < words.size(); ++i) {
      char* end = nullptr;
      long v = std::strtol(words[i].c_str(), &end, 10);
      if (*end || v < 0 || v >= tok.n_vocab())
        return invalid_argument_error("line {}, item {}: '{}' is not a token id below {}", line, i + 1, words[i],
                                      tok.n_vocab());
      ids.push_back(static_cast<int32_t>(v));
    }
    std::string s = tok.decode(ids, o.special);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
    return {};
  };
  if (!o.ids.empty()) return decode_words(o.ids, 1);
  std::string line;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    std::istringstream is(line);
    std::vector<std::string> words;
    for (std::string w; is >> w;) words.push_back(w);
    FRAGUA_TRY(decode_words(words, n));
  }
  return {};
}

struct StatsOpts {
  std::vector<std::string> tokenizers, texts;
  std::string json, svg;
  int threads = 0;
};

// Tokens per word, one group of bars per language and one bar per tokenizer, on a y axis from 0
// with round ticks; the legend has its own band to the right, clear of the bars.
std::string fertility_chart(const std::vector<TokenStats>& all) {
  std::vector<std::string> langs, names;
  auto index_of = [](std::vector<std::string>& v, const std::string& x) {
    auto it = std::find(v.begin(), v.end(), x);
    if (it == v.end()) it = v.insert(v.end(), x);
    return static_cast<size_t>(it - v.begin());
  };
  double top = 0;
  for (const auto& s : all) {
    index_of(langs, s.lang);
    index_of(names, s.tokenizer);
    top = std::max(top, s.fertility());
  }
  const std::vector<double> ticks = svg::nice_ticks(0, top > 0 ? top * 1.1 : 1);
  const double group_w = 24.0 * static_cast<double>(names.size()) + 30, legend_w = 220;
  svg::Axes ax;
  ax.left = 60;
  ax.top = 40;
  ax.width = std::max(240.0, group_w * static_cast<double>(langs.size()));
  ax.height = 260;
  ax.xmin = 0;
  ax.xmax = static_cast<double>(langs.size());
  ax.ymin = 0;
  ax.ymax = ticks.empty() ? 1 : std::max(ticks.back(), top * 1.05);
  svg::Canvas c(ax.left + ax.width + legend_w, ax.top + ax.height + 60, "fragua tokenizer stats fertility v1");
  c.text(10, 22, "Tokens per word (fertility) per language: lower is better", "font-size=\"14\"");
  // The x axis holds categories, so only the y axis gets ticks (Axes::draw would number x).
  for (double t : ticks) {
    c.line(ax.left, ax.y(t), ax.left + ax.width, ax.y(t), "#ddd");
    c.text(ax.left - 4, ax.y(t) + 3, fmt::format("{:g}", t), "font-size=\"10\" text-anchor=\"end\"");
  }
  c.rect(ax.left, ax.top, ax.width, ax.height, "none", "", "stroke=\"#444\"");
  c.text(0, 0, "tokens per word",
         fmt::format("text-anchor=\"middle\" transform=\"translate(14,{:.1f}) rotate(-90)\"", ax.top + ax.height / 2));
  static constexpr const char* kColors[] = {"#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f"};
  for (const auto& s : all) {
    const size_t li = index_of(langs, s.lang), ti = index_of(names, s.tokenizer);
    const double gx = ax.left + group_w * static_cast<double>(li) + 15, x = gx + 24.0 * static_cast<double>(ti);
    const double y = ax.y(s.fertility());
    c.rect(x, y, 20, ax.top + ax.height - y, kColors[ti % 6],
           fmt::format("{} {}: {:.3f} tokens per word", s.tokenizer, s.lang, s.fertility()));
  }
  for (size_t li = 0; li < langs.size(); ++li)
    c.text(ax.left + group_w * static_cast<double>(li) + group_w / 2, ax.top + ax.height + 18, langs[li],
           "text-anchor=\"middle\"");
  for (size_t ti = 0; ti < names.size(); ++ti) {
    const double ly = ax.top + 10 + 20.0 * static_cast<double>(ti);
    c.rect(ax.left + ax.width + 20, ly, 12, 12, kColors[ti % 6]);
    c.text(ax.left + ax.width + 38, ly + 11, names[ti]);
  }
  return c.finish();
}

Status run_stats(const StatsOpts& o) {
  std::vector<TokenStats> all;
  for (const auto& tpath : o.tokenizers) {
    auto tok = FRAGUA_TRY(Tokenizer::load(tpath));
    std::string name = tpath.substr(tpath.find_last_of('/') == std::string::npos ? 0 : tpath.find_last_of('/') + 1);
    for (const auto& t : o.texts) {
      auto [lang, path] = split_lang(t);
      auto file = FRAGUA_TRY(MappedFile::open(path));
      auto measured = measure(tok, file.view(), o.threads);
      if (!measured.ok()) return std::move(measured).error().with_context(path);
      TokenStats s = *measured;
      s.tokenizer = name;
      s.lang = lang.empty() ? path : lang;
      all.push_back(s);
    }
  }
  std::string table = format_stats_table(all);
  std::fwrite(table.data(), 1, table.size(), stdout);
  if (!o.json.empty()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& s : all)
      j.push_back({{"tokenizer", s.tokenizer},
                   {"lang", s.lang},
                   {"bytes", s.bytes},
                   {"words", s.words},
                   {"tokens", s.tokens},
                   {"fallback_tokens", s.fallback_tokens},
                   {"fertility", s.fertility()},
                   {"bytes_per_token", s.bytes_per_token()},
                   {"fallback_rate", s.fallback_rate()}});
    FRAGUA_TRY(write_file_atomic(o.json, j.dump(1) + "\n"));
  }
  if (!o.svg.empty()) FRAGUA_TRY(write_file_atomic(o.svg, fertility_chart(all)));
  return {};
}

Status run_convert(const std::string& in, const std::string& out) {
  auto tok = FRAGUA_TRY(Tokenizer::load(in));
  // As save_pretrained does, the output's folder is made when it does not exist.
  if (const auto parent = std::filesystem::path(out).parent_path(); !parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return io_error("{}: cannot create the folder: {}", parent.string(), ec.message());
  }
  auto ends_with = [&](std::string_view suffix) { return out.size() > suffix.size() && out.ends_with(suffix); };
  if (ends_with(".gguf")) return tok.save_gguf(out);
  if (ends_with(".model")) return save_sentencepiece_model(tok, out);
  if (ends_with(".json")) {
    FRAGUA_TRY(tok.save_hf_json(out));
    // A file named tokenizer.json is a Hugging Face tokenizer folder: its two config files go
    // beside it, so that AutoTokenizer.from_pretrained(folder) loads it.
    const size_t slash = out.find_last_of('/');
    if (out.substr(slash == std::string::npos ? 0 : slash + 1) == "tokenizer.json")
      return save_hf_config(tok, slash == std::string::npos ? "." : out.substr(0, slash));
    return {};
  }
  return invalid_argument_error("{}: the output must end in .gguf, .model or .json", out);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("tokenizer",
                                  "Train, measure and run tokenizers (GGUF, tokenizer.json, SentencePiece .model)");
  cmd->require_subcommand(1);

  auto t = std::make_shared<TrainOpts>();
  auto* train = cmd->add_subcommand("train", "Train a BPE tokenizer with byte fallback for a language mixture");
  train->add_option("-i,--input", t->inputs, "LANG=file.txt (one document per line) or file.jsonl (text + lang fields)")
      ->required();
  train->add_option("-o,--output", t->output, "Output prefix: writes PREFIX.gguf and PREFIX.tokenizer.json")
      ->required();
  train->add_option("--mix", t->mix, "Language shares, e.g. es=0.3,ca=0.25,eu=0.25,gl=0.2");
  train->add_option("--vocab-size", t->vocab_size, "Target vocabulary size (default 32000)");
  train->add_option("--special", t->specials, "Reserved control token (repeatable), e.g. <|im_start|>");
  train->add_flag("--no-split-digits", t->no_split_digits, "Let numbers merge into multi-digit pieces");
  train->add_option("--normalization", t->normalization, "Training text normalization: nfc (default), nfkc, none");
  train->add_option("--coverage", t->coverage, "Character coverage of the alphabet (default 0.9995)");
  train->add_option("--dictionary", t->dictionaries,
                    "Hunspell .dic (its .aff beside it) as a word-coverage prior, FILE[:weight] (default weight 1: "
                    "each word as if seen once; repeatable)");
  train->add_flag("--no-required-chars", t->no_required_chars,
                  "Do not force the Iberian letters and punctuation (’ · ¿ ¡ « » ñ ç accented vowels...) into the "
                  "alphabet");
  train->add_option("--max-bytes", t->max_bytes, "Read at most this many input bytes");
  train->add_option("--metrics", t->metrics, "JSON-lines log of the merges");
  train->add_option("--chat-template", t->chat_template,
                    "Chat template to store (chatml, llama3, granite, ... or Jinja)");
  add_threads_flag(*train, t->threads);
  train->callback([t, train] {
    std::string cmdline = "fragua tokenizer train";
    for (const auto& in : t->inputs) cmdline += " --input " + in;
    if (!t->mix.empty()) cmdline += " --mix " + t->mix;
    cmdline += " --vocab-size " + std::to_string(t->vocab_size);
    (void)train;
    check(run_train(*t, cmdline));
  });

  auto e = std::make_shared<EncodeOpts>();
  auto* enc = cmd->add_subcommand(
      "encode", "Print token ids of --text, or one line of ids per line of --input or of standard input");
  enc->add_option("-k,--tokenizer", e->tokenizer, "GGUF, tokenizer.json or SentencePiece .model")->required();
  enc->add_option("--text", e->text, "Text to encode");
  enc->add_option("-i,--input", e->input, "File to encode line by line (default: standard input)");
  enc->add_flag("--bos,!--no-bos", e->bos, "Add BOS/EOS as the model asks (on, as in generate)");
  enc->add_flag("--parse-special,!--no-parse-special", e->parse_special,
                "Turn control tokens written in the text (<|im_start|>) into tokens (on, as in generate)");
  enc->add_flag("--pieces", e->pieces, "Print pieces instead of ids");
  enc->callback([e] { check(run_encode(*e)); });

  auto d = std::make_shared<DecodeOpts>();
  auto* dec = cmd->add_subcommand("decode", "Turn token ids (arguments, or lines on stdin) back into text");
  dec->add_option("-k,--tokenizer", d->tokenizer, "GGUF, tokenizer.json or SentencePiece .model")->required();
  dec->add_option("ids", d->ids, "Token ids");
  dec->add_flag("--special", d->special, "Render control tokens");
  dec->callback([d] { check(run_decode(*d)); });

  auto s = std::make_shared<StatsOpts>();
  auto* st = cmd->add_subcommand("stats", "Fertility, bytes/token and byte-fallback rate per language, side by side");
  st->add_option("-k,--tokenizer", s->tokenizers, "Tokenizer (repeatable)")->required();
  st->add_option("--text", s->texts, "LANG=file.txt (repeatable)")->required();
  st->add_option("--json", s->json, "Also write the numbers as JSON");
  st->add_option("--svg", s->svg, "Also write a fertility chart (tokens per word per language and tokenizer) as SVG");
  add_threads_flag(*st, s->threads);
  st->callback([s] { check(run_stats(*s)); });

  auto c = std::make_shared<std::pair<std::string, std::string>>();
  auto* conv =
      cmd->add_subcommand("convert",
                          "Convert between GGUF, tokenizer.json (with tokenizer_config.json and "
                          "special_tokens_map.json when named tokenizer.json) and SentencePiece .model");
  conv->add_option("-k,--tokenizer", c->first, "Input tokenizer")->required();
  conv->add_option("-o,--output", c->second, "Output .gguf, .model or .json")->required();
  conv->callback([c] { check(run_convert(c->first, c->second)); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
