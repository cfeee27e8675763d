// SPDX-License-Identifier: Apache-2.0
// `fragua info MODEL`: what a user asks first (parameters, bytes per weight by type, context,
// vocabulary, chat template, whether Fragua runs it), then the metadata and tensor table.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "cli/command.h"
#include "fragua/base/progress.h"
#include "fragua/base/utf8.h"
#include "fragua/format/gguf.h"
#include "fragua/model/model.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  std::string path;
  bool tensors = true;
  size_t max_items = 8;
};

// Keys, string values, tensor names and the model's name come from the file: every one goes
// through terminal_safe (GgufValue::to_string escapes values itself), so that an ESC or OSC
// sequence planted in a downloaded model cannot reach the terminal.
struct TypeRow {
  uint64_t tensors = 0;
  double params = 0, bytes = 0;  // doubles: a hostile file's sums can pass 2^64
};

std::string string_or(const format::GgufFile& file, const std::string& key, const std::string& def) {
  auto v = file.get_string(key);
  return v.ok() ? *v : def;
}

void print_summary(const format::GgufFile& file) {
  std::map<std::string, TypeRow> by_type;
  double params = 0, bytes = 0;
  for (const auto& t : file.tensors()) {
    auto& row = by_type[std::string(dtype_name(t.dtype))];
    ++row.tensors;
    row.params += static_cast<double>(t.n_elements());
    row.bytes += static_cast<double>(t.n_bytes);
    params += static_cast<double>(t.n_elements());
    bytes += static_cast<double>(t.n_bytes);
  }
  const std::string arch = string_or(file, "general.architecture", "");
  fmt::print("summary:\n  architecture  {}\n  parameters    {:.3f} B ({:.0f})\n", terminal_safe(arch), params / 1e9,
             params);
  fmt::print("  weights       {}, {:.2f} bits per weight\n", format_bytes(bytes),
             params > 0 ? bytes * 8 / params : 0.0);
  fmt::print("  {:<8} {:>8} {:>16} {:>12} {:>7} {:>6}\n", "type", "tensors", "parameters", "bytes", "bpw", "share");
  for (const auto& [name, row] : by_type)
    fmt::print("  {:<8} {:>8} {:>16.0f} {:>12} {:>7.2f} {:>5.1f}%\n", name, row.tensors, row.params,
               format_bytes(row.bytes), row.params > 0 ? row.bytes * 8 / row.params : 0.0,
               bytes > 0 ? 100 * row.bytes / bytes : 0.0);
  if (auto ctx = file.get_uint(arch + ".context_length"); ctx.ok()) fmt::print("  context       {}\n", *ctx);
  if (auto tokens = file.get_strings("tokenizer.ggml.tokens"); tokens.ok())
    fmt::print("  vocabulary    {} tokens, tokenizer {}\n", (*tokens)->size(),
               terminal_safe(string_or(file, "tokenizer.ggml.model", "?")));
  if (auto tmpl = file.get_string("tokenizer.chat_template"); tmpl.ok()) {
    const std::string first = tmpl->substr(0, tmpl->find('\n'));
    fmt::print("  chat template {} lines: {}{}\n", std::count(tmpl->begin(), tmpl->end(), '\n') + 1,
               terminal_safe(first.substr(0, 100)), first.size() > 100 ? "..." : "");
  } else {
    fmt::print("  chat template none in the file (Fragua's built-in formats apply)\n");
  }
}

void run(const Opts& o) {
  auto file = check(format::GgufFile::open(o.path));
  print_summary(file);
  fmt::print("\n");
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
    fmt::print("\nmodel: {}\nsupported: yes (Fragua loads and runs this model)\n",
               terminal_safe((*model)->config().summary()));
  else
    fmt::print("\nmodel: not loadable: {}\nsupported: no\n", terminal_safe(model.error().to_string()));
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
