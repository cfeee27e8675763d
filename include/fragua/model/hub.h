// SPDX-License-Identifier: Apache-2.0
// Models from the Hugging Face hub or a mirror of it, kept in a cache laid out as Python's
// huggingface_hub lays it out (https://huggingface.co/docs/huggingface_hub/guides/manage-cache),
// so that files either of them downloaded serve both:
//
//   <cache>/models--org--name/blobs/<etag>                 the file's bytes (etag: the LFS sha256
//                                                           or the git blob id the hub sends)
//   <cache>/models--org--name/snapshots/<commit>/<file>    a relative symlink to the blob
//   <cache>/models--org--name/refs/<revision>              the commit a branch or tag pointed to
//
// A blob appears only complete and verified (LFS files against their sha256); bytes in flight
// live in blobs/<etag>.incomplete (and blobs/<etag>.incomplete.<offset> for the further ranges of
// a parallel download), which the next pull resumes with HTTP Range requests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::model {

struct HubOptions {
  std::string endpoint;           // "": HF_ENDPOINT, else https://huggingface.co
  std::string token;              // "": HF_TOKEN (sent as "Authorization: Bearer <token>")
  std::string revision = "main";  // a branch, a tag or a commit
  std::string cache_dir;          // "": the runtime default (HF_HUB_CACHE, HF_HOME/hub, ~/.cache/...)
  bool offline = false;           // or HF_HUB_OFFLINE: resolve from the cache only
  // Files of at least parallel_min_bytes are fetched as `connections` ranges at once.
  int connections = 4;
  uint64_t parallel_min_bytes = uint64_t{64} << 20;
  int retries = 5;       // per range, after a cut connection or a 5xx; each resumes where it stopped
  int backoff_ms = 500;  // before retry k: backoff_ms * 2^k, capped at 30 s
  bool progress = true;  // a progress bar per file on stderr
  Env* env = nullptr;    // nullptr: Env::posix()
};

// One file of a repository as the hub's API lists it.
struct HubFile {
  std::string name;    // path inside the repository ("rfilename")
  int64_t size = -1;   // bytes; -1 when the listing does not say
  std::string sha256;  // lowercase hex of an LFS file; "" for a file kept in git itself
};

struct HubListing {
  std::string commit;  // the 40-hex commit the revision resolved to
  std::vector<HubFile> files;
};

// Parses the answer of GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true:
// {"sha": "<commit>", "siblings": [{"rfilename": "a.gguf", "size": 123, "lfs": {"sha256": "..",
// "size": 123}}, ...]}. File names that would leave the snapshot folder (absolute, "..", empty
// components, backslashes, control characters) are rejected, as are malformed fields; errors name
// `origin` and the sibling's index.
Result<HubListing> parse_hub_listing(std::string_view json, std::string_view origin);

// Shell-style glob as huggingface_hub's allow_patterns (fnmatch): '*' and '?' match any
// character, '/' included; [...] classes.
bool hub_glob_match(std::string_view pattern, std::string_view name);

// "org/name" with the hub's characters ([A-Za-z0-9._-], no "--" or ".." and no leading or
// trailing '-' or '.') in each half, optionally followed by ":FILE". Without ":FILE" a name ending
// in ".gguf" is taken for a file path ("models/x.gguf" that does not exist), never a repository.
bool is_hub_model_spec(std::string_view spec);

// The cache folder of `repo` ("<cache>/models--org--name").
std::string hub_repo_dir(const std::string& cache_dir, const std::string& repo);

// The listing of `repo` at options.revision: from the hub's API, or offline from the snapshot
// the cache holds for that revision (sizes and hashes unknown then).
Result<HubListing> hub_list(const std::string& repo, const HubOptions& options = {});

struct PullResult {
  std::string snapshot_dir;        // <cache>/models--org--name/snapshots/<commit>
  std::vector<std::string> paths;  // the local paths of the files, in the order given
  uint64_t bytes_downloaded = 0;   // 0 when the cache had everything
};

// Brings `files` (names from `listing`) into the cache and returns their snapshot paths. Files
// already in the snapshot cost no request; blobs already present (another revision, Python's
// huggingface_hub) are linked without downloading. Offline: only what the cache holds.
Result<PullResult> hub_download(const std::string& repo, const HubListing& listing,
                                const std::vector<std::string>& files, const HubOptions& options = {});

// The names in `listing` that match any of `patterns` (all of them when empty), in the listing's
// order. A pattern that matches nothing is a not_found error listing what the repository has.
// A part of a split GGUF (gguf-split's NAME-00001-of-0000N.gguf, format/gguf.h) brings all N
// parts; one missing from the listing is a not_found error naming it.
Result<std::vector<std::string>> select_hub_files(const std::string& repo, const HubListing& listing,
                                                  const std::vector<std::string>& patterns);

// hub_list, the files matching any of `patterns` (all of them when empty), hub_download.
// Patterns that match nothing are an error listing what the repository has.
Result<PullResult> hub_pull(const std::string& repo, const std::vector<std::string>& patterns,
                            const HubOptions& options = {});

// "org/name[:FILE]" to the local path of one GGUF file, pulled on first use: FILE (a name or a
// glob matching exactly one file) or, without it, the repository's only .gguf file; several are
// an error listing them. The parts of one split GGUF count as one file: every part is pulled and
// the path of the first (which GgufFile::open reads the others from) is returned.
Result<std::string> resolve_hub_model(std::string_view spec, const HubOptions& options = {});

}  // namespace fragua::model
