// JSON string literals: writing and reading them. Pure functions, shared by gatherd (its JSON log
// lines) and the gather CLI (JSONL rows).
#ifndef GATHER_COMMON_JSON_STRING_H_
#define GATHER_COMMON_JSON_STRING_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gather::common {

// Appends `text` as a JSON string literal (with quotes). Control characters, '"' and '\' are
// escaped; other bytes (UTF-8) pass through.
void AppendJsonString(absl::string_view text, std::string& out);
// The same without the quotes: `text` as it is written inside a JSON string literal.
void AppendJsonEscaped(absl::string_view text, std::string& out);

// Decodes a JSON string literal (with its quotes) into `out` (UTF-8). False if `json` is not a
// valid string literal.
bool DecodeJsonString(absl::string_view json, std::string& out);

}  // namespace gather::common

#endif  // GATHER_COMMON_JSON_STRING_H_
