// SPDX-License-Identifier: Apache-2.0
#include <filesystem>
#include <fstream>
#include <map>

#include "fixtures.h"
#include "fragua/train/dataset.h"
#include "test_util.h"

namespace fragua::train {
namespace {

ShardTokenizer tok(int vocab) { return {"t", vocab, "fp", -1, -1}; }

std::string sample_shard() {
  ShardWriter w(tok(50), {{"command", "test"}});
  std::vector<int32_t> a = {1, 2, 3}, b = {4, 5}, c = {7, 8, 9, 10};
  w.add("es", a, 11);
  w.add("eu", c, 9);
  w.add("es", b, 6);
  return w.to_bytes();
}

TEST(Shard, RoundTripsLanguagesDocumentsAndProvenance) {
  std::string bytes = sample_shard();
  auto s = TokenShard::parse(bytes, "x.fts");
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->provenance()["command"], "test");
  ASSERT_EQ(s->languages().size(), 2u);
  const auto& es = s->languages()[0];
  EXPECT_EQ(es.lang, "es");
  EXPECT_EQ(std::vector<uint32_t>(es.tokens.begin(), es.tokens.end()), (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(es.n_docs, 2u);
  EXPECT_EQ(es.doc(1).token_start, 3u);
  EXPECT_EQ(es.doc(1).n_bytes, 6u);
  EXPECT_EQ(es.n_bytes, 17u);
  EXPECT_EQ(s->languages()[1].tokens.size(), 4u);
}

void expect_error(const std::string& bytes, const std::string& needle) {
  auto s = TokenShard::parse(bytes, "bad.fts");
  ASSERT_FALSE(s.ok()) << "accepted; wanted: " << needle;
  EXPECT_NE(s.error().message().find(needle), std::string::npos) << s.error().to_string();
  EXPECT_NE(s.error().message().find("bad.fts"), std::string::npos);
}

TEST(Shard, RejectsDamageNamingThePlace) {
  std::string good = sample_shard();
  expect_error("hello", "bad magic");
  std::string v2 = good;
  v2[8] = 2;
  expect_error(v2, "version 2");
  expect_error(good.substr(0, 30), "runs past the end");
  std::string flipped = good;
  flipped[good.size() - 20] ^= 0x40;
  expect_error(flipped, "checksum");
  std::string trunc = good.substr(0, good.size() - 8);
  expect_error(trunc, "checksum");
  // A writer that lies about the vocabulary: tokens beyond it are caught with their offset.
  ShardWriter w(tok(5), {});
  std::vector<int32_t> t = {1, 9};
  w.add("gl", t, 2);
  expect_error(w.to_bytes(), "token 1 at file offset");
  // Issue 12: a provenance of 2^20 values is refused before the header is parsed, and a
  // tokenizer vocab_size past int range does not wrap into range.
  ShardWriter big(tok(5), nlohmann::json(std::vector<int>(1 << 20, 0)));
  expect_error(big.to_bytes(), "header holds more than 1048576 JSON values");
  ShardTokenizer wide = tok(5);
  auto j = wide.to_json();
  j["vocab_size"] = (int64_t{1} << 32) + 5;
  auto back = ShardTokenizer::from_json(j, "s.fts");
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.error().message().find("vocab_size: 4294967301 is outside [1, 16777216]"), std::string::npos)
      << back.error().message();
}

TEST(ShardBuilder, BadLineIsAnErrorNamingFileAndLineAndLeavesNothing) {
  test::TempDir dir;
  std::string in = dir.file("c.jsonl");
  std::string corpus = testing::make_corpus_jsonl(30, 40);
  std::ofstream(in) << corpus << "{\"lang\": \"es\", \"txt\": \"oops\"}\n";
  ShardBuildOptions o;
  o.inputs = {in};
  o.out_dir = dir.file("shards");
  o.shard_tokens = 1000;  // shards are written before the bad line is reached
  auto r = build_shards(o, *make_byte_encoder());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("c.jsonl:121"), std::string::npos) << r.error().to_string();
  int left = 0;
  for (const auto& e : std::filesystem::directory_iterator(o.out_dir)) left += e.path().extension() == ".fts";
  EXPECT_EQ(left, 0);
  // A directory input stands for its .jsonl files (the corpus pipeline's corpus/shards/).
  std::filesystem::create_directories(dir.file("corpus"));
  std::ofstream(dir.file("corpus/shard-000000.jsonl")) << corpus;
  o.inputs = {dir.file("corpus")};
  o.out_dir = dir.file("from_dir");
  auto ok = build_shards(o, *make_byte_encoder());
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->documents, 120u);
  o.out_dir = dir.file("shards");
  std::ofstream(dir.file("nolang.jsonl")) << "{\"text\": \"hola\"}\n";
  o.inputs = {dir.file("nolang.jsonl")};
  r = build_shards(o, *make_byte_encoder());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("nolang.jsonl:1"), std::string::npos);
}

TEST(Dataset, MixtureSplitWindowsAndExactResume) {
  test::TempDir dir;
  testing::make_shards(dir.file("shards"), dir.path());
  DataConfig dc;
  dc.dir = dir.file("shards");
  dc.seq_len = 16;
  dc.val_fraction = 0.1;
  dc.mix = *parse_mix("es=0.5,ca=0.2,eu=0.2,gl=0.1");
  auto ds = Dataset::open(dc);
  ASSERT_TRUE(ds.ok()) << ds.error().to_string();
  EXPECT_GT(ds->shard_paths().size(), 2u);
  ASSERT_EQ(ds->languages().size(), 4u);
  for (const auto& L : ds->languages()) {
    EXPECT_GT(L.val_tokens, 0u) << L.lang;
    EXPECT_NEAR(static_cast<double>(L.val_tokens) / (L.val_tokens + L.train_tokens), 0.1, 0.05) << L.lang;
    EXPECT_GT(L.val_bytes, 0u);
  }
  // Each row's language, recovered from its vocabulary, follows the mixture.
  const int B = 4, T = 16, n = 600;
  std::vector<int32_t> tk(B * T), tg(B * T);
  std::map<std::string, int> seen;
  nlohmann::json mid;
  std::vector<int32_t> after;
  for (int i = 0; i < n; ++i) {
    if (i == n / 2) mid = ds->state();
    ds->next_batch(B, T, tk.data(), tg.data());
    if (i == n / 2) after = tk;
    for (int b = 0; b < B; ++b) {
      for (int t = 0; t + 1 < T; ++t) ASSERT_EQ(tk[b * T + t + 1], tg[b * T + t]);
      std::string row(tk.begin() + b * T, tk.begin() + (b + 1) * T);
      if (row.find_first_of("zkx") != std::string::npos) seen["eu"]++;
    }
  }
  EXPECT_NEAR(seen["eu"] / static_cast<double>(B * n), 0.2, 0.05);
  ASSERT_TRUE(ds->restore(mid).ok());
  ds->next_batch(B, T, tk.data(), tg.data());
  EXPECT_EQ(tk, after);
  // Validation windows come from the held-out tail.
  EXPECT_GT(ds->n_val_windows(0, T), 0u);
  ds->val_window(0, 0, T, tk.data(), tg.data());
  EXPECT_EQ(tk[1], tg[0]);
}

TEST(Dataset, MixtureEntryCoversLanguageVariants) {
  // "ca" in --mix covers Valencian ("ca-valencia") too, its weight split by training tokens;
  // naming the variant gives it a weight of its own.
  test::TempDir dir;
  ShardWriter w({"byte", 258, "byte", -1, -1}, {});
  std::vector<int32_t> doc(100, 65);
  for (int i = 0; i < 30; ++i) w.add("es", doc, 100);
  for (int i = 0; i < 20; ++i) w.add("ca", doc, 100);
  for (int i = 0; i < 10; ++i) w.add("ca-valencia", doc, 100);
  std::filesystem::create_directories(dir.file("shards"));
  ASSERT_TRUE(w.write(dir.file("shards/a.fts")).ok());
  DataConfig dc;
  dc.dir = dir.file("shards");
  dc.seq_len = 16;
  dc.val_fraction = 0.1;
  auto weight_of = [](const Dataset& ds, const std::string& lang) {
    for (const auto& L : ds.languages())
      if (L.lang == lang) return L.weight;
    return -1.0;
  };
  dc.mix = *parse_mix("es=0.5,ca=0.5");
  auto ds = Dataset::open(dc);
  ASSERT_TRUE(ds.ok()) << ds.error().to_string();
  const double ca = weight_of(*ds, "ca"), val = weight_of(*ds, "ca-valencia");
  EXPECT_NEAR(weight_of(*ds, "es"), 0.5, 1e-12);
  EXPECT_NEAR(ca + val, 0.5, 1e-12);
  EXPECT_NEAR(ca / val, 2.0, 0.25);  // 20 documents against 10 (whole documents held out)
  dc.mix = *parse_mix("es=0.5,ca=0.3,ca-valencia=0.2");
  ds = Dataset::open(dc);
  ASSERT_TRUE(ds.ok()) << ds.error().to_string();
  EXPECT_NEAR(weight_of(*ds, "ca-valencia"), 0.2, 1e-12);
  EXPECT_NEAR(weight_of(*ds, "ca"), 0.3, 1e-12);
  dc.mix = *parse_mix("es=0.5,valencia=0.5");  // a base never matches a variant's suffix
  EXPECT_FALSE(Dataset::open(dc).ok());
}

TEST(Dataset, ErrorsBeforeTraining) {
  test::TempDir dir;
  DataConfig dc;
  dc.dir = dir.file("none");
  auto r = Dataset::open(dc);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::not_found);
  testing::make_shards(dir.file("shards"), dir.path());
  dc.dir = dir.file("shards");
  dc.mix = *parse_mix("es=1,pt=1");
  r = Dataset::open(dc);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'pt'"), std::string::npos);
  EXPECT_FALSE(parse_mix("es=0.3,ca").ok());
  EXPECT_FALSE(parse_mix("es=x").ok());
  EXPECT_FALSE(parse_mix("es=1,es=2").ok());
  // A shard of another tokenizer in the same directory.
  ShardWriter w({"other", 258, "different", -1, -1}, {});
  std::vector<int32_t> t(100, 65);
  w.add("es", t, 100);
  ASSERT_TRUE(w.write(dir.file("shards/zz-other.fts")).ok());
  dc.mix.clear();
  r = Dataset::open(dc);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("zz-other.fts"), std::string::npos) << r.error().to_string();
}

}  // namespace
}  // namespace fragua::train
