// SPDX-License-Identifier: Apache-2.0
// `fragua taxonomy diff`: leaves changed since a revision, on a git repository built here.
#include <gtest/gtest.h>

#include "fragua/community/taxonomy.h"
#include "test_util.h"

namespace fragua::community {
namespace {

class TaxonomyDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!run_program({"git", "--version"}, "").ok()) GTEST_SKIP() << "git is not installed: diff tests skipped";
    root_ = dir_.file("repo/tax");
    test::write_test_file(root_ + "/knowledge/a/qna.yaml", "version: 3\n");
    test::write_test_file(root_ + "/knowledge/b/qna.yaml", "version: 3\n");
    test::write_test_file(root_ + "/skills/c/qna.yaml", "version: 3\n");
    test::write_test_file(dir_.file("repo/README.md"), "outside the taxonomy\n");
    git({"init", "-q"});
    git({"add", "."});
    git({"commit", "-q", "-m", "first"});
  }
  void git(std::vector<std::string> args) {
    std::vector<std::string> argv = {"git", "-c", "user.name=Fragua Test", "-c", "user.email=test@fragua.invalid",
                                     "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_program(argv, dir_.file("repo"));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }

  test::TempDir dir_;
  std::string root_;
};

TEST_F(TaxonomyDiffTest, NothingChanged) {
  auto d = taxonomy_diff(root_, "HEAD");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_TRUE(d->changed.empty());
  EXPECT_TRUE(d->removed.empty());
}

TEST_F(TaxonomyDiffTest, ChangedNewCommittedAndRemovedLeaves) {
  test::write_test_file(root_ + "/knowledge/a/qna.yaml", "version: 3\ncreated_by: x\n");  // modified, not staged
  test::write_test_file(root_ + "/knowledge/n/qna.yaml", "version: 3\n");                 // untracked
  test::write_test_file(root_ + "/knowledge/n/notes.txt", "not a leaf\n");
  test::write_test_file(dir_.file("repo/README.md"), "changed outside\n");
  git({"rm", "-q", "tax/skills/c/qna.yaml"});
  auto d = taxonomy_diff(root_, "HEAD");
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->changed, (std::vector<std::string>{"knowledge/a/qna.yaml", "knowledge/n/qna.yaml"}));
  EXPECT_EQ(d->removed, (std::vector<std::string>{"skills/c/qna.yaml"}));

  // Committed changes count against an older revision, not against HEAD.
  git({"add", "-A"});
  git({"commit", "-q", "-m", "second"});
  auto since_head = taxonomy_diff(root_, "HEAD");
  ASSERT_TRUE(since_head.ok());
  EXPECT_TRUE(since_head->changed.empty());
  auto since_first = taxonomy_diff(root_, "HEAD~1");
  ASSERT_TRUE(since_first.ok());
  EXPECT_EQ(since_first->changed, (std::vector<std::string>{"knowledge/a/qna.yaml", "knowledge/n/qna.yaml"}));
  EXPECT_EQ(since_first->removed, (std::vector<std::string>{"skills/c/qna.yaml"}));
}

TEST_F(TaxonomyDiffTest, ChangedLeavesAreTheOnesValidated) {
  test::write_test_file(root_ + "/knowledge/b/qna.yaml", "version: 3\ncreated_by: [x\n");
  auto d = taxonomy_diff(root_, "HEAD");
  ASSERT_TRUE(d.ok());
  auto report = validate_taxonomy(root_, d->changed, {});
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->n_files, 1u);
  ASSERT_FALSE(report->problems.empty());
  EXPECT_EQ(report->problems[0].file, root_ + "/knowledge/b/qna.yaml");
  EXPECT_EQ(report->problems[0].message.rfind("YAML: ", 0), 0u);
}

TEST_F(TaxonomyDiffTest, BadRevisionAndNotARepository) {
  auto bad = taxonomy_diff(root_, "no-such-revision");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("git -c core.quotepath=off diff"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("no-such-revision"), std::string::npos);
  EXPECT_FALSE(taxonomy_diff(root_, "--output=/tmp/x").ok());  // never an option to git
  test::TempDir plain;
  EXPECT_FALSE(taxonomy_diff(plain.path(), "HEAD").ok());
}

}  // namespace
}  // namespace fragua::community
