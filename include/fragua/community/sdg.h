// SPDX-License-Identifier: Apache-2.0
// Synthetic data generation (`fragua sdg`): each taxonomy leaf expanded by a teacher model into
// SFT conversations and DPO preference pairs (formats: docs/community.md).
//
// A run works through keys (leaf, index): index i of a knowledge leaf asks for a new question
// and answer grounded in the leaf's context i mod n_contexts (its seed pairs as examples); of a
// skill leaf, for a new instruction and answer in the style of three of its examples. Each
// candidate passes, in order: the format (the prompt's labels), the language identifier (the
// leaf's language), the judge (a second teacher prompt scoring faithfulness and format, 1-5),
// and the duplicate filter (normalised text and MinHash near-duplicates against the seeds and
// earlier samples). A run directory holds state.json (the finished keys), sft.jsonl, dpo.jsonl
// and rejected.jsonl; a restarted run skips the finished keys and keeps their output.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/community/taxonomy.h"
#include "fragua/community/teacher.h"

namespace fragua::data {
class LangIdModel;
}

namespace fragua::community {

// One prompt file of data/sdg/prompts/<lang>/<name>.txt: a header of "key: value" lines
// (version, and the labels the teacher must use), then "[system]" and "[user]" sections with
// {placeholders}.
struct PromptTemplate {
  std::string language, name;
  int version = 0;
  std::map<std::string, std::string> header;  // version, question_label, answer_label, score_label
  std::string system, user;
  std::string id() const;  // "es/knowledge_qa@1"
  // {key} replaced by vars[key]; an unknown placeholder is left as written.
  std::string render(const std::string& text, const std::map<std::string, std::string>& vars) const;
};
Result<PromptTemplate> parse_prompt_template(std::string_view text, const std::string& file,
                                             const std::string& language, const std::string& name);

// The three prompts of a language: knowledge_qa, skill_qa and judge.
struct PromptSet {
  PromptTemplate knowledge, skill, judge;
};
// From dir/<lang>/ (dir "": the bundled data/sdg/prompts, through base/data_files).
Result<PromptSet> load_prompt_set(const std::string& dir, const std::string& language, Env& env = Env::posix());

// "Label: text" sections of a reply: the text after `first` up to `second`, and after `second`
// to the end. Labels match at a line start, case-insensitively (ASCII), after markdown markers
// (*, #, -, spaces).
struct LabeledPair {
  std::string first, second;
};
Result<LabeledPair> parse_labeled_pair(std::string_view reply, const std::string& first, const std::string& second);
// The judge's score: the first integer 1-5 after `label` (or anywhere when label is absent).
Result<int> parse_judge_score(std::string_view reply, const std::string& label);

// A deliberately wrong answer for DPO's rejected side, deterministic in `seed`: a number of the
// answer swapped for another number of the context (or shifted), else a capitalised name swapped
// for another of the context, else a lower-case word of at least five bytes swapped for another
// such word of the context, else `other_answer` (an answer to another question). `how` gets
// "corrupt:number", "corrupt:entity", "corrupt:word" or "corrupt:other_answer"; "" when nothing
// applies.
std::string corrupt_answer(const std::string& answer, const std::string& context, const std::string& other_answer,
                           uint64_t seed, std::string& how);

struct SdgOptions {
  std::string run_dir;
  std::string prompts_dir;     // "": bundled
  size_t samples_per_leaf = 10;  // keys per leaf
  uint64_t seed = 1;
  int concurrency = 0;  // 0: the teacher's max_concurrency()
  TeacherParams generation{0.7, 1024, 0};
  TeacherParams judging{0.0, 64, 0};
  bool judge = true;
  int min_judge_score = 4;
  bool dpo = true;
  // Rejected answers from this model when set, else corrupted answers.
  Teacher* student = nullptr;
  const data::LangIdModel* langid = nullptr;  // null: no language filter
  // Stop after this many finished keys in this call (0: no limit), as if the process had been
  // killed after its last flush: tests of resume, and `--max-keys` for a sample run.
  size_t stop_after = 0;
  double flush_every_s = 2.0;  // state and outputs written at most this often (and at the end)
  bool progress = true;
  Env* env = nullptr;  // null: Env::posix()
};

struct SdgStats {
  size_t keys_total = 0, keys_skipped = 0, keys_done = 0;
  size_t accepted = 0, dpo_pairs = 0;
  std::map<std::string, size_t> rejected;  // reason -> count: request, format, language, judge, duplicate
  size_t requests = 0;                      // teacher calls (generation + judge) of this call
  bool stopped = false;                     // stop_after reached
  std::string first_error;                  // of the first request that failed after its retries
};

// Runs SDG over `leaves` into options.run_dir (created if absent). A leaf whose problems made it
// unusable (no seeds) is an error naming it; validate first.
Result<SdgStats> run_sdg(const std::vector<Leaf>& leaves, Teacher& teacher, const SdgOptions& options);

}  // namespace fragua::community
