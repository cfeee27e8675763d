// SPDX-License-Identifier: Apache-2.0
// Tokenizers that real models use, and the ones Fragua trains.
//
// Two families, both loaded from GGUF metadata (`tokenizer.ggml.*`, the keys llama.cpp defines)
// or from a Hugging Face tokenizer.json, and saved to both:
//  - spm: SentencePiece-style BPE driven by piece scores, with the U+2581 space marker, an
//    optional leading space and byte fallback (`<0xNN>`): Llama 2, Salamandra/ALIA, Latxa v1.
//  - bpe: merge-ranked BPE, byte-level (GPT-2's byte-to-Unicode map) after a regex
//    pre-tokenizer (GPT-2, Llama 3, Granite, Qwen 2, Command-R...), or on raw UTF-8 with byte
//    fallback when converted from a SentencePiece-style tokenizer.json.
//
// Invalid UTF-8 input is never an error: bytes that form no valid character are encoded with
// byte tokens (byte fallback, or the byte-level alphabet), so decode(encode(x)) == x for any
// byte string x when the vocabulary has all 256 byte tokens and no encode-time normalizer is
// set (a SentencePiece model converted with its NFKC rule normalizes, as SentencePiece does).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::format {
class GgufFile;
class GgufWriter;
}  // namespace fragua::format

namespace fragua::tokenize {

// The GGUF token types (llama.cpp's llama_token_type values, stored in tokenizer.ggml.token_type).
enum class TokenType : int32_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

enum class ModelKind { spm, bpe };
enum class Normalization { none, nfc, nfkc };

// Everything a tokenizer is made of. Loaders fill it; the trainer produces it; from_spec checks it.
struct VocabSpec {
  ModelKind kind = ModelKind::spm;
  std::vector<std::string> tokens;
  std::vector<float> scores;              // spm: merge priority (higher first); may be empty for bpe
  std::vector<TokenType> types;           // empty: all normal
  std::vector<std::string> merges;        // bpe: "left right", rank = index
  std::string pre = "default";            // tokenizer.ggml.pre: selects the pre-tokenizer regexes
  std::vector<std::string> pre_regexes;   // when non-empty, used instead of those of `pre`
  bool byte_encode = true;                // bpe: GPT-2 byte-to-Unicode alphabet (false: raw UTF-8)
  bool escape_spaces = false;             // bpe on raw UTF-8: ' ' -> U+2581 before merging
  bool ignore_merges = false;             // bpe: a pre-token that is itself a token is emitted whole
  bool add_space_prefix = true;           // spm: a leading space before text that starts a fragment
  bool remove_extra_whitespaces = false;  // spm (SentencePiece's normalizer option)
  bool add_bos = false, add_eos = false;
  Normalization normalization = Normalization::none;
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1, eot_id = -1, eom_id = -1;
  std::vector<int32_t> lstrip_ids, rstrip_ids;  // special tokens that eat the spaces beside them
  std::string chat_template;
  // Provenance and other facts written with the tokenizer as `fragua.tokenizer.<key>`.
  std::vector<std::pair<std::string, std::string>> info;
};

// A stretch of text given to Tokenizer::try_encode_parts: its length in bytes, and whether
// control tokens written in it become those tokens.
struct TextPart {
  size_t size = 0;
  bool parse_special = false;
};

class Tokenizer {
 public:
  static Result<Tokenizer> from_spec(VocabSpec spec);
  static Result<Tokenizer> from_gguf(const format::GgufFile& file);
  // A GGUF file or a tokenizer.json, told apart by content.
  static Result<Tokenizer> load(const std::string& path);
  static Result<Tokenizer> from_hf_json(const std::string& path);
  // `origin` names the input in error messages.
  static Result<Tokenizer> from_hf_json_text(std::string_view json, std::string_view origin);
  // A SentencePiece ModelProto (.model) of type BPE (or UNIGRAM/CHAR pieces used as spm).
  static Result<Tokenizer> from_sentencepiece_model(const std::string& path);
  static Result<Tokenizer> from_sentencepiece_bytes(std::string_view bytes, std::string_view origin);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // add_special: BOS (and EOS) as the model asks (tokenizer.ggml.add_bos_token...).
  // parse_special: control tokens written in the text (`<|im_start|>`) become those tokens;
  // user-defined tokens are always matched, as in Hugging Face tokenizers and llama.cpp.
  // Never fails: where a pre-tokenizer regex runs over its budget (a hostile Split pattern in a
  // tokenizer.json), the text it could not split stays one pre-token, still losslessly encoded.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // The same, but a regex over its budget is a resource_exhausted error naming the pattern: use
  // it where the tokenizer file is untrusted and a wrong split must not pass silently.
  Result<std::vector<int32_t>> try_encode(std::string_view text, bool add_special, bool parse_special) const;
  // `text` cut into consecutive parts (their sizes sum to text.size()): control tokens are
  // recognised only inside parts with parse_special, and no special token that those parts
  // contain (not even a user-defined one) is recognised in the other parts, so markup cannot be
  // forged from the text between it (a chat message). Text is merged across part boundaries as
  // if the parts were one string.
  Result<std::vector<int32_t>> try_encode_parts(std::string_view text, std::span<const TextPart> parts,
                                                bool add_special) const;
  // Lossless inverse of encode (control tokens render as nothing; see render_special).
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;
  // The bytes this token contributes when decoding (streaming; may be part of a character).
  std::string token_piece(int32_t id, bool render_special = false) const;
  // The vocabulary entry as stored ("▁de", "Ġthe", "<0x0A>").
  const std::string& token_text(int32_t id) const;
  TokenType token_type(int32_t id) const;
  // -1 when absent.
  int32_t token_id(std::string_view text) const;

  int32_t bos_id() const;
  int32_t eos_id() const;
  bool is_eog(int32_t id) const;
  int32_t n_vocab() const;
  const VocabSpec& spec() const;

  void write_gguf_metadata(format::GgufWriter& writer) const;
  Status save_gguf(const std::string& path) const;  // vocabulary-only GGUF
  // Refused (invalid_argument) when a token is not valid UTF-8, which JSON cannot hold.
  Result<std::string> to_hf_json() const;
  Status save_hf_json(const std::string& path) const;

  struct Impl;  // defined in src/tokenize (pimpl)

 private:
  Tokenizer();
  std::unique_ptr<Impl> impl_;
};

// Text normalization (utf8proc, Unicode NFC/NFKC). Invalid UTF-8 is passed through unchanged
// byte by byte around the valid runs, so normalization never fails.
std::string normalize(std::string_view text, Normalization form);
std::string_view normalization_name(Normalization form);
Result<Normalization> parse_normalization(std::string_view name);

// Chat templates. `template_or_name` is a built-in format's name ("chatml", "llama3", "granite",
// "phi3", "llama2"), or a Jinja template as models ship it (tokenizer_config.json, GGUF
// `tokenizer.chat_template`), rendered by the sandboxed interpreter of src/tokenize/jinja as
// transformers renders it (trim_blocks, lstrip_blocks, its tojson). Text without Jinja tags is
// recognised by a built-in format's markers; anything else is an error rather than a silently
// wrong prompt. detect_chat_template returns the format's name, or "jinja" once the template
// parses (a syntax error names its line and column).
struct ChatMessage {
  std::string role, content;
};
Result<std::string> detect_chat_template(std::string_view template_or_name);
Result<std::string> apply_chat_template(std::string_view template_or_name, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt);

// A rendered prompt and its parts: the template's markup (parse_special) and the messages' text.
struct ChatPrompt {
  std::string text;
  std::vector<TextPart> parts;
};
Result<ChatPrompt> render_chat(std::string_view template_or_name, std::span<const ChatMessage> messages,
                               bool add_generation_prompt);
// The prompt's tokens, BOS included as the tokenizer asks. Only the template's own markers become
// control tokens: "<|im_end|>" typed in a message is encoded as text (no role spoofing).
Result<std::vector<int32_t>> encode_chat(const Tokenizer& tok, std::string_view template_or_name,
                                         std::span<const ChatMessage> messages, bool add_generation_prompt);

// A chat template from a file (`--chat-template-file`): Jinja text, or a tokenizer_config.json
// whose "chat_template" is a string or a list of {"name", "template"} (the "default" one is
// taken). Checked as detect_chat_template checks it; errors name the file.
Result<std::string> read_chat_template_file(const std::string& path, Env& env = Env::posix());

// What a Jinja template reads besides `messages` and `add_generation_prompt` (the variables of
// transformers' apply_chat_template). encode_chat fills bos_token/eos_token from the tokenizer
// when they are empty.
struct ChatContext {
  std::string bos_token, eos_token;
  nlohmann::ordered_json tools;      // a list of tool schemas, or null for none
  nlohmann::ordered_json variables;  // more variables (an object), e.g. {"enable_thinking": false}
};
// Messages as JSON objects, as Hugging Face passes them: role, content (a string or a list of
// parts), tool_calls... Every string in them, in tools and in variables is data: it never
// becomes a control token. A built-in format takes string contents only.
Result<ChatPrompt> render_chat_json(std::string_view template_or_name, const nlohmann::ordered_json& messages,
                                    bool add_generation_prompt, const ChatContext& context);
// With a Jinja template the tokenizer adds no BOS when the template wrote it (bos_token), as
// transformers tokenizes a rendered chat without special tokens.
Result<std::vector<int32_t>> encode_chat_json(const Tokenizer& tok, std::string_view template_or_name,
                                              const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                              ChatContext context = {});

}  // namespace fragua::tokenize
