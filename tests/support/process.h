// Child processes for end-to-end tests: start gatherd and read its "listening" line; run the CLI
// and capture its output and exit code.
#ifndef GATHER_TESTS_SUPPORT_PROCESS_H_
#define GATHER_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace gather::testing {

// A running child whose stdout is a pipe. Killed (SIGKILL) and reaped on destruction unless
// Terminate() already reaped it.
class ChildProcess {
 public:
  // With `capture_stderr`, a thread drains the child's stderr into a buffer (stderr_text(),
  // WaitForStderr()); otherwise the child shares the test's stderr.
  static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv,
                                            bool capture_stderr = false);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  // Reads stdout up to the next newline (blocking). Empty at EOF.
  std::string ReadLine();
  // Sends `signal` and waits for the exit; returns the exit status (or 128+signal).
  int Terminate(int signal);
  // Waits for the child to exit by itself; returns the exit status (or 128+signal).
  int Wait() { return Terminate(0); }
  pid_t pid() const { return pid_; }

  // What the child wrote to stderr so far (capture_stderr only).
  std::string stderr_text() const;
  // Waits until stderr holds `text` (true), or the child closed it or `timeout` passed (false).
  bool WaitForStderr(const std::string& text, absl::Duration timeout) const;

 private:
  struct StderrCapture;
  ChildProcess(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  std::shared_ptr<StderrCapture> stderr_;  // null unless capture_stderr
};

// Starts gatherd from the build's bin directory with `flags` and --listen=127.0.0.1:0; returns
// it with the "HOST:PORT" it printed.
struct Gatherd {
  ChildProcess process;
  std::string address;
};
absl::StatusOr<Gatherd> StartGatherd(const std::string& bin_dir, std::vector<std::string> flags,
                                     bool capture_stderr = false);

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
