#include "common/text_template.h"

#include <string>

#include "gtest/gtest.h"

namespace gather::common {
namespace {

TEST(TextTemplateTest, NamesArePlaceholdersOtherBracesAreText) {
  TextTemplate tmpl = TextTemplate::Parse(R"({"q": "{keyword}", "at": {lat}, "x": {}, "y": "{a-b}", "k": "{keyword}"})");
  EXPECT_EQ(tmpl.names(), (std::vector<std::string>{"keyword", "lat"}));
  Row row({{"keyword", "coffee \"shop\""}, {"lat", "40.1"}});
  std::string out;
  ASSERT_TRUE(tmpl.ExpandInto(row, Escape::kJson, out).ok());
  EXPECT_EQ(out, R"({"q": "coffee \"shop\"", "at": 40.1, "x": {}, "y": "{a-b}", "k": "coffee \"shop\""})");
}

TEST(TextTemplateTest, PercentEncodesEveryByteOutsideUnreserved) {
  TextTemplate tmpl = TextTemplate::Parse("http://h/s?q={q}&loc={location}");
  Row row({{"q", "a b&c=d?e#f/g%h+i"}, {"location", "40.1,-73.9"}});
  std::string out;
  ASSERT_TRUE(tmpl.ExpandInto(row, Escape::kPercent, out).ok());
  EXPECT_EQ(out, "http://h/s?q=a%20b%26c%3Dd%3Fe%23f%2Fg%25h%2Bi&loc=40.1%2C-73.9");
}

TEST(TextTemplateTest, AMissingColumnIsNamed) {
  TextTemplate tmpl = TextTemplate::Parse("http://h/{id}/{radius}");
  std::string out;
  absl::Status status = tmpl.ExpandInto(Row({{"id", "7"}}), Escape::kPercent, out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("\"radius\""), std::string::npos) << status.message();
}

TEST(TextTemplateTest, HeaderValuesRefuseLineBreaks) {
  TextTemplate tmpl = TextTemplate::Parse("Bearer {token}");
  std::string out;
  ASSERT_TRUE(tmpl.ExpandInto(Row({{"token", "abc"}}), Escape::kNone, out).ok());
  EXPECT_EQ(out, "Bearer abc");
  EXPECT_FALSE(tmpl.ExpandInto(Row({{"token", "a\r\nX-Evil: 1"}}), Escape::kNone, out).ok());
}

TEST(TextTemplateTest, JsonEscapingKeepsUnicodeAndEscapesControls) {
  TextTemplate tmpl = TextTemplate::Parse(R"({"v":"{v}"})");
  std::string out;
  ASSERT_TRUE(tmpl.ExpandInto(Row({{"v", "東京 🙂 a\\b\nc\x01"}}), Escape::kJson, out).ok());
  EXPECT_EQ(out, "{\"v\":\"東京 🙂 a\\\\b\\nc\\u0001\"}");
}

TEST(TextTemplateTest, PlainKeysAndTextWithoutPlaceholders) {
  TextTemplate tmpl = TextTemplate::Parse("http://h/{key}");
  std::string out;
  ASSERT_TRUE(tmpl.ExpandInto(Row::OfKey("a/b"), Escape::kPercent, out).ok());
  EXPECT_EQ(out, "http://h/a%2Fb");
  TextTemplate fixed = TextTemplate::Parse("no {placeholders} here{");
  EXPECT_EQ(fixed.names(), (std::vector<std::string>{"placeholders"}));
  TextTemplate none = TextTemplate::Parse("{} {-} { x} {");
  EXPECT_TRUE(none.names().empty());
  ASSERT_TRUE(none.ExpandInto(Row(), Escape::kPercent, out).ok());
  EXPECT_EQ(out, "{} {-} { x} {");
  EXPECT_EQ(TextTemplate::Parse("a{x}b{y}c").ExpandWith("0"), "a0b0c");
}

}  // namespace
}  // namespace gather::common
