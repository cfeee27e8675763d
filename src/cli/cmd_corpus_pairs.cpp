// SPDX-License-Identifier: Apache-2.0
// `fragua corpus pairs DIR`: es<->ca/ca-valencia/eu/gl catalog pairs of a `corpus fetch debian`
// output, by pivoting on the English msgid (fragua/data/pairs.h).
#include <cstdio>

#include "cli/command.h"
#include "fragua/base/parse.h"
#include "fragua/data/pairs.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct PairsOpts {
  std::string corpus, output, pivot = "es", targets = "ca,ca-valencia,eu,gl";
};

Status run_pairs(const PairsOpts& o) {
  data::PairsOptions po;
  po.corpus_dir = o.corpus;
  po.out_dir = o.output;
  po.pivot = o.pivot;
  po.targets = FRAGUA_TRY(parse_list(o.targets, "--targets"));
  auto reports = FRAGUA_TRY(data::build_pivot_pairs(po));
  std::printf(
      "| pair | pairs | shared English keys | ambiguous keys | duplicates dropped | file |\n"
      "|---|---:|---:|---:|---:|---|\n");
  for (const auto& r : reports)
    std::printf("| %s-%s | %llu | %llu | %llu | %llu | %s |\n", r.source.c_str(), r.target.c_str(),
                static_cast<unsigned long long>(r.stats.pairs), static_cast<unsigned long long>(r.stats.shared_keys),
                static_cast<unsigned long long>(r.stats.ambiguous), static_cast<unsigned long long>(r.stats.duplicates),
                r.path.c_str());
  return ok_status();
}

void setup(CLI::App& root) {
  auto* corpus =
      group_subcommand(root, "corpus", "Corpus pipeline: sources, cleaning, language id, filters, dedup, PII, shards");
  auto* cmd = corpus->add_subcommand(
      "pairs",
      "Sentence pairs between our languages from the catalogs of a `corpus fetch debian` output, by pivoting on "
      "the shared English original (same package family and catalog, both translated); writes "
      "<pivot>-<lang>.jsonl with package and licence per pair, and pairs.md");
  auto o = std::make_shared<PairsOpts>();
  cmd->add_option("corpus", o->corpus, "Folder written by `corpus fetch debian` (reads parallel/<lang>-en.jsonl)")
      ->required();
  add_output_flag(*cmd, o->output, "Output folder (default: <corpus>/parallel)");
  cmd->add_option("--pivot", o->pivot, "Language every pair has on one side")->capture_default_str();
  cmd->add_option("--targets", o->targets, "Languages paired with the pivot, comma-separated")->capture_default_str();
  cmd->callback([o] { check(run_pairs(*o)); });
}

Registrar reg(setup);

}  // namespace FRAGUA_CMD_NS
}  // namespace fragua::cli
