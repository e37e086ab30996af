// Small helpers shared by the fuzz targets: invariant checks that abort with a message, splitting
// the input, and an in-memory file for the APIs that take a path.
#ifndef GATHER_FUZZ_FUZZ_UTIL_H_
#define GATHER_FUZZ_FUZZ_UTIL_H_

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace gather::fuzz {

// Prints what was violated (with an escaped detail, e.g. the offending value) and traps, so
// libFuzzer records the input as a crash.
[[noreturn]] inline void Violation(const char* what, const char* file, int line,
                                   absl::string_view detail) {
  std::fprintf(stderr, "\n==== fuzz invariant violated at %s:%d: %s\n", file, line, what);
  if (!detail.empty()) {
    std::string escaped;
    for (unsigned char c : detail.substr(0, 2000)) {
      if (c >= 0x20 && c < 0x7f && c != '\\') {
        escaped.push_back(static_cast<char>(c));
      } else {
        char buffer[8];
        std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
        escaped.append(buffer);
      }
    }
    std::fprintf(stderr, "==== detail: %s\n", escaped.c_str());
  }
  std::fflush(stderr);
  __builtin_trap();
}

#define FUZZ_CHECK(cond, detail)                                                  \
  do {                                                                            \
    if (!(cond)) ::gather::fuzz::Violation(#cond, __FILE__, __LINE__, (detail)); \
  } while (0)

// Splits `input` at the first `separator`: (before, after). Without one, all of it is `before`.
// (absl::string_view: the project's APIs take it, and Debian's absl does not alias std's.)
inline std::pair<absl::string_view, absl::string_view> SplitFirst(absl::string_view input,
                                                                  char separator) {
  size_t at = input.find(separator);
  if (at == absl::string_view::npos) return {input, {}};
  return {input.substr(0, at), input.substr(at + 1)};
}

// A file in memory (memfd) reachable through a path ("/proc/self/fd/N"), so code that opens,
// stats and truncates a path can be fuzzed without touching the disk. One per process, reused.
class MemFile {
 public:
  MemFile() {
    fd_ = ::memfd_create("gather-fuzz", MFD_CLOEXEC);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  // Replaces the content.
  void Write(absl::string_view content) {
    if (::ftruncate(fd_, 0) != 0) std::abort();
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::pwrite(fd_, content.data() + done, content.size() - done,
                           static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<size_t>(n);
    }
  }
  std::string Read() const {
    std::string out;
    char buffer[65536];
    off_t at = 0;
    for (;;) {
      ssize_t n = ::pread(fd_, buffer, sizeof(buffer), at);
      if (n < 0) std::abort();
      if (n == 0) break;
      out.append(buffer, static_cast<size_t>(n));
      at += n;
    }
    return out;
  }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace gather::fuzz

#endif  // GATHER_FUZZ_FUZZ_UTIL_H_
