#include "service/extract/json_pointer.h"

#include <string>

#include "gtest/gtest.h"

namespace gather::extract {
namespace {

TEST(JsonPointerLookupTest, PathThroughAScalarIsAbsentNotBadJson) {
  // Found by fuzz_json_extract: simdjson reports INVALID_JSON_POINTER for "/location/cityLabel"
  // in {"location":null}; that read as "body is not JSON" (BAD_CONTENT) instead of absent.
  EXPECT_EQ(ClassifyLookupError(simdjson::INVALID_JSON_POINTER), LookupStatus::kAbsent);
  EXPECT_EQ(ClassifyLookupError(simdjson::TAPE_ERROR), LookupStatus::kNotJson);
}

TEST(JsonPointerLookupTest, PadForParseKeepsContentAndAddsCapacity) {
  std::string body = "{\"a\":1}";
  auto view = PadForParse(body);
  EXPECT_EQ(std::string_view(view), "{\"a\":1}");
  EXPECT_GE(body.capacity(), body.size() + simdjson::SIMDJSON_PADDING);
}

}  // namespace
}  // namespace gather::extract
