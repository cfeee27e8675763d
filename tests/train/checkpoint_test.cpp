// SPDX-License-Identifier: Apache-2.0
// Checkpoints and shards under a full disk (DESIGN 10): the failed write leaves the previous
// checkpoint named by `latest` intact and loadable, and no partial shard.
#include <filesystem>
#include <functional>

#include "fragua/base/file.h"
#include "fragua/format/safetensors.h"
#include "fragua/train/shard.h"
#include "fragua/train/trainer.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "fixtures.h"

namespace fragua::train {
namespace {

using namespace fragua::train::testing;

using test::FullDiskEnv;



TEST(Checkpoint, FullDiskKeepsThePreviousCheckpoint) {
  test::TempDir dir;
  Model m = small_model(1);
  AdamW opt({}, m.params().size());
  opt.m()[3] = 0.5f;
  opt.set_t(7);
  ASSERT_TRUE(save_checkpoint(dir.path(), 10, m, opt, {{"data", data_state()}}, 2).ok());
  Model later = small_model(2);
  for (size_t budget : {100u, 5000u, 20000u}) {
    FullDiskEnv full(budget);
    auto st = save_checkpoint(dir.path(), 20, later, opt, {{"data", data_state()}}, 2, full);
    ASSERT_FALSE(st.ok()) << budget;
    EXPECT_NE(st.error().message().find("disk full"), std::string::npos);
    auto latest = latest_checkpoint(dir.path());
    ASSERT_TRUE(latest.ok());
    EXPECT_TRUE(latest->ends_with("step-00000010")) << *latest;
  }
  Model back = small_model(3);
  AdamW opt2({}, back.params().size());
  auto state = load_checkpoint(*latest_checkpoint(dir.path()), back, opt2);
  ASSERT_TRUE(state.ok()) << state.error().to_string();
  EXPECT_EQ(state->step, 10);
  EXPECT_EQ(opt2.t(), 7);
  EXPECT_EQ(opt2.m()[3], 0.5f);
  EXPECT_TRUE(std::equal(back.params().begin(), back.params().end(), m.params().begin()));
}

TEST(Checkpoint, DamagedFilesAreNamed) {
  test::TempDir dir;
  Model m = small_model(1);
  AdamW opt({}, m.params().size());
  ASSERT_TRUE(save_checkpoint(dir.path(), 5, m, opt, {{"data", data_state()}}, 2).ok());
  std::string ck = *latest_checkpoint(dir.path());
  std::string bytes = *read_file(ck + "/optimizer.safetensors");
  ASSERT_TRUE(write_file_atomic(ck + "/optimizer.safetensors", bytes.substr(0, bytes.size() / 2)).ok());
  auto st = load_checkpoint(ck, m, opt);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("optimizer.safetensors"), std::string::npos) << st.error().to_string();
  ASSERT_TRUE(write_file_atomic(dir.file("latest"), "../../etc\n").ok());
  EXPECT_FALSE(latest_checkpoint(dir.path()).ok());
}

// Issue 23: each checkpoint file carries checksums (per tensor in the safetensors metadata,
// state.json over its own content); one changed value in any file is an error naming the file
// and, for the tensors, the tensor, instead of a resumed run that later diverges.
TEST(Checkpoint, ChecksumMismatchIsDetectedInEachFile) {
  test::TempDir dir;
  Model m = small_model(1);
  AdamW opt({}, m.params().size());
  for (size_t i = 0; i < opt.m().size(); ++i) opt.m()[i] = 1e-3f * static_cast<float>(i % 7);
  for (size_t i = 0; i < opt.v().size(); ++i) opt.v()[i] = 1e-6f * static_cast<float>(i % 5);
  opt.set_t(5);
  ASSERT_TRUE(save_checkpoint(dir.path(), 5, m, opt, {{"data", data_state()}}, 2).ok());
  const std::string ck = *latest_checkpoint(dir.path());
  auto loads = [&]() {
    Model back = small_model(2);
    AdamW o2({}, back.params().size());
    return load_checkpoint(ck, back, o2);
  };
  ASSERT_TRUE(loads().ok()) << loads().error().to_string();
  // One bit of one float in the middle of the named tensor.
  auto flip = [&](const std::string& file, const std::string& tensor) {
    const std::string path = ck + "/" + file;
    std::string bytes = *read_file(path);
    const std::string good = bytes;
    auto f = format::SafetensorsFile::parse(bytes, path);
    ASSERT_TRUE(f.ok());
    const auto* t = f->find(tensor);
    ASSERT_NE(t, nullptr) << tensor;
    const size_t at = static_cast<size_t>(t->data - reinterpret_cast<const uint8_t*>(bytes.data())) + t->n_bytes / 2;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    ASSERT_TRUE(write_file_atomic(path, bytes).ok());
    auto st = loads();
    ASSERT_FALSE(st.ok()) << file << " " << tensor;
    EXPECT_NE(st.error().message().find(path + ": tensor '" + tensor + "' fails its checksum"), std::string::npos)
        << st.error().message();
    if (file == "model.safetensors") {  // export reads the weights through the same check
      auto exported = load_model_safetensors(path);
      ASSERT_FALSE(exported.ok());
      EXPECT_NE(exported.error().message().find("'" + tensor + "' fails its checksum"), std::string::npos);
    }
    ASSERT_TRUE(write_file_atomic(path, good).ok());
  };
  flip("model.safetensors", "blk.0.attn_k.weight");
  flip("model.safetensors", "output_norm.weight");
  flip("optimizer.safetensors", "m/blk.0.ffn_up.weight");
  flip("optimizer.safetensors", "v/token_embd.weight");
  // A checksum list that no longer parses is damage too.
  {
    const std::string path = ck + "/model.safetensors";
    std::string bytes = *read_file(path);
    const std::string good = bytes;
    const size_t at = bytes.find("fragua.xxh64:\":\"{");
    ASSERT_NE(at, std::string::npos);
    bytes[at + 16] = '[';
    ASSERT_TRUE(write_file_atomic(path, bytes).ok());
    auto st = loads();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("is not a JSON object of checksums"), std::string::npos)
        << st.error().message();
    ASSERT_TRUE(write_file_atomic(path, good).ok());
  }
  // state.json: a loader cursor changed to another valid value passes every field check, so
  // only the checksum sees it.
  const std::string spath = ck + "/state.json";
  const std::string good_state = *read_file(spath);
  nlohmann::json j = nlohmann::json::parse(good_state);
  j["data"]["languages"]["es"]["cursor"] = 33;
  ASSERT_TRUE(write_file_atomic(spath, j.dump(1)).ok());
  auto st = loads();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find(spath + ": fails its checksum"), std::string::npos) << st.error().message();
  // Reformatting is not damage: the checksum is over the content.
  ASSERT_TRUE(write_file_atomic(spath, nlohmann::json::parse(good_state).dump(4)).ok());
  EXPECT_TRUE(loads().ok());
  // A checkpoint written before checksums (no "xxh64" key, no tensor sums) still resumes.
  nlohmann::json old = nlohmann::json::parse(good_state);
  old.erase("xxh64");
  ASSERT_TRUE(write_file_atomic(spath, old.dump()).ok());
  EXPECT_TRUE(loads().ok());
}

TEST(Shard, FullDiskLeavesNoShard) {
  test::TempDir dir;
  ShardWriter w({"byte", 258, "byte-v1", 256, 257}, {});
  std::vector<int32_t> t(5000, 65);
  w.add("es", t, 5000);
  FullDiskEnv full(1000);
  ASSERT_FALSE(w.write(dir.file("s.fts"), full).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("s.fts")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// ---- hardening (issue 12, defects 11 and 12): state.json is validated field by field ------------

struct StateCase {
  const char* what;
  std::function<void(nlohmann::json&)> edit;
  const char* message;  // expected after "<dir>/state.json: "
};

TEST(CheckpointHardening, EveryStateFieldIsValidated) {
  test::TempDir dir;
  Model m = small_model(1);
  AdamW opt({}, m.params().size());
  opt.set_t(5);
  ASSERT_TRUE(
      save_checkpoint(dir.path(), 5, m, opt, {{"data", data_state()}, {"world_size", 1}, {"batch", 2}}, 2).ok());
  const std::string ck = *latest_checkpoint(dir.path());
  const std::string path = ck + "/state.json";
  const nlohmann::json good = nlohmann::json::parse(*read_file(path));
  const std::vector<StateCase> cases = {
      // Issue 11: these raised raw JSON-library exceptions without the file's name.
      {"string step", [](auto& j) { j["step"] = "5"; }, "\"step\": expected an integer, found \"5\""},
      {"string version", [](auto& j) { j["version"] = "1"; }, "\"version\" must be an integer"},
      {"numeric format", [](auto& j) { j["format"] = 3; }, "not a Fragua training state (\"format\" is 3)"},
      {"version 2", [](auto& j) { j["version"] = 2; }, "state version 2 (this Fragua reads 1)"},
      // Issue 12: each was accepted.
      {"negative step", [](auto& j) { j["step"] = -1; }, "\"step\": -1 is outside [0, 1099511627776]"},
      {"huge step", [](auto& j) { j["step"] = int64_t{1} << 50; }, "\"step\": 1125899906842624 is outside"},
      {"float step", [](auto& j) { j["step"] = 6.9e106; }, "\"step\": expected an integer"},
      {"negative adam_t", [](auto& j) { j["adam_t"] = -3; }, "\"adam_t\": -3 is outside"},
      {"batches -1", [](auto& j) { j["data"]["batches"] = -1; },
       "\"data\" \"batches\": -1 is outside [0, 4611686018427387904]"},
      {"all-zero rng",
       [](auto& j) {
         j["data"]["rng"] = {"0", "0", "0", "0"};
       },
       "\"rng\" is all zero"},
      {"negative rng word", [](auto& j) { j["data"]["rng"][2] = "-1"; },
       "\"rng\"[2] is \"-1\", expected a decimal 64-bit word"},
      {"rng word past 2^64", [](auto& j) { j["data"]["rng"][0] = "18446744073709551616"; }, "\"rng\"[0] is"},
      {"numeric rng word", [](auto& j) { j["data"]["rng"][1] = 7; }, "\"rng\"[1] is 7"},
      {"three rng words", [](auto& j) { j["data"]["rng"].erase(3); }, "\"rng\" must hold 4 words"},
      {"negative cursor", [](auto& j) { j["data"]["languages"]["es"]["cursor"] = -5; },
       "languages.es \"cursor\": -5 is outside"},
      {"string epoch", [](auto& j) { j["data"]["languages"]["es"]["epoch"] = "x"; },
       "languages.es \"epoch\": expected an integer"},
      {"world_size 0", [](auto& j) { j["world_size"] = 0; }, "\"world_size\": 0 is outside [1, 1048576]"},
      {"string batch", [](auto& j) { j["batch"] = "2"; }, "\"batch\": expected an integer"},
      {"numeric fingerprint", [](auto& j) { j["tokenizer_fingerprint"] = 12; },
       "\"tokenizer_fingerprint\" is 12, expected a string"},
      {"no data", [](auto& j) { j.erase("data"); }, "\"data\" is missing"},
      {"array state", [](auto& j) { j = nlohmann::json::array({1}); },
       "not a Fragua training state (an array of 1 elements)"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = good;
    c.edit(j);
    ASSERT_TRUE(write_file_atomic(path, j.dump()).ok());
    Model back = small_model(2);
    AdamW o2({}, back.params().size());
    auto st = load_checkpoint(ck, back, o2);
    ASSERT_FALSE(st.ok()) << c.what;
    EXPECT_EQ(st.error().message().rfind(path + ": ", 0), 0u) << c.what << ": " << st.error().message();
    EXPECT_NE(st.error().message().find(c.message), std::string::npos) << c.what << ": " << st.error().message();
  }
  ASSERT_TRUE(write_file_atomic(path, good.dump()).ok());
  Model back = small_model(2);
  AdamW o2({}, back.params().size());
  auto st = load_checkpoint(ck, back, o2);
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(st->step, 5);
  EXPECT_EQ(st->adam_t, 5);
  EXPECT_EQ(o2.t(), 5);
  auto ds = parse_data_state(st->data, "x");
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(ds->rng[3], 4u);
  EXPECT_EQ(ds->languages.at("es").first, 32u);
}

// TrainConfig::merge_json: a wrong type or an out-of-range number is an error naming the key
// (before: a raw JSON exception, or a double such as 1e300 converted to int, undefined behaviour).
TEST(CheckpointHardening, TrainConfigValuesAreTypedAndRanged) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"batch": 1e300})", "train config: 'batch': expected an integer"},
           {R"({"batch": 4294967297})", "train config: 'batch': 4294967297 is outside"},
           {R"({"steps": -1})", "train config: 'steps': -1 is outside"},
           {R"({"lr": 1e300})", "train config: 'lr': 1e+300 does not fit a float"},
           {R"({"lr": "fast"})", "train config: 'lr': expected a number"},
           {R"({"out_dir": 3})", "train config: 'out_dir' must be a string"},
           {R"({"seed": -4})", "train config: 'seed' must be a non-negative integer"},
           {R"({"data": {"seq_len": 1.5}})", "train config: 'data.seq_len': expected an integer"},
           {R"({"data": {"mix": {"es": -1}}})", "'data.mix.es' is negative"},
           {R"({"data": []})", "'data' must be an object"},
           {R"({"model": {"n_embd": 3000000000}})", "model config: 'n_embd': 3000000000 is outside"},
           {R"({"model": {"n_head": 2.5}})", "model config: 'n_head' must be an integer"},
           {R"({"model": {"n_vocab": "x"}})", "'model.n_vocab': expected an integer"},
           {R"({"model": {"rope_base": 1e300}})", "'rope_base': 1e+300 does not fit a float"},
           {R"({"model": 7})", "'model' must be an object"},
       }) {
    TrainConfig cfg;
    auto st = cfg.merge_json(nlohmann::json::parse(c.json));
    ASSERT_FALSE(st.ok()) << c.json;
    EXPECT_NE(st.error().message().find(c.message), std::string::npos) << c.json << ": " << st.error().message();
  }
  TrainConfig cfg;
  ASSERT_TRUE(cfg.merge_json(nlohmann::json::parse(R"({"batch": 4, "lr": 0.001, "data": {"mix": {"es": 1}}})")).ok());
  EXPECT_EQ(cfg.batch, 4);
}

// A 400-byte model.safetensors whose config claims 7.3 billion parameters: before, Model::create
// asked for 2 x 29 GB (ASan: out-of-memory abort; a release build zero-fills it). Now the config
// is checked against the bytes the file's tensors hold first.
TEST(CheckpointHardening, ConfigLargerThanTheFileIsRefusedBeforeAllocating) {
  test::TempDir dir;
  ModelConfig big;
  big.n_vocab = 100000;
  big.n_embd = 4096;
  big.n_layer = 32;
  big.n_head = 32;
  big.n_head_kv = 32;
  big.n_ff = 11008;
  format::SafetensorsWriter w;
  w.set_metadata("format", "fragua.model");
  w.set_metadata("fragua.config", big.to_json().dump());
  float x = 0;
  ASSERT_TRUE(w.add_tensor("token_embd.weight", "F32", {1, 1}, &x, 4).ok());
  ASSERT_TRUE(w.write(dir.file("model.safetensors")).ok());
  auto m = load_model_safetensors(dir.file("model.safetensors"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("describes 7295471616 parameters but the file's tensors hold 4 bytes"),
            std::string::npos)
      << m.error().message();
}

}  // namespace
}  // namespace fragua::train
