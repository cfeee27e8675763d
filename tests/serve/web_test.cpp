// SPDX-License-Identifier: Apache-2.0
// The chat page (src/serve/web.cpp, web/ embedded by cmake/embed_web.cmake): every file of web/
// is served byte for byte with its type and the headers that keep the page on its own origin,
// revalidates by ETag, stays open when the API asks for a key, and is gone with `web = false`.
// The page's behaviour in a browser is tests/serve/client/browser.mjs (client_test.cpp).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "serve/fixtures.h"
#include "serve/web.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using namespace fragua::serve::test;

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The files of web/ in the source tree, by their served path ("/app.js").
std::map<std::string, std::string> web_files() {
  std::map<std::string, std::string> out;
  const std::filesystem::path root = std::filesystem::path(fragua::test::source_dir()) / "web";
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.')
      out["/" + std::filesystem::relative(e.path(), root).generic_string()] = slurp(e.path());
  return out;
}

// Written out here rather than taken from the build script, so that a wrong entry there shows.
std::string expected_type(const std::string& path) {
  const std::string ext = path.substr(path.rfind('.'));
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  return "?";
}

// A server with no model: the page is served while the model loads.
std::unique_ptr<Server> start_server(ServerOptions o) {
  auto s = Server::create(std::move(o));
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  if (!s.ok()) return nullptr;
  EXPECT_TRUE((*s)->start().ok());
  return std::move(*s);
}

TEST(WebPage, EveryFileIsServedAsItIsInTheSourceTree) {
  auto server = start_server(tiny_options());
  ASSERT_TRUE(server);
  httplib::Client c("127.0.0.1", server->port());
  const auto files = web_files();
  ASSERT_TRUE(files.count("/index.html") && files.count("/app.js") && files.count("/i18n.js") &&
              files.count("/style.css"));
  for (const auto& [path, bytes] : files) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->body, bytes) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), expected_type(path)) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-cache") << path;
    EXPECT_FALSE(r->get_header_value("ETag").empty()) << path;
  }
  auto index = c.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, files.at("/index.html"));
  EXPECT_EQ(index->get_header_value("ETag"), c.Get("/index.html")->get_header_value("ETag"));
  // Distinct files have distinct tags.
  EXPECT_NE(c.Get("/app.js")->get_header_value("ETag"), index->get_header_value("ETag"));

  auto metrics = c.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_GE(metric(metrics->body, R"(fragua_requests_total{endpoint="/",status="200"})"),
            static_cast<double>(files.size() + 1))
      << metrics->body;
}

// The policy allows this origin and nothing else: no script, style, image or connection to
// another host, no inline script, no framing by another site.
TEST(WebPage, ContentSecurityPolicyKeepsThePageOnItsOrigin) {
  auto server = start_server(tiny_options());
  ASSERT_TRUE(server);
  httplib::Client c("127.0.0.1", server->port());
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  std::map<std::string, std::string> directives;
  std::stringstream ss(r->get_header_value("Content-Security-Policy"));
  for (std::string d; std::getline(ss, d, ';');) {
    d.erase(0, d.find_first_not_of(' '));
    const size_t sp = d.find(' ');
    directives[d.substr(0, sp)] = sp == std::string::npos ? "" : d.substr(sp + 1);
  }
  EXPECT_EQ(directives["default-src"], "'none'");
  EXPECT_EQ(directives["script-src"], "'self'");
  EXPECT_EQ(directives["style-src"], "'self'");
  EXPECT_EQ(directives["connect-src"], "'self'");
  EXPECT_EQ(directives["img-src"], "'self' data:");
  EXPECT_EQ(directives["frame-ancestors"], "'none'");
  EXPECT_EQ(directives["base-uri"], "'none'");
  for (const auto& [name, value] : directives) {
    EXPECT_EQ(value.find("unsafe"), std::string::npos) << name;
    EXPECT_EQ(value.find("http"), std::string::npos) << name;
    EXPECT_EQ(value.find('*'), std::string::npos) << name;
  }
  EXPECT_EQ(r->get_header_value("Referrer-Policy"), "no-referrer");

  // The sources themselves name no other host (the policy would block it; this finds it first).
  const std::regex external(R"((https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,})");
  for (const auto& [path, bytes] : web_files()) {
    if (path == "/favicon.svg") continue;  // its xmlns is a name, never fetched
    std::smatch m;
    EXPECT_FALSE(std::regex_search(bytes, m, external)) << path << " names " << m.str();
  }
}

// Model output reaches the page as text only: no script of the page hands a string to the HTML
// parser (the Markdown subset is built from DOM nodes).
TEST(WebPage, ScriptsNeverParseHtml) {
  int scripts = 0;
  for (const auto& [path, bytes] : web_files()) {
    if (!path.ends_with(".js")) continue;
    ++scripts;
    for (const char* sink : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                             "DOMParser", "createContextualFragment"})
      EXPECT_EQ(bytes.find(sink), std::string::npos) << path << " uses " << sink;
  }
  EXPECT_GE(scripts, 2);
}

TEST(WebPage, EtagMatching) {
  const std::string tag = "\"abc\"";
  EXPECT_TRUE(etag_matches(tag, tag));
  EXPECT_TRUE(etag_matches("W/" + tag, tag));
  EXPECT_TRUE(etag_matches(" \"x\" ,\t" + tag + " ", tag));
  EXPECT_TRUE(etag_matches("*", tag));
  EXPECT_FALSE(etag_matches("", tag));
  EXPECT_FALSE(etag_matches("\"abcd\", \"ab\"", tag));
  EXPECT_FALSE(etag_matches("abc", tag));  // unquoted: another tag
}

TEST(WebPage, RevalidatesByEtag) {
  auto server = start_server(tiny_options());
  ASSERT_TRUE(server);
  httplib::Client c("127.0.0.1", server->port());
  const std::string tag = c.Get("/")->get_header_value("ETag");
  ASSERT_EQ(tag.front(), '"');
  for (const std::string& inm : {tag, "W/" + tag, "\"other\", " + tag, std::string("*")}) {
    auto r = c.Get("/", {{"If-None-Match", inm}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 304) << inm;
    EXPECT_TRUE(r->body.empty()) << inm;
    EXPECT_EQ(r->get_header_value("ETag"), tag);
  }
  auto stale = c.Get("/", {{"If-None-Match", "\"other\""}});
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 200);
  EXPECT_FALSE(stale->body.empty());
}

TEST(WebPage, OpenWithApiKeysAndGoneWithoutWeb) {
  ServerOptions keyed = tiny_options();
  keyed.api_keys = {"k1"};
  auto server = start_server(keyed);
  ASSERT_TRUE(server);
  httplib::Client c("127.0.0.1", server->port());
  EXPECT_EQ(c.Get("/")->status, 200);  // the page asks the user for the key itself
  EXPECT_EQ(c.Get("/app.js")->status, 200);
  EXPECT_EQ(c.Get("/v1/models")->status, 401);  // the API still needs it
  EXPECT_EQ(c.Get("/no-such-file.js")->status, 401);

  ServerOptions off = tiny_options();
  off.web = false;
  auto bare = start_server(off);
  ASSERT_TRUE(bare);
  httplib::Client b("127.0.0.1", bare->port());
  for (const char* path : {"/", "/index.html", "/app.js"}) {
    auto r = b.Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "unknown_url") << r->body;
  }
}

TEST(WebPage, ConfigFileTurnsThePageOff) {
  ServerOptions o;
  ASSERT_TRUE(parse_server_config("web: false\n", "serve.yaml", o).ok());
  EXPECT_FALSE(o.web);
  auto bad = parse_server_config("web: maybe\n", "serve.yaml", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("serve.yaml: line 1: 'web'"), std::string::npos) << bad.error().to_string();
}

}  // namespace
}  // namespace fragua::serve
