// SPDX-License-Identifier: Apache-2.0
// `fragua corpus build CONFIG`: runs the whole pipeline from a YAML config.
#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/data/pipeline.h"

namespace fragua::cli {
// Named, not FRAGUA_CMD_NS: setup_corpus_* below is called from cmd_corpus.cpp, so it lives
// outside and reaches these names through a using-directive of its own.
namespace corpus_build_cmd {

struct BuildOpts {
  std::string config;
  int threads = 0;
};

Status run(const BuildOpts& o) {
  auto text = FRAGUA_TRY(read_file(o.config));
  auto cfg = FRAGUA_TRY(data::parse_build_config(text, o.config));
  if (o.threads > 0) cfg.threads = o.threads;
  return data::run_build(cfg);
}

}  // namespace corpus_build_cmd

void setup_corpus_build(CLI::App& corpus) {
  using namespace corpus_build_cmd;
  auto* cmd = corpus.add_subcommand("build",
                                    "Run clean -> langid -> quality -> dedup -> pii -> shards from a YAML config "
                                    "(resumable; under mpirun the input files are split across ranks)");
  auto o = std::make_shared<BuildOpts>();
  cmd->add_option("config", o->config, "YAML config")->required();
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] { check(run(*o)); });
}

}  // namespace fragua::cli
