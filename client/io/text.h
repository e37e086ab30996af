// Text encodings the CLI writes and reads: JSON strings, CSV fields, and field values (JSON text)
// as CSV cells. Pure functions.
#ifndef GATHER_CLIENT_IO_TEXT_H_
#define GATHER_CLIENT_IO_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace gather::client {

// Appends `text` as a JSON string literal (with quotes). Control characters, '"' and '\' are
// escaped; other bytes (UTF-8) pass through.
void AppendJsonString(absl::string_view text, std::string& out);

// Decodes a JSON string literal (with its quotes) into `out` (UTF-8). False if `json` is not a
// valid string literal.
bool DecodeJsonString(absl::string_view json, std::string& out);

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
