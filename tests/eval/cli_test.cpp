// `fragua eval bpb` end to end: the figures it prints and writes are the library's.
#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/eval/bits_per_byte.h"
#include "fragua/model/loaded_model.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

TEST(EvalCli, BitsPerByteMatchesTheLibrary) {
  test::TempDir dir;
  ASSERT_TRUE(model::write_random_model(model::tiny_model_spec(), dir.file("m.gguf")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("held.jsonl"),
                                "{\"text\": \"Una frase en castellano para medir.\", \"lang\": \"es\"}\n"
                                "{\"text\": \"A sentence in English to measure.\", \"lang\": \"en\"}\n"
                                "\n"
                                "{\"text\": \"Otra frase, más larga que la primera.\", \"lang\": \"es\"}\n")
                  .ok());
  ASSERT_TRUE(write_file_atomic(dir.file("plain.txt"), "Texto sin etiqueta.").ok());
  std::string out;
  const std::string cmd = test::cli_path() + " -q eval bpb " + dir.file("m.gguf") + " " + dir.file("held.jsonl") + " " +
                          dir.file("plain.txt") + " --lang gl -c 8 -t 1 --json " + dir.file("bpb.json");
  ASSERT_EQ(test::run_command(cmd, &out), 0) << out;
  EXPECT_NE(out.find("| es | 2 |"), std::string::npos) << out;
  EXPECT_NE(out.find("| gl | 1 |"), std::string::npos) << out;
  const auto j = nlohmann::json::parse(*read_file(dir.file("bpb.json")));

  auto m = model::open_model(dir.file("m.gguf"), {.context = {.n_ctx = 8, .n_threads = 1}});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto want = bits_per_byte(*m->context, *m->tokenizer,
                            {{"es", {"Una frase en castellano para medir.", "Otra frase, más larga que la primera."}},
                             {"en", {"A sentence in English to measure."}},
                             {"gl", {"Texto sin etiqueta."}}});
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(j["val_bpb"].size(), 3u) << j.dump();
  for (const auto& [lang, l] : *want) {
    EXPECT_EQ(j["languages"][lang]["tokens"].get<uint64_t>(), l.tokens) << lang;
    EXPECT_EQ(j["languages"][lang]["bytes"].get<uint64_t>(), l.bytes) << lang;
    EXPECT_DOUBLE_EQ(j["val_bpb"][lang].get<double>(), l.bits_per_byte()) << lang;
  }
  EXPECT_EQ(j["n_ctx"], 8);

  // A malformed line is named by file and line; nothing is written.
  ASSERT_TRUE(write_file_atomic(dir.file("bad.jsonl"), "{\"text\": \"ok\"}\n{\"lang\": \"es\"}\n").ok());
  ASSERT_NE(test::run_command(test::cli_path() + " -q eval bpb " + dir.file("m.gguf") + " " + dir.file("bad.jsonl") +
                                  " --json " + dir.file("bad.json"),
                              &out),
            0);
  EXPECT_NE(out.find(dir.file("bad.jsonl") + ":2: expected an object with a string \"text\""), std::string::npos)
      << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("bad.json")));
}

}  // namespace
}  // namespace fragua::eval
