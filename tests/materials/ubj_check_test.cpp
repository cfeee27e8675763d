#include "materials/ubj_check.h"

#include <gtest/gtest.h>

#include "fragua/materials/model.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

TEST(HardeningUbj, StructureIsCheckedBeforeXgboostSeesIt) {
  // {"name": "reg", "v": [$d#i2 1.0f 2.0f]}
  std::string ok = "{L" + be64(4) + "nameSi\x03reg" + "i\x01v[$d#i\x02" + std::string(8, '\0') + "}";
  EXPECT_TRUE(check_ubjson(ok, "m").ok()) << check_ubjson(ok, "m").error().to_string();
  struct Case {
    std::string data, msg;
  };
  for (const auto& c : std::vector<Case>{
           {"{L" + be64(4) + "nameSL" + be64(uint64_t{1} << 46) + "x}",
            "m: byte offset 24: a length runs past the end"},
           {"[#L" + be64(uint64_t{1} << 40) + "i\x01", "a count of 1099511627776 is more than"},
           {"[$D#i\x02" + std::string(8, '\0'), "a typed array runs past the end"},
           {"SL" + be64(~uint64_t{0}), "negative length"},
           {std::string(100, '[') + std::string(100, ']'), "nested deeper than 64 levels"},
           {"{i\x01"
            "aQ}",
            "unknown UBJSON marker 0x51"},
           {"[i\x01", "an unterminated container"},
           {"Z", ""},
           {"Zjunk", "bytes after the end"},
       }) {
    auto st = check_ubjson(c.data, "m");
    if (c.msg.empty()) {
      EXPECT_TRUE(st.ok());
      continue;
    }
    ASSERT_FALSE(st.ok()) << c.msg;
    EXPECT_NE(st.error().message().find(c.msg), std::string::npos) << st.error().message();
  }
}

// The fuzz finding: a model member whose UBJSON string length is 2^46 crashed inside libxgboost.
TEST(HardeningUbj, ModelWithALyingMemberIsAnError) {
  for (const char* seed : {"regress-ubj-string-length", "regress-float-count.model"}) {
    auto m = Model::load(test::source_dir() + "/fuzz/corpus/materials_xgb_model_fuzz/" + seed);
    ASSERT_FALSE(m.ok()) << seed;
    EXPECT_EQ(m.error().code(), ErrorCode::corruption) << m.error().to_string();
    EXPECT_NE(m.error().message().find(seed), std::string::npos) << m.error().message();
  }
}

}  // namespace
}  // namespace fragua::materials
