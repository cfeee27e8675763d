// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/runtime_options.h"

#include <algorithm>
#include <cctype>
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
  const std::string chunk = env("FRAGUA_SSM_CHUNK");
  int chunk_n = 0;
  if (auto [cp, cec] = std::from_chars(chunk.data(), chunk.data() + chunk.size(), chunk_n);
      cec == std::errc() && cp == chunk.data() + chunk.size() && chunk_n > 0)
    o.ssm_chunk = std::min(chunk_n, 4096);
  o.hf_endpoint = env("HF_ENDPOINT");
  while (o.hf_endpoint.ends_with('/')) o.hf_endpoint.pop_back();
  o.hf_token = env("HF_TOKEN");
  if (std::string c = env("HF_HUB_CACHE"); !c.empty())
    o.hf_hub_cache = c;
  else if (std::string h = env("HF_HOME"); !h.empty())
    o.hf_hub_cache = h + "/hub";
  else if (std::string x = env("XDG_CACHE_HOME"); !x.empty())
    o.hf_hub_cache = x + "/huggingface/hub";
  else if (std::string home = env("HOME"); !home.empty())
    o.hf_hub_cache = home + "/.cache/huggingface/hub";
  // huggingface_hub's truthy values (constants._is_true): "1", "ON", "YES", "TRUE", any case.
  std::string off = env("HF_HUB_OFFLINE");
  std::transform(off.begin(), off.end(), off.begin(), [](unsigned char c) { return std::tolower(c); });
  o.hf_hub_offline = off == "1" || off == "on" || off == "yes" || off == "true";
  o.mpi_launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
  return o;
}

std::string named_env_value(std::string_view name) { return env(std::string(name).c_str()); }

}  // namespace fragua
