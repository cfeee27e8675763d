// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/fetch.h"

#include "fragua/materials/dataset.h"
#include "golden.h"
#include "http_fixture.h"

namespace fragua::materials {
namespace {

// A Matbench-style server on 127.0.0.1 (the only network the tests touch).
class LocalServer : public test::LocalHttpServer {
 public:
  LocalServer()
      : test::LocalHttpServer({{"/projects/matbench_expt_gap.json.gz", kBody},
                               {"/broken/matbench_expt_gap.json.gz", "this is not gzip"}}) {}
  const std::string& body() const { return kBody; }

 private:
  static inline const std::string kBody =
      test::gzip(R"({"index":["mb-expt-gap-0001","mb-expt-gap-0002"],"columns":["composition","gap expt"],)"
                 R"("data":[["Hg0.7Cd0.3Te",0.35],["ZnO",3.3]]})");
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
  EXPECT_NE(out.find("corrupt gzip data"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::is_empty(dir2.path()));
}

}  // namespace
}  // namespace fragua::materials
