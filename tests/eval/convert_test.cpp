// SPDX-License-Identifier: Apache-2.0
// `fragua eval convert` on harness task YAMLs written here after the shape of the harness's
// xstorycloze_eu (plain templates, metric sub-keys), belebele (an include of a parent YAML, a
// fewshot_config, a hub dataset_name) and copa_es (Python hooks): what is carried, what is named
// as not carried, and that a converted task loads and renders its documents.
#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/eval/task.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

constexpr const char* kStoryClozeEu = R"(task: xstorycloze_eu_like
dataset_path: HiTZ/xstorycloze-eu
output_type: multiple_choice
training_split: train
validation_split: eval
doc_to_text: "{{[input_sentence_1, input_sentence_2, input_sentence_3, input_sentence_4]|join(' ')}}"
doc_to_target: "{{answer_right_ending-1}}"
doc_to_choice: "{{[sentence_quiz1, sentence_quiz2]}}"
should_decontaminate: true
doc_to_decontamination_query: "{{[input_sentence_1, input_sentence_2]|join(' ')}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: f1
    aggregation: !function utils.f1_agg
metadata:
  version: 1.0
)";

constexpr const char* kBelebeleBase = R"(output_type: multiple_choice
dataset_path: facebook/belebele
test_split: test
fewshot_split: test
fewshot_config:
  sampler: first_n
doc_to_text: "P: {{flores_passage}}\nQ: {{question}}\nA: {{mc_answer1}}\nB: {{mc_answer2}}\nAnswer:"
doc_to_choice: ["A", "B"]
doc_to_target: "{{correct_answer_num|int - 1}}"
metric_list:
  - metric: acc
  - metric: acc_norm
metadata:
  version: 0.0
)";

constexpr const char* kCopaEs = R"(task: copa_es_like
dataset_path: BSC-LT/COPA-es
dataset_name: null
output_type: multiple_choice
validation_split: validation
test_split: test
process_docs: !function utils.process_docs
doc_to_text: !function utils.doc_to_text
doc_to_target: label
doc_to_choice: !function utils.doc_to_choice
metric_list:
  - metric: acc
)";

bool mentions(const ConvertedTask& r, const std::string& key, const std::string& words) {
  for (const auto& d : r.dropped)
    if (d.key == key && d.reason.find(words) != std::string::npos) return true;
  return false;
}

TEST(Convert, PlainTemplatesAreCarriedAndTheRestNamed) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("xstorycloze_eu.yaml"), kStoryClozeEu).ok());
  auto r = convert_harness_task(dir.file("xstorycloze_eu.yaml"), dir.file("out.yaml"),
                                {.data_files = {{"train", "d/train.jsonl"}, {"eval", "d/eval.jsonl"}}, .language = "eu"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->blocking, "");
  EXPECT_EQ(r->config["doc_to_choice"], "{{[sentence_quiz1, sentence_quiz2]}}");
  EXPECT_EQ(r->config["dataset_kwargs"]["data_files"]["eval"], "d/eval.jsonl");
  EXPECT_FALSE(r->config.contains("dataset_path"));
  EXPECT_EQ(r->config["metric_list"].size(), 1u);  // acc; f1 named below
  EXPECT_EQ(r->config["metadata"]["language"], "eu");
  EXPECT_TRUE(mentions(*r, "metric_list[1]", "'f1' is not computed")) << r->yaml;
  EXPECT_TRUE(mentions(*r, "metric_list[1].aggregation", "Python code")) << r->yaml;
  EXPECT_EQ(r->dropped.size(), 2u) << r->yaml;

  // The written YAML is a task `fragua eval run` loads and renders.
  ASSERT_TRUE(write_file_atomic(dir.file("out.yaml"), r->yaml).ok());
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("d")).ok());
  const std::string doc =
      R"({"input_sentence_1": "Mikel etxera joan zen.", "input_sentence_2": "Gosea zuen.", "input_sentence_3": "Sukaldera sartu zen.", "input_sentence_4": "Hozkailua ireki zuen.", "sentence_quiz1": "Ogitarteko bat egin zuen.", "sentence_quiz2": "Igerilekura salto egin zuen.", "answer_right_ending": 1})"
      "\n";
  ASSERT_TRUE(write_file_atomic(dir.file("d/eval.jsonl"), doc).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("d/train.jsonl"), doc).ok());
  auto t = load_task(dir.file("out.yaml"));
  ASSERT_TRUE(t.ok()) << t.error().to_string() << "\n" << r->yaml;
  EXPECT_EQ(t->language, "eu");
  auto docs = load_split(*t, "eval");
  ASSERT_TRUE(docs.ok());
  auto q = build_question(*t, (*docs)[0], {});
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->context, "Mikel etxera joan zen. Gosea zuen. Sukaldera sartu zen. Hozkailua ireki zuen.");
  EXPECT_EQ(q->choices, (std::vector<std::string>{"Ogitarteko bat egin zuen.", "Igerilekura salto egin zuen."}));
  EXPECT_EQ(q->gold, 0u);
}

TEST(Convert, IncludedParentAndHubConfiguration) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("_default_template_yaml"), kBelebeleBase).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("belebele_glg_Latn.yaml"),
                                "dataset_name: glg_Latn\ninclude: _default_template_yaml\ntask: belebele_glg_Latn\n")
                  .ok());
  auto r = convert_harness_task(dir.file("belebele_glg_Latn.yaml"), dir.file("out.yaml"), {.data_dir = "belebele_gl"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->blocking, "") << r->yaml;
  EXPECT_EQ(r->config["task"], "belebele_glg_Latn");
  EXPECT_EQ(r->config["dataset_path"], "belebele_gl");
  EXPECT_EQ(r->config["fewshot_split"], "test");
  EXPECT_EQ(r->config["doc_to_choice"], nlohmann::ordered_json::parse(R"(["A", "B"])"));
  EXPECT_TRUE(mentions(*r, "fewshot_config", "default sampler"));
  EXPECT_NE(r->yaml.find("# not carried: fewshot_config"), std::string::npos);

  // Without local data the task cannot run: said, with the hub dataset's name.
  auto none = convert_harness_task(dir.file("belebele_glg_Latn.yaml"), dir.file("out.yaml"), {});
  ASSERT_TRUE(none.ok());
  EXPECT_NE(none->blocking.find("facebook/belebele (glg_Latn)"), std::string::npos) << none->blocking;
}

TEST(Convert, PythonHooksAreNamedAndBlockWhenRequired) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("copa_es.yaml"), kCopaEs).ok());
  auto r = convert_harness_task(dir.file("copa_es.yaml"), dir.file("out.yaml"), {.data_dir = "copa_es"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(mentions(*r, "process_docs", "!function utils.process_docs"));
  EXPECT_TRUE(mentions(*r, "doc_to_text", "!function utils.doc_to_text"));
  EXPECT_TRUE(mentions(*r, "doc_to_choice", "!function utils.doc_to_choice"));
  EXPECT_NE(r->blocking.find("doc_to_text is required"), std::string::npos) << r->blocking;
  EXPECT_EQ(r->config["doc_to_target"], "label");  // what could be carried still is

  EXPECT_FALSE(convert_harness_task(dir.file("missing.yaml"), dir.file("out.yaml"), {}).ok());
}

}  // namespace
}  // namespace fragua::eval
