// SPDX-License-Identifier: Apache-2.0
// Constrained JSON output: a JSON schema (or "any JSON object") compiled into an incremental
// byte-level recogniser, and the token mask that keeps a generation a valid prefix of the
// schema's language (`response_format` json_object / json_schema, tool calls; docs/serve.md,
// "Constrained output").
//
// The recogniser is a pushdown automaton over bytes (RFC 8259's grammar, the schema's
// constraints on top). A byte is accepted only when some valid document still starts with the
// bytes seen: no prefix it accepts is a dead end, so a masked generation never runs out of
// allowed tokens. It is nondeterministic only where the schema is (anyOf/oneOf alternatives
// that start alike): it then follows every alive alternative, as llama.cpp's grammar sampler
// keeps one stack per alternative. What it enforces beyond the schema, so that a model cannot
// loop or wander: at most kMaxWhitespaceRun whitespace bytes in a row, no whitespace after the
// top-level value, numbers of at most kMaxNumberDigits digits per part, integers written
// without fraction or exponent, object keys without backslash escapes unless a declared
// property's name needs them, enum/const values in their canonical form (nlohmann's dump, the
// way Python's json.dumps writes them without spaces), output nesting up to kMaxJsonNesting.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua::tokenize {
class Tokenizer;
}

namespace fragua::serve {

inline constexpr int kMaxJsonNesting = 32;        // arrays/objects open at once in the output
inline constexpr int kMaxWhitespaceRun = 12;      // whitespace bytes in a row
inline constexpr int kMaxNumberDigits = 18;       // digits of an integer part, fraction or exponent
inline constexpr int kMaxSchemaNodes = 4096;      // compiled schema nodes ($ref targets compiled once)
inline constexpr int kMaxSchemaDepth = 64;        // nesting of the schema document
inline constexpr int kMaxEnumValues = 1024;       // values of one enum
inline constexpr int kMaxObjectProperties = 64;   // declared properties of one object schema
inline constexpr int kMaxAlternatives = 64;       // alternatives followed at once

struct CompiledSchema;  // immutable once compiled; shared by every recogniser of a request

// Compiles a JSON schema. Supported: type (one or a list), properties, required,
// additionalProperties (boolean or a schema), items, minItems, maxItems, minLength, maxLength,
// enum, const, anyOf, oneOf (followed as anyOf: the output satisfies at least one), $ref to
// "#", "#/$defs/..." or "#/definitions/...", $defs/definitions; the annotations title,
// description, default, examples, $schema, $id, $comment, strict are accepted and have no effect.
// Any other keyword is refused (unsupported, naming it and where it is, as a JSON pointer), never
// ignored; so is a schema no document satisfies (an empty enum, minItems > maxItems, a required
// property that additionalProperties: false forbids). `where` names the schema in messages
// ("response_format.json_schema.schema").
Result<std::shared_ptr<const CompiledSchema>> compile_json_schema(const nlohmann::json& schema,
                                                                  std::string_view where = "schema");
// Any JSON value whose top level is an object (response_format json_object).
std::shared_ptr<const CompiledSchema> any_json_object_schema();

// A call of one of `tools`: {"name": "<a tool's name>", "arguments": <that tool's parameters>},
// the name first (so that a stream can announce the call before its arguments). `parameters`
// null: any JSON object. `where` names the tools in messages ("tools").
struct ToolSchema {
  std::string name;
  nlohmann::json parameters;
};
Result<std::shared_ptr<const CompiledSchema>> compile_tool_call_schema(std::span<const ToolSchema> tools,
                                                                       std::string_view where = "tools");

// The incremental recogniser. Copyable (its state is a few vectors of small frames); copies share
// the compiled schema.
class JsonRecognizer {
 public:
  explicit JsonRecognizer(std::shared_ptr<const CompiledSchema> schema);

  // Accepts `byte` when the bytes fed so far plus it still start a valid document; otherwise
  // returns false and leaves the state as it was.
  bool feed(uint8_t byte);
  // All or nothing: on a rejected byte the state is as before the call.
  bool feed(std::string_view bytes);
  // The bytes fed form a whole valid document (a top-level number may still go on: "12" -> "123").
  bool is_complete() const;
  // Some byte may still be accepted; false once the document is complete and closed.
  bool can_continue() const;

  struct State;  // defined in json_constraint.cpp

  JsonRecognizer(const JsonRecognizer&);
  JsonRecognizer& operator=(const JsonRecognizer&);
  JsonRecognizer(JsonRecognizer&&) noexcept;
  JsonRecognizer& operator=(JsonRecognizer&&) noexcept;
  ~JsonRecognizer();

 private:
  friend class TokenMasker;
  std::shared_ptr<const CompiledSchema> schema_;
  std::unique_ptr<State> state_, scratch_;
};

// The model's tokens as bytes (tokenize::Tokenizer::token_piece), in a trie laid out in
// depth-first order, built once per model and shared by every request. Control tokens and tokens
// of no bytes are never allowed by a mask; end-of-generation tokens are allowed exactly when the
// document is complete.
class TokenTrie {
 public:
  static std::shared_ptr<const TokenTrie> build(const tokenize::Tokenizer& tok, std::span<const int32_t> eog_ids);
  int32_t n_vocab() const { return n_vocab_; }
  size_t n_nodes() const { return byte_.size(); }

 private:
  friend class TokenMasker;
  int32_t n_vocab_ = 0;
  // Node i (0 is the root): its byte, its depth, one past its subtree, and the tokens that end
  // there (tokens_[token_begin_[i] .. token_begin_[i + 1])).
  std::vector<uint8_t> byte_;
  std::vector<uint16_t> depth_;
  std::vector<uint32_t> end_, token_begin_;
  std::vector<int32_t> tokens_, eog_;
  uint16_t max_depth_ = 0;
};

// Sets to -inf the logits of every token that would make the output an invalid prefix (walking
// the trie with the recogniser, so a shared prefix is checked once). Reuses its buffers between
// calls; one per generating sequence (not thread-safe).
class TokenMasker {
 public:
  explicit TokenMasker(std::shared_ptr<const TokenTrie> trie);
  ~TokenMasker();
  TokenMasker(TokenMasker&&) noexcept;
  // Returns the number of allowed tokens (0: nothing can follow; the logits are then all -inf).
  size_t apply(const JsonRecognizer& rec, std::span<float> logits);
  // The allowed tokens after the last apply(), as a 0/1 vector of n_vocab entries.
  const std::vector<uint8_t>& allowed() const { return allowed_; }

 private:
  std::shared_ptr<const TokenTrie> trie_;
  std::vector<JsonRecognizer::State> states_;
  std::vector<uint8_t> allowed_;
};

}  // namespace fragua::serve
