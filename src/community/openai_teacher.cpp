// SPDX-License-Identifier: Apache-2.0
// The endpoint teacher: eval::OpenAIClient's chat_completions (its retries and backoff), the
// first choice's content as the reply.
#include "fragua/eval/openai_client.h"

#include <algorithm>

#include "fragua/community/teacher.h"

namespace fragua::community {

namespace {

class OpenAiTeacher final : public Teacher {
 public:
  OpenAiTeacher(eval::OpenAIClientOptions o, int concurrency)
      : client_(std::move(o)), concurrency_(std::max(1, concurrency)) {}

  std::string name() const override { return "openai:" + client_.url("/chat/completions") + "#" + client_.options().model; }
  int max_concurrency() const override { return concurrency_; }

  Result<std::string> complete(const std::vector<tokenize::ChatMessage>& messages,
                               const TeacherParams& params) override {
    eval::ChatRequest req;
    for (const auto& m : messages) req.messages.push_back({m.role, m.content});
    req.max_tokens = params.max_tokens;
    req.temperature = params.temperature;
    req.seed = static_cast<int64_t>(params.seed & ((uint64_t{1} << 63) - 1));
    auto r = FRAGUA_TRY(client_.chat_completions(req));
    return r.choices[0].content;
  }

 private:
  eval::OpenAIClient client_;
  int concurrency_;
};

}  // namespace

Result<std::unique_ptr<Teacher>> make_openai_teacher(const OpenAiTeacherOptions& options) {
  if (options.model.empty()) return invalid_argument_error("--teacher-model: a model name is required");
  if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0)
    return invalid_argument_error("--teacher-url '{}': an http:// or https:// URL is expected", options.url);
  eval::OpenAIClientOptions o;
  o.base_url = options.url;
  o.model = options.model;
  o.api_key = options.api_key;
  o.max_retries = options.max_retries;
  o.backoff_initial_s = options.backoff_initial_s;
  o.backoff_max_s = options.backoff_max_s;
  o.connect_timeout_s = options.connect_timeout_s;
  o.read_timeout_s = options.read_timeout_s;
  return std::unique_ptr<Teacher>(new OpenAiTeacher(std::move(o), options.concurrency));
}

}  // namespace fragua::community
