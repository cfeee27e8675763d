// SPDX-License-Identifier: Apache-2.0
// fragua corpus shard: JSONL/text corpora -> token shards for `fragua train`.
#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/train/shard.h"
#include "fragua/train/text_encoder.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct ShardOpts {
  train::ShardBuildOptions build;
  std::string tokenizer;
};

Status run_shard(ShardOpts& o, std::string command) {
  if (o.tokenizer.empty()) {
    o.tokenizer = FRAGUA_TRY(train::default_tokenizer_path());
    log_info("tokenizer: the default, {} ({})", train::kDefaultTokenizerName, o.tokenizer);
    command += " --tokenizer " + o.tokenizer;
  }
  auto enc = FRAGUA_TRY(train::open_text_encoder(o.tokenizer));
  o.build.command = command;
  auto s = FRAGUA_TRY(train::build_shards(o.build, *enc));
  log_info("{} documents, {} tokens from {} of text ({:.3f} tokens/byte) in {} shard(s) under {}", s.documents,
           s.tokens, format_bytes(static_cast<double>(s.bytes)),
           s.bytes ? static_cast<double>(s.tokens) / s.bytes : 0.0, s.shards, o.build.out_dir);
  return ok_status();
}

void setup(CLI::App& root) {
  auto* corpus = group_subcommand(root, "corpus", "Corpus tools");
  auto* cmd =
      corpus->add_subcommand("shard", "Tokenize JSONL/text corpora into token shards (*.fts) for `fragua train`");
  auto o = std::make_shared<ShardOpts>();
  cmd->add_option("inputs", o->build.inputs, "JSONL files ({\"text\": ..., \"lang\": ...} per line) or text files")
      ->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer: 'byte' (built-in byte level) or a tokenizer GGUF (default: Fragua's fragua-32k, "
                  "share/fragua/tokenizers/fragua-32k.gguf)");
  add_output_flag(*cmd, o->build.out_dir, "Output directory for shard-NNNNN.fts (required)");
  cmd->add_option("--lang", o->build.lang, "Language of documents without a \"lang\" field (es, ca, eu, gl, ...)");
  cmd->add_option("--shard-tokens", o->build.shard_tokens, "Tokens per shard file (default 50M)");
  cmd->callback([o] {
    require_output(o->build.out_dir, "DIR");
    std::string command = "fragua corpus shard --out " + o->build.out_dir;
    if (!o->tokenizer.empty()) command += " --tokenizer " + o->tokenizer;
    for (const auto& i : o->build.inputs) command += " " + i;
    check(run_shard(*o, command));
  });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
