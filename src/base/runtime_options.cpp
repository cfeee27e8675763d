#include "fragua/base/runtime_options.h"

#include <charconv>
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
  int n = 0;
  if (auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), n); ec == std::errc() && n > 0) o.threads = n;
  o.mpi_launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  return o;
}

}  // namespace fragua
