#include "common/json_string.h"

#include <string>

#include "gtest/gtest.h"

namespace gather::common {
namespace {

TEST(JsonStringTest, JsonStringEscapesQuotesBackslashesAndControls) {
  std::string out;
  AppendJsonString("a\"b\\c\nd\te\x01 Zürich", out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\te\\u0001 Zürich\"");
}

TEST(JsonStringTest, DecodeJsonStringHandlesEscapesAndSurrogates) {
  std::string out;
  ASSERT_TRUE(DecodeJsonString(R"("New \"York\" \u00e9 \ud83d\ude00 \/")", out));
  EXPECT_EQ(out, "New \"York\" é 😀 /");
  EXPECT_FALSE(DecodeJsonString("\"unterminated", out));
  EXPECT_FALSE(DecodeJsonString("\"bad \\x\"", out));
  EXPECT_FALSE(DecodeJsonString("42", out));
}

}  // namespace
}  // namespace gather::common
