// SPDX-License-Identifier: Apache-2.0
// The teacher (and student) models of synthetic data generation: a chat model behind an
// OpenAI-compatible endpoint (a hosted model, vLLM, llama.cpp's server, `fragua serve`) or a
// local GGUF file run in-process.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::community {

struct TeacherParams {
  double temperature = 0.7;
  int max_tokens = 1024;
  uint64_t seed = 0;  // sent as the request's `seed` (OpenAI: best-effort determinism)
};

// complete() may be called from several threads at once; max_concurrency() says how many calls
// are worth running together.
class Teacher {
 public:
  virtual ~Teacher() = default;
  // Recorded in every sample: "openai:<url>#<model>" or "gguf:<file>".
  virtual std::string name() const = 0;
  virtual int max_concurrency() const = 0;
  // The assistant's reply to `messages`.
  virtual Result<std::string> complete(const std::vector<tokenize::ChatMessage>& messages,
                                       const TeacherParams& params) = 0;
};

struct OpenAiTeacherOptions {
  std::string url;  // base ("http://host:8080/v1") or the full ".../chat/completions" URL
  std::string model;
  std::string api_key;  // sent as "Authorization: Bearer ..." when not empty
  int concurrency = 4;
  // Retries and backoff are eval::OpenAIClient's (eval/openai_client.h): connection errors,
  // timeouts, 429 and 5xx are tried again after exponential backoff with jitter, or after the
  // server's Retry-After.
  int max_retries = 5;
  double backoff_initial_s = 1.0, backoff_max_s = 30.0;
  int connect_timeout_s = 10, read_timeout_s = 300;
};

// Checks the URL; no request is sent until complete().
Result<std::unique_ptr<Teacher>> make_openai_teacher(const OpenAiTeacherOptions& options);

struct GgufTeacherOptions {
  std::string path;
  int n_ctx = 4096;
  int threads = 0;
  std::string tokenizer;      // a tokenizer file instead of the model's own ("": the model's)
  std::string chat_template;  // a template name or Jinja text ("": the tokenizer's own)
};
// Loads the model once; calls are serialised (one context).
Result<std::unique_ptr<Teacher>> make_gguf_teacher(const GgufTeacherOptions& options);

}  // namespace fragua::community
