// SPDX-License-Identifier: Apache-2.0
// The HTTP client's requests (headers, ranges, redirects) against servers on 127.0.0.1.
#include "fragua/base/http.h"

#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "http_fixture.h"

namespace fragua {
namespace {

using test::LocalServer;

TEST(Http, SendsHeadersAndRanges) {
  LocalServer s;
  std::string auth, range;
  s.server().Get("/f", [&](const httplib::Request& req, httplib::Response& res) {
    auth = req.get_header_value("Authorization");
    range = req.get_header_value("Range");
    res.set_content("0123456789", "text/plain");  // httplib cuts the Range out of it
  });
  auto r =
      http_get({.url = s.url() + "/f", .headers = {{"Authorization", "Bearer t"}}, .range_begin = 3, .range_end = 5});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 206);
  EXPECT_EQ(r->body, "345");
  EXPECT_EQ(auth, "Bearer t");
  EXPECT_EQ(range, "bytes=3-5");
  r = http_get({.url = s.url() + "/f", .range_begin = 7});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "789");
  EXPECT_EQ(range, "bytes=7-");
  EXPECT_EQ(r->header("content-range"), "bytes 7-9/10");  // case-insensitive lookup
}

TEST(Http, StatusesComeBackAsResponses) {
  LocalServer s;
  s.server().Get("/gated", [](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_content("restricted", "text/plain");
  });
  std::string sunk;
  auto r = http_get_stream({.url = s.url() + "/gated"}, [&](std::string_view d) {
    sunk += d;
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "restricted");
  EXPECT_EQ(sunk, "");  // an error page never reaches the file
}

TEST(Http, RedirectsDropTheTokenOnlyAcrossOrigins) {
  LocalServer hub, cdn;
  std::mutex mu;
  std::vector<std::string> seen;  // "<path> <Authorization>"
  auto record = [&](const httplib::Request& req) {
    std::lock_guard<std::mutex> l(mu);
    seen.push_back(req.path + " " + req.get_header_value("Authorization"));
  };
  hub.server().Get("/a", [&](const httplib::Request& req, httplib::Response& res) {
    record(req);
    res.set_redirect("b");  // relative: /b on the same origin
  });
  hub.server().Get("/b", [&](const httplib::Request& req, httplib::Response& res) {
    record(req);
    res.set_redirect(cdn.url() + "/blob", 302);
  });
  cdn.server().Get("/blob", [&](const httplib::Request& req, httplib::Response& res) {
    record(req);
    res.set_content("payload", "application/octet-stream");
  });
  auto head = http_head({.url = hub.url() + "/a", .headers = {{"Authorization", "Bearer t"}}, .max_redirects = 0});
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->status, 302);
  EXPECT_EQ(head->header("Location"), "b");
  seen.clear();
  auto r = http_get({.url = hub.url() + "/a", .headers = {{"Authorization", "Bearer t"}}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "payload");
  EXPECT_EQ(r->url, cdn.url() + "/blob");
  EXPECT_EQ(seen, (std::vector<std::string>{"/a Bearer t", "/b Bearer t", "/blob "}));
  auto loop = http_get({.url = hub.url() + "/a", .max_redirects = 1});
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message().find("more than 1 redirects"), std::string::npos) << loop.error().message();
}

TEST(Http, CutBodyIsAnErrorAfterTheBytesThatArrived) {
  LocalServer s;
  s.server().Get("/cut", [](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(1000, "application/octet-stream", [](size_t, size_t, httplib::DataSink& sink) {
      sink.write(std::string(400, 'x').data(), 400);
      return false;  // the server drops the connection
    });
  });
  uint64_t got = 0;
  auto r = http_get_stream({.url = s.url() + "/cut"}, [&](std::string_view d) {
    got += d.size();
    return true;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(got, 400u);
  EXPECT_NE(r.error().message().find(s.url() + "/cut"), std::string::npos) << r.error().message();
  auto refused = http_get({.url = "http://127.0.0.1:1/x", .connect_timeout_s = 2});
  EXPECT_FALSE(refused.ok());
}

TEST(Http, ResolvesLocations) {
  EXPECT_EQ(http_resolve_url("https://h.co/a/b/c?x=1", "d"), "https://h.co/a/b/d");
  EXPECT_EQ(http_resolve_url("https://h.co/a/b/c", "/r/e"), "https://h.co/r/e");
  EXPECT_EQ(http_resolve_url("https://h.co/a", "//cdn.h.co/x"), "https://cdn.h.co/x");
  EXPECT_EQ(http_resolve_url("https://h.co/a", "http://o.org/y"), "http://o.org/y");
  EXPECT_EQ(http_resolve_url("https://h.co", "z"), "https://h.co/z");
}

}  // namespace
}  // namespace fragua
