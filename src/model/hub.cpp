// SPDX-License-Identifier: Apache-2.0
// The hub's listing, the cache layout shared with huggingface_hub, and "org/name[:FILE]" specs.
// The API and headers followed are those of huggingface_hub's file_download.py: the listing from
// GET /api/models/{repo}/revision/{rev}?blobs=true, then per file HEAD /{repo}/resolve/{commit}/
// {file} without following redirects, whose X-Linked-Etag (LFS files: their sha256) or ETag names
// the blob and X-Linked-Size or Content-Length gives its size.
#include "fragua/model/hub.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "fragua/base/http.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/runtime_options.h"
#include "fragua/format/gguf.h"
#include "model/hub_fetch.h"

namespace fragua::model {
namespace {

constexpr std::string_view kDefaultEndpoint = "https://huggingface.co";

bool is_hex(std::string_view s, size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// One component of a hub repository id (huggingface_hub's validate_repo_id).
bool valid_id_part(std::string_view s) {
  if (s.empty() || s.size() > 96) return false;
  if (s.front() == '-' || s.front() == '.' || s.back() == '-' || s.back() == '.') return false;
  if (s.find("--") != std::string_view::npos || s.find("..") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

bool valid_repo_id(std::string_view repo) {
  const size_t slash = repo.find('/');
  if (slash == std::string_view::npos) return valid_id_part(repo);
  return valid_id_part(repo.substr(0, slash)) && valid_id_part(repo.substr(slash + 1));
}

// A relative path that stays below the folder it is joined to: a file name from a listing or a
// revision name becomes a path in the cache, and a hostile mirror must not reach outside it.
bool safe_relative_path(std::string_view p) {
  if (p.empty() || p.size() > 1024 || p.front() == '/' || p.back() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    const std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return std::none_of(p.begin(), p.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\'; });
}

// ETag or X-Linked-Etag as a blob name: W/ and quotes removed (huggingface_hub's _normalize_etag);
// anything but [0-9A-Za-z_-] is refused, since it becomes a file name in blobs/.
Result<std::string> blob_name(std::string etag, const std::string& what) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  const bool ok = !etag.empty() && etag.size() <= 128 && std::all_of(etag.begin(), etag.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
  if (!ok) return corruption_error("{}: the server's ETag '{}' is not a usable blob name", what, etag.substr(0, 80));
  return etag;
}

struct Ctx {
  std::string endpoint, token, cache, repo_dir;
  bool offline = false;
  Env* env = nullptr;
  std::vector<std::pair<std::string, std::string>> auth() const {
    if (token.empty()) return {};
    return {{"Authorization", "Bearer " + token}};
  }
};

Result<Ctx> context(const std::string& repo, const HubOptions& o) {
  if (!valid_repo_id(repo))
    return invalid_argument_error("'{}' is not a hub repository id (expected org/name, e.g. BSC-LT/salamandra-2b)",
                                  repo);
  if (!safe_relative_path(o.revision)) return invalid_argument_error("'{}' is not a usable revision name", o.revision);
  const RuntimeOptions rt = runtime_options();
  Ctx c;
  c.endpoint = !o.endpoint.empty()       ? o.endpoint
               : !rt.hf_endpoint.empty() ? rt.hf_endpoint
                                         : std::string(kDefaultEndpoint);
  while (c.endpoint.ends_with('/')) c.endpoint.pop_back();
  c.token = !o.token.empty() ? o.token : rt.hf_token;
  c.cache = !o.cache_dir.empty() ? o.cache_dir : rt.hf_hub_cache;
  if (c.cache.empty())
    return invalid_argument_error("no hub cache folder: set HF_HUB_CACHE or HF_HOME (HOME is not set either)");
  c.offline = o.offline || rt.hf_hub_offline;
  c.env = o.env ? o.env : &Env::posix();
  c.repo_dir = hub_repo_dir(c.cache, repo);
  return c;
}

// The revision's commit and file names from the cache alone.
Result<HubListing> cached_listing(const std::string& repo, const Ctx& c, const std::string& revision) {
  Env& env = *c.env;
  HubListing l;
  if (is_hex(revision, 40) && env.is_directory(c.repo_dir + "/snapshots/" + revision)) {
    l.commit = revision;
  } else {
    auto ref = env.read_file(c.repo_dir + "/refs/" + revision);
    if (!ref.ok())
      return not_found_error("{} (revision {}) is not in the hub cache {}: pull it once while online", repo, revision,
                             c.cache);
    l.commit = *ref;
    while (!l.commit.empty() && std::isspace(static_cast<unsigned char>(l.commit.back()))) l.commit.pop_back();
    if (!is_hex(l.commit, 40))
      return corruption_error("{}/refs/{}: '{}' is not a commit hash", c.repo_dir, revision, l.commit.substr(0, 80));
  }
  const std::string root = c.repo_dir + "/snapshots/" + l.commit;
  std::vector<std::string> pending{""};
  while (!pending.empty()) {
    const std::string rel = pending.back();
    pending.pop_back();
    const std::string dir = rel.empty() ? root : root + "/" + rel;
    for (const auto& e : FRAGUA_TRY(env.list_dir(dir))) {
      const std::string name = rel.empty() ? e.name : rel + "/" + e.name;
      if (env.is_directory(root + "/" + name))
        pending.push_back(name);
      else if (env.file_exists(root + "/" + name))  // a dangling link is no file
        l.files.push_back({name, -1, ""});
    }
  }
  std::sort(l.files.begin(), l.files.end(), [](const HubFile& a, const HubFile& b) { return a.name < b.name; });
  return l;
}

std::string list_names(const HubListing& l, size_t max = 20) {
  std::string s;
  for (size_t i = 0; i < l.files.size() && i < max; ++i) s += (i ? ", " : "") + l.files[i].name;
  if (l.files.size() > max) s += fmt::format(", ... ({} files)", l.files.size());
  return s.empty() ? "no files" : s;
}

// The snapshot entry as huggingface_hub makes it: a relative symlink to ../../blobs/<etag>, so
// the cache can be moved as a whole. (Env does not model symlinks: docs/architecture.md.)
Status link_snapshot(const std::string& pointer, const std::string& file, const std::string& etag, Env& env) {
  FRAGUA_TRY(env.create_dirs(pointer.substr(0, pointer.rfind('/'))));
  std::string target;
  for (size_t i = 0, depth = std::count(file.begin(), file.end(), '/') + 2; i < depth; ++i) target += "../";
  target += "blobs/" + etag;
  std::error_code ec;
  std::filesystem::remove(pointer, ec);  // a dangling link left by a removed blob
  std::filesystem::create_symlink(target, pointer, ec);
  if (ec) return io_error("{}: cannot create the link to {}: {}", pointer, target, ec.message());
  return {};
}

}  // namespace

std::string hub_repo_dir(const std::string& cache_dir, const std::string& repo) {
  std::string folder = "models--" + repo;
  for (size_t p = 0; (p = folder.find('/', p)) != std::string::npos; p += 2) folder.replace(p, 1, "--");
  return cache_dir + "/" + folder;
}

bool hub_glob_match(std::string_view pattern, std::string_view name) {
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

bool is_hub_model_spec(std::string_view spec) {
  const size_t colon = spec.find(':');
  const std::string_view repo = spec.substr(0, colon);
  if (repo.find('/') == std::string_view::npos || !valid_repo_id(repo)) return false;
  if (colon == std::string_view::npos) {
    std::string lower(repo);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    return !lower.ends_with(".gguf");
  }
  return colon + 1 < spec.size();
}

Result<HubListing> parse_hub_listing(std::string_view json, std::string_view origin) {
  auto j = FRAGUA_TRY(parse_json(json, origin));
  if (!j.is_object()) return corruption_error("{}: the listing is {}, not an object", origin, json_preview(j));
  HubListing l;
  auto sha = j.find("sha");
  if (sha == j.end() || !sha->is_string() || !is_hex(sha->get_ref<const std::string&>(), 40))
    return corruption_error("{}: \"sha\" is missing or not a 40-digit commit hash", origin);
  l.commit = sha->get<std::string>();
  auto sib = j.find("siblings");
  if (sib == j.end() || !sib->is_array())
    return corruption_error("{}: \"siblings\" is missing or not an array", origin);
  for (size_t i = 0; i < sib->size(); ++i) {
    const auto& s = (*sib)[i];
    auto name = s.is_object() ? s.find("rfilename") : s.end();
    if (!s.is_object() || name == s.end() || !name->is_string())
      return corruption_error("{}: siblings[{}] has no \"rfilename\" string", origin, i);
    HubFile f;
    f.name = name->get<std::string>();
    if (!safe_relative_path(f.name))
      return corruption_error("{}: siblings[{}].rfilename '{}' is not a path inside the repository", origin, i,
                              f.name.substr(0, 80));
    if (auto size = s.find("size"); size != s.end() && !size->is_null())
      f.size = FRAGUA_TRY(json_integer(*size, fmt::format("{}: siblings[{}].size", origin, i), 0));
    if (auto lfs = s.find("lfs"); lfs != s.end() && !lfs->is_null()) {
      auto h = lfs->is_object() ? lfs->find("sha256") : lfs->end();
      if (!lfs->is_object() || h == lfs->end() || !h->is_string() || !is_hex(h->get_ref<const std::string&>(), 64))
        return corruption_error("{}: siblings[{}].lfs has no 64-digit lowercase \"sha256\"", origin, i);
      f.sha256 = h->get<std::string>();
      if (auto ls = lfs->find("size"); ls != lfs->end())
        f.size = FRAGUA_TRY(json_integer(*ls, fmt::format("{}: siblings[{}].lfs.size", origin, i), 0));
    }
    l.files.push_back(std::move(f));
  }
  return l;
}

Result<HubListing> hub_list(const std::string& repo, const HubOptions& options) {
  const Ctx c = FRAGUA_TRY(context(repo, options));
  if (c.offline) return cached_listing(repo, c, options.revision);
  const std::string url = fmt::format("{}/api/models/{}/revision/{}?blobs=true", c.endpoint, repo, options.revision);
  auto res = http_get(HttpRequest{.url = url, .headers = c.auth()});
  if (!res.ok()) {
    // huggingface_hub falls back to the cache when the hub cannot be reached; so do we, loudly.
    if (auto cached = cached_listing(repo, c, options.revision); cached.ok()) {
      log_warn("{}; using the cached snapshot {} of {}", res.error().message(), cached->commit, repo);
      return cached;
    }
    return res.error();
  }
  if (res->status == 401 || res->status == 403) return detail::gated_error(repo, res->status, !c.token.empty());
  if (res->status == 404)
    return not_found_error(
        "{}: repository or revision '{}' not found at {} (a private repository needs a token: "
        "--token or HF_TOKEN)",
        repo, options.revision, c.endpoint);
  if (res->status != 200) return io_error("GET {}: HTTP {}", url, res->status);
  return parse_hub_listing(res->body, url);
}

Result<PullResult> hub_download(const std::string& repo, const HubListing& listing,
                                const std::vector<std::string>& files, const HubOptions& options) {
  const Ctx c = FRAGUA_TRY(context(repo, options));
  Env& env = *c.env;
  if (!is_hex(listing.commit, 40)) return invalid_argument_error("{}: '{}' is not a commit hash", repo, listing.commit);
  PullResult out;
  out.snapshot_dir = c.repo_dir + "/snapshots/" + listing.commit;
  if (!c.offline && options.revision != listing.commit) {
    const std::string ref = c.repo_dir + "/refs/" + options.revision;
    FRAGUA_TRY(env.create_dirs(ref.substr(0, ref.rfind('/'))));
    auto old = env.read_file(ref);
    if (!old.ok() || *old != listing.commit) FRAGUA_TRY(write_file_atomic(ref, listing.commit, env));
  }
  for (const std::string& name : files) {
    auto it =
        std::find_if(listing.files.begin(), listing.files.end(), [&](const HubFile& f) { return f.name == name; });
    if (it == listing.files.end() || !safe_relative_path(name))
      return not_found_error("{}: no file '{}' at {}", repo, name, listing.commit);
    const std::string pointer = out.snapshot_dir + "/" + name;
    const std::string display = repo + "/" + name;
    if (env.file_exists(pointer)) {
      out.paths.push_back(pointer);
      continue;
    }
    if (c.offline) return not_found_error("{} is not in the hub cache {} (offline)", display, c.cache);
    const std::string url = fmt::format("{}/{}/resolve/{}/{}", c.endpoint, repo, listing.commit, name);
    auto head = FRAGUA_TRY(http_head(HttpRequest{.url = url, .headers = c.auth(), .max_redirects = 0}));
    if (head.status == 401 || head.status == 403) return detail::gated_error(display, head.status, !c.token.empty());
    if (head.status == 404) return not_found_error("{}: not found at {} (HTTP 404)", display, url);
    if (head.status >= 400) return io_error("HEAD {}: HTTP {}", url, head.status);
    const bool linked = head.has_header("X-Linked-Etag");
    const std::string etag =
        FRAGUA_TRY(blob_name(linked ? head.header("X-Linked-Etag") : head.header("ETag"), display));
    detail::BlobFetch fetch{.url = url,
                            .headers = c.auth(),
                            .blob_path = c.repo_dir + "/blobs/" + etag,
                            .size = it->size,
                            .sha256 = it->sha256,
                            .display = display};
    const std::string size_header = head.header(linked ? "X-Linked-Size" : "Content-Length");
    if (!size_header.empty() && fetch.size < 0)
      fetch.size = static_cast<int64_t>(std::strtoull(size_header.c_str(), nullptr, 10));
    if (fetch.sha256.empty() && linked && is_hex(etag, 64)) fetch.sha256 = etag;  // an LFS file's etag is its sha256
    if (!env.file_exists(fetch.blob_path)) {
      FRAGUA_TRY(env.create_dirs(c.repo_dir + "/blobs"));
      const std::string lock_dir = fmt::format("{}/.locks/{}", c.cache, c.repo_dir.substr(c.cache.size() + 1));
      FRAGUA_TRY(env.create_dirs(lock_dir));
      auto lock = FRAGUA_TRY(FileLock::acquire(lock_dir + "/" + etag + ".lock", display));
      if (!env.file_exists(fetch.blob_path))
        out.bytes_downloaded += FRAGUA_TRY(detail::fetch_blob(fetch, options, env));
    }
    FRAGUA_TRY(link_snapshot(pointer, name, etag, env));
    out.paths.push_back(pointer);
  }
  return out;
}

namespace {

bool listed(const HubListing& listing, std::string_view name) {
  return std::any_of(listing.files.begin(), listing.files.end(), [&](const HubFile& f) { return f.name == name; });
}

// `names` with every part of each split GGUF among them (gguf-split's NAME-0000k-of-0000n.gguf,
// which a model loads only whole), in the listing's order; a part the listing lacks is an error.
Result<std::vector<std::string>> with_split_parts(const std::string& repo, const HubListing& listing,
                                                  const std::vector<std::string>& names) {
  std::vector<std::string> wanted = names;
  for (const auto& name : names) {
    const auto split = format::parse_gguf_split_name(name);
    if (!split) continue;
    for (int k = 1; k <= split->count; ++k) {
      std::string part = format::gguf_split_path(split->prefix, k, split->count);
      if (!listed(listing, part))
        return not_found_error("{}: {} is part of a split model of {} files, but {} is not in the repository at {}",
                               repo, name, split->count, part, listing.commit);
      if (std::find(wanted.begin(), wanted.end(), part) == wanted.end()) wanted.push_back(std::move(part));
    }
  }
  std::vector<std::string> ordered;
  for (const auto& f : listing.files)
    if (std::find(wanted.begin(), wanted.end(), f.name) != wanted.end()) ordered.push_back(f.name);
  return ordered;
}

}  // namespace

Result<std::vector<std::string>> select_hub_files(const std::string& repo, const HubListing& listing,
                                                  const std::vector<std::string>& patterns) {
  for (const auto& p : patterns)
    if (std::none_of(listing.files.begin(), listing.files.end(),
                     [&](const HubFile& f) { return hub_glob_match(p, f.name); }))
      return not_found_error("{}: no file matches '{}' at {}; the repository has {}", repo, p, listing.commit,
                             list_names(listing));
  std::vector<std::string> names;
  for (const auto& f : listing.files)
    if (patterns.empty() ||
        std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return hub_glob_match(p, f.name); }))
      names.push_back(f.name);
  return with_split_parts(repo, listing, names);
}

Result<PullResult> hub_pull(const std::string& repo, const std::vector<std::string>& patterns,
                            const HubOptions& options) {
  const HubListing listing = FRAGUA_TRY(hub_list(repo, options));
  return hub_download(repo, listing, FRAGUA_TRY(select_hub_files(repo, listing, patterns)), options);
}

Result<std::string> resolve_hub_model(std::string_view spec, const HubOptions& options) {
  if (!is_hub_model_spec(spec)) return invalid_argument_error("'{}' is not org/name[:FILE]", spec);
  const size_t colon = spec.find(':');
  const std::string repo(spec.substr(0, colon));
  const std::string pattern = colon == std::string_view::npos ? "" : std::string(spec.substr(colon + 1));
  const HubListing listing = FRAGUA_TRY(hub_list(repo, options));
  HubListing ggufs{listing.commit, {}}, picked{listing.commit, {}};
  for (const auto& f : listing.files) {
    std::string lower = f.name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (lower.ends_with(".gguf")) ggufs.files.push_back(f);
    if (pattern.empty() ? lower.ends_with(".gguf") : hub_glob_match(pattern, f.name)) picked.files.push_back(f);
  }
  if (picked.files.empty())
    return not_found_error("{}: {} at {}; its GGUF files: {}", repo,
                           pattern.empty() ? "no .gguf file (convert the model with `fragua convert`)"
                                           : fmt::format("no file matches '{}'", pattern),
                           listing.commit, list_names(ggufs));
  // The parts of one split model count as one file: all are pulled and the first is opened.
  const auto split = format::parse_gguf_split_name(picked.files[0].name);
  const bool one_split = split && std::all_of(picked.files.begin(), picked.files.end(), [&](const HubFile& f) {
    const auto s = format::parse_gguf_split_name(f.name);
    return s && s->prefix == split->prefix && s->count == split->count;
  });
  if (picked.files.size() > 1 && !one_split)
    return invalid_argument_error("{}: {} files match; name one as {}:FILE: {}", spec, picked.files.size(), repo,
                                  list_names(picked));
  const std::string first = one_split ? format::gguf_split_path(split->prefix, 1, split->count) : picked.files[0].name;
  const auto names = FRAGUA_TRY(with_split_parts(repo, listing, {first}));
  auto r = FRAGUA_TRY(hub_download(repo, listing, names, options));
  return r.paths.at(static_cast<size_t>(std::find(names.begin(), names.end(), first) - names.begin()));
}

}  // namespace fragua::model
