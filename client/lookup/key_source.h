// The keys of `gather lookup`: one per line of a file or stdin, one named column of a CSV file
// with a header row, or whole rows (CSV or TSV with a header row, or JSON Lines objects) whose
// columns fill a template's {NAME} placeholders. Streams; memory does not grow with the number of
// keys.
#ifndef GATHER_CLIENT_LOOKUP_KEY_SOURCE_H_
#define GATHER_CLIENT_LOOKUP_KEY_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/io/record_reader.h"

namespace gather::client {

enum class KeysFormat { kLines, kCsv, kTsv, kJsonl };

// "lines", "csv", "tsv", "jsonl" (also "ndjson"); INVALID_ARGUMENT naming --keys-format otherwise.
absl::StatusOr<KeysFormat> ParseKeysFormat(absl::string_view name);
// The format a file's name suggests: .csv, .tsv, .jsonl or .ndjson; kLines for anything else.
KeysFormat KeysFormatOfPath(absl::string_view path);

struct KeysInput {
  std::string path = "-";  // "-": stdin
  KeysFormat format = KeysFormat::kLines;
  // With kCsv: the key is this column (a plain key, as with kLines). Without it, kCsv, kTsv and
  // kJsonl give rows.
  std::optional<std::string> key_column;

  bool rows() const { return format != KeysFormat::kLines && !key_column; }
};

// One input record. A plain key has no columns. A row has its columns, and `key` is the row as a
// compact JSON object of strings (what the result echoes; shards hash it).
struct KeyRow {
  std::string key;
  std::vector<std::pair<std::string, std::string>> columns;
  std::string error;  // not empty: the record cannot be a key (it gets an INVALID_KEY row)
};

class KeySource {
 public:
  // A CSV or TSV input must start with a header row (INVALID_ARGUMENT otherwise); with
  // `key_column` the header must name it (the error lists the columns found).
  static absl::StatusOr<std::unique_ptr<KeySource>> Open(const KeysInput& input);
  static absl::StatusOr<std::unique_ptr<KeySource>> Open(
      const std::string& path, const std::optional<std::string>& key_column) {
    return Open(KeysInput{path, key_column ? KeysFormat::kCsv : KeysFormat::kLines, key_column});
  }

  // The next record (its ordinal is the number of records read before it). False at the end or
  // on a read error (see status()).
  bool Next(KeyRow& row);
  const absl::Status& status() const { return reader_->status(); }
  // The header row's columns (CSV and TSV), in order.
  const std::vector<std::string>& header() const { return header_; }

  // Counts the records of a regular file without keeping them (for progress). nullopt for stdin
  // or a pipe.
  static std::optional<uint64_t> Count(const KeysInput& input);

 private:
  KeySource(std::unique_ptr<RecordReader> reader, KeysInput input)
      : reader_(std::move(reader)), input_(std::move(input)) {}
  void RowFromFields(KeyRow& row);
  void RowFromJson(const std::string& line, KeyRow& row);

  std::unique_ptr<RecordReader> reader_;
  KeysInput input_;
  std::vector<std::string> header_;
  size_t column_ = 0;  // the key column (key_column)
  std::vector<std::string> fields_;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_KEY_SOURCE_H_
