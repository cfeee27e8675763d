// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/dataset.h"

#include <bzlib.h>

#include "golden.h"

namespace fragua::materials {
namespace {

using testing::table;

const char* kJson = R"({"index": ["mb-1", "mb-2", "mb-3"], "columns": ["composition", "gap expt"],
  "data": [["GaAs", 1.42], ["Ag(W3Br7)2", 1.94], ["Cu", 0.0]]})";

using test::gzip;

std::string bzip(const std::string& s) {
  std::string out(s.size() * 2 + 600, '\0');
  unsigned len = static_cast<unsigned>(out.size());
  BZ2_bzBuffToBuffCompress(out.data(), &len, const_cast<char*>(s.data()), static_cast<unsigned>(s.size()), 9, 0, 0);
  out.resize(len);
  return out;
}

TEST(Dataset, ReadsMatbenchJsonPlainGzipBzip2) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("a.json"), kJson).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("a.json.gz"), gzip(kJson)).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("a.json.bz2"), bzip(kJson)).ok());
  for (const char* f : {"a.json", "a.json.gz", "a.json.bz2"}) {
    auto d = read_dataset(dir.file(f), table());
    ASSERT_TRUE(d.ok()) << f << ": " << d.error().to_string();
    ASSERT_EQ(d->size(), 3u);
    EXPECT_EQ(d->ids[1], "mb-2");
    EXPECT_EQ(d->target_name, "gap expt");
    EXPECT_DOUBLE_EQ(d->y[1], 1.94);
    EXPECT_EQ(d->comps[1].amount(74), 6);
  }
  std::string gz = gzip(kJson);
  ASSERT_TRUE(write_file_atomic(dir.file("t.json.gz"), gz.substr(0, gz.size() / 2)).ok());
  auto bad = read_dataset(dir.file("t.json.gz"), table());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("t.json.gz: compressed offset"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("gzip data truncated"), std::string::npos) << bad.error().message();
  std::string bz = bzip(kJson);
  ASSERT_TRUE(write_file_atomic(dir.file("t.json.bz2"), bz.substr(0, bz.size() / 2)).ok());
  EXPECT_FALSE(read_dataset(dir.file("t.json.bz2"), table()).ok());
}

TEST(Dataset, MatbenchBooleanTargets) {
  auto d = parse_matbench_json(R"({"columns":["composition","is_metal"],"data":[["Cu",true],["NaCl",false]]})",
                               "m.json", table());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->y, (std::vector<double>{1, 0}));
  auto bad = parse_matbench_json(R"({"columns":["composition","g"],"data":[["Cu",1],["NaXq",2]]})", "m.json", table());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("m.json: data[1]"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("unknown element 'Xq' at column 3"), std::string::npos);
  EXPECT_FALSE(parse_matbench_json("{\"columns\": [", "m.json", table()).ok());
}

TEST(Dataset, CsvErrorsNameLineAndColumn) {
  std::string ok = "mbid,composition,gap_expt_eV\nmb-1,GaAs,1.42\nmb-2,ZnO,3.3\n";
  auto d = parse_dataset_csv(ok, "d.csv", table());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ids[1], "mb-2");
  EXPECT_EQ(d->target_name, "gap_expt_eV");
  struct Case {
    std::string text, msg;
  };
  for (auto& c : std::vector<Case>{
           {"mbid,composition,gap\nmb-1,GaAs,\n", "d.csv:2:11: column 'gap' is empty"},
           {"mbid,composition,gap\nmb-1,GaAs,1.4\nmb-2,ZnO,abc\n", "d.csv:3:10: column 'gap': 'abc' is not a number"},
           {"mbid,composition,gap\nmb-1,Ga2Qq,1\n", "d.csv:2:6: formula 'Ga2Qq': unknown element 'Qq' at column 4"},
           {"mbid,formulaX,gap\n", "no formula column"},
       }) {
    auto r = parse_dataset_csv(c.text, "d.csv", table());
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().to_string().find(c.msg), std::string::npos) << r.error().to_string();
  }
}

TEST(Dataset, SharedDevelopmentDataLoads) {
  FRAGUA_REQUIRE_SHARED(path, "data/materials/matbench_expt_gap_train80.csv");
  auto d = read_dataset(path, table());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->size(), 3683u);
}

TEST(Dataset, WriteRoundTrips) {
  test::TempDir dir;
  auto d = *parse_dataset_csv("id,composition,y\na,GaAs,1.5\n\"b,c\",ZnO,3\n", "x.csv", table());
  ASSERT_TRUE(write_dataset_csv(dir.file("o.csv"), d, "fragua test").ok());
  auto back = read_dataset(dir.file("o.csv"), table());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->ids, d.ids);
  EXPECT_EQ(back->y, d.y);
}

// Issue 12, defect 17: ids are written with OWASP's formula neutralisation.
TEST(HardeningDataset, WrittenIdsCannotBeFormulas) {
  test::TempDir dir;
  auto d = *parse_dataset_csv("id,composition,y\n=HYPERLINK(\"http://evil\"),GaAs,1.5\n@x,ZnO,-3\n", "x.csv", table());
  ASSERT_TRUE(write_dataset_csv(dir.file("o.csv"), d, "fragua test\n=evil()").ok());
  std::string text = *read_file(dir.file("o.csv"));
  EXPECT_NE(text.find("\n\"'=HYPERLINK(\"\"http://evil\"\")\",GaAs,1.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n'@x,ZnO,-3\n"), std::string::npos) << text;  // the number stays a number
  EXPECT_EQ(text.find("\n=evil"), std::string::npos) << text;         // the comment stays one line
}

// Issue 12, defect 10: the first bad row is reported without materialising the whole file.
TEST(HardeningDataset, CsvIsCheckedRowByRow) {
  std::string text = "composition,gap\nXq2,1\n";
  for (int i = 0; i < 200000; ++i) text += "H,1\n";
  auto r = parse_dataset_csv(text, "big.csv", table());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("big.csv:2:1: formula 'Xq2'"), std::string::npos) << r.error().message();
  // A Matbench index entry that is not a string or number is an error, not a dump of it.
  auto j = parse_matbench_json(R"({"index": [[1,2,3]], "columns": ["composition","g"], "data": [["Cu",1]]})", "m.json",
                               table());
  ASSERT_FALSE(j.ok());
  EXPECT_NE(j.error().message().find("m.json: index[0] is an array of 3 elements"), std::string::npos)
      << j.error().message();
}

// Issue 12, defect 4: a gzip bomb is stopped by the ratio cap long before the 1 GiB limit.
TEST(HardeningDataset, CompressedBombIsRefused) {
  test::TempDir dir;
  std::string member = test::gzip(std::string(size_t{64} << 20, 'H'));
  std::string bomb = test::gzip("composition,gap\n");
  for (int i = 0; i < 16; ++i) bomb += member;  // 1 GiB from about 1 MB
  ASSERT_TRUE(write_file_atomic(dir.file("bomb.csv.gz"), bomb).ok());
  auto r = read_dataset(dir.file("bomb.csv.gz"), table());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::resource_exhausted);
  EXPECT_NE(r.error().message().find("bomb.csv.gz: compressed offset"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace fragua::materials

namespace fragua::materials {
namespace {

TEST(Dataset, HeaderOnlyCsvNamesTheFile) {
  auto d = parse_dataset_csv("composition,gap\n", "cands.csv", testing::table());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().to_string().find("cands.csv"), std::string::npos) << d.error().to_string();
  EXPECT_NE(d.error().to_string().find("no data rows"), std::string::npos) << d.error().to_string();
}

TEST(Dataset, SkipInvalidLeavesOutBadRowsWithTheirLines) {
  DatasetOptions o;
  o.ignore_target = true;
  o.require_target = false;
  const std::string text = "composition\nGaAs\nGa2Zz\nZnS\nCu(SO4\n";
  EXPECT_FALSE(parse_dataset_csv(text, "c.csv", testing::table(), o).ok());
  o.skip_invalid = true;
  auto d = parse_dataset_csv(text, "c.csv", testing::table(), o);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->formulas, (std::vector<std::string>{"GaAs", "ZnS"}));
  EXPECT_EQ(d->where(1), "c.csv:4");
  ASSERT_EQ(d->skipped.size(), 2u);
  EXPECT_EQ(d->skipped[0].rfind("c.csv:3:1: ", 0), 0u) << d->skipped[0];
  EXPECT_NE(d->skipped[0].find("'Zz'"), std::string::npos) << d->skipped[0];
  EXPECT_EQ(d->skipped[1].rfind("c.csv:5:1: ", 0), 0u) << d->skipped[1];
  auto none = parse_dataset_csv("composition\nZz\n", "c.csv", testing::table(), o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().to_string().find("(1 invalid rows skipped)"), std::string::npos);
}

TEST(Dataset, BadClassificationLabelNamesItsLine) {
  auto d = parse_dataset_csv("# provenance\ncomposition,is_metal\nCu,1\nGaAs,0\nZnS,2\n", "metal.csv",
                             testing::table());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->where(0), "metal.csv:3");
  auto st = check_binary_labels(*d);
  ASSERT_FALSE(st.ok());
  const std::string m = st.error().to_string();
  EXPECT_NE(m.find("metal.csv:5"), std::string::npos) << m;
  EXPECT_NE(m.find("'ZnS'"), std::string::npos) << m;
  EXPECT_NE(m.find("got 2"), std::string::npos) << m;
  d->y[2] = 1;
  EXPECT_TRUE(check_binary_labels(*d).ok());
}

}  // namespace
}  // namespace fragua::materials
