// SPDX-License-Identifier: Apache-2.0
// The hub client against a local imitation of the Hugging Face hub on 127.0.0.1: the API listing
// (?blobs=true, LFS sha256 and sizes), /resolve/ with X-Repo-Commit, X-Linked-Etag and
// X-Linked-Size, LFS files redirected to a "CDN" on another port, ranges, a gated file, cut
// connections and a corrupted body. Nothing here touches the real network.
#include "fragua/model/hub.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include "http_fixture.h"

#include "format/gguf_split_fixture.h"
#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "fragua/model/loaded_model.h"
#include "fragua/model/random_model.h"
#include "model/fixtures.h"
#include "model/hub_fetch.h"
#include "test_util.h"

namespace fragua::model {
namespace {

using test::LocalServer;

namespace fs = std::filesystem;

constexpr char kCommit[] = "0123456789abcdef0123456789abcdef01234567";

struct ServedFile {
  std::string content;
  bool lfs = true;
  bool gated = false;
  bool corrupt = false;  // the CDN flips one byte (the listing keeps the true sha256)
  int unavailable = 0;   // the next `unavailable` CDN answers are 503
  int cuts = 0;          // the next `cuts` CDN answers stop halfway through the range
  std::string sha256, etag;
};

// The hub (API and /resolve/) on one port, its CDN on another: a redirect leaves the origin,
// as huggingface.co's to cdn-lfs does.
class FakeHub {
 public:
  std::map<std::string, ServedFile> files;  // of repo "org/tiny"
  std::string token = "hf_secret";
  std::mutex mu;
  int api_requests = 0, head_requests = 0, file_gets = 0;
  std::vector<std::string> ranges;  // Range headers the CDN saw
  bool cdn_saw_authorization = false;

  FakeHub() {
    hub_.server().Get("/api/models/org/tiny/revision/main", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu);
      ++api_requests;
      nlohmann::json j{{"id", "org/tiny"}, {"sha", kCommit}, {"siblings", nlohmann::json::array()}};
      for (auto& [name, f] : files) {
        nlohmann::json s{{"rfilename", name}, {"size", f.content.size()}, {"blobId", f.etag}};
        if (f.lfs) s["lfs"] = {{"sha256", f.sha256}, {"size", f.content.size()}, {"pointerSize", 134}};
        j["siblings"].push_back(s);
      }
      res.set_content(j.dump(), "application/json");
    });
    hub_.server().Get(R"(/org/tiny/resolve/([0-9a-f]{40})/(.+))",
                      [this](const httplib::Request& req, httplib::Response& res) {
                        std::lock_guard<std::mutex> l(mu);
                        if (req.method == "HEAD")
                          ++head_requests;
                        else
                          ++file_gets;
                        auto it = files.find(req.matches[2]);
                        if (req.matches[1] != kCommit || it == files.end()) {
                          res.status = 404;
                          return;
                        }
                        ServedFile& f = it->second;
                        if (f.gated && req.get_header_value("Authorization") != "Bearer " + token) {
                          res.status = 401;
                          res.set_content("Access to model org/tiny is restricted.", "text/plain");
                          return;
                        }
                        res.set_header("X-Repo-Commit", kCommit);
                        if (f.lfs) {
                          res.status = 302;
                          res.set_header("Location", cdn_.url() + "/cdn/" + f.sha256);
                          res.set_header("X-Linked-Etag", "\"" + f.sha256 + "\"");
                          res.set_header("X-Linked-Size", std::to_string(f.content.size()));
                          res.set_header("ETag", "\"" + f.etag + "\"");
                          return;
                        }
                        res.set_header("ETag", "\"" + f.etag + "\"");
                        res.set_content(f.content, "application/octet-stream");
                      });
    cdn_.server().Get(R"(/cdn/([0-9a-f]{64}))", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> l(mu);
      ++file_gets;
      if (req.has_header("Authorization")) cdn_saw_authorization = true;
      ranges.push_back(req.get_header_value("Range"));
      ServedFile* f = nullptr;
      for (auto& [name, sf] : files)
        if (sf.sha256 == req.matches[1]) f = &sf;
      if (!f) {
        res.status = 404;
        return;
      }
      if (f->unavailable > 0) {
        --f->unavailable;
        res.status = 503;
        return;
      }
      auto body = std::make_shared<std::string>(f->content);
      if (f->corrupt) (*body)[body->size() / 2] ^= 0x5a;
      const bool cut = f->cuts > 0;
      if (cut) --f->cuts;
      // httplib applies the Range to the provider's (offset, length); a cut answers half of it.
      res.set_content_provider(body->size(), "application/octet-stream",
                               [body, cut](size_t offset, size_t length, httplib::DataSink& sink) {
                                 const size_t n = cut ? length / 2 : length;
                                 sink.write(body->data() + offset, n);
                                 return !cut;
                               });
    });
  }
  std::string endpoint() const { return hub_.url(); }
  void add(const std::string& name, std::string content, bool lfs = true) {
    ServedFile f;
    f.content = std::move(content);
    f.lfs = lfs;
    test::TempDir d;
    EXPECT_TRUE(write_file_atomic(d.file("x"), f.content).ok());
    f.sha256 = detail::sha256_file(d.file("x")).value();
    f.etag = f.lfs ? f.sha256.substr(0, 40) : f.sha256.substr(24, 40);  // a git blob id's shape
    files[name] = std::move(f);
  }
  int file_requests() {
    std::lock_guard<std::mutex> l(mu);
    return file_gets;
  }

 private:
  LocalServer hub_, cdn_;
};

std::string pattern_bytes(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed = seed * 1664525u + 1013904223u) >> 24);
  return s;
}

class Hub : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT"}) unsetenv(v);
    hub_.add("model.gguf", pattern_bytes(20000, 1));
    hub_.add("config.json", "{\"model_type\": \"llama\"}\n", false);
    hub_.add("sub/weights.bin", pattern_bytes(3000, 2));
    opt_.endpoint = hub_.endpoint();
    opt_.cache_dir = cache_.path();
    opt_.progress = false;
    opt_.backoff_ms = 1;
  }
  std::string repo_dir() const { return hub_repo_dir(cache_.path(), "org/tiny"); }
  std::string blob(const std::string& name) { return repo_dir() + "/blobs/" + hub_.files[name].sha256; }
  FakeHub hub_;
  test::TempDir cache_;
  HubOptions opt_;
};

TEST_F(Hub, PullBuildsTheHubCacheLayout) {
  auto r = hub_pull("org/tiny", {"*.gguf", "config.json"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const std::string snap = repo_dir() + "/snapshots/" + kCommit;
  EXPECT_EQ(r->snapshot_dir, snap);
  ASSERT_EQ(r->paths, (std::vector<std::string>{snap + "/config.json", snap + "/model.gguf"}));
  EXPECT_EQ(read_file(r->paths[1]).value(), hub_.files["model.gguf"].content);
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["config.json"].content);
  // Relative symlinks into blobs/, named by the LFS sha256 or the git blob id (the ETag).
  EXPECT_EQ(fs::read_symlink(r->paths[1]).string(), "../../blobs/" + hub_.files["model.gguf"].sha256);
  EXPECT_EQ(fs::read_symlink(r->paths[0]).string(), "../../blobs/" + hub_.files["config.json"].etag);
  EXPECT_EQ(read_file(repo_dir() + "/refs/main").value(), kCommit);
  EXPECT_FALSE(fs::exists(snap + "/sub/weights.bin"));  // not asked for
  EXPECT_EQ(r->bytes_downloaded, 20000u + hub_.files["config.json"].content.size());
  EXPECT_FALSE(hub_.cdn_saw_authorization);
}

TEST_F(Hub, NestedFilesLinkFromTheirFolder) {
  auto r = hub_pull("org/tiny", {"sub/*"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->paths.size(), 1u);
  EXPECT_EQ(fs::read_symlink(r->paths[0]).string(), "../../../blobs/" + hub_.files["sub/weights.bin"].sha256);
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["sub/weights.bin"].content);
}

TEST_F(Hub, SecondPullMakesNoFileRequest) {
  ASSERT_TRUE(hub_pull("org/tiny", {}, opt_).ok());
  const int files_before = hub_.file_requests();
  EXPECT_GT(files_before, 0);
  auto r = hub_pull("org/tiny", {}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->paths.size(), 3u);
  EXPECT_EQ(r->bytes_downloaded, 0u);
  EXPECT_EQ(hub_.file_requests(), files_before);
  EXPECT_EQ(hub_.head_requests, 3);  // only the first pull asked for the files' headers
}

TEST_F(Hub, ReusesABlobAnotherClientDownloaded) {
  // huggingface_hub stored the blob (for another commit, say); no snapshot entry for ours yet.
  ASSERT_TRUE(Env::posix().create_dirs(repo_dir() + "/blobs").ok());
  ASSERT_TRUE(write_file_atomic(blob("model.gguf"), hub_.files["model.gguf"].content).ok());
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(hub_.file_requests(), 0);
  EXPECT_EQ(r->bytes_downloaded, 0u);
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);
}

TEST_F(Hub, GatedFileNeedsAToken) {
  hub_.files["model.gguf"].gated = true;
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("org/tiny/model.gguf"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("gated"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("HF_TOKEN"), std::string::npos) << r.error().message();
  EXPECT_FALSE(fs::exists(blob("model.gguf")));
  opt_.token = "wrong";
  r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("token was refused"), std::string::npos) << r.error().message();
  opt_.token = hub_.token;
  r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);
  EXPECT_FALSE(hub_.cdn_saw_authorization);  // the token stays with the hub's origin
}

TEST_F(Hub, TokenComesFromHfToken) {
  hub_.files["model.gguf"].gated = true;
  setenv("HF_TOKEN", hub_.token.c_str(), 1);
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  unsetenv("HF_TOKEN");
  EXPECT_TRUE(r.ok()) << r.error().to_string();
}

TEST_F(Hub, CutConnectionIsRetriedWithARange) {
  hub_.files["model.gguf"].cuts = 1;
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);
  ASSERT_EQ(hub_.ranges.size(), 2u);
  EXPECT_EQ(hub_.ranges[0], "");
  EXPECT_EQ(hub_.ranges[1], "bytes=10000-19999");  // resumed where the cut stopped
}

TEST_F(Hub, UnavailableIsRetriedThenGivenUp) {
  hub_.files["model.gguf"].unavailable = 2;
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(hub_.ranges.size(), 3u);
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);
  hub_.files["sub/weights.bin"].unavailable = 10;
  opt_.retries = 2;
  r = hub_pull("org/tiny", {"sub/weights.bin"}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("org/tiny/sub/weights.bin: giving up after 2 retries"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("HTTP 503"), std::string::npos) << r.error().message();
}

TEST_F(Hub, NextPullResumesAnIncompleteFile) {
  hub_.files["model.gguf"].cuts = 1;
  opt_.retries = 0;
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("org/tiny/model.gguf"), std::string::npos) << r.error().message();
  EXPECT_FALSE(fs::exists(blob("model.gguf")));
  EXPECT_EQ(fs::file_size(blob("model.gguf") + ".incomplete"), 10000u);
  EXPECT_FALSE(fs::exists(repo_dir() + "/snapshots/" + kCommit + "/model.gguf"));
  r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(hub_.ranges.back(), "bytes=10000-19999");
  EXPECT_EQ(r->bytes_downloaded, 10000u);
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);  // and the sha256 held
  EXPECT_FALSE(fs::exists(blob("model.gguf") + ".incomplete"));
}

TEST_F(Hub, CorruptBodyIsDiscarded) {
  hub_.files["model.gguf"].corrupt = true;
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::corruption);
  EXPECT_NE(r.error().message().find("org/tiny/model.gguf: SHA-256 mismatch"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find(hub_.files["model.gguf"].sha256), std::string::npos);
  EXPECT_FALSE(fs::exists(blob("model.gguf")));
  EXPECT_FALSE(fs::exists(blob("model.gguf") + ".incomplete"));
  EXPECT_FALSE(fs::exists(repo_dir() + "/snapshots/" + kCommit + "/model.gguf"));
}

TEST_F(Hub, ParallelRangesJoinInOrder) {
  opt_.parallel_min_bytes = 1000;
  opt_.connections = 4;
  hub_.files["model.gguf"].cuts = 2;  // two of the four ranges are cut and resumed
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);
  std::vector<std::string> seen = hub_.ranges;
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 6u);
  for (const char* want : {"bytes=0-4999", "bytes=5000-9999", "bytes=10000-14999", "bytes=15000-19999"})
    EXPECT_NE(std::find(seen.begin(), seen.end(), want), seen.end()) << want;
  for (const auto& e : fs::directory_iterator(repo_dir() + "/blobs"))
    EXPECT_EQ(e.path().string().find(".incomplete"), std::string::npos) << e.path();
}

TEST_F(Hub, OfflineUsesTheCacheOnly) {
  opt_.offline = true;
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::not_found);
  EXPECT_NE(r.error().message().find("not in the hub cache"), std::string::npos) << r.error().message();
  opt_.offline = false;
  ASSERT_TRUE(hub_pull("org/tiny", {"model.gguf"}, opt_).ok());
  const int api = hub_.api_requests, heads = hub_.head_requests, files = hub_.file_requests();
  setenv("HF_HUB_OFFLINE", "1", 1);
  r = hub_pull("org/tiny", {"*.gguf"}, opt_);
  auto missing = hub_pull("org/tiny", {"config.json"}, opt_);  // never pulled
  unsetenv("HF_HUB_OFFLINE");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);
  EXPECT_EQ(hub_.api_requests, api);
  EXPECT_EQ(hub_.head_requests, heads);
  EXPECT_EQ(hub_.file_requests(), files);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("config.json"), std::string::npos) << missing.error().message();
}

TEST_F(Hub, UnreachableHubFallsBackToTheCache) {
  ASSERT_TRUE(hub_pull("org/tiny", {"model.gguf"}, opt_).ok());
  opt_.endpoint = "http://127.0.0.1:1";  // nothing listens there
  auto r = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(read_file(r->paths[0]).value(), hub_.files["model.gguf"].content);
  auto absent = hub_pull("org/tiny", {"config.json"}, opt_);  // the cached snapshot lacks it
  ASSERT_FALSE(absent.ok());
  EXPECT_NE(absent.error().message().find("'config.json'"), std::string::npos) << absent.error().message();
  opt_.cache_dir = cache_.file("empty");  // nothing cached: the network error stands
  auto down = hub_pull("org/tiny", {"model.gguf"}, opt_);
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.error().message().find("127.0.0.1:1"), std::string::npos) << down.error().message();
}

TEST_F(Hub, UnmatchedPatternListsTheRepository) {
  auto r = hub_pull("org/tiny", {"*Q4_K_M*"}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no file matches '*Q4_K_M*'"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("model.gguf"), std::string::npos) << r.error().message();
  EXPECT_EQ(hub_.file_requests(), 0);
}

TEST_F(Hub, UnknownRepositoryIsNotFound) {
  auto r = hub_pull("org/absent", {}, opt_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::not_found);
  EXPECT_NE(r.error().message().find("org/absent"), std::string::npos) << r.error().message();
}

TEST_F(Hub, ResolveSpecPicksTheOneGguf) {
  auto p = resolve_hub_model("org/tiny", opt_);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(read_file(*p).value(), hub_.files["model.gguf"].content);
  hub_.add("model-q8.gguf", "x");
  auto two = resolve_hub_model("org/tiny", opt_);
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message().find("model-q8.gguf, model.gguf"), std::string::npos) << two.error().message();
  auto named = resolve_hub_model("org/tiny:*q8*", opt_);
  ASSERT_TRUE(named.ok()) << named.error().to_string();
  EXPECT_EQ(read_file(*named).value(), "x");
}

TEST_F(Hub, APartOfASplitGgufBringsEveryPart) {
  for (int k = 1; k <= 3; ++k) hub_.add(format::gguf_split_path("m-q4", k, 3), pattern_bytes(500, 10 + k));
  auto r = hub_pull("org/tiny", {"m-q4-00002-of-00003.gguf"}, opt_);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const std::string snap = repo_dir() + "/snapshots/" + kCommit + "/";
  EXPECT_EQ(r->paths, (std::vector<std::string>{snap + "m-q4-00001-of-00003.gguf", snap + "m-q4-00002-of-00003.gguf",
                                                snap + "m-q4-00003-of-00003.gguf"}));
  // A spec whose pattern matches the parts is one model: the first part's path, all three cached.
  auto p = resolve_hub_model("org/tiny:m-q4-*.gguf", opt_);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(*p, snap + "m-q4-00001-of-00003.gguf");

  hub_.files.erase("m-q4-00003-of-00003.gguf");
  auto missing = resolve_hub_model("org/tiny:m-q4-00001-of-00003.gguf", opt_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
  EXPECT_NE(missing.error().message().find("split model of 3 files, but m-q4-00003-of-00003.gguf is not in"),
            std::string::npos)
      << missing.error().message();
}

TEST(HubListing, ParsesTheApiShape) {
  const std::string sha(64, 'a');
  auto l = parse_hub_listing(R"({"sha": ")" + std::string(kCommit) +
                                 R"(", "siblings": [{"rfilename": "a/b.gguf", "size": 5, "lfs": {"sha256": ")" + sha +
                                 R"(", "size": 7}}, {"rfilename": "c.json"}]})",
                             "api");
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  EXPECT_EQ(l->commit, kCommit);
  ASSERT_EQ(l->files.size(), 2u);
  EXPECT_EQ(l->files[0].name, "a/b.gguf");
  EXPECT_EQ(l->files[0].size, 7);  // the LFS object's size, not the pointer's
  EXPECT_EQ(l->files[0].sha256, sha);
  EXPECT_EQ(l->files[1].size, -1);
  EXPECT_EQ(l->files[1].sha256, "");
}

TEST(HubListing, RejectsNamesLeavingTheSnapshot) {
  for (const char* name : {"../x", "/etc/passwd", "a//b", "a/./b", "a/../../b", "a\\\\b", "", "dir/"}) {
    auto l =
        parse_hub_listing(fmt::format(R"({{"sha": "{}", "siblings": [{{"rfilename": "{}"}}]}})", kCommit, name), "api");
    ASSERT_FALSE(l.ok()) << name;
    EXPECT_NE(l.error().message().find("siblings[0].rfilename"), std::string::npos) << l.error().message();
  }
  for (
      const char* bad :
      {R"([])", R"({"siblings": []})", R"({"sha": "x", "siblings": []})",
       R"({"sha": "0123456789abcdef0123456789abcdef01234567", "siblings": [{"rfilename": "a", "lfs": {"sha256": "AB"}}]})",
       R"({"sha": "0123456789abcdef0123456789abcdef01234567", "siblings": [{"rfilename": "a", "size": -1}]})",
       R"({"sha": "0123456789abcdef0123456789abcdef01234567", "siblings": [3]})"})
    EXPECT_FALSE(parse_hub_listing(bad, "api").ok()) << bad;
}

TEST(HubSpec, NamesAndGlobs) {
  EXPECT_TRUE(is_hub_model_spec("BSC-LT/salamandra-2b-instruct"));
  EXPECT_TRUE(is_hub_model_spec("org/name:model-Q4_K_M.gguf"));
  EXPECT_TRUE(is_hub_model_spec("org/name:*Q4_K_M*"));
  EXPECT_FALSE(is_hub_model_spec("models/missing.gguf"));  // a path, not a repository
  EXPECT_FALSE(is_hub_model_spec("/abs/path"));
  EXPECT_FALSE(is_hub_model_spec("model.gguf"));
  EXPECT_FALSE(is_hub_model_spec("org/name:"));
  EXPECT_FALSE(is_hub_model_spec("a/b/c"));
  EXPECT_FALSE(is_hub_model_spec("../x"));
  EXPECT_FALSE(is_hub_model_spec("org/na--me"));
  EXPECT_TRUE(hub_glob_match("*Q4_K_M*", "salamandra-2b-Q4_K_M.gguf"));
  EXPECT_TRUE(hub_glob_match("*.gguf", "sub/x.gguf"));  // '*' crosses '/', as fnmatch in huggingface_hub
  EXPECT_FALSE(hub_glob_match("*.gguf", "x.safetensors"));
  EXPECT_EQ(hub_repo_dir("/c", "org/name"), "/c/models--org--name");
}

TEST(HubCli, GenerateResolvesOrgNameFile) {
  test::TempDir dir;
  ASSERT_TRUE(write_random_model(tiny_model_spec(), dir.file("m.gguf")).ok());
  FakeHub hub;
  hub.add("tiny-f32.gguf", read_file(dir.file("m.gguf")).value());
  hub.add("README.md", "# tiny\n", false);
  const std::string env = "HF_ENDPOINT=" + hub.endpoint() + " HF_HUB_CACHE=" + dir.file("cache") + " ";
  const std::string local = test::cli_path() + " generate " + dir.file("m.gguf") + " --prompt-ids 1,2,3 -n 4 --temp 0";
  std::string want, got, pulled;
  ASSERT_EQ(test::run_command("(" + local + " 2>/dev/null)", &want), 0) << want;
  const std::string remote =
      env + test::cli_path() + " generate org/tiny:tiny-f32.gguf --prompt-ids 1,2,3 -n 4 --temp 0";
  ASSERT_EQ(test::run_command("(" + remote + " 2>/dev/null)", &got), 0) << got;
  EXPECT_EQ(got, want);
  EXPECT_EQ(hub.head_requests, 1);
  // Without :FILE the repository's one .gguf; `pull` prints the cached path.
  ASSERT_EQ(test::run_command("(" + env + test::cli_path() + " pull org/tiny '*.gguf' 2>/dev/null)", &pulled), 0)
      << pulled;
  EXPECT_EQ(pulled, dir.file("cache") + "/models--org--tiny/snapshots/" + kCommit + "/tiny-f32.gguf\n");
  ASSERT_EQ(test::run_command("(" + env + "HF_HUB_OFFLINE=1 " + test::cli_path() +
                                  " generate org/tiny --prompt-ids 1,2,3 -n 4 --temp 0 2>/dev/null)",
                              &got),
            0);
  EXPECT_EQ(got, want);
  EXPECT_EQ(hub.head_requests, 1);
  std::string err;
  // No FILE: the whole repository, announced with its size on stderr.
  ASSERT_EQ(test::run_command(env + test::cli_path() + " pull org/tiny", &err), 0) << err;
  EXPECT_NE(err.find(fmt::format("pulling the whole repository org/tiny (2 files, {})",
                                 format_bytes(static_cast<double>(hub.files["tiny-f32.gguf"].content.size() + 7)))),
            std::string::npos)
      << err;
  EXPECT_NE(test::run_command(test::cli_path() + " pull org/other --offline --cache-dir " + dir.file("cache"), &err),
            0);
  EXPECT_NE(err.find("org/other (revision main) is not in the hub cache"), std::string::npos) << err;
  EXPECT_NE(test::run_command(env + test::cli_path() + " pull org/tiny '*.safetensors' 2>&1", &err), 0);
  EXPECT_NE(err.find("no file matches '*.safetensors'"), std::string::npos) << err;
}

// A model published as gguf-split parts runs from `org/name:FIRST_PART` as from the whole file.
TEST(HubCli, GenerateRunsASplitModel) {
  test::TempDir dir;
  ASSERT_TRUE(write_random_model(tiny_model_spec(), dir.file("m.gguf")).ok());
  auto whole = format::GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(fs::create_directory(dir.file("parts")));
  auto parts = test::write_gguf_split(*whole, dir.file("parts/tiny"), 3);
  ASSERT_TRUE(parts.ok()) << parts.error().message();
  FakeHub hub;
  for (const auto& p : *parts) hub.add(fs::path(p).filename().string(), read_file(p).value());
  const std::string env = "HF_ENDPOINT=" + hub.endpoint() + " HF_HUB_CACHE=" + dir.file("cache") + " ";
  const std::string args = " --prompt-ids 1,2,3 -n 4 --temp 0 2>/dev/null)";
  std::string want, local, got;
  ASSERT_EQ(test::run_command("(" + test::cli_path() + " generate " + dir.file("m.gguf") + args, &want), 0) << want;
  ASSERT_EQ(test::run_command("(" + test::cli_path() + " generate " + parts->at(0) + args, &local), 0) << local;
  EXPECT_EQ(local, want);
  ASSERT_EQ(
      test::run_command("(" + env + test::cli_path() + " generate org/tiny:tiny-00001-of-00003.gguf" + args, &got), 0)
      << got;
  EXPECT_EQ(got, want);
  EXPECT_EQ(hub.head_requests, 3);
  std::string err;
  EXPECT_NE(test::run_command(test::cli_path() + " generate " + parts->at(1) + " --prompt-ids 1 -n 1", &err), 0);
  EXPECT_NE(err.find("open the first part, " + parts->at(0)), std::string::npos) << err;
}

}  // namespace
}  // namespace fragua::model
