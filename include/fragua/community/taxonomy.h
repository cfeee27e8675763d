// SPDX-License-Identifier: Apache-2.0
// The contribution taxonomy: a tree of `qna.yaml` leaves, `knowledge/<domain>/.../qna.yaml` (a
// source document's passages with questions and answers about each) and
// `skills/<area>/.../qna.yaml` (a task and examples of it). The schema is InstructLab's version 3
// where the two overlap (instructlab/schema, v3/knowledge.json and v3/compositional_skills.json)
// plus a `language` field; docs/community.md has the field list.
//
// Validation reports every problem it finds, each with the file, line and column it concerns
// (yaml-cpp marks, 1-based), rather than stopping at the first: a contributor fixes a leaf in one
// round.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::data {
class LangIdModel;
}

namespace fragua::community {

enum class LeafKind { knowledge, skill };
const char* leaf_kind_name(LeafKind kind);

// The languages a leaf may declare.
inline constexpr const char* kTaxonomyLanguages[] = {"es", "ca", "ca-valencia", "eu", "gl"};

struct SourcePos {
  int line = 0, column = 0;  // 1-based; 0: unknown (the whole file)
};

struct QnA {
  std::string question, answer;
  SourcePos question_pos, answer_pos;
};

// A knowledge seed: a passage and questions about it. A skill seed: one question/answer (in qnas)
// and an optional context.
struct SeedExample {
  std::string context;
  SourcePos pos, context_pos;
  std::vector<QnA> qnas;
};

struct DocumentRef {
  std::string repo, commit;
  std::vector<std::string> patterns;
};

struct Leaf {
  std::string file;  // as given to the parser
  std::string id;    // path relative to the taxonomy root without "/qna.yaml"
  LeafKind kind = LeafKind::knowledge;
  int version = 0;
  std::string created_by, language;
  SourcePos language_pos;
  std::string domain, document_outline;  // knowledge
  DocumentRef document;                  // knowledge
  std::string task_description;          // skills
  std::vector<SeedExample> seeds;
};

struct Problem {
  std::string file;
  SourcePos pos;
  std::string message;
  // "file:line:column: message" (GCC's diagnostic form, which editors jump to).
  std::string to_string() const;
};

// Minimum counts of the schema (InstructLab v3: 5 contexts, 3 pairs each; skills: 5 examples).
inline constexpr size_t kMinKnowledgeContexts = 5;
inline constexpr size_t kMinQnAPerContext = 3;
inline constexpr size_t kMinSkillExamples = 5;

// The default token count when no tokenizer is given: 4 tokens per 3 whitespace-separated words,
// rounded up. Byte-level BPE vocabularies of 32k-50k entries give 1.2-1.5 tokens per word on
// Spanish, Catalan and Galician prose and up to ~1.8 on Basque (longer agglutinated words); 4/3
// keeps the estimate near the Romance figure, so `--tokenizer` is the exact check for Basque.
size_t estimate_tokens(std::string_view text);

struct ValidateOptions {
  // A context (knowledge) or a skill's context longer than this many tokens is a problem:
  // InstructLab's default chunk size for document contexts is 500 words; a teacher prompt holds
  // the context plus seed examples, so the limit is in the teacher's tokens.
  size_t max_context_tokens = 500;
  std::function<size_t(std::string_view)> count_tokens;  // null: estimate_tokens
  // The language identifier; null: the language is not checked against the text.
  const data::LangIdModel* langid = nullptr;
  // A text of fewer words than this is not identified on its own, and an identification below
  // this confidence is no problem: on one sentence of 12-20 words the bundled model puts
  // Galician prose at 0.5-0.85 Spanish or Portuguese (place names, shared vocabulary), while a
  // passage in another language scores above 0.9 (measured on data/taxonomy/).
  size_t langid_min_words = 20;
  double langid_min_confidence = 0.9;
};

// Which kind a leaf path is: its first component under the root ("knowledge" or "skills").
Result<LeafKind> leaf_kind_of(std::string_view id_or_path);

// Parses a qna.yaml text. Problems of the schema (YAML syntax, missing, extra and mistyped
// fields, too few examples, duplicate questions) are appended to `problems`; the leaf holds what
// could be read. `file` names it in the problems; `id` is its taxonomy path.
Leaf parse_leaf(std::string_view yaml, const std::string& file, const std::string& id, LeafKind kind,
                std::vector<Problem>& problems);

// The checks that need more than the schema: language against the text, context length.
void check_leaf_content(const Leaf& leaf, const ValidateOptions& options, std::vector<Problem>& problems);

// Every qna.yaml under root/knowledge and root/skills (sorted), as paths relative to root.
Result<std::vector<std::string>> find_leaf_files(const std::string& root, Env& env = Env::posix());

struct ValidationReport {
  std::vector<Leaf> leaves;  // those that parsed (with or without problems)
  std::vector<Problem> problems;
  size_t n_files = 0;
  bool ok() const { return problems.empty(); }
};

// Validates the given qna.yaml files (relative to root, or absolute under root); an empty list
// validates the whole tree. A file outside knowledge/ or skills/, or not named qna.yaml, is a
// problem of its own. Errors only for I/O on the tree (an unreadable file is a problem).
Result<ValidationReport> validate_taxonomy(const std::string& root, const std::vector<std::string>& files,
                                           const ValidateOptions& options, Env& env = Env::posix());

// What a command line names: nothing (the taxonomy root is "."), one directory (the root), or
// qna.yaml files, whose root is the part of the first one's path before its knowledge/ or skills/
// folder (or `root` when given).
struct TaxonomyTarget {
  std::string root;
  std::vector<std::string> files;  // relative to root; empty: the whole tree
};
Result<TaxonomyTarget> taxonomy_target(const std::vector<std::string>& paths, const std::string& root,
                                       Env& env = Env::posix());

// Leaves changed since a git revision: `git diff --name-only REV` plus untracked files, both
// restricted to root (which must be inside a git work tree). Each leaf's qna.yaml path relative
// to root; leaves deleted since REV are listed in `removed`.
struct TaxonomyDiff {
  std::vector<std::string> changed, removed;
};
Result<TaxonomyDiff> taxonomy_diff(const std::string& root, const std::string& since);

// Runs a program (no shell) with arguments in `cwd`; returns its standard output. A non-zero
// exit status is an error carrying its standard error. For git; tests use it to build repositories.
Result<std::string> run_program(const std::vector<std::string>& argv, const std::string& cwd);

}  // namespace fragua::community
