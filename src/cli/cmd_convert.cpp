// SPDX-License-Identifier: Apache-2.0
// fragua convert: a Hugging Face checkpoint directory -> GGUF (model::convert_hf).
#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/model/convert.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Flags {
  std::string dir, out, outtype = "f16", tokenizer = "auto";
};

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "convert", "Convert a Hugging Face model directory (config.json, safetensors, tokenizer) to GGUF");
  auto f = std::make_shared<Flags>();
  cmd->add_option("hf_dir", f->dir, "Model directory (config.json, model*.safetensors, tokenizer files)")->required();
  cmd->add_option("-o,--output", f->out, "Output .gguf")->required();
  cmd->add_option("--outtype", f->outtype, "Type of the weight matrices: f32, f16, bf16, q8_0 (norms stay f32)")
      ->capture_default_str();
  cmd->add_option("--tokenizer", f->tokenizer,
                  "Tokenizer file to read: auto (tokenizer.model if present, else tokenizer.json), json, model")
      ->check(CLI::IsMember({"auto", "json", "model"}))
      ->capture_default_str();
  cmd->callback([f] {
    model::ConvertOptions o;
    o.out_type = check(model::parse_out_type(f->outtype));
    o.tokenizer = f->tokenizer == "json"    ? model::HfTokenizerSource::json
                  : f->tokenizer == "model" ? model::HfTokenizerSource::sentencepiece
                                            : model::HfTokenizerSource::automatic;
    const auto r = check(model::convert_hf(f->dir, f->out, o));
    log_info("wrote {} ({}, {} tensors, {:.1f}M parameters, {})", f->out, r.architecture, r.n_tensors,
             static_cast<double>(r.n_params) / 1e6, format_bytes(static_cast<double>(r.n_bytes)));
  });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
