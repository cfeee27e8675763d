// SPDX-License-Identifier: Apache-2.0
// Plain HTTP(S) downloads through cpp-httplib: model hubs, datasets, Debian indices. Tests point
// them at a local server on 127.0.0.1; nothing downloads in tests otherwise.
#include "fragua/base/http.h"

#include <strings.h>

#include <fmt/format.h>
#include <httplib.h>

#include "fragua/base/file.h"

namespace fragua {

Status http_download(const std::string& url, const std::string& path, ProgressBar* bar, Env& env) {
  // Split "scheme://host[:port]/path".
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return invalid_argument_error("'{}' is not an http(s) URL", url);
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return invalid_argument_error("'{}': only http and https", url);
  size_t path_start = url.find('/', scheme_end + 3);
  std::string host = url.substr(0, path_start);
  std::string rel = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client cli(host);
  cli.set_follow_location(true);
  cli.set_connection_timeout(15);
  cli.set_read_timeout(60);
  auto file = FRAGUA_TRY(AtomicFile::create(path, env));
  Status write_status;
  uint64_t got = 0;
  int status = 0;
  auto res = cli.Get(
      rel,
      [&](const httplib::Response& r) {
        status = r.status;
        if (r.status != 200) return false;
        if (bar && r.has_header("Content-Length"))
          bar->set_total(std::strtoull(r.get_header_value("Content-Length").c_str(), nullptr, 10));
        return true;
      },
      [&](const char* data, size_t len) {
        write_status = file.append(std::string_view(data, len));
        got += len;
        if (bar) bar->add(len);
        return write_status.ok();
      });
  if (!write_status.ok()) return write_status;
  if (status != 0 && status != 200) return io_error("GET {}: HTTP {}", url, status);
  if (!res) return io_error("GET {}: {}", url, httplib::to_string(res.error()));
  if (res->status != 200) return io_error("GET {}: HTTP {}", url, res->status);
  if (res->has_header("Content-Length") &&
      std::strtoull(res->get_header_value("Content-Length").c_str(), nullptr, 10) != got)
    return io_error("GET {}: body truncated at byte {}", url, got);
  return file.commit();
}

namespace {

// An error answer's body is kept only this far: enough for the server's message.
constexpr uint64_t kHttpErrorBodyMax = 64 << 10;

// Appends one received chunk to an answer held in memory. A 2xx body past `max_body` stops the
// transfer (false, `too_big` set); an error body is cut at kHttpErrorBodyMax and read on.
bool append_http_answer_chunk(HttpResponse& out, const char* data, size_t len, uint64_t max_body, bool& too_big) {
  const bool ok2xx = out.status >= 200 && out.status < 300;
  const uint64_t cap = ok2xx ? max_body : kHttpErrorBodyMax;
  if (out.body.size() + len > cap) {
    if (ok2xx) return !(too_big = true);
    out.body.append(data, cap - out.body.size());
    return true;
  }
  out.body.append(data, len);
  return true;
}

struct SplitUrl {
  std::string origin;  // "scheme://host[:port]", what httplib::Client takes
  std::string path;    // "/..." with the query
};

Result<SplitUrl> split_url(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return invalid_argument_error("'{}' is not an http(s) URL", url);
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return invalid_argument_error("'{}': only http and https", url);
  size_t path_start = url.find('/', scheme_end + 3);
  SplitUrl u{url.substr(0, path_start), path_start == std::string::npos ? "/" : url.substr(path_start)};
  if (u.origin.size() == scheme_end + 3) return invalid_argument_error("'{}' has no host", url);
  return u;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

enum class Method { head, get };

// One exchange, no redirects. `sink` null: a 2xx body is kept in the response (up to max_body).
Result<HttpResponse> exchange(Method method, const HttpRequest& req, const std::string& url,
                              const std::function<bool(std::string_view)>* sink, uint64_t max_body) {
  auto u = FRAGUA_TRY(split_url(url));
  httplib::Client cli(u.origin);
  cli.set_follow_location(false);
  cli.set_connection_timeout(req.connect_timeout_s);
  cli.set_read_timeout(req.read_timeout_s);
  httplib::Headers headers;
  for (const auto& [k, v] : req.headers) headers.emplace(k, v);
  if (req.range_begin >= 0)
    headers.emplace("Range", req.range_end >= 0 ? fmt::format("bytes={}-{}", req.range_begin, req.range_end)
                                                : fmt::format("bytes={}-", req.range_begin));
  HttpResponse out;
  out.url = url;
  if (method == Method::head) {
    auto res = cli.Head(u.path, headers);
    if (!res) return io_error("HEAD {}: {}", url, httplib::to_string(res.error()));
    out.status = res->status;
    for (const auto& [k, v] : res->headers) out.headers.emplace_back(k, v);
    return out;
  }
  bool too_big = false, sink_refused = false;
  uint64_t got = 0;
  auto res = cli.Get(
      u.path, headers,
      [&](const httplib::Response& r) {
        out.status = r.status;
        for (const auto& [k, v] : r.headers) out.headers.emplace_back(k, v);
        return true;
      },
      [&](const char* data, size_t len) {
        got += len;
        const bool ok2xx = out.status >= 200 && out.status < 300;
        if (ok2xx && sink) {
          if (!(*sink)(std::string_view(data, len))) return !(sink_refused = true);
          return true;
        }
        return append_http_answer_chunk(out, data, len, max_body, too_big);
      });
  if (too_big) return io_error("GET {}: the answer is larger than {} bytes", url, max_body);
  if (sink_refused) return io_error("GET {}: transfer stopped at byte {}", url, got);
  if (!res) {
    if (out.status != 0)
      return io_error("GET {}: connection cut at byte {} of the body ({})", url, got, httplib::to_string(res.error()));
    return io_error("GET {}: {}", url, httplib::to_string(res.error()));
  }
  // cpp-httplib reports a body cut short by the server closing the connection as success when
  // the length was announced: compare with Content-Length ourselves.
  if (res->has_header("Content-Length") && method == Method::get &&
      std::strtoull(res->get_header_value("Content-Length").c_str(), nullptr, 10) != got)
    return io_error("GET {}: connection cut at byte {} of the body", url, got);
  return out;
}

Result<HttpResponse> follow(Method method, const HttpRequest& request,
                            const std::function<bool(std::string_view)>* sink, uint64_t max_body) {
  HttpRequest req = request;
  std::string url = req.url;
  const std::string first_origin = FRAGUA_TRY(split_url(url)).origin;
  for (int hop = 0;; ++hop) {
    auto r = FRAGUA_TRY(exchange(method, req, url, sink, max_body));
    if (!is_redirect(r.status) || request.max_redirects == 0 || !r.has_header("Location")) return r;
    if (hop >= request.max_redirects)
      return io_error("{}: more than {} redirects (last to {})", request.url, request.max_redirects, url);
    url = http_resolve_url(url, r.header("Location"));
    if (FRAGUA_TRY(split_url(url)).origin != first_origin)
      std::erase_if(req.headers, [](const auto& h) { return strcasecmp(h.first.c_str(), "Authorization") == 0; });
  }
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

bool HttpResponse::has_header(std::string_view name) const {
  for (const auto& h : headers)
    if (h.first.size() == name.size() && strncasecmp(h.first.data(), name.data(), name.size()) == 0) return true;
  return false;
}

Result<HttpResponse> http_head(const HttpRequest& request) { return follow(Method::head, request, nullptr, 0); }

Result<HttpResponse> http_get(const HttpRequest& request, uint64_t max_body) {
  return follow(Method::get, request, nullptr, max_body);
}

Result<HttpResponse> http_get_stream(const HttpRequest& request, const std::function<bool(std::string_view)>& sink) {
  return follow(Method::get, request, &sink, 0);
}

Result<HttpResponse> http_post(const HttpRequest& request, std::string_view body, std::string_view content_type,
                               uint64_t max_body) {
  auto u = FRAGUA_TRY(split_url(request.url));
  httplib::Client cli(u.origin);
  cli.set_follow_location(false);
  cli.set_connection_timeout(request.connect_timeout_s);
  cli.set_read_timeout(request.read_timeout_s);
  cli.set_write_timeout(request.read_timeout_s);
  httplib::Request req;
  req.method = "POST";
  req.path = u.path;
  for (const auto& [k, v] : request.headers) req.headers.emplace(k, v);
  req.headers.emplace("Content-Type", std::string(content_type));
  req.body = std::string(body);
  HttpResponse out;
  out.url = request.url;
  bool too_big = false;
  uint64_t got = 0;
  req.response_handler = [&](const httplib::Response& r) {
    out.status = r.status;
    for (const auto& [k, v] : r.headers) out.headers.emplace_back(k, v);
    return true;
  };
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    got += len;
    return append_http_answer_chunk(out, data, len, max_body, too_big);
  };
  auto res = cli.send(req);
  if (too_big) return io_error("POST {}: the answer is larger than {} bytes", request.url, max_body);
  if (!res) {
    if (out.status != 0)
      return io_error("POST {}: connection cut at byte {} of the answer ({})", request.url, got,
                      httplib::to_string(res.error()));
    return io_error("POST {}: {}", request.url, httplib::to_string(res.error()));
  }
  if (res->has_header("Content-Length") &&
      std::strtoull(res->get_header_value("Content-Length").c_str(), nullptr, 10) != got)
    return io_error("POST {}: connection cut at byte {} of the answer", request.url, got);
  return out;
}

std::string http_resolve_url(std::string_view base, std::string_view location) {
  if (location.find("://") != std::string_view::npos) return std::string(location);
  const size_t scheme_end = base.find("://");
  if (scheme_end == std::string_view::npos) return std::string(location);
  if (location.starts_with("//")) return std::string(base.substr(0, scheme_end + 1)) + std::string(location);
  const size_t path_start = base.find('/', scheme_end + 3);
  const std::string_view origin = base.substr(0, path_start);
  if (location.starts_with("/")) return std::string(origin) + std::string(location);
  std::string_view dir = path_start == std::string_view::npos ? "/" : base.substr(path_start);
  dir = dir.substr(0, dir.find_first_of("?#"));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return std::string(origin) + std::string(dir) + std::string(location);
}

}  // namespace fragua
