// Plain HTTP(S) downloads through cpp-httplib: model hubs, datasets, Debian indices. Tests point
// them at a local server on 127.0.0.1; nothing downloads in tests otherwise.
#include "fragua/base/http.h"

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

}  // namespace fragua
