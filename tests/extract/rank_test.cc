#include "service/extract/rank.h"

#include "gtest/gtest.h"

namespace gather::extract {
namespace {

TEST(RankTest, TopNDescendingWithIdTieBreak) {
  std::vector<Scored> items = {{"b", "u", 5}, {"a", "u", 5}, {"c", "u", 9}, {"d", "u", 1}};
  auto top = TopN(items, 3, false);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, "c");
  EXPECT_EQ(top[1].id, "a");
  EXPECT_EQ(top[2].id, "b");
}

TEST(RankTest, AscendingAndAll) {
  std::vector<Scored> items = {{"b", "u", 5}, {"a", "u", 5}, {"c", "u", 9}, {"d", "u", 1}};
  auto all = TopN(items, 0, true);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].id, "d");
  EXPECT_EQ(all[1].id, "a");
  EXPECT_EQ(all[3].id, "c");
  EXPECT_EQ(TopN(items, 10, false).size(), 4u);
}

}  // namespace
}  // namespace gather::extract
