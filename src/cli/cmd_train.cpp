// SPDX-License-Identifier: Apache-2.0
// fragua train: pretrain a Llama-architecture model on token shards.
#include <algorithm>
#include <csignal>
#include <filesystem>

#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/train/shard.h"
#include "fragua/train/text_encoder.h"
#include "fragua/train/trainer.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

std::atomic<bool> g_stop{false};  // set by SIGINT/SIGTERM: checkpoint at the end of the step
std::atomic<int> g_signal{0};     // the first such signal, raised again once the checkpoint is saved

// A second signal means "stop now": the files being written are removed and the process dies of
// it at once (async-signal-safe calls only).
extern "C" void on_signal(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) {
    remove_live_temporaries();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop.store(true);
}

struct TrainOpts {
  std::string config_file, data, out, tokenizer, mix, schedule;
  bool resume = false, tied = false, no_blas = false, profile = false;
  std::string precision = "f32";
  int threads = 0;
  train::TrainConfig flags;  // values of the flags (applied only when given)
  std::string max_memory;
};

Result<uint64_t> parse_bytes(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return invalid_argument_error("--max-memory: '{}' is not a size", s);
  }
  std::string unit = s.substr(used);
  double mul = unit.empty() || unit == "B"   ? 1
               : unit == "K" || unit == "KB" ? 1e3
               : unit == "M" || unit == "MB" ? 1e6
               : unit == "G" || unit == "GB" ? 1e9
                                             : 0;
  if (mul == 0 || v < 0) return invalid_argument_error("--max-memory: '{}' (use e.g. 512M or 8G)", s);
  return static_cast<uint64_t>(v * mul);
}

// The --profile table (train::TrainResult::profile) on stdout.
void print_train_profile(const nlohmann::json& p, const std::string& out_dir) {
  fmt::print("profile of {} step(s), {:.2f} s, {:.0f} tokens/s, {} thread(s), {} ({}/profile.json)\n",
             p["steps"].get<int64_t>(), p["seconds"].get<double>(), p["tokens_per_s"].get<double>(),
             p["threads"].get<int>(), p.value("precision", "f32"), out_dir);
  fmt::print("  {:<10} {:>10} {:>7} {:>9}\n", "part", "seconds", "share", "calls");
  for (const auto& part : p["parts"])
    fmt::print("  {:<10} {:>10.3f} {:>6.1f}% {:>9}\n", part["part"].get<std::string>(), part["seconds"].get<double>(),
               100 * part["share"].get<double>(), part["calls"].get<uint64_t>());
  fmt::print("  matmul throughput: {:.1f} GFLOP/s\n", p["matmul_gflops_per_s"].get<double>());
}

// No tokenizer given: the run records Fragua's default, fragua-32k, when the shards were made
// with it (`corpus shard` encodes with it by default), so that config.json names the
// vocabulary of the run; shards of another tokenizer train as they are. -v says which.
Status choose_default_train_tokenizer(train::TrainConfig& c) {
  std::vector<std::string> shards;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(c.data.dir, ec))
    if (e.path().extension() == ".fts") shards.push_back(e.path().string());
  if (shards.empty()) return ok_status();  // the trainer names the empty directory
  std::sort(shards.begin(), shards.end());
  const auto shard = FRAGUA_TRY(train::TokenShard::open(shards.front()));
  auto path = train::default_tokenizer_path();
  if (!path.ok()) {
    log_debug("tokenizer: the shards' own, '{}' (the default {} is not installed: {})", shard.tokenizer().name,
              train::kDefaultTokenizerName, path.error().message());
    return ok_status();
  }
  const auto def = FRAGUA_TRY(train::tokenizer_info_from_gguf(*path));
  if (def.fingerprint == shard.tokenizer().fingerprint && def.vocab_size == shard.tokenizer().vocab_size) {
    c.tokenizer = *path;
    log_debug("tokenizer: the default, {} ({})", train::kDefaultTokenizerName, *path);
  } else {
    log_debug("tokenizer: the shards' own, '{}' (vocab {}), not the default {}", shard.tokenizer().name,
              shard.tokenizer().vocab_size, train::kDefaultTokenizerName);
  }
  return ok_status();
}

Status run_train(CLI::App& cmd, TrainOpts& o) {
  train::TrainConfig c;
  // Resuming: the run's own config.json is the base, so only changed flags need repeating.
  if (o.resume && !o.out.empty() && Env::posix().file_exists(o.out + "/config.json")) {
    auto j = FRAGUA_TRY(parse_json(FRAGUA_TRY(read_file(o.out + "/config.json")), o.out + "/config.json"));
    if (!j.is_object()) return corruption_error("{}/config.json: not a JSON object", o.out);
    j.erase("provenance");
    if (auto st = c.merge_json(j); !st.ok()) return st.error().with_context(o.out + "/config.json");
  }
  if (!o.config_file.empty()) {
    auto j = FRAGUA_TRY(parse_json(FRAGUA_TRY(read_file(o.config_file)), o.config_file));
    if (!j.is_object()) return invalid_argument_error("{}: not a JSON object", o.config_file);
    auto st = c.merge_json(j);
    if (!st.ok()) return st.error().with_context(o.config_file);
  }
  auto given = [&](const char* name) { return cmd.get_option(name)->count() > 0; };
  const auto& f = o.flags;
  if (given("--data")) c.data.dir = o.data;
  if (!o.out.empty()) c.out_dir = o.out;
  if (given("--tokenizer")) c.tokenizer = o.tokenizer;
  if (given("--mix")) c.data.mix = FRAGUA_TRY(train::parse_mix(o.mix));
  if (given("--schedule")) c.schedule.kind = FRAGUA_TRY(train::parse_schedule_kind(o.schedule));
  if (given("--steps")) c.steps = f.steps;
  if (given("--batch")) c.batch = f.batch;
  if (given("--grad-accum")) c.grad_accum = f.grad_accum;
  if (given("--seq-len")) c.data.seq_len = f.data.seq_len;
  if (given("--val-fraction")) c.data.val_fraction = f.data.val_fraction;
  if (given("--data-seed")) c.data.seed = f.data.seed;
  if (given("--lr")) c.schedule.lr = f.schedule.lr;
  if (given("--min-lr-ratio")) c.schedule.min_lr_ratio = f.schedule.min_lr_ratio;
  if (given("--warmup")) c.schedule.warmup = f.schedule.warmup;
  if (given("--decay-fraction")) c.schedule.decay_fraction = f.schedule.decay_fraction;
  if (given("--weight-decay")) c.adamw.weight_decay = f.adamw.weight_decay;
  if (given("--grad-clip")) c.adamw.grad_clip = f.adamw.grad_clip;
  if (given("--seed")) c.seed = f.seed;
  if (given("--eval-every")) c.eval_every = f.eval_every;
  if (given("--val-tokens")) c.val_tokens = f.val_tokens;
  if (given("--save-every")) c.save_every = f.save_every;
  if (given("--n-layer")) c.model.n_layer = f.model.n_layer;
  if (given("--n-embd")) c.model.n_embd = f.model.n_embd;
  if (given("--n-head")) c.model.n_head = f.model.n_head;
  if (given("--n-head-kv"))
    c.model.n_head_kv = f.model.n_head_kv;
  else if (given("--n-head"))
    c.model.n_head_kv = f.model.n_head;
  if (given("--n-ff")) c.model.n_ff = f.model.n_ff;
  if (given("--n-embd") && !given("--n-ff")) c.model.n_ff = 0;
  if (given("--tied")) c.model.tied_output = true;
  if (given("--max-memory")) c.max_memory = FRAGUA_TRY(parse_bytes(o.max_memory));
  if (given("--stop-after")) c.stop_after = f.stop_after;
  c.resume = o.resume;
  c.threads = o.threads;
  c.use_blas = !o.no_blas;
  if (o.precision != "f32" && o.precision != "bf16")
    return invalid_argument_error("train: --precision must be f32 or bf16, not '{}'", o.precision);
  c.bf16 = o.precision == "bf16";
  c.profile = o.profile;
  if (c.data.dir.empty()) return invalid_argument_error("train: --data (a directory of token shards) is required");
  if (c.tokenizer.empty()) FRAGUA_TRY(choose_default_train_tokenizer(c));
  c.stop_flag = &g_stop;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  auto r = FRAGUA_TRY(train::train(c));
  if (r.stopped)
    log_info("stopped at step {}: continue with `fragua train --resume -o {}`", r.step, c.out_dir);
  else if (!r.losses.empty())
    log_info("done: step {}, final training loss {:.4f}; checkpoint in {}", r.step, r.losses.back(), c.out_dir);
  if (r.last_eval.contains("val_bpb")) {
    std::string line;
    for (const auto& [lang, bpb] : r.last_eval["val_bpb"].items())
      line += fmt::format(" {} {:.3f}", lang, bpb.get<double>());
    log_info("validation bits per byte at step {}:{}", r.last_eval["step"].get<int64_t>(), line);
  }
  if (r.profile.contains("parts")) print_train_profile(r.profile, c.out_dir);
  // Interrupted: the checkpoint is saved; now end as the signal would have, so that a shell sees
  // 130 (SIGINT) or 143 (SIGTERM) and a script that ran us stops too
  // (https://www.cons.org/cracauer/sigint.html).
  if (const int sig = g_signal.load(); sig != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  return ok_status();
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "train", "Pretrain a Llama-architecture model on token shards (MPI: mpirun -np N fragua train ...)");
  auto o = std::make_shared<TrainOpts>();
  auto& f = o->flags;
  cmd->add_option("--config", o->config_file, "JSON config (keys as in <out>/config.json); flags override it");
  cmd->add_option("--data", o->data, "Directory of token shards (*.fts) from `fragua corpus shard`");
  add_output_flag(*cmd, o->out, "Run directory: checkpoints/, latest, metrics.jsonl, config.json (required)");
  cmd->add_flag("--resume", o->resume, "Continue the run in -o/--output from its latest checkpoint");
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer GGUF (or 'byte') that must match the shards (default: fragua-32k when the shards were "
                  "made with it, as `corpus shard` does by default)");
  cmd->add_option("--mix", o->mix, "Language mixture, e.g. es=0.35,ca=0.25,gl=0.2,eu=0.2 (default: by size)");
  cmd->add_option("--steps", f.steps, "Optimizer steps (default 1000)");
  cmd->add_option("--batch", f.batch, "Sequences per micro-batch per process (default 8)");
  cmd->add_option("--grad-accum", f.grad_accum, "Micro-batches per optimizer step (default 1)");
  cmd->add_option("--seq-len", f.data.seq_len, "Tokens per sequence (default 256)");
  cmd->add_option("--val-fraction", f.data.val_fraction, "Held-out fraction of each language (default 0.05)");
  cmd->add_option("--data-seed", f.data.seed, "Seed of the data sampler (default 1)");
  cmd->add_option("--lr", f.schedule.lr, "Peak learning rate (default 3e-4)");
  cmd->add_option("--min-lr-ratio", f.schedule.min_lr_ratio, "Final lr as a fraction of the peak (default 0.1)");
  cmd->add_option("--warmup", f.schedule.warmup, "Warmup steps (default 0)");
  cmd->add_option("--schedule", o->schedule, "cosine (default), wsd or constant");
  cmd->add_option("--decay-fraction", f.schedule.decay_fraction, "WSD: fraction of steps spent decaying (default 0.2)");
  cmd->add_option("--weight-decay", f.adamw.weight_decay, "AdamW decoupled weight decay (default 0.1; none on norms)");
  cmd->add_option("--grad-clip", f.adamw.grad_clip, "Clip the global gradient norm (default 1.0; 0 disables)");
  cmd->add_option("--seed", f.seed, "Seed of the weight initialisation (default 1)");
  cmd->add_option("--eval-every", f.eval_every, "Validate every N steps (default 100; 0: at the end)");
  cmd->add_option("--val-tokens", f.val_tokens, "Validation tokens per language (default 16384)");
  cmd->add_option("--save-every", f.save_every, "Checkpoint every N steps (default: at the end)");
  cmd->add_option("--n-layer", f.model.n_layer, "Transformer blocks (default 4)");
  cmd->add_option("--n-embd", f.model.n_embd, "Embedding width (default 256)");
  cmd->add_option("--n-head", f.model.n_head, "Attention heads (default 4)");
  cmd->add_option("--n-head-kv", f.model.n_head_kv, "Key/value heads (grouped-query attention; default n_head)");
  cmd->add_option("--n-ff", f.model.n_ff, "Feed-forward width (default: 8/3 n_embd rounded up to 32)");
  cmd->add_flag("--tied", o->tied, "Tie the output head to the token embedding");
  cmd->add_option("--max-memory", o->max_memory, "Memory budget (e.g. 8G; default: the machine's available memory)");
  cmd->add_option("--stop-after", f.stop_after, "Checkpoint and stop after this step (testing resume)")->group("");
  cmd->add_flag("--no-blas", o->no_blas, "Use Fragua's plain matmul loops instead of OpenBLAS");
  cmd->add_option("--precision", o->precision,
                  "f32 (default) or bf16: BF16 matmul inputs, F32 sums and master weights; needs AVX512-BF16 "
                  "(elsewhere a warning and F32)");
  cmd->add_flag("--profile", o->profile,
                "Time matmul, attention, norms, pointwise, loss, optimizer and data per step; print the table and "
                "write <out>/profile.json");
  add_threads_flag(*cmd, o->threads);
  cmd->callback([cmd, o] {
    require_output(o->out, "DIR");
    check(run_train(*cmd, *o));
  });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
