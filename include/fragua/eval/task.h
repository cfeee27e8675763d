// SPDX-License-Identifier: Apache-2.0
// Benchmark task definitions: a YAML file close to lm-evaluation-harness's task YAML, and its
// documents in local JSON-lines files (docs/eval.md, "Tasks"). Supported keys:
//
//   task: copa_es                      name (required)
//   dataset_path: copa_es              folder of <split>.jsonl files, relative to the YAML's folder
//   dataset_kwargs: {data_files: {test: path.jsonl, ...}}   or one file per split (the harness's
//                                      local "json" datasets); paths relative to the YAML
//   test_split / validation_split / training_split / fewshot_split: split names
//   doc_to_text, doc_to_target, doc_to_choice: a field name, or a Jinja template over the
//                                      document's fields; doc_to_choice also a YAML list of
//                                      templates, or a template rendering a Python list literal;
//                                      doc_to_target also a YAML integer
//   target_delimiter (" "), fewshot_delimiter ("\n\n"), description (""), num_fewshot (0)
//   output_type: multiple_choice, generate_until or loglikelihood_rolling
//   generation_kwargs: {until: [...], max_gen_toks: 256, do_sample: false, temperature: 0}
//   metric_list: [{metric: acc}, {metric: acc_norm}]   (multiple_choice)
//                exact_match, chrf, bleu                (generate_until)
//                word_perplexity, byte_perplexity, bits_per_byte   (loglikelihood_rolling)
//   metadata: {version: 1.0, language: es}
//
// Templates render with the Jinja interpreter of the chat templates (tokenize/), given the
// document's fields as variables. Keys this format does not carry (process_docs, filter_list,
// process_results, a `!function`...) are refused by name, never ignored.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::eval {

struct TaskConfig {
  std::string task;
  std::string path;  // the YAML file, for messages
  std::map<std::string, std::string> split_files;  // split name -> JSONL path
  std::string test_split, validation_split, training_split, fewshot_split;
  nlohmann::ordered_json doc_to_text, doc_to_target, doc_to_choice;  // string, integer or list
  std::string target_delimiter = " ", fewshot_delimiter = "\n\n", description;
  int num_fewshot = 0;
  std::string output_type = "multiple_choice";
  std::vector<std::string> metrics = {"acc", "acc_norm"};
  // generate_until: stop strings (the harness's default: [fewshot_delimiter]) and token budget.
  std::vector<std::string> until = {"\n\n"};
  int max_gen_toks = 256;
  double version = 0;
  std::string language;          // metadata.language, for the per-language table
  nlohmann::ordered_json config;  // the YAML as JSON, for the results' "configs"

  // The split scored: test_split, else validation_split.
  const std::string& eval_split() const { return test_split.empty() ? validation_split : test_split; }
  // The split few-shot examples come from: fewshot_split, else training_split, else
  // validation_split (the harness's order).
  std::string shot_split() const;
};

// Parses a task YAML. Errors name the file and the key.
Result<TaskConfig> parse_task(std::string_view yaml, const std::string& path);
Result<TaskConfig> load_task(const std::string& path, Env& env = Env::posix());

// A split's documents: one JSON object per non-blank line. Errors name the file and line.
Result<std::vector<nlohmann::ordered_json>> parse_docs(std::string_view jsonl, const std::string& path);
Result<std::vector<nlohmann::ordered_json>> load_split(const TaskConfig& task, const std::string& split,
                                                       Env& env = Env::posix());

// Renders a doc_to_* value for one document: a string that names a field gives that field (as
// text), a Jinja template its rendering, a YAML integer its decimal text.
Result<std::string> render_field(const nlohmann::ordered_json& spec, const nlohmann::ordered_json& doc);
// doc_to_choice: a list of templates, a field holding a list, or a template rendering a Python
// list literal (['a', "b"]).
Result<std::vector<std::string>> render_choices(const TaskConfig& task, const nlohmann::ordered_json& doc);
// doc_to_target as an index into `choices`: an integer, digits, or the text of one choice.
Result<size_t> render_target(const TaskConfig& task, const nlohmann::ordered_json& doc,
                             const std::vector<std::string>& choices);

// One question ready to score: the context (description, few-shot examples and the document's
// text) and the continuations (target_delimiter + choice).
struct McQuestion {
  std::string context;
  std::vector<std::string> choices;  // as doc_to_choice gives them (acc_norm's lengths)
  size_t gold = 0;
  // generate_until: the reference (doc_to_target's text, or its choice when doc_to_choice is
  // set); loglikelihood_rolling: the text scored (doc_to_target), with an empty context.
  std::string target;
};

// The gold text of a document: choices[target] when the task has doc_to_choice, else
// doc_to_target rendered (what a few-shot example shows after its text).
Result<std::string> render_gold_text(const TaskConfig& task, const nlohmann::ordered_json& doc);

// The context of document `doc`: description, then each example's text + target_delimiter + its
// gold choice, joined and followed by fewshot_delimiter, then the document's text (the harness's
// fewshot_context).
Result<McQuestion> build_question(const TaskConfig& task, const nlohmann::ordered_json& doc,
                                  const std::vector<const nlohmann::ordered_json*>& shots);

// A Python list literal of strings (['a', "b\n"]): what Jinja prints for a list.
Result<std::vector<std::string>> parse_python_string_list(std::string_view text);

// `fragua eval convert`: an lm-evaluation-harness task YAML (with the files it `include`s)
// turned into this format where it is plain templating. The hub dataset (dataset_path,
// dataset_name, dataset_kwargs) becomes the local files the user names; task, the splits,
// doc_to_text/choice/target (templates, field names, lists), target_delimiter,
// fewshot_delimiter, description, num_fewshot, output_type, metric_list (the metrics this format
// scores), generation_kwargs (until, max_gen_toks, greedy), metadata.version, tag/group are
// carried. Everything else is dropped with a note saying why: `!function` Python hooks,
// process_docs, process_results, filter_list, fewshot_config, other metrics and generation
// arguments. The output is checked by loading it (the same checks as `fragua eval run`).
struct ConvertOptions {
  std::map<std::string, std::string> data_files;  // split -> JSONL file (relative to the output's folder)
  std::string data_dir;                           // or: a folder of <split>.jsonl (dataset_path)
  std::string language;                           // metadata.language ("" : keep the task's)
};
struct ConvertNote {
  std::string key;     // "process_docs", "metric_list[2]", "generation_kwargs.temperature"
  std::string reason;  // why it was not carried
};
struct ConvertedTask {
  nlohmann::ordered_json config;  // the task in this format
  std::string yaml;               // the same as YAML text
  std::vector<ConvertNote> dropped;
  // Why the result cannot run as is (a required template was Python, or no data was named);
  // empty when load_task accepts it.
  std::string blocking;
};
// `out_path` is where the YAML will be written (data paths resolve against its folder).
Result<ConvertedTask> convert_harness_task(const std::string& harness_yaml, const std::string& out_path,
                                           const ConvertOptions& options, Env& env = Env::posix());

}  // namespace fragua::eval
