#include "client/io/text.h"

#include "gtest/gtest.h"

namespace gather::client {
namespace {

TEST(TextTest, CsvFieldQuotesOnlyWhenNeeded) {
  std::string out;
  AppendCsvField("plain", out);
  out.push_back('|');
  AppendCsvField("a,b", out);
  out.push_back('|');
  AppendCsvField("say \"hi\"", out);
  out.push_back('|');
  AppendCsvField("two\nlines", out);
  out.push_back('|');
  AppendCsvField(" padded", out);
  EXPECT_EQ(out, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\" padded\"");
}

TEST(TextTest, CsvValueDecodesStringsKeepsNumbersAndObjects) {
  auto cell = [](const std::string& json) {
    std::string out;
    AppendCsvValue(json, out);
    return out;
  };
  EXPECT_EQ(cell("\"Berlin\""), "Berlin");
  EXPECT_EQ(cell(R"("New \"York\"")"), "\"New \"\"York\"\"\"");
  EXPECT_EQ(cell("18446744073709551615"), "18446744073709551615");
  EXPECT_EQ(cell("null"), "");
  EXPECT_EQ(cell(""), "");
  EXPECT_EQ(cell("true"), "true");
  EXPECT_EQ(cell("{\"a\":1,\"b\":[2]}"), "\"{\"\"a\"\":1,\"\"b\"\":[2]}\"");
}

TEST(TextTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("Zürich 😀"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_EQ(SanitizeUtf8("a\xff" "b"), "a\xEF\xBF\xBD" "b");
}

}  // namespace
}  // namespace gather::client
