#include "service/extract/fields.h"

#include "gtest/gtest.h"

namespace gather::extract {
namespace {

std::vector<FieldSpec> Fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<FieldSpec> out;
  for (auto [name, pointer] : list) out.push_back({name, *common::ParseJsonPointer(pointer)});
  return out;
}

TEST(FieldsTest, RawJsonValuesSurviveExactly) {
  std::string body =
      R"({"id":12345678901234567890123,"label":"caf\u00e9 \"x\"","loc":{"lat":47.37,"tags":[1,{"a":null}]},"n":null})";
  ExtractOutcome out;
  simdjson::ondemand::parser parser;
  ExtractFields(parser, PadForParse(body),
                Fields({{"id", "/id"}, {"label", "/label"}, {"loc", "/loc"}, {"lat", "/loc/lat"},
                        {"tag", "/loc/tags/1"}, {"n", "/n"}, {"absent", "/nope"}}),
                {}, out);
  ASSERT_EQ(out.status, ExtractStatus::kOk) << out.error;
  EXPECT_EQ(out.values[0], "12345678901234567890123");
  EXPECT_EQ(out.values[1], R"("caf\u00e9 \"x\"")");
  EXPECT_EQ(out.values[2], R"({"lat":47.37,"tags":[1,{"a":null}]})");
  EXPECT_EQ(out.values[3], "47.37");
  EXPECT_EQ(out.values[4], R"({"a":null})");
  EXPECT_EQ(out.values[5], "null");
  EXPECT_EQ(out.values[6], "");
}

TEST(FieldsTest, MissingRequiredPointerIsMissing) {
  std::string body = R"({"id":"1","location":null})";
  ExtractOutcome out;
  simdjson::ondemand::parser parser;
  ExtractFields(parser, PadForParse(body), Fields({{"id", "/id"}}),
                {*common::ParseJsonPointer("/location")}, out);
  EXPECT_EQ(out.status, ExtractStatus::kMissing);
  std::string body2 = R"({"id":"1"})";
  ExtractFields(parser, PadForParse(body2), Fields({{"id", "/id"}}),
                {*common::ParseJsonPointer("/location/cityLabel")}, out);
  EXPECT_EQ(out.status, ExtractStatus::kMissing);
}

TEST(FieldsTest, PointerThroughNullOrScalarIsAbsent) {
  std::string body = R"({"id":7,"location":null,"tags":[1,2],"n":5})";
  ExtractOutcome out;
  simdjson::ondemand::parser parser;
  ExtractFields(parser, PadForParse(body),
                Fields({{"city", "/location/cityLabel"}, {"t", "/tags/01"}, {"x", "/n/x"},
                        {"id", "/id"}}),
                {}, out);
  ASSERT_EQ(out.status, ExtractStatus::kOk) << out.error;
  EXPECT_EQ(out.values, (std::vector<std::string>{"", "", "", "7"}));
  ExtractFields(parser, PadForParse(body), Fields({{"id", "/id"}}),
                {*common::ParseJsonPointer("/location/cityLabel")}, out);
  EXPECT_EQ(out.status, ExtractStatus::kMissing) << out.error;
}

TEST(FieldsTest, EmptyPointerOnAScalarDocument) {
  // Found by fuzz_json_extract: a body that is one scalar read as "body is not JSON" for "".
  ExtractOutcome out;
  simdjson::ondemand::parser parser;
  const std::vector<JsonPointer> whole{*common::ParseJsonPointer("")};
  std::string text = "\"caf\u00e9\" \n";
  ExtractFields(parser, PadForParse(text), Fields({{"all", ""}, {"x", "/x"}}), whole, out);
  ASSERT_EQ(out.status, ExtractStatus::kOk) << out.error;
  EXPECT_EQ(out.values, (std::vector<std::string>{"\"caf\u00e9\"", ""}));
  std::string null_body = "null";
  ExtractFields(parser, PadForParse(null_body), Fields({{"all", ""}}), whole, out);
  EXPECT_EQ(out.status, ExtractStatus::kMissing) << out.error;
}

TEST(FieldsTest, NotJsonIsBadContent) {
  std::string body = "Internal Server Error";
  ExtractOutcome out;
  simdjson::ondemand::parser parser;
  ExtractFields(parser, PadForParse(body), Fields({{"id", "/id"}}), {}, out);
  EXPECT_EQ(out.status, ExtractStatus::kBadContent);
}

TEST(FieldsTest, BrokenJsonAfterAnAbsentFieldIsBadContentNotACrash) {
  // Found by fuzz_json_extract: a lookup in an unclosed array reports INDEX_OUT_OF_BOUNDS but
  // leaves the simdjson document abandoned; the next field's lookup dereferenced a null parser.
  ExtractOutcome out;
  simdjson::ondemand::parser parser;
  for (std::string body : {R"({"a":[1})", R"({"":[})", R"({"a":[1,2])"}) {
    ExtractFields(parser, PadForParse(body), Fields({{"x", "/a/4"}, {"y", "/b"}, {"z", ""}}), {},
                  out);
    EXPECT_EQ(out.status, ExtractStatus::kBadContent) << body;
  }
  std::string fine = R"({"a":[1],"b":2})";
  ExtractFields(parser, PadForParse(fine), Fields({{"x", "/a/4"}, {"y", "/b"}}), {}, out);
  ASSERT_EQ(out.status, ExtractStatus::kOk) << out.error;
  EXPECT_EQ(out.values[0], "");
  EXPECT_EQ(out.values[1], "2");
}

}  // namespace
}  // namespace gather::extract
