// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/progress.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

namespace fragua {
namespace {

TEST(Progress, RatesReadWellAtEveryScale) {
  EXPECT_EQ(format_rate(0.25, "step"), "4.0 s/step");
  EXPECT_EQ(format_rate(2.5, "step"), "2.5 step/s");
  EXPECT_EQ(format_rate(450, "tok"), "450 tok/s");
  EXPECT_EQ(format_rate(12345, "tok"), "12.3k tok/s");
  EXPECT_EQ(format_rate(0, "step"), "0.0 step/s");
  EXPECT_EQ(format_rate(1.5e6, "B"), "1.5 MB/s");
  EXPECT_EQ(format_rate(0.5, "files"), "2.0 s/file");  // not "s/files"
  EXPECT_EQ(format_rate(2.5, "files"), "2.5 files/s");
}

// Off a terminal (the test's stderr), a bar that completes prints its final state once.
TEST(Progress, FinalLinePrintedOnceOffATerminal) {
  if (::isatty(STDERR_FILENO)) GTEST_SKIP() << "stderr is a terminal";
  ProgressBar::set_enabled(true);  // test_main turns bars off
  testing::internal::CaptureStderr();
  {
    ProgressBar bar("files", 2, "files");
    bar.add(1);
    // Past the 5 s interval between lines off a terminal, so that the next add may draw.
    std::this_thread::sleep_for(std::chrono::milliseconds(5100));
    bar.add(1);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  ProgressBar::set_enabled(false);
  size_t n = 0;
  for (size_t pos = 0; (pos = err.find("100%", pos)) != std::string::npos; ++pos) ++n;
  EXPECT_EQ(n, 1u) << err;
}

TEST(Progress, BytesAndDurations) {
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(1.5e6), "1.5 MB");
  EXPECT_EQ(format_duration(12), "12s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}

}  // namespace
}  // namespace fragua
