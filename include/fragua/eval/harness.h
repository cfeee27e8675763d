// SPDX-License-Identifier: Apache-2.0
// Running benchmark tasks (task.h) on a model and reporting them in lm-evaluation-harness's
// results layout.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/eval/multiple_choice.h"
#include "fragua/eval/task.h"

namespace fragua::eval {

struct RunOptions {
  int64_t limit = -1;      // score the first N documents of the split; -1: all
  int num_fewshot = -1;    // -1: the task's num_fewshot
  uint64_t seed = 1234;    // the harness's default fewshot seed
  bool add_bos = false;    // the harness's add_bos_token (off by default there too)
  bool progress = false;   // a bar with questions per second
  int concurrency = 8;     // a remote model: questions in flight at once
  // A local model: questions scored together, each in a slot of a model::BatchContext
  // (multiple_choice and generate_until tasks; score_continuations_batched,
  // generate_until_batched); 1: one at a time in the given Context.
  int batch_size = 1;
  int n_threads = 0;       // the BatchContext's threads (0: all cores, $FRAGUA_THREADS)
};

struct QuestionRecord {
  size_t doc = 0;                      // index in the evaluated split
  std::vector<size_t> shots;           // indices in the few-shot split
  std::vector<double> loglikelihoods;  // per choice
  std::vector<bool> greedy;            // per choice
  std::vector<size_t> n_tokens;        // per choice: its continuation tokens
  // Per choice: ChoiceScore::token_logprobs and ::tokens (ids; empty from a remote model).
  std::vector<std::vector<double>> token_logprobs;
  std::vector<std::vector<int32_t>> tokens;
  McOutcome outcome;
  std::string generation, reference;   // generate_until: the cut continuation and the gold text
  double loglikelihood = 0;            // loglikelihood_rolling: the text's summed log-probability
  size_t words = 0, bytes = 0;         // loglikelihood_rolling: the harness's count_words/count_bytes
};

struct TaskResult {
  std::string task, language;
  size_t n_docs = 0;   // documents in the split (the harness's n-samples "original")
  int n_shot = 0;
  std::vector<QuestionRecord> questions;  // the scored ones ("effective")
  // Per metric over the questions: acc/acc_norm/exact_match with mean_stderr; chrf/bleu corpus
  // scores with the harness's bootstrap stderr (text_metrics.h); the rolling perplexities with a
  // NaN stderr (the harness reports "N/A").
  std::map<std::string, MeanStderr> metrics;
  double seconds = 0;
};

// Finds a task by name: NAME.yaml (or NAME itself when it is a YAML file) in each of `dirs`, then
// among the built-in tasks (data/eval/tasks/ through find_data_file).
Result<std::string> find_task(const std::string& name, const std::vector<std::string>& dirs, Env& env = Env::posix());

// The questions of a task with their few-shot examples drawn as the harness draws them
// (fewshot.h). `limit` as RunOptions::limit.
struct PreparedTask {
  std::vector<nlohmann::ordered_json> docs, shot_docs;
  std::vector<McQuestion> questions;
  std::vector<std::vector<size_t>> shots;
  int n_shot = 0;
};
Result<PreparedTask> prepare_task(const TaskConfig& task, const RunOptions& options, Env& env = Env::posix());

// Python's len(re.split(r"\s+", text)): one more than the runs of whitespace (the harness's
// count_words; a leading or trailing run counts too).
size_t count_words(std::string_view text);

// Scores every question: one at a time in `ctx`, or options.batch_size at a time in a
// BatchContext of ctx's window over ctx's model (its CPU backend). The model context is left
// cleared.
Result<TaskResult> run_task(model::Context& ctx, const tokenize::Tokenizer& tok, const TaskConfig& task,
                            const RunOptions& options, Env& env = Env::posix());

class RemoteModel;
// The same through an OpenAI-compatible server (remote_model.h), options.concurrency questions at
// a time; the results are those of a serial run. loglikelihood_rolling tasks and add_bos are
// refused (unsupported).
Result<TaskResult> run_task(const RemoteModel& model, const TaskConfig& task, const RunOptions& options,
                            Env& env = Env::posix());

// {"results": {task: {"alias", "acc,none", "acc_stderr,none", ...}}, "versions", "n-shot",
//  "n-samples", "configs", "config": run}: the harness's results JSON.
nlohmann::ordered_json results_json(const std::vector<TaskResult>& results, const std::vector<TaskConfig>& tasks,
                                     const nlohmann::ordered_json& run_config);

}  // namespace fragua::eval
