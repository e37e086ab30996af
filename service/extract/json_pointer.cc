#include "service/extract/json_pointer.h"

namespace gather::extract {

bool IsValidJson(absl::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(text.data(), text.size());
  return parser.parse(padded).error() == simdjson::SUCCESS;
}

simdjson::padded_string_view PadForParse(std::string& body) {
  size_t needed = body.size() + simdjson::SIMDJSON_PADDING;
  if (body.capacity() < needed) body.reserve(needed);
  return simdjson::padded_string_view(body.data(), body.size(), body.capacity());
}

LookupStatus ClassifyLookupError(simdjson::error_code error) {
  switch (error) {
    case simdjson::SUCCESS:
      return LookupStatus::kFound;
    case simdjson::NO_SUCH_FIELD:
    case simdjson::INDEX_OUT_OF_BOUNDS:
    case simdjson::INCORRECT_TYPE:
    // Our pointers are validated, so this is simdjson saying the path runs through a scalar
    // ("/a/b" in {"a":null}) or names no index of an array ("/01", "/").
    case simdjson::INVALID_JSON_POINTER:
      return LookupStatus::kAbsent;
    default:
      return LookupStatus::kNotJson;
  }
}

}  // namespace gather::extract
