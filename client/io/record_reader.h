// Streaming reader of line or CSV records from a file or stdin, with the byte offset where each
// record ends (resume truncates a torn last record there). Reads in large blocks; memory does not
// grow with the input. Not thread-safe.
#ifndef GATHER_CLIENT_IO_RECORD_READER_H_
#define GATHER_CLIENT_IO_RECORD_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gather::client {

class RecordReader {
 public:
  enum class Mode {
    kLines,  // one record per line; "\r\n" and "\n" both end a line
    kCsv,    // RFC 4180 records: quoted fields may hold commas, quotes ("") and newlines
  };

  // `path` "-" reads stdin. NOT_FOUND / PERMISSION_DENIED name the path.
  static absl::StatusOr<std::unique_ptr<RecordReader>> Open(const std::string& path, Mode mode);
  // Reads from an open descriptor it does not own (tests, stdin).
  RecordReader(int fd, Mode mode, bool owns_fd);
  ~RecordReader();
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // Reads the next record into `fields` (lines: exactly one field). False at the end of the
  // input or on a read error (see status()).
  bool Next(std::vector<std::string>& fields);

  // Whether the last record returned ended with a newline (outside quotes). A last record without
  // one is complete for a keys file but torn for an output file.
  bool last_complete() const { return last_complete_; }
  // Byte offset just past the last complete record returned (0 before any).
  uint64_t complete_end() const { return complete_end_; }
  const absl::Status& status() const { return status_; }

 private:
  // Makes at least one more byte available; false at the end or on an error.
  bool Fill();

  int fd_;
  bool owns_fd_;
  Mode mode_;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // next unread byte in buffer_
  size_t end_ = 0;    // end of valid bytes in buffer_
  uint64_t offset_ = 0;  // file offset of buffer_[begin_]
  bool eof_ = false;
  bool last_complete_ = false;
  uint64_t complete_end_ = 0;
  absl::Status status_;
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_IO_RECORD_READER_H_
