#include "service/extract/pages.h"

#include "gtest/gtest.h"
#include "service/extract/http_url.h"

namespace gather::extract {
namespace {

std::vector<FieldSpec> Fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<FieldSpec> out;
  for (auto [name, pointer] : list) out.push_back({name, *common::ParseJsonPointer(pointer)});
  return out;
}

JsonPointer Pointer(const char* text) { return *common::ParseJsonPointer(text); }

TEST(NextLinkTargetTest, FindsRelNextAmongOthers) {
  EXPECT_EQ(NextLinkTarget(R"(<https://api.x/items?page=3>; rel="next", <https://api.x/items?page=9>; rel="last")"),
            "https://api.x/items?page=3");
  EXPECT_EQ(NextLinkTarget(R"(<https://api.x/items?page=1>; rel="prev", <https://api.x/items?page=3>; rel="next")"),
            "https://api.x/items?page=3");
  // Unquoted, case-insensitive, in a list of relation types, with other parameters first.
  EXPECT_EQ(NextLinkTarget("</p/2>; title=\"a, b; c\"; REL=Next"), "/p/2");
  EXPECT_EQ(NextLinkTarget("</p/2>; rel=\"prefetch next\""), "/p/2");
  // A comma inside the target or a quoted parameter does not split the list.
  EXPECT_EQ(NextLinkTarget("<https://a.x/?q=a,b>; rel=\"last\", <https://a.x/?q=c,d>; rel=next"),
            "https://a.x/?q=c,d");
}

TEST(NextLinkTargetTest, NoNextOrMalformedIsNone) {
  EXPECT_EQ(NextLinkTarget(""), std::nullopt);
  EXPECT_EQ(NextLinkTarget(R"(<https://api.x/?page=1>; rel="prev")"), std::nullopt);
  EXPECT_EQ(NextLinkTarget(R"(<https://api.x/?page=2; rel="next")"), std::nullopt);
  EXPECT_EQ(NextLinkTarget(R"(https://api.x/?page=2; rel="next")"), std::nullopt);
  EXPECT_EQ(NextLinkTarget(R"(<https://api.x/?page=2>; rel="next)"), std::nullopt);
  // Only the first rel parameter counts.
  EXPECT_EQ(NextLinkTarget(R"(</2>; rel="last"; rel="next")"), std::nullopt);
  // "nextpage" is not "next".
  EXPECT_EQ(NextLinkTarget(R"(</2>; rel="nextpage")"), std::nullopt);
}

TEST(ReadPageTest, ItemsBecomeRowsWithFieldsFromEachElement) {
  std::string body =
      R"({"results":[{"id":1,"name":"a"},{"id":12345678901234567890,"name":"b","x":{"y":[1]}},{"name":"c"}],"next_page_token":"tok 2"})";
  PageSpec spec;
  spec.next = PageSpec::Next::kTokenPointer;
  spec.next_pointer = Pointer("/next_page_token");
  spec.items = Pointer("/results");
  simdjson::ondemand::parser parser;
  PageOutcome out;
  ReadPage(parser, body, spec, Fields({{"id", "/id"}, {"x", "/x"}}), {Pointer("/id")}, out);
  ASSERT_EQ(out.status, ExtractStatus::kOk) << out.error;
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0].item, 0u);
  EXPECT_EQ(out.rows[0].values[0], "1");
  EXPECT_EQ(out.rows[0].values[1], "");
  EXPECT_EQ(out.rows[1].item, 1u);
  EXPECT_EQ(out.rows[1].values[0], "12345678901234567890");
  EXPECT_EQ(out.rows[1].values[1], R"({"y":[1]})");
  EXPECT_EQ(out.filtered, 1u);  // {"name":"c"} has no /id
  EXPECT_EQ(out.next, "tok 2");
}

TEST(ReadPageTest, TopLevelArrayAndScalarElements) {
  std::string body = R"([3, "x", null, {"a":1}])";
  PageSpec spec;
  spec.next = PageSpec::Next::kLinkHeader;
  spec.items = Pointer("");
  simdjson::ondemand::parser parser;
  PageOutcome out;
  ReadPage(parser, body, spec, Fields({{"v", ""}}), {}, out);
  ASSERT_EQ(out.status, ExtractStatus::kOk) << out.error;
  ASSERT_EQ(out.rows.size(), 4u);
  EXPECT_EQ(out.rows[0].values[0], "3");
  EXPECT_EQ(out.rows[1].values[0], "\"x\"");
  EXPECT_EQ(out.rows[2].values[0], "null");
  EXPECT_EQ(out.rows[3].values[0], R"({"a":1})");
  EXPECT_FALSE(out.next.has_value());
}

TEST(ReadPageTest, LastPageAndNumericCursor) {
  PageSpec spec;
  spec.next = PageSpec::Next::kTokenPointer;
  spec.next_pointer = Pointer("/next");
  simdjson::ondemand::parser parser;
  PageOutcome out;
  for (const char* last : {R"({"a":1})", R"({"a":1,"next":null})", R"({"a":1,"next":""})"}) {
    std::string body = last;
    ReadPage(parser, body, spec, Fields({{"a", "/a"}}), {}, out);
    ASSERT_EQ(out.status, ExtractStatus::kOk) << out.error;
    EXPECT_FALSE(out.next.has_value()) << last;
    ASSERT_EQ(out.rows.size(), 1u);
    EXPECT_FALSE(out.rows[0].item.has_value());
  }
  std::string body = R"({"a":1,"next":4200})";
  ReadPage(parser, body, spec, {}, {}, out);
  EXPECT_EQ(out.next, "4200");
}

TEST(ReadPageTest, BadPagesSayWhy) {
  simdjson::ondemand::parser parser;
  PageOutcome out;
  PageSpec items;
  items.items = Pointer("/results");
  std::string body = R"({"results":{"id":1}})";
  ReadPage(parser, body, items, {}, {}, out);
  EXPECT_EQ(out.status, ExtractStatus::kBadContent);
  EXPECT_EQ(out.error, "items: no array at /results (an object)");
  body = R"({"other":[]})";
  ReadPage(parser, body, items, {}, {}, out);
  EXPECT_EQ(out.error, "items: no array at /results (absent)");
  body = "<html>";
  ReadPage(parser, body, items, {}, {}, out);
  EXPECT_EQ(out.status, ExtractStatus::kBadContent);
  EXPECT_NE(out.error.find("not JSON"), std::string::npos);

  PageSpec url;
  url.next = PageSpec::Next::kUrlPointer;
  url.next_pointer = Pointer("/next");
  body = R"({"next":7})";
  ReadPage(parser, body, url, {}, {}, out);
  EXPECT_EQ(out.status, ExtractStatus::kBadContent);
  EXPECT_EQ(out.error, "the next page's URL at /next is a number, not a string");
}

TEST(ReadPageTest, LinkModeWithoutFieldsNeedsNoJson) {
  PageSpec spec;
  spec.next = PageSpec::Next::kLinkHeader;
  simdjson::ondemand::parser parser;
  PageOutcome out;
  std::string body = "plain text";
  ReadPage(parser, body, spec, {}, {}, out);
  EXPECT_EQ(out.status, ExtractStatus::kOk);
  EXPECT_EQ(out.rows.size(), 1u);
}

TEST(ResolveHttpUrlTest, RelativeAndAbsolute) {
  EXPECT_EQ(*ResolveHttpUrl("http://127.0.0.1:8080/v1/items?page=1", "?page=2"),
            "http://127.0.0.1:8080/v1/items?page=2");
  EXPECT_EQ(*ResolveHttpUrl("http://127.0.0.1:8080/v1/items?page=1", "/v2/x?c=3#frag"),
            "http://127.0.0.1:8080/v2/x?c=3");
  EXPECT_EQ(*ResolveHttpUrl("http://127.0.0.1:8080/v1/items", "page/2"),
            "http://127.0.0.1:8080/v1/page/2");
  EXPECT_EQ(*ResolveHttpUrl("http://127.0.0.1:8080/a", "http://127.0.0.2:9/b"),
            "http://127.0.0.2:9/b");
  EXPECT_FALSE(ResolveHttpUrl("http://127.0.0.1/a", "ftp://127.0.0.1/b").ok());
  EXPECT_FALSE(ResolveHttpUrl("http://127.0.0.1/a", "file:///etc/passwd").ok());
}

TEST(WithQueryParameterTest, AddsOrReplaces) {
  EXPECT_EQ(*WithQueryParameter("http://127.0.0.1/s?q=a%20b", "pagetoken", "x y/z"),
            "http://127.0.0.1/s?q=a%20b&pagetoken=x%20y%2fz");  // curl writes hex in lower case
  EXPECT_EQ(*WithQueryParameter("http://127.0.0.1/s", "pagetoken", "t1"),
            "http://127.0.0.1/s?pagetoken=t1");
  EXPECT_EQ(*WithQueryParameter("http://127.0.0.1/s?pagetoken=old&k=1", "pagetoken", "t2"),
            "http://127.0.0.1/s?k=1&pagetoken=t2");
}

}  // namespace
}  // namespace gather::extract
