// SPDX-License-Identifier: Apache-2.0
// fragua export: trained checkpoint -> GGUF for `fragua generate` / `chat` / `serve`.
#include <filesystem>

#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/model/quantize.h"
#include "fragua/train/export.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  train::ExportOptions exp;
  std::string outtype = "f32";
  int threads = 0;
};

void run(const Opts& o) {
  // The type is checked before any work, so that a misspelt one costs nothing.
  const auto type = check(model::find_quantize_type(o.outtype));
  if (type.ftype == 0) {
    check(train::export_gguf(o.exp));
    log_info("wrote {}", o.exp.out);
    return;
  }
  // The trainer's weights are F32: write them beside the output, then quantize with the
  // engine's own quantizers (model/quantize, llama-quantize's rules), so that no llama.cpp is
  // needed to make a small file. The F32 file goes whatever happens.
  train::ExportOptions f32 = o.exp;
  f32.out = o.exp.out + ".f32.tmp";
  struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit() {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  } cleanup{f32.out};
  check(train::export_gguf(f32));
  model::QuantizeOptions q;
  q.type = type;
  q.n_threads = o.threads;
  auto report = check(model::quantize_model(f32.out, o.exp.out, q));
  log_info("wrote {} ({}, {:.1f} MB)", o.exp.out, type.name, static_cast<double>(report.bytes_out) / 1e6);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("export", "Write a trained checkpoint as a GGUF model (with its tokenizer)");
  auto o = std::make_shared<Opts>();
  cmd->add_option("checkpoint", o->exp.checkpoint,
                  "Run directory (its latest checkpoint), checkpoint directory or model.safetensors")
      ->required();
  cmd->add_option("-o,--output", o->exp.out, "Output .gguf")->required();
  cmd->add_option("--tokenizer", o->exp.tokenizer,
                  "Tokenizer GGUF whose tokenizer.* metadata goes into the model, or 'byte' (the built-in byte "
                  "vocabulary)");
  cmd->add_option("--outtype", o->outtype,
                  "Weight type: f32, f16, bf16, q8_0, q4_0, q4_k_m or any type of `fragua quantize` (quantized "
                  "with Fragua's own quantizers; norms stay f32)")
      ->capture_default_str();
  cmd->add_option("--name", o->exp.name, "general.name of the model (default: fragua-<size>M)");
  cmd->add_option("--license", o->exp.license, "general.license, an SPDX id")->capture_default_str();
  cmd->add_option("--languages", o->exp.languages, "general.languages, ISO 639-1 codes")
      ->delimiter(',')
      ->capture_default_str();
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
