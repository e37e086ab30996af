#include "client/io/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace gather::client {

OutputFile::OutputFile(std::string path, bool append) : path_(std::move(path)), append_(append) {}

OutputFile::~OutputFile() {
  if (fd_ >= 0 && !is_stdout()) ::close(fd_);
}

absl::Status OutputFile::Open() {
  if (fd_ >= 0) return absl::OkStatus();
  if (is_stdout()) {
    fd_ = STDOUT_FILENO;
    return absl::OkStatus();
  }
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append_ ? O_APPEND : O_TRUNC);
  fd_ = ::open(path_.c_str(), flags, 0644);
  if (fd_ < 0) return absl::UnavailableError(absl::StrCat(path_, ": ", std::strerror(errno)));
  struct stat info;
  if (append_ && ::fstat(fd_, &info) == 0) initial_size_ = static_cast<uint64_t>(info.st_size);
  return absl::OkStatus();
}

absl::Status OutputFile::MaybeFlush(absl::Time now) {
  if (buffer_.size() < kFlushBytes && now - last_flush_ < kFlushInterval) return absl::OkStatus();
  last_flush_ = now;
  return Flush();
}

absl::Status OutputFile::Flush() {
  if (absl::Status status = Open(); !status.ok()) return status;
  size_t written = 0;
  while (written < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + written, buffer_.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("writing ", is_stdout() ? "stdout" : path_, ": ",
                                                 std::strerror(errno)));
    }
    written += static_cast<size_t>(n);
  }
  buffer_.clear();
  return absl::OkStatus();
}

}  // namespace gather::client
