// Fuzzes the CLI's key input: RecordReader (lines and RFC 4180 CSV) and KeySource (a keys file,
// or a CSV file's named column), reading an in-memory file through a path as the CLI does.
//
// Input: COLUMN "\n" FILE. An empty COLUMN reads FILE as one key per line.
//
// Invariants: lines are exactly the file split at "\n" with one trailing "\r" dropped; every
// record but a torn last one is complete and complete_end() is where it ends; CSV records written
// back with the CLI's own CSV writer (AppendCsvField) read back identical, and so does a header
// behind a UTF-8 byte order mark; KeySource gives the column of every row (empty for a short
// row), and KeySource::Count agrees with the number of keys it returns.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/io/record_reader.h"
#include "client/io/text.h"
#include "client/lookup/key_source.h"
#include "absl/strings/string_view.h"
#include "fuzz_util.h"

namespace {

using gather::client::KeySource;
using gather::client::RecordReader;
using gather::fuzz::MemFile;

const std::string kBom = "\xEF\xBB\xBF";

struct Record {
  std::vector<std::string> fields;
  bool complete = false;
  uint64_t complete_end = 0;
};

std::string Show(const std::vector<Record>& records) {
  std::string out;
  for (const Record& record : records) {
    out += "[" + absl::StrJoin(record.fields, "|") + (record.complete ? "]\\n " : "] ");
  }
  return out;
}

std::vector<Record> ReadAll(MemFile& file, absl::string_view content, RecordReader::Mode mode) {
  file.Write(content);
  auto reader = RecordReader::Open(file.path(), mode);
  FUZZ_CHECK(reader.ok(), reader.status().ToString());
  std::vector<Record> records;
  std::vector<std::string> fields;
  uint64_t previous_end = 0;
  while ((*reader)->Next(fields)) {
    Record& record = records.emplace_back();
    record.fields = fields;
    record.complete = (*reader)->last_complete();
    record.complete_end = (*reader)->complete_end();
    FUZZ_CHECK(!fields.empty(), content);
    FUZZ_CHECK(record.complete_end <= content.size(), content);
    if (record.complete) {
      FUZZ_CHECK(record.complete_end > previous_end || records.size() == 1, content);
      FUZZ_CHECK(content[record.complete_end - 1] == '\n', content);
    } else {
      FUZZ_CHECK(record.complete_end == previous_end, content);
    }
    previous_end = record.complete_end;
  }
  FUZZ_CHECK((*reader)->status().ok(), content);
  // Only the last record may be torn; a file that ends with a complete record ends at it.
  for (size_t i = 0; i + 1 < records.size(); ++i) FUZZ_CHECK(records[i].complete, content);
  if (!records.empty() && records.back().complete) {
    FUZZ_CHECK(records.back().complete_end == content.size(), content);
  }
  FUZZ_CHECK(records.empty() == content.empty(), content);
  return records;
}

void CheckLines(const std::vector<Record>& records, absl::string_view content) {
  std::vector<absl::string_view> lines = absl::StrSplit(content, '\n');
  if (!content.empty() && content.back() == '\n') lines.pop_back();
  if (content.empty()) lines.clear();
  FUZZ_CHECK(records.size() == lines.size(), content);
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    FUZZ_CHECK(records[i].fields.size() == 1 && records[i].fields[0] == line, content);
    FUZZ_CHECK(records[i].complete == (i + 1 < lines.size() || content.back() == '\n'), content);
  }
}

std::string EncodeCsv(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out.push_back(',');
      gather::client::AppendCsvField(row[i], out);
    }
    out.push_back('\n');
  }
  return out;
}

std::vector<std::vector<std::string>> Fields(const std::vector<Record>& records) {
  std::vector<std::vector<std::string>> out;
  for (const Record& record : records) out.push_back(record.fields);
  return out;
}

gather::client::KeysInput InputOf(const std::string& path,
                                  const std::optional<std::string>& column) {
  return gather::client::KeysInput{
      path, column ? gather::client::KeysFormat::kCsv : gather::client::KeysFormat::kLines, column};
}

// Reads every key KeySource gives for `content`, checking Count() against it.
std::optional<std::vector<std::string>> Keys(MemFile& file, absl::string_view content,
                                             const std::optional<std::string>& column) {
  file.Write(content);
  auto source = KeySource::Open(file.path(), column);
  if (!source.ok()) {
    FUZZ_CHECK(source.status().code() == absl::StatusCode::kInvalidArgument && column.has_value(),
               source.status().ToString());
    FUZZ_CHECK(!KeySource::Count(InputOf(file.path(), column)).has_value(), content);
    return std::nullopt;
  }
  std::vector<std::string> keys;
  gather::client::KeyRow row;
  while ((*source)->Next(row)) keys.push_back(row.key);
  FUZZ_CHECK((*source)->status().ok(), content);
  std::optional<uint64_t> count = KeySource::Count(InputOf(file.path(), column));
  FUZZ_CHECK(count.has_value() && *count == keys.size(), content);
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemFile file;
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto [column_text, content] = gather::fuzz::SplitFirst(input, '\n');
  std::optional<std::string> column;
  if (!column_text.empty()) column = std::string(column_text);

  // Lines, and KeySource without a column, against a plain split.
  std::vector<Record> lines = ReadAll(file, content, RecordReader::Mode::kLines);
  CheckLines(lines, content);
  if (!column) {
    std::optional<std::vector<std::string>> keys = Keys(file, content, std::nullopt);
    FUZZ_CHECK(keys.has_value() && keys->size() == lines.size(), content);
    for (size_t i = 0; i < lines.size(); ++i) FUZZ_CHECK((*keys)[i] == lines[i].fields[0], content);
    return 0;
  }

  // CSV: what was read, written back by the CLI's CSV writer, reads back the same.
  std::vector<Record> records = ReadAll(file, content, RecordReader::Mode::kCsv);
  auto rows = Fields(records);
  std::string rewritten = EncodeCsv(rows);
  std::vector<Record> again = ReadAll(file, rewritten, RecordReader::Mode::kCsv);
  FUZZ_CHECK(Fields(again) == rows, Show(records) + "  rewritten: " + rewritten);

  // KeySource on the file as given: the header (without a BOM) names the column.
  std::optional<std::vector<std::string>> keys = Keys(file, content, column);
  if (!records.empty()) {
    std::vector<std::string> header = records[0].fields;
    if (header[0].compare(0, kBom.size(), kBom) == 0) header[0].erase(0, kBom.size());
    size_t index = header.size();
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == *column) {
        index = i;
        break;
      }
    }
    FUZZ_CHECK(keys.has_value() == (index < header.size()), content);
    if (keys) {
      FUZZ_CHECK(keys->size() == records.size() - 1, content);
      for (size_t r = 1; r < records.size(); ++r) {
        const auto& fields = records[r].fields;
        FUZZ_CHECK((*keys)[r - 1] == (index < fields.size() ? fields[index] : ""), content);
      }
    }
  } else {
    FUZZ_CHECK(!keys.has_value(), content);
  }

  // A header written by a CSV writer behind a UTF-8 BOM (as spreadsheets save "CSV UTF-8")
  // names its columns like one without: build one holding the column and read it back.
  if (!rows.empty()) {
    std::vector<std::string> names = rows[0];
    if (names[0].compare(0, kBom.size(), kBom) == 0) names[0].erase(0, kBom.size());
    size_t index = names.size();
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == *column) {
        index = i;
        break;
      }
    }
    if (index == names.size()) names.push_back(*column);
    std::vector<std::vector<std::string>> table{names};
    table.insert(table.end(), rows.begin() + 1, rows.end());
    std::string with_bom = std::string(kBom) + EncodeCsv(table);
    std::optional<std::vector<std::string>> bom_keys = Keys(file, with_bom, column);
    FUZZ_CHECK(bom_keys.has_value(), with_bom);
    FUZZ_CHECK(bom_keys->size() == rows.size() - 1, with_bom);
    for (size_t r = 1; r < rows.size(); ++r) {
      FUZZ_CHECK((*bom_keys)[r - 1] == (index < rows[r].size() ? rows[r][index] : ""), with_bom);
    }
  }
  return 0;
}
