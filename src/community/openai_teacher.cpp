// SPDX-License-Identifier: Apache-2.0
// A minimal OpenAI chat-completions client for SDG teachers (POST /chat/completions, the
// "choices[0].message.content" of the answer), with retries and backoff.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "fragua/base/json.h"
#include "fragua/community/teacher.h"

namespace fragua::community {

namespace {

struct TeacherUrl {
  std::string origin, path;
};

Result<TeacherUrl> split_teacher_url(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos || (url.compare(0, scheme, "http") != 0 && url.compare(0, scheme, "https") != 0))
    return invalid_argument_error("--teacher-url '{}': an http:// or https:// URL is expected", url);
  size_t slash = url.find('/', scheme + 3);
  TeacherUrl u;
  u.origin = url.substr(0, slash);
  u.path = slash == std::string::npos ? "" : url.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  const std::string tail = "/chat/completions";
  if (u.path.size() < tail.size() || u.path.compare(u.path.size() - tail.size(), tail.size(), tail) != 0)
    u.path += tail;
  if (u.origin.size() <= scheme + 3) return invalid_argument_error("--teacher-url '{}': no host", url);
  return u;
}

class OpenAiTeacher final : public Teacher {
 public:
  OpenAiTeacher(OpenAiTeacherOptions o, TeacherUrl u) : opts_(std::move(o)), url_(std::move(u)) {}

  std::string name() const override { return "openai:" + url_.origin + url_.path + "#" + opts_.model; }
  int max_concurrency() const override { return std::max(1, opts_.concurrency); }

  Result<std::string> complete(const std::vector<tokenize::ChatMessage>& messages,
                               const TeacherParams& params) override {
    nlohmann::json body = {{"model", opts_.model},
                           {"temperature", params.temperature},
                           {"max_tokens", params.max_tokens},
                           {"seed", params.seed}};
    body["messages"] = nlohmann::json::array();
    for (const auto& m : messages) body["messages"].push_back({{"role", m.role}, {"content", m.content}});
    const std::string payload = body.dump();
    std::mt19937_64 jitter_rng(params.seed ^ 0x5bd1e995ULL);
    std::string last_error;
    for (int attempt = 0; attempt <= opts_.max_retries; ++attempt) {
      double retry_after = -1;
      auto r = post_once(payload, retry_after);
      if (r.ok()) return r;
      last_error = r.error().message();
      if (retry_after == -2) return r;  // not worth retrying (400, 401, a malformed answer)
      if (attempt == opts_.max_retries) break;
      double wait = std::min(opts_.backoff_max_s, opts_.backoff_initial_s * static_cast<double>(1u << std::min(attempt, 20)));
      wait *= 0.5 + 0.5 * std::uniform_real_distribution<double>(0, 1)(jitter_rng);
      if (retry_after >= 0) wait = std::min(retry_after, std::max(opts_.backoff_max_s, 1.0));
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
    return io_error("{}: {} (after {} retries)", name(), last_error, opts_.max_retries);
  }

 private:
  // retry_after: -1 retry with backoff, >= 0 retry after that many seconds, -2 do not retry.
  Result<std::string> post_once(const std::string& payload, double& retry_after) {
    httplib::Client cli(url_.origin);
    cli.set_connection_timeout(opts_.connect_timeout_s, 0);
    cli.set_read_timeout(opts_.read_timeout_s, 0);
    cli.set_write_timeout(opts_.read_timeout_s, 0);
    httplib::Headers headers;
    if (!opts_.api_key.empty()) headers.emplace("Authorization", "Bearer " + opts_.api_key);
    auto res = cli.Post(url_.path, headers, payload, "application/json");
    if (!res) return io_error("request failed: {}", httplib::to_string(res.error()));
    if (res->status != 200) {
      bool transient = res->status == 408 || res->status == 429 || res->status >= 500;
      retry_after = transient ? -1 : -2;
      if (transient && res->has_header("Retry-After")) {
        try {
          retry_after = std::max(0.0, std::stod(res->get_header_value("Retry-After")));
        } catch (const std::exception&) {
        }
      }
      return io_error("HTTP {}: {}", res->status, res->body.substr(0, 200));
    }
    auto j = parse_json(res->body, name());
    if (!j.ok()) {
      retry_after = -1;  // a cut or garbled answer: the next try may be whole
      return std::move(j).error();
    }
    const auto& doc = *j;
    if (!doc.is_object() || !doc.contains("choices") || !doc["choices"].is_array() || doc["choices"].empty() ||
        !doc["choices"][0].is_object() || !doc["choices"][0].contains("message") ||
        !doc["choices"][0]["message"].is_object() || !doc["choices"][0]["message"].contains("content") ||
        !doc["choices"][0]["message"]["content"].is_string()) {
      retry_after = -2;
      return invalid_argument_error("answer has no choices[0].message.content string");
    }
    return doc["choices"][0]["message"]["content"].get<std::string>();
  }

  OpenAiTeacherOptions opts_;
  TeacherUrl url_;
};

}  // namespace

Result<std::unique_ptr<Teacher>> make_openai_teacher(const OpenAiTeacherOptions& options) {
  if (options.model.empty()) return invalid_argument_error("--teacher-model: a model name is required");
  auto u = FRAGUA_TRY(split_teacher_url(options.url));
  return std::unique_ptr<Teacher>(new OpenAiTeacher(options, std::move(u)));
}

}  // namespace fragua::community
