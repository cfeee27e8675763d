// SPDX-License-Identifier: Apache-2.0
// A local GGUF teacher: the model run in-process through model::ChatSession, one call at a time
// (one context, one KV cache).
#include <mutex>

#include "fragua/community/teacher.h"
#include "fragua/model/chat_session.h"
#include "fragua/model/loaded_model.h"

namespace fragua::community {

namespace {

class GgufTeacher final : public Teacher {
 public:
  GgufTeacher(model::LoadedModel m, std::string chat_template)
      : model_(std::move(m)), chat_template_(std::move(chat_template)) {}

  std::string name() const override { return "gguf:" + model_.path; }
  int max_concurrency() const override { return 1; }

  Result<std::string> complete(const std::vector<tokenize::ChatMessage>& messages,
                               const TeacherParams& params) override {
    std::lock_guard<std::mutex> lock(mutex_);
    model::ChatParams cp;
    cp.chat_template = chat_template_;
    cp.gen.max_tokens = params.max_tokens;
    cp.gen.sampler.temperature = static_cast<float>(params.temperature);
    cp.gen.sampler.seed = params.seed;
    std::vector<tokenize::ChatMessage> rest;
    for (const auto& m : messages) {
      if (m.role == "system" && rest.empty() && cp.system.empty())
        cp.system = m.content;
      else
        rest.push_back(m);
    }
    // One session for the teacher's life, so that the shared system prompt stays in the cache;
    // each request sets its own messages, seed and temperature.
    if (!session_) session_ = std::make_unique<model::ChatSession>(FRAGUA_TRY(model::ChatSession::create(model_, cp)));
    auto& gen = session_->generate_params();
    gen.max_tokens = cp.gen.max_tokens;
    gen.sampler.temperature = cp.gen.sampler.temperature;
    gen.sampler.seed = cp.gen.sampler.seed;
    std::vector<tokenize::ChatMessage> all;
    if (!cp.system.empty()) all.push_back({"system", cp.system});
    all.insert(all.end(), rest.begin(), rest.end());
    session_->set_messages(std::move(all));
    auto turn = FRAGUA_TRY(session_->respond());
    return turn.generation.text;
  }

 private:
  model::LoadedModel model_;
  std::string chat_template_;
  std::unique_ptr<model::ChatSession> session_;
  std::mutex mutex_;
};

}  // namespace

Result<std::unique_ptr<Teacher>> make_gguf_teacher(const GgufTeacherOptions& options) {
  model::OpenOptions oo;
  oo.context.n_ctx = options.n_ctx;
  oo.context.n_threads = options.threads;
  oo.tokenizer_path = options.tokenizer;
  auto m = FRAGUA_TRY(model::open_model(options.path, oo));
  if (!m.tokenizer) return invalid_argument_error("{}: the teacher model has no tokenizer", options.path);
  return std::unique_ptr<Teacher>(new GgufTeacher(std::move(m), options.chat_template));
}

}  // namespace fragua::community
