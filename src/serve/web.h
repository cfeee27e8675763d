// SPDX-License-Identifier: Apache-2.0
// The chat page's files (web/), compiled into the binary by cmake/embed_web.cmake, and their
// routes: the server serves them without the source tree (docs/serve.md, "The web page").
#pragma once

#include <span>
#include <string_view>

namespace httplib {
class Server;
}

namespace fragua::serve {

struct WebAsset {
  std::string_view path;          // "/index.html": the file's path under web/, with a leading '/'
  std::string_view content_type;  // from the extension
  std::string_view body;
  std::string_view etag;  // quoted, from the file's SHA-256: changes when the file does
};

// Every file of web/, sorted by path (generated: build/<preset>/generated/serve/web_assets.cpp).
std::span<const WebAsset> web_assets();

// The asset a GET of `path` serves ("/" is "/index.html"), or nullptr.
const WebAsset* find_web_asset(std::string_view path);

// GET / and GET of each file, with their Content-Type, ETag (If-None-Match: 304), Cache-Control
// and the Content-Security-Policy that keeps the page on its origin.
void add_web_routes(httplib::Server& http);

// Whether an If-None-Match header names `etag` (quoted): "*" or a comma-separated list of entity
// tags, each maybe weak (W/"..."), compared weakly (RFC 9110, 13.1.2).
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace fragua::serve
