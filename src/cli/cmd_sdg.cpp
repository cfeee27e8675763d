// SPDX-License-Identifier: Apache-2.0
// `fragua sdg`: synthetic SFT and DPO data from taxonomy leaves with a teacher model
// (community/sdg.h; formats in docs/community.md).
#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/base/utf8.h"
#include "fragua/base/runtime_options.h"
#include "fragua/community/sdg.h"
#include "fragua/data/langid.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct SdgCliOpts {
  std::vector<std::string> paths;
  std::string root, out, prompts, langid_model;
  std::string teacher_url, teacher_model, teacher_file, api_key_env = "OPENAI_API_KEY";
  std::string student_url, student_model, chat_template;
  size_t samples = 10, max_keys = 0;
  uint64_t seed = 1;
  int concurrency = 0, retries = 5, min_score = 4, max_tokens = 1024, ctx = 4096, threads = 0;
  double temperature = 0.7, timeout = 300;
  bool no_judge = false, no_dpo = false, no_langid = false;
};

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "sdg", "Synthetic data from taxonomy leaves with a teacher model: SFT chat JSONL and DPO pairs (resumable)");
  auto o = std::make_shared<SdgCliOpts>();
  cmd->add_option("paths", o->paths, "A taxonomy root, or qna.yaml files (default: the current folder)");
  cmd->add_option("--root", o->root, "Taxonomy root when files are given");
  add_output_flag(*cmd, o->out, "Run directory (state.json, sft.jsonl, dpo.jsonl, rejected.jsonl); rerun to resume");
  cmd->add_option("--teacher-url", o->teacher_url, "OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1)");
  cmd->add_option("--teacher-model", o->teacher_model, "Model name sent to the endpoint");
  cmd->add_option("--api-key-env", o->api_key_env, "Environment variable holding the endpoint's API key")
      ->capture_default_str();
  cmd->add_option("--teacher-model-file", o->teacher_file, "A local GGUF teacher run in-process instead of an endpoint");
  cmd->add_option("--student", o->student_url, "Endpoint whose answers become DPO's rejected side");
  cmd->add_option("--student-model", o->student_model, "Model name for --student (default: --teacher-model)");
  cmd->add_option("-n,--samples-per-leaf", o->samples, "Generation requests per leaf")->capture_default_str();
  cmd->add_option("-s,--seed", o->seed, "Run seed (each request's seed derives from it, the leaf and the index)")
      ->capture_default_str();
  cmd->add_option("-j,--concurrency", o->concurrency, "Requests in flight (default: 4 for an endpoint, 1 local)");
  cmd->add_option("--retries", o->retries, "Retries of a failed request (backoff with jitter)")->capture_default_str();
  cmd->add_option("--timeout", o->timeout, "Seconds to wait for one answer")->capture_default_str();
  cmd->add_option("--temperature", o->temperature, "Teacher sampling temperature")->capture_default_str();
  cmd->add_option("--max-tokens", o->max_tokens, "Longest teacher answer")->capture_default_str();
  cmd->add_option("--min-judge-score", o->min_score, "Lowest judge score (1-5) kept")->capture_default_str();
  cmd->add_flag("--no-judge", o->no_judge, "Skip the judge pass");
  cmd->add_flag("--no-dpo", o->no_dpo, "Write no DPO pairs");
  cmd->add_flag("--no-langid", o->no_langid, "Skip the language checks");
  cmd->add_option("--langid-model", o->langid_model, "Language-identification model (default: the bundled one)");
  cmd->add_option("--prompts", o->prompts, "Prompt folder (<lang>/knowledge_qa.txt...; default: the bundled ones)");
  cmd->add_option("--max-keys", o->max_keys, "Stop after this many finished (leaf, index) keys (a sample run)");
  cmd->add_option("-c,--ctx-size", o->ctx, "Context of a local teacher")->capture_default_str();
  cmd->add_option("--chat-template", o->chat_template, "Chat template of a local teacher (name or Jinja text)");
  add_threads_flag(*cmd, o->threads);
  cmd->callback([o] {
    require_output(o->out, "RUN_DIR");
    if (o->teacher_file.empty() == o->teacher_url.empty())
      throw Failure{invalid_argument_error("give one teacher: --teacher-url URL --teacher-model NAME, or "
                                           "--teacher-model-file FILE"),
                    2};
    std::optional<data::LangIdModel> langid;
    if (!o->no_langid)
      langid.emplace(check(o->langid_model.empty() ? data::LangIdModel::load_default()
                                                   : data::LangIdModel::load(o->langid_model)));
    auto target = check(community::taxonomy_target(o->paths, o->root));
    community::ValidateOptions vo;
    vo.langid = langid ? &*langid : nullptr;
    auto report = check(community::validate_taxonomy(target.root, target.files, vo));
    if (!report.ok()) {
      for (const auto& p : report.problems) fmt::print(stderr, "{}\n", terminal_safe(p.to_string()));
      throw Failure{invalid_argument_error("{} problem(s) in the leaves: fix them first (fragua taxonomy validate)",
                                           report.problems.size()),
                    1};
    }
    std::unique_ptr<community::Teacher> teacher, student;
    const std::string api_key = named_env_value(o->api_key_env);
    auto endpoint = [&](const std::string& url, const std::string& model) {
      community::OpenAiTeacherOptions t;
      t.url = url;
      t.model = model;
      t.api_key = api_key;
      t.max_retries = o->retries;
      t.read_timeout_s = static_cast<int>(std::max(1.0, o->timeout));
      if (o->concurrency > 0) t.concurrency = o->concurrency;
      return check(community::make_openai_teacher(t));
    };
    if (!o->teacher_url.empty())
      teacher = endpoint(o->teacher_url, o->teacher_model);
    else
      teacher = check(community::make_gguf_teacher({o->teacher_file, o->ctx, o->threads, "", o->chat_template}));
    if (!o->student_url.empty())
      student = endpoint(o->student_url, o->student_model.empty() ? o->teacher_model : o->student_model);
    community::SdgOptions so;
    so.run_dir = o->out;
    so.prompts_dir = o->prompts;
    so.samples_per_leaf = o->samples;
    so.seed = o->seed;
    so.concurrency = o->concurrency;
    so.generation.temperature = o->temperature;
    so.generation.max_tokens = o->max_tokens;
    so.judge = !o->no_judge;
    so.min_judge_score = o->min_score;
    so.dpo = !o->no_dpo;
    so.student = student.get();
    so.langid = langid ? &*langid : nullptr;
    so.stop_after = o->max_keys;
    auto stats = check(community::run_sdg(report.leaves, *teacher, so));
    std::string rejected;
    for (const auto& [why, n] : stats.rejected) rejected += fmt::format(" {} {}", why, n);
    log_info("sdg: {} leaves, {} keys ({} done before), {} finished now: {} samples, {} DPO pairs; rejected:{}",
             report.leaves.size(), stats.keys_total, stats.keys_skipped, stats.keys_done, stats.accepted,
             stats.dpo_pairs, rejected.empty() ? " none" : rejected);
    if (stats.rejected.count("request"))
      throw Failure{io_error("{} request(s) failed after retries (rerun to resume): {}", stats.rejected.at("request"),
                             stats.first_error),
                    1};
  });
}

Registrar reg(setup);

}  // namespace FRAGUA_CMD_NS
}  // namespace fragua::cli
