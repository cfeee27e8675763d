// SPDX-License-Identifier: Apache-2.0
// A static-file HTTP server on 127.0.0.1 for code that downloads (the only network a test may
// touch); test::gzip (test_util.h) makes compressed bodies.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "test_util.h"

namespace fragua::test {

// An HTTP server listening on 127.0.0.1 (a free port) in a thread, for as long as it lives.
// `routes` registers the handlers before it starts listening; tests may add more through
// server() (cpp-httplib looks handlers up per request).
class LocalServer {
 public:
  explicit LocalServer(const std::function<void(httplib::Server&)>& routes = {}) {
    if (routes) routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalServer() {
    server_.stop();
    thread_.join();
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  httplib::Server& server() { return server_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// Serves `files` (URL path -> body) with status 200; anything else is a 404.
class LocalHttpServer {
 public:
  explicit LocalHttpServer(std::map<std::string, std::string> files)
      : files_(std::move(files)), server_([this](httplib::Server& srv) {
          srv.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
            auto it = files_.find(req.path);
            if (it == files_.end()) {
              res.status = 404;
              return;
            }
            res.set_content(it->second, "application/octet-stream");
          });
        }) {}
  std::string base() const { return server_.url(); }

 private:
  std::map<std::string, std::string> files_;  // declared first: built before the server starts
  LocalServer server_;
};

}  // namespace fragua::test
