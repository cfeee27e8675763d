// SPDX-License-Identifier: Apache-2.0
// Small tokenizers built in code for the hardening tests: a GPT-2-style byte-level BPE
// tokenizer.json (256 byte tokens, a few merges, <|endoftext|>) and a ChatML-style vocabulary.
#pragma once

#include <unistd.h>

#include <string>

#include <nlohmann/json.hpp>

#include "bounded_run.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"
#include "tokenize/byte_unicode.h"

namespace fragua::tokenize::test {

// Byte-level BPE as Hugging Face writes it: vocab (bytes 0..255 under their GPT-2 stand-ins,
// then merged pieces), merges, added_tokens, ByteLevel pre-tokenizer and decoder.
inline nlohmann::json byte_level_json() {
  const auto& bu = ByteUnicode::get();
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[bu.byte_to_utf8[static_cast<size_t>(b)]] = b;
  nlohmann::json merges = nlohmann::json::array();
  for (const char* m : {"a a", "aa aa", "Ġ a", "h o", "ho l", "hol a"}) {
    std::string s(m);
    size_t sp = s.find(' ');
    vocab[s.substr(0, sp) + s.substr(sp + 1)] = vocab.size();
    merges.push_back(s);
  }
  const size_t eot = vocab.size();
  return {{"version", "1.0"},
          {"added_tokens", {{{"id", eot}, {"content", "<|endoftext|>"}, {"special", true}}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
          {"decoder", {{"type", "ByteLevel"}}},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

// `inner` wrapped in `levels` Sequence pre-tokenizers (or normalizers).
inline nlohmann::json nested_sequence(nlohmann::json inner, int levels, bool normalizers) {
  for (int i = 0; i < levels; ++i)
    inner = {{"type", "Sequence"}, {normalizers ? "normalizers" : "pretokenizers", nlohmann::json::array({inner})}};
  return inner;
}

// A byte-level tokenizer whose pre-tokenizer is one Split regex (then ByteLevel without regex).
inline nlohmann::json split_regex_json(const std::string& regex) {
  nlohmann::json j = byte_level_json();
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  return j;
}

// Byte-level BPE with the ChatML markers as control tokens (ids 256, 257) and BOS <s> (258).
inline VocabSpec chatml_spec(TokenType marker_type = TokenType::control) {
  VocabSpec s;
  s.kind = ModelKind::bpe;
  s.pre = "gpt-2";
  const auto& bu = ByteUnicode::get();
  for (int b = 0; b < 256; ++b) s.tokens.push_back(bu.byte_to_utf8[static_cast<size_t>(b)]);
  s.types.assign(256, TokenType::normal);
  for (const char* t : {"<|im_start|>", "<|im_end|>"}) {
    s.tokens.push_back(t);
    s.types.push_back(marker_type);
  }
  s.tokens.push_back("<s>");
  s.types.push_back(TokenType::control);
  s.bos_id = 258;
  s.add_bos = true;
  s.merges = {"Ġ a"};
  s.tokens.push_back("Ġa");
  s.types.push_back(TokenType::normal);
  return s;
}

// run_bounded on `fragua <args>` (its peak memory is the CLI's own: see tests/bounded_run.h).
inline fragua::test::BoundedRun run_cli_bounded(const std::string& args, int seconds) {
  return fragua::test::run_bounded(fragua::test::cli_path() + " " + args, seconds);
}

}  // namespace fragua::tokenize::test
