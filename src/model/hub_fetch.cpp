// SPDX-License-Identifier: Apache-2.0
// Fetching one blob: the byte ranges of a file in parallel threads, each resumed with an HTTP
// Range request (RFC 9110 §14) after a cut connection, then size and SHA-256 checked before the
// blob is renamed into place, so the cache never holds a partial or corrupt blob under its name.
#include "model/hub_fetch.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>


#include "fragua/base/http.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"

namespace fragua::model::detail {
namespace {

struct Range {
  std::string path;  // the part file
  uint64_t begin = 0;
  int64_t end = -1;  // exclusive; -1: to the end of an unknown-length body
};

std::string part_path(const std::string& blob, uint64_t begin) {
  return begin == 0 ? blob + ".incomplete" : fmt::format("{}.incomplete.{}", blob, begin);
}

// The ranges of a download: the first starts at 0 and keeps what a sequential run (huggingface_hub
// or an earlier `fragua pull --connections 1`) left in ".incomplete"; the rest of the file is split
// evenly. A part file whose offset is not in the plan is stale and removed.
std::vector<Range> plan(const BlobFetch& f, const HubOptions& o, Env& env) {
  const std::string first = part_path(f.blob_path, 0);
  if (f.size < 0) return {{first, 0, -1}};
  const uint64_t size = static_cast<uint64_t>(f.size);
  const int n = size >= o.parallel_min_bytes ? std::max(1, o.connections) : 1;
  uint64_t have = 0;
  if (auto sz = env.file_size(first); env.file_exists(first) && sz.ok()) have = *sz;
  uint64_t first_end = std::max<uint64_t>(std::min(have, size), (size + n - 1) / n);
  first_end = std::min(first_end, size);
  std::vector<Range> parts{{first, 0, static_cast<int64_t>(first_end)}};
  const uint64_t rest = size - first_end;
  for (int i = 1; i < n && rest > 0; ++i) {
    const uint64_t b = first_end + rest * (i - 1) / (n - 1), e = first_end + rest * i / (n - 1);
    if (e > b) parts.push_back({part_path(f.blob_path, b), b, static_cast<int64_t>(e)});
  }
  // Part files of other plans (another --connections): their bytes belong to other offsets.
  const std::string dir = f.blob_path.substr(0, f.blob_path.rfind('/'));
  const std::string prefix = f.blob_path.substr(dir.size() + 1) + ".incomplete.";
  if (auto entries = env.list_dir(dir); entries.ok())
    for (const auto& e : *entries)
      if (e.name.starts_with(prefix) &&
          std::none_of(parts.begin(), parts.end(), [&](const Range& r) { return r.path == dir + "/" + e.name; }))
        (void)env.remove_file(dir + "/" + e.name);
  return parts;
}

bool retryable(int status) { return status == 408 || status == 429 || status >= 500; }

// Brings one part file to its full length, resuming from its current size after each failure.
// `whole`: the range is the entire file, asked for without a Range header unless resuming.
Status fetch_range(const BlobFetch& f, const Range& r, bool whole, const HubOptions& o, Env& env, ProgressBar* bar,
                   std::atomic<uint64_t>& transferred) {
  const int64_t len = r.end < 0 ? -1 : r.end - static_cast<int64_t>(r.begin);
  Error last = io_error("{}: no attempt made", f.display);
  for (int attempt = 0; attempt <= o.retries; ++attempt) {
    if (attempt > 0) {
      const int64_t ms = std::min<int64_t>(int64_t{o.backoff_ms} << std::min(attempt - 1, 16), 30000);
      log_warn("{}: {}; retrying in {} ms ({}/{})", f.display, last.message(), ms, attempt, o.retries);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    uint64_t have = env.file_exists(r.path) ? FRAGUA_TRY(env.file_size(r.path)) : 0;
    if (len >= 0 && have > static_cast<uint64_t>(len)) {  // longer than its range: not ours
      FRAGUA_TRY(env.remove_file(r.path));
      have = 0;
    }
    if (bar && attempt == 0) bar->add(have);  // resumed bytes count as done
    if (len >= 0 && have == static_cast<uint64_t>(len)) return {};
    HttpRequest req{.url = f.url, .headers = f.headers};
    if (r.begin + have > 0 || !whole) {
      req.range_begin = static_cast<int64_t>(r.begin + have);
      req.range_end = r.end < 0 ? -1 : r.end - 1;
    }
    auto file = FRAGUA_TRY(env.new_writable_file(r.path, have > 0));
    Status write_status;
    auto res = http_get_stream(req, [&](std::string_view d) {
      if (len >= 0 && have + d.size() > static_cast<uint64_t>(len)) {
        write_status = corruption_error("{}: the server sent more than the {} bytes asked for at offset {}", f.display,
                                        len, r.begin);
        return false;
      }
      write_status = file->append(d);
      if (!write_status.ok()) return false;
      have += d.size();
      transferred += d.size();
      if (bar) bar->add(d.size());
      return true;
    });
    FRAGUA_TRY(file->close());
    if (!write_status.ok()) return write_status;
    if (!res.ok()) {
      last = res.error();
      continue;
    }
    const int st = res->status;
    if (st == 401 || st == 403) return gated_error(f.display, st, !f.headers.empty());
    if (retryable(st)) {
      last = io_error("GET {}: HTTP {}", f.url, st);
      continue;
    }
    if (st == 200 && req.range_begin > 0)
      return unsupported_error("{}: the server ignored the Range request (HTTP 200 to bytes={}-): cannot resume",
                               f.display, req.range_begin);
    if (st != 200 && st != 206) return io_error("GET {}: HTTP {}", f.url, st);
    if (len < 0 || have == static_cast<uint64_t>(len)) return {};
    last = io_error("GET {}: the answer ended at byte {} of {}", f.url, r.begin + have, r.end);
  }
  return io_error("{}: giving up after {} retries: {}", f.display, o.retries, last.message());
}

// Appends the further parts to the first, in order, and removes them.
Status join_parts(const std::vector<Range>& parts, Env& env) {
  if (parts.size() < 2) return {};
  auto out = FRAGUA_TRY(env.new_writable_file(parts[0].path, true));
  for (size_t i = 1; i < parts.size(); ++i) {
    auto m = FRAGUA_TRY(MappedFile::open(parts[i].path));
    constexpr uint64_t kChunk = 8 << 20;
    for (uint64_t off = 0; off < m.size(); off += kChunk) FRAGUA_TRY(out->append(m.view().substr(off, kChunk)));
  }
  FRAGUA_TRY(out->sync());
  FRAGUA_TRY(out->close());
  for (size_t i = 1; i < parts.size(); ++i) FRAGUA_TRY(env.remove_file(parts[i].path));
  return {};
}

}  // namespace

Error gated_error(const std::string& what, int status, bool had_token) {
  if (had_token)
    return invalid_argument_error(
        "{}: HTTP {}: the token was refused: this model is gated or private and the token's account has no access "
        "(accept the model's terms on its hub page, or check the token)",
        what, status);
  return invalid_argument_error(
      "{}: HTTP {}: this model is gated or private: accept its terms on its hub page, then pass an access token "
      "with --token or the HF_TOKEN environment variable",
      what, status);
}

Result<uint64_t> fetch_blob(const BlobFetch& f, const HubOptions& o, Env& env) {
  const std::vector<Range> parts = plan(f, o, env);
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>(f.display, f.size < 0 ? 0 : f.size, "B");
  std::atomic<uint64_t> transferred{0};
  std::vector<Status> status(parts.size());
  {
    std::vector<std::jthread> threads;
    for (size_t i = 1; i < parts.size(); ++i)
      threads.emplace_back([&, i] { status[i] = fetch_range(f, parts[i], false, o, env, bar.get(), transferred); });
    status[0] = fetch_range(f, parts[0], parts.size() == 1, o, env, bar.get(), transferred);
  }
  for (const auto& s : status) FRAGUA_TRY(s);
  FRAGUA_TRY(join_parts(parts, env));
  if (bar) bar->finish();
  const std::string tmp = parts[0].path;
  const uint64_t got = FRAGUA_TRY(env.file_size(tmp));
  if (f.size >= 0 && got != static_cast<uint64_t>(f.size)) {
    (void)env.remove_file(tmp);
    return corruption_error("{}: {} bytes arrived where the hub announced {}; the download was discarded", f.display,
                            got, f.size);
  }
  if (!f.sha256.empty()) {
    const std::string sum = FRAGUA_TRY(sha256_file(tmp));
    if (sum != f.sha256) {
      (void)env.remove_file(tmp);
      return corruption_error("{}: SHA-256 mismatch (expected {}, got {}); the download was discarded", f.display,
                              f.sha256, sum);
    }
  }
  FRAGUA_TRY(env.rename_file(tmp, f.blob_path));
  return transferred.load();
}

}  // namespace fragua::model::detail
