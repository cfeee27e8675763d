// SPDX-License-Identifier: Apache-2.0
// HTTP(S) downloads (cpp-httplib).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/base/progress.h"

namespace fragua {

// GETs url (http or https, following redirects) into path through an AtomicFile; nothing is
// left at path unless the whole body arrived with a 200 status. Errors name the URL and the
// HTTP status or the byte where the body stopped.
Status http_download(const std::string& url, const std::string& path, ProgressBar* bar = nullptr,
                     Env& env = Env::posix());

// One request of the lower-level calls below (model hubs: tokens, ranges, their own redirects).
struct HttpRequest {
  std::string url;                                           // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Authorization", "Bearer hf_..."}
  // A byte range (RFC 9110 §14.2): bytes range_begin..range_end inclusive; range_end < 0: to the
  // end. range_begin < 0: no Range header.
  int64_t range_begin = -1, range_end = -1;
  // Redirects followed (301, 302, 303, 307, 308; a relative Location resolves against the URL
  // that sent it). An Authorization header is dropped when a redirect leaves the scheme, host and
  // port it was meant for, as browsers and Python's requests do: a hub's CDN must not see the
  // token. 0: the 3xx response itself is returned.
  int max_redirects = 10;
  int connect_timeout_s = 15;
  int read_timeout_s = 60;
};

struct HttpResponse {
  int status = 0;
  std::string url;  // the URL that answered (after redirects)
  std::vector<std::pair<std::string, std::string>> headers;
  // http_get: the body. http_get_stream: only a non-2xx answer's body (its first 64 KiB, for
  // messages); a 2xx body goes to the sink.
  std::string body;
  // The value of the first header of that name (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

// Any status comes back as a response (the caller decides what 401 or 404 means); an error only
// when no complete answer arrived: connection refused or cut, a body shorter than its
// Content-Length, too many redirects. Errors name the URL.
Result<HttpResponse> http_head(const HttpRequest& request);
// A body larger than max_body bytes is an error (an API answer, not a file).
Result<HttpResponse> http_get(const HttpRequest& request, uint64_t max_body = uint64_t{64} << 20);
// A 2xx body is handed to `sink` piece by piece as it arrives; sink returning false cancels the
// transfer (an io error naming the URL). When the connection is cut the sink has seen every byte
// that arrived, so a caller can resume with a Range from there.
Result<HttpResponse> http_get_stream(const HttpRequest& request, const std::function<bool(std::string_view)>& sink);

// POSTs `body` with the given Content-Type (JSON APIs: an OpenAI-compatible server). Redirects
// are not followed (a 3xx comes back as the response). Any status comes back as a response with
// its body (a 2xx body up to max_body bytes, an error body's first 64 KiB); an error only when no
// complete answer arrived (refused, timed out, cut), naming the URL.
Result<HttpResponse> http_post(const HttpRequest& request, std::string_view body, std::string_view content_type,
                               uint64_t max_body = uint64_t{64} << 20);

// `location` (absolute, scheme-relative "//host/p", absolute-path "/p" or relative "p") resolved
// against `base` (RFC 3986 §5.2, without dot-segment removal).
std::string http_resolve_url(std::string_view base, std::string_view location);

}  // namespace fragua
