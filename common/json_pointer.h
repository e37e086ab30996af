// RFC 6901 JSON pointers: their syntax. Pure; gatherd looks them up in documents
// (extract/json_pointer.h), the CLI checks its flags with the same rules.
#ifndef GATHER_COMMON_JSON_POINTER_H_
#define GATHER_COMMON_JSON_POINTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gather::common {

// A validated JSON pointer. `text` is the pointer as written (what simdjson's at_pointer takes);
// `tokens` are its unescaped reference tokens ("~1" -> "/", "~0" -> "~").
struct JsonPointer {
  std::string text;
  std::vector<std::string> tokens;
};

// Parses and validates `text`: "" (the whole document) or "/"-separated tokens where "~" is only
// followed by "0" or "1". Errors are INVALID_ARGUMENT and say what is wrong (without a field name;
// callers prefix theirs).
absl::StatusOr<JsonPointer> ParseJsonPointer(absl::string_view text);

}  // namespace gather::common

#endif  // GATHER_COMMON_JSON_POINTER_H_
