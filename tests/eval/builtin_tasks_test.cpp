// SPDX-License-Identifier: Apache-2.0
// The built-in tasks of data/eval/tasks/ load, render every document, (minimal pairs) hold each
// pair once, and (arithmetic) state answers that follow from their questions: the two numbers of
// each question added or subtracted as its verb says.
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "fragua/eval/harness.h"

namespace fragua::eval {
namespace {

TEST(BuiltinTasks, LoadAndRender) {
  for (const char* lang : {"es", "ca", "gl", "eu"}) {
    for (const std::string kind : {"fragua_pairs_", "fragua_arith_"}) {
      auto path = find_task(kind + lang, {});
      ASSERT_TRUE(path.ok()) << path.error().to_string();
      auto task = load_task(*path);
      ASSERT_TRUE(task.ok()) << task.error().to_string();
      EXPECT_EQ(task->language, lang);
      auto p = prepare_task(*task, {});
      ASSERT_TRUE(p.ok()) << p.error().to_string();
      EXPECT_GE(p->questions.size(), 25u);
      if (kind == "fragua_pairs_") {
        // 25 hand-written + 300 generated (data/eval/make_pair_tasks.py); each pair once, its two
        // sentences different, rendered back as written (quotes and apostrophes survive the
        // Python list literal), each naming its phenomenon.
        EXPECT_EQ(p->questions.size(), 325u);
        std::set<std::pair<std::string, std::string>> seen;
        for (size_t i = 0; i < p->docs.size(); ++i) {
          const auto& d = p->docs[i];
          const std::string good = d["sentence_good"], bad = d["sentence_bad"];
          EXPECT_NE(good, bad);
          EXPECT_TRUE(seen.insert({good, bad}).second) << good;
          EXPECT_FALSE(d.value("phenomenon", std::string()).empty()) << good;
          EXPECT_EQ(p->questions[i].choices, (std::vector<std::string>{good, bad}));
        }
        continue;
      }
      EXPECT_EQ(p->questions.size(), 300u);
      EXPECT_EQ(p->n_shot, 3);
      // Additions say "more/més/máis/beste"; the rest are subtractions.
      const std::regex nums("(\\d+)\\D+(\\d+)");
      for (size_t i = 0; i < p->docs.size(); ++i) {
        const std::string q = p->docs[i]["question"].get<std::string>();
        std::smatch m;
        ASSERT_TRUE(std::regex_search(q, m, nums)) << q;
        const int a = std::stoi(m[1]), b = std::stoi(m[2]);
        const bool add = q.find(" más") != std::string::npos || q.find(" més") != std::string::npos ||
                         q.find(" máis") != std::string::npos || q.find("beste ") != std::string::npos;
        EXPECT_EQ(p->questions[i].target, std::to_string(add ? a + b : a - b)) << q;
        EXPECT_GE(std::stoi(p->questions[i].target), 2) << q;
        EXPECT_TRUE(p->questions[i].context.ends_with(": ")) << p->questions[i].context;
      }
    }
  }
}

TEST(BuiltinTasks, ReadingAnswersAreInThePassage) {
  // data/eval/make_reading_tasks.py: the right answer (its final "." dropped, its first letter
  // as written or lowered) is written in the passage, the three others are not.
  for (const char* lang : {"es", "ca", "gl", "eu"}) {
    auto task = load_task(*find_task(std::string("fragua_reading_") + lang, {}));
    ASSERT_TRUE(task.ok()) << lang;
    EXPECT_EQ(task->language, lang);
    auto p = prepare_task(*task, {});
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    ASSERT_EQ(p->questions.size(), 300u);
    for (const auto& q : p->questions) {
      ASSERT_EQ(q.choices.size(), 4u);
      const std::string passage = q.context.substr(0, q.context.find('\n'));
      for (size_t c = 0; c < 4; ++c) {
        const std::string a = q.choices[c].substr(0, q.choices[c].size() - 1);  // a city keeps its capital
        std::string lowered = a;
        lowered[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(a[0])));
        const bool found = passage.find(a) != std::string::npos || passage.find(lowered) != std::string::npos;
        EXPECT_EQ(found, c == q.gold) << passage << " / " << q.choices[c];
      }
    }
  }
}

TEST(BuiltinTasks, TranslationBothWays) {
  // data/eval/make_translation_tasks.py: the same 210 sentence pairs for each direction of a
  // language pair, so that each task's targets are the other direction's sources.
  for (const char* other : {"ca", "gl", "eu"}) {
    const std::string there = std::string("fragua_mt_es_") + other, back = std::string("fragua_mt_") + other + "_es";
    auto a = load_task(*find_task(there, {}));
    auto b = load_task(*find_task(back, {}));
    ASSERT_TRUE(a.ok() && b.ok()) << there;
    EXPECT_EQ(a->language, other);
    EXPECT_EQ(a->output_type, "generate_until");
    EXPECT_EQ(a->metrics, (std::vector<std::string>{"chrf", "bleu"}));
    auto pa = prepare_task(*a, {});
    auto pb = prepare_task(*b, {});
    ASSERT_TRUE(pa.ok() && pb.ok()) << (pa.ok() ? pb.error().to_string() : pa.error().to_string());
    ASSERT_EQ(pa->questions.size(), 200u);
    EXPECT_EQ(pa->n_shot, 3);
    for (size_t i = 0; i < 200; ++i) {
      EXPECT_EQ(pa->docs[i]["target"], pb->docs[i]["source"]);
      EXPECT_NE(pa->questions[i].target, "");
      EXPECT_TRUE(pa->questions[i].context.ends_with(":")) << pa->questions[i].context;
    }
  }
}

}  // namespace
}  // namespace fragua::eval
