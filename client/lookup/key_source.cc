#include "client/lookup/key_source.h"

#include <sys/stat.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gather::client {
namespace {

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

absl::StatusOr<std::unique_ptr<KeySource>> KeySource::Open(
    const std::string& path, const std::optional<std::string>& key_column) {
  auto reader = RecordReader::Open(
      path, key_column ? RecordReader::Mode::kCsv : RecordReader::Mode::kLines);
  if (!reader.ok()) return reader.status();
  if (!key_column) return std::unique_ptr<KeySource>(new KeySource(*std::move(reader), 0));

  std::vector<std::string> header;
  if (!(*reader)->Next(header)) {
    if (!(*reader)->status().ok()) return (*reader)->status();
    return absl::InvalidArgumentError(
        absl::StrCat("--keys ", path, ": empty file, expected a CSV header row"));
  }
  if (!header.empty() && absl::string_view(header[0]).substr(0, 3) == kUtf8Bom) {
    header[0].erase(0, 3);
  }
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == *key_column) {
      return std::unique_ptr<KeySource>(new KeySource(*std::move(reader), i));
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--key-column: no column \"", *key_column, "\" in the header of ", path,
      " (columns: ", absl::StrJoin(header, ", "), ")"));
}

bool KeySource::Next(std::string& key) {
  if (!reader_->Next(fields_)) return false;
  if (column_ < fields_.size()) {
    key = std::move(fields_[column_]);
  } else {
    key.clear();  // a short row: an empty key, reported as INVALID_KEY
  }
  return true;
}

std::optional<uint64_t> KeySource::Count(const std::string& path,
                                         const std::optional<std::string>& key_column) {
  if (path == "-") return std::nullopt;
  struct stat info;
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  auto source = Open(path, key_column);
  if (!source.ok()) return std::nullopt;
  uint64_t count = 0;
  std::string key;
  while ((*source)->Next(key)) ++count;
  return count;
}

}  // namespace gather::client
