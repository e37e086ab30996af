// Looking up RFC 6901 JSON pointers (common/json_pointer.h parses them) in a simdjson On-Demand
// document.
#ifndef GATHER_SERVICE_EXTRACT_JSON_POINTER_H_
#define GATHER_SERVICE_EXTRACT_JSON_POINTER_H_

#include <string>

#include "absl/strings/string_view.h"
#include <string_view>
#include <vector>

#include "common/json_pointer.h"
#include "simdjson.h"

namespace gather::extract {

using common::JsonPointer;

// Where a lookup ended.
enum class LookupStatus {
  kFound,
  kAbsent,    // a member or index on the path does not exist, or the path runs through a scalar
  kNotJson,   // the document is not valid JSON where the lookup went
};

// Gives `body` the capacity simdjson needs past its end (SIMDJSON_PADDING) without changing its
// contents, and returns a padded view of it. Cheap when the capacity is already there.
simdjson::padded_string_view PadForParse(std::string& body);

// Whether `text` is one valid JSON document (RFC 8259), parsed whole.
bool IsValidJson(absl::string_view text);

// Maps a simdjson error met during a lookup to a LookupStatus.
LookupStatus ClassifyLookupError(simdjson::error_code error);

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_JSON_POINTER_H_
