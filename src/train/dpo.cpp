// SPDX-License-Identifier: Apache-2.0
// DPO on the training engine (dpo.h).
#include "fragua/train/dpo.h"

#include <algorithm>
#include <cmath>

#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "train/finetune_run.h"

namespace fragua::train {

Result<std::vector<DpoPair>> load_dpo_jsonl(const std::string& path, const tokenize::Tokenizer& tok,
                                            const std::string& chat_template, Env& env) {
  std::string text = FRAGUA_TRY(read_file(path, env));
  return parse_dpo_jsonl(text, path, tok, chat_template);
}

Result<std::vector<DpoPair>> parse_dpo_jsonl(std::string_view text, const std::string& path,
                                             const tokenize::Tokenizer& tok, const std::string& chat_template) {
  std::vector<DpoPair> out;
  FRAGUA_TRY(for_each_jsonl_object(text, path, [&](const nlohmann::json& j, const std::string& where) -> Status {
    for (const char* k : {"prompt", "chosen", "rejected"})
      if (!j.contains(k) || !j[k].is_string())
        return invalid_argument_error("{}: \"{}\" must be a string", where, k);
    const std::string prompt = j["prompt"], chosen = j["chosen"], rejected = j["rejected"];
    // A system message from meta.system when present (docs/community.md, the DPO format).
    std::vector<tokenize::ChatMessage> msgs;
    if (j.contains("meta") && j["meta"].is_object() && j["meta"].contains("system") && j["meta"]["system"].is_string())
      msgs.push_back({"system", j["meta"]["system"].get<std::string>()});
    msgs.push_back({"user", prompt});
    DpoPair p;
    msgs.push_back({"assistant", chosen});
    p.chosen = FRAGUA_TRY(encode_sft_conversation(tok, chat_template, msgs, where + " (chosen)"));
    msgs.back().content = rejected;
    p.rejected = FRAGUA_TRY(encode_sft_conversation(tok, chat_template, msgs, where + " (rejected)"));
    out.push_back(std::move(p));
    return ok_status();
  }));
  if (out.empty()) return invalid_argument_error("{}: no preference pairs", path);
  return out;
}

PackedBatch dpo_rows(std::span<const DpoPair> pairs, int T) {
  std::vector<SftExample> rows;
  rows.reserve(pairs.size() * 2);
  for (const DpoPair& p : pairs) {
    rows.push_back(p.chosen);
    rows.push_back(p.rejected);
  }
  return pack_sft(rows, T, /*pack=*/false);
}

std::vector<double> sequence_logps(Model& model, const PackedBatch& b, const KernelOptions& opts, int chunk) {
  std::vector<double> out(static_cast<size_t>(b.rows), 0.0);
  for (int r0 = 0; r0 < b.rows; r0 += chunk) {
    const int n = std::min(chunk, b.rows - r0);
    const size_t off = static_cast<size_t>(r0) * b.T;
    model.forward(b.tokens.data() + off, b.targets.data() + off, n, b.T, opts);
    auto losses = model.losses();
    for (int r = 0; r < n; ++r) {
      double s = 0;
      for (int t = 0; t < b.T; ++t) s -= b.weights[off + static_cast<size_t>(r) * b.T + t] * losses[static_cast<size_t>(r) * b.T + t];
      out[static_cast<size_t>(r0 + r)] = s;
    }
  }
  return out;
}

DpoOutcome dpo_forward_backward(Model& model, const PackedBatch& b, std::span<const double> ref, float beta,
                                bool backward, const KernelOptions& opts) {
  DpoOutcome o;
  const int P = b.rows / 2, T = b.T;
  model.forward(b.tokens.data(), b.targets.data(), b.rows, T, opts);
  auto losses = model.losses();
  o.logp.assign(static_cast<size_t>(b.rows), 0.0);
  for (int r = 0; r < b.rows; ++r)
    for (int t = 0; t < T; ++t) o.logp[r] -= b.weights[static_cast<size_t>(r) * T + t] * losses[static_cast<size_t>(r) * T + t];
  std::vector<float> w(b.weights.size(), 0.0f);
  for (int i = 0; i < P; ++i) {
    const double rw = beta * (o.logp[2 * i] - ref[2 * i]), rl = beta * (o.logp[2 * i + 1] - ref[2 * i + 1]);
    const double z = rw - rl;
    // -log sigmoid(z) = softplus(-z), computed without overflow for either sign.
    o.loss += z > 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z));
    o.reward_margin += z;
    o.chosen_reward += rw;
    o.rejected_reward += rl;
    o.accuracy += z > 0 ? 1 : 0;
    o.logp_accuracy += o.logp[2 * i] > o.logp[2 * i + 1] ? 1 : 0;
    // dL/dlogp_w = -beta sigmoid(-z) / P, dL/dlogp_l = +beta sigmoid(-z) / P; logp = -sum of the
    // masked per-position losses, so each masked loss of the chosen row weighs +beta sigmoid(-z) / P.
    const double g = beta / (1.0 + std::exp(z)) / P;
    for (int t = 0; t < T; ++t) {
      w[static_cast<size_t>(2 * i) * T + t] = static_cast<float>(g * b.weights[static_cast<size_t>(2 * i) * T + t]);
      w[static_cast<size_t>(2 * i + 1) * T + t] = static_cast<float>(-g * b.weights[static_cast<size_t>(2 * i + 1) * T + t]);
    }
  }
  if (P > 0) {
    o.loss /= P;
    o.reward_margin /= P;
    o.chosen_reward /= P;
    o.rejected_reward /= P;
    o.accuracy /= P;
    o.logp_accuracy /= P;
  }
  if (backward) model.backward_weighted(w, opts);
  return o;
}

namespace {

// The DPO outcome of `rows` in groups of at most 2 * pairs_per_forward rows, without gradients.
DpoOutcome dpo_evaluate(Model& model, const PackedBatch& rows, std::span<const double> ref, float beta,
                        const KernelOptions& opts) {
  DpoOutcome total;
  const int P = rows.rows / 2;
  const int step = 4;
  for (int i = 0; i < P; i += step) {
    const int n = std::min(step, P - i);
    PackedBatch part;
    part.T = rows.T;
    part.rows = 2 * n;
    const size_t a = static_cast<size_t>(2 * i) * rows.T, e = static_cast<size_t>(2 * (i + n)) * rows.T;
    part.tokens.assign(rows.tokens.begin() + a, rows.tokens.begin() + e);
    part.targets.assign(rows.targets.begin() + a, rows.targets.begin() + e);
    part.weights.assign(rows.weights.begin() + a, rows.weights.begin() + e);
    DpoOutcome o = dpo_forward_backward(model, part, ref.subspan(static_cast<size_t>(2 * i), 2 * n), beta, false, opts);
    total.loss += o.loss * n;
    total.reward_margin += o.reward_margin * n;
    total.chosen_reward += o.chosen_reward * n;
    total.rejected_reward += o.rejected_reward * n;
    total.accuracy += o.accuracy * n;
    total.logp_accuracy += o.logp_accuracy * n;
    total.logp.insert(total.logp.end(), o.logp.begin(), o.logp.end());
  }
  if (P > 0) {
    total.loss /= P;
    total.reward_margin /= P;
    total.chosen_reward /= P;
    total.rejected_reward /= P;
    total.accuracy /= P;
    total.logp_accuracy /= P;
  }
  return total;
}

nlohmann::json dpo_record(const char* prefix, const DpoOutcome& o) {
  std::string p(prefix);
  return {{p + "loss", o.loss},
          {p + "reward_margin", o.reward_margin},
          {p + "chosen_reward", o.chosen_reward},
          {p + "rejected_reward", o.rejected_reward},
          {p + "accuracy", o.accuracy},
          {p + "logp_accuracy", o.logp_accuracy}};
}

}  // namespace

Result<TuneResult> align_dpo(const DpoConfig& c) {
  if (c.data.empty()) return invalid_argument_error("align: --data is required");
  if (!(c.beta > 0) || !std::isfinite(c.beta)) return invalid_argument_error("align: --beta must be positive (got {})", c.beta);
  if (!(c.eval_split >= 0 && c.eval_split < 1))
    return invalid_argument_error("align: --eval-split must be in [0, 1) (got {})", c.eval_split);
  auto run = FRAGUA_TRY(TuneRun::open(c));
  TuneRun& r = *run;
  std::vector<DpoPair> pairs = FRAGUA_TRY(load_dpo_jsonl(c.data, *r.tok, r.chat_template, r.env()));
  std::vector<DpoPair> held;
  if (!c.eval_data.empty()) {
    held = FRAGUA_TRY(load_dpo_jsonl(c.eval_data, *r.tok, r.chat_template, r.env()));
  } else if (c.eval_split > 0 && pairs.size() >= 2) {
    const size_t n = std::max<size_t>(1, static_cast<size_t>(c.eval_split * pairs.size()));
    held.assign(pairs.end() - static_cast<std::ptrdiff_t>(n), pairs.end());
    pairs.resize(pairs.size() - n);
  }
  const int T = std::min<int>(c.seq_len, static_cast<int>(r.model->config().n_ctx_train));
  const PackedBatch train_rows = dpo_rows(pairs, T), eval_rows = dpo_rows(held, T);
  FRAGUA_TRY(r.start("dpo", {{"data", c.data}, {"beta", c.beta}, {"pairs", pairs.size()}, {"held_out", held.size()}}));
  // The frozen reference: the starting model (LoRA's B is 0, so the merged model is the base).
  r.before_forward();
  const std::string ref_path = c.out_dir + "/reference_logps.json";
  std::vector<double> ref_train, ref_eval;
  if (c.resume && r.env().file_exists(ref_path)) {
    auto j = nlohmann::json::parse(FRAGUA_TRY(read_file(ref_path, r.env())), nullptr, false);
    if (j.is_discarded() || !j.contains("train") || !j.contains("eval"))
      return corruption_error("{}: expected {{\"train\": [...], \"eval\": [...]}}", ref_path);
    ref_train = j["train"].get<std::vector<double>>();
    ref_eval = j["eval"].get<std::vector<double>>();
    if (ref_train.size() != static_cast<size_t>(train_rows.rows) || ref_eval.size() != static_cast<size_t>(eval_rows.rows))
      return corruption_error("{}: {} / {} values for {} / {} rows", ref_path, ref_train.size(), ref_eval.size(),
                              train_rows.rows, eval_rows.rows);
  } else {
    if (r.step > 0)
      return invalid_argument_error("{}: missing; the reference log-probabilities of a resumed run cannot be recomputed",
                                    ref_path);
    ref_train = sequence_logps(*r.model, train_rows, r.kopts);
    ref_eval = sequence_logps(*r.model, eval_rows, r.kopts);
    FRAGUA_TRY(write_file_atomic(ref_path, nlohmann::json{{"train", ref_train}, {"eval", ref_eval}}.dump() + "\n", r.env()));
  }
  TuneResult res;
  auto evaluate = [&](const char* when) -> Status {
    if (eval_rows.rows == 0) return ok_status();
    r.before_forward();
    DpoOutcome o = dpo_evaluate(*r.model, eval_rows, ref_eval, c.beta, r.kopts);
    nlohmann::json rec = dpo_record("val_", o);
    rec["step"] = r.step;
    rec["when"] = when;
    res.last_eval[when] = rec;
    return r.metrics.write(rec);
  };
  FRAGUA_TRY(evaluate("start"));
  ProgressBar bar("align", static_cast<uint64_t>(c.steps), "step");
  bar.set(static_cast<uint64_t>(r.step));
  const int P = static_cast<int>(pairs.size());
  std::vector<double> ref_step(static_cast<size_t>(2 * c.batch));
  PackedBatch step_rows;
  step_rows.T = T;
  step_rows.rows = 2 * c.batch;
  while (r.step < c.steps) {
    if ((c.stop_flag && c.stop_flag->load()) || (c.stop_after >= 0 && static_cast<int64_t>(res.losses.size()) >= c.stop_after)) {
      res.stopped = true;
      break;
    }
    step_rows.tokens.clear();
    step_rows.targets.clear();
    step_rows.weights.clear();
    // Pairs in a seeded order, the same for a resumed run.
    for (int i = 0; i < c.batch; ++i) {
      const int64_t k = r.step * c.batch + i;
      Rng rng(c.seed * 7919 + static_cast<uint64_t>(k / P));
      std::vector<int> perm(static_cast<size_t>(P));
      for (int j = 0; j < P; ++j) perm[j] = j;
      for (int j = P - 1; j > 0; --j) std::swap(perm[j], perm[rng.next() % static_cast<uint64_t>(j + 1)]);
      const int p = perm[static_cast<size_t>(k % P)];
      for (int s = 0; s < 2; ++s) {
        const size_t off = static_cast<size_t>(2 * p + s) * T;
        step_rows.tokens.insert(step_rows.tokens.end(), train_rows.tokens.begin() + off, train_rows.tokens.begin() + off + T);
        step_rows.targets.insert(step_rows.targets.end(), train_rows.targets.begin() + off, train_rows.targets.begin() + off + T);
        step_rows.weights.insert(step_rows.weights.end(), train_rows.weights.begin() + off, train_rows.weights.begin() + off + T);
        ref_step[static_cast<size_t>(2 * i + s)] = ref_train[static_cast<size_t>(2 * p + s)];
      }
    }
    r.zero_grad();
    r.before_forward(/*training=*/true);
    DpoOutcome o = dpo_forward_backward(*r.model, step_rows, ref_step, c.beta, true, r.kopts);
    const float lr = r.cfg.schedule.lr_at(r.step);
    const float norm = r.optimizer_step(lr);
    ++r.step;
    res.losses.push_back(static_cast<float>(o.loss));
    nlohmann::json rec = dpo_record("", o);
    rec["step"] = r.step;
    rec["lr"] = lr;
    rec["grad_norm"] = norm;
    FRAGUA_TRY(r.metrics.write(rec));
    bar.set(static_cast<uint64_t>(r.step));
    bar.set_postfix(fmt::format("loss {:.4f} margin {:.3f}", o.loss, o.reward_margin));
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
