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
  EXPECT_NE(bad.error().message().find("gzip data corrupt"), std::string::npos) << bad.error().message();
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
  struct Case { std::string text, msg; };
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

}  // namespace
}  // namespace fragua::materials
