// SPDX-License-Identifier: Apache-2.0
// What the generation endpoints (src/serve/generation.cpp) do before they have written anything:
// a client that leaves while its request waits in the queue, a non-streamed answer that fails
// after its first token; and the connection probe they use (src/serve/connection.cpp).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "serve/connection.h"
#include "serve/fixtures.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using namespace fragua::serve::test;
using namespace std::chrono_literals;

// The server side of a loopback connection, as cpp-httplib describes it to a handler.
httplib::Request described(int server_fd) {
  sockaddr_in local{}, peer{};
  socklen_t n = sizeof local;
  EXPECT_EQ(getsockname(server_fd, reinterpret_cast<sockaddr*>(&local), &n), 0);
  n = sizeof peer;
  EXPECT_EQ(getpeername(server_fd, reinterpret_cast<sockaddr*>(&peer), &n), 0);
  char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
  httplib::Request req;
  req.local_addr = inet_ntop(AF_INET, &local.sin_addr, a, sizeof a);
  req.local_port = ntohs(local.sin_port);
  req.remote_addr = inet_ntop(AF_INET, &peer.sin_addr, b, sizeof b);
  req.remote_port = ntohs(peer.sin_port);
  return req;
}

bool becomes_closed(const httplib::Request& req) {
  for (int i = 0; i < 200; ++i) {
    if (client_closed(req)) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

// Open while the client holds it; closed once the client closes its end (the server's socket in
// CLOSE_WAIT), and for an address pair no socket has.
TEST(ClientClosedTest, FollowsTheClientsEnd) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t n = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &n), 0);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int server = accept(listener, nullptr, nullptr);
  ASSERT_GE(server, 0);

  const httplib::Request req = described(server);
  EXPECT_FALSE(client_closed(req));
  close(client);
  EXPECT_TRUE(becomes_closed(req));
  close(server);
  close(listener);

  httplib::Request nobody = req;
  nobody.remote_port = req.remote_port == 65535 ? 65534 : req.remote_port + 1;
  EXPECT_TRUE(client_closed(nobody));
  httplib::Request unparsable = req;
  unparsable.remote_addr = "not an address";
  EXPECT_FALSE(client_closed(unparsable));  // unknown: the request runs on
}

// One slot held by a long stream; requests queued behind it (one streamed, one not) whose
// clients leave are cancelled at once, while the stream still holds the slot: nothing waits for
// their first token.
TEST(GenerationTest, QueuedRequestOfAClientThatLeavesIsCancelled) {
  auto files = write_model_files(32768);
  ServerOptions o = tiny_options();
  o.scheduler.n_slots = 1;
  o.scheduler.n_ctx_per_seq = 32768;
  auto s = Server::create(o);
  ASSERT_TRUE(s.ok());
  Server& server = **s;
  ASSERT_TRUE(server.start().ok());
  auto m = open_tiny(*files);
  m->eog_ids.clear();  // nothing ends the generation but its length
  ASSERT_TRUE(server.set_model(std::move(m)).ok());
  httplib::Client c("127.0.0.1", server.port());
  const auto scrape = [&](const std::string& name) {
    auto r = c.Get("/metrics");
    EXPECT_TRUE(r);
    return r ? metric(r->body, name) : -1;
  };
  const std::string cancelled = "fragua_generations_finished_total{reason=\"cancelled\"}";

  int stream = send_raw(server.port(), post_request("/v1/completions",
                                                    R"({"prompt": "Hola", "max_tokens": 32000, "stream": true})"));
  ASSERT_GE(stream, 0);
  ASSERT_NE(read_until(stream, "data: ").find("200 OK"), std::string::npos);
  const double before = scrape(cancelled);

  int plain = send_raw(server.port(), post_request("/v1/completions", R"({"prompt": "Adeu", "max_tokens": 5})"));
  int streamed =
      send_raw(server.port(), post_request("/v1/completions", R"({"prompt": "Agur", "max_tokens": 5, "stream": true})"));
  ASSERT_GE(plain, 0);
  ASSERT_GE(streamed, 0);
  double depth = -1;
  for (int i = 0; i < 500 && depth != 2; ++i) {
    depth = scrape("fragua_queue_depth");
    if (depth != 2) std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(depth, 2);
  close(plain);
  close(streamed);
  double now = -1;
  for (int i = 0; i < 500; ++i) {
    depth = scrape("fragua_queue_depth");
    now = scrape(cancelled);
    if (depth == 0 && now == before + 2) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(depth, 0);
  EXPECT_EQ(now, before + 2);
  // The stream was not what let them go: it still runs.
  EXPECT_EQ(scrape("fragua_active_slots"), 1);
  EXPECT_EQ(scrape("fragua_generations_finished_total{reason=\"length\"}"), 0);
  close(stream);
}

// A non-streamed request whose generation fails after its first token (here its --timeout
// passes mid-answer) gets the failure's status and OpenAI's error body, never a 200: nothing had
// been sent. A stream in the same state can only end with an error event (ServerTimeoutTest).
TEST(GenerationTest, NonStreamedFailureAfterTheFirstTokenHasItsStatus) {
  auto files = write_model_files(32768);
  ServerOptions o = tiny_options();
  o.scheduler.n_slots = 1;
  o.scheduler.n_ctx_per_seq = 32768;
  o.request_timeout_s = 1.0;
  auto s = Server::create(o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->start().ok());
  auto m = open_tiny(*files);
  m->eog_ids.clear();
  ASSERT_TRUE((*s)->set_model(std::move(m)).ok());
  httplib::Client c("127.0.0.1", (*s)->port());
  c.set_read_timeout(60, 0);
  for (const char* path : {"/v1/completions", "/v1/chat/completions"}) {
    const json body = std::string(path) == "/v1/completions"
                          ? json{{"prompt", "Hola"}, {"max_tokens", 32000}}
                          : json{{"messages", {{{"role", "user"}, {"content", "Hola"}}}}, {"max_tokens", 32000}};
    const double generated_before = metric(c.Get("/metrics")->body, "fragua_generated_tokens_total");
    auto r = c.Post(path, body.dump(), "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 504) << path << ": " << r->body.substr(0, 300);
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body.substr(0, 300);
    EXPECT_EQ(j["error"]["code"], "timeout");
    EXPECT_FALSE(j.contains("choices"));
    // It did fail after its first token.
    EXPECT_GT(metric(c.Get("/metrics")->body, "fragua_generated_tokens_total"), generated_before) << path;
  }
  EXPECT_EQ(c.Get("/health")->status, 200);
}

}  // namespace
}  // namespace fragua::serve
