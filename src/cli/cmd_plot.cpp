// SPDX-License-Identifier: Apache-2.0
// fragua plot: training curves from metrics.jsonl to SVG.
#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/eval/plot.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct PlotOpts {
  std::string metrics, out;
};

void setup(CLI::App& root) {
  auto* cmd =
      root.add_subcommand("plot", "Draw training curves (loss, bits per byte per language, lr, grad norm) to SVG");
  auto o = std::make_shared<PlotOpts>();
  cmd->add_option("metrics", o->metrics, "metrics.jsonl of a run (or the run directory)")->required();
  cmd->add_option("-o,--output", o->out, "Output .svg (default: curves.svg beside the metrics)");
  cmd->callback([o] {
    std::string m = o->metrics;
    if (!m.ends_with(".jsonl")) m += "/metrics.jsonl";
    std::string out = o->out.empty() ? m.substr(0, m.find_last_of('/') + 1) + "curves.svg" : o->out;
    check(eval::plot_metrics(m, out));
    log_info("wrote {}", out);
  });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
