// SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>

#include <cmath>

#include "fragua/base/log.h"
#include "fragua/base/sha256.h"
#include "serve/server_impl.h"
#include "serve/web.h"

namespace fragua::serve {
namespace {

bool is_loopback(const std::string& host) { return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0; }

// Compares without an early exit, so the time taken does not reveal how much of a key matched.
bool same_key(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

// The metric label of a path: the endpoints by name, anything else as "other" (a scan of random
// paths must not grow the label set without bound).
std::string endpoint_label(const std::string& path) {
  static const char* known[] = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "/tokenize",
                                "/detokenize",          "/health",         "/metrics"};
  for (const char* k : known)
    if (path == k) return k;
  if (path == "/chat/completions") return "/v1/chat/completions";
  if (path == "/completions") return "/v1/completions";
  if (path == "/models") return "/v1/models";
  if (path == "/embeddings") return "/v1/embeddings";
  if (find_web_asset(path)) return "/";  // the chat page's files
  return "other";
}

}  // namespace

void Server::Impl::reply_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(error_body(e), "application/json");
}

bool Server::Impl::check_ready(httplib::Response& res) const {
  if (stopping.load()) {
    reply_error(res, {503, "the server is shutting down", "server_error", "shutting_down", ""});
    return false;
  }
  if (!ready.load(std::memory_order_acquire)) {
    res.set_header("Retry-After", "5");
    reply_error(res, {503, "the model is still loading", "server_error", "model_loading", ""});
    return false;
  }
  return true;
}

std::string Server::Impl::model_id() const {
  if (!opt.model_name.empty()) return opt.model_name;
  std::string name = model->path;
  if (size_t slash = name.find_last_of('/'); slash != std::string::npos) name = name.substr(slash + 1);
  if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
  return name;
}

bool Server::Impl::check_model(const std::string& name, httplib::Response& res) const {
  if (name.empty() || name == model_id() || name == model->path) return true;
  reply_error(res, {404, fmt::format("the model '{}' does not exist; this server serves '{}'", name, model_id()),
                    "invalid_request_error", "model_not_found", "model"});
  return false;
}

int Server::Impl::key_index(const httplib::Request& req) const {
  if (opt.api_keys.empty()) return -1;
  const std::string auth = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.rfind(kBearer, 0) != 0) return -2;
  const std::string_view key = std::string_view(auth).substr(kBearer.size());
  int found = -2;
  for (size_t i = 0; i < opt.api_keys.size(); ++i)
    if (same_key(key, opt.api_keys[i])) found = static_cast<int>(i);
  return found;
}

Caller Server::Impl::caller(const httplib::Request& req) const {
  Caller c;
  c.address = req.remote_addr;
  const int k = key_index(req);
  if (k >= 0) {
    c.key_id = keys[static_cast<size_t>(k)].id;
    c.bucket = "key:" + c.key_id;
    c.limit = keys[static_cast<size_t>(k)].limit;
  } else {
    c.bucket = "addr:" + req.remote_addr;
    c.limit = {opt.rate_limit_rpm, opt.rate_limit_tpm};
  }
  return c;
}

bool Server::Impl::rate_limit(const httplib::Request& req, httplib::Response& res) {
  const Caller c = caller(req);
  if (!c.limit.any()) return true;
  const RateDecision d = limiter.admit(c.bucket, c.limit);
  // OpenAI's headers (https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers).
  if (c.limit.rpm > 0) {
    res.set_header("x-ratelimit-limit-requests", fmt::format("{}", c.limit.rpm));
    res.set_header("x-ratelimit-remaining-requests", fmt::format("{}", d.remaining_requests));
    res.set_header("x-ratelimit-reset-requests", reset_duration(d.reset_requests_s));
  }
  if (c.limit.tpm > 0) {
    res.set_header("x-ratelimit-limit-tokens", fmt::format("{}", c.limit.tpm));
    res.set_header("x-ratelimit-remaining-tokens", fmt::format("{}", d.remaining_tokens));
    res.set_header("x-ratelimit-reset-tokens", reset_duration(d.reset_tokens_s));
  }
  if (d.allowed) return true;
  const bool tokens = c.limit.tpm > 0 && d.remaining_tokens <= 0 && !(c.limit.rpm > 0 && d.remaining_requests < 1);
  metrics.count_rate_limited(tokens ? "tokens" : "requests");
  const auto retry = static_cast<int64_t>(std::ceil(d.retry_after_s));
  res.set_header("Retry-After", std::to_string(std::max<int64_t>(1, retry)));
  const std::string who = c.key_id.empty() ? fmt::format("the address {}", c.address) : "this API key";
  reply_error(res, {429,
                    tokens ? fmt::format("rate limit reached for {}: {} tokens per minute; try again in {}", who,
                                         c.limit.tpm, reset_duration(d.retry_after_s))
                           : fmt::format("rate limit reached for {}: {} requests per minute; try again in {}", who,
                                         c.limit.rpm, reset_duration(d.retry_after_s)),
                    "requests", "rate_limit_exceeded", ""});
  return false;
}

bool Server::Impl::cors(const httplib::Request& req, httplib::Response& res) const {
  const bool preflight = req.method == "OPTIONS";
  const std::string origin = req.get_header_value("Origin");
  bool any = false, listed = false;
  for (const auto& o : opt.cors_origins) {
    any |= o == "*";
    listed |= o == origin;
  }
  if (!origin.empty() && (any || listed)) {
    // Fetch Standard, "CORS protocol": the origin echoed (or *), what scripts may read.
    res.set_header("Access-Control-Allow-Origin", listed ? origin : "*");
    if (listed) res.set_header("Vary", "Origin");
    res.set_header("Access-Control-Expose-Headers",
                   "Retry-After, x-ratelimit-limit-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-requests, "
                   "x-ratelimit-remaining-tokens, x-ratelimit-reset-requests, x-ratelimit-reset-tokens");
    if (preflight) {
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      const std::string asked = req.get_header_value("Access-Control-Request-Headers");
      res.set_header("Access-Control-Allow-Headers", asked.empty() ? "Authorization, Content-Type" : asked);
      res.set_header("Access-Control-Max-Age", "600");
    }
  }
  if (!preflight) return false;
  // Every OPTIONS is answered here; without the headers above a browser refuses the call.
  res.status = 204;
  res.set_header("Allow", "GET, POST, OPTIONS");
  return true;
}

void Server::Impl::audit_refusal(const httplib::Request& req, const httplib::Response& res,
                                 const std::string& endpoint) {
  const Caller c = caller(req);
  const nlohmann::json body = nlohmann::json::parse(res.body, nullptr, false);
  std::string code;
  if (body.is_object() && body.contains("error") && body["error"].is_object() && body["error"].contains("code") &&
      body["error"]["code"].is_string())
    code = body["error"]["code"].get<std::string>();
  nlohmann::ordered_json line;
  line["time"] = rfc3339_utc(std::chrono::system_clock::now());
  line["request_id"] = nullptr;
  line["key_id"] = c.key_id.empty() ? nullptr : nlohmann::ordered_json(c.key_id);
  line["client"] = c.address;
  line["endpoint"] = endpoint;
  line["status"] = res.status;
  line["error"] = code;
  audit->append(line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

std::shared_ptr<RequestGuard> Server::Impl::guard(const httplib::Request& req) {
  return std::make_shared<RequestGuard>(opt, caller(req), endpoint_label(req.path), audit.get(), &metrics, &limiter,
                                        model->path,
                                        [this] {
                                          std::lock_guard lock(sha_mu);
                                          return model_sha256;
                                        });
}

void Server::Impl::routes() {
  http.set_payload_max_length(opt.max_body_bytes);
  const size_t threads = opt.http_threads > 0
                             ? static_cast<size_t>(opt.http_threads)
                             : static_cast<size_t>(opt.scheduler.n_slots) + opt.scheduler.max_queue + 8;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // CORS first: a browser's preflight carries no key.
    if (cors(req, res)) return httplib::Server::HandlerResponse::Handled;
    // The chat page is open too: it is the same for everyone and asks the user for the key.
    if (req.path == "/health" || (opt.web && find_web_asset(req.path)))
      return httplib::Server::HandlerResponse::Unhandled;
    const int key = key_index(req);
    // A scraper's /metrics is not the caller's traffic: authenticated, never rate-limited.
    if (key >= -1)
      return req.path == "/metrics" || rate_limit(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                                            : httplib::Server::HandlerResponse::Handled;
    const std::string auth = req.get_header_value("Authorization");
    res.set_header("WWW-Authenticate", "Bearer");
    reply_error(
        res,
        {401, auth.empty() ? "no API key: send the header 'Authorization: Bearer KEY'" : "the API key is not valid",
         "invalid_request_error", "invalid_api_key", ""});
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses cpp-httplib sets itself (404 for an unknown path, 413 for a body over the limit,
  // 400 for a malformed request line) get OpenAI's body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    e.status = res.status;
    if (res.status == 404) {
      e.message = fmt::format("no endpoint {} {}", req.method, req.path);
      e.code = "unknown_url";
    } else if (res.status == 413) {
      e.message = "the request body is larger than the server accepts (--max-body-bytes)";
      e.code = "request_too_large";
    } else {
      e.message = fmt::format("HTTP status {}", res.status);
      if (res.status >= 500) e.type = "server_error";
    }
    reply_error(res, e);
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {}
    reply_error(res, {500, fmt::format("internal error: {}", what), "server_error", "internal_error", ""});
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics.count_request(endpoint_label(req.path), res.status);
    // Refusals go to the audit log from here: a bad key or a rate limit on any endpoint, and any
    // error of a generation request (what reached the model is logged by its RequestGuard).
    if (!audit || res.status < 400) return;
    const std::string endpoint = endpoint_label(req.path);
    const bool generation = endpoint == "/v1/chat/completions" || endpoint == "/v1/completions";
    if (generation || res.status == 401 || res.status == 429) audit_refusal(req, res, endpoint);
  });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) { handle_health(res); });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(ready.load(std::memory_order_acquire) ? scheduler.get() : nullptr, audit.get()),
                    "text/plain; version=0.0.4");
  });
  http.Get("/(v1/)?models", [this](const httplib::Request&, httplib::Response& res) {
    if (check_ready(res)) handle_models(res);
  });
  http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
    if (check_ready(res)) handle_tokenize(req, res);
  });
  http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
    if (check_ready(res)) handle_detokenize(req, res);
  });
  http.Post("/(v1/)?chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    if (check_ready(res)) handle_chat(req, res);
  });
  http.Post("/(v1/)?completions", [this](const httplib::Request& req, httplib::Response& res) {
    if (check_ready(res)) handle_completion(req, res);
  });
  http.Post("/(v1/)?embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    if (check_ready(res)) handle_embeddings(req, res);
  });
  if (opt.web) add_web_routes(http);
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::create(ServerOptions options) {
  if (options.port < 0 || options.port > 65535)
    return invalid_argument_error("port {} is not in [0, 65535]", options.port);
  if (options.scheduler.n_slots < 1) return invalid_argument_error("--parallel must be at least 1");
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->routes();
  const ServerOptions& o = impl->opt;
  impl->port =
      o.port == 0 ? impl->http.bind_to_any_port(o.host) : (impl->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (impl->port <= 0)
    return io_error("cannot listen on {}:{} (in use, or not an address of this machine)", o.host, o.port);
  for (size_t i = 0; i < o.api_keys.size(); ++i) {
    Impl::KeyInfo k{api_key_id(o.api_keys[i]), {o.rate_limit_rpm, o.rate_limit_tpm}};
    for (const auto& p : o.key_policies)
      if (p.key == o.api_keys[i]) {
        if (!p.id.empty()) k.id = p.id;
        if (p.rpm >= 0) k.limit.rpm = p.rpm;
        if (p.tpm >= 0) k.limit.tpm = p.tpm;
      }
    impl->keys.push_back(std::move(k));
  }
  if (!o.audit_log.empty())
    impl->audit = FRAGUA_TRY(AuditLog::open({o.audit_log, o.audit_max_bytes, o.audit_keep}));
  if (o.api_keys.empty() && !is_loopback(o.host))
    log_warn("serving on {} without an API key: anyone who can reach this address can use the model (--api-key)",
             o.host);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Status Server::start() {
  if (impl_->thread.joinable()) return invalid_argument_error("the server is already started");
  impl_->thread = std::thread([impl = impl_.get()] { impl->http.listen_after_bind(); });
  while (!impl_->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return {};
}

Status Server::set_model(std::unique_ptr<model::LoadedModel> m) {
  Impl& s = *impl_;
  std::lock_guard lock(s.model_mu);
  if (s.stopping.load()) return {};  // stopped while the model loaded: nothing left to serve
  if (s.ready.load()) return invalid_argument_error("the server already has a model");
  if (!m || !m->model) return invalid_argument_error("no model given");
  if (!m->tokenizer) return invalid_argument_error("{} has no tokenizer: the server needs one", m->path);
  std::string tmpl = s.opt.chat_template.empty() ? m->tokenizer->spec().chat_template : s.opt.chat_template;
  if (!tmpl.empty()) {
    auto kind = tokenize::detect_chat_template(tmpl);
    if (!kind.ok()) return std::move(kind).error().with_context(fmt::format("{}: chat template", m->path));
  }
  SchedulerParams sp = s.opt.scheduler;
  sp.eog_ids = m->eog_ids;
  s.scheduler = FRAGUA_TRY(Scheduler::create(*m->model, sp));
  // The audit log names the model by its SHA-256; a file of gigabytes takes seconds, so the
  // server does not wait for it (lines say "pending" until it is known).
  if (s.audit)
    s.sha_thread = std::thread([&s, path = m->path] {
      auto sum = sha256_file(path);
      std::lock_guard lock(s.sha_mu);
      s.model_sha256 = sum.ok() ? *sum : "unavailable";
    });
  s.chat_template = std::move(tmpl);
  s.model = std::move(m);
  s.ready.store(true, std::memory_order_release);
  return {};
}

void Server::stop(Scheduler::ShutdownMode mode) {
  Impl& s = *impl_;
  {
    std::unique_lock lock(s.stop_mu);
    if (s.stopping) {  // another thread is stopping it (or has): wait for that
      s.stop_cv.wait(lock, [&] { return s.stopped; });
      return;
    }
    s.stopping = true;
  }
  // Running requests get their final events first, so that every open stream ends properly; then
  // the listener closes and the HTTP threads finish their connections.
  {
    std::lock_guard lock(s.model_mu);  // set_model() either finished, or sees `stopping`
  }
  if (s.scheduler) s.scheduler->shutdown(mode);
  s.http.stop();
  if (s.thread.joinable()) s.thread.join();
  if (s.sha_thread.joinable()) s.sha_thread.join();
  {
    std::lock_guard lock(s.stop_mu);
    s.stopped = true;
  }
  s.stop_cv.notify_all();
}

void Server::wait() {
  std::unique_lock lock(impl_->stop_mu);
  impl_->stop_cv.wait(lock, [this] { return impl_->stopped; });
}

int Server::port() const { return impl_->port; }
bool Server::ready() const { return impl_->ready.load(); }

}  // namespace fragua::serve
