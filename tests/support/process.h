// Child processes for end-to-end tests: start gatherd and read its "listening" line; run the CLI
// and capture its output and exit code.
#ifndef GATHER_TESTS_SUPPORT_PROCESS_H_
#define GATHER_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gather::testing {

// A running child whose stdout is a pipe. Killed (SIGKILL) and reaped on destruction unless
// Terminate() already reaped it.
class ChildProcess {
 public:
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  // Reads stdout up to the next newline (blocking). Empty at EOF.
  std::string ReadLine();
  // Sends `signal` and waits for the exit; returns the exit status (or 128+signal).
  int Terminate(int signal);
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
};

// Starts gatherd from the build's bin directory with `flags` and --listen=127.0.0.1:0; returns
// it with the "HOST:PORT" it printed.
struct Gatherd {
  ChildProcess process;
  std::string address;
};
absl::StatusOr<Gatherd> StartGatherd(const std::string& bin_dir, std::vector<std::string> flags);

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs argv to completion, capturing stdout and stderr.
RunResult Run(const std::vector<std::string>& argv);

// Resident memory of a running process in KiB (VmRSS), or -1.
long RssKib(pid_t pid);

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_PROCESS_H_
