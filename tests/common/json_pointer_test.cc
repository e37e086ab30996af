#include "common/json_pointer.h"

#include <string>

#include "gtest/gtest.h"

namespace gather::common {
namespace {

TEST(JsonPointerTest, EmptyIsWholeDocument) {
  auto pointer = ParseJsonPointer("");
  ASSERT_TRUE(pointer.ok());
  EXPECT_TRUE(pointer->tokens.empty());
}

TEST(JsonPointerTest, SplitsAndUnescapes) {
  auto pointer = ParseJsonPointer("/a~1b/m~0n/0/");
  ASSERT_TRUE(pointer.ok());
  ASSERT_EQ(pointer->tokens.size(), 4u);
  EXPECT_EQ(pointer->tokens[0], "a/b");
  EXPECT_EQ(pointer->tokens[1], "m~n");
  EXPECT_EQ(pointer->tokens[2], "0");
  EXPECT_EQ(pointer->tokens[3], "");
  EXPECT_EQ(pointer->text, "/a~1b/m~0n/0/");
}

TEST(JsonPointerTest, RejectsMissingSlashAndBadEscapes) {
  EXPECT_FALSE(ParseJsonPointer("data").ok());
  EXPECT_FALSE(ParseJsonPointer("/a~2").ok());
  EXPECT_FALSE(ParseJsonPointer("/a~").ok());
  auto bad = ParseJsonPointer("data");
  EXPECT_NE(bad.status().message().find("start with"), std::string::npos);
}

}  // namespace
}  // namespace gather::common
