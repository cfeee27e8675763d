// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/openai_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "fragua/base/http.h"
#include "fragua/base/json.h"
#include "fragua/base/progress.h"
#include "fragua/base/runtime_options.h"

namespace fragua::eval {

namespace {

std::string openai_api_root(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  for (std::string_view tail : {"/chat/completions", "/completions"})
    if (url.size() >= tail.size() && url.compare(url.size() - tail.size(), tail.size(), tail) == 0) {
      url.resize(url.size() - tail.size());
      return url;
    }
  const size_t scheme_end = url.find("://");
  if (scheme_end != std::string::npos && url.find('/', scheme_end + 3) == std::string::npos) url += "/v1";
  return url;
}

// Retry-After in seconds (RFC 9110 §10.2.3); an HTTP date or junk: none (the backoff applies).
std::optional<double> openai_retry_after(const HttpResponse& r) {
  const std::string v = r.header("Retry-After");
  if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stod(v);
}

// The server's own words for a failed request: OpenAI's {"error": {"message": ...}}, llama.cpp's
// and vLLM's variants, else the start of the body.
std::string openai_error_text(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    auto it = j.find("error");
    if (it != j.end()) {
      if (it->is_object() && it->contains("message") && (*it)["message"].is_string())
        return (*it)["message"].get<std::string>();
      if (it->is_string()) return it->get<std::string>();
    }
    if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
    if (j.contains("detail") && j["detail"].is_string()) return j["detail"].get<std::string>();
  }
  std::string s = body.substr(0, 200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

double openai_jitter() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(1.0, 1.25)(rng);
}

Result<std::string> openai_string_or_null(const nlohmann::json& obj, const char* key, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return corruption_error("{}: '{}' is {}, not a string", where, key, json_preview(*it));
  return it->get<std::string>();
}

Result<Usage> openai_usage(const nlohmann::json& answer, std::string_view origin) {
  Usage u;
  auto it = answer.find("usage");
  if (it == answer.end() || !it->is_object()) return u;
  if (it->contains("prompt_tokens"))
    u.prompt_tokens = FRAGUA_TRY(json_integer((*it)["prompt_tokens"], fmt::format("{}: usage.prompt_tokens", origin), 0));
  if (it->contains("completion_tokens"))
    u.completion_tokens =
        FRAGUA_TRY(json_integer((*it)["completion_tokens"], fmt::format("{}: usage.completion_tokens", origin), 0));
  return u;
}

Result<const nlohmann::json*> openai_choices(const nlohmann::json& answer, std::string_view origin) {
  if (!answer.is_object()) return corruption_error("{}: the answer is {}, not an object", origin, json_preview(answer));
  auto it = answer.find("choices");
  if (it == answer.end() || !it->is_array() || it->empty())
    return corruption_error("{}: the answer has no 'choices' array", origin);
  return &*it;
}

Result<CompletionLogprobs> openai_logprobs(const nlohmann::json& lp, const std::string& where) {
  if (!lp.is_object()) return corruption_error("{}: logprobs is {}, not an object", where, json_preview(lp));
  CompletionLogprobs out;
  auto tokens = lp.find("tokens");
  if (tokens == lp.end() || !tokens->is_array()) return corruption_error("{}: logprobs has no 'tokens' array", where);
  for (size_t i = 0; i < tokens->size(); ++i) {
    if (!(*tokens)[i].is_string())
      return corruption_error("{}: logprobs.tokens[{}] is {}", where, i, json_preview((*tokens)[i]));
    out.tokens.push_back((*tokens)[i].get<std::string>());
  }
  const size_t n = out.tokens.size();
  auto lps = lp.find("token_logprobs");
  if (lps == lp.end() || !lps->is_array() || lps->size() != n)
    return corruption_error("{}: logprobs.token_logprobs is missing or not {} values", where, n);
  for (size_t i = 0; i < n; ++i) {
    const auto& v = (*lps)[i];
    if (v.is_null()) {
      out.token_logprobs.push_back(std::nullopt);
    } else if (v.is_number()) {
      out.token_logprobs.push_back(v.get<double>());
    } else {
      return corruption_error("{}: logprobs.token_logprobs[{}] is {}", where, i, json_preview(v));
    }
  }
  auto offs = lp.find("text_offset");
  if (offs != lp.end() && !offs->is_null()) {
    if (!offs->is_array() || offs->size() != n)
      return corruption_error("{}: logprobs.text_offset is not {} values", where, n);
    for (size_t i = 0; i < n; ++i)
      out.text_offset.push_back(
          FRAGUA_TRY(json_integer((*offs)[i], fmt::format("{}: logprobs.text_offset[{}]", where, i), 0)));
  }
  auto top = lp.find("top_logprobs");
  if (top != lp.end() && top->is_array()) {
    for (size_t i = 0; i < top->size(); ++i) {
      std::vector<std::pair<std::string, double>> alts;
      if ((*top)[i].is_object())
        for (const auto& [tok, v] : (*top)[i].items())
          if (v.is_number()) alts.emplace_back(tok, v.get<double>());
      out.top_logprobs.push_back(std::move(alts));
    }
  }
  return out;
}

}  // namespace

std::string api_key_from_env(std::string_view name) { return named_env_value(name); }

OpenAIClient::OpenAIClient(OpenAIClientOptions options)
    : options_(std::move(options)), root_(openai_api_root(options_.base_url)) {}

Result<nlohmann::json> OpenAIClient::post_json(std::string_view path, nlohmann::json body) const {
  if (!options_.model.empty() && !body.contains("model")) body["model"] = options_.model;
  const std::string endpoint = url(path);
  HttpRequest req{.url = endpoint,
                  .max_redirects = 0,
                  .connect_timeout_s = options_.connect_timeout_s,
                  .read_timeout_s = options_.read_timeout_s};
  if (!options_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + options_.api_key);
  req.headers.emplace_back("Accept", "application/json");
  const std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string last;
  for (int attempt = 0;; ++attempt) {
    std::optional<double> retry_after;
    auto r = http_post(req, text, "application/json");
    if (!r.ok()) {
      if (r.error().code() != ErrorCode::io) return r.error();  // a malformed URL: no retry helps
      last = r.error().message();
    } else if (r->status >= 200 && r->status < 300) {
      auto j = parse_json(r->body, endpoint);
      if (!j.ok()) return corruption_error("POST {}: the answer is not JSON: {}", endpoint, j.error().message());
      return std::move(*j);
    } else if (r->status == 429 || r->status >= 500) {
      last = fmt::format("POST {}: HTTP {}: {}", endpoint, r->status, openai_error_text(r->body));
      retry_after = openai_retry_after(*r);
    } else {
      const ErrorCode code = r->status == 404 ? ErrorCode::not_found : ErrorCode::invalid_argument;
      return Error(code, fmt::format("POST {}: HTTP {}: {}", endpoint, r->status, openai_error_text(r->body)));
    }
    if (attempt >= options_.max_retries)
      return io_error("{} (gave up after {} attempt{})", last, attempt + 1, attempt == 0 ? "" : "s");
    const double delay =
        retry_after ? std::min(*retry_after, options_.retry_after_max_s)
                    : std::min(options_.backoff_max_s, options_.backoff_initial_s * std::ldexp(1.0, attempt)) *
                          openai_jitter();
    if (options_.sleep) {
      options_.sleep(delay);
    } else {
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    }
  }
}

Result<CompletionResult> parse_completion_answer(const nlohmann::json& answer, std::string_view origin) {
  const nlohmann::json& choices = *FRAGUA_TRY(openai_choices(answer, origin));
  CompletionResult out;
  for (size_t i = 0; i < choices.size(); ++i) {
    const auto& c = choices[i];
    const std::string where = fmt::format("{}: choices[{}]", origin, i);
    if (!c.is_object()) return corruption_error("{} is {}, not an object", where, json_preview(c));
    CompletionChoice choice;
    if (!c.contains("text") || !c["text"].is_string()) return corruption_error("{} has no 'text' string", where);
    choice.text = c["text"].get<std::string>();
    choice.finish_reason = FRAGUA_TRY(openai_string_or_null(c, "finish_reason", where));
    auto lp = c.find("logprobs");
    if (lp != c.end() && !lp->is_null()) choice.logprobs = FRAGUA_TRY(openai_logprobs(*lp, where));
    out.choices.push_back(std::move(choice));
  }
  out.usage = FRAGUA_TRY(openai_usage(answer, origin));
  out.raw = answer;
  return out;
}

Result<ChatResult> parse_chat_answer(const nlohmann::json& answer, std::string_view origin) {
  const nlohmann::json& choices = *FRAGUA_TRY(openai_choices(answer, origin));
  ChatResult out;
  for (size_t i = 0; i < choices.size(); ++i) {
    const auto& c = choices[i];
    const std::string where = fmt::format("{}: choices[{}]", origin, i);
    if (!c.is_object()) return corruption_error("{} is {}, not an object", where, json_preview(c));
    auto msg = c.find("message");
    if (msg == c.end() || !msg->is_object()) return corruption_error("{} has no 'message' object", where);
    ChatChoice choice;
    choice.role = FRAGUA_TRY(openai_string_or_null(*msg, "role", where + ".message"));
    choice.content = FRAGUA_TRY(openai_string_or_null(*msg, "content", where + ".message"));
    choice.finish_reason = FRAGUA_TRY(openai_string_or_null(c, "finish_reason", where));
    out.choices.push_back(std::move(choice));
  }
  out.usage = FRAGUA_TRY(openai_usage(answer, origin));
  out.raw = answer;
  return out;
}

Result<CompletionResult> OpenAIClient::completions(const CompletionRequest& request) const {
  nlohmann::json body = {{"prompt", request.prompt},
                         {"max_tokens", request.max_tokens},
                         {"temperature", request.temperature}};
  if (!request.stop.empty()) body["stop"] = request.stop;
  if (request.echo) body["echo"] = true;
  if (request.logprobs >= 0) body["logprobs"] = request.logprobs;
  if (request.seed) body["seed"] = *request.seed;
  if (request.extra.is_object())
    for (const auto& [k, v] : request.extra.items()) body[k] = v;
  auto answer = FRAGUA_TRY(post_json("/completions", std::move(body)));
  return parse_completion_answer(answer, url("/completions"));
}

Result<ChatResult> OpenAIClient::chat_completions(const ChatRequest& request) const {
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& m : request.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  nlohmann::json body = {{"messages", std::move(messages)}};
  if (request.max_tokens >= 0) body["max_tokens"] = request.max_tokens;
  if (request.temperature) body["temperature"] = *request.temperature;
  if (!request.stop.empty()) body["stop"] = request.stop;
  if (request.seed) body["seed"] = *request.seed;
  if (!request.response_format.is_null()) body["response_format"] = request.response_format;
  if (request.extra.is_object())
    for (const auto& [k, v] : request.extra.items()) body[k] = v;
  auto answer = FRAGUA_TRY(post_json("/chat/completions", std::move(body)));
  return parse_chat_answer(answer, url("/chat/completions"));
}

Status run_concurrently(size_t n, int max_concurrency, const std::function<Status(size_t)>& fn, ProgressBar* bar) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  size_t first_bad = n;
  Status first_error;
  auto work = [&] {
    for (;;) {
      if (failed.load()) return;
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (i < first_bad) {
          first_bad = i;
          first_error = std::move(s);
        }
        failed.store(true);
        return;
      }
      if (bar) bar->add(1);
    }
  };
  const size_t want = std::min<size_t>(n, static_cast<size_t>(std::max(1, max_concurrency)));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < want; ++t) {
    try {
      threads.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // the OS refused a thread: fewer run at once, the answers are the same
    }
  }
  work();
  for (auto& t : threads) t.join();
  return first_error;
}

}  // namespace fragua::eval
