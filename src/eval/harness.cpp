// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/harness.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <cmath>
#include <optional>
#include <span>

#include "fragua/base/data_files.h"
#include "fragua/base/progress.h"
#include "fragua/eval/fewshot.h"
#include "fragua/eval/generate.h"
#include "fragua/eval/openai_client.h"
#include "fragua/eval/remote_model.h"
#include "fragua/eval/text_metrics.h"
#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::eval {

Result<std::string> find_task(const std::string& name, const std::vector<std::string>& dirs, Env& env) {
  if ((name.ends_with(".yaml") || name.ends_with(".yml")) && env.file_exists(name)) return name;
  if (name.empty() || name.find('/') != std::string::npos || name.starts_with('.'))
    return not_found_error("task '{}': no such YAML file", name);
  for (const auto& d : dirs) {
    const std::string p = d + "/" + name + ".yaml";
    if (env.file_exists(p)) return p;
  }
  auto builtin = find_data_file("eval/tasks/" + name + ".yaml");
  if (builtin.ok()) return *builtin;
  return not_found_error("task '{}': no {}.yaml in {}the built-in tasks (data/eval/tasks/)", name, name,
                         dirs.empty() ? "" : "--task-dir or ");
}

size_t count_words(std::string_view text) {
  size_t n = 1;
  bool in_space = false;
  for (char c : text) {
    const bool space = std::string_view(" \t\n\r\v\f").find(c) != std::string_view::npos;
    if (space && !in_space) ++n;
    in_space = space;
  }
  return n;
}

Result<PreparedTask> prepare_task(const TaskConfig& task, const RunOptions& o, Env& env) {
  PreparedTask p;
  p.docs = FRAGUA_TRY(load_split(task, task.eval_split(), env));
  p.n_shot = o.num_fewshot >= 0 ? o.num_fewshot : task.num_fewshot;
  const std::string shot_split = task.shot_split();
  const bool same_split = shot_split == task.eval_split();
  if (p.n_shot > 0) {
    if (shot_split.empty())
      return invalid_argument_error("{}: {} few-shot examples but no fewshot_split, training_split or validation_split",
                                    task.path, p.n_shot);
    if (!same_split) p.shot_docs = FRAGUA_TRY(load_split(task, shot_split, env));
  }
  const auto& shot_docs = same_split ? p.docs : p.shot_docs;
  const size_t n = o.limit >= 0 ? std::min(p.docs.size(), static_cast<size_t>(o.limit)) : p.docs.size();
  PyRandom rnd(o.seed);
  for (size_t d = 0; d < n; ++d) {
    std::vector<size_t> shots;
    if (p.n_shot > 0) shots = sample_fewshot(rnd, shot_docs.size(), static_cast<size_t>(p.n_shot), same_split, d);
    std::vector<const nlohmann::ordered_json*> shot_ptrs;
    for (size_t s : shots) shot_ptrs.push_back(&shot_docs[s]);
    auto q = build_question(task, p.docs[d], shot_ptrs);
    if (!q.ok())
      return std::move(q).error().with_context(fmt::format("{}: {} document {}", task.path, task.eval_split(), d));
    p.questions.push_back(std::move(*q));
    p.shots.push_back(std::move(shots));
  }
  return p;
}

namespace {

// Fills the records of questions [begin, end) (their scores; doc and shots are set by the
// caller).
using HarnessGroupScorer =
    std::function<Status(std::span<const McQuestion> qs, std::span<QuestionRecord> recs)>;

// Scores every question of `task` through `score`, `group` questions per call, on up to
// `concurrency` threads, then aggregates the records in document order, so the result does not
// depend on the concurrency or the grouping.
Result<TaskResult> run_task_with_scorer(const TaskConfig& task, const RunOptions& o, Env& env,
                                        const HarnessGroupScorer& score, int concurrency, size_t group) {
  const auto t0 = std::chrono::steady_clock::now();
  PreparedTask p = FRAGUA_TRY(prepare_task(task, o, env));
  TaskResult r;
  r.task = task.task;
  r.language = task.language;
  r.n_docs = p.docs.size();
  r.n_shot = p.n_shot;
  std::optional<ProgressBar> bar;
  if (o.progress) bar.emplace(task.task, p.questions.size(), "q");
  const size_t n = p.questions.size();
  group = std::max<size_t>(1, group);
  r.questions.resize(n);
  FRAGUA_TRY(run_concurrently(
      (n + group - 1) / group, group == 1 ? concurrency : 1,
      [&](size_t g) -> Status {
        const size_t begin = g * group, end = std::min(n, begin + group);
        for (size_t i = begin; i < end; ++i) r.questions[i].doc = i, r.questions[i].shots = p.shots[i];
        Status s = score(std::span<const McQuestion>(p.questions).subspan(begin, end - begin),
                         std::span<QuestionRecord>(r.questions).subspan(begin, end - begin));
        if (!s.ok())
          return std::move(s).error().with_context(
              end - begin == 1 ? fmt::format("{}: {} document {}", task.task, task.eval_split(), begin)
                               : fmt::format("{}: {} documents {}-{}", task.task, task.eval_split(), begin, end - 1));
        if (bar && group > 1) bar->add(end - begin);
        return ok_status();
      },
      bar && group == 1 ? &*bar : nullptr));
  std::vector<double> acc, acc_norm, exact;
  std::vector<BleuStats> bleu;
  std::vector<ChrfStats> chrf;
  for (const auto& rec : r.questions) {
    if (task.output_type == "multiple_choice") {
      acc.push_back(rec.outcome.acc);
      acc_norm.push_back(rec.outcome.acc_norm);
    } else if (task.output_type == "generate_until") {
      exact.push_back(exact_match(rec.generation, rec.reference));
      bleu.push_back(bleu_stats(rec.generation, {rec.reference}));
      chrf.push_back(chrf_stats(rec.generation, {rec.reference}));
    }
  }
  double ll = 0, words = 0, bytes = 0;
  for (const auto& q : r.questions) ll += q.loglikelihood, words += static_cast<double>(q.words), bytes += static_cast<double>(q.bytes);
  for (const auto& m : task.metrics) {
    if (m == "acc" || m == "acc_norm") {
      r.metrics[m] = mean_stderr(m == "acc" ? acc : acc_norm);
    } else if (m == "exact_match") {
      r.metrics[m] = mean_stderr(exact);
    } else if (m == "bleu" || m == "chrf") {
      // The harness's corpus aggregation and its bootstrap (100 resamples for these two).
      BleuStats bs;
      for (const auto& b : bleu) bs += b;
      ChrfStats cs;
      for (const auto& c : chrf) cs += c;
      r.metrics[m] = m == "bleu" ? MeanStderr{bleu_score(bs), bootstrap_stderr_bleu(bleu)}
                                 : MeanStderr{chrf_score(cs), bootstrap_stderr_chrf(chrf)};
    } else {
      // weighted_perplexity: exp(-sum ll / sum count); bits_per_byte: -sum ll / sum bytes / ln 2.
      const double v = m == "word_perplexity" ? std::exp(-ll / words)
                       : m == "byte_perplexity" ? std::exp(-ll / bytes)
                                                : -ll / bytes / std::log(2.0);
      r.metrics[m] = MeanStderr{v, std::nan("")};
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void record_choice_scores(const std::vector<ChoiceScore>& scores, const McQuestion& q, QuestionRecord& rec) {
  for (const auto& s : scores) {
    rec.loglikelihoods.push_back(s.loglikelihood);
    rec.greedy.push_back(s.greedy);
    rec.n_tokens.push_back(s.n_tokens);
    rec.token_logprobs.push_back(s.token_logprobs);
    rec.tokens.push_back(s.tokens);
  }
  rec.outcome = score_question(rec.loglikelihoods, q.choices, q.gold);
}

std::vector<std::string> delimited_choices(const TaskConfig& task, const McQuestion& q) {
  std::vector<std::string> conts;
  for (const auto& c : q.choices) conts.push_back(task.target_delimiter + c);
  return conts;
}

}  // namespace

Result<TaskResult> run_task(model::Context& ctx, const tokenize::Tokenizer& tok, const TaskConfig& task,
                            const RunOptions& o, Env& env) {
  const GenerationOptions gen{.until = task.until, .max_gen_toks = task.max_gen_toks, .add_bos = o.add_bos};
  auto score_one = [&](const McQuestion& q, QuestionRecord& rec) -> Status {
    if (task.output_type == "generate_until") {
      rec.generation = FRAGUA_TRY(generate_until(ctx, tok, q.context, gen));
      rec.reference = q.target;
    } else if (task.output_type == "loglikelihood_rolling") {
      auto s = FRAGUA_TRY(loglikelihood_rolling(ctx, tok, q.target));
      rec.loglikelihood = s.loglikelihood;
      rec.words = count_words(q.target);
      rec.bytes = q.target.size();
    } else {
      record_choice_scores(FRAGUA_TRY(score_continuations(ctx, tok, q.context, delimited_choices(task, q), o.add_bos)),
                           q, rec);
    }
    return ok_status();
  };
  const bool batched = o.batch_size > 1 && task.output_type != "loglikelihood_rolling";
  if (!batched) {
    auto score = [&](std::span<const McQuestion> qs, std::span<QuestionRecord> recs) -> Status {
      return score_one(qs[0], recs[0]);
    };
    return run_task_with_scorer(task, o, env, score, 1, 1);  // one Context: one question at a time
  }
  // Each slot holds as many positions as the longest question needs, at most ctx's window: the
  // same truncation as ctx's window (none below it), without a window-sized cache per slot.
  int64_t positions = 2;
  {
    PreparedTask p = FRAGUA_TRY(prepare_task(task, o, env));
    for (const auto& q : p.questions) {
      if (task.output_type == "generate_until") {
        const auto n = static_cast<int64_t>(FRAGUA_TRY(tok.try_encode(q.context, false, false)).size());
        positions = std::max(positions, n + 1 + task.max_gen_toks);  // + 1: a BOS
        continue;
      }
      for (const auto& c : delimited_choices(task, q)) {
        const EncodedPair e = FRAGUA_TRY(encode_pair(tok, q.context, c, o.add_bos));
        positions = std::max(positions, static_cast<int64_t>(e.context.size() + e.continuation.size()));
      }
      if (positions >= ctx.n_ctx()) break;
    }
  }
  auto batch = FRAGUA_TRY(model::BatchContext::create(
      ctx.model(),
      {.n_seq = o.batch_size, .n_ctx_per_seq = std::min(positions, ctx.n_ctx()), .n_threads = o.n_threads}));
  auto score = [&](std::span<const McQuestion> qs, std::span<QuestionRecord> recs) -> Status {
    if (task.output_type == "generate_until") {
      std::vector<std::string> contexts;
      for (const auto& q : qs) contexts.push_back(q.context);
      auto texts = FRAGUA_TRY(generate_until_batched(*batch, tok, contexts, gen));
      for (size_t i = 0; i < qs.size(); ++i) recs[i].generation = std::move(texts[i]), recs[i].reference = qs[i].target;
      return ok_status();
    }
    std::vector<ChoiceRequest> requests;
    for (const auto& q : qs) requests.push_back({q.context, delimited_choices(task, q)});
    auto scores = FRAGUA_TRY(score_continuations_batched(*batch, tok, requests, o.add_bos));
    for (size_t i = 0; i < qs.size(); ++i) record_choice_scores(scores[i], qs[i], recs[i]);
    return ok_status();
  };
  return run_task_with_scorer(task, o, env, score, 1, static_cast<size_t>(o.batch_size));
}

Result<TaskResult> run_task(const RemoteModel& model, const TaskConfig& task, const RunOptions& o, Env& env) {
  if (task.output_type == "loglikelihood_rolling")
    return unsupported_error("{}: loglikelihood_rolling tasks need a local model (the server's first token has no "
                             "log-probability to roll windows over)",
                             task.path);
  if (o.add_bos)
    return unsupported_error("{}: --add-bos with a remote model: the server decides whether the prompt gets a BOS",
                             task.path);
  auto score_one = [&](const McQuestion& q, QuestionRecord& rec) -> Status {
    if (task.output_type == "generate_until") {
      rec.generation = FRAGUA_TRY(model.generate_until(q.context, {.until = task.until, .max_gen_toks = task.max_gen_toks}));
      rec.reference = q.target;
    } else {
      record_choice_scores(FRAGUA_TRY(model.score_continuations(q.context, delimited_choices(task, q))), q, rec);
    }
    return ok_status();
  };
  auto score = [&](std::span<const McQuestion> qs, std::span<QuestionRecord> recs) -> Status {
    return score_one(qs[0], recs[0]);
  };
  return run_task_with_scorer(task, o, env, score, std::max(1, o.concurrency), 1);
}

nlohmann::ordered_json results_json(const std::vector<TaskResult>& results, const std::vector<TaskConfig>& tasks,
                                     const nlohmann::ordered_json& run_config) {
  nlohmann::ordered_json out = {{"results", nlohmann::ordered_json::object()},
                                {"versions", nlohmann::ordered_json::object()},
                                {"n-shot", nlohmann::ordered_json::object()},
                                {"n-samples", nlohmann::ordered_json::object()},
                                {"configs", nlohmann::ordered_json::object()},
                                {"config", run_config}};
  for (size_t i = 0; i < results.size(); ++i) {
    const TaskResult& r = results[i];
    nlohmann::ordered_json res = {{"alias", r.task}};
    for (const auto& [name, m] : r.metrics) {
      res[name + ",none"] = m.mean;
      res[name + "_stderr,none"] = std::isnan(m.stderr_) ? nlohmann::ordered_json("N/A") : nlohmann::ordered_json(m.stderr_);
    }
    out["results"][r.task] = res;
    out["versions"][r.task] = i < tasks.size() ? tasks[i].version : 0.0;
    out["n-shot"][r.task] = r.n_shot;
    out["n-samples"][r.task] = {{"original", r.n_docs}, {"effective", r.questions.size()}};
    if (i < tasks.size()) {
      auto cfg = tasks[i].config;
      cfg["num_fewshot"] = r.n_shot;
      out["configs"][r.task] = cfg;
    }
  }
  return out;
}

}  // namespace fragua::eval
