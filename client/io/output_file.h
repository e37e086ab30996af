// An output file written in whole records: callers append complete records to a buffer, and the
// buffer goes to the file with write(2) when it is big or old enough, so a kill leaves at most one
// torn record at the end (which resume repairs). Opened lazily, so a run that fails before its
// first result leaves no file behind. Not thread-safe.
#ifndef GATHER_CLIENT_IO_OUTPUT_FILE_H_
#define GATHER_CLIENT_IO_OUTPUT_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace gather::client {

class OutputFile {
 public:
  // `path` "-" is stdout. With `append`, an existing file is kept and written at its end;
  // otherwise it is truncated when first opened.
  OutputFile(std::string path, bool append);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  // The buffer to append complete records to.
  std::string& buffer() { return buffer_; }
  // Writes the buffer when it holds more than kFlushBytes or was last written kFlushInterval ago.
  absl::Status MaybeFlush(absl::Time now);
  // Opens the file if needed and writes everything buffered.
  absl::Status Flush();
  // Size of the file before this run wrote to it (0 when new or truncated); valid once opened.
  uint64_t initial_size() const { return initial_size_; }
  const std::string& path() const { return path_; }
  bool is_stdout() const { return path_ == "-"; }

  static constexpr size_t kFlushBytes = 256 * 1024;
  static constexpr absl::Duration kFlushInterval = absl::Milliseconds(200);

 private:
  absl::Status Open();

  std::string path_;
  bool append_;
  int fd_ = -1;
  uint64_t initial_size_ = 0;
  std::string buffer_;
  absl::Time last_flush_ = absl::InfinitePast();
};

}  // namespace gather::client

#endif  // GATHER_CLIENT_IO_OUTPUT_FILE_H_
