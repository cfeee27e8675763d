#include "fragua/base/runtime_options.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace fragua {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

RuntimeOptions runtime_options() {
  RuntimeOptions o;
  o.data_dir = env("FRAGUA_DATA_DIR");
  o.langid_model = env("FRAGUA_LANGID_MODEL");
  o.lambda_json = env("FRAGUA_LAMBDA_JSON");
  o.simd = env("FRAGUA_SIMD");
  o.pack_weights = env("FRAGUA_PACK") != "0";
  std::string t = env("FRAGUA_THREADS");
  int64_t n = 0;  // a count past int's range still means "too many" (capped by the thread pool)
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (!t.empty() && p == t.data() + t.size()) {
    if (ec == std::errc::result_out_of_range && t[0] != '-')
      o.threads = INT32_MAX;
    else if (ec == std::errc() && n > 0)
      o.threads = static_cast<int>(std::min<int64_t>(n, INT32_MAX));
  }
  o.mpi_launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  return o;
}

}  // namespace fragua
