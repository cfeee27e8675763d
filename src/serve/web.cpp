// SPDX-License-Identifier: Apache-2.0
// GET / and the other files of the chat page (web/, embedded at build time; docs/serve.md, "The
// web page"). The page is static and the same for every user: it is served without an API key
// (it asks the user for one) and before the model is loaded.
#include "serve/web.h"

#include <httplib.h>

#include <string>

namespace fragua::serve {
namespace {

// The page's own origin and nothing else: no script, style, font, image or request can reach
// another host, inline scripts and styles do not run (the page has none; model output is text,
// so an injected tag would be inert anyway), and no other site may frame it.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

void serve_asset(const WebAsset& a, const httplib::Request& req, httplib::Response& res) {
  res.set_header("ETag", std::string(a.etag));
  // Revalidated on each load (a 304 costs one round trip), so a new binary's page is never stale.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  if (etag_matches(req.get_header_value("If-None-Match"), a.etag)) {
    res.status = 304;
    return;
  }
  res.set_content(a.body.data(), a.body.size(), std::string(a.content_type));
}

}  // namespace

bool etag_matches(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

const WebAsset* find_web_asset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const WebAsset& a : web_assets())
    if (a.path == path) return &a;
  return nullptr;
}

void add_web_routes(httplib::Server& http) {
  if (const WebAsset* index = find_web_asset("/"))
    http.Get("/", [index](const httplib::Request& req, httplib::Response& res) { serve_asset(*index, req, res); });
  for (const WebAsset& a : web_assets()) {
    // cpp-httplib matches a route as a regular expression; asset names hold only [A-Za-z0-9_./-].
    std::string pattern;
    for (char c : a.path) {
      if (c == '.') pattern += '\\';
      pattern += c;
    }
    http.Get(pattern, [&a](const httplib::Request& req, httplib::Response& res) { serve_asset(a, req, res); });
  }
}

}  // namespace fragua::serve
