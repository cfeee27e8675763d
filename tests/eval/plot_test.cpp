// SPDX-License-Identifier: Apache-2.0
// plot_metrics on a metrics.jsonl it did not write (issue 12, defect 11): records with fields of
// the wrong type are skipped, never a raw JSON-library exception.
#include "fragua/eval/plot.h"

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

TEST(Plot, RecordsOfTheWrongShapeAreSkipped) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("metrics.jsonl"),
                                R"({"type":"train","step":1,"loss":3.5,"lr":0.001,"grad_norm":1.2})"
                                "\n"
                                R"({"type":7,"step":2,"loss":3.0})"
                                "\n"
                                R"({"type":"val","step":2,"val_loss":5,"val_bpb":[1,2]})"
                                "\n"
                                R"({"type":"val","step":"3","val_bpb":{"es":1.5}})"
                                "\n"
                                R"({"type":"val","step":4,"val_bpb":{"es":1.4,"<b>":"x"}})"
                                "\n")
                  .ok());
  auto st = plot_metrics(dir.file("metrics.jsonl"), dir.file("p.svg"));
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  const std::string svg = *read_file(dir.file("p.svg"));
  EXPECT_NE(svg.find(">es<"), std::string::npos);
  EXPECT_EQ(svg.find("<b>"), std::string::npos);
}

}  // namespace
}  // namespace fragua::eval
