// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/csv_writer.h"

#include <gtest/gtest.h>

#include "fragua/materials/csv_reader.h"

namespace fragua::materials {
namespace {

// OWASP "CSV Injection": a cell a spreadsheet would run as a formula gets a leading quote.
TEST(HardeningCsvWriter, TextCellsCannotStartAFormula) {
  EXPECT_EQ(csv_text("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(csv_text("+1"), "'+1");
  EXPECT_EQ(csv_text("-2+3"), "'-2+3");
  EXPECT_EQ(csv_text("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_text("\tx"), "'\tx");
  EXPECT_EQ(csv_text("\rx"), "\"'\rx\"");
  EXPECT_EQ(csv_text("mp-1234"), "mp-1234");  // only the first character matters
  EXPECT_EQ(csv_text("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_text(""), "");
}

TEST(HardeningCsvWriter, ValuesStayNumbersAndCommentsStayOneLine) {
  CsvWriter w;
  w.comment("made by\nfragua\r\n=x");
  w.value("id").text("gap").end_row();
  w.text("=1+1").num(-1.5).end_row();
  EXPECT_EQ(w.str(), "# made by fragua  =x\nid,gap\n'=1+1,-1.5\n");
  // What the writer wrote reads back as the same cells.
  auto t = parse_csv(w.str(), "w.csv");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  ASSERT_EQ(t->rows.size(), 1u);
  EXPECT_EQ(t->rows[0][0].text, "'=1+1");
  EXPECT_EQ(*t->number(t->rows[0][1], "gap"), -1.5);
}

}  // namespace
}  // namespace fragua::materials
