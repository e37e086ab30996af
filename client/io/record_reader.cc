#include "client/io/record_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace gather::client {
namespace {

// Bytes per read(2). The fuzz build (fuzz/CMakeLists.txt) makes it tiny, so that records
// straddle reads there.
#ifdef GATHER_RECORD_READER_BLOCK_BYTES
constexpr size_t kBlockBytes = GATHER_RECORD_READER_BLOCK_BYTES;
#else
constexpr size_t kBlockBytes = 1 << 20;
#endif
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

}  // namespace

absl::StatusOr<std::unique_ptr<RecordReader>> RecordReader::Open(const std::string& path,
                                                                 Mode mode) {
  if (path == "-") return std::make_unique<RecordReader>(STDIN_FILENO, mode, false);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    std::string message = absl::StrCat(path, ": ", std::strerror(error));
    if (error == ENOENT) return absl::NotFoundError(message);
    if (error == EACCES) return absl::PermissionDeniedError(message);
    return absl::UnavailableError(message);
  }
  return std::make_unique<RecordReader>(fd, mode, true);
}

RecordReader::RecordReader(int fd, Mode mode, bool owns_fd)
    : fd_(fd), owns_fd_(owns_fd), mode_(mode), buffer_(kBlockBytes) {}

RecordReader::~RecordReader() {
  if (owns_fd_) ::close(fd_);
}

bool RecordReader::Fill() {
  if (begin_ < end_) return true;
  if (eof_) return false;
  begin_ = end_ = 0;
  while (true) {
    ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n > 0) {
      end_ = static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) continue;
    status_ = absl::UnavailableError(absl::StrCat("read failed: ", std::strerror(errno)));
    eof_ = true;
    return false;
  }
}

bool RecordReader::Next(std::vector<std::string>& fields) {
  fields.clear();
  if (!Fill()) return false;
  last_complete_ = false;
  if (mode_ == Mode::kLines) {
    std::string& line = fields.emplace_back();
    while (Fill()) {
      const char* start = buffer_.data() + begin_;
      size_t available = end_ - begin_;
      const void* newline = std::memchr(start, '\n', available);
      if (newline == nullptr) {
        line.append(start, available);
        offset_ += available;
        begin_ = end_;
        continue;
      }
      size_t length = static_cast<size_t>(static_cast<const char*>(newline) - start);
      line.append(start, length);
      begin_ += length + 1;
      offset_ += length + 1;
      last_complete_ = true;
      complete_end_ = offset_;
      break;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }

  // CSV: a small state machine over bytes.
  const bool at_input_start = offset_ == 0;
  std::string* field = &fields.emplace_back();
  bool quoted = false;       // inside a quoted field
  bool after_quote = false;  // just saw a quote inside a quoted field (maybe an escaped "")
  bool field_start = true;
  bool unquoted_cr = false;  // the field's last byte is a '\r' read outside quotes
  while (Fill()) {
    char c = buffer_[begin_++];
    ++offset_;
    if (quoted) {
      if (after_quote) {
        after_quote = false;
        if (c == '"') {
          field->push_back('"');
          continue;
        }
        quoted = false;  // the closing quote; fall through to handle c unquoted
      } else if (c == '"') {
        after_quote = true;
        continue;
      } else {
        field->push_back(c);
        continue;
      }
    }
    // A UTF-8 byte order mark opening the input stays in the first field (KeySource strips it),
    // but a quote right after it still opens a quoted field.
    if (c == '"' && (field_start || (at_input_start && fields.size() == 1 && *field == kUtf8Bom))) {
      quoted = true;
      field_start = false;
      continue;
    }
    if (c == ',') {
      field = &fields.emplace_back();
      field_start = true;
      unquoted_cr = false;
      continue;
    }
    if (c == '\n') {
      // "\r\n" ends the record; a '\r' inside quotes is data.
      if (unquoted_cr) field->pop_back();
      last_complete_ = true;
      complete_end_ = offset_;
      return true;
    }
    field->push_back(c);
    field_start = false;
    unquoted_cr = c == '\r';
  }
  // End of input inside a record: it is there but torn (no final newline, or an open quote).
  return true;
}

}  // namespace gather::client
