#include "fragua/materials/fetch.h"

#include <httplib.h>
#include <zlib.h>

#include <thread>

#include "fragua/materials/dataset.h"
#include "golden.h"

namespace fragua::materials {
namespace {

std::string gzip(const std::string& s) {
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

// A Matbench-style server on 127.0.0.1 (the only network the tests touch).
class LocalServer {
 public:
  LocalServer() {
    body_ = gzip(R"({"index":["mb-expt-gap-0001","mb-expt-gap-0002"],"columns":["composition","gap expt"],)"
                 R"("data":[["Hg0.7Cd0.3Te",0.35],["ZnO",3.3]]})");
    srv_.Get("/projects/matbench_expt_gap.json.gz", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(body_, "application/gzip");
    });
    srv_.Get("/broken/matbench_expt_gap.json.gz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("this is not gzip", "application/gzip");
    });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LocalServer() {
    srv_.stop();
    thread_.join();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& body() const { return body_; }

 private:
  httplib::Server srv_;
  std::thread thread_;
  std::string body_;
  int port_ = 0;
};

TEST(Fetch, DownloadsFromALocalServer) {
  LocalServer server;
  test::TempDir dir;
  auto url = matbench_url("matbench_expt_gap", server.base() + "/projects/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, server.base() + "/projects/matbench_expt_gap.json.gz");
  ASSERT_TRUE(download(*url, dir.file("g.json.gz")).ok());
  EXPECT_EQ(*read_file(dir.file("g.json.gz")), server.body());
  auto d = read_dataset(dir.file("g.json.gz"), testing::table());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->size(), 2u);
  EXPECT_DOUBLE_EQ(d->y[0], 0.35);

  auto missing = download(server.base() + "/nope.json.gz", dir.file("n.json.gz"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("HTTP 404"), std::string::npos) << missing.error().message();
  EXPECT_FALSE(std::filesystem::exists(dir.file("n.json.gz")));
  EXPECT_FALSE(matbench_url("matbench_mp_gap").ok());
}

TEST(Fetch, CliVerifiesBeforeWriting) {
  LocalServer server;
  test::TempDir dir;
  std::string out;
  int rc = test::run_command(test::cli_path() + " -q materials fetch matbench_expt_gap --out-dir " + dir.path() +
                                 " --base-url " + server.base() + "/projects",
                             &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("matbench_expt_gap.json.gz")));
  test::TempDir dir2;
  rc = test::run_command(test::cli_path() + " -q materials fetch matbench_expt_gap --out-dir " + dir2.path() +
                             " --base-url " + server.base() + "/broken",
                         &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("gzip data corrupt"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::is_empty(dir2.path()));
}

}  // namespace
}  // namespace fragua::materials
