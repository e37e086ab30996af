// The keys of `gather lookup`: one per line of a file or stdin, or one named column of a CSV file
// with a header row. Streams; memory does not grow with the number of keys.
#ifndef GATHER_CLIENT_LOOKUP_KEY_SOURCE_H_
#define GATHER_CLIENT_LOOKUP_KEY_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/io/record_reader.h"

namespace gather::client {

class KeySource {
 public:
  // `path` "-" is stdin. With `key_column`, the input is CSV and its header must name the column
  // (INVALID_ARGUMENT otherwise, listing the columns found).
  static absl::StatusOr<std::unique_ptr<KeySource>> Open(const std::string& path,
                                                         const std::optional<std::string>& key_column);

  // The next key (its ordinal is the number of keys read before it). False at the end or on a
  // read error (see status()).
  bool Next(std::string& key);
  const absl::Status& status() const { return reader_->status(); }

  // Counts the keys of a regular file without keeping them (for progress). nullopt for stdin or
  // a pipe.
  static std::optional<uint64_t> Count(const std::string& path,
                                       const std::optional<std::string>& key_column);

 private:
  KeySource(std::unique_ptr<RecordReader> reader, size_t column)
      : reader_(std::move(reader)), column_(column) {}

  std::unique_ptr<RecordReader> reader_;
  size_t column_;
  std::vector<std::string> fields_;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_KEY_SOURCE_H_
