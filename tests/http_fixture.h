// A static-file HTTP server on 127.0.0.1 for code that downloads (the only network a test may
// touch); test::gzip (test_util.h) makes compressed bodies.
#pragma once

#include <httplib.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "test_util.h"

namespace fragua::test {

// Serves `files` (URL path -> body) with status 200; anything else is a 404.
class LocalHttpServer {
 public:
  explicit LocalHttpServer(std::map<std::string, std::string> files) : files_(std::move(files)) {
    srv_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      auto it = files_.find(req.path);
      if (it == files_.end()) {
        res.status = 404;
        return;
      }
      res.set_content(it->second, "application/octet-stream");
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalHttpServer() {
    srv_.stop();
    thread_.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::map<std::string, std::string> files_;
  httplib::Server srv_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fragua::test
