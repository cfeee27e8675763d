// SPDX-License-Identifier: Apache-2.0
// Token shards: the binary files `fragua corpus shard` writes and `fragua train` reads.
//
// Layout (little-endian):
//   0  "FRGSHARD"          magic
//   8  u32 version (1)     u32 reserved (0)
//   16 u64 header_len      then header_len bytes of JSON, zero-padded to a multiple of 8
//   data section: per language, u32 tokens[n_tokens] (padded to 8 bytes), then n_docs pairs
//   of u64 (first token of the document, UTF-8 bytes of its original text).
// The JSON header holds the provenance (command, inputs, Fragua version), the tokenizer
// (name, vocab size, fingerprint, bos/eos), an XXH64 of the data section, and per language
// {lang, n_docs, n_tokens, n_bytes, tokens_offset, docs_offset} (offsets into the data section).
// The reader checks every offset and length against the file, the checksum, the document index
// and every token against the vocabulary before anything is used.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::train {

inline constexpr uint32_t kShardVersion = 1;

struct ShardTokenizer {
  std::string name;  // "byte" or the tokenizer file's name
  int vocab_size = 0;
  std::string fingerprint;  // identifies the exact vocabulary (hex XXH64)
  int bos = -1, eos = -1;   // -1: none
  nlohmann::json to_json() const;
  static Result<ShardTokenizer> from_json(const nlohmann::json& j, std::string_view where);
};

struct ShardDoc {
  uint64_t token_start = 0;
  uint64_t n_bytes = 0;
};

struct ShardLanguage {
  std::string lang;
  std::span<const uint32_t> tokens;
  uint64_t n_bytes = 0;
  uint64_t n_docs = 0;
  const uint8_t* docs = nullptr;  // n_docs * 16 bytes; read with doc(i)
  ShardDoc doc(uint64_t i) const;
};

class TokenShard {
 public:
  static Result<TokenShard> open(const std::string& path);
  static Result<TokenShard> parse(std::string_view bytes, std::string name = "<memory>");
  TokenShard(TokenShard&&) noexcept;
  TokenShard& operator=(TokenShard&&) noexcept;
  ~TokenShard();

  const std::string& path() const;
  const ShardTokenizer& tokenizer() const;
  const nlohmann::json& provenance() const;
  const std::vector<ShardLanguage>& languages() const;

 private:
  TokenShard();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ShardWriter {
 public:
  ShardWriter(ShardTokenizer tokenizer, nlohmann::json provenance);
  // Appends one document (its tokens and the UTF-8 byte length of its original text).
  void add(const std::string& lang, std::span<const int32_t> tokens, uint64_t n_bytes);
  uint64_t n_tokens() const { return n_tokens_; }
  bool empty() const { return n_tokens_ == 0; }
  Status write(const std::string& path, Env& env = Env::posix()) const;
  std::string to_bytes() const;
  void clear();

 private:
  struct Lang {
    std::string lang;
    std::vector<uint32_t> tokens;
    std::vector<ShardDoc> docs;
    uint64_t n_bytes = 0;
  };
  ShardTokenizer tokenizer_;
  nlohmann::json provenance_;
  std::vector<Lang> langs_;
  uint64_t n_tokens_ = 0;
};

}  // namespace fragua::train

namespace fragua::train {

class TextEncoder;

struct ShardBuildOptions {
  std::vector<std::string> inputs;  // .jsonl ({"text": ..., "lang": ...} per line) or plain text
  std::string out_dir;
  std::string lang;                    // for inputs without a "lang" field; "" makes that an error
  uint64_t shard_tokens = 50'000'000;  // tokens per shard file
  std::string command;                 // recorded as provenance
  Env* env = nullptr;                  // listing and output files (nullptr: Env::posix()); inputs are mapped
};

struct ShardBuildStats {
  uint64_t documents = 0, tokens = 0, bytes = 0, shards = 0;
};

// Encodes every document and writes <out>/shard-NNNNN.fts. A malformed input line is an error
// naming the file and line; on any error the shards this call wrote are removed.
Result<ShardBuildStats> build_shards(const ShardBuildOptions& options, const TextEncoder& encoder);

}  // namespace fragua::train
