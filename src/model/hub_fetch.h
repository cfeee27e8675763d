// SPDX-License-Identifier: Apache-2.0
// One blob of the hub cache fetched into place: ranges in parallel, resume, retries, sha256.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/base/sha256.h"
#include "fragua/model/hub.h"

namespace fragua::model::detail {

struct BlobFetch {
  std::string url;  // the /resolve/ URL (redirects to a CDN are followed there)
  std::vector<std::pair<std::string, std::string>> headers;  // Authorization, when a token is set
  std::string blob_path;                                     // <repo>/blobs/<etag>; written only complete and verified
  int64_t size = -1;                                         // expected bytes, -1 unknown (then one sequential range)
  std::string sha256;                                        // expected lowercase hex, "" for none
  std::string display;                                       // "org/name/file" for messages and the progress bar
};

// Fetches into blob_path + ".incomplete" (and ".incomplete.<offset>" for further ranges),
// resuming what an earlier run left there, then checks size and sha256 and renames into place.
// A checksum mismatch removes the partial files. Returns the bytes transferred.
Result<uint64_t> fetch_blob(const BlobFetch& fetch, const HubOptions& options, Env& env);

// The 64 lowercase hex digits of the SHA-256 of the file at `path` (base/sha256.h).
using fragua::sha256_file;

// The error for a 401/403 answer: the repository is gated or private, and how to pass a token.
Error gated_error(const std::string& what, int status, bool had_token);

}  // namespace fragua::model::detail
