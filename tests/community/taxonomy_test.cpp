// SPDX-License-Identifier: Apache-2.0
// qna.yaml schema and content checks: each problem's message, line and column.
#include "fragua/community/taxonomy.h"

#include <gtest/gtest.h>

#include <set>

#include "fragua/data/langid.h"
#include "test_util.h"

namespace fragua::community {
namespace {

// 1-based line and column of the first occurrence of `needle` in `text`.
SourcePos pos_of(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  SourcePos p{1, 1};
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

std::string knowledge_yaml(int n_contexts = 5, int n_qa = 3) {
  std::string y =
      "version: 3\n"
      "created_by: tester\n"
      "language: es\n"
      "domain: pruebas\n"
      "document_outline: Un documento de prueba.\n"
      "document:\n"
      "  repo: https://example.org/taxonomy-docs.git\n"
      "  commit: 0123abc\n"
      "  patterns:\n"
      "    - doc.md\n"
      "seed_examples:\n";
  for (int i = 0; i < n_contexts; ++i) {
    y += fmt::format("  - context: El apartado {} del documento explica un trámite distinto.\n", i);
    y += "    questions_and_answers:\n";
    for (int j = 0; j < n_qa; ++j)
      y += fmt::format("      - question: ¿Qué dice la parte {} del apartado {}?\n        answer: La parte {}-{}.\n", j, i,
                       j, i);
  }
  return y;
}

std::string skill_yaml(int n) {
  std::string y = "version: 3\ncreated_by: tester\nlanguage: gl\ntask_description: Escribir unha carta.\nseed_examples:\n";
  for (int i = 0; i < n; ++i) y += fmt::format("  - question: Carta número {}\n    answer: Texto {}\n", i, i);
  return y;
}

std::vector<Problem> parse_problems(const std::string& yaml, LeafKind kind = LeafKind::knowledge) {
  std::vector<Problem> problems;
  Leaf leaf = parse_leaf(yaml, "t/qna.yaml", "knowledge/t", kind, problems);
  return problems;
}

// The one problem whose message contains `text`; fails when there is not exactly one.
Problem only_problem(const std::vector<Problem>& problems, const std::string& text) {
  std::vector<Problem> hits;
  for (const auto& p : problems)
    if (p.message.find(text) != std::string::npos) hits.push_back(p);
  EXPECT_EQ(hits.size(), 1u) << text << " in " << problems.size() << " problems";
  if (hits.size() != 1)
    for (const auto& p : problems) ADD_FAILURE() << p.to_string();
  return hits.empty() ? Problem{} : hits[0];
}

TEST(TaxonomyLeaf, ValidKnowledgeAndSkillLeavesHaveNoProblems) {
  std::vector<Problem> problems;
  Leaf leaf = parse_leaf(knowledge_yaml(), "k/qna.yaml", "knowledge/k", LeafKind::knowledge, problems);
  for (const auto& p : problems) ADD_FAILURE() << p.to_string();
  EXPECT_EQ(leaf.version, 3);
  EXPECT_EQ(leaf.language, "es");
  ASSERT_EQ(leaf.seeds.size(), 5u);
  EXPECT_EQ(leaf.seeds[2].qnas.size(), 3u);
  EXPECT_EQ(leaf.document.patterns, std::vector<std::string>{"doc.md"});
  EXPECT_EQ(leaf.seeds[0].context_pos.line, 12);
  EXPECT_EQ(leaf.seeds[0].context_pos.column, 14);
  Leaf skill = parse_leaf(skill_yaml(5), "s/qna.yaml", "skills/s", LeafKind::skill, problems);
  for (const auto& p : problems) ADD_FAILURE() << p.to_string();
  EXPECT_EQ(skill.seeds.size(), 5u);
  EXPECT_EQ(skill.seeds[4].qnas[0].answer, "Texto 4");
}

TEST(TaxonomyLeaf, YamlSyntaxErrorNamesLineAndColumn) {
  std::string y = "version: 3\nseed_examples:\n  - context: [unclosed\n";
  auto problems = parse_problems(y);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message.rfind("YAML: ", 0), 0u) << problems[0].message;
  EXPECT_EQ(problems[0].pos.line, 4);  // yaml-cpp reports the end of input, where the flow list should close
  EXPECT_EQ(problems[0].to_string().rfind("t/qna.yaml:4:", 0), 0u) << problems[0].to_string();
}

TEST(TaxonomyLeaf, MissingExtraAndMistypedFields) {
  std::string y = knowledge_yaml();
  y.replace(y.find("domain: pruebas\n"), 16, "colour: red\n");
  y.replace(y.find("created_by: tester"), 18, "created_by: [a, b]");
  auto problems = parse_problems(y);
  EXPECT_EQ(problems.size(), 3u);
  Problem missing = only_problem(problems, "missing field 'domain'");
  EXPECT_EQ(missing.pos.line, 1);
  EXPECT_EQ(missing.pos.column, 1);
  Problem extra = only_problem(problems, "knowledge leaf: unknown field 'colour'");
  EXPECT_EQ(extra.pos.line, pos_of(y, "colour").line);
  EXPECT_EQ(extra.pos.column, 1);
  Problem typed = only_problem(problems, "field 'created_by' must be a string, not a list");
  EXPECT_EQ(typed.pos.line, 2);
  EXPECT_EQ(typed.pos.column, 13);
}

TEST(TaxonomyLeaf, TooFewContextsAndPairs) {
  std::string y = knowledge_yaml(4);
  auto problems = parse_problems(y);
  Problem few = only_problem(problems, "seed_examples: 4 contexts, a knowledge leaf needs at least 5");
  EXPECT_EQ(few.pos.line, pos_of(y, "- context").line);
  EXPECT_EQ(few.pos.column, 3);
  EXPECT_EQ(problems.size(), 1u);

  std::string y2 = knowledge_yaml(5, 2);
  auto p2 = parse_problems(y2);
  EXPECT_EQ(p2.size(), 5u);  // every context has 2 pairs
  EXPECT_EQ(p2[0].message, "seed_examples[0]: 2 question-answer pairs, at least 3 are needed per context");
  EXPECT_EQ(p2[0].pos.line, pos_of(y2, "      - question").line);
  EXPECT_EQ(p2[0].pos.column, 7);

  auto p3 = parse_problems(skill_yaml(4), LeafKind::skill);
  ASSERT_EQ(p3.size(), 1u);
  EXPECT_EQ(p3[0].message, "seed_examples: 4 examples, a skill leaf needs at least 5");
}

TEST(TaxonomyLeaf, DuplicateQuestionsIgnoreCaseAndPunctuation) {
  std::string y = knowledge_yaml();
  std::string second = "¿Qué dice la parte 1 del apartado 3?";
  y.replace(y.find(second), second.size(), "qué DICE la parte 0 del apartado 0");
  auto problems = parse_problems(y);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message, "duplicate question (first at line 14): qué DICE la parte 0 del apartado 0");
  SourcePos at = pos_of(y, "qué DICE");
  EXPECT_EQ(problems[0].pos.line, at.line);
  EXPECT_EQ(problems[0].pos.column, at.column);
}

TEST(TaxonomyLeaf, VersionAndLanguageValues) {
  std::string y = knowledge_yaml();
  y.replace(0, 10, "version: 2");
  y.replace(y.find("language: es"), 12, "language: fr");
  auto problems = parse_problems(y);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].to_string(), "t/qna.yaml:1:10: version 2 is not supported (this is schema version 3)");
  EXPECT_EQ(problems[1].to_string(), "t/qna.yaml:3:11: language 'fr' is not one of es, ca, ca-valencia, eu, gl");
}

TEST(TaxonomyLeaf, NonMappingFileAndSeeds) {
  auto problems = parse_problems("- just\n- a list\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].to_string(), "t/qna.yaml:1:1: the file must be a YAML mapping of the qna.yaml fields");
  std::string y = knowledge_yaml();
  y = y.substr(0, y.find("seed_examples:")) + "seed_examples: many\n";
  auto p2 = parse_problems(y);
  Problem p = only_problem(p2, "field 'seed_examples' must be a list, not a string");
  EXPECT_EQ(p.pos.line, 11);
  EXPECT_EQ(p.pos.column, 16);
}

TEST(TaxonomyLeaf, ContextTokenLimit) {
  std::vector<Problem> problems;
  Leaf leaf = parse_leaf(knowledge_yaml(), "k/qna.yaml", "knowledge/k", LeafKind::knowledge, problems);
  ASSERT_TRUE(problems.empty());
  ValidateOptions o;
  o.max_context_tokens = 10;  // each context has 9 words: 12 estimated tokens
  check_leaf_content(leaf, o, problems);
  ASSERT_EQ(problems.size(), 5u);
  EXPECT_EQ(problems[1].to_string(), "k/qna.yaml:20:14: seed_examples[1].context: 12 tokens, over the limit of 10");
  problems.clear();
  o.count_tokens = [](std::string_view) { return size_t{10}; };
  check_leaf_content(leaf, o, problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(estimate_tokens("uno dos tres"), 4u);
  EXPECT_EQ(estimate_tokens(""), 0u);
}

TEST(TaxonomyLeaf, WrongLanguageIsReportedAtTheText) {
  auto langid = data::LangIdModel::load_default();
  ASSERT_TRUE(langid.ok()) << langid.error().to_string();
  std::string path = test::source_dir() + "/data/taxonomy/knowledge/administracion/empadronamiento/es/qna.yaml";
  auto text = read_file(path);
  ASSERT_TRUE(text.ok());
  std::string y = *text;
  y.replace(y.find("language: es"), 12, "language: eu");
  std::vector<Problem> problems;
  Leaf leaf = parse_leaf(y, "es/qna.yaml", "knowledge/a/es", LeafKind::knowledge, problems);
  ASSERT_TRUE(problems.empty());
  ValidateOptions o;
  o.langid = &*langid;
  check_leaf_content(leaf, o, problems);
  ASSERT_GE(problems.size(), 6u);  // five contexts and the whole text, at least
  EXPECT_EQ(problems[0].pos.line, pos_of(y, "El padrón municipal es").line - 1);  // at the '>-' of the value
  EXPECT_EQ(problems[0].message.rfind("seed_examples[0].context reads as 'es' (confidence ", 0), 0u)
      << problems[0].message;
  EXPECT_NE(problems[0].message.find("but the leaf declares language 'eu'"), std::string::npos);
  const Problem& whole = problems.back();
  EXPECT_EQ(whole.message.rfind("the leaf's text reads as 'es'", 0), 0u) << whole.message;
  EXPECT_EQ(whole.pos.line, 3);
  EXPECT_EQ(whole.pos.column, 11);
}

TEST(TaxonomyValidate, BundledSampleTaxonomyPasses) {
  auto langid = data::LangIdModel::load_default();
  ASSERT_TRUE(langid.ok());
  ValidateOptions o;
  o.langid = &*langid;
  auto report = validate_taxonomy(test::source_dir() + "/data/taxonomy", {}, o);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  for (const auto& p : report->problems) ADD_FAILURE() << p.to_string();
  EXPECT_GE(report->n_files, 8u);
  std::set<std::string> langs;
  for (const auto& l : report->leaves) langs.insert(l.language);
  for (const char* l : {"es", "ca", "ca-valencia", "eu", "gl"}) EXPECT_TRUE(langs.count(l)) << l;
}

TEST(TaxonomyValidate, FilesOutsideTheTreeAndUnreadableOnes) {
  test::TempDir dir;
  test::write_test_file(dir.file("knowledge/a/qna.yaml"), knowledge_yaml());
  test::write_test_file(dir.file("notes/qna.yaml"), knowledge_yaml());
  test::write_test_file(dir.file("skills/b/qna.yaml"), skill_yaml(5));
  auto all = validate_taxonomy(dir.path(), {}, {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->n_files, 2u);  // notes/ is no part of the tree
  EXPECT_TRUE(all->ok());
  EXPECT_EQ(all->leaves[0].id, "knowledge/a");
  EXPECT_EQ(all->leaves[1].kind, LeafKind::skill);
  auto some = validate_taxonomy(dir.path(), {"notes/qna.yaml", "knowledge/a/other.yaml", "skills/c/qna.yaml"}, {});
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->problems.size(), 3u);
  EXPECT_EQ(some->problems[0].message, "a leaf lies under knowledge/ or skills/ of the taxonomy root");
  EXPECT_EQ(some->problems[1].message, "a leaf file is named qna.yaml");
  EXPECT_NE(some->problems[2].message.find("skills/c/qna.yaml"), std::string::npos);
  EXPECT_FALSE(validate_taxonomy(dir.path() + "/nothing", {}, {}).ok());
}

TEST(TaxonomyValidate, TargetFromCommandLine) {
  test::TempDir dir;
  test::write_test_file(dir.file("tax/knowledge/a/qna.yaml"), knowledge_yaml());
  auto whole = taxonomy_target({dir.file("tax")}, "");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->root, dir.file("tax"));
  EXPECT_TRUE(whole->files.empty());
  auto files = taxonomy_target({dir.file("tax/knowledge/a/qna.yaml"), dir.file("tax/skills/b/qna.yaml")}, "");
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->root, dir.file("tax"));
  EXPECT_EQ(files->files, (std::vector<std::string>{"knowledge/a/qna.yaml", "skills/b/qna.yaml"}));
  auto rel = taxonomy_target({"knowledge/x/qna.yaml"}, "");
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(rel->root, ".");
  auto bad = taxonomy_target({dir.file("tax/knowledge/a/qna.yaml"), "/elsewhere/knowledge/b/qna.yaml"}, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("not under the taxonomy root"), std::string::npos);
  EXPECT_FALSE(taxonomy_target({"/tmp/qna.yaml"}, "").ok());
}

}  // namespace
}  // namespace fragua::community
