#include "service/extract/json_pointer.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gather::extract {

absl::StatusOr<JsonPointer> ParseJsonPointer(absl::string_view text) {
  JsonPointer pointer;
  pointer.text = std::string(text);
  if (text.empty()) return pointer;
  if (text.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("JSON pointer \"", text, "\" must be empty or start with \"/\""));
  }
  std::string token;
  for (size_t i = 1; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '/') {
      pointer.tokens.push_back(std::move(token));
      token.clear();
      continue;
    }
    char c = text[i];
    if (c == '~') {
      if (i + 1 >= text.size() || (text[i + 1] != '0' && text[i + 1] != '1')) {
        return absl::InvalidArgumentError(absl::StrCat(
            "JSON pointer \"", text, "\" has \"~\" not followed by \"0\" or \"1\" at offset ", i));
      }
      token.push_back(text[i + 1] == '0' ? '~' : '/');
      ++i;
      continue;
    }
    token.push_back(c);
  }
  return pointer;
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
