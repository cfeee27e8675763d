// `fragua info MODEL`: metadata and tensor table of a GGUF file, and the model summary.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/command.h"
#include "fragua/base/utf8.h"
#include "fragua/format/gguf.h"
#include "fragua/model/model.h"

namespace fragua::cli {
namespace {

struct Opts {
  std::string path;
  bool tensors = true;
  size_t max_items = 8;
};

// Keys, string values, tensor names and the model's name come from the file: every one goes
// through terminal_safe (GgufValue::to_string escapes values itself), so that an ESC or OSC
// sequence planted in a downloaded model cannot reach the terminal.
void run(const Opts& o) {
  auto file = check(format::GgufFile::open(o.path));
  fmt::print("file: {}\nGGUF version {}, {} metadata keys, {} tensors, alignment {}, data at byte {}\n\n",
             terminal_safe(o.path), file.version(), file.metadata().size(), file.tensors().size(), file.alignment(),
             file.data_offset());
  fmt::print("metadata:\n");
  for (const auto& kv : file.metadata())
    fmt::print("  {:<44} {:<7} {}\n", terminal_safe(kv.key),
               kv.value.type == format::GgufType::array ? "array" : format::gguf_type_name(kv.value.type),
               kv.value.to_string(o.max_items));
  if (o.tensors) {
    fmt::print("\ntensors:\n  {:<36} {:<7} {:<22} {:>12} {:>14}\n", "name", "dtype", "shape", "bytes", "offset");
    double total = 0;  // tensors may overlap in a hostile file: a sum of sizes can pass 2^64
    for (const auto& t : file.tensors()) {
      fmt::print("  {:<36} {:<7} {:<22} {:>12} {:>14}\n", terminal_safe(t.name), dtype_name(t.dtype),
                 fmt::format("[{}]", fmt::join(t.ne, ", ")), t.n_bytes, t.offset);
      total += static_cast<double>(t.n_bytes);
    }
    fmt::print("  total {:.2f} MB of tensor data\n", total / 1e6);
  }
  auto model = model::Model::from_gguf(std::move(file));
  if (model.ok())
    fmt::print("\nmodel: {}\n", terminal_safe((*model)->config().summary()));
  else
    fmt::print("\nmodel: not loadable: {}\n", terminal_safe(model.error().to_string()));
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("info", "Print a GGUF file's metadata, tensor table and model summary");
  auto o = std::make_shared<Opts>();
  cmd->add_option("model", o->path, "GGUF file")->required();
  cmd->add_flag("!--no-tensors", o->tensors, "Omit the tensor table");
  cmd->add_option("--max-items", o->max_items, "Array elements shown per key")->capture_default_str();
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
