// SPDX-License-Identifier: Apache-2.0
// `fragua taxonomy validate|diff`: checks contribution leaves (community/taxonomy.h).
#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/base/utf8.h"
#include "fragua/community/taxonomy.h"
#include "fragua/data/langid.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct TaxonomyOpts {
  std::vector<std::string> paths;
  std::string root, tokenizer, langid_model, since = "origin/main";
  size_t max_context_tokens = 500;
  bool no_langid = false;
};

void add_check_flags(CLI::App* cmd, TaxonomyOpts& o) {
  cmd->add_option("--root", o.root, "Taxonomy root (default: inferred from the files, or the current folder)");
  cmd->add_option("--tokenizer", o.tokenizer,
                  "Count context tokens with this tokenizer (GGUF or tokenizer.json; default: 4 tokens per 3 words)");
  cmd->add_option("--max-context-tokens", o.max_context_tokens, "Longest context allowed, in tokens")
      ->capture_default_str();
  cmd->add_option("--langid-model", o.langid_model, "Language-identification model (default: the bundled one)");
  cmd->add_flag("--no-langid", o.no_langid, "Do not check the text against the declared language");
}

// Validates and prints every problem; returns the number of problems.
size_t validate_and_print(const std::string& root, const std::vector<std::string>& files, const TaxonomyOpts& o) {
  community::ValidateOptions vo;
  vo.max_context_tokens = o.max_context_tokens;
  std::optional<tokenize::Tokenizer> tok;
  if (!o.tokenizer.empty()) {
    tok.emplace(check(tokenize::Tokenizer::load(o.tokenizer)));
    vo.count_tokens = [&tok](std::string_view t) { return tok->encode(t, false, false).size(); };
  }
  std::optional<data::LangIdModel> langid;
  if (!o.no_langid) {
    langid.emplace(check(o.langid_model.empty() ? data::LangIdModel::load_default()
                                                : data::LangIdModel::load(o.langid_model)));
    vo.langid = &*langid;
  }
  auto report = check(community::validate_taxonomy(root, files, vo));
  for (const auto& p : report.problems) fmt::print("{}\n", terminal_safe(p.to_string()));
  fmt::print(stderr, "{} file{}, {} problem{}\n", report.n_files, report.n_files == 1 ? "" : "s",
             report.problems.size(), report.problems.size() == 1 ? "" : "s");
  return report.problems.size();
}

void setup(CLI::App& root) {
  auto* group = root.add_subcommand("taxonomy", "Contribution taxonomy: validate leaves, list changed leaves");
  group->require_subcommand(1);

  auto o = std::make_shared<TaxonomyOpts>();
  auto* validate = group->add_subcommand(
      "validate", "Check qna.yaml leaves: schema, counts, duplicates, language, context length (file:line:column)");
  validate->add_option("paths", o->paths, "A taxonomy root, or qna.yaml files (default: the current folder)");
  add_check_flags(validate, *o);
  validate->callback([o] {
    auto target = check(community::taxonomy_target(o->paths, o->root));
    if (validate_and_print(target.root, target.files, *o) > 0) throw Failure{invalid_argument_error("the taxonomy has problems"), 1};
  });

  auto d = std::make_shared<TaxonomyOpts>();
  auto* diff = group->add_subcommand("diff", "List the leaves changed since a git revision and validate only those");
  diff->add_option("root", d->root, "Taxonomy root inside a git work tree (default: the current folder)");
  diff->add_option("--since", d->since, "Git revision to compare with")->capture_default_str();
  add_check_flags(diff, *d);
  diff->callback([d] {
    std::string root = d->root.empty() ? "." : d->root;
    auto changes = check(community::taxonomy_diff(root, d->since));
    for (const auto& f : changes.changed) fmt::print("{}\n", terminal_safe(f));
    for (const auto& f : changes.removed) fmt::print("removed: {}\n", terminal_safe(f));
    if (changes.changed.empty()) {
      fmt::print(stderr, "no leaf changed since {}\n", terminal_safe(d->since));
      return;
    }
    if (validate_and_print(root, changes.changed, *d) > 0)
      throw Failure{invalid_argument_error("changed leaves have problems"), 1};
  });
}

Registrar reg(setup);

}  // namespace FRAGUA_CMD_NS
}  // namespace fragua::cli
