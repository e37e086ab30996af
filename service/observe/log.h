// Structured logs: one JSON object per line on stderr ({"ts","level","msg", fields...}), written
// whole under a mutex so lines from different threads never interleave. Callable from any thread.
// Never pass a header value, token or key material as a field.
#ifndef GATHER_SERVICE_OBSERVE_LOG_H_
#define GATHER_SERVICE_OBSERVE_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gather::observe {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning" or "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// JSON text written as is (an object or array built by the caller).
struct RawJson {
  std::string json;
};
using LogValue = std::variant<std::string, int64_t, double, bool, RawJson>;
using LogField = std::pair<absl::string_view, LogValue>;

// The JSON line for a record (without writing it); `now_unix_ms` is the record's time.
std::string FormatLogLine(int64_t now_unix_ms, LogLevel level, absl::string_view message,
                          std::initializer_list<LogField> fields);

// Writes a record at `level` when the level is enabled.
void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});

// {"OK":950,"HTTP_ERROR":3}: the non-zero counts of `counts`, indexed by v1::JobStatus, named
// without the JOB_STATUS_ prefix.
RawJson StatusCountsJson(const uint64_t* counts, int size);

}  // namespace gather::observe

#endif  // GATHER_SERVICE_OBSERVE_LOG_H_
