#include "client/lookup/row_format.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "client/io/text.h"
#include "nlohmann/json.hpp"
#include "common/json_string.h"
#include "common/status_names.h"

namespace gather::client {
namespace {

void AppendMillis(double ms, std::string& out) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), ms,
                                    std::chars_format::fixed, 2);
  if (error != std::errc()) {
    out.push_back('0');
    return;
  }
  out.append(buffer, end);
}

// Appends a field value (JSON text as the upstream wrote it) on one line: a pretty-printed object
// or array holds line breaks, which outside strings (where JSON has them escaped) are only
// whitespace, so a space in their place keeps the value and the row on one line.
void AppendOnOneLine(const std::string& json, std::string& out) {
  size_t start = out.size();
  out.append(json);
  for (size_t i = start; i < out.size(); ++i) {
    if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
  }
}

}  // namespace

void AppendJsonlRow(const v1::LookupResult& row, const std::vector<std::string>& field_names,
                    std::string& out, const KeyLayout& layout) {
  absl::StrAppend(&out, "{\"seq\":", row.seq());
  if (row.page() > 0) absl::StrAppend(&out, ",\"page\":", row.page());
  if (row.has_item()) absl::StrAppend(&out, ",\"item\":", row.item());
  if (row.more()) out.append(",\"more\":true");
  out.append(",\"key\":");
  if (layout.rows && !row.key().empty() && row.key().front() == '{') {
    AppendOnOneLine(row.key(), out);  // the row's JSON object, made by the CLI
  } else {
    common::AppendJsonString(row.key(), out);
  }
  absl::StrAppend(&out, ",\"status\":\"", common::JobStatusName(row.status()),
                  "\",\"http_status\":", row.http_status());
  const bool ok = row.status() == v1::JOB_STATUS_OK;
  if (ok) {
    out.append(",\"fields\":{");
    for (size_t i = 0; i < field_names.size(); ++i) {
      if (i > 0) out.push_back(',');
      common::AppendJsonString(field_names[i], out);
      out.push_back(':');
      const std::string* value =
          static_cast<int>(i) < row.values_size() ? &row.values(static_cast<int>(i)) : nullptr;
      if (value == nullptr || value->empty()) {
        out.append("null");
      } else {
        AppendOnOneLine(*value, out);
      }
    }
    out.push_back('}');
  }
  absl::StrAppend(&out, ",\"attempts\":", row.attempts(), ",\"latency_ms\":");
  AppendMillis(row.latency_ms(), out);
  out.append(",\"queue_ms\":");
  AppendMillis(row.queue_ms(), out);
  if (row.shared()) out.append(",\"shared\":true");
  if (row.pages_cut()) out.append(",\"pages_cut\":true");
  if (!ok) {
    out.append(",\"error\":");
    common::AppendJsonString(row.error(), out);
  }
  out.append("}\n");
}

void AppendCsvHeader(const std::vector<std::string>& field_names, std::string& out,
                     const KeyLayout& layout) {
  out.append("seq");
  if (!layout.rows) out.append(",key");
  for (const std::string& column : layout.rows ? layout.columns : std::vector<std::string>{}) {
    out.push_back(',');
    AppendCsvField(column, out);
  }
  if (layout.paged) out.append(",page,item");
  for (const std::string& name : field_names) {
    out.push_back(',');
    AppendCsvField(name, out);
  }
  out.push_back('\n');
}

void AppendCsvRow(const v1::LookupResult& row, size_t field_count, std::string& out,
                  const KeyLayout& layout) {
  absl::StrAppend(&out, row.seq());
  if (!layout.rows) {
    out.push_back(',');
    AppendCsvField(row.key(), out);
  } else {
    nlohmann::ordered_json object =
        nlohmann::ordered_json::parse(row.key(), nullptr, /*allow_exceptions=*/false);
    for (const std::string& column : layout.columns) {
      out.push_back(',');
      if (!object.is_object()) continue;
      auto it = object.find(column);
      if (it != object.end() && it->is_string()) AppendCsvField(it->get<std::string>(), out);
    }
  }
  if (layout.paged) {
    absl::StrAppend(&out, ",", row.page(), ",");
    if (row.has_item()) absl::StrAppend(&out, row.item());
  }
  for (size_t i = 0; i < field_count; ++i) {
    out.push_back(',');
    if (static_cast<int>(i) < row.values_size()) AppendCsvValue(row.values(static_cast<int>(i)), out);
  }
  out.push_back('\n');
}

void AppendCsvErrorHeader(std::string& out) {
  out.append("seq,key,status,http_status,attempts,error\n");
}

void AppendCsvErrorRow(const v1::LookupResult& row, std::string& out) {
  absl::StrAppend(&out, row.seq(), ",");
  AppendCsvField(row.key(), out);
  absl::StrAppend(&out, ",", common::JobStatusName(row.status()), ",", row.http_status(), ",",
                  row.attempts(), ",");
  AppendCsvField(row.error(), out);
  out.push_back('\n');
}

}  // namespace gather::client
