// Test fixtures for code that downloads: a static-file HTTP server on 127.0.0.1 (the only
// network a test may touch) and gzip compression for the bodies it serves.
#pragma once

#include <httplib.h>
#include <zlib.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

namespace fragua::test {

inline std::string gzip(const std::string& s) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(static_cast<uLong>(s.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = static_cast<uInt>(s.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

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
