// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/sha256.h"

#include <openssl/evp.h>

#include <memory>

#include <fmt/format.h>

#include "fragua/base/file.h"

namespace fragua {
namespace {

bool digest(std::string_view bytes, std::string* hex) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), out, &n) != 1)
    return false;
  hex->clear();
  for (unsigned int i = 0; i < n; ++i) *hex += fmt::format("{:02x}", out[i]);
  return true;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  std::string hex;
  if (!digest(bytes, &hex)) hex.clear();
  return hex;
}

Result<std::string> sha256_file(const std::string& path) {
  auto m = FRAGUA_TRY(MappedFile::open(path));
  std::string hex;
  if (!digest(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()), &hex))
    return io_error("{}: SHA-256 failed (libcrypto)", path);
  return hex;
}

}  // namespace fragua
