// SPDX-License-Identifier: Apache-2.0
// The built-in tasks of data/eval/tasks/ load, render every document, and (arithmetic) state
// answers that follow from their questions: the two numbers of each question added or
// subtracted as its verb says.
#include <regex>

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
      if (kind != "fragua_arith_") continue;
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

}  // namespace
}  // namespace fragua::eval
