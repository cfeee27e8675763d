// SPDX-License-Identifier: Apache-2.0
// Supervised fine-tuning and the run it shares with DPO (finetune.h, finetune_run.h).
#include "fragua/train/finetune.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/format/safetensors.h"
#include "fragua/train/import_gguf.h"
#include "train/finetune_run.h"

namespace fragua::train {

// ---- data ----

Result<SftExample> encode_sft_conversation(const tokenize::Tokenizer& tok, const std::string& chat_template,
                                           const std::vector<tokenize::ChatMessage>& messages, const std::string& where) {
  SftExample ex;
  auto full = tokenize::encode_chat(tok, chat_template, messages, /*add_generation_prompt=*/false);
  if (!full.ok()) return std::move(full).error().with_context(where);
  ex.tokens = std::move(*full);
  ex.loss.assign(ex.tokens.size(), 0);
  bool any = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role != "assistant") continue;
    std::span<const tokenize::ChatMessage> before(messages.data(), i), upto(messages.data(), i + 1);
    auto prompt = tokenize::encode_chat(tok, chat_template, before, /*add_generation_prompt=*/true);
    if (!prompt.ok()) return std::move(prompt).error().with_context(where);
    auto with = tokenize::encode_chat(tok, chat_template, upto, /*add_generation_prompt=*/false);
    if (!with.ok()) return std::move(with).error().with_context(where);
    // The assistant turn is what rendering it adds to the generation prompt; a template that
    // re-renders earlier turns differently (it drops reasoning, say) cannot be masked this way.
    const size_t p = prompt->size(), w = with->size();
    if (w < p || !std::equal(prompt->begin(), prompt->end(), with->begin()) || w > ex.tokens.size() ||
        !std::equal(with->begin(), with->end(), ex.tokens.begin()))
      return invalid_argument_error(
          "{}: message {}: the chat template does not render the conversation as a prefix of itself, so the assistant "
          "tokens cannot be told apart",
          where, i + 1);
    for (size_t t = p; t < w; ++t) ex.loss[t] = 1;
    any |= w > p;
  }
  if (!any) return invalid_argument_error("{}: no assistant message with content to learn from", where);
  return ex;
}

Status for_each_jsonl_object(std::string_view text, const std::string& path,
                             const std::function<Status(const nlohmann::json&, const std::string&)>& fn) {
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = fmt::format("{}:{}", path, line_no);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return invalid_argument_error("{}: not valid JSON", where);
    if (!j.is_object()) return invalid_argument_error("{}: expected an object", where);
    FRAGUA_TRY(fn(j, where));
  }
  return ok_status();
}

Result<std::vector<SftExample>> load_sft_jsonl(const std::string& path, const tokenize::Tokenizer& tok,
                                               const std::string& chat_template, Env& env) {
  std::string text = FRAGUA_TRY(read_file(path, env));
  return parse_sft_jsonl(text, path, tok, chat_template);
}

Result<std::vector<SftExample>> parse_sft_jsonl(std::string_view text, const std::string& path,
                                                const tokenize::Tokenizer& tok, const std::string& chat_template) {
  std::vector<SftExample> out;
  FRAGUA_TRY(for_each_jsonl_object(text, path, [&](const nlohmann::json& j, const std::string& where) -> Status {
    if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty())
      return invalid_argument_error("{}: expected an object with a non-empty \"messages\" array", where);
    std::vector<tokenize::ChatMessage> msgs;
    for (size_t i = 0; i < j["messages"].size(); ++i) {
      const auto& m = j["messages"][i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
          !m["content"].is_string())
        return invalid_argument_error("{}: messages[{}]: expected {{\"role\": string, \"content\": string}}", where, i);
      msgs.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    out.push_back(FRAGUA_TRY(encode_sft_conversation(tok, chat_template, msgs, where)));
    return ok_status();
  }));
  if (out.empty()) return invalid_argument_error("{}: no conversations", path);
  return out;
}

PackedBatch pack_sft(const std::vector<SftExample>& examples, int T, bool pack) {
  PackedBatch b;
  b.T = T;
  size_t cut = 0;
  auto new_row = [&] {
    b.tokens.resize(b.tokens.size() + T, 0);
    b.targets.resize(b.targets.size() + T, 0);
    b.weights.resize(b.weights.size() + T, 0.0f);
    ++b.rows;
  };
  int used = T;  // of the current row
  for (const SftExample& ex : examples) {
    const int n = static_cast<int>(std::min<size_t>(ex.tokens.size(), T));
    if (ex.tokens.size() > static_cast<size_t>(T)) ++cut;
    if (!pack || used + n > T) {
      new_row();
      used = 0;
    }
    const size_t base = static_cast<size_t>(b.rows - 1) * T + used;
    for (int t = 0; t < n; ++t) {
      b.tokens[base + t] = ex.tokens[t];
      // Position t predicts token t+1 of the same conversation.
      if (t + 1 < n) {
        b.targets[base + t] = ex.tokens[t + 1];
        b.weights[base + t] = ex.loss[t + 1] ? 1.0f : 0.0f;
      }
    }
    used += n;
  }
  if (cut) log_warn("finetune: {} conversation(s) longer than seq_len {} were cut", cut, T);
  return b;
}

// ---- the shared run ----

Result<std::unique_ptr<TuneRun>> TuneRun::open(const TuneConfig& c) {
  if (c.out_dir.empty()) return invalid_argument_error("finetune: --output is required");
  if (c.batch <= 0) return invalid_argument_error("finetune: --batch must be positive (got {})", c.batch);
  if (c.steps <= 0) return invalid_argument_error("finetune: --steps must be positive (got {})", c.steps);
  if (c.seq_len < 2) return invalid_argument_error("finetune: --seq-len must be at least 2 (got {})", c.seq_len);
  if (!(c.schedule.lr > 0)) return invalid_argument_error("finetune: --lr must be positive");
  if (c.lora) FRAGUA_TRY(c.lora_config.check());
  auto r = std::make_unique<TuneRun>();
  r->cfg = c;
  r->cfg.schedule.total = c.steps;
  r->source.emplace(FRAGUA_TRY(format::GgufFile::open(c.model)));
  r->model.emplace(FRAGUA_TRY(load_gguf_model(*r->source)));
  if (!r->source->find("tokenizer.ggml.model"))
    return invalid_argument_error("{}: the model holds no tokenizer (tokenizer.ggml.model); fine-tuning renders text with it",
                                  c.model);
  r->tok.emplace(FRAGUA_TRY(tokenize::Tokenizer::load(c.model)));
  if (r->tok->n_vocab() > r->model->config().n_vocab)
    return invalid_argument_error("{}: the tokenizer has {} tokens, the model embeds {}", c.model, r->tok->n_vocab(),
                                  r->model->config().n_vocab);
  r->chat_template = c.chat_template;
  if (r->chat_template.empty()) r->chat_template = FRAGUA_TRY(r->source->get_string_or("tokenizer.chat_template", ""));
  if (r->chat_template.empty()) {
    log_warn("{}: no tokenizer.chat_template; rendering with chatml", c.model);
    r->chat_template = "chatml";
  }
  FRAGUA_TRY(tokenize::detect_chat_template(r->chat_template));
  if (c.lora) r->lora.emplace(FRAGUA_TRY(Lora::create(*r->model, c.lora_config, c.seed)));
  const int threads = c.threads > 0 ? c.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (threads > 1) r->pool = std::make_unique<ThreadPool>(threads);
  r->kopts.pool = r->pool.get();
  AdamWConfig ac = c.adamw;
  if (c.lora) ac.weight_decay = 0.0f;  // the adapter starts at zero change; decay pulls A, not W, to 0
  r->opt.emplace(ac, r->trainable().size());
  return r;
}

nlohmann::json TuneConfig::to_json() const {
  return {{"model", model},         {"chat_template", chat_template},
          {"lora", lora},           {"lora_config", lora_config.to_json()},
          {"seq_len", seq_len},     {"batch", batch},
          {"steps", steps},         {"schedule", schedule.to_json()},
          {"seed", seed},           {"adamw", {{"beta1", adamw.beta1}, {"beta2", adamw.beta2}, {"weight_decay", adamw.weight_decay}, {"grad_clip", adamw.grad_clip}}}};
}

namespace {

std::string tune_step_name(int64_t step) { return fmt::format("step-{:08d}", step); }

}  // namespace

Status TuneRun::start(const std::string& kind, const nlohmann::json& extra) {
  Env& e = env();
  FRAGUA_TRY(e.create_dirs(cfg.out_dir));
  nlohmann::json conf = cfg.to_json();
  conf["kind"] = kind;
  conf.update(extra);
  const std::string latest = cfg.out_dir + "/latest";
  if (cfg.resume && e.file_exists(latest)) {
    std::string name = FRAGUA_TRY(read_file(latest, e));
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    const std::string dir = cfg.out_dir + "/checkpoints/" + name;
    auto f = format::SafetensorsFile::open(dir + "/trainable.safetensors");
    if (!f.ok()) return std::move(f).error().with_context("resume");
    ParamStore& s = trainable();
    FRAGUA_TRY(s.read_safetensors(*f, "", s.params().data()));
    FRAGUA_TRY(s.read_safetensors(*f, "m/", opt->m().data()));
    FRAGUA_TRY(s.read_safetensors(*f, "v/", opt->v().data()));
    std::string st = FRAGUA_TRY(read_file(dir + "/state.json", e));
    nlohmann::json j = nlohmann::json::parse(st, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || !j["step"].is_number_integer())
      return corruption_error("{}/state.json: no integer \"step\"", dir);
    step = j["step"].get<int64_t>();
    opt->set_t(j.value("adam_t", step));
    log_info("{}: resumed at step {}", cfg.out_dir, step);
  } else if (cfg.resume) {
    return not_found_error("{}: no checkpoint to resume from", latest);
  } else if (e.file_exists(latest)) {
    return invalid_argument_error("{}: a run is already there (--resume to continue it)", cfg.out_dir);
  }
  FRAGUA_TRY(write_file_atomic(cfg.out_dir + "/config.json", conf.dump(2) + "\n", e));
  metrics = FRAGUA_TRY(MetricsWriter::open(cfg.out_dir + "/metrics.jsonl", /*append=*/cfg.resume));
  return ok_status();
}

void TuneRun::zero_grad() {
  model->zero_grad();
  if (lora) lora->store().zero_grad();
}

void TuneRun::before_forward(bool training) {
  if (!lora) return;
  if (training && lora->config().dropout > 0.0f) {
    // A fresh mask each step, the same for a resumed run.
    lora->attach_branch(*model, cfg.seed ^ (0xd1b54a32d192ed03ULL * static_cast<uint64_t>(step + 1)));
    branch_attached = true;
    return;
  }
  if (branch_attached) lora->detach_branch(*model);
  branch_attached = false;
  lora->merge_into(*model);
}

float TuneRun::optimizer_step(float lr) {
  if (lora && !branch_attached) lora->accumulate_grads(*model);
  ParamStore& s = trainable();
  float norm = opt->step(s.params(), s.grads(), s.infos(), lr, pool.get());
  if (lora) {
    if (branch_attached) lora->detach_branch(*model);
    branch_attached = false;
    lora->merge_into(*model);  // the model now holds the stepped adapter
  }
  return norm;
}

Status TuneRun::save_checkpoint() {
  Env& e = env();
  const std::string name = tune_step_name(step), dir = cfg.out_dir + "/checkpoints/" + name;
  FRAGUA_TRY(e.create_dirs(dir));
  ParamStore& s = trainable();
  format::SafetensorsWriter w;
  w.set_metadata("format", lora ? "fragua.lora_run" : "fragua.finetune_run");
  FRAGUA_TRY(s.add_safetensors(w, "", s.params().data()));
  FRAGUA_TRY(s.add_safetensors(w, "m/", opt->m().data()));
  FRAGUA_TRY(s.add_safetensors(w, "v/", opt->v().data()));
  FRAGUA_TRY(w.write(dir + "/trainable.safetensors", e));
  nlohmann::json st = {{"step", step}, {"adam_t", opt->t()}};
  FRAGUA_TRY(write_file_atomic(dir + "/state.json", st.dump() + "\n", e));
  return write_file_atomic(cfg.out_dir + "/latest", name + "\n", e);
}

Status TuneRun::write_outputs(TuneResult& result) {
  Env& e = env();
  const std::string name = FRAGUA_TRY(source->get_string_or("general.name", "model")) + "-finetuned";
  if (lora) {
    const std::string a = cfg.out_dir + "/adapter.gguf";
    FRAGUA_TRY(lora->save_gguf(a, name, e));
    result.outputs.push_back(a);
    FRAGUA_TRY(lora->save_peft(cfg.out_dir + "/peft", cfg.model, e));
    result.outputs.push_back(cfg.out_dir + "/peft/adapter_model.safetensors");
    result.outputs.push_back(cfg.out_dir + "/peft/adapter_config.json");
    if (cfg.merge) {
      lora->merge_into(*model);
      FRAGUA_TRY(save_gguf_model(*model, *source, cfg.out_dir + "/merged.gguf", e));
      result.outputs.push_back(cfg.out_dir + "/merged.gguf");
    }
  } else {
    FRAGUA_TRY(save_gguf_model(*model, *source, cfg.out_dir + "/model.gguf", e));
    result.outputs.push_back(cfg.out_dir + "/model.gguf");
  }
  return ok_status();
}

// ---- SFT ----

Result<double> sft_eval_loss(Model& model, const PackedBatch& b, int threads) {
  std::unique_ptr<ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<ThreadPool>(threads);
  KernelOptions ko;
  ko.pool = pool.get();
  double sum = 0, n = 0;
  for (int r = 0; r < b.rows; ++r) {
    const size_t off = static_cast<size_t>(r) * b.T;
    model.forward(b.tokens.data() + off, b.targets.data() + off, 1, b.T, ko);
    auto losses = model.losses();
    for (int t = 0; t < b.T; ++t)
      if (b.weights[off + t] > 0) {
        sum += losses[t];
        n += 1;
      }
  }
  if (n == 0) return invalid_argument_error("sft_eval_loss: no trained tokens");
  return sum / n;
}

namespace {

// The rows of step `step`: a seeded permutation of all rows, walked `batch` at a time (so a
// resumed run takes the same rows as an uninterrupted one).
std::vector<int> sft_step_rows(int rows, int batch, int64_t step, uint64_t seed) {
  const int64_t epoch_len = std::max(1, rows / std::max(1, batch)) * static_cast<int64_t>(batch);
  const int64_t first = step * batch;
  std::vector<int> out;
  std::vector<int> perm;
  int64_t perm_epoch = -1;
  for (int64_t k = first; k < first + batch; ++k) {
    const int64_t epoch = k / epoch_len;
    if (epoch != perm_epoch) {
      perm.resize(rows);
      std::iota(perm.begin(), perm.end(), 0);
      Rng rng(seed * 1000003 + static_cast<uint64_t>(epoch));
      for (int i = rows - 1; i > 0; --i) std::swap(perm[i], perm[rng.next() % static_cast<uint64_t>(i + 1)]);
      perm_epoch = epoch;
    }
    out.push_back(perm[static_cast<size_t>((k % epoch_len) % rows)]);
  }
  return out;
}

}  // namespace

Result<TuneResult> finetune(const SftConfig& c) {
  if (c.data.empty()) return invalid_argument_error("finetune: --data is required");
  if (!(c.eval_split >= 0 && c.eval_split < 1))
    return invalid_argument_error("finetune: --eval-split must be in [0, 1) (got {})", c.eval_split);
  auto run = FRAGUA_TRY(TuneRun::open(c));
  TuneRun& r = *run;
  std::vector<SftExample> all = FRAGUA_TRY(load_sft_jsonl(c.data, *r.tok, r.chat_template, r.env()));
  std::vector<SftExample> held;
  if (!c.eval_data.empty()) {
    held = FRAGUA_TRY(load_sft_jsonl(c.eval_data, *r.tok, r.chat_template, r.env()));
  } else if (c.eval_split > 0 && all.size() >= 2) {
    const size_t n = std::max<size_t>(1, static_cast<size_t>(c.eval_split * all.size()));
    held.assign(all.end() - static_cast<std::ptrdiff_t>(n), all.end());
    all.resize(all.size() - n);
  }
  const int T = std::min<int>(c.seq_len, static_cast<int>(r.model->config().n_ctx_train));
  PackedBatch train_rows = pack_sft(all, T, c.pack);
  PackedBatch eval_rows = held.empty() ? PackedBatch{} : pack_sft(held, T, c.pack);
  FRAGUA_TRY(r.start("sft", {{"data", c.data}, {"pack", c.pack}, {"examples", all.size()}, {"rows", train_rows.rows},
                             {"held_out", held.size()}}));
  TuneResult res;
  res.step = r.step;
  ProgressBar bar("finetune", static_cast<uint64_t>(c.steps), "step");
  bar.set(static_cast<uint64_t>(r.step));
  std::vector<int32_t> tok(static_cast<size_t>(c.batch) * T), tgt(tok.size());
  std::vector<float> w(tok.size());
  // when: "start" (the starting model, before the first step), "step" (--eval-every) or "end",
  // as `fragua align` labels its evaluations.
  auto evaluate = [&](const char* when) -> Status {
    if (eval_rows.rows == 0) return ok_status();
    r.before_forward();
    const double loss = FRAGUA_TRY(sft_eval_loss(*r.model, eval_rows, 1));
    res.last_eval = {{"step", r.step}, {"val_loss", loss}, {"when", when}};
    return r.metrics.write(res.last_eval);
  };
  if (r.step == 0) FRAGUA_TRY(evaluate("start"));
  while (r.step < c.steps) {
    if ((c.stop_flag && c.stop_flag->load()) || (c.stop_after >= 0 && static_cast<int64_t>(res.losses.size()) >= c.stop_after)) {
      res.stopped = true;
      break;
    }
    const auto rows = sft_step_rows(train_rows.rows, c.batch, r.step, c.seed);
    double wsum = 0;
    for (int i = 0; i < c.batch; ++i) {
      const size_t src = static_cast<size_t>(rows[i]) * T, dst = static_cast<size_t>(i) * T;
      std::copy_n(train_rows.tokens.begin() + src, T, tok.begin() + dst);
      std::copy_n(train_rows.targets.begin() + src, T, tgt.begin() + dst);
      std::copy_n(train_rows.weights.begin() + src, T, w.begin() + dst);
      for (int t = 0; t < T; ++t) wsum += w[dst + t];
    }
    const auto t0 = std::chrono::steady_clock::now();
    r.zero_grad();
    r.before_forward(/*training=*/true);
    r.model->forward(tok.data(), tgt.data(), c.batch, T, r.kopts);
    double lsum = 0;
    auto losses = r.model->losses();
    for (size_t n = 0; n < w.size(); ++n) lsum += w[n] * losses[n];
    const float loss = wsum > 0 ? static_cast<float>(lsum / wsum) : 0.0f;
    if (wsum > 0) {
      // The mean loss over the trained tokens of the step.
      std::vector<float> scaled(w.size());
      for (size_t n = 0; n < w.size(); ++n) scaled[n] = static_cast<float>(w[n] / wsum);
      r.model->backward_weighted(scaled, r.kopts);
    }
    const float lr = r.cfg.schedule.lr_at(r.step);
    const float norm = r.optimizer_step(lr);
    ++r.step;
    res.losses.push_back(loss);
    const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // tokens: positions run (batch x seq_len, padding included); trained: those with loss.
    FRAGUA_TRY(r.metrics.write({{"step", r.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", norm},
                                {"tokens", c.batch * T}, {"trained_tokens", wsum}, {"step_s", step_s}}));
    bar.set(static_cast<uint64_t>(r.step));
    bar.set_postfix(fmt::format("loss {:.4f}", loss));
    if (c.eval_every > 0 && r.step % c.eval_every == 0) FRAGUA_TRY(evaluate("step"));
    if (c.save_every > 0 && r.step % c.save_every == 0) FRAGUA_TRY(r.save_checkpoint());
  }
  bar.finish();
  FRAGUA_TRY(r.save_checkpoint());
  res.step = r.step;
  if (!res.stopped) {
    FRAGUA_TRY(evaluate("end"));
    FRAGUA_TRY(r.write_outputs(res));
  }
  return res;
}

}  // namespace fragua::train
