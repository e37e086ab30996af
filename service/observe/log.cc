#include "service/observe/log.h"

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gather/v1/gather.pb.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/json_string.h"
#include "common/status_names.h"

namespace gather::observe {
namespace {

using ::gather::common::AppendJsonString;

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mu;

constexpr const char* kLevelNames[] = {"debug", "info", "warning", "error"};

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  for (int i = 0; i < 4; ++i) {
    if (text == kLevelNames[i]) return static_cast<LogLevel>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--log_level must be debug, info, warning or error, not \"", text, "\""));
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

std::string FormatLogLine(int64_t now_unix_ms, LogLevel level, absl::string_view message,
                          std::initializer_list<LogField> fields) {
  std::string line = "{\"ts\":";
  AppendJsonString(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(now_unix_ms),
                                    absl::UTCTimeZone()),
                   line);
  line.append(",\"level\":\"").append(kLevelNames[static_cast<int>(level)]).append("\",\"msg\":");
  AppendJsonString(message, line);
  for (const auto& [name, value] : fields) {
    line.push_back(',');
    AppendJsonString(name, line);
    line.push_back(':');
    if (const auto* text = std::get_if<std::string>(&value)) {
      AppendJsonString(*text, line);
    } else if (const auto* integer = std::get_if<int64_t>(&value)) {
      absl::StrAppend(&line, *integer);
    } else if (const auto* number = std::get_if<double>(&value)) {
      char buffer[32];
      std::snprintf(buffer, sizeof(buffer), "%.3f", *number);
      line.append(buffer);
    } else if (const auto* flag = std::get_if<bool>(&value)) {
      line.append(*flag ? "true" : "false");
    } else {
      line.append(std::get<RawJson>(value).json);
    }
  }
  line.append("}\n");
  return line;
}

RawJson StatusCountsJson(const uint64_t* counts, int size) {
  RawJson out{"{"};
  for (int status = 0; status < size; ++status) {
    if (counts[status] == 0) continue;
    if (out.json.size() > 1) out.json.push_back(',');
    AppendJsonString(common::JobStatusName(static_cast<v1::JobStatus>(status)), out.json);
    absl::StrAppend(&out.json, ":", counts[status]);
  }
  out.json.push_back('}');
  return out;
}

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line = FormatLogLine(absl::ToUnixMillis(absl::Now()), level, message, fields);
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace gather::observe
