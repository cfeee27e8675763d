// SPDX-License-Identifier: Apache-2.0
// `fragua export --outtype`: a trained checkpoint written straight to a quantized GGUF with the
// engine's own quantizers, carrying the model-card keys (general.name, basename, size_label,
// license, languages) that other tools show.
#include <filesystem>

#include "fragua/format/gguf.h"
#include "fragua/format/model_card.h"
#include "fragua/train/model.h"
#include "test_util.h"
#include "train/checkpoint.h"

namespace fragua::train {
namespace {

std::string tiny_checkpoint(const test::TempDir& dir) {
  ModelConfig c;
  c.n_vocab = 258;  // the byte tokenizer's
  c.n_ctx_train = 64;
  c.n_embd = 64;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_head_kv = 2;
  auto m = Model::create(c);
  EXPECT_TRUE(m.ok());
  m->init_random(3);
  EXPECT_TRUE(save_model_safetensors(*m, dir.file("model.safetensors"), {}).ok());
  return dir.file("model.safetensors");
}

TEST(ExportOuttype, QuantizesWithTheEngineAndWritesTheModelCard) {
  test::TempDir dir;
  const std::string ck = tiny_checkpoint(dir);
  const std::string cli = test::cli_path() + " -q export " + ck + " --tokenizer byte -t 1 -o ";
  std::string out;
  ASSERT_EQ(test::run_command(cli + dir.file("f32.gguf"), &out), 0) << out;
  ASSERT_EQ(test::run_command(cli + dir.file("q8.gguf") + " --outtype q8_0", &out), 0) << out;
  ASSERT_EQ(test::run_command(cli + dir.file("q4.gguf") + " --outtype q4_0 --name demo --license mit", &out), 0)
      << out;
  auto f32 = format::GgufFile::open(dir.file("f32.gguf"));
  auto q8 = format::GgufFile::open(dir.file("q8.gguf"));
  auto q4 = format::GgufFile::open(dir.file("q4.gguf"));
  ASSERT_TRUE(f32.ok() && q8.ok() && q4.ok());
  EXPECT_EQ(*f32->get_uint("general.file_type"), 0u);
  EXPECT_EQ(*q8->get_uint("general.file_type"), 7u);  // llama_ftype MOSTLY_Q8_0
  EXPECT_EQ(*q4->get_uint("general.file_type"), 2u);  // MOSTLY_Q4_0
  EXPECT_EQ(q8->find_tensor("blk.0.attn_q.weight")->dtype, DType::q8_0);
  EXPECT_EQ(q4->find_tensor("blk.0.ffn_up.weight")->dtype, DType::q4_0);
  EXPECT_EQ(q8->find_tensor("blk.0.attn_norm.weight")->dtype, DType::f32);  // norms stay f32
  // The model card, copied by the quantizer.
  for (const auto* f : {&*f32, &*q8}) {
    EXPECT_EQ(*f->get_string("general.basename"), "fragua");
    EXPECT_EQ(*f->get_string("general.license"), "apache-2.0");
    EXPECT_EQ(**f->get_strings("general.languages"), (std::vector<std::string>{"es", "ca", "eu", "gl"}));
    EXPECT_FALSE(f->get_string("general.size_label")->empty());
  }
  EXPECT_EQ(*q4->get_string("general.name"), "demo");
  EXPECT_EQ(*q4->get_string("general.license"), "mit");
  // No temporary F32 file is left beside the output, and the quantized model runs.
  EXPECT_FALSE(std::filesystem::exists(dir.file("q8.gguf.f32.tmp")));
  ASSERT_EQ(test::run_command(test::cli_path() + " generate " + dir.file("q8.gguf") + " -p hola -n 4 --temp 0 -t 1",
                              &out),
            0)
      << out;
  // A misspelt type is refused before any work, naming the known ones; nothing is written.
  EXPECT_NE(test::run_command(cli + dir.file("bad.gguf") + " --outtype q9_9", &out), 0);
  EXPECT_NE(out.find("q9_9"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.gguf")));
}

TEST(ModelCard, SizeLabelAsGgufPyWritesIt) {
  // gguf-py's model_weight_count_rounded_notation(n, min_digits=2).
  EXPECT_EQ(format::size_label(164160), "164K");
  EXPECT_EQ(format::size_label(25'000'000), "25M");
  EXPECT_EQ(format::size_label(1'100'000'000), "1.1B");
  EXPECT_EQ(format::size_label(8'030'000'000), "8.0B");
  EXPECT_EQ(format::size_label(135'000'000), "135M");
  EXPECT_EQ(format::size_label(1'500'000), "1.5M");
}

}  // namespace
}  // namespace fragua::train
