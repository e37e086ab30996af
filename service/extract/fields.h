// Field extraction for BatchLookup: named JSON pointers whose values are returned as raw JSON
// text (so integers above 2^53 and nested objects survive exactly), plus required pointers.
#ifndef GATHER_SERVICE_EXTRACT_FIELDS_H_
#define GATHER_SERVICE_EXTRACT_FIELDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "service/extract/json_pointer.h"
#include "simdjson.h"

namespace gather::extract {

struct FieldSpec {
  std::string name;
  JsonPointer pointer;
};

enum class ExtractStatus { kOk, kMissing, kBadContent };

struct ExtractOutcome {
  ExtractStatus status = ExtractStatus::kBadContent;
  // One entry per FieldSpec, in order: the value's JSON text, or empty when absent.
  std::vector<std::string> values;
  std::string error;
};

// Extracts `fields` from `body`. A missing required pointer gives kMissing; a missing optional
// field leaves its value empty. `out` is reused across calls to avoid allocations.
void ExtractFields(simdjson::ondemand::parser& parser, simdjson::padded_string_view body,
                   const std::vector<FieldSpec>& fields, const std::vector<JsonPointer>& required,
                   ExtractOutcome& out);

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_FIELDS_H_
