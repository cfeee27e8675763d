#include <fmt/format.h>

#include "fragua/base/log.h"
#include "serve/server_impl.h"

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

void Server::Impl::routes() {
  http.set_payload_max_length(opt.max_body_bytes);
  const size_t threads = opt.http_threads > 0
                             ? static_cast<size_t>(opt.http_threads)
                             : static_cast<size_t>(opt.scheduler.n_slots) + opt.scheduler.max_queue + 8;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opt.api_keys.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.rfind(kBearer, 0) == 0) {
      const std::string_view key = std::string_view(auth).substr(kBearer.size());
      bool found = false;
      for (const auto& k : opt.api_keys) found |= same_key(key, k);
      if (found) return httplib::Server::HandlerResponse::Unhandled;
    }
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
  });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) { handle_health(res); });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.render(ready.load(std::memory_order_acquire) ? scheduler.get() : nullptr),
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
