// SPDX-License-Identifier: Apache-2.0
// Task definitions: YAML keys and refusals, the template subset through the chat-template Jinja
// interpreter, choice and target rendering, the few-shot prompt, and the few-shot sampler against
// CPython's random module (values printed by Python 3.11: random.Random(1234).getrandbits(32),
// .sample(range(n), k)).
#include "fragua/eval/task.h"

#include <gtest/gtest.h>

#include "fragua/eval/fewshot.h"
#include "fragua/eval/harness.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

using json = nlohmann::ordered_json;

TEST(PyRandom, MatchesCPython) {
  PyRandom r(1234);
  EXPECT_EQ(r.getrandbits(32), 4150886329u);
  EXPECT_EQ(r.getrandbits(32), 3342196574u);
  EXPECT_EQ(r.getrandbits(32), 1892932127u);
  PyRandom a(1234);  // pool branch (n <= setsize), two calls in a row share the generator
  EXPECT_EQ(a.sample(10, 3), (std::vector<size_t>{7, 1, 0}));
  EXPECT_EQ(a.sample(10, 3), (std::vector<size_t>{1, 0, 9}));
  PyRandom b(1234);  // set branch: n = 100 > 21 + 4^3
  EXPECT_EQ(b.sample(100, 8), (std::vector<size_t>{99, 56, 14, 0, 11, 74, 4, 85}));
  PyRandom c(42);
  EXPECT_EQ(c.sample(5, 5), (std::vector<size_t>{0, 4, 2, 1, 3}));
}

TEST(FewShot, SameSplitDropsTheDocumentItself) {
  // The harness draws k + 1 from the evaluated split and drops the document: Random(1234) draws
  // [7, 1, 0] for document 7, then [1, 0, 9] for document 1.
  PyRandom r(1234);
  EXPECT_EQ(sample_fewshot(r, 10, 2, true, 7), (std::vector<size_t>{1, 0}));
  EXPECT_EQ(sample_fewshot(r, 10, 2, true, 1), (std::vector<size_t>{0, 9}));
  PyRandom s(1234);  // another split: exactly k drawn
  EXPECT_EQ(sample_fewshot(s, 10, 3, false, 7), (std::vector<size_t>{7, 1, 0}));
}

TEST(PythonList, Literals) {
  auto l = parse_python_string_list("['a', \"b c\", 'it\\'s', 'x\\ny']");
  ASSERT_TRUE(l.ok()) << l.error().to_string();
  EXPECT_EQ(*l, (std::vector<std::string>{"a", "b c", "it's", "x\ny"}));
  EXPECT_TRUE(parse_python_string_list(" [] ")->empty());
  EXPECT_EQ(parse_python_string_list("['a',]")->size(), 1u);
  EXPECT_FALSE(parse_python_string_list("['a' 'b']").ok());
  EXPECT_FALSE(parse_python_string_list("['a'").ok());
  EXPECT_FALSE(parse_python_string_list("a, b").ok());
  EXPECT_FALSE(parse_python_string_list("['a'] x").ok());
}

constexpr const char* kCopa = R"(task: copa_test
dataset_path: data
test_split: test
fewshot_split: train
doc_to_text: "{{premise[:-1]}} {% if question == 'cause' %}perquè{% else %}i per tant{% endif %}"
doc_to_choice: "{{[choice1, choice2]}}"
doc_to_target: label
num_fewshot: 0
metric_list:
  - metric: acc
  - metric: acc_norm
metadata:
  version: 1.0
  language: ca
)";

TEST(Task, ParsesTheHarnessKeys) {
  auto t = parse_task(kCopa, "dir/copa.yaml");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->task, "copa_test");
  EXPECT_EQ(t->split_files.at("test"), "dir/data/test.jsonl");
  EXPECT_EQ(t->split_files.at("train"), "dir/data/train.jsonl");
  EXPECT_EQ(t->eval_split(), "test");
  EXPECT_EQ(t->shot_split(), "train");
  EXPECT_EQ(t->target_delimiter, " ");
  EXPECT_EQ(t->fewshot_delimiter, "\n\n");
  EXPECT_EQ(t->metrics, (std::vector<std::string>{"acc", "acc_norm"}));
  EXPECT_EQ(t->version, 1.0);
  EXPECT_EQ(t->language, "ca");
}

TEST(Task, RefusesWhatItCannotCarry) {
  auto unknown = parse_task(std::string(kCopa) + "process_docs: !function utils.process_docs\n", "c.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("process_docs"), std::string::npos) << unknown.error().message();
  auto tagged = parse_task("task: x\ntest_split: test\ndataset_path: d\ndoc_to_text: !function u.f\n"
                           "doc_to_target: 0\ndoc_to_choice: [a, b]\n",
                           "t.yaml");
  ASSERT_FALSE(tagged.ok());
  EXPECT_NE(tagged.error().message().find("!function"), std::string::npos) << tagged.error().message();
  auto gen = parse_task(std::string(kCopa) + "output_type: generate_until\n", "g.yaml");
  ASSERT_FALSE(gen.ok());
  auto bad = parse_task("task: [unclosed", "b.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("b.yaml:1:"), std::string::npos) << bad.error().message();
  EXPECT_FALSE(parse_task("task: x\ntest_split: test\ndataset_path: d\n", "m.yaml").ok());  // no doc_to_*
}

TEST(Task, RendersTemplatesChoicesAndTargets) {
  auto t = parse_task(kCopa, "copa.yaml");
  ASSERT_TRUE(t.ok());
  const json doc = {{"premise", "L'home va obrir l'aixeta."},
                    {"question", "effect"},
                    {"choice1", "El vàter es va omplir d'aigua."},
                    {"choice2", "L'aigua va sortir de l'aixeta."},
                    {"label", 1}};
  EXPECT_EQ(*render_field(t->doc_to_text, doc), "L'home va obrir l'aixeta i per tant");
  auto choices = render_choices(*t, doc);
  ASSERT_TRUE(choices.ok()) << choices.error().to_string();
  EXPECT_EQ(*choices, (std::vector<std::string>{"El vàter es va omplir d'aigua.", "L'aigua va sortir de l'aixeta."}));
  EXPECT_EQ(*render_target(*t, doc, *choices), 1u);
  // A field name gives the field; text without tags is itself; an integer its digits.
  EXPECT_EQ(*render_field("premise", doc), "L'home va obrir l'aixeta.");
  EXPECT_EQ(*render_field("Resposta:", doc), "Resposta:");
  EXPECT_EQ(*render_field(3, doc), "3");
  // Targets as the text of a choice, or digits from a template; out of range is an error.
  TaskConfig u = *t;
  u.doc_to_target = "{{choice2}}";
  EXPECT_EQ(*render_target(u, doc, *choices), 1u);
  u.doc_to_target = "{{label - 1}}";
  EXPECT_EQ(*render_target(u, doc, *choices), 0u);
  u.doc_to_target = 5;
  EXPECT_FALSE(render_target(u, doc, *choices).ok());
  // Choices as a YAML list of templates, or a field holding a list.
  u.doc_to_choice = json::array({"{{choice1}}", "cap"});
  EXPECT_EQ(*render_choices(u, doc), (std::vector<std::string>{"El vàter es va omplir d'aigua.", "cap"}));
  u.doc_to_choice = "options";
  EXPECT_EQ(*render_choices(u, json{{"options", {"a", "b", "c"}}}), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Task, FewShotContextIsTheHarnessLayout) {
  auto t = parse_task("task: t\ntest_split: test\ndataset_path: d\ndescription: \"Tria.\\n\\n\"\n"
                      "doc_to_text: \"Q: {{q}}\\nA:\"\ndoc_to_choice: [\"sí\", \"no\"]\ndoc_to_target: a\n",
                      "t.yaml");
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  const json s1 = {{"q", "u"}, {"a", 0}}, s2 = {{"q", "v"}, {"a", 1}}, doc = {{"q", "w"}, {"a", 1}};
  auto q = build_question(*t, doc, {&s1, &s2});
  ASSERT_TRUE(q.ok()) << q.error().to_string();
  EXPECT_EQ(q->context, "Tria.\n\nQ: u\nA: sí\n\nQ: v\nA: no\n\nQ: w\nA:");
  EXPECT_EQ(q->gold, 1u);
}

TEST(Task, LoadsSplitsIncludesAndSamplesDeterministically) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("_base.yaml"),
                                "dataset_path: data\ntest_split: test\ndoc_to_text: \"{{q}}\"\n"
                                "doc_to_choice: [\"a\", \"b\"]\ndoc_to_target: g\nnum_fewshot: 2\n")
                  .ok());
  ASSERT_TRUE(write_file_atomic(dir.file("t.yaml"), "include: _base.yaml\ntask: inc\n").ok());
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("data")).ok());
  std::string lines;
  for (int i = 0; i < 12; ++i) lines += fmt::format("{{\"q\": \"q{}\", \"g\": {}}}\n", i, i % 2);
  ASSERT_TRUE(write_file_atomic(dir.file("data/test.jsonl"), lines).ok());
  auto t = load_task(dir.file("t.yaml"));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->task, "inc");
  EXPECT_EQ(t->num_fewshot, 2);
  EXPECT_EQ(t->shot_split(), "");  // no few-shot split: prepare_task refuses shots
  EXPECT_FALSE(prepare_task(*t, {}).ok());
  t->fewshot_split = "test";  // shots from the evaluated split itself
  auto a = prepare_task(*t, {.limit = 5});
  auto b = prepare_task(*t, {.limit = 5});
  auto c = prepare_task(*t, {.limit = 5, .seed = 7});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.error().to_string();
  ASSERT_EQ(a->questions.size(), 5u);
  EXPECT_EQ(a->shots, b->shots);
  EXPECT_NE(a->shots, c->shots);
  for (size_t d = 0; d < 5; ++d) {
    EXPECT_EQ(a->questions[d].context, b->questions[d].context);
    ASSERT_EQ(a->shots[d].size(), 2u);
    for (size_t s : a->shots[d]) EXPECT_NE(s, d);  // never its own example
  }
  // Python: r = random.Random(1234); r.sample(range(12), 3) for documents 0, 1, ... in turn.
  PyRandom r(1234);
  EXPECT_EQ(a->shots[0], sample_fewshot(r, 12, 2, true, 0));
  EXPECT_EQ(a->shots[1], sample_fewshot(r, 12, 2, true, 1));

  ASSERT_TRUE(write_file_atomic(dir.file("data/test.jsonl"), "{\"q\": \"x\", \"g\": 0}\n[1]\n").ok());
  auto bad = load_split(*t, "test");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("test.jsonl:2:"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace fragua::eval
