// Text encodings the CLI writes and reads: CSV fields, field values (JSON text) as CSV cells, and
// UTF-8 checks. Pure functions. JSON strings are in common/json_string.h.
#ifndef GATHER_CLIENT_IO_TEXT_H_
#define GATHER_CLIENT_IO_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gather::client {

// Appends `text` as one CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, or
// starts or ends with a space; quotes doubled.
void AppendCsvField(absl::string_view text, std::string& out);

// Appends a field value given as JSON text as a CSV cell: a string becomes its decoded text, null
// and absent ("") become an empty cell, numbers and booleans stay as written, objects and arrays
// stay JSON text.
void AppendCsvValue(absl::string_view json, std::string& out);

// True when `text` is valid UTF-8 (what protobuf string fields require).
bool IsValidUtf8(absl::string_view text);

// `text` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string SanitizeUtf8(absl::string_view text);

}  // namespace gather::client

#endif  // GATHER_CLIENT_IO_TEXT_H_
