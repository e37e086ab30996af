#include "client/lookup/key_source.h"

#include <sys/stat.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/json_string.h"
#include "nlohmann/json.hpp"

namespace gather::client {
namespace {

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

void StripBom(std::string& text) {
  if (absl::string_view(text).substr(0, 3) == kUtf8Bom) text.erase(0, 3);
}

// {"name":"value",...} of a row's columns.
std::string RowJson(const std::vector<std::pair<std::string, std::string>>& columns) {
  std::string out = "{";
  for (const auto& [name, value] : columns) {
    if (out.size() > 1) out.push_back(',');
    common::AppendJsonString(name, out);
    out.push_back(':');
    common::AppendJsonString(value, out);
  }
  out.push_back('}');
  return out;
}

}  // namespace

absl::StatusOr<KeysFormat> ParseKeysFormat(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "lines") return KeysFormat::kLines;
  if (lower == "csv") return KeysFormat::kCsv;
  if (lower == "tsv") return KeysFormat::kTsv;
  if (lower == "jsonl" || lower == "ndjson") return KeysFormat::kJsonl;
  return absl::InvalidArgumentError(
      absl::StrCat("--keys-format: unknown format \"", name, "\" (want csv, tsv, jsonl or lines)"));
}

KeysFormat KeysFormatOfPath(absl::string_view path) {
  std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".csv")) return KeysFormat::kCsv;
  if (absl::EndsWith(lower, ".tsv")) return KeysFormat::kTsv;
  if (absl::EndsWith(lower, ".jsonl") || absl::EndsWith(lower, ".ndjson")) {
    return KeysFormat::kJsonl;
  }
  return KeysFormat::kLines;
}

absl::StatusOr<std::unique_ptr<KeySource>> KeySource::Open(const KeysInput& input) {
  auto reader = RecordReader::Open(input.path, input.format == KeysFormat::kCsv
                                                   ? RecordReader::Mode::kCsv
                                                   : RecordReader::Mode::kLines);
  if (!reader.ok()) return reader.status();
  std::unique_ptr<KeySource> source(new KeySource(*std::move(reader), input));
  if (input.format != KeysFormat::kCsv && input.format != KeysFormat::kTsv) return source;

  std::vector<std::string> header;
  if (!source->reader_->Next(header)) {
    if (!source->reader_->status().ok()) return source->reader_->status();
    return absl::InvalidArgumentError(absl::StrCat(
        "--keys ", input.path, ": empty file, expected a header row naming the columns"));
  }
  if (input.format == KeysFormat::kTsv && !header.empty()) {
    header = absl::StrSplit(header[0], '\t');
  }
  if (!header.empty()) StripBom(header[0]);
  source->header_ = header;
  if (!input.key_column) return source;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == *input.key_column) {
      source->column_ = i;
      return source;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--key-column: no column \"", *input.key_column, "\" in the header of ", input.path,
      " (columns: ", absl::StrJoin(header, ", "), ")"));
}

bool KeySource::Next(KeyRow& row) {
  if (!reader_->Next(fields_)) return false;
  row.columns.clear();
  row.error.clear();
  if (!input_.rows()) {
    if (column_ < fields_.size()) {
      row.key = std::move(fields_[column_]);
    } else {
      row.key.clear();  // a short row: an empty key, reported as INVALID_KEY
    }
    return true;
  }
  if (input_.format == KeysFormat::kJsonl) {
    RowFromJson(fields_.empty() ? std::string() : fields_[0], row);
  } else {
    if (input_.format == KeysFormat::kTsv && !fields_.empty()) {
      std::vector<std::string> split = absl::StrSplit(fields_[0], '\t');
      fields_ = std::move(split);
    }
    RowFromFields(row);
  }
  return true;
}

void KeySource::RowFromFields(KeyRow& row) {
  if (fields_.size() != header_.size()) {
    row.key = absl::StrJoin(fields_, input_.format == KeysFormat::kTsv ? "\t" : ",");
    row.error = absl::StrCat("the row has ", fields_.size(), " fields, the header ",
                             header_.size());
    return;
  }
  for (size_t i = 0; i < header_.size(); ++i) {
    row.columns.emplace_back(header_[i], std::move(fields_[i]));
  }
  row.key = RowJson(row.columns);
}

void KeySource::RowFromJson(const std::string& line, KeyRow& row) {
  nlohmann::ordered_json object =
      nlohmann::ordered_json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) {
    row.key = line;
    row.error = "the line is not a JSON object";
    return;
  }
  for (const auto& [name, value] : object.items()) {
    if (value.is_null()) continue;  // absent, as a missing member
    row.columns.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
  }
  row.key = RowJson(row.columns);
}

std::optional<uint64_t> KeySource::Count(const KeysInput& input) {
  if (input.path == "-") return std::nullopt;
  struct stat info;
  if (::stat(input.path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  auto source = Open(input);
  if (!source.ok()) return std::nullopt;
  uint64_t count = 0;
  std::vector<std::string> fields;
  while ((*source)->reader_->Next(fields)) ++count;
  return count;
}

}  // namespace gather::client
