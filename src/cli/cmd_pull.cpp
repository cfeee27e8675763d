// SPDX-License-Identifier: Apache-2.0
// `fragua pull REPO [FILE...]`: files of a Hugging Face hub repository into the hub cache, as
// `huggingface-cli download` does (same cache, same HF_* variables). The local paths go to
// stdout, one a line, so that `$(fragua pull org/name '*Q4_K_M*')` names the file.
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/utf8.h"
#include "fragua/model/hub.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  std::string repo;
  std::vector<std::string> patterns;
  model::HubOptions hub;
};

void run(const Opts& o) {
  const model::HubListing listing = check(model::hub_list(o.repo, o.hub));
  const std::vector<std::string> names = check(model::select_hub_files(o.repo, listing, o.patterns));
  int64_t total = 0;
  bool total_known = true;
  for (const auto& f : listing.files)
    if (std::find(names.begin(), names.end(), f.name) != names.end()) {
      total_known = total_known && f.size >= 0;
      total += std::max<int64_t>(f.size, 0);
    }
  if (o.patterns.empty())
    log_warn("no FILE given: pulling the whole repository {} ({} files{})", o.repo, names.size(),
             total_known ? ", " + format_bytes(static_cast<double>(total)) : "");
  auto r = check(model::hub_download(o.repo, listing, names, o.hub));
  log_info("{}: {} files at {}, {} downloaded", o.repo, r.paths.size(), listing.commit,
           format_bytes(static_cast<double>(r.bytes_downloaded)));
  for (const auto& p : r.paths) fmt::print("{}\n", terminal_safe(p));
  std::fflush(stdout);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("pull", "Download files of a Hugging Face hub repository into the hub cache");
  auto o = std::make_shared<Opts>();
  cmd->add_option("repo", o->repo, "Repository id, e.g. BSC-LT/salamandra-2b-instruct")->required();
  cmd->add_option("files", o->patterns, "Files or globs ('*.gguf', '*Q4_K_M*'); none: the whole repository");
  cmd->add_option("--endpoint", o->hub.endpoint, "Hub or mirror URL (default: $HF_ENDPOINT or https://huggingface.co)");
  cmd->add_option("--token", o->hub.token, "Access token for gated or private models (default: $HF_TOKEN)");
  cmd->add_option("--revision", o->hub.revision, "Branch, tag or commit")->capture_default_str();
  cmd->add_option("--cache-dir", o->hub.cache_dir,
                  "Hub cache (default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub)");
  cmd->add_flag("--offline", o->hub.offline, "Resolve from the cache only (also HF_HUB_OFFLINE=1)");
  cmd->add_option("--connections", o->hub.connections, "Parallel ranges for files of 64 MB or more")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--retries", o->hub.retries, "Retries per range after a cut connection")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
