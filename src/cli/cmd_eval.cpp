// SPDX-License-Identifier: Apache-2.0
// fragua eval bpb: bits per byte per language of a GGUF model on held-out text.
// fragua eval perplexity: llama-perplexity's perplexity (and bits per byte) per file and language.
// fragua eval run: benchmark tasks scored as lm-evaluation-harness scores them (a GGUF model or
// an OpenAI-compatible server).
// fragua eval convert: an lm-evaluation-harness task YAML into Fragua's task format.
#include <algorithm>
#include <cmath>
#include <optional>

#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/eval/bits_per_byte.h"
#include "fragua/eval/compare.h"
#include "fragua/eval/harness.h"
#include "fragua/eval/perplexity.h"
#include "fragua/eval/remote_model.h"
#include "fragua/model/loaded_model.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct BpbOpts {
  std::string model, tokenizer, lang = "und", json;
  std::vector<std::string> files;
  int64_t n_ctx = 0;
  int threads = 0;
};

// A .jsonl file holds one document per line ({"text": ..., "lang": ...}, the corpus format);
// any other file is one document of --lang.
Result<eval::Documents> read_documents(const BpbOpts& o) {
  eval::Documents docs;
  for (const auto& path : o.files) {
    std::string data = FRAGUA_TRY(read_file(path));
    if (!path.ends_with(".jsonl")) {
      docs[o.lang].push_back(std::move(data));
      continue;
    }
    size_t line = 0;
    for (size_t pos = 0; pos < data.size();) {
      size_t nl = std::min(data.find('\n', pos), data.size());
      std::string_view text = std::string_view(data).substr(pos, nl - pos);
      pos = nl + 1;
      ++line;
      if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto j = FRAGUA_TRY(parse_json(text, fmt::format("{}:{}", path, line)));
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
        return invalid_argument_error("{}:{}: expected an object with a string \"text\"", path, line);
      const std::string lang = j.contains("lang") && j["lang"].is_string() ? j["lang"].get<std::string>() : o.lang;
      docs[lang].push_back(j["text"].get<std::string>());
    }
  }
  return docs;
}

void run(const BpbOpts& o) {
  model::OpenOptions open;
  open.tokenizer_path = o.tokenizer;
  open.context.n_ctx = o.n_ctx;
  open.context.n_threads = o.threads;
  auto m = check(model::open_model(o.model, open));
  if (!m.tokenizer) throw Failure{invalid_argument_error("{}: the model has no tokenizer: pass --tokenizer", o.model)};
  const auto docs = check(read_documents(o));
  const auto losses = check(eval::bits_per_byte(*m.context, *m.tokenizer, docs));
  std::string table =
      "| lang | documents | bytes | tokens | scored | loss (nats/token) | bits per byte |\n"
      "|---|---:|---:|---:|---:|---:|---:|\n";
  nlohmann::json out = eval::to_json(losses);
  for (const auto& [lang, l] : losses) {
    table += fmt::format("| {} | {} | {} | {} | {} | {:.4f} | {:.4f} |\n", lang, docs.at(lang).size(), l.bytes,
                         l.tokens, l.scored, l.empty() ? 0.0 : l.mean_loss(), l.empty() ? 0.0 : l.bits_per_byte());
    out["languages"][lang] = {{"bytes", l.bytes}, {"tokens", l.tokens}, {"scored", l.scored}, {"nats", l.nats}};
  }
  out["model"] = o.model;
  out["n_ctx"] = m.context->n_ctx();
  std::fputs(table.c_str(), stdout);
  if (!o.json.empty()) check(write_file_atomic(o.json, out.dump(2) + "\n"));
}

struct PplOpts {
  std::string model, tokenizer, json;
  std::vector<std::string> texts;  // LANG=FILE
  int64_t n_ctx = 512, stride = 0;
  int32_t batch = 4;
  int threads = 0;
};

void run_perplexity(const PplOpts& o) {
  if (o.model.empty())
    throw Failure{invalid_argument_error("expected a model: fragua eval perplexity MODEL or -m MODEL"), 2};
  model::OpenOptions open;
  open.tokenizer_path = o.tokenizer;
  open.context.n_ctx = std::max<int64_t>(o.n_ctx, 2);
  open.context.n_threads = o.threads;
  auto m = check(model::open_model(o.model, open));
  if (!m.tokenizer) throw Failure{invalid_argument_error("{}: the model has no tokenizer: pass --tokenizer", o.model)};
  m.context.reset();  // the windows run in a BatchContext of their own
  std::string table =
      "| lang | file | tokens | bytes | windows | scored | PPL | ± | bits per byte |\n"
      "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  auto row = [&](const std::string& lang, const std::string& file, const eval::PerplexityResult& r) {
    table += fmt::format("| {} | {} | {} | {} | {} | {} | {:.4f} | {:.5f} | {:.4f} |\n", lang, file, r.loss.tokens,
                         r.loss.bytes, r.n_windows, r.loss.scored, r.ppl(), r.ppl_error(), r.loss.bits_per_byte());
  };
  auto to_json = [](const eval::PerplexityResult& r) {
    return nlohmann::json{{"ppl", r.ppl()},         {"ppl_error", r.ppl_error()}, {"nll", r.loss.mean_loss()},
                          {"bpb", r.loss.bits_per_byte()}, {"tokens", r.loss.tokens},   {"bytes", r.loss.bytes},
                          {"scored", r.loss.scored},  {"windows", r.n_windows}};
  };
  std::map<std::string, eval::PerplexityResult> per_lang;
  std::map<std::string, int> files_per_lang;
  nlohmann::json out = {{"model", m.path}, {"n_ctx", o.n_ctx}, {"stride", o.stride}, {"files", nlohmann::json::array()}};
  for (const auto& spec : o.texts) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      throw Failure{invalid_argument_error("--text {}: expected LANG=FILE", spec)};
    const std::string lang = spec.substr(0, eq), path = spec.substr(eq + 1);
    const std::string text = check(read_file(path));
    auto r = eval::perplexity(*m.model, *m.tokenizer, text,
                              {.n_ctx = o.n_ctx, .stride = o.stride, .n_parallel = o.batch, .n_threads = o.threads,
                               .progress = lang + " " + path});
    if (!r.ok()) throw Failure{std::move(r).error().with_context(path)};
    row(lang, path, *r);
    nlohmann::json f = to_json(*r);
    f["lang"] = lang;
    f["file"] = path;
    out["files"].push_back(f);
    per_lang[lang].add(*r);
    ++files_per_lang[lang];
  }
  for (const auto& [lang, r] : per_lang) {
    if (files_per_lang[lang] > 1) row(lang, "(all)", r);
    out["languages"][lang] = to_json(r);
  }
  std::fputs(table.c_str(), stdout);
  if (!o.json.empty()) check(write_file_atomic(o.json, out.dump(2) + "\n"));
}

void setup_perplexity(CLI::App& group) {
  auto* cmd = group.add_subcommand(
      "perplexity",
      "Perplexity as llama-perplexity defines it (second half of each n_ctx chunk, BOS first), or over a sliding "
      "window (--stride), and bits per byte, per file and language");
  auto o = std::make_shared<PplOpts>();
  cmd->add_option("model", o->model, "GGUF model file (or -m)");
  cmd->add_option("-m,--model", o->model, "GGUF model file, as llama-perplexity spells it");
  cmd->add_option("--text", o->texts, "LANG=FILE: a text file of that language (repeatable)")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer (GGUF or tokenizer.json) when the model has none");
  cmd->add_option("-c,--ctx", o->n_ctx, "Tokens per window (default 512, llama-perplexity's)");
  cmd->add_option("--stride", o->stride, "Sliding window step: each window scores only tokens not scored before "
                                         "(default 0: non-overlapping chunks, second half scored)");
  cmd->add_option("-b,--batch", o->batch, "Windows per forward pass (default 4)")->check(CLI::Range(1, 256));
  cmd->add_option("--json", o->json, "Also write the figures as JSON");
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] { run_perplexity(*o); });
}

struct RunOpts {
  std::string model, tokenizer, output;
  std::vector<std::string> tasks, task_dirs;
  int64_t limit = -1, n_ctx = 0;
  int num_fewshot = -1;
  uint64_t seed = 1234;
  bool add_bos = false;
  int threads = 0;
  // A remote model (an OpenAI-compatible /v1/completions endpoint) instead of a GGUF file.
  std::string remote, remote_model, api_key_env = "OPENAI_API_KEY";
  int concurrency = 8;
  int batch_size = 8;  // questions per forward pass with a local model
  std::string log_samples;  // JSON lines, one per scored question
};

// One line per question: the harness's --log_samples, reduced to what a comparison needs.
std::string sample_lines(const std::vector<eval::TaskResult>& results) {
  std::string out;
  for (const auto& r : results)
    for (const auto& q : r.questions) {
      nlohmann::ordered_json j = {{"task", r.task}, {"doc_id", q.doc}};
      if (!q.loglikelihoods.empty()) {
        j["loglikelihoods"] = q.loglikelihoods;
        j["greedy"] = q.greedy;
        j["tokens"] = q.n_tokens;
        j["token_logprobs"] = q.token_logprobs;
        if (std::any_of(q.tokens.begin(), q.tokens.end(), [](const auto& t) { return !t.empty(); }))
          j["token_ids"] = q.tokens;
        j["gold"] = q.outcome.gold;
        j["pred"] = q.outcome.pred;
        j["pred_norm"] = q.outcome.pred_norm;
      } else if (!q.reference.empty() || !q.generation.empty()) {
        j["generation"] = q.generation;
        j["reference"] = q.reference;
      } else {
        j["loglikelihood"] = q.loglikelihood;
      }
      out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
  return out;
}

void run_tasks(const RunOpts& o) {
  if (o.model.empty() == o.remote.empty())
    throw Failure{invalid_argument_error("fragua eval run: give either a model file (MODEL or -m MODEL) or --remote URL"),
                  2};
  std::vector<eval::TaskConfig> tasks;
  for (const auto& name : o.tasks) tasks.push_back(check(eval::load_task(check(eval::find_task(name, o.task_dirs)))));
  std::optional<model::LoadedModel> m;
  std::optional<eval::RemoteModel> remote;
  if (o.remote.empty()) {
    model::OpenOptions open;
    open.tokenizer_path = o.tokenizer;
    open.context.n_ctx = o.n_ctx;
    open.context.n_threads = o.threads;
    m.emplace(check(model::open_model(o.model, open)));
    if (!m->tokenizer)
      throw Failure{invalid_argument_error("{}: the model has no tokenizer: pass --tokenizer", o.model)};
  } else {
    remote.emplace(eval::OpenAIClientOptions{.base_url = o.remote,
                                             .api_key = eval::api_key_from_env(o.api_key_env),
                                             .model = o.remote_model});
  }
  eval::RunOptions ro{.limit = o.limit, .num_fewshot = o.num_fewshot, .seed = o.seed, .add_bos = o.add_bos,
                      .progress = true, .concurrency = o.concurrency, .batch_size = o.batch_size,
                      .n_threads = o.threads};
  std::vector<eval::TaskResult> results;
  std::string table =
      "| task | lang | n | shots | metric | value | ± | q/s |\n"
      "|---|---|---:|---:|---|---:|---:|---:|\n";
  for (const auto& t : tasks) {
    auto r = m ? check(eval::run_task(*m->context, *m->tokenizer, t, ro)) : check(eval::run_task(*remote, t, ro));
    // One row per metric, in the task's metric_list order.
    for (const auto& name : t.metrics) {
      const auto& v = r.metrics.at(name);
      table += fmt::format("| {} | {} | {} | {} | {} | {:.4f} | {} | {:.2f} |\n", r.task,
                           r.language.empty() ? "–" : r.language, r.questions.size(), r.n_shot, name, v.mean,
                           std::isnan(v.stderr_) ? std::string("–") : fmt::format("{:.4f}", v.stderr_),
                           r.seconds > 0 ? static_cast<double>(r.questions.size()) / r.seconds : 0.0);
    }
    results.push_back(std::move(r));
  }
  std::fputs(table.c_str(), stdout);
  if (!o.log_samples.empty()) check(write_file_atomic(o.log_samples, sample_lines(results)));
  if (!o.output.empty()) {
    nlohmann::ordered_json cfg = {{"model", m ? m->path : o.remote_model},
                                  {"limit", o.limit >= 0 ? nlohmann::ordered_json(o.limit) : nullptr},
                                  {"fewshot_seed", o.seed},
                                  {"add_bos_token", o.add_bos}};
    if (m) {
      cfg["n_ctx"] = m->context->n_ctx();
    } else {
      cfg["model_args"] = "base_url=" + remote->client().url("/completions");
    }
    cfg["fragua_version"] = FRAGUA_VERSION;
    check(write_file_atomic(o.output, eval::results_json(results, tasks, cfg).dump(2) + "\n"));
  }
}

void setup_run(CLI::App& group) {
  auto* cmd = group.add_subcommand(
      "run", "Benchmark tasks (YAML + JSONL, lm-evaluation-harness style) scored as the harness scores them");
  auto o = std::make_shared<RunOpts>();
  cmd->add_option("model", o->model, "GGUF model file (or -m, or --remote)");
  cmd->add_option("-m,--model", o->model, "GGUF model file, as llama.cpp spells it");
  cmd->add_option("--tasks", o->tasks, "Task names or YAML files, comma-separated")->required()->delimiter(',');
  cmd->add_option("--task-dir", o->task_dirs, "Folder of task YAML files searched before the built-in ones");
  cmd->add_option("--limit", o->limit, "Score only the first N documents of each task");
  cmd->add_option("--num-fewshot", o->num_fewshot, "Few-shot examples (default: the task's num_fewshot)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--seed", o->seed, "Few-shot sampling seed (default 1234, the harness's)");
  cmd->add_flag("--add-bos", o->add_bos, "Prepend BOS to every context (the harness's add_bos_token=True)");
  cmd->add_option("-o,--output", o->output, "Write the results JSON (the harness's layout)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer (GGUF or tokenizer.json) when the model has none");
  cmd->add_option("-c,--ctx", o->n_ctx, "Context size (default: min(training context, 4096))");
  add_threads_flag(*cmd, o->threads);
  cmd->add_option("--remote,--model-url", o->remote,
                  "An OpenAI-compatible server as the model: its API root (http://host:port/v1) or "
                  "/v1/completions URL; it must return logprobs with echo (fragua serve, vLLM)");
  cmd->add_option("--remote-model", o->remote_model, "The \"model\" field sent to --remote");
  cmd->add_option("--api-key-env", o->api_key_env,
                  "Environment variable holding the --remote server's API key (default OPENAI_API_KEY; unset: none)");
  cmd->add_option("--log-samples", o->log_samples,
                  "Write one JSON line per question (log-likelihoods, greedy, continuation tokens, each token's "
                  "log-probability and id, pred, pred_norm, gold; or the generation)");
  cmd->add_option("--concurrency", o->concurrency, "Requests in flight at once with --remote (default 8)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("-b,--batch-size", o->batch_size,
                  "Questions scored together in one forward pass with a local model (multiple-choice and generative "
                  "tasks; default 8; 1: one at a time)")
      ->check(CLI::Range(1, 256));
  cmd->callback([o] { run_tasks(*o); });
}

struct CompareOpts {
  std::vector<std::string> files;
  std::string chart;
};

void run_compare(const CompareOpts& o) {
  std::vector<eval::ResultsFile> files;
  for (const auto& f : o.files) files.push_back(check(eval::load_results(f)));
  std::string out;
  for (size_t i = 1; i < files.size(); ++i)
    out += eval::compare_table(eval::compare_results(files[0], files[i]), files[0].label, files[i].label) + "\n";
  std::fputs(out.c_str(), stdout);
  if (!o.chart.empty()) {
    if (!o.chart.ends_with(".svg")) throw Failure{unsupported_error("{}: the chart is SVG (.svg)", o.chart)};
    check(write_file_atomic(o.chart, eval::compare_chart_svg(files)));
  }
}

void setup_compare(CLI::App& group) {
  auto* cmd = group.add_subcommand(
      "compare", "Differences between results files (each against the first) and whether they exceed the combined "
                 "standard error; --chart draws the models per language");
  auto o = std::make_shared<CompareOpts>();
  cmd->add_option("results", o->files, "Results JSON files (fragua eval run --output, or lm_eval's)")
      ->required()
      ->expected(2, 64);
  cmd->add_option("--chart", o->chart, "Write an SVG chart of the models per language and metric");
  cmd->callback([o] { run_compare(*o); });
}

struct ConvertOpts {
  std::string input, output, data_dir, language;
  std::vector<std::string> data;  // SPLIT=FILE
};

void run_convert(const ConvertOpts& o) {
  eval::ConvertOptions co;
  co.data_dir = o.data_dir;
  co.language = o.language;
  for (const auto& d : o.data) {
    const size_t eq = d.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == d.size())
      throw Failure{invalid_argument_error("--data '{}': expected SPLIT=FILE (test=copa_es/test.jsonl)", d), 2};
    co.data_files[d.substr(0, eq)] = d.substr(eq + 1);
  }
  auto r = check(eval::convert_harness_task(o.input, o.output, co));
  for (const auto& n : r.dropped) std::fprintf(stderr, "not carried: %s: %s\n", n.key.c_str(), n.reason.c_str());
  if (!r.blocking.empty())
    throw Failure{invalid_argument_error("{}: cannot be converted as it is: {}", o.input, r.blocking)};
  check(write_file_atomic(o.output, r.yaml));
  std::fprintf(stderr, "wrote %s (%zu field%s not carried)\n", o.output.c_str(), r.dropped.size(),
               r.dropped.size() == 1 ? "" : "s");
}

void setup_convert(CLI::App& group) {
  auto* cmd = group.add_subcommand(
      "convert", "Turn an lm-evaluation-harness task YAML into Fragua's task format where it is plain templating, "
                 "naming each field it cannot carry");
  auto o = std::make_shared<ConvertOpts>();
  cmd->add_option("harness_yaml", o->input, "The harness's task YAML (its include: files are read too)")->required();
  cmd->add_option("-o,--output", o->output, "The task YAML to write")->required();
  cmd->add_option("--data", o->data, "SPLIT=FILE: the split's documents as JSON lines (repeatable)");
  cmd->add_option("--data-dir", o->data_dir, "Or: a folder of SPLIT.jsonl files (relative to the output)");
  cmd->add_option("--language", o->language, "metadata.language of the task (es, ca, eu, gl...)");
  cmd->callback([o] { run_convert(*o); });
}

void setup(CLI::App& root) {
  auto* group = group_subcommand(root, "eval", "Evaluate models");
  auto* cmd = group->add_subcommand(
      "bpb", "Bits per byte per language of a GGUF model on held-out text (.jsonl with text/lang, or text files)");
  auto o = std::make_shared<BpbOpts>();
  cmd->add_option("model", o->model, "GGUF model file")->required();
  cmd->add_option("files", o->files, "Held-out text: .jsonl ({\"text\", \"lang\"} per line) or text files")->required();
  cmd->add_option("--lang", o->lang, "Language of text files and of records without \"lang\" (default und)");
  cmd->add_option("--tokenizer", o->tokenizer, "Tokenizer (GGUF or tokenizer.json) when the model has none");
  cmd->add_option("-c,--ctx", o->n_ctx, "Window: context size (default: min(training context, 4096))");
  cmd->add_option("--json", o->json, "Also write the figures as JSON");
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] { run(*o); });
  setup_perplexity(*group);
  setup_run(*group);
  setup_compare(*group);
  setup_convert(*group);
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
