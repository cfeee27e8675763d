// SPDX-License-Identifier: Apache-2.0
// fragua export: trained checkpoint -> GGUF for `fragua generate` / `chat` / `serve`.
#include <filesystem>

#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/model/quantize.h"
#include "fragua/train/export.h"
#include "fragua/train/shard.h"
#include "fragua/train/text_encoder.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  train::ExportOptions exp;
  std::string outtype = "f32";
  int threads = 0;
};

// The run's config.json: the run directory's, or two levels above a checkpoint directory
// (<run>/checkpoints/step-N). Empty when the checkpoint is not part of a run.
std::string export_run_config_path(const std::string& checkpoint) {
  Env& env = Env::posix();
  if (env.file_exists(checkpoint + "/config.json")) return checkpoint + "/config.json";
  if (!env.file_exists(checkpoint + "/model.safetensors")) return std::string();
  auto config = (std::filesystem::path(checkpoint) / ".." / ".." / "config.json").lexically_normal().string();
  return env.file_exists(config) ? config : std::string();
}

// A training run exported without --tokenizer takes the one its config.json records (`train`
// writes it as an absolute path: fragua-32k when the shards were encoded with it), so that the
// model can encode text without the user repeating what the run already knows. A recorded
// default that is not where the run left it (a run copied from another machine or install) is
// found by name as `corpus shard` finds it. Empty: the run has no tokenizer file (byte shards).
Result<std::string> export_tokenizer_of_run(const std::string& config, const nlohmann::json& j) {
  if (!j.contains("tokenizer")) return std::string();
  if (!j["tokenizer"].is_string()) return corruption_error("{}: \"tokenizer\" is not a string", config);
  const auto path = j["tokenizer"].get<std::string>();
  if (path.empty() || path == "byte" || Env::posix().file_exists(path)) {
    if (!path.empty()) log_info("tokenizer: the run's, {} (from {})", path, config);
    return path;
  }
  if (std::filesystem::path(path).stem() == train::kDefaultTokenizerName) {
    auto def = FRAGUA_TRY(train::default_tokenizer_path());
    log_info("tokenizer: the run's, {} ({} names {}, which is not there)", def, config, path);
    return def;
  }
  return not_found_error("{}: the run's tokenizer {} does not exist; name one with --tokenizer", config, path);
}

// The vocabulary written into the model must be the one the shards were encoded with (their
// fingerprint, which config.json's provenance records): a tokenizer file replaced under the same
// name, or another one of the same size, gives a model that reads other tokens than it learnt
// and writes noise, with nothing else to show it.
Status export_check_vocabulary(const std::string& config, const nlohmann::json& j, const std::string& tokenizer) {
  if (tokenizer.empty() || !j.contains("provenance") || !j["provenance"].is_object() ||
      !j["provenance"].contains("tokenizer"))
    return ok_status();
  const auto shards = FRAGUA_TRY(train::ShardTokenizer::from_json(j["provenance"]["tokenizer"], config));
  train::ShardTokenizer given;
  if (tokenizer == "byte")
    given = train::make_byte_encoder()->info();
  else
    given = FRAGUA_TRY(train::tokenizer_info_from_gguf(tokenizer));
  if (given.fingerprint == shards.fingerprint) return ok_status();
  return invalid_argument_error(
      "{}: vocabulary {} (fingerprint {}, {} tokens) is not the one the run's shards were encoded with: '{}' "
      "(fingerprint {}, {} tokens, {}); the model would read other tokens than it learnt",
      tokenizer, given.name, given.fingerprint, given.vocab_size, shards.name, shards.fingerprint, shards.vocab_size,
      config);
}

void run(Opts o) {
  // The type is checked before any work, so that a misspelt one costs nothing.
  const auto type = check(model::find_quantize_type(o.outtype));
  if (const std::string config = export_run_config_path(o.exp.checkpoint); !config.empty()) {
    const auto j = check(parse_json(check(read_file(config)), config));
    if (!j.is_object()) check(corruption_error("{}: not a JSON object", config));
    if (o.exp.tokenizer.empty()) o.exp.tokenizer = check(export_tokenizer_of_run(config, j));
    check(export_check_vocabulary(config, j, o.exp.tokenizer));
  }
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
                  "vocabulary) (default: the one the run's config.json records, fragua-32k for shards made with it)");
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
