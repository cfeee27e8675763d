// SPDX-License-Identifier: Apache-2.0
// fragua materials fetch <dataset>: downloads a public Matbench composition dataset and checks
// that it reads before putting it in place.
#include <filesystem>

#include "cli/materials_common.h"
#include "fragua/base/file.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/fetch.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

using namespace fragua::materials;

struct FetchOpts {
  std::string dataset, out_dir = ".", base_url;
};

Status run_fetch(const FetchOpts& o) {
  std::string url = FRAGUA_TRY(matbench_url(o.dataset, o.base_url));
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  std::string path = o.out_dir + "/" + o.dataset + ".json.gz";
  std::string tmp = o.out_dir + "/." + o.dataset + ".download.json.gz";  // same suffix: read_dataset goes by it
  {
    ProgressBar bar("fetch " + o.dataset, 0, "B");
    FRAGUA_TRY(download(url, tmp, &bar));
  }
  const ElementTable* t = FRAGUA_TRY(ElementTable::builtin());
  auto d = read_dataset(tmp, *t);
  if (!d.ok()) {
    Env::posix().remove_file(tmp).ok();
    return std::move(d).error().with_context("downloaded file does not read as a Matbench dataset");
  }
  FRAGUA_TRY(Env::posix().rename_file(tmp, path));
  fmt::print("wrote {} ({} rows, target '{}') from {}\n", path, d->size(), d->target_name, url);
  return ok_status();
}

void setup(CLI::App& root) {
  auto* cmd = materials_app(root);
  auto o = std::make_shared<FetchOpts>();
  auto* f = cmd->add_subcommand("fetch", "Download a public Matbench composition dataset (e.g. matbench_expt_gap)");
  f->add_option("dataset", o->dataset, "matbench_expt_gap, matbench_expt_is_metal, matbench_glass, matbench_steels")
      ->required();
  add_output_flag(*f, o->out_dir, "Directory for <dataset>.json.gz", "--out-dir");
  f->add_option("--base-url", o->base_url, "Mirror to download from (default: ml.materialsproject.org/projects)");
  f->callback([o] { check(run_fetch(*o)); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
