// The corpus subcommands end to end through the `fragua` binary.
#include <gtest/gtest.h>

#include "test_util.h"

using fragua::test::cli_path;
using fragua::test::run_command;

TEST(CorpusCli, PiiFromStdin) {
  std::string out;
  ASSERT_EQ(run_command("printf 'DNI 12345678Z y 12345678A, ana@x.es' | " + cli_path() + " corpus pii", &out), 0);
  EXPECT_EQ(out, "DNI <DNI> y 12345678A, <EMAIL>");
}

TEST(CorpusCli, LangidFromStdin) {
  std::string out;
  ASSERT_EQ(run_command("printf 'Kaixo, zer moduz zaude gaur? Ondo nago, eskerrik asko.' | " + cli_path() +
                            " corpus langid --json",
                        &out),
            0)
      << out;
  EXPECT_NE(out.find("\"lang\":\"eu\""), std::string::npos) << out;
  ASSERT_EQ(run_command("printf 'Bon dia a tothom.\\nBuenos días a todos los presentes.' | " + cli_path() +
                            " corpus langid --sentences",
                        &out),
            0);
  EXPECT_NE(out.find("ca\t"), std::string::npos) << out;
  EXPECT_NE(out.find("es\t"), std::string::npos) << out;
}

TEST(CorpusCli, BadModelFailsCleanly) {
  std::string out;
  int rc = run_command("echo hola | " + cli_path() + " corpus langid --model /nonexistent/model.bin", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("/nonexistent/model.bin"), std::string::npos) << out;
}
